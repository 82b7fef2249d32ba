/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_DAEMON_DISPLAY_H
#define VSCANOUT_DAEMON_DISPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <wayland-server-core.h>

#include "daemon/schedule.h"

struct config;
struct config_output;
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
 *
 * Blanking. An output is kept off (DPMS off: its CRTC turned off with
 * kms_output_disable(), its settings and layers kept, the vGPU shown there
 * committing into them as before) while any of these holds:
 *
 *  - DISPLAY_BLANK_CONFIG: its section says blank = yes;
 *  - DISPLAY_BLANK_SCHEDULE: the local time is inside its blank-schedule
 *    window;
 *  - DISPLAY_BLANK_REQUEST: vscanoutctl blank asked for it
 *    (display_output_request_blank()).
 *
 * and it is lit again, with a full modeset and the settings of its section
 * as they are by then, when none holds any more. The rules between the
 * configuration and requests:
 *
 *  - A blank request stays until vscanoutctl unblank, until a reload
 *    changes that output's blank or blank-schedule (the configuration then
 *    decides again), or until the output leaves the configuration. A reload
 *    that leaves those two keys as they were, a hotplug, a session switch or
 *    a window edge does not end it.
 *  - vscanoutctl unblank ends the request only: an output that blank = yes
 *    or its window keeps off stays off (and the answer says so).
 *  - A reload never lights an output the configuration still keeps off,
 *    and settings changed while an output is off are applied when it is lit.
 *
 * Each change is logged with its reason. The windows are applied at
 * start-up, at each reload, at each window edge and when the wall clock is
 * set: one timerfd (CLOCK_REALTIME, TFD_TIMER_CANCEL_ON_SET) on the event
 * loop is armed at the earliest next edge of all windows.
 */
struct display_device {
	struct display *display;
	struct wl_list link; /* display.devices */
	struct session_device *session_device;
	struct kms_device *kms;
	struct wl_listener change;
	struct wl_listener remove;
};

/* Why an output is kept off (bits). */
enum display_blank_reason {
	DISPLAY_BLANK_CONFIG = 1u << 0,   /* blank = yes */
	DISPLAY_BLANK_SCHEDULE = 1u << 1, /* inside its blank-schedule window */
	DISPLAY_BLANK_REQUEST = 1u << 2,  /* vscanoutctl blank */
};

/* An output kept off, and what for. */
struct display_blank {
	struct display *display;
	struct kms_output *output;
	struct wl_list link; /* display.blanks */
	struct wl_listener output_destroy;
	uint32_t reasons; /* enum display_blank_reason bits, never 0 */
	/* The output's blank keys when the reasons were last worked out. */
	bool config_blank;
	bool schedule_set;
	struct schedule_window schedule;
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

	struct wl_list blanks;                   /* display_blank.link: outputs kept off */
	int schedule_fd;                         /* timerfd of the next blank-schedule edge */
	struct wl_event_source *schedule_source; /* may be NULL while being built */
	time_t schedule_next; /* the edge it is armed for; 0: no window, disarmed */

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
 * only for a new mode). Outputs the configuration now keeps off are blanked
 * and those it no longer keeps off lit (see Blanking above). Outputs whose
 * keys did not change are not touched at all: no commit, no modeset.
 */
void display_reconfigure(struct display *display);

/* The [output] section that is `output`, or NULL. */
const struct config_output *display_output_config(struct display *display,
						  const struct kms_output *output);

/* Why `output` is kept off: enum display_blank_reason bits, 0 when it is not. */
uint32_t display_output_blank_reasons(const struct display *display,
				      const struct kms_output *output);

/*
 * vscanoutctl blank (blank true) or unblank (false) of `output`. Blank:
 * -EALREADY when it is blanked on request already, -ENOTCONN when it is
 * neither lit nor kept off by its configuration (not configured, or
 * waiting for its connector). Unblank: -EALREADY when it is not blanked on
 * request; -EBUSY when the request ended but the configuration still keeps
 * it off; a negative errno when it cannot be lit. Otherwise 0: turning off
 * or lighting is under way.
 */
int display_output_request_blank(struct display *display, struct kms_output *output, bool blank);

#endif
