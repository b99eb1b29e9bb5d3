/* Picture order for H.265 access units that arrive in decoding order:
 * PicOrderCntVal (ITU-T H.265 8.3.1) from the first slice segment header,
 * in the form the reorder buffer of h264_order.h takes (struct
 * h264_order_pic, h264_reorder_*), which is codec-neutral. Part of
 * h265.h. */
#ifndef VPIPE_COMMON_H265_ORDER_H
#define VPIPE_COMMON_H265_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "h264_order.h"

struct h265_order;

struct h265_order *h265_order_new(void);
void h265_order_free(struct h265_order *o);
/* Forget the picture order state (a discontinuity); parameter sets stay. */
void h265_order_reset(struct h265_order *o);

/* One Annex-B access unit in decoding order: store the SPS and PPS it
 * carries, read its first slice segment header and compute its picture
 * order. pic->reorder is sps_max_num_reorder_pics and pic->dpb
 * sps_max_dec_pic_buffering of its SPS (highest sub-layer); new_period is
 * set for IRAP pictures with NoRaslOutputFlag (IDR, BLA, a CRA first in
 * the stream or after an end of sequence). Returns 0, or -1 with a message
 * in err when the order cannot be known (pic->valid false, new_period
 * true: take it in decoding order). */
int h265_order_picture(struct h265_order *o, const uint8_t *au, size_t len,
		       struct h264_order_pic *pic, char *err, size_t errlen);

#endif
