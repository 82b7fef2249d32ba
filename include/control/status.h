/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_CONTROL_STATUS_H
#define VSCANOUT_CONTROL_STATUS_H

#include <stddef.h>

struct control;

/*
 * The status document: what vscanout_control_v1.status writes and
 * `vscanoutctl status --json` prints. One JSON object (UTF-8, indented,
 * ending with a newline). Every key below is always present; "|" separates
 * the values a key may take, null is written where a thing does not exist.
 * Numbers are unsigned integers unless said otherwise.
 *
 * doc/vscanoutctl-status.schema.json (installed into DATADIR/vscanout) is
 * the same as a JSON Schema (draft 2020-12): every object with its
 * required keys, types and enumerations. It lets keys it does not name
 * appear, so that consumers keep working when keys are added; the tests
 * check every document they take against it in strict mode (no key the
 * schema does not name), so a key added here must be added there too.
 *
 * "version" is the document's own version, CONTROL_STATUS_VERSION: keys
 * may be added without changing it; removing, renaming or retyping a key,
 * or changing what a value means, increments it.
 *
 * {
 *   "version": 1,                          CONTROL_STATUS_VERSION
 *   "daemon": {
 *     "version": "0.1.0",                  vscanoutd's version
 *     "pid": 1234,                         its process id
 *     "socket": "/run/vscanout/vscanout-0" | null   the socket it listens on
 *   },
 *   "outputs": [                           every connector of every KMS device,
 *                                          devices in discovery order
 *     {
 *       "name": "Virtual-1",               KMS connector name; screenshot takes it
 *                                          (or "card0:Virtual-1" when names clash)
 *       "device": "/dev/dri/card0",        the card's device node
 *       "minor": 0 | null,                 its DRM minor (/sys/kernel/debug/dri/N)
 *       "connector_id": 35,
 *       "connected": true,
 *       "enabled": true,                   wanted on by the configuration
 *       "state": "off" | "waiting" | "on" | "disabling",
 *       "mode": { "width": 1024, "height": 768, "refresh_mhz": 60000 } | null,
 *       "crtc_id": 34 | null,
 *       "mode_blob": 40 | null,            the MODE_ID property blob
 *       "placeholder": "#202020",          colour shown where no layer is
 *       "flip": "async" | "vsync",         the output's flip policy
 *       "rotation": 0 | 90 | 180 | 270,    how the monitor is turned, clockwise
 *       "force_copy": false,               layers copied on purpose (debug)
 *       "capture": false,                  a writeback capture is waiting
 *       "blanked": false,                  kept off: by a blank request,
 *                                          blank = yes or its blank-schedule
 *       "blank_schedule": "22:00-07:00" | null,   its blank-schedule window
 *                                          ("HH:MM-HH:MM", local time)
 *       "planes": [                        hardware planes the output holds, with
 *                                          what its last successful commit put
 *                                          on them (fb_id null: disabled)
 *         {
 *           "id": 31, "type": "primary" | "overlay" | "cursor",
 *           "content": "layer" | "composition" | "placeholder" | "none",
 *                                          a layer's buffer, the buffer the copied
 *                                          layers are drawn into, the placeholder
 *                                          colour alone, nothing
 *           "layer_zpos": 1 | null,        the layer's zpos (signed) for "layer"
 *           "fb_id": 42 | null,            FB_ID
 *           "crtc_id": 34 | null,          CRTC_ID
 *           "crtc": { "x": 0, "y": 0, "width": 1024, "height": 768 } | null,
 *                                          CRTC_X/Y (signed), CRTC_W/H: mode
 *                                          pixels, as the kernel has them
 *           "src": { "x": 0, "y": 0, "width": 1024, "height": 768 } | null
 *                                          SRC_X/Y/W/H in pixels (may have
 *                                          fractions)
 *           "rotation": 0 | 90 | 180 | 270 | null,
 *                                          how far the plane turns its buffer
 *                                          (its "rotation" property,
 *                                          counter-clockwise); null when off
 *         }
 *       ],
 *       "layers": [                        by ascending zpos, as of the last frame
 *         {
 *           "zpos": 1,                     a signed integer
 *           "visible": true,               has a buffer
 *           "direct": true,                scanned out on plane_id
 *           "plane_id": 31 | null,
 *           "copied": false,               drawn into the composition buffer
 *           "miss": [ "format" ],          why not direct, names of
 *                                          enum kms_layer_miss: "import",
 *                                          "pixels-only", "format", "no-plane",
 *                                          "forced-copy", "rotation"; empty
 *                                          when direct
 *           "format": "XRGB8888" | null,   the buffer's format: the name of a
 *                                          known format, else its fourcc code
 *           "width": 1024, "height": 768,  the buffer's size, 0 without one
 *           "src": { "x": 0, "y": 0, "width": 1024, "height": 768 } | null,
 *                                          part of the buffer shown, in
 *                                          buffer pixels (may have fractions)
 *           "dst": { "x": 0, "y": 0, "width": 1024, "height": 768 } | null
 *                                          where on the output (x, y signed),
 *                                          in its logical space: the mode
 *                                          turned upright (768 x 1024 at 90
 *                                          and 270 degrees)
 *         }
 *       ],
 *       "counters": {                      since the output was created
 *         "frames_direct": 0, "frames_copied": 0,
 *         "frames_discarded": 0,           buffers replaced before any commit
 *                                          took them (the newest frame wins)
 *         "flips_vsync": 0, "flips_async": 0, "async_fallbacks": 0,
 *         "commits": 0, "modesets": 0, "commit_failures": 0,
 *         "latency_samples": 0,            of the last 1024 frames:
 *         "latency_p50_us": 0,             µs from a layer getting a buffer
 *         "latency_p99_us": 0              to the flip that showed it (0
 *                                          without samples)
 *       }
 *     }
 *   ],
 *   "vgpus": [                             every vGPU of the configuration, in
 *                                          its order ([vgpu] sections, then
 *                                          vgpu= values of outputs)
 *     {
 *       "name": "kiosk-a",
 *       "attached": true,
 *       "client": { "pid": 99, "uid": 1000, "gid": 1000 } | null,
 *       "outputs": [ "HDMI-A-1" ],         outputs configured with vgpu=NAME
 *       "clock": "HDMI-A-1" | null,        the output whose vblanks pace it
 *                                          (clock=, else its first present
 *                                          output); null while not attached
 *                                          or shown on no present output
 *       "source": "none" | "client" | "dmabuf" | "region",
 *                                          what its picture comes from: buffers
 *                                          the client commits, or a VFIO
 *                                          device's dma-buf or region planes
 *       "vfio": {                          the VFIO source's counters, or null
 *         "polls": 0, "changes": 0, "imports": 0, "cache_hits": 0,
 *         "transient_errors": 0, "frames_presented": 0, "late_frames": 0,
 *         "margin_us": 0, "latency_p50_us": 0, "latency_p99_us": 0
 *       } | null,
 *       "input": true,                     the client took its input object
 *       "uinput": {                        its virtual evdev devices (uinput=yes)
 *         "keyboard": "/dev/input/event7", "pointer": "...", "touch": "..."
 *       }                                  ({} without)
 *     }
 *   ]
 * }
 */

/* The status document's version: see above. */
#define CONTROL_STATUS_VERSION 1

/*
 * The status document of control's daemon. Returns the NUL-terminated text
 * (the caller frees it) and its length in *size, or NULL when out of
 * memory.
 */
char *control_status_json(const struct control *control, size_t *size);

#endif
