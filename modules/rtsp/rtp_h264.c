/* RTP and H.264 depacketization: see rtp_h264.h. */
#include "rtp_h264.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"

enum {
	NAL_SLICE_IDR = 5,
	NAL_SPS = 7,
	NAL_PPS = 8,
	NAL_AUD = 9,
	NAL_STAP_A = 24,
	NAL_STAP_B = 25,
	NAL_MTAP16 = 26,
	NAL_MTAP24 = 27,
	NAL_FU_A = 28,
	NAL_FU_B = 29,
	/* H.265 (RFC 7798 and ITU-T H.265 Table 7-1) */
	HEVC_IRAP_FIRST = 16,
	HEVC_IRAP_LAST = 21,
	HEVC_VPS = 32,
	HEVC_SPS = 33,
	HEVC_PPS = 34,
	HEVC_AUD = 35,
	HEVC_AP = 48,
	HEVC_FU = 49,
};

/* The nal_unit_type of a NAL unit of either codec, n >= 1 bytes. */
static unsigned nal_type(const struct h264_depay *d, const uint8_t *nal,
			 size_t n)
{
	if (!d->hevc)
		return nal[0] & 0x1f;
	return n >= 2 ? (nal[0] >> 1) & 0x3f : 0xff;
}

static const uint8_t start_code[4] = {0, 0, 0, 1};

int rtp_parse(const uint8_t *buf, size_t len, struct rtp_packet *p)
{
	if (len < 12)
		return -1;
	p->version = buf[0] >> 6;
	if (p->version != 2)
		return -1;
	bool padding = buf[0] & 0x20;
	bool extension = buf[0] & 0x10;
	size_t csrc = buf[0] & 0x0f;
	p->marker = buf[1] & 0x80;
	p->payload_type = buf[1] & 0x7f;
	p->seq = rd_be16(buf + 2);
	p->timestamp = rd_be32(buf + 4);
	p->ssrc = rd_be32(buf + 8);
	size_t off = 12 + 4 * csrc;
	if (off > len)
		return -1;
	if (extension) {
		if (off + 4 > len)
			return -1;
		size_t ext_words = rd_be16(buf + off + 2);
		off += 4 + 4 * ext_words;
		if (off > len)
			return -1;
	}
	size_t end = len;
	if (padding) {
		size_t pad = buf[len - 1];
		if (pad == 0 || pad > end - off)
			return -1;
		end -= pad;
	}
	p->payload = buf + off;
	p->payload_len = end - off;
	return 0;
}

int rtcp_find_sr(const uint8_t *buf, size_t len, struct rtcp_sr *sr)
{
	size_t off = 0;
	while (off + 4 <= len) {
		const uint8_t *h = buf + off;
		if ((h[0] >> 6) != 2)
			return -1;
		size_t plen = 4 * ((size_t)rd_be16(h + 2) + 1);
		if (plen > len - off)
			return -1;
		if (h[1] == 200) {
			if (plen < 28)
				return -1;
			sr->ssrc = rd_be32(h + 4);
			sr->ntp = rd_be64(h + 8);
			sr->rtp_timestamp = rd_be32(h + 16);
			return 1;
		}
		off += plen;
	}
	return off == len ? 0 : -1;
}

int64_t ntp_to_unix_ns(uint64_t ntp)
{
	/* 70 years (17 leap days) between 1900 and 1970. */
	const int64_t epoch_offset = 2208988800LL;
	int64_t secs = (int64_t)(ntp >> 32) - epoch_offset;
	int64_t frac_ns =
	    (int64_t)(((ntp & 0xffffffffu) * 1000000000ULL) >> 32);
	return secs * 1000000000LL + frac_ns;
}

