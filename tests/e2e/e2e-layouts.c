// SPDX-License-Identifier: MIT
/*
 * Several vGPUs on one output, moved between regions without a modeset, on
 * a two-head virtio-gpu. The daemon's code runs in this process with a
 * configuration file; five forked VMMs attach to vGPUs a, b, c, d (for
 * Virtual-1, 1024x768) and e (alone on Virtual-2), each showing a square
 * picture of its own size at 0,0 of its region, and report every burst of
 * output events they get (the sizes of their regions).
 *
 *  1. columns, vgpu = a, b: a has the left half, b the right one;
 *  2. reload: rows, vgpu = b, a (reordered): b on top, a below;
 *  3. reload: grid, vgpu = c, a, d, b: a quarter each, row by row;
 *  4. vscanoutctl assign b Virtual-1 1: b and c swap places and regions;
 *  5. reload: vgpu = a, b, c, three columns (d leaves the output);
 *  6. vscanoutctl assign d Virtual-1 4: d added on top, four columns;
 *  7. vscanoutctl assign c Virtual-1 1: c and a swap;
 *  8. bad assigns fail with their reason and change nothing.
 *
 * After each step the status document gives every vGPU's view of
 * Virtual-1 (vgpus[].views[]: slot and region) as expected, its primary
 * layer placed at its region's corner, and the clients' output events the
 * region sizes; Virtual-1's modesets counter never moves, and Virtual-2,
 * untouched by all of it, commits nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wayland-client.h>

#include "client.h"
#include "conf-daemon.h"
#include "config/config.h"
#include "control/json.h"
#include "control/status.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "kmstest.h"

#define SOCKET_PATH "/tmp/vscanout-layouts-test/vscanout-0"
#define CONF_PATH   "/tmp/vscanout-layouts-test.conf"
#define N_VMMS      5

static const char *const names[N_VMMS] = {"a", "b", "c", "d", "e"};

/* Each VMM's picture: a square this many pixels wide, at 0,0 of its region. */
static uint32_t picture_size(int i)
{
	return 128 + 8 * (uint32_t)i;
}

static struct daemon *dmn;
static const char *ctl_path;

/* ---------------------------------------------------------------------- */
/* The VMMs: report the output events of each burst as one line            */
/* ---------------------------------------------------------------------- */

static int report_w[N_VMMS], report_r[N_VMMS];
static char burst[256];
static size_t burst_len;
static int vmm_report_fd;

static void vgpu_output(void *data, struct vscanout_vgpu_v1 *vgpu, const char *name, uint32_t width,
			uint32_t height, uint32_t refresh_mhz, uint32_t mm_width,
			uint32_t mm_height)
{
	int n = snprintf(burst + burst_len, sizeof(burst) - burst_len, "%s%s %ux%u",
			 burst_len > 0 ? " " : "", name, width, height);
	if (n > 0 && burst_len + (size_t)n < sizeof(burst))
		burst_len += (size_t)n;
}

static void vgpu_done(void *data, struct vscanout_vgpu_v1 *vgpu)
{
	burst[burst_len++] = '\n';
	if (write(vmm_report_fd, burst, burst_len) != (ssize_t)burst_len)
		client_fail("cannot report");
	burst_len = 0;
}

static void vgpu_presented(void *data, struct vscanout_vgpu_v1 *vgpu, uint32_t serial,
			   uint32_t tv_sec_hi, uint32_t tv_sec_lo, uint32_t tv_nsec,
			   uint32_t refresh_ns, uint32_t sequence_hi, uint32_t sequence_lo,
			   uint32_t flags)
{
}

static void vgpu_discarded(void *data, struct vscanout_vgpu_v1 *vgpu, uint32_t serial)
{
}

static void vgpu_vblank_source(void *data, struct vscanout_vgpu_v1 *vgpu, int32_t ticks,
			       int32_t memfd, uint32_t flags)
{
	close(ticks);
	close(memfd);
}

static void vgpu_vfio_status(void *data, struct vscanout_vgpu_v1 *vgpu, uint32_t status,
			     const char *message)
{
}

