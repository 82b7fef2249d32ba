// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "daemon/display.h"
#include "kms/device.h"
#include "kms/output.h"
#include "seat/session.h"
#include "util/log.h"

static void settings_from_config(struct kms_output_settings *settings,
				 const struct config_output *cfg)
{
	kms_output_settings_init(settings);
	if (cfg == NULL)
		return;
	settings->width = cfg->width;
	settings->height = cfg->height;
	settings->refresh_mhz = cfg->refresh_mhz;
	settings->placeholder = cfg->placeholder;
	settings->rotation = (enum kms_rotation)cfg->rotation;
	switch (cfg->flip) {
	case CONFIG_FLIP_VSYNC:
		settings->flip = KMS_FLIP_VSYNC;
		break;
	case CONFIG_FLIP_ASYNC:
	case CONFIG_FLIP_DEFAULT:
		settings->flip = KMS_FLIP_ASYNC;
		break;
	}
}

/*
 * Find an output by configured name. `ambiguous` is set when a bare name
 * matches on more than one device.
 */
static struct kms_output *find_output(struct display *display, const char *name,
				      struct display_device **found_device, bool *ambiguous)
{
	*ambiguous = false;
	const char *colon = strchr(name, ':');
	struct kms_output *found = NULL;
	struct display_device *dev;
	wl_list_for_each (dev, &display->devices, link) {
		const char *connector = name;
		if (colon != NULL) {
			size_t len = (size_t)(colon - name);
			if (strlen(dev->kms->name) != len ||
			    strncmp(dev->kms->name, name, len) != 0)
				continue;
			connector = colon + 1;
		}
		struct kms_output *output = kms_device_find_output(dev->kms, connector);
		if (output == NULL)
			continue;
		if (found != NULL) {
			*ambiguous = true;
			return NULL;
		}
		found = output;
		if (found_device != NULL)
			*found_device = dev;
	}
	return found;
}

struct kms_output *display_find_output(struct display *display, const char *name)
{
	bool ambiguous;
	return find_output(display, name, NULL, &ambiguous);
}

/* Light the outputs `dev` has: the configured ones, or all connected ones. */
static void enable_outputs(struct display *display, struct display_device *dev)
{
	struct kms_output_settings settings;

	if (wl_list_empty(&display->config->outputs)) {
		struct kms_output *output;
		wl_list_for_each (output, &dev->kms->outputs, link) {
			if (!output->connected || output->enabled)
				continue;
			settings_from_config(&settings, NULL);
			if (kms_output_enable(output, &settings) < 0)
				log_error("output %s:%s: cannot be lit", dev->kms->name,
					  output->name);
		}
		return;
	}

	struct config_output *cfg;
	wl_list_for_each (cfg, &display->config->outputs, link) {
		struct display_device *owner = NULL;
		bool ambiguous;
		struct kms_output *output = find_output(display, cfg->name, &owner, &ambiguous);
		if (ambiguous) {
			log_error("output %s: several devices have this connector; name one as "
				  "CARD:%s (e.g. %s:%s)",
				  cfg->name, cfg->name, dev->kms->name, cfg->name);
			continue;
		}
		if (output == NULL || owner != dev || output->enabled)
			continue;
		settings_from_config(&settings, cfg);
		if (kms_output_enable(output, &settings) < 0)
			log_error("output %s: cannot be lit", cfg->name);
	}
}

/* Report configured outputs that no device has (yet). */
static void warn_missing_outputs(struct display *display)
{
	struct config_output *cfg;
	wl_list_for_each (cfg, &display->config->outputs, link) {
		bool ambiguous;
		if (find_output(display, cfg->name, NULL, &ambiguous) == NULL && !ambiguous)
			log_warn("output %s: no such connector on this seat (yet)", cfg->name);
	}
}

static void first_frame_destroy(struct display_first_frame *wait)
{
	wl_list_remove(&wait->link);
	wl_list_remove(&wait->present.link);
	free(wait);
}

static void check_ready(struct display *display)
{
	if (display->ready || !wl_list_empty(&display->first_frames))
		return;
	display->ready = true;
	wl_signal_emit(&display->events.ready, display);
}

