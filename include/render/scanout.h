/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_RENDER_SCANOUT_H
#define VSCANOUT_RENDER_SCANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pixman.h>

/*
 * A small swapchain of CPU-writable scanout buffers on one DRM device, for
 * the copy and composition path: what cannot be scanned out directly (a CPU
 * buffer, a dma-buf the device refuses, the placeholder) is drawn into one of
 * these with render/copy.h and the buffer's framebuffer is put on a plane.
 *
 * Life of a buffer, driven by the KMS core:
 *   scanout_swapchain_acquire()  -> draw into buffer->image
 *   scanout_buffer_set_busy()    -> committed (queued, then on screen)
 *   scanout_buffer_release()     -> after the next flip replaced it
 * acquire() hands out only buffers that are not busy, preferring the one
 * released longest ago, so with 2 buffers one is on screen while the other
 * is drawn.
 */

#define SCANOUT_MAX_BUFFERS 3

/*
 * How the buffers are allocated. Measured on virtio-gpu (Linux 6.1, Mesa 22.3,
 * under TCG), a 1280x800 XRGB8888 copy costs the same in both (2.9-3.5 ms),
 * but a GBM swapchain took 0.3-7 s to create (Mesa loads its driver) against
 * 0.1-0.3 s for dumb buffers, and Mesa leaks memory with every GBM device
 * created and destroyed. The CPU path gains nothing from GBM, so AUTO means
 * dumb buffers (as weston's pixman renderer does); GBM is there on request.
 */
enum scanout_alloc {
	SCANOUT_ALLOC_AUTO = 0, /* dumb buffers */
	SCANOUT_ALLOC_DUMB,     /* DRM_IOCTL_MODE_CREATE_DUMB + mmap */
	SCANOUT_ALLOC_GBM,      /* gbm_bo_create(LINEAR | SCANOUT) + gbm_bo_map() */
};

struct scanout_swapchain;

struct scanout_buffer {
	struct scanout_swapchain *swapchain; /* owner */
	struct kms_fb *fb;                   /* one reference, owned */
	pixman_image_t *image;               /* over data: draw here */
	void *data;            /* CPU mapping, write-combined on most devices: write, don't read */
	uint32_t stride;       /* bytes per row */
	size_t size;           /* bytes mapped */
	bool busy;             /* set by the KMS core while queued or on screen */
	uint64_t released_seq; /* private: order of release for acquire() */
	uint32_t handle;       /* private: dumb buffer GEM handle, 0 if none */
	struct gbm_bo *bo;     /* private: may be NULL */
	void *gbm_map_data;    /* private: gbm_bo_map()'s cookie */
};

struct kms_fb_registry;

struct scanout_swapchain {
	struct kms_fb_registry *fbs; /* borrowed: the device's, must outlive the swapchain */
	int drm_fd;                  /* borrowed: fbs->drm_fd */
	uint32_t width, height;
	uint32_t fourcc;
	enum scanout_alloc alloc; /* what was used: DUMB or GBM */
	struct gbm_device *gbm;   /* may be NULL */
	unsigned int n_buffers;
	struct scanout_buffer buffers[SCANOUT_MAX_BUFFERS];
	uint64_t release_seq;
};

/*
 * Allocate n_buffers (1..SCANOUT_MAX_BUFFERS) linear buffers of width ×
 * height in fourcc (a format of util/fourcc.h with a pixman code; DRM's
 * dumb buffers only know bytes per pixel, so any 1-plane format works) on
 * the device of fbs (borrowed), each mapped for the CPU, zero-filled,
 * wrapped as a pixman image and added as a framebuffer listed in fbs.
 * Returns NULL on failure (logged).
 */
struct scanout_swapchain *scanout_swapchain_create(struct kms_fb_registry *fbs, uint32_t width,
						   uint32_t height, uint32_t fourcc,
						   unsigned int n_buffers,
						   enum scanout_alloc alloc);

/*
 * Free the buffers: unrefs their framebuffers (the KMS core must hold its
 * own references to those still on screen), unmaps and frees the memory.
 * NULL is a no-op; works on a half-built swapchain.
 */
void scanout_swapchain_destroy(struct scanout_swapchain *swapchain);

/* A buffer that is not busy, or NULL when all are. Contents are the last drawn. */
struct scanout_buffer *scanout_swapchain_acquire(struct scanout_swapchain *swapchain);

/* Mark buffer as queued or on screen: acquire() will not return it. */
void scanout_buffer_set_busy(struct scanout_buffer *buffer);

/* The flip that replaced buffer happened: it may be drawn again. */
void scanout_buffer_release(struct scanout_buffer *buffer);

#endif
