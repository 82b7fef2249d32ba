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

/* NULL is a no-op. */
void qemu_input_destroy(struct qemu_input *input);

/* The input sink for vgpu_create(). */
struct input_target *qemu_input_target(struct qemu_input *input);

/* For the status. */
struct qemu_input_info {
	bool absolute;       /* the guest's mouse is absolute */
	int touch_slots;     /* MaxSlots, 0 without MultiTouch */
	uint64_t sent;       /* calls sent */
	uint64_t failed;     /* error replies */
	uint64_t coalesced;  /* motions merged because too many calls were in flight */
	unsigned int keys_held;
};

void qemu_input_get_info(const struct qemu_input *input, struct qemu_input_info *info);

#endif
