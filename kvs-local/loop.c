/* The connection loop (one thread, epoll): accepts connections within the
 * limits, does TLS handshakes, reads request heads from every connection
 * at once, closes those that stay silent (--idle-timeout) or whose head
 * (or handshake) does not arrive in --header-timeout, and hands a
 * connection whose head is complete to a worker (pool.c). A worker hands
 * it back after its request; only this thread closes connections, so the
 * counts below need no lock. An idle or trickling client costs a buffer,
 * never a thread. */
#include "kvs_local.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct client {
	char addr[64];
	int conns;
};

static struct {
	struct kl_server *srv;
	int ep, listen_fd, wake_fd;
	struct kl_conn *waiting; /* connections waiting for a head */
	int conns;
	struct client *clients;
	size_t n_clients, cap_clients;
	int64_t refuse_until, next_sweep, last_refusal_log;
	unsigned refused_unlogged;
} L;

/* epoll tags for the fds that are not connections */
static char tag_listen, tag_stop, tag_wake;

static struct client *client_of(const char *addr, bool add)
{
	for (size_t i = 0; i < L.n_clients; i++)
		if (!strcmp(L.clients[i].addr, addr))
			return &L.clients[i];
	if (!add)
		return NULL;
	if (L.n_clients == L.cap_clients) {
		size_t cap = L.cap_clients ? 2 * L.cap_clients : 16;
		struct client *n = realloc(L.clients, cap * sizeof *n);
		if (!n)
			return NULL;
		L.clients = n;
		L.cap_clients = cap;
	}
	struct client *cl = &L.clients[L.n_clients++];
	snprintf(cl->addr, sizeof cl->addr, "%s", addr);
	cl->conns = 0;
	return cl;
}

static void forget_conn(const char *addr)
{
	L.conns--;
	struct client *cl = client_of(addr, false);
	if (cl && --cl->conns == 0)
		*cl = L.clients[--L.n_clients];
}

/* Write a short reply at once, without waiting: a refusal must not let one
 * client hold the loop. What does not fit the socket buffer is lost. */
