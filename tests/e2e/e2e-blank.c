// SPDX-License-Identifier: MIT
/*
 * Blanking from the configuration on a two-head virtio-gpu. The daemon's
 * code runs in this process (TZ=UTC) with a configuration file; forked VMMs
 * show vGPU a on Virtual-1 and b on Virtual-2. Whether a head is lit is
 * asked of the kernel: the connector's CRTC_ID and that CRTC's ACTIVE.
 *
 *  1. blank = yes on Virtual-2 at start: its CRTC is off while Virtual-1
 *     shows a; the status says blanked. A reload that changes nothing of
 *     Virtual-2 keeps it off.
 *  2. A reload with blank = no: Virtual-2 is lit again and b's frame is on
 *     screen (the layers were kept).
 *  3. A blank-schedule window holding now: off after the reload, the timer
 *     armed at the window's end (the kernel's timerfd), the status names
 *     the window; vscanoutctl unblank does not light it. A window not
 *     holding now: lit, the timer armed at its start.
 *  4. The clock set to 2 s before that start: the timer is re-armed and
 *     the edge blanks the head; the clock set back: lit again.
 *  5. vscanoutctl blank, then a reload that does not change the head's
 *     blank keys: still off; vscanoutctl unblank lights it.
 *
 * Virtual-1 sees no commit and no modeset through all of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "client.h"
#include "common.h"
#include "conf-daemon.h"
#include "config/config.h"
#include "control/json.h"
#include "control/status.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "daemon/schedule.h"
#include "kms/output.h"
#include "kmstest.h"
#include "protocol/private.h"

#define SOCKET_PATH "/tmp/vscanout-blank-test/vscanout-0"
#define CONF_PATH   "/tmp/vscanout-blank-test.conf"

static struct daemon *dmn;
static const char *ctl_path;

/* The configuration with Virtual-2's blank keys `v2_keys` and `extra` at the end. */
static void write_conf(const char *v2_keys, const char *extra)
{
	conf_daemon_write(CONF_PATH,
			  "[daemon]\nsocket = " SOCKET_PATH "\n"
			  "[output Virtual-1]\nvgpu = a\nmode = 1024x768\n"
			  "[output Virtual-2]\nvgpu = b\nmode = 1024x768\n%s"
			  "[vgpu a]\n[vgpu b]\n%s",
			  v2_keys, extra);
}

/* VMM 0 shows a 512x512 picture on vGPU a, VMM 1 a 256x256 one on b. */
static void vmm(int which)
{
	conf_daemon_vmm_show(SOCKET_PATH, which == 0 ? "a" : "b", which == 0 ? 512 : 256,
			     70 + (uint32_t)which);
}

static void dispatch(void)
{
	conf_daemon_dispatch(dmn, 50);
}

static uint64_t deadline(void)
{
	return kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
}

