/* libFuzzer: RTP parsing and H.264 or H.265 (bit 1 of the first byte)
 * depacketization over a packet series.
 * The input is split into packets by a 2-byte length prefix each; the
 * depacketizer runs with a small access-unit limit so that size limits are
 * exercised too. Every access unit handed out must be Annex-B and sane.
 * The same bytes also go through the RTCP parser. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "modules/rtsp/rtp_h264.h"

static void check_au(void *ctx, const struct rtp_h264_au *au)
{
	(void)ctx;
	if (au->size < 5 || memcmp(au->data, "\0\0\0\1", 4) != 0)
		__builtin_trap();
	if ((au->flags & H264_AU_KEY) && !(au->flags & H264_AU_CONFIG))
		__builtin_trap();
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < au->size; i++)
		sink ^= au->data[i];
	if (au->sps)
		for (size_t i = 0; i < au->sps_len; i++)
			sink ^= au->sps[i];
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct h264_depay d;
	bool hevc = size && (data[0] & 2);
	if ((hevc ? h264_depay_init_hevc : h264_depay_init)(&d, 4096, check_au,
							    NULL) < 0)
		return 0;
	static const uint8_t sprop[] = {0,    0, 0, 1, 0x67, 0x42, 0xc0,
					0x1e, 0, 0, 0, 1,    0x68, 0xce};
	static const uint8_t sprop265[] = {0, 0, 0, 1, 0x40, 0x01, 0xaa,
					   0, 0, 0, 1, 0x42, 0x01, 0xbb,
					   0, 0, 0, 1, 0x44, 0x01, 0xcc};
	if (size && (data[0] & 1))
		h264_depay_set_sprop(&d, hevc ? sprop265 : sprop,
				     hevc ? sizeof(sprop265) : sizeof(sprop));
	size_t off = size ? 1 : 0;
	while (off + 2 <= size) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (n > size - off)
			n = size - off;
		struct rtp_packet p;
		if (rtp_parse(data + off, n, &p) == 0)
			h264_depay_push(&d, &p);
		struct rtcp_sr sr;
		if (rtcp_find_sr(data + off, n, &sr) == 1)
			(void)ntp_to_unix_ns(sr.ntp);
		if (n && (data[off] & 0x3f) == 0x3f)
			h264_depay_reset(&d);
		off += n;
	}
	h264_depay_flush(&d);
	h264_depay_free(&d);
	return 0;
}
