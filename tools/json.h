/* SPDX-License-Identifier: MIT */
/*
 * json.h - a small streaming JSON writer for the subcommands' --json
 * output: it places the commas, escapes strings, and writes non-finite
 * numbers as null. Output is compact (one line per document).
 *
 *	struct json j;
 *	json_init(&j, stdout);
 *	json_obj(&j, NULL);
 *	json_str(&j, "name", "ghz");
 *	json_arr(&j, "consumers");
 *	json_u64(&j, NULL, 42);
 *	json_end(&j);                 // the array
 *	json_end(&j);                 // the object
 *	json_done(&j);                // newline, flush
 */
#ifndef QSHM_TOOLS_JSON_H
#define QSHM_TOOLS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
	FILE *f;
	int depth;
	unsigned char has_items[JSON_MAX_DEPTH]; /* per open container */
	char closer[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *f);
/* key is the member name inside an object, NULL inside an array or at
 * the top level. */
void json_obj(struct json *j, const char *key);
void json_arr(struct json *j, const char *key);
void json_end(struct json *j);
void json_done(struct json *j);

void json_str(struct json *j, const char *key, const char *s);
void json_strn(struct json *j, const char *key, const char *s, size_t n);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, int v);
void json_double(struct json *j, const char *key, double v);
void json_null(struct json *j, const char *key);

#endif
