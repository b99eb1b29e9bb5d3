/* vpipe kvs-local: command line, listener, connections, request reading,
 * Signature V4 checks and dispatch. One thread per connection: this is a
 * development tool, not a module, and a PutMedia connection lives long. */
#include "kvs_local.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int stop_pipe[2] = {-1, -1};

void kl_log(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld kvs-local: %s\n", tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, line);
}

/* ------------------------------------------------------------------ I/O */

int kl_conn_fill(struct kl_conn *c, int timeout_ms)
{
	if (c->len >= sizeof c->buf)
		return -1;
	if (!c->ssl || !SSL_pending(c->ssl)) {
		struct pollfd p[2] = {{c->fd, POLLIN, 0},
				      {stop_pipe[0], POLLIN, 0}};
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
	struct pollfd p = {stop_pipe[0], POLLIN, 0};
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

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	}
	return "Error";
}

static void request_id(char out[37])
{
	snprintf(out, 37, "%08x-%04x-%04x-%04x-%08x%04x", (unsigned)rand(),
		 (unsigned)rand() & 0xffff, (unsigned)rand() & 0xffff,
		 (unsigned)rand() & 0xffff, (unsigned)rand(),
		 (unsigned)rand() & 0xffff);
}

int kl_send_json(struct kl_conn *c, int status, const char *json)
{
	char rid[37];
	request_id(rid);
	return kl_conn_printf(c,
			      "HTTP/1.1 %d %s\r\nContent-Type: "
			      "application/json\r\nx-amzn-RequestId: %s\r\n"
			      "Content-Length: %zu\r\n\r\n%s",
			      status, status_text(status), rid, strlen(json),
			      json);
}

int kl_send_error(struct kl_conn *c, int status, const char *type,
		  const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT, body = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&msg, fmt, ap);
	va_end(ap);
	sb_puts(&body, "{\"Message\":");
	json_put_string(&body, msg.s ? msg.s : "");
	sb_puts(&body, "}");
	char rid[37];
	request_id(rid);
	int rc = kl_conn_printf(
	    c,
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "x-amzn-RequestId: %s\r\nx-amzn-ErrorType: %s:\r\n"
	    "Content-Length: %zu\r\n\r\n%s",
	    status, status_text(status), rid, type, body.len,
	    body.s ? body.s : "");
	kl_log("%s -> %d %s: %s", c->peer, status, type, msg.s ? msg.s : "");
	sb_free(&msg);
	sb_free(&body);
	return rc;
}

int kl_start_chunked(struct kl_conn *c, const char *content_type)
{
	char rid[37];
	request_id(rid);
	if (kl_conn_flush(c)) /* streamed responses are written directly */
		return -1;
	return kl_conn_printf(c,
			      "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
			      "x-amzn-RequestId: %s\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n",
			      content_type, rid);
}

int kl_send_chunk(struct kl_conn *c, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	char head[32];
	int k = snprintf(head, sizeof head, "%zx\r\n", n);
	if (kl_conn_write(c, head, (size_t)k) || kl_conn_write(c, p, n) ||
	    kl_conn_write(c, "\r\n", 2))
		return -1;
	return 0;
}

int kl_end_chunks(struct kl_conn *c)
{
	return kl_conn_write(c, "0\r\n\r\n", 5);
}

/* ------------------------------------------------------- shared helpers */

const char *kl_json_str(const struct kl_request *r, const char *key)
{
	return json_string(json_get(r->json, key));
}

/* What a call takes from its stream-level limit: fragment credits for
 * ListFragments (MaxResults) and GetMediaForFragmentList (fragments), one
 * call for the others. */
static double request_cost(const struct kl_request *r)
{
	if (!strcmp(r->op, "listFragments")) {
		int64_t max = KL_MAX_FRAGMENT_LIST;
		json_int64(json_get(r->json, "MaxResults"), &max);
		return max > 0 ? (double)max : 1;
	}
	if (!strcmp(r->op, "getMediaForFragmentList")) {
		const struct json_value *l = json_get(r->json, "Fragments");
		return l && l->type == JSON_ARRAY && l->n ? (double)l->n : 1;
	}
	return 1;
}

