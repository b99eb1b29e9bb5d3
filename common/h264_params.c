/* H.264 parameter sets: SPS (with VUI) and PPS. See h264_params.h;
 * references are to ITU-T H.264 (08/2021). */

#include "h264_params.h"

#include <string.h>

#include "h264_bits.h"
#include "h264_nal.h"

/* ------------------------------------------------------------------ SPS */

static bool profile_has_chroma_info(unsigned profile)
{
	switch (profile) {
	case 100:
	case 110:
	case 122:
	case 244:
	case 44:
	case 83:
	case 86:
	case 118:
	case 128:
	case 138:
	case 139:
	case 134:
	case 135:
		return true;
	default:
		return false;
	}
}

static void skip_scaling_list(struct bits *b, unsigned size)
{
	int last = 8, next = 8;
	for (unsigned j = 0; j < size && !b->overrun; j++) {
		if (next != 0) {
			int32_t delta = get_se(b);
			if (delta < -128 || delta > 127) {
				b->overrun = true;
				return;
			}
			next = (last + delta + 256) % 256;
		}
		last = next == 0 ? last : next;
	}
}

static int parse_chroma_info(struct bits *b, struct h264_sps *sps)
{
	sps->chroma_format_idc = get_ue(b);
	if (sps->chroma_format_idc > 3)
		return -1;
	if (sps->chroma_format_idc == 3)
		sps->separate_colour_plane = get_bit(b);
	sps->bit_depth_luma = get_ue(b) + 8;
	sps->bit_depth_chroma = get_ue(b) + 8;
	if (sps->bit_depth_luma > 14 || sps->bit_depth_chroma > 14)
		return -1;
	get_bit(b);	  /* qpprime_y_zero_transform_bypass_flag */
	if (get_bit(b)) { /* seq_scaling_matrix_present_flag */
		unsigned lists = sps->chroma_format_idc != 3 ? 8 : 12;
		for (unsigned i = 0; i < lists; i++)
			if (get_bit(b))
				skip_scaling_list(b, i < 6 ? 16 : 64);
	}
	return 0;
}

static int parse_poc(struct bits *b, struct h264_sps *sps)
{
	sps->pic_order_cnt_type = get_ue(b);
	if (sps->pic_order_cnt_type == 0) {
		uint32_t minus4 = get_ue(b);
		if (minus4 > 12)
			return -1;
		sps->log2_max_poc_lsb = minus4 + 4;
	} else if (sps->pic_order_cnt_type == 1) {
		sps->delta_pic_order_always_zero = get_bit(b);
		sps->offset_for_non_ref_pic = get_se(b);
		sps->offset_for_top_to_bottom_field = get_se(b);
		uint32_t cycle = get_ue(b);
		if (cycle > 255)
			return -1;
		sps->num_ref_frames_in_poc_cycle = cycle;
		for (uint32_t i = 0; i < cycle && !b->overrun; i++)
			sps->offset_for_ref_frame[i] = get_se(b);
	} else if (sps->pic_order_cnt_type != 2) {
		return -1;
	}
	return 0;
}

static int parse_size(struct bits *b, struct h264_sps *sps)
{
	uint32_t width_mbs = get_ue(b) + 1;
	uint32_t height_units = get_ue(b) + 1;
	sps->frame_mbs_only = get_bit(b);
	if (!sps->frame_mbs_only)
		sps->mb_adaptive_frame_field = get_bit(b);
	get_bit(b); /* direct_8x8_inference_flag */
	if (width_mbs > 1024 || height_units > 1024)
		return -1; /* beyond level 6.2: 8192 pixels a side */
	sps->coded_width = width_mbs * 16;
	sps->coded_height = height_units * 16 * (2 - sps->frame_mbs_only);

	uint32_t l = 0, r = 0, t = 0, bo = 0;
	if (get_bit(b)) { /* frame_cropping_flag */
		l = get_ue(b);
		r = get_ue(b);
		t = get_ue(b);
		bo = get_ue(b);
	}
	/* Table 6-1 and (7-19)..(7-22): crop units depend on chroma. */
	uint32_t sub_w = sps->chroma_format_idc == 3 ? 1 : 2;
	uint32_t sub_h = sps->chroma_format_idc == 1 ? 2 : 1;
	uint32_t unit_x = sps->chroma_format_idc == 0 ? 1 : sub_w;
	uint32_t unit_y = (sps->chroma_format_idc == 0 ? 1 : sub_h) *
			  (2 - sps->frame_mbs_only);
	uint64_t crop_x = (uint64_t)unit_x * ((uint64_t)l + r);
	uint64_t crop_y = (uint64_t)unit_y * ((uint64_t)t + bo);
	if (crop_x >= sps->coded_width || crop_y >= sps->coded_height)
		return -1;
	sps->crop_left = unit_x * l;
	sps->crop_right = unit_x * r;
	sps->crop_top = unit_y * t;
	sps->crop_bottom = unit_y * bo;
	sps->width = sps->coded_width - (uint32_t)crop_x;
	sps->height = sps->coded_height - (uint32_t)crop_y;
	return 0;
}

