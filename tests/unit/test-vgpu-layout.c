// SPDX-License-Identifier: MIT
#include "config/config.h"
#include "test.h"
#include "vgpu/layout.h"

static const struct {
	uint32_t width, height;
} sizes[] = {{1920, 1080}, {1366, 768}, {1025, 767}, {7, 3}};

static bool overlap(const struct kms_rect *a, const struct kms_rect *b)
{
	return a->x < b->x + (int64_t)b->width && b->x < a->x + (int64_t)a->width &&
	       a->y < b->y + (int64_t)b->height && b->y < a->y + (int64_t)a->height;
}

/*
 * The n regions lie in the output, do not overlap, and cover it whole; none
 * is empty on an output of at least 4 × 4.
 */
static void check_tiles(const struct kms_rect *r, size_t n, uint32_t width, uint32_t height)
{
	uint64_t area = 0;
	for (size_t i = 0; i < n; i++) {
		check((r[i].width > 0 && r[i].height > 0) || width < 4 || height < 4);
		check(r[i].x >= 0 && r[i].y >= 0);
		check(r[i].x + (int64_t)r[i].width <= width);
		check(r[i].y + (int64_t)r[i].height <= height);
		area += (uint64_t)r[i].width * r[i].height;
		for (size_t j = 0; j < i; j++)
			check(!overlap(&r[i], &r[j]));
	}
	check_int_eq(area, (uint64_t)width * height);
}

static void check_rect(const struct kms_rect *r, int32_t x, int32_t y, uint32_t w, uint32_t h)
{
	check_int_eq(r->x, x);
	check_int_eq(r->y, y);
	check_int_eq(r->width, w);
	check_int_eq(r->height, h);
}

static void test_tiling(void)
{
	static const enum config_layout layouts[] = {CONFIG_LAYOUT_COLUMNS, CONFIG_LAYOUT_ROWS,
						     CONFIG_LAYOUT_GRID};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++) {
			for (size_t n = 1; n <= CONFIG_OUTPUT_MAX_VGPUS; n++) {
				struct kms_rect r[CONFIG_OUTPUT_MAX_VGPUS];
				vgpu_layout_regions(layouts[l], n, NULL, sizes[s].width,
						    sizes[s].height, r);
				check_tiles(r, n, sizes[s].width, sizes[s].height);
			}
		}
	}
}

static void test_columns_rows(void)
{
	struct kms_rect r[CONFIG_OUTPUT_MAX_VGPUS];
	/* 1025 / 3 = 341: the last column gets the two pixels left over. */
	vgpu_layout_regions(CONFIG_LAYOUT_COLUMNS, 3, NULL, 1025, 767, r);
	check_rect(&r[0], 0, 0, 341, 767);
	check_rect(&r[1], 341, 0, 341, 767);
	check_rect(&r[2], 682, 0, 343, 767);
	vgpu_layout_regions(CONFIG_LAYOUT_COLUMNS, 2, NULL, 1920, 1080, r);
	check_rect(&r[0], 0, 0, 960, 1080);
	check_rect(&r[1], 960, 0, 960, 1080);
	/* 767 / 4 = 191, the last row 194. */
	vgpu_layout_regions(CONFIG_LAYOUT_ROWS, 4, NULL, 1025, 767, r);
	check_rect(&r[0], 0, 0, 1025, 191);
	check_rect(&r[1], 0, 191, 1025, 191);
	check_rect(&r[2], 0, 382, 1025, 191);
	check_rect(&r[3], 0, 573, 1025, 194);
	/* One vGPU: the whole output, whatever the layout. */
	static const enum config_layout all[] = {CONFIG_LAYOUT_COLUMNS, CONFIG_LAYOUT_ROWS,
						 CONFIG_LAYOUT_GRID, CONFIG_LAYOUT_PIP};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		vgpu_layout_regions(all[i], 1, NULL, 1366, 768, r);
		check_rect(&r[0], 0, 0, 1366, 768);
	}
}

