/* H.265 parameter sets: the VPS, SPS and PPS fields muxing needs
 * (profile_tier_level, chroma format, bit depths, size after the
 * conformance window, sub-layers, reorder depth) and the ids that tie
 * them together. Part of h265.h. */
#ifndef VPIPE_COMMON_H265_PARAMS_H
#define VPIPE_COMMON_H265_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The general part of profile_tier_level() (7.3.3), as hvcC carries it. */
struct h265_ptl {
	uint8_t profile_space;	   /* 2 bits */
	bool tier;		   /* high tier */
	uint8_t profile_idc;	   /* 1 Main, 2 Main 10, 3 Main Still, 4 RExt */
	uint32_t compat_flags;	   /* general_profile_compatibility_flag[0..31],
				    * flag 0 in the top bit */
	uint64_t constraint_flags; /* the 48 bits after them, in the low bits */
	uint8_t level_idc;	   /* 30 x level: 93 = level 3.1 */
};

struct h265_vps {
	uint32_t vps_id;
	uint32_t max_sub_layers; /* vps_max_sub_layers_minus1 + 1 */
	bool temporal_id_nesting;
	struct h265_ptl ptl;
};

struct h265_sps {
	uint32_t vps_id, sps_id;
	uint32_t max_sub_layers; /* sps_max_sub_layers_minus1 + 1 */
	bool temporal_id_nesting;
	struct h265_ptl ptl;
	uint32_t chroma_format_idc; /* 0 mono, 1 4:2:0, 2 4:2:2, 3 4:4:4 */
	bool separate_colour_plane;
	uint32_t coded_width, coded_height; /* pic_{width,height}_in_luma */
	uint32_t width, height;		    /* after the conformance window */
	uint32_t conf_left, conf_right, conf_top, conf_bottom; /* pixels */
	uint32_t bit_depth_luma, bit_depth_chroma;
	uint32_t log2_max_poc_lsb;
	/* Of the highest sub-layer: the DPB size in pictures and the reorder
	 * depth (pictures that may precede one in decoding order and follow
	 * it in output order). */
	uint32_t max_dec_pic_buffering, max_num_reorder_pics;
};

struct h265_pps {
	uint32_t pps_id, sps_id;
	bool dependent_slice_segments_enabled;
	bool output_flag_present;
	uint32_t num_extra_slice_header_bits;
	bool tiles_enabled, entropy_coding_sync_enabled;
};

/* Each parses one NAL unit (2-byte header included, emulation prevention
 * still in). Returns 0, or -1 with a message in err (may be NULL) naming
 * the byte offset inside the NAL unit where parsing failed. */
int h265_parse_vps(const uint8_t *nal, size_t size, struct h265_vps *vps,
		   char *err, size_t errlen);
int h265_parse_sps(const uint8_t *nal, size_t size, struct h265_sps *sps,
		   char *err, size_t errlen);
int h265_parse_pps(const uint8_t *nal, size_t size, struct h265_pps *pps,
		   char *err, size_t errlen);

#endif
