// SPDX-License-Identifier: MIT
/*
 * vscanoutd as the D-Bus display of QEMU, on vkms in the test bed. The
 * daemon's code runs in this process (tests/e2e/conf-daemon.h) with one
 * output, Virtual-1 at 1024x768, showing vGPU vm1 with scale = center: a
 * 640x400 picture is at 192,184, 1:1. What the output shows is captured
 * through the writeback connector.
 *
 * Cases (argv[1]):
 *  display  Debian's qemu-system-x86_64 (tests/qemu/nested.h) running the
 *           guest of tests/qemu/guest.S with -display dbus,p2p=yes;
 *           qemu = qmp:. The daemon starts first (QEMU is waiting), QEMU
 *           is picked up without a manual step; the capture equals QEMU's
 *           own QMP screendump pixel for pixel; a key typed on a uinput
 *           keyboard reaches the guest through the daemon, which
 *           repaints: the capture changes and equals the new screendump;
 *           QEMU killed: the placeholder fills the output (waiting); QEMU
 *           started again: its picture is back; the daemon destroyed and
 *           created again while QEMU runs: the picture is back.
 *  bus      the same first picture through a private dbus-daemon:
 *           -display dbus,addr=unix:path=... and qemu = dbus:unix:path=...
 *  dmabuf   fake-qemu (tests/qemu/fake-qemu.c) sends a 640x400 udmabuf
 *           with ScanoutDMABUF, then UpdateDMABUF 30 times, the same
 *           buffer sent again with a new fd every 10: the status counts
 *           one dma-buf of three fds, every update answered once on screen
 *           and none late; the kernel's plane at the picture's place scans
 *           out an imported framebuffer (debugfs); the capture is the
 *           pattern, and after fake-qemu repaints its memory without
 *           telling anyone, the new pattern: the plane reads fake-qemu's
 *           own memory. Then a fake-qemu with y0_top false: the picture is
 *           copied turned and shows upright.
 *  text     Debian's QEMU with a floppy of zeros: SeaBIOS's "No bootable
 *           device" in VGA text mode, 720x400, which QEMU 7.2 sends as
 *           Update calls of its rows with no Scanout of that size: the
 *           daemon asks for the whole picture (registers its listener
 *           again), and the capture's middle equals the screendump.
 *  text-bus the same through a private dbus-daemon, where QEMU 7.2 takes
 *           one listener per bus name.
 *  copies   fake-qemu with ScanoutMap/UpdateMap (the daemon's listener
 *           lists org.qemu.Display1.Listener.Unix.Map), then with
 *           Scanout/Update: the capture is the pattern; fake-qemu's memory
 *           repainted without a call leaves the screen as it was (a copy),
 *           and one more update brings the new pattern.
 *  extras   fake-qemu with pixels: SetUIInfo carries the output's size; a
 *           cursor QEMU defines and places shows at its place, hotspot
 *           applied; Disable brings the placeholder back.
 *
 * argv[2]: the guest image (display, bus), fake-qemu (dmabuf, copies) or
 * "-" (text, text-bus);
 * argv[3], optional: vscanoutctl, whose `status --json` (checked against
 * its schema) must say what the daemon's state says, where a case checks it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "buffer/buffer.h"
#include "common.h"
#include "conf-daemon.h"
#include "control/json.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "debugfs.h"
#include "helpers.h"
#include "input-harness.h"
#include "kms/output.h"
#include "kmstest.h"
#include "nested.h"
#include "qemu/qemu.h"
#include "util/log.h"
#include "vgpu/vgpu.h"

#define DIR         "/tmp/vscanout-qemu-test"
#define CONF_PATH   DIR "/vscanout.conf"
#define SOCKET_PATH DIR "/vscanout-0"
#define FAKE_QMP    DIR "/fake.qmp"
#define WIDTH       1024
#define HEIGHT      768
#define PIC_W       640
#define PIC_H       400
#define PIC_X       ((WIDTH - PIC_W) / 2)
#define PIC_Y       ((HEIGHT - PIC_H) / 2)
#define PLACEHOLDER 0x3366ccu
#define FRAMES      30
#define RESEND      10
#define SEED        7

static struct daemon *dmn;
/* The output's cursor= (the guest's cursor): hidden unless a case shows it. */
static const char *cursor_setting = "hidden";
static const char *ctl_path; /* vscanoutctl, or NULL: the status is not checked */
static struct kms_output *output;
static unsigned int vkms_minor; /* of /dev/dri/cardN */

static uint64_t deadline(void)
{
	return kt_now_ns() + (uint64_t)CONF_DAEMON_TIMEOUT_MS * 1000000u;
}

static void serve(void *data, int timeout_ms)
{
	conf_daemon_dispatch(dmn, timeout_ms);
}

/* ---------------------------------------------------------------------- */
/* The daemon                                                             */
/* ---------------------------------------------------------------------- */

