// SPDX-License-Identifier: MIT
/*
 * bench-vblank [VBLANKS]: latency from the kernel's vblank timestamp to the
 * vblank eventfd becoming readable in a client process, on vkms. The test
 * process runs the KMS core and one vblank source; a forked client polls the
 * eventfd, takes CLOCK_MONOTONIC when it wakes and subtracts the timestamp
 * of the record (written before the eventfd is signalled). Prints p50, p99
 * and the maximum over VBLANKS wakeups (default 900), after 30 of warm-up.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kms/common.h"
#include "common.h"
#include "kms/device.h"
#include "kms/output.h"
#include "util/log.h"

#define WARMUP 30

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int client(int eventfd, int memfd, size_t n)
{
	const struct kms_vblank_record *record =
		mmap(NULL, sizeof(*record), PROT_READ, MAP_SHARED, memfd, 0);
	kt_assert_errno(record != MAP_FAILED);
	uint64_t *lat = calloc(n, sizeof(*lat));
	kt_assert(lat);
	uint64_t counted = 0, first_seq = 0, last_seq = 0;
	for (size_t i = 0; i < n + WARMUP;) {
		struct pollfd pfd = {.fd = eventfd, .events = POLLIN};
		int ret = poll(&pfd, 1, 5000);
		kt_assertf(ret == 1, "no vblank for 5 s");
		uint64_t now = kt_now_ns(), count;
		if (read(eventfd, &count, sizeof(count)) != sizeof(count))
			continue;
		struct kms_vblank_state st;
		kms_vblank_record_read(record, &st);
		if (i == WARMUP)
			first_seq = st.sequence;
		if (i >= WARMUP) {
			lat[i - WARMUP] = now - st.timestamp_ns;
			counted += count;
			last_seq = st.sequence;
		}
		i++;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	uint64_t p50 = lat[n / 2], p99 = lat[(n * 99) / 100], max = lat[n - 1];
	printf("vblank -> client eventfd readable over %zu vblanks (vkms): p50 %.3f ms, "
	       "p99 %.3f ms, max %.3f ms; %llu vblanks counted, %llu by the sequence; "
	       "target p99 < 1 ms: %s\n",
	       n, p50 / 1e6, p99 / 1e6, max / 1e6, (unsigned long long)counted,
	       (unsigned long long)(last_seq - first_seq + 1), p99 < 1000000 ? "met" : "missed");
	free(lat);
	return 0;
}

static int handle_client_gone(int fd, uint32_t mask, void *data)
{
	char c;
	if (read(fd, &c, 1) <= 0)
		*(bool *)data = true;
	return 0;
}

int main(int argc, char *argv[])
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 900;
	kt_assert(n >= 100);
	struct kt_device dev;
	kt_device_open_or_skip(&dev, "vkms");
	log_init(LOG_LEVEL_WARN);

	struct wl_event_loop *loop = wl_event_loop_create();
	kt_assert(loop);
	struct kms_device *device = kms_device_create(loop, dev.fd, "vkms");
	kt_assert(device);
	struct kms_output *output = kms_device_find_output(device, "Virtual-1");
	kt_assert(output);
	struct tk_presents presents;
	tk_presents_init(&presents, output);
	kt_assert_ok(kms_output_enable(output, NULL));
	tk_wait_presents(loop, &presents, 1);

	struct kms_vblank_source *src = kms_vblank_source_create(output);
	kt_assert(src);
	int eventfd, memfd, pipefd[2];
	kt_assert_ok(kms_vblank_source_get_fds(src, &eventfd, &memfd));
	kt_assert_errno(pipe2(pipefd, O_CLOEXEC) == 0);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		fflush(stdout);
		_exit(client(eventfd, memfd, n));
	}
	close(pipefd[1]);
	close(eventfd);
	close(memfd);
	bool gone = false;
	struct wl_event_source *watch =
		wl_event_loop_add_fd(loop, pipefd[0], WL_EVENT_READABLE, handle_client_gone, &gone);
	kt_assert(watch);
	while (!gone)
		wl_event_loop_dispatch(loop, -1);
	int status;
	kt_assert_errno(waitpid(pid, &status, 0) == pid);
	kt_assertf(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client failed (0x%x)", status);

	wl_event_source_remove(watch);
	close(pipefd[0]);
	kms_vblank_source_destroy(src);
	tk_presents_finish(&presents);
	kms_device_destroy(device);
	wl_event_loop_destroy(loop);
	close(dev.fd);
	return 0;
}
