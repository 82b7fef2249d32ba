/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_QEMU_FRAME_H
#define VSCANOUT_QEMU_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "vgpu/vgpu.h"

/*
 * The picture of one QEMU console, as its D-Bus display listener calls
 * build it (qemu/listener.c parses the calls; this file holds the
 * pixels):
 *
 *  - Scanout/Update (pixels in the message) and ScanoutMap/UpdateMap
 *    (QEMU's shared memory) are copied into a ring of buffers of the
 *    daemon's own memory, only the damaged rectangle (and what the ring
 *    buffer written missed since it was last written). Each ring buffer
 *    is a udmabuf where /dev/udmabuf exists, so a plane can scan it out;
 *    otherwise CPU pixels for the copy path.
 *  - ScanoutDMABUF is imported without copying; QEMU sends the same
 *    buffer again with a new fd, which is recognised (the dma-buf's inode)
 *    and keeps its framebuffer. With y0_top false the picture is upside
 *    down: it is copied turned into the ring (never read while its write
 *    fences are pending).
 *  - CursorDefine/MouseSet give the cursor buffer (ARGB8888) and its place.
 *
 * Pixman formats become DRM fourccs through util/fourcc.h's table; an
 * unknown one is an error naming it. Nothing here waits on QEMU.
 */

struct qemu_frame;

/*
 * Called whenever qemu_frame_get() has something new to show: from within
 * the qemu_frame_* call that made it, or later from the loop (a ring
 * buffer freed for a pending update, a dma-buf's fences signalled).
 */
typedef void (*qemu_frame_changed_fn)(void *data);

struct qemu_frame *qemu_frame_create(struct wl_event_loop *loop, qemu_frame_changed_fn changed,
				     void *data);

/* Drops every buffer (those on screen stay alive until released). NULL is a no-op. */
void qemu_frame_destroy(struct qemu_frame *frame);

/*
 * Every call below returns 0, or a negative errno with a message naming
 * the problem in msg (e.g. "Scanout: pixman format 0x12345678 is not
 * supported", "Update: rectangle 10,10 700x20 is outside the 640x400
 * scanout"); the picture is then left as it was.
 */

/*
 * Scanout: a new picture of width x height; data holds height rows of
 * stride bytes. A copy of the picture (with rows aligned to 256 bytes)
 * must fit in 256 MiB: -E2BIG otherwise (also for ScanoutMap and an
 * upside-down ScanoutDMABUF).
 */
int qemu_frame_scanout(struct qemu_frame *frame, uint32_t width, uint32_t height, uint32_t stride,
		       uint32_t pixman_format, const void *data, size_t size, char *msg,
		       size_t msg_size);

/*
 * Update: the rectangle x,y width x height; data holds its rows, stride
 * bytes apart. A rectangle outside the picture but inside one of the
 * largest size gives -ERANGE (nothing is written): QEMU changes the
 * picture's size without a Scanout until a whole-picture update, which
 * its VGA text mode never sends (qemu/display.c then asks for the
 * picture again). Any other bad rectangle is -EINVAL.
 */
int qemu_frame_update(struct qemu_frame *frame, int32_t x, int32_t y, int32_t width, int32_t height,
		      uint32_t stride, uint32_t pixman_format, const void *data, size_t size,
		      char *msg, size_t msg_size);

/*
 * ScanoutMap: the picture is in the shared memory fd (borrowed) at offset.
 * Memory sealed against shrinking (F_SEAL_SHRINK) is mapped read-only;
 * other memory, which QEMU could shrink under a mapping's reader, is
 * duplicated and read with pread() (a shrunk memory is then an error).
 */
int qemu_frame_scanout_map(struct qemu_frame *frame, int fd, uint32_t offset, uint32_t width,
			   uint32_t height, uint32_t stride, uint32_t pixman_format, char *msg,
			   size_t msg_size);

/* UpdateMap: the rectangle changed in the shared memory. */
int qemu_frame_update_map(struct qemu_frame *frame, int32_t x, int32_t y, int32_t width,
			  int32_t height, char *msg, size_t msg_size);

/*
 * ScanoutDMABUF: fd (borrowed; duplicated when it is a buffer not seen
 * before) is a dma-buf of one plane.
 */
int qemu_frame_scanout_dmabuf(struct qemu_frame *frame, int fd, uint32_t width, uint32_t height,
			      uint32_t stride, uint32_t fourcc, uint64_t modifier, bool y0_top,
			      char *msg, size_t msg_size);

/* UpdateDMABUF: the rectangle of the current dma-buf changed. */
int qemu_frame_update_dmabuf(struct qemu_frame *frame, int32_t x, int32_t y, int32_t width,
			     int32_t height, char *msg, size_t msg_size);

/* Disable: no picture and no cursor (the vGPU shows nothing; the placeholder is drawn there). */
void qemu_frame_disable(struct qemu_frame *frame);

/* CursorDefine: data holds width x height ARGB8888 pixels (4 × width bytes per row). */
int qemu_frame_cursor_define(struct qemu_frame *frame, int32_t width, int32_t height, int32_t hot_x,
			     int32_t hot_y, const void *data, size_t size, char *msg,
			     size_t msg_size);

/*
 * MouseSet: the pointer is at x,y of the picture; on == 0 hides the
 * cursor. The cursor stays hidden until the first MouseSet with on != 0.
 */
void qemu_frame_mouse_set(struct qemu_frame *frame, int32_t x, int32_t y, int32_t on);

/*
 * What to show now, for vgpu_show(): VGPU_PLACE_SCALED, the primary (NULL
 * when disabled or before the first scanout) and the cursor at its place
 * (hotspot applied). Buffers are borrowed, valid until the next qemu_frame_*
 * call.
 */
void qemu_frame_get(struct qemu_frame *frame, struct vgpu_frame *out);

/* For the status. */
struct qemu_frame_info {
	bool enabled;           /* a picture is set */
	uint32_t width, height; /* of the picture, 0 if none */
	uint32_t fourcc;        /* DRM_FORMAT_*, 0 if none */
	uint32_t pixman_format; /* as QEMU named it, 0 for a dma-buf */
	enum qemu_frame_kind {
		QEMU_FRAME_NONE,
		QEMU_FRAME_PIXELS, /* Scanout/Update: copied */
		QEMU_FRAME_MAP,    /* ScanoutMap/UpdateMap: copied from shared memory */
		QEMU_FRAME_DMABUF, /* ScanoutDMABUF: imported as it is */
	} kind;
	bool flipped;        /* a dma-buf with y0_top false, copied turned */
	bool udmabuf;        /* the ring's buffers are udmabufs (else CPU pixels) */
	uint64_t updates;    /* Scanout*, Update* calls taken */
	uint64_t dmabuf_fds; /* dma-buf fds received */
	uint64_t dmabufs;    /* distinct dma-bufs among them */
};

void qemu_frame_get_info(const struct qemu_frame *frame, struct qemu_frame_info *info);

/*
 * The DRM fourcc of a pixman format code as QEMU sends it, or 0 when
 * unknown. A console's picture is opaque: a format with alpha gives its
 * opaque twin (QEMU 7.2 sends 0x20028888, PIXMAN_a8r8g8b8, whose alpha
 * byte is not meant as such: XRGB8888).
 */
uint32_t qemu_fourcc_from_pixman(uint32_t pixman_format);

#endif
