/* AWS credential providers shared by the kvs and s3 sinks (see
 * aws_creds.h). */
#include "aws_creds.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>

#include "json.h"
#include "strbuf.h"
#include "whole_file.h"

#define MAX_CRED_FILE (64 * 1024)

void aws_creds_clear(struct aws_creds *c)
{
	if (c->session_token) {
		explicit_bzero(c->session_token, strlen(c->session_token));
		free(c->session_token);
	}
	explicit_bzero(c, sizeof(*c));
}

static int set_token(struct aws_creds *c, const char *t, size_t n)
{
	free(c->session_token);
	c->session_token = NULL;
	if (!t || !n)
		return 0;
	c->session_token = strndup(t, n);
	return c->session_token ? 0 : -1;
}

int aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src)
{
	aws_creds_clear(dst);
	memcpy(dst->access_key, src->access_key, sizeof(dst->access_key));
	memcpy(dst->secret_key, src->secret_key, sizeof(dst->secret_key));
	dst->expiry = src->expiry;
	const char *t = src->session_token;
	return set_token(dst, t, t ? strlen(t) : 0);
}

static int put_key(char *dst, size_t cap, const char *s, size_t n)
{
	if (n == 0 || n >= cap)
		return -1;
	memcpy(dst, s, n);
	dst[n] = 0;
	return 0;
}

int aws_creds_parse_iso8601(const char *s, int64_t *epoch)
{
	struct tm tm = {0};
	int used = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
		   &used) != 6 ||
	    used != 19)
		return -1;
	const char *p = s + used;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (!strcmp(p, "Z") || !strcmp(p, "+00:00") || !*p) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
		    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
		    tm.tm_sec > 60)
			return -1;
		*epoch = (int64_t)timegm(&tm);
		return 0;
	}
	return -1;
}

/* Split on blanks: up to max words, pointers into the (modified) text. */
static int words(char *s, char **w, int max)
{
	int n = 0;
	for (char *tok = strtok(s, " \t\r\n"); tok;
	     tok = strtok(NULL, " \t\r\n"))
		if (n++ < max)
			w[n - 1] = tok;
	return n;
}

int aws_creds_parse_file(const char *text, struct aws_creds *c, char *err,
			 size_t errlen)
{
	char *copy = strdup(text);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char *w[6];
	int n = words(copy, w, 6);
	int rc = -1;
	aws_creds_clear(c);
	if (n < 1 || strcmp(w[0], "CREDENTIALS")) {
		snprintf(err, errlen,
			 "does not start with the word CREDENTIALS (format: "
			 "CREDENTIALS AccessKey [Expiration] SecretKey "
			 "[SessionToken])");
	} else if (n == 3) {
		if (put_key(c->access_key, sizeof(c->access_key), w[1],
			    strlen(w[1])) ||
		    put_key(c->secret_key, sizeof(c->secret_key), w[2],
			    strlen(w[2])))
			snprintf(err, errlen, "a key is longer than 128 bytes");
		else
			rc = 0;
	} else if (n == 5) {
		if (aws_creds_parse_iso8601(w[2], &c->expiry))
			snprintf(err, errlen,
				 "word 3 (expiration) is not an ISO 8601 UTC "
				 "time like 2023-08-10T22:43:00Z");
		else if (put_key(c->access_key, sizeof(c->access_key), w[1],
				 strlen(w[1])) ||
			 put_key(c->secret_key, sizeof(c->secret_key), w[3],
				 strlen(w[3])))
			snprintf(err, errlen, "a key is longer than 128 bytes");
		else if (set_token(c, w[4], strlen(w[4])))
			snprintf(err, errlen, "out of memory");
		else
			rc = 0;
	} else {
		snprintf(err, errlen,
			 "has %d words; want 3 (CREDENTIALS AK SK) or 5 "
			 "(CREDENTIALS AK EXPIRATION SK TOKEN)",
			 n);
	}
	explicit_bzero(copy, strlen(text));
	free(copy);
	if (rc)
		aws_creds_clear(c);
	return rc;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int aws_creds_parse_shared(const char *text, const char *profile,
			   struct aws_creds *c, char *err, size_t errlen)
{
	char *copy = strdup(text);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	aws_creds_clear(c);
	int in = 0, found = 0, rc = 0, lineno = 0;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line && !rc;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *l = trim(line);
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');
			if (end)
				*end = 0;
			char *name = trim(l + 1);
			if (!strncmp(name, "profile ", 8))
				name = trim(name + 8);
			in = !strcmp(name, profile);
			found |= in;
			continue;
		}
		if (!in)
			continue;
		char *eq = strchr(l, '=');
		if (!eq)
			continue;
		*eq = 0;
		char *k = trim(l), *v = trim(eq + 1);
		if (!strcmp(k, "aws_access_key_id"))
			rc = put_key(c->access_key, sizeof(c->access_key), v,
				     strlen(v));
		else if (!strcmp(k, "aws_secret_access_key"))
			rc = put_key(c->secret_key, sizeof(c->secret_key), v,
				     strlen(v));
		else if (!strcmp(k, "aws_session_token"))
			rc = set_token(c, v, strlen(v));
		if (rc)
			snprintf(err, errlen, "line %d: bad value for %s",
				 lineno, k);
	}
	explicit_bzero(copy, strlen(text));
	free(copy);
	if (!rc && !found) {
		snprintf(err, errlen, "no [%s] profile", profile);
		rc = -1;
	} else if (!rc && (!c->access_key[0] || !c->secret_key[0])) {
		snprintf(err, errlen,
			 "profile [%s] lacks aws_access_key_id or "
			 "aws_secret_access_key",
			 profile);
		rc = -1;
	}
	if (rc)
		aws_creds_clear(c);
	return rc;
}

