// SPDX-License-Identifier: MIT
/*
 * The copy path on CPU-pixel buffers: conversion, scaling, blending and
 * filling with the exact values pixman must produce.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <drm_fourcc.h>

#include "buffer/buffer.h"
#include "render/copy.h"
#include "test.h"
#include "util/fourcc.h"
#include "util/log.h"

#define DW 16
#define DH 8

static uint32_t dst_px[DH][DW];
static pixman_image_t *dst;

static void dst_reset(uint32_t value)
{
	for (int y = 0; y < DH; y++)
		for (int x = 0; x < DW; x++)
			dst_px[y][x] = value;
}

static void check_px(int x, int y, uint32_t want)
{
	if (dst_px[y][x] != want) {
		fprintf(stderr, "pixel (%d,%d) is 0x%08x, want 0x%08x\n", x, y, dst_px[y][x], want);
		abort();
	}
}

static void test_same_format_subrect(void)
{
	uint32_t src[4][8];
	for (int y = 0; y < 4; y++)
		for (int x = 0; x < 8; x++)
			src[y][x] = 0xff000000u | (uint32_t)(y << 16 | x << 8 | (x + y));
	struct buffer *b = buffer_create_cpu(src, 8, 4, sizeof(src[0]), DRM_FORMAT_XRGB8888);
	check(b != NULL);
	dst_reset(0xff555555);

	struct render_rect s = {2, 1, 3, 2}, d = {5, 4, 3, 2};
	check_int_eq(render_copy(dst, &d, b, &s, RENDER_OP_SRC), 0);
	for (int y = 0; y < DH; y++)
		for (int x = 0; x < DW; x++) {
			bool in = x >= 5 && x < 8 && y >= 4 && y < 6;
			check_px(x, y, in ? src[y - 4 + 1][x - 5 + 2] : 0xff555555);
		}

	/* Partly outside the destination: clipped, not an error. */
	struct render_rect d2 = {DW - 1, -1, 3, 2};
	check_int_eq(render_copy(dst, &d2, b, &s, RENDER_OP_SRC), 0);
	check_px(DW - 1, 0, src[2][2]);
	buffer_unref(b);
}

static void test_abgr_to_xrgb(void)
{
	/* ABGR8888: A in bits 31..24, then B, G, R. */
	uint32_t src[2] = {0xff112233, 0x80a0b0c0};
	struct buffer *b = buffer_create_cpu(src, 2, 1, 8, DRM_FORMAT_ABGR8888);
	check(b != NULL);
	dst_reset(0);
	struct render_rect s = {0, 0, 2, 1}, d = {0, 0, 2, 1};
	check_int_eq(render_copy(dst, &d, b, &s, RENDER_OP_SRC), 0);
	check_px(0, 0, 0xff332211);
	/* Alpha is dropped (colour kept as is): X comes out as ones. */
	check_px(1, 0, 0xffc0b0a0);
	check_px(2, 0, 0);
	buffer_unref(b);
}

static void test_rgb565_to_xrgb(void)
{
	uint16_t src[4] = {0xf800, 0x07e0, 0x001f, 0x8410};
	struct buffer *b = buffer_create_cpu(src, 4, 1, 8, DRM_FORMAT_RGB565);
	check(b != NULL);
	dst_reset(0);
	struct render_rect s = {0, 0, 4, 1}, d = {1, 1, 4, 1};
	check_int_eq(render_copy(dst, &d, b, &s, RENDER_OP_SRC), 0);
	/* 5 and 6 bit channels widen by replicating their top bits. */
	check_px(1, 1, 0xffff0000);
	check_px(2, 1, 0xff00ff00);
	check_px(3, 1, 0xff0000ff);
	check_px(4, 1, 0xff848284);
	buffer_unref(b);
}

static void test_rgb888_odd_offset(void)
{
	/* RGB888 is B, G, R in memory; row stride 12 bytes (4 pixels). */
	uint8_t src[2][12] = {
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		{13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24},
	};
	struct buffer *b = buffer_create_cpu(src, 4, 2, 12, DRM_FORMAT_RGB888);
	check(b != NULL);
	dst_reset(0);
	struct render_rect s = {1, 1, 2, 1}, d = {0, 0, 2, 1};
	check_int_eq(render_copy(dst, &d, b, &s, RENDER_OP_SRC), 0);
	check_px(0, 0, 0xff121110);
	check_px(1, 0, 0xff151413);
	buffer_unref(b);
}

