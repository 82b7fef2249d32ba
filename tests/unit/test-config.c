// SPDX-License-Identifier: MIT
#include <grp.h>
#include <linux/input-event-codes.h>
#include <pwd.h>
#include <stdarg.h>

#include "config/config.h"
#include "test.h"

struct capture {
	char text[4096];
	size_t len;
	int lines;
};

static void capture_sink(enum log_level level, const char *line, void *data)
{
	struct capture *cap = data;
	int n = snprintf(cap->text + cap->len, sizeof(cap->text) - cap->len, "%s\n", line);
	check(n > 0 && (size_t)n < sizeof(cap->text) - cap->len);
	cap->len += (size_t)n;
	cap->lines++;
}

/* Parse `text` into `cfg`; errors are collected into `cap`. */
static int parse(struct config *cfg, struct capture *cap, const char *text)
{
	memset(cap, 0, sizeof(*cap));
	log_set_sink(capture_sink, cap);
	log_init(LOG_LEVEL_ERROR);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	check(f != NULL);
	int ret = config_parse(cfg, f, "test.conf");
	fclose(f);
	log_set_sink(NULL, NULL);
	return ret;
}

static void test_defaults_and_empty(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(cfg.log_level, LOG_LEVEL_INFO);
	check(!cfg.log_level_set);
	check_int_eq(parse(&cfg, &cap, ""), 0);
	check_int_eq(parse(&cfg, &cap, "# only a comment\n; another\n\n"), 0);
	check(!cfg.log_level_set);
	config_finish(&cfg);
}

static void test_log_level(void)
{
	static const struct {
		const char *value;
		enum log_level level;
	} cases[] = {
		{"error", LOG_LEVEL_ERROR},
		{"warning", LOG_LEVEL_WARN},
		{"info", LOG_LEVEL_INFO},
		{"debug", LOG_LEVEL_DEBUG},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		struct capture cap;
		char text[128];
		snprintf(text, sizeof(text), "[daemon]\nlog-level = %s\n", cases[i].value);
		config_init(&cfg);
		check_int_eq(parse(&cfg, &cap, text), 0);
		check(cfg.log_level_set);
		check_int_eq(cfg.log_level, cases[i].level);
		check_int_eq(cap.lines, 0);
		config_finish(&cfg);
	}
}

