/* Small strict JSON (RFC 8259): a parser into a tree, lookups, and writing
 * helpers. Used for the KVS REST-JSON API (kvs-local) and PutMedia ACKs
 * (the kvs sink). Numbers keep their text so 64-bit integers (fragment
 * numbers, millisecond timecodes) survive exactly. */
#ifndef VPIPE_COMMON_JSON_H
#define VPIPE_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_value;

struct json_member {
	char *key;	/* decoded; may hold NUL (\u0000): see key_len */
	size_t key_len; /* of key */
	struct json_value *value;
};

struct json_value {
	enum json_type type;
	char *str;  /* STRING: decoded UTF-8 (may hold NUL: see len); NUMBER:
		       text */
	size_t len; /* of str */
	double number;
	struct json_value **items;   /* ARRAY */
	struct json_member *members; /* OBJECT, in document order */
	size_t n;
};

/* Parse exactly one value (surrounding whitespace allowed). NULL on error;
 * *err_offset (if not NULL) gets the byte offset, *err a reason. Depth is
 * limited to 64 levels. */
struct json_value *json_parse(const char *s, size_t n, size_t *err_offset,
			      const char **err);
void json_free(struct json_value *v);

/* Object member by key, or NULL (also when v is not an object). A key
 * holding a NUL matches no key: "a\u0000b" is not "a". */
const struct json_value *json_get(const struct json_value *v, const char *key);
/* The string of a STRING value, or NULL, also when it holds a NUL
 * (\u0000): a C string would silently stop there. Such a string is still
 * a STRING with its whole text in str/len; json_has_nul() tells. */
const char *json_string(const struct json_value *v);
/* true if v is a STRING holding a NUL. */
bool json_has_nul(const struct json_value *v);
/* An integral NUMBER value without loss: 0 on success. */
int json_int64(const struct json_value *v, int64_t *out);

/* Writing: a JSON string literal (with quotes) of s[0..n). */
void json_put_string(struct strbuf *b, const char *s);
void json_put_stringn(struct strbuf *b, const char *s, size_t n);
#endif