/* A property of a KMS object by name, from the kernel. */
static bool get_prop(int fd, uint32_t obj, uint32_t type, const char *name, uint64_t *value)
{
	drmModeObjectProperties *props = drmModeObjectGetProperties(fd, obj, type);
	kt_assert(props != NULL);
	bool found = false;
	for (uint32_t i = 0; i < props->count_props && !found; i++) {
		drmModePropertyRes *p = drmModeGetProperty(fd, props->props[i]);
		if (p != NULL && strcmp(p->name, name) == 0) {
			*value = props->prop_values[i];
			found = true;
		}
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return found;
}

/*
 * The kernel's view: whether output's connector drives an active CRTC;
 * *fb gets that CRTC's primary framebuffer (0 when off).
 */
static bool kernel_lit(const struct kms_output *output, uint32_t *fb)
{
	int fd = output->device->fd;
	uint64_t crtc_id = 0, active = 0;
	kt_assert(
		get_prop(fd, output->connector_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", &crtc_id));
	*fb = 0;
	if (crtc_id == 0)
		return false;
	kt_assert(get_prop(fd, (uint32_t)crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", &active));
	drmModeCrtc *crtc = drmModeGetCrtc(fd, (uint32_t)crtc_id);
	kt_assert(crtc != NULL);
	*fb = crtc->buffer_id;
	drmModeFreeCrtc(crtc);
	return active != 0;
}

static uint64_t presents;

static void handle_present(struct wl_listener *listener, void *data)
{
	presents++;
}

/* Wait until the kernel shows output off and the daemon saw the commit through. */
static void wait_off(struct kms_output *output, const char *what)
{
	uint64_t end = deadline();
	uint32_t fb;
	while (kernel_lit(output, &fb) || output->state != KMS_OUTPUT_OFF) {
		kt_assertf(kt_now_ns() < end, "timed out waiting for %s to be off: %s",
			   output->name, what);
		dispatch();
	}
	printf("%s: off in the kernel (%s)\n", output->name, what);
}

/*
 * Wait until the kernel shows output lit with a frame of `width` on screen,
 * presented after `since` (a value of presents before the change).
 */
static void wait_lit(struct kms_output *output, uint32_t width, uint64_t since, const char *what)
{
	uint64_t end = deadline();
	uint32_t fb = 0;
	while (!kernel_lit(output, &fb) || fb == 0 || presents == since ||
	       conf_daemon_shown(output) == NULL || conf_daemon_shown(output)->width != width) {
		kt_assertf(kt_now_ns() < end,
			   "timed out waiting for %s to be lit (%s): kernel %s, fb %u, %llu "
			   "frames since, state %d, buffer %u wide",
			   output->name, what, kernel_lit(output, &fb) ? "lit" : "off", fb,
			   (unsigned long long)(presents - since), (int)output->state,
			   conf_daemon_shown(output) != NULL ? conf_daemon_shown(output)->width
							     : 0);
		dispatch();
	}
	printf("%s: lit in the kernel, fb %u (%s)\n", output->name, fb, what);
}

/* Some dispatches, then the kernel must still show output off. */
static void check_stays_off(struct kms_output *output, const char *what)
{
	for (int i = 0; i < 10; i++)
		dispatch();
	uint32_t fb;
	kt_assertf(!kernel_lit(output, &fb) && output->state == KMS_OUTPUT_OFF, "%s was lit: %s",
		   output->name, what);
	kt_assert(display_output_blank_reasons(dmn->display_manager, output) != 0);
}

static void reload(void)
{
	conf_daemon_reload(dmn);
	kt_assertf(!dmn->reload_failed, "reload refused: %s", dmn->reload_message);
}

/* Run vscanoutctl --socket SOCKET a1 a2, serving the daemon; its exit status. */
static int ctl(const char *a1, const char *a2)
{
	return conf_daemon_ctl(dmn, ctl_path, SOCKET_PATH, a1, a2, NULL);
}

/* Virtual-2's "blanked" and "blank_schedule" in the status document. */
static void check_status(bool blanked, const char *schedule)
{
	size_t size;
	char *text = control_status_json(dmn->control, &size);
	kt_assert(text != NULL);
	char err[128];
	struct json_value *doc = json_parse(text, size, err, sizeof(err));
	kt_assertf(doc != NULL, "status: %s", err);
	const struct json_value *outputs = json_get(doc, "outputs");
	const struct json_value *found = NULL;
	for (size_t i = 0; json_at(outputs, i) != NULL; i++) {
		const char *name = json_get_string(json_at(outputs, i), "name");
		if (name != NULL && strcmp(name, "Virtual-2") == 0)
			found = json_at(outputs, i);
		if (name != NULL && strcmp(name, "Virtual-1") == 0) {
			kt_assert(!json_get_bool(json_at(outputs, i), "blanked", true));
			const struct json_value *v =
				json_get(json_at(outputs, i), "blank_schedule");
			kt_assert(v != NULL && v->type == JSON_NULL);
		}
	}
	kt_assert(found != NULL);
	kt_assertf(json_get_bool(found, "blanked", !blanked) == blanked,
		   "status: blanked is not %s", blanked ? "true" : "false");
	const struct json_value *v = json_get(found, "blank_schedule");
	kt_assert(v != NULL);
	if (schedule == NULL)
		kt_assertf(v->type == JSON_NULL, "status: blank_schedule is not null");
	else
		kt_assertf(v->type == JSON_STRING && strcmp(v->string, schedule) == 0,
			   "status: blank_schedule is not %s", schedule);
	json_value_free(doc);
	free(text);
}

/* "HH:MM-HH:MM" from minutes of the day (taken modulo a day). */
static void window_text(char *buf, size_t size, int start, int end)
{
	int day = SCHEDULE_MINUTES_PER_DAY;
	start = (start % day + day) % day;
	end = (end % day + day) % day;
	snprintf(buf, size, "%02d:%02d-%02d:%02d", start / 60, start % 60, end / 60, end % 60);
}

/* The daemon's timer must be armed, in the kernel, for `edge` (seconds since the epoch). */
static void check_armed(time_t edge)
{
	kt_assertf(dmn->display_manager->schedule_next == edge,
		   "the daemon aims at %lld, not the edge %lld",
		   (long long)dmn->display_manager->schedule_next, (long long)edge);
	struct itimerspec its;
	kt_assert_errno(timerfd_gettime(dmn->display_manager->schedule_fd, &its) == 0);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double left = (double)its.it_value.tv_sec + its.it_value.tv_nsec / 1e9;
	double want = (double)(edge - now.tv_sec) - now.tv_nsec / 1e9;
	printf("timer: %.3f s left, edge in %.3f s\n", left, want);
	kt_assertf(left > 0 && left - want < 0.5 && want - left < 0.5,
		   "the timer is not armed for the edge");
}

static int minute_now(void)
{
	time_t t = time(NULL);
	struct tm tm;
	kt_assert(localtime_r(&t, &tm) != NULL);
	return tm.tm_hour * 60 + tm.tm_min;
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 2, "usage: %s VSCANOUTCTL", argv[0]);
	ctl_path = argv[1];
	setenv("TZ", "UTC", 1);
	tzset();
	log_init(LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	struct kt_device dev;
	kt_device_open_or_skip(&dev, "virtio_gpu");
	kt_connector_force(&dev, "Virtual-2", "on");
	kt_device_close(&dev);

	/* 1. blank = yes from the start. */
	write_conf("blank = yes\n", "");
	dmn = conf_daemon_start(CONF_PATH);
	struct kms_output *v1 = display_find_output(dmn->display_manager, "Virtual-1");
	struct kms_output *v2 = display_find_output(dmn->display_manager, "Virtual-2");
	kt_assert(v1 != NULL && v2 != NULL);
	struct wl_listener present = {.notify = handle_present};
	wl_signal_add(&v2->events.present, &present);

	struct child a, b;
	child_start(&a, dmn->loop, vmm, 0);
	child_start(&b, dmn->loop, vmm, 1);
	uint64_t end = deadline();
	while (conf_daemon_shown(v1) == NULL || wl_list_length(&dmn->server->vgpus) < 2) {
		kt_assertf(kt_now_ns() < end, "timed out waiting for a's frame and b");
		dispatch();
	}
	wait_off(v2, "blank = yes at start");
	uint32_t fb;
	kt_assert(kernel_lit(v1, &fb) && fb != 0);
	kt_assert(display_output_blank_reasons(dmn->display_manager, v2) == DISPLAY_BLANK_CONFIG);
	check_status(true, NULL);
	uint64_t v1_commits = v1->stats.commits, v1_modesets = v1->stats.modesets;
	uint64_t v2_commits = v2->stats.commits;

	/* A reload that leaves Virtual-2's keys alone keeps it off. */
	write_conf("blank = yes\n", "[vgpu z]\n");
	reload();
	check_stays_off(v2, "an unrelated reload");
	kt_assert(v2->stats.commits == v2_commits);

	/* 2. blank = no: lit again, b's frame on screen. */
	write_conf("blank = no\n", "");
	uint64_t mark = presents;
	reload();
	wait_lit(v2, 256, mark, "blank = no");
	check_status(false, NULL);

	/* 3. A window holding now blanks it; its end is a minute away or more. */
	int m = minute_now();
	char window[SCHEDULE_TEXT_SIZE], keys[64];
	window_text(window, sizeof(window), m - 1, m + 2);
	snprintf(keys, sizeof(keys), "blank-schedule = %s\n", window);
	write_conf(keys, "");
	reload();
	wait_off(v2, window);
	kt_assert(display_output_blank_reasons(dmn->display_manager, v2) == DISPLAY_BLANK_SCHEDULE);
	check_status(true, window);
	struct schedule_window w;
	kt_assert_ok(schedule_parse(window, &w));
	check_armed(schedule_next_edge(&w, time(NULL)));
	kt_assert(dmn->display_manager->schedule_next % 60 == 0);
	/* unblank does not light what the schedule keeps off. */
	kt_assert(ctl("unblank", "Virtual-2") == 1);
	check_stays_off(v2, "vscanoutctl unblank inside the window");

	/* A window not holding now: lit, the timer at its start. */
	m = minute_now();
	window_text(window, sizeof(window), m + 5, m + 10);
	snprintf(keys, sizeof(keys), "blank-schedule = %s\n", window);
	write_conf(keys, "");
	mark = presents;
	reload();
	wait_lit(v2, 256, mark, window);
	check_status(false, window);
	kt_assert_ok(schedule_parse(window, &w));
	time_t start = schedule_next_edge(&w, time(NULL));
	check_armed(start);

	/* 4. The clock set to 2 s before the start: the edge comes. */
	struct timespec real, mono_before, mono_after;
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_MONOTONIC, &mono_before);
	struct timespec jump = {.tv_sec = start - 2};
	kt_assert_errno(clock_settime(CLOCK_REALTIME, &jump) == 0);
	wait_off(v2, "the window's start after the clock was set");
	kt_assert(time(NULL) >= start);
	/* The end is the next edge now. */
	kt_assert(dmn->display_manager->schedule_next == start + 5 * 60);
	/* Back to the real time: outside again. */
	clock_gettime(CLOCK_MONOTONIC, &mono_after);
	real.tv_sec += mono_after.tv_sec - mono_before.tv_sec;
	mark = presents;
	kt_assert_errno(clock_settime(CLOCK_REALTIME, &real) == 0);
	wait_lit(v2, 256, mark, "the clock set back");
	check_armed(start);

	/* 5. A blank request outlives a reload that leaves the blank keys alone. */
	kt_assert(ctl("blank", "Virtual-2") == 0);
	wait_off(v2, "vscanoutctl blank");
	check_status(true, window);
	write_conf(keys, "[vgpu z]\n");
	reload();
	check_stays_off(v2, "a reload after vscanoutctl blank");
	kt_assert(display_output_blank_reasons(dmn->display_manager, v2) == DISPLAY_BLANK_REQUEST);
	kt_assert(ctl("blank", "Virtual-2") == 1);
	mark = presents;
	kt_assert(ctl("unblank", "Virtual-2") == 0);
	wait_lit(v2, 256, mark, "vscanoutctl unblank");
	kt_assert(ctl("unblank", "Virtual-2") == 1);

	/* Virtual-1 was never touched. */
	printf("Virtual-1: commits %llu -> %llu, modesets %llu -> %llu\n",
	       (unsigned long long)v1_commits, (unsigned long long)v1->stats.commits,
	       (unsigned long long)v1_modesets, (unsigned long long)v1->stats.modesets);
	kt_assertf(v1->stats.commits == v1_commits && v1->stats.modesets == v1_modesets,
		   "blanking Virtual-2 touched Virtual-1");
	kt_assert(kernel_lit(v1, &fb) && fb != 0);

	wl_list_remove(&present.link);
	kill(a.pid, SIGKILL);
	kill(b.pid, SIGKILL);
	while (!a.exited || !b.exited)
		dispatch();
	daemon_destroy(dmn);
	unlink(CONF_PATH);
	printf("e2e-blank: ok\n");
	return 0;
}