static const struct vscanout_vgpu_v1_listener vgpu_listener = {
	.output = vgpu_output,
	.done = vgpu_done,
	.presented = vgpu_presented,
	.discarded = vgpu_discarded,
	.vblank_source = vgpu_vblank_source,
	.vfio_status = vgpu_vfio_status,
};

static void vmm(int i)
{
	for (int j = 0; j < N_VMMS; j++) {
		close(report_r[j]);
		if (j != i)
			close(report_w[j]);
	}
	vmm_report_fd = report_w[i];
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = vscanout_manager_v1_attach(c.manager, names[i]);
	vscanout_vgpu_v1_add_listener(vgpu, &vgpu_listener, NULL);
	struct client_image ci;
	client_image_create(&ci, picture_size(i), picture_size(i), 60 + (uint32_t)i);
	vscanout_vgpu_v1_set_primary(vgpu, client_buffer(vgpu, &ci), 0, 0);
	vscanout_vgpu_v1_commit(vgpu, 1);
	for (;;)
		if (wl_display_dispatch(c.display) < 0)
			_exit(0);
}

/* ---------------------------------------------------------------------- */
/* The daemon side                                                        */
/* ---------------------------------------------------------------------- */

/* The last complete burst each VMM reported, without its newline. */
static char last_burst[N_VMMS][256];
static char partial[N_VMMS][256];
static size_t partial_len[N_VMMS];

static void read_reports(void)
{
	for (int i = 0; i < N_VMMS; i++) {
		char buf[512];
		ssize_t n;
		while ((n = read(report_r[i], buf, sizeof(buf))) > 0) {
			for (ssize_t k = 0; k < n; k++) {
				if (buf[k] == '\n') {
					partial[i][partial_len[i]] = '\0';
					memcpy(last_burst[i], partial[i], partial_len[i] + 1);
					partial_len[i] = 0;
				} else if (partial_len[i] + 1 < sizeof(partial[i])) {
					partial[i][partial_len[i]++] = buf[k];
				}
			}
		}
	}
}

/* Serve the daemon until VMM i's last burst of output events is want. */
static void wait_burst(int i, const char *want, const char *step)
{
	uint64_t end = kt_now_ns() + (uint64_t)CONF_DAEMON_TIMEOUT_MS * 1000000u;
	for (;;) {
		read_reports();
		if (strcmp(last_burst[i], want) == 0)
			return;
		kt_assertf(kt_now_ns() < end, "%s: vGPU %s's output events say \"%s\", not \"%s\"",
			   step, names[i], last_burst[i], want);
		conf_daemon_dispatch(dmn, 50);
	}
}

static struct json_value *status(void)
{
	size_t size;
	char *doc = control_status_json(dmn->control, &size);
	kt_assert(doc != NULL);
	char err[128];
	struct json_value *root = json_parse(doc, size, err, sizeof(err));
	kt_assertf(root != NULL, "the status is not JSON: %s", err);
	free(doc);
	return root;
}

static const struct json_value *find_named(const struct json_value *array, const char *name)
{
	for (size_t i = 0; array != NULL && i < array->n; i++) {
		const char *n = json_get_string(json_at(array, i), "name");
		if (n != NULL && strcmp(n, name) == 0)
			return json_at(array, i);
	}
	return NULL;
}

static double counter(const struct json_value *root, const char *output, const char *key)
{
	const struct json_value *o = find_named(json_get(root, "outputs"), output);
	kt_assertf(o != NULL, "no output %s in the status", output);
	return json_get_number(json_get(o, "counters"), key, -1);
}

/* The expected place of a vGPU on Virtual-1: slot -1 when not shown there. */
struct place {
	int slot;
	int32_t x, y;
	uint32_t width, height;
};

#define NOWHERE                \
	{                      \
		-1, 0, 0, 0, 0 \
	}

static bool rect_is(const struct json_value *r, int32_t x, int32_t y, uint32_t w, uint32_t h)
{
	return r != NULL && json_get_number(r, "x", -1) == x && json_get_number(r, "y", -1) == y &&
	       json_get_number(r, "width", -1) == w && json_get_number(r, "height", -1) == h;
}

/*
 * Whether the status shows the vGPUs a..d at want (by name) on Virtual-1,
 * each primary layer at its region's corner; what differs goes into why.
 */
