/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_KMS_ROTATION_H
#define VSCANOUT_KMS_ROTATION_H

#include <stdbool.h>
#include <stdint.h>
#include <xf86drmMode.h>

struct kms_rect;

/*
 * An output's rotation: how its monitor is physically turned, clockwise as
 * the user sees it ([output] rotation = 0 | 90 | 180 | 270).
 *
 * Layers are placed in the output's logical space, the picture the user
 * sees upright: W × H for a W × H mode at 0 and 180 degrees, H × W at 90
 * and 270. To show it upright on the turned panel, each layer is turned the
 * other way (counter-clockwise) on its way to the mode: by the plane's
 * "rotation" property where a plane has it (DRM_MODE_ROTATE_<n>, which
 * turns counter-clockwise), by the copy path otherwise.
 *
 * A logical point p of the W × H mode's logical space is the mode point
 *
 *     0:   ( p.x,      p.y     )
 *     90:  ( p.y,      H - p.x )      logical space H × W
 *     180: ( W - p.x,  H - p.y )
 *     270: ( W - p.y,  p.x     )      logical space H × W
 *
 * (with the input layout's convention: at 90 degrees the panel's top edge
 * is on the user's right).
 */
enum kms_rotation {
	KMS_ROTATION_0 = 0,
	KMS_ROTATION_90,
	KMS_ROTATION_180,
	KMS_ROTATION_270,
	KMS_ROTATION__COUNT,
};

/* "0", "90", "180", "270"; "unknown" for other values. */
const char *kms_rotation_name(enum kms_rotation rotation);

/* The rotation in degrees: 0, 90, 180 or 270 (0 for unknown values). */
int kms_rotation_degrees(enum kms_rotation rotation);

/* Whether the logical space is the mode with width and height swapped (90, 270). */
bool kms_rotation_swaps(enum kms_rotation rotation);

/* The plane "rotation" property's value that shows a layer upright. */
uint64_t kms_rotation_plane_value(enum kms_rotation rotation);

/*
 * The logical size of a mode_w × mode_h mode: swapped at 90 and 270.
 */
void kms_rotation_logical_size(enum kms_rotation rotation, uint32_t mode_w, uint32_t mode_h,
			       uint32_t *width, uint32_t *height);

/*
 * The rectangle of the mode that logical rectangle `logical` covers on a
 * mode_w × mode_h mode (see the mapping above); width and height swap at
 * 90 and 270. Coordinates are computed in 64 bits and clamped to int32_t.
 */
void kms_rotation_rect_to_mode(enum kms_rotation rotation, uint32_t mode_w, uint32_t mode_h,
			       const struct kms_rect *logical, struct kms_rect *mode);

/*
 * The mode as the logical space sees it, for describing a turned monitor
 * to a guest (its EDID): at 90 and 270 degrees the active sizes swap, each
 * direction keeps its own blanking (front porch, sync, back porch), and the
 * pixel clock is scaled so that the refresh rate stays the same; flags,
 * type and name are kept. At 0 and 180 degrees the mode itself.
 */
void kms_rotation_mode(enum kms_rotation rotation, const drmModeModeInfo *mode,
		       drmModeModeInfo *turned);

#endif
