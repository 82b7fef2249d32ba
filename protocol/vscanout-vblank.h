/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_VBLANK_H
#define VSCANOUT_VBLANK_H

/*
 * The vblank record of the vscanout-v1 protocol, for VMMs.
 *
 * vscanout_vgpu_v1.get_vblank_source answers with two fds: a ticks pipe
 * (read exactly 8 bytes: the number of vblanks since the last read) and a
 * memfd holding one struct vscanout_vblank_record at offset 0, which the
 * daemon rewrites at every vblank of the vGPU's clock output before it
 * leaves the count in the pipe. Map the memfd read-only and shared:
 *
 *   const struct vscanout_vblank_record *record =
 *           mmap(NULL, sizeof(*record), PROT_READ, MAP_SHARED, memfd, 0);
 *   struct vscanout_vblank_state state;
 *   vscanout_vblank_record_read(record, &state);
 *
 * This header is self-contained (C11, or C++11 and later) and is the one
 * definition of the record: vscanoutd writes the memfd through it. Install
 * location and compiler flags: pkg-config --cflags vscanout.
 */

#include <stdint.h>

#ifdef __cplusplus
#include <atomic>
#define VSCANOUT_VBLANK_ATOMIC(type)               std::atomic<type>
#define VSCANOUT_VBLANK_LOAD(object, order)        (object).load(std::memory_order_##order)
#define VSCANOUT_VBLANK_FENCE(order)               std::atomic_thread_fence(std::memory_order_##order)
#define VSCANOUT_VBLANK_ASSERT(condition, message) static_assert(condition, message)
#define VSCANOUT_VBLANK_BOOL                       bool
#else
#include <stdatomic.h>
#define VSCANOUT_VBLANK_ATOMIC(type)               _Atomic type
#define VSCANOUT_VBLANK_LOAD(object, order)        atomic_load_explicit(&(object), memory_order_##order)
#define VSCANOUT_VBLANK_FENCE(order)               atomic_thread_fence(memory_order_##order)
#define VSCANOUT_VBLANK_ASSERT(condition, message) _Static_assert(condition, message)
#define VSCANOUT_VBLANK_BOOL                       _Bool
#endif

/*
 * The record's layout version. It only ever grows: a later version appends
 * fields and increments this number, so a client reads the first
 * sizeof(struct vscanout_vblank_record) bytes and accepts a longer memfd.
 */
#define VSCANOUT_VBLANK_RECORD_VERSION 1

/*
 * Bits of vscanout_vblank_record.flags, the values of the protocol's
 * vscanout_vgpu_v1.vblank_source_flags.
 */
enum vscanout_vblank_flags {
	/*
	 * The driver has no vblank events: a timer at the mode's refresh rate
	 * drives the source, sequence counts its ticks and timestamp_ns is
	 * each tick's due time.
	 */
	VSCANOUT_VBLANK_TIMER = 1u << 0,
	/* No ticks now (the output is off): the record holds the last vblank. */
	VSCANOUT_VBLANK_STOPPED = 1u << 1,
};

/*
 * The memfd's contents: exactly this record at offset 0, in the host's byte
 * order (version 1 is 32 bytes long).
 *
 *   offset  size  field
 *        0     4  seq           seqlock counter: odd while being written
 *        4     4  flags         enum vscanout_vblank_flags
 *        8     8  sequence      vblank count of the CRTC (or timer ticks)
 *       16     8  timestamp_ns  CLOCK_MONOTONIC time of that vblank, ns
 *       24     8  refresh_ns    refresh period of the current mode, ns
 *
 * All fields are naturally aligned and accessed with single atomic loads
 * and stores. Before the first vblank everything is 0: timestamp_ns 0
 * means "no vblank yet". Across a stop, a change between vblank events and
 * the timer or a move of the vGPU's clock to another output, sequence
 * jumps (it may even go back): count vblanks with the ticks pipe, and use
 * sequence only to tell records apart.
 *
 * Writer (vscanoutd, the only one):
 *   1. store seq + 1 (odd), relaxed; release fence;
 *   2. store flags, sequence, timestamp_ns, refresh_ns, relaxed;
 *   3. store seq + 2 (even) with release ordering.
 * Reader, vscanout_vblank_record_try_read():
 *   1. s1 = load seq with acquire ordering; odd: a write is in progress, retry;
 *   2. load flags, sequence, timestamp_ns, refresh_ns, relaxed;
 *   3. acquire fence; s2 = load seq, relaxed;
 *   4. s1 != s2: the values may be torn, retry; else they are one snapshot.
 * The writer runs once per vblank, so a reader retries at most a few times.
 */
struct vscanout_vblank_record {
	VSCANOUT_VBLANK_ATOMIC(uint32_t) seq;
	VSCANOUT_VBLANK_ATOMIC(uint32_t) flags;
	VSCANOUT_VBLANK_ATOMIC(uint64_t) sequence;
	VSCANOUT_VBLANK_ATOMIC(uint64_t) timestamp_ns;
	VSCANOUT_VBLANK_ATOMIC(uint64_t) refresh_ns;
};

VSCANOUT_VBLANK_ASSERT(sizeof(struct vscanout_vblank_record) == 32, "the record's layout is ABI");
VSCANOUT_VBLANK_ASSERT(__GCC_ATOMIC_INT_LOCK_FREE == 2 && __GCC_ATOMIC_LLONG_LOCK_FREE == 2,
		       "shared-memory atomics must be lock-free");

/* One snapshot of a record. */
struct vscanout_vblank_state {
	uint32_t flags; /* enum vscanout_vblank_flags */
	uint64_t sequence;
	uint64_t timestamp_ns;
	uint64_t refresh_ns;
};

/*
 * One attempt to read record (a read-only mapping will do). Returns true
 * and fills state with a consistent snapshot, or false when a write was in
 * progress or happened meanwhile (state then holds garbage: retry).
 */
static inline VSCANOUT_VBLANK_BOOL
vscanout_vblank_record_try_read(const struct vscanout_vblank_record *record,
				struct vscanout_vblank_state *state)
{
#ifdef __cplusplus
	const struct vscanout_vblank_record *r = record;
#else
	/* The loads do not modify the record; C11 just lacks const atomics. */
	struct vscanout_vblank_record *r = (struct vscanout_vblank_record *)record;
#endif
	uint32_t s1 = VSCANOUT_VBLANK_LOAD(r->seq, acquire);
	if (s1 & 1)
		return 0;
	state->flags = VSCANOUT_VBLANK_LOAD(r->flags, relaxed);
	state->sequence = VSCANOUT_VBLANK_LOAD(r->sequence, relaxed);
	state->timestamp_ns = VSCANOUT_VBLANK_LOAD(r->timestamp_ns, relaxed);
	state->refresh_ns = VSCANOUT_VBLANK_LOAD(r->refresh_ns, relaxed);
	VSCANOUT_VBLANK_FENCE(acquire);
	return VSCANOUT_VBLANK_LOAD(r->seq, relaxed) == s1;
}

/* Read record, retrying until a consistent snapshot is had. */
static inline void vscanout_vblank_record_read(const struct vscanout_vblank_record *record,
					       struct vscanout_vblank_state *state)
{
	while (!vscanout_vblank_record_try_read(record, state))
		;
}

#endif
