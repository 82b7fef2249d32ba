// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <wayland-server-core.h>

#include "control/control.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "daemon/notify.h"
#include "daemon/options.h"
#include "daemon/roles.h"
#include "input/forward.h"
#include "kms/device.h"
#include "kms/output.h"
#include "protocol/server.h"
#include "qemu/qemu.h"
#include "util/log.h"
#include "vfio/take.h"
#include "vgpu/vgpu.h"

/* STATUS= for systemctl status: "STATE: N outputs lit, M vGPUs configured". */
static void notify_daemon_status(struct daemon *daemon, const char *state)
{
	int outputs = 0;
	struct display_device *device;
	wl_list_for_each (device, &daemon->display_manager->devices, link) {
		struct kms_output *output;
		wl_list_for_each (output, &device->kms->outputs, link)
			outputs += output->crtc != NULL;
	}
	/* [vgpu] sections, and vGPUs named only by outputs (once each). */
	int vgpus = (int)config_vgpu_count(&daemon->config);
	notify_status("%s: %d output%s lit, %d vGPU%s configured", state, outputs,
		      outputs == 1 ? "" : "s", vgpus, vgpus == 1 ? "" : "s");
}

static int handle_stop_signal(int signal_number, void *data)
{
	struct daemon *daemon = data;
	log_info("received %s, shutting down", strsignal(signal_number));
	daemon->stop_signal = signal_number;
	notify_status("stopping on %s", strsignal(signal_number));
	daemon_stop(daemon);
	return 0;
}

static int handle_sighup(int signal_number, void *data)
{
	daemon_reload(data);
	return 0;
}

/* Warn when VMMs also get the operators' control interface (daemon/roles.h). */
static void check_roles(struct daemon *daemon)
{
	char path[4096];
	struct stat st;
	gid_t socket_gid = (gid_t)-1;
	if (config_socket_path(&daemon->config, path, sizeof(path)) == 0 && stat(path, &st) == 0)
		socket_gid = st.st_gid;
	roles_check(&daemon->config, socket_gid);
}

static bool str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

int daemon_reload(struct daemon *daemon)
{
	daemon->reloads++;
	daemon->reload_failed = false;
	if (daemon->config_path == NULL) {
		snprintf(daemon->reload_message, sizeof(daemon->reload_message),
			 "no configuration file (none given, none at %s): nothing to reload",
			 daemon_options_default_config());
		log_info("reload: %s", daemon->reload_message);
		return 0;
	}
	notify_send("RELOADING=1");
	struct config next;
	config_init(&next);
	int ret = config_load(&next, daemon->config_path);
	/* Started for a seat (--seat): a file naming another is refused. */
	if (ret == 0 && daemon->seat_option != NULL)
		ret = config_require_seat(&next, daemon->seat_option, daemon->config_path);
	if (ret < 0) {
		daemon->reload_failed = true;
		snprintf(daemon->reload_message, sizeof(daemon->reload_message),
			 "%s has errors (logged above): the running configuration is kept",
			 daemon->config_path);
		log_error("reload: %s", daemon->reload_message);
		config_finish(&next);
		notify_send("READY=1");
		notify_daemon_status(daemon,
				     "running, reload refused: the configuration has errors");
		return ret;
	}
	/* What only a restart can change stays as it is. */
	if (str_differs(next.seat, daemon->config.seat) ||
	    str_differs(next.socket_path, daemon->config.socket_path))
		log_warn("reload: [daemon] seat and socket take effect at the next start");
	free(next.seat);
	free(next.socket_path);
	next.seat = daemon->config.seat != NULL ? strdup(daemon->config.seat) : NULL;
	next.socket_path =
		daemon->config.socket_path != NULL ? strdup(daemon->config.socket_path) : NULL;
	/* -v on the command line outlives the file's log-level. */
	log_init(daemon_options_log_level(daemon->verbosity, &next));

	struct config old;
	config_init(&old);
	config_move(&old, &daemon->config);
	config_move(&daemon->config, &next);
	display_reconfigure(daemon->display_manager);
	vgpu_manager_reconfigure(daemon->vgpus);
	qemu_manager_reconfigure(daemon->qemu);
	vfio_take_manager_reconfigure(daemon->vfio_take);
	input_forward_reconfigure(daemon->forward);
	config_finish(&old);
	check_roles(daemon);
	snprintf(daemon->reload_message, sizeof(daemon->reload_message), "%s applied",
		 daemon->config_path);
	log_info("reload: %s", daemon->reload_message);
	notify_send("READY=1");
	notify_daemon_status(daemon, "running, configuration reloaded");
	return 0;
}

