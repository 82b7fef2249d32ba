// SPDX-License-Identifier: MIT
/*
 * vscanout_vgpu_v1: the wire side of an attached vGPU. Requests become
 * calls of the vGPU core (vgpu/vgpu.h), whose answers become events: the
 * client is the vGPU's source until it hands over a VFIO device
 * (vfio/feed.h), and its input object is the vGPU's input sink
 * (protocol/input.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "buffer/buffer.h"
#include "config/config.h"
#include "protocol/private.h"
#include "util/log.h"
#include "vfio/feed.h"
#include "vgpu/vgpu.h"
#include "vscanout-v1-server-protocol.h"

#define POSITION_MIN (-65536)
#define POSITION_MAX 65535

/* One output event per view: its region's size, and its share of the monitor's millimetres. */
static void send_outputs(struct protocol_vgpu *vgpu)
{
	struct vgpu_view_info view;
	for (size_t i = 0; vgpu_get_view(vgpu->core, i, &view); i++)
		vscanout_vgpu_v1_send_output(vgpu->resource, view.output_name, view.region.width,
					     view.region.height, view.refresh_mhz, view.mm_width,
					     view.mm_height);
	vscanout_vgpu_v1_send_done(vgpu->resource);
}

static void handle_views_changed(struct wl_listener *listener, void *data)
{
	struct protocol_vgpu *vgpu = wl_container_of(listener, vgpu, views_changed);
	send_outputs(vgpu);
}

/* The client as the vGPU's source: its commits are answered here. */
static void source_frame_done(struct vgpu_source *source, uint32_t serial,
			      const struct vgpu_present *present)
{
	struct protocol_vgpu *vgpu = wl_container_of(source, vgpu, source);
	if (present == NULL) {
		vscanout_vgpu_v1_send_discarded(vgpu->resource, serial);
		return;
	}
	uint64_t refresh_ns =
		present->refresh_mhz > 0 ? 1000000000000ull / present->refresh_mhz : 0;
	uint64_t sec = present->time_ns / 1000000000u;
	uint32_t flags = present->async ? VSCANOUT_VGPU_V1_PRESENTED_FLAGS_ASYNC
					: VSCANOUT_VGPU_V1_PRESENTED_FLAGS_VSYNC;
	flags |= present->zero_copy ? VSCANOUT_VGPU_V1_PRESENTED_FLAGS_ZERO_COPY
				    : VSCANOUT_VGPU_V1_PRESENTED_FLAGS_COPIED;
	vscanout_vgpu_v1_send_presented(vgpu->resource, serial, (uint32_t)(sec >> 32),
					(uint32_t)sec, (uint32_t)(present->time_ns % 1000000000u),
					(uint32_t)refresh_ns, 0, present->sequence, flags);
}

static const struct vgpu_source_impl client_source_impl = {
	.frame_done = source_frame_done,
};

