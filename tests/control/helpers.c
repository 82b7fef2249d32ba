// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "kmstest.h"

#define MAX_ARGS       16
#define RUN_TIMEOUT_MS 60000

static int handle_exit(int fd, uint32_t mask, void *data)
{
	bool *exited = data;
	*exited = true;
	return 0;
}

static char *read_memfd(int fd, size_t *len)
{
	struct stat st;
	kt_assert_errno(fstat(fd, &st) == 0);
	char *data = malloc((size_t)st.st_size + 1);
	kt_assert(data != NULL);
	kt_assert_errno(pread(fd, data, (size_t)st.st_size, 0) == st.st_size);
	data[st.st_size] = '\0';
	if (len != NULL)
		*len = (size_t)st.st_size;
	return data;
}

void ctl_run(struct wl_display *display, struct ctl_result *r, uid_t uid, gid_t group,
	     const char *path, ...)
{
	const char *args[MAX_ARGS + 2] = {path};
	va_list ap;
	va_start(ap, path);
	int n = 1;
	const char *arg;
	while ((arg = va_arg(ap, const char *)) != NULL) {
		kt_assert(n <= MAX_ARGS);
		args[n++] = arg;
	}
	va_end(ap);
	args[n] = NULL;

	int out = memfd_create("ctl-out", MFD_CLOEXEC), err = memfd_create("ctl-err", MFD_CLOEXEC);
	kt_assert_errno(out >= 0 && err >= 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		if (uid != 0 && (setgroups(group != 0 ? 1 : 0, &group) != 0 ||
				 setgid((gid_t)uid) != 0 || setuid(uid) != 0))
			_exit(126);
		if (dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
			_exit(126);
		execv(path, (char *const *)args);
		_exit(127);
	}
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	kt_assert_errno(pidfd >= 0);
	bool exited = false;
	struct wl_event_loop *loop = wl_display_get_event_loop(display);
	struct wl_event_source *source =
		wl_event_loop_add_fd(loop, pidfd, WL_EVENT_READABLE, handle_exit, &exited);
	kt_assert(source != NULL);
	uint64_t deadline = kt_now_ns() + (uint64_t)RUN_TIMEOUT_MS * 1000000u;
	while (!exited) {
		kt_assertf(kt_now_ns() < deadline, "vscanoutctl %s did not exit", args[1]);
		wl_display_flush_clients(display);
		kt_assert(wl_event_loop_dispatch(loop, 100) >= 0);
	}
	wl_event_source_remove(source);
	close(pidfd);
	kt_assert_errno(waitpid(pid, &r->status, 0) == pid);
	r->exit_code = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
	r->out = read_memfd(out, &r->out_len);
	r->err = read_memfd(err, NULL);
	close(out);
	close(err);

	printf("$ vscanoutctl");
	for (int i = 1; i < n; i++)
		printf(" %s", args[i]);
	if (uid != 0)
		printf("  (as uid %u, groups %u)", (unsigned int)uid, (unsigned int)group);
	printf("  -> exit %d\n", r->exit_code);
	if (r->out_len < 8192)
		printf("%s", r->out);
	else
		printf("(%zu bytes on stdout)\n", r->out_len);
	printf("%s", r->err);
	fflush(stdout);
}

void ctl_result_finish(struct ctl_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

void status_check_schema(const char *text, size_t len)
{
	char path[] = "/tmp/vscanout-status-XXXXXX.json";
	int fd = mkstemps(path, 5);
	kt_assert_errno(fd >= 0);
	kt_assert_errno(write(fd, text, len) == (ssize_t)len);
	close(fd);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		execl(STATUS_PYTHON, STATUS_PYTHON, STATUS_VALIDATOR, "--strict", STATUS_SCHEMA,
		      path, (char *)NULL);
		_exit(127);
	}
	int status;
	kt_assert_errno(waitpid(pid, &status, 0) == pid);
	kt_assertf(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "the status does not match %s (validator status 0x%x); the document is kept "
		   "in %s",
		   STATUS_SCHEMA, status, path);
	unlink(path);
}

struct json_value *ctl_status(struct wl_display *display, const char *ctl, const char *socket)
{
	struct ctl_result r;
	ctl_run(display, &r, 0, 0, ctl, "--socket", socket, "status", "--json", NULL);
	kt_assertf(r.exit_code == 0, "status --json: exit %d: %s", r.exit_code, r.err);
	char err[128];
	struct json_value *v = json_parse(r.out, r.out_len, err, sizeof(err));
	kt_assertf(v != NULL && v->type == JSON_OBJECT, "status --json is not a JSON object: %s",
		   v == NULL ? err : "another type");
	status_check_schema(r.out, r.out_len);
	ctl_result_finish(&r);
	return v;
}

static const struct json_value *find_named(const struct json_value *list, const char *name)
{
	for (size_t i = 0; list != NULL && i < list->n; i++) {
		const char *n = json_get_string(json_at(list, i), "name");
		if (n != NULL && strcmp(n, name) == 0)
			return json_at(list, i);
	}
	return NULL;
}

const struct json_value *status_output(const struct json_value *status, const char *name)
{
	return find_named(json_get(status, "outputs"), name);
}

const struct json_value *status_vgpu(const struct json_value *status, const char *name)
{
	return find_named(json_get(status, "vgpus"), name);
}

const struct json_value *status_layer(const struct json_value *output, int zpos)
{
	const struct json_value *layers = json_get(output, "layers");
	for (size_t i = 0; layers != NULL && i < layers->n; i++) {
		if (json_get_number(json_at(layers, i), "zpos", -1000) == zpos)
			return json_at(layers, i);
	}
	return NULL;
}

char *debugfs_state(unsigned int minor)
{
	char path[64];
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%u/state", minor);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	kt_assertf(fd >= 0, "%s: %s", path, strerror(errno));
	size_t size = 0, cap = 1 << 20;
	char *text = malloc(cap);
	kt_assert(text != NULL);
	for (;;) {
		kt_assertf(size + 1 < cap, "%s is too large", path);
		ssize_t n = read(fd, text + size, cap - 1 - size);
		kt_assert_errno(n >= 0);
		if (n == 0)
			break;
		size += (size_t)n;
	}
	close(fd);
	text[size] = '\0';
	return text;
}

int debugfs_crtc_active(const char *state, uint32_t crtc_id)
{
	char head[32];
	snprintf(head, sizeof(head), "crtc[%u]:", crtc_id);
	const char *p = strstr(state, head);
	kt_assertf(p != NULL, "no %s in the debugfs state", head);
	const char *end = strstr(p + 1, "\ncrtc[");
	const char *active = strstr(p, "\n\tactive=");
	kt_assertf(active != NULL && (end == NULL || active < end), "%s has no active=", head);
	return atoi(active + 9);
}

unsigned int status_minor(const struct json_value *output)
{
	const struct json_value *m = json_get(output, "minor");
	kt_assertf(m != NULL && m->type == JSON_NUMBER, "the status has no minor");
	return (unsigned int)m->number;
}

/* ---- raw client -------------------------------------------------------- */

#define child_fail(...)                                            \
	do {                                                       \
		fprintf(stderr, "child %d: ", (int)getpid());      \
		fprintf(stderr, __VA_ARGS__);                      \
		fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__); \
		_exit(1);                                          \
	} while (0)

