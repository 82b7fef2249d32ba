// SPDX-License-Identifier: MIT
/*
 * The regions of an output's vGPUs (see vgpu/layout.h for each layout).
 * Every cut of a length L into k parts gives L / k to each and what is left
 * over to the last, so the parts cover L exactly.
 */
#include <string.h>

#include "vgpu/layout.h"

/* Part i of `length` cut into k parts: its start and size. */
static void cut(uint32_t length, uint32_t k, uint32_t i, int32_t *start, uint32_t *size)
{
	uint32_t part = length / k;
	*start = (int32_t)(part * i);
	*size = i + 1 == k ? length - part * i : part;
}

/* The smallest c with c * c >= n. */
static uint32_t ceil_sqrt(uint32_t n)
{
	uint32_t c = 0;
	while (c * c < n)
		c++;
	return c;
}

static void grid(size_t n, uint32_t width, uint32_t height, struct kms_rect *regions)
{
	uint32_t cols = ceil_sqrt((uint32_t)n);
	uint32_t rows = ((uint32_t)n + cols - 1) / cols;
	for (uint32_t i = 0; i < n; i++) {
		struct kms_rect *r = &regions[i];
		uint32_t col = i % cols, row = i / cols;
		cut(height, rows, row, &r->y, &r->height);
		cut(width, cols, col, &r->x, &r->width);
		if (i + 1 == n) /* the last one takes the rest of its row */
			r->width = width - (uint32_t)r->x;
	}
}

static void pip(size_t n, uint32_t width, uint32_t height, struct kms_rect *regions)
{
	regions[0] = (struct kms_rect){0, 0, width, height};
	uint32_t w = width / 4, h = height / 4;
	uint32_t margin_x = width / 32, margin_y = height / 32;
	for (uint32_t k = 1; k < n; k++) {
		regions[k] = (struct kms_rect){
			.x = (int32_t)(width - k * (margin_x + w)),
			.y = (int32_t)(height - margin_y - h),
			.width = w,
			.height = h,
		};
	}
}

/* A region key cut down to the output. */
static void clip(const struct config_region *in, uint32_t width, uint32_t height,
		 struct kms_rect *out)
{
	int64_t x0 = in->x, y0 = in->y;
	int64_t x1 = x0 + in->width, y1 = y0 + in->height;
	x0 = x0 < 0 ? 0 : x0;
	y0 = y0 < 0 ? 0 : y0;
	x1 = x1 > width ? width : x1;
	y1 = y1 > height ? height : y1;
	if (x1 <= x0 || y1 <= y0) {
		*out = (struct kms_rect){0, 0, 0, 0};
		return;
	}
	*out = (struct kms_rect){(int32_t)x0, (int32_t)y0, (uint32_t)(x1 - x0),
				 (uint32_t)(y1 - y0)};
}

void vgpu_layout_regions(enum config_layout layout, size_t n,
			 const struct config_region *explicit_regions, uint32_t width,
			 uint32_t height, struct kms_rect *regions)
{
	if (n > CONFIG_OUTPUT_MAX_VGPUS)
		n = CONFIG_OUTPUT_MAX_VGPUS;
	if (n == 0)
		return;
	if (width == 0 || height == 0) {
		memset(regions, 0, n * sizeof(*regions));
		return;
	}
	switch (layout) {
	case CONFIG_LAYOUT_REGIONS:
		for (size_t i = 0; i < n; i++)
			clip(&explicit_regions[i], width, height, &regions[i]);
		return;
	case CONFIG_LAYOUT_ROWS:
		for (uint32_t i = 0; i < n; i++) {
			regions[i] = (struct kms_rect){.x = 0, .width = width};
			cut(height, (uint32_t)n, i, &regions[i].y, &regions[i].height);
		}
		return;
	case CONFIG_LAYOUT_GRID:
		grid(n, width, height, regions);
		return;
	case CONFIG_LAYOUT_PIP:
		pip(n, width, height, regions);
		return;
	case CONFIG_LAYOUT_COLUMNS:
		break;
	}
	for (uint32_t i = 0; i < n; i++) {
		regions[i] = (struct kms_rect){.y = 0, .height = height};
		cut(width, (uint32_t)n, i, &regions[i].x, &regions[i].width);
	}
}

size_t vgpu_layout_output(const struct config_output *co, uint32_t width, uint32_t height,
			  struct kms_rect regions[CONFIG_OUTPUT_MAX_VGPUS])
{
	size_t n = config_output_n_vgpus(co);
	if (n > CONFIG_OUTPUT_MAX_VGPUS)
		n = CONFIG_OUTPUT_MAX_VGPUS;
	vgpu_layout_regions(co->layout, n, co->regions, width, height, regions);
	return n;
}

void vgpu_layout_slot(const struct config_output *co, size_t slot, uint32_t width, uint32_t height,
		      struct kms_rect *region)
{
	struct kms_rect regions[CONFIG_OUTPUT_MAX_VGPUS];
	size_t n = vgpu_layout_output(co, width, height, regions);
	*region = slot < n ? regions[slot] : (struct kms_rect){0, 0, 0, 0};
}

int vgpu_layout_slot_at(const struct kms_rect *regions, size_t n, double x, double y)
{
	for (size_t i = n; i-- > 0;) {
		const struct kms_rect *r = &regions[i];
		if (x >= r->x && y >= r->y && x < (double)r->x + r->width &&
		    y < (double)r->y + r->height)
			return (int)i;
	}
	return -1;
}
