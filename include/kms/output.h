/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_KMS_OUTPUT_H
#define VSCANOUT_KMS_OUTPUT_H

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "kms/device.h"
#include "kms/flip.h"
#include "kms/properties.h"
#include "kms/rotation.h"
#include "util/percentile.h"

/*
 * Outputs and layers: what vscanoutd shows on one connector.
 *
 * An output is one connector of a struct kms_device ("Virtual-1"), found
 * with kms_device_find_output(). kms_output_enable() picks a CRTC and a mode
 * and lights it; from then on the output shows its layers (guest primary,
 * guest cursor, ...), each a struct buffer at a position, stacked by zpos.
 * Positions are in the output's logical space, the mode turned upright for
 * a rotated monitor (kms/rotation.h): each layer is turned on its way to
 * the mode, by its plane's "rotation" property when a plane of the output
 * can turn, else by the copy path.
 *
 * Each frame every layer's buffer is imported as a framebuffer (cached on
 * the buffer; a remembered failure costs nothing) and checked against the
 * IN_FORMATS of the planes its CRTC can use. When only framebuffers changed
 * since the last placement (same layers, sizes, formats, modifiers and
 * rectangles), that placement is committed again with the new FB_IDs alone
 * and no TEST_ONLY commit; a rejection, which changes nothing, falls back to
 * a new placement. Otherwise libliftoff places the layers on the device's
 * hardware planes that the CRTC can use and no other output holds, with
 * TEST_ONLY commits (reusing its own last placement costs one); the commit
 * carries this output's planes only. A layer that no plane takes is copied
 * with pixman (render/copy.h) into a scanout buffer on the primary plane
 * (the composition layer), over the placeholder colour; one the CPU cannot read
 * either (a tiled modifier) is left out, the placeholder shows in its place
 * and the layer says why (KMS_LAYER_MISS_UNREADABLE): never a scrambled
 * picture. An output whose layers
 * have no buffer shows the placeholder colour alone: never garbage or a
 * previous guest's last frame.
 *
 * Flips are non-blocking atomic commits with a page-flip event, at most one
 * in flight per output. Changes made while one is in flight are committed
 * from its flip event (mailbox: the newest state wins; nothing is queued).
 * Async flips (kms/flip.h) are used when the policy asks for them, the
 * frame is a reused placement of one whole-screen primary plane, and the
 * driver has not rejected them; a rejected async commit is committed again
 * with vsync, so no frame is dropped.
 * A real commit the kernel refuses although its test passed goes out again
 * with every layer copied; a frame no commit takes is announced
 * (events.failed), so that every source gets an answer.
 *
 * The copy path never waits for a producer: a frame that would copy a
 * dma-buf whose write fences have not signalled (implicit synchronisation:
 * its pixels are still being written) is not committed; the output waits
 * for that buffer on the event loop (struct buffer_waiter) and commits the
 * frame once it is readable, with whatever the layers hold then. The screen
 * keeps the previous frame meanwhile, and other outputs are not held up.
 * Directly scanned-out buffers are not checked: a non-blocking commit
 * leaves their fences to the kernel, which flips once they signal.
 *
 * A buffer handed to a layer is locked (buffer_lock()) and unlocked only once
 * a later frame without it is on screen, after that frame's present event,
 * so its `release` fires after its replacement's flip event.
 *
 * Frames are committed from an idle callback of the event loop, so that all
 * layer changes made in one dispatch land in one commit.
 */

struct buffer;
struct kms_layer;
struct scanout_buffer;
struct scanout_swapchain;
struct liftoff_device;
struct liftoff_output;
struct liftoff_layer;

/* Default placeholder: dark grey. */
#define KMS_PLACEHOLDER_DEFAULT 0x202020u

/* 16.16 fixed point, as KMS SRC_* properties take. */
#define KMS_FIXED(n) ((uint32_t)(n) << 16)

