// SPDX-License-Identifier: MIT
/*
 * util/png.c: images written into memfds round-trip through an independent
 * reader (png-decode.c) pixel for pixel, and, when a python3 is given as
 * argument, through zlib itself; CRC-32 and Adler-32 match their check
 * values; bad arguments and unwritable fds are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "png-decode.h"
#include "test.h"
#include "util/png.h"

static const char *python3;

static uint32_t pattern(uint32_t x, uint32_t y, uint32_t seed)
{
	uint32_t h = x * 0x9e3779b1u ^ y * 0x85ebca6bu ^ seed * 0xc2b2ae35u;
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

static size_t file_size(int fd)
{
	struct stat st;
	check(fstat(fd, &st) == 0);
	return (size_t)st.st_size;
}

static uint8_t *read_all(int fd, size_t *size)
{
	*size = file_size(fd);
	uint8_t *data = malloc(*size);
	check(data != NULL);
	check(pread(fd, data, *size, 0) == (ssize_t)*size);
	return data;
}

/* zlib's view: every chunk CRC and the decompressed rows, written to raw_path. */
static void python_check(const char *png_path, const char *raw_path)
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
				     "open(sys.argv[2], 'wb').write(zlib.decompress(idat))\n";
	pid_t pid = fork();
	check(pid >= 0);
	if (pid == 0) {
		execl(python3, python3, "-c", script, png_path, raw_path, (char *)NULL);
		_exit(127);
	}
	int status;
	check(waitpid(pid, &status, 0) == pid);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void round_trip(uint32_t width, uint32_t height, uint32_t pad, const char *comment)
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

	char path[] = "/tmp/vscanout-test-png-XXXXXX";
	int fd = mkstemp(path);
	check(fd >= 0);
	/* Old contents longer than the PNG must go. */
	size_t junk_size = (size_t)width * height * 4 + 100000;
	char *junk = malloc(junk_size);
	check(junk != NULL);
	memset(junk, 'j', junk_size);
	check(write(fd, junk, junk_size) == (ssize_t)junk_size);
	free(junk);

	check_int_eq(png_write(fd, pixels, width, height, stride, comment), 0);
	size_t size;
	uint8_t *data = read_all(fd, &size);
	struct png_image img;
	char err[256];
	if (png_decode(data, size, &img, err, sizeof(err)) != 0) {
		fprintf(stderr, "%ux%u: %s\n", width, height, err);
		abort();
	}
	check_int_eq(img.width, width);
	check_int_eq(img.height, height);
	check_str_eq(img.comment, comment != NULL ? comment : "");
	uint64_t raw_size = ((uint64_t)width * 3 + 1) * height;
	check(img.n_idat >= (raw_size + 6 + PNG_IDAT_SIZE - 1) / PNG_IDAT_SIZE);
	for (uint32_t y = 0; y < height; y++) {
		for (uint32_t x = 0; x < width; x++) {
			uint32_t want = pattern(x, y, width) & 0xffffff;
			if (img.pixels[(size_t)y * width + x] != want) {
				fprintf(stderr, "%ux%u: pixel %u,%u is %06x, want %06x\n", width,
					height, x, y, img.pixels[(size_t)y * width + x], want);
				abort();
			}
		}
	}
	printf("%ux%u: %zu bytes, %u IDAT chunks, round trip exact\n", width, height, size,
	       img.n_idat);

	if (python3 != NULL) {
		char raw_path[] = "/tmp/vscanout-test-png-raw-XXXXXX";
		int raw_fd = mkstemp(raw_path);
		check(raw_fd >= 0);
		python_check(path, raw_path);
		size_t got_size;
		uint8_t *raw = read_all(raw_fd, &got_size);
		check_int_eq(got_size, raw_size);
		for (uint32_t y = 0; y < height; y++) {
			const uint8_t *r = raw + (size_t)y * (width * 3 + 1);
			check_int_eq(r[0], 0);
			for (uint32_t x = 0; x < width; x++) {
				uint32_t want = pattern(x, y, width);
				check_int_eq(r[1 + x * 3], (want >> 16) & 0xff);
				check_int_eq(r[2 + x * 3], (want >> 8) & 0xff);
				check_int_eq(r[3 + x * 3], want & 0xff);
			}
		}
		free(raw);
		close(raw_fd);
		unlink(raw_path);
		printf("%ux%u: zlib agrees\n", width, height);
	}
	png_image_free(&img);
	free(data);
	close(fd);
	unlink(path);
	free(pixels);
}

int main(int argc, char **argv)
{
	python3 = argc > 1 ? argv[1] : NULL;

	/* Check values of the two checksums. */
	check_int_eq(png_crc32(0, "123456789", 9), 0xcbf43926u);
	check_int_eq(png_crc32(png_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
	check_int_eq(png_adler32(1, "Wikipedia", 9), 0x11e60398u);
	static uint8_t ones[100000];
	memset(ones, 0xff, sizeof(ones));
	uint32_t a = 1, b = 0;
	for (size_t i = 0; i < sizeof(ones); i++) {
		a = (a + ones[i]) % 65521;
		b = (b + a) % 65521;
	}
	check_int_eq(png_adler32(1, ones, sizeof(ones)), b << 16 | a);

	round_trip(1, 1, 0, NULL);
	round_trip(7, 5, 12, "vscanout screenshot source: composed");
	/* Several stored blocks and IDAT chunks; a row split over two blocks. */
	round_trip(300, 250, 0, "vscanout screenshot source: writeback");
	round_trip(1500, 40, 4, "x");

	/* Bad arguments. */
	uint32_t px[4] = {0};
	int fd = memfd_create("png", MFD_CLOEXEC);
	check(fd >= 0);
	check_int_eq(png_write(fd, px, 0, 1, 4, NULL), -EINVAL);
	check_int_eq(png_write(fd, px, 1, 0, 4, NULL), -EINVAL);
	check_int_eq(png_write(fd, px, 2, 2, 4, NULL), -EINVAL);
	check_int_eq(png_write(fd, px, 0x80000000u, 1, 0xffffffffu, NULL), -EINVAL);
	close(fd);
	/* A pipe cannot be truncated nor written at an offset. */
	int pipe_fds[2];
	check(pipe(pipe_fds) == 0);
	check(png_write(pipe_fds[1], px, 2, 2, 8, NULL) < 0);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	/* A read-only fd. */
	char path[] = "/tmp/vscanout-test-png-ro-XXXXXX";
	fd = mkstemp(path);
	check(fd >= 0);
	close(fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	check(fd >= 0);
	check(png_write(fd, px, 2, 2, 8, NULL) < 0);
	close(fd);
	unlink(path);
	printf("ok\n");
	return 0;
}