static void test_grid(void)
{
	struct kms_rect r[CONFIG_OUTPUT_MAX_VGPUS];
	/* 4: 2 × 2, row by row. */
	vgpu_layout_regions(CONFIG_LAYOUT_GRID, 4, NULL, 1025, 767, r);
	check_rect(&r[0], 0, 0, 512, 383);
	check_rect(&r[1], 512, 0, 513, 383);
	check_rect(&r[2], 0, 383, 512, 384);
	check_rect(&r[3], 512, 383, 513, 384);
	/* 3: 2 columns, 2 rows; the third takes the whole bottom row. */
	vgpu_layout_regions(CONFIG_LAYOUT_GRID, 3, NULL, 1366, 768, r);
	check_rect(&r[0], 0, 0, 683, 384);
	check_rect(&r[1], 683, 0, 683, 384);
	check_rect(&r[2], 0, 384, 1366, 384);
	/* 2: side by side, as columns. */
	vgpu_layout_regions(CONFIG_LAYOUT_GRID, 2, NULL, 1920, 1080, r);
	check_rect(&r[0], 0, 0, 960, 1080);
	check_rect(&r[1], 960, 0, 960, 1080);
}

static void test_pip(void)
{
	struct kms_rect r[CONFIG_OUTPUT_MAX_VGPUS];
	/* 1920x1080: insets 480x270, margins 60 and 33. */
	vgpu_layout_regions(CONFIG_LAYOUT_PIP, 4, NULL, 1920, 1080, r);
	check_rect(&r[0], 0, 0, 1920, 1080);
	check_rect(&r[1], 1920 - 60 - 480, 1080 - 33 - 270, 480, 270);
	check_rect(&r[2], 1920 - 2 * (60 + 480), 1080 - 33 - 270, 480, 270);
	check_rect(&r[3], 1920 - 3 * (60 + 480), 1080 - 33 - 270, 480, 270);
	/* 1025x767: insets 256x191, margins 32 and 23. */
	vgpu_layout_regions(CONFIG_LAYOUT_PIP, 3, NULL, 1025, 767, r);
	check_rect(&r[0], 0, 0, 1025, 767);
	check_rect(&r[1], 1025 - 32 - 256, 767 - 23 - 191, 256, 191);
	check_rect(&r[2], 1025 - 2 * (32 + 256), 767 - 23 - 191, 256, 191);
	/* Insets stay inside the output and apart from one another. */
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t w = sizes[s].width, h = sizes[s].height;
		vgpu_layout_regions(CONFIG_LAYOUT_PIP, 4, NULL, w, h, r);
		for (size_t i = 1; i < 4; i++) {
			check(r[i].x >= 0 && r[i].x + (int64_t)r[i].width <= w);
			check(r[i].y >= 0 && r[i].y + (int64_t)r[i].height <= h);
			for (size_t j = 1; j < i; j++)
				check(!overlap(&r[i], &r[j]));
		}
	}
}

static void test_explicit(void)
{
	struct kms_rect r[CONFIG_OUTPUT_MAX_VGPUS];
	const struct config_region in[] = {
		{0, 0, 960, 1080},      /* inside */
		{1800, 1000, 400, 300}, /* cut at the right and bottom */
		{2000, 0, 100, 100},    /* wholly outside: empty */
		{100, 200, 16384, 1},   /* cut at the right */
	};
	vgpu_layout_regions(CONFIG_LAYOUT_REGIONS, 4, in, 1920, 1080, r);
	check_rect(&r[0], 0, 0, 960, 1080);
	check_rect(&r[1], 1800, 1000, 120, 80);
	check_rect(&r[2], 0, 0, 0, 0);
	check_rect(&r[3], 100, 200, 1820, 1);
	/* An output without a mode yet: every region empty. */
	vgpu_layout_regions(CONFIG_LAYOUT_COLUMNS, 2, NULL, 0, 0, r);
	check_rect(&r[0], 0, 0, 0, 0);
	check_rect(&r[1], 0, 0, 0, 0);
}

