// SPDX-License-Identifier: MIT
/*
 * The listener object QEMU calls on the listener connection
 * (org.qemu.Display1.Listener and, for QEMU's shared-memory scanouts,
 * org.qemu.Display1.Listener.Unix.Map): each call's arguments are read
 * and handed to the console's picture (qemu/frame.h). A call QEMU gets
 * wrong is answered with an error naming the problem; the picture stays
 * as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "qemu/bus.h"
#include "qemu/frame.h"
#include "qemu/private.h"

#define LISTENER_IFACE "org.qemu.Display1.Listener"
#define MAP_IFACE      "org.qemu.Display1.Listener.Unix.Map"

/* Answer a call: done, or the error msg names (also kept for the status). */
static int answer(struct qemu_display *display, sd_bus_message *m, int ret, const char *msg)
{
	if (ret < 0) {
		qemu_display_error(display, msg);
		return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_INVALID_ARGS, "%s", msg);
	}
	return sd_bus_reply_method_return(m, NULL);
}

static int bad_message(struct qemu_display *display, sd_bus_message *m, int ret)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "%s: cannot read its arguments: %s",
		 sd_bus_message_get_member(m), strerror(-ret));
	return answer(display, m, ret, msg);
}

static int handle_scanout(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	uint32_t width, height, stride, format;
	const void *pixels;
	size_t size;
	int ret = sd_bus_message_read(m, "uuuu", &width, &height, &stride, &format);
	if (ret >= 0)
		ret = sd_bus_message_read_array(m, 'y', &pixels, &size);
	if (ret < 0)
		return bad_message(display, m, ret);
	char msg[256];
	ret = qemu_frame_scanout(display->frame, width, height, stride, format, pixels, size, msg,
				 sizeof(msg));
	return answer(display, m, ret, msg);
}

static int handle_update(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	int32_t x, y, width, height;
	uint32_t stride, format;
	const void *pixels;
	size_t size;
	int ret = sd_bus_message_read(m, "iiiiuu", &x, &y, &width, &height, &stride, &format);
	if (ret >= 0)
		ret = sd_bus_message_read_array(m, 'y', &pixels, &size);
	if (ret < 0)
		return bad_message(display, m, ret);
	char msg[256];
	ret = qemu_frame_update(display->frame, x, y, width, height, stride, format, pixels, size,
				msg, sizeof(msg));
	if (ret == -ERANGE) {
		/* The picture changed size without a Scanout: ask QEMU for it whole. */
		qemu_display_resync(display, msg);
		return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_INVALID_ARGS, "%s", msg);
	}
	return answer(display, m, ret, msg);
}

static int handle_scanout_dmabuf(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	int fd;
	uint32_t width, height, stride, fourcc;
	uint64_t modifier;
	int y0_top;
	int ret = sd_bus_message_read(m, "huuuutb", &fd, &width, &height, &stride, &fourcc,
				      &modifier, &y0_top);
	if (ret < 0)
		return bad_message(display, m, ret);
	char msg[256];
	ret = qemu_frame_scanout_dmabuf(display->frame, fd, width, height, stride, fourcc, modifier,
					y0_top != 0, msg, sizeof(msg));
	return answer(display, m, ret, msg);
}

static int handle_update_dmabuf(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	int32_t x, y, width, height;
	int ret = sd_bus_message_read(m, "iiii", &x, &y, &width, &height);
	if (ret < 0)
		return bad_message(display, m, ret);
	char msg[256];
	ret = qemu_frame_update_dmabuf(display->frame, x, y, width, height, msg, sizeof(msg));
	if (ret < 0)
		return answer(display, m, ret, msg);
	/* QEMU waits for the answer before it draws again: it comes once the frame is on screen. */
	qemu_display_reply_when_shown(display, m);
	return 1;
}

static int handle_disable(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	qemu_frame_disable(display->frame);
	return sd_bus_reply_method_return(m, NULL);
}

static int handle_mouse_set(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	int32_t x, y, on;
	int ret = sd_bus_message_read(m, "iii", &x, &y, &on);
	if (ret < 0)
		return bad_message(display, m, ret);
	qemu_frame_mouse_set(display->frame, x, y, on);
	return sd_bus_reply_method_return(m, NULL);
}

static int handle_cursor_define(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	int32_t width, height, hot_x, hot_y;
	const void *pixels;
	size_t size;
	int ret = sd_bus_message_read(m, "iiii", &width, &height, &hot_x, &hot_y);
	if (ret >= 0)
		ret = sd_bus_message_read_array(m, 'y', &pixels, &size);
	if (ret < 0)
		return bad_message(display, m, ret);
	char msg[256];
	ret = qemu_frame_cursor_define(display->frame, width, height, hot_x, hot_y, pixels, size,
				       msg, sizeof(msg));
	return answer(display, m, ret, msg);
}

static int handle_scanout_map(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	int fd;
	uint32_t offset, width, height, stride, format;
	int ret = sd_bus_message_read(m, "huuuuu", &fd, &offset, &width, &height, &stride, &format);
	if (ret < 0)
		return bad_message(display, m, ret);
	char msg[256];
	ret = qemu_frame_scanout_map(display->frame, fd, offset, width, height, stride, format, msg,
				     sizeof(msg));
	return answer(display, m, ret, msg);
}

static int handle_update_map(sd_bus_message *m, void *data, sd_bus_error *error)
{
	struct qemu_display *display = data;
	int32_t x, y, width, height;
	int ret = sd_bus_message_read(m, "iiii", &x, &y, &width, &height);
	if (ret < 0)
		return bad_message(display, m, ret);
	char msg[256];
	ret = qemu_frame_update_map(display->frame, x, y, width, height, msg, sizeof(msg));
	return answer(display, m, ret, msg);
}

/* Interfaces: QEMU (from 9.x) uses shared memory when the listener lists the Map interface. */
static int get_interfaces(sd_bus *bus, const char *path, const char *interface,
			  const char *property, sd_bus_message *reply, void *data,
			  sd_bus_error *error)
{
	return sd_bus_message_append(reply, "as", 1, MAP_IFACE);
}

static const sd_bus_vtable listener_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Scanout", "uuuuay", "", handle_scanout, 0),
	SD_BUS_METHOD("Update", "iiiiuuay", "", handle_update, 0),
	SD_BUS_METHOD("ScanoutDMABUF", "huuuutb", "", handle_scanout_dmabuf, 0),
	SD_BUS_METHOD("UpdateDMABUF", "iiii", "", handle_update_dmabuf, 0),
	SD_BUS_METHOD("Disable", "", "", handle_disable, 0),
	SD_BUS_METHOD("MouseSet", "iii", "", handle_mouse_set, 0),
	SD_BUS_METHOD("CursorDefine", "iiiiay", "", handle_cursor_define, 0),
	SD_BUS_PROPERTY("Interfaces", "as", get_interfaces, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable map_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("ScanoutMap", "huuuuu", "", handle_scanout_map, 0),
	SD_BUS_METHOD("UpdateMap", "iiii", "", handle_update_map, 0),
	SD_BUS_VTABLE_END,
};

int qemu_listener_export(struct qemu_display *display)
{
	sd_bus *bus = qemu_bus_get(display->listener_bus);
	int ret = sd_bus_add_object_vtable(bus, NULL, QEMU_LISTENER_PATH, LISTENER_IFACE,
					   listener_vtable, display);
	if (ret >= 0)
		ret = sd_bus_add_object_vtable(bus, NULL, QEMU_LISTENER_PATH, MAP_IFACE, map_vtable,
					       display);
	return ret < 0 ? ret : 0;
}
