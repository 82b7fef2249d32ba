// SPDX-License-Identifier: MIT
/*
 * The connection to one QEMU's D-Bus display, from nothing to a vGPU on
 * the monitor:
 *
 *   WAITING --retry--> CONNECTING: qmp: QMP getfd + add_client hand QEMU
 *     one end of a socketpair (qemu/qmp.h); dbus: connect to the bus.
 *   On that connection (qemu/bus.h): the VM's properties (Name,
 *     ConsoleIDs), then each console's until the wanted (or first
 *     graphic) one, then RegisterListener with one end of a second
 *     socketpair, on whose other end the listener object is exported
 *     (qemu/listener.c) and the vGPU is made, fed by the console's
 *     picture (qemu/frame.h) and answering input (qemu/input.h).
 *   The answer to RegisterListener: CONNECTED.
 *   Any failure, QEMU closing either connection, or a step outliving its
 *     deadline: the vGPU goes (the placeholder shows), everything is
 *     freed, WAITING again.
 *
 * QEMU blocks its main loop while it authenticates the listener
 * connection, so RegisterListener is never waited for: the listener side
 * is served by the loop meanwhile.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "qemu/bus.h"
#include "qemu/frame.h"
#include "qemu/input.h"
#include "qemu/private.h"
#include "qemu/qmp.h"
#include "util/log.h"

#define VM_IFACE         "org.qemu.Display1.VM"
#define CONSOLE_IFACE    "org.qemu.Display1.Console"
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"

static void start(struct qemu_display *display);
static void fail(struct qemu_display *display, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

const char *qemu_state_name(enum qemu_state state)
{
	switch (state) {
	case QEMU_WAITING:
		return "waiting";
	case QEMU_CONNECTING:
		return "connecting";
	case QEMU_CONNECTED:
		return "connected";
	}
	return "unknown";
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool is_qmp(const struct qemu_display *display)
{
	return strncmp(display->address, "qmp:", 4) == 0;
}

void qemu_display_error(struct qemu_display *display, const char *message)
{
	if (strcmp(display->last_error, message) != 0)
		log_warn("vGPU %s: QEMU at %s: %s", display->name, display->address, message);
	snprintf(display->last_error, sizeof(display->last_error), "%s", message);
}

/* --- frames and their answers --- */

void qemu_display_show(struct qemu_display *display)
{
	if (display->vgpu == NULL || display->frame == NULL)
		return;
	struct vgpu_frame frame;
	qemu_frame_get(display->frame, &frame);
	vgpu_show(display->vgpu, &frame);
	display->frames++;
}

static void frame_changed(void *data)
{
	qemu_display_show(data);
}

static void arm_reply_timer(struct qemu_display *display)
{
	uint64_t first = UINT64_MAX;
	for (size_t i = 0; i < QEMU_MAX_PENDING_REPLIES; i++)
		if (display->replies[i].call != NULL && display->replies[i].deadline_ns < first)
			first = display->replies[i].deadline_ns;
	if (display->reply_timer == NULL)
		return;
	if (first == UINT64_MAX) {
		wl_event_source_timer_update(display->reply_timer, 0);
		return;
	}
	uint64_t now = now_ns();
	int ms = first > now ? (int)((first - now) / 1000000u) + 1 : 1;
	wl_event_source_timer_update(display->reply_timer, ms);
}

static void send_reply(struct qemu_display *display, struct qemu_pending_reply *reply)
{
	sd_bus_message *call = reply->call;
	reply->call = NULL;
	sd_bus_reply_method_return(call, NULL);
	sd_bus_message_unref(call);
	qemu_bus_kick(display->listener_bus);
}

void qemu_display_reply_when_shown(struct qemu_display *display, sd_bus_message *call)
{
	struct qemu_pending_reply *slot = NULL;
	for (size_t i = 0; i < QEMU_MAX_PENDING_REPLIES && slot == NULL; i++)
		if (display->replies[i].call == NULL)
			slot = &display->replies[i];
	if (display->vgpu == NULL || slot == NULL) {
		sd_bus_reply_method_return(call, NULL);
		return;
	}
	slot->call = sd_bus_message_ref(call);
	slot->serial = ++display->next_serial;
	slot->deadline_ns = now_ns() + QEMU_DMABUF_REPLY_TIMEOUT_MS * 1000000ull;
	/* May answer at once (discarded: not shown anywhere), through source_frame_done(). */
	if (vgpu_track(display->vgpu, slot->serial) < 0 && slot->call != NULL)
		send_reply(display, slot);
	arm_reply_timer(display);
}

