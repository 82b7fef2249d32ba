// SPDX-License-Identifier: MIT
/*
 * VMMs and operators are two roles on one socket. The daemon's server and
 * control global run in this process on a socket of group 2001 (the VMMs'
 * group, vscanout), with [daemon] control-group 2002 (vscanout-admin);
 * vscanoutctl runs in children:
 *
 *  - a VMM user (uid 1000, member of 2001 only) is refused every command:
 *    status, status --json, screenshot, blank, unblank, reload, assign,
 *    debugfs. Each exits 1 with a message naming its uid and control-group
 *    (the daemon's not_permitted error, or no control interface offered),
 *    prints nothing on standard output and changes nothing: no file, no
 *    reload, no assignment;
 *  - an operator (uid 2001, primary group 2001 to reach the socket, member
 *    of 2002) gets the status, a reload and an assignment; screenshot and
 *    blank reach the daemon (failing only for want of a lit output);
 *  - at start the daemon warns when the roles coincide (daemon/roles.h):
 *    control-group the socket's group, a vGPU's allow-gid, or the group of
 *    an allow-uid user; not when they are apart or no control-group is set.
 */
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "config/config.h"
#include "control/control.h"
#include "daemon/display.h"
#include "daemon/roles.h"
#include "helpers.h"
#include "kmstest.h"
#include "protocol/server.h"
#include "util/log.h"
#include "vgpu/vgpu.h"

#define SOCKET_DIR   "/tmp/vscanout-roles-unit"
#define SOCKET_PATH  SOCKET_DIR "/vscanout-0"
#define SHOT_PATH    "/tmp/vscanout-roles-unit.png"
#define VMM_UID      1000
#define VMM_GID      2001 /* the socket's group: vscanout */
#define ADMIN_GID    2002 /* [daemon] control-group: vscanout-admin */
#define OPERATOR_UID 2001

static const char config_text[] = "[daemon]\n"
				  "socket = " SOCKET_PATH "\n"
				  "control-group = 2002\n"
				  "[output Virtual-9]\n"
				  "vgpu = b\n"
				  "[vgpu a]\n"
				  "allow-gid = 2001\n"
				  "[vgpu b]\n"
				  "allow-uid = 1000\n";

static int reloads, assigns;

static int action_reload(void *data, char *msg, size_t msg_size)
{
	reloads++;
	snprintf(msg, msg_size, "reloaded");
	return 0;
}

static int action_assign(void *data, const char *vgpu, const char *output, size_t slot, char *msg,
			 size_t msg_size)
{
	assigns++;
	snprintf(msg, msg_size, "output %s shows vGPU %s", output, vgpu);
	return 0;
}

/* ---- the warnings ----------------------------------------------------------- */

struct capture {
	char text[8192];
	size_t len;
};

static void capture_sink(enum log_level level, const char *line, void *data)
{
	struct capture *cap = data;
	if (level != LOG_LEVEL_WARN)
		return;
	int n = snprintf(cap->text + cap->len, sizeof(cap->text) - cap->len, "%s\n", line);
	kt_assert(n > 0 && (size_t)n < sizeof(cap->text) - cap->len);
	cap->len += (size_t)n;
}

/* The warnings roles_check() logs for the configuration text and socket group. */
static int check_text(struct capture *cap, const char *text, gid_t socket_gid)
{
	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "roles.conf"));
	fclose(f);
	memset(cap, 0, sizeof(*cap));
	log_set_sink(capture_sink, cap);
	int n = roles_check(&config, socket_gid);
	log_set_sink(NULL, NULL);
	printf("%d warning(s) for:\n%s%s", n, text, cap->text);
	config_finish(&config);
	return n;
}