struct kms_output_settings {
	/* Mode: width × height at refresh_mhz (0: any rate); width 0: preferred. */
	uint32_t width, height;
	uint32_t refresh_mhz;
	enum kms_flip_policy flip;  /* KMS_FLIP_ASYNC by default */
	uint32_t placeholder;       /* 0xRRGGBB; KMS_PLACEHOLDER_DEFAULT by default */
	enum kms_rotation rotation; /* how the monitor is turned (kms/rotation.h) */
};

/* Fill settings with the defaults: preferred mode, async, dark grey. */
void kms_output_settings_init(struct kms_output_settings *settings);

/* Counters of an output since it was created, for inspection. */
struct kms_output_stats {
	uint64_t frames_direct;    /* presented frames where every visible layer was on a plane */
	uint64_t frames_copied;    /* presented frames that used the copy path */
	uint64_t frames_discarded; /* buffers handed to a layer and replaced before any commit
				      took them (mailbox: the newest wins) */
	uint64_t flips_vsync;
	uint64_t flips_async;
	uint64_t async_fallbacks; /* async commits rejected and committed again with vsync */
	uint64_t commits;         /* real (not TEST_ONLY) commits */
	uint64_t modesets;
	uint64_t commit_failures; /* real commits the kernel refused */
	uint64_t copy_fallbacks;  /* frames committed again with every layer copied after a
				     refused commit */
	uint64_t frames_failed;   /* frames no commit could take (events.failed) */
};

/* Flags of a present event. */
enum kms_present_flags {
	KMS_PRESENT_VSYNC = 1u << 0,     /* flipped on a vblank */
	KMS_PRESENT_ASYNC = 1u << 1,     /* flipped immediately (may tear) */
	KMS_PRESENT_ZERO_COPY = 1u << 2, /* every visible layer was scanned out directly */
	KMS_PRESENT_MODESET = 1u << 3,   /* the frame came with a modeset */
	KMS_PRESENT_TURNED = 1u << 4,    /* the first frame of a new rotation, without a modeset:
					    the logical size may have changed */
};

#define KMS_PRESENT_MAX_LAYERS 16

/* What one layer contributed to a presented frame. */
struct kms_present_layer {
	struct kms_layer *layer;
	struct buffer *buffer; /* may be NULL: borrowed, valid during the emission */
	bool zero_copy;        /* on a plane, not copied */
	bool shown;            /* false: neither a plane nor the copy path could show its
				  buffer (KMS_LAYER_MISS_UNREADABLE), the placeholder is there */
	uint64_t submitted_ns; /* CLOCK_MONOTONIC time its buffer was handed over, 0: not new */
};

/* Data of kms_output.events.present: a frame reached the screen. */
struct kms_present_event {
	struct kms_output *output;
	uint64_t time_ns;  /* CLOCK_MONOTONIC timestamp of the flip event */
	uint32_t sequence; /* the CRTC's vblank counter from the flip event */
	uint32_t flags;    /* enum kms_present_flags */
	size_t n_layers;   /* layers with a buffer, first KMS_PRESENT_MAX_LAYERS */
	struct kms_present_layer layers[KMS_PRESENT_MAX_LAYERS];
};

enum kms_output_state {
	KMS_OUTPUT_OFF = 0,   /* not enabled */
	KMS_OUTPUT_WAITING,   /* enabled, connector absent or no CRTC: lights up when it can */
	KMS_OUTPUT_ON,        /* CRTC lit (or being lit) */
	KMS_OUTPUT_DISABLING, /* turning off, waiting for the commit's event */
};

struct kms_output {
	struct kms_device *device;
	struct wl_list link; /* kms_device.outputs */

	uint32_t connector_id;
	char name[32]; /* KMS connector name, "Virtual-1" */
	uint32_t connector_props[KMS_CONNECTOR_PROP__COUNT];
	uint32_t possible_crtcs;
	bool connected;
	drmModeModeInfo *modes; /* may be NULL */
	int n_modes;

