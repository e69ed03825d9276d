/* SPDX-License-Identifier: MIT */
/*
 * test_crafted.c - attach and qshm_ring_info() on segments crafted by hand:
 * foreign objects, objects still being created, and real rings with one
 * header field or record header changed through a separate RW mapping.
 * White box: the field offsets come from shm/layout.h, so these tests
 * follow the layout when it changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "../../shm/layout.h"

TestSuite(ring_crafted, .init = t_init, .fini = t_fini, .timeout = 30);

/* Creates /dev/shm/qshm.<t_ring> by hand with len bytes of content. */
static void craft_object(const void *content, size_t len)
{
	char path[256];
	int fd = open(t_shm_path(t_ring, path, sizeof(path)),
		      O_CREAT | O_EXCL | O_RDWR, 0600);
	cr_assert(fd >= 0, "create %s: %s", path, strerror(errno));
	if (len) {
		cr_assert_eq(ftruncate(fd, (off_t)len), 0);
		if (content)
			cr_assert_eq(pwrite(fd, content, len, 0), (ssize_t)len);
	}
	close(fd);
}

static void expect_attach_fails(int want, enum qshm_ring_state want_state,
				const char *what)
{
	unsigned flags[] = { 0, QSHM_CONSUMER_LOSSY, QSHM_CONSUMER_READONLY };
	for (int i = 0; i < 3; i++) {
		qshm_consumer *c = NULL;
		int err = qshm_consumer_attach(t_ring, flags[i], &c);
		cr_expect_eq(err, want, "%s, flags 0x%x: got %s, want %s (%s)",
			     what, flags[i], t_errname(err), t_errname(want),
			     qshm_last_error());
		if (err == 0)
			qshm_consumer_close(c);
		else
			cr_expect_null(c);
	}
	struct qshm_ring_info info;
	memset(&info, 0, sizeof(info));
	int err = qshm_ring_info(t_ring, &info);
	cr_expect_eq(err, 0, "%s: qshm_ring_info: %s", what, t_errname(err));
	cr_expect_eq(info.state, want_state, "%s: state %s, want %s", what,
		     qshm_ring_state_name(info.state),
		     qshm_ring_state_name(want_state));
}

Test(ring_crafted, garbage_object_gives_enotqshm)
{
	static unsigned char junk[65536];
	uint64_t st = 42;
	for (size_t i = 0; i < sizeof(junk); i += 8) {
		uint64_t w = t_splitmix64(&st);
		memcpy(junk + i, &w, 8);
	}
	craft_object(junk, sizeof(junk));
	expect_attach_fails(-QSHM_ENOTQSHM, QSHM_RING_NOTQSHM, "garbage");
}

Test(ring_crafted, small_text_object_gives_enotqshm)
{
	const char text[] = "hello, I am not a ring\n";
	craft_object(text, sizeof(text));
	expect_attach_fails(-QSHM_ENOTQSHM, QSHM_RING_NOTQSHM, "23-byte text");
}

/* Between shm_open(O_CREAT) and ftruncate the object has size 0: a creator
 * is at work. */
Test(ring_crafted, zero_length_object_gives_ecreating)
{
	craft_object(NULL, 0);
	expect_attach_fails(-QSHM_ECREATING, QSHM_RING_CREATING, "size 0");
}

/* After ftruncate and before the header is published the object is all
 * zeros: still being created. */
Test(ring_crafted, all_zero_object_gives_ecreating)
{
	craft_object(NULL, 1u << 20);
	expect_attach_fails(-QSHM_ECREATING, QSHM_RING_CREATING, "all zeros");
}

/* ---------------------------------------------------------------- */
/* Real rings with one field changed                                  */

struct crafted {
	qshm_producer *p;
	uint8_t *m;
	size_t len;
	struct qshm_kheader *h;
};

/* A real ring with a few records; the producer is closed (so that the
 * producer's own process does not matter) unless keep_producer. */
static struct crafted make_ring(int keep_producer)
{
	struct crafted c = { 0 };
	c.p = t_create(t_ring, 65536, 4096, 8);
	for (uint64_t s = 0; s < 20; s++)
		cr_assert_eq(t_publish_seq(c.p, s, 4096, 0, 1), 0);
	if (!keep_producer) {
		cr_assert_eq(qshm_producer_close(c.p, 0), 0);
		c.p = NULL;
	}
	c.m = t_map_rw(t_ring, &c.len);
	cr_assert_not_null(c.m);
	c.h = (struct qshm_kheader *)c.m;
	cr_assert_eq(c.h->kh_magic, QSHM_MAGIC, "layout.h out of date?");
	return c;
}

