// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <wayland-server-core.h>

#include "config/config.h"
#include "control/blank.h"
#include "control/private.h"
#include "daemon/display.h"
#include "daemon/schedule.h"
#include "kms/output.h"
#include "util/log.h"
#include "vscanout-v1-server-protocol.h"

bool control_output_blanked(const struct control *control, const struct kms_output *output)
{
	return display_output_blank_reasons(control->displays, output) != 0;
}

/* "blank = yes" or "blank-schedule = HH:MM-HH:MM", what keeps `output` off. */
static const char *config_reason(const struct control *control, const struct kms_output *output,
				 char *buf, size_t size)
{
	const struct config_output *co = display_output_config(control->displays, output);
	if (co == NULL || co->blank || !co->blank_schedule_set)
		return "blank = yes";
	char window[SCHEDULE_TEXT_SIZE];
	schedule_format(&co->blank_schedule, window, sizeof(window));
	snprintf(buf, size, "blank-schedule = %s", window);
	return buf;
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
	int ret = display_output_request_blank(control->displays, output, true);
	switch (ret) {
	case 0:
		break;
	case -EALREADY:
		control_send_failed(cr->resource, serial, "output %s is already blanked", name);
		return;
	case -ENOTCONN:
		control_send_failed(cr->resource, serial, "output %s is not lit", name);
		return;
	default:
		control_send_failed(cr->resource, serial, "output %s cannot be blanked: %s", name,
				    strerror(-ret));
		return;
	}
	log_info("output %s: blanked on request (pid %d)", output->name, (int)cr->pid);
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
	bool kept = display_output_blank_reasons(control->displays, output) != 0;
	int ret = display_output_request_blank(control->displays, output, false);
	char reason[64];
	switch (ret) {
	case 0:
		break;
	case -EALREADY:
		if (kept)
			control_send_failed(cr->resource, serial,
					    "output %s is kept off by its configuration (%s), not "
					    "by a blank request",
					    name,
					    config_reason(control, output, reason, sizeof(reason)));
		else
			control_send_failed(cr->resource, serial, "output %s is not blanked", name);
		return;
	case -EBUSY:
		log_info("output %s: blank request ended (pid %d); the configuration keeps it off",
			 output->name, (int)cr->pid);
		control_send_failed(cr->resource, serial,
				    "output %s stays off: its configuration keeps it off (%s)",
				    name, config_reason(control, output, reason, sizeof(reason)));
		return;
	default:
		control_send_failed(cr->resource, serial, "output %s cannot be lit: %s", name,
				    strerror(-ret));
		return;
	}
	log_info("output %s: unblanked on request (pid %d)", output->name, (int)cr->pid);
	vscanout_control_v1_send_done(cr->resource, serial, 0);
}
