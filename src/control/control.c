// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "config/config.h"
#include "control/blank.h"
#include "control/control.h"
#include "control/private.h"
#include "control/screenshot.h"
#include "control/status.h"
#include "util/log.h"
#include "util/peer.h"
#include "vscanout-v1-server-protocol.h"

/* Refused binds, logged at most once per LOG_RATELIMIT_INTERVAL_NS. */
static struct log_ratelimit refused_log;

void control_send_failed(struct wl_resource *resource, uint32_t serial, const char *fmt, ...)
{
	char message[256];
	va_list args;
	va_start(args, fmt);
	vsnprintf(message, sizeof(message), fmt, args);
	va_end(args);
	vscanout_control_v1_send_failed(resource, serial, message);
}

int control_pwrite_all(int fd, const void *data, size_t size)
{
	const char *p = data;
	off_t offset = 0;
	while (size > 0) {
		ssize_t n = pwrite(fd, p, size, offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOSPC;
		p += n;
		size -= (size_t)n;
		offset += n;
	}
	return 0;
}

int control_write_file(int fd, const void *data, size_t size)
{
	if (ftruncate(fd, 0) != 0)
		return -errno;
	return control_pwrite_all(fd, data, size);
}

void control_wait_free(struct control_wait *wait)
{
	wl_list_remove(&wait->link);
	wl_list_remove(&wait->resource_link);
	wait->cr->n_waits--;
	close(wait->fd);
	free(wait);
}

/* Whether the request may go on; posts not_permitted otherwise. */
static bool check_allowed(struct control_resource *cr)
{
	if (cr->allowed)
		return true;
	/* libwayland cuts error messages at 127 bytes. */
	const struct config *config = cr->control->config;
	if (config->control_gid_set)
		wl_resource_post_error(cr->resource, VSCANOUT_CONTROL_V1_ERROR_NOT_PERMITTED,
				       "uid %u may not use the control interface: not root, not in "
				       "group %u ([daemon] control-group)",
				       (unsigned int)cr->uid, (unsigned int)config->control_gid);
	else
		wl_resource_post_error(cr->resource, VSCANOUT_CONTROL_V1_ERROR_NOT_PERMITTED,
				       "uid %u may not use the control interface: only root may, "
				       "no [daemon] control-group is set",
				       (unsigned int)cr->uid);
	return false;
}

/* Whether fd is a regular file (or memfd) open for writing; posts invalid_fd otherwise. */
static bool check_fd(struct control_resource *cr, int fd, const char *request)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		wl_resource_post_error(cr->resource, VSCANOUT_CONTROL_V1_ERROR_INVALID_FD,
				       "%s: the fd is not a regular file or memfd", request);
		return false;
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY) {
		wl_resource_post_error(cr->resource, VSCANOUT_CONTROL_V1_ERROR_INVALID_FD,
				       "%s: the fd is not open for writing", request);
		return false;
	}
	return true;
}

static void control_handle_destroy(struct wl_client *client, struct wl_resource *resource)
{
	struct control_resource *cr = wl_resource_get_user_data(resource);
	if (cr != NULL && !check_allowed(cr))
		return;
	wl_resource_destroy(resource);
}

static void control_handle_status(struct wl_client *client, struct wl_resource *resource,
				  uint32_t serial, int32_t fd)
{
	struct control_resource *cr = wl_resource_get_user_data(resource);
	if (cr == NULL || !check_allowed(cr) || !check_fd(cr, fd, "status")) {
		close(fd);
		return;
	}
	size_t size;
	char *doc = control_status_json(cr->control, &size);
	if (doc == NULL) {
		control_send_failed(resource, serial, "out of memory");
		close(fd);
		return;
	}
	int ret = control_write_file(fd, doc, size);
	free(doc);
	close(fd);
	if (ret < 0) {
		control_send_failed(resource, serial, "cannot write the document: %s",
				    strerror(-ret));
		return;
	}
	vscanout_control_v1_send_done(resource, serial,
				      size > UINT32_MAX ? UINT32_MAX : (uint32_t)size);
}

