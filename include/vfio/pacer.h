/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_VFIO_PACER_H
#define VSCANOUT_VFIO_PACER_H

#include <stdbool.h>
#include <stdint.h>

/*
 * When to poll a VFIO device so that what the guest shows is on screen at
 * the next vblank.
 *
 * A guest change is seen only when vscanoutd queries the device; the query
 * and the commit that follows must be done before the vblank the flip is
 * aimed at, or the flip waits a whole refresh more. Polling right after a
 * vblank (when its event arrives) wastes almost a refresh; polling just
 * before it makes a change seen up to that moment show at once.
 *
 * So the pacer predicts the next vblank from the clock output's last one
 * (timestamp and refresh period, kms/vblank.h) and polls `margin` before
 * it. The margin is the cost of a poll (the slowest recently measured:
 * query, import, commit ioctl) plus a safety lead. A frame that lands on a
 * later vblank than the one aimed at adds PACER_SAFETY_STEP_NS to the
 * safety lead (up to a quarter period: a miss the kernel causes, a late
 * worker, is not cured by polling ever earlier); every frame on time
 * shrinks it by 1/16, down to PACER_SAFETY_MIN_NS. The margin never exceeds
 * half a period.
 *
 * Pure arithmetic on CLOCK_MONOTONIC nanoseconds: the timer lives in the
 * source (vfio/source.c).
 */

#define PACER_SAFETY_INITIAL_NS 1000000u /* 1 ms */
#define PACER_SAFETY_MIN_NS     500000u  /* 0.5 ms */
#define PACER_COST_INITIAL_NS   500000u  /* until measured */
#define PACER_SAFETY_STEP_NS    1000000u /* added by a late frame */

struct pacer {
	uint64_t cost_ns;   /* decaying maximum of measured poll costs */
	uint64_t safety_ns; /* lead kept on top of the cost */
	uint64_t hits, misses;
};

void pacer_init(struct pacer *pacer);

/* How long before a vblank the poll runs, for a refresh period (0: unknown). */
uint64_t pacer_margin(const struct pacer *pacer, uint64_t period_ns);

/*
 * The time of the next poll: `margin` before the first predicted vblank
 * (last_vblank_ns + k × period_ns, k >= 1) whose poll time is still after
 * now_ns. The vblank aimed at goes to *target_ns. period_ns must not be 0.
 */
uint64_t pacer_next_poll(const struct pacer *pacer, uint64_t last_vblank_ns, uint64_t period_ns,
			 uint64_t now_ns, uint64_t *target_ns);

/* A poll took cost_ns from its timer to its commit. */
void pacer_add_cost(struct pacer *pacer, uint64_t cost_ns);

/*
 * The frame a poll aimed at target_ns reached the screen at flip_ns.
 * Returns true when it was on time (within half a period of the target).
 */
bool pacer_add_flip(struct pacer *pacer, uint64_t target_ns, uint64_t flip_ns, uint64_t period_ns);

#endif
