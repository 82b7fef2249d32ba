// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buffer/buffer.h"
#include "client.h"
#include "conf-daemon.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "kms/output.h"
#include "kmstest.h"

static uint64_t deadline(void)
{
	return kt_now_ns() + (uint64_t)CONF_DAEMON_TIMEOUT_MS * 1000000u;
}

void conf_daemon_write(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "we");
	kt_assert_errno(f != NULL);
	va_list ap;
	va_start(ap, fmt);
	kt_assert(vfprintf(f, fmt, ap) >= 0);
	va_end(ap);
	kt_assert(fclose(f) == 0);
}

struct daemon *conf_daemon_start(const char *path)
{
	setenv("LIBSEAT_BACKEND", "noop", 1);
	struct config config;
	config_init(&config);
	kt_assert_ok(config_load(&config, path));
	struct daemon *daemon = daemon_create(&config);
	config_finish(&config);
	kt_assertf(daemon != NULL, "daemon_create failed");
	daemon->config_path = strdup(path);
	kt_assert(daemon->config_path != NULL);
	return daemon;
}

void conf_daemon_dispatch(struct daemon *daemon, int timeout_ms)
{
	wl_display_flush_clients(daemon->display);
	int ret = wl_event_loop_dispatch(daemon->loop, timeout_ms);
	kt_assertf(ret >= 0 || errno == EINTR, "event loop: %s", strerror(errno));
}

void conf_daemon_reload(struct daemon *daemon)
{
	uint64_t count = daemon->reloads + 1, end = deadline();
	kt_assert_errno(kill(getpid(), SIGHUP) == 0);
	while (daemon->reloads < count) {
		kt_assertf(kt_now_ns() < end, "SIGHUP was not handled");
		conf_daemon_dispatch(daemon, 50);
	}
}

int conf_daemon_ctl(struct daemon *daemon, const char *ctl_path, const char *socket, const char *a1,
		    const char *a2, const char *a3)
{
	fflush(stdout);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		execl(ctl_path, "vscanoutctl", "--socket", socket, a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	uint64_t end = deadline();
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		kt_assert_errno(r >= 0);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		kt_assertf(kt_now_ns() < end, "vscanoutctl %s did not end", a1);
		conf_daemon_dispatch(daemon, 10);
	}
}

void conf_daemon_vmm_show(const char *socket, const char *vgpu_name, uint32_t size, uint32_t seed)
{
	struct client c;
	client_connect(&c, socket);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, vgpu_name);
	struct client_image ci;
	client_image_create(&ci, size, size, seed);
	vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &ci), 0, 0);
	vscanout_vgpu_v1_commit(vgpu, 1);
	for (;;)
		if (wl_display_dispatch(c.display) < 0)
			_exit(0);
}

struct buffer *conf_daemon_shown(struct kms_output *output)
{
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->zpos == 1)
			return layer->current_buffer;
	}
	return NULL;
}

void conf_daemon_wait_shown(struct daemon *daemon, struct kms_output *output, uint32_t width,
			    const char *what)
{
	uint64_t end = deadline();
	while (conf_daemon_shown(output) == NULL || conf_daemon_shown(output)->width != width) {
		kt_assertf(kt_now_ns() < end, "timed out waiting for %s", what);
		conf_daemon_dispatch(daemon, 50);
	}
}
