// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <wayland-server-core.h>
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "build-config.h"
#include "config/config.h"
#include "control/blank.h"
#include "control/json.h"
#include "control/private.h"
#include "control/status.h"
#include "daemon/display.h"
#include "daemon/schedule.h"
#include "input/uinput.h"
#include "kms/device.h"
#include "kms/output.h"
#include "protocol/server.h"
#include "qemu/qemu.h"
#include "seat/session.h"
#include "util/fourcc.h"
#include "vfio/feed.h"
#include "vfio/source.h"
#include "vfio/take.h"
#include "vgpu/vgpu.h"

static const char *const state_names[] = {
	[KMS_OUTPUT_OFF] = "off",
	[KMS_OUTPUT_WAITING] = "waiting",
	[KMS_OUTPUT_ON] = "on",
	[KMS_OUTPUT_DISABLING] = "disabling",
};

static void key_uint(struct json_writer *w, const char *key, uint64_t value)
{
	json_key(w, key);
	json_uint(w, value);
}

/* An id, or null for 0. */
static void key_id(struct json_writer *w, const char *key, uint32_t id)
{
	json_key(w, key);
	if (id != 0)
		json_uint(w, id);
	else
		json_null(w);
}

static void write_daemon(struct json_writer *w, const struct control *control)
{
	json_key(w, "daemon");
	json_begin_object(w);
	json_key(w, "version");
	json_string(w, VSCANOUT_VERSION);
	key_uint(w, "pid", (uint64_t)getpid());
	json_key(w, "socket");
	json_string(w,
		    control->server != NULL ? protocol_server_socket_path(control->server) : NULL);
	json_end_object(w);
}

static const char *plane_type_name(uint32_t type)
{
	switch (type) {
	case DRM_PLANE_TYPE_PRIMARY:
		return "primary";
	case DRM_PLANE_TYPE_CURSOR:
		return "cursor";
	default:
		return "overlay";
	}
}

static void write_layer(struct json_writer *w, const struct kms_layer *layer)
{
	const struct kms_output *output = layer->output;
	struct kms_layer_state st;
	kms_layer_get_state(layer, &st);
	const struct buffer *buffer = layer->buffer;

	json_begin_object(w);
	json_key(w, "zpos");
	json_int(w, layer->zpos);
	json_key(w, "visible");
	json_bool(w, st.visible);
	json_key(w, "direct");
	json_bool(w, st.direct);
	key_id(w, "plane_id", st.direct ? st.plane_id : 0);
	json_key(w, "copied");
	json_bool(w, st.copied);
	json_key(w, "miss");
	json_begin_array(w);
	for (int i = 0; i < KMS_LAYER_MISS__COUNT; i++) {
		if (st.miss & (1u << i))
			json_string(w, kms_layer_miss_name((enum kms_layer_miss)(1u << i)));
	}
	json_end_array(w);

	json_key(w, "format");
	if (buffer != NULL) {
		const struct fourcc_info *info = fourcc_info_get(buffer->fourcc);
		char name[FOURCC_STR_SIZE];
		json_string(w, info != NULL ? info->name
					    : fourcc_str(buffer->fourcc, name, sizeof(name)));
	} else {
		json_null(w);
	}
	key_uint(w, "width", buffer != NULL ? buffer->width : 0);
	key_uint(w, "height", buffer != NULL ? buffer->height : 0);

	json_key(w, "src");
	if (buffer != NULL) {
		/* An empty rectangle means the whole buffer, as for the planes. */
		struct kms_fixed_rect src = layer->src;
		if (src.width == 0 || src.height == 0)
			src = (struct kms_fixed_rect){0, 0, KMS_FIXED(buffer->width),
						      KMS_FIXED(buffer->height)};
		json_begin_object(w);
		json_key(w, "x");
		json_fixed16(w, src.x);
		json_key(w, "y");
		json_fixed16(w, src.y);
		json_key(w, "width");
		json_fixed16(w, src.width);
		json_key(w, "height");
		json_fixed16(w, src.height);
		json_end_object(w);
	} else {
		json_null(w);
	}
	json_key(w, "dst");
	if (buffer != NULL) {
		/* An empty rectangle means the whole output. */
		struct kms_rect dst = layer->dst;
		if (dst.width == 0 || dst.height == 0) {
			dst = (struct kms_rect){0};
			kms_output_get_size(output, &dst.width, &dst.height);
		}
		json_begin_object(w);
		json_key(w, "x");
		json_int(w, dst.x);
		json_key(w, "y");
		json_int(w, dst.y);
		key_uint(w, "width", dst.width);
		key_uint(w, "height", dst.height);
		json_end_object(w);
	} else {
		json_null(w);
	}
	json_end_object(w);
}

