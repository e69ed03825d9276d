/* SPDX-License-Identifier: MIT */
/*
 * test_api.c - the public API on one process: argument checking, error
 * codes and messages, permissions, round trips, positions, timeouts, close,
 * ring info, stats.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

TestSuite(ring_api, .init = t_init, .fini = t_fini, .timeout = 30);

/* ---------------------------------------------------------------- */
/* Names                                                              */

static const char *const bad_names[] = {
	"",          /* empty */
	".",         /* leading '.' */
	"..",        /* parent directory */
	".hidden",   /* leading '.' */
	"a/b",       /* slash */
	"/abs",      /* leading slash */
	"../x",      /* traversal */
	"has space", /* space */
	" lead",     /* leading space */
	"trail ",    /* trailing space */
	"tab\there", /* control */
	"new\nline", /* control */
	"semi;colon",
	"star*",
	"caf\xc3\xa9", /* non-ASCII */
	"a\\b",
};

Test(ring_api, name_check_rejects_bad_names)
{
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		const char *n = bad_names[i];
		int err = qshm_name_check(n);
		cr_expect_eq(err, -EINVAL, "name_check(\"%s\") = %s", n,
			     t_errname(err));
		cr_expect_neq(qshm_last_error()[0], '\0',
			      "no qshm_last_error() message for \"%s\"", n);
	}
}

Test(ring_api, name_check_rejects_name_longer_than_name_max)
{
	char n[QSHM_NAME_MAX + 2];

	memset(n, 'a', QSHM_NAME_MAX + 1);
	n[QSHM_NAME_MAX + 1] = '\0';
	cr_expect_eq(qshm_name_check(n), -EINVAL);
	n[QSHM_NAME_MAX] = '\0';
	cr_expect_eq(qshm_name_check(n), 0, "a %d-byte name is valid: %s",
		     QSHM_NAME_MAX, qshm_last_error());
}

Test(ring_api, name_check_accepts_valid_names)
{
	const char *good[] = { "a", "Z", "0", "ghz", "a.b", "a..b", "a-b_c.9",
			       "A-Za-z0-9._-", "x." };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect_eq(qshm_name_check(good[i]), 0, "\"%s\": %s", good[i],
			     qshm_last_error());
}

Test(ring_api, every_entry_point_rejects_bad_names_with_einval)
{
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		const char *n = bad_names[i];
		qshm_producer *p = NULL;
		qshm_consumer *c = NULL;
		struct qshm_ring_info info;

		cr_expect_eq(qshm_producer_create(n, NULL, &p), -EINVAL,
			     "create(\"%s\")", n);
		cr_expect_null(p);
		cr_expect_eq(qshm_consumer_attach(n, 0, &c), -EINVAL,
			     "attach(\"%s\")", n);
		cr_expect_eq(qshm_ring_info(n, &info), -EINVAL, "info(\"%s\")", n);
		cr_expect_eq(qshm_unlink(n), -EINVAL, "unlink(\"%s\")", n);
	}
	/* Nothing escaped into /dev/shm or elsewhere. */
	struct stat st;
	cr_expect_neq(stat("/dev/shm/qshm.", &st), 0);
	cr_expect_neq(stat("/dev/qshm.", &st), 0);
}

Test(ring_api, creates_ring_with_name_of_name_max_bytes)
{
	char n[QSHM_NAME_MAX + 1];
	int k = snprintf(n, sizeof(n), "rt%d_", (int)getpid());
	memset(n + k, 'L', QSHM_NAME_MAX - k);
	n[QSHM_NAME_MAX] = '\0';

	qshm_producer *p = NULL;
	int err = qshm_producer_create(n, NULL, &p);
	cr_assert_eq(err, 0, "%s: %s", t_errname(err), qshm_last_error());
	qshm_consumer *c = NULL;
	cr_expect_eq(qshm_consumer_attach(n, 0, &c), 0);
	if (c)
		qshm_consumer_close(c);
	cr_expect_eq(qshm_producer_close(p, QSHM_CLOSE_UNLINK), 0);
}

/* ---------------------------------------------------------------- */
/* Create options                                                     */

static int create_with(const struct qshm_create_opts *o, qshm_producer **p)
{
	*p = NULL;
	return qshm_producer_create(t_ring, o, p);
}

/* Case-insensitive search with '_' and ' ' treated alike. */
static int msg_mentions(const char *msg, const char *word)
{
	size_t n = strlen(word);
	for (const char *s = msg; *s; s++) {
		size_t i = 0;
		for (; i < n && s[i]; i++) {
			char a = s[i], b = word[i];
			if (a >= 'A' && a <= 'Z')
				a += 32;
			if (a == ' ' || a == '-')
				a = '_';
			if (a != b)
				break;
		}
		if (i == n)
			return 1;
	}
	return 0;
}

#define EXPECT_EINVAL_MENTIONING(o, field)                                  \
	do {                                                                \
		qshm_producer *p_;                                          \
		int e_ = create_with(&(o), &p_);                            \
		cr_expect_eq(e_, -EINVAL, "%s: got %s", #o, t_errname(e_)); \
		cr_expect_null(p_);                                         \
		cr_expect(msg_mentions(qshm_last_error(), field),           \
			  "qshm_last_error() should name the field '%s': "  \
			  "\"%s\"", field, qshm_last_error());              \
		struct stat st_;                                            \
		char path_[256];                                            \
		cr_expect_neq(stat(t_shm_path(t_ring, path_, sizeof(path_)), \
				   &st_), 0,                                \
			      "a failed create left %s behind", path_);     \
		if (e_ == 0)                                                \
			qshm_producer_close(p_, QSHM_CLOSE_UNLINK);         \
	} while (0)

Test(ring_api, rejects_capacity_not_power_of_two)
{
	struct qshm_create_opts o = { .capacity = 5000 };
	EXPECT_EINVAL_MENTIONING(o, "capacity");
	o.capacity = 3 * 4096;
	EXPECT_EINVAL_MENTIONING(o, "capacity");
	o.capacity = (1ull << 20) + 4096;
	EXPECT_EINVAL_MENTIONING(o, "capacity");
}

Test(ring_api, rejects_capacity_below_4096)
{
	struct qshm_create_opts o = { .capacity = 2048 };
	EXPECT_EINVAL_MENTIONING(o, "capacity");
	o.capacity = 1;
	EXPECT_EINVAL_MENTIONING(o, "capacity");
}

Test(ring_api, accepts_smallest_capacity_4096)
{
	struct qshm_create_opts o = { .capacity = 4096 };
	qshm_producer *p;
	int err = create_with(&o, &p);
	cr_assert_eq(err, 0, "%s: %s", t_errname(err), qshm_last_error());
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.capacity, 4096);
	cr_expect_eq(info.max_record, 1024, "default max_record is capacity/4");
	/* A maximal record fits and round-trips. */
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	cr_assert_eq(t_publish_seq(p, 0, 1024, 0, 1), 0);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(t_check_record("c", &r, 0, 1024), 0);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, rejects_max_record_above_half_capacity_minus_64)
{
	struct qshm_create_opts o = { .capacity = 65536,
				      .max_record = 65536 / 2 - 64 + 1 };
	EXPECT_EINVAL_MENTIONING(o, "max_record");
	o.max_record = 65536;
	EXPECT_EINVAL_MENTIONING(o, "max_record");
	o.max_record = UINT64_MAX;
	EXPECT_EINVAL_MENTIONING(o, "max_record");
	/* Default capacity (1 MiB) with a too large max_record. */
	struct qshm_create_opts d = { .max_record = (1u << 19) };
	EXPECT_EINVAL_MENTIONING(d, "max_record");
}

Test(ring_api, accepts_max_record_of_half_capacity_minus_64)
{
	struct qshm_create_opts o = { .capacity = 65536,
				      .max_record = 65536 / 2 - 64 };
	qshm_producer *p;
	int err = create_with(&o, &p);
	cr_assert_eq(err, 0, "%s: %s", t_errname(err), qshm_last_error());
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.max_record, 65536 / 2 - 64);

	/* Records of the maximal size wrap around the ring correctly. */
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	for (uint64_t s = 0; s < 64; s++) {
		size_t len = (s % 3 == 0) ? o.max_record : 1 + s * 97;
		void *buf;
		err = qshm_producer_claim(p, len, 16, 0, &buf);
		cr_assert_eq(err, 0, "claim seq %llu len %zu: %s",
			     (unsigned long long)s, len, t_errname(err));
		t_pattern_fill(buf, len, s);
		qshm_producer_commit(p);
		struct qshm_record r;
		cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
		cr_assert_eq(r.len, len);
		cr_assert_eq(t_check_record("c", &r, s, 0), 0);
		qshm_consumer_release(c);
	}
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, rejects_max_consumers_above_1024)
{
	struct qshm_create_opts o = { .max_consumers = 1025 };
	EXPECT_EINVAL_MENTIONING(o, "max_consumers");
	o.max_consumers = UINT32_MAX;
	EXPECT_EINVAL_MENTIONING(o, "max_consumers");
}

