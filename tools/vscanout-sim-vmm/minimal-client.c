// SPDX-License-Identifier: MIT
/*
 * The smallest useful vscanoutd client: one frame of one colour in guest
 * RAM (a memfd), shown until it is on screen, and the last vblank of the
 * vGPU's clock. Usage: minimal-client SOCKET VGPU. Error handling is cut
 * short; vscanout-sim-vmm (sim.c) is complete. It builds from the
 * installed protocol and header alone (pkg-config vscanout).
 */
#include <drm_fourcc.h>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client.h>

#include <vscanout-vblank.h>

#include "vscanout-v1-client-protocol.h"

static struct vscanout_manager_v1 *manager;
static uint32_t width, height;
static int answered; /* 1: presented, -1: discarded */

static void global(void *data, struct wl_registry *registry, uint32_t name, const char *interface,
		   uint32_t version)
{
	if (strcmp(interface, vscanout_manager_v1_interface.name) == 0)
		manager = wl_registry_bind(registry, name, &vscanout_manager_v1_interface, 1);
}

static void global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
}

static void output(void *data, struct vscanout_vgpu_v1 *vgpu, const char *name, uint32_t w,
		   uint32_t h, uint32_t refresh_mhz, uint32_t phys_w, uint32_t phys_h)
{
	if (width == 0) { /* the first output is the vGPU's clock */
		width = w;
		height = h;
	}
}

static void done(void *data, struct vscanout_vgpu_v1 *vgpu)
{
}

static void on_presented(void *data, struct vscanout_vgpu_v1 *vgpu, uint32_t serial,
			 uint32_t sec_hi, uint32_t sec_lo, uint32_t nsec, uint32_t refresh_ns,
			 uint32_t seq_hi, uint32_t seq_lo, uint32_t flags)
{
	printf("frame %u on screen at %u.%09u%s\n", serial, sec_lo, nsec,
	       flags & VSCANOUT_VGPU_V1_PRESENTED_FLAGS_ZERO_COPY ? ", zero-copy" : "");
	answered = 1;
}

static void on_discarded(void *data, struct vscanout_vgpu_v1 *vgpu, uint32_t serial)
{
	answered = -1; /* the output is off */
}

static void vblank_source(void *data, struct vscanout_vgpu_v1 *vgpu, int ticks, int memfd,
			  uint32_t flags)
{
	/* A VMM polls ticks to pace its guest; here the record is read once. */
	const struct vscanout_vblank_record *record =
		mmap(NULL, sizeof(*record), PROT_READ, MAP_SHARED, memfd, 0);
	if (record != MAP_FAILED) {
		struct vscanout_vblank_state state;
		vscanout_vblank_record_read(record, &state);
		printf("vblank %llu, refresh %llu ns%s\n", (unsigned long long)state.sequence,
		       (unsigned long long)state.refresh_ns,
		       state.flags & VSCANOUT_VBLANK_TIMER ? " (timer)" : "");
		munmap((void *)record, sizeof(*record));
	}
	close(ticks);
	close(memfd);
}

static void vfio_status(void *data, struct vscanout_vgpu_v1 *vgpu, uint32_t status,
			const char *message)
{
}

static const struct wl_registry_listener registry_listener = {global, global_remove};
static const struct vscanout_vgpu_v1_listener vgpu_listener = {
	output, done, on_presented, on_discarded, vblank_source, vfio_status,
};

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s SOCKET VGPU\n", argv[0]);
		return 2;
	}
	/* 1. Connect and find the manager. */
	struct wl_display *display = wl_display_connect(argv[1]);
	if (display == NULL) {
		perror(argv[1]);
		return 1;
	}
	struct wl_registry *registry = wl_display_get_registry(display);
	wl_registry_add_listener(registry, &registry_listener, NULL);
	wl_display_roundtrip(display);
	if (manager == NULL)
		return 1;

	/*
	 * 2. Attach to the vGPU; its output events tell the size to draw at,
	 * its vblank source the clock to pace the guest by.
	 */
	struct vscanout_vgpu_v1 *vgpu = vscanout_manager_v1_attach(manager, argv[2]);
	vscanout_vgpu_v1_add_listener(vgpu, &vgpu_listener, NULL);
	vscanout_vgpu_v1_get_vblank_source(vgpu);
	if (wl_display_roundtrip(display) < 0 || width == 0)
		return 1;

	/* 3. Guest RAM: a memfd that cannot shrink; a framebuffer in it; a dma-buf of it. */
	uint32_t stride = width * 4;
	size_t size = ((size_t)stride * height + 4095) & ~(size_t)4095;
	int memfd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0 || ftruncate(memfd, (off_t)size) < 0 ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		return 1;
	uint32_t *pixels = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	for (size_t i = 0; i < (size_t)width * height; i++)
		pixels[i] = 0xff3366cc;
	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	struct udmabuf_create create = {
		.memfd = (uint32_t)memfd, .flags = UDMABUF_FLAGS_CLOEXEC, .size = size};
	int dmabuf = ioctl(dev, UDMABUF_CREATE, &create);
	if (dmabuf < 0) {
		perror("udmabuf");
		return 1;
	}

	/* 4. Hand the dma-buf to vscanoutd as a buffer. */
	struct vscanout_buffer_params_v1 *params = vscanout_vgpu_v1_create_params(vgpu);
	vscanout_buffer_params_v1_add(params, dmabuf, 0, 0, stride, 0, 0); /* linear */
	struct vscanout_buffer_v1 *buffer = vscanout_buffer_params_v1_create(
		params, (int32_t)width, (int32_t)height, DRM_FORMAT_XRGB8888, 0);
	vscanout_buffer_params_v1_destroy(params);
	close(dmabuf);

	/* 5. Show it: set the primary plane, commit, wait for presented. */
	vscanout_vgpu_v1_set_primary(vgpu, buffer, 0, 0);
	vscanout_vgpu_v1_commit(vgpu, 1);
	while (answered == 0)
		if (wl_display_dispatch(display) < 0)
			return 1;

	wl_display_disconnect(display);
	return answered > 0 ? 0 : 1;
}
