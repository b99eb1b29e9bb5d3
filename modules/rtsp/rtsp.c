/* rtsp: H.264 or H.265 from an RTSP/1.0 camera or server (RFC 2326,
 * RFC 6184, RFC 7798): the codec is the SDP's.
 *
 * One node is one camera. The node thread connects, runs OPTIONS,
 * DESCRIBE, SETUP and PLAY, then reads RTP (interleaved on the RTSP
 * connection by default, or UDP) and pushes one Annex-B access unit per
 * frame. Whatever goes wrong (server restart, network drop, 401 after a
 * password change, no media) ends in a reconnect after the kernel's
 * jittered backoff (retry-delay, retry-max-delay); the stream resumes at
 * the next key frame, flagged discontinuous. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "h264.h"
#include "h265.h"
#include "rtsp_client.h"

static const char *const transports[] = {"tcp", "udp", NULL};

static const struct vpipe_param params[] = {
    /* Masked: the URL may hold a password; the module logs it masked. */
    VPIPE_P_STRING("url", struct rtsp_config, url, NULL,
		   VPIPE_PARAM_REQUIRED | VPIPE_PARAM_MASKED,
		   "rtsp://[user[:password]@]host[:port]/path of the "
		   "camera stream"),
    VPIPE_P_STRING("user", struct rtsp_config, user, NULL, 0,
		   "user name (overrides one in the url)"),
    VPIPE_P_SECRET("password", struct rtsp_config, password, 0,
		   "password (overrides one in the url); use "
		   "${VAR} to keep it out of the file"),
    VPIPE_P_ENUM("transport", struct rtsp_config, transport, "tcp", transports,
		 "tcp: RTP interleaved on the RTSP connection; udp: RTP "
		 "and RTCP on a UDP port pair"),
    VPIPE_P_INT("client-port", struct rtsp_config, client_port, "0", 0, 65534,
		"udp: even local RTP port (RTCP on the next); 0: any free "
		"pair"),
    VPIPE_P_DURATION("timeout", struct rtsp_config, timeout, "10s", 0.1, 3600,
		     VPIPE_S,
		     "limit for connecting, each reply, and silence of the "
		     "media before reconnecting"),
    VPIPE_P_DURATION("keepalive", struct rtsp_config, keepalive, "0", 0, 3600,
		     VPIPE_S,
		     "keep-alive period; 0: half the session timeout the "
		     "server announces"),
    VPIPE_P_RETRY(struct rtsp_config, retry_delay, retry_max_delay, "1s",
		  "30s"),
    VPIPE_P_SIZE("max-frame-size", struct rtsp_config, max_frame_size, "8M",
		 65536, 1 << 30,
		 "largest access unit accepted; larger ones are dropped"),
    VPIPE_P_INT("reorder-depth", struct rtsp_config, reorder_depth, "-1", -1,
		H264_MAX_REORDER,
		"pictures the camera reorders (B-frames), for dts; -1: from "
		"the SPS (VUI max_num_reorder_frames, else the level's DPB "
		"size)"),
    VPIPE_P_END,
};

/* RTP ticks to ns without overflow for any 64-bit tick count. */
static int64_t ticks_to_ns(int64_t ticks, int rate)
{
	int64_t s = ticks / rate, rem = ticks % rate;
	return s * 1000000000LL + rem * 1000000000LL / rate;
}

/* RTP timestamps are presentation times, in decoding order: dts needs the
 * depth of reordering. An SPS that declares it (VUI bitstream_restriction,
 * as x264 writes), or whose picture order cannot reorder (poc type 2),
 * gives it exactly; otherwise the level's DPB size bounds it (E.2.1's
 * inference), at the price of dts lagging pts by that many frames. */
static void set_depth(struct rtsp_client *c, const struct h264_sps *sps)
{
	int depth = (int)c->cfg->reorder_depth;
	const char *from = "reorder-depth";
	if (depth < 0) {
		depth = h264_sps_reorder_frames(sps);
		from = sps->bitstream_restriction ? "SPS max_num_reorder_frames"
		       : depth == 0		  ? "SPS picture order"
						  : "SPS level (DPB size)";
		if (depth < 0)
			depth = (int)h264_sps_dpb_frames(sps);
	}
	if (depth == c->depth)
		return;
	if (depth > 0 || c->depth > 0)
		vpipe_info(c->node, "%s: pictures reordered up to %d deep (%s)",
			   c->masked_url, depth, from);
	c->depth = depth;
	c->dts_restart = true;
}

/* dts of an access unit in decoding order whose pts is `pts`. Never goes
 * back, also across a restart (then it may equal the previous one). */
