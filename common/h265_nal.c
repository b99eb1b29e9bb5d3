/* H.265 NAL unit headers and types. See h265_nal.h; references are to
 * ITU-T H.265 (08/2021). */

#include "h265_nal.h"

#include "h264_nal.h"

int h265_parse_nal_header(const uint8_t *nal, size_t size,
			  struct h265_nal_header *h)
{
	if (size < 2 || (nal[0] & 0x80) || (nal[1] & 7) == 0)
		return -1;
	h->type = h265_nal_type(nal);
	h->layer_id = (uint8_t)(((nal[0] & 1) << 5) | (nal[1] >> 3));
	h->temporal_id = (uint8_t)((nal[1] & 7) - 1);
	return 0;
}

const char *h265_nal_type_name(unsigned type)
{
	if (type <= 9)
		return type == 1 || type == 0 ? "trailing slice" : "slice";
	if (type >= 16 && type <= 18)
		return "BLA slice";
	if (type == 19 || type == 20)
		return "IDR slice";
	if (type == 21)
		return "CRA slice";
	switch (type) {
	case H265_NAL_VPS:
		return "VPS";
	case H265_NAL_SPS:
		return "SPS";
	case H265_NAL_PPS:
		return "PPS";
	case H265_NAL_AUD:
		return "AUD";
	case H265_NAL_EOS:
		return "end of sequence";
	case H265_NAL_EOB:
		return "end of bitstream";
	case H265_NAL_FD:
		return "filler";
	case H265_NAL_SEI_PREFIX:
		return "prefix SEI";
	case H265_NAL_SEI_SUFFIX:
		return "suffix SEI";
	default:
		return "reserved";
	}
}

int h265_next_nal(const uint8_t *buf, size_t len, size_t *pos,
		  struct h265_nal *nal, size_t *garbage)
{
	struct h264_nal n;
	if (!h264_next_nal(buf, len, pos, &n, garbage))
		return 0;
	nal->start = n.start;
	nal->offset = n.offset;
	nal->size = n.size;
	struct h265_nal_header h = {.type = 0xff};
	if (n.size >= 2) {
		h.type = h265_nal_type(buf + n.offset);
		h.layer_id = (uint8_t)(((buf[n.offset] & 1) << 5) |
				       (buf[n.offset + 1] >> 3));
		h.temporal_id = (uint8_t)((buf[n.offset + 1] & 7) - 1);
	}
	nal->type = h.type;
	nal->layer_id = h.layer_id;
	nal->temporal_id = h.temporal_id;
	return 1;
}

bool h265_starts_new_au(const uint8_t *nal, size_t avail)
{
	if (avail < 2)
		return false;
	unsigned type = h265_nal_type(nal);
	/* Only the base layer delimits access units here: a layer above
	 * belongs to the picture unit it follows. */
	unsigned layer = ((nal[0] & 1) << 5) | (nal[1] >> 3);
	if (layer != 0)
		return false;
	if (h265_nal_is_vcl(type))
		return avail >= 3 &&
		       (nal[2] & 0x80); /* first_slice_segment_in_pic_flag */
	switch (type) {
	case H265_NAL_VPS:
	case H265_NAL_SPS:
	case H265_NAL_PPS:
	case H265_NAL_AUD:
	case H265_NAL_SEI_PREFIX:
	case 41:
	case 42:
	case 43:
	case 44:
		return true;
	default:
		return type >= 48 && type <= 55;
	}
}
