// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config/config.h"
#include "util/log.h"
#include "vfio/feed.h"
#include "vfio/source.h"
#include "vgpu/vgpu.h"

struct vfio_feed {
	struct vgpu_source base;
	struct vgpu *vgpu;
	struct vfio_source *source;
	vfio_feed_lost_fn lost;
	void *data;
};

static struct vfio_feed *feed_of(struct vgpu_source *base)
{
	struct vfio_feed *feed = wl_container_of(base, feed, base);
	return feed;
}

static void feed_set_clock(struct vgpu_source *base, struct kms_output *clock)
{
	vfio_source_set_clock(feed_of(base)->source, clock);
}

static void feed_set_clock_region(struct vgpu_source *base, uint32_t width, uint32_t height)
{
	vfio_source_set_region(feed_of(base)->source, width, height);
}

static void feed_clock_mode_changed(struct vgpu_source *base)
{
	vfio_source_output_changed(feed_of(base)->source);
}

static void feed_presented(struct vgpu_source *base, const struct vgpu_present *present)
{
	vfio_source_presented(feed_of(base)->source, present->primary, present->time_ns);
}

static const struct vgpu_source_impl feed_impl = {
	.set_clock = feed_set_clock,
	.set_clock_region = feed_set_clock_region,
	.clock_mode_changed = feed_clock_mode_changed,
	.presented = feed_presented,
};

/* The guest's planes changed: the vGPU shows them scaled into its regions. */
static void handle_frame(void *data, const struct vfio_source_frame *frame)
{
	struct vfio_feed *feed = data;
	struct vgpu_frame shown = {
		.placement = VGPU_PLACE_SCALED,
		.primary = frame->primary,
		.cursor = frame->cursor,
		.cursor_x = frame->cursor_x,
		.cursor_y = frame->cursor_y,
	};
	vgpu_show(feed->vgpu, &shown);
}

static void handle_lost(void *data, const char *message)
{
	struct vfio_feed *feed = data;
	/* The placeholder comes back; the buffers on screen keep the device until replaced. */
	static const struct vgpu_frame none = {.placement = VGPU_PLACE_SCALED};
	vgpu_show(feed->vgpu, &none);
	feed->lost(feed->data, message);
}

static const struct vfio_source_impl source_impl = {
	.frame = handle_frame,
	.lost = handle_lost,
};

/* The vGPU's poll= and edid= settings. */
static void feed_options(const struct config *config, const char *name,
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

struct vfio_feed *vfio_feed_create(struct wl_event_loop *loop, const struct config *config,
				   struct vgpu *vgpu, int fd, vfio_feed_lost_fn lost, void *data,
				   char *msg, size_t msg_size)
{
	struct vfio_feed *feed = calloc(1, sizeof(*feed));
	if (feed == NULL) {
		close(fd);
		snprintf(msg, msg_size, "out of memory");
		return NULL;
	}
	feed->base.impl = &feed_impl;
	feed->vgpu = vgpu;
	feed->lost = lost;
	feed->data = data;
	char label[128];
	snprintf(label, sizeof(label), "vgpu %s", vgpu_get_name(vgpu));
	struct vfio_source_options options = {.name = label};
	feed_options(config, vgpu_get_name(vgpu), &options);
	feed->source = vfio_source_create(loop, fd, &options, &source_impl, feed, msg, msg_size);
	if (feed->source == NULL) {
		free(feed);
		return NULL;
	}
	/* The device replaces whatever was shown; its first poll shows its planes. */
	static const struct vgpu_frame none = {.placement = VGPU_PLACE_SCALED};
	vgpu_show(vgpu, &none);
	vgpu_set_source(vgpu, &feed->base);
	return feed;
}

void vfio_feed_destroy(struct vfio_feed *feed)
{
	if (feed == NULL)
		return;
	if (vgpu_get_source(feed->vgpu) == &feed->base) {
		vgpu_set_source(feed->vgpu, NULL);
		static const struct vgpu_frame none = {.placement = VGPU_PLACE_POSITIONED};
		vgpu_show(feed->vgpu, &none);
	}
	/* After the vGPU let go of its buffers: those still on screen keep the device open. */
	vfio_source_destroy(feed->source);
	free(feed);
}

struct vfio_source *vfio_feed_get_source(struct vfio_feed *feed)
{
	return feed->source;
}

bool vfio_feed_is_region(const struct vfio_feed *feed)
{
	return vfio_source_get_kind(feed->source) == VFIO_SOURCE_REGION;
}

struct vfio_source *vfio_feed_source_of(struct vgpu_source *source)
{
	return source != NULL && source->impl == &feed_impl ? feed_of(source)->source : NULL;
}
