// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "buffer/buffer.h"
#include "kms/output.h"
#include "kms/private.h"
#include "render/copy.h"
#include "render/scanout.h"
#include "util/fourcc.h"
#include "util/log.h"

/*
 * The copy path: layers no plane took are drawn with pixman into the
 * output's composition buffer, over the placeholder colour; and the same
 * drawing of the whole output for screenshots (kms_output_compose()).
 */

/* Draw one layer into image (the mode's size), turned and scaled as it is shown. */
static int draw_layer(struct kms_output *output, pixman_image_t *image, struct kms_layer *layer,
		      enum render_op op)
{
	struct kms_rect dst, mode_dst;
	struct kms_fixed_rect src;
	kms_layer_rects(layer, &dst, &src);
	kms_output_rect_to_mode(output, &dst, &mode_dst);
	struct render_rect rdst = {mode_dst.x, mode_dst.y, mode_dst.width, mode_dst.height};
	struct render_rect rsrc = {(int32_t)(src.x >> 16), (int32_t)(src.y >> 16), src.width >> 16,
				   src.height >> 16};
	return render_copy_rotated(image, &rdst, layer->buffer, &rsrc, op,
				   (uint32_t)output->settings.rotation);
}

int kms_output_compose(struct kms_output *output, pixman_image_t *image)
{
	if (output->state != KMS_OUTPUT_ON)
		return -ENODEV;
	struct render_rect full = {0, 0, output->mode.hdisplay, output->mode.vdisplay};
	int ret = render_fill(image, &full, 0xff000000u | output->settings.placeholder);
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->buffer == NULL)
			continue;
		const struct fourcc_info *info = fourcc_info_get(layer->buffer->fourcc);
		int r = draw_layer(output, image, layer,
				   info != NULL && info->has_alpha ? RENDER_OP_OVER
								   : RENDER_OP_SRC);
		if (r < 0) {
			log_debug("output %s: cannot read the layer at zpos %d: %s", output->name,
				  layer->zpos, strerror(-r));
			ret = ret < 0 ? ret : r;
		}
	}
	return ret;
}

/* Draw the copied layers (or only the placeholder) into buf. */
static void compose(struct kms_output *output, struct scanout_buffer *buf)
{
	struct render_rect full = {0, 0, output->mode.hdisplay, output->mode.vdisplay};
	struct kms_layer *layer;
	wl_list_for_each (layer, &output->layers, link) {
		if (layer->state.copied)
			break;
	}
	/* The fill is skipped when the bottom copied layer covers the screen opaquely. */
	const struct fourcc_info *info =
		&layer->link != &output->layers ? fourcc_info_get(layer->buffer->fourcc) : NULL;
	if (info == NULL || info->has_alpha || layer->dst.width != 0)
		render_fill(buf->image, &full, 0xff000000u | output->settings.placeholder);
	bool first = true;
	wl_list_for_each (layer, &output->layers, link) {
		if (!layer->state.copied)
			continue;
		int ret = draw_layer(output, buf->image, layer,
				     first ? RENDER_OP_SRC : RENDER_OP_OVER);
		if (ret < 0)
			log_debug("output %s: cannot copy a layer: %s", output->name,
				  strerror(-ret));
		first = false;
	}
}

static void handle_readable(struct buffer_waiter *waiter)
{
	struct kms_output *output = wl_container_of(waiter, output, readable_wait);
	kms_output_schedule_frame(output);
}

/*
 * Whether every buffer to copy may be read now. A dma-buf whose producer
 * has not finished writing (an unsignalled write fence) is never waited
 * for here: the output waits for it on the loop, one buffer at a time.
 */
static bool copy_sources_readable(struct kms_output *output)
{
	struct kms_layer *layer;
	buffer_waiter_cancel(&output->readable_wait);
	wl_list_for_each (layer, &output->layers, link) {
		if (!layer->state.copied || buffer_readable(layer->buffer))
			continue;
		int ret = buffer_waiter_wait(&output->readable_wait, layer->buffer,
					     output->device->loop, handle_readable);
		if (ret < 0) {
			/* The copy leaves the layer out rather than wait (buffer_begin_read()). */
			log_error("output %s: cannot wait for a buffer's write fence: %s",
				  output->name, strerror(-ret));
			return true;
		}
		log_debug("output %s: the buffer at zpos %d is still being written, "
			  "composing once its write fence signals",
			  output->name, layer->zpos);
		return false;
	}
	return true;
}

int kms_compose_frame(struct kms_output *output, struct kms_frame *frame)
{
	if (!frame->comp_used)
		return 0;
	if (!copy_sources_readable(output))
		return -EAGAIN;
	compose(output, frame->comp);
	return 0;
}
