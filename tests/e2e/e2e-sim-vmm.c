// SPDX-License-Identifier: MIT
/*
 * End to end on vkms: vscanoutd's code in this process (DRM master, so it
 * can capture through the writeback connector), the real vscanout-sim-vmm
 * binary as a client showing a still picture. Checks, for a run without
 * and one with the cursor:
 *  - the writeback capture equals the picture the sim drew, exactly
 *    (with the cursor blended in at its position);
 *  - every presented event says zero-copy and vsync, and the layers are
 *    scanned out directly: the primary buffer on the primary plane, the
 *    cursor on the cursor plane at the position the sim asked for;
 *  - presented timestamps are the kernel's page-flip timestamps of the
 *    output (its present events here, matched by vblank sequence) and
 *    increase;
 *  - the sim exits with status 0 after SIGTERM and reports 100 % zero-copy.
 * Then the README's minimal client shows its frame zero-copy and exits 0,
 * and the sim asking for an unknown vGPU prints the protocol error and
 * exits 1.
 * usage: test-e2e-sim-vmm PATH-TO-vscanout-sim-vmm PATH-TO-minimal-client
 */
#include <drm_fourcc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "child.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "draw.h"
#include "kms/output.h"
#include "kms/writeback.h"
#include "kmstest.h"
#include "util/log.h"

#define SOCKET "/tmp/vscanout-e2e-0"
#define SEED   4242
/* Frames the sim must have shown before and after the checks. */
#define FRAMES_BEFORE 5
#define FRAMES_TOTAL  20

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET "\n"
				  "[output Virtual-1]\n"
				  "vgpu = sim\n"
				  "[vgpu sim]\n";

struct capture {
	bool done;
	struct kt_image img;
};

static void handle_capture(struct kms_output *output, int status, const void *pixels,
			   uint32_t width, uint32_t height, uint32_t stride, void *data)
{
	struct capture *c = data;
	kt_check_capture_status(status);
	kt_assert_ok(kt_image_alloc(&c->img, width, height, DRM_FORMAT_XRGB8888));
	for (uint32_t y = 0; y < height; y++)
		memcpy(kt_pixel(&c->img, 0, y), (const char *)pixels + (size_t)y * stride,
		       (size_t)width * 4);
	c->done = true;
}

/* What the output shows with its next commit. */
static void capture_frame(struct daemon *daemon, struct kms_output *output, struct kt_image *img,
			  uint64_t deadline)
{
	struct capture capture = {0};
	kt_assert_ok(kms_output_capture(output, handle_capture, &capture));
	while (!capture.done)
		e2e_dispatch(daemon, deadline, "the writeback capture");
	*img = capture.img;
}

/* The picture the sim shows: its still frame, the cursor over it when asked. */
static void expected_frame(struct kt_image *want, uint32_t width, uint32_t height, bool cursor)
{
	kt_assert_ok(kt_image_alloc(want, width, height, DRM_FORMAT_XRGB8888));
	struct draw_target t;
	draw_target_init(&t, want->data, width, height, want->stride);
	draw_still(&t, SEED);
	if (!cursor)
		return;
	struct kt_image img;
	kt_assert_ok(kt_image_alloc(&img, DRAW_CURSOR_SIZE, DRAW_CURSOR_SIZE, DRM_FORMAT_ARGB8888));
	draw_target_init(&t, img.data, img.width, img.height, img.stride);
	draw_cursor(&t);
	int32_t cx, cy;
	draw_cursor_position(SEED, width, height, &cx, &cy);
	for (uint32_t y = 0; y < img.height; y++) {
		for (uint32_t x = 0; x < img.width; x++) {
			uint32_t v = *kt_pixel(&img, x, y);
			kt_assert(v >> 24 == 0xff || v == 0); /* blending is exact */
			if (v >> 24 == 0xff)
				*kt_pixel(want, (uint32_t)cx + x, (uint32_t)cy + y) = v;
		}
	}
	kt_image_free(&img);
}

/* The layer (of the sim's vGPU) showing a buffer of fourcc, or fail. */
static struct kms_layer *find_layer(struct kms_output *output, uint32_t fourcc)
{
	struct kms_layer *layer, *found = NULL;
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->buffer == NULL)
			continue;
		struct kms_layer_state state;
		kms_layer_get_state(layer, &state);
		if (state.fourcc == fourcc) {
			kt_assertf(found == NULL, "two layers show %.4s buffers", (char *)&fourcc);
			found = layer;
		}
	}
	kt_assertf(found != NULL, "no layer shows a %.4s buffer", (char *)&fourcc);
	return found;
}