	enum kms_output_state state;
	bool enabled; /* wanted on by the user: settings are kept while it waits */
	struct kms_output_settings settings;
	struct kms_crtc *crtc; /* may be NULL while not on */
	drmModeModeInfo mode;
	uint32_t mode_blob; /* 0 if none; destroyed when the CRTC goes off (a new mode relights) */
	bool needs_modeset;
	bool off_announced; /* events.off went out since the output was last lit */
	bool turned;        /* the rotation changed since the last commit */
	bool force_copy;

	struct wl_list layers; /* kms_layer.link, by ascending zpos */

	/* private: placement, composition and flips */
	struct liftoff_output *liftoff_output;   /* may be NULL while not on */
	struct liftoff_layer *placeholder_layer; /* may be NULL while not on */
	struct liftoff_layer *composition_layer; /* may be NULL while not on */
	struct scanout_swapchain *swapchain;     /* may be NULL while not on */
	struct scanout_buffer *comp_queued;      /* may be NULL */
	struct scanout_buffer *comp_current;     /* may be NULL */
	bool queued_copied;
	uint32_t last_primary_fb; /* FB_ID on the primary plane in the last commit */
	bool placed_valid;        /* the last placement may be reused with new FB_IDs */
	bool plane_wait;          /* a layer was copied as its plane was another output's */
	bool placed_any_visible;
	uint32_t placed_comp_plane;   /* plane of the composition/placeholder buffer, 0: none */
	struct wl_event_source *idle; /* may be NULL: a frame is scheduled */
	struct wl_event_source *frame_timer; /* may be NULL: made on first use */
	bool frame_timer_armed;              /* a frame waits for its commit deadline */
	uint64_t last_flip_ns; /* CLOCK_MONOTONIC time of the last flip event, 0: none */
	bool frame_wanted;     /* something changed since the last commit */
	bool flip_pending;     /* a commit with an event is in flight */
	enum kms_flip_method queued_method;
	enum kms_async_probe atomic_async_probe;
	enum kms_async_probe legacy_async_probe;
	struct kms_capture *capture;            /* may be NULL: a capture waiting or in flight */
	bool writeback_bound;                   /* the writeback connector is on our CRTC */
	struct kms_present_event present_event; /* of the commit in flight */
	uint64_t commit_seq;                    /* successful commits with an event */
	struct wl_list dead_layers;             /* kms_layer.link, destroyed, buffers still shown */
	bool off_committed;                     /* DISABLING: the off commit is in flight */
	struct buffer_waiter readable_wait;     /* a buffer to copy is still being written */
	/* The frames' request, kept emptied between them (commit.c). */
	struct kms_atomic atomic_spare;

	struct kms_output_stats stats;
	/* µs from a layer getting a buffer to the flip that showed it (kms_layer_set_buffer()) */
	struct percentile latency;

	struct {
		struct wl_signal present; /* data: struct kms_present_event */
		/*
		 * The output stops showing frames: it turns off (disabled, a new
		 * mode, blanked) or its CRTC is gone (unplugged). No present event
		 * comes for a frame committed before, nor for any frame until it is
		 * lit again. Data: the struct kms_output.
		 */
		struct wl_signal off;
		/*
		 * A frame could not be committed: the kernel refused it (also
		 * with every layer copied), or no plane configuration could be
		 * built. No present event comes for it; the layers keep their
		 * buffers and the next change commits again. Data: the struct
		 * kms_output.
		 */
		struct wl_signal failed;
		/*
		 * The output is being freed (its card went away or the device is
		 * destroyed). Data: the struct kms_output. Its layers are freed
		 * right after the listeners return: a listener forgets the layers
		 * it created without destroying them.
		 */
		struct wl_signal destroy;
	} events;
};

