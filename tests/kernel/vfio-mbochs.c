// SPDX-License-Identifier: MIT
/*
 * vfio-mbochs: the VFIO display path end to end, with pixels checked.
 *
 * This process plays the guest and the VMM of an mbochs mdev (an emulated
 * bochs display behind VFIO) and the display side on vkms:
 *
 *   1. The guest sets a 32 bpp mode with a virtual screen twice the visible
 *      height and draws pattern A into the top half of VRAM.
 *   2. VFIO_DEVICE_QUERY_GFX_PLANE gives the primary plane as a dma-buf id;
 *      VFIO_DEVICE_GET_GFX_DMABUF gives the dma-buf, which is imported into
 *      vkms and shown on its primary plane by a full modeset.
 *   3. A writeback capture must equal pattern A exactly.
 *   4. The guest draws pattern B into the bottom half and pans to it (VBE y
 *      offset). The next query must name a different dma-buf; it is imported
 *      and flipped to with a non-blocking commit and a page-flip event.
 *   5. A writeback capture must equal pattern B exactly.
 *   6. Panning back must give the first dma-buf id again (the device keeps
 *      one buffer per scanout configuration).
 *
 * Exit 77 when vkms or mbochs is not present.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "kmstest.h"
#include "vfio-guest.h"

#define MDEV_PARENT "mbochs"
#define MDEV_TYPE   "mbochs-medium"
#define TIMEOUT_MS  5000
#define SEED_A      0x6d626f41u
#define SEED_B      0x6d626f42u

/* A guest framebuffer turned into a vkms framebuffer. */
struct scanout {
	struct vfio_device_gfx_plane_info plane;
	int dmabuf_fd; /* owned */
	struct kt_buffer fb;
};

/* The part of VRAM that the mode shows, as an image. */
static struct kt_image vram_image(struct vg_guest *guest, const struct vg_bochs_mode *mode)
{
	struct kt_image img = {
		.width = mode->width,
		.height = mode->height,
		.stride = (uint32_t)mode->virt_width * 4u,
		.format = DRM_FORMAT_XRGB8888,
		.data = (char *)guest->vram + vg_bochs_offset(mode),
	};

	kt_assert(vg_bochs_offset(mode) + (size_t)img.stride * img.height <= guest->vram_size);
	return img;
}

/* Query the primary plane, check it describes mode, and import its dma-buf. */
static void scanout_import(struct kt_device *dev, struct vg_guest *guest,
			   const struct vg_bochs_mode *mode, struct scanout *s)
{
	struct vfio_device_gfx_plane_info *p = &s->plane;
	uint64_t t0 = kt_now_ns();

	kt_assert_ok(vg_gfx_query(guest, DRM_PLANE_TYPE_PRIMARY, p));
	kt_log("query (%u transient failures so far): dmabuf_id %" PRIu32 ", %" PRIu32 "x%" PRIu32
	       " stride %" PRIu32 " size %" PRIu32 " format %.4s modifier 0x%" PRIx64,
	       guest->query_retries, p->dmabuf_id, p->width, p->height, p->stride, p->size,
	       (const char *)&p->drm_format, (uint64_t)p->drm_format_mod);
	kt_assertf(p->dmabuf_id != 0, "the primary plane is off");
	kt_assert(p->drm_format == DRM_FORMAT_XRGB8888);
	kt_assert(p->drm_format_mod == DRM_FORMAT_MOD_LINEAR);
	kt_assert(p->width == mode->width && p->height == mode->height);
	kt_assert(p->stride == (uint32_t)mode->virt_width * 4u);

	s->dmabuf_fd = vg_gfx_dmabuf(guest, p->dmabuf_id);
	kt_assert_ok(s->dmabuf_fd);
	kt_assert_ok(kt_buffer_import(dev, &s->fb, s->dmabuf_fd, p->width, p->height, p->drm_format,
				      p->stride));
	kt_log("dma-buf %" PRIu32 " imported as fb %" PRIu32 " in %.2f ms", p->dmabuf_id,
	       s->fb.fb_id, (double)(kt_now_ns() - t0) / 1e6);
}

static void scanout_release(struct kt_device *dev, struct scanout *s)
{
	kt_buffer_destroy(dev, &s->fb);
	if (s->dmabuf_fd >= 0)
		close(s->dmabuf_fd);
	s->dmabuf_fd = -1;
}

/* Capture the CRTC through writeback and compare it with want exactly. */
static void check_output(struct kt_device *dev, const struct kt_pipe *pipe, struct kt_buffer *wb,
			 const struct kt_image *want, const char *what)
{
	uint64_t t0 = kt_now_ns();
	uint64_t bad;

	memset(wb->img.data, 0, wb->size);
	kt_assert_ok(kt_capture(dev, pipe, wb, TIMEOUT_MS));
	kt_log("%s: writeback capture in %.1f ms", what, (double)(kt_now_ns() - t0) / 1e6);
	bad = kt_compare(&wb->img, want, 0x00ffffffu, what);
	kt_assertf(bad == 0, "%s: %" PRIu64 " pixels differ", what, bad);
}

