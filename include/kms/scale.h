/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_KMS_SCALE_H
#define VSCANOUT_KMS_SCALE_H

#include <stdint.h>

/*
 * Where a guest framebuffer of one size goes on an output of another: the
 * source rectangle (16.16 fixed point, as KMS SRC_* take) and the
 * destination rectangle (pixels on the output) of its layer, and the same
 * mapping for points and sizes, to place the guest's cursor.
 *
 * Sizes above KMS_SCALE_MAX_SIZE are treated as KMS_SCALE_MAX_SIZE, the
 * largest that 16.16 fixed point holds, and coordinates beyond
 * ±KMS_SCALE_MAX_POINT as ±KMS_SCALE_MAX_POINT, so no arithmetic overflows.
 */

struct kms_rect;
struct kms_fixed_rect;

#define KMS_SCALE_MAX_SIZE  65535u
#define KMS_SCALE_MAX_POINT (1 << 24)

/* How a source of another size than the output is shown. */
enum kms_scale {
	KMS_SCALE_FIT = 0, /* as large as fits, aspect kept, centred: black bars */
	KMS_SCALE_CENTER,  /* 1:1, centred; cropped where larger than the output */
	KMS_SCALE_STRETCH, /* the whole output, aspect not kept */
	KMS_SCALE__COUNT,
};

/* "fit", "center", "stretch"; "unknown" for other values. */
const char *kms_scale_name(enum kms_scale scale);

/*
 * The scale called `name` (as kms_scale_name() writes it). Returns 0, or
 * -EINVAL with `scale` untouched when no scale has that name.
 */
int kms_scale_from_name(const char *name, enum kms_scale *scale);

/*
 * Place a source of src_w × src_h on an output of dst_w × dst_h:
 *
 *   FIT      the largest rectangle of the source's aspect ratio that fits,
 *            centred (letterbox or pillarbox); the whole source. Its
 *            other side is rounded to the nearest pixel, at least 1.
 *   CENTER   the source 1:1, centred; along a side where the source is
 *            larger than the output, `src` is its centred part of the
 *            output's length, so `dst` stays within the output.
 *   STRETCH  the whole source on the whole output.
 *
 * Centring rounds towards the top-left when the leftover is odd. Equal
 * sizes give the identity with every scale. When a size is 0, `src` is the
 * whole source and `dst` is empty (0 × 0 at 0,0): show nothing.
 */
void kms_scale_place(enum kms_scale scale, uint32_t src_w, uint32_t src_h, uint32_t dst_w,
		     uint32_t dst_h, struct kms_fixed_rect *src, struct kms_rect *dst);

/*
 * Map the point x,y of the source (pixels of the guest framebuffer) to
 * output coordinates with the placement src → dst (as kms_scale_place()
 * made): out = dst.xy + (xy - src.xy) × dst.size / src.size, rounded down.
 * Points outside `src` map outside `dst` on the same line: a cursor partly
 * off the picture stays partly off it. An empty `src` maps everything to
 * dst.xy.
 */
void kms_scale_point(const struct kms_fixed_rect *src, const struct kms_rect *dst, int32_t x,
		     int32_t y, int32_t *out_x, int32_t *out_y);

/*
 * Scale a width × height of the source (the cursor image's) by the factors
 * of the placement src → dst, rounded to the nearest pixel; a size that is
 * not 0 stays at least 1. An empty `src` gives 0 × 0.
 */
void kms_scale_size(const struct kms_fixed_rect *src, const struct kms_rect *dst, uint32_t width,
		    uint32_t height, uint32_t *out_width, uint32_t *out_height);

#endif
