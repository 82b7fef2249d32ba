// SPDX-License-Identifier: MIT
#include "test.h"
#include "vfio/edid.h"

#define SYNC_PP (DRM_MODE_FLAG_PHSYNC | DRM_MODE_FLAG_PVSYNC)
#define SYNC_NN (DRM_MODE_FLAG_NHSYNC | DRM_MODE_FLAG_NVSYNC)

static drmModeModeInfo make_mode(uint32_t clock, uint16_t hd, uint16_t hss, uint16_t hse,
				 uint16_t ht, uint16_t vd, uint16_t vss, uint16_t vse, uint16_t vt,
				 uint32_t flags)
{
	drmModeModeInfo m = {0};
	m.clock = clock;
	m.hdisplay = hd;
	m.hsync_start = hss;
	m.hsync_end = hse;
	m.htotal = ht;
	m.vdisplay = vd;
	m.vsync_start = vss;
	m.vsync_end = vse;
	m.vtotal = vt;
	m.flags = flags;
	return m;
}

/* DMT and CTA-861 timings. */
static drmModeModeInfo mode_1024x768(void)
{
	return make_mode(65000, 1024, 1048, 1184, 1344, 768, 771, 777, 806, SYNC_NN);
}

static drmModeModeInfo mode_1920x1080(void)
{
	return make_mode(148500, 1920, 2008, 2052, 2200, 1080, 1084, 1089, 1125, SYNC_PP);
}

static drmModeModeInfo mode_640x480(void)
{
	return make_mode(25175, 640, 656, 752, 800, 480, 490, 492, 525, SYNC_NN);
}

static drmModeModeInfo mode_1920x1080i(void)
{
	return make_mode(74250, 1920, 2008, 2052, 2200, 1080, 1084, 1094, 1125,
			 SYNC_PP | DRM_MODE_FLAG_INTERLACE);
}

static drmModeModeInfo mode_3840x2160(void)
{
	return make_mode(594000, 3840, 4016, 4104, 4400, 2160, 2168, 2178, 2250, SYNC_PP);
}

static drmModeModeInfo mode_1920x1080_50(void)
{
	return make_mode(148500, 1920, 2448, 2492, 2640, 1080, 1084, 1089, 1125, SYNC_PP);
}

/* Slow enough that 640x480@60 widens the range limits both ways. */
static drmModeModeInfo mode_640x480_30(void)
{
	return make_mode(12590, 640, 656, 752, 800, 480, 490, 492, 525, SYNC_NN);
}

static void check_timings_eq(const drmModeModeInfo *a, const drmModeModeInfo *b)
{
	check_int_eq(a->clock, b->clock);
	check_int_eq(a->hdisplay, b->hdisplay);
	check_int_eq(a->hsync_start, b->hsync_start);
	check_int_eq(a->hsync_end, b->hsync_end);
	check_int_eq(a->htotal, b->htotal);
	check_int_eq(a->vdisplay, b->vdisplay);
	check_int_eq(a->vsync_start, b->vsync_start);
	check_int_eq(a->vsync_end, b->vsync_end);
	check_int_eq(a->vtotal, b->vtotal);
	check_int_eq(a->flags, b->flags);
}

/* The 13 data bytes of the display descriptor with `tag`, or NULL. */
static const uint8_t *find_descriptor(const uint8_t *edid, uint8_t tag)
{
	for (int i = 0; i < 4; i++) {
		const uint8_t *d = edid + 54 + 18 * i;
		if (d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == tag)
			return d + 5;
	}
	return NULL;
}

/* What a block's size in cm says for a size in mm: 0 when it does not fit. */
static uint32_t size_cm(uint32_t width_mm, uint32_t height_mm, int which)
{
	uint32_t w = (width_mm + 5) / 10, h = (height_mm + 5) / 10;
	if (width_mm == 0 || height_mm == 0 || w > 255 || h > 255)
		return 0;
	w = w < 1 ? 1 : w;
	h = h < 1 ? 1 : h;
	return which == 0 ? w : h;
}

