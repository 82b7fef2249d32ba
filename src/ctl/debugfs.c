// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <xf86drmMode.h>

#include "debugfs.h"

#define DEBUGFS_MAGIC_NUMBER 0x64626720
#define STATE_MAX_SIZE       (16u << 20)

/* Append a zeroed item to an array; NULL when out of memory. */
/* The turn a "rotation=" bitmask names (DRM_MODE_ROTATE_*), in degrees; -1 for none. */
static int rotation_degrees(unsigned long mask)
{
	for (int i = 0; i < 4; i++) {
		if (mask & (1ul << i))
			return i * 90;
	}
	return -1;
}

static void *grow(void **items, size_t *n, size_t size)
{
	void *p = realloc(*items, (*n + 1) * size);
	if (p == NULL)
		return NULL;
	*items = p;
	char *item = (char *)p + *n * size;
	memset(item, 0, size);
	(*n)++;
	return item;
}

/* "1024.500000" (the kernel's DRM_RECT_FP_FMT part) as 16.16. */
static uint32_t parse_fp(const char **p)
{
	char *end;
	long whole = strtol(*p, &end, 10);
	unsigned long micro = 0;
	if (*end == '.') {
		const char *frac = end + 1;
		micro = strtoul(frac, &end, 10);
	}
	*p = end;
	/* The kernel prints floor(frac * 1e6 / 65536): round back up. */
	uint64_t frac16 = ((uint64_t)micro * 65536u + 999999u) / 1000000u;
	return (uint32_t)((uint64_t)whole << 16) + (uint32_t)frac16;
}

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, KSTATE_NAME_SIZE, "%.*s", (int)strcspn(src, "\n"), src);
}

int kstate_parse(struct kstate *st, const char *text)
{
	unsigned int minor = st->minor;
	memset(st, 0, sizeof(*st));
	st->minor = minor;
	struct kstate_plane *plane = NULL;
	struct kstate_crtc *crtc = NULL;
	struct kstate_connector *conn = NULL;
	for (const char *line = text; *line != '\0';) {
		const char *next = strchr(line, '\n');
		next = next != NULL ? next + 1 : line + strlen(line);
		unsigned int id;
		int n = 0;
		if (line[0] != '\t') {
			plane = NULL;
			crtc = NULL;
			conn = NULL;
			if (sscanf(line, "plane[%u]: %n", &id, &n) == 1 && n > 0) {
				plane = grow((void **)&st->planes, &st->n_planes, sizeof(*plane));
				if (plane == NULL)
					return -ENOMEM;
				plane->id = id;
				plane->rotation = -1;
				copy_name(plane->name, line + n);
			} else if (sscanf(line, "crtc[%u]: %n", &id, &n) == 1 && n > 0) {
				crtc = grow((void **)&st->crtcs, &st->n_crtcs, sizeof(*crtc));
				if (crtc == NULL)
					return -ENOMEM;
				crtc->id = id;
				copy_name(crtc->name, line + n);
			} else if (sscanf(line, "connector[%u]: %n", &id, &n) == 1 && n > 0) {
				conn = grow((void **)&st->connectors, &st->n_connectors,
					    sizeof(*conn));
				if (conn == NULL)
					return -ENOMEM;
				conn->id = id;
				copy_name(conn->name, line + n);
			}
			line = next;
			continue;
		}
		if (line[1] == '\t') { /* framebuffer details and other nested lines */
			line = next;
			continue;
		}
		const char *v = line + 1;
		if (plane != NULL) {
			if (strncmp(v, "crtc=", 5) == 0) {
				copy_name(plane->crtc, v + 5);
			} else if (strncmp(v, "fb=", 3) == 0) {
				plane->fb = (uint32_t)strtoul(v + 3, NULL, 10);
			} else if (strncmp(v, "crtc-pos=", 9) == 0) {
				sscanf(v + 9, "%ux%u%" SCNd32 "%" SCNd32, &plane->width,
				       &plane->height, &plane->x, &plane->y);
			} else if (strncmp(v, "rotation=", 9) == 0) {
				plane->rotation = rotation_degrees(strtoul(v + 9, NULL, 0));
			} else if (strncmp(v, "src-pos=", 8) == 0) {
				const char *p = v + 8;
				plane->src_w = parse_fp(&p);
				if (*p == 'x')
					p++;
				plane->src_h = parse_fp(&p);
				plane->src_x = parse_fp(&p);
				plane->src_y = parse_fp(&p);
			}
		} else if (crtc != NULL) {
			if (strncmp(v, "enable=", 7) == 0) {
				crtc->enable = atoi(v + 7);
			} else if (strncmp(v, "active=", 7) == 0) {
				crtc->active = atoi(v + 7);
			} else if (strncmp(v, "mode: \"", 7) == 0) {
				const char *name = v + 7, *q = strchr(name, '"');
				unsigned int vrefresh, hss, hse, vss, vse, type;
				if (q != NULL &&
				    sscanf(q, "\": %u %u %u %u %u %u %u %u %u %u 0x%x 0x%x",
					   &vrefresh, &crtc->clock, &crtc->hdisplay, &hss, &hse,
					   &crtc->htotal, &crtc->vdisplay, &vss, &vse,
					   &crtc->vtotal, &type, &crtc->flags) == 12) {
					crtc->has_mode = true;
					snprintf(crtc->mode_name, sizeof(crtc->mode_name), "%.*s",
						 (int)(q - name), name);
				}
			}
		} else if (conn != NULL) {
			if (strncmp(v, "crtc=", 5) == 0)
				copy_name(conn->crtc, v + 5);
		}
		line = next;
	}
	return 0;
}