static void write_rect(struct json_writer *w, const char *key, const struct kms_rect *r)
{
	json_key(w, key);
	json_begin_object(w);
	json_key(w, "x");
	json_int(w, r->x);
	json_key(w, "y");
	json_int(w, r->y);
	key_uint(w, "width", r->width);
	key_uint(w, "height", r->height);
	json_end_object(w);
}

static void write_fixed_rect(struct json_writer *w, const char *key, const struct kms_fixed_rect *r)
{
	json_key(w, key);
	json_begin_object(w);
	json_key(w, "x");
	json_fixed16(w, r->x);
	json_key(w, "y");
	json_fixed16(w, r->y);
	json_key(w, "width");
	json_fixed16(w, r->width);
	json_key(w, "height");
	json_fixed16(w, r->height);
	json_end_object(w);
}

static void write_plane(struct json_writer *w, const struct kms_plane_info *plane)
{
	bool shown = plane->content != KMS_PLANE_CONTENT_NONE;
	json_begin_object(w);
	key_uint(w, "id", plane->id);
	json_key(w, "type");
	json_string(w, plane_type_name(plane->type));
	json_key(w, "content");
	json_string(w, kms_plane_content_name(plane->content));
	json_key(w, "layer_zpos");
	if (plane->content == KMS_PLANE_CONTENT_LAYER)
		json_int(w, plane->layer_zpos);
	else
		json_null(w);
	key_id(w, "fb_id", plane->fb_id);
	key_id(w, "crtc_id", plane->crtc_id);
	if (shown) {
		write_rect(w, "crtc", &plane->crtc);
		write_fixed_rect(w, "src", &plane->src);
		json_key(w, "rotation");
		json_int(w, plane->rotation);
	} else {
		json_key(w, "crtc");
		json_null(w);
		json_key(w, "src");
		json_null(w);
		json_key(w, "rotation");
		json_null(w);
	}
	json_end_object(w);
}

static void write_counters(struct json_writer *w, const struct kms_output_info *info)
{
	const struct kms_output_stats *stats = &info->stats;
	json_key(w, "counters");
	json_begin_object(w);
	key_uint(w, "frames_direct", stats->frames_direct);
	key_uint(w, "frames_copied", stats->frames_copied);
	key_uint(w, "frames_discarded", stats->frames_discarded);
	key_uint(w, "flips_vsync", stats->flips_vsync);
	key_uint(w, "flips_async", stats->flips_async);
	key_uint(w, "async_fallbacks", stats->async_fallbacks);
	key_uint(w, "commits", stats->commits);
	key_uint(w, "modesets", stats->modesets);
	key_uint(w, "commit_failures", stats->commit_failures);
	key_uint(w, "copy_fallbacks", stats->copy_fallbacks);
	key_uint(w, "frames_failed", stats->frames_failed);
	key_uint(w, "latency_samples", info->latency_samples);
	key_uint(w, "latency_p50_us", info->latency_p50_us);
	key_uint(w, "latency_p99_us", info->latency_p99_us);
	json_end_object(w);
}

