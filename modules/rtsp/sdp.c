/* SDP for H.264 over RTP: see sdp.h. */
#include "sdp.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int base64_decode(const char *in, size_t len, uint8_t *out, size_t out_size)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	while (len && in[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == out_size)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)n;
}

static void copy_str(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Value of key=... inside an fmtp parameter list "k1=v1; k2=v2". */
static int fmtp_get(const char *p, size_t n, const char *key, const char **val,
		    size_t *val_len)
{
	size_t kl = strlen(key);
	const char *end = p + n;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == ';'))
			p++;
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *stop = semi ? semi : end;
		if ((size_t)(stop - p) > kl && p[kl] == '=' &&
		    !strncasecmp(p, key, kl)) {
			*val = p + kl + 1;
			*val_len = (size_t)(stop - *val);
			while (*val_len && ((*val)[*val_len - 1] == ' '))
				(*val_len)--;
			return 1;
		}
		p = stop;
	}
	return 0;
}

static int add_sprop(struct sdp_h264 *s, const char *v, size_t n)
{
	while (n) {
		const char *comma = memchr(v, ',', n);
		size_t one = comma ? (size_t)(comma - v) : n;
		uint8_t nal[SDP_MAX_PARAMS];
		int len = one ? base64_decode(v, one, nal, sizeof(nal)) : 0;
		if (len < 0 || s->params_len + 4 + (size_t)len > SDP_MAX_PARAMS)
			return -1;
		if (len > 0) {
			static const uint8_t sc[4] = {0, 0, 0, 1};
			memcpy(s->params + s->params_len, sc, 4);
			memcpy(s->params + s->params_len + 4, nal, (size_t)len);
			s->params_len += 4 + (size_t)len;
		}
		if (!comma)
			break;
		n -= one + 1;
		v = comma + 1;
	}
	return 0;
}

struct sdp_state {
	int in_media;	/* inside any m= section */
	int video_h264; /* current m= section is our chosen one */
	int done;	/* chosen section ended */
	int pts[32];	/* payload types listed on the current m= line */
	int num_pts;
	char section_control[SDP_MAX_CONTROL]; /* a=control of this m= */
};

/* The chosen section ends: its control URL is the one to SETUP. */
static void end_section(struct sdp_state *st, struct sdp_h264 *out)
{
	if (st->video_h264) {
		memcpy(out->control, st->section_control, SDP_MAX_CONTROL);
		st->done = 1;
	}
	st->video_h264 = 0;
	st->section_control[0] = 0;
}

static int parse_m_line(struct sdp_state *st, const char *v, size_t n)
{
	st->num_pts = 0;
	if (n < 6 || strncmp(v, "video ", 6) != 0)
		return 0;
	/* "video <port> <proto> <fmt> <fmt>..." */
	const char *p = v, *end = v + n;
	int field = 0;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		const char *tok = p;
		while (p < end && *p != ' ')
			p++;
		if (p == tok)
			break;
		if (++field >= 4 && st->num_pts < 32) {
			char *e;
			long pt = strtol(tok, &e, 10);
			if (e == p && pt >= 0 && pt <= 127)
				st->pts[st->num_pts++] = (int)pt;
		}
	}
	return st->num_pts > 0;
}

static int listed(const struct sdp_state *st, int pt)
{
	for (int i = 0; i < st->num_pts; i++)
		if (st->pts[i] == pt)
			return 1;
	return 0;
}

/* H.265 fmtp (RFC 7798 7.1): parameter sets in the order a decoder needs
 * them, whatever their order on the line; DONL refused. */
static int parse_hevc_fmtp(struct sdp_h264 *out, const char *params, size_t pn,
			   int line_no, char *err, size_t err_size)
{
	static const char *const keys[] = {"sprop-vps", "sprop-sps",
					   "sprop-pps"};
	const char *val;
	size_t vl;
	for (int i = 0; i < 3; i++) {
		if (fmtp_get(params, pn, keys[i], &val, &vl) &&
		    add_sprop(out, val, vl) < 0) {
			snprintf(err, err_size, "SDP line %d: bad %s", line_no,
				 keys[i]);
			return -1;
		}
	}
	if (fmtp_get(params, pn, "sprop-max-don-diff", &val, &vl) &&
	    strtol(val, NULL, 10) > 0) {
		snprintf(err, err_size,
			 "SDP line %d: sprop-max-don-diff=%ld: the H.265 "
			 "stream carries decoding order numbers (DONL), which "
			 "are not supported",
			 line_no, strtol(val, NULL, 10));
		return -1;
	}
	return 0;
}

