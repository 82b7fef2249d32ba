// SPDX-License-Identifier: MIT
#include "qemu/keymap.h"
