// SPDX-License-Identifier: MIT
#include <string.h>

#include "util/percentile.h"

void percentile_init(struct percentile *pc)
{
	pc->count = 0;
	memset(pc->samples, 0, sizeof(pc->samples));
}

void percentile_add(struct percentile *pc, uint32_t value)
{
	pc->samples[pc->count % PERCENTILE_SAMPLES] = value;
	pc->count++;
}

uint32_t percentile_held(const struct percentile *pc)
{
	return pc->count < PERCENTILE_SAMPLES ? (uint32_t)pc->count : PERCENTILE_SAMPLES;
}

static void swap(uint32_t *a, uint32_t *b)
{
	uint32_t t = *a;
	*a = *b;
	*b = t;
}

/*
 * Quickselect (Hoare's partition, median-of-three pivot): afterwards v[k]
 * is the value a sorted v would hold there. Expected linear time.
 */
static uint32_t select_kth(uint32_t *v, uint32_t n, uint32_t k)
{
	uint32_t lo = 0, hi = n - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v[mid] < v[lo])
			swap(&v[mid], &v[lo]);
		if (v[hi] < v[lo])
			swap(&v[hi], &v[lo]);
		if (v[hi] < v[mid])
			swap(&v[hi], &v[mid]);
		uint32_t pivot = v[mid];
		uint32_t i = lo, j = hi;
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				swap(&v[i], &v[j]);
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		/* Now v[lo..j] <= pivot <= v[i..hi], and j < i. */
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return v[k];
	}
	return v[k];
}

uint32_t percentile_get(const struct percentile *pc, double p)
{
	uint32_t n = percentile_held(pc);
	if (n == 0)
		return 0;

	/* Nearest rank: ceil(p / 100 × n), within 1..n. */
	uint32_t rank;
	if (!(p > 0))
		rank = 1;
	else if (p >= 100)
		rank = n;
	else {
		double r = p * (double)n / 100.0;
		rank = (uint32_t)r;
		if ((double)rank < r)
			rank++;
		if (rank < 1)
			rank = 1;
	}

	uint32_t copy[PERCENTILE_SAMPLES];
	memcpy(copy, pc->samples, n * sizeof(copy[0]));
	return select_kth(copy, n, rank - 1);
}
