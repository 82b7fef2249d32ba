/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_VGPU_LAYOUT_H
#define VSCANOUT_VGPU_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "kms/output.h"

/*
 * Where each vGPU of an output is shown: pure arithmetic on the output's
 * logical size (its mode turned by its rotation) and its [output] section's
 * vgpu=, layout= and region keys. Slots are the places in vgpu=, stacked
 * from the bottom (slot 0) to the top.
 *
 * With n vGPUs on a W × H output (integer division; what a division leaves
 * over goes to the last column or row, so that the regions tile the output
 * without gaps or overlaps):
 *
 *   columns  n columns of W / n, left to right, full height.
 *   rows     n rows of H / n, top to bottom, full width.
 *   grid     c = ceil(sqrt(n)) columns of W / c and r = ceil(n / c) rows of
 *            H / r, filled row by row from the top left; the last vGPU also
 *            takes the cells left over in its row (n = 3: two on top, the
 *            third across the bottom).
 *   pip      slot 0 fills the output; slot k >= 1 is an inset of W / 4 × H / 4
 *            whose bottom edge is H / 32 above the output's, and whose right
 *            edge is k × W / 32 + (k - 1) × W / 4 from the output's right
 *            edge: the insets go from the bottom-right corner leftwards, W / 32
 *            apart.
 *   regions  each slot's region key, clipped to the output (a region wholly
 *            outside it is empty).
 *
 * One vGPU gets the whole output in every layout but regions. An empty
 * output (W or H 0) gives empty regions.
 */

/*
 * Fill regions[0..n-1] for `n` slots (at most CONFIG_OUTPUT_MAX_VGPUS) of
 * `layout` on an output of width × height. `explicit_regions` (read only
 * with CONFIG_LAYOUT_REGIONS, then n entries) are the region keys by slot.
 */
void vgpu_layout_regions(enum config_layout layout, size_t n,
			 const struct config_region *explicit_regions, uint32_t width,
			 uint32_t height, struct kms_rect *regions);

/*
 * The regions of every slot of `co` as it is now (config_output_n_vgpus()
 * slots, after vscanoutctl assign too) on an output of width × height,
 * into regions[0..CONFIG_OUTPUT_MAX_VGPUS-1]. Returns the number of slots.
 */
size_t vgpu_layout_output(const struct config_output *co, uint32_t width, uint32_t height,
			  struct kms_rect regions[CONFIG_OUTPUT_MAX_VGPUS]);

/*
 * The region of slot `slot` of `co` on an output of width × height; empty
 * (all zero) when co has no such slot.
 */
void vgpu_layout_slot(const struct config_output *co, size_t slot, uint32_t width, uint32_t height,
		      struct kms_rect *region);

/*
 * The topmost (highest) slot among regions[0..n-1] whose region holds the
 * point x,y of the output's logical space (a region holds its left and top
 * edges, not its right and bottom ones), or -1 when none does. A pip
 * inset is above the vGPU that fills the output.
 */
int vgpu_layout_slot_at(const struct kms_rect *regions, size_t n, double x, double y);

#endif
