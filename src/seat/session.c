// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libseat.h>
#include <libudev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "seat/session.h"
#include "seat/uevent.h"
#include "util/log.h"

/* An input device node opened with session_open_input(). */
struct session_input {
	struct wl_list link; /* session.inputs */
	int fd;
	int device_id; /* libseat's */
};

/* libseat's noop backend has no seats; it reports this name. */
#define NOOP_SEAT_NAME "noop"

static int set_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);
	if (flags < 0)
		return -errno;
	if ((flags & FD_CLOEXEC) == 0 && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

static void device_free(struct session_device *device)
{
	struct session *session = device->session;

	if (device->fd >= 0) {
		/* libseat forgets the device; the fd it handed out is ours to close. */
		if (!session->lost && libseat_close_device(session->seat, device->device_id) < 0)
			log_debug_errno("%s: libseat could not close the device", device->sysname);
		close(device->fd);
	}
	free(device->sysname);
	free(device->syspath);
	free(device->devnode);
	free(device->driver);
	free(device);
}

/* Free what was closed or destroyed during a dispatch, once none is running. */
static void reap(struct session *session);

static struct session_device *find_device(struct session *session, dev_t devnum)
{
	struct session_device *device;
	wl_list_for_each (device, &session->devices, link) {
		if (device->devnum == devnum)
			return device;
	}
	return NULL;
}

static bool parent_is_boot_vga(struct udev_device *udev_dev)
{
	struct udev_device *pci =
		udev_device_get_parent_with_subsystem_devtype(udev_dev, "pci", NULL);
	if (pci == NULL)
		return false;
	const char *value = udev_device_get_sysattr_value(pci, "boot_vga");
	return value != NULL && strcmp(value, "1") == 0;
}

/* Open a card through libseat and keep it if it is a KMS device. */
static struct session_device *device_open(struct session *session, struct udev_device *udev_dev)
{
	const char *sysname = udev_device_get_sysname(udev_dev);
	const char *devnode = udev_device_get_devnode(udev_dev);
	if (devnode == NULL) {
		log_debug("%s: no device node, skipped", sysname);
		return NULL;
	}

	struct session_device *device = calloc(1, sizeof(*device));
	if (device == NULL) {
		log_error("%s: out of memory", sysname);
		return NULL;
	}
	device->session = session;
	device->fd = -1;
	wl_list_init(&device->link);
	wl_signal_init(&device->events.change);
	wl_signal_init(&device->events.remove);
	device->devnum = udev_device_get_devnum(udev_dev);
	device->sysname = strdup(sysname);
	device->syspath = strdup(udev_device_get_syspath(udev_dev));
	device->devnode = strdup(devnode);
	if (device->sysname == NULL || device->syspath == NULL || device->devnode == NULL) {
		log_error("%s: out of memory", sysname);
		goto error_device;
	}

	int fd = -1;
	int device_id = libseat_open_device(session->seat, devnode, &fd);
	if (device_id < 0) {
		log_error_errno("%s: cannot open %s", sysname, devnode);
		goto error_device;
	}
	device->device_id = device_id;
	device->fd = fd;
	int ret = set_cloexec(fd);
	if (ret < 0) {
		log_error("%s: cannot set close-on-exec: %s", sysname, strerror(-ret));
		goto error_device;
	}

	drmVersion *version = drmGetVersion(fd);
	if (version == NULL) {
		log_debug_errno("%s: not a DRM device, skipped", sysname);
		goto error_device;
	}
	device->driver = strndup(version->name, (size_t)version->name_len);
	drmFreeVersion(version);
	if (device->driver == NULL) {
		log_error("%s: out of memory", sysname);
		goto error_device;
	}
	if (!drmIsKMS(fd)) {
		log_debug("%s: driver %s has no KMS, skipped", sysname, device->driver);
		goto error_device;
	}
	device->boot_vga = parent_is_boot_vga(udev_dev);

	wl_list_insert(session->devices.prev, &device->link);
	log_info("%s: opened %s, driver %s%s", sysname, devnode, device->driver,
		 device->boot_vga ? ", boot display" : "");
	return device;

error_device:
	device_free(device);
	return NULL;
}

/*
 * Open every KMS card of the seat not open yet. With `announce` each new one
 * is emitted as add_device; a listener may destroy the session meanwhile.
 */
static void scan_devices(struct session *session, bool announce)
{
	struct udev_enumerate *enumerate = udev_enumerate_new(session->udev);
	if (enumerate == NULL) {
		log_error_errno("cannot enumerate DRM devices");
		return;
	}
	if (udev_enumerate_add_match_subsystem(enumerate, "drm") < 0 ||
	    udev_enumerate_add_match_sysname(enumerate, "card[0-9]*") < 0 ||
	    udev_enumerate_scan_devices(enumerate) < 0) {
		log_error_errno("cannot enumerate DRM devices");
		goto out_enumerate;
	}

	struct udev_list_entry *entry;
	udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(enumerate))
	{
		if (session->destroyed)
			break;
		const char *path = udev_list_entry_get_name(entry);
		struct udev_device *udev_dev = udev_device_new_from_syspath(session->udev, path);
		if (udev_dev == NULL)
			continue;
		const char *sysname = udev_device_get_sysname(udev_dev);
		const char *id_seat = udev_device_get_property_value(udev_dev, "ID_SEAT");
		if (!seat_uevent_is_card(sysname)) {
			/* the glob also matches connectors such as card0-Virtual-1 */
		} else if (!seat_uevent_seat_matches(id_seat, session->seat_name)) {
			log_debug("%s: belongs to %s, not %s, skipped", sysname,
				  id_seat != NULL && id_seat[0] != '\0' ? id_seat : "seat0",
				  session->seat_name);
		} else if (find_device(session, udev_device_get_devnum(udev_dev)) == NULL) {
			struct session_device *device = device_open(session, udev_dev);
			if (device != NULL && announce)
				wl_signal_emit_mutable(&session->events.add_device, device);
		}
		udev_device_unref(udev_dev);
	}

out_enumerate:
	udev_enumerate_unref(enumerate);
}

