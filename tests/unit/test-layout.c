// SPDX-License-Identifier: MIT
#include <math.h>

#include "input/layout.h"
#include "kms/scale.h"
#include "test.h"

#define check_near(a, b)                                                                  \
	do {                                                                              \
		double check_a_ = (a), check_b_ = (b);                                    \
		if (fabs(check_a_ - check_b_) > 1e-6) {                                   \
			fprintf(stderr, "%s:%d: check failed: %s == %s (%.9g != %.9g)\n", \
				__FILE__, __LINE__, #a, #b, check_a_, check_b_);          \
			abort();                                                          \
		}                                                                         \
	} while (0)

static const double E = LAYOUT_EPSILON;

static struct layout_output *add(struct layout *layout, const char *name, uint32_t w, uint32_t h,
				 int order)
{
	struct layout_output_config c = {.width = w, .height = h, .order = order};
	struct layout_output *o = layout_output_create(layout, name, &c, NULL);
	check(o != NULL);
	return o;
}

static struct layout_output *add_at(struct layout *layout, const char *name, uint32_t w, uint32_t h,
				    int32_t x, int32_t y, int order)
{
	struct layout_output_config c = {
		.position_set = true, .x = x, .y = y, .width = w, .height = h, .order = order};
	struct layout_output *o = layout_output_create(layout, name, &c, NULL);
	check(o != NULL);
	return o;
}

static void check_box(const struct layout_output *o, int32_t x, int32_t y, uint32_t w, uint32_t h)
{
	check(o->placed);
	check_int_eq(o->x, x);
	check_int_eq(o->y, y);
	check_int_eq(o->width, w);
	check_int_eq(o->height, h);
}

static void test_placement(void)
{
	struct layout layout;
	layout_init(&layout);

	/* Without positions: left to right in configuration order, not addition order. */
	struct layout_output *b = add(&layout, "B", 1280, 1024, 1);
	struct layout_output *a = add(&layout, "A", 1920, 1080, 0);
	check_box(a, 0, 0, 1920, 1080);
	check_box(b, 1920, 0, 1280, 1024);
	check(layout_find(&layout, "A") == a);
	check(layout_find(&layout, "C") == NULL);

	/* A positioned output: the others follow its right edge. */
	struct layout_output *c = add_at(&layout, "C", 1024, 768, -200, 1080, 2);
	check_box(c, -200, 1080, 1024, 768);
	check_box(a, 824, 0, 1920, 1080);
	check_box(b, 824 + 1920, 0, 1280, 1024);

	/* A rotation swaps the box and moves the outputs after it. */
	struct layout_output_config ac = a->config;
	ac.rotation = LAYOUT_ROTATION_90;
	layout_output_update(&layout, a, &ac);
	check_box(a, 824, 0, 1080, 1920);
	check_box(b, 824 + 1080, 0, 1280, 1024);
	ac.rotation = LAYOUT_ROTATION_180;
	layout_output_update(&layout, a, &ac);
	check_box(a, 824, 0, 1920, 1080);

	/* An output without a mode is not placed and takes no room. */
	ac.width = 0;
	layout_output_update(&layout, a, &ac);
	check(!a->placed);
	check_box(b, 824, 0, 1280, 1024);
	check(layout_output_at(&layout, 830, 10) == b);

	/* Removing one closes the row up. */
	layout_output_destroy(&layout, c);
	check_box(b, 0, 0, 1280, 1024);
	layout_output_destroy(&layout, NULL);

	/* Cycling goes through placed outputs in order, wrapping around. */
	ac.width = 1920;
	layout_output_update(&layout, a, &ac);
	struct layout_output *d = add(&layout, "D", 0, 0, 3);
	check(layout_output_cycle(&layout, NULL, true) == a);
	check(layout_output_cycle(&layout, a, true) == b);
	check(layout_output_cycle(&layout, b, true) == a); /* D is not placed */
	check(layout_output_cycle(&layout, a, false) == b);
	check(layout_output_cycle(&layout, NULL, false) == b);
	double x, y;
	layout_output_center(b, &x, &y);
	check_near(x, 1920 + 640);
	check_near(y, 512);
	layout_output_destroy(&layout, d);

	/* Names and rotations. */
	enum layout_rotation r = LAYOUT_ROTATION_0;
	check_int_eq(layout_rotation_from_degrees(270, &r), 0);
	check_int_eq(r, LAYOUT_ROTATION_270);
	check_int_eq(layout_rotation_from_degrees(45, &r), -EINVAL);
	check_int_eq(layout_rotation_from_degrees(360, &r), -EINVAL);
	check_int_eq(layout_rotation_from_degrees(-90, &r), -EINVAL);
	check_int_eq(r, LAYOUT_ROTATION_270);
	check_str_eq(layout_rotation_name(LAYOUT_ROTATION_90), "90");
	check_str_eq(layout_rotation_name(LAYOUT_ROTATION__COUNT), "unknown");

	layout_finish(&layout);
	check(wl_list_empty(&layout.outputs));

	/* Nothing placed: nothing to clamp to. */
	x = 5, y = 6;
	check(layout_clamp(&layout, &x, &y) == NULL);
	check(x == 5 && y == 6);
}

static void clamp_to(const struct layout *layout, double x, double y,
		     const struct layout_output *expected, double ex, double ey)
{
	double x0 = x, y0 = y;
	struct layout_output *got = layout_clamp(layout, &x, &y);
	if (got != expected)
		fprintf(stderr, "clamp %g,%g went to %s\n", x0, y0, got ? got->name : "nothing");
	check(got == expected);
	check_near(x, ex);
	check_near(y, ey);
	check(layout_output_at(layout, x, y) == expected);
}

static void test_clamp_heights(void)
{
	/* A 1920×1080 and, right of it, a 1280×720: a step at y = 720. */
	struct layout layout;
	layout_init(&layout);
	struct layout_output *a = add(&layout, "A", 1920, 1080, 0);
	struct layout_output *b = add(&layout, "B", 1280, 720, 1);

	/* Inside: unchanged, on either side of the border. */
	clamp_to(&layout, 1919.5, 1000, a, 1919.5, 1000);
	clamp_to(&layout, 1920, 700, b, 1920, 700);
	/* Crossing the border above the step moves onto B. */
	check(layout_output_at(&layout, 1950, 500) == b);
	/* Below the step the pointer stops at A's right edge... */
	clamp_to(&layout, 1950, 900, a, 1920 - E, 900);
	/* ...or lands on B's bottom edge when that is nearer. */
	clamp_to(&layout, 2400, 750, b, 2400, 720 - E);
	/* The outer edges. */
	clamp_to(&layout, -30, -40, a, 0, 0);
	clamp_to(&layout, 5000, 100, b, 3200 - E, 100);
	clamp_to(&layout, 1000, 2000, a, 1000, 1080 - E);
	/* Far below both: the nearest corner is A's. */
	clamp_to(&layout, 3000, 3000, a, 1920 - E, 1080 - E);
	clamp_to(&layout, 3500, 800, b, 3200 - E, 720 - E);
	layout_finish(&layout);
}

static void test_gap(void)
{
	/* Two 1000×1000 with a 100 pixel gap between them. */
	struct layout layout;
	layout_init(&layout);
	struct layout_output *a = add_at(&layout, "A", 1000, 1000, 0, 0, 0);
	struct layout_output *b = add_at(&layout, "B", 1000, 1000, 1100, 0, 1);
	check(layout_output_at(&layout, 1050, 500) == NULL);
	clamp_to(&layout, 1040, 500, a, 1000 - E, 500);
	clamp_to(&layout, 1060, 500, b, 1100, 500);
	clamp_to(&layout, 1099.99, 999.99, b, 1100, 999.99);
	/* An output placed automatically goes after the rightmost one. */
	struct layout_output *c = add(&layout, "C", 640, 480, 2);
	check_box(c, 2100, 0, 640, 480);
	layout_finish(&layout);
}

static void test_rotation(void)
{
	/* A 1920×1080 mode at x = 100, turned each way. */
	static const struct {
		enum layout_rotation rotation;
		uint32_t box_w, box_h;
		double mode_x, mode_y; /* of the box point 80,20 */
	} cases[] = {
		{LAYOUT_ROTATION_0, 1920, 1080, 80, 20},
		{LAYOUT_ROTATION_90, 1080, 1920, 20, 1080 - 80},
		{LAYOUT_ROTATION_180, 1920, 1080, 1920 - 80, 1080 - 20},
		{LAYOUT_ROTATION_270, 1080, 1920, 1920 - 20, 80},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct layout layout;
		layout_init(&layout);
		struct layout_output_config c = {.position_set = true,
						 .x = 100,
						 .width = 1920,
						 .height = 1080,
						 .rotation = cases[i].rotation};
		struct layout_output *o = layout_output_create(&layout, "R", &c, NULL);
		check(o != NULL);
		check_box(o, 100, 0, cases[i].box_w, cases[i].box_h);

		double mx, my, x, y;
		layout_to_mode(o, 100 + 80, 20, &mx, &my);
		check_near(mx, cases[i].mode_x);
		check_near(my, cases[i].mode_y);
		layout_from_mode(o, mx, my, &x, &y);
		check_near(x, 180);
		check_near(y, 20);

		/* Every corner of the mode is a corner of the box. */
		double mode_corners[4][2] = {{0, 0}, {1920, 0}, {0, 1080}, {1920, 1080}};
		for (int k = 0; k < 4; k++) {
			layout_from_mode(o, mode_corners[k][0], mode_corners[k][1], &x, &y);
			check(x == 100 || x == 100 + cases[i].box_w);
			check(y == 0 || y == cases[i].box_h);
		}
		/* Points off the box are clamped into the mode first. */
		layout_to_mode(o, -1000, -1000, &mx, &my);
		check(mx >= 0 && mx < 1920 && my >= 0 && my < 1080);
		layout_to_mode(o, 1e9, 1e9, &mx, &my);
		check(mx >= 0 && mx < 1920 && my >= 0 && my < 1080);
		layout_finish(&layout);
	}

	/* At 90 degrees moving right goes up the mode, moving down goes right. */
	struct layout layout;
	layout_init(&layout);
	struct layout_output_config c = {
		.width = 1920, .height = 1080, .rotation = LAYOUT_ROTATION_90};
	struct layout_output *o = layout_output_create(&layout, "R", &c, NULL);
	double mx0, my0, mx1, my1;
	layout_to_mode(o, 500, 500, &mx0, &my0);
	layout_to_mode(o, 510, 500, &mx1, &my1);
	check_near(mx1, mx0);
	check_near(my1, my0 - 10);
	layout_to_mode(o, 500, 510, &mx1, &my1);
	check_near(mx1, mx0 + 10);
	check_near(my1, my0);
	layout_finish(&layout);
}

static void test_touch_rotated(void)
{
	/*
	 * A 1920×1080 touch monitor turned 90 degrees clockwise (portrait,
	 * 1080 wide and 1920 tall as the user sees it), showing a 1280×800
	 * guest with fit: the picture is 1728×1080 at 96,0 of the mode.
	 */
	struct layout layout;
	layout_init(&layout);
	add(&layout, "left", 1024, 768, 0);
	struct layout_output_config c = {
		.width = 1920, .height = 1080, .rotation = LAYOUT_ROTATION_90, .order = 1};
	struct layout_output *o = layout_output_create(&layout, "portrait", &c, NULL);
	check_box(o, 1024, 0, 1080, 1920);
	struct kms_fixed_rect src;
	struct kms_rect dst;
	kms_scale_place(KMS_SCALE_FIT, 1280, 800, 1920, 1080, &src, &dst);
	check(dst.x == 96 && dst.y == 0 && dst.width == 1728 && dst.height == 1080);
	layout_output_set_picture(o, &src, &dst);

	/*
	 * The user touches the panel 810 pixels from its left edge and 960
	 * from its top, as they see it. The touchscreen turned with the panel:
	 * its x runs down the output as seen, its y from right to left, so it
	 * reports u = 960 / 1920 = 0.5 and v = (1080 - 810) / 1080 = 0.25.
	 */
	double mx, my, gx, gy;
	layout_touch_to_mode(o, 0.5, 0.25, &mx, &my);
	check_near(mx, 960);
	check_near(my, 270);
	check(layout_output_to_guest(o, mx, my, &gx, &gy));
	/* 96 + 864 is the middle of the picture; 270 / 1080 × 800 = 200. */
	check_near(gx, 640);
	check_near(gy, 200);

	/* The pointer at the same spot of the layout reaches the same guest pixel. */
	double x, y;
	layout_from_mode(o, mx, my, &x, &y);
	check_near(x, 1024 + 810);
	check_near(y, 960);
	double pmx, pmy;
	layout_to_mode(o, x, y, &pmx, &pmy);
	check_near(pmx, 960);
	check_near(pmy, 270);

	/* The touchscreen's origin is the seen top-right corner. */
	layout_touch_to_mode(o, 0, 0, &mx, &my);
	layout_from_mode(o, mx, my, &x, &y);
	check_near(x, 1024 + 1080);
	check_near(y, 0);
	/* Its far corner lies on the black bar: clamped to the guest's corner. */
	layout_touch_to_mode(o, 1, 1, &mx, &my);
	check(!layout_output_to_guest(o, mx, my, &gx, &gy));
	check_near(gx, 1280 - E);
	check_near(gy, 800 - E);
	/* Out of range values are clamped. */
	layout_touch_to_mode(o, -0.5, 1.5, &mx, &my);
	check_near(mx, 0);
	check_near(my, 1080 - E);

	/* Without a picture, nothing is on the guest. */
	layout_output_set_picture(o, NULL, NULL);
	check(!layout_output_to_guest(o, 960, 270, &gx, &gy));
	check(gx == 0 && gy == 0);
	layout_finish(&layout);
}

static void guest_at(enum kms_scale scale, uint32_t gw, uint32_t gh, double mx, double my,
		     bool inside, double ex, double ey)
{
	struct kms_fixed_rect src;
	struct kms_rect dst;
	kms_scale_place(scale, gw, gh, 1920, 1080, &src, &dst);
	double gx, gy;
	check(layout_mode_to_guest(&src, &dst, mx, my, &gx, &gy) == inside);
	check_near(gx, ex);
	check_near(gy, ey);
}

static void test_guest_placements(void)
{
	/* 1280×1024 with fit on 1920×1080: 1350×1080 at 285,0. */
	guest_at(KMS_SCALE_FIT, 1280, 1024, 285, 0, true, 0, 0);
	guest_at(KMS_SCALE_FIT, 1280, 1024, 285 + 675, 540, true, 640, 512);
	guest_at(KMS_SCALE_FIT, 1280, 1024, 100, 540, false, 0, 512);
	guest_at(KMS_SCALE_FIT, 1280, 1024, 1900, 1080 - E, false, 1280 - E, 1024 - E);
	/* With center: 1:1 at 320,28. */
	guest_at(KMS_SCALE_CENTER, 1280, 1024, 330, 48, true, 10, 20);
	guest_at(KMS_SCALE_CENTER, 1280, 1024, 10, 10, false, 0, 0);
	/* A larger guest with center: its middle part, 1:1. */
	guest_at(KMS_SCALE_CENTER, 2560, 1440, 0, 0, true, 320, 180);
	guest_at(KMS_SCALE_CENTER, 2560, 1440, 1919.5, 1079.5, true, 2239.5, 1259.5);
	/* Stretch: the whole mode, each axis on its own. */
	guest_at(KMS_SCALE_STRETCH, 1280, 1024, 960, 540, true, 640, 512);
	guest_at(KMS_SCALE_STRETCH, 1280, 1024, 1920 - E, 0, true, 1280 - E, 0);
	guest_at(KMS_SCALE_STRETCH, 1280, 1024, 3000, -5, false, 1280 - E, 0);
	/* Same size: the identity. */
	guest_at(KMS_SCALE_FIT, 1920, 1080, 123.25, 456.5, true, 123.25, 456.5);

	/* The inverse of kms_scale_point() for every scale, to within a mode pixel. */
	for (int s = 0; s < KMS_SCALE__COUNT; s++) {
		struct kms_fixed_rect src;
		struct kms_rect dst;
		kms_scale_place((enum kms_scale)s, 1280, 1024, 1920, 1080, &src, &dst);
		for (int32_t gx = 0; gx < 1280; gx += 97) {
			for (int32_t gy = 0; gy < 1024; gy += 89) {
				int32_t mx, my;
				kms_scale_point(&src, &dst, gx, gy, &mx, &my);
				double bx, by;
				check(layout_mode_to_guest(&src, &dst, mx, my, &bx, &by));
				check(fabs(bx - gx) <= 1280.0 / dst.width);
				check(fabs(by - gy) <= 1024.0 / dst.height);
			}
		}
	}

	/* An empty placement. */
	struct kms_fixed_rect src;
	struct kms_rect dst;
	kms_scale_place(KMS_SCALE_FIT, 0, 0, 1920, 1080, &src, &dst);
	double gx = 1, gy = 1;
	check(!layout_mode_to_guest(&src, &dst, 10, 10, &gx, &gy));
	check(gx == 0 && gy == 0);
}

/* Which output a touchscreen goes to: its section, udev's WL_OUTPUT, the first [output]. */
static void test_touch_output(void)
{
	struct layout layout;
	layout_init(&layout);
	struct layout_output *v1 = add(&layout, "Virtual-1", 1920, 1080, 0);
	struct layout_output *v2 = add(&layout, "Virtual-2", 1024, 768, 1);
	struct layout_output *off = add(&layout, "Virtual-3", 0, 0, 2);
	check(!off->placed);

	/* The configuration wins over WL_OUTPUT, whatever both name. */
	check(layout_touch_output(&layout, "Virtual-2", "Virtual-1", "Virtual-1") == v2);
	check(layout_touch_output(&layout, "Virtual-1", "Virtual-2", "Virtual-1") == v1);
	/* A configured output that is not there: the first placed, not WL_OUTPUT. */
	check(layout_touch_output(&layout, "HDMI-A-1", "Virtual-2", "Virtual-2") == v1);
	/* No section: WL_OUTPUT, before the first [output]. */
	check(layout_touch_output(&layout, NULL, "Virtual-2", "Virtual-1") == v2);
	check(layout_touch_output(&layout, NULL, "Virtual-2", NULL) == v2);
	/* WL_OUTPUT naming an output that is not there or not lit: the fallback. */
	check(layout_touch_output(&layout, NULL, "DP-7", "Virtual-2") == v2);
	check(layout_touch_output(&layout, NULL, "Virtual-3", "Virtual-2") == v2);
	check(layout_touch_output(&layout, NULL, "Virtual-3", NULL) == v1);
	/* Nothing named: the first [output], else the first placed. */
	check(layout_touch_output(&layout, NULL, NULL, "Virtual-2") == v2);
	check(layout_touch_output(&layout, NULL, NULL, NULL) == v1);
	layout_finish(&layout);

	/* Nothing placed: nothing. */
	layout_init(&layout);
	check(layout_touch_output(&layout, NULL, "Virtual-1", NULL) == NULL);
	layout_finish(&layout);
}

int main(void)
{
	test_touch_output();
	test_placement();
	test_clamp_heights();
	test_gap();
	test_rotation();
	test_touch_rotated();
	test_guest_placements();
	return 0;
}
