/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_KMS_DEVICE_H
#define VSCANOUT_KMS_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wayland-server-core.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "kms/fb.h"
#include "kms/properties.h"

/* Atomic async page flips (Linux 6.8); libdrm 2.4.114 does not know it yet. */
#ifndef DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP
#define DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP 0x15
#endif

/*
 * One KMS device (a DRM card node) driven by vscanoutd.
 *
 * kms_device_create() checks that the device speaks atomic KMS with
 * universal planes, reads its capabilities and enumerates its CRTCs,
 * planes (with their IN_FORMATS format and modifier sets) and connectors.
 * Every non-writeback connector becomes a struct kms_output (kms/output.h),
 * off until kms_output_enable(); writeback connectors are kept for captures
 * (kms/writeback.h). The DRM fd is watched on the event loop and page-flip
 * events are dispatched to the output that drives the CRTC they name, CRTC
 * sequence events to the vblank clocks of kms/vblank.h.
 *
 * Planes are shared: one liftoff_device holds every plane of the device and
 * each lit output places its layers on whichever plane its CRTC can use and
 * no other output holds (kms/place.c says how libliftoff 0.3 is kept from
 * touching another output's planes).
 *
 * Everything runs on the event loop given at creation; nothing here blocks,
 * except kms_device_destroy(), which turns the device's lit CRTCs off with a
 * blocking commit because nothing can wait for an event after it.
 */

struct buffer;
struct kms_output;
struct kms_writeback;
struct liftoff_device;

/* One format and modifier a plane accepts. */
struct kms_format {
	uint32_t fourcc;
	uint64_t modifier;
};

struct kms_plane {
	uint32_t id;
	uint32_t type; /* DRM_PLANE_TYPE_PRIMARY, _OVERLAY or _CURSOR */
	uint32_t possible_crtcs;
	uint32_t props[KMS_PLANE_PROP__COUNT];
	/*
	 * From the IN_FORMATS blob; without one, the plane's format list with
	 * DRM_FORMAT_MOD_LINEAR and DRM_FORMAT_MOD_INVALID for each format.
	 */
	struct kms_format *formats;
	size_t n_formats;
	uint32_t rotations; /* DRM_MODE_ROTATE_* (and REFLECT) bits of "rotation"; 0: none */
	/* private: who scans it out (kms/place.c) */
	struct kms_output *queued_on;  /* may be NULL: in that output's commit in flight */
	struct kms_output *current_on; /* may be NULL: on that output's screen */
};

struct kms_crtc {
	uint32_t id;
	uint32_t index; /* bit in possible_crtcs */
	uint32_t props[KMS_CRTC_PROP__COUNT];
	struct kms_output *owner; /* may be NULL: the enabled output driving it */
};

struct kms_device_caps {
	bool addfb2_modifiers;
	bool async_page_flip;        /* legacy drmModePageFlip(DRM_MODE_PAGE_FLIP_ASYNC) */
	bool atomic_async_page_flip; /* DRM_MODE_PAGE_FLIP_ASYNC on atomic commits */
	bool crtc_in_vblank_event;
	uint64_t cursor_width, cursor_height;
};

struct kms_device {
	struct wl_event_loop *loop;
	int fd;        /* borrowed: owned by the session */
	char name[32]; /* e.g. "card1", for logs */
	struct kms_device_caps caps;

	struct kms_crtc *crtcs;
	size_t n_crtcs;
	struct kms_plane *planes;
	size_t n_planes;
	struct wl_list outputs;           /* kms_output.link */
	struct kms_writeback *writebacks; /* may be NULL */
	size_t n_writebacks;

	/*
	 * Every framebuffer made on the device and every buffer's cached
	 * import, dropped with the device (kms/fb.h).
	 */
	struct kms_fb_registry fbs;
	struct buffer *cursor_image; /* may be NULL: see kms_device_get_cursor_image() */

	bool active;     /* commits allowed (see kms_device_set_active()) */
	bool force_copy; /* debug/test: every layer of every output is copied */

	struct liftoff_device *liftoff; /* private: may be NULL, every plane (kms/place.c) */

	struct wl_event_source *drm_source;
	struct wl_list vblank_clocks; /* private: clocks of kms/vblank.c, one per output */
	bool vblank_detached;         /* private: being destroyed, no new clocks (kms/vblank.c) */
};

/*
 * Take over the KMS device fd (borrowed: owned by the session, it must stay
 * open until kms_device_destroy()) under the name `name` ("card1", used in
 * logs and for qualifying output names). Sets the universal planes, atomic
 * and writeback connector client caps; fails with a message naming the
 * device and what is missing when the driver has no atomic modesetting.
 * Returns NULL after logging why.
 */
struct kms_device *kms_device_create(struct wl_event_loop *loop, int fd, const char *name);

/*
 * The host's pointer image (render/cursor.h) as a buffer of this device,
 * made on first use and freed with the device, so that no other device is
 * ever handed it. Borrowed: lock it to keep it. NULL when it cannot be made
 * (logged).
 */
struct buffer *kms_device_get_cursor_image(struct kms_device *device);

/*
 * Turn off the CRTCs the device's outputs lit (if the device is active and
 * the hardware still answers; a removed device fails harmlessly), drop every
 * plane claim and blob, and free the device and its outputs. Layers still on
 * outputs are destroyed, and their buffers unlocked. Every framebuffer made
 * on the device is removed while the fd is still open (kms_fb_registry_finish()):
 * buffers forget what they cached about it, and framebuffers still referenced
 * elsewhere turn dead. NULL is a no-op. Never call it from inside one of the
 * device's signals.
 */
void kms_device_destroy(struct kms_device *device);

/*
 * The output of the connector called name ("HDMI-A-1", "Virtual-1"), or
 * NULL. The daemon qualifies names by device ("card1:Virtual-1") when
 * several devices have a connector of the same name; this takes the bare
 * connector name.
 */
struct kms_output *kms_device_find_output(struct kms_device *device, const char *name);

/*
 * Re-read connector connector_id (0: all connectors, also picking up new
 * ones) after a udev hotplug event. An enabled output whose connector went
 * away or disconnected has its CRTC turned off and its planes, buffers and
 * blobs released; it keeps its settings and layers and gets its picture back
 * when the connector returns. An output whose link-status went BAD gets its
 * mode committed again. Does nothing but record the state while the device
 * is inactive.
 */
void kms_device_handle_hotplug(struct kms_device *device, uint32_t connector_id);

/*
 * The session gave the device to us (true) or took it away (false).
 * Inactive: no DRM call is made, frames are only recorded. Active again:
 * every enabled output gets a full modeset from scratch, since another DRM
 * master may have changed anything in between.
 */
void kms_device_set_active(struct kms_device *device, bool active);

/*
 * Debug and tests: copy every layer of every output of the device instead
 * of putting it on a plane (KMS_LAYER_MISS_FORCED_COPY). Takes effect with
 * the next frame, which is scheduled.
 */
void kms_device_set_force_copy(struct kms_device *device, bool force_copy);

/* The planes that could be used on crtc (possible_crtcs). */
bool kms_plane_can_use_crtc(const struct kms_plane *plane, const struct kms_crtc *crtc);

/* Whether plane accepts fourcc with modifier (INVALID matches an implicit entry). */
bool kms_plane_supports(const struct kms_plane *plane, uint32_t fourcc, uint64_t modifier);

#endif