static int64_t au_dts(struct rtsp_client *c, const struct rtp_h264_au *au,
		      int64_t pts)
{
	if (c->depth <= 0)
		return pts;
	if (c->dts_restart || (au->flags & H264_AU_TS_RESET)) {
		h264_dts_init(&c->dts, (unsigned)c->depth);
		c->dts_restart = false;
	}
	int64_t frame_ns = c->fmt.fps_num ? (int64_t)c->fmt.fps_den *
						1000000000LL / c->fmt.fps_num
					  : 1000000000LL / 30;
	int64_t dts = h264_dts_next(&c->dts, pts, frame_ns);
	if (dts > pts) {
		vpipe_node_count(c->node, "reorder_overflows_total", 1);
		if (!c->reorder_warned) {
			c->reorder_warned = true;
			vpipe_warn(c->node,
				   "%s: pictures are reordered deeper than %d: "
				   "dts above pts (set reorder-depth)",
				   c->masked_url, c->depth);
		}
	}
	return dts;
}

/* H.265: size from the SPS; the reorder depth is sps_max_num_reorder_pics
 * (always present in an H.265 SPS). */
static void update_format_hevc(struct rtsp_client *c, const uint8_t *sps,
			       size_t n)
{
	struct h265_sps info;
	char err[128];
	if (h265_parse_sps(sps, n, &info, err, sizeof(err)) < 0) {
		vpipe_warn(c->node, "%s: SPS not understood: %s", c->masked_url,
			   err);
		return;
	}
	c->fmt.width = info.width;
	c->fmt.height = info.height;
	int depth = c->cfg->reorder_depth >= 0 ? (int)c->cfg->reorder_depth
					       : (int)info.max_num_reorder_pics;
	if (depth != c->depth) {
		c->depth = depth;
		c->dts_restart = true;
		if (depth > 0)
			vpipe_info(c->node,
				   "%s: pictures reordered up to %d deep",
				   c->masked_url, depth);
	}
	if (c->sdp.framerate > 0) {
		c->fmt.fps_num = (uint32_t)(c->sdp.framerate * 1000 + 0.5);
		c->fmt.fps_den = 1000;
	}
	vpipe_info(c->node, "%s: H.265 profile %u level %u, %ux%u",
		   c->masked_url, info.ptl.profile_idc, info.ptl.level_idc,
		   info.width, info.height);
}

static void update_format(struct rtsp_client *c, const uint8_t *sps, size_t n)
{
	if (!sps || n > sizeof(c->sps_seen) ||
	    (n == c->sps_seen_len && !memcmp(sps, c->sps_seen, n)))
		return;
	memcpy(c->sps_seen, sps, n);
	c->sps_seen_len = n;
	if (c->sdp.hevc) {
		update_format_hevc(c, sps, n);
		return;
	}
	struct h264_sps info;
	char err[128];
	if (h264_parse_sps(sps, n, &info, err, sizeof(err)) < 0) {
		vpipe_warn(c->node, "%s: SPS not understood: %s", c->masked_url,
			   err);
		return;
	}
	c->fmt.width = info.width;
	c->fmt.height = info.height;
	set_depth(c, &info);
	if (info.fps_num && info.fps_den) {
		c->fmt.fps_num = info.fps_num;
		c->fmt.fps_den = info.fps_den;
	} else if (c->sdp.framerate > 0) {
		c->fmt.fps_num = (uint32_t)(c->sdp.framerate * 1000 + 0.5);
		c->fmt.fps_den = 1000;
	}
	vpipe_info(c->node, "%s: H.264 profile %u level %u, %ux%u",
		   c->masked_url, info.profile_idc, info.level_idc, info.width,
		   info.height);
}

/* Pipeline time of an access unit: RTP time anchored on the arrival of
 * the first one of the stream (or after a timestamp reset). */
static int64_t au_pts(struct rtsp_client *c, const struct rtp_h264_au *au)
{
	int rate = c->sdp.clock_rate > 0 ? c->sdp.clock_rate : 90000;
	if (!c->have_anchor || (au->flags & H264_AU_TS_RESET)) {
		int64_t now = vpipe_now();
		/* Never go back in time across a reconnect. */
		if (c->have_anchor && now <= c->max_pts)
			now = c->max_pts + 1000000;
		c->anchor_ns = now;
		c->anchor_rtp = au->timestamp;
		c->have_anchor = true;
	}
	return c->anchor_ns + ticks_to_ns(au->timestamp - c->anchor_rtp, rate);
}

static int64_t au_wallclock(struct rtsp_client *c, const struct rtp_h264_au *au,
			    int64_t pts)
{
	if (c->have_sr && c->sr_ssrc == c->depay.ssrc) {
		int rate = c->sdp.clock_rate > 0 ? c->sdp.clock_rate : 90000;
		int32_t d = (int32_t)((uint32_t)au->timestamp - c->sr_rtp);
		return c->sr_wall + ticks_to_ns(d, rate);
	}
	return vpipe_clock_to_wall(pts);
}

