/* H.265 VPS/SPS/PPS parsing. See h265_params.h; references are to ITU-T
 * H.265 (08/2021). The parsers stop once they have what muxing needs: the
 * SPS after sps_max_*_pics, the PPS after its tiles/entropy flags. */

#include "h265_params.h"

#include <stdlib.h>
#include <string.h>

#include "h264_bits.h"
#include "h264_nal.h"
#include "h265_nal.h"

/* Parameter sets are small; anything larger is not one. */
#define MAX_PS_BYTES 4096

/* The RBSP of a NAL unit of the given type, header skipped, into out. */
static int ps_rbsp(const uint8_t *nal, size_t size, unsigned type,
		   const char *what, uint8_t *out, size_t *n, char *err,
		   size_t errlen)
{
	struct h265_nal_header h;
	if (h265_parse_nal_header(nal, size, &h) || h.type != type) {
		set_err(err, errlen, "byte 0: not an H.265 %s NAL unit", what);
		return -1;
	}
	if (size > MAX_PS_BYTES) {
		set_err(err, errlen, "%s of %zu bytes is larger than %d", what,
			size, MAX_PS_BYTES);
		return -1;
	}
	*n = h264_unescape(nal + 2, size - 2, out);
	return 0;
}

static int ps_overrun(const struct bits *b, const char *what, char *err,
		      size_t errlen)
{
	set_err(err, errlen, "byte %zu: %s ends early", 2 + b->pos / 8, what);
	return -1;
}

static void skip_bits(struct bits *b, size_t n)
{
	b->pos += n;
	if (b->pos > b->n * 8)
		b->overrun = true;
}

/* profile_tier_level(1, max_sub_layers_minus1) (7.3.3). */
static void parse_ptl(struct bits *b, unsigned sub_minus1, struct h265_ptl *p)
{
	p->profile_space = (uint8_t)get_bits(b, 2);
	p->tier = get_bit(b);
	p->profile_idc = (uint8_t)get_bits(b, 5);
	p->compat_flags = get_bits(b, 32);
	p->constraint_flags = (uint64_t)get_bits(b, 16) << 32;
	p->constraint_flags |= get_bits(b, 32);
	p->level_idc = (uint8_t)get_bits(b, 8);
	bool profile_present[8] = {0}, level_present[8] = {0};
	for (unsigned i = 0; i < sub_minus1; i++) {
		profile_present[i] = get_bit(b);
		level_present[i] = get_bit(b);
	}
	if (sub_minus1 > 0)
		skip_bits(b, 2 * (8 - sub_minus1)); /* reserved_zero_2bits */
	for (unsigned i = 0; i < sub_minus1; i++) {
		if (profile_present[i])
			skip_bits(b, 88);
		if (level_present[i])
			skip_bits(b, 8);
	}
}

int h265_parse_vps(const uint8_t *nal, size_t size, struct h265_vps *vps,
		   char *err, size_t errlen)
{
	uint8_t rbsp[MAX_PS_BYTES];
	size_t n;
	if (ps_rbsp(nal, size, H265_NAL_VPS, "VPS", rbsp, &n, err, errlen))
		return -1;
	memset(vps, 0, sizeof(*vps));
	struct bits b = {.p = rbsp, .n = n};
	vps->vps_id = get_bits(&b, 4);
	skip_bits(&b, 2 + 6); /* base_layer flags, vps_max_layers_minus1 */
	vps->max_sub_layers = get_bits(&b, 3) + 1;
	vps->temporal_id_nesting = get_bit(&b);
	skip_bits(&b, 16); /* vps_reserved_0xffff_16bits */
	if (vps->max_sub_layers > 7) {
		set_err(err, errlen, "byte 2: VPS has %u sub-layers, at most 7",
			vps->max_sub_layers);
		return -1;
	}
	parse_ptl(&b, vps->max_sub_layers - 1, &vps->ptl);
	if (b.overrun)
		return ps_overrun(&b, "VPS", err, errlen);
	return 0;
}

/* The SPS fields before profile_tier_level, and the PTL. */
static int sps_head(struct bits *b, struct h265_sps *sps, char *err,
		    size_t errlen)
{
	sps->vps_id = get_bits(b, 4);
	sps->max_sub_layers = get_bits(b, 3) + 1;
	sps->temporal_id_nesting = get_bit(b);
	if (sps->max_sub_layers > 7) {
		set_err(err, errlen, "byte 2: SPS has %u sub-layers, at most 7",
			sps->max_sub_layers);
		return -1;
	}
	parse_ptl(b, sps->max_sub_layers - 1, &sps->ptl);
	sps->sps_id = get_ue(b);
	if (sps->sps_id > 15) {
		set_err(err, errlen,
			"byte %zu: sps_seq_parameter_set_id %u "
			"above 15",
			2 + b->pos / 8, sps->sps_id);
		return -1;
	}
	return 0;
}

/* Picture size and the conformance window (7.4.3.2.1: offsets count in
 * chroma samples, SubWidthC x SubHeightC luma samples each). */
