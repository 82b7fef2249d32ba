/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_QEMU_PRIVATE_H
#define VSCANOUT_QEMU_PRIVATE_H

/* Shared by the files of src/qemu/ only. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <wayland-server-core.h>

#include "qemu/qemu.h"
#include "vgpu/vgpu.h"

#define QEMU_DISPLAY_PATH  "/org/qemu/Display1"
#define QEMU_LISTENER_PATH "/org/qemu/Display1/Listener"
/* How long a set-up step (properties, RegisterListener) may take. */
#define QEMU_SETUP_TIMEOUT_MS 10000
/* An UpdateDMABUF is answered by then even if its frame is not on screen. */
#define QEMU_DMABUF_REPLY_TIMEOUT_MS 500
/* UpdateDMABUF calls waiting for their frame; more are answered at once. */
#define QEMU_MAX_PENDING_REPLIES 8
/* The listener is registered again at most this often (QEMU's picture changed size). */
#define QEMU_RESYNC_MIN_MS 1000
/* A replaced listener connection QEMU did not close itself is closed by then. */
#define QEMU_OLD_LISTENER_MS 3000

struct qemu_bus;
struct qemu_qmp;

struct qemu_manager {
	struct wl_event_loop *loop;
	const struct config *config;
	struct vgpu_manager *vgpus;
	struct wl_list displays; /* qemu_display.link */
};

/* An UpdateDMABUF waiting for its frame to reach the screen. */
struct qemu_pending_reply {
	sd_bus_message *call; /* NULL: free slot */
	uint32_t serial;      /* of vgpu_track() */
	uint64_t deadline_ns; /* CLOCK_MONOTONIC */
};

/* One [vgpu] with qemu=: the connection to its QEMU and what it feeds. */
struct qemu_display {
	struct qemu_manager *manager;
	struct wl_list link;
	char *name;         /* the vGPU's */
	char *address;      /* qemu= */
	int console_wanted; /* qemu-console=, -1: the first graphic one */

	enum qemu_state state;
	struct wl_event_source *retry; /* WAITING: the next try */
	struct wl_event_source *setup_deadline;
	struct qemu_qmp *qmp;          /* qmp: handing QEMU the connection */
	struct qemu_bus *bus;          /* QEMU's display objects */
	const char *destination;       /* "org.qemu" on a bus, NULL peer to peer */
	struct qemu_bus *listener_bus; /* QEMU calls the listener here */
	struct qemu_bus
		*old_listener_bus;        /* replaced by a resync, its calls dropped; may be NULL */
	sd_bus_slot *old_listener_filter; /* drops them */
	sd_bus_slot *resync_call;         /* RegisterListener of a resync in flight, may be NULL */
	struct qemu_bus *resync_bus;      /* on a bus: the connection making it, may be NULL */
	struct wl_event_source *resync_timer;
	struct wl_event_source *old_listener_timer;
	uint64_t resync_ns;        /* CLOCK_MONOTONIC of the last resync, 0 before */
	bool resync_refused;       /* QEMU refused a second listener: no more resyncs */
	sd_bus_slot *call;         /* the set-up call in flight, may be NULL */
	sd_bus_slot *ui_info_call; /* SetUIInfo in flight, may be NULL */
	uint32_t *console_ids;
	size_t n_console_ids, next_console; /* looking for the first graphic one */
	int console;                        /* chosen, -1 before */
	struct {
		char type[32]; /* "Graphic" or "Text" */
		uint32_t width, height;
	} console_props; /* of the console asked last */
	char console_path[64];

	struct vgpu *vgpu; /* while connected */
	struct vgpu_source source;
	struct qemu_frame *frame;
	struct qemu_input *input;
	uint32_t next_serial;
	struct qemu_pending_reply replies[QEMU_MAX_PENDING_REPLIES];
	struct wl_event_source *reply_timer;
	uint32_t ui_width, ui_height;         /* last SetUIInfo, 0 before */
	uint32_t region_width, region_height; /* of the clock output, 0 x 0 if none */
	bool ui_info_refused;                 /* QEMU said no to SetUIInfo (logged once) */

	char qemu_name[128];
	uint64_t connects, frames, presented, zero_copy, dmabuf_replies, dmabuf_late, resyncs;
	char last_error[256];
	bool error_logged; /* the last error was logged: retries repeat it at debug level */
};

/* listener.c: export the listener object on display->listener_bus. Returns 0 or -errno. */
int qemu_listener_export(struct qemu_display *display);

/* display.c: the picture changed; show it (listener.c, frame.c's callback). */
void qemu_display_show(struct qemu_display *display);

/* display.c: a call QEMU made was refused; logged once per kind and kept for the status. */
void qemu_display_error(struct qemu_display *display, const char *message);

/*
 * display.c: an Update fell outside the picture (msg says how): QEMU's
 * picture changed size without a Scanout. The listener is registered
 * again on a new connection, which makes QEMU send its whole picture
 * (Scanout); at most once per QEMU_RESYNC_MIN_MS, never waited for.
 */
void qemu_display_resync(struct qemu_display *display, const char *msg);

/* display.c: answer UpdateDMABUF `call` once the frame just shown is on screen. */
void qemu_display_reply_when_shown(struct qemu_display *display, sd_bus_message *call);

#endif
