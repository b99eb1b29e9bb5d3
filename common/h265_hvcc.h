/* H.265 for containers: the HEVCDecoderConfigurationRecord (hvcC, ISO/IEC
 * 14496-15 8.3.3.1) from VPS/SPS/PPS. Samples are length-prefixed like
 * H.264's: h264_annexb_to_avcc is codec-neutral. Part of h265.h. */
#ifndef VPIPE_COMMON_H265_HVCC_H
#define VPIPE_COMMON_H265_HVCC_H

#include <stddef.h>
#include <stdint.h>

/* The parameter-set NAL units of one stream (2-byte header included,
 * emulation prevention kept, as in the stream), in arrays of at most 16. */
struct h265_param_sets {
	const uint8_t *vps[16], *sps[16], *pps[16];
	size_t vps_len[16], sps_len[16], pps_len[16];
	unsigned nvps, nsps, npps;
};

/* Collect the VPS, SPS and PPS NAL units of an Annex-B access unit into ps
 * (pointing into au). Returns how many were found. */
unsigned h265_collect_param_sets(const uint8_t *au, size_t len,
				 struct h265_param_sets *ps);

/* Build an hvcC record with one array each of VPS, SPS and PPS
 * (array_completeness 0: the samples keep their own copies). Profile,
 * tier, level, chroma format and bit depths come from the first SPS,
 * numTemporalLayers from the VPS and SPS. min_spatial_segmentation_idc
 * and parallelismType are written 0 (unknown, always allowed), as is
 * avgFrameRate. Returns its size, or -1 with a message in err when a list
 * is empty, the first VPS or SPS does not parse, or cap is too small. */
long h265_build_hvcc(const struct h265_param_sets *ps, uint8_t *out, size_t cap,
		     char *err, size_t errlen);

#endif
