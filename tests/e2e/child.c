// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "kmstest.h"

static void *grow(void *array, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return array;
	*cap = *cap ? 2 * *cap : 256;
	array = realloc(array, *cap * size);
	kt_assert(array != NULL);
	return array;
}

static void parse_line(struct e2e_child *child, const char *line)
{
	struct e2e_commit c;
	struct e2e_presented p;
	char flags[64];
	uint32_t serial;

	if (sscanf(line, "commit serial=%" SCNu32 " time_ns=%" SCNu64, &c.serial, &c.time_ns) ==
	    2) {
		child->commits =
			grow(child->commits, &child->cap_commits, child->n_commits, sizeof(c));
		child->commits[child->n_commits++] = c;
	} else if (sscanf(line,
			  "presented serial=%" SCNu32 " time_ns=%" SCNu64 " sequence=%" SCNu64
			  " refresh_ns=%*u flags=%63s",
			  &p.serial, &p.time_ns, &p.sequence, flags) == 4) {
		p.zero_copy = strstr(flags, "zero-copy") != NULL;
		p.vsync = strstr(flags, "vsync") != NULL;
		child->presented = grow(child->presented, &child->cap_presented, child->n_presented,
					sizeof(p));
		child->presented[child->n_presented++] = p;
	} else if (sscanf(line, "discarded serial=%" SCNu32, &serial) == 1) {
		child->n_discarded++;
	}
}

/* Append n bytes the child printed (already in child->text) and parse whole lines. */
static void take_output(struct e2e_child *child, size_t n)
{
	child->len += n;
	child->text[child->len] = '\0';
	char *end;
	while ((end = strchr(child->text + child->parsed, '\n')) != NULL) {
		*end = '\0';
		parse_line(child, child->text + child->parsed);
		*end = '\n';
		child->parsed = (size_t)(end - child->text) + 1;
	}
}

