/* SDP (RFC 4566) as far as an RTSP H.264/H.265 client needs it: the first
 * video media section carrying H.264 (RFC 6184 §8.1) or H.265 (RFC 7798
 * §7.1): payload type, clock rate, packetization-mode,
 * sprop-parameter-sets or sprop-vps/sps/pps, control URLs. Pure code. */
#ifndef VPIPE_RTSP_SDP_H
#define VPIPE_RTSP_SDP_H

#include <stddef.h>
#include <stdint.h>

#define SDP_MAX_CONTROL 512
#define SDP_MAX_PARAMS	1024

struct sdp_h264 {
	int payload_type;	/* 96..127 usually */
	int clock_rate;		/* 90000 for H.264 */
	int packetization_mode; /* 0 single NAL, 1 non-interleaved, 2
				   interleaved */
	char session_control[SDP_MAX_CONTROL]; /* a=control before any m= */
	char control[SDP_MAX_CONTROL]; /* a=control of the video media */
	char profile_level_id[8];
	/* sprop-parameter-sets decoded to Annex-B: each NAL with a 4-byte
	 * start code, in the order the SDP lists them (SPS first usually). */
	uint8_t params[SDP_MAX_PARAMS];
	size_t params_len;
	double framerate; /* a=framerate, 0 if absent */
	int hevc;	  /* H265 rtpmap: params hold VPS, SPS, PPS */
};

/* Parse `len` bytes of SDP text. Returns 0 and fills `out` when an H.264
 * or H.265 video section is found; -1 otherwise with a reason naming the
 * line in err (also for H.265 with sprop-max-don-diff > 0: decoding order
 * numbers are not supported). */
int sdp_parse_h264(const char *text, size_t len, struct sdp_h264 *out,
		   char *err, size_t err_size);

/* Resolve a media control attribute against the base URL (Content-Base,
 * Content-Location or the DESCRIBE URL): absolute "rtsp://..." stays, "*"
 * or empty is the base, anything else is appended to the base with one
 * '/'. Returns 0, or -1 if out is too small. */
int sdp_resolve_control(const char *base, const char *control, char *out,
			size_t out_size);

/* Standard base64 (RFC 4648), padding optional. Returns the decoded length
 * or -1 on a bad character or when out is too small. */
int base64_decode(const char *in, size_t len, uint8_t *out, size_t out_size);

#endif
