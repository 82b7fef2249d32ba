/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_DAEMON_DAEMON_H
#define VSCANOUT_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <wayland-server-core.h>

#include "config/config.h"

struct control;
struct input_forward;
struct notify_watchdog;
struct display;
struct protocol_server;
struct qemu_manager;
struct vfio_take_manager;
struct vgpu_manager;
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
	struct display *display_manager;     /* the seat's displays and outputs */
	struct vgpu_manager *vgpus;          /* every attached vGPU */
	struct qemu_manager *qemu;           /* the vGPUs that are QEMU's D-Bus displays */
	struct vfio_take_manager *vfio_take; /* VFIO devices taken from running QEMUs */
	struct protocol_server *server;      /* the vscanout-v1 socket and its clients */
	struct control *control;             /* vscanout_control_v1, for vscanoutctl */
	struct input_forward *forward;       /* may be NULL: the seat's input is not forwarded */
	struct wl_event_source *sighup_source;
	struct notify_watchdog *watchdog; /* may be NULL: no service watchdog */
	char *config_path;                /* may be NULL: built-in defaults, nothing to reload */
	int verbosity;                    /* -v given: log-level is ignored, on reload too */
	const char *seat_option; /* may be NULL: --seat, which a reloaded file's seat must equal */
	/* The last reload (SIGHUP), for inspection. */
	uint64_t reloads;
	bool reload_failed;
	char reload_message[256];
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

/*
 * Read the configuration file again and apply what changed, on SIGHUP: a
 * bad file, or one whose [daemon] seat is not seat_option (--seat), is
 * refused with the running configuration kept (returns -EINVAL; the
 * reason is logged and kept in reload_message). Outputs
 * whose settings did not change keep scanning out untouched (no commit,
 * no modeset); changed, added and removed outputs and vGPU assignments
 * are applied; [daemon] seat and socket, focus and hotkeys need a restart
 * (a warning says so). Returns 0 or a negative errno.
 */
int daemon_reload(struct daemon *daemon);

/*
 * Show vGPU vgpu in slot `slot` (0: the first place of its vgpu= list) of
 * the configured output from now on, in the running configuration (a
 * reload from the file undoes it): config_output_assign() (a vGPU shown
 * in another slot of the output swaps with the one there; slot = the
 * number shown adds one on top), then every vGPU moves to its region, no
 * modeset. Returns 0, or a negative errno with the reason in msg for
 * people (slots counted from 1 there): -ENOENT for an output or vGPU the
 * configuration does not have, -ERANGE for a slot the output does not
 * have, -EEXIST for adding a vGPU the output already shows.
 */
int daemon_assign(struct daemon *daemon, const char *vgpu, const char *output, size_t slot,
		  char *msg, size_t msg_size);

#endif
