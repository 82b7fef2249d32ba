// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <xf86drm.h>

#include "kms/properties.h"

const char *const kms_plane_prop_names[KMS_PLANE_PROP__COUNT] = {
	[KMS_PLANE_FB_ID] = "FB_ID",   [KMS_PLANE_CRTC_ID] = "CRTC_ID",
	[KMS_PLANE_CRTC_X] = "CRTC_X", [KMS_PLANE_CRTC_Y] = "CRTC_Y",
	[KMS_PLANE_CRTC_W] = "CRTC_W", [KMS_PLANE_CRTC_H] = "CRTC_H",
	[KMS_PLANE_SRC_X] = "SRC_X",   [KMS_PLANE_SRC_Y] = "SRC_Y",
	[KMS_PLANE_SRC_W] = "SRC_W",   [KMS_PLANE_SRC_H] = "SRC_H",
	[KMS_PLANE_TYPE] = "type",     [KMS_PLANE_IN_FORMATS] = "IN_FORMATS",
	[KMS_PLANE_ZPOS] = "zpos",     [KMS_PLANE_ROTATION] = "rotation",
	[KMS_PLANE_ALPHA] = "alpha",
};

const char *const kms_crtc_prop_names[KMS_CRTC_PROP__COUNT] = {
	[KMS_CRTC_ACTIVE] = "ACTIVE",
	[KMS_CRTC_MODE_ID] = "MODE_ID",
	[KMS_CRTC_OUT_FENCE_PTR] = "OUT_FENCE_PTR",
	[KMS_CRTC_VRR_ENABLED] = "VRR_ENABLED",
};

const char *const kms_connector_prop_names[KMS_CONNECTOR_PROP__COUNT] = {
	[KMS_CONNECTOR_CRTC_ID] = "CRTC_ID",
	[KMS_CONNECTOR_LINK_STATUS] = "link-status",
	[KMS_CONNECTOR_NON_DESKTOP] = "non-desktop",
	[KMS_CONNECTOR_WRITEBACK_FB_ID] = "WRITEBACK_FB_ID",
	[KMS_CONNECTOR_WRITEBACK_OUT_FENCE_PTR] = "WRITEBACK_OUT_FENCE_PTR",
	[KMS_CONNECTOR_WRITEBACK_PIXEL_FORMATS] = "WRITEBACK_PIXEL_FORMATS",
};

int kms_props_resolve(int fd, uint32_t obj_id, uint32_t obj_type, const char *const *names,
		      size_t count, uint32_t *ids, uint64_t *values)
{
	drmModeObjectProperties *props = drmModeObjectGetProperties(fd, obj_id, obj_type);
	if (props == NULL)
		return -errno;

	memset(ids, 0, count * sizeof(*ids));
	if (values != NULL)
		memset(values, 0, count * sizeof(*values));
	for (uint32_t i = 0; i < props->count_props; i++) {
		drmModePropertyRes *prop = drmModeGetProperty(fd, props->props[i]);
		if (prop == NULL)
			continue;
		for (size_t n = 0; n < count; n++) {
			if (strcmp(prop->name, names[n]) != 0)
				continue;
			ids[n] = prop->prop_id;
			if (values != NULL)
				values[n] = props->prop_values[i];
		}
		drmModeFreeProperty(prop);
	}
	drmModeFreeObjectProperties(props);
	return 0;
}

int kms_prop_get(int fd, uint32_t obj_id, uint32_t obj_type, uint32_t prop_id, uint64_t *value)
{
	if (prop_id == 0)
		return -ENOENT;
	drmModeObjectProperties *props = drmModeObjectGetProperties(fd, obj_id, obj_type);
	if (props == NULL)
		return -errno;
	int ret = -ENOENT;
	for (uint32_t i = 0; i < props->count_props; i++) {
		if (props->props[i] == prop_id) {
			*value = props->prop_values[i];
			ret = 0;
			break;
		}
	}
	drmModeFreeObjectProperties(props);
	return ret;
}

void kms_atomic_init(struct kms_atomic *atomic)
{
	*atomic = (struct kms_atomic){0};
	atomic->req = drmModeAtomicAlloc();
	atomic->error = atomic->req == NULL ? -ENOMEM : 0;
}

void kms_atomic_reset(struct kms_atomic *atomic)
{
	if (atomic->req == NULL) {
		kms_atomic_finish(atomic);
		kms_atomic_init(atomic);
		return;
	}
	drmModeAtomicSetCursor(atomic->req, 0);
	atomic->n_items = 0;
	atomic->error = 0;
}

void kms_atomic_add(struct kms_atomic *atomic, uint32_t obj_id, uint32_t prop_id, uint64_t value)
{
	if (atomic->error != 0)
		return;
	if (prop_id == 0) {
		atomic->error = -ENOENT;
		return;
	}
	if (atomic->n_items == atomic->cap_items) {
		size_t cap = atomic->cap_items != 0 ? 2 * atomic->cap_items : 64;
		struct kms_atomic_item *items = realloc(atomic->items, cap * sizeof(*items));
		if (items == NULL) {
			atomic->error = -ENOMEM;
			return;
		}
		atomic->items = items;
		atomic->cap_items = cap;
	}
	int ret = drmModeAtomicAddProperty(atomic->req, obj_id, prop_id, value);
	if (ret < 0) {
		atomic->error = ret;
		return;
	}
	atomic->items[atomic->n_items++] =
		(struct kms_atomic_item){.obj_id = obj_id, .prop_id = prop_id, .value = value};
}

