/* Cost of asking a schedule about its next fire time: the FAQ's office
 * hours, a special day (third Friday), the slowest searches (an expression
 * that never fires, so the search runs to the year 2199; every second of
 * Berlin's repeated hour, asked from its second pass), and in_window. Prints
 * microseconds per call; best of 5. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/quartz_cron.h"

enum { ROUNDS = 5 };

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench(const char *what, const char *expr, time_t from, int calls,
		  int window)
{
	struct quartz_schedule s;
	struct quartz_cron_error err;
	if (quartz_schedule_parse(&s, expr, 3599, &err)) {
		fprintf(stderr, "%s: %s\n", expr, err.msg);
		exit(1);
	}
	double best = 1e9;
	volatile long sink = 0;
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_s();
		for (int i = 0; i < calls; i++) {
			time_t f = 0;
			if (window)
				sink += quartz_schedule_in_window(&s, from + i,
								  NULL);
			else if (quartz_cron_next(&s.cron, from + i, &f))
				sink += (long)f;
		}
		double dt = (now_s() - t0) / calls;
		if (dt < best)
			best = dt;
	}
	printf("quartz_cron: %-34s %-26s %9.2f us/call\n", what, expr,
	       best * 1e6);
}

int main(void)
{
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	time_t june = 1781524800; /* 2026-06-15 12:00 UTC, a Monday */
	bench("next, office hours", "0 0 9-16 ? * MON-FRI *", june, 20000, 0);
	bench("next, third Friday", "0 0 12 ? * 6#3", june, 20000, 0);
	bench("in_window, office hours", "0 0 9-16 ? * MON-FRI *", june, 20000,
	      1);
	bench("next, never fires (to 2199)", "0 0 0 30 FEB ?", june, 50, 0);
	bench("next, from the repeated hour", "* * 2 * * ?", 1792890000 + 60,
	      50, 0); /* 2026-10-25 02:01 CET */
	return 0;
}
