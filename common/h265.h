/* H.265 (ITU-T H.265, ISO/IEC 23008-2) elementary streams, shaped like
 * h264.h: h265_nal (2-byte headers, types, IRAP), h265_params (VPS, SPS,
 * PPS), h265_au (one access unit), h265_split (the streaming splitter,
 * h264_split's machinery with H.265 boundaries), h265_hvcc (the hvcC
 * record). Annex-B start codes and emulation prevention are shared with
 * H.264 (h264_nal). */
#ifndef VPIPE_COMMON_H265_H
#define VPIPE_COMMON_H265_H

#include "h265_au.h"
#include "h265_hvcc.h"
#include "h265_nal.h"
#include "h265_order.h"
#include "h265_params.h"
#include "h265_split.h"

#endif
