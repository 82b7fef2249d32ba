// SPDX-License-Identifier: MIT
/*
 * vkms-rotation: an output turned 90, 180 and 270 degrees shows its layers
 * upright on the turned monitor, exactly.
 *
 * Virtual-1 (1024x768) shows two layers placed in its logical space: a
 * whole-output background of that space's size (768x1024 when turned a
 * quarter) and a 96x64 overlay at 100,200. Each writeback capture of the
 * mode is compared pixel by pixel with a picture built here from the two
 * patterns, pixel by pixel, through the turn as the user sees it: at 90
 * degrees the panel's top edge is on the user's right, so logical pixel
 * (x, y) is mode pixel (y, 767 - x). Planes that cannot turn (vkms has no
 * rotation property) leave the layers to the copy path with the reason
 * "rotation"; a plane that can would take them directly. Turning is a
 * change of settings without a modeset; back at 0 the layers are scanned
 * out directly again. The software composition that screenshots use on
 * devices without writeback (kms_output_compose()) must give the same
 * picture.
 */
#include <drm_fourcc.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "kms/device.h"
#include "kms/output.h"
#include "kms/rotation.h"
#include "util/log.h"

#define MODE_W 1024
#define MODE_H 768
#define OVL_X  100
#define OVL_Y  200
#define OVL_W  96
#define OVL_H  64

/* The logical pixel that mode pixel mx,my shows (written independently of kms/rotation.c). */
static void mode_to_logical(int degrees, uint32_t mx, uint32_t my, uint32_t *lx, uint32_t *ly)
{
	switch (degrees) {
	case 90:
		*lx = MODE_H - 1 - my;
		*ly = mx;
		break;
	case 180:
		*lx = MODE_W - 1 - mx;
		*ly = MODE_H - 1 - my;
		break;
	case 270:
		*lx = my;
		*ly = MODE_W - 1 - mx;
		break;
	default:
		*lx = mx;
		*ly = my;
		break;
	}
}

static bool planes_can_turn(const struct kms_output *output, enum kms_rotation rotation)
{
	const struct kms_device *device = output->device;
	for (size_t i = 0; i < device->n_planes; i++) {
		const struct kms_plane *plane = &device->planes[i];
		if (kms_plane_can_use_crtc(plane, output->crtc) &&
		    (plane->rotations & kms_rotation_plane_value(rotation)))
			return true;
	}
	return false;
}

