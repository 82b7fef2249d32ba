// SPDX-License-Identifier: MIT
#include "kms/output.h"
#include "kms/scale.h"
#include "test.h"

static const enum kms_scale all_scales[] = {KMS_SCALE_FIT, KMS_SCALE_CENTER, KMS_SCALE_STRETCH};

static void check_rects(const struct kms_fixed_rect *src, const struct kms_rect *dst,
			struct kms_fixed_rect want_src, struct kms_rect want_dst)
{
	check_int_eq(src->x, want_src.x);
	check_int_eq(src->y, want_src.y);
	check_int_eq(src->width, want_src.width);
	check_int_eq(src->height, want_src.height);
	check_int_eq(dst->x, want_dst.x);
	check_int_eq(dst->y, want_dst.y);
	check_int_eq(dst->width, want_dst.width);
	check_int_eq(dst->height, want_dst.height);
}

/* A source rectangle of whole pixels. */
static struct kms_fixed_rect px(uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	return (struct kms_fixed_rect){KMS_FIXED(x), KMS_FIXED(y), KMS_FIXED(w), KMS_FIXED(h)};
}

static void test_names(void)
{
	check_str_eq(kms_scale_name(KMS_SCALE_FIT), "fit");
	check_str_eq(kms_scale_name(KMS_SCALE_CENTER), "center");
	check_str_eq(kms_scale_name(KMS_SCALE_STRETCH), "stretch");
	check_str_eq(kms_scale_name(KMS_SCALE__COUNT), "unknown");
	check_str_eq(kms_scale_name((enum kms_scale) - 1), "unknown");
	for (size_t i = 0; i < sizeof(all_scales) / sizeof(all_scales[0]); i++) {
		enum kms_scale scale = KMS_SCALE__COUNT;
		check_int_eq(kms_scale_from_name(kms_scale_name(all_scales[i]), &scale), 0);
		check_int_eq(scale, all_scales[i]);
	}
	enum kms_scale scale = KMS_SCALE_CENTER;
	check_int_eq(kms_scale_from_name("Fit", &scale), -EINVAL);
	check_int_eq(kms_scale_from_name("centre", &scale), -EINVAL);
	check_int_eq(kms_scale_from_name("", &scale), -EINVAL);
	check_int_eq(kms_scale_from_name("unknown", &scale), -EINVAL);
	check_int_eq(scale, KMS_SCALE_CENTER);
}

static void test_examples(void)
{
	struct kms_fixed_rect src;
	struct kms_rect dst;

	/* 4:3 on 16:9: pillarbox. */
	kms_scale_place(KMS_SCALE_FIT, 1024, 768, 1920, 1080, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 1024, 768), (struct kms_rect){240, 0, 1440, 1080});
	/* 16:9 on 4:3: letterbox. */
	kms_scale_place(KMS_SCALE_FIT, 1920, 1080, 1024, 768, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 1920, 1080), (struct kms_rect){0, 96, 1024, 576});
	/* Tall (portrait) source on a wide output. */
	kms_scale_place(KMS_SCALE_FIT, 768, 1024, 1920, 1080, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 768, 1024), (struct kms_rect){555, 0, 810, 1080});
	/* Wide source on a tall output. */
	kms_scale_place(KMS_SCALE_FIT, 1920, 1080, 1080, 1920, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 1920, 1080), (struct kms_rect){0, 656, 1080, 608});
	/* Odd sizes: 481 × 1000 / 641 = 750.39 rounds to 750, centred at 125. */
	kms_scale_place(KMS_SCALE_FIT, 641, 481, 1000, 1000, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 641, 481), (struct kms_rect){0, 125, 1000, 750});
	/* 1000 × 3 / 2 = 1500 on 1501: the odd pixel goes right. */
	kms_scale_place(KMS_SCALE_FIT, 2, 2, 1501, 1000, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 2, 2), (struct kms_rect){250, 0, 1000, 1000});
	/* Same aspect, other size: the whole output. */
	kms_scale_place(KMS_SCALE_FIT, 1280, 720, 1920, 1080, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 1280, 720), (struct kms_rect){0, 0, 1920, 1080});
	/* An extreme aspect keeps at least one pixel. */
	kms_scale_place(KMS_SCALE_FIT, 10000, 1, 100, 100, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 10000, 1), (struct kms_rect){0, 49, 100, 1});

	/* Center, smaller: 1:1 in the middle. */
	kms_scale_place(KMS_SCALE_CENTER, 1024, 768, 1920, 1080, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 1024, 768), (struct kms_rect){448, 156, 1024, 768});
	/* Center, larger: the middle of the source, the whole output. */
	kms_scale_place(KMS_SCALE_CENTER, 1920, 1080, 1024, 768, &src, &dst);
	check_rects(&src, &dst, px(448, 156, 1024, 768), (struct kms_rect){0, 0, 1024, 768});
	/* Center, wider but shorter: cropped sideways, bars above and below. */
	kms_scale_place(KMS_SCALE_CENTER, 2561, 601, 1920, 1080, &src, &dst);
	check_rects(&src, &dst, px(320, 0, 1920, 601), (struct kms_rect){0, 239, 1920, 601});
	/* Center, odd leftover: rounded towards the top-left. */
	kms_scale_place(KMS_SCALE_CENTER, 3, 3, 8, 8, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 3, 3), (struct kms_rect){2, 2, 3, 3});

	/* Stretch: the whole output, whatever the aspect. */
	kms_scale_place(KMS_SCALE_STRETCH, 640, 480, 1920, 1080, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 640, 480), (struct kms_rect){0, 0, 1920, 1080});
	kms_scale_place(KMS_SCALE_STRETCH, 3840, 2160, 800, 1280, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 3840, 2160), (struct kms_rect){0, 0, 800, 1280});
}

