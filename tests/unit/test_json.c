/* The strict JSON parser: valid documents, exact 64-bit integers, what it
 * must refuse, and round trips of the string writer. */
#include "tests/unit/check.h"

#include "common/json.h"

static struct json_value *parse(const char *s)
{
	return json_parse(s, strlen(s), NULL, NULL);
}

static void test_valid(void)
{
	struct json_value *v = parse(
	    " {\"EventType\":\"PERSISTED\",\"FragmentTimecode\":1711124585823,"
	    "\"FragmentNumber\":\"1234567890123456789\",\"a\":[1,-2.5e3,true,"
	    "false,null,{}],\"u\":\"\\u00e9\\ud83d\\ude00\\n\"} ");
	CHECK(v != NULL);
	CHECK(strcmp(json_string(json_get(v, "EventType")), "PERSISTED") == 0);
	int64_t tc = 0;
	CHECK_EQ_INT(json_int64(json_get(v, "FragmentTimecode"), &tc), 0);
	CHECK_EQ_INT(tc, 1711124585823LL);
	const struct json_value *a = json_get(v, "a");
	CHECK(a && a->type == JSON_ARRAY && a->n == 6);
	CHECK(a->items[1]->number == -2500.0);
	CHECK(a->items[2]->type == JSON_TRUE);
	CHECK(a->items[4]->type == JSON_NULL);
	CHECK(strcmp(json_string(json_get(v, "u")),
		     "\xc3\xa9\xf0\x9f\x98\x80\n") == 0);
	CHECK(json_get(v, "missing") == NULL);
	CHECK(json_int64(json_get(v, "EventType"), &tc) != 0);
	json_free(v);
	v = parse("9223372036854775807");
	int64_t big;
	CHECK(v && json_int64(v, &big) == 0 && big == INT64_MAX);
	json_free(v);
	v = parse("92233720368547758070");
	CHECK(v && json_int64(v, &big) != 0);
	json_free(v);
}

static void test_invalid(void)
{
	static const char *bad[] = {
	    "",
	    "{",
	    "{\"a\":}",
	    "{\"a\" 1}",
	    "[1,]",
	    "[1 2]",
	    "01",
	    "1.",
	    "-",
	    "1e",
	    "tru",
	    "\"a",
	    "\"\\x\"",
	    "\"\t\"",
	    "{a:1}",
	    "{} {}",
	    "\"\\ud800\"",
	    "\"\xff\"",
	    "\"\xc0\xaf\"",
	    "nul",
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]]]]]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		size_t off = 999;
		const char *err = NULL;
		struct json_value *v =
		    json_parse(bad[i], strlen(bad[i]), &off, &err);
		CHECK(v == NULL);
		CHECK(err != NULL && off <= strlen(bad[i]));
		json_free(v);
	}
}

static void test_writer(void)
{
	struct strbuf b = STRBUF_INIT;
	const char raw[] = "a\"b\\c\n\x01\xc3\xa9";
	json_put_string(&b, raw);
	CHECK(strcmp(b.s, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"") == 0);
	struct json_value *v = json_parse(b.s, b.len, NULL, NULL);
	CHECK(v && strcmp(json_string(v), raw) == 0);
	json_free(v);
	sb_free(&b);
}

/* A NUL inside a string or a key is kept whole, never read as the C
 * string before it ("a\u0000b" is not "a"). */
static void test_embedded_nul(void)
{
	const char *doc = "{\"StreamName\":\"a\\u0000b\",\"k\\u0000x\":1,"
			  "\"ok\":\"fine\"}";
	struct json_value *v = parse(doc);
	CHECK(v != NULL);
	const struct json_value *name = json_get(v, "StreamName");
	CHECK(name && name->type == JSON_STRING && name->len == 3);
	CHECK(name && memcmp(name->str, "a\0b", 3) == 0);
	CHECK(json_string(name) == NULL);
	CHECK(json_has_nul(name));
	CHECK(json_get(v, "k") == NULL);
	CHECK(v && v->n == 3 && v->members[1].key_len == 3);
	CHECK(!json_has_nul(json_get(v, "ok")));
	CHECK(json_string(json_get(v, "ok")) &&
	      strcmp(json_string(json_get(v, "ok")), "fine") == 0);
	json_free(v);
}

int main(void)
{
	test_valid();
	test_embedded_nul();
	test_invalid();
	test_writer();
	return check_done();
}
