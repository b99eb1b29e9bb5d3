/* H.264 slice headers, far enough to find picture boundaries and the
 * picture order count. Part of h264.h. */
#ifndef VPIPE_COMMON_H264_SLICE_H
#define VPIPE_COMMON_H264_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h264_params.h"

/* A slice header (7.3.3): h264_parse_slice_header fills the first three
 * fields (enough to find picture boundaries), h264_parse_slice_poc the
 * rest, up to dec_ref_pic_marking. */
struct h264_slice_header {
	uint32_t first_mb_in_slice;
	uint32_t slice_type; /* 0-9; % 5: 0 P, 1 B, 2 I, 3 SP, 4 SI */
	uint32_t pps_id;

	uint8_t nal_unit_type, nal_ref_idc;
	bool idr;
	uint32_t frame_num;
	bool field_pic, bottom_field;
	uint32_t idr_pic_id;
	uint32_t pic_order_cnt_lsb;
	int32_t delta_pic_order_cnt_bottom;
	int32_t delta_pic_order_cnt[2];
	/* dec_ref_pic_marking: memory_management_control_operation 5 (all
	 * references dropped, picture order restarts, like an IDR).
	 * marking_parsed is false when the header was cut short before it
	 * (mmco5 then unknown, taken as absent). */
	bool mmco5;
	bool marking_parsed;
};

/* Parse the first fields of a VCL NAL unit (header byte included). */
int h264_parse_slice_header(const uint8_t *nal, size_t size,
			    struct h264_slice_header *sh);

/* Parse a slice header up to dec_ref_pic_marking with the SPS and PPS it
 * refers to (sh->pps_id must match pps->pps_id, pps->sps_id the SPS).
 * Returns 0, or -1 with a message naming the field and bit offset. */
int h264_parse_slice_poc(const uint8_t *nal, size_t size,
			 const struct h264_sps *sps, const struct h264_pps *pps,
			 struct h264_slice_header *sh, char *err,
			 size_t errlen);

#endif
