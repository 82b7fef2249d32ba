// SPDX-License-Identifier: MIT
/*
 * What a screenshot costs the daemon's event loop, on vkms at 1920x1080
 * with writeback, the daemon's code in this process and vscanoutctl (the
 * real binary, argv[1]) in children. A client shows the demo's picture
 * (the simulated guest's, tools/vscanout-sim-vmm/draw.c).
 *
 * For SHOTS screenshots the daemon logs, at debug level, the time it spent
 * handing the pixels over (pwrite into the client's memfd, seals); this
 * test reads those lines and prints their median next to, measured in the
 * same run on the same frame read as the daemon reads a capture (a dumb
 * buffer of the device, freshly mapped):
 *  - the floor: a bare memcpy of the frame into fresh memory;
 *  - the work of the stored-block PNG encoder the daemon ran before
 *    (colour bytes out of each pixel, CRC-32 and Adler-32 over them with
 *    zlib's fast checksums, the write into a memfd): a lower bound of
 *    what it cost the loop then (about 19 ms for this frame on a host).
 * It fails when the hand-over takes more than 6 times the floor plus 2 ms
 * (more than a copy), or when a PNG is not well below the raw size (a
 * tenth), or its pixels are not the picture. Under TCG a kernel copy into
 * new shmem pages is as slow as the old encoder's byte loops, so the ratio
 * to the old encoder's work is printed here and held on the host by the
 * unit test control-handover.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wayland-server-core.h>
#include <zlib.h>

#include <drm_fourcc.h>
#include <xf86drm.h>

#include "../../tools/vscanout-sim-vmm/draw.h"
#include "../protocol/client.h"
#include "common.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "helpers.h"
#include "kms/device.h"
#include "kms/output.h"
#include "kmstest.h"
#include "png-decode.h"

#define SOCKET_DIR  "/tmp/vscanout-screenshot-bench"
#define SOCKET_PATH SOCKET_DIR "/vscanout-0"
#define PNG_PATH    "/tmp/vscanout-screenshot-bench.png"
#define WIDTH       1920
#define HEIGHT      1080
#define SHOTS       5
#define FRAME       1234

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[output Virtual-1]\n"
				  "vgpu = a\n"
				  "mode = 1920x1080\n"
				  "[vgpu a]\n";

static struct daemon *daemon_;
static int report_fd, go_fd;

/* Hand-over times the daemon logged, in microseconds. */
static double handed[64];
static int n_handed;

static void sink(enum log_level level, const char *line, void *data)
{
	const char *p = strstr(line, " us");
	const char *q = strstr(line, "handed over in ");
	if (q != NULL && p != NULL && n_handed < 64)
		handed[n_handed++] = strtod(q + strlen("handed over in "), NULL);
	if (level <= LOG_LEVEL_INFO || q != NULL)
		fprintf(stderr, "%s\n", line);
}

static void draw_demo(void *pixels)
{
	struct draw_target t;
	draw_target_init(&t, pixels, WIDTH, HEIGHT, WIDTH * 4);
	draw_background(&t);
	draw_frame(&t, FRAME);
}

/* Show the demo's picture full screen, report once it is presented, go when told. */
static void run_frame(int arg)
{
	child_die_with_parent();
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "a");
	struct client_image ci;
	client_image_create(&ci, WIDTH, HEIGHT, 1);
	draw_demo(ci.img.data);
	struct vscanout_buffer_v1 *buffer = client_buffer(vgpu, &ci);
	vscanout_vgpu_v1_set_primary(vgpu, buffer, 0, 0);
	uint32_t serial = 1;
	while (!client_commit(&c, vgpu, serial))
		serial++;
	char byte;
	if (write(report_fd, "p", 1) != 1 || read(go_fd, &byte, 1) != 1)
		client_fail("pipes");
	_exit(0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

/*
 * The frame as the daemon reads a writeback capture: a dumb buffer of the
 * device holding the picture, mapped afresh (every page faulted in again
 * on the first read, as the capture's new mapping is).
 */
struct source {
	int fd;
	uint32_t handle;
	uint64_t offset, size;
	void *map;
};

static void source_init(struct source *src, int fd, const void *picture)
{
	struct drm_mode_create_dumb create = {.width = WIDTH, .height = HEIGHT, .bpp = 32};
	kt_assert_errno(drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &create) == 0);
	kt_assert(create.pitch == WIDTH * 4);
	struct drm_mode_map_dumb map = {.handle = create.handle};
	kt_assert_errno(drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &map) == 0);
	*src = (struct source){
		.fd = fd, .handle = create.handle, .offset = map.offset, .size = create.size};
	void *p = mmap(NULL, src->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)src->offset);
	kt_assert(p != MAP_FAILED);
	memcpy(p, picture, (size_t)WIDTH * HEIGHT * 4);
	munmap(p, src->size);
}