static void reply_now(struct kl_conn *c, int status, const char *type,
		      const char *msg)
{
	struct strbuf b = STRBUF_INIT;
	kl_format_error(&b, status, type, msg, true);
	if (!b.failed) {
		if (c->ssl)
			SSL_write(c->ssl, b.s, (int)b.len);
		else
			send(c->fd, b.s, b.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	sb_free(&b);
}

/* Refusals can come by the thousand: one log line a second at most. */
static void log_refusal(const char *fmt, const char *addr, int limit)
{
	int64_t now = kl_now_ms();
	if (now - L.last_refusal_log < 1000) {
		L.refused_unlogged++;
		return;
	}
	char more[64] = "";
	if (L.refused_unlogged)
		snprintf(more, sizeof more, " (and %u more refused before)",
			 L.refused_unlogged);
	char line[256];
	snprintf(line, sizeof line, fmt, addr, limit);
	kl_log("%s%s", line, more);
	L.last_refusal_log = now;
	L.refused_unlogged = 0;
}

static void unlink_waiting(struct kl_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (L.waiting == c)
		L.waiting = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void drop(struct kl_conn *c)
{
	unlink_waiting(c);
	forget_conn(c->client);
	kl_conn_close(c); /* closing the fd also leaves the epoll set */
}

static void set_blocking(int fd, bool blocking)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, blocking ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
}

static void watch(struct kl_conn *c, unsigned events)
{
	if (c->epoll_events == events)
		return;
	struct epoll_event ev = {.events = events, .data.ptr = c};
	epoll_ctl(L.ep, c->epoll_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
		  &ev);
	c->epoll_events = events;
}

/* Wait for the next head on c (new, or back from a worker). */
static void wait_for_head(struct kl_conn *c)
{
	const struct kl_config *cfg = &L.srv->cfg;
	c->head_started = c->len > 0;
	c->deadline_ms = kl_now_ms() + (c->head_started || !c->handshaken
					    ? cfg->header_timeout_ms
					    : cfg->idle_timeout_ms);
	c->prev = NULL;
	c->next = L.waiting;
	if (L.waiting)
		L.waiting->prev = c;
	L.waiting = c;
	set_blocking(c->fd, false);
	watch(c, EPOLLIN);
}

/* The head is complete: to a worker, or refused when all are busy. */
static void hand_over(struct kl_conn *c)
{
	unlink_waiting(c);
	epoll_ctl(L.ep, EPOLL_CTL_DEL, c->fd, NULL);
	c->epoll_events = 0;
	set_blocking(c->fd, true); /* before a worker may touch it */
	if (kl_pool_submit(c))
		return;
	char msg[160];
	snprintf(msg, sizeof msg,
		 "all %d request threads are busy (--max-requests); try again",
		 L.srv->cfg.max_requests);
	reply_now(c, 503, "ServiceUnavailableException", msg);
	log_refusal("%s: refused a request: all %d request threads busy",
		    c->peer, L.srv->cfg.max_requests);
	forget_conn(c->client);
	kl_conn_close(c);
}

/* TLS first: 1 done, 0 in progress, -1 failed. */
static int handshake(struct kl_conn *c)
{
	ERR_clear_error();
	int rc = SSL_accept(c->ssl);
	if (rc == 1) {
		c->handshaken = true;
		return 1;
	}
	int e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		watch(c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
		return 0;
	}
	char msg[256] = "connection closed";
	unsigned long err = ERR_get_error();
	if (err)
		ERR_error_string_n(err, msg, sizeof msg);
	kl_log("%s: TLS handshake failed: %s", c->peer, msg);
	c->closed = true;
	return -1;
}

/* Read what is there without waiting: >0 bytes, 0 closed, -1 nothing yet. */
static int read_now(struct kl_conn *c)
{
	size_t room = sizeof c->buf - c->len;
	if (c->ssl) {
		int k = SSL_read(c->ssl, c->buf + c->len, (int)room);
		if (k > 0) {
			c->len += (size_t)k;
			return k;
		}
		int e = SSL_get_error(c->ssl, k);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return -1;
		c->closed = e != SSL_ERROR_ZERO_RETURN;
		return 0;
	}
	ssize_t k = recv(c->fd, c->buf + c->len, room, 0);
	if (k > 0) {
		c->len += (size_t)k;
		return (int)k;
	}
	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	return 0;
}

static void on_readable(struct kl_conn *c)
{
	if (c->ssl && !c->handshaken) {
		int hs = handshake(c);
		if (hs < 0) {
			drop(c);
			return;
		}
		if (hs == 0)
			return;
		watch(c, EPOLLIN);
		c->deadline_ms = kl_now_ms() + L.srv->cfg.idle_timeout_ms;
	}
	for (;;) {
		if (kl_head_ready(c)) {
			hand_over(c);
			return;
		}
		int rc = read_now(c);
		if (rc < 0)
			return;
		if (rc == 0) {
			drop(c);
			return;
		}
		if (!c->head_started) {
			c->head_started = true;
			c->deadline_ms =
			    kl_now_ms() + L.srv->cfg.header_timeout_ms;
		}
	}
}

static void peer_name(const struct sockaddr_storage *ss, struct kl_conn *c)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in = (const void *)ss;
		inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof host);
		port = ntohs(in->sin6_port);
	}
	snprintf(c->client, sizeof c->client, "%s", host);
	snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
}

/* Over a connection limit: a 503 the client can read (plain HTTP; a TLS
 * client just sees the close), then close. */
static bool over_limit(struct kl_conn *c)
{
	const struct kl_config *cfg = &L.srv->cfg;
	struct client *cl = client_of(c->client, true);
	const char *what = NULL;
	int limit = 0;
	if (L.conns >= cfg->max_conns) {
		what = "--max-connections";
		limit = cfg->max_conns;
	} else if (!cl || cl->conns >= cfg->max_conns_per_client) {
		what = "--max-connections-per-client";
		limit = cfg->max_conns_per_client;
	}
	if (!what) {
		L.conns++;
		cl->conns++;
		return false;
	}
	char msg[200];
	snprintf(msg, sizeof msg,
		 "too many connections (%s %d): close one and try again", what,
		 limit);
	if (!c->ssl)
		reply_now(c, 503, "ConnectionLimitExceededException", msg);
	log_refusal(!strcmp(what, "--max-connections")
			? "%s: connection refused: %d open in all "
			  "(--max-connections)"
			: "%s: connection refused: %d open from this address "
			  "(--max-connections-per-client)",
		    c->client, limit);
	if (cl && cl->conns == 0)
		*cl = L.clients[--L.n_clients];
	return true;
}

/* A zeroed connection but for its buffer: the buffer's pages are touched
 * only as bytes arrive, so an idle connection costs a page or two of
 * memory, not 64 KiB. */
