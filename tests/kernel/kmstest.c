// SPDX-License-Identifier: MIT
/*
 * kmstest: helpers for tests against real kernel KMS drivers. See kmstest.h.
 */
#include "kmstest.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/udmabuf.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>

void kt_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s:%d: FAIL: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void kt_check_capture_status(int status)
{
	if (status == -ETIMEDOUT) {
		fflush(stdout);
		fprintf(stderr,
			"the kernel never completed the writeback job: the test bed hung\n");
		exit(KT_EXIT_HUNG);
	}
	kt_assertf(status == 0, "capture failed: %s", strerror(-status));
}

void kt_skip_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s:%d: SKIP: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(KT_SKIP);
}

void kt_log(const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

uint64_t kt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Devices */

static int card_filter(const struct dirent *d)
{
	return strncmp(d->d_name, "card", 4) == 0;
}

static int set_caps(int fd)
{
	if (drmSetClientCap(fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) < 0)
		return -errno;
	if (drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1) < 0)
		return -EOPNOTSUPP;
	/* Drivers without writeback connectors accept this too. */
	if (drmSetClientCap(fd, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1) < 0)
		return -errno;
	return 0;
}

/* Open /dev/dri/name if its driver is driver: 0, -ENODEV if not, or an error. */
static int try_card(struct kt_device *dev, const char *name, const char *driver)
{
	char path[sizeof(dev->path)];
	drmVersion *ver;
	bool match;
	int fd, ret;

	if (snprintf(path, sizeof(path), "/dev/dri/%s", name) >= (int)sizeof(path))
		return -ENODEV;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -ENODEV;
	ver = drmGetVersion(fd);
	match = ver && strcmp(ver->name, driver) == 0;
	drmFreeVersion(ver);
	if (!match) {
		close(fd);
		return -ENODEV;
	}
	ret = set_caps(fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	dev->fd = fd;
	snprintf(dev->path, sizeof(dev->path), "%s", path);
	snprintf(dev->driver, sizeof(dev->driver), "%s", driver);
	return 0;
}

int kt_device_open(struct kt_device *dev, const char *driver)
{
	struct dirent **names;
	int n, ret = -ENODEV;

	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;

	n = scandir("/dev/dri", &names, card_filter, alphasort);
	if (n < 0)
		return -ENODEV;
	for (int i = 0; i < n; i++) {
		if (ret == -ENODEV)
			ret = try_card(dev, names[i]->d_name, driver);
		free(names[i]);
	}
	free(names);
	return ret;
}

void kt_device_open_or_skip(struct kt_device *dev, const char *driver)
{
	int ret = kt_device_open(dev, driver);

	if (ret == -ENODEV)
		kt_skip("no DRM card with driver %s", driver);
	if (ret < 0)
		kt_fail(__FILE__, __LINE__, "opening the %s card: %s", driver, strerror(-ret));
	kt_log("%s: driver %s", dev->path, dev->driver);
}

void kt_device_close(struct kt_device *dev)
{
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}

/* Properties */

static int prop_find(struct kt_device *dev, uint32_t obj_id, uint32_t obj_type, const char *name,
		     uint32_t *prop_id, uint64_t *value)
{
	drmModeObjectProperties *props;
	int ret = -ENOENT;

	props = drmModeObjectGetProperties(dev->fd, obj_id, obj_type);
	if (!props)
		return -errno;
	for (uint32_t i = 0; i < props->count_props && ret == -ENOENT; i++) {
		drmModePropertyRes *prop = drmModeGetProperty(dev->fd, props->props[i]);

		if (!prop)
			continue;
		if (strcmp(prop->name, name) == 0) {
			*prop_id = prop->prop_id;
			*value = props->prop_values[i];
			ret = 0;
		}
		drmModeFreeProperty(prop);
	}
	drmModeFreeObjectProperties(props);
	return ret;
}

uint32_t kt_prop_id(struct kt_device *dev, uint32_t obj_id, uint32_t obj_type, const char *name)
{
	uint32_t id;
	uint64_t value;

	return prop_find(dev, obj_id, obj_type, name, &id, &value) < 0 ? 0 : id;
}

int kt_prop_get(struct kt_device *dev, uint32_t obj_id, uint32_t obj_type, const char *name,
		uint64_t *value)
{
	uint32_t id;

	return prop_find(dev, obj_id, obj_type, name, &id, value);
}

/* Atomic requests */

void kt_atomic_init(struct kt_atomic *a, struct kt_device *dev)
{
	memset(a, 0, sizeof(*a));
	a->dev = dev;
	a->req = drmModeAtomicAlloc();
	if (!a->req) {
		a->err = -ENOMEM;
		snprintf(a->err_what, sizeof(a->err_what), "drmModeAtomicAlloc");
	}
}

static void atomic_set_error(struct kt_atomic *a, int err, uint32_t obj_id, const char *name)
{
	if (a->err)
		return;
	a->err = err;
	snprintf(a->err_what, sizeof(a->err_what), "object %" PRIu32 " property %s", obj_id, name);
}

void kt_atomic_add(struct kt_atomic *a, uint32_t obj_id, uint32_t obj_type, const char *name,
		   uint64_t value)
{
	uint32_t prop_id;
	int ret;

	if (a->err)
		return;
	prop_id = kt_prop_id(a->dev, obj_id, obj_type, name);
	if (!prop_id) {
		atomic_set_error(a, -ENOENT, obj_id, name);
		return;
	}
	ret = drmModeAtomicAddProperty(a->req, obj_id, prop_id, value);
	if (ret < 0)
		atomic_set_error(a, ret, obj_id, name);
}

int kt_atomic_commit(struct kt_atomic *a, uint32_t flags, void *user_data)
{
	int ret;

	if (a->err) {
		fprintf(stderr, "atomic request not committed: %s: %s\n", a->err_what,
			strerror(-a->err));
		return a->err;
	}
	ret = drmModeAtomicCommit(a->dev->fd, a->req, flags, user_data);
	if (ret < 0 && !(flags & DRM_MODE_ATOMIC_TEST_ONLY))
		fprintf(stderr, "atomic commit (flags 0x%" PRIx32 ") failed: %s\n", flags,
			strerror(-ret));
	return ret;
}

void kt_atomic_finish(struct kt_atomic *a)
{
	drmModeAtomicFree(a->req);
	a->req = NULL;
}

/* Images */

int kt_image_alloc(struct kt_image *img, uint32_t width, uint32_t height, uint32_t format)
{
	memset(img, 0, sizeof(*img));
	img->data = calloc((size_t)width * height, 4);
	if (!img->data)
		return -ENOMEM;
	img->width = width;
	img->height = height;
	img->stride = width * 4;
	img->format = format;
	return 0;
}

void kt_image_free(struct kt_image *img)
{
	free(img->data);
	img->data = NULL;
}

void kt_fill_rect(struct kt_image *img, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
		  uint32_t value)
{
	uint32_t x_end = x + w < img->width ? x + w : img->width;
	uint32_t y_end = y + h < img->height ? y + h : img->height;

	for (uint32_t j = y; j < y_end; j++)
		for (uint32_t i = x; i < x_end; i++)
			*kt_pixel(img, i, j) = value;
}

static uint32_t hash32(uint32_t v)
{
	v ^= v >> 16;
	v *= 0x7feb352du;
	v ^= v >> 15;
	v *= 0x846ca68bu;
	v ^= v >> 16;
	return v;
}

void kt_fill_pattern(struct kt_image *img, uint32_t seed)
{
	for (uint32_t y = 0; y < img->height; y++)
		for (uint32_t x = 0; x < img->width; x++)
			*kt_pixel(img, x, y) =
				0xff000000u | (hash32(seed ^ hash32(y * 65537u + x)) & 0x00ffffffu);
}

int kt_save_ppm(const struct kt_image *img, const char *name)
{
	const char *dir = getenv("VM_ARTEFACTS");
	char path[4096];
	uint8_t *row;
	FILE *f;
	int ret = 0;

	if (!dir || !*dir)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s.ppm", dir, name);
	f = fopen(path, "wbe");
	if (!f)
		return -errno;
	row = malloc((size_t)img->width * 3);
	if (!row) {
		fclose(f);
		return -ENOMEM;
	}
	fprintf(f, "P6\n%" PRIu32 " %" PRIu32 "\n255\n", img->width, img->height);
	for (uint32_t y = 0; y < img->height && ret == 0; y++) {
		for (uint32_t x = 0; x < img->width; x++) {
			uint32_t p = *kt_pixel(img, x, y);

			row[x * 3 + 0] = (uint8_t)(p >> 16);
			row[x * 3 + 1] = (uint8_t)(p >> 8);
			row[x * 3 + 2] = (uint8_t)p;
		}
		if (fwrite(row, 3, img->width, f) != img->width)
			ret = -EIO;
	}
	free(row);
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	if (ret == 0)
		kt_log("saved %s", path);
	return ret;
}

static void save_failure_images(const struct kt_image *got, const struct kt_image *want,
				uint32_t mask, const char *what)
{
	struct kt_image diff;
	char name[256];

	snprintf(name, sizeof(name), "%s-got", what);
	if (kt_save_ppm(got, name) == -ENOENT)
		return;
	snprintf(name, sizeof(name), "%s-want", what);
	kt_save_ppm(want, name);

	/* Differing pixels white, equal ones a dimmed copy of want. */
	if (kt_image_alloc(&diff, want->width, want->height, DRM_FORMAT_XRGB8888) < 0)
		return;
	for (uint32_t y = 0; y < want->height; y++) {
		for (uint32_t x = 0; x < want->width; x++) {
			uint32_t w = *kt_pixel(want, x, y);
			bool same = ((*kt_pixel(got, x, y) ^ w) & mask) == 0;

			*kt_pixel(&diff, x, y) = same ? (w >> 2) & 0x3f3f3f : 0xffffff;
		}
	}
	snprintf(name, sizeof(name), "%s-diff", what);
	kt_save_ppm(&diff, name);
	kt_image_free(&diff);
}

uint64_t kt_compare(const struct kt_image *got, const struct kt_image *want, uint32_t mask,
		    const char *what)
{
	uint64_t total = (uint64_t)want->width * want->height;
	uint64_t differ = 0;
	uint32_t fx = 0, fy = 0, fgot = 0, fwant = 0;

	kt_assertf(got->width == want->width && got->height == want->height,
		   "%s: comparing %" PRIu32 "x%" PRIu32 " with %" PRIu32 "x%" PRIu32, what,
		   got->width, got->height, want->width, want->height);

	for (uint32_t y = 0; y < want->height; y++) {
		for (uint32_t x = 0; x < want->width; x++) {
			uint32_t g = *kt_pixel(got, x, y) & mask;
			uint32_t w = *kt_pixel(want, x, y) & mask;

			if (g == w)
				continue;
			if (differ++ == 0) {
				fx = x;
				fy = y;
				fgot = g;
				fwant = w;
			}
		}
	}

	kt_log("%s: %" PRIu64 " of %" PRIu32 "x%" PRIu32 " = %" PRIu64 " pixels differ", what,
	       differ, want->width, want->height, total);
	if (differ) {
		kt_log("%s: first mismatch at (%" PRIu32 ", %" PRIu32 "): got 0x%08" PRIx32
		       ", want 0x%08" PRIx32 " (mask 0x%08" PRIx32 ")",
		       what, fx, fy, fgot, fwant, mask);
		save_failure_images(got, want, mask, what);
	}
	return differ;
}

/* Buffers */

static int fb_add(struct kt_device *dev, struct kt_buffer *buf)
{
	uint32_t handles[4] = {buf->handle};
	uint32_t pitches[4] = {buf->img.stride};
	uint32_t offsets[4] = {0};

	return drmModeAddFB2(dev->fd, buf->img.width, buf->img.height, buf->img.format, handles,
			     pitches, offsets, &buf->fb_id, 0);
}

int kt_dumb_create(struct kt_device *dev, struct kt_buffer *buf, uint32_t width, uint32_t height,
		   uint32_t format)
{
	uint32_t stride;
	uint64_t offset;
	void *map;
	int ret;

	memset(buf, 0, sizeof(*buf));
	if (format != DRM_FORMAT_XRGB8888 && format != DRM_FORMAT_ARGB8888)
		return -EINVAL;

	ret = drmModeCreateDumbBuffer(dev->fd, width, height, 32, 0, &buf->handle, &stride,
				      &buf->size);
	if (ret < 0)
		return ret;
	buf->dumb = true;
	buf->img.width = width;
	buf->img.height = height;
	buf->img.stride = stride;
	buf->img.format = format;

	ret = drmModeMapDumbBuffer(dev->fd, buf->handle, &offset);
	if (ret < 0)
		goto error_buffer;
	map = mmap(NULL, buf->size, PROT_READ | PROT_WRITE, MAP_SHARED, dev->fd, (off_t)offset);
	if (map == MAP_FAILED) {
		ret = -errno;
		goto error_buffer;
	}
	buf->img.data = map;
	memset(map, 0, buf->size);

	ret = fb_add(dev, buf);
	if (ret < 0)
		goto error_buffer;
	return 0;

error_buffer:
	kt_buffer_destroy(dev, buf);
	return ret;
}

int kt_buffer_import(struct kt_device *dev, struct kt_buffer *buf, int dmabuf_fd, uint32_t width,
		     uint32_t height, uint32_t format, uint32_t stride)
{
	int ret;

	memset(buf, 0, sizeof(*buf));
	if (drmPrimeFDToHandle(dev->fd, dmabuf_fd, &buf->handle) < 0)
		return -errno;
	buf->img.width = width;
	buf->img.height = height;
	buf->img.stride = stride;
	buf->img.format = format;
	buf->size = (uint64_t)stride * height;

	ret = fb_add(dev, buf);
	if (ret < 0)
		kt_buffer_destroy(dev, buf);
	return ret;
}

void kt_buffer_destroy(struct kt_device *dev, struct kt_buffer *buf)
{
	if (buf->fb_id)
		drmModeRmFB(dev->fd, buf->fb_id);
	if (buf->dumb && buf->img.data)
		munmap(buf->img.data, buf->size);
	if (buf->handle && buf->dumb)
		drmModeDestroyDumbBuffer(dev->fd, buf->handle);
	else if (buf->handle)
		drmCloseBufferHandle(dev->fd, buf->handle);
	memset(buf, 0, sizeof(*buf));
}

/* Pipes */

static bool plane_type(struct kt_device *dev, uint32_t plane_id, uint64_t *type)
{
	return kt_prop_get(dev, plane_id, DRM_MODE_OBJECT_PLANE, "type", type) == 0;
}

/* Bitmask of CRTC indices any encoder of conn can drive. */
static uint32_t connector_crtcs(struct kt_device *dev, const drmModeConnector *conn)
{
	uint32_t mask = 0;

	for (int i = 0; i < conn->count_encoders; i++) {
		drmModeEncoder *enc = drmModeGetEncoder(dev->fd, conn->encoders[i]);

		if (enc)
			mask |= enc->possible_crtcs;
		drmModeFreeEncoder(enc);
	}
	return mask;
}

static void find_connector(struct kt_device *dev, const drmModeRes *res, struct kt_pipe *pipe)
{
	for (int i = 0; i < res->count_connectors && !pipe->connector_id; i++) {
		drmModeConnector *conn = drmModeGetConnector(dev->fd, res->connectors[i]);
		uint32_t crtcs;

		if (!conn)
			continue;
		crtcs = connector_crtcs(dev, conn);
		if (conn->connector_type != DRM_MODE_CONNECTOR_WRITEBACK &&
		    conn->connection == DRM_MODE_CONNECTED && conn->count_modes > 0 && crtcs) {
			pipe->connector_id = conn->connector_id;
			pipe->crtc_index = (uint32_t)__builtin_ctz(crtcs);
			pipe->crtc_id = res->crtcs[pipe->crtc_index];
			pipe->mode = conn->modes[0];
			for (int m = 0; m < conn->count_modes; m++) {
				if (conn->modes[m].type & DRM_MODE_TYPE_PREFERRED) {
					pipe->mode = conn->modes[m];
					break;
				}
			}
		}
		drmModeFreeConnector(conn);
	}
}

static void find_writeback(struct kt_device *dev, const drmModeRes *res, struct kt_pipe *pipe)
{
	for (int i = 0; i < res->count_connectors && !pipe->writeback_id; i++) {
		drmModeConnector *conn = drmModeGetConnector(dev->fd, res->connectors[i]);

		if (!conn)
			continue;
		if (conn->connector_type == DRM_MODE_CONNECTOR_WRITEBACK &&
		    (connector_crtcs(dev, conn) & (1u << pipe->crtc_index)))
			pipe->writeback_id = conn->connector_id;
		drmModeFreeConnector(conn);
	}
}

static void find_planes(struct kt_device *dev, struct kt_pipe *pipe)
{
	drmModePlaneRes *planes = drmModeGetPlaneResources(dev->fd);

	if (!planes)
		return;
	for (uint32_t i = 0; i < planes->count_planes; i++) {
		drmModePlane *plane = drmModeGetPlane(dev->fd, planes->planes[i]);
		uint64_t type;

		if (!plane)
			continue;
		if ((plane->possible_crtcs & (1u << pipe->crtc_index)) &&
		    plane_type(dev, plane->plane_id, &type)) {
			if (type == DRM_PLANE_TYPE_PRIMARY && !pipe->primary_id)
				pipe->primary_id = plane->plane_id;
			else if (type == DRM_PLANE_TYPE_CURSOR && !pipe->cursor_id)
				pipe->cursor_id = plane->plane_id;
			else if (type == DRM_PLANE_TYPE_OVERLAY && pipe->n_overlays < KT_MAX_PLANES)
				pipe->overlay_ids[pipe->n_overlays++] = plane->plane_id;
		}
		drmModeFreePlane(plane);
	}
	drmModeFreePlaneResources(planes);
}

int kt_pipe_find(struct kt_device *dev, struct kt_pipe *pipe)
{
	drmModeRes *res;

	memset(pipe, 0, sizeof(*pipe));
	res = drmModeGetResources(dev->fd);
	if (!res)
		return -errno;
	find_connector(dev, res, pipe);
	if (pipe->connector_id) {
		find_writeback(dev, res, pipe);
		find_planes(dev, pipe);
	}
	drmModeFreeResources(res);
	if (!pipe->connector_id || !pipe->primary_id)
		return -ENOENT;

	kt_log("pipe: connector %" PRIu32 ", crtc %" PRIu32 " (index %" PRIu32 "), mode %s, "
	       "primary %" PRIu32 ", %u overlays, cursor %" PRIu32 ", writeback %" PRIu32,
	       pipe->connector_id, pipe->crtc_id, pipe->crtc_index, pipe->mode.name,
	       pipe->primary_id, pipe->n_overlays, pipe->cursor_id, pipe->writeback_id);
	return 0;
}

void kt_pipe_finish(struct kt_device *dev, struct kt_pipe *pipe)
{
	if (pipe->mode_blob)
		drmModeDestroyPropertyBlob(dev->fd, pipe->mode_blob);
	pipe->mode_blob = 0;
}

void kt_atomic_add_modeset(struct kt_atomic *a, struct kt_device *dev, struct kt_pipe *pipe)
{
	if (!pipe->mode_blob) {
		int ret = drmModeCreatePropertyBlob(dev->fd, &pipe->mode, sizeof(pipe->mode),
						    &pipe->mode_blob);

		if (ret < 0) {
			atomic_set_error(a, ret, pipe->crtc_id, "MODE_ID (creating the blob)");
			return;
		}
	}
	kt_atomic_add(a, pipe->connector_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", pipe->crtc_id);
	kt_atomic_add(a, pipe->crtc_id, DRM_MODE_OBJECT_CRTC, "MODE_ID", pipe->mode_blob);
	kt_atomic_add(a, pipe->crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", 1);
}

void kt_atomic_add_plane(struct kt_atomic *a, uint32_t plane_id, uint32_t crtc_id, uint32_t fb_id,
			 uint32_t fb_w, uint32_t fb_h, int32_t crtc_x, int32_t crtc_y)
{
	const uint32_t type = DRM_MODE_OBJECT_PLANE;

	kt_atomic_add(a, plane_id, type, "FB_ID", fb_id);
	kt_atomic_add(a, plane_id, type, "CRTC_ID", crtc_id);
	kt_atomic_add(a, plane_id, type, "SRC_X", 0);
	kt_atomic_add(a, plane_id, type, "SRC_Y", 0);
	kt_atomic_add(a, plane_id, type, "SRC_W", (uint64_t)fb_w << 16);
	kt_atomic_add(a, plane_id, type, "SRC_H", (uint64_t)fb_h << 16);
	kt_atomic_add(a, plane_id, type, "CRTC_X", (uint64_t)(int64_t)crtc_x);
	kt_atomic_add(a, plane_id, type, "CRTC_Y", (uint64_t)(int64_t)crtc_y);
	kt_atomic_add(a, plane_id, type, "CRTC_W", fb_w);
	kt_atomic_add(a, plane_id, type, "CRTC_H", fb_h);
}

void kt_atomic_disable_plane(struct kt_atomic *a, uint32_t plane_id)
{
	kt_atomic_add(a, plane_id, DRM_MODE_OBJECT_PLANE, "FB_ID", 0);
	kt_atomic_add(a, plane_id, DRM_MODE_OBJECT_PLANE, "CRTC_ID", 0);
}

/* Writeback and events */

void kt_atomic_add_writeback(struct kt_atomic *a, const struct kt_pipe *pipe,
			     const struct kt_buffer *out, int *fence_fd)
{
	const uint32_t type = DRM_MODE_OBJECT_CONNECTOR;

	*fence_fd = -1;
	if (!pipe->writeback_id) {
		atomic_set_error(a, -ENOENT, pipe->crtc_id, "(no writeback connector)");
		return;
	}
	kt_atomic_add(a, pipe->writeback_id, type, "CRTC_ID", pipe->crtc_id);
	kt_atomic_add(a, pipe->writeback_id, type, "WRITEBACK_FB_ID", out->fb_id);
	kt_atomic_add(a, pipe->writeback_id, type, "WRITEBACK_OUT_FENCE_PTR",
		      (uint64_t)(uintptr_t)fence_fd);
}

static int remaining_ms(uint64_t deadline_ns)
{
	uint64_t now = kt_now_ns();

	if (now >= deadline_ns)
		return 0;
	return (int)((deadline_ns - now + 999999) / 1000000);
}

int kt_fence_wait(int fence_fd, int timeout_ms)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct pollfd pfd = {.fd = fence_fd, .events = POLLIN};

	if (fence_fd < 0)
		return -EINVAL;
	for (;;) {
		int n = poll(&pfd, 1, remaining_ms(deadline));

		if (n > 0)
			return (pfd.revents & (POLLERR | POLLNVAL)) ? -EIO : 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int kt_capture(struct kt_device *dev, const struct kt_pipe *pipe, struct kt_buffer *out,
	       int timeout_ms)
{
	struct kt_atomic a;
	int fence_fd = -1;
	int ret;

	kt_atomic_init(&a, dev);
	kt_atomic_add_writeback(&a, pipe, out, &fence_fd);
	ret = kt_atomic_commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL);
	kt_atomic_finish(&a);
	if (ret < 0)
		return ret;
	ret = kt_fence_wait(fence_fd, timeout_ms);
	close(fence_fd);
	return ret;
}

static void page_flip_handler(int fd, unsigned int sequence, unsigned int tv_sec,
			      unsigned int tv_usec, unsigned int crtc_id, void *user_data)
{
	struct kt_flip *flip = user_data;

	(void)fd;
	if (!flip)
		return;
	flip->done = true;
	flip->crtc_id = crtc_id;
	flip->sequence = sequence;
	flip->time_ns = (uint64_t)tv_sec * 1000000000u + (uint64_t)tv_usec * 1000u;
}

int kt_flip_wait(struct kt_device *dev, struct kt_flip *flip, int timeout_ms)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)timeout_ms * 1000000u;
	drmEventContext ctx = {
		.version = 3,
		.page_flip_handler2 = page_flip_handler,
	};
	struct pollfd pfd = {.fd = dev->fd, .events = POLLIN};

	while (!flip->done) {
		int n = poll(&pfd, 1, remaining_ms(deadline));

		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (drmHandleEvent(dev->fd, &ctx) < 0)
			return -EIO;
	}
	return 0;
}

void kt_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	kt_assertf(fd >= 0, "%s: %s", path, strerror(errno));
	size_t len = strlen(text);
	kt_assertf(write(fd, text, len) == (ssize_t)len, "%s: %s", path, strerror(errno));
	kt_assertf(close(fd) == 0, "%s: %s", path, strerror(errno));
}

