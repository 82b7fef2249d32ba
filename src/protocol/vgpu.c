// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-server-core.h>
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "config/config.h"
#include "daemon/display.h"
#include "input/forward.h"
#include "kms/device.h"
#include "kms/output.h"
#include "kms/scale.h"
#include "kms/vblank.h"
#include "protocol/private.h"
#include "protocol/server.h"
#include "util/log.h"
#include "vfio/source.h"
#include "vscanout-v1-server-protocol.h"

#define POSITION_MIN (-65536)
#define POSITION_MAX 65535

static void send_outputs(struct protocol_vgpu *vgpu)
{
	struct protocol_vgpu_output *vo;
	wl_list_for_each (vo, &vgpu->outputs, link) {
		struct kms_output *output = vo->output;
		uint32_t width, height, mm_width, mm_height;
		kms_output_get_size(output, &width, &height);
		uint32_t refresh = width > 0 ? kms_mode_refresh_mhz(&output->mode) : 0;
		kms_output_get_physical_size(output, &mm_width, &mm_height);
		vscanout_vgpu_v1_send_output(vgpu->resource, vo->name, width, height, refresh,
					     mm_width, mm_height);
	}
	vscanout_vgpu_v1_send_done(vgpu->resource);
}

static struct protocol_vgpu_output *clock_output(struct protocol_vgpu *vgpu)
{
	return vgpu->clock;
}

static void answer_commit(struct protocol_commit *commit, struct wl_resource *resource,
			  const struct kms_present_event *ev, uint32_t flags)
{
	if (ev == NULL) {
		vscanout_vgpu_v1_send_discarded(resource, commit->serial);
	} else {
		const drmModeModeInfo *mode = &ev->output->mode;
		uint32_t mhz = kms_mode_refresh_mhz(mode);
		uint64_t refresh_ns = mhz > 0 ? 1000000000000ull / mhz : 0;
		uint64_t sec = ev->time_ns / 1000000000u;
		vscanout_vgpu_v1_send_presented(resource, commit->serial, (uint32_t)(sec >> 32),
						(uint32_t)sec,
						(uint32_t)(ev->time_ns % 1000000000u),
						(uint32_t)refresh_ns, 0, ev->sequence, flags);
	}
	wl_list_remove(&commit->link);
	free(commit);
}

/* Answer every commit not answered yet with discarded. */
static void discard_commits(struct protocol_vgpu *vgpu)
{
	struct protocol_commit *commit, *tmp;
	wl_list_for_each_safe (commit, tmp, &vgpu->commits, link)
		answer_commit(commit, vgpu->resource, NULL, 0);
}

/*
 * Choose the clock output again (after the outputs or the configuration
 * changed): clock= when the vGPU is shown there, else the first output.
 * What it paces follows: the VFIO polls and the vblank source, whose fds
 * the client keeps. Commits waiting for a frame of the old clock are
 * discarded: the new one counts its frames apart.
 */
static void update_clock(struct protocol_vgpu *vgpu)
{
	const char *want = config_vgpu_clock(vgpu->server->config, vgpu->name);
	struct protocol_vgpu_output *clock = NULL, *vo;
	wl_list_for_each (vo, &vgpu->outputs, link) {
		if (want != NULL && strcmp(vo->name, want) == 0) {
			clock = vo;
			break;
		}
	}
	bool missing = want != NULL && clock == NULL;
	if (clock == NULL && !wl_list_empty(&vgpu->outputs))
		clock = wl_container_of(vgpu->outputs.next, clock, link);
	if (missing && !vgpu->clock_missing) {
		if (clock != NULL)
			log_warn("vgpu %s: clock output %s is not present, output %s paces it",
				 vgpu->name, want, clock->name);
		else
			log_warn("vgpu %s: clock output %s is not present, nor any other of its "
				 "outputs",
				 vgpu->name, want);
	}
	vgpu->clock_missing = missing;

	if (clock != vgpu->clock) {
		if (vgpu->clock != NULL && clock != NULL)
			log_info("vgpu %s: the clock moves from output %s to %s", vgpu->name,
				 vgpu->clock->name, clock->name);
		discard_commits(vgpu);
		vgpu->clock = clock;
	}
	struct kms_output *output = clock != NULL ? clock->output : NULL;
	if (vgpu->vfio != NULL)
		vfio_source_set_clock(vgpu->vfio, output);
	/* Shown nowhere: the source stays where it was. */
	if (vgpu->vblank_source != NULL && output != NULL)
		kms_vblank_source_set_output(vgpu->vblank_source, output);
}