int kstate_load(struct kstate *st, const char *dir, unsigned int minor, char *err, size_t err_size)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%u/state", dir, minor);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		struct statfs sfs;
		struct stat sb;
		if (e == ENOENT && strcmp(dir, "/sys/kernel/debug/dri") == 0 &&
		    (statfs("/sys/kernel/debug", &sfs) != 0 || sfs.f_type != DEBUGFS_MAGIC_NUMBER))
			snprintf(err, err_size,
				 "debugfs is not mounted on /sys/kernel/debug (as root: mount -t "
				 "debugfs debugfs /sys/kernel/debug)");
		else if (e == EACCES || e == EPERM)
			snprintf(err, err_size, "cannot read %s: %s (debugfs is root's)", path,
				 strerror(e));
		else if (e == ENOENT && stat(dir, &sb) != 0)
			snprintf(err, err_size, "%s does not exist: is debugfs mounted?", dir);
		else if (e == ENOENT)
			snprintf(err, err_size,
				 "%s does not exist: DRM minor %u has no atomic state in debugfs",
				 path, minor);
		else
			snprintf(err, err_size, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	size_t size = 0, cap = 65536;
	char *text = malloc(cap);
	int ret = 0;
	while (text != NULL) {
		if (size + 1 >= cap) {
			if (cap >= STATE_MAX_SIZE) {
				snprintf(err, err_size, "%s is larger than %u bytes", path,
					 STATE_MAX_SIZE);
				ret = -EFBIG;
				goto out;
			}
			char *p = realloc(text, cap * 2);
			if (p == NULL)
				break;
			text = p;
			cap *= 2;
		}
		ssize_t n = read(fd, text + size, cap - 1 - size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	if (text == NULL || size + 1 > cap) {
		snprintf(err, err_size, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	text[size] = '\0';
	st->minor = minor;
	ret = kstate_parse(st, text);
	if (ret < 0)
		snprintf(err, err_size, "out of memory");
out:
	free(text);
	close(fd);
	return ret;
}

void kstate_finish(struct kstate *st)
{
	free(st->planes);
	free(st->crtcs);
	free(st->connectors);
	st->planes = NULL;
	st->crtcs = NULL;
	st->connectors = NULL;
	st->n_planes = st->n_crtcs = st->n_connectors = 0;
}

uint32_t kstate_crtc_id(const struct kstate *st, const char *name)
{
	for (size_t i = 0; i < st->n_crtcs; i++) {
		if (strcmp(st->crtcs[i].name, name) == 0)
			return st->crtcs[i].id;
	}
	return 0;
}

/* ---- comparison --------------------------------------------------------- */

static const char *str_or(const char *s)
{
	return s != NULL ? s : "?";
}

static uint32_t json_u32(const struct json_value *object, const char *key)
{
	double v = json_get_number(object, key, 0);
	return v > 0 && v < 4294967296.0 ? (uint32_t)v : 0;
}

static int32_t json_i32(const struct json_value *object, const char *key)
{
	return (int32_t)json_get_number(object, key, 0);
}

/* A status number given in pixels with fractions, as 16.16. */
static uint32_t json_fixed(const struct json_value *object, const char *key)
{
	double v = json_get_number(object, key, 0) * 65536.0;
	return v > 0 ? (uint32_t)(v + 0.5) : 0;
}

static bool fixed_equal(uint32_t a, uint32_t b)
{
	/* The kernel prints millionths: one 16.16 step of slack. */
	return a == b || a + 1 == b || b + 1 == a;
}

static void fmt_fixed(char *buf, size_t size, uint32_t v)
{
	if ((v & 0xffff) == 0)
		snprintf(buf, size, "%u", v >> 16);
	else
		snprintf(buf, size, "%.4f", v / 65536.0);
}

static uint32_t refresh_mhz(const struct kstate_crtc *c)
{
	if (c->htotal == 0 || c->vtotal == 0)
		return 0;
	uint64_t mhz = (uint64_t)c->clock * 1000000u / c->htotal / c->vtotal;
	if (c->flags & DRM_MODE_FLAG_INTERLACE)
		mhz *= 2;
	if (c->flags & DRM_MODE_FLAG_DBLSCAN)
		mhz /= 2;
	return (uint32_t)mhz;
}

struct plane_view {
	uint32_t fb, crtc;
	int32_t x, y;
	uint32_t w, h;
	uint32_t sx, sy, sw, sh;
	int rotation; /* degrees, -1: unknown */
};

static void print_view(FILE *out, const char *who, const struct plane_view *v)
{
	fprintf(out, "    %-11s", who);
	if (v->fb == 0 && v->crtc == 0) {
		fprintf(out, "off\n");
		return;
	}
	char sx[24], sy[24], sw[24], sh[24];
	fmt_fixed(sx, sizeof(sx), v->sx);
	fmt_fixed(sy, sizeof(sy), v->sy);
	fmt_fixed(sw, sizeof(sw), v->sw);
	fmt_fixed(sh, sizeof(sh), v->sh);
	fprintf(out,
		"fb %" PRIu32 " on CRTC %" PRIu32 " at %" PRId32 ",%" PRId32 " %" PRIu32 "x%" PRIu32
		", src %s,%s %sx%s",
		v->fb, v->crtc, v->x, v->y, v->w, v->h, sx, sy, sw, sh);
	if (v->rotation > 0)
		fprintf(out, ", turned %d", v->rotation);
	fprintf(out, "\n");
}

static unsigned int compare_plane(FILE *out, const struct kstate *st, const struct json_value *jp,
				  const struct kstate_plane *kp, uint32_t crtc_id)
{
	uint32_t id = json_u32(jp, "id");
	const char *content = json_get_string(jp, "content");
	const struct json_value *zpos = json_get(jp, "layer_zpos");
	fprintf(out, "  plane %" PRIu32 " (%s", id, str_or(json_get_string(jp, "type")));
	if (content != NULL && strcmp(content, "layer") == 0 && zpos != NULL &&
	    zpos->type == JSON_NUMBER)
		fprintf(out, ", layer zpos %s", zpos->string);
	else if (content != NULL)
		fprintf(out, ", %s", content);
	fprintf(out, ")\n");

	const struct json_value *rot = json_get(jp, "rotation");
	struct plane_view d = {
		.fb = json_u32(jp, "fb_id"),
		.crtc = json_u32(jp, "crtc_id"),
		.rotation = rot != NULL && rot->type == JSON_NUMBER ? json_i32(jp, "rotation") : -1,
	};
	const struct json_value *crtc = json_get(jp, "crtc"), *src = json_get(jp, "src");
	if (crtc != NULL && crtc->type == JSON_OBJECT) {
		d.x = json_i32(crtc, "x");
		d.y = json_i32(crtc, "y");
		d.w = json_u32(crtc, "width");
		d.h = json_u32(crtc, "height");
	}
	if (src != NULL && src->type == JSON_OBJECT) {
		d.sx = json_fixed(src, "x");
		d.sy = json_fixed(src, "y");
		d.sw = json_fixed(src, "width");
		d.sh = json_fixed(src, "height");
	}
	print_view(out, "vscanoutd:", &d);
	if (kp == NULL) {
		fprintf(out, "    kernel:    no such plane\n");
		fprintf(out, "  DIFFERS plane %" PRIu32 ": the kernel has no such plane\n", id);
		return 1;
	}
	struct plane_view k = {
		.fb = kp->fb,
		.crtc = kstate_crtc_id(st, kp->crtc),
		.x = kp->x,
		.y = kp->y,
		.w = kp->width,
		.h = kp->height,
		.sx = kp->src_x,
		.sy = kp->src_y,
		.sw = kp->src_w,
		.sh = kp->src_h,
		.rotation = kp->rotation,
	};
	print_view(out, "kernel:", &k);

	/*
	 * A plane every CRTC of the card may use, off for this output and on
	 * another CRTC in the kernel: another output has it (the other output's
	 * section compares it).
	 */
	if (d.fb == 0 && d.crtc == 0 && k.crtc != 0 && k.crtc != crtc_id) {
		fprintf(out, "    on CRTC %" PRIu32 " (%s): another output's\n", k.crtc, kp->crtc);
		return 0;
	}

	unsigned int n = 0;
	if (d.fb != k.fb) {
		fprintf(out,
			"  DIFFERS plane %" PRIu32 " fb: vscanoutd %" PRIu32 ", kernel %" PRIu32
			"\n",
			id, d.fb, k.fb);
		n++;
	}
	if (d.crtc != k.crtc) {
		fprintf(out,
			"  DIFFERS plane %" PRIu32 " crtc: vscanoutd %" PRIu32 ", kernel %" PRIu32
			" (%s)\n",
			id, d.crtc, k.crtc, kp->crtc);
		n++;
	}
	if (d.fb == 0 || k.fb == 0)
		return n; /* a disabled plane has no geometry to compare */
	if (d.x != k.x || d.y != k.y) {
		fprintf(out,
			"  DIFFERS plane %" PRIu32 " position: vscanoutd %" PRId32 ",%" PRId32
			", kernel %" PRId32 ",%" PRId32 "\n",
			id, d.x, d.y, k.x, k.y);
		n++;
	}
	if (d.w != k.w || d.h != k.h) {
		fprintf(out,
			"  DIFFERS plane %" PRIu32 " size: vscanoutd %" PRIu32 "x%" PRIu32
			", kernel %" PRIu32 "x%" PRIu32 "\n",
			id, d.w, d.h, k.w, k.h);
		n++;
	}
	if (d.rotation >= 0 && k.rotation >= 0 && d.rotation != k.rotation) {
		fprintf(out,
			"  DIFFERS plane %" PRIu32 " rotation: vscanoutd %d, kernel %d degrees\n",
			id, d.rotation, k.rotation);
		n++;
	}
	if (!fixed_equal(d.sx, k.sx) || !fixed_equal(d.sy, k.sy) || !fixed_equal(d.sw, k.sw) ||
	    !fixed_equal(d.sh, k.sh)) {
		char a[4][24], b[4][24];
		uint32_t dv[4] = {d.sx, d.sy, d.sw, d.sh}, kv[4] = {k.sx, k.sy, k.sw, k.sh};
		for (int i = 0; i < 4; i++) {
			fmt_fixed(a[i], sizeof(a[i]), dv[i]);
			fmt_fixed(b[i], sizeof(b[i]), kv[i]);
		}
		fprintf(out,
			"  DIFFERS plane %" PRIu32 " src: vscanoutd %s,%s %sx%s, kernel %s,%s "
			"%sx%s\n",
			id, a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]);
		n++;
	}
	return n;
}

static const struct kstate_plane *find_plane(const struct kstate *st, uint32_t id)
{
	for (size_t i = 0; i < st->n_planes; i++) {
		if (st->planes[i].id == id)
			return &st->planes[i];
	}
	return NULL;
}

static bool listed(const struct json_value *planes, uint32_t id)
{
	for (size_t i = 0; planes != NULL && i < planes->n; i++) {
		if (json_u32(json_at(planes, i), "id") == id)
			return true;
	}
	return false;
}

static unsigned int compare_output(FILE *out, const struct kstate *st, const struct json_value *o)
{
	unsigned int n = 0;
	const char *name = str_or(json_get_string(o, "name"));
	const char *state = str_or(json_get_string(o, "state"));
	bool blanked = json_get_bool(o, "blanked", false);
	bool on = strcmp(state, "on") == 0;
	uint32_t crtc_id = json_u32(o, "crtc_id");
	uint32_t conn_id = json_u32(o, "connector_id");
	fprintf(out, "output %s (minor %u): %s%s\n", name, st->minor, state,
		blanked ? ", blanked" : "");

	/* The CRTC: active with vscanoutd's mode. */
	const struct kstate_crtc *kc = NULL;
	for (size_t i = 0; i < st->n_crtcs; i++) {
		if (st->crtcs[i].id == crtc_id)
			kc = &st->crtcs[i];
	}
	if (crtc_id != 0) {
		const struct json_value *mode = json_get(o, "mode");
		uint32_t w = json_u32(mode, "width"), h = json_u32(mode, "height");
		uint32_t mhz = json_u32(mode, "refresh_mhz");
		fprintf(out, "  CRTC %" PRIu32 "\n", crtc_id);
		if (on)
			fprintf(out, "    vscanoutd: active, %" PRIu32 "x%" PRIu32 "@%.3f Hz\n", w,
				h, mhz / 1000.0);
		else
			fprintf(out, "    vscanoutd: %s\n", state);
		if (kc == NULL) {
			fprintf(out, "    kernel:    no such CRTC\n");
			fprintf(out, "  DIFFERS CRTC %" PRIu32 ": the kernel has no such CRTC\n",
				crtc_id);
			n++;
		} else {
			fprintf(out, "    kernel:    %s", kc->active ? "active" : "inactive");
			if (kc->has_mode && kc->hdisplay != 0)
				fprintf(out, ", %" PRIu32 "x%" PRIu32 "@%.3f Hz (\"%s\")",
					kc->hdisplay, kc->vdisplay, refresh_mhz(kc) / 1000.0,
					kc->mode_name);
			fprintf(out, "\n");
			if (on && !kc->active) {
				fprintf(out,
					"  DIFFERS CRTC %" PRIu32
					" active: vscanoutd 1, kernel 0\n",
					crtc_id);
				n++;
			}
			if (on && kc->active &&
			    (kc->hdisplay != w || kc->vdisplay != h ||
			     (mhz != 0 && refresh_mhz(kc) != mhz))) {
				fprintf(out,
					"  DIFFERS CRTC %" PRIu32 " mode: vscanoutd %" PRIu32
					"x%" PRIu32 "@%" PRIu32 " mHz, kernel %" PRIu32 "x%" PRIu32
					"@%" PRIu32 " mHz\n",
					crtc_id, w, h, mhz, kc->hdisplay, kc->vdisplay,
					refresh_mhz(kc));
				n++;
			}
		}
	}

	/* The connector: on vscanoutd's CRTC while on, on none while blanked. */
	const struct kstate_connector *kconn = NULL;
	for (size_t i = 0; i < st->n_connectors; i++) {
		if (st->connectors[i].id == conn_id)
			kconn = &st->connectors[i];
	}
	if (kconn != NULL) {
		uint32_t kcrtc = kstate_crtc_id(st, kconn->crtc);
		fprintf(out, "  connector %" PRIu32 " (%s)\n", conn_id, kconn->name);
		if (on)
			fprintf(out, "    vscanoutd: CRTC %" PRIu32 "\n", crtc_id);
		else
			fprintf(out, "    vscanoutd: no CRTC\n");
		if (kcrtc != 0)
			fprintf(out, "    kernel:    CRTC %" PRIu32 " (%s)\n", kcrtc, kconn->crtc);
		else
			fprintf(out, "    kernel:    no CRTC\n");
		if ((on && kcrtc != crtc_id) || (blanked && kcrtc != 0)) {
			fprintf(out,
				"  DIFFERS connector %" PRIu32 " crtc: vscanoutd %" PRIu32
				", kernel %" PRIu32 "\n",
				conn_id, on ? crtc_id : 0, kcrtc);
			n++;
		}
	}

	const struct json_value *planes = json_get(o, "planes");
	for (size_t i = 0; planes != NULL && i < planes->n; i++) {
		const struct json_value *jp = json_at(planes, i);
		n += compare_plane(out, st, jp, find_plane(st, json_u32(jp, "id")), crtc_id);
	}
	/* Planes the kernel shows on this CRTC that vscanoutd does not hold. */
	for (size_t i = 0; crtc_id != 0 && i < st->n_planes; i++) {
		const struct kstate_plane *kp = &st->planes[i];
		if (kstate_crtc_id(st, kp->crtc) != crtc_id || listed(planes, kp->id))
			continue;
		fprintf(out,
			"  DIFFERS plane %" PRIu32 " crtc: vscanoutd does not hold it, kernel has "
			"fb %" PRIu32 " on CRTC %" PRIu32 "\n",
			kp->id, kp->fb, crtc_id);
		n++;
	}
	return n;
}

unsigned int kstate_compare(const struct json_value *status, const struct kstate *states,
			    size_t n_states, FILE *out)
{
	unsigned int n = 0;
	const struct json_value *outputs = json_get(status, "outputs");
	for (size_t i = 0; outputs != NULL && i < outputs->n; i++) {
		const struct json_value *o = json_at(outputs, i);
		const struct json_value *minor = json_get(o, "minor");
		if (minor == NULL || minor->type != JSON_NUMBER)
			continue;
		for (size_t s = 0; s < n_states; s++) {
			if (states[s].minor == json_u32(o, "minor")) {
				if (i > 0)
					fprintf(out, "\n");
				n += compare_output(out, &states[s], o);
			}
		}
	}
	return n;
}
