// SPDX-License-Identifier: MIT
/*
 * The LRU of imported dma-bufs, with CPU buffers standing in for them: what
 * a hit needs, which entry an insert evicts, and that an evicted buffer
 * lives on exactly as long as somebody else holds it.
 */
#include <stdbool.h>
#include <stdint.h>

#include <drm_fourcc.h>

#include "buffer/buffer.h"
#include "test.h"
#include "vfio/cache.h"

static uint32_t pixels[16 * 16];

/* A buffer that notes when it is freed. */
struct tracked {
	struct buffer *buffer;
	bool destroyed;
	struct wl_listener destroy;
};

static void on_destroy(struct wl_listener *listener, void *data)
{
	struct tracked *t = wl_container_of(listener, t, destroy);

	check(data == t->buffer);
	t->destroyed = true;
	wl_list_remove(&t->destroy.link);
}

static void tracked_init(struct tracked *t)
{
	*t = (struct tracked){0};
	t->buffer = buffer_create_cpu(pixels, 16, 16, 64, DRM_FORMAT_XRGB8888);
	check(t->buffer != NULL);
	t->destroy.notify = on_destroy;
	wl_signal_add(&t->buffer->events.destroy, &t->destroy);
}

static struct vfio_device_gfx_plane_info plane(uint32_t id)
{
	return (struct vfio_device_gfx_plane_info){
		.argsz = sizeof(struct vfio_device_gfx_plane_info),
		.flags = VFIO_GFX_PLANE_TYPE_DMABUF,
		.drm_plane_type = 1, /* DRM_PLANE_TYPE_PRIMARY */
		.drm_format = DRM_FORMAT_XRGB8888,
		.drm_format_mod = DRM_FORMAT_MOD_LINEAR,
		.width = 1024,
		.height = 768,
		.stride = 4096,
		.size = 4096 * 768,
		.dmabuf_id = id,
	};
}

/* Insert a new buffer for id and give up the creator's reference. */
static void insert(struct vfio_cache *cache, struct tracked *t, uint32_t id)
{
	struct vfio_device_gfx_plane_info info = plane(id);

	tracked_init(t);
	vfio_cache_insert(cache, &info, t->buffer);
	check_int_eq(t->buffer->refcnt, 2);
	buffer_unref(t->buffer);
}

static struct buffer *lookup(struct vfio_cache *cache, uint32_t id)
{
	struct vfio_device_gfx_plane_info info = plane(id);

	return vfio_cache_lookup(cache, &info);
}

static void test_empty(void)
{
	struct vfio_cache cache;

	vfio_cache_init(&cache);
	check_int_eq(vfio_cache_count(&cache), 0);
	check(lookup(&cache, 1) == NULL);
	check(lookup(&cache, 0) == NULL);
	vfio_cache_finish(&cache);
	check_int_eq(vfio_cache_count(&cache), 0);
}

/* Every field of the key must match: an id reused for another layout misses. */
static void test_key(void)
{
	struct vfio_device_gfx_plane_info info = plane(7), other;
	struct vfio_cache cache;
	struct tracked t;

	vfio_cache_init(&cache);
	insert(&cache, &t, 7);
	check(lookup(&cache, 7) == t.buffer);
	check(lookup(&cache, 8) == NULL);

	other = info;
	other.drm_format = DRM_FORMAT_ARGB8888;
	check(vfio_cache_lookup(&cache, &other) == NULL);
	other = info;
	other.drm_format_mod = I915_FORMAT_MOD_X_TILED;
	check(vfio_cache_lookup(&cache, &other) == NULL);
	other = info;
	other.width = 1023;
	check(vfio_cache_lookup(&cache, &other) == NULL);
	other = info;
	other.height = 767;
	check(vfio_cache_lookup(&cache, &other) == NULL);
	other = info;
	other.stride = 8192;
	check(vfio_cache_lookup(&cache, &other) == NULL);
	other = info;
	other.size = 8192 * 768;
	check(vfio_cache_lookup(&cache, &other) == NULL);

	/* Fields that are not geometry (position, hotspot, plane type) do not count. */
	other = info;
	other.x_pos = 100;
	other.y_hot = 3;
	other.drm_plane_type = 2;
	check(vfio_cache_lookup(&cache, &other) == t.buffer);

	/* The same id with another layout is another entry. */
	struct tracked t2;
	other = info;
	other.stride = 8192;
	tracked_init(&t2);
	vfio_cache_insert(&cache, &other, t2.buffer);
	buffer_unref(t2.buffer);
	check_int_eq(vfio_cache_count(&cache), 2);
	check(vfio_cache_lookup(&cache, &other) == t2.buffer);
	check(vfio_cache_lookup(&cache, &info) == t.buffer);

	vfio_cache_finish(&cache);
	check(t.destroyed);
	check(t2.destroyed);
	check_int_eq(vfio_cache_count(&cache), 0);
}

