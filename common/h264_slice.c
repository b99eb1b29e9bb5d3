/* H.264 slice headers (7.3.3). See h264_slice.h; references are to
 * ITU-T H.264 (08/2021). */

#include "h264_slice.h"

#include <string.h>

#include "h264_bits.h"
#include "h264_nal.h"

int h264_parse_slice_header(const uint8_t *nal, size_t size,
			    struct h264_slice_header *sh)
{
	uint8_t rbsp[32];
	if (size < 2)
		return -1;
	size_t in = size - 1 < sizeof(rbsp) ? size - 1 : sizeof(rbsp);
	struct bits b = {.p = rbsp, .n = h264_unescape(nal + 1, in, rbsp)};
	sh->first_mb_in_slice = get_ue(&b);
	sh->slice_type = get_ue(&b);
	sh->pps_id = get_ue(&b);
	if (b.overrun || sh->slice_type > 9 || sh->pps_id > 255)
		return -1;
	return 0;
}

/* ------------------------------------------------------ slice header */

/* Slice headers end well within this many bytes (weight tables of 32
 * references included); a cut-short header leaves mmco5 unknown. */
#define SLICE_HEADER_MAX_PARSED 1024

enum { SLICE_P = 0, SLICE_B = 1, SLICE_I = 2, SLICE_SP = 3, SLICE_SI = 4 };

/* 7.3.3.1: ref_pic_list_modification() for one list. */
static void skip_ref_list_modification(struct bits *b)
{
	if (!get_bit(b)) /* ref_pic_list_modification_flag_lX */
		return;
	for (unsigned i = 0; i <= 33 && !b->overrun; i++) {
		uint32_t idc = get_ue(b);
		if (idc == 3)
			return;
		if (idc > 2) {
			b->overrun = true;
			return;
		}
		get_ue(b); /* abs_diff_pic_num_minus1 or long_term_pic_num */
	}
	b->overrun = true; /* more modifications than references */
}

/* 7.3.3.2: pred_weight_table(). */
static void skip_pred_weight_table(struct bits *b, const struct h264_sps *sps,
				   unsigned lists, const uint32_t num_ref[2])
{
	get_ue(b); /* luma_log2_weight_denom */
	bool chroma = !sps->separate_colour_plane && sps->chroma_format_idc;
	if (chroma)
		get_ue(b); /* chroma_log2_weight_denom */
	for (unsigned l = 0; l < lists; l++) {
		for (uint32_t i = 0; i < num_ref[l] && !b->overrun; i++) {
			if (get_bit(b)) { /* luma_weight_flag */
				get_se(b);
				get_se(b);
			}
			if (chroma && get_bit(b)) /* chroma_weight_flag */
				for (int j = 0; j < 4; j++)
					get_se(b);
		}
	}
}

/* 7.3.3.3: dec_ref_pic_marking(); notes memory_management_control_operation
 * 5. */
static void parse_ref_pic_marking(struct bits *b, struct h264_slice_header *sh)
{
	if (sh->idr) {
		get_bit(b); /* no_output_of_prior_pics_flag */
		get_bit(b); /* long_term_reference_flag */
		return;
	}
	if (!get_bit(b)) /* adaptive_ref_pic_marking_mode_flag */
		return;
	/* At most one operation per reference and a few more (7.4.3.3). */
	for (unsigned i = 0; i < 66 && !b->overrun; i++) {
		uint32_t op = get_ue(b);
		if (op == 0)
			return;
		if (op > 6) {
			b->overrun = true;
			return;
		}
		if (op == 1 || op == 3)
			get_ue(b); /* difference_of_pic_nums_minus1 */
		if (op == 2)
			get_ue(b); /* long_term_pic_num */
		if (op == 3 || op == 6)
			get_ue(b); /* long_term_frame_idx */
		if (op == 4)
			get_ue(b); /* max_long_term_frame_idx_plus1 */
		if (op == 5)
			sh->mmco5 = true;
	}
	b->overrun = true;
}

/* From redundant_pic_cnt to dec_ref_pic_marking: only to reach the
 * marking, so a failure here leaves marking_parsed false. */