static struct qemu_info info(void)
{
	struct qemu_info i;
	kt_assertf(qemu_manager_get_info(dmn->qemu, "vm1", &i), "vm1 has no qemu=");
	return i;
}

static const char *kind_name(enum qemu_frame_kind kind)
{
	switch (kind) {
	case QEMU_FRAME_PIXELS:
		return "pixels";
	case QEMU_FRAME_MAP:
		return "map";
	case QEMU_FRAME_DMABUF:
		return "dmabuf";
	default:
		return "none";
	}
}

static void print_info(const char *when)
{
	struct qemu_info i = info();
	printf("vm1 %s: %s, qemu %s, console %d, connects %llu, frames %llu, presented %llu, "
	       "zero copy %llu, dmabuf replies %llu (late %llu), picture %ux%u %s%s, "
	       "updates %llu, dmabuf fds %llu of %llu buffers, input sent %llu (failed %llu), "
	       "last error: %s\n",
	       when, qemu_state_name(i.state), i.qemu_name ? i.qemu_name : "-", i.console,
	       (unsigned long long)i.connects, (unsigned long long)i.frames,
	       (unsigned long long)i.presented, (unsigned long long)i.zero_copy,
	       (unsigned long long)i.dmabuf_replies, (unsigned long long)i.dmabuf_late,
	       i.frame.width, i.frame.height, kind_name(i.frame.kind),
	       i.frame.flipped ? " flipped" : "", (unsigned long long)i.frame.updates,
	       (unsigned long long)i.frame.dmabuf_fds, (unsigned long long)i.frame.dmabufs,
	       (unsigned long long)i.input.sent, (unsigned long long)i.input.failed,
	       i.last_error ? i.last_error : "none");
}

/*
 * The host's cursor is hidden: it would be drawn at the pointer (the
 * middle of the output) over the guest, which has no cursor of its own,
 * and QEMU's screendump has no cursor.
 */
static void start_daemon(const char *qemu)
{
	conf_daemon_write(CONF_PATH,
			  "[daemon]\nsocket = " SOCKET_PATH "\n"
			  "[output Virtual-1]\nvgpu = vm1\nmode = %ux%u\nscale = center\n"
			  "placeholder = #3366cc\ncursor = %s\n"
			  "[vgpu vm1]\nqemu = %s\n",
			  WIDTH, HEIGHT, cursor_setting, qemu);
	dmn = conf_daemon_start(CONF_PATH);
	output = display_find_output(dmn->display_manager, "Virtual-1");
	kt_assert(output != NULL);
	kt_assertf(dmn->qemu != NULL, "the daemon has no QEMU manager");
}

/* Serve until vm1 is connected (its connects at least `connects`) and its 640x400 picture shown. */
static void wait_picture(uint64_t connects, const char *what)
{
	uint64_t end = deadline();
	for (;;) {
		struct qemu_info i = info();
		struct buffer *b = conf_daemon_shown(output);
		if (i.state == QEMU_CONNECTED && i.connects >= connects && i.frames > 0 &&
		    b != NULL && b->width == PIC_W && b->height == PIC_H)
			break;
		if (kt_now_ns() >= end) {
			print_info(what);
			kt_fail(__FILE__, __LINE__,
				"%s: no 640x400 picture of QEMU on screen (state %s, shown %s "
				"%ux%u)",
				what, qemu_state_name(i.state), b != NULL ? "a buffer" : "nothing",
				b != NULL ? b->width : 0, b != NULL ? b->height : 0);
		}
		conf_daemon_dispatch(dmn, 50);
	}
	print_info(what);
}

/* Serve until vm1 is waiting for QEMU again. */
static void wait_waiting(const char *what)
{
	uint64_t end = deadline();
	while (info().state != QEMU_WAITING) {
		if (kt_now_ns() >= end) {
			print_info(what);
			kt_fail(__FILE__, __LINE__, "%s: vm1 is not waiting for QEMU", what);
		}
		conf_daemon_dispatch(dmn, 50);
	}
	print_info(what);
}

/* ---------------------------------------------------------------------- */
/* Pictures                                                               */
/* ---------------------------------------------------------------------- */

/* The 640x400 rectangle in the middle of a capture (allocated). */
static void capture_picture(struct kt_image *pic, struct kt_image *whole)
{
	struct kt_image cap;
	tk_capture(dmn->loop, output, &cap);
	kt_assertf(cap.width == WIDTH && cap.height == HEIGHT, "capture %ux%u", cap.width,
		   cap.height);
	kt_assert_ok(kt_image_alloc(pic, PIC_W, PIC_H, DRM_FORMAT_XRGB8888));
	for (uint32_t y = 0; y < PIC_H; y++)
		memcpy(kt_pixel(pic, 0, y), kt_pixel(&cap, PIC_X, PIC_Y + y), PIC_W * 4);
	if (whole != NULL)
		*whole = cap;
	else
		kt_image_free(&cap);
}

