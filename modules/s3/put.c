/* The s3 upload worker: takes objects from the queue in order, signs each
 * PUT with Signature V4 (common/sigv4), sends it with libcurl, retries
 * with the kernel's jittered backoff while the failure may pass, then
 * writes the notification event object when asked. */
#include "s3.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "sigv4.h"
#include "tls.h"

#define MAX_HEADERS   (S3_META_LINES + 8)
#define MAX_BODY_KEPT (64 * 1024)
#define CRED_MARGIN_S 300 /* refresh temporary credentials this early */

struct s3_resp {
	long status;
	struct strbuf body;
	char etag[130];
	CURLcode cc;
	char cerr[CURL_ERROR_SIZE];
};

static bool quitting(struct s3 *s)
{
	return atomic_load(&s->quit) || atomic_load(&s->fatal) ||
	       vpipe_node_stopping(s->node);
}

/* S3 refused the session token (ExpiredToken, InvalidToken). */
static bool token_refused(const char *code, const char *text)
{
	return !strcmp(code, "ExpiredToken") || !strcmp(code, "InvalidToken") ||
	       strcasestr(text, "security token") != NULL;
}

/* A session token from the INI or the environment is never renewed: its
 * refusal fails the node like a wrong secret, instead of being retried
 * forever. Sources that renew it (files, IoT) are retried. */
static bool token_fatal(struct s3 *s, const char *code, const char *text,
			const char *msg)
{
	if (!s->creds.session_token || !token_refused(code, text) ||
	    (s->prov.source != AWS_CREDS_SRC_ENV &&
	     s->prov.source != AWS_CREDS_SRC_PARAMS))
		return false;
	snprintf(s->fatal_msg, sizeof(s->fatal_msg),
		 "%s: the service refused the session token, and credentials "
		 "from the INI or the environment are never renewed: give "
		 "current temporary credentials, or use credential-path or "
		 "iot-certificate, which vpipe renews",
		 msg);
	vpipe_error(s->node, "%s", s->fatal_msg);
	atomic_store(&s->fatal, true);
	vpipe_node_wake(s->node);
	return true;
}

static int abort_fn(void *ctx)
{
	return quitting(ctx);
}

static int progress_cb(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return quitting(ctx);
}

static size_t body_cb(char *p, size_t size, size_t n, void *ctx)
{
	struct s3_resp *r = ctx;
	if (r->body.len < MAX_BODY_KEPT)
		sb_append(&r->body, p, size * n);
	return size * n;
}

static size_t header_cb(char *p, size_t size, size_t n, void *ctx)
{
	struct s3_resp *r = ctx;
	size_t len = size * n;
	if (len > 5 && !strncasecmp(p, "etag:", 5)) {
		const char *v = p + 5;
		size_t vl = len - 5;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' ||
			      v[vl - 1] == ' '))
			vl--;
		snprintf(r->etag, sizeof(r->etag), "%.*s", (int)vl, v);
	}
	return len;
}

/* Credentials: fetched when missing, close to expiry, when a file source
 * changed (checked at most once a second), or when S3 refused them. */
static int refresh_creds(struct s3 *s, bool force, char *err, size_t errlen)
{
	int64_t now = time(NULL);
	enum aws_creds_source src = s->prov.source;
	bool file = src == AWS_CREDS_SRC_FILE || src == AWS_CREDS_SRC_SHARED;
	bool expiring =
	    s->creds.expiry && now >= s->creds.expiry - CRED_MARGIN_S;
	if (s->creds_ok && !expiring && (!file || now == s->creds_checked) &&
	    !(force && (file || src == AWS_CREDS_SRC_IOT)))
		return 0;
	if (force && file)
		s->prov.mtime_ns = 0; /* read again even if unchanged */
	bool changed = false;
	char why[400];
	if (aws_creds_fetch(&s->prov, &s->creds, &changed, abort_fn, s, why,
			    sizeof(why))) {
		snprintf(err, errlen, "credentials (%.200s): %.300s",
			 s->prov.describe, why);
		return s->creds_ok &&
			       !(s->creds.expiry && s->creds.expiry <= now)
			   ? 0 /* keep using what still works */
			   : -1;
	}
	s->creds_checked = now;
	s->creds_ok = s->creds.access_key[0] != 0;
	if (changed && s->creds_ok)
		vpipe_debug(s->node, "credentials from %s (access key %s)",
			    s->prov.describe, s->creds.access_key);
	if (!s->creds_ok) {
		snprintf(err, errlen, "no credentials from %s",
			 s->prov.describe);
		return -1;
	}
	return 0;
}

