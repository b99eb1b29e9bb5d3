/* Parameter parsing and printing for the declarative parameter tables. */
#include "params.h"
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int vp_parse_int(const char *s, int64_t *v)
{
	if (!*s)
		return -1;
	char *end;
	errno = 0;
	/* Base 10, so "0640" is 640 as a user means it; "0x" for hex. */
	int base = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ||
			   ((s[0] == '-' || s[0] == '+') && s[1] == '0' &&
			    (s[2] == 'x' || s[2] == 'X'))
		       ? 16
		       : 10;
	long long x = strtoll(s, &end, base);
	if (errno || *end || end == s)
		return -1;
	*v = x;
	return 0;
}

int vp_parse_double(const char *s, double *v)
{
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(x))
		return -1;
	*v = x;
	return 0;
}

int vp_parse_bool(const char *s, bool *v)
{
	static const char *yes[] = {"true", "yes", "on", "1"};
	static const char *no[] = {"false", "no", "off", "0"};
	for (int i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*v = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*v = false;
			return 0;
		}
	}
	return -1;
}

/* A non-negative decimal number with an optional fraction, then a suffix. */
static int split_number(const char *s, double *num, const char **suffix)
{
	const char *p = s;
	if (!isdigit((unsigned char)*p) && *p != '.')
		return -1;
	char *end;
	errno = 0;
	double x = strtod(p, &end);
	if (errno || end == p || !isfinite(x) || x < 0)
		return -1;
	while (*end == ' ')
		end++;
	*num = x;
	*suffix = end;
	return 0;
}

/* Only 0 means the same in every unit: any other number must say its. */
static bool missing_unit(double x, const char *suffix)
{
	return !*suffix && x != 0;
}

int vp_parse_duration(const char *s, int64_t *ns)
{
	static const struct {
		const char *suffix;
		int64_t ns;
	} units[] = {{"ns", 1},
		     {"us", 1000},
		     {"ms", 1000000},
		     {"s", 1000000000LL},
		     {"sec", 1000000000LL},
		     {"m", 60000000000LL},
		     {"min", 60000000000LL},
		     {"h", 3600000000000LL},
		     {"d", 86400000000000LL}};
	double x;
	const char *suffix;
	if (split_number(s, &x, &suffix))
		return -1;
	if (missing_unit(x, suffix))
		return VP_PARSE_NO_UNIT;
	int64_t unit = 1;
	if (*suffix) {
		unit = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strcmp(suffix, units[i].suffix))
				unit = units[i].ns;
		if (!unit)
			return -1;
	}
	double v = x * (double)unit;
	if (v > 9.2e18)
		return -1;
	*ns = (int64_t)llround(v);
	return 0;
}

int vp_parse_size(const char *s, int64_t *bytes)
{
	double x;
	const char *suffix;
	if (split_number(s, &x, &suffix))
		return -1;
	if (missing_unit(x, suffix))
		return VP_PARSE_NO_UNIT;
	double mult = 1;
	char c = (char)tolower((unsigned char)suffix[0]);
	if (c) {
		const char *rest = suffix + 1;
		if (c == 'k')
			mult = 1024.0;
		else if (c == 'm')
			mult = 1024.0 * 1024;
		else if (c == 'g')
			mult = 1024.0 * 1024 * 1024;
		else if (c == 'b' && !*rest)
			mult = 1;
		else
			return -1;
		/* "k", "kb", "kib" all mean 1024 */
		if (c != 'b' && *rest && strcasecmp(rest, "b") &&
		    strcasecmp(rest, "ib"))
			return -1;
	}
	double v = x * mult;
	if (v > 9.2e18 || v != floor(v))
		return -1;
	*bytes = (int64_t)v;
	return 0;
}

void vp_format_duration(int64_t ns, char *buf, size_t len)
{
	if (ns % 1000000000LL == 0)
		snprintf(buf, len, "%" PRId64 "s", ns / (int64_t)1000000000);
	else if (ns % 1000000LL == 0)
		snprintf(buf, len, "%" PRId64 "ms", ns / (int64_t)1000000);
	else if (ns % 1000LL == 0)
		snprintf(buf, len, "%" PRId64 "us", ns / (int64_t)1000);
	else
		snprintf(buf, len, "%" PRId64 "ns", ns);
}

