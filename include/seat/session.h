/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_SEAT_SESSION_H
#define VSCANOUT_SEAT_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <wayland-server-core.h>

/*
 * The seat session and its DRM devices.
 *
 * A session is the daemon's hold on one seat, obtained through libseat (the
 * seatd, logind, builtin and noop backends all work; LIBSEAT_BACKEND picks
 * one, as libseat documents). While the session is active the daemon may
 * become DRM master and commit; when the seat is taken away (a VT switch,
 * another session) the session goes inactive and the daemon must stop
 * touching the hardware until it is active again.
 *
 * The session also finds the seat's KMS devices through udev: every
 * "card[0-9]*" node of the drm subsystem whose udev ID_SEAT property names
 * this seat (no ID_SEAT means "seat0"), opened through libseat, and kept only
 * if it is a KMS device (render-only and other non-KMS nodes are skipped).
 * A udev monitor on the event loop then reports connector hotplug and cards
 * that come and go.
 *
 * Everything runs on the daemon's wl_event_loop: the libseat fd and the udev
 * monitor are sources on it and every signal below is emitted from its
 * dispatch. Listeners may call session_device_close() and session_destroy()
 * from inside any signal: objects are then only marked, and freed once the
 * dispatch that emitted the signal has finished.
 *
 * Lifetime: session_create() -> signals -> session_destroy(). Each signal
 * listener must be removed (wl_list_remove(&listener.link)) before the
 * object it listens on is freed, i.e. at the latest in the `remove` listener
 * of a device and the `destroy` listener of the session.
 *
 * Typical use by the daemon:
 *
 *	session = session_create(loop, configured_seat);
 *	for each device in session->devices, and in each `add_device`:
 *		build the KMS device on device->fd (borrowed);
 *		listen to device->events.change (re-probe connectors) and
 *		device->events.remove (tear the KMS device down);
 *	listen to session->events.disable (stop committing),
 *	session->events.enable (full modeset) and session->events.lost (exit).
 */

struct libseat;
struct udev;
struct udev_monitor;

/*
 * One KMS device of the seat, opened through libseat.
 *
 * The fd belongs to the session (libseat opened it): borrow it, never close
 * it. It is O_CLOEXEC and stays valid until the device's `remove` signal has
 * been emitted or session_device_close() is called; what the kernel allows on
 * it depends on the session being active (the seat manager revokes DRM master
 * while the session is inactive: commits then fail with EACCES).
 */
struct session_device {
	struct session *session;
	struct wl_list link; /* session.devices */

	int fd;        /* borrowed from libseat, O_CLOEXEC */
	int device_id; /* libseat's id, for libseat_close_device() */
	dev_t devnum;  /* major:minor of the node */
	char *sysname; /* e.g. "card1" */
	char *syspath; /* e.g. "/sys/devices/pci0000:00/0000:00:02.0/drm/card1" */
	char *devnode; /* e.g. "/dev/dri/card1" */
	char *driver;  /* DRM driver name from drmGetVersion(), e.g. "virtio_gpu" */
	bool boot_vga; /* the firmware's boot display (PCI boot_vga attribute is 1) */

	struct {
		/*
		 * The kernel reported a change on this device's connectors (a
		 * udev "change" uevent with HOTPLUG=1). Data: a struct
		 * session_device_change, valid during the emission only. The
		 * listener re-probes the connector it names, or all of them
		 * when connector_id is 0. Emitted while inactive too: reading
		 * connectors needs no DRM master.
		 */
		struct wl_signal change;
		/*
		 * The device is going away: the card was removed from the
		 * system, or the session is being destroyed. Data: the struct
		 * session_device. The listener stops using the fd and releases
		 * everything it built on it (framebuffers, GEM handles) before
		 * returning; the session closes the device afterwards. Emitted
		 * once per device, never after session_device_close().
		 */
		struct wl_signal remove;
	} events;

	/* private */
	bool closed; /* closed during a dispatch, freed once it ends */
};

/* Payload of session_device.events.change. */
struct session_device_change {
	struct session_device *device;
	/*
	 * The connector object id the kernel named (uevent CONNECTOR=), or 0
	 * when it named none: then every connector of the device may have
	 * changed.
	 */
	uint32_t connector_id;
	/* The property that changed (uevent PROPERTY=), 0 if none was named. */
	uint32_t property_id;
};

struct session {
	char *seat_name; /* the seat libseat opened, e.g. "seat0" */
	/*
	 * True while the seat is ours: DRM master may be taken and commits
	 * are allowed. Changes only right before `enable` and `disable` are
	 * emitted.
	 */
	bool active;

	/*
	 * The seat's open KMS devices, in discovery order (udev's, by sysfs
	 * path; prefer a `boot_vga` one when choosing a primary). Filled by
	 * session_create() when the seat is granted at once; a session that
	 * starts inactive opens them at its first activation and announces
	 * each with `add_device`.
	 */
	struct wl_list devices; /* session_device.link */

