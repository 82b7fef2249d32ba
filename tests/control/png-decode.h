/* SPDX-License-Identifier: MIT */
/*
 * A PNG reader for the tests, independent of libpng that vscanoutctl
 * writes with: it checks every chunk's CRC (bit by bit, no table), inflates
 * the IDAT chunks with zlib (which checks the stream's header and Adler-32)
 * and undoes the five row filters itself; it accepts 8-bit RGB images
 * without interlace.
 */
#ifndef VSCANOUT_TESTS_CONTROL_PNG_DECODE_H
#define VSCANOUT_TESTS_CONTROL_PNG_DECODE_H

#include <stddef.h>
#include <stdint.h>

struct png_image {
	uint32_t width, height;
	uint32_t *pixels;  /* 0x00RRGGBB, width × height, owned */
	char comment[256]; /* text of the tEXt "Comment" chunk, "" if none */
	unsigned int n_idat;
	unsigned int filters_used; /* bit N: some row has filter type N */
};

/*
 * Decode size bytes of data. Returns 0, or -1 with the reason in err
 * (err_size bytes).
 */
int png_decode(const uint8_t *data, size_t size, struct png_image *img, char *err, size_t err_size);

/* Read the whole file at path and decode it. */
int png_decode_file(const char *path, struct png_image *img, char *err, size_t err_size);

void png_image_free(struct png_image *img);

#endif
