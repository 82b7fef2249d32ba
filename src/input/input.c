// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <libinput.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "input/input.h"
#include "input/uinput.h"
#include "seat/session.h"
#include "util/log.h"

static const struct {
	uint32_t cap;
	const char *name;
} cap_names[] = {
	{INPUT_DEVICE_CAP_KEYBOARD, "keyboard"}, {INPUT_DEVICE_CAP_POINTER, "pointer"},
	{INPUT_DEVICE_CAP_TOUCH, "touch"},       {INPUT_DEVICE_CAP_TABLET, "tablet"},
	{INPUT_DEVICE_CAP_GESTURE, "gesture"},   {INPUT_DEVICE_CAP_SWITCH, "switch"},
};

void input_device_caps_str(uint32_t caps, char *buf, size_t size)
{
	size_t len = 0;
	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
		if (!(caps & cap_names[i].cap))
			continue;
		int n = snprintf(buf + len, size - len, "%s%s", len > 0 ? ", " : "",
				 cap_names[i].name);
		if (n < 0 || (size_t)n >= size - len) {
			buf[len] = '\0'; /* whole names only */
			return;
		}
		len += (size_t)n;
	}
	if (len == 0)
		snprintf(buf, size, "nothing");
}

int32_t input_scroll_px_to_v120(double px, double *remainder)
{
	double v120 = px * 120.0 / INPUT_SCROLL_PX_PER_DETENT;
	if ((v120 > 0 && *remainder < 0) || (v120 < 0 && *remainder > 0))
		*remainder = 0;
	double total = *remainder + v120;
	double whole = (double)(int64_t)total; /* toward zero */
	*remainder = total - whole;
	return (int32_t)whole;
}

/*
 * The name of the input device behind an event node, from sysfs, without
 * opening it. Returns false when unknown.
 */
static bool node_name(const char *path, char *name, size_t size)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
		return false;
	char sys[128];
	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/device/name", major(st.st_rdev),
		 minor(st.st_rdev));
	FILE *f = fopen(sys, "re");
	if (f == NULL)
		return false;
	bool ok = fgets(name, (int)size, f) != NULL;
	fclose(f);
	if (ok)
		name[strcspn(name, "\n")] = '\0';
	return ok;
}

static int open_restricted(const char *path, int flags, void *data)
{
	struct input *input = data;
	char name[256];
	if (node_name(path, name, sizeof(name)) &&
	    strncmp(name, UINPUT_NAME_PREFIX, strlen(UINPUT_NAME_PREFIX)) == 0) {
		log_debug("input: %s (%s) is a device of ours, not opened", path, name);
		return -ENODEV;
	}
	if (input->session == NULL)
		return -ENODEV;
	int fd = session_open_input(input->session, path, flags);
	if (fd < 0)
		log_debug("input: cannot open %s: %s", path, strerror(-fd));
	return fd;
}

static void close_restricted(int fd, void *data)
{
	struct input *input = data;
	if (input->session != NULL)
		session_close_input(input->session, fd);
	else
		close(fd);
}

static const struct libinput_interface libinput_impl = {
	.open_restricted = open_restricted,
	.close_restricted = close_restricted,
};

static void handle_libinput_log(struct libinput *libinput, enum libinput_log_priority priority,
				const char *fmt, va_list args)
{
	char line[512];
	vsnprintf(line, sizeof(line), fmt, args);
	line[strcspn(line, "\n")] = '\0';
	enum log_level level = LOG_LEVEL_DEBUG;
	if (priority >= LIBINPUT_LOG_PRIORITY_ERROR)
		level = LOG_LEVEL_ERROR;
	else if (priority >= LIBINPUT_LOG_PRIORITY_INFO)
		level = LOG_LEVEL_DEBUG;
	if (log_enabled(level))
		log_printf(level, __FILE__, __LINE__, "libinput: %s", line);
}

static struct input_device *device_from_handle(struct libinput_device *handle)
{
	return libinput_device_get_user_data(handle);
}

static void emit(struct input *input, struct input_seat_event *event)
{
	wl_signal_emit_mutable(&input->events.event, event);
}

