/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_VFIO_SOURCE_H
#define VSCANOUT_VFIO_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wayland-server-core.h>

/*
 * A VFIO display source: the guest planes of one mediated vGPU, read by
 * vscanoutd itself.
 *
 * The source owns the VFIO device fd a VMM handed over. It polls the
 * guest's primary and cursor planes (VFIO_DEVICE_QUERY_GFX_PLANE) paced by
 * the display (vfio/pacer.h): once per refresh of its clock output, just
 * before the vblank, or about once a second while it has no clock. When a
 * plane changed (dmabuf_id, size, format, position) it gets the new plane's
 * dma-buf (VFIO_DEVICE_GET_GFX_DMABUF) unless its LRU cache (vfio/cache.h)
 * holds it, and hands the planes to its user through the frame callback;
 * an unchanged guest costs two queries per poll and no commit, and a guest
 * screen that stays unchanged is polled less and less often (every 2nd,
 * 4th, then 8th refresh) until it changes again.
 *
 * Region planes (mdpy) are mapped once and handed over as CPU buffers over
 * the mapping at every poll, so the output copies them at most once per
 * refresh.
 *
 * Failures: a query or import that fails transiently (ENOMEM, EAGAIN,
 * EBUSY: mbochs fails the first query after a mode change) is retried at
 * the next poll and counted; the planes on screen stay. A disabled plane
 * (format 0) is handed over as no buffer: the placeholder shows. So is a
 * plane the device describes with values that make no sense
 * (vfio_display_check_plane(), or a dma-buf or region that does not hold
 * it): that is logged as an error naming the vGPU and the value (once per
 * plane and 10 s), the same answer is not looked at again, and the plane
 * shows as soon as the device describes a valid one. ENODEV,
 * EIO, EBADF, ENXIO, EFAULT or a hung-up fd mean the device is gone: the
 * source stops polling, hands over no buffers and calls lost once.
 */

struct buffer;
struct kms_output;
struct vfio_source;

/* How the source polls. */
struct vfio_source_options {
	/* Starts the source's messages, e.g. "vgpu kiosk-a"; may be NULL. Copied. */
	const char *name;
	/* 0: paced by the clock output's vblanks; else a fixed period in ms. */
	uint32_t poll_interval_ms;
	/* Write an EDID into the device's EDID region, if it has one. */
	enum vfio_source_edid {
		VFIO_SOURCE_EDID_MONITOR =
			0,                 /* the monitor's own EDID when it fits, else generated */
		VFIO_SOURCE_EDID_GENERATE, /* always a generated EDID of the output's mode */
		VFIO_SOURCE_EDID_OFF,      /* leave the region alone */
	} edid;
};

/* What the guest shows, handed to the source's user. */
struct vfio_source_frame {
	struct buffer *primary; /* may be NULL: disabled; borrowed (ref to keep it) */
	struct buffer *cursor;  /* may be NULL: hidden or no cursor plane; borrowed */
	/* Top-left corner of the cursor image on the primary, hotspot applied. */
	int32_t cursor_x, cursor_y;
	bool primary_changed, cursor_changed;
};

struct vfio_source_impl {
	/* The guest's planes changed (or must be shown again: region planes). */
	void (*frame)(void *data, const struct vfio_source_frame *frame);
	/* The device is gone; message says why. The source stays, idle. */
	void (*lost)(void *data, const char *message);
};

/* Counters of a source since it was created, for inspection. */
struct vfio_source_stats {
	uint64_t polls;            /* poll ticks */
	uint64_t changes;          /* polls that handed a frame over (region planes: every poll) */
	uint64_t imports;          /* dma-bufs obtained with GET_GFX_DMABUF */
	uint64_t cache_hits;       /* changes served by the LRU cache */
	uint64_t transient_errors; /* failed queries or imports retried later */
	uint64_t refused_planes;   /* plane answers refused as making no sense */
	uint64_t frames_presented; /* guest changes that reached the screen */
	uint64_t late_frames;      /* ... a vblank later than the poll aimed at */
	uint32_t margin_us;        /* how long before the vblank the poll runs now */
	uint32_t poll_stride;    /* refreshes per poll now: 1, up to 8 while the screen is static */
	uint32_t latency_p50_us; /* poll that saw a change -> its flip, 0 if none yet */
	uint32_t latency_p99_us;
};

enum vfio_source_kind {
	VFIO_SOURCE_DMABUF,
	VFIO_SOURCE_REGION,
};

/*
 * A source on the VFIO device fd (taken: closed on failure too). Checks
 * that fd is a VFIO device with a display (vfio/device.h). Returns NULL
 * with the reason in msg ("fd 7 is not a VFIO device: ...") when it is not.
 */
struct vfio_source *vfio_source_create(struct wl_event_loop *loop, int fd,
				       const struct vfio_source_options *options,
				       const struct vfio_source_impl *impl, void *data, char *msg,
				       size_t msg_size);

/*
 * Stop polling, drop the cache and close the device. Buffers the user
 * still holds references to stay valid (the device fd is closed only once
 * the last buffer exported through it is gone, so a guest framebuffer on
 * screen never outlives the device's state). NULL is a no-op.
 */
void vfio_source_destroy(struct vfio_source *source);

enum vfio_source_kind vfio_source_get_kind(const struct vfio_source *source);

/*
 * The output whose vblanks pace the polls and which the EDID describes;
 * NULL: none (polled about once a second). Polls right away.
 */
void vfio_source_set_clock(struct vfio_source *source, struct kms_output *output);

/* The clock output's mode or monitor changed: write the EDID again. */
void vfio_source_output_changed(struct vfio_source *source);

/*
 * The guest is shown in a width x height region of its clock output (0 x 0
 * or the output's whole size: all of it): the EDID then describes a mode
 * of the region's size (generated, also with edid = monitor), so that the
 * guest renders at the size it is shown.
 */
void vfio_source_set_region(struct vfio_source *source, uint32_t width, uint32_t height);

/*
 * A frame that carried buffers of this source reached the screen of the
 * clock output at time_ns (CLOCK_MONOTONIC): learns the margin, records
 * latency. primary is the primary buffer of that frame.
 */
void vfio_source_presented(struct vfio_source *source, const struct buffer *primary,
			   uint64_t time_ns);

/*
 * Query the planes now and hand changes over, as a tick of the poll timer
 * does (the schedule is unchanged). Does nothing once the device is lost.
 */
void vfio_source_poll_now(struct vfio_source *source);

void vfio_source_get_stats(const struct vfio_source *source, struct vfio_source_stats *stats);

#endif
