/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_KMS_FB_H
#define VSCANOUT_KMS_FB_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "util/fourcc.h"

struct buffer;

/*
 * DRM framebuffers, reference counted: a plane's pending, queued and current
 * slots, an in-flight commit and a buffer's cache may all hold the same one.
 * The last kms_fb_unref() removes the framebuffer with drmModeRmFB(); if it
 * is still on a plane the kernel turns that plane off, so the KMS core keeps
 * a reference as long as a plane shows it.
 *
 * GEM handles: kms_fb_import() closes every handle it made right after
 * drmModeAddFB2*() (the framebuffer keeps the GEM objects alive), each
 * distinct handle exactly once even when planes share a dma-buf. Handles are
 * per DRM file and one dma-buf imported twice gives the same handle, so they
 * are never kept across calls.
 */

/* Why a buffer could not become a framebuffer on a device. */
enum kms_fb_failure {
	KMS_FB_FAIL_NONE = 0,
	KMS_FB_FAIL_NOT_DMABUF, /* a CPU buffer: it can only be copied */
	KMS_FB_FAIL_MODIFIER,   /* explicit modifier, device lacks ADDFB2_MODIFIERS */
	KMS_FB_FAIL_IMPORT,     /* drmPrimeFDToHandle() refused the dma-buf (virtio-gpu on 6.1:
				   ENODEV for every foreign dma-buf) */
	KMS_FB_FAIL_ADDFB,      /* drmModeAddFB2*() refused format, modifier or layout */
	KMS_FB_FAIL_COMMIT,     /* a real commit showing it failed (kms_fb_poison()) */
	KMS_FB_FAIL__COUNT,
};

/* "not a dma-buf", "modifier", "import", "addfb", "commit"; "none" for 0. */
const char *kms_fb_failure_name(enum kms_fb_failure failure);

/*
 * The framebuffers of one DRM device (struct kms_device.fbs). Every kms_fb
 * made on the device is listed here, and the framebuffers and failures a
 * buffer caches (struct buffer_import) are keyed by this object, never by the
 * fd number: a closed fd's number is soon another device's.
 * kms_fb_registry_finish(), called while the fd is still open, drops every
 * cached import and removes every framebuffer still referenced elsewhere;
 * those become dead (fb_id 0), and their last unref only frees them.
 */
struct kms_fb_registry {
	int drm_fd;               /* borrowed: open until kms_fb_registry_finish() */
	bool modifiers_supported; /* the device has DRM_CAP_ADDFB2_MODIFIERS */
	struct wl_list fbs;       /* kms_fb.link: framebuffers not removed yet */
	struct wl_list imports;   /* buffer_import.registry_link */
};

/* Start an empty registry for the DRM device drm_fd (borrowed). */
void kms_fb_registry_init(struct kms_fb_registry *registry, int drm_fd, bool modifiers_supported);

/*
 * The device goes away (its fd must still be open): every buffer forgets
 * what it cached about it, and every framebuffer still alive is removed
 * with drmModeRmFB() and marked dead, so that nothing made on this device
 * is ever used on another one that gets the same fd number.
 */
void kms_fb_registry_finish(struct kms_fb_registry *registry);

struct kms_fb {
	int refcnt;
	struct kms_fb_registry *registry; /* may be NULL: dead, its device went away */
	struct wl_list link;              /* kms_fb_registry.fbs while alive */
	uint32_t fb_id;                   /* 0 when dead */
	uint32_t width, height;
	uint32_t fourcc;
	uint64_t modifier; /* DRM_FORMAT_MOD_INVALID when added without modifiers */
	/* The GEM handles the framebuffer was created from, for information only:
	   imported ones are already closed, a caller's ones belong to the caller. */
	uint32_t handles[FOURCC_MAX_PLANES];
};

/*
 * The framebuffer of buffer on the device of registry, importing it on
 * first use: drmPrimeFDToHandle() for each plane, then
 * drmModeAddFB2WithModifiers(), or drmModeAddFB2() when the modifier is
 * LINEAR or INVALID and !registry->modifiers_supported. The buffer's fds are
 * borrowed.
 *
 * The result is cached on the buffer per registry (struct buffer_import,
 * also listed in the registry): a second call returns the same kms_fb. A failure is cached the same
 * way: later calls return NULL with the same reason without touching the kernel, until
 * kms_fb_forget().
 *
 * Returns a new reference the caller drops with kms_fb_unref(), or NULL
 * with *failure set (failure may be NULL) and errno set to the error. The
 * first failure on a device is logged once, as a debug message for
 * KMS_FB_FAIL_NOT_DMABUF and a warning otherwise.
 */
struct kms_fb *kms_fb_import(struct kms_fb_registry *registry, struct buffer *buffer,
			     enum kms_fb_failure *failure);

/*
 * Drop what buffer remembers about the device of registry: the cached
 * framebuffer reference and any recorded failure, so the next
 * kms_fb_import() tries again (after a session resume, say). No-op if
 * nothing is remembered. kms_fb_registry_finish() does this for every buffer.
 */
void kms_fb_forget(struct buffer *buffer, struct kms_fb_registry *registry);

/*
 * The kernel refused to show buffer's framebuffer on the device of registry
 * (a real commit failed where a test commit passed): drop the cached
 * framebuffer and remember the failure (KMS_FB_FAIL_COMMIT, error a positive
 * errno), so that the buffer is copied from now on instead of being offered
 * to a plane every frame. No-op if the buffer has no framebuffer there.
 */
void kms_fb_poison(struct buffer *buffer, struct kms_fb_registry *registry, int error);

/*
 * A framebuffer for an internal buffer (dumb buffer, GBM bo) of the device
 * of registry, from GEM handles the caller owns: they are borrowed, never
 * closed here, and may be closed by the caller once this returns (the
 * framebuffer keeps the objects). n_planes entries of handles, strides and
 * offsets are used. The modifier is passed with
 * drmModeAddFB2WithModifiers() when the device supports modifiers and it is
 * not DRM_FORMAT_MOD_INVALID; otherwise it must be LINEAR or INVALID and
 * drmModeAddFB2() is used.
 * Returns a kms_fb with one reference, or NULL with errno set (logged).
 */
struct kms_fb *kms_fb_create(struct kms_fb_registry *registry, uint32_t width, uint32_t height,
			     uint32_t fourcc, uint64_t modifier, unsigned int n_planes,
			     const uint32_t handles[], const uint32_t strides[],
			     const uint32_t offsets[]);

/* Take a reference; returns fb. */
struct kms_fb *kms_fb_ref(struct kms_fb *fb);

/*
 * Drop a reference (assert(fb->refcnt > 0)); the last one removes the
 * framebuffer (unless it is dead) and frees fb. NULL is a no-op.
 */
void kms_fb_unref(struct kms_fb *fb);

#endif
