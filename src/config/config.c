// SPDX-License-Identifier: MIT
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

/* Longest output or vGPU name accepted. */
#define NAME_MAX_LEN 63
/* Longest touchscreen (libinput device) name accepted. */
#define DEVICE_NAME_MAX_LEN 127
/* Limits of a configured mode. */
#define MODE_MAX_SIZE        16384
#define MODE_MAX_REFRESH_MHZ 1000000

enum section_kind {
	SECTION_NONE, /* before the first section */
	SECTION_DAEMON,
	SECTION_OUTPUT,
	SECTION_VGPU,
	SECTION_TOUCHSCREEN,
	SECTION_INVALID, /* reported once; its keys are skipped */
};

/* Keys of [output], as bits for "seen" tracking. */
enum output_key {
	OUTPUT_KEY_MODE = 1 << 0,
	OUTPUT_KEY_VGPU = 1 << 1,
	OUTPUT_KEY_FLIP = 1 << 2,
	OUTPUT_KEY_PLACEHOLDER = 1 << 3,
	OUTPUT_KEY_SCALE = 1 << 4,
	OUTPUT_KEY_POSITION = 1 << 5,
	OUTPUT_KEY_ROTATION = 1 << 6,
	OUTPUT_KEY_CURSOR = 1 << 7,
	OUTPUT_KEY_BLANK = 1 << 8,
	OUTPUT_KEY_BLANK_SCHEDULE = 1 << 9,
	OUTPUT_KEY_LAYOUT = 1 << 10,
};

/* A region key of the current [output], resolved once the section ends. */
struct pending_region {
	char name[NAME_MAX_LEN + 1];
	struct config_region rect;
	int line;
};

/* Keys of [vgpu], as bits for "seen" tracking. */
enum vgpu_key {
	VGPU_KEY_ALLOW_UID = 1 << 0,
	VGPU_KEY_ALLOW_GID = 1 << 1,
	VGPU_KEY_EDID = 1 << 2,
	VGPU_KEY_POLL = 1 << 3,
	VGPU_KEY_UINPUT = 1 << 4,
	VGPU_KEY_CLOCK = 1 << 5,
	VGPU_KEY_QEMU = 1 << 6,
	VGPU_KEY_QEMU_CONSOLE = 1 << 7,
	VGPU_KEY_VFIO_FROM = 1 << 8,
	VGPU_KEY_MDEV = 1 << 9,
};

/* Longest line accepted, in bytes without its newline. */
#define LINE_MAX_LEN 65536

/* The state of one parse, which goes through the file line by line. */
struct parse {
	FILE *file;
	const char *name;
	int line; /* the line being parsed, from 1 */
	int error_count;
	bool out_of_memory;
	struct config result;
	enum section_kind section;
	struct config_output *output; /* may be NULL: the current [output] */
	unsigned output_keys_seen;
	struct pending_region regions[CONFIG_OUTPUT_MAX_VGPUS]; /* of the current [output] */
	size_t n_regions;
	int output_vgpu_line, output_layout_line; /* where vgpu= and layout= are, or 0 */
	struct config_vgpu *vgpu;                 /* may be NULL: the current [vgpu] */
	unsigned vgpu_keys_seen;
	struct config_touchscreen *touchscreen; /* may be NULL: the current [touchscreen] */
	bool touchscreen_output_seen;
	bool daemon_seen;
	bool daemon_log_level_seen, daemon_seat_seen, daemon_socket_seen;
	bool daemon_control_group_seen, daemon_focus_seen;
	bool daemon_max_clients_seen, daemon_max_clients_per_uid_seen;
	int hotkey_lines[4]; /* per hotkey key, in hotkey_keys order: 0 while not set */
};

static void parse_error(struct parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void parse_error(struct parse *p, const char *fmt, ...)
{
	char msg[512];
	va_list args;
	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	log_error("%s:%d: %s", p->name, p->line, msg);
	p->error_count++;
}

static bool valid_name(const char *name, bool allow_device)
{
	size_t len = strlen(name);
	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	const char *colon = NULL;
	for (const char *c = name; *c != '\0'; c++) {
		if (*c == ':' && allow_device && colon == NULL)
			colon = c;
		else if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
			return false;
	}
	return colon == NULL || (colon != name && colon[1] != '\0');
}

static void free_output(struct config_output *output)
{
	wl_list_remove(&output->link);
	free(output->name);
	for (size_t i = 0; i < output->n_vgpus; i++)
		free(output->vgpus[i]);
	for (size_t i = 0; i < output->n_file_vgpus; i++)
		free(output->file_vgpus[i]);
	free(output);
}

static void begin_output(struct parse *p, const char *name)
{
	if (!valid_name(name, true)) {
		parse_error(p,
			    "output name '%s' is not a connector name like HDMI-A-1 or "
			    "card1:Virtual-1",
			    name);
		p->section = SECTION_INVALID;
		return;
	}
	struct config_output *other = config_find_output(&p->result, name);
	if (other != NULL) {
		parse_error(p, "[output %s] is already defined at line %d", name, other->line);
		p->section = SECTION_INVALID;
		return;
	}
	struct config_output *output = calloc(1, sizeof(*output));
	if (output == NULL || (output->name = strdup(name)) == NULL) {
		free(output);
		p->out_of_memory = true;
		p->section = SECTION_INVALID;
		return;
	}
	output->flip = CONFIG_FLIP_DEFAULT;
	output->placeholder = CONFIG_PLACEHOLDER_DEFAULT;
	output->scale = KMS_SCALE_FIT;
	output->rotation = LAYOUT_ROTATION_0;
	output->cursor = CONFIG_CURSOR_SHOWN;
	output->layout = CONFIG_LAYOUT_COLUMNS;
	output->line = p->line;
	wl_list_insert(p->result.outputs.prev, &output->link);
	p->section = SECTION_OUTPUT;
	p->output = output;
	p->output_keys_seen = 0;
	p->n_regions = 0;
	p->output_vgpu_line = 0;
	p->output_layout_line = 0;
}

static void free_vgpu(struct config_vgpu *vgpu)
{
	wl_list_remove(&vgpu->link);
	free(vgpu->name);
	free(vgpu->allow_uids);
	free(vgpu->allow_gids);
	free(vgpu->clock);
	free(vgpu->qemu);
	free(vgpu->vfio_from);
	free(vgpu->mdev);
	free(vgpu);
}

static void begin_vgpu(struct parse *p, const char *name)
{
	if (!valid_name(name, false)) {
		parse_error(p,
			    "vgpu name '%s' is not a name (1..%d letters, digits, '-', '_', '.')",
			    name, NAME_MAX_LEN);
		p->section = SECTION_INVALID;
		return;
	}
	struct config_vgpu *other = config_find_vgpu(&p->result, name);
	if (other != NULL) {
		parse_error(p, "[vgpu %s] is already defined at line %d", name, other->line);
		p->section = SECTION_INVALID;
		return;
	}
	struct config_vgpu *vgpu = calloc(1, sizeof(*vgpu));
	if (vgpu == NULL || (vgpu->name = strdup(name)) == NULL) {
		free(vgpu);
		p->out_of_memory = true;
		p->section = SECTION_INVALID;
		return;
	}
	vgpu->edid = CONFIG_EDID_MONITOR;
	vgpu->poll_interval_ms = 0;
	vgpu->qemu_console = -1;
	vgpu->line = p->line;
	wl_list_insert(p->result.vgpus.prev, &vgpu->link);
	p->section = SECTION_VGPU;
	p->vgpu = vgpu;
	p->vgpu_keys_seen = 0;
}

/* Printable ASCII but ']', 1..DEVICE_NAME_MAX_LEN long. */
static bool valid_device_name(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > DEVICE_NAME_MAX_LEN)
		return false;
	for (const char *c = name; *c != '\0'; c++) {
		if (*c < 0x20 || *c > 0x7e || *c == ']')
			return false;
	}
	return true;
}

static void free_touchscreen(struct config_touchscreen *ts)
{
	wl_list_remove(&ts->link);
	free(ts->name);
	free(ts->output);
	free(ts);
}