/* The sixth distinct buffer evicts the least recently used, not the oldest. */
static void test_lru(void)
{
	struct tracked t[VFIO_CACHE_SIZE + 2];
	struct vfio_cache cache;

	vfio_cache_init(&cache);
	for (uint32_t i = 0; i < VFIO_CACHE_SIZE; i++) {
		insert(&cache, &t[i], 100 + i);
		check_int_eq(vfio_cache_count(&cache), i + 1);
	}
	for (uint32_t i = 0; i < VFIO_CACHE_SIZE; i++) {
		check(!t[i].destroyed);
		check_int_eq(t[i].buffer->refcnt, 1);
	}

	/* Use the first again: the second is now the least recently used. */
	check(lookup(&cache, 100) == t[0].buffer);
	insert(&cache, &t[VFIO_CACHE_SIZE], 200);
	check_int_eq(vfio_cache_count(&cache), VFIO_CACHE_SIZE);
	check(t[1].destroyed);
	check(lookup(&cache, 101) == NULL);
	for (uint32_t i = 0; i < VFIO_CACHE_SIZE + 1; i++) {
		if (i != 1)
			check(!t[i].destroyed);
	}

	/* Without lookups the oldest insert goes next: the third. */
	insert(&cache, &t[VFIO_CACHE_SIZE + 1], 201);
	check(t[2].destroyed);
	check(lookup(&cache, 102) == NULL);
	check(lookup(&cache, 100) == t[0].buffer);
	check(lookup(&cache, 103) == t[3].buffer);
	check(lookup(&cache, 104) == t[4].buffer);
	check(lookup(&cache, 200) == t[VFIO_CACHE_SIZE].buffer);
	check(lookup(&cache, 201) == t[VFIO_CACHE_SIZE + 1].buffer);
	check_int_eq(vfio_cache_count(&cache), VFIO_CACHE_SIZE);

	vfio_cache_finish(&cache);
	for (uint32_t i = 0; i < VFIO_CACHE_SIZE + 2; i++)
		check(t[i].destroyed);
}

/* A buffer on screen (locked) survives its eviction until it is unlocked. */
static void test_evict_locked(void)
{
	struct tracked t[VFIO_CACHE_SIZE + 1];
	struct vfio_cache cache;

	vfio_cache_init(&cache);
	for (uint32_t i = 0; i < VFIO_CACHE_SIZE; i++)
		insert(&cache, &t[i], i + 1);
	buffer_lock(t[0].buffer);
	check_int_eq(t[0].buffer->refcnt, 2);

	insert(&cache, &t[VFIO_CACHE_SIZE], 99);
	check(lookup(&cache, 1) == NULL);
	check(!t[0].destroyed);
	check_int_eq(t[0].buffer->refcnt, 1);
	buffer_unlock(t[0].buffer);
	check(t[0].destroyed);

	vfio_cache_finish(&cache);
}

/* Inserting a key again replaces its buffer; the same buffer twice is harmless. */
static void test_replace(void)
{
	struct vfio_device_gfx_plane_info info = plane(5);
	struct vfio_cache cache;
	struct tracked a, b;

	vfio_cache_init(&cache);
	insert(&cache, &a, 5);
	vfio_cache_insert(&cache, &info, a.buffer);
	check_int_eq(a.buffer->refcnt, 1);
	check_int_eq(vfio_cache_count(&cache), 1);

	insert(&cache, &b, 5);
	check(a.destroyed);
	check(!b.destroyed);
	check_int_eq(vfio_cache_count(&cache), 1);
	check(lookup(&cache, 5) == b.buffer);

	/* finish leaves a usable, empty cache. */
	vfio_cache_finish(&cache);
	check(b.destroyed);
	insert(&cache, &a, 6);
	check(lookup(&cache, 6) == a.buffer);
	vfio_cache_finish(&cache);
	check(a.destroyed);
}

int main(void)
{
	test_empty();
	test_key();
	test_lru();
	test_evict_locked();
	test_replace();
	return 0;
}
