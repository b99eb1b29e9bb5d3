/* Sensor timestamps onto the pipeline clock: see lc_time.h. */
#include "lc_time.h"

int64_t lc_map_timestamp(struct lc_clock_map *m, int64_t sensor_ns,
			 int64_t sensor_now, int64_t pipeline_now)
{
	int64_t age = sensor_ns > 0 && sensor_ns <= sensor_now
			  ? sensor_now - sensor_ns
			  : 0;
	int64_t pts = pipeline_now - age;
	if (m->have && pts <= m->last_pts)
		pts = m->last_pts + 1; /* two frames never share a time */
	m->have = true;
	m->last_pts = pts;
	return pts;
}
