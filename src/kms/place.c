// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <libliftoff.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer/buffer.h"
#include "build-config.h"
#include "kms/fb.h"
#include "kms/output.h"
#include "kms/private.h"
#include "render/copy.h"
#include "render/scanout.h"
#include "util/log.h"

/*
 * Placement: which layer goes on which hardware plane.
 *
 * One liftoff_device per DRM device holds every plane of the device, and
 * each lit output has a liftoff_output on its CRTC, as libliftoff intends:
 * an overlay goes to whichever output places a layer on it first, instead
 * of a fixed share per output.
 *
 * What libliftoff 0.3 (Debian 12) does with several outputs, read in its
 * source (alloc.c, plane.c) and checked in the 0.3.0 binary:
 *  - liftoff_output_apply() only searches planes that no layer of another
 *    output holds (plane->layer) and whose possible_crtcs include the
 *    output's CRTC;
 *  - but the request it fills gets every plane of the device: each plane
 *    with a layer (of any output) is written again with that layer's
 *    properties and CRTC_ID, and each plane without one is turned off
 *    (FB_ID 0, CRTC_ID 0). A request holding another output's plane pulls
 *    that output's CRTC into the commit: a non-blocking commit then fails
 *    with EBUSY while that CRTC flips, or flips it too;
 *  - a plane's layer is forgotten as soon as its output places again or the
 *    layer is destroyed, before the commit that takes it off the screen has
 *    flipped (or when that commit is refused): libliftoff may then hand the
 *    plane to another output while the first one still scans it out.
 *
 * Therefore:
 *  - libliftoff's request is used only for its TEST_ONLY commits, on a copy
 *    of the frame's request (so that they see the modeset and writeback
 *    job). The real request gets this output's planes only: the ones its
 *    layers and composition buffer were placed on, written from the
 *    placement with the property ids resolved at start, and the ones it
 *    had on screen and no longer uses, turned off (at a modeset, and when
 *    the CRTC goes off, also the planes the kernel has on its CRTC that no
 *    output of ours holds, left over by the console or a previous DRM
 *    master). Another output's plane, or a plane on another CRTC, is never
 *    in it.
 *  - each plane records the output whose commit in flight and whose frame
 *    on screen use it (kms_plane.queued_on/current_on), moved along by the
 *    commits and flip events. A placement that puts a layer on a plane
 *    another output still holds is refused for that layer (it is copied:
 *    KMS_LAYER_MISS_NO_PLANE) and libliftoff places again; once the other
 *    output's flip releases a plane, the waiting output places again.
 *  - the other outputs' layers in libliftoff keep the FB_ID of their last
 *    commit (also when a placement is reused), so that the planes libliftoff
 *    writes for them in a TEST_ONLY commit name live framebuffers.
 */

/*
 * libliftoff 0.3 dup()s the fd without O_CLOEXEC. The duplicate takes the
 * lowest free descriptor, which F_DUPFD_CLOEXEC finds first (one thread), so
 * the flag is set on it afterwards.
 */
static struct liftoff_device *liftoff_device_create_cloexec(int fd)
{
	int probe = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (probe >= 0)
		close(probe);
	struct liftoff_device *device = liftoff_device_create(fd);
	struct stat a, b;
	if (device != NULL && probe >= 0 && fstat(probe, &a) == 0 && fstat(fd, &b) == 0 &&
	    a.st_rdev == b.st_rdev)
		fcntl(probe, F_SETFD, FD_CLOEXEC);
	return device;
}

struct liftoff_device *kms_place_device_create(struct kms_device *device)
{
	struct liftoff_device *liftoff = liftoff_device_create_cloexec(device->fd);
	if (liftoff == NULL) {
		log_error("device %s: cannot set up plane placement", device->name);
		return NULL;
	}
	for (size_t i = 0; i < device->n_planes; i++) {
		if (liftoff_plane_create(liftoff, device->planes[i].id) == NULL) {
			log_error("device %s: cannot register plane %u for placement", device->name,
				  device->planes[i].id);
			liftoff_device_destroy(liftoff);
			return NULL;
		}
	}
	return liftoff;
}