static void on_au(void *ctx, const struct rtp_h264_au *au)
{
	struct rtsp_client *c = ctx;
	if (au->flags & H264_AU_CONFIG)
		update_format(c, au->sps, au->sps_len);
	int64_t pts = au_pts(c, au);
	struct vpipe_frame *f = vpipe_frame_try_alloc(c->node, au->size);
	if (!f) {
		/* Downstream holds every frame: a camera cannot be paused, so
		 * drop and resume cleanly at the next key frame. */
		vpipe_node_count(c->node, "dropped_frames_total", 1);
		c->depay.wait_key = true;
		c->depay.discont_next = true;
		return;
	}
	memcpy(f->data, au->data, au->size);
	f->size = au->size;
	f->media = c->sdp.hevc ? VPIPE_MEDIA_H265 : VPIPE_MEDIA_H264;
	f->flags = 0;
	if (au->flags & H264_AU_KEY)
		f->flags |= VPIPE_FLAG_KEY;
	if (au->flags & H264_AU_CONFIG)
		f->flags |= VPIPE_FLAG_CODEC_CONFIG;
	if (au->flags & H264_AU_DISCONTINUITY)
		f->flags |= VPIPE_FLAG_DISCONTINUITY;
	f->fmt = c->fmt;
	f->fmt.fourcc = c->sdp.hevc ? VPIPE_FOURCC_H265 : VPIPE_FOURCC_H264;
	int64_t dts = au_dts(c, au, pts);
	if (c->last_pts && dts < c->last_dts)
		dts = c->last_dts; /* a restart with a deeper reorder depth */
	f->pts = pts;
	f->dts = dts;
	/* The decoding-order step: with B-frames the pts step is not one. */
	f->duration = c->last_pts && dts > c->last_dts ? dts - c->last_dts : 0;
	if (c->fmt.fps_num &&
	    (f->duration == 0 || (au->flags & H264_AU_TS_RESET)))
		f->duration =
		    (int64_t)c->fmt.fps_den * 1000000000LL / c->fmt.fps_num;
	f->wallclock = au_wallclock(c, au, pts);
	c->last_pts = pts;
	c->last_dts = dts;
	if (pts > c->max_pts)
		c->max_pts = pts;
	c->frame_this_session = true;
	vpipe_node_count(c->node, "frames_total", 1);
	vpipe_push(c->node, 0, f);
}

void rtsp_on_rtp(struct rtsp_client *c, const uint8_t *buf, size_t len)
{
	struct rtp_packet p;
	if (rtp_parse(buf, len, &p) < 0) {
		vpipe_node_count(c->node, "bad_packets_total", 1);
		return;
	}
	if (p.payload_type != c->sdp.payload_type)
		return;
	c->last_data = vpipe_now();
	uint64_t lost = c->depay.stats.lost_packets;
	h264_depay_push(&c->depay, &p);
	if (c->depay.stats.lost_packets != lost)
		vpipe_node_count(c->node, "lost_packets_total",
				 (int64_t)(c->depay.stats.lost_packets - lost));
}

void rtsp_on_rtcp(struct rtsp_client *c, const uint8_t *buf, size_t len)
{
	struct rtcp_sr sr;
	if (rtcp_find_sr(buf, len, &sr) != 1)
		return;
	c->have_sr = true;
	c->sr_ssrc = sr.ssrc;
	c->sr_rtp = sr.rtp_timestamp;
	c->sr_wall = ntp_to_unix_ns(sr.ntp);
}

static void schedule_retry(struct rtsp_client *c)
{
	if (c->frame_this_session)
		vpipe_backoff_reset(&c->backoff); /* it worked until now */
	c->frame_this_session = false;
	int64_t wait = vpipe_backoff_next(&c->backoff);
	c->next_attempt = vpipe_now() + wait;
	vpipe_info(c->node, "%s: reconnecting in %.1f s", c->masked_url,
		   (double)wait / 1e9);
	vpipe_node_count(c->node, "reconnects_total", 1);
}

static int64_t keepalive_period(const struct rtsp_client *c)
{
	if (c->cfg->keepalive > 0)
		return c->cfg->keepalive;
	return (int64_t)c->session_timeout * 1000000000LL / 2;
}

static int connect_and_play(struct rtsp_client *c)
{
	if (c->next_attempt > vpipe_now() &&
	    vpipe_node_sleep_until(c->node, c->next_attempt) < 0)
		return 0;
	int r = rtsp_conn_open(c);
	if (r == -2) {
		rtsp_conn_close(c, true);
		return 0;
	}
	if (r < 0) {
		rtsp_conn_close(c, true);
		schedule_retry(c);
		return 0;
	}
	if (c->sessions++)
		h264_depay_reset(
		    &c->depay); /* resume at a key frame, flagged */
	c->frame_this_session = false;
	int64_t now = vpipe_now();
	c->last_data = now;
	c->next_keepalive = now + keepalive_period(c);
	vpipe_info(c->node,
		   "%s: playing over %s, H.%s payload %d, session timeout %d s",
		   c->masked_url, transports[c->cfg->transport],
		   c->sdp.hevc ? "265" : "264", c->sdp.payload_type,
		   c->session_timeout);
	return 0;
}