/* ------------------------------------------------------------------ IoT */

static char *dup_range(const char *s, size_t n)
{
	return strndup(s, n);
}

int aws_creds_iot_parse(const char *spec, const char *stream_name,
			struct aws_creds_iot *iot, char *err, size_t errlen)
{
	memset(iot, 0, sizeof(*iot));
	iot->connect_timeout_ms = 3000;
	iot->timeout_ms = 5000;
	const char *prefix = "iot-certificate,";
	if (strncmp(spec, prefix, strlen(prefix))) {
		snprintf(err, errlen,
			 "iot-certificate must start with \"iot-certificate,\" "
			 "then key=value pairs (endpoint, cert-path, key-path, "
			 "ca-path, role-aliases, iot-thing-name)");
		return -1;
	}
	const char *p = spec + strlen(prefix);
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		if (!eq) {
			snprintf(err, errlen,
				 "iot-certificate: \"%.*s\" is not key=value",
				 (int)len, p);
			goto fail;
		}
		size_t kl = (size_t)(eq - p);
		const char *v = eq + 1;
		size_t vl = len - kl - 1;
		if (vl >= 2 && (v[0] == '"' || v[0] == '\'') &&
		    v[vl - 1] == v[0]) {
			v++;
			vl -= 2;
		}
		char **slot = NULL;
		int64_t *num = NULL;
		static const char *const names[] = {
		    "endpoint", "cert-path",	"key-path",
		    "ca-path",	"role-aliases", "iot-thing-name"};
		char **slots[] = {&iot->endpoint,   &iot->cert_path,
				  &iot->key_path,   &iot->ca_path,
				  &iot->role_alias, &iot->thing_name};
		for (size_t i = 0; i < 6; i++)
			if (kl == strlen(names[i]) && !strncmp(p, names[i], kl))
				slot = slots[i];
		if (kl == 18 && !strncmp(p, "connection-timeout", kl))
			num = &iot->connect_timeout_ms;
		if (kl == 18 && !strncmp(p, "completion-timeout", kl))
			num = &iot->timeout_ms;
		if (num) {
			char tmp[32];
			snprintf(tmp, sizeof(tmp), "%.*s", (int)vl, v);
			char *e;
			long s = strtol(tmp, &e, 10);
			if (*e || s <= 0 || s > 600) {
				snprintf(
				    err, errlen,
				    "iot-certificate: %.*s must be seconds "
				    "(1-600)",
				    (int)kl, p);
				goto fail;
			}
			*num = s * 1000;
		} else if (slot) {
			free(*slot);
			*slot = dup_range(v, vl);
		} else {
			snprintf(
			    err, errlen,
			    "iot-certificate: unknown key \"%.*s\" (known: "
			    "endpoint, cert-path, key-path, ca-path, "
			    "role-aliases, iot-thing-name, "
			    "connection-timeout, completion-timeout)",
			    (int)kl, p);
			goto fail;
		}
		p += len + (end ? 1 : 0);
	}
	const char *missing = !iot->endpoint	 ? "endpoint"
			      : !iot->cert_path	 ? "cert-path"
			      : !iot->key_path	 ? "key-path"
			      : !iot->ca_path	 ? "ca-path"
			      : !iot->role_alias ? "role-aliases"
						 : NULL;
	if (missing) {
		snprintf(err, errlen, "iot-certificate: %s is required",
			 missing);
		goto fail;
	}
	if (!iot->thing_name)
		iot->thing_name = strdup(stream_name);
	return 0;
