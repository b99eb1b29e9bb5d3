/* H.264 for containers: Annex-B to AVCC samples and the avcC record.
 * Part of h264.h. */
#ifndef VPIPE_COMMON_H264_AVCC_H
#define VPIPE_COMMON_H264_AVCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes h264_annexb_to_avcc needs at most for an input of n bytes. */
static inline size_t h264_avcc_bound(size_t n)
{
	return n + n / 4 + 8;
}

/* Convert an Annex-B access unit to AVCC: each NAL unit prefixed by its
 * 4-byte big-endian length. Returns the bytes written to out (room for
 * h264_avcc_bound(n)), 0 when the input holds no NAL unit. */
size_t h264_annexb_to_avcc(const uint8_t *in, size_t n, uint8_t *out);

/* Build an avcC record from SPS and PPS NAL units (header byte included,
 * Annex-B escaping kept, as in the stream). Returns its size, or -1 when an
 * SPS does not parse, a list is empty or longer than 31 (SPS) / 255 (PPS),
 * or `cap` is too small. */
long h264_build_avcc(const uint8_t *const *sps, const size_t *sps_len,
		     unsigned nsps, const uint8_t *const *pps,
		     const size_t *pps_len, unsigned npps, uint8_t *out,
		     size_t cap);

#endif
