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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <linux/virtio_gpu.h>
#include <virtgpu_drm.h>

#include "kmstest.h"

#define HEADS          2
#define TIMEOUT_MS     10000
#define QMP_LINE_MAX   4096
#define PPM_HEADER_MAX 64
#define MAX_WIDTH      1280
#define MAX_HEIGHT     800

struct head {
	struct kt_pipe pipe;   /* connector, CRTC, mode, primary plane */
	char sysfs_status[96]; /* forced on when non-empty */
	struct kt_buffer fb;
	struct kt_image want;
	struct kt_flip flip;
};

/* The QMP relay's character device in the guest. */
struct qmp {
	int fd;
	char buf[QMP_LINE_MAX];
	size_t len;
	unsigned int next_id;
};

static uint32_t card_index(const struct kt_device *dev)
{
	const char *p = strrchr(dev->path, '/');
	unsigned int n;

	kt_assertf(p && sscanf(p, "/card%u", &n) == 1, "not a card node: %s", dev->path);
	return n;
}

static void write_sysfs(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	kt_assertf(fd >= 0, "%s: %s", path, strerror(errno));
	kt_assertf(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "%s: %s", path,
		   strerror(errno));
	close(fd);
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
			write_sysfs(h->sysfs_status, "on");
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

/*
 * Wait until the host has handled every control command queued so far: a
 * resource created with a fence, a transfer to kick the queue, and a wait on
 * the resource's fence.
 */
static void host_sync(struct kt_device *dev)
{
	struct drm_virtgpu_resource_create rc = {
		.target = 2, /* PIPE_TEXTURE_2D, the only target without 3D */
		.format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
		.width = 1,
		.height = 1,
		.depth = 1,
		.array_size = 1,
	};
	struct drm_virtgpu_3d_transfer_to_host xfer = {0};
	struct drm_virtgpu_3d_wait wait = {0};

	kt_assert_errno(drmIoctl(dev->fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE, &rc) == 0);
	xfer.bo_handle = rc.bo_handle;
	xfer.box.w = 1;
	xfer.box.h = 1;
	xfer.box.d = 1;
	kt_assert_errno(drmIoctl(dev->fd, DRM_IOCTL_VIRTGPU_TRANSFER_TO_HOST, &xfer) == 0);
	wait.handle = rc.bo_handle;
	kt_assert_errno(drmIoctl(dev->fd, DRM_IOCTL_VIRTGPU_WAIT, &wait) == 0);
	kt_assert_errno(drmCloseBufferHandle(dev->fd, rc.bo_handle) == 0);
}

static void qmp_open(struct qmp *q)
{
	const char *path = getenv("VM_QMP");
	struct termios tio;

	kt_assertf(path && *path, "VM_QMP is not set (the runner's --virtio-gpu gives it)");
	q->fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	kt_assertf(q->fd >= 0, "%s: %s", path, strerror(errno));
	/* A console port would echo the replies back to the monitor. */
	if (tcgetattr(q->fd, &tio) == 0) {
		cfmakeraw(&tio);
		kt_assert_errno(tcsetattr(q->fd, TCSANOW, &tio) == 0);
	}
	q->len = 0;
	q->next_id = 1;
}

/* Read one reply line into line (NUL-terminated, without the newline). */
static void qmp_read_line(struct qmp *q, char *line, size_t size, uint64_t deadline_ns)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd pfd = {.fd = q->fd, .events = POLLIN};
		uint64_t now = kt_now_ns();
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - q->buf);

			kt_assert(l < size);
			memcpy(line, q->buf, l);
			line[l] = '\0';
			memmove(q->buf, nl + 1, q->len - l - 1);
			q->len -= l + 1;
			return;
		}
		kt_assertf(q->len < sizeof(q->buf), "QMP reply longer than %zu bytes",
			   sizeof(q->buf));
		kt_assertf(now < deadline_ns, "no QMP reply within %d ms", TIMEOUT_MS);
		n = poll(&pfd, 1, (int)((deadline_ns - now) / 1000000u) + 1);
		if (n < 0 && errno == EINTR)
			continue;
		kt_assert_errno(n >= 0);
		if (n == 0)
			continue;
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		kt_assert_errno(n >= 0);
		kt_assertf(n > 0, "QMP channel closed");
		q->len += (size_t)n;
	}
}

/*
 * Send one command, {"execute": execute, "arguments": arguments} (arguments
 * may be NULL), and fail unless its reply is a "return".
 */
