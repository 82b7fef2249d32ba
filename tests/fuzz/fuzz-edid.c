// SPDX-License-Identifier: MIT
/*
 * EDID parse and generate: any bytes are read as an EDID (validity,
 * preferred mode, each descriptor), and any mode the input describes is
 * either refused by edid_generate() or turned into a valid EDID whose
 * preferred mode is that mode again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vfio/edid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fields edid_generate() keeps (see vfio/edid.h). */
static bool same_timing(const drmModeModeInfo *a, const drmModeModeInfo *b)
{
	const uint32_t kept = DRM_MODE_FLAG_PHSYNC | DRM_MODE_FLAG_NHSYNC | DRM_MODE_FLAG_PVSYNC |
			      DRM_MODE_FLAG_NVSYNC | DRM_MODE_FLAG_INTERLACE;
	uint32_t a_flags = a->flags & kept, b_flags = b->flags & kept;
	/* Sync polarities are negative unless positive. */
	if (!(a_flags & DRM_MODE_FLAG_PHSYNC))
		a_flags |= DRM_MODE_FLAG_NHSYNC;
	if (!(a_flags & DRM_MODE_FLAG_PVSYNC))
		a_flags |= DRM_MODE_FLAG_NVSYNC;
	if (a_flags & DRM_MODE_FLAG_PHSYNC)
		a_flags &= ~DRM_MODE_FLAG_NHSYNC;
	if (a_flags & DRM_MODE_FLAG_PVSYNC)
		a_flags &= ~DRM_MODE_FLAG_NVSYNC;
	return (a->clock + 5) / 10 * 10 == b->clock && a->hdisplay == b->hdisplay &&
	       a->hsync_start == b->hsync_start && a->hsync_end == b->hsync_end &&
	       a->htotal == b->htotal && a->vdisplay == b->vdisplay &&
	       a->vsync_start == b->vsync_start && a->vsync_end == b->vsync_end &&
	       a->vtotal == b->vtotal && a_flags == b_flags;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	drmModeModeInfo mode;

	/* The input as an EDID. */
	bool valid = edid_valid(data, size);
	if (edid_preferred_mode(data, size, &mode) == 0 &&
	    (mode.hdisplay == 0 || mode.vdisplay == 0))
		abort();
	if (valid && !edid_checksum_ok(data))
		abort();
	for (size_t off = 0; off + EDID_DTD_SIZE <= size; off += EDID_DTD_SIZE) {
		if (edid_parse_dtd(data + off, &mode) == 0 &&
		    (memchr(mode.name, '\0', sizeof(mode.name)) == NULL ||
		     mode.htotal < mode.hdisplay || mode.vtotal < mode.vdisplay))
			abort();
	}

	/* The input as a mode, sizes and a name to describe. */
	drmModeModeInfo in;
	if (size < sizeof(in) + 8)
		return 0;
	memcpy(&in, data, sizeof(in));
	uint32_t width_mm, height_mm;
	memcpy(&width_mm, data + sizeof(in), 4);
	memcpy(&height_mm, data + sizeof(in) + 4, 4);
	char name[32];
	size_t name_len = size - sizeof(in) - 8;
	if (name_len >= sizeof(name))
		name_len = sizeof(name) - 1;
	memcpy(name, data + sizeof(in) + 8, name_len);
	name[name_len] = '\0';

	uint8_t edid[EDID_BLOCK_SIZE];
	memset(edid, 0xaa, sizeof(edid));
	if (edid_generate(&in, width_mm % 8192, height_mm % 8192, name, edid) != 0)
		return 0;
	if (!edid_valid(edid, sizeof(edid)))
		abort();
	drmModeModeInfo out;
	if (edid_preferred_mode(edid, sizeof(edid), &out) != 0 || !same_timing(&in, &out) ||
	    !(out.type & DRM_MODE_TYPE_PREFERRED))
		abort();
	return 0;
}
