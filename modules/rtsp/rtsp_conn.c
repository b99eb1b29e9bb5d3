/* The rtsp module's connection: sockets, RTSP requests and replies,
 * authentication retries, keep-alive, reading interleaved or UDP media.
 * Sockets are non-blocking; every wait goes through vpipe_node_wait_fd so
 * that a stop interrupts it. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtsp_client.h"

#define USER_AGENT "vpipe-rtsp/1.0"
#define STOPPING   -2

static int64_t remaining(int64_t deadline)
{
	int64_t r = deadline - vpipe_now();
	return r > 0 ? r : 0;
}

static int wait_io(struct rtsp_client *c, int fd, short events,
		   int64_t deadline, const char *what)
{
	int r;
	do /* 0 before the deadline: woken (a key-frame request), not late */
		r = vpipe_node_wait_fd(c->node, fd, events,
				       remaining(deadline));
	while (r == 0 && remaining(deadline) > 0);
	if (r < 0)
		return STOPPING;
	if (r == 0) {
		vpipe_error(c->node, "%s: timed out %s after %.1f s",
			    c->masked_url, what, (double)c->cfg->timeout / 1e9);
		return -1;
	}
	return 0;
}

static int tcp_connect(struct rtsp_client *c)
{
	char port[8];
	snprintf(port, sizeof(port), "%d", c->url.port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	/* getaddrinfo blocks; names are local (/etc/hosts, mDNS) or numeric
	 * on camera networks, so the wait is short. */
	int g = getaddrinfo(c->url.host, port, &hints, &res);
	if (g != 0) {
		vpipe_error(c->node, "%s: cannot resolve host '%s': %s",
			    c->masked_url, c->url.host, gai_strerror(g));
		return -1;
	}
	int64_t deadline = vpipe_now() + c->cfg->timeout;
	int err = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd =
		    socket(ai->ai_family,
			   ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (r < 0 && errno == EINPROGRESS) {
			int w = wait_io(c, fd, POLLOUT, deadline, "connecting");
			if (w < 0) {
				close(fd);
				freeaddrinfo(res);
				return w;
			}
			socklen_t l = sizeof(err);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
			r = err ? -1 : 0;
		} else if (r < 0) {
			err = errno;
		}
		if (r == 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
			if (ai->ai_addrlen <= sizeof(c->server_addr)) {
				memcpy(&c->server_addr, ai->ai_addr,
				       ai->ai_addrlen);
				c->server_addr_len = (unsigned)ai->ai_addrlen;
			}
			c->fd = fd;
			freeaddrinfo(res);
			return 0;
		}
		close(fd);
	}
	freeaddrinfo(res);
	vpipe_error(c->node, "%s: cannot connect to %s port %d: %s",
		    c->masked_url, c->url.host, c->url.port, strerror(err));
	return -1;
}

static int send_all(struct rtsp_client *c, const void *buf, size_t n,
		    int64_t deadline)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_io(c, c->fd, POLLOUT, deadline, "sending");
			if (r < 0)
				return r;
			continue;
		}
		vpipe_error(c->node, "%s: send failed: %s", c->masked_url,
			    strerror(errno));
		return -1;
	}
	return 0;
}

/* Read what the socket has. Returns bytes read, 0 if none, -1 on EOF or
 * error (logged). */
static int read_some(struct rtsp_client *c)
{
	if (c->rx_len == RTSP_RX_SIZE) {
		vpipe_error(c->node,
			    "%s: item at stream offset %llu does not fit in "
			    "%d bytes",
			    c->masked_url, (unsigned long long)c->rx_consumed,
			    RTSP_RX_SIZE);
		return -1;
	}
	ssize_t n = recv(c->fd, c->rx + c->rx_len, RTSP_RX_SIZE - c->rx_len, 0);
	if (n > 0) {
		c->rx_len += (size_t)n;
		return (int)n;
	}
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n == 0)
		vpipe_warn(c->node, "%s: server closed the connection",
			   c->masked_url);
	else
		vpipe_warn(c->node, "%s: receive failed: %s", c->masked_url,
			   strerror(errno));
	return -1;
}