static void show_vfio(struct protocol_vgpu_output *vo);

/* A VFIO frame reached the clock output's screen: tell the source. */
static void vfio_presented(struct protocol_vgpu_output *vo, const struct kms_present_event *ev)
{
	for (size_t i = 0; i < ev->n_layers; i++) {
		if (ev->layers[i].layer == vo->primary) {
			vfio_source_presented(vo->vgpu->vfio, ev->layers[i].buffer, ev->time_ns);
			return;
		}
	}
}

static void handle_present(struct wl_listener *listener, void *data)
{
	struct protocol_vgpu_output *vo = wl_container_of(listener, vo, present);
	struct protocol_vgpu *vgpu = vo->vgpu;
	const struct kms_present_event *ev = data;

	if (ev->flags & (KMS_PRESENT_MODESET | KMS_PRESENT_TURNED)) {
		send_outputs(vgpu);
		if (vgpu->vfio != NULL) {
			/* A new mode or rotation: place the guest's planes for it. */
			show_vfio(vo);
			if (vo == clock_output(vgpu))
				vfio_source_output_changed(vgpu->vfio);
		}
	}
	if (vo != clock_output(vgpu))
		return;
	if (vgpu->vfio != NULL) {
		vfio_presented(vo, ev);
		return;
	}

	uint32_t flags = (ev->flags & KMS_PRESENT_ASYNC) ? VSCANOUT_VGPU_V1_PRESENTED_FLAGS_ASYNC
							 : VSCANOUT_VGPU_V1_PRESENTED_FLAGS_VSYNC;
	bool copied = false, shown = true;
	for (size_t i = 0; i < ev->n_layers; i++) {
		const struct kms_present_layer *l = &ev->layers[i];
		if (l->layer != vo->primary && l->layer != vo->cursor)
			continue;
		copied |= !l->zero_copy;
		/* Neither a plane nor the copy path could show it: the placeholder is there. */
		shown &= l->shown;
	}
	flags |= copied ? VSCANOUT_VGPU_V1_PRESENTED_FLAGS_COPIED
			: VSCANOUT_VGPU_V1_PRESENTED_FLAGS_ZERO_COPY;

	/* The newest commit this frame carries is presented, older ones were replaced. */
	struct protocol_commit *commit, *tmp, *newest = NULL;
	wl_list_for_each (commit, &vgpu->commits, link) {
		if (commit->target <= vo->output->commit_seq)
			newest = commit;
	}
	if (newest == NULL)
		return;
	wl_list_for_each_safe (commit, tmp, &vgpu->commits, link) {
		if (commit == newest) {
			answer_commit(commit, vgpu->resource, shown ? ev : NULL, flags);
			break;
		}
		answer_commit(commit, vgpu->resource, NULL, 0);
	}
}

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

