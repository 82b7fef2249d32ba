/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_CONFIG_CONFIG_H
#define VSCANOUT_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <wayland-util.h>

#include "daemon/schedule.h"
#include "input/hotkey.h"
#include "input/layout.h"
#include "kms/scale.h"
#include "util/log.h"

/*
 * vscanoutd's configuration file: INI, parsed with inih.
 *
 *   # comment (a line of its own; after a value, a '#' or ';' that
 *   # follows whitespace starts one too)
 *   [daemon]
 *   log-level = info            # error | warning | info | debug
 *   seat = seat0                # the seat to drive (default: --seat's, which
 *                               # it must equal when given; else libseat's)
 *   socket = /run/vscanout/vscanout-0   # where VMMs connect (absolute path)
 *   control-group = wheel       # group whose members may use the control
 *                               # interface besides root (name or id)
 *   focus = pointer             # pointer | click: what moves the keyboard focus
 *   max-clients = 256           # connections at a time, all users together
 *   max-clients-per-uid = 32    # connections at a time of one user (root: no
 *                               # limit of its own, it counts in max-clients)
 *   hotkey-next-output = Ctrl+Alt+Right  # keyboard focus and pointer to the
 *   hotkey-prev-output = Ctrl+Alt+Left   # next (previous) output's vGPU
 *   hotkey-next-vgpu = none     # the output under the pointer shows the next
 *   hotkey-prev-vgpu = none     # (previous) vGPU of the configuration; none:
 *                               # no hotkey (the default for these two)
 *
 *   [output HDMI-A-1]           # a connector by its KMS name, or
 *   [output card1:Virtual-1]    # qualified by DRM device when names clash
 *   mode = 1920x1080@60         # WxH, WxH@Hz (Hz may have decimals), preferred
 *   vgpu = kiosk-a              # the vGPU shown there, or 1 to 4 of them,
 *                               # "vgpu = a, b", stacked bottom to top
 *   layout = columns            # columns | rows | grid | pip | regions: how
 *                               # several vGPUs share the output
 *   region a = 0,0 960x1080     # X,Y WxH: where vGPU a is shown (one per
 *                               # vGPU of vgpu=; implies layout = regions)
 *   flip = async                # async | vsync
 *   placeholder = #202020       # colour shown while the vGPU has no picture
 *   scale = fit                 # fit | center | stretch: a picture of another size
 *   position = 1920,0           # X,Y in the layout (-32768..32767); default:
 *                               # right of the rightmost, in file order
 *   rotation = 0                # 0 | 90 | 180 | 270: how the monitor is turned,
 *                               # clockwise; the picture is turned back upright
 *   cursor = shown              # shown | hidden: the guest's cursor
 *   blank = no                  # no | yes: yes keeps the monitor off (DPMS off)
 *   blank-schedule = 22:00-07:00   # HH:MM-HH:MM: off every day in that window
 *                               # of local time (TZ); may cross midnight
 *
 *   [vgpu kiosk-a]              # who may attach to a vGPU (root always may)
 *   allow-uid = 1000, libvirt-qemu  # user ids or names
 *   allow-gid = kvm             # group ids or names (the client's primary or
 *                               # any of its supplementary groups)
 *   edid = monitor              # monitor | generate | off: what a VFIO device's
 *                               # EDID region gets
 *   poll = vblank               # vblank | Nms (1..10000): how a VFIO device is polled
 *   uinput = no                 # yes | no: also give the vGPU's input as virtual
 *                               # evdev devices (uinput) for the VMM
 *   clock = HDMI-A-1            # the output whose vblanks pace the vGPU: its
 *                               # vblank source, VFIO polling and presentation
 *                               # feedback (default: the first output showing it)
 *   qemu = qmp:/run/vm1.qmp     # the vGPU is the D-Bus display of this QEMU
 *                               # (qemu/qemu.h): qmp:/PATH of its QMP socket
 *                               # (-display dbus,p2p=yes) or dbus:ADDRESS of a
 *                               # bus where it owns org.qemu
 *   qemu-console = 0            # its console (default: the first graphic one)
 *   vfio-from = qmp:/run/vm1.qmp   # take the mediated vGPU's VFIO device from
 *   mdev = 4b20d080-...         # the QEMU of this QMP socket (vfio/take.h)
 *
 *   [touchscreen ELAN Touchscreen]   # a touchscreen by its libinput device name
 *   output = HDMI-A-1           # the output it is laminated to (default: the first
 *                               # [output], or the only/first lit one without any)
 *
 * With one vGPU and no layout key, the vGPU gets the whole output. Layouts
 * (see vgpu/layout.h for the arithmetic): columns (the default with
 * several): equal columns, left to right; rows: equal rows, top to bottom;
 * grid: ceil(sqrt(n)) columns and as many rows as needed, filled row by
 * row; pip: the first vGPU fills the output, each further one is an inset
 * of a quarter of its width and height, from the bottom-right corner
 * leftwards, 1/32 of its width and height apart; regions: the region keys.
 * A name twice in vgpu=, a region for a name not in vgpu=, a vGPU of vgpu=
 * without a region (once any region is given), or layout = regions
 * without regions is an error.
 *
 * A vGPU named by an output needs no [vgpu] section; it then admits root
 * only and has the default edid, poll, uinput and clock. A [vgpu] section's
 * clock must be an [output] section whose vgpu= names it (among others). A
 * [touchscreen] section's output must be one of the [output] sections when
 * there are any. Every section and key is checked. An unknown section or key, a key
 * outside any section, a repeated key or section, or a bad value is an
 * error reported as "FILE:LINE: message" naming what is wrong and what is
 * allowed.
 */

