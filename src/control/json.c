// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/json.h"

/* ---- writer ------------------------------------------------------------- */

void json_writer_init(struct json_writer *w)
{
	*w = (struct json_writer){.empty = true};
}

static void put(struct json_writer *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap > 0 ? w->cap : 4096;
		while (w->len + n + 1 > cap)
			cap *= 2;
		char *data = realloc(w->data, cap);
		if (data == NULL) {
			w->failed = true;
			return;
		}
		w->data = data;
		w->cap = cap;
	}
	memcpy(w->data + w->len, s, n);
	w->len += n;
	w->data[w->len] = '\0';
}

static void puts_(struct json_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void newline(struct json_writer *w)
{
	put(w, "\n", 1);
	for (unsigned int i = 0; i < w->depth; i++)
		put(w, "  ", 2);
}

/* Separator and indentation before a value or key. */
static void before_value(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (!w->empty)
			put(w, ",", 1);
		newline(w);
	}
	w->empty = false;
}

static void begin(struct json_writer *w, const char *open)
{
	before_value(w);
	puts_(w, open);
	w->depth++;
	w->empty = true;
}

static void end(struct json_writer *w, const char *close)
{
	w->depth--;
	if (!w->empty)
		newline(w);
	puts_(w, close);
	w->empty = false;
}

void json_begin_object(struct json_writer *w)
{
	begin(w, "{");
}

void json_end_object(struct json_writer *w)
{
	end(w, "}");
}

void json_begin_array(struct json_writer *w)
{
	begin(w, "[");
}

void json_end_array(struct json_writer *w)
{
	end(w, "]");
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_sequence(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void put_escaped(struct json_writer *w, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;
	put(w, "\"", 1);
	while (*s != '\0') {
		char esc[8];
		switch (*s) {
		case '"':
			puts_(w, "\\\"");
			break;
		case '\\':
			puts_(w, "\\\\");
			break;
		case '\n':
			puts_(w, "\\n");
			break;
		case '\t':
			puts_(w, "\\t");
			break;
		case '\r':
			puts_(w, "\\r");
			break;
		default:
			if (*s < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", *s);
				puts_(w, esc);
				break;
			}
			size_t n = utf8_sequence(s);
			if (n == 0) {
				puts_(w, "\\ufffd");
				break;
			}
			put(w, (const char *)s, n);
			s += n - 1;
			break;
		}
		s++;
	}
	put(w, "\"", 1);
}

void json_key(struct json_writer *w, const char *key)
{
	before_value(w);
	put_escaped(w, key);
	put(w, ": ", 2);
	w->after_key = true;
}

void json_string(struct json_writer *w, const char *value)
{
	if (value == NULL) {
		json_null(w);
		return;
	}
	before_value(w);
	put_escaped(w, value);
}

void json_uint(struct json_writer *w, uint64_t value)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRIu64, value);
	before_value(w);
	puts_(w, buf);
}

void json_int(struct json_writer *w, int64_t value)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRId64, value);
	before_value(w);
	puts_(w, buf);
}

void json_bool(struct json_writer *w, bool value)
{
	before_value(w);
	puts_(w, value ? "true" : "false");
}

void json_null(struct json_writer *w)
{
	before_value(w);
	puts_(w, "null");
}

void json_fixed16(struct json_writer *w, uint32_t value)
{
	/* A fraction of 2^-16 ends after at most 16 decimal digits. */
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu32, value >> 16);
	uint32_t frac = value & 0xffff;
	if (frac != 0)
		buf[n++] = '.';
	while (frac != 0 && (size_t)n < sizeof(buf) - 1) {
		frac *= 10;
		buf[n++] = (char)('0' + (frac >> 16));
		frac &= 0xffff;
	}
	buf[n] = '\0';
	before_value(w);
	puts_(w, buf);
}

char *json_writer_finish(struct json_writer *w, size_t *len)
{
	put(w, "\n", 1);
	char *data = w->data;
	bool failed = w->failed || data == NULL;
	*len = failed ? 0 : w->len;
	if (failed)
		free(data);
	json_writer_init(w);
	return failed ? NULL : data;
}

/* ---- parser ------------------------------------------------------------- */

struct parser {
	const char *text;
	size_t size, pos;
	char *err;
	size_t err_size;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static void fail(struct parser *p, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = true;
	if (p->err_size == 0)
		return;
	int n = snprintf(p->err, p->err_size, "at byte %zu: ", p->pos);
	if (n < 0 || (size_t)n >= p->err_size)
		return;
	va_list args;
	va_start(args, fmt);
	vsnprintf(p->err + n, p->err_size - (size_t)n, fmt, args);
	va_end(args);
}

static void skip_space(struct parser *p)
{
	while (p->pos < p->size && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' ||
				    p->text[p->pos] == '\n' || p->text[p->pos] == '\r'))
		p->pos++;
}

