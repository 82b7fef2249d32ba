// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "kms/output.h"
#include "kms/scale.h"

static const char *const scale_names[KMS_SCALE__COUNT] = {
	[KMS_SCALE_FIT] = "fit",
	[KMS_SCALE_CENTER] = "center",
	[KMS_SCALE_STRETCH] = "stretch",
};

const char *kms_scale_name(enum kms_scale scale)
{
	if ((unsigned)scale >= KMS_SCALE__COUNT)
		return "unknown";
	return scale_names[scale];
}

int kms_scale_from_name(const char *name, enum kms_scale *scale)
{
	for (unsigned i = 0; i < KMS_SCALE__COUNT; i++) {
		if (strcmp(name, scale_names[i]) == 0) {
			*scale = (enum kms_scale)i;
			return 0;
		}
	}
	return -EINVAL;
}

static uint32_t clamp_size(uint32_t size)
{
	return size > KMS_SCALE_MAX_SIZE ? KMS_SCALE_MAX_SIZE : size;
}

/* a × b / c rounded to the nearest integer, for c > 0. */
static uint64_t mul_div_round(uint64_t a, uint64_t b, uint64_t c)
{
	return (a * b + c / 2) / c;
}

/* One axis of KMS_SCALE_CENTER: source offset, output offset, length. */
static void center_axis(uint32_t src, uint32_t dst, uint32_t *src_off, int32_t *dst_off,
			uint32_t *len)
{
	if (src <= dst) {
		*src_off = 0;
		*dst_off = (int32_t)((dst - src) / 2);
		*len = src;
	} else {
		*src_off = (src - dst) / 2;
		*dst_off = 0;
		*len = dst;
	}
}

void kms_scale_place(enum kms_scale scale, uint32_t src_w, uint32_t src_h, uint32_t dst_w,
		     uint32_t dst_h, struct kms_fixed_rect *src, struct kms_rect *dst)
{
	src_w = clamp_size(src_w);
	src_h = clamp_size(src_h);
	dst_w = clamp_size(dst_w);
	dst_h = clamp_size(dst_h);

	*src = (struct kms_fixed_rect){0, 0, KMS_FIXED(src_w), KMS_FIXED(src_h)};
	if (src_w == 0 || src_h == 0 || dst_w == 0 || dst_h == 0) {
		*dst = (struct kms_rect){0, 0, 0, 0};
		return;
	}

	switch (scale) {
	case KMS_SCALE_CENTER: {
		uint32_t sx, sy, w, h;
		int32_t dx, dy;
		center_axis(src_w, dst_w, &sx, &dx, &w);
		center_axis(src_h, dst_h, &sy, &dy, &h);
		*src = (struct kms_fixed_rect){KMS_FIXED(sx), KMS_FIXED(sy), KMS_FIXED(w),
					       KMS_FIXED(h)};
		*dst = (struct kms_rect){dx, dy, w, h};
		return;
	}
	case KMS_SCALE_FIT: {
		uint32_t w = dst_w, h = dst_h;
		/* Compare the aspect ratios src_w / src_h and dst_w / dst_h. */
		uint64_t src_aspect = (uint64_t)src_w * dst_h, dst_aspect = (uint64_t)dst_w * src_h;
		if (src_aspect > dst_aspect)
			h = (uint32_t)mul_div_round(src_h, dst_w,
						    src_w); /* wider: bars above and below */
		else if (src_aspect < dst_aspect)
			w = (uint32_t)mul_div_round(src_w, dst_h,
						    src_h); /* taller: bars left and right */
		if (w < 1)
			w = 1;
		if (h < 1)
			h = 1;
		if (w > dst_w)
			w = dst_w;
		if (h > dst_h)
			h = dst_h;
		*dst = (struct kms_rect){(int32_t)((dst_w - w) / 2), (int32_t)((dst_h - h) / 2), w,
					 h};
		return;
	}
	case KMS_SCALE_STRETCH:
	default:
		*dst = (struct kms_rect){0, 0, dst_w, dst_h};
		return;
	}
}

/* a / b rounded towards minus infinity, for b > 0. */
static int64_t div_floor(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if (a % b != 0 && a < 0)
		q--;
	return q;
}

static int32_t clamp_i32(int64_t v)
{
	if (v > INT32_MAX)
		return INT32_MAX;
	if (v < INT32_MIN)
		return INT32_MIN;
	return (int32_t)v;
}

/* One axis of kms_scale_point(); src_off and src_len in 16.16. */
static int32_t map_axis(uint32_t src_off, uint32_t src_len, int32_t dst_off, uint32_t dst_len,
			int32_t v)
{
	if (src_len == 0)
		return dst_off;
	if (v > KMS_SCALE_MAX_POINT)
		v = KMS_SCALE_MAX_POINT;
	else if (v < -KMS_SCALE_MAX_POINT)
		v = -KMS_SCALE_MAX_POINT;
	/* |v - src_off| in 16.16 is below 2^41, times dst_len below 2^16: no overflow. */
	int64_t rel = (int64_t)v * 65536 - (int64_t)src_off;
	return clamp_i32((int64_t)dst_off +
			 div_floor(rel * (int64_t)clamp_size(dst_len), (int64_t)src_len));
}

void kms_scale_point(const struct kms_fixed_rect *src, const struct kms_rect *dst, int32_t x,
		     int32_t y, int32_t *out_x, int32_t *out_y)
{
	if (src->width == 0 || src->height == 0) {
		*out_x = dst->x;
		*out_y = dst->y;
		return;
	}
	*out_x = map_axis(src->x, src->width, dst->x, dst->width, x);
	*out_y = map_axis(src->y, src->height, dst->y, dst->height, y);
}

/* One axis of kms_scale_size(); src_len in 16.16, not 0. */
static uint32_t scale_axis(uint32_t src_len, uint32_t dst_len, uint32_t v)
{
	/* Below 2^32 times below 2^16: no overflow. */
	uint64_t out = mul_div_round((uint64_t)clamp_size(v) << 16, clamp_size(dst_len), src_len);
	if (v != 0 && out == 0)
		out = 1;
	return out > UINT32_MAX ? UINT32_MAX : (uint32_t)out;
}

void kms_scale_size(const struct kms_fixed_rect *src, const struct kms_rect *dst, uint32_t width,
		    uint32_t height, uint32_t *out_width, uint32_t *out_height)
{
	if (src->width == 0 || src->height == 0) {
		*out_width = *out_height = 0;
		return;
	}
	*out_width = scale_axis(src->width, dst->width, width);
	*out_height = scale_axis(src->height, dst->height, height);
}
