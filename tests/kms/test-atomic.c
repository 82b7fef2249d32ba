// SPDX-License-Identifier: MIT
/*
 * kms_atomic_commit() hands the request to the kernel itself: what the
 * DRM_IOCTL_MODE_ATOMIC ioctl gets is checked here, the ioctl being
 * replaced by this file's (no device needed). The kernel must see what
 * drmModeAtomicCommit() would send: each object once, in id order, its
 * properties in id order, a property set twice with its last value.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <xf86drm.h>

#include "../unit/test.h"
#include "kms/properties.h"

#define MAX 16

/* What the last DRM_IOCTL_MODE_ATOMIC got. */
static struct {
	unsigned int calls;
	int fail_errno[4]; /* errno of the first calls, 0: success */
	uint32_t flags, n_objs, n_props;
	uint32_t objs[MAX], counts[MAX], props[MAX];
	uint64_t values[MAX];
	uint64_t user_data;
} seen;

int ioctl(int fd, unsigned long request, ...);

int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != 42 || request != DRM_IOCTL_MODE_ATOMIC) {
		errno = ENOTTY;
		return -1;
	}
	const struct drm_mode_atomic *a = arg;
	unsigned int call = seen.calls++;
	seen.flags = a->flags;
	seen.n_objs = a->count_objs;
	seen.user_data = a->user_data;
	const uint32_t *objs = (const uint32_t *)(uintptr_t)a->objs_ptr;
	const uint32_t *counts = (const uint32_t *)(uintptr_t)a->count_props_ptr;
	const uint32_t *props = (const uint32_t *)(uintptr_t)a->props_ptr;
	const uint64_t *values = (const uint64_t *)(uintptr_t)a->prop_values_ptr;
	seen.n_props = 0;
	for (uint32_t i = 0; i < a->count_objs && i < MAX; i++) {
		seen.objs[i] = objs[i];
		seen.counts[i] = counts[i];
		seen.n_props += counts[i];
	}
	for (uint32_t i = 0; i < seen.n_props && i < MAX; i++) {
		seen.props[i] = props[i];
		seen.values[i] = values[i];
	}
	if (call < 4 && seen.fail_errno[call] != 0) {
		errno = seen.fail_errno[call];
		return -1;
	}
	return 0;
}

static void test_sorted_last_value(void)
{
	struct kms_atomic atomic;
	int user = 0;
	memset(&seen, 0, sizeof(seen));
	kms_atomic_init(&atomic);
	kms_atomic_add(&atomic, 20, 3, 1);
	kms_atomic_add(&atomic, 10, 5, 2);
	kms_atomic_add(&atomic, 20, 1, 3);
	kms_atomic_add(&atomic, 10, 5, 4); /* set again: 4 goes out */
	kms_atomic_add(&atomic, 20, 3, 5); /* set again: 5 goes out */
	kms_atomic_add(&atomic, 15, 2, 6);
	/* libdrm's copy has all of them, for libliftoff's test commits. */
	check_int_eq(drmModeAtomicGetCursor(atomic.req), 6);
	check_int_eq(kms_atomic_commit(&atomic, 42, DRM_MODE_ATOMIC_NONBLOCK, &user), 0);
	check_int_eq(seen.calls, 1);
	check_int_eq(seen.flags, DRM_MODE_ATOMIC_NONBLOCK);
	check(seen.user_data == (uint64_t)(uintptr_t)&user);
	check_int_eq(seen.n_objs, 3);
	check_int_eq(seen.objs[0], 10);
	check_int_eq(seen.counts[0], 1);
	check_int_eq(seen.objs[1], 15);
	check_int_eq(seen.counts[1], 1);
	check_int_eq(seen.objs[2], 20);
	check_int_eq(seen.counts[2], 2);
	check_int_eq(seen.props[0], 5);
	check_int_eq(seen.values[0], 4);
	check_int_eq(seen.props[1], 2);
	check_int_eq(seen.values[1], 6);
	check_int_eq(seen.props[2], 1);
	check_int_eq(seen.values[2], 3);
	check_int_eq(seen.props[3], 3);
	check_int_eq(seen.values[3], 5);

	/* Committed again (a test commit, then the real one): the same. */
	check_int_eq(kms_atomic_commit(&atomic, 42, 0, NULL), 0);
	check_int_eq(seen.calls, 2);
	check_int_eq(seen.n_objs, 3);
	check_int_eq(seen.n_props, 4);
	check_int_eq(seen.values[3], 5);

	/* Emptied for the next frame: only what is added then goes out. */
	kms_atomic_reset(&atomic);
	check_int_eq(drmModeAtomicGetCursor(atomic.req), 0);
	kms_atomic_add(&atomic, 7, 9, 11);
	check_int_eq(kms_atomic_commit(&atomic, 42, 0, NULL), 0);
	check_int_eq(seen.n_objs, 1);
	check_int_eq(seen.objs[0], 7);
	check_int_eq(seen.n_props, 1);
	check_int_eq(seen.props[0], 9);
	check_int_eq(seen.values[0], 11);
	kms_atomic_finish(&atomic);
}

static void test_empty_and_errors(void)
{
	struct kms_atomic atomic;
	memset(&seen, 0, sizeof(seen));

	/* Nothing to commit: nothing sent, as drmModeAtomicCommit(). */
	kms_atomic_init(&atomic);
	check_int_eq(kms_atomic_commit(&atomic, 42, 0, NULL), 0);
	check_int_eq(seen.calls, 0);

	/* A recorded failure: nothing sent. */
	kms_atomic_add(&atomic, 1, 0, 3);
	check_int_eq(kms_atomic_commit(&atomic, 42, 0, NULL), -ENOENT);
	check_int_eq(seen.calls, 0);
	kms_atomic_reset(&atomic);
	check_int_eq(atomic.error, 0);

	/* Interrupted and busy-again are retried; a refusal is returned. */
	kms_atomic_add(&atomic, 1, 2, 3);
	seen.fail_errno[0] = EINTR;
	seen.fail_errno[1] = EAGAIN;
	seen.fail_errno[2] = EINVAL;
	check_int_eq(kms_atomic_commit(&atomic, 42, 0, NULL), -EINVAL);
	check_int_eq(seen.calls, 3);
	kms_atomic_finish(&atomic);

	/* A zeroed request is initialised by a reset. */
	struct kms_atomic zero = {0};
	kms_atomic_reset(&zero);
	check(zero.req != NULL && zero.error == 0);
	kms_atomic_add(&zero, 4, 5, 6);
	check_int_eq(drmModeAtomicGetCursor(zero.req), 1);
	kms_atomic_finish(&zero);
}

int main(void)
{
	test_sorted_last_value();
	test_empty_and_errors();
	return 0;
}
