/*
 * torture.c - kill -9 torture: ITERATIONS runs of a producer and two
 * consumer processes (one reliable, one lossy) on a fresh ring; in each,
 * one of the three is killed with SIGKILL after a random delay (0-30 ms:
 * while it creates or attaches, claims, commits, waits or parks). Checked
 * after each run:
 *   - no consumer was ever given a torn or invented record (every record's
 *     bytes are a function of its sequence number; reliable consumers see
 *     every sequence number in order, lossy ones an increasing subset,
 *     validated);
 *   - when the producer was killed, each consumer ended with
 *     QSHM_EPRODUCERDEAD and a message, within 100 ms of the kill (the
 *     time from the kill to the consumer's return is measured);
 *   - when a consumer was killed, the producer still finished its run
 *     (a dead reliable consumer is evicted, never waited on for good) and
 *     the other consumer read to the end;
 *   - removing the stale or closed ring (as `qshm rm --stale --closed`
 *     does) leaves nothing in /dev/shm.
 * Prints the counts; exits 1 if any check failed.
 *
 * usage: torture [ITERATIONS [SEED]]   (default 1000, seed from the clock)
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <qshm/qshm.h>

#define NRECORDS 4000
#define TYPE 0x300
#define LATENCY_LIMIT_NS 100000000ull

enum { V_PRODUCER, V_RELIABLE, V_LOSSY };

/* Exit statuses of the children. */
enum {
	X_CLOSED = 0,     /* consumer read to the end; producer finished */
	X_DEAD = 10,      /* consumer: QSHM_EPRODUCERDEAD */
	X_TORN = 20,      /* consumer: a record's bytes or seq were wrong */
	X_ERROR = 30,     /* anything else */
	X_STALLED = 40,   /* producer: a claim waited past its timeout */
	X_NORING = 50,    /* consumer: the ring never appeared (its producer
			     was killed before creating it) */
};

/* Shared with the children: when each consumer returned from its last
 * read (CLOCK_MONOTONIC ns). Relaxed: read after waitpid(). */
struct shared {
	_Atomic uint64_t ended_ns[2];
};

static struct shared *sh;
static char ring[64];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static size_t len_of(uint64_t seq)
{
	return 16 + (size_t)(mix(seq) % 2000);
}

static void fill(uint8_t *b, size_t len, uint64_t seq)
{
	memcpy(b, &seq, 8);
	for (size_t i = 8; i < len; i++)
		b[i] = (uint8_t)(mix(seq) >> (i % 8 * 8)) ^ (uint8_t)i;
}

static int check(const uint8_t *b, size_t len, uint64_t seq)
{
	uint64_t s;

	if (len != len_of(seq))
		return -1;
	memcpy(&s, b, 8);
	if (s != seq)
		return -1;
	for (size_t i = 8; i < len; i++)
		if (b[i] != ((uint8_t)(mix(seq) >> (i % 8 * 8)) ^ (uint8_t)i))
			return -1;
	return 0;
}

static int producer(void)
{
	struct qshm_create_opts o = { .capacity = 65536 };
	qshm_producer *p;
	int err = qshm_producer_create(ring, &o, &p);

	if (err) {
		fprintf(stderr, "torture producer: %s\n", qshm_last_error());
		return X_ERROR;
	}
	for (uint64_t seq = 0; seq < NRECORDS; seq++) {
		void *buf;
		size_t len = len_of(seq);

		/* 5 s: far above the eviction check of a dead consumer. */
		err = qshm_producer_claim(p, len, TYPE, 5000000000ll, &buf);
		if (err == -ETIMEDOUT) {
			fprintf(stderr, "torture producer: stalled at %llu\n",
				(unsigned long long)seq);
			return X_STALLED;
		}
		if (err) {
			fprintf(stderr, "torture producer: claim: %s\n",
				qshm_last_error());
			return X_ERROR;
		}
		fill(buf, len, seq);
		qshm_producer_commit(p);
		if (seq % 512 == 0)
			usleep(1000); /* let consumers catch up and park */
	}
	qshm_producer_close(p, 0);
	return X_CLOSED;
}

static int consumer(int lossy)
{
	static uint8_t copy[4096];
	qshm_consumer *c;
	struct qshm_record rec;
	uint64_t deadline = now_ns() + 2000000000ull, next = 0;
	int err, started = 0;

	for (;;) {
		err = qshm_consumer_attach(ring, lossy ? QSHM_CONSUMER_LOSSY :
					   QSHM_CONSUMER_RELIABLE, &c);
		if (err == 0)
			break;
		if ((err != -ENOENT && err != -QSHM_ECREATING) ||
		    now_ns() > deadline) {
			/* The producer may have died before creating it. */
			atomic_store_explicit(&sh->ended_ns[lossy], now_ns(),
					      memory_order_relaxed);
			if (err == -ENOENT)
				return X_NORING;
			if (err == -QSHM_ESTALE)
				return X_DEAD;
			fprintf(stderr, "torture %s: attach: %s\n",
				lossy ? "lossy" : "reliable", qshm_last_error());
			return X_ERROR;
		}
		usleep(200);
	}
	for (;;) {
		err = lossy ? qshm_consumer_read_copy(c, copy, sizeof(copy),
						      &rec, 3000000000ll)
			    : qshm_consumer_read(c, &rec, 3000000000ll);
		if (err < 0)
			break;
		const uint8_t *data = lossy ? copy : rec.data;

		/* A reliable consumer that attached after the ring wrapped
		 * starts at the oldest record left, then sees every one. */
		if (!started && !lossy)
			next = rec.seq;
		started = 1;
		if (lossy ? rec.seq < next : rec.seq != next) {
			fprintf(stderr, "torture %s: seq %llu, expected %s%llu\n",
				lossy ? "lossy" : "reliable",
				(unsigned long long)rec.seq, lossy ? ">= " : "",
				(unsigned long long)next);
			return X_TORN;
		}
		if (check(data, rec.len, rec.seq)) {
			fprintf(stderr, "torture %s: record %llu torn\n",
				lossy ? "lossy" : "reliable",
				(unsigned long long)rec.seq);
			return X_TORN;
		}
		next = rec.seq + 1;
		if (!lossy)
			qshm_consumer_release(c);
	}
	atomic_store_explicit(&sh->ended_ns[lossy], now_ns(),
			      memory_order_relaxed);
	if (err == -QSHM_ECLOSED && (lossy || next == NRECORDS))
		return X_CLOSED;
	if (err == -QSHM_EPRODUCERDEAD) {
		/* The documented status, with its message. */
		if (!qshm_last_error()[0])
			return X_ERROR;
		return X_DEAD;
	}
	fprintf(stderr, "torture %s: read: %s (after %llu)\n",
		lossy ? "lossy" : "reliable", qshm_last_error(),
		(unsigned long long)next);
	return X_ERROR;
}

