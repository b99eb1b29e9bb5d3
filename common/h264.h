/* H.264 (ISO/IEC 14496-10) elementary streams: what every module that touches
 * H.264 needs, and nothing that decodes pictures.
 *
 *  - Annex-B scanning: NAL units separated by 3- or 4-byte start codes
 *    (h264_next_nal).
 *  - Access units: a streaming splitter that takes bytes in any chunking and
 *    hands out complete access units (h264_au_splitter_*), and a one-shot
 *    inspector of one access unit (h264_au_info): key frame? SPS/PPS? where
 *    are its NAL units?
 *  - SPS parsing with emulation-prevention removal: profile, level, size
 *    after cropping, VUI frame rate (h264_parse_sps).
 *  - Conversions for containers: Annex-B to length-prefixed AVCC samples
 *    (h264_annexb_to_avcc) and the avcC record (AVCDecoderConfigurationRecord,
 *    ISO/IEC 14496-15 5.2.4.1) from SPS/PPS (h264_build_avcc). Together these
 *    are the KVS SDK's NAL_ADAPTATION_ANNEXB_CPD_AND_FRAME_NALS.
 *
 * Nothing here trusts its input: every parser checks bounds, and failures
 * come back as negative values with a message naming the byte offset.
 */
/* One file each: h264_nal (scanning), h264_params (SPS/PPS/VUI),
 * h264_slice (slice headers), h264_poc (picture order count), h264_au (one
 * access unit), h264_split (the streaming splitter), h264_avcc
 * (containers); the bit reader they share is h264_bits.h, internal.
 * Include this header, or only the part a file needs. */
#ifndef VPIPE_COMMON_H264_H
#define VPIPE_COMMON_H264_H

#include "h264_au.h"
#include "h264_avcc.h"
#include "h264_nal.h"
#include "h264_params.h"
#include "h264_poc.h"
#include "h264_slice.h"
#include "h264_split.h"

#endif