	struct {
		/*
		 * The seat became active (again). Data: the struct session.
		 * The listener takes the hardware back: the state the kernel
		 * holds cannot be trusted after another session owned it, so a
		 * full modeset is due. Cards that appeared while the session was
		 * inactive are opened right after this signal and announced with
		 * `add_device`.
		 */
		struct wl_signal enable;
		/*
		 * The seat is being taken away. Data: the struct session.
		 * `active` is already false. The listener stops committing and
		 * must not start new commits until `enable`; flips already queued
		 * may still complete. The session acknowledges the switch to
		 * libseat after every listener has returned. DRM master is
		 * revoked by the seat manager (seatd already before this signal,
		 * logind after the acknowledgement).
		 */
		struct wl_signal disable;
		/*
		 * A KMS card of the seat was opened after session_create()
		 * returned: it appeared (udev "add"; while inactive, at the next
		 * activation), or the session started inactive and this is its
		 * first activation. Data: the new struct session_device, already
		 * in `devices`.
		 */
		struct wl_signal add_device;
		/*
		 * The connection to the seat manager broke (libseat failed to
		 * dispatch, or the connection hung up): the session is inactive
		 * for good and will emit no `enable`. Data: the struct session. A daemon normally
		 * exits with an error and lets its supervisor restart it.
		 */
		struct wl_signal lost;
		/*
		 * session_destroy() has begun: every device has already emitted
		 * `remove`. Data: the struct session.
		 */
		struct wl_signal destroy;
	} events;

	/* private */
	struct wl_event_loop *loop; /* borrowed */
	struct libseat *seat;
	struct wl_event_source *seat_source;
	struct udev *udev;
	struct udev_monitor *monitor;
	struct wl_event_source *monitor_source;
	struct wl_list closing; /* session_device.link, freed after the dispatch */
	int dispatch_depth;     /* > 0 while one of our callbacks runs */
	bool destroyed;         /* session_destroy() called; freed outside dispatch */
	bool scan_pending;      /* look for cards at the next activation */
	bool noop;              /* libseat's noop backend: no seat manager */
	bool lost;              /* the seat manager is gone */
	struct wl_list inputs;  /* session_input.link: session_open_input() fds */
};

/*
 * Open the seat with libseat and the seat's KMS devices.
 *
 * `seat_name` (may be NULL) is the seat the configuration asks for; libseat
 * itself decides which seat it opens (seatd and builtin: "seat0", logind:
 * the caller's login session's seat), so a different answer is an error.
 * NULL accepts whatever libseat opens. libseat's noop backend (for tests
 * and setups without a seat manager) has no seat: the session then takes
 * the cards of `seat_name`, or of "seat0" when NULL, and is active at once.
 *
 * The libseat fd and a udev monitor for the drm subsystem are added to
 * `loop` (borrowed; it must outlive the session). libseat is dispatched once
 * before returning, so a seat that is granted at once is already `active`
 * and its devices are in `devices`. A device that cannot be opened is logged
 * and skipped; a seat without any KMS device is not an error.
 *
 * Returns NULL after logging why (e.g. "cannot open seat: ...").
 */
struct session *session_create(struct wl_event_loop *loop, const char *seat_name);

/*
 * Close every device (each emits `remove` first), emit `destroy`, close the
 * seat and free the session. NULL is a no-op. When called from inside one of
 * the session's signals the work is finished once that dispatch returns;
 * no signal is emitted after this call returns except the `remove` and
 * `destroy` emissions described.
 */
void session_destroy(struct session *session);

/*
 * Close one device the daemon does not want (e.g. one the KMS core could not
 * use) without emitting `remove`: it leaves `devices` at once and libseat
 * closes its fd. A later re-appearance of the card (udev "add") opens it again.
 */
void session_device_close(struct session_device *device);

/*
 * Switch to another session of the seat, e.g. VT number `vt` under seatd or
 * logind. Returns 0 when the request was sent or a negative errno. The switch
 * itself arrives later as `disable`.
 */
int session_switch_vt(struct session *session, int vt);

/*
 * Open an input device node (e.g. "/dev/input/event3") through libseat, for
 * libinput's open_restricted. `flags` are open(2) flags: libseat always
 * opens read-write; the fd is made close-on-exec, and non-blocking when
 * `flags` has O_NONBLOCK (libinput's do). The fd is the caller's until it hands it back
 * with session_close_input(), which must happen before session_destroy();
 * the session remembers libseat's device id for it. Under seatd or logind
 * the seat manager revokes the fd when the session goes inactive.
 *
 * Returns the fd or a negative errno (-EPERM while the session is inactive
 * and libseat refuses, -ENOENT for a missing node).
 */
int session_open_input(struct session *session, const char *path, int flags);

/*
 * Close an fd from session_open_input() and tell libseat (libinput's
 * close_restricted). An fd the session did not open is closed and logged.
 */
void session_close_input(struct session *session, int fd);

#endif
