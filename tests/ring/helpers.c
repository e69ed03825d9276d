/* SPDX-License-Identifier: MIT */
/* helpers.c - shared helpers for the ring tests; see helpers.h. */
#include "helpers.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

char t_ring[T_NAME_LEN];

static char t_extra[T_MAX_EXTRA_NAMES][T_NAME_LEN];
static int t_nextra;
static pid_t t_children[T_MAX_CHILDREN];
static int t_nchildren;

#define T_MAX_SHARED 16
static struct {
	void *addr;
	size_t len;
} t_maps[T_MAX_SHARED];
static int t_nmaps;

static void t_unlink_raw(const char *name)
{
	char obj[T_NAME_LEN + 32];

	snprintf(obj, sizeof(obj), "/qshm.%.160s", name);
	shm_unlink(obj);
}

/* Removes segments left by earlier runs of these tests whose process is
 * gone ("qshm.rt<pid>_..."), so a crashed run does not leak /dev/shm. */
static void t_sweep_dead(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *s = e->d_name;
		char *end;
		long pid;

		if (strncmp(s, "qshm.rt", 7) != 0 || !isdigit((unsigned char)s[7]))
			continue;
		pid = strtol(s + 7, &end, 10);
		if (*end != '_' || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char obj[300];
		snprintf(obj, sizeof(obj), "/%s", s);
		shm_unlink(obj);
	}
	closedir(d);
}

void t_init(void)
{
	const char *tn = criterion_current_test ? criterion_current_test->name
						: "unknown";

	t_sweep_dead();
	snprintf(t_ring, sizeof(t_ring), "rt%d_%.100s", (int)getpid(), tn);
	t_unlink_raw(t_ring);
	t_nextra = 0;
	t_nchildren = 0;
	t_nmaps = 0;
}

void t_fini(void)
{
	t_kill_children();
	t_unlink_raw(t_ring);
	for (int i = 0; i < t_nextra; i++)
		t_unlink_raw(t_extra[i]);
	for (int i = 0; i < t_nmaps; i++)
		munmap(t_maps[i].addr, t_maps[i].len);
	t_nmaps = 0;
}

const char *t_extra_name(const char *suffix)
{
	cr_assert(t_nextra < T_MAX_EXTRA_NAMES, "too many extra names");
	char *n = t_extra[t_nextra++];
	snprintf(n, T_NAME_LEN, "%.100s_%.40s", t_ring, suffix);
	t_unlink_raw(n);
	return n;
}

const char *t_shm_path(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "/dev/shm/qshm.%s", name);
	return buf;
}

uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * T_SEC + (uint64_t)ts.tv_nsec;
}

void t_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / T_SEC),
			       .tv_nsec = (long)(ns % T_SEC) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void *t_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert(p != MAP_FAILED, "mmap shared: %s", strerror(errno));
	if (t_nmaps < T_MAX_SHARED) {
		t_maps[t_nmaps].addr = p;
		t_maps[t_nmaps].len = size;
		t_nmaps++;
	}
	return p;
}

void t_barrier_init(pthread_barrier_t *b, unsigned n)
{
	pthread_barrierattr_t a;

	pthread_barrierattr_init(&a);
	pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	cr_assert_eq(pthread_barrier_init(b, &a, n), 0);
	pthread_barrierattr_destroy(&a);
}

void t_arrive(atomic_int *gate)
{
	atomic_fetch_add_explicit(gate, 1, memory_order_acq_rel);
}

int t_await(atomic_int *gate, int n, uint64_t timeout_ns)
{
	uint64_t end = t_now_ns() + timeout_ns;
	unsigned spins = 0;

	while (atomic_load_explicit(gate, memory_order_acquire) < n) {
		if (t_now_ns() > end)
			return -1;
		if (++spins < 1000)
			sched_yield();
		else
			t_sleep_ns(100000);
	}
	return 0;
}

static void t_track(pid_t pid)
{
	cr_assert(t_nchildren < T_MAX_CHILDREN, "too many children");
	t_children[t_nchildren++] = pid;
}

void t_untrack(pid_t pid)
{
	for (int i = 0; i < t_nchildren; i++)
		if (t_children[i] == pid) {
			t_children[i] = t_children[--t_nchildren];
			return;
		}
}

pid_t t_fork(int (*fn)(void *), void *arg, unsigned alarm_s)
{
	pid_t parent = getpid();

	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(T_CHILD_FAIL);
		if (alarm_s)
			alarm(alarm_s);
		int rc = fn(arg);
		_exit(rc);
	}
	t_track(pid);
	return pid;
}

