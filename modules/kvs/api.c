/* The kvs sink's control plane: signed REST-JSON calls (DescribeStream,
 * CreateStream, GetDataEndpoint), TLS settings shared with PutMedia, and
 * credential refresh. Runs in start() once and then in the upload worker. */
#include "kvs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "tls.h"

#define MAX_BODY (64 * 1024)
/* Refresh temporary credentials this long before they expire (at most). */
#define CRED_MARGIN_S 300
/* The data endpoint is looked up again at least this often (part1 §4.1). */
#define ENDPOINT_MAX_AGE (45 * 60 * VPIPE_S)
/* How long a created stream may stay CREATING before we retry later. */
#define CREATING_WAIT (5 * VPIPE_S)

void kvs_resp_reset(struct kvs_resp *r)
{
	sb_free(&r->body);
	memset(r, 0, sizeof(*r));
}

bool kvs_pause(struct kvs *k, int64_t ns)
{
	return !atomic_load(&k->quit) &&
	       vpipe_node_sleep_until(k->node, vpipe_now() + ns) == 0;
}

int kvs_abort_requested(void *p)
{
	struct kvs *k = p;
	return atomic_load(&k->quit);
}

void kvs_tls_setup(struct kvs *k, CURL *h)
{
	tls_setup(h, k->cfg->tls_verify, k->cfg->ca_path);
}

/* "scheme://host[:port][/prefix]" -> host[:port] and prefix. */
static int split_url(const char *url, char *host, size_t hl, const char **rest)
{
	const char *p = strstr(url, "://");
	if (!p)
		return -1;
	p += 3;
	size_t n = strcspn(p, "/?#");
	if (n == 0 || n >= hl)
		return -1;
	memcpy(host, p, n);
	host[n] = 0;
	*rest = p + n;
	return 0;
}

struct curl_slist *kvs_sign(struct kvs *k, const char *url,
			    const struct sigv4_header *extra, size_t n_extra,
			    const char *payload_hash, char *err, size_t errlen)
{
	char host[256], date[17];
	const char *path;
	if (split_url(url, host, sizeof(host), &path)) {
		snprintf(err, errlen, "cannot parse URL %s", url);
		return NULL;
	}
	char pathbuf[512];
	snprintf(pathbuf, sizeof(pathbuf), "%.*s", (int)strcspn(path, "?#"),
		 path);
	sigv4_amz_date(time(NULL), date);
	struct sigv4_header hs[16];
	size_t n = 0;
	hs[n++] = (struct sigv4_header){"host", host};
	hs[n++] = (struct sigv4_header){"x-amz-date", date};
	if (k->creds.session_token)
		hs[n++] = (struct sigv4_header){"x-amz-security-token",
						k->creds.session_token};
	for (size_t i = 0; i < n_extra && n < 16; i++)
		hs[n++] = extra[i];
	struct sigv4_request rq = {
	    .method = "POST",
	    .path = pathbuf[0] ? pathbuf : "/",
	    .query = "",
	    .headers = hs,
	    .n_headers = n,
	    .payload_hash = payload_hash,
	};
	struct sigv4_scope sc = {date, k->region, "kinesisvideo"};
	struct sigv4_key key = {k->creds.access_key, k->creds.secret_key,
				k->creds.session_token};
	char *authz = sigv4_authorization(&rq, &sc, &key);
	if (!authz) {
		snprintf(err, errlen, "cannot sign the request to %s", url);
		return NULL;
	}
	struct curl_slist *l = NULL;
	struct strbuf b = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		b.len = 0;
		sb_printf(&b, "%s: %s", hs[i].name, hs[i].value);
		if (b.s)
			l = curl_slist_append(l, b.s);
	}
	b.len = 0;
	sb_printf(&b, "Authorization: %s", authz);
	if (b.s)
		l = curl_slist_append(l, b.s);
	if (b.s)
		explicit_bzero(b.s, b.cap);
	sb_free(&b);
	free(authz);
	l = curl_slist_append(l, "Expect:");
	return l;
}

static size_t body_cb(char *data, size_t size, size_t n, void *ctx)
{
	struct kvs_resp *r = ctx;
	if (r->body.len + size * n > MAX_BODY)
		return size * n; /* keep the start, drop the rest */
	sb_append(&r->body, data, size * n);
	return size * n;
}

