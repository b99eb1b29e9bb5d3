/* One segment file of the recorder: the muxer's header rewritten with room
 * for an index, then clusters appended through a large buffer, then, on a
 * clean close, the file finalised (cluster sizes, Cues, Duration, SeekHead,
 * Segment size) so players can seek. Until then the file is a live
 * Matroska stream (Segment of unknown size) that plays up to its last
 * complete cluster if the power goes. */
#ifndef VPIPE_RECORD_SEGMENT_H
#define VPIPE_RECORD_SEGMENT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "mkv_scan.h"

/* Bytes kept free after Segment for the SeekHead written at close. */
#define SEG_SEEKHEAD_ROOM 128

struct seg_cue {
	uint64_t time;	/* cluster timecode, ticks */
	uint64_t track; /* track of its first (key) block */
	uint64_t pos;	/* Cluster ID offset from the Segment payload start */
};

/* Where a cluster's first frame began, with what was known before it: the
 * point a failed file is cut back to. */
struct seg_boundary {
	uint64_t off;
	uint64_t end_tc;
	int64_t end_pts;
	size_t num_cues;
	int have_time, have_pts;
};

struct seg_writer {
	int fd; /* -1 when no file is open */
	char path[PATH_MAX];

	uint8_t *buf; /* appended bytes not yet written */
	size_t buf_len, buf_cap;
	uint64_t written; /* bytes in the file */

	uint64_t seg_size_off; /* Segment size field, 8 bytes */
	uint64_t seg_data_off; /* Segment payload */
	uint64_t seekhead_off; /* the Void reserved for the SeekHead */
	uint64_t duration_off; /* the Void reserved for Duration, in Info */
	uint64_t info_pos, tracks_pos; /* from seg_data_off */
	uint64_t timecode_scale;

	int cluster_open;
	uint64_t cluster_size_off; /* its 8-byte size field */
	uint64_t cluster_pos;	   /* its ID, from seg_data_off */
	uint64_t cluster_tc;
	int cue_pending; /* its first block not seen yet */

	int have_time;
	uint64_t first_tc, end_tc, last_tc; /* ticks */
	/* The same span from the frames' pts, which are not rounded to
	 * ticks: Duration comes from these when every frame had one. */
	int have_pts;
	int64_t first_pts, end_pts;

	struct seg_cue *cues;
	size_t num_cues, cap_cues;
	struct seg_boundary *bounds;
	size_t num_bounds, cap_bounds;
	uint64_t frames;

	/* The last failure, for the log line. */
	const char *err_op;
	uint64_t err_off;
};

void seg_init(struct seg_writer *w);
/* Frees the buffers; the file must be closed. */
void seg_release(struct seg_writer *w);

/* Creates `path` (never replaces a file) and queues the rewritten stream
 * header. wall_ns: the recording's UTC start (DateUTC), 0 if unknown.
 * Returns 0 or -errno. */
int seg_open(struct seg_writer *w, const char *path, const uint8_t *hdr,
	     const struct mkv_header *h, int64_t wall_ns, size_t buf_cap);

/* Appends one muxer frame described by `s`; pts_ns is its pts
 * (INT64_MIN, i.e. VPIPE_TIME_NONE, if unknown), dur_ns its duration (0 if
 * unknown). Returns 0 or -errno (then call seg_abandon). */
int seg_write_frame(struct seg_writer *w, const uint8_t *data, size_t len,
		    const struct mkv_frame_scan *s, int64_t pts_ns,
		    int64_t dur_ns);

/* Logical size of the file (written + buffered). */
uint64_t seg_size(const struct seg_writer *w);
/* Time span of the frames written so far, ns. */
int64_t seg_duration_ns(const struct seg_writer *w);

int seg_flush(struct seg_writer *w);
/* Flush and fdatasync. */
int seg_sync(struct seg_writer *w);

/* Clean close: finalise and close. Returns 0, or -errno when the file could
 * not be finalised (it is closed and still plays up to its last cluster). */
int seg_finish(struct seg_writer *w);

/* Close after a write error: cut the file back to its last complete
 * cluster on disk and finalise what remains; a file without a complete
 * cluster is removed. Returns 1 if a file was kept, 0 if removed. */
int seg_abandon(struct seg_writer *w);
#endif