static void device_add(struct input *input, struct libinput_device *handle, bool announce)
{
	struct input_device *device = calloc(1, sizeof(*device));
	if (device == NULL) {
		log_error("input: out of memory");
		return;
	}
	device->input = input;
	device->handle = libinput_device_ref(handle);
	device->name = strdup(libinput_device_get_name(handle));
	device->sysname = strdup(libinput_device_get_sysname(handle));
	if (device->name == NULL || device->sysname == NULL) {
		log_error("input: out of memory");
		free(device->name);
		free(device->sysname);
		libinput_device_unref(handle);
		free(device);
		return;
	}
	device->vendor = libinput_device_get_id_vendor(handle);
	device->product = libinput_device_get_id_product(handle);
	static const struct {
		enum libinput_device_capability li;
		uint32_t cap;
	} caps[] = {
		{LIBINPUT_DEVICE_CAP_KEYBOARD, INPUT_DEVICE_CAP_KEYBOARD},
		{LIBINPUT_DEVICE_CAP_POINTER, INPUT_DEVICE_CAP_POINTER},
		{LIBINPUT_DEVICE_CAP_TOUCH, INPUT_DEVICE_CAP_TOUCH},
		{LIBINPUT_DEVICE_CAP_TABLET_TOOL, INPUT_DEVICE_CAP_TABLET},
		{LIBINPUT_DEVICE_CAP_GESTURE, INPUT_DEVICE_CAP_GESTURE},
		{LIBINPUT_DEVICE_CAP_SWITCH, INPUT_DEVICE_CAP_SWITCH},
	};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (libinput_device_has_capability(handle, caps[i].li))
			device->caps |= caps[i].cap;
	}
	double w, h;
	if (libinput_device_get_size(handle, &w, &h) == 0) {
		device->has_size = true;
		device->width_mm = w;
		device->height_mm = h;
	}
	struct udev_device *udev_device = libinput_device_get_udev_device(handle);
	const char *wl_output = udev_device != NULL
					? udev_device_get_property_value(udev_device, "WL_OUTPUT")
					: NULL;
	if (wl_output != NULL && wl_output[0] != '\0') {
		device->output_name = strdup(wl_output);
		if (device->output_name == NULL)
			log_error("input: out of memory: WL_OUTPUT of %s ignored", device->name);
	}
	udev_device_unref(udev_device);
	libinput_device_set_user_data(handle, device);
	wl_list_insert(input->devices.prev, &device->link);

	char caps_str[64];
	input_device_caps_str(device->caps, caps_str, sizeof(caps_str));
	if (device->has_size)
		log_info("input: added %s (%s), %s, %.0fx%.0f mm", device->name, caps_str,
			 device->sysname, device->width_mm, device->height_mm);
	else
		log_info("input: added %s (%s), %s", device->name, caps_str, device->sysname);
	if (device->output_name != NULL)
		log_info("input: %s: udev's WL_OUTPUT names output %s", device->name,
			 device->output_name);

	if (announce) {
		struct input_seat_event event = {.type = INPUT_EVENT_DEVICE_ADDED,
						 .device = device};
		emit(input, &event);
	}
}

static void device_remove(struct input_device *device)
{
	struct input *input = device->input;
	log_info("input: removed %s, %s", device->name, device->sysname);
	struct input_seat_event event = {.type = INPUT_EVENT_DEVICE_REMOVED, .device = device};
	emit(input, &event);
	wl_list_remove(&device->link);
	libinput_device_set_user_data(device->handle, NULL);
	libinput_device_unref(device->handle);
	free(device->name);
	free(device->sysname);
	free(device->output_name);
	free(device);
}