int main(void)
{
	struct kt_device dev;
	struct wl_event_loop *loop;
	struct kms_device *device;
	struct tk_presents presents;
	struct kms_output_settings settings;
	kms_output_settings_init(&settings);
	settings.width = MODE_W;
	settings.height = MODE_H;
	settings.flip = KMS_FLIP_VSYNC;
	struct kms_output *output =
		tk_light_virtual1(&dev, "vkms", &settings, &loop, &device, &presents);
	uint64_t modesets = output->stats.modesets;

	/* Backgrounds for both shapes of the logical space, and the overlay. */
	struct tk_udmabuf wide, tall, ovl;
	tk_udmabuf_create(&wide, MODE_W, MODE_H, DRM_FORMAT_XRGB8888, 4);
	tk_udmabuf_create(&tall, MODE_H, MODE_W, DRM_FORMAT_XRGB8888, 4);
	tk_udmabuf_create(&ovl, OVL_W, OVL_H, DRM_FORMAT_XRGB8888, 4);
	struct kt_image wide_img = tk_udmabuf_image(&wide), tall_img = tk_udmabuf_image(&tall),
			ovl_img = tk_udmabuf_image(&ovl);
	kt_fill_pattern(&wide_img, 0x7001);
	kt_fill_pattern(&tall_img, 0x7002);
	kt_fill_pattern(&ovl_img, 0x7003);

	struct kms_layer *bg = kms_output_create_layer(output, 0);
	struct kms_layer *fg = kms_output_create_layer(output, 1);
	kt_assert(bg != NULL && fg != NULL);
	struct kms_rect ovl_dst = {OVL_X, OVL_Y, OVL_W, OVL_H};

	static const int turns[] = {90, 180, 270, 0};
	for (size_t t = 0; t < sizeof(turns) / sizeof(turns[0]); t++) {
		int degrees = turns[t];
		enum kms_rotation rotation = (enum kms_rotation)(degrees / 90);
		settings.rotation = rotation;
		kt_assert_ok(kms_output_enable(output, &settings));

		uint32_t lw, lh, mw, mh;
		kms_output_get_size(output, &lw, &lh);
		kms_output_get_mode_size(output, &mw, &mh);
		kt_assert(mw == MODE_W && mh == MODE_H);
		bool quarter = degrees == 90 || degrees == 270;
		kt_assert(lw == (quarter ? MODE_H : MODE_W) && lh == (quarter ? MODE_W : MODE_H));
		struct tk_udmabuf *back = quarter ? &tall : &wide;
		struct kt_image *back_img = quarter ? &tall_img : &wide_img;
		kms_layer_set_buffer(bg, back->buffer, NULL, NULL);
		kms_layer_set_buffer(fg, ovl.buffer, NULL, &ovl_dst);
		tk_wait_presents(loop, &presents, presents.count + 1);

		/* What the user must see, mode pixel by mode pixel. */
		struct kt_image want, got;
		kt_assert_ok(kt_image_alloc(&want, MODE_W, MODE_H, DRM_FORMAT_XRGB8888));
		for (uint32_t my = 0; my < MODE_H; my++)
			for (uint32_t mx = 0; mx < MODE_W; mx++) {
				uint32_t x, y;
				mode_to_logical(degrees, mx, my, &x, &y);
				bool in_ovl = x >= OVL_X && x < OVL_X + OVL_W && y >= OVL_Y &&
					      y < OVL_Y + OVL_H;
				*kt_pixel(&want, mx, my) =
					in_ovl ? *kt_pixel(&ovl_img, x - OVL_X, y - OVL_Y)
					       : *kt_pixel(back_img, x, y);
			}
		tk_capture(loop, output, &got);
		char what[32];
		snprintf(what, sizeof(what), "rotation-%d", degrees);
		kt_assert(kt_compare(&got, &want, 0x00ffffff, what) == 0);
		kt_image_free(&got);

		struct kt_image composed;
		kt_assert_ok(kt_image_alloc(&composed, MODE_W, MODE_H, DRM_FORMAT_XRGB8888));
		pixman_image_t *image = pixman_image_create_bits(
			PIXMAN_x8r8g8b8, MODE_W, MODE_H, composed.data, (int)composed.stride);
		kt_assert(image != NULL);
		kt_assert_ok(kms_output_compose(output, image));
		pixman_image_unref(image);
		snprintf(what, sizeof(what), "composed-%d", degrees);
		kt_assert(kt_compare(&composed, &want, 0x00ffffff, what) == 0);
		kt_image_free(&composed);
		kt_image_free(&want);

		struct kms_layer_state st;
		kms_layer_get_state(fg, &st);
		if (degrees == 0) {
			kt_assert(st.direct && st.miss == 0);
		} else if (!planes_can_turn(output, rotation)) {
			kt_assert(st.copied && st.miss == KMS_LAYER_MISS_ROTATION);
		}
		kt_log("rotation %d: %ux%u logical space, overlay %s (miss 0x%x)", degrees, lw, lh,
		       st.direct ? "on a plane" : "copied", st.miss);
	}
	/* Turning never relit the CRTC. */
	kt_log("modesets: %llu before turning, %llu after", (unsigned long long)modesets,
	       (unsigned long long)output->stats.modesets);
	kt_assert(output->stats.modesets == modesets);

	tk_presents_finish(&presents);
	kms_device_destroy(device);
	tk_udmabuf_destroy(&wide);
	tk_udmabuf_destroy(&tall);
	tk_udmabuf_destroy(&ovl);
	wl_event_loop_destroy(loop);
	kt_device_close(&dev);
	kt_log("PASS");
	return 0;
}
