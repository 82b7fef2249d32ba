/* SPDX-License-Identifier: MIT */
/*
 * kmstest: a small library for tests that run against a real kernel KMS
 * driver (vkms, virtio-gpu, ...) inside the VM test bed.
 *
 * A test opens a DRM device by driver name, finds a pipe (connector, CRTC,
 * planes, writeback connector), builds atomic commits, and proves what the
 * CRTC produced by capturing it through the writeback connector and comparing
 * it pixel for pixel with an image the test computed itself.
 *
 * Conventions:
 *  - Functions return 0 or a negative errno; predicates return bool.
 *  - The kt_assert*() family prints "file:line: message" on stderr and exits
 *    with status 1. Tests never continue after a failed check.
 *  - A test exits with KT_SKIP (77, the meson/automake "skipped" status) when
 *    the device it needs is absent; kt_skip() does that.
 *  - Nothing here sleeps: waits use poll() on the DRM fd or a fence fd.
 *  - When a comparison fails the images are written as binary PPM files into
 *    the directory named by $VM_ARTEFACTS (if set), for inspection.
 */
#ifndef KMSTEST_H
#define KMSTEST_H

#ifdef NDEBUG
#error "kernel tests must be built without NDEBUG"
#endif

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <xf86drm.h>
#include <xf86drmMode.h>

/* Exit status of a test whose device is not present. */
#define KT_SKIP 77

/* Upper bound of planes remembered per pipe. */
#define KT_MAX_PLANES 32

/* ---------------------------------------------------------------------- */
/* Checks                                                                  */
/* ---------------------------------------------------------------------- */

/* Print "file:line: FAIL: <message>" on stderr and exit(1). */
__attribute__((noreturn, format(printf, 3, 4))) void kt_fail(const char *file, int line,
							     const char *fmt, ...);

/* Print "file:line: SKIP: <message>" on stderr and exit(KT_SKIP). */
__attribute__((noreturn, format(printf, 3, 4))) void kt_skip_at(const char *file, int line,
								const char *fmt, ...);

/* Print an informational line on stdout, prefixed with the program name. */
__attribute__((format(printf, 1, 2))) void kt_log(const char *fmt, ...);

