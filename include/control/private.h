/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_CONTROL_PRIVATE_H
#define VSCANOUT_CONTROL_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <wayland-server-core.h>

#include "control/control.h"

/*
 * Objects of the control interface, shared by control.c (global,
 * permission, requests), status.c and screenshot.c.
 */

struct config;
struct display;
struct kms_output;
struct protocol_server;
struct qemu_manager;
struct vfio_take_manager;
struct vgpu_manager;

struct control {
	struct wl_display *display;          /* borrowed */
	const struct config *config;         /* borrowed */
	struct display *displays;            /* borrowed */
	struct protocol_server *server;      /* may be NULL: borrowed */
	struct vgpu_manager *vgpus;          /* may be NULL: borrowed */
	struct qemu_manager *qemu;           /* may be NULL: borrowed */
	struct vfio_take_manager *vfio_take; /* may be NULL: borrowed */
	struct wl_global *global;            /* may be NULL while being built */
	struct wl_list resources;            /* control_resource.link: bound objects */
	struct wl_list captures;             /* control_capture.link: writeback captures waiting */
	struct control_actions actions;      /* reload and assign, from the daemon */
};

/* One bound vscanout_control_v1 object. */
struct control_resource {
	struct control *control;
	struct wl_resource *resource;
	struct wl_list link; /* control.resources */
	bool allowed;        /* decided at bind from the peer's credentials */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	struct wl_list waits; /* control_wait.resource_link: screenshots waiting */
	size_t n_waits;
};

/*
 * A writeback capture of one output started for screenshots. It belongs to
 * the KMS core's callback, which always comes (with the frame, or an error
 * when the output turns off or goes away) and frees it; control is NULL
 * once the control object is gone, waits empty once every requester is.
 */
struct control_capture {
	struct control *control; /* may be NULL: orphaned */
	struct kms_output *output;
	char name[64];        /* the output's name as asked, for messages */
	struct wl_list link;  /* control.captures; initialised empty when orphaned */
	struct wl_list waits; /* control_wait.link */
};

/* One screenshot request waiting for a capture. */
struct control_wait {
	struct control_capture *capture;
	struct wl_list link; /* control_capture.waits */
	struct control_resource *cr;
	struct wl_list resource_link; /* control_resource.waits */
	uint32_t serial;
	int fd; /* owned */
};

/* pwrite() all of data from offset 0 of fd. Returns 0 or a negative errno. */
int control_pwrite_all(int fd, const void *data, size_t size);

/*
 * Write size bytes of data into fd as the protocol says: truncate, pwrite
 * from offset 0. Returns 0 or a negative errno.
 */
int control_write_file(int fd, const void *data, size_t size);

/*
 * Hand the XRGB8888 pixels of a capture over in fd (an unsealed memfd that
 * allows sealing): sized to stride × height bytes, the rows written with
 * pwrite() from offset 0, then sealed with F_SEAL_SHRINK, F_SEAL_GROW and
 * F_SEAL_FUTURE_WRITE. What a screenshot costs the event loop. Returns 0
 * or a negative errno (-EPERM: sealed meanwhile).
 */
int control_write_pixels(int fd, const void *pixels, uint32_t width, uint32_t height,
			 uint32_t stride);

/* Send failed with a printf-style message. */
void control_send_failed(struct wl_resource *resource, uint32_t serial, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The output called name, or NULL with the reason in msg (msg_size bytes):
 * none of that name, or a bare name several devices have.
 */
struct kms_output *control_find_output(struct display *displays, const char *name, char *msg,
				       size_t msg_size);

/* Forget a waiting screenshot: unlink it, close its fd, free it. */
void control_wait_free(struct control_wait *wait);

#endif
