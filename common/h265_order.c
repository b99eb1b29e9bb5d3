/* H.265 picture order counts. See h265_order.h; references are to ITU-T
 * H.265 (08/2021). */

#include "h265_order.h"

#include <stdlib.h>
#include <string.h>

#include "h264_bits.h"
#include "h264_nal.h"
#include "h265_nal.h"
#include "h265_params.h"

/* What a slice segment header's parsing and the POC need of an SPS. */
struct sps_slot {
	bool valid;
	uint32_t log2_max_poc_lsb;
	bool separate_colour_plane;
	uint32_t reorder, dpb;
};

struct pps_slot {
	bool valid;
	uint32_t sps_id;
	bool dependent_slice_segments_enabled, output_flag_present;
	uint32_t num_extra_slice_header_bits;
};

struct h265_order {
	struct sps_slot sps[16];
	struct pps_slot pps[64];
	bool started;	/* a picture has been seen since the last reset */
	bool after_eos; /* an end of sequence came before this picture */
	int32_t prev_tid0_poc; /* of the previous TemporalId 0 picture */
};

struct h265_order *h265_order_new(void)
{
	return calloc(1, sizeof(struct h265_order));
}

void h265_order_free(struct h265_order *o)
{
	free(o);
}

void h265_order_reset(struct h265_order *o)
{
	o->started = false;
	o->after_eos = false;
	o->prev_tid0_poc = 0;
}

static void keep_sps(struct h265_order *o, const uint8_t *nal, size_t n)
{
	struct h265_sps s;
	if (h265_parse_sps(nal, n, &s, NULL, 0))
		return;
	o->sps[s.sps_id] = (struct sps_slot){
	    .valid = true,
	    .log2_max_poc_lsb = s.log2_max_poc_lsb,
	    .separate_colour_plane = s.separate_colour_plane,
	    .reorder = s.max_num_reorder_pics,
	    .dpb = s.max_dec_pic_buffering,
	};
}

static void keep_pps(struct h265_order *o, const uint8_t *nal, size_t n)
{
	struct h265_pps p;
	if (h265_parse_pps(nal, n, &p, NULL, 0))
		return;
	o->pps[p.pps_id] = (struct pps_slot){
	    .valid = true,
	    .sps_id = p.sps_id,
	    .dependent_slice_segments_enabled =
		p.dependent_slice_segments_enabled,
	    .output_flag_present = p.output_flag_present,
	    .num_extra_slice_header_bits = p.num_extra_slice_header_bits,
	};
}

/* slice_pic_order_cnt_lsb of a first slice segment (7.3.6.1); 0 for IDR.
 * Returns -1 when the header does not parse or refers to unknown sets. */
static int slice_poc_lsb(const struct h265_order *o, const uint8_t *nal,
			 size_t n, unsigned type, const struct sps_slot **sps,
			 uint32_t *lsb, char *err, size_t errlen)
{
	uint8_t rbsp[64];
	size_t take = n - 2 < sizeof(rbsp) ? n - 2 : sizeof(rbsp);
	struct bits b = {.p = rbsp, .n = h264_unescape(nal + 2, take, rbsp)};
	if (!get_bit(&b)) {
		set_err(err, errlen,
			"first slice segment of the picture "
			"missing (first_slice_segment_in_pic 0)");
		return -1;
	}
	if (h265_nal_is_irap(type))
		(void)get_bit(&b); /* no_output_of_prior_pics_flag */
	uint32_t pps_id = get_ue(&b);
	const struct pps_slot *pps = pps_id < 64 ? &o->pps[pps_id] : NULL;
	if (!pps || !pps->valid || !o->sps[pps->sps_id].valid) {
		set_err(err, errlen,
			"slice refers to PPS %u, which is not known (or "
			"its SPS)",
			pps_id);
		return -1;
	}
	*sps = &o->sps[pps->sps_id];
	*lsb = 0;
	if (type == H265_NAL_IDR_W_RADL || type == H265_NAL_IDR_N_LP)
		return 0;
	for (uint32_t i = 0; i < pps->num_extra_slice_header_bits; i++)
		(void)get_bit(&b); /* slice_reserved_flag */
	(void)get_ue(&b);	   /* slice_type */
	if (pps->output_flag_present)
		(void)get_bit(&b); /* pic_output_flag */
	if ((*sps)->separate_colour_plane)
		(void)get_bits(&b, 2); /* colour_plane_id */
	*lsb = get_bits(&b, (*sps)->log2_max_poc_lsb);
	if (b.overrun) {
		set_err(err, errlen, "slice segment header ends early");
		return -1;
	}
	return 0;
}

