/*
 * sim_rng.c - the simulator's random numbers: xoshiro256** (D. Blackman and
 * S. Vigna, 2018; the generator itself is inline in sim.h), seeded through
 * splitmix64 so that any 64-bit seed, 0 included, gives a good state.
 */
#include "sim.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
	uint64_t x = sim_rng_next(r);

#ifdef __SIZEOF_INT128__
	return (uint64_t)(((unsigned __int128)x * n) >> 64);
#else
	return x % n;
#endif
}
