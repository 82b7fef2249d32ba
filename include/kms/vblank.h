/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_KMS_VBLANK_H
#define VSCANOUT_KMS_VBLANK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vscanout-vblank.h"

/*
 * Vblank sources: the clock of an output, handed to a VMM as two fds.
 *
 * A struct kms_vblank_source ticks with one struct kms_output at a time (the
 * vGPU's clock output, chosen by the protocol server; it may be moved to
 * another, see kms_vblank_source_set_output()) and owns
 *
 *  - a tick pipe (pipe2(O_CLOEXEC | O_NONBLOCK)) that behaves like an
 *    eventfd counter: at every vblank of the output's CRTC (also when
 *    nothing flips) vscanoutd leaves in it one 8-byte count, in host byte
 *    order, of the vblanks since the client's last read: a count still
 *    unread is taken back and added in, so the pipe never holds more than
 *    8 bytes. A VMM polls the read end and read()s exactly 8 bytes; the
 *    sum of what it reads is the number of ticks since it got the fd (a
 *    late wakeup loses nothing). Clients only ever get the read end, so
 *    they cannot write, and vscanoutd writes and takes back through open
 *    file descriptions of its own (the read end is opened again through
 *    /proc/self/fd), so no flag a client sets on its copy (O_NONBLOCK
 *    cleared) can make vscanoutd block. Between two reads the record's
 *    sequence moved by exactly the count read, except across a stop, a
 *    switch between vblank events and the timer or a move to another
 *    output, where the sequence jumps (to the CRTC's counter, or on from
 *    the last value) while the pipe counts only ticks. Once the source is
 *    destroyed the read end reports end of file;
 *  - a memfd holding one struct vscanout_vblank_record (the public
 *    vscanout-vblank.h), rewritten at every vblank *before* the count is
 *    written, so a VMM woken by the pipe finds that vblank's sequence and
 *    timestamp there. The memfd is
 *    sealed (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL):
 *    clients can only map it read-only (a PROT_WRITE MAP_SHARED mmap and a
 *    write() fail with EPERM); vscanoutd writes through a mapping it made
 *    before sealing.
 *
 * Where the ticks come from:
 *
 *  - CRTC sequence events: one drmCrtcQueueSequence(RELATIVE | NEXT_ON_MISS,
 *    1) queued at a time per output, re-queued from its event. All sources
 *    of an output share it (a reference-counted per-output clock); the
 *    record carries the kernel's 64-bit CRTC sequence and its
 *    CLOCK_MONOTONIC vblank timestamp.
 *  - Drivers without vblank events (drmCrtcGetSequence/QueueSequence fail
 *    with EOPNOTSUPP, e.g. virtio-gpu, whose flip events arrive at once):
 *    a timerfd on the event loop with an absolute, drift-free period of the
 *    mode's refresh. The record's flags say VSCANOUT_VBLANK_TIMER, its
 *    sequence counts ticks (continuing from its last value) and its
 *    timestamp is the tick's due time. A driver that has vblank events but refuses to queue
 *    one while the output is on (another DRM master turned the CRTC off
 *    while our session is inactive) gets the timer too, and tries vblank
 *    events again at every tick and at the output's next present event.
 *
 * Output off, connector gone, CRTC turned off: no ticks. The record keeps
 * the last vblank with VSCANOUT_VBLANK_STOPPED set; nothing is written to
 * the pipe. Ticks resume by themselves at the output's next present event
 * (kms_output.events.present, which the KMS core emits when it lights the
 * CRTC again, after a hotplug, a mode change or the session's return), with
 * the new mode's refresh. The clock follows the output's state by itself:
 * the KMS core needs no calls beyond dispatching sequence events.
 *
 * Everything runs on the device's event loop and never blocks. Nothing is
 * called back: sources are only written to, so a source may be destroyed
 * at any time on the loop's thread.
 */

struct kms_device;
struct kms_output;
struct kms_vblank_source;

/*
 * The record in the memfd, its flags and its snapshot are the public ones
 * VMMs read (protocol/vscanout-vblank.h, installed for them): one
 * definition of the layout for both sides.
 */

