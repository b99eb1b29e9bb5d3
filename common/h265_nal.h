/* H.265 Annex-B NAL units: the 2-byte header (type, layer, temporal id)
 * and the type classes muxing needs. Start codes and emulation prevention
 * are codec-neutral and come from h264_nal (h264_find_start_code,
 * h264_next_nal's offsets, h264_unescape). Part of h265.h. */
#ifndef VPIPE_COMMON_H265_NAL_H
#define VPIPE_COMMON_H265_NAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* nal_unit_type values (ITU-T H.265 Table 7-1). */
enum h265_nal_type {
	H265_NAL_TRAIL_N = 0,
	H265_NAL_RASL_R = 9,
	H265_NAL_BLA_W_LP = 16, /* 16..21: IRAP pictures (key frames) */
	H265_NAL_BLA_W_RADL = 17,
	H265_NAL_BLA_N_LP = 18,
	H265_NAL_IDR_W_RADL = 19,
	H265_NAL_IDR_N_LP = 20,
	H265_NAL_CRA = 21,
	H265_NAL_RSV_IRAP_23 = 23,
	H265_NAL_VPS = 32,
	H265_NAL_SPS = 33,
	H265_NAL_PPS = 34,
	H265_NAL_AUD = 35,
	H265_NAL_EOS = 36,
	H265_NAL_EOB = 37,
	H265_NAL_FD = 38,
	H265_NAL_SEI_PREFIX = 39,
	H265_NAL_SEI_SUFFIX = 40,
};

/* The 2-byte NAL unit header (7.3.1.2). */
struct h265_nal_header {
	uint8_t type;	     /* nal_unit_type, 6 bits */
	uint8_t layer_id;    /* nuh_layer_id, 6 bits */
	uint8_t temporal_id; /* nuh_temporal_id_plus1 - 1 */
};

/* Parse the header of a NAL unit of `size` bytes. Returns 0, or -1 when it
 * is shorter than 2 bytes, has forbidden_zero_bit set or
 * nuh_temporal_id_plus1 == 0 (not H.265). */
int h265_parse_nal_header(const uint8_t *nal, size_t size,
			  struct h265_nal_header *h);

static inline unsigned h265_nal_type(const uint8_t *nal)
{
	return (nal[0] >> 1) & 0x3f;
}

/* VCL NAL units (types 0..31) carry slice segments. */
static inline bool h265_nal_is_vcl(unsigned type)
{
	return type < 32;
}

/* IRAP (BLA, IDR, CRA; 16..23, 22 and 23 reserved IRAP types): a picture
 * decoding can start at, the H.265 key frame. */
static inline bool h265_nal_is_irap(unsigned type)
{
	return type >= H265_NAL_BLA_W_LP && type <= H265_NAL_RSV_IRAP_23;
}

const char *h265_nal_type_name(unsigned type);

/* One NAL unit inside an Annex-B buffer (see struct h264_nal). */
struct h265_nal {
	size_t start;  /* first byte of the start code */
	size_t offset; /* first byte of the NAL unit header */
	size_t size;   /* NAL unit bytes, header included */
	uint8_t type;  /* nal_unit_type */
	uint8_t layer_id, temporal_id;
};

/* Like h264_next_nal, with H.265 header fields. A NAL unit of one byte
 * (no room for its header) comes back with type 0xff. */
int h265_next_nal(const uint8_t *buf, size_t len, size_t *pos,
		  struct h265_nal *nal, size_t *garbage);

/* Does this NAL unit begin a new access unit when the current one already
 * holds a picture's slice segment? (7.4.2.4.4) `avail` bytes of it are at
 * nal (at least its header and a byte for a slice segment). */
bool h265_starts_new_au(const uint8_t *nal, size_t avail);

#endif