/*
 * Whether fd is a memfd that allows sealing, has no seals yet and is open
 * for writing; posts invalid_fd otherwise. Only shmem files have seals, and
 * only a memfd made with MFD_ALLOW_SEALING starts without F_SEAL_SEAL.
 */
static bool check_memfd(struct control_resource *cr, int fd, const char *request)
{
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals != 0) {
		wl_resource_post_error(cr->resource, VSCANOUT_CONTROL_V1_ERROR_INVALID_FD,
				       "%s: the fd is not an unsealed memfd made with "
				       "MFD_ALLOW_SEALING",
				       request);
		return false;
	}
	return check_fd(cr, fd, request);
}

static void control_handle_screenshot(struct wl_client *client, struct wl_resource *resource,
				      uint32_t serial, const char *output, int32_t fd)
{
	struct control_resource *cr = wl_resource_get_user_data(resource);
	close(fd);
	if (cr == NULL || !check_allowed(cr))
		return;
	control_send_failed(resource, serial,
			    "this vscanoutd (control version %d) hands screenshots over as "
			    "pixels and encodes no PNG: use the vscanoutctl of its release",
			    CONTROL_VERSION);
}

static void control_handle_capture(struct wl_client *client, struct wl_resource *resource,
				   uint32_t serial, const char *output, int32_t fd)
{
	struct control_resource *cr = wl_resource_get_user_data(resource);
	if (cr == NULL || !check_allowed(cr) || !check_memfd(cr, fd, "capture")) {
		close(fd);
		return;
	}
	control_screenshot(cr, serial, output, fd);
}

static void control_handle_blank(struct wl_client *client, struct wl_resource *resource,
				 uint32_t serial, const char *output)
{
	struct control_resource *cr = wl_resource_get_user_data(resource);
	if (cr == NULL || !check_allowed(cr))
		return;
	control_blank(cr, serial, output);
}

static void control_handle_unblank(struct wl_client *client, struct wl_resource *resource,
				   uint32_t serial, const char *output)
{
	struct control_resource *cr = wl_resource_get_user_data(resource);
	if (cr == NULL || !check_allowed(cr))
		return;
	control_unblank(cr, serial, output);
}

static void control_handle_reload(struct wl_client *client, struct wl_resource *resource,
				  uint32_t serial)
{
	struct control_resource *cr = wl_resource_get_user_data(resource);
	if (cr == NULL || !check_allowed(cr))
		return;
	struct control *control = cr->control;
	char msg[256] = "reload is not available";
	int ret = control->actions.reload != NULL
			  ? control->actions.reload(control->actions.data, msg, sizeof(msg))
			  : -ENOTSUP;
	if (ret < 0)
		control_send_failed(resource, serial, "%s", msg);
	else
		vscanout_control_v1_send_done(resource, serial, 0);
}

/* assign and assign_slot: slot counts from 1, as on the wire. */
static void assign(struct wl_resource *resource, uint32_t serial, const char *vgpu,
		   const char *output, uint32_t slot)
{
	struct control_resource *cr = wl_resource_get_user_data(resource);
	if (cr == NULL || !check_allowed(cr))
		return;
	struct control *control = cr->control;
	char msg[256] = "assign is not available";
	int ret;
	if (slot == 0) {
		snprintf(msg, sizeof(msg), "slot 0 of output %s: slots count from 1", output);
		ret = -EINVAL;
	} else if (control->actions.assign != NULL) {
		ret = control->actions.assign(control->actions.data, vgpu, output, slot - 1, msg,
					      sizeof(msg));
	} else {
		ret = -ENOTSUP;
	}
	if (ret < 0)
		control_send_failed(resource, serial, "%s", msg);
	else
		vscanout_control_v1_send_done(resource, serial, 0);
}

static void control_handle_assign(struct wl_client *client, struct wl_resource *resource,
				  uint32_t serial, const char *vgpu, const char *output)
{
	assign(resource, serial, vgpu, output, 1);
}

static void control_handle_assign_slot(struct wl_client *client, struct wl_resource *resource,
				       uint32_t serial, const char *vgpu, const char *output,
				       uint32_t slot)
{
	assign(resource, serial, vgpu, output, slot);
}

