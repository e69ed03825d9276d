/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - shared helpers for the ring tests (tests/ring/).
 *
 * Every test gets its own ring name ("rt<pid>_<test name>"), removed at the
 * start of the test (an earlier run may have crashed) and again in .fini.
 * Children forked by a test are tracked and killed in .fini; they report
 * through their exit status and write details to stderr (a cr_assert in a
 * child would hang the runner). Children also die with their parent
 * (PR_SET_PDEATHSIG) and after an alarm, so a failing test never leaks
 * processes.
 */
#ifndef QSHM_TESTS_RING_HELPERS_H
#define QSHM_TESTS_RING_HELPERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <qshm/qshm.h>

#define T_NAME_LEN 160
#define T_MAX_CHILDREN 256
#define T_MAX_EXTRA_NAMES 8

/* Exit codes of children. */
#define T_CHILD_OK 0
#define T_CHILD_FAIL 1
#define T_CHILD_SKIP 77

/* The ring name of the running test, set by t_init(). */
extern char t_ring[T_NAME_LEN];

/* Criterion fixture hooks: .init = t_init, .fini = t_fini. */
void t_init(void);
void t_fini(void);

/* Another ring name for this test ("<t_ring>_<suffix>"), unlinked at once and
 * in t_fini(). Returns a pointer to static storage (up to 8 per test). */
const char *t_extra_name(const char *suffix);

/* "/dev/shm/qshm.NAME" into buf. */
const char *t_shm_path(const char *name, char *buf, size_t n);

/* Time. */
uint64_t t_now_ns(void);
void t_sleep_ns(uint64_t ns);
#define T_MS (1000000ull)
#define T_SEC (1000000000ull)

/* Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, zeroed), visible to
 * children forked afterwards. Unmapped in t_fini(). */
void *t_shared(size_t size);

/* Process-shared barrier in memory from t_shared(). */
void t_barrier_init(pthread_barrier_t *barrier, unsigned n);

/* A gate: children and parent count arrivals; waiting has a timeout so a
 * dead peer gives a failure, not a hang. Returns 0 or -1 on timeout. */
void t_arrive(atomic_int *gate);
int t_await(atomic_int *gate, int n, uint64_t timeout_ns);

/* Forks; the child runs fn(arg) and _exit()s with its return value (it dies
 * with the parent and after alarm_s seconds, whichever is first). The child
 * is tracked and killed in t_fini() if still there. Returns the pid (the
 * parent aborts the test if fork fails). */
pid_t t_fork(int (*fn)(void *), void *arg, unsigned alarm_s);

/* Waits for a tracked child up to timeout_ns. Returns its exit code
 * (0..255), 128 + signal if killed by a signal, or -1 on timeout (the child
 * is then killed with SIGKILL and reaped). */
int t_wait(pid_t pid, uint64_t timeout_ns);

/* Kills (SIGKILL) and reaps every tracked child. */
void t_kill_children(void);

/* Forget a pid (already reaped elsewhere). */
void t_untrack(pid_t pid);

/* ---- deterministic patterns ---- */

uint64_t t_splitmix64(uint64_t *state);

/* Payload of the record with sequence number seq: a splitmix64 stream
 * seeded by seq, so every byte depends on the record. */
void t_pattern_fill(void *buf, size_t len, uint64_t seq);

/* Offset of the first byte that differs from the pattern, or -1. */
long t_pattern_mismatch(const void *buf, size_t len, uint64_t seq);

/* Prints expected and actual bytes around offset off to stderr. */
void t_pattern_dump(const char *who, const void *buf, size_t len,
		    uint64_t seq, long off);

/* Length and type derived from seq: mostly 1..1000 bytes, 1 in 64 within
 * 64 bytes of max_len. */
size_t t_len_for_seq(uint64_t seq, size_t max_len);
uint16_t t_type_for_seq(uint64_t seq);

/* Publishes record seq with t_len_for_seq/t_type_for_seq/t_pattern_fill
 * through claim + fill + commit (no commit if commit == 0). */
int t_publish_seq(qshm_producer *p, uint64_t seq, size_t max_len,
		  int64_t timeout_ns, int commit);

/* Checks a record read as record seq: seq, len, type, flags, alignment and
 * the payload pattern. On failure prints the details (who, seq, pos, len,
 * expected/actual bytes) to stderr and returns -1. */
int t_check_record(const char *who, const struct qshm_record *r,
		   uint64_t seq, size_t max_len);

/* Reads a whole file into a malloc'd buffer. Returns 0 or -errno. */
int t_read_file(const char *path, void **buf, size_t *len);

/* Maps the shm object of ring NAME read-write (MAP_SHARED), for tests that
 * craft or corrupt segments. Returns the address or NULL; *len gets the
 * size. Unmap with munmap(). */
void *t_map_rw(const char *name, size_t *len);

/* Creates a ring with opts (may be NULL); aborts the test on failure. */
qshm_producer *t_create(const char *name, uint64_t capacity,
			uint64_t max_record, uint32_t max_consumers);

/* Name of an error code for messages ("QSHM_ESTALE", "EAGAIN", "0"...). */
const char *t_errname(int err);

/* For a child process (no Criterion asserts there): attaches to ring name
 * with flags, or prints why (as who) and returns NULL. */
qshm_consumer *t_child_attach(const char *who, const char *name,
			      unsigned flags);

#endif /* QSHM_TESTS_RING_HELPERS_H */