/* Header lines: the error type and the server's clock. */
/* An HTTP Date header value (IMF-fixdate) in seconds since 1970, 0 if
 * unreadable. Not curl_getdate(): 32-bit Debian 12 builds libcurl with a
 * 32-bit time_t while vpipe uses _TIME_BITS=64, so its return value would
 * be read as garbage on armhf. */
static time_t http_date(const char *v)
{
	struct tm tm = {0};
	while (*v == ' ')
		v++;
	if (!strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm))
		return 0;
	return timegm(&tm);
}

static size_t header_cb(char *data, size_t size, size_t n, void *ctx)
{
	struct kvs_resp *r = ctx;
	size_t len = size * n;
	char line[256];
	snprintf(line, sizeof(line), "%.*s", (int)(len < 255 ? len : 255),
		 data);
	line[strcspn(line, "\r\n")] = 0;
	if (!strncasecmp(line, "HTTP/", 5)) {
		r->error_type[0] = 0;
		r->skew = 0;
	} else if (!strncasecmp(line, "x-amzn-ErrorType:", 17)) {
		const char *v = line + 17;
		while (*v == ' ')
			v++;
		snprintf(r->error_type, sizeof(r->error_type), "%.*s",
			 (int)strcspn(v, ":"), v);
	} else if (!strncasecmp(line, "Date:", 5)) {
		time_t t = http_date(line + 5);
		if (t > 0)
			r->skew = (long)(t - time(NULL));
	}
	return len;
}

void kvs_curl_common(struct kvs *k, CURL *h, struct kvs_resp *r)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->cerr);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(k->cfg->connection_timeout / VPIPE_MS));
	curl_easy_setopt(h, CURLOPT_USERAGENT, k->cfg->user_agent);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	kvs_tls_setup(k, h);
}

static int progress_cb(void *p, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return kvs_abort_requested(p);
}

/* POST a JSON body to the control plane. 0 on HTTP 200. */
static int api_post(struct kvs *k, const char *op, const char *json,
		    struct kvs_resp *r, char *err, size_t errlen)
{
	kvs_resp_reset(r);
	struct strbuf url = STRBUF_INIT;
	sb_printf(&url, "%s/%s", k->cp_base, op);
	char hash[65];
	sigv4_sha256_hex(json, strlen(json), hash);
	struct sigv4_header extra[] = {{"content-type", "application/json"}};
	struct curl_slist *hl =
	    kvs_sign(k, url.s ? url.s : "", extra, 1, hash, err, errlen);
	if (!hl) {
		sb_free(&url);
		r->cc = CURLE_URL_MALFORMAT;
		return -1;
	}
	CURL *h = curl_easy_init();
	if (!h) {
		curl_slist_free_all(hl);
		sb_free(&url);
		r->cc = CURLE_FAILED_INIT;
		return -1;
	}
	kvs_curl_common(k, h, r);
	curl_easy_setopt(h, CURLOPT_URL, url.s);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(
	    h, CURLOPT_TIMEOUT_MS,
	    (long)((k->cfg->connection_timeout + k->cfg->completion_timeout) /
		   VPIPE_MS));
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, k);
	r->cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hl);
	sb_free(&url);
	return r->cc == CURLE_OK && r->status == 200 ? 0 : -1;
}

enum kvs_action kvs_explain(struct kvs *k, const struct kvs_resp *r, char *msg,
			    size_t msglen, bool *creds_expired)
{
	struct json_value *v = NULL;
	const char *message = NULL,
		   *type = r->error_type[0] ? r->error_type : NULL;
	if (r->body.s && r->body.len) {
		v = json_parse(r->body.s, r->body.len, NULL, NULL);
		message = json_string(json_get(v, "message"));
		if (!message)
			message = json_string(json_get(v, "Message"));
		if (!type) {
			const char *t = json_string(json_get(v, "__type"));
			type = t;
		}
	}
	struct kvs_http_error e = {
	    .status = r->status,
	    .error_type = type,
	    .message = message,
	    .curl_code = r->cc,
	    .curl_error = r->cerr,
	    .server_skew = r->skew,
	    .access_key = k->creds.access_key,
	    .region = k->region,
	    .credential_source = k->prov.describe,
	    .static_credentials = k->prov.source == AWS_CREDS_SRC_ENV ||
				  k->prov.source == AWS_CREDS_SRC_PARAMS,
	    .session_token = k->creds.session_token != NULL,
	};
	enum kvs_action a = kvs_explain_http_error(&e, msg, msglen);
	if (creds_expired)
		*creds_expired = kvs_http_error_creds_expired(&e);
	json_free(v);
	return a;
}