static void test_empty_and_huge(void)
{
	struct kms_fixed_rect src;
	struct kms_rect dst;
	for (size_t i = 0; i < sizeof(all_scales) / sizeof(all_scales[0]); i++) {
		kms_scale_place(all_scales[i], 0, 768, 1920, 1080, &src, &dst);
		check_rects(&src, &dst, px(0, 0, 0, 768), (struct kms_rect){0, 0, 0, 0});
		kms_scale_place(all_scales[i], 1024, 0, 1920, 1080, &src, &dst);
		check_rects(&src, &dst, px(0, 0, 1024, 0), (struct kms_rect){0, 0, 0, 0});
		kms_scale_place(all_scales[i], 1024, 768, 0, 1080, &src, &dst);
		check_rects(&src, &dst, px(0, 0, 1024, 768), (struct kms_rect){0, 0, 0, 0});
		kms_scale_place(all_scales[i], 1024, 768, 1920, 0, &src, &dst);
		check_rects(&src, &dst, px(0, 0, 1024, 768), (struct kms_rect){0, 0, 0, 0});
	}
	/* Sizes beyond 16.16 are clamped rather than wrapped. */
	kms_scale_place(KMS_SCALE_FIT, 100000, 100000, 1000, 1000, &src, &dst);
	check_rects(&src, &dst, px(0, 0, 65535, 65535), (struct kms_rect){0, 0, 1000, 1000});
	kms_scale_place(KMS_SCALE_CENTER, UINT32_MAX, 10, 1000, 1000, &src, &dst);
	check_rects(&src, &dst, px(32267, 0, 1000, 10), (struct kms_rect){0, 495, 1000, 10});
}

/*
 * Every source and output size up to N × N, with every scale: the
 * placement stays within the output and the source, keeps what its scale
 * promises, and points map its corners onto each other.
 */