fail:
	aws_creds_iot_free(iot);
	return -1;
}

void aws_creds_iot_free(struct aws_creds_iot *iot)
{
	free(iot->endpoint);
	free(iot->cert_path);
	free(iot->key_path);
	free(iot->ca_path);
	free(iot->role_alias);
	free(iot->thing_name);
	memset(iot, 0, sizeof(*iot));
}

int aws_creds_iot_parse_response(const char *body, size_t n,
				 struct aws_creds *c, char *err, size_t errlen)
{
	aws_creds_clear(c);
	if (n == 0) {
		snprintf(err, errlen,
			 "STATUS_IOT_INVALID_RESPONSE_LENGTH (0x16000002): "
			 "empty answer");
		return -1;
	}
	size_t eoff = 0;
	const char *why = NULL;
	struct json_value *v = json_parse(body, n, &eoff, &why);
	if (!v) {
		snprintf(err, errlen, "answer is not JSON (byte %zu: %s)", eoff,
			 why ? why : "?");
		return -1;
	}
	int rc = -1;
	const struct json_value *cr = json_get(v, "credentials");
	const char *ak = json_string(json_get(cr, "accessKeyId"));
	const char *sk = json_string(json_get(cr, "secretAccessKey"));
	const struct json_value *tok = json_get(cr, "sessionToken");
	const char *exp = json_string(json_get(cr, "expiration"));
	if (!cr || !ak || !sk) {
		const char *msg = json_string(json_get(v, "message"));
		snprintf(err, errlen,
			 "STATUS_IOT_NULL_AWS_CREDS (0x16000003): no "
			 "credentials in the answer%s%s",
			 msg ? ": " : "", msg ? msg : "");
	} else if (exp && aws_creds_parse_iso8601(exp, &c->expiry)) {
		snprintf(err, errlen,
			 "STATUS_TIMESTAMP_STRING_UNRECOGNIZED_FORMAT "
			 "(0x16000005): expiration \"%.40s\"",
			 exp);
	} else if (put_key(c->access_key, sizeof(c->access_key), ak,
			   strlen(ak)) ||
		   put_key(c->secret_key, sizeof(c->secret_key), sk,
			   strlen(sk))) {
		snprintf(err, errlen, "a key is empty or too long");
	} else if (tok && set_token(c, json_string(tok), tok->len)) {
		snprintf(err, errlen, "out of memory");
	} else {
		rc = 0;
	}
	json_free(v);
	if (rc)
		aws_creds_clear(c);
	return rc;
}

/* ------------------------------------------------------------ providers */

/* Static keys into p->static_creds; -1 with err if one is too long. */
static int use_static_keys(struct aws_creds_provider *p, const char *ak,
			   const char *sk, const char *tok, char *err,
			   size_t errlen)
{
	struct aws_creds *c = &p->static_creds;
	if (put_key(c->access_key, sizeof(c->access_key), ak, strlen(ak)) ||
	    put_key(c->secret_key, sizeof(c->secret_key), sk, strlen(sk)) ||
	    set_token(c, tok, tok ? strlen(tok) : 0)) {
		snprintf(err, errlen, "%s: a key is longer than 128 bytes",
			 p->describe);
		return -1;
	}
	return 0;
}

static bool given(const char *s)
{
	return s && *s;
}

/* The shared credentials file, if there is one; `profile` as chosen. */
static int use_shared_file(struct aws_creds_provider *p, const char *profile,
			   const char *why)
{
	const char *shared = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *home = getenv("HOME");
	struct strbuf b = STRBUF_INIT;
	if (given(shared))
		sb_puts(&b, shared);
	else if (given(home))
		sb_printf(&b, "%s/.aws/credentials", home);
	struct stat st;
	if (!b.s || stat(b.s, &st) != 0) {
		sb_free(&b);
		return 1;
	}
	p->source = AWS_CREDS_SRC_SHARED;
	p->path = sb_detach(&b);
	p->profile = strdup(profile);
	snprintf(p->describe, sizeof(p->describe),
		 "shared credentials file %.200s, profile %.60s (%s)", p->path,
		 profile, why);
	return p->path && p->profile ? 0 : -1;
}

