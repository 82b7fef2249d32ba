/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_DAEMON_NOTIFY_H
#define VSCANOUT_DAEMON_NOTIFY_H

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

#endif
