/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_VFIO_CACHE_H
#define VSCANOUT_VFIO_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <linux/vfio.h>

/*
 * The dma-bufs a VFIO display source imported lately, least recently used
 * first out.
 *
 * A guest flips between a few framebuffers; each VFIO_DEVICE_GET_GFX_DMABUF
 * makes a new fd, and each new fd costs a framebuffer import in the KMS
 * core. The cache hands the same struct buffer back for a plane seen
 * before, so its framebuffer (cached on the buffer, kms/fb.h) is reused.
 *
 * The key is the dmabuf_id together with the plane's geometry (drm_format,
 * drm_format_mod, width, height, stride, size): a device that reuses an id
 * for another layout never gets the old buffer back.
 */

struct buffer;

/* Entries kept, as QEMU does: guests double- or triple-buffer. */
#define VFIO_CACHE_SIZE 5

struct vfio_cache_key {
	uint32_t dmabuf_id;
	uint32_t drm_format;
	uint64_t drm_format_mod;
	uint32_t width, height, stride, size;
};

struct vfio_cache_entry {
	struct vfio_cache_key key;
	struct buffer *buffer; /* a reference; NULL: the slot is free */
	uint64_t last_used;    /* vfio_cache.clock at the last insert or lookup */
};

/* Embedded in its owner; all fields private. */
struct vfio_cache {
	struct vfio_cache_entry entries[VFIO_CACHE_SIZE];
	uint64_t clock;
};

/* An empty cache. */
void vfio_cache_init(struct vfio_cache *cache);

/*
 * Drop every entry's reference and leave the cache empty (usable again).
 * A buffer still on screen stays alive through its locks.
 */
void vfio_cache_finish(struct vfio_cache *cache);

/*
 * The buffer cached for the plane info describes (dmabuf_id and geometry),
 * or NULL. The pointer is borrowed: buffer_ref() it to keep it beyond the
 * next insert. A hit makes the entry the most recently used.
 */
struct buffer *vfio_cache_lookup(struct vfio_cache *cache,
				 const struct vfio_device_gfx_plane_info *info);

/*
 * Remember buffer (a new reference is taken; the caller keeps its own) for
 * the plane info describes, as the most recently used entry. An entry with
 * the same key is replaced; when the cache is full the least recently used
 * entry is evicted and its reference dropped.
 */
void vfio_cache_insert(struct vfio_cache *cache, const struct vfio_device_gfx_plane_info *info,
		       struct buffer *buffer);

/* Number of buffers held, 0..VFIO_CACHE_SIZE. */
size_t vfio_cache_count(const struct vfio_cache *cache);

#endif