static void handle_first_present(struct wl_listener *listener, void *data)
{
	struct display_first_frame *wait = wl_container_of(listener, wait, present);
	struct display *display = wait->display;
	log_debug("output %s: first frame on screen", wait->output->name);
	first_frame_destroy(wait);
	check_ready(display);
}

static void handle_ready_idle(void *data)
{
	struct display *display = data;
	display->ready_idle = NULL;
	check_ready(display);
}

/* Wait for the first frame of every output lit so far. */
static void watch_first_frames(struct display *display)
{
	struct display_device *dev;
	wl_list_for_each (dev, &display->devices, link) {
		struct kms_output *output;
		wl_list_for_each (output, &dev->kms->outputs, link) {
			if (output->state != KMS_OUTPUT_ON)
				continue;
			struct display_first_frame *wait = calloc(1, sizeof(*wait));
			if (wait == NULL)
				continue; /* readiness comes a little early */
			wait->display = display;
			wait->output = output;
			wait->present.notify = handle_first_present;
			wl_signal_add(&output->events.present, &wait->present);
			wl_list_insert(&display->first_frames, &wait->link);
		}
	}
	display->ready_idle = wl_event_loop_add_idle(display->loop, handle_ready_idle, display);
}

static void device_destroy(struct display_device *dev)
{
	struct display_first_frame *wait, *tmp;
	wl_list_for_each_safe (wait, tmp, &dev->display->first_frames, link) {
		if (wait->output->device == dev->kms)
			first_frame_destroy(wait);
	}

	wl_list_remove(&dev->link);
	wl_list_remove(&dev->change.link);
	wl_list_remove(&dev->remove.link);
	kms_device_destroy(dev->kms);
	free(dev);
}

static void handle_device_change(struct wl_listener *listener, void *data)
{
	struct display_device *dev = wl_container_of(listener, dev, change);
	struct session_device_change *change = data;
	log_debug("%s: hotplug (connector %u)", dev->kms->name, change->connector_id);
	kms_device_handle_hotplug(dev->kms, change->connector_id);
	/* A connector that appeared may be one the configuration wants. */
	enable_outputs(dev->display, dev);
}

static void handle_device_remove(struct wl_listener *listener, void *data)
{
	struct display_device *dev = wl_container_of(listener, dev, remove);
	log_info("%s: device removed", dev->kms->name);
	device_destroy(dev);
}

static struct display_device *device_add(struct display *display,
					 struct session_device *session_device)
{
	struct display_device *dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		log_error("%s: out of memory", session_device->sysname);
		return NULL;
	}
	dev->kms = kms_device_create(display->loop, session_device->fd, session_device->sysname);
	if (dev->kms == NULL) {
		/* Logged; the seat may have other devices. */
		free(dev);
		session_device_close(session_device);
		return NULL;
	}
	dev->display = display;
	dev->session_device = session_device;
	dev->change.notify = handle_device_change;
	wl_signal_add(&session_device->events.change, &dev->change);
	dev->remove.notify = handle_device_remove;
	wl_signal_add(&session_device->events.remove, &dev->remove);
	wl_list_insert(display->devices.prev, &dev->link);
	kms_device_set_active(dev->kms, display->session->active);
	log_info("%s: %s, %zu CRTCs, %zu planes", session_device->sysname, session_device->driver,
		 dev->kms->n_crtcs, dev->kms->n_planes);
	return dev;
}

static void handle_session_enable(struct wl_listener *listener, void *data)
{
	struct display *display = wl_container_of(listener, display, session_enable);
	log_info("seat %s is ours again: restoring every output", display->session->seat_name);
	struct display_device *dev;
	wl_list_for_each (dev, &display->devices, link)
		kms_device_set_active(dev->kms, true);
}

static void handle_session_disable(struct wl_listener *listener, void *data)
{
	struct display *display = wl_container_of(listener, display, session_disable);
	log_info("seat %s was taken away: not touching the displays until it returns",
		 display->session->seat_name);
	struct display_device *dev;
	wl_list_for_each (dev, &display->devices, link)
		kms_device_set_active(dev->kms, false);
}

static void handle_session_add_device(struct wl_listener *listener, void *data)
{
	struct display *display = wl_container_of(listener, display, session_add_device);
	struct display_device *dev = device_add(display, data);
	if (dev != NULL)
		enable_outputs(display, dev);
}