static int handle_output(int fd, uint32_t mask, void *data)
{
	struct e2e_child *child = data;
	child->text = grow(child->text, &child->cap, child->len + 4096, 1);
	ssize_t n = read(fd, child->text + child->len, child->cap - child->len - 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	kt_assert_errno(n >= 0);
	if (n == 0) {
		child->eof = true;
		wl_event_source_fd_update(child->out_source, 0);
		return 0;
	}
	take_output(child, (size_t)n);
	return 0;
}

/* A quiet child's output, from its file once it has exited. */
static void read_output_file(struct e2e_child *child)
{
	for (off_t offset = 0;;) {
		child->text = grow(child->text, &child->cap, child->len + 65536, 1);
		ssize_t n = pread(child->out_fd, child->text + child->len,
				  child->cap - child->len - 1, offset);
		kt_assert_errno(n >= 0);
		if (n == 0)
			break;
		offset += n;
		take_output(child, (size_t)n);
	}
	child->eof = true;
}

static int handle_exit(int fd, uint32_t mask, void *data)
{
	struct e2e_child *child = data;
	kt_assert_errno(waitpid(child->pid, &child->status, 0) == child->pid);
	child->exited = true;
	wl_event_source_fd_update(child->exit_source, 0);
	if (child->quiet)
		read_output_file(child);
	return 0;
}

/* Fork and exec argv with stdout and stderr on out (borrowed); watch its exit on loop. */
static void spawn(struct e2e_child *child, struct wl_event_loop *loop, char *const argv[], int out)
{
	child->pid = fork();
	kt_assert_errno(child->pid >= 0);
	if (child->pid == 0) {
		/* dup2 leaves stdout and stderr without O_CLOEXEC; they must block. */
		if (dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0 ||
		    fcntl(STDOUT_FILENO, F_SETFL, 0) < 0)
			_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	child->pidfd = (int)syscall(SYS_pidfd_open, child->pid, 0);
	kt_assert_errno(child->pidfd >= 0);
	child->exit_source =
		wl_event_loop_add_fd(loop, child->pidfd, WL_EVENT_READABLE, handle_exit, child);
	kt_assert(child->exit_source != NULL);
	child->text = grow(NULL, &child->cap, 0, 1);
	child->text[0] = '\0';
}

void e2e_child_spawn(struct e2e_child *child, struct wl_event_loop *loop, char *const argv[])
{
	int pipe_fds[2];

	memset(child, 0, sizeof(*child));
	kt_assert_errno(pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == 0);
	child->out_fd = pipe_fds[0];
	spawn(child, loop, argv, pipe_fds[1]);
	close(pipe_fds[1]);
	child->out_source =
		wl_event_loop_add_fd(loop, child->out_fd, WL_EVENT_READABLE, handle_output, child);
	kt_assert(child->out_source != NULL);
}

void e2e_child_spawn_quiet(struct e2e_child *child, struct wl_event_loop *loop, char *const argv[])
{
	memset(child, 0, sizeof(*child));
	child->quiet = true;
	child->out_fd = memfd_create("e2e child output", MFD_CLOEXEC);
	kt_assert_errno(child->out_fd >= 0);
	spawn(child, loop, argv, child->out_fd);
}

void e2e_child_kill(struct e2e_child *child, int sig)
{
	if (!child->exited)
		kt_assert_errno(kill(child->pid, sig) == 0);
}

void e2e_child_finish(struct e2e_child *child)
{
	kt_assert(child->exited);
	if (child->out_source != NULL)
		wl_event_source_remove(child->out_source);
	wl_event_source_remove(child->exit_source);
	close(child->out_fd);
	close(child->pidfd);
	free(child->text);
	free(child->commits);
	free(child->presented);
	memset(child, 0, sizeof(*child));
}

const char *e2e_child_stat(const struct e2e_child *child, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *line = child->text; line != NULL && *line != '\0';) {
		if (strncmp(line, prefix, n) == 0)
			return line;
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	kt_fail(__FILE__, __LINE__, "the sim printed no line starting with \"%s\"", prefix);
}

void e2e_dispatch(struct daemon *daemon, uint64_t deadline_ns, const char *what)
{
	uint64_t now = kt_now_ns();
	kt_assertf(now < deadline_ns, "timed out waiting for %s", what);
	wl_display_flush_clients(daemon->display);
	int ret = wl_event_loop_dispatch(daemon->loop, (int)((deadline_ns - now) / 1000000u) + 1);
	kt_assertf(ret >= 0 || errno == EINTR, "event loop: %s", strerror(errno));
}

static void handle_present(struct wl_listener *listener, void *data)
{
	struct e2e_present_log *log = wl_container_of(listener, log, listener);
	const struct kms_present_event *ev = data;
	log->entries = grow(log->entries, &log->cap, log->n, sizeof(*log->entries));
	log->entries[log->n++] = (struct e2e_present){
		.sequence = ev->sequence,
		.time_ns = ev->time_ns,
		.flags = ev->flags,
	};
}

void e2e_present_log_init(struct e2e_present_log *log, struct kms_output *output)
{
	memset(log, 0, sizeof(*log));
	log->listener.notify = handle_present;
	wl_signal_add(&output->events.present, &log->listener);
}

void e2e_present_log_finish(struct e2e_present_log *log)
{
	wl_list_remove(&log->listener.link);
	free(log->entries);
	memset(log, 0, sizeof(*log));
}

const struct e2e_present *e2e_present_log_find(const struct e2e_present_log *log, uint64_t sequence)
{
	for (size_t i = 0; i < log->n; i++) {
		if (log->entries[i].sequence == sequence)
			return &log->entries[i];
	}
	return NULL;
}

struct daemon *e2e_daemon_create(const char *text)
{
	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	kt_assert_errno(f != NULL);
	kt_assert_ok(config_parse(&config, f, "e2e.conf"));
	fclose(f);
	struct daemon *daemon = daemon_create(&config);
	config_finish(&config);
	kt_assertf(daemon != NULL, "daemon_create failed");
	return daemon;
}