static int handle_reply_timer(void *data)
{
	struct qemu_display *display = data;
	uint64_t now = now_ns();
	for (size_t i = 0; i < QEMU_MAX_PENDING_REPLIES; i++) {
		struct qemu_pending_reply *reply = &display->replies[i];
		if (reply->call != NULL && reply->deadline_ns <= now) {
			display->dmabuf_late++;
			send_reply(display, reply);
		}
	}
	arm_reply_timer(display);
	return 0;
}

static void answer_all_replies(struct qemu_display *display)
{
	for (size_t i = 0; i < QEMU_MAX_PENDING_REPLIES; i++)
		if (display->replies[i].call != NULL)
			send_reply(display, &display->replies[i]);
	arm_reply_timer(display);
}

/* --- the vGPU's source --- */

static struct qemu_display *display_of(struct vgpu_source *source)
{
	struct qemu_display *display = wl_container_of(source, display, source);
	return display;
}

static int handle_ui_info_reply(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	display->ui_info_call = sd_bus_slot_unref(display->ui_info_call);
	/* Consoles whose device cannot change its mode refuse it: the guest keeps its own size. */
	const sd_bus_error *e = sd_bus_message_get_error(m);
	if (e != NULL && !display->ui_info_refused) {
		display->ui_info_refused = true;
		log_info("vGPU %s: QEMU's console %d keeps its own size (SetUIInfo: %s)",
			 display->name, display->console,
			 e->message != NULL ? e->message : e->name);
	}
	return 1;
}

/* Tell QEMU the size (and millimetres) of the vGPU's region of its clock output. */
static void send_ui_info(struct qemu_display *display, uint32_t width, uint32_t height, bool force)
{
	/* Also called from within vgpu_create(), before display->vgpu is set: sent after it. */
	if (display->bus == NULL || display->vgpu == NULL || width == 0 || height == 0)
		return;
	if (!force && width == display->ui_width && height == display->ui_height)
		return;
	uint32_t mm_width = 0, mm_height = 0;
	const char *clock = vgpu_get_clock_name(display->vgpu);
	struct vgpu_view_info view;
	for (size_t i = 0; clock != NULL && vgpu_get_view(display->vgpu, i, &view); i++)
		if (strcmp(view.output_name, clock) == 0) {
			mm_width = view.mm_width;
			mm_height = view.mm_height;
		}
	display->ui_width = width;
	display->ui_height = height;
	sd_bus_slot_unref(display->ui_info_call);
	display->ui_info_call = NULL;
	int ret = sd_bus_call_method_async(
		qemu_bus_get(display->bus), &display->ui_info_call, display->destination,
		display->console_path, CONSOLE_IFACE, "SetUIInfo", handle_ui_info_reply, display,
		"qqiiuu", (uint16_t)(mm_width > UINT16_MAX ? UINT16_MAX : mm_width),
		(uint16_t)(mm_height > UINT16_MAX ? UINT16_MAX : mm_height), 0, 0, width, height);
	if (ret < 0)
		log_warn("vGPU %s: SetUIInfo: %s", display->name, strerror(-ret));
	qemu_bus_kick(display->bus);
}

static void source_set_clock_region(struct vgpu_source *source, uint32_t width, uint32_t height)
{
	struct qemu_display *display = display_of(source);
	display->region_width = width;
	display->region_height = height;
	send_ui_info(display, width, height, false);
}

static void source_clock_mode_changed(struct vgpu_source *source)
{
	struct qemu_display *display = display_of(source);
	send_ui_info(display, display->ui_width, display->ui_height, true);
}

static void source_presented(struct vgpu_source *source, const struct vgpu_present *present)
{
	struct qemu_display *display = display_of(source);
	display->presented++;
	display->zero_copy += present->zero_copy;
}

static void source_frame_done(struct vgpu_source *source, uint32_t serial,
			      const struct vgpu_present *present)
{
	struct qemu_display *display = display_of(source);
	for (size_t i = 0; i < QEMU_MAX_PENDING_REPLIES; i++) {
		struct qemu_pending_reply *reply = &display->replies[i];
		if (reply->call != NULL && reply->serial == serial) {
			display->dmabuf_replies++;
			send_reply(display, reply);
			arm_reply_timer(display);
			return;
		}
	}
}