size_t rtcp_build_rr(uint8_t *out, size_t out_size, uint32_t ssrc,
		     const char *cname)
{
	size_t cl = strlen(cname);
	if (cl > 32)
		cl = 32;
	/* SDES chunk: ssrc, CNAME item (2 + cl), end item, pad to 4. */
	size_t chunk = 4 + 2 + cl + 1;
	chunk = (chunk + 3) & ~(size_t)3;
	size_t total = 8 + 4 + chunk;
	if (out_size < total)
		return 0;
	memset(out, 0, total);
	out[0] = 0x80; /* V=2, RC=0 */
	out[1] = 201;
	wr_be16(out + 2, 1);
	wr_be32(out + 4, ssrc);
	uint8_t *s = out + 8;
	s[0] = 0x81; /* V=2, SC=1 */
	s[1] = 202;
	wr_be16(s + 2, (uint16_t)((4 + chunk) / 4 - 1));
	wr_be32(s + 4, ssrc);
	s[8] = 1; /* CNAME */
	s[9] = (uint8_t)cl;
	memcpy(s + 10, cname, cl);
	return total;
}

/* ------------------------------------------------------------ depay */

int h264_depay_init(struct h264_depay *d, size_t max_au, rtp_h264_au_cb cb,
		    void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->cb = cb;
	d->ctx = ctx;
	d->max_au = max_au;
	d->au_cap = 64 * 1024 < max_au ? 64 * 1024 : max_au;
	d->au = malloc(d->au_cap);
	if (!d->au)
		return -1;
	d->wait_key = true;
	return 0;
}

int h264_depay_init_hevc(struct h264_depay *d, size_t max_au, rtp_h264_au_cb cb,
			 void *ctx)
{
	int r = h264_depay_init(d, max_au, cb, ctx);
	d->hevc = true;
	return r;
}

void h264_depay_free(struct h264_depay *d)
{
	free(d->au);
	free(d->vps);
	free(d->sps);
	free(d->pps);
	free(d->sprop);
	memset(d, 0, sizeof(*d));
}

int h264_depay_set_sprop(struct h264_depay *d, const uint8_t *annexb,
			 size_t len)
{
	uint8_t *copy = NULL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -1;
		memcpy(copy, annexb, len);
	}
	free(d->sprop);
	d->sprop = copy;
	d->sprop_len = len;
	return 0;
}

void h264_depay_reset(struct h264_depay *d)
{
	d->au_open = false;
	d->fu_open = false;
	d->have_seq = false;
	d->have_ts = false;
	d->gap_hits_next = false;
	d->wait_key = true;
	d->discont_next = true;
	d->ts_reset_next = true;
}

static bool au_reserve(struct h264_depay *d, size_t more)
{
	if (d->au_len + more > d->max_au) {
		d->au_broken = true;
		return false;
	}
	if (d->au_len + more <= d->au_cap)
		return true;
	size_t cap = d->au_cap * 2;
	while (cap < d->au_len + more)
		cap *= 2;
	if (cap > d->max_au)
		cap = d->max_au;
	uint8_t *n = realloc(d->au, cap);
	if (!n) {
		d->au_broken = true;
		return false;
	}
	d->au = n;
	d->au_cap = cap;
	return true;
}

static bool au_append(struct h264_depay *d, const uint8_t *p, size_t n)
{
	if (!au_reserve(d, n))
		return false;
	memcpy(d->au + d->au_len, p, n);
	d->au_len += n;
	return true;
}

static void keep_param_set(uint8_t **dst, size_t *dst_len, const uint8_t *nal,
			   size_t n)
{
	if (*dst_len == n && !memcmp(*dst, nal, n))
		return;
	uint8_t *copy = malloc(n);
	if (!copy)
		return;
	memcpy(copy, nal, n);
	free(*dst);
	*dst = copy;
	*dst_len = n;
}

/* A parameter set at au[off..): kept as the latest; dropped from the
 * access unit when it repeats one already there (payloaders insert). */
static void note_param_set(struct h264_depay *d, size_t off, bool *has,
			   uint8_t **kept, size_t *kept_len)
{
	const uint8_t *nal = d->au + off;
	size_t n = d->au_len - off;
	bool repeat = *has && n == *kept_len && !memcmp(nal, *kept, n);
	*has = true;
	keep_param_set(kept, kept_len, nal, n);
	if (repeat)
		d->au_len = off - 4;
}

