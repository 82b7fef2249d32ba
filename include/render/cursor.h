/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_RENDER_CURSOR_H
#define VSCANOUT_RENDER_CURSOR_H

#include <stdint.h>

struct buffer;

/* Size of the host cursor image, what cursor planes take everywhere. */
#define RENDER_CURSOR_SIZE 64

/*
 * The host's pointer image, shown where a VM has no cursor of its own: a
 * white arrow with a black outline, its hotspot at 0,0, in a
 * RENDER_CURSOR_SIZE square ARGB8888 dumb buffer of the DRM device drm_fd,
 * exported as a dma-buf so that the cursor plane scans it out. Returns a
 * buffer with one reference, or NULL (logged).
 */
struct buffer *render_cursor_create(int drm_fd);

#endif
