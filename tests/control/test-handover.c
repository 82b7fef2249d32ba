// SPDX-License-Identifier: MIT
/*
 * control_write_pixels(), what a screenshot costs the daemon's loop, on the
 * host's CPU with the demo's 1920x1080 picture (the simulated guest's):
 *  - the memfd holds exactly the rows, is sealed against shrinking,
 *    growing and writing, and a memfd sealed beforehand is refused;
 *  - its time (median of 7, each into a new memfd) is printed next to a
 *    bare memcpy of the frame into fresh memory (the floor; also into
 *    memory written before, without page faults) and the work of
 *    the stored-block PNG encoder the daemon ran before (colour bytes out
 *    of each pixel, CRC-32 and Adler-32 with zlib's fast checksums, the
 *    write into a memfd: a lower bound of that encoder's cost), all
 *    measured in this run; it must stay below half of the old work and
 *    below 4 times the floor plus 1 ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "../../tools/vscanout-sim-vmm/draw.h"
#include "control/private.h"
#include "test.h"

#define WIDTH  1920
#define HEIGHT 1080
#define RUNS   7

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

static double handover_us(const uint32_t *frame, bool check_contents)
{
	int fd = memfd_create("capture", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	check(fd >= 0);
	uint64_t start = now_ns();
	check_int_eq(control_write_pixels(fd, frame, WIDTH, HEIGHT, WIDTH * 4), 0);
	double us = (double)(now_ns() - start) / 1000.0;
	if (check_contents) {
		size_t size = (size_t)WIDTH * HEIGHT * 4;
		struct stat st;
		check(fstat(fd, &st) == 0 && (size_t)st.st_size == size);
		int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE;
		check((fcntl(fd, F_GET_SEALS) & seals) == seals);
		void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		check(map != MAP_FAILED);
		check(memcmp(map, frame, size) == 0);
		munmap(map, size);
		check(pwrite(fd, "x", 1, 0) < 0 && errno == EPERM);
	}
	close(fd);
	return us;
}

/* memcpy of the frame into fresh memory, or into memory written before (touched). */
static double floor_us(const uint32_t *frame, bool touched)
{
	size_t size = (size_t)WIDTH * HEIGHT * 4;
	void *to = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(to != MAP_FAILED);
	if (touched)
		memset(to, 0, size);
	uint64_t start = now_ns();
	memcpy(to, frame, size);
	double us = (double)(now_ns() - start) / 1000.0;
	check(memcmp(to, frame, 64) == 0);
	munmap(to, size);
	return us;
}

static double old_encoder_us(const uint32_t *frame)
{
	size_t row = (size_t)WIDTH * 3 + 1;
	uint8_t *rgb = malloc(row);
	check(rgb != NULL);
	int fd = memfd_create("old-png", MFD_CLOEXEC);
	check(fd >= 0);
	uint64_t start = now_ns();
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
		check(pwrite(fd, rgb, row, (off_t)(row * y)) == (ssize_t)row);
	}
	double us = (double)(now_ns() - start) / 1000.0;
	check(crc != 0 || adler != 0);
	close(fd);
	free(rgb);
	return us;
}

int main(void)
{
	uint32_t *frame = malloc((size_t)WIDTH * HEIGHT * 4);
	check(frame != NULL);
	struct draw_target t;
	draw_target_init(&t, frame, WIDTH, HEIGHT, WIDTH * 4);
	draw_background(&t);
	draw_frame(&t, 1234);

	/* A memfd sealed before the hand-over is refused, not written. */
	int fd = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	check(fd >= 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) == 0);
	check_int_eq(control_write_pixels(fd, frame, 16, 16, WIDTH * 4), -EPERM);
	close(fd);

	double hand[RUNS], flr[RUNS], warm[RUNS], old[RUNS];
	for (int i = 0; i < RUNS; i++) {
		hand[i] = handover_us(frame, i == 0);
		flr[i] = floor_us(frame, false);
		warm[i] = floor_us(frame, true);
		old[i] = old_encoder_us(frame);
	}
	double h = median(hand, RUNS), f = median(flr, RUNS), w = median(warm, RUNS),
	       o = median(old, RUNS);
	printf("%ux%u, medians of %d: the hand-over %.0f us; a bare memcpy into fresh memory %.0f "
	       "us (the hand-over x%.1f of it), into memory written before %.0f us (x%.1f); the "
	       "old stored-PNG encoder's work %.0f us (the hand-over x%.2f of it)\n",
	       WIDTH, HEIGHT, RUNS, h, f, h / f, w, h / w, o, h / o);
	check(h < o / 2);
	check(h < 4 * f + 1000);
	free(frame);
	printf("ok\n");
	return 0;
}
