// SPDX-License-Identifier: MIT
#include <string.h>
#include <sys/types.h>
#include <wayland-server-core.h>

#include "config/config.h"
#include "protocol/private.h"
#include "util/log.h"
#include "vscanout-v1-server-protocol.h"

static void manager_handle_destroy(struct wl_client *client, struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void manager_handle_attach(struct wl_client *client, struct wl_resource *resource,
				  uint32_t id, const char *name)
{
	struct protocol_server *server = wl_resource_get_user_data(resource);

	if (!config_has_vgpu(server->config, name)) {
		wl_resource_post_error(resource, VSCANOUT_MANAGER_V1_ERROR_UNKNOWN_VGPU,
				       "no vGPU \"%s\" in the configuration", name);
		return;
	}
	struct protocol_client *pclient = protocol_client_get(client);
	if (pclient == NULL)
		return; /* posted */
	const struct peer_cred *cred = &pclient->cred;
	bool allowed = config_vgpu_allows(server->config, name, cred->uid, cred->gid, cred->groups,
					  cred->n_groups);
	if (!allowed) {
		unsigned long held_back;
		if (log_ratelimit_pass(&server->attach_log, LOG_RATELIMIT_INTERVAL_NS, &held_back))
			log_info(
				"vgpu %s: refused client pid %d, uid %u, gid %u (%lu more attaches "
				"refused since the last such message)",
				name, (int)cred->pid, (unsigned int)cred->uid,
				(unsigned int)cred->gid, held_back);
		wl_resource_post_error(resource, VSCANOUT_MANAGER_V1_ERROR_NOT_PERMITTED,
				       "uid %u and its groups may not attach to vGPU \"%s\"",
				       (unsigned int)cred->uid, name);
	}
	protocol_client_unref(pclient);
	if (!allowed)
		return;
	if (vgpu_manager_find(server->vgpus_core, name) != NULL) {
		wl_resource_post_error(resource, VSCANOUT_MANAGER_V1_ERROR_ALREADY_ATTACHED,
				       "vGPU \"%s\" is already attached", name);
		return;
	}
	protocol_vgpu_create(server, client, wl_resource_get_version(resource), id, name);
}

static const struct vscanout_manager_v1_interface manager_impl = {
	.destroy = manager_handle_destroy,
	.attach = manager_handle_attach,
};

void protocol_manager_bind(struct wl_client *client, void *data, uint32_t version, uint32_t id)
{
	struct wl_resource *resource =
		wl_resource_create(client, &vscanout_manager_v1_interface, (int)version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(resource, &manager_impl, data, NULL);
}