static void handle_scroll(struct input *input, struct input_device *device,
			  struct libinput_event_pointer *pointer, enum input_scroll_source source)
{
	static const struct {
		enum libinput_pointer_axis li;
		enum input_scroll_axis axis;
	} axes[] = {
		{LIBINPUT_POINTER_AXIS_SCROLL_VERTICAL, INPUT_SCROLL_VERTICAL},
		{LIBINPUT_POINTER_AXIS_SCROLL_HORIZONTAL, INPUT_SCROLL_HORIZONTAL},
	};
	for (size_t i = 0; i < sizeof(axes) / sizeof(axes[0]); i++) {
		if (!libinput_event_pointer_has_axis(pointer, axes[i].li))
			continue;
		int32_t v120;
		if (source == INPUT_SCROLL_WHEEL) {
			double value =
				libinput_event_pointer_get_scroll_value_v120(pointer, axes[i].li);
			v120 = (int32_t)(value < 0 ? value - 0.5 : value + 0.5);
		} else {
			double px = libinput_event_pointer_get_scroll_value(pointer, axes[i].li);
			double *remainder = &input->scroll_remainder[axes[i].axis];
			if (px == 0) {
				/* end of a finger or continuous scroll */
				*remainder = 0;
				continue;
			}
			v120 = input_scroll_px_to_v120(px, remainder);
		}
		if (v120 == 0)
			continue;
		struct input_seat_event event = {
			.type = INPUT_EVENT_POINTER_SCROLL,
			.device = device,
			.time_usec = libinput_event_pointer_get_time_usec(pointer),
			.scroll = {.axis = axes[i].axis, .source = source, .value120 = v120},
		};
		emit(input, &event);
	}
}

static void handle_touch(struct input *input, struct input_device *device,
			 struct libinput_event *li_event, enum input_event_type type)
{
	struct libinput_event_touch *touch = libinput_event_get_touch_event(li_event);
	struct input_seat_event event = {
		.type = type,
		.device = device,
		.time_usec = libinput_event_touch_get_time_usec(touch),
		.touch = {.slot = -1, .seat_slot = -1},
	};
	if (type != INPUT_EVENT_TOUCH_FRAME) {
		event.touch.slot = libinput_event_touch_get_slot(touch);
		event.touch.seat_slot = libinput_event_touch_get_seat_slot(touch);
	}
	if (type == INPUT_EVENT_TOUCH_DOWN || type == INPUT_EVENT_TOUCH_MOTION) {
		event.touch.x = libinput_event_touch_get_x_transformed(touch, 1);
		event.touch.y = libinput_event_touch_get_y_transformed(touch, 1);
	}
	emit(input, &event);
}

