/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_SIM_VMM_STATS_H
#define VSCANOUT_SIM_VMM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Presentation statistics of one run of the simulated VMM. */
struct stats {
	uint64_t committed;
	uint64_t presented;
	uint64_t discarded;
	uint64_t zero_copy;      /* presented with the zero_copy flag */
	uint64_t async;          /* presented with the async flag */
	uint64_t missed_vblanks; /* vblanks between two presented frames that showed nothing new */
	uint64_t first_present_ns, last_present_ns;
	uint64_t last_sequence;
	uint64_t *latency_ns; /* commit → presented, one per presented frame */
	size_t n_latency, cap_latency;
};

void stats_init(struct stats *stats);
void stats_finish(struct stats *stats);

/*
 * Record a presented commit: sent at commit_ns, shown at present_ns
 * (CLOCK_MONOTONIC) at vblank counter sequence with the protocol's
 * presented flags. Returns 0 or -ENOMEM.
 */
int stats_add_presented(struct stats *stats, uint64_t commit_ns, uint64_t present_ns,
			uint64_t sequence, uint32_t flags);

/*
 * The p-th percentile (0 < p <= 100, nearest rank) of n samples, which are
 * sorted in place. 0 when n is 0.
 */
uint64_t stats_percentile(uint64_t *samples, size_t n, double p);

/* Print the figures, one "name: value" line each. */
void stats_print(struct stats *stats, FILE *out);

#endif
