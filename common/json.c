/* Strict JSON parser and writer helpers, see json.h. */
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

struct parser {
	const char *s;
	size_t n, i;
	const char *err;
	int depth;
};

static void skip_ws(struct parser *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
			       p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static struct json_value *new_value(struct parser *p, enum json_type t)
{
	struct json_value *v = calloc(1, sizeof *v);
	if (!v)
		p->err = "out of memory";
	else
		v->type = t;
	return v;
}

static struct json_value *parse_value(struct parser *p);

static int literal(struct parser *p, const char *word)
{
	size_t len = strlen(word);
	if (p->n - p->i < len || memcmp(p->s + p->i, word, len) != 0) {
		p->err = "invalid literal";
		return -1;
	}
	p->i += len;
	return 0;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static struct json_value *parse_number(struct parser *p)
{
	size_t start = p->i;
	if (p->i < p->n && p->s[p->i] == '-')
		p->i++;
	if (p->i >= p->n || !is_digit(p->s[p->i])) {
		p->err = "invalid number";
		return NULL;
	}
	if (p->s[p->i] == '0')
		p->i++;
	else
		while (p->i < p->n && is_digit(p->s[p->i]))
			p->i++;
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (p->i >= p->n || !is_digit(p->s[p->i])) {
			p->err = "invalid number fraction";
			return NULL;
		}
		while (p->i < p->n && is_digit(p->s[p->i]))
			p->i++;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (p->i >= p->n || !is_digit(p->s[p->i])) {
			p->err = "invalid number exponent";
			return NULL;
		}
		while (p->i < p->n && is_digit(p->s[p->i]))
			p->i++;
	}
	struct json_value *v = new_value(p, JSON_NUMBER);
	if (!v)
		return NULL;
	v->len = p->i - start;
	v->str = strndup(p->s + start, v->len);
	if (!v->str) {
		free(v);
		p->err = "out of memory";
		return NULL;
	}
	v->number = strtod(v->str, NULL);
	return v;
}

static int hex4(struct parser *p, unsigned *out)
{
	if (p->n - p->i < 4)
		return -1;
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		char c = p->s[p->i + (size_t)k];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	p->i += 4;
	*out = v;
	return 0;
}

static void put_utf8(struct strbuf *b, unsigned cp)
{
	char u[4];
	if (cp < 0x80) {
		sb_putc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		sb_append(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		sb_append(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		sb_append(b, u, 4);
	}
}

static int parse_escape(struct parser *p, struct strbuf *b)
{
	char c = p->s[p->i++];
	switch (c) {
	case '"':
	case '\\':
	case '/':
		sb_putc(b, c);
		return 0;
	case 'b':
		sb_putc(b, '\b');
		return 0;
	case 'f':
		sb_putc(b, '\f');
		return 0;
	case 'n':
		sb_putc(b, '\n');
		return 0;
	case 'r':
		sb_putc(b, '\r');
		return 0;
	case 't':
		sb_putc(b, '\t');
		return 0;
	case 'u': {
		unsigned cp, lo;
		if (hex4(p, &cp))
			return -1;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (p->n - p->i < 6 || p->s[p->i] != '\\' ||
			    p->s[p->i + 1] != 'u')
				return -1;
			p->i += 2;
			if (hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF)
				return -1;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
			return -1;
		}
		put_utf8(b, cp);
		return 0;
	}
	}
	return -1;
}

/* Length of a valid UTF-8 sequence at s (up to n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0)
		len = 2, min = 0x80, c &= 0x1F;
	else if ((c & 0xF0) == 0xE0)
		len = 3, min = 0x800, c &= 0x0F;
	else if ((c & 0xF8) == 0xF0)
		len = 4, min = 0x10000, c &= 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[k] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	return len;
}

static char *parse_string_raw(struct parser *p, size_t *len)
{
	struct strbuf b = STRBUF_INIT;
	p->i++; /* opening quote */
	sb_puts(&b, "");
	while (p->i < p->n) {
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == '"') {
			p->i++;
			*len = b.len;
			char *s = sb_detach(&b);
			if (!s)
				p->err = "out of memory";
			return s;
		}
		if (c < 0x20) {
			p->err = "control character in string";
			break;
		}
		if (c == '\\') {
			p->i++;
			if (p->i >= p->n || parse_escape(p, &b)) {
				p->err = "invalid escape";
				break;
			}
			continue;
		}
		size_t ul =
		    utf8_len((const unsigned char *)p->s + p->i, p->n - p->i);
		if (!ul) {
			p->err = "invalid UTF-8";
			break;
		}
		sb_append(&b, p->s + p->i, ul);
		p->i += ul;
	}
	if (!p->err)
		p->err = "unterminated string";
	sb_free(&b);
	return NULL;
}

static struct json_value *parse_array(struct parser *p)
{
	struct json_value *v = new_value(p, JSON_ARRAY);
	if (!v)
		return NULL;
	p->i++;
	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == ']') {
		p->i++;
		return v;
	}
	size_t cap = 0;
	for (;;) {
		struct json_value *item = parse_value(p);
		if (!item)
			goto bad;
		if (v->n == cap) {
			cap = cap ? cap * 2 : 4;
			void *it = realloc(v->items, cap * sizeof *v->items);
			if (!it) {
				json_free(item);
				p->err = "out of memory";
				goto bad;
			}
			v->items = it;
		}
		v->items[v->n++] = item;
		skip_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == ']') {
			p->i++;
			return v;
		}
		p->err = "expected ',' or ']'";
		goto bad;
	}
bad:
	json_free(v);
	return NULL;
}

