/* One connection's requests: read the head and (bounded) body, check the
 * signature, apply the account-level limits, and call the operation's
 * handler. Handlers never call back into this file. */
#include "kvs_local.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static bool throttled(struct kl_server *srv)
{
	if (srv->cfg.throttle_tps <= 0)
		return false;
	int64_t sec = kl_now_ms() / 1000;
	pthread_mutex_lock(&srv->throttle_lock);
	if (sec != srv->throttle_second) {
		srv->throttle_second = sec;
		srv->throttle_count = 0;
	}
	bool over = ++srv->throttle_count > srv->cfg.throttle_tps;
	pthread_mutex_unlock(&srv->throttle_lock);
	return over;
}

bool kl_head_ready(const struct kl_conn *c)
{
	struct http_head h;
	long n = http_parse_request((const char *)c->buf, c->len, &h, NULL);
	if (n > 0)
		http_head_free(&h);
	return n != 0 || c->len >= KL_MAX_HEAD;
}

/* Read the head: 1 ok, 0 clean close or idle before any byte, -1 error
 * (sent). Waits at most --idle-timeout for a first byte, then
 * --header-timeout for the rest: a client trickling bytes cannot hold the
 * connection. (The server's loop reads heads itself; this is for
 * kl_serve.) */
static int read_head(struct kl_conn *c, struct kl_request *r)
{
	const struct kl_config *cfg = &c->srv->cfg;
	int64_t deadline = kl_now_ms() + (c->len ? cfg->header_timeout_ms
						 : cfg->idle_timeout_ms);
	bool started = c->len > 0;
	for (;;) {
		const char *err = NULL;
		long n = http_parse_request((const char *)c->buf, c->len,
					    &r->head, &err);
		if (n > 0) {
			kl_conn_consume(c, (size_t)n);
			return 1;
		}
		if (n < 0) {
			c->close_after = true;
			kl_send_error(c, 400, "InvalidArgumentException",
				      "malformed HTTP request: %s", err);
			return -1;
		}
		if (c->len >= KL_MAX_HEAD) {
			c->close_after = true;
			kl_send_error(c, 431, "InvalidArgumentException",
				      "request head longer than %d bytes",
				      KL_MAX_HEAD);
			return -1;
		}
		if (!started && c->len) {
			started = true;
			deadline = kl_now_ms() + cfg->header_timeout_ms;
		}
		int64_t left = deadline - kl_now_ms();
		if (left <= 0) {
			if (!c->len)
				return 0; /* idle keep-alive */
			c->close_after = true;
			kl_send_error(c, 408, "RequestTimeoutException",
				      "request head not complete after %d ms "
				      "(--header-timeout)",
				      cfg->header_timeout_ms);
			return -1;
		}
		int rc = kl_conn_fill(c, left < 1000 ? (int)left : 1000);
		if (rc == -2)
			continue;
		if (rc <= 0)
			return c->len ? -1 : 0;
	}
}

/* The whole (bounded) body of a non-streaming request. */
static int read_body(struct kl_conn *c, struct kl_request *r)
{
	int64_t cl = http_content_length(&r->head);
	bool chunked = http_is_chunked(&r->head);
	if (cl == -2) {
		kl_send_error(c, 400, "InvalidArgumentException",
			      "invalid Content-Length");
		return -1;
	}
	if (cl > KL_MAX_JSON_BODY) {
		kl_send_error(c, 413, "InvalidArgumentException",
			      "body of %lld bytes is over %d", (long long)cl,
			      KL_MAX_JSON_BODY);
		return -1;
	}
	struct strbuf b = STRBUF_INIT;
	sb_puts(&b, "");
	struct http_chunked ch;
	http_chunked_init(&ch);
	int64_t want = chunked ? -1 : (cl < 0 ? 0 : cl);
	int timeout = c->srv->cfg.body_timeout_ms;
	int64_t deadline = kl_now_ms() + timeout;
	for (;;) {
		if (chunked) {
			size_t used, dl;
			const uint8_t *d;
			int rc = http_chunked_feed(&ch, c->buf, c->len, &used,
						   &d, &dl);
			if (rc == HTTP_CHUNK_DATA)
				sb_append(&b, d, dl);
			kl_conn_consume(c, used);
			if (rc == HTTP_CHUNK_ERROR) {
				kl_send_error(c, 400,
					      "InvalidArgumentException",
					      "bad chunked encoding at body "
					      "byte %llu",
					      (unsigned long long)ch.total);
				goto bad;
			}
			if (b.len > KL_MAX_JSON_BODY) {
				kl_send_error(
				    c, 413, "InvalidArgumentException",
				    "body over %d bytes", KL_MAX_JSON_BODY);
				goto bad;
			}
			if (rc == HTTP_CHUNK_DONE)
				break;
			if (rc == HTTP_CHUNK_DATA)
				continue;
		} else {
			size_t take = c->len;
			if ((int64_t)(b.len + take) > want)
				take = (size_t)(want - (int64_t)b.len);
			sb_append(&b, c->buf, take);
			kl_conn_consume(c, take);
			if ((int64_t)b.len >= want)
				break;
		}
		int64_t left = deadline - kl_now_ms();
		if (left <= 0) {
			c->close_after = true;
			kl_send_error(c, 408, "RequestTimeoutException",
				      "body not complete after %d ms "
				      "(--body-timeout): %zu bytes arrived",
				      timeout, b.len);
			goto bad;
		}
		int rc = kl_conn_fill(c, left < 1000 ? (int)left : 1000);
		if (rc == -2)
			continue;
		if (rc <= 0) {
			kl_send_error(c, 400, "InvalidArgumentException",
				      "body ended after %zu bytes", b.len);
			goto bad;
		}
	}
	if (b.failed)
		goto bad;
	r->body_len = b.len;
	r->body = sb_detach(&b);
	return 0;
bad:
	sb_free(&b);
	return -1;
}