static uint64_t differing(const struct kt_image *a, const struct kt_image *b)
{
	if (a->width != b->width || a->height != b->height)
		return (uint64_t)-1;
	uint64_t n = 0;
	for (uint32_t y = 0; y < a->height; y++)
		for (uint32_t x = 0; x < a->width; x++)
			n += ((*kt_pixel(a, x, y) ^ *kt_pixel(b, x, y)) & 0xffffff) != 0;
	return n;
}

/*
 * Serve until the picture on screen equals QEMU's screendump, and that
 * screendump differs from `not` (when given): a new picture of the guest
 * came through. The screendump is kept in *dump.
 */
static void expect_as_qemu(struct nested_qemu *q, const struct kt_image * not, const char *what,
			   struct kt_image *dump)
{
	uint64_t end = deadline();
	char name[64];
	snprintf(name, sizeof(name), "%s-screendump", what);
	for (;;) {
		uint64_t frames = info().frames;
		struct kt_image pic;
		nested_qemu_screendump(q, name, dump);
		capture_picture(&pic, NULL);
		bool fresh = not == NULL || differing(dump, not ) != 0;
		uint64_t n = differing(&pic, dump);
		if (fresh && n == 0) {
			kt_compare(&pic, dump, 0x00ffffff, what);
			kt_image_free(&pic);
			print_info(what);
			return;
		}
		if (kt_now_ns() >= end) {
			print_info(what);
			kt_compare(&pic, dump, 0x00ffffff, what);
			kt_fail(__FILE__, __LINE__,
				"%s: the screen is not QEMU's picture (%llu pixels differ%s)", what,
				(unsigned long long)n,
				fresh ? "" : "; QEMU's own picture did not change either");
		}
		kt_image_free(&pic);
		kt_image_free(dump);
		/* A new frame from QEMU, or half a second: then look again. */
		uint64_t slice = kt_now_ns() + 500000000u;
		while (info().frames == frames && kt_now_ns() < slice)
			conf_daemon_dispatch(dmn, 20);
	}
}

/* Serve until the whole output shows the placeholder. */
static void expect_placeholder(const char *what)
{
	uint64_t end = deadline();
	struct kt_image want;
	kt_assert_ok(kt_image_alloc(&want, WIDTH, HEIGHT, DRM_FORMAT_XRGB8888));
	kt_fill_rect(&want, 0, 0, WIDTH, HEIGHT, PLACEHOLDER);
	for (;;) {
		struct kt_image pic, whole;
		capture_picture(&pic, &whole);
		uint64_t n = differing(&whole, &want);
		if (n == 0 || kt_now_ns() >= end) {
			kt_assertf(kt_compare(&whole, &want, 0x00ffffff, what) == 0,
				   "%s: the output does not show the placeholder", what);
			kt_image_free(&pic);
			kt_image_free(&whole);
			break;
		}
		kt_image_free(&pic);
		kt_image_free(&whole);
		conf_daemon_dispatch(dmn, 50);
	}
	kt_image_free(&want);
}

/* The pattern fake-qemu paints, upright. */
static void pattern(struct kt_image *img, uint32_t seed)
{
	kt_assert_ok(kt_image_alloc(img, PIC_W, PIC_H, DRM_FORMAT_XRGB8888));
	kt_fill_pattern(img, seed);
}

static void expect_pattern(uint32_t seed, const char *what)
{
	struct kt_image want, pic;
	pattern(&want, seed);
	capture_picture(&pic, NULL);
	uint64_t n = kt_compare(&pic, &want, 0x00ffffff, what);
	kt_assertf(n == 0, "%s: the screen is not fake-qemu's pattern (seed %u)", what, seed);
	kt_image_free(&want);
	kt_image_free(&pic);
}

/* The pattern on screen within the deadline, looked at again after each frame shown. */
static void expect_pattern_soon(uint32_t seed, const char *what)
{
	struct kt_image want;
	pattern(&want, seed);
	uint64_t end = deadline();
	for (;;) {
		uint64_t presented = info().presented;
		struct kt_image pic;
		capture_picture(&pic, NULL);
		bool same = differing(&pic, &want) == 0;
		if (same || kt_now_ns() >= end) {
			kt_assertf(kt_compare(&pic, &want, 0x00ffffff, what) == 0,
				   "%s: the screen is not fake-qemu's pattern (seed %u)", what,
				   seed);
			kt_image_free(&pic);
			break;
		}
		kt_image_free(&pic);
		uint64_t slice = kt_now_ns() + 500000000u;
		while (info().presented == presented && kt_now_ns() < slice)
			conf_daemon_dispatch(dmn, 20);
	}
	kt_image_free(&want);
}

/* ---------------------------------------------------------------------- */
/* The kernel's view                                                      */
/* ---------------------------------------------------------------------- */