static void hevc_nal_done(struct h264_depay *d, size_t off, unsigned type)
{
	if (type >= HEVC_IRAP_FIRST && type <= HEVC_IRAP_LAST)
		d->au_has_idr = true;
	else if (type == HEVC_VPS)
		note_param_set(d, off, &d->au_has_vps, &d->vps, &d->vps_len);
	else if (type == HEVC_SPS)
		note_param_set(d, off, &d->au_has_sps, &d->sps, &d->sps_len);
	else if (type == HEVC_PPS)
		note_param_set(d, off, &d->au_has_pps, &d->pps, &d->pps_len);
	else if (type == HEVC_AUD && off == 4)
		d->au_has_aud = true;
}

/* A complete NAL now sits at au[off .. au_len). */
static void nal_done(struct h264_depay *d, size_t off)
{
	const uint8_t *nal = d->au + off;
	size_t n = d->au_len - off;
	if (n == 0)
		return;
	if (d->hevc) {
		hevc_nal_done(d, off, nal_type(d, nal, n));
		return;
	}
	switch (nal[0] & 0x1f) {
	case NAL_SLICE_IDR:
		d->au_has_idr = true;
		break;
	case NAL_SPS:
		if (d->au_has_sps && n == d->sps_len && !memcmp(nal, d->sps, n))
			d->au_len = off - 4; /* a repeat (payloaders insert) */
		d->au_has_sps = true;
		keep_param_set(&d->sps, &d->sps_len, nal, n);
		break;
	case NAL_PPS:
		if (d->au_has_pps && n == d->pps_len && !memcmp(nal, d->pps, n))
			d->au_len = off - 4;
		d->au_has_pps = true;
		keep_param_set(&d->pps, &d->pps_len, nal, n);
		break;
	case NAL_AUD:
		if (off == 4)
			d->au_has_aud = true;
		break;
	}
}

static void add_nal(struct h264_depay *d, const uint8_t *nal, size_t n)
{
	if (n == 0)
		return;
	if (!au_append(d, start_code, 4))
		return;
	size_t off = d->au_len;
	if (au_append(d, nal, n))
		nal_done(d, off);
}

static void add_stap_a(struct h264_depay *d, const uint8_t *p, size_t n)
{
	size_t off = d->hevc ? 2 : 1; /* STAP-A or AP payload header */
	while (off + 2 <= n) {
		size_t sz = rd_be16(p + off);
		off += 2;
		if (sz == 0 || sz > n - off) {
			d->au_broken = true;
			d->stats.bad_packets++;
			return;
		}
		add_nal(d, p + off, sz);
		off += sz;
	}
	if (off != n) {
		d->au_broken = true;
		d->stats.bad_packets++;
	}
}

static void add_fu_a(struct h264_depay *d, const uint8_t *p, size_t n)
{
	/* H.265 FU: 2-byte payload header, then the FU header (S, E, type) */
	size_t hl = d->hevc ? 3 : 2;
	if (n < hl) {
		d->au_broken = true;
		d->stats.bad_packets++;
		return;
	}
	uint8_t fu = p[hl - 1];
	bool start = fu & 0x80, end = fu & 0x40;
	if (start) {
		if (d->fu_open)
			d->au_broken = true; /* previous FU lost its end */
		uint8_t hdr[2] = {(uint8_t)((p[0] & 0xe0) | (fu & 0x1f))};
		if (d->hevc) {
			hdr[0] = (uint8_t)((p[0] & 0x81) | (fu & 0x3f) << 1);
			hdr[1] = p[1];
		}
		if (!au_append(d, start_code, 4))
			return;
		d->fu_start = d->au_len;
		if (!au_append(d, hdr, hl - 1))
			return;
		d->fu_open = true;
	} else if (!d->fu_open) {
		d->au_broken = true; /* its start was lost */
		return;
	}
	au_append(d, p + hl, n - hl);
	if (end) {
		d->fu_open = false;
		nal_done(d, d->fu_start);
	}
}