static int parse_json_body(struct kl_conn *c, struct kl_request *r)
{
	size_t off = 0;
	const char *err = NULL;
	const char *body = r->body_len ? r->body : "{}";
	size_t len = r->body_len ? r->body_len : 2;
	r->json = json_parse(body, len, &off, &err);
	if (!r->json || r->json->type != JSON_OBJECT) {
		kl_send_error(c, 400, "SerializationException",
			      "request body is not a JSON object: %s at byte "
			      "%zu",
			      r->json ? "not an object" : err, off);
		return -1;
	}
	return 0;
}

static bool is_data_plane(const char *op)
{
	return !strcmp(op, "putMedia") || !strcmp(op, "getMedia") ||
	       !strcmp(op, "listFragments") ||
	       !strcmp(op, "getMediaForFragmentList") ||
	       !strcmp(op, "getClip") ||
	       !strcmp(op, "getHLSStreamingSessionURL");
}

/* Headers named name in the head. */
static size_t count_headers(const struct http_head *h, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < h->n_headers; i++)
		n += !strcasecmp(h->headers[i].name, name);
	return n;
}

/* Exactly one way to find the body's end, and a length this operation
 * takes: 0 = go; otherwise the error was sent (the body is unread, so the
 * connection closes). Both Transfer-Encoding and Content-Length is how
 * request smuggling starts: each side of a proxy may pick another. */
static int check_framing(struct kl_conn *c, struct kl_request *r,
			 bool put_media)
{
	const char *te = http_header_get(&r->head, "transfer-encoding");
	int64_t cl = http_content_length(&r->head);
	int64_t max = put_media ? KL_MAX_PUTMEDIA_BODY : KL_MAX_JSON_BODY;
	bool client_closes = c->close_after;
	c->close_after = true;
	if (te && (strcasecmp(te, "chunked") ||
		   count_headers(&r->head, "transfer-encoding") > 1))
		kl_send_error(c, 400, "InvalidArgumentException",
			      "Transfer-Encoding '%s': only one, chunked, is "
			      "taken",
			      te);
	else if (te && cl != -1)
		kl_send_error(c, 400, "InvalidArgumentException",
			      "both Transfer-Encoding: chunked and "
			      "Content-Length: where the body ends is "
			      "ambiguous; send one");
	else if (cl == -2)
		kl_send_error(c, 400, "InvalidArgumentException",
			      "invalid Content-Length '%s'",
			      http_header_get(&r->head, "content-length"));
	else if (cl > max)
		kl_send_error(c, 413, "InvalidArgumentException",
			      "Content-Length %lld is over the %lld bytes %s "
			      "takes",
			      (long long)cl, (long long)max, r->op);
	else {
		c->close_after = client_closes;
		return 0;
	}
	return -1;
}

/* Connection: close, or HTTP/1.0 without keep-alive. */
static bool client_closes(const struct http_head *h)
{
	const char *v = http_header_get(h, "connection");
	if (v && strcasestr(v, "close"))
		return true;
	return h->minor_version == 0 && !(v && strcasestr(v, "keep-alive"));
}