char *kt_read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	kt_assertf(f != NULL, "%s: %s", path, strerror(errno));
	size_t cap = 65536, len = 0, n;
	char *text = malloc(cap);
	kt_assert(text != NULL);
	while ((n = fread(text + len, 1, cap - 1 - len, f)) > 0) {
		len += n;
		if (len == cap - 1) {
			cap *= 2;
			text = realloc(text, cap);
			kt_assert(text != NULL);
		}
	}
	kt_assertf(!ferror(f), "%s: read error", path);
	fclose(f);
	text[len] = '\0';
	return text;
}

void kt_connector_force(const struct kt_device *dev, const char *connector, const char *status)
{
	unsigned int card;
	kt_assert(sscanf(strrchr(dev->path, '/'), "/card%u", &card) == 1);
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/drm/card%u-%s/status", card, connector);
	kt_write_file(path, status);
}

void kt_udmabuf_create(struct kt_udmabuf *u, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size = (size + page - 1) / page * page;

	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0 && errno == ENOENT)
		kt_skip("/dev/udmabuf is absent (--modprobe udmabuf)");
	kt_assert_errno(dev >= 0);

	u->size = size;
	u->memfd = memfd_create("vscanout-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	kt_assert_errno(u->memfd >= 0);
	kt_assert_errno(ftruncate(u->memfd, (off_t)size) == 0);
	kt_assert_errno(fcntl(u->memfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
	u->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, u->memfd, 0);
	kt_assert_errno(u->map != MAP_FAILED);

	struct udmabuf_create create = {
		.memfd = (uint32_t)u->memfd,
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.size = size,
	};
	u->fd = ioctl(dev, UDMABUF_CREATE, &create);
	kt_assert_errno(u->fd >= 0);
	close(dev);
}

void kt_udmabuf_destroy(struct kt_udmabuf *u)
{
	if (u->map != NULL && u->map != MAP_FAILED)
		munmap(u->map, u->size);
	if (u->fd > 0)
		close(u->fd);
	if (u->memfd > 0)
		close(u->memfd);
	memset(u, 0, sizeof(*u));
}