static void test_nearest_scale(void)
{
	uint32_t src[2][3] = {
		{0xff000001, 0xff000002, 0xff000003},
		{0xff000004, 0xff000005, 0xff000006},
	};
	struct buffer *b = buffer_create_cpu(src, 3, 2, sizeof(src[0]), DRM_FORMAT_XRGB8888);
	check(b != NULL);

	/* 2x: every source pixel becomes a 2x2 block. */
	dst_reset(0);
	struct render_rect s = {0, 0, 3, 2}, d = {1, 1, 6, 4};
	check_int_eq(render_copy(dst, &d, b, &s, RENDER_OP_SRC), 0);
	for (int y = 0; y < DH; y++)
		for (int x = 0; x < DW; x++) {
			bool in = x >= 1 && x < 7 && y >= 1 && y < 5;
			check_px(x, y, in ? src[(y - 1) / 2][(x - 1) / 2] : 0);
		}

	/* 5x horizontally, 3x vertically, from a sub-rectangle. */
	dst_reset(0);
	struct render_rect s2 = {1, 0, 2, 2}, d2 = {0, 0, 10, 6};
	check_int_eq(render_copy(dst, &d2, b, &s2, RENDER_OP_SRC), 0);
	for (int y = 0; y < 6; y++)
		for (int x = 0; x < 10; x++)
			check_px(x, y, src[y / 3][1 + x / 5]);
	check_px(10, 0, 0);
	buffer_unref(b);
}

static void test_bilinear_stays_inside(void)
{
	/* A uniform 3x3 rectangle surrounded by another colour: scaled to a size that is
	   no integer multiple, it must stay uniform (edges padded, not sampled outside). */
	uint32_t src[5][5];
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 5; x++)
			src[y][x] = (x >= 1 && x < 4 && y >= 1 && y < 4) ? 0xff204080 : 0xffffffff;
	struct buffer *b = buffer_create_cpu(src, 5, 5, sizeof(src[0]), DRM_FORMAT_XRGB8888);
	check(b != NULL);
	dst_reset(0);
	struct render_rect s = {1, 1, 3, 3}, d = {0, 0, 7, 5};
	check_int_eq(render_copy(dst, &d, b, &s, RENDER_OP_SRC), 0);
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 7; x++)
			check_px(x, y, 0xff204080);
	check_px(7, 0, 0);
	buffer_unref(b);
}

static void test_over_blend(void)
{
	/* Premultiplied ARGB: half-transparent red, opaque green, fully transparent. */
	uint32_t cursor[3] = {0x80800000, 0xff00ff00, 0x00000000};
	struct buffer *b = buffer_create_cpu(cursor, 3, 1, 12, DRM_FORMAT_ARGB8888);
	check(b != NULL);
	dst_reset(0xff0000ff);
	struct render_rect s = {0, 0, 3, 1}, d = {2, 2, 3, 1};
	check_int_eq(render_copy(dst, &d, b, &s, RENDER_OP_OVER), 0);
	check_px(2, 2, 0xff80007f);
	check_px(3, 2, 0xff00ff00);
	check_px(4, 2, 0xff0000ff);
	buffer_unref(b);
}

static void test_fill(void)
{
	dst_reset(0);
	struct render_rect r = {-2, 6, 5, 10};
	check_int_eq(render_fill(dst, &r, 0xff123456), 0);
	for (int y = 0; y < DH; y++)
		for (int x = 0; x < DW; x++)
			check_px(x, y, (x < 3 && y >= 6) ? 0xff123456 : 0);
	struct render_rect outside = {DW, 0, 4, 4};
	check_int_eq(render_fill(dst, &outside, 0xffffffff), 0);
	check_px(DW - 1, 0, 0);
	check_int_eq(render_fill(NULL, &r, 0), -EINVAL);
	check_int_eq(render_fill(dst, NULL, 0), -EINVAL);
}

