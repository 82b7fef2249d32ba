// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <drm_fourcc.h>
#include <xf86drm.h>

#include "util/fourcc.h"

#define RGB(f, n, bytes, alpha, op, px)                                                      \
	{                                                                                    \
		.fourcc = f, .name = n, .n_planes = 1, .bpp = {bytes}, .hsub = 1, .vsub = 1, \
		.has_alpha = alpha, .opaque = op, .pixman = px,                              \
	}

static const struct fourcc_info formats[] = {
	RGB(DRM_FORMAT_XRGB8888, "XRGB8888", 4, false, DRM_FORMAT_XRGB8888, PIXMAN_x8r8g8b8),
	RGB(DRM_FORMAT_ARGB8888, "ARGB8888", 4, true, DRM_FORMAT_XRGB8888, PIXMAN_a8r8g8b8),
	RGB(DRM_FORMAT_XBGR8888, "XBGR8888", 4, false, DRM_FORMAT_XBGR8888, PIXMAN_x8b8g8r8),
	RGB(DRM_FORMAT_ABGR8888, "ABGR8888", 4, true, DRM_FORMAT_XBGR8888, PIXMAN_a8b8g8r8),
	RGB(DRM_FORMAT_RGBX8888, "RGBX8888", 4, false, DRM_FORMAT_RGBX8888, PIXMAN_r8g8b8x8),
	RGB(DRM_FORMAT_RGBA8888, "RGBA8888", 4, true, DRM_FORMAT_RGBX8888, PIXMAN_r8g8b8a8),
	RGB(DRM_FORMAT_BGRX8888, "BGRX8888", 4, false, DRM_FORMAT_BGRX8888, PIXMAN_b8g8r8x8),
	RGB(DRM_FORMAT_BGRA8888, "BGRA8888", 4, true, DRM_FORMAT_BGRX8888, PIXMAN_b8g8r8a8),
	RGB(DRM_FORMAT_RGB565, "RGB565", 2, false, DRM_FORMAT_RGB565, PIXMAN_r5g6b5),
	RGB(DRM_FORMAT_BGR565, "BGR565", 2, false, DRM_FORMAT_BGR565, PIXMAN_b5g6r5),
	RGB(DRM_FORMAT_RGB888, "RGB888", 3, false, DRM_FORMAT_RGB888, PIXMAN_r8g8b8),
	RGB(DRM_FORMAT_BGR888, "BGR888", 3, false, DRM_FORMAT_BGR888, PIXMAN_b8g8r8),
	RGB(DRM_FORMAT_XRGB2101010, "XRGB2101010", 4, false, DRM_FORMAT_XRGB2101010,
	    PIXMAN_x2r10g10b10),
	RGB(DRM_FORMAT_ARGB2101010, "ARGB2101010", 4, true, DRM_FORMAT_XRGB2101010,
	    PIXMAN_a2r10g10b10),
	RGB(DRM_FORMAT_XBGR2101010, "XBGR2101010", 4, false, DRM_FORMAT_XBGR2101010,
	    PIXMAN_x2b10g10r10),
	RGB(DRM_FORMAT_ABGR2101010, "ABGR2101010", 4, true, DRM_FORMAT_XBGR2101010,
	    PIXMAN_a2b10g10r10),
	{
		.fourcc = DRM_FORMAT_NV12,
		.name = "NV12",
		.n_planes = 2,
		.bpp = {1, 2},
		.hsub = 2,
		.vsub = 2,
		.has_alpha = false,
		.opaque = DRM_FORMAT_NV12,
		.pixman = 0,
	},
};

const struct fourcc_info *fourcc_info_get(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (formats[i].fourcc == fourcc)
			return &formats[i];
	}
	return NULL;
}

bool fourcc_supported(uint32_t fourcc)
{
	return fourcc_info_get(fourcc) != NULL;
}

uint32_t fourcc_opaque(uint32_t fourcc)
{
	const struct fourcc_info *info = fourcc_info_get(fourcc);
	return info != NULL ? info->opaque : DRM_FORMAT_INVALID;
}

uint64_t fourcc_plane_min_stride(const struct fourcc_info *info, unsigned int plane, uint32_t width)
{
	if (info == NULL || plane >= info->n_planes)
		return 0;
	uint64_t w = plane == 0 ? width : ((uint64_t)width + info->hsub - 1) / info->hsub;
	return w * info->bpp[plane];
}

uint32_t fourcc_plane_height(const struct fourcc_info *info, unsigned int plane, uint32_t height)
{
	if (info == NULL || plane >= info->n_planes)
		return 0;
	return plane == 0 ? height : (uint32_t)(((uint64_t)height + info->vsub - 1) / info->vsub);
}

static bool code_printable(uint32_t fourcc)
{
	for (int i = 0; i < 4; i++) {
		unsigned char c = (fourcc >> (8 * i)) & 0xff;
		if (!isprint(c))
			return false;
	}
	return true;
}

const char *fourcc_str(uint32_t fourcc, char *buf, size_t size)
{
	const struct fourcc_info *info = fourcc_info_get(fourcc);
	char *name = NULL;

	if (size == 0)
		return buf;
	if (code_printable(fourcc & ~DRM_FORMAT_BIG_ENDIAN))
		name = drmGetFormatName(fourcc);
	if (name == NULL)
		snprintf(buf, size, "0x%08" PRIx32, fourcc);
	else if (info != NULL)
		snprintf(buf, size, "%s (%s)", name, info->name);
	else
		snprintf(buf, size, "%s", name);
	free(name);
	return buf;
}

const char *fourcc_modifier_str(uint64_t modifier, char *buf, size_t size)
{
	char *name, *vendor = NULL;

	if (size == 0)
		return buf;
	name = drmGetFormatModifierName(modifier);
	if (name != NULL && fourcc_mod_get_vendor(modifier) != DRM_FORMAT_MOD_VENDOR_NONE)
		vendor = drmGetFormatModifierVendor(modifier);
	if (name == NULL)
		snprintf(buf, size, "0x%016" PRIx64, modifier);
	else if (vendor != NULL)
		snprintf(buf, size, "%s_%s", vendor, name);
	else
		snprintf(buf, size, "%s", name);
	free(vendor);
	free(name);
	return buf;
}
