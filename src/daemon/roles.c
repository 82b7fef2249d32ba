// SPDX-License-Identifier: MIT
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/roles.h"
#include "util/log.h"

/* Supplementary groups of an allow-uid user looked at; more are ignored. */
#define MAX_GROUPS 256

static const char advice[] = "give operators a group of their own (e.g. vscanout-admin) that "
			     "no VMM user is in";

/* "NAME (gid N)" of a group, or "gid N" when it has no name. */
static void group_text(gid_t gid, char *buf, size_t size)
{
	struct group *gr = getgrgid(gid);
	if (gr != NULL)
		snprintf(buf, size, "%s (gid %u)", gr->gr_name, (unsigned int)gid);
	else
		snprintf(buf, size, "gid %u", (unsigned int)gid);
}

/* Whether the user uid has gid as primary or supplementary group. */
static bool user_in_group(uid_t uid, gid_t gid, char *name, size_t name_size)
{
	struct passwd *pw = getpwuid(uid);
	if (pw == NULL)
		return false;
	snprintf(name, name_size, "%s", pw->pw_name);
	if (pw->pw_gid == gid)
		return true;
	gid_t groups[MAX_GROUPS];
	int n = MAX_GROUPS;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		n = MAX_GROUPS;
	for (int i = 0; i < n; i++) {
		if (groups[i] == gid)
			return true;
	}
	return false;
}

int roles_check(const struct config *config, gid_t socket_gid)
{
	if (!config->control_gid_set)
		return 0;
	gid_t control = config->control_gid;
	char group[160];
	group_text(control, group, sizeof(group));
	int warnings = 0;

	if (socket_gid != (gid_t)-1 && socket_gid == control) {
		char path[4096];
		if (config_socket_path(config, path, sizeof(path)) != 0)
			snprintf(path, sizeof(path), "(path too long)");
		log_warn(
			"[daemon] control-group %s is also the group of the socket %s: every VMM "
			"that may connect may also use the control interface (screenshots of every "
			"output, assign, blank, reload); %s",
			group, path, advice);
		warnings++;
	}

	struct config_vgpu *vgpu;
	wl_list_for_each (vgpu, &config->vgpus, link) {
		for (size_t i = 0; i < vgpu->n_allow_gids; i++) {
			if (vgpu->allow_gids[i] != control)
				continue;
			log_warn("[daemon] control-group %s is also allow-gid of [vgpu %s]: its "
				 "VMMs "
				 "may also use the control interface; %s",
				 group, vgpu->name, advice);
			warnings++;
		}
		for (size_t i = 0; i < vgpu->n_allow_uids; i++) {
			char name[64];
			uid_t uid = vgpu->allow_uids[i];
			if (uid == 0 || !user_in_group(uid, control, name, sizeof(name)))
				continue;
			log_warn(
				"user %s (uid %u), allow-uid of [vgpu %s], is in [daemon] "
				"control-group %s: that VMM may also use the control interface; %s",
				name, (unsigned int)uid, vgpu->name, group, advice);
			warnings++;
		}
	}
	return warnings;
}