static int parse_attr(struct sdp_state *st, struct sdp_h264 *out, const char *v,
		      size_t n, int line_no, char *err, size_t err_size)
{
	if (n >= 8 && !strncmp(v, "control:", 8)) {
		if (!st->in_media)
			copy_str(out->session_control, SDP_MAX_CONTROL, v + 8,
				 n - 8);
		else
			copy_str(st->section_control, SDP_MAX_CONTROL, v + 8,
				 n - 8);
		return 0;
	}
	if (!st->in_media || st->done)
		return 0;
	if (n >= 7 && !strncmp(v, "rtpmap:", 7)) {
		char *e;
		long pt = strtol(v + 7, &e, 10);
		if (e == v + 7 || pt < 0 || pt > 127 || !listed(st, (int)pt))
			return 0;
		const char *enc = e;
		size_t rest = n - (size_t)(enc - v);
		while (rest && *enc == ' ') {
			enc++;
			rest--;
		}
		bool h265 = rest >= 5 && !strncasecmp(enc, "H265/", 5);
		if (rest >= 5 && (h265 || !strncasecmp(enc, "H264/", 5)) &&
		    out->payload_type < 0) {
			out->hevc = h265;
			out->payload_type = (int)pt;
			long rate = strtol(enc + 5, NULL, 10);
			out->clock_rate =
			    rate > 0 && rate < 10000000 ? (int)rate : 90000;
			st->video_h264 = 1;
		}
		return 0;
	}
	if (n >= 5 && !strncmp(v, "fmtp:", 5) && st->video_h264) {
		char *e;
		long pt = strtol(v + 5, &e, 10);
		if (e == v + 5 || pt != out->payload_type)
			return 0;
		const char *params = e;
		size_t pn = n - (size_t)(e - v);
		const char *val;
		size_t vl;
		if (fmtp_get(params, pn, "packetization-mode", &val, &vl))
			out->packetization_mode = atoi(val);
		if (fmtp_get(params, pn, "profile-level-id", &val, &vl))
			copy_str(out->profile_level_id,
				 sizeof(out->profile_level_id), val, vl);
		if (fmtp_get(params, pn, "sprop-parameter-sets", &val, &vl) &&
		    add_sprop(out, val, vl) < 0) {
			snprintf(err, err_size,
				 "SDP line %d: bad sprop-parameter-sets",
				 line_no);
			return -1;
		}
		return out->hevc ? parse_hevc_fmtp(out, params, pn, line_no,
						   err, err_size)
				 : 0;
	}
	if (n >= 10 && !strncmp(v, "framerate:", 10) && st->video_h264)
		out->framerate = strtod(v + 10, NULL);
	return 0;
}

int sdp_parse_h264(const char *text, size_t len, struct sdp_h264 *out,
		   char *err, size_t err_size)
{
	struct sdp_state st = {0};
	memset(out, 0, sizeof(*out));
	out->payload_type = -1;
	if (err_size)
		err[0] = 0;
	const char *p = text, *end = text + len;
	int line_no = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t n = (size_t)(le - p);
		if (n && p[n - 1] == '\r')
			n--;
		line_no++;
		/* A NUL-terminated copy: the number parsers below read C
		 * strings, and the SDP body is not terminated. */
		char line[4096];
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = 0;
		if (memchr(line, 0, n))
			n = strlen(line);
		if (n >= 2 && line[1] == '=') {
			const char *v = line + 2;
			size_t vn = n - 2;
			if (line[0] == 'm') {
				end_section(&st, out);
				st.in_media = 1;
				if (!st.done && !parse_m_line(&st, v, vn))
					st.num_pts = 0;
			} else if (line[0] == 'a' &&
				   parse_attr(&st, out, v, vn, line_no, err,
					      err_size) < 0) {
				return -1;
			}
		}
		p = nl ? nl + 1 : end;
	}
	end_section(&st, out);
	if (out->payload_type < 0) {
		snprintf(err, err_size,
			 "SDP has no video media with an H264 or H265 rtpmap "
			 "(%d lines)",
			 line_no);
		return -1;
	}
	if (out->packetization_mode == 2) {
		snprintf(err, err_size,
			 "SDP asks for packetization-mode=2 (interleaved), "
			 "which is not supported");
		return -1;
	}
	return 0;
}

int sdp_resolve_control(const char *base, const char *control, char *out,
			size_t out_size)
{
	int n;
	if (!control[0] || !strcmp(control, "*"))
		n = snprintf(out, out_size, "%s", base);
	else if (!strncasecmp(control, "rtsp://", 7) ||
		 !strncasecmp(control, "rtsps://", 8))
		n = snprintf(out, out_size, "%s", control);
	else {
		size_t bl = strlen(base);
		const char *sep = bl && base[bl - 1] == '/' ? "" : "/";
		if (control[0] == '/')
			control++;
		n = snprintf(out, out_size, "%s%s%s", base, sep, control);
	}
	return n < 0 || (size_t)n >= out_size ? -1 : 0;
}
