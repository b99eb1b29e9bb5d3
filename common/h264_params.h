/* H.264 parameter sets: SPS parsing (profile, level, size after cropping,
 * POC fields, VUI frame rate and reorder depth) and the PPS fields slice
 * headers depend on. Part of h264.h. */
#ifndef VPIPE_COMMON_H264_PARAMS_H
#define VPIPE_COMMON_H264_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct h264_sps {
	uint8_t profile_idc;
	uint8_t constraint_flags; /* constraint_set0..5 flags, as in the byte */
	uint8_t level_idc;
	uint32_t sps_id;
	uint32_t chroma_format_idc; /* 1 (4:2:0) unless a high profile says */
	uint32_t bit_depth_luma, bit_depth_chroma; /* 8 unless ... */
	uint32_t log2_max_frame_num;
	uint32_t pic_order_cnt_type;
	uint32_t max_num_ref_frames;
	bool frame_mbs_only;
	uint32_t coded_width, coded_height; /* macroblocks x 16 */
	uint32_t width, height;		    /* after frame cropping */
	uint32_t crop_left, crop_right, crop_top, crop_bottom; /* pixels */
	bool vui_present;
	uint32_t sar_num, sar_den; /* 0/0 when not given */
	bool timing_info_present;
	uint32_t num_units_in_tick, time_scale;
	bool fixed_frame_rate;
	uint32_t fps_num,
	    fps_den; /* time_scale / (2 num_units_in_tick); 0 if unknown */

	/* Picture order count (7.4.2.1.1), for h264_poc_compute. */
	bool separate_colour_plane;
	bool mb_adaptive_frame_field;
	uint32_t log2_max_poc_lsb;		/* type 0 */
	bool delta_pic_order_always_zero;	/* type 1 */
	int32_t offset_for_non_ref_pic;		/* type 1 */
	int32_t offset_for_top_to_bottom_field; /* type 1 */
	uint32_t num_ref_frames_in_poc_cycle;	/* type 1, <= 255 */
	int32_t offset_for_ref_frame[256];	/* type 1 */
	/* VUI bitstream_restriction (E.2.1): how many pictures may precede
	 * a picture in decoding order and follow it in output order, and
	 * the DPB size the stream needs, in frames. */
	bool bitstream_restriction;
	uint32_t max_num_reorder_frames, max_dec_frame_buffering;
};

/* Parse an SPS NAL unit (header byte included, emulation prevention still
 * in). Returns 0, or -1 with a message in err (may be NULL) naming the byte
 * offset inside the NAL where parsing failed. */
int h264_parse_sps(const uint8_t *nal, size_t size, struct h264_sps *sps,
		   char *err, size_t errlen);

/* The DPB size in frames: max_dec_frame_buffering when the SPS gives it,
 * else MaxDpbFrames from the level (A.3.1 h, Table A-1), at most 16. */
unsigned h264_sps_dpb_frames(const struct h264_sps *sps);

/* The reorder depth a decoder must allow for: max_num_reorder_frames when
 * the SPS gives it; 0 for pic_order_cnt_type 2 (output order is decoding
 * order) and for the intra profiles (E.2.1 inference with
 * constraint_set3_flag); else -1: unknown, at most h264_sps_dpb_frames. */
int h264_sps_reorder_frames(const struct h264_sps *sps);

/* The PPS fields a slice header's parsing depends on (7.3.2.2). */
struct h264_pps {
	uint32_t pps_id, sps_id;
	bool entropy_coding_mode;
	bool bottom_field_pic_order_in_frame_present;
	uint32_t num_slice_groups;
	uint32_t num_ref_idx_default[2]; /* l0, l1: minus1 + 1 */
	bool weighted_pred;
	uint32_t weighted_bipred_idc;
	bool deblocking_filter_control_present;
	bool redundant_pic_cnt_present;
};

/* Parse a PPS NAL unit (header byte included) far enough for slice
 * headers. Returns 0, or -1 with a message naming the byte offset. */
int h264_parse_pps(const uint8_t *nal, size_t size, struct h264_pps *pps,
		   char *err, size_t errlen);

#endif
