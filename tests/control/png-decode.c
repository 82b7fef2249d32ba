// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "png-decode.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t err_size, const char *fmt,
						      ...)
{
	va_list args;
	va_start(args, fmt);
	vsnprintf(err, err_size, fmt, args);
	va_end(args);
	return -1;
}

int png_decode(const uint8_t *data, size_t size, struct png_image *img, char *err, size_t err_size)
{
	static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	memset(img, 0, sizeof(*img));
	if (size < 8 || memcmp(data, signature, 8) != 0)
		return fail(err, err_size, "no PNG signature");

	uint8_t *z = NULL;
	size_t z_len = 0;
	bool ihdr = false, iend = false;
	size_t pos = 8;
	while (!iend) {
		if (size - pos < 12) {
			free(z);
			return fail(err, err_size, "truncated chunk at %zu", pos);
		}
		uint32_t len = be32(data + pos);
		const uint8_t *type = data + pos + 4, *body = data + pos + 8;
		if (len > size - pos - 12) {
			free(z);
			return fail(err, err_size, "chunk at %zu overruns the file", pos);
		}
		if (crc_bitwise(type, len + 4) != be32(body + len)) {
			free(z);
			return fail(err, err_size, "bad CRC of chunk %.4s at %zu", type, pos);
		}
		if (memcmp(type, "IHDR", 4) == 0 && len == 13) {
			img->width = be32(body);
			img->height = be32(body + 4);
			if (body[8] != 8 || body[9] != 2 || body[10] != 0 || body[11] != 0 ||
			    body[12] != 0) {
				free(z);
				return fail(err, err_size, "not 8-bit RGB without interlace");
			}
			ihdr = true;
		} else if (memcmp(type, "tEXt", 4) == 0 && len > 8 &&
			   memcmp(body, "Comment", 8) == 0) {
			size_t n = len - 8 < sizeof(img->comment) - 1 ? len - 8
								      : sizeof(img->comment) - 1;
			memcpy(img->comment, body + 8, n);
			img->comment[n] = '\0';
		} else if (memcmp(type, "IDAT", 4) == 0) {
			uint8_t *nz = realloc(z, z_len + len + 1);
			if (nz == NULL) {
				free(z);
				return fail(err, err_size, "out of memory");
			}
			z = nz;
			memcpy(z + z_len, body, len);
			z_len += len;
			img->n_idat++;
		} else if (memcmp(type, "IEND", 4) == 0) {
			iend = true;
		}
		pos += 12 + (size_t)len;
	}
	if (pos != size) {
		free(z);
		return fail(err, err_size, "%zu bytes after IEND", size - pos);
	}
	if (!ihdr || img->width == 0 || img->height == 0) {
		free(z);
		return fail(err, err_size, "no IHDR");
	}
	size_t row = (size_t)img->width * 3 + 1;
	size_t raw_size = row * img->height;
	uint8_t *raw = malloc(raw_size + 1);
	if (raw == NULL) {
		free(z);
		return fail(err, err_size, "out of memory");
	}
	/* zlib checks the stream's header and Adler-32; one byte more must not come out. */
	z_stream zs = {.next_in = z,
		       .avail_in = (uInt)z_len,
		       .next_out = raw,
		       .avail_out = (uInt)raw_size + 1};
	if (z_len > UINT32_MAX || raw_size + 1 > UINT32_MAX || inflateInit(&zs) != Z_OK) {
		free(z);
		free(raw);
		return fail(err, err_size, "cannot inflate %zu bytes", z_len);
	}
	int zret = inflate(&zs, Z_FINISH);
	size_t out = raw_size + 1 - zs.avail_out, left = zs.avail_in;
	inflateEnd(&zs);
	free(z);
	if (zret != Z_STREAM_END || out != raw_size || left != 0) {
		free(raw);
		return fail(err, err_size, "zlib stream: %d, %zu of %zu bytes, %zu left over", zret,
			    out, raw_size, left);
	}

	img->pixels = malloc((size_t)img->width * img->height * 4);
	if (img->pixels == NULL) {
		free(raw);
		return fail(err, err_size, "out of memory");
	}
	/* Undo the row filters (PNG 1.2, section 6), each byte against the one 3 before. */
	for (uint32_t y = 0; y < img->height; y++) {
		uint8_t *r = raw + row * y + 1;
		const uint8_t *up = y > 0 ? raw + row * (y - 1) + 1 : NULL;
		unsigned int filter = r[-1];
		if (filter > 4) {
			free(raw);
			png_image_free(img);
			return fail(err, err_size, "row %u has filter %u", y, filter);
		}
		img->filters_used |= 1u << filter;
		for (size_t i = 0; i < row - 1; i++) {
			int a = i >= 3 ? r[i - 3] : 0, b = up != NULL ? up[i] : 0;
			int c = i >= 3 && up != NULL ? up[i - 3] : 0;
			int pred = 0;
			if (filter == 1)
				pred = a;
			else if (filter == 2)
				pred = b;
			else if (filter == 3)
				pred = (a + b) / 2;
			else if (filter == 4) {
				int p = a + b - c, pa = abs(p - a), pb = abs(p - b),
				    pc = abs(p - c);
				pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
			}
			r[i] = (uint8_t)(r[i] + pred);
		}
		for (uint32_t x = 0; x < img->width; x++) {
			const uint8_t *p = r + (size_t)x * 3;
			img->pixels[(size_t)y * img->width + x] =
				(uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		}
	}
	free(raw);
	return 0;
}

int png_decode_file(const char *path, struct png_image *img, char *err, size_t err_size)
{
	FILE *f = fopen(path, "rbe");
	if (f == NULL)
		return fail(err, err_size, "cannot open %s", path);
	uint8_t *data = NULL;
	size_t size = 0, cap = 0;
	for (;;) {
		if (size == cap) {
			cap = cap ? cap * 2 : 65536;
			uint8_t *nd = realloc(data, cap);
			if (nd == NULL) {
				free(data);
				fclose(f);
				return fail(err, err_size, "out of memory");
			}
			data = nd;
		}
		size_t n = fread(data + size, 1, cap - size, f);
		if (n == 0)
			break;
		size += n;
	}
	fclose(f);
	int ret = png_decode(data, size, img, err, err_size);
	free(data);
	return ret;
}

void png_image_free(struct png_image *img)
{
	free(img->pixels);
	img->pixels = NULL;
}
