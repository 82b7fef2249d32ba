// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/display.h"
#include "daemon/schedule.h"
#include "kms/device.h"
#include "kms/output.h"
#include "kms/properties.h"
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

static bool same_settings(const struct kms_output_settings *a, const struct kms_output_settings *b);

const struct config_output *display_output_config(struct display *display,
						  const struct kms_output *output)
{
	const struct config_output *found = NULL, *cfg;
	wl_list_for_each (cfg, &display->config->outputs, link) {
		if (display_find_output(display, cfg->name) == output)
			found = cfg;
	}
	return found;
}

/* ---- blanking --------------------------------------------------------- */

static struct display_blank *find_blank(const struct display *display,
					const struct kms_output *output)
{
	struct display_blank *blank;
	wl_list_for_each (blank, &display->blanks, link) {
		if (blank->output == output)
			return blank;
	}
	return NULL;
}

static void blank_destroy(struct display_blank *blank)
{
	if (blank == NULL)
		return;
	wl_list_remove(&blank->link);
	wl_list_remove(&blank->output_destroy.link);
	free(blank);
}

static void handle_blank_output_destroy(struct wl_listener *listener, void *data)
{
	struct display_blank *blank = wl_container_of(listener, blank, output_destroy);
	blank_destroy(blank);
}

static struct display_blank *blank_create(struct display *display, struct kms_output *output)
{
	struct display_blank *blank = calloc(1, sizeof(*blank));
	if (blank == NULL) {
		log_error("output %s: out of memory", output->name);
		return NULL;
	}
	blank->display = display;
	blank->output = output;
	blank->output_destroy.notify = handle_blank_output_destroy;
	wl_signal_add(&output->events.destroy, &blank->output_destroy);
	wl_list_insert(display->blanks.prev, &blank->link);
	return blank;
}

uint32_t display_output_blank_reasons(const struct display *display,
				      const struct kms_output *output)
{
	const struct display_blank *blank = find_blank(display, output);
	return blank != NULL ? blank->reasons : 0;
}

static void local_now(struct tm *tm)
{
	tzset(); /* /etc/localtime may have changed */
	time_t now = time(NULL);
	if (localtime_r(&now, tm) == NULL)
		memset(tm, 0, sizeof(*tm));
}

/* What the configuration `co` (may be NULL) keeps the output off for at `now`. */
static uint32_t config_reasons(const struct config_output *co, const struct tm *now)
{
	uint32_t reasons = 0;
	if (co != NULL && co->blank)
		reasons |= DISPLAY_BLANK_CONFIG;
	if (co != NULL && co->blank_schedule_set && schedule_contains(&co->blank_schedule, now))
		reasons |= DISPLAY_BLANK_SCHEDULE;
	return reasons;
}

static bool blank_keys_differ(const struct display_blank *blank, const struct config_output *co)
{
	bool config_blank = co != NULL && co->blank;
	bool schedule_set = co != NULL && co->blank_schedule_set;
	return blank->config_blank != config_blank || blank->schedule_set != schedule_set ||
	       (schedule_set && (blank->schedule.start != co->blank_schedule.start ||
				 blank->schedule.end != co->blank_schedule.end));
}

static void blank_keep_keys(struct display_blank *blank, const struct config_output *co)
{
	blank->config_blank = co != NULL && co->blank;
	blank->schedule_set = co != NULL && co->blank_schedule_set;
	if (blank->schedule_set)
		blank->schedule = co->blank_schedule;
}

/* Why an output is lit again, in words, for the log; `old`: why it was off. */
static const char *unblank_text(uint32_t old, const struct config_output *co, char *buf,
				size_t size)
{
	if (old & DISPLAY_BLANK_CONFIG)
		return "by the configuration (blank = no)";
	if ((old & DISPLAY_BLANK_SCHEDULE) && co != NULL && co->blank_schedule_set) {
		char window[SCHEDULE_TEXT_SIZE];
		schedule_format(&co->blank_schedule, window, sizeof(window));
		snprintf(buf, size, "by its schedule (outside blank-schedule = %s)", window);
		return buf;
	}
	if (old & DISPLAY_BLANK_SCHEDULE)
		return "by the configuration (no blank-schedule)";
	return "by the configuration (blank or blank-schedule changed)";
}

/* Why an output is kept off, in words, for the log: the first of `reasons`. */
static const char *reason_text(uint32_t reasons, const struct config_output *co, char *buf,
			       size_t size)
{
	if (reasons & DISPLAY_BLANK_CONFIG)
		return "by the configuration (blank = yes)";
	if ((reasons & DISPLAY_BLANK_SCHEDULE) && co != NULL && co->blank_schedule_set) {
		char window[SCHEDULE_TEXT_SIZE];
		schedule_format(&co->blank_schedule, window, sizeof(window));
		snprintf(buf, size, "by its schedule (blank-schedule = %s)", window);
		return buf;
	}
	if (reasons & DISPLAY_BLANK_SCHEDULE)
		return "by its schedule";
	if (reasons & DISPLAY_BLANK_REQUEST)
		return "on request";
	return "by the configuration";
}

