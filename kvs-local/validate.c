/* kvs-local request validation: the length and pattern constraints of the
 * service's API models (botocore kinesisvideo 2017-09-30,
 * kinesis-video-media, kinesis-video-archived-media), checked before a
 * request touches a stream, and answered as the service answers them:
 * 400 InvalidArgumentException "1 validation error detected: Value '...'
 * at 'streamName' failed to satisfy constraint: ...". Lengths count UTF-16
 * code units, as the service (Java) does. A string that is not a string
 * is a SerializationException. NUL and every other control character
 * fail every pattern (KmsKeyId's ".+" included: nothing kvs-local stores
 * or logs may hold one). */
#include "kvs_local.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <wctype.h>

enum kind {
	K_NAME,	       /* [a-zA-Z0-9_.-]+ */
	K_ARN,	       /* arn:...:kinesisvideo:...:stream/NAME/N */
	K_MEDIA_TYPE,  /* type/subtype(,type/subtype)* */
	K_ANY,	       /* .+ without control characters */
	K_ALNUM,       /* [a-zA-Z0-9]+ */
	K_TOKEN,       /* [a-zA-Z0-9+/=]* */
	K_DIGITS,      /* [0-9]+ */
	K_TOKEN_CHARS, /* [a-zA-Z0-9_.-]+ (ContinuationToken) */
	K_TAG,	       /* [\p{L}\p{Z}\p{N}_.:/=+\-@]* */
};

struct rule {
	const char *member; /* "A" or "A.B" */
	const char *wire;   /* as the service names it in messages */
	enum kind kind;
	size_t min, max;
	const char *pattern; /* for the message */
};

static const struct rule rules[] = {
    {"StreamName", "streamName", K_NAME, 1, 256, "[a-zA-Z0-9_.-]+"},
    {"StreamARN", "streamARN", K_ARN, 1, 1024,
     "arn:[a-z\\d-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/"
     "[a-zA-Z0-9_.-]+/[0-9]+"},
    {"DeviceName", "deviceName", K_NAME, 1, 128, "[a-zA-Z0-9_.-]+"},
    {"MediaType", "mediaType", K_MEDIA_TYPE, 1, 128,
     "[\\w\\-\\.\\+]+/[\\w\\-\\.\\+]+(,[\\w\\-\\.\\+]+/[\\w\\-\\.\\+]+)*"},
    {"KmsKeyId", "kmsKeyId", K_ANY, 1, 2048, ".+"},
    {"CurrentVersion", "currentVersion", K_ALNUM, 1, 64, "[a-zA-Z0-9]+"},
    {"StreamNameCondition.ComparisonValue",
     "streamNameCondition.comparisonValue", K_NAME, 1, 256, "[a-zA-Z0-9_.-]+"},
    {"StartSelector.AfterFragmentNumber", "startSelector.afterFragmentNumber",
     K_DIGITS, 1, 128, "^[0-9]+$"},
    {"StartSelector.ContinuationToken", "startSelector.continuationToken",
     K_TOKEN_CHARS, 1, 128, "^[a-zA-Z0-9_\\.\\-]+$"},
};

static bool name_char(unsigned c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool word_char(unsigned c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

static bool all(const char *s, size_t n, bool (*ok)(unsigned))
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ok((unsigned char)s[i]))
			return false;
	return true;
}

static bool lower_digit_dash(unsigned c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}
static bool lower(unsigned c)
{
	return c >= 'a' && c <= 'z';
}
static bool digit(unsigned c)
{
	return c >= '0' && c <= '9';
}
static bool alnum(unsigned c)
{
	return word_char(c) && c != '_';
}
static bool token_char(unsigned c)
{
	return alnum(c) || c == '+' || c == '/' || c == '=';
}
static bool media_char(unsigned c)
{
	return word_char(c) || c == '-' || c == '.' || c == '+';
}

/* The next field of s (up to end) split at sep: into f and fl; false
 * when none is left. */
static bool field(const char **s, const char *end, char sep, const char **f,
		  size_t *fl)
{
	if (*s > end)
		return false;
	const char *p = memchr(*s, sep, (size_t)(end - *s));
	*f = *s;
	*fl = (size_t)((p ? p : end) - *s);
	*s = p ? p + 1 : end + 1;
	return true;
}

