/*
 * sim_state.c - state vectors: the size check, allocation (jemalloc,
 * 64-byte aligned; 2 MiB aligned and MADV_HUGEPAGE for large states, so that
 * first touch costs one fault per huge page, not 512), initialisation and
 * copies, in double or single precision.
 */
#include "sim.h"

#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE ((size_t)2 << 20)

/* The machine's memory, asked once per process (sysconf() makes a
 * sysinfo syscall, which small jobs paid on every run). The cache holds a
 * constant: threads racing to fill it store the same value, so relaxed
 * loads and stores suffice (they pair with nothing; 0 means not yet). */
static uint64_t physical_memory(void)
{
	static _Atomic uint64_t cached;
	uint64_t v = atomic_load_explicit(&cached, memory_order_relaxed);
	long pages, psize;

	if (v)
		return v;
	pages = sysconf(_SC_PHYS_PAGES);
	psize = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || psize <= 0)
		v = UINT64_MAX;  /* unknown: let the allocation decide */
	else
		v = (uint64_t)pages * (uint64_t)psize;
	atomic_store_explicit(&cached, v, memory_order_relaxed);
	return v;
}

/* @bytes in GiB, MiB or KiB, whichever reads best, into @buf. */
static const char *human(double bytes, char *buf, size_t len)
{
	if (bytes >= (double)(1u << 30))
		snprintf(buf, len, "%.1f GiB", bytes / (1u << 30));
	else if (bytes >= (double)(1u << 20))
		snprintf(buf, len, "%.1f MiB", bytes / (1u << 20));
	else
		snprintf(buf, len, "%.1f KiB", bytes / (1u << 10));
	return buf;
}

int sim_state_check_fits(unsigned nqubits, unsigned copies,
			 uint64_t max_bytes, struct rt_error *err)
{
	return sim_state_check_fits_prec(nqubits, copies, false, max_bytes, err);
}

int sim_state_check_fits_prec(unsigned nqubits, unsigned copies, bool single,
			      uint64_t max_bytes, struct rt_error *err)
{
	const unsigned amp = single ? 8 : 16;
	const char *limit_kind = max_bytes ? "the configured limit of"
					   : "this machine's memory,";
	uint64_t limit = max_bytes ? max_bytes : physical_memory();
	char h1[32], h2[32];

	if (nqubits > SIM_MAX_QUBITS)
		return rt_error_set(err, -EFBIG, "error: the circuit has %u "
				    "qubits; this simulator handles at most %d "
				    "(a state vector of 2^n amplitudes of 16 "
				    "bytes)", nqubits, SIM_MAX_QUBITS);
	double need = (double)copies * amp * (double)((uint64_t)1 << nqubits);

	if (need > (double)limit)
		return rt_error_set(err, -EFBIG, "error: the circuit has %u "
				    "qubits: %u state vector%s of 2^%u amplitudes "
				    "x %u bytes need %s, more than %s %s",
				    nqubits, copies, copies == 1 ? "" : "s",
				    nqubits, amp, human(need, h1, sizeof(h1)),
				    limit_kind,
				    human((double)limit, h2, sizeof(h2)));
	return 0;
}

int sim_state_create(struct sim_state **out, unsigned nqubits,
		     uint64_t max_bytes, struct rt_error *err)
{
	return sim_state_create_prec(out, nqubits, false, max_bytes, err);
}

int sim_state_create_prec(struct sim_state **out, unsigned nqubits,
			  bool single, uint64_t max_bytes,
			  struct rt_error *err)
{
	struct sim_state *s;
	int rc;

	*out = NULL;
	rc = sim_state_check_fits_prec(nqubits, 1, single, max_bytes, err);
	if (rc)
		return rc;
	s = mallocx(sizeof(*s), 0);
	if (!s)
		return rt_error_set(err, -ENOMEM, "error: out of memory");
	s->nqubits = nqubits;
	s->namps = (size_t)1 << nqubits;
	s->bytes = s->namps * (single ? 8 : 16);
	s->threads = 1;
	s->single = single;
	if (s->bytes >= 2 * HUGE_PAGE) {
		s->amps = mallocx(s->bytes, MALLOCX_ALIGN(HUGE_PAGE) | MALLOCX_ZERO);
		/* A hint only: without transparent huge pages it fails. */
		if (s->amps)
			(void)madvise(s->amps, s->bytes, MADV_HUGEPAGE);
	} else {
		s->amps = mallocx(s->bytes, MALLOCX_ALIGN(64) | MALLOCX_ZERO);
	}
	if (!s->amps) {
		dallocx(s, 0);
		return rt_error_set(err, -ENOMEM, "error: cannot allocate the "
				    "state vector of %u qubits (%.1f GiB)", nqubits,
				    (double)s->bytes / (1u << 30));
	}
	/* Zeroed by jemalloc, which skips the memset for fresh pages from
	 * the kernel (already zero): the first gate then faults them in. */
	sim_state_set_amp(s, 0, 1.0, 0.0);
	*out = s;
	return 0;
}

void sim_state_destroy(struct sim_state *s)
{
	if (!s)
		return;
	dallocx(s->amps, 0);
	dallocx(s, 0);
}

void sim_state_set_basis(struct sim_state *s, uint64_t index)
{
	memset(s->amps, 0, s->bytes);
	sim_state_set_amp(s, index, 1.0, 0.0);
}

void sim_state_set_amp(struct sim_state *s, uint64_t i, double re, double im)
{
	if (s->single) {
		((float *)(void *)s->amps)[2 * i] = (float)re;
		((float *)(void *)s->amps)[2 * i + 1] = (float)im;
	} else {
		s->amps[2 * i] = re;
		s->amps[2 * i + 1] = im;
	}
}

void sim_state_copy(struct sim_state *dst, const struct sim_state *src)
{
	memcpy(dst->amps, src->amps, src->bytes);
}

unsigned sim_threads_default(void)
{
	const char *env = getenv("QSHM_THREADS");
	cpu_set_t set;
	int n;

	if (env && *env) {
		char *end;
		unsigned long v = strtoul(env, &end, 10);

		if (*end == '\0' && v >= 1 && v <= 1024)
			return (unsigned)v;
	}
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		n = CPU_COUNT(&set);
		if (n >= 1)
			return (unsigned)n;
	}
	n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n >= 1 ? (unsigned)n : 1;
}