Test(ring_api, accepts_max_consumers_1024)
{
	struct qshm_create_opts o = { .capacity = 4096, .max_consumers = 1024 };
	qshm_producer *p;
	int err = create_with(&o, &p);
	cr_assert_eq(err, 0, "%s: %s", t_errname(err), qshm_last_error());
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.max_consumers, 1024);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* The header says "zero fields take the defaults": max_consumers 0 is the
 * default (64), not an error. */
Test(ring_api, max_consumers_zero_takes_default_64)
{
	struct qshm_create_opts o = { .capacity = 4096, .max_consumers = 0 };
	qshm_producer *p;
	int err = create_with(&o, &p);
	cr_assert_eq(err, 0, "%s: %s", t_errname(err), qshm_last_error());
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.max_consumers, 64);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, rejects_bad_meta_size)
{
	struct qshm_create_opts o = { .meta_size = 1 };
	qshm_producer *p;
	cr_expect_eq(create_with(&o, &p), -EINVAL);
	o.meta_size = 0x80000000u;
	cr_expect_eq(create_with(&o, &p), -EINVAL);
	o.meta_size = (1u << 20) + 64;
	cr_expect_eq(create_with(&o, &p), -EINVAL);
}

Test(ring_api, rejects_unknown_create_flags)
{
	struct qshm_create_opts o = { .flags = 1u << 1 };
	EXPECT_EINVAL_MENTIONING(o, "flag");
	o.flags = 1u << 31;
	EXPECT_EINVAL_MENTIONING(o, "flag");
	o.flags = ~QSHM_CREATE_FLAGS_MASK;
	EXPECT_EINVAL_MENTIONING(o, "flag");
}

Test(ring_api, null_opts_take_defaults)
{
	qshm_producer *p = NULL;
	cr_assert_eq(qshm_producer_create(t_ring, NULL, &p), 0, "%s",
		     qshm_last_error());
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.capacity, 1u << 20);
	cr_expect_eq(info.max_record, (1u << 20) / 4);
	cr_expect_eq(info.max_consumers, 64);
	struct qshm_create_opts zero = { 0 };
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	cr_assert_eq(qshm_producer_create(t_ring, &zero, &p), 0);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.capacity, 1u << 20);
	cr_expect_eq(info.max_record, (1u << 20) / 4);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* ---------------------------------------------------------------- */
/* Existence                                                          */

Test(ring_api, create_twice_gives_eexist)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0), *p2 = NULL;
	int err = qshm_producer_create(t_ring, NULL, &p2);
	cr_expect_eq(err, -EEXIST, "second create: %s", t_errname(err));
	cr_expect_null(p2);
	cr_expect(strstr(qshm_last_error(), t_ring) != NULL,
		  "message should name the ring: \"%s\"", qshm_last_error());
	/* Even with REPLACE_STALE: the ring is live, not stale. */
	struct qshm_create_opts o = { .flags = QSHM_CREATE_REPLACE_STALE };
	err = qshm_producer_create(t_ring, &o, &p2);
	cr_expect_eq(err, -EEXIST, "REPLACE_STALE on a live ring: %s",
		     t_errname(err));
	/* The first ring still works. */
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	cr_assert_eq(t_publish_seq(p, 0, 1024, 0, 1), 0);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(t_check_record("c", &r, 0, 1024), 0);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, create_over_foreign_object_gives_eexist)
{
	char path[256];
	int fd = open(t_shm_path(t_ring, path, sizeof(path)),
		      O_CREAT | O_EXCL | O_RDWR, 0600);
	cr_assert(fd >= 0);
	char junk[8192];
	memset(junk, 0x5a, sizeof(junk));
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);

	qshm_producer *p = NULL;
	struct qshm_create_opts o = { .flags = QSHM_CREATE_REPLACE_STALE };
	cr_expect_eq(qshm_producer_create(t_ring, NULL, &p), -EEXIST);
	cr_expect_eq(qshm_producer_create(t_ring, &o, &p), -EEXIST,
		     "REPLACE_STALE must not replace a foreign object");
	/* The foreign object is untouched. */
	void *buf;
	size_t len;
	cr_assert_eq(t_read_file(path, &buf, &len), 0);
	cr_expect_eq(len, sizeof(junk));
	cr_expect_eq(memcmp(buf, junk, sizeof(junk)), 0);
	free(buf);
}

Test(ring_api, attach_missing_ring_gives_enoent)
{
	qshm_consumer *c = NULL;
	cr_expect_eq(qshm_consumer_attach(t_ring, 0, &c), -ENOENT);
	cr_expect_null(c);
	cr_expect_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &c),
		     -ENOENT);
	struct qshm_ring_info info;
	cr_expect_eq(qshm_ring_info(t_ring, &info), -ENOENT);
	cr_expect_eq(qshm_unlink(t_ring), -ENOENT);
	cr_expect(strstr(qshm_last_error(), t_ring) != NULL,
		  "message should name the ring: \"%s\"", qshm_last_error());
}

Test(ring_api, attach_rejects_unknown_consumer_flags)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	unsigned bad[] = { 1u << 3, 1u << 4, 1u << 31,
			   ~QSHM_CONSUMER_FLAGS_MASK };
	for (size_t i = 0; i < 4; i++) {
		qshm_consumer *c = NULL;
		cr_expect_eq(qshm_consumer_attach(t_ring, bad[i], &c), -EINVAL,
			     "flags 0x%x", bad[i]);
		cr_expect_null(c);
	}
	/* No slot was taken by the failed attaches. */
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.reliable_consumers + info.lossy_consumers, 0);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, unlink_removes_ring_name)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	cr_expect_eq(qshm_unlink(t_ring), 0);
	qshm_consumer *c;
	cr_expect_eq(qshm_consumer_attach(t_ring, 0, &c), -ENOENT);
	char path[256];
	struct stat st;
	cr_expect_neq(stat(t_shm_path(t_ring, path, sizeof(path)), &st), 0);
	/* The producer still works on its unlinked mapping, and close without
	 * UNLINK of an unlinked ring is fine. */
	cr_expect_eq(t_publish_seq(p, 0, 1024, 0, 1), 0);
	cr_expect_eq(qshm_producer_close(p, 0), 0);
}

/* ---------------------------------------------------------------- */
/* Claims                                                             */

Test(ring_api, claim_rejects_len_zero)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	void *buf = NULL;
	cr_expect_eq(qshm_producer_claim(p, 0, 16, 0, &buf), -EINVAL);
	cr_expect_eq(qshm_producer_publish(p, 16, "", 0, 0), -EINVAL);
	/* Nothing was published. */
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	qshm_producer_commit(p);
	struct qshm_record r;
	cr_expect_eq(qshm_consumer_read(c, &r, 0), -EAGAIN);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, claim_rejects_type_below_user_min)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	void *buf = NULL;
	for (unsigned t = 0; t < QSHM_TYPE_USER_MIN; t++)
		cr_expect_eq(qshm_producer_claim(p, 8, (uint16_t)t, 0, &buf),
			     -EINVAL, "type %u", t);
	cr_expect_eq(qshm_producer_publish(p, QSHM_TYPE_PAD, "x", 1, 0),
		     -EINVAL);
	/* The boundaries are fine. */
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	cr_expect_eq(qshm_producer_publish(p, QSHM_TYPE_USER_MIN, "a", 1, 0), 0);
	cr_expect_eq(qshm_producer_publish(p, QSHM_TYPE_MAX, "b", 1, 0), 0);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(r.type, QSHM_TYPE_USER_MIN);
	cr_expect_eq(r.seq, 0, "rejected claims must not use sequence numbers");
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(r.type, QSHM_TYPE_MAX);
	cr_expect_eq(*(const char *)r.data, 'b');
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, claim_rejects_len_above_max_record_with_etoobig)
{
	qshm_producer *p = t_create(t_ring, 65536, 1000, 0);
	void *buf = NULL;
	cr_expect_eq(qshm_producer_claim(p, 1001, 16, 0, &buf), -QSHM_ETOOBIG);
	cr_expect_eq(qshm_producer_claim(p, 65536, 16, 0, &buf), -QSHM_ETOOBIG);
	cr_expect_eq(qshm_producer_claim(p, SIZE_MAX, 16, 0, &buf),
		     -QSHM_ETOOBIG);
	cr_expect_eq(qshm_producer_claim(p, (size_t)UINT32_MAX + 2, 16, 0, &buf),
		     -QSHM_ETOOBIG, "a length that truncates to 1 in 32 bits");
	char big[1001] = { 0 };
	cr_expect_eq(qshm_producer_publish(p, 16, big, 1001, 0), -QSHM_ETOOBIG);
	cr_expect_eq(qshm_producer_claim(p, 1000, 16, 0, &buf), 0);
	cr_expect_eq(qshm_producer_commit(p), 0);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, claimed_payloads_are_16_byte_aligned)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	for (size_t i = 0; i < 500; i++) {
		void *buf = NULL;
		size_t len = 1 + (i * 37) % 300;
		cr_assert_eq(qshm_producer_claim(p, len, 16, 0, &buf), 0);
		cr_expect_eq((uintptr_t)buf % 16, 0, "claim %zu len %zu: %p", i,
			     len, buf);
		t_pattern_fill(buf, len, i);
		qshm_producer_commit(p);
		struct qshm_record r;
		cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
		cr_assert_eq(t_check_record("c", &r, i, 0), 0);
		cr_assert_eq(r.len, len);
		qshm_consumer_release(c);
	}
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* ---------------------------------------------------------------- */
/* Errors                                                             */