static void test_slot_at(void)
{
	struct kms_rect r[CONFIG_OUTPUT_MAX_VGPUS];
	vgpu_layout_regions(CONFIG_LAYOUT_PIP, 3, NULL, 1920, 1080, r);
	/* Insets are above the full-screen slot 0. */
	check_int_eq(vgpu_layout_slot_at(r, 3, 10, 10), 0);
	check_int_eq(vgpu_layout_slot_at(r, 3, r[1].x, r[1].y), 1);
	check_int_eq(vgpu_layout_slot_at(r, 3, r[1].x + r[1].width - 0.5, r[1].y + 1), 1);
	check_int_eq(vgpu_layout_slot_at(r, 3, r[1].x + r[1].width, r[1].y + 1), 0);
	check_int_eq(vgpu_layout_slot_at(r, 3, r[2].x + 5, r[2].y + 5), 2);
	check_int_eq(vgpu_layout_slot_at(r, 3, 1919.5, 1079.5), 0);
	check_int_eq(vgpu_layout_slot_at(r, 3, 1920, 10), -1);
	check_int_eq(vgpu_layout_slot_at(r, 3, -0.5, 10), -1);

	/* Columns: the edge belongs to the right one. */
	vgpu_layout_regions(CONFIG_LAYOUT_COLUMNS, 3, NULL, 1025, 767, r);
	check_int_eq(vgpu_layout_slot_at(r, 3, 340.9, 0), 0);
	check_int_eq(vgpu_layout_slot_at(r, 3, 341, 0), 1);
	check_int_eq(vgpu_layout_slot_at(r, 3, 1024, 766), 2);
	check_int_eq(vgpu_layout_slot_at(r, 3, 1025, 766), -1);

	/* Overlapping explicit regions: the later (higher) one wins; empty ones hold nothing. */
	const struct config_region in[] = {{0, 0, 100, 100}, {50, 50, 100, 100}, {5000, 0, 9, 9}};
	vgpu_layout_regions(CONFIG_LAYOUT_REGIONS, 3, in, 640, 480, r);
	check_int_eq(vgpu_layout_slot_at(r, 3, 60, 60), 1);
	check_int_eq(vgpu_layout_slot_at(r, 3, 40, 60), 0);
	check_int_eq(vgpu_layout_slot_at(r, 3, 0, 0), 0);
	check_int_eq(vgpu_layout_slot_at(r, 0, 0, 0), -1);
}

/* Parse `text` and return its only output, for the config_output entry points. */
static struct config_output *parse_output(struct config *cfg, const char *text)
{
	log_init(LOG_LEVEL_ERROR);
	config_init(cfg);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	check(f != NULL);
	check_int_eq(config_parse(cfg, f, "test.conf"), 0);
	fclose(f);
	check_int_eq(wl_list_length(&cfg->outputs), 1);
	struct config_output *co = wl_container_of(cfg->outputs.next, co, link);
	return co;
}

static void test_output(void)
{
	struct config cfg;
	struct kms_rect r[CONFIG_OUTPUT_MAX_VGPUS], one;

	/* One vGPU and no layout key: the whole output. */
	struct config_output *co = parse_output(&cfg, "[output A-1]\nvgpu = a\n");
	check_int_eq(vgpu_layout_output(co, 1366, 768, r), 1);
	check_rect(&r[0], 0, 0, 1366, 768);
	/* Assigning a second one on top: columns, the default. */
	check_int_eq(config_output_assign(co, 1, "b"), 0);
	check_int_eq(vgpu_layout_output(co, 1366, 768, r), 2);
	check_rect(&r[0], 0, 0, 683, 768);
	check_rect(&r[1], 683, 0, 683, 768);
	config_finish(&cfg);

	co = parse_output(&cfg, "[output A-1]\nvgpu = a, b\nregion b = 0,0 100x100\n"
				"region a = 10,20 3000x40\n");
	check_int_eq(vgpu_layout_output(co, 1920, 1080, r), 2);
	check_rect(&r[0], 10, 20, 1910, 40);
	check_rect(&r[1], 0, 0, 100, 100);
	/* Swapping the vGPUs moves them between the regions; the regions stay. */
	check_int_eq(config_output_assign(co, 0, "b"), 0);
	check_str_eq(config_output_vgpu(co, 0), "b");
	check_str_eq(config_output_vgpu(co, 1), "a");
	vgpu_layout_slot(co, 0, 1920, 1080, &one);
	check_rect(&one, 10, 20, 1910, 40);
	vgpu_layout_slot(co, 2, 1920, 1080, &one);
	check_rect(&one, 0, 0, 0, 0);
	config_finish(&cfg);

	co = parse_output(&cfg, "[output A-1]\nvgpu = a, b, c, d\nlayout = grid\n");
	check_int_eq(vgpu_layout_output(co, 1920, 1080, r), 4);
	check_rect(&r[3], 960, 540, 960, 540);
	check_tiles(r, 4, 1920, 1080);
	config_finish(&cfg);

	/* No vGPU: no region. */
	co = parse_output(&cfg, "[output A-1]\n");
	check_int_eq(vgpu_layout_output(co, 1920, 1080, r), 0);
	config_finish(&cfg);
}

int main(void)
{
	test_tiling();
	test_columns_rows();
	test_grid();
	test_pip();
	test_explicit();
	test_slot_at();
	test_output();
	return 0;
}