static struct kl_conn *conn_new(void)
{
	struct kl_conn *c = malloc(sizeof *c);
	if (!c)
		return NULL;
	size_t buf_start = offsetof(struct kl_conn, buf);
	size_t buf_end = buf_start + sizeof c->buf;
	memset(c, 0, buf_start);
	memset((char *)c + buf_end, 0, sizeof *c - buf_end);
	return c;
}

static void accept_new(void)
{
	struct kl_server *srv = L.srv;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(L.listen_fd, (struct sockaddr *)&ss, &sl,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return; /* EAGAIN, or out of fds: next round */
		if (kl_now_ms() < L.refuse_until) {
			/* RST rather than FIN: a refused connection */
			struct linger lg = {1, 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			close(fd);
			kl_log("connection refused (--refuse-for)");
			continue;
		}
		struct kl_conn *c = conn_new();
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->srv = srv;
		peer_name(&ss, c);
		if (srv->tls) {
			c->ssl = SSL_new(srv->tls);
			if (c->ssl)
				SSL_set_fd(c->ssl, fd);
		}
		if (over_limit(c) || (srv->tls && !c->ssl)) {
			c->closed = true;
			kl_conn_close(c);
			continue;
		}
		/* a worker's writes come back every second (conn.c) */
		struct timeval send_timeout = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
			   sizeof send_timeout);
		c->handshaken = !c->ssl;
		wait_for_head(c);
		on_readable(c);
	}
}

static void take_back(void)
{
	char drain[256];
	while (read(L.wake_fd, drain, sizeof drain) > 0)
		;
	struct kl_conn *c;
	while ((c = kl_pool_take_back())) {
		if (c->close_after || c->closed) {
			forget_conn(c->client);
			kl_conn_close(c);
			continue;
		}
		wait_for_head(c);
		on_readable(c); /* a pipelined head, or TLS-buffered bytes */
	}
}

/* Close the connections past their deadline: silent ones quietly, a head
 * or handshake that is late with a 408. */
static void sweep(int64_t now)
{
	const struct kl_config *cfg = &L.srv->cfg;
	struct kl_conn *next;
	for (struct kl_conn *c = L.waiting; c; c = next) {
		next = c->next;
		if (now < c->deadline_ms)
			continue;
		if (!c->handshaken) {
			kl_log("%s: TLS handshake not done after %d ms "
			       "(--header-timeout), closed",
			       c->peer, cfg->header_timeout_ms);
			c->closed = true;
		} else if (c->head_started) {
			char msg[160];
			snprintf(msg, sizeof msg,
				 "request head not complete after %d ms "
				 "(--header-timeout)",
				 cfg->header_timeout_ms);
			reply_now(c, 408, "RequestTimeoutException", msg);
			kl_log("%s -> 408: %s (%zu bytes arrived)", c->peer,
			       msg, c->len);
		} else if (cfg->verbose) {
			kl_log("%s: idle for %d ms (--idle-timeout), closed",
			       c->peer, cfg->idle_timeout_ms);
		}
		drop(c);
	}
}

static void add_fd(int fd, void *tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
	epoll_ctl(L.ep, EPOLL_CTL_ADD, fd, &ev);
}

int kl_loop_run(struct kl_server *srv, int listen_fd, int stop_fd, int wake_fd)
{
	L.srv = srv;
	L.listen_fd = listen_fd;
	L.wake_fd = wake_fd;
	L.refuse_until = srv->started_ms + srv->cfg.refuse_ms;
	L.ep = epoll_create1(EPOLL_CLOEXEC);
	if (L.ep < 0)
		return -1;
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	fcntl(wake_fd, F_SETFL, fcntl(wake_fd, F_GETFL) | O_NONBLOCK);
	add_fd(listen_fd, &tag_listen);
	add_fd(stop_fd, &tag_stop);
	add_fd(wake_fd, &tag_wake);
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(L.ep, evs, 64, 100);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &tag_stop)
				return 0;
			if (tag == &tag_listen)
				accept_new();
			else if (tag == &tag_wake)
				take_back();
			else
				on_readable(tag);
		}
		int64_t now = kl_now_ms();
		if (now >= L.next_sweep) {
			sweep(now);
			L.next_sweep = now + 100;
		}
	}
	return -1;
}

void kl_loop_close_all(void)
{
	take_back();
	while (L.waiting)
		drop(L.waiting);
	close(L.ep);
	free(L.clients);
	L.clients = NULL;
	L.n_clients = L.cap_clients = 0;
}
