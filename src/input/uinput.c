// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/uinput.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "input/uinput.h"
#include "util/log.h"

#define UINPUT_PATH "/dev/uinput"

struct uinput_device {
	enum uinput_kind kind;
	int fd; /* /dev/uinput, O_CLOEXEC */
	char name[UINPUT_MAX_NAME_SIZE];
	char path[64]; /* /dev/input/eventN */
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
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
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
	if (!touch_any(device))
		ret = emit(device, EV_KEY, BTN_TOUCH, 0);
	return ret;
}

int uinput_device_frame(struct uinput_device *device)
{
	return emit(device, EV_SYN, SYN_REPORT, 0);
}