static const struct vgpu_source_impl source_impl = {
	.set_clock_region = source_set_clock_region,
	.clock_mode_changed = source_clock_mode_changed,
	.presented = source_presented,
	.frame_done = source_frame_done,
};

/* --- tearing down and retrying --- */

static void teardown(struct qemu_display *display)
{
	/* QEMU waits for nothing from a connection about to close, but answer anyway. */
	answer_all_replies(display);
	/* The vGPU first: the router takes its focus away while the input still sends. */
	vgpu_destroy(display->vgpu);
	display->vgpu = NULL;
	qemu_input_destroy(display->input);
	display->input = NULL;
	qemu_frame_destroy(display->frame);
	display->frame = NULL;
	display->call = sd_bus_slot_unref(display->call);
	display->ui_info_call = sd_bus_slot_unref(display->ui_info_call);
	display->resync_call = sd_bus_slot_unref(display->resync_call);
	qemu_bus_destroy(display->resync_bus);
	display->resync_bus = NULL;
	display->old_listener_filter = sd_bus_slot_unref(display->old_listener_filter);
	qemu_bus_destroy(display->old_listener_bus);
	display->old_listener_bus = NULL;
	qemu_bus_destroy(display->listener_bus);
	display->listener_bus = NULL;
	display->resync_ns = 0;
	display->resync_refused = false;
	if (display->resync_timer != NULL)
		wl_event_source_timer_update(display->resync_timer, 0);
	if (display->old_listener_timer != NULL)
		wl_event_source_timer_update(display->old_listener_timer, 0);
	qemu_bus_destroy(display->bus);
	display->bus = NULL;
	qemu_qmp_destroy(display->qmp);
	display->qmp = NULL;
	free(display->console_ids);
	display->console_ids = NULL;
	display->n_console_ids = 0;
	display->console = -1;
	display->ui_width = display->ui_height = 0;
	display->region_width = display->region_height = 0;
	display->ui_info_refused = false;
	if (display->setup_deadline != NULL)
		wl_event_source_timer_update(display->setup_deadline, 0);
}

static void fail(struct qemu_display *display, const char *fmt, ...)
{
	char message[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	bool was_connected = display->state == QEMU_CONNECTED;
	/* The same failure at every retry (QEMU not started yet) is logged once. */
	if (strcmp(display->last_error, message) != 0 || was_connected)
		log_info("vGPU %s: QEMU at %s: %s%s", display->name, display->address, message,
			 was_connected ? "; the placeholder shows until it is back" : "");
	else
		log_debug("vGPU %s: QEMU at %s: %s", display->name, display->address, message);
	snprintf(display->last_error, sizeof(display->last_error), "%s", message);
	teardown(display);
	display->state = QEMU_WAITING;
	wl_event_source_timer_update(display->retry, QEMU_RETRY_MS);
}

static int handle_retry(void *data)
{
	start(data);
	return 0;
}

static int handle_setup_deadline(void *data)
{
	struct qemu_display *display = data;
	if (display->state == QEMU_CONNECTING)
		fail(display, "QEMU did not finish setting up the display within %d ms",
		     QEMU_SETUP_TIMEOUT_MS);
	return 0;
}

static void handle_bus_lost(void *data, int error)
{
	struct qemu_display *display = data;
	fail(display, "QEMU closed the D-Bus connection (%s)", strerror(error));
}

/* --- setting up --- */

/* An error reply's message, for fail(). */
static const char *reply_error(sd_bus_message *m)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);
	return e != NULL ? (e->message != NULL ? e->message : e->name) : NULL;
}

static int handle_register_reply(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	display->call = sd_bus_slot_unref(display->call);
	const char *err = reply_error(m);
	if (err != NULL) {
		fail(display, "RegisterListener: QEMU answered: %s", err);
		return 1;
	}
	display->state = QEMU_CONNECTED;
	display->connects++;
	display->last_error[0] = '\0';
	wl_event_source_timer_update(display->setup_deadline, 0);
	log_info("vGPU %s: the D-Bus display of %s (%s), console %d", display->name,
		 display->qemu_name[0] != '\0' ? display->qemu_name : "QEMU", display->address,
		 display->console);
	return 1;
}