/* E.1.2: skipped, only its length matters. */
static void skip_hrd(struct bits *b)
{
	uint32_t cpb_cnt = get_ue(b) + 1;
	if (cpb_cnt > 32) {
		b->overrun = true;
		return;
	}
	get_bits(b, 8); /* bit_rate_scale, cpb_size_scale */
	for (uint32_t i = 0; i < cpb_cnt && !b->overrun; i++) {
		get_ue(b);  /* bit_rate_value_minus1 */
		get_ue(b);  /* cpb_size_value_minus1 */
		get_bit(b); /* cbr_flag */
	}
	get_bits(b, 20); /* four delay/offset lengths, 5 bits each */
}

/* E.1.1 after the timing information: the HRDs, then the bitstream
 * restriction that says how deep pictures are reordered. */
static void parse_vui_restriction(struct bits *b, struct h264_sps *sps)
{
	bool nal_hrd = get_bit(b);
	if (nal_hrd)
		skip_hrd(b);
	bool vcl_hrd = get_bit(b);
	if (vcl_hrd)
		skip_hrd(b);
	if (nal_hrd || vcl_hrd)
		get_bit(b); /* low_delay_hrd_flag */
	get_bit(b);	    /* pic_struct_present_flag */
	if (!get_bit(b))    /* bitstream_restriction_flag */
		return;
	get_bit(b); /* motion_vectors_over_pic_boundaries_flag */
	get_ue(b);  /* max_bytes_per_pic_denom */
	get_ue(b);  /* max_bits_per_mb_denom */
	get_ue(b);  /* log2_max_mv_length_horizontal */
	get_ue(b);  /* log2_max_mv_length_vertical */
	uint32_t reorder = get_ue(b);
	uint32_t dpb = get_ue(b);
	/* E.2.1: reorder <= max_dec_frame_buffering <= 16 (MaxDpbFrames). */
	if (b->overrun || dpb > 16 || reorder > dpb)
		return;
	sps->bitstream_restriction = true;
	sps->max_num_reorder_frames = reorder;
	sps->max_dec_frame_buffering = dpb;
}

/* E.1.1: the timing information and the bitstream restriction. */
static void parse_vui(struct bits *b, struct h264_sps *sps)
{
	if (get_bit(b)) { /* aspect_ratio_info_present_flag */
		static const uint8_t sar[17][2] = {
		    {0, 0},   {1, 1},	 {12, 11}, {10, 11}, {16, 11}, {40, 33},
		    {24, 11}, {20, 11},	 {32, 11}, {80, 33}, {18, 11}, {15, 11},
		    {64, 33}, {160, 99}, {4, 3},   {3, 2},   {2, 1},
		};
		uint32_t idc = get_bits(b, 8);
		if (idc == 255) {
			sps->sar_num = get_bits(b, 16);
			sps->sar_den = get_bits(b, 16);
		} else if (idc < 17) {
			sps->sar_num = sar[idc][0];
			sps->sar_den = sar[idc][1];
		}
	}
	if (get_bit(b))		/* overscan_info_present_flag */
		get_bit(b);	/* overscan_appropriate_flag */
	if (get_bit(b)) {	/* video_signal_type_present_flag */
		get_bits(b, 4); /* video_format, full_range */
		if (get_bit(b)) /* colour_description_present_flag */
			get_bits(b, 24);
	}
	if (get_bit(b)) { /* chroma_loc_info_present_flag */
		get_ue(b);
		get_ue(b);
	}
	if (get_bit(b)) { /* timing_info_present_flag */
		uint32_t units = get_bits(b, 32);
		uint32_t scale = get_bits(b, 32);
		bool fixed = get_bit(b);
		if (!b->overrun && units && scale) {
			sps->timing_info_present = true;
			sps->num_units_in_tick = units;
			sps->time_scale = scale;
			sps->fixed_frame_rate = fixed;
			/* A frame is two ticks (fields), (E-37). */
			sps->fps_num = scale;
			sps->fps_den = units * 2;
			if (sps->fps_den / 2 != units) { /* overflow: halve */
				sps->fps_num = scale / 2;
				sps->fps_den = units;
			}
		}
	}
	parse_vui_restriction(b, sps);
}