static void test_bad_input(void)
{
	uint32_t src[2][2] = {{1, 2}, {3, 4}};
	struct buffer *b = buffer_create_cpu(src, 2, 2, 8, DRM_FORMAT_XRGB8888);
	struct render_rect ok = {0, 0, 2, 2};
	struct render_rect bad_src[] = {
		{1, 0, 2, 2},  {0, 0, 0, 2}, {0, 0, 2, 0},
		{-1, 0, 1, 1}, {0, 2, 1, 1}, {0, 0, UINT32_MAX, 1},
	};
	for (size_t i = 0; i < sizeof(bad_src) / sizeof(bad_src[0]); i++)
		check_int_eq(render_copy(dst, &ok, b, &bad_src[i], RENDER_OP_SRC), -EINVAL);
	struct render_rect bad_dst[] = {
		{0, 0, 0, 1},
		{0, 0, 1, 0},
		{0, 0, 100000, 1},
		{INT32_MIN, 0, 1, 1},
	};
	for (size_t i = 0; i < sizeof(bad_dst) / sizeof(bad_dst[0]); i++)
		check_int_eq(render_copy(dst, &bad_dst[i], b, &ok, RENDER_OP_SRC), -EINVAL);
	check_int_eq(render_copy(NULL, &ok, b, &ok, RENDER_OP_SRC), -EINVAL);
	check_int_eq(render_copy(dst, NULL, b, &ok, RENDER_OP_SRC), -EINVAL);
	check_int_eq(render_copy(dst, &ok, NULL, &ok, RENDER_OP_SRC), -EINVAL);
	check_int_eq(render_copy(dst, &ok, b, NULL, RENDER_OP_SRC), -EINVAL);

	/* A buffer being read elsewhere is not read twice. */
	const void *data;
	uint32_t stride;
	check_int_eq(buffer_begin_read(b, &data, &stride), 0);
	check_int_eq(render_copy(dst, &ok, b, &ok, RENDER_OP_SRC), -EBUSY);
	check_int_eq(buffer_end_read(b), 0);
	/* and a failed copy ends its own read */
	check_int_eq(render_copy(dst, &ok, b, &bad_src[0], RENDER_OP_SRC), -EINVAL);
	check_int_eq(render_copy(dst, &ok, b, &ok, RENDER_OP_SRC), 0);
	check(!b->reading);
	buffer_unref(b);
}

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return rng_state >> 8;
}

static int32_t rng_coord(void)
{
	static const int32_t special[] = {0,  1,         -1,        3,     7,      15,    16,
					  17, INT32_MIN, INT32_MAX, 32767, -32767, 100000};
	if (rng() % 3 == 0)
		return special[rng() % (sizeof(special) / sizeof(special[0]))];
	return (int32_t)(rng() % 24) - 4;
}

/*
 * Random rectangles, formats and sizes: every call returns 0 or -EINVAL and
 * never reads outside the source (heap blocks of the exact size, so the
 * AddressSanitizer build catches any overread) nor writes outside dst.
 */
static void test_random_rects(void)
{
	static const uint32_t fourccs[] = {
		DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888, DRM_FORMAT_ABGR8888,    DRM_FORMAT_RGB565,
		DRM_FORMAT_RGB888,   DRM_FORMAT_BGR888,   DRM_FORMAT_XRGB2101010,
	};
	int ok = 0;
	for (int i = 0; i < 3000; i++) {
		uint32_t fourcc = fourccs[rng() % (sizeof(fourccs) / sizeof(fourccs[0]))];
		uint32_t bpp = fourcc_info_get(fourcc)->bpp[0];
		uint32_t w = 1 + rng() % 13, h = 1 + rng() % 9;
		uint32_t stride = (w * bpp + 3) / 4 * 4 + 4 * (rng() % 2);
		uint8_t *px = malloc((size_t)stride * h);
		check(px != NULL);
		for (size_t j = 0; j < (size_t)stride * h; j++)
			px[j] = (uint8_t)rng();
		struct buffer *b = buffer_create_cpu(px, w, h, stride, fourcc);
		check(b != NULL);
		struct render_rect s = {rng_coord(), rng_coord(), (uint32_t)rng_coord(),
					(uint32_t)rng_coord()};
		struct render_rect d = {rng_coord(), rng_coord(), (uint32_t)rng_coord(),
					(uint32_t)rng_coord()};
		if (rng() % 2 == 0) { /* often a valid source rectangle */
			s.x = (int32_t)(rng() % w);
			s.y = (int32_t)(rng() % h);
			s.width = 1 + rng() % (w - (uint32_t)s.x);
			s.height = 1 + rng() % (h - (uint32_t)s.y);
		}
		bool off_by_one = rng() % 4 == 0;
		if (off_by_one) { /* valid but for one edge one pixel beyond the buffer */
			s.x = (int32_t)(rng() % w);
			s.y = (int32_t)(rng() % h);
			s.width = w - (uint32_t)s.x;
			s.height = h - (uint32_t)s.y;
			if (rng() % 2)
				s.width++;
			else
				s.height++;
		}
		int ret = render_copy(dst, &d, b, &s, rng() % 2 ? RENDER_OP_SRC : RENDER_OP_OVER);
		check(ret == 0 || ret == -EINVAL);
		if (off_by_one)
			check_int_eq(ret, -EINVAL);
		ok += ret == 0;
		check(!b->reading);
		buffer_unref(b);
		free(px);
	}
	check(ok > 300);
}