static void done_ring(struct crafted *c)
{
	munmap(c->m, c->len);
	if (c->p)
		qshm_producer_close(c->p, 0);
}

/* Attaching a sane ring works (so the failures below are the field's). */
Test(ring_crafted, untouched_ring_attaches)
{
	struct crafted c = make_ring(0);
	qshm_consumer *k;
	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &k), 0, "%s",
		     qshm_last_error());
	struct qshm_record r;
	for (uint64_t s = 0; s < 20; s++) {
		cr_assert_eq(qshm_consumer_read(k, &r, 0), 0);
		cr_expect_eq(t_check_record("c", &r, s, 4096), 0);
	}
	cr_expect_eq(qshm_consumer_read(k, &r, 0), -QSHM_ECLOSED);
	qshm_consumer_close(k);
	done_ring(&c);
}

Test(ring_crafted, flipped_magic_gives_enotqshm)
{
	struct crafted c = make_ring(0);
	for (int byte = 0; byte < 8; byte++) {
		c.m[byte] ^= 0x20;
		expect_attach_fails(-QSHM_ENOTQSHM, QSHM_RING_NOTQSHM, "magic");
		c.m[byte] ^= 0x20;
	}
	done_ring(&c);
}

Test(ring_crafted, other_format_major_gives_eversion_with_both_versions)
{
	struct crafted c = make_ring(0);
	c.h->kh_format_major = 42;
	c.h->kh_format_minor = 7;
	expect_attach_fails(-QSHM_EVERSION, QSHM_RING_VERSION, "major 42");
	qshm_consumer *k;
	cr_expect_eq(qshm_consumer_attach(t_ring, 0, &k), -QSHM_EVERSION);
	const char *msg = qshm_last_error();
	char lib[32];
	snprintf(lib, sizeof(lib), "%d.%d", QSHM_FORMAT_MAJOR,
		 QSHM_FORMAT_MINOR);
	cr_expect(strstr(msg, "42.7") != NULL && strstr(msg, lib) != NULL,
		  "message must give both versions (42.7 and %s): \"%s\"", lib,
		  msg);
	cr_expect(strstr(msg, t_ring) != NULL, "message must name the ring: "
					       "\"%s\"", msg);
	struct qshm_ring_info info;
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.format_major, 42);
	cr_expect_eq(info.format_minor, 7);
	done_ring(&c);
}

Test(ring_crafted, other_layout_word_gives_elayout)
{
	struct crafted c = make_ring(0);
	uint32_t orig = c.h->kh_layout;
	uint32_t bad[] = { orig ^ 0x0c /* 4-byte pointers */,
			   (orig & ~0xff00u) | (128u << 8) /* 128 B lines */,
			   orig ^ (1u << 24) /* byte order */ };
	for (int i = 0; i < 3; i++) {
		c.h->kh_layout = bad[i];
		qshm_consumer *k = NULL;
		int err = qshm_consumer_attach(t_ring, 0, &k);
		cr_expect_eq(err, -QSHM_ELAYOUT, "layout 0x%x: %s (%s)", bad[i],
			     t_errname(err), qshm_last_error());
		if (!err)
			qshm_consumer_close(k);
	}
	c.h->kh_layout = orig;
	done_ring(&c);
}

Test(ring_crafted, header_state_creating_gives_ecreating)
{
	struct crafted c = make_ring(0);
	atomic_store(&c.h->kh_state, QSHM_KSTATE_CREATING);
	expect_attach_fails(-QSHM_ECREATING, QSHM_RING_CREATING, "state 0");
	done_ring(&c);
}

Test(ring_crafted, header_state_garbage_is_refused)
{
	struct crafted c = make_ring(0);
	atomic_store(&c.h->kh_state, 0x12345678u);
	qshm_consumer *k = NULL;
	int err = qshm_consumer_attach(t_ring, 0, &k);
	cr_expect(err == -QSHM_ECORRUPT || err == -QSHM_ENOTQSHM,
		  "state 0x12345678: %s", t_errname(err));
	if (!err)
		qshm_consumer_close(k);
	done_ring(&c);
}

/* Each change makes a header field disagree with the object or itself. */
struct field_case {
	const char *what;
	size_t off;
	int width; /* 4 or 8 */
	uint64_t value;
};

static void set_field(uint8_t *m, size_t off, int width, uint64_t v)
{
	if (width == 4) {
		uint32_t x = (uint32_t)v;
		memcpy(m + off, &x, 4);
	} else {
		memcpy(m + off, &v, 8);
	}
}

