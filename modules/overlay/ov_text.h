/* The overlay's text pattern: strftime(3) conversions on the frame's
 * capture time, plus %{NAME} substitutions. Checked once (at `vpipe
 * check`), expanded for every frame; no vpipe or font code here. */
#ifndef VPIPE_OV_TEXT_H
#define VPIPE_OV_TEXT_H

#include <stddef.h>
#include <time.h>

/* Longest expanded text, in bytes (longer is cut at a character). */
#define OV_TEXT_MAX 256

/* What %{...} refers to. tag(ctx, name) returns a frame tag's value or
 * NULL; it may be NULL itself (no tags). */
struct ov_vars {
	const char *node;				 /* %{node} */
	const char *label;				 /* %{label} */
	const char *(*tag)(void *ctx, const char *name); /* %{tag:NAME} */
	void *ctx;
};

/* 0 if `pattern` is valid; else -1 with the reason, naming the byte
 * offset, in err. */
int ov_pattern_check(const char *pattern, char *err, size_t err_size);

/* True when the pattern depends on the time (has a strftime conversion). */
int ov_pattern_uses_time(const char *pattern);

/* Expand a checked pattern for the time `tm` into out (always
 * NUL-terminated, at most OV_TEXT_MAX - 1 bytes). Returns the length. */
size_t ov_pattern_expand(const char *pattern, const struct ov_vars *v,
			 const struct tm *tm, char *out, size_t out_size);

#endif