/* A connection to the bus of dbus: (never waits: Hello is answered later). */
static int open_bus(struct qemu_display *display, qemu_bus_lost_fn lost, struct qemu_bus **out)
{
	sd_bus *bus = NULL;
	int ret = sd_bus_new(&bus);
	if (ret >= 0)
		ret = sd_bus_set_address(bus, display->address + 5);
	if (ret >= 0)
		ret = sd_bus_set_bus_client(bus, 1);
	if (ret >= 0)
		ret = sd_bus_start(bus);
	if (ret >= 0) {
		*out = qemu_bus_create(display->manager->loop, bus, lost, display);
		if (*out == NULL)
			ret = -ENOMEM;
	}
	sd_bus_unref(bus);
	return ret;
}

static void drop_old_listener(struct qemu_display *display)
{
	display->old_listener_filter = sd_bus_slot_unref(display->old_listener_filter);
	qemu_bus_destroy(display->old_listener_bus);
	display->old_listener_bus = NULL;
	wl_event_source_timer_update(display->old_listener_timer, 0);
}

/* The new listener is not to be: the replaced one is the listener again. */
static void restore_old_listener(struct qemu_display *display)
{
	qemu_bus_destroy(display->listener_bus);
	display->listener_bus = display->old_listener_bus;
	display->old_listener_bus = NULL;
	display->old_listener_filter = sd_bus_slot_unref(display->old_listener_filter);
	wl_event_source_timer_update(display->old_listener_timer, 0);
}

/*
 * A listener connection closed: the current one is a failure; one
 * replaced by a resync is closed by QEMU 7.2 itself once the new
 * listener took its place.
 */
static void handle_listener_lost(void *data, int error)
{
	struct qemu_display *display = data;
	if (display->old_listener_bus != NULL &&
	    !sd_bus_is_open(qemu_bus_get(display->old_listener_bus))) {
		log_debug("vGPU %s: QEMU closed the replaced listener connection", display->name);
		drop_old_listener(display);
		if (display->listener_bus != NULL &&
		    sd_bus_is_open(qemu_bus_get(display->listener_bus)))
			return;
	}
	/* A new listener QEMU refused (its end closed): the old one serves on. */
	if (display->resync_call != NULL && display->old_listener_bus != NULL) {
		restore_old_listener(display);
		return;
	}
	fail(display, "QEMU closed the listener connection (%s)", strerror(error));
}

/* Calls on a replaced listener connection: the new listener's Scanout supersedes them. */
static int drop_old_call(sd_bus_message *m, void *data, sd_bus_error *error)
{
	uint8_t type = 0;
	if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
		return 0;
	sd_bus_reply_method_errorf(m, SD_BUS_ERROR_FAILED, "this listener was replaced");
	return 1;
}

/*
 * QEMU 7.2 keeps one peer-to-peer listener per console (and one per bus
 * name): the new one replaces the old, whose connection QEMU closes. Newer
 * QEMU keeps both until the old connection closes: closed here, late
 * enough that a QEMU replacing it has done so (closing it while 7.2
 * replaces it would race its own clean-up).
 */
static int handle_old_listener_timer(void *data)
{
	drop_old_listener(data);
	return 0;
}

static int handle_resync_reply(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	display->resync_call = sd_bus_slot_unref(display->resync_call);
	qemu_bus_destroy(display->resync_bus);
	display->resync_bus = NULL;
	const char *err = reply_error(m);
	if (err == NULL) {
		wl_event_source_timer_update(display->old_listener_timer, QEMU_OLD_LISTENER_MS);
		return 1;
	}
	log_info("vGPU %s: QEMU refused a new listener (%s); pictures that change size "
		 "without a Scanout stay refused",
		 display->name, err);
	display->resync_refused = true;
	if (display->old_listener_bus != NULL)
		restore_old_listener(display);
	return 1;
}

/* The bus connection of a resync's RegisterListener closed before the answer. */
static void handle_resync_bus_lost(void *data, int error)
{
	struct qemu_display *display = data;
	log_warn("vGPU %s: the connection registering a new listener closed (%s)", display->name,
		 strerror(error));
	display->resync_call = sd_bus_slot_unref(display->resync_call);
	qemu_bus_destroy(display->resync_bus);
	display->resync_bus = NULL;
	if (display->old_listener_bus != NULL)
		restore_old_listener(display);
}

/*
 * Register the listener again on a new connection: QEMU sends its whole
 * picture there. On a bus the call goes on a connection of its own (a
 * new name), closed once answered: QEMU 7.2 refuses a second listener of
 * one name, and forgets a listener only when its own connection closes.
 */