static void test_errors(void)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{"[daemon]\nlog-level = loud\n", "test.conf:2: [daemon] log-level 'loud' is not "
						 "one of error, warning, info, debug"},
		{"\n\n[daemon]\ncolour = red\n",
		 "test.conf:4: unknown key 'colour' in [daemon] "
		 "(known keys: log-level, seat, socket, control-group, focus, max-clients, "
		 "max-clients-per-uid, hotkey-next-output, hotkey-prev-output, hotkey-next-vgpu, "
		 "hotkey-prev-vgpu)"},
		{"[daemon]\nmax-clients = 0\n",
		 "test.conf:2: [daemon] max-clients '0' is not a number from 1 to 65536"},
		{"[daemon]\nmax-clients-per-uid = -3\n",
		 "test.conf:2: [daemon] max-clients-per-uid '-3' is not a number from 1 to 65536"},
		{"[daemon]\nmax-clients = 5\nmax-clients = 6\n",
		 "test.conf:3: [daemon] max-clients is set twice"},
		{"[nonsense]\nkey = 1\n", "test.conf:1: unknown section [nonsense] (known "
					  "sections: [daemon], [output NAME], [vgpu NAME], "
					  "[touchscreen DEVICE-NAME])"},
		{"log-level = info\n", "test.conf:1: key 'log-level' is outside any section"},
		{"[daemon]\nlog-level = info\nlog-level = debug\n",
		 "test.conf:3: [daemon] log-level is set twice"},
		{"[daemon]\nthis line has no equals sign\n",
		 "test.conf:2: syntax error: expected '[section]' or 'key = value'"},
		{"[daemon\n", "test.conf:1: syntax error"},
		{"[daemon]\n[daemon]\n", "test.conf:2: [daemon] appears twice"},
		{"[output]\n", "test.conf:1: [output] needs a connector name"},
		{"[output HDMI A]\n", "test.conf:1: output name 'HDMI A' is not a connector name"},
		{"[output :Virtual-1]\n", "test.conf:1: output name ':Virtual-1'"},
		{"[output card1:]\n", "test.conf:1: output name 'card1:'"},
		{"[output a:b:c]\n", "test.conf:1: output name 'a:b:c'"},
		{"[output X-1]\n\n[output X-1]\n",
		 "test.conf:3: [output X-1] is already defined at line 1"},
		{"[output X-1]\nsize = 3\n",
		 "test.conf:2: unknown key 'size' in [output X-1] (known keys: mode, vgpu, layout, "
		 "region NAME, flip, placeholder, scale, position, rotation, cursor, blank, "
		 "blank-schedule)"},
		{"[output X-1]\nmode = big\n",
		 "test.conf:2: [output X-1] mode 'big' is not WxH, WxH@Hz or preferred"},
		{"[output X-1]\nmode = 0x768\n", "test.conf:2: [output X-1] mode '0x768'"},
		{"[output X-1]\nmode = 20000x768\n", "test.conf:2: [output X-1] mode '20000x768'"},
		{"[output X-1]\nmode = 1024x768@\n", "test.conf:2: [output X-1] mode '1024x768@'"},
		{"[output X-1]\nmode = 1024x768@60.1234\n", "mode '1024x768@60.1234'"},
		{"[output X-1]\nmode = 1024x768@0\n", "mode '1024x768@0'"},
		{"[output X-1]\nmode = 1024x768x\n", "mode '1024x768x'"},
		{"[output X-1]\nmode = 1024x768\nmode = 800x600\n",
		 "test.conf:3: [output X-1] mode is set twice"},
		{"[output X-1]\nvgpu = a b\n",
		 "test.conf:2: [output X-1] vgpu 'a b' is not a name"},
		{"[output X-1]\nflip = sometimes\n",
		 "test.conf:2: [output X-1] flip 'sometimes' is not one of async, vsync"},
		{"[output X-1]\nplaceholder = grey\n",
		 "test.conf:2: [output X-1] placeholder 'grey' is not a colour like #202020"},
		{"[output X-1]\nplaceholder = #12345\n", "placeholder '#12345'"},
		{"[output X-1]\nplaceholder = #12345g\n", "placeholder '#12345g'"},
		{"[daemon]\nseat = seat 0\n",
		 "test.conf:2: [daemon] seat 'seat 0' is not a seat name"},
		{"[daemon]\nseat = a\nseat = b\n", "test.conf:3: [daemon] seat is set twice"},
		{"[daemon]\nsocket = relative/path\n",
		 "test.conf:2: [daemon] socket 'relative/path' is not an absolute path"},
		{"[vgpu]\n", "test.conf:1: [vgpu] needs a name"},
		{"[vgpu a:b]\n", "test.conf:1: vgpu name 'a:b' is not a name"},
		{"[vgpu v]\n[vgpu v]\n", "test.conf:2: [vgpu v] is already defined at line 1"},
		{"[vgpu v]\nallow = 1\n",
		 "test.conf:2: unknown key 'allow' in [vgpu v] (known keys: allow-uid, allow-gid, "
		 "edid, poll, uinput, clock, qemu, qemu-console, vfio-from, mdev)"},
		{"[vgpu v]\nallow-uid = no-such-user-here\n",
		 "test.conf:2: [vgpu v] allow-uid: no user 'no-such-user-here' on this system (a "
		 "user id, or the name of an existing user)\n"},
		{"[vgpu v]\nallow-gid = 5, no-such-group-here\n",
		 "test.conf:2: [vgpu v] allow-gid: no group 'no-such-group-here' on this system "
		 "(a group id, or the name of an existing group)\n"},
		{"[vgpu v]\nallow-uid = ,\n", "test.conf:2: [vgpu v] allow-uid is empty"},
		{"[vgpu v]\nallow-uid = 1\nallow-uid = 2\n",
		 "test.conf:3: [vgpu v] allow-uid is set twice"},
		{"[output X-1]\nscale = zoom\n",
		 "test.conf:2: [output X-1] scale 'zoom' is not one of fit, center, stretch"},
		{"[output X-1]\nscale = Fit\n", "test.conf:2: [output X-1] scale 'Fit'"},
		{"[output X-1]\nscale = fit\nscale = center\n",
		 "test.conf:3: [output X-1] scale is set twice"},
		{"[vgpu v]\nedid = yes\n",
		 "test.conf:2: [vgpu v] edid 'yes' is not one of monitor, generate, off"},
		{"[vgpu v]\n\nedid = off\nedid = monitor\n",
		 "test.conf:4: [vgpu v] edid is set twice"},
		{"[vgpu v]\npoll = sometimes\n", "test.conf:2: [vgpu v] poll 'sometimes' is not "
						 "vblank or Nms with N from 1 to 10000 "
						 "(e.g. 16ms)"},
		{"[vgpu v]\npoll = 0ms\n", "test.conf:2: [vgpu v] poll '0ms'"},
		{"[vgpu v]\npoll = 10001ms\n", "test.conf:2: [vgpu v] poll '10001ms'"},
		{"[vgpu v]\npoll = 16\n", "test.conf:2: [vgpu v] poll '16'"},
		{"[vgpu v]\npoll = 16 ms\n", "test.conf:2: [vgpu v] poll '16 ms'"},
		{"[vgpu v]\npoll = 1s\n", "test.conf:2: [vgpu v] poll '1s'"},
		{"[vgpu v]\npoll = -5ms\n", "test.conf:2: [vgpu v] poll '-5ms'"},
		{"[vgpu v]\npoll = ms\n", "test.conf:2: [vgpu v] poll 'ms'"},
		{"[vgpu v]\npoll = 99999999999999999999ms\n",
		 "test.conf:2: [vgpu v] poll '99999999999999999999ms'"},
		{"[vgpu v]\npoll = vblank\npoll = 5ms\n",
		 "test.conf:3: [vgpu v] poll is set twice"},
		{"[daemon]\ncontrol-group = no-such-group-here\n",
		 "test.conf:2: [daemon] control-group: no group 'no-such-group-here' on this "
		 "system (a group id, or the name of an existing group)\n"},
		{"[daemon]\ncontrol-group = wheel, kvm\n",
		 "test.conf:2: [daemon] control-group 'wheel, kvm' is not one group name or id"},
		{"[daemon]\ncontrol-group =\n",
		 "test.conf:2: [daemon] control-group '' is not one group name or id"},
		{"[daemon]\ncontrol-group = 1\ncontrol-group = 2\n",
		 "test.conf:3: [daemon] control-group is set twice"},
		/* Input. */
		{"[output X-1]\nposition = 10\n",
		 "test.conf:2: [output X-1] position '10' is not X,Y with integers from -32768 to "
		 "32767 (e.g. 1920,0)"},
		{"[output X-1]\nposition = 32768,0\n",
		 "test.conf:2: [output X-1] position '32768,0'"},
		{"[output X-1]\nposition = 0,-32769\n",
		 "test.conf:2: [output X-1] position '0,-32769'"},
		{"[output X-1]\nposition = 1.5,0\n", "test.conf:2: [output X-1] position '1.5,0'"},
		{"[output X-1]\nposition = 1,2,3\n", "test.conf:2: [output X-1] position '1,2,3'"},
		{"[output X-1]\nposition = x,y\n", "test.conf:2: [output X-1] position 'x,y'"},
		{"[output X-1]\nposition = ,5\n", "test.conf:2: [output X-1] position ',5'"},
		{"[output X-1]\nposition = 1,\n", "test.conf:2: [output X-1] position '1,'"},
		{"[output X-1]\nposition = 99999999999999999999,0\n",
		 "test.conf:2: [output X-1] position '99999999999999999999,0'"},
		{"[output X-1]\nposition = 0,0\nposition = 1,1\n",
		 "test.conf:3: [output X-1] position is set twice"},
		{"[output X-1]\nrotation = 45\n",
		 "test.conf:2: [output X-1] rotation '45' is not one of 0, 90, 180, 270"},
		{"[output X-1]\nrotation = 360\n", "test.conf:2: [output X-1] rotation '360'"},
		{"[output X-1]\nrotation = -90\n", "test.conf:2: [output X-1] rotation '-90'"},
		{"[output X-1]\nrotation = 090\n", "test.conf:2: [output X-1] rotation '090'"},
		{"[output X-1]\nrotation = 90\nrotation = 0\n",
		 "test.conf:3: [output X-1] rotation is set twice"},
		{"[output X-1]\ncursor = visible\n",
		 "test.conf:2: [output X-1] cursor 'visible' is not one of shown, hidden"},
		{"[output X-1]\n\ncursor = shown\ncursor = hidden\n",
		 "test.conf:4: [output X-1] cursor is set twice"},
		{"[output X-1]\nblank = on\n",
		 "test.conf:2: [output X-1] blank 'on' is not one of yes, no"},
		{"[output X-1]\nblank = yes\nblank = no\n",
		 "test.conf:3: [output X-1] blank is set twice"},
		{"[output X-1]\nblank-schedule = 22:00\n",
		 "test.conf:2: [output X-1] blank-schedule '22:00' is not HH:MM-HH:MM with HH "
		 "00..23, MM 00..59 and two different times (e.g. 22:00-07:00)"},
		{"[output X-1]\nblank-schedule = 24:00-07:00\n",
		 "test.conf:2: [output X-1] blank-schedule '24:00-07:00' is not HH:MM-HH:MM"},
		{"[output X-1]\nblank-schedule = 22:60-07:00\n",
		 "test.conf:2: [output X-1] blank-schedule '22:60-07:00'"},
		{"[output X-1]\nblank-schedule = 7:00-9:00\n",
		 "test.conf:2: [output X-1] blank-schedule '7:00-9:00'"},
		{"[output X-1]\nblank-schedule = 22:00 - 07:00\n",
		 "test.conf:2: [output X-1] blank-schedule '22:00 - 07:00'"},
		{"[output X-1]\nblank-schedule = 08:15-08:15\n",
		 "test.conf:2: [output X-1] blank-schedule '08:15-08:15'"},
		{"[output X-1]\nblank-schedule = 22:00-07:00\n\nblank-schedule = 23:00-06:00\n",
		 "test.conf:4: [output X-1] blank-schedule is set twice"},
		{"[daemon]\nfocus = mouse\n",
		 "test.conf:2: [daemon] focus 'mouse' is not one of pointer, click"},
		{"[daemon]\nfocus = click\nfocus = click\n",
		 "test.conf:3: [daemon] focus is set twice"},
		{"[daemon]\nhotkey-next-output = Ctrl+Alt+Rigth\n",
		 "test.conf:2: [daemon] hotkey-next-output 'Ctrl+Alt+Rigth' has unknown key "
		 "'Rigth' "
		 "(key names as in linux/input-event-codes.h without KEY_, e.g. Right, F1, A, "
		 "Escape, Space) (or none)"},
		{"[daemon]\nhotkey-prev-output = Ctrl+Alt\n",
		 "test.conf:2: [daemon] hotkey-prev-output 'Ctrl+Alt' has no key after the "
		 "modifiers"},
		{"[daemon]\nhotkey-prev-output = Ctrl++Left\n",
		 "test.conf:2: [daemon] hotkey-prev-output 'Ctrl++Left' has an empty part"},
		{"[daemon]\nhotkey-next-vgpu = Ctrl+Alt+Dwn\n",
		 "test.conf:2: [daemon] hotkey-next-vgpu 'Ctrl+Alt+Dwn' has unknown key 'Dwn'"},
		{"[daemon]\nhotkey-prev-vgpu = none\nhotkey-prev-vgpu = F3\n",
		 "test.conf:3: [daemon] hotkey-prev-vgpu is set twice"},
		{"[daemon]\nhotkey-next-vgpu = Ctrl+Alt+Left\n",
		 "test.conf:2: [daemon] hotkey-prev-output and hotkey-next-vgpu are both "
		 "Ctrl+Alt+Left"},
		{"[daemon]\nhotkey-next-vgpu = F7\nhotkey-prev-vgpu = F7\n",
		 "test.conf:3: [daemon] hotkey-next-vgpu and hotkey-prev-vgpu are both F7"},
		{"[daemon]\nhotkey-next-output = F1\nhotkey-next-output = F2\n",
		 "test.conf:3: [daemon] hotkey-next-output is set twice"},
		{"[daemon]\nhotkey-next-output = Super+N\n\nhotkey-prev-output = super+n\n",
		 "test.conf:4: [daemon] hotkey-next-output and hotkey-prev-output are both "
		 "Super+N"},
		{"[daemon]\nhotkey-prev-output = Alt+Ctrl+Right\n",
		 "test.conf:2: [daemon] hotkey-next-output and hotkey-prev-output are both "
		 "Ctrl+Alt+Right"},
		{"[vgpu v]\nuinput = true\n",
		 "test.conf:2: [vgpu v] uinput 'true' is not one of yes, no"},
		{"[vgpu v]\nuinput = yes\nuinput = no\n",
		 "test.conf:3: [vgpu v] uinput is set twice"},
		{"[touchscreen]\n", "test.conf:1: [touchscreen] needs a device name"},
		{"[touchscreen Bad\tName]\n",
		 "test.conf:1: touchscreen name 'Bad\tName' is not a device name (1..127 printable "
		 "characters)"},
		{"[touchscreen T]\n\n[touchscreen T]\n",
		 "test.conf:3: [touchscreen T] is already defined at line 1"},
		{"[touchscreen T]\nrotation = 90\n",
		 "test.conf:2: unknown key 'rotation' in [touchscreen T] (known keys: output)"},
		{"[touchscreen T]\noutput = HDMI A\n",
		 "test.conf:2: [touchscreen T] output 'HDMI A' is not a connector name"},
		{"[touchscreen T]\noutput = A-1\noutput = A-1\n",
		 "test.conf:3: [touchscreen T] output is set twice"},
		{"[output A-1]\n[output B-1]\n[touchscreen ELAN Touchscreen]\noutput = C-1\n",
		 "test.conf:3: [touchscreen ELAN Touchscreen] output 'C-1' has no [output C-1] "
		 "section"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		struct capture cap;
		config_init(&cfg);
		check_int_eq(parse(&cfg, &cap, cases[i].text), -EINVAL);
		check_contains(cap.text, cases[i].message);
		/* A rejected file leaves the configuration as it was. */
		check(!cfg.log_level_set);
		check(!cfg.control_gid_set);
		check(wl_list_empty(&cfg.outputs));
		check(wl_list_empty(&cfg.vgpus));
		check(wl_list_empty(&cfg.touchscreens));
		check_int_eq(cfg.focus, CONFIG_FOCUS_POINTER);
		config_finish(&cfg);
	}
}