/*
 * Light the output with settings (copied; NULL: defaults). Picks a CRTC the
 * connector can drive that no other enabled output of the device uses
 * (preferring the one it is already on), the mode asked for (or the
 * preferred one when it has none or none matches, with a warning), claims
 * planes and commits a full modeset on the next frame. Calling it on an on
 * output applies new settings (a modeset only if the mode changes). When
 * the connector is disconnected or no CRTC is free the output waits and
 * lights up on a later kms_device_handle_hotplug(). Returns 0, -ENOENT when
 * no mode fits and there is no preferred mode, or a negative errno.
 */
int kms_output_enable(struct kms_output *output, const struct kms_output_settings *settings);

/*
 * Turn the output off: its CRTC is disabled, planes and buffers are released
 * once the commit completed. Layers stay and keep their buffers locked.
 */
void kms_output_disable(struct kms_output *output);

/* Debug and tests: copy this output's layers instead of scanning them out. */
void kms_output_set_force_copy(struct kms_output *output, bool force_copy);

/*
 * Draw what the output shows into image (pixman, the mode's size, as the
 * CRTC scans it out): the placeholder colour and every layer with a buffer,
 * read by the CPU, turned and scaled as on screen. For screenshots without
 * writeback. Never waits: a layer whose dma-buf is still being written
 * (buffer_readable() false) is left out with -EAGAIN; callers wait for it
 * first (struct buffer_waiter). Returns 0, -ENODEV when the output is not
 * on, or the first error of reading a layer (the others are drawn).
 */
int kms_output_compose(struct kms_output *output, pixman_image_t *image);

/* Commit a frame with the current state soon (from an idle callback). */
void kms_output_schedule_frame(struct kms_output *output);

/*
 * Commit a frame now if the output is on, the device active and no flip is
 * in flight (otherwise the flip event commits it). Normally reached through
 * kms_output_schedule_frame().
 */
void kms_output_commit(struct kms_output *output);

/*
 * Width and height of the output's logical space, where its layers are
 * placed: the mode's, swapped when the rotation is 90 or 270 degrees
 * (kms/rotation.h). 0 × 0 while it has no mode.
 */
void kms_output_get_size(const struct kms_output *output, uint32_t *width, uint32_t *height);

/* Width and height of the output's mode as the CRTC scans it out, 0 × 0 while it has none. */
void kms_output_get_mode_size(const struct kms_output *output, uint32_t *width, uint32_t *height);

/*
 * The rectangle of the mode that `logical`, a rectangle of the output's
 * logical space, covers (kms_rotation_rect_to_mode() with the output's
 * rotation and mode).
 */
void kms_output_rect_to_mode(const struct kms_output *output, const struct kms_rect *logical,
			     struct kms_rect *mode);

/* A mode's refresh rate in millihertz (interlace, double scan, vscan counted); 0 if unknown. */
uint32_t kms_mode_refresh_mhz(const drmModeModeInfo *mode);

/* The connector's physical size in millimetres, 0 × 0 when unknown. */
void kms_output_get_physical_size(const struct kms_output *output, uint32_t *width_mm,
				  uint32_t *height_mm);

/*
 * The monitor's EDID (the connector's EDID blob), copied into *edid
 * (malloc'd, the caller frees) of *size bytes. Returns 0, -ENOENT when the
 * connector has none, or a negative errno.
 */
int kms_output_read_edid(const struct kms_output *output, uint8_t **edid, size_t *size);

/* Why a layer is not scanned out directly (bits). */
enum kms_layer_miss {
	KMS_LAYER_MISS_IMPORT = 1u << 0,      /* the device cannot import the buffer */
	KMS_LAYER_MISS_PIXELS_ONLY = 1u << 1, /* a CPU buffer, no dma-buf */
	KMS_LAYER_MISS_FORMAT = 1u << 2,      /* no usable plane lists the format + modifier */
	KMS_LAYER_MISS_NO_PLANE = 1u << 3,    /* libliftoff found no plane for it */
	KMS_LAYER_MISS_FORCED_COPY = 1u << 4, /* kms_output/device_set_force_copy() */
	KMS_LAYER_MISS_ROTATION = 1u << 5,    /* the output is rotated, no plane of it can turn */
	KMS_LAYER_MISS_UNREADABLE = 1u << 6,  /* no plane took it and the copy path cannot read
						 it (render_copy_can_read()): a tiled modifier;
						 the placeholder shows in its place */
	KMS_LAYER_MISS__COUNT = 7,
};