/* Table A-1: MaxDpbMbs by level_idc (level 1b is 11 with
 * constraint_set3 in the Baseline/Main/Extended profiles, or 9). */
static uint32_t max_dpb_mbs(const struct h264_sps *sps)
{
	bool level_1b =
	    sps->level_idc == 9 ||
	    (sps->level_idc == 11 && (sps->constraint_flags & 0x10) &&
	     (sps->profile_idc == 66 || sps->profile_idc == 77 ||
	      sps->profile_idc == 88));
	if (level_1b)
		return 396;
	switch (sps->level_idc) {
	case 10:
		return 396;
	case 11:
		return 900;
	case 12:
	case 13:
	case 20:
		return 2376;
	case 21:
		return 4752;
	case 22:
	case 30:
		return 8100;
	case 31:
		return 18000;
	case 32:
		return 20480;
	case 40:
	case 41:
		return 32768;
	case 42:
		return 34816;
	case 50:
		return 110400;
	case 51:
	case 52:
		return 184320;
	case 60:
	case 61:
	case 62:
		return 696320;
	default:
		return 0; /* unknown level: assume the largest DPB */
	}
}

unsigned h264_sps_dpb_frames(const struct h264_sps *sps)
{
	if (sps->bitstream_restriction)
		return sps->max_dec_frame_buffering;
	uint32_t mbs = (sps->coded_width / 16) * (sps->coded_height / 16);
	uint32_t dpb_mbs = max_dpb_mbs(sps);
	if (mbs == 0 || dpb_mbs == 0)
		return 16;
	uint32_t frames = dpb_mbs / mbs;
	return frames > 16 ? 16 : frames;
}

int h264_sps_reorder_frames(const struct h264_sps *sps)
{
	if (sps->bitstream_restriction)
		return (int)sps->max_num_reorder_frames;
	if (sps->pic_order_cnt_type == 2)
		return 0;
	/* E.2.1: intra profiles with constraint_set3_flag infer 0. */
	bool intra = sps->profile_idc == 44 || sps->profile_idc == 86 ||
		     sps->profile_idc == 100 || sps->profile_idc == 110 ||
		     sps->profile_idc == 122 || sps->profile_idc == 244;
	if (intra && (sps->constraint_flags & 0x10))
		return 0;
	return -1;
}

#define SPS_MAX_PARSED 1024 /* bytes of RBSP looked at: SPS are far smaller */

int h264_parse_sps(const uint8_t *nal, size_t size, struct h264_sps *sps,
		   char *err, size_t errlen)
{
	memset(sps, 0, sizeof(*sps));
	if (size < 4 || (nal[0] & 0x1f) != H264_NAL_SPS) {
		set_err(err, errlen, "not an SPS NAL unit (%zu bytes)", size);
		return -1;
	}
	uint8_t rbsp[SPS_MAX_PARSED];
	size_t in = size - 1 < SPS_MAX_PARSED ? size - 1 : SPS_MAX_PARSED;
	struct bits b = {.p = rbsp, .n = h264_unescape(nal + 1, in, rbsp)};

	sps->profile_idc = (uint8_t)get_bits(&b, 8);
	sps->constraint_flags = (uint8_t)get_bits(&b, 8);
	sps->level_idc = (uint8_t)get_bits(&b, 8);
	sps->sps_id = get_ue(&b);
	sps->chroma_format_idc = 1;
	sps->bit_depth_luma = sps->bit_depth_chroma = 8;
	const char *what = "sps_id";
	int bad = sps->sps_id > 31;
	if (!bad && profile_has_chroma_info(sps->profile_idc)) {
		what = "chroma format / scaling lists";
		bad = parse_chroma_info(&b, sps);
	}
	if (!bad) {
		what = "log2_max_frame_num";
		sps->log2_max_frame_num = get_ue(&b) + 4;
		bad = sps->log2_max_frame_num > 16;
	}
	if (!bad) {
		what = "pic_order_cnt";
		bad = parse_poc(&b, sps);
	}
	if (!bad) {
		what = "max_num_ref_frames";
		sps->max_num_ref_frames = get_ue(&b);
		get_bit(&b); /* gaps_in_frame_num_value_allowed_flag */
		bad = sps->max_num_ref_frames > 16;
	}
	if (!bad) {
		what = "picture size / cropping";
		bad = parse_size(&b, sps);
	}
	if (!bad && !b.overrun) {
		what = "VUI";
		sps->vui_present = get_bit(&b);
		if (sps->vui_present)
			parse_vui(&b,
				  sps); /* optional hints: overrun tolerated */
		return 0;
	}
	set_err(err, errlen,
		"SPS: bad or truncated %s at byte %zu of %zu (after the header "
		"byte, emulation prevention removed)",
		what, b.pos / 8, b.n);
	return -1;
}

