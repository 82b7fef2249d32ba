// SPDX-License-Identifier: MIT
/*
 * PNG without compression: the zlib stream is a header (CMF 0x78: deflate
 * with a 32 KiB window; FLG 0x01 makes CMF·256+FLG a multiple of 31), the
 * filtered rows in stored deflate blocks of at most 65535 bytes (each
 * block: one byte BFINAL|BTYPE=00, LEN and NLEN little-endian, the bytes)
 * and the Adler-32 of the rows, big-endian. The stream is cut into IDAT
 * chunks as it is produced.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/png.h"

#define STORED_MAX   65535u
#define ADLER_MOD    65521u
#define ADLER_NMAX   5552u /* bytes before the sums could overflow 32 bits */
#define ROW_CHUNK    1024u /* pixels converted at a time */
#define PNG_MAX_SIZE 0x7fffffffu

static uint32_t crc_table[256];
static bool crc_table_ready;

static void crc_table_init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[n] = c;
	}
	crc_table_ready = true;
}

uint32_t png_crc32(uint32_t crc, const void *data, size_t size)
{
	if (!crc_table_ready)
		crc_table_init();
	const uint8_t *p = data;
	crc = ~crc;
	for (size_t i = 0; i < size; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t png_adler32(uint32_t adler, const void *data, size_t size)
{
	const uint8_t *p = data;
	uint32_t a = adler & 0xffff, b = adler >> 16;
	while (size > 0) {
		size_t n = size < ADLER_NMAX ? size : ADLER_NMAX;
		size -= n;
		while (n-- > 0) {
			a += *p++;
			b += a;
		}
		a %= ADLER_MOD;
		b %= ADLER_MOD;
	}
	return (b << 16) | a;
}

struct png_writer {
	int fd;
	off_t offset;
	int error; /* first failure, negative errno */
	/* The IDAT chunk being filled: 4 bytes of length, "IDAT", data. */
	uint8_t idat[8 + PNG_IDAT_SIZE];
	size_t idat_len;     /* data bytes in idat */
	uint64_t raw_left;   /* filtered row bytes not yet written */
	uint32_t block_left; /* bytes left in the current stored block */
	uint32_t adler;
};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void file_write(struct png_writer *w, const void *data, size_t size)
{
	const uint8_t *p = data;
	while (w->error == 0 && size > 0) {
		ssize_t n = pwrite(w->fd, p, size, w->offset);
		if (n < 0) {
			if (errno != EINTR)
				w->error = -errno;
			continue;
		}
		if (n == 0) {
			w->error = -ENOSPC;
			break;
		}
		p += n;
		size -= (size_t)n;
		w->offset += n;
	}
}

/* One chunk: length, type, data, CRC of type and data. buf holds 8 spare bytes before data. */
static void write_chunk(struct png_writer *w, const char type[4], uint8_t *buf, size_t size)
{
	put_be32(buf, (uint32_t)size);
	memcpy(buf + 4, type, 4);
	uint8_t crc[4];
	put_be32(crc, png_crc32(0, buf + 4, size + 4));
	file_write(w, buf, size + 8);
	file_write(w, crc, sizeof(crc));
}

static void flush_idat(struct png_writer *w)
{
	if (w->idat_len == 0)
		return;
	write_chunk(w, "IDAT", w->idat, w->idat_len);
	w->idat_len = 0;
}

/* Append bytes of zlib stream. */
static void zlib_put(struct png_writer *w, const uint8_t *data, size_t size)
{
	while (size > 0) {
		size_t room = PNG_IDAT_SIZE - w->idat_len;
		size_t n = size < room ? size : room;
		memcpy(w->idat + 8 + w->idat_len, data, n);
		w->idat_len += n;
		data += n;
		size -= n;
		if (w->idat_len == PNG_IDAT_SIZE)
			flush_idat(w);
	}
}

/* Append filtered row bytes, opening stored blocks as needed. */
static void deflate_put(struct png_writer *w, const uint8_t *data, size_t size)
{
	w->adler = png_adler32(w->adler, data, size);
	while (size > 0) {
		if (w->block_left == 0) {
			uint32_t len =
				w->raw_left < STORED_MAX ? (uint32_t)w->raw_left : STORED_MAX;
			uint8_t header[5] = {
				w->raw_left == len ? 1 : 0, /* BFINAL, BTYPE 00 */
				(uint8_t)len,
				(uint8_t)(len >> 8),
				(uint8_t)~len,
				(uint8_t)(~len >> 8),
			};
			zlib_put(w, header, sizeof(header));
			w->block_left = len;
		}
		size_t n = size < w->block_left ? size : w->block_left;
		zlib_put(w, data, n);
		w->block_left -= (uint32_t)n;
		w->raw_left -= n;
		data += n;
		size -= n;
	}
}

int png_write(int fd, const void *xrgb8888, uint32_t width, uint32_t height, uint32_t stride,
	      const char *comment)
{
	static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	if (width == 0 || height == 0 || width > PNG_MAX_SIZE || height > PNG_MAX_SIZE ||
	    (uint64_t)stride < (uint64_t)width * 4 || (uint64_t)width * 3 + 1 > SIZE_MAX)
		return -EINVAL;

	/* Holds a whole IDAT chunk: too large for the stack. */
	struct png_writer *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->fd = fd;
	w->adler = 1;
	w->raw_left = ((uint64_t)width * 3 + 1) * height;
	if (ftruncate(fd, 0) != 0)
		w->error = -errno;

	file_write(w, signature, sizeof(signature));
	uint8_t ihdr[8 + 13];
	put_be32(ihdr + 8, width);
	put_be32(ihdr + 12, height);
	ihdr[16] = 8; /* bit depth */
	ihdr[17] = 2; /* colour type: RGB */
	ihdr[18] = 0; /* deflate */
	ihdr[19] = 0; /* adaptive filtering, filter types per row */
	ihdr[20] = 0; /* no interlace */
	write_chunk(w, "IHDR", ihdr, 13);
	if (comment != NULL) {
		static const char keyword[] = "Comment";
		size_t len = strlen(comment);
		if (len > sizeof(w->idat) - 8 - sizeof(keyword))
			len = sizeof(w->idat) - 8 - sizeof(keyword);
		memcpy(w->idat + 8, keyword, sizeof(keyword)); /* with its NUL separator */
		memcpy(w->idat + 8 + sizeof(keyword), comment, len);
		write_chunk(w, "tEXt", w->idat, sizeof(keyword) + len);
	}

	static const uint8_t zlib_header[2] = {0x78, 0x01};
	zlib_put(w, zlib_header, sizeof(zlib_header));
	uint8_t rgb[ROW_CHUNK * 3];
	for (uint32_t y = 0; y < height && w->error == 0; y++) {
		const uint8_t filter = 0;
		deflate_put(w, &filter, 1);
		/* XRGB8888 is little-endian: B, G, R, X in memory. */
		const uint8_t *row = (const uint8_t *)xrgb8888 + (size_t)y * stride;
		for (uint32_t x = 0; x < width; x += ROW_CHUNK) {
			uint32_t n = width - x < ROW_CHUNK ? width - x : ROW_CHUNK;
			const uint8_t *px = row + (size_t)x * 4;
			for (uint32_t i = 0; i < n; i++, px += 4) {
				rgb[i * 3] = px[2];
				rgb[i * 3 + 1] = px[1];
				rgb[i * 3 + 2] = px[0];
			}
			deflate_put(w, rgb, (size_t)n * 3);
		}
	}
	uint8_t adler[4];
	put_be32(adler, w->adler);
	zlib_put(w, adler, sizeof(adler));
	flush_idat(w);
	uint8_t iend[8];
	write_chunk(w, "IEND", iend, 0);
	if (w->error == 0 && ftruncate(fd, w->offset) != 0)
		w->error = -errno;
	int ret = w->error;
	free(w);
	return ret;
}
