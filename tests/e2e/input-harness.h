/* SPDX-License-Identifier: MIT */
/*
 * What the host-input tests share. The test process runs the daemon and
 * owns the host's "physical" devices, made with /dev/uinput; forked VMMs
 * log every vscanout_input_v1 event they receive and hand their log over
 * when the test process asks, while it serves the daemon's loop.
 * Failures go through kt_fail() (tests/kernel/kmstest.h) in the test
 * process and client_fail() (tests/protocol/client.h) in a VMM.
 */
#ifndef VSCANOUT_TESTS_E2E_INPUT_HARNESS_H
#define VSCANOUT_TESTS_E2E_INPUT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "util/log.h"

struct daemon;
struct kt_device;

#define HARNESS_MAX_VMMS 4

/* ---------------------------------------------------------------------- */
/* The host's devices                                                     */
/* ---------------------------------------------------------------------- */

/* A uinput device: EV_KEY always, EV_REL when it has rels, EV_ABS when abs. */
struct harness_device {
	const char *name;
	uint16_t product; /* vendor 0x1234, bus USB */
	const int *keys;
	size_t n_keys;
	const int *rels; /* may be NULL */
	size_t n_rels;
	/* ABS_X and ABS_Y over 0..1023, 5 units/mm. */
	bool abs;
	/* With abs: the multitouch slots (5) and positions, INPUT_PROP_DIRECT. */
	bool touch;
};

/* Create the device; returns its /dev/uinput fd (owned by the caller). */
int harness_device_create(const struct harness_device *device);

/* A touchscreen (BTN_TOUCH, abs, touch), as libinput and the [touchscreen] section see one. */
int harness_touchscreen_create(const char *name, uint16_t product);

/* Write one event into the device (emit), or a SYN_REPORT (syn). */
void harness_emit(int fd, int type, int code, int value);
void harness_syn(int fd);

/* One event and its SYN_REPORT. */
void harness_send(int fd, int type, int code, int value);

/*
 * Press Ctrl, Alt and last on keyboard, release them in reverse, and
 * serve until libinput has handed the six events over (see
 * harness_wait_events(), what names them).
 */
void harness_hotkey(int keyboard, int last, const char *what);

/* A tap at x,y of touch's 1024 x 1024 range: down, up, served until both frames are handed over. */
void harness_tap(int touch, int x, int y);

/* ---------------------------------------------------------------------- */
/* The VMMs (in a forked child)                                           */
/* ---------------------------------------------------------------------- */

/*
 * Logs every event, one line each ("penter 128,192", "key 30 1",
 * "kenter 29,56", ...); a virtual keyboard (uinput_device) is opened at
 * once into harness_vmm_keyboard_fd, so that it misses nothing.
 */
extern const struct vscanout_input_v1_listener harness_log_listener;
extern int harness_vmm_keyboard_fd; /* -1 until a uinput_device keyboard */

/* Append to the log handed over at the next command. */
__attribute__((format(printf, 1, 2))) void harness_logf(const char *fmt, ...);

/*
 * Connect to socket, attach to the vGPU name, log its input and give it a
 * width x height primary picture (pattern seed) at x,y; nothing committed.
 */
struct vscanout_vgpu_v1 *harness_vmm_attach(struct client *c, const char *socket, const char *name,
					    uint32_t width, uint32_t height, uint32_t seed,
					    int32_t x, int32_t y);

/*
 * Answer the test process's commands until 'q', which exits with status
 * 0: each one a roundtrip, then on_command(cmd) (may be NULL), then the
 * log since the last answer.
 */
__attribute__((noreturn)) void harness_vmm_serve(struct client *c, void (*on_command)(char cmd));

/* ---------------------------------------------------------------------- */
/* The test process                                                       */
/* ---------------------------------------------------------------------- */

/*
 * The daemon's environment (LIBSEAT_BACKEND=noop, logging at level,
 * SIGPIPE ignored); skip without /dev/uinput or a virtio_gpu card, else
 * open the card into dev.
 */
void harness_init(enum log_level level, struct kt_device *dev);

/*
 * Once udev has settled the devices made so far, start the daemon on the
 * configuration text; input events are counted from there.
 */
struct daemon *harness_daemon_create(const char *text);

/*
 * Fork n VMMs named names[i] (n <= HARNESS_MAX_VMMS); VMM i runs
 * vmm(i), which ends in harness_vmm_serve(). daemon's loop is the one
 * served while waiting.
 */
void harness_start(struct daemon *daemon, const char *const *names, int n, void (*vmm)(int which));

/* End the VMMs (each sent 'q', its status 0 required), then the daemon. */
void harness_finish(void);

/* One round of the daemon's loop: flush the protocol clients, dispatch. */
void harness_dispatch(int timeout_ms);

/* Serve until libinput has handed over count more events than awaited so far. */
void harness_wait_events(uint64_t count, const char *what);

/*
 * Send VMM i cmd and require its log since the last time to be want
 * (printed, and named by step on a failure).
 */
void harness_expect_cmd(int i, char cmd, const char *want, const char *step);

/* The same for the plain command 'd', which only hands the log over. */
void harness_expect(int i, const char *want, const char *step);

#endif