struct kl_stream *kl_request_stream(struct kl_server *srv, struct kl_conn *c,
				    struct kl_request *r, int *rc)
{
	const char *name = kl_json_str(r, "StreamName");
	const char *arn = kl_json_str(r, "StreamARN");
	if (!name && !arn) {
		*rc = kl_send_error(c, 400, "InvalidArgumentException",
				    "StreamName or StreamARN is required");
		return NULL;
	}
	struct kl_stream *st = kl_store_find(&srv->store, name, arn);
	if (!st) {
		*rc = kl_send_error(c, 404, "ResourceNotFoundException",
				    "The requested stream is not found or not "
				    "active: %s",
				    name ? name : arn);
		return NULL;
	}
	char why[300];
	if (kl_limit_stream(srv, st, kl_api_index(r->op), request_cost(r), why,
			    sizeof why)) {
		*rc = kl_send_error(c, 400, "ClientLimitExceededException",
				    "%s", why);
		return NULL;
	}
	return st;
}

void kl_put_timestamp(struct strbuf *b, int64_t ms)
{
	sb_printf(b, "%lld.%03lld", (long long)(ms / 1000),
		  (long long)(ms % 1000));
}

int kl_parse_timestamp(const struct json_value *v, int64_t *ms)
{
	if (v && v->type == JSON_NUMBER) {
		if (!(v->number > -KL_MAX_EPOCH_SECONDS &&
		      v->number < KL_MAX_EPOCH_SECONDS))
			return -1; /* NaN or out of int64_t milliseconds */
		*ms = (int64_t)(v->number * 1000.0 + 0.5);
		return 0;
	}
	const char *s = json_string(v);
	if (!s)
		return -1;
	struct tm tm = {0};
	int msec = 0;
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	if (*end == '.') {
		int scale = 100;
		for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
			msec += (*end - '0') * scale;
	}
	*ms = (int64_t)timegm(&tm) * 1000 + msec;
	return 0;
}

/* --------------------------------------------------------- signatures */

static const char *payload_hash_for(struct kl_request *r, char hash[65],
				    bool streaming)
{
	const char *h = http_header_get(&r->head, "x-amz-content-sha256");
	if (h)
		return h;
	if (streaming)
		return SIGV4_UNSIGNED_PAYLOAD;
	sigv4_sha256_hex(r->body ? r->body : "", r->body_len, hash);
	return hash;
}

