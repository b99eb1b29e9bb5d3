/* One H.264 access unit looked at: its NAL units, key frame, parameter
 * sets. See h264_au.h; references are to ITU-T H.264 (08/2021). */

#include "h264_au.h"

#include <string.h>

#include "h264_bits.h"
#include "h264_slice.h"

/* --------------------------------------------------------- access units */

/* Account one NAL unit in info. Returns -1 when it is not H.264. */
static int note_nal(const uint8_t *au, const struct h264_nal *nal,
		    struct h264_au_info *info, char *err, size_t errlen)
{
	if (au[nal->offset] & 0x80) {
		set_err(err, errlen,
			"forbidden_zero_bit set in NAL unit at byte %zu of the "
			"access unit",
			nal->offset);
		return -1;
	}
	unsigned i = info->num_nals++;
	bool kept = i < H264_AU_MAX_NALS;
	if (kept)
		info->nals[i] = *nal;
	switch (nal->type) {
	case H264_NAL_IDR:
		info->key = true;
		/* fall through */
	case H264_NAL_SLICE:
	case H264_NAL_DPA:
		if (info->num_slices++ == 0) {
			struct h264_slice_header sh;
			if (h264_parse_slice_header(au + nal->offset, nal->size,
						    &sh) == 0)
				info->slice_type = sh.slice_type;
		}
		break;
	case H264_NAL_DPB:
	case H264_NAL_DPC:
		info->num_slices++;
		break;
	case H264_NAL_SPS:
		if (!info->has_sps && kept) {
			info->sps_index = i;
			info->has_sps = true;
		}
		break;
	case H264_NAL_PPS:
		if (!info->has_pps && kept) {
			info->pps_index = i;
			info->has_pps = true;
		}
		break;
	case H264_NAL_AUD:
		info->has_aud = true;
		break;
	case H264_NAL_SEI:
		info->has_sei = true;
		break;
	default:
		break;
	}
	return 0;
}

static int finish_info(size_t len, struct h264_au_info *info, char *err,
		       size_t errlen)
{
	if (info->num_nals == 0) {
		set_err(err, errlen, "no NAL unit in %zu bytes", len);
		return -1;
	}
	if (info->num_slices == 0) {
		set_err(err, errlen,
			"access unit of %zu bytes holds no picture slice", len);
		return -1;
	}
	return 0;
}

int h264_au_info(const uint8_t *au, size_t len, struct h264_au_info *info,
		 char *err, size_t errlen)
{
	memset(info, 0, sizeof(*info));
	size_t pos = 0, garbage = 0;
	struct h264_nal nal;
	while (h264_next_nal(au, len, &pos, &nal,
			     info->num_nals ? NULL : &garbage)) {
		if (info->num_nals == 0)
			info->garbage = garbage;
		if (note_nal(au, &nal, info, err, errlen))
			return -1;
	}
	return finish_info(len, info, err, errlen);
}

int h264_au_info_head(const uint8_t *au, size_t len, struct h264_au_info *info,
		      char *err, size_t errlen)
{
	memset(info, 0, sizeof(*info));
	size_t sc = h264_find_start_code(au, len, 0);
	size_t begin = sc < len ? h264_start_code_begin(au, sc, 0) : len;
	info->garbage = h264_any_nonzero(au, begin) ? begin : 0;
	while (sc < len && sc + 3 < len) {
		struct h264_nal nal = {.start =
					   h264_start_code_begin(au, sc, 0),
				       .offset = sc + 3};
		nal.type = au[nal.offset] & 0x1f;
		nal.ref_idc = (au[nal.offset] >> 5) & 3;
		bool vcl = h264_nal_is_vcl(nal.type);
		size_t next =
		    vcl ? len : h264_find_start_code(au, len, nal.offset);
		size_t end = next;
		while (end > nal.offset && au[end - 1] == 0)
			end--;
		nal.size = end - nal.offset;
		if (nal.size && note_nal(au, &nal, info, err, errlen))
			return -1;
		if (vcl && nal.size)
			break;
		sc = next;
	}
	return finish_info(len, info, err, errlen);
}