static void answer_server_request(struct rtsp_client *c,
				  const struct rtsp_msg *m)
{
	/* Servers may ping with OPTIONS/GET_PARAMETER/SET_PARAMETER; other
	 * requests (ANNOUNCE, REDIRECT) are not supported. */
	bool ok =
	    (m->method.n == 7 && !memcmp(m->method.p, "OPTIONS", 7)) ||
	    (m->method.n == 13 && (!memcmp(m->method.p, "GET_PARAMETER", 13) ||
				   !memcmp(m->method.p, "SET_PARAMETER", 13)));
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "RTSP/1.0 %s\r\nCSeq: %d\r\n\r\n",
			 ok ? "200 OK" : "501 Not Implemented",
			 m->cseq < 0 ? 0 : m->cseq);
	ssize_t w = send(c->fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w; /* best effort */
	if (!ok)
		vpipe_warn(c->node, "%s: server sent %.*s, not supported",
			   c->masked_url, (int)m->method.n, m->method.p);
}

static void take_challenge(struct rtsp_client *c, const struct rtsp_msg *m)
{
	for (unsigned i = 0; i < m->num_headers; i++) {
		const struct rtsp_header *h = &m->headers[i];
		if (h->name.n != 16 ||
		    strncasecmp(h->name.p, "WWW-Authenticate", 16))
			continue;
		char v[1024];
		snprintf(v, sizeof(v), "%.*s", (int)h->value.n, h->value.p);
		rtsp_auth_challenge(&c->auth, v);
	}
}

/* A reply that is not the one being waited for: keep-alive replies. */
static void stray_reply(struct rtsp_client *c, const struct rtsp_msg *m)
{
	if (m->status >= 200 && m->status < 300) {
		vpipe_node_count(c->node, "keepalive_ok_total", 1);
	} else if (m->status == 454) {
		vpipe_warn(c->node, "%s: server lost our session (454)",
			   c->masked_url);
		c->session_lost = true;
	} else if (m->status == 401) {
		/* A new nonce for the next keep-alive. */
		struct rtsp_auth old = c->auth;
		c->auth = (struct rtsp_auth){0};
		take_challenge(c, m);
		if (c->auth.scheme == RTSP_AUTH_NONE)
			c->auth = old;
	}
}

static int keep_reply(struct rtsp_client *c, const uint8_t *msg, size_t n)
{
	uint8_t *copy = malloc(n);
	if (!copy)
		return -1;
	memcpy(copy, msg, n);
	free(c->reply_buf);
	c->reply_buf = copy;
	struct rtsp_item it;
	if (rtsp_next(copy, n, &it) != RTSP_ITEM_MESSAGE)
		return -1;
	c->reply = it.msg;
	c->got_reply = true;
	return 0;
}

/* Handle every complete item in rx. Returns 0 or -1. */
static int handle_items(struct rtsp_client *c)
{
	size_t off = 0;
	int ret = 0;
	while (off < c->rx_len && ret == 0) {
		struct rtsp_item it;
		const uint8_t *p = c->rx + off;
		size_t n = c->rx_len - off;
		int k = rtsp_next(p, n, &it);
		if (k == RTSP_ITEM_NEED_MORE)
			break;
		if (k == RTSP_ITEM_ERROR) {
			size_t skip = rtsp_resync(p, n);
			vpipe_warn(c->node,
				   "%s: unparsable data at stream offset %llu "
				   "(%s), skipping %zu bytes",
				   c->masked_url,
				   (unsigned long long)(c->rx_consumed + off +
							it.err_offset),
				   it.err_why, skip);
			vpipe_node_count(c->node, "protocol_errors_total", 1);
			off += skip;
			continue;
		}
		if (k == RTSP_ITEM_INTERLEAVED) {
			if ((int)it.channel == c->rtp_channel)
				rtsp_on_rtp(c, it.payload, it.payload_len);
			else if ((int)it.channel == c->rtcp_channel)
				rtsp_on_rtcp(c, it.payload, it.payload_len);
		} else if (!it.msg.is_response) {
			answer_server_request(c, &it.msg);
		} else if (it.msg.cseq == c->want_cseq && !c->got_reply) {
			ret = keep_reply(c, p, it.consumed);
		} else {
			stray_reply(c, &it.msg);
		}
		off += it.consumed;
	}
	memmove(c->rx, c->rx + off, c->rx_len - off);
	c->rx_len -= off;
	c->rx_consumed += off;
	return ret;
}