int kvs_refresh_credentials(struct kvs *k, bool force, enum kvs_action *action,
			    char *msg, size_t msglen)
{
	int64_t now = time(NULL);
	enum aws_creds_source src = k->prov.source;
	bool file = src == AWS_CREDS_SRC_FILE || src == AWS_CREDS_SRC_SHARED;
	bool expiring =
	    k->creds.expiry && now >= k->creds.expiry - CRED_MARGIN_S;
	if (src == AWS_CREDS_SRC_IOT && k->creds_ok && k->creds.expiry) {
		/* Half the remaining life, at most CRED_MARGIN_S early. */
		int64_t life = k->creds.expiry - k->creds_checked;
		int64_t margin =
		    life / 2 < CRED_MARGIN_S ? life / 2 : CRED_MARGIN_S;
		expiring = now >= k->creds.expiry - margin;
	}
	if (k->creds_ok && !force && !expiring && !file)
		return 0;
	/* While the current credentials are valid, a refresh that failed is
	 * tried again after a quarter of their remaining life (1-10 s), not
	 * every second: an IoT fetch blocks the upload worker for up to its
	 * timeouts, and each failure is logged. */
	if (k->creds_ok && !force && now < k->creds_retry_at &&
	    (!k->creds.expiry || now < k->creds.expiry))
		return 0;
	if (file && k->creds_ok && !force && now == k->creds_checked)
		return 0; /* stat at most once a second */
	bool changed = false;
	struct aws_creds fresh = {0};
	if (aws_creds_copy(&fresh, &k->creds)) {
		*action = KVS_RESTART;
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	if ((force || !k->creds_ok) && file)
		k->prov.mtime_ns = 0; /* read the file even if unchanged */
	char err[512];
	int frc = aws_creds_fetch(&k->prov, &fresh, &changed,
				  kvs_abort_requested, k, err, sizeof(err));
	if (frc) {
		aws_creds_clear(&fresh);
		int64_t left = k->creds.expiry ? k->creds.expiry - now : 40;
		int64_t wait = left / 4 < 1 ? 1 : left / 4 > 10 ? 10 : left / 4;
		k->creds_retry_at = now + wait;
		/* Keep using what we have while it is valid; without any, a
		 * provider that refused us is a configuration error, one that
		 * could not be reached is retried. */
		if (k->creds_ok)
			*action = KVS_RESTART;
		else if (src == AWS_CREDS_SRC_IOT)
			*action = frc == -2 ? KVS_FATAL : KVS_RESTART;
		else
			*action = KVS_FATAL;
		snprintf(msg, msglen, "credentials (%s): %s", k->prov.describe,
			 err);
		return -1;
	}
	k->creds_checked = now;
	k->creds_retry_at = 0;
	if (changed) {
		if (fresh.expiry && fresh.expiry <= now + 38)
			vpipe_warn(
			    k->node,
			    "credentials from %s expire in %lld s "
			    "(STATUS_INVALID_TOKEN_EXPIRATION "
			    "0x52000049 below 38 s): rewrite them sooner",
			    k->prov.describe, (long long)(fresh.expiry - now));
		bool differ =
		    strcmp(fresh.access_key, k->creds.access_key) ||
		    strcmp(fresh.secret_key, k->creds.secret_key) ||
		    (fresh.session_token == NULL) !=
			(k->creds.session_token == NULL) ||
		    (fresh.session_token &&
		     strcmp(fresh.session_token, k->creds.session_token));
		if (differ && k->creds_ok) {
			vpipe_info(k->node,
				   "new credentials from %s (access key %s%s)",
				   k->prov.describe, fresh.access_key,
				   fresh.expiry ? ", temporary" : "");
			k->creds_changed = true;
		}
		aws_creds_clear(&k->creds);
		k->creds = fresh;
		k->creds_ok = true;
	} else {
		aws_creds_clear(&fresh);
		k->creds_ok = k->creds.access_key[0] != 0;
	}
	if (k->creds.expiry && k->creds.expiry <= now) {
		*action = KVS_RESTART;
		snprintf(msg, msglen,
			 "credentials from %s expired %lld s ago; waiting for "
			 "fresh ones",
			 k->prov.describe, (long long)(now - k->creds.expiry));
		return -1;
	}
	return 0;
}

static void put_tags(struct strbuf *b, const char *spec)
{
	sb_puts(b, ",\"Tags\":{");
	const char *p = spec;
	bool first = true;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		if (eq) {
			if (!first)
				sb_putc(b, ',');
			json_put_stringn(b, p, (size_t)(eq - p));
			sb_putc(b, ':');
			json_put_stringn(b, eq + 1, len - (size_t)(eq - p) - 1);
			first = false;
		}
		p += len + (p[len] == ',');
	}
	sb_putc(b, '}');
}

