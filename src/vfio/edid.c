// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vfio/edid.h"

/*
 * The EDID 1.4 base block, by offset:
 *
 *   0   header 00 ff ff ff ff ff ff 00
 *   8   manufacturer id (big endian, three 5-bit letters), product code
 *       (little endian), serial number (little endian), week, year - 1990
 *   18  version 1, revision 4
 *   20  video input, size in cm (h, v), gamma, feature support
 *   25  chromaticity (10 bits per coordinate: low bits first, then high)
 *   35  established timings (3 bytes)
 *   38  8 standard timings (2 bytes each, 01 01 unused)
 *   54  4 descriptors of 18 bytes: a detailed timing, or a display
 *       descriptor (00 00 00 TAG 00 and 13 bytes of data)
 *   126 number of extension blocks, checksum
 */

#define OFF_DESCRIPTORS 54
#define OFF_EXTENSIONS  126
#define N_DESCRIPTORS   4

#define TAG_NAME   0xfc
#define TAG_RANGE  0xfd
#define TAG_DUMMY  0x10
#define MODEL_YEAR 2024

/* Limits of the fields of a detailed timing descriptor. */
#define DTD_MAX_CLOCK_10KHZ  0xffff
#define DTD_MAX_ACTIVE       0xfff
#define DTD_MAX_BLANK        0xfff
#define DTD_MAX_HSYNC_FIELD  0x3ff
#define DTD_MAX_VSYNC_FIELD  0x3f
#define DTD_MAX_SIZE_MM      0xfff
#define RANGE_MAX_RATE       510
#define DTD_FLAG_INTERLACE   0x80
#define DTD_FLAG_DIGITAL_SEP 0x18
#define DTD_FLAG_VSYNC_POS   0x04
#define DTD_FLAG_HSYNC_POS   0x02

static const uint8_t header[8] = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};

/* sRGB primaries and D65 white, as 10-bit binary fractions (x × 1024). */
static const uint16_t srgb_chromaticity[8] = {
	655, 338, /* red 0.640, 0.330 */
	307, 614, /* green 0.300, 0.600 */
	154, 61,  /* blue 0.150, 0.060 */
	320, 337, /* white 0.3127, 0.3290 */
};

bool edid_checksum_ok(const uint8_t *block)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < EDID_BLOCK_SIZE; i++)
		sum = (uint8_t)(sum + block[i]);
	return sum == 0;
}

bool edid_valid(const uint8_t *edid, size_t size)
{
	if (size < EDID_BLOCK_SIZE || size % EDID_BLOCK_SIZE != 0)
		return false;
	if (memcmp(edid, header, sizeof(header)) != 0)
		return false;
	if (size / EDID_BLOCK_SIZE != 1 + (size_t)edid[OFF_EXTENSIONS])
		return false;
	for (size_t off = 0; off < size; off += EDID_BLOCK_SIZE) {
		if (!edid_checksum_ok(edid + off))
			return false;
	}
	return true;
}

/* The timing fields of a DTD, in the units it stores them. */
struct dtd_timing {
	uint32_t clock_10khz;
	uint32_t hactive, hblank, hsync_offset, hsync_width;
	uint32_t vactive, vblank, vsync_offset, vsync_width;
	uint32_t width_mm, height_mm;
	uint8_t flags;
};

static void write_dtd(uint8_t *d, const struct dtd_timing *t)
{
	d[0] = (uint8_t)(t->clock_10khz & 0xff);
	d[1] = (uint8_t)(t->clock_10khz >> 8);
	d[2] = (uint8_t)(t->hactive & 0xff);
	d[3] = (uint8_t)(t->hblank & 0xff);
	d[4] = (uint8_t)((t->hactive >> 8) << 4 | t->hblank >> 8);
	d[5] = (uint8_t)(t->vactive & 0xff);
	d[6] = (uint8_t)(t->vblank & 0xff);
	d[7] = (uint8_t)((t->vactive >> 8) << 4 | t->vblank >> 8);
	d[8] = (uint8_t)(t->hsync_offset & 0xff);
	d[9] = (uint8_t)(t->hsync_width & 0xff);
	d[10] = (uint8_t)((t->vsync_offset & 0xf) << 4 | (t->vsync_width & 0xf));
	d[11] = (uint8_t)((t->hsync_offset >> 8) << 6 | (t->hsync_width >> 8) << 4 |
			  (t->vsync_offset >> 4) << 2 | t->vsync_width >> 4);
	d[12] = (uint8_t)(t->width_mm & 0xff);
	d[13] = (uint8_t)(t->height_mm & 0xff);
	d[14] = (uint8_t)((t->width_mm >> 8) << 4 | t->height_mm >> 8);
	d[15] = 0; /* no borders */
	d[16] = 0;
	d[17] = t->flags;
}

