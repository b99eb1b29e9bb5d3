/* Incremental Matroska reader for live streams (PutMedia bodies, recorded
 * files): bytes go in as they arrive, in pieces of any size; out come
 * structural events (header start, track, cluster start and timecode,
 * blocks, tags, cluster end) and every input byte again, labelled with the
 * part of the stream it belongs to. Memory is bounded: blocks and unknown
 * elements are skipped, never buffered; only small leaves are kept. */
#ifndef VPIPE_COMMON_MKV_STREAM_H
#define VPIPE_COMMON_MKV_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which part of the stream a byte belongs to. */
enum mkv_section {
	MKV_SEC_HEADER,	 /* EBML header, Segment head, Info, Tracks */
	MKV_SEC_CLUSTER, /* a Cluster and everything in it */
	MKV_SEC_TAGS,	 /* a top-level Tags element */
	MKV_SEC_OTHER,	 /* SeekHead, Cues, Void, ... at the top level */
};

enum mkv_event_type {
	/* Start events come before the element's bytes are handed over. */
	MKV_EV_HEADER,	       /* an EBML header starts (a new stream) */
	MKV_EV_TIMECODE_SCALE, /* value: ns per timecode tick */
	MKV_EV_TRACK,	       /* track: its number (end of a TrackEntry) */
	MKV_EV_TRACKS_END,     /* value: number of TrackEntry elements */
	MKV_EV_CLUSTER_START,
	MKV_EV_CLUSTER_TIMECODE, /* value: the Cluster's Timecode */
	MKV_EV_BLOCK, /* track, timecode (relative), keyframe, size */
	MKV_EV_CLUSTER_END,
	MKV_EV_TAG,	 /* name, value: one SimpleTag */
	MKV_EV_TAGS_END, /* end of a top-level Tags element */
};

struct mkv_event {
	enum mkv_event_type type;
	uint64_t offset; /* stream offset of the element */
	uint64_t value;
	uint64_t size; /* element payload size (blocks) */
	uint64_t track;
	int16_t timecode;
	bool keyframe;
	const char *name, *string;
};

struct mkv_stream_callbacks {
	/* Return non-zero to stop parsing (mkv_stream_feed returns -1). */
	int (*event)(void *opaque, const struct mkv_event *ev);
	/* Every byte fed, in order, with its section. */
	int (*bytes)(void *opaque, enum mkv_section sec, const uint8_t *p,
		     size_t n);
	void *opaque;
};

#define MKV_STREAM_MAX_DEPTH 8
#define MKV_STREAM_LEAF_MAX  4096 /* largest leaf kept (tag strings) */

struct mkv_stream {
	struct mkv_stream_callbacks cb;
	uint64_t pos; /* stream offset of the next byte */
	int state;
	uint8_t hdr[12];
	size_t hdr_len;
	uint32_t id;
	uint64_t size;
	uint64_t elem_offset;
	uint64_t remaining; /* of the current leaf payload */
	enum mkv_section leaf_sec;
	int depth;
	struct {
		uint32_t id;
		uint64_t end; /* offset after the element, or UINT64_MAX */
		enum mkv_section sec;
	} stack[MKV_STREAM_MAX_DEPTH];
	uint8_t leaf[MKV_STREAM_LEAF_MAX + 1];
	size_t leaf_len, leaf_want;
	uint64_t track_number;
	unsigned tracks;
	char tag_name[MKV_STREAM_LEAF_MAX + 1];
	char tag_string[MKV_STREAM_LEAF_MAX + 1];
	bool seen_header;
	char error[160];
};

void mkv_stream_init(struct mkv_stream *m,
		     const struct mkv_stream_callbacks *cb);
/* Feed bytes. 0 on success; -1 on malformed input (m->error says what and
 * at which offset) or when a callback stopped it. */
int mkv_stream_feed(struct mkv_stream *m, const uint8_t *p, size_t n);
/* End of input: closes open unknown-size elements (CLUSTER_END). -1 if
 * the input stopped inside an element. */
int mkv_stream_finish(struct mkv_stream *m);
/* Is the reader inside a cluster right now? */
bool mkv_stream_in_cluster(const struct mkv_stream *m);
#endif