/* What the user wrote wins, as in the AWS SDKs and kvssink: the graph
 * file (and --set, which edits it) over the environment, the environment
 * over the shared credentials file. Keys of one source are never mixed
 * with another's: a session token from the environment does not go with
 * keys from the file. */
int aws_creds_provider_init(struct aws_creds_provider *p,
			    const struct aws_creds_params *cp, char *err,
			    size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->tls_verify = cp->tls_verify;
	if (given(cp->iot_certificate)) {
		if (aws_creds_iot_parse(cp->iot_certificate, cp->stream_name,
					&p->iot, err, errlen))
			return -1;
		p->source = AWS_CREDS_SRC_IOT;
		snprintf(p->describe, sizeof(p->describe),
			 "IoT credentials provider %.100s, role alias %.60s, "
			 "thing %.60s",
			 p->iot.endpoint, p->iot.role_alias, p->iot.thing_name);
		return 0;
	}
	if (given(cp->access_key) != given(cp->secret_key)) {
		snprintf(err, errlen,
			 "access-key and secret-key must be given together");
		return -1;
	}
	if (given(cp->access_key)) {
		p->source = AWS_CREDS_SRC_PARAMS;
		snprintf(p->describe, sizeof(p->describe),
			 "access-key/secret-key parameters");
		return use_static_keys(
		    p, cp->access_key, cp->secret_key,
		    given(cp->session_token) ? cp->session_token : NULL, err,
		    errlen);
	}
	if (given(cp->credential_path)) {
		p->source = AWS_CREDS_SRC_FILE;
		p->path = strdup(cp->credential_path);
		snprintf(p->describe, sizeof(p->describe),
			 "credential-path %.280s", cp->credential_path);
		return p->path ? 0 : -1;
	}
	int rc;
	if (given(cp->profile) &&
	    (rc = use_shared_file(p, cp->profile, "profile parameter")) <= 0)
		return rc;
	const char *env_ak = getenv("AWS_ACCESS_KEY_ID");
	const char *env_sk = getenv("AWS_SECRET_ACCESS_KEY");
	if (given(env_ak) && given(env_sk)) {
		p->source = AWS_CREDS_SRC_ENV;
		snprintf(p->describe, sizeof(p->describe),
			 "environment AWS_ACCESS_KEY_ID");
		return use_static_keys(p, env_ak, env_sk,
				       getenv("AWS_SESSION_TOKEN"), err,
				       errlen);
	}
	const char *env_prof = getenv("AWS_PROFILE");
	if (!given(cp->profile) &&
	    (rc = use_shared_file(p, given(env_prof) ? env_prof : "default",
				  given(env_prof) ? "AWS_PROFILE"
						  : "default profile")) <= 0)
		return rc;
	snprintf(err, errlen,
		 "no AWS credentials: set iot-certificate, access-key and "
		 "secret-key, credential-path, AWS_ACCESS_KEY_ID and "
		 "AWS_SECRET_ACCESS_KEY, or a shared credentials file "
		 "(~/.aws/credentials)%s",
		 given(cp->profile)
		     ? " (profile is set, but there is no shared "
		       "credentials file)"
		     : "");
	return -1;
}

const char *aws_region_resolve(const char *param, const char **from)
{
	static const char *const env[] = {"AWS_DEFAULT_REGION", "AWS_REGION"};
	if (given(param)) {
		*from = "aws-region";
		return param;
	}
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		const char *v = getenv(env[i]);
		if (given(v)) {
			*from = env[i];
			return v;
		}
	}
	*from = "default";
	return "us-west-2";
}

void aws_creds_provider_free(struct aws_creds_provider *p)
{
	aws_creds_clear(&p->static_creds);
	aws_creds_iot_free(&p->iot);
	free(p->path);
	free(p->profile);
	memset(p, 0, sizeof(*p));
}

