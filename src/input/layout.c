// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "input/layout.h"

static const char *const rotation_names[LAYOUT_ROTATION__COUNT] = {
	[LAYOUT_ROTATION_0] = "0",
	[LAYOUT_ROTATION_90] = "90",
	[LAYOUT_ROTATION_180] = "180",
	[LAYOUT_ROTATION_270] = "270",
};

const char *layout_rotation_name(enum layout_rotation rotation)
{
	if ((unsigned)rotation >= LAYOUT_ROTATION__COUNT)
		return "unknown";
	return rotation_names[rotation];
}

int layout_rotation_from_degrees(int degrees, enum layout_rotation *rotation)
{
	if (degrees < 0 || degrees > 270 || degrees % 90 != 0)
		return -EINVAL;
	*rotation = (enum layout_rotation)(degrees / 90);
	return 0;
}

static bool swaps_axes(enum layout_rotation rotation)
{
	return rotation == LAYOUT_ROTATION_90 || rotation == LAYOUT_ROTATION_270;
}

static int64_t right_edge(const struct layout_output *output)
{
	return (int64_t)output->x + output->width;
}

/*
 * Positioned outputs first, then the others left to right from the right
 * edge of everything placed so far, in list order (kept sorted by order).
 */
static void arrange(struct layout *layout)
{
	struct layout_output *output;
	int64_t next_x = INT64_MIN;
	wl_list_for_each (output, &layout->outputs, link) {
		const struct layout_output_config *c = &output->config;
		output->placed = c->width > 0 && c->height > 0;
		output->width = swaps_axes(c->rotation) ? c->height : c->width;
		output->height = swaps_axes(c->rotation) ? c->width : c->height;
		if (!output->placed || !c->position_set)
			continue;
		output->x = c->x;
		output->y = c->y;
		if (right_edge(output) > next_x)
			next_x = right_edge(output);
	}
	if (next_x == INT64_MIN)
		next_x = 0;
	wl_list_for_each (output, &layout->outputs, link) {
		if (!output->placed || output->config.position_set)
			continue;
		/* Positions stay within int32_t: later ones pile up at the limit. */
		if (next_x > INT32_MAX)
			next_x = INT32_MAX;
		output->x = (int32_t)next_x;
		output->y = 0;
		next_x = right_edge(output);
	}
}

/* Keep the list sorted by config.order, stable for equal orders. */
static void insert_sorted(struct layout *layout, struct layout_output *output)
{
	struct layout_output *other;
	wl_list_for_each (other, &layout->outputs, link) {
		if (other->config.order > output->config.order) {
			wl_list_insert(other->link.prev, &output->link);
			return;
		}
	}
	wl_list_insert(layout->outputs.prev, &output->link);
}

void layout_init(struct layout *layout)
{
	wl_list_init(&layout->outputs);
}

void layout_finish(struct layout *layout)
{
	struct layout_output *output, *tmp;
	wl_list_for_each_safe (output, tmp, &layout->outputs, link)
		layout_output_destroy(layout, output);
}

struct layout_output *layout_output_create(struct layout *layout, const char *name,
					   const struct layout_output_config *config, void *data)
{
	struct layout_output *output = calloc(1, sizeof(*output));
	if (output == NULL)
		return NULL;
	output->name = strdup(name);
	if (output->name == NULL) {
		free(output);
		return NULL;
	}
	output->data = data;
	output->config = *config;
	insert_sorted(layout, output);
	arrange(layout);
	return output;
}

void layout_output_destroy(struct layout *layout, struct layout_output *output)
{
	if (output == NULL)
		return;
	wl_list_remove(&output->link);
	free(output->name);
	free(output);
	arrange(layout);
}

void layout_output_update(struct layout *layout, struct layout_output *output,
			  const struct layout_output_config *config)
{
	bool reorder = config->order != output->config.order;
	output->config = *config;
	if (reorder) {
		wl_list_remove(&output->link);
		insert_sorted(layout, output);
	}
	arrange(layout);
}

void layout_output_set_picture(struct layout_output *output, const struct kms_fixed_rect *src,
			       const struct kms_rect *dst)
{
	output->has_picture = src != NULL && dst != NULL && src->width > 0 && src->height > 0 &&
			      dst->width > 0 && dst->height > 0;
	if (output->has_picture) {
		output->src = *src;
		output->dst = *dst;
	} else {
		output->src = (struct kms_fixed_rect){0, 0, 0, 0};
		output->dst = (struct kms_rect){0, 0, 0, 0};
	}
}

struct layout_output *layout_find(const struct layout *layout, const char *name)
{
	struct layout_output *output;
	wl_list_for_each (output, &layout->outputs, link) {
		if (strcmp(output->name, name) == 0)
			return output;
	}
	return NULL;
}

static bool box_contains(const struct layout_output *output, double x, double y)
{
	return x >= output->x && x < (double)output->x + output->width && y >= output->y &&
	       y < (double)output->y + output->height;
}

struct layout_output *layout_output_at(const struct layout *layout, double x, double y)
{
	struct layout_output *output;
	wl_list_for_each (output, &layout->outputs, link) {
		if (output->placed && box_contains(output, x, y))
			return output;
	}
	return NULL;
}

/* v clamped into [start, start + len - LAYOUT_EPSILON]. */
static double clamp_span(double v, double start, double len)
{
	double last = start + len - LAYOUT_EPSILON;
	if (v < start)
		return start;
	if (v > last)
		return last;
	return v;
}