/*
 * Make sure the output's CRTC is off. An output the daemon never lit may
 * still show what was there before it (the console): then it is taken and
 * turned off at once, so that the kernel's CRTC is off too.
 */
static void hold_off(struct kms_output *output)
{
	if (output->enabled) {
		kms_output_disable(output);
		return;
	}
	if (output->state != KMS_OUTPUT_OFF || !output->connected || !output->device->active)
		return;
	uint64_t bound = 0;
	kms_prop_get(output->device->fd, output->connector_id, DRM_MODE_OBJECT_CONNECTOR,
		     output->connector_props[KMS_CONNECTOR_CRTC_ID], &bound);
	if (bound == 0)
		return;
	if (kms_output_enable(output, &output->settings) == 0)
		kms_output_disable(output);
}

/*
 * Bring one output in line with the configuration and its blank reasons:
 * off when it is not wanted, kept off while a reason holds, else lit with
 * the settings of its section. Nothing is done to an output that is already
 * as it should be. `reload`: say why an output is lit or gets new settings.
 */
static void output_apply(struct display *display, struct kms_output *output, const struct tm *now,
			 bool reload)
{
	const struct config_output *co = display_output_config(display, output);
	bool wanted = co != NULL || (wl_list_empty(&display->config->outputs) && output->connected);
	struct display_blank *blank = find_blank(display, output);
	if (!wanted) {
		blank_destroy(blank);
		if (output->enabled) {
			log_info("output %s: no longer configured, turning it off", output->name);
			kms_output_disable(output);
		}
		return;
	}

	char buf[64];
	uint32_t old = blank != NULL ? blank->reasons : 0;
	uint32_t reasons = config_reasons(co, now);
	if (old & DISPLAY_BLANK_REQUEST) {
		if (blank_keys_differ(blank, co))
			log_info("output %s: blank or blank-schedule changed: the blank request "
				 "ends",
				 output->name);
		else
			reasons |= DISPLAY_BLANK_REQUEST;
	}

	if (reasons != 0) {
		if (blank == NULL)
			blank = blank_create(display, output);
		if (blank != NULL) {
			blank->reasons = reasons;
			blank_keep_keys(blank, co);
		}
		if (old == 0)
			log_info("output %s: blanked %s", output->name,
				 reason_text(reasons, co, buf, sizeof(buf)));
		else if ((reasons & ~old) != 0)
			log_info("output %s: kept off %s too", output->name,
				 reason_text(reasons & ~old, co, buf, sizeof(buf)));
		hold_off(output);
		return;
	}

	blank_destroy(blank);
	struct kms_output_settings settings;
	settings_from_config(&settings, co);
	if (output->enabled && same_settings(&settings, &output->settings))
		return; /* untouched: no commit, no modeset */
	if (old != 0)
		log_info(
			"output %s: unblanked %s", output->name,
			unblank_text(old & ~(uint32_t)DISPLAY_BLANK_REQUEST, co, buf, sizeof(buf)));
	else if (reload)
		log_info("output %s: %s", output->name,
			 output->enabled ? "new settings" : "now configured, lighting it");
	if (kms_output_enable(output, &settings) < 0)
		log_error("output %s: cannot be lit", output->name);
}

int display_output_request_blank(struct display *display, struct kms_output *output, bool blank)
{
	const struct config_output *co = display_output_config(display, output);
	bool wanted = co != NULL || (wl_list_empty(&display->config->outputs) && output->connected);
	struct display_blank *b = find_blank(display, output);
	uint32_t reasons = b != NULL ? b->reasons : 0;
	if (blank) {
		if (reasons & DISPLAY_BLANK_REQUEST)
			return -EALREADY;
		if (!wanted ||
		    (reasons == 0 && (!output->enabled || output->state != KMS_OUTPUT_ON)))
			return -ENOTCONN;
		if (b == NULL && (b = blank_create(display, output)) == NULL)
			return -ENOMEM;
		b->reasons |= DISPLAY_BLANK_REQUEST;
		blank_keep_keys(b, co);
		hold_off(output);
		return 0;
	}
	if (!(reasons & DISPLAY_BLANK_REQUEST))
		return -EALREADY;
	b->reasons &= ~(uint32_t)DISPLAY_BLANK_REQUEST;
	if (b->reasons != 0)
		return -EBUSY;
	blank_destroy(b);
	struct kms_output_settings settings;
	settings_from_config(&settings, co);
	return kms_output_enable(output, &settings);
}