/* How an output flips to a new frame. */
enum config_flip {
	CONFIG_FLIP_DEFAULT = 0, /* async when a single full-screen guest allows it */
	CONFIG_FLIP_ASYNC,
	CONFIG_FLIP_VSYNC,
};

/* What a vGPU's VFIO device gets in its EDID region, if it has one. */
enum config_edid {
	CONFIG_EDID_MONITOR = 0, /* the output's monitor's EDID when it fits, else generated */
	CONFIG_EDID_GENERATE,    /* an EDID generated from the output's mode */
	CONFIG_EDID_OFF,         /* the region is left alone */
};

/* What moves the keyboard focus between vGPUs. */
enum config_focus {
	CONFIG_FOCUS_POINTER = 0, /* it follows the pointer */
	CONFIG_FOCUS_CLICK,       /* a click (or touch) moves it */
};

/* Whether an output shows the guest's cursor. */
enum config_cursor {
	CONFIG_CURSOR_SHOWN = 0,
	CONFIG_CURSOR_HIDDEN,
};

/* Limits of position = X,Y. */
#define CONFIG_POSITION_MIN (-32768)
#define CONFIG_POSITION_MAX 32767

/* Default hotkeys. */
#define CONFIG_HOTKEY_NEXT_OUTPUT_DEFAULT "Ctrl+Alt+Right"
#define CONFIG_HOTKEY_PREV_OUTPUT_DEFAULT "Ctrl+Alt+Left"

/* Defaults and largest value of max-clients and max-clients-per-uid. */
#define CONFIG_MAX_CLIENTS_DEFAULT         256
#define CONFIG_MAX_CLIENTS_PER_UID_DEFAULT 32
#define CONFIG_MAX_CLIENTS_LIMIT           65536

/* Longest poll= interval, in ms. */
#define CONFIG_POLL_MAX_MS 10000
/* Largest qemu-console= and longest qmp: socket path (a sun_path). */
#define CONFIG_QEMU_CONSOLE_MAX 255
#define CONFIG_QEMU_PATH_MAX    108

/* The default placeholder colour: dark grey, 0xRRGGBB. */
#define CONFIG_PLACEHOLDER_DEFAULT 0x202020u

/* Most vGPUs one output shows. */
#define CONFIG_OUTPUT_MAX_VGPUS 4

/* Limits of a region's X,Y WxH: the rectangle lies in 0..CONFIG_REGION_MAX. */
#define CONFIG_REGION_MAX 16384

