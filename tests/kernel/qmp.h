/* SPDX-License-Identifier: MIT */
/*
 * Screendumps of virtio-gpu heads through the VMM's QMP monitor (VM_QMP,
 * given by tests/vm/run --virtio-gpu), and the fenced wait that makes sure
 * the host has handled every queued command first.
 */
#ifndef VSCANOUT_TESTS_KERNEL_QMP_H
#define VSCANOUT_TESTS_KERNEL_QMP_H

#include <stddef.h>
#include <stdint.h>

#include "kmstest.h"

#define QMP_LINE_MAX 4096

/* The QMP relay's character device in the guest. */
struct kt_qmp {
	int fd;
	char buf[QMP_LINE_MAX];
	size_t len;
	unsigned int next_id;
};

void kt_qmp_open(struct kt_qmp *q);

/* Run a command; fail unless it returns. arguments may be NULL. */
void kt_qmp_execute(struct kt_qmp *q, const char *execute, const char *arguments);

/*
 * Take a screendump of virtio-gpu head `head` (device gpu0) into
 * $VM_ARTEFACTS/<name>.ppm (kept; the runner turns it into a PNG) and load
 * it into img (allocated, XRGB8888). Fails the test on any error.
 */
void kt_qmp_screendump(struct kt_qmp *q, uint32_t head, const char *name, struct kt_image *img);

/* Load a binary PPM into an XRGB8888 image. */
void kt_ppm_load(const char *path, struct kt_image *img);

/* Wait until the host has handled every virtio-gpu command queued on fd. */
void kt_host_sync(struct kt_device *dev);

#endif
