/* SPDX-License-Identifier: MIT */
/*
 * The daemon in the test process, driven by a configuration file as under
 * systemd: written by the test, read again on SIGHUP, and vscanoutctl run
 * as a child while the test serves the daemon's loop. Failures go through
 * kt_fail() (tests/kernel/kmstest.h).
 */
#ifndef VSCANOUT_TESTS_E2E_CONF_DAEMON_H
#define VSCANOUT_TESTS_E2E_CONF_DAEMON_H

#include <stdint.h>

struct buffer;
struct daemon;
struct kms_output;

/* How long a test waits for something that should come at once. */
#define CONF_DAEMON_TIMEOUT_MS 20000

/* Write the printf-style text to path, replacing the file. */
__attribute__((format(printf, 2, 3))) void conf_daemon_write(const char *path, const char *fmt,
							     ...);

/*
 * Start the daemon on the configuration file at path (LIBSEAT_BACKEND=noop),
 * which SIGHUP and vscanoutctl reload read again.
 */
struct daemon *conf_daemon_start(const char *path);

/* One round of the daemon's loop, waiting at most timeout_ms: clients flushed first. */
void conf_daemon_dispatch(struct daemon *daemon, int timeout_ms);

/*
 * SIGHUP to this process, and the daemon's loop served until it has read
 * the file again (refused or not: see daemon->reload_failed).
 */
void conf_daemon_reload(struct daemon *daemon);

/*
 * Run ctl_path (vscanoutctl) --socket socket a1 a2 a3 (a2, a3 may be NULL),
 * serving the daemon meanwhile. Returns its exit status.
 */
int conf_daemon_ctl(struct daemon *daemon, const char *ctl_path, const char *socket, const char *a1,
		    const char *a2, const char *a3);

/*
 * A VMM in a forked child: attach to vgpu over socket, show one size x size
 * picture (tests/protocol/client.h, pattern seed) and stay attached until
 * the daemon goes away; never returns.
 */
__attribute__((noreturn)) void conf_daemon_vmm_show(const char *socket, const char *vgpu,
						    uint32_t size, uint32_t seed);

/* The buffer on screen on output's vGPU primary layer (zpos 1), or NULL. */
struct buffer *conf_daemon_shown(struct kms_output *output);

/* Serve the daemon until a buffer width pixels wide is on screen there. */
void conf_daemon_wait_shown(struct daemon *daemon, struct kms_output *output, uint32_t width,
			    const char *what);

#endif