static void begin_touchscreen(struct parse *p, const char *name)
{
	if (!valid_device_name(name)) {
		parse_error(p,
			    "touchscreen name '%s' is not a device name (1..%d printable "
			    "characters)",
			    name, DEVICE_NAME_MAX_LEN);
		p->section = SECTION_INVALID;
		return;
	}
	struct config_touchscreen *other = config_find_touchscreen(&p->result, name);
	if (other != NULL) {
		parse_error(p, "[touchscreen %s] is already defined at line %d", name, other->line);
		p->section = SECTION_INVALID;
		return;
	}
	struct config_touchscreen *ts = calloc(1, sizeof(*ts));
	if (ts == NULL || (ts->name = strdup(name)) == NULL) {
		free(ts);
		p->out_of_memory = true;
		p->section = SECTION_INVALID;
		return;
	}
	ts->line = p->line;
	wl_list_insert(p->result.touchscreens.prev, &ts->link);
	p->section = SECTION_TOUCHSCREEN;
	p->touchscreen = ts;
	p->touchscreen_output_seen = false;
}

/* "output NAME" or "vgpu NAME": the name, or NULL when `header` is another section. */
static char *section_argument(char *header, const char *kind)
{
	size_t len = strlen(kind);
	if (strncmp(header, kind, len) != 0 ||
	    (header[len] != '\0' && !isspace((unsigned char)header[len])))
		return NULL;
	char *name = header + len;
	while (isspace((unsigned char)*name))
		name++;
	return name;
}

/* "a, b" of at most `size` bytes: the names of `names`, comma-separated. */
static void format_names(char *const *names, size_t n, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		int w = snprintf(buf + len, size - len, "%s%s", i > 0 ? ", " : "", names[i]);
		len += w > 0 ? (size_t)w : 0;
	}
}

/*
 * Checks of an [output] that need the whole section: its region keys
 * against its vgpu= and layout=. Errors name the line of the key at fault.
 */
static void finish_output(struct parse *p)
{
	struct config_output *co = p->output;
	if (co == NULL)
		return;
	int line = p->line;
	if (p->n_regions == 0) {
		if (co->layout == CONFIG_LAYOUT_REGIONS) {
			p->line = p->output_layout_line;
			parse_error(p,
				    "[output %s] layout = regions needs a region key per vGPU of "
				    "vgpu= (region NAME = X,Y WxH)",
				    co->name);
		}
		p->line = line;
		return;
	}
	if (p->output_layout_line != 0 && co->layout != CONFIG_LAYOUT_REGIONS) {
		p->line = p->output_layout_line;
		parse_error(p,
			    "[output %s] layout %s does not go with region keys (they mean "
			    "layout = regions)",
			    co->name, config_layout_name(co->layout));
	}
	co->layout = CONFIG_LAYOUT_REGIONS;
	bool have[CONFIG_OUTPUT_MAX_VGPUS] = {false};
	char names[256];
	format_names(co->file_vgpus, co->n_file_vgpus, names, sizeof(names));
	for (size_t i = 0; i < p->n_regions; i++) {
		const struct pending_region *r = &p->regions[i];
		int slot = -1;
		for (size_t j = 0; j < co->n_file_vgpus; j++) {
			if (strcmp(co->file_vgpus[j], r->name) == 0)
				slot = (int)j;
		}
		p->line = r->line;
		if (slot < 0 && co->n_file_vgpus == 0) {
			parse_error(p, "[output %s] region %s: the output has no vgpu=", co->name,
				    r->name);
		} else if (slot < 0) {
			parse_error(p, "[output %s] region %s: '%s' is not in vgpu = %s", co->name,
				    r->name, r->name, names);
		} else {
			co->regions[slot] = r->rect;
			have[slot] = true;
		}
	}
	for (size_t j = 0; j < co->n_file_vgpus; j++) {
		if (have[j])
			continue;
		p->line = p->output_vgpu_line;
		parse_error(p,
			    "[output %s] vgpu %s has no region (with region keys, every vGPU of "
			    "vgpu= needs one: region %s = X,Y WxH)",
			    co->name, co->file_vgpus[j], co->file_vgpus[j]);
	}
	p->line = line;
}

/* The current section is over. */
static void end_section(struct parse *p)
{
	finish_output(p);
	p->output = NULL;
	p->vgpu = NULL;
	p->touchscreen = NULL;
}

/* Called with the text between '[' and ']', surrounding blanks removed. */
static void begin_section(struct parse *p, char *header)
{
	end_section(p);
	if (strcmp(header, "daemon") == 0) {
		if (p->daemon_seen) {
			parse_error(p, "[daemon] appears twice");
			p->section = SECTION_INVALID;
			return;
		}
		p->daemon_seen = true;
		p->section = SECTION_DAEMON;
		return;
	}
	char *name = section_argument(header, "output");
	if (name != NULL) {
		if (*name == '\0') {
			parse_error(p, "[output] needs a connector name, e.g. [output HDMI-A-1]");
			p->section = SECTION_INVALID;
			return;
		}
		begin_output(p, name);
		return;
	}
	name = section_argument(header, "vgpu");
	if (name != NULL) {
		if (*name == '\0') {
			parse_error(p, "[vgpu] needs a name, e.g. [vgpu kiosk-a]");
			p->section = SECTION_INVALID;
			return;
		}
		begin_vgpu(p, name);
		return;
	}
	name = section_argument(header, "touchscreen");
	if (name != NULL) {
		if (*name == '\0') {
			parse_error(p, "[touchscreen] needs a device name, e.g. [touchscreen ELAN "
				       "Touchscreen]");
			p->section = SECTION_INVALID;
			return;
		}
		begin_touchscreen(p, name);
		return;
	}
	parse_error(p,
		    "unknown section [%s] (known sections: [daemon], [output NAME], [vgpu NAME], "
		    "[touchscreen DEVICE-NAME])",
		    header);
	p->section = SECTION_INVALID;
}

static const char *const log_level_values[] = {"error", "warning", "info", "debug"};
static const enum log_level log_level_of[] = {LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO,
					      LOG_LEVEL_DEBUG};

/* Store a string value, or note that memory ran out. */
static void set_string(struct parse *p, char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
	if (*field == NULL)
		p->out_of_memory = true;
}

/* Whether getpwnam_r()/getgrnam_r() failing with err means "no such name". */
static bool not_found(int err)
{
	return err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM;
}

/*
 * A user (or group) id or name: a number, or looked up in the user (group)
 * database with getpwnam_r (getgrnam_r). Returns 0, -ENOENT when no such
 * name exists, or another negative errno when the database could not be
 * read.
 */
static int parse_id(const char *tok, bool users, unsigned *id)
{
	unsigned long n;
	char *end;
	errno = 0;
	n = strtoul(tok, &end, 10);
	if (isdigit((unsigned char)tok[0]) && *end == '\0' && errno == 0 && n < UINT32_MAX) {
		*id = (unsigned)n;
		return 0;
	}
	long hint = sysconf(users ? _SC_GETPW_R_SIZE_MAX : _SC_GETGR_R_SIZE_MAX);
	size_t size = hint > 0 ? (size_t)hint : 4096;
	for (;;) {
		char *buf = malloc(size);
		if (buf == NULL)
			return -ENOMEM;
		int ret;
		bool found = false;
		if (users) {
			struct passwd pw, *result = NULL;
			ret = getpwnam_r(tok, &pw, buf, size, &result);
			if (ret == 0 && result != NULL) {
				*id = pw.pw_uid;
				found = true;
			}
		} else {
			struct group gr, *result = NULL;
			ret = getgrnam_r(tok, &gr, buf, size, &result);
			if (ret == 0 && result != NULL) {
				*id = gr.gr_gid;
				found = true;
			}
		}
		free(buf);
		if (found)
			return 0;
		/* A group with many members needs a larger buffer. */
		if (ret == ERANGE && size < (1u << 24)) {
			size *= 2;
			continue;
		}
		return not_found(ret) ? -ENOENT : -ret;
	}
}

/*
 * Report why `key` (e.g. "[vgpu a] allow-uid") cannot take the user (group)
 * `name`, after parse_id() returned `err`.
 */
static void id_error(struct parse *p, const char *key, bool users, const char *name, int err)
{
	const char *what = users ? "user" : "group";
	if (err == -ENOMEM)
		p->out_of_memory = true;
	else if (err == -ENOENT)
		parse_error(
			p, "%s: no %s '%s' on this system (a %s id, or the name of an existing %s)",
			key, what, name, what, what);
	else
		parse_error(p, "%s: cannot look up %s '%s': %s", key, what, name, strerror(-err));
}

