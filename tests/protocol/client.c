// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <drm_fourcc.h>

#include "client.h"

char client_last_log[512];

static void capture_log(const char *fmt, va_list args)
{
	vsnprintf(client_last_log, sizeof(client_last_log), fmt, args);
}

static void registry_global(void *data, struct wl_registry *registry, uint32_t name,
			    const char *interface, uint32_t version)
{
	struct client *c = data;
	if (strcmp(interface, vscanout_manager_v1_interface.name) == 0)
		c->manager = wl_registry_bind(registry, name, &vscanout_manager_v1_interface, 1);
}

static void registry_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static void vgpu_output(void *data, struct vscanout_vgpu_v1 *vgpu, const char *name, uint32_t width,
			uint32_t height, uint32_t refresh_mhz, uint32_t mm_width,
			uint32_t mm_height)
{
	struct client *c = data;
	if (c->n_outputs++ == 0) {
		c->width = width;
		c->height = height;
	}
}

static void vgpu_done(void *data, struct vscanout_vgpu_v1 *vgpu)
{
	struct client *c = data;
	c->done = true;
}

static void vgpu_presented(void *data, struct vscanout_vgpu_v1 *vgpu, uint32_t serial,
			   uint32_t tv_sec_hi, uint32_t tv_sec_lo, uint32_t tv_nsec,
			   uint32_t refresh_ns, uint32_t sequence_hi, uint32_t sequence_lo,
			   uint32_t flags)
{
	struct client *c = data;
	c->last_presented = serial;
	c->presented_flags = flags;
	c->n_presented++;
	c->last_sequence = (uint64_t)sequence_hi << 32 | sequence_lo;
}

static void vgpu_discarded(void *data, struct vscanout_vgpu_v1 *vgpu, uint32_t serial)
{
	struct client *c = data;
	c->last_discarded = serial;
	c->n_discarded++;
}

static void vgpu_vblank_source(void *data, struct vscanout_vgpu_v1 *vgpu, int32_t eventfd,
			       int32_t memfd, uint32_t flags)
{
	struct client *c = data;
	c->vblank_eventfd = eventfd;
	c->vblank_memfd = memfd;
	c->vblank_flags = flags;
}

static void vgpu_vfio_status(void *data, struct vscanout_vgpu_v1 *vgpu, uint32_t status,
			     const char *message)
{
	struct client *c = data;
	c->vfio_status = (int)status;
	snprintf(c->vfio_message, sizeof(c->vfio_message), "%s", message);
	c->n_vfio_status++;
}

static const struct vscanout_vgpu_v1_listener vgpu_listener = {
	.output = vgpu_output,
	.done = vgpu_done,
	.presented = vgpu_presented,
	.discarded = vgpu_discarded,
	.vblank_source = vgpu_vblank_source,
	.vfio_status = vgpu_vfio_status,
};

void client_connect(struct client *c, const char *path)
{
	*c = (struct client){.vblank_eventfd = -1, .vblank_memfd = -1, .vfio_status = -1};
	wl_log_set_handler_client(capture_log);
	c->display = wl_display_connect(path);
	if (c->display == NULL)
		client_fail("cannot connect to %s: %s", path, strerror(errno));
	c->registry = wl_display_get_registry(c->display);
	wl_registry_add_listener(c->registry, &registry_listener, c);
	if (wl_display_roundtrip(c->display) < 0 || c->manager == NULL)
		client_fail("no vscanout_manager_v1 global");
}

struct vscanout_vgpu_v1 *client_attach(struct client *c, const char *name)
{
	struct vscanout_vgpu_v1 *vgpu = vscanout_manager_v1_attach(c->manager, name);
	vscanout_vgpu_v1_add_listener(vgpu, &vgpu_listener, c);
	return vgpu;
}

/* Roundtrip and check that it succeeds. */
void client_roundtrip(struct client *c)
{
	if (wl_display_roundtrip(c->display) < 0)
		client_fail("connection failed: %s", client_last_log);
}

/*
 * Roundtrip until the connection fails and check that it failed with a
 * protocol error of interface/code whose message contains text. Exits 0.
 */
