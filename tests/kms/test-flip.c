// SPDX-License-Identifier: MIT
/*
 * The async-flip decision and the pure helpers of kms/properties: the VM's
 * drivers have no async flips, so which method a frame gets is proven here.
 */
#include <drm_fourcc.h>
#include <xf86drm.h>

#include "../unit/test.h"
#include "kms/flip.h"
#include "kms/properties.h"

/* An FB_ID-only change of the whole-screen primary plane, async asked, atomic cap. */
static struct kms_flip_input flip_frame(void)
{
	return (struct kms_flip_input){
		.policy = KMS_FLIP_ASYNC,
		.cap_atomic_async = true,
		.cap_legacy_async = true,
		.primary_only = true,
		.fb_only = true,
	};
}

static void test_async_chosen(void)
{
	struct kms_flip_input in = flip_frame();
	struct kms_flip_decision d = kms_flip_decide(&in);
	check_int_eq(d.method, KMS_FLIP_METHOD_ATOMIC_ASYNC);
	check(d.probe);

	in.atomic_probe = KMS_ASYNC_WORKS;
	d = kms_flip_decide(&in);
	check_int_eq(d.method, KMS_FLIP_METHOD_ATOMIC_ASYNC);
	check(!d.probe);

	/* Without the atomic cap: legacy, never probed with TEST_ONLY. */
	in = flip_frame();
	in.cap_atomic_async = false;
	d = kms_flip_decide(&in);
	check_int_eq(d.method, KMS_FLIP_METHOD_LEGACY_ASYNC);
	check(!d.probe);
}

static void test_vsync_when_not_allowed(void)
{
	struct kms_flip_input in;

	in = flip_frame();
	in.policy = KMS_FLIP_VSYNC;
	check_int_eq(kms_flip_decide(&in).method, KMS_FLIP_METHOD_VSYNC);

	in = flip_frame();
	in.modeset = true;
	check_int_eq(kms_flip_decide(&in).method, KMS_FLIP_METHOD_VSYNC);

	in = flip_frame();
	in.capture = true;
	check_int_eq(kms_flip_decide(&in).method, KMS_FLIP_METHOD_VSYNC);

	in = flip_frame();
	in.primary_only = false; /* a cursor or overlay is on too */
	check_int_eq(kms_flip_decide(&in).method, KMS_FLIP_METHOD_VSYNC);

	in = flip_frame();
	in.fb_only = false; /* first frame on the plane: more than FB_ID changes */
	check_int_eq(kms_flip_decide(&in).method, KMS_FLIP_METHOD_VSYNC);

	in = flip_frame();
	in.cap_atomic_async = in.cap_legacy_async = false;
	check_int_eq(kms_flip_decide(&in).method, KMS_FLIP_METHOD_VSYNC);
}

static void test_rejection_remembered(void)
{
	struct kms_flip_input in = flip_frame();
	enum kms_async_probe atomic = KMS_ASYNC_UNKNOWN, legacy = KMS_ASYNC_UNKNOWN;

	/* The TEST_ONLY probe says EINVAL: atomic async is never tried again. */
	kms_flip_record(&atomic, &legacy, KMS_FLIP_METHOD_ATOMIC_ASYNC, -EINVAL);
	check_int_eq(atomic, KMS_ASYNC_REJECTED);
	check_int_eq(legacy, KMS_ASYNC_UNKNOWN);
	in.atomic_probe = atomic;
	check_int_eq(kms_flip_decide(&in).method, KMS_FLIP_METHOD_LEGACY_ASYNC);

	/* Then legacy is rejected too: vsync from now on. */
	kms_flip_record(&atomic, &legacy, KMS_FLIP_METHOD_LEGACY_ASYNC, -EINVAL);
	in.legacy_probe = legacy;
	check_int_eq(kms_flip_decide(&in).method, KMS_FLIP_METHOD_VSYNC);

	/* A busy device is not a rejection; success is remembered. */
	atomic = KMS_ASYNC_UNKNOWN;
	kms_flip_record(&atomic, &legacy, KMS_FLIP_METHOD_ATOMIC_ASYNC, -EBUSY);
	check_int_eq(atomic, KMS_ASYNC_UNKNOWN);
	kms_flip_record(&atomic, &legacy, KMS_FLIP_METHOD_ATOMIC_ASYNC, 0);
	check_int_eq(atomic, KMS_ASYNC_WORKS);
	/* Vsync commits never change the probes. */
	kms_flip_record(&atomic, &legacy, KMS_FLIP_METHOD_VSYNC, -EINVAL);
	check_int_eq(atomic, KMS_ASYNC_WORKS);
}

static void test_flags_str(void)
{
	char buf[96];
	check_str_eq(kms_commit_flags_str(0, buf, sizeof(buf)), "none");
	check_str_eq(kms_commit_flags_str(DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT, buf,
					  sizeof(buf)),
		     "PAGE_FLIP_EVENT|NONBLOCK");
	check_str_eq(
		kms_commit_flags_str(DRM_MODE_ATOMIC_TEST_ONLY | 0x10000000u, buf, sizeof(buf)),
		"TEST_ONLY|0x10000000");
	check(kms_commit_rejected(-EINVAL) && kms_commit_rejected(-ERANGE) &&
	      kms_commit_rejected(-ENOSPC) && !kms_commit_rejected(-EBUSY));
	check_str_eq(kms_flip_method_name(KMS_FLIP_METHOD_ATOMIC_ASYNC), "atomic-async");
}

static void test_atomic_first_error(void)
{
	struct kms_atomic atomic;
	kms_atomic_init(&atomic);
	kms_atomic_add(&atomic, 1, 2, 3);
	check_int_eq(atomic.error, 0);
	kms_atomic_add(&atomic, 1, 0, 3); /* missing property */
	check_int_eq(atomic.error, -ENOENT);
	kms_atomic_add(&atomic, 1, 5, 3);
	check_int_eq(atomic.error, -ENOENT);
	/* Nothing reaches the kernel: fd -1 would give EBADF. */
	check_int_eq(kms_atomic_commit(&atomic, -1, 0, NULL), -ENOENT);
	kms_atomic_finish(&atomic);
}

int main(void)
{
	test_async_chosen();
	test_vsync_when_not_allowed();
	test_rejection_remembered();
	test_flags_str();
	test_atomic_first_error();
	return 0;
}
