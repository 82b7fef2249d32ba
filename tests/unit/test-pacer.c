// SPDX-License-Identifier: MIT
/* The VFIO poll pacer: predicted vblanks, the margin and how it learns. */
#include <stdint.h>

#include "test.h"
#include "vfio/pacer.h"

#define MS     1000000ull
#define PERIOD 16666667ull

static void test_next_poll(void)
{
	struct pacer p;
	pacer_init(&p);
	uint64_t margin = pacer_margin(&p, PERIOD);
	check_int_eq(margin, PACER_COST_INITIAL_NS + PACER_SAFETY_INITIAL_NS);

	/* Right after a vblank: the poll comes `margin` before the next one. */
	uint64_t target, at = pacer_next_poll(&p, 1000 * MS, PERIOD, 1000 * MS + MS, &target);
	check_int_eq(target, 1000 * MS + PERIOD);
	check_int_eq(at, target - margin);

	/* Inside the margin of the next vblank: aim at the one after. */
	at = pacer_next_poll(&p, 1000 * MS, PERIOD, 1000 * MS + PERIOD - margin / 2, &target);
	check_int_eq(target, 1000 * MS + 2 * PERIOD);
	check_int_eq(at, target - margin);

	/* Several vblanks behind (the record is old): the first poll still ahead. */
	at = pacer_next_poll(&p, 1000 * MS, PERIOD, 1000 * MS + 10 * PERIOD + MS, &target);
	check_int_eq(target, 1000 * MS + 11 * PERIOD);
	check(at > 1000 * MS + 10 * PERIOD + MS);
	check(at < target);
}

static void test_learning(void)
{
	struct pacer p;
	pacer_init(&p);

	/* A slow poll raises the cost at once; fast ones lower it slowly. */
	pacer_add_cost(&p, 3 * MS);
	check_int_eq(p.cost_ns, 3 * MS);
	pacer_add_cost(&p, 1 * MS);
	check(p.cost_ns < 3 * MS && p.cost_ns > 2 * MS);

	/* A late frame adds a step to the safety lead; frames on time shrink it. */
	uint64_t safety = p.safety_ns;
	check(!pacer_add_flip(&p, 100 * MS, 100 * MS + PERIOD, PERIOD));
	check_int_eq(p.safety_ns, safety + PACER_SAFETY_STEP_NS);
	check_int_eq(p.misses, 1);
	check(pacer_add_flip(&p, 100 * MS, 100 * MS + 100000, PERIOD));
	check(p.safety_ns < safety + PACER_SAFETY_STEP_NS);
	for (int i = 0; i < 1000; i++)
		pacer_add_flip(&p, 100 * MS, 100 * MS, PERIOD);
	check_int_eq(p.safety_ns, PACER_SAFETY_MIN_NS);

	/* The margin never exceeds half a period, however slow polls are. */
	pacer_add_cost(&p, 50 * MS);
	check_int_eq(pacer_margin(&p, PERIOD), PERIOD / 2);
	for (int i = 0; i < 20; i++)
		pacer_add_flip(&p, 0, PERIOD, PERIOD);
	check_int_eq(p.safety_ns, PERIOD / 4);
}

int main(void)
{
	test_next_poll();
	test_learning();
	printf("pacer: ok\n");
	return 0;
}