static void read_dtd(const uint8_t *d, struct dtd_timing *t)
{
	t->clock_10khz = (uint32_t)d[0] | (uint32_t)d[1] << 8;
	t->hactive = (uint32_t)d[2] | (uint32_t)(d[4] >> 4) << 8;
	t->hblank = (uint32_t)d[3] | (uint32_t)(d[4] & 0xf) << 8;
	t->vactive = (uint32_t)d[5] | (uint32_t)(d[7] >> 4) << 8;
	t->vblank = (uint32_t)d[6] | (uint32_t)(d[7] & 0xf) << 8;
	t->hsync_offset = (uint32_t)d[8] | (uint32_t)(d[11] >> 6) << 8;
	t->hsync_width = (uint32_t)d[9] | (uint32_t)((d[11] >> 4) & 0x3) << 8;
	t->vsync_offset = (uint32_t)(d[10] >> 4) | (uint32_t)((d[11] >> 2) & 0x3) << 4;
	t->vsync_width = (uint32_t)(d[10] & 0xf) | (uint32_t)(d[11] & 0x3) << 4;
	t->width_mm = (uint32_t)d[12] | (uint32_t)(d[14] >> 4) << 8;
	t->height_mm = (uint32_t)d[13] | (uint32_t)(d[14] & 0xf) << 8;
	t->flags = d[17];
}

/* The DTD fields of `mode`, or -EINVAL when it has no exact encoding. */
static int timing_from_mode(const drmModeModeInfo *mode, uint32_t width_mm, uint32_t height_mm,
			    struct dtd_timing *t)
{
	if (mode->flags & DRM_MODE_FLAG_DBLSCAN)
		return -EINVAL;
	if (mode->hdisplay == 0 || mode->hdisplay > mode->hsync_start ||
	    mode->hsync_start > mode->hsync_end || mode->hsync_end > mode->htotal)
		return -EINVAL;
	if (mode->vdisplay == 0 || mode->vdisplay > mode->vsync_start ||
	    mode->vsync_start > mode->vsync_end || mode->vsync_end > mode->vtotal)
		return -EINVAL;

	uint32_t vdisplay = mode->vdisplay, vsync_start = mode->vsync_start;
	uint32_t vsync_end = mode->vsync_end, vtotal = mode->vtotal;
	bool interlace = mode->flags & DRM_MODE_FLAG_INTERLACE;
	if (interlace) {
		/* Per field: a frame of 2 × (active + blank) + 1 lines. */
		if (vdisplay % 2 != 0 || (vsync_start - vdisplay) % 2 != 0 ||
		    (vsync_end - vsync_start) % 2 != 0 || vtotal % 2 != 1)
			return -EINVAL;
		vdisplay /= 2;
		vsync_start = vdisplay + (vsync_start - mode->vdisplay) / 2;
		vsync_end = vsync_start + (mode->vsync_end - mode->vsync_start) / 2;
		vtotal = (vtotal - 1) / 2;
	}