static void handle_session_lost(struct wl_listener *listener, void *data)
{
	struct display *display = wl_container_of(listener, display, session_lost);
	log_error("lost the connection to the seat manager");
	display->lost = true;
	wl_signal_emit(&display->events.lost, display);
}

struct display *display_create(struct wl_event_loop *loop, const struct config *config)
{
	struct display *display = calloc(1, sizeof(*display));
	if (display == NULL) {
		log_error("out of memory");
		return NULL;
	}
	display->loop = loop;
	display->config = config;
	wl_list_init(&display->devices);
	wl_list_init(&display->first_frames);
	wl_signal_init(&display->events.lost);
	wl_signal_init(&display->events.ready);
	wl_list_init(&display->session_enable.link);
	wl_list_init(&display->session_disable.link);
	wl_list_init(&display->session_add_device.link);
	wl_list_init(&display->session_lost.link);

	display->session = session_create(loop, config->seat);
	if (display->session == NULL)
		goto error; /* logged */

	display->session_enable.notify = handle_session_enable;
	wl_signal_add(&display->session->events.enable, &display->session_enable);
	display->session_disable.notify = handle_session_disable;
	wl_signal_add(&display->session->events.disable, &display->session_disable);
	display->session_add_device.notify = handle_session_add_device;
	wl_signal_add(&display->session->events.add_device, &display->session_add_device);
	display->session_lost.notify = handle_session_lost;
	wl_signal_add(&display->session->events.lost, &display->session_lost);

	struct session_device *session_device, *tmp;
	wl_list_for_each_safe (session_device, tmp, &display->session->devices, link)
		device_add(display, session_device);
	if (wl_list_empty(&display->devices) && display->session->active) {
		log_error("no usable KMS device on seat %s", display->session->seat_name);
		goto error;
	}

	struct display_device *dev;
	wl_list_for_each (dev, &display->devices, link)
		enable_outputs(display, dev);
	warn_missing_outputs(display);
	watch_first_frames(display);
	return display;

error:
	display_destroy(display);
	return NULL;
}

void display_destroy(struct display *display)
{
	if (display == NULL)
		return;
	struct display_device *dev, *tmp;
	wl_list_for_each_safe (dev, tmp, &display->devices, link)
		device_destroy(dev);
	wl_list_remove(&display->session_enable.link);
	wl_list_remove(&display->session_disable.link);
	wl_list_remove(&display->session_add_device.link);
	wl_list_remove(&display->session_lost.link);
	session_destroy(display->session);
	free(display);
}

static bool same_settings(const struct kms_output_settings *a, const struct kms_output_settings *b)
{
	return a->width == b->width && a->height == b->height && a->refresh_mhz == b->refresh_mhz &&
	       a->flip == b->flip && a->placeholder == b->placeholder && a->rotation == b->rotation;
}

void display_reconfigure(struct display *display)
{
	const struct config *config = display->config;
	struct display_device *dev;
	wl_list_for_each (dev, &display->devices, link) {
		struct kms_output *output;
		wl_list_for_each (output, &dev->kms->outputs, link) {
			/* Which section, if any, is this output now? */
			const struct config_output *co = NULL, *cfg;
			wl_list_for_each (cfg, &config->outputs, link) {
				bool ambiguous;
				struct display_device *owner = NULL;
				if (find_output(display, cfg->name, &owner, &ambiguous) == output &&
				    owner == dev)
					co = cfg;
			}
			bool wanted = co != NULL ||
				      (wl_list_empty(&config->outputs) && output->connected);
			if (!wanted) {
				if (output->enabled) {
					log_info("output %s: no longer configured, turning it off",
						 output->name);
					kms_output_disable(output);
				}
				continue;
			}
			struct kms_output_settings settings;
			settings_from_config(&settings, co);
			if (output->enabled && same_settings(&settings, &output->settings))
				continue; /* untouched: no commit, no modeset */
			log_info("output %s: %s", output->name,
				 output->enabled ? "new settings" : "now configured, lighting it");
			if (kms_output_enable(output, &settings) < 0)
				log_error("output %s: cannot be lit", output->name);
		}
	}
	warn_missing_outputs(display);
}