static void check_placement(enum kms_scale scale, uint32_t sw, uint32_t sh, uint32_t dw,
			    uint32_t dh)
{
	struct kms_fixed_rect src;
	struct kms_rect dst;
	kms_scale_place(scale, sw, sh, dw, dh, &src, &dst);

	/* Within the output, not empty. */
	check(dst.x >= 0 && dst.y >= 0);
	check(dst.width >= 1 && dst.height >= 1);
	check((uint32_t)dst.x + dst.width <= dw);
	check((uint32_t)dst.y + dst.height <= dh);
	/* Within the source, whole pixels. */
	check(src.x % 65536 == 0 && src.y % 65536 == 0);
	check(src.width % 65536 == 0 && src.height % 65536 == 0);
	check(src.width >= 65536 && src.height >= 65536);
	check(src.x + src.width <= KMS_FIXED(sw) && src.y + src.height <= KMS_FIXED(sh));

	/* Equal sizes: the identity, whatever the scale. */
	if (sw == dw && sh == dh)
		check_rects(&src, &dst, px(0, 0, sw, sh), (struct kms_rect){0, 0, dw, dh});

	switch (scale) {
	case KMS_SCALE_FIT: {
		check_rects(&src, &dst, px(0, 0, sw, sh), dst);
		/* Centred, one side filling the output. */
		check_int_eq(dst.x, (dw - dst.width) / 2);
		check_int_eq(dst.y, (dh - dst.height) / 2);
		check(dst.width == dw || dst.height == dh);
		/*
		 * The side that does not fill the output is within half a
		 * pixel of the exact aspect (or 1 where that is below 1/2).
		 */
		if ((uint64_t)sw * dh >= (uint64_t)dw * sh) {
			check_int_eq(dst.width, dw);
			int64_t err = (int64_t)dst.height * sw - (int64_t)sh * dw;
			check(2 * (err < 0 ? -err : err) <= sw ||
			      (dst.height == 1 && 2 * sh * dw < sw));
		} else {
			check_int_eq(dst.height, dh);
			int64_t err = (int64_t)dst.width * sh - (int64_t)sw * dh;
			check(2 * (err < 0 ? -err : err) <= sh ||
			      (dst.width == 1 && 2 * sw * dh < sh));
		}
		break;
	}
	case KMS_SCALE_CENTER: {
		uint32_t w = sw < dw ? sw : dw, h = sh < dh ? sh : dh;
		check_int_eq(dst.width, w);
		check_int_eq(dst.height, h);
		check_int_eq(src.width, KMS_FIXED(w));
		check_int_eq(src.height, KMS_FIXED(h));
		check_int_eq(dst.x, (dw - w) / 2);
		check_int_eq(dst.y, (dh - h) / 2);
		check_int_eq(src.x, KMS_FIXED((sw - w) / 2));
		check_int_eq(src.y, KMS_FIXED((sh - h) / 2));
		break;
	}
	case KMS_SCALE_STRETCH:
		check_rects(&src, &dst, px(0, 0, sw, sh), (struct kms_rect){0, 0, dw, dh});
		break;
	default:
		check(false);
	}

	/* The source's corners land on the destination's. */
	int32_t x, y;
	kms_scale_point(&src, &dst, (int32_t)(src.x >> 16), (int32_t)(src.y >> 16), &x, &y);
	check_int_eq(x, dst.x);
	check_int_eq(y, dst.y);
	kms_scale_point(&src, &dst, (int32_t)((src.x + src.width) >> 16),
			(int32_t)((src.y + src.height) >> 16), &x, &y);
	check_int_eq(x, dst.x + (int32_t)dst.width);
	check_int_eq(y, dst.y + (int32_t)dst.height);
	/* Points map in order, inside and outside the source. */
	int32_t last_x = INT32_MIN, last_y = INT32_MIN;
	for (int32_t v = -3; v <= 40; v++) {
		kms_scale_point(&src, &dst, v, v, &x, &y);
		check(x >= last_x && y >= last_y);
		last_x = x;
		last_y = y;
	}
	/* The whole source's size scales to the destination's. */
	uint32_t w, h;
	kms_scale_size(&src, &dst, src.width >> 16, src.height >> 16, &w, &h);
	check_int_eq(w, dst.width);
	check_int_eq(h, dst.height);
}

static void test_exhaustive(void)
{
	enum { N = 24 };
	for (uint32_t sw = 1; sw <= N; sw++) {
		for (uint32_t sh = 1; sh <= N; sh++) {
			for (uint32_t dw = 1; dw <= N; dw++) {
				for (uint32_t dh = 1; dh <= N; dh++) {
					check_placement(KMS_SCALE_FIT, sw, sh, dw, dh);
					check_placement(KMS_SCALE_CENTER, sw, sh, dw, dh);
					check_placement(KMS_SCALE_STRETCH, sw, sh, dw, dh);
				}
			}
		}
	}
	/* Some realistic sizes, odd ones among them. */
	static const uint32_t sizes[] = {1,    2,    3,    479,  480,  481,  599,  640,  719,  720,
					 767,  768,  800,  1023, 1024, 1080, 1081, 1199, 1280, 1366,
					 1440, 1600, 1920, 2160, 2560, 3840, 4096, 7680};
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	for (size_t a = 0; a < n; a++) {
		for (size_t b = 0; b < n; b++) {
			for (size_t c = 0; c < n; c++) {
				for (size_t d = 0; d < n; d += 3) {
					check_placement(KMS_SCALE_FIT, sizes[a], sizes[b], sizes[c],
							sizes[d]);
					check_placement(KMS_SCALE_CENTER, sizes[a], sizes[b],
							sizes[c], sizes[d]);
				}
			}
		}
	}
}