static void run_sim(struct daemon *daemon, struct kms_output *output, const char *sim_path,
		    bool cursor, const struct kt_pipe *pipe)
{
	struct e2e_present_log log;
	e2e_present_log_init(&log, output);
	char seed[16];
	snprintf(seed, sizeof(seed), "%u", SEED);
	char *argv[] = {(char *)sim_path,
			"--socket",
			SOCKET,
			"--vgpu",
			"sim",
			"--still",
			seed,
			"--trace",
			cursor ? "--cursor" : NULL,
			NULL};
	struct e2e_child child;
	e2e_child_spawn(&child, daemon->loop, argv);
	uint64_t deadline = kt_now_ns() + (uint64_t)E2E_TIMEOUT_MS * 1000000u;

	while (child.n_presented < FRAMES_BEFORE && !child.exited)
		e2e_dispatch(daemon, deadline, "the sim's first frames");
	kt_assertf(!child.exited, "the sim exited early:\n%s", child.text);

	/* Pixels: the writeback connector reads back what the CRTC produced. */
	uint32_t width, height;
	kms_output_get_size(output, &width, &height);
	/* Captured while the sim keeps flipping at every vblank. */
	struct kt_image got;
	capture_frame(daemon, output, &got, deadline);
	struct kt_image want;
	expected_frame(&want, width, height, cursor);
	kt_assertf(kt_compare(&got, &want, 0x00ffffff, cursor ? "e2e-still-cursor" : "e2e-still") ==
			   0,
		   "the screen is not the sim's picture");
	kt_image_free(&want);
	kt_image_free(&got);

	/* Placement: each buffer directly on its plane, the cursor where asked. */
	struct kms_layer_state state;
	struct kms_layer *primary = find_layer(output, DRM_FORMAT_XRGB8888);
	kms_layer_get_state(primary, &state);
	kt_assertf(state.direct && state.plane_id == pipe->primary_id,
		   "primary: direct %d on plane %u (primary plane %u), miss %#x", state.direct,
		   state.plane_id, pipe->primary_id, state.miss);
	if (cursor) {
		struct kms_layer *layer = find_layer(output, DRM_FORMAT_ARGB8888);
		kms_layer_get_state(layer, &state);
		kt_assertf(state.direct && state.plane_id == pipe->cursor_id,
			   "cursor: direct %d on plane %u (cursor plane %u), miss %#x",
			   state.direct, state.plane_id, pipe->cursor_id, state.miss);
		int32_t x, y;
		draw_cursor_position(SEED, width, height, &x, &y);
		kt_assertf(layer->dst.x == x && layer->dst.y == y &&
				   layer->dst.width == DRAW_CURSOR_SIZE &&
				   layer->dst.height == DRAW_CURSOR_SIZE,
			   "cursor at %d,%d %ux%u, want %d,%d %ux%u", layer->dst.x, layer->dst.y,
			   layer->dst.width, layer->dst.height, x, y, DRAW_CURSOR_SIZE,
			   DRAW_CURSOR_SIZE);
	} else {
		struct kms_layer *layer;
		wl_list_for_each (layer, &output->layers, link)
			kt_assertf(layer == primary || layer->buffer == NULL,
				   "a layer besides the primary shows a buffer");
	}

	while (child.n_presented < FRAMES_TOTAL && !child.exited)
		e2e_dispatch(daemon, deadline, "more of the sim's frames");
	e2e_child_kill(&child, SIGTERM);
	while (!child.exited || !child.eof)
		e2e_dispatch(daemon, deadline, "the sim's exit");
	printf("%s", e2e_child_stat(&child, "vgpu sim on output"));
	kt_assertf(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0,
		   "the sim failed (status %#x):\n%s", child.status, child.text);

	/* Timestamps: the kernel's flip events, matched by vblank sequence. */
	uint64_t last_time = 0, last_seq = 0;
	for (size_t i = 0; i < child.n_presented; i++) {
		const struct e2e_presented *p = &child.presented[i];
		kt_assertf(p->zero_copy && p->vsync, "serial %u not presented zero-copy with vsync",
			   p->serial);
		const struct e2e_present *k = e2e_present_log_find(&log, p->sequence);
		kt_assertf(k != NULL, "serial %u: no flip of the output at sequence %llu",
			   p->serial, (unsigned long long)p->sequence);
		kt_assertf(k->time_ns == p->time_ns,
			   "serial %u: presented at %llu ns, the kernel flipped at %llu ns",
			   p->serial, (unsigned long long)p->time_ns,
			   (unsigned long long)k->time_ns);
		kt_assertf(i == 0 || (p->time_ns > last_time && p->sequence > last_seq),
			   "serial %u: time %llu and sequence %llu do not increase", p->serial,
			   (unsigned long long)p->time_ns, (unsigned long long)p->sequence);
		last_time = p->time_ns;
		last_seq = p->sequence;
	}
	const char *share = e2e_child_stat(&child, "zero-copy:");
	kt_assertf(strstr(share, "(100.0 %)") != NULL, "the sim reports %.40s", share);
	printf("%s: %zu presented, %zu discarded; sim reports: %.*s\n",
	       cursor ? "with cursor" : "without cursor", child.n_presented, child.n_discarded,
	       (int)strcspn(share, "\n"), share);

	e2e_child_finish(&child);
	e2e_present_log_finish(&log);
}