static bool status_matches(const struct place want[4], char *why, size_t why_size)
{
	struct json_value *root = status();
	bool ok = true;
	why[0] = '\0';
	for (int i = 0; i < 4 && ok; i++) {
		const struct json_value *vgpu = find_named(json_get(root, "vgpus"), names[i]);
		const struct json_value *views = json_get(vgpu, "views");
		const struct json_value *view = NULL;
		for (size_t k = 0; views != NULL && k < views->n; k++) {
			const char *o = json_get_string(json_at(views, k), "output");
			if (o != NULL && strcmp(o, "Virtual-1") == 0)
				view = json_at(views, k);
		}
		const struct place *p = &want[i];
		if (p->slot < 0) {
			ok = view == NULL;
			if (!ok)
				snprintf(why, why_size, "%s still has a view of Virtual-1",
					 names[i]);
			continue;
		}
		if (view == NULL) {
			snprintf(why, why_size, "%s has no view of Virtual-1", names[i]);
			ok = false;
			continue;
		}
		const struct json_value *region = json_get(view, "region");
		const struct json_value *primary = json_get(view, "primary");
		uint32_t s = picture_size(i);
		if (json_get_number(view, "slot", -1) != p->slot ||
		    !rect_is(region, p->x, p->y, p->width, p->height)) {
			snprintf(why, why_size,
				 "%s: slot %.0f, region %.0f,%.0f %.0fx%.0f; want slot %d, region "
				 "%d,%d %ux%u",
				 names[i], json_get_number(view, "slot", -1),
				 json_get_number(region, "x", -1), json_get_number(region, "y", -1),
				 json_get_number(region, "width", -1),
				 json_get_number(region, "height", -1), p->slot, p->x, p->y,
				 p->width, p->height);
			ok = false;
		} else if (!json_get_bool(primary, "visible", false) ||
			   !rect_is(json_get(primary, "dst"), p->x, p->y, s, s)) {
			snprintf(why, why_size, "%s: its picture is not at %d,%d", names[i], p->x,
				 p->y);
			ok = false;
		}
	}
	json_value_free(root);
	return ok;
}

static double v1_modesets, v2_commits;

/* The status shows want; Virtual-1 was not lit again, Virtual-2 not touched. */
static void check_step(const struct place want[4], const char *step)
{
	char why[256];
	uint64_t end = kt_now_ns() + (uint64_t)CONF_DAEMON_TIMEOUT_MS * 1000000u;
	while (!status_matches(want, why, sizeof(why))) {
		kt_assertf(kt_now_ns() < end, "%s: %s", step, why);
		conf_daemon_dispatch(dmn, 50);
	}
	/* Let whatever the step sets off reach the screens. */
	for (int i = 0; i < 6; i++)
		conf_daemon_dispatch(dmn, 20);
	struct json_value *root = status();
	double modesets = counter(root, "Virtual-1", "modesets");
	double commits = counter(root, "Virtual-2", "commits");
	json_value_free(root);
	printf("%s: ok; Virtual-1 modesets %.0f, Virtual-2 commits %.0f\n", step, modesets,
	       commits);
	kt_assertf(modesets == v1_modesets, "%s: Virtual-1 was lit again (%.0f modesets, was %.0f)",
		   step, modesets, v1_modesets);
	kt_assertf(commits == v2_commits, "%s: Virtual-2 committed (%.0f commits, was %.0f)", step,
		   commits, v2_commits);
}

static void reload(const char *v1_keys)
{
	conf_daemon_write(CONF_PATH,
			  "[daemon]\n"
			  "socket = " SOCKET_PATH "\n"
			  "[output Virtual-1]\n"
			  "mode = 1024x768\n"
			  "%s"
			  "[output Virtual-2]\n"
			  "vgpu = e\n"
			  "mode = 1024x768\n"
			  "[vgpu a]\n[vgpu b]\n[vgpu c]\n[vgpu d]\n[vgpu e]\n",
			  v1_keys);
	if (dmn != NULL) {
		conf_daemon_reload(dmn);
		kt_assertf(!dmn->reload_failed, "reload refused: %s", dmn->reload_message);
	}
}

