// SPDX-License-Identifier: MIT
#include "kms/flip.h"
#include "kms/properties.h"

struct kms_flip_decision kms_flip_decide(const struct kms_flip_input *in)
{
	struct kms_flip_decision vsync = {.method = KMS_FLIP_METHOD_VSYNC, .probe = false};

	if (in->policy != KMS_FLIP_ASYNC || in->modeset || in->capture || !in->primary_only ||
	    !in->fb_only)
		return vsync;
	if (in->cap_atomic_async && in->atomic_probe != KMS_ASYNC_REJECTED)
		return (struct kms_flip_decision){
			.method = KMS_FLIP_METHOD_ATOMIC_ASYNC,
			.probe = in->atomic_probe == KMS_ASYNC_UNKNOWN,
		};
	if (in->cap_legacy_async && in->legacy_probe != KMS_ASYNC_REJECTED)
		return (struct kms_flip_decision){.method = KMS_FLIP_METHOD_LEGACY_ASYNC};
	return vsync;
}

void kms_flip_record(enum kms_async_probe *atomic_probe, enum kms_async_probe *legacy_probe,
		     enum kms_flip_method method, int ret)
{
	enum kms_async_probe *probe = NULL;

	if (method == KMS_FLIP_METHOD_ATOMIC_ASYNC)
		probe = atomic_probe;
	else if (method == KMS_FLIP_METHOD_LEGACY_ASYNC)
		probe = legacy_probe;
	if (probe == NULL)
		return;
	if (ret == 0)
		*probe = KMS_ASYNC_WORKS;
	else if (kms_commit_rejected(ret))
		*probe = KMS_ASYNC_REJECTED;
}

const char *kms_flip_method_name(enum kms_flip_method method)
{
	switch (method) {
	case KMS_FLIP_METHOD_VSYNC:
		return "vsync";
	case KMS_FLIP_METHOD_ATOMIC_ASYNC:
		return "atomic-async";
	case KMS_FLIP_METHOD_LEGACY_ASYNC:
		return "legacy-async";
	default:
		return "unknown";
	}
}

const char *kms_flip_policy_name(enum kms_flip_policy policy)
{
	return policy == KMS_FLIP_VSYNC ? "vsync" : "async";
}
