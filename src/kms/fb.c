// SPDX-License-Identifier: MIT
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "buffer/buffer.h"
#include "kms/fb.h"
#include "util/log.h"

static const char *const failure_names[KMS_FB_FAIL__COUNT] = {
	[KMS_FB_FAIL_NONE] = "none",         [KMS_FB_FAIL_NOT_DMABUF] = "not a dma-buf",
	[KMS_FB_FAIL_MODIFIER] = "modifier", [KMS_FB_FAIL_IMPORT] = "import",
	[KMS_FB_FAIL_ADDFB] = "addfb",       [KMS_FB_FAIL_COMMIT] = "commit",
};

const char *kms_fb_failure_name(enum kms_fb_failure failure)
{
	if (failure < 0 || failure >= KMS_FB_FAIL__COUNT)
		return "unknown";
	return failure_names[failure];
}

static int add_fb(int drm_fd, bool modifiers_supported, uint32_t width, uint32_t height,
		  uint32_t fourcc, uint64_t modifier, unsigned int n_planes,
		  const uint32_t handles[], const uint32_t strides[], const uint32_t offsets[],
		  uint32_t *fb_id)
{
	uint32_t h[4] = {0}, s[4] = {0}, o[4] = {0};
	uint64_t m[4] = {0};

	for (unsigned int i = 0; i < n_planes && i < 4; i++) {
		h[i] = handles[i];
		s[i] = strides[i];
		o[i] = offsets[i];
		m[i] = modifier;
	}
	if (modifiers_supported && modifier != DRM_FORMAT_MOD_INVALID) {
		if (drmModeAddFB2WithModifiers(drm_fd, width, height, fourcc, h, s, o, m, fb_id,
					       DRM_MODE_FB_MODIFIERS) != 0)
			return -errno;
		return 0;
	}
	if (modifier != DRM_FORMAT_MOD_INVALID && modifier != DRM_FORMAT_MOD_LINEAR)
		return -EOPNOTSUPP;
	if (drmModeAddFB2(drm_fd, width, height, fourcc, h, s, o, fb_id, 0) != 0)
		return -errno;
	return 0;
}

static struct kms_fb *fb_alloc(struct kms_fb_registry *registry, uint32_t fb_id, uint32_t width,
			       uint32_t height, uint32_t fourcc, uint64_t modifier,
			       unsigned int n_planes, const uint32_t handles[])
{
	struct kms_fb *fb = calloc(1, sizeof(*fb));
	if (fb == NULL)
		return NULL;
	fb->refcnt = 1;
	fb->registry = registry;
	wl_list_insert(&registry->fbs, &fb->link);
	fb->fb_id = fb_id;
	fb->width = width;
	fb->height = height;
	fb->fourcc = fourcc;
	fb->modifier = modifier;
	for (unsigned int i = 0; i < n_planes && i < FOURCC_MAX_PLANES; i++)
		fb->handles[i] = handles[i];
	return fb;
}

struct kms_fb *kms_fb_create(struct kms_fb_registry *registry, uint32_t width, uint32_t height,
			     uint32_t fourcc, uint64_t modifier, unsigned int n_planes,
			     const uint32_t handles[], const uint32_t strides[],
			     const uint32_t offsets[])
{
	char name[FOURCC_STR_SIZE], mod[FOURCC_STR_SIZE];
	uint32_t fb_id = 0;

	if (n_planes < 1 || n_planes > FOURCC_MAX_PLANES) {
		log_error("framebuffer: %u planes is out of range 1..%d", n_planes,
			  FOURCC_MAX_PLANES);
		errno = EINVAL;
		return NULL;
	}
	int ret = add_fb(registry->drm_fd, registry->modifiers_supported, width, height, fourcc,
			 modifier, n_planes, handles, strides, offsets, &fb_id);
	if (ret < 0) {
		errno = -ret;
		log_error_errno("framebuffer: adding %" PRIu32 "x%" PRIu32 " %s %s", width, height,
				fourcc_str(fourcc, name, sizeof(name)),
				fourcc_modifier_str(modifier, mod, sizeof(mod)));
		return NULL;
	}
	struct kms_fb *fb =
		fb_alloc(registry, fb_id, width, height, fourcc, modifier, n_planes, handles);
	if (fb == NULL) {
		drmModeRmFB(registry->drm_fd, fb_id);
		errno = ENOMEM;
	}
	return fb;
}