static int ctl(const char *a1, const char *a2, const char *a3, const char *a4)
{
	fflush(stdout);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		execl(ctl_path, "vscanoutctl", "--socket", SOCKET_PATH, a1, a2, a3, a4,
		      (char *)NULL);
		_exit(127);
	}
	uint64_t end = kt_now_ns() + (uint64_t)CONF_DAEMON_TIMEOUT_MS * 1000000u;
	for (;;) {
		int wstatus;
		pid_t r = waitpid(pid, &wstatus, WNOHANG);
		kt_assert_errno(r >= 0);
		if (r == pid)
			return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
		kt_assertf(kt_now_ns() < end, "vscanoutctl %s did not end", a1);
		conf_daemon_dispatch(dmn, 10);
	}
}

/* daemon_assign must fail with a message holding text, changing nothing. */
static void assign_fails(const char *vgpu, const char *output, size_t slot, const char *text)
{
	const struct config_output *co = config_find_output(&dmn->config, "Virtual-1");
	char before[128] = "", after[128] = "";
	for (size_t i = 0; i < config_output_n_vgpus(co); i++)
		snprintf(before + strlen(before), sizeof(before) - strlen(before), "%s ",
			 config_output_vgpu(co, i));
	char msg[256];
	int ret = daemon_assign(dmn, vgpu, output, slot, msg, sizeof(msg));
	printf("assign %s %s %zu: %s\n", vgpu, output, slot + 1, msg);
	kt_assertf(ret < 0 && strstr(msg, text) != NULL,
		   "assign %s %s slot %zu: %d \"%s\", want a failure naming \"%s\"", vgpu, output,
		   slot + 1, ret, msg, text);
	for (size_t i = 0; i < config_output_n_vgpus(co); i++)
		snprintf(after + strlen(after), sizeof(after) - strlen(after), "%s ",
			 config_output_vgpu(co, i));
	kt_assertf(strcmp(before, after) == 0, "a failed assign changed Virtual-1: %s-> %s", before,
		   after);
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 2, "usage: %s VSCANOUTCTL", argv[0]);
	ctl_path = argv[1];
	log_init(getenv("VSCANOUT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	struct kt_device dev;
	kt_device_open_or_skip(&dev, "virtio_gpu");
	kt_connector_force(&dev, "Virtual-2", "on");
	kt_device_close(&dev);

	/* 1. Two columns. */
	reload("vgpu = a, b\n");
	dmn = conf_daemon_start(CONF_PATH);
	struct kms_output *v1 = display_find_output(dmn->display_manager, "Virtual-1");
	struct kms_output *v2 = display_find_output(dmn->display_manager, "Virtual-2");
	kt_assert(v1 != NULL && v2 != NULL);
	struct child vmms[N_VMMS];
	for (int i = 0; i < N_VMMS; i++) {
		int fds[2];
		kt_assert_errno(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
		report_r[i] = fds[0];
		report_w[i] = fds[1];
	}
	for (int i = 0; i < N_VMMS; i++)
		child_start(&vmms[i], dmn->loop, vmm, i);
	for (int i = 0; i < N_VMMS; i++)
		close(report_w[i]);
	wait_burst(0, "Virtual-1 512x768", "1. columns");
	wait_burst(1, "Virtual-1 512x768", "1. columns");
	wait_burst(2, "", "1. columns");
	wait_burst(3, "", "1. columns");
	wait_burst(4, "Virtual-2 1024x768", "1. columns");
	/* Both heads show their first frames before the counters are taken. */
	uint64_t end = kt_now_ns() + (uint64_t)CONF_DAEMON_TIMEOUT_MS * 1000000u;
	while (conf_daemon_shown(v2) == NULL || v1->flip_pending || v2->flip_pending) {
		kt_assertf(kt_now_ns() < end, "e's picture never reached Virtual-2");
		conf_daemon_dispatch(dmn, 50);
	}
	struct json_value *root = status();
	v1_modesets = counter(root, "Virtual-1", "modesets");
	v2_commits = counter(root, "Virtual-2", "commits");
	json_value_free(root);
	kt_assertf(v1_modesets >= 1 && v2_commits >= 1, "the heads are not lit");
	check_step((struct place[4]){{0, 0, 0, 512, 768}, {1, 512, 0, 512, 768}, NOWHERE, NOWHERE},
		   "1. columns a, b");

	/* 2. Rows, the order turned round. */
	reload("vgpu = b, a\nlayout = rows\n");
	check_step(
		(struct place[4]){{1, 0, 384, 1024, 384}, {0, 0, 0, 1024, 384}, NOWHERE, NOWHERE},
		"2. rows b, a");
	wait_burst(0, "Virtual-1 1024x384", "2. rows b, a");
	wait_burst(1, "Virtual-1 1024x384", "2. rows b, a");

	/* 3. A grid of four. */
	reload("vgpu = c, a, d, b\nlayout = grid\n");
	check_step((struct place[4]){{1, 512, 0, 512, 384},
				     {3, 512, 384, 512, 384},
				     {0, 0, 0, 512, 384},
				     {2, 0, 384, 512, 384}},
		   "3. grid c, a, d, b");
	for (int i = 0; i < 4; i++)
		wait_burst(i, "Virtual-1 512x384", "3. grid c, a, d, b");

	/* 4. b into the first place: it swaps with c. */
	kt_assert(ctl("assign", "b", "Virtual-1", "1") == 0);
	check_step((struct place[4]){{1, 512, 0, 512, 384},
				     {0, 0, 0, 512, 384},
				     {3, 512, 384, 512, 384},
				     {2, 0, 384, 512, 384}},
		   "4. assign b Virtual-1 1");

	/* 5. Three columns; d leaves the output. */
	reload("vgpu = a, b, c\n");
	check_step(
		(struct place[4]){
			{0, 0, 0, 341, 768}, {1, 341, 0, 341, 768}, {2, 682, 0, 342, 768}, NOWHERE},
		"5. columns a, b, c");
	wait_burst(2, "Virtual-1 342x768", "5. columns a, b, c");
	wait_burst(3, "", "5. columns a, b, c");

	/* 6. d added on top: four columns. */
	kt_assert(ctl("assign", "d", "Virtual-1", "4") == 0);
	check_step((struct place[4]){{0, 0, 0, 256, 768},
				     {1, 256, 0, 256, 768},
				     {2, 512, 0, 256, 768},
				     {3, 768, 0, 256, 768}},
		   "6. assign d Virtual-1 4");
	for (int i = 0; i < 4; i++)
		wait_burst(i, "Virtual-1 256x768", "6. assign d Virtual-1 4");

	/* 7. c into the first place, a to c's. */
	kt_assert(ctl("assign", "c", "Virtual-1", "1") == 0);
	check_step((struct place[4]){{2, 512, 0, 256, 768},
				     {1, 256, 0, 256, 768},
				     {0, 0, 0, 256, 768},
				     {3, 768, 0, 256, 768}},
		   "7. assign c Virtual-1 1");

	/* 8. Bad assigns: the reason, and nothing changes. */
	kt_assert(ctl("assign", "a", "Virtual-1", "5") == 1);
	kt_assert(ctl("assign", "a", "Virtual-1", "0") == 2); /* no SLOT 0: a bad command line */
	kt_assert(ctl("assign", "nobody", "Virtual-1", "1") == 1);
	kt_assert(ctl("assign", "a", "Nowhere-1", "1") == 1);
	assign_fails("a", "Virtual-1", 4, "slot 5");
	assign_fails("a", "Virtual-1", 7, "slot 8");
	assign_fails("nobody", "Virtual-1", 0, "nobody");
	assign_fails("a", "Nowhere-1", 0, "Nowhere-1");
	check_step((struct place[4]){{2, 512, 0, 256, 768},
				     {1, 256, 0, 256, 768},
				     {0, 0, 0, 256, 768},
				     {3, 768, 0, 256, 768}},
		   "8. bad assigns");

	for (int i = 0; i < N_VMMS; i++)
		kill(vmms[i].pid, SIGKILL);
	for (int i = 0; i < N_VMMS; i++)
		while (!vmms[i].exited)
			conf_daemon_dispatch(dmn, 50);
	daemon_destroy(dmn);
	unlink(CONF_PATH);
	printf("e2e-layouts: ok\n");
	return 0;
}
