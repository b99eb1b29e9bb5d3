/* The libcamera module's timestamp mapping (sensor CLOCK_MONOTONIC time
 * onto the pipeline clock), which runs without a camera. */
#include "tests/unit/check.h"

#include "modules/libcamera/lc_time.h"

int main(void)
{
	struct lc_clock_map m = {0};
	const int64_t ms = 1000000;
	/* A frame exposed 12 ms before the clocks were read is 12 ms old on
	 * the pipeline clock too, whatever the clocks' origins. */
	CHECK_EQ_INT(lc_map_timestamp(&m, 5000 * ms, 5012 * ms, 800 * ms),
		     788 * ms);
	/* Next frame 33 ms later, read 5 ms after exposure. */
	CHECK_EQ_INT(lc_map_timestamp(&m, 5033 * ms, 5038 * ms, 826 * ms),
		     821 * ms);
	/* A driver without timestamps (0): the frame counts as "now". */
	CHECK_EQ_INT(lc_map_timestamp(&m, 0, 5100 * ms, 900 * ms), 900 * ms);
	/* A timestamp in the future is clamped to now, not trusted. */
	CHECK_EQ_INT(lc_map_timestamp(&m, 6000 * ms, 5200 * ms, 1000 * ms),
		     1000 * ms);
	/* Jitter in reading the clocks never sends time backwards. */
	CHECK_EQ_INT(lc_map_timestamp(&m, 5150 * ms, 5200 * ms, 1000 * ms),
		     1000 * ms + 1);
	CHECK_EQ_INT(lc_map_timestamp(&m, 5150 * ms, 5200 * ms, 1000 * ms),
		     1000 * ms + 2);
	/* A second camera has its own map. */
	struct lc_clock_map other = {0};
	CHECK_EQ_INT(lc_map_timestamp(&other, 10 * ms, 30 * ms, 50 * ms),
		     30 * ms);
	return check_done();
}
