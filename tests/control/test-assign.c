// SPDX-License-Identifier: MIT
/*
 * assign and assign_slot without any display, on the host: the daemon's
 * server, control global and daemon_assign() run in this process on a
 * configuration of outputs that are not there; raw clients and
 * vscanoutctl in children.
 *
 *  - a client of version 1 sends assign: the vGPU goes into the first
 *    slot (swapping with the one there when the output shows it already);
 *  - a client of version 2 sends assign_slot: slot 3 of an output showing
 *    two adds a vGPU on top; slot 0, a slot past the end, and adding a
 *    vGPU the output shows already are answered failed with their
 *    reason, and change nothing;
 *  - vscanoutctl assign VGPU OUTPUT SLOT swaps two vGPUs; a SLOT that is
 *    no number or 0, or one argument too many, exits 2 without asking;
 *    an unknown vGPU or output, a slot of an output of layout = regions
 *    that has no region, and a fifth vGPU exit 1 with the reason.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-client.h>
#include <wayland-server-core.h>

#include "../protocol/client.h"
#include "config/config.h"
#include "control/control.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "helpers.h"
#include "kmstest.h"
#include "protocol/server.h"
#include "util/log.h"
#include "vgpu/vgpu.h"

#define SOCKET_DIR  "/tmp/vscanout-control-assign"
#define SOCKET_PATH SOCKET_DIR "/vscanout-0"

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "[output Virtual-9]\n"
				  "vgpu = a, b\n"
				  "[output Regions-1]\n"
				  "vgpu = a\n"
				  "region a = 0,0 100x100\n"
				  "[output Full-1]\n"
				  "vgpu = a, b, c, d\n"
				  "layout = grid\n"
				  "[vgpu e]\n";

static struct daemon dmn;
static const char *ctl_path;

/* What the control interface asked of the daemon last. */
static int n_assigns;
static char last_vgpu[32], last_output[32];
static size_t last_slot;

static int action_assign(void *data, const char *vgpu, const char *output, size_t slot, char *msg,
			 size_t msg_size)
{
	n_assigns++;
	snprintf(last_vgpu, sizeof(last_vgpu), "%s", vgpu);
	snprintf(last_output, sizeof(last_output), "%s", output);
	last_slot = slot;
	return daemon_assign(data, vgpu, output, slot, msg, msg_size);
}

/* The output's vgpu= list as it is now, "a, b". */
static const char *shown(const char *output)
{
	static char buf[128];
	const struct config_output *co = config_find_output(&dmn.config, output);
	kt_assert(co != NULL);
	buf[0] = '\0';
	for (size_t i = 0; i < config_output_n_vgpus(co); i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i > 0 ? ", " : "",
			 config_output_vgpu(co, i));
	return buf;
}

static void serve_until(const bool *flag, const char *what)
{
	uint64_t deadline = kt_now_ns() + 20000000000ull;
	while (!*flag) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for %s", what);
		wl_display_flush_clients(dmn.display);
		kt_assert(wl_event_loop_dispatch(dmn.loop, 100) >= 0 || errno == EINTR);
	}
}

static void child_wait_ok(struct child *child, const char *what)
{
	serve_until(&child->exited, what);
	kt_assertf(WIFEXITED(child->status) && WEXITSTATUS(child->status) == 0, "%s: status 0x%x",
		   what, child->status);
}

/* ---- version 1: assign ------------------------------------------------ */

static void run_v1(int arg)
{
	child_die_with_parent();
	struct control_client c;
	control_client_connect(&c, SOCKET_PATH);
	if (vscanout_control_v1_get_version(c.control) != 1)
		client_fail("bound version %u", vscanout_control_v1_get_version(c.control));
	vscanout_control_v1_assign(c.control, 1, "b", "Virtual-9");
	const struct control_answer *a = control_client_wait(&c, 1);
	if (a->answered != 1)
		client_fail("assign b Virtual-9: %s", a->message);
	_exit(0);
}

/* ---- version 2: assign_slot ------------------------------------------- */

struct v2_answer {
	int answered; /* 0: not yet, 1: done, -1: failed */
	char message[256];
};

static struct v2_answer v2_answers[8];