static void test_every_error_reported(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap, "[daemon]\na = 1\nb = 2\nlog-level = x\n"), -EINVAL);
	check_int_eq(cap.lines, 3);
	check_contains(cap.text, "test.conf:2:");
	check_contains(cap.text, "test.conf:3:");
	check_contains(cap.text, "test.conf:4:");
	config_finish(&cfg);
}

static void test_hotkeys_and_cycle(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check(config_cycle_vgpu(&cfg, NULL, true) == NULL);
	check_int_eq(parse(&cfg, &cap,
			   "[daemon]\n"
			   "hotkey-next-vgpu = Ctrl+Alt+Down\n"
			   "hotkey-prev-vgpu = Ctrl+Alt+Up\n"
			   "hotkey-next-output = none\n"
			   "hotkey-prev-output = NONE\n"
			   "[output A-1]\nvgpu = x\n"
			   "[output B-1]\nvgpu = b\n"
			   "[output C-1]\nvgpu = x\n"
			   "[vgpu b]\n[vgpu a]\n"),
		     0);
	check_int_eq(cfg.hotkey_next_vgpu.key, KEY_DOWN);
	check_int_eq(cfg.hotkey_next_vgpu.modifiers, HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT);
	check_int_eq(cfg.hotkey_prev_vgpu.key, KEY_UP);
	/* Two "none" do not clash. */
	check_int_eq(cfg.hotkey_next_output.key, 0);
	check_int_eq(cfg.hotkey_prev_output.key, 0);
	/* Sections first in file order (b, a), then x once. */
	check_str_eq(config_cycle_vgpu(&cfg, "b", true), "a");
	check_str_eq(config_cycle_vgpu(&cfg, "a", true), "x");
	check_str_eq(config_cycle_vgpu(&cfg, "x", true), "b");
	check_str_eq(config_cycle_vgpu(&cfg, "b", false), "x");
	check_str_eq(config_cycle_vgpu(&cfg, "x", false), "a");
	check_str_eq(config_cycle_vgpu(&cfg, NULL, true), "b");
	check_str_eq(config_cycle_vgpu(&cfg, "nobody", false), "x");
	config_finish(&cfg);

	/* Assigning moves vgpu=, not the vGPUs: y still exists when no output shows it. */
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap, "[output A-1]\nvgpu = y\n[output B-1]\nvgpu = z\n"), 0);
	struct config_output *a1 = config_find_output(&cfg, "A-1");
	check_int_eq(config_output_assign(a1, 0, "z"), 0);
	check(config_has_vgpu(&cfg, "y"));
	check_str_eq(config_cycle_vgpu(&cfg, "z", true), "y");
	check_str_eq(config_cycle_vgpu(&cfg, "y", true), "z");
	/* A name only an assignment gave comes after the file's. */
	check_int_eq(config_output_assign(a1, 0, "w"), 0);
	check(config_has_vgpu(&cfg, "w"));
	check_str_eq(config_cycle_vgpu(&cfg, "z", true), "w");
	check_str_eq(config_cycle_vgpu(&cfg, "w", true), "y");
	config_finish(&cfg);
}

static void test_inline_comments(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap,
			   "[daemon]   # the daemon\n"
			   "log-level = debug     # error | warning | info | debug\n"
			   "[output A-1]\n"
			   "placeholder = #102030 # a colour starts with '#'\n"
			   "vgpu = a\t; after a tab, with ';'\n"
			   "rotation = 90#not a comment without whitespace\n"),
		     -EINVAL);
	/* Only the last line is wrong: '#' glued to a value is part of it. */
	check_int_eq(cap.lines, 1);
	check_contains(cap.text, "test.conf:6: [output A-1] rotation '90#not a comment");
	check_int_eq(parse(&cfg, &cap,
			   "[daemon]   # the daemon\n"
			   "log-level = debug     # error | warning | info | debug\n"
			   "[output A-1]\n"
			   "placeholder = #102030 # a colour starts with '#'\n"
			   "vgpu = a\t; after a tab, with ';'\n"
			   "rotation = 90   #\n"),
		     0);
	check_int_eq(cfg.log_level, LOG_LEVEL_DEBUG);
	const struct config_output *a = config_find_output(&cfg, "A-1");
	check(a != NULL);
	check_int_eq(a->placeholder, 0x102030);
	check_str_eq(config_output_vgpu(a, 0), "a");
	check_int_eq(a->rotation, LAYOUT_ROTATION_90);
	config_finish(&cfg);
}

static void test_blank(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap,
			   "[output A-1]\n"
			   "blank = yes\n"
			   "[output B-1]\n"
			   "blank = no\n"
			   "blank-schedule = 22:00-07:00\n"
			   "[output C-1]\n"
			   "blank-schedule = 00:00-23:59\n"
			   "[output D-1]\n"),
		     0);
	check_int_eq(cap.lines, 0);
	const struct config_output *a = config_find_output(&cfg, "A-1");
	check(a->blank);
	check(!a->blank_schedule_set);
	const struct config_output *b = config_find_output(&cfg, "B-1");
	check(!b->blank);
	check(b->blank_schedule_set);
	check_int_eq(b->blank_schedule.start, 22 * 60);
	check_int_eq(b->blank_schedule.end, 7 * 60);
	const struct config_output *c = config_find_output(&cfg, "C-1");
	check(c->blank_schedule_set);
	check_int_eq(c->blank_schedule.start, 0);
	check_int_eq(c->blank_schedule.end, 23 * 60 + 59);
	/* Defaults: lit, no window. */
	const struct config_output *d = config_find_output(&cfg, "D-1");
	check(!d->blank);
	check(!d->blank_schedule_set);
	/* A bad schedule refuses the whole file; the previous one is kept. */
	check_int_eq(parse(&cfg, &cap, "[output A-1]\nblank-schedule = 25:00-01:00\n"), -EINVAL);
	check(config_find_output(&cfg, "A-1")->blank);
	check(config_find_output(&cfg, "B-1") != NULL);
	config_finish(&cfg);
}

static void test_outputs(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap,
			   "[output HDMI-A-1]\n"
			   "mode = 1920x1080@59.94\n"
			   "vgpu = kiosk-a\n"
			   "flip = vsync\n"
			   "placeholder = #a0B1c2\n"
			   "scale = center\n"
			   "\n"
			   "[output card1:Virtual-1]\n"
			   "[ output  DP-2 ]\n"
			   "mode = 800x600\n"
			   "flip = async\n"
			   "scale = stretch\n"
			   "[output DP-3]\n"
			   "scale = fit\n"),
		     0);
	check_int_eq(cap.lines, 0);
	check_int_eq(wl_list_length(&cfg.outputs), 4);

	struct config_output *hdmi = config_find_output(&cfg, "HDMI-A-1");
	check(hdmi != NULL);
	check_int_eq(hdmi->width, 1920);
	check_int_eq(hdmi->height, 1080);
	check_int_eq(hdmi->refresh_mhz, 59940);
	check_int_eq(config_output_n_vgpus(hdmi), 1);
	check_str_eq(config_output_vgpu(hdmi, 0), "kiosk-a");
	check_int_eq(hdmi->flip, CONFIG_FLIP_VSYNC);
	check_int_eq(hdmi->placeholder, 0xa0b1c2);
	check_int_eq(hdmi->scale, KMS_SCALE_CENTER);
	check_int_eq(hdmi->line, 1);

	/* A section without keys still names an output, with every default. */
	struct config_output *virt = config_find_output(&cfg, "card1:Virtual-1");
	check(virt != NULL);
	check_int_eq(virt->width, 0);
	check_int_eq(virt->refresh_mhz, 0);
	check_int_eq(config_output_n_vgpus(virt), 0);
	check(config_output_vgpu(virt, 0) == NULL);
	check_int_eq(virt->flip, CONFIG_FLIP_DEFAULT);
	check_int_eq(virt->placeholder, CONFIG_PLACEHOLDER_DEFAULT);
	check_int_eq(virt->scale, KMS_SCALE_FIT);

	struct config_output *dp = config_find_output(&cfg, "DP-2");
	check(dp != NULL);
	check_int_eq(dp->width, 800);
	check_int_eq(dp->height, 600);
	check_int_eq(dp->refresh_mhz, 0);
	check_int_eq(dp->flip, CONFIG_FLIP_ASYNC);
	check_int_eq(dp->scale, KMS_SCALE_STRETCH);
	check_int_eq(config_find_output(&cfg, "DP-3")->scale, KMS_SCALE_FIT);

	/* File order is kept. */
	struct config_output *first = wl_container_of(cfg.outputs.next, first, link);
	check_str_eq(first->name, "HDMI-A-1");

	/* A second good parse replaces the first. */
	check_int_eq(parse(&cfg, &cap, "[output X-1]\n"), 0);
	check_int_eq(wl_list_length(&cfg.outputs), 1);
	check(config_find_output(&cfg, "HDMI-A-1") == NULL);
	config_finish(&cfg);
	check(wl_list_empty(&cfg.outputs));
}

