// SPDX-License-Identifier: MIT
/*
 * Peer credentials through real sockets: a socketpair gives this process's
 * own uid, gid and groups; a forked child that took 100 supplementary
 * groups (more than the first guess of the reader) and connected to a
 * listening socket gives them all, and the vGPU admission check lets it in
 * through the last of them. The same check after a rate-limited log helper
 * test. The child part needs root (setgroups).
 */
#include <grp.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "test.h"
#include "util/log.h"
#include "util/peer.h"

#define N_GROUPS 100
#define GID_BASE 4200

static void test_socketpair(void)
{
	int sv[2];
	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	struct peer_cred cred;
	check_int_eq(peer_cred_read(sv[0], &cred), 0);
	check_int_eq(cred.pid, getpid());
	check_int_eq(cred.uid, getuid());
	check_int_eq(cred.gid, getgid());
	gid_t own[1024];
	int n = getgroups(1024, own);
	check(n >= 0);
	check_int_eq(cred.n_groups, n);
	for (int i = 0; i < n; i++) {
		check_int_eq(cred.groups[i], own[i]);
		check(peer_cred_in_group(&cred, own[i]));
	}
	check(peer_cred_in_group(&cred, getgid()));
	peer_cred_finish(&cred);
	check(cred.groups == NULL && cred.n_groups == 0);

	/* The ids alone allocate nothing. */
	check_int_eq(peer_cred_read_ids(sv[0], &cred), 0);
	check_int_eq(cred.uid, getuid());
	check(cred.groups == NULL && cred.n_groups == 0);
	close(sv[0]);
	close(sv[1]);

	/* Not a socket. */
	int fds[2];
	check(pipe(fds) == 0);
	check(peer_cred_read(fds[0], &cred) < 0);
	check(cred.groups == NULL);
	close(fds[0]);
	close(fds[1]);
}

static void test_child_groups(void)
{
	if (getuid() != 0) {
		fprintf(stderr,
			"not root: the supplementary groups of another process are not tried\n");
		return;
	}
	const char *path = "/tmp/vscanout-test-peer.sock";
	unlink(path);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	check(listener >= 0);
	check(bind(listener, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	check(listen(listener, 1) == 0);
	check(chmod(path, 0777) == 0);

	pid_t pid = fork();
	check(pid >= 0);
	if (pid == 0) {
		gid_t groups[N_GROUPS];
		for (int i = 0; i < N_GROUPS; i++)
			groups[i] = GID_BASE + (gid_t)i;
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (setgroups(N_GROUPS, groups) != 0 || setgid(3000) != 0 || setuid(3000) != 0 ||
		    fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
			_exit(1);
		char byte;
		_exit(read(fd, &byte, 1) == 0 ? 0 : 1);
	}
	/* A child that failed before connecting must not hang the test. */
	struct pollfd pfd = {.fd = listener, .events = POLLIN};
	check(poll(&pfd, 1, 10000) == 1);
	int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	check(conn >= 0);
	struct peer_cred cred;
	check_int_eq(peer_cred_read(conn, &cred), 0);
	check_int_eq(cred.pid, pid);
	check_int_eq(cred.uid, 3000);
	check_int_eq(cred.gid, 3000);
	check_int_eq(cred.n_groups, N_GROUPS);
	for (int i = 0; i < N_GROUPS; i++)
		check_int_eq(cred.groups[i], GID_BASE + i);
	check(peer_cred_in_group(&cred, GID_BASE + N_GROUPS - 1));
	check(!peer_cred_in_group(&cred, GID_BASE + N_GROUPS));

	/* allow-gid names the child's last supplementary group only. */
	static const char text[] = "[vgpu kiosk]\nallow-gid = 4299\n";
	struct config cfg;
	config_init(&cfg);
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	check(f != NULL);
	check_int_eq(config_parse(&cfg, f, "test.conf"), 0);
	fclose(f);
	check(config_vgpu_allows(&cfg, "kiosk", cred.uid, cred.gid, cred.groups, cred.n_groups));
	check(!config_vgpu_allows(&cfg, "kiosk", cred.uid, cred.gid, cred.groups,
				  cred.n_groups - 1));
	config_finish(&cfg);
	peer_cred_finish(&cred);

	close(conn);
	int status;
	check(waitpid(pid, &status, 0) == pid);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(listener);
	unlink(path);
}

static void test_ratelimit(void)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT;
	unsigned long held_back = 99;
	check(log_ratelimit_pass(&rl, LOG_RATELIMIT_INTERVAL_NS, &held_back));
	check_int_eq(held_back, 0);
	for (int i = 0; i < 1000; i++)
		check(!log_ratelimit_pass(&rl, LOG_RATELIMIT_INTERVAL_NS, &held_back));
	/* An interval of 0 lets the next one through, with the count held back. */
	check(log_ratelimit_pass(&rl, 0, &held_back));
	check_int_eq(held_back, 1000);
	check(log_ratelimit_pass(&rl, 0, &held_back));
	check_int_eq(held_back, 0);
}

int main(void)
{
	test_socketpair();
	test_child_groups();
	test_ratelimit();
	return 0;
}
