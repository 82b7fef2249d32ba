// SPDX-License-Identifier: MIT
/*
 * seat-vt-switch: a session under seatd follows VT switches.
 *
 * Run in the VM with vkms, as root; starts its own seatd (readiness through
 * `seatd -n FD`, no waiting on files) and opens the session with
 * LIBSEAT_BACKEND=seatd on the active VT:
 *  1. the session is active, the vkms card is open and DRM master: a modeset
 *     through its fd works, while another process can neither become master
 *     nor commit;
 *  2. switching to another VT (VT_ACTIVATE on /dev/tty0, what chvt does)
 *     emits `disable` with `active` false; the session acknowledges it,
 *     and then another process becomes DRM master and commits a modeset;
 *  3. switching back (after that process has exited) emits `enable` only if
 *     the disable was acknowledged (seatd re-enables acknowledged clients
 *     only), and the fd is master again: a modeset through it works.
 *     A card that appeared while the session was inactive (virtio_gpu,
 *     unbound before and bound again then) is announced with `add_device`
 *     right after `enable`, and not before;
 *  4. the same round again, the switch away asked through
 *     session_switch_vt();
 *  5. seatd exits: `lost`; then the session is destroyed while a `remove`
 *     listener closes its device itself.
 *
 * Exit 77 when the guest has no VT, or seatd is not installed (Debian package
 * seatd).
 */
#include <drm_fourcc.h>
#include <fcntl.h>
#include <linux/vt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "kmstest.h"
#include "seatest.h"
#include "util/log.h"

struct recorder {
	struct wl_listener listener;
	int count;
	bool active_seen; /* session->active during the last emission */
	struct session *session;
};

static void handle_seat_signal(struct wl_listener *listener, void *data)
{
	struct recorder *rec = wl_container_of(listener, rec, listener);
	kt_assert(data == rec->session);
	rec->count++;
	rec->active_seen = rec->session->active;
}

struct add_recorder {
	struct wl_listener listener;
	int count;
	int enables_before; /* enable signals seen when the card was announced */
	struct recorder *enabled;
	struct session_device *device;
};

static void handle_add(struct wl_listener *listener, void *data)
{
	struct add_recorder *rec = wl_container_of(listener, rec, listener);
	rec->count++;
	rec->device = data;
	rec->enables_before = rec->enabled->count;
	kt_log("%s: added, driver %s", rec->device->sysname, rec->device->driver);
}

static void handle_removed(struct wl_listener *listener, void *data)
{
	struct recorder *rec = wl_container_of(listener, rec, listener);
	rec->count++;
	wl_list_remove(&rec->listener.link);
}

static void handle_remove_close(struct wl_listener *listener, void *data)
{
	struct recorder *rec = wl_container_of(listener, rec, listener);
	rec->count++;
	wl_list_remove(&rec->listener.link);
	session_device_close(data);
}

static void listen_session(struct recorder *rec, struct wl_signal *signal, struct session *session)
{
	memset(rec, 0, sizeof(*rec));
	rec->session = session;
	rec->listener.notify = handle_seat_signal;
	wl_signal_add(signal, &rec->listener);
}

/* Run a command to completion; fail unless it exits 0. */
static void run(const char *command)
{
	kt_log("running %s", command);
	int status = system(command);
	kt_assertf(status == 0, "%s: status %#x", command, status);
}

/*
 * Switch away and back. With `command`, run it while inactive: the card it
 * adds must be announced only after `enable`.
 */