/* 0 if the request may proceed; otherwise the 403 was sent. */
static int check_signature(struct kl_server *srv, struct kl_conn *c,
			   struct kl_request *r, bool streaming)
{
	if (!srv->cfg.key.access_key)
		return 0;
	const char *authz = http_header_get(&r->head, "authorization");
	if (!authz) {
		kl_send_error(c, 403, "MissingAuthenticationTokenException",
			      "Missing Authentication Token");
		return -1;
	}
	struct sigv4_header hs[HTTP_MAX_HEADERS];
	for (size_t i = 0; i < r->head.n_headers; i++) {
		hs[i].name = r->head.headers[i].name;
		hs[i].value = r->head.headers[i].value;
	}
	char hash[65];
	struct sigv4_request sr = {
	    .method = r->head.method,
	    .path = r->head.path,
	    .query = r->head.query,
	    .headers = hs,
	    .n_headers = r->head.n_headers,
	    .payload_hash = payload_hash_for(r, hash, streaming),
	};
	struct sigv4_verify_config vc = {
	    .keys = &srv->cfg.key,
	    .n_keys = 1,
	    .region = srv->cfg.region,
	    .service = "kinesisvideo",
	    .now = time(NULL),
	    .max_skew_seconds = srv->cfg.max_skew,
	};
	struct sigv4_verify_result res;
	enum sigv4_verdict v = sigv4_verify(
	    &sr, authz, http_header_get(&r->head, "x-amz-date"), &vc, &res);
	if (v == SIGV4_MISMATCH && streaming &&
	    !http_header_get(&r->head, "x-amz-content-sha256")) {
		/* a streaming body signed as empty */
		sigv4_verify_result_free(&res);
		sr.payload_hash = SIGV4_EMPTY_SHA256;
		v = sigv4_verify(&sr, authz,
				 http_header_get(&r->head, "x-amz-date"), &vc,
				 &res);
	}
	if (v == SIGV4_OK) {
		sigv4_verify_result_free(&res);
		return 0;
	}
	kl_log("%s %s %s: signature refused (%s): %s", c->peer, r->head.method,
	       r->head.path, sigv4_verdict_name(v), res.reason);
	if (v == SIGV4_MISMATCH && res.canonical_request)
		kl_log("expected canonical request:\n%s\nstring to sign:\n%s",
		       res.canonical_request, res.string_to_sign);
	const char *type = "InvalidSignatureException";
	if (v == SIGV4_UNKNOWN_KEY || v == SIGV4_BAD_TOKEN)
		type = "UnrecognizedClientException";
	else if (v == SIGV4_MALFORMED)
		type = "IncompleteSignatureException";
	kl_send_error(c, 403, type, "%s", res.reason);
	sigv4_verify_result_free(&res);
	return -1;
}

/* ------------------------------------------------------------ requests */

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
		if (check_signature(srv, c, &r, true)) {
			rc = -1;
			goto out;
		}
		rc = kl_put_media(srv, c, &r);
		goto out;
	}
	if (read_body(c, &r) || check_signature(srv, c, &r, false)) {
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

static void *conn_main(void *arg)
{
	struct kl_conn *c = arg;
	struct kl_server *srv = c->srv;
	kl_serve(c);
	atomic_fetch_sub(&srv->n_conns, 1);
	return NULL;
}

/* ------------------------------------------------------------ listener */

static int listen_on(const char *addr, char *host_out, size_t hn, int *port)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || strlen(colon + 1) == 0) {
		kl_log("--listen %s: want HOST:PORT", addr);
		return -1;
	}
	snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = 0;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE},
			*res;
	int e = getaddrinfo(host, colon + 1, &hints, &res);
	if (e) {
		kl_log("--listen %s: %s", addr, gai_strerror(e));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) ||
	    listen(fd, 64)) {
		kl_log("--listen %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET
			  ? ((struct sockaddr_in *)&ss)->sin_port
			  : ((struct sockaddr_in6 *)&ss)->sin6_port);
	snprintf(host_out, hn, "%s", host);
	return fd;
}

static void on_signal(int sig)
{
	(void)sig;
	if (stop_pipe[1] >= 0) {
		ssize_t rc = write(stop_pipe[1], "x", 1);
		(void)rc;
	}
}