static void resync(struct qemu_display *display, const char *msg)
{
	if (display->state == QEMU_WAITING || display->resync_call != NULL ||
	    display->resync_refused)
		return;
	/*
	 * Once RegisterListener is answered; one replaced connection at a
	 * time, closed by QEMU or by the timer: never here, where QEMU 7.2
	 * may not be done replacing it.
	 */
	if (display->state != QEMU_CONNECTED || display->old_listener_bus != NULL) {
		wl_event_source_timer_update(display->resync_timer, QEMU_RESYNC_MIN_MS);
		return;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("vGPU %s: resync: socketpair: %s", display->name, strerror(errno));
		return;
	}
	struct qemu_bus *caller = display->bus;
	int ret = 0;
	if (display->destination != NULL) {
		ret = open_bus(display, handle_resync_bus_lost, &display->resync_bus);
		caller = display->resync_bus;
	}
	if (ret >= 0)
		ret = sd_bus_call_method_async(qemu_bus_get(caller), &display->resync_call,
					       display->destination, display->console_path,
					       CONSOLE_IFACE, "RegisterListener",
					       handle_resync_reply, display, "h", sv[1]);
	close(sv[1]);
	if (ret < 0) {
		close(sv[0]);
		qemu_bus_destroy(display->resync_bus);
		display->resync_bus = NULL;
		log_warn("vGPU %s: resync: RegisterListener: %s", display->name, strerror(-ret));
		return;
	}
	qemu_bus_kick(caller);
	int error = 0;
	struct qemu_bus *bus = qemu_bus_create_peer(display->manager->loop, sv[0],
						    handle_listener_lost, display, &error);
	if (bus == NULL) {
		fail(display, "new listener connection: %s", strerror(error));
		return;
	}
	display->old_listener_bus = display->listener_bus;
	display->listener_bus = bus;
	ret = sd_bus_add_filter(qemu_bus_get(display->old_listener_bus),
				&display->old_listener_filter, drop_old_call, display);
	if (ret >= 0)
		ret = qemu_listener_export(display);
	if (ret < 0) {
		fail(display, "new listener: %s", strerror(-ret));
		return;
	}
	display->resync_ns = now_ns();
	display->resyncs++;
	log_info("vGPU %s: QEMU's picture changed size without a Scanout (%s): listener "
		 "registered again for the whole picture",
		 display->name, msg);
}

static int handle_resync_timer(void *data)
{
	resync(data, "an Update outside the picture, held back");
	return 0;
}

void qemu_display_resync(struct qemu_display *display, const char *msg)
{
	if (display->resync_refused) {
		qemu_display_error(display, msg);
		return;
	}
	if (display->resync_call != NULL)
		return; /* its Scanout is coming */
	uint64_t next = display->resync_ns + QEMU_RESYNC_MIN_MS * 1000000ull, now = now_ns();
	if (display->resync_ns == 0 || next <= now) {
		resync(display, msg);
		return;
	}
	/* Later ones until then are served by the same resync. */
	wl_event_source_timer_update(display->resync_timer, (int)((next - now) / 1000000u) + 1);
}

static void register_listener(struct qemu_display *display)
{
	struct qemu_manager *manager = display->manager;
	if (vgpu_manager_find(manager->vgpus, display->name) != NULL) {
		fail(display, "vGPU %s is attached by a vscanout-v1 client", display->name);
		return;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		fail(display, "socketpair: %s", strerror(errno));
		return;
	}
	/* The fd is duplicated into the message: QEMU's end is closed here once sent. */
	int ret = sd_bus_call_method_async(qemu_bus_get(display->bus), &display->call,
					   display->destination, display->console_path,
					   CONSOLE_IFACE, "RegisterListener", handle_register_reply,
					   display, "h", sv[1]);
	close(sv[1]);
	if (ret < 0) {
		close(sv[0]);
		fail(display, "RegisterListener: %s", strerror(-ret));
		return;
	}
	qemu_bus_kick(display->bus);

	/* QEMU authenticates as the server on the listener connection; the display is its client.
	 */
	int error = 0;
	display->listener_bus =
		qemu_bus_create_peer(manager->loop, sv[0], handle_listener_lost, display, &error);
	if (display->listener_bus == NULL) {
		fail(display, "listener connection: %s", strerror(error));
		return;
	}
	display->frame = qemu_frame_create(manager->loop, frame_changed, display);
	display->input = qemu_input_create(qemu_bus_get(display->bus), display->destination,
					   display->console_path);
	ret = display->frame != NULL && display->input != NULL ? qemu_listener_export(display)
							       : -ENOMEM;
	if (ret < 0) {
		fail(display, "listener: %s", strerror(-ret));
		return;
	}
	display->vgpu = vgpu_create(manager->vgpus, display->name, &display->source,
				    qemu_input_target(display->input));
	if (display->vgpu == NULL) {
		fail(display, "out of memory");
		return;
	}
	struct vgpu_owner_info owner = {.input = true};
	vgpu_set_owner(display->vgpu, &owner);
	send_ui_info(display, display->region_width, display->region_height, true);
}