static void test_daemon_and_vgpus(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap,
			   "[daemon]\nseat = seat1\nsocket = /run/x/vscanout-3\n"
			   "max-clients = 100\nmax-clients-per-uid = 7\n"
			   "[vgpu kiosk-a]\nallow-uid = 1000, root 1001\nallow-gid = 0,44\n"
			   "edid = generate\npoll = 16ms\n"
			   "[vgpu closed]\n"
			   "[vgpu slow]\npoll = 10000ms\nedid = off\n"
			   "[vgpu fast]\npoll = 1ms\nedid = monitor\n"
			   "[vgpu paced]\npoll = vblank\n"
			   "[output A-1]\nvgpu = implied\n"),
		     0);
	check_int_eq(cap.lines, 0);
	check_str_eq(cfg.seat, "seat1");
	check_str_eq(cfg.socket_path, "/run/x/vscanout-3");
	check_int_eq(cfg.max_clients, 100);
	check_int_eq(cfg.max_clients_per_uid, 7);
	char path[128];
	check_int_eq(config_socket_path(&cfg, path, sizeof(path)), 0);
	check_str_eq(path, "/run/x/vscanout-3");
	check_int_eq(config_socket_path(&cfg, path, 8), -ENAMETOOLONG);

	struct config_vgpu *kiosk = config_find_vgpu(&cfg, "kiosk-a");
	check(kiosk != NULL);
	check_int_eq(kiosk->n_allow_uids, 3);
	check_int_eq(kiosk->allow_uids[0], 1000);
	check_int_eq(kiosk->allow_uids[1], 0);
	check_int_eq(kiosk->allow_uids[2], 1001);
	check_int_eq(kiosk->n_allow_gids, 2);
	check_int_eq(kiosk->allow_gids[1], 44);

	/* Root always; others by uid or primary gid; nobody else. */
	check(config_vgpu_allows(&cfg, "kiosk-a", 0, 0, NULL, 0));
	check(config_vgpu_allows(&cfg, "kiosk-a", 1001, 100, NULL, 0));
	check(config_vgpu_allows(&cfg, "kiosk-a", 2000, 44, NULL, 0));
	check(!config_vgpu_allows(&cfg, "kiosk-a", 2000, 100, NULL, 0));
	check(!config_vgpu_allows(&cfg, "closed", 1000, 44, NULL, 0));
	check(config_vgpu_allows(&cfg, "closed", 0, 0, NULL, 0));
	/* A vGPU only named by an output admits root alone. */
	check(config_has_vgpu(&cfg, "implied"));
	check(config_vgpu_allows(&cfg, "implied", 0, 0, NULL, 0));
	check(!config_vgpu_allows(&cfg, "implied", 1000, 1000, NULL, 0));
	/* allow-gid counts the supplementary groups too. */
	const gid_t sup[] = {27, 100, 44};
	check(config_vgpu_allows(&cfg, "kiosk-a", 2000, 100, sup, 3));
	check(!config_vgpu_allows(&cfg, "kiosk-a", 2000, 100, sup, 2));
	check(!config_vgpu_allows(&cfg, "closed", 2000, 44, sup, 3));
	check(config_has_vgpu(&cfg, "closed"));
	check(!config_has_vgpu(&cfg, "unknown"));

	/* VFIO settings: set, defaulted in a section, defaulted without one. */
	static const struct {
		const char *name;
		uint32_t poll_interval_ms;
		enum config_edid edid;
	} vfio[] = {
		{"kiosk-a", 16, CONFIG_EDID_GENERATE}, {"closed", 0, CONFIG_EDID_MONITOR},
		{"slow", 10000, CONFIG_EDID_OFF},      {"fast", 1, CONFIG_EDID_MONITOR},
		{"paced", 0, CONFIG_EDID_MONITOR},     {"implied", 0, CONFIG_EDID_MONITOR},
		{"unknown", 0, CONFIG_EDID_MONITOR},
	};
	for (size_t i = 0; i < sizeof(vfio) / sizeof(vfio[0]); i++) {
		uint32_t poll = 12345;
		enum config_edid edid = CONFIG_EDID_OFF + 1;
		config_vgpu_settings(&cfg, vfio[i].name, &poll, &edid);
		check_int_eq(poll, vfio[i].poll_interval_ms);
		check_int_eq(edid, vfio[i].edid);
	}
	check_int_eq(config_find_vgpu(&cfg, "kiosk-a")->poll_interval_ms, 16);
	check_int_eq(config_find_vgpu(&cfg, "slow")->edid, CONFIG_EDID_OFF);

	/* Without control-group only root may use the control interface. */
	check(!cfg.control_gid_set);
	const gid_t groups[] = {0, 44};
	check(config_control_allows(&cfg, 0, 0, NULL, 0));
	check(config_control_allows(&cfg, 0, 1000, NULL, 0));
	check(!config_control_allows(&cfg, 1000, 0, groups, 2));
	config_finish(&cfg);

	/* Default socket paths. */
	config_init(&cfg);
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	check_int_eq(config_socket_path(&cfg, path, sizeof(path)), 0);
	check_str_eq(path, "/run/user/1000/vscanout-0");
	unsetenv("XDG_RUNTIME_DIR");
	check_int_eq(config_socket_path(&cfg, path, sizeof(path)), 0);
	check_str_eq(path, "/run/vscanout/vscanout-0");
	config_finish(&cfg);
}

static void test_vgpu_clock(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap,
			   "[output A-1]\nvgpu = v\n"
			   "[output card1:B-1]\nvgpu = v\n"
			   "[output C-1]\nvgpu = w\n"
			   "[vgpu v]\nclock = card1:B-1\n"
			   "[vgpu w]\n"),
		     0);
	check_int_eq(cap.lines, 0);
	check_str_eq(config_vgpu_clock(&cfg, "v"), "card1:B-1");
	check_str_eq(config_find_vgpu(&cfg, "v")->clock, "card1:B-1");
	check_int_eq(config_find_vgpu(&cfg, "v")->clock_line, 8);
	/* Unset, or no [vgpu] section: the first output showing it. */
	check(config_vgpu_clock(&cfg, "w") == NULL);
	check(config_vgpu_clock(&cfg, "nothing") == NULL);
	config_finish(&cfg);

	/* The [vgpu] section may come before the outputs. */
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap,
			   "[vgpu v]\nclock = B-1\n[output A-1]\nvgpu = v\n"
			   "[output B-1]\nvgpu = v\n"),
		     0);
	check_str_eq(config_vgpu_clock(&cfg, "v"), "B-1");
	config_finish(&cfg);

	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		/* An output without a section. */
		{"[output A-1]\nvgpu = v\n[output B-1]\nvgpu = v\n[vgpu v]\n\nclock = Z-9\n",
		 "test.conf:7: [vgpu v] clock 'Z-9' has no [output] section (allowed: A-1, B-1)"},
		/* An output that shows another vGPU, or nothing. */
		{"[vgpu v]\nclock = B-1\n[output A-1]\nvgpu = v\n[output B-1]\nvgpu = w\n",
		 "test.conf:2: [vgpu v] clock 'B-1' is an output that does not show this vgpu "
		 "(allowed: A-1)"},
		{"[output A-1]\n[vgpu v]\nclock = A-1\n",
		 "test.conf:3: [vgpu v] clock 'A-1' is an output that does not show this vgpu (no "
		 "[output] section has vgpu = v)"},
		{"[vgpu v]\nclock = A-1\n",
		 "test.conf:2: [vgpu v] clock 'A-1' has no [output] section (no [output] section "
		 "has vgpu = v)"},
		{"[output A-1]\nvgpu = v\n[vgpu v]\nclock = A 1\n",
		 "test.conf:4: [vgpu v] clock 'A 1' is not an output name like HDMI-A-1"},
		{"[output A-1]\nvgpu = v\n[vgpu v]\nclock = A-1\nclock = A-1\n",
		 "test.conf:5: [vgpu v] clock is set twice"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&cfg);
		check_int_eq(parse(&cfg, &cap, cases[i].text), -EINVAL);
		check_int_eq(cap.lines, 1);
		check_contains(cap.text, cases[i].message);
		check(wl_list_empty(&cfg.vgpus));
		config_finish(&cfg);
	}
}

