/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_SIM_VMM_DRAW_H
#define VSCANOUT_SIM_VMM_DRAW_H

#include <stdint.h>

/*
 * What the simulated guest draws. Everything is a pure function of its
 * arguments, so a test can compute the picture it expects on screen.
 *
 * Frames are cheap to draw (the guest runs under TCG in the tests): a
 * static gradient is drawn once per buffer, then each frame repaints only
 * the bar that moves across it and the frame counter in its top-left
 * corner, after restoring what the buffer's previous frame changed.
 */

/* A 32-bit-per-pixel picture in memory (XRGB8888 or ARGB8888). */
struct draw_target {
	uint8_t *pixels; /* borrowed */
	uint32_t width, height;
	uint32_t stride;  /* bytes per row */
	int32_t bar_x;    /* where this buffer's bar was drawn, -1: none yet */
	uint32_t pattern; /* background and bar colours, below DRAW_PATTERNS */
};

/*
 * Animated pictures come in DRAW_PATTERNS looks, so that several guests on
 * one screen or side by side are told apart at a glance: 0 a red-green
 * gradient over a blue checkerboard with a grey bar, 1 blue diagonal
 * stripes with a yellow bar, 2 a purple checkerboard with a cyan bar, 3
 * green bands with a white bar.
 */
#define DRAW_PATTERNS 4

/* Width of the moving bar and size of the counter's digits, in pixels. */
#define DRAW_BAR_WIDTH      32
#define DRAW_DIGIT_SCALE    4
#define DRAW_COUNTER_DIGITS 8

/* Side of the square cursor image. */
#define DRAW_CURSOR_SIZE 64

/* A target over pixels, with nothing drawn yet, in pattern 0. */
void draw_target_init(struct draw_target *t, void *pixels, uint32_t width, uint32_t height,
		      uint32_t stride);

/* Choose the look of animated frames (taken modulo DRAW_PATTERNS); call before draw_background().
 */
void draw_target_set_pattern(struct draw_target *t, uint32_t pattern);

/* Paint the static background of animated frames over the whole target. */
void draw_background(struct draw_target *t);

/*
 * Turn a target holding the background (draw_background()) and any earlier
 * frame into frame number `frame`: the bar at its position for that frame
 * and the counter showing the number.
 */
void draw_frame(struct draw_target *t, uint64_t frame);

/*
 * Fill the whole target with the still picture of seed: every pixel a hash
 * of (x, y, seed) with the X byte 0xff, so that a shifted, scaled, stale or
 * partly copied picture cannot match it by accident.
 */
void draw_still(struct draw_target *t, uint32_t seed);

/* The still picture's pixel at (x, y). */
uint32_t draw_still_pixel(uint32_t x, uint32_t y, uint32_t seed);

/*
 * Paint the cursor image (DRAW_CURSOR_SIZE square, ARGB8888,
 * premultiplied): an arrow whose pixels are either opaque or fully
 * transparent (0), so any blending gives exact results.
 */
void draw_cursor(struct draw_target *t);

/*
 * Where the cursor's top-left corner goes on an output of width × height
 * at time t (the frame number while animating, the seed for a still
 * picture). Always fully inside the output.
 */
void draw_cursor_position(uint64_t t, uint32_t width, uint32_t height, int32_t *x, int32_t *y);

#endif