static void test_warnings(void)
{
	struct capture cap;
	/* Apart: no warning. */
	kt_assert(check_text(&cap, config_text, VMM_GID) == 0);
	kt_assert(cap.len == 0);
	/* Without control-group only root may: nothing to warn about. */
	kt_assert(check_text(&cap, "[daemon]\n[vgpu a]\nallow-gid = 2001\n", VMM_GID) == 0);

	/* The socket's group. */
	kt_assert(check_text(&cap, "[daemon]\ncontrol-group = 2001\n", VMM_GID) == 1);
	kt_assert(strstr(cap.text, "[daemon] control-group gid 2001 is also the group of the "
				   "socket ") != NULL ||
		  strstr(cap.text, " (gid 2001) is also the group of the socket ") != NULL);
	kt_assert(strstr(cap.text, "every VMM that may connect may also use the control "
				   "interface") != NULL);
	kt_assert(strstr(cap.text, "vscanout-admin") != NULL);

	/* A vGPU's allow-gid. */
	kt_assert(check_text(&cap, "[daemon]\ncontrol-group = 2002\n[vgpu a]\nallow-gid = 2002\n",
			     VMM_GID) == 1);
	kt_assert(strstr(cap.text, "is also allow-gid of [vgpu a]: its VMMs may also use the "
				   "control interface") != NULL);

	/* An allow-uid user in the group: any user of this machine but root. */
	struct passwd *pw;
	setpwent();
	while ((pw = getpwent()) != NULL && pw->pw_uid == 0)
		;
	if (pw != NULL) {
		uid_t uid = pw->pw_uid;
		gid_t gid = pw->pw_gid;
		char name[64], text[256], want[256];
		snprintf(name, sizeof(name), "%s", pw->pw_name);
		snprintf(text, sizeof(text),
			 "[daemon]\ncontrol-group = %u\n[vgpu k]\nallow-uid = %u\n",
			 (unsigned int)gid, (unsigned int)uid);
		kt_assert(check_text(&cap, text, VMM_GID) == 1);
		snprintf(want, sizeof(want),
			 "user %s (uid %u), allow-uid of [vgpu k], is in [daemon] "
			 "control-group ",
			 name, (unsigned int)uid);
		kt_assert(strstr(cap.text, want) != NULL);
	}
	endpwent();
	/* Root is an operator anyway. */
	kt_assert(check_text(&cap, "[daemon]\ncontrol-group = 0\n[vgpu k]\nallow-uid = 0\n",
			     VMM_GID) == 0);
}

/* ---- the refusals ----------------------------------------------------------- */

/* A VMM user's vscanoutctl: refused, saying why, with nothing on standard output. */
static void expect_refused(struct wl_display *display, const char *ctl_path, const char *a1,
			   const char *a2, const char *a3, const char *a4)
{
	struct ctl_result r;
	ctl_run(display, &r, VMM_UID, VMM_GID, ctl_path, "--socket", SOCKET_PATH, a1, a2, a3, a4,
		NULL);
	kt_assertf(r.exit_code == 1, "%s as a VMM user: exit %d", a1, r.exit_code);
	/* The daemon's not_permitted error, or no control global offered at all. */
	bool refused = strstr(r.err, "vscanoutd refused the request (not permitted): uid 1000 may "
				     "not use the control interface: not root, not in group 2002 "
				     "([daemon] control-group)") != NULL;
	bool hidden = strstr(r.err, "offers no control interface") != NULL &&
		      strstr(r.err, "uid 1000") != NULL && strstr(r.err, "control-group") != NULL;
	kt_assertf(refused || hidden, "%s as a VMM user: unexpected message: %s", a1, r.err);
	kt_assertf(r.out_len == 0, "%s as a VMM user printed: %s", a1, r.out);
	ctl_result_finish(&r);
}

/* An operator's vscanoutctl reaches the daemon; returns its exit code. */
static int operator_run(struct wl_display *display, const char *ctl_path, const char *a1,
			const char *a2, const char *a3, const char *want)
{
	struct ctl_result r;
	ctl_run(display, &r, OPERATOR_UID, ADMIN_GID, ctl_path, "--socket", SOCKET_PATH, a1, a2, a3,
		NULL);
	kt_assertf(strstr(r.err, "not permitted") == NULL && strstr(r.err, "control-group") == NULL,
		   "%s as an operator was refused: %s", a1, r.err);
	kt_assertf(strstr(r.out, want) != NULL || strstr(r.err, want) != NULL,
		   "%s as an operator: no \"%s\"", a1, want);
	int code = r.exit_code;
	ctl_result_finish(&r);
	return code;
}