static void test_vgpu_qemu(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap,
			   "[vgpu a]\nqemu = qmp:/run/vm-a.qmp\n"
			   "[vgpu b]\nqemu = dbus:unix:path=/run/libvirt/qemu/dbus/b-dbus.sock\n"
			   "qemu-console = 2\n"
			   "[vgpu c]\n"
			   "[vgpu d]\nvfio-from = qmp:/run/vm-d.qmp\n"
			   "mdev = 4B20D080-1b54-4048-85b3-a6a62d165c01\n"),
		     0);
	check_int_eq(cap.lines, 0);
	check_str_eq(config_find_vgpu(&cfg, "d")->vfio_from, "qmp:/run/vm-d.qmp");
	check_str_eq(config_find_vgpu(&cfg, "d")->mdev, "4B20D080-1b54-4048-85b3-a6a62d165c01");
	check(config_find_vgpu(&cfg, "a")->vfio_from == NULL);
	check_str_eq(config_find_vgpu(&cfg, "a")->qemu, "qmp:/run/vm-a.qmp");
	check_int_eq(config_find_vgpu(&cfg, "a")->qemu_console, -1);
	check_str_eq(config_find_vgpu(&cfg, "b")->qemu,
		     "dbus:unix:path=/run/libvirt/qemu/dbus/b-dbus.sock");
	check_int_eq(config_find_vgpu(&cfg, "b")->qemu_console, 2);
	check(config_find_vgpu(&cfg, "c")->qemu == NULL);
	config_finish(&cfg);

	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{"[vgpu v]\nqemu = /run/vm.qmp\n",
		 "test.conf:2: [vgpu v] qemu '/run/vm.qmp' is not qmp:/PATH (QEMU's QMP socket) or "
		 "dbus:ADDRESS"},
		{"[vgpu v]\nqemu = qmp:run/vm.qmp\n",
		 "test.conf:2: [vgpu v] qemu 'qmp:run/vm.qmp': the QMP socket must be an absolute "
		 "path"},
		{"[vgpu v]\nqemu = dbus:session\n",
		 "test.conf:2: [vgpu v] qemu 'dbus:session': 'session' is not a D-Bus address"},
		{"[vgpu v]\nqemu = qmp:/a\nqemu = qmp:/b\n",
		 "test.conf:3: [vgpu v] qemu is set twice"},
		{"[vgpu v]\nqemu-console = one\n",
		 "test.conf:2: [vgpu v] qemu-console 'one' is not a number from 0 to 255"},
		{"[vgpu v]\nqemu-console = 256\n",
		 "test.conf:2: [vgpu v] qemu-console '256' is not a number from 0 to 255"},
		{"[vgpu v]\nqemu-console = -1\n",
		 "test.conf:2: [vgpu v] qemu-console '-1' is not a number from 0 to 255"},
		{"[vgpu v]\nvfio-from = /run/vm.qmp\nmdev = 4b20d080-1b54-4048-85b3-a6a62d165c01\n",
		 "test.conf:2: [vgpu v] vfio-from '/run/vm.qmp' is not qmp:/PATH"},
		{"[vgpu v]\nvfio-from = qmp:/run/vm.qmp\nmdev = 4b20d080-1b54\n",
		 "test.conf:3: [vgpu v] mdev '4b20d080-1b54' is not a UUID"},
		{"[vgpu v]\nvfio-from = qmp:/run/vm.qmp\n",
		 "test.conf:2: [vgpu v] vfio-from needs mdev (the UUID of the mediated device)"},
		{"[vgpu v]\nmdev = 4b20d080-1b54-4048-85b3-a6a62d165c01\n",
		 "test.conf:1: [vgpu v] mdev needs vfio-from"},
		{"[vgpu v]\nqemu = qmp:/run/a.qmp\nvfio-from = qmp:/run/a.qmp\n"
		 "mdev = 4b20d080-1b54-4048-85b3-a6a62d165c01\n",
		 "test.conf:3: [vgpu v] has both qemu and vfio-from"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&cfg);
		check_int_eq(parse(&cfg, &cap, cases[i].text), -EINVAL);
		check_int_eq(cap.lines, 1);
		check_contains(cap.text, cases[i].message);
		config_finish(&cfg);
	}
}

