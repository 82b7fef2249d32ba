/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_DAEMON_NOTIFY_H
#define VSCANOUT_DAEMON_NOTIFY_H

struct wl_event_loop;

/*
 * Service manager notifications (the sd_notify(3) datagram protocol).
 *
 * When vscanoutd runs as a Type=notify systemd service, NOTIFY_SOCKET names
 * a Unix datagram socket (a leading '@' means the abstract namespace) that
 * takes newline-separated "KEY=VALUE" assignments such as "READY=1",
 * "STOPPING=1" or "STATUS=text".
 */

/*
 * Send `state` to the service manager. Returns 1 when it was sent, 0 when
 * no service manager listens (NOTIFY_SOCKET unset), or a negative errno.
 */
int notify_send(const char *state);

/*
 * Send "STATUS=<text>", the one-line state `systemctl status` shows, with
 * the text formatted as printf() does (newlines become spaces; longer than
 * 255 bytes is cut). Returns as notify_send().
 */
__attribute__((format(printf, 1, 2))) int notify_status(const char *fmt, ...);

/*
 * The service manager's watchdog (WatchdogSec= in the unit): systemd sets
 * WATCHDOG_USEC to the interval in microseconds and WATCHDOG_PID to the pid
 * it watches; the service must send "WATCHDOG=1" more often than that or it
 * is killed (and restarted, with Restart=on-failure).
 */
struct notify_watchdog;

/*
 * Start keeping the watchdog fed from `loop` (borrowed; must outlive the
 * watchdog): "WATCHDOG=1" is sent now and then from a timer on the loop at
 * half the interval, so a loop that hangs stops it and systemd notices.
 *
 * Returns NULL when no watchdog is asked for: WATCHDOG_USEC unset or 0,
 * WATCHDOG_PID set to another process than this one, no NOTIFY_SOCKET
 * (all silently), or a bad WATCHDOG_USEC or a timer that cannot be made
 * (logged). The daemon runs on either way.
 */
struct notify_watchdog *notify_watchdog_create(struct wl_event_loop *loop);

/* Stop sending "WATCHDOG=1". NULL is a no-op. */
void notify_watchdog_destroy(struct notify_watchdog *watchdog);

#endif
