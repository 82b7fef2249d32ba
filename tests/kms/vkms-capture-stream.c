// SPDX-License-Identifier: MIT
/*
 * vkms-capture-stream: writeback captures while frames stream.
 *
 * A layer alternates between two udmabufs at every present, the way a VMM
 * flipping every vblank drives an output. Captures asked for in the middle
 * of that stream, the first of which binds the writeback connector with a
 * modeset, must each complete and show exactly one of the two frames.
 */
#include <drm_fourcc.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "kms/device.h"
#include "kms/output.h"
#include "kms/writeback.h"
#include "util/log.h"

#define CAPTURES 4

struct stream {
	struct wl_listener present;
	struct kms_layer *layer;
	struct tk_udmabuf *bufs[2];
	unsigned int frame;
};

static void handle_present(struct wl_listener *listener, void *data)
{
	struct stream *s = wl_container_of(listener, s, present);
	s->frame++;
	kms_layer_set_buffer(s->layer, s->bufs[s->frame % 2]->buffer, NULL, NULL);
}

int main(void)
{
	struct kt_device dev;
	struct wl_event_loop *loop;
	struct kms_device *device;
	struct tk_presents presents;
	struct kms_output_settings settings;
	kms_output_settings_init(&settings);
	settings.width = 1024;
	settings.height = 768;
	settings.flip = KMS_FLIP_VSYNC;
	struct kms_output *output =
		tk_light_virtual1(&dev, "vkms", &settings, &loop, &device, &presents);

	struct tk_udmabuf a, b;
	struct kt_image want[2];
	tk_udmabuf_create(&a, 1024, 768, DRM_FORMAT_XRGB8888, 4);
	tk_udmabuf_create(&b, 1024, 768, DRM_FORMAT_XRGB8888, 4);
	struct tk_udmabuf *bufs[2] = {&a, &b};
	for (int i = 0; i < 2; i++) {
		struct kt_image img = tk_udmabuf_image(bufs[i]);
		kt_fill_pattern(&img, 0x5100u + (uint32_t)i);
		kt_assert_ok(kt_image_alloc(&want[i], 1024, 768, DRM_FORMAT_XRGB8888));
		kt_fill_pattern(&want[i], 0x5100u + (uint32_t)i);
	}

	struct stream s = {.bufs = {&a, &b}};
	s.layer = kms_output_create_layer(output, 0);
	kt_assert(s.layer);
	kms_layer_set_buffer(s.layer, a.buffer, NULL, NULL);
	s.present.notify = handle_present;
	wl_signal_add(&output->events.present, &s.present);
	tk_wait_presents(loop, &presents, 10);

	for (int i = 0; i < CAPTURES; i++) {
		struct kt_image got;
		uint64_t before = presents.count;
		tk_capture(loop, output, &got);
		uint64_t a_bad = kt_compare(&got, &want[0], 0x00ffffff, NULL);
		uint64_t b_bad = kt_compare(&got, &want[1], 0x00ffffff, NULL);
		kt_log("capture %d after %llu frames of streaming: %llu / %llu pixels differ from "
		       "the two frames",
		       i + 1, (unsigned long long)before, (unsigned long long)a_bad,
		       (unsigned long long)b_bad);
		kt_assert(a_bad == 0 || b_bad == 0);
		kt_image_free(&got);
		/* The stream goes on between captures. */
		tk_wait_presents(loop, &presents, presents.count + 5);
	}

	wl_list_remove(&s.present.link);
	tk_presents_finish(&presents);
	kms_device_destroy(device);
	tk_udmabuf_destroy(&a);
	tk_udmabuf_destroy(&b);
	for (int i = 0; i < 2; i++)
		kt_image_free(&want[i]);
	wl_event_loop_destroy(loop);
	kt_device_close(&dev);
	kt_log("PASS");
	return 0;
}