static void split_header(char *line, struct sigv4_header *h)
{
	char *colon = strchr(line, ':');
	*colon = 0;
	h->name = line;
	h->value = colon + 2;
}

/* One PUT. Returns 0 when an answer (any status) came, -1 before that
 * (err says why: signing, transport). */
static int put_once(struct s3 *s, const char *key, const uint8_t *data,
		    size_t len, const char *ctype, const struct vpipe_tag *tags,
		    unsigned ntags, struct s3_resp *r, char *err, size_t errlen)
{
	const struct s3_config *c = s->cfg;
	struct strbuf url = STRBUF_INIT, path = STRBUF_INIT;
	s3_object_url(&s->target, c->bucket, key, &url, &path);
	char date[17], hash[65];
	sigv4_amz_date(time(NULL), date);
	if (c->sign_payload)
		sigv4_sha256_hex(data, len, hash);
	else
		snprintf(hash, sizeof(hash), "%s", SIGV4_UNSIGNED_PAYLOAD);

	char(*meta)[512] = s->meta_lines;
	unsigned skipped = 0;
	size_t nmeta = c->metadata
			   ? s3_metadata_headers(tags, ntags, meta,
						 S3_META_LINES, &skipped)
			   : 0;
	if (skipped)
		vpipe_warn(s->node,
			   "s3://%s/%s: %u tag(s) not stored as metadata "
			   "(S3 allows 2 KB of user metadata; names <= 128, "
			   "values <= 256 bytes)",
			   c->bucket, key, skipped);
	struct sigv4_header hs[MAX_HEADERS];
	size_t n = 0;
	hs[n++] = (struct sigv4_header){"host", s->target.host};
	hs[n++] = (struct sigv4_header){"content-type", ctype};
	hs[n++] = (struct sigv4_header){"x-amz-content-sha256", hash};
	hs[n++] = (struct sigv4_header){"x-amz-date", date};
	if (s->creds.session_token)
		hs[n++] = (struct sigv4_header){"x-amz-security-token",
						s->creds.session_token};
	for (size_t i = 0; i < nmeta; i++)
		split_header(meta[i], &hs[n++]);
	struct sigv4_request rq = {
	    .method = "PUT",
	    .path = path.s ? path.s : "/",
	    .query = "",
	    .headers = hs,
	    .n_headers = n,
	    .payload_hash = hash,
	    .s3_path = 1,
	};
	struct sigv4_scope sc = {date, s->region, "s3"};
	struct sigv4_key k = {s->creds.access_key, s->creds.secret_key,
			      s->creds.session_token};
	char *authz = sigv4_authorization(&rq, &sc, &k);
	struct curl_slist *list = NULL;
	struct strbuf line = STRBUF_INIT;
	for (size_t i = 0; authz && i < n; i++) {
		line.len = 0;
		sb_printf(&line, "%s: %s", hs[i].name, hs[i].value);
		if (line.s)
			list = curl_slist_append(list, line.s);
	}
	if (authz) {
		line.len = 0;
		sb_printf(&line, "Authorization: %s", authz);
		if (line.s)
			list = curl_slist_append(list, line.s);
		list = curl_slist_append(list, "Expect:");
	}
	sb_free(&line);
	free(authz);
	int rc = -1;
	if (!authz || url.failed || path.failed || !list) {
		snprintf(err, errlen,
			 "cannot sign the request (out of memory)");
		goto out;
	}

	CURL *h = s->curl;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url.s);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(c->connection_timeout / VPIPE_MS));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
			 (long)(c->request_timeout / VPIPE_MS));
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->cerr);
	tls_setup(h, c->tls_verify, c->ca_path);
	r->cerr[0] = 0;
	r->cc = curl_easy_perform(h);
	if (r->cc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", url.s,
			 r->cerr[0] ? r->cerr : curl_easy_strerror(r->cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	rc = 0;
out:
	curl_slist_free_all(list);
	sb_free(&url);
	sb_free(&path);
	return rc;
}

/* The kernel's backoff (retry-delay, retry-max-delay). False when the
 * worker must end. */
static bool back_off(struct s3 *s)
{
	int64_t wait = vpipe_backoff_next(&s->backoff);
	return vpipe_node_sleep_until(s->node, vpipe_now() + wait) == 0 &&
	       !quitting(s);
}

/* A failure: logged once while it repeats, at debug level afterwards. */
static void problem(struct s3 *s, const char *kind, const char *msg,
		    bool give_up)
{
	if (give_up) {
		vpipe_error(s->node, "%s; object dropped", msg);
		return;
	}
	if (strcmp(s->last_problem, kind) != 0) {
		vpipe_warn(s->node, "%s; retrying with backoff", msg);
		snprintf(s->last_problem, sizeof(s->last_problem), "%s", kind);
	} else {
		vpipe_debug(s->node, "%s; retrying", msg);
	}
}

/* PUT with retries until it is stored, cannot be, or the node stops.
 * True when stored; etag receives S3's ETag. */
static bool put_with_retries(struct s3 *s, const char *key, const uint8_t *data,
			     size_t len, const char *ctype,
			     const struct vpipe_tag *tags, unsigned ntags,
			     char etag[130])
{
	const char *bucket = s->cfg->bucket;
	bool force_creds = false;
	for (unsigned attempt = 0; !quitting(s); attempt++) {
		char err[1024], msg[2400];
		if (attempt)
			vpipe_node_count(s->node, "retries_total", 1);
		if (refresh_creds(s, force_creds, err, sizeof(err))) {
			problem(s, "credentials", err, false);
			if (!back_off(s))
				break;
			continue;
		}
		force_creds = false;
		struct s3_resp r = {0};
		if (put_once(s, key, data, len, ctype, tags, ntags, &r, err,
			     sizeof(err))) {
			sb_free(&r.body);
			if (quitting(s))
				break;
			snprintf(msg, sizeof(msg), "PUT s3://%s/%s: %s", bucket,
				 key, err);
			problem(s, "transport", msg, false);
			if (!back_off(s))
				break;
			continue;
		}
		char code[80], text[300];
		s3_error_fields(r.body.s ? r.body.s : "", r.body.len, code,
				sizeof(code), text, sizeof(text));
		enum s3_verdict v = s3_classify(r.status, code);
		if (v == S3_OK) {
			vpipe_backoff_reset(&s->backoff);
			snprintf(etag, 130, "%s", r.etag);
			sb_free(&r.body);
			if (s->last_problem[0])
				vpipe_info(s->node,
					   "uploads to s3://%s work "
					   "again",
					   bucket);
			s->last_problem[0] = 0;
			return true;
		}
		sb_free(&r.body);
		snprintf(msg, sizeof(msg),
			 "PUT s3://%s/%s: HTTP %ld %s%s%s (endpoint %s, access "
			 "key %s from %s)",
			 bucket, key, r.status, code[0] ? code : "(no code)",
			 text[0] ? ": " : "", text, s->target.host,
			 s->creds.access_key, s->prov.describe);
		char kind[160];
		snprintf(kind, sizeof(kind), "%ld %s", r.status, code);
		if (v == S3_RETRY_AUTH && token_fatal(s, code, text, msg))
			return false;
		if (v == S3_GIVE_UP) {
			problem(s, kind, msg, true);
			vpipe_node_count(s->node, "failed_objects_total", 1);
			return false;
		}
		force_creds = v == S3_RETRY_AUTH;
		problem(s, kind, msg, false);
		if (!back_off(s))
			break;
	}
	return false;
}

static void notify(struct s3 *s, const struct s3_item *it, const char *ctype,
		   const char *etag, const struct vpipe_tag *tags,
		   unsigned ntags)
{
	const struct s3_config *c = s->cfg;
	const char *stream = NULL, *fragment = NULL, *server = NULL;
	int64_t producer_ms = it->meta.wallclock / VPIPE_MS;
	for (unsigned i = 0; i < ntags; i++) {
		if (!strcmp(tags[i].name, S3_TAG_STREAM))
			stream = tags[i].value;
		else if (!strcmp(tags[i].name, S3_TAG_FRAGMENT))
			fragment = tags[i].value;
		else if (!strcmp(tags[i].name, S3_TAG_SERVER_TS))
			server = tags[i].value;
		else if (!strcmp(tags[i].name, S3_TAG_PRODUCER_TS))
			producer_ms = atoll(tags[i].value);
	}
	if (c->stream_name[0])
		stream = c->stream_name;
	char arn[400] = "";
	if (c->stream_arn[0])
		snprintf(arn, sizeof(arn), "%s", c->stream_arn);
	else if (c->account_id[0])
		snprintf(arn, sizeof(arn),
			 "arn:aws:kinesisvideo:%s:%s:stream/%s", s->region,
			 c->account_id, stream ? stream : "");
	struct s3_event_info e = {
	    .stream_arn = arn[0] ? arn : NULL,
	    .stream = stream,
	    .fragment = fragment,
	    .producer_ms = producer_ms,
	    .server_ms = server ? atoll(server) : vpipe_wallclock() / VPIPE_MS,
	    .bucket = c->bucket,
	    .key = it->key,
	    .content_type = ctype,
	    .etag = etag[0] ? etag : NULL,
	    .size = it->len,
	    .tags = tags,
	    .num_tags = ntags,
	};
	struct strbuf body = STRBUF_INIT;
	char key[S3_MAX_KEY + 64];
	snprintf(key, sizeof(key), "%s%s.json", c->events_prefix, it->key);
	char etag2[130];
	if (s3_event_json(&body, &e) == 0 &&
	    put_with_retries(s, key, (const uint8_t *)body.s, body.len,
			     "application/json", NULL, 0, etag2))
		vpipe_node_count(s->node, "events_total", 1);
	sb_free(&body);
}

static void upload(struct s3 *s, const struct s3_item *it)
{
	const struct s3_config *c = s->cfg;
	const uint8_t *data = it->buf;
	const char *ctype =
	    c->content_type[0] ? c->content_type : s3_content_type(it->media);
	const struct vpipe_tag *tags = it->meta.tags;
	unsigned ntags = it->meta.num_tags;
	char etag[130] = "";
	if (!put_with_retries(s, it->key, data, it->len, ctype, tags, ntags,
			      etag))
		return;
	vpipe_node_count(s->node, "uploaded_objects_total", 1);
	vpipe_node_count(s->node, "uploaded_bytes_total", (int64_t)it->len);
	vpipe_debug(s->node, "stored s3://%s/%s (%zu bytes, %s)", c->bucket,
		    it->key, it->len, ctype);
	if (c->notify && it->media != VPIPE_MEDIA_EVENT)
		notify(s, it, ctype, etag, tags, ntags);
}

void s3_worker(void *arg)
{
	struct s3 *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!s->q_len && !quitting(s))
			pthread_cond_wait(&s->cond, &s->lock);
		if (quitting(s)) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		struct s3_item it = s->q[s->q_head];
		s->q_head = (s->q_head + 1) % (size_t)s->cfg->max_pending;
		s->q_len--;
		s->in_flight = true;
		vpipe_node_gauge(s->node, "queued_objects", (int64_t)s->q_len);
		pthread_mutex_unlock(&s->lock);

		upload(s, &it);
		s3_item_free(&it);

		pthread_mutex_lock(&s->lock);
		s->in_flight = false;
		pthread_mutex_unlock(&s->lock);
		uint64_t one = 1;
		ssize_t w = write(s->done_fd, &one, sizeof(one));
		(void)w;
	}
}