static void handle_event(struct input *input, struct libinput_event *li_event, bool announce)
{
	enum libinput_event_type type = libinput_event_get_type(li_event);
	struct libinput_device *handle = libinput_event_get_device(li_event);

	if (type == LIBINPUT_EVENT_DEVICE_ADDED) {
		device_add(input, handle, announce);
		return;
	}
	struct input_device *device = device_from_handle(handle);
	if (device == NULL)
		return;

	struct libinput_event_pointer *pointer;
	struct input_seat_event event = {.device = device};
	switch (type) {
	case LIBINPUT_EVENT_DEVICE_REMOVED:
		device_remove(device);
		return;
	case LIBINPUT_EVENT_KEYBOARD_KEY: {
		struct libinput_event_keyboard *key = libinput_event_get_keyboard_event(li_event);
		event.type = INPUT_EVENT_KEY;
		event.time_usec = libinput_event_keyboard_get_time_usec(key);
		event.key.code = libinput_event_keyboard_get_key(key);
		event.key.pressed =
			libinput_event_keyboard_get_key_state(key) == LIBINPUT_KEY_STATE_PRESSED;
		break;
	}
	case LIBINPUT_EVENT_POINTER_MOTION:
		pointer = libinput_event_get_pointer_event(li_event);
		event.type = INPUT_EVENT_POINTER_MOTION;
		event.time_usec = libinput_event_pointer_get_time_usec(pointer);
		event.motion.dx = libinput_event_pointer_get_dx(pointer);
		event.motion.dy = libinput_event_pointer_get_dy(pointer);
		event.motion.dx_unaccel = libinput_event_pointer_get_dx_unaccelerated(pointer);
		event.motion.dy_unaccel = libinput_event_pointer_get_dy_unaccelerated(pointer);
		break;
	case LIBINPUT_EVENT_POINTER_MOTION_ABSOLUTE:
		pointer = libinput_event_get_pointer_event(li_event);
		event.type = INPUT_EVENT_POINTER_MOTION_ABSOLUTE;
		event.time_usec = libinput_event_pointer_get_time_usec(pointer);
		event.absolute.x = libinput_event_pointer_get_absolute_x_transformed(pointer, 1);
		event.absolute.y = libinput_event_pointer_get_absolute_y_transformed(pointer, 1);
		break;
	case LIBINPUT_EVENT_POINTER_BUTTON:
		pointer = libinput_event_get_pointer_event(li_event);
		event.type = INPUT_EVENT_POINTER_BUTTON;
		event.time_usec = libinput_event_pointer_get_time_usec(pointer);
		event.button.code = libinput_event_pointer_get_button(pointer);
		event.button.pressed = libinput_event_pointer_get_button_state(pointer) ==
				       LIBINPUT_BUTTON_STATE_PRESSED;
		break;
	case LIBINPUT_EVENT_POINTER_SCROLL_WHEEL:
		handle_scroll(input, device, libinput_event_get_pointer_event(li_event),
			      INPUT_SCROLL_WHEEL);
		return;
	case LIBINPUT_EVENT_POINTER_SCROLL_FINGER:
		handle_scroll(input, device, libinput_event_get_pointer_event(li_event),
			      INPUT_SCROLL_FINGER);
		return;
	case LIBINPUT_EVENT_POINTER_SCROLL_CONTINUOUS:
		handle_scroll(input, device, libinput_event_get_pointer_event(li_event),
			      INPUT_SCROLL_CONTINUOUS);
		return;
	case LIBINPUT_EVENT_TOUCH_DOWN:
		handle_touch(input, device, li_event, INPUT_EVENT_TOUCH_DOWN);
		return;
	case LIBINPUT_EVENT_TOUCH_MOTION:
		handle_touch(input, device, li_event, INPUT_EVENT_TOUCH_MOTION);
		return;
	case LIBINPUT_EVENT_TOUCH_UP:
		handle_touch(input, device, li_event, INPUT_EVENT_TOUCH_UP);
		return;
	case LIBINPUT_EVENT_TOUCH_CANCEL:
		handle_touch(input, device, li_event, INPUT_EVENT_TOUCH_CANCEL);
		return;
	case LIBINPUT_EVENT_TOUCH_FRAME:
		handle_touch(input, device, li_event, INPUT_EVENT_TOUCH_FRAME);
		return;
	default:
		/*
		 * LIBINPUT_EVENT_POINTER_AXIS repeats the SCROLL_* events for
		 * old callers; tablets, gestures and switches are not forwarded.
		 */
		return;
	}
	emit(input, &event);
}

static void process_events(struct input *input, bool announce)
{
	struct libinput_event *li_event;
	while ((li_event = libinput_get_event(input->libinput)) != NULL) {
		handle_event(input, li_event, announce);
		libinput_event_destroy(li_event);
	}
}

static int handle_libinput_readable(int fd, uint32_t mask, void *data)
{
	struct input *input = data;
	if (libinput_dispatch(input->libinput) != 0)
		log_error_errno("input: cannot read input events");
	process_events(input, true);
	return 0;
}

static int assign_seat(struct input *input, bool announce)
{
	if (libinput_udev_assign_seat(input->libinput, input->session->seat_name) != 0) {
		log_error("input: cannot watch the input devices of seat %s",
			  input->session->seat_name);
		return -EIO;
	}
	input->assigned = true;
	process_events(input, announce);
	return 0;
}

static void handle_session_enable(struct wl_listener *listener, void *data)
{
	struct input *input = wl_container_of(listener, input, session_enable);
	if (!input->assigned) {
		assign_seat(input, true);
		return;
	}
	if (!input->suspended)
		return;
	input->suspended = false;
	if (libinput_resume(input->libinput) != 0)
		log_error("input: cannot reopen the input devices");
	process_events(input, true);
}

