/* libFuzzer target: the H.265 parameter-set parsers (VPS, SPS, PPS), the
 * hvcC builder, the access-unit inspector and the streaming splitter, on
 * arbitrary bytes, and the picture order counts of each access unit. The first
 * byte picks the splitter's chunk size; each NAL unit is also offered to every
 * parameter-set parser as it stands. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/h264.h"
#include "common/h265.h"

static void parse_all(const uint8_t *nal, size_t n)
{
	char err[160];
	struct h265_vps vps;
	struct h265_sps sps;
	struct h265_pps pps;
	h265_parse_vps(nal, n, &vps, err, sizeof(err));
	if (h265_parse_sps(nal, n, &sps, err, sizeof(err)) == 0 &&
	    (sps.width == 0 || sps.width > sps.coded_width))
		abort();
	h265_parse_pps(nal, n, &pps, err, sizeof(err));
}

static struct h265_order *order;

static void inspect(const uint8_t *au, size_t n)
{
	char err[160];
	struct h264_order_pic pic;
	if (h265_order_picture(order, au, n, &pic, err, sizeof(err)) == 0 &&
	    (pic.reorder < 0 || pic.reorder > H264_MAX_REORDER))
		abort();
	struct h265_au_info info;
	h265_au_info(au, n, &info, err, sizeof(err));
	struct h265_param_sets ps;
	h265_collect_param_sets(au, n, &ps);
	uint8_t rec[1024];
	long r = h265_build_hvcc(&ps, rec, sizeof(rec), err, sizeof(err));
	if (r > (long)sizeof(rec))
		abort();
	size_t pos = 0;
	struct h265_nal nal;
	while (h265_next_nal(au, n, &pos, &nal, NULL))
		parse_all(au + nal.offset, nal.size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] + 1;
	data++, size--;
	parse_all(data, size);
	if (!order)
		order = h265_order_new();
	h265_order_reset(order);
	struct h264_au_splitter *s = h265_au_splitter_new(1 << 20);
	struct h264_au au;
	for (size_t off = 0;; off += chunk) {
		if (off < size)
			h264_au_splitter_push(s, data + off,
					      size - off < chunk ? size - off
								 : chunk);
		else
			h264_au_splitter_finish(s);
		int rc;
		while ((rc = h264_au_splitter_next(s, &au)) != 0)
			if (rc > 0)
				inspect(au.data, au.size);
		if (off >= size)
			break;
	}
	h264_au_splitter_free(s);
	return 0;
}
