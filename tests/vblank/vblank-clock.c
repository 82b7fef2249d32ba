// SPDX-License-Identifier: MIT
/*
 * vblank-clock: one vGPU shown on two outputs, a virtio-gpu head (no
 * vblank events: its clock is a timer) and vkms (vblank events), with
 * [vgpu] clock = the second one. The daemon's code runs in this process; a
 * forked VMM attaches, asks for the vblank source and hands the two fds it
 * got back here, where they are read as a VMM would.
 *
 *  1. clock = vkms: the record is vkms's CRTC (its kernel sequence,
 *     drmCrtcGetSequence), and over 2 s the eventfd counted exactly what
 *     that counter advanced; the status says "clock": vkms;
 *  2. a reload sets clock = the virtio-gpu head: the same fds now tick on
 *     its timer (flags TIMER, its refresh), the eventfd counting exactly
 *     the record's ticks at the refresh rate; the status follows;
 *  3. a reload sets clock = vkms again: the same fds follow vkms's kernel
 *     counter exactly again.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "../kms/common.h"
#include "client.h"
#include "conf-daemon.h"
#include "config/config.h"
#include "control/status.h"
#include "daemon/daemon.h"
#include "daemon/display.h"
#include "kms/output.h"
#include "kms/vblank.h"
#include "protocol/private.h"
#include "vgpu/vgpu.h"

#define SOCKET_PATH "/tmp/vscanout-clock-test/vscanout-0"
#define CONF_PATH   "/tmp/vscanout-clock-test.conf"

static struct daemon *dmn;
static char vkms_name[64], virtio_name[64];

/* The VMM's fds, as it got them, and what was read from them. */
static struct {
	int eventfd, memfd;
	const struct vscanout_vblank_record *record;
	struct wl_event_source *source;
	uint64_t total;
	uint64_t wakeups;
	struct vscanout_vblank_state last;
	bool jump; /* the clock moves: the next record's sequence may jump */
} vmm_fds = {.eventfd = -1, .memfd = -1};

/* "cardN:Virtual-M", the first connector of the first card driven by driver. */
static void output_name(const char *driver, char *name, size_t size)
{
	struct kt_device dev;
	kt_device_open_or_skip(&dev, driver);
	drmModeRes *res = drmModeGetResources(dev.fd);
	kt_assert(res != NULL && res->count_connectors > 0);
	drmModeConnector *conn = drmModeGetConnector(dev.fd, res->connectors[0]);
	kt_assert(conn != NULL);
	snprintf(name, size, "%s:%s-%u", strrchr(dev.path, '/') + 1,
		 drmModeGetConnectorTypeName(conn->connector_type), conn->connector_type_id);
	drmModeFreeConnector(conn);
	drmModeFreeResources(res);
	kt_device_close(&dev);
}

static void write_conf(const char *clock)
{
	conf_daemon_write(CONF_PATH,
			  "[daemon]\nsocket = " SOCKET_PATH "\n"
			  "[output %s]\nvgpu = a\nmode = 1024x768\n"
			  "[output %s]\nvgpu = a\nmode = 1024x768\n"
			  "[vgpu a]\nclock = %s\n",
			  virtio_name, vkms_name, clock);
}

static void dispatch(int timeout_ms)
{
	conf_daemon_dispatch(dmn, timeout_ms);
}

static void run_for(uint32_t ms)
{
	uint64_t end = kt_now_ns() + (uint64_t)ms * 1000000u;
	for (uint64_t now = kt_now_ns(); now < end; now = kt_now_ns())
		dispatch((int)((end - now) / 1000000u) + 1);
}

static void run_until(bool (*pred)(void *data), void *data, const char *what)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)TK_TIMEOUT_MS * 1000000u;
	while (!pred(data)) {
		kt_assertf(kt_now_ns() < deadline, "timed out waiting for %s", what);
		dispatch(10);
	}
}

/* ---- the VMM --------------------------------------------------------- */

static int fd_socket[2];

/* Forked: attach, get the vblank source, send its fds back, stay attached. */
static void vmm(int arg)
{
	(void)arg;
	close(fd_socket[0]);
	struct client c;
	client_connect(&c, SOCKET_PATH);
	struct vscanout_vgpu_v1 *vgpu = client_attach(&c, "a");
	vscanout_vgpu_v1_get_vblank_source(vgpu);
	while (c.vblank_eventfd < 0)
		client_roundtrip(&c);
	int fds[2] = {c.vblank_eventfd, c.vblank_memfd};
	char cbuf[CMSG_SPACE(sizeof(fds))] = {0};
	char byte = 'v';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
	if (sendmsg(fd_socket[1], &msg, 0) != 1)
		client_fail("sendmsg: %s", strerror(errno));
	/* Until the test closes its end. */
	ssize_t len;
	while ((len = read(fd_socket[1], &byte, 1)) != 0) {
		if (len > 0 || errno != EINTR)
			client_fail("read from the test: %zd, %s", len, strerror(errno));
	}
	client_roundtrip(&c);
	_exit(0);
}