static void test_several_vgpus(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap,
			   "[output A-1]\nvgpu = a,b ,  c\t, d\n"
			   "[output B-1]\nvgpu = x, y\nlayout = rows\n"
			   "[output C-1]\nlayout = pip\nvgpu = p, q\n"
			   "[output D-1]\nvgpu = s\n"
			   "[output E-1]\nvgpu = g1, g2, g3\nlayout = grid\n"
			   "[output F-1]\nregion r2 = 960,0 960x1080\nvgpu = r1, r2\n"
			   "region r1 = 0, 0  960x1080\n"
			   "[output G-1]\nvgpu = r3\nlayout = regions\nregion r3 = 10,20 30x40\n"
			   "[vgpu c]\nclock = A-1\n"),
		     0);
	check_int_eq(cap.lines, 0);
	struct config_output *a = config_find_output(&cfg, "A-1");
	check_int_eq(config_output_n_vgpus(a), 4);
	static const char *const abcd[] = {"a", "b", "c", "d"};
	for (size_t i = 0; i < 4; i++) {
		check_str_eq(config_output_vgpu(a, i), abcd[i]);
		check_int_eq(config_output_vgpu_index(a, abcd[i]), (int)i);
	}
	check(config_output_vgpu(a, 4) == NULL);
	check_int_eq(config_output_vgpu_index(a, "x"), -1);
	check_int_eq(a->layout, CONFIG_LAYOUT_COLUMNS);
	check_int_eq(config_find_output(&cfg, "B-1")->layout, CONFIG_LAYOUT_ROWS);
	check_int_eq(config_find_output(&cfg, "C-1")->layout, CONFIG_LAYOUT_PIP);
	check_int_eq(config_find_output(&cfg, "D-1")->layout, CONFIG_LAYOUT_COLUMNS);
	check_int_eq(config_find_output(&cfg, "E-1")->layout, CONFIG_LAYOUT_GRID);
	check_str_eq(config_layout_name(CONFIG_LAYOUT_GRID), "grid");
	/* Region keys mean layout = regions and are kept by slot, whatever their order. */
	struct config_output *f = config_find_output(&cfg, "F-1");
	check_int_eq(f->layout, CONFIG_LAYOUT_REGIONS);
	check_int_eq(f->regions[0].x, 0);
	check_int_eq(f->regions[0].width, 960);
	check_int_eq(f->regions[1].x, 960);
	check_int_eq(f->regions[1].y, 0);
	check_int_eq(f->regions[1].width, 960);
	check_int_eq(f->regions[1].height, 1080);
	struct config_output *g = config_find_output(&cfg, "G-1");
	check_int_eq(g->layout, CONFIG_LAYOUT_REGIONS);
	check_int_eq(g->regions[0].x, 10);
	check_int_eq(g->regions[0].y, 20);
	check_int_eq(g->regions[0].width, 30);
	check_int_eq(g->regions[0].height, 40);
	/* Every vGPU of every output is one of the configuration, each once. */
	check(config_has_vgpu(&cfg, "d"));
	check(config_has_vgpu(&cfg, "q"));
	check(!config_has_vgpu(&cfg, "e"));
	check_int_eq(config_vgpu_count(&cfg), 15);
	check_str_eq(config_cycle_vgpu(&cfg, NULL, true), "c");
	check_str_eq(config_cycle_vgpu(&cfg, "c", true), "a");
	check_str_eq(config_cycle_vgpu(&cfg, "b", true), "d");
	check_str_eq(config_cycle_vgpu(&cfg, "d", true), "x");
	check_str_eq(config_cycle_vgpu(&cfg, "r3", true), "c");

	/* Assigning: replace, swap, add on top. */
	check_int_eq(config_output_assign(a, 1, "e"), 0);
	check_str_eq(config_output_vgpu(a, 1), "e");
	check(config_has_vgpu(&cfg, "b")); /* the file's b is kept */
	check(config_has_vgpu(&cfg, "e"));
	check_int_eq(config_vgpu_count(&cfg), 16);
	check_int_eq(config_output_assign(a, 0, "d"), 0);
	check_str_eq(config_output_vgpu(a, 0), "d");
	check_str_eq(config_output_vgpu(a, 3), "a");
	check_int_eq(config_output_n_vgpus(a), 4);
	check_int_eq(config_output_assign(a, 2, "c"), 0);       /* already there */
	check_int_eq(config_output_assign(a, 4, "z"), -EINVAL); /* full */
	check_int_eq(config_output_assign(a, 0, "not a name"), -EINVAL);
	struct config_output *d = config_find_output(&cfg, "D-1");
	check_int_eq(config_output_assign(d, 2, "t"), -EINVAL); /* past the top */
	check_int_eq(config_output_assign(d, 1, "s"), -EINVAL); /* would be there twice */
	check_int_eq(config_output_assign(d, 1, "t"), 0);
	check_int_eq(config_output_n_vgpus(d), 2);
	check_str_eq(config_output_vgpu(d, 1), "t");
	/* Explicit regions: only the slots that have one; swapping keeps the regions. */
	check_int_eq(config_output_assign(f, 2, "r3"), -EINVAL);
	check_int_eq(config_output_assign(f, 0, "r2"), 0);
	check_str_eq(config_output_vgpu(f, 0), "r2");
	check_str_eq(config_output_vgpu(f, 1), "r1");
	check_int_eq(f->regions[0].x, 0);
	check_int_eq(f->regions[1].x, 960);
	config_finish(&cfg);

	/* An output without vgpu= that gets one by assignment. */
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap, "[output A-1]\n[vgpu v]\n"), 0);
	a = config_find_output(&cfg, "A-1");
	check_int_eq(config_output_n_vgpus(a), 0);
	check(config_output_vgpu(a, 0) == NULL);
	check_int_eq(config_output_assign(a, 1, "v"), -EINVAL);
	check_int_eq(config_output_assign(a, 0, "v"), 0);
	check_int_eq(config_output_vgpu_index(a, "v"), 0);
	config_finish(&cfg);

	/* A [vgpu]'s clock is any output that shows it among others. */
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{"[output X-1]\nvgpu = a, b, c, d, e\n",
		 "test.conf:2: [output X-1] vgpu 'a, b, c, d, e' names more than 4 vGPUs"},
		{"[output X-1]\nvgpu = a, b, a\n",
		 "test.conf:2: [output X-1] vgpu 'a, b, a' names a twice"},
		{"[output X-1]\nvgpu = a,,b\n",
		 "test.conf:2: [output X-1] vgpu '' is not a name (1..63 letters, digits, '-', "
		 "'_', '.'; several are separated by commas)"},
		{"[output X-1]\nvgpu = a,\n", "test.conf:2: [output X-1] vgpu '' is not a name"},
		{"[output X-1]\nvgpu = a, b c\n",
		 "test.conf:2: [output X-1] vgpu 'b c' is not a name"},
		{"[output X-1]\nvgpu = a\nlayout = tiles\n",
		 "test.conf:3: [output X-1] layout 'tiles' is not one of columns, rows, grid, pip, "
		 "regions"},
		{"[output X-1]\nvgpu = a\nlayout = rows\nlayout = rows\n",
		 "test.conf:4: [output X-1] layout is set twice"},
		{"[output X-1]\nvgpu = a, b\nlayout = regions\n[output Y-1]\n",
		 "test.conf:3: [output X-1] layout = regions needs a region key per vGPU of vgpu= "
		 "(region NAME = X,Y WxH)"},
		{"[output X-1]\nvgpu = a, b\nlayout = grid\nregion a = 0,0 1x1\nregion b = 1,1 "
		 "1x1\n",
		 "test.conf:3: [output X-1] layout grid does not go with region keys (they mean "
		 "layout = regions)"},
		{"[output X-1]\nvgpu = a, b\nregion a = 0,0 1x1\n\n",
		 "test.conf:2: [output X-1] vgpu b has no region (with region keys, every vGPU of "
		 "vgpu= needs one: region b = X,Y WxH)"},
		{"[output X-1]\nregion c = 0,0 1x1\nvgpu = a\nregion a = 0,0 1x1\n",
		 "test.conf:2: [output X-1] region c: 'c' is not in vgpu = a"},
		{"[output X-1]\nregion a = 0,0 1x1\n[output Y-1]\nvgpu = a\n",
		 "test.conf:2: [output X-1] region a: the output has no vgpu="},
		{"[output X-1]\nvgpu = a\nregion a = 0,0 0x10\n",
		 "test.conf:3: [output X-1] region a '0,0 0x10' is not X,Y WxH with X, Y from 0 "
		 "and "
		 "W, H from 1 (e.g. 0,0 960x1080)"},
		{"[output X-1]\nvgpu = a\nregion a = 0,0 10x0\n",
		 "test.conf:3: [output X-1] region a '0,0 10x0'"},
		{"[output X-1]\nvgpu = a\nregion a = -1,0 10x10\n",
		 "region a '-1,0 10x10' is not X,Y WxH"},
		{"[output X-1]\nvgpu = a\nregion a = 0,0,10x10\n",
		 "region a '0,0,10x10' is not X,Y WxH"},
		{"[output X-1]\nvgpu = a\nregion a = 0,010x10\n",
		 "region a '0,010x10' is not X,Y WxH"},
		{"[output X-1]\nvgpu = a\nregion a = 0,0 10 x10\n", "region a '0,0 10 x10' is not"},
		{"[output X-1]\nvgpu = a\nregion a = 0,0 10x\n", "region a '0,0 10x' is not"},
		{"[output X-1]\nvgpu = a\nregion a = 0,0 10x10x\n", "region a '0,0 10x10x' is not"},
		{"[output X-1]\nvgpu = a\nregion a = 0,0 16385x1\n",
		 "region a '0,0 16385x1' is not"},
		{"[output X-1]\nvgpu = a\nregion a = 99999999999999999999,0 1x1\n",
		 "is not X,Y WxH"},
		{"[output X-1]\nvgpu = a\nregion a = 16000,0 1000x1\n",
		 "test.conf:3: [output X-1] region a '16000,0 1000x1' reaches past 16384 pixels"},
		{"[output X-1]\nvgpu = a\nregion a = 0,16384 1x1\n",
		 "region a '0,16384 1x1' is not"},
		{"[output X-1]\nvgpu = a\nregion a = 0,0 1x1\nregion a = 0,0 2x2\n",
		 "test.conf:4: [output X-1] region a is set twice"},
		{"[output X-1]\nvgpu = a\nregion = 0,0 1x1\n",
		 "test.conf:3: [output X-1] region '' needs a vGPU name of vgpu= (e.g. region "
		 "kiosk-a = 0,0 960x1080)"},
		{"[output X-1]\nvgpu = a\nregion a b = 0,0 1x1\n",
		 "region 'a b' needs a vGPU name"},
		{"[output X-1]\nvgpu = a\nregions a = 0,0 1x1\n",
		 "test.conf:3: unknown key 'regions a' in [output X-1]"},
		{"[output X-1]\nvgpu = a\nregion a = 0,0 1x1\nregion b = 0,0 1x1\nregion c = 0,0 "
		 "1x1\nregion d = 0,0 1x1\nregion e = 0,0 1x1\n",
		 "test.conf:7: [output X-1] region e: more than 4 regions (one per vGPU of vgpu=)"},
		{"[output A-1]\nvgpu = v, w\n[output B-1]\nvgpu = w, v\n[output C-1]\nvgpu = w\n"
		 "[vgpu v]\nclock = C-1\n",
		 "test.conf:8: [vgpu v] clock 'C-1' is an output that does not show this vgpu "
		 "(allowed: A-1, B-1)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&cfg);
		check_int_eq(parse(&cfg, &cap, cases[i].text), -EINVAL);
		check_contains(cap.text, cases[i].message);
		check(wl_list_empty(&cfg.outputs));
		config_finish(&cfg);
	}

	/* A section's end is found by a syntax error in a header too. */
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap, "[output X-1]\nvgpu = a\nlayout = regions\n[bad\n"),
		     -EINVAL);
	check_contains(cap.text, "test.conf:3: [output X-1] layout = regions needs a region key");
	check_contains(cap.text, "test.conf:4: syntax error");
	check_int_eq(cap.lines, 2);
	config_finish(&cfg);
}

