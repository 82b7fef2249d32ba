// SPDX-License-Identifier: MIT
#include <drm_fourcc.h>
#include <errno.h>
#include <libliftoff.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer/buffer.h"
#include "kms/device.h"
#include "kms/output.h"
#include "kms/private.h"
#include "kms/vblank.h"
#include "kms/writeback.h"
#include "render/cursor.h"
#include "util/log.h"

bool kms_plane_can_use_crtc(const struct kms_plane *plane, const struct kms_crtc *crtc)
{
	return plane->possible_crtcs & (1u << crtc->index);
}

bool kms_plane_supports(const struct kms_plane *plane, uint32_t fourcc, uint64_t modifier)
{
	for (size_t i = 0; i < plane->n_formats; i++) {
		if (plane->formats[i].fourcc == fourcc && plane->formats[i].modifier == modifier)
			return true;
	}
	return false;
}

static int add_format(struct kms_plane *plane, size_t *cap, uint32_t fourcc, uint64_t modifier)
{
	if (plane->n_formats == *cap) {
		size_t n = *cap ? *cap * 2 : 16;
		struct kms_format *f = realloc(plane->formats, n * sizeof(*f));
		if (f == NULL)
			return -ENOMEM;
		plane->formats = f;
		*cap = n;
	}
	plane->formats[plane->n_formats++] = (struct kms_format){fourcc, modifier};
	return 0;
}

static int read_plane_formats(struct kms_device *device, struct kms_plane *plane,
			      const drmModePlane *drm_plane, uint64_t in_formats_blob)
{
	size_t cap = 0;
	int ret = 0;

	if (in_formats_blob != 0) {
		drmModePropertyBlobRes *blob = drmModeGetPropertyBlob(device->fd, in_formats_blob);
		if (blob != NULL) {
			drmModeFormatModifierIterator iter = {0};
			while (ret == 0 && drmModeFormatModifierBlobIterNext(blob, &iter))
				ret = add_format(plane, &cap, iter.fmt, iter.mod);
			drmModeFreePropertyBlob(blob);
			return ret;
		}
	}
	for (uint32_t i = 0; ret == 0 && i < drm_plane->count_formats; i++) {
		ret = add_format(plane, &cap, drm_plane->formats[i], DRM_FORMAT_MOD_LINEAR);
		if (ret == 0)
			ret = add_format(plane, &cap, drm_plane->formats[i],
					 DRM_FORMAT_MOD_INVALID);
	}
	return ret;
}

/* The DRM_MODE_ROTATE_* bits the plane's "rotation" property offers; 0 without one. */
static uint32_t read_plane_rotations(struct kms_device *device, const struct kms_plane *plane)
{
	if (plane->props[KMS_PLANE_ROTATION] == 0)
		return 0;
	drmModePropertyRes *prop = drmModeGetProperty(device->fd, plane->props[KMS_PLANE_ROTATION]);
	if (prop == NULL)
		return 0;
	uint32_t bits = 0;
	if (prop->flags & DRM_MODE_PROP_BITMASK) {
		for (int i = 0; i < prop->count_enums; i++) {
			if (prop->enums[i].value < 32)
				bits |= 1u << prop->enums[i].value;
		}
	}
	drmModeFreeProperty(prop);
	return bits;
}

static int read_planes(struct kms_device *device)
{
	drmModePlaneRes *res = drmModeGetPlaneResources(device->fd);
	if (res == NULL) {
		log_error_errno("device %s: cannot list planes", device->name);
		return -errno;
	}
	device->planes = calloc(res->count_planes, sizeof(*device->planes));
	if (device->planes == NULL && res->count_planes > 0) {
		drmModeFreePlaneResources(res);
		return -ENOMEM;
	}
	int ret = 0;
	for (uint32_t i = 0; i < res->count_planes && ret == 0; i++) {
		drmModePlane *drm_plane = drmModeGetPlane(device->fd, res->planes[i]);
		if (drm_plane == NULL) {
			ret = -errno;
			log_error_errno("device %s: cannot read plane %u", device->name,
					res->planes[i]);
			break;
		}
		struct kms_plane *plane = &device->planes[device->n_planes++];
		uint64_t values[KMS_PLANE_PROP__COUNT];
		plane->id = drm_plane->plane_id;
		plane->possible_crtcs = drm_plane->possible_crtcs;
		ret = kms_props_resolve(device->fd, plane->id, DRM_MODE_OBJECT_PLANE,
					kms_plane_prop_names, KMS_PLANE_PROP__COUNT, plane->props,
					values);
		if (ret == 0) {
			plane->type = (uint32_t)values[KMS_PLANE_TYPE];
			plane->rotations = read_plane_rotations(device, plane);
			ret = read_plane_formats(device, plane, drm_plane,
						 values[KMS_PLANE_IN_FORMATS]);
		}
		drmModeFreePlane(drm_plane);
	}
	drmModeFreePlaneResources(res);
	return ret;
}

