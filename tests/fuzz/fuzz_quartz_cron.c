/* libFuzzer: Quartz cron parsing, and evaluating what parsed: every fire
 * time found is after the instant asked about, is found again from just
 * before it, and opens a window. */
#include "common/quartz_cron.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "Europe/Berlin", 1); /* DST gaps and repeated hours */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256)
		return 0;
	char expr[257];
	memcpy(expr, data, size);
	expr[size] = '\0';
	struct quartz_schedule s;
	struct quartz_cron_error err;
	if (quartz_schedule_parse(&s, expr, 60, &err)) {
		if (err.offset > size || !err.msg[0])
			__builtin_trap(); /* errors point into the input */
		return 0;
	}
	/* around the 2026 changes in Berlin, and a leap day */
	static const time_t from[] = {1774746000 - 5400, 1792890000 - 1800,
				      1792893600 - 600, 1835438400};
	for (size_t i = 0; i < sizeof from / sizeof *from; i++) {
		time_t f, g;
		if (!quartz_cron_next(&s.cron, from[i], &f))
			continue;
		if (f <= from[i])
			__builtin_trap();
		if (!quartz_cron_next(&s.cron, f - 1, &g) || g != f)
			__builtin_trap();
		struct quartz_window w;
		if (!quartz_schedule_in_window(&s, f, &w) || w.start > f ||
		    w.end <= f)
			__builtin_trap();
	}
	return 0;
}
