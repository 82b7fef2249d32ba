// SPDX-License-Identifier: MIT
/*
 * vblank-vkms: vblank sources on vkms, whose vblanks come from an hrtimer.
 *
 *  1. two sources on a lit output that flips nothing for 3 s: each eventfd
 *     counted exactly the CRTC's vblank sequence advance (±1), the records
 *     moved with the eventfds, one refresh apart, and no frame was committed;
 *  2. the record equals the kernel's last vblank (sequence and timestamp);
 *  3. a forked client reads the same record from a read-only mapping and
 *     cannot write the memfd (mmap PROT_WRITE, mprotect, write all fail);
 *  4. the output off: STOPPED, no ticks; on again: ticks resume;
 *  5. another DRM master turns the CRTC off while the session is away: the
 *     timer takes over; the session back: vblank events again;
 *  6. a source outliving its device reads STOPPED and is destroyed cleanly.
 */
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

static uint64_t kernel_sequence(int fd, struct kms_output *output, uint64_t *ns)
{
	uint64_t seq, t;
	kt_assert_errno(drmCrtcGetSequence(fd, output->crtc->id, &seq, &t) == 0);
	if (ns != NULL)
		*ns = t;
	return seq;
}

/* drmCrtcGetSequence() == 0, or errno. */
static int kernel_sequence_errno(int fd, uint32_t crtc_id)
{
	uint64_t seq, ns;
	return drmCrtcGetSequence(fd, crtc_id, &seq, &ns) == 0 ? 0 : errno;
}

/* Forked: the client side of the record, read-only. */
static int client_child(int memfd, const struct vscanout_vblank_state *want)
{
	void *rw = mmap(NULL, sizeof(struct vscanout_vblank_record), PROT_READ | PROT_WRITE,
			MAP_SHARED, memfd, 0);
	kt_assertf(rw == MAP_FAILED && errno == EPERM, "a client mapped the memfd writable");
	uint64_t junk = 0;
	kt_assertf(pwrite(memfd, &junk, sizeof(junk), 0) < 0 && errno == EPERM,
		   "a client wrote the memfd");
	const struct vscanout_vblank_record *record =
		mmap(NULL, sizeof(*record), PROT_READ, MAP_SHARED, memfd, 0);
	kt_assert_errno(record != MAP_FAILED);
	kt_assertf(mprotect((void *)record, sizeof(*record), PROT_READ | PROT_WRITE) < 0,
		   "a client made its mapping writable");
	struct vscanout_vblank_state got;
	vscanout_vblank_record_read(record, &got);
	kt_assertf(got.sequence == want->sequence && got.timestamp_ns == want->timestamp_ns &&
			   got.refresh_ns == want->refresh_ns && got.flags == want->flags,
		   "client read seq %llu ts %llu refresh %llu flags 0x%x, want %llu %llu %llu 0x%x",
		   (unsigned long long)got.sequence, (unsigned long long)got.timestamp_ns,
		   (unsigned long long)got.refresh_ns, got.flags,
		   (unsigned long long)want->sequence, (unsigned long long)want->timestamp_ns,
		   (unsigned long long)want->refresh_ns, want->flags);
	return 0;
}

struct sync_wait {
	int fd;
	struct kms_output *output;
	struct tv_client *client;
	uint64_t kernel_seq, kernel_ns;
	struct vscanout_vblank_state record; /* when it caught up */
};

/* The record caught up with the kernel's current vblank. */
static bool record_caught_up(void *data)
{
	struct sync_wait *w = data;
	w->kernel_seq = kernel_sequence(w->fd, w->output, &w->kernel_ns);
	tv_client_read(w->client, &w->record);
	return w->record.sequence == w->kernel_seq;
}