Test(ring_crafted, inconsistent_header_fields_give_ecorrupt)
{
	struct crafted c = make_ring(0);
	uint8_t saved[256];
	memcpy(saved, c.m, sizeof(saved));
	const uint64_t size = c.len, cap = c.h->kh_capacity,
		       off_data = c.h->kh_off_data;
#define F(field) offsetof(struct qshm_kheader, field)
	struct field_case cases[] = {
		{ "capacity not a power of two", F(kh_capacity), 8, cap + 16 },
		{ "capacity twice the real one", F(kh_capacity), 8, cap * 2 },
		{ "capacity 0", F(kh_capacity), 8, 0 },
		{ "capacity 2^63", F(kh_capacity), 8, 1ull << 63 },
		{ "capacity below 4096", F(kh_capacity), 8, 2048 },
		{ "seg_size larger than the object", F(kh_seg_size), 8,
		  size + 4096 },
		{ "seg_size smaller than the object", F(kh_seg_size), 8,
		  size - 4096 },
		{ "off_data past the end", F(kh_off_data), 8, size },
		{ "off_data misaligned", F(kh_off_data), 8, off_data + 8 },
		{ "off_data inside the slots", F(kh_off_data), 8, 768 },
		{ "off_data huge", F(kh_off_data), 8, UINT64_MAX - 4095 },
		{ "off_slots past the end", F(kh_off_slots), 8, size },
		{ "off_slots overlapping the header", F(kh_off_slots), 8, 64 },
		{ "off_prod past the end", F(kh_off_prod), 8, size + 256 },
		{ "off_wake misaligned", F(kh_off_wake), 8, 386 },
		{ "off_stats past the end", F(kh_off_stats), 8, UINT64_MAX },
		{ "max_consumers beyond the table", F(kh_max_consumers), 4,
		  1024 },
		{ "max_consumers 0", F(kh_max_consumers), 4, 0 },
		{ "max_consumers huge", F(kh_max_consumers), 4, 0xffffffffu },
		{ "max_record above capacity/2-64", F(kh_max_record), 8,
		  cap / 2 },
		{ "max_record 0", F(kh_max_record), 8, 0 },
		{ "max_record huge", F(kh_max_record), 8, UINT64_MAX },
		{ "header_size wrong", F(kh_header_size), 4, 128 },
		{ "slot_size wrong", F(kh_slot_size), 4, 64 },
		{ "slot_size huge", F(kh_slot_size), 4, 0x80000000u },
	};
#undef F
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_field(c.m, cases[i].off, cases[i].width, cases[i].value);
		expect_attach_fails(-QSHM_ECORRUPT, QSHM_RING_CORRUPT,
				    cases[i].what);
		memcpy(c.m, saved, sizeof(saved));
	}
	/* And the restored header is fine again. */
	qshm_consumer *k;
	cr_expect_eq(qshm_consumer_attach(t_ring, 0, &k), 0, "%s",
		     qshm_last_error());
	if (k)
		qshm_consumer_close(k);
	done_ring(&c);
}

Test(ring_crafted, truncated_object_gives_ecorrupt)
{
	struct crafted c = make_ring(0);
	size_t len = c.len;
	done_ring(&c);
	char path[256];
	t_shm_path(t_ring, path, sizeof(path));
	size_t sizes[] = { len - 4096, len / 2, 4096, 300, 100, 8 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cr_assert_eq(truncate(path, (off_t)sizes[i]), 0);
		char what[64];
		snprintf(what, sizeof(what), "truncated to %zu", sizes[i]);
		qshm_consumer *k = NULL;
		int err = qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY,
					       &k);
		/* A prefix too short to hold the magic is not recognisable. */
		if (sizes[i] >= 256)
			cr_expect_eq(err, -QSHM_ECORRUPT, "%s: %s", what,
				     t_errname(err));
		else
			cr_expect(err == -QSHM_ECORRUPT ||
					  err == -QSHM_ENOTQSHM ||
					  err == -QSHM_ECREATING,
				  "%s: %s", what, t_errname(err));
		if (!err)
			qshm_consumer_close(k);
		struct qshm_ring_info info;
		cr_expect_eq(qshm_ring_info(t_ring, &info), 0, "%s", what);
	}
}

/* ---------------------------------------------------------------- */
/* Record headers                                                     */