	*t = (struct dtd_timing){
		.clock_10khz = (mode->clock + 5) / 10,
		.hactive = mode->hdisplay,
		.hblank = (uint32_t)(mode->htotal - mode->hdisplay),
		.hsync_offset = (uint32_t)(mode->hsync_start - mode->hdisplay),
		.hsync_width = (uint32_t)(mode->hsync_end - mode->hsync_start),
		.vactive = vdisplay,
		.vblank = vtotal - vdisplay,
		.vsync_offset = vsync_start - vdisplay,
		.vsync_width = vsync_end - vsync_start,
		.width_mm = width_mm,
		.height_mm = height_mm,
		.flags = DTD_FLAG_DIGITAL_SEP,
	};
	if (interlace)
		t->flags |= DTD_FLAG_INTERLACE;
	if (mode->flags & DRM_MODE_FLAG_PVSYNC)
		t->flags |= DTD_FLAG_VSYNC_POS;
	if (mode->flags & DRM_MODE_FLAG_PHSYNC)
		t->flags |= DTD_FLAG_HSYNC_POS;

	if (t->clock_10khz == 0 || t->clock_10khz > DTD_MAX_CLOCK_10KHZ ||
	    t->hactive > DTD_MAX_ACTIVE || t->hblank > DTD_MAX_BLANK ||
	    t->hsync_offset > DTD_MAX_HSYNC_FIELD || t->hsync_width > DTD_MAX_HSYNC_FIELD ||
	    t->vactive > DTD_MAX_ACTIVE || t->vblank > DTD_MAX_BLANK ||
	    t->vsync_offset > DTD_MAX_VSYNC_FIELD || t->vsync_width > DTD_MAX_VSYNC_FIELD ||
	    t->width_mm > DTD_MAX_SIZE_MM || t->height_mm > DTD_MAX_SIZE_MM)
		return -EINVAL;
	return 0;
}