int t_wait(pid_t pid, uint64_t timeout_ns)
{
	uint64_t end = t_now_ns() + timeout_ns;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			t_untrack(pid);
			return -2;
		}
		if (t_now_ns() > end) {
			fprintf(stderr, "t_wait: child %d timed out, killing it\n",
				(int)pid);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			t_untrack(pid);
			return -1;
		}
		t_sleep_ns(200000);
	}
	t_untrack(pid);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "t_wait: child %d killed by signal %d\n",
			(int)pid, WTERMSIG(st));
		return 128 + WTERMSIG(st);
	}
	return -3;
}

void t_kill_children(void)
{
	for (int i = 0; i < t_nchildren; i++) {
		kill(t_children[i], SIGKILL);
		kill(t_children[i], SIGCONT);
		waitpid(t_children[i], NULL, 0);
	}
	t_nchildren = 0;
}

/* ---- patterns ---- */

uint64_t t_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t t_seed(uint64_t seq)
{
	return seq * 0xd1b54a32d192ed03ull ^ 0x5eed5eed5eed5eedull;
}

void t_pattern_fill(void *buf, size_t len, uint64_t seq)
{
	uint64_t st = t_seed(seq);
	unsigned char *b = buf;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w = t_splitmix64(&st);
		memcpy(b + i, &w, 8);
	}
	if (i < len) {
		uint64_t w = t_splitmix64(&st);
		memcpy(b + i, &w, len - i);
	}
}

long t_pattern_mismatch(const void *buf, size_t len, uint64_t seq)
{
	uint64_t st = t_seed(seq);
	const unsigned char *b = buf;
	size_t i = 0;

	for (; i < len; i += 8) {
		uint64_t w = t_splitmix64(&st), got = 0;
		size_t n = len - i < 8 ? len - i : 8;
		memcpy(&got, b + i, n);
		if (n < 8)
			w &= (1ull << (8 * n)) - 1;
		if (got != w) {
			const unsigned char *e = (const unsigned char *)&w;
			const unsigned char *g = (const unsigned char *)&got;
			for (size_t k = 0; k < n; k++)
				if (e[k] != g[k])
					return (long)(i + k);
		}
	}
	return -1;
}

void t_pattern_dump(const char *who, const void *buf, size_t len,
		    uint64_t seq, long off)
{
	unsigned char *exp = malloc(len ? len : 1);
	const unsigned char *got = buf;
	size_t from, to;

	if (!exp)
		return;
	t_pattern_fill(exp, len, seq);
	from = off > 16 ? (size_t)off - 16 : 0;
	from &= ~(size_t)15;
	to = from + 48 < len ? from + 48 : len;
	fprintf(stderr, "%s: payload mismatch at offset %ld of %zu (seq %llu)\n",
		who, off, len, (unsigned long long)seq);
	for (size_t row = from; row < to; row += 16) {
		fprintf(stderr, "  %6zu expected:", row);
		for (size_t k = row; k < row + 16 && k < to; k++)
			fprintf(stderr, " %02x", exp[k]);
		fprintf(stderr, "\n  %6zu actual:  ", row);
		for (size_t k = row; k < row + 16 && k < to; k++)
			fprintf(stderr, " %02x", got[k]);
		fprintf(stderr, "\n");
	}
	free(exp);
}

size_t t_len_for_seq(uint64_t seq, size_t max_len)
{
	uint64_t st = seq ^ 0x1e55ull;
	uint64_t h = t_splitmix64(&st);
	size_t len;

	if (h % 64 == 0)
		len = max_len - (size_t)((h >> 8) % 64); /* near the maximum */
	else
		len = 1 + (size_t)((h >> 8) % 1000);
	if (len > max_len)
		len = max_len;
	if (len < 1)
		len = 1;
	return len;
}

uint16_t t_type_for_seq(uint64_t seq)
{
	return (uint16_t)(QSHM_TYPE_USER_MIN + seq % (QSHM_TYPE_MAX - 15));
}

int t_publish_seq(qshm_producer *p, uint64_t seq, size_t max_len,
		  int64_t timeout_ns, int commit)
{
	size_t len = t_len_for_seq(seq, max_len);
	void *buf = NULL;
	int err = qshm_producer_claim(p, len, t_type_for_seq(seq), timeout_ns,
				      &buf);

	if (err)
		return err;
	t_pattern_fill(buf, len, seq);
	if (commit)
		err = qshm_producer_commit(p);
	return err;
}

