/*
 * test_hostile.c - whatever holds a ring's name in /dev/shm (writable by
 * every local user) is hostile input: a FIFO or a symbolic link is refused
 * without blocking and without being followed, saying what is there; a
 * ring owned by another user is not attached to unless allowed; a
 * generation read from an object about to be replaced is not trusted; an
 * invalid name is quoted in messages. The FIFO cases would hang for ever
 * with a blocking open: the suite's timeout catches that.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "../../shm/layout.h"

TestSuite(ring_hostile, .init = t_init, .fini = t_fini, .timeout = 30);

/* qshm_last_error() is "CODE: description: " then the message. */
static void expect_message(const char *want)
{
	const char *m = qshm_last_error();
	size_t n = strlen(m), w = strlen(want);

	cr_expect(n >= w && strcmp(m + n - w, want) == 0 && strchr(m, ':'),
		  "message `%s`, expected one ending `%s`", m, want);
	for (const char *p = m; *p; p++)
		cr_expect((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
			  "unprintable byte 0x%02x in `%s`", *p, m);
}

static int remove_yes(void *ctx, const struct qshm_ring_info *info)
{
	*(enum qshm_ring_state *)ctx = info->state;
	return 1;
}

/* Every way of opening the name, on an object that is not a ring. */
static void expect_refused(const char *what)
{
	struct qshm_ring_info info;
	qshm_consumer *c = NULL;
	qshm_producer *p = NULL;
	unsigned modes[] = { QSHM_CONSUMER_RELIABLE, QSHM_CONSUMER_LOSSY,
			     QSHM_CONSUMER_READONLY };
	char want[256];

	snprintf(want, sizeof(want), "'%s' is %s, not a qshm ring", t_ring,
		 what);
	for (unsigned i = 0; i < 3; i++) {
		cr_expect_eq(qshm_consumer_attach(t_ring, modes[i], &c),
			     -QSHM_ENOTQSHM);
		expect_message(want);
	}
	cr_expect_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_NOTQSHM);
	struct qshm_create_opts o = { .flags = QSHM_CREATE_REPLACE_STALE };

	cr_expect_eq(qshm_producer_create(t_ring, &o, &p), -EEXIST);
	snprintf(want, sizeof(want), "'%s' exists and is %s, not a qshm ring; "
		 "not replaced", t_ring, what);
	expect_message(want);
}

Test(ring_hostile, aFifoIsRefusedWithoutBlockingAndCanBeRemoved)
{
	char path[256];
	enum qshm_ring_state seen = QSHM_RING_LIVE;
	struct stat st;

	t_shm_path(t_ring, path, sizeof(path));
	cr_assert_eq(mkfifo(path, 0666), 0);
	expect_refused("a FIFO");
	cr_expect_eq(qshm_ring_remove_if(t_ring, remove_yes, &seen, NULL), 1);
	cr_expect_eq(seen, QSHM_RING_NOTQSHM);
	cr_expect_neq(lstat(path, &st), 0);
}

Test(ring_hostile, aSymlinkIsNotFollowedAndRemovingItLeavesItsTarget)
{
	char path[256], target[256];
	enum qshm_ring_state seen = QSHM_RING_LIVE;
	qshm_producer *p;
	struct stat st;
	const char *real = t_extra_name("real");

	/* The link points at a real, valid ring: still refused. */
	cr_assert_eq(qshm_producer_create(real, NULL, &p), 0);
	t_shm_path(t_ring, path, sizeof(path));
	t_shm_path(real, target, sizeof(target));
	cr_assert_eq(symlink(target, path), 0);
	expect_refused("a symbolic link");
	cr_expect_eq(qshm_ring_remove_if(t_ring, remove_yes, &seen, NULL), 1);
	cr_expect_eq(seen, QSHM_RING_NOTQSHM);
	cr_expect_neq(lstat(path, &st), 0, "the link is gone");
	cr_expect_eq(stat(target, &st), 0, "its target is not");
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_hostile, aDirectoryIsRefused)
{
	char path[256];

	t_shm_path(t_ring, path, sizeof(path));
	cr_assert_eq(mkdir(path, 0700), 0);
	expect_refused("a directory");
	rmdir(path);
}

/* Writes @gen into the header of ring @name (a forger's edit). */
static void forge_generation(const char *name, uint64_t gen)
{
	char path[256];
	int fd = open(t_shm_path(name, path, sizeof(path)), O_RDWR);
	uint8_t *base;

	cr_assert_geq(fd, 0);
	base = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(base, MAP_FAILED);
	memcpy(base + offsetof(struct qshm_kheader, kh_generation), &gen,
	       sizeof(gen));
	munmap(base, 4096);
	close(fd);
}

static uint64_t replace_and_get_generation(uint64_t forged)
{
	struct qshm_create_opts o = { .flags = QSHM_CREATE_REPLACE_STALE };
	struct qshm_ring_info info;
	qshm_producer *p;

	cr_assert_eq(qshm_producer_create(t_ring, NULL, &p), 0);
	cr_assert_eq(qshm_producer_close(p, 0), 0);  /* closed: replaceable */
	forge_generation(t_ring, forged);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_assert_eq(info.generation, forged);
	cr_assert_eq(qshm_producer_create(t_ring, &o, &p), 0, "%s",
		     qshm_last_error());
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	return info.generation;
}

Test(ring_hostile, aForgedGenerationNeverWrapsTheNewRingToZero)
{
	cr_expect_eq(replace_and_get_generation(5), 6);
	cr_expect_eq(replace_and_get_generation(UINT64_MAX), 1);
	cr_expect_eq(replace_and_get_generation(UINT64_MAX - 1), 1);
	cr_expect_eq(replace_and_get_generation(0), 1);
}