/* Offset in the object of the record header of the first record. */
static struct qshm_krec *first_record(struct crafted *c)
{
	struct qshm_kprod *kp = (struct qshm_kprod *)(c->m + c->h->kh_off_prod);
	uint64_t head = atomic_load(&kp->kp_head_pos);
	return (struct qshm_krec *)(c->m + c->h->kh_off_data +
				    (head & (c->h->kh_capacity - 1)));
}

static int read_all(qshm_consumer *k, uint64_t *n)
{
	struct qshm_record r;
	int err;
	*n = 0;
	while ((err = qshm_consumer_read(k, &r, 0)) == 0) {
		volatile uint8_t sum = 0;
		for (uint32_t i = 0; i < r.len; i++)
			sum += ((const uint8_t *)r.data)[i];
		qshm_consumer_release(k);
		(*n)++;
		if (*n > 1000)
			break;
	}
	return err;
}

Test(ring_crafted, record_length_above_max_record_gives_ecorrupt)
{
	struct crafted c = make_ring(0);
	struct qshm_krec *kr = first_record(&c);
	cr_assert_eq(kr->kr_commit ^ c.h->kh_seq_key, 0,
		     "first record header not where expected");
	uint32_t bad[] = { 4097, 65536, 0x7fffffffu, 0xffffffffu, 0 };
	for (int i = 0; i < 5; i++) {
		unsigned flags[] = { 0, QSHM_CONSUMER_LOSSY,
				     QSHM_CONSUMER_READONLY };
		for (int f = 0; f < 3; f++) {
			uint32_t orig = kr->kr_len;
			qshm_consumer *k;
			cr_assert_eq(qshm_consumer_attach(t_ring, flags[f], &k),
				     0);
			kr->kr_len = bad[i];
			uint64_t n;
			int err = read_all(k, &n);
			cr_expect_eq(err, -QSHM_ECORRUPT,
				     "record len %u, flags 0x%x: read gave %s "
				     "after %llu records",
				     bad[i], flags[f], t_errname(err),
				     (unsigned long long)n);
			kr->kr_len = orig;
			qshm_consumer_close(k);
		}
	}
	done_ring(&c);
}

Test(ring_crafted, record_type_below_user_min_is_never_returned)
{
	struct crafted c = make_ring(0);
	struct qshm_krec *kr = first_record(&c);
	for (uint16_t t = 1; t < QSHM_TYPE_USER_MIN; t++) {
		kr->kr_type = t;
		qshm_consumer *k;
		cr_assert_eq(qshm_consumer_attach(t_ring, 0, &k), 0);
		struct qshm_record r;
		int err = qshm_consumer_read(k, &r, 0);
		if (err == 0)
			cr_expect_geq(r.type, QSHM_TYPE_USER_MIN,
				      "a record of reserved type %u was "
				      "returned",
				      t);
		else
			cr_expect_eq(err, -QSHM_ECORRUPT, "type %u: %s", t,
				     t_errname(err));
		qshm_consumer_close(k);
	}
	done_ring(&c);
}

Test(ring_crafted, write_position_beyond_capacity_is_refused)
{
	struct crafted c = make_ring(0);
	struct qshm_kprod *kp = (struct qshm_kprod *)(c.m + c.h->kh_off_prod);
	uint64_t wp = atomic_load(&kp->kp_write_pos);
	uint64_t hp = atomic_load(&kp->kp_head_pos);
	struct {
		const char *what;
		uint64_t wp, hp;
	} cases[] = {
		{ "write_pos 3 capacities ahead of head", hp + 3 * 65536, hp },
		{ "head after write_pos", wp, wp + 16 },
		{ "write_pos misaligned", wp + 3, hp },
		{ "write_pos near 2^64", UINT64_MAX - 15, hp },
	};
	for (int i = 0; i < 4; i++) {
		atomic_store(&kp->kp_write_pos, cases[i].wp);
		atomic_store(&kp->kp_head_pos, cases[i].hp);
		unsigned flags[] = { 0, QSHM_CONSUMER_LOSSY,
				     QSHM_CONSUMER_READONLY };
		for (int f = 0; f < 3; f++) {
			qshm_consumer *k = NULL;
			int err = qshm_consumer_attach(t_ring, flags[f], &k);
			uint64_t n = 0;
			if (err == 0) {
				err = read_all(k, &n);
				qshm_consumer_close(k);
			}
			cr_expect(err == -QSHM_ECORRUPT ||
					  (err == -QSHM_ECLOSED && n <= 20),
				  "%s, flags 0x%x: %s after %llu records",
				  cases[i].what, flags[f], t_errname(err),
				  (unsigned long long)n);
		}
		atomic_store(&kp->kp_write_pos, wp);
		atomic_store(&kp->kp_head_pos, hp);
	}
	done_ring(&c);
}