static int sps_size(struct bits *b, struct h265_sps *sps, char *err,
		    size_t errlen)
{
	sps->chroma_format_idc = get_ue(b);
	if (sps->chroma_format_idc > 3) {
		set_err(err, errlen, "byte %zu: chroma_format_idc %u above 3",
			2 + b->pos / 8, sps->chroma_format_idc);
		return -1;
	}
	if (sps->chroma_format_idc == 3)
		sps->separate_colour_plane = get_bit(b);
	sps->coded_width = get_ue(b);
	sps->coded_height = get_ue(b);
	uint32_t sub_w =
	    sps->chroma_format_idc == 1 || sps->chroma_format_idc == 2 ? 2 : 1;
	uint32_t sub_h = sps->chroma_format_idc == 1 ? 2 : 1;
	if (sps->separate_colour_plane)
		sub_w = sub_h = 1;
	if (get_bit(b)) { /* conformance_window_flag */
		sps->conf_left = get_ue(b) * sub_w;
		sps->conf_right = get_ue(b) * sub_w;
		sps->conf_top = get_ue(b) * sub_h;
		sps->conf_bottom = get_ue(b) * sub_h;
	}
	uint64_t cw = (uint64_t)sps->conf_left + sps->conf_right;
	uint64_t ch = (uint64_t)sps->conf_top + sps->conf_bottom;
	if (sps->coded_width == 0 || sps->coded_height == 0 ||
	    sps->coded_width > 16888 || sps->coded_height > 16888 ||
	    cw >= sps->coded_width || ch >= sps->coded_height) {
		set_err(err, errlen,
			"byte %zu: picture size %ux%u with conformance window "
			"%u+%u x %u+%u is not a picture",
			2 + b->pos / 8, sps->coded_width, sps->coded_height,
			sps->conf_left, sps->conf_right, sps->conf_top,
			sps->conf_bottom);
		return -1;
	}
	sps->width = sps->coded_width - (uint32_t)cw;
	sps->height = sps->coded_height - (uint32_t)ch;
	return 0;
}

int h265_parse_sps(const uint8_t *nal, size_t size, struct h265_sps *sps,
		   char *err, size_t errlen)
{
	uint8_t rbsp[MAX_PS_BYTES];
	size_t n;
	if (ps_rbsp(nal, size, H265_NAL_SPS, "SPS", rbsp, &n, err, errlen))
		return -1;
	memset(sps, 0, sizeof(*sps));
	struct bits b = {.p = rbsp, .n = n};
	if (sps_head(&b, sps, err, errlen))
		return -1;
	if (b.overrun)
		return ps_overrun(&b, "SPS", err, errlen);
	if (sps_size(&b, sps, err, errlen))
		return -1;
	sps->bit_depth_luma = get_ue(&b) + 8;
	sps->bit_depth_chroma = get_ue(&b) + 8;
	sps->log2_max_poc_lsb = get_ue(&b) + 4;
	if (sps->bit_depth_luma > 16 || sps->bit_depth_chroma > 16 ||
	    sps->log2_max_poc_lsb > 16) {
		set_err(err, errlen,
			"byte %zu: bit depth %u/%u or log2_max_pic_order_cnt "
			"%u out of range",
			2 + b.pos / 8, sps->bit_depth_luma,
			sps->bit_depth_chroma, sps->log2_max_poc_lsb);
		return -1;
	}
	bool all = get_bit(&b); /* sps_sub_layer_ordering_info_present */
	for (unsigned i = all ? 0 : sps->max_sub_layers - 1;
	     i < sps->max_sub_layers; i++) {
		sps->max_dec_pic_buffering = get_ue(&b) + 1;
		sps->max_num_reorder_pics = get_ue(&b);
		(void)get_ue(&b); /* sps_max_latency_increase_plus1 */
	}
	if (b.overrun)
		return ps_overrun(&b, "SPS", err, errlen);
	return 0;
}

int h265_parse_pps(const uint8_t *nal, size_t size, struct h265_pps *pps,
		   char *err, size_t errlen)
{
	uint8_t rbsp[MAX_PS_BYTES];
	size_t n;
	if (ps_rbsp(nal, size, H265_NAL_PPS, "PPS", rbsp, &n, err, errlen))
		return -1;
	memset(pps, 0, sizeof(*pps));
	struct bits b = {.p = rbsp, .n = n};
	pps->pps_id = get_ue(&b);
	pps->sps_id = get_ue(&b);
	pps->dependent_slice_segments_enabled = get_bit(&b);
	pps->output_flag_present = get_bit(&b);
	pps->num_extra_slice_header_bits = get_bits(&b, 3);
	skip_bits(&b, 2); /* sign_data_hiding, cabac_init_present */
	(void)get_ue(&b); /* num_ref_idx_l0_default_active_minus1 */
	(void)get_ue(&b); /* l1 */
	(void)get_se(&b); /* init_qp_minus26 */
	skip_bits(&b, 2); /* constrained_intra_pred, transform_skip */
	if (get_bit(&b))  /* cu_qp_delta_enabled_flag */
		(void)get_ue(&b);
	(void)get_se(&b); /* pps_cb_qp_offset */
	(void)get_se(&b); /* pps_cr_qp_offset */
	skip_bits(&b, 4); /* slice_chroma_qp_offsets_present, weighted_pred,
			   * weighted_bipred, transquant_bypass */
	pps->tiles_enabled = get_bit(&b);
	pps->entropy_coding_sync_enabled = get_bit(&b);
	if (b.overrun)
		return ps_overrun(&b, "PPS", err, errlen);
	if (pps->pps_id > 63 || pps->sps_id > 15) {
		set_err(err, errlen,
			"byte 2: PPS id %u or SPS id %u out of "
			"range",
			pps->pps_id, pps->sps_id);
		return -1;
	}
	return 0;
}