static void write_output(struct json_writer *w, const struct control *control,
			 const struct display_device *dev, const struct kms_output *output)
{
	const struct kms_device *kms = output->device;
	struct kms_output_info info;
	kms_output_get_info(output, &info);
	char colour[8];
	snprintf(colour, sizeof(colour), "#%06x", info.settings.placeholder & 0xffffffu);

	json_begin_object(w);
	json_key(w, "name");
	json_string(w, output->name);
	json_key(w, "device");
	json_string(w, dev->session_device != NULL ? dev->session_device->devnode : kms->name);
	struct stat st;
	json_key(w, "minor");
	if (fstat(kms->fd, &st) == 0 && S_ISCHR(st.st_mode))
		json_uint(w, minor(st.st_rdev));
	else
		json_null(w);
	key_uint(w, "connector_id", info.connector_id);
	json_key(w, "connected");
	json_bool(w, info.connected);
	json_key(w, "enabled");
	json_bool(w, info.enabled);
	json_key(w, "state");
	json_string(w, (size_t)info.state < sizeof(state_names) / sizeof(state_names[0])
			       ? state_names[info.state]
			       : "unknown");
	json_key(w, "mode");
	if (info.has_mode) {
		json_begin_object(w);
		key_uint(w, "width", info.mode.hdisplay);
		key_uint(w, "height", info.mode.vdisplay);
		key_uint(w, "refresh_mhz", kms_mode_refresh_mhz(&info.mode));
		json_end_object(w);
	} else {
		json_null(w);
	}
	key_id(w, "crtc_id", info.crtc_id);
	key_id(w, "mode_blob", info.mode_blob);
	json_key(w, "placeholder");
	json_string(w, colour);
	json_key(w, "flip");
	json_string(w, info.settings.flip == KMS_FLIP_VSYNC ? "vsync" : "async");
	json_key(w, "rotation");
	json_int(w, kms_rotation_degrees(info.settings.rotation));
	json_key(w, "force_copy");
	json_bool(w, info.force_copy);
	json_key(w, "capture");
	json_bool(w, info.capture);
	json_key(w, "blanked");
	json_bool(w, control_output_blanked(control, output));
	json_key(w, "blank_schedule");
	const struct config_output *co = display_output_config(control->displays, output);
	if (co != NULL && co->blank_schedule_set) {
		char window[SCHEDULE_TEXT_SIZE];
		schedule_format(&co->blank_schedule, window, sizeof(window));
		json_string(w, window);
	} else {
		json_null(w);
	}

	json_key(w, "planes");
	json_begin_array(w);
	for (size_t i = 0; i < info.n_planes; i++)
		write_plane(w, &info.planes[i]);
	json_end_array(w);

	json_key(w, "layers");
	json_begin_array(w);
	const struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link)
		write_layer(w, layer);
	json_end_array(w);

	write_counters(w, &info);
	json_end_object(w);
}

static void write_outputs(struct json_writer *w, const struct control *control)
{
	json_key(w, "outputs");
	json_begin_array(w);
	const struct display_device *dev;
	wl_list_for_each (dev, &control->displays->devices, link) {
		if (dev->kms == NULL)
			continue;
		const struct kms_output *output;
		wl_list_for_each (output, &dev->kms->outputs, link)
			write_output(w, control, dev, output);
	}
	json_end_array(w);
}

static void write_vfio(struct json_writer *w, const struct vfio_source *vfio)
{
	struct vfio_source_stats stats;
	vfio_source_get_stats(vfio, &stats);
	json_begin_object(w);
	key_uint(w, "polls", stats.polls);
	key_uint(w, "changes", stats.changes);
	key_uint(w, "imports", stats.imports);
	key_uint(w, "cache_hits", stats.cache_hits);
	key_uint(w, "transient_errors", stats.transient_errors);
	key_uint(w, "frames_presented", stats.frames_presented);
	key_uint(w, "late_frames", stats.late_frames);
	key_uint(w, "margin_us", stats.margin_us);
	key_uint(w, "latency_p50_us", stats.latency_p50_us);
	key_uint(w, "latency_p99_us", stats.latency_p99_us);
	json_end_object(w);
}