/* The source pixel that destination pixel u,v of an out_w-wide turned copy shows (1:1). */
static void turned_source(uint32_t turns, int sw, int sh, int u, int v, int *x, int *y)
{
	switch (turns) {
	case 1: /* counter-clockwise: the source's top-right corner comes top-left */
		*x = sw - 1 - v;
		*y = u;
		break;
	case 2:
		*x = sw - 1 - u;
		*y = sh - 1 - v;
		break;
	case 3: /* clockwise: the source's top-left corner comes top-right */
		*x = v;
		*y = sh - 1 - u;
		break;
	default:
		*x = u;
		*y = v;
		break;
	}
}

static void test_rotated(void)
{
	uint32_t src[4][8];
	for (int y = 0; y < 4; y++)
		for (int x = 0; x < 8; x++)
			src[y][x] = 0xff000000u | (uint32_t)(y << 16 | x << 8 | (x * 16 + y));
	struct buffer *b = buffer_create_cpu(src, 8, 4, sizeof(src[0]), DRM_FORMAT_XRGB8888);
	check(b != NULL);

	/* Part of the source from an odd column, so that the wrapped image's offset counts. */
	struct render_rect s = {1, 1, 3, 2};
	for (uint32_t turns = 0; turns < 4; turns++) {
		bool swap = turns % 2 == 1;
		int w = swap ? 2 : 3, h = swap ? 3 : 2;
		struct render_rect d = {2, 1, (uint32_t)w, (uint32_t)h};
		dst_reset(0xff555555);
		check_int_eq(render_copy_rotated(dst, &d, b, &s, RENDER_OP_SRC, turns), 0);
		for (int y = 0; y < DH; y++)
			for (int x = 0; x < DW; x++) {
				bool in = x >= 2 && x < 2 + w && y >= 1 && y < 1 + h;
				int sx = 0, sy = 0;
				if (in)
					turned_source(turns, 3, 2, x - 2, y - 1, &sx, &sy);
				check_px(x, y, in ? src[1 + sy][1 + sx] : 0xff555555);
			}
	}

	/* Twice the size, turned: each source pixel becomes a 2 x 2 block (nearest). */
	for (uint32_t turns = 0; turns < 4; turns++) {
		bool swap = turns % 2 == 1;
		int w = swap ? 4 : 6, h = swap ? 6 : 4;
		struct render_rect d = {0, 0, (uint32_t)w, (uint32_t)h};
		dst_reset(0xff555555);
		check_int_eq(render_copy_rotated(dst, &d, b, &s, RENDER_OP_SRC, turns), 0);
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++) {
				int sx, sy;
				turned_source(turns, 3, 2, x / 2, y / 2, &sx, &sy);
				check_px(x, y, src[1 + sy][1 + sx]);
			}
		check_px(w, 0, 0xff555555);
	}

	/* Four quarter turns are none. */
	dst_reset(0xff555555);
	struct render_rect d = {0, 0, 3, 2};
	check_int_eq(render_copy_rotated(dst, &d, b, &s, RENDER_OP_SRC, 4), 0);
	check_px(0, 0, src[1][1]);
	check_px(2, 1, src[2][3]);
	buffer_unref(b);
}

int main(void)
{
	dst = pixman_image_create_bits(PIXMAN_x8r8g8b8, DW, DH, &dst_px[0][0], DW * 4);
	check(dst != NULL);
	test_same_format_subrect();
	test_abgr_to_xrgb();
	test_rgb565_to_xrgb();
	test_rgb888_odd_offset();
	test_nearest_scale();
	test_rotated();
	test_bilinear_stays_inside();
	test_over_blend();
	test_fill();
	test_bad_input();
	log_init(LOG_LEVEL_ERROR);
	test_random_rects();
	pixman_image_unref(dst);
	return 0;
}
