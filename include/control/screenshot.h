/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_CONTROL_SCREENSHOT_H
#define VSCANOUT_CONTROL_SCREENSHOT_H

#include <stdint.h>

struct control;
struct control_resource;
struct kms_output;

/*
 * Screenshots of outputs, handed over as raw pixels for the client to
 * encode (vscanoutctl writes the PNG): the pixels go into the client's
 * memfd with pwrite(), which is then sealed against shrinking, growing and
 * further writing (F_SEAL_FUTURE_WRITE, which never waits); the answer is
 * the image event (width, height, stride, DRM_FORMAT_XRGB8888), then done
 * with the source. No encoder runs on the event loop: a screenshot costs
 * it one copy of the frame (logged at debug level with the time it took),
 * and nothing waits for the client: the answer is a small event, the
 * pixels are in the client's own file.
 *
 * Writeback: where the output's device has a writeback connector for its
 * CRTC, the frame of the output's next commit is captured
 * (kms_output_capture()) and the request is answered from the capture's
 * callback. Requests for an output whose capture is already waiting join
 * it and get the same frame.
 *
 * Composed: otherwise the picture is composed in software from the buffers
 * on the output's layers: the placeholder colour, then every layer that
 * has a buffer, by ascending zpos, its source rectangle scaled to its
 * destination rectangle (render/copy.h); a layer whose format has alpha is
 * blended over what is below, any other replaces it. This is what the
 * output shows when it shows its layers' current buffers; a layer that
 * cannot be read (a tiled dma-buf) is left out. The daemon never waits for
 * a producer: while a dma-buf of the output is still being written (a
 * write fence has not signalled), the request waits on the event loop and
 * is answered once every buffer may be read, or fails after 2 s saying so.
 * Requests for an output already waiting join that wait.
 */

/*
 * Answer a capture request of cr for the output called name, into fd
 * (taken; an unsealed memfd that allows sealing, checked by the caller):
 * image and done with the source, or failed (no such output, the output is
 * off, the seat is inactive, the capture failed, a buffer still being
 * written after 2 s, too many screenshots waiting, the memfd sealed
 * meanwhile), at once or later from the event loop.
 */
void control_screenshot(struct control_resource *cr, uint32_t serial, const char *name, int fd);

/*
 * Compose what output shows in software, as described above, into newly
 * allocated XRGB8888 pixels (*pixels, the caller frees them; rows of
 * width × 4 bytes). Returns 0, -ENODEV when the output is not on, or
 * -ENOMEM.
 */
int control_compose(struct kms_output *output, uint32_t **pixels, uint32_t *width,
		    uint32_t *height);

/* control is going away: its captures are orphaned, their waits freed. */
void control_screenshot_finish(struct control *control);

#endif
