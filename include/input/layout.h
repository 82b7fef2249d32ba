/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_INPUT_LAYOUT_H
#define VSCANOUT_INPUT_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-util.h>

#include "kms/output.h"

/*
 * Where the outputs sit in one global space, to move the pointer across
 * them and to turn host pointer and touch positions into guest framebuffer
 * coordinates.
 *
 * Coordinates are doubles in logical pixels. An output covers the
 * half-open box [x, x + w) × [y, y + h) of the layout, where w × h is its
 * mode size, swapped for 90 and 270 degrees. Points handed out as
 * "inside" something stay at least LAYOUT_EPSILON before its right and
 * bottom edges, so that rounding them down gives the last pixel, never
 * one past it.
 *
 * Placement: an output with a position (config position=X,Y) is there.
 * The others are placed in their order (see layout_output_config.order)
 * one after the other, left to right, at y = 0, the first one at the
 * right edge of the rightmost positioned output (0 without any). Outputs
 * may overlap or leave gaps; the layout is recomputed after every change.
 *
 * Rotation: how the monitor is physically turned, clockwise as the user
 * sees it. The output turns its picture the other way (kms/rotation.h), so
 * the user sees it upright: the layout box of the output is the output's
 * logical space, where its layers are placed. With a mode of W × H, a
 * mode point m maps to the output's layout box as
 *
 *     0:   ( m.x,      m.y     )     box W × H
 *     90:  ( H - m.y,  m.x     )     box H × W
 *     180: ( W - m.x,  H - m.y )     box W × H
 *     270: ( m.y,      W - m.x )     box H × W
 *
 * so at 90 degrees moving the pointer right moves it towards the top of
 * the mode (the panel's top edge is on the user's right).
 *
 * Touch: a touchscreen is laminated to its panel and turns with it, so its
 * normalised point (u, v) in 0..1 (libinput's x and y transformed to 1.0)
 * is the mode point (u × W, v × H) whatever the rotation. At 90 degrees,
 * the touchscreen's x runs down the output as the user sees it (along its
 * right-hand edge at v = 0), its y from right to left.
 *
 * Guest coordinates: the vGPU's picture is placed on the output's logical
 * space (its box) by kms_scale_place(); layout_output_to_guest() inverts
 * that placement for a point of the box (layout_to_box()).
 * Points outside the picture (black bars) are clamped to its nearest edge
 * and reported as outside.
 */

/* How far inside a right or bottom edge clamped points stay: 1/256 pixel. */
#define LAYOUT_EPSILON (1.0 / 256.0)

enum layout_rotation {
	LAYOUT_ROTATION_0 = 0,
	LAYOUT_ROTATION_90,
	LAYOUT_ROTATION_180,
	LAYOUT_ROTATION_270,
	LAYOUT_ROTATION__COUNT,
};

/* How an output is placed. */
struct layout_output_config {
	bool position_set; /* false: placed automatically */
	int32_t x, y;      /* with position_set */
	uint32_t width;    /* mode width; 0 (or height 0): not in the layout */
	uint32_t height;
	enum layout_rotation rotation;
	int order; /* automatic placement goes by increasing order, then by
		      addition: the index of the output's [output] section */
};

struct layout_output {
	char *name;                         /* the output's name, for messages */
	void *data;                         /* the caller's, may be NULL */
	struct layout_output_config config; /* as last set */

	/* The box it covers, recomputed on every change. */
	bool placed; /* false while its mode size is 0 */
	int32_t x, y;
	uint32_t width, height; /* the mode as seen: swapped at 90 and 270 */

	/* The vGPU's picture on the mode, see layout_output_set_picture(). */
	bool has_picture;
	struct kms_fixed_rect src;
	struct kms_rect dst;

	struct wl_list link; /* layout.outputs, in placement order */
};

struct layout {
	struct wl_list outputs; /* layout_output.link */
};

/* "0", "90", "180", "270"; "unknown" for other values. */
const char *layout_rotation_name(enum layout_rotation rotation);

/* The rotation of `degrees` (0, 90, 180, 270). Returns 0 or -EINVAL. */
int layout_rotation_from_degrees(int degrees, enum layout_rotation *rotation);

void layout_init(struct layout *layout);

/* Destroy every output left. */
void layout_finish(struct layout *layout);

/*
 * Add an output called `name` (copied) placed as `config` says, carrying
 * `data`. Returns NULL when memory runs out.
 */
