// SPDX-License-Identifier: MIT
/*
 * seat-devices: the session finds every KMS card of the seat and follows
 * them through udev.
 *
 * Run in the VM with udevd, vkms and a two-head virtio-gpu, under libseat's
 * noop backend (no seat manager, no VT needed):
 *  1. both cards are found, with their driver names, and their fds work;
 *     vgem's card (no KMS) is not taken; a session for "seat1" takes only
 *     the card udev assigns to seat1; a card that cannot be opened (its
 *     node renamed away) is skipped and the others are still taken;
 *  2. hotplug uevents (synthetic, see check_hotplug) give `change` on the
 *     right card with the connector id or 0; events of another seat, of
 *     connector nodes and changes without HOTPLUG=1 give nothing;
 *  3. unbinding virtio-gpu from its virtio device gives `remove` on that
 *     card and drops it from the session; binding it again gives
 *     `add_device` with a working fd, then `change` for a connector of the
 *     new card as the driver's probe reports it (a real kernel hotplug);
 *  4. a listener destroys the session from inside a `change` signal: every
 *     remaining card emits `remove`, then `destroy` fires, nothing crashes.
 */
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <xf86drmMode.h>

#include "kmstest.h"
#include "seatest.h"
#include "util/log.h"

struct recorder {
	struct wl_listener listener;
	int count;
	uint32_t connector_id; /* change: the last one */
	struct session_device *device;
	struct session *destroy_session; /* change: destroy this session inside */
	struct recorder *then_change;    /* add: record the new device's changes */
};

static void listen_device(struct recorder *rec, struct wl_signal *signal,
			  struct session_device *device, wl_notify_func_t notify);

static void handle_change(struct wl_listener *listener, void *data)
{
	struct recorder *rec = wl_container_of(listener, rec, listener);
	struct session_device_change *change = data;
	kt_assert(change->device == rec->device);
	rec->count++;
	rec->connector_id = change->connector_id;
	kt_log("%s: change, connector %u, property %u", change->device->sysname,
	       change->connector_id, change->property_id);
	if (rec->destroy_session != NULL) {
		struct session *session = rec->destroy_session;
		rec->destroy_session = NULL;
		wl_list_remove(&rec->listener.link);
		wl_list_init(&rec->listener.link);
		session_destroy(session);
	}
}

static void handle_remove(struct wl_listener *listener, void *data)
{
	struct recorder *rec = wl_container_of(listener, rec, listener);
	kt_assert(data == rec->device);
	rec->count++;
	kt_log("%s: remove", rec->device->sysname);
	wl_list_remove(&rec->listener.link);
	wl_list_init(&rec->listener.link);
	rec->device = NULL;
}

static void handle_add(struct wl_listener *listener, void *data)
{
	struct recorder *rec = wl_container_of(listener, rec, listener);
	rec->count++;
	rec->device = data;
	kt_log("%s: added, driver %s", rec->device->sysname, rec->device->driver);
	if (rec->then_change != NULL)
		listen_device(rec->then_change, &rec->device->events.change, rec->device,
			      handle_change);
}

static void handle_count(struct wl_listener *listener, void *data)
{
	struct recorder *rec = wl_container_of(listener, rec, listener);
	rec->count++;
}

static void listen_device(struct recorder *rec, struct wl_signal *signal,
			  struct session_device *device, wl_notify_func_t notify)
{
	memset(rec, 0, sizeof(*rec));
	rec->device = device;
	rec->listener.notify = notify;
	wl_signal_add(signal, &rec->listener);
}

