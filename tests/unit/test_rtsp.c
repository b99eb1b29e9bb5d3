/* The rtsp module's pure parts: RTSP framing, SDP, URLs and auth, RTP and
 * the H.264 depacketizer, RTCP. */
#include "tests/unit/check.h"

#include "modules/rtsp/rtp_h264.h"
#include "modules/rtsp/rtsp_auth.h"
#include "modules/rtsp/rtsp_msg.h"
#include "modules/rtsp/sdp.h"

#include <stdint.h>

#define U8(s) ((const uint8_t *)(s))

static void test_response_framing(void)
{
	const char *r = "RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Type: "
			"application/sdp\r\nContent-Length: 5\r\n\r\nhello$";
	struct rtsp_item it;
	size_t len = strlen(r);
	/* Every prefix short of the body end asks for more. */
	for (size_t n = 0; n < len - 1; n++)
		CHECK_EQ_INT(rtsp_next(U8(r), n, &it), RTSP_ITEM_NEED_MORE);
	CHECK_EQ_INT(rtsp_next(U8(r), len, &it), RTSP_ITEM_MESSAGE);
	CHECK_EQ_INT(it.consumed, len - 1);
	CHECK(it.msg.is_response);
	CHECK_EQ_INT(it.msg.status, 200);
	CHECK_EQ_INT(it.msg.cseq, 3);
	CHECK_EQ_INT(it.msg.body_len, 5);
	CHECK(!memcmp(it.msg.body, "hello", 5));
	char v[64];
	CHECK_EQ_INT(
	    rtsp_msg_header_copy(&it.msg, "content-type", v, sizeof(v)), 15);
	CHECK(!strcmp(v, "application/sdp"));
	CHECK_EQ_INT(rtsp_msg_header_copy(&it.msg, "Session", v, sizeof(v)),
		     -1);

	/* Bare LF line ends, reason with spaces, folded header. */
	const char *lf = "RTSP/1.0 401 Unauthorized Access\nCSeq: 7\n"
			 "WWW-Authenticate: Basic\n  realm=\"x\"\n\n";
	CHECK_EQ_INT(rtsp_next(U8(lf), strlen(lf), &it), RTSP_ITEM_MESSAGE);
	CHECK_EQ_INT(it.msg.status, 401);
	CHECK_EQ_INT(it.msg.reason.n, strlen("Unauthorized Access"));
	rtsp_msg_header_copy(&it.msg, "WWW-Authenticate", v, sizeof(v));
	CHECK(!strcmp(v, "Basic\n  realm=\"x\""));

	/* A request from the server. */
	const char *req =
	    "GET_PARAMETER rtsp://h/s RTSP/1.0\r\nCSeq: 9\r\n\r\n";
	CHECK_EQ_INT(rtsp_next(U8(req), strlen(req), &it), RTSP_ITEM_MESSAGE);
	CHECK(!it.msg.is_response);
	CHECK_EQ_INT(it.msg.method.n, 13);
	CHECK_EQ_INT(it.msg.cseq, 9);
}

static void test_interleaved_and_errors(void)
{
	uint8_t buf[] = {'$', 1, 0, 3, 0xaa, 0xbb, 0xcc, '$'};
	struct rtsp_item it;
	CHECK_EQ_INT(rtsp_next(buf, 6, &it), RTSP_ITEM_NEED_MORE);
	CHECK_EQ_INT(rtsp_next(buf, sizeof(buf), &it), RTSP_ITEM_INTERLEAVED);
	CHECK_EQ_INT(it.channel, 1);
	CHECK_EQ_INT(it.payload_len, 3);
	CHECK_EQ_INT(it.consumed, 7);

	const char *junk = "\x01\x02garbage$\x00\x00\x00";
	CHECK_EQ_INT(rtsp_next(U8(junk), 13, &it), RTSP_ITEM_ERROR);
	CHECK_EQ_INT(rtsp_resync(U8(junk), 13), 9);

	const char *badcl = "RTSP/1.0 200 OK\r\nContent-Length: -4\r\n\r\n";
	CHECK_EQ_INT(rtsp_next(U8(badcl), strlen(badcl), &it), RTSP_ITEM_ERROR);
	CHECK_EQ_INT(it.err_offset, 33);
	const char *badst = "RTSP/1.0 2x0 OK\r\n\r\n";
	CHECK_EQ_INT(rtsp_next(U8(badst), strlen(badst), &it), RTSP_ITEM_ERROR);
	CHECK_EQ_INT(it.err_offset, 9);
	const char *noval = "RTSP/1.0 200 OK\r\nCSeq 1\r\n\r\n";
	CHECK_EQ_INT(rtsp_next(U8(noval), strlen(noval), &it), RTSP_ITEM_ERROR);
	CHECK_EQ_INT(it.err_offset, 17);
}