const struct kms_plane *kms_plane_by_id(const struct kms_device *device, uint32_t id)
{
	for (size_t i = 0; i < device->n_planes; i++) {
		if (device->planes[i].id == id)
			return &device->planes[i];
	}
	return NULL;
}

bool kms_plane_busy(const struct kms_plane *plane, const struct kms_output *output)
{
	return (plane->queued_on != NULL && plane->queued_on != output) ||
	       (plane->current_on != NULL && plane->current_on != output);
}

int kms_place_attach_layer(struct kms_layer *layer)
{
	if (layer->output->liftoff_output == NULL || layer->liftoff != NULL)
		return 0;
	layer->liftoff = liftoff_layer_create(layer->output->liftoff_output);
	return layer->liftoff != NULL ? 0 : -ENOMEM;
}

int kms_place_setup(struct kms_output *output)
{
	struct kms_device *device = output->device;
	if (device->liftoff == NULL)
		return -ENODEV;
	output->liftoff_output = liftoff_output_create(device->liftoff, output->crtc->id);
	if (output->liftoff_output == NULL)
		return -ENOMEM;
	output->placeholder_layer = liftoff_layer_create(output->liftoff_output);
	output->composition_layer = liftoff_layer_create(output->liftoff_output);
	if (output->placeholder_layer == NULL || output->composition_layer == NULL)
		return -ENOMEM;
	liftoff_output_set_composition_layer(output->liftoff_output, output->composition_layer);
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		if (kms_place_attach_layer(layer) < 0)
			return -ENOMEM;
	}
	return 0;
}

void kms_place_teardown(struct kms_output *output)
{
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		liftoff_layer_destroy(layer->liftoff);
		layer->liftoff = NULL;
	}
	liftoff_layer_destroy(output->placeholder_layer);
	liftoff_layer_destroy(output->composition_layer);
	liftoff_output_destroy(output->liftoff_output);
	output->placeholder_layer = output->composition_layer = NULL;
	output->liftoff_output = NULL;
}

/*
 * Offer a framebuffer at dst (mode pixels) from src, turned as
 * plane_rotation says. The rotation is always set, DRM_MODE_ROTATE_0 too:
 * a plane keeps the last value written to it, so a plane that once showed a
 * turned layer must be told when it shows an upright one. (libliftoff skips
 * ROTATE_0 on planes without the property, so they still take the layer.)
 */
static void set_layer_rect(struct liftoff_layer *l, uint32_t fb_id, const struct kms_rect *dst,
			   const struct kms_fixed_rect *src, uint64_t plane_rotation)
{
	liftoff_layer_set_property(l, "rotation", plane_rotation);
	liftoff_layer_set_property(l, "FB_ID", fb_id);
	liftoff_layer_set_property(l, "CRTC_X", (uint64_t)(int64_t)dst->x);
	liftoff_layer_set_property(l, "CRTC_Y", (uint64_t)(int64_t)dst->y);
	liftoff_layer_set_property(l, "CRTC_W", dst->width);
	liftoff_layer_set_property(l, "CRTC_H", dst->height);
	liftoff_layer_set_property(l, "SRC_X", src->x);
	liftoff_layer_set_property(l, "SRC_Y", src->y);
	liftoff_layer_set_property(l, "SRC_W", src->width);
	liftoff_layer_set_property(l, "SRC_H", src->height);
}