/* libseat may call back before the seat's name is known. */
static const char *seat_label(const struct session *session)
{
	return session->seat_name != NULL ? session->seat_name : "(opening)";
}

static void handle_enable_seat(struct libseat *seat, void *data)
{
	struct session *session = data;
	if (session->active)
		return;
	log_info("seat %s: session active", seat_label(session));
	session->active = true;
	wl_signal_emit_mutable(&session->events.enable, session);
	if (session->scan_pending && !session->destroyed) {
		session->scan_pending = false;
		scan_devices(session, true);
	}
}

static void handle_disable_seat(struct libseat *seat, void *data)
{
	struct session *session = data;
	if (session->active) {
		log_info("seat %s: session inactive", seat_label(session));
		session->active = false;
		wl_signal_emit_mutable(&session->events.disable, session);
	}
	/* Listeners have stopped committing: let the seat go. */
	if (libseat_disable_seat(seat) < 0)
		log_error_errno("seat %s: cannot acknowledge the session switch",
				seat_label(session));
}

static const struct libseat_seat_listener seat_listener = {
	.enable_seat = handle_enable_seat,
	.disable_seat = handle_disable_seat,
};

static int handle_seat_readable(int fd, uint32_t mask, void *data)
{
	struct session *session = data;

	session->dispatch_depth++;
	int ret = libseat_dispatch(session->seat, 0);
	/* libseat 0.7 reads EOF without an error: the hangup tells. */
	if (ret >= 0 && (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR))) {
		errno = ECONNRESET;
		ret = -1;
	}
	if (ret < 0) {
		log_error_errno("seat %s: lost the connection to the seat", session->seat_name);
		if (session->seat_source != NULL)
			wl_event_source_remove(session->seat_source);
		session->seat_source = NULL;
		session->active = false;
		session->lost = true;
		if (!session->destroyed)
			wl_signal_emit_mutable(&session->events.lost, session);
	}
	session->dispatch_depth--;
	reap(session);
	return 0;
}

static void handle_uevent(struct session *session, struct udev_device *udev_dev)
{
	struct seat_uevent_props props = {
		.action = udev_device_get_action(udev_dev),
		.sysname = udev_device_get_sysname(udev_dev),
		.id_seat = udev_device_get_property_value(udev_dev, "ID_SEAT"),
		.hotplug = udev_device_get_property_value(udev_dev, "HOTPLUG"),
		.connector = udev_device_get_property_value(udev_dev, "CONNECTOR"),
		.property = udev_device_get_property_value(udev_dev, "PROPERTY"),
	};
	struct seat_uevent event = seat_uevent_parse(&props, session->seat_name);
	dev_t devnum = udev_device_get_devnum(udev_dev);
	struct session_device *device;

	switch (event.kind) {
	case SEAT_UEVENT_IGNORE:
		break;
	case SEAT_UEVENT_ADD:
		if (find_device(session, devnum) != NULL)
			break;
		if (!session->active) {
			log_debug("%s: added while the session is inactive, opened at activation",
				  props.sysname);
			session->scan_pending = true;
			break;
		}
		device = device_open(session, udev_dev);
		if (device != NULL)
			wl_signal_emit_mutable(&session->events.add_device, device);
		break;
	case SEAT_UEVENT_REMOVE:
		device = find_device(session, devnum);
		if (device == NULL)
			break;
		log_info("%s: removed", device->sysname);
		wl_signal_emit_mutable(&device->events.remove, device);
		session_device_close(device);
		break;
	case SEAT_UEVENT_HOTPLUG: {
		device = find_device(session, devnum);
		if (device == NULL)
			break;
		log_debug("%s: hotplug, connector %" PRIu32 ", property %" PRIu32, device->sysname,
			  event.connector_id, event.property_id);
		struct session_device_change change = {
			.device = device,
			.connector_id = event.connector_id,
			.property_id = event.property_id,
		};
		wl_signal_emit_mutable(&device->events.change, &change);
		break;
	}
	}
}

