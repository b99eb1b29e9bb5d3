/* Picture order and timestamps of H.264 access units in decoding order.
 * See h264_order.h for the contract. */
#include "h264_order.h"

#include <stdlib.h>
#include <string.h>

#include "h264_bits.h"

#define MAX_SPS 32
#define MAX_PPS 256

struct h264_order {
	struct h264_sps *sps[MAX_SPS]; /* allocated when first seen */
	struct h264_pps *pps[MAX_PPS];
	struct h264_poc_state poc;
};

struct h264_order *h264_order_new(void)
{
	return calloc(1, sizeof(struct h264_order));
}

void h264_order_free(struct h264_order *o)
{
	if (!o)
		return;
	for (unsigned i = 0; i < MAX_SPS; i++)
		free(o->sps[i]);
	for (unsigned i = 0; i < MAX_PPS; i++)
		free(o->pps[i]);
	free(o);
}

void h264_order_reset(struct h264_order *o)
{
	h264_poc_reset(&o->poc);
}

/* Keep a parameter set by id; a broken one is ignored (the previous one
 * with that id, if any, stays). Returns -1 only when out of memory. */
static int store_sps(struct h264_order *o, const uint8_t *nal, size_t size)
{
	struct h264_sps sps;
	if (h264_parse_sps(nal, size, &sps, NULL, 0))
		return 0;
	if (!o->sps[sps.sps_id] && !(o->sps[sps.sps_id] = malloc(sizeof(sps))))
		return -1;
	*o->sps[sps.sps_id] = sps;
	return 0;
}

static int store_pps(struct h264_order *o, const uint8_t *nal, size_t size)
{
	struct h264_pps pps;
	if (h264_parse_pps(nal, size, &pps, NULL, 0))
		return 0;
	if (!o->pps[pps.pps_id] && !(o->pps[pps.pps_id] = malloc(sizeof(pps))))
		return -1;
	*o->pps[pps.pps_id] = pps;
	return 0;
}

/* The picture order of the slice NAL unit at nal. */
static int slice_order(struct h264_order *o, const uint8_t *nal, size_t size,
		       struct h264_order_pic *pic, char *err, size_t errlen)
{
	struct h264_slice_header sh;
	if (h264_parse_slice_header(nal, size, &sh)) {
		set_err(err, errlen, "slice header does not parse");
		return -1;
	}
	const struct h264_pps *pps = o->pps[sh.pps_id];
	if (!pps) {
		set_err(err, errlen, "slice refers to PPS %u, not seen",
			sh.pps_id);
		return -1;
	}
	const struct h264_sps *sps = o->sps[pps->sps_id];
	if (!sps) {
		set_err(err, errlen, "PPS %u refers to SPS %u, not seen",
			pps->pps_id, pps->sps_id);
		return -1;
	}
	if (h264_parse_slice_poc(nal, size, sps, pps, &sh, err, errlen))
		return -1;
	struct h264_poc poc;
	h264_poc_compute(&o->poc, sps, &sh, &poc);
	pic->valid = true;
	pic->poc = poc.poc;
	pic->new_period = poc.new_period;
	pic->reorder = h264_sps_reorder_frames(sps);
	pic->dpb = h264_sps_dpb_frames(sps);
	return 0;
}

int h264_order_picture(struct h264_order *o, const uint8_t *au, size_t len,
		       struct h264_order_pic *pic, char *err, size_t errlen)
{
	memset(pic, 0, sizeof(*pic));
	pic->new_period = true;
	pic->reorder = -1;
	pic->dpb = H264_MAX_REORDER;
	size_t pos = 0;
	struct h264_nal nal;
	while (h264_next_nal(au, len, &pos, &nal, NULL)) {
		const uint8_t *p = au + nal.offset;
		int r = 0;
		if (nal.type == H264_NAL_SPS)
			r = store_sps(o, p, nal.size);
		else if (nal.type == H264_NAL_PPS)
			r = store_pps(o, p, nal.size);
		if (r) {
			set_err(err, errlen, "out of memory");
			return -1;
		}
		if (nal.type == H264_NAL_SLICE || nal.type == H264_NAL_IDR ||
		    nal.type == H264_NAL_DPA) {
			pic->key = nal.type == H264_NAL_IDR;
			if (slice_order(o, p, nal.size, pic, err, errlen)) {
				h264_poc_reset(&o->poc);
				return -1;
			}
			return 0;
		}
	}
	set_err(err, errlen, "no slice in %zu bytes", len);
	return -1;
}

