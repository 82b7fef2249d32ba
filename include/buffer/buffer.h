/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_BUFFER_BUFFER_H
#define VSCANOUT_BUFFER_BUFFER_H

#include <stdbool.h>
#include <stdint.h>

#include <wayland-server-core.h>

#include "buffer/dmabuf.h"

struct kms_fb;

/*
 * A buffer: one image a source (a VMM protocol client, a VFIO device) hands
 * to the KMS core. Either a dma-buf, which the KMS core tries to scan out
 * directly (kms/fb.h), or CPU pixels the source owns (region-type vGPUs),
 * which the copy path reads (render/copy.h).
 *
 * Two counts:
 *  - references (buffer_ref()/buffer_unref()) keep the struct alive; the
 *    last unref emits events.destroy and frees it.
 *  - locks (buffer_lock()/buffer_unlock()) count users that scan the buffer
 *    out or read it. Each lock also holds a reference. When the last lock
 *    goes, events.release fires: the source may reuse the pixels (the
 *    protocol sends a wl_buffer-like release event).
 *
 * Order for a buffer created, locked once and dropped by its creator:
 *   buffer_create_*() (refs 1) -> buffer_lock() (refs 2, locks 1)
 *   -> buffer_unref() (refs 1) -> buffer_unlock(): release, then destroy.
 *
 * The buffer remembers, per DRM device, the framebuffer made from it or why
 * that failed (struct buffer_import, filled by kms/fb.c), so a buffer that
 * cannot be imported is not retried every frame.
 */

enum buffer_type {
	BUFFER_DMABUF,
	BUFFER_CPU,
};

/* Pixels in memory the source owns; see buffer_create_cpu(). */
struct buffer_cpu {
	const void *data; /* borrowed: first byte of row 0 */
	uint32_t stride;  /* bytes per row */
};

/*
 * What a buffer remembers about one DRM device. Created and destroyed by
 * kms/fb.c (kms_fb_import(), kms_fb_forget()); read-only for everyone else.
 */
struct buffer_import {
	struct wl_list link;          /* buffer.imports */
	const void *owner;            /* the key: the device's struct kms_fb_registry */
	struct wl_list registry_link; /* kms_fb_registry.imports; used by kms/fb.c */
	struct kms_fb *fb; /* may be NULL: the framebuffer; the cache holds a reference */
	uint32_t failure;  /* 0, or the enum kms_fb_failure of a failed import */
	int error;         /* positive errno of the failure, 0 if none */
	char message[160]; /* what failed, for logs and inspection; "" if nothing */
	struct wl_listener buffer_destroy; /* buffer.events.destroy; used by kms/fb.c */
};

struct buffer {
	enum buffer_type type;
	uint32_t width, height; /* pixels */
	uint32_t fourcc;        /* DRM_FORMAT_* */
	uint64_t modifier;      /* DRM_FORMAT_MOD_LINEAR for CPU buffers */

	struct dmabuf_attributes dmabuf; /* BUFFER_DMABUF: owned (fds owned) */
	struct buffer_cpu cpu;           /* BUFFER_CPU */

	int refcnt;
	int n_locks;

	struct {
		struct wl_signal release; /* data: the buffer; last lock gone */
		struct wl_signal destroy; /* data: the buffer; about to be freed */
	} events;

	struct wl_list imports; /* struct buffer_import.link */

	/* private: read access to plane 0 of a dma-buf, mapped during a read only */
	struct dmabuf_mapping mapping;
	bool reading;
	/* private: waiting for the dma-buf's write fences (struct buffer_waiter) */
	struct wl_list waiters;               /* buffer_waiter.link */
	struct wl_event_source *fence_source; /* may be NULL: readable on a busy plane fd */
	struct wl_event_loop *fence_loop;     /* may be NULL: the loop of fence_source */
};

/*
 * A buffer around a dma-buf. attrs is checked with dmabuf_attributes_check()
 * first (the message is logged on failure). On success the attributes and
 * their fds are taken: *attrs is moved into the buffer and reset to empty.
 * On failure returns NULL and attrs is left untouched (the caller still owns
 * the fds). The buffer starts with one reference and no lock.
 */
struct buffer *buffer_create_dmabuf(struct dmabuf_attributes *attrs);

