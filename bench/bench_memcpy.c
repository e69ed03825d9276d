/* SPDX-License-Identifier: MIT */
/*
 * bench_memcpy.c - single-thread memcpy bandwidth of a large buffer (256 MiB
 * by default), the yardstick for large records read in place. GB/s counts
 * bytes copied (the memory traffic is twice that). The buffers are faulted
 * in once, before the first timed copy, and kept across repeats.
 */
#include "bench.h"

#include <stdlib.h>
#include <sys/mman.h>

#define BENCH_MEMCPY_COPIES 5

static unsigned char *bench_mc_src, *bench_mc_dst;
static size_t bench_mc_len;

static void *bench_mc_map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, n, MADV_HUGEPAGE); /* faster fault-in; fine if refused */
	memset(p, 0x5a, n);
	return p;
}

static void bench_mc_fini(void)
{
	if (bench_mc_src)
		munmap(bench_mc_src, bench_mc_len);
	if (bench_mc_dst)
		munmap(bench_mc_dst, bench_mc_len);
	bench_mc_src = bench_mc_dst = NULL;
	bench_mc_len = 0;
}

static int bench_mc_run(const struct bench_measure *m,
			const struct bench_cfg *cfg, struct bench_out *out)
{
	if (bench_mc_len != cfg->memcpy_bytes) {
		bench_mc_fini();
		bench_mc_len = cfg->memcpy_bytes;
		bench_mc_src = bench_mc_map(bench_mc_len);
		bench_mc_dst = bench_mc_map(bench_mc_len);
		if (!bench_mc_src || !bench_mc_dst) {
			bench_mc_fini();
			bench_errf(out->err, "cannot map 2 x %zu bytes",
				   cfg->memcpy_bytes);
			return -1;
		}
		memcpy(bench_mc_dst, bench_mc_src, bench_mc_len); /* warm-up */
	}
	/* The median of a few copies' rates, as the rings report the median
	 * of their chunks' rates; the mean goes into the JSON too. */
	double rate[BENCH_MEMCPY_COPIES];
	uint64_t total = 0;
	for (int i = 0; i < BENCH_MEMCPY_COPIES; i++) {
		bench_mc_src[i] = (unsigned char)i;
		uint64_t t0 = bench_now_ns();
		memcpy(bench_mc_dst, bench_mc_src, bench_mc_len);
		/* Keep every copy observable. */
		atomic_signal_fence(memory_order_seq_cst);
		uint64_t t = bench_now_ns() - t0;
		if (bench_mc_dst[i] != (unsigned char)i) {
			bench_errf(out->err, "memcpy check failed");
			return -1;
		}
		rate[i] = (double)bench_mc_len / ((double)t / 1e9) / 1e9;
		total += t;
	}
	out->v[0] = bench_median(rate, BENCH_MEMCPY_COPIES);
	out->v[1] = (double)bench_mc_len * BENCH_MEMCPY_COPIES /
		    ((double)total / 1e9) / 1e9;
	return 0;
}

const struct bench_measure bench_memcpy_bw = {
	.key = "bw.memcpy",
	.label = "memcpy, one thread",
	.group = "bandwidth",
	.transport = "memcpy",
	.nmetrics = 2,
	.metrics = { "GB_per_s", "mean_GB_per_s" },
	.run = bench_mc_run,
	.fini = bench_mc_fini,
};
