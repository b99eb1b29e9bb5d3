/* kvs-local's log: one line per event on stderr, UTC time first. */
#include "kvs_local.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void kl_log(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld kvs-local: %s\n", tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, line);
}

/* Where the value of a security token starts in text at p, or NULL: a
 * canonical request's header line "x-amz-security-token:" or a query
 * parameter "X-Amz-Security-Token=", or an HLS URL's "SessionToken=" (the
 * credential of a playback session). */
static const char *token_value(const char *p)
{
	static const char *const names[] = {
	    "x-amz-security-token:", "x-amz-security-token=", "sessiontoken="};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strncasecmp(p, names[i], strlen(names[i])))
			return p + strlen(names[i]);
	return NULL;
}

void kl_redact(struct strbuf *out, const char *text)
{
	const char *p = text;
	while (*p) {
		const char *v = token_value(p);
		if (!v) {
			sb_putc(out, *p++);
			continue;
		}
		sb_append(out, p, (size_t)(v - p));
		size_t n = strcspn(v, "&\n \t");
		sb_printf(out, "<hidden, %zu characters>", n);
		p = v + n;
	}
	if (!out->s)
		sb_puts(out, "");
}
