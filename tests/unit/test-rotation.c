// SPDX-License-Identifier: MIT
/*
 * Output rotation: the logical space, the rectangles a layer covers on the
 * mode, the plane property, and agreement with the input layout's mapping
 * of mode points to what the user sees.
 */
#include <xf86drmMode.h>

#include "input/layout.h"
#include "kms/output.h"
#include "kms/rotation.h"
#include "test.h"

static void check_rect(struct kms_rect r, int32_t x, int32_t y, uint32_t w, uint32_t h)
{
	check_int_eq(r.x, x);
	check_int_eq(r.y, y);
	check_int_eq(r.width, w);
	check_int_eq(r.height, h);
}

static void test_names_and_values(void)
{
	check_str_eq(kms_rotation_name(KMS_ROTATION_0), "0");
	check_str_eq(kms_rotation_name(KMS_ROTATION_270), "270");
	check_str_eq(kms_rotation_name(KMS_ROTATION__COUNT), "unknown");
	check_int_eq(kms_rotation_degrees(KMS_ROTATION_90), 90);
	check_int_eq(kms_rotation_degrees(KMS_ROTATION__COUNT), 0);
	check_int_eq(kms_rotation_plane_value(KMS_ROTATION_0), DRM_MODE_ROTATE_0);
	check_int_eq(kms_rotation_plane_value(KMS_ROTATION_90), DRM_MODE_ROTATE_90);
	check_int_eq(kms_rotation_plane_value(KMS_ROTATION_180), DRM_MODE_ROTATE_180);
	check_int_eq(kms_rotation_plane_value(KMS_ROTATION_270), DRM_MODE_ROTATE_270);
	check(!kms_rotation_swaps(KMS_ROTATION_0));
	check(kms_rotation_swaps(KMS_ROTATION_90));
	check(!kms_rotation_swaps(KMS_ROTATION_180));
	check(kms_rotation_swaps(KMS_ROTATION_270));

	uint32_t w, h;
	kms_rotation_logical_size(KMS_ROTATION_90, 1920, 1080, &w, &h);
	check_int_eq(w, 1080);
	check_int_eq(h, 1920);
	kms_rotation_logical_size(KMS_ROTATION_180, 1920, 1080, &w, &h);
	check_int_eq(w, 1920);
	check_int_eq(h, 1080);
}

static void test_rects(void)
{
	/* A 100 x 50 mode; the logical rectangle 10,20 30x5. */
	struct kms_rect l = {10, 20, 30, 5}, m;
	kms_rotation_rect_to_mode(KMS_ROTATION_0, 100, 50, &l, &m);
	check_rect(m, 10, 20, 30, 5);
	/* Logical space 50 x 100: its top-left corner is the mode's bottom-left. */
	kms_rotation_rect_to_mode(KMS_ROTATION_90, 100, 50, &l, &m);
	check_rect(m, 20, 50 - 10 - 30, 5, 30);
	kms_rotation_rect_to_mode(KMS_ROTATION_180, 100, 50, &l, &m);
	check_rect(m, 100 - 10 - 30, 50 - 20 - 5, 30, 5);
	kms_rotation_rect_to_mode(KMS_ROTATION_270, 100, 50, &l, &m);
	check_rect(m, 100 - 20 - 5, 10, 5, 30);

	/* The whole logical space is the whole mode. */
	for (int r = 0; r < KMS_ROTATION__COUNT; r++) {
		struct kms_rect full = {0};
		kms_rotation_logical_size((enum kms_rotation)r, 100, 50, &full.width, &full.height);
		kms_rotation_rect_to_mode((enum kms_rotation)r, 100, 50, &full, &m);
		check_rect(m, 0, 0, 100, 50);
	}

	/* Far outside: clamped, no overflow. */
	struct kms_rect far = {INT32_MIN, INT32_MAX, 1, 1};
	kms_rotation_rect_to_mode(KMS_ROTATION_90, 100, 50, &far, &m);
	check_int_eq(m.x, INT32_MAX);
	check_int_eq(m.y, INT32_MAX);
}

/*
 * Each logical pixel lands on the mode pixel that the input layout maps
 * back to the same point of the output's box: what the user sees and where
 * the pointer is agree.
 */
static void test_agrees_with_layout(void)
{
	const uint32_t mw = 12, mh = 7;
	for (int r = 0; r < KMS_ROTATION__COUNT; r++) {
		struct layout layout;
		layout_init(&layout);
		struct layout_output_config lc = {
			.position_set = true,
			.x = 100,
			.y = 200,
			.width = mw,
			.height = mh,
			.rotation = (enum layout_rotation)r,
		};
		struct layout_output *lo = layout_output_create(&layout, "out", &lc, NULL);
		check(lo != NULL);
		uint32_t lw, lh;
		kms_rotation_logical_size((enum kms_rotation)r, mw, mh, &lw, &lh);
		check_int_eq(lo->width, lw);
		check_int_eq(lo->height, lh);
		for (int32_t y = 0; y < (int32_t)lh; y++)
			for (int32_t x = 0; x < (int32_t)lw; x++) {
				struct kms_rect px = {x, y, 1, 1}, m;
				kms_rotation_rect_to_mode((enum kms_rotation)r, mw, mh, &px, &m);
				check(m.x >= 0 && m.x < (int32_t)mw && m.y >= 0 &&
				      m.y < (int32_t)mh);
				double bx, by, lx, ly;
				layout_from_mode(lo, m.x + 0.5, m.y + 0.5, &lx, &ly);
				layout_to_box(lo, lx, ly, &bx, &by);
				check_int_eq((long long)(bx * 2), 2 * x + 1);
				check_int_eq((long long)(by * 2), 2 * y + 1);
			}
		layout_finish(&layout);
	}
}

static void test_mode(void)
{
	/* CEA 1920x1080@60: 148.5 MHz, 2200 x 1125. */
	drmModeModeInfo m = {
		.clock = 148500,
		.hdisplay = 1920,
		.hsync_start = 2008,
		.hsync_end = 2052,
		.htotal = 2200,
		.vdisplay = 1080,
		.vsync_start = 1084,
		.vsync_end = 1089,
		.vtotal = 1125,
		.vrefresh = 60,
		.flags = DRM_MODE_FLAG_PHSYNC | DRM_MODE_FLAG_PVSYNC,
	};
	drmModeModeInfo t;
	kms_rotation_mode(KMS_ROTATION_180, &m, &t);
	check(memcmp(&t, &m, sizeof(m)) == 0);
	kms_rotation_mode(KMS_ROTATION_90, &m, &t);
	check_int_eq(t.hdisplay, 1080);
	check_int_eq(t.hsync_start, 1080 + 88);
	check_int_eq(t.hsync_end, 1080 + 132);
	check_int_eq(t.htotal, 1080 + 280);
	check_int_eq(t.vdisplay, 1920);
	check_int_eq(t.vsync_start, 1924);
	check_int_eq(t.vsync_end, 1929);
	check_int_eq(t.vtotal, 1965);
	check_int_eq(t.flags, m.flags);
	/* 1360 x 1965 pixels a frame at the same 60 Hz. */
	check_int_eq(t.clock, (148500ull * 1360 * 1965 + 2200 * 1125 / 2) / (2200 * 1125));
	double hz_before = m.clock * 1000.0 / (m.htotal * m.vtotal);
	double hz_after = t.clock * 1000.0 / (t.htotal * t.vtotal);
	check(hz_after > hz_before - 0.01 && hz_after < hz_before + 0.01);
}

int main(void)
{
	test_mode();
	test_names_and_values();
	test_rects();
	test_agrees_with_layout();
	return 0;
}