static uint32_t virtual_connector(int fd, uint32_t type_id)
{
	drmModeRes *res = drmModeGetResources(fd);
	kt_assert(res != NULL);
	uint32_t id = 0;
	for (int i = 0; i < res->count_connectors && id == 0; i++) {
		drmModeConnector *conn = drmModeGetConnector(fd, res->connectors[i]);
		if (conn != NULL && conn->connector_type == DRM_MODE_CONNECTOR_VIRTUAL &&
		    conn->connector_type_id == type_id)
			id = conn->connector_id;
		drmModeFreeConnector(conn);
	}
	drmModeFreeResources(res);
	kt_assertf(id != 0, "no connector Virtual-%u", type_id);
	return id;
}

/* A session whose vkms node cannot be opened still gets virtio-gpu's card. */
static void check_open_failure(struct wl_event_loop *loop, struct session_device *vkms)
{
	char hidden[PATH_MAX];
	snprintf(hidden, sizeof(hidden), "%s.hidden", vkms->devnode);
	kt_assert_errno(rename(vkms->devnode, hidden) == 0);
	struct session *other = session_create(loop, NULL);
	kt_assert_errno(rename(hidden, vkms->devnode) == 0);
	kt_assert(other != NULL);
	kt_assertf(wl_list_length(&other->devices) == 1, "%d cards, want 1",
		   wl_list_length(&other->devices));
	kt_assert(seatest_find_driver(other, "virtio_gpu") != NULL);
	session_destroy(other);
}

/* True if connector_id is a connector of the device behind fd. */
static bool has_connector(int fd, uint32_t connector_id)
{
	drmModeRes *res = drmModeGetResources(fd);
	kt_assert(res != NULL);
	bool found = false;
	for (int i = 0; i < res->count_connectors; i++)
		found = found || res->connectors[i] == connector_id;
	drmModeFreeResources(res);
	return found;
}

/*
 * Linux 6.1 and 6.12 send no uevent when a connector's sysfs status is forced (neither
 * virtio-gpu nor vkms enable output polling, so the probe helper only records
 * the change). Connector hotplug is therefore driven two ways: by the uevents
 * a driver sends when it probes (check_remove_and_add) and here by synthetic
 * uevents, whose arguments a guest-only udev rule turns into the properties
 * the kernel would set (HOTPLUG, CONNECTOR, and ID_SEAT to pose as another
 * seat). udevd handles one device's events in order, so a matching event sent
 * last proves that the ignored ones before it emitted nothing.
 */
static const char test_rules[] =
	"SUBSYSTEM==\"drm\", ENV{SYNTH_ARG_HOTPLUG}==\"?*\", "
	"ENV{HOTPLUG}=\"$env{SYNTH_ARG_HOTPLUG}\"\n"
	"SUBSYSTEM==\"drm\", ENV{SYNTH_ARG_CONNECTOR}==\"?*\", "
	"ENV{CONNECTOR}=\"$env{SYNTH_ARG_CONNECTOR}\"\n"
	"SUBSYSTEM==\"drm\", ENV{SYNTH_ARG_SEAT}==\"?*\", ENV{ID_SEAT}=\"$env{SYNTH_ARG_SEAT}\"\n";

static void run(const char *command)
{
	int status = system(command);
	kt_assertf(status == 0, "%s: status %#x", command, status);
}

static void install_test_rules(void)
{
	kt_assert_errno(mkdir("/run/udev/rules.d", 0755) == 0 || errno == EEXIST);
	seatest_write("/run/udev/rules.d/99-vscanout-seat-test.rules", test_rules);
	run("udevadm control --reload");
}

/* Send a synthetic uevent for the sysfs device `name`, e.g. "change". */
static void synth(const char *name, const char *args)
{
	static unsigned int serial;
	char path[PATH_MAX], text[256];
	snprintf(path, sizeof(path), "/sys/class/drm/%s/uevent", name);
	snprintf(text, sizeof(text), "change 00000000-0000-4000-8000-%012u%s%s", ++serial,
		 args[0] ? " " : "", args);
	seatest_write(path, text);
}

/*
 * Assign vkms's card to seat1 (through the test rules and a synthetic
 * uevent, as a udev rule of a multi-seat setup would) and open a second
 * session for seat1: it takes that card only. Then give the card back.
 */