/* The SPS that decodes this key frame: in-band, else from the SDP. */
static void find_sps(const struct h264_depay *d, struct rtp_h264_au *au)
{
	if (d->sps) {
		au->sps = d->sps;
		au->sps_len = d->sps_len;
		return;
	}
	for (size_t i = 0; i + 5 < d->sprop_len; i++) {
		if (memcmp(d->sprop + i, start_code, 4) ||
		    nal_type(d, d->sprop + i + 4, 2) !=
			(d->hevc ? HEVC_SPS : NAL_SPS))
			continue;
		size_t end = i + 4;
		while (end + 4 <= d->sprop_len &&
		       memcmp(d->sprop + end, start_code, 4))
			end++;
		if (end + 4 > d->sprop_len)
			end = d->sprop_len;
		au->sps = d->sprop + i + 4;
		au->sps_len = end - i - 4;
		return;
	}
}

/* Put the parameter sets in front of a key frame that lacks them, after
 * a leading access unit delimiter. Returns false when none are known. */
static bool insert_param_sets(struct h264_depay *d)
{
	size_t n;
	bool inband = d->sps && d->pps && (!d->hevc || d->vps);
	if (inband)
		n = 8 + d->sps_len + d->pps_len +
		    (d->hevc ? 4 + d->vps_len : 0);
	else if (d->sprop_len)
		n = d->sprop_len;
	else
		return false;
	if (!au_reserve(d, n))
		return false;
	size_t at = 0;
	if (d->au_has_aud) {
		/* AUD NAL: start code, header byte, primary_pic_type byte. */
		at = 4;
		while (at + 4 <= d->au_len && memcmp(d->au + at, start_code, 4))
			at++;
		if (at + 4 > d->au_len)
			at = 0;
	}
	memmove(d->au + at + n, d->au + at, d->au_len - at);
	uint8_t *w = d->au + at;
	if (inband) {
		if (d->hevc) {
			memcpy(w, start_code, 4);
			memcpy(w + 4, d->vps, d->vps_len);
			w += 4 + d->vps_len;
		}
		memcpy(w, start_code, 4);
		memcpy(w + 4, d->sps, d->sps_len);
		w += 4 + d->sps_len;
		memcpy(w, start_code, 4);
		memcpy(w + 4, d->pps, d->pps_len);
	} else {
		memcpy(w, d->sprop, d->sprop_len);
	}
	d->au_len += n;
	return true;
}

static void finish_au(struct h264_depay *d)
{
	bool was_open = d->au_open;
	d->au_open = false;
	if (d->fu_open) {
		d->fu_open = false;
		d->au_broken = true;
	}
	if (!was_open || d->au_len == 0)
		return;
	if (d->au_broken) {
		d->stats.dropped_aus++;
		d->wait_key = true;
		d->discont_next = true;
		return;
	}
	if (d->wait_key && !d->au_has_idr) {
		d->stats.dropped_aus++;
		return;
	}
	struct rtp_h264_au au = {0};
	bool has_sets =
	    d->au_has_sps && d->au_has_pps && (!d->hevc || d->au_has_vps);
	if (d->au_has_idr) {
		if (!has_sets && !insert_param_sets(d)) {
			/* Undecodable without parameter sets: wait for them. */
			d->stats.dropped_aus++;
			d->wait_key = true;
			return;
		}
		au.flags |= H264_AU_KEY | H264_AU_CONFIG;
		find_sps(d, &au);
		d->wait_key = false;
	} else if (has_sets) {
		au.flags |= H264_AU_CONFIG;
		find_sps(d, &au);
	}
	if (d->discont_next)
		au.flags |= H264_AU_DISCONTINUITY;
	if (d->ts_reset_next)
		au.flags |= H264_AU_TS_RESET;
	d->discont_next = false;
	d->ts_reset_next = false;
	au.data = d->au;
	au.size = d->au_len;
	au.timestamp = d->au_ext_ts;
	d->stats.aus++;
	d->cb(d->ctx, &au);
}