/* Rounded down and up: num / den. */
static void rate_bounds(uint64_t num, uint64_t den, uint32_t *lo, uint32_t *hi)
{
	uint64_t floor = num / den, ceil = (num + den - 1) / den;
	*lo = floor > UINT32_MAX ? UINT32_MAX : (uint32_t)floor;
	*hi = ceil > UINT32_MAX ? UINT32_MAX : (uint32_t)ceil;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

/*
 * A range limits descriptor (range limits only) covering the timing `t`
 * and 640x480 at 60 Hz (31.469 kHz, 59.94 Hz, 25.175 MHz), or -EINVAL when
 * a rate is beyond what it can say.
 */
static int write_range(uint8_t *d, const struct dtd_timing *t)
{
	uint64_t clock_hz = (uint64_t)t->clock_10khz * 10000;
	uint64_t htotal = t->hactive + t->hblank;
	uint64_t lines = t->vactive + t->vblank; /* lines per field */
	uint32_t v_min, v_max, h_min, h_max;
	if (t->flags & DTD_FLAG_INTERLACE) /* fields of lines + 1/2 */
		rate_bounds(clock_hz * 2, htotal * (2 * lines + 1), &v_min, &v_max);
	else
		rate_bounds(clock_hz, htotal * lines, &v_min, &v_max);
	rate_bounds(clock_hz, htotal * 1000, &h_min, &h_max);

	v_min = max_u32(min_u32(v_min, 59), 1);
	v_max = max_u32(v_max, 60);
	h_min = max_u32(min_u32(h_min, 31), 1);
	h_max = max_u32(h_max, 32);
	if (v_max > RANGE_MAX_RATE || h_max > RANGE_MAX_RATE)
		return -EINVAL;

	uint8_t offsets = 0;
	if (v_max > 255)
		offsets |= v_min > 255 ? 0x03 : 0x02;
	if (h_max > 255)
		offsets |= h_min > 255 ? 0x0c : 0x08;

	memset(d, 0, EDID_DTD_SIZE);
	d[3] = TAG_RANGE;
	d[4] = offsets;
	d[5] = (uint8_t)(v_min > 255 ? v_min - 255 : v_min);
	d[6] = (uint8_t)(v_max > 255 ? v_max - 255 : v_max);
	d[7] = (uint8_t)(h_min > 255 ? h_min - 255 : h_min);
	d[8] = (uint8_t)(h_max > 255 ? h_max - 255 : h_max);
	/* Maximum pixel clock in 10 MHz units, rounded up. */
	d[9] = (uint8_t)((max_u32(t->clock_10khz, 2518) + 999) / 1000);
	d[10] = 0x01; /* range limits only: no GTF or CVT */
	d[11] = 0x0a;
	memset(d + 12, ' ', 6);
	return 0;
}

static void write_name(uint8_t *d, const char *name)
{
	if (name == NULL || name[0] == '\0')
		name = EDID_DEFAULT_NAME;
	memset(d, 0, 5);
	d[3] = TAG_NAME;
	size_t i = 0;
	for (; i < EDID_NAME_MAX && name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];
		d[5 + i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	if (i < EDID_NAME_MAX)
		d[5 + i++] = 0x0a;
	for (; i < EDID_NAME_MAX; i++)
		d[5 + i] = ' ';
}

/* FNV-1a of the name, never 0 (0 means "no serial number"). */
static uint32_t name_serial(const char *name)
{
	if (name == NULL || name[0] == '\0')
		name = EDID_DEFAULT_NAME;
	uint32_t hash = 2166136261u;
	for (const char *c = name; *c != '\0'; c++) {
		hash ^= (unsigned char)*c;
		hash *= 16777619u;
	}
	return hash != 0 ? hash : 1;
}

int edid_generate(const drmModeModeInfo *mode, uint32_t width_mm, uint32_t height_mm,
		  const char *monitor_name, uint8_t out[EDID_BLOCK_SIZE])
{
	if (width_mm == 0 || height_mm == 0)
		width_mm = height_mm = 0;
	struct dtd_timing t;
	int ret = timing_from_mode(mode, width_mm, height_mm, &t);
	if (ret < 0)
		return ret;

	uint8_t e[EDID_BLOCK_SIZE] = {0};
	memcpy(e, header, sizeof(header));

	const char *id = EDID_MANUFACTURER;
	uint16_t manufacturer =
		(uint16_t)((id[0] - 'A' + 1) << 10 | (id[1] - 'A' + 1) << 5 | (id[2] - 'A' + 1));
	e[8] = (uint8_t)(manufacturer >> 8);
	e[9] = (uint8_t)(manufacturer & 0xff);
	e[10] = EDID_PRODUCT_CODE & 0xff;
	e[11] = EDID_PRODUCT_CODE >> 8;
	uint32_t serial = name_serial(monitor_name);
	for (int i = 0; i < 4; i++)
		e[12 + i] = (uint8_t)(serial >> (8 * i));
	e[16] = 0xff; /* the year is a model year */
	e[17] = MODEL_YEAR - 1990;
	e[18] = 1;
	e[19] = 4;

	e[20] = 0xa0; /* digital, 8 bits per colour, interface not defined */
	uint32_t width_cm = (width_mm + 5) / 10, height_cm = (height_mm + 5) / 10;
	if (width_cm > 255 || height_cm > 255) {
		width_cm = height_cm = 0; /* too large to say in cm: undefined */
	} else if (width_mm != 0) {
		width_cm = max_u32(width_cm, 1); /* not 0, which means undefined */
		height_cm = max_u32(height_cm, 1);
	}
	e[21] = (uint8_t)width_cm;
	e[22] = (uint8_t)height_cm;
	e[23] = 120; /* gamma 2.2, stored as gamma × 100 - 100 */
	/*
	 * RGB 4:4:4, sRGB the default colour space, the preferred timing is
	 * the native mode; not continuous frequency: the range limits only
	 * bound the modes listed.
	 */
	e[24] = 0x06;

	const uint16_t *c = srgb_chromaticity;
	e[25] = (uint8_t)((c[0] & 3) << 6 | (c[1] & 3) << 4 | (c[2] & 3) << 2 | (c[3] & 3));
	e[26] = (uint8_t)((c[4] & 3) << 6 | (c[5] & 3) << 4 | (c[6] & 3) << 2 | (c[7] & 3));
	for (int i = 0; i < 8; i++)
		e[27 + i] = (uint8_t)(c[i] >> 2);

	e[35] = 0x20; /* established timings: 640x480 at 60 Hz */
	for (int i = 38; i < 54; i++)
		e[i] = 0x01; /* standard timings unused */

	write_dtd(e + OFF_DESCRIPTORS, &t);
	ret = write_range(e + OFF_DESCRIPTORS + EDID_DTD_SIZE, &t);
	if (ret < 0)
		return ret;
	write_name(e + OFF_DESCRIPTORS + 2 * EDID_DTD_SIZE, monitor_name);
	e[OFF_DESCRIPTORS + 3 * EDID_DTD_SIZE + 3] = TAG_DUMMY;

	e[OFF_EXTENSIONS] = 0;
	uint8_t sum = 0;
	for (size_t i = 0; i < EDID_BLOCK_SIZE - 1; i++)
		sum = (uint8_t)(sum + e[i]);
	e[EDID_BLOCK_SIZE - 1] = (uint8_t)(0x100 - sum);

	memcpy(out, e, sizeof(e));
	return 0;
}

int edid_parse_dtd(const uint8_t dtd[EDID_DTD_SIZE], drmModeModeInfo *mode)
{
	struct dtd_timing t;
	read_dtd(dtd, &t);
	if (t.clock_10khz == 0 || t.hactive == 0 || t.vactive == 0)
		return -EINVAL;
	bool interlace = t.flags & DTD_FLAG_INTERLACE;

	drmModeModeInfo m = {0};
	m.clock = t.clock_10khz * 10;
	m.hdisplay = (uint16_t)t.hactive;
	m.hsync_start = (uint16_t)(t.hactive + t.hsync_offset);
	m.hsync_end = (uint16_t)(m.hsync_start + t.hsync_width);
	m.htotal = (uint16_t)(t.hactive + t.hblank);
	uint32_t field_total = t.vactive + t.vblank;
	uint32_t mul = interlace ? 2 : 1;
	m.vdisplay = (uint16_t)(t.vactive * mul);
	m.vsync_start = (uint16_t)(m.vdisplay + t.vsync_offset * mul);
	m.vsync_end = (uint16_t)(m.vsync_start + t.vsync_width * mul);
	m.vtotal = (uint16_t)(field_total * mul + (interlace ? 1 : 0));
	/* A sync beyond the blanking (bad EDIDs have it) ends with the line. */
	if (m.hsync_end > m.htotal)
		m.htotal = m.hsync_end;
	if (m.vsync_end > m.vtotal)
		m.vtotal = m.vsync_end;

	m.flags = t.flags & DTD_FLAG_HSYNC_POS ? DRM_MODE_FLAG_PHSYNC : DRM_MODE_FLAG_NHSYNC;
	m.flags |= t.flags & DTD_FLAG_VSYNC_POS ? DRM_MODE_FLAG_PVSYNC : DRM_MODE_FLAG_NVSYNC;
	if (interlace)
		m.flags |= DRM_MODE_FLAG_INTERLACE;
	m.type = DRM_MODE_TYPE_DRIVER;

	/* Refresh in Hz, rounded: fields per second for an interlaced mode. */
	uint64_t num = (uint64_t)m.clock * 1000 * mul;
	uint64_t den = (uint64_t)m.htotal * m.vtotal;
	m.vrefresh = (uint32_t)((num + den / 2) / den);
	snprintf(m.name, sizeof(m.name), "%ux%u%s", m.hdisplay, m.vdisplay, interlace ? "i" : "");

	*mode = m;
	return 0;
}

int edid_preferred_mode(const uint8_t *edid, size_t size, drmModeModeInfo *mode)
{
	if (size < EDID_BLOCK_SIZE || memcmp(edid, header, sizeof(header)) != 0 ||
	    !edid_checksum_ok(edid))
		return -EINVAL;
	for (int i = 0; i < N_DESCRIPTORS; i++) {
		drmModeModeInfo m;
		if (edid_parse_dtd(edid + OFF_DESCRIPTORS + i * EDID_DTD_SIZE, &m) == 0) {
			m.type |= DRM_MODE_TYPE_PREFERRED;
			*mode = m;
			return 0;
		}
	}
	return -EINVAL;
}