struct kms_fb *kms_fb_ref(struct kms_fb *fb)
{
	assert(fb->refcnt > 0);
	fb->refcnt++;
	return fb;
}

void kms_fb_unref(struct kms_fb *fb)
{
	if (fb == NULL)
		return;
	assert(fb->refcnt > 0);
	if (--fb->refcnt > 0)
		return;
	if (fb->registry != NULL) {
		if (drmModeRmFB(fb->registry->drm_fd, fb->fb_id) != 0)
			log_error_errno("framebuffer %" PRIu32 ": removing", fb->fb_id);
		wl_list_remove(&fb->link);
	}
	free(fb);
}

static void import_destroy(struct buffer_import *import)
{
	wl_list_remove(&import->link);
	wl_list_remove(&import->registry_link);
	wl_list_remove(&import->buffer_destroy.link);
	kms_fb_unref(import->fb);
	free(import);
}

void kms_fb_registry_init(struct kms_fb_registry *registry, int drm_fd, bool modifiers_supported)
{
	registry->drm_fd = drm_fd;
	registry->modifiers_supported = modifiers_supported;
	wl_list_init(&registry->fbs);
	wl_list_init(&registry->imports);
}

void kms_fb_registry_finish(struct kms_fb_registry *registry)
{
	struct buffer_import *import, *tmp;
	wl_list_for_each_safe (import, tmp, &registry->imports, registry_link)
		import_destroy(import);
	/* Still held elsewhere: removed now, freed by their last unref. */
	struct kms_fb *fb, *fb_tmp;
	wl_list_for_each_safe (fb, fb_tmp, &registry->fbs, link) {
		if (drmModeRmFB(registry->drm_fd, fb->fb_id) != 0)
			log_debug("framebuffer %" PRIu32 ": removing: %s", fb->fb_id,
				  strerror(errno));
		wl_list_remove(&fb->link);
		wl_list_init(&fb->link);
		fb->registry = NULL;
		fb->fb_id = 0;
	}
}

static void handle_buffer_destroy(struct wl_listener *listener, void *data)
{
	struct buffer_import *import = wl_container_of(listener, import, buffer_destroy);
	import_destroy(import);
}

void kms_fb_forget(struct buffer *buffer, struct kms_fb_registry *registry)
{
	struct buffer_import *import = buffer_get_import(buffer, registry);
	if (import != NULL)
		import_destroy(import);
}

/* Close each distinct handle once: planes of one dma-buf share a handle. */
static void close_handles(int drm_fd, const uint32_t handles[], unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (handles[i] == 0)
			continue;
		bool seen = false;
		for (unsigned int j = 0; j < i; j++)
			seen = seen || handles[j] == handles[i];
		if (!seen && drmCloseBufferHandle(drm_fd, handles[i]) != 0)
			log_error_errno("framebuffer: closing GEM handle %" PRIu32, handles[i]);
	}
}

/* Fill in a failed import; returns its failure. */
__attribute__((format(printf, 4, 5))) static enum kms_fb_failure
import_fail(struct buffer_import *import, enum kms_fb_failure failure, int error, const char *fmt,
	    ...)
{
	va_list args;
	va_start(args, fmt);
	vsnprintf(import->message, sizeof(import->message), fmt, args);
	va_end(args);
	import->failure = failure;
	import->error = error;
	return failure;
}

static enum kms_fb_failure import_dmabuf(struct buffer_import *import,
					 struct kms_fb_registry *registry, struct buffer *buffer)
{
	bool modifiers_supported = registry->modifiers_supported;
	int drm_fd = registry->drm_fd;
	const struct dmabuf_attributes *attrs = &buffer->dmabuf;
	uint32_t handles[FOURCC_MAX_PLANES] = {0};
	char mod[FOURCC_STR_SIZE];
	enum kms_fb_failure failure = KMS_FB_FAIL_NONE;
	uint32_t fb_id = 0;
	int ret;

