/* H.264 picture order count (8.2.1): the output order of pictures.
 * Part of h264.h. */
#ifndef VPIPE_COMMON_H264_POC_H
#define VPIPE_COMMON_H264_POC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h264_params.h"
#include "h264_slice.h"

/* What 8.2.1 carries from one picture to the next, per stream. Zero it
 * (or h264_poc_reset) at the start and after a discontinuity. */
struct h264_poc_state {
	bool have_prev;
	/* type 0: the previous reference picture */
	int64_t prev_poc_msb;
	uint32_t prev_poc_lsb;
	/* types 1 and 2: the previous picture */
	int64_t prev_frame_num_offset;
	uint32_t prev_frame_num;
};

struct h264_poc {
	int64_t top, bottom; /* TopFieldOrderCnt, BottomFieldOrderCnt */
	int64_t poc;	     /* PicOrderCnt: min of the two for a frame */
	/* This picture starts a new output period: IDR or mmco5. Pictures
	 * of one period are output in poc order, after every picture of the
	 * periods before. */
	bool new_period;
};

void h264_poc_reset(struct h264_poc_state *st);

/* PicOrderCnt of the picture whose first slice header is sh (8.2.1, types
 * 0, 1 and 2; MSB wrap; IDR and mmco5 resets), and advance st. After an
 * mmco5 the picture's own counts are taken relative to the new period
 * (8.2.1: tempPicOrderCnt subtracted). */
void h264_poc_compute(struct h264_poc_state *st, const struct h264_sps *sps,
		      const struct h264_slice_header *sh, struct h264_poc *out);

#endif
