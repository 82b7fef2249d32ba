/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_INPUT_AXIS_H
#define VSCANOUT_INPUT_AXIS_H

/* A scroll axis, shared by the seat input and the focus router. */
enum input_scroll_axis {
	INPUT_SCROLL_VERTICAL = 0, /* positive: down */
	INPUT_SCROLL_HORIZONTAL,   /* positive: right */
};

#endif