static void check_block(const uint8_t *e, const drmModeModeInfo *mode, uint32_t width_mm,
			uint32_t height_mm, uint32_t refresh)
{
	static const uint8_t header[8] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
	check(memcmp(e, header, 8) == 0);
	check(edid_checksum_ok(e));
	check(edid_valid(e, EDID_BLOCK_SIZE));
	/* "VSO": three 5-bit letters, big endian. */
	uint16_t id = (uint16_t)(e[8] << 8 | e[9]);
	check_int_eq('A' - 1 + (id >> 10 & 31), 'V');
	check_int_eq('A' - 1 + (id >> 5 & 31), 'S');
	check_int_eq('A' - 1 + (id & 31), 'O');
	check_int_eq(e[10] | e[11] << 8, EDID_PRODUCT_CODE);
	check_int_eq(e[18], 1);
	check_int_eq(e[19], 4);
	check(e[20] & 0x80); /* digital */
	check_int_eq(e[21], size_cm(width_mm, height_mm, 0));
	check_int_eq(e[22], size_cm(width_mm, height_mm, 1));
	check_int_eq(e[23], 120); /* gamma 2.2 */
	check(e[24] & 0x02);      /* preferred timing is native */
	check(e[24] & 0x04);      /* sRGB */
	check(!(e[24] & 0x01));   /* a fixed mode, not continuous frequency */
	/* Red x = 0.640 and white y = 0.329, in 1024ths: 8 high and 2 low bits. */
	check_int_eq(e[27] << 2 | e[25] >> 6, 655);
	check_int_eq(e[34] << 2 | (e[26] & 3), 337);
	check_int_eq(e[35], 0x20); /* 640x480@60 */
	check_int_eq(e[36], 0);
	check_int_eq(e[37], 0);
	for (int i = 38; i < 54; i++)
		check_int_eq(e[i], 1);
	check_int_eq(e[126], 0);

	/* The first descriptor is the mode, exactly (clock in 10 kHz units). */
	drmModeModeInfo parsed;
	check_int_eq(edid_parse_dtd(e + 54, &parsed), 0);
	drmModeModeInfo want = *mode;
	want.clock = (mode->clock + 5) / 10 * 10;
	check_timings_eq(&parsed, &want);
	check_int_eq(parsed.vrefresh, refresh);
	check_int_eq(parsed.type, DRM_MODE_TYPE_DRIVER);
	check_int_eq(e[54 + 12] | (e[54 + 14] >> 4) << 8, width_mm);
	check_int_eq(e[54 + 13] | (e[54 + 14] & 0xf) << 8, height_mm);

	drmModeModeInfo preferred;
	check_int_eq(edid_preferred_mode(e, EDID_BLOCK_SIZE, &preferred), 0);
	check_timings_eq(&preferred, &want);
	check_int_eq(preferred.type, DRM_MODE_TYPE_DRIVER | DRM_MODE_TYPE_PREFERRED);

	/* The range limits cover the mode and 640x480@60. */
	const uint8_t *range = find_descriptor(e, 0xfd);
	check(range != NULL);
	check_int_eq(range[-1], 0); /* no rate offsets at these rates */
	double clock_hz = want.clock * 1000.0;
	double v_rate = clock_hz / ((double)want.htotal * want.vtotal);
	if (want.flags & DRM_MODE_FLAG_INTERLACE)
		v_rate *= 2;
	double h_khz = clock_hz / want.htotal / 1000;
	check(range[0] <= v_rate && v_rate <= range[1]);
	check(range[0] <= 59 && range[1] >= 60);
	check(range[2] <= h_khz && h_khz <= range[3]);
	check(range[2] <= 31 && range[3] >= 32);
	check(range[4] * 10000u >= want.clock);
	check_int_eq(range[5], 0x01); /* range limits only */
	check_int_eq(range[6], 0x0a);

	check(find_descriptor(e, 0xfc) != NULL);
	check(find_descriptor(e, 0x10) != NULL);
}

