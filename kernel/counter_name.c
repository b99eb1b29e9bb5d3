/* The one naming rule for the counters and gauges modules publish, as
 * Prometheus names metrics: lower-case words joined by '_', a counter ends
 * in "_total", a gauge does not, and a unit is spelled out as a suffix
 * ("_bytes", "_seconds"). Checked when a module first uses a name, so a
 * metric never appears under a name that breaks the scheme. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define MAX_NAME 64

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* Lower-case letters and digits in words joined by single '_', starting
 * with a letter. */
static const char *spelling_error(const char *name)
{
	if (!name || !*name)
		return "it is empty";
	if (strlen(name) > MAX_NAME)
		return "it is longer than 64 characters";
	for (const char *p = name; *p; p++) {
		bool lower = *p >= 'a' && *p <= 'z',
		     digit = *p >= '0' && *p <= '9';
		if (*p == '_' && (p[1] == '_' || p[1] == 0))
			return "words are joined by a single '_', with none at "
			       "the end";
		if (!lower && !digit && *p != '_')
			return "use lower-case letters, digits and '_' only";
	}
	if (name[0] < 'a' || name[0] > 'z')
		return "it must start with a lower-case letter";
	return NULL;
}

/* Units spelled as abbreviations: the suffix names the unit in full.
 * Writes the reason into why and returns true when one is found. */
static bool unit_abbreviated(const char *name, char *why, size_t len)
{
	static const struct {
		const char *abbrev, *unit;
	} units[] = {{"_ms", "_milliseconds"}, {"_us", "_microseconds"},
		     {"_ns", "_nanoseconds"},  {"_sec", "_seconds"},
		     {"_secs", "_seconds"},    {"_b", "_bytes"},
		     {"_kb", "_bytes"},	       {"_mb", "_bytes"}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		char with_total[16];
		snprintf(with_total, sizeof(with_total), "%s_total",
			 units[i].abbrev);
		if (ends_with(name, units[i].abbrev) ||
		    ends_with(name, with_total)) {
			snprintf(why, len, "spell the unit out: '%s', not '%s'",
				 units[i].unit, units[i].abbrev);
			return true;
		}
	}
	return false;
}

int vp_counter_name_check(const char *name, bool gauge, char *why, size_t len)
{
	const char *e = spelling_error(name);
	if (!e && !gauge && !ends_with(name, "_total"))
		e = "a counter's name ends in '_total' (frames_total, "
		    "written_bytes_total)";
	if (!e && gauge && ends_with(name, "_total"))
		e = "'_total' marks a counter; a gauge is named for what it "
		    "measures (queued_objects, content_store_bytes)";
	if (e) {
		snprintf(why, len, "%s", e);
		return -1;
	}
	return unit_abbreviated(name, why, len) ? -1 : 0;
}