static void test_headers(void)
{
	char id[64];
	int to;
	CHECK_EQ_INT(
	    rtsp_parse_session("a1B2c3;timeout=30", id, sizeof(id), &to), 0);
	CHECK(!strcmp(id, "a1B2c3"));
	CHECK_EQ_INT(to, 30);
	CHECK_EQ_INT(rtsp_parse_session("xyz", id, sizeof(id), &to), 0);
	CHECK_EQ_INT(to, 60);

	struct rtsp_transport_reply t;
	rtsp_parse_transport(
	    "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=1A2B3C4D;mode=\"PLAY\"",
	    &t);
	CHECK_EQ_INT(t.interleaved[0], 0);
	CHECK_EQ_INT(t.interleaved[1], 1);
	CHECK(t.has_ssrc);
	CHECK_EQ_INT(t.ssrc, 0x1A2B3C4D);
	rtsp_parse_transport(
	    "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971", &t);
	CHECK_EQ_INT(t.server_port[0], 6970);
	CHECK_EQ_INT(t.server_port[1], 6971);
	CHECK_EQ_INT(t.client_port[0], 5000);
	CHECK_EQ_INT(t.interleaved[0], -1);

	CHECK(rtsp_public_has("OPTIONS, DESCRIBE, GET_PARAMETER, PLAY",
			      "GET_PARAMETER"));
	CHECK(!rtsp_public_has("OPTIONS, DESCRIBE, SET_PARAMETER",
			       "GET_PARAMETER"));
}

static const char gst_sdp[] =
    "v=0\r\n"
    "o=- 1188340656180883 1 IN IP4 127.0.0.1\r\n"
    "s=Session streamed with GStreamer\r\n"
    "t=0 0\r\n"
    "a=tool:GStreamer\r\n"
    "a=type:broadcast\r\n"
    "a=control:*\r\n"
    "a=range:npt=now-\r\n"
    "m=audio 0 RTP/AVP 0\r\n"
    "a=control:stream=0\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=framerate:30\r\n"
    "a=fmtp:96 packetization-mode=1;profile-level-id=42c01e;"
    "sprop-parameter-sets=Z0LAHtkBQfsBEAAAAwAQAAADA8DxYuSA,aMuMsg==\r\n"
    "a=control:stream=1\r\n"
    "m=application 0 RTP/AVP 107\r\n"
    "a=control:stream=2\r\n";