static SSL_CTX *tls_context(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		kl_log("--tls-cert %s: cannot load the certificate", cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		kl_log("--tls-key %s: cannot load the key or it does not match "
		       "the certificate",
		       key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vpipe kvs-local [options]\n"
	    "  --listen HOST:PORT     address (default 127.0.0.1:4567; port "
	    "0 = any free)\n"
	    "  --data DIR             storage (default ./kvs-local-data)\n"
	    "  --tls-cert F --tls-key F   serve HTTPS\n"
	    "  --access-key K --secret-key S [--session-token T]\n"
	    "                         check Signature V4 (default: env "
	    "AWS_ACCESS_KEY_ID...; none = unchecked)\n"
	    "  --region R             region in ARNs and signatures "
	    "(default us-west-2)\n"
	    "  --max-skew SECONDS     allowed request clock skew (300)\n"
	    "  --idle-interval MS     IDLE ack while no PutMedia data "
	    "(3000)\n"
	    "  --max-fragment-size BYTES / --max-fragment-duration MS\n"
	    "                         lower the service limits (tests)\n"
	    "fault injection (off by default):\n"
	    "  --refuse-for MS        refuse connections for MS after start\n"
	    "  --fail-next N          answer HTTP 500 to the next N "
	    "requests\n"
	    "  --drop-after BYTES     cut each PutMedia after BYTES of body\n"
	    "  --ack-delay MS         delay every ACK\n"
	    "  --stall-acks-after N --stall-for MS\n"
	    "                         once: after N ACKs a PutMedia goes "
	    "silent for MS, then closes\n"
	    "  --error-fragment N     ERROR ack (5000) for the Nth fragment\n"
	    "  --throttle TPS         ClientLimitExceededException over TPS\n"
	    "  --repeat-headers       GetMedia: stream header before every "
	    "fragment\n"
	    "  --no-rate-limits       no per-API TPS and fragment-credit "
	    "limits\n"
	    "  --write-timeout MS     drop a peer that reads nothing for MS "
	    "(60000)\n"
	    "  -v, --verbose          log every request\n"
	    "storage (docs/kvs-local.md):\n"
	    "  --idle-timeout MS      end a PutMedia whose body brings no byte "
	    "for MS (30000)\n"
	    "  --max-disk SIZE        bytes of fragments kept, oldest deleted "
	    "first (K, M, G\n"
	    "                         suffixes; default: what is stored plus "
	    "half the free space)\n"
	    "  --live-window SECONDS  how long streams with retention 0 keep "
	    "fragments (300)\n");
}

static int parse_args(int argc, char **argv, struct kl_config *cfg)
{
	enum {
		O_LISTEN = 256,
		O_DATA,
		O_CERT,
		O_KEY,
		O_AK,
		O_SK,
		O_TOKEN,
		O_REGION,
		O_SKEW,
		O_IDLE,
		O_MAXSIZE,
		O_MAXDUR,
		O_REFUSE,
		O_FAIL,
		O_DROP,
		O_DELAY,
		O_ERRFRAG,
		O_THROTTLE,
		O_REPEAT,
		O_NOLIMITS,
		O_STALL,
		O_STALL_ACKS,
		O_STALL_FOR,
		O_IDLE_TIMEOUT,
		O_MAX_DISK,
		O_LIVE_WINDOW,
	};
	static const struct option opts[] = {
	    {"listen", 1, 0, O_LISTEN},
	    {"data", 1, 0, O_DATA},
	    {"tls-cert", 1, 0, O_CERT},
	    {"tls-key", 1, 0, O_KEY},
	    {"access-key", 1, 0, O_AK},
	    {"secret-key", 1, 0, O_SK},
	    {"session-token", 1, 0, O_TOKEN},
	    {"region", 1, 0, O_REGION},
	    {"max-skew", 1, 0, O_SKEW},
	    {"idle-interval", 1, 0, O_IDLE},
	    {"max-fragment-size", 1, 0, O_MAXSIZE},
	    {"max-fragment-duration", 1, 0, O_MAXDUR},
	    {"refuse-for", 1, 0, O_REFUSE},
	    {"fail-next", 1, 0, O_FAIL},
	    {"drop-after", 1, 0, O_DROP},
	    {"ack-delay", 1, 0, O_DELAY},
	    {"error-fragment", 1, 0, O_ERRFRAG},
	    {"throttle", 1, 0, O_THROTTLE},
	    {"repeat-headers", 0, 0, O_REPEAT},
	    {"no-rate-limits", 0, 0, O_NOLIMITS},
	    {"write-timeout", 1, 0, O_STALL},
	    {"stall-acks-after", 1, 0, O_STALL_ACKS},
	    {"stall-for", 1, 0, O_STALL_FOR},
	    {"idle-timeout", 1, 0, O_IDLE_TIMEOUT},
	    {"max-disk", 1, 0, O_MAX_DISK},
	    {"live-window", 1, 0, O_LIVE_WINDOW},
	    {"verbose", 0, 0, 'v'},
	    {"help", 0, 0, 'h'},
	    {0, 0, 0, 0},
	};
	optind = 1;
	int o;
	while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		char *end = NULL;
		long long n = optarg ? strtoll(optarg, &end, 10) : 0;
		bool num_ok = optarg && end && *end == 0 && n >= 0;
		switch (o) {
		case O_LISTEN:
			cfg->listen = optarg;
			continue;
		case O_DATA:
			cfg->data_dir = optarg;
			continue;
		case O_CERT:
			cfg->tls_cert = optarg;
			continue;
		case O_KEY:
			cfg->tls_key = optarg;
			continue;
		case O_AK:
			cfg->key.access_key = optarg;
			continue;
		case O_SK:
			cfg->key.secret_key = optarg;
			continue;
		case O_TOKEN:
			cfg->key.session_token = optarg;
			continue;
		case O_REGION:
			cfg->region = optarg;
			continue;
		case 'v':
			cfg->verbose = true;
			continue;
		case O_REPEAT:
			cfg->repeat_headers = true;
			continue;
		case O_NOLIMITS:
			cfg->no_rate_limits = true;
			continue;
		case O_MAX_DISK:
			if (kl_parse_size(optarg, &cfg->max_disk)) {
				kl_log("--max-disk: want bytes with an optional "
				       "K, M or G, got '%s'",
				       optarg);
				return -1;
			}
			continue;
		case 'h':
			usage(stdout);
			exit(0);
		case '?':
			usage(stderr);
			return -1;
		}
		if (!num_ok) {
			kl_log("%s: want a non-negative number, got '%s'",
			       argv[optind - 1], optarg);
			return -1;
		}
		switch (o) {
		case O_SKEW:
			cfg->max_skew = (int)n;
			break;
		case O_IDLE:
			cfg->idle_ms = (int)n;
			break;
		case O_MAXSIZE:
			cfg->max_fragment_size = n;
			break;
		case O_MAXDUR:
			cfg->max_fragment_ms = n;
			break;
		case O_REFUSE:
			cfg->refuse_ms = (int)n;
			break;
		case O_FAIL:
			atomic_store(&cfg->fail_next, (int)n);
			break;
		case O_DROP:
			cfg->drop_after = n;
			break;
		case O_DELAY:
			cfg->ack_delay_ms = (int)n;
			break;
		case O_ERRFRAG:
			cfg->error_fragment = (uint64_t)n;
			break;
		case O_THROTTLE:
			cfg->throttle_tps = (int)n;
			break;
		case O_STALL:
			cfg->write_stall_ms = (int)n;
			break;
		case O_STALL_ACKS:
			cfg->stall_acks_after = n;
			break;
		case O_STALL_FOR:
			cfg->stall_ms = (int)n;
			break;
		case O_IDLE_TIMEOUT:
			cfg->body_idle_timeout_ms = (int)n;
			break;
		case O_LIVE_WINDOW:
			cfg->live_window_ms = n * 1000;
			break;
		}
	}
	if (optind < argc) {
		kl_log("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!cfg->key.access_key && getenv("KVS_LOCAL_ACCESS_KEY")) {
		cfg->key.access_key = getenv("KVS_LOCAL_ACCESS_KEY");
		cfg->key.secret_key = getenv("KVS_LOCAL_SECRET_KEY");
	}
	if (!!cfg->key.access_key != !!cfg->key.secret_key) {
		kl_log("--access-key and --secret-key go together");
		return -1;
	}
	if (!!cfg->tls_cert != !!cfg->tls_key) {
		kl_log("--tls-cert and --tls-key go together");
		return -1;
	}
	return 0;
}

static void accept_loop(struct kl_server *srv, int lfd)
{
	int64_t refuse_until = srv->started_ms + srv->cfg.refuse_ms;
	for (;;) {
		struct pollfd p[2] = {{lfd, POLLIN, 0},
				      {stop_pipe[0], POLLIN, 0}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd =
		    accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (kl_now_ms() < refuse_until) {
			/* RST rather than FIN: a refused connection */
			struct linger lg = {1, 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			close(fd);
			kl_log("connection refused (--refuse-for)");
			continue;
		}
		struct kl_conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->srv = srv;
		/* writes come back every second (kl_conn_write) */
		struct timeval send_timeout = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
			   sizeof send_timeout);
		char host[INET6_ADDRSTRLEN] = "?";
		int port = 0;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof host);
			port = ntohs(in->sin6_port);
		}
		snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
		if (srv->tls)
			c->ssl = SSL_new(srv->tls);
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_t t;
		atomic_fetch_add(&srv->n_conns, 1);
		if (pthread_create(&t, &attr, conn_main, c)) {
			atomic_fetch_sub(&srv->n_conns, 1);
			if (c->ssl)
				SSL_free(c->ssl);
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&attr);
	}
}