static void v2_done(void *data, struct vscanout_control_v1 *control, uint32_t serial,
		    uint32_t value)
{
	if (serial < 8)
		v2_answers[serial].answered = 1;
}

static void v2_failed(void *data, struct vscanout_control_v1 *control, uint32_t serial,
		      const char *message)
{
	if (serial >= 8)
		return;
	v2_answers[serial].answered = -1;
	snprintf(v2_answers[serial].message, sizeof(v2_answers[serial].message), "%s", message);
}

static const struct vscanout_control_v1_listener v2_listener = {
	.done = v2_done,
	.failed = v2_failed,
};

static void v2_global(void *data, struct wl_registry *registry, uint32_t name,
		      const char *interface, uint32_t version)
{
	struct vscanout_control_v1 **control = data;
	if (strcmp(interface, vscanout_control_v1_interface.name) != 0)
		return;
	if (version < 2)
		client_fail("the daemon offers vscanout_control_v1 version %u", version);
	*control = wl_registry_bind(registry, name, &vscanout_control_v1_interface, 2);
}

static void v2_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
}

static const struct wl_registry_listener v2_registry_listener = {
	.global = v2_global,
	.global_remove = v2_global_remove,
};

static void expect_answer(struct wl_display *display, uint32_t serial, int want, const char *text)
{
	while (v2_answers[serial].answered == 0)
		if (wl_display_dispatch(display) < 0)
			client_fail("connection error on serial %u", serial);
	if (v2_answers[serial].answered != want ||
	    (text != NULL && strstr(v2_answers[serial].message, text) == NULL))
		client_fail("serial %u: %s \"%s\", want %s naming \"%s\"", serial,
			    v2_answers[serial].answered > 0 ? "done" : "failed",
			    v2_answers[serial].message, want > 0 ? "done" : "failed",
			    text != NULL ? text : "");
	printf("child %d: serial %u %s %s\n", (int)getpid(), serial, want > 0 ? "done" : "failed",
	       v2_answers[serial].message);
	fflush(stdout);
}

static void run_v2(int arg)
{
	child_die_with_parent();
	struct wl_display *display = wl_display_connect(SOCKET_PATH);
	if (display == NULL)
		client_fail("cannot connect: %s", strerror(errno));
	struct vscanout_control_v1 *control = NULL;
	struct wl_registry *registry = wl_display_get_registry(display);
	wl_registry_add_listener(registry, &v2_registry_listener, &control);
	if (wl_display_roundtrip(display) < 0 || control == NULL)
		client_fail("no vscanout_control_v1 global");
	vscanout_control_v1_add_listener(control, &v2_listener, NULL);
	/* Virtual-9 shows b, a: c goes on top. */
	vscanout_control_v1_assign_slot(control, 1, "c", "Virtual-9", 3);
	expect_answer(display, 1, 1, NULL);
	vscanout_control_v1_assign_slot(control, 2, "a", "Virtual-9", 0);
	expect_answer(display, 2, -1, "slots count from 1");
	vscanout_control_v1_assign_slot(control, 3, "a", "Virtual-9", 9);
	expect_answer(display, 3, -1, "no slot 9: it shows 3 vGPUs (slots 1 to 3, 4 adds one)");
	vscanout_control_v1_assign_slot(control, 4, "a", "Virtual-9", 4);
	expect_answer(display, 4, -1, "shows vGPU a already, in slot 2");
	_exit(0);
}

/* ---- vscanoutctl ------------------------------------------------------- */

