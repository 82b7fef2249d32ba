/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_CTL_DEBUGFS_H
#define VSCANOUT_CTL_DEBUGFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control/json.h"

/*
 * The kernel's view of a DRM device's atomic state, from the file
 * /sys/kernel/debug/dri/MINOR/state (drm_state_info(): plane[ID], crtc[ID]
 * and connector[ID] blocks, one property per line indented by one tab),
 * and its comparison with vscanoutd's status document (control/status.h).
 */

#define KSTATE_NAME_SIZE 64

struct kstate_plane {
	uint32_t id;
	char name[KSTATE_NAME_SIZE];
	char crtc[KSTATE_NAME_SIZE]; /* "crtc-0" or "(null)" */
	uint32_t fb;
	int32_t x, y; /* crtc-pos */
	uint32_t width, height;
	uint32_t src_x, src_y, src_w, src_h; /* src-pos, 16.16 */
	int rotation; /* degrees from rotation= (DRM_MODE_ROTATE_*), -1 when not given */
};

struct kstate_crtc {
	uint32_t id;
	char name[KSTATE_NAME_SIZE];
	int enable, active;
	bool has_mode;
	char mode_name[KSTATE_NAME_SIZE];
	uint32_t clock, hdisplay, htotal, vdisplay, vtotal, flags;
};

struct kstate_connector {
	uint32_t id;
	char name[KSTATE_NAME_SIZE];
	char crtc[KSTATE_NAME_SIZE];
};

struct kstate {
	unsigned int minor;
	struct kstate_plane *planes;
	size_t n_planes;
	struct kstate_crtc *crtcs;
	size_t n_crtcs;
	struct kstate_connector *connectors;
	size_t n_connectors;
};

/*
 * Parse the text of a state file into st (zeroed first; free it with
 * kstate_finish()). Lines it does not know are skipped. Returns 0 or
 * -ENOMEM.
 */
int kstate_parse(struct kstate *st, const char *text);

/*
 * Read and parse DIR/MINOR/state (dir: "/sys/kernel/debug/dri"). Returns
 * 0, or a negative errno with a message for people in err: debugfs not
 * mounted, not root, no such device.
 */
int kstate_load(struct kstate *st, const char *dir, unsigned int minor, char *err, size_t err_size);

void kstate_finish(struct kstate *st);

/* The CRTC's id from its name in the state ("crtc-0"), 0 for "(null)" or unknown. */
uint32_t kstate_crtc_id(const struct kstate *st, const char *name);

/*
 * Print, for every output of status whose device's minor has a state in
 * states, vscanoutd's view beside the kernel's: its CRTC (active, mode),
 * its connector's CRTC and each of its planes (framebuffer, CRTC,
 * position, size, source), plus planes the kernel has on its CRTC that
 * vscanoutd does not hold. Each disagreement is a line starting with
 * "  DIFFERS ". Returns the number of disagreements.
 */
unsigned int kstate_compare(const struct json_value *status, const struct kstate *states,
			    size_t n_states, FILE *out);

#endif
