/* Connection I/O: reading into the connection's buffer, writing (directly
 * or deferred while a handler holds the store lock), and giving up on a
 * peer that reads nothing. Every wait also watches the stop pipe. */
#include "kvs_local.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The read end of the server's stop pipe; -1 (none) until kl_conn_set_stop_fd.
 */
static int stop_fd = -1;

void kl_conn_set_stop_fd(int fd)
{
	stop_fd = fd;
}

/* A body spooled and verified before the handler runs (payload.c) is read
 * back first; the socket after it. */
static int fill_from_replay(struct kl_conn *c)
{
	size_t n = fread(c->buf + c->len, 1, sizeof c->buf - c->len, c->replay);
	if (n > 0) {
		c->len += n;
		return (int)n;
	}
	fclose(c->replay);
	c->replay = NULL;
	return 0;
}

int kl_conn_fill(struct kl_conn *c, int timeout_ms)
{
	if (c->len >= sizeof c->buf)
		return -1;
	int replayed = c->replay ? fill_from_replay(c) : 0;
	if (replayed > 0)
		return replayed;
	if (!c->ssl || !SSL_pending(c->ssl)) {
		struct pollfd p[2] = {{c->fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
		int rc = poll(p, 2, timeout_ms);
		if (rc < 0)
			return errno == EINTR ? -2 : -1;
		if (rc == 0)
			return -2;
		if (p[1].revents)
			return -1;
	}
	ssize_t n;
	if (c->ssl) {
		int k = SSL_read(c->ssl, c->buf + c->len,
				 (int)(sizeof c->buf - c->len));
		if (k <= 0) {
			int e = SSL_get_error(c->ssl, k);
			if (e == SSL_ERROR_WANT_READ ||
			    e == SSL_ERROR_WANT_WRITE)
				return -2;
			return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
		}
		n = k;
	} else {
		n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
		if (n < 0)
			return errno == EINTR || errno == EAGAIN ? -2 : -1;
	}
	c->len += (size_t)n;
	return (int)n;
}

void kl_conn_consume(struct kl_conn *c, size_t n)
{
	if (n >= c->len) {
		c->len = 0;
		return;
	}
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

static bool stop_requested(void)
{
	struct pollfd p = {stop_fd, POLLIN, 0};
	return poll(&p, 1, 0) > 0;
}

/* Sockets have a 1 s send timeout (SO_SNDTIMEO, set at accept): a write
 * that cannot go on comes back here to check the stop request and how
 * long the peer has taken nothing. A reader that stops reading is dropped
 * after cfg.write_stall_ms rather than holding its thread (and its slot
 * in the connection limits) for ever; memory stays bounded either way,
 * since nothing is queued beyond the one buffer being written. */
static int conn_send(struct kl_conn *c, const void *p, size_t n);

int kl_conn_write(struct kl_conn *c, const void *p, size_t n)
{
	if (!c->defer)
		return conn_send(c, p, n);
	sb_append(&c->out, p, n);
	return c->out.failed ? -1 : 0;
}

int kl_conn_flush(struct kl_conn *c)
{
	c->defer = false;
	int rc = c->out.failed ? -1 : 0;
	if (rc == 0 && c->out.len)
		rc = conn_send(c, c->out.s, c->out.len);
	sb_free(&c->out);
	return rc;
}

static int conn_send(struct kl_conn *c, const void *p, size_t n)
{
	const uint8_t *b = p;
	int64_t stalled_since = 0;
	while (n > 0 && !c->closed) {
		ssize_t k;
		bool again = false;
		if (c->ssl) {
			int w = SSL_write(c->ssl, b,
					  (int)(n > 1 << 30 ? 1 << 30 : n));
			k = w > 0 ? w : -1;
			again = w <= 0 && SSL_get_error(c->ssl, w) ==
					      SSL_ERROR_WANT_WRITE;
		} else {
			k = send(c->fd, b, n, MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			again =
			    k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
		}
		if (again) {
			int64_t now = kl_now_ms();
			if (!stalled_since)
				stalled_since = now;
			int limit = c->srv->cfg.write_stall_ms;
			if (stop_requested() ||
			    (limit > 0 && now - stalled_since >= limit)) {
				if (!stop_requested())
					kl_log("%s: took nothing for %d ms, "
					       "dropped",
					       c->peer, limit);
				c->closed = true;
				return -1;
			}
			continue;
		}
		if (k <= 0) {
			c->closed = true;
			return -1;
		}
		stalled_since = 0;
		b += k;
		n -= (size_t)k;
	}
	return c->closed ? -1 : 0;
}

int kl_conn_printf(struct kl_conn *c, const char *fmt, ...)
{
	struct strbuf b = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&b, fmt, ap);
	va_end(ap);
	int rc = b.failed ? -1 : kl_conn_write(c, b.s, b.len);
	sb_free(&b);
	return rc;
}

void kl_conn_close(struct kl_conn *c)
{
	if (c->ssl) {
		if (!c->closed)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->replay)
		fclose(c->replay);
	close(c->fd);
	sb_free(&c->out);
	free(c);
}
