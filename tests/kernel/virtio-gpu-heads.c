// SPDX-License-Identifier: MIT
/*
 * virtio-gpu-heads: two heads of one virtio-gpu, each showing its own
 * buffer, checked pixel for pixel on the host's side of the device.
 *
 * Run with two outputs (tests/vm/run --virtio-gpu 2). The second head is
 * forced on through sysfs, each head gets a full atomic modeset with its own
 * dumb buffer and pattern, and then the VMM is asked over QMP for a
 * screendump of each head. The PPM that qemu writes into $VM_ARTEFACTS must
 * equal what was committed (the RGB of XRGB8888) exactly.
 *
 * Ordering: the driver sends the transfers and flushes of a commit to the
 * host's control queue without waiting for them. Before the screendumps a
 * fenced command is queued after them and waited for; the host handles the
 * control queue in order, so it has then shown both frames.
 *
 * Exit 77 when there is no virtio-gpu.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "kmstest.h"
#include "qmp.h"

#define HEADS      2
#define TIMEOUT_MS 10000
#define MAX_WIDTH  1280
#define MAX_HEIGHT 800

struct head {
	struct kt_pipe pipe;   /* connector, CRTC, mode, primary plane */
	char sysfs_status[96]; /* forced on when non-empty */
	struct kt_buffer fb;
	struct kt_image want;
	struct kt_flip flip;
};

/* The QMP relay's character device in the guest. */

static uint32_t card_index(const struct kt_device *dev)
{
	const char *p = strrchr(dev->path, '/');
	unsigned int n;

	kt_assertf(p && sscanf(p, "/card%u", &n) == 1, "not a card node: %s", dev->path);
	return n;
}

/* Lowest CRTC index in mask that is not in *used; marks it used. */
static int take_crtc(uint32_t mask, uint32_t *used)
{
	uint32_t free_mask = mask & ~*used;

	if (!free_mask)
		return -1;
	*used |= free_mask & -free_mask;
	return __builtin_ctz(free_mask);
}

static uint32_t primary_plane(struct kt_device *dev, uint32_t crtc_index)
{
	drmModePlaneRes *res = drmModeGetPlaneResources(dev->fd);
	uint32_t found = 0;

	kt_assert_errno(res);
	for (uint32_t i = 0; i < res->count_planes && !found; i++) {
		drmModePlane *plane = drmModeGetPlane(dev->fd, res->planes[i]);
		uint64_t type;

		if (plane && (plane->possible_crtcs & (1u << crtc_index)) &&
		    kt_prop_get(dev, plane->plane_id, DRM_MODE_OBJECT_PLANE, "type", &type) == 0 &&
		    type == DRM_PLANE_TYPE_PRIMARY)
			found = plane->plane_id;
		drmModeFreePlane(plane);
	}
	drmModeFreePlaneResources(res);
	return found;
}

/*
 * The preferred mode if it fits MAX_WIDTH x MAX_HEIGHT, else the first
 * (largest, in the kernel's order) mode that does: a forced-on head may
 * offer 5K modes, whose screendumps would only cost time.
 */
static drmModeModeInfo pick_mode(const drmModeConnector *conn)
{
	const drmModeModeInfo *fit = NULL;

	for (int m = 0; m < conn->count_modes; m++) {
		const drmModeModeInfo *mode = &conn->modes[m];

		if (mode->hdisplay > MAX_WIDTH || mode->vdisplay > MAX_HEIGHT)
			continue;
		if (mode->type & DRM_MODE_TYPE_PREFERRED)
			return *mode;
		if (!fit)
			fit = mode;
	}
	kt_assertf(fit, "no mode of at most %dx%d", MAX_WIDTH, MAX_HEIGHT);
	return *fit;
}

/*
 * Fill heads[] from the first HEADS virtual connectors, forcing a
 * disconnected one on through /sys/class/drm/cardN-Virtual-M/status.
 */
static void find_heads(struct kt_device *dev, struct head *heads)
{
	drmModeRes *res = drmModeGetResources(dev->fd);
	uint32_t used_crtcs = 0;
	int n = 0;

	kt_assert_errno(res);
	for (int i = 0; i < res->count_connectors && n < HEADS; i++) {
		drmModeConnector *conn = drmModeGetConnector(dev->fd, res->connectors[i]);
		struct head *h = &heads[n];
		uint32_t crtcs = 0;
		int crtc;

		kt_assert_errno(conn);
		if (conn->connector_type != DRM_MODE_CONNECTOR_VIRTUAL) {
			drmModeFreeConnector(conn);
			continue;
		}
		if (conn->connection != DRM_MODE_CONNECTED) {
			snprintf(h->sysfs_status, sizeof(h->sysfs_status),
				 "/sys/class/drm/card%" PRIu32 "-Virtual-%" PRIu32 "/status",
				 card_index(dev), conn->connector_type_id);
			kt_write_file(h->sysfs_status, "on");
			kt_log("forced %s on", h->sysfs_status);
			drmModeFreeConnector(conn);
			conn = drmModeGetConnector(dev->fd, res->connectors[i]);
			kt_assert_errno(conn);
		}
		kt_assertf(conn->connection == DRM_MODE_CONNECTED && conn->count_modes > 0,
			   "Virtual-%" PRIu32 " has no mode", conn->connector_type_id);

		for (int e = 0; e < conn->count_encoders; e++) {
			drmModeEncoder *enc = drmModeGetEncoder(dev->fd, conn->encoders[e]);

			if (enc)
				crtcs |= enc->possible_crtcs;
			drmModeFreeEncoder(enc);
		}
		crtc = take_crtc(crtcs, &used_crtcs);
		kt_assertf(crtc >= 0, "no free CRTC for Virtual-%" PRIu32, conn->connector_type_id);

		h->pipe.connector_id = conn->connector_id;
		h->pipe.crtc_index = (uint32_t)crtc;
		h->pipe.crtc_id = res->crtcs[crtc];
		h->pipe.mode = pick_mode(conn);
		h->pipe.primary_id = primary_plane(dev, h->pipe.crtc_index);
		kt_assert(h->pipe.primary_id);
		kt_log("head %d: Virtual-%" PRIu32 " (connector %" PRIu32 "), crtc %" PRIu32
		       " (index %" PRIu32 "), primary %" PRIu32 ", mode %s",
		       n, conn->connector_type_id, h->pipe.connector_id, h->pipe.crtc_id,
		       h->pipe.crtc_index, h->pipe.primary_id, h->pipe.mode.name);
		drmModeFreeConnector(conn);
		n++;
	}
	drmModeFreeResources(res);
	kt_assertf(n == HEADS, "%d virtual connectors, want %d (run with --virtio-gpu %d)", n,
		   HEADS, HEADS);
}