/* PicOrderCntVal (8.3.1). */
static int32_t compute_poc(struct h265_order *o, const struct sps_slot *sps,
			   unsigned type, unsigned tid, uint32_t lsb,
			   bool no_rasl_output)
{
	int32_t max_lsb = (int32_t)1 << sps->log2_max_poc_lsb;
	int32_t msb = 0;
	if (!no_rasl_output) {
		int32_t prev_lsb = o->prev_tid0_poc & (max_lsb - 1);
		int32_t prev_msb = o->prev_tid0_poc - prev_lsb;
		if ((int32_t)lsb < prev_lsb &&
		    prev_lsb - (int32_t)lsb >= max_lsb / 2)
			msb = prev_msb + max_lsb;
		else if ((int32_t)lsb > prev_lsb &&
			 (int32_t)lsb - prev_lsb > max_lsb / 2)
			msb = prev_msb - max_lsb;
		else
			msb = prev_msb;
	}
	int32_t poc = msb + (int32_t)lsb;
	/* prevTid0Pic: TemporalId 0, not RASL, RADL or a sub-layer
	 * non-reference picture (even types up to 14). */
	bool sub_layer_non_ref = type <= 14 && type % 2 == 0;
	bool rasl_radl = type >= 6 && type <= 9;
	if (tid == 0 && !sub_layer_non_ref && !rasl_radl)
		o->prev_tid0_poc = poc;
	return poc;
}

int h265_order_picture(struct h265_order *o, const uint8_t *au, size_t len,
		       struct h264_order_pic *pic, char *err, size_t errlen)
{
	memset(pic, 0, sizeof(*pic));
	pic->new_period = true;
	pic->reorder = -1;
	pic->dpb = H264_MAX_REORDER;
	size_t pos = 0;
	struct h265_nal nal;
	while (h265_next_nal(au, len, &pos, &nal, NULL)) {
		const uint8_t *p = au + nal.offset;
		if (nal.type == H265_NAL_SPS)
			keep_sps(o, p, nal.size);
		else if (nal.type == H265_NAL_PPS)
			keep_pps(o, p, nal.size);
		else if (nal.type == H265_NAL_EOS)
			o->after_eos = true;
		if (!h265_nal_is_vcl(nal.type) || nal.layer_id != 0)
			continue;
		const struct sps_slot *sps;
		uint32_t lsb;
		if (nal.size < 3 || slice_poc_lsb(o, p, nal.size, nal.type,
						  &sps, &lsb, err, errlen))
			return -1;
		bool irap = h265_nal_is_irap(nal.type);
		bool no_rasl_output = irap && (nal.type < H265_NAL_CRA ||
					       !o->started || o->after_eos);
		pic->key = irap;
		pic->new_period = no_rasl_output;
		pic->poc = compute_poc(o, sps, nal.type, nal.temporal_id, lsb,
				       no_rasl_output);
		pic->reorder = sps->reorder > H264_MAX_REORDER
				   ? H264_MAX_REORDER
				   : (int)sps->reorder;
		pic->dpb =
		    sps->dpb > H264_MAX_REORDER ? H264_MAX_REORDER : sps->dpb;
		pic->valid = true;
		o->started = true;
		o->after_eos = false;
		return 0;
	}
	set_err(err, errlen, "access unit holds no slice segment");
	return -1;
}
