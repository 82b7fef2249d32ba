// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xf86drmMode.h>

#include "kms/output.h"

uint32_t kms_mode_refresh_mhz(const drmModeModeInfo *mode)
{
	if (mode->htotal == 0 || mode->vtotal == 0)
		return 0;
	uint64_t mhz = (uint64_t)mode->clock * 1000000u / mode->htotal / mode->vtotal;
	if (mode->flags & DRM_MODE_FLAG_INTERLACE)
		mhz *= 2;
	if (mode->flags & DRM_MODE_FLAG_DBLSCAN)
		mhz /= 2;
	if (mode->vscan > 1)
		mhz /= mode->vscan;
	return (uint32_t)mhz;
}

void kms_output_get_physical_size(const struct kms_output *output, uint32_t *width_mm,
				  uint32_t *height_mm)
{
	*width_mm = *height_mm = 0;
	drmModeConnector *conn =
		drmModeGetConnectorCurrent(output->device->fd, output->connector_id);
	if (conn == NULL)
		return;
	*width_mm = conn->mmWidth;
	*height_mm = conn->mmHeight;
	drmModeFreeConnector(conn);
}

int kms_output_read_edid(const struct kms_output *output, uint8_t **edid, size_t *size)
{
	*edid = NULL;
	*size = 0;
	drmModeObjectProperties *props = drmModeObjectGetProperties(
		output->device->fd, output->connector_id, DRM_MODE_OBJECT_CONNECTOR);
	if (props == NULL)
		return -errno;
	uint64_t blob_id = 0;
	for (uint32_t i = 0; i < props->count_props && blob_id == 0; i++) {
		drmModePropertyRes *prop = drmModeGetProperty(output->device->fd, props->props[i]);
		if (prop == NULL)
			continue;
		if (strcmp(prop->name, "EDID") == 0)
			blob_id = props->prop_values[i];
		drmModeFreeProperty(prop);
	}
	drmModeFreeObjectProperties(props);
	if (blob_id == 0)
		return -ENOENT;
	drmModePropertyBlobRes *blob =
		drmModeGetPropertyBlob(output->device->fd, (uint32_t)blob_id);
	if (blob == NULL)
		return -errno;
	int ret = -ENOENT;
	if (blob->length > 0) {
		*edid = malloc(blob->length);
		ret = *edid != NULL ? 0 : -ENOMEM;
		if (ret == 0) {
			memcpy(*edid, blob->data, blob->length);
			*size = blob->length;
		}
	}
	drmModeFreePropertyBlob(blob);
	return ret;
}
