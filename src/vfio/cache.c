// SPDX-License-Identifier: MIT
#include <assert.h>
#include <string.h>

#include "buffer/buffer.h"
#include "vfio/cache.h"

static struct vfio_cache_key key_of(const struct vfio_device_gfx_plane_info *info)
{
	struct vfio_cache_key key;

	/* Zeroed first: keys are compared with memcmp(), padding included. */
	memset(&key, 0, sizeof(key));
	key.dmabuf_id = info->dmabuf_id;
	key.drm_format = info->drm_format;
	key.drm_format_mod = info->drm_format_mod;
	key.width = info->width;
	key.height = info->height;
	key.stride = info->stride;
	key.size = info->size;
	return key;
}

static struct vfio_cache_entry *find(struct vfio_cache *cache, const struct vfio_cache_key *key)
{
	for (size_t i = 0; i < VFIO_CACHE_SIZE; i++) {
		struct vfio_cache_entry *entry = &cache->entries[i];

		if (entry->buffer != NULL && memcmp(&entry->key, key, sizeof(*key)) == 0)
			return entry;
	}
	return NULL;
}

void vfio_cache_init(struct vfio_cache *cache)
{
	memset(cache, 0, sizeof(*cache));
}

void vfio_cache_finish(struct vfio_cache *cache)
{
	for (size_t i = 0; i < VFIO_CACHE_SIZE; i++) {
		struct buffer *buffer = cache->entries[i].buffer;

		/* Cleared before the unref: destroy listeners may look at the cache. */
		memset(&cache->entries[i], 0, sizeof(cache->entries[i]));
		buffer_unref(buffer);
	}
	cache->clock = 0;
}

struct buffer *vfio_cache_lookup(struct vfio_cache *cache,
				 const struct vfio_device_gfx_plane_info *info)
{
	struct vfio_cache_key key = key_of(info);
	struct vfio_cache_entry *entry = find(cache, &key);

	if (entry == NULL)
		return NULL;
	entry->last_used = ++cache->clock;
	return entry->buffer;
}

void vfio_cache_insert(struct vfio_cache *cache, const struct vfio_device_gfx_plane_info *info,
		       struct buffer *buffer)
{
	struct vfio_cache_key key = key_of(info);
	struct vfio_cache_entry *entry = find(cache, &key);
	struct buffer *old;

	assert(buffer != NULL);
	if (entry == NULL) {
		/* A free slot, else the least recently used one. */
		entry = &cache->entries[0];
		for (size_t i = 0; i < VFIO_CACHE_SIZE && entry->buffer != NULL; i++) {
			struct vfio_cache_entry *e = &cache->entries[i];

			if (e->buffer == NULL || e->last_used < entry->last_used)
				entry = e;
		}
	}
	old = entry->buffer;
	entry->key = key;
	entry->buffer = buffer_ref(buffer);
	entry->last_used = ++cache->clock;
	/* After the entry is updated, and a no-op for a buffer inserted twice. */
	buffer_unref(old);
}

size_t vfio_cache_count(const struct vfio_cache *cache)
{
	size_t n = 0;

	for (size_t i = 0; i < VFIO_CACHE_SIZE; i++)
		n += cache->entries[i].buffer != NULL;
	return n;
}
