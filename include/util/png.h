/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_UTIL_PNG_H
#define VSCANOUT_UTIL_PNG_H

#include <stddef.h>
#include <stdint.h>

/*
 * A minimal PNG writer for screenshots, without any library.
 *
 * The image is written as 8-bit RGB (colour type 2, no interlace), every
 * row with filter type 0 (none), inside a zlib stream made of stored
 * (uncompressed) deflate blocks: the file is about 3 bytes per pixel, and
 * writing it costs a copy, a CRC-32 and an Adler-32 of the data. The zlib
 * stream is split over IDAT chunks of at most PNG_IDAT_SIZE bytes, so
 * nothing of the image's size is allocated.
 *
 * Layout: signature, IHDR, an optional tEXt chunk with the keyword
 * "Comment", the IDAT chunks, IEND.
 */

/* Most bytes of zlib stream per IDAT chunk. */
#define PNG_IDAT_SIZE 65536

/*
 * Write a PNG of the XRGB8888 pixels (width × height, stride bytes from one
 * row to the next, any alignment; the X byte is ignored) into fd
 * (borrowed), a regular file or memfd: the file is truncated to 0 first,
 * written from offset 0 with pwrite() and ends at the PNG's size. comment
 * (may be NULL: none; Latin-1, no NUL) goes into a tEXt "Comment" chunk.
 *
 * Returns 0, -EINVAL for a zero or too large size (width and height must
 * lie within 1..2^31-1) or a stride shorter than a row, -ENOMEM, or the
 * negative errno of ftruncate()/pwrite() (-ENOSPC for a write that made no
 * progress). On error the file holds a partial image.
 */
int png_write(int fd, const void *xrgb8888, uint32_t width, uint32_t height, uint32_t stride,
	      const char *comment);

/*
 * CRC-32 (ISO 3309, the one of PNG chunks and gzip) of size bytes at data,
 * continuing from crc (0 to start).
 */
uint32_t png_crc32(uint32_t crc, const void *data, size_t size);

/* Adler-32 (RFC 1950) of size bytes at data, continuing from adler (1 to start). */
uint32_t png_adler32(uint32_t adler, const void *data, size_t size);

#endif
