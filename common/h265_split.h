/* The streaming H.265 access-unit splitter. The machinery (buffers, start
 * codes, error reporting) is h264_split's, codec-neutral; H.265 supplies
 * where an access unit begins (7.4.2.4.4: an AUD, VPS, SPS, PPS, prefix
 * SEI or reserved types 41..44 and 48..55 after a slice segment, or a
 * slice segment with first_slice_segment_in_pic_flag set). Use the
 * h264_au_splitter_* calls on what this returns. Part of h265.h. */
#ifndef VPIPE_COMMON_H265_SPLIT_H
#define VPIPE_COMMON_H265_SPLIT_H

#include <stddef.h>

#include "h264_split.h"

struct h264_au_splitter *h265_au_splitter_new(size_t max_au_bytes);

#endif
