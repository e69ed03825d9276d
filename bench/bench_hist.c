/* SPDX-License-Identifier: MIT */
/*
 * bench_hist.c - latency histograms with three significant digits: a
 * bucket per value below 1000 ns, then 900 buckets per decade (the three
 * leading digits). Percentiles in the tables come from the raw samples;
 * the histogram is what the JSON report and the CDF plots carry.
 */
#include "bench.h"

#include <math.h>

int bench_hist_index(uint64_t v)
{
	uint64_t p = 1;
	int d = 0;

	if (v < 1000)
		return (int)v;
	while (v / p >= 1000) {
		p *= 10;
		d++;
	}
	if (d > BENCH_HIST_DECADES)
		return BENCH_HIST_BUCKETS - 1;
	return 1000 + (d - 1) * 900 + (int)(v / p - 100);
}

uint64_t bench_hist_low(int idx)
{
	uint64_t p = 10;
	int d;

	if (idx < 1000)
		return (uint64_t)idx;
	idx -= 1000;
	for (d = 1; d <= idx / 900; d++)
		p *= 10;
	return (uint64_t)(100 + idx % 900) * p;
}

void bench_hist_add(struct bench_hist *h, uint64_t v)
{
	h->n[bench_hist_index(v)]++;
	h->count++;
}

double bench_hist_pct(const struct bench_hist *h, double p)
{
	uint64_t want, sum = 0;

	if (!h || h->count == 0)
		return NAN;
	want = (uint64_t)ceil(p * (double)h->count);
	if (want < 1)
		want = 1;
	for (int i = 0; i < BENCH_HIST_BUCKETS; i++) {
		sum += h->n[i];
		if (sum >= want)
			return (double)bench_hist_low(i);
	}
	return (double)bench_hist_low(BENCH_HIST_BUCKETS - 1);
}