int main(int argc, char **argv)
{
	kt_assertf(argc == 2, "usage: %s VSCANOUTCTL", argv[0]);
	const char *ctl_path = argv[1];
	log_init(LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	test_warnings();

	struct config config;
	config_init(&config);
	FILE *f = fmemopen((void *)config_text, strlen(config_text), "r");
	kt_assert(f != NULL);
	kt_assert_ok(config_parse(&config, f, "roles.conf"));
	fclose(f);
	struct wl_display *display = wl_display_create();
	kt_assert(display != NULL);
	struct display displays = {0};
	wl_list_init(&displays.devices);
	struct vgpu_manager *vgpus = vgpu_manager_create(&config, &displays);
	struct protocol_server *server = protocol_server_create(display, &config, &displays, vgpus);
	kt_assert(server != NULL);
	struct control *control = control_create(display, &config, &displays, server, vgpus);
	kt_assert(control != NULL);
	control_set_actions(control, &(struct control_actions){
					     .reload = action_reload,
					     .assign = action_assign,
				     });
	/* The socket as the service makes it: root:vscanout, 0660. */
	kt_assert_errno(chown(SOCKET_PATH, (uid_t)-1, VMM_GID) == 0);
	struct stat st;
	kt_assert_errno(stat(SOCKET_PATH, &st) == 0);
	kt_assert((st.st_mode & 0777) == 0660 && st.st_gid == VMM_GID);
	kt_assert(roles_check(&config, st.st_gid) == 0);
	unlink(SHOT_PATH);

	/* The VMM user: every command refused, nothing changed. */
	expect_refused(display, ctl_path, "status", NULL, NULL, NULL);
	expect_refused(display, ctl_path, "status", "--json", NULL, NULL);
	expect_refused(display, ctl_path, "screenshot", "Virtual-9", SHOT_PATH, NULL);
	kt_assertf(access(SHOT_PATH, F_OK) != 0, "a refused screenshot created " SHOT_PATH);
	expect_refused(display, ctl_path, "blank", "Virtual-9", NULL, NULL);
	expect_refused(display, ctl_path, "unblank", "Virtual-9", NULL, NULL);
	expect_refused(display, ctl_path, "reload", NULL, NULL, NULL);
	expect_refused(display, ctl_path, "assign", "a", "Virtual-9", NULL);
	expect_refused(display, ctl_path, "debugfs", "--dir", SOCKET_DIR, NULL);
	kt_assertf(reloads == 0 && assigns == 0, "a VMM user's request ran: %d reloads, %d assigns",
		   reloads, assigns);
	kt_assert(strcmp(config_output_vgpu(config_find_output(&config, "Virtual-9"), 0), "b") ==
		  0);

	/* The operator. */
	kt_assert(operator_run(display, ctl_path, "status", NULL, NULL, "vgpu b: not attached") ==
		  0);
	kt_assert(operator_run(display, ctl_path, "reload", NULL, NULL, "configuration reloaded") ==
		  0);
	kt_assert(reloads == 1);
	kt_assert(operator_run(display, ctl_path, "assign", "a", "Virtual-9",
			       "Virtual-9 now shows a") == 0);
	kt_assert(assigns == 1);
	/* No lit output here: these fail in the daemon, past the permission check. */
	kt_assert(operator_run(display, ctl_path, "blank", "Virtual-9", NULL,
			       "blank of Virtual-9 "
			       "failed: ") == 1);
	kt_assert(operator_run(display, ctl_path, "screenshot", "Virtual-9", SHOT_PATH,
			       "screenshot of Virtual-9 failed: ") == 1);
	kt_assert(access(SHOT_PATH, F_OK) != 0);

	control_destroy(control);
	protocol_server_destroy(server);
	vgpu_manager_destroy(vgpus);
	wl_display_destroy(display);
	config_finish(&config);
	printf("ok\n");
	return 0;
}
