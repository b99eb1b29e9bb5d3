/* libFuzzer target: common/h264 (splitter, access-unit info, SPS, AVCC and
 * avcC) and the mkv muxer behind it, on arbitrary bytes. The first byte picks
 * the chunk size the splitter is fed with; every access unit found is
 * inspected, converted and muxed with timestamps drawn from its bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/h264.h"
#include "common/h264_order.h"
#include "modules/mkv/mux.h"

static void quiet(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

static void inspect(const uint8_t *au, size_t n)
{
	struct h264_au_info info;
	char err[200];
	if (h264_au_info(au, n, &info, err, sizeof(err)) == 0 && info.has_sps) {
		const struct h264_nal *s = &info.nals[info.sps_index];
		struct h264_sps sps;
		h264_parse_sps(au + s->offset, s->size, &sps, err, sizeof(err));
		if (info.has_pps) {
			const struct h264_nal *p = &info.nals[info.pps_index];
			const uint8_t *sp[] = {au + s->offset};
			const uint8_t *pp[] = {au + p->offset};
			size_t sl[] = {s->size}, pl[] = {p->size};
			uint8_t rec[512];
			h264_build_avcc(sp, sl, 1, pp, pl, 1, rec, sizeof(rec));
		}
	}
	uint8_t *avcc = malloc(h264_avcc_bound(n));
	if (avcc) {
		size_t used = h264_annexb_to_avcc(au, n, avcc);
		if (used > h264_avcc_bound(n))
			abort();
		free(avcc);
	}
}

/* Picture order, reorder buffer and dts on the same access units: display
 * positions are handed out once each and in order, dts never goes back. */
struct order_check {
	struct h264_order *order;
	struct h264_reorder reorder;
	struct h264_dts dts;
	uint64_t displayed;
	int64_t last_dts;
	bool have_dts;
};

static void check_outputs(struct order_check *c,
			  const struct h264_reorder_out *out, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (out[i].display_index != c->displayed++)
			abort();
		if (out[i].decode_index >= c->reorder.pushed)
			abort();
	}
}

static void order_au(struct order_check *c, const uint8_t *au, size_t n,
		     int64_t pts)
{
	struct h264_order_pic pic;
	char err[200];
	h264_order_picture(c->order, au, n, &pic, err, sizeof(err));
	struct h264_reorder_out out[H264_REORDER_MAX_OUT];
	unsigned depth;
	unsigned cap = pic.reorder >= 0 ? (unsigned)pic.reorder : pic.dpb;
	check_outputs(c, out,
		      h264_reorder_push(&c->reorder, &pic, cap, out, &depth));
	if (depth > H264_MAX_REORDER)
		abort();
	if (pic.key)
		h264_dts_init(&c->dts, cap);
	int64_t dts = h264_dts_next(&c->dts, pts, 33333333);
	if (c->have_dts && dts < c->last_dts && !pic.key)
		abort();
	c->last_dts = dts;
	c->have_dts = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	size_t chunk = 1 + data[0] * 7u;
	bool kff = data[1] & 1;
	data += 2;
	size -= 2;

	struct mkv_config cfg = {
	    .fragment_duration = 1000000000,
	    .max_fragment_duration = 2000000000,
	    .timecode_scale = (data[0] & 1) ? 100 : 1000000,
	    .key_frame_fragmentation = kff,
	    .absolute_fragment_times = !kff,
	    .track_name = "t",
	    .codec_id = "V_MPEG4/ISO/AVC",
	    .tags = "a=1",
	    .notification_every = 2,
	    .image_every = 3,
	    .image_prefix = "p",
	};
	struct mkv_mux *mux = NULL;
	char err[256];
	if (mkv_mux_new(&cfg, quiet, NULL, &mux, err, sizeof(err)))
		return 0;

	struct order_check oc = {.order = h264_order_new()};
	if (!oc.order)
		return 0;
	h264_reorder_init(&oc.reorder);
	h264_dts_init(&oc.dts, 0);
	struct h264_au_splitter *sp = h264_au_splitter_new(1 << 16);
	struct h264_au au;
	int64_t t = 0;
	for (size_t off = 0;; off += chunk) {
		size_t n = off >= size		? 0
			   : size - off < chunk ? size - off
						: chunk;
		if (n)
			h264_au_splitter_push(sp, data + off, n);
		else
			h264_au_splitter_finish(sp);
		int r;
		while ((r = h264_au_splitter_next(sp, &au)) != 0) {
			if (r < 0)
				continue;
			inspect(au.data, au.size);
			order_au(&oc, au.data, au.size, t);
			/* Timestamps that sometimes go back or jump far. */
			uint8_t b = au.data[au.size - 1];
			t += (b & 0x80) ? -(int64_t)b * 1000000
					: (int64_t)b * 40000000;
			struct vpipe_tag tags[2] = {{"k", "v"}, {"AWS_X", "y"}};
			struct mkv_mux_input in = {
			    .data = au.data,
			    .size = au.size,
			    .pts = t,
			    .dts = (b & 1) ? VPIPE_TIME_NONE : t,
			    .duration = 33333333,
			    .wallclock = 1700000000000000000LL + t,
			    .flags = (b & 2) ? VPIPE_FLAG_DISCONTINUITY : 0,
			    .tags = tags,
			    .num_tags = b & 3 ? 2 : 0,
			};
			struct mkv_mux_output o;
			if (mkv_mux_frame(mux, &in, &o))
				abort();
		}
		if (n == 0)
			break;
	}
	struct h264_reorder_out out[H264_REORDER_MAX_OUT];
	check_outputs(&oc, out, h264_reorder_flush(&oc.reorder, out));
	if (oc.displayed != oc.reorder.pushed)
		abort();
	h264_order_free(oc.order);
	h264_au_splitter_free(sp);
	mkv_mux_free(mux);
	return 0;
}
