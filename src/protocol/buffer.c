// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "buffer/buffer.h"
#include "protocol/private.h"
#include "util/fourcc.h"
#include "util/log.h"
#include "vscanout-v1-server-protocol.h"

static const struct vscanout_buffer_v1_interface buffer_impl;
static const struct vscanout_buffer_params_v1_interface params_impl;

struct protocol_buffer *protocol_buffer_from_resource(struct wl_resource *resource)
{
	/* libwayland checked the argument's interface. */
	return wl_resource_get_user_data(resource);
}

static void handle_buffer_release(struct wl_listener *listener, void *data)
{
	struct protocol_buffer *pbuf = wl_container_of(listener, pbuf, release);
	vscanout_buffer_v1_send_release(pbuf->resource);
}

static void buffer_handle_destroy(struct wl_client *client, struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static const struct vscanout_buffer_v1_interface buffer_impl = {
	.destroy = buffer_handle_destroy,
};

static void buffer_handle_resource_destroy(struct wl_resource *resource)
{
	struct protocol_buffer *pbuf = wl_resource_get_user_data(resource);
	wl_list_remove(&pbuf->release.link);
	/* A buffer on screen stays alive through its locks until replaced. */
	buffer_unref(pbuf->buffer);
	pbuf->pclient->n_buffers--;
	protocol_client_unref(pbuf->pclient);
	free(pbuf);
}

static void params_handle_destroy(struct wl_client *client, struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void params_handle_add(struct wl_client *client, struct wl_resource *resource, int32_t fd,
			      uint32_t plane_idx, uint32_t offset, uint32_t stride,
			      uint32_t modifier_hi, uint32_t modifier_lo)
{
	struct protocol_params *params = wl_resource_get_user_data(resource);
	uint64_t modifier = (uint64_t)modifier_hi << 32 | modifier_lo;

	if (params->used) {
		wl_resource_post_error(resource, VSCANOUT_BUFFER_PARAMS_V1_ERROR_ALREADY_USED,
				       "add: the parameters were already used by create");
		goto error_fd;
	}
	if (plane_idx >= FOURCC_MAX_PLANES) {
		wl_resource_post_error(resource, VSCANOUT_BUFFER_PARAMS_V1_ERROR_PLANE_IDX,
				       "add: plane_idx %u is out of bounds (at most %d planes)",
				       plane_idx, FOURCC_MAX_PLANES);
		goto error_fd;
	}
	if (params->plane_set[plane_idx]) {
		wl_resource_post_error(resource, VSCANOUT_BUFFER_PARAMS_V1_ERROR_PLANE_SET,
				       "add: plane_idx %u was already set", plane_idx);
		goto error_fd;
	}
	for (unsigned int i = 0; i < FOURCC_MAX_PLANES; i++) {
		if (params->plane_set[i] && params->attrs.modifier != modifier) {
			wl_resource_post_error(resource,
					       VSCANOUT_BUFFER_PARAMS_V1_ERROR_INVALID_FORMAT,
					       "add: plane %u: modifier 0x%016" PRIx64
					       " differs from the other planes' 0x%016" PRIx64,
					       plane_idx, modifier, params->attrs.modifier);
			goto error_fd;
		}
	}
	params->plane_set[plane_idx] = true;
	params->attrs.fd[plane_idx] = fd; /* taken */
	params->attrs.offset[plane_idx] = offset;
	params->attrs.stride[plane_idx] = stride;
	params->attrs.modifier = modifier;
	return;

error_fd:
	close(fd);
}

/*
 * The error code for attributes that dmabuf_attributes_check() refused,
 * found by the same checks in the same order, so that the code and the
 * message name the same field.
 */
static uint32_t check_error_code(const struct dmabuf_attributes *attrs)
{
	const struct fourcc_info *info = fourcc_info_get(attrs->fourcc);
	if (info == NULL)
		return VSCANOUT_BUFFER_PARAMS_V1_ERROR_INVALID_FORMAT;
	if (attrs->width < 1 || attrs->width > DMABUF_MAX_DIMENSION || attrs->height < 1 ||
	    attrs->height > DMABUF_MAX_DIMENSION)
		return VSCANOUT_BUFFER_PARAMS_V1_ERROR_INVALID_DIMENSIONS;
	if (attrs->n_planes != info->n_planes)
		return VSCANOUT_BUFFER_PARAMS_V1_ERROR_INCOMPLETE;
	for (unsigned int i = 0; i < attrs->n_planes; i++) {
		if (attrs->fd[i] < 0)
			return VSCANOUT_BUFFER_PARAMS_V1_ERROR_INCOMPLETE;
		if (!dmabuf_fd_is_dmabuf(attrs->fd[i]))
			return VSCANOUT_BUFFER_PARAMS_V1_ERROR_INVALID_DMABUF;
		uint64_t end =
			(uint64_t)attrs->offset[i] +
			(uint64_t)attrs->stride[i] * fourcc_plane_height(info, i, attrs->height);
		off_t size = lseek(attrs->fd[i], 0, SEEK_END);
		if (attrs->stride[i] < fourcc_plane_min_stride(info, i, attrs->width) || size < 0 ||
		    end > (uint64_t)size || end > DMABUF_MAX_PLANE_END)
			return VSCANOUT_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS;
	}
	return VSCANOUT_BUFFER_PARAMS_V1_ERROR_INCOMPLETE;
}

static void params_handle_create(struct wl_client *client, struct wl_resource *resource,
				 uint32_t buffer_id, int32_t width, int32_t height, uint32_t fourcc,
				 uint32_t flags)
{
	struct protocol_params *params = wl_resource_get_user_data(resource);
	char msg[256];

	if (params->used) {
		wl_resource_post_error(resource, VSCANOUT_BUFFER_PARAMS_V1_ERROR_ALREADY_USED,
				       "create: the parameters were already used");
		return;
	}
	params->used = true;
	params->pclient->n_params--;

	if (flags != 0) {
		wl_resource_post_error(resource, VSCANOUT_BUFFER_PARAMS_V1_ERROR_INVALID_FLAGS,
				       "create: unknown flags 0x%x", flags);
		return;
	}
	if (width < 1 || height < 1) {
		wl_resource_post_error(resource, VSCANOUT_BUFFER_PARAMS_V1_ERROR_INVALID_DIMENSIONS,
				       "create: size %dx%d is not positive", width, height);
		return;
	}
	unsigned int n_planes = 0;
	for (unsigned int i = 0; i < FOURCC_MAX_PLANES; i++) {
		if (params->plane_set[i])
			n_planes = i + 1;
	}
	for (unsigned int i = 0; i < n_planes; i++) {
		if (!params->plane_set[i]) {
			wl_resource_post_error(resource, VSCANOUT_BUFFER_PARAMS_V1_ERROR_INCOMPLETE,
					       "create: plane %u is missing", i);
			return;
		}
	}
	if (params->pclient->n_buffers >= PROTOCOL_MAX_BUFFERS) {
		wl_resource_post_error(resource, VSCANOUT_BUFFER_PARAMS_V1_ERROR_LIMIT,
				       "create: limit of %d buffers per client reached",
				       PROTOCOL_MAX_BUFFERS);
		return;
	}

	struct dmabuf_attributes *attrs = &params->attrs;
	attrs->width = (uint32_t)width;
	attrs->height = (uint32_t)height;
	attrs->fourcc = fourcc;
	attrs->n_planes = n_planes;
	if (dmabuf_attributes_check(attrs, msg, sizeof(msg)) != 0) {
		wl_resource_post_error(resource, check_error_code(attrs), "create: %s", msg);
		return;
	}

	struct protocol_buffer *pbuf = calloc(1, sizeof(*pbuf));
	if (pbuf == NULL)
		goto error_no_memory;
	pbuf->resource = wl_resource_create(client, &vscanout_buffer_v1_interface,
					    wl_resource_get_version(resource), buffer_id);
	if (pbuf->resource == NULL)
		goto error_pbuf;
	/* Takes the fds: attrs is left empty. */
	pbuf->buffer = buffer_create_dmabuf(attrs);
	if (pbuf->buffer == NULL)
		goto error_resource;
	pbuf->vgpu_id = params->vgpu_id;
	pbuf->pclient = params->pclient;
	pbuf->pclient->refcnt++;
	pbuf->pclient->n_buffers++;
	pbuf->release.notify = handle_buffer_release;
	wl_signal_add(&pbuf->buffer->events.release, &pbuf->release);
	wl_resource_set_implementation(pbuf->resource, &buffer_impl, pbuf,
				       buffer_handle_resource_destroy);
	return;

error_resource:
	wl_resource_destroy(pbuf->resource);
error_pbuf:
	free(pbuf);
error_no_memory:
	wl_client_post_no_memory(client);
}

static const struct vscanout_buffer_params_v1_interface params_impl = {
	.destroy = params_handle_destroy,
	.add = params_handle_add,
	.create = params_handle_create,
};

static void params_handle_resource_destroy(struct wl_resource *resource)
{
	struct protocol_params *params = wl_resource_get_user_data(resource);
	if (!params->used)
		params->pclient->n_params--;
	dmabuf_attributes_finish(&params->attrs);
	protocol_client_unref(params->pclient);
	free(params);
}

void protocol_params_create(struct protocol_client *pclient, struct wl_resource *parent,
			    uint32_t id, uint64_t vgpu_id)
{
	struct wl_client *client = wl_resource_get_client(parent);
	if (pclient->n_params >= PROTOCOL_MAX_PARAMS) {
		wl_resource_post_error(parent, VSCANOUT_VGPU_V1_ERROR_LIMIT,
				       "create_params: limit of %d unused parameter objects per "
				       "client reached",
				       PROTOCOL_MAX_PARAMS);
		return;
	}
	struct protocol_params *params = calloc(1, sizeof(*params));
	if (params == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	params->resource = wl_resource_create(client, &vscanout_buffer_params_v1_interface,
					      wl_resource_get_version(parent), id);
	if (params->resource == NULL) {
		free(params);
		wl_client_post_no_memory(client);
		return;
	}
	dmabuf_attributes_init(&params->attrs);
	params->vgpu_id = vgpu_id;
	params->pclient = pclient;
	pclient->refcnt++;
	pclient->n_params++;
	wl_resource_set_implementation(params->resource, &params_impl, params,
				       params_handle_resource_destroy);
}