/* A reload changed stream-tags: set them with TagStream (a tag no longer
 * listed stays: UntagStream is not used). */
void kvs_apply_tags(struct kvs *k)
{
	if (!k->stream_ready || !atomic_exchange(&k->tags_changed, false))
		return;
	pthread_mutex_lock(&k->tags_lock);
	char *spec = k->new_tags ? strdup(k->new_tags) : NULL;
	pthread_mutex_unlock(&k->tags_lock);
	if (!spec || !*spec) { /* tags removed: UntagStream is not used */
		free(spec);
		return;
	}
	struct strbuf b = STRBUF_INIT;
	sb_puts(&b, "{\"StreamName\":");
	json_put_string(&b, k->cfg->stream_name);
	put_tags(&b, spec);
	sb_putc(&b, '}');
	struct kvs_resp r = {0};
	char err[256] = "";
	if (api_post(k, "tagStream", b.s ? b.s : "{}", &r, err, sizeof(err))) {
		char why[700];
		bool expired = false;
		kvs_explain(k, &r, why, sizeof(why), &expired);
		/* tried again at the worker's next turn: coalesced */
		vpipe_log_coalesced(k->node, VPIPE_LOG_WARN,
				    "TagStream: %s; the new stream-tags are "
				    "sent again",
				    err[0] ? err : why);
		atomic_store(&k->tags_changed, true);
	} else {
		vpipe_info(k->node, "stream tags set: %s", spec);
	}
	kvs_resp_reset(&r);
	sb_free(&b);
	free(spec);
}

static int describe(struct kvs *k, struct kvs_resp *r, char *status, size_t sl,
		    char *err, size_t errlen)
{
	struct strbuf b = STRBUF_INIT;
	sb_puts(&b, "{\"StreamName\":");
	json_put_string(&b, k->cfg->stream_name);
	sb_putc(&b, '}');
	int rc =
	    api_post(k, "describeStream", b.s ? b.s : "{}", r, err, errlen);
	sb_free(&b);
	if (rc)
		return rc;
	struct json_value *v =
	    json_parse(r->body.s ? r->body.s : "", r->body.len, NULL, NULL);
	const char *s =
	    json_string(json_get(json_get(v, "StreamInfo"), "Status"));
	snprintf(status, sl, "%s", s ? s : "");
	json_free(v);
	return 0;
}

static int create(struct kvs *k, struct kvs_resp *r, char *err, size_t errlen)
{
	struct strbuf b = STRBUF_INIT;
	sb_puts(&b, "{\"StreamName\":");
	json_put_string(&b, k->cfg->stream_name);
	sb_puts(&b, ",\"MediaType\":");
	json_put_string(&b, k->cfg->content_type);
	sb_printf(&b, ",\"DataRetentionInHours\":%lld",
		  (long long)(k->cfg->retention_period / (3600 * VPIPE_S)));
	if (k->cfg->kms_key_id && *k->cfg->kms_key_id) {
		sb_puts(&b, ",\"KmsKeyId\":");
		json_put_string(&b, k->cfg->kms_key_id);
	}
	if (k->cfg->stream_tags && *k->cfg->stream_tags)
		put_tags(&b, k->cfg->stream_tags);
	sb_putc(&b, '}');
	int rc = api_post(k, "createStream", b.s ? b.s : "{}", r, err, errlen);
	sb_free(&b);
	return rc;
}