/* The same on a plane of the real request (what libliftoff would write for it). */
static void add_plane(struct kms_atomic *atomic, const struct kms_plane *plane, uint32_t crtc_id,
		      uint32_t fb_id, const struct kms_rect *dst, const struct kms_fixed_rect *src,
		      uint64_t plane_rotation)
{
	const uint32_t *p = plane->props;
	kms_atomic_add(atomic, plane->id, p[KMS_PLANE_CRTC_ID], crtc_id);
	if (p[KMS_PLANE_ROTATION] != 0)
		kms_atomic_add(atomic, plane->id, p[KMS_PLANE_ROTATION], plane_rotation);
	kms_atomic_add(atomic, plane->id, p[KMS_PLANE_FB_ID], fb_id);
	kms_atomic_add(atomic, plane->id, p[KMS_PLANE_CRTC_X], (uint64_t)(int64_t)dst->x);
	kms_atomic_add(atomic, plane->id, p[KMS_PLANE_CRTC_Y], (uint64_t)(int64_t)dst->y);
	kms_atomic_add(atomic, plane->id, p[KMS_PLANE_CRTC_W], dst->width);
	kms_atomic_add(atomic, plane->id, p[KMS_PLANE_CRTC_H], dst->height);
	kms_atomic_add(atomic, plane->id, p[KMS_PLANE_SRC_X], src->x);
	kms_atomic_add(atomic, plane->id, p[KMS_PLANE_SRC_Y], src->y);
	kms_atomic_add(atomic, plane->id, p[KMS_PLANE_SRC_W], src->width);
	kms_atomic_add(atomic, plane->id, p[KMS_PLANE_SRC_H], src->height);
}

static void add_plane_off(struct kms_atomic *atomic, const struct kms_plane *plane)
{
	kms_atomic_add(atomic, plane->id, plane->props[KMS_PLANE_FB_ID], 0);
	kms_atomic_add(atomic, plane->id, plane->props[KMS_PLANE_CRTC_ID], 0);
}

/* The layer's framebuffer rectangles on the mode. */
static void layer_mode_rects(const struct kms_layer *layer, struct kms_rect *mode_dst,
			     struct kms_fixed_rect *src)
{
	struct kms_rect dst;
	kms_layer_rects(layer, &dst, src);
	kms_output_rect_to_mode(layer->output, &dst, mode_dst);
}

/* Offer the layer to libliftoff: its framebuffer, or composition. */
static void layer_offer(struct kms_layer *layer)
{
	const struct kms_layer_state *st = &layer->state;
	if (!st->visible) {
		liftoff_layer_set_property(layer->liftoff, "FB_ID", 0);
		return;
	}
	struct kms_rect mode_dst;
	struct kms_fixed_rect src;
	layer_mode_rects(layer, &mode_dst, &src);
	if (st->miss != 0) {
		/*
		 * Composited, but with its place and zpos: libliftoff keeps a
		 * layer below it that it overlaps off the planes above the
		 * composition (a guest under a copied inset would cover it).
		 */
		set_layer_rect(layer->liftoff, 0, &mode_dst, &src, DRM_MODE_ROTATE_0);
		liftoff_layer_set_property(layer->liftoff, "zpos", (uint64_t)(int64_t)layer->zpos);
		liftoff_layer_set_fb_composited(layer->liftoff);
		return;
	}
	set_layer_rect(layer->liftoff, layer->fb->fb_id, &mode_dst, &src,
		       kms_rotation_plane_value(layer->output->settings.rotation));
	liftoff_layer_set_property(layer->liftoff, "zpos", (uint64_t)(int64_t)layer->zpos);
}

/* Whether the frame puts something on plane_id. */
static bool frame_uses(struct kms_output *output, uint32_t plane_id)
{
	if (output->placed_comp_plane == plane_id)
		return true;
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->state.direct && layer->state.plane_id == plane_id)
			return true;
	}
	return false;
}

/*
 * Whether the kernel has plane on output's CRTC now (the state of the last
 * commit, flipped or not), although no output of ours put it there: left by
 * the console or a previous DRM master. Asks the kernel, so only for the
 * rare commits that light or turn off a CRTC.
 */
static bool plane_stray_on(const struct kms_plane *plane, const struct kms_output *output)
{
	uint64_t crtc_id = 0;
	if (!kms_plane_can_use_crtc(plane, output->crtc) || kms_plane_busy(plane, output))
		return false;
	return kms_prop_get(output->device->fd, plane->id, DRM_MODE_OBJECT_PLANE,
			    plane->props[KMS_PLANE_CRTC_ID], &crtc_id) == 0 &&
	       crtc_id == output->crtc->id;
}