/* How the vGPUs of an output share it. */
enum config_layout {
	CONFIG_LAYOUT_COLUMNS = 0, /* the default */
	CONFIG_LAYOUT_ROWS,
	CONFIG_LAYOUT_GRID,
	CONFIG_LAYOUT_PIP,
	CONFIG_LAYOUT_REGIONS, /* the explicit regions */
};

/* A region key's rectangle, in the output's logical pixels (after rotation). */
struct config_region {
	int32_t x, y;
	uint32_t width, height;
};

/* One [output NAME] section. */
struct config_output {
	char *name;           /* "HDMI-A-1" or "card1:Virtual-1" */
	uint32_t width;       /* 0: the connector's preferred mode */
	uint32_t height;      /* 0 with width */
	uint32_t refresh_mhz; /* 0: any refresh rate for the size */
	/*
	 * The vGPUs shown there, bottom to top, by slot: none shows nothing but
	 * the placeholder. They follow vscanoutctl assign; file_vgpus are
	 * vgpu= as the file has it, which names the vGPUs for good. Read them
	 * with config_output_vgpu() and change them with config_output_assign().
	 */
	char *vgpus[CONFIG_OUTPUT_MAX_VGPUS];
	size_t n_vgpus;
	char *file_vgpus[CONFIG_OUTPUT_MAX_VGPUS];
	size_t n_file_vgpus;
	enum config_layout layout; /* CONFIG_LAYOUT_COLUMNS unless set */
	/* With CONFIG_LAYOUT_REGIONS: each slot's region (slot i of file_vgpus'
	   order: the region key naming file_vgpus[i]). */
	struct config_region regions[CONFIG_OUTPUT_MAX_VGPUS];
	enum config_flip flip;
	uint32_t placeholder;          /* 0xRRGGBB */
	enum kms_scale scale;          /* KMS_SCALE_FIT unless set */
	bool position_set;             /* false: placed right of the others */
	int32_t x, y;                  /* with position_set */
	enum layout_rotation rotation; /* LAYOUT_ROTATION_0 unless set */
	enum config_cursor cursor;     /* CONFIG_CURSOR_SHOWN unless set */
	int line;                      /* where the section starts, for messages */
	struct wl_list link;           /* config.outputs */

	/* blank = yes: kept off. blank-schedule, when set: off inside the window. */
	bool blank;
	bool blank_schedule_set;
	struct schedule_window blank_schedule;
};

/* One [vgpu NAME] section. */
struct config_vgpu {
	char *name;
	uid_t *allow_uids; /* may be NULL */
	size_t n_allow_uids;
	gid_t *allow_gids; /* may be NULL */
	size_t n_allow_gids;
	enum config_edid edid;     /* CONFIG_EDID_MONITOR unless set */
	uint32_t poll_interval_ms; /* 0: paced by vblanks (poll = vblank, the default) */
	bool uinput;               /* false unless set */
	char *clock;               /* may be NULL: the first output showing it */
	char *qemu;                /* may be NULL: qemu= "qmp:/PATH" or "dbus:ADDRESS" */
	int qemu_console;          /* qemu-console=, -1 unless set: the first graphic one */
	char *vfio_from;           /* may be NULL: vfio-from= "qmp:/PATH" */
	int vfio_from_line;        /* where vfio-from= is, 0 if absent */
	char *mdev;                /* may be NULL: mdev=, the UUID (with vfio-from) */
	int mdev_line;             /* where mdev= is, 0 if absent */
	int clock_line;            /* where clock= is, with clock */
	int line;                  /* where the section starts, for messages */
	struct wl_list link;       /* config.vgpus */
};

/* One [touchscreen DEVICE-NAME] section. */
struct config_touchscreen {
	char *name;          /* libinput's device name */
	char *output;        /* the output's name: output=, else the first [output];
				may be NULL only when there is no [output] section */
	int line;            /* where the section starts, for messages */
	struct wl_list link; /* config.touchscreens */
};

