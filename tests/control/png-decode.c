// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (z_len < 6 || (z[0] & 0x0f) != 8 || ((z[0] << 8) | z[1]) % 31 != 0 || (z[1] & 0x20)) {
		free(z);
		return fail(err, err_size, "bad zlib header");
	}

	size_t row = (size_t)img->width * 3 + 1;
	size_t raw_size = row * img->height;
	uint8_t *raw = malloc(raw_size);
	if (raw == NULL) {
		free(z);
		return fail(err, err_size, "out of memory");
	}
	size_t zp = 2, rp = 0;
	bool final = false;
	while (!final) {
		if (z_len - zp < 5) {
			free(z);
			free(raw);
			return fail(err, err_size, "truncated deflate block at %zu", zp);
		}
		final = z[zp] & 1;
		if ((z[zp] >> 1) != 0) {
			free(z);
			free(raw);
			return fail(err, err_size, "not a stored block at %zu", zp);
		}
		uint32_t len = z[zp + 1] | (uint32_t)z[zp + 2] << 8;
		uint32_t nlen = z[zp + 3] | (uint32_t)z[zp + 4] << 8;
		zp += 5;
		if ((len ^ 0xffffu) != nlen || len > z_len - zp || len > raw_size - rp) {
			free(z);
			free(raw);
			return fail(err, err_size, "bad stored block length %u", len);
		}
		memcpy(raw + rp, z + zp, len);
		rp += len;
		zp += len;
	}
	uint32_t a = 1, b = 0;
	for (size_t i = 0; i < rp; i++) {
		a = (a + raw[i]) % 65521;
		b = (b + a) % 65521;
	}
	if (rp != raw_size || z_len - zp != 4 || be32(z + zp) != (b << 16 | a)) {
		free(z);
		free(raw);
		return fail(err, err_size, "%zu of %zu bytes, or a bad Adler-32", rp, raw_size);
	}
	free(z);

	img->pixels = malloc((size_t)img->width * img->height * 4);
	if (img->pixels == NULL) {
		free(raw);
		return fail(err, err_size, "out of memory");
	}
	for (uint32_t y = 0; y < img->height; y++) {
		const uint8_t *r = raw + row * y;
		if (r[0] != 0) {
			unsigned int filter = r[0];
			free(raw);
			png_image_free(img);
			return fail(err, err_size, "row %u has filter %u", y, filter);
		}
		for (uint32_t x = 0; x < img->width; x++) {
			const uint8_t *p = r + 1 + (size_t)x * 3;
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
