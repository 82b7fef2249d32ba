// SPDX-License-Identifier: MIT
/*
 * vkms-writeback: prove that what the CRTC produces is exactly the
 * composition of the planes we committed.
 *
 * An XRGB8888 pattern fills the primary plane; an ARGB8888 buffer with an
 * opaque band, a fully transparent band and a band of every partial alpha
 * value (premultiplied) sits on an overlay plane at an offset. Each frame is
 * committed together with a writeback job, and the captured frame must equal,
 * bit for bit, the composition computed here with vkms' own arithmetic
 * (drivers/gpu/drm/vkms/vkms_composer.c and vkms_formats.c in Linux 6.1):
 *
 *   - every channel is widened to 16 bits as c * 257;
 *   - the output starts as opaque black, then each active plane in plane
 *     order is blended "premultiplied over":
 *       out = DIV_ROUND_CLOSEST(src * 0xffff + dst * (0xffff - alpha), 0xffff)
 *   - the writeback buffer (XRGB8888) receives DIV_ROUND_CLOSEST(out, 257).
 *
 * The narrowing to 8 bits absorbs the rounding of the 16-bit blend: rounding
 * it up instead gives the same output for every premultiplied input, so the
 * check holds on kernels that round either way. An 8-bit blend that
 * truncates does not (about 14,000 pixels of the partial band differ).
 *
 * Three captures: the first frame, the overlay moved over a new primary
 * pattern (the capture must follow the new commit, not show a stale frame),
 * and a writeback-only capture of that steady state.
 */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "kmstest.h"

#define TIMEOUT_MS 5000

static uint16_t blend_channel(uint16_t src, uint16_t dst, uint16_t alpha)
{
	uint32_t v = (uint32_t)src * 0xffffu + (uint32_t)dst * (0xffffu - alpha);

	return (uint16_t)((v + 0xffffu / 2) / 0xffffu);
}

static uint8_t narrow(uint16_t c)
{
	return (uint8_t)((c + 257u / 2) / 257u);
}

/* want = primary (opaque) with overlay blended over it at (ox, oy). */
static void compose(struct kt_image *want, const struct kt_image *primary,
		    const struct kt_image *overlay, uint32_t ox, uint32_t oy)
{
	for (uint32_t y = 0; y < want->height; y++) {
		for (uint32_t x = 0; x < want->width; x++) {
			uint32_t p = *kt_pixel(primary, x, y);
			uint16_t r = (uint16_t)(((p >> 16) & 0xff) * 257);
			uint16_t g = (uint16_t)(((p >> 8) & 0xff) * 257);
			uint16_t b = (uint16_t)((p & 0xff) * 257);

			if (x >= ox && x < ox + overlay->width && y >= oy &&
			    y < oy + overlay->height) {
				uint32_t o = *kt_pixel(overlay, x - ox, y - oy);
				uint16_t a = (uint16_t)((o >> 24) * 257);

				r = blend_channel((uint16_t)(((o >> 16) & 0xff) * 257), r, a);
				g = blend_channel((uint16_t)(((o >> 8) & 0xff) * 257), g, a);
				b = blend_channel((uint16_t)((o & 0xff) * 257), b, a);
			}
			*kt_pixel(want, x, y) = 0xff000000u | (uint32_t)narrow(r) << 16 |
						(uint32_t)narrow(g) << 8 | narrow(b);
		}
	}
}

/*
 * Three vertical bands: opaque pattern, fully transparent (alpha 0, colour
 * 0), and premultiplied pixels whose alpha cycles through 1..254 with random
 * colour channels not above alpha.
 */