static void test_points_and_sizes(void)
{
	struct kms_fixed_rect src;
	struct kms_rect dst;
	int32_t x, y;
	uint32_t w, h;

	/* Identity. */
	kms_scale_place(KMS_SCALE_FIT, 1920, 1080, 1920, 1080, &src, &dst);
	kms_scale_point(&src, &dst, 123, -45, &x, &y);
	check_int_eq(x, 123);
	check_int_eq(y, -45);
	kms_scale_size(&src, &dst, 64, 0, &w, &h);
	check_int_eq(w, 64);
	check_int_eq(h, 0);

	/* 1024x768 fitted on 1920x1080: × 1.40625, 240 to the right. */
	kms_scale_place(KMS_SCALE_FIT, 1024, 768, 1920, 1080, &src, &dst);
	kms_scale_point(&src, &dst, 0, 0, &x, &y);
	check(x == 240 && y == 0);
	kms_scale_point(&src, &dst, 512, 384, &x, &y);
	check(x == 960 && y == 540);
	kms_scale_point(&src, &dst, 1024, 768, &x, &y);
	check(x == 1680 && y == 1080);
	kms_scale_point(&src, &dst, 1, 1, &x, &y); /* 1.40625 rounds down */
	check(x == 241 && y == 1);
	/* A cursor partly off the top-left: -14.06 rounds down to -15. */
	kms_scale_point(&src, &dst, -10, -10, &x, &y);
	check(x == 225 && y == -15);
	kms_scale_size(&src, &dst, 64, 64, &w, &h);
	check(w == 90 && h == 90);
	kms_scale_size(&src, &dst, 63, 1, &w, &h); /* 88.59 and 1.41 */
	check(w == 89 && h == 1);

	/* Centre-cropped 1920x1080 on 1024x768: shifted, not scaled. */
	kms_scale_place(KMS_SCALE_CENTER, 1920, 1080, 1024, 768, &src, &dst);
	kms_scale_point(&src, &dst, 448, 156, &x, &y);
	check(x == 0 && y == 0);
	kms_scale_point(&src, &dst, 0, 0, &x, &y);
	check(x == -448 && y == -156);
	kms_scale_size(&src, &dst, 64, 48, &w, &h);
	check(w == 64 && h == 48);

	/* Downscaled by 3: small cursors keep a pixel. */
	kms_scale_place(KMS_SCALE_STRETCH, 1920, 1080, 640, 360, &src, &dst);
	kms_scale_size(&src, &dst, 1, 32, &w, &h); /* 0.33 and 10.67 */
	check(w == 1 && h == 11);
	kms_scale_point(&src, &dst, 1919, -1, &x, &y); /* 639.67 and -0.33 */
	check(x == 639 && y == -1);

	/* A fractional source rectangle (as a client may set one). */
	src = (struct kms_fixed_rect){KMS_FIXED(11) / 2, 0, KMS_FIXED(100), KMS_FIXED(100)};
	dst = (struct kms_rect){0, 0, 200, 200};
	kms_scale_point(&src, &dst, 5, 0, &x, &y); /* 5.5 is the left edge */
	check(x == -1 && y == 0);
	kms_scale_point(&src, &dst, 6, 1, &x, &y);
	check(x == 1 && y == 2);

	/* An empty placement maps everything to its corner and sizes to 0. */
	src = (struct kms_fixed_rect){0, 0, 0, 0};
	dst = (struct kms_rect){7, 8, 0, 0};
	kms_scale_point(&src, &dst, 100, 100, &x, &y);
	check(x == 7 && y == 8);
	kms_scale_size(&src, &dst, 64, 64, &w, &h);
	check(w == 0 && h == 0);

	/* Extreme coordinates and sizes neither overflow nor wrap. */
	kms_scale_place(KMS_SCALE_STRETCH, 1, 1, 65535, 65535, &src, &dst);
	kms_scale_point(&src, &dst, INT32_MAX, INT32_MIN, &x, &y);
	check(x == INT32_MAX && y == INT32_MIN);
	kms_scale_size(&src, &dst, UINT32_MAX, 1, &w, &h);
	check(w == 65535u * 65535u && h == 65535);
}

int main(void)
{
	test_names();
	test_examples();
	test_empty_and_huge();
	test_exhaustive();
	test_points_and_sizes();
	return 0;
}