static void ctl_expect(int code, const char *text, const char *a1, const char *a2, const char *a3,
		       const char *a4)
{
	struct ctl_result r;
	ctl_run(dmn.display, &r, 0, 0, ctl_path, "--socket", SOCKET_PATH, "assign", a1, a2, a3, a4,
		NULL);
	const char *said = code == 0 ? r.out : r.err;
	kt_assertf(r.exit_code == code && strstr(said, text) != NULL,
		   "vscanoutctl assign %s %s %s %s: exit %d, \"%s\"; want exit %d with \"%s\"", a1,
		   a2, a3 != NULL ? a3 : "", a3 != NULL && a4 != NULL ? a4 : "", r.exit_code, said,
		   code, text);
	ctl_result_finish(&r);
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 2, "usage: %s VSCANOUTCTL", argv[0]);
	ctl_path = argv[1];
	log_init(LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);

	config_init(&dmn.config);
	FILE *f = fmemopen((void *)config_text, strlen(config_text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&dmn.config, f, "assign.conf"));
	fclose(f);
	dmn.display = wl_display_create();
	kt_assert(dmn.display != NULL);
	dmn.loop = wl_display_get_event_loop(dmn.display);
	struct display displays = {0};
	wl_list_init(&displays.devices);
	dmn.vgpus = vgpu_manager_create(&dmn.config, &displays);
	kt_assert(dmn.vgpus != NULL);
	dmn.server = protocol_server_create(dmn.display, &dmn.config, &displays, dmn.vgpus);
	kt_assert(dmn.server != NULL);
	dmn.control = control_create(dmn.display, &dmn.config, &displays, dmn.server, dmn.vgpus);
	kt_assert(dmn.control != NULL);
	control_set_actions(dmn.control, &(struct control_actions){
						 .assign = action_assign,
						 .data = &dmn,
					 });

	/* Version 1: assign is slot 1; b was in slot 2 and swaps with a. */
	struct child child;
	child_start(&child, dmn.loop, run_v1, 0);
	child_wait_ok(&child, "the version 1 client");
	printf("assign (version 1): slot %zu; Virtual-9 shows %s\n", last_slot + 1,
	       shown("Virtual-9"));
	kt_assert(n_assigns == 1 && last_slot == 0 && strcmp(last_vgpu, "b") == 0 &&
		  strcmp(last_output, "Virtual-9") == 0);
	kt_assert(strcmp(shown("Virtual-9"), "b, a") == 0);

	/* Version 2: one added on top, three refusals that change nothing. */
	child_start(&child, dmn.loop, run_v2, 0);
	child_wait_ok(&child, "the version 2 client");
	printf("assign_slot (version 2): Virtual-9 shows %s\n", shown("Virtual-9"));
	kt_assertf(n_assigns == 4 && last_slot == 3, "%d assigns, the last to slot %zu", n_assigns,
		   last_slot + 1);
	kt_assert(strcmp(shown("Virtual-9"), "b, a, c") == 0);

	/* vscanoutctl. */
	ctl_expect(0, "Virtual-9 now shows c in slot 1", "c", "Virtual-9", "1", NULL);
	kt_assert(strcmp(shown("Virtual-9"), "c, a, b") == 0);
	ctl_expect(0, "Virtual-9 now shows a in slot 1", "a", "Virtual-9", NULL, NULL);
	kt_assert(strcmp(shown("Virtual-9"), "a, c, b") == 0);
	int before = n_assigns;
	ctl_expect(2, "SLOT must be a place", "a", "Virtual-9", "two", NULL);
	ctl_expect(2, "SLOT must be a place", "a", "Virtual-9", "0", NULL);
	ctl_expect(2, "expected VGPU OUTPUT [SLOT]", "a", "Virtual-9", "1", "2");
	kt_assertf(n_assigns == before, "a bad command line reached the daemon");
	ctl_expect(1, "no vGPU \"zz\" in the configuration", "zz", "Virtual-9", "1", NULL);
	ctl_expect(1, "no [output Nowhere-1] in the configuration", "a", "Nowhere-1", NULL, NULL);
	ctl_expect(1, "no slot 2: its layout = regions has 1 region (slot 1)", "e", "Regions-1",
		   "2", NULL);
	ctl_expect(1, "no slot 5: it shows 4 vGPUs, the most an output can", "e", "Full-1", "5",
		   NULL);
	kt_assert(strcmp(shown("Virtual-9"), "a, c, b") == 0);
	kt_assert(strcmp(shown("Regions-1"), "a") == 0);
	kt_assert(strcmp(shown("Full-1"), "a, b, c, d") == 0);
	ctl_expect(0, "Full-1 now shows e in slot 4", "e", "Full-1", "4", NULL);
	kt_assert(strcmp(shown("Full-1"), "a, b, c, e") == 0);

	control_destroy(dmn.control);
	protocol_server_destroy(dmn.server);
	vgpu_manager_destroy(dmn.vgpus);
	wl_display_destroy(dmn.display);
	config_finish(&dmn.config);
	printf("control-assign: ok\n");
	return 0;
}
