// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include <drm_fourcc.h>

#include "buffer/buffer.h"
#include "render/copy.h"
#include "util/fourcc.h"
#include "util/log.h"

/* Largest destination rectangle side: keeps pixman's 16.16 arithmetic exact. */
#define RECT_MAX 32767

static uint16_t premultiply(uint32_t channel8, uint32_t alpha8)
{
	return (uint16_t)((channel8 * 257u * alpha8 * 257u + 32767u) / 65535u);
}

int render_fill(pixman_image_t *dst, const struct render_rect *rect, uint32_t argb)
{
	if (dst == NULL || rect == NULL)
		return -EINVAL;

	int64_t x1 = rect->x > 0 ? rect->x : 0;
	int64_t y1 = rect->y > 0 ? rect->y : 0;
	int64_t x2 = (int64_t)rect->x + rect->width;
	int64_t y2 = (int64_t)rect->y + rect->height;
	int64_t w = pixman_image_get_width(dst), h = pixman_image_get_height(dst);
	if (x2 > w)
		x2 = w;
	if (y2 > h)
		y2 = h;
	if (x1 >= x2 || y1 >= y2)
		return 0;

	uint32_t a = argb >> 24;
	pixman_color_t color = {
		.red = premultiply((argb >> 16) & 0xff, a),
		.green = premultiply((argb >> 8) & 0xff, a),
		.blue = premultiply(argb & 0xff, a),
		.alpha = (uint16_t)(a * 257u),
	};
	pixman_box32_t box = {(int32_t)x1, (int32_t)y1, (int32_t)x2, (int32_t)y2};
	if (!pixman_image_fill_boxes(PIXMAN_OP_SRC, dst, &color, 1, &box))
		return -ENOMEM;
	return 0;
}

static bool rect_inside(const struct render_rect *r, uint32_t width, uint32_t height)
{
	return r->x >= 0 && r->y >= 0 && r->width >= 1 && r->height >= 1 &&
	       (uint64_t)r->x + r->width <= width && (uint64_t)r->y + r->height <= height;
}

/*
 * Source coordinates of destination point u,v (relative to the destination
 * rectangle) as a pixman transform: the source rectangle, whose left column
 * is column `a` of the wrapped image, scaled to the destination and turned
 * counter-clockwise by `turns` quarter turns.
 */
static void rotated_transform(pixman_transform_t *t, uint32_t turns, int32_t a,
			      const struct render_rect *s, const struct render_rect *d)
{
	/* Scale factors in 16.16: source length per destination pixel. */
	bool swap = turns % 2 == 1;
	pixman_fixed_t fx =
		(pixman_fixed_t)(((int64_t)s->width << 16) / (swap ? d->height : d->width));
	pixman_fixed_t fy =
		(pixman_fixed_t)(((int64_t)s->height << 16) / (swap ? d->width : d->height));
	pixman_fixed_t sw = pixman_int_to_fixed((int32_t)s->width);
	pixman_fixed_t sh = pixman_int_to_fixed((int32_t)s->height);
	pixman_fixed_t fa = pixman_int_to_fixed(a);

	pixman_transform_init_identity(t);
	switch (turns % 4) {
	case 0: /* sx = a + u fx, sy = v fy */
		t->matrix[0][0] = fx;
		t->matrix[0][2] = fa;
		t->matrix[1][1] = fy;
		break;
	case 1: /* sx = a + sw - v fx, sy = u fy */
		t->matrix[0][0] = 0;
		t->matrix[0][1] = -fx;
		t->matrix[0][2] = fa + sw;
		t->matrix[1][0] = fy;
		t->matrix[1][1] = 0;
		break;
	case 2: /* sx = a + sw - u fx, sy = sh - v fy */
		t->matrix[0][0] = -fx;
		t->matrix[0][2] = fa + sw;
		t->matrix[1][1] = -fy;
		t->matrix[1][2] = sh;
		break;
	case 3: /* sx = a + v fx, sy = sh - u fy */
		t->matrix[0][0] = 0;
		t->matrix[0][1] = fx;
		t->matrix[0][2] = fa;
		t->matrix[1][0] = -fy;
		t->matrix[1][1] = 0;
		t->matrix[1][2] = sh;
		break;
	}
}

int render_copy(pixman_image_t *dst, const struct render_rect *dst_rect, struct buffer *src,
		const struct render_rect *src_rect, enum render_op op)
{
	return render_copy_rotated(dst, dst_rect, src, src_rect, op, 0);
}

static bool modifier_readable(uint64_t modifier)
{
	return modifier == DRM_FORMAT_MOD_LINEAR || modifier == DRM_FORMAT_MOD_INVALID;
}

bool render_copy_can_read(const struct buffer *buffer)
{
	const struct fourcc_info *info = fourcc_info_get(buffer->fourcc);
	if (info == NULL || info->pixman == 0)
		return false;
	return buffer->type != BUFFER_DMABUF || modifier_readable(buffer->modifier);
}