static struct kms_crtc *crtc_by_id(struct kms_device *device, uint32_t id)
{
	for (size_t i = 0; i < device->n_crtcs; i++) {
		if (device->crtcs[i].id == id)
			return &device->crtcs[i];
	}
	return NULL;
}

struct kms_output *kms_device_find_output(struct kms_device *device, const char *name)
{
	struct kms_output *output;
	wl_list_for_each (output, &device->outputs, link) {
		if (strcmp(output->name, name) == 0)
			return output;
	}
	return NULL;
}

static struct kms_output *output_by_connector(struct kms_device *device, uint32_t id)
{
	struct kms_output *output;
	wl_list_for_each (output, &device->outputs, link) {
		if (output->connector_id == id)
			return output;
	}
	return NULL;
}

static uint32_t connector_possible_crtcs(struct kms_device *device, const drmModeConnector *conn)
{
	uint32_t mask = 0;
	for (int i = 0; i < conn->count_encoders; i++) {
		drmModeEncoder *enc = drmModeGetEncoder(device->fd, conn->encoders[i]);
		if (enc != NULL)
			mask |= enc->possible_crtcs;
		drmModeFreeEncoder(enc);
	}
	return mask;
}

static int add_writeback(struct kms_device *device, const drmModeConnector *conn)
{
	struct kms_writeback *wb =
		realloc(device->writebacks, (device->n_writebacks + 1) * sizeof(*wb));
	if (wb == NULL)
		return -ENOMEM;
	device->writebacks = wb;
	wb = &device->writebacks[device->n_writebacks++];
	memset(wb, 0, sizeof(*wb));
	wb->id = conn->connector_id;
	wb->possible_crtcs = connector_possible_crtcs(device, conn);
	return kms_props_resolve(device->fd, wb->id, DRM_MODE_OBJECT_CONNECTOR,
				 kms_connector_prop_names, KMS_CONNECTOR_PROP__COUNT, wb->props,
				 NULL);
}

/* Refresh what the output knows of its connector; conn NULL: it is gone. */
static void update_connector(struct kms_output *output, const drmModeConnector *conn)
{
	free(output->modes);
	output->modes = NULL;
	output->n_modes = 0;
	output->connected = conn != NULL && conn->connection == DRM_MODE_CONNECTED;
	if (conn == NULL)
		return;
	output->possible_crtcs = connector_possible_crtcs(output->device, conn);
	if (conn->count_modes > 0) {
		output->modes = malloc((size_t)conn->count_modes * sizeof(*output->modes));
		if (output->modes != NULL) {
			memcpy(output->modes, conn->modes,
			       (size_t)conn->count_modes * sizeof(*output->modes));
			output->n_modes = conn->count_modes;
		}
	}
}

static int add_output(struct kms_device *device, const drmModeConnector *conn)
{
	struct kms_output *output = calloc(1, sizeof(*output));
	if (output == NULL)
		return -ENOMEM;
	output->device = device;
	percentile_init(&output->latency);
	output->connector_id = conn->connector_id;
	const char *type = drmModeGetConnectorTypeName(conn->connector_type);
	snprintf(output->name, sizeof(output->name), "%s-%u", type ? type : "Unknown",
		 conn->connector_type_id);
	wl_list_init(&output->layers);
	wl_list_init(&output->dead_layers);
	wl_signal_init(&output->events.present);
	wl_signal_init(&output->events.off);
	wl_signal_init(&output->events.failed);
	wl_signal_init(&output->events.destroy);
	kms_output_settings_init(&output->settings);
	int ret = kms_props_resolve(device->fd, output->connector_id, DRM_MODE_OBJECT_CONNECTOR,
				    kms_connector_prop_names, KMS_CONNECTOR_PROP__COUNT,
				    output->connector_props, NULL);
	if (ret < 0) {
		free(output);
		return ret;
	}
	update_connector(output, conn);
	wl_list_insert(device->outputs.prev, &output->link);
	log_debug("device %s: output %s (connector %u), %s, %d modes", device->name, output->name,
		  output->connector_id, output->connected ? "connected" : "disconnected",
		  output->n_modes);
	return 0;
}

