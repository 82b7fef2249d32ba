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

/*
 * Full modeset of the first pipe of fd with a fresh dumb buffer. Returns the
 * commit's result; what the commit needs besides master is asserted.
 */
static int modeset(int fd, uint32_t seed)
{
	struct kt_device dev = {.fd = fd};
	kt_assert_ok(drmSetClientCap(fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1));
	kt_assert_ok(drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1));

	struct kt_pipe pipe;
	kt_assert_ok(kt_pipe_find(&dev, &pipe));
	struct kt_buffer fb;
	kt_assert_ok(kt_dumb_create(&dev, &fb, pipe.mode.hdisplay, pipe.mode.vdisplay,
				    DRM_FORMAT_XRGB8888));
	kt_fill_pattern(&fb.img, seed);

	struct kt_atomic a;
	kt_atomic_init(&a, &dev);
	kt_atomic_add_modeset(&a, &dev, &pipe);
	kt_atomic_add_plane(&a, pipe.primary_id, pipe.crtc_id, fb.fb_id, fb.img.width,
			    fb.img.height, 0, 0);
	int ret = kt_atomic_commit(&a, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL);
	kt_atomic_finish(&a);
	kt_buffer_destroy(&dev, &fb);
	kt_pipe_finish(&dev, &pipe);
	return ret;
}

/*
 * In a child process: open devnode, try to become DRM master and commit a
 * modeset. Returns 0 if both worked, 1 if master was refused (EBUSY: someone
 * else is master), 2 if only the commit failed.
 */
static int other_process_takes_master(const char *devnode)
{
	fflush(NULL);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		int fd = open(devnode, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(3);
		if (drmSetMaster(fd) != 0) {
			kt_log("other process: drmSetMaster: %s", strerror(errno));
			_exit(1);
		}
		int ret = modeset(fd, 77);
		kt_log("other process: master, modeset: %s", ret == 0 ? "ok" : strerror(-ret));
		_exit(ret == 0 ? 0 : 2);
	}
	int status;
	kt_assert_errno(waitpid(pid, &status, 0) == pid);
	kt_assertf(WIFEXITED(status) && WEXITSTATUS(status) <= 2, "other process: status %#x",
		   status);
	return WEXITSTATUS(status);
}

/* Start seatd and wait for it to report readiness; skip if it is missing. */
static pid_t start_seatd(void)
{
	int ready[2];
	kt_assert_errno(pipe2(ready, O_CLOEXEC) == 0);
	fflush(NULL);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		/* fd 3 is the readiness pipe, without close-on-exec. */
		if (dup2(ready[1], 3) < 0)
			_exit(126);
		execlp("seatd", "seatd", "-n", "3", "-l", "info", (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	char c;
	ssize_t n;
	do {
		n = read(ready[0], &c, 1);
	} while (n < 0 && errno == EINTR);
	close(ready[0]);
	if (n != 1) {
		int status;
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			kt_skip("seatd is not installed (Debian package seatd)");
		kt_fail(__FILE__, __LINE__, "seatd did not start (status %#x)", status);
	}
	return pid;
}

static int active_vt(int tty0)
{
	struct vt_stat state;
	kt_assert_errno(ioctl(tty0, VT_GETSTATE, &state) == 0);
	return state.v_active;
}

/* What chvt does: ask for the switch, without waiting for it. */
static void activate_vt(int tty0, int vt)
{
	kt_log("switching to VT %d", vt);
	kt_assert_errno(ioctl(tty0, VT_ACTIVATE, vt) == 0);
}

/* Block until the kernel has completed a switch to vt (an event, not a delay). */
static void wait_vt(int tty0, int vt)
{
	int ret;
	do {
		ret = ioctl(tty0, VT_WAITACTIVE, vt);
	} while (ret < 0 && errno == EINTR);
	kt_assert_errno(ret == 0);
	kt_assert(active_vt(tty0) == vt);
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
	kt_assertf(other_process_takes_master(device->devnode) == 1,
		   "another process became master of %s while the session is active",
		   device->devnode);

	if (through_session) {
		kt_log("switching to VT %d through the session", other_vt);
		kt_assert_ok(session_switch_vt(session, other_vt));
	} else {
		activate_vt(tty0, other_vt);
	}
	seatest_wait(loop, &disabled.count, 1, "disable after switching VT away");
	kt_assert(!disabled.active_seen && !session->active);
	kt_assert(enabled.count == 0);
	wait_vt(tty0, other_vt);

	/* Theirs now. */
	kt_assertf(!drmIsMaster(device->fd), "%s: still DRM master while inactive",
		   device->sysname);
	kt_assertf(other_process_takes_master(device->devnode) == 0,
		   "another process could not take %s while the session is inactive",
		   device->devnode);

	if (command != NULL) {
		run(command);
		/* udevd has sent the card's "add": let the session read it. */
		for (int i = 0; i < 4; i++)
			kt_assert(wl_event_loop_dispatch(loop, 0) == 0);
		kt_assertf(added.count == 0, "a card was announced while the session is inactive");
	}

	activate_vt(tty0, home_vt);
	seatest_wait(loop, &enabled.count, 1, "enable after switching VT back");
	kt_assert(enabled.active_seen && session->active);
	kt_assert(disabled.count == 1);
	wait_vt(tty0, home_vt);

	/* Ours again. */
	kt_assertf(drmIsMaster(device->fd), "%s: not DRM master after enable", device->sysname);
	int ret = modeset(device->fd, 3);
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
	int home_vt = active_vt(tty0);
	int other_vt = home_vt % MAX_NR_CONSOLES + 1;
	kt_log("active VT %d, switching to VT %d and back", home_vt, other_vt);

	pid_t seatd = start_seatd();
	log_init(LOG_LEVEL_DEBUG);
	struct wl_event_loop *loop = wl_event_loop_create();
	kt_assert(loop != NULL);

	struct session *session = session_create(loop, NULL);
	kt_assertf(session != NULL, "session_create failed");
	kt_assertf(session->active, "the session on the active VT is not active");
	struct session_device *device = seatest_find_driver(session, "vkms");
	kt_assertf(device != NULL, "no vkms card in the session");
	seatest_check_device(device);
	int ret = modeset(device->fd, 1);
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