struct config {
	enum log_level log_level;         /* LOG_LEVEL_INFO unless set */
	bool log_level_set;               /* whether the file set log-level */
	char *seat;                       /* may be NULL: libseat's default seat */
	int seat_line;                    /* where seat= is, with seat from the file */
	char *socket_path;                /* may be NULL: the default (see config_socket_path()) */
	bool control_gid_set;             /* whether the file set control-group */
	gid_t control_gid;                /* its group, valid when control_gid_set */
	struct wl_list outputs;           /* config_output.link, in file order */
	struct wl_list vgpus;             /* config_vgpu.link, in file order */
	struct wl_list touchscreens;      /* config_touchscreen.link, in file order */
	enum config_focus focus;          /* CONFIG_FOCUS_POINTER unless set */
	unsigned max_clients;             /* 0: CONFIG_MAX_CLIENTS_DEFAULT */
	unsigned max_clients_per_uid;     /* 0: CONFIG_MAX_CLIENTS_PER_UID_DEFAULT */
	struct hotkey hotkey_next_output; /* Ctrl+Alt+Right unless set */
	struct hotkey hotkey_prev_output; /* Ctrl+Alt+Left unless set */
	struct hotkey hotkey_next_vgpu;   /* none (key 0) unless set */
	struct hotkey hotkey_prev_vgpu;   /* none (key 0) unless set */
};

/* Fill `cfg` with the built-in defaults. */
void config_init(struct config *cfg);

/* Release what `cfg` holds; it is then as after config_init(). */
void config_finish(struct config *cfg);

/*
 * Move everything `src` holds into `dst` (whose old contents are released).
 * `src` is left as after config_init().
 */
void config_move(struct config *dst, struct config *src);

/*
 * Read a configuration from `file` (borrowed, read to its end) into `cfg`,
 * which must have been initialised. `name` is used in error messages.
 * Every error is logged. Returns 0, -EINVAL if the text has any error (then
 * `cfg` is left as it was), or -ENOMEM/-EIO.
 */
int config_parse(struct config *cfg, FILE *file, const char *name);

/*
 * Open `path` and parse it as config_parse() does. Returns 0, -EINVAL on
 * bad contents, or the negative errno of opening the file (logged with the
 * path).
 */
int config_load(struct config *cfg, const char *path);

/*
 * Make `cfg` drive `seat` (vscanoutd --seat, e.g. from the instance name of
 * vscanoutd@SEAT.service): without [daemon] seat the seat becomes `seat`
 * (copied); with one naming another seat, "NAME:LINE: [daemon] seat = X,
 * but vscanoutd was started for seat Y (--seat Y)" is logged (`name`: the
 * file's name) and -EINVAL returned. Returns 0, -EINVAL or -ENOMEM.
 */
int config_require_seat(struct config *cfg, const char *seat, const char *name);

/* The [vgpu NAME] section called `name`, or NULL. */
struct config_vgpu *config_find_vgpu(const struct config *cfg, const char *name);

/*
 * Whether a client with credentials uid/gid and the `n` supplementary
 * groups `supplementary` (may be NULL when n is 0) may attach to the vGPU
 * called `name`: root always may; otherwise its [vgpu] section must list
 * the uid in allow-uid, or its gid or one of its supplementary groups in
 * allow-gid. A vGPU without a section admits root only.
 */
bool config_vgpu_allows(const struct config *cfg, const char *name, uid_t uid, gid_t gid,
			const gid_t *supplementary, size_t n);

/*
 * The VFIO settings of the vGPU called `name`: those of its [vgpu] section,
 * or the defaults (0: vblank, CONFIG_EDID_MONITOR) when it has none.
 */
void config_vgpu_settings(const struct config *cfg, const char *name, uint32_t *poll_interval_ms,
			  enum config_edid *edid);

/*
 * Whether a client with credentials uid/gid and the `n` supplementary
 * groups `supplementary` (may be NULL when n is 0) may use the control
 * interface: root always may; otherwise its gid or one of its
 * supplementary groups must be [daemon] control-group. Without
 * control-group only root may.
 */
bool config_control_allows(const struct config *cfg, uid_t uid, gid_t gid,
			   const gid_t *supplementary, size_t n);

/*
 * Whether `name` is a vGPU of the configuration: a [vgpu] section or an
 * output's vgpu= value, as the file has it or as assigned since.
 */