Test(ring_api, strerror_of_every_code_begins_with_its_name)
{
	static const char *const names[] = {
		"QSHM_ENOTQSHM",  "QSHM_EVERSION",      "QSHM_ELAYOUT",
		"QSHM_ECORRUPT",  "QSHM_ECREATING",     "QSHM_ESTALE",
		"QSHM_ECLOSED",   "QSHM_EPRODUCERDEAD", "QSHM_EOVERRUN",
		"QSHM_EEVICTED",  "QSHM_ENOSLOT",       "QSHM_ETOOBIG",
		"QSHM_ETRUNCATED",
	};
	cr_assert_eq(sizeof(names) / sizeof(names[0]),
		     QSHM_ERR_LAST - QSHM_ERR_FIRST);
	for (int code = QSHM_ERR_FIRST; code < QSHM_ERR_LAST; code++) {
		const char *name = names[code - QSHM_ERR_FIRST];
		const char *pos = qshm_strerror(code), *neg = qshm_strerror(-code);
		cr_assert_not_null(pos);
		cr_assert_not_null(neg);
		size_t n = strlen(name);
		cr_expect(strncmp(neg, name, n) == 0 && neg[n] == ':' &&
				  neg[n + 1] == ' ' && neg[n + 2] != '\0',
			  "qshm_strerror(-%s) = \"%s\"", name, neg);
		cr_expect_str_eq(pos, neg, "qshm_strerror(%d) vs (%d)", code,
				 -code);
	}
	/* errno codes, 0 and unknown codes get a string too. */
	int others[] = { 0, EINVAL, -EINVAL, -ENOENT, -EAGAIN, -ETIMEDOUT,
			 QSHM_ERR_LAST, -QSHM_ERR_LAST, -99999, 99999,
			 -2147483647 };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		const char *s = qshm_strerror(others[i]);
		cr_expect(s != NULL && s[0] != '\0', "qshm_strerror(%d)",
			  others[i]);
	}
	cr_expect_str_eq(qshm_strerror(-EINVAL), qshm_strerror(EINVAL));
	cr_expect_str_neq(qshm_strerror(-EINVAL), qshm_strerror(-ENOENT));
	/* INT_MIN must not overflow when negated. */
	const char *s = qshm_strerror((int)0x80000000u);
	cr_expect(s != NULL && s[0] != '\0');
}

Test(ring_api, version_matches_header)
{
	int ma = -1, mi = -1, pa = -1;
	cr_expect_eq(qshm_version(&ma, &mi, &pa), 0);
	cr_expect_eq(ma, QSHM_VERSION_MAJOR);
	cr_expect_eq(mi, QSHM_VERSION_MINOR);
	cr_expect_eq(pa, QSHM_VERSION_PATCH);
}

/* The header's version macros are the project's version (meson.build):
 * a release that bumps one and not the other fails here. */
Test(ring_api, header_version_is_the_project_version)
{
	char v[48];
	snprintf(v, sizeof v, "%d.%d.%d", QSHM_VERSION_MAJOR,
		 QSHM_VERSION_MINOR, QSHM_VERSION_PATCH);
	cr_expect_str_eq(v, QSHM_TEST_PROJECT_VERSION,
			 "qshm.h says %s, meson.build %s", v,
			 QSHM_TEST_PROJECT_VERSION);
}

Test(ring_api, ring_state_names_are_words)
{
	cr_expect_str_eq(qshm_ring_state_name(QSHM_RING_LIVE), "live");
	cr_expect_str_eq(qshm_ring_state_name(QSHM_RING_STALE), "stale");
	cr_expect_str_eq(qshm_ring_state_name(QSHM_RING_CLOSED), "closed");
	for (int a = QSHM_RING_LIVE; a <= QSHM_RING_VERSION; a++) {
		const char *sa = qshm_ring_state_name((enum qshm_ring_state)a);
		cr_assert(sa != NULL && sa[0] != '\0', "state %d", a);
		for (int b = a + 1; b <= QSHM_RING_VERSION; b++)
			cr_expect_str_neq(sa, qshm_ring_state_name(
						      (enum qshm_ring_state)b));
	}
	const char *u = qshm_ring_state_name((enum qshm_ring_state)1000);
	cr_expect(u != NULL, "unknown state must not give NULL");
}

static void *last_error_in_fresh_thread(void *arg)
{
	const char *m = qshm_last_error();
	return (void *)(uintptr_t)(m != NULL && m[0] == '\0');
}

Test(ring_api, last_error_is_per_thread_and_empty_before_any_failure)
{
	cr_expect_eq(qshm_name_check(".bad"), -EINVAL);
	cr_expect_neq(qshm_last_error()[0], '\0');
	pthread_t th;
	void *ok;
	cr_assert_eq(pthread_create(&th, NULL, last_error_in_fresh_thread,
				    NULL), 0);
	pthread_join(th, &ok);
	cr_expect(ok != NULL, "a new thread's qshm_last_error() is not \"\"");
	cr_expect_neq(qshm_last_error()[0], '\0',
		      "this thread's message was lost");
}

/* ---------------------------------------------------------------- */
/* Permissions                                                        */

static mode_t file_mode(const char *name)
{
	char path[256];
	struct stat st;
	int fd = open(t_shm_path(name, path, sizeof(path)), O_RDONLY);
	cr_assert(fd >= 0, "open %s", path);
	cr_assert_eq(fstat(fd, &st), 0);
	close(fd);
	cr_expect_eq(st.st_uid, geteuid());
	return st.st_mode & 07777;
}

Test(ring_api, created_mode_is_0600_by_default)
{
	umask(0); /* the default must not depend on the umask */
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	mode_t m = file_mode(t_ring);
	cr_expect_eq(m, 0600, "mode %04o", (unsigned)m);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	umask(022);
}

Test(ring_api, created_mode_honours_opts_mode)
{
	umask(022);
	mode_t modes[] = { 0640, 0644, 0604, 0400 + 0200 + 040 };
	for (size_t i = 0; i < 4; i++) {
		struct qshm_create_opts o = { .capacity = 4096,
					      .mode = modes[i] };
		qshm_producer *p;
		int err = create_with(&o, &p);
		cr_assert_eq(err, 0, "mode %04o: %s", (unsigned)modes[i],
			     t_errname(err));
		mode_t m = file_mode(t_ring);
		cr_expect_eq(m, modes[i], "asked %04o got %04o",
			     (unsigned)modes[i], (unsigned)m);
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	}
}

/* ---------------------------------------------------------------- */
/* Round trips                                                        */

