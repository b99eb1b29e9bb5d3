/* The kvs sink's disk spool: every frame of every fragment not yet
 * acknowledged, in append-only segment files, so that nothing is lost
 * across outages longer than RAM, kill -9 and power cuts.
 *
 * Layout of DIR: seg-NNNNNNNNNNNNNNNNNNNN.vsp (records, appended, never
 * rewritten) and beside each a seg-N.ack journal (fragment ids done).
 * A segment ends at a fragment boundary; it is deleted, with its journal,
 * once every fragment in it is done. Records:
 *
 *   0  magic "VSP1"          4
 *   4  type (1 header, 2 frame), flags (1: starts a fragment), 0, 0
 *   8  payload length        u32
 *  12  fragment id           u64 (0 for a header)
 *  20  cluster timecode, ms  i64
 *  28  pts, ns               i64
 *  36  wall clock, ns epoch  i64
 *  44  CRC-32 of bytes 0-43 and the payload
 *  48  payload
 *
 * Journal records: "VSPA", fragment id u64, CRC-32 of the 12 bytes before.
 * All integers big-endian. Each segment begins with the stream header in
 * force, so it stands alone once the older ones are gone.
 *
 * Opening the spool reads every record and checks its CRC: the first bad
 * one (a torn tail after a power cut, or damage) ends that segment; it is
 * logged with its offset and cut off (truncated), and everything before it
 * is kept. The node thread appends; the upload worker reads records in
 * order through a cursor and marks fragments done. One mutex guards it. */
#ifndef VPIPE_MODULES_KVS_SPOOL_H
#define VPIPE_MODULES_KVS_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVS_SPOOL_REC_HEAD    48
#define KVS_SPOOL_MAX_PAYLOAD (64u << 20)

enum kvs_spool_log { KVS_SPOOL_INFO, KVS_SPOOL_WARN };

struct kvs_spool_config {
	const char *dir;
	uint64_t max_bytes;	/* spool-size */
	uint64_t segment_bytes; /* roll to a new file past this */
	int64_t sync_interval;	/* ns; 0: fdatasync at every fragment end */
	bool block_when_full;	/* offline: refuse instead of dropping */
	void (*log)(void *ctx, enum kvs_spool_log level, const char *msg);
	void *log_ctx;
};

/* What opening found from an earlier run. */
struct kvs_spool_found {
	unsigned segments;
	uint64_t fragments, frames, bytes;
	int64_t oldest_wall, newest_wall; /* ns epoch, 0 unknown */
	int64_t last_frame_ms; /* newest frame's time (timecode domain) */
	unsigned damaged;      /* segments cut at a bad record */
	uint64_t cut_bytes;
};

/* What an append dropped to make room (policy drop-oldest). */
struct kvs_spool_drops {
	unsigned fragments, frames;
	uint64_t bytes;
};

struct kvs_spool;

/* Opens (creating DIR if needed) and recovers the spool; only one process
 * may use a spool directory at a time. Returns 0, or -1 with err. */
int kvs_spool_open(struct kvs_spool **out, const struct kvs_spool_config *cfg,
		   struct kvs_spool_found *found, char *err, size_t errlen);
void kvs_spool_close(struct kvs_spool *sp);

/* Producer side (node thread). Returns 0 stored, -1 with err on an I/O
 * error. */
int kvs_spool_put_header(struct kvs_spool *sp, const uint8_t *p, size_t n,
			 char *err, size_t errlen);
/* Returns 0 stored, 1 dropped (no header yet, waiting for the next
 * fragment after a drop, or full with block_when_full), -1 with err. */
int kvs_spool_put_frame(struct kvs_spool *sp, const uint8_t *p, size_t n,
			bool starts_fragment, int64_t timecode_ms, int64_t pts,
			int64_t wallclock, int64_t now,
			struct kvs_spool_drops *d, char *err, size_t errlen);
/* Would n more bytes fit without dropping anything? */
bool kvs_spool_has_room(struct kvs_spool *sp, size_t n);
/* The newest frame's time (cluster timecode + pts offset, ms), -1 none:
 * a new fragment must start after it. */
int64_t kvs_spool_last_ms(struct kvs_spool *sp);
/* End of stream: data made durable, the reader told no more comes. */
void kvs_spool_end(struct kvs_spool *sp);

/* Consumer side (upload worker). */
struct kvs_spool_rec {
	int type; /* 1 header, 2 frame */
	bool starts_fragment;
	uint64_t frag_id;
	int64_t timecode_ms, pts, wallclock;
	bool from_earlier_run;
	uint8_t *data; /* in the caller's buffer */
	size_t len;
};
enum kvs_spool_next {
	KVS_SPOOL_GOT = 1,
	KVS_SPOOL_NONE = 0, /* nothing more yet */
	KVS_SPOOL_EOS = 2,  /* end of stream and everything read */
};
/* Reads the record at the cursor into *buf (grown as needed) and moves
 * past it; fragments already done are skipped. A bad record (damage since
 * open) is logged and ends its segment. */
enum kvs_spool_next kvs_spool_next(struct kvs_spool *sp,
				   struct kvs_spool_rec *r, uint8_t **buf,
				   size_t *cap);
/* Anything for kvs_spool_next? */
bool kvs_spool_readable(struct kvs_spool *sp);
/* The fragment is delivered (or given up, counted by the caller). */
void kvs_spool_done(struct kvs_spool *sp, uint64_t frag_id);

struct kvs_spool_stats {
	uint64_t bytes, max_bytes;
	uint64_t fragments;	/* not done */
	int64_t oldest_wall;	/* first frame of the oldest not done */
	uint64_t replay_total;	/* fragments found at open */
	uint64_t replay_done;	/* of those, done */
	uint64_t written_bytes; /* appended since open */
	uint64_t syncs;
	uint64_t dropped_fragments, dropped_frames;
	unsigned segments;
};
void kvs_spool_stats(struct kvs_spool *sp, struct kvs_spool_stats *st);

uint32_t kvs_spool_crc32(uint32_t crc, const uint8_t *p, size_t n);
#endif
