// SPDX-License-Identifier: MIT
#include <math.h>

#include "test.h"
#include "util/percentile.h"

/* Nearest rank of an integer percent p over n values, 1-based. */
static uint32_t reference_rank(uint32_t p, uint32_t n)
{
	uint32_t rank = (p * n + 99) / 100;
	return rank < 1 ? 1 : rank;
}

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* A small deterministic generator, so failures repeat. */
static uint32_t next_random(uint64_t *state)
{
	*state = *state * 6364136223846793005u + 1442695040888963407u;
	return (uint32_t)(*state >> 33);
}

static void test_empty(void)
{
	struct percentile pc;
	percentile_init(&pc);
	check_int_eq(pc.count, 0);
	check_int_eq(percentile_held(&pc), 0);
	check_int_eq(percentile_get(&pc, 0), 0);
	check_int_eq(percentile_get(&pc, 50), 0);
	check_int_eq(percentile_get(&pc, 100), 0);
}

static void test_one_sample(void)
{
	struct percentile pc;
	percentile_init(&pc);
	percentile_add(&pc, 1234);
	check_int_eq(pc.count, 1);
	check_int_eq(percentile_held(&pc), 1);
	check_int_eq(percentile_get(&pc, 0), 1234);
	check_int_eq(percentile_get(&pc, 50), 1234);
	check_int_eq(percentile_get(&pc, 99.9), 1234);
	check_int_eq(percentile_get(&pc, 100), 1234);
}

static void test_nearest_rank(void)
{
	/* 1..100 in a scrambled order: the p-th percentile is p. */
	struct percentile pc;
	percentile_init(&pc);
	for (uint32_t i = 0; i < 100; i++)
		percentile_add(&pc, (i * 37) % 100 + 1);
	check_int_eq(pc.count, 100);
	for (uint32_t p = 1; p <= 100; p++)
		check_int_eq(percentile_get(&pc, p), p);
	check_int_eq(percentile_get(&pc, 0), 1);
	check_int_eq(percentile_get(&pc, 0.5), 1);
	check_int_eq(percentile_get(&pc, 1.5), 2);
	check_int_eq(percentile_get(&pc, 99.01), 100);
	/* Out of range and NaN: the extremes. */
	check_int_eq(percentile_get(&pc, -5), 1);
	check_int_eq(percentile_get(&pc, 150), 100);
	check_int_eq(percentile_get(&pc, NAN), 1);

	/* Four samples: the median is the 2nd, p75 the 3rd, p76 the 4th. */
	percentile_init(&pc);
	const uint32_t four[] = {40, 10, 30, 20};
	for (size_t i = 0; i < 4; i++)
		percentile_add(&pc, four[i]);
	check_int_eq(percentile_get(&pc, 25), 10);
	check_int_eq(percentile_get(&pc, 26), 20);
	check_int_eq(percentile_get(&pc, 50), 20);
	check_int_eq(percentile_get(&pc, 75), 30);
	check_int_eq(percentile_get(&pc, 76), 40);

	/* Reading does not disturb the samples. */
	check_int_eq(percentile_get(&pc, 50), 20);
	check_int_eq(percentile_get(&pc, 100), 40);
	check_int_eq(percentile_get(&pc, 0), 10);
}

static void test_ring(void)
{
	/* Only the last PERCENTILE_SAMPLES samples count. */
	struct percentile pc;
	percentile_init(&pc);
	for (uint32_t i = 0; i < 2000; i++)
		percentile_add(&pc, i);
	check_int_eq(pc.count, 2000);
	check_int_eq(percentile_held(&pc), PERCENTILE_SAMPLES);
	uint32_t oldest = 2000 - PERCENTILE_SAMPLES;
	check_int_eq(percentile_get(&pc, 0), oldest);
	check_int_eq(percentile_get(&pc, 100), 1999);
	check_int_eq(percentile_get(&pc, 50), oldest + PERCENTILE_SAMPLES / 2 - 1);

	/*
	 * 10 large values among 1024 hold ranks 1015..1024: above p99 (rank
	 * 1014), within p99.1 (rank 1015). They age out again.
	 */
	for (uint32_t i = 0; i < PERCENTILE_SAMPLES; i++)
		percentile_add(&pc, i < 10 ? 1000000 : 7);
	check_int_eq(percentile_get(&pc, 99), 7);
	check_int_eq(percentile_get(&pc, 99.1), 1000000);
	for (uint32_t i = 0; i < 10; i++)
		percentile_add(&pc, 7);
	check_int_eq(percentile_get(&pc, 100), 7);
	check_int_eq(pc.count, 2000 + PERCENTILE_SAMPLES + 10);

	/* init starts over. */
	percentile_init(&pc);
	check_int_eq(percentile_get(&pc, 50), 0);
}

static void test_against_sorting(void)
{
	/*
	 * Random series of every length up to past the ring's size, with many
	 * duplicates or with none, against a sorted copy.
	 */
	static struct percentile pc;
	static uint32_t held[PERCENTILE_SAMPLES];
	uint64_t state = 1;
	for (uint32_t n = 1; n <= PERCENTILE_SAMPLES + 40; n += (n < 80 ? 1 : 37)) {
		for (uint32_t range = 2; range != 0; range = range < 1u << 20 ? range << 10 : 0) {
			percentile_init(&pc);
			for (uint32_t i = 0; i < n; i++)
				percentile_add(&pc, next_random(&state) % range);
			uint32_t m = percentile_held(&pc);
			check_int_eq(m, n < PERCENTILE_SAMPLES ? n : PERCENTILE_SAMPLES);
			memcpy(held, pc.samples, m * sizeof(held[0]));
			qsort(held, m, sizeof(held[0]), compare_u32);
			for (uint32_t p = 0; p <= 100; p++)
				check_int_eq(percentile_get(&pc, p),
					     held[reference_rank(p, m) - 1]);
		}
	}
}

int main(void)
{
	test_empty();
	test_one_sample();
	test_nearest_rank();
	test_ring();
	test_against_sorting();
	return 0;
}