/* The [daemon] hotkey keys, and where each keeps its combination. */
static const char *const hotkey_keys[4] = {
	"hotkey-next-output",
	"hotkey-prev-output",
	"hotkey-next-vgpu",
	"hotkey-prev-vgpu",
};

static struct hotkey *hotkey_field(struct config *cfg, size_t i)
{
	struct hotkey *fields[4] = {&cfg->hotkey_next_output, &cfg->hotkey_prev_output,
				    &cfg->hotkey_next_vgpu, &cfg->hotkey_prev_vgpu};
	return fields[i];
}

/* The index of a hotkey key in hotkey_keys, or -1. */
static int hotkey_index(const char *key)
{
	for (size_t i = 0; i < sizeof(hotkey_keys) / sizeof(hotkey_keys[0]); i++) {
		if (strcmp(key, hotkey_keys[i]) == 0)
			return (int)i;
	}
	return -1;
}

static void parse_hotkey(struct parse *p, size_t i, const char *value)
{
	const char *key = hotkey_keys[i];
	if (p->hotkey_lines[i] != 0) {
		parse_error(p, "[daemon] %s is set twice", key);
		return;
	}
	p->hotkey_lines[i] = p->line;
	char error[256];
	if (hotkey_parse(value, hotkey_field(&p->result, i), error, sizeof(error)) < 0)
		parse_error(p, "[daemon] %s '%s' %s (or none)", key, value, error);
}

static void parse_daemon_key(struct parse *p, const char *key, const char *value)
{
	bool *seen;
	if (strcmp(key, "log-level") == 0)
		seen = &p->daemon_log_level_seen;
	else if (strcmp(key, "seat") == 0)
		seen = &p->daemon_seat_seen;
	else if (strcmp(key, "socket") == 0)
		seen = &p->daemon_socket_seen;
	else if (strcmp(key, "control-group") == 0)
		seen = &p->daemon_control_group_seen;
	else if (strcmp(key, "focus") == 0)
		seen = &p->daemon_focus_seen;
	else if (strcmp(key, "max-clients") == 0)
		seen = &p->daemon_max_clients_seen;
	else if (strcmp(key, "max-clients-per-uid") == 0)
		seen = &p->daemon_max_clients_per_uid_seen;
	else if (hotkey_index(key) >= 0) {
		parse_hotkey(p, (size_t)hotkey_index(key), value);
		return;
	} else {
		parse_error(p,
			    "unknown key '%s' in [daemon] (known keys: log-level, seat, socket, "
			    "control-group, focus, max-clients, max-clients-per-uid, "
			    "hotkey-next-output, hotkey-prev-output, hotkey-next-vgpu, "
			    "hotkey-prev-vgpu)",
			    key);
		return;
	}
	if (*seen) {
		parse_error(p, "[daemon] %s is set twice", key);
		return;
	}
	*seen = true;

	if (strcmp(key, "focus") == 0) {
		if (strcmp(value, "pointer") == 0)
			p->result.focus = CONFIG_FOCUS_POINTER;
		else if (strcmp(value, "click") == 0)
			p->result.focus = CONFIG_FOCUS_CLICK;
		else
			parse_error(p, "[daemon] focus '%s' is not one of pointer, click", value);
		return;
	}

	if (strncmp(key, "max-clients", 11) == 0) {
		char *end;
		errno = 0;
		unsigned long n = strtoul(value, &end, 10);
		if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 || n < 1 ||
		    n > CONFIG_MAX_CLIENTS_LIMIT)
			parse_error(p, "[daemon] %s '%s' is not a number from 1 to %u", key, value,
				    CONFIG_MAX_CLIENTS_LIMIT);
		else if (strcmp(key, "max-clients") == 0)
			p->result.max_clients = (unsigned)n;
		else
			p->result.max_clients_per_uid = (unsigned)n;
		return;
	}
	if (strcmp(key, "seat") == 0) {
		if (!valid_name(value, false))
			parse_error(p, "[daemon] seat '%s' is not a seat name like seat0", value);
		else {
			set_string(p, &p->result.seat, value);
			p->result.seat_line = p->line;
		}
		return;
	}
	if (strcmp(key, "socket") == 0) {
		if (value[0] != '/' || strlen(value) >= 108)
			parse_error(p,
				    "[daemon] socket '%s' is not an absolute path of at most 107 "
				    "characters",
				    value);
		else
			set_string(p, &p->result.socket_path, value);
		return;
	}
	if (strcmp(key, "control-group") == 0) {
		unsigned gid;
		int ret;
		if (value[0] == '\0' || strpbrk(value, ", \t") != NULL)
			parse_error(p, "[daemon] control-group '%s' is not one group name or id",
				    value);
		else if ((ret = parse_id(value, false, &gid)) < 0)
			id_error(p, "[daemon] control-group", false, value, ret);
		else {
			p->result.control_gid = (gid_t)gid;
			p->result.control_gid_set = true;
		}
		return;
	}
	for (size_t i = 0; i < sizeof(log_level_values) / sizeof(log_level_values[0]); i++) {
		if (strcmp(value, log_level_values[i]) == 0) {
			p->result.log_level = log_level_of[i];
			p->result.log_level_set = true;
			return;
		}
	}
	parse_error(p, "[daemon] log-level '%s' is not one of error, warning, info, debug", value);
}

/*
 * Parse a list of user or group ids or names, separated by commas and/or
 * blanks. Returns the number of entries, or -1 after reporting the first
 * bad one.
 */
static ssize_t parse_id_list(struct parse *p, const char *key, const char *value, bool users,
			     unsigned **ids)
{
	char *copy = strdup(value);
	if (copy == NULL) {
		p->out_of_memory = true;
		return -1;
	}
	size_t n = 0;
	unsigned *list = NULL;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		unsigned id;
		int ret = parse_id(tok, users, &id);
		if (ret < 0) {
			char where[NAME_MAX_LEN + 32];
			snprintf(where, sizeof(where), "[vgpu %s] %s", p->vgpu->name, key);
			id_error(p, where, users, tok, ret);
			goto error;
		}
		unsigned *grown = realloc(list, (n + 1) * sizeof(*list));
		if (grown == NULL) {
			p->out_of_memory = true;
			goto error;
		}
		list = grown;
		list[n++] = id;
	}
	free(copy);
	if (n == 0) {
		parse_error(p, "[vgpu %s] %s is empty (ids or names separated by commas)",
			    p->vgpu->name, key);
		return -1;
	}
	*ids = list;
	return (ssize_t)n;

error:
	free(list);
	free(copy);
	return -1;
}

/* "vblank" (0) or "Nms" with N in 1..CONFIG_POLL_MAX_MS. */
static int parse_poll(const char *text, uint32_t *interval_ms)
{
	if (strcmp(text, "vblank") == 0) {
		*interval_ms = 0;
		return 0;
	}
	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long ms = strtoul(text, &end, 10);
	if (errno != 0 || ms < 1 || ms > CONFIG_POLL_MAX_MS || strcmp(end, "ms") != 0)
		return -EINVAL;
	*interval_ms = (uint32_t)ms;
	return 0;
}

/* 8-4-4-4-12 hexadecimal digits, as /sys/bus/mdev/devices names them. */
static bool valid_uuid(const char *text)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (strlen(text) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == '-' ? text[i] != '-' : !isxdigit((unsigned char)text[i]))
			return false;
	return true;
}

/*
 * qemu = qmp:/ABSOLUTE/PATH or dbus:ADDRESS (a D-Bus address such as
 * unix:path=/run/...; checked for its shape only, sd-bus parses it).
 */
static void parse_qemu_address(struct parse *p, const char *value)
{
	struct config_vgpu *vgpu = p->vgpu;
	if (strncmp(value, "qmp:", 4) == 0) {
		const char *path = value + 4;
		if (path[0] != '/' || strlen(path) >= CONFIG_QEMU_PATH_MAX) {
			parse_error(p,
				    "[vgpu %s] qemu '%s': the QMP socket must be an absolute path "
				    "shorter than %d bytes",
				    vgpu->name, value, CONFIG_QEMU_PATH_MAX);
			return;
		}
	} else if (strncmp(value, "dbus:", 5) == 0) {
		const char *address = value + 5;
		if (strchr(address, ':') == NULL || strchr(address, '=') == NULL) {
			parse_error(p,
				    "[vgpu %s] qemu '%s': '%s' is not a D-Bus address like "
				    "unix:path=/run/vm.sock",
				    vgpu->name, value, address);
			return;
		}
	} else {
		parse_error(p,
			    "[vgpu %s] qemu '%s' is not qmp:/PATH (QEMU's QMP socket) or "
			    "dbus:ADDRESS (a D-Bus bus where QEMU owns org.qemu)",
			    vgpu->name, value);
		return;
	}
	set_string(p, &vgpu->qemu, value);
}