void vp_format_size(int64_t b, char *buf, size_t len)
{
	if (b && b % (1024LL * 1024 * 1024) == 0)
		snprintf(buf, len, "%" PRId64 "G", b / ((int64_t)1 << 30));
	else if (b && b % (1024LL * 1024) == 0)
		snprintf(buf, len, "%" PRId64 "M", b / ((int64_t)1 << 20));
	else if (b && b % 1024 == 0)
		snprintf(buf, len, "%" PRId64 "k", b / 1024);
	else if (b)
		snprintf(buf, len, "%" PRId64 "B", b);
	else
		snprintf(buf, len, "0");
}

const char *vp_param_type_name(uint32_t type)
{
	switch (type) {
	case VPIPE_PARAM_STRING:
		return "string";
	case VPIPE_PARAM_INT:
		return "int";
	case VPIPE_PARAM_BOOL:
		return "bool";
	case VPIPE_PARAM_ENUM:
		return "enum";
	case VPIPE_PARAM_DURATION:
		return "duration";
	case VPIPE_PARAM_SIZE:
		return "size";
	case VPIPE_PARAM_PATH:
		return "path";
	case VPIPE_PARAM_SECRET:
		return "secret";
	case VPIPE_PARAM_DOUBLE:
		return "number";
	default:
		return "?";
	}
}

void vp_duration_error(const char *key, const char *text, char *err,
		       size_t errlen)
{
	int64_t ns;
	if (vp_parse_duration(text, &ns) == VP_PARSE_NO_UNIT)
		snprintf(err, errlen,
			 "invalid value '%s' for %s: a duration needs a unit: "
			 "write %ss or %sms (units: ns, us, ms, s, m, h, d)",
			 text, key, text, text);
	else
		snprintf(err, errlen,
			 "invalid value '%s' for %s: a duration like 500ms, "
			 "2s, 1m or 1h",
			 text, key);
}

void vp_size_error(const char *key, const char *text, char *err, size_t errlen)
{
	int64_t b;
	if (vp_parse_size(text, &b) == VP_PARSE_NO_UNIT)
		snprintf(err, errlen,
			 "invalid value '%s' for %s: a size needs a unit: "
			 "write %sB for bytes, or %sk or %sM (k, M, G are "
			 "1024, 1024^2, 1024^3 bytes)",
			 text, key, text, text, text);
	else
		snprintf(err, errlen,
			 "invalid value '%s' for %s: a size like 512B, 64k, "
			 "16M or 1G",
			 text, key);
}

static bool bounded(const struct vpipe_param *p)
{
	return p->min <= p->max;
}

void vp_param_describe_range(const struct vpipe_param *p, char *buf, size_t len)
{
	buf[0] = 0;
	if (p->type == VPIPE_PARAM_ENUM && p->choices) {
		size_t off = (size_t)snprintf(buf, len, "one of:");
		for (const char *const *c = p->choices; *c && off < len; c++)
			off += (size_t)snprintf(buf + off, len - off, "%s %s",
						c == p->choices ? "" : ",", *c);
		return;
	}
	if (p->type == VPIPE_PARAM_BOOL) {
		snprintf(buf, len, "true or false");
		return;
	}
	if (!bounded(p))
		return;
	char lo[32], hi[32];
	switch (p->type) {
	case VPIPE_PARAM_DURATION:
		vp_format_duration((int64_t)llround(p->min * 1e9), lo,
				   sizeof(lo));
		vp_format_duration((int64_t)llround(p->max * 1e9), hi,
				   sizeof(hi));
		break;
	case VPIPE_PARAM_SIZE:
		vp_format_size((int64_t)p->min, lo, sizeof(lo));
		vp_format_size((int64_t)p->max, hi, sizeof(hi));
		break;
	case VPIPE_PARAM_INT:
		snprintf(lo, sizeof(lo), "%.0f", p->min);
		snprintf(hi, sizeof(hi), "%.0f", p->max);
		break;
	case VPIPE_PARAM_DOUBLE:
		snprintf(lo, sizeof(lo), "%g", p->min);
		snprintf(hi, sizeof(hi), "%g", p->max);
		break;
	default:
		return;
	}
	snprintf(buf, len, "%s to %s", lo, hi);
}

static void *field(void *config, const struct vpipe_param *p)
{
	return (char *)config + p->offset;
}

static int range_error(const struct vpipe_param *p, char *err, size_t errlen)
{
	char r[256];
	vp_param_describe_range(p, r, sizeof(r));
	snprintf(err, errlen, "out of range: %s must be %s", p->name, r);
	return -1;
}