/*
 * "import", "pixels-only", "format", "no-plane", "forced-copy", "rotation",
 * "unreadable".
 */
const char *kms_layer_miss_name(enum kms_layer_miss bit);

/* Inspection of a layer, as of the last committed frame. */
struct kms_layer_state {
	bool visible;      /* has a buffer */
	bool direct;       /* scanned out on plane_id */
	uint32_t plane_id; /* 0 unless direct */
	bool copied;       /* drawn into the composition buffer (not when UNREADABLE) */
	uint32_t miss;     /* enum kms_layer_miss bits, 0 when direct */
	uint32_t fourcc;   /* of the buffer, 0 without one */
};

/* A rectangle on the output, in pixels. */
struct kms_rect {
	int32_t x, y;
	uint32_t width, height;
};

/* A rectangle of a buffer in 16.16 fixed point (KMS_FIXED()). */
struct kms_fixed_rect {
	uint32_t x, y;
	uint32_t width, height;
};

/* private: where a layer went in the last placement libliftoff made */
struct kms_layer_placed {
	bool valid, visible;
	uint32_t import_miss; /* reasons known before placement */
	uint32_t miss;        /* after placement (NO_PLANE added) */
	uint32_t plane_id;    /* 0: copied */
	uint32_t width, height, fourcc;
	uint64_t modifier;
	struct kms_rect dst;
	struct kms_fixed_rect src;
};

struct kms_layer {
	struct kms_output *output;
	struct wl_list link; /* kms_output.layers */
	int zpos;

	struct buffer *buffer; /* may be NULL: locked while here */
	struct kms_fixed_rect src;
	struct kms_rect dst;

	struct kms_layer_state state;

	/* private */
	struct liftoff_layer *liftoff; /* may be NULL while the output is not on */
	struct kms_fb *fb;             /* may be NULL: fb of buffer on this device */
	struct buffer *queued_buffer;  /* may be NULL: locked, in the commit in flight */
	struct kms_fb *queued_fb;      /* may be NULL */
	struct buffer *current_buffer; /* may be NULL: locked, on screen */
	struct kms_fb *current_fb;     /* may be NULL */
	struct kms_layer_placed placed;
	bool fresh;            /* buffer was set since the last commit */
	bool refused;          /* on a plane in a commit the kernel refused */
	uint64_t submitted_ns; /* when, with fresh */
	bool dead;             /* destroyed by the user, freed after dead_seq's successor flipped */
	uint64_t dead_seq;     /* kms_output.commit_seq when it was destroyed */
};

/*
 * A new layer on output at zpos (higher is nearer the viewer), without a
 * buffer. Returns NULL on allocation failure.
 */
struct kms_layer *kms_output_create_layer(struct kms_output *output, int zpos);

/*
 * Remove the layer: it disappears with the next frame (scheduled). Its
 * buffers are unlocked once that frame is on screen. NULL is a no-op.
 */
void kms_layer_destroy(struct kms_layer *layer);

/*
 * Show buffer (may be NULL: nothing; borrowed, locked by the layer until a
 * frame without it is on screen) with src of it (NULL: the whole buffer)
 * stretched onto dst of the output (NULL: the whole output). Passing the
 * same buffer again commits it again (front-buffer rendering). Schedules a
 * frame.
 */
void kms_layer_set_buffer(struct kms_layer *layer, struct buffer *buffer,
			  const struct kms_fixed_rect *src, const struct kms_rect *dst);