static void parse_vgpu_key(struct parse *p, const char *key, const char *value)
{
	struct config_vgpu *vgpu = p->vgpu;
	unsigned bit;
	if (strcmp(key, "allow-uid") == 0)
		bit = VGPU_KEY_ALLOW_UID;
	else if (strcmp(key, "allow-gid") == 0)
		bit = VGPU_KEY_ALLOW_GID;
	else if (strcmp(key, "edid") == 0)
		bit = VGPU_KEY_EDID;
	else if (strcmp(key, "poll") == 0)
		bit = VGPU_KEY_POLL;
	else if (strcmp(key, "uinput") == 0)
		bit = VGPU_KEY_UINPUT;
	else if (strcmp(key, "clock") == 0)
		bit = VGPU_KEY_CLOCK;
	else if (strcmp(key, "qemu") == 0)
		bit = VGPU_KEY_QEMU;
	else if (strcmp(key, "qemu-console") == 0)
		bit = VGPU_KEY_QEMU_CONSOLE;
	else if (strcmp(key, "vfio-from") == 0)
		bit = VGPU_KEY_VFIO_FROM;
	else if (strcmp(key, "mdev") == 0)
		bit = VGPU_KEY_MDEV;
	else {
		parse_error(
			p,
			"unknown key '%s' in [vgpu %s] (known keys: allow-uid, allow-gid, edid, "
			"poll, uinput, clock, qemu, qemu-console, vfio-from, mdev)",
			key, vgpu->name);
		return;
	}
	if (p->vgpu_keys_seen & bit) {
		parse_error(p, "[vgpu %s] %s is set twice", vgpu->name, key);
		return;
	}
	p->vgpu_keys_seen |= bit;

	switch (bit) {
	case VGPU_KEY_ALLOW_UID:
	case VGPU_KEY_ALLOW_GID: {
		bool users = bit == VGPU_KEY_ALLOW_UID;
		unsigned *ids = NULL;
		ssize_t n = parse_id_list(p, key, value, users, &ids);
		if (n < 0)
			break;
		if (users) {
			vgpu->allow_uids = (uid_t *)ids;
			vgpu->n_allow_uids = (size_t)n;
		} else {
			vgpu->allow_gids = (gid_t *)ids;
			vgpu->n_allow_gids = (size_t)n;
		}
		break;
	}
	case VGPU_KEY_EDID:
		if (strcmp(value, "monitor") == 0)
			vgpu->edid = CONFIG_EDID_MONITOR;
		else if (strcmp(value, "generate") == 0)
			vgpu->edid = CONFIG_EDID_GENERATE;
		else if (strcmp(value, "off") == 0)
			vgpu->edid = CONFIG_EDID_OFF;
		else
			parse_error(p, "[vgpu %s] edid '%s' is not one of monitor, generate, off",
				    vgpu->name, value);
		break;
	case VGPU_KEY_POLL:
		if (parse_poll(value, &vgpu->poll_interval_ms) < 0)
			parse_error(p,
				    "[vgpu %s] poll '%s' is not vblank or Nms with N from 1 to %d "
				    "(e.g. 16ms)",
				    vgpu->name, value, CONFIG_POLL_MAX_MS);
		break;
	case VGPU_KEY_UINPUT:
		if (strcmp(value, "yes") == 0)
			vgpu->uinput = true;
		else if (strcmp(value, "no") == 0)
			vgpu->uinput = false;
		else
			parse_error(p, "[vgpu %s] uinput '%s' is not one of yes, no", vgpu->name,
				    value);
		break;
	case VGPU_KEY_CLOCK:
		/* Whether an [output] shows this vGPU is checked once the file is read. */
		if (!valid_name(value, true)) {
			parse_error(p,
				    "[vgpu %s] clock '%s' is not an output name like HDMI-A-1 or "
				    "card1:Virtual-1",
				    vgpu->name, value);
			break;
		}
		set_string(p, &vgpu->clock, value);
		vgpu->clock_line = p->line;
		break;
	case VGPU_KEY_QEMU:
		parse_qemu_address(p, value);
		break;
	case VGPU_KEY_VFIO_FROM:
		if (strncmp(value, "qmp:/", 5) != 0 || strlen(value + 4) >= CONFIG_QEMU_PATH_MAX)
			parse_error(p,
				    "[vgpu %s] vfio-from '%s' is not qmp:/PATH (the QMP socket of "
				    "the QEMU that holds the device, an absolute path shorter than "
				    "%d bytes)",
				    vgpu->name, value, CONFIG_QEMU_PATH_MAX);
		else
			set_string(p, &vgpu->vfio_from, value);
		vgpu->vfio_from_line = p->line;
		break;
	case VGPU_KEY_MDEV:
		if (!valid_uuid(value))
			parse_error(p,
				    "[vgpu %s] mdev '%s' is not a UUID like "
				    "4b20d080-1b54-4048-85b3-a6a62d165c01",
				    vgpu->name, value);
		else
			set_string(p, &vgpu->mdev, value);
		vgpu->mdev_line = p->line;
		break;
	case VGPU_KEY_QEMU_CONSOLE: {
		char *end;
		errno = 0;
		long n = strtol(value, &end, 10);
		if (!isdigit((unsigned char)value[0]) || errno != 0 || *end != '\0' || n < 0 ||
		    n > CONFIG_QEMU_CONSOLE_MAX)
			parse_error(p, "[vgpu %s] qemu-console '%s' is not a number from 0 to %d",
				    vgpu->name, value, CONFIG_QEMU_CONSOLE_MAX);
		else
			vgpu->qemu_console = (int)n;
		break;
	}
	}
}

/* One integer of a position, from CONFIG_POSITION_MIN to CONFIG_POSITION_MAX. */
static const char *parse_coordinate(const char *text, int32_t *v)
{
	while (*text == ' ' || *text == '\t')
		text++;
	if (!isdigit((unsigned char)text[0]) &&
	    !(text[0] == '-' && isdigit((unsigned char)text[1])))
		return NULL;
	char *end;
	errno = 0;
	long n = strtol(text, &end, 10);
	if (errno != 0 || n < CONFIG_POSITION_MIN || n > CONFIG_POSITION_MAX)
		return NULL;
	while (*end == ' ' || *end == '\t')
		end++;
	*v = (int32_t)n;
	return end;
}

/* "X,Y"; blanks around the comma are allowed. */
static int parse_position(const char *text, int32_t *x, int32_t *y)
{
	int32_t px, py;
	const char *c = parse_coordinate(text, &px);
	if (c == NULL || *c != ',')
		return -EINVAL;
	c = parse_coordinate(c + 1, &py);
	if (c == NULL || *c != '\0')
		return -EINVAL;
	*x = px;
	*y = py;
	return 0;
}

static int parse_rotation(const char *text, enum layout_rotation *rotation)
{
	static const char *const names[] = {"0", "90", "180", "270"};
	for (int i = 0; i < 4; i++) {
		if (strcmp(text, names[i]) == 0)
			return layout_rotation_from_degrees(i * 90, rotation);
	}
	return -EINVAL;
}

static void parse_touchscreen_key(struct parse *p, const char *key, const char *value)
{
	struct config_touchscreen *ts = p->touchscreen;
	if (strcmp(key, "output") != 0) {
		parse_error(p, "unknown key '%s' in [touchscreen %s] (known keys: output)", key,
			    ts->name);
		return;
	}
	if (p->touchscreen_output_seen) {
		parse_error(p, "[touchscreen %s] output is set twice", ts->name);
		return;
	}
	p->touchscreen_output_seen = true;
	if (!valid_name(value, true)) {
		parse_error(p,
			    "[touchscreen %s] output '%s' is not a connector name like HDMI-A-1 "
			    "or card1:Virtual-1",
			    ts->name, value);
		return;
	}
	set_string(p, &ts->output, value);
}