static pid_t spawn(int role)
{
	pid_t pid = fork();

	if (pid == 0) {
		alarm(20);
		_exit(role == V_PRODUCER ? producer() :
		      consumer(role == V_LOSSY));
	}
	return pid;
}

static int status_of(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFSIGNALED(st))
		return 1000 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static int remove_any(void *ctx, const struct qshm_ring_info *info)
{
	(void)ctx;
	return info->state == QSHM_RING_STALE ||
	       info->state == QSHM_RING_CLOSED;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 1000;
	unsigned seed = argc > 2 ? (unsigned)atol(argv[2]) :
				   (unsigned)now_ns();
	static const char *const who[] = { "producer", "reliable", "lossy" };
	unsigned long killed[3] = { 0 }, torn = 0, stalled = 0, errors = 0,
		      slow = 0, leftovers = 0, dead_seen = 0, noring = 0;
	uint64_t worst_ns = 0;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	srand(seed);
	printf("torture: %ld iterations, seed %u\n", iters, seed);
	for (long it = 0; it < iters; it++) {
		int victim = rand() % 3;
		unsigned delay_us = (unsigned)(rand() % 30000);
		pid_t pid[3];
		int st[3];
		uint64_t kill_ns;
		char path[128];
		struct stat sb;

		snprintf(ring, sizeof(ring), "torture%ld-%ld", (long)getpid(),
			 it);
		atomic_store(&sh->ended_ns[0], 0);
		atomic_store(&sh->ended_ns[1], 0);
		pid[V_PRODUCER] = spawn(V_PRODUCER);
		pid[V_RELIABLE] = spawn(V_RELIABLE);
		pid[V_LOSSY] = spawn(V_LOSSY);
		usleep(delay_us);
		kill_ns = now_ns();
		kill(pid[victim], SIGKILL);
		killed[victim]++;
		for (int k = 0; k < 3; k++)
			st[k] = status_of(pid[k]);
		for (int k = 0; k < 3; k++) {
			if (k == victim && st[k] == 1000 + SIGKILL)
				continue;
			if (st[k] == X_NORING && victim == V_PRODUCER) {
				noring++;
			} else if (st[k] == X_TORN) {
				torn++;
			} else if (st[k] == X_STALLED) {
				stalled++;
			} else if (st[k] == X_DEAD && victim == V_PRODUCER) {
				uint64_t end = atomic_load(&sh->ended_ns[k - 1]);
				uint64_t lat = end > kill_ns ? end - kill_ns : 0;

				dead_seen++;
				if (lat > worst_ns)
					worst_ns = lat;
				if (lat > LATENCY_LIMIT_NS) {
					slow++;
					printf("iteration %ld: %s consumer took "
					       "%.1f ms to see the producer's "
					       "death\n", it, who[k], lat / 1e6);
				}
			} else if (st[k] != X_CLOSED && !(k == victim)) {
				errors++;
				printf("iteration %ld (killed %s after %u us): "
				       "%s ended with status %d\n", it,
				       who[victim], delay_us, who[k], st[k]);
			}
		}
		/* As rm --stale --closed: remove it, then nothing is left. */
		(void)qshm_ring_remove_if(ring, remove_any, NULL, NULL);
		snprintf(path, sizeof(path), "/dev/shm/qshm.%s", ring);
		if (lstat(path, &sb) == 0) {
			struct qshm_ring_info info;

			leftovers++;
			memset(&info, 0, sizeof(info));
			qshm_ring_info(ring, &info);
			printf("iteration %ld: %s left behind (%s, %lld bytes)\n",
			       it, path, qshm_ring_state_name(info.state),
			       (long long)sb.st_size);
			unlink(path);
		}
	}
	printf("killed: producer %lu, reliable consumer %lu, lossy consumer "
	       "%lu\n", killed[0], killed[1], killed[2]);
	printf("torn or invented records delivered: %lu\n", torn);
	printf("producer stalled on a dead consumer: %lu\n", stalled);
	printf("consumers that saw their producer die: %lu, slowest %.1f ms, "
	       "over 100 ms: %lu\n", dead_seen, worst_ns / 1e6, slow);
	printf("consumers whose producer was killed before creating the "
	       "ring: %lu\n", noring);
	printf("unexpected exit statuses: %lu\n", errors);
	printf("objects left after removing stale and closed rings: %lu\n",
	       leftovers);
	return torn || stalled || slow || errors || leftovers ? 1 : 0;
}
