// SPDX-License-Identifier: MIT
/*
 * vfio-device: the daemon's VFIO display layer (vfio/device.h, vfio/cache.h)
 * against real mdevs, with this process also playing the guest
 * (tests/kernel/vfio-guest.h).
 *
 *  1. Fds that are not VFIO devices (/dev/null, a memfd, a DRM device, the
 *     VFIO container) are refused with a message naming the fd, and closed.
 *  2. mbochs-medium opens as a dma-buf display with an EDID region of
 *     1920x1440 at most. Before a mode set the primary plane is off; after
 *     it the query describes the mode (the transient ENOMEM of Linux 6.1 is
 *     retried once and must be classified transient), and the imported
 *     buffer holds exactly the pixels the guest drew: it is shown on vkms
 *     and captured through writeback, because mbochs refuses CPU mappings
 *     of its dma-bufs (they are exported read-only, and mbochs maps only
 *     shared writable mappings), so buffer_begin_read() cannot read them.
 *  3. Pans give new dmabuf_ids; the LRU cache serves a pan back without a
 *     new fd, and the sixth and seventh distinct buffers evict the least
 *     recently used: the process's open fd count drops by one each time,
 *     except while the evicted buffer is locked (on screen).
 *  4. EDID: what vfio_display_write_edid() writes, the guest reads back at
 *     BAR2 0x000-0x3ff; with the link down it reads zeros; too large a
 *     blob is refused and leaves the previous one in place.
 *  5. mdpy-xga opens as a region display without EDID; the mapped region
 *     shows the pixels the guest wrote into BAR0, and later ones too.
 *
 * Exit 77 when the mdev parents are missing.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "buffer/buffer.h"
#include "kmstest.h"
#include "vfio-guest.h"
#include "vfio/cache.h"
#include "vfio/device.h"

#define PAN_STEP 32 /* rows between two pans: 32 × 4096 bytes, page aligned */
#define N_PANS   7  /* distinct scanout configurations: VFIO_CACHE_SIZE + 2 */
#define SEED     0x76666430u

/* Open fds of this process. */
static int fd_count(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	kt_assert_errno(dir != NULL);
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(dir);
	return n - 1; /* the directory's own fd */
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

static void check_refused(int fd, const char *what, const char *reason)
{
	char msg[256] = "", prefix[128];

	kt_assert_errno(fd >= 0);
	errno = 0;
	kt_assertf(vfio_display_open(fd, NULL, msg, sizeof(msg)) == NULL, "%s was accepted", what);
	kt_assertf(errno != 0, "%s: errno not set", what);
	kt_assertf(!fd_is_open(fd), "%s: fd %d left open", what, fd);
	snprintf(prefix, sizeof(prefix), "fd %d is not a VFIO device (VFIO_DEVICE_GET_INFO: %s", fd,
		 reason);
	kt_assertf(strncmp(msg, prefix, strlen(prefix)) == 0, "%s: message \"%s\"", what, msg);
	kt_log("%s refused: %s", what, msg);
}

static void test_refusals(void)
{
	struct kt_device dev;

	check_refused(open("/dev/null", O_RDWR | O_CLOEXEC), "/dev/null",
		      "Inappropriate ioctl for device)");
	check_refused(memfd_create("vfio-device", MFD_CLOEXEC), "a memfd",
		      "Inappropriate ioctl for device)");
	kt_assert_ok(kt_device_open(&dev, "vkms"));
	check_refused(fcntl(dev.fd, F_DUPFD_CLOEXEC, 0), dev.path, "");
	kt_device_close(&dev);
	check_refused(open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC), "the VFIO container", "");
}

/* The primary plane; the one ENOMEM mbochs gives for a new configuration is retried. */
static void query_primary(struct vfio_display *display, struct vfio_device_gfx_plane_info *info,
			  unsigned int *transient)
{
	int ret = vfio_display_query(display, DRM_PLANE_TYPE_PRIMARY, info);

	if (ret < 0) {
		kt_assertf(ret == -ENOMEM, "query: %s", strerror(-ret));
		kt_assertf(!vfio_error_is_fatal(ret), "ENOMEM classified as fatal");
		(*transient)++;
		ret = vfio_display_query(display, DRM_PLANE_TYPE_PRIMARY, info);
	}
	kt_assert_ok(ret);
}

/*
 * vkms showing imported buffers on its primary plane, captured through
 * writeback: the proof of what a dma-buf holds.
 */