static const char *const layout_names[] = {
	[CONFIG_LAYOUT_COLUMNS] = "columns", [CONFIG_LAYOUT_ROWS] = "rows",
	[CONFIG_LAYOUT_GRID] = "grid",       [CONFIG_LAYOUT_PIP] = "pip",
	[CONFIG_LAYOUT_REGIONS] = "regions",
};

const char *config_layout_name(enum config_layout layout)
{
	if ((size_t)layout >= sizeof(layout_names) / sizeof(layout_names[0]))
		return "unknown";
	return layout_names[layout];
}

/*
 * vgpu = a, b, c: 1..CONFIG_OUTPUT_MAX_VGPUS names separated by commas,
 * blanks around them allowed, each once.
 */
static void parse_output_vgpus(struct parse *p, const char *value)
{
	struct config_output *output = p->output;
	char *copy = strdup(value);
	if (copy == NULL) {
		p->out_of_memory = true;
		return;
	}
	char *names[CONFIG_OUTPUT_MAX_VGPUS];
	size_t n = 0;
	bool ok = true;
	for (char *tok = copy, *next; ok && tok != NULL; tok = next) {
		next = strchr(tok, ',');
		if (next != NULL)
			*next++ = '\0';
		while (*tok == ' ' || *tok == '\t')
			tok++;
		size_t len = strlen(tok);
		while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			tok[--len] = '\0';
		if (!valid_name(tok, false)) {
			parse_error(p,
				    "[output %s] vgpu '%s' is not a name (1..%d letters, digits, "
				    "'-', '_', '.'; several are separated by commas)",
				    output->name, tok, NAME_MAX_LEN);
			ok = false;
		} else if (n == CONFIG_OUTPUT_MAX_VGPUS) {
			parse_error(p, "[output %s] vgpu '%s' names more than %d vGPUs",
				    output->name, value, CONFIG_OUTPUT_MAX_VGPUS);
			ok = false;
		} else {
			for (size_t i = 0; i < n; i++) {
				if (strcmp(names[i], tok) == 0) {
					parse_error(p, "[output %s] vgpu '%s' names %s twice",
						    output->name, value, tok);
					ok = false;
				}
			}
			names[n++] = tok;
		}
	}
	for (size_t i = 0; ok && i < n; i++) {
		output->vgpus[i] = strdup(names[i]);
		output->file_vgpus[i] = strdup(names[i]);
		output->n_vgpus = output->n_file_vgpus = i + 1;
		if (output->vgpus[i] == NULL || output->file_vgpus[i] == NULL)
			p->out_of_memory = true;
	}
	free(copy);
	p->output_vgpu_line = p->line;
}

/* An unsigned integer from min to max, then blanks. */
static const char *parse_bounded(const char *text, unsigned long min, unsigned long max,
				 uint32_t *v)
{
	while (*text == ' ' || *text == '\t')
		text++;
	if (!isdigit((unsigned char)text[0]))
		return NULL;
	char *end;
	errno = 0;
	unsigned long n = strtoul(text, &end, 10);
	if (errno != 0 || n < min || n > max)
		return NULL;
	while (*end == ' ' || *end == '\t')
		end++;
	*v = (uint32_t)n;
	return end;
}

/* "X,Y WxH", inside 0..CONFIG_REGION_MAX both ways. */
static int parse_region(const char *text, struct config_region *region)
{
	uint32_t v[4];
	const char *c = parse_bounded(text, 0, CONFIG_REGION_MAX - 1, &v[0]);
	if (c == NULL || *c != ',')
		return -EINVAL;
	const char *y = c + 1;
	c = parse_bounded(y, 0, CONFIG_REGION_MAX - 1, &v[1]);
	/* WxH follows Y after at least one blank. */
	if (c == NULL || c == y || (c[-1] != ' ' && c[-1] != '\t'))
		return -EINVAL;
	c = parse_bounded(c, 1, CONFIG_REGION_MAX, &v[2]);
	if (c == NULL || *c != 'x' || c[-1] == ' ' || c[-1] == '\t' ||
	    !isdigit((unsigned char)c[1]))
		return -EINVAL;
	c = parse_bounded(c + 1, 1, CONFIG_REGION_MAX, &v[3]);
	if (c == NULL || *c != '\0')
		return -EINVAL;
	if (v[0] + v[2] > CONFIG_REGION_MAX || v[1] + v[3] > CONFIG_REGION_MAX)
		return -ERANGE;
	region->x = (int32_t)v[0];
	region->y = (int32_t)v[1];
	region->width = v[2];
	region->height = v[3];
	return 0;
}

