/* libFuzzer target for the INI value parsers (kernel/params.c): every value
 * a user writes in a graph file goes through them.
 *
 * Input: byte 0 picks a parameter of the table below (each type, bounded
 * and unbounded, ms and s as bare units), the rest is the value text (cut
 * at the first NUL, as inih would hand it over). Besides "no crash, no
 * sanitizer report" it checks properties that must hold for any text:
 *   - a parsed duration or size is within 0 .. 9.2e18 and survives
 *     format -> parse unchanged (vpipe check prints values that way);
 *   - a parsed double is finite;
 *   - vp_param_parse either stores a value inside the declared range or
 *     fails with a non-empty message, and the stored value formats;
 *   - a SECRET always formats as the mask, never as its text.
 */
#include "kernel/params.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vpipe/module.h>

struct cfg {
	const char *s, *path, *secret;
	int64_t i, i_bounded, dur_s, dur_ms, dur_bounded, size, size_bounded;
	double d, d_bounded;
	bool b;
	int e;
};

static const char *const choices[] = {"cbr", "vbr", "crf", NULL};

static const struct vpipe_param table[] = {
    VPIPE_P_STRING("s", struct cfg, s, NULL, 0, "a string"),
    VPIPE_P_PATH("path", struct cfg, path, NULL, 0, "a path"),
    VPIPE_P_SECRET("secret", struct cfg, secret, 0, "a secret"),
    VPIPE_P_INT("i", struct cfg, i, NULL, 1, 0, "unbounded int"),
    VPIPE_P_INT("i-bounded", struct cfg, i_bounded, NULL, 16, 8192,
		"bounded int"),
    VPIPE_P_DURATION("dur-s", struct cfg, dur_s, NULL, 1, 0, 0,
		     "bare number is seconds"),
    VPIPE_P_DURATION("dur-ms", struct cfg, dur_ms, NULL, 1, 0, VPIPE_MS,
		     "bare number is ms"),
    VPIPE_P_DURATION("dur-bounded", struct cfg, dur_bounded, NULL, 0.001, 3600,
		     VPIPE_MS, "bounded duration"),
    VPIPE_P_SIZE("size", struct cfg, size, NULL, 1, 0, "unbounded size"),
    VPIPE_P_SIZE("size-bounded", struct cfg, size_bounded, NULL, 4096,
		 64.0 * 1024 * 1024, "bounded size"),
    VPIPE_P_DOUBLE("d", struct cfg, d, NULL, 1, 0, "unbounded number"),
    VPIPE_P_DOUBLE("d-bounded", struct cfg, d_bounded, NULL, -1.5, 2.5,
		   "bounded number"),
    VPIPE_P_BOOL("b", struct cfg, b, NULL, "a bool"),
    VPIPE_P_ENUM("e", struct cfg, e, NULL, choices, "an enum"),
    VPIPE_P_END,
};
#define TABLE_LEN (sizeof(table) / sizeof(table[0]) - 1)

#define REQUIRE(cond, ...)                                                     \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_params: %s failed: ", #cond);    \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

static void check_duration(const char *text)
{
	int64_t ns;
	if (vp_parse_duration(text, &ns) != 0)
		return;
	REQUIRE(ns >= 0 && ns <= (int64_t)9.2e18, "'%s' -> %lld ns", text,
		(long long)ns);
	char buf[64];
	vp_format_duration(ns, buf, sizeof(buf));
	int64_t again;
	REQUIRE(vp_parse_duration(buf, &again) == 0 && again == ns,
		"'%s' -> %lld ns -> '%s' does not parse back", text,
		(long long)ns, buf);
}

static void check_size(const char *text)
{
	int64_t bytes;
	if (vp_parse_size(text, &bytes) != 0)
		return;
	REQUIRE(bytes >= 0 && bytes <= (int64_t)9.2e18, "'%s' -> %lld", text,
		(long long)bytes);
	char buf[64];
	vp_format_size(bytes, buf, sizeof(buf));
	int64_t again;
	REQUIRE(vp_parse_size(buf, &again) == 0 && again == bytes,
		"'%s' -> %lld bytes -> '%s' does not parse back", text,
		(long long)bytes, buf);
}

static void check_scalars(const char *text)
{
	int64_t i;
	double d;
	bool b;
	(void)vp_parse_int(text, &i);
	if (vp_parse_double(text, &d) == 0)
		REQUIRE(isfinite(d), "'%s' -> %g", text, d);
	(void)vp_parse_bool(text, &b);
}

static bool in_range(const struct vpipe_param *p, const struct cfg *c)
{
	if (p->min > p->max)
		return true;
	const char *f = (const char *)c + p->offset;
	switch (p->type) {
	case VPIPE_PARAM_INT:
	case VPIPE_PARAM_SIZE: {
		int64_t v;
		memcpy(&v, f, sizeof(v));
		return (double)v >= p->min && (double)v <= p->max;
	}
	case VPIPE_PARAM_DURATION: {
		int64_t v;
		memcpy(&v, f, sizeof(v));
		return (double)v >= p->min * 1e9 - 0.5 &&
		       (double)v <= p->max * 1e9 + 0.5;
	}
	case VPIPE_PARAM_DOUBLE: {
		double v;
		memcpy(&v, f, sizeof(v));
		return v >= p->min && v <= p->max;
	}
	default:
		return true;
	}
}

static void check_table_param(const struct vpipe_param *p, const char *text)
{
	struct cfg c;
	memset(&c, 0, sizeof(c));
	char err[512];
	err[0] = '\0';
	/* validate-only first (what `vpipe check` does), then for real: the
	 * two must agree */
	int only_check = vp_param_parse(p, text, NULL, err, sizeof(err));
	int rc = vp_param_parse(p, text, &c, err, sizeof(err));
	REQUIRE(only_check == rc, "%s = '%s': check %d, parse %d", p->name,
		text, only_check, rc);
	if (rc != 0) {
		REQUIRE(rc == -1 && err[0] != '\0' && strlen(err) < sizeof(err),
			"%s = '%s': rc %d, no message", p->name, text, rc);
	} else {
		REQUIRE(in_range(p, &c), "%s = '%s' accepted out of range",
			p->name, text);
		char out[256];
		vp_param_format_value(p, &c, out, sizeof(out));
		if (p->type == VPIPE_PARAM_SECRET)
			REQUIRE(!strcmp(out, "********"),
				"secret printed: '%s'", out);
	}
	char range[256];
	vp_param_describe_range(p, range, sizeof(range));
	vp_params_free(table, &c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';

	check_duration(text);
	check_size(text);
	check_scalars(text);
	check_table_param(&table[data[0] % TABLE_LEN], text);
	free(text);
	return 0;
}
