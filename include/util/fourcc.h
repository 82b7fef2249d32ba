/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_UTIL_FOURCC_H
#define VSCANOUT_UTIL_FOURCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pixman.h>

/*
 * The pixel formats vscanoutd handles, as DRM fourcc codes (drm_fourcc.h).
 *
 * Every format in the table can be imported as a framebuffer and checked by
 * dmabuf_attributes_check(); the copy path (render/copy.h) can read and
 * write those with a pixman code. Supported:
 *
 *   XRGB8888 ARGB8888 XBGR8888 ABGR8888 RGBX8888 RGBA8888 BGRX8888 BGRA8888
 *   RGB565 BGR565 RGB888 BGR888
 *   XRGB2101010 ARGB2101010 XBGR2101010 ABGR2101010
 *   NV12 (two planes; import only, no pixman code)
 *
 * Users never see bare numbers: fourcc_str() and fourcc_modifier_str() give
 * the names libdrm knows (drmGetFormatName(), drmGetFormatModifierName()).
 */

/* Most planes any format or dma-buf has. */
#define FOURCC_MAX_PLANES 4

/* Enough for any fourcc_str() or fourcc_modifier_str() result. */
#define FOURCC_STR_SIZE 48

struct fourcc_info {
	uint32_t fourcc;                /* DRM_FORMAT_* */
	const char *name;               /* long name, e.g. "XRGB8888" */
	unsigned int n_planes;          /* 1..FOURCC_MAX_PLANES */
	uint8_t bpp[FOURCC_MAX_PLANES]; /* bytes per pixel (per block of a plane) */
	uint8_t hsub, vsub;             /* subsampling of planes 1.. (1 for RGB formats) */
	bool has_alpha;                 /* some bits of a pixel are alpha */
	uint32_t opaque;                /* the same layout with alpha ignored: ARGB8888 -> XRGB8888;
					   the format itself when it has no alpha */
	pixman_format_code_t pixman;    /* the pixman equivalent in memory, 0 if none */
};

/* The table entry of fourcc, or NULL when vscanoutd does not handle it. */
const struct fourcc_info *fourcc_info_get(uint32_t fourcc);

/* True when fourcc is in the table. */
bool fourcc_supported(uint32_t fourcc);

/*
 * The opaque twin of fourcc (ARGB8888 -> XRGB8888, XRGB8888 -> itself),
 * or 0 (DRM_FORMAT_INVALID) when fourcc is not in the table.
 */
uint32_t fourcc_opaque(uint32_t fourcc);

/*
 * Width in bytes of one row of plane `plane` of a `width`-pixel wide image,
 * and the number of rows of that plane for a `height`-pixel high image.
 * 0 for an unknown format or plane.
 */
uint64_t fourcc_plane_min_stride(const struct fourcc_info *info, unsigned int plane,
				 uint32_t width);
uint32_t fourcc_plane_height(const struct fourcc_info *info, unsigned int plane, uint32_t height);

/*
 * Write a name of fourcc for users into buf (size bytes, FOURCC_STR_SIZE is
 * always enough) and return buf:
 *   - "XR24 (XRGB8888)" for a format in the table,
 *   - the code libdrm prints (e.g. "YU12") for another printable code,
 *   - "0x12345678" for a code that is not made of printable characters.
 * Allocates nothing the caller must free.
 */
const char *fourcc_str(uint32_t fourcc, char *buf, size_t size);

/*
 * Write the name of a format modifier for users into buf and return buf:
 * "LINEAR", "INVALID", "INTEL_X_TILED" (vendor and name from libdrm), or
 * "0x0f00000000000123" when libdrm does not know it.
 */
const char *fourcc_modifier_str(uint64_t modifier, char *buf, size_t size);

#endif