/* Fail unless cond holds. */
#define kt_assert(cond)                                                             \
	do {                                                                        \
		if (!(cond))                                                        \
			kt_fail(__FILE__, __LINE__, "assertion failed: %s", #cond); \
	} while (0)

/* Fail unless cond holds, with a printf-style explanation. */
#define kt_assertf(cond, ...)                                     \
	do {                                                      \
		if (!(cond))                                      \
			kt_fail(__FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

/* Fail unless cond holds, reporting errno (for libc calls returning -1). */
#define kt_assert_errno(cond)                                                   \
	do {                                                                    \
		if (!(cond)) {                                                  \
			int kt_errno_ = errno;                                  \
			kt_fail(__FILE__, __LINE__, "%s: %s (errno %d)", #cond, \
				strerror(kt_errno_), kt_errno_);                \
		}                                                               \
	} while (0)

/*
 * Evaluate expr, which returns 0 or a negative errno (libdrm and kt_*
 * functions); fail with the error's name if it is negative.
 */
#define kt_assert_ok(expr)                                                                    \
	do {                                                                                  \
		int kt_ret_ = (expr);                                                         \
		if (kt_ret_ < 0)                                                              \
			kt_fail(__FILE__, __LINE__, "%s: %s (%d)", #expr, strerror(-kt_ret_), \
				kt_ret_);                                                     \
	} while (0)

/* Exit with KT_SKIP and a printf-style reason. */
#define kt_skip(...) kt_skip_at(__FILE__, __LINE__, __VA_ARGS__)

/*
 * Write text to path as a shell's "echo -n text > path" would (created if
 * missing, truncated): sysfs attributes, udev rules. Fails the test on error.
 */
struct kt_device;
void kt_write_file(const char *path, const char *text);

/*
 * The whole of a file (debugfs, sysfs: files of no stated size),
 * NUL-terminated and malloc'ed. Fails the test on error.
 */
char *kt_read_file(const char *path);

/*
 * Force the status of connector (e.g. "Virtual-2") of dev's card through
 * sysfs: "on", "off" or "detect". QEMU reports a virtio-gpu's heads beyond
 * the first disconnected until they are forced on.
 */
void kt_connector_force(const struct kt_device *dev, const char *connector, const char *status);

/*
 * Memory the test process owns, shared as a dma-buf: a memfd sealed against
 * shrinking, mapped read-write, turned into a dma-buf by /dev/udmabuf.
 */
struct kt_udmabuf {
	int memfd; /* owned */
	int fd;    /* the dma-buf, owned, O_CLOEXEC */
	void *map; /* read-write mapping of the memfd */
	size_t size;
};

/*
 * Make a udmabuf of at least size bytes (rounded up to whole pages). Exits
 * with KT_SKIP when /dev/udmabuf is absent; fails the test on other errors.
 */
void kt_udmabuf_create(struct kt_udmabuf *u, size_t size);

/* Unmap and close everything; the struct is zeroed. */
void kt_udmabuf_destroy(struct kt_udmabuf *u);

/* CLOCK_MONOTONIC in nanoseconds, for reporting timings. */
uint64_t kt_now_ns(void);

/* ---------------------------------------------------------------------- */
/* Devices                                                                 */
/* ---------------------------------------------------------------------- */

struct kt_device {
	int fd;          /* owned, O_CLOEXEC */
	char path[64];   /* e.g. "/dev/dri/card1" */
	char driver[32]; /* DRM driver name, e.g. "vkms" */
};

/*
 * Open the first /dev/dri/card* whose DRM driver name equals driver and set
 * the universal planes, atomic and writeback connector client caps.
 * Returns 0, -ENODEV when no such card exists, or another negative errno
 * (e.g. -EOPNOTSUPP when the driver lacks atomic support).
 * Cards are never chosen by number: the order depends on probing.
 */
int kt_device_open(struct kt_device *dev, const char *driver);

/* kt_device_open(), but exit with KT_SKIP when there is no such card. */
void kt_device_open_or_skip(struct kt_device *dev, const char *driver);

/* Close the device; safe on a zeroed or already closed struct with fd -1. */
void kt_device_close(struct kt_device *dev);

/* ---------------------------------------------------------------------- */
/* Properties                                                              */
/* ---------------------------------------------------------------------- */

/*
 * Id of the property called name on the KMS object obj_id of type obj_type
 * (DRM_MODE_OBJECT_CRTC, _CONNECTOR, _PLANE), or 0 if it has none.
 * Looks the name up every call: fine for tests, not for a frame loop.
 */
uint32_t kt_prop_id(struct kt_device *dev, uint32_t obj_id, uint32_t obj_type, const char *name);

/*
 * Current value of property name on the object. Returns 0 and sets *value,
 * or -ENOENT if the object has no such property.
 */
int kt_prop_get(struct kt_device *dev, uint32_t obj_id, uint32_t obj_type, const char *name,
		uint64_t *value);

/* ---------------------------------------------------------------------- */
/* Atomic requests                                                         */
/* ---------------------------------------------------------------------- */

/*
 * An atomic request that remembers its first failure, so a sequence of
 * kt_atomic_add() calls needs a single check at commit time.
 */
struct kt_atomic {
	struct kt_device *dev; /* borrowed */
	drmModeAtomicReq *req;
	int err;           /* first failure: 0 or negative errno */
	char err_what[96]; /* what failed first, for the message */
};

/* Start an empty request on dev. */
void kt_atomic_init(struct kt_atomic *a, struct kt_device *dev);

/*
 * Set property name of object obj_id (type obj_type) to value. A missing
 * property or allocation failure is recorded in a->err (first one wins).
 */
void kt_atomic_add(struct kt_atomic *a, uint32_t obj_id, uint32_t obj_type, const char *name,
		   uint64_t value);

/*
 * Commit the request with flags (DRM_MODE_ATOMIC_*, DRM_MODE_PAGE_FLIP_EVENT);
 * user_data is passed to the page-flip event (see struct kt_flip).
 * Returns the first recorded kt_atomic_add() failure without committing,
 * otherwise the commit's result (0 or negative errno). On failure the
 * reason is printed on stderr, unless flags has DRM_MODE_ATOMIC_TEST_ONLY.
 */
int kt_atomic_commit(struct kt_atomic *a, uint32_t flags, void *user_data);

/* Free the request; the struct may be re-initialised afterwards. */
void kt_atomic_finish(struct kt_atomic *a);

/* ---------------------------------------------------------------------- */
/* Images and buffers                                                      */
/* ---------------------------------------------------------------------- */

/* A CPU view of 32-bit-per-pixel pixels (XRGB8888 or ARGB8888). */
struct kt_image {
	uint32_t width, height;
	uint32_t stride; /* bytes per row */
	uint32_t format; /* DRM_FORMAT_XRGB8888 or DRM_FORMAT_ARGB8888 */
	void *data;      /* borrowed or owned, see the allocator */
};

/* Address of pixel (x, y) of img; no bounds checks. */
static inline uint32_t *kt_pixel(const struct kt_image *img, uint32_t x, uint32_t y)
{
	return (uint32_t *)((char *)img->data + (size_t)y * img->stride) + x;
}

/* Allocate a zeroed, tightly packed image in memory. */
int kt_image_alloc(struct kt_image *img, uint32_t width, uint32_t height, uint32_t format);

/* Free an image from kt_image_alloc(); a zeroed struct is a no-op. */
void kt_image_free(struct kt_image *img);

/* Fill the rectangle (x, y, w, h), clipped to the image, with one value. */
void kt_fill_rect(struct kt_image *img, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
		  uint32_t value);

/*
 * Fill the whole image with a deterministic pattern that differs at every
 * pixel in practice (a hash of x, y and seed), so shifted, scaled or stale
 * output cannot match by accident. For XRGB8888 the X byte is 0xff; for
 * ARGB8888 alpha is 0xff (opaque).
 */
void kt_fill_pattern(struct kt_image *img, uint32_t seed);

/*
 * Compare got with want pixel by pixel under mask (0x00ffffff ignores the
 * X/alpha byte, 0xffffffff compares all). The images must have the same size.
 * Prints "<what>: N of W×H pixels differ" and, if any differ, the first
 * mismatch (x, y, got, want) and saves <what>-got.ppm, <what>-want.ppm and
 * <what>-diff.ppm into $VM_ARTEFACTS. Returns the number of differing pixels.
 */
uint64_t kt_compare(const struct kt_image *got, const struct kt_image *want, uint32_t mask,
		    const char *what);

/*
 * Save img as a binary PPM (P6, alpha dropped) named "<name>.ppm" in the
 * directory $VM_ARTEFACTS. Returns 0, -ENOENT if VM_ARTEFACTS is not set,
 * or a negative errno from writing.
 */
int kt_save_ppm(const struct kt_image *img, const char *name);

/* A KMS framebuffer backed by a GEM object, with an optional CPU mapping. */
struct kt_buffer {
	struct kt_image img; /* img.data is the mmap, or NULL when not mapped */
	uint32_t handle;     /* GEM handle, 0 if none */
	uint32_t fb_id;      /* 0 if not added */
	uint64_t size;       /* bytes of the GEM object / mapping */
	bool dumb;           /* handle is a dumb buffer (destroy, not close) */
};

/*
 * Create a dumb buffer of width x height in format (XRGB8888 or ARGB8888),
 * map it for the CPU (zero-filled) and add it as a framebuffer.
 */
int kt_dumb_create(struct kt_device *dev, struct kt_buffer *buf, uint32_t width, uint32_t height,
		   uint32_t format);

/*
 * Import the dma-buf dmabuf_fd (borrowed: the caller keeps and closes it)
 * as a GEM handle and add it as a framebuffer with the given layout. The
 * buffer has no CPU mapping: the caller maps the memory behind it itself and
 * may point buf->img.data at that mapping.
 */
int kt_buffer_import(struct kt_device *dev, struct kt_buffer *buf, int dmabuf_fd, uint32_t width,
		     uint32_t height, uint32_t format, uint32_t stride);

/*
 * Remove the framebuffer, unmap a mapping made by kt_dumb_create() and
 * release the GEM handle. Safe on a zeroed struct.
 */
void kt_buffer_destroy(struct kt_device *dev, struct kt_buffer *buf);

/* ---------------------------------------------------------------------- */
/* Pipes                                                                   */
/* ---------------------------------------------------------------------- */

struct kt_pipe {
	uint32_t connector_id; /* first connected non-writeback connector */
	uint32_t crtc_id;
	uint32_t crtc_index;
	drmModeModeInfo mode; /* preferred mode of the connector */
	uint32_t mode_blob;   /* MODE_ID blob, 0 until kt_atomic_add_modeset() */
	uint32_t primary_id;
	uint32_t overlay_ids[KT_MAX_PLANES];
	unsigned int n_overlays;
	uint32_t cursor_id;    /* 0 if none */
	uint32_t writeback_id; /* writeback connector usable on crtc, 0 if none */
};

/*
 * Find a pipe: a connected connector with a mode, a CRTC it can drive, that
 * CRTC's primary plane, its overlay and cursor planes, and a writeback
 * connector that can be attached to it. Returns 0 or -ENOENT.
 */
int kt_pipe_find(struct kt_device *dev, struct kt_pipe *pipe);

/* Release the mode blob, if any. */
void kt_pipe_finish(struct kt_device *dev, struct kt_pipe *pipe);

/*
 * Add a full modeset of the pipe to a: the connector on the CRTC, the mode
 * (creating pipe->mode_blob once) and ACTIVE=1. Commit with
 * DRM_MODE_ATOMIC_ALLOW_MODESET.
 */
void kt_atomic_add_modeset(struct kt_atomic *a, struct kt_device *dev, struct kt_pipe *pipe);

/*
 * Show the whole of fb_id (fb_w x fb_h) on plane_id of crtc_id at
 * (crtc_x, crtc_y), unscaled.
 */
void kt_atomic_add_plane(struct kt_atomic *a, uint32_t plane_id, uint32_t crtc_id, uint32_t fb_id,
			 uint32_t fb_w, uint32_t fb_h, int32_t crtc_x, int32_t crtc_y);

/* Detach plane_id (FB_ID and CRTC_ID 0). */
void kt_atomic_disable_plane(struct kt_atomic *a, uint32_t plane_id);

/* ---------------------------------------------------------------------- */
/* Writeback and events                                                    */
/* ---------------------------------------------------------------------- */

/*
 * Add a writeback job to a: attach the pipe's writeback connector to its
 * CRTC and capture the CRTC's output of this commit into out (a buffer of the
 * mode's size in a format the connector lists in WRITEBACK_PIXEL_FORMATS).
 * *fence_fd must stay valid until the commit returns; it receives the out
 * fence, which signals when out holds the frame (caller closes it).
 * Commit with DRM_MODE_ATOMIC_ALLOW_MODESET: attaching the connector
 * changes the CRTC's connector set.
 */
void kt_atomic_add_writeback(struct kt_atomic *a, const struct kt_pipe *pipe,
			     const struct kt_buffer *out, int *fence_fd);

/*
 * Wait with poll() until the sync_file fence_fd signals, at most timeout_ms.
 * Returns 0, -ETIMEDOUT, or a negative errno.
 */
int kt_fence_wait(int fence_fd, int timeout_ms);

/*
 * Capture what the active CRTC of pipe shows now into out: commit a
 * writeback job alone and wait for its fence. Returns 0 or a negative errno.
 */
int kt_capture(struct kt_device *dev, const struct kt_pipe *pipe, struct kt_buffer *out,
	       int timeout_ms);

/* The exit status of a test whose test bed hung (as tests/vm/run's timeouts). */
#define KT_EXIT_HUNG 124

/*
 * Check the status of a kms_output_capture(): fail on an error, but exit
 * KT_EXIT_HUNG on -ETIMEDOUT, a writeback job the kernel never completed.
 * vkms 6.1 can lose one: the cleanup of the previous job, run late from a
 * workqueue, may turn off the composer that the next job had just turned
 * on. That is the test bed hanging, not the code under test failing.
 */
void kt_check_capture_status(int status);

/*
 * A page-flip event to wait for: pass a pointer to it as the user_data of a
 * commit with DRM_MODE_PAGE_FLIP_EVENT, then call kt_flip_wait().
 */
struct kt_flip {
	bool done;
	uint32_t crtc_id;
	uint32_t sequence;
	uint64_t time_ns; /* vblank timestamp, CLOCK_MONOTONIC */
};

/*
 * Dispatch DRM events with drmHandleEvent() until flip->done, polling the
 * DRM fd at most timeout_ms in total. Returns 0, -ETIMEDOUT or a negative
 * errno.
 */
int kt_flip_wait(struct kt_device *dev, struct kt_flip *flip, int timeout_ms);

#endif /* KMSTEST_H */
