/* RTP (RFC 3550) and H.264 RTP depacketization (RFC 6184): pure code,
 * no kernel calls, unit-tested and fuzzed alone.
 *
 * h264_depay takes RTP packets in arrival order and calls back with one
 * complete Annex-B access unit at a time (4-byte start codes):
 *  - single NAL unit packets, STAP-A aggregates, FU-A fragments
 *    (packetization-mode 0 and 1; STAP-B/MTAP/FU-B of mode 2 are dropped);
 *  - an access unit ends on the marker bit, or when the timestamp changes
 *    (marker lost);
 *  - a sequence-number gap or an SSRC change drops the damaged access unit
 *    and everything after it until the next IDR; that IDR is flagged
 *    discontinuous. Late/duplicate packets (behind the expected number)
 *    are dropped without declaring a gap;
 *  - key frames (IDR) always carry SPS and PPS in front: the latest ones
 *    seen in-band, else those given from the SDP sprop-parameter-sets.
 *
 * With `hevc` set (h264_depay_init_hevc) it depacketizes H.265 (RFC 7798)
 * the same way: single NAL unit packets, aggregation packets (type 48),
 * fragmentation units (type 49), DONL absent (sprop-max-don-diff 0, which
 * the SDP parser checks); PACI (50) and reserved types are dropped. Key
 * frames are IRAP pictures and carry VPS, SPS and PPS in front.
 */
#ifndef VPIPE_RTP_H264_H
#define VPIPE_RTP_H264_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rtp_packet {
	uint8_t version, payload_type;
	bool marker;
	uint16_t seq;
	uint32_t timestamp;
	uint32_t ssrc;
	const uint8_t *payload;
	size_t payload_len;
};

/* Returns 0, or -1 when the bytes are not a valid RTP packet. */
int rtp_parse(const uint8_t *buf, size_t len, struct rtp_packet *p);

/* RTCP sender report (RFC 3550 §6.4.1), found in a compound packet. */
struct rtcp_sr {
	uint32_t ssrc;
	uint64_t ntp; /* 32.32 fixed point seconds since 1900 */
	uint32_t rtp_timestamp;
};
/* Returns 1 when an SR was found, 0 when the compound packet holds none,
 * -1 when malformed. */
int rtcp_find_sr(const uint8_t *buf, size_t len, struct rtcp_sr *sr);

/* NTP 32.32 (since 1900) to ns since the Unix epoch. */
int64_t ntp_to_unix_ns(uint64_t ntp);

/* An RTCP receiver report with no report blocks plus SDES CNAME, which
 * keeps servers that watch RTCP from timing the session out. Returns the
 * length written (at most 64 bytes needed). */
size_t rtcp_build_rr(uint8_t *out, size_t out_size, uint32_t ssrc,
		     const char *cname);

enum h264_au_flags {
	H264_AU_KEY = 1u << 0,		 /* holds an IDR slice */
	H264_AU_CONFIG = 1u << 1,	 /* holds SPS and PPS */
	H264_AU_DISCONTINUITY = 1u << 2, /* something was lost before it */
	H264_AU_TS_RESET = 1u << 3, /* timestamps restart (reset, new SSRC) */
};

struct rtp_h264_au {
	const uint8_t *data; /* Annex-B, valid during the callback only */
	size_t size;
	int64_t timestamp; /* RTP timestamp, unwrapped to 64 bits */
	uint32_t flags;
	const uint8_t *sps; /* the SPS NAL in data (no start code) or NULL */
	size_t sps_len;
};

typedef void (*rtp_h264_au_cb)(void *ctx, const struct rtp_h264_au *au);

struct h264_depay_stats {
	uint64_t packets, lost_packets, late_packets, bad_packets;
	uint64_t aus, dropped_aus;
};

struct h264_depay {
	rtp_h264_au_cb cb;
	void *ctx;
	size_t max_au; /* bytes; larger access units are dropped */

	uint8_t *au; /* access unit being assembled */
	size_t au_len, au_cap;
	bool au_open, au_broken, au_has_idr, au_has_sps, au_has_pps;
	bool au_has_aud;
	uint32_t au_ts;
	int64_t au_ext_ts;
	bool fu_open;	    /* inside an FU-A run */
	size_t fu_start;    /* offset of the NAL the FU-A run rebuilds */
	bool gap_hits_next; /* a gap right after a complete AU */

	bool have_seq;
	uint16_t next_seq;
	uint32_t ssrc;
	bool have_ts;
	uint32_t last_ts;
	int64_t ext_ts;

	bool wait_key;	   /* drop until an IDR */
	bool discont_next; /* flag the next emitted AU */
	bool ts_reset_next;

	uint8_t *sps, *pps; /* latest parameter sets (no start code) */
	size_t sps_len, pps_len;
	bool hevc; /* H.265: types, AP/FU and VPS as RFC 7798 */
	bool au_has_vps;
	uint8_t *vps;
	size_t vps_len;
	uint8_t *sprop; /* Annex-B sets from the SDP */
	size_t sprop_len;

	struct h264_depay_stats stats;
};

/* max_au: largest access unit in bytes (e.g. 4 MiB). */
int h264_depay_init(struct h264_depay *d, size_t max_au, rtp_h264_au_cb cb,
		    void *ctx);
/* The same for H.265 (RFC 7798). */
int h264_depay_init_hevc(struct h264_depay *d, size_t max_au, rtp_h264_au_cb cb,
			 void *ctx);
void h264_depay_free(struct h264_depay *d);
/* Parameter sets from the SDP (Annex-B); used until the stream sends its
 * own. Returns 0 or -1 (no memory). */
int h264_depay_set_sprop(struct h264_depay *d, const uint8_t *annexb,
			 size_t len);
/* One RTP packet (payload type already checked by the caller). */
void h264_depay_push(struct h264_depay *d, const struct rtp_packet *p);
/* Emit what is assembled (end of stream): an access unit still open. */
void h264_depay_flush(struct h264_depay *d);
/* The stream restarts (reconnect): forget sequence/timestamp state; the
 * next emitted access unit is an IDR flagged discontinuous. Timestamps
 * restart from the new stream's. */
void h264_depay_reset(struct h264_depay *d);

#endif