static void check_other_seat(struct wl_event_loop *loop, struct session_device *vkms)
{
	synth(vkms->sysname, "SEAT=seat1");
	run("udevadm settle");
	struct session *other = session_create(loop, "seat1");
	kt_assert(other != NULL);
	kt_assertf(strcmp(other->seat_name, "seat1") == 0, "seat %s", other->seat_name);
	kt_assertf(wl_list_length(&other->devices) == 1, "seat1 has %d cards, want 1",
		   wl_list_length(&other->devices));
	struct session_device *device = seatest_find_driver(other, "vkms");
	kt_assertf(device != NULL, "seat1 did not take vkms");
	seatest_check_device(device);
	session_destroy(other);

	synth(vkms->sysname, "");
	run("udevadm settle");
}

static void check_hotplug(struct wl_event_loop *loop, struct session_device *virtio,
			  struct session_device *vkms)
{
	uint32_t connector_id = virtual_connector(virtio->fd, 2);
	char connector_name[64];
	snprintf(connector_name, sizeof(connector_name), "%s-Virtual-2", virtio->sysname);

	struct recorder change, other;
	listen_device(&change, &virtio->events.change, virtio, handle_change);
	listen_device(&other, &vkms->events.change, vkms, handle_change);
	install_test_rules();

	/* Ignored: a connector node, a change without HOTPLUG, another seat. */
	synth(connector_name, "HOTPLUG=1");
	synth(virtio->sysname, "");
	synth(virtio->sysname, "LEASE=1");
	char args[64];
	snprintf(args, sizeof(args), "HOTPLUG=1 CONNECTOR=%u SEAT=seat1", connector_id);
	synth(virtio->sysname, args);
	synth(vkms->sysname, "HOTPLUG=1 SEAT=seat1");

	snprintf(args, sizeof(args), "HOTPLUG=1 CONNECTOR=%u", connector_id);
	synth(virtio->sysname, args);
	seatest_wait(loop, &change.count, 1, "change naming a connector");
	kt_assertf(change.connector_id == connector_id, "connector %u, want %u",
		   change.connector_id, connector_id);

	synth(virtio->sysname, "HOTPLUG=1");
	seatest_wait(loop, &change.count, 2, "change naming no connector");
	kt_assert(change.connector_id == 0);

	synth(vkms->sysname, "HOTPLUG=1 CONNECTOR=4294967296");
	seatest_wait(loop, &other.count, 1, "change on vkms");
	kt_assert(other.connector_id == 0);

	kt_assertf(change.count == 2, "%d change signals on virtio_gpu, want 2", change.count);
	wl_list_remove(&change.listener.link);
	wl_list_remove(&other.listener.link);
}

static struct session_device *check_remove_and_add(struct wl_event_loop *loop,
						   struct session *session,
						   struct session_device *virtio)
{
	char name[64];
	seatest_virtio_name(virtio, name, sizeof(name));
	dev_t devnum = virtio->devnum;

	struct recorder removed, added, probe_change;
	listen_device(&removed, &virtio->events.remove, virtio, handle_remove);
	listen_device(&added, &session->events.add_device, NULL, handle_add);
	added.then_change = &probe_change;

	kt_log("unbinding %s from virtio_gpu", name);
	seatest_write("/sys/bus/virtio/drivers/virtio_gpu/unbind", name);
	seatest_wait(loop, &removed.count, 1, "remove after unbinding virtio_gpu");
	kt_assert(seatest_find_driver(session, "virtio_gpu") == NULL);
	kt_assert(wl_list_length(&session->devices) == 1);

	kt_log("binding %s to virtio_gpu again", name);
	seatest_write("/sys/bus/virtio/drivers/virtio_gpu/bind", name);
	seatest_wait(loop, &added.count, 1, "add_device after binding virtio_gpu");
	kt_assert(strcmp(added.device->driver, "virtio_gpu") == 0);
	kt_assert(seatest_find_driver(session, "virtio_gpu") == added.device);
	seatest_check_device(added.device);