static void look_at_next_console(struct qemu_display *display);

/* Read a{sv} of a GetAll answer, calling fn for each name with the message at its variant. */
static int read_properties(sd_bus_message *m, struct qemu_display *display,
			   int (*fn)(struct qemu_display *display, const char *name,
				     sd_bus_message *m))
{
	int ret = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (ret < 0)
		return ret;
	while ((ret = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *name;
		ret = sd_bus_message_read(m, "s", &name);
		if (ret < 0)
			return ret;
		ret = fn(display, name, m);
		if (ret < 0)
			return ret;
		if (ret == 0 && (ret = sd_bus_message_skip(m, "v")) < 0)
			return ret;
		if ((ret = sd_bus_message_exit_container(m)) < 0)
			return ret;
	}
	if (ret < 0)
		return ret;
	return sd_bus_message_exit_container(m);
}

static int console_property(struct qemu_display *display, const char *name, sd_bus_message *m)
{
	const char *s;
	int ret;
	if (strcmp(name, "Type") == 0) {
		if ((ret = sd_bus_message_read(m, "v", "s", &s)) < 0)
			return ret;
		snprintf(display->console_props.type, sizeof(display->console_props.type), "%s", s);
		return 1;
	}
	if (strcmp(name, "Width") == 0)
		return sd_bus_message_read(m, "v", "u", &display->console_props.width) < 0 ? -EINVAL
											   : 1;
	if (strcmp(name, "Height") == 0)
		return sd_bus_message_read(m, "v", "u", &display->console_props.height) < 0
			       ? -EINVAL
			       : 1;
	return 0;
}

static int handle_console_reply(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	display->call = sd_bus_slot_unref(display->call);
	const char *err = reply_error(m);
	if (err != NULL) {
		fail(display, "%s: properties: QEMU answered: %s", display->console_path, err);
		return 1;
	}
	memset(&display->console_props, 0, sizeof(display->console_props));
	int ret = read_properties(m, display, console_property);
	if (ret < 0) {
		fail(display, "%s: properties: %s", display->console_path, strerror(-ret));
		return 1;
	}
	bool graphic = strcmp(display->console_props.type, "Graphic") == 0;
	if (display->console_wanted < 0 && !graphic) {
		look_at_next_console(display);
		return 1;
	}
	if (!graphic)
		log_warn("vGPU %s: QEMU's console %d is of type \"%s\", not Graphic", display->name,
			 display->console, display->console_props.type);
	log_debug("vGPU %s: QEMU's console %d is %ux%u", display->name, display->console,
		  display->console_props.width, display->console_props.height);
	register_listener(display);
	return 1;
}

static void ask_console(struct qemu_display *display, uint32_t id)
{
	display->console = (int)id;
	snprintf(display->console_path, sizeof(display->console_path),
		 QEMU_DISPLAY_PATH "/Console_%u", id);
	int ret = sd_bus_call_method_async(qemu_bus_get(display->bus), &display->call,
					   display->destination, display->console_path,
					   PROPERTIES_IFACE, "GetAll", handle_console_reply,
					   display, "s", CONSOLE_IFACE);
	if (ret < 0)
		fail(display, "%s: properties: %s", display->console_path, strerror(-ret));
	else
		qemu_bus_kick(display->bus);
}

static void look_at_next_console(struct qemu_display *display)
{
	if (display->next_console >= display->n_console_ids) {
		fail(display, "QEMU has no graphic console");
		return;
	}
	ask_console(display, display->console_ids[display->next_console++]);
}

static int vm_property(struct qemu_display *display, const char *name, sd_bus_message *m)
{
	int ret;
	if (strcmp(name, "Name") == 0) {
		const char *s;
		if ((ret = sd_bus_message_read(m, "v", "s", &s)) < 0)
			return ret;
		snprintf(display->qemu_name, sizeof(display->qemu_name), "%s", s);
		return 1;
	}
	if (strcmp(name, "ConsoleIDs") != 0)
		return 0;
	if ((ret = sd_bus_message_enter_container(m, 'v', "au")) < 0)
		return ret;
	const void *ids;
	size_t size;
	if ((ret = sd_bus_message_read_array(m, 'u', &ids, &size)) < 0)
		return ret;
	free(display->console_ids);
	display->n_console_ids = 0;
	display->console_ids = malloc(size > 0 ? size : 1);
	if (display->console_ids == NULL)
		return -ENOMEM;
	memcpy(display->console_ids, ids, size);
	display->n_console_ids = size / sizeof(uint32_t);
	if ((ret = sd_bus_message_exit_container(m)) < 0)
		return ret;
	return 1;
}

static int handle_vm_reply(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	display->call = sd_bus_slot_unref(display->call);
	const char *err = reply_error(m);
	if (err != NULL) {
		fail(display, "%s/VM: properties: %s", QEMU_DISPLAY_PATH, err);
		return 1;
	}
	int ret = read_properties(m, display, vm_property);
	if (ret < 0) {
		fail(display, "%s/VM: properties: %s", QEMU_DISPLAY_PATH, strerror(-ret));
		return 1;
	}
	if (display->console_wanted >= 0) {
		for (size_t i = 0; i < display->n_console_ids; i++)
			if (display->console_ids[i] == (uint32_t)display->console_wanted) {
				ask_console(display, (uint32_t)display->console_wanted);
				return 1;
			}
		fail(display, "QEMU has no console %d (qemu-console=)", display->console_wanted);
		return 1;
	}
	display->next_console = 0;
	look_at_next_console(display);
	return 1;
}

static void ask_vm(struct qemu_display *display)
{
	int ret = sd_bus_call_method_async(qemu_bus_get(display->bus), &display->call,
					   display->destination, QEMU_DISPLAY_PATH "/VM",
					   PROPERTIES_IFACE, "GetAll", handle_vm_reply, display,
					   "s", VM_IFACE);
	if (ret < 0)
		fail(display, "%s/VM: properties: %s", QEMU_DISPLAY_PATH, strerror(-ret));
	else
		qemu_bus_kick(display->bus);
}

static void handle_qmp_done(void *data, int error, const char *message)
{
	struct qemu_display *display = data;
	qemu_qmp_destroy(display->qmp);
	display->qmp = NULL;
	if (error < 0)
		fail(display, "%s", message);
}

/* The connection to QEMU's display objects: peer to peer through QMP, or on a bus. */
static int connect_bus(struct qemu_display *display)
{
	struct wl_event_loop *loop = display->manager->loop;
	if (is_qmp(display)) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
		display->qmp = qemu_qmp_attach(loop, display->address + 4, sv[1], handle_qmp_done,
					       display);
		if (display->qmp == NULL) {
			close(sv[0]);
			return -ENOMEM;
		}
		/* QEMU authenticates as the server: the display is the client. */
		display->destination = NULL;
		int error = 0;
		display->bus = qemu_bus_create_peer(loop, sv[0], handle_bus_lost, display, &error);
		return display->bus != NULL ? 0 : -error;
	}
	display->destination = "org.qemu";
	return open_bus(display, handle_bus_lost, &display->bus);
}

