// SPDX-License-Identifier: MIT
/*
 * vblank-virtio-gpu: virtio-gpu has no vblank events (its flip events come
 * at once), so vblank sources tick on a timer at the mode's refresh:
 *
 *  1. the record says TIMER and the refresh of the mode;
 *  2. over 2 s of loop time the eventfd counts 2 s / refresh ticks, and the
 *     timestamps are exactly one refresh apart (drift-free);
 *  3. the output off: STOPPED, no ticks; on again: TIMER ticks resume.
 */
#include <stdlib.h>
#include <unistd.h>

#include "../kms/common.h"
#include "common.h"
#include "kms/device.h"
#include "kms/output.h"
#include "util/log.h"

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
		tk_light_virtual1(&dev, "virtio_gpu", &settings, &loop, &device, &presents);
	uint64_t seq, ns;
	int ret = drmCrtcGetSequence(dev.fd, output->crtc->id, &seq, &ns);
	kt_log("drmCrtcGetSequence on virtio-gpu: %s", ret == 0 ? "works" : strerror(errno));

	/* 1. */
	struct kms_vblank_source *src = kms_vblank_source_create(output);
	kt_assert(src);
	struct tv_client c;
	tv_client_init(&c, loop, src);
	struct vscanout_vblank_state st;
	tv_client_read(&c, &st);
	const drmModeModeInfo *m = &output->mode;
	uint64_t refresh = ((uint64_t)m->htotal * m->vtotal * 1000000u + m->clock / 2) / m->clock;
	kt_assertf(st.flags == VSCANOUT_VBLANK_TIMER, "flags 0x%x, want TIMER", st.flags);
	kt_assertf(st.refresh_ns == refresh, "refresh %llu ns, the mode's is %llu ns",
		   (unsigned long long)st.refresh_ns, (unsigned long long)refresh);
	kt_log("1. TIMER at %llu ns (%ux%u, %.3f Hz)", (unsigned long long)refresh, m->hdisplay,
	       m->vdisplay, 1e9 / (double)refresh);

	/* 2. */
	uint64_t start = kt_now_ns();
	tv_run_for(loop, 2000);
	uint64_t elapsed = kt_now_ns() - start, expected = elapsed / refresh;
	kt_log("2. %llu ticks in %llu wakeups over %.3f s (expected %llu); steps off refresh by "
	       "at most %llu ns",
	       (unsigned long long)c.total, (unsigned long long)c.wakeups, elapsed / 1e9,
	       (unsigned long long)expected, (unsigned long long)c.max_step_error_ns);
	kt_assertf(c.total + 2 >= expected && c.total <= expected + 1, "%llu ticks, expected %llu",
		   (unsigned long long)c.total, (unsigned long long)expected);
	kt_assertf(c.max_step_error_ns == 0, "timer ticks %llu ns off the refresh",
		   (unsigned long long)c.max_step_error_ns);
	kt_assertf(c.last.timestamp_ns - c.first.timestamp_ns ==
			   (c.last.sequence - c.first.sequence) * refresh,
		   "the timer drifted");
	kt_assertf(c.last.flags == VSCANOUT_VBLANK_TIMER, "flags 0x%x", c.last.flags);
	uint64_t now = kt_now_ns();
	kt_assertf(c.last.timestamp_ns <= now && now - c.last.timestamp_ns < 2 * refresh + 50000000,
		   "last tick %lld ns before now", (long long)(now - c.last.timestamp_ns));

	/* 3. */
	uint64_t n_presents = presents.count;
	kms_output_disable(output);
	tv_run_until(loop, tv_output_off, output, "the output to turn off");
	tv_run_for(loop, 2 * refresh / 1000000 + 1); /* the timer notices */
	uint64_t before = c.total;
	tv_run_for(loop, 200);
	kt_assertf(c.total == before, "%llu ticks while off",
		   (unsigned long long)(c.total - before));
	tv_client_read(&c, &st);
	kt_assertf(st.flags == VSCANOUT_VBLANK_STOPPED, "flags 0x%x while off", st.flags);
	c.resumed = true;
	kt_assert_ok(kms_output_enable(output, &settings));
	tk_wait_presents(loop, &presents, n_presents + 1);
	tv_wait_ticks(loop, &c, 8, "timer ticks after lighting again");
	tv_client_read(&c, &st);
	kt_assertf(st.flags == VSCANOUT_VBLANK_TIMER, "flags 0x%x after lighting again", st.flags);
	kt_log("3. off: STOPPED, no ticks in 200 ms; on again: TIMER ticks");

	tv_client_finish(&c);
	kms_vblank_source_destroy(src);
	tk_presents_finish(&presents);
	kms_device_destroy(device);
	wl_event_loop_destroy(loop);
	close(dev.fd);
	return 0;
}
