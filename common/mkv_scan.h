/* Walking Matroska elements in memory: element headers, the stream header
 * a muxer sends (EBML header + Segment of unknown size + Info + Tracks), and
 * the cluster data that follows it, one muxer frame at a time. Readers of
 * our own MKV stream (record, kvs-local, tests) use this instead of each
 * re-deriving EBML walking. Nothing here allocates; results point into the
 * caller's buffer. */
#ifndef VPIPE_COMMON_MKV_SCAN_H
#define VPIPE_COMMON_MKV_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "ebml.h"

/* One element header. */
struct mkv_elem {
	uint32_t id;
	uint64_t size;	 /* payload bytes, or EBML_SIZE_UNKNOWN */
	size_t offset;	 /* of the ID, in the buffer passed in */
	size_t head_len; /* ID + size field */
	size_t size_len; /* size field alone */
};

/* Reads the element header at buf[off]. Returns 1 when read, 0 when the
 * buffer ends inside the header, -1 when the bytes are not an element. It
 * does not check that the payload fits in the buffer. */
int mkv_elem_read(const uint8_t *buf, size_t len, size_t off,
		  struct mkv_elem *e);

/* Payload end offset of a known-size element, or SIZE_MAX when it is
 * unknown-size or runs past `len`. */
size_t mkv_elem_end(const struct mkv_elem *e, size_t len);

/* A byte range inside the header buffer. */
struct mkv_range {
	size_t off, len;
};

#define MKV_HEADER_MAX_EXTRA 8

/* The parts of a stream header. Ranges index the buffer given to
 * mkv_header_split. */
struct mkv_header {
	struct mkv_range ebml;	 /* the whole EBML header element */
	struct mkv_range info;	 /* Info payload (its children only) */
	struct mkv_range tracks; /* the whole Tracks element */
	/* Other level-1 elements (Tags, Chapters, Attachments) in order;
	 * SeekHead, Cues and Void are dropped since their positions would be
	 * wrong in any file but the muxer's own. */
	struct mkv_range extra[MKV_HEADER_MAX_EXTRA];
	unsigned num_extra;
	uint64_t timecode_scale; /* ns per tick, 1000000 when absent */
};

/* Splits a stream header. Returns 0, or -1 with *err_off set to the byte
 * offset of the problem and *err naming it. */
int mkv_header_split(const uint8_t *buf, size_t len, struct mkv_header *h,
		     size_t *err_off, const char **err);

/* What one muxer frame of cluster data holds. */
struct mkv_frame_scan {
	/* Offset of the first level-1 element (Tags, Cluster) in the frame:
	 * the bytes before it are children of the cluster already open. Equal
	 * to the frame length when there is none. */
	size_t level1_off;
	int has_cluster;	 /* a Cluster starts in this frame */
	size_t cluster_off;	 /* its ID */
	size_t cluster_size_off; /* its size field */
	size_t cluster_size_len;
	int has_timecode;
	uint64_t cluster_timecode; /* Cluster Timecode, in ticks */
	unsigned blocks;	   /* SimpleBlocks and Blocks seen */
	int first_key;		   /* first block is a key frame */
	uint64_t first_track;
	int16_t first_rel; /* block timecodes relative to the cluster */
	int16_t max_rel;
};

/* Scans one frame of cluster data. Every element must end inside the frame,
 * except a Cluster, whose children may follow in later frames. Returns 0,
 * or -1 with *err_off / *err describing the problem. */
int mkv_scan_frame(const uint8_t *buf, size_t len, struct mkv_frame_scan *s,
		   size_t *err_off, const char **err);
#endif
