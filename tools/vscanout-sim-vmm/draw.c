// SPDX-License-Identifier: MIT
#include "draw.h"

/* 5 × 7 digits, one byte per row, bit 4 the leftmost pixel. */
static const uint8_t digit_font[10][7] = {
	{0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},
	{0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},
	{0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},
	{0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
	{0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},
};

#define DIGIT_W     (5 * DRAW_DIGIT_SCALE)
#define DIGIT_H     (7 * DRAW_DIGIT_SCALE)
#define DIGIT_GAP   DRAW_DIGIT_SCALE
#define COUNTER_X   16
#define COUNTER_Y   16
#define COUNTER_PAD 8

static uint32_t *row(const struct draw_target *t, uint32_t y)
{
	return (uint32_t *)(t->pixels + (uint64_t)y * t->stride);
}

/* The background's red (by column) and green and blue (by row) parts. */
static uint32_t background_column(const struct draw_target *t, uint32_t x)
{
	return (x * 255 / (t->width > 1 ? t->width - 1 : 1)) << 16;
}

static uint32_t background_row(const struct draw_target *t, uint32_t y)
{
	return 0xff000000u | (y * 255 / (t->height > 1 ? t->height - 1 : 1)) << 8;
}

static uint32_t background_blue(uint32_t x, uint32_t y)
{
	return ((x >> 6) + (y >> 6)) & 1 ? 0x60 : 0xa0;
}

static void fill_rect(struct draw_target *t, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
		      uint32_t value)
{
	if (x >= t->width || y >= t->height)
		return;
	if (w > t->width - x)
		w = t->width - x;
	if (h > t->height - y)
		h = t->height - y;
	for (uint32_t j = y; j < y + h; j++) {
		uint32_t *p = row(t, j);
		for (uint32_t i = x; i < x + w; i++)
			p[i] = value;
	}
}

/*
 * One row of the background of patterns 1 to 3, as bands: columns
 * alternate between two colours every `period` pixels, starting `phase`
 * pixels into a band of colour `first` at x = 0.
 */
struct pattern_row {
	uint32_t colour[2];
	uint32_t period, phase;
	unsigned int first;
};

static void pattern_row(const struct draw_target *t, uint32_t y, struct pattern_row *r)
{
	uint32_t shade = y * 64 / (t->height > 1 ? t->height : 1);
	switch (t->pattern) {
	case 1: /* blue diagonal stripes, lighter towards the bottom: band (x + y) / 48 */
		*r = (struct pattern_row){{0xff2860a8u + shade, 0xff183c78u + (shade << 8)},
					  48,
					  y % 48,
					  (y / 48) & 1};
		break;
	case 2: /* purple checkerboard of 96-pixel squares */
		*r = (struct pattern_row){
			{0xff803898u, 0xff502070u + (shade << 16)}, 96, 0, (y / 96) & 1};
		break;
	default: /* green horizontal bands, 32 rows each */
		*r = (struct pattern_row){{0xff307840u + shade, 0xff206030u + (shade << 8)},
					  UINT32_MAX,
					  0,
					  (y / 32) & 1};
		break;
	}
}

/* Paint columns x .. x + w - 1 of row y of a pattern's background. */
static void pattern_fill(const struct draw_target *t, uint32_t *p, uint32_t x, uint32_t w,
			 uint32_t y)
{
	struct pattern_row r;
	pattern_row(t, y, &r);
	uint64_t pos = (uint64_t)r.phase + x;
	unsigned int band = (unsigned int)((r.first + pos / r.period) & 1);
	uint32_t left = r.period - (uint32_t)(pos % r.period); /* pixels until the next band */
	for (uint32_t i = x; i < x + w; i++) {
		p[i] = r.colour[band];
		if (--left == 0) {
			band ^= 1;
			left = r.period;
		}
	}
}

static const uint32_t bar_colours[DRAW_PATTERNS] = {
	0xffe0e0e0u,
	0xffffd040u,
	0xff40e0ffu,
	0xffffffffu,
};

/* Repaint the background in a rectangle; cheap enough for every frame. */
static void restore_background(struct draw_target *t, uint32_t x, uint32_t y, uint32_t w,
			       uint32_t h)
{
	uint32_t columns[64];

	if (x >= t->width || y >= t->height)
		return;
	if (w > t->width - x)
		w = t->width - x;
	if (h > t->height - y)
		h = t->height - y;
	if (t->pattern != 0) {
		for (uint32_t j = y; j < y + h; j++) {
			pattern_fill(t, row(t, j), x, w, j);
		}
		return;
	}
	for (uint32_t x0 = x; x0 < x + w; x0 += 64) {
		uint32_t n = x + w - x0 < 64 ? x + w - x0 : 64;
		for (uint32_t i = 0; i < n; i++)
			columns[i] = background_column(t, x0 + i);
		for (uint32_t j = y; j < y + h; j++) {
			uint32_t *p = row(t, j) + x0;
			uint32_t base = background_row(t, j);
			for (uint32_t i = 0; i < n; i++)
				p[i] = base | columns[i] | background_blue(x0 + i, j);
		}
	}
}

void draw_target_init(struct draw_target *t, void *pixels, uint32_t width, uint32_t height,
		      uint32_t stride)
{
	t->pixels = pixels;
	t->width = width;
	t->height = height;
	t->stride = stride;
	t->bar_x = -1;
	t->pattern = 0;
}

void draw_target_set_pattern(struct draw_target *t, uint32_t pattern)
{
	t->pattern = pattern % DRAW_PATTERNS;
}

void draw_background(struct draw_target *t)
{
	restore_background(t, 0, 0, t->width, t->height);
	t->bar_x = -1;
}

static void draw_digit(struct draw_target *t, uint32_t x, uint32_t y, unsigned int digit)
{
	for (uint32_t j = 0; j < 7; j++) {
		for (uint32_t i = 0; i < 5; i++) {
			if (digit_font[digit][j] & (0x10 >> i))
				fill_rect(t, x + i * DRAW_DIGIT_SCALE, y + j * DRAW_DIGIT_SCALE,
					  DRAW_DIGIT_SCALE, DRAW_DIGIT_SCALE, 0xffffffffu);
		}
	}
}

static void draw_counter(struct draw_target *t, uint64_t value)
{
	uint32_t w = DRAW_COUNTER_DIGITS * (DIGIT_W + DIGIT_GAP) - DIGIT_GAP + 2 * COUNTER_PAD;
	uint32_t h = DIGIT_H + 2 * COUNTER_PAD;

	fill_rect(t, COUNTER_X, COUNTER_Y, w, h, 0xff000000u);
	for (int i = DRAW_COUNTER_DIGITS - 1; i >= 0; i--) {
		uint32_t x = COUNTER_X + COUNTER_PAD + (uint32_t)i * (DIGIT_W + DIGIT_GAP);
		draw_digit(t, x, COUNTER_Y + COUNTER_PAD, (unsigned int)(value % 10));
		value /= 10;
	}
}

void draw_frame(struct draw_target *t, uint64_t frame)
{
	if (t->width <= DRAW_BAR_WIDTH)
		return;
	if (t->bar_x >= 0)
		restore_background(t, (uint32_t)t->bar_x, 0, DRAW_BAR_WIDTH, t->height);
	uint32_t span = 2 * (t->width - DRAW_BAR_WIDTH);
	uint32_t pos = (uint32_t)((frame * 8) % span);
	if (pos >= t->width - DRAW_BAR_WIDTH)
		pos = span - pos;
	fill_rect(t, pos, 0, DRAW_BAR_WIDTH, t->height, bar_colours[t->pattern]);
	t->bar_x = (int32_t)pos;
	draw_counter(t, frame);
}

uint32_t draw_still_pixel(uint32_t x, uint32_t y, uint32_t seed)
{
	uint32_t h = x * 0x9e3779b1u ^ y * 0x85ebca77u ^ seed * 0xc2b2ae3du;
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return 0xff000000u | (h & 0x00ffffffu);
}

void draw_still(struct draw_target *t, uint32_t seed)
{
	for (uint32_t y = 0; y < t->height; y++) {
		uint32_t *p = row(t, y);
		for (uint32_t x = 0; x < t->width; x++)
			p[x] = draw_still_pixel(x, y, seed);
	}
	t->bar_x = -1;
}

void draw_cursor(struct draw_target *t)
{
	for (uint32_t y = 0; y < t->height; y++) {
		uint32_t *p = row(t, y);
		for (uint32_t x = 0; x < t->width; x++) {
			/* A filled triangle with a dark outline, tip at (0, 0). */
			uint32_t v = 0;
			if (x <= y && y < DRAW_CURSOR_SIZE - 8 && x < DRAW_CURSOR_SIZE / 2)
				v = (x == 0 || x == y || x + 1 >= DRAW_CURSOR_SIZE / 2 ||
				     y + 9 >= DRAW_CURSOR_SIZE - 8)
					    ? 0xff101010u
					    : 0xffffd040u;
			p[x] = v;
		}
	}
}

void draw_cursor_position(uint64_t t, uint32_t width, uint32_t height, int32_t *x, int32_t *y)
{
	uint32_t span_x = width > DRAW_CURSOR_SIZE ? width - DRAW_CURSOR_SIZE : 1;
	uint32_t span_y = height > DRAW_CURSOR_SIZE ? height - DRAW_CURSOR_SIZE : 1;
	uint64_t px = (t * 5) % (2 * span_x), py = (t * 3) % (2 * span_y);
	*x = (int32_t)(px < span_x ? px : 2 * span_x - px);
	*y = (int32_t)(py < span_y ? py : 2 * span_y - py);
}
