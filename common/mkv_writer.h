/* Matroska writing for live streams (the `mkv` muxer, and anything that
 * needs the same bytes): the stream header, clusters of unknown size,
 * SimpleBlocks from Annex-B H.264 access units, and Tags. Pure functions
 * appending to an ebml_buf; no state, no I/O.
 *
 * The layout is the one Amazon Kinesis Video Streams ingests: EBML header,
 * Segment of unknown size, Info, Tracks, then for each fragment an optional
 * Tags element followed by a Cluster of unknown size holding a Timecode and
 * SimpleBlocks (the Cluster ends where the next level-1 element begins). */
#ifndef VPIPE_COMMON_MKV_WRITER_H
#define VPIPE_COMMON_MKV_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ebml.h"

#define MKV_TRACK_TYPE_VIDEO 1

struct mkv_video_track {
	uint64_t number;      /* TrackNumber, non-zero (KVS: video is 1) */
	uint64_t uid;	      /* TrackUID, non-zero */
	const char *name;     /* Name; NULL: none */
	const char *codec_id; /* e.g. "V_MPEG4/ISO/AVC" */
	const uint8_t *codec_private; /* avcC record for H.264 */
	size_t codec_private_len;
	uint32_t width, height;	      /* PixelWidth/PixelHeight */
	uint64_t default_duration_ns; /* DefaultDuration; 0: not written */
};

struct mkv_segment_info {
	uint64_t timecode_scale_ns; /* TimecodeScale (1000000 = 1 ms) */
	const char *muxing_app, *writing_app;
};

/* EBML header (DocType matroska, version 2: SimpleBlock). */
void mkv_write_ebml_header(struct ebml_buf *b);

/* EBML header + Segment (unknown size) + Info + Tracks with one track. */
void mkv_write_stream_header(struct ebml_buf *b,
			     const struct mkv_segment_info *info,
			     const struct mkv_video_track *track);

/* Cluster of unknown size and its Timecode (in TimecodeScale units). */
void mkv_write_cluster_start(struct ebml_buf *b, uint64_t timecode);

/* SimpleBlock flags byte (Matroska 4.0 SimpleBlock structure). */
#define MKV_BLOCK_KEY	      0x80
#define MKV_BLOCK_DISCARDABLE 0x01

/* A SimpleBlock holding `data` as it is. */
void mkv_write_simple_block(struct ebml_buf *b, uint64_t track,
			    int16_t rel_timecode, uint8_t flags,
			    const uint8_t *data, size_t n);

/* A SimpleBlock holding an Annex-B access unit converted to 4-byte
 * length-prefixed NAL units (what V_MPEG4/ISO/AVC wants). Returns 0, or -1
 * when the access unit holds no NAL unit or is above 256 MB. */
int mkv_write_simple_block_h264(struct ebml_buf *b, uint64_t track,
				int16_t rel_timecode, uint8_t flags,
				const uint8_t *annexb, size_t n);

struct mkv_simple_tag {
	const char *name;
	const char *value; /* "" writes an empty TagString */
};

/* Tags > Tag > (Targets, SimpleTag{TagName, TagString}...) for n tags,
 * all in one Tag as the KVS event tags want. Nothing for n == 0. */
void mkv_write_tags(struct ebml_buf *b, const struct mkv_simple_tag *tags,
		    unsigned n);
#endif
