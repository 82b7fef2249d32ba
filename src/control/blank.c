// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <wayland-server-core.h>

#include "control/blank.h"
#include "control/private.h"
#include "kms/output.h"
#include "util/log.h"
#include "vscanout-v1-server-protocol.h"

/* An output turned off by a blank request. */
struct control_blank {
	struct kms_output *output;
	struct wl_list link; /* control.blanks */
	struct wl_listener output_destroy;
};

static void blank_free(struct control_blank *blank)
{
	wl_list_remove(&blank->link);
	wl_list_remove(&blank->output_destroy.link);
	free(blank);
}

static void handle_output_destroy(struct wl_listener *listener, void *data)
{
	struct control_blank *blank = wl_container_of(listener, blank, output_destroy);
	blank_free(blank);
}

static struct control_blank *find_blank(const struct control *control,
					const struct kms_output *output)
{
	struct control_blank *blank;
	wl_list_for_each (blank, &control->blanks, link) {
		if (blank->output == output)
			return blank;
	}
	return NULL;
}

bool control_output_blanked(const struct control *control, const struct kms_output *output)
{
	return !output->enabled && find_blank(control, output) != NULL;
}

void control_blank(struct control_resource *cr, uint32_t serial, const char *name)
{
	struct control *control = cr->control;
	char msg[160];
	struct kms_output *output = control_find_output(control->displays, name, msg, sizeof(msg));
	if (output == NULL) {
		control_send_failed(cr->resource, serial, "%s", msg);
		return;
	}
	struct control_blank *blank = find_blank(control, output);
	if (blank != NULL && !output->enabled) {
		control_send_failed(cr->resource, serial, "output %s is already blanked", name);
		return;
	}
	if (!output->enabled || output->state != KMS_OUTPUT_ON) {
		control_send_failed(cr->resource, serial, "output %s is not lit", name);
		return;
	}
	if (blank == NULL) {
		blank = calloc(1, sizeof(*blank));
		if (blank == NULL) {
			control_send_failed(cr->resource, serial, "out of memory");
			return;
		}
		blank->output = output;
		blank->output_destroy.notify = handle_output_destroy;
		wl_signal_add(&output->events.destroy, &blank->output_destroy);
		wl_list_insert(&control->blanks, &blank->link);
	}
	log_info("output %s: blanked on request (pid %d)", output->name, (int)cr->pid);
	kms_output_disable(output);
	vscanout_control_v1_send_done(cr->resource, serial, 0);
}

void control_unblank(struct control_resource *cr, uint32_t serial, const char *name)
{
	struct control *control = cr->control;
	char msg[160];
	struct kms_output *output = control_find_output(control->displays, name, msg, sizeof(msg));
	if (output == NULL) {
		control_send_failed(cr->resource, serial, "%s", msg);
		return;
	}
	struct control_blank *blank = find_blank(control, output);
	if (blank == NULL || output->enabled) {
		if (blank != NULL)
			blank_free(blank);
		control_send_failed(cr->resource, serial, "output %s is not blanked", name);
		return;
	}
	blank_free(blank);
	/* The settings it kept while off; kms_output_enable() copies them. */
	struct kms_output_settings settings = output->settings;
	int ret = kms_output_enable(output, &settings);
	if (ret < 0) {
		control_send_failed(cr->resource, serial, "output %s cannot be lit: %s", name,
				    strerror(-ret));
		return;
	}
	log_info("output %s: unblanked on request (pid %d)", output->name, (int)cr->pid);
	vscanout_control_v1_send_done(cr->resource, serial, 0);
}

void control_blank_finish(struct control *control)
{
	struct control_blank *blank, *tmp;
	wl_list_for_each_safe (blank, tmp, &control->blanks, link)
		blank_free(blank);
}