/* region NAME = X,Y WxH; `name` is what follows "region" in the key. */
static void parse_output_region(struct parse *p, const char *name, const char *value)
{
	struct config_output *output = p->output;
	while (*name == ' ' || *name == '\t')
		name++;
	if (!valid_name(name, false)) {
		parse_error(p,
			    "[output %s] region '%s' needs a vGPU name of vgpu= (e.g. region "
			    "kiosk-a = 0,0 960x1080)",
			    output->name, name);
		return;
	}
	for (size_t i = 0; i < p->n_regions; i++) {
		if (strcmp(p->regions[i].name, name) == 0) {
			parse_error(p, "[output %s] region %s is set twice", output->name, name);
			return;
		}
	}
	if (p->n_regions == CONFIG_OUTPUT_MAX_VGPUS) {
		parse_error(p,
			    "[output %s] region %s: more than %d regions (one per vGPU of vgpu=)",
			    output->name, name, CONFIG_OUTPUT_MAX_VGPUS);
		return;
	}
	struct pending_region *r = &p->regions[p->n_regions];
	int ret = parse_region(value, &r->rect);
	if (ret == -ERANGE) {
		parse_error(p, "[output %s] region %s '%s' reaches past %d pixels", output->name,
			    name, value, CONFIG_REGION_MAX);
		return;
	}
	if (ret < 0) {
		parse_error(p,
			    "[output %s] region %s '%s' is not X,Y WxH with X, Y from 0 and W, H "
			    "from 1 (e.g. 0,0 960x1080)",
			    output->name, name, value);
		return;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->line = p->line;
	p->n_regions++;
}

static void parse_output_key(struct parse *p, const char *key, const char *value)
{
	struct config_output *output = p->output;
	unsigned bit;
	if (strncmp(key, "region", 6) == 0 && (key[6] == '\0' || key[6] == ' ' || key[6] == '\t')) {
		parse_output_region(p, key + 6, value);
		return;
	}
	if (strcmp(key, "mode") == 0)
		bit = OUTPUT_KEY_MODE;
	else if (strcmp(key, "vgpu") == 0)
		bit = OUTPUT_KEY_VGPU;
	else if (strcmp(key, "flip") == 0)
		bit = OUTPUT_KEY_FLIP;
	else if (strcmp(key, "placeholder") == 0)
		bit = OUTPUT_KEY_PLACEHOLDER;
	else if (strcmp(key, "scale") == 0)
		bit = OUTPUT_KEY_SCALE;
	else if (strcmp(key, "position") == 0)
		bit = OUTPUT_KEY_POSITION;
	else if (strcmp(key, "rotation") == 0)
		bit = OUTPUT_KEY_ROTATION;
	else if (strcmp(key, "cursor") == 0)
		bit = OUTPUT_KEY_CURSOR;
	else if (strcmp(key, "blank") == 0)
		bit = OUTPUT_KEY_BLANK;
	else if (strcmp(key, "blank-schedule") == 0)
		bit = OUTPUT_KEY_BLANK_SCHEDULE;
	else if (strcmp(key, "layout") == 0)
		bit = OUTPUT_KEY_LAYOUT;
	else {
		parse_error(p,
			    "unknown key '%s' in [output %s] (known keys: mode, vgpu, layout, "
			    "region NAME, flip, placeholder, scale, position, rotation, cursor, "
			    "blank, blank-schedule)",
			    key, output->name);
		return;
	}
	if (p->output_keys_seen & bit) {
		parse_error(p, "[output %s] %s is set twice", output->name, key);
		return;
	}
	p->output_keys_seen |= bit;

	switch (bit) {
	case OUTPUT_KEY_MODE:
		if (config_parse_mode(value, &output->width, &output->height,
				      &output->refresh_mhz) < 0)
			parse_error(p,
				    "[output %s] mode '%s' is not WxH, WxH@Hz or preferred (e.g. "
				    "1920x1080@60; sizes 1..%d, refresh up to %d Hz)",
				    output->name, value, MODE_MAX_SIZE,
				    MODE_MAX_REFRESH_MHZ / 1000);
		break;
	case OUTPUT_KEY_VGPU:
		parse_output_vgpus(p, value);
		break;
	case OUTPUT_KEY_LAYOUT: {
		size_t i = 0, n = sizeof(layout_names) / sizeof(layout_names[0]);
		while (i < n && strcmp(value, layout_names[i]) != 0)
			i++;
		if (i == n) {
			parse_error(p,
				    "[output %s] layout '%s' is not one of columns, rows, grid, "
				    "pip, regions",
				    output->name, value);
			break;
		}
		output->layout = (enum config_layout)i;
		p->output_layout_line = p->line;
		break;
	}
	case OUTPUT_KEY_FLIP:
		if (strcmp(value, "async") == 0)
			output->flip = CONFIG_FLIP_ASYNC;
		else if (strcmp(value, "vsync") == 0)
			output->flip = CONFIG_FLIP_VSYNC;
		else
			parse_error(p, "[output %s] flip '%s' is not one of async, vsync",
				    output->name, value);
		break;
	case OUTPUT_KEY_PLACEHOLDER:
		if (config_parse_colour(value, &output->placeholder) < 0)
			parse_error(p, "[output %s] placeholder '%s' is not a colour like #202020",
				    output->name, value);
		break;
	case OUTPUT_KEY_SCALE:
		if (kms_scale_from_name(value, &output->scale) < 0)
			parse_error(p, "[output %s] scale '%s' is not one of fit, center, stretch",
				    output->name, value);
		break;
	case OUTPUT_KEY_POSITION:
		if (parse_position(value, &output->x, &output->y) < 0)
			parse_error(p,
				    "[output %s] position '%s' is not X,Y with integers from %d to "
				    "%d (e.g. 1920,0)",
				    output->name, value, CONFIG_POSITION_MIN, CONFIG_POSITION_MAX);
		else
			output->position_set = true;
		break;
	case OUTPUT_KEY_ROTATION:
		if (parse_rotation(value, &output->rotation) < 0)
			parse_error(p, "[output %s] rotation '%s' is not one of 0, 90, 180, 270",
				    output->name, value);
		break;
	case OUTPUT_KEY_CURSOR:
		if (strcmp(value, "shown") == 0)
			output->cursor = CONFIG_CURSOR_SHOWN;
		else if (strcmp(value, "hidden") == 0)
			output->cursor = CONFIG_CURSOR_HIDDEN;
		else
			parse_error(p, "[output %s] cursor '%s' is not one of shown, hidden",
				    output->name, value);
		break;
	case OUTPUT_KEY_BLANK:
		if (strcmp(value, "yes") == 0)
			output->blank = true;
		else if (strcmp(value, "no") == 0)
			output->blank = false;
		else
			parse_error(p, "[output %s] blank '%s' is not one of yes, no", output->name,
				    value);
		break;
	case OUTPUT_KEY_BLANK_SCHEDULE:
		if (schedule_parse(value, &output->blank_schedule) < 0)
			parse_error(p,
				    "[output %s] blank-schedule '%s' is not HH:MM-HH:MM with HH "
				    "00..23, MM 00..59 and two different times (e.g. 22:00-07:00)",
				    output->name, value);
		else
			output->blank_schedule_set = true;
		break;
	}
}

/*
 * The value without an inline comment: from whitespace followed by '#' or
 * ';' to the end of the line, with the whitespace before it. A value may
 * itself start with '#' (placeholder = #202020). Returns a new string, or
 * NULL when memory runs out.
 */
static char *strip_inline_comment(const char *value)
{
	char *text = strdup(value);
	if (text == NULL)
		return NULL;
	for (char *c = text; *c != '\0'; c++) {
		if ((c[0] == ' ' || c[0] == '\t') && (c[1] == '#' || c[1] == ';')) {
			*c = '\0';
			break;
		}
	}
	size_t len = strlen(text);
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		text[--len] = '\0';
	return text;
}

static void handle_key(struct parse *p, const char *key, const char *raw_value)
{
	char *value = strip_inline_comment(raw_value);
	if (value == NULL) {
		p->out_of_memory = true;
		return;
	}

	switch (p->section) {
	case SECTION_NONE:
		parse_error(p, "key '%s' is outside any section", key);
		break;
	case SECTION_DAEMON:
		parse_daemon_key(p, key, value);
		break;
	case SECTION_OUTPUT:
		parse_output_key(p, key, value);
		break;
	case SECTION_VGPU:
		parse_vgpu_key(p, key, value);
		break;
	case SECTION_TOUCHSCREEN:
		parse_touchscreen_key(p, key, value);
		break;
	case SECTION_INVALID:
		break;
	}
	free(value);
}

int config_parse_mode(const char *text, uint32_t *width, uint32_t *height, uint32_t *refresh_mhz)
{
	if (strcmp(text, "preferred") == 0) {
		*width = *height = *refresh_mhz = 0;
		return 0;
	}

	const char *c = text;
	unsigned long values[2];
	for (int i = 0; i < 2; i++) {
		if (!isdigit((unsigned char)*c))
			return -EINVAL;
		char *end;
		errno = 0;
		values[i] = strtoul(c, &end, 10);
		if (errno != 0 || values[i] < 1 || values[i] > MODE_MAX_SIZE)
			return -EINVAL;
		c = end;
		if (i == 0 && *c++ != 'x')
			return -EINVAL;
	}

	unsigned long mhz = 0;
	if (*c == '@') {
		c++;
		if (!isdigit((unsigned char)*c))
			return -EINVAL;
		unsigned long hz = 0;
		while (isdigit((unsigned char)*c)) {
			hz = hz * 10 + (unsigned long)(*c++ - '0');
			if (hz > MODE_MAX_REFRESH_MHZ / 1000)
				return -EINVAL;
		}
		mhz = hz * 1000;
		if (*c == '.') {
			c++;
			unsigned long scale = 100;
			if (!isdigit((unsigned char)*c))
				return -EINVAL;
			while (isdigit((unsigned char)*c)) {
				if (scale == 0)
					return -EINVAL; /* more than three decimals */
				mhz += (unsigned long)(*c++ - '0') * scale;
				scale /= 10;
			}
		}
		if (mhz == 0 || mhz > MODE_MAX_REFRESH_MHZ)
			return -EINVAL;
	}
	if (*c != '\0')
		return -EINVAL;

	*width = (uint32_t)values[0];
	*height = (uint32_t)values[1];
	*refresh_mhz = (uint32_t)mhz;
	return 0;
}

int config_parse_colour(const char *text, uint32_t *rgb)
{
	if (text[0] != '#' || strlen(text) != 7)
		return -EINVAL;
	uint32_t value = 0;
	for (int i = 1; i < 7; i++) {
		if (!isxdigit((unsigned char)text[i]))
			return -EINVAL;
		char digit[2] = {text[i], '\0'};
		value = value << 4 | (uint32_t)strtoul(digit, NULL, 16);
	}
	*rgb = value;
	return 0;
}

struct config_output *config_find_output(const struct config *cfg, const char *name)
{
	struct config_output *output;
	wl_list_for_each (output, &cfg->outputs, link) {
		if (strcmp(output->name, name) == 0)
			return output;
	}
	return NULL;
}

size_t config_output_n_vgpus(const struct config_output *co)
{
	return co->n_vgpus;
}

const char *config_output_vgpu(const struct config_output *co, size_t i)
{
	return i < co->n_vgpus ? co->vgpus[i] : NULL;
}

int config_output_vgpu_index(const struct config_output *co, const char *name)
{
	for (size_t i = 0; i < co->n_vgpus; i++) {
		if (strcmp(co->vgpus[i], name) == 0)
			return (int)i;
	}
	return -1;
}

int config_output_assign(struct config_output *co, size_t slot, const char *vgpu)
{
	if (!valid_name(vgpu, false) || slot > co->n_vgpus || slot >= CONFIG_OUTPUT_MAX_VGPUS)
		return -EINVAL;
	if (co->layout == CONFIG_LAYOUT_REGIONS && slot >= co->n_file_vgpus)
		return -EINVAL; /* a slot without a region */
	int at = config_output_vgpu_index(co, vgpu);
	if (at == (int)slot)
		return 0;
	if (at >= 0) {
		if (slot == co->n_vgpus)
			return -EINVAL; /* it would be shown twice */
		char *other = co->vgpus[slot];
		co->vgpus[slot] = co->vgpus[at];
		co->vgpus[at] = other;
		return 0;
	}
	char *copy = strdup(vgpu);
	if (copy == NULL)
		return -ENOMEM;
	if (slot == co->n_vgpus)
		co->n_vgpus++;
	else
		free(co->vgpus[slot]);
	co->vgpus[slot] = copy;
	return 0;
}

struct config_vgpu *config_find_vgpu(const struct config *cfg, const char *name)
{
	struct config_vgpu *vgpu;
	wl_list_for_each (vgpu, &cfg->vgpus, link) {
		if (strcmp(vgpu->name, name) == 0)
			return vgpu;
	}
	return NULL;
}

struct config_touchscreen *config_find_touchscreen(const struct config *cfg, const char *name)
{
	struct config_touchscreen *ts;
	wl_list_for_each (ts, &cfg->touchscreens, link) {
		if (strcmp(ts->name, name) == 0)
			return ts;
	}
	return NULL;
}

const char *config_touchscreen_output(const struct config *cfg, const char *device_name)
{
	const struct config_touchscreen *ts = config_find_touchscreen(cfg, device_name);
	if (ts != NULL && ts->output != NULL)
		return ts->output;
	if (wl_list_empty(&cfg->outputs))
		return NULL;
	const struct config_output *first = wl_container_of(cfg->outputs.next, first, link);
	return first->name;
}

const char *config_vgpu_clock(const struct config *cfg, const char *name)
{
	const struct config_vgpu *vgpu = config_find_vgpu(cfg, name);
	return vgpu != NULL ? vgpu->clock : NULL;
}

bool config_vgpu_uinput(const struct config *cfg, const char *name)
{
	const struct config_vgpu *vgpu = config_find_vgpu(cfg, name);
	return vgpu != NULL && vgpu->uinput;
}

/*
 * The i-th of the outputs' vGPU names: every output's file_vgpus in order,
 * then every output's vgpus. NULL past the last.
 */
static const char *output_vgpu_at(const struct config *cfg, size_t i)
{
	const struct config_output *output;
	wl_list_for_each (output, &cfg->outputs, link) {
		if (i < output->n_file_vgpus)
			return output->file_vgpus[i];
		i -= output->n_file_vgpus;
	}
	wl_list_for_each (output, &cfg->outputs, link) {
		if (i < output->n_vgpus)
			return output->vgpus[i];
		i -= output->n_vgpus;
	}
	return NULL;
}

/*
 * The index-th vGPU name in the configuration's order (see
 * config_cycle_vgpu()), or NULL: the [vgpu] sections, then the names only
 * outputs give, first as the file has them (vscanoutctl assign may have
 * moved them since), then as assigned, each once.
 */
static const char *vgpu_at(const struct config *cfg, size_t index)
{
	size_t n = 0;
	const struct config_vgpu *vgpu;
	wl_list_for_each (vgpu, &cfg->vgpus, link) {
		if (n++ == index)
			return vgpu->name;
	}
	const char *name;
	for (size_t i = 0; (name = output_vgpu_at(cfg, i)) != NULL; i++) {
		if (config_find_vgpu(cfg, name) != NULL)
			continue;
		bool earlier = false;
		for (size_t j = 0; j < i && !earlier; j++)
			earlier = strcmp(output_vgpu_at(cfg, j), name) == 0;
		if (!earlier && n++ == index)
			return name;
	}
	return NULL;
}

size_t config_vgpu_count(const struct config *cfg)
{
	size_t count = 0;
	while (vgpu_at(cfg, count) != NULL)
		count++;
	return count;
}

const char *config_cycle_vgpu(const struct config *cfg, const char *current, bool forward)
{
	size_t count = 0, at = SIZE_MAX;
	for (const char *name; (name = vgpu_at(cfg, count)) != NULL; count++) {
		if (current != NULL && strcmp(name, current) == 0)
			at = count;
	}
	if (count == 0)
		return NULL;
	if (at == SIZE_MAX)
		return vgpu_at(cfg, forward ? 0 : count - 1);
	return vgpu_at(cfg, forward ? (at + 1) % count : (at + count - 1) % count);
}

bool config_has_vgpu(const struct config *cfg, const char *name)
{
	if (config_find_vgpu(cfg, name) != NULL)
		return true;
	const char *other;
	for (size_t i = 0; (other = output_vgpu_at(cfg, i)) != NULL; i++) {
		if (strcmp(other, name) == 0)
			return true;
	}
	return false;
}

bool config_vgpu_allows(const struct config *cfg, const char *name, uid_t uid, gid_t gid,
			const gid_t *supplementary, size_t n)
{
	if (uid == 0)
		return true;
	const struct config_vgpu *vgpu = config_find_vgpu(cfg, name);
	if (vgpu == NULL)
		return false;
	for (size_t i = 0; i < vgpu->n_allow_uids; i++) {
		if (vgpu->allow_uids[i] == uid)
			return true;
	}
	for (size_t i = 0; i < vgpu->n_allow_gids; i++) {
		if (vgpu->allow_gids[i] == gid)
			return true;
		for (size_t j = 0; j < n; j++) {
			if (vgpu->allow_gids[i] == supplementary[j])
				return true;
		}
	}
	return false;
}

void config_vgpu_settings(const struct config *cfg, const char *name, uint32_t *poll_interval_ms,
			  enum config_edid *edid)
{
	const struct config_vgpu *vgpu = config_find_vgpu(cfg, name);
	*poll_interval_ms = vgpu != NULL ? vgpu->poll_interval_ms : 0;
	*edid = vgpu != NULL ? vgpu->edid : CONFIG_EDID_MONITOR;
}

bool config_control_allows(const struct config *cfg, uid_t uid, gid_t gid,
			   const gid_t *supplementary, size_t n)
{
	if (uid == 0)
		return true;
	if (!cfg->control_gid_set)
		return false;
	if (gid == cfg->control_gid)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (supplementary[i] == cfg->control_gid)
			return true;
	}
	return false;
}

