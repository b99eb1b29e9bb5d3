/* The overlay's text pattern (see ov_text.h and docs/modules/overlay.md).
 * Syntax: text is copied; "%X" is strftime's conversion X (with an
 * optional E or O modifier); "%%" is a percent sign; "%{node}",
 * "%{label}" and "%{tag:NAME}" are substitutions. */
#include "ov_text.h"

#include <stdio.h>
#include <string.h>

/* The conversions glibc's strftime documents (plus its k, l, P, s). */
static const char conversions[] = "aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ+";

static int is_conversion(char c)
{
	return c && strchr(conversions, c) != NULL;
}

/* A substitution name: "node", "label" or "tag:NAME" (NAME non-empty). */
static int valid_name(const char *name, size_t len)
{
	if (len == 4 && !memcmp(name, "node", 4))
		return 1;
	if (len == 5 && !memcmp(name, "label", 5))
		return 1;
	return len > 4 && !memcmp(name, "tag:", 4);
}

int ov_pattern_check(const char *p, char *err, size_t n)
{
	for (size_t i = 0; p[i]; i++) {
		if (p[i] != '%')
			continue;
		char c = p[i + 1];
		if (c == '\0') {
			snprintf(err, n,
				 "byte %zu: the text ends with a lone '%%' "
				 "(write %%%% for a percent sign)",
				 i);
			return -1;
		}
		if (c == '%') {
			i++;
			continue;
		}
		if (c == '{') {
			const char *end = strchr(p + i + 2, '}');
			if (!end) {
				snprintf(err, n,
					 "byte %zu: '%%{' without a closing "
					 "'}'",
					 i);
				return -1;
			}
			size_t len = (size_t)(end - (p + i + 2));
			if (!valid_name(p + i + 2, len)) {
				snprintf(err, n,
					 "byte %zu: unknown substitution "
					 "%%{%.*s}: use %%{node}, %%{label} "
					 "or %%{tag:NAME}",
					 i, (int)len, p + i + 2);
				return -1;
			}
			i = (size_t)(end - p);
			continue;
		}
		if (c == 'E' || c == 'O') {
			if (!is_conversion(p[i + 2])) {
				snprintf(err, n,
					 "byte %zu: '%%%c' must be followed by "
					 "a strftime conversion letter",
					 i, c);
				return -1;
			}
			i += 2;
			continue;
		}
		if (!is_conversion(c)) {
			snprintf(err, n,
				 "byte %zu: '%%%c' is not a strftime "
				 "conversion (see strftime(3); %%%% is a "
				 "percent sign)",
				 i, c);
			return -1;
		}
		i++;
	}
	return 0;
}

int ov_pattern_uses_time(const char *p)
{
	for (size_t i = 0; p[i]; i++) {
		if (p[i] != '%')
			continue;
		char c = p[i + 1];
		if (c == '%' || c == '{') {
			i++;
			continue;
		}
		return 1;
	}
	return 0;
}

/* Appends up to len bytes, cutting before a UTF-8 continuation byte so a
 * character is never split. */
static void append(char *out, size_t size, size_t *used, const char *s,
		   size_t len)
{
	size_t room = size - 1 - *used;
	if (len > room) {
		len = room;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(out + *used, s, len);
	*used += len;
	out[*used] = '\0';
}

static const char *lookup(const struct ov_vars *v, const char *name, size_t len)
{
	char key[128];
	if (len == 4 && !memcmp(name, "node", 4))
		return v->node;
	if (len == 5 && !memcmp(name, "label", 5))
		return v->label;
	if (len > 4 && len - 4 < sizeof(key) && v->tag) {
		memcpy(key, name + 4, len - 4);
		key[len - 4] = '\0';
		return v->tag(v->ctx, key);
	}
	return NULL;
}

size_t ov_pattern_expand(const char *p, const struct ov_vars *v,
			 const struct tm *tm, char *out, size_t size)
{
	if (size > OV_TEXT_MAX)
		size = OV_TEXT_MAX;
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; p[i]; i++) {
		if (p[i] != '%' || !p[i + 1]) {
			append(out, size, &used, p + i, 1);
			continue;
		}
		char c = p[i + 1];
		if (c == '%') {
			append(out, size, &used, "%", 1);
			i++;
		} else if (c == '{') {
			const char *end = strchr(p + i + 2, '}');
			if (!end)
				break; /* unchecked pattern: stop here */
			const char *val =
			    lookup(v, p + i + 2, (size_t)(end - (p + i + 2)));
			if (val)
				append(out, size, &used, val, strlen(val));
			i = (size_t)(end - p);
		} else {
			char fmt[4] = {'%', c, 0, 0};
			size_t skip = 1;
			if ((c == 'E' || c == 'O') && p[i + 2]) {
				fmt[2] = p[i + 2];
				skip = 2;
			}
			char buf[OV_TEXT_MAX];
			size_t len = strftime(buf, sizeof(buf), fmt, tm);
			append(out, size, &used, buf, len);
			i += skip;
		}
	}
	return used;
}
