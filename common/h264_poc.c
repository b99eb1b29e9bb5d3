/* H.264 picture order count (8.2.1). See h264_poc.h; references are
 * to ITU-T H.264 (08/2021). */

#include "h264_poc.h"

#include <string.h>

/* ------------------------------------------------ picture order count */

void h264_poc_reset(struct h264_poc_state *st)
{
	memset(st, 0, sizeof(*st));
}

/* 8.2.1.1 */
static void poc_type0(struct h264_poc_state *st, const struct h264_sps *sps,
		      const struct h264_slice_header *sh, int64_t *top,
		      int64_t *bottom)
{
	if (sh->idr) {
		st->prev_poc_msb = 0;
		st->prev_poc_lsb = 0;
	}
	int64_t max_lsb = (int64_t)1 << sps->log2_max_poc_lsb;
	int64_t lsb = sh->pic_order_cnt_lsb, prev = st->prev_poc_lsb;
	int64_t msb = st->prev_poc_msb;
	if (lsb < prev && prev - lsb >= max_lsb / 2)
		msb += max_lsb;
	else if (lsb > prev && lsb - prev > max_lsb / 2)
		msb -= max_lsb;
	if (!sh->bottom_field)
		*top = msb + lsb;
	if (!sh->field_pic)
		*bottom = *top + sh->delta_pic_order_cnt_bottom;
	else if (sh->bottom_field)
		*bottom = msb + lsb;
	if (sh->nal_ref_idc && !sh->mmco5) {
		st->prev_poc_msb = msb;
		st->prev_poc_lsb = (uint32_t)lsb;
	}
}

/* FrameNumOffset (8-6, 8-11): grows by MaxFrameNum at each wrap. */
static int64_t frame_num_offset(const struct h264_poc_state *st,
				const struct h264_sps *sps,
				const struct h264_slice_header *sh)
{
	if (sh->idr)
		return 0;
	if (st->prev_frame_num > sh->frame_num)
		return st->prev_frame_num_offset +
		       ((int64_t)1 << sps->log2_max_frame_num);
	return st->prev_frame_num_offset;
}

/* 8.2.1.2. In unsigned arithmetic: a hostile stream may make the counts
 * wrap, which must not be undefined behaviour. */
static void poc_type1(int64_t fno, const struct h264_sps *sps,
		      const struct h264_slice_header *sh, int64_t *top,
		      int64_t *bottom)
{
	uint64_t cycle = sps->num_ref_frames_in_poc_cycle;
	uint64_t abs = cycle ? (uint64_t)fno + sh->frame_num : 0;
	if (sh->nal_ref_idc == 0 && abs > 0)
		abs--;
	uint64_t expected = 0;
	if (abs > 0) {
		uint64_t delta = 0;
		for (uint64_t i = 0; i < cycle; i++)
			delta +=
			    (uint64_t)(int64_t)sps->offset_for_ref_frame[i];
		uint64_t count = (abs - 1) / cycle,
			 in_cycle = (abs - 1) % cycle;
		expected = count * delta;
		for (uint64_t i = 0; i <= in_cycle; i++)
			expected +=
			    (uint64_t)(int64_t)sps->offset_for_ref_frame[i];
	}
	if (sh->nal_ref_idc == 0)
		expected += (uint64_t)(int64_t)sps->offset_for_non_ref_pic;
	uint64_t t2b = (uint64_t)(int64_t)sps->offset_for_top_to_bottom_field;
	uint64_t d0 = (uint64_t)(int64_t)sh->delta_pic_order_cnt[0];
	uint64_t d1 = (uint64_t)(int64_t)sh->delta_pic_order_cnt[1];
	if (!sh->field_pic) {
		*top = (int64_t)(expected + d0);
		*bottom = (int64_t)((uint64_t)*top + t2b + d1);
	} else if (!sh->bottom_field) {
		*top = (int64_t)(expected + d0);
	} else {
		*bottom = (int64_t)(expected + t2b + d0);
	}
}

/* 8.2.1.3 */
static void poc_type2(int64_t fno, const struct h264_slice_header *sh,
		      int64_t *top, int64_t *bottom)
{
	int64_t t = 0;
	if (!sh->idr)
		t = 2 * (fno + sh->frame_num) - (sh->nal_ref_idc == 0);
	*top = *bottom = t;
}

void h264_poc_compute(struct h264_poc_state *st, const struct h264_sps *sps,
		      const struct h264_slice_header *sh, struct h264_poc *out)
{
	int64_t top = 0, bottom = 0;
	int64_t fno = frame_num_offset(st, sps, sh);
	if (sps->pic_order_cnt_type == 0)
		poc_type0(st, sps, sh, &top, &bottom);
	else if (sps->pic_order_cnt_type == 1)
		poc_type1(fno, sps, sh, &top, &bottom);
	else
		poc_type2(fno, sh, &top, &bottom);

	if (!sh->field_pic)
		out->poc = top < bottom ? top : bottom;
	else
		out->poc = sh->bottom_field ? bottom : top;
	if (sh->mmco5) {
		/* 8.2.1: tempPicOrderCnt; the picture opens a new period. */
		int64_t temp = out->poc;
		top -= temp;
		bottom -= temp;
		out->poc = 0;
		if (sps->pic_order_cnt_type == 0) {
			st->prev_poc_msb = 0;
			st->prev_poc_lsb = sh->bottom_field ? 0 : (uint32_t)top;
		}
	}
	out->top = top;
	out->bottom = bottom;
	out->new_period = sh->idr || sh->mmco5;
	/* 7.4.3: after mmco5 the picture counts as frame_num 0. */
	st->prev_frame_num_offset = sh->mmco5 ? 0 : fno;
	st->prev_frame_num = sh->mmco5 ? 0 : sh->frame_num;
	st->have_prev = true;
}