int main(void)
{
	struct head heads[HEADS];
	const char *artefacts;
	struct kt_device dev;
	struct kt_qmp qmp;
	uint64_t t0;

	memset(heads, 0, sizeof(heads));
	kt_device_open_or_skip(&dev, "virtio_gpu");
	artefacts = getenv("VM_ARTEFACTS");
	kt_assertf(artefacts && *artefacts, "VM_ARTEFACTS is not set");
	find_heads(&dev, heads);

	for (int i = 0; i < HEADS; i++) {
		struct head *h = &heads[i];
		struct kt_atomic req;

		kt_assert_ok(kt_dumb_create(&dev, &h->fb, h->pipe.mode.hdisplay,
					    h->pipe.mode.vdisplay, DRM_FORMAT_XRGB8888));
		kt_assert_ok(kt_image_alloc(&h->want, h->fb.img.width, h->fb.img.height,
					    DRM_FORMAT_XRGB8888));
		kt_fill_pattern(&h->fb.img, 0x76670000u + (uint32_t)i);
		kt_fill_pattern(&h->want, 0x76670000u + (uint32_t)i);

		t0 = kt_now_ns();
		kt_atomic_init(&req, &dev);
		kt_atomic_add_modeset(&req, &dev, &h->pipe);
		kt_atomic_add_plane(&req, h->pipe.primary_id, h->pipe.crtc_id, h->fb.fb_id,
				    h->fb.img.width, h->fb.img.height, 0, 0);
		kt_assert_ok(kt_atomic_commit(
			&req, DRM_MODE_ATOMIC_ALLOW_MODESET | DRM_MODE_PAGE_FLIP_EVENT, &h->flip));
		kt_atomic_finish(&req);
		kt_assert_ok(kt_flip_wait(&dev, &h->flip, TIMEOUT_MS));
		kt_assert(h->flip.crtc_id == h->pipe.crtc_id);
		kt_log("head %d: modeset %ux%u, flip event after %.1f ms", i, h->fb.img.width,
		       h->fb.img.height, (double)(kt_now_ns() - t0) / 1e6);
	}

	t0 = kt_now_ns();
	kt_host_sync(&dev);
	kt_log("host handled the queued commands after %.1f ms", (double)(kt_now_ns() - t0) / 1e6);

	kt_qmp_open(&qmp);
	kt_qmp_execute(&qmp, "qmp_capabilities", NULL);
	for (int i = 0; i < HEADS; i++) {
		struct head *h = &heads[i];
		char what[32];
		struct kt_image got;
		uint64_t bad;

		snprintf(what, sizeof(what), "virtio-gpu-head%d", i);
		t0 = kt_now_ns();
		kt_qmp_screendump(&qmp, h->pipe.crtc_index, what, &got);
		kt_log("head %d: screendump in %.1f ms: %s.ppm", i,
		       (double)(kt_now_ns() - t0) / 1e6, what);
		kt_assertf(got.width == h->want.width && got.height == h->want.height,
			   "head %d: screendump is %ux%u, committed %ux%u", i, got.width,
			   got.height, h->want.width, h->want.height);
		bad = kt_compare(&got, &h->want, 0x00ffffffu, what);
		kt_assertf(bad == 0, "head %d: %" PRIu64 " pixels differ", i, bad);
		kt_image_free(&got);
	}
	close(qmp.fd);

	for (int i = 0; i < HEADS; i++) {
		struct head *h = &heads[i];
		struct kt_atomic req;

		kt_atomic_init(&req, &dev);
		kt_atomic_disable_plane(&req, h->pipe.primary_id);
		kt_atomic_add(&req, h->pipe.crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", 0);
		kt_assert_ok(kt_atomic_commit(&req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL));
		kt_atomic_finish(&req);
		kt_buffer_destroy(&dev, &h->fb);
		kt_image_free(&h->want);
		kt_pipe_finish(&dev, &h->pipe);
		if (h->sysfs_status[0])
			kt_write_file(h->sysfs_status, "detect");
	}
	kt_device_close(&dev);
	kt_log("PASS");
	return 0;
}
