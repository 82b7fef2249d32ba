/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_QEMU_INPUT_H
#define VSCANOUT_QEMU_INPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/*
 * A QEMU console's input, as a vGPU's input sink (input/router.h): keys
 * go to org.qemu.Display1.Keyboard (Press/Release with QEMU's key numbers,
 * qemu/keymap.h), the pointer to org.qemu.Display1.Mouse (SetAbsPosition
 * while the guest's mouse is absolute, else RelMotion; buttons; the wheel
 * as buttons 3 and 4) and touch to org.qemu.Display1.MultiTouch when the
 * console offers it.
 *
 * Calls are sent without waiting for their replies; no more than a bound
 * of them are in flight: beyond it motion is coalesced (the latest position
 * is sent when replies come back) and keys and buttons still go out, so
 * a QEMU that stops reading slows nothing. Keys and buttons held when the
 * focus leaves are released; qemu_input_destroy() releases those still
 * held while the connection lives.
 *
 * - Absolute mouse: SetAbsPosition with the pixel the pointer is in (the
 *   coordinates rounded down, negative ones to 0), as QEMU refuses a
 *   position at or past the console's width or height.
 * - Relative mouse: RelMotion with the device's unaccelerated motion from
 *   the target's relative_motion callback once the caller has sent one;
 *   until then, with the difference between successive positions. The
 *   fractions of a pixel are carried to the next motion.
 * - The vertical wheel: a press and release of button 4 (down) or 3 (up)
 *   per 120 units of value120; the horizontal axis has no QEMU button.
 * - Touch points take MultiTouch slots 0 to MaxSlots - 1; a point finding
 *   none, and every point while MaxSlots is unknown or the console has no
 *   MultiTouch, is dropped.
 * - A key without a QEMU number (qemu/keymap.h), a button other than left,
 *   middle, right, side and extra are dropped.
 */

struct input_target;
struct qemu_input;

/*
 * Input for the console at object `path` (e.g. "/org/qemu/Display1/Console_0")
 * of `bus` (borrowed, must outlive the input; `destination` is QEMU's bus
 * name, or NULL on a peer-to-peer connection). The Mouse's IsAbsolute and
 * the MultiTouch's MaxSlots are read asynchronously and followed through
 * PropertiesChanged. NULL on allocation failure.
 */
struct qemu_input *qemu_input_create(sd_bus *bus, const char *destination, const char *path);

/*
 * Releases the keys and buttons still held and cancels the touch points
 * (calls queued on the bus, sent when it next writes, without waiting for
 * a reply), forgets the calls in flight and frees. NULL is a no-op.
 */
void qemu_input_destroy(struct qemu_input *input);

/* The input sink for vgpu_create(). */
struct input_target *qemu_input_target(struct qemu_input *input);

/* For the status. */
struct qemu_input_info {
	bool absolute;      /* the guest's mouse is absolute */
	int touch_slots;    /* MaxSlots, 0 without MultiTouch */
	uint64_t sent;      /* calls sent */
	uint64_t failed;    /* error replies */
	uint64_t coalesced; /* motions merged because too many calls were in flight */
	uint64_t dropped;   /* events not sent: far too many calls in flight, or no memory */
	unsigned int keys_held;
	unsigned int in_flight; /* calls without a reply yet */
};

void qemu_input_get_info(const struct qemu_input *input, struct qemu_input_info *info);

#endif