static int rtsp_produce(void *state)
{
	struct rtsp_client *c = state;
	if (!c->playing)
		return connect_and_play(c);
	int64_t now = vpipe_now();
	if (now >= c->next_keepalive) {
		if (rtsp_conn_keepalive(c) == -2)
			return 0;
		c->next_keepalive = now + keepalive_period(c);
	}
	int64_t silent_until = c->last_data + c->cfg->timeout;
	if (now >= silent_until) {
		vpipe_warn(c->node, "%s: no media for %.1f s", c->masked_url,
			   (double)(now - c->last_data) / 1e9);
		rtsp_conn_close(c, true);
		schedule_retry(c);
		return 0;
	}
	int64_t deadline =
	    c->next_keepalive < silent_until ? c->next_keepalive : silent_until;
	int r = rtsp_conn_pump(c, deadline);
	if (r == -1) {
		rtsp_conn_close(c, true);
		schedule_retry(c);
	}
	return 0;
}

static int rtsp_create(struct vpipe_node *node, const void *config,
		       void **state)
{
	const struct rtsp_config *cfg = config;
	struct rtsp_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	c->node = node;
	c->cfg = cfg;
	c->fd = c->rtp_fd = c->rtcp_fd = c->ep = -1;
	c->depth = -1;
	*state = c;
	char err[160];
	rtsp_url_masked(cfg->url, c->masked_url, sizeof(c->masked_url));
	if (rtsp_url_parse(cfg->url, &c->url, err, sizeof(err)) < 0) {
		vpipe_error(node, "url = %s: %s", c->masked_url, err);
		return -1;
	}
	if (cfg->transport == RTSP_UDP && cfg->client_port % 2) {
		vpipe_error(node,
			    "client-port = %lld: must be even (RTP), "
			    "RTCP takes the next",
			    (long long)cfg->client_port);
		return -1;
	}
	if (vpipe_backoff_init(&c->backoff, cfg->retry_delay,
			       cfg->retry_max_delay)) {
		vpipe_error(node, "retry-max-delay must not be below "
				  "retry-delay");
		return -1;
	}
	c->user = cfg->user ? cfg->user : c->url.has_user ? c->url.user : NULL;
	c->pass = cfg->password ? cfg->password : c->url.pass;
	if (cfg->password && !c->user) {
		vpipe_error(node, "password is set but no user (param user or "
				  "in the url)");
		return -1;
	}
	c->rx = malloc(RTSP_RX_SIZE);
	if (!c->rx || h264_depay_init(&c->depay, (size_t)cfg->max_frame_size,
				      on_au, c) < 0)
		return -1;
	if (getrandom(&c->our_ssrc, sizeof(c->our_ssrc), GRND_NONBLOCK) !=
	    sizeof(c->our_ssrc))
		c->our_ssrc = (uint32_t)vpipe_now();
	vpipe_node_set_output_media(node, 0,
				    VPIPE_MEDIA_H264 | VPIPE_MEDIA_H265);
	vpipe_node_set_pool(node, 0, 256 * 1024);
	return 0;
}

static int rtsp_start(void *state)
{
	struct rtsp_client *c = state;
	vpipe_backoff_reset(&c->backoff);
	c->next_attempt = 0;
	c->have_anchor = false;
	return 0;
}

static void rtsp_stop(void *state)
{
	struct rtsp_client *c = state;
	rtsp_conn_close(c, true);
}

static void rtsp_destroy(void *state)
{
	struct rtsp_client *c = state;
	if (!c)
		return;
	rtsp_conn_close(c, false);
	h264_depay_free(&c->depay);
	free(c->rx);
	free(c);
}

static const struct vpipe_port outputs[] = {
    {.name = "src", .media = VPIPE_MEDIA_H264 | VPIPE_MEDIA_H265},
    {.name = NULL},
};

VPIPE_MODULE = {
    .flags = VPIPE_MODULE_LIVE,
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "rtsp",
    .version = "1.0",
    .summary = "H.264/H.265 from an RTSP camera (TCP or UDP, Basic/Digest "
	       "auth, reconnects)",
    .outputs = outputs,
    .params = params,
    .config_size = sizeof(struct rtsp_config),
    .create = rtsp_create,
    .start = rtsp_start,
    .produce = rtsp_produce,
    .stop = rtsp_stop,
    .destroy = rtsp_destroy,
};