static void test_sdp(void)
{
	struct sdp_h264 s;
	char err[128];
	CHECK_EQ_INT(
	    sdp_parse_h264(gst_sdp, strlen(gst_sdp), &s, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.payload_type, 96);
	CHECK_EQ_INT(s.clock_rate, 90000);
	CHECK_EQ_INT(s.packetization_mode, 1);
	CHECK(!strcmp(s.control, "stream=1"));
	CHECK(!strcmp(s.session_control, "*"));
	CHECK(!strcmp(s.profile_level_id, "42c01e"));
	CHECK(s.framerate == 30.0);
	/* SPS 24 bytes + PPS 4 bytes, each behind a 4-byte start code. */
	CHECK_EQ_INT(s.params_len, 4 + 24 + 4 + 4);
	CHECK_EQ_INT(s.params[4], 0x67);
	CHECK_EQ_INT(s.params[32], 0x68);

	const char *noh264 =
	    "v=0\nm=video 0 RTP/AVP 26\na=rtpmap:26 JPEG/90000\n";
	CHECK_EQ_INT(
	    sdp_parse_h264(noh264, strlen(noh264), &s, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "H264");
	const char *mode2 = "m=video 0 RTP/AVP 97\na=rtpmap:97 H264/90000\n"
			    "a=fmtp:97 packetization-mode=2\n";
	CHECK_EQ_INT(sdp_parse_h264(mode2, strlen(mode2), &s, err, sizeof(err)),
		     -1);
	CHECK_STR_CONTAINS(err, "packetization-mode=2");
	const char *badb64 = "m=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\n"
			     "a=fmtp:96 sprop-parameter-sets=Z0L!AHt\n";
	CHECK_EQ_INT(
	    sdp_parse_h264(badb64, strlen(badb64), &s, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "line 3");

	char url[256];
	sdp_resolve_control("rtsp://h:554/cam/", "stream=1", url, sizeof(url));
	CHECK(!strcmp(url, "rtsp://h:554/cam/stream=1"));
	sdp_resolve_control("rtsp://h:554/cam", "trackID=1", url, sizeof(url));
	CHECK(!strcmp(url, "rtsp://h:554/cam/trackID=1"));
	sdp_resolve_control("rtsp://h/cam", "rtsp://other/x", url, sizeof(url));
	CHECK(!strcmp(url, "rtsp://other/x"));
	sdp_resolve_control("rtsp://h/cam", "*", url, sizeof(url));
	CHECK(!strcmp(url, "rtsp://h/cam"));
	CHECK_EQ_INT(sdp_resolve_control("rtsp://h/cam", "x", url, 8), -1);
}

static void test_url(void)
{
	struct rtsp_url u;
	char err[128], m[256];
	CHECK_EQ_INT(
	    rtsp_url_parse("rtsp://admin:p%40ss:w@cam.local:8554/live/main?x=1",
			   &u, err, sizeof(err)),
	    0);
	CHECK(!strcmp(u.user, "admin"));
	CHECK(!strcmp(u.pass, "p@ss:w"));
	CHECK(!strcmp(u.host, "cam.local"));
	CHECK_EQ_INT(u.port, 8554);
	CHECK(!strcmp(u.request, "rtsp://cam.local:8554/live/main?x=1"));
	rtsp_url_masked("rtsp://admin:p%40ss:w@cam.local:8554/live", m,
			sizeof(m));
	CHECK(!strcmp(m, "rtsp://admin:***@cam.local:8554/live"));
	rtsp_url_masked("rtsp://cam/live", m, sizeof(m));
	CHECK(!strcmp(m, "rtsp://cam/live"));
	CHECK_EQ_INT(rtsp_url_parse("rtsp://[::1]/x", &u, err, sizeof(err)), 0);
	CHECK(!strcmp(u.host, "::1"));
	CHECK_EQ_INT(u.port, 554);
	CHECK(!u.has_user);
	CHECK_EQ_INT(rtsp_url_parse("http://x/", &u, err, sizeof(err)), -1);
	CHECK_EQ_INT(rtsp_url_parse("rtsp://x:99999/", &u, err, sizeof(err)),
		     -1);
	CHECK_STR_CONTAINS(err, "port");
	CHECK_EQ_INT(rtsp_url_parse("rtsp://u:%4@x/", &u, err, sizeof(err)),
		     -1);
	CHECK_EQ_INT(rtsp_url_parse("rtsp:///x", &u, err, sizeof(err)), -1);
}

static void test_auth(void)
{
	struct rtsp_auth a = {0};
	char out[512];
	CHECK_EQ_INT(rtsp_auth_challenge(&a, "Basic realm=\"cam\""), 0);
	CHECK_EQ_INT(rtsp_auth_header(&a, "Aladdin", "open sesame", "DESCRIBE",
				      "rtsp://x/", NULL, out, sizeof(out)),
		     0);
	CHECK(!strcmp(out, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));

	/* RFC 2617 §3.5 example (GET /dir/index.html). */
	memset(&a, 0, sizeof(a));
	CHECK_EQ_INT(
	    rtsp_auth_challenge(
		&a,
		"Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
		"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
		"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""),
	    0);
	CHECK_EQ_INT(a.scheme, RTSP_AUTH_DIGEST);
	CHECK_EQ_INT(rtsp_auth_header(&a, "Mufasa", "Circle Of Life", "GET",
				      "/dir/index.html", "0a4f113b", out,
				      sizeof(out)),
		     0);
	CHECK_STR_CONTAINS(out,
			   "response=\"6629fae49393a05397450978507c4ef1\"");
	CHECK_STR_CONTAINS(out, "nc=00000001");
	CHECK_STR_CONTAINS(out, "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");

	/* RFC 7616 §3.9.1: the server offers SHA-256 and MD5; SHA-256 wins
	 * whatever the order. */
	memset(&a, 0, sizeof(a));
	const char *sha =
	    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "
	    "algorithm=SHA-256, "
	    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
	    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
	const char *md5 =
	    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "
	    "algorithm=MD5, "
	    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
	    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
	CHECK_EQ_INT(rtsp_auth_challenge(&a, sha), 0);
	CHECK_EQ_INT(rtsp_auth_challenge(&a, md5), 0);
	CHECK_EQ_INT(rtsp_auth_challenge(&a, "Basic realm=\"x\""), 0);
	CHECK(!strcmp(a.algorithm, "SHA-256"));
	rtsp_auth_header(
	    &a, "Mufasa", "Circle of Life", "GET", "/dir/index.html",
	    "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", out, sizeof(out));
	CHECK_STR_CONTAINS(out, "response="
				"\"753927fa0e85d155564e2e272a28d1802ca10daf4496"
				"794697cf8db5856cb6c1\"");
	CHECK_STR_CONTAINS(out, "algorithm=SHA-256");
	memset(&a, 0, sizeof(a));
	rtsp_auth_challenge(&a, md5);
	rtsp_auth_header(
	    &a, "Mufasa", "Circle of Life", "GET", "/dir/index.html",
	    "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", out, sizeof(out));
	CHECK_STR_CONTAINS(out,
			   "response=\"8ca523f5e9506fed4657c9700eebdbec\"");

	/* No qop (what many cameras and GStreamer send): H(HA1:nonce:HA2). */
	memset(&a, 0, sizeof(a));
	rtsp_auth_challenge(&a, "Digest realm=\"r\", nonce=\"n\"");
	rtsp_auth_header(&a, "u", "p", "DESCRIBE", "rtsp://h/s", "c", out,
			 sizeof(out));
	CHECK_STR_CONTAINS(out, "Digest username=\"u\", realm=\"r\", "
				"nonce=\"n\", uri=\"rtsp://h/s\", response=\"");
	CHECK(!strstr(out, "qop"));

	memset(&a, 0, sizeof(a));
	CHECK_EQ_INT(
	    rtsp_auth_challenge(
		&a, "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256"),
	    -1);
	CHECK_EQ_INT(rtsp_auth_challenge(&a, "Negotiate abc"), -1);
	CHECK_EQ_INT(a.scheme, RTSP_AUTH_NONE);
}

static void test_rtp_parse(void)
{
	uint8_t p[] = {0xb1,
		       0xe0,
		       0x12,
		       0x34,
		       0,
		       0,
		       0x10,
		       0,
		       0xde,
		       0xad,
		       0xbe,
		       0xef,
		       /* 1 CSRC */ 1,
		       2,
		       3,
		       4,
		       /* extension: profile, 1 word */ 0xbe,
		       0xde,
		       0,
		       1,
		       9,
		       9,
		       9,
		       9,
		       /* payload */ 0x41,
		       0x9a,
		       /* padding 2 */ 0,
		       2};
	struct rtp_packet r;
	CHECK_EQ_INT(rtp_parse(p, sizeof(p), &r), 0);
	CHECK(r.marker);
	CHECK_EQ_INT(r.payload_type, 96);
	CHECK_EQ_INT(r.seq, 0x1234);
	CHECK_EQ_INT(r.timestamp, 0x1000);
	CHECK_EQ_INT(r.ssrc, 0xdeadbeef);
	CHECK_EQ_INT(r.payload_len, 2);
	CHECK_EQ_INT(r.payload[0], 0x41);
	p[sizeof(p) - 1] = 40; /* padding larger than the payload */
	CHECK_EQ_INT(rtp_parse(p, sizeof(p), &r), -1);
	CHECK_EQ_INT(rtp_parse(p, 11, &r), -1);
	p[0] = 0x40;
	CHECK_EQ_INT(rtp_parse(p, sizeof(p), &r), -1);
}

static void test_rtcp(void)
{
	uint8_t rr[64];
	size_t n = rtcp_build_rr(rr, sizeof(rr), 0x11223344, "vpipe");
	CHECK_EQ_INT(n % 4, 0);
	struct rtcp_sr sr;
	CHECK_EQ_INT(rtcp_find_sr(rr, n, &sr), 0); /* well formed, no SR */
	uint8_t c[64] = {0x80,
			 200,
			 0,
			 6,
			 0xaa,
			 0xbb,
			 0xcc,
			 0xdd,
			 /* NTP 2208988800 + 1.5 s */ 0x83,
			 0xaa,
			 0x7e,
			 0x81,
			 0x80,
			 0,
			 0,
			 0,
			 0,
			 1,
			 0,
			 0,
			 0,
			 0,
			 0,
			 1,
			 0,
			 0,
			 0,
			 2};
	memcpy(c + 28, rr, n);
	CHECK_EQ_INT(rtcp_find_sr(c, 28 + n, &sr), 1);
	CHECK_EQ_INT(sr.ssrc, 0xaabbccdd);
	CHECK_EQ_INT(sr.rtp_timestamp, 0x10000);
	CHECK_EQ_INT(ntp_to_unix_ns(sr.ntp), 1500000000LL);
	CHECK_EQ_INT(rtcp_find_sr(c, 27, &sr), -1);
}

/* ------------------------------------------------------- depayloader */

struct got {
	int n;
	uint32_t flags[16];
	int64_t ts[16];
	size_t size[16];
	uint8_t data[16][256];
};

static void on_au(void *ctx, const struct rtp_h264_au *au)
{
	struct got *g = ctx;
	if (g->n == 16)
		return;
	g->flags[g->n] = au->flags;
	g->ts[g->n] = au->timestamp;
	g->size[g->n] = au->size;
	memcpy(g->data[g->n], au->data, au->size < 256 ? au->size : 256);
	g->n++;
}

static void push(struct h264_depay *d, uint16_t seq, uint32_t ts, int marker,
		 const uint8_t *pl, size_t n)
{
	struct rtp_packet p = {.version = 2,
			       .payload_type = 96,
			       .marker = marker,
			       .seq = seq,
			       .timestamp = ts,
			       .ssrc = 7,
			       .payload = pl,
			       .payload_len = n};
	h264_depay_push(d, &p);
}

static const uint8_t idr_a[] = {0x7c, 0x85, 1, 2, 3}; /* FU-A start, IDR */
static const uint8_t idr_b[] = {0x7c, 0x45, 4, 5};    /* FU-A end */
static const uint8_t pslice[] = {0x41, 0x9a, 7};
static const uint8_t idr_single[] = {0x65, 9};

static void test_depay_basic(void)
{
	struct h264_depay d;
	struct got g = {0};
	CHECK_EQ_INT(h264_depay_init(&d, 1 << 20, on_au, &g), 0);
	/* A P frame before any key frame is dropped. */
	push(&d, 100, 0, 1, pslice, sizeof(pslice));
	CHECK_EQ_INT(g.n, 0);
	/* STAP-A with SPS+PPS, then an IDR in two FU-A packets. */
	uint8_t stap[] = {0x18, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 0, 2, 0x68, 0xce};
	push(&d, 101, 3000, 0, stap, sizeof(stap));
	push(&d, 102, 3000, 0, idr_a, sizeof(idr_a));
	push(&d, 103, 3000, 1, idr_b, sizeof(idr_b));
	CHECK_EQ_INT(g.n, 1);
	CHECK_EQ_INT(g.flags[0], H264_AU_KEY | H264_AU_CONFIG);
	CHECK_EQ_INT(g.ts[0], 3000);
	static const uint8_t want[] = {0, 0, 0,	   1, 0x67, 0x42, 0xc0, 0x1e,
				       0, 0, 0,	   1, 0x68, 0xce, 0,	0,
				       0, 1, 0x65, 1, 2,    3,	  4,	5};
	CHECK_EQ_INT(g.size[0], sizeof(want));
	CHECK(!memcmp(g.data[0], want, sizeof(want)));
	/* P frame; then the next one without a marker ends on ts change. */
	push(&d, 104, 6000, 1, pslice, sizeof(pslice));
	push(&d, 105, 9000, 0, pslice, sizeof(pslice));
	CHECK_EQ_INT(g.n, 2);
	push(&d, 106, 12000, 1, pslice, sizeof(pslice));
	CHECK_EQ_INT(g.n, 4);
	CHECK_EQ_INT(g.flags[1], 0);
	CHECK_EQ_INT(g.ts[2], 9000);
	CHECK_EQ_INT(g.size[3], 4 + sizeof(pslice));
	/* Parameter sets repeated inside one AU (rtph264pay config-interval
	 * inserts them after the SEI) are kept once. */
	uint8_t sei[] = {0x06, 0x05, 0x01, 0x00, 0x80};
	push(&d, 107, 15000, 0, stap, sizeof(stap));
	push(&d, 108, 15000, 0, sei, sizeof(sei));
	push(&d, 109, 15000, 0, stap, sizeof(stap));
	push(&d, 110, 15000, 1, idr_single, sizeof(idr_single));
	CHECK_EQ_INT(g.n, 5);
	static const uint8_t want2[] = {
	    0, 0, 0, 1,	   0x67, 0x42, 0xc0, 0x1e, 0, 0, 0, 1, 0x68, 0xce, 0,
	    0, 0, 1, 0x06, 0x05, 0x01, 0x00, 0x80, 0, 0, 0, 1, 0x65, 9};
	CHECK_EQ_INT(g.size[4], sizeof(want2));
	CHECK(!memcmp(g.data[4], want2, sizeof(want2)));
	/* A late duplicate changes nothing. */
	push(&d, 105, 9000, 1, pslice, sizeof(pslice));
	CHECK_EQ_INT(g.n, 5);
	CHECK_EQ_INT(d.stats.late_packets, 1);
	h264_depay_free(&d);
}

static void test_depay_gap_and_sprop(void)
{
	struct h264_depay d;
	struct got g = {0};
	h264_depay_init(&d, 1 << 20, on_au, &g);
	uint8_t sprop[] = {0,	 0, 0, 1, 0x67, 0x42, 0xc0,
			   0x1e, 0, 0, 0, 1,	0x68, 0xce};
	h264_depay_set_sprop(&d, sprop, sizeof(sprop));
	/* AUD + IDR without in-band SPS/PPS: inserted after the AUD. Timestamp
	 * near the 32-bit wrap. */
	uint8_t aud[] = {0x09, 0xf0};
	push(&d, 65534, 0xfffff000u, 0, aud, sizeof(aud));
	push(&d, 65535, 0xfffff000u, 0, idr_a, sizeof(idr_a));
	push(&d, 0, 0xfffff000u, 1, idr_b, sizeof(idr_b));
	CHECK_EQ_INT(g.n, 1);
	CHECK_EQ_INT(g.flags[0], H264_AU_KEY | H264_AU_CONFIG);
	static const uint8_t want[] = {0,    0, 0,    1,    0x09, 0xf0, 0, 0,
				       0,    1, 0x67, 0x42, 0xc0, 0x1e, 0, 0,
				       0,    1, 0x68, 0xce, 0,	  0,	0, 1,
				       0x65, 1, 2,    3,    4,	  5};
	CHECK_EQ_INT(g.size[0], sizeof(want));
	CHECK(!memcmp(g.data[0], want, sizeof(want)));
	/* Wraps: 0xfffff000 + 0x2000 -> continues upwards. */
	push(&d, 1, 0x1000u, 1, pslice, sizeof(pslice));
	CHECK_EQ_INT(g.ts[1], 0xfffff000LL + 0x2000);
	/* Lose seq 2 (the start of a frame): P frames dropped until an IDR. */
	push(&d, 3, 0x4000u, 1, pslice, sizeof(pslice));
	push(&d, 4, 0x7000u, 1, pslice, sizeof(pslice));
	CHECK_EQ_INT(g.n, 2);
	CHECK_EQ_INT(d.stats.lost_packets, 1);
	push(&d, 5, 0xa000u, 0, idr_a, sizeof(idr_a));
	push(&d, 6, 0xa000u, 1, idr_b, sizeof(idr_b));
	CHECK_EQ_INT(g.n, 3);
	CHECK_EQ_INT(g.flags[2],
		     H264_AU_KEY | H264_AU_CONFIG | H264_AU_DISCONTINUITY);
	/* Loss inside an IDR's FU-A run: that IDR is dropped too. */
	push(&d, 7, 0xd000u, 0, idr_a, sizeof(idr_a));
	push(&d, 9, 0xd000u, 1, idr_b, sizeof(idr_b));
	CHECK_EQ_INT(g.n, 3);
	/* A new SSRC (server restarted): timestamps reset. */
	struct rtp_packet p = {.version = 2,
			       .marker = 0,
			       .seq = 500,
			       .timestamp = 77,
			       .ssrc = 8,
			       .payload = idr_a,
			       .payload_len = sizeof(idr_a)};
	h264_depay_push(&d, &p);
	p.seq = 501;
	p.marker = 1;
	p.payload = idr_b;
	p.payload_len = sizeof(idr_b);
	h264_depay_push(&d, &p);
	CHECK_EQ_INT(g.n, 4);
	CHECK_EQ_INT(g.flags[3], H264_AU_KEY | H264_AU_CONFIG |
				     H264_AU_DISCONTINUITY | H264_AU_TS_RESET);
	CHECK_EQ_INT(g.ts[3], 77);
	/* reset(): the next AU must be an IDR, flagged. */
	h264_depay_reset(&d);
	push(&d, 10, 100, 1, pslice, sizeof(pslice));
	CHECK_EQ_INT(g.n, 4);
	push(&d, 11, 200, 0, idr_a, sizeof(idr_a));
	push(&d, 12, 200, 1, idr_b, sizeof(idr_b));
	CHECK_EQ_INT(g.n, 5);
	CHECK(g.flags[4] & H264_AU_DISCONTINUITY);
	CHECK(g.flags[4] & H264_AU_TS_RESET);
	h264_depay_free(&d);
}

static void test_depay_limits(void)
{
	struct h264_depay d;
	struct got g = {0};
	h264_depay_init(&d, 16, on_au, &g);
	uint8_t stap[] = {0x18, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 0, 2, 0x68, 0xce};
	push(&d, 1, 0, 0, stap, sizeof(stap));
	push(&d, 2, 0, 1, idr_a, sizeof(idr_a)); /* FU without end + over 16 */
	CHECK_EQ_INT(g.n, 0);
	/* STAP-A whose inner size runs past the packet. */
	uint8_t bad[] = {0x18, 0, 9, 0x65, 1};
	push(&d, 3, 10, 1, bad, sizeof(bad));
	CHECK_EQ_INT(g.n, 0);
	CHECK(d.stats.bad_packets >= 1);
	/* No parameter sets known at all: the IDR cannot be emitted. */
	struct h264_depay e;
	struct got h = {0};
	h264_depay_init(&e, 1 << 16, on_au, &h);
	push(&e, 1, 0, 0, idr_a, sizeof(idr_a));
	push(&e, 2, 0, 1, idr_b, sizeof(idr_b));
	CHECK_EQ_INT(h.n, 0);
	h264_depay_free(&e);
	h264_depay_free(&d);
}

/* H.265 (RFC 7798): AP with VPS/SPS/PPS, an IRAP picture in FUs, the
 * parameter sets from the SDP in front of a key frame without them, PACI
 * refused; the SDP's sprop-vps/sps/pps in decoding order, DONL refused. */
static void test_depay_hevc(void)
{
	struct h264_depay d;
	struct got g = {0};
	CHECK_EQ_INT(h264_depay_init_hevc(&d, 1 << 20, on_au, &g), 0);
	static const uint8_t trail[] = {0x02, 0x01, 0xd0, 7};
	push(&d, 10, 0, 1, trail, sizeof(trail)); /* before a key frame */
	CHECK_EQ_INT(g.n, 0);
	static const uint8_t ap[] = {0x60, 0x01, 0,    3,    0x40, 0x01,
				     0xaa, 0,	 3,    0x42, 0x01, 0xbb,
				     0,	   3,	 0x44, 0x01, 0xcc};
	static const uint8_t fu_start[] = {0x62, 0x01, 0x80 | 19, 1, 2};
	static const uint8_t fu_end[] = {0x62, 0x01, 0x40 | 19, 3, 4};
	push(&d, 11, 3000, 0, ap, sizeof(ap));
	push(&d, 12, 3000, 0, fu_start, sizeof(fu_start));
	push(&d, 13, 3000, 1, fu_end, sizeof(fu_end));
	CHECK_EQ_INT(g.n, 1);
	CHECK_EQ_INT(g.flags[0], H264_AU_KEY | H264_AU_CONFIG);
	static const uint8_t want[] = {0, 0,	0,    1,    0x40, 0x01, 0xaa, 0,
				       0, 0,	1,    0x42, 0x01, 0xbb, 0,    0,
				       0, 1,	0x44, 0x01, 0xcc, 0,	0,    0,
				       1, 0x26, 0x01, 1,    2,	  3,	4};
	CHECK_EQ_INT(g.size[0], sizeof(want));
	CHECK(!memcmp(g.data[0], want, sizeof(want)));
	push(&d, 14, 6000, 1, trail, sizeof(trail));
	CHECK_EQ_INT(g.n, 2);
	CHECK_EQ_INT(g.flags[1], 0);
	/* PACI (type 50) is not decodable here: the access unit is lost. */
	static const uint8_t paci[] = {0x64, 0x01, 0, 0};
	uint64_t bad = d.stats.bad_packets;
	push(&d, 15, 9000, 1, paci, sizeof(paci));
	CHECK_EQ_INT(d.stats.bad_packets, bad + 1);
	CHECK_EQ_INT(g.n, 2);
	h264_depay_free(&d);

	/* Parameter sets only in the SDP. */
	memset(&g, 0, sizeof(g));
	CHECK_EQ_INT(h264_depay_init_hevc(&d, 1 << 20, on_au, &g), 0);
	static const uint8_t sprop[] = {0, 0, 0, 1, 0x40, 0x01, 0xaa,
					0, 0, 0, 1, 0x42, 0x01, 0xbb,
					0, 0, 0, 1, 0x44, 0x01, 0xcc};
	CHECK_EQ_INT(h264_depay_set_sprop(&d, sprop, sizeof(sprop)), 0);
	static const uint8_t idr[] = {0x26, 0x01, 9};
	push(&d, 1, 0, 1, idr, sizeof(idr));
	CHECK_EQ_INT(g.n, 1);
	CHECK_EQ_INT(g.flags[0], H264_AU_KEY | H264_AU_CONFIG);
	CHECK_EQ_INT(g.size[0], sizeof(sprop) + 4 + sizeof(idr));
	CHECK(!memcmp(g.data[0], sprop, sizeof(sprop)));
	h264_depay_free(&d);

	struct sdp_h264 sd;
	char err[200];
	/* base64: 40 01 aa = QAGq, 42 01 bb = QgG7, 44 01 cc = RAHM */
	const char *sdp265 =
	    "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n"
	    "a=fmtp:96 sprop-sps=QgG7; sprop-pps=RAHM; sprop-vps=QAGq\r\n"
	    "a=control:stream=0\r\n";
	CHECK_EQ_INT(
	    sdp_parse_h264(sdp265, strlen(sdp265), &sd, err, sizeof(err)), 0);
	CHECK(sd.hevc);
	CHECK_EQ_INT(sd.payload_type, 96);
	CHECK_EQ_INT(sd.params_len, sizeof(sprop));
	CHECK(!memcmp(sd.params, sprop, sizeof(sprop)));
	const char *don =
	    "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n"
	    "a=fmtp:96 sprop-max-don-diff=2; sprop-vps=QAGq\r\n";
	CHECK_EQ_INT(sdp_parse_h264(don, strlen(don), &sd, err, sizeof(err)),
		     -1);
	CHECK_STR_CONTAINS(err, "sprop-max-don-diff=2");
	CHECK_STR_CONTAINS(err, "DONL");
}

int main(void)
{
	test_response_framing();
	test_interleaved_and_errors();
	test_headers();
	test_sdp();
	test_url();
	test_auth();
	test_rtp_parse();
	test_rtcp();
	test_depay_basic();
	test_depay_gap_and_sprop();
	test_depay_limits();
	test_depay_hevc();
	return check_done();
}