static const uint32_t *source_map(struct source *src)
{
	src->map = mmap(NULL, src->size, PROT_READ, MAP_SHARED, src->fd, (off_t)src->offset);
	kt_assert(src->map != MAP_FAILED);
	return src->map;
}

static void source_unmap(struct source *src)
{
	munmap(src->map, src->size);
}

static void source_finish(struct source *src)
{
	struct drm_mode_destroy_dumb destroy = {.handle = src->handle};
	drmIoctl(src->fd, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
}

/* A bare copy of the frame into memory never touched before, in microseconds. */
static double floor_us(struct source *src)
{
	size_t size = (size_t)WIDTH * HEIGHT * 4;
	void *to = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	kt_assert(to != MAP_FAILED);
	uint64_t start = kt_now_ns();
	memcpy(to, source_map(src), size);
	double us = (double)(kt_now_ns() - start) / 1000.0;
	source_unmap(src);
	munmap(to, size);
	return us;
}

/*
 * The stored-block PNG encoder's work on the frame, in microseconds: each
 * row's colour bytes behind a filter byte, CRC-32 and Adler-32 over them,
 * written into a new memfd (the chunk framing left out: a lower bound).
 */
static double old_encoder_us(struct source *src)
{
	size_t row = (size_t)WIDTH * 3 + 1;
	uint8_t *rgb = malloc(row);
	kt_assert(rgb != NULL);
	int fd = memfd_create("old-png", MFD_CLOEXEC);
	kt_assert_errno(fd >= 0);
	uint64_t start = kt_now_ns();
	const uint32_t *frame = source_map(src);
	uLong crc = crc32(0, Z_NULL, 0), adler = adler32(0, Z_NULL, 0);
	for (uint32_t y = 0; y < HEIGHT; y++) {
		rgb[0] = 0;
		for (uint32_t x = 0; x < WIDTH; x++) {
			uint32_t px = frame[(size_t)y * WIDTH + x];
			rgb[1 + x * 3] = (uint8_t)(px >> 16);
			rgb[2 + x * 3] = (uint8_t)(px >> 8);
			rgb[3 + x * 3] = (uint8_t)px;
		}
		adler = adler32(adler, rgb, (uInt)row);
		crc = crc32(crc, rgb, (uInt)row);
		kt_assert(pwrite(fd, rgb, row, (off_t)(row * y)) == (ssize_t)row);
	}
	double us = (double)(kt_now_ns() - start) / 1000.0;
	source_unmap(src);
	/* Keep the checksums alive. */
	kt_assert(crc != 0 || adler != 0);
	close(fd);
	free(rgb);
	return us;
}

/* The size of the old encoder's PNG: the rows, stored blocks, IDAT chunks, the rest. */
static size_t old_png_size(void)
{
	size_t rows = (size_t)(WIDTH * 3 + 1) * HEIGHT;
	size_t blocks = (rows + 65534) / 65535, stream = 2 + rows + blocks * 5 + 4;
	return 8 + 25 + stream + (stream + 65535) / 65536 * 12 + 12;
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 2, "usage: %s VSCANOUTCTL", argv[0]);
	const char *ctl_path = argv[1];
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(LOG_LEVEL_DEBUG);
	log_set_sink(sink, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct kt_device vkms;
	kt_device_open_or_skip(&vkms, "vkms");
	kt_device_close(&vkms);
	if (access("/dev/udmabuf", F_OK) != 0)
		kt_skip("no /dev/udmabuf");

	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)config_text, strlen(config_text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "test.conf"));
	fclose(f);
	daemon_ = daemon_create(&config);
	kt_assert(daemon_ != NULL);
	struct kms_output *output = display_find_output(daemon_->display_manager, "Virtual-1");
	kt_assert(output != NULL);
	struct tk_presents presents;
	tk_presents_init(&presents, output);
	tk_wait_presents(daemon_->loop, &presents, 1);

	struct pipe_watch report;
	pipe_watch_init(&report, daemon_->loop);
	int go[2];
	kt_assert_errno(pipe2(go, O_CLOEXEC) == 0);
	report_fd = report.fds[1];
	go_fd = go[0];
	struct child frame;
	child_start(&frame, daemon_->loop, run_frame, 0);
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (!report.readable) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for the client's frame");
		wl_display_flush_clients(daemon_->display);
		kt_assert(wl_event_loop_dispatch(daemon_->loop, 100) >= 0);
	}

	size_t raw = (size_t)WIDTH * HEIGHT * 4;
	uint32_t *want = malloc(raw);
	kt_assert(want != NULL);
	draw_demo(want);

	struct source src;
	source_init(&src, output->device->fd, want);
	double floors[SHOTS], olds[SHOTS];
	size_t png_size = 0;
	for (int i = 0; i < SHOTS; i++) {
		struct ctl_result r;
		ctl_run(daemon_->display, &r, 0, 0, ctl_path, "--socket", SOCKET_PATH, "screenshot",
			"Virtual-1", PNG_PATH, NULL);
		kt_assertf(r.exit_code == 0, "screenshot %d: exit %d", i + 1, r.exit_code);
		kt_assert(strstr(r.out, "1920x1080 screenshot, source writeback") != NULL);
		ctl_result_finish(&r);
		kt_assertf(n_handed == i + 1,
			   "the daemon logged %d hand-overs after %d screenshots", n_handed, i + 1);
		struct stat st;
		kt_assert_errno(stat(PNG_PATH, &st) == 0);
		png_size = (size_t)st.st_size;
		kt_assertf(png_size * 10 < raw, "a PNG of %zu bytes for %zu bytes of pixels",
			   png_size, raw);
		struct png_image img;
		char err[128];
		kt_assertf(png_decode_file(PNG_PATH, &img, err, sizeof(err)) == 0, "%s", err);
		kt_assert(img.width == WIDTH && img.height == HEIGHT);
		size_t bad = 0;
		for (size_t p = 0; p < (size_t)WIDTH * HEIGHT; p++)
			bad += img.pixels[p] != (want[p] & 0xffffff);
		kt_assertf(bad == 0, "%zu pixels of the screenshot differ from the picture", bad);
		png_image_free(&img);
		floors[i] = floor_us(&src);
		olds[i] = old_encoder_us(&src);
	}

	double hand = median(handed, n_handed), flr = median(floors, SHOTS),
	       old = median(olds, SHOTS);
	printf("screenshot of %ux%u, medians of %d: the loop handed the pixels over in %.0f us; "
	       "a bare memcpy of the frame %.0f us (x%.1f); the old stored-PNG encoder's work "
	       "%.0f us (x%.2f of it); PNG %zu bytes for %zu bytes of pixels (%.2f %%), the old "
	       "encoder's %zu\n",
	       WIDTH, HEIGHT, SHOTS, hand, flr, hand / flr, old, hand / old, png_size, raw,
	       100.0 * (double)png_size / (double)raw, old_png_size());
	/*
	 * Under TCG the kernel's copy into fresh shmem pages costs as much as
	 * user code's byte loops (the stored encoder's work came out 0.8 to
	 * 1.3 times the hand-over here): the ratio to the old encoder is held
	 * on the host's CPU by control-handover. Here: one copy, not more.
	 */
	kt_assertf(hand < 6 * flr + 2000,
		   "the hand-over (%.0f us) is over 6 times a bare copy (%.0f us) plus 2 ms", hand,
		   flr);

	kt_assert_errno(write(go[1], "g", 1) == 1);
	while (!frame.exited) {
		wl_display_flush_clients(daemon_->display);
		kt_assert(wl_event_loop_dispatch(daemon_->loop, 100) >= 0);
	}
	source_finish(&src);
	free(want);
	unlink(PNG_PATH);
	close(go[0]);
	close(go[1]);
	pipe_watch_finish(&report);
	tk_presents_finish(&presents);
	daemon_destroy(daemon_);
	config_finish(&config);
	log_set_sink(NULL, NULL);
	printf("ok\n");
	return 0;
}
