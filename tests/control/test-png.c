// SPDX-License-Identifier: MIT
/*
 * vscanoutctl's PNG encoder (src/ctl/png.c, libpng): images round-trip
 * through an independent reader (png-decode.c: zlib and its own row
 * filters) pixel for pixel, and, when a python3 is given as argument,
 * python's zlib agrees on every chunk's CRC and the size of the rows;
 * the demo's picture (the simulated guest's) compresses to well below its
 * raw size, a flat picture to almost nothing; bad sizes are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/ctl/png-encode.h"
#include "../../tools/vscanout-sim-vmm/draw.h"
#include "png-decode.h"
#include "test.h"

static const char *python3;

static uint32_t pattern(uint32_t x, uint32_t y, uint32_t seed)
{
	uint32_t h = x * 0x9e3779b1u ^ y * 0x85ebca6bu ^ seed * 0xc2b2ae35u;
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* python's zlib: every chunk CRC right, the rows' size, every filter byte 0..4. */
static void python_check(const uint8_t *png, size_t size, uint32_t width, uint32_t height)
{
	static const char script[] = "import struct, sys, zlib\n"
				     "d = open(sys.argv[1], 'rb').read()\n"
				     "assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'\n"
				     "p, idat = 8, b''\n"
				     "while p < len(d):\n"
				     "    n, t = struct.unpack('>I4s', d[p:p + 8])\n"
				     "    body = d[p + 8:p + 8 + n]\n"
				     "    crc, = struct.unpack('>I', d[p + 8 + n:p + 12 + n])\n"
				     "    assert zlib.crc32(t + body) == crc, t\n"
				     "    if t == b'IDAT': idat += body\n"
				     "    p += 12 + n\n"
				     "raw = zlib.decompress(idat)\n"
				     "w, h = int(sys.argv[2]), int(sys.argv[3])\n"
				     "assert len(raw) == (w * 3 + 1) * h, len(raw)\n"
				     "assert all(raw[y * (w * 3 + 1)] <= 4 for y in range(h))\n";
	char path[] = "/tmp/vscanout-test-png-XXXXXX";
	int fd = mkstemp(path);
	check(fd >= 0);
	check(write(fd, png, size) == (ssize_t)size);
	close(fd);
	char w[16], h[16];
	snprintf(w, sizeof(w), "%u", width);
	snprintf(h, sizeof(h), "%u", height);
	pid_t pid = fork();
	check(pid >= 0);
	if (pid == 0) {
		execl(python3, python3, "-c", script, path, w, h, (char *)NULL);
		_exit(127);
	}
	int status;
	check(waitpid(pid, &status, 0) == pid);
	unlink(path);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Encode, decode, compare; returns the PNG's size. */
static size_t round_trip_pixels(const uint8_t *pixels, uint32_t width, uint32_t height,
				uint32_t stride, const char *comment, const char *what)
{
	uint8_t *png;
	size_t size;
	char err[256];
	uint64_t start = now_ns();
	int ret = ctl_png_encode(pixels, width, height, stride, comment, &png, &size, err,
				 sizeof(err));
	uint64_t took = now_ns() - start;
	if (ret != 0) {
		fprintf(stderr, "%s: %s\n", what, err);
		abort();
	}
	struct png_image img;
	if (png_decode(png, size, &img, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", what, err);
		abort();
	}
	check_int_eq(img.width, width);
	check_int_eq(img.height, height);
	check_str_eq(img.comment, comment != NULL ? comment : "");
	for (uint32_t y = 0; y < height; y++) {
		for (uint32_t x = 0; x < width; x++) {
			uint32_t want;
			memcpy(&want, pixels + (size_t)y * stride + (size_t)x * 4, 4);
			want &= 0xffffff;
			if (img.pixels[(size_t)y * width + x] != want) {
				fprintf(stderr, "%s: pixel %u,%u is %06x, want %06x\n", what, x, y,
					img.pixels[(size_t)y * width + x], want);
				abort();
			}
		}
	}
	size_t raw = (size_t)width * height * 4;
	printf("%s %ux%u: %zu bytes of PNG for %zu of pixels (%.1f %%), filters used 0x%x, "
	       "encoded in %.1f ms, round trip exact\n",
	       what, width, height, size, raw, 100.0 * (double)size / (double)raw, img.filters_used,
	       (double)took / 1e6);
	if (python3 != NULL)
		python_check(png, size, width, height);
	png_image_free(&img);
	free(png);
	return size;
}

static size_t round_trip(uint32_t width, uint32_t height, uint32_t pad, const char *comment)
{
	uint32_t stride = width * 4 + pad;
	uint8_t *pixels = malloc((size_t)stride * height);
	check(pixels != NULL);
	memset(pixels, 0xa5, (size_t)stride * height);
	for (uint32_t y = 0; y < height; y++) {
		for (uint32_t x = 0; x < width; x++) {
			uint32_t px = pattern(x, y, width);
			memcpy(pixels + (size_t)y * stride + (size_t)x * 4, &px, 4);
		}
	}
	size_t size = round_trip_pixels(pixels, width, height, stride, comment, "noise");
	free(pixels);
	return size;
}

/* The demo's picture (the simulated guest's frame 1234), as on screen. */
static size_t demo(uint32_t width, uint32_t height)
{
	uint32_t stride = width * 4;
	uint8_t *pixels = malloc((size_t)stride * height);
	check(pixels != NULL);
	struct draw_target t;
	draw_target_init(&t, pixels, width, height, stride);
	draw_background(&t);
	draw_frame(&t, 1234);
	size_t size = round_trip_pixels(pixels, width, height, stride,
					"vscanout screenshot source: writeback", "demo");
	free(pixels);
	return size;
}

int main(int argc, char **argv)
{
	python3 = argc > 1 ? argv[1] : NULL;

	round_trip(1, 1, 0, NULL);
	round_trip(7, 5, 12, "vscanout screenshot source: composed");
	round_trip(300, 250, 0, "vscanout screenshot source: writeback");
	/* Noise does not compress: libpng must not make it much larger either. */
	size_t noise = round_trip(1500, 40, 4, "x");
	check(noise < (size_t)1500 * 40 * 3 * 102 / 100);

	/* A picture of the demo compresses well below its 3 bytes of colour per pixel. */
	size_t raw = (size_t)1920 * 1080 * 4;
	size_t size = demo(1920, 1080);
	check(size * 10 < raw);
	demo(1024, 768);

	/* A flat picture is almost nothing. */
	uint8_t *flat = malloc((size_t)640 * 480 * 4);
	check(flat != NULL);
	for (size_t i = 0; i < (size_t)640 * 480; i++)
		memcpy(flat + i * 4, &(uint32_t){0x003366cc}, 4);
	check(round_trip_pixels(flat, 640, 480, 640 * 4, NULL, "flat") < 4096);
	free(flat);

	/* Bad sizes. */
	uint32_t px[4] = {0};
	uint8_t *png;
	char err[256];
	check_int_eq(ctl_png_encode(px, 0, 1, 4, NULL, &png, &size, err, sizeof(err)), -EINVAL);
	check_int_eq(ctl_png_encode(px, 1, 0, 4, NULL, &png, &size, err, sizeof(err)), -EINVAL);
	check_int_eq(ctl_png_encode(px, 2, 2, 4, NULL, &png, &size, err, sizeof(err)), -EINVAL);
	check_int_eq(ctl_png_encode(px, 0x80000000u, 1, 0xffffffffu, NULL, &png, &size, err,
				    sizeof(err)),
		     -EINVAL);
	printf("ok\n");
	return 0;
}
