/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_CONTROL_JSON_H
#define VSCANOUT_CONTROL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * JSON for the control interface: a writer for the daemon's status
 * document (control/status.h) and a small parser for vscanoutctl and the
 * tests. Neither depends on anything but libc.
 */

/*
 * The writer builds a document in memory, indented with two spaces per
 * level. Values go in order: inside an object each value is preceded by
 * json_key(). Strings are escaped ("\"", "\\", control characters) and
 * bytes that are not valid UTF-8 become U+FFFD, so the document is always
 * valid UTF-8 JSON. An allocation failure is remembered and makes
 * json_writer_finish() fail; callers check once, at the end.
 */
struct json_writer {
	char *data; /* may be NULL */
	size_t len, cap;
	bool failed;        /* out of memory */
	unsigned int depth; /* open objects and arrays */
	bool empty;         /* the innermost container has no value yet */
	bool after_key;     /* a key was written, its value is next */
};

void json_writer_init(struct json_writer *w);

/*
 * End the document (a newline follows the top-level value) and hand it
 * over: returns the NUL-terminated text (the caller frees it) with its
 * length in *len, or NULL when an allocation failed (the writer's memory
 * is freed either way; the writer is then as after json_writer_init()).
 */
char *json_writer_finish(struct json_writer *w, size_t *len);

void json_begin_object(struct json_writer *w);
void json_end_object(struct json_writer *w);
void json_begin_array(struct json_writer *w);
void json_end_array(struct json_writer *w);

/* The key of the next value, inside an object. */
void json_key(struct json_writer *w, const char *key);

/* A string value; NULL writes null. */
void json_string(struct json_writer *w, const char *value);
void json_uint(struct json_writer *w, uint64_t value);
void json_int(struct json_writer *w, int64_t value);
void json_bool(struct json_writer *w, bool value);
void json_null(struct json_writer *w);

/* A 16.16 fixed-point number, written exactly ("1920", "0.5", "12.25"). */
void json_fixed16(struct json_writer *w, uint32_t value);

/*
 * The parser reads a whole document into a tree of values. Numbers keep
 * their text (number_text) besides their value as a double, so that 64-bit
 * counters print unchanged. Nesting is limited to JSON_MAX_DEPTH.
 */
#define JSON_MAX_DEPTH 64

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_value {
	enum json_type type;
	bool boolean;
	double number;
	char *string;             /* JSON_STRING (UTF-8, no NUL inside), JSON_NUMBER: its text */
	size_t n;                 /* items of an array or members of an object */
	struct json_value *items; /* array items or member values */
	char **keys;              /* JSON_OBJECT: member names, in document order */
};

/*
 * Parse size bytes of text (NUL not needed) as one JSON value, optionally
 * followed by white space. Returns the value (free it with
 * json_value_free()), or NULL with a message naming the byte offset in err
 * (err_size bytes) on a syntax error, an invalid escape, nesting deeper
 * than JSON_MAX_DEPTH or an allocation failure.
 */
struct json_value *json_parse(const char *text, size_t size, char *err, size_t err_size);

/* Free a value from json_parse(). NULL is a no-op. */
void json_value_free(struct json_value *value);

/* The member key of object (NULL when object is NULL, not an object or has none). */
const struct json_value *json_get(const struct json_value *object, const char *key);

/* Item i of array, or NULL. */
const struct json_value *json_at(const struct json_value *array, size_t i);

/* The string of member key, or NULL when it is missing or not a string. */
const char *json_get_string(const struct json_value *object, const char *key);

/* The number of member key, or fallback when it is missing or not a number. */
double json_get_number(const struct json_value *object, const char *key, double fallback);

/* The boolean of member key, or fallback when it is missing or not a boolean. */
bool json_get_bool(const struct json_value *object, const char *key, bool fallback);

#endif