static void start(struct qemu_display *display)
{
	display->state = QEMU_CONNECTING;
	display->console = -1;
	wl_event_source_timer_update(display->setup_deadline, QEMU_SETUP_TIMEOUT_MS);
	int ret = connect_bus(display);
	if (ret < 0) {
		fail(display, "connect: %s", strerror(-ret));
		return;
	}
	/* Queued now; QEMU reads it once it took the connection. */
	ask_vm(display);
}

/* --- the manager --- */

static void display_destroy(struct qemu_display *display)
{
	teardown(display);
	if (display->retry != NULL)
		wl_event_source_remove(display->retry);
	if (display->setup_deadline != NULL)
		wl_event_source_remove(display->setup_deadline);
	if (display->reply_timer != NULL)
		wl_event_source_remove(display->reply_timer);
	if (display->resync_timer != NULL)
		wl_event_source_remove(display->resync_timer);
	if (display->old_listener_timer != NULL)
		wl_event_source_remove(display->old_listener_timer);
	wl_list_remove(&display->link);
	free(display->name);
	free(display->address);
	free(display);
}

static struct qemu_display *display_create(struct qemu_manager *manager,
					   const struct config_vgpu *cv)
{
	struct qemu_display *display = calloc(1, sizeof(*display));
	if (display == NULL)
		return NULL;
	display->manager = manager;
	wl_list_insert(manager->displays.prev, &display->link);
	display->name = strdup(cv->name);
	display->address = strdup(cv->qemu);
	display->console_wanted = cv->qemu_console;
	display->console = -1;
	display->source.impl = &source_impl;
	display->retry = wl_event_loop_add_timer(manager->loop, handle_retry, display);
	display->setup_deadline =
		wl_event_loop_add_timer(manager->loop, handle_setup_deadline, display);
	display->reply_timer = wl_event_loop_add_timer(manager->loop, handle_reply_timer, display);
	display->resync_timer =
		wl_event_loop_add_timer(manager->loop, handle_resync_timer, display);
	display->old_listener_timer =
		wl_event_loop_add_timer(manager->loop, handle_old_listener_timer, display);
	if (display->name == NULL || display->address == NULL || display->retry == NULL ||
	    display->setup_deadline == NULL || display->reply_timer == NULL ||
	    display->resync_timer == NULL || display->old_listener_timer == NULL) {
		display_destroy(display);
		return NULL;
	}
	start(display);
	return display;
}

