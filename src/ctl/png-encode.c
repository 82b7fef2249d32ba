// SPDX-License-Identifier: MIT
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "png-encode.h"

/* The PNG as it grows, and where libpng's error message goes. */
struct sink {
	uint8_t *data;
	size_t size, capacity;
	bool failed; /* out of memory */
	char *err;
	size_t err_size;
};

static void handle_write(png_structp png, png_bytep data, size_t length)
{
	struct sink *sink = png_get_io_ptr(png);
	if (length > sink->capacity - sink->size) {
		size_t capacity = sink->capacity > 0 ? sink->capacity : 65536;
		while (length > capacity - sink->size) {
			if (capacity > SIZE_MAX / 2) {
				sink->failed = true;
				png_error(png, "the PNG is too large");
			}
			capacity *= 2;
		}
		uint8_t *grown = realloc(sink->data, capacity);
		if (grown == NULL) {
			sink->failed = true;
			png_error(png, "out of memory");
		}
		sink->data = grown;
		sink->capacity = capacity;
	}
	memcpy(sink->data + sink->size, data, length);
	sink->size += length;
}

static void handle_flush(png_structp png)
{
}

static void handle_error(png_structp png, png_const_charp message)
{
	struct sink *sink = png_get_error_ptr(png);
	snprintf(sink->err, sink->err_size, "libpng: %s", message);
	png_longjmp(png, 1);
}

static void handle_warning(png_structp png, png_const_charp message)
{
}

int ctl_png_encode(const void *pixels, uint32_t width, uint32_t height, uint32_t stride,
		   const char *comment, uint8_t **png_data, size_t *png_size, char *err,
		   size_t err_size)
{
	if (width == 0 || height == 0 || width > INT32_MAX || height > INT32_MAX ||
	    stride / 4 < width) {
		snprintf(err, err_size, "cannot encode a %ux%u image of stride %u", width, height,
			 stride);
		return -EINVAL;
	}
	struct sink sink = {.err = err, .err_size = err_size};
	png_structp png =
		png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, handle_error, handle_warning);
	if (png == NULL) {
		snprintf(err, err_size, "libpng: out of memory");
		return -ENOMEM;
	}
	png_infop info = png_create_info_struct(png);
	if (info == NULL || setjmp(png_jmpbuf(png)) != 0) {
		/* Nothing set after setjmp() is read here but sink, through a pointer. */
		png_destroy_write_struct(&png, &info);
		free(sink.data);
		if (info == NULL)
			snprintf(err, err_size, "libpng: out of memory");
		return info == NULL || sink.failed ? -ENOMEM : -EIO;
	}
	png_set_write_fn(png, &sink, handle_write, handle_flush);
	png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (comment != NULL) {
		png_text text = {
			.compression = PNG_TEXT_COMPRESSION_NONE,
			.key = (png_charp) "Comment",
			.text = (png_charp)comment,
			.text_length = strlen(comment),
		};
		png_set_text(png, info, &text, 1);
	}
	png_write_info(png, info);
	/* XRGB8888 is B, G, R, X in memory: RGB once swapped and the filler dropped. */
	png_set_bgr(png);
	png_set_filler(png, 0, PNG_FILLER_AFTER);
	const uint8_t *row = pixels;
	for (uint32_t y = 0; y < height; y++, row += stride)
		png_write_row(png, (png_const_bytep)row);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	*png_data = sink.data;
	*png_size = sink.size;
	return 0;
}