Test(ring_api, round_trips_every_size_from_1_to_max_record)
{
	const size_t max = 16384;
	qshm_producer *p = t_create(t_ring, 65536, max, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	uint64_t last_pos = 0;
	for (size_t len = 1; len <= max; len++) {
		uint64_t seq = len - 1;
		uint16_t type = (uint16_t)(QSHM_TYPE_USER_MIN +
					   len % (QSHM_TYPE_MAX - 15));
		void *buf = NULL;
		int err = qshm_producer_claim(p, len, type, 0, &buf);
		cr_assert_eq(err, 0, "claim len %zu: %s", len, t_errname(err));
		cr_assert_eq((uintptr_t)buf % 16, 0);
		t_pattern_fill(buf, len, seq);
		cr_assert_eq(qshm_producer_commit(p), 0);

		struct qshm_record r;
		err = qshm_consumer_read(c, &r, 0);
		cr_assert_eq(err, 0, "read len %zu: %s", len, t_errname(err));
		cr_assert_eq(r.len, len, "len %u, expected %zu", r.len, len);
		cr_assert_eq(r.type, type);
		cr_assert_eq(r.lost, 0);
		cr_assert_eq(t_check_record("round trip", &r, seq, 0), 0,
			     "len %zu", len);
		if (seq > 0)
			cr_assert_gt(r.pos, last_pos, "positions increase");
		last_pos = r.pos;
		cr_assert_eq(qshm_consumer_release(c), 0);
	}
	struct qshm_record r;
	cr_expect_eq(qshm_consumer_read(c, &r, 0), -EAGAIN);
	struct qshm_consumer_stats cs;
	cr_assert_eq(qshm_consumer_stats(c, &cs), 0);
	cr_expect_eq(cs.records, max);
	cr_expect_eq(cs.lost, 0);
	struct qshm_producer_stats ps;
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	cr_expect_eq(ps.records, max);
	cr_expect_eq(ps.bytes, (uint64_t)max * (max + 1) / 2);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, sequence_numbers_are_consecutive_from_zero)
{
	qshm_producer *p = t_create(t_ring, 4096, 1024, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	for (uint64_t s = 0; s < 3000; s++) {
		/* Batched: several claims, one commit, several reads, one
		 * release. */
		cr_assert_eq(t_publish_seq(p, s, 300, 0, s % 3 == 2), 0,
			     "seq %llu", (unsigned long long)s);
		if (s % 3 == 2) {
			for (uint64_t k = s - 2; k <= s; k++) {
				struct qshm_record r;
				cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
				cr_assert_eq(t_check_record("c", &r, k, 300), 0);
			}
			qshm_consumer_release(c);
		}
	}
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, publish_copies_the_payload)
{
	qshm_producer *p = t_create(t_ring, 8192, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	char src[777];
	t_pattern_fill(src, sizeof(src), 0);
	cr_assert_eq(qshm_producer_publish(p, 99, src, sizeof(src), 0), 0);
	memset(src, 0, sizeof(src));
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0,
		     "publish must commit: the record is visible at once");
	cr_expect_eq(r.type, 99);
	cr_expect_eq(r.len, sizeof(src));
	cr_expect_eq(t_check_record("c", &r, 0, 0), 0);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, trim_shrinks_the_last_claim)
{
	qshm_producer *p = t_create(t_ring, 8192, 2000, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);

	/* No claim yet. */
	cr_expect_eq(qshm_producer_trim(p, 1), -EINVAL);

	for (uint64_t s = 0; s < 200; s++) {
		void *buf;
		cr_assert_eq(qshm_producer_claim(p, 2000, 16, 0, &buf), 0);
		size_t len = 1 + (s * 131) % 2000;
		t_pattern_fill(buf, len, s);
		cr_expect_eq(qshm_producer_trim(p, 0), -EINVAL);
		cr_expect_eq(qshm_producer_trim(p, 2001), -EINVAL);
		cr_assert_eq(qshm_producer_trim(p, len), 0);
		/* Cannot grow back after a trim. */
		if (len < 2000)
			cr_expect_eq(qshm_producer_trim(p, len + 1), -EINVAL);
		qshm_producer_commit(p);
		struct qshm_record r;
		cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
		cr_assert_eq(r.len, len);
		cr_assert_eq(t_check_record("c", &r, s, 0), 0);
		qshm_consumer_release(c);
	}
	/* After a commit there is no claim to trim. */
	cr_expect_eq(qshm_producer_trim(p, 1), -EINVAL);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, trim_applies_to_most_recent_of_batched_claims)
{
	qshm_producer *p = t_create(t_ring, 8192, 1000, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	void *a, *b;
	cr_assert_eq(qshm_producer_claim(p, 1000, 16, 0, &a), 0);
	t_pattern_fill(a, 1000, 0);
	cr_assert_eq(qshm_producer_claim(p, 1000, 17, 0, &b), 0);
	t_pattern_fill(b, 10, 1);
	cr_assert_eq(qshm_producer_trim(p, 10), 0);
	qshm_producer_commit(p);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(r.len, 1000);
	cr_expect_eq(t_check_record("c", &r, 0, 0), 0);
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(r.len, 10);
	cr_expect_eq(r.type, 17);
	cr_expect_eq(t_check_record("c", &r, 1, 0), 0);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, batched_commit_publishes_all_claims_at_once)
{
	qshm_producer *p = t_create(t_ring, 8192, 1000, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	for (uint64_t s = 0; s < 4; s++)
		cr_assert_eq(t_publish_seq(p, s, 1000, 0, 0), 0);
	struct qshm_record r;
	cr_expect_eq(qshm_consumer_read(c, &r, 0), -EAGAIN,
		     "claimed records are invisible before commit");
	cr_assert_eq(qshm_producer_commit(p), 0);
	for (uint64_t s = 0; s < 4; s++) {
		cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
		cr_expect_eq(t_check_record("c", &r, s, 1000), 0);
	}
	cr_expect_eq(qshm_consumer_read(c, &r, 0), -EAGAIN);
	cr_expect_eq(qshm_producer_commit(p), 0, "an empty commit is fine");
	cr_expect_eq(qshm_consumer_read(c, &r, 0), -EAGAIN);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

static int publish_fixed(qshm_producer *p, uint64_t seq, size_t len)
{
	void *buf;
	int err = qshm_producer_claim(p, len, 16, 0, &buf);
	if (err)
		return err;
	t_pattern_fill(buf, len, seq);
	return qshm_producer_commit(p);
}

Test(ring_api, reliable_consumer_holds_space_until_batched_release)
{
	qshm_producer *p = t_create(t_ring, 4096, 1024, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	uint64_t n = 0;
	int err;
	while ((err = publish_fixed(p, n, 100)) == 0) {
		n++;
		cr_assert_lt(n, 4096, "the ring never got full");
	}
	cr_assert_eq(err, -EAGAIN, "full ring, timeout 0: %s", t_errname(err));
	cr_assert_geq(n, 20, "4 KiB holds at least 20 records of 100 bytes");

	/* Read everything without releasing: still full. */
	struct qshm_record rs[4096];
	for (uint64_t s = 0; s < n; s++) {
		cr_assert_eq(qshm_consumer_read(c, &rs[s], 0), 0);
		cr_assert_eq(rs[s].len, 100);
		cr_assert_eq(t_check_record("c", &rs[s], s, 0), 0);
	}
	struct qshm_record r;
	cr_expect_eq(qshm_consumer_read(c, &r, 0), -EAGAIN);
	cr_expect_eq(publish_fixed(p, n, 100), -EAGAIN,
		     "reads without release must hold the space");
	/* Every view is still intact. */
	for (uint64_t s = 0; s < n; s++)
		cr_expect_eq(t_check_record("held", &rs[s], s, 0), 0);

	struct qshm_producer_stats ps;
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	cr_expect_geq(ps.full_waits, 1);

	cr_assert_eq(qshm_consumer_release(c), 0);
	cr_expect_eq(publish_fixed(p, n, 100), 0,
		     "after the release there is room again");
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(t_check_record("c", &r, n, 0), 0);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, room_counts_what_the_slowest_reliable_consumer_holds)
{
	qshm_producer *p = t_create(t_ring, 4096, 1024, 0);
	qshm_consumer *c, *lossy;
	struct qshm_record r;
	uint64_t room, before;

	cr_assert_eq(qshm_producer_room(p, &room), 0);
	cr_expect_eq(room, 4096 - 16, "empty ring, no consumer");
	cr_expect_eq(qshm_producer_room(p, NULL), -EINVAL);
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY,
					  &lossy), 0);
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	for (uint64_t s = 0; s < 10; s++)
		cr_assert_eq(publish_fixed(p, s, 100), 0);
	cr_assert_eq(qshm_producer_room(p, &room), 0);
	/* ten records of a 16 B header and 100 B, rounded to 16: 112 + 16 */
	cr_expect_eq(room, 4096 - 16 - 10 * 128, "room %llu",
		     (unsigned long long)room);
	/* Reading without releasing holds the space; the lossy reader never
	 * does. */
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_assert_eq(qshm_consumer_read(lossy, &r, 0), 0);
	cr_assert_eq(qshm_consumer_release(lossy), 0);
	before = room;
	cr_assert_eq(qshm_producer_room(p, &room), 0);
	cr_expect_eq(room, before);
	cr_assert_eq(qshm_consumer_release(c), 0);
	cr_assert_eq(qshm_producer_room(p, &room), 0);
	cr_expect_eq(room, before + 128, "room %llu",
		     (unsigned long long)room);
	/* Full: nothing left, and a claim finds it so. */
	while (publish_fixed(p, 10, 100) == 0)
		;
	cr_assert_eq(qshm_producer_room(p, &room), 0);
	cr_expect_lt(room, 128, "room %llu", (unsigned long long)room);
	qshm_consumer_close(lossy);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, full_ring_claim_times_out_after_10ms)
{
	qshm_producer *p = t_create(t_ring, 4096, 1024, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	uint64_t n = 0;
	while (t_publish_seq(p, n, 1024, 0, 1) == 0)
		n++;
	void *buf;
	uint64_t t0 = t_now_ns();
	int err = qshm_producer_claim(p, 1024, 16, 10 * T_MS, &buf);
	uint64_t dt = t_now_ns() - t0;
	cr_expect_eq(err, -ETIMEDOUT, "%s", t_errname(err));
	cr_expect_geq(dt, 9 * T_MS, "returned after %llu ns",
		      (unsigned long long)dt);
	cr_expect_lt(dt, 1 * T_SEC, "returned after %llu ns",
		     (unsigned long long)dt);
	qshm_consumer_close(c);
	/* Once the only reliable consumer is gone the producer is free. */
	cr_expect_eq(qshm_producer_claim(p, 1000, 16, 0, &buf), 0);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, new_consumer_starts_at_oldest_record_in_ring)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	/* Without reliable consumers the producer wraps freely. */
	for (uint64_t s = 0; s < 100; s++)
		cr_assert_eq(t_publish_seq(p, s, 200, 0, 1), 0);
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	uint64_t first = r.seq;
	cr_expect_gt(first, 0, "the first records were overwritten");
	cr_expect_lt(first, 100);
	cr_expect_eq(r.pos, info.oldest_pos, "starts at the oldest record");
	cr_expect_eq(r.lost, 0);
	cr_assert_eq(t_check_record("c", &r, first, 200), 0);
	for (uint64_t s = first + 1; s < 100; s++) {
		cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
		cr_assert_eq(t_check_record("c", &r, s, 200), 0);
	}
	cr_expect_eq(qshm_consumer_read(c, &r, 0), -EAGAIN);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, from_newest_starts_after_existing_records)
{
	qshm_producer *p = t_create(t_ring, 8192, 0, 0);
	for (uint64_t s = 0; s < 5; s++)
		cr_assert_eq(t_publish_seq(p, s, 100, 0, 1), 0);
	unsigned flags[] = { QSHM_CONSUMER_FROM_NEWEST,
			     QSHM_CONSUMER_FROM_NEWEST | QSHM_CONSUMER_LOSSY,
			     QSHM_CONSUMER_FROM_NEWEST | QSHM_CONSUMER_READONLY };
	qshm_consumer *c[3];
	for (int i = 0; i < 3; i++)
		cr_assert_eq(qshm_consumer_attach(t_ring, flags[i], &c[i]), 0,
			     "flags 0x%x", flags[i]);
	qshm_consumer *old;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &old), 0);
	struct qshm_record r;
	for (int i = 0; i < 3; i++)
		cr_expect_eq(qshm_consumer_read(c[i], &r, 0), -EAGAIN,
			     "flags 0x%x", flags[i]);
	cr_assert_eq(t_publish_seq(p, 5, 100, 0, 1), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(qshm_consumer_read(c[i], &r, 0), 0);
		cr_expect_eq(t_check_record("newest", &r, 5, 100), 0);
		cr_expect_eq(r.lost, 0, "skipping old records is not a loss");
		cr_expect_eq(qshm_consumer_validate(c[i], &r), 0);
	}
	/* A consumer without the flag starts at the oldest. */
	cr_assert_eq(qshm_consumer_read(old, &r, 0), 0);
	cr_expect_eq(r.seq, 0);
	for (int i = 0; i < 3; i++)
		qshm_consumer_close(c[i]);
	qshm_consumer_close(old);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* ---------------------------------------------------------------- */
/* Timeouts and close                                                 */

Test(ring_api, empty_ring_read_with_timeout_0_gives_eagain)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	unsigned flags[] = { 0, QSHM_CONSUMER_LOSSY, QSHM_CONSUMER_READONLY };
	for (int i = 0; i < 3; i++) {
		qshm_consumer *c;
		cr_assert_eq(qshm_consumer_attach(t_ring, flags[i], &c), 0);
		struct qshm_record r;
		uint64_t t0 = t_now_ns();
		cr_expect_eq(qshm_consumer_read(c, &r, 0), -EAGAIN);
		cr_expect_lt(t_now_ns() - t0, 50 * T_MS, "timeout 0 waited");
		char buf[16];
		cr_expect_eq(qshm_consumer_read_copy(c, buf, sizeof(buf), &r, 0),
			     -EAGAIN);
		qshm_consumer_close(c);
	}
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, empty_ring_read_times_out_after_10ms)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	enum qshm_wait_mode modes[] = { QSHM_WAIT_SPIN_PARK, QSHM_WAIT_BUSY,
					QSHM_WAIT_BLOCK };
	for (int i = 0; i < 3; i++) {
		qshm_consumer *c;
		cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
		cr_assert_eq(qshm_consumer_set_wait(c, modes[i], 1000), 0);
		struct qshm_record r;
		uint64_t t0 = t_now_ns();
		int err = qshm_consumer_read(c, &r, 10 * T_MS);
		uint64_t dt = t_now_ns() - t0;
		cr_expect_eq(err, -ETIMEDOUT, "mode %d: %s", modes[i],
			     t_errname(err));
		cr_expect_geq(dt, 9 * T_MS, "mode %d: after %llu ns", modes[i],
			      (unsigned long long)dt);
		cr_expect_lt(dt, 1 * T_SEC, "mode %d: after %llu ns", modes[i],
			     (unsigned long long)dt);
		qshm_consumer_close(c);
	}
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, set_wait_rejects_unknown_mode)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	cr_expect_eq(qshm_consumer_set_wait(c, (enum qshm_wait_mode)3, 0),
		     -EINVAL);
	cr_expect_eq(qshm_consumer_set_wait(c, (enum qshm_wait_mode)-1, 0),
		     -EINVAL);
	cr_expect_eq(qshm_producer_set_wait(p, (enum qshm_wait_mode)3, 0),
		     -EINVAL);
	for (int m = 0; m < 3; m++) {
		cr_expect_eq(qshm_consumer_set_wait(c, (enum qshm_wait_mode)m,
						    0), 0);
		cr_expect_eq(qshm_producer_set_wait(p, (enum qshm_wait_mode)m,
						    0), 0);
	}
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, read_after_producer_close_drains_then_gives_eclosed)
{
	qshm_producer *p = t_create(t_ring, 8192, 0, 0);
	qshm_consumer *rel, *lossy;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &rel), 0);
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &lossy),
		     0);
	for (uint64_t s = 0; s < 3; s++)
		cr_assert_eq(t_publish_seq(p, s, 500, 0, 1), 0);
	/* A claimed, uncommitted record is committed by close. */
	cr_assert_eq(t_publish_seq(p, 3, 500, 0, 0), 0);
	cr_assert_eq(qshm_producer_close(p, 0), 0);

	qshm_consumer *cs[2] = { rel, lossy };
	for (int i = 0; i < 2; i++) {
		struct qshm_record r;
		for (uint64_t s = 0; s < 4; s++) {
			int err = qshm_consumer_read(cs[i], &r, 0);
			cr_assert_eq(err, 0, "consumer %d seq %llu: %s", i,
				     (unsigned long long)s, t_errname(err));
			cr_expect_eq(t_check_record("c", &r, s, 500), 0);
			cr_expect_eq(qshm_consumer_validate(cs[i], &r), 0);
			qshm_consumer_release(cs[i]);
		}
		cr_expect_eq(qshm_consumer_read(cs[i], &r, 0), -QSHM_ECLOSED);
		/* Sticky, and no wait with a timeout either. */
		uint64_t t0 = t_now_ns();
		cr_expect_eq(qshm_consumer_read(cs[i], &r, 5 * T_SEC),
			     -QSHM_ECLOSED);
		cr_expect_eq(qshm_consumer_read(cs[i], &r, QSHM_FOREVER),
			     -QSHM_ECLOSED);
		cr_expect_lt(t_now_ns() - t0, T_SEC);
		qshm_consumer_close(cs[i]);
	}
	/* A late consumer can still read the closed ring. */
	qshm_consumer *late;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &late), 0);
	struct qshm_record r;
	for (uint64_t s = 0; s < 4; s++) {
		cr_assert_eq(qshm_consumer_read(late, &r, 0), 0);
		cr_expect_eq(t_check_record("late", &r, s, 500), 0);
	}
	cr_expect_eq(qshm_consumer_read(late, &r, QSHM_FOREVER), -QSHM_ECLOSED);
	qshm_consumer_close(late);

	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_CLOSED, "state %s",
		     qshm_ring_state_name(info.state));
	cr_expect_eq(qshm_unlink(t_ring), 0);
}