/* Like kms_layer_set_buffer() with an integer source rectangle. */
void kms_layer_set_buffer_int(struct kms_layer *layer, struct buffer *buffer,
			      const struct kms_rect *src, const struct kms_rect *dst);

/* Inspection: how the layer went out in the last committed frame. */
void kms_layer_get_state(const struct kms_layer *layer, struct kms_layer_state *state);

/*
 * Where the layer's buffer goes: src of the buffer (16.16) onto dst of the
 * mode, defaults filled in (the whole buffer, the whole mode). False when
 * the layer has no buffer.
 */
bool kms_layer_get_rects(const struct kms_layer *layer, struct kms_fixed_rect *src,
			 struct kms_rect *dst);

/* What a plane shows for an output (struct kms_output_info). */
enum kms_plane_content {
	KMS_PLANE_CONTENT_NONE = 0,    /* nothing of this output */
	KMS_PLANE_CONTENT_LAYER,       /* a layer's framebuffer, scanned out directly */
	KMS_PLANE_CONTENT_COMPOSITION, /* the composition buffer: copied layers */
	KMS_PLANE_CONTENT_PLACEHOLDER, /* the placeholder colour alone */
};

/* "none", "layer", "composition", "placeholder". */
const char *kms_plane_content_name(enum kms_plane_content content);

/* One plane the output's CRTC can use, as of the output's last successful commit. */
struct kms_plane_info {
	uint32_t id;
	uint32_t type; /* DRM_PLANE_TYPE_PRIMARY, _OVERLAY or _CURSOR */
	enum kms_plane_content content;
	int layer_zpos;            /* with KMS_PLANE_CONTENT_LAYER */
	uint32_t fb_id;            /* 0 with KMS_PLANE_CONTENT_NONE */
	uint32_t crtc_id;          /* 0 with KMS_PLANE_CONTENT_NONE */
	struct kms_rect crtc;      /* on the mode, unless NONE */
	struct kms_fixed_rect src; /* of the framebuffer, unless NONE */
	int rotation;              /* degrees the plane turns its framebuffer, unless NONE */
};

#define KMS_OUTPUT_INFO_MAX_PLANES 32

/*
 * A snapshot of an output for inspection (vscanoutctl status): everything
 * that is not a field of struct kms_output meant for its users.
 */
struct kms_output_info {
	enum kms_output_state state;
	bool enabled;   /* wanted on by the user */
	bool connected; /* the connector is */
	uint32_t connector_id;
	uint32_t crtc_id;   /* 0 without a CRTC */
	uint32_t mode_blob; /* 0 without one */
	bool has_mode;      /* lit (on or disabling) with a mode: mode is valid */
	drmModeModeInfo mode;
	struct kms_output_settings settings;
	bool force_copy; /* of the output or its whole device */
	bool capture;    /* a writeback capture waits or is in flight */
	struct kms_output_stats stats;
	uint32_t latency_samples; /* flips measured in latency_p50_us/p99_us */
	uint32_t latency_p50_us, latency_p99_us;
	/* The planes the output's CRTC can use (none while it has no CRTC). */
	size_t n_planes;
	struct kms_plane_info planes[KMS_OUTPUT_INFO_MAX_PLANES];
};

/* Fill info with the output's state now. */
void kms_output_get_info(const struct kms_output *output, struct kms_output_info *info);

/* private, for kms/device.c (the frame pipeline's own are in kms/private.h) */

/* Free the output and its layers; the device is being destroyed. */
void kms_output_destroy(struct kms_output *output);

/* The commit in flight on the output's CRTC completed. */
void kms_output_handle_flip(struct kms_output *output, uint32_t sequence, uint64_t time_ns);

/*
 * Bring the output in line with its connector and the device's activity:
 * light it, turn it off, or re-commit its mode (link-status BAD).
 */
void kms_output_update(struct kms_output *output);

#endif