static int handle_monitor_readable(int fd, uint32_t mask, void *data)
{
	struct session *session = data;

	session->dispatch_depth++;
	struct udev_device *udev_dev;
	while (!session->destroyed &&
	       (udev_dev = udev_monitor_receive_device(session->monitor)) != NULL) {
		handle_uevent(session, udev_dev);
		udev_device_unref(udev_dev);
	}
	session->dispatch_depth--;
	reap(session);
	return 0;
}

static int monitor_init(struct session *session)
{
	session->udev = udev_new();
	if (session->udev == NULL) {
		log_error_errno("cannot create a udev context");
		return -ENOMEM;
	}
	session->monitor = udev_monitor_new_from_netlink(session->udev, "udev");
	if (session->monitor == NULL) {
		log_error_errno("cannot watch udev events");
		return -errno ? -errno : -EIO;
	}
	int ret = udev_monitor_filter_add_match_subsystem_devtype(session->monitor, "drm", NULL);
	if (ret >= 0)
		ret = udev_monitor_enable_receiving(session->monitor);
	if (ret < 0) {
		log_error("cannot watch udev events: %s", strerror(-ret));
		return ret;
	}
	int fd = udev_monitor_get_fd(session->monitor);
	ret = set_cloexec(fd);
	if (ret < 0) {
		log_error("cannot watch udev events: %s", strerror(-ret));
		return ret;
	}
	session->monitor_source = wl_event_loop_add_fd(session->loop, fd, WL_EVENT_READABLE,
						       handle_monitor_readable, session);
	if (session->monitor_source == NULL) {
		log_error_errno("cannot watch udev events");
		return -ENOMEM;
	}
	return 0;
}

static int seat_init(struct session *session, const char *seat_name)
{
	session->seat = libseat_open_seat(&seat_listener, session);
	if (session->seat == NULL) {
		log_error_errno("cannot open seat%s%s", seat_name ? " " : "",
				seat_name ? seat_name : "");
		return -errno ? -errno : -EIO;
	}

	const char *opened = libseat_seat_name(session->seat);
	if (opened == NULL)
		opened = "seat0";
	if (strcmp(opened, NOOP_SEAT_NAME) == 0) {
		/* No seat manager: the devices of the configured seat, or seat0. */
		opened = seat_name != NULL ? seat_name : "seat0";
		session->noop = true;
	} else if (seat_name != NULL && strcmp(opened, seat_name) != 0) {
		log_error("cannot open seat %s: libseat opened seat %s instead", seat_name, opened);
		return -EINVAL;
	}
	session->seat_name = strdup(opened);
	if (session->seat_name == NULL) {
		log_error("out of memory");
		return -ENOMEM;
	}

	int fd = libseat_get_fd(session->seat);
	int ret = fd < 0 ? -errno : set_cloexec(fd);
	if (ret < 0) {
		log_error("cannot open seat %s: %s", session->seat_name, strerror(-ret));
		return ret;
	}
	session->seat_source = wl_event_loop_add_fd(session->loop, fd, WL_EVENT_READABLE,
						    handle_seat_readable, session);
	if (session->seat_source == NULL) {
		log_error_errno("cannot open seat %s", session->seat_name);
		return -ENOMEM;
	}
	return 0;
}

struct session *session_create(struct wl_event_loop *loop, const char *seat_name)
{
	struct session *session = calloc(1, sizeof(*session));
	if (session == NULL) {
		log_error("out of memory");
		return NULL;
	}
	session->loop = loop;
	wl_list_init(&session->devices);
	wl_list_init(&session->closing);
	wl_list_init(&session->inputs);
	wl_signal_init(&session->events.enable);
	wl_signal_init(&session->events.disable);
	wl_signal_init(&session->events.add_device);
	wl_signal_init(&session->events.lost);
	wl_signal_init(&session->events.destroy);

	if (seat_init(session, seat_name) < 0)
		goto error_session;
	/* Watch before enumerating, so no card slips between the two. */
	if (monitor_init(session) < 0)
		goto error_session;