static void run_unknown_vgpu(struct daemon *daemon, const char *sim_path)
{
	char *argv[] = {(char *)sim_path, "--socket", SOCKET, "--vgpu", "no-such-vgpu", NULL};
	struct e2e_child child;
	e2e_child_spawn(&child, daemon->loop, argv);
	uint64_t deadline = kt_now_ns() + (uint64_t)E2E_TIMEOUT_MS * 1000000u;
	while (!child.exited || !child.eof)
		e2e_dispatch(daemon, deadline, "the sim's exit");
	kt_assertf(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 1,
		   "the sim exited with status %#x:\n%s", child.status, child.text);
	kt_assertf(strstr(child.text, "protocol error 0 on vscanout_manager_v1@") != NULL &&
			   strstr(child.text, "no-such-vgpu") != NULL,
		   "the sim printed:\n%s", child.text);
	printf("unknown vGPU:\n%s", child.text);
	e2e_child_finish(&child);
}

static void run_minimal_client(struct daemon *daemon, const char *path)
{
	char *argv[] = {(char *)path, SOCKET, "sim", NULL};
	struct e2e_child child;
	e2e_child_spawn(&child, daemon->loop, argv);
	uint64_t deadline = kt_now_ns() + (uint64_t)E2E_TIMEOUT_MS * 1000000u;
	while (!child.exited || !child.eof)
		e2e_dispatch(daemon, deadline, "the minimal client");
	kt_assertf(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0,
		   "the minimal client failed (status %#x):\n%s", child.status, child.text);
	kt_assertf(strstr(child.text, "frame 1 on screen at ") != NULL &&
			   strstr(child.text, ", zero-copy\n") != NULL,
		   "the minimal client printed:\n%s", child.text);
	printf("minimal client: %s", child.text);
	e2e_child_finish(&child);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s PATH-TO-vscanout-sim-vmm PATH-TO-minimal-client\n",
			argv[0]);
		return 2;
	}
	setenv("LIBSEAT_BACKEND", "noop", 1);
	log_init(LOG_LEVEL_INFO);

	struct daemon *daemon = e2e_daemon_create(config_text);
	struct kms_output *output = display_find_output(daemon->display_manager, "Virtual-1");
	kt_assert(output != NULL);

	/* Opened after the daemon's, so that the daemon is DRM master. */
	struct kt_device vkms;
	struct kt_pipe pipe;
	kt_device_open_or_skip(&vkms, "vkms");
	kt_assert_ok(kt_pipe_find(&vkms, &pipe));
	kt_assertf(pipe.cursor_id != 0, "vkms has no cursor plane (enable_cursor=1)");

	/*
	 * The placeholder before any client. This first capture also binds the
	 * writeback connector with a modeset: asked for while a client flipped
	 * at every vblank, such a capture did not complete within 30 s on vkms
	 * in two runs of four; later captures need no modeset.
	 */
	uint32_t width, height;
	kms_output_get_size(output, &width, &height);
	struct kt_image got, want;
	capture_frame(daemon, output, &got, kt_now_ns() + (uint64_t)E2E_TIMEOUT_MS * 1000000u);
	kt_assert_ok(kt_image_alloc(&want, width, height, DRM_FORMAT_XRGB8888));
	kt_fill_rect(&want, 0, 0, width, height, CONFIG_PLACEHOLDER_DEFAULT);
	kt_assertf(kt_compare(&got, &want, 0x00ffffff, "e2e-placeholder") == 0,
		   "the placeholder is not shown before the sim");
	kt_image_free(&got);
	kt_image_free(&want);

	run_sim(daemon, output, argv[1], false, &pipe);
	run_sim(daemon, output, argv[1], true, &pipe);
	run_minimal_client(daemon, argv[2]);
	run_unknown_vgpu(daemon, argv[1]);

	daemon_destroy(daemon);
	kt_pipe_finish(&vkms, &pipe);
	kt_device_close(&vkms);
	return 0;
}