static void switch_round(struct wl_event_loop *loop, struct session *session,
			 struct session_device *device, int tty0, int home_vt, int other_vt,
			 bool through_session, const char *command)
{
	struct recorder enabled, disabled;
	listen_session(&enabled, &session->events.enable, session);
	listen_session(&disabled, &session->events.disable, session);
	struct add_recorder added = {.listener.notify = handle_add, .enabled = &enabled};
	wl_signal_add(&session->events.add_device, &added.listener);

	/* Ours: another process can neither become master nor commit. */
	kt_assert(session->active);
	kt_assertf(drmIsMaster(device->fd), "%s: not DRM master while active", device->sysname);
	kt_assertf(seatest_other_master(device->devnode) == 1,
		   "another process became master of %s while the session is active",
		   device->devnode);

	if (through_session) {
		kt_log("switching to VT %d through the session", other_vt);
		kt_assert_ok(session_switch_vt(session, other_vt));
	} else {
		seatest_activate_vt(tty0, other_vt);
	}
	seatest_wait(loop, &disabled.count, 1, "disable after switching VT away");
	kt_assert(!disabled.active_seen && !session->active);
	kt_assert(enabled.count == 0);
	seatest_wait_vt(tty0, other_vt);

	/* Theirs now. */
	kt_assertf(!drmIsMaster(device->fd), "%s: still DRM master while inactive",
		   device->sysname);
	kt_assertf(seatest_other_master(device->devnode) == 0,
		   "another process could not take %s while the session is inactive",
		   device->devnode);

	if (command != NULL) {
		run(command);
		/* udevd has sent the card's "add": let the session read it. */
		for (int i = 0; i < 4; i++)
			kt_assert(wl_event_loop_dispatch(loop, 0) == 0);
		kt_assertf(added.count == 0, "a card was announced while the session is inactive");
	}

	seatest_activate_vt(tty0, home_vt);
	seatest_wait(loop, &enabled.count, 1, "enable after switching VT back");
	kt_assert(enabled.active_seen && session->active);
	kt_assert(disabled.count == 1);
	seatest_wait_vt(tty0, home_vt);

	/* Ours again. */
	kt_assertf(drmIsMaster(device->fd), "%s: not DRM master after enable", device->sysname);
	int ret = seatest_modeset(device->fd, 3);
	kt_assertf(ret == 0, "modeset after enable: %s", strerror(-ret));

	if (command != NULL) {
		kt_assertf(added.count == 1 && added.enables_before == 1,
			   "%d cards announced, %d enable signals before", added.count,
			   added.enables_before);
		seatest_check_device(added.device);
		kt_assertf(drmIsMaster(added.device->fd), "%s: not DRM master",
			   added.device->sysname);
	}

	wl_list_remove(&enabled.listener.link);
	wl_list_remove(&disabled.listener.link);
	wl_list_remove(&added.listener.link);
}

int main(void)
{
	int tty0 = open("/dev/tty0", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty0 < 0)
		kt_skip("no VT: /dev/tty0: %s", strerror(errno));
	int home_vt = seatest_active_vt(tty0);
	int other_vt = home_vt % MAX_NR_CONSOLES + 1;
	kt_log("active VT %d, switching to VT %d and back", home_vt, other_vt);

	pid_t seatd = seatest_start_seatd();
	log_init(LOG_LEVEL_DEBUG);
	struct wl_event_loop *loop = wl_event_loop_create();
	kt_assert(loop != NULL);

	struct session *session = session_create(loop, NULL);
	kt_assertf(session != NULL, "session_create failed");
	kt_assertf(session->active, "the session on the active VT is not active");
	struct session_device *device = seatest_find_driver(session, "vkms");
	kt_assertf(device != NULL, "no vkms card in the session");
	seatest_check_device(device);
	int ret = seatest_modeset(device->fd, 1);
	kt_assertf(ret == 0, "modeset while active: %s", strerror(-ret));

	/* Take virtio-gpu's card away now, to bring it back while inactive. */
	struct session_device *virtio = seatest_find_driver(session, "virtio_gpu");
	kt_assertf(virtio != NULL, "no virtio_gpu card in the session");
	char name[64], bind[160];
	seatest_virtio_name(virtio, name, sizeof(name));
	struct recorder removed = {.listener.notify = handle_removed};
	wl_signal_add(&virtio->events.remove, &removed.listener);
	seatest_write("/sys/bus/virtio/drivers/virtio_gpu/unbind", name);
	seatest_wait(loop, &removed.count, 1, "remove after unbinding virtio_gpu");
	snprintf(bind, sizeof(bind),
		 "echo %s > /sys/bus/virtio/drivers/virtio_gpu/bind && udevadm settle", name);

	switch_round(loop, session, device, tty0, home_vt, other_vt, false, bind);
	kt_assert(seatest_find_driver(session, "virtio_gpu") != NULL);
	switch_round(loop, session, device, tty0, home_vt, other_vt, true, NULL);

	/* seatd goes away: the session reports it lost, inactive for good. */
	struct recorder lost;
	listen_session(&lost, &session->events.lost, session);
	kt_assert_errno(kill(seatd, SIGTERM) == 0);
	int status;
	kt_assert_errno(waitpid(seatd, &status, 0) == seatd);
	seatest_wait(loop, &lost.count, 1, "lost after seatd exited");
	kt_assert(!session->active);
	wl_list_remove(&lost.listener.link);

	/* Outside any dispatch, a remove listener closes its device itself. */
	struct recorder closing = {.listener.notify = handle_remove_close};
	wl_signal_add(&device->events.remove, &closing.listener);
	session_destroy(session);
	kt_assert(closing.count == 1);
	wl_event_loop_destroy(loop);
	close(tty0);
	kt_log("ok");
	return 0;
}
