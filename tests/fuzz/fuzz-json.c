// SPDX-License-Identifier: MIT
/*
 * The JSON parser vscanoutctl reads the daemon's answers with, fed any
 * text: it either refuses it with a message or builds a tree, and a tree
 * written back with the JSON writer parses again to the same tree (numbers
 * are written back as strings of their text, as the writer has no raw
 * number). The parser passes bytes that are not UTF-8 through in strings
 * and keys, which the writer replaces with U+FFFD: those strings are not
 * compared.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_value(struct json_writer *w, const struct json_value *v)
{
	switch (v->type) {
	case JSON_NULL:
		json_null(w);
		break;
	case JSON_BOOL:
		json_bool(w, v->boolean);
		break;
	case JSON_NUMBER:
	case JSON_STRING:
		json_string(w, v->string);
		break;
	case JSON_ARRAY:
		json_begin_array(w);
		for (size_t i = 0; i < v->n; i++)
			write_value(w, &v->items[i]);
		json_end_array(w);
		break;
	case JSON_OBJECT:
		json_begin_object(w);
		for (size_t i = 0; i < v->n; i++) {
			json_key(w, v->keys[i]);
			write_value(w, &v->items[i]);
		}
		json_end_object(w);
		break;
	}
}

/* Whether s is valid UTF-8 (shortest forms, no surrogates, up to U+10FFFF). */
static bool utf8_valid(const char *s)
{
	const unsigned char *c = (const unsigned char *)s;
	while (*c != 0) {
		uint32_t cp;
		int n;
		if (*c < 0x80) {
			c++;
			continue;
		} else if ((*c & 0xe0) == 0xc0) {
			cp = *c & 0x1f;
			n = 1;
		} else if ((*c & 0xf0) == 0xe0) {
			cp = *c & 0x0f;
			n = 2;
		} else if ((*c & 0xf8) == 0xf0) {
			cp = *c & 0x07;
			n = 3;
		} else {
			return false;
		}
		for (int i = 1; i <= n; i++) {
			if ((c[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (c[i] & 0x3f);
		}
		static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
		if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		c += n + 1;
	}
	return true;
}

/* Whether written back, a and b say the same (strings that are not UTF-8 aside). */
static bool same_string(const char *a, const char *b)
{
	return !utf8_valid(a) || strcmp(a, b) == 0;
}

/* Whether b is a as written back: the same but numbers turned into strings. */
static bool same(const struct json_value *a, const struct json_value *b)
{
	enum json_type type = a->type == JSON_NUMBER ? JSON_STRING : a->type;
	if (type != b->type)
		return false;
	switch (type) {
	case JSON_NULL:
		return true;
	case JSON_BOOL:
		return a->boolean == b->boolean;
	case JSON_STRING:
		return same_string(a->string, b->string);
	case JSON_ARRAY:
	case JSON_OBJECT:
		if (a->n != b->n)
			return false;
		for (size_t i = 0; i < a->n; i++) {
			if (type == JSON_OBJECT && !same_string(a->keys[i], b->keys[i]))
				return false;
			if (!same(&a->items[i], &b->items[i]))
				return false;
		}
		return true;
	case JSON_NUMBER:
		break;
	}
	return false;
}

/* Look members up as vscanoutctl does, by the keys the tree has. */
static void look_up(const struct json_value *v)
{
	if (v->type == JSON_OBJECT) {
		for (size_t i = 0; i < v->n; i++) {
			if (json_get(v, v->keys[i]) == NULL)
				abort();
			json_get_string(v, v->keys[i]);
			json_get_number(v, v->keys[i], 0);
			json_get_bool(v, v->keys[i], false);
			look_up(&v->items[i]);
		}
	} else if (v->type == JSON_ARRAY) {
		for (size_t i = 0; i < v->n; i++)
			if (json_at(v, i) != &v->items[i])
				abort();
		if (json_at(v, v->n) != NULL)
			abort();
		for (size_t i = 0; i < v->n; i++)
			look_up(&v->items[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct json_value *value = json_parse((const char *)data, size, err, sizeof(err));
	if (value == NULL) {
		if (memchr(err, '\0', sizeof(err)) == NULL)
			abort(); /* the message must be terminated */
		return 0;
	}
	look_up(value);

	struct json_writer w;
	json_writer_init(&w);
	write_value(&w, value);
	size_t len;
	char *text = json_writer_finish(&w, &len);
	if (text != NULL) {
		struct json_value *again = json_parse(text, len, err, sizeof(err));
		if (again == NULL || !same(value, again))
			abort();
		json_value_free(again);
		free(text);
	}
	json_value_free(value);
	return 0;
}
