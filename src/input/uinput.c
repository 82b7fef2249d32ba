// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <linux/uinput.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "input/uinput.h"
#include "util/log.h"

#define UINPUT_PATH "/dev/uinput"
#define ACL_XATTR   "system.posix_acl_access"

struct uinput_device {
	enum uinput_kind kind;
	int fd; /* /dev/uinput, O_CLOEXEC */
	char name[UINPUT_MAX_NAME_SIZE];
	char path[64]; /* /dev/input/eventN */
	dev_t devnum;  /* of the event node, from sysfs */
	int reader;    /* evdev fd handed to a reader, O_CLOEXEC; -1: none */
	uid_t allowed; /* the uid the node's ACL admits; 0: none */
	int32_t max_x, max_y;
	int32_t wheel_remainder[2]; /* per enum uinput_scroll_axis, in v120 units */
	/* UINPUT_TOUCHSCREEN */
	int32_t tracking_id[UINPUT_TOUCH_SLOTS]; /* -1: no contact */
	int32_t next_tracking_id;
	uint32_t slot;    /* the slot the kernel last reported */
	int32_t emulated; /* slot that ABS_X/ABS_Y follow, -1: none */
};

static const char *const kind_names[UINPUT_KIND__COUNT] = {
	[UINPUT_KEYBOARD] = "keyboard",
	[UINPUT_POINTER] = "pointer",
	[UINPUT_MOUSE] = "mouse",
	[UINPUT_TOUCHSCREEN] = "touchscreen",
};

int32_t uinput_scroll_detents(int32_t value120, int32_t *remainder)
{
	if ((value120 > 0 && *remainder < 0) || (value120 < 0 && *remainder > 0))
		*remainder = 0;
	*remainder += value120;
	int32_t detents = *remainder / 120; /* toward zero */
	*remainder -= detents * 120;
	return detents;
}

int uinput_device_name(enum uinput_kind kind, const char *vgpu, char *buf, size_t size)
{
	if ((unsigned)kind >= UINPUT_KIND__COUNT)
		return -EINVAL;
	int n = snprintf(buf, size, "%s%s %s", UINPUT_NAME_PREFIX, vgpu, kind_names[kind]);
	if (n < 0 || (size_t)n >= size || n >= UINPUT_MAX_NAME_SIZE)
		return -ENAMETOOLONG;
	return 0;
}

static int emit(struct uinput_device *device, uint16_t type, uint16_t code, int32_t value)
{
	struct input_event ev = {.type = type, .code = code, .value = value};
	ssize_t n;
	do {
		n = write(device->fd, &ev, sizeof(ev));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == sizeof(ev) ? 0 : -EIO;
}

static int set_bit(int fd, unsigned long request, int bit)
{
	return ioctl(fd, request, bit) < 0 ? -errno : 0;
}

static int setup_abs(int fd, uint16_t code, int32_t max)
{
	struct uinput_abs_setup abs = {
		.code = code,
		.absinfo = {.minimum = 0, .maximum = max},
	};
	if (set_bit(fd, UI_SET_ABSBIT, code) < 0)
		return -errno;
	return ioctl(fd, UI_ABS_SETUP, &abs) < 0 ? -errno : 0;
}

static int setup_buttons_and_wheels(int fd)
{
	int ret = 0;
	for (int code = BTN_LEFT; code <= BTN_TASK && ret == 0; code++)
		ret = set_bit(fd, UI_SET_KEYBIT, code);
	static const int rels[] = {REL_WHEEL, REL_HWHEEL, REL_WHEEL_HI_RES, REL_HWHEEL_HI_RES};
	if (ret == 0)
		ret = set_bit(fd, UI_SET_EVBIT, EV_REL);
	for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]) && ret == 0; i++)
		ret = set_bit(fd, UI_SET_RELBIT, rels[i]);
	return ret;
}