static void show_plane(struct kms_layer *layer, const struct protocol_plane_state *state)
{
	if (state->buffer == NULL) {
		kms_layer_set_buffer(layer, NULL, NULL, NULL);
		return;
	}
	struct kms_rect dst = {
		.x = state->x,
		.y = state->y,
		.width = state->buffer->width,
		.height = state->buffer->height,
	};
	kms_layer_set_buffer_int(layer, state->buffer, NULL, &dst);
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
	struct protocol_vgpu_output *vo;
	static const struct protocol_plane_state none = {0};
	wl_list_for_each (vo, &vgpu->outputs, link) {
		show_plane(vo->primary, &vgpu->primary);
		show_plane(vo->cursor, vo->cursor_hidden ? &none : &vgpu->cursor);
	}

	/* Commits aimed at the same frame replace each other (mailbox). */
	struct protocol_vgpu_output *clock = clock_output(vgpu);
	bool showable = clock != NULL && clock->output->state == KMS_OUTPUT_ON;
	uint64_t target = showable ? clock->output->commit_seq + 1 : 0;
	struct protocol_commit *commit, *tmp;
	wl_list_for_each_safe (commit, tmp, &vgpu->commits, link) {
		if (!showable || commit->target == target)
			answer_commit(commit, resource, NULL, 0);
	}
	if (!showable) {
		vscanout_vgpu_v1_send_discarded(resource, serial);
		return;
	}
	commit = calloc(1, sizeof(*commit));
	if (commit == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	commit->serial = serial;
	commit->target = target;
	wl_list_insert(vgpu->commits.prev, &commit->link);
}

static void vgpu_handle_get_vblank_source(struct wl_client *client, struct wl_resource *resource)
{
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(resource);
	struct protocol_vgpu_output *clock = clock_output(vgpu);
	if (clock == NULL) {
		wl_resource_post_error(resource, VSCANOUT_VGPU_V1_ERROR_NO_OUTPUT,
				       "get_vblank_source: vGPU \"%s\" is shown on no output",
				       vgpu->name);
		return;
	}
	if (vgpu->vblank_source == NULL) {
		vgpu->vblank_source = kms_vblank_source_create(clock->output);
		if (vgpu->vblank_source == NULL) {
			wl_client_post_no_memory(client);
			return;
		}
	}
	int ticks, memfd;
	if (kms_vblank_source_get_fds(vgpu->vblank_source, &ticks, &memfd) != 0) {
		wl_client_post_no_memory(client);
		return;
	}
	struct kms_vblank_state state;
	kms_vblank_source_get_state(vgpu->vblank_source, &state);
	uint32_t flags =
		(state.flags & KMS_VBLANK_TIMER) ? VSCANOUT_VGPU_V1_VBLANK_SOURCE_FLAGS_TIMER : 0;
	/* libwayland sends duplicates: ours are closed right away. */
	vscanout_vgpu_v1_send_vblank_source(resource, ticks, memfd, flags);
	close(ticks);
	close(memfd);
}

/* Show the VFIO device's latest planes on vo, scaled as the output says. */
static void show_vfio(struct protocol_vgpu_output *vo)
{
	struct protocol_vgpu *vgpu = vo->vgpu;
	struct buffer *primary = vgpu->primary.buffer;
	struct buffer *cursor = vgpu->cursor.buffer;
	uint32_t width, height;
	kms_output_get_size(vo->output, &width, &height);
	if (primary == NULL || width == 0) {
		kms_layer_set_buffer(vo->primary, NULL, NULL, NULL);
		kms_layer_set_buffer(vo->cursor, NULL, NULL, NULL);
		return;
	}
	struct kms_fixed_rect src;
	struct kms_rect dst;
	kms_scale_place((enum kms_scale)vo->scale, primary->width, primary->height, width, height,
			&src, &dst);
	kms_layer_set_buffer(vo->primary, primary, &src, &dst);
	if (cursor == NULL || vo->cursor_hidden) {
		kms_layer_set_buffer(vo->cursor, NULL, NULL, NULL);
		return;
	}
	/* The cursor follows the primary's scaling: position and size. */
	struct kms_rect cursor_dst;
	kms_scale_point(&src, &dst, vgpu->cursor.x, vgpu->cursor.y, &cursor_dst.x, &cursor_dst.y);
	kms_scale_size(&src, &dst, cursor->width, cursor->height, &cursor_dst.width,
		       &cursor_dst.height);
	kms_layer_set_buffer(vo->cursor, cursor, NULL, &cursor_dst);
}

static void show_vfio_everywhere(struct protocol_vgpu *vgpu)
{
	struct protocol_vgpu_output *vo;
	wl_list_for_each (vo, &vgpu->outputs, link)
		show_vfio(vo);
}

static void handle_vfio_frame(void *data, const struct vfio_source_frame *frame)
{
	struct protocol_vgpu *vgpu = data;
	struct buffer *primary = frame->primary != NULL ? buffer_ref(frame->primary) : NULL;
	struct buffer *cursor = frame->cursor != NULL ? buffer_ref(frame->cursor) : NULL;
	buffer_unref(vgpu->primary.buffer);
	buffer_unref(vgpu->cursor.buffer);
	vgpu->primary = (struct protocol_plane_state){.buffer = primary};
	vgpu->cursor = (struct protocol_plane_state){
		.buffer = cursor,
		.x = frame->cursor_x,
		.y = frame->cursor_y,
	};
	show_vfio_everywhere(vgpu);
}

/* Stop showing the VFIO device: the placeholder comes back. */
static void drop_vfio(struct protocol_vgpu *vgpu)
{
	set_plane(&vgpu->primary, NULL, 0, 0);
	set_plane(&vgpu->cursor, NULL, 0, 0);
	show_vfio_everywhere(vgpu);
	/* Its fd closes once the buffers on screen were replaced. */
	vfio_source_destroy(vgpu->vfio);
	vgpu->vfio = NULL;
}

static void handle_vfio_lost(void *data, const char *message)
{
	struct protocol_vgpu *vgpu = data;
	log_warn("vgpu %s: VFIO device lost: %s", vgpu->name, message);
	drop_vfio(vgpu);
	vscanout_vgpu_v1_send_vfio_status(vgpu->resource, VSCANOUT_VGPU_V1_VFIO_STATUS_LOST,
					  message);
}

static const struct vfio_source_impl vfio_impl = {
	.frame = handle_vfio_frame,
	.lost = handle_vfio_lost,
};

/* The vGPU's poll= and edid= settings. */
static void vfio_options(const struct config *config, const char *name,
			 struct vfio_source_options *options)
{
	enum config_edid edid;
	config_vgpu_settings(config, name, &options->poll_interval_ms, &edid);
	switch (edid) {
	case CONFIG_EDID_MONITOR:
		options->edid = VFIO_SOURCE_EDID_MONITOR;
		break;
	case CONFIG_EDID_GENERATE:
		options->edid = VFIO_SOURCE_EDID_GENERATE;
		break;
	case CONFIG_EDID_OFF:
		options->edid = VFIO_SOURCE_EDID_OFF;
		break;
	}
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
	char label[128];
	snprintf(label, sizeof(label), "vgpu %s", vgpu->name);
	struct vfio_source_options options = {.name = label};
	vfio_options(vgpu->server->config, vgpu->name, &options);
	char msg[256] = "";
	vgpu->vfio = vfio_source_create(wl_display_get_event_loop(vgpu->server->display), fd,
					&options, &vfio_impl, vgpu, msg, sizeof(msg));
	if (vgpu->vfio == NULL) {
		log_warn("vgpu %s: VFIO device refused: %s", vgpu->name, msg);
		vscanout_vgpu_v1_send_vfio_status(resource, VSCANOUT_VGPU_V1_VFIO_STATUS_REFUSED,
						  msg);
		return;
	}

	/* The device replaces whatever the client showed. */
	set_plane(&vgpu->primary, NULL, 0, 0);
	set_plane(&vgpu->cursor, NULL, 0, 0);
	struct protocol_commit *commit, *tmp;
	wl_list_for_each_safe (commit, tmp, &vgpu->commits, link)
		answer_commit(commit, resource, NULL, 0);

	bool region = vfio_source_get_kind(vgpu->vfio) == VFIO_SOURCE_REGION;
	log_info("vgpu %s: showing a VFIO device with %s planes", vgpu->name,
		 region ? "region" : "dma-buf");
	vscanout_vgpu_v1_send_vfio_status(resource,
					  region ? VSCANOUT_VGPU_V1_VFIO_STATUS_REGION
						 : VSCANOUT_VGPU_V1_VFIO_STATUS_DMABUF,
					  region ? "region planes, copied" : "dma-buf planes");
	struct protocol_vgpu_output *clock = clock_output(vgpu);
	vfio_source_set_clock(vgpu->vfio, clock != NULL ? clock->output : NULL);
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

static void input_handle_resource_destroy(struct wl_resource *resource)
{
	struct protocol_vgpu *vgpu = wl_resource_get_user_data(resource);
	if (vgpu != NULL)
		vgpu->input = NULL;
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

/*
 * The clock output goes away: the commits waiting for its next frame are
 * discarded now (no frame of it will answer them), whether or not another
 * output takes over the clock.
 */
static void clock_gone(struct protocol_vgpu *vgpu)
{
	discard_commits(vgpu);
	vgpu->clock = NULL;
}

/* Take the vGPU off one output: the placeholder shows there with the next frame. */
static void remove_output(struct protocol_vgpu_output *vo)
{
	if (vo->vgpu->clock == vo)
		clock_gone(vo->vgpu);
	wl_list_remove(&vo->present.link);
	wl_list_remove(&vo->output_off.link);
	wl_list_remove(&vo->output_failed.link);
	wl_list_remove(&vo->output_destroy.link);
	kms_layer_destroy(vo->primary);
	kms_layer_destroy(vo->cursor);
	wl_list_remove(&vo->link);
	free((char *)vo->name);
	free(vo);
}

static void vgpu_destroy(struct protocol_vgpu *vgpu)
{
	/* Forgotten unanswered first: the resource is going away. */
	struct protocol_commit *commit, *commit_tmp;
	wl_list_for_each_safe (commit, commit_tmp, &vgpu->commits, link) {
		wl_list_remove(&commit->link);
		free(commit);
	}
	struct protocol_vgpu_output *vo, *vo_tmp;
	wl_list_for_each_safe (vo, vo_tmp, &vgpu->outputs, link)
		remove_output(vo);
	kms_vblank_source_destroy(vgpu->vblank_source);
	/* The input object stays a valid object that receives nothing. */
	input_forward_remove_target(vgpu->server->forward, &vgpu->target);
	protocol_vgpu_uinput_destroy(vgpu);
	if (vgpu->input != NULL)
		wl_resource_set_user_data(vgpu->input, NULL);
	/* After its layers: buffers on screen keep the device open until replaced. */
	vfio_source_destroy(vgpu->vfio);
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
	vgpu_destroy(vgpu);
}

/*
 * The output stops showing frames (turned off, blanked, unplugged): if it
 * is the clock, no frame of it will answer the commits waiting, in flight
 * or not, so they are discarded now.
 */
static void handle_output_off(struct wl_listener *listener, void *data)
{
	struct protocol_vgpu_output *vo = wl_container_of(listener, vo, output_off);
	struct protocol_vgpu *vgpu = vo->vgpu;
	if (vgpu->clock != vo)
		return;
	discard_commits(vgpu);
}

/*
 * No commit could take the output's frame (the kernel refused it): if it
 * is the clock, no frame answers the commits waiting for it, so they are
 * discarded now; the next commit tries again.
 */
static void handle_output_failed(struct wl_listener *listener, void *data)
{
	struct protocol_vgpu_output *vo = wl_container_of(listener, vo, output_failed);
	struct protocol_vgpu *vgpu = vo->vgpu;
	if (vgpu->clock != vo)
		return;
	discard_commits(vgpu);
}

/* The output's card went away: its layers go with it, the vGPU forgets them. */
static void handle_output_destroy(struct wl_listener *listener, void *data)
{
	struct protocol_vgpu_output *vo = wl_container_of(listener, vo, output_destroy);
	log_info("vgpu %s: output %s is gone", vo->vgpu->name, vo->name);
	wl_list_remove(&vo->present.link);
	wl_list_remove(&vo->output_off.link);
	wl_list_remove(&vo->output_failed.link);
	wl_list_remove(&vo->output_destroy.link);
	wl_list_remove(&vo->link);
	struct protocol_vgpu *vgpu = vo->vgpu;
	if (vgpu->clock == vo)
		clock_gone(vgpu);
	free((char *)vo->name);
	free(vo);
	update_clock(vgpu);
}

static int add_output(struct protocol_vgpu *vgpu, const struct config_output *co,
		      struct kms_output *output)
{
	const char *name = co->name;
	struct protocol_vgpu_output *vo = calloc(1, sizeof(*vo));
	if (vo == NULL)
		return -ENOMEM;
	vo->vgpu = vgpu;
	vo->name = strdup(name);
	vo->output = output;
	vo->scale = (int)co->scale;
	vo->cursor_hidden = co->cursor == CONFIG_CURSOR_HIDDEN;
	wl_list_insert(vgpu->outputs.prev, &vo->link);
	/* remove_output() takes the listeners off, set or not. */
	wl_list_init(&vo->present.link);
	wl_list_init(&vo->output_off.link);
	wl_list_init(&vo->output_failed.link);
	wl_list_init(&vo->output_destroy.link);
	if (vo->name == NULL)
		return -ENOMEM;
	vo->output_destroy.notify = handle_output_destroy;
	wl_signal_add(&output->events.destroy, &vo->output_destroy);
	vo->output_off.notify = handle_output_off;
	wl_signal_add(&output->events.off, &vo->output_off);
	vo->output_failed.notify = handle_output_failed;
	wl_signal_add(&output->events.failed, &vo->output_failed);
	vo->primary = kms_output_create_layer(output, 1);
	vo->cursor = kms_output_create_layer(output, 2);
	if (vo->primary == NULL || vo->cursor == NULL)
		return -ENOMEM; /* vgpu_destroy() frees the rest */
	vo->present.notify = handle_present;
	wl_signal_add(&output->events.present, &vo->present);
	return 0;
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
	vgpu->target.impl = &protocol_vgpu_target_impl;
	wl_list_init(&vgpu->outputs);
	wl_list_init(&vgpu->commits);
	wl_list_insert(&server->vgpus, &vgpu->link);
	vgpu->name = strdup(name);
	vgpu->pclient = protocol_client_get(client);
	if (vgpu->name == NULL || vgpu->pclient == NULL)
		goto error_vgpu;

	const struct config_output *co;
	wl_list_for_each (co, &server->config->outputs, link) {
		if (config_output_vgpu_index(co, name) < 0)
			continue;
		struct kms_output *output = display_find_output(server->displays, co->name);
		if (output == NULL) {
			log_warn("vgpu %s: output %s is not present", name, co->name);
			continue;
		}
		if (add_output(vgpu, co, output) != 0)
			goto error_vgpu;
	}

	vgpu->resource = wl_resource_create(client, &vscanout_vgpu_v1_interface, (int)version, id);
	if (vgpu->resource == NULL)
		goto error_vgpu;
	wl_resource_set_implementation(vgpu->resource, &vgpu_impl, vgpu,
				       vgpu_handle_resource_destroy);
	pid_t pid;
	uid_t uid;
	gid_t gid;
	wl_client_get_credentials(client, &pid, &uid, &gid);
	log_info("vgpu %s: attached by pid %d (uid %u), on %d outputs", name, (int)pid,
		 (unsigned int)uid, wl_list_length(&vgpu->outputs));
	update_clock(vgpu);
	const struct config_vgpu *cv = config_find_vgpu(server->config, name);
	if (cv != NULL && cv->uinput)
		protocol_vgpu_uinput_create(vgpu);
	send_outputs(vgpu);
	return;

error_vgpu:
	vgpu_destroy(vgpu);
	wl_client_post_no_memory(client);
}

/* The vGPU's planes, shown again on vo (after it was added or its settings changed). */
static void show_current(struct protocol_vgpu_output *vo)
{
	struct protocol_vgpu *vgpu = vo->vgpu;
	if (vgpu->vfio != NULL) {
		show_vfio(vo);
		return;
	}
	static const struct protocol_plane_state none = {0};
	show_plane(vo->primary, &vgpu->primary);
	show_plane(vo->cursor, vo->cursor_hidden ? &none : &vgpu->cursor);
}

/* Bring one attached vGPU's outputs in line with the configuration. */
static void reconfigure_vgpu(struct protocol_vgpu *vgpu)
{
	struct protocol_server *server = vgpu->server;
	bool changed = false;
	struct protocol_vgpu_output *vo, *tmp;

	/* Outputs that no longer show it, or became another connector. */
	wl_list_for_each_safe (vo, tmp, &vgpu->outputs, link) {
		const struct config_output *co = config_find_output(server->config, vo->name);
		if (co != NULL && config_output_vgpu_index(co, vgpu->name) >= 0 &&
		    display_find_output(server->displays, co->name) == vo->output) {
			bool hidden = co->cursor == CONFIG_CURSOR_HIDDEN;
			if (vo->scale != (int)co->scale || vo->cursor_hidden != hidden) {
				vo->scale = (int)co->scale;
				vo->cursor_hidden = hidden;
				show_current(vo);
			}
			continue;
		}
		log_info("vgpu %s: no longer shown on output %s", vgpu->name, vo->name);
		remove_output(vo);
		changed = true;
	}

	/* Outputs that now show it, in configuration order. */
	const struct config_output *co;
	wl_list_for_each (co, &server->config->outputs, link) {
		if (config_output_vgpu_index(co, vgpu->name) < 0)
			continue;
		bool have = false;
		wl_list_for_each (vo, &vgpu->outputs, link)
			have |= strcmp(vo->name, co->name) == 0;
		struct kms_output *output = display_find_output(server->displays, co->name);
		if (have || output == NULL)
			continue;
		if (add_output(vgpu, co, output) != 0) {
			log_error("vgpu %s: out of memory adding output %s", vgpu->name, co->name);
			break;
		}
		log_info("vgpu %s: now shown on output %s", vgpu->name, co->name);
		vo = wl_container_of(vgpu->outputs.prev, vo, link);
		show_current(vo);
		changed = true;
	}
	/* clock= may have changed alone. */
	update_clock(vgpu);
	if (changed)
		send_outputs(vgpu);
}

void protocol_server_reconfigure(struct protocol_server *server)
{
	struct protocol_vgpu *vgpu;
	wl_list_for_each (vgpu, &server->vgpus, link)
		reconfigure_vgpu(vgpu);
}