/*
 * Turn off the planes this output had and the frame no longer uses; at a
 * modeset also the planes someone else left on its CRTC. A plane on another
 * CRTC is never written: that would pull the other CRTC into the commit.
 */
static void add_unused_off(struct kms_output *output, struct kms_frame *frame)
{
	struct kms_device *device = output->device;
	for (size_t i = 0; i < device->n_planes; i++) {
		const struct kms_plane *plane = &device->planes[i];
		bool had = plane->current_on == output || plane->queued_on == output;
		if (frame_uses(output, plane->id))
			continue;
		if (had || (frame->modeset && plane_stray_on(plane, output)))
			add_plane_off(&frame->atomic, plane);
	}
}

/* The last placement again: the new FB_IDs on the same planes. */
static void place_reused(struct kms_output *output, struct kms_frame *frame)
{
	struct kms_device *device = output->device;
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		struct kms_layer_state *st = &layer->state;
		if (!st->visible)
			continue;
		st->miss = layer->placed.miss;
		st->plane_id = layer->placed.plane_id;
		st->direct = st->plane_id != 0;
		st->copied = !st->direct && !(st->miss & KMS_LAYER_MISS_UNREADABLE);
		const struct kms_plane *plane = kms_plane_by_id(device, st->plane_id);
		if (st->direct && plane != NULL) {
			kms_atomic_add(&frame->atomic, plane->id, plane->props[KMS_PLANE_FB_ID],
				       layer->fb->fb_id);
			/* Other outputs' test commits write this plane with it. */
			liftoff_layer_set_property(layer->liftoff, "FB_ID", layer->fb->fb_id);
		}
	}
	const struct kms_plane *plane = kms_plane_by_id(device, output->placed_comp_plane);
	if (plane != NULL) {
		kms_atomic_add(&frame->atomic, plane->id, plane->props[KMS_PLANE_FB_ID],
			       frame->comp->fb->fb_id);
		liftoff_layer_set_property(output->placed_any_visible ? output->composition_layer
								      : output->placeholder_layer,
					   "FB_ID", frame->comp->fb->fb_id);
	}
}

/*
 * libliftoff's placement, with TEST_ONLY commits on a copy of the frame's
 * request. A layer put on a plane another output still holds is copied
 * instead and libliftoff places again (at most once per layer).
 */
static int apply_liftoff(struct kms_output *output, struct kms_frame *frame)
{
	struct kms_device *device = output->device;
	drmModeAtomicReq *scratch = drmModeAtomicDuplicate(frame->atomic.req);
	if (scratch == NULL)
		return -ENOMEM;
	int base = drmModeAtomicGetCursor(scratch);
	int passes = wl_list_length(&output->layers) + 1;
	int ret;
	output->plane_wait = false;
	for (;;) {
		drmModeAtomicSetCursor(scratch, base);
#if HAVE_LIFTOFF_APPLY_OPTIONS
		/* NULL: libliftoff's default time limit. */
		ret = liftoff_output_apply(output->liftoff_output, scratch, frame->flags, NULL);
#else
		ret = liftoff_output_apply(output->liftoff_output, scratch, frame->flags);
#endif
		if (ret < 0)
			break;
		bool busy = false;
		struct kms_layer *layer;
		wl_list_for_each (layer, &output->layers, link) {
			struct liftoff_plane *lp = liftoff_layer_get_plane(layer->liftoff);
			const struct kms_plane *plane =
				lp != NULL ? kms_plane_by_id(device, liftoff_plane_get_id(lp))
					   : NULL;
			if (plane == NULL || !layer->state.visible ||
			    !kms_plane_busy(plane, output))
				continue;
			log_debug("output %s: plane %u is still another output's, copying the "
				  "layer at zpos %d",
				  output->name, plane->id, layer->zpos);
			liftoff_layer_set_fb_composited(layer->liftoff);
			busy = true;
		}
		struct liftoff_layer *comp_layer =
			frame->any_visible ? output->composition_layer : output->placeholder_layer;
		struct liftoff_plane *lp = liftoff_layer_get_plane(comp_layer);
		const struct kms_plane *comp_plane =
			lp != NULL ? kms_plane_by_id(device, liftoff_plane_get_id(lp)) : NULL;
		if (comp_plane != NULL && kms_plane_busy(comp_plane, output)) {
			output->plane_wait = true;
			ret = -EBUSY;
			break;
		}
		if (!busy)
			break;
		output->plane_wait = true;
		if (--passes == 0) {
			ret = -EBUSY;
			break;
		}
	}
	drmModeAtomicFree(scratch);
	return ret;
}

