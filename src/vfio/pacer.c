// SPDX-License-Identifier: MIT
#include "vfio/pacer.h"

void pacer_init(struct pacer *pacer)
{
	*pacer = (struct pacer){
		.cost_ns = PACER_COST_INITIAL_NS,
		.safety_ns = PACER_SAFETY_INITIAL_NS,
	};
}

uint64_t pacer_margin(const struct pacer *pacer, uint64_t period_ns)
{
	uint64_t margin = pacer->cost_ns + pacer->safety_ns;
	if (period_ns > 0 && margin > period_ns / 2)
		margin = period_ns / 2;
	return margin;
}

uint64_t pacer_next_poll(const struct pacer *pacer, uint64_t last_vblank_ns, uint64_t period_ns,
			 uint64_t now_ns, uint64_t *target_ns)
{
	uint64_t margin = pacer_margin(pacer, period_ns);
	uint64_t target = last_vblank_ns + period_ns;
	if (target < now_ns + margin) {
		/* Skip the vblanks whose poll time has passed, in one step. */
		uint64_t behind = now_ns + margin - target;
		target += (behind / period_ns + 1) * period_ns;
	}
	*target_ns = target;
	return target - margin;
}

void pacer_add_cost(struct pacer *pacer, uint64_t cost_ns)
{
	if (cost_ns >= pacer->cost_ns)
		pacer->cost_ns = cost_ns;
	else
		pacer->cost_ns -= (pacer->cost_ns - cost_ns) / 16;
}

bool pacer_add_flip(struct pacer *pacer, uint64_t target_ns, uint64_t flip_ns, uint64_t period_ns)
{
	bool on_time = flip_ns < target_ns + period_ns / 2;
	if (on_time) {
		pacer->hits++;
		pacer->safety_ns -= pacer->safety_ns / 16;
		if (pacer->safety_ns < PACER_SAFETY_MIN_NS)
			pacer->safety_ns = PACER_SAFETY_MIN_NS;
	} else {
		pacer->misses++;
		pacer->safety_ns += PACER_SAFETY_STEP_NS;
		if (period_ns > 0 && pacer->safety_ns > period_ns / 4)
			pacer->safety_ns = period_ns / 4;
	}
	return on_time;
}