/* A vGPU that is a QEMU's D-Bus display (qemu/qemu.h). */
static void write_qemu(struct json_writer *w, const struct qemu_info *qemu)
{
	json_begin_object(w);
	json_key(w, "address");
	json_string(w, qemu->address);
	json_key(w, "state");
	json_string(w, qemu_state_name(qemu->state));
	json_key(w, "name");
	json_string(w, qemu->qemu_name);
	json_key(w, "console");
	if (qemu->console >= 0)
		json_uint(w, (uint64_t)qemu->console);
	else
		json_null(w);
	key_uint(w, "connects", qemu->connects);
	bool picture = qemu->state != QEMU_WAITING && qemu->frame.enabled;
	static const char *const kinds[] = {
		[QEMU_FRAME_NONE] = "none",
		[QEMU_FRAME_PIXELS] = "pixels",
		[QEMU_FRAME_MAP] = "map",
		[QEMU_FRAME_DMABUF] = "dmabuf",
	};
	json_key(w, "scanout");
	json_string(w, picture ? kinds[qemu->frame.kind] : "none");
	key_uint(w, "width", picture ? qemu->frame.width : 0);
	key_uint(w, "height", picture ? qemu->frame.height : 0);
	json_key(w, "format");
	char name[FOURCC_STR_SIZE];
	json_string(w, picture ? fourcc_str(qemu->frame.fourcc, name, sizeof(name)) : NULL);
	json_key(w, "copied");
	json_bool(w, picture && (qemu->frame.kind != QEMU_FRAME_DMABUF || qemu->frame.flipped));
	key_uint(w, "frames", qemu->frames);
	key_uint(w, "presented", qemu->presented);
	key_uint(w, "zero_copy", qemu->zero_copy);
	key_uint(w, "updates", qemu->frame.updates);
	key_uint(w, "dmabuf_fds", qemu->frame.dmabuf_fds);
	key_uint(w, "dmabufs", qemu->frame.dmabufs);
	key_uint(w, "dmabuf_replies", qemu->dmabuf_replies);
	key_uint(w, "dmabuf_late", qemu->dmabuf_late);
	json_key(w, "mouse");
	json_string(w, qemu->state != QEMU_WAITING
			       ? (qemu->input.absolute ? "absolute" : "relative")
			       : NULL);
	json_key(w, "last_error");
	json_string(w, qemu->last_error);
	json_end_object(w);
}