static int setup_kind(struct uinput_device *device)
{
	int fd = device->fd;
	int ret = set_bit(fd, UI_SET_EVBIT, EV_SYN);
	if (ret == 0)
		ret = set_bit(fd, UI_SET_EVBIT, EV_KEY);
	if (ret < 0)
		return ret;
	switch (device->kind) {
	case UINPUT_KEYBOARD:
		for (int code = KEY_ESC; code <= KEY_MICMUTE && ret == 0; code++)
			ret = set_bit(fd, UI_SET_KEYBIT, code);
		return ret;
	case UINPUT_POINTER:
		ret = setup_buttons_and_wheels(fd);
		if (ret == 0)
			ret = set_bit(fd, UI_SET_EVBIT, EV_ABS);
		if (ret == 0)
			ret = setup_abs(fd, ABS_X, device->max_x);
		if (ret == 0)
			ret = setup_abs(fd, ABS_Y, device->max_y);
		return ret;
	case UINPUT_MOUSE:
		ret = setup_buttons_and_wheels(fd);
		if (ret == 0)
			ret = set_bit(fd, UI_SET_RELBIT, REL_X);
		if (ret == 0)
			ret = set_bit(fd, UI_SET_RELBIT, REL_Y);
		return ret;
	case UINPUT_TOUCHSCREEN:
		ret = set_bit(fd, UI_SET_KEYBIT, BTN_TOUCH);
		if (ret == 0)
			ret = set_bit(fd, UI_SET_EVBIT, EV_ABS);
		if (ret == 0)
			ret = set_bit(fd, UI_SET_PROPBIT, INPUT_PROP_DIRECT);
		if (ret == 0)
			ret = setup_abs(fd, ABS_X, device->max_x);
		if (ret == 0)
			ret = setup_abs(fd, ABS_Y, device->max_y);
		if (ret == 0)
			ret = setup_abs(fd, ABS_MT_SLOT, UINPUT_TOUCH_SLOTS - 1);
		if (ret == 0)
			ret = setup_abs(fd, ABS_MT_TRACKING_ID, 65535);
		if (ret == 0)
			ret = setup_abs(fd, ABS_MT_POSITION_X, device->max_x);
		if (ret == 0)
			ret = setup_abs(fd, ABS_MT_POSITION_Y, device->max_y);
		return ret;
	case UINPUT_KIND__COUNT:
		break;
	}
	return -EINVAL;
}

