// SPDX-License-Identifier: MIT
/*
 * udmabuf-import: prove that memory a process owns can be scanned out
 * without a copy. A sealed memfd becomes a dma-buf through /dev/udmabuf,
 * vkms imports it and shows it on the primary plane, and the writeback
 * capture must equal the memfd's pixels exactly. Then the process writes new
 * pixels through its own mapping of the memfd (not through the dma-buf) and
 * a second capture, with no new plane commit, must show them exactly.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "kmstest.h"

#define TIMEOUT_MS 5000

/* Overwrite a rectangle of img with a second pattern, in place. */
static void paint_update(struct kt_image *img, const struct kt_image *pattern, uint32_t x0,
			 uint32_t y0, uint32_t w, uint32_t h)
{
	for (uint32_t y = y0; y < y0 + h && y < img->height; y++)
		for (uint32_t x = x0; x < x0 + w && x < img->width; x++)
			*kt_pixel(img, x, y) = *kt_pixel(pattern, x, y);
}

int main(void)
{
	struct kt_image memfd_img, want, update;
	struct kt_buffer scanout, out;
	struct kt_device dev;
	struct kt_pipe pipe;
	struct kt_atomic a;
	uint32_t w, h, stride;
	uint64_t size, differ = 0, t0, t1;
	long page = sysconf(_SC_PAGESIZE);
	int fence_fd;
	struct kt_udmabuf mem;

	kt_device_open_or_skip(&dev, "vkms");
	kt_assert_ok(kt_pipe_find(&dev, &pipe));
	kt_assertf(pipe.writeback_id, "vkms has no writeback connector (enable_writeback=1?)");

	w = pipe.mode.hdisplay;
	h = pipe.mode.vdisplay;
	stride = w * 4;
	size = ((uint64_t)stride * h + (uint64_t)page - 1) & ~((uint64_t)page - 1);

	/*
	 * The process' own memory, a memfd sealed against shrinking, and the
	 * dma-buf /dev/udmabuf makes of it.
	 */
	kt_udmabuf_create(&mem, size);
	memfd_img = (struct kt_image){
		.width = w,
		.height = h,
		.stride = stride,
		.format = DRM_FORMAT_XRGB8888,
		.data = mem.map,
	};
	kt_fill_pattern(&memfd_img, 0xd0d0);

	/* The expected picture is computed separately, not read back from the memfd. */
	kt_assert_ok(kt_image_alloc(&want, w, h, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&want, 0xd0d0);

	kt_assert_ok(kt_buffer_import(&dev, &scanout, mem.fd, w, h, DRM_FORMAT_XRGB8888, stride));
	kt_log("memfd of %" PRIu64 " bytes imported as GEM handle %" PRIu32 ", fb %" PRIu32, size,
	       scanout.handle, scanout.fb_id);
	kt_assert_ok(kt_dumb_create(&dev, &out, w, h, DRM_FORMAT_XRGB8888));

	/* Frame 1: the imported buffer on the primary plane, captured in the same commit. */
	kt_atomic_init(&a, &dev);
	kt_atomic_add_modeset(&a, &dev, &pipe);
	kt_atomic_add_plane(&a, pipe.primary_id, pipe.crtc_id, scanout.fb_id, w, h, 0, 0);
	kt_atomic_add_writeback(&a, &pipe, &out, &fence_fd);
	t0 = kt_now_ns();
	kt_assert_ok(kt_atomic_commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL));
	kt_atomic_finish(&a);
	kt_assertf(fence_fd >= 0, "the commit returned no writeback fence");
	kt_assert_ok(kt_fence_wait(fence_fd, TIMEOUT_MS));
	close(fence_fd);
	t1 = kt_now_ns();
	kt_log("frame 1: commit + writeback %.1f ms", (double)(t1 - t0) / 1e6);
	differ += kt_compare(&out.img, &want, 0x00ffffff, "import");

	/* Frame 2: new pixels written by the CPU through the memfd's own mapping. */
	kt_assert_ok(kt_image_alloc(&update, w, h, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&update, 0xbeef);
	paint_update(&memfd_img, &update, w / 3 + 1, h / 4 + 1, w / 2, h / 2);
	paint_update(&want, &update, w / 3 + 1, h / 4 + 1, w / 2, h / 2);
	kt_fill_rect(&out.img, 0, 0, w, h, 0);
	t0 = kt_now_ns();
	kt_assert_ok(kt_capture(&dev, &pipe, &out, TIMEOUT_MS));
	t1 = kt_now_ns();
	kt_log("frame 2: writeback capture %.1f ms", (double)(t1 - t0) / 1e6);
	differ += kt_compare(&out.img, &want, 0x00ffffff, "cpu-write");

	kt_assertf(differ == 0, "%" PRIu64 " pixels differ from the memfd's contents", differ);

	kt_image_free(&update);
	kt_image_free(&want);
	kt_buffer_destroy(&dev, &out);
	kt_buffer_destroy(&dev, &scanout);
	kt_udmabuf_destroy(&mem);
	kt_pipe_finish(&dev, &pipe);
	kt_device_close(&dev);
	kt_log("PASS");
	return 0;
}