/*
 * A buffer around CPU pixels owned by the source: data (borrowed) must stay
 * valid until events.destroy. fourcc must have a pixman code (util/fourcc.h),
 * width and height 1..DMABUF_MAX_DIMENSION, stride >= width × bytes per
 * pixel and a multiple of 4. Returns NULL (errno EINVAL, reason logged) on
 * bad arguments.
 */
struct buffer *buffer_create_cpu(const void *data, uint32_t width, uint32_t height, uint32_t stride,
				 uint32_t fourcc);

/* Take a reference; returns buffer. */
struct buffer *buffer_ref(struct buffer *buffer);

/*
 * Drop a reference; the last one emits events.destroy, drops the cached
 * framebuffers (through their destroy listeners), unmaps, closes the
 * dma-buf fds and frees. NULL is a no-op. A locked buffer holds references,
 * so it is never freed while locked.
 */
void buffer_unref(struct buffer *buffer);

/* Count one more user (and take a reference). */
void buffer_lock(struct buffer *buffer);

/*
 * Drop one user: the last emits events.release, then the lock's reference is
 * dropped (which may free the buffer). Must pair with buffer_lock().
 */
void buffer_unlock(struct buffer *buffer);

/*
 * What this buffer remembers about the device whose struct kms_fb_registry
 * is owner, or NULL if never offered to it.
 */
struct buffer_import *buffer_get_import(struct buffer *buffer, const void *owner);

/*
 * Pixels of plane 0 for the CPU. For a dma-buf the plane is mapped for the
 * read only (buffer_end_read() unmaps it) and the read is bracketed with
 * DMA_BUF_IOCTL_SYNC; for CPU pixels this only hands out the
 * pointer. On success *data and *stride describe row 0 of the image and
 * buffer_end_read() must follow. A dma-buf must be LINEAR, or INVALID (an
 * implicit modifier, taken as linear). Never waits for the producer: a
 * dma-buf whose write fences have not signalled is not read (-EAGAIN; see
 * buffer_readable() and struct buffer_waiter). Returns 0, -EAGAIN, -EBUSY
 * when a read is already in progress, -EOPNOTSUPP for another modifier
 * (tiled memory is not read by the CPU), or the negative errno of mmap/the
 * sync ioctl.
 */
int buffer_begin_read(struct buffer *buffer, const void **data, uint32_t *stride);

/* End a read begun by buffer_begin_read(). Returns 0 or a negative errno. */
int buffer_end_read(struct buffer *buffer);

/*
 * Whether the CPU may read the buffer now without waiting: always for CPU
 * pixels; for a dma-buf, once the write fences of every plane have
 * signalled (dmabuf_attributes_busy_fd()). Never waits.
 */
bool buffer_readable(struct buffer *buffer);

/*
 * A one-shot wait on the event loop for a dma-buf buffer to become
 * readable, embedded in its user (an output holding a frame back, a
 * screenshot). A zeroed waiter waits for nothing. The buffer keeps at most
 * one fd source on the loop for all its waiters, on the plane fd that is
 * still busy (a dma-buf polls readable once its write fences signalled); it
 * is removed when the last waiter is done or cancelled, or with the buffer.
 * The waiter takes no reference on the buffer.
 */
struct buffer_waiter {
	struct buffer *buffer; /* may be NULL: not waiting */
	struct wl_list link;   /* buffer.waiters, while waiting */
	void (*notify)(struct buffer_waiter *waiter);
};

/*
 * Wait for buffer (a dma-buf) to become readable: notify(waiter) is called
 * once, from the loop's dispatch (never from within this call), when it is;
 * the waiter is idle again by then and may wait anew. A buffer destroyed
 * first cancels its waiters without notify (buffer NULL again): whoever
 * replaced it hears of that otherwise (a layer schedules a frame anyway). A waiter already waiting
 * is moved to this buffer. Returns 0, -EINVAL for a CPU buffer (always
 * readable), or a negative errno (then the waiter is idle).
 */
int buffer_waiter_wait(struct buffer_waiter *waiter, struct buffer *buffer,
		       struct wl_event_loop *loop, void (*notify)(struct buffer_waiter *waiter));

/* Stop waiting without notify; an idle or zeroed waiter is left as it is. */
void buffer_waiter_cancel(struct buffer_waiter *waiter);

#endif