	/* The seat may have been granted in the reply to the open request. */
	if (libseat_dispatch(session->seat, 0) < 0) {
		log_error_errno("cannot open seat %s", session->seat_name);
		goto error_session;
	}
	/*
	 * The noop backend grants everything, but the one in libseat 0.7
	 * never reports it (later versions enable at the first dispatch).
	 */
	if (session->noop && !session->active)
		handle_enable_seat(session->seat, session);
	if (session->active)
		scan_devices(session, false);
	else
		session->scan_pending = true;
	log_debug("seat %s: %s, %d KMS device(s)", session->seat_name,
		  session->active ? "active" : "inactive, waiting",
		  wl_list_length(&session->devices));
	return session;

error_session:
	session_destroy(session);
	return NULL;
}

static void session_free(struct session *session)
{
	struct session_device *device, *tmp;
	wl_list_for_each_safe (device, tmp, &session->closing, link) {
		device_free(device);
	}
	struct session_input *input, *input_tmp;
	wl_list_for_each_safe (input, input_tmp, &session->inputs, link) {
		log_warn("seat %s: input fd %d still open at the end of the session",
			 session->seat_name, input->fd);
		session_close_input(session, input->fd);
	}
	if (session->seat != NULL)
		libseat_close_seat(session->seat);
	udev_monitor_unref(session->monitor);
	udev_unref(session->udev);
	free(session->seat_name);
	free(session);
}

static void reap(struct session *session)
{
	if (session->dispatch_depth > 0)
		return;
	if (session->destroyed) {
		session_free(session);
		return;
	}
	struct session_device *device, *tmp;
	wl_list_for_each_safe (device, tmp, &session->closing, link) {
		wl_list_remove(&device->link);
		device_free(device);
	}
}

void session_destroy(struct session *session)
{
	if (session == NULL || session->destroyed)
		return;
	session->destroyed = true;
	/* Listeners may close devices: free nothing before the emissions end. */
	session->dispatch_depth++;

	while (!wl_list_empty(&session->devices)) {
		struct session_device *device =
			wl_container_of(session->devices.next, device, link);
		wl_signal_emit_mutable(&device->events.remove, device);
		session_device_close(device);
	}
	wl_signal_emit_mutable(&session->events.destroy, session);

	if (session->monitor_source != NULL)
		wl_event_source_remove(session->monitor_source);
	session->monitor_source = NULL;
	if (session->seat_source != NULL)
		wl_event_source_remove(session->seat_source);
	session->seat_source = NULL;
	session->dispatch_depth--;
	reap(session);
}

void session_device_close(struct session_device *device)
{
	if (device == NULL || device->closed)
		return;
	struct session *session = device->session;
	device->closed = true;
	wl_list_remove(&device->link);
	if (session->dispatch_depth > 0) {
		wl_list_insert(&session->closing, &device->link);
		return;
	}
	wl_list_init(&device->link);
	device_free(device);
}

int session_switch_vt(struct session *session, int vt)
{
	if (vt <= 0)
		return -EINVAL;
	if (libseat_switch_session(session->seat, vt) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

int session_open_input(struct session *session, const char *path, int flags)
{
	if (session->lost || session->destroyed)
		return -ENODEV;
	struct session_input *input = calloc(1, sizeof(*input));
	if (input == NULL)
		return -ENOMEM;
	int fd = -1;
	errno = 0;
	int device_id = libseat_open_device(session->seat, path, &fd);
	if (device_id < 0) {
		int ret = errno ? -errno : -EIO;
		free(input);
		return ret;
	}
	/*
	 * libseat opens read-write; its noop backend leaves the fd blocking,
	 * libinput needs it non-blocking.
	 */
	int ret = set_cloexec(fd);
	if (ret == 0 && (flags & O_NONBLOCK)) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			ret = -errno;
	}
	if (ret < 0) {
		libseat_close_device(session->seat, device_id);
		close(fd);
		free(input);
		return ret;
	}
	input->fd = fd;
	input->device_id = device_id;
	wl_list_insert(session->inputs.prev, &input->link);
	return fd;
}

void session_close_input(struct session *session, int fd)
{
	struct session_input *input;
	wl_list_for_each (input, &session->inputs, link) {
		if (input->fd != fd)
			continue;
		wl_list_remove(&input->link);
		if (!session->lost && libseat_close_device(session->seat, input->device_id) < 0)
			log_debug_errno("seat %s: libseat could not close input fd %d",
					session->seat_name, fd);
		close(fd);
		free(input);
		return;
	}
	log_warn("seat %s: closing input fd %d the session did not open", session->seat_name, fd);
	close(fd);
}