static int action_reload(void *data, char *msg, size_t msg_size)
{
	struct daemon *daemon = data;
	int ret = daemon_reload(daemon);
	snprintf(msg, msg_size, "%s", daemon->reload_message);
	if (ret == 0 && daemon->config_path == NULL)
		return -ENOENT;
	return ret;
}

/* "slot 1" or "slots 1 to n", for messages. */
static void slot_range(size_t n, char *buf, size_t size)
{
	if (n == 1)
		snprintf(buf, size, "slot 1");
	else
		snprintf(buf, size, "slots 1 to %zu", n);
}

/* Whether slot (from 0) of co may take vgpu; the reason in msg otherwise. */
static int check_slot(const struct config_output *co, const char *vgpu, size_t slot, char *msg,
		      size_t msg_size)
{
	size_t n = config_output_n_vgpus(co);
	char range[32];
	if (co->layout == CONFIG_LAYOUT_REGIONS && slot >= co->n_file_vgpus) {
		slot_range(co->n_file_vgpus, range, sizeof(range));
		snprintf(msg, msg_size,
			 "output %s has no slot %zu: its layout = regions has %zu region%s (%s)",
			 co->name, slot + 1, co->n_file_vgpus, co->n_file_vgpus == 1 ? "" : "s",
			 range);
		return -ERANGE;
	}
	if (slot >= CONFIG_OUTPUT_MAX_VGPUS || slot > n) {
		slot_range(n, range, sizeof(range));
		if (n == CONFIG_OUTPUT_MAX_VGPUS)
			snprintf(msg, msg_size,
				 "output %s has no slot %zu: it shows %zu vGPUs, the most an "
				 "output can (%s)",
				 co->name, slot + 1, n, range);
		else if (n == 0)
			snprintf(msg, msg_size,
				 "output %s has no slot %zu: it shows no vGPU (slot 1 adds one)",
				 co->name, slot + 1);
		else
			snprintf(
				msg, msg_size,
				"output %s has no slot %zu: it shows %zu vGPU%s (%s, %zu adds one)",
				co->name, slot + 1, n, n == 1 ? "" : "s", range, n + 1);
		return -ERANGE;
	}
	int at = config_output_vgpu_index(co, vgpu);
	if (slot == n && at >= 0) {
		snprintf(msg, msg_size,
			 "output %s shows vGPU %s already, in slot %d: it cannot be added again",
			 co->name, vgpu, at + 1);
		return -EEXIST;
	}
	return 0;
}

int daemon_assign(struct daemon *daemon, const char *vgpu, const char *output, size_t slot,
		  char *msg, size_t msg_size)
{
	struct config_output *co = config_find_output(&daemon->config, output);
	if (co == NULL) {
		snprintf(msg, msg_size, "no [output %s] in the configuration", output);
		return -ENOENT;
	}
	if (!config_has_vgpu(&daemon->config, vgpu)) {
		snprintf(msg, msg_size, "no vGPU \"%s\" in the configuration", vgpu);
		return -ENOENT;
	}
	int ret = check_slot(co, vgpu, slot, msg, msg_size);
	if (ret < 0)
		return ret;
	ret = config_output_assign(co, slot, vgpu);
	if (ret < 0) {
		snprintf(msg, msg_size,
			 ret == -ENOMEM ? "out of memory"
					: "vGPU \"%s\" cannot go to slot %zu of output %s",
			 vgpu, slot + 1, output);
		return ret;
	}
	log_info("output %s: now shows vGPU %s in slot %zu (until the next reload)", output, vgpu,
		 slot + 1);
	vgpu_manager_reconfigure(daemon->vgpus);
	snprintf(msg, msg_size, "output %s shows vGPU %s in slot %zu", output, vgpu, slot + 1);
	return 0;
}