/* ------------------------------------------------------------ reorder */

void h264_reorder_init(struct h264_reorder *r)
{
	memset(r, 0, sizeof(*r));
}

/* Output the held picture displayed first: the smallest poc, the earlier
 * decoded of equals. */
static struct h264_reorder_out pop_first(struct h264_reorder *r)
{
	unsigned best = 0;
	for (unsigned i = 1; i < r->count; i++)
		if (r->held[i].poc < r->held[best].poc)
			best = i;
	struct h264_reorder_out o = {.decode_index = r->held[best].decode_index,
				     .display_index = r->displayed++};
	memmove(&r->held[best], &r->held[best + 1],
		(r->count - best - 1) * sizeof(r->held[0]));
	r->count--;
	return o;
}

unsigned h264_reorder_flush(struct h264_reorder *r,
			    struct h264_reorder_out *out)
{
	unsigned n = 0;
	while (r->count)
		out[n++] = pop_first(r);
	return n;
}

unsigned h264_reorder_push(struct h264_reorder *r,
			   const struct h264_order_pic *pic, unsigned capacity,
			   struct h264_reorder_out *out, unsigned *depth)
{
	if (capacity > H264_MAX_REORDER)
		capacity = H264_MAX_REORDER;
	unsigned n = 0;
	if (pic->new_period || !pic->valid)
		n = h264_reorder_flush(r, out);
	uint64_t index = r->pushed++;
	unsigned later = 0;
	for (unsigned i = 0; i < r->count; i++)
		later += r->held[i].poc > pic->poc;
	if (depth)
		*depth = pic->valid ? later : 0;
	if (!pic->valid) {
		out[n++] = (struct h264_reorder_out){
		    .decode_index = index, .display_index = r->displayed++};
		return n;
	}
	r->held[r->count].decode_index = index;
	r->held[r->count].poc = pic->poc;
	r->count++;
	while (r->count > capacity)
		out[n++] = pop_first(r);
	return n;
}

/* ---------------------------------------------------------------- dts */

void h264_dts_init(struct h264_dts *d, unsigned depth)
{
	memset(d, 0, sizeof(*d));
	d->depth = depth > H264_MAX_REORDER ? H264_MAX_REORDER : depth;
}

/* Keep pts among the depth+1 largest, ascending. */
static void keep_largest(struct h264_dts *d, int64_t pts)
{
	unsigned room = d->depth + 1;
	if (d->count == room) {
		if (pts <= d->largest[0])
			return;
		d->largest[0] = pts;
	} else {
		memmove(&d->largest[1], &d->largest[0],
			d->count * sizeof(d->largest[0]));
		d->largest[0] = pts;
		d->count++;
	}
	for (unsigned i = 0;
	     i + 1 < d->count && d->largest[i] > d->largest[i + 1]; i++) {
		int64_t t = d->largest[i];
		d->largest[i] = d->largest[i + 1];
		d->largest[i + 1] = t;
	}
}

int64_t h264_dts_next(struct h264_dts *d, int64_t pts, int64_t frame_ns)
{
	if (!d->started) {
		d->count = 0;
		for (unsigned k = d->depth; k > 0; k--)
			keep_largest(d, pts - (int64_t)k * frame_ns);
	}
	keep_largest(d, pts);
	int64_t dts = d->largest[0];
	if (d->started && dts < d->last)
		dts = d->last;
	d->started = true;
	d->last = dts;
	return dts;
}
