/* Logging: one line per message on stderr, level and node name first.
 * Under systemd (JOURNAL_STREAM set) lines carry a <N> syslog priority
 * prefix so journald files them at the right level; elsewhere they carry a
 * UTC timestamp. */
#include "internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int log_threshold = VPIPE_LOG_INFO;
static _Atomic int log_journal = -1; /* -1: not looked up yet */

void vp_log_set_level(int level)
{
	log_threshold = level;
}

int vp_log_level(void)
{
	return log_threshold;
}

int vp_log_parse_level(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {{"error", VPIPE_LOG_ERROR},
		     {"warn", VPIPE_LOG_WARN},
		     {"warning", VPIPE_LOG_WARN},
		     {"info", VPIPE_LOG_INFO},
		     {"debug", VPIPE_LOG_DEBUG}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].level;
	return -1;
}

bool vpipe_log_enabled(int level)
{
	return level <= log_threshold;
}

static const char *level_name(int level)
{
	switch (level) {
	case VPIPE_LOG_ERROR:
		return "error";
	case VPIPE_LOG_WARN:
		return "warn";
	case VPIPE_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void vpipe_vlog(struct vpipe_node *node, int level, const char *fmt, va_list ap)
{
	if (!vpipe_log_enabled(level))
		return;
	if (log_journal < 0)
		log_journal = getenv("JOURNAL_STREAM") != NULL;
	char raw[2048], msg[2048];
	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* One line per message (journald and grep rely on it), and no raw
	 * control bytes from a file or a peer reach the terminal. */
	vp_escape_controls(raw, msg, sizeof(msg));
	const char *who = node ? vpipe_node_name(node) : "vpipe";
	if (log_journal) {
		fprintf(stderr, "<%d>%s: %s\n", level, who, msg);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_name(level),
		who, msg);
}

void vpipe_log(struct vpipe_node *node, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vpipe_vlog(node, level, fmt, ap);
	va_end(ap);
}
