// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "daemon/notify.h"
#include "util/log.h"

/* systemd's own ceiling for a watchdog interval is far below this. */
#define WATCHDOG_USEC_MAX (UINT64_C(1) << 40)

struct notify_watchdog {
	struct wl_event_source *timer;
	int period_ms; /* half the interval */
};

int notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (path == NULL || path[0] == '\0')
		return 0;

	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(addr.sun_path) || (path[0] != '/' && path[0] != '@'))
		return -EINVAL;
	memcpy(addr.sun_path, path, len);
	if (path[0] == '@')
		addr.sun_path[0] = '\0';
	socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);

	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ssize_t n =
		sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
	int ret = n < 0 ? -errno : 1;
	close(fd);
	return ret;
}

int notify_status(const char *fmt, ...)
{
	char state[sizeof("STATUS=") + 255];
	memcpy(state, "STATUS=", sizeof("STATUS="));
	char *text = state + strlen("STATUS=");
	va_list args;
	va_start(args, fmt);
	vsnprintf(text, sizeof(state) - strlen("STATUS="), fmt, args);
	va_end(args);
	/* One assignment per line: a newline would start another. */
	for (char *p = text; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	return notify_send(state);
}

/* WATCHDOG_USEC in microseconds, or 0 when this process is not watched. */
static uint64_t watchdog_usec(void)
{
	const char *usec_text = getenv("WATCHDOG_USEC");
	if (usec_text == NULL || usec_text[0] == '\0')
		return 0;
	const char *pid_text = getenv("WATCHDOG_PID");
	if (pid_text != NULL && pid_text[0] != '\0') {
		char *end;
		errno = 0;
		unsigned long long pid = strtoull(pid_text, &end, 10);
		if (errno != 0 || *end != '\0' || pid != (unsigned long long)getpid())
			return 0; /* meant for another process */
	}
	char *end;
	errno = 0;
	unsigned long long usec = strtoull(usec_text, &end, 10);
	if (errno != 0 || *end != '\0' || usec_text[0] == '-' || usec > WATCHDOG_USEC_MAX) {
		log_warn("WATCHDOG_USEC '%s' is not a number of microseconds: no watchdog",
			 usec_text);
		return 0;
	}
	return usec;
}

static int handle_timer(void *data)
{
	struct notify_watchdog *watchdog = data;
	notify_send("WATCHDOG=1");
	wl_event_source_timer_update(watchdog->timer, watchdog->period_ms);
	return 0;
}

struct notify_watchdog *notify_watchdog_create(struct wl_event_loop *loop)
{
	const char *socket_path = getenv("NOTIFY_SOCKET");
	if (socket_path == NULL || socket_path[0] == '\0')
		return NULL;
	uint64_t usec = watchdog_usec();
	if (usec == 0)
		return NULL;

	struct notify_watchdog *watchdog = calloc(1, sizeof(*watchdog));
	if (watchdog == NULL) {
		log_error("out of memory");
		return NULL;
	}
	uint64_t period_ms = usec / 2 / 1000;
	watchdog->period_ms = period_ms > 0 ? (int)period_ms : 1;
	watchdog->timer = wl_event_loop_add_timer(loop, handle_timer, watchdog);
	if (watchdog->timer == NULL) {
		log_error_errno("cannot create the watchdog timer");
		free(watchdog);
		return NULL;
	}
	log_info("service watchdog: every %" PRIu64 " ms, notified every %d ms", usec / 1000,
		 watchdog->period_ms);
	handle_timer(watchdog);
	return watchdog;
}

void notify_watchdog_destroy(struct notify_watchdog *watchdog)
{
	if (watchdog == NULL)
		return;
	wl_event_source_remove(watchdog->timer);
	free(watchdog);
}
