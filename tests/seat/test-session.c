// SPDX-License-Identifier: MIT
/* What the session does without any device: refusals are clear, NULL is fine. */
#include <stdlib.h>
#include <wayland-server-core.h>

#include "../unit/test.h"
#include "seat/session.h"
#include "util/log.h"

static char logged[4096];

static void capture(enum log_level level, const char *line, void *data)
{
	size_t len = strlen(logged);
	snprintf(logged + len, sizeof(logged) - len, "%s\n", line);
}

int main(void)
{
	session_destroy(NULL);
	session_device_close(NULL);

	log_init(LOG_LEVEL_DEBUG);
	log_set_sink(capture, NULL);
	struct wl_event_loop *loop = wl_event_loop_create();
	check(loop != NULL);

	/* An unknown backend: libseat refuses before touching any device. */
	check(setenv("LIBSEAT_BACKEND", "no-such-backend", 1) == 0);
	check(session_create(loop, NULL) == NULL);
	check_contains(logged, "cannot open seat: ");
	logged[0] = '\0';
	check(session_create(loop, "seat1") == NULL);
	check_contains(logged, "cannot open seat seat1: ");

	wl_event_loop_destroy(loop);
	return 0;
}