static struct json_value *parse_object(struct parser *p)
{
	struct json_value *v = new_value(p, JSON_OBJECT);
	if (!v)
		return NULL;
	p->i++;
	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == '}') {
		p->i++;
		return v;
	}
	size_t cap = 0;
	for (;;) {
		skip_ws(p);
		if (p->i >= p->n || p->s[p->i] != '"') {
			p->err = "expected a string key";
			goto bad;
		}
		size_t klen;
		char *key = parse_string_raw(p, &klen);
		if (!key)
			goto bad;
		skip_ws(p);
		if (p->i >= p->n || p->s[p->i] != ':') {
			free(key);
			p->err = "expected ':'";
			goto bad;
		}
		p->i++;
		struct json_value *item = parse_value(p);
		if (!item) {
			free(key);
			goto bad;
		}
		if (v->n == cap) {
			cap = cap ? cap * 2 : 4;
			void *m = realloc(v->members, cap * sizeof *v->members);
			if (!m) {
				free(key);
				json_free(item);
				p->err = "out of memory";
				goto bad;
			}
			v->members = m;
		}
		v->members[v->n].key = key;
		v->members[v->n].key_len = klen;
		v->members[v->n++].value = item;
		skip_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == '}') {
			p->i++;
			return v;
		}
		p->err = "expected ',' or '}'";
		goto bad;
	}
bad:
	json_free(v);
	return NULL;
}

static struct json_value *parse_value(struct parser *p)
{
	skip_ws(p);
	if (p->i >= p->n) {
		p->err = "unexpected end of input";
		return NULL;
	}
	if (++p->depth > JSON_MAX_DEPTH) {
		p->err = "nested too deeply";
		return NULL;
	}
	struct json_value *v = NULL;
	char c = p->s[p->i];
	if (c == '{') {
		v = parse_object(p);
	} else if (c == '[') {
		v = parse_array(p);
	} else if (c == '"') {
		size_t len;
		char *s = parse_string_raw(p, &len);
		if (s && (v = new_value(p, JSON_STRING))) {
			v->str = s;
			v->len = len;
		} else {
			free(s);
		}
	} else if (c == '-' || is_digit(c)) {
		v = parse_number(p);
	} else if (c == 't') {
		if (!literal(p, "true"))
			v = new_value(p, JSON_TRUE);
	} else if (c == 'f') {
		if (!literal(p, "false"))
			v = new_value(p, JSON_FALSE);
	} else if (c == 'n') {
		if (!literal(p, "null"))
			v = new_value(p, JSON_NULL);
	} else {
		p->err = "unexpected character";
	}
	p->depth--;
	return v;
}

struct json_value *json_parse(const char *s, size_t n, size_t *err_offset,
			      const char **err)
{
	struct parser p = {.s = s, .n = n};
	struct json_value *v = parse_value(&p);
	if (v) {
		skip_ws(&p);
		if (p.i != p.n) {
			p.err = "trailing characters after the value";
			json_free(v);
			v = NULL;
		}
	}
	if (!v) {
		if (err_offset)
			*err_offset = p.i;
		if (err)
			*err = p.err ? p.err : "invalid JSON";
	}
	return v;
}

void json_free(struct json_value *v)
{
	if (!v)
		return;
	for (size_t i = 0; v->type == JSON_ARRAY && i < v->n; i++)
		json_free(v->items[i]);
	for (size_t i = 0; v->type == JSON_OBJECT && i < v->n; i++) {
		free(v->members[i].key);
		json_free(v->members[i].value);
	}
	free(v->items);
	free(v->members);
	free(v->str);
	free(v);
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
	if (!v || v->type != JSON_OBJECT)
		return NULL;
	size_t n = strlen(key);
	for (size_t i = 0; i < v->n; i++)
		if (v->members[i].key_len == n &&
		    memcmp(v->members[i].key, key, n) == 0)
			return v->members[i].value;
	return NULL;
}

bool json_has_nul(const struct json_value *v)
{
	return v && v->type == JSON_STRING && memchr(v->str, 0, v->len);
}

const char *json_string(const struct json_value *v)
{
	return v && v->type == JSON_STRING && !json_has_nul(v) ? v->str : NULL;
}

int json_int64(const struct json_value *v, int64_t *out)
{
	if (!v || v->type != JSON_NUMBER)
		return -1;
	if (strpbrk(v->str, ".eE")) {
		/* allow 12.0 or 1e3 when exactly integral and in range */
		/* range first: casting an out-of-range double is undefined */
		if (!(v->number < 9.2e18 && v->number > -9.2e18) ||
		    v->number != (double)(int64_t)v->number)
			return -1;
		*out = (int64_t)v->number;
		return 0;
	}
	errno = 0;
	char *end;
	long long x = strtoll(v->str, &end, 10);
	if (errno || *end)
		return -1;
	*out = x;
	return 0;
}

void json_put_stringn(struct strbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	sb_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			sb_putc(b, '\\');
			sb_putc(b, (char)c);
		} else if (c == '\n') {
			sb_puts(b, "\\n");
		} else if (c == '\r') {
			sb_puts(b, "\\r");
		} else if (c == '\t') {
			sb_puts(b, "\\t");
		} else if (c < 0x20) {
			char e[6] = {'\\', 'u',		'0',
				     '0',  hex[c >> 4], hex[c & 15]};
			sb_append(b, e, 6);
		} else {
			sb_putc(b, (char)c);
		}
	}
	sb_putc(b, '"');
}

void json_put_string(struct strbuf *b, const char *s)
{
	json_put_stringn(b, s, strlen(s));
}
