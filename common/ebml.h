/* EBML primitives (RFC 8794) shared by the Matroska writer (mkv, record)
 * and readers (kvs-local, record). Higher-level Matroska code lives in its
 * own files; this one only knows variable-length integers and elements. */
#ifndef VPIPE_COMMON_EBML_H
#define VPIPE_COMMON_EBML_H

#include <stddef.h>
#include <stdint.h>

/* An element size of all ones: "unknown", used for live Segments/Clusters. */
#define EBML_SIZE_UNKNOWN UINT64_MAX

/* Matroska element IDs (with their length-marker bits, as on the wire). */
enum {
	MKV_ID_EBML = 0x1A45DFA3,
	MKV_ID_EBML_VERSION = 0x4286,
	MKV_ID_EBML_READ_VERSION = 0x42F7,
	MKV_ID_EBML_MAX_ID_LENGTH = 0x42F2,
	MKV_ID_EBML_MAX_SIZE_LENGTH = 0x42F3,
	MKV_ID_DOCTYPE = 0x4282,
	MKV_ID_DOCTYPE_VERSION = 0x4287,
	MKV_ID_DOCTYPE_READ_VERSION = 0x4285,
	MKV_ID_VOID = 0xEC,
	MKV_ID_SEGMENT = 0x18538067,
	MKV_ID_SEEKHEAD = 0x114D9B74,
	MKV_ID_SEEK = 0x4DBB,
	MKV_ID_SEEK_ID = 0x53AB,
	MKV_ID_SEEK_POSITION = 0x53AC,
	MKV_ID_INFO = 0x1549A966,
	MKV_ID_SEGMENT_UID = 0x73A4,
	MKV_ID_TIMECODE_SCALE = 0x2AD7B1,
	MKV_ID_DURATION = 0x4489,
	MKV_ID_DATE_UTC = 0x4461,
	MKV_ID_TITLE = 0x7BA9,
	MKV_ID_MUXING_APP = 0x4D80,
	MKV_ID_WRITING_APP = 0x5741,
	MKV_ID_TRACKS = 0x1654AE6B,
	MKV_ID_TRACK_ENTRY = 0xAE,
	MKV_ID_TRACK_NUMBER = 0xD7,
	MKV_ID_TRACK_UID = 0x73C5,
	MKV_ID_TRACK_TYPE = 0x83,
	MKV_ID_TRACK_NAME = 0x536E,
	MKV_ID_CODEC_ID = 0x86,
	MKV_ID_CODEC_PRIVATE = 0x63A2,
	MKV_ID_DEFAULT_DURATION = 0x23E383,
	MKV_ID_VIDEO = 0xE0,
	MKV_ID_PIXEL_WIDTH = 0xB0,
	MKV_ID_PIXEL_HEIGHT = 0xBA,
	MKV_ID_CLUSTER = 0x1F43B675,
	MKV_ID_TIMECODE = 0xE7,
	MKV_ID_SIMPLE_BLOCK = 0xA3,
	MKV_ID_BLOCK_GROUP = 0xA0,
	MKV_ID_BLOCK = 0xA1,
	MKV_ID_CUES = 0x1C53BB6B,
	MKV_ID_CUE_POINT = 0xBB,
	MKV_ID_CUE_TIME = 0xB3,
	MKV_ID_CUE_TRACK_POSITIONS = 0xB7,
	MKV_ID_CUE_TRACK = 0xF7,
	MKV_ID_CUE_CLUSTER_POSITION = 0xF1,
	MKV_ID_TAGS = 0x1254C367,
	MKV_ID_TAG = 0x7373,
	MKV_ID_TARGETS = 0x63C0,
	MKV_ID_SIMPLE_TAG = 0x67C8,
	MKV_ID_TAG_NAME = 0x45A3,
	MKV_ID_TAG_STRING = 0x4487,
};

/* Reading. Each returns the number of bytes used (>0), 0 when more input is
 * needed to decide, or -1 when the bytes cannot be an EBML value. */
int ebml_read_id(const uint8_t *p, size_t n, uint32_t *id);
/* Sizes of all ones decode as EBML_SIZE_UNKNOWN. */
int ebml_read_size(const uint8_t *p, size_t n, uint64_t *size);
/* Big-endian unsigned/signed integers of `len` (0-8) bytes. */
uint64_t ebml_read_uint(const uint8_t *p, size_t len);
int64_t ebml_read_int(const uint8_t *p, size_t len);

/* Writing. `out` must have room (at most 4 bytes for an ID, 8 for a size).
 * Returns the bytes written. */
size_t ebml_write_id(uint8_t *out, uint32_t id);
/* width 0: the shortest encoding; 1-8: exactly that many bytes. */
size_t ebml_write_size(uint8_t *out, uint64_t size, int width);
size_t ebml_id_length(uint32_t id);
size_t ebml_size_length(uint64_t size);

/* A growable output buffer for building elements. Zero-initialised it
 * owns malloc'd memory. With `grow` set it writes into memory the caller
 * owns (e.g. a frame payload, saving a copy): ebml_buf_reserve calls
 * grow(b, total bytes needed), which must update data/cap or return -1, and
 * ebml_buf_free leaves the memory alone. */
struct ebml_buf {
	uint8_t *data;
	size_t len, cap;
	int failed; /* set when an allocation failed; further writes do nothing
		     */
	int (*grow)(struct ebml_buf *b, size_t need);
	void *opaque; /* for grow */
};

void ebml_buf_reset(struct ebml_buf *b);
void ebml_buf_free(struct ebml_buf *b);
int ebml_buf_reserve(struct ebml_buf *b, size_t more);
void ebml_put_bytes(struct ebml_buf *b, const void *p, size_t n);
void ebml_put_id(struct ebml_buf *b, uint32_t id);
void ebml_put_size(struct ebml_buf *b, uint64_t size, int width);
/* Complete elements. */
void ebml_put_uint(struct ebml_buf *b, uint32_t id, uint64_t v);
void ebml_put_float(struct ebml_buf *b, uint32_t id, double v);
void ebml_put_string(struct ebml_buf *b, uint32_t id, const char *s);
void ebml_put_binary(struct ebml_buf *b, uint32_t id, const void *p, size_t n);
/* Open a master element with a size field of `width` bytes (8 if 0), to be
 * patched by ebml_end_master; returns the offset to pass there. */
size_t ebml_begin_master(struct ebml_buf *b, uint32_t id, int width);
void ebml_end_master(struct ebml_buf *b, size_t mark);
/* Open a master element of unknown size (live Segment, Cluster). */
void ebml_put_unknown_master(struct ebml_buf *b, uint32_t id);
#endif