int config_socket_path(const struct config *cfg, char *buf, size_t size)
{
	int n;
	const char *runtime_dir = getenv("XDG_RUNTIME_DIR");
	if (cfg->socket_path != NULL)
		n = snprintf(buf, size, "%s", cfg->socket_path);
	else if (runtime_dir != NULL && runtime_dir[0] == '/')
		n = snprintf(buf, size, "%s/vscanout-0", runtime_dir);
	else
		n = snprintf(buf, size, "/run/vscanout/vscanout-0");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->focus = CONFIG_FOCUS_POINTER;
	int ret =
		hotkey_parse(CONFIG_HOTKEY_NEXT_OUTPUT_DEFAULT, &cfg->hotkey_next_output, NULL, 0);
	ret |= hotkey_parse(CONFIG_HOTKEY_PREV_OUTPUT_DEFAULT, &cfg->hotkey_prev_output, NULL, 0);
	assert(ret == 0);
	(void)ret;
	wl_list_init(&cfg->outputs);
	wl_list_init(&cfg->vgpus);
	wl_list_init(&cfg->touchscreens);
}

void config_finish(struct config *cfg)
{
	struct config_output *output, *tmp;
	wl_list_for_each_safe (output, tmp, &cfg->outputs, link)
		free_output(output);
	struct config_vgpu *vgpu, *vtmp;
	wl_list_for_each_safe (vgpu, vtmp, &cfg->vgpus, link)
		free_vgpu(vgpu);
	struct config_touchscreen *ts, *ttmp;
	wl_list_for_each_safe (ts, ttmp, &cfg->touchscreens, link)
		free_touchscreen(ts);
	free(cfg->seat);
	free(cfg->socket_path);
	config_init(cfg);
}

void config_move(struct config *dst, struct config *src)
{
	config_finish(dst);
	/* Every field moves; the lists are relinked to their new heads. */
	*dst = *src;
	wl_list_init(&dst->outputs);
	wl_list_init(&dst->vgpus);
	wl_list_init(&dst->touchscreens);
	wl_list_insert_list(&dst->outputs, &src->outputs);
	wl_list_insert_list(&dst->vgpus, &src->vgpus);
	wl_list_insert_list(&dst->touchscreens, &src->touchscreens);
	config_init(src);
}

