/* Sensor timestamps onto the pipeline clock, pure code (unit-tested).
 *
 * libcamera reports when the first line of a frame was exposed, in ns of
 * the kernel's CLOCK_MONOTONIC (V4L2 buffer and sensor timestamps). The
 * module samples that clock and the pipeline clock together when a frame
 * completes; the frame's age on the sensor clock is its age on the
 * pipeline clock. Results never go backwards. */
#ifndef VPIPE_LC_TIME_H
#define VPIPE_LC_TIME_H

#include <stdbool.h>
#include <stdint.h>

struct lc_clock_map {
	bool have;
	int64_t last_pts;
};

/* sensor_ns: the frame's timestamp; sensor_now / pipeline_now: both clocks
 * read at the same moment. Returns the frame's pts. A timestamp of 0 (not
 * given by the driver) or in the future counts as "now". */
int64_t lc_map_timestamp(struct lc_clock_map *m, int64_t sensor_ns,
			 int64_t sensor_now, int64_t pipeline_now);

#endif
