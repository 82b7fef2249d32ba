/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_VGPU_VGPU_H
#define VSCANOUT_VGPU_VGPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <wayland-server-core.h>

#include "input/uinput.h"
#include "kms/output.h"

/*
 * The vGPU: what the daemon shows of one VM, whatever feeds it.
 *
 * A struct vgpu exists while something feeds the configuration's vGPU of
 * that name: a vscanout-v1 client that attached it (protocol/vgpu.c), and
 * through it a VFIO device (vfio/source.c); a QEMU whose D-Bus display it
 * is (qemu/qemu.h); or a VFIO device taken from a running QEMU
 * (vfio/take.h). It owns
 *
 *  - its views: one per output whose vgpu= lists it, each a region of the
 *    output (vgpu/layout.h) with a primary and a cursor layer there;
 *  - its frame: the primary and cursor buffers it shows, with their
 *    positions, placed into every view's region (1:1 at a position, or
 *    scaled by the output's scale= for a guest framebuffer);
 *  - its clock output, whose vblanks pace it and count its frames, and the
 *    vblank source handed to its VMM;
 *  - the answers to its frames (presented once on the clock output's
 *    screen, discarded when replaced first or when no frame will carry
 *    them);
 *  - its input: the router's target for it, which feeds its virtual evdev
 *    devices ([vgpu] uinput = yes) and the input sink of whoever attached
 *    it.
 *
 * Sources feed it through struct vgpu_source; the one in charge is the
 * attaching client's own, the VFIO source it handed a device to, QEMU's
 * display (qemu/display.c) or the VFIO source of a device taken from QEMU.
 */

struct buffer;
struct config;
struct display;
struct input_forward;
struct input_target;
struct kms_vblank_source;
struct vgpu;
struct vgpu_manager;
struct vgpu_source;

/* The zpos of the host's cursor: above the layers of every vGPU of an output. */
#define VGPU_HOST_CURSOR_ZPOS 64

/* A frame of the clock output that showed the vGPU reached the screen. */
struct vgpu_present {
	struct kms_output *output; /* the clock output */
	uint64_t time_ns;          /* CLOCK_MONOTONIC time of the flip */
	uint32_t sequence;         /* the CRTC's vblank counter */
	uint32_t refresh_mhz;      /* of its mode; 0 if unknown */
	bool async;                /* flipped without waiting for a vblank */
	bool zero_copy;            /* every layer of the vGPU there was on a plane */
	/* false: no plane nor the copy path could show its buffers, the placeholder is there */
	bool shown;
	bool new_mode;          /* the first frame of a new mode or rotation of the output */
	struct buffer *primary; /* borrowed: the primary buffer on screen, may be NULL */
};

struct vgpu_source_impl {
	/*
	 * The clock output is now `clock` (NULL: the vGPU is shown nowhere).
	 * Also called when a source is set, and again with the same clock
	 * whenever the configuration is applied: it must be idempotent.
	 */
	void (*set_clock)(struct vgpu_source *source, struct kms_output *clock);
	/*
	 * The vGPU's region of its clock output is now width x height (also
	 * after set_clock; 0 x 0 while it has none).
	 */
	void (*set_clock_region)(struct vgpu_source *source, uint32_t width, uint32_t height);
	/* The clock output has a new mode or rotation (its first frame was presented). */
	void (*clock_mode_changed)(struct vgpu_source *source);
	/* Every frame of the clock output that shows the vGPU, once on screen. */
	void (*presented)(struct vgpu_source *source, const struct vgpu_present *present);
	/*
	 * The frame tracked with `serial` (vgpu_track()) is on the clock
	 * output's screen (present) or never will be (present NULL: replaced
	 * first, the clock turned off, the source replaced).
	 */
	void (*frame_done)(struct vgpu_source *source, uint32_t serial,
			   const struct vgpu_present *present);
};

/* Embed in the source's object. Every callback may be NULL. */
struct vgpu_source {
	const struct vgpu_source_impl *impl;
};

/* How a frame is placed into each region. */
enum vgpu_placement {
	/* Buffers 1:1 at their positions in the region (a vscanout-v1 client). */
	VGPU_PLACE_POSITIONED,
	/*
	 * The primary is the guest's framebuffer, scaled into the region by
	 * the output's scale=; the cursor is positioned in the primary's
	 * pixels and follows its scaling (a VFIO device).
	 */
	VGPU_PLACE_SCALED,
};

struct vgpu_frame {
	enum vgpu_placement placement;
	struct buffer *primary; /* may be NULL: nothing; borrowed, the vGPU takes a reference */
	int32_t primary_x, primary_y;
	struct buffer *cursor;      /* may be NULL: no cursor; borrowed */
	int32_t cursor_x, cursor_y; /* its top-left corner, hotspot applied */
};

/* What attaches a vGPU, for inspection. */
struct vgpu_owner_info {
	bool known; /* pid, uid, gid are set */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool input; /* it takes the vGPU's input events (its input sink is live) */
};

/*
 * Every vGPU of the daemon: made once, with the configuration and the
 * displays (both borrowed, outliving it).
 */
struct vgpu_manager *vgpu_manager_create(const struct config *config, struct display *displays);

/* Every vGPU must have been destroyed. NULL is a no-op. */
void vgpu_manager_destroy(struct vgpu_manager *manager);

/* The input forwarder targets are removed from when their vGPU goes (may be NULL). */
void vgpu_manager_set_input(struct vgpu_manager *manager, struct input_forward *forward);