char control_last_log[512];

void child_die_with_parent(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		_exit(1);
}

static void capture_log(const char *fmt, va_list args)
{
	vsnprintf(control_last_log, sizeof(control_last_log), fmt, args);
}

static void registry_global(void *data, struct wl_registry *registry, uint32_t name,
			    const char *interface, uint32_t version)
{
	struct control_client *c = data;
	if (strcmp(interface, vscanout_control_v1_interface.name) == 0 && c->control == NULL)
		c->control = wl_registry_bind(registry, name, &vscanout_control_v1_interface,
					      version < c->version ? version : c->version);
}

static void registry_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static void control_done(void *data, struct vscanout_control_v1 *control, uint32_t serial,
			 uint32_t value)
{
	struct control_client *c = data;
	if (serial >= CONTROL_CLIENT_SERIALS)
		child_fail("done for serial %u", serial);
	c->answers[serial].answered = 1;
	c->answers[serial].value = value;
}

static void control_failed(void *data, struct vscanout_control_v1 *control, uint32_t serial,
			   const char *message)
{
	struct control_client *c = data;
	if (serial >= CONTROL_CLIENT_SERIALS)
		child_fail("failed for serial %u", serial);
	c->answers[serial].answered = -1;
	snprintf(c->answers[serial].message, sizeof(c->answers[serial].message), "%s", message);
}

static void control_image(void *data, struct vscanout_control_v1 *control, uint32_t serial,
			  uint32_t width, uint32_t height, uint32_t stride, uint32_t format)
{
	struct control_client *c = data;
	if (serial >= CONTROL_CLIENT_SERIALS)
		child_fail("image for serial %u", serial);
	c->answers[serial].image = true;
	c->answers[serial].width = width;
	c->answers[serial].height = height;
	c->answers[serial].stride = stride;
	c->answers[serial].format = format;
}

static const struct vscanout_control_v1_listener control_listener = {
	.done = control_done,
	.failed = control_failed,
	.image = control_image,
};

void control_client_connect(struct control_client *c, const char *socket)
{
	control_client_connect_version(c, socket, 1);
}

void control_client_connect_version(struct control_client *c, const char *socket, uint32_t version)
{
	*c = (struct control_client){.version = version};
	wl_log_set_handler_client(capture_log);
	c->display = wl_display_connect(socket);
	if (c->display == NULL)
		child_fail("cannot connect to %s: %s", socket, strerror(errno));
	struct wl_registry *registry = wl_display_get_registry(c->display);
	wl_registry_add_listener(registry, &registry_listener, c);
	if (wl_display_roundtrip(c->display) < 0 || c->control == NULL)
		child_fail("no vscanout_control_v1 global");
	vscanout_control_v1_add_listener(c->control, &control_listener, c);
	wl_registry_destroy(registry);
	/* The bind is done: the object exists on the daemon's side. */
	if (wl_display_roundtrip(c->display) < 0)
		child_fail("bind failed: %s", control_last_log);
}

const struct control_answer *control_client_wait(struct control_client *c, uint32_t serial)
{
	if (serial >= CONTROL_CLIENT_SERIALS)
		child_fail("serial %u is too large", serial);
	while (c->answers[serial].answered == 0) {
		if (wl_display_dispatch(c->display) < 0)
			child_fail("connection error: %s",
				   strerror(wl_display_get_error(c->display)));
	}
	return &c->answers[serial];
}