/* ---------------------------------------------------------------- */
/* Positions that are not record boundaries                           */

#include <signal.h>
#include <sys/wait.h>

struct guard_case {
	unsigned flags;
	uint64_t head, write; /* absolute positions to plant */
};

/* In a child: put a PROT_NONE page where the next mapping will end, attach
 * (the ring's mapping then ends right at the guard), read once. Exit 0 if
 * read gave an error or an in-bounds record, 77 if the guard could not be
 * placed, or die of SIGSEGV if the library read past the data area. */
static int guarded_read(const struct guard_case *g)
{
	pid_t pid = fork();
	if (pid == 0) {
		size_t len = 0;
		uint8_t *m = t_map_rw(t_ring, &len);
		if (!m)
			_exit(2);
		munmap(m, len);
		/* Reserve a hole of len + one page, free it, and keep a
		 * guard page at its top: the kernel's next top-down mmap of
		 * len bytes lands right below the guard. */
		uint8_t *hole = mmap(NULL, len + 4096, PROT_NONE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (hole == MAP_FAILED)
			_exit(2);
		munmap(hole, len);
		qshm_consumer *c;
		int err = qshm_consumer_attach(t_ring, g->flags, &c);
		if (err)
			_exit(0); /* refused at attach: fine */
		/* Is the mapping right below the guard? */
		FILE *f = fopen("/proc/self/maps", "r");
		char line[512], path[256];
		int placed = 0;
		t_shm_path(t_ring, path, sizeof(path));
		while (f && fgets(line, sizeof(line), f)) {
			unsigned long lo, hi;
			if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
			    strstr(line, path) &&
			    hi == (unsigned long)(hole + len))
				placed = 1;
		}
		if (f)
			fclose(f);
		if (!placed)
			_exit(77);
		struct qshm_record r;
		err = qshm_consumer_read(c, &r, 0);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

Test(ring_crafted, positions_off_record_boundaries_never_read_past_the_data_area)
{
	struct crafted c = make_ring(0);
	struct qshm_kprod *kp = (struct qshm_kprod *)(c.m + c.h->kh_off_prod);
	const uint64_t cap = c.h->kh_capacity;
	uint64_t wp = atomic_load(&kp->kp_write_pos);
	uint64_t hp = atomic_load(&kp->kp_head_pos);
	struct guard_case cases[] = {
		/* Oldest record 8 bytes before the end of the data area: its
		 * 16-byte header would cross the end. */
		{ QSHM_CONSUMER_RELIABLE, cap - 8, cap + 64 },
		{ QSHM_CONSUMER_LOSSY, cap - 8, cap + 64 },
		{ QSHM_CONSUMER_READONLY, cap - 8, cap + 64 },
		{ QSHM_CONSUMER_READONLY, cap - 1, cap + 64 },
		/* Control: the real positions read fine with the guard. */
		{ QSHM_CONSUMER_READONLY, hp, wp },
	};
	int crashed = 0, unplaced = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		atomic_store(&kp->kp_head_pos, cases[i].head);
		atomic_store(&kp->kp_write_pos, cases[i].write);
		int rc = guarded_read(&cases[i]);
		fprintf(stderr, "positions: flags 0x%x head %llu write %llu: "
				"%s\n",
			cases[i].flags, (unsigned long long)cases[i].head,
			(unsigned long long)cases[i].write,
			rc == 0 ? "ok" : rc == 77 ? "guard not placed"
			: rc == 128 + SIGSEGV ? "SIGSEGV" : "failed");
		if (rc == 77) {
			unplaced++;
			continue;
		}
		cr_expect_eq(rc, 0,
			     "flags 0x%x, head %llu, write %llu (capacity "
			     "%llu): the consumer %s (exit %d)",
			     cases[i].flags,
			     (unsigned long long)cases[i].head,
			     (unsigned long long)cases[i].write,
			     (unsigned long long)cap,
			     rc == 128 + SIGSEGV ? "read past the end of its "
						   "mapping (SIGSEGV)"
						 : "failed",
			     rc);
		crashed += rc != 0;
	}
	atomic_store(&kp->kp_write_pos, wp);
	atomic_store(&kp->kp_head_pos, hp);
	if (unplaced)
		fprintf(stderr, "positions: %d of 5 cases could not place the "
				"guard page\n", unplaced);
	cr_expect_lt(unplaced, 5, "the guard page could never be placed");
	done_ring(&c);
}