static void test_generate(void)
{
	static const struct {
		drmModeModeInfo (*mode)(void);
		uint32_t width_mm, height_mm;
		uint32_t refresh;
	} cases[] = {
		{mode_1024x768, 300, 225, 60},     {mode_1920x1080, 527, 296, 60},
		{mode_640x480, 0, 0, 60},          {mode_1920x1080i, 1209, 680, 60},
		{mode_3840x2160, 4095, 100, 60}, /* too wide to say in cm */
		{mode_1920x1080_50, 600, 340, 50}, {mode_640x480_30, 200, 150, 30},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		drmModeModeInfo mode = cases[i].mode();
		uint8_t e[EDID_BLOCK_SIZE];
		check_int_eq(edid_generate(&mode, cases[i].width_mm, cases[i].height_mm, "test", e),
			     0);
		check_block(e, &mode, cases[i].width_mm, cases[i].height_mm, cases[i].refresh);
	}

	/* The bytes of 1024x768's descriptor, and its range limits. */
	drmModeModeInfo mode = mode_1024x768();
	uint8_t e[EDID_BLOCK_SIZE];
	check_int_eq(edid_generate(&mode, 300, 225, "test", e), 0);
	static const uint8_t dtd[18] = {0x64, 0x19, 0x00, 0x40, 0x41, 0x00, 0x26, 0x30, 0x18,
					0x88, 0x36, 0x00, 0x2c, 0xe1, 0x10, 0x00, 0x00, 0x18};
	check(memcmp(e + 54, dtd, sizeof(dtd)) == 0);
	check_int_eq(e[21], 30);
	check_int_eq(e[22], 23);
	const uint8_t *range = find_descriptor(e, 0xfd);
	check(range[0] == 59 && range[1] == 61); /* 60.004 Hz */
	check(range[2] == 31 && range[3] == 49); /* 48.363 kHz */
	check_int_eq(range[4], 7);               /* 65 MHz, in 10 MHz units rounded up */
	drmModeModeInfo parsed;
	check_int_eq(edid_preferred_mode(e, sizeof(e), &parsed), 0);
	check_str_eq(parsed.name, "1024x768");
	check_int_eq(parsed.vrefresh, 60);
	/* The same mode gives the same block. */
	uint8_t again[EDID_BLOCK_SIZE];
	check_int_eq(edid_generate(&mode, 300, 225, "test", again), 0);
	check(memcmp(e, again, sizeof(e)) == 0);

	/* 640x480's 25.175 MHz becomes 25.18 MHz; the rest is exact. */
	mode = mode_640x480();
	check_int_eq(edid_generate(&mode, 0, 0, NULL, e), 0);
	check_int_eq(edid_preferred_mode(e, sizeof(e), &parsed), 0);
	check_int_eq(parsed.clock, 25180);

	/* Interlaced: stored per field; the name and the field rate. */
	mode = mode_1920x1080i();
	check_int_eq(edid_generate(&mode, 0, 0, NULL, e), 0);
	check_int_eq(edid_preferred_mode(e, sizeof(e), &parsed), 0);
	check_str_eq(parsed.name, "1920x1080i");
	check_int_eq(parsed.vrefresh, 60);
	check_int_eq(e[54 + 5] | (e[54 + 7] >> 4) << 8, 540);
	check_int_eq(e[54 + 6] | (e[54 + 7] & 0xf) << 8, 22);
	check(e[54 + 17] & 0x80);

	/* Without polarity flags: negative syncs. */
	mode = mode_1024x768();
	mode.flags = 0;
	check_int_eq(edid_generate(&mode, 0, 0, NULL, e), 0);
	check_int_eq(edid_preferred_mode(e, sizeof(e), &parsed), 0);
	check_int_eq(parsed.flags, SYNC_NN);
	/* Mixed polarities. */
	mode.flags = DRM_MODE_FLAG_NHSYNC | DRM_MODE_FLAG_PVSYNC;
	check_int_eq(edid_generate(&mode, 0, 0, NULL, e), 0);
	check_int_eq(edid_preferred_mode(e, sizeof(e), &parsed), 0);
	check_int_eq(parsed.flags, mode.flags);

	/* 30 Hz at 15.7 kHz: the range reaches down to it and up to 640x480@60. */
	mode = mode_640x480_30();
	check_int_eq(edid_generate(&mode, 0, 0, NULL, e), 0);
	range = find_descriptor(e, 0xfd);
	check(range[0] == 29 && range[1] == 60);
	check(range[2] == 15 && range[3] == 32);
	check_int_eq(range[4], 3); /* 25.18 MHz of 640x480@60, rounded up */

	/* 300 Hz: the range limits need the +255 offset for the maximum. */
	mode = make_mode(126000, 640, 656, 752, 800, 480, 490, 492, 525, SYNC_NN);
	check_int_eq(edid_generate(&mode, 0, 0, NULL, e), 0);
	check(edid_valid(e, sizeof(e)));
	range = find_descriptor(e, 0xfd);
	check_int_eq(range[-1], 0x02);
	check(range[0] == 59 && range[1] == 300 - 255);
	check(range[2] == 31 && range[3] == 158); /* 157.5 kHz */
}