struct layout_output *layout_clamp(const struct layout *layout, double *x, double *y)
{
	struct layout_output *output, *best = NULL;
	double best_x = 0, best_y = 0, best_dist = 0;
	wl_list_for_each (output, &layout->outputs, link) {
		if (!output->placed)
			continue;
		double cx = clamp_span(*x, output->x, output->width);
		double cy = clamp_span(*y, output->y, output->height);
		double dist = (cx - *x) * (cx - *x) + (cy - *y) * (cy - *y);
		if (best == NULL || dist < best_dist) {
			best = output;
			best_x = cx;
			best_y = cy;
			best_dist = dist;
		}
	}
	if (best != NULL) {
		*x = best_x;
		*y = best_y;
	}
	return best;
}

struct layout_output *layout_output_cycle(const struct layout *layout,
					  const struct layout_output *output, bool forward)
{
	const struct wl_list *head = &layout->outputs;
	const struct wl_list *start = output != NULL ? &output->link : head;
	const struct wl_list *link = start;
	do {
		link = forward ? link->next : link->prev;
		if (link == head)
			continue;
		struct layout_output *other = wl_container_of(link, other, link);
		if (other->placed)
			return other;
	} while (link != start);
	return NULL;
}

struct layout_output *layout_touch_output(const struct layout *layout, const char *configured,
					  const char *wl_output, const char *fallback)
{
	struct layout_output *output = NULL;
	if (configured != NULL) {
		output = layout_find(layout, configured);
	} else {
		if (wl_output != NULL) {
			output = layout_find(layout, wl_output);
			if (output != NULL && !output->placed)
				output = NULL;
		}
		if (output == NULL && fallback != NULL)
			output = layout_find(layout, fallback);
	}
	return output != NULL ? output : layout_output_cycle(layout, NULL, true);
}

void layout_output_center(const struct layout_output *output, double *x, double *y)
{
	*x = output->x + output->width / 2.0;
	*y = output->y + output->height / 2.0;
}

void layout_to_mode(const struct layout_output *output, double x, double y, double *mode_x,
		    double *mode_y)
{
	/* Relative to the box, clamped into it. */
	double bx = clamp_span(x, output->x, output->width) - output->x;
	double by = clamp_span(y, output->y, output->height) - output->y;
	double w = output->config.width, h = output->config.height;
	switch (output->config.rotation) {
	case LAYOUT_ROTATION_90:
		*mode_x = by;
		*mode_y = h - bx;
		break;
	case LAYOUT_ROTATION_180:
		*mode_x = w - bx;
		*mode_y = h - by;
		break;
	case LAYOUT_ROTATION_270:
		*mode_x = w - by;
		*mode_y = bx;
		break;
	case LAYOUT_ROTATION_0:
	default:
		*mode_x = bx;
		*mode_y = by;
		break;
	}
	/* The far edges seen from the rotated side are inside too. */
	*mode_x = clamp_span(*mode_x, 0, w);
	*mode_y = clamp_span(*mode_y, 0, h);
}

void layout_to_box(const struct layout_output *output, double x, double y, double *box_x,
		   double *box_y)
{
	*box_x = clamp_span(x, output->x, output->width) - output->x;
	*box_y = clamp_span(y, output->y, output->height) - output->y;
}

void layout_from_mode(const struct layout_output *output, double mode_x, double mode_y, double *x,
		      double *y)
{
	double w = output->config.width, h = output->config.height;
	double bx, by;
	switch (output->config.rotation) {
	case LAYOUT_ROTATION_90:
		bx = h - mode_y;
		by = mode_x;
		break;
	case LAYOUT_ROTATION_180:
		bx = w - mode_x;
		by = h - mode_y;
		break;
	case LAYOUT_ROTATION_270:
		bx = mode_y;
		by = w - mode_x;
		break;
	case LAYOUT_ROTATION_0:
	default:
		bx = mode_x;
		by = mode_y;
		break;
	}
	*x = output->x + bx;
	*y = output->y + by;
}

static double clamp_unit(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

void layout_touch_to_mode(const struct layout_output *output, double u, double v, double *mode_x,
			  double *mode_y)
{
	*mode_x = clamp_span(clamp_unit(u) * output->config.width, 0, output->config.width);
	*mode_y = clamp_span(clamp_unit(v) * output->config.height, 0, output->config.height);
}

/* One axis of layout_mode_to_guest(); src_off and src_len in 16.16. */
static double guest_axis(uint32_t src_off, uint32_t src_len, int32_t dst_off, uint32_t dst_len,
			 double v, bool *inside)
{
	double start = src_off / 65536.0, len = src_len / 65536.0;
	double g = start + (v - dst_off) * len / dst_len;
	if (v < dst_off || v >= (double)dst_off + dst_len)
		*inside = false;
	return clamp_span(g, start, len);
}

bool layout_mode_to_guest(const struct kms_fixed_rect *src, const struct kms_rect *dst,
			  double mode_x, double mode_y, double *guest_x, double *guest_y)
{
	if (src->width == 0 || src->height == 0 || dst->width == 0 || dst->height == 0) {
		*guest_x = *guest_y = 0;
		return false;
	}
	bool inside = true;
	*guest_x = guest_axis(src->x, src->width, dst->x, dst->width, mode_x, &inside);
	*guest_y = guest_axis(src->y, src->height, dst->y, dst->height, mode_y, &inside);
	return inside;
}

bool layout_output_to_guest(const struct layout_output *output, double box_x, double box_y,
			    double *guest_x, double *guest_y)
{
	if (!output->has_picture) {
		*guest_x = *guest_y = 0;
		return false;
	}
	return layout_mode_to_guest(&output->src, &output->dst, box_x, box_y, guest_x, guest_y);
}