/* A [vgpu]'s clock must be an output that shows it. */
static void check_vgpu_clock(struct parse *p, const struct config_vgpu *vgpu)
{
	const struct config_output *co = config_find_output(&p->result, vgpu->clock);
	if (co != NULL && config_output_vgpu_index(co, vgpu->name) >= 0)
		return;
	char shown[256] = "";
	size_t len = 0;
	wl_list_for_each (co, &p->result.outputs, link) {
		if (config_output_vgpu_index(co, vgpu->name) < 0 || len >= sizeof(shown))
			continue;
		int n = snprintf(shown + len, sizeof(shown) - len, "%s%s", len > 0 ? ", " : "",
				 co->name);
		len += n > 0 ? (size_t)n : 0;
	}
	p->line = vgpu->clock_line;
	const char *what = config_find_output(&p->result, vgpu->clock) == NULL
				   ? "has no [output] section"
				   : "is an output that does not show this vgpu";
	if (len == 0)
		parse_error(p, "[vgpu %s] clock '%s' %s (no [output] section has vgpu = %s)",
			    vgpu->name, vgpu->clock, what, vgpu->name);
	else
		parse_error(p, "[vgpu %s] clock '%s' %s (allowed: %s)", vgpu->name, vgpu->clock,
			    what, shown);
}

/* vfio-from= needs mdev= (and the other way round), and is not qemu=. */
static void check_vgpu_vfio_from(struct parse *p, const struct config_vgpu *vgpu)
{
	/* A key given with a bad value was reported where it is. */
	p->line = vgpu->vfio_from != NULL ? vgpu->vfio_from_line : vgpu->line;
	if (vgpu->vfio_from_line == 0 && vgpu->mdev != NULL)
		parse_error(p, "[vgpu %s] mdev needs vfio-from (the QMP socket of its QEMU)",
			    vgpu->name);
	else if (vgpu->vfio_from != NULL && vgpu->mdev_line == 0)
		parse_error(p, "[vgpu %s] vfio-from needs mdev (the UUID of the mediated device)",
			    vgpu->name);
	if (vgpu->vfio_from != NULL && vgpu->qemu != NULL)
		parse_error(p,
			    "[vgpu %s] has both qemu and vfio-from: one source feeds a vGPU (take "
			    "the device with vfio-from, or show QEMU's display with qemu)",
			    vgpu->name);
}

/* Checks across sections, once the whole file is read. */
static void check_whole(struct parse *p)
{
	struct config_vgpu *vgpu;
	wl_list_for_each (vgpu, &p->result.vgpus, link) {
		if (vgpu->clock != NULL)
			check_vgpu_clock(p, vgpu);
		check_vgpu_vfio_from(p, vgpu);
	}
	struct config_touchscreen *ts;
	wl_list_for_each (ts, &p->result.touchscreens, link) {
		if (wl_list_empty(&p->result.outputs))
			break;
		p->line = ts->line;
		if (ts->output == NULL) {
			const struct config_output *first =
				wl_container_of(p->result.outputs.next, first, link);
			set_string(p, &ts->output, first->name);
		} else if (config_find_output(&p->result, ts->output) == NULL) {
			parse_error(p, "[touchscreen %s] output '%s' has no [output %s] section",
				    ts->name, ts->output, ts->output);
		}
	}
	/* No combination may do two things. */
	for (size_t i = 0; i < 4; i++) {
		for (size_t j = i + 1; j < 4; j++) {
			const struct hotkey *a = hotkey_field(&p->result, i);
			const struct hotkey *b = hotkey_field(&p->result, j);
			if (a->key == 0 || a->key != b->key || a->modifiers != b->modifiers)
				continue;
			char text[64];
			hotkey_format(a, text, sizeof(text));
			p->line = p->hotkey_lines[i] > p->hotkey_lines[j] ? p->hotkey_lines[i]
									  : p->hotkey_lines[j];
			parse_error(p, "[daemon] %s and %s are both %s", hotkey_keys[i],
				    hotkey_keys[j], text);
		}
	}
}

/*
 * The file is read here rather than by an INI library: libinih cuts lines
 * at a length fixed when it is built (200 bytes in Debian's) and parses the
 * rest of a long line as a line of its own, and the format is small:
 *
 *   ; or # at the start of a line: a comment
 *   [section]             (a comment may follow the ']')
 *   key = value           (or key: value; ' #' or ' ;' starts a comment,
 *                         see strip_inline_comment())
 *
 * Blanks around keys, values and section names are dropped, as is a UTF-8
 * byte order mark before the first line.
 */

/*
 * Read the next line of the file into buf (LINE_MAX_LEN + 1 bytes),
 * without its newline, NUL-terminated. Returns its length, -1 at the end of
 * the file, or -2 when the line is longer than LINE_MAX_LEN (then it was
 * read to its end and *len is its length).
 */
static int read_line(FILE *file, char *buf, size_t *len)
{
	size_t n = 0;
	int c;
	bool any = false;
	while ((c = getc(file)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (n < LINE_MAX_LEN)
			buf[n] = (char)c;
		n++;
	}
	*len = n;
	if (!any)
		return -1;
	if (n > LINE_MAX_LEN)
		return -2;
	buf[n] = '\0';
	return 0;
}

static char *skip_blanks(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static void drop_trailing_blanks(char *s)
{
	size_t len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
}

/* One line of len bytes: a comment, a section header or a key. */
static void parse_line(struct parse *p, char *line, size_t len)
{
	if (memchr(line, '\0', len) != NULL) {
		parse_error(p, "the line contains a NUL byte");
		return;
	}
	if (p->line == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	char *start = skip_blanks(line);
	drop_trailing_blanks(start);
	if (*start == '\0' || *start == '#' || *start == ';')
		return;

	if (*start == '[') {
		char *end = strchr(start, ']');
		char *rest = end != NULL ? skip_blanks(end + 1) : NULL;
		if (end == NULL || (*rest != '\0' && *rest != '#' && *rest != ';')) {
			parse_error(p, "syntax error: expected '[section]' or 'key = value'");
			end_section(p);
			p->section = SECTION_INVALID;
			return;
		}
		*end = '\0';
		char *header = skip_blanks(start + 1);
		drop_trailing_blanks(header);
		begin_section(p, header);
		return;
	}

	char *equals = strpbrk(start, "=:");
	if (equals == NULL) {
		parse_error(p, "syntax error: expected '[section]' or 'key = value'");
		return;
	}
	*equals = '\0';
	drop_trailing_blanks(start);
	handle_key(p, start, skip_blanks(equals + 1));
}

int config_parse(struct config *cfg, FILE *file, const char *name)
{
	struct parse p = {
		.file = file,
		.name = name,
		.section = SECTION_NONE,
	};
	config_init(&p.result);

	char *line = malloc(LINE_MAX_LEN + 1);
	if (line == NULL)
		p.out_of_memory = true;
	size_t len;
	int ret;
	while (line != NULL && !p.out_of_memory && (ret = read_line(file, line, &len)) != -1) {
		p.line++;
		if (ret == -2)
			parse_error(&p, "the line is too long (%zu bytes, at most %d)", len,
				    LINE_MAX_LEN);
		else
			parse_line(&p, line, len);
	}
	free(line);
	end_section(&p);
	check_whole(&p);

	int result = 0;
	if (p.out_of_memory) {
		log_error("%s: out of memory while reading the configuration", name);
		result = -ENOMEM;
	} else if (ferror(file)) {
		log_error("%s: read error", name);
		result = -EIO;
	} else if (p.error_count > 0) {
		result = -EINVAL;
	}
	if (result < 0) {
		config_finish(&p.result);
		return result;
	}

	config_move(cfg, &p.result);
	return 0;
}

int config_require_seat(struct config *cfg, const char *seat, const char *name)
{
	if (cfg->seat == NULL) {
		cfg->seat = strdup(seat);
		return cfg->seat != NULL ? 0 : -ENOMEM;
	}
	if (strcmp(cfg->seat, seat) == 0)
		return 0;
	log_error("%s:%d: [daemon] seat = %s, but vscanoutd was started for seat %s (--seat %s)",
		  name, cfg->seat_line, cfg->seat, seat, seat);
	return -EINVAL;
}

int config_load(struct config *cfg, const char *path)
{
	FILE *file = fopen(path, "re");
	if (file == NULL) {
		int ret = -errno;
		log_error_errno("cannot open configuration file %s", path);
		return ret;
	}
	int ret = config_parse(cfg, file, path);
	fclose(file);
	return ret;
}