void control_set_actions(struct control *control, const struct control_actions *actions)
{
	control->actions = *actions;
}

static const struct vscanout_control_v1_interface control_impl = {
	.destroy = control_handle_destroy,
	.status = control_handle_status,
	.screenshot = control_handle_screenshot,
	.blank = control_handle_blank,
	.unblank = control_handle_unblank,
	.reload = control_handle_reload,
	.assign = control_handle_assign,
	.assign_slot = control_handle_assign_slot,
	.capture = control_handle_capture,
};

static void control_resource_free(struct control_resource *cr)
{
	struct control_wait *wait, *tmp;
	wl_list_for_each_safe (wait, tmp, &cr->waits, resource_link)
		control_wait_free(wait);
	wl_list_remove(&cr->link);
	free(cr);
}

static void handle_resource_destroy(struct wl_resource *resource)
{
	struct control_resource *cr = wl_resource_get_user_data(resource);
	if (cr != NULL)
		control_resource_free(cr);
}

static void control_bind(struct wl_client *client, void *data, uint32_t version, uint32_t id)
{
	struct control *control = data;
	struct control_resource *cr = calloc(1, sizeof(*cr));
	if (cr == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	cr->resource = wl_resource_create(client, &vscanout_control_v1_interface, (int)version, id);
	if (cr->resource == NULL) {
		free(cr);
		wl_client_post_no_memory(client);
		return;
	}
	cr->control = control;
	wl_list_init(&cr->waits);
	wl_list_insert(&control->resources, &cr->link);
	wl_resource_set_implementation(cr->resource, &control_impl, cr, handle_resource_destroy);

	/*
	 * The protocol server shows the global only to clients allowed to use
	 * it; this is checked again in case the global is bound elsewhere.
	 */
	struct peer_cred cred;
	if (peer_cred_read(wl_client_get_fd(client), &cred) != 0)
		wl_client_get_credentials(client, &cred.pid, &cred.uid, &cred.gid);
	cr->pid = cred.pid;
	cr->uid = cred.uid;
	cr->gid = cred.gid;
	cr->allowed = config_control_allows(control->config, cred.uid, cred.gid, cred.groups,
					    cred.n_groups);
	peer_cred_finish(&cred);
	unsigned long held_back;
	if (cr->allowed)
		log_debug("control: bound by pid %d (uid %u)", (int)cr->pid, (unsigned int)cr->uid);
	else if (log_ratelimit_pass(&refused_log, LOG_RATELIMIT_INTERVAL_NS, &held_back))
		log_info("control: refused client pid %d, uid %u, gid %u (%lu more refused since "
			 "the last such message)",
			 (int)cr->pid, (unsigned int)cr->uid, (unsigned int)cr->gid, held_back);
}

void control_set_qemu(struct control *control, struct qemu_manager *qemu)
{
	control->qemu = qemu;
}

void control_set_vfio_take(struct control *control, struct vfio_take_manager *take)
{
	control->vfio_take = take;
}

struct control *control_create(struct wl_display *display, const struct config *config,
			       struct display *displays, struct protocol_server *server,
			       struct vgpu_manager *vgpus)
{
	struct control *control = calloc(1, sizeof(*control));
	if (control == NULL) {
		log_error("out of memory");
		return NULL;
	}
	control->display = display;
	control->config = config;
	control->displays = displays;
	control->server = server;
	control->vgpus = vgpus;
	wl_list_init(&control->resources);
	wl_list_init(&control->captures);
	control->global = wl_global_create(display, &vscanout_control_v1_interface, CONTROL_VERSION,
					   control, control_bind);
	if (control->global == NULL) {
		log_error("cannot create the vscanout_control_v1 global");
		free(control);
		return NULL;
	}
	return control;
}

void control_destroy(struct control *control)
{
	if (control == NULL)
		return;
	control_screenshot_finish(control);
	struct control_resource *cr, *tmp;
	wl_list_for_each_safe (cr, tmp, &control->resources, link) {
		wl_resource_set_user_data(cr->resource, NULL);
		control_resource_free(cr);
	}
	wl_global_destroy(control->global);
	free(control);
}