static int data_endpoint(struct kvs *k, struct kvs_resp *r, char *err,
			 size_t errlen)
{
	struct strbuf b = STRBUF_INIT;
	sb_puts(&b, "{\"StreamName\":");
	json_put_string(&b, k->cfg->stream_name);
	sb_puts(&b, ",\"APIName\":\"PUT_MEDIA\"}");
	int rc =
	    api_post(k, "getDataEndpoint", b.s ? b.s : "{}", r, err, errlen);
	sb_free(&b);
	if (rc)
		return rc;
	struct json_value *v =
	    json_parse(r->body.s ? r->body.s : "", r->body.len, NULL, NULL);
	const char *ep = json_string(json_get(v, "DataEndpoint"));
	if (!ep || !strstr(ep, "://")) {
		snprintf(err, errlen,
			 "GetDataEndpoint answered without a DataEndpoint URL");
		json_free(v);
		return 1;
	}
	free(k->data_endpoint);
	k->data_endpoint = strdup(ep);
	size_t l = k->data_endpoint ? strlen(k->data_endpoint) : 0;
	while (l && k->data_endpoint[l - 1] == '/')
		k->data_endpoint[--l] = 0;
	k->endpoint_at = vpipe_now();
	json_free(v);
	return 0;
}

static int fail(struct kvs *k, struct kvs_resp *r, const char *what,
		enum kvs_action *action, char *msg, size_t msglen)
{
	char why[600];
	*action = kvs_explain(k, r, why, sizeof(why), NULL);
	snprintf(msg, msglen, "%s stream \"%s\" (%s): %s", what,
		 k->cfg->stream_name, k->cp_base, why);
	return -1;
}

int kvs_prepare(struct kvs *k, enum kvs_action *action, char *msg,
		size_t msglen)
{
	char err[256] = "";
	struct kvs_resp r = {0};
	int rc = 0;
	if (kvs_refresh_credentials(k, false, action, msg, msglen))
		return -1;
	if (!k->stream_ready) {
		char status[32] = "";
		/* A retry after throttling resumes where it stopped. */
		if (k->stream_missing ||
		    describe(k, &r, status, sizeof(status), err, sizeof(err))) {
			bool missing = k->stream_missing ||
				       (r.cc == CURLE_OK &&
					(r.status == 404 ||
					 !strcmp(r.error_type,
						 "ResourceNotFoundException")));
			if (missing && !k->cfg->create_stream) {
				*action = KVS_FATAL;
				snprintf(msg, msglen,
					 "stream \"%s\" does not exist in %s "
					 "and create-stream is off: create it "
					 "(aws kinesisvideo create-stream) or "
					 "set create-stream = true",
					 k->cfg->stream_name, k->region);
				rc = -1;
				goto out;
			}
			if (!missing) {
				rc = fail(k, &r, "DescribeStream", action, msg,
					  msglen);
				goto out;
			}
			vpipe_info(k->node,
				   "stream \"%s\" does not exist: creating it "
				   "(retention %lld h)",
				   k->cfg->stream_name,
				   (long long)(k->cfg->retention_period /
					       (3600 * VPIPE_S)));
			k->stream_missing = true;
			if (create(k, &r, err, sizeof(err)) &&
			    strcmp(r.error_type, "ResourceInUseException")) {
				rc = fail(k, &r, "CreateStream", action, msg,
					  msglen);
				goto out;
			}
			k->stream_missing = false;
			strcpy(status, "CREATING");
		}
		/* A new stream is CREATING for a moment: the service tells
		 * nobody when it is ready, so ask again, backing off, for up
		 * to CREATING_WAIT. */
		struct vpipe_backoff again;
		vpipe_backoff_init(&again, 100 * VPIPE_MS, VPIPE_S);
		int64_t give_up = vpipe_now() + CREATING_WAIT;
		while (strcmp(status, "ACTIVE") && vpipe_now() < give_up &&
		       kvs_pause(k, vpipe_backoff_next(&again))) {
			if (describe(k, &r, status, sizeof(status), err,
				     sizeof(err))) {
				rc = fail(k, &r, "DescribeStream", action, msg,
					  msglen);
				goto out;
			}
		}
		if (strcmp(status, "ACTIVE")) {
			*action = KVS_RESTART;
			snprintf(msg, msglen, "stream \"%s\" is %s, not ACTIVE",
				 k->cfg->stream_name,
				 status[0] ? status : "in an unknown state");
			rc = -1;
			goto out;
		}
		k->stream_ready = true;
	}
	if (!k->data_endpoint ||
	    vpipe_now() - k->endpoint_at > ENDPOINT_MAX_AGE) {
		int d = data_endpoint(k, &r, err, sizeof(err));
		if (d < 0) {
			rc =
			    fail(k, &r, "GetDataEndpoint", action, msg, msglen);
			goto out;
		}
		if (d > 0) {
			*action = KVS_RESTART;
			snprintf(msg, msglen, "%s", err);
			rc = -1;
			goto out;
		}
	}
out:
	kvs_resp_reset(&r);
	return rc;
}