static bool valid_arn(const char *s, size_t n)
{
	const char *end = s + n, *f;
	size_t fl;
	static bool (*const parts[])(unsigned) = {NULL, lower_digit_dash, NULL,
						  lower_digit_dash, digit};
	static const char *const fixed[] = {"arn", NULL, "kinesisvideo"};
	for (int i = 0; i < 5; i++) {
		if (!field(&s, end, ':', &f, &fl))
			return false;
		if (parts[i]
			? !all(f, fl, parts[i])
			: (fl != strlen(fixed[i]) || memcmp(f, fixed[i], fl)))
			return false;
	}
	/* resource: [a-z]+/NAME/[0-9]+ */
	const char *rs = s, *rend = end;
	if (rs > rend)
		return false;
	if (!field(&rs, rend, '/', &f, &fl) || !all(f, fl, lower) ||
	    !field(&rs, rend, '/', &f, &fl) || !all(f, fl, name_char) ||
	    !field(&rs, rend, '/', &f, &fl) || !all(f, fl, digit))
		return false;
	return rs > rend; /* nothing after */
}

static bool valid_media_type(const char *s, size_t n)
{
	const char *end = s + n, *f;
	size_t fl;
	while (field(&s, end, ',', &f, &fl)) {
		const char *slash = memchr(f, '/', fl);
		if (!slash || !all(f, (size_t)(slash - f), media_char) ||
		    !all(slash + 1, fl - (size_t)(slash - f) - 1, media_char))
			return false;
	}
	return true;
}

/* One UTF-8 code point at s (valid UTF-8: the JSON parser checked). */
static unsigned next_cp(const char *s, size_t n, size_t *len)
{
	const unsigned char *u = (const unsigned char *)s;
	if (u[0] < 0x80 || n < 2) {
		*len = 1;
		return u[0];
	}
	if ((u[0] & 0xE0) == 0xC0) {
		*len = 2;
		return ((u[0] & 0x1Fu) << 6) | (u[1] & 0x3Fu);
	}
	if ((u[0] & 0xF0) == 0xE0 && n >= 3) {
		*len = 3;
		return ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) |
		       (u[2] & 0x3Fu);
	}
	if (n >= 4) {
		*len = 4;
		return ((u[0] & 0x07u) << 18) | ((u[1] & 0x3Fu) << 12) |
		       ((u[2] & 0x3Fu) << 6) | (u[3] & 0x3Fu);
	}
	*len = 1;
	return u[0];
}

/* Java's String.length(): UTF-16 code units. */
static size_t utf16_length(const char *s, size_t n)
{
	size_t units = 0;
	for (size_t i = 0; i < n;) {
		size_t l;
		unsigned cp = next_cp(s + i, n - i, &l);
		units += cp >= 0x10000 ? 2 : 1;
		i += l;
	}
	return units;
}

static bool is_control(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp < 0xA0);
}

/* \p{Z}: the Unicode space separators. */
static bool unicode_space(unsigned cp)
{
	return cp == 0x20 || cp == 0xA0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* \p{L} and \p{N} beyond ASCII, from the C library's Unicode tables. */
static bool unicode_alnum(unsigned cp)
{
	static locale_t utf8;
	static bool tried;
	if (!tried) { /* benign race: both threads get the same answer */
		utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
		tried = true;
	}
	if (!utf8)
		return !is_control(cp); /* no tables: be lenient */
	return iswalnum_l((wint_t)cp, utf8);
}

static bool valid_tag_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l;
		unsigned cp = next_cp(s + i, n - i, &l);
		i += l;
		if (cp < 0x80 ? !(alnum(cp) || cp == ' ' ||
				  strchr("_.:/=+-@", (int)cp))
			      : !(unicode_space(cp) ||
				  (!is_control(cp) && unicode_alnum(cp))))
			return false;
		if (cp == 0)
			return false;
	}
	return true;
}

static bool no_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l;
		unsigned cp = next_cp(s + i, n - i, &l);
		if (is_control(cp))
			return false;
		i += l;
	}
	return n > 0;
}

static bool matches(enum kind k, const char *s, size_t n)
{
	switch (k) {
	case K_NAME:
	case K_TOKEN_CHARS:
		return all(s, n, name_char);
	case K_ARN:
		return valid_arn(s, n);
	case K_MEDIA_TYPE:
		return valid_media_type(s, n);
	case K_ANY:
		return no_control(s, n);
	case K_ALNUM:
		return all(s, n, alnum);
	case K_TOKEN:
		return n == 0 || all(s, n, token_char);
	case K_DIGITS:
		return all(s, n, digit);
	case K_TAG:
		return valid_tag_text(s, n);
	}
	return false;
}

/* The value as the message shows it: printable, at most 300 bytes. */
static void shown(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 8 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7F)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
		if (o > 300) {
			o += (size_t)snprintf(out + o, cap - o, "...");
			break;
		}
	}
	out[o] = 0;
}

