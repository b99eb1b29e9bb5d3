/* One H.265 access unit looked at: IRAP (key frame), parameter sets, where
 * its NAL units are. Part of h265.h. */
#ifndef VPIPE_COMMON_H265_AU_H
#define VPIPE_COMMON_H265_AU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h265_nal.h"

#define H265_AU_MAX_NALS 64

struct h265_au_info {
	bool key; /* the picture is IRAP (BLA, IDR, CRA) */
	bool has_vps, has_sps, has_pps, has_aud;
	unsigned first_vcl_type;
	/* nals[] holds the NAL units up to and including the first slice
	 * segment (the first 64 of them); num_nals counts them. */
	unsigned num_nals;
	size_t garbage; /* bytes before the first start code */
	struct h265_nal nals[H265_AU_MAX_NALS];
};

/* Inspect one Annex-B access unit up to its first slice segment (the
 * parameter sets, AUD and prefix SEI come before it; the picture data
 * is not read). Returns 0; -1 with a message in err when it holds a NAL
 * unit that is not H.265 (forbidden_zero_bit, temporal id plus1 of 0) or
 * no slice segment. */
int h265_au_info(const uint8_t *au, size_t len, struct h265_au_info *info,
		 char *err, size_t errlen);

#endif
