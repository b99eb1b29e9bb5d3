/* H.264 Annex-B scanning: NAL unit types, start codes, emulation
 * prevention. See h264_nal.h; references are to ITU-T H.264 (08/2021). */

#include "h264_nal.h"

#include <string.h>

const char *h264_nal_type_name(unsigned type)
{
	static const char *const names[] = {
	    [0] = "unspecified",
	    [H264_NAL_SLICE] = "slice",
	    [H264_NAL_DPA] = "partition A",
	    [H264_NAL_DPB] = "partition B",
	    [H264_NAL_DPC] = "partition C",
	    [H264_NAL_IDR] = "IDR slice",
	    [H264_NAL_SEI] = "SEI",
	    [H264_NAL_SPS] = "SPS",
	    [H264_NAL_PPS] = "PPS",
	    [H264_NAL_AUD] = "AUD",
	    [H264_NAL_END_SEQUENCE] = "end of sequence",
	    [H264_NAL_END_STREAM] = "end of stream",
	    [H264_NAL_FILLER] = "filler",
	    [H264_NAL_SPS_EXT] = "SPS extension",
	    [H264_NAL_PREFIX] = "prefix",
	    [H264_NAL_SUBSET_SPS] = "subset SPS",
	};
	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "reserved";
}

/* --------------------------------------------------------- start codes */

/* Start codes are rare in coded data: emulation prevention (7.4.1) keeps
 * 00 00 out of NAL payloads except before an 03, so a pair of zero bytes
 * shows up about once per 64 KiB of slice data. The scan therefore looks
 * for zero pairs 32 positions at a time (GCC vector extensions: SSE2 on
 * x86-64, NEON on ARM, plain words elsewhere) and only checks a block byte
 * by byte when it holds one. memchr for the 01 byte, which occurs every 256
 * bytes or so, stopped too often to be fast. */
typedef uint8_t sc_vec __attribute__((vector_size(16)));
typedef int8_t sc_mask __attribute__((vector_size(16)));

static inline sc_vec sc_load(const uint8_t *p)
{
	sc_vec v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* Non-zero when some position i in [p, p + 16) has p[i] == p[i + 1] == 0. */
static inline uint64_t zero_pairs16(const uint8_t *p)
{
	sc_mask m = (sc_mask)(sc_load(p) == 0) & (sc_mask)(sc_load(p + 1) == 0);
	uint64_t w[2];
	memcpy(w, &m, sizeof(w));
	return w[0] | w[1];
}

static size_t find_start_code_bytes(const uint8_t *buf, size_t from, size_t to,
				    size_t len)
{
	for (size_t i = from; i < to && i + 2 < len; i++)
		if (buf[i] == 0 && buf[i + 1] == 0 && buf[i + 2] == 1)
			return i;
	return len;
}

size_t h264_find_start_code(const uint8_t *buf, size_t len, size_t from)
{
	if (len < 3 || from > len - 3)
		return len;
	size_t i = from;
	/* Blocks of 32 positions whose loads (up to i + 33) and byte checks
	 * (up to i + 33) stay inside the buffer. */
	while (len - i >= 34) {
		if (zero_pairs16(buf + i) | zero_pairs16(buf + i + 16)) {
			size_t sc = find_start_code_bytes(buf, i, i + 32, len);
			if (sc < len)
				return sc;
		}
		i += 32;
	}
	return find_start_code_bytes(buf, i, len, len);
}

/* A 00 00 01 at sc preceded by a zero is a 4-byte start code. */
int h264_next_nal(const uint8_t *buf, size_t len, size_t *pos,
		  struct h264_nal *nal, size_t *garbage)
{
	size_t from = *pos;
	for (;;) {
		size_t sc = h264_find_start_code(buf, len, from);
		if (sc >= len) {
			if (garbage)
				*garbage =
				    h264_any_nonzero(buf + *pos, len - *pos)
					? len - *pos
					: 0;
			*pos = len;
			return 0;
		}
		size_t hdr = sc + 3;
		size_t next = h264_find_start_code(buf, len, hdr);
		size_t end = next;
		while (end > hdr && buf[end - 1] == 0)
			end--; /* trailing_zero_8bits / the next 4-byte code */
		if (end == hdr) {
			from = next; /* empty NAL unit: nothing to report */
			continue;
		}
		size_t begin = h264_start_code_begin(buf, sc, *pos);
		if (garbage)
			*garbage = h264_any_nonzero(buf + *pos, begin - *pos)
				       ? begin - *pos
				       : 0;
		nal->start = begin;
		nal->offset = hdr;
		nal->size = end - hdr;
		nal->type = buf[hdr] & 0x1f;
		nal->ref_idc = (buf[hdr] >> 5) & 3;
		*pos = next;
		return 1;
	}
}

bool h264_headers_only(const uint8_t *buf, size_t len)
{
	size_t pos = 0;
	struct h264_nal n;
	bool any = false;
	while (h264_next_nal(buf, len, &pos, &n, NULL) == 1) {
		if (h264_nal_is_vcl(n.type))
			return false;
		any = true;
	}
	return any;
}

size_t h264_unescape(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;
	unsigned zeros = 0;
	for (size_t i = 0; i < n; i++) {
		if (zeros >= 2 && in[i] == 3) {
			zeros = 0;
			continue;
		}
		zeros = in[i] == 0 ? zeros + 1 : 0;
		out[o++] = in[i];
	}
	return o;
}
