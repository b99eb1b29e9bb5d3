/* H.264 Annex-B scanning: NAL unit types, NAL units separated by 3- or
 * 4-byte start codes, emulation-prevention removal. Part of h264.h. */
#ifndef VPIPE_COMMON_H264_NAL_H
#define VPIPE_COMMON_H264_NAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* nal_unit_type values (Table 7-1). */
enum h264_nal_type {
	H264_NAL_SLICE = 1, /* non-IDR picture slice */
	H264_NAL_DPA = 2,   /* data partitions A, B, C */
	H264_NAL_DPB = 3,
	H264_NAL_DPC = 4,
	H264_NAL_IDR = 5, /* slice of an IDR picture: a key frame */
	H264_NAL_SEI = 6,
	H264_NAL_SPS = 7,
	H264_NAL_PPS = 8,
	H264_NAL_AUD = 9, /* access unit delimiter */
	H264_NAL_END_SEQUENCE = 10,
	H264_NAL_END_STREAM = 11,
	H264_NAL_FILLER = 12,
	H264_NAL_SPS_EXT = 13,
	H264_NAL_PREFIX = 14,
	H264_NAL_SUBSET_SPS = 15,
	H264_NAL_AUX_SLICE = 19,
};

/* True for the NAL types that carry coded picture data (VCL). */
static inline bool h264_nal_is_vcl(unsigned type)
{
	return type >= H264_NAL_SLICE && type <= H264_NAL_IDR;
}

const char *h264_nal_type_name(unsigned type);

/* One NAL unit inside an Annex-B buffer. Offsets are relative to the start
 * of the buffer that was scanned. `size` excludes the start code and any
 * trailing zero bytes (trailing_zero_8bits belong to the next start code). */
struct h264_nal {
	size_t start;  /* first byte of the start code */
	size_t offset; /* first byte of the NAL unit (its header byte) */
	size_t size;   /* NAL unit bytes, header included */
	uint8_t type;  /* nal_unit_type */
	uint8_t ref_idc;
};

/* Find the next NAL unit at or after *pos in an Annex-B buffer holding only
 * complete NAL units (the end of the buffer ends the last one). Returns 1
 * and advances *pos past it, 0 when no NAL unit is left. Bytes before the
 * first start code are skipped; *garbage (if not NULL) receives how many. */
int h264_next_nal(const uint8_t *buf, size_t len, size_t *pos,
		  struct h264_nal *nal, size_t *garbage);

/* True when buf holds NAL units and none of them is a slice (VCL): a
 * buffer of parameter sets and SEI only, as some encoders hand out before
 * the first picture. */
bool h264_headers_only(const uint8_t *buf, size_t len);

/* Where the start code found at sc (its 00 00 01) really begins: one byte
 * earlier for a 4-byte start code (00 00 00 01), never before floor. */
static inline size_t h264_start_code_begin(const uint8_t *buf, size_t sc,
					   size_t floor)
{
	return sc > floor && buf[sc - 1] == 0 ? sc - 1 : sc;
}

/* True when p[0..n) holds a byte other than zero: bytes before a start
 * code are garbage only then (zero bytes are leading_zero_8bits). */
static inline bool h264_any_nonzero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return true;
	return false;
}

/* Offset of the first start code (00 00 01) at or after `from`, or `len`. */
size_t h264_find_start_code(const uint8_t *buf, size_t len, size_t from);

/* Remove emulation-prevention bytes (00 00 03 -> 00 00) from in[0..n) into
 * out (room for n bytes). Returns the bytes written. */
size_t h264_unescape(const uint8_t *in, size_t n, uint8_t *out);

#endif
