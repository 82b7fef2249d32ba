// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <libliftoff.h>
#include <libseat.h>
#include <unistd.h>

#include "test.h"
#include "util/log.h"

struct capture {
	char lines[64][1024];
	enum log_level levels[64];
	int count;
};

static void capture_sink(enum log_level level, const char *line, void *data)
{
	struct capture *cap = data;
	check(cap->count < 64);
	snprintf(cap->lines[cap->count], sizeof(cap->lines[0]), "%s", line);
	cap->levels[cap->count] = level;
	cap->count++;
}

static void test_levels_and_location(void)
{
	struct capture cap = {0};
	log_set_sink(capture_sink, &cap);
	log_init(LOG_LEVEL_INFO);

	log_error("error %d", 1);
	log_warn("warning %s", "two");
	log_info("info");
	log_debug("debug is filtered");
	check_int_eq(cap.count, 3);

	/* What users read is the message alone: no source location. */
	check(!log_source_locations());
	check_str_eq(cap.lines[0], "error 1");
	check_int_eq(cap.levels[0], LOG_LEVEL_ERROR);
	check_str_eq(cap.lines[1], "warning two");
	check_int_eq(cap.levels[1], LOG_LEVEL_WARN);
	check_int_eq(cap.levels[2], LOG_LEVEL_INFO);

	check(!log_enabled(LOG_LEVEL_DEBUG));
	log_init(LOG_LEVEL_DEBUG);
	check(log_enabled(LOG_LEVEL_DEBUG));
	log_debug("now shown");
	check_int_eq(cap.count, 4);
	check_contains(cap.lines[3], "now shown");

	log_init(LOG_LEVEL_SILENT);
	log_error("silent");
	check_int_eq(cap.count, 4);

	/* With source locations on (vscanoutd -vv), each line says where it comes from. */
	log_init(LOG_LEVEL_INFO);
	log_set_source_locations(true);
	log_error("error %d", 2);
	int line = __LINE__ - 1;
	char want[128];
	snprintf(want, sizeof(want), "[tests/unit/test-log.c:%d] error 2", line);
	check_int_eq(cap.count, 5);
	check_str_eq(cap.lines[4], want);
	log_set_source_locations(false);
	log_info("plain again");
	check_str_eq(cap.lines[5], "plain again");
	log_set_sink(NULL, NULL);
}

static void test_errno(void)
{
	struct capture cap = {0};
	log_set_sink(capture_sink, &cap);
	log_init(LOG_LEVEL_INFO);

	errno = ENOENT;
	log_error_errno("cannot open %s", "/nowhere");
	check_int_eq(errno, ENOENT);
	check_int_eq(cap.count, 1);
	check_contains(cap.lines[0], "cannot open /nowhere: No such file or directory");

	/* Plain and filtered messages leave errno alone too. */
	errno = EBUSY;
	log_info("info");
	check_int_eq(errno, EBUSY);
	log_debug("filtered");
	check_int_eq(errno, EBUSY);
	log_set_sink(NULL, NULL);
}

static void test_long_line_is_cut(void)
{
	struct capture cap = {0};
	log_set_sink(capture_sink, &cap);
	log_init(LOG_LEVEL_INFO);
	char big[4000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	check_int_eq(cap.count, 1);
	size_t len = strlen(cap.lines[0]);
	check(len < 1024);
	check_str_eq(cap.lines[0] + len - 3, "...");
	log_set_sink(NULL, NULL);
}

static void seat_callback(struct libseat *seat, void *data)
{
}

static void test_library_routing(void)
{
	struct capture cap = {0};
	log_set_sink(capture_sink, &cap);
	log_init(LOG_LEVEL_DEBUG);

	/* An unknown backend name makes libseat log an error and fail. */
	setenv("LIBSEAT_BACKEND", "no-such-backend", 1);
	struct libseat_seat_listener listener = {
		.enable_seat = seat_callback,
		.disable_seat = seat_callback,
	};
	struct libseat *seat = libseat_open_seat(&listener, NULL);
	check(seat == NULL);
	unsetenv("LIBSEAT_BACKEND");
	int seat_lines = 0;
	for (int i = 0; i < cap.count; i++)
		if (strncmp(cap.lines[i], "libseat: ", 9) == 0)
			seat_lines++;
	check(seat_lines > 0);

	/* libliftoff cannot use a file that is not a DRM device, and says so. */
	int before = cap.count;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	check(fd >= 0);
	struct liftoff_device *dev = liftoff_device_create(fd);
	if (dev != NULL)
		liftoff_device_destroy(dev);
	close(fd);
	int liftoff_lines = 0;
	for (int i = before; i < cap.count; i++)
		if (strncmp(cap.lines[i], "libliftoff: ", 12) == 0)
			liftoff_lines++;
	check(liftoff_lines > 0);
	log_set_sink(NULL, NULL);
}

int main(void)
{
	test_levels_and_location();
	test_errno();
	test_long_line_is_cut();
	test_library_routing();
	return 0;
}