static void handle_session_disable(struct wl_listener *listener, void *data)
{
	struct input *input = wl_container_of(listener, input, session_disable);
	if (!input->assigned || input->suspended)
		return;
	input->suspended = true;
	/* Releases every device: each reports DEVICE_REMOVED. */
	libinput_suspend(input->libinput);
	process_events(input, true);
}

static void handle_session_destroy(struct wl_listener *listener, void *data)
{
	struct input *input = wl_container_of(listener, input, session_destroy);
	log_error("input: the session ended before the input");
	/* Hand every fd back while the session can still take it. */
	handle_session_disable(&input->session_disable, input->session);
	wl_list_remove(&input->session_enable.link);
	wl_list_init(&input->session_enable.link);
	wl_list_remove(&input->session_disable.link);
	wl_list_init(&input->session_disable.link);
	wl_list_remove(&input->session_destroy.link);
	wl_list_init(&input->session_destroy.link);
	input->session = NULL;
}

struct input *input_create(struct wl_event_loop *loop, struct session *session)
{
	struct input *input = calloc(1, sizeof(*input));
	if (input == NULL) {
		log_error("input: out of memory");
		return NULL;
	}
	input->loop = loop;
	input->session = session;
	wl_list_init(&input->devices);
	wl_signal_init(&input->events.event);
	wl_signal_init(&input->events.destroy);
	wl_list_init(&input->session_enable.link);
	wl_list_init(&input->session_disable.link);
	wl_list_init(&input->session_destroy.link);

	struct udev *udev = udev_new();
	if (udev == NULL) {
		log_error_errno("input: cannot create a udev context");
		goto error_input;
	}
	input->libinput = libinput_udev_create_context(&libinput_impl, input, udev);
	/* libinput holds its own reference. */
	udev_unref(udev);
	if (input->libinput == NULL) {
		log_error("input: cannot create a libinput context");
		goto error_input;
	}
	libinput_log_set_handler(input->libinput, handle_libinput_log);
	libinput_log_set_priority(input->libinput, log_enabled(LOG_LEVEL_DEBUG)
							   ? LIBINPUT_LOG_PRIORITY_DEBUG
							   : LIBINPUT_LOG_PRIORITY_ERROR);

	int fd = libinput_get_fd(input->libinput);
	input->source =
		wl_event_loop_add_fd(loop, fd, WL_EVENT_READABLE, handle_libinput_readable, input);
	if (input->source == NULL) {
		log_error_errno("input: cannot watch libinput");
		goto error_input;
	}

	input->session_enable.notify = handle_session_enable;
	wl_signal_add(&session->events.enable, &input->session_enable);
	input->session_disable.notify = handle_session_disable;
	wl_signal_add(&session->events.disable, &input->session_disable);
	input->session_destroy.notify = handle_session_destroy;
	wl_signal_add(&session->events.destroy, &input->session_destroy);

	/* An inactive session may open nothing: the seat is taken at enable. */
	if (session->active && assign_seat(input, false) < 0)
		goto error_input;
	log_debug("input: seat %s, %d device(s)%s", session->seat_name,
		  wl_list_length(&input->devices),
		  session->active ? "" : ", waiting for the session");
	return input;

error_input:
	input_destroy(input);
	return NULL;
}

void input_destroy(struct input *input)
{
	if (input == NULL)
		return;
	wl_list_remove(&input->session_enable.link);
	wl_list_remove(&input->session_disable.link);
	wl_list_remove(&input->session_destroy.link);
	if (input->source != NULL)
		wl_event_source_remove(input->source);
	if (input->libinput != NULL && input->assigned && !input->suspended) {
		/* Close the devices while the session can still take them back. */
		libinput_suspend(input->libinput);
		process_events(input, true);
	}
	/* Whatever libinput did not report removed (nothing, normally). */
	struct input_device *device, *tmp;
	wl_list_for_each_safe (device, tmp, &input->devices, link) {
		device_remove(device);
	}
	wl_signal_emit_mutable(&input->events.destroy, input);
	if (input->libinput != NULL)
		libinput_unref(input->libinput);
	free(input);
}
