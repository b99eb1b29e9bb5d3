/* The streaming H.265 access-unit splitter: h264_split's machinery with
 * H.265's access-unit boundaries. See h265_split.h. */

#include "h265_split.h"

#include "h265_nal.h"

static bool hevc_is_vcl(const uint8_t *nal)
{
	return h265_nal_is_vcl(h265_nal_type(nal));
}

static const struct annexb_au_rules hevc_rules = {
    .starts_new_au = h265_starts_new_au,
    .is_vcl = hevc_is_vcl,
};

struct h264_au_splitter *h265_au_splitter_new(size_t max_au_bytes)
{
	return annexb_au_splitter_new(max_au_bytes, &hevc_rules);
}