/* A new placement from libliftoff; record where the layers went. */
static int place_new(struct kms_output *output, struct kms_frame *frame)
{
	struct kms_device *device = output->device;
	struct kms_rect full = {0, 0, output->mode.hdisplay, output->mode.vdisplay};
	struct kms_fixed_rect full_src = {0, 0, KMS_FIXED(full.width), KMS_FIXED(full.height)};
	uint32_t comp_fb = frame->comp->fb->fb_id;
	struct kms_layer *layer;

	output->placed_valid = false;
	wl_list_for_each (layer, &output->layers, link)
		layer_offer(layer);
	set_layer_rect(output->composition_layer, frame->any_visible ? comp_fb : 0, &full,
		       &full_src, DRM_MODE_ROTATE_0);
	set_layer_rect(output->placeholder_layer, frame->any_visible ? 0 : comp_fb, &full,
		       &full_src, DRM_MODE_ROTATE_0);
	int ret = apply_liftoff(output, frame);
	if (ret < 0)
		return ret;

	uint64_t rotation = kms_rotation_plane_value(output->settings.rotation);
	wl_list_for_each (layer, &output->layers, link) {
		struct kms_layer_state *st = &layer->state;
		struct kms_layer_placed *p = &layer->placed;
		*p = (struct kms_layer_placed){
			.valid = true,
			.visible = st->visible,
			.import_miss = st->miss,
			.dst = layer->dst,
			.src = layer->src,
		};
		if (!st->visible)
			continue;
		struct liftoff_plane *lp = liftoff_layer_get_plane(layer->liftoff);
		const struct kms_plane *plane =
			lp != NULL ? kms_plane_by_id(device, liftoff_plane_get_id(lp)) : NULL;
		if (plane != NULL && !liftoff_layer_needs_composition(layer->liftoff)) {
			st->direct = true;
			st->plane_id = plane->id;
			p->width = layer->fb->width;
			p->height = layer->fb->height;
			p->fourcc = layer->fb->fourcc;
			p->modifier = layer->fb->modifier;
			struct kms_rect mode_dst;
			struct kms_fixed_rect src;
			layer_mode_rects(layer, &mode_dst, &src);
			add_plane(&frame->atomic, plane, output->crtc->id, layer->fb->fb_id,
				  &mode_dst, &src, rotation);
		} else {
			if (st->miss == 0)
				st->miss = KMS_LAYER_MISS_NO_PLANE;
			/* Never a scrambled picture: the placeholder shows instead. */
			if (render_copy_can_read(layer->buffer))
				st->copied = true;
			else
				st->miss |= KMS_LAYER_MISS_UNREADABLE;
		}
		p->plane_id = st->plane_id;
		p->miss = st->miss;
	}
	struct liftoff_layer *comp_layer =
		frame->any_visible ? output->composition_layer : output->placeholder_layer;
	struct liftoff_plane *lp = liftoff_layer_get_plane(comp_layer);
	const struct kms_plane *comp_plane =
		lp != NULL ? kms_plane_by_id(device, liftoff_plane_get_id(lp)) : NULL;
	output->placed_comp_plane = comp_plane != NULL ? comp_plane->id : 0;
	output->placed_any_visible = frame->any_visible;
	if (comp_plane != NULL)
		add_plane(&frame->atomic, comp_plane, output->crtc->id, comp_fb, &full, &full_src,
			  DRM_MODE_ROTATE_0);
	add_unused_off(output, frame);
	return 0;
}