bool config_has_vgpu(const struct config *cfg, const char *name);

/*
 * The socket path to listen on: [daemon] socket, else
 * $XDG_RUNTIME_DIR/vscanout-0, else /run/vscanout/vscanout-0. Writes into
 * buf; returns 0, or -ENAMETOOLONG when it does not fit.
 */
int config_socket_path(const struct config *cfg, char *buf, size_t size);

/*
 * The output the touchscreen called `device_name` (libinput's name) is
 * bound to: its [touchscreen] section's, else the first [output]'s. NULL
 * when neither exists: then the only (or first) lit output.
 */
const char *config_touchscreen_output(const struct config *cfg, const char *device_name);

/* The [touchscreen NAME] section called `name`, or NULL. */
struct config_touchscreen *config_find_touchscreen(const struct config *cfg, const char *name);

/*
 * The clock output of the vGPU called `name`: its [vgpu] section's clock=
 * (an [output] showing it), or NULL when unset: then the first output
 * showing it that is present.
 */
const char *config_vgpu_clock(const struct config *cfg, const char *name);

/* Whether the vGPU called `name` has uinput = yes. */
bool config_vgpu_uinput(const struct config *cfg, const char *name);

/*
 * The vGPU after (forward) or before `current` in the configuration's
 * order of vGPUs ([vgpu] sections in file order, then the outputs' vgpu=
 * values that have no section, each once: as the file has them, so that
 * assigning a vGPU elsewhere loses none, then as assigned), wrapping
 * around; the first (or last) one when current is NULL or not a vGPU of
 * the configuration. NULL when the configuration has no vGPU.
 */
const char *config_cycle_vgpu(const struct config *cfg, const char *current, bool forward);

/*
 * How many vGPUs the configuration has: the names config_cycle_vgpu() goes
 * through ([vgpu] sections, and the outputs' vGPUs, as the file has them
 * and as assigned, each once).
 */
size_t config_vgpu_count(const struct config *cfg);

/* The [output NAME] section called `name`, or NULL. */
struct config_output *config_find_output(const struct config *cfg, const char *name);

/* How many vGPUs the output shows now (0..CONFIG_OUTPUT_MAX_VGPUS). */
size_t config_output_n_vgpus(const struct config_output *co);

/*
 * The name of the vGPU in slot `i` of the output (0: the bottom one), or
 * NULL when i >= config_output_n_vgpus(co). Borrowed from co: valid until
 * the next config_output_assign() on it or the configuration's end.
 */
const char *config_output_vgpu(const struct config_output *co, size_t i);

/* The slot of the vGPU called `name` on the output, or -1 when it does not show it. */
int config_output_vgpu_index(const struct config_output *co, const char *name);

/*
 * Show the vGPU called `vgpu` (copied) in `slot` of the output, in place of
 * the one there. When the output already shows `vgpu` in another slot, the
 * two swap slots. slot == config_output_n_vgpus(co) adds a slot on top,
 * when there are fewer than CONFIG_OUTPUT_MAX_VGPUS and the output does not
 * show `vgpu` yet. With CONFIG_LAYOUT_REGIONS only the slots that have a
 * region exist. Returns 0 (the output is unchanged when it already showed
 * vgpu in that slot), -EINVAL when the slot does not exist or `vgpu` is not a
 * vGPU name, or -ENOMEM (then the output is unchanged).
 */
int config_output_assign(struct config_output *co, size_t slot, const char *vgpu);

/* The name of a layout ("columns" ...), for messages and status. */
const char *config_layout_name(enum config_layout layout);

/*
 * Parse a mode "WxH", "WxH@Hz" (Hz with up to three decimals) or
 * "preferred" (all zero). Returns 0 or -EINVAL; outputs are written only on
 * success.
 */
int config_parse_mode(const char *text, uint32_t *width, uint32_t *height, uint32_t *refresh_mhz);

/* Parse "#RRGGBB". Returns 0 or -EINVAL; `rgb` is written only on success. */
int config_parse_colour(const char *text, uint32_t *rgb);

#endif
