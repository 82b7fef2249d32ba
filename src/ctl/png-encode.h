/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_CTL_PNG_ENCODE_H
#define VSCANOUT_CTL_PNG_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/*
 * vscanoutctl's PNG encoder for the pixels a screenshot hands over, through
 * libpng: 8-bit RGB (colour type 2, no interlace), libpng's adaptive row
 * filters and zlib's default compression level, with an optional tEXt
 * chunk of keyword "Comment".
 */

/*
 * Encode the XRGB8888 pixels (width × height, stride bytes from one row to
 * the next, in memory B, G, R, X as DRM defines the format; the X byte is
 * ignored) into a newly allocated PNG (*png, size *png_size; the caller
 * frees it). comment (may be NULL: none; Latin-1) goes into a tEXt
 * "Comment" chunk.
 *
 * Returns 0, -EINVAL for a zero or too large size (width and height within
 * 1..2^31-1, stride at least width × 4), -ENOMEM, or -EIO when libpng
 * fails (its message in err, err_size bytes, NUL-terminated).
 */
int ctl_png_encode(const void *pixels, uint32_t width, uint32_t height, uint32_t stride,
		   const char *comment, uint8_t **png, size_t *png_size, char *err,
		   size_t err_size);

#endif