static void parse_slice_marking(struct bits *b, const struct h264_sps *sps,
				const struct h264_pps *pps,
				struct h264_slice_header *sh)
{
	unsigned type = sh->slice_type % 5;
	if (pps->redundant_pic_cnt_present)
		get_ue(b); /* redundant_pic_cnt */
	if (type == SLICE_B)
		get_bit(b); /* direct_spatial_mv_pred_flag */
	uint32_t num_ref[2] = {pps->num_ref_idx_default[0],
			       pps->num_ref_idx_default[1]};
	if (type == SLICE_P || type == SLICE_SP || type == SLICE_B) {
		if (get_bit(b)) { /* num_ref_idx_active_override_flag */
			num_ref[0] = get_ue(b) + 1;
			if (type == SLICE_B)
				num_ref[1] = get_ue(b) + 1;
		}
	}
	if (num_ref[0] > 32 || num_ref[1] > 32)
		return;
	if (type != SLICE_I && type != SLICE_SI) {
		skip_ref_list_modification(b);
		if (type == SLICE_B)
			skip_ref_list_modification(b);
	}
	if ((pps->weighted_pred && (type == SLICE_P || type == SLICE_SP)) ||
	    (pps->weighted_bipred_idc == 1 && type == SLICE_B))
		skip_pred_weight_table(b, sps, type == SLICE_B ? 2 : 1,
				       num_ref);
	if (sh->nal_ref_idc)
		parse_ref_pic_marking(b, sh);
	sh->marking_parsed = !b->overrun;
	if (!sh->marking_parsed)
		sh->mmco5 = false;
}

int h264_parse_slice_poc(const uint8_t *nal, size_t size,
			 const struct h264_sps *sps, const struct h264_pps *pps,
			 struct h264_slice_header *sh, char *err, size_t errlen)
{
	memset(sh, 0, sizeof(*sh));
	if (size < 2 || !h264_nal_is_vcl(nal[0] & 0x1f)) {
		set_err(err, errlen, "not a slice NAL unit (%zu bytes)", size);
		return -1;
	}
	uint8_t rbsp[SLICE_HEADER_MAX_PARSED];
	size_t in = size - 1 < sizeof(rbsp) ? size - 1 : sizeof(rbsp);
	struct bits b = {.p = rbsp, .n = h264_unescape(nal + 1, in, rbsp)};
	sh->nal_unit_type = nal[0] & 0x1f;
	sh->nal_ref_idc = (nal[0] >> 5) & 3;
	sh->idr = sh->nal_unit_type == H264_NAL_IDR;
	sh->first_mb_in_slice = get_ue(&b);
	sh->slice_type = get_ue(&b);
	sh->pps_id = get_ue(&b);
	const char *what = "slice_type / pps_id";
	bool bad = b.overrun || sh->slice_type > 9 || sh->pps_id != pps->pps_id;
	if (!bad) {
		what = "frame_num / field flags";
		if (sps->separate_colour_plane)
			get_bits(&b, 2); /* colour_plane_id */
		sh->frame_num = get_bits(&b, sps->log2_max_frame_num);
		if (!sps->frame_mbs_only) {
			sh->field_pic = get_bit(&b);
			if (sh->field_pic)
				sh->bottom_field = get_bit(&b);
		}
		if (sh->idr)
			sh->idr_pic_id = get_ue(&b);
		bad = b.overrun;
	}
	if (!bad) {
		what = "picture order count fields";
		bool bottom_present =
		    pps->bottom_field_pic_order_in_frame_present &&
		    !sh->field_pic;
		if (sps->pic_order_cnt_type == 0) {
			sh->pic_order_cnt_lsb =
			    get_bits(&b, sps->log2_max_poc_lsb);
			if (bottom_present)
				sh->delta_pic_order_cnt_bottom = get_se(&b);
		} else if (sps->pic_order_cnt_type == 1 &&
			   !sps->delta_pic_order_always_zero) {
			sh->delta_pic_order_cnt[0] = get_se(&b);
			if (bottom_present)
				sh->delta_pic_order_cnt[1] = get_se(&b);
		}
		bad = b.overrun;
	}
	if (bad) {
		set_err(err, errlen,
			"slice header: bad or truncated %s at bit %zu of %zu",
			what, b.pos, b.n * 8);
		return -1;
	}
	parse_slice_marking(&b, sps, pps, sh);
	return 0;
}