/* Read connectors; new ones become outputs, known ones are refreshed. */
static int scan_connectors(struct kms_device *device, uint32_t only_id)
{
	drmModeRes *res = drmModeGetResources(device->fd);
	if (res == NULL) {
		log_error_errno("device %s: cannot read resources", device->name);
		return -errno;
	}
	int ret = 0;
	for (int i = 0; i < res->count_connectors && ret == 0; i++) {
		uint32_t id = res->connectors[i];
		if (only_id != 0 && id != only_id)
			continue;
		bool known = false;
		for (size_t w = 0; w < device->n_writebacks; w++)
			known |= device->writebacks[w].id == id;
		if (known)
			continue;
		drmModeConnector *conn = drmModeGetConnector(device->fd, id);
		if (conn == NULL)
			continue;
		struct kms_output *output = output_by_connector(device, id);
		if (output != NULL)
			update_connector(output, conn);
		else if (conn->connector_type == DRM_MODE_CONNECTOR_WRITEBACK)
			ret = add_writeback(device, conn);
		else
			ret = add_output(device, conn);
		drmModeFreeConnector(conn);
	}
	/* Connectors that vanished (MST) count as disconnected. */
	struct kms_output *output;
	wl_list_for_each (output, &device->outputs, link) {
		bool present = false;
		for (int i = 0; i < res->count_connectors; i++)
			present |= res->connectors[i] == output->connector_id;
		if (!present)
			update_connector(output, NULL);
	}
	drmModeFreeResources(res);
	return ret;
}

static void handle_page_flip(int fd, unsigned int sequence, unsigned int tv_sec,
			     unsigned int tv_usec, unsigned int crtc_id, void *data)
{
	struct kms_device *device = data;
	struct kms_crtc *crtc = crtc_by_id(device, crtc_id);
	if (crtc == NULL || crtc->owner == NULL) {
		log_debug("device %s: flip event for CRTC %u without an output", device->name,
			  crtc_id);
		return;
	}
	uint64_t time_ns = (uint64_t)tv_sec * 1000000000u + (uint64_t)tv_usec * 1000u;
	kms_output_handle_flip(crtc->owner, sequence, time_ns);
}

static void handle_sequence(int fd, uint64_t sequence, uint64_t ns, uint64_t user_data)
{
	kms_vblank_handle_sequence(sequence, ns, user_data);
}

static int handle_drm_readable(int fd, uint32_t mask, void *data)
{
	struct kms_device *device = data;
	drmEventContext ctx = {
		.version = 4,
		.page_flip_handler2 = handle_page_flip,
		.sequence_handler = handle_sequence,
	};
	if (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR)) {
		log_error("device %s: the DRM fd hung up", device->name);
		wl_event_source_remove(device->drm_source);
		device->drm_source = NULL;
		return 0;
	}
	if (drmHandleEvent(fd, &ctx) != 0)
		log_error_errno("device %s: cannot read DRM events", device->name);
	return 0;
}

static int read_caps(struct kms_device *device)
{
	uint64_t value;

	if (drmSetClientCap(device->fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) != 0) {
		log_error("device %s: no universal planes (DRM_CLIENT_CAP_UNIVERSAL_PLANES): "
			  "the driver is too old for vscanoutd",
			  device->name);
		return -EOPNOTSUPP;
	}
	if (drmSetClientCap(device->fd, DRM_CLIENT_CAP_ATOMIC, 1) != 0) {
		log_error("device %s: no atomic modesetting (DRM_CLIENT_CAP_ATOMIC): "
			  "vscanoutd needs an atomic KMS driver",
			  device->name);
		return -EOPNOTSUPP;
	}
	/* Optional: without it, the device's writeback connectors stay hidden. */
	drmSetClientCap(device->fd, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1);

	struct kms_device_caps *caps = &device->caps;
	caps->addfb2_modifiers =
		drmGetCap(device->fd, DRM_CAP_ADDFB2_MODIFIERS, &value) == 0 && value;
	caps->async_page_flip =
		drmGetCap(device->fd, DRM_CAP_ASYNC_PAGE_FLIP, &value) == 0 && value;
	caps->atomic_async_page_flip =
		drmGetCap(device->fd, DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP, &value) == 0 && value;
	caps->crtc_in_vblank_event =
		drmGetCap(device->fd, DRM_CAP_CRTC_IN_VBLANK_EVENT, &value) == 0 && value;
	caps->cursor_width = drmGetCap(device->fd, DRM_CAP_CURSOR_WIDTH, &value) == 0 ? value : 64;
	caps->cursor_height =
		drmGetCap(device->fd, DRM_CAP_CURSOR_HEIGHT, &value) == 0 ? value : 64;
	if (!caps->crtc_in_vblank_event) {
		log_error("device %s: flip events do not name their CRTC "
			  "(DRM_CAP_CRTC_IN_VBLANK_EVENT)",
			  device->name);
		return -EOPNOTSUPP;
	}
	return 0;
}