static void *close_later(void *arg)
{
	t_sleep_ns(50 * T_MS);
	qshm_producer_close(arg, 0);
	return NULL;
}

Test(ring_api, blocked_reader_wakes_with_eclosed_when_producer_closes)
{
	qshm_producer *p = t_create(t_ring, 8192, 0, 0);
	enum qshm_wait_mode modes[] = { QSHM_WAIT_BLOCK, QSHM_WAIT_SPIN_PARK };
	for (int i = 0; i < 2; i++) {
		qshm_consumer *c;
		if (i == 1)
			p = t_create(t_ring, 8192, 0, 0);
		cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
		cr_assert_eq(qshm_consumer_set_wait(c, modes[i], 1000), 0);
		pthread_t th;
		cr_assert_eq(pthread_create(&th, NULL, close_later, p), 0);
		struct qshm_record r;
		uint64_t t0 = t_now_ns();
		int err = qshm_consumer_read(c, &r, 5 * T_SEC);
		uint64_t dt = t_now_ns() - t0;
		pthread_join(th, NULL);
		cr_expect_eq(err, -QSHM_ECLOSED, "mode %d: %s after %llu ms",
			     modes[i], t_errname(err),
			     (unsigned long long)(dt / T_MS));
		cr_expect_lt(dt, 2 * T_SEC);
		qshm_consumer_close(c);
		qshm_unlink(t_ring);
	}
}

