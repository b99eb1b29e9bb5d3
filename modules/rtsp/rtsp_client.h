/* The rtsp module's node state, shared by rtsp.c (module glue, frames,
 * reconnect policy) and rtsp_conn.c (sockets, RTSP requests, reading). */
#ifndef VPIPE_RTSP_CLIENT_H
#define VPIPE_RTSP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <vpipe/vpipe.h>

#include "h264_order.h"
#include "rtp_h264.h"
#include "rtsp_auth.h"
#include "rtsp_msg.h"
#include "sdp.h"

enum rtsp_transport_kind { RTSP_TCP = 0, RTSP_UDP = 1 };

struct rtsp_config {
	const char *url;
	const char *user;
	const char *password;
	int transport;
	int64_t client_port;
	int64_t timeout;   /* ns: connect, reply, and no-data limit */
	int64_t keepalive; /* ns; 0: half the session timeout */
	int64_t retry_delay, retry_max_delay; /* ns */
	int64_t max_frame_size;		      /* bytes */
	int64_t reorder_depth;		      /* frames; -1: from the SPS */
};

/* Receive buffer: the largest item is an interleaved packet (4 + 65535)
 * or a reply (16 KiB head + 64 KiB body). */
#define RTSP_RX_SIZE (RTSP_MAX_HEAD_BYTES + RTSP_MAX_BODY_BYTES + 4096)

struct rtsp_client {
	struct vpipe_node *node;
	const struct rtsp_config *cfg;
	struct rtsp_url url;
	char masked_url[RTSP_URL_MAX];
	const char *user, *pass; /* NULL: no credentials */

	/* connection */
	int fd;	    /* TCP control connection, -1 when closed */
	int rtp_fd; /* UDP transport */
	int rtcp_fd;
	int ep; /* epoll set over the above, waited on as one fd */
	/* The server's address, for RTCP; sockaddr_storage so that reading it
	 * as sockaddr_in/sockaddr_in6 is aligned. */
	struct sockaddr_storage server_addr;
	unsigned server_addr_len;
	uint8_t *rx;
	size_t rx_len;
	uint64_t
	    rx_consumed; /* bytes parsed so far this session, for offsets */
	int cseq;
	struct rtsp_auth auth;
	bool auth_failed;
	char session[128];
	int session_timeout; /* s */
	bool use_get_parameter;
	int rtp_channel, rtcp_channel;
	int server_rtcp_port;
	char content_base[RTSP_URL_MAX];
	char media_url[RTSP_URL_MAX];
	char play_url[RTSP_URL_MAX];
	/* the reply being waited for, copied out of rx */
	uint8_t *reply_buf;
	struct rtsp_msg reply;
	int want_cseq;
	bool got_reply;

	/* playing */
	bool playing;
	struct sdp_h264 sdp;
	struct h264_depay depay;
	uint32_t our_ssrc;
	int64_t last_data, next_keepalive;
	bool session_lost; /* set by the reader: reconnect */

	/* reconnect policy */
	struct vpipe_backoff backoff;
	int64_t next_attempt;
	bool ever_played;
	bool frame_this_session;
	uint64_t sessions;

	/* timing */
	bool have_anchor;
	int64_t anchor_ns, anchor_rtp, last_pts, max_pts;
	/* dts from pts: the reorder depth from the SPS (or the parameter);
	 * restarted with the timestamps or when the depth changes */
	struct h264_dts dts;
	int depth; /* -1 until an SPS was seen */
	bool dts_restart;
	int64_t last_dts;
	bool reorder_warned;
	bool have_sr;
	uint32_t sr_ssrc, sr_rtp;
	int64_t sr_wall;

	/* format */
	uint8_t sps_seen[256];
	size_t sps_seen_len;
	struct vpipe_format fmt;
};

/* rtsp_conn.c */
int rtsp_conn_open(struct rtsp_client *c); /* connect + handshake */
void rtsp_conn_close(struct rtsp_client *c, bool teardown);
/* Wait for and handle input until `deadline` (pipeline ns). Returns 0,
 * -1 on a connection error (logged), -2 when stopping. */
int rtsp_conn_pump(struct rtsp_client *c, int64_t deadline);
int rtsp_conn_keepalive(struct rtsp_client *c);

/* rtsp.c: RTP/RTCP payloads the reader found. */
void rtsp_on_rtp(struct rtsp_client *c, const uint8_t *buf, size_t len);
void rtsp_on_rtcp(struct rtsp_client *c, const uint8_t *buf, size_t len);

#endif
