// SPDX-License-Identifier: MIT
/*
 * kms-async-flip: the KMS core's asynchronous flips against the kernel's
 * own checks, on vkms loaded with async_flips=1 (tests/vm/patches/SERIES/
 * vkms-3-async-flips.patch), which sets mode_config.async_page_flip.
 *
 * What the kernel version changes (the test runs on both beds):
 *  - Linux 6.1: the atomic ioctl refuses DRM_MODE_PAGE_FLIP_ASYNC whatever
 *    the driver says, so the daemon's path is the legacy page flip ioctl
 *    with that flag, checked by the kernel (same framebuffer format, a
 *    primary plane showing a framebuffer) before vkms takes it;
 *  - Linux 6.12 (from 6.8): DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP, and the atomic
 *    ioctl takes the flag when only FB_ID (IN_FENCE_FD, FB_DAMAGE_CLIPS) of
 *    a primary plane changes, any other property only to its current value.
 * vkms still shows every frame on the next vblank: this proves how the
 * daemon uses the uAPI and how it takes the kernel's answers, not tearing
 * on real hardware.
 *
 *  1. the fixture: vkms_config says async_flips=1, the device reports
 *     DRM_CAP_ASYNC_PAGE_FLIP, and atomic async flips on 6.8 and later;
 *  2. flip = async, frames that change only the primary's FB_ID: every one
 *     is flipped asynchronously (atomic on 6.12, legacy on 6.1) and
 *     accepted by the kernel (no fallback), each presented with its own
 *     buffer, and the last one captured exactly through writeback;
 *  3. flip = vsync: the same frames never go asynchronously;
 *  4. flip = async, a frame whose buffer has another format (RGB565): the
 *     placement is not reused, so it goes on the vblank (the kernel's state
 *     names the new format), no asynchronous flip tried; on 6.12 the
 *     kernel's own check is shown to accept an FB-only async request and
 *     to refuse one that also moves the plane, which is why the daemon
 *     sends only the former;
 *  5. on 6.1 only: the device taken to offer atomic async flips (as 6.8
 *     reports), the daemon's TEST_ONLY probe meets 6.1's refusal of the
 *     flag; that frame is committed on the vblank and shown, the fallback
 *     counted, and the next frames go by the legacy page flip, accepted;
 *  6. the driver refusing what it offered (async_flips written to 0 at run
 *     time, as a driver that cannot flip asynchronously in its current
 *     state): every method the daemon still tries is refused by the
 *     kernel for real (on 6.12 the atomic probe, then a legacy flip; on
 *     6.1 a legacy flip), each such frame is committed again on the vblank
 *     and shown, not lost (the last one captured exactly), and the frames
 *     after it go on the vblank without trying again.
 */
#include <drm_fourcc.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "common.h"
#include "kms/device.h"
#include "kms/output.h"

#define FRAMES 20

/* The whole of a debugfs file of the card, NUL-terminated (malloc'ed). */
static char *read_debugfs(const struct kt_device *dev, const char *name)
{
	unsigned int minor;
	kt_assert(sscanf(dev->path, "/dev/dri/card%u", &minor) == 1);
	char path[96];
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%u/%s", minor, name);
	return kt_read_file(path);
}

/* Write the vkms parameter async_flips at run time. */
static void set_vkms_async_flips(const char *value)
{
	const char *path = "/sys/module/vkms/parameters/async_flips";
	FILE *f = fopen(path, "we");
	kt_assertf(f != NULL, "%s: %s (vkms-3-async-flips.patch makes it writable)", path,
		   strerror(errno));
	kt_assert(fputs(value, f) >= 0);
	kt_assertf(fclose(f) == 0, "%s: %s", path, strerror(errno));
}

/* The primary plane scanning out crtc_id. */
static const struct kms_plane *primary_on(const struct kms_device *device, int fd, uint32_t crtc_id)
{
	for (size_t i = 0; i < device->n_planes; i++) {
		const struct kms_plane *plane = &device->planes[i];
		if (plane->type != DRM_PLANE_TYPE_PRIMARY)
			continue;
		drmModePlane *p = drmModeGetPlane(fd, plane->id);
		bool on = p != NULL && p->crtc_id == crtc_id;
		drmModeFreePlane(p);
		if (on)
			return plane;
	}
	kt_fail(__FILE__, __LINE__, "no primary plane on CRTC %u", crtc_id);
	return NULL;
}

