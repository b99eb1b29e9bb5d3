/* Picture order and timestamps for H.264 access units that arrive in
 * decoding order, for sources that must stamp them: a file of Annex-B
 * (pts and dts from a frame rate) and RTP (pts given, dts derived).
 *
 *  - h264_order: keeps the parameter sets an access unit refers to and
 *    computes each picture's PicOrderCnt (common/h264_poc.c, 8.2.1).
 *  - h264_reorder: the output ("bumping") process of C.4.5.3 run on
 *    picture order counts alone: it says which picture is displayed
 *    n-th, holding as many pictures as the stream may reorder.
 *  - h264_dts: decoding timestamps from presentation timestamps in
 *    decoding order, for a known reorder depth, with no look-ahead.
 *
 * Nothing here trusts the stream: a picture whose order cannot be known
 * (no slice, parameter sets missing or broken) is reported and taken in
 * decoding order.
 */
#ifndef VPIPE_COMMON_H264_ORDER_H
#define VPIPE_COMMON_H264_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h264.h"

/* The deepest reordering H.264 allows (MaxDpbFrames). */
#define H264_MAX_REORDER 16

struct h264_order_pic {
	bool valid;	 /* poc known */
	int64_t poc;	 /* PicOrderCnt within its period */
	bool new_period; /* IDR or mmco5: earlier pictures all come first */
	bool key;	 /* IDR */
	int reorder;	 /* h264_sps_reorder_frames of its SPS, -1 unknown */
	unsigned dpb;	 /* h264_sps_dpb_frames of its SPS */
};

struct h264_order;

struct h264_order *h264_order_new(void);
void h264_order_free(struct h264_order *o);
/* Forget the picture order state (a discontinuity); parameter sets stay. */
void h264_order_reset(struct h264_order *o);

/* One Annex-B access unit in decoding order: store the SPS and PPS it
 * carries, parse its first slice header and compute its picture order.
 * Returns 0 with *pic filled, or -1 with a message in err when its order
 * cannot be known (then pic->valid is false and pic->new_period true, so
 * it is taken in decoding order). */
int h264_order_picture(struct h264_order *o, const uint8_t *au, size_t len,
		       struct h264_order_pic *pic, char *err, size_t errlen);

/* ------------------------------------------------------------ reorder */

/* A picture leaves the reorder buffer: the decode_index-th picture pushed
 * is the display_index-th displayed (both count from 0 over the stream). */
struct h264_reorder_out {
	uint64_t decode_index, display_index;
};

struct h264_reorder {
	unsigned capacity; /* pictures held before the first is output */
	unsigned count;
	struct {
		uint64_t decode_index;
		int64_t poc;
	} held[H264_MAX_REORDER + 1];
	uint64_t pushed, displayed;
};

/* Outputs one push or flush can produce at most. */
#define H264_REORDER_MAX_OUT (H264_MAX_REORDER + 2)

void h264_reorder_init(struct h264_reorder *r);

/* Add the next picture in decoding order, holding at most `capacity`
 * pictures (the stream's reorder depth, or its DPB size when that is not
 * known; at most H264_MAX_REORDER). Writes the pictures whose display
 * position is now known to out[] (room for H264_REORDER_MAX_OUT) and
 * returns how many. *depth (may be NULL) receives how many pictures
 * decoded before this one, in its period, are displayed after it. */
unsigned h264_reorder_push(struct h264_reorder *r,
			   const struct h264_order_pic *pic, unsigned capacity,
			   struct h264_reorder_out *out, unsigned *depth);

/* End of stream (or of a run): output every held picture. */
unsigned h264_reorder_flush(struct h264_reorder *r,
			    struct h264_reorder_out *out);

/* ---------------------------------------------------------------- dts */

/* dts from pts in decoding order: the (depth+1)-th largest pts seen so
 * far. For a stream that reorders at most `depth` pictures this never
 * exceeds the picture's pts, never goes back, and on a regular frame grid
 * advances one frame per picture. The first pictures take the first pts
 * minus depth, depth-1, ... frame durations. */
struct h264_dts {
	unsigned depth;
	unsigned count;
	int64_t largest[H264_MAX_REORDER + 1]; /* ascending */
	int64_t last;
	bool started;
};

/* Start over with a reorder depth (0..H264_MAX_REORDER). */
void h264_dts_init(struct h264_dts *d, unsigned depth);
/* The dts of the next picture in decoding order, whose pts is `pts`;
 * frame_ns seeds the first pictures. Clamped so it never goes back; a
 * value above pts means the stream reorders deeper than `depth`. */
int64_t h264_dts_next(struct h264_dts *d, int64_t pts, int64_t frame_ns);

#endif