static int parse_string(const struct vpipe_param *p, const char *text,
			void *config, char *err, size_t errlen)
{
	if (p->type == VPIPE_PARAM_PATH && !*text) {
		snprintf(err, errlen, "%s: an empty path", p->name);
		return -1;
	}
	if (!config)
		return 0;
	char **slot = field(config, p);
	free(*slot);
	*slot = vp_strdup(text);
	return 0;
}

static int parse_enum(const struct vpipe_param *p, const char *text,
		      void *config, char *err, size_t errlen)
{
	for (int i = 0; p->choices && p->choices[i]; i++)
		if (!strcmp(text, p->choices[i])) {
			if (config)
				*(int *)field(config, p) = i;
			return 0;
		}
	char r[256];
	vp_param_describe_range(p, r, sizeof(r));
	snprintf(err, errlen, "invalid value '%s' for %s: %s", text, p->name,
		 r);
	return -1;
}

int vp_param_parse(const struct vpipe_param *p, const char *text, void *config,
		   char *err, size_t errlen)
{
	int64_t i64;
	double d;
	bool b;
	switch (p->type) {
	case VPIPE_PARAM_STRING:
	case VPIPE_PARAM_PATH:
	case VPIPE_PARAM_SECRET:
		return parse_string(p, text, config, err, errlen);
	case VPIPE_PARAM_ENUM:
		return parse_enum(p, text, config, err, errlen);
	case VPIPE_PARAM_BOOL:
		if (vp_parse_bool(text, &b)) {
			snprintf(
			    err, errlen,
			    "invalid value '%s' for %s: a bool (true/false, "
			    "yes/no, on/off, 1/0)",
			    text, p->name);
			return -1;
		}
		if (config)
			*(bool *)field(config, p) = b;
		return 0;
	case VPIPE_PARAM_INT:
		if (vp_parse_int(text, &i64)) {
			snprintf(err, errlen,
				 "invalid value '%s' for %s: an integer", text,
				 p->name);
			return -1;
		}
		if (bounded(p) &&
		    ((double)i64 < p->min || (double)i64 > p->max))
			return range_error(p, err, errlen);
		if (config)
			*(int64_t *)field(config, p) = i64;
		return 0;
	case VPIPE_PARAM_DOUBLE:
		if (vp_parse_double(text, &d)) {
			snprintf(err, errlen,
				 "invalid value '%s' for %s: a number", text,
				 p->name);
			return -1;
		}
		if (bounded(p) && (d < p->min || d > p->max))
			return range_error(p, err, errlen);
		if (config)
			*(double *)field(config, p) = d;
		return 0;
	case VPIPE_PARAM_DURATION:
		if (vp_parse_duration(text, &i64)) {
			vp_duration_error(p->name, text, err, errlen);
			return -1;
		}
		if (bounded(p) && ((double)i64 < p->min * 1e9 - 0.5 ||
				   (double)i64 > p->max * 1e9 + 0.5))
			return range_error(p, err, errlen);
		if (config)
			*(int64_t *)field(config, p) = i64;
		return 0;
	case VPIPE_PARAM_SIZE:
		if (vp_parse_size(text, &i64)) {
			vp_size_error(p->name, text, err, errlen);
			return -1;
		}
		if (bounded(p) &&
		    ((double)i64 < p->min || (double)i64 > p->max))
			return range_error(p, err, errlen);
		if (config)
			*(int64_t *)field(config, p) = i64;
		return 0;
	default:
		snprintf(err, errlen, "%s: unknown parameter type %u", p->name,
			 p->type);
		return -1;
	}
}

int vp_params_defaults(const struct vpipe_param *table, void *config, char *err,
		       size_t errlen)
{
	for (const struct vpipe_param *p = table; p && p->name; p++) {
		if (!p->def)
			continue;
		char e[512];
		if (vp_param_parse(p, p->def, config, e, sizeof(e))) {
			snprintf(err, errlen, "bad default for %s: %s", p->name,
				 e);
			return -1;
		}
	}
	return 0;
}

/* Lower-case words joined by '-', as every key in the INI is. */
static bool key_name_ok(const char *n)
{
	if (!n[0] || n[0] < 'a' || n[0] > 'z')
		return false;
	for (const char *c = n; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      (*c == '-' && c[1] && c[1] != '-')))
			return false;
	return true;
}

