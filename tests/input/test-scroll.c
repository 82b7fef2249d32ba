// SPDX-License-Identifier: MIT
/*
 * The scroll conversions of the input subsystem: finger scrolling in pixels
 * to v120 units with the fractions carried, and v120 to whole wheel detents
 * for the virtual devices.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "input/input.h"
#include "input/uinput.h"

#ifdef NDEBUG
#error "tests must be built without NDEBUG"
#endif

static void test_px_to_v120(void)
{
	double rem = 0;
	/* 15 px is one detent. */
	assert(input_scroll_px_to_v120(15.0, &rem) == 120);
	assert(rem == 0);
	assert(input_scroll_px_to_v120(-7.5, &rem) == -60);
	/* Slow scrolling adds up: 0.1 px is 0.8 units. */
	rem = 0;
	int32_t sum = 0;
	for (int i = 0; i < 10; i++)
		sum += input_scroll_px_to_v120(0.1, &rem);
	assert(sum == 7 || sum == 8);
	assert(sum + rem > 7.99 && sum + rem < 8.01);
	/* A change of direction drops the carried fraction. */
	rem = 0.9;
	assert(input_scroll_px_to_v120(-0.1, &rem) == 0);
	assert(rem < -0.79 && rem > -0.81);
	assert(input_scroll_px_to_v120(-0.1, &rem) == -1);
}

static void test_detents(void)
{
	int32_t rem = 0;
	assert(uinput_scroll_detents(120, &rem) == 1 && rem == 0);
	assert(uinput_scroll_detents(60, &rem) == 0 && rem == 60);
	assert(uinput_scroll_detents(60, &rem) == 1 && rem == 0);
	assert(uinput_scroll_detents(-300, &rem) == -2 && rem == -60);
	/* back the other way: the -60 is dropped */
	assert(uinput_scroll_detents(90, &rem) == 0 && rem == 90);
	assert(uinput_scroll_detents(30, &rem) == 1 && rem == 0);
}

static void test_caps_str(void)
{
	char buf[64];
	input_device_caps_str(INPUT_DEVICE_CAP_KEYBOARD | INPUT_DEVICE_CAP_POINTER |
				      INPUT_DEVICE_CAP_TOUCH,
			      buf, sizeof(buf));
	assert(strcmp(buf, "keyboard, pointer, touch") == 0);
	input_device_caps_str(0, buf, sizeof(buf));
	assert(strcmp(buf, "nothing") == 0);
	char small[12];
	input_device_caps_str(INPUT_DEVICE_CAP_KEYBOARD | INPUT_DEVICE_CAP_POINTER, small,
			      sizeof(small));
	assert(strcmp(small, "keyboard") == 0);

	assert(uinput_device_name(UINPUT_KEYBOARD, "kiosk-a", buf, sizeof(buf)) == 0);
	assert(strcmp(buf, "vscanout kiosk-a keyboard") == 0);
	assert(uinput_device_name(UINPUT_TOUCHSCREEN, "kiosk-a", small, sizeof(small)) ==
	       -ENAMETOOLONG);
}

int main(void)
{
	test_px_to_v120();
	test_detents();
	test_caps_str();
	printf("ok\n");
	return 0;
}