struct screen {
	struct kt_device dev;
	struct kt_pipe pipe;
	struct kt_buffer wb;
	struct kt_buffer shown; /* the framebuffer on the primary plane; fb_id 0: none */
};

static void screen_open(struct screen *s)
{
	*s = (struct screen){0};
	kt_assert_ok(kt_device_open(&s->dev, "vkms"));
	kt_assert_ok(kt_pipe_find(&s->dev, &s->pipe));
	kt_assertf(s->pipe.writeback_id, "vkms has no writeback connector (enable_writeback=1)");
	kt_assert_ok(kt_dumb_create(&s->dev, &s->wb, s->pipe.mode.hdisplay, s->pipe.mode.vdisplay,
				    DRM_FORMAT_XRGB8888));
}

/* Show buffer (a dma-buf) full screen and check the CRTC's output is want. */
static void screen_check(struct screen *s, struct buffer *buffer, const struct kt_image *want,
			 const char *what)
{
	struct kt_buffer fb = {0};
	struct kt_atomic req;
	uint64_t bad;

	kt_assert(buffer->type == BUFFER_DMABUF);
	kt_assert_ok(kt_buffer_import(&s->dev, &fb, buffer->dmabuf.fd[0], buffer->width,
				      buffer->height, buffer->fourcc, buffer->dmabuf.stride[0]));
	kt_atomic_init(&req, &s->dev);
	if (s->shown.fb_id == 0)
		kt_atomic_add_modeset(&req, &s->dev, &s->pipe);
	kt_atomic_add_plane(&req, s->pipe.primary_id, s->pipe.crtc_id, fb.fb_id, buffer->width,
			    buffer->height, 0, 0);
	kt_assert_ok(
		kt_atomic_commit(&req, s->shown.fb_id ? 0 : DRM_MODE_ATOMIC_ALLOW_MODESET, NULL));
	kt_atomic_finish(&req);
	kt_buffer_destroy(&s->dev, &s->shown);
	s->shown = fb;

	memset(s->wb.img.data, 0, s->wb.size);
	kt_assert_ok(kt_capture(&s->dev, &s->pipe, &s->wb, 5000));
	bad = kt_compare(&s->wb.img, want, 0x00ffffffu, what);
	kt_assertf(bad == 0, "%s: %" PRIu64 " pixels differ", what, bad);
}

