/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_KMS_PROPERTIES_H
#define VSCANOUT_KMS_PROPERTIES_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xf86drmMode.h>

/*
 * KMS property ids, resolved once per object into enum-indexed tables, and
 * an atomic request accumulator.
 *
 * Nothing in a frame looks a property up by name: each object's ids are read
 * when the device is created (kms_props_resolve()) and a missing optional
 * property is id 0. Adding a property with id 0 to a request is recorded as
 * a failure (-ENOENT) of that request.
 */

enum kms_plane_prop {
	KMS_PLANE_FB_ID,
	KMS_PLANE_CRTC_ID,
	KMS_PLANE_CRTC_X,
	KMS_PLANE_CRTC_Y,
	KMS_PLANE_CRTC_W,
	KMS_PLANE_CRTC_H,
	KMS_PLANE_SRC_X,
	KMS_PLANE_SRC_Y,
	KMS_PLANE_SRC_W,
	KMS_PLANE_SRC_H,
	KMS_PLANE_TYPE,
	KMS_PLANE_IN_FORMATS, /* optional */
	KMS_PLANE_ZPOS,       /* optional */
	KMS_PLANE_ROTATION,   /* optional */
	KMS_PLANE_ALPHA,      /* optional */
	KMS_PLANE_PROP__COUNT,
};

enum kms_crtc_prop {
	KMS_CRTC_ACTIVE,
	KMS_CRTC_MODE_ID,
	KMS_CRTC_OUT_FENCE_PTR, /* optional */
	KMS_CRTC_VRR_ENABLED,   /* optional */
	KMS_CRTC_PROP__COUNT,
};

enum kms_connector_prop {
	KMS_CONNECTOR_CRTC_ID,
	KMS_CONNECTOR_LINK_STATUS,             /* optional */
	KMS_CONNECTOR_NON_DESKTOP,             /* optional */
	KMS_CONNECTOR_WRITEBACK_FB_ID,         /* writeback connectors only */
	KMS_CONNECTOR_WRITEBACK_OUT_FENCE_PTR, /* writeback connectors only */
	KMS_CONNECTOR_WRITEBACK_PIXEL_FORMATS, /* writeback connectors only */
	KMS_CONNECTOR_PROP__COUNT,
};

/* The kernel names of the properties, indexed by the enums above. */
extern const char *const kms_plane_prop_names[KMS_PLANE_PROP__COUNT];
extern const char *const kms_crtc_prop_names[KMS_CRTC_PROP__COUNT];
extern const char *const kms_connector_prop_names[KMS_CONNECTOR_PROP__COUNT];

/*
 * Read the properties of KMS object obj_id (DRM_MODE_OBJECT_PLANE, _CRTC or
 * _CONNECTOR) and fill ids[i] with the id of the property called names[i]
 * (0 when the object has none) and, if values is not NULL, values[i] with
 * its current value (0 when absent). Returns 0 or a negative errno.
 */
int kms_props_resolve(int fd, uint32_t obj_id, uint32_t obj_type, const char *const *names,
		      size_t count, uint32_t *ids, uint64_t *values);

/*
 * Current value of the property prop_id of an object, read from the
 * kernel now (for properties that change behind our back: link-status).
 * Returns 0 and sets *value, or a negative errno (-ENOENT if prop_id is 0
 * or not on the object).
 */
int kms_prop_get(int fd, uint32_t obj_id, uint32_t obj_type, uint32_t prop_id, uint64_t *value);

/* One property of an atomic request. */
struct kms_atomic_item {
	uint32_t obj_id, prop_id;
	uint64_t value;
};

/*
 * An atomic request that remembers its first failure, so that no result of
 * an addition is dropped and a sequence of additions needs one check, at
 * commit time.
 *
 * The properties are kept twice: in items, which kms_atomic_commit() hands
 * to the kernel itself (drmModeAtomicCommit() copies and clears a page-sized
 * request on every call), and in req, the same request for libdrm users
 * (libliftoff's test commits). Both keep their memory across
 * kms_atomic_reset(), so that a request reused frame after frame allocates
 * nothing.
 */
struct kms_atomic {
	drmModeAtomicReq *req; /* NULL if allocation failed (then error is -ENOMEM) */
	int error;             /* 0, or the first failure as a negative errno */
	/* private */
	struct kms_atomic_item *items;
	size_t n_items, cap_items;
	uint32_t *ioctl_objs, *ioctl_counts, *ioctl_props; /* the ioctl's arrays, cap_items long */
	uint64_t *ioctl_values;
	size_t cap_ioctl;
};

/* Start an empty request. */
void kms_atomic_init(struct kms_atomic *atomic);

/*
 * Empty the request for the next one, keeping its memory; a request zeroed
 * or finished is initialised.
 */
void kms_atomic_reset(struct kms_atomic *atomic);

/* Set property prop_id (0: records -ENOENT) of object obj_id to value. */
void kms_atomic_add(struct kms_atomic *atomic, uint32_t obj_id, uint32_t prop_id, uint64_t value);

/*
 * Commit the request on fd with flags (DRM_MODE_ATOMIC_*,
 * DRM_MODE_PAGE_FLIP_*), as drmModeAtomicCommit() would: objects in id
 * order, a property set twice taking its last value, nothing sent for an
 * empty request. user_data goes to the page-flip events. Returns the first
 * recorded failure without committing, otherwise 0 or the commit's
 * negative errno; EINTR and EAGAIN are retried. Logs nothing: the caller
 * decides whether a rejection is an error.
 */
int kms_atomic_commit(struct kms_atomic *atomic, int fd, uint32_t flags, void *user_data);

/* Free the request. The struct may be initialised again afterwards. */
void kms_atomic_finish(struct kms_atomic *atomic);

/*
 * Write the names of commit flags, separated by '|', into buf (e.g.
 * "NONBLOCK|PAGE_FLIP_EVENT"; "none" for 0). Returns buf.
 */
const char *kms_commit_flags_str(uint32_t flags, char *buf, size_t size);

/* Whether an error of a TEST_ONLY or real commit means "configuration rejected". */
static inline bool kms_commit_rejected(int ret)
{
	return ret == -EINVAL || ret == -ERANGE || ret == -ENOSPC;
}

#endif