/* One request; returns 0 to keep the connection open. */
static int handle_request(struct kl_server *srv, struct kl_conn *c)
{
	struct kl_request r = {0};
	int rc = read_head(c, &r);
	if (rc <= 0)
		return -1;
	r.op = r.head.path + 1;
	if (srv->cfg.verbose) {
		struct strbuf t = STRBUF_INIT;
		kl_redact(&t, r.head.target);
		kl_log("%s %s %s", c->peer, r.head.method, t.s ? t.s : "");
		sb_free(&t);
	}
	bool put_media = !strcmp(r.op, "putMedia");
	c->close_after = client_closes(&r.head);
	if (atomic_load(&srv->cfg.fail_next) > 0 &&
	    atomic_fetch_sub(&srv->cfg.fail_next, 1) > 0) {
		kl_send_error(c, 500, "InternalFailure",
			      "injected failure (--fail-next)");
		rc = -1; /* the body was not read: close */
		goto out;
	}
	/* HLS session URLs: GET, credential in the query (no SigV4) */
	if (!strcmp(r.head.method, "GET") &&
	    !strncmp(r.head.path, "/hls/v1/", 8)) {
		if (http_content_length(&r.head) > 0 ||
		    http_header_get(&r.head, "transfer-encoding"))
			c->close_after = true; /* a body we do not read */
		c->defer = true;
		rc = kl_hls_get(srv, c, &r);
		goto out;
	}
	if (strcmp(r.head.method, "POST") != 0) {
		kl_send_error(c, 404, "UnknownOperationException",
			      "%s %s is not an operation", r.head.method,
			      r.head.path);
		rc = -1;
		goto out;
	}
	if (check_framing(c, &r, put_media)) {
		rc = -1;
		goto out;
	}
	c->defer = true; /* from here handlers may answer under the lock */
	if (put_media) {
		if (kl_check_signature(srv, c, &r, true) ||
		    kl_check_payload(srv, c, &r, true)) {
			rc = -1;
			goto out;
		}
		rc = kl_put_media(srv, c, &r);
		goto out;
	}
	if (read_body(c, &r) || kl_check_signature(srv, c, &r, false) ||
	    kl_check_payload(srv, c, &r, false)) {
		rc = -1;
		goto out;
	}
	if (parse_json_body(c, &r)) {
		rc = 0;
		goto out;
	}
	char why[300];
	if (kl_limit_account(srv, kl_api_index(r.op), why, sizeof why)) {
		rc = kl_send_error(c, 400, "ClientLimitExceededException", "%s",
				   why);
		goto out;
	}
	if (!is_data_plane(r.op) && throttled(srv)) {
		rc = kl_send_error(c, 400, "ClientLimitExceededException",
				   "over %d control-plane calls per second "
				   "(--throttle)",
				   srv->cfg.throttle_tps);
		goto out;
	}
	if (!strcmp(r.op, "getMedia"))
		rc = kl_get_media(srv, c, &r);
	else if (!strcmp(r.op, "listFragments"))
		rc = kl_list_fragments(srv, c, &r);
	else if (!strcmp(r.op, "getMediaForFragmentList"))
		rc = kl_get_media_for_fragment_list(srv, c, &r);
	else if (!strcmp(r.op, "getClip"))
		rc = kl_get_clip(srv, c, &r);
	else if (!strcmp(r.op, "getHLSStreamingSessionURL"))
		rc = kl_get_hls_session_url(srv, c, &r);
	else
		rc = kl_control(srv, c, &r);
out:
	if (kl_conn_flush(c) || c->close_after)
		rc = -1;
	json_free(r.json);
	free(r.body);
	http_head_free(&r.head);
	return rc;
}

void kl_serve(struct kl_conn *c)
{
	struct kl_server *srv = c->srv;
	if (c->ssl) {
		/* a handshake that stalls ends instead of pinning its
		 * thread; reads after it poll, with the stop pipe */
		struct timeval hs_timeout = {10, 0}, none = {0, 0};
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &hs_timeout,
			   sizeof hs_timeout);
		SSL_set_fd(c->ssl, c->fd);
		int hs = SSL_accept(c->ssl);
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
		if (hs <= 0) {
			unsigned long e = ERR_get_error();
			char msg[256];
			ERR_error_string_n(e, msg, sizeof msg);
			kl_log("%s: TLS handshake failed: %s", c->peer, msg);
			c->closed = true;
		}
	}
	while (!c->closed && !atomic_load(&srv->stopping))
		if (handle_request(srv, c))
			break;
	kl_conn_close(c);
}

bool kl_serve_pending(struct kl_conn *c)
{
	struct kl_server *srv = c->srv;
	for (;;) {
		if (handle_request(srv, c) || c->closed ||
		    atomic_load(&srv->stopping))
			return false;
		if (!kl_head_ready(c))
			return true;
	}
}