Test(ring_hostile, aRingOwnedByAnotherUserIsNotAttachedUnlessAllowed)
{
	char path[256], want[512];
	struct qshm_ring_info info;
	qshm_producer *p;
	qshm_consumer *c;
	const uid_t other = 65534;

	if (geteuid() != 0)
		cr_skip_test("needs root to give a ring to another user");
	cr_assert_eq(qshm_producer_create(t_ring, NULL, &p), 0);
	cr_assert_eq(chown(t_shm_path(t_ring, path, sizeof(path)), other, 0),
		     0);
	cr_expect_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &c),
		     -EACCES);
	cr_expect_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_RELIABLE, &c),
		     -EACCES);
	snprintf(want, sizeof(want), "ring '%s' is owned by uid %u", t_ring,
		 (unsigned)other);
	cr_expect(strstr(qshm_last_error(), want), "%s", qshm_last_error());
	/* A look reports on it, whoever owns it. */
	cr_expect_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_LIVE);
	/* Allowed by name: attaches. */
	cr_assert_eq(qshm_allow_owner(other), 0);
	cr_expect_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &c), 0,
		     "%s", qshm_last_error());
	qshm_consumer_close(c);
	/* Withdrawn: refused again. */
	cr_assert_eq(qshm_allow_owner(-1), 0);
	cr_expect_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &c),
		     -EACCES);
	cr_expect_eq(qshm_allow_owner(-2), -EINVAL);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_hostile, invalidNamesAreQuotedInMessages)
{
	char q[64];

	cr_expect_eq(qshm_name_check("a\x1b[2Jb"), -EINVAL);
	expect_message("ring name 'a\\x1b[2Jb': character 0x1b at 1; allowed: "
		       "A-Z a-z 0-9 . _ -");
	cr_expect_eq(qshm_name_check(".\n'"), -EINVAL);
	expect_message("ring name '.\\x0a\\'' starts with '.'");
	cr_expect_str_eq(qshm_quote("x\\\"\xff", q, sizeof(q)),
			 "x\\\\\\\"\\xff");
	cr_expect_str_eq(qshm_quote("abcdefghijkl", q, 10), "abcdef...");
}

/* ---- a creator that died while creating ---- */

static int create_and_exit(void *arg)
{
	qshm_producer *p;

	(void)arg;
	/* Exits without closing, as a creator killed just before it would
	 * have published the header (set back to CREATING below). */
	return qshm_producer_create(t_ring, NULL, &p) == 0 ? T_CHILD_OK :
							     T_CHILD_FAIL;
}

static void set_state_creating(const char *name)
{
	char path[256];
	int fd = open(t_shm_path(name, path, sizeof(path)), O_RDWR);
	uint8_t *base;
	uint32_t zero = QSHM_KSTATE_CREATING;

	cr_assert_geq(fd, 0);
	base = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(base, MAP_FAILED);
	memcpy(base + offsetof(struct qshm_kheader, kh_state), &zero,
	       sizeof(zero));
	munmap(base, 4096);
	close(fd);
}

static int remove_if_stale(void *ctx, const struct qshm_ring_info *info)
{
	(void)ctx;
	return info->state == QSHM_RING_STALE;
}

Test(ring_hostile, aDeadCreatorsHalfCreatedRingIsStale)
{
	struct qshm_create_opts o = { .flags = QSHM_CREATE_REPLACE_STALE };
	struct qshm_ring_info info;
	qshm_consumer *c;
	qshm_producer *p;
	pid_t pid;
	char want[256];

	pid = t_fork(create_and_exit, NULL, 10);
	cr_assert_eq(t_wait(pid, 10000000000ull), T_CHILD_OK);
	set_state_creating(t_ring);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_STALE);
	cr_expect_eq(info.creator_pid, pid);
	/* Consumers are told at once, not after their timeout. */
	cr_expect_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &c),
		     -QSHM_ESTALE);
	snprintf(want, sizeof(want), "ring '%s' was left half-created: its "
		 "creator (pid %d) died while creating it", t_ring, (int)pid);
	expect_message(want);
	/* rm --stale's decision removes it. */
	cr_expect_eq(qshm_ring_remove_if(t_ring, remove_if_stale, NULL, NULL),
		     1);
	/* A new producer replaces another one. */
	pid = t_fork(create_and_exit, NULL, 10);
	cr_assert_eq(t_wait(pid, 10000000000ull), T_CHILD_OK);
	set_state_creating(t_ring);
	cr_expect_eq(qshm_producer_create(t_ring, NULL, &p), -QSHM_ESTALE);
	cr_assert_eq(qshm_producer_create(t_ring, &o, &p), 0, "%s",
		     qshm_last_error());
	cr_expect_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_LIVE);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_hostile, aLiveCreatorsHalfCreatedRingIsCreating)
{
	struct qshm_ring_info info;
	qshm_producer *p;

	cr_assert_eq(qshm_producer_create(t_ring, NULL, &p), 0);
	set_state_creating(t_ring);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_CREATING);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_hostile, anEmptyObjectIsCreatingThenStale)
{
	char path[256];
	struct qshm_ring_info info;
	struct timespec old[2];
	int fd = open(t_shm_path(t_ring, path, sizeof(path)),
		      O_RDWR | O_CREAT | O_EXCL, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_CREATING, "fresh: being created");
	/* Unchanged for a minute: its creator died before sizing it. */
	clock_gettime(CLOCK_REALTIME, &old[0]);
	old[0].tv_sec -= 60;
	old[1] = old[0];
	cr_assert_eq(futimens(fd, old), 0);
	close(fd);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_STALE);
	cr_expect_eq(qshm_ring_remove_if(t_ring, remove_if_stale, NULL, NULL),
		     1);
}
