/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_RENDER_COPY_H
#define VSCANOUT_RENDER_COPY_H

#include <stdbool.h>
#include <stdint.h>

#include <pixman.h>

struct buffer;

/*
 * Drawing with pixman into a scanout buffer (render/scanout.h: its `image`)
 * or any pixman image: the placeholder's solid fill, copying a buffer with
 * format conversion and scaling, and blending a cursor over it.
 *
 * Nothing is allocated per call beyond pixman image wrappers around existing
 * memory. An unscaled copy between formats of the same layout (XRGB8888 to
 * XRGB8888) is a straight pixman blit.
 *
 * Scaling: nearest when the destination is an exact integer multiple of the
 * source in both directions (including 1:1), bilinear otherwise; samples
 * never come from outside the source rectangle (edges are padded).
 *
 * Errors: 0 or a negative errno; bad input (empty or out-of-bounds
 * rectangles, a format pixman cannot read) is -EINVAL with a logged
 * message, never a crash.
 */

struct render_rect {
	int32_t x, y;
	uint32_t width, height;
};

enum render_op {
	RENDER_OP_SRC,  /* replace the destination; into a destination without alpha the
			   source's alpha is ignored and X bits are undefined (a plain
			   blit keeps the source's padding byte) */
	RENDER_OP_OVER, /* blend a premultiplied-alpha source over the destination (cursors) */
};

/*
 * Fill rect of dst with one colour, argb given as 8-bit non-premultiplied
 * ARGB (0xffRRGGBB for opaque). The rectangle is clipped to dst; an empty
 * result is not an error. Returns 0 or -EINVAL (dst NULL, rect NULL).
 */
int render_fill(pixman_image_t *dst, const struct render_rect *rect, uint32_t argb);

/*
 * Whether the copy path can read buffer's pixels: its format has a pixman
 * code and its memory is linear (CPU pixels, or a dma-buf whose modifier is
 * DRM_FORMAT_MOD_LINEAR or DRM_FORMAT_MOD_INVALID, an implicit layout taken
 * as linear). A tiled layout (I915_FORMAT_MOD_X_TILED, say) is not: copied
 * as if linear it would show a scrambled picture, so the caller shows
 * something else and says why.
 */
bool render_copy_can_read(const struct buffer *buffer);

/*
 * Copy src_rect of src (a dma-buf read through its mapping with
 * DMA_BUF_IOCTL_SYNC, or CPU pixels; borrowed, not locked here) to dst_rect
 * of dst, converting the format and scaling src_rect's size to dst_rect's.
 * src_rect must lie inside the buffer; dst_rect may extend past dst, the
 * part outside is clipped. Returns 0, -EINVAL for bad rectangles or a format
 * without a pixman code, -EBUSY when src is already being read, -EOPNOTSUPP
 * for a dma-buf with a modifier the CPU cannot read (render_copy_can_read()),
 * before touching it, -EAGAIN for a dma-buf whose write fence has not
 * signalled (never waited for: buffer_readable(), struct buffer_waiter), or
 * the negative errno of mapping/syncing the dma-buf.
 */
int render_copy(pixman_image_t *dst, const struct render_rect *dst_rect, struct buffer *src,
		const struct render_rect *src_rect, enum render_op op);

/*
 * render_copy() with the source turned counter-clockwise by `turns` quarter
 * turns (0..3, taken modulo 4) on its way into dst_rect, as a plane's
 * "rotation" property DRM_MODE_ROTATE_<turns × 90> turns it: at 1 and 3 the
 * source's width is scaled to dst_rect's height and its height to its
 * width. Scaling is nearest when each destination side is an integer
 * multiple of the source side it shows, bilinear otherwise.
 */
int render_copy_rotated(pixman_image_t *dst, const struct render_rect *dst_rect, struct buffer *src,
			const struct render_rect *src_rect, enum render_op op, uint32_t turns);

#endif
