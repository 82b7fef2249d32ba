/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_CONTROL_BLANK_H
#define VSCANOUT_CONTROL_BLANK_H

#include <stdbool.h>
#include <stdint.h>

struct control;
struct control_resource;
struct kms_output;

/*
 * Blanking outputs on request (DPMS off and on), for
 * vscanout_control_v1.blank and unblank.
 *
 * Blank turns the output's CRTC off with kms_output_disable(): the output
 * keeps its settings and its layers (a vGPU shown there goes on committing
 * frames into them) and no other output is touched. Unblank lights it again
 * with kms_output_enable() and the settings it kept: a full modeset, and
 * the layers as they are by then.
 *
 * The control object remembers which outputs it blanked (until they are
 * unblanked or go away). An output counts as blanked while it is
 * remembered and not enabled: whoever enables it otherwise (a
 * configuration reload) ends the blank.
 */

/*
 * Answer blank of cr for the output called name: done once the turn-off is
 * committed or queued behind the flip in flight, failed when there is no
 * such output, it is not lit (off or waiting for its connector) or already
 * blanked.
 */
void control_blank(struct control_resource *cr, uint32_t serial, const char *name);

/*
 * Answer unblank of cr for the output called name: done once lighting is
 * under way, failed when there is no such output, it is not blanked or
 * cannot be lit.
 */
void control_unblank(struct control_resource *cr, uint32_t serial, const char *name);

/* Whether output is blanked by a blank request (see above). */
bool control_output_blanked(const struct control *control, const struct kms_output *output);

/* control is going away: forget the blanked outputs (they stay off). */
void control_blank_finish(struct control *control);

#endif
