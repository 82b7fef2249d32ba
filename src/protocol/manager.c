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
	pid_t pid;
	uid_t uid;
	gid_t gid;

	if (!config_has_vgpu(server->config, name)) {
		wl_resource_post_error(resource, VSCANOUT_MANAGER_V1_ERROR_UNKNOWN_VGPU,
				       "no vGPU \"%s\" in the configuration", name);
		return;
	}
	wl_client_get_credentials(client, &pid, &uid, &gid);
	if (!config_vgpu_allows(server->config, name, uid, gid)) {
		log_info("vgpu %s: refused client pid %d, uid %u, gid %u", name, (int)pid,
			 (unsigned int)uid, (unsigned int)gid);
		wl_resource_post_error(resource, VSCANOUT_MANAGER_V1_ERROR_NOT_PERMITTED,
				       "uid %u and gid %u may not attach to vGPU \"%s\"",
				       (unsigned int)uid, (unsigned int)gid, name);
		return;
	}
	struct protocol_vgpu *vgpu;
	wl_list_for_each (vgpu, &server->vgpus, link) {
		if (strcmp(vgpu->name, name) == 0) {
			wl_resource_post_error(resource, VSCANOUT_MANAGER_V1_ERROR_ALREADY_ATTACHED,
					       "vGPU \"%s\" is already attached", name);
			return;
		}
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
