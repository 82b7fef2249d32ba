/* SPDX-License-Identifier: MIT */
/*
 * An unmodified QEMU (Debian's qemu-system-x86_64) run by a test, nested
 * in the test bed's VM: TCG, 16 MiB, the std VGA, the guest of
 * tests/qemu/guest.S on a floppy, and its D-Bus display. It has two QMP
 * sockets: one for the daemon under test, one that this harness speaks
 * to (screendump, send-key, query-status). Its stderr goes to
 * $VM_ARTEFACTS/NAME.log.
 *
 * And a private dbus-daemon, for QEMU's bus mode (-display dbus,addr=).
 *
 * Every wait has a deadline (NESTED_TIMEOUT_MS) and serves the daemon's
 * loop meanwhile through the serve callback, when one is set. Failures
 * go through kt_fail() (tests/kernel/kmstest.h).
 */
#ifndef VSCANOUT_TESTS_QEMU_NESTED_H
#define VSCANOUT_TESTS_QEMU_NESTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kmstest.h"

#define NESTED_TIMEOUT_MS 20000
#define NESTED_PATH_MAX   108 /* sun_path */

/* Serve the daemon's loop for at most timeout_ms. */
typedef void (*nested_serve_fn)(void *data, int timeout_ms);

struct nested_qemu {
	const char *name;                 /* of the log file */
	const char *image;                /* the floppy image, borrowed */
	char display[256];                /* the -display option */
	char daemon_qmp[NESTED_PATH_MAX]; /* the daemon's QMP socket */
	char test_qmp[NESTED_PATH_MAX];   /* this harness' QMP socket */
	pid_t pid;                        /* 0 while not running */
	int pidfd;                        /* -1 while not running */
	int qmp;                          /* the harness' QMP connection, -1 */
	char buf[16384];
	size_t len;
	nested_serve_fn serve; /* may be NULL */
	void *serve_data;
	unsigned int starts;
	const char *const *extra; /* more arguments for QEMU, NULL-terminated; may be NULL */
};

/*
 * Set q up (nothing runs yet): sockets dir/NAME-daemon.qmp and
 * dir/NAME-test.qmp (dir exists), the guest image and the -display
 * option, e.g. "dbus,p2p=yes" or "dbus,addr=unix:path=/tmp/x/bus".
 */
void nested_qemu_init(struct nested_qemu *q, const char *name, const char *dir, const char *image,
		      const char *display);

/*
 * Start QEMU and wait until its QMP sockets accept, then negotiate the
 * harness' QMP connection. Skips the test (exit 77) when there is no
 * qemu-system-x86_64.
 */
void nested_qemu_start(struct nested_qemu *q);

/* SIGKILL and reap it (its sockets are removed); a no-op when it is not running. */
void nested_qemu_kill(struct nested_qemu *q);

/*
 * Run a QMP command; arguments is a JSON object or NULL. Fails the test on
 * an error reply, QEMU's exit or the deadline. Returns the reply line
 * (the caller frees it).
 */
char *nested_qemu_execute(struct nested_qemu *q, const char *execute, const char *arguments);

/*
 * QEMU's own picture of its console: QMP screendump into
 * $VM_ARTEFACTS/<name>.ppm (or /tmp), loaded into img (allocated,
 * XRGB8888).
 */
void nested_qemu_screendump(struct nested_qemu *q, const char *name, struct kt_image *img);

/* A key typed through QMP send-key (a QEMU qcode such as "a"). */
void nested_qemu_send_key(struct nested_qemu *q, const char *qcode);

/* query-status says the guest runs. */
bool nested_qemu_running(struct nested_qemu *q);

/* ---------------------------------------------------------------------- */
/* A private D-Bus bus                                                    */
/* ---------------------------------------------------------------------- */

struct nested_bus {
	char config[NESTED_PATH_MAX + 16];
	char socket[NESTED_PATH_MAX];
	char address[NESTED_PATH_MAX + 16]; /* "unix:path=..." as printed by the bus */
	pid_t pid;
};

/*
 * Start dbus-daemon --nofork on a unix socket in dir (EXTERNAL
 * authentication, everything allowed) and wait for the address it prints.
 * Skips the test when there is no dbus-daemon.
 */
void nested_bus_start(struct nested_bus *b, const char *dir);

/* SIGKILL and reap it; a no-op when it is not running. */
void nested_bus_stop(struct nested_bus *b);

/* ---------------------------------------------------------------------- */
/* A child printing lines (fake-qemu)                                     */
/* ---------------------------------------------------------------------- */

struct nested_child {
	const char *name; /* argv[0] */
	pid_t pid;        /* 0 once stopped */
	int pidfd;
	int in, out; /* its stdin (written), its stdout (read) */
	char buf[16384];
	size_t len;
	char line[1024];       /* the last line returned */
	nested_serve_fn serve; /* may be NULL */
	void *serve_data;
};

/* Start argv[0] (a path) with pipes for its stdin and stdout; its stderr is ours. */
void nested_child_start(struct nested_child *c, char *const argv[]);

/*
 * Serve until the child printed a line that starts with prefix; every
 * line read is echoed on stdout. Returns it (c->line, valid until the next
 * call). The child's exit or the deadline fail the test.
 */
const char *nested_child_wait_line(struct nested_child *c, const char *prefix);

/* Write text to the child's stdin. */
void nested_child_write(struct nested_child *c, const char *text);

/* SIGTERM, reap; returns its wait status. A no-op (0) once stopped. */
int nested_child_stop(struct nested_child *c);

/* Whether path names an executable program in $PATH (or is one). */
bool nested_have_program(const char *program);

#endif