/* Apply the windows of the outputs that have one. */
static void apply_schedules(struct display *display)
{
	struct tm now;
	local_now(&now);
	struct display_device *dev;
	wl_list_for_each (dev, &display->devices, link) {
		struct kms_output *output;
		wl_list_for_each (output, &dev->kms->outputs, link) {
			const struct config_output *co = display_output_config(display, output);
			if (co != NULL && co->blank_schedule_set)
				output_apply(display, output, &now, false);
		}
	}
}

/* Arm the timer at the earliest next edge of every window, or disarm it. */
static void schedule_arm(struct display *display)
{
	time_t now = time(NULL);
	time_t next = 0;
	const struct config_output *co;
	tzset();
	wl_list_for_each (co, &display->config->outputs, link) {
		if (!co->blank_schedule_set)
			continue;
		time_t edge = schedule_next_edge(&co->blank_schedule, now);
		if (next == 0 || edge < next)
			next = edge;
	}
	struct itimerspec its = {.it_value = {.tv_sec = next}};
	if (timerfd_settime(display->schedule_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its,
			    NULL) < 0) {
		log_error_errno("blank-schedule: cannot arm the timer");
		return;
	}
	if (next != 0 && next != display->schedule_next) {
		struct tm tm;
		char when[32] = "?";
		if (localtime_r(&next, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
		log_debug("blank-schedule: next edge at %s", when);
	}
	display->schedule_next = next;
}

static int handle_schedule_timer(int fd, uint32_t mask, void *data)
{
	struct display *display = data;
	uint64_t expirations;
	if (read(fd, &expirations, sizeof(expirations)) < 0) {
		if (errno == ECANCELED)
			log_info("the clock was set: blank schedules applied again");
		else if (errno != EAGAIN && errno != EINTR)
			log_error_errno("blank-schedule: reading the timer");
	}
	apply_schedules(display);
	schedule_arm(display);
	return 0;
}

/* Light the outputs `dev` has: the configured ones, or all connected ones. */
static void enable_outputs(struct display *display, struct display_device *dev)
{
	struct tm now;
	local_now(&now);

	if (wl_list_empty(&display->config->outputs)) {
		struct kms_output *output;
		wl_list_for_each (output, &dev->kms->outputs, link) {
			if (output->connected)
				output_apply(display, output, &now, false);
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
		if (output == NULL || owner != dev)
			continue;
		output_apply(display, output, &now, false);
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
	wl_signal_emit_mutable(&display->events.ready, display);
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
	/* Whoever had the seat may have lit them. */
	struct display_blank *blank;
	wl_list_for_each (blank, &display->blanks, link)
		hold_off(blank->output);
	/* The clock may have moved meanwhile. */
	apply_schedules(display);
	schedule_arm(display);
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
	wl_signal_emit_mutable(&display->events.lost, display);
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
	display->schedule_fd = -1;
	wl_list_init(&display->devices);
	wl_list_init(&display->blanks);
	wl_list_init(&display->first_frames);
	wl_signal_init(&display->events.lost);
	wl_signal_init(&display->events.ready);
	wl_list_init(&display->session_enable.link);
	wl_list_init(&display->session_disable.link);
	wl_list_init(&display->session_add_device.link);
	wl_list_init(&display->session_lost.link);

	display->schedule_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (display->schedule_fd < 0) {
		log_error_errno("cannot create the blank-schedule timer");
		goto error;
	}
	display->schedule_source = wl_event_loop_add_fd(
		loop, display->schedule_fd, WL_EVENT_READABLE, handle_schedule_timer, display);
	if (display->schedule_source == NULL) {
		log_error_errno("cannot watch the blank-schedule timer");
		goto error;
	}

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
	schedule_arm(display);
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
	struct display_blank *blank, *btmp;
	wl_list_for_each_safe (blank, btmp, &display->blanks, link)
		blank_destroy(blank);
	struct display_device *dev, *tmp;
	wl_list_for_each_safe (dev, tmp, &display->devices, link)
		device_destroy(dev);
	wl_list_remove(&display->session_enable.link);
	wl_list_remove(&display->session_disable.link);
	wl_list_remove(&display->session_add_device.link);
	wl_list_remove(&display->session_lost.link);
	session_destroy(display->session);
	if (display->schedule_source != NULL)
		wl_event_source_remove(display->schedule_source);
	if (display->schedule_fd >= 0)
		close(display->schedule_fd);
	free(display);
}

static bool same_settings(const struct kms_output_settings *a, const struct kms_output_settings *b)
{
	return a->width == b->width && a->height == b->height && a->refresh_mhz == b->refresh_mhz &&
	       a->flip == b->flip && a->placeholder == b->placeholder && a->rotation == b->rotation;
}

void display_reconfigure(struct display *display)
{
	struct tm now;
	local_now(&now);
	struct display_device *dev;
	wl_list_for_each (dev, &display->devices, link) {
		struct kms_output *output;
		wl_list_for_each (output, &dev->kms->outputs, link)
			output_apply(display, output, &now, true);
	}
	warn_missing_outputs(display);
	schedule_arm(display);
}
