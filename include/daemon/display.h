/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_DAEMON_DISPLAY_H
#define VSCANOUT_DAEMON_DISPLAY_H

#include <stdbool.h>
#include <wayland-server-core.h>

struct config;
struct kms_device;
struct kms_output;
struct session;
struct session_device;

/*
 * The daemon's displays: the glue between the seat session (seat/session.h),
 * the KMS core (kms/device.h, kms/output.h) and the configuration.
 *
 * Every KMS card of the seat becomes a struct kms_device. Outputs come from
 * the configuration's [output NAME] sections; a name is a connector's KMS
 * name ("HDMI-A-1"), or "CARD:CONNECTOR" ("card1:Virtual-1") to say which
 * device when several have a connector of that name. A bare name that
 * matches on several devices is refused with a message asking for the
 * qualified form. A configuration without any [output] drives every
 * connected connector of every device with the defaults.
 *
 * Session changes reach every device (inactive: no commits; active again:
 * full modeset), udev hotplug reaches the device it names, a new card gets
 * its configured outputs, and a card that goes away is torn down.
 */
struct display_device {
	struct display *display;
	struct wl_list link; /* display.devices */
	struct session_device *session_device;
	struct kms_device *kms;
	struct wl_listener change;
	struct wl_listener remove;
};

/* An output lit at start-up whose first frame is awaited. */
struct display_first_frame {
	struct display *display;
	struct kms_output *output;
	struct wl_list link; /* display.first_frames */
	struct wl_listener present;
};

struct display {
	struct wl_event_loop *loop; /* borrowed */
	struct session *session;
	const struct config *config; /* borrowed, outlives the display */
	struct wl_list devices;      /* display_device.link */
	bool lost;                   /* the seat is gone for good */

	struct wl_listener session_enable;
	struct wl_listener session_disable;
	struct wl_listener session_add_device;
	struct wl_listener session_lost;

	struct wl_list first_frames; /* display_first_frame.link: outputs not yet on screen */
	struct wl_event_source *ready_idle; /* may be NULL */
	bool ready;

	struct {
		/* The seat was lost for good; the daemon should exit. Data: the display. */
		struct wl_signal lost;
		/*
		 * Every output lit at start-up has its first frame on screen (or
		 * none could be lit). Emitted once, from the event loop. Data: the
		 * display.
		 */
		struct wl_signal ready;
	} events;
};

/*
 * Open the seat, take over its KMS devices and light the configured
 * outputs. `config` is borrowed and must outlive the display. Fails (NULL,
 * after logging why) when the seat cannot be opened or has no usable KMS
 * device.
 */
struct display *display_create(struct wl_event_loop *loop, const struct config *config);

/* Turn the outputs off, release the devices and close the seat. NULL is a no-op. */
void display_destroy(struct display *display);

/*
 * The output the configuration calls `name` ("Virtual-1" or
 * "card1:Virtual-1"), or NULL when there is none or the bare name is
 * ambiguous.
 */
struct kms_output *display_find_output(struct display *display, const char *name);

/*
 * The configuration changed (a reload; `config` given at creation now holds
 * the new one): outputs no longer configured are turned off, newly
 * configured ones lit, and those whose settings changed get them (a modeset
 * only for a new mode). Outputs whose settings did not change are not
 * touched at all.
 */
void display_reconfigure(struct display *display);

#endif