static void open_au(struct h264_depay *d, const struct rtp_packet *p)
{
	d->au_open = true;
	d->au_len = 0;
	d->au_broken = d->gap_hits_next;
	d->gap_hits_next = false;
	d->au_has_idr = d->au_has_sps = d->au_has_pps = d->au_has_aud = false;
	d->au_has_vps = false;
	d->au_ts = p->timestamp;
	d->au_ext_ts = d->ext_ts;
}

/* Sequence numbers: true when the packet is to be used. */
static bool check_sequence(struct h264_depay *d, const struct rtp_packet *p)
{
	if (d->have_seq && p->ssrc != d->ssrc) {
		/* A new sender (server restarted the stream). */
		d->au_open = false;
		d->fu_open = false;
		d->have_seq = false;
		d->have_ts = false;
		d->wait_key = true;
		d->discont_next = true;
		d->ts_reset_next = true;
	}
	if (d->have_seq) {
		int16_t delta = (int16_t)(p->seq - d->next_seq);
		if (delta < 0) {
			d->stats.late_packets++;
			return false;
		}
		if (delta > 0) {
			d->stats.lost_packets += (uint64_t)delta;
			d->wait_key = true;
			d->discont_next = true;
			/* Lost packets belong to the open AU if there is one
			 * (its tail), else to the one this packet starts. */
			if (d->au_open)
				d->au_broken = true;
			else
				d->gap_hits_next = true;
		}
	}
	d->have_seq = true;
	d->ssrc = p->ssrc;
	d->next_seq = (uint16_t)(p->seq + 1);
	return true;
}

/* One H.265 RTP payload (RFC 7798 4.4): single NAL unit, AP or FU. */
static void hevc_dispatch(struct h264_depay *d, const struct rtp_packet *p)
{
	unsigned type = nal_type(d, p->payload, p->payload_len);
	if (type != HEVC_FU && d->fu_open) {
		d->fu_open = false;
		d->au_broken = true;
	}
	if (type == HEVC_AP)
		add_stap_a(d, p->payload, p->payload_len);
	else if (type == HEVC_FU)
		add_fu_a(d, p->payload, p->payload_len);
	else if (type < 48 && (p->payload[0] & 0x80) == 0)
		add_nal(d, p->payload, p->payload_len);
	else {
		/* PACI, reserved types, one byte, forbidden bit set. */
		d->stats.bad_packets++;
		d->au_broken = true;
	}
}

void h264_depay_push(struct h264_depay *d, const struct rtp_packet *p)
{
	d->stats.packets++;
	if (!check_sequence(d, p))
		return;
	if (!d->have_ts) {
		d->ext_ts = p->timestamp;
		d->have_ts = true;
	} else {
		d->ext_ts += (int32_t)(p->timestamp - d->last_ts);
	}
	d->last_ts = p->timestamp;
	if (d->au_open && p->timestamp != d->au_ts)
		finish_au(d); /* the marker packet was lost or not sent */
	if (p->payload_len == 0) {
		d->stats.bad_packets++;
		return;
	}
	if (!d->au_open)
		open_au(d, p);
	if (d->hevc) {
		hevc_dispatch(d, p);
		if (p->marker)
			finish_au(d);
		return;
	}
	uint8_t type = p->payload[0] & 0x1f;
	if (type != NAL_FU_A && d->fu_open) {
		d->fu_open = false;
		d->au_broken = true;
	}
	switch (type) {
	case NAL_STAP_A:
		add_stap_a(d, p->payload, p->payload_len);
		break;
	case NAL_FU_A:
		add_fu_a(d, p->payload, p->payload_len);
		break;
	case NAL_STAP_B:
	case NAL_MTAP16:
	case NAL_MTAP24:
	case NAL_FU_B:
	case 0:
	case 30:
	case 31:
		/* Interleaved mode or reserved types: not decodable here. */
		d->stats.bad_packets++;
		d->au_broken = true;
		break;
	default:
		add_nal(d, p->payload, p->payload_len);
		break;
	}
	if (p->marker)
		finish_au(d);
}

void h264_depay_flush(struct h264_depay *d)
{
	finish_au(d);
}