/* Room for n entries in each of the ioctl's arrays. */
static int reserve_ioctl(struct kms_atomic *atomic, size_t n)
{
	if (n <= atomic->cap_ioctl)
		return 0;
	free(atomic->ioctl_objs);
	free(atomic->ioctl_counts);
	free(atomic->ioctl_props);
	free(atomic->ioctl_values);
	atomic->ioctl_objs = malloc(n * sizeof(*atomic->ioctl_objs));
	atomic->ioctl_counts = malloc(n * sizeof(*atomic->ioctl_counts));
	atomic->ioctl_props = malloc(n * sizeof(*atomic->ioctl_props));
	atomic->ioctl_values = malloc(n * sizeof(*atomic->ioctl_values));
	if (atomic->ioctl_objs == NULL || atomic->ioctl_counts == NULL ||
	    atomic->ioctl_props == NULL || atomic->ioctl_values == NULL) {
		atomic->cap_ioctl = 0;
		return -ENOMEM;
	}
	atomic->cap_ioctl = n;
	return 0;
}

/*
 * Sort the items by object, then property, keeping the order of additions
 * among equal ones (insertion sort: a frame's request is a few dozen items,
 * usually in order already).
 */
static void sort_items(struct kms_atomic_item *items, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct kms_atomic_item item = items[i];
		size_t j = i;
		while (j > 0 && (items[j - 1].obj_id > item.obj_id ||
				 (items[j - 1].obj_id == item.obj_id &&
				  items[j - 1].prop_id > item.prop_id))) {
			items[j] = items[j - 1];
			j--;
		}
		items[j] = item;
	}
}

int kms_atomic_commit(struct kms_atomic *atomic, int fd, uint32_t flags, void *user_data)
{
	if (atomic->error != 0)
		return atomic->error;
	if (atomic->n_items == 0)
		return 0;
	if (reserve_ioctl(atomic, atomic->n_items) < 0)
		return -ENOMEM;
	sort_items(atomic->items, atomic->n_items);
	uint32_t n_objs = 0, n_props = 0;
	for (size_t i = 0; i < atomic->n_items; i++) {
		const struct kms_atomic_item *item = &atomic->items[i];
		/* A property set again: the last value, as the sort kept the order. */
		if (i + 1 < atomic->n_items && atomic->items[i + 1].obj_id == item->obj_id &&
		    atomic->items[i + 1].prop_id == item->prop_id)
			continue;
		if (n_objs == 0 || atomic->ioctl_objs[n_objs - 1] != item->obj_id) {
			atomic->ioctl_objs[n_objs] = item->obj_id;
			atomic->ioctl_counts[n_objs++] = 0;
		}
		atomic->ioctl_counts[n_objs - 1]++;
		atomic->ioctl_props[n_props] = item->prop_id;
		atomic->ioctl_values[n_props++] = item->value;
	}
	struct drm_mode_atomic args = {
		.flags = flags,
		.count_objs = n_objs,
		.objs_ptr = (uint64_t)(uintptr_t)atomic->ioctl_objs,
		.count_props_ptr = (uint64_t)(uintptr_t)atomic->ioctl_counts,
		.props_ptr = (uint64_t)(uintptr_t)atomic->ioctl_props,
		.prop_values_ptr = (uint64_t)(uintptr_t)atomic->ioctl_values,
		.user_data = (uint64_t)(uintptr_t)user_data,
	};
	int ret;
	do {
		ret = ioctl(fd, DRM_IOCTL_MODE_ATOMIC, &args) < 0 ? -errno : 0;
	} while (ret == -EINTR || ret == -EAGAIN);
	return ret;
}

void kms_atomic_finish(struct kms_atomic *atomic)
{
	drmModeAtomicFree(atomic->req);
	free(atomic->items);
	free(atomic->ioctl_objs);
	free(atomic->ioctl_counts);
	free(atomic->ioctl_props);
	free(atomic->ioctl_values);
	*atomic = (struct kms_atomic){0};
}

const char *kms_commit_flags_str(uint32_t flags, char *buf, size_t size)
{
	static const struct {
		uint32_t flag;
		const char *name;
	} names[] = {
		{DRM_MODE_PAGE_FLIP_EVENT, "PAGE_FLIP_EVENT"},
		{DRM_MODE_PAGE_FLIP_ASYNC, "PAGE_FLIP_ASYNC"},
		{DRM_MODE_ATOMIC_TEST_ONLY, "TEST_ONLY"},
		{DRM_MODE_ATOMIC_NONBLOCK, "NONBLOCK"},
		{DRM_MODE_ATOMIC_ALLOW_MODESET, "ALLOW_MODESET"},
	};
	size_t len = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].flag))
			continue;
		flags &= ~names[i].flag;
		int n = snprintf(buf + len, size - len, "%s%s", len > 0 ? "|" : "", names[i].name);
		if (n < 0 || (size_t)n >= size - len)
			return buf;
		len += (size_t)n;
	}
	if (flags != 0)
		snprintf(buf + len, size - len, "%s0x%x", len > 0 ? "|" : "", flags);
	else if (len == 0)
		snprintf(buf, size, "none");
	return buf;
}