/* Publish state in record (the single writer's side of the seqlock). */
static inline void kms_vblank_record_write(struct vscanout_vblank_record *record,
					   const struct vscanout_vblank_state *state)
{
	uint32_t seq = atomic_load_explicit(&record->seq, memory_order_relaxed);
	atomic_store_explicit(&record->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&record->flags, state->flags, memory_order_relaxed);
	atomic_store_explicit(&record->sequence, state->sequence, memory_order_relaxed);
	atomic_store_explicit(&record->timestamp_ns, state->timestamp_ns, memory_order_relaxed);
	atomic_store_explicit(&record->refresh_ns, state->refresh_ns, memory_order_relaxed);
	atomic_store_explicit(&record->seq, seq + 2, memory_order_release);
}

/*
 * A new vblank source on output, with a fresh tick pipe and memfd. It ticks
 * at once if the output is on, otherwise from its next present event; it
 * may be created for an output that is off. Sources of one output share
 * one queued sequence event (or timer). Returns NULL after logging why.
 * Every source must be destroyed before the output's device; if the device
 * goes first the sources stay valid but never tick again (STOPPED).
 */
struct kms_vblank_source *kms_vblank_source_create(struct kms_output *output);

/*
 * Destroy source and close its fds (the copies handed out stay valid for
 * their holders, which read end of file from the pipe). The shared sequence event
 * or timer goes with the output's last source. NULL is a no-op.
 */
void kms_vblank_source_destroy(struct kms_vblank_source *source);

/*
 * Make source tick with output from now on, keeping its tick pipe and memfd
 * (the copies handed out stay valid and go on being signalled). The record
 * is rewritten at once with output's clock: its sequence, timestamp,
 * refresh and flags jump to those of output's CRTC (or its timer, or
 * STOPPED while output is off); the pipe counts output's ticks from
 * then on, nothing for the move itself. The old output's sequence event
 * or timer goes if source was its last. A source whose device is gone may
 * be moved to an output of another device. Moving to the output it ticks
 * with already does nothing. Returns 0, -ENODEV when output's device is
 * being destroyed, or -ENOMEM (logged); source is then left as it was.
 */
int kms_vblank_source_set_output(struct kms_vblank_source *source, struct kms_output *output);

/*
 * Duplicates (F_DUPFD_CLOEXEC) of the read end of the source's tick pipe
 * and of its memfd, owned by the caller (e.g. to be sent to a client and
 * then closed). Every call returns new duplicates of the same two files;
 * all duplicates of the read end share one open file description, never
 * one vscanoutd reads or writes through. Returns 0, or a negative errno
 * with nothing written to tick_fd and memfd.
 */
int kms_vblank_source_get_fds(struct kms_vblank_source *source, int *tick_fd, int *memfd);

/* The last record written to source's memfd, for inspection and tests. */
void kms_vblank_source_get_state(const struct kms_vblank_source *source,
				 struct vscanout_vblank_state *state);

/*
 * The CLOCK_MONOTONIC time of the last vblank of the output's CRTC
 * (drmCrtcGetSequence: no event, no wakeup) and its mode's refresh period,
 * for callers that predict the next vblanks themselves. Returns 0, -ENODEV
 * when the output is not on (both 0), or the negative errno of the ioctl
 * (-EOPNOTSUPP for drivers without vblank events; *period_ns is still set).
 */
int kms_output_get_last_vblank(const struct kms_output *output, uint64_t *time_ns,
			       uint64_t *period_ns);

/* private, for kms/device.c */

/*
 * A CRTC sequence event (drmEventContext.sequence_handler) read from a
 * device's fd. user_data is what this module queued it with: the struct
 * kms_output it ticks (outputs live as long as their device reads its fd);
 * 0 is ignored. Nothing else may queue sequence events on a device's fd.
 */
void kms_vblank_handle_sequence(uint64_t sequence, uint64_t ns, uint64_t user_data);

/*
 * The device is being destroyed: its outputs' clocks stop for good, their
 * sources stay valid (STOPPED) until destroyed.
 */
void kms_vblank_detach_device(struct kms_device *device);

#endif
