/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_VFIO_EDID_H
#define VSCANOUT_VFIO_EDID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xf86drmMode.h>

/*
 * EDID 1.4 base blocks: generated for a vGPU's EDID region from the mode
 * of the output it is shown on, and read from monitors.
 *
 * A generated block describes a digital display whose preferred (and
 * native) timing is the output's mode, exactly: the first descriptor is a
 * Detailed Timing Descriptor of the mode, followed by a range limits
 * descriptor covering it, the monitor name and a dummy descriptor. 640x480
 * at 60 Hz, which every sink must accept, is the one established timing;
 * the range limits cover it too. There are no extension blocks.
 *
 * The manufacturer id is "VSO" (not assigned in the PNP id registry), the
 * product code is EDID_PRODUCT_CODE and the serial number is a hash of the
 * monitor name, so guests tell vGPUs' monitors apart.
 */

#define EDID_BLOCK_SIZE 128
#define EDID_DTD_SIZE   18

#define EDID_MANUFACTURER "VSO"
#define EDID_PRODUCT_CODE 0x0001
/* The name a generated EDID carries when none is given. */
#define EDID_DEFAULT_NAME "vscanout"
/* At most this many characters of the monitor name are kept. */
#define EDID_NAME_MAX 13

/*
 * Write into `out` an EDID 1.4 base block describing a display whose
 * preferred mode is `mode`, `width_mm` × `height_mm` large (either 0:
 * unknown), called `monitor_name` (may be NULL: EDID_DEFAULT_NAME; the first
 * EDID_NAME_MAX characters are kept, characters outside printable ASCII
 * become '?').
 *
 * The pixel clock is rounded to the nearest 10 kHz, the unit of EDID
 * timings; the other timings are encoded exactly. Of the flags, the sync
 * polarities (negative unless DRM_MODE_FLAG_P[HV]SYNC) and interlace are
 * kept; hskew, vscan and other flags are not. An interlaced mode is
 * stored per field as EDID does: its vdisplay and vertical sync offsets
 * must be even and vtotal odd.
 *
 * Returns 0, or -EINVAL with `out` untouched when the mode cannot be
 * encoded: clock 0 or above 655.35 MHz, timings out of order (hdisplay <=
 * hsync_start <= hsync_end <= htotal, the same vertically), active or
 * blanking beyond 4095, horizontal sync offset or width beyond 1023,
 * vertical ones beyond 63, a size beyond 4095 mm, double scan, or a
 * refresh rate above 510 Hz or line rate above 510 kHz.
 */
int edid_generate(const drmModeModeInfo *mode, uint32_t width_mm, uint32_t height_mm,
		  const char *monitor_name, uint8_t out[EDID_BLOCK_SIZE]);

/*
 * Decode an 18-byte Detailed Timing Descriptor into `mode`: timings, sync
 * polarities (bits 2 and 1 of the flags byte: positive when set) and
 * interlace, vrefresh, the name ("1920x1080", "1920x1080i") and type
 * DRM_MODE_TYPE_DRIVER. Borders and stereo are ignored. Returns 0, or
 * -EINVAL with `mode` untouched when the descriptor is a display
 * descriptor (pixel clock 0) or has no active area.
 */
int edid_parse_dtd(const uint8_t dtd[EDID_DTD_SIZE], drmModeModeInfo *mode);

/*
 * The preferred mode of an EDID of `size` bytes: the first Detailed Timing
 * Descriptor of its base block, with DRM_MODE_TYPE_PREFERRED added.
 * Extension blocks are not looked at. Returns 0, or -EINVAL with `mode`
 * untouched when the base block is short, its header or checksum is wrong,
 * or it has no usable timing descriptor.
 */
int edid_preferred_mode(const uint8_t *edid, size_t size, drmModeModeInfo *mode);

/* Whether the EDID_BLOCK_SIZE bytes of `block` sum to 0 modulo 256. */
bool edid_checksum_ok(const uint8_t *block);

/*
 * Whether `edid` is a whole EDID: `size` is a multiple of EDID_BLOCK_SIZE,
 * the base block has the fixed header and an extension count matching the
 * size, and every block's checksum is right.
 */
bool edid_valid(const uint8_t *edid, size_t size);

#endif
