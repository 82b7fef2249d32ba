// SPDX-License-Identifier: MIT
/*
 * virtio-gpu-outputs: two outputs of one virtio-gpu driven by the KMS core,
 * checked on the host's side through QMP screendumps.
 *
 *  1. each output shows its own placeholder colour;
 *  2. a udmabuf on a layer of the second output cannot be imported by
 *     virtio-gpu: it is copied (reason IMPORT) and appears exactly;
 *  3. hotplug: the second connector goes off (sysfs status) -> its CRTC is
 *     turned off; it comes back -> the same picture is shown again;
 *  4. the card is unbound from its driver while both outputs are on: the
 *     device is destroyed without it (what fails, fails harmlessly).
 *
 * Run with --virtio-gpu 2. Exit 77 without a virtio-gpu.
 */
#include <drm_fourcc.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "kms/device.h"
#include "kms/output.h"
#include "qmp.h"
#include "util/log.h"

static const uint32_t colours[2] = {0xc03020u, 0x20a040u};

static void expect(struct kt_qmp *qmp, struct kms_output *output, const struct kt_image *want,
		   const char *what)
{
	struct kt_image got;
	kt_qmp_screendump(qmp, output->crtc->index, what, &got);
	kt_assertf(got.width == want->width && got.height == want->height,
		   "%s: screendump %ux%u, want %ux%u", what, got.width, got.height, want->width,
		   want->height);
	uint64_t bad = kt_compare(&got, want, 0x00ffffffu, what);
	kt_assertf(bad == 0, "%s: %" PRIu64 " pixels differ", what, bad);
	kt_image_free(&got);
}

int main(void)
{
	struct kt_device dev;
	kt_device_open_or_skip(&dev, "virtio_gpu");
	log_init(getenv("VSCANOUT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	unsigned int card;
	kt_assert(sscanf(strrchr(dev.path, '/'), "/card%u", &card) == 1);
	char status[96];
	snprintf(status, sizeof(status), "/sys/class/drm/card%u-Virtual-2/status", card);

	struct wl_event_loop *loop = wl_event_loop_create();
	struct kms_device *device = kms_device_create(loop, dev.fd, "virtio");
	kt_assert(loop && device);
	struct kms_output *outputs[2] = {kms_device_find_output(device, "Virtual-1"),
					 kms_device_find_output(device, "Virtual-2")};
	kt_assertf(outputs[0] && outputs[1], "want Virtual-1 and Virtual-2 (--virtio-gpu 2)");
	if (!outputs[1]->connected) {
		kt_write_file(status, "on");
		kms_device_handle_hotplug(device, 0);
		kt_assert(outputs[1]->connected);
	}

	/* 1. two placeholders */
	struct tk_presents presents[2];
	struct kt_image want[2];
	for (int i = 0; i < 2; i++) {
		struct kms_output_settings s;
		kms_output_settings_init(&s);
		s.width = 1024;
		s.height = 768;
		s.placeholder = colours[i];
		tk_presents_init(&presents[i], outputs[i]);
		kt_assert_ok(kms_output_enable(outputs[i], &s));
		kt_assert_ok(kt_image_alloc(&want[i], 1024, 768, DRM_FORMAT_XRGB8888));
		kt_fill_rect(&want[i], 0, 0, 1024, 768, colours[i]);
	}
	for (int i = 0; i < 2; i++)
		tk_wait_presents(loop, &presents[i], 1);
	kt_assert(outputs[0]->crtc != outputs[1]->crtc);
	kt_host_sync(&dev);
	struct kt_qmp qmp;
	kt_qmp_open(&qmp);
	kt_qmp_execute(&qmp, "qmp_capabilities", NULL);
	expect(&qmp, outputs[0], &want[0], "placeholder-1");
	expect(&qmp, outputs[1], &want[1], "placeholder-2");
	kt_log("1. each head shows its placeholder colour");

	/* 2. a udmabuf on output 2: copied, exact */
	struct tk_udmabuf u;
	tk_udmabuf_create(&u, 1024, 768, DRM_FORMAT_XRGB8888, 4);
	struct kt_image img = tk_udmabuf_image(&u);
	kt_fill_pattern(&img, 0x2222);
	kt_fill_pattern(&want[1], 0x2222);
	struct kms_layer *layer = kms_output_create_layer(outputs[1], 0);
	kt_assert(layer);
	uint64_t n = presents[1].count;
	kms_layer_set_buffer(layer, u.buffer, NULL, NULL);
	tk_wait_presents(loop, &presents[1], n + 1);
	struct kms_layer_state st;
	kms_layer_get_state(layer, &st);
	kt_assertf(st.copied && !st.direct && (st.miss & KMS_LAYER_MISS_IMPORT),
		   "udmabuf on virtio-gpu: direct %d copied %d miss 0x%x", st.direct, st.copied,
		   st.miss);
	kt_host_sync(&dev);
	expect(&qmp, outputs[1], &want[1], "udmabuf-2");
	expect(&qmp, outputs[0], &want[0], "placeholder-1-still");
	kt_log("2. udmabuf copied on head 2 (import refused), exact");

	/* 3. hotplug off and on */
	uint32_t crtc_id = outputs[1]->crtc->id;
	kt_write_file(status, "off");
	kms_device_handle_hotplug(device, 0);
	while (outputs[1]->state != KMS_OUTPUT_WAITING) {
		kt_assert(outputs[1]->state == KMS_OUTPUT_DISABLING);
		wl_event_loop_dispatch(loop, 1000);
	}
	uint64_t active = 1;
	kt_assert_ok(kt_prop_get(&dev, crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", &active));
	kt_assertf(active == 0, "CRTC %u still active after the connector went off", crtc_id);
	kt_log("3a. Virtual-2 off: CRTC %u inactive", crtc_id);

	kt_write_file(status, "on");
	n = presents[1].count;
	kms_device_handle_hotplug(device, 0);
	kt_assert(outputs[1]->state == KMS_OUTPUT_ON);
	tk_wait_presents(loop, &presents[1], n + 1);
	kt_assert_ok(
		kt_prop_get(&dev, outputs[1]->crtc->id, DRM_MODE_OBJECT_CRTC, "ACTIVE", &active));
	kt_assert(active == 1);
	kt_host_sync(&dev);
	expect(&qmp, outputs[1], &want[1], "udmabuf-2-replugged");
	kt_log("3b. Virtual-2 back: same picture, %llu modesets",
	       (unsigned long long)outputs[1]->stats.modesets);
	kt_assert(outputs[1]->stats.modesets == 2);

	close(qmp.fd);
	for (int i = 0; i < 2; i++) {
		tk_presents_finish(&presents[i]);
		kt_image_free(&want[i]);
	}
	{
		/* 4. The card goes away under the lit outputs: destroy must not need it. */
		char link[300], target[300];
		snprintf(link, sizeof(link), "/sys/class/drm/card%u/device", card);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		kt_assert_errno(len > 0);
		target[len] = '\0';
		char unbind[400];
		snprintf(unbind, sizeof(unbind), "%s/driver/unbind", link);
		kt_write_file(unbind, strrchr(target, '/') + 1);
		kt_log("4. unbound %s with both outputs on", strrchr(target, '/') + 1);
	}
	kms_device_destroy(device);
	kt_log("4. device destroyed after its removal");
	tk_udmabuf_destroy(&u);
	wl_event_loop_destroy(loop);
	kt_device_close(&dev);
	kt_log("PASS");
	return 0;
}