	if (buffer->type != BUFFER_DMABUF)
		return import_fail(import, KMS_FB_FAIL_NOT_DMABUF, EINVAL,
				   "CPU pixels cannot be scanned out directly");
	if (!modifiers_supported && attrs->modifier != DRM_FORMAT_MOD_INVALID &&
	    attrs->modifier != DRM_FORMAT_MOD_LINEAR)
		return import_fail(import, KMS_FB_FAIL_MODIFIER, EOPNOTSUPP,
				   "modifier %s needs DRM_CAP_ADDFB2_MODIFIERS",
				   fourcc_modifier_str(attrs->modifier, mod, sizeof(mod)));

	for (unsigned int i = 0; i < attrs->n_planes; i++) {
		if (drmPrimeFDToHandle(drm_fd, attrs->fd[i], &handles[i]) != 0) {
			failure =
				import_fail(import, KMS_FB_FAIL_IMPORT, errno,
					    "plane %u: drmPrimeFDToHandle: %s", i, strerror(errno));
			goto close_handles;
		}
	}

	ret = add_fb(drm_fd, modifiers_supported, attrs->width, attrs->height, attrs->fourcc,
		     attrs->modifier, attrs->n_planes, handles, attrs->stride, attrs->offset,
		     &fb_id);
	if (ret < 0) {
		failure = import_fail(import, KMS_FB_FAIL_ADDFB, -ret, "drmModeAddFB2: %s",
				      strerror(-ret));
		goto close_handles;
	}
	import->fb = fb_alloc(registry, fb_id, attrs->width, attrs->height, attrs->fourcc,
			      attrs->modifier, attrs->n_planes, handles);
	if (import->fb == NULL) {
		drmModeRmFB(drm_fd, fb_id);
		failure = import_fail(import, KMS_FB_FAIL_ADDFB, ENOMEM, "out of memory");
	}

close_handles:
	close_handles(drm_fd, handles, attrs->n_planes);
	return failure;
}

struct kms_fb *kms_fb_import(struct kms_fb_registry *registry, struct buffer *buffer,
			     enum kms_fb_failure *failure)
{
	struct buffer_import *import = buffer_get_import(buffer, registry);
	char name[FOURCC_STR_SIZE], mod[FOURCC_STR_SIZE];

	if (import == NULL) {
		import = calloc(1, sizeof(*import));
		if (import == NULL) {
			if (failure != NULL)
				*failure = KMS_FB_FAIL_NONE;
			errno = ENOMEM;
			return NULL;
		}
		import->owner = registry;
		wl_list_insert(&buffer->imports, &import->link);
		wl_list_insert(&registry->imports, &import->registry_link);
		import->buffer_destroy.notify = handle_buffer_destroy;
		wl_signal_add(&buffer->events.destroy, &import->buffer_destroy);

		enum kms_fb_failure f = import_dmabuf(import, registry, buffer);
		if (f != KMS_FB_FAIL_NONE) {
			enum log_level level =
				f == KMS_FB_FAIL_NOT_DMABUF ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN;
			if (log_enabled(level))
				log_at(level,
				       "framebuffer: %" PRIu32 "x%" PRIu32
				       " %s %s cannot be imported (%s): %s",
				       buffer->width, buffer->height,
				       fourcc_str(buffer->fourcc, name, sizeof(name)),
				       fourcc_modifier_str(buffer->modifier, mod, sizeof(mod)),
				       kms_fb_failure_name(f), import->message);
		}
	}

	if (import->fb == NULL) {
		if (failure != NULL)
			*failure = import->failure;
		errno = import->error;
		return NULL;
	}
	if (failure != NULL)
		*failure = KMS_FB_FAIL_NONE;
	return kms_fb_ref(import->fb);
}

void kms_fb_poison(struct buffer *buffer, struct kms_fb_registry *registry, int error)
{
	struct buffer_import *import = buffer_get_import(buffer, registry);
	char name[FOURCC_STR_SIZE], mod[FOURCC_STR_SIZE];
	if (import == NULL || import->fb == NULL)
		return;
	log_warn("framebuffer %" PRIu32 ": %" PRIu32 "x%" PRIu32 " %s %s was refused by a commit "
		 "(%s): copied from now on",
		 import->fb->fb_id, buffer->width, buffer->height,
		 fourcc_str(buffer->fourcc, name, sizeof(name)),
		 fourcc_modifier_str(buffer->modifier, mod, sizeof(mod)), strerror(error));
	kms_fb_unref(import->fb);
	import->fb = NULL;
	import_fail(import, KMS_FB_FAIL_COMMIT, error, "commit: %s", strerror(error));
}
