/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_UTIL_PEER_H
#define VSCANOUT_UTIL_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Credentials of the process at the other end of a unix socket, as of its
 * connect() (or socketpair()): pid, uid and gid from SO_PEERCRED, the full
 * list of supplementary groups from SO_PEERGROUPS (Linux 4.13). On kernels
 * without SO_PEERGROUPS the "Groups:" line of /proc/PID/status is read
 * instead (the groups as of now). Every permission check of the daemon
 * (vGPU admission, the control interface) goes through these.
 */
struct peer_cred {
	pid_t pid;
	uid_t uid;
	gid_t gid;       /* the primary group */
	gid_t *groups;   /* may be NULL when n_groups is 0; owned */
	size_t n_groups; /* supplementary groups */
};

/*
 * Read the credentials of fd's peer into cred (fully overwritten; release
 * with peer_cred_finish()). The supplementary groups are read whole,
 * however many the peer has (only root can give a process groups). Returns
 * 0, or a negative errno (-ENOMEM, or SO_PEERCRED's error) with cred left
 * empty (pid 0, uid and gid -1, no groups).
 */
int peer_cred_read(int fd, struct peer_cred *cred);

/*
 * The two halves of peer_cred_read(): pid, uid and gid only, allocating
 * nothing (cred is fully overwritten, without groups); then the
 * supplementary groups into a cred that has none yet. Both return 0 or a
 * negative errno; on failure of the second cred keeps its ids.
 */
int peer_cred_read_ids(int fd, struct peer_cred *cred);
int peer_cred_read_groups(int fd, struct peer_cred *cred);

/* Release what cred holds; it is then empty. */
void peer_cred_finish(struct peer_cred *cred);

/* Whether gid is cred's primary group or one of its supplementary groups. */
bool peer_cred_in_group(const struct peer_cred *cred, gid_t gid);

#endif