void client_expect_error(struct client *c, const struct wl_interface *interface, uint32_t code,
			 const char *text)
{
	/* Requests are handled in order: the error comes before the roundtrip's answer. */
	if (wl_display_roundtrip(c->display) >= 0)
		client_fail("no protocol error");
	const struct wl_interface *got_interface = NULL;
	uint32_t id;
	uint32_t got = wl_display_get_protocol_error(c->display, &got_interface, &id);
	if (got_interface == NULL)
		client_fail("expected a protocol error, got %s",
			    strerror(wl_display_get_error(c->display)));
	if (strcmp(got_interface->name, interface->name) != 0 || got != code)
		client_fail("expected %s error %u, got %s error %u: %s", interface->name, code,
			    got_interface->name, got, client_last_log);
	if (strstr(client_last_log, text) == NULL)
		client_fail("the error message \"%s\" does not name \"%s\"", client_last_log, text);
	printf("client %d: %s error %u as expected: %s", (int)getpid(), interface->name, code,
	       client_last_log);
	fflush(stdout);
	_exit(0);
}

void client_image_create(struct client_image *ci, uint32_t width, uint32_t height, uint32_t seed)
{
	kt_udmabuf_create(&ci->u, (size_t)width * height * 4);
	ci->img = (struct kt_image){
		.width = width,
		.height = height,
		.stride = width * 4,
		.format = DRM_FORMAT_XRGB8888,
		.data = ci->u.map,
	};
	kt_fill_pattern(&ci->img, seed);
}

struct vscanout_buffer_v1 *client_buffer(struct vscanout_vgpu_v1 *vgpu,
					 const struct client_image *ci)
{
	struct vscanout_buffer_params_v1 *params = vscanout_vgpu_v1_create_params(vgpu);
	vscanout_buffer_params_v1_add(params, ci->u.fd, 0, 0, ci->img.stride,
				      DRM_FORMAT_MOD_LINEAR >> 32,
				      DRM_FORMAT_MOD_LINEAR & 0xffffffff);
	struct vscanout_buffer_v1 *buffer = vscanout_buffer_params_v1_create(
		params, (int32_t)ci->img.width, (int32_t)ci->img.height, DRM_FORMAT_XRGB8888, 0);
	vscanout_buffer_params_v1_destroy(params);
	return buffer;
}

/* Commit serial and dispatch until it is answered; true when presented. */
bool client_commit(struct client *c, struct vscanout_vgpu_v1 *vgpu, uint32_t serial)
{
	vscanout_vgpu_v1_commit(vgpu, serial);
	while (c->last_presented != serial && c->last_discarded != serial) {
		if (wl_display_dispatch(c->display) < 0)
			client_fail("connection failed: %s", client_last_log);
	}
	return c->last_presented == serial;
}

static int handle_child_exit(int fd, uint32_t mask, void *data)
{
	struct child *child = data;
	kt_assert_errno(waitpid(child->pid, &child->status, 0) == child->pid);
	child->exited = true;
	wl_event_source_remove(child->source);
	child->source = NULL;
	close(child->pidfd);
	return 0;
}

/* Fork; the child runs fn(which) (which exits), the parent watches it on loop. */
void child_start(struct child *child, struct wl_event_loop *loop, void (*fn)(int), int arg)
{
	fflush(stdout);
	fflush(stderr);
	*child = (struct child){0};
	child->pid = fork();
	kt_assert_errno(child->pid >= 0);
	if (child->pid == 0) {
		fn(arg);
		_exit(1);
	}
	child->pidfd = (int)syscall(SYS_pidfd_open, child->pid, 0);
	kt_assert_errno(child->pidfd >= 0);
	child->source = wl_event_loop_add_fd(loop, child->pidfd, WL_EVENT_READABLE,
					     handle_child_exit, child);
	kt_assert(child->source != NULL);
}

static int handle_pipe(int fd, uint32_t mask, void *data)
{
	struct pipe_watch *w = data;
	char byte;
	if (read(fd, &byte, 1) == 1)
		w->readable = true;
	return 0;
}

void pipe_watch_init(struct pipe_watch *w, struct wl_event_loop *loop)
{
	kt_assert_errno(pipe2(w->fds, O_CLOEXEC) == 0);
	w->readable = false;
	w->source = wl_event_loop_add_fd(loop, w->fds[0], WL_EVENT_READABLE, handle_pipe, w);
	kt_assert(w->source != NULL);
}

void pipe_watch_finish(struct pipe_watch *w)
{
	wl_event_source_remove(w->source);
	close(w->fds[0]);
	close(w->fds[1]);
}
