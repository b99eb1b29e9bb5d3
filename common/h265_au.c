/* One H.265 access unit looked at. See h265_au.h; references are to ITU-T
 * H.265 (08/2021). */

#include "h265_au.h"

#include <string.h>

#include "h264_bits.h"

static void note_ps(struct h265_au_info *info, unsigned type)
{
	if (type == H265_NAL_VPS)
		info->has_vps = true;
	else if (type == H265_NAL_SPS)
		info->has_sps = true;
	else if (type == H265_NAL_PPS)
		info->has_pps = true;
	else if (type == H265_NAL_AUD)
		info->has_aud = true;
}

int h265_au_info(const uint8_t *au, size_t len, struct h265_au_info *info,
		 char *err, size_t errlen)
{
	memset(info, 0, sizeof(*info));
	size_t pos = 0, garbage = 0;
	struct h265_nal nal;
	bool first = true;
	while (h265_next_nal(au, len, &pos, &nal, &garbage)) {
		if (first)
			info->garbage = garbage;
		first = false;
		struct h265_nal_header h;
		if (h265_parse_nal_header(au + nal.offset, nal.size, &h)) {
			set_err(err, errlen,
				"byte %zu of the access unit: not an H.265 NAL "
				"unit header (%zu bytes, %02x)",
				nal.offset, nal.size, au[nal.offset]);
			return -1;
		}
		if (info->num_nals < H265_AU_MAX_NALS)
			info->nals[info->num_nals] = nal;
		info->num_nals++;
		note_ps(info, nal.type);
		if (h265_nal_is_vcl(nal.type)) {
			info->first_vcl_type = nal.type;
			info->key = h265_nal_is_irap(nal.type);
			return 0;
		}
	}
	set_err(err, errlen, "access unit of %zu bytes holds no slice segment",
		len);
	return -1;
}