/* Let go of every imported framebuffer: the dma-bufs can then be freed. */
static void screen_close(struct screen *s)
{
	struct kt_atomic req;

	if (s->shown.fb_id != 0) {
		kt_atomic_init(&req, &s->dev);
		kt_atomic_disable_plane(&req, s->pipe.primary_id);
		kt_atomic_add(&req, s->pipe.crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", 0);
		kt_assert_ok(kt_atomic_commit(&req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL));
		kt_atomic_finish(&req);
	}
	kt_buffer_destroy(&s->dev, &s->shown);
	kt_buffer_destroy(&s->dev, &s->wb);
	kt_pipe_finish(&s->dev, &s->pipe);
	kt_device_close(&s->dev);
}

/* Rows y.. of the guest's virtual screen, as the mode shows them. */
static struct kt_image window(const struct kt_image *virt, uint32_t height, uint32_t y)
{
	return (struct kt_image){
		.width = virt->width,
		.height = height,
		.stride = virt->stride,
		.format = virt->format,
		.data = (char *)virt->data + (size_t)y * virt->stride,
	};
}

struct pan {
	struct vfio_device_gfx_plane_info info;
	struct buffer *buffer; /* borrowed from the cache while it is there */
	int fd;                /* the buffer's dma-buf fd number */
};

/* Pan to row y, query, import, check the pixels and cache the buffer. */
static void pan_import(struct vg_guest *guest, struct vfio_display *display,
		       struct vfio_cache *cache, struct screen *screen, const struct kt_image *virt,
		       uint32_t height, uint32_t y, struct pan *p, unsigned int *transient)
{
	struct kt_image want = window(virt, height, y);
	char msg[256], what[32];
	int fds;

	kt_assert_ok(vg_bochs_pan(guest, 0, (uint16_t)y));
	query_primary(display, &p->info, transient);
	kt_assert(p->info.dmabuf_id != 0);
	kt_assert(p->info.drm_format == DRM_FORMAT_XRGB8888);
	kt_assert(p->info.drm_format_mod == DRM_FORMAT_MOD_LINEAR);
	kt_assert(p->info.width == virt->width && p->info.height == height);
	kt_assert(p->info.stride == virt->stride);
	kt_assert(p->info.size == virt->stride * height);
	kt_assertf(vfio_cache_lookup(cache, &p->info) == NULL, "dma-buf %" PRIu32 " already cached",
		   p->info.dmabuf_id);

	kt_assertf(vfio_display_check_plane(display, DRM_PLANE_TYPE_PRIMARY, &p->info, msg,
					    sizeof(msg)) == 0,
		   "mbochs plane refused: %s", msg);

	fds = fd_count();
	p->buffer = vfio_display_import(display, &p->info, msg, sizeof(msg));
	kt_assertf(p->buffer != NULL, "import: %s", msg);
	kt_assert(fd_count() == fds + 1);
	kt_assert(p->buffer->type == BUFFER_DMABUF);
	kt_assert(p->buffer->fourcc == DRM_FORMAT_XRGB8888);
	kt_assert(p->buffer->modifier == DRM_FORMAT_MOD_LINEAR);
	kt_assert(p->buffer->dmabuf.n_planes == 1 && p->buffer->dmabuf.offset[0] == 0);
	kt_assert(p->buffer->dmabuf.stride[0] == p->info.stride);
	p->fd = p->buffer->dmabuf.fd[0];
	kt_assert(dmabuf_fd_is_dmabuf(p->fd));
	kt_assert(fcntl(p->fd, F_GETFD) & FD_CLOEXEC);
	snprintf(what, sizeof(what), "mbochs-pan-%" PRIu32, y);
	screen_check(screen, p->buffer, &want, what);

	vfio_cache_insert(cache, &p->info, p->buffer);
	buffer_unref(p->buffer);
	kt_log("pan to row %" PRIu32 ": dma-buf %" PRIu32 " as fd %d, %zu cached, %d fds", y,
	       p->info.dmabuf_id, p->fd, vfio_cache_count(cache), fd_count());
}

/* 32-bit reads of the EDID block the guest sees at BAR2 0x000-0x3ff. */
static void guest_read_edid(struct vg_guest *guest, uint8_t out[0x400])
{
	for (uint32_t off = 0; off < 0x400; off += 4) {
		uint32_t v;
		ssize_t n = pread(guest->device_fd, &v, sizeof(v),
				  (off_t)(guest->mmio_region.offset + off));

		kt_assert_errno(n == (ssize_t)sizeof(v));
		memcpy(out + off, &v, sizeof(v));
	}
}

static uint32_t edid_reg(struct vfio_display *display, size_t offset)
{
	uint32_t v;

	kt_assert_errno(pread(display->fd, &v, sizeof(v),
			      (off_t)(display->edid_region_offset + offset)) == sizeof(v));
	return v;
}

/* The guest must read blob (size bytes) followed by zeros. */
static void check_guest_edid(struct vg_guest *guest, const uint8_t *blob, size_t size,
			     const char *what)
{
	uint8_t seen[0x400];

	guest_read_edid(guest, seen);
	for (size_t i = 0; i < sizeof(seen); i++) {
		uint8_t want = i < size ? blob[i] : 0;
		kt_assertf(seen[i] == want, "%s: byte 0x%zx is 0x%02x, not 0x%02x", what, i,
			   seen[i], want);
	}
}

static void test_edid(struct vg_guest *guest, struct vfio_display *display)
{
	const uint32_t down = VFIO_DEVICE_GFX_LINK_STATE_DOWN;
	uint8_t a[256], b[128], c[1024], big[1025];

	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(0xff - i * 5);
	for (size_t i = 0; i < sizeof(c); i++)
		c[i] = (uint8_t)(i * 13 + (i >> 8) + 1);
	memset(big, 0x5a, sizeof(big));

	kt_assert_ok(vfio_display_write_edid(display, a, sizeof(a)));
	kt_assert(edid_reg(display, offsetof(struct vfio_region_gfx_edid, link_state)) ==
		  VFIO_DEVICE_GFX_LINK_STATE_UP);
	kt_assert(edid_reg(display, offsetof(struct vfio_region_gfx_edid, edid_size)) == sizeof(a));
	check_guest_edid(guest, a, sizeof(a), "EDID a");

	/* Unplugged: the guest reads nothing. */
	kt_assert_errno(pwrite(display->fd, &down, sizeof(down),
			       (off_t)(display->edid_region_offset +
				       offsetof(struct vfio_region_gfx_edid, link_state))) ==
			sizeof(down));
	check_guest_edid(guest, NULL, 0, "EDID with link down");

	/* A shorter one replaces it and plugs the monitor in again. */
	kt_assert_ok(vfio_display_write_edid(display, b, sizeof(b)));
	kt_assert(edid_reg(display, offsetof(struct vfio_region_gfx_edid, link_state)) ==
		  VFIO_DEVICE_GFX_LINK_STATE_UP);
	check_guest_edid(guest, b, sizeof(b), "EDID b");

	/* The largest the region takes, then one byte more. */
	kt_assert_ok(vfio_display_write_edid(display, c, sizeof(c)));
	check_guest_edid(guest, c, sizeof(c), "EDID c");
	kt_assert(vfio_display_write_edid(display, big, sizeof(big)) == -ENOSPC);
	kt_assert(vfio_display_write_edid(display, big, 0) == -EINVAL);
	kt_assert(edid_reg(display, offsetof(struct vfio_region_gfx_edid, link_state)) ==
		  VFIO_DEVICE_GFX_LINK_STATE_UP);
	check_guest_edid(guest, c, sizeof(c), "EDID c after refused writes");
	kt_log("EDID: 256, 128 and 1024 bytes read back by the guest; link down reads zeros");
}

static void test_mbochs(void)
{
	struct vfio_device_gfx_plane_info info;
	struct pan pans[N_PANS], back;
	struct vfio_display *display;
	struct vfio_cache cache;
	struct vg_bochs_mode mode;
	struct vg_guest *guest;
	struct screen screen;
	struct kt_image virt, want_b;
	unsigned int transient = 0;
	char msg[256];
	int fds0, fd;

	guest = vg_guest_create("mbochs", "mbochs-medium");
	if (!guest && errno == ENODEV)
		kt_skip("mdev type mbochs/mbochs-medium unavailable");
	kt_assert_errno(guest);

	fd = fcntl(guest->device_fd, F_DUPFD_CLOEXEC, 0);
	kt_assert_errno(fd >= 0);
	display = vfio_display_open(fd, NULL, msg, sizeof(msg));
	kt_assertf(display != NULL, "open: %s", msg);
	kt_assert(display->fd == fd);
	kt_assert(display->kind == VFIO_DISPLAY_DMABUF);
	kt_assert(display->plane_flags == VFIO_GFX_PLANE_TYPE_DMABUF);
	kt_assertf(display->has_edid, "no EDID region found");
	kt_assert(display->edid_region_index == VFIO_PCI_NUM_REGIONS);
	kt_assert(display->edid_region_size == 4096);
	kt_assertf(display->max_xres == 1920 && display->max_yres == 1440,
		   "max %" PRIu32 "x%" PRIu32, display->max_xres, display->max_yres);
	kt_assert(display->edid_max_size == 0x400);
	kt_assert(display->edid_offset == 0x800);
	kt_log("mbochs: dma-buf display, %" PRIu32 " regions, EDID region %" PRIu32 " at 0x%" PRIx64
	       ", max %" PRIu32 "x%" PRIu32,
	       display->num_regions, display->edid_region_index, display->edid_region_offset,
	       display->max_xres, display->max_yres);

	/* No mode yet: both planes are off, and an off plane is not imported. */
	kt_assert_ok(vfio_display_query(display, DRM_PLANE_TYPE_PRIMARY, &info));
	kt_assert(info.drm_format == 0 && info.dmabuf_id == 0);
	kt_assert_ok(vfio_display_query(display, DRM_PLANE_TYPE_CURSOR, &info));
	kt_assert(info.drm_format == 0 && info.dmabuf_id == 0);
	errno = 0;
	kt_assert(vfio_display_import(display, &info, msg, sizeof(msg)) == NULL);
	kt_assert(errno == EINVAL);
	kt_log("off plane not imported: %s", msg);

	/* The guest draws its virtual screen and sets vkms's mode. */
	screen_open(&screen);
	mode = (struct vg_bochs_mode){
		.width = screen.pipe.mode.hdisplay,
		.height = screen.pipe.mode.vdisplay,
		.bpp = 32,
		.virt_width = screen.pipe.mode.hdisplay,
		.virt_height = (uint16_t)(screen.pipe.mode.vdisplay + (N_PANS - 1) * PAN_STEP),
	};
	/* mbochs exports only page-aligned framebuffers. */
	kt_assert(((uint32_t)mode.virt_width * 4 * PAN_STEP) % 4096 == 0);
	kt_assert_ok(vg_vram_map(guest));
	kt_assert((size_t)mode.virt_width * mode.virt_height * 4 <= guest->vram_size);
	kt_assert_ok(kt_image_alloc(&virt, mode.virt_width, mode.virt_height, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&virt, SEED);
	memcpy(guest->vram, virt.data, (size_t)virt.stride * virt.height);
	kt_assert_ok(vg_bochs_set_mode(guest, &mode));

	vfio_cache_init(&cache);
	fds0 = fd_count();

	/* A: the first frame. */
	pan_import(guest, display, &cache, &screen, &virt, mode.height, 0, &pans[0], &transient);
	kt_assert(fd_count() == fds0 + 1);
	{
		const void *data;
		uint32_t stride;
		int ret = buffer_begin_read(pans[0].buffer, &data, &stride);

		/* Today's mbochs refuses; should it ever map, the pixels must be right. */
		if (ret == 0) {
			struct kt_image got = window(&virt, mode.height, 0), want = got;

			got.data = (void *)data;
			got.stride = stride;
			kt_assert(kt_compare(&got, &want, 0xffffffffu, "mbochs-cpu") == 0);
			kt_assert_ok(buffer_end_read(pans[0].buffer));
		} else {
			kt_assertf(ret == -EINVAL, "buffer_begin_read: %s", strerror(-ret));
			kt_log("mbochs dma-bufs cannot be mapped for the CPU");
		}
	}

	/* An id the device never gave out. */
	info = pans[0].info;
	info.dmabuf_id = 0xdead;
	errno = 0;
	kt_assert(vfio_display_import(display, &info, msg, sizeof(msg)) == NULL);
	kt_assertf(errno == ENOENT, "unknown id: %s", strerror(errno));
	kt_assertf(strstr(msg, "VFIO_DEVICE_GET_GFX_DMABUF(57005)") != NULL, "message \"%s\"", msg);
	kt_assert(fd_count() == fds0 + 1);

	/* B: a pan is a new dma-buf; both stay cached. */
	pan_import(guest, display, &cache, &screen, &virt, mode.height, PAN_STEP, &pans[1],
		   &transient);
	kt_assert(pans[1].info.dmabuf_id != pans[0].info.dmabuf_id);
	kt_assert(vfio_cache_count(&cache) == 2);
	kt_assert(vfio_cache_lookup(&cache, &pans[1].info) == pans[1].buffer);
	kt_assert(vfio_cache_lookup(&cache, &pans[0].info) == pans[0].buffer);
	kt_assert(fd_count() == fds0 + 2);

	/* Back to A: the device names A again and the cache serves it, no new fd. */
	kt_assert_ok(vg_bochs_pan(guest, 0, 0));
	query_primary(display, &back.info, &transient);
	kt_assert(back.info.dmabuf_id == pans[0].info.dmabuf_id);
	kt_assert(vfio_cache_lookup(&cache, &back.info) == pans[0].buffer);
	kt_assert(fd_count() == fds0 + 2);
	/* Least recently used first: B, A. */

	/* C, D, E fill the cache. */
	for (int i = 2; i < VFIO_CACHE_SIZE; i++) {
		pan_import(guest, display, &cache, &screen, &virt, mode.height,
			   (uint32_t)i * PAN_STEP, &pans[i], &transient);
		for (int j = 0; j < i; j++)
			kt_assert(pans[i].info.dmabuf_id != pans[j].info.dmabuf_id);
		kt_assert(vfio_cache_count(&cache) == (size_t)i + 1);
		kt_assert(fd_count() == fds0 + i + 1);
	}

	/*
	 * F evicts B, the least recently used, while B is on screen: B's fd
	 * stays open until it is unlocked.
	 */
	buffer_lock(pans[1].buffer);
	pan_import(guest, display, &cache, &screen, &virt, mode.height, VFIO_CACHE_SIZE * PAN_STEP,
		   &pans[VFIO_CACHE_SIZE], &transient);
	kt_assert(vfio_cache_count(&cache) == VFIO_CACHE_SIZE);
	kt_assert(vfio_cache_lookup(&cache, &pans[1].info) == NULL);
	kt_assert(fd_count() == fds0 + VFIO_CACHE_SIZE + 1);
	kt_assert(fd_is_open(pans[1].fd));
	want_b = window(&virt, mode.height, PAN_STEP);
	screen_check(&screen, pans[1].buffer, &want_b, "mbochs-b-evicted");
	buffer_unlock(pans[1].buffer);
	kt_assert(fd_count() == fds0 + VFIO_CACHE_SIZE);
	kt_assert(!fd_is_open(pans[1].fd));
	/* Least recently used first: A, C, D, E, F. */

	/* G evicts A: its fd is closed at once. */
	pan_import(guest, display, &cache, &screen, &virt, mode.height,
		   (VFIO_CACHE_SIZE + 1) * PAN_STEP, &pans[VFIO_CACHE_SIZE + 1], &transient);
	kt_assert(vfio_cache_count(&cache) == VFIO_CACHE_SIZE);
	kt_assert(fd_count() == fds0 + VFIO_CACHE_SIZE);
	kt_assert(!fd_is_open(pans[0].fd));
	kt_assert(vfio_cache_lookup(&cache, &pans[0].info) == NULL);
	for (int i = 2; i < N_PANS; i++)
		kt_assert(vfio_cache_lookup(&cache, &pans[i].info) == pans[i].buffer);
	kt_log("%d distinct dma-bufs, %u transient query failures retried", N_PANS, transient);

	vfio_cache_finish(&cache);
	kt_assert(vfio_cache_count(&cache) == 0);
	kt_assert(fd_count() == fds0);

	test_edid(guest, display);

	vfio_display_destroy(display);
	kt_assert(!fd_is_open(fd));
	kt_image_free(&virt);
	screen_close(&screen);
	vg_guest_destroy(guest);
}

/*
 * mdpy has no BAR2, which vg_guest_open() needs for the bochs registers:
 * its VFIO device is opened here, the same way.
 */
struct mdpy {
	char uuid[VG_UUID_SIZE];
	int container_fd, group_fd, device_fd;
	uint32_t *vram; /* BAR0, read-write */
	size_t vram_size;
};

static void mdpy_open(struct mdpy *m, const char *type)
{
	char link[PATH_MAX], target[PATH_MAX], path[PATH_MAX];
	struct vfio_region_info bar0 = {.argsz = sizeof(bar0), .index = VFIO_PCI_BAR0_REGION_INDEX};
	const char *group;
	ssize_t n;
	int ret;

	ret = vg_mdev_create("mdpy", type, m->uuid);
	if (ret == -ENODEV)
		kt_skip("mdev type mdpy/%s unavailable", type);
	kt_assert_ok(ret);

	snprintf(link, sizeof(link), "/sys/bus/mdev/devices/%s/iommu_group", m->uuid);
	n = readlink(link, target, sizeof(target) - 1);
	kt_assert_errno(n > 0);
	target[n] = '\0';
	group = strrchr(target, '/');
	kt_assert((size_t)snprintf(path, sizeof(path), "/dev/vfio/%s", group ? group + 1 : target) <
		  sizeof(path));

	m->container_fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	kt_assert_errno(m->container_fd >= 0);
	m->group_fd = open(path, O_RDWR | O_CLOEXEC);
	kt_assert_errno(m->group_fd >= 0);
	kt_assert_errno(ioctl(m->group_fd, VFIO_GROUP_SET_CONTAINER, &m->container_fd) == 0);
	kt_assert_errno(ioctl(m->container_fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) == 0);
	m->device_fd = ioctl(m->group_fd, VFIO_GROUP_GET_DEVICE_FD, m->uuid);
	kt_assert_errno(m->device_fd >= 0);
	kt_assert_errno(fcntl(m->device_fd, F_SETFD, FD_CLOEXEC) == 0);

	kt_assert_errno(ioctl(m->device_fd, VFIO_DEVICE_GET_REGION_INFO, &bar0) == 0);
	kt_assert(bar0.flags & VFIO_REGION_INFO_FLAG_MMAP);
	m->vram = mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED, m->device_fd,
		       (off_t)bar0.offset);
	kt_assert_errno(m->vram != MAP_FAILED);
	m->vram_size = bar0.size;
}

static void mdpy_close(struct mdpy *m)
{
	munmap(m->vram, m->vram_size);
	close(m->device_fd);
	close(m->group_fd);
	close(m->container_fd);
	kt_assert_ok(vg_mdev_remove(m->uuid));
}

static void test_mdpy(void)
{
	struct vfio_device_gfx_plane_info info;
	struct vfio_display *display;
	struct kt_image want, got;
	const void *data, *again;
	struct mdpy m;
	uint64_t bad;
	char msg[256];
	uint8_t edid[128] = {0};
	int fd;

	mdpy_open(&m, "mdpy-xga");
	fd = fcntl(m.device_fd, F_DUPFD_CLOEXEC, 0);
	kt_assert_errno(fd >= 0);
	display = vfio_display_open(fd, NULL, msg, sizeof(msg));
	kt_assertf(display != NULL, "open: %s", msg);
	kt_assert(display->kind == VFIO_DISPLAY_REGION);
	kt_assert(display->plane_flags == VFIO_GFX_PLANE_TYPE_REGION);
	kt_assert(!display->has_edid);
	kt_assert(vfio_display_write_edid(display, edid, sizeof(edid)) == -ENOTSUP);

	kt_assert_ok(vfio_display_query(display, DRM_PLANE_TYPE_PRIMARY, &info));
	kt_log("mdpy: %" PRIu32 "x%" PRIu32 " stride %" PRIu32 " size %" PRIu32
	       " in region %" PRIu32,
	       info.width, info.height, info.stride, info.size, info.region_index);
	kt_assert(info.drm_format == DRM_FORMAT_XRGB8888);
	kt_assert(info.width == 1024 && info.height == 768 && info.stride == 4096);
	kt_assert(info.size >= info.stride * info.height && info.size <= m.vram_size);
	kt_assert(info.region_index == 16);
	kt_assertf(vfio_display_check_plane(display, DRM_PLANE_TYPE_PRIMARY, &info, msg,
					    sizeof(msg)) == 0,
		   "mdpy plane refused: %s", msg);
	errno = 0;
	kt_assert(vfio_display_import(display, &info, msg, sizeof(msg)) == NULL);
	kt_assert(errno == EINVAL);

	/* The guest draws; the mapped region shows it. */
	kt_assert_ok(kt_image_alloc(&want, info.width, info.height, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&want, SEED + 1);
	memcpy(m.vram, want.data, (size_t)want.stride * want.height);
	kt_assert_ok(vfio_display_map_region(display, info.region_index,
					     (uint64_t)info.stride * info.height, &data, NULL, 0));
	got = (struct kt_image){
		.width = info.width,
		.height = info.height,
		.stride = info.stride,
		.format = info.drm_format,
		.data = (void *)data,
	};
	bad = kt_compare(&got, &want, 0xffffffffu, "mdpy-a");
	kt_assertf(bad == 0, "mdpy: %" PRIu64 " pixels differ", bad);

	/* The mapping is kept, and follows what the guest draws next. */
	kt_assert_ok(
		vfio_display_map_region(display, info.region_index, info.size, &again, NULL, 0));
	kt_assert(again == data);
	kt_fill_pattern(&want, SEED + 2);
	memcpy(m.vram, want.data, (size_t)want.stride * want.height);
	bad = kt_compare(&got, &want, 0xffffffffu, "mdpy-b");
	kt_assertf(bad == 0, "mdpy after redraw: %" PRIu64 " pixels differ", bad);

	/* Regions that cannot serve a plane. */
	kt_assert(vfio_display_map_region(display, info.region_index, (uint64_t)m.vram_size + 1,
					  &again, msg, sizeof(msg)) == -ENOSPC);
	kt_assertf(strstr(msg, "the plane needs") != NULL, "message: %s", msg);
	kt_assert(vfio_display_map_region(display, VFIO_PCI_BAR2_REGION_INDEX, 4096, &again, NULL,
					  0) == -EOPNOTSUPP);
	kt_assert(vfio_display_map_region(display, 99, 4096, &again, NULL, 0) == -EINVAL);
	kt_log("mdpy: region %" PRIu32 " mapped, both frames exact", info.region_index);

	vfio_display_destroy(display);
	kt_assert(!fd_is_open(fd));
	kt_image_free(&want);
	mdpy_close(&m);
}

int main(void)
{
	if (!vg_mdev_parent_present("mbochs") || !vg_mdev_parent_present("mdpy"))
		kt_skip("no mdev parents mbochs and mdpy (modules vfio, mdev, mbochs, mdpy)");

	test_refusals();
	test_mbochs();
	test_mdpy();
	kt_log("PASS");
	return 0;
}
