/* The pipeline clock: CLOCK_MONOTONIC in ns, with its origin at the first
 * call (pipeline start), so timestamps are small and never jump. */
#include "internal.h"

#include <stdatomic.h>
#include <time.h>

static int64_t ts_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static _Atomic int64_t clock_origin;

int64_t vp_monotonic_ns(void)
{
	return ts_ns(CLOCK_MONOTONIC);
}

int64_t vp_clock_origin(void)
{
	int64_t o = atomic_load(&clock_origin);
	if (o == 0) {
		int64_t expected = 0, now = ts_ns(CLOCK_MONOTONIC) - 1;
		atomic_compare_exchange_strong(&clock_origin, &expected, now);
		o = atomic_load(&clock_origin);
	}
	return o;
}

int64_t vpipe_now(void)
{
	return ts_ns(CLOCK_MONOTONIC) - vp_clock_origin();
}

int64_t vpipe_wallclock(void)
{
	return ts_ns(CLOCK_REALTIME);
}

int64_t vpipe_clock_to_wall(int64_t pipeline_ns)
{
	/* Sample both clocks now: the offset follows NTP corrections. */
	int64_t mono = vpipe_now();
	int64_t wall = ts_ns(CLOCK_REALTIME);
	return wall - (mono - pipeline_ns);
}
