/* One connection's requests: read the head and (bounded) body, check the
 * signature, apply the account-level limits, and call the operation's
 * handler. Handlers never call back into this file. */
#include "kvs_local.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* Read the head: 1 ok, 0 clean close before any byte, -1 error (sent). */
static int read_head(struct kl_conn *c, struct kl_request *r)
{
	int waited = 0;
	for (;;) {
		const char *err = NULL;
		long n = http_parse_request((const char *)c->buf, c->len,
					    &r->head, &err);
		if (n > 0) {
			kl_conn_consume(c, (size_t)n);
			return 1;
		}
		if (n < 0) {
			kl_send_error(c, 400, "InvalidArgumentException",
				      "malformed HTTP request: %s", err);
			return -1;
		}
		if (c->len >= KL_MAX_HEAD) {
			kl_send_error(c, 431, "InvalidArgumentException",
				      "request head longer than %d bytes",
				      KL_MAX_HEAD);
			return -1;
		}
		int rc = kl_conn_fill(c, 1000);
		if (rc == -2) {
			if (++waited >= 30)
				return c->len ? -1 : 0; /* idle keep-alive */
			continue;
		}
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
	int waited = 0;
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
		int rc = kl_conn_fill(c, 1000);
		if (rc == -2 && ++waited < 10)
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
	       !strcmp(op, "getMediaForFragmentList");
}

/* One request; returns 0 to keep the connection open. */
static int handle_request(struct kl_server *srv, struct kl_conn *c)
{
	struct kl_request r = {0};
	int rc = read_head(c, &r);
	if (rc <= 0)
		return -1;
	r.op = r.head.path + 1;
	if (srv->cfg.verbose)
		kl_log("%s %s %s", c->peer, r.head.method, r.head.target);
	bool put_media = !strcmp(r.op, "putMedia");
	if (atomic_load(&srv->cfg.fail_next) > 0 &&
	    atomic_fetch_sub(&srv->cfg.fail_next, 1) > 0) {
		kl_send_error(c, 500, "InternalFailure",
			      "injected failure (--fail-next)");
		rc = -1; /* the body was not read: close */
		goto out;
	}
	if (strcmp(r.head.method, "POST") != 0) {
		kl_send_error(c, 404, "UnknownOperationException",
			      "%s %s is not an operation", r.head.method,
			      r.head.path);
		rc = -1;
		goto out;
	}
	c->defer = true; /* from here handlers may answer under the lock */
	if (put_media) {
		if (kl_check_signature(srv, c, &r, true)) {
			rc = -1;
			goto out;
		}
		rc = kl_put_media(srv, c, &r);
		goto out;
	}
	if (read_body(c, &r) || kl_check_signature(srv, c, &r, false)) {
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
	else
		rc = kl_control(srv, c, &r);
out:
	if (kl_conn_flush(c))
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
	if (c->ssl) {
		if (!c->closed)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	sb_free(&c->out);
	free(c);
}