	/* Probing, the driver reports each connector it found. */
	seatest_wait(loop, &probe_change.count, 1, "change from the driver's probe");
	kt_assertf(probe_change.connector_id != 0 &&
			   has_connector(added.device->fd, probe_change.connector_id),
		   "connector %u is not one of %s", probe_change.connector_id,
		   added.device->sysname);
	wl_list_remove(&probe_change.listener.link);
	kt_log("%s is back as %s (was %u:%u, now %u:%u)", name, added.device->sysname,
	       major(devnum), minor(devnum), major(added.device->devnum),
	       minor(added.device->devnum));
	wl_list_remove(&added.listener.link);
	return added.device;
}

static void check_destroy_in_signal(struct wl_event_loop *loop, struct session *session,
				    struct session_device *virtio, struct session_device *vkms)
{
	struct recorder change, removed_vkms, removed_virtio, destroyed;
	listen_device(&change, &virtio->events.change, virtio, handle_change);
	change.destroy_session = session;
	listen_device(&removed_vkms, &vkms->events.remove, vkms, handle_remove);
	listen_device(&removed_virtio, &virtio->events.remove, virtio, handle_remove);
	listen_device(&destroyed, &session->events.destroy, NULL, handle_count);

	char vkms_name[64];
	snprintf(vkms_name, sizeof(vkms_name), "%s", vkms->sysname);
	synth(virtio->sysname, "HOTPLUG=1");
	seatest_wait(loop, &destroyed.count, 1, "destroy from inside a change signal");
	kt_assert(change.count == 1);
	kt_assert(removed_vkms.count == 1 && removed_virtio.count == 1);
	/* The session is gone: the loop runs on without it. */
	synth(vkms_name, "HOTPLUG=1");
	kt_assert(wl_event_loop_dispatch(loop, 0) == 0);
}

int main(void)
{
	log_init(LOG_LEVEL_DEBUG);
	struct wl_event_loop *loop = wl_event_loop_create();
	kt_assert(loop != NULL);

	struct session *session = session_create(loop, NULL);
	kt_assertf(session != NULL, "session_create failed");
	kt_assert(session->active);
	kt_assertf(strcmp(session->seat_name, "seat0") == 0, "seat %s", session->seat_name);

	struct session_device *device;
	wl_list_for_each (device, &session->devices, link) {
		kt_log("%s: %s %s driver %s boot_vga %d", device->sysname, device->devnode,
		       device->syspath, device->driver, device->boot_vga);
		seatest_check_device(device);
	}
	struct session_device *vkms = seatest_find_driver(session, "vkms");
	struct session_device *virtio = seatest_find_driver(session, "virtio_gpu");
	kt_assertf(vkms != NULL, "no vkms card found");
	kt_assertf(virtio != NULL, "no virtio_gpu card found");
	kt_assertf(wl_list_length(&session->devices) == 2, "%d devices, want 2",
		   wl_list_length(&session->devices));
	/* vgem has a card node but no KMS: present, and skipped. */
	glob_t vgem;
	kt_assertf(glob("/sys/devices/platform/vgem/drm/card*", 0, NULL, &vgem) == 0,
		   "vgem has no card node");
	kt_log("%s: not taken", vgem.gl_pathv[0]);
	globfree(&vgem);
	kt_assert(seatest_find_driver(session, "vgem") == NULL);

	check_hotplug(loop, virtio, vkms);
	check_other_seat(loop, vkms);
	check_open_failure(loop, vkms);
	virtio = check_remove_and_add(loop, session, virtio);
	check_destroy_in_signal(loop, session, virtio, vkms);

	wl_event_loop_destroy(loop);
	kt_log("ok");
	return 0;
}