static int action_assign(void *data, const char *vgpu, const char *output, size_t slot, char *msg,
			 size_t msg_size)
{
	return daemon_assign(data, vgpu, output, slot, msg, msg_size);
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
	struct daemon *daemon = wl_container_of(listener, daemon, display_ready);
	log_info("every output shows its first frame");
	notify_send("READY=1");
	notify_daemon_status(daemon, "running");
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
	daemon->watchdog = notify_watchdog_create(daemon->loop);

	/* libwayland blocks the signals and reads them from a signalfd. */
	daemon->sigint_source =
		wl_event_loop_add_signal(daemon->loop, SIGINT, handle_stop_signal, daemon);
	daemon->sigterm_source =
		wl_event_loop_add_signal(daemon->loop, SIGTERM, handle_stop_signal, daemon);
	daemon->sighup_source =
		wl_event_loop_add_signal(daemon->loop, SIGHUP, handle_sighup, daemon);
	if (daemon->sigint_source == NULL || daemon->sigterm_source == NULL ||
	    daemon->sighup_source == NULL) {
		log_error_errno("cannot watch SIGINT, SIGTERM and SIGHUP");
		goto error;
	}

	daemon->display_manager = display_create(daemon->loop, &daemon->config);
	if (daemon->display_manager == NULL)
		goto error; /* logged */
	daemon->display_lost.notify = handle_display_lost;
	wl_signal_add(&daemon->display_manager->events.lost, &daemon->display_lost);
	daemon->display_ready.notify = handle_display_ready;
	wl_signal_add(&daemon->display_manager->events.ready, &daemon->display_ready);

	daemon->vgpus = vgpu_manager_create(&daemon->config, daemon->display_manager);
	if (daemon->vgpus == NULL) {
		log_error("out of memory");
		goto error;
	}
	daemon->server = protocol_server_create(daemon->display, &daemon->config,
						daemon->display_manager, daemon->vgpus);
	if (daemon->server == NULL)
		goto error; /* logged */
	check_roles(daemon);
	daemon->control = control_create(daemon->display, &daemon->config, daemon->display_manager,
					 daemon->server, daemon->vgpus);
	if (daemon->control == NULL)
		goto error; /* logged */
	control_set_actions(daemon->control, &(struct control_actions){
						     .reload = action_reload,
						     .assign = action_assign,
						     .data = daemon,
					     });
	/* Without input the daemon still shows the VMs. */
	daemon->forward = input_forward_create(daemon->loop, &daemon->config,
					       daemon->display_manager->session,
					       daemon->display_manager, daemon->vgpus);
	if (daemon->forward == NULL)
		log_warn("the seat's input is not forwarded to the VMs");
	vgpu_manager_set_input(daemon->vgpus, daemon->forward);
	input_forward_set_assign(daemon->forward, action_assign, daemon);
	/* The vGPUs that are QEMU's D-Bus displays: connected as QEMU appears. */
	daemon->qemu = qemu_manager_create(daemon->loop, &daemon->config, daemon->vgpus);
	if (daemon->qemu == NULL) {
		log_error("out of memory");
		goto error;
	}
	control_set_qemu(daemon->control, daemon->qemu);
	/* The mediated vGPUs whose VFIO device is taken from their running QEMU. */
	daemon->vfio_take = vfio_take_manager_create(daemon->loop, &daemon->config, daemon->vgpus);
	if (daemon->vfio_take == NULL) {
		log_error("out of memory");
		goto error;
	}
	control_set_vfio_take(daemon->control, daemon->vfio_take);

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
	vfio_take_manager_destroy(daemon->vfio_take);
	qemu_manager_destroy(daemon->qemu);
	if (daemon->vgpus != NULL)
		vgpu_manager_set_input(daemon->vgpus, NULL);
	input_forward_destroy(daemon->forward);
	control_destroy(daemon->control);
	protocol_server_destroy(daemon->server);
	vgpu_manager_destroy(daemon->vgpus);
	display_destroy(daemon->display_manager);
	if (daemon->sighup_source != NULL)
		wl_event_source_remove(daemon->sighup_source);
	free(daemon->config_path);
	if (daemon->sigterm_source != NULL)
		wl_event_source_remove(daemon->sigterm_source);
	if (daemon->sigint_source != NULL)
		wl_event_source_remove(daemon->sigint_source);
	notify_watchdog_destroy(daemon->watchdog);
	if (daemon->display != NULL)
		wl_display_destroy(daemon->display);
	config_finish(&daemon->config);
	free(daemon);
}