Test(ring_api, close_with_unlink_removes_the_name)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	cr_assert_eq(t_publish_seq(p, 0, 100, 0, 1), 0);
	cr_assert_eq(qshm_producer_close(p, QSHM_CLOSE_UNLINK), 0);
	char path[256];
	struct stat st;
	cr_expect_neq(stat(t_shm_path(t_ring, path, sizeof(path)), &st), 0);
	qshm_consumer *c2;
	cr_expect_eq(qshm_consumer_attach(t_ring, 0, &c2), -ENOENT);
	/* An attached consumer still reads what was left. */
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(t_check_record("c", &r, 0, 100), 0);
	cr_expect_eq(qshm_consumer_read(c, &r, 0), -QSHM_ECLOSED);
	qshm_consumer_close(c);
}

/* "Returns 0, -EINVAL (unknown flags)": on -EINVAL nothing is done, the
 * handle stays valid. */
Test(ring_api, close_rejects_unknown_flags)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	cr_expect_eq(qshm_producer_close(p, 1u << 5), -EINVAL);
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_LIVE,
		     "a rejected close must not close the ring");
	cr_expect_eq(qshm_producer_publish(p, 16, "x", 1, 0), 0);
	cr_expect_eq(qshm_producer_close(p, QSHM_CLOSE_UNLINK), 0);
}

/* ---------------------------------------------------------------- */
/* Ring info and stats                                                */

static uint64_t proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *s = strrchr(buf, ')');
	if (!s)
		return 0;
	/* Fields after ')' start at field 3 (state); start time is 22. */
	s += 2;
	for (int field = 3; field < 22 && s; field++) {
		s = strchr(s, ' ');
		if (s)
			s++;
	}
	return s ? strtoull(s, NULL, 10) : 0;
}

Test(ring_api, ring_info_reports_live_ring)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t now_ns = (uint64_t)now.tv_sec * T_SEC + (uint64_t)now.tv_nsec;

	qshm_producer *p = t_create(t_ring, 65536, 5000, 10);
	struct qshm_ring_info info;
	memset(&info, 0xa5, sizeof(info));
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_LIVE, "state %s",
		     qshm_ring_state_name(info.state));
	cr_expect_eq(info.format_major, QSHM_FORMAT_MAJOR);
	cr_expect_eq(info.format_minor, QSHM_FORMAT_MINOR);
	cr_expect_eq(info.capacity, 65536);
	cr_expect_eq(info.max_record, 5000);
	cr_expect_eq(info.max_consumers, 10);
	cr_expect_eq(info.creator_pid, getpid());
	cr_expect_eq(info.creator_alive, 1);
	cr_expect_eq(info.creator_start, proc_start_time(getpid()),
		     "creator_start %llu, /proc says %llu",
		     (unsigned long long)info.creator_start,
		     (unsigned long long)proc_start_time(getpid()));
	cr_expect(info.created_ns + 60 * T_SEC > now_ns &&
			  info.created_ns < now_ns + 60 * T_SEC,
		  "created_ns %llu, now %llu",
		  (unsigned long long)info.created_ns,
		  (unsigned long long)now_ns);
	cr_expect_eq(info.reliable_consumers, 0);
	cr_expect_eq(info.lossy_consumers, 0);
	cr_expect_eq(info.write_pos, info.oldest_pos, "empty ring");

	char path[256];
	struct stat st;
	cr_assert_eq(stat(t_shm_path(t_ring, path, sizeof(path)), &st), 0);
	cr_expect_eq(info.size, (uint64_t)st.st_size);
	cr_expect_gt(info.size, 65536, "header + data");
	uint64_t gen = info.generation;

	qshm_consumer *rel, *lossy, *ro;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &rel), 0);
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &lossy),
		     0);
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0);
	uint64_t w0 = info.write_pos;
	for (uint64_t s = 0; s < 10; s++)
		cr_assert_eq(t_publish_seq(p, s, 1000, 0, 1), 0);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.reliable_consumers, 1);
	cr_expect_eq(info.lossy_consumers, 1, "READONLY takes no slot");
	cr_expect_gt(info.write_pos, w0);
	cr_expect_eq(info.generation, gen);

	struct qshm_consumer_stats cs;
	cr_assert_eq(qshm_consumer_stats(rel, &cs), 0);
	cr_expect_eq(cs.generation, gen);
	cr_expect_eq(cs.records, 0);
	struct qshm_record r;
	for (int i = 0; i < 10; i++)
		cr_assert_eq(qshm_consumer_read(rel, &r, 0), 0);
	cr_assert_eq(qshm_consumer_stats(rel, &cs), 0);
	cr_expect_eq(cs.records, 10);
	cr_expect_eq(cs.lost, 0);
	cr_expect_eq(cs.position, info.write_pos,
		     "after reading everything the position is the write "
		     "position");
	cr_assert_eq(qshm_consumer_stats(ro, &cs), 0);
	cr_expect_eq(cs.generation, gen);
	cr_expect_eq(qshm_consumer_producer_pid(rel), getpid());
	cr_expect_eq(qshm_consumer_producer_pid(ro), getpid());

	qshm_consumer_close(rel);
	qshm_consumer_close(lossy);
	qshm_consumer_close(ro);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.reliable_consumers, 0, "close frees the slot");
	cr_expect_eq(info.lossy_consumers, 0, "close frees the slot");

	cr_assert_eq(qshm_producer_close(p, 0), 0);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_CLOSED, "state %s",
		     qshm_ring_state_name(info.state));
	cr_expect_eq(info.generation, gen);
}

