// SPDX-License-Identifier: MIT
/*
 * control/json.c: what the writer writes the parser reads back, strings
 * escaped and made valid UTF-8, 16.16 numbers exact; the parser refuses
 * malformed documents with the offset of the fault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/json.h"
#include "test.h"

static void check_bad(const char *text, const char *message)
{
	char err[128] = "";
	struct json_value *v = json_parse(text, strlen(text), err, sizeof(err));
	if (v != NULL) {
		fprintf(stderr, "accepted: %s\n", text);
		abort();
	}
	check_contains(err, message);
}

int main(void)
{
	struct json_writer w;
	json_writer_init(&w);
	json_begin_object(&w);
	json_key(&w, "plain");
	json_string(&w, "Virtual-1");
	json_key(&w, "escaped");
	json_string(&w, "q\"b\\n\n\t\x01/");
	json_key(&w, "utf8");
	json_string(&w, "caf\xc3\xa9 \xf0\x9f\x96\xa5");
	json_key(&w, "broken");
	json_string(&w, "a\xff"
			"b\xc3"
			"c\xed\xa0\x80");
	json_key(&w, "null");
	json_string(&w, NULL);
	json_key(&w, "numbers");
	json_begin_array(&w);
	json_uint(&w, UINT64_MAX);
	json_int(&w, -65536);
	json_fixed16(&w, 1920u << 16);
	json_fixed16(&w, 0x18000);
	json_fixed16(&w, 1);
	json_fixed16(&w, 0xffffffffu);
	json_end_array(&w);
	json_key(&w, "empty_array");
	json_begin_array(&w);
	json_end_array(&w);
	json_key(&w, "empty_object");
	json_begin_object(&w);
	json_end_object(&w);
	json_key(&w, "flags");
	json_begin_array(&w);
	json_bool(&w, true);
	json_bool(&w, false);
	json_null(&w);
	json_end_array(&w);
	json_end_object(&w);
	size_t len;
	char *doc = json_writer_finish(&w, &len);
	check(doc != NULL);
	check_int_eq(strlen(doc), len);
	check(doc[len - 1] == '\n');
	printf("%s", doc);

	check_contains(doc, "\"escaped\": \"q\\\"b\\\\n\\n\\t\\u0001/\"");
	check_contains(doc, "\"empty_array\": []");
	check_contains(doc, "\"empty_object\": {}");
	check_contains(doc, "1.5,");
	check_contains(doc, "0.0000152587890625,");
	check_contains(doc, "65535.9999847412109375");

	char err[128];
	struct json_value *v = json_parse(doc, len, err, sizeof(err));
	if (v == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	check_str_eq(json_get_string(v, "plain"), "Virtual-1");
	check_str_eq(json_get_string(v, "escaped"), "q\"b\\n\n\t\x01/");
	check_str_eq(json_get_string(v, "utf8"), "caf\xc3\xa9 \xf0\x9f\x96\xa5");
	check_str_eq(json_get_string(v, "broken"), "a\xef\xbf\xbd"
						   "b\xef\xbf\xbd"
						   "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	check(json_get(v, "null") != NULL && json_get(v, "null")->type == JSON_NULL);
	check(json_get_string(v, "null") == NULL);
	const struct json_value *numbers = json_get(v, "numbers");
	check(numbers != NULL && numbers->n == 6);
	check_str_eq(json_at(numbers, 0)->string, "18446744073709551615");
	check(json_at(numbers, 1)->number == -65536);
	check(json_at(numbers, 2)->number == 1920);
	check(json_at(numbers, 3)->number == 1.5);
	check(json_at(numbers, 4)->number == 1.0 / 65536);
	check(json_at(numbers, 6) == NULL);
	check(json_get(v, "empty_array")->type == JSON_ARRAY);
	check(json_get(v, "empty_object")->type == JSON_OBJECT);
	const struct json_value *flags = json_get(v, "flags");
	check(json_at(flags, 0)->boolean && !json_at(flags, 1)->boolean);
	check(json_get_bool(v, "missing", true));
	check(json_get_number(v, "plain", -1) == -1);
	json_value_free(v);
	free(doc);

	/* Escapes the writer never makes. */
	const char *text = "{\"s\": \"\\u00e9\\ud83d\\udda5\\/\\b\\f\\r\", \"n\": -1.25e+2}";
	v = json_parse(text, strlen(text), err, sizeof(err));
	check(v != NULL);
	check_str_eq(json_get_string(v, "s"), "\xc3\xa9\xf0\x9f\x96\xa5/\b\f\r");
	check(json_get_number(v, "n", 0) == -125);
	json_value_free(v);

	check_bad("", "end of the document");
	check_bad("{", "expected a member name");
	check_bad("[1,]", "unexpected character ']'");
	check_bad("{\"a\" 1}", "expected ':'");
	check_bad("[1 2]", "expected ',' or ']'");
	check_bad("1 2", "text after the document");
	check_bad("\"abc", "unterminated string");
	check_bad("\"\\ud800\"", "unpaired surrogate");
	check_bad("\"\\u0000\"", "NUL");
	check_bad("\"\\x\"", "bad escape");
	check_bad("\"a\nb\"", "control character");
	check_bad("01", "text after the document");
	check_bad("1.", "bad number");
	check_bad("-", "bad number");
	check_bad("tru", "unexpected character 't'");
	check_bad("[1, x]", "at byte 4");
	char deep[2 * JSON_MAX_DEPTH + 3];
	memset(deep, '[', JSON_MAX_DEPTH + 1);
	memset(deep + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
	deep[2 * JSON_MAX_DEPTH + 2] = '\0';
	check_bad(deep, "nested deeper than 64");
	deep[JSON_MAX_DEPTH] = ' ';
	deep[JSON_MAX_DEPTH + 1] = ' ';
	v = json_parse(deep, strlen(deep), err, sizeof(err));
	check(v != NULL);
	json_value_free(v);
	printf("ok\n");
	return 0;
}
