/* The Edge Agent's DeletionConfig as a pure function: given the local
 * segments of one stream, the configuration and "now", which segments to
 * delete and why, whether new media is denied, and how full the store is
 * (the agent's PercentageSpaceUsed). The recorder/uploader applies the
 * plan; nothing here touches files or reads a clock.
 *
 * Rules, in order (a segment gets the first reason that applies):
 *   1. DeleteAfterUpload: an uploaded segment (every fragment PERSISTED)
 *      is deleted.
 *   2. EdgeRetentionInHours: a segment whose media ended at least that long
 *      before now is deleted, uploaded or not. A segment from the future
 *      (the clock went back) is not old. 0 hours means the default, 720.
 *   3. MaxLocalMediaSizeInMB (1 MB = 1 MiB): when the kept bytes plus
 *      need_bytes (what the recorder is about to write; 0 to only tidy up)
 *      exceed the limit,
 *        DELETE_OLDEST_MEDIA deletes the oldest segments (by start time,
 *        uploaded or not) until they fit;
 *        DENY_NEW_MEDIA deletes nothing more and denies new media.
 *      New media is also denied when DELETE_OLDEST_MEDIA has nothing left
 *      to delete and it still does not fit.
 * A segment in use (being written or uploaded) is never deleted but counts
 * toward the size. A segment deleted before it was uploaded is lost: the
 * plan counts those apart so the caller can log and count them. */
#ifndef VPIPE_COMMON_EDGE_DELETION_H
#define VPIPE_COMMON_EDGE_DELETION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge_config.h"

struct edge_segment {
	int64_t start_ms, end_ms; /* media wall-clock time, ms since 1970 */
	uint64_t bytes;
	bool uploaded; /* every fragment PERSISTED */
	bool in_use;   /* being written or uploaded: never deleted */
};

enum edge_delete_reason {
	EDGE_KEEP,
	EDGE_DELETE_UPLOADED, /* DeleteAfterUpload */
	EDGE_DELETE_AGE,      /* EdgeRetentionInHours */
	EDGE_DELETE_SIZE,     /* MaxLocalMediaSizeInMB, DELETE_OLDEST_MEDIA */
};

struct edge_deletion_plan {
	size_t deleted, lost; /* lost: deleted before upload */
	uint64_t deleted_bytes, lost_bytes;
	uint64_t used_bytes;  /* kept, after the deletions */
	uint64_t limit_bytes; /* 0: no size limit */
	/* used / limit, the agent's PercentageSpaceUsed (scale 0-1; above 1
	 * when over the limit), 0 without a limit */
	double space_used;
	bool deny_new_media;
};

/* Fills reasons[i] for each segs[i] (any order) and *plan. 0, or -1 when
 * out of memory. */
int edge_deletion_plan(const struct edge_deletion *cfg,
		       const struct edge_segment *segs, size_t n,
		       int64_t now_ms, uint64_t need_bytes,
		       enum edge_delete_reason *reasons,
		       struct edge_deletion_plan *plan);

/* "uploaded", "age", "size" or "keep", for logs. */
const char *edge_delete_reason_name(enum edge_delete_reason r);
#endif