int main(void)
{
	struct kt_device dev;
	struct wl_event_loop *loop;
	struct kms_device *device;
	struct tk_presents presents;
	struct kms_output_settings settings;
	kms_output_settings_init(&settings);
	settings.width = 1024;
	settings.height = 768;
	struct kms_output *output =
		tk_light_virtual1(&dev, "vkms", &settings, &loop, &device, &presents);

	/* 1. 3 s without flips */
	uint64_t commits = output->stats.commits, n_presents = presents.count;
	uint64_t seq0 = kernel_sequence(dev.fd, output, NULL);
	struct kms_vblank_source *a = kms_vblank_source_create(output);
	struct kms_vblank_source *b = kms_vblank_source_create(output);
	kt_assert(a && b);
	struct tv_client ca, cb;
	tv_client_init(&ca, loop, a);
	tv_client_init(&cb, loop, b);
	tv_run_for(loop, 3000);
	struct sync_wait w = {.fd = dev.fd, .output = output, .client = &ca};
	tv_run_until(loop, record_caught_up, &w, "the record to reach the kernel's sequence");
	/* Both eventfds may hold that vblank's count still: take it before any dispatch. */
	tv_client_drain(&ca);
	tv_client_drain(&cb);
	uint64_t advance = w.kernel_seq - seq0;
	kt_log("1. %llu vblanks in the kernel; eventfd sums %llu and %llu in %llu and %llu "
	       "wakeups; steps off refresh by at most %llu ns",
	       (unsigned long long)advance, (unsigned long long)ca.total,
	       (unsigned long long)cb.total, (unsigned long long)ca.wakeups,
	       (unsigned long long)cb.wakeups, (unsigned long long)ca.max_step_error_ns);
	kt_assertf(advance >= 150, "only %llu vblanks in 3 s", (unsigned long long)advance);
	kt_assertf(ca.total + 1 >= advance && ca.total <= advance + 1,
		   "eventfd counted %llu vblanks, the kernel %llu", (unsigned long long)ca.total,
		   (unsigned long long)advance);
	kt_assertf(cb.total == ca.total, "second source counted %llu, first %llu",
		   (unsigned long long)cb.total, (unsigned long long)ca.total);
	kt_assertf(ca.last.flags == 0, "flags 0x%x on vkms", ca.last.flags);
	kt_assertf(ca.last.refresh_ns > 16600000 && ca.last.refresh_ns < 16700000,
		   "refresh %llu ns", (unsigned long long)ca.last.refresh_ns);
	kt_assertf(ca.max_step_error_ns < 1000000, "a vblank step was %llu ns off the refresh",
		   (unsigned long long)ca.max_step_error_ns);
	kt_assertf(output->stats.commits == commits && presents.count == n_presents,
		   "%llu commits during the test",
		   (unsigned long long)(output->stats.commits - commits));

	/* 2. the record is the kernel's last vblank */
	struct vscanout_vblank_state st = w.record;
	kt_assertf(st.timestamp_ns == w.kernel_ns, "record timestamp %llu, kernel %llu",
		   (unsigned long long)st.timestamp_ns, (unsigned long long)w.kernel_ns);
	kt_log("2. record = kernel: sequence %llu, timestamp %llu ns, refresh %llu ns",
	       (unsigned long long)st.sequence, (unsigned long long)st.timestamp_ns,
	       (unsigned long long)st.refresh_ns);

	/* 3. a client process; the loop is not dispatched until it is done */
	tv_client_read(&ca, &st);
	pid_t pid = fork();
	kt_assert_errno(pid >= 0);
	if (pid == 0)
		_exit(client_child(ca.memfd, &st));
	int status;
	kt_assert_errno(waitpid(pid, &status, 0) == pid);
	kt_assertf(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client process failed (0x%x)",
		   status);
	kt_log("3. a forked client read the same record and could not write the memfd");

	/* 4. off and on; b goes, a keeps the shared clock */
	tv_client_finish(&cb);
	kms_vblank_source_destroy(b);
	tv_wait_ticks(loop, &ca, 3, "a to tick on when b went");
	kms_output_disable(output);
	tv_run_until(loop, tv_output_off, output, "the output to turn off");
	tv_run_for(loop, 0);
	uint64_t before = ca.total;
	tv_run_for(loop, 200);
	kt_assertf(ca.total == before, "%llu ticks while off",
		   (unsigned long long)(ca.total - before));
	tv_client_read(&ca, &st);
	kt_assertf(st.flags == VSCANOUT_VBLANK_STOPPED, "flags 0x%x while off", st.flags);
	ca.resumed = true;
	kt_assert_ok(kms_output_enable(output, &settings));
	tk_wait_presents(loop, &presents, n_presents + 1);
	tv_wait_ticks(loop, &ca, 8, "ticks after lighting again");
	tv_client_read(&ca, &st);
	kt_assertf(st.flags == 0, "flags 0x%x when on again", st.flags);
	kt_log("4. off: STOPPED, no ticks in 200 ms; on again: ticking");

	/* 5. another DRM master turns the CRTC off while the session is away */
	kms_device_set_active(device, false);
	uint32_t crtc_id = output->crtc->id;
	kt_assert_errno(drmModeSetCrtc(dev.fd, crtc_id, 0, 0, 0, NULL, 0, NULL) == 0);
	tv_wait_ticks(loop, &ca, 10, "timer ticks while the CRTC is off under another master");
	tv_client_read(&ca, &st);
	kt_assertf(st.flags == VSCANOUT_VBLANK_TIMER, "flags 0x%x, want TIMER", st.flags);
	kt_assertf(kernel_sequence_errno(dev.fd, crtc_id) != 0, "the CRTC still has vblanks");
	ca.resumed = true;
	n_presents = presents.count;
	kms_device_set_active(device, true);
	tk_wait_presents(loop, &presents, n_presents + 1);
	tv_wait_ticks(loop, &ca, 5, "ticks after the session came back");
	tv_client_read(&ca, &st);
	kt_assertf(st.flags == 0, "flags 0x%x after the session came back", st.flags);
	kt_assertf(st.sequence == kernel_sequence(dev.fd, output, NULL) ||
			   st.sequence + 1 == kernel_sequence(dev.fd, output, NULL),
		   "record sequence %llu is not the CRTC's", (unsigned long long)st.sequence);
	kt_log("5. CRTC off under another master: TIMER ticks; session back: vblank events");

	/* 6. the device goes first */
	tv_client_finish(&ca);
	tk_presents_finish(&presents);
	kms_device_destroy(device);
	kt_assert(kms_vblank_source_get_fds(a, &ca.eventfd, &ca.memfd) == 0);
	close(ca.eventfd);
	close(ca.memfd);
	kms_vblank_source_get_state(a, &st);
	kt_assertf(st.flags == VSCANOUT_VBLANK_STOPPED, "flags 0x%x after the device went",
		   st.flags);
	kms_vblank_source_destroy(a);
	kms_vblank_source_destroy(NULL);
	kt_log("6. a source outlived its device: STOPPED, destroyed cleanly");

	wl_event_loop_destroy(loop);
	close(dev.fd);
	return 0;
}
