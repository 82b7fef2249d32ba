// SPDX-License-Identifier: MIT
/*
 * Every attached vGPU, and what follows the configuration: which outputs
 * show each one, in which region, and which is under a point of an output.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "util/log.h"
#include "vgpu/private.h"

struct vgpu_manager *vgpu_manager_create(const struct config *config, struct display *displays)
{
	struct vgpu_manager *manager = calloc(1, sizeof(*manager));
	if (manager == NULL)
		return NULL;
	manager->config = config;
	manager->displays = displays;
	wl_list_init(&manager->vgpus);
	return manager;
}

void vgpu_manager_destroy(struct vgpu_manager *manager)
{
	free(manager);
}

void vgpu_manager_set_input(struct vgpu_manager *manager, struct input_forward *forward)
{
	manager->forward = forward;
}

struct vgpu *vgpu_manager_find(struct vgpu_manager *manager, const char *name)
{
	struct vgpu *vgpu;
	wl_list_for_each (vgpu, &manager->vgpus, link) {
		if (strcmp(vgpu->name, name) == 0)
			return vgpu;
	}
	return NULL;
}

/* Bring one vGPU's views in line with the configuration. */
static void reconfigure_vgpu(struct vgpu *vgpu)
{
	struct vgpu_manager *manager = vgpu->manager;
	bool changed = false;
	struct vgpu_view *view, *tmp;

	/* Outputs that no longer show it, or became another connector. */
	wl_list_for_each_safe (view, tmp, &vgpu->views, link) {
		const struct config_output *co = config_find_output(manager->config, view->name);
		if (co != NULL && config_output_vgpu_index(co, vgpu->name) >= 0 &&
		    display_find_output(manager->displays, co->name) == view->output) {
			changed |= vgpu_view_update(view, co);
			continue;
		}
		log_info("vgpu %s: no longer shown on output %s", vgpu->name, view->name);
		if (vgpu->clock == view) {
			/* No frame of it answers them now; the clock is chosen again below. */
			vgpu_discard_commits(vgpu);
			vgpu->clock = NULL;
		}
		vgpu_view_destroy(view);
		changed = true;
	}

	/* Outputs that now show it, in configuration order. */
	const struct config_output *co;
	wl_list_for_each (co, &manager->config->outputs, link) {
		if (config_output_vgpu_index(co, vgpu->name) < 0)
			continue;
		bool have = false;
		wl_list_for_each (view, &vgpu->views, link)
			have |= strcmp(view->name, co->name) == 0;
		struct kms_output *output = display_find_output(manager->displays, co->name);
		if (have || output == NULL)
			continue;
		view = vgpu_view_create(vgpu, co, output);
		if (view == NULL) {
			log_error("vgpu %s: out of memory adding output %s", vgpu->name, co->name);
			break;
		}
		log_info("vgpu %s: now shown on output %s", vgpu->name, co->name);
		vgpu_view_show(view);
		changed = true;
	}
	/* clock= may have changed alone. */
	vgpu_update_clock(vgpu);
	if (changed)
		wl_signal_emit_mutable(&vgpu->views_changed, vgpu);
}

void vgpu_manager_reconfigure(struct vgpu_manager *manager)
{
	struct vgpu *vgpu, *tmp;
	wl_list_for_each_safe (vgpu, tmp, &manager->vgpus, link)
		reconfigure_vgpu(vgpu);
}

static bool rect_holds(const struct kms_rect *r, double x, double y)
{
	return x >= r->x && y >= r->y && x < (double)r->x + r->width &&
	       y < (double)r->y + r->height;
}

struct vgpu *vgpu_manager_vgpu_at(struct vgpu_manager *manager, struct kms_output *output, double x,
				  double y, struct kms_fixed_rect *src, struct kms_rect *dst,
				  bool *picture)
{
	*picture = false;
	struct vgpu_view *found = NULL, *alone = NULL;
	size_t n = 0;
	struct vgpu *vgpu;
	wl_list_for_each (vgpu, &manager->vgpus, link) {
		struct vgpu_view *view;
		wl_list_for_each (view, &vgpu->views, link) {
			if (view->output != output)
				continue;
			n++;
			alone = view;
			if (rect_holds(&view->region, x, y) &&
			    (found == NULL || view->slot > found->slot))
				found = view;
		}
	}
	/* Alone on its output, a vGPU has the whole of it, wherever the point is. */
	if (found == NULL && n == 1)
		found = alone;
	if (found == NULL)
		return NULL;
	*picture = found->primary != NULL && kms_layer_get_rects(found->primary, src, dst);
	return found->vgpu;
}
