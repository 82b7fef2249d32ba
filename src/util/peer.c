// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/peer.h"

/* Groups looked at in /proc/PID/status; more are ignored. */
#define PROC_MAX_GROUPS 1024

/* Groups read without allocating beyond this first guess. */
#define FIRST_GUESS 64

/* The peer's supplementary groups from its /proc/PID/status "Groups:" line. */
static int proc_groups(struct peer_cred *cred)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)cred->pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	char *line = NULL;
	size_t size = 0;
	int ret = 0;
	while (getline(&line, &size, f) > 0) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		cred->groups = calloc(PROC_MAX_GROUPS, sizeof(*cred->groups));
		if (cred->groups == NULL) {
			ret = -ENOMEM;
			break;
		}
		char *p = line + 7, *end;
		while (cred->n_groups < PROC_MAX_GROUPS) {
			errno = 0;
			unsigned long g = strtoul(p, &end, 10);
			if (end == p || errno != 0)
				break;
			cred->groups[cred->n_groups++] = (gid_t)g;
			p = end;
		}
		break;
	}
	free(line);
	fclose(f);
	return ret;
}

static int read_groups(int fd, struct peer_cred *cred)
{
	socklen_t len = FIRST_GUESS * sizeof(gid_t);
	for (int attempt = 0; attempt < 4; attempt++) {
		gid_t *groups = malloc(len > 0 ? len : sizeof(gid_t));
		if (groups == NULL)
			return -ENOMEM;
		socklen_t got = len;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &got) == 0) {
			cred->groups = groups;
			cred->n_groups = got / sizeof(gid_t);
			return 0;
		}
		int err = errno;
		free(groups);
		if (err == ENOPROTOOPT)
			return proc_groups(cred);
		if (err != ERANGE)
			return -err;
		/* got is the size needed: try again with it. */
		len = got;
	}
	return -ERANGE;
}

int peer_cred_read_ids(int fd, struct peer_cred *cred)
{
	*cred = (struct peer_cred){.uid = (uid_t)-1, .gid = (gid_t)-1};
	struct ucred ucred;
	socklen_t len = sizeof(ucred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &ucred, &len) != 0)
		return -errno;
	cred->pid = ucred.pid;
	cred->uid = ucred.uid;
	cred->gid = ucred.gid;
	return 0;
}

int peer_cred_read_groups(int fd, struct peer_cred *cred)
{
	int ret = read_groups(fd, cred);
	if (ret < 0) {
		free(cred->groups);
		cred->groups = NULL;
		cred->n_groups = 0;
	}
	return ret;
}

int peer_cred_read(int fd, struct peer_cred *cred)
{
	int ret = peer_cred_read_ids(fd, cred);
	if (ret == 0)
		ret = peer_cred_read_groups(fd, cred);
	if (ret < 0)
		peer_cred_finish(cred);
	return ret;
}

void peer_cred_finish(struct peer_cred *cred)
{
	free(cred->groups);
	*cred = (struct peer_cred){.uid = (uid_t)-1, .gid = (gid_t)-1};
}

bool peer_cred_in_group(const struct peer_cred *cred, gid_t gid)
{
	if (cred->gid == gid)
		return true;
	for (size_t i = 0; i < cred->n_groups; i++) {
		if (cred->groups[i] == gid)
			return true;
	}
	return false;
}