struct layout_output *layout_output_create(struct layout *layout, const char *name,
					   const struct layout_output_config *config, void *data);

/* Remove an output from its layout and free it; NULL is a no-op. */
void layout_output_destroy(struct layout *layout, struct layout_output *output);

/* Place `output` anew, e.g. after a mode change; the others may move. */
void layout_output_update(struct layout *layout, struct layout_output *output,
			  const struct layout_output_config *config);

/*
 * Set where the vGPU's picture is on the output: src (16.16, of the guest
 * framebuffer) and dst (pixels of the box, relative to its top-left
 * corner), as kms_scale_place() made them.
 * NULL, or an empty src or dst: no picture.
 */
void layout_output_set_picture(struct layout_output *output, const struct kms_fixed_rect *src,
			       const struct kms_rect *dst);

/* The output called `name`, or NULL. */
struct layout_output *layout_find(const struct layout *layout, const char *name);

/*
 * The output whose box holds x,y (the first in placement order where
 * several overlap), or NULL.
 */
struct layout_output *layout_output_at(const struct layout *layout, double x, double y);

/*
 * Move x,y to the nearest point of the union of the placed outputs: a
 * point inside an output stays; one in a gap or beyond the edges goes to
 * the closest point of the nearest output (the first in placement order
 * on a tie). Returns that output, or NULL (x,y untouched) when no output
 * is placed.
 */
struct layout_output *layout_clamp(const struct layout *layout, double *x, double *y);

/*
 * The next (or previous, with `forward` false) placed output after
 * `output` in placement order, wrapping around; the first (last) placed
 * one when `output` is NULL. NULL when no output is placed.
 */
struct layout_output *layout_output_cycle(const struct layout *layout,
					  const struct layout_output *output, bool forward);

/*
 * The output a touchscreen (or tablet) goes to, in this order:
 *  1. configured (may be NULL): the output of the device's [touchscreen]
 *     section, when it has one: the configuration always wins;
 *  2. wl_output (may be NULL): udev's WL_OUTPUT property of the device,
 *     when no section names the device and that output is placed;
 *  3. fallback (may be NULL): the first [output] section's;
 * and when the one chosen is not in the layout, the first placed output.
 * NULL when no output is placed.
 */
struct layout_output *layout_touch_output(const struct layout *layout, const char *configured,
					  const char *wl_output, const char *fallback);

/* The centre of a placed output's box, in layout coordinates. */
void layout_output_center(const struct layout_output *output, double *x, double *y);

/*
 * Layout point x,y → mode pixels of `output`, undoing its rotation. The
 * point is first clamped into the output's box.
 */
void layout_to_mode(const struct layout_output *output, double x, double y, double *mode_x,
		    double *mode_y);

/*
 * Layout point x,y → point of `output`'s box, relative to its top-left
 * corner: the output's logical space. The point is first clamped into the
 * box.
 */
void layout_to_box(const struct layout_output *output, double x, double y, double *box_x,
		   double *box_y);

/* Mode point → layout point: the inverse of layout_to_mode(). */
void layout_from_mode(const struct layout_output *output, double mode_x, double mode_y, double *x,
		      double *y);

/*
 * A touchscreen's normalised point u,v (each clamped to 0..1) → mode
 * pixels of the output it is bound to (see above: the rotation does not
 * change it; layout_from_mode() gives where the user touched in the
 * layout).
 */
void layout_touch_to_mode(const struct layout_output *output, double u, double v, double *mode_x,
			  double *mode_y);

/*
 * Mode point → guest framebuffer point through the placement src → dst:
 * guest = src.xy + (mode - dst.xy) × src.size / dst.size. A point outside
 * dst is clamped into the visible part of the guest framebuffer, src
 * (right and bottom edges excluded by LAYOUT_EPSILON). Returns true when
 * the point was on the picture, false when clamped; false with 0,0 when
 * src or dst is empty.
 */
bool layout_mode_to_guest(const struct kms_fixed_rect *src, const struct kms_rect *dst,
			  double mode_x, double mode_y, double *guest_x, double *guest_y);

/*
 * layout_mode_to_guest() with the output's picture, for box point
 * box_x,box_y (layout_to_box()). Returns false with 0,0 when the output
 * has none.
 */
bool layout_output_to_guest(const struct layout_output *output, double box_x, double box_y,
			    double *guest_x, double *guest_y);

#endif
