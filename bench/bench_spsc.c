/* SPDX-License-Identifier: MIT */
/*
 * bench_spsc.c - a minimal single-producer single-consumer ring in a named
 * POSIX shm object: the baseline qshm's one-way throughput is held
 * against. Fixed-size slots (64 B, 4 KiB, 64 KiB or 1 MiB, no record
 * header), head and tail on their own cache lines, each side caching the
 * other's index and publishing its own only every batch of slots
 * (BENCH_SPSC_BATCH, or a quarter of the ring when that is less) or when
 * it must wait. Same capacity in bytes as the qshm ring it is
 * compared with (bench_tput_capacity), same payload code, same CPUs, same
 * timing (time-boxed, per chunk, on the consumer).
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define BENCH_SPSC_BATCH 32u
#define BENCH_SPSC_HDR   4096u /* slots start on their own page */

struct bench_spsc_hdr {
	/* Next slot the producer fills; written by the producer only. */
	_Alignas(128) _Atomic uint64_t tail;
	/* Next slot the consumer reads; written by the consumer only. */
	_Alignas(128) _Atomic uint64_t head;
	/* Set by the producer after its last tail store: no more slots. */
	_Alignas(128) _Atomic uint32_t closed;
};

struct bench_spsc {
	struct bench_spsc_hdr *hdr;
	unsigned char *slots;
	uint64_t nslots;      /* power of two */
	uint64_t batch;       /* slots per published index (power of 2) */
	size_t slot;          /* bytes per slot = payload bytes */
	size_t map_len;
	int single_cpu;
	const struct bench_cfg *cfg;
	char path[128];
};

/* Producer: fills slots until the consumer has seen enough (ctl->stop),
 * then closes. Inlined into callers with a constant slot size. */
static inline void bench_spsc_produce(struct bench_spsc *r, size_t slot,
				      struct bench_ctl *ctl)
{
	struct bench_spsc_hdr *h = r->hdr;
	uint64_t mask = r->nslots - 1, tail = 0, head_cache = 0, published = 0;
	uint64_t every = bench_tick_every(slot);

	for (uint64_t i = 0;; i++) {
		if (i % every == 0 && bench_stop_seen(ctl))
			break;
		if (tail - head_cache == r->nslots) {
			if (published != tail) {
				/* Release: the slots' bytes before the index;
				 * pairs with the consumer's acquire of tail. */
				atomic_store_explicit(&h->tail, tail,
						      memory_order_release);
				published = tail;
			}
			/* Acquire: pairs with the consumer's release of
			 * head; its reads of those slots are done. */
			while ((head_cache = atomic_load_explicit(
					&h->head, memory_order_acquire)) +
				       r->nslots == tail)
				bench_relax(r->single_cpu);
		}
		bench_payload_write(r->slots + (tail & mask) * slot, slot, i);
		tail++;
		if ((tail & (r->batch - 1)) == 0) {
			/* Release: pairs with the consumer's acquire. */
			atomic_store_explicit(&h->tail, tail,
					      memory_order_release);
			published = tail;
		}
	}
	atomic_store_explicit(&h->tail, tail, memory_order_release);
	/* Release: after the last tail; the consumer that sees closed and
	 * then reloads tail (acquire) finds every slot. */
	atomic_store_explicit(&h->closed, 1, memory_order_release);
}

/* Consumer: reads every word of every record, checks the sequence, times
 * the stream; returns 0 at the producer's close. */
static inline int bench_spsc_consume(struct bench_spsc *r, size_t slot,
				     struct bench_ctl *ctl)
{
	struct bench_spsc_hdr *h = r->hdr;
	uint64_t mask = r->nslots - 1, head = 0, tail_cache = 0, released = 0;
	uint64_t sink = 0, every = bench_tick_every(slot);
	struct bench_tclock *tc = malloc(sizeof *tc);
	int timing = 1;

	if (!tc) {
		bench_errf(ctl->err, "spsc: out of memory");
		return -1;
	}
	bench_tclock_init(tc, r->cfg);

	for (uint64_t i = 0;; i++) {
		if (head == tail_cache) {
			if (released != head) {
				/* Release: our reads of the slots before the
				 * producer may reuse them; pairs with its
				 * acquire of head. */
				atomic_store_explicit(&h->head, head,
						      memory_order_release);
				released = head;
			}
			/* Acquire: pairs with the producer's release of
			 * tail; the slots' bytes are visible. */
			while ((tail_cache = atomic_load_explicit(
					&h->tail, memory_order_acquire)) == head) {
				/* Acquire: pairs with the release of closed;
				 * the tail reloaded after it is the last. */
				if (atomic_load_explicit(&h->closed,
							 memory_order_acquire) &&
				    atomic_load_explicit(&h->tail,
							 memory_order_acquire) ==
					    head)
					goto done;
				bench_relax(r->single_cpu);
			}
		}
		uint64_t seq = bench_payload_read(
			r->slots + (head & mask) * slot, slot, &sink);
		if (seq != i) {
			bench_errf(ctl->err, "spsc: record %llu has seq %llu",
				   (unsigned long long)i,
				   (unsigned long long)seq);
			free(tc);
			return -1;
		}
		head++;
		if ((head & (r->batch - 1)) == 0) {
			atomic_store_explicit(&h->head, head,
					      memory_order_release);
			released = head;
		}
		if (timing && (i + 1) % every == 0 &&
		    bench_tclock_tick(tc, every)) {
			timing = 0;
			bench_stop_post(ctl);
		}
	}
done:
	atomic_store_explicit(&h->head, head, memory_order_release);
	ctl->count[0] = sink;
	ctl->result[0] = bench_tclock_median(tc);
	ctl->result[1] = bench_tclock_mean(tc);
	free(tc);
	if (timing) {
		bench_errf(ctl->err, "spsc: the producer stopped early");
		return -1;
	}
	return 0;
}

