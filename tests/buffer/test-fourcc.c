// SPDX-License-Identifier: MIT
#include <drm_fourcc.h>

#include "test.h"
#include "util/fourcc.h"

static void test_table(void)
{
	const struct fourcc_info *info = fourcc_info_get(DRM_FORMAT_ARGB8888);
	check(info != NULL);
	check_int_eq(info->bpp[0], 4);
	check(info->has_alpha);
	check_int_eq(info->pixman, PIXMAN_a8r8g8b8);
	check_int_eq(info->opaque, DRM_FORMAT_XRGB8888);

	info = fourcc_info_get(DRM_FORMAT_RGB565);
	check(info != NULL);
	check_int_eq(info->bpp[0], 2);
	check(!info->has_alpha);
	check_int_eq(info->pixman, PIXMAN_r5g6b5);

	info = fourcc_info_get(DRM_FORMAT_BGR888);
	check(info != NULL);
	check_int_eq(info->bpp[0], 3);
	check_int_eq(info->pixman, PIXMAN_b8g8r8);
	check_int_eq(fourcc_info_get(DRM_FORMAT_RGB888)->pixman, PIXMAN_r8g8b8);

	check_int_eq(fourcc_info_get(DRM_FORMAT_ABGR8888)->pixman, PIXMAN_a8b8g8r8);
	check_int_eq(fourcc_info_get(DRM_FORMAT_XRGB2101010)->pixman, PIXMAN_x2r10g10b10);
	check_int_eq(fourcc_opaque(DRM_FORMAT_ARGB2101010), DRM_FORMAT_XRGB2101010);
	check_int_eq(fourcc_opaque(DRM_FORMAT_ABGR8888), DRM_FORMAT_XBGR8888);
	check_int_eq(fourcc_opaque(DRM_FORMAT_XRGB8888), DRM_FORMAT_XRGB8888);
	check_int_eq(fourcc_opaque(0x12345678), DRM_FORMAT_INVALID);

	/* Every alpha format has an opaque twin without alpha, of the same size. */
	uint32_t all[] = {DRM_FORMAT_ARGB8888, DRM_FORMAT_ABGR8888,    DRM_FORMAT_RGBA8888,
			  DRM_FORMAT_BGRA8888, DRM_FORMAT_ARGB2101010, DRM_FORMAT_ABGR2101010};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const struct fourcc_info *a = fourcc_info_get(all[i]);
		const struct fourcc_info *x = fourcc_info_get(a->opaque);
		check(x != NULL);
		check(!x->has_alpha);
		check_int_eq(x->bpp[0], a->bpp[0]);
		check_int_eq(PIXMAN_FORMAT_BPP(x->pixman), PIXMAN_FORMAT_BPP(a->pixman));
		check_int_eq(PIXMAN_FORMAT_A(x->pixman), 0);
	}

	check(!fourcc_supported(0x12345678));
	check(!fourcc_supported(DRM_FORMAT_YUYV));
	check(fourcc_supported(DRM_FORMAT_NV12));

	info = fourcc_info_get(DRM_FORMAT_NV12);
	check_int_eq(info->n_planes, 2);
	check_int_eq(info->pixman, 0);
	check_int_eq(fourcc_plane_min_stride(info, 0, 101), 101);
	check_int_eq(fourcc_plane_min_stride(info, 1, 101), 102);
	check_int_eq(fourcc_plane_height(info, 1, 51), 26);
	check_int_eq(fourcc_plane_min_stride(info, 2, 101), 0);
	check_int_eq(fourcc_plane_min_stride(NULL, 0, 101), 0);
}

static void test_names(void)
{
	char buf[FOURCC_STR_SIZE];

	check_str_eq(fourcc_str(DRM_FORMAT_XRGB8888, buf, sizeof(buf)), "XR24 (XRGB8888)");
	check_str_eq(fourcc_str(DRM_FORMAT_RGB565, buf, sizeof(buf)), "RG16 (RGB565)");
	check_str_eq(fourcc_str(DRM_FORMAT_YUYV, buf, sizeof(buf)), "YUYV");
	check_str_eq(fourcc_str(0x12345678, buf, sizeof(buf)), "0x12345678");
	check_str_eq(fourcc_str(0, buf, sizeof(buf)), "0x00000000");
	/* Truncated into a short buffer, never overflowing it. */
	char small[5];
	check_str_eq(fourcc_str(DRM_FORMAT_XRGB8888, small, sizeof(small)), "XR24");

	check_str_eq(fourcc_modifier_str(DRM_FORMAT_MOD_LINEAR, buf, sizeof(buf)), "LINEAR");
	check_str_eq(fourcc_modifier_str(DRM_FORMAT_MOD_INVALID, buf, sizeof(buf)), "INVALID");
	check_str_eq(fourcc_modifier_str(I915_FORMAT_MOD_X_TILED, buf, sizeof(buf)),
		     "INTEL_X_TILED");
	check_str_eq(fourcc_modifier_str(0x0f00000000000123ull, buf, sizeof(buf)),
		     "0x0f00000000000123");
}

int main(void)
{
	test_table();
	test_names();
	return 0;
}
