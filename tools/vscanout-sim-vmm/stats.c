// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "vscanout-v1-client-protocol.h"

void stats_init(struct stats *stats)
{
	memset(stats, 0, sizeof(*stats));
}

void stats_finish(struct stats *stats)
{
	free(stats->latency_ns);
	memset(stats, 0, sizeof(*stats));
}

int stats_add_presented(struct stats *stats, uint64_t commit_ns, uint64_t present_ns,
			uint64_t sequence, uint32_t flags)
{
	if (stats->n_latency == stats->cap_latency) {
		size_t cap = stats->cap_latency ? 2 * stats->cap_latency : 1024;
		uint64_t *grown = realloc(stats->latency_ns, cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		stats->latency_ns = grown;
		stats->cap_latency = cap;
	}
	stats->latency_ns[stats->n_latency++] = present_ns > commit_ns ? present_ns - commit_ns : 0;

	if (stats->presented == 0)
		stats->first_present_ns = present_ns;
	else if (sequence > stats->last_sequence + 1)
		stats->missed_vblanks += sequence - stats->last_sequence - 1;
	stats->last_present_ns = present_ns;
	stats->last_sequence = sequence;
	stats->presented++;
	if (flags & VSCANOUT_VGPU_V1_PRESENTED_FLAGS_ZERO_COPY)
		stats->zero_copy++;
	if (flags & VSCANOUT_VGPU_V1_PRESENTED_FLAGS_ASYNC)
		stats->async++;
	return 0;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t stats_percentile(uint64_t *samples, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(samples, n, sizeof(*samples), compare_u64);
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return samples[rank - 1];
}

void stats_print(struct stats *stats, FILE *out)
{
	fprintf(out, "frames committed: %llu\n", (unsigned long long)stats->committed);
	fprintf(out, "frames presented: %llu\n", (unsigned long long)stats->presented);
	fprintf(out, "frames discarded: %llu\n", (unsigned long long)stats->discarded);
	fprintf(out, "zero-copy: %llu of %llu presented (%.1f %%)\n",
		(unsigned long long)stats->zero_copy, (unsigned long long)stats->presented,
		stats->presented ? 100.0 * (double)stats->zero_copy / (double)stats->presented
				 : 0.0);
	fprintf(out, "async flips: %llu\n", (unsigned long long)stats->async);
	fprintf(out, "latency commit to presented: p50 %.3f ms, p99 %.3f ms\n",
		(double)stats_percentile(stats->latency_ns, stats->n_latency, 50) / 1e6,
		(double)stats_percentile(stats->latency_ns, stats->n_latency, 99) / 1e6);
	double span = (double)(stats->last_present_ns - stats->first_present_ns) / 1e9;
	fprintf(out, "presented per second: %.2f\n",
		stats->presented > 1 && span > 0 ? (double)(stats->presented - 1) / span : 0.0);
	fprintf(out, "vblanks without a new frame: %llu\n",
		(unsigned long long)stats->missed_vblanks);
}
