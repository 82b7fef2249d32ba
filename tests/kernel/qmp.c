// SPDX-License-Identifier: MIT
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

#include "qmp.h"

#define QMP_TIMEOUT_MS 10000
#define PPM_HEADER_MAX 64

/*
 * Wait until the host has handled every control command queued so far: a
 * resource created with a fence, a transfer to kick the queue, and a wait on
 * the resource's fence.
 */
void kt_host_sync(struct kt_device *dev)
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

void kt_qmp_open(struct kt_qmp *q)
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
static void qmp_read_line(struct kt_qmp *q, char *line, size_t size, uint64_t deadline_ns)
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
		kt_assertf(now < deadline_ns, "no QMP reply within %d ms", QMP_TIMEOUT_MS);
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
void kt_qmp_execute(struct kt_qmp *q, const char *execute, const char *arguments)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)QMP_TIMEOUT_MS * 1000000u;
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
void kt_ppm_load(const char *path, struct kt_image *img)
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

void kt_qmp_screendump(struct kt_qmp *q, uint32_t head, const char *name, struct kt_image *img)
{
	const char *artefacts = getenv("VM_ARTEFACTS");
	kt_assertf(artefacts != NULL && *artefacts != '\0', "VM_ARTEFACTS is not set");
	char path[512], args[700];
	kt_assert((size_t)snprintf(path, sizeof(path), "%s/%s.ppm", artefacts, name) <
		  sizeof(path));
	snprintf(args, sizeof(args),
		 "{\"filename\": \"%s\", \"device\": \"gpu0\", \"head\": %" PRIu32 "}", path, head);
	kt_qmp_execute(q, "screendump", args);
	kt_ppm_load(path, img);
}