static void test_control_group(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap, "[daemon]\ncontrol-group = 44\n"), 0);
	check_int_eq(cap.lines, 0);
	check(cfg.control_gid_set);
	check_int_eq(cfg.control_gid, 44);

	/* Root always; others by primary or supplementary group. */
	const gid_t with[] = {5, 44, 100}, without[] = {5, 100};
	check(config_control_allows(&cfg, 0, 0, NULL, 0));
	check(config_control_allows(&cfg, 1000, 44, NULL, 0));
	check(config_control_allows(&cfg, 1000, 1000, with, 3));
	check(!config_control_allows(&cfg, 1000, 1000, without, 2));
	check(!config_control_allows(&cfg, 1000, 1000, NULL, 0));
	check(!config_control_allows(&cfg, 1000, 0, without, 2));

	/* Kept by config_move(), through a second parse. */
	struct config other;
	config_init(&other);
	config_move(&other, &cfg);
	check(!cfg.control_gid_set);
	check(other.control_gid_set);
	check_int_eq(other.control_gid, 44);
	config_finish(&other);

	/* A group name, resolved like allow-gid. */
	check_int_eq(parse(&cfg, &cap, "[daemon]\ncontrol-group = root\n"), 0);
	check(cfg.control_gid_set);
	check_int_eq(cfg.control_gid, 0);
	check(config_control_allows(&cfg, 1000, 1000, with, 1) == false);
	check(config_control_allows(&cfg, 1000, 0, NULL, 0));
	/* A later file without it drops it. */
	check_int_eq(parse(&cfg, &cap, "[daemon]\n"), 0);
	check(!cfg.control_gid_set);
	config_finish(&cfg);
}

/* Users and groups by name, looked up as the file is read. */
static void test_names(void)
{
	struct passwd *pw = getpwnam("daemon");
	struct group *gr = getgrnam("root");
	check(pw != NULL && gr != NULL);
	uid_t daemon_uid = pw->pw_uid;
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	check_int_eq(
		parse(&cfg, &cap, "[vgpu v]\nallow-uid = daemon, 1000 root\nallow-gid = root,44\n"),
		0);
	check_int_eq(cap.lines, 0);
	struct config_vgpu *v = config_find_vgpu(&cfg, "v");
	check(v != NULL);
	check_int_eq(v->n_allow_uids, 3);
	check_int_eq(v->allow_uids[0], daemon_uid);
	check_int_eq(v->allow_uids[1], 1000);
	check_int_eq(v->allow_uids[2], 0);
	check_int_eq(v->n_allow_gids, 2);
	check_int_eq(v->allow_gids[0], 0);
	check_int_eq(v->allow_gids[1], 44);
	check(config_vgpu_allows(&cfg, "v", daemon_uid, 12345, NULL, 0));

	/* One line naming the key and the name; the whole file is refused. */
	check_int_eq(
		parse(&cfg, &cap,
		      "[vgpu w]\nallow-uid = 1000\n[vgpu q]\nallow-uid = 7, qemu-nobody-has\n"),
		-EINVAL);
	check_int_eq(cap.lines, 1);
	check_str_eq(cap.text, "test.conf:4: [vgpu q] allow-uid: no user 'qemu-nobody-has' on this "
			       "system (a user id, or the name of an existing user)\n");
	check(config_find_vgpu(&cfg, "v") != NULL);
	check(config_find_vgpu(&cfg, "w") == NULL);
	config_finish(&cfg);
}

/* --seat against [daemon] seat. */
static void test_require_seat(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	/* No seat = in the file: the option decides. */
	check_int_eq(parse(&cfg, &cap, "[daemon]\nlog-level = info\n"), 0);
	check(cfg.seat == NULL);
	check_int_eq(config_require_seat(&cfg, "seat1", "test.conf"), 0);
	check_str_eq(cfg.seat, "seat1");

	/* The same seat: fine. */
	check_int_eq(parse(&cfg, &cap, "[daemon]\nseat = seat1\n"), 0);
	check_int_eq(config_require_seat(&cfg, "seat1", "test.conf"), 0);
	check_str_eq(cfg.seat, "seat1");

	/* Another seat: an error naming the file, the line and both seats. */
	check_int_eq(parse(&cfg, &cap, "# seat 0\n[daemon]\n\nseat = seat0\n"), 0);
	memset(&cap, 0, sizeof(cap));
	log_set_sink(capture_sink, &cap);
	check_int_eq(config_require_seat(&cfg, "seat1", "/etc/vscanout/seat1.conf"), -EINVAL);
	log_set_sink(NULL, NULL);
	check_int_eq(cap.lines, 1);
	check_str_eq(cap.text, "/etc/vscanout/seat1.conf:4: [daemon] seat = seat0, but vscanoutd "
			       "was started for seat seat1 (--seat seat1)\n");
	check_str_eq(cfg.seat, "seat0");
	config_finish(&cfg);
}

static void test_input(void)
{
	struct config cfg;
	struct capture cap;
	config_init(&cfg);
	/* Defaults. */
	check_int_eq(cfg.focus, CONFIG_FOCUS_POINTER);
	check_int_eq(cfg.hotkey_next_output.key, KEY_RIGHT);
	check_int_eq(cfg.hotkey_next_output.modifiers, HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT);
	check_int_eq(cfg.hotkey_prev_output.key, KEY_LEFT);
	check_int_eq(cfg.hotkey_prev_output.modifiers, HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT);
	check_int_eq(cfg.hotkey_next_vgpu.key, 0);
	check_int_eq(cfg.hotkey_prev_vgpu.key, 0);
	check(wl_list_empty(&cfg.touchscreens));

	check_int_eq(parse(&cfg, &cap,
			   "[daemon]\n"
			   "focus = click\n"
			   "hotkey-next-output = Super+F2\n"
			   "hotkey-prev-output = Ctrl + Shift + Alt + Escape\n"
			   "[output A-1]\n"
			   "position = -1920, 32767\n"
			   "rotation = 270\n"
			   "cursor = hidden\n"
			   "[output B-1]\n"
			   "position = 0,0\n"
			   "rotation = 90\n"
			   "cursor = shown\n"
			   "[output C-1]\n"
			   "rotation = 180\n"
			   "[output D-1]\n"
			   "rotation = 0\n"
			   "[vgpu v]\n"
			   "uinput = yes\n"
			   "[vgpu w]\n"
			   "uinput = no\n"
			   "[touchscreen ELAN Touchscreen (2)]\n"
			   "output = B-1\n"
			   "[touchscreen Wacom HID 4F Finger]\n"),
		     0);
	check_int_eq(cap.lines, 0);
	check_int_eq(cfg.focus, CONFIG_FOCUS_CLICK);
	check_int_eq(cfg.hotkey_next_output.key, KEY_F2);
	check_int_eq(cfg.hotkey_next_output.modifiers, HOTKEY_MOD_SUPER);
	check_int_eq(cfg.hotkey_prev_output.key, KEY_ESC);
	check_int_eq(cfg.hotkey_prev_output.modifiers,
		     HOTKEY_MOD_CTRL | HOTKEY_MOD_SHIFT | HOTKEY_MOD_ALT);

	struct config_output *a = config_find_output(&cfg, "A-1");
	check(a->position_set);
	check_int_eq(a->x, -1920);
	check_int_eq(a->y, 32767);
	check_int_eq(a->rotation, LAYOUT_ROTATION_270);
	check_int_eq(a->cursor, CONFIG_CURSOR_HIDDEN);
	struct config_output *b = config_find_output(&cfg, "B-1");
	check(b->position_set);
	check_int_eq(b->x, 0);
	check_int_eq(b->y, 0);
	check_int_eq(b->rotation, LAYOUT_ROTATION_90);
	check_int_eq(b->cursor, CONFIG_CURSOR_SHOWN);
	struct config_output *c = config_find_output(&cfg, "C-1");
	check(!c->position_set);
	check_int_eq(c->rotation, LAYOUT_ROTATION_180);
	check_int_eq(c->cursor, CONFIG_CURSOR_SHOWN);
	check_int_eq(config_find_output(&cfg, "D-1")->rotation, LAYOUT_ROTATION_0);

	check(config_find_vgpu(&cfg, "v")->uinput);
	check(!config_find_vgpu(&cfg, "w")->uinput);
	check(config_vgpu_uinput(&cfg, "v"));
	check(!config_vgpu_uinput(&cfg, "w"));
	check(!config_vgpu_uinput(&cfg, "unknown"));

	/* Touchscreens: bound, defaulted to the first output, or unknown. */
	check_int_eq(wl_list_length(&cfg.touchscreens), 2);
	struct config_touchscreen *elan = config_find_touchscreen(&cfg, "ELAN Touchscreen (2)");
	check(elan != NULL);
	check_int_eq(elan->line, 21);
	check_str_eq(elan->output, "B-1");
	check_str_eq(config_find_touchscreen(&cfg, "Wacom HID 4F Finger")->output, "A-1");
	check_str_eq(config_touchscreen_output(&cfg, "ELAN Touchscreen (2)"), "B-1");
	check_str_eq(config_touchscreen_output(&cfg, "Wacom HID 4F Finger"), "A-1");
	check_str_eq(config_touchscreen_output(&cfg, "other"), "A-1");

	/* Kept by config_move(). */
	struct config other;
	config_init(&other);
	config_move(&other, &cfg);
	check(wl_list_empty(&cfg.touchscreens));
	check_int_eq(cfg.focus, CONFIG_FOCUS_POINTER);
	check_int_eq(cfg.hotkey_next_output.key, KEY_RIGHT);
	check_int_eq(other.focus, CONFIG_FOCUS_CLICK);
	check_int_eq(other.hotkey_next_output.key, KEY_F2);
	check_int_eq(wl_list_length(&other.touchscreens), 2);
	check_str_eq(config_touchscreen_output(&other, "ELAN Touchscreen (2)"), "B-1");
	config_finish(&other);

	/* Without [output] sections, a touchscreen may name any connector. */
	check_int_eq(parse(&cfg, &cap, "[touchscreen T]\noutput = card1:eDP-1\n[touchscreen U]\n"),
		     0);
	check_str_eq(config_touchscreen_output(&cfg, "T"), "card1:eDP-1");
	check(config_find_touchscreen(&cfg, "U")->output == NULL);
	check(config_touchscreen_output(&cfg, "U") == NULL);
	check(config_touchscreen_output(&cfg, "other") == NULL);
	/* A later file without them drops them and restores the defaults. */
	check_int_eq(parse(&cfg, &cap, "[daemon]\n"), 0);
	check(wl_list_empty(&cfg.touchscreens));
	check_int_eq(cfg.focus, CONFIG_FOCUS_POINTER);
	config_finish(&cfg);
}

