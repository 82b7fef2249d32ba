/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the protocol tests. Client side, for forked children: a
 * libwayland-client connection to vscanoutd, vGPU events recorded, udmabuf
 * images and buffers, protocol errors checked; a failure prints and exits
 * the child with status 1. Daemon side: children watched through pidfds
 * and pipes on the daemon's event loop.
 */
#ifndef VSCANOUT_TESTS_PROTOCOL_CLIENT_H
#define VSCANOUT_TESTS_PROTOCOL_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>
#include <wayland-client.h>
#include <wayland-server-core.h>

#include "kmstest.h"
#include "vscanout-v1-client-protocol.h"

/* The last message libwayland-client logged (a protocol error's text). */
extern char client_last_log[512];

/* A connection and what the vGPU attached through it said (one vGPU). */
struct client {
	struct wl_display *display;
	struct wl_registry *registry;
	struct vscanout_manager_v1 *manager;
	uint32_t width, height; /* of the first output event */
	int n_outputs;
	bool done;
	/* Answers to commits. */
	uint32_t last_presented, last_discarded;
	uint32_t presented_flags;
	uint64_t n_presented, n_discarded;
	uint64_t last_sequence;
	int vblank_eventfd, vblank_memfd; /* -1 until the vblank_source event */
	uint32_t vblank_flags;
	/* The last vfio_status event: -1 before any. */
	int vfio_status;
	char vfio_message[256];
	unsigned int n_vfio_status;
};

#define client_fail(...)                                           \
	do {                                                       \
		fprintf(stderr, "client %d: ", (int)getpid());     \
		fprintf(stderr, __VA_ARGS__);                      \
		fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__); \
		_exit(1);                                          \
	} while (0)

/* Connect to path and bind the manager. */
void client_connect(struct client *c, const char *path);

/* Attach to the vGPU name, recording its events in c. */
struct vscanout_vgpu_v1 *client_attach(struct client *c, const char *name);

/* Roundtrip; fail on a connection error. */
void client_roundtrip(struct client *c);

/*
 * One roundtrip must fail with a protocol error of interface/code whose
 * message contains text. Exits the child with status 0.
 */
void client_expect_error(struct client *c, const struct wl_interface *interface, uint32_t code,
			 const char *text);

/* A width × height XRGB8888 udmabuf (one page-rounded memfd), pattern seed. */
struct client_image {
	struct kt_udmabuf u;
	struct kt_image img;
};

void client_image_create(struct client_image *ci, uint32_t width, uint32_t height, uint32_t seed);

/* A vscanout_buffer_v1 of the image (one LINEAR plane). */
struct vscanout_buffer_v1 *client_buffer(struct vscanout_vgpu_v1 *vgpu,
					 const struct client_image *ci);

/* Commit serial and dispatch until it is answered; true when presented. */
bool client_commit(struct client *c, struct vscanout_vgpu_v1 *vgpu, uint32_t serial);

/* A forked child, its exit seen through a pidfd on the event loop. */
struct child {
	pid_t pid;
	int pidfd;
	bool exited;
	int status;
	struct wl_event_source *source;
};

/* Fork; the child runs fn(arg), which should exit (else status 1). */
void child_start(struct child *child, struct wl_event_loop *loop, void (*fn)(int), int arg);

/* A pipe whose read end is watched: readable turns true when a byte came. */
struct pipe_watch {
	int fds[2];
	bool readable;
	struct wl_event_source *source;
};

void pipe_watch_init(struct pipe_watch *w, struct wl_event_loop *loop);
void pipe_watch_finish(struct pipe_watch *w);

#endif
