/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_VGPU_PRIVATE_H
#define VSCANOUT_VGPU_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "input/router.h"
#include "input/uinput.h"
#include "kms/output.h"
#include "kms/scale.h"
#include "vgpu/vgpu.h"

struct config_output;

/* The vGPU core's objects, shared by manager.c, vgpu.c, view.c and input.c. */

struct vgpu_manager {
	const struct config *config;   /* borrowed */
	struct display *displays;      /* borrowed */
	struct input_forward *forward; /* may be NULL */
	struct wl_list vgpus;          /* vgpu.link */
};

/* A vGPU on one output: its region there and its layers. */
struct vgpu_view {
	struct vgpu *vgpu;
	struct wl_list link; /* vgpu.views, in configuration order */
	char *name;          /* the configuration's name of the output */
	struct kms_output *output;
	size_t slot;               /* its place in the output's vgpu= list: stacking, region */
	enum kms_scale scale;      /* of the output, for scaled frames */
	bool cursor_hidden;        /* [output] cursor = hidden */
	struct kms_rect region;    /* where it was placed last, logical space */
	struct kms_layer *primary; /* zpos VGPU_ZPOS(slot) */
	struct kms_layer *cursor;  /* one above */
	struct wl_listener present;
	struct wl_listener output_off;
	struct wl_listener output_failed;
	struct wl_listener output_destroy;
};

/* The layers of slot s: primary and cursor, above those of lower slots. */
#define VGPU_ZPOS(s) (1 + 2 * (int)(s))

/* A frame not yet answered by frame_done. */
struct vgpu_commit {
	struct wl_list link; /* vgpu.commits, oldest first */
	uint32_t serial;
	uint64_t target; /* the clock output's commit_seq that carries it */
};

struct vgpu {
	struct vgpu_manager *manager;
	struct wl_list link; /* vgpu_manager.vgpus */
	char *name;
	struct vgpu_owner_info owner;
	struct vgpu_source *source; /* may be NULL */
	struct wl_list views;       /* vgpu_view.link */
	/*
	 * may be NULL: shown nowhere. The view whose output paces the vGPU:
	 * [vgpu] clock= when it is shown there, else the first view.
	 */
	struct vgpu_view *clock;
	bool clock_missing;      /* clock= names an output that does not show it (logged once) */
	struct vgpu_frame frame; /* references to its buffers */
	struct wl_list commits;  /* vgpu_commit.link */
	struct kms_vblank_source *vblank_source;          /* may be NULL: made on first use */
	struct input_target target;                       /* the router's, see input.c */
	struct input_target *sink;                        /* may be NULL: the attaching side's */
	struct uinput_device *uinput[UINPUT_KIND__COUNT]; /* may be NULL */
	struct wl_signal views_changed; /* data: the vgpu; its views or their regions changed */
};

/* view.c: a view of vgpu on output as [output] co gives it; NULL on allocation failure. */
struct vgpu_view *vgpu_view_create(struct vgpu *vgpu, const struct config_output *co,
				   struct kms_output *output);
void vgpu_view_destroy(struct vgpu_view *view);

/*
 * Bring the view in line with co (slot, scale, cursor) and the output's
 * size: the frame is placed again where anything changed. Returns whether
 * its region changed.
 */
bool vgpu_view_update(struct vgpu_view *view, const struct config_output *co);

/* Place the vGPU's frame into the view's region (its layers get their buffers). */
void vgpu_view_show(struct vgpu_view *view);

/* vgpu.c: the view's output presented a frame / turned off / failed one / is going away. */
void vgpu_handle_present(struct vgpu_view *view, const struct kms_present_event *ev);
void vgpu_handle_output_stopped(struct vgpu_view *view);
void vgpu_handle_view_gone(struct vgpu_view *view);

/* vgpu.c: answer every frame not answered yet with discarded. */
void vgpu_discard_commits(struct vgpu *vgpu);

/* vgpu.c: tell the source its region of the clock output (it moved, or the clock did). */
void vgpu_tell_clock_region(struct vgpu *vgpu);

/* vgpu.c: choose the clock again (views or configuration changed). */
void vgpu_update_clock(struct vgpu *vgpu);

/* input.c */
extern const struct input_target_impl vgpu_target_impl;
void vgpu_destroy_uinput(struct vgpu *vgpu);

#endif
