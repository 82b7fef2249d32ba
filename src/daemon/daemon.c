// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <wayland-server-core.h>

#include "control/control.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "daemon/notify.h"
#include "input/forward.h"
#include "protocol/server.h"
#include "util/log.h"

static int handle_stop_signal(int signal_number, void *data)
{
	struct daemon *daemon = data;
	log_info("received %s, shutting down", strsignal(signal_number));
	daemon->stop_signal = signal_number;
	daemon_stop(daemon);
	return 0;
}

static void handle_display_lost(struct wl_listener *listener, void *data)
{
	struct daemon *daemon = wl_container_of(listener, daemon, display_lost);
	/* Exit with an error so that a supervisor starts a fresh daemon. */
	daemon->exit_error = -ENODEV;
	daemon_stop(daemon);
}

static void handle_display_ready(struct wl_listener *listener, void *data)
{
	log_info("every output shows its first frame");
	notify_send("READY=1\nSTATUS=running");
}

struct daemon *daemon_create(struct config *config)
{
	struct daemon *daemon = calloc(1, sizeof(*daemon));
	if (daemon == NULL) {
		log_error("out of memory");
		return NULL;
	}
	config_init(&daemon->config);
	config_move(&daemon->config, config);
	wl_list_init(&daemon->display_lost.link);
	wl_list_init(&daemon->display_ready.link);

	daemon->display = wl_display_create();
	if (daemon->display == NULL) {
		log_error("cannot create the event loop");
		goto error;
	}
	daemon->loop = wl_display_get_event_loop(daemon->display);

	/* libwayland blocks the signals and reads them from a signalfd. */
	daemon->sigint_source =
		wl_event_loop_add_signal(daemon->loop, SIGINT, handle_stop_signal, daemon);
	daemon->sigterm_source =
		wl_event_loop_add_signal(daemon->loop, SIGTERM, handle_stop_signal, daemon);
	if (daemon->sigint_source == NULL || daemon->sigterm_source == NULL) {
		log_error_errno("cannot watch SIGINT and SIGTERM");
		goto error;
	}

	daemon->display_manager = display_create(daemon->loop, &daemon->config);
	if (daemon->display_manager == NULL)
		goto error; /* logged */
	daemon->display_lost.notify = handle_display_lost;
	wl_signal_add(&daemon->display_manager->events.lost, &daemon->display_lost);
	daemon->display_ready.notify = handle_display_ready;
	wl_signal_add(&daemon->display_manager->events.ready, &daemon->display_ready);

	daemon->server =
		protocol_server_create(daemon->display, &daemon->config, daemon->display_manager);
	if (daemon->server == NULL)
		goto error; /* logged */
	daemon->control = control_create(daemon->display, &daemon->config, daemon->display_manager,
					 daemon->server);
	if (daemon->control == NULL)
		goto error; /* logged */
	/* Without input the daemon still shows the VMs. */
	daemon->forward = input_forward_create(daemon->loop, &daemon->config,
					       daemon->display_manager->session,
					       daemon->display_manager, daemon->server);
	if (daemon->forward == NULL)
		log_warn("the seat's input is not forwarded to the VMs");
	protocol_server_set_input(daemon->server, daemon->forward);

	return daemon;

error:
	daemon_destroy(daemon);
	return NULL;
}

int daemon_run(struct daemon *daemon)
{
	daemon->running = true;
	while (daemon->running) {
		wl_display_flush_clients(daemon->display);
		if (wl_event_loop_dispatch(daemon->loop, -1) < 0 && errno != EINTR) {
			int ret = -errno;
			log_error_errno("event loop failed");
			return ret;
		}
	}
	return daemon->exit_error;
}

void daemon_stop(struct daemon *daemon)
{
	daemon->running = false;
}

void daemon_destroy(struct daemon *daemon)
{
	if (daemon == NULL)
		return;
	wl_list_remove(&daemon->display_lost.link);
	wl_list_remove(&daemon->display_ready.link);
	protocol_server_set_input(daemon->server, NULL);
	input_forward_destroy(daemon->forward);
	control_destroy(daemon->control);
	protocol_server_destroy(daemon->server);
	display_destroy(daemon->display_manager);
	if (daemon->sigterm_source != NULL)
		wl_event_source_remove(daemon->sigterm_source);
	if (daemon->sigint_source != NULL)
		wl_event_source_remove(daemon->sigint_source);
	if (daemon->display != NULL)
		wl_display_destroy(daemon->display);
	config_finish(&daemon->config);
	free(daemon);
}