/* Whether dri/N/framebuffer says framebuffer fb_id is imported (1), not (0), or not found (-1). */
static int fb_imported(unsigned int minor, uint32_t fb_id, uint32_t *width, uint32_t *height)
{
	char path[64], head[32];
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%u/framebuffer", minor);
	snprintf(head, sizeof(head), "framebuffer[%u]:\n", fb_id);
	FILE *f = fopen(path, "re");
	kt_assertf(f != NULL, "%s: %s", path, strerror(errno));
	static char text[1 << 20];
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	char *block = strstr(text, head);
	if (block == NULL)
		return -1;
	block += strlen(head);
	char *next = strstr(block, "framebuffer[");
	if (next != NULL)
		*next = '\0';
	int imported = -1;
	for (char *line = strtok(block, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		/* The framebuffer's own size is the line indented by one tab. */
		unsigned int w, h;
		if (line[0] == '\t' && line[1] == 's' &&
		    sscanf(line, "\tsize=%ux%u", &w, &h) == 2) {
			*width = w;
			*height = h;
			continue;
		}
		const char *imp = strstr(line, "imported=");
		if (imp != NULL)
			imported = strcmp(imp, "imported=yes") == 0;
	}
	return imported;
}

/*
 * The kernel scans the picture out from an imported buffer: a plane on
 * the output's CRTC at PIC_X,PIC_Y, PIC_W x PIC_H, whose framebuffer is
 * that size and imported.
 */
static void expect_imported_plane(void)
{
	unsigned int minor = vkms_minor;
	struct kstate st;
	char err[256];
	kt_assertf(kstate_load(&st, "/sys/kernel/debug/dri", minor, err, sizeof(err)) == 0, "%s",
		   err);
	kt_assert(output->crtc != NULL);
	bool found = false;
	for (size_t i = 0; i < st.n_planes; i++) {
		const struct kstate_plane *p = &st.planes[i];
		if (kstate_crtc_id(&st, p->crtc) != output->crtc->id || p->fb == 0)
			continue;
		uint32_t w = 0, h = 0;
		int imported = fb_imported(minor, p->fb, &w, &h);
		printf("plane %u (%s): fb %u %ux%u imported %d at %d,%d %ux%u\n", p->id, p->name,
		       p->fb, w, h, imported, p->x, p->y, p->width, p->height);
		if (p->x == PIC_X && p->y == PIC_Y && p->width == PIC_W && p->height == PIC_H &&
		    w == PIC_W && h == PIC_H && imported == 1)
			found = true;
	}
	kstate_finish(&st);
	kt_assertf(found, "debugfs: no plane scans out an imported %ux%u buffer at %d,%d", PIC_W,
		   PIC_H, PIC_X, PIC_Y);
}

/*
 * vscanoutctl status --json (schema-checked by ctl_status()) on vm1's QEMU:
 * its state, how its picture comes (NULL: not checked) and whether it is
 * copied.
 */
static void expect_status(const char *state, const char *scanout, bool copied, const char *what)
{
	if (ctl_path == NULL)
		return;
	struct json_value *st = ctl_status(dmn->display, ctl_path, SOCKET_PATH);
	const struct json_value *vgpu = status_vgpu(st, "vm1");
	kt_assertf(vgpu != NULL, "%s: the status has no vGPU vm1", what);
	const struct json_value *q = json_get(vgpu, "qemu");
	kt_assertf(q != NULL && q->type == JSON_OBJECT, "%s: vm1 has no qemu object", what);
	const char *s = json_get_string(q, "state");
	kt_assertf(s != NULL && strcmp(s, state) == 0, "%s: qemu state %s, not %s", what,
		   s != NULL ? s : "(none)", state);
	if (scanout != NULL) {
		s = json_get_string(q, "scanout");
		kt_assertf(s != NULL && strcmp(s, scanout) == 0, "%s: qemu scanout %s, not %s",
			   what, s != NULL ? s : "(none)", scanout);
		kt_assertf(json_get_bool(q, "copied", !copied) == copied, "%s: copied is not %s",
			   what, copied ? "true" : "false");
		kt_assertf(json_get_number(q, "width", 0) == PIC_W &&
				   json_get_number(q, "height", 0) == PIC_H,
			   "%s: the status' picture is not %ux%u", what, PIC_W, PIC_H);
	}
	s = json_get_string(vgpu, "source");
	kt_assertf(s != NULL && strcmp(s, strcmp(state, "waiting") == 0 ? "none" : "qemu") == 0,
		   "%s: vm1's source is %s", what, s != NULL ? s : "(none)");
	json_value_free(st);
}

/* ---------------------------------------------------------------------- */
/* The cases                                                              */
/* ---------------------------------------------------------------------- */

static void qemu_display(const char *image)
{
	/* The host's keyboard, there before the daemon's input starts. */
	static const int keys[] = {KEY_A};
	const struct harness_device keyboard = {
		.name = "vscanout-test keyboard", .product = 0x5151, .keys = keys, .n_keys = 1};
	int kbd = harness_device_create(&keyboard);
	kt_assert(system("udevadm settle") == 0);

	struct nested_qemu q;
	nested_qemu_init(&q, "vm1", DIR, image, "dbus,p2p=yes");
	start_daemon("qmp:" DIR "/vm1-daemon.qmp");
	q.serve = serve;
	/* No QEMU yet: waiting (after a first attempt), and the placeholder shows. */
	wait_waiting("before-qemu");
	expect_placeholder("before-qemu");

	nested_qemu_start(&q);
	wait_picture(1, "first");
	struct kt_image first, after_key, again;
	expect_as_qemu(&q, NULL, "first", &first);
	expect_status("connected", "pixels", true, "first");

	/* A key on the host's keyboard: the guest repaints. */
	uint64_t sent = info().input.sent;
	harness_send(kbd, EV_KEY, KEY_A, 1);
	harness_send(kbd, EV_KEY, KEY_A, 0);
	expect_as_qemu(&q, &first, "after-key", &after_key);
	kt_assertf(info().input.sent >= sent + 2, "the key went to QEMU as %llu calls",
		   (unsigned long long)(info().input.sent - sent));

	/* QEMU gone: the placeholder; back: its picture, with nothing done here. */
	nested_qemu_kill(&q);
	wait_waiting("qemu-killed");
	expect_placeholder("qemu-killed");
	expect_status("waiting", NULL, false, "qemu-killed");
	uint64_t connects = info().connects;
	nested_qemu_start(&q);
	wait_picture(connects + 1, "qemu-restarted");
	expect_as_qemu(&q, NULL, "qemu-restarted", &again);
	kt_image_free(&again);

	/* The daemon gone and back while QEMU runs. */
	q.serve = NULL;
	daemon_destroy(dmn);
	dmn = NULL;
	start_daemon("qmp:" DIR "/vm1-daemon.qmp");
	q.serve = serve;
	wait_picture(1, "daemon-again");
	expect_as_qemu(&q, NULL, "daemon-again", &again);

	nested_qemu_kill(&q);
	close(kbd);
	kt_image_free(&first);
	kt_image_free(&after_key);
	kt_image_free(&again);
}

static void qemu_bus(const char *image)
{
	struct nested_bus bus;
	nested_bus_start(&bus, DIR);
	char display[256], qemu[256];
	snprintf(display, sizeof(display), "dbus,addr=%s", bus.address);
	snprintf(qemu, sizeof(qemu), "dbus:%s", bus.address);
	struct nested_qemu q;
	nested_qemu_init(&q, "vm1", DIR, image, display);
	nested_qemu_start(&q);
	start_daemon(qemu);
	q.serve = serve;
	wait_picture(1, "bus");
	struct kt_image dump;
	expect_as_qemu(&q, NULL, "bus", &dump);
	kt_image_free(&dump);
	q.serve = NULL;
	nested_qemu_kill(&q);
	nested_bus_stop(&bus);
}

/*
 * Serve until the output shows QEMU's screendump, of whatever size, in
 * its middle (scale = center, 1:1) and the daemon's picture has that
 * size. The screendump is kept in *dump. QEMU's text cursor blinks while
 * the screen is captured: the capture is taken between two screendumps
 * and may show either, whichever state QEMU had last when it was taken.
 */
static void expect_centered_as_qemu(struct nested_qemu *q, const char *what, struct kt_image *dump)
{
	uint64_t end = deadline();
	char name[64];
	snprintf(name, sizeof(name), "%s-screendump", what);
	for (;;) {
		uint64_t frames = info().frames;
		nested_qemu_screendump(q, name, dump);
		kt_assert(dump->width <= WIDTH && dump->height <= HEIGHT);
		struct kt_image cap, pic;
		tk_capture(dmn->loop, output, &cap);
		kt_assert_ok(kt_image_alloc(&pic, dump->width, dump->height, DRM_FORMAT_XRGB8888));
		uint32_t x0 = (WIDTH - dump->width) / 2, y0 = (HEIGHT - dump->height) / 2;
		for (uint32_t y = 0; y < dump->height; y++)
			memcpy(kt_pixel(&pic, 0, y), kt_pixel(&cap, x0, y0 + y),
			       (size_t)dump->width * 4);
		struct qemu_info i = info();
		uint64_t n = differing(&pic, dump);
		if (n != 0) {
			struct kt_image after;
			nested_qemu_screendump(q, name, &after);
			if (differing(&pic, &after) == 0) {
				kt_image_free(dump);
				*dump = after;
				n = 0;
			} else {
				kt_image_free(&after);
			}
		}
		bool sized = i.frame.width == dump->width && i.frame.height == dump->height;
		if ((n == 0 && sized) || kt_now_ns() >= end) {
			print_info(what);
			kt_compare(&pic, dump, 0x00ffffff, what);
			kt_assertf(
				n == 0 && sized,
				"%s: the screen is not QEMU's %ux%u picture (%llu pixels differ; "
				"the daemon's picture is %ux%u)",
				what, dump->width, dump->height, (unsigned long long)n,
				i.frame.width, i.frame.height);
			kt_image_free(&pic);
			kt_image_free(&cap);
			return;
		}
		kt_image_free(&pic);
		kt_image_free(&cap);
		kt_image_free(dump);
		/* A new frame from QEMU (its text cursor blinks), or half a second. */
		uint64_t slice = kt_now_ns() + 500000000u;
		while (info().frames == frames && kt_now_ns() < slice)
			conf_daemon_dispatch(dmn, 20);
	}
}

static void qemu_text(bool on_bus)
{
	/* A floppy of zeros: SeaBIOS finds nothing to boot and says so, in VGA text mode. */
	const char *blank = DIR "/blank.img";
	int fd = open(blank, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	kt_assert(fd >= 0 && ftruncate(fd, 1474560) == 0);
	close(fd);
	struct nested_bus bus = {0};
	char display[256] = "dbus,p2p=yes", qemu[256] = "qmp:" DIR "/vm1-daemon.qmp";
	if (on_bus) {
		nested_bus_start(&bus, DIR);
		snprintf(display, sizeof(display), "dbus,addr=%s", bus.address);
		snprintf(qemu, sizeof(qemu), "dbus:%s", bus.address);
	}
	struct nested_qemu q;
	nested_qemu_init(&q, "vm1", DIR, blank, display);
	start_daemon(qemu);
	q.serve = serve;
	nested_qemu_start(&q);
	/* QEMU's text screen is 720x400: 9x16 cells, 80x25. */
	struct kt_image dump;
	uint64_t end = deadline();
	for (;;) {
		nested_qemu_screendump(&q, "text-wait", &dump);
		bool text = dump.width == 720 && dump.height == 400;
		kt_image_free(&dump);
		if (text)
			break;
		kt_assertf(kt_now_ns() < end, "QEMU shows no 720x400 text screen");
		conf_daemon_dispatch(dmn, 100);
	}
	expect_centered_as_qemu(&q, "text", &dump);
	kt_image_free(&dump);
	q.serve = NULL;
	nested_qemu_kill(&q);
	if (on_bus)
		nested_bus_stop(&bus);
	unlink(blank);
}

/* fake-qemu's update replies first .. first + frames - 1, each with its time in µs. */
static void read_replies_from(struct nested_child *fake, unsigned int first, unsigned int frames)
{
	uint64_t min = UINT64_MAX, max = 0, sum = 0;
	for (unsigned int i = first; i < first + frames; i++) {
		const char *line = nested_child_wait_line(fake, "reply ");
		unsigned int n;
		unsigned long long us;
		kt_assertf(sscanf(line, "reply %u %llu", &n, &us) == 2 && n == i,
			   "fake-qemu: '%s', not reply %u", line, i);
		min = us < min ? us : min;
		max = us > max ? us : max;
		sum += us;
	}
	nested_child_wait_line(fake, "done");
	printf("update replies: %u, min %llu us, mean %llu us, max %llu us\n", frames,
	       (unsigned long long)min, (unsigned long long)(sum / frames),
	       (unsigned long long)max);
}

static void read_replies(struct nested_child *fake, unsigned int frames)
{
	read_replies_from(fake, 1, frames);
}

static void start_fake(struct nested_child *fake, const char *program, bool y0_top,
		       unsigned int frames)
{
	char n[16], k[16], w[16], h[16];
	snprintf(n, sizeof(n), "%u", frames);
	snprintf(k, sizeof(k), "%u", RESEND);
	snprintf(w, sizeof(w), "%u", PIC_W);
	snprintf(h, sizeof(h), "%u", PIC_H);
	char *argv[] = {(char *)program, FAKE_QMP, "--dmabuf",  w,    h,    "--frames", n,
			"--resend",      k,        "--timeout", "55", NULL, NULL};
	if (!y0_top)
		argv[11] = "--y0-bottom";
	nested_child_start(fake, argv);
	fake->serve = serve;
}

static void qemu_dmabuf(const char *program)
{
	if (access("/dev/udmabuf", F_OK) != 0)
		kt_skip("no /dev/udmabuf");
	struct nested_child fake;
	/* Not served before the daemon exists. */
	start_fake(&fake, program, true, FRAMES);
	fake.serve = NULL;
	nested_child_wait_line(&fake, "listening");
	start_daemon("qmp:" FAKE_QMP);
	fake.serve = serve;
	nested_child_wait_line(&fake, "registered");
	read_replies(&fake, FRAMES);
	wait_picture(1, "dmabuf");

	struct qemu_info i = info();
	kt_assertf(i.frame.kind == QEMU_FRAME_DMABUF && !i.frame.flipped,
		   "the picture is %s%s, not a dma-buf shown as it is", kind_name(i.frame.kind),
		   i.frame.flipped ? " flipped" : "");
	/* Sent before updates 1, 11 and 21: three fds of one buffer. */
	kt_assertf(i.frame.dmabuf_fds == 1 + (FRAMES - 1) / RESEND && i.frame.dmabufs == 1,
		   "%llu dma-buf fds make %llu buffers, not %u of one",
		   (unsigned long long)i.frame.dmabuf_fds, (unsigned long long)i.frame.dmabufs,
		   1 + (FRAMES - 1) / RESEND);
	kt_assertf(i.dmabuf_replies >= FRAMES && i.dmabuf_late == 0,
		   "%llu UpdateDMABUF answered on screen, %llu by the deadline",
		   (unsigned long long)i.dmabuf_replies, (unsigned long long)i.dmabuf_late);
	kt_assertf(i.zero_copy > 0, "no frame of vm1 was shown zero copy");
	expect_imported_plane();
	expect_pattern(SEED, "dmabuf");
	expect_status("connected", "dmabuf", false, "dmabuf");
	/* fake-qemu's memory changed behind everyone's back is what the screen shows. */
	nested_child_write(&fake, "repaint 99\n");
	nested_child_wait_line(&fake, "repainted 99");
	expect_pattern(99, "dmabuf-repainted");

	/* Upside down: copied turned, upright on screen. */
	uint64_t connects = info().connects;
	kt_assertf(WIFEXITED(nested_child_stop(&fake)), "fake-qemu did not end on SIGTERM");
	wait_waiting("fake-qemu-gone");
	start_fake(&fake, program, false, 5);
	nested_child_wait_line(&fake, "registered");
	read_replies(&fake, 5);
	wait_picture(connects + 1, "y0-bottom");
	i = info();
	kt_assertf(i.frame.kind == QEMU_FRAME_DMABUF && i.frame.flipped,
		   "the upside-down dma-buf is %s%s", kind_name(i.frame.kind),
		   i.frame.flipped ? " flipped" : ", not flipped");
	kt_assertf(i.dmabuf_late == 0, "%llu UpdateDMABUF answered late",
		   (unsigned long long)i.dmabuf_late);
	expect_pattern(SEED, "y0-bottom");
	nested_child_stop(&fake);
	/*
	 * Each fake-qemu was taken at the first attempt, although it calls
	 * ScanoutDMABUF (an fd) as soon as the listener's connection is up,
	 * as QEMU does: before the display may have read the end of the
	 * authentication. Checked last, so that a failure here hides nothing.
	 */
	kt_assertf(connects == 1 && info().connects == 2,
		   "fake-qemu was attached after %llu attempts, then %llu: a connection failed "
		   "(see the daemon's log)",
		   (unsigned long long)connects, (unsigned long long)(info().connects - connects));
}

/* fake-qemu in `mode` (--map or --pixels): copied on each update, never before. */
static void copied(const char *program, const char *mode, enum qemu_frame_kind kind, int seed)
{
	struct nested_child fake;
	char w[16], h[16], s[16], repaint[32], repainted[32];
	snprintf(w, sizeof(w), "%u", PIC_W);
	snprintf(h, sizeof(h), "%u", PIC_H);
	snprintf(s, sizeof(s), "%d", seed);
	char *argv[] = {(char *)program, FAKE_QMP, (char *)mode, w,    h,   "--frames", "3",
			"--seed",        s,        "--timeout",  "55", NULL};
	nested_child_start(&fake, argv);
	fake.serve = dmn != NULL ? serve : NULL;
	nested_child_wait_line(&fake, "listening");
	uint64_t connects = 0;
	if (dmn == NULL)
		start_daemon("qmp:" FAKE_QMP);
	else
		connects = info().connects;
	fake.serve = serve;
	nested_child_wait_line(&fake, "registered");
	if (kind == QEMU_FRAME_MAP)
		nested_child_wait_line(&fake, "interfaces");
	read_replies(&fake, 3);
	wait_picture(connects + 1, mode + 2);
	struct qemu_info i = info();
	kt_assertf(i.frame.kind == kind, "%s: the picture is %s, not %s", mode,
		   kind_name(i.frame.kind), kind_name(kind));
	expect_pattern((uint32_t)seed, mode + 2);

	/* Repainted behind the daemon's back: still the copy, until an update. */
	snprintf(repaint, sizeof(repaint), "repaint %d\n", seed + 1);
	snprintf(repainted, sizeof(repainted), "repainted %d", seed + 1);
	nested_child_write(&fake, repaint);
	nested_child_wait_line(&fake, repainted);
	snprintf(repaint, sizeof(repaint), "%s-unannounced", mode + 2);
	expect_pattern((uint32_t)seed, repaint);
	nested_child_write(&fake, "update\n");
	read_replies_from(&fake, 4, 1);
	snprintf(repaint, sizeof(repaint), "%s-updated", mode + 2);
	/* The update is answered once copied; the copy shows from the next frame on. */
	expect_pattern_soon((uint32_t)seed + 1, repaint);
	kt_assertf(WIFEXITED(nested_child_stop(&fake)), "fake-qemu did not end on SIGTERM");
	wait_waiting(mode + 2);
}

/* Serve until the picture's rectangle x,y w x h (picture pixels) is all `colour`. */
static void expect_rect_soon(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t colour,
			     const char *what)
{
	uint64_t end = deadline();
	for (;;) {
		struct kt_image pic;
		capture_picture(&pic, NULL);
		uint64_t n = 0;
		for (uint32_t j = y; j < y + h; j++)
			for (uint32_t i = x; i < x + w; i++)
				n += ((*kt_pixel(&pic, i, j) ^ colour) & 0xffffff) != 0;
		kt_image_free(&pic);
		if (n == 0)
			return;
		kt_assertf(kt_now_ns() < end, "%s: %llu pixels of %ux%u at %u,%u are not #%06x",
			   what, (unsigned long long)n, w, h, x, y, colour & 0xffffff);
		conf_daemon_dispatch(dmn, 50);
	}
}

/*
 * fake-qemu with pixels: SetUIInfo carries the output's size; a cursor
 * defined and placed by QEMU shows at its place in the picture, hotspot
 * applied, on the pattern; Disable leaves the placeholder alone.
 */
static void qemu_extras(const char *program)
{
	struct nested_child fake;
	char w[16], h[16];
	snprintf(w, sizeof(w), "%u", PIC_W);
	snprintf(h, sizeof(h), "%u", PIC_H);
	char *argv[] = {(char *)program, FAKE_QMP, "--pixels",  w,    h,   "--frames", "1",
			"--seed",        "51",     "--timeout", "55", NULL};
	nested_child_start(&fake, argv);
	fake.serve = NULL;
	nested_child_wait_line(&fake, "listening");
	cursor_setting = "shown";
	start_daemon("qmp:" FAKE_QMP);
	fake.serve = serve;
	/* The vGPU's region is the whole 1024x768 output. */
	const char *line = nested_child_wait_line(&fake, "ui-info ");
	unsigned int uw, uh;
	kt_assertf(sscanf(line, "ui-info %u %u", &uw, &uh) == 2 && uw == WIDTH && uh == HEIGHT,
		   "SetUIInfo: '%s', not the output's %ux%u", line, WIDTH, HEIGHT);
	wait_picture(1, "extras");
	expect_pattern(51, "extras");

	/* A 16x16 cursor with its hotspot at 2,3, the pointer at 100,50 of the picture. */
	nested_child_write(&fake, "cursor 16 16 2 3 100 50\n");
	nested_child_wait_line(&fake, "mouse-set");
	expect_rect_soon(98, 47, 16, 16, 0x00ff00, "cursor");
	kt_assertf(vgpu_has_cursor(vgpu_manager_find(dmn->vgpus, "vm1")),
		   "the vGPU shows no cursor of its own");

	nested_child_write(&fake, "disable\n");
	nested_child_wait_line(&fake, "disabled");
	expect_placeholder("disabled");
	kt_assertf(!info().frame.enabled, "the picture is still enabled after Disable");
	kt_assertf(WIFEXITED(nested_child_stop(&fake)), "fake-qemu did not end on SIGTERM");
	wait_waiting("extras");
}

static void qemu_copies(const char *program)
{
	copied(program, "--map", QEMU_FRAME_MAP, 21);
	copied(program, "--pixels", QEMU_FRAME_PIXELS, 31);
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 3 || argc == 4,
		   "usage: %s display|bus|dmabuf|copies|text|text-bus GUEST_IMAGE|FAKE_QEMU|- "
		   "[VSCANOUTCTL]",
		   argv[0]);
	const char *which = argv[1];
	ctl_path = argc == 4 ? argv[3] : NULL;
	log_init(getenv("VSCANOUT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	/* The daemon must be the card's first opener (its DRM master): closed at once. */
	struct kt_device vkms;
	kt_device_open_or_skip(&vkms, "vkms");
	kt_assert(sscanf(vkms.path, "/dev/dri/card%u", &vkms_minor) == 1);
	kt_device_close(&vkms);
	mkdir(DIR, 0700);

	if (strcmp(which, "display") == 0)
		qemu_display(argv[2]);
	else if (strcmp(which, "bus") == 0)
		qemu_bus(argv[2]);
	else if (strcmp(which, "dmabuf") == 0)
		qemu_dmabuf(argv[2]);
	else if (strcmp(which, "extras") == 0)
		qemu_extras(argv[2]);
	else if (strcmp(which, "copies") == 0)
		qemu_copies(argv[2]);
	else if (strcmp(which, "text") == 0)
		qemu_text(false);
	else if (strcmp(which, "text-bus") == 0)
		qemu_text(true);
	else
		kt_fail(__FILE__, __LINE__, "unknown case %s", which);
	daemon_destroy(dmn);
	unlink(CONF_PATH);
	printf("qemu-%s: ok\n", which);
	return 0;
}
