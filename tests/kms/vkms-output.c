// SPDX-License-Identifier: MIT
/*
 * vkms-output: the KMS core on vkms, pixels proven through writeback.
 *
 *  1. an enabled output without buffers shows the placeholder colour;
 *  2. a udmabuf on a layer is scanned out directly on the primary plane,
 *     and what the CRTC produced equals the memfd's pixels;
 *  3. the same buffer with the copy path forced: same pixels, "copied";
 *  4. an XBGR8888 buffer (no vkms plane takes it): converted by the copy
 *     path, exact, reason FORMAT;
 *  5. a buffer's release fires only after its replacement was presented;
 *     buffers replaced before any commit took them count as discarded, and
 *     the time from handing a buffer over to its flip is sampled;
 *  6. async flips the driver rejects (pretended caps, so the kernel is
 *     asked) on frames that only change the primary's FB_ID: every frame
 *     still presented, with vsync;
 *  7. inactive device: no commits, and a capture no commit can take fails
 *     with -ETIMEDOUT at its 2 s deadline; active again: a modeset, same
 *     picture; a mode change; CPU pixels (no dma-buf) copied exactly;
 *  8. the output turns off cleanly.
 */
#include <dirent.h>
#include <drm_fourcc.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "buffer/buffer.h"
#include "common.h"
#include "kms/device.h"
#include "kms/output.h"
#include "kms/writeback.h"
#include "util/log.h"

#define COLOUR 0x336699u

struct release_watch {
	struct wl_listener listener;
	struct tk_presents *presents;
	struct buffer *replacement;
	bool released;
	bool replacement_presented; /* when the release fired */
};

static void handle_release(struct wl_listener *listener, void *data)
{
	struct release_watch *w = wl_container_of(listener, w, listener);
	w->released = true;
	w->replacement_presented = w->presents->last_buffer == w->replacement;
}

/* Number of fds on a DRM card; fails if one lacks O_CLOEXEC. */
static int card_fds_cloexec(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	int n = 0;

	kt_assert_errno(dir);
	while ((entry = readdir(dir)) != NULL) {
		char path[300], target[64], info[256];
		snprintf(path, sizeof(path), "/proc/self/fd/%s", entry->d_name);
		ssize_t len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, "/dev/dri/card", 13) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", entry->d_name);
		FILE *f = fopen(path, "re");
		kt_assert_errno(f);
		unsigned int flags = 0;
		while (fgets(info, sizeof(info), f) != NULL)
			sscanf(info, "flags: %o", &flags);
		fclose(f);
		kt_assertf(flags & O_CLOEXEC, "fd %s on %s lacks O_CLOEXEC (flags 0%o)",
			   entry->d_name, target, flags);
		n++;
	}
	closedir(dir);
	return n;
}

static uint32_t primary_plane_id(struct kms_device *device)
{
	for (size_t i = 0; i < device->n_planes; i++) {
		if (device->planes[i].type == DRM_PLANE_TYPE_PRIMARY)
			return device->planes[i].id;
	}
	return 0;
}

static void expect_solid(const struct kt_image *got, uint32_t colour, const char *what)
{
	struct kt_image want;
	kt_assert_ok(kt_image_alloc(&want, got->width, got->height, DRM_FORMAT_XRGB8888));
	kt_fill_rect(&want, 0, 0, want.width, want.height, colour);
	uint64_t bad = kt_compare(got, &want, 0x00ffffffu, what);
	kt_assertf(bad == 0, "%s: %llu pixels differ", what, (unsigned long long)bad);
	kt_image_free(&want);
}

struct capture_status {
	bool done;
	int status;
};

static void handle_capture_status(struct kms_output *output, int status, const void *pixels,
				  uint32_t width, uint32_t height, uint32_t stride, void *data)
{
	struct capture_status *cs = data;
	cs->done = true;
	cs->status = status;
}

