/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the seat tests that run in the VM test bed: waiting for a
 * session signal on the event loop (bounded by a timer on the same loop,
 * never a sleep), recording signals, and sysfs writes.
 */
#ifndef VSCANOUT_TESTS_SEAT_SEATEST_H
#define VSCANOUT_TESTS_SEAT_SEATEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <wayland-server-core.h>

#include "seat/session.h"

/* How long a test waits for one kernel or seat event before failing. */
#define SEATEST_TIMEOUT_MS 20000

/*
 * Dispatch `loop` until *count reaches `want`; fail the test (naming
 * `what`) if that takes longer than SEATEST_TIMEOUT_MS.
 */
void seatest_wait(struct wl_event_loop *loop, const int *count, int want, const char *what);

/* Write `text` to the sysfs (or other, created if missing) file `path`; fail on error. */
void seatest_write(const char *path, const char *text);

/* Like seatest_write(), returning 0 or a negative errno instead of failing. */
int seatest_try_write(const char *path, const char *text);

/* The device of `session` with DRM driver `driver`, or NULL. */
struct session_device *seatest_find_driver(struct session *session, const char *driver);

/*
 * Check what a session_device must be: an open O_CLOEXEC KMS fd whose node
 * is devnode and devnum, a "cardN" sysname with a matching syspath.
 */
void seatest_check_device(const struct session_device *device);

/*
 * The virtio device ("virtio3") that virtio-gpu drives for this card: a child
 * of the PCI device the card hangs off. Unbinding it from
 * /sys/bus/virtio/drivers/virtio_gpu removes the card; binding brings it back.
 */
void seatest_virtio_name(const struct session_device *device, char *name, size_t size);

/*
 * Full modeset of the first pipe of the DRM fd with a fresh dumb buffer
 * filled with kt_fill_pattern(seed). Returns the commit's result.
 */
int seatest_modeset(int fd, uint32_t seed);

/*
 * In a child process: open devnode, try to become DRM master and commit a
 * modeset. Returns 0 if both worked, 1 if master was refused (someone else
 * is master), 2 if only the commit failed.
 */
int seatest_other_master(const char *devnode);

/*
 * Start seatd (readiness through `seatd -n`, no waiting on files) and return
 * its pid; exits with KT_SKIP when seatd is not installed.
 */
pid_t seatest_start_seatd(void);

/* The active VT, through the VT_GETSTATE ioctl on tty0 (an open /dev/tty0). */
int seatest_active_vt(int tty0);

/* What chvt does: ask for a switch to vt, without waiting for it. */
void seatest_activate_vt(int tty0, int vt);

/* Block until the kernel has completed a switch to vt (VT_WAITACTIVE). */
void seatest_wait_vt(int tty0, int vt);

#endif