static uint32_t serial_of(const uint8_t *e)
{
	return (uint32_t)e[12] | (uint32_t)e[13] << 8 | (uint32_t)e[14] << 16 |
	       (uint32_t)e[15] << 24;
}

static void test_sizes_and_names(void)
{
	drmModeModeInfo mode = mode_1920x1080();
	uint8_t e[EDID_BLOCK_SIZE];

	/* One size missing: both unknown. */
	check_int_eq(edid_generate(&mode, 527, 0, NULL, e), 0);
	check(e[21] == 0 && e[22] == 0);
	check(e[54 + 12] == 0 && e[54 + 13] == 0 && e[54 + 14] == 0);
	/* A tiny display is 1 cm, not unknown. */
	check_int_eq(edid_generate(&mode, 3, 2, NULL, e), 0);
	check(e[21] == 1 && e[22] == 1);
	check_int_eq(edid_generate(&mode, 1000, 4, NULL, e), 0);
	check(e[21] == 100 && e[22] == 1);
	/* Too large for cm: undefined there, exact in the timing descriptor. */
	check_int_eq(edid_generate(&mode, 2560, 1440, NULL, e), 0);
	check(e[21] == 0 && e[22] == 0);
	check_int_eq(e[54 + 12] | (e[54 + 14] >> 4) << 8, 2560);
	check_int_eq(edid_generate(&mode, 2549, 1440, NULL, e), 0);
	check(e[21] == 255 && e[22] == 144);

	/* The name: 0x0a-terminated and space-padded, at most 13 characters. */
	check_int_eq(edid_generate(&mode, 0, 0, NULL, e), 0);
	check(memcmp(find_descriptor(e, 0xfc), "vscanout\n    ", 13) == 0);
	uint32_t serial_default = serial_of(e);
	check(serial_default != 0);
	check_int_eq(edid_generate(&mode, 0, 0, "", e), 0);
	check(memcmp(find_descriptor(e, 0xfc), "vscanout\n    ", 13) == 0);
	check_int_eq(edid_generate(&mode, 0, 0, "kiosk-a", e), 0);
	check(memcmp(find_descriptor(e, 0xfc), "kiosk-a\n     ", 13) == 0);
	uint32_t serial_a = serial_of(e);
	check_int_eq(edid_generate(&mode, 0, 0, "kiosk-b", e), 0);
	uint32_t serial_b = serial_of(e);
	check(serial_a != 0 && serial_b != 0 && serial_a != serial_b);
	check_int_eq(edid_generate(&mode, 0, 0, "exactly-13-ch", e), 0);
	check(memcmp(find_descriptor(e, 0xfc), "exactly-13-ch", 13) == 0);
	check_int_eq(edid_generate(&mode, 0, 0, "a-name-longer-than-13", e), 0);
	check(memcmp(find_descriptor(e, 0xfc), "a-name-longer", 13) == 0);
	check_int_eq(edid_generate(&mode, 0, 0, "tab\there\xc3\xa9", e), 0);
	check(memcmp(find_descriptor(e, 0xfc), "tab?here??\n  ", 13) == 0);
	check(edid_valid(e, sizeof(e)));
}

/* A mode with the given horizontal and vertical timings. */
#define TIMINGS(clk, hd, hss, hse, ht, vd, vss, vse, vt, fl)                                \
	{                                                                                   \
		.clock = (clk), .hdisplay = (hd), .hsync_start = (hss), .hsync_end = (hse), \
		.htotal = (ht), .vdisplay = (vd), .vsync_start = (vss), .vsync_end = (vse), \
		.vtotal = (vt), .flags = (fl)                                               \
	}

