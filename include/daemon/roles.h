/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_DAEMON_ROLES_H
#define VSCANOUT_DAEMON_ROLES_H

#include <sys/types.h>

#include "config/config.h"

/*
 * The two roles on the daemon's socket: VMMs (anyone who may connect, and
 * the users and groups a [vgpu] section admits) and operators (root and
 * [daemon] control-group, who may use the control interface: screenshots
 * of every output, assign, blank, reload). They should not overlap.
 *
 * Log a warning for each way they do: [daemon] control-group is the
 * socket's group `socket_gid` ((gid_t)-1: unknown, not checked), so every
 * client that may connect is an operator; or it is a vGPU's allow-gid; or a
 * user a vGPU admits by allow-uid (other than root) is a member of it,
 * by the user database. Nothing is checked without control-group. Returns
 * the number of warnings.
 */
int roles_check(const struct config *config, gid_t socket_gid);

#endif