/* Check one string; 0, or -1 with the error sent (*rc its result). */
static int check(struct kl_conn *c, const char *wire, const char *s, size_t n,
		 enum kind kind, size_t min, size_t max, const char *pattern,
		 int *rc)
{
	size_t len = utf16_length(s, n);
	char why[160];
	if (len < min)
		snprintf(why, sizeof why,
			 "Member must have length greater than or equal to %zu",
			 min);
	else if (len > max)
		snprintf(why, sizeof why,
			 "Member must have length less than or equal to %zu",
			 max);
	else if (!matches(kind, s, n))
		snprintf(why, sizeof why,
			 "Member must satisfy regular expression pattern: %s",
			 pattern);
	else
		return 0;
	char v[340];
	shown(s, n, v, sizeof v);
	*rc = kl_send_error(c, 400, "InvalidArgumentException",
			    "1 validation error detected: Value '%s' at '%s' "
			    "failed to satisfy constraint: %s",
			    v, wire, why);
	return -1;
}

static const struct json_value *member_at(const struct json_value *obj,
					  const char *path)
{
	const char *dot = strchr(path, '.');
	if (!dot)
		return json_get(obj, path);
	char first[64];
	snprintf(first, sizeof first, "%.*s", (int)(dot - path), path);
	return json_get(json_get(obj, first), dot + 1);
}

static int not_a_string(struct kl_conn *c, const char *member, int *rc)
{
	*rc = kl_send_error(c, 400, "SerializationException",
			    "%s: expected a string", member);
	return -1;
}

static int check_tags(struct kl_conn *c, const struct json_value *tags, int *rc)
{
	if (!tags)
		return 0;
	if (tags->type != JSON_OBJECT) {
		*rc = kl_send_error(c, 400, "SerializationException",
				    "Tags: expected a map of strings");
		return -1;
	}
	for (size_t i = 0; i < tags->n; i++) {
		const struct json_member *m = &tags->members[i];
		if (m->value->type != JSON_STRING)
			return not_a_string(c, "Tags value", rc);
		static const char pat[] = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*";
		if (check(c, "tags", m->key, m->key_len, K_TAG, 1, 128, pat,
			  rc) ||
		    check(c, "tags", m->value->str, m->value->len, K_TAG, 0,
			  256, pat, rc))
			return -1;
	}
	return 0;
}

int kl_validate_request(struct kl_conn *c, const struct kl_request *r, int *rc)
{
	*rc = 0;
	for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
		const struct rule *ru = &rules[i];
		const struct json_value *v = member_at(r->json, ru->member);
		if (!v)
			continue;
		if (v->type != JSON_STRING)
			return not_a_string(c, ru->member, rc);
		if (check(c, ru->wire, v->str, v->len, ru->kind, ru->min,
			  ru->max, ru->pattern, rc))
			return -1;
	}
	/* NextToken differs between the control plane and ListFragments */
	const struct json_value *t = json_get(r->json, "NextToken");
	if (t && t->type != JSON_STRING)
		return not_a_string(c, "NextToken", rc);
	if (t && !strcmp(r->op, "listFragments") &&
	    check(c, "nextToken", t->str, t->len, K_TOKEN, 1, 4096,
		  "[a-zA-Z0-9+/]+={0,2}", rc))
		return -1;
	if (t && strcmp(r->op, "listFragments") &&
	    check(c, "nextToken", t->str, t->len, K_TOKEN, 0, 512,
		  "[a-zA-Z0-9+/=]*", rc))
		return -1;
	if (check_tags(c, json_get(r->json, "Tags"), rc))
		return -1;
	const struct json_value *list = json_get(r->json, "Fragments");
	for (size_t i = 0; list && list->type == JSON_ARRAY && i < list->n;
	     i++) {
		const struct json_value *v = list->items[i];
		if (v->type != JSON_STRING)
			return not_a_string(c, "Fragments item", rc);
		if (check(c, "fragments", v->str, v->len, K_DIGITS, 1, 128,
			  "^[0-9]+$", rc))
			return -1;
	}
	return 0;
}

int kl_validate_header(struct kl_conn *c, const char *header, const char *value,
		       int *rc)
{
	if (!value)
		return 0;
	bool arn = !strcmp(header, "x-amzn-stream-arn");
	return check(c, header, value, strlen(value), arn ? K_ARN : K_NAME, 1,
		     arn ? 1024 : 256,
		     arn ? "arn:aws:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/"
			   "[a-zA-Z0-9_.-]+/[0-9]+"
			 : "[a-zA-Z0-9_.-]+",
		     rc);
}