static void qmp_execute(struct qmp *q, const char *execute, const char *arguments)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TIMEOUT_MS * 1000000u;
	char cmd[1024], reply[QMP_LINE_MAX], id[32];
	size_t off = 0;
	int len;

	snprintf(id, sizeof(id), "\"vscanout-%u\"", q->next_id++);
	len = snprintf(cmd, sizeof(cmd), "{\"execute\": \"%s\"%s%s, \"id\": %s}\n", execute,
		       arguments ? ", \"arguments\": " : "", arguments ? arguments : "", id);
	kt_assert(len > 0 && (size_t)len < sizeof(cmd));
	while (off < (size_t)len) {
		ssize_t n = write(q->fd, cmd + off, (size_t)len - off);

		if (n < 0 && errno == EINTR)
			continue;
		kt_assert_errno(n > 0);
		off += (size_t)n;
	}
	qmp_read_line(q, reply, sizeof(reply), deadline);
	kt_assertf(strstr(reply, "\"return\"") && strstr(reply, id), "QMP %s: %s", execute, reply);
}

/* Skip whitespace and '#' comments of a PPM header, then read a number. */
static unsigned long ppm_number(const char *hdr, size_t len, size_t *pos)
{
	unsigned long v = 0;
	bool digits = false;

	for (;;) {
		kt_assertf(*pos < len, "truncated PPM header");
		if (hdr[*pos] == '#') {
			while (*pos < len && hdr[*pos] != '\n')
				(*pos)++;
		} else if (hdr[*pos] == ' ' || hdr[*pos] == '\t' || hdr[*pos] == '\n' ||
			   hdr[*pos] == '\r') {
			(*pos)++;
		} else {
			break;
		}
	}
	while (*pos < len && hdr[*pos] >= '0' && hdr[*pos] <= '9') {
		v = v * 10 + (unsigned long)(hdr[*pos] - '0');
		kt_assertf(v < 1u << 20, "PPM number too large");
		digits = true;
		(*pos)++;
	}
	kt_assertf(digits, "bad PPM header");
	return v;
}

/* Load a binary PPM (P6, maxval 255) into an XRGB8888 image. */
static void ppm_load(const char *path, struct kt_image *img)
{
	unsigned long w, h, maxval;
	char hdr[PPM_HEADER_MAX];
	size_t pos = 2, row_bytes;
	uint8_t *row;
	ssize_t n;
	FILE *f;

	f = fopen(path, "rbe");
	kt_assertf(f, "%s: %s", path, strerror(errno));
	n = (ssize_t)fread(hdr, 1, sizeof(hdr), f);
	kt_assertf(n > 2 && hdr[0] == 'P' && hdr[1] == '6', "%s: not a binary PPM", path);
	w = ppm_number(hdr, (size_t)n, &pos);
	h = ppm_number(hdr, (size_t)n, &pos);
	maxval = ppm_number(hdr, (size_t)n, &pos);
	kt_assertf(maxval == 255, "%s: maxval %lu", path, maxval);
	kt_assertf(pos < (size_t)n, "%s: truncated header", path);
	pos++; /* the single whitespace byte before the raster */
	kt_assert(fseek(f, (long)pos, SEEK_SET) == 0);

	kt_assert_ok(kt_image_alloc(img, (uint32_t)w, (uint32_t)h, DRM_FORMAT_XRGB8888));
	row_bytes = (size_t)w * 3;
	row = malloc(row_bytes);
	kt_assert(row);
	for (uint32_t y = 0; y < h; y++) {
		kt_assertf(fread(row, 1, row_bytes, f) == row_bytes, "%s: short raster at row %u",
			   path, y);
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *p = row + 3 * (size_t)x;

			*kt_pixel(img, x, y) =
				0xff000000u | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		}
	}
	kt_assertf(fgetc(f) == EOF, "%s: data after the raster", path);
	free(row);
	fclose(f);
}

int main(void)
{
	struct head heads[HEADS];
	const char *artefacts;
	struct kt_device dev;
	struct qmp qmp;
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
	host_sync(&dev);
	kt_log("host handled the queued commands after %.1f ms", (double)(kt_now_ns() - t0) / 1e6);

	qmp_open(&qmp);
	qmp_execute(&qmp, "qmp_capabilities", NULL);
	for (int i = 0; i < HEADS; i++) {
		struct head *h = &heads[i];
		char path[512], args[700], what[32];
		struct kt_image got;
		uint64_t bad;

		snprintf(what, sizeof(what), "virtio-gpu-head%d", i);
		kt_assert((size_t)snprintf(path, sizeof(path), "%s/%s.ppm", artefacts, what) <
			  sizeof(path));
		snprintf(args, sizeof(args),
			 "{\"filename\": \"%s\", \"device\": \"gpu0\", \"head\": %" PRIu32 "}",
			 path, h->pipe.crtc_index);
		t0 = kt_now_ns();
		qmp_execute(&qmp, "screendump", args);
		kt_log("head %d: screendump in %.1f ms: %s", i, (double)(kt_now_ns() - t0) / 1e6,
		       path);

		ppm_load(path, &got);
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
			write_sysfs(h->sysfs_status, "detect");
	}
	kt_device_close(&dev);
	kt_log("PASS");
	return 0;
}