/*
 * The configuration changed (reload, vscanoutctl assign): every vGPU
 * leaves the outputs that no longer show it, joins those that now do, and
 * moves to its new region where the layout changed. No modeset.
 */
void vgpu_manager_reconfigure(struct vgpu_manager *manager);

/* The vGPU of that name, or NULL when none is attached. */
struct vgpu *vgpu_manager_find(struct vgpu_manager *manager, const char *name);

/*
 * The vGPU whose region of `output` holds the point x,y of its logical
 * space (the topmost), or NULL. With one, *src and *dst say where its
 * primary's picture is (false when it shows none).
 */
struct vgpu *vgpu_manager_vgpu_at(struct vgpu_manager *manager, struct kms_output *output, double x,
				  double y, struct kms_fixed_rect *src, struct kms_rect *dst,
				  bool *picture);

/*
 * A new vGPU `name` shown on the outputs the configuration gives it, fed
 * by `source` (may be NULL: nothing yet) and answering input through
 * `sink` (may be NULL: only its virtual devices get input). Both stay the
 * caller's. The caller checked that it may attach. NULL on allocation
 * failure.
 */
struct vgpu *vgpu_create(struct vgpu_manager *manager, const char *name, struct vgpu_source *source,
			 struct input_target *sink);

/* Take the vGPU off every output (the placeholder shows). NULL is a no-op. */
void vgpu_destroy(struct vgpu *vgpu);

const char *vgpu_get_name(const struct vgpu *vgpu);

/* Who attached it: set by the attaching side, shown by the status. */
void vgpu_set_owner(struct vgpu *vgpu, const struct vgpu_owner_info *owner);
void vgpu_get_owner(const struct vgpu *vgpu, struct vgpu_owner_info *owner);

/*
 * Let `source` feed the vGPU (NULL: none). Frames still tracked are
 * answered to the previous source as discarded first; the frame shown
 * stays until the new source shows one.
 */
void vgpu_set_source(struct vgpu *vgpu, struct vgpu_source *source);
struct vgpu_source *vgpu_get_source(const struct vgpu *vgpu);

/* Show `frame` on every view with the next frame of each output. */
void vgpu_show(struct vgpu *vgpu, const struct vgpu_frame *frame);

/* The frame shown now (borrowed buffers). */
const struct vgpu_frame *vgpu_get_frame(const struct vgpu *vgpu);

/*
 * Answer `serial` through the source's frame_done once what vgpu_show()
 * set last reaches the clock output's screen. Frames aimed at the same
 * vblank replace each other (mailbox): the older one is discarded. With
 * no lit clock output it is discarded at once. Returns 0 or -ENOMEM.
 */
int vgpu_track(struct vgpu *vgpu, uint32_t serial);

/* Frames tracked with vgpu_track() and not answered yet. */
size_t vgpu_n_tracked(const struct vgpu *vgpu);

/* The configuration's name of the clock output, or NULL. */
const char *vgpu_get_clock_name(const struct vgpu *vgpu);

/*
 * New fds of the vGPU's vblank source (kms/vblank.h) on its clock output,
 * made on first use and following the clock: the ticks fd and the sealed
 * record memfd (the caller closes both); *timer tells that the ticks come
 * from a timer (the output is off). Returns 0, -ENODEV when the vGPU is
 * shown nowhere, or -ENOMEM.
 */
int vgpu_get_vblank_fds(struct vgpu *vgpu, int *ticks, int *memfd, bool *timer);

/* Where the vGPU is shown: one view per output. */
struct vgpu_view_info {
	const char *output_name; /* the configuration's */
	struct kms_output *output;
	size_t slot;            /* its place in the output's vgpu= list */
	struct kms_rect region; /* of the output's logical space; empty while it has no mode */
	uint32_t refresh_mhz;   /* of the output's mode, 0 while it has none */
	uint32_t mm_width, mm_height; /* the region's share of the monitor, 0 if unknown */
	struct kms_layer *primary, *cursor;
};

/* The number of views, and the i-th (false when i is out of range). */
size_t vgpu_n_views(const struct vgpu *vgpu);
bool vgpu_get_view(const struct vgpu *vgpu, size_t i, struct vgpu_view_info *info);

/*
 * listener (data: the vgpu) is called when the vGPU's views change: one
 * added or gone, a region moved or resized (a new layout or mode).
 */
void vgpu_add_views_listener(struct vgpu *vgpu, struct wl_listener *listener);

/* The router's target for the vGPU (input/router.h). */
struct input_target *vgpu_input_target(struct vgpu *vgpu);

/* The vGPU a target of vgpu_input_target() belongs to. */
struct vgpu *vgpu_from_input_target(struct input_target *target);

/* Whether the vGPU shows a cursor of its own (the host cursor then hides over it). */
bool vgpu_has_cursor(const struct vgpu *vgpu);

/* The unaccelerated motion of the mouse while the vGPU has the pointer focus. */
void vgpu_relative_motion(struct vgpu *vgpu, uint64_t time_usec, double dx, double dy);

/*
 * Create the virtual keyboard, absolute pointer and touchscreen of the
 * vGPU ([vgpu] uinput = yes), whose nodes uid may open (0: root only).
 * Returns 0, or -1 with none made (logged).
 */
int vgpu_create_uinput(struct vgpu *vgpu, uid_t uid);

/* A virtual device of the vGPU, or NULL. */
struct uinput_device *vgpu_get_uinput(const struct vgpu *vgpu, enum uinput_kind kind);

#endif