static int bench_spsc_child(void *varg, struct bench_ctl *ctl)
{
	struct bench_spsc *r = varg;
	int rc;

	bench_ctl_post(&ctl->child_stage, 1);
	/* A constant size lets the compiler unroll the payload loops. */
	if (r->slot == 64)
		rc = bench_spsc_consume(r, 64, ctl);
	else if (r->slot == 4096)
		rc = bench_spsc_consume(r, 4096, ctl);
	else
		rc = bench_spsc_consume(r, r->slot, ctl);
	bench_ctl_post(&ctl->child_stage, 2);
	return rc;
}

static int bench_spsc_run(const struct bench_measure *m,
			  const struct bench_cfg *cfg, struct bench_out *out)
{
	size_t slot = (size_t)m->param;
	struct bench_spsc r;
	struct bench_ctl *ctl = NULL;
	char name[96];
	void *map = MAP_FAILED;
	pid_t pid = -1;
	int fd, rc = -1;

	memset(&r, 0, sizeof r);
	r.slot = slot;
	r.nslots = bench_tput_capacity(slot) / slot;
	r.batch = r.nslots / 4 < BENCH_SPSC_BATCH ? r.nslots / 4 :
						     BENCH_SPSC_BATCH;
	if (r.batch < 1)
		r.batch = 1;
	r.map_len = BENCH_SPSC_HDR + r.nslots * slot;
	r.single_cpu = cfg->single_cpu;
	r.cfg = cfg;
	bench_name(name, sizeof name, "spsc");
	snprintf(r.path, sizeof r.path, "/%s", name);

	ctl = bench_ctl_new();
	if (!ctl) {
		bench_errf(out->err, "out of memory");
		return -1;
	}
	bench_shm_track(r.path);
	fd = shm_open(r.path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		bench_errf(out->err, "shm_open %s: %s", r.path, strerror(errno));
		goto out;
	}
	if (ftruncate(fd, (off_t)r.map_len) != 0) {
		bench_errf(out->err, "ftruncate: %s", strerror(errno));
		close(fd);
		goto out;
	}
	map = mmap(NULL, r.map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		bench_errf(out->err, "mmap: %s", strerror(errno));
		goto out;
	}
	memset(map, 0, r.map_len); /* pre-fault, as qshm does */
	r.hdr = map;
	r.slots = (unsigned char *)map + BENCH_SPSC_HDR;

	pid = bench_spawn(cfg->cpu_b, bench_spsc_child, &r, ctl);
	if (pid < 0) {
		bench_errf(out->err, "fork failed");
		goto out;
	}
	if (bench_ctl_await(&ctl->child_stage, 1, pid, 10) != 0) {
		bench_reap(pid, ctl, 1, out->err);
		pid = -1;
		goto out;
	}
	if (slot == 64)
		bench_spsc_produce(&r, 64, ctl);
	else if (slot == 4096)
		bench_spsc_produce(&r, 4096, ctl);
	else
		bench_spsc_produce(&r, slot, ctl);
	rc = bench_reap(pid, ctl, cfg->watchdog_s, out->err);
	pid = -1;
	if (rc == 0)
		bench_tput_fill(out, ctl->result[0], ctl->result[1], slot);
out:
	bench_kill(pid);
	if (map != MAP_FAILED)
		munmap(map, r.map_len);
	bench_shm_remove(r.path);
	bench_ctl_free(ctl);
	return rc;
}

#define BENCH_SPSC_MEASURE(k, lbl, bytes) {			\
	.key = "tput.spsc_" k,						\
	.label = "minimal SPSC ring, " lbl,				\
	.group = "throughput",						\
	.transport = "spsc",						\
	.param = (bytes),						\
	.nmetrics = BENCH_TPUT_NMETRICS,				\
	.metrics = { BENCH_TPUT_METRICS },				\
	.run = bench_spsc_run,						\
}

const struct bench_measure bench_spsc_tput[4] = {
	BENCH_SPSC_MEASURE("64", "64 B", 64),
	BENCH_SPSC_MEASURE("4k", "4 KiB", 4096),
	BENCH_SPSC_MEASURE("64k", "64 KiB", 65536),
	BENCH_SPSC_MEASURE("1m", "1 MiB", 1048576),
};