static int handle_eventfd(int fd, uint32_t mask, void *data)
{
	uint64_t n;
	ssize_t len = read(fd, &n, sizeof(n));
	if (len < 0 && errno == EAGAIN)
		return 0;
	kt_assert_errno(len == sizeof(n));
	kt_assert(n > 0);
	struct vscanout_vblank_state st;
	vscanout_vblank_record_read(vmm_fds.record, &st);
	if (vmm_fds.wakeups > 0 && !vmm_fds.jump && st.flags == vmm_fds.last.flags) {
		/* The record is written before the eventfd: it moved by what was read. */
		kt_assertf(st.sequence - vmm_fds.last.sequence == n,
			   "record sequence %llu -> %llu, but the eventfd counted %llu",
			   (unsigned long long)vmm_fds.last.sequence,
			   (unsigned long long)st.sequence, (unsigned long long)n);
	}
	vmm_fds.jump = false;
	vmm_fds.last = st;
	vmm_fds.total += n;
	vmm_fds.wakeups++;
	return 0;
}

static bool fds_received(void *data)
{
	char byte;
	int fds[2];
	char cbuf[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	ssize_t len = recvmsg(fd_socket[0], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (len < 0 && errno == EAGAIN)
		return false;
	kt_assertf(len == 1, "the VMM sent no fds");
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	kt_assert(cmsg != NULL && cmsg->cmsg_type == SCM_RIGHTS &&
		  cmsg->cmsg_len == CMSG_LEN(sizeof(fds)));
	memcpy(fds, CMSG_DATA(cmsg), sizeof(fds));
	vmm_fds.eventfd = fds[0];
	vmm_fds.memfd = fds[1];
	return true;
}

/* ---- checks ---------------------------------------------------------- */

static uint64_t kernel_sequence(struct kms_output *output)
{
	uint64_t seq, ns;
	kt_assert_errno(drmCrtcGetSequence(output->device->fd, output->crtc->id, &seq, &ns) == 0);
	return seq;
}

struct catch_up {
	struct kms_output *kernel; /* may be NULL: the clock is a timer */
	uint64_t wakeups;          /* at the start: at least one more is wanted */
};

/* The record shows the clock wanted: the kernel's count, or timer ticks. */
static bool caught_up(void *data)
{
	struct catch_up *c = data;
	if (vmm_fds.wakeups <= c->wakeups)
		return false;
	struct vscanout_vblank_state st;
	vscanout_vblank_record_read(vmm_fds.record, &st);
	if (c->kernel == NULL)
		return st.flags == VSCANOUT_VBLANK_TIMER;
	return st.flags == 0 && st.sequence == kernel_sequence(c->kernel);
}

/* The vGPU's clock output in the status document is name. */
static void check_status_clock(const char *name)
{
	size_t size;
	char *json = control_status_json(dmn->control, &size);
	kt_assert(json != NULL);
	char want[128];
	snprintf(want, sizeof(want), "\"clock\": \"%s\"", name);
	kt_assertf(strstr(json, want) != NULL, "the status has no %s:\n%s", want, json);
	free(json);
	struct protocol_vgpu *vgpu = wl_container_of(dmn->server->vgpus.next, vgpu, link);
	const char *clock = vgpu_get_clock_name(vgpu->core);
	kt_assert(clock != NULL && strcmp(clock, name) == 0);
}

/*
 * Count for 2 s. With kernel: the eventfd counted exactly what its CRTC's
 * counter advanced, and the record is that counter. Without: the eventfd
 * counted the record's timer ticks, at refresh_ns.
 */
static void measure(const char *step, struct kms_output *kernel)
{
	struct catch_up c = {.kernel = kernel, .wakeups = vmm_fds.wakeups};
	run_until(caught_up, &c, kernel != NULL ? "the record to be the CRTC's" : "timer ticks");
	/* That vblank's count may still be in the eventfd: take it before any dispatch. */
	handle_eventfd(vmm_fds.eventfd, WL_EVENT_READABLE, NULL);
	struct vscanout_vblank_state first = vmm_fds.last;
	uint64_t total = vmm_fds.total;
	uint64_t start = kt_now_ns();
	run_for(2000);
	c.wakeups = vmm_fds.wakeups;
	run_until(caught_up, &c, "the record to catch up");
	handle_eventfd(vmm_fds.eventfd, WL_EVENT_READABLE, NULL);
	double seconds = (double)(kt_now_ns() - start) / 1e9;
	struct vscanout_vblank_state last = vmm_fds.last;
	uint64_t counted = vmm_fds.total - total;
	uint64_t advance = last.sequence - first.sequence;
	kt_log("%s: %llu ticks counted in %.2f s, record sequence %llu -> %llu, flags 0x%x, "
	       "refresh %llu ns",
	       step, (unsigned long long)counted, seconds, (unsigned long long)first.sequence,
	       (unsigned long long)last.sequence, last.flags, (unsigned long long)last.refresh_ns);
	kt_assertf(counted == advance, "the eventfd counted %llu, the record moved by %llu",
		   (unsigned long long)counted, (unsigned long long)advance);
	kt_assertf(last.refresh_ns > 16000000 && last.refresh_ns < 17500000, "refresh %llu ns",
		   (unsigned long long)last.refresh_ns);
	double expected = seconds * 1e9 / (double)last.refresh_ns;
	kt_assertf((double)counted > expected * 0.85 && (double)counted < expected * 1.1,
		   "%llu ticks in %.2f s, %.0f expected", (unsigned long long)counted, seconds,
		   expected);
	/* caught_up() saw the record equal to vkms's counter, at both ends. */
	if (kernel != NULL) {
		kt_assertf(last.flags == 0, "flags 0x%x on vkms", last.flags);
	} else {
		kt_assertf(last.flags == VSCANOUT_VBLANK_TIMER, "flags 0x%x on virtio-gpu",
			   last.flags);
	}
}

static void reload(const char *clock)
{
	write_conf(clock);
	vmm_fds.jump = true;
	conf_daemon_reload(dmn);
	kt_assertf(!dmn->reload_failed, "reload refused: %s", dmn->reload_message);
}

static bool outputs_on(void *data)
{
	struct kms_output **outputs = data;
	return outputs[0]->state == KMS_OUTPUT_ON && outputs[1]->state == KMS_OUTPUT_ON;
}

static bool vgpu_attached(void *data)
{
	return !wl_list_empty(&dmn->server->vgpus);
}

int main(void)
{
	log_init(LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	output_name("vkms", vkms_name, sizeof(vkms_name));
	output_name("virtio_gpu", virtio_name, sizeof(virtio_name));

	write_conf(vkms_name);
	dmn = conf_daemon_start(CONF_PATH);
	struct kms_output *outputs[2] = {
		display_find_output(dmn->display_manager, virtio_name),
		display_find_output(dmn->display_manager, vkms_name),
	};
	kt_assert(outputs[0] != NULL && outputs[1] != NULL);
	run_until(outputs_on, outputs, "both outputs to light");

	kt_assert_errno(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd_socket) == 0);
	struct child child;
	child_start(&child, dmn->loop, vmm, 0);
	close(fd_socket[1]);
	run_until(vgpu_attached, NULL, "the VMM to attach");
	run_until(fds_received, NULL, "the VMM's vblank fds");
	vmm_fds.record =
		mmap(NULL, sizeof(*vmm_fds.record), PROT_READ, MAP_SHARED, vmm_fds.memfd, 0);
	kt_assert_errno(vmm_fds.record != MAP_FAILED);
	vmm_fds.source = wl_event_loop_add_fd(dmn->loop, vmm_fds.eventfd, WL_EVENT_READABLE,
					      handle_eventfd, NULL);
	kt_assert(vmm_fds.source != NULL);

	/* 1. clock = vkms, the second output */
	check_status_clock(vkms_name);
	measure("1. clock = vkms", outputs[1]);

	/* 2. clock = the virtio-gpu head: its timer */
	reload(virtio_name);
	check_status_clock(virtio_name);
	measure("2. clock = virtio-gpu", NULL);

	/* 3. back to vkms */
	reload(vkms_name);
	check_status_clock(vkms_name);
	measure("3. clock = vkms again", outputs[1]);
	kt_assert(outputs[0]->state == KMS_OUTPUT_ON && outputs[1]->state == KMS_OUTPUT_ON);

	/*
	 * The VMM got no other vblank source and is still attached: it ends
	 * cleanly. Its vGPU then goes, and the ticks fd reads end of file
	 * (counts still unread come first).
	 */
	wl_event_source_remove(vmm_fds.source);
	close(fd_socket[0]);
	uint64_t deadline = kt_now_ns() + (uint64_t)CONF_DAEMON_TIMEOUT_MS * 1000000u;
	while (!child.exited) {
		kt_assertf(kt_now_ns() < deadline, "the VMM did not end once told to");
		dispatch(10);
	}
	kt_assertf(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0,
		   "the VMM failed (status 0x%x)", child.status);
	for (;;) {
		uint64_t n;
		ssize_t len = read(vmm_fds.eventfd, &n, sizeof(n));
		if (len == 0)
			break;
		kt_assertf(len == sizeof(n) || (len < 0 && errno == EAGAIN),
			   "the ticks fd read %zd: %s", len, strerror(errno));
		kt_assertf(kt_now_ns() < deadline, "the ticks fd never read end of file");
		dispatch(10);
	}
	munmap((void *)vmm_fds.record, sizeof(*vmm_fds.record));
	close(vmm_fds.eventfd);
	close(vmm_fds.memfd);
	daemon_destroy(dmn);
	unlink(CONF_PATH);
	printf("vblank-clock: ok\n");
	return 0;
}