Test(ring_api, producer_stats_count_records_and_bytes)
{
	qshm_producer *p = t_create(t_ring, 8192, 0, 0);
	struct qshm_producer_stats ps;
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	cr_expect_eq(ps.records, 0);
	cr_expect_eq(ps.bytes, 0);
	uint64_t bytes = 0;
	for (uint64_t s = 0; s < 100; s++) {
		cr_assert_eq(t_publish_seq(p, s, 1000, 0, s % 2), 0);
		bytes += t_len_for_seq(s, 1000);
	}
	qshm_producer_commit(p);
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	cr_expect_eq(ps.records, 100);
	cr_expect_eq(ps.bytes, bytes);
	cr_expect_eq(ps.full_waits, 0, "no reliable consumer: never full");
	cr_expect_eq(ps.evictions, 0);
	cr_expect_eq(ps.wakes, 0, "nobody sleeps: no wake syscalls");
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, producer_counts_and_waits_for_reliable_consumers)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	cr_expect_eq(qshm_producer_consumers(p), 0);
	cr_expect_eq(qshm_producer_wait_consumers(p, 1, 0), -EAGAIN);
	uint64_t t0 = t_now_ns();
	cr_expect_eq(qshm_producer_wait_consumers(p, 1, 10 * T_MS), -ETIMEDOUT);
	cr_expect_geq(t_now_ns() - t0, 9 * T_MS);
	cr_expect_eq(qshm_producer_wait_consumers(p, 0, 0), 0);

	qshm_consumer *lossy, *ro, *a, *b;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &lossy),
		     0);
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0);
	cr_expect_eq(qshm_producer_consumers(p), 0, "lossy ones do not count");
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &a), 0);
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &b), 0);
	cr_expect_eq(qshm_producer_consumers(p), 2);
	cr_expect_eq(qshm_producer_wait_consumers(p, 2, 0), 0);
	cr_expect_eq(qshm_producer_wait_consumers(p, 3, 0), -EAGAIN);
	qshm_consumer_close(a);
	cr_expect_eq(qshm_producer_consumers(p), 1);
	qshm_consumer_close(b);
	qshm_consumer_close(lossy);
	qshm_consumer_close(ro);
	cr_expect_eq(qshm_producer_consumers(p), 0);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, drain_waits_for_reliable_releases)
{
	qshm_producer *p = t_create(t_ring, 8192, 0, 0);
	cr_expect_eq(qshm_producer_drain(p, 0), 0, "nothing to drain");
	qshm_consumer *c, *lossy;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &lossy),
		     0);
	for (uint64_t s = 0; s < 5; s++)
		cr_assert_eq(t_publish_seq(p, s, 500, 0, 1), 0);
	cr_expect_eq(qshm_producer_drain(p, 0), -EAGAIN);
	cr_expect_eq(qshm_producer_drain(p, 10 * T_MS), -ETIMEDOUT);
	struct qshm_record r;
	for (int i = 0; i < 5; i++)
		cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(qshm_producer_drain(p, 0), -EAGAIN,
		     "read but not released");
	qshm_consumer_release(c);
	cr_expect_eq(qshm_producer_drain(p, 0), 0,
		     "lossy consumers are not waited for");
	qshm_consumer_close(c);
	qshm_consumer_close(lossy);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, user_counters_are_16_distinct_words_visible_in_segment)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	uint64_t *u[16];
	for (unsigned i = 0; i < 16; i++) {
		u[i] = qshm_producer_user_counter(p, i);
		cr_assert_not_null(u[i], "index %u", i);
		cr_expect_eq((uintptr_t)u[i] % 8, 0);
		for (unsigned j = 0; j < i; j++)
			cr_expect_neq(u[i], u[j]);
		*u[i] = 0x1234567800000000ull + i;
	}
	cr_expect_null(qshm_producer_user_counter(p, 16));
	cr_expect_null(qshm_producer_user_counter(p, ~0u));
	/* The counters live in the segment: find them in the file. */
	char path[256];
	void *buf;
	size_t len;
	cr_assert_eq(t_read_file(t_shm_path(t_ring, path, sizeof(path)), &buf,
				 &len),
		     0);
	int found = 0;
	for (size_t off = 0; off + 8 <= len; off += 8) {
		uint64_t v;
		memcpy(&v, (char *)buf + off, 8);
		if (v == 0x1234567800000000ull + 7)
			found++;
	}
	free(buf);
	cr_expect_eq(found, 1, "user counter 7 found %d times in the file",
		     found);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, read_copy_returns_length_and_copies_payload)
{
	qshm_producer *p = t_create(t_ring, 65536, 1000, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	for (uint64_t s = 0; s < 50; s++)
		cr_assert_eq(t_publish_seq(p, s, 1000, 0, 1), 0);
	for (uint64_t s = 0; s < 50; s++) {
		char buf[1000];
		struct qshm_record r;
		int n = qshm_consumer_read_copy(c, buf, sizeof(buf), &r, 0);
		cr_assert_eq(n, (int)t_len_for_seq(s, 1000), "seq %llu: %s",
			     (unsigned long long)s, t_errname(n));
		cr_expect_eq(r.seq, s);
		cr_expect_eq(r.type, t_type_for_seq(s));
		cr_expect_eq(t_pattern_mismatch(buf, (size_t)n, s), -1);
		qshm_consumer_release(c);
	}
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, read_copy_too_small_buffer_gives_emsgsize_and_counts_lost)
{
	qshm_producer *p = t_create(t_ring, 8192, 1000, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &c), 0);
	char big[200];
	t_pattern_fill(big, sizeof(big), 0);
	cr_assert_eq(qshm_producer_publish(p, 16, big, sizeof(big), 0), 0);
	t_pattern_fill(big, 10, 1);
	cr_assert_eq(qshm_producer_publish(p, 16, big, 10, 0), 0);
	char small[64];
	struct qshm_record r;
	cr_expect_eq(qshm_consumer_read_copy(c, small, sizeof(small), &r, 0),
		     -EMSGSIZE);
	int n = qshm_consumer_read_copy(c, small, sizeof(small), &r, 0);
	cr_expect_eq(n, 10, "the next record follows: %s", t_errname(n));
	cr_expect_eq(r.seq, 1);
	cr_expect_eq(t_pattern_mismatch(small, 10, 1), -1);
	struct qshm_consumer_stats cs;
	cr_assert_eq(qshm_consumer_stats(c, &cs), 0);
	cr_expect_eq(cs.lost, 1, "the skipped record counts as lost");
	cr_expect_eq(cs.records, 1,
		     "stats.records counts records returned (1), not the "
		     "skipped one: got %llu",
		     (unsigned long long)cs.records);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, validate_always_succeeds_for_reliable_consumers)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	for (uint64_t s = 0; s < 200; s++) {
		cr_assert_eq(t_publish_seq(p, s, 300, 0, 1), 0);
		struct qshm_record r;
		cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
		cr_expect_eq(qshm_consumer_validate(c, &r), 0);
		qshm_consumer_release(c);
		cr_expect_eq(qshm_consumer_validate(c, &r), 0);
	}
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_api, wait_prepare_says_sleep_on_empty_and_not_when_data_is_there)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	const uint32_t *word = NULL;
	uint32_t val = 0;
	int rc = qshm_consumer_wait_prepare(c, &word, &val);
	cr_expect_eq(rc, 1, "empty ring: may sleep (%s)", t_errname(rc));
	cr_assert_not_null(word);
	cr_expect_eq(__atomic_load_n(word, __ATOMIC_ACQUIRE), val);
	cr_expect_eq((uintptr_t)word % 4, 0);
	qshm_consumer_wait_finish(c);

	cr_assert_eq(t_publish_seq(p, 0, 100, 0, 1), 0);
	rc = qshm_consumer_wait_prepare(c, &word, &val);
	cr_expect_eq(rc, 0, "a record is there (%s)", t_errname(rc));
	qshm_consumer_wait_finish(c);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(t_check_record("c", &r, 0, 100), 0);
	qshm_consumer_release(c);

	/* After prepare, a publish changes the word (so FUTEX_WAIT would
	 * return at once instead of sleeping through it). */
	rc = qshm_consumer_wait_prepare(c, &word, &val);
	cr_expect_eq(rc, 1);
	cr_assert_eq(t_publish_seq(p, 1, 100, 0, 1), 0);
	cr_expect_neq(__atomic_load_n(word, __ATOMIC_ACQUIRE), val,
		      "a publish must change the futex word of a sleeper");
	qshm_consumer_wait_finish(c);

	qshm_producer_close(p, 0);
	rc = qshm_consumer_wait_prepare(c, &word, &val);
	cr_expect_eq(rc, 0, "record 1 is still there (%s)", t_errname(rc));
	qshm_consumer_wait_finish(c);
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	rc = qshm_consumer_wait_prepare(c, &word, &val);
	cr_expect_eq(rc, -QSHM_ECLOSED, "closed and read: %s", t_errname(rc));
	if (rc == 1)
		qshm_consumer_wait_finish(c);
	qshm_consumer_close(c);
}

/* ---------------------------------------------------------------- */
/* Read-only consumers                                                */

static void expect_same_bytes(const void *a, size_t alen, const void *b,
			      size_t blen, const char *what)
{
	cr_expect_eq(alen, blen, "%s: size %zu -> %zu", what, alen, blen);
	size_t n = alen < blen ? alen : blen, diffs = 0, first = 0;
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)a)[i] !=
		    ((const unsigned char *)b)[i]) {
			if (diffs++ == 0)
				first = i;
			if (diffs <= 8)
				fprintf(stderr,
					"%s: byte %zu changed 0x%02x -> 0x%02x\n",
					what, i, ((const unsigned char *)a)[i],
					((const unsigned char *)b)[i]);
		}
	cr_expect_eq(diffs, 0, "%s: %zu bytes changed, first at offset %zu",
		     what, diffs, first);
}