static void vgpu_handle_destroy(struct wl_client *client, struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void vgpu_handle_create_params(struct wl_client *client, struct wl_resource *resource,
				      uint32_t id)
{
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(resource);
	protocol_params_create(vgpu->pclient, resource, id, vgpu->id);
}

/* Validate a set_primary/set_cursor buffer and position; false after posting an error. */
static bool check_plane(struct protocol_vgpu *vgpu, struct wl_resource *buffer_resource, int32_t x,
			int32_t y, const char *plane)
{
	if (vgpu->vfio != NULL) {
		wl_resource_post_error(vgpu->resource, VSCANOUT_VGPU_V1_ERROR_VFIO_ACTIVE,
				       "%s: vGPU \"%s\" shows a VFIO device", plane, vgpu->name);
		return false;
	}
	if (buffer_resource != NULL) {
		struct protocol_buffer *pbuf = protocol_buffer_from_resource(buffer_resource);
		if (pbuf->vgpu_id != vgpu->id) {
			wl_resource_post_error(
				vgpu->resource, VSCANOUT_VGPU_V1_ERROR_INVALID_BUFFER,
				"%s: buffer %u was not created through vGPU \"%s\"", plane,
				wl_resource_get_id(buffer_resource), vgpu->name);
			return false;
		}
	}
	if (x < POSITION_MIN || x > POSITION_MAX || y < POSITION_MIN || y > POSITION_MAX) {
		wl_resource_post_error(vgpu->resource, VSCANOUT_VGPU_V1_ERROR_INVALID_POSITION,
				       "%s: position %d,%d is outside %d..%d", plane, x, y,
				       POSITION_MIN, POSITION_MAX);
		return false;
	}
	return true;
}

static void set_plane(struct protocol_plane_state *state, struct wl_resource *buffer_resource,
		      int32_t x, int32_t y)
{
	struct buffer *buffer = NULL;
	if (buffer_resource != NULL)
		buffer = buffer_ref(protocol_buffer_from_resource(buffer_resource)->buffer);
	buffer_unref(state->buffer);
	state->buffer = buffer;
	state->x = x;
	state->y = y;
}

static void vgpu_handle_set_primary(struct wl_client *client, struct wl_resource *resource,
				    struct wl_resource *buffer, int32_t x, int32_t y)
{
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(resource);
	if (check_plane(vgpu, buffer, x, y, "set_primary"))
		set_plane(&vgpu->primary, buffer, x, y);
}

static void vgpu_handle_set_cursor(struct wl_client *client, struct wl_resource *resource,
				   struct wl_resource *buffer, int32_t x, int32_t y, int32_t hot_x,
				   int32_t hot_y)
{
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(resource);
	if (!check_plane(vgpu, buffer, x, y, "set_cursor"))
		return;
	if (buffer != NULL) {
		struct buffer *b = protocol_buffer_from_resource(buffer)->buffer;
		if (hot_x < 0 || hot_y < 0 || (uint32_t)hot_x >= b->width ||
		    (uint32_t)hot_y >= b->height) {
			wl_resource_post_error(
				resource, VSCANOUT_VGPU_V1_ERROR_INVALID_HOTSPOT,
				"set_cursor: hotspot %d,%d is outside the %ux%u buffer", hot_x,
				hot_y, b->width, b->height);
			return;
		}
	} else {
		hot_x = hot_y = 0;
	}
	set_plane(&vgpu->cursor, buffer, x - hot_x, y - hot_y);
}

static void vgpu_handle_commit(struct wl_client *client, struct wl_resource *resource,
			       uint32_t serial)
{
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(resource);
	if (vgpu->vfio != NULL) {
		wl_resource_post_error(resource, VSCANOUT_VGPU_V1_ERROR_VFIO_ACTIVE,
				       "commit: vGPU \"%s\" shows a VFIO device", vgpu->name);
		return;
	}
	struct vgpu_frame frame = {
		.placement = VGPU_PLACE_POSITIONED,
		.primary = vgpu->primary.buffer,
		.primary_x = vgpu->primary.x,
		.primary_y = vgpu->primary.y,
		.cursor = vgpu->cursor.buffer,
		.cursor_x = vgpu->cursor.x,
		.cursor_y = vgpu->cursor.y,
	};
	vgpu_show(vgpu->core, &frame);
	if (vgpu_track(vgpu->core, serial) != 0)
		wl_client_post_no_memory(client);
}

static void vgpu_handle_get_vblank_source(struct wl_client *client, struct wl_resource *resource)
{
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(resource);
	int ticks, memfd;
	bool timer;
	int ret = vgpu_get_vblank_fds(vgpu->core, &ticks, &memfd, &timer);
	if (ret == -ENODEV) {
		wl_resource_post_error(resource, VSCANOUT_VGPU_V1_ERROR_NO_OUTPUT,
				       "get_vblank_source: vGPU \"%s\" is shown on no output",
				       vgpu->name);
		return;
	}
	if (ret != 0) {
		wl_client_post_no_memory(client);
		return;
	}
	uint32_t flags = timer ? VSCANOUT_VGPU_V1_VBLANK_SOURCE_FLAGS_TIMER : 0;
	/* libwayland sends duplicates: ours are closed right away. */
	vscanout_vgpu_v1_send_vblank_source(resource, ticks, memfd, flags);
	close(ticks);
	close(memfd);
}

/* Stop showing the VFIO device: the client is the source again, showing nothing yet. */
static void drop_vfio(struct protocol_vgpu *vgpu)
{
	vfio_feed_destroy(vgpu->vfio);
	vgpu->vfio = NULL;
	vgpu_set_source(vgpu->core, &vgpu->source);
}

static void handle_vfio_lost(void *data, const char *message)
{
	struct protocol_vgpu *vgpu = data;
	log_warn("vgpu %s: VFIO device lost: %s", vgpu->name, message);
	drop_vfio(vgpu);
	vscanout_vgpu_v1_send_vfio_status(vgpu->resource, VSCANOUT_VGPU_V1_VFIO_STATUS_LOST,
					  message);
}

static void vgpu_handle_set_vfio_device(struct wl_client *client, struct wl_resource *resource,
					int32_t fd)
{
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(resource);
	if (vgpu->vfio != NULL) {
		close(fd);
		wl_resource_post_error(resource, VSCANOUT_VGPU_V1_ERROR_VFIO_ACTIVE,
				       "set_vfio_device: vGPU \"%s\" already shows a VFIO device",
				       vgpu->name);
		return;
	}
	/* What the client showed goes: the device replaces it. */
	set_plane(&vgpu->primary, NULL, 0, 0);
	set_plane(&vgpu->cursor, NULL, 0, 0);
	char msg[256] = "";
	vgpu->vfio = vfio_feed_create(wl_display_get_event_loop(vgpu->server->display),
				      vgpu->server->config, vgpu->core, fd, handle_vfio_lost, vgpu,
				      msg, sizeof(msg));
	if (vgpu->vfio == NULL) {
		log_warn("vgpu %s: VFIO device refused: %s", vgpu->name, msg);
		vscanout_vgpu_v1_send_vfio_status(resource, VSCANOUT_VGPU_V1_VFIO_STATUS_REFUSED,
						  msg);
		return;
	}
	bool region = vfio_feed_is_region(vgpu->vfio);
	log_info("vgpu %s: showing a VFIO device with %s planes", vgpu->name,
		 region ? "region" : "dma-buf");
	vscanout_vgpu_v1_send_vfio_status(resource,
					  region ? VSCANOUT_VGPU_V1_VFIO_STATUS_REGION
						 : VSCANOUT_VGPU_V1_VFIO_STATUS_DMABUF,
					  region ? "region planes, copied" : "dma-buf planes");
}

static void vgpu_handle_release_vfio_device(struct wl_client *client, struct wl_resource *resource)
{
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(resource);
	if (vgpu->vfio != NULL) {
		log_info("vgpu %s: VFIO device released", vgpu->name);
		drop_vfio(vgpu);
	}
	vscanout_vgpu_v1_send_vfio_status(resource, VSCANOUT_VGPU_V1_VFIO_STATUS_RELEASED, "");
}

static void input_handle_destroy(struct wl_client *client, struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static const struct vscanout_input_v1_interface input_impl = {
	.destroy = input_handle_destroy,
};

/* The status says whether the client takes input events. */
static void update_owner(struct protocol_vgpu *vgpu)
{
	const struct peer_cred *cred = &vgpu->pclient->cred;
	struct vgpu_owner_info owner = {
		.known = true,
		.pid = cred->pid,
		.uid = cred->uid,
		.gid = cred->gid,
		.input = vgpu->input != NULL,
	};
	vgpu_set_owner(vgpu->core, &owner);
}

static void input_handle_resource_destroy(struct wl_resource *resource)
{
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(resource);
	if (vgpu != NULL) {
		vgpu->input = NULL;
		update_owner(vgpu);
	}
}

static void vgpu_handle_get_input(struct wl_client *client, struct wl_resource *resource,
				  uint32_t id)
{
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(resource);
	if (vgpu->input != NULL) {
		wl_resource_post_error(resource, VSCANOUT_VGPU_V1_ERROR_INPUT_EXISTS,
				       "get_input: vGPU \"%s\" already has an input object",
				       vgpu->name);
		return;
	}
	vgpu->input = wl_resource_create(client, &vscanout_input_v1_interface,
					 wl_resource_get_version(resource), id);
	if (vgpu->input == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(vgpu->input, &input_impl, vgpu,
				       input_handle_resource_destroy);
	update_owner(vgpu);
	protocol_vgpu_send_uinput_devices(vgpu);
}

static const struct vscanout_vgpu_v1_interface vgpu_impl = {
	.destroy = vgpu_handle_destroy,
	.create_params = vgpu_handle_create_params,
	.set_primary = vgpu_handle_set_primary,
	.set_cursor = vgpu_handle_set_cursor,
	.commit = vgpu_handle_commit,
	.get_vblank_source = vgpu_handle_get_vblank_source,
	.set_vfio_device = vgpu_handle_set_vfio_device,
	.release_vfio_device = vgpu_handle_release_vfio_device,
	.get_input = vgpu_handle_get_input,
};

static void protocol_vgpu_free(struct protocol_vgpu *vgpu)
{
	/* The feed first: it still shows through the core. */
	vfio_feed_destroy(vgpu->vfio);
	if (vgpu->core != NULL) {
		/* Unanswered frames are forgotten: the resource is going away. */
		vgpu_destroy(vgpu->core);
	}
	wl_list_remove(&vgpu->views_changed.link);
	/* The input object stays a valid object that receives nothing. */
	if (vgpu->input != NULL)
		wl_resource_set_user_data(vgpu->input, NULL);
	buffer_unref(vgpu->primary.buffer);
	buffer_unref(vgpu->cursor.buffer);
	wl_list_remove(&vgpu->link);
	protocol_client_unref(vgpu->pclient);
	free(vgpu->name);
	free(vgpu);
}

static void vgpu_handle_resource_destroy(struct wl_resource *resource)
{
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(resource);
	log_info("vgpu %s: detached", vgpu->name);
	protocol_vgpu_free(vgpu);
}

void protocol_vgpu_create(struct protocol_server *server, struct wl_client *client,
			  uint32_t version, uint32_t id, const char *name)
{
	struct protocol_vgpu *vgpu = calloc(1, sizeof(*vgpu));
	if (vgpu == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	vgpu->server = server;
	vgpu->id = server->next_vgpu_id++;
	vgpu->source.impl = &client_source_impl;
	vgpu->sink.impl = &protocol_input_sink_impl;
	wl_list_init(&vgpu->views_changed.link);
	wl_list_insert(&server->vgpus, &vgpu->link);
	vgpu->name = strdup(name);
	vgpu->pclient = protocol_client_get(client);
	if (vgpu->name == NULL || vgpu->pclient == NULL)
		goto error_vgpu;
	vgpu->core = vgpu_create(server->vgpus_core, name, &vgpu->source, &vgpu->sink);
	if (vgpu->core == NULL)
		goto error_vgpu;
	vgpu->views_changed.notify = handle_views_changed;
	vgpu_add_views_listener(vgpu->core, &vgpu->views_changed);
	vgpu->resource = wl_resource_create(client, &vscanout_vgpu_v1_interface, (int)version, id);
	if (vgpu->resource == NULL)
		goto error_vgpu;
	wl_resource_set_implementation(vgpu->resource, &vgpu_impl, vgpu,
				       vgpu_handle_resource_destroy);

	update_owner(vgpu);
	const struct peer_cred *cred = &vgpu->pclient->cred;
	log_info("vgpu %s: attached by pid %d (uid %u), on %zu outputs", name, (int)cred->pid,
		 (unsigned int)cred->uid, vgpu_n_views(vgpu->core));
	if (config_vgpu_uinput(server->config, name))
		vgpu_create_uinput(vgpu->core, cred->uid);
	send_outputs(vgpu);
	return;

error_vgpu:
	protocol_vgpu_free(vgpu);
	wl_client_post_no_memory(client);
}