static void test_mode_and_colour(void)
{
	uint32_t w = 1, h = 1, r = 1;
	check_int_eq(config_parse_mode("preferred", &w, &h, &r), 0);
	check(w == 0 && h == 0 && r == 0);
	check_int_eq(config_parse_mode("1x1@1000", &w, &h, &r), 0);
	check(w == 1 && h == 1 && r == 1000000);
	check_int_eq(config_parse_mode("16384x16384@0.5", &w, &h, &r), 0);
	check(w == 16384 && h == 16384 && r == 500);
	check_int_eq(config_parse_mode("1024x768@1001", &w, &h, &r), -EINVAL);
	check_int_eq(config_parse_mode("-1x768", &w, &h, &r), -EINVAL);
	check_int_eq(config_parse_mode("1024 x 768", &w, &h, &r), -EINVAL);
	check_int_eq(config_parse_mode("", &w, &h, &r), -EINVAL);
	/* Failures leave the outputs alone. */
	check(w == 16384 && h == 16384 && r == 500);

	uint32_t rgb = 7;
	check_int_eq(config_parse_colour("#FFffFF", &rgb), 0);
	check_int_eq(rgb, 0xffffff);
	check_int_eq(config_parse_colour("#000000", &rgb), 0);
	check_int_eq(rgb, 0);
	check_int_eq(config_parse_colour("000000", &rgb), -EINVAL);
	check_int_eq(config_parse_colour("#0000000", &rgb), -EINVAL);
}

static void test_missing_file(void)
{
	struct config cfg;
	struct capture cap = {0};
	config_init(&cfg);
	log_set_sink(capture_sink, &cap);
	check_int_eq(config_load(&cfg, "/nonexistent/vscanout.conf"), -ENOENT);
	log_set_sink(NULL, NULL);
	check_contains(cap.text, "cannot open configuration file /nonexistent/vscanout.conf: No "
				 "such file or directory");
	config_finish(&cfg);
}

/* Append to text (size bytes) what printf would print; checks that it fits. */
static void append(char *text, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *text, size_t size, const char *fmt, ...)
{
	size_t len = strlen(text);
	va_list args;
	va_start(args, fmt);
	int n = vsnprintf(text + len, size - len, fmt, args);
	va_end(args);
	check(n >= 0 && (size_t)n < size - len);
}

/* Lines longer than 200 bytes are read whole; lines over 64 KiB are refused by number. */
static void test_long_lines(void)
{
	struct config cfg;
	struct capture cap;
	static char text[140000];

	/* A 300-byte comment with an '=' past byte 200 stays a comment. */
	text[0] = '\0';
	append(text, sizeof(text), "[daemon]\n# %0298d = not a key\nlog-level = debug\n", 0);
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap, text), 0);
	check_int_eq(cap.lines, 0);
	check_int_eq(cfg.log_level, LOG_LEVEL_DEBUG);
	config_finish(&cfg);

	/* A 400-byte allow-uid list: every uid is kept. */
	text[0] = '\0';
	append(text, sizeof(text), "[vgpu long]\nallow-uid =");
	for (unsigned uid = 100000; uid < 100050; uid++)
		append(text, sizeof(text), " %u,", uid);
	append(text, sizeof(text), " 100050\n");
	check(strlen(text) > 400);
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap, text), 0);
	check_int_eq(cap.lines, 0);
	struct config_vgpu *vgpu = config_find_vgpu(&cfg, "long");
	check(vgpu != NULL);
	check_int_eq(vgpu->n_allow_uids, 51);
	check_int_eq(vgpu->allow_uids[0], 100000);
	check_int_eq(vgpu->allow_uids[50], 100050);
	config_finish(&cfg);

	/* An error after a long line names its own line. */
	text[0] = '\0';
	append(text, sizeof(text), "[daemon]\n; %0500d\nlog-level = info # %0250d\ncolour = red\n",
	       0, 0);
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap, text), -EINVAL);
	check_int_eq(cap.lines, 1);
	check_contains(cap.text, "test.conf:4: unknown key 'colour' in [daemon]");
	config_finish(&cfg);

	/* A line over 64 KiB is an error of its line; the lines after it are read on. */
	text[0] = '\0';
	append(text, sizeof(text), "[daemon]\n# %070000d\nlog-level = loud\n[output A-1]\n", 0);
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap, text), -EINVAL);
	check_int_eq(cap.lines, 2);
	check_contains(cap.text,
		       "test.conf:2: the line is too long (70002 bytes, at most 65536)\n");
	check_contains(cap.text, "test.conf:3: [daemon] log-level 'loud'");
	config_finish(&cfg);

	/* The longest line taken: 65536 bytes. */
	text[0] = '\0';
	append(text, sizeof(text), "[daemon]\n# %065534d\n", 0);
	config_init(&cfg);
	check_int_eq(parse(&cfg, &cap, text), 0);
	append(text, sizeof(text), "#%065536d\n", 0);
	check_int_eq(parse(&cfg, &cap, text), -EINVAL);
	check_contains(cap.text, "test.conf:3: the line is too long (65537 bytes");
	config_finish(&cfg);
}

/* What the reader does with the rest of a line's syntax. */
static void test_line_syntax(void)
{
	static const struct {
		const char *text;
		const char *message; /* NULL: accepted */
	} cases[] = {
		{"\xef\xbb\xbf[daemon]\nlog-level = info\n", NULL},
		{"  [ daemon ]  # the daemon\r\nlog-level: info ; the default\r\n", NULL},
		{"[daemon] log-level = info\n", "test.conf:1: syntax error"},
		{"[daemon\nlog-level = info\n", "test.conf:1: syntax error"},
		{"[daemon]\nlog-level\n", "test.conf:2: syntax error"},
		{"[daemon]\n\n\n  = info\n", "test.conf:4: unknown key '' in [daemon]"},
		{"[daemon]\nlog-level = info\n[vgpu "
		 "a]\nno-such-key-whose-name-is-longer-than-fifty-bytes-"
		 "for-sure = 1\n",
		 "test.conf:4: unknown key "
		 "'no-such-key-whose-name-is-longer-than-fifty-bytes-for-sure'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		struct capture cap;
		config_init(&cfg);
		int ret = parse(&cfg, &cap, cases[i].text);
		if (cases[i].message == NULL) {
			check_int_eq(ret, 0);
			check_int_eq(cap.lines, 0);
		} else {
			check_int_eq(ret, -EINVAL);
			check_contains(cap.text, cases[i].message);
		}
		config_finish(&cfg);
	}

	/* A NUL byte inside a line. */
	static const char nul[] = "[daemon]\nlog-level = in\0fo\n";
	struct config cfg;
	struct capture cap = {0};
	config_init(&cfg);
	log_set_sink(capture_sink, &cap);
	FILE *f = fmemopen((void *)nul, sizeof(nul) - 1, "r");
	check(f != NULL);
	check_int_eq(config_parse(&cfg, f, "test.conf"), -EINVAL);
	fclose(f);
	log_set_sink(NULL, NULL);
	check_contains(cap.text, "test.conf:2: the line contains a NUL byte");
	config_finish(&cfg);
}

int main(void)
{
	test_long_lines();
	test_line_syntax();
	test_defaults_and_empty();
	test_inline_comments();
	test_hotkeys_and_cycle();
	test_log_level();
	test_errors();
	test_every_error_reported();
	test_outputs();
	test_blank();
	test_mode_and_colour();
	test_daemon_and_vgpus();
	test_vgpu_clock();
	test_vgpu_qemu();
	test_several_vgpus();
	test_control_group();
	test_names();
	test_require_seat();
	test_input();
	test_missing_file();
	return 0;
}