/* ------------------------------------------------------------------ PPS */

#define PPS_MAX_PARSED 256 /* the fields we need come in the first bytes */

/* 7.3.2.2: the slice group map, skipped (FMO, Baseline only). */
static void skip_slice_groups(struct bits *b, uint32_t groups)
{
	uint32_t map_type = get_ue(b);
	if (map_type == 0) {
		for (uint32_t i = 0; i < groups && !b->overrun; i++)
			get_ue(b); /* run_length_minus1 */
	} else if (map_type == 2) {
		for (uint32_t i = 0; i + 1 < groups && !b->overrun; i++) {
			get_ue(b); /* top_left */
			get_ue(b); /* bottom_right */
		}
	} else if (map_type >= 3 && map_type <= 5) {
		get_bit(b); /* slice_group_change_direction_flag */
		get_ue(b);  /* slice_group_change_rate_minus1 */
	} else if (map_type == 6) {
		uint32_t units = get_ue(b) + 1; /* pic_size_in_map_units */
		unsigned bits = 0;
		while ((1u << bits) < groups)
			bits++;
		if (units > 139264) /* level 6.2 frame size in MBs */
			b->overrun = true;
		for (uint32_t i = 0; i < units && !b->overrun; i++)
			get_bits(b, bits);
	} else if (map_type > 6) {
		b->overrun = true;
	}
}

int h264_parse_pps(const uint8_t *nal, size_t size, struct h264_pps *pps,
		   char *err, size_t errlen)
{
	memset(pps, 0, sizeof(*pps));
	if (size < 2 || (nal[0] & 0x1f) != H264_NAL_PPS) {
		set_err(err, errlen, "not a PPS NAL unit (%zu bytes)", size);
		return -1;
	}
	uint8_t rbsp[PPS_MAX_PARSED];
	size_t in = size - 1 < sizeof(rbsp) ? size - 1 : sizeof(rbsp);
	struct bits b = {.p = rbsp, .n = h264_unescape(nal + 1, in, rbsp)};
	pps->pps_id = get_ue(&b);
	pps->sps_id = get_ue(&b);
	pps->entropy_coding_mode = get_bit(&b);
	pps->bottom_field_pic_order_in_frame_present = get_bit(&b);
	pps->num_slice_groups = get_ue(&b) + 1;
	const char *what = "pps_id / sps_id / num_slice_groups";
	bool bad =
	    pps->pps_id > 255 || pps->sps_id > 31 || pps->num_slice_groups > 8;
	if (!bad && pps->num_slice_groups > 1) {
		what = "slice group map";
		skip_slice_groups(&b, pps->num_slice_groups);
		bad = b.overrun;
	}
	if (!bad) {
		what = "num_ref_idx_default_active";
		pps->num_ref_idx_default[0] = get_ue(&b) + 1;
		pps->num_ref_idx_default[1] = get_ue(&b) + 1;
		bad = pps->num_ref_idx_default[0] > 32 ||
		      pps->num_ref_idx_default[1] > 32;
	}
	if (!bad) {
		what = "weighted prediction / qp / flags";
		pps->weighted_pred = get_bit(&b);
		pps->weighted_bipred_idc = get_bits(&b, 2);
		get_se(&b); /* pic_init_qp_minus26 */
		get_se(&b); /* pic_init_qs_minus26 */
		get_se(&b); /* chroma_qp_index_offset */
		pps->deblocking_filter_control_present = get_bit(&b);
		get_bit(&b); /* constrained_intra_pred_flag */
		pps->redundant_pic_cnt_present = get_bit(&b);
		bad = b.overrun || pps->weighted_bipred_idc > 2;
	}
	if (!bad)
		return 0;
	set_err(err, errlen,
		"PPS: bad or truncated %s at byte %zu of %zu (after the header "
		"byte, emulation prevention removed)",
		what, b.pos / 8, b.n);
	return -1;
}