static void write_vgpu(struct json_writer *w, const struct control *control, const char *name)
{
	struct vgpu *vgpu = control->vgpus != NULL ? vgpu_manager_find(control->vgpus, name) : NULL;
	const struct vfio_source *vfio =
		vgpu != NULL ? vfio_feed_source_of(vgpu_get_source(vgpu)) : NULL;
	struct vgpu_owner_info owner = {0};
	if (vgpu != NULL)
		vgpu_get_owner(vgpu, &owner);

	json_begin_object(w);
	json_key(w, "name");
	json_string(w, name);
	json_key(w, "attached");
	json_bool(w, vgpu != NULL);
	json_key(w, "client");
	if (owner.known) {
		json_begin_object(w);
		key_uint(w, "pid", (uint64_t)owner.pid);
		key_uint(w, "uid", owner.uid);
		key_uint(w, "gid", owner.gid);
		json_end_object(w);
	} else {
		json_null(w);
	}

	json_key(w, "outputs");
	json_begin_array(w);
	const struct config_output *co;
	wl_list_for_each (co, &control->config->outputs, link) {
		if (config_output_vgpu_index(co, name) >= 0)
			json_string(w, co->name);
	}
	json_end_array(w);
	json_key(w, "clock");
	json_string(w, vgpu != NULL ? vgpu_get_clock_name(vgpu) : NULL);
	json_key(w, "views");
	json_begin_array(w);
	struct vgpu_view_info view;
	for (size_t i = 0; vgpu != NULL && vgpu_get_view(vgpu, i, &view); i++) {
		json_begin_object(w);
		json_key(w, "output");
		json_string(w, view.output_name);
		key_uint(w, "slot", view.slot);
		write_rect(w, "region", &view.region);
		json_key(w, "primary");
		write_layer(w, view.primary);
		json_key(w, "cursor");
		write_layer(w, view.cursor);
		json_end_object(w);
	}
	json_end_array(w);

	struct qemu_info qemu;
	bool is_qemu = qemu_manager_get_info(control->qemu, name, &qemu);
	const char *source = "none";
	if (vfio != NULL)
		source = vfio_source_get_kind(vfio) == VFIO_SOURCE_DMABUF ? "dmabuf" : "region";
	else if (is_qemu && qemu.state != QEMU_WAITING)
		source = "qemu";
	else if (vgpu != NULL &&
		 (vgpu_get_frame(vgpu)->primary != NULL || vgpu_get_frame(vgpu)->cursor != NULL))
		source = "client";
	json_key(w, "source");
	json_string(w, source);
	json_key(w, "vfio");
	if (vfio != NULL)
		write_vfio(w, vfio);
	else
		json_null(w);
	json_key(w, "qemu");
	if (is_qemu)
		write_qemu(w, &qemu);
	else
		json_null(w);
	json_key(w, "vfio_from");
	struct vfio_take_info take;
	if (vfio_take_manager_get_info(control->vfio_take, name, &take)) {
		json_begin_object(w);
		json_key(w, "address");
		json_string(w, take.address);
		json_key(w, "mdev");
		json_string(w, take.mdev);
		json_key(w, "taken");
		json_bool(w, take.taken);
		json_key(w, "pid");
		if (take.taken)
			json_uint(w, (uint64_t)take.pid);
		else
			json_null(w);
		key_uint(w, "takes", take.takes);
		json_key(w, "last_error");
		json_string(w, take.last_error);
		json_end_object(w);
	} else {
		json_null(w);
	}
	json_key(w, "input");
	json_bool(w, owner.input);
	json_key(w, "uinput");
	json_begin_object(w);
	static const char *const kinds[UINPUT_KIND__COUNT] = {
		[UINPUT_KEYBOARD] = "keyboard",
		[UINPUT_POINTER] = "pointer",
		[UINPUT_MOUSE] = "mouse",
		[UINPUT_TOUCHSCREEN] = "touch",
	};
	for (int k = 0; vgpu != NULL && k < UINPUT_KIND__COUNT; k++) {
		struct uinput_device *dev = vgpu_get_uinput(vgpu, (enum uinput_kind)k);
		if (dev == NULL)
			continue;
		json_key(w, kinds[k]);
		json_string(w, uinput_device_path(dev));
	}
	json_end_object(w);
	json_end_object(w);
}

/* Whether an earlier output than upto names vGPU name (or a [vgpu] section does). */
static bool vgpu_listed(const struct config *config, const char *name,
			const struct config_output *upto)
{
	if (config_find_vgpu(config, name) != NULL)
		return true;
	const struct config_output *co;
	wl_list_for_each (co, &config->outputs, link) {
		if (co == upto)
			break;
		if (config_output_vgpu_index(co, name) >= 0)
			return true;
	}
	return false;
}

static void write_vgpus(struct json_writer *w, const struct control *control)
{
	const struct config *config = control->config;
	json_key(w, "vgpus");
	json_begin_array(w);
	const struct config_vgpu *cv;
	wl_list_for_each (cv, &config->vgpus, link)
		write_vgpu(w, control, cv->name);
	const struct config_output *co;
	wl_list_for_each (co, &config->outputs, link) {
		for (size_t i = 0; i < config_output_n_vgpus(co); i++)
			if (!vgpu_listed(config, config_output_vgpu(co, i), co))
				write_vgpu(w, control, config_output_vgpu(co, i));
	}
	json_end_array(w);
}

char *control_status_json(const struct control *control, size_t *size)
{
	struct json_writer w;
	json_writer_init(&w);
	json_begin_object(&w);
	key_uint(&w, "version", CONTROL_STATUS_VERSION);
	write_daemon(&w, control);
	write_outputs(&w, control);
	write_vgpus(&w, control);
	json_end_object(&w);
	return json_writer_finish(&w, size);
}
