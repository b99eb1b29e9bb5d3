/* One H.264 access unit inspected: key frame, parameter sets, where its
 * NAL units are. Part of h264.h. */
#ifndef VPIPE_COMMON_H264_AU_H
#define VPIPE_COMMON_H264_AU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h264_nal.h"

#define H264_AU_MAX_NALS 64

struct h264_au_info {
	bool key; /* holds an IDR slice: decodable on its own */
	bool has_sps, has_pps, has_aud, has_sei;
	unsigned num_slices; /* VCL NAL units */
	unsigned num_nals;   /* all NAL units (nals[] holds the first 64) */
	unsigned
	    sps_index; /* index into nals[] of the first SPS (if has_sps) */
	unsigned
	    pps_index; /* index into nals[] of the first PPS (if has_pps) */
	uint32_t slice_type; /* of the first slice */
	size_t garbage;	     /* bytes before the first start code */
	struct h264_nal nals[H264_AU_MAX_NALS];
};

/* Inspect one Annex-B access unit. Returns 0; -1 with a message in err when
 * it holds no NAL unit, a NAL unit with forbidden_zero_bit set, or no slice. */
int h264_au_info(const uint8_t *au, size_t len, struct h264_au_info *info,
		 char *err, size_t errlen);

/* The same, looking only at the NAL units up to the first slice (SPS, PPS,
 * SEI, AUD come before it): key, has_* and slice_type are as above, but
 * num_slices is 1 and that slice's size runs to the end of the access unit.
 * It does not read the picture data, so it costs little on large frames. */
int h264_au_info_head(const uint8_t *au, size_t len, struct h264_au_info *info,
		      char *err, size_t errlen);

#endif