void kl_config_defaults(struct kl_config *cfg)
{
	cfg->listen = "127.0.0.1:4567";
	cfg->data_dir = "kvs-local-data";
	cfg->region = "us-west-2";
	cfg->max_skew = 300;
	cfg->idle_ms = 3000;
	cfg->max_fragment_size = KL_MAX_FRAGMENT_SIZE;
	cfg->max_fragment_ms = KL_MAX_FRAGMENT_MS;
	cfg->write_stall_ms = KL_WRITE_STALL_MS;
	cfg->body_idle_timeout_ms = KL_BODY_IDLE_TIMEOUT_MS;
	cfg->live_window_ms = KL_LIVE_WINDOW_MS;
	cfg->max_disk = -1; /* decided at start from the free space */
}

int kvs_local_main(int argc, char **argv)
{
	static struct kl_server srv_storage;
	struct kl_server *srv = &srv_storage;
	memset(srv, 0, sizeof *srv);
	struct kl_config *cfg = &srv->cfg;
	kl_config_defaults(cfg);
	if (parse_args(argc, argv, cfg))
		return 2;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	if (pipe(stop_pipe))
		return 1;
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (cfg->tls_cert &&
	    !(srv->tls = tls_context(cfg->tls_cert, cfg->tls_key)))
		return 1;
	pthread_mutex_init(&srv->throttle_lock, NULL);
	if (kl_store_open(&srv->store, cfg->data_dir, cfg->region) ||
	    kl_store_limits(&srv->store, cfg->max_disk, cfg->live_window_ms))
		return 1;
	char host[256];
	int port;
	int lfd = listen_on(cfg->listen, host, sizeof host, &port);
	if (lfd < 0)
		return 1;
	bool v6 = strchr(host, ':') != NULL;
	snprintf(srv->endpoint, sizeof srv->endpoint, "%s://%s%s%s:%d",
		 srv->tls ? "https" : "http", v6 ? "[" : "", host,
		 v6 ? "]" : "", port);
	srv->started_ms = kl_now_ms();
	if (!cfg->key.access_key)
		kl_log("no --access-key: signatures are not checked");
	kl_log("%zu streams in %s", srv->store.n_streams, cfg->data_dir);
	printf("kvs-local listening on %s\n", srv->endpoint);
	fflush(stdout);
	accept_loop(srv, lfd);
	close(lfd);
	atomic_store(&srv->stopping, 1);
	/* connections see the stop pipe (reads, writes) or the broadcast
	 * (GetMedia waiting for a live fragment) and end */
	pthread_mutex_lock(&srv->store.lock);
	pthread_cond_broadcast(&srv->store.changed);
	pthread_mutex_unlock(&srv->store.lock);
	for (int i = 0; i < 70 && atomic_load(&srv->n_conns) > 0; i++)
		usleep(100 * 1000);
	if (atomic_load(&srv->n_conns) == 0) {
		kl_store_close(&srv->store);
		if (srv->tls)
			SSL_CTX_free(srv->tls);
	}
	kl_log("stopped");
	return 0;
}