Test(ring_api, readonly_consumer_never_changes_segment_bytes)
{
	qshm_producer *p = t_create(t_ring, 8192, 1000, 0);
	for (uint64_t s = 0; s < 30; s++)
		cr_assert_eq(t_publish_seq(p, s, 1000, 0, 1), 0);
	char path[256];
	t_shm_path(t_ring, path, sizeof(path));
	void *before, *after;
	size_t blen, alen;

	cr_assert_eq(t_read_file(path, &before, &blen), 0);
	qshm_consumer *c;
	int err = qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &c);
	cr_assert_eq(err, 0, "%s: %s", t_errname(err), qshm_last_error());
	cr_expect_eq(qshm_consumer_set_wait(c, QSHM_WAIT_BLOCK, 0), 0);
	struct qshm_record r;
	uint64_t first = UINT64_MAX, n = 0;
	while ((err = qshm_consumer_read(c, &r, 0)) == 0) {
		if (first == UINT64_MAX)
			first = r.seq;
		cr_expect_eq(t_check_record("ro", &r, first + n, 1000), 0);
		cr_expect_eq(qshm_consumer_validate(c, &r), 0);
		cr_expect_eq(qshm_consumer_release(c), 0);
		n++;
	}
	cr_expect_eq(err, -EAGAIN);
	cr_expect_eq(first + n, 30, "read up to the last record");
	char buf[1000];
	cr_expect_eq(qshm_consumer_read_copy(c, buf, sizeof(buf), &r, 10 * T_MS),
		     -ETIMEDOUT);
	const uint32_t *word;
	uint32_t val;
	if (qshm_consumer_wait_prepare(c, &word, &val) >= 0)
		qshm_consumer_wait_finish(c);
	struct qshm_consumer_stats cs;
	cr_expect_eq(qshm_consumer_stats(c, &cs), 0);
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.lossy_consumers + info.reliable_consumers, 0,
		     "a READONLY consumer takes no slot");
	cr_expect_eq(qshm_consumer_close(c), 0);
	cr_assert_eq(t_read_file(path, &after, &alen), 0);
	expect_same_bytes(before, blen, after, alen, "READONLY consumer");
	free(before);
	free(after);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* Inspecting with qshm_ring_info() is read-only too. */
Test(ring_api, ring_info_never_changes_segment_bytes)
{
	qshm_producer *p = t_create(t_ring, 8192, 1000, 0);
	for (uint64_t s = 0; s < 30; s++)
		cr_assert_eq(t_publish_seq(p, s, 1000, 0, 1), 0);
	char path[256];
	t_shm_path(t_ring, path, sizeof(path));
	void *before, *after;
	size_t blen, alen;
	cr_assert_eq(t_read_file(path, &before, &blen), 0);
	struct qshm_ring_info info;
	for (int i = 0; i < 10; i++)
		cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_assert_eq(t_read_file(path, &after, &alen), 0);
	expect_same_bytes(before, blen, after, alen, "qshm_ring_info");
	free(before);
	free(after);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* A READONLY consumer works where the object is not writable (an inspector
 * of someone else's 0644 ring): drop the capability to override
 * permissions by opening through a read-only file mode check. As root we
 * cannot lose write permission, so check the mapping instead: the data
 * pointer must not be writable. */
Test(ring_api, readonly_consumer_maps_without_write_permission)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	cr_assert_eq(t_publish_seq(p, 0, 100, 0, 1), 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &c),
		     0);
	struct qshm_record r;
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	/* Ask the kernel: mincore works on any mapping; use /proc/self/maps
	 * to find the permissions of the page that holds r.data. */
	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert_not_null(f);
	char line[512];
	int found = 0;
	uintptr_t a = (uintptr_t)r.data;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (a >= lo && a < hi) {
			found = 1;
			cr_expect_eq(perms[1], '-',
				     "READONLY mapping is writable: %s", line);
		}
	}
	fclose(f);
	cr_expect(found, "data pointer %p not in any mapping", r.data);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* The header: "The record becomes visible to consumers at the next
 * qshm_producer_commit(). Several claims may precede one commit". Two
 * claims of max_record (capacity/4 each) fit an empty ring easily. */
Test(ring_api, batched_claims_of_max_record_stay_invisible_until_commit)
{
	qshm_producer *p = t_create(t_ring, 65536, 0, 0);
	qshm_consumer *c;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	void *a, *b;
	cr_assert_eq(qshm_producer_claim(p, 16384, 16, 0, &a), 0);
	t_pattern_fill(a, 16384, 0);
	cr_assert_eq(qshm_producer_claim(p, 16384, 16, 0, &b), 0);
	struct qshm_record r;
	int err = qshm_consumer_read(c, &r, 0);
	cr_expect_eq(err, -EAGAIN,
		     "record 0 became visible before commit (read: %s)",
		     t_errname(err));
	t_pattern_fill(b, 16384, 1);
	cr_assert_eq(qshm_producer_commit(p), 0);
	qshm_consumer_close(c);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* ---------------------------------------------------------------- */
/* Permissions seen by another user                                   */

static int attach_as_nobody(const char *name, unsigned flags)
{
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(200);
		qshm_consumer *c = NULL;
		int err = qshm_consumer_attach(name, flags, &c);
		if (err == 0) {
			struct qshm_record r;
			int e2 = qshm_consumer_read(c, &r, 0);
			if (e2 != 0 || t_check_record("nobody", &r, 0, 100))
				_exit(201);
			qshm_consumer_close(c);
		}
		_exit(err == 0 ? 0 : err == -EACCES ? 1 : 202);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

Test(ring_api, other_users_read_only_as_the_mode_allows)
{
	if (geteuid() != 0) {
		cr_skip_test("needs root to become another user");
		return;
	}
	struct qshm_create_opts o = { .capacity = 4096, .mode = 0644 };
	qshm_producer *p;
	cr_assert_eq(create_with(&o, &p), 0);
	cr_assert_eq(t_publish_seq(p, 0, 100, 0, 1), 0);
	int rc = attach_as_nobody(t_ring, QSHM_CONSUMER_READONLY);
	cr_expect_eq(rc, 0, "READONLY attach to a 0644 ring as another "
			    "user: exit %d (1 = EACCES)", rc);
	rc = attach_as_nobody(t_ring, QSHM_CONSUMER_RELIABLE);
	cr_expect_eq(rc, 1, "reliable attach to a 0644 ring as another user "
			    "must be -EACCES: exit %d", rc);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);

	p = t_create(t_ring, 4096, 0, 0); /* 0600 */
	cr_assert_eq(t_publish_seq(p, 0, 100, 0, 1), 0);
	rc = attach_as_nobody(t_ring, QSHM_CONSUMER_READONLY);
	cr_expect_eq(rc, 1, "READONLY attach to a 0600 ring as another user "
			    "must be -EACCES: exit %d", rc);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* A ring closed without QSHM_CLOSE_UNLINK keeps its name; creating it again
 * needs the name free, or REPLACE_STALE (the header documents -EEXIST for
 * live rings and -QSHM_ESTALE for stale ones; a closed ring is neither). */
Test(ring_api, create_over_closed_ring)
{
	qshm_producer *p = t_create(t_ring, 4096, 0, 0);
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	uint64_t gen = info.generation;
	cr_assert_eq(qshm_producer_close(p, 0), 0);
	int err = qshm_producer_create(t_ring, NULL, &p);
	cr_expect(err == -EEXIST || err == -QSHM_ESTALE,
		  "create over a closed ring: %s", t_errname(err));
	fprintf(stderr, "create over a closed ring without REPLACE_STALE: %s "
			"(%s)\n",
		t_errname(err), qshm_last_error());
	struct qshm_create_opts o = { .flags = QSHM_CREATE_REPLACE_STALE };
	err = qshm_producer_create(t_ring, &o, &p);
	cr_assert_eq(err, 0, "REPLACE_STALE over a closed ring: %s",
		     t_errname(err));
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.generation, gen + 1);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

/* "The memory is pre-faulted": every page of a new ring is resident. */
Test(ring_api, created_ring_memory_is_prefaulted)
{
	qshm_producer *p = t_create(t_ring, 1u << 20, 0, 0);
	size_t len;
	uint8_t *m = t_map_rw(t_ring, &len);
	cr_assert_not_null(m);
	size_t pages = (len + 4095) / 4096, resident = 0;
	unsigned char *vec = malloc(pages);
	cr_assert_eq(mincore(m, len, vec), 0);
	for (size_t i = 0; i < pages; i++)
		resident += vec[i] & 1;
	free(vec);
	munmap(m, len);
	cr_expect_eq(resident, pages, "%zu of %zu pages resident", resident,
		     pages);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}