static int read_file(const char *path, char **out, struct stat *st, char *err,
		     size_t errlen)
{
	if (whole_file_check("credentials file", path, MAX_CRED_FILE, err,
			     errlen))
		return -1;
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), st) || st->st_size > MAX_CRED_FILE) {
		snprintf(err, errlen, "%s: not a credentials file (size)",
			 path);
		fclose(f);
		return -1;
	}
	char *buf = calloc(1, (size_t)st->st_size + 1);
	size_t n = buf ? fread(buf, 1, (size_t)st->st_size, f) : 0;
	fclose(f);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	buf[n] = 0;
	*out = buf;
	return 0;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int fetch_file(struct aws_creds_provider *p, struct aws_creds *c,
		      bool *changed, char *err, size_t errlen)
{
	struct stat st;
	if (stat(p->path, &st)) {
		snprintf(err, errlen, "cannot read %s: %s", p->path,
			 strerror(errno));
		return -1;
	}
	if (p->mtime_ns && st.st_ino == p->ino &&
	    mtime_ns(&st) == p->mtime_ns && st.st_size == p->size) {
		*changed = false;
		return 0;
	}
	char *text = NULL;
	if (read_file(p->path, &text, &st, err, errlen))
		return -1;
	char why[256];
	struct aws_creds fresh = {0};
	int rc = p->source == AWS_CREDS_SRC_FILE
		     ? aws_creds_parse_file(text, &fresh, why, sizeof(why))
		     : aws_creds_parse_shared(text, p->profile, &fresh, why,
					      sizeof(why));
	explicit_bzero(text, strlen(text));
	free(text);
	if (rc) {
		snprintf(err, errlen, "%s: %s", p->path, why);
		aws_creds_clear(&fresh);
		return -1;
	}
	p->ino = st.st_ino;
	p->mtime_ns = mtime_ns(&st);
	p->size = st.st_size;
	*changed = true;
	aws_creds_clear(c);
	*c = fresh;
	return 0;
}

struct iot_abort {
	int (*fn)(void *);
	void *ctx;
};

static int iot_progress(void *p, curl_off_t a, curl_off_t b, curl_off_t c,
			curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	struct iot_abort *ab = p;
	return ab->fn && ab->fn(ab->ctx) ? 1 : 0;
}

static size_t iot_write(char *data, size_t size, size_t n, void *ctx)
{
	struct strbuf *b = ctx;
	if (b->len + size * n > MAX_CRED_FILE)
		return 0;
	sb_append(b, data, size * n);
	return size * n;
}

/* A failed IoT request in one sentence. An endpoint that refuses the
 * client certificate ends the TLS connection with an alert or just closes it
 * (TLS 1.3: after the client thinks the handshake is done), which curl
 * reports as a handshake, send or receive error: say so. -2 for a refusal
 * (the certificate, key or CA), -1 for anything worth retrying. */
static int explain_iot_failure(CURL *h, CURLcode cc,
			       const struct aws_creds_iot *iot, const char *url,
			       const char *why, char *err, size_t errlen)
{
	curl_off_t connected_us = 0;
	curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connected_us);
	if (cc == CURLE_SSL_CERTPROBLEM) {
		snprintf(
		    err, errlen,
		    "STATUS_IOT_FAILED (0x15000011): cert-path %s / key-path "
		    "%s: cannot use the client certificate or its key (%s)",
		    iot->cert_path, iot->key_path, why);
		return -2;
	}
	if (cc == CURLE_PEER_FAILED_VERIFICATION ||
	    cc == CURLE_SSL_CACERT_BADFILE) {
		snprintf(
		    err, errlen,
		    "STATUS_IOT_FAILED (0x15000011): GET %s: the IoT "
		    "endpoint's certificate is not trusted with ca-path %s "
		    "(%s)",
		    url, iot->ca_path, why);
		return -2;
	}
	if (connected_us > 0 &&
	    (cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_SEND_ERROR ||
	     cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING)) {
		snprintf(
		    err, errlen,
		    "STATUS_IOT_FAILED (0x15000011): GET %s: the IoT "
		    "endpoint closed the TLS connection without answering: "
		    "it refused the client certificate cert-path %s (not "
		    "signed by a CA it trusts, not registered, inactive or "
		    "revoked) (%s)",
		    url, iot->cert_path, why);
		return -2;
	}
	snprintf(err, errlen,
		 "STATUS_CURL_PERFORM_FAILED (0x16000001) GET %s: %s", url,
		 why);
	return -1;
}

