/* libFuzzer: the strict JSON parser, and re-writing what it parsed. */
#include "common/json.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_value *v = json_parse((const char *)data, size, NULL, NULL);
	if (v && v->type == JSON_STRING) {
		struct strbuf b = STRBUF_INIT;
		json_put_stringn(&b, v->str, v->len);
		struct json_value *w = json_parse(b.s, b.len, NULL, NULL);
		if (!w || w->len != v->len)
			__builtin_trap(); /* writer output must parse back */
		json_free(w);
		sb_free(&b);
	}
	int64_t x;
	json_int64(json_get(v, "a"), &x);
	json_free(v);
	return 0;
}
