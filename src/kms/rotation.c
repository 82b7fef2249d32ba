// SPDX-License-Identifier: MIT
#include <xf86drmMode.h>

#include "kms/output.h"
#include "kms/rotation.h"

static const char *const names[KMS_ROTATION__COUNT] = {
	[KMS_ROTATION_0] = "0",
	[KMS_ROTATION_90] = "90",
	[KMS_ROTATION_180] = "180",
	[KMS_ROTATION_270] = "270",
};

const char *kms_rotation_name(enum kms_rotation rotation)
{
	if ((unsigned int)rotation >= KMS_ROTATION__COUNT)
		return "unknown";
	return names[rotation];
}

int kms_rotation_degrees(enum kms_rotation rotation)
{
	if ((unsigned int)rotation >= KMS_ROTATION__COUNT)
		return 0;
	return (int)rotation * 90;
}

bool kms_rotation_swaps(enum kms_rotation rotation)
{
	return rotation == KMS_ROTATION_90 || rotation == KMS_ROTATION_270;
}

uint64_t kms_rotation_plane_value(enum kms_rotation rotation)
{
	switch (rotation) {
	case KMS_ROTATION_90:
		return DRM_MODE_ROTATE_90;
	case KMS_ROTATION_180:
		return DRM_MODE_ROTATE_180;
	case KMS_ROTATION_270:
		return DRM_MODE_ROTATE_270;
	case KMS_ROTATION_0:
	case KMS_ROTATION__COUNT:
		break;
	}
	return DRM_MODE_ROTATE_0;
}

void kms_rotation_logical_size(enum kms_rotation rotation, uint32_t mode_w, uint32_t mode_h,
			       uint32_t *width, uint32_t *height)
{
	bool swap = kms_rotation_swaps(rotation);
	*width = swap ? mode_h : mode_w;
	*height = swap ? mode_w : mode_h;
}

static int32_t clamp_i32(int64_t v)
{
	return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

void kms_rotation_rect_to_mode(enum kms_rotation rotation, uint32_t mode_w, uint32_t mode_h,
			       const struct kms_rect *logical, struct kms_rect *mode)
{
	int64_t x = logical->x, y = logical->y, w = logical->width, h = logical->height;
	int64_t mx, my;
	switch (rotation) {
	case KMS_ROTATION_90:
		mx = y;
		my = (int64_t)mode_h - x - w;
		break;
	case KMS_ROTATION_180:
		mx = (int64_t)mode_w - x - w;
		my = (int64_t)mode_h - y - h;
		break;
	case KMS_ROTATION_270:
		mx = (int64_t)mode_w - y - h;
		my = x;
		break;
	case KMS_ROTATION_0:
	case KMS_ROTATION__COUNT:
	default:
		*mode = *logical;
		return;
	}
	mode->x = clamp_i32(mx);
	mode->y = clamp_i32(my);
	mode->width = kms_rotation_swaps(rotation) ? logical->height : logical->width;
	mode->height = kms_rotation_swaps(rotation) ? logical->width : logical->height;
}

void kms_rotation_mode(enum kms_rotation rotation, const drmModeModeInfo *mode,
		       drmModeModeInfo *turned)
{
	*turned = *mode;
	if (!kms_rotation_swaps(rotation) || mode->htotal == 0 || mode->vtotal == 0)
		return;
	uint32_t hd = mode->vdisplay, vd = mode->hdisplay;
	turned->hdisplay = (uint16_t)hd;
	turned->hsync_start = (uint16_t)(hd + (mode->hsync_start - mode->hdisplay));
	turned->hsync_end = (uint16_t)(hd + (mode->hsync_end - mode->hdisplay));
	turned->htotal = (uint16_t)(hd + (mode->htotal - mode->hdisplay));
	turned->vdisplay = (uint16_t)vd;
	turned->vsync_start = (uint16_t)(vd + (mode->vsync_start - mode->vdisplay));
	turned->vsync_end = (uint16_t)(vd + (mode->vsync_end - mode->vdisplay));
	turned->vtotal = (uint16_t)(vd + (mode->vtotal - mode->vdisplay));
	/* Same frames per second: the clock follows the number of pixels per frame. */
	uint64_t before = (uint64_t)mode->htotal * mode->vtotal;
	uint64_t after = (uint64_t)turned->htotal * turned->vtotal;
	turned->clock = (uint32_t)(((uint64_t)mode->clock * after + before / 2) / before);
}