/* The device number in DIR/NAME/dev ("MAJOR:MINOR"). */
static int read_devnum(const char *dir, const char *name, dev_t *devnum)
{
	char path[512];
	int n = snprintf(path, sizeof(path), "%s/%s/dev", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	unsigned int major, minor;
	n = fscanf(f, "%u:%u", &major, &minor);
	fclose(f);
	if (n != 2)
		return -EINVAL;
	*devnum = makedev(major, minor);
	return 0;
}

/* The eventN node under /sys/devices/virtual/input/<sysname>/. */
static int find_event_node(struct uinput_device *device)
{
	char sysname[64];
	if (ioctl(device->fd, UI_GET_SYSNAME(sizeof(sysname)), sysname) < 0)
		return -errno;
	sysname[sizeof(sysname) - 1] = '\0';

	char dir[128];
	snprintf(dir, sizeof(dir), "/sys/devices/virtual/input/%s", sysname);
	DIR *d = opendir(dir);
	if (d == NULL)
		return -errno;
	/* eventN is the only child named "event" followed by digits. */
	int ret = -ENOENT;
	struct dirent *entry;
	while ((entry = readdir(d)) != NULL) {
		unsigned int n;
		char end;
		if (sscanf(entry->d_name, "event%u%c", &n, &end) == 1) {
			snprintf(device->path, sizeof(device->path), "/dev/input/event%u", n);
			ret = read_devnum(dir, entry->d_name, &device->devnum);
			break;
		}
	}
	closedir(d);
	return ret;
}

/*
 * Open the event node, checked to be this device's: a character device
 * with the number sysfs gave (not a stale or foreign file at that path).
 */
static int open_node(const struct uinput_device *device, int flags)
{
	int fd = open(device->path, flags | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	if (!S_ISCHR(st.st_mode) || st.st_rdev != device->devnum) {
		close(fd);
		return -ENODEV;
	}
	return fd;
}

/* The node belongs to root alone: 0600 root:root, whatever udev did. */
static int restrict_fd(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((st.st_uid != 0 || st.st_gid != 0) && fchown(fd, 0, 0) < 0)
		return -errno;
	if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0)
		return -errno;
	return 0;
}

/*
 * An access ACL (linux/posix_acl_xattr.h, little endian, entries sorted by
 * tag): the owner (root) and `uid` read and write, nobody else anything.
 */
static size_t build_acl(uid_t uid, unsigned char *buf, size_t size)
{
	const struct {
		uint16_t tag, perm;
		uint32_t id;
	} entries[] = {
		{ACL_USER_OBJ, ACL_READ | ACL_WRITE, (uint32_t)ACL_UNDEFINED_ID},
		{ACL_USER, ACL_READ | ACL_WRITE, (uint32_t)uid},
		{ACL_GROUP_OBJ, 0, (uint32_t)ACL_UNDEFINED_ID},
		{ACL_MASK, ACL_READ | ACL_WRITE, (uint32_t)ACL_UNDEFINED_ID},
		{ACL_OTHER, 0, (uint32_t)ACL_UNDEFINED_ID},
	};
	size_t n = sizeof(entries) / sizeof(entries[0]);
	size_t len =
		sizeof(struct posix_acl_xattr_header) + n * sizeof(struct posix_acl_xattr_entry);
	if (len > size)
		return 0;
	struct posix_acl_xattr_header header = {.a_version = htole32(POSIX_ACL_XATTR_VERSION)};
	memcpy(buf, &header, sizeof(header));
	for (size_t i = 0; i < n; i++) {
		struct posix_acl_xattr_entry e = {
			.e_tag = htole16(entries[i].tag),
			.e_perm = htole16(entries[i].perm),
			.e_id = htole32(entries[i].id),
		};
		memcpy(buf + sizeof(header) + i * sizeof(e), &e, sizeof(e));
	}
	return len;
}

struct uinput_device *uinput_device_create(enum uinput_kind kind, const char *name, uint32_t width,
					   uint32_t height)
{
	if ((unsigned)kind >= UINPUT_KIND__COUNT || name == NULL ||
	    strlen(name) >= UINPUT_MAX_NAME_SIZE || width == 0 || height == 0 ||
	    width > INT32_MAX || height > INT32_MAX) {
		log_error("uinput: invalid device %s", name != NULL ? name : "(null)");
		return NULL;
	}
	struct uinput_device *device = calloc(1, sizeof(*device));
	if (device == NULL) {
		log_error("uinput %s: out of memory", name);
		return NULL;
	}
	device->kind = kind;
	device->max_x = (int32_t)(width - 1);
	device->max_y = (int32_t)(height - 1);
	device->emulated = -1;
	device->reader = -1;
	for (int i = 0; i < UINPUT_TOUCH_SLOTS; i++)
		device->tracking_id[i] = -1;
	snprintf(device->name, sizeof(device->name), "%s", name);

	device->fd = open(UINPUT_PATH, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (device->fd < 0) {
		if (errno == ENOENT)
			log_error("uinput %s: %s is missing: load the uinput module (modprobe "
				  "uinput)",
				  name, UINPUT_PATH);
		else
			log_error_errno("uinput %s: cannot open %s", name, UINPUT_PATH);
		goto error_device;
	}
	int ret = setup_kind(device);
	if (ret < 0) {
		log_error("uinput %s: cannot set up a %s: %s", name, kind_names[kind],
			  strerror(-ret));
		goto error_fd;
	}
	struct uinput_setup setup = {
		.id = {.bustype = BUS_VIRTUAL, .vendor = 0, .product = 0, .version = 1},
	};
	snprintf(setup.name, sizeof(setup.name), "%s", name);
	if (ioctl(device->fd, UI_DEV_SETUP, &setup) < 0 || ioctl(device->fd, UI_DEV_CREATE) < 0) {
		log_error_errno("uinput %s: cannot create the device", name);
		goto error_fd;
	}
	ret = find_event_node(device);
	if (ret < 0) {
		log_error("uinput %s: no event node: %s", name, strerror(-ret));
		goto error_created;
	}
	/*
	 * devtmpfs makes the node 0600 root:root, but udev may have given it
	 * to group input already: take it back before anyone is told about it.
	 */
	int node = open_node(device, O_RDONLY);
	ret = node < 0 ? node : restrict_fd(node);
	if (node >= 0)
		close(node);
	if (ret < 0) {
		log_error("uinput %s: cannot make %s root's only: %s", name, device->path,
			  strerror(-ret));
		goto error_created;
	}
	log_info("uinput %s: created %s, %s", name, kind_names[kind], device->path);
	return device;

error_created:
	ioctl(device->fd, UI_DEV_DESTROY);
error_fd:
	close(device->fd);
error_device:
	free(device);
	return NULL;
}

void uinput_device_destroy(struct uinput_device *device)
{
	if (device == NULL)
		return;
	uinput_device_revoke_reader(device);
	if (device->allowed != 0)
		uinput_device_allow_uid(device, 0);
	if (ioctl(device->fd, UI_DEV_DESTROY) < 0)
		log_debug_errno("uinput %s: cannot destroy the device", device->name);
	close(device->fd);
	free(device);
}

const char *uinput_device_path(const struct uinput_device *device)
{
	return device->path;
}

enum uinput_kind uinput_device_kind(const struct uinput_device *device)
{
	return device->kind;
}

int uinput_device_open_reader(struct uinput_device *device)
{
	uinput_device_revoke_reader(device);
	int fd = open_node(device, O_RDONLY);
	if (fd < 0)
		return fd;
	device->reader = fd;
	return fd;
}

void uinput_device_revoke_reader(struct uinput_device *device)
{
	if (device->reader < 0)
		return;
	/* Every copy of the open file reads ENODEV from now on. */
	if (ioctl(device->reader, EVIOCREVOKE, NULL) < 0)
		log_warn_errno("uinput %s: cannot revoke the reader of %s", device->name,
			       device->path);
	close(device->reader);
	device->reader = -1;
}

int uinput_device_allow_uid(struct uinput_device *device, uid_t uid)
{
	int fd = open_node(device, O_RDONLY);
	if (fd < 0)
		return fd;
	int ret = 0;
	if (uid != 0) {
		unsigned char acl[64];
		size_t len = build_acl(uid, acl, sizeof(acl));
		if (fsetxattr(fd, ACL_XATTR, acl, len, 0) < 0)
			ret = -errno;
		else
			device->allowed = uid;
	} else {
		/* Removing the ACL leaves the mask in the group bits: 0600 again. */
		if (fremovexattr(fd, ACL_XATTR) < 0 && errno != ENODATA && errno != EOPNOTSUPP)
			ret = -errno;
		else
			ret = restrict_fd(fd);
		if (ret == 0)
			device->allowed = 0;
	}
	close(fd);
	return ret;
}

int uinput_device_key(struct uinput_device *device, uint32_t code, bool pressed)
{
	bool valid = false;
	switch (device->kind) {
	case UINPUT_KEYBOARD:
		valid = code >= KEY_ESC && code <= KEY_MICMUTE;
		break;
	case UINPUT_POINTER:
	case UINPUT_MOUSE:
		valid = code >= BTN_LEFT && code <= BTN_TASK;
		break;
	case UINPUT_TOUCHSCREEN:
	case UINPUT_KIND__COUNT:
		break;
	}
	if (!valid)
		return -EINVAL;
	return emit(device, EV_KEY, (uint16_t)code, pressed ? 1 : 0);
}

static int32_t clamp(int32_t v, int32_t max)
{
	return v < 0 ? 0 : v > max ? max : v;
}

int uinput_device_motion_absolute(struct uinput_device *device, int32_t x, int32_t y)
{
	if (device->kind != UINPUT_POINTER)
		return -EINVAL;
	int ret = emit(device, EV_ABS, ABS_X, clamp(x, device->max_x));
	if (ret == 0)
		ret = emit(device, EV_ABS, ABS_Y, clamp(y, device->max_y));
	return ret;
}

int uinput_device_motion_relative(struct uinput_device *device, int32_t dx, int32_t dy)
{
	if (device->kind != UINPUT_MOUSE)
		return -EINVAL;
	int ret = 0;
	if (dx != 0)
		ret = emit(device, EV_REL, REL_X, dx);
	if (ret == 0 && dy != 0)
		ret = emit(device, EV_REL, REL_Y, dy);
	return ret;
}

int uinput_device_scroll(struct uinput_device *device, enum uinput_scroll_axis axis,
			 int32_t value120)
{
	if ((device->kind != UINPUT_POINTER && device->kind != UINPUT_MOUSE) ||
	    (axis != UINPUT_SCROLL_VERTICAL && axis != UINPUT_SCROLL_HORIZONTAL))
		return -EINVAL;
	if (value120 == 0)
		return 0;
	bool vertical = axis == UINPUT_SCROLL_VERTICAL;
	/* evdev's vertical wheel counts up, libinput's down. */
	int32_t sign = vertical ? -1 : 1;
	int32_t detents = uinput_scroll_detents(value120, &device->wheel_remainder[axis]);
	int ret = emit(device, EV_REL, vertical ? REL_WHEEL_HI_RES : REL_HWHEEL_HI_RES,
		       sign * value120);
	if (ret == 0 && detents != 0)
		ret = emit(device, EV_REL, vertical ? REL_WHEEL : REL_HWHEEL, sign * detents);
	return ret;
}

static int touch_select(struct uinput_device *device, uint32_t slot)
{
	if (device->slot == slot)
		return 0;
	int ret = emit(device, EV_ABS, ABS_MT_SLOT, (int32_t)slot);
	if (ret == 0)
		device->slot = slot;
	return ret;
}

static int touch_position(struct uinput_device *device, uint32_t slot, int32_t x, int32_t y)
{
	x = clamp(x, device->max_x);
	y = clamp(y, device->max_y);
	int ret = emit(device, EV_ABS, ABS_MT_POSITION_X, x);
	if (ret == 0)
		ret = emit(device, EV_ABS, ABS_MT_POSITION_Y, y);
	if (ret == 0 && device->emulated == (int32_t)slot)
		ret = emit(device, EV_ABS, ABS_X, x);
	if (ret == 0 && device->emulated == (int32_t)slot)
		ret = emit(device, EV_ABS, ABS_Y, y);
	return ret;
}

static bool touch_any(const struct uinput_device *device)
{
	for (int i = 0; i < UINPUT_TOUCH_SLOTS; i++) {
		if (device->tracking_id[i] >= 0)
			return true;
	}
	return false;
}

int uinput_device_touch_down(struct uinput_device *device, uint32_t slot, int32_t x, int32_t y)
{
	if (device->kind != UINPUT_TOUCHSCREEN || slot >= UINPUT_TOUCH_SLOTS)
		return -EINVAL;
	if (device->tracking_id[slot] >= 0)
		return -EBUSY;
	bool first = !touch_any(device);
	int ret = touch_select(device, slot);
	int32_t id = device->next_tracking_id;
	if (ret == 0)
		ret = emit(device, EV_ABS, ABS_MT_TRACKING_ID, id);
	if (ret < 0)
		return ret;
	device->tracking_id[slot] = id;
	device->next_tracking_id = (id + 1) % 65536;
	if (first)
		device->emulated = (int32_t)slot;
	ret = touch_position(device, slot, x, y);
	if (ret == 0 && first)
		ret = emit(device, EV_KEY, BTN_TOUCH, 1);
	return ret;
}

int uinput_device_touch_motion(struct uinput_device *device, uint32_t slot, int32_t x, int32_t y)
{
	if (device->kind != UINPUT_TOUCHSCREEN || slot >= UINPUT_TOUCH_SLOTS ||
	    device->tracking_id[slot] < 0)
		return -EINVAL;
	int ret = touch_select(device, slot);
	if (ret == 0)
		ret = touch_position(device, slot, x, y);
	return ret;
}

int uinput_device_touch_up(struct uinput_device *device, uint32_t slot)
{
	if (device->kind != UINPUT_TOUCHSCREEN || slot >= UINPUT_TOUCH_SLOTS ||
	    device->tracking_id[slot] < 0)
		return -EINVAL;
	int ret = touch_select(device, slot);
	if (ret == 0)
		ret = emit(device, EV_ABS, ABS_MT_TRACKING_ID, -1);
	if (ret < 0)
		return ret;
	device->tracking_id[slot] = -1;
	if (device->emulated == (int32_t)slot)
		device->emulated = -1;
	device->reader = -1;
	if (!touch_any(device))
		ret = emit(device, EV_KEY, BTN_TOUCH, 0);
	return ret;
}

int uinput_device_frame(struct uinput_device *device)
{
	return emit(device, EV_SYN, SYN_REPORT, 0);
}