static int fetch_iot(struct aws_creds_provider *p, struct aws_creds *c,
		     int (*abort_fn)(void *), void *abort_ctx, char *err,
		     size_t errlen)
{
	struct aws_creds_iot *iot = &p->iot;
	if (whole_file_check("iot-certificate cert-path", iot->cert_path,
			     WHOLE_FILE_MAX, err, errlen) ||
	    whole_file_check("iot-certificate key-path", iot->key_path,
			     WHOLE_FILE_MAX, err, errlen) ||
	    whole_file_check("iot-certificate ca-path", iot->ca_path,
			     WHOLE_FILE_MAX, err, errlen))
		return -2; /* the same at every retry */
	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(err, errlen, "STATUS_CURL_INIT_FAILED (0x1500000d)");
		return -1;
	}
	struct strbuf url = STRBUF_INIT, hdr = STRBUF_INIT, body = STRBUF_INIT;
	char *alias = curl_easy_escape(h, iot->role_alias, 0);
	sb_printf(&url, "%s%s/role-aliases/%s/credentials",
		  strstr(iot->endpoint, "://") ? "" : "https://", iot->endpoint,
		  alias ? alias : "");
	curl_free(alias);
	sb_printf(&hdr, "x-amzn-iot-thingname: %s", iot->thing_name);
	struct curl_slist *hl = curl_slist_append(NULL, hdr.s ? hdr.s : "");
	char cerr[CURL_ERROR_SIZE] = "";
	struct iot_abort ab = {abort_fn, abort_ctx};
	curl_easy_setopt(h, CURLOPT_URL, url.s);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_SSLCERT, iot->cert_path);
	curl_easy_setopt(h, CURLOPT_SSLKEY, iot->key_path);
	curl_easy_setopt(h, CURLOPT_CAINFO, iot->ca_path);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, p->tls_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, p->tls_verify ? 2L : 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)iot->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
			 (long)(iot->connect_timeout_ms + iot->timeout_ms));
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, iot_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, iot_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &ab);
	CURLcode cc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	int rc = -1;
	if (cc != CURLE_OK) {
		rc = explain_iot_failure(
		    h, cc, iot, url.s ? url.s : "?",
		    cerr[0] ? cerr : curl_easy_strerror(cc), err, errlen);
	} else if (status != 200) {
		/* 4xx: the endpoint looked at us and said no (429 aside). */
		if (status >= 400 && status < 500 && status != 429)
			rc = -2;
		snprintf(err, errlen,
			 "STATUS_IOT_FAILED (0x15000011): GET %s answered HTTP "
			 "%ld%s%.200s",
			 url.s ? url.s : "?", status,
			 status == 403 ? " (certificate, role alias or thing "
					 "name not accepted): "
				       : ": ",
			 body.s ? body.s : "");
	} else {
		char why[256];
		rc = aws_creds_iot_parse_response(
		    body.s ? body.s : "", body.len, c, why, sizeof(why));
		if (rc)
			snprintf(err, errlen, "IoT credentials from %s: %s",
				 url.s ? url.s : "?", why);
	}
	if (body.s)
		explicit_bzero(body.s, body.len);
	sb_free(&body);
	sb_free(&url);
	sb_free(&hdr);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return rc;
}

int aws_creds_fetch(struct aws_creds_provider *p, struct aws_creds *c,
		    bool *changed, int (*abort_fn)(void *), void *abort_ctx,
		    char *err, size_t errlen)
{
	*changed = false;
	switch (p->source) {
	case AWS_CREDS_SRC_ENV:
	case AWS_CREDS_SRC_PARAMS:
		if (!c->access_key[0]) {
			*changed = true;
			return aws_creds_copy(c, &p->static_creds);
		}
		return 0;
	case AWS_CREDS_SRC_FILE:
	case AWS_CREDS_SRC_SHARED:
		return fetch_file(p, c, changed, err, errlen);
	case AWS_CREDS_SRC_IOT: {
		struct aws_creds fresh = {0};
		int rc = fetch_iot(p, &fresh, abort_fn, abort_ctx, err, errlen);
		if (rc)
			return rc;
		aws_creds_clear(c);
		*c = fresh;
		*changed = true;
		return 0;
	}
	default:
		snprintf(err, errlen, "no credentials provider");
		return -1;
	}
}