static void make_cnonce(char *out, size_t size)
{
	uint8_t r[8] = {0};
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) {
		uint64_t t = (uint64_t)vpipe_now();
		memcpy(r, &t, sizeof(r));
	}
	for (size_t i = 0; i < sizeof(r) && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* Send one request (without waiting). Returns its CSeq or < 0. */
static int send_request(struct rtsp_client *c, const char *method,
			const char *url, const char *extra, int64_t deadline)
{
	char req[4096], authz[1024] = "";
	if (c->auth.scheme != RTSP_AUTH_NONE && c->user) {
		char cnonce[17] = "";
		make_cnonce(cnonce, sizeof(cnonce));
		char v[900];
		if (rtsp_auth_header(&c->auth, c->user, c->pass ? c->pass : "",
				     method, url, cnonce, v, sizeof(v)) == 0)
			snprintf(authz, sizeof(authz), "Authorization: %s\r\n",
				 v);
	}
	char session[160] = "";
	if (c->session[0])
		snprintf(session, sizeof(session), "Session: %s\r\n",
			 c->session);
	int cseq = ++c->cseq;
	int n = snprintf(req, sizeof(req),
			 "%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: " USER_AGENT
			 "\r\n%s%s%s\r\n",
			 method, url, cseq, authz, session, extra ? extra : "");
	memset(authz, 0, sizeof(authz));
	if (n < 0 || (size_t)n >= sizeof(req)) {
		vpipe_error(c->node, "%s: %s request too long", c->masked_url,
			    method);
		return -1;
	}
	int r = send_all(c, req, (size_t)n, deadline);
	memset(req, 0, sizeof(req));
	return r < 0 ? r : cseq;
}

static int wait_reply(struct rtsp_client *c, int cseq, const char *method,
		      int64_t deadline)
{
	c->want_cseq = cseq;
	c->got_reply = false;
	for (;;) {
		if (handle_items(c) < 0)
			return -1;
		if (c->got_reply)
			return 0;
		char what[64];
		snprintf(what, sizeof(what), "waiting for the %s reply",
			 method);
		int r = wait_io(c, c->fd, POLLIN, deadline, what);
		if (r < 0)
			return r;
		if (read_some(c) < 0)
			return -1;
	}
}

/* A request and its reply (in c->reply), answering one 401 challenge
 * with the credentials. Returns the status, or < 0. */
static int request(struct rtsp_client *c, const char *method, const char *url,
		   const char *extra)
{
	int64_t deadline = vpipe_now() + c->cfg->timeout;
	for (int attempt = 0;; attempt++) {
		int cseq = send_request(c, method, url, extra, deadline);
		if (cseq < 0)
			return cseq;
		int r = wait_reply(c, cseq, method, deadline);
		if (r < 0)
			return r;
		if (c->reply.status != 401)
			return c->reply.status;
		bool had_auth = c->auth.scheme != RTSP_AUTH_NONE;
		struct rtsp_auth fresh = {0};
		struct rtsp_auth old = c->auth;
		c->auth = fresh;
		take_challenge(c, &c->reply);
		const char *scheme =
		    c->auth.scheme == RTSP_AUTH_DIGEST	? "Digest"
		    : c->auth.scheme == RTSP_AUTH_BASIC ? "Basic"
							: "unknown";
		if (!c->user) {
			vpipe_error(c->node,
				    "%s: %s needs authentication (%s): set "
				    "user/password or put them in the url",
				    c->masked_url, method, scheme);
			c->auth_failed = true;
			return -1;
		}
		if (c->auth.scheme == RTSP_AUTH_NONE) {
			vpipe_error(
			    c->node,
			    "%s: %s: server offers no authentication "
			    "scheme we support (Basic, Digest MD5/SHA-256)",
			    c->masked_url, method);
			c->auth = old;
			return -1;
		}
		/* Retry once with fresh credentials; again only if the server
		 * said our nonce was merely stale. */
		if (attempt >= 2 ||
		    (had_auth && attempt >= 1 && !c->auth.stale)) {
			vpipe_error(c->node,
				    "%s: %s: the server refused user '%s' "
				    "(%s): check the password",
				    c->masked_url, method, c->user, scheme);
			c->auth_failed = true;
			return -1;
		}
	}
}

static int bind_udp(struct rtsp_client *c, int port)
{
	const struct sockaddr *sa = (const struct sockaddr *)&c->server_addr;
	int family = sa->sa_family == AF_INET6 ? AF_INET6 : AF_INET;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rcvbuf = 2 * 1024 * 1024;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_storage a = {0};
	socklen_t al;
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		s6->sin6_addr = in6addr_any;
		al = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		al = sizeof(*s4);
	}
	if (bind(fd, (struct sockaddr *)&a, al) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int local_port(int fd)
{
	struct sockaddr_storage a;
	socklen_t l = sizeof(a);
	if (getsockname(fd, (struct sockaddr *)&a, &l) < 0)
		return -1;
	if (a.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
	return ntohs(((struct sockaddr_in *)&a)->sin_port);
}

/* An even RTP port and the next one for RTCP (RFC 3550 §11). */
static int open_udp_pair(struct rtsp_client *c)
{
	if (c->cfg->client_port > 0) {
		int p = (int)c->cfg->client_port;
		c->rtp_fd = bind_udp(c, p);
		c->rtcp_fd = c->rtp_fd >= 0 ? bind_udp(c, p + 1) : -1;
		if (c->rtcp_fd < 0) {
			vpipe_error(c->node,
				    "client-port %d-%d: cannot bind UDP: %s", p,
				    p + 1, strerror(errno));
			return -1;
		}
		return 0;
	}
	for (int tries = 0; tries < 32; tries++) {
		int fd = bind_udp(c, 0);
		int p = fd >= 0 ? local_port(fd) : -1;
		if (p > 0 && p % 2 == 0 && p < 65535) {
			int fd2 = bind_udp(c, p + 1);
			if (fd2 >= 0) {
				c->rtp_fd = fd;
				c->rtcp_fd = fd2;
				return 0;
			}
		}
		if (fd >= 0)
			close(fd);
	}
	vpipe_error(c->node, "cannot find a free even/odd UDP port pair");
	return -1;
}

static int describe(struct rtsp_client *c)
{
	int st = request(c, "DESCRIBE", c->url.request,
			 "Accept: application/sdp\r\n");
	if (st < 0)
		return st;
	if (st != 200) {
		vpipe_error(c->node, "%s: DESCRIBE answered %d %.*s",
			    c->masked_url, st, (int)c->reply.reason.n,
			    c->reply.reason.p);
		return -1;
	}
	if (rtsp_msg_header_copy(&c->reply, "Content-Base", c->content_base,
				 sizeof(c->content_base)) < 0 &&
	    rtsp_msg_header_copy(&c->reply, "Content-Location", c->content_base,
				 sizeof(c->content_base)) < 0)
		snprintf(c->content_base, sizeof(c->content_base), "%s",
			 c->url.request);
	char err[160];
	if (sdp_parse_h264((const char *)c->reply.body, c->reply.body_len,
			   &c->sdp, err, sizeof(err)) < 0) {
		vpipe_error(c->node, "%s: %s", c->masked_url, err);
		return -1;
	}
	/* The depacketizer follows the codec the server offers. */
	c->depay.hevc = c->sdp.hevc;
	if (h264_depay_set_sprop(&c->depay, c->sdp.params, c->sdp.params_len) <
	    0)
		return -1;
	if (sdp_resolve_control(c->content_base, c->sdp.control, c->media_url,
				sizeof(c->media_url)) < 0 ||
	    sdp_resolve_control(c->content_base, c->sdp.session_control,
				c->play_url, sizeof(c->play_url)) < 0) {
		vpipe_error(c->node, "%s: control URL too long", c->masked_url);
		return -1;
	}
	return 0;
}

static int setup(struct rtsp_client *c)
{
	char transport[128];
	if (c->cfg->transport == RTSP_UDP) {
		if (open_udp_pair(c) < 0)
			return -1;
		int p = local_port(c->rtp_fd);
		snprintf(transport, sizeof(transport),
			 "Transport: RTP/AVP;unicast;client_port=%d-%d\r\n", p,
			 p + 1);
	} else {
		snprintf(transport, sizeof(transport),
			 "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n");
	}
	int st = request(c, "SETUP", c->media_url, transport);
	if (st < 0)
		return st;
	if (st != 200) {
		vpipe_error(c->node, "%s: SETUP %s answered %d %.*s",
			    c->masked_url, c->media_url, st,
			    (int)c->reply.reason.n, c->reply.reason.p);
		return -1;
	}
	char v[512];
	if (rtsp_msg_header_copy(&c->reply, "Session", v, sizeof(v)) < 0 ||
	    rtsp_parse_session(v, c->session, sizeof(c->session),
			       &c->session_timeout) < 0) {
		vpipe_error(c->node, "%s: SETUP reply without a usable Session",
			    c->masked_url);
		return -1;
	}
	struct rtsp_transport_reply t;
	v[0] = 0;
	rtsp_msg_header_copy(&c->reply, "Transport", v, sizeof(v));
	rtsp_parse_transport(v, &t);
	if (c->cfg->transport == RTSP_TCP) {
		c->rtp_channel = t.interleaved[0] >= 0 ? t.interleaved[0] : 0;
		c->rtcp_channel = t.interleaved[0] >= 0 ? t.interleaved[1] : 1;
	} else {
		if (t.server_port[0] < 0 && strstr(v, "TCP")) {
			vpipe_error(c->node,
				    "%s: server refused UDP (Transport: %s)",
				    c->masked_url, v);
			return -1;
		}
		c->server_rtcp_port = t.server_port[1];
	}
	return 0;
}

static int add_to_epoll(int ep, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	return fd < 0 ? 0 : epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int rtsp_conn_open(struct rtsp_client *c)
{
	c->rx_len = 0;
	c->rx_consumed = 0;
	c->session[0] = 0;
	c->session_lost = false;
	c->auth_failed = false;
	c->auth = (struct rtsp_auth){0};
	c->rtp_channel = c->rtcp_channel = -1;
	c->server_rtcp_port = -1;
	c->have_sr = false;
	int r = tcp_connect(c);
	if (r < 0)
		return r;
	int st = request(c, "OPTIONS", c->url.request, NULL);
	if (st < 0)
		return st;
	char pub[512] = "";
	rtsp_msg_header_copy(&c->reply, "Public", pub, sizeof(pub));
	c->use_get_parameter = rtsp_public_has(pub, "GET_PARAMETER");
	if ((r = describe(c)) < 0 || (r = setup(c)) < 0)
		return r;
	st = request(c, "PLAY", c->play_url, "Range: npt=0.000-\r\n");
	if (st < 0)
		return st;
	if (st != 200) {
		vpipe_error(c->node, "%s: PLAY answered %d %.*s", c->masked_url,
			    st, (int)c->reply.reason.n, c->reply.reason.p);
		return -1;
	}
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->ep < 0 || add_to_epoll(c->ep, c->fd) < 0 ||
	    add_to_epoll(c->ep, c->rtp_fd) < 0 ||
	    add_to_epoll(c->ep, c->rtcp_fd) < 0) {
		vpipe_error(c->node, "epoll: %s", strerror(errno));
		return -1;
	}
	c->playing = true;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void rtsp_conn_close(struct rtsp_client *c, bool teardown)
{
	if (teardown && c->fd >= 0 && c->session[0]) {
		/* Best effort, never waited for: the server frees the session
		 * now instead of at its timeout. */
		char req[2048], authz[1024] = "";
		if (c->auth.scheme != RTSP_AUTH_NONE && c->user) {
			char v[900], cnonce[17] = "";
			make_cnonce(cnonce, sizeof(cnonce));
			if (rtsp_auth_header(&c->auth, c->user,
					     c->pass ? c->pass : "", "TEARDOWN",
					     c->play_url, cnonce, v,
					     sizeof(v)) == 0)
				snprintf(authz, sizeof(authz),
					 "Authorization: %s\r\n", v);
		}
		int n = snprintf(req, sizeof(req),
				 "TEARDOWN %s RTSP/1.0\r\nCSeq: %d\r\n"
				 "User-Agent: " USER_AGENT "\r\n%s"
				 "Session: %s\r\n\r\n",
				 c->play_url, ++c->cseq, authz, c->session);
		if (n > 0 && (size_t)n < sizeof(req)) {
			ssize_t w = send(c->fd, req, (size_t)n,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)w;
		}
		memset(req, 0, sizeof(req));
		memset(authz, 0, sizeof(authz));
	}
	close_fd(&c->ep);
	close_fd(&c->fd);
	close_fd(&c->rtp_fd);
	close_fd(&c->rtcp_fd);
	c->playing = false;
	c->session[0] = 0;
	c->rx_len = 0;
	free(c->reply_buf);
	c->reply_buf = NULL;
	c->got_reply = false;
}

static void send_rtcp_rr(struct rtsp_client *c)
{
	uint8_t rr[72];
	size_t n = rtcp_build_rr(rr + 4, sizeof(rr) - 4, c->our_ssrc, "vpipe");
	if (!n)
		return;
	if (c->cfg->transport == RTSP_TCP) {
		if (c->rtcp_channel < 0)
			return;
		rr[0] = '$';
		rr[1] = (uint8_t)c->rtcp_channel;
		rr[2] = (uint8_t)(n >> 8);
		rr[3] = (uint8_t)n;
		ssize_t w = send(c->fd, rr, n + 4, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)w;
	} else if (c->server_rtcp_port > 0 && c->rtcp_fd >= 0) {
		struct sockaddr_storage a = c->server_addr;
		struct sockaddr *sa = (struct sockaddr *)&a;
		uint16_t port = htons((uint16_t)c->server_rtcp_port);
		if (sa->sa_family == AF_INET6)
			((struct sockaddr_in6 *)&a)->sin6_port = port;
		else
			((struct sockaddr_in *)&a)->sin_port = port;
		ssize_t w = sendto(c->rtcp_fd, rr + 4, n, MSG_DONTWAIT, sa,
				   c->server_addr_len);
		(void)w;
	}
}

int rtsp_conn_keepalive(struct rtsp_client *c)
{
	int64_t deadline = vpipe_now() + c->cfg->timeout;
	vpipe_node_count(c->node, "keepalives_total", 1);
	send_rtcp_rr(c);
	/* The reply is read by the pump like any stray reply. */
	int r =
	    send_request(c, c->use_get_parameter ? "GET_PARAMETER" : "OPTIONS",
			 c->use_get_parameter ? c->play_url : c->url.request,
			 NULL, deadline);
	return r < 0 ? r : 0;
}

static void drain_udp(struct rtsp_client *c, int fd, bool rtp)
{
	uint8_t buf[65536];
	/* Bounded so that keep-alives and stop are seen under a flood. */
	for (int i = 0; i < 512; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return;
		if (rtp)
			rtsp_on_rtp(c, buf, (size_t)n);
		else
			rtsp_on_rtcp(c, buf, (size_t)n);
	}
}

int rtsp_conn_pump(struct rtsp_client *c, int64_t deadline)
{
	int r = vpipe_node_wait_fd(c->node, c->ep, POLLIN, remaining(deadline));
	if (r < 0)
		return STOPPING;
	if (r == 0)
		return 0;
	for (int i = 0; i < 64; i++) {
		int n = read_some(c);
		if (n < 0)
			return -1;
		if (handle_items(c) < 0)
			return -1;
		if (n == 0)
			break;
	}
	if (c->rtp_fd >= 0)
		drain_udp(c, c->rtp_fd, true);
	if (c->rtcp_fd >= 0)
		drain_udp(c, c->rtcp_fd, false);
	return c->session_lost ? -1 : 0;
}