/* What went where: the counts the flip decision and the present event need. */
static void summarize(struct kms_output *output, struct kms_frame *frame)
{
	struct kms_device *device = output->device;
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		const struct kms_layer_state *st = &layer->state;
		if (!st->visible)
			continue;
		if (!st->direct) {
			frame->copied = true;
			continue;
		}
		frame->planes_on++;
		frame->n_direct++;
		const struct kms_plane *plane = kms_plane_by_id(device, st->plane_id);
		if (plane != NULL && plane->type == DRM_PLANE_TYPE_PRIMARY && layer->dst.width == 0)
			frame->primary_fb = layer->fb->fb_id;
	}
	frame->comp_used = output->placed_comp_plane != 0;
	if (frame->comp_used) {
		const struct kms_plane *plane = kms_plane_by_id(device, output->placed_comp_plane);
		if (plane != NULL && plane->type == DRM_PLANE_TYPE_PRIMARY)
			frame->primary_fb = frame->comp->fb->fb_id;
		frame->planes_on++;
	} else if (frame->copied || !frame->any_visible) {
		log_error("output %s: the composition buffer got no plane", output->name);
	}
}

int kms_place_frame(struct kms_output *output, struct kms_frame *frame)
{
	frame->copied = false;
	frame->planes_on = frame->n_direct = 0;
	frame->primary_fb = 0;
	frame->comp_used = false;
	if (frame->reuse) {
		place_reused(output, frame);
	} else {
		int ret = place_new(output, frame);
		if (ret < 0)
			return ret;
	}
	summarize(output, frame);
	return 0;
}

/* Outputs that gave up a plane another output held place again. */
static void wake_waiting(struct kms_device *device)
{
	struct kms_output *other;
	wl_list_for_each (other, &device->outputs, link) {
		if (!other->plane_wait || other->state != KMS_OUTPUT_ON)
			continue;
		other->plane_wait = false;
		other->placed_valid = false;
		kms_output_schedule_frame(other);
	}
}

void kms_place_queued(struct kms_output *output)
{
	struct kms_device *device = output->device;
	for (size_t i = 0; i < device->n_planes; i++) {
		struct kms_plane *plane = &device->planes[i];
		if (frame_uses(output, plane->id))
			plane->queued_on = output;
		else if (plane->queued_on == output)
			plane->queued_on = NULL;
	}
}

void kms_place_flipped(struct kms_output *output)
{
	struct kms_device *device = output->device;
	bool released = false;
	for (size_t i = 0; i < device->n_planes; i++) {
		struct kms_plane *plane = &device->planes[i];
		if (plane->queued_on == output) {
			plane->current_on = output;
			plane->queued_on = NULL;
		} else if (plane->current_on == output) {
			plane->current_on = NULL;
			released = true;
		}
	}
	if (released)
		wake_waiting(device);
}

void kms_place_released(struct kms_output *output)
{
	struct kms_device *device = output->device;
	bool released = false;
	for (size_t i = 0; i < device->n_planes; i++) {
		struct kms_plane *plane = &device->planes[i];
		if (plane->queued_on == output || plane->current_on == output)
			released = true;
		if (plane->queued_on == output)
			plane->queued_on = NULL;
		if (plane->current_on == output)
			plane->current_on = NULL;
	}
	output->plane_wait = false;
	if (released)
		wake_waiting(device);
}

void kms_place_add_planes_off(struct kms_output *output, struct kms_atomic *atomic)
{
	struct kms_device *device = output->device;
	for (size_t i = 0; i < device->n_planes; i++) {
		const struct kms_plane *plane = &device->planes[i];
		/*
		 * Also the planes left on its CRTC by someone else: the kernel
		 * refuses an inactive CRTC with a plane showing a framebuffer.
		 */
		if (plane->queued_on == output || plane->current_on == output ||
		    plane_stray_on(plane, output))
			add_plane_off(atomic, plane);
	}
}
