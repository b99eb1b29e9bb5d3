/* libFuzzer: the s3 module's key templates (check, then expand with the
 * input as every variable), key encoding, metadata headers from arbitrary
 * tags, event documents, and S3 error documents. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "modules/s3/object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	size_t half = strlen(s) / 2;
	char *a = strndup(s, half), *b = strdup(s + half);

	char err[300], key[S3_MAX_KEY + 1];
	static const uint8_t rnd[17] = {1, 2, 3};
	if (s3_key_template_check(s, err, sizeof(err)) == 0) {
		struct s3_key_vars v = {.stream = a,
					.account = b,
					.image_prefix = a,
					.ext = b,
					.fragment = a,
					.random = rnd};
		if (s3_key_expand(s, &v, key, sizeof(key)) == 0 &&
		    strlen(key) > S3_MAX_KEY)
			__builtin_trap();
	}
	struct strbuf url = STRBUF_INIT, path = STRBUF_INIT, ev = STRBUF_INIT;
	struct s3_target t;
	if (s3_target_init(&t, a, "us-east-1", b, S3_ADDR_AUTO, err,
			   sizeof(err)) == 0)
		s3_object_url(&t, b, s, &url, &path);

	struct vpipe_tag tags[3] = {{a, b}, {b, a}, {s, ""}};
	char lines[4][512];
	unsigned skipped;
	size_t n = s3_metadata_headers(tags, 3, lines, 4, &skipped);
	for (size_t i = 0; i < n; i++)
		if (strlen(lines[i]) >= 512)
			__builtin_trap();
	struct s3_event_info e = {.stream = a,
				  .fragment = b,
				  .bucket = a,
				  .key = s,
				  .content_type = b,
				  .tags = tags,
				  .num_tags = 3};
	if (s3_event_json(&ev, &e) == 0) {
		struct json_value *v = json_parse(ev.s, ev.len, NULL, NULL);
		if (!v)
			__builtin_trap(); /* we must always write valid JSON */
		json_free(v);
	}
	char code[64], msg[200];
	s3_error_fields((const char *)data, size, code, sizeof(code), msg,
			sizeof(msg));
	s3_classify(size, code);
	sb_free(&url);
	sb_free(&path);
	sb_free(&ev);
	free(a);
	free(b);
	free(s);
	return 0;
}