struct kms_device *kms_device_create(struct wl_event_loop *loop, int fd, const char *name)
{
	struct kms_device *device = calloc(1, sizeof(*device));
	if (device == NULL) {
		log_error("device %s: out of memory", name);
		return NULL;
	}
	device->loop = loop;
	device->fd = fd;
	device->active = true;
	snprintf(device->name, sizeof(device->name), "%s", name);
	wl_list_init(&device->outputs);
	wl_list_init(&device->vblank_clocks);
	kms_fb_registry_init(&device->fbs, fd, false);

	if (read_caps(device) < 0)
		goto error;
	device->fbs.modifiers_supported = device->caps.addfb2_modifiers;

	drmModeRes *res = drmModeGetResources(fd);
	if (res == NULL) {
		log_error_errno("device %s: cannot read KMS resources", name);
		goto error;
	}
	device->crtcs = calloc((size_t)res->count_crtcs, sizeof(*device->crtcs));
	if (device->crtcs == NULL && res->count_crtcs > 0) {
		drmModeFreeResources(res);
		goto error;
	}
	for (int i = 0; i < res->count_crtcs; i++) {
		struct kms_crtc *crtc = &device->crtcs[device->n_crtcs++];
		crtc->id = res->crtcs[i];
		crtc->index = (uint32_t)i;
		if (kms_props_resolve(fd, crtc->id, DRM_MODE_OBJECT_CRTC, kms_crtc_prop_names,
				      KMS_CRTC_PROP__COUNT, crtc->props, NULL) < 0) {
			drmModeFreeResources(res);
			log_error_errno("device %s: cannot read CRTC %u", name, crtc->id);
			goto error;
		}
	}
	drmModeFreeResources(res);

	if (read_planes(device) < 0 || scan_connectors(device, 0) < 0)
		goto error;
	/* Without it outputs cannot light, but the device still counts (logged). */
	device->liftoff = kms_place_device_create(device);

	device->drm_source =
		wl_event_loop_add_fd(loop, fd, WL_EVENT_READABLE, handle_drm_readable, device);
	if (device->drm_source == NULL) {
		log_error_errno("device %s: cannot watch the DRM fd", name);
		goto error;
	}

	log_info("device %s: %zu CRTCs, %zu planes, %d outputs, %zu writeback; modifiers %s, "
		 "async flips: atomic %s, legacy %s",
		 name, device->n_crtcs, device->n_planes, wl_list_length(&device->outputs),
		 device->n_writebacks, device->caps.addfb2_modifiers ? "yes" : "no",
		 device->caps.atomic_async_page_flip ? "yes" : "no",
		 device->caps.async_page_flip ? "yes" : "no");
	return device;

error:
	kms_device_destroy(device);
	return NULL;
}

void kms_device_destroy(struct kms_device *device)
{
	if (device == NULL)
		return;
	kms_vblank_detach_device(device);
	struct kms_output *output, *tmp;
	wl_list_for_each_safe (output, tmp, &device->outputs, link)
		kms_output_destroy(output);
	liftoff_device_destroy(device->liftoff);
	buffer_unref(device->cursor_image);
	/* While the fd is open: nothing made here may outlive it. */
	kms_fb_registry_finish(&device->fbs);
	if (device->drm_source != NULL)
		wl_event_source_remove(device->drm_source);
	for (size_t i = 0; i < device->n_planes; i++)
		free(device->planes[i].formats);
	free(device->planes);
	free(device->crtcs);
	free(device->writebacks);
	free(device);
}

struct buffer *kms_device_get_cursor_image(struct kms_device *device)
{
	if (device->cursor_image == NULL)
		device->cursor_image = render_cursor_create(device->fd);
	return device->cursor_image;
}

void kms_device_handle_hotplug(struct kms_device *device, uint32_t connector_id)
{
	if (scan_connectors(device, connector_id) < 0)
		return;
	struct kms_output *output;
	wl_list_for_each (output, &device->outputs, link) {
		if (connector_id == 0 || output->connector_id == connector_id)
			kms_output_update(output);
	}
}

void kms_device_set_active(struct kms_device *device, bool active)
{
	if (device->active == active)
		return;
	device->active = active;
	log_info("device %s: %s", device->name,
		 active ? "active: restoring every output" : "inactive: no more commits");
	if (!active)
		return;
	scan_connectors(device, 0);
	struct kms_output *output;
	wl_list_for_each (output, &device->outputs, link) {
		output->needs_modeset = true;
		kms_output_update(output);
	}
}

void kms_device_set_force_copy(struct kms_device *device, bool force_copy)
{
	device->force_copy = force_copy;
	struct kms_output *output;
	wl_list_for_each (output, &device->outputs, link)
		kms_output_schedule_frame(output);
}