int render_copy_rotated(pixman_image_t *dst, const struct render_rect *dst_rect, struct buffer *src,
			const struct render_rect *src_rect, enum render_op op, uint32_t turns)
{
	const struct fourcc_info *info;
	char name[FOURCC_STR_SIZE];
	const void *data;
	uint32_t stride;
	int ret;

	if (dst == NULL || dst_rect == NULL || src == NULL || src_rect == NULL)
		return -EINVAL;
	if (src->type == BUFFER_DMABUF && !modifier_readable(src->modifier)) {
		log_debug("copy: modifier %s is not a linear layout the CPU can read",
			  fourcc_modifier_str(src->modifier, name, sizeof(name)));
		return -EOPNOTSUPP;
	}
	info = fourcc_info_get(src->fourcc);
	if (info == NULL || info->pixman == 0) {
		log_warn("copy: format %s cannot be read by the CPU",
			 fourcc_str(src->fourcc, name, sizeof(name)));
		return -EINVAL;
	}
	if (!rect_inside(src_rect, src->width, src->height)) {
		log_warn("copy: source rectangle %" PRIu32 "x%" PRIu32 " at (%" PRId32 ", %" PRId32
			 ")"
			 " is not inside the %" PRIu32 "x%" PRIu32 " buffer",
			 src_rect->width, src_rect->height, src_rect->x, src_rect->y, src->width,
			 src->height);
		return -EINVAL;
	}
	if (dst_rect->width < 1 || dst_rect->height < 1 || dst_rect->width > RECT_MAX ||
	    dst_rect->height > RECT_MAX || dst_rect->x < -RECT_MAX || dst_rect->x > RECT_MAX ||
	    dst_rect->y < -RECT_MAX || dst_rect->y > RECT_MAX) {
		log_warn("copy: destination rectangle %" PRIu32 "x%" PRIu32 " at (%" PRId32
			 ", %" PRId32 ")"
			 " is empty or out of range",
			 dst_rect->width, dst_rect->height, dst_rect->x, dst_rect->y);
		return -EINVAL;
	}

	ret = buffer_begin_read(src, &data, &stride);
	if (ret < 0)
		return ret;

	/* Wrap only the source rectangle (from its first column when that is aligned for
	   pixman), so that padding at the edges never samples pixels outside it. */
	uint32_t bpp = info->bpp[0];
	uint32_t col0 = ((uint64_t)src_rect->x * bpp) % 4 == 0 ? (uint32_t)src_rect->x : 0;
	const char *first = (const char *)data + (size_t)src_rect->y * stride + (size_t)col0 * bpp;
	if (stride % 4 != 0 || (uintptr_t)first % 4 != 0) {
		log_warn("copy: stride %" PRIu32 " or plane offset is not a multiple of 4", stride);
		ret = -EINVAL;
		goto end_read;
	}
	/* Copied into an opaque destination, alpha means nothing: read the opaque twin, so
	   the destination's X bits come out as ones rather than the source's alpha. */
	pixman_format_code_t format = info->pixman;
	if (op == RENDER_OP_SRC && PIXMAN_FORMAT_A(pixman_image_get_format(dst)) == 0)
		format = fourcc_info_get(info->opaque)->pixman;
	int img_w = (int)(src_rect->x + src_rect->width - col0);
	pixman_image_t *img = pixman_image_create_bits_no_clear(
		format, img_w, (int)src_rect->height, (uint32_t *)(uintptr_t)first, (int)stride);
	if (img == NULL) {
		ret = -ENOMEM;
		goto end_read;
	}

	int src_x = src_rect->x - (int32_t)col0;
	bool swap = turns % 2 == 1;
	uint32_t out_w = swap ? dst_rect->height : dst_rect->width;
	uint32_t out_h = swap ? dst_rect->width : dst_rect->height;
	if (turns % 4 != 0 || src_rect->width != out_w || src_rect->height != out_h) {
		bool integer = out_w % src_rect->width == 0 && out_h % src_rect->height == 0;
		pixman_transform_t t;
		rotated_transform(&t, turns, src_x, src_rect, dst_rect);
		src_x = 0;
		pixman_image_set_transform(img, &t);
		pixman_image_set_filter(
			img, integer ? PIXMAN_FILTER_NEAREST : PIXMAN_FILTER_BILINEAR, NULL, 0);
		pixman_image_set_repeat(img, PIXMAN_REPEAT_PAD);
	}

	pixman_image_composite32(op == RENDER_OP_OVER ? PIXMAN_OP_OVER : PIXMAN_OP_SRC, img, NULL,
				 dst, src_x, 0, 0, 0, dst_rect->x, dst_rect->y,
				 (int32_t)dst_rect->width, (int32_t)dst_rect->height);
	pixman_image_unref(img);

end_read:;
	int end = buffer_end_read(src);
	return ret < 0 ? ret : end;
}
