/* SPDX-License-Identifier: MIT */
/*
 * bench_spsc.c - a minimal single-producer single-consumer ring in a named
 * POSIX shm object: the baseline qshm's one-way throughput is held
 * against. Fixed-size slots (64 B or 4 KiB, no record header), head and
 * tail on their own cache lines, each side caching the other's index and
 * publishing its own only every BENCH_SPSC_BATCH slots (or when it must
 * wait). Same capacity in bytes as the qshm ring it is compared with, same
 * payload code, same CPUs, same timing (per-chunk, on the consumer).
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
};

struct bench_spsc {
	struct bench_spsc_hdr *hdr;
	unsigned char *slots;
	uint64_t nslots;      /* power of two */
	size_t slot;          /* bytes per slot = payload bytes */
	size_t map_len;
	uint64_t warm, total; /* records: warm-up, then timed */
	int single_cpu;
	char path[128];
};

/* Producer. Inlined into callers with a constant slot size. */
static inline void bench_spsc_produce(struct bench_spsc *r, size_t slot)
{
	struct bench_spsc_hdr *h = r->hdr;
	uint64_t mask = r->nslots - 1, tail = 0, head_cache = 0, published = 0;
	uint64_t end = r->warm + r->total;

	for (uint64_t i = 0; i < end; i++) {
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
		if (tail % BENCH_SPSC_BATCH == 0) {
			/* Release: pairs with the consumer's acquire. */
			atomic_store_explicit(&h->tail, tail,
					      memory_order_release);
			published = tail;
		}
	}
	atomic_store_explicit(&h->tail, tail, memory_order_release);
}

/* Consumer: reads every word of every record, checks the sequence. */
static inline int bench_spsc_consume(struct bench_spsc *r, size_t slot,
				     struct bench_ctl *ctl)
{
	struct bench_spsc_hdr *h = r->hdr;
	uint64_t mask = r->nslots - 1, head = 0, tail_cache = 0, released = 0;
	uint64_t end = r->warm + r->total, sink = 0, t0 = 0;
	struct bench_chunks *ch = malloc(sizeof *ch);

	if (!ch) {
		bench_errf(ctl->err, "spsc: out of memory");
		return -1;
	}
	memset(ch, 0, sizeof *ch);

	for (uint64_t i = 0; i < end; i++) {
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
					&h->tail, memory_order_acquire)) == head)
				bench_relax(r->single_cpu);
		}
		if (i == r->warm) {
			bench_chunks_init(ch, r->total);
			t0 = ch->stamp[0];
		}
		uint64_t seq = bench_payload_read(
			r->slots + (head & mask) * slot, slot, &sink);
		if (seq != i) {
			bench_errf(ctl->err, "spsc: record %llu has seq %llu",
				   (unsigned long long)i,
				   (unsigned long long)seq);
			free(ch);
			return -1;
		}
		if (i >= r->warm)
			bench_chunks_mark(ch, i - r->warm);
		head++;
		if (head % BENCH_SPSC_BATCH == 0) {
			atomic_store_explicit(&h->head, head,
					      memory_order_release);
			released = head;
		}
	}
	ctl->t_end_ns = bench_now_ns();
	ctl->t_start_ns = t0;
	ctl->count[0] = sink;
	ctl->result[0] = bench_chunks_rate(ch);
	free(ch);
	atomic_store_explicit(&h->head, head, memory_order_release);
	return 0;
}

static int bench_spsc_child(void *varg, struct bench_ctl *ctl)
{
	struct bench_spsc *r = varg;
	int rc;

	bench_ctl_post(&ctl->child_stage, 1);
	if (r->slot == 64)
		rc = bench_spsc_consume(r, 64, ctl);
	else
		rc = bench_spsc_consume(r, 4096, ctl);
	bench_ctl_post(&ctl->child_stage, 2);
	return rc;
}

static int bench_spsc_run(const struct bench_cfg *cfg, struct bench_out *out,
			  size_t slot, uint64_t msgs)
{
	struct bench_spsc r;
	struct bench_ctl *ctl = NULL;
	char name[96];
	void *map = MAP_FAILED;
	pid_t pid = -1;
	int fd, rc = -1;

	memset(&r, 0, sizeof r);
	r.slot = slot;
	r.nslots = cfg->ring_capacity / slot;
	r.map_len = BENCH_SPSC_HDR + r.nslots * slot;
	r.total = msgs;
	r.warm = bench_warmup(cfg, msgs);
	r.single_cpu = cfg->single_cpu;
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
		bench_spsc_produce(&r, 64);
	else
		bench_spsc_produce(&r, 4096);
	rc = bench_reap(pid, ctl, cfg->watchdog_s, out->err);
	pid = -1;
	if (rc == 0)
		bench_tput_fill(out, ctl->result[0], (double)msgs * 1e9 /
				(double)(ctl->t_end_ns - ctl->t_start_ns), slot);
out:
	bench_kill(pid);
	if (map != MAP_FAILED)
		munmap(map, r.map_len);
	bench_shm_remove(r.path);
	bench_ctl_free(ctl);
	return rc;
}

static int bench_spsc_run_64(const struct bench_cfg *cfg, struct bench_out *out)
{
	return bench_spsc_run(cfg, out, 64, cfg->msgs_small);
}

static int bench_spsc_run_4k(const struct bench_cfg *cfg, struct bench_out *out)
{
	return bench_spsc_run(cfg, out, 4096, cfg->msgs_large);
}

const struct bench_measure bench_spsc_tput_64 = {
	.key = "tput.spsc_64",
	.label = "minimal SPSC ring, 64 B",
	.group = "throughput",
	.nmetrics = BENCH_TPUT_NMETRICS,
	.metrics = { BENCH_TPUT_METRICS },
	.run = bench_spsc_run_64,
};

const struct bench_measure bench_spsc_tput_4k = {
	.key = "tput.spsc_4k",
	.label = "minimal SPSC ring, 4 KiB",
	.group = "throughput",
	.nmetrics = BENCH_TPUT_NMETRICS,
	.metrics = { BENCH_TPUT_METRICS },
	.run = bench_spsc_run_4k,
};