int main(void)
{
	struct scanout a = {.dmabuf_fd = -1}, b = {.dmabuf_fd = -1};
	struct vfio_device_gfx_plane_info again;
	struct kt_image want_a, want_b, img;
	struct vg_bochs_mode mode;
	struct vg_guest *guest;
	struct kt_buffer wb;
	struct kt_device dev;
	struct kt_pipe pipe;
	struct kt_atomic req;
	struct kt_flip flip = {0};
	uint64_t t0;

	if (!vg_mdev_parent_present(MDEV_PARENT))
		kt_skip("no mdev parent %s (modules vfio, mdev, mbochs)", MDEV_PARENT);
	kt_device_open_or_skip(&dev, "vkms");
	kt_assert_ok(kt_pipe_find(&dev, &pipe));
	kt_assertf(pipe.writeback_id, "vkms has no writeback connector (enable_writeback=1)");

	t0 = kt_now_ns();
	guest = vg_guest_create(MDEV_PARENT, MDEV_TYPE);
	if (!guest && errno == ENODEV)
		kt_skip("mdev type %s/%s unavailable", MDEV_PARENT, MDEV_TYPE);
	kt_assert_errno(guest);
	kt_log("mdev %s: group fd %d, device fd %d, VRAM %" PRIu64 " bytes at 0x%" PRIx64
	       ", MMIO at 0x%" PRIx64 ", opened in %.1f ms",
	       guest->uuid, guest->group_fd, guest->device_fd, (uint64_t)guest->vram_region.size,
	       (uint64_t)guest->vram_region.offset, (uint64_t)guest->mmio_region.offset,
	       (double)(kt_now_ns() - t0) / 1e6);
	kt_assert_ok(vg_gfx_probe(guest, VFIO_GFX_PLANE_TYPE_DMABUF));
	kt_assert_ok(vg_vram_map(guest));

	/* The guest mode matches the vkms mode, so the plane covers the CRTC. */
	mode = (struct vg_bochs_mode){
		.width = pipe.mode.hdisplay,
		.height = pipe.mode.vdisplay,
		.bpp = 32,
		.virt_width = pipe.mode.hdisplay,
		.virt_height = (uint16_t)(2 * pipe.mode.vdisplay),
	};
	kt_assert((size_t)mode.virt_width * mode.virt_height * 4 <= guest->vram_size);

	kt_assert_ok(kt_image_alloc(&want_a, mode.width, mode.height, DRM_FORMAT_XRGB8888));
	kt_assert_ok(kt_image_alloc(&want_b, mode.width, mode.height, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&want_a, SEED_A);
	kt_fill_pattern(&want_b, SEED_B);
	kt_assert_ok(kt_dumb_create(&dev, &wb, mode.width, mode.height, DRM_FORMAT_XRGB8888));

	/* 1-3: first guest frame on screen. */
	img = vram_image(guest, &mode);
	kt_fill_pattern(&img, SEED_A);
	kt_assert_ok(vg_bochs_set_mode(guest, &mode));
	scanout_import(&dev, guest, &mode, &a);

	t0 = kt_now_ns();
	kt_atomic_init(&req, &dev);
	kt_atomic_add_modeset(&req, &dev, &pipe);
	kt_atomic_add_plane(&req, pipe.primary_id, pipe.crtc_id, a.fb.fb_id, mode.width,
			    mode.height, 0, 0);
	kt_assert_ok(kt_atomic_commit(&req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL));
	kt_atomic_finish(&req);
	kt_log("modeset with the guest framebuffer in %.1f ms", (double)(kt_now_ns() - t0) / 1e6);
	check_output(&dev, &pipe, &wb, &want_a, "vfio-mbochs-a");

	/* 4-5: the guest pans to its second buffer. */
	mode.y_offset = mode.height;
	img = vram_image(guest, &mode);
	kt_fill_pattern(&img, SEED_B);
	kt_assert_ok(vg_bochs_pan(guest, mode.x_offset, mode.y_offset));
	scanout_import(&dev, guest, &mode, &b);
	kt_assertf(b.plane.dmabuf_id != a.plane.dmabuf_id, "panning kept dmabuf_id %" PRIu32,
		   a.plane.dmabuf_id);

	t0 = kt_now_ns();
	kt_atomic_init(&req, &dev);
	kt_atomic_add(&req, pipe.primary_id, DRM_MODE_OBJECT_PLANE, "FB_ID", b.fb.fb_id);
	kt_assert_ok(
		kt_atomic_commit(&req, DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT, &flip));
	kt_atomic_finish(&req);
	kt_assert_ok(kt_flip_wait(&dev, &flip, TIMEOUT_MS));
	kt_assert(flip.crtc_id == pipe.crtc_id);
	kt_log("flip to the panned framebuffer in %.1f ms", (double)(kt_now_ns() - t0) / 1e6);
	check_output(&dev, &pipe, &wb, &want_b, "vfio-mbochs-b");

	/* 6: the first configuration maps to the first buffer again. */
	kt_assert_ok(vg_bochs_pan(guest, 0, 0));
	kt_assert_ok(vg_gfx_query(guest, DRM_PLANE_TYPE_PRIMARY, &again));
	kt_assertf(again.dmabuf_id == a.plane.dmabuf_id,
		   "panning back gave dmabuf_id %" PRIu32 ", not %" PRIu32, again.dmabuf_id,
		   a.plane.dmabuf_id);

	/*
	 * Teardown: the CRTC lets go of the imported buffers before they are
	 * released, and every dma-buf is gone before the mdev is removed.
	 */
	kt_atomic_init(&req, &dev);
	kt_atomic_disable_plane(&req, pipe.primary_id);
	kt_atomic_add(&req, pipe.crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", 0);
	kt_assert_ok(kt_atomic_commit(&req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL));
	kt_atomic_finish(&req);
	scanout_release(&dev, &b);
	scanout_release(&dev, &a);
	kt_buffer_destroy(&dev, &wb);
	t0 = kt_now_ns();
	vg_guest_destroy(guest);
	kt_log("guest closed and mdev removed in %.1f ms", (double)(kt_now_ns() - t0) / 1e6);
	kt_image_free(&want_a);
	kt_image_free(&want_b);
	kt_pipe_finish(&dev, &pipe);
	kt_device_close(&dev);
	kt_log("PASS");
	return 0;
}
