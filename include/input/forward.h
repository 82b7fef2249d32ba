/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_INPUT_FORWARD_H
#define VSCANOUT_INPUT_FORWARD_H

#include <stddef.h>
#include <stdint.h>
#include <wayland-server-core.h>

/*
 * Forwarding the seat's input to the vGPUs on screen: the glue between the
 * seat's devices (input/input.h), the outputs' layout (input/layout.h),
 * the focus router (input/router.h) and the attached vGPUs (their
 * input_target, protocol/input.c).
 *
 * The layout follows the configured outputs that are lit, each placed as
 * its [output] position= and rotation= say; it is brought up to date
 * before every event, so hotplug and mode changes need no notification.
 * The pointer moves across it; the vGPU shown on the output under the
 * pointer is the router's target there, with coordinates in its guest
 * framebuffer through its picture's placement (scale=). Touchscreens go to
 * the output their [touchscreen NAME] section binds them to, else the
 * first lit output. The hotkeys of [daemon] move the pointer and the
 * keyboard focus to the next or previous output, or make the region under
 * the pointer (of the output's layout, vgpu/layout.h) show the next or
 * previous vGPU of the configuration after the one there
 * (config_cycle_vgpu(), through the assign callback into that region's
 * slot, as vscanoutctl assign does: a vGPU the output shows elsewhere
 * swaps places with it); the vGPU shown there then has the pointer and
 * keyboard.
 */

struct config;
struct display;
struct input_forward;
struct input_target;
struct vgpu_manager;
struct session;

/*
 * Open the seat's input devices and forward them. The borrowed objects
 * must outlive the forwarder. Returns NULL after logging why.
 */
struct input_forward *input_forward_create(struct wl_event_loop *loop, const struct config *config,
					   struct session *session, struct display *displays,
					   struct vgpu_manager *vgpus);

/* Close the devices. NULL is a no-op. */
void input_forward_destroy(struct input_forward *forward);

/*
 * The configuration changed (a reload): the layout is placed anew from the
 * outputs' position= and rotation=, the touchscreen bindings follow. Focus
 * mode and hotkeys keep their values until a restart. NULL is a no-op.
 */
void input_forward_reconfigure(struct input_forward *forward);

/*
 * Show the vGPU called vgpu in slot `slot` (from 0: its place in the
 * output's vgpu= list) of the output called output, changing the running
 * configuration: 0, or a negative errno with the reason in msg.
 */
typedef int (*input_forward_assign_fn)(void *data, const char *vgpu, const char *output,
				       size_t slot, char *msg, size_t msg_size);

/* What the vGPU hotkeys call; without it they do nothing. NULL forward is a no-op. */
void input_forward_set_assign(struct input_forward *forward, input_forward_assign_fn assign,
			      void *data);

/* A target (a vGPU) goes away: it loses every focus without being called. */
void input_forward_remove_target(struct input_forward *forward, struct input_target *target);

/* How many device events were handled so far, for tests to wait on. */
uint64_t input_forward_events(const struct input_forward *forward);

/* The pointer's position in the layout, for inspection and tests. */
void input_forward_get_pointer(const struct input_forward *forward, double *x, double *y);

#endif
