/* SPDX-License-Identifier: MIT */
/*
 * A PNG reader for the tests, written independently of src/util/png.c: it
 * checks every chunk's CRC (bit by bit, no table), the zlib header and
 * Adler-32, and accepts 8-bit RGB images whose zlib stream uses stored
 * deflate blocks only, filter type 0, as vscanoutd writes them.
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
