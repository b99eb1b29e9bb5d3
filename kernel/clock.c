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

/* A test harness may stand in for the monotonic clock (harness.c): then
 * the pipeline clock reads what the harness set, and moves when it says. */
static _Atomic bool manual_clock;
static _Atomic int64_t manual_now;

void vp_clock_set_manual(bool on, int64_t now)
{
	atomic_store(&manual_now, now);
	atomic_store(&manual_clock, on);
}

void vp_clock_advance(int64_t ns)
{
	atomic_fetch_add(&manual_now, ns);
}

int64_t vpipe_now(void)
{
	if (atomic_load_explicit(&manual_clock, memory_order_relaxed))
		return atomic_load(&manual_now);
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
