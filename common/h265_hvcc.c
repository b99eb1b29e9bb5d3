/* The hvcC record. See h265_hvcc.h; references are to ISO/IEC 14496-15
 * (2019) 8.3.3.1 and ITU-T H.265 (08/2021). */

#include "h265_hvcc.h"

#include <string.h>

#include "bytes.h"
#include "h264_bits.h"
#include "h265_nal.h"
#include "h265_params.h"

unsigned h265_collect_param_sets(const uint8_t *au, size_t len,
				 struct h265_param_sets *ps)
{
	memset(ps, 0, sizeof(*ps));
	size_t pos = 0;
	struct h265_nal nal;
	unsigned found = 0;
	while (h265_next_nal(au, len, &pos, &nal, NULL)) {
		const uint8_t *p = au + nal.offset;
		if (nal.type == H265_NAL_VPS && ps->nvps < 16) {
			ps->vps[ps->nvps] = p;
			ps->vps_len[ps->nvps++] = nal.size;
		} else if (nal.type == H265_NAL_SPS && ps->nsps < 16) {
			ps->sps[ps->nsps] = p;
			ps->sps_len[ps->nsps++] = nal.size;
		} else if (nal.type == H265_NAL_PPS && ps->npps < 16) {
			ps->pps[ps->npps] = p;
			ps->pps_len[ps->npps++] = nal.size;
		} else if (h265_nal_is_vcl(nal.type)) {
			break; /* parameter sets precede the picture */
		} else {
			continue;
		}
		found++;
	}
	return found;
}

static size_t put_array(uint8_t *out, unsigned type, const uint8_t *const *nal,
			const size_t *len, unsigned n)
{
	size_t o = 0;
	/* array_completeness 0: in-band parameter sets may also occur (the
	 * samples keep theirs), as ffmpeg writes it for Matroska */
	out[o++] = (uint8_t)type;
	wr_be16(out + o, (uint16_t)n);
	o += 2;
	for (unsigned i = 0; i < n; i++) {
		wr_be16(out + o, (uint16_t)len[i]);
		memcpy(out + o + 2, nal[i], len[i]);
		o += 2 + len[i];
	}
	return o;
}

/* The 23 bytes before the arrays (8.3.3.1.1). */
static size_t put_head(uint8_t *out, const struct h265_sps *sps,
		       unsigned temporal_layers)
{
	const struct h265_ptl *p = &sps->ptl;
	size_t o = 0;
	out[o++] = 1; /* configurationVersion */
	out[o++] = (uint8_t)(p->profile_space << 6 | (p->tier ? 0x20 : 0) |
			     p->profile_idc);
	wr_be32(out + o, p->compat_flags);
	o += 4;
	for (int shift = 40; shift >= 0; shift -= 8)
		out[o++] = (uint8_t)(p->constraint_flags >> shift);
	out[o++] = p->level_idc;
	wr_be16(out + o, 0xf000); /* min_spatial_segmentation_idc 0 */
	o += 2;
	out[o++] = 0xfc; /* parallelismType 0 */
	out[o++] = (uint8_t)(0xfc | sps->chroma_format_idc);
	out[o++] = (uint8_t)(0xf8 | (sps->bit_depth_luma - 8));
	out[o++] = (uint8_t)(0xf8 | (sps->bit_depth_chroma - 8));
	wr_be16(out + o, 0); /* avgFrameRate: unspecified */
	o += 2;
	/* constantFrameRate 0, numTemporalLayers, temporalIdNested,
	 * lengthSizeMinusOne 3 (4-byte lengths, as h264_annexb_to_avcc) */
	out[o++] = (uint8_t)((temporal_layers & 7) << 3 |
			     (sps->temporal_id_nesting ? 4 : 0) | 3);
	out[o++] = 3; /* numOfArrays */
	return o;
}

static bool lengths_fit(const size_t *len, unsigned n, size_t *need)
{
	for (unsigned i = 0; i < n; i++) {
		if (len[i] > 0xffff)
			return false;
		*need += 2 + len[i];
	}
	return true;
}

long h265_build_hvcc(const struct h265_param_sets *ps, uint8_t *out, size_t cap,
		     char *err, size_t errlen)
{
	if (!ps->nvps || !ps->nsps || !ps->npps) {
		set_err(err, errlen,
			"hvcC needs a VPS, an SPS and a PPS (have "
			"%u, %u, %u)",
			ps->nvps, ps->nsps, ps->npps);
		return -1;
	}
	struct h265_vps vps;
	struct h265_sps sps;
	char why[160];
	if (h265_parse_vps(ps->vps[0], ps->vps_len[0], &vps, why,
			   sizeof(why)) ||
	    h265_parse_sps(ps->sps[0], ps->sps_len[0], &sps, why,
			   sizeof(why))) {
		set_err(err, errlen, "hvcC: %s", why);
		return -1;
	}
	size_t need = 23 + 3 * 3;
	if (!lengths_fit(ps->vps_len, ps->nvps, &need) ||
	    !lengths_fit(ps->sps_len, ps->nsps, &need) ||
	    !lengths_fit(ps->pps_len, ps->npps, &need) || need > cap) {
		set_err(err, errlen, "hvcC of %zu bytes does not fit in %zu",
			need, cap);
		return -1;
	}
	unsigned layers = vps.max_sub_layers > sps.max_sub_layers
			      ? vps.max_sub_layers
			      : sps.max_sub_layers;
	size_t o = put_head(out, &sps, layers);
	o += put_array(out + o, H265_NAL_VPS, ps->vps, ps->vps_len, ps->nvps);
	o += put_array(out + o, H265_NAL_SPS, ps->sps, ps->sps_len, ps->nsps);
	o += put_array(out + o, H265_NAL_PPS, ps->pps, ps->pps_len, ps->npps);
	return (long)o;
}