static void expect_image(const struct kt_image *got, const struct kt_image *want, const char *what)
{
	uint64_t bad = kt_compare(got, want, 0x00ffffffu, what);
	kt_assertf(bad == 0, "%s: %llu pixels differ", what, (unsigned long long)bad);
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
	settings.placeholder = COLOUR;
	struct kms_output *output =
		tk_light_virtual1(&dev, "vkms", &settings, &loop, &device, &presents);
	kt_assertf(device->n_writebacks > 0, "no writeback connector (enable_writeback=1?)");
	kt_assert(kms_device_find_output(device, "HDMI-A-9") == NULL);
	kt_assert(output->stats.modesets == 1);
	uint32_t w, h;
	kms_output_get_size(output, &w, &h);
	kt_assert(w == 1024 && h == 768);

	/* Every descriptor of the card (libliftoff's duplicates too) is close-on-exec. */
	kt_assertf(card_fds_cloexec() >= 2, "expected the test's fd and libliftoff's duplicate");

	/* 1. placeholder */
	struct kt_image got;
	tk_capture(loop, output, &got);
	expect_solid(&got, COLOUR, "placeholder");
	kt_image_free(&got);
	kt_log("1. placeholder #%06x captured exactly", COLOUR);

	/* 2. direct scanout of a udmabuf */
	struct tk_udmabuf a;
	tk_udmabuf_create(&a, w, h, DRM_FORMAT_XRGB8888, 4);
	struct kt_image a_img = tk_udmabuf_image(&a), want;
	kt_fill_pattern(&a_img, 0xa0a0);
	kt_assert_ok(kt_image_alloc(&want, w, h, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&want, 0xa0a0);
	struct kms_layer *layer = kms_output_create_layer(output, 0);
	kt_assert(layer);
	kms_layer_set_buffer(layer, a.buffer, NULL, NULL);
	tk_capture(loop, output, &got);
	expect_image(&got, &want, "direct");
	kt_image_free(&got);
	struct kms_layer_state st;
	kms_layer_get_state(layer, &st);
	kt_assertf(st.visible && st.direct && !st.copied && st.miss == 0,
		   "direct: visible %d direct %d copied %d miss 0x%x", st.visible, st.direct,
		   st.copied, st.miss);
	kt_assertf(st.plane_id == primary_plane_id(device), "on plane %u, primary is %u",
		   st.plane_id, primary_plane_id(device));
	kt_assert(presents.last_flags & KMS_PRESENT_ZERO_COPY);
	kt_log("2. udmabuf direct on plane %u, captured exactly", st.plane_id);

	/* 3. the same buffer copied */
	kms_output_set_force_copy(output, true);
	tk_capture(loop, output, &got);
	expect_image(&got, &want, "forced-copy");
	kt_image_free(&got);
	kms_layer_get_state(layer, &st);
	kt_assertf(st.copied && !st.direct && st.miss == KMS_LAYER_MISS_FORCED_COPY,
		   "forced copy: direct %d copied %d miss 0x%x", st.direct, st.copied, st.miss);
	kt_assert(!(presents.last_flags & KMS_PRESENT_ZERO_COPY));
	kms_output_set_force_copy(output, false);
	kt_log("3. forced copy captured exactly");

	/* 4. a format no vkms plane takes: XBGR8888, converted */
	struct tk_udmabuf b;
	tk_udmabuf_create(&b, w, h, DRM_FORMAT_XBGR8888, 4);
	struct kt_image b_img = tk_udmabuf_image(&b);
	kt_fill_pattern(&want, 0xb0b0);
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			uint32_t p = *kt_pixel(&want, x, y);
			*kt_pixel(&b_img, x, y) =
				0xff000000u | (p & 0xff) << 16 | (p & 0xff00) | (p >> 16 & 0xff);
		}
	}
	struct tk_presents *pp = &presents;
	struct release_watch watch = {.presents = pp, .replacement = b.buffer};
	watch.listener.notify = handle_release;
	wl_signal_add(&a.buffer->events.release, &watch.listener);
	kms_layer_set_buffer(layer, b.buffer, NULL, NULL);
	kt_assertf(!watch.released, "buffer released as soon as it was replaced");
	tk_capture(loop, output, &got);
	expect_image(&got, &want, "xbgr-converted");
	kt_image_free(&got);
	kms_layer_get_state(layer, &st);
	kt_assertf(st.copied && st.miss == KMS_LAYER_MISS_FORMAT, "XBGR8888: copied %d miss 0x%x",
		   st.copied, st.miss);
	kt_log("4. XBGR8888 converted by the copy path, captured exactly");

	/* 5. the replaced buffer was released only after its replacement's flip */
	tk_wait(loop, &watch.released, "the release of the replaced buffer");
	kt_assertf(watch.replacement_presented, "released before the replacement was presented");
	wl_list_remove(&watch.listener.link);
	kt_log("5. release after the replacement's present");

	/* 5b. three buffers in one go: the first two never reach a commit. */
	uint64_t discarded = output->stats.frames_discarded;
	uint32_t samples = percentile_held(&output->latency);
	uint64_t before = kt_now_ns();
	kms_layer_set_buffer(layer, a.buffer, NULL, NULL);
	kms_layer_set_buffer(layer, b.buffer, NULL, NULL);
	kms_layer_set_buffer(layer, a.buffer, NULL, NULL);
	/* A flip in flight before them may come first: it carries no new buffer. */
	for (int i = 0; i < 3 && percentile_held(&output->latency) == samples; i++)
		tk_wait_presents(loop, &presents, presents.count + 1);
	uint64_t waited_us = (kt_now_ns() - before) / 1000u;
	uint32_t p50 = percentile_get(&output->latency, 50);
	kt_log("5b. discarded %llu -> %llu, latency samples %u -> %u, p50 %u us (waited %llu us)",
	       (unsigned long long)discarded, (unsigned long long)output->stats.frames_discarded,
	       samples, percentile_held(&output->latency), p50, (unsigned long long)waited_us);
	kt_assert(output->stats.frames_discarded == discarded + 2);
	kt_assert(percentile_held(&output->latency) == samples + 1);
	kt_assert(p50 > 0);

	/* 6. async flips the kernel rejects: vsync, nothing dropped */
	kt_assert(output->settings.flip == KMS_FLIP_ASYNC);
	kms_layer_set_buffer(layer, a.buffer, NULL, NULL);
	tk_wait_presents(loop, &presents, presents.count + 1);
	uint64_t vsync0 = output->stats.flips_vsync, fallbacks0 = output->stats.async_fallbacks;
	struct tk_udmabuf c;
	tk_udmabuf_create(&c, w, h, DRM_FORMAT_XRGB8888, 4);
	device->caps.atomic_async_page_flip = true;
	const int frames = 10;
	uint64_t start = presents.count;
	for (int i = 0; i < frames; i++) {
		if (i == frames / 2) {
			/* Atomic async remembered as rejected; now the legacy path. */
			kt_assert(output->atomic_async_probe == KMS_ASYNC_REJECTED);
			device->caps.async_page_flip = true;
		}
		kms_layer_set_buffer(layer, i % 2 ? a.buffer : c.buffer, NULL, NULL);
		tk_wait_presents(loop, &presents, start + (uint64_t)i + 1);
		kt_assertf(presents.last_buffer == (i % 2 ? a.buffer : c.buffer),
			   "frame %d: a different buffer was presented", i);
		kt_assert(presents.last_flags & KMS_PRESENT_VSYNC);
	}
	kt_assert(output->legacy_async_probe == KMS_ASYNC_REJECTED);
	kt_assertf(output->stats.flips_vsync - vsync0 == (uint64_t)frames,
		   "%llu vsync flips for %d frames",
		   (unsigned long long)(output->stats.flips_vsync - vsync0), frames);
	kt_assert(output->stats.flips_async == 0);
	kt_log("6. async rejected by the kernel (%llu fallbacks): %d frames, %d presented",
	       (unsigned long long)(output->stats.async_fallbacks - fallbacks0), frames,
	       (int)(presents.count - start));
	kt_assert(output->stats.async_fallbacks - fallbacks0 >= 2);

	/* The placeholder comes back when the last buffer goes. */
	kms_layer_set_buffer(layer, NULL, NULL, NULL);
	tk_capture(loop, output, &got);
	expect_solid(&got, COLOUR, "placeholder-again");
	kt_image_free(&got);
	kt_log("placeholder back after the buffer went");

	/* Session away: no commits; back: a full modeset shows the current state. */
	kms_device_set_active(device, false);
	uint64_t commits = output->stats.commits, modesets = output->stats.modesets;
	kms_layer_set_buffer(layer, a.buffer, NULL, NULL);
	for (int i = 0; i < 10; i++)
		wl_event_loop_dispatch(loop, 20);
	kt_assertf(output->stats.commits == commits, "committed while inactive");
	/* A capture that no commit can take is given up at its deadline. */
	struct capture_status cs = {0};
	uint64_t asked = kt_now_ns();
	kt_assert_ok(kms_output_capture(output, handle_capture_status, &cs));
	while (!cs.done)
		kt_assertf(wl_event_loop_dispatch(loop, TK_TIMEOUT_MS) == 0 &&
				   kt_now_ns() - asked < 10000000000ull,
			   "the capture was never given up");
	uint64_t waited_ms = (kt_now_ns() - asked) / 1000000u;
	kt_assertf(cs.status == -ETIMEDOUT, "capture while inactive: %s", strerror(-cs.status));
	kt_assertf(waited_ms >= 1900 && waited_ms < 5000, "given up after %llu ms",
		   (unsigned long long)waited_ms);
	kt_assertf(output->stats.commits == commits, "committed while inactive");
	kt_log("inactive: a capture given up after %llu ms", (unsigned long long)waited_ms);
	kms_device_set_active(device, true);
	kt_fill_pattern(&want, 0xa0a0);
	tk_capture(loop, output, &got);
	expect_image(&got, &want, "reactivated");
	kt_image_free(&got);
	kt_assert(output->stats.modesets == modesets + 1);
	kt_log("inactive: no commits; active again: modeset, picture back");

	/* A new mode: off and on again at 800x600, placeholder first. */
	kms_layer_set_buffer(layer, NULL, NULL, NULL);
	settings.width = 800;
	settings.height = 600;
	kt_assert_ok(kms_output_enable(output, &settings));
	kt_assert(output->state == KMS_OUTPUT_DISABLING);
	while (output->state != KMS_OUTPUT_ON)
		kt_assert(wl_event_loop_dispatch(loop, TK_TIMEOUT_MS) == 0);
	tk_capture(loop, output, &got);
	kt_assertf(got.width == 800 && got.height == 600, "captured %ux%u after the mode change",
		   got.width, got.height);
	expect_solid(&got, COLOUR, "placeholder-800x600");
	kt_image_free(&got);

	/* CPU pixels (no dma-buf) always take the copy path. */
	struct kt_image cpu;
	kt_assert_ok(kt_image_alloc(&cpu, 800, 600, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&cpu, 0xc0c0);
	struct buffer *cpu_buffer =
		buffer_create_cpu(cpu.data, cpu.width, cpu.height, cpu.stride, DRM_FORMAT_XRGB8888);
	kt_assert(cpu_buffer);
	kms_layer_set_buffer(layer, cpu_buffer, NULL, NULL);
	tk_capture(loop, output, &got);
	expect_image(&got, &cpu, "cpu-pixels");
	kt_image_free(&got);
	kms_layer_get_state(layer, &st);
	kt_assertf(st.copied && st.miss == KMS_LAYER_MISS_PIXELS_ONLY, "CPU buffer: miss 0x%x",
		   st.miss);
	kt_log("mode changed to 800x600; CPU pixels copied exactly (pixels-only)");

	/* 8. off */
	kms_layer_destroy(layer);
	kms_output_disable(output);
	bool off = false;
	while (!off) {
		wl_event_loop_dispatch(loop, 1000);
		off = output->state == KMS_OUTPUT_OFF;
	}
	uint64_t active = 1;
	kt_assert_ok(
		kt_prop_get(&dev, device->crtcs[0].id, DRM_MODE_OBJECT_CRTC, "ACTIVE", &active));
	kt_assert(active == 0);
	kt_log("8. output off, CRTC inactive; stats: %llu commits, %llu modesets, "
	       "%llu direct, %llu copied",
	       (unsigned long long)output->stats.commits,
	       (unsigned long long)output->stats.modesets,
	       (unsigned long long)output->stats.frames_direct,
	       (unsigned long long)output->stats.frames_copied);

	tk_presents_finish(&presents);
	kms_device_destroy(device);
	buffer_unref(cpu_buffer);
	kt_image_free(&cpu);
	tk_udmabuf_destroy(&a);
	tk_udmabuf_destroy(&b);
	tk_udmabuf_destroy(&c);
	kt_image_free(&want);
	wl_event_loop_destroy(loop);
	kt_device_close(&dev);
	kt_log("PASS");
	return 0;
}
