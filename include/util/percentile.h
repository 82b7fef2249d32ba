/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_UTIL_PERCENTILE_H
#define VSCANOUT_UTIL_PERCENTILE_H

#include <stdint.h>

/*
 * Percentiles of the last PERCENTILE_SAMPLES values of a series (latencies
 * in µs), in fixed memory: adding a sample is a store into a ring and
 * never allocates. Reading a percentile selects over a copy on the stack.
 */

#define PERCENTILE_SAMPLES 1024

struct percentile {
	uint64_t count; /* samples added since percentile_init() */
	/* private: the ring; slot count % PERCENTILE_SAMPLES is written next */
	uint32_t samples[PERCENTILE_SAMPLES];
};

/* Start empty (count 0). */
void percentile_init(struct percentile *pc);

/* Add a sample, replacing the oldest once PERCENTILE_SAMPLES are held. */
void percentile_add(struct percentile *pc, uint32_t value);

/* How many samples percentile_get() looks at: min(count, PERCENTILE_SAMPLES). */
uint32_t percentile_held(const struct percentile *pc);

/*
 * The p-th percentile (p in percent: 50 for the median, 99) of the samples
 * held, by nearest rank: the smallest sample such that at least p % of the
 * samples are less than or equal to it. p <= 0 (or NaN) gives the smallest,
 * p >= 100 the largest. 0 when no sample is held.
 */
uint32_t percentile_get(const struct percentile *pc, double p);

#endif
