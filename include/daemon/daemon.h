/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_DAEMON_DAEMON_H
#define VSCANOUT_DAEMON_DAEMON_H

#include <stdbool.h>
#include <wayland-server-core.h>

#include "config/config.h"

struct control;
struct input_forward;
struct display;
struct protocol_server;
struct wl_display;
struct wl_event_loop;
struct wl_event_source;

/*
 * The daemon's one context: everything vscanoutd runs is reached from here,
 * and everything happens on its one event loop (a wl_event_loop, owned by
 * the wl_display that later serves the vscanout protocol). SIGINT and
 * SIGTERM arrive through the loop as well and end it cleanly.
 */
struct daemon {
	struct wl_display *display;
	struct wl_event_loop *loop; /* owned by display */
	struct wl_event_source *sigint_source;
	struct wl_event_source *sigterm_source;
	struct config config;
	struct display *display_manager; /* the seat's displays and outputs */
	struct protocol_server *server;  /* the vscanout-v1 socket and its clients */
	struct control *control;         /* vscanout_control_v1, for vscanoutctl */
	struct input_forward *forward;   /* may be NULL: the seat's input is not forwarded */
	struct wl_listener display_lost;
	struct wl_listener display_ready;
	bool running;
	int stop_signal; /* the signal that ended the loop, 0 if none */
	int exit_error;  /* negative errno of a fatal error that ended the loop, or 0 */
};

/*
 * Build the daemon from a configuration, whose contents are moved into the
 * daemon (`config` is left empty, as after config_init()): open the seat,
 * take over its KMS devices, light the configured outputs and listen on the
 * vscanout-v1 socket (protocol/server.h). Returns NULL
 * after logging why.
 */
struct daemon *daemon_create(struct config *config);

/*
 * Run the event loop until daemon_stop() is called or SIGINT/SIGTERM
 * arrives. Returns 0 after such a clean stop, or a negative errno if the
 * loop itself failed or the seat was lost for good (logged).
 */
int daemon_run(struct daemon *daemon);

/* Make daemon_run() return after the current dispatch. */
void daemon_stop(struct daemon *daemon);

/* Tear everything down. NULL is a no-op; half-built objects are fine. */
void daemon_destroy(struct daemon *daemon);

#endif