int t_check_record(const char *who, const struct qshm_record *r,
		   uint64_t seq, size_t max_len)
{
	int bad = 0;

	if (r->seq != seq) {
		fprintf(stderr, "%s: seq %llu, expected %llu (pos %llu len %u)\n",
			who, (unsigned long long)r->seq,
			(unsigned long long)seq, (unsigned long long)r->pos,
			r->len);
		return -1;
	}
	if (max_len) {
		size_t el = t_len_for_seq(seq, max_len);
		if (r->len != el) {
			fprintf(stderr, "%s: seq %llu pos %llu: len %u, expected %zu\n",
				who, (unsigned long long)seq,
				(unsigned long long)r->pos, r->len, el);
			bad = 1;
		}
		if (r->type != t_type_for_seq(seq)) {
			fprintf(stderr, "%s: seq %llu pos %llu: type %u, expected %u\n",
				who, (unsigned long long)seq,
				(unsigned long long)r->pos, r->type,
				t_type_for_seq(seq));
			bad = 1;
		}
	}
	if (r->item_len != 0) {
		fprintf(stderr, "%s: seq %llu: flags %u, expected 0\n", who,
			(unsigned long long)seq, r->item_len);
		bad = 1;
	}
	if (r->data == NULL || ((uintptr_t)r->data & 15) != 0) {
		fprintf(stderr, "%s: seq %llu: data %p not 16-byte aligned\n",
			who, (unsigned long long)seq, r->data);
		return -1;
	}
	if (bad)
		return -1;
	long off = t_pattern_mismatch(r->data, r->len, seq);
	if (off >= 0) {
		fprintf(stderr, "%s: seq %llu pos %llu len %u type %u:\n", who,
			(unsigned long long)seq, (unsigned long long)r->pos,
			r->len, r->type);
		t_pattern_dump(who, r->data, r->len, seq, off);
		return -1;
	}
	return 0;
}

int t_read_file(const char *path, void **buf, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	size_t done = 0;
	while (done < *len) {
		ssize_t r = pread(fd, (char *)*buf + done, *len - done,
				  (off_t)done);
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;
			free(*buf);
			close(fd);
			return -e;
		}
		done += (size_t)r;
	}
	close(fd);
	return 0;
}

void *t_map_rw(const char *name, size_t *len)
{
	char path[T_NAME_LEN + 32];
	struct stat st;
	int fd = open(t_shm_path(name, path, sizeof(path)), O_RDWR);
	void *p;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	*len = (size_t)st.st_size;
	return p;
}

qshm_producer *t_create(const char *name, uint64_t capacity,
			uint64_t max_record, uint32_t max_consumers)
{
	struct qshm_create_opts o = { .capacity = capacity,
				      .max_record = max_record,
				      .max_consumers = max_consumers };
	qshm_producer *p = NULL;
	int err = qshm_producer_create(name, &o, &p);

	cr_assert_eq(err, 0, "qshm_producer_create(%s, cap %llu, max %llu): %s (%s)",
		     name, (unsigned long long)capacity,
		     (unsigned long long)max_record, t_errname(err),
		     qshm_last_error());
	cr_assert_not_null(p);
	return p;
}

qshm_consumer *t_child_attach(const char *who, const char *name,
			      unsigned flags)
{
	qshm_consumer *c = NULL;
	int err = qshm_consumer_attach(name, flags, &c);

	if (err) {
		fprintf(stderr, "%s: attach %s: %s (%s)\n", who, name,
			t_errname(err), qshm_last_error());
		return NULL;
	}
	return c;
}

const char *t_errname(int err)
{
	static __thread char buf[32];

	if (err > 0)
		err = -err;
	switch (-err) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case EAGAIN: return "EAGAIN";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EINTR: return "EINTR";
	case EACCES: return "EACCES";
	case ENOMEM: return "ENOMEM";
	case EMSGSIZE: return "EMSGSIZE";
	case EPERM: return "EPERM";
	case QSHM_ENOTQSHM: return "QSHM_ENOTQSHM";
	case QSHM_EVERSION: return "QSHM_EVERSION";
	case QSHM_ELAYOUT: return "QSHM_ELAYOUT";
	case QSHM_ECORRUPT: return "QSHM_ECORRUPT";
	case QSHM_ECREATING: return "QSHM_ECREATING";
	case QSHM_ESTALE: return "QSHM_ESTALE";
	case QSHM_ECLOSED: return "QSHM_ECLOSED";
	case QSHM_EPRODUCERDEAD: return "QSHM_EPRODUCERDEAD";
	case QSHM_EOVERRUN: return "QSHM_EOVERRUN";
	case QSHM_EEVICTED: return "QSHM_EEVICTED";
	case QSHM_ENOSLOT: return "QSHM_ENOSLOT";
	case QSHM_ETOOBIG: return "QSHM_ETOOBIG";
	default:
		snprintf(buf, sizeof(buf), "error %d", err);
		return buf;
	}
}