static void fill_overlay(struct kt_image *img)
{
	struct kt_image noise;
	uint32_t third = img->width / 3;

	kt_assert_ok(kt_image_alloc(&noise, img->width, img->height, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&noise, 0x5eed);
	kt_fill_pattern(img, 0x0ea7);
	kt_fill_rect(img, third, 0, third, img->height, 0x00000000);
	for (uint32_t y = 0; y < img->height; y++) {
		for (uint32_t x = 2 * third; x < img->width; x++) {
			uint32_t n = *kt_pixel(&noise, x, y);
			uint32_t a = 1 + (x + y * 7) % 254;
			uint32_t r = ((n >> 16) & 0xff) % (a + 1);
			uint32_t g = ((n >> 8) & 0xff) % (a + 1);
			uint32_t b = (n & 0xff) % (a + 1);

			*kt_pixel(img, x, y) = a << 24 | r << 16 | g << 8 | b;
		}
	}
	kt_image_free(&noise);
}

/*
 * Commit the primary and overlay planes (and the mode, the first time)
 * together with a writeback job into out; wait for the page-flip event and
 * the writeback fence.
 */
static void commit_and_capture(struct kt_device *dev, struct kt_pipe *pipe,
			       const struct kt_buffer *primary, const struct kt_buffer *overlay,
			       uint32_t ox, uint32_t oy, struct kt_buffer *out)
{
	struct kt_flip flip = {0};
	struct kt_atomic a;
	uint64_t t0, t_commit, t_fence;
	int fence_fd;

	kt_atomic_init(&a, dev);
	kt_atomic_add_modeset(&a, dev, pipe);
	kt_atomic_add_plane(&a, pipe->primary_id, pipe->crtc_id, primary->fb_id, primary->img.width,
			    primary->img.height, 0, 0);
	kt_atomic_add_plane(&a, pipe->overlay_ids[0], pipe->crtc_id, overlay->fb_id,
			    overlay->img.width, overlay->img.height, (int32_t)ox, (int32_t)oy);
	kt_atomic_add_writeback(&a, pipe, out, &fence_fd);

	t0 = kt_now_ns();
	kt_assert_ok(kt_atomic_commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET | DRM_MODE_PAGE_FLIP_EVENT,
				      &flip));
	kt_atomic_finish(&a);
	t_commit = kt_now_ns();
	kt_assertf(fence_fd >= 0, "the commit returned no writeback fence");
	kt_assert_ok(kt_fence_wait(fence_fd, TIMEOUT_MS));
	t_fence = kt_now_ns();
	close(fence_fd);
	kt_assert_ok(kt_flip_wait(dev, &flip, TIMEOUT_MS));
	kt_assert(flip.crtc_id == pipe->crtc_id);
	kt_log("commit %.1f ms, writeback fence after %.1f ms, flip sequence %" PRIu32,
	       (double)(t_commit - t0) / 1e6, (double)(t_fence - t0) / 1e6, flip.sequence);
}

int main(void)
{
	struct kt_buffer primary[2], overlay, out;
	struct kt_image want;
	struct kt_device dev;
	struct kt_pipe pipe;
	uint32_t w, h, ow, oh;
	uint32_t pos[2][2];
	uint64_t differ = 0;

	kt_device_open_or_skip(&dev, "vkms");
	kt_assert_ok(kt_pipe_find(&dev, &pipe));
	kt_assertf(pipe.writeback_id, "vkms has no writeback connector (enable_writeback=1?)");
	kt_assertf(pipe.n_overlays > 0, "vkms has no overlay plane (enable_overlay=1?)");

	w = pipe.mode.hdisplay;
	h = pipe.mode.vdisplay;
	ow = w / 4;
	oh = h / 4;
	/* Odd offsets, so row or column slips show. */
	pos[0][0] = w / 10 + 1;
	pos[0][1] = h / 10 + 3;
	pos[1][0] = w / 2 + 13;
	pos[1][1] = h / 2 + 7;

	for (int i = 0; i < 2; i++) {
		kt_assert_ok(kt_dumb_create(&dev, &primary[i], w, h, DRM_FORMAT_XRGB8888));
		kt_fill_pattern(&primary[i].img, 0x1000u + (uint32_t)i);
	}
	kt_assert_ok(kt_dumb_create(&dev, &overlay, ow, oh, DRM_FORMAT_ARGB8888));
	fill_overlay(&overlay.img);
	kt_assert_ok(kt_dumb_create(&dev, &out, w, h, DRM_FORMAT_XRGB8888));
	kt_assert_ok(kt_image_alloc(&want, w, h, DRM_FORMAT_XRGB8888));

	for (int i = 0; i < 2; i++) {
		char what[32];

		kt_fill_rect(&out.img, 0, 0, w, h, 0);
		commit_and_capture(&dev, &pipe, &primary[i], &overlay, pos[i][0], pos[i][1], &out);
		compose(&want, &primary[i].img, &overlay.img, pos[i][0], pos[i][1]);
		snprintf(what, sizeof(what), "frame%d", i);
		differ += kt_compare(&out.img, &want, 0x00ffffff, what);
	}

	/* The steady state again, through a writeback-only commit. */
	kt_fill_rect(&out.img, 0, 0, w, h, 0);
	kt_assert_ok(kt_capture(&dev, &pipe, &out, TIMEOUT_MS));
	differ += kt_compare(&out.img, &want, 0x00ffffff, "steady");

	kt_assertf(differ == 0, "%" PRIu64 " pixels differ from the expected composition", differ);

	kt_image_free(&want);
	kt_buffer_destroy(&dev, &out);
	kt_buffer_destroy(&dev, &overlay);
	for (int i = 0; i < 2; i++)
		kt_buffer_destroy(&dev, &primary[i]);
	kt_pipe_finish(&dev, &pipe);
	kt_device_close(&dev);
	kt_log("PASS");
	return 0;
}