int vp_params_check_table(const struct vpipe_param *table, char *err,
			  size_t errlen)
{
	for (const struct vpipe_param *p = table; p && p->name; p++) {
		char e[512];
		if (!key_name_ok(p->name)) {
			snprintf(err, errlen,
				 "parameter '%s': names are lower-case words "
				 "joined by '-'",
				 p->name);
			return -1;
		}
		if (vp_param_find(table, p->name) != p) {
			snprintf(err, errlen,
				 "parameter '%s' is declared twice", p->name);
			return -1;
		}
		if (p->def && vp_param_parse(p, p->def, NULL, e, sizeof(e))) {
			snprintf(err, errlen,
				 "the default of '%s' is invalid: %s", p->name,
				 e);
			return -1;
		}
	}
	return 0;
}

void vp_params_free(const struct vpipe_param *table, void *config)
{
	if (!config)
		return;
	for (const struct vpipe_param *p = table; p && p->name; p++)
		if (p->type == VPIPE_PARAM_STRING ||
		    p->type == VPIPE_PARAM_PATH ||
		    p->type == VPIPE_PARAM_SECRET) {
			char **slot = field(config, p);
			free(*slot);
			*slot = NULL;
		}
}

const struct vpipe_param *vp_param_find(const struct vpipe_param *table,
					const char *name)
{
	for (const struct vpipe_param *p = table; p && p->name; p++)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

void vp_params_print(const struct vpipe_param *table, FILE *out)
{
	for (const struct vpipe_param *p = table; p && p->name; p++) {
		char range[512], def[256];
		vp_param_describe_range(p, range, sizeof(range));
		if (!p->def)
			snprintf(def, sizeof(def), "%s",
				 p->flags & VPIPE_PARAM_REQUIRED ? "required"
								 : "none");
		else if (p->type == VPIPE_PARAM_SECRET)
			snprintf(def, sizeof(def), "********");
		else
			snprintf(def, sizeof(def), "%s", p->def);
		fprintf(out, "  %-24s %-8s default %s%s%s%s\n", p->name,
			vp_param_type_name(p->type), def,
			(p->flags & VPIPE_PARAM_REQUIRED) && p->def
			    ? ", required"
			    : "",
			range[0] ? "; " : "", range);
		if (p->help)
			fprintf(out, "  %-24s %s\n", "", p->help);
	}
}

/* A masked URL shows all but its password: rtsp://user:***@host/path.
 * Returns false when the value is not a URL. */
static bool mask_url_password(const char *v, char *buf, size_t len)
{
	const char *scheme = strstr(v, "://");
	if (!scheme)
		return false;
	const char *auth = scheme + 3;
	const char *at = strchr(auth, '@');
	const char *slash = strchr(auth, '/');
	if (!at || (slash && slash < at)) {
		snprintf(buf, len, "%s", v); /* no credentials in it */
		return true;
	}
	const char *colon = memchr(auth, ':', (size_t)(at - auth));
	if (!colon)
		snprintf(buf, len, "%s", v); /* a user name only: no secret */
	else
		snprintf(buf, len, "%.*s:***%s", (int)(colon - v), v, at);
	return true;
}

void vp_param_format_value(const struct vpipe_param *p, const void *config,
			   char *buf, size_t len)
{
	const void *f = (const char *)config + p->offset;
	if (p->type != VPIPE_PARAM_SECRET && (p->flags & VPIPE_PARAM_MASKED) &&
	    *(char *const *)f && mask_url_password(*(char *const *)f, buf, len))
		return;
	if (p->type == VPIPE_PARAM_SECRET || (p->flags & VPIPE_PARAM_MASKED)) {
		snprintf(buf, len, "%s",
			 *(char *const *)f ? "********" : "(unset)");
		return;
	}
	switch (p->type) {
	case VPIPE_PARAM_STRING:
	case VPIPE_PARAM_PATH:
		snprintf(buf, len, "%s",
			 *(char *const *)f ? *(char *const *)f : "(unset)");
		break;
	case VPIPE_PARAM_INT:
		snprintf(buf, len, "%" PRId64, *(const int64_t *)f);
		break;
	case VPIPE_PARAM_DOUBLE:
		snprintf(buf, len, "%g", *(const double *)f);
		break;
	case VPIPE_PARAM_BOOL:
		snprintf(buf, len, "%s", *(const bool *)f ? "true" : "false");
		break;
	case VPIPE_PARAM_ENUM: {
		int i = *(const int *)f;
		snprintf(buf, len, "%s", p->choices ? p->choices[i] : "?");
		break;
	}
	case VPIPE_PARAM_DURATION:
		vp_format_duration(*(const int64_t *)f, buf, len);
		break;
	case VPIPE_PARAM_SIZE:
		vp_format_size(*(const int64_t *)f, buf, len);
		break;
	default:
		snprintf(buf, len, "?");
	}
}