/* An async TEST_ONLY request on the primary: its FB_ID as it is, and CRTC_X if x >= 0. */
static int test_async_request(int fd, const struct kms_plane *primary, int x)
{
	drmModePlane *p = drmModeGetPlane(fd, primary->id);
	kt_assert(p != NULL && p->fb_id != 0);
	drmModeAtomicReq *req = drmModeAtomicAlloc();
	kt_assert(req != NULL);
	kt_assert(drmModeAtomicAddProperty(req, primary->id, primary->props[KMS_PLANE_FB_ID],
					   p->fb_id) > 0);
	if (x >= 0)
		kt_assert(drmModeAtomicAddProperty(req, primary->id,
						   primary->props[KMS_PLANE_CRTC_X], x) > 0);
	int ret = drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_PAGE_FLIP_ASYNC,
				      NULL);
	if (ret < 0)
		ret = -errno;
	drmModeAtomicFree(req);
	drmModeFreePlane(p);
	return ret;
}

/* Flip between a and b for FRAMES frames; each must be presented with its buffer. */
static void flip_frames(struct wl_event_loop *loop, struct kms_layer *layer,
			struct tk_presents *presents, struct buffer *a, struct buffer *b,
			uint32_t want_flag)
{
	for (int i = 0; i < FRAMES; i++) {
		struct buffer *next = i % 2 ? a : b;
		kms_layer_set_buffer(layer, next, NULL, NULL);
		tk_wait_presents(loop, presents, presents->count + 1);
		kt_assertf(presents->last_buffer == next, "frame %d: another buffer presented", i);
		kt_assertf(presents->last_flags & want_flag, "frame %d: flags 0x%x, wanted 0x%x", i,
			   presents->last_flags, want_flag);
	}
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
	struct kms_output *output =
		tk_light_virtual1(&dev, "vkms", &settings, &loop, &device, &presents);
	kt_assert(output->settings.flip == KMS_FLIP_ASYNC);

	/* 1. the fixture and what the kernel reports */
	char *config = read_debugfs(&dev, "vkms_config");
	kt_assertf(strstr(config, "async_flips=1") != NULL,
		   "vkms without async_flips=1 (vkms-3-async-flips.patch):\n%s", config);
	free(config);
	uint64_t cap = 0;
	kt_assert(drmGetCap(dev.fd, DRM_CAP_ASYNC_PAGE_FLIP, &cap) == 0 && cap == 1);
	kt_assert(device->caps.async_page_flip);
	/* The kernel's version decides; the device must agree with it. */
	unsigned int major = 0, minor = 0;
	const char *kver = getenv("VM_KVER");
	kt_assert(kver != NULL && sscanf(kver, "%u.%u", &major, &minor) == 2);
	bool atomic = major > 6 || (major == 6 && minor >= 8);
	kt_assertf(device->caps.atomic_async_page_flip == atomic, "Linux %s: atomic async flips %s",
		   kver, device->caps.atomic_async_page_flip ? "offered" : "not offered");
	kt_log("1. Linux %s, vkms async_flips=1: DRM_CAP_ASYNC_PAGE_FLIP 1, atomic async "
	       "flips %s",
	       kver, atomic ? "yes" : "no (Linux < 6.8)");

	/* 2. FB-only frames with flip = async: asynchronous, accepted */
	uint32_t w = settings.width, h = settings.height;
	struct tk_udmabuf a, b;
	tk_udmabuf_create(&a, w, h, DRM_FORMAT_XRGB8888, 4);
	tk_udmabuf_create(&b, w, h, DRM_FORMAT_XRGB8888, 4);
	struct kt_image a_img = tk_udmabuf_image(&a), b_img = tk_udmabuf_image(&b);
	kt_fill_pattern(&a_img, 0xa5a5);
	kt_fill_pattern(&b_img, 0x5a5a);
	struct kms_layer *layer = kms_output_create_layer(output, 0);
	kt_assert(layer != NULL);
	kms_layer_set_buffer(layer, a.buffer, NULL, NULL);
	tk_wait_presents(loop, &presents, presents.count + 1);
	uint64_t async0 = output->stats.flips_async, vsync0 = output->stats.flips_vsync;
	uint64_t fallbacks0 = output->stats.async_fallbacks;
	flip_frames(loop, layer, &presents, a.buffer, b.buffer, KMS_PRESENT_ASYNC);
	kt_assertf(output->stats.flips_async - async0 == FRAMES, "%llu async flips for %d frames",
		   (unsigned long long)(output->stats.flips_async - async0), FRAMES);
	kt_assert(output->stats.flips_vsync == vsync0);
	kt_assert(output->stats.async_fallbacks == fallbacks0);
	/* The method used: the one the kernel offers first, and only it. */
	if (atomic) {
		kt_assert(output->atomic_async_probe == KMS_ASYNC_WORKS);
		kt_assert(output->legacy_async_probe == KMS_ASYNC_UNKNOWN);
	} else {
		kt_assert(output->atomic_async_probe == KMS_ASYNC_UNKNOWN);
		kt_assert(output->legacy_async_probe == KMS_ASYNC_WORKS);
	}
	/* The last frame showed a; a capture (a vsync commit with writeback) reads it back. */
	struct kt_image got;
	tk_capture(loop, output, &got);
	uint64_t bad = kt_compare(&got, &a_img, 0x00ffffffu, "async-last");
	kt_assertf(bad == 0, "after async flips: %llu pixels differ", (unsigned long long)bad);
	kt_image_free(&got);
	kt_log("2. flip = async: %d FB-only frames flipped asynchronously (%s), none refused, "
	       "the last one captured exactly",
	       FRAMES, atomic ? "atomic" : "legacy page flip");

	/* 3. flip = vsync: never asynchronously */
	output->settings.flip = KMS_FLIP_VSYNC;
	async0 = output->stats.flips_async;
	vsync0 = output->stats.flips_vsync;
	flip_frames(loop, layer, &presents, a.buffer, b.buffer, KMS_PRESENT_VSYNC);
	kt_assert(output->stats.flips_async == async0);
	kt_assert(output->stats.flips_vsync - vsync0 >= FRAMES);
	kt_log("3. flip = vsync: %d frames, no async flip", FRAMES);

	/* 4. a frame that changes more than FB_ID (another format) never goes async */
	output->settings.flip = KMS_FLIP_ASYNC;
	struct tk_udmabuf c;
	tk_udmabuf_create(&c, w, h, DRM_FORMAT_RGB565, 2);
	memset(c.map, 0x7b, c.size);
	fallbacks0 = output->stats.async_fallbacks;
	async0 = output->stats.flips_async;
	kms_layer_set_buffer(layer, c.buffer, NULL, NULL);
	tk_wait_presents(loop, &presents, presents.count + 1);
	kt_assert(presents.last_buffer == c.buffer);
	kt_assertf(presents.last_flags & KMS_PRESENT_VSYNC, "flags 0x%x", presents.last_flags);
	struct kms_layer_state st;
	kms_layer_get_state(layer, &st);
	kt_assertf(st.direct, "the RGB565 buffer was not scanned out directly (miss 0x%x)",
		   st.miss);
	kt_assert(output->stats.async_fallbacks == fallbacks0);
	kt_assert(output->stats.flips_async == async0);
	char *state = read_debugfs(&dev, "state");
	kt_assertf(strstr(state, "format=RG16") != NULL,
		   "the kernel's state shows no RGB565 framebuffer:\n%s", state);
	free(state);
	kt_log("4. a format change went on the vblank, not asynchronously (RG16 in the kernel's "
	       "state)");
	if (atomic) {
		/* What the daemon's gate spares the kernel: a move is refused. */
		const struct kms_plane *primary = primary_on(device, dev.fd, output->crtc->id);
		int ret = test_async_request(dev.fd, primary, -1);
		kt_assertf(ret == 0, "an FB-only async request refused: %s", strerror(-ret));
		ret = test_async_request(dev.fd, primary, 16);
		kt_assertf(ret == -EINVAL, "an async request moving the plane: %s",
			   ret == 0 ? "accepted" : strerror(-ret));
		kt_log("4. the kernel's own check: an FB-only async request accepted, one moving "
		       "the plane refused (EINVAL)");
	}

	/*
	 * 5. on 6.1 the kernel refusing: the device is taken to report atomic
	 * async flips, as Linux 6.8 does; 6.1's atomic ioctl refuses the flag.
	 * The daemon's TEST_ONLY probe meets that refusal, the frame is
	 * committed on the vblank and shown, and the next frames go by the
	 * legacy path.
	 */
	kms_layer_set_buffer(layer, a.buffer, NULL, NULL);
	tk_wait_presents(loop, &presents, presents.count + 1);
	kt_assert(presents.last_buffer == a.buffer);
	if (!atomic) {
		device->caps.atomic_async_page_flip = true;
		kt_assert(output->atomic_async_probe == KMS_ASYNC_UNKNOWN);
		fallbacks0 = output->stats.async_fallbacks;
		kms_layer_set_buffer(layer, b.buffer, NULL, NULL);
		tk_wait_presents(loop, &presents, presents.count + 1);
		kt_assertf(presents.last_buffer == b.buffer, "the refused frame was lost");
		kt_assertf(presents.last_flags & KMS_PRESENT_VSYNC, "flags 0x%x",
			   presents.last_flags);
		kt_assert(output->atomic_async_probe == KMS_ASYNC_REJECTED);
		kt_assertf(output->stats.async_fallbacks - fallbacks0 == 1, "%llu fallbacks",
			   (unsigned long long)(output->stats.async_fallbacks - fallbacks0));
		async0 = output->stats.flips_async;
		flip_frames(loop, layer, &presents, a.buffer, b.buffer, KMS_PRESENT_ASYNC);
		kt_assert(output->stats.flips_async - async0 == FRAMES);
		kt_assert(output->stats.async_fallbacks - fallbacks0 == 1);
		kt_log("5. atomic async refused by the kernel's check: that frame shown on the "
		       "vblank, 1 fallback; then %d frames by the legacy path, accepted",
		       FRAMES);
	}

	/*
	 * 6. the driver refusing what it offered: every method not yet
	 * refused is tried once more, and refused by the kernel for real; the
	 * refused frames are committed again on the vblank, not lost.
	 */
	set_vkms_async_flips("0");
	config = read_debugfs(&dev, "vkms_config");
	kt_assertf(strstr(config, "async_flips=0") != NULL, "async_flips still on:\n%s", config);
	free(config);
	int tries = (output->atomic_async_probe != KMS_ASYNC_REJECTED) +
		    (output->legacy_async_probe != KMS_ASYNC_REJECTED);
	kt_assert(tries >= 1);
	fallbacks0 = output->stats.async_fallbacks;
	async0 = output->stats.flips_async;
	vsync0 = output->stats.flips_vsync;
	struct buffer *last = NULL;
	for (int i = 0; i < tries + 4; i++) {
		last = i % 2 ? a.buffer : b.buffer;
		kms_layer_set_buffer(layer, last, NULL, NULL);
		tk_wait_presents(loop, &presents, presents.count + 1);
		kt_assertf(presents.last_buffer == last, "frame %d after the refusal: lost", i);
		kt_assertf(presents.last_flags & KMS_PRESENT_VSYNC, "frame %d: flags 0x%x", i,
			   presents.last_flags);
		uint64_t want = i < tries ? (uint64_t)i + 1 : (uint64_t)tries;
		kt_assertf(output->stats.async_fallbacks - fallbacks0 == want,
			   "frame %d: %llu fallbacks, wanted %llu", i,
			   (unsigned long long)(output->stats.async_fallbacks - fallbacks0),
			   (unsigned long long)want);
	}
	kt_assert(output->atomic_async_probe == KMS_ASYNC_REJECTED);
	kt_assert(output->legacy_async_probe == KMS_ASYNC_REJECTED);
	kt_assert(output->stats.flips_async == async0);
	kt_assert(output->stats.flips_vsync - vsync0 >= (uint64_t)tries + 4);
	tk_capture(loop, output, &got);
	struct kt_image last_img = last == a.buffer ? a_img : b_img;
	bad = kt_compare(&got, &last_img, 0x00ffffffu, "refused-last");
	kt_assertf(bad == 0, "after the refusals: %llu pixels differ", (unsigned long long)bad);
	kt_image_free(&got);
	set_vkms_async_flips("1");
	kt_log("6. async flips refused by the driver at run time: %d refusal%s by the kernel "
	       "(%s), each frame shown on the vblank, the last captured exactly; %d more "
	       "frames on the vblank, none tried again",
	       tries, tries == 1 ? "" : "s",
	       atomic ? "an atomic commit, then a legacy flip" : "a legacy flip", 4);

	kms_layer_destroy(layer);
	tk_udmabuf_destroy(&a);
	tk_udmabuf_destroy(&b);
	tk_udmabuf_destroy(&c);
	tk_presents_finish(&presents);
	kms_device_destroy(device);
	wl_event_loop_destroy(loop);
	kt_device_close(&dev);
	kt_log("kms-async-flip: ok");
	return 0;
}