static struct qemu_display *find_display(struct qemu_manager *manager, const char *name)
{
	struct qemu_display *display;
	wl_list_for_each (display, &manager->displays, link)
		if (strcmp(display->name, name) == 0)
			return display;
	return NULL;
}

struct qemu_manager *qemu_manager_create(struct wl_event_loop *loop, const struct config *config,
					 struct vgpu_manager *vgpus)
{
	struct qemu_manager *manager = calloc(1, sizeof(*manager));
	if (manager == NULL)
		return NULL;
	manager->loop = loop;
	manager->config = config;
	manager->vgpus = vgpus;
	wl_list_init(&manager->displays);
	qemu_manager_reconfigure(manager);
	return manager;
}

void qemu_manager_destroy(struct qemu_manager *manager)
{
	if (manager == NULL)
		return;
	struct qemu_display *display, *tmp;
	wl_list_for_each_safe (display, tmp, &manager->displays, link)
		display_destroy(display);
	free(manager);
}

void qemu_manager_reconfigure(struct qemu_manager *manager)
{
	struct qemu_display *display, *tmp;
	wl_list_for_each_safe (display, tmp, &manager->displays, link) {
		const struct config_vgpu *cv = config_find_vgpu(manager->config, display->name);
		if (cv == NULL || cv->qemu == NULL || strcmp(cv->qemu, display->address) != 0 ||
		    cv->qemu_console != display->console_wanted) {
			log_info("vGPU %s: no longer the D-Bus display of %s", display->name,
				 display->address);
			display_destroy(display);
		}
	}
	const struct config_vgpu *cv;
	wl_list_for_each (cv, &manager->config->vgpus, link)
		if (cv->qemu != NULL && find_display(manager, cv->name) == NULL &&
		    display_create(manager, cv) == NULL)
			log_error("vGPU %s: out of memory", cv->name);
}

bool qemu_manager_get_info(struct qemu_manager *manager, const char *name, struct qemu_info *info)
{
	struct qemu_display *display = manager != NULL ? find_display(manager, name) : NULL;
	if (display == NULL)
		return false;
	memset(info, 0, sizeof(*info));
	info->address = display->address;
	info->state = display->state;
	info->qemu_name = display->qemu_name[0] != '\0' ? display->qemu_name : NULL;
	info->console = display->console;
	info->connects = display->connects;
	info->frames = display->frames;
	info->presented = display->presented;
	info->zero_copy = display->zero_copy;
	info->dmabuf_replies = display->dmabuf_replies;
	info->dmabuf_late = display->dmabuf_late;
	info->last_error = display->last_error[0] != '\0' ? display->last_error : NULL;
	if (display->frame != NULL)
		qemu_frame_get_info(display->frame, &info->frame);
	if (display->input != NULL)
		qemu_input_get_info(display->input, &info->input);
	return true;
}
