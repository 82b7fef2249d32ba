/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_KMS_FLIP_H
#define VSCANOUT_KMS_FLIP_H

#include <stdbool.h>

/*
 * How a frame is flipped: the asynchronous-flip decision, kept free of any
 * DRM call so that it can be tested without a driver that supports async
 * flips (vkms and virtio-gpu have none).
 */

/* What the user asked for an output. */
enum kms_flip_policy {
	KMS_FLIP_ASYNC = 0, /* tear rather than wait: lowest latency (default) */
	KMS_FLIP_VSYNC,     /* every flip on a vblank */
	KMS_FLIP_POLICY__COUNT,
};

/* What the driver said about one async method, remembered per output. */
enum kms_async_probe {
	KMS_ASYNC_UNKNOWN = 0, /* not tried yet: probe with TEST_ONLY first */
	KMS_ASYNC_WORKS,       /* a probe or commit succeeded */
	KMS_ASYNC_REJECTED,    /* EINVAL: do not try again on this output */
};

/* The commit method chosen for a frame. */
enum kms_flip_method {
	KMS_FLIP_METHOD_VSYNC = 0,    /* atomic commit, flips on the next vblank */
	KMS_FLIP_METHOD_ATOMIC_ASYNC, /* atomic commit with DRM_MODE_PAGE_FLIP_ASYNC */
	KMS_FLIP_METHOD_LEGACY_ASYNC, /* drmModePageFlip(DRM_MODE_PAGE_FLIP_ASYNC) */
	KMS_FLIP_METHOD__COUNT,
};

/* Everything the decision depends on. */
struct kms_flip_input {
	enum kms_flip_policy policy;
	bool cap_atomic_async; /* DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP */
	bool cap_legacy_async; /* DRM_CAP_ASYNC_PAGE_FLIP */
	enum kms_async_probe atomic_probe;
	enum kms_async_probe legacy_probe;
	/* The frame: */
	bool modeset;      /* mode, CRTC or connector changes (incl. writeback attach) */
	bool capture;      /* a writeback job rides on the commit */
	bool primary_only; /* exactly one plane is on: the primary, whole-screen */
	bool fb_only;      /* only the primary's FB_ID differs from the previous commit */
};

/* The decision: method, and whether to test it first with TEST_ONLY. */
struct kms_flip_decision {
	enum kms_flip_method method;
	bool probe; /* TEST_ONLY|ASYNC before the real commit (atomic only) */
};

/*
 * Decide how to flip a frame. Async only when the policy asks for it and
 * the frame is an FB_ID-only change of the primary plane with no modeset and
 * no capture; then atomic async if the driver has the cap and has not
 * rejected it (probing it once), else legacy async under the same
 * conditions (legacy cannot be tested, so the first real flip is the probe).
 * Everything else flips on vblank. The caller falls back to a vsync commit of
 * the same frame when the chosen async commit is rejected, and records the
 * rejection with kms_flip_record().
 */
struct kms_flip_decision kms_flip_decide(const struct kms_flip_input *input);

/*
 * Update the remembered probe state of method after a commit or probe that
 * returned ret (0 or negative errno). EINVAL (and the other rejections)
 * mark the method rejected; other errors leave it unknown.
 */
void kms_flip_record(enum kms_async_probe *atomic_probe, enum kms_async_probe *legacy_probe,
		     enum kms_flip_method method, int ret);

/* "vsync", "atomic-async", "legacy-async". */
const char *kms_flip_method_name(enum kms_flip_method method);

/* "async", "vsync". */
const char *kms_flip_policy_name(enum kms_flip_policy policy);

#endif