static void test_limits(void)
{
	static const struct {
		drmModeModeInfo mode;
		uint32_t width_mm, height_mm;
		int ret;
	} cases[] = {
		/* The largest clock, fields and size that fit. */
		{TIMINGS(655350, 4095, 5118, 6141, 8190, 4095, 4158, 4221, 8190, SYNC_PP), 4095,
		 4095, 0},
		{TIMINGS(148500, 1920, 2008, 2052, 2200, 1080, 1143, 1206, 1210, SYNC_PP), 0, 0, 0},
		/* Clock: 655.355 MHz rounds to 65536 × 10 kHz, 4 kHz to 0. */
		{TIMINGS(655355, 4095, 5118, 6141, 8190, 4095, 4158, 4221, 8190, SYNC_PP), 0, 0,
		 -EINVAL},
		{TIMINGS(4, 4, 5, 6, 8, 4, 5, 6, 8, 0), 0, 0, -EINVAL},
		{TIMINGS(0, 4, 5, 6, 8, 4, 5, 6, 8, 0), 0, 0, -EINVAL},
		/* 12-bit active and blanking. */
		{TIMINGS(148500, 4096, 4100, 4110, 4200, 1080, 1084, 1089, 1125, 0), 0, 0, -EINVAL},
		{TIMINGS(148500, 100, 110, 120, 4196, 1080, 1084, 1089, 1125, 0), 0, 0, -EINVAL},
		{TIMINGS(148500, 1920, 2008, 2052, 2200, 4096, 4100, 4104, 4200, 0), 0, 0, -EINVAL},
		{TIMINGS(148500, 1920, 2008, 2052, 2200, 100, 104, 108, 4196, 0), 0, 0, -EINVAL},
		/* 10-bit horizontal and 6-bit vertical sync offset and width. */
		{TIMINGS(148500, 1920, 2944, 2950, 3000, 1080, 1084, 1089, 1125, 0), 0, 0, -EINVAL},
		{TIMINGS(148500, 1920, 2008, 3032, 3100, 1080, 1084, 1089, 1125, 0), 0, 0, -EINVAL},
		{TIMINGS(148500, 1920, 2008, 2052, 2200, 1080, 1144, 1149, 1200, 0), 0, 0, -EINVAL},
		{TIMINGS(148500, 1920, 2008, 2052, 2200, 1080, 1084, 1148, 1200, 0), 0, 0, -EINVAL},
		/* Image size: 12 bits of mm. */
		{TIMINGS(148500, 1920, 2008, 2052, 2200, 1080, 1084, 1089, 1125, 0), 4096, 100,
		 -EINVAL},
		{TIMINGS(148500, 1920, 2008, 2052, 2200, 1080, 1084, 1089, 1125, 0), 100, 4096,
		 -EINVAL},
		/* Timings out of order. */
		{TIMINGS(148500, 1920, 1900, 2052, 2200, 1080, 1084, 1089, 1125, 0), 0, 0, -EINVAL},
		{TIMINGS(148500, 1920, 2008, 2000, 2200, 1080, 1084, 1089, 1125, 0), 0, 0, -EINVAL},
		{TIMINGS(148500, 1920, 2008, 2052, 2050, 1080, 1084, 1089, 1125, 0), 0, 0, -EINVAL},
		{TIMINGS(148500, 1920, 2008, 2052, 2200, 1080, 1084, 1089, 1088, 0), 0, 0, -EINVAL},
		{TIMINGS(148500, 0, 2008, 2052, 2200, 1080, 1084, 1089, 1125, 0), 0, 0, -EINVAL},
		{TIMINGS(148500, 1920, 2008, 2052, 2200, 0, 1084, 1089, 1125, 0), 0, 0, -EINVAL},
		/* Double scan has no encoding; interlace needs whole fields. */
		{TIMINGS(25175, 320, 328, 376, 400, 240, 245, 246, 262, DRM_MODE_FLAG_DBLSCAN), 0,
		 0, -EINVAL},
		{TIMINGS(74250, 1920, 2008, 2052, 2200, 1080, 1084, 1094, 1124,
			 DRM_MODE_FLAG_INTERLACE),
		 0, 0, -EINVAL},
		{TIMINGS(74250, 1920, 2008, 2052, 2200, 1081, 1085, 1095, 1125,
			 DRM_MODE_FLAG_INTERLACE),
		 0, 0, -EINVAL},
		{TIMINGS(74250, 1920, 2008, 2052, 2200, 1080, 1085, 1095, 1125,
			 DRM_MODE_FLAG_INTERLACE),
		 0, 0, -EINVAL},
		/* Rates beyond the range limits' 510 Hz and 510 kHz. */
		{TIMINGS(655350, 16, 17, 18, 20, 16, 17, 18, 20, 0), 0, 0, -EINVAL},
		{TIMINGS(655350, 800, 810, 820, 1000, 4095, 4100, 4105, 8190, 0), 0, 0, -EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t e[EDID_BLOCK_SIZE];
		memset(e, 0xaa, sizeof(e));
		int ret = edid_generate(&cases[i].mode, cases[i].width_mm, cases[i].height_mm, NULL,
					e);
		if (ret != cases[i].ret)
			fprintf(stderr, "case %zu\n", i);
		check_int_eq(ret, cases[i].ret);
		if (ret < 0) {
			/* Nothing written. */
			for (size_t j = 0; j < sizeof(e); j++)
				check_int_eq(e[j], 0xaa);
			continue;
		}
		check(edid_valid(e, sizeof(e)));
		drmModeModeInfo parsed;
		check_int_eq(edid_preferred_mode(e, sizeof(e), &parsed), 0);
		check_timings_eq(&parsed, &cases[i].mode);
	}
}

static void test_validation(void)
{
	drmModeModeInfo mode = mode_1920x1080();
	uint8_t e[3 * EDID_BLOCK_SIZE];
	check_int_eq(edid_generate(&mode, 527, 296, NULL, e), 0);
	check(edid_valid(e, EDID_BLOCK_SIZE));

	/* Any changed byte breaks the checksum. */
	for (size_t i = 0; i < EDID_BLOCK_SIZE; i++) {
		e[i] ^= 0x01;
		check(!edid_checksum_ok(e));
		check(!edid_valid(e, EDID_BLOCK_SIZE));
		e[i] ^= 0x01;
	}
	check(edid_valid(e, EDID_BLOCK_SIZE));

	/* A corrupted timing byte: no preferred mode, the output untouched. */
	drmModeModeInfo parsed = {.clock = 1};
	e[60] ^= 0x40;
	check_int_eq(edid_preferred_mode(e, EDID_BLOCK_SIZE, &parsed), -EINVAL);
	check_int_eq(parsed.clock, 1);
	e[60] ^= 0x40;

	/* A bad header with a right checksum. */
	e[0] = 0x01;
	e[127] = (uint8_t)(e[127] - 1);
	check(edid_checksum_ok(e));
	check(!edid_valid(e, EDID_BLOCK_SIZE));
	check_int_eq(edid_preferred_mode(e, EDID_BLOCK_SIZE, &parsed), -EINVAL);
	e[0] = 0x00;
	e[127] = (uint8_t)(e[127] + 1);

	/* Sizes: whole blocks, as many as the extension count says. */
	check(!edid_valid(e, 0));
	check(!edid_valid(e, 127));
	check(!edid_valid(e, 129));
	check(!edid_valid(e, 2 * EDID_BLOCK_SIZE)); /* says no extension */
	check_int_eq(edid_preferred_mode(e, 127, &parsed), -EINVAL);
	/* Extra bytes after the base block do not hide the preferred mode. */
	check_int_eq(edid_preferred_mode(e, 2 * EDID_BLOCK_SIZE, &parsed), 0);

	/* One extension block (all zero: sums to 0). */
	memset(e + EDID_BLOCK_SIZE, 0, 2 * EDID_BLOCK_SIZE);
	e[126] = 1;
	e[127] = (uint8_t)(e[127] - 1);
	check(edid_valid(e, 2 * EDID_BLOCK_SIZE));
	check(!edid_valid(e, EDID_BLOCK_SIZE));
	check(!edid_valid(e, 3 * EDID_BLOCK_SIZE));
	e[EDID_BLOCK_SIZE + 5] = 1; /* its checksum is wrong now */
	check(!edid_valid(e, 2 * EDID_BLOCK_SIZE));
	check(edid_checksum_ok(e));
	check_int_eq(edid_preferred_mode(e, 2 * EDID_BLOCK_SIZE, &parsed), 0);
	check_timings_eq(&parsed, &mode);

	/* The first descriptor not a timing: the first one that is. */
	check_int_eq(edid_generate(&mode, 527, 296, NULL, e), 0);
	uint8_t first[18];
	memcpy(first, e + 54, 18);
	memcpy(e + 54, e + 54 + 3 * 18, 18); /* the dummy descriptor */
	memcpy(e + 54 + 3 * 18, first, 18);
	check(edid_checksum_ok(e)); /* the same bytes, moved */
	check_int_eq(edid_preferred_mode(e, EDID_BLOCK_SIZE, &parsed), 0);
	check_timings_eq(&parsed, &mode);
	/* No timing at all. */
	memcpy(e + 54 + 3 * 18, e + 54, 18);
	e[127] = 0;
	uint8_t sum = 0;
	for (size_t i = 0; i < EDID_BLOCK_SIZE; i++)
		sum = (uint8_t)(sum + e[i]);
	e[127] = (uint8_t)(0x100 - sum);
	check(edid_valid(e, EDID_BLOCK_SIZE));
	check_int_eq(edid_preferred_mode(e, EDID_BLOCK_SIZE, &parsed), -EINVAL);
}

static void test_parse_dtd(void)
{
	/*
	 * A monitor's own descriptor (DMT 1280x1024 at 75 Hz, 337 × 270 mm,
	 * positive syncs), as its data sheet lists it.
	 */
	static const uint8_t monitor[18] = {0xbc, 0x34, 0x00, 0x98, 0x51, 0x00, 0x2a, 0x40, 0x10,
					    0x90, 0x13, 0x00, 0x51, 0x0e, 0x11, 0x00, 0x00, 0x1e};
	drmModeModeInfo mode;
	check_int_eq(edid_parse_dtd(monitor, &mode), 0);
	drmModeModeInfo want =
		make_mode(135000, 1280, 1296, 1440, 1688, 1024, 1025, 1028, 1066, SYNC_PP);
	check_timings_eq(&mode, &want);
	check_int_eq(mode.vrefresh, 75);
	check_str_eq(mode.name, "1280x1024");

	/* Display descriptors and empty timings are not modes. */
	static const uint8_t name[18] = {0, 0, 0, 0xfc, 0, 'x', '\n'};
	mode.clock = 7;
	check_int_eq(edid_parse_dtd(name, &mode), -EINVAL);
	uint8_t no_width[18];
	memcpy(no_width, monitor, 18);
	no_width[2] = 0;
	no_width[4] &= 0x0f;
	check_int_eq(edid_parse_dtd(no_width, &mode), -EINVAL);
	uint8_t no_height[18];
	memcpy(no_height, monitor, 18);
	no_height[5] = 0;
	no_height[7] &= 0x0f;
	check_int_eq(edid_parse_dtd(no_height, &mode), -EINVAL);
	check_int_eq(mode.clock, 7);

	/* A sync beyond the blanking (seen in bad EDIDs) stays in order. */
	uint8_t long_sync[18];
	memcpy(long_sync, monitor, 18);
	long_sync[3] = 0x10; /* hblank 0x110 = 272 < offset 16 + width 400 */
	long_sync[9] = 0x90;
	long_sync[11] = 0x10; /* width 0x190 */
	check_int_eq(edid_parse_dtd(long_sync, &mode), 0);
	check(mode.hsync_start <= mode.hsync_end && mode.hsync_end <= mode.htotal);
}

int main(void)
{
	test_generate();
	test_sizes_and_names();
	test_limits();
	test_validation();
	test_parse_dtd();
	return 0;
}
