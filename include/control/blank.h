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
 * with kms_output_enable() and the settings of its section: a full
 * modeset, and the layers as they are by then.
 *
 * The display keeps the blank state (daemon/display.h, "Blanking"), beside
 * the configuration's blank = yes and blank-schedule:
 *
 *  - a blank request stays until unblank, until a reload changes that
 *    output's blank or blank-schedule, or until the output leaves the
 *    configuration; any other reload, a hotplug or a window edge leaves it
 *    off;
 *  - blank of an output the configuration keeps off is accepted (it then
 *    stays off when the configuration would light it);
 *  - unblank ends the request only: an output that blank = yes or its
 *    window keeps off stays off and the answer is failed, naming the key.
 */

/*
 * Answer blank of cr for the output called name: done once the turn-off is
 * committed or queued behind the flip in flight (or the configuration has
 * it off already), failed when there is no such output, it is neither lit
 * nor kept off by its configuration (off or waiting for its connector), or
 * it is blanked on request already.
 */
void control_blank(struct control_resource *cr, uint32_t serial, const char *name);

/*
 * Answer unblank of cr for the output called name: done once lighting is
 * under way, failed when there is no such output, it is not blanked on
 * request, its configuration still keeps it off (the request is ended
 * all the same) or it cannot be lit.
 */
void control_unblank(struct control_resource *cr, uint32_t serial, const char *name);

/* Whether output is kept off: by a blank request or its configuration. */
bool control_output_blanked(const struct control *control, const struct kms_output *output);

#endif