static bool peek_is(struct parser *p, char c)
{
	return p->pos < p->size && p->text[p->pos] == c;
}

static bool literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->size - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
		return false;
	p->pos += n;
	return true;
}

static int hex4(struct parser *p, uint32_t *out)
{
	if (p->size - p->pos < 4)
		return -1;
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p->text[p->pos + (size_t)i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	p->pos += 4;
	*out = v;
	return 0;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at p->pos (the opening quote); NULL after fail(). */
static char *parse_string(struct parser *p)
{
	p->pos++; /* the quote */
	/* Escapes only shrink: the raw length bounds the result. */
	size_t start = p->pos;
	while (p->pos < p->size && p->text[p->pos] != '"')
		p->pos += p->text[p->pos] == '\\' ? 2 : 1;
	if (p->pos >= p->size) {
		fail(p, "unterminated string");
		return NULL;
	}
	size_t raw = p->pos - start;
	p->pos = start;
	char *out = malloc(raw + 1);
	if (out == NULL) {
		fail(p, "out of memory");
		return NULL;
	}
	size_t n = 0;
	while (p->text[p->pos] != '"') {
		unsigned char c = (unsigned char)p->text[p->pos];
		if (c < 0x20) {
			fail(p, "control character in a string");
			goto error;
		}
		if (c != '\\') {
			out[n++] = (char)c;
			p->pos++;
			continue;
		}
		p->pos++;
		char e = p->text[p->pos++];
		uint32_t cp;
		switch (e) {
		case '"':
		case '\\':
		case '/':
			out[n++] = e;
			break;
		case 'b':
			out[n++] = '\b';
			break;
		case 'f':
			out[n++] = '\f';
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'u':
			if (hex4(p, &cp) != 0) {
				fail(p, "bad \\u escape");
				goto error;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				uint32_t low;
				if (!literal(p, "\\u") || hex4(p, &low) != 0 || low < 0xdc00 ||
				    low > 0xdfff) {
					fail(p, "unpaired surrogate");
					goto error;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				fail(p, "unpaired surrogate");
				goto error;
			}
			if (cp == 0) {
				fail(p, "NUL in a string");
				goto error;
			}
			/* \uXXXX (6 bytes) gives at most 3, a pair (12) at most 4. */
			n += utf8_encode(cp, out + n);
			break;
		default:
			fail(p, "bad escape \\%c", e);
			goto error;
		}
	}
	p->pos++;
	out[n] = '\0';
	return out;

error:
	free(out);
	return NULL;
}

static void parse_value(struct parser *p, struct json_value *v, unsigned int depth);

static struct json_value *add_item(struct parser *p, struct json_value *v, size_t *cap)
{
	if (v->n == *cap) {
		size_t new_cap = *cap > 0 ? *cap * 2 : 8;
		struct json_value *items = realloc(v->items, new_cap * sizeof(*items));
		if (items == NULL) {
			fail(p, "out of memory");
			return NULL;
		}
		v->items = items;
		if (v->type == JSON_OBJECT) {
			char **keys = realloc(v->keys, new_cap * sizeof(*keys));
			if (keys == NULL) {
				fail(p, "out of memory");
				return NULL;
			}
			v->keys = keys;
		}
		*cap = new_cap;
	}
	struct json_value *item = &v->items[v->n];
	*item = (struct json_value){.type = JSON_NULL};
	if (v->type == JSON_OBJECT)
		v->keys[v->n] = NULL;
	v->n++;
	return item;
}

static void parse_container(struct parser *p, struct json_value *v, unsigned int depth)
{
	bool object = p->text[p->pos] == '{';
	char close = object ? '}' : ']';
	v->type = object ? JSON_OBJECT : JSON_ARRAY;
	size_t cap = 0;
	p->pos++;
	skip_space(p);
	if (peek_is(p, close)) {
		p->pos++;
		return;
	}
	for (;;) {
		char *key = NULL;
		if (object) {
			skip_space(p);
			if (!peek_is(p, '"')) {
				fail(p, "expected a member name");
				return;
			}
			key = parse_string(p);
			if (key == NULL)
				return;
			skip_space(p);
			if (!peek_is(p, ':')) {
				free(key);
				fail(p, "expected ':'");
				return;
			}
			p->pos++;
		}
		struct json_value *item = add_item(p, v, &cap);
		if (item == NULL) {
			free(key);
			return;
		}
		if (object)
			v->keys[v->n - 1] = key;
		parse_value(p, item, depth + 1);
		if (p->failed)
			return;
		skip_space(p);
		if (peek_is(p, ',')) {
			p->pos++;
			continue;
		}
		if (peek_is(p, close)) {
			p->pos++;
			return;
		}
		fail(p, "expected ',' or '%c'", close);
		return;
	}
}

static void parse_number(struct parser *p, struct json_value *v)
{
	size_t start = p->pos;
	if (peek_is(p, '-'))
		p->pos++;
	if (peek_is(p, '0')) {
		p->pos++;
	} else if (p->pos < p->size && p->text[p->pos] >= '1' && p->text[p->pos] <= '9') {
		while (p->pos < p->size && p->text[p->pos] >= '0' && p->text[p->pos] <= '9')
			p->pos++;
	} else {
		fail(p, "bad number");
		return;
	}
	if (peek_is(p, '.')) {
		p->pos++;
		size_t digits = p->pos;
		while (p->pos < p->size && p->text[p->pos] >= '0' && p->text[p->pos] <= '9')
			p->pos++;
		if (p->pos == digits) {
			fail(p, "bad number");
			return;
		}
	}
	if (peek_is(p, 'e') || peek_is(p, 'E')) {
		p->pos++;
		if (peek_is(p, '+') || peek_is(p, '-'))
			p->pos++;
		size_t digits = p->pos;
		while (p->pos < p->size && p->text[p->pos] >= '0' && p->text[p->pos] <= '9')
			p->pos++;
		if (p->pos == digits) {
			fail(p, "bad number");
			return;
		}
	}
	v->type = JSON_NUMBER;
	v->string = strndup(p->text + start, p->pos - start);
	if (v->string == NULL) {
		fail(p, "out of memory");
		return;
	}
	v->number = strtod(v->string, NULL);
}

static void parse_value(struct parser *p, struct json_value *v, unsigned int depth)
{
	skip_space(p);
	if (p->pos >= p->size) {
		fail(p, "unexpected end of the document");
		return;
	}
	char c = p->text[p->pos];
	if (c == '{' || c == '[') {
		if (depth >= JSON_MAX_DEPTH) {
			fail(p, "nested deeper than %d", JSON_MAX_DEPTH);
			return;
		}
		parse_container(p, v, depth);
	} else if (c == '"') {
		v->string = parse_string(p);
		if (v->string != NULL)
			v->type = JSON_STRING;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		parse_number(p, v);
	} else if (literal(p, "true")) {
		v->type = JSON_BOOL;
		v->boolean = true;
	} else if (literal(p, "false")) {
		v->type = JSON_BOOL;
	} else if (literal(p, "null")) {
		v->type = JSON_NULL;
	} else {
		fail(p, "unexpected character '%c'", c);
	}
}

static void value_finish(struct json_value *v)
{
	for (size_t i = 0; i < v->n; i++) {
		value_finish(&v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->string);
}

struct json_value *json_parse(const char *text, size_t size, char *err, size_t err_size)
{
	struct parser p = {.text = text, .size = size, .err = err, .err_size = err_size};
	struct json_value *v = calloc(1, sizeof(*v));
	if (v == NULL) {
		fail(&p, "out of memory");
		return NULL;
	}
	parse_value(&p, v, 0);
	skip_space(&p);
	if (!p.failed && p.pos != p.size)
		fail(&p, "text after the document");
	if (p.failed) {
		json_value_free(v);
		return NULL;
	}
	return v;
}

void json_value_free(struct json_value *value)
{
	if (value == NULL)
		return;
	value_finish(value);
	free(value);
}

const struct json_value *json_get(const struct json_value *object, const char *key)
{
	if (object == NULL || object->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < object->n; i++) {
		if (strcmp(object->keys[i], key) == 0)
			return &object->items[i];
	}
	return NULL;
}

const struct json_value *json_at(const struct json_value *array, size_t i)
{
	if (array == NULL || array->type != JSON_ARRAY || i >= array->n)
		return NULL;
	return &array->items[i];
}

const char *json_get_string(const struct json_value *object, const char *key)
{
	const struct json_value *v = json_get(object, key);
	return v != NULL && v->type == JSON_STRING ? v->string : NULL;
}

double json_get_number(const struct json_value *object, const char *key, double fallback)
{
	const struct json_value *v = json_get(object, key);
	return v != NULL && v->type == JSON_NUMBER ? v->number : fallback;
}

bool json_get_bool(const struct json_value *object, const char *key, bool fallback)
{
	const struct json_value *v = json_get(object, key);
	return v != NULL && v->type == JSON_BOOL ? v->boolean : fallback;
}
