/*
 * sim_par.c - the thread split of the simulator's passes over the state,
 * with OpenMP (gcc's libgomp): one parallel region per pass, each thread
 * one contiguous range of the pass's items. Kernels that sum (norms,
 * probabilities) sum fixed-size chunks and add the chunk sums in order, so
 * that their results do not depend on the number of threads.
 */
#include "sim_plan.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void sim_par_for(unsigned threads, size_t n, size_t min_split,
		 sim_range_fn fn, void *ctx)
{
#ifndef _OPENMP
	threads = 1;  /* built without OpenMP: one thread */
#endif
	if (threads <= 1 || n < min_split || n < 2) {
		fn(ctx, 0, n);
		return;
	}
#ifdef _OPENMP
	if (threads > n)
		threads = (unsigned)n;
#pragma omp parallel num_threads(threads)
	{
		size_t t = (size_t)omp_get_thread_num();
		size_t T = (size_t)omp_get_num_threads();
		size_t b = n / T * t + (t < n % T ? t : n % T);
		size_t e = b + n / T + (t < n % T ? 1 : 0);

		fn(ctx, b, e);
	}
#endif
}
