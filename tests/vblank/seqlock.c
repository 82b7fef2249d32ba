// SPDX-License-Identifier: MIT
/*
 * The vblank record's seqlock (kms/vblank.h): a reader never gets a torn
 * snapshot, refuses one while a write is in progress, and sees every
 * completed write. A writer thread publishes states whose fields are
 * functions of the sequence while reader threads check each snapshot.
 */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "kms/vblank.h"

#ifdef NDEBUG
#error "tests must be built without NDEBUG"
#endif

#define WRITES  3000000u
#define READERS 1

static struct vscanout_vblank_record record;
static atomic_bool writer_done;

static struct vscanout_vblank_state state_of(uint64_t n)
{
	return (struct vscanout_vblank_state){
		.flags = (uint32_t)(n & 3),
		.sequence = n,
		.timestamp_ns = n * 16666667u + 12345u,
		.refresh_ns = ~n,
	};
}

static void *writer(void *data)
{
	for (uint64_t n = 1; n <= WRITES; n++) {
		struct vscanout_vblank_state st = state_of(n);
		kms_vblank_record_write(&record, &st);
	}
	atomic_store(&writer_done, true);
	return NULL;
}

static void *reader(void *data)
{
	uint64_t *reads = data, last = 0;
	while (!atomic_load(&writer_done)) {
		struct vscanout_vblank_state got;
		vscanout_vblank_record_read(&record, &got);
		struct vscanout_vblank_state want = state_of(got.sequence);
		/* 0: nothing yet; 7 before any other: main()'s write, before the writer's. */
		if (got.sequence == 0 || (last == 0 && got.sequence == 7))
			continue;
		if (got.flags != want.flags || got.timestamp_ns != want.timestamp_ns ||
		    got.refresh_ns != want.refresh_ns) {
			fprintf(stderr,
				"torn snapshot: sequence %llu with timestamp %llu refresh %llx\n",
				(unsigned long long)got.sequence,
				(unsigned long long)got.timestamp_ns,
				(unsigned long long)got.refresh_ns);
			abort();
		}
		assert(got.sequence >= last);
		last = got.sequence;
		(*reads)++;
	}
	return NULL;
}

int main(void)
{
	struct vscanout_vblank_state st;

	/* An unwritten record reads as all zero. */
	assert(vscanout_vblank_record_try_read(&record, &st));
	assert(st.sequence == 0 && st.timestamp_ns == 0 && st.flags == 0);

	/* A write is seen whole, and leaves the counter even. */
	struct vscanout_vblank_state one = state_of(7);
	kms_vblank_record_write(&record, &one);
	assert(atomic_load(&record.seq) == 2);
	assert(vscanout_vblank_record_try_read(&record, &st));
	assert(st.sequence == 7 && st.timestamp_ns == one.timestamp_ns &&
	       st.refresh_ns == one.refresh_ns && st.flags == one.flags);

	/* A write in progress (odd counter) is refused. */
	atomic_store(&record.seq, 3);
	assert(!vscanout_vblank_record_try_read(&record, &st));
	atomic_store(&record.seq, 4);
	assert(vscanout_vblank_record_try_read(&record, &st));

	/* Concurrent writer and readers: no torn snapshot, the last write is read. */
	pthread_t w, r[READERS];
	uint64_t reads[READERS] = {0};
	for (int i = 0; i < READERS; i++)
		assert(pthread_create(&r[i], NULL, reader, &reads[i]) == 0);
	assert(pthread_create(&w, NULL, writer, NULL) == 0);
	assert(pthread_join(w, NULL) == 0);
	for (int i = 0; i < READERS; i++) {
		assert(pthread_join(r[i], NULL) == 0);
		printf("reader %d: %llu consistent snapshots\n", i, (unsigned long long)reads[i]);
	}
	vscanout_vblank_record_read(&record, &st);
	assert(st.sequence == WRITES);
	assert(atomic_load(&record.seq) == 4 + 2 * WRITES);
	printf("seqlock: %u writes, no torn read\n", WRITES);
	return 0;
}
