/* AWS Signature Version 4 signing and verification (see sigv4.h). The
 * steps follow the AWS "Create a signed request" guide: canonical request,
 * string to sign, derived signing key, HMAC. */
#include "sigv4.h"
#include "strbuf.h"

#include <ctype.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

static void hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	SHA256(data, len, md);
	hex_encode(md, sizeof md, out);
}

static void hmac_sha256(const void *key, size_t key_len, const char *msg,
			uint8_t out[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg,
	     strlen(msg), out, &len);
}

void sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int sigv4_parse_amz_date(const char *s, time_t *t)
{
	if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -1;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)s[i]))
			return -1;
	struct tm tm = {0};
	if (sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = timegm(&tm);
	return 0;
}

static int is_unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* RFC 3986 encoding as AWS wants it: everything but unreserved characters
 * (and '/' when keep_slash) becomes %XX with uppercase hex. */
static void uri_encode(struct strbuf *b, const char *s, size_t n,
		       int keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c) || (keep_slash && c == '/')) {
			sb_putc(b, (char)c);
		} else {
			char e[3] = {'%', digits[c >> 4], digits[c & 15]};
			sb_append(b, e, 3);
		}
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode %XX escapes (others kept literally) into a new strbuf. */
static void uri_decode(struct strbuf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			sb_putc(out, (char)(hi * 16 + lo));
			i += 2;
		} else {
			sb_putc(out, s[i]);
		}
	}
}

/* Remove empty and "." segments and resolve "..", keeping a trailing
 * slash: what every service but S3 signs. */
static void normalize_path(struct strbuf *out, const char *path)
{
	const char *segs[256];
	size_t lens[256];
	size_t n = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - start);
		if (len == 0 || (len == 1 && start[0] == '.'))
			continue;
		if (len == 2 && start[0] == '.' && start[1] == '.') {
			if (n)
				n--;
			continue;
		}
		if (n < 256) {
			segs[n] = start;
			lens[n++] = len;
		}
	}
	size_t plen = strlen(path);
	for (size_t i = 0; i < n; i++) {
		sb_putc(out, '/');
		uri_encode(out, segs[i], lens[i], 0);
	}
	if (n == 0 || (plen > 0 && path[plen - 1] == '/'))
		sb_putc(out, '/');
}

struct query_pair {
	char *key, *value;
};

static int cmp_query_pair(const void *a, const void *b)
{
	const struct query_pair *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->value, y->value);
}

/* Decode then strictly re-encode each key and value, so a query sent
 * encoded or raw gives the same canonical form; sort by key, then value. */
static int canonical_query(struct strbuf *out, const char *q)
{
	if (!q || !*q)
		return 0;
	size_t cap = 1;
	for (const char *p = q; *p; p++)
		cap += *p == '&';
	struct query_pair *pairs = calloc(cap, sizeof *pairs);
	if (!pairs)
		return -1;
	size_t n = 0;
	int rc = 0;
	const char *p = q;
	while (*p && rc == 0) {
		const char *end = strchr(p, '&');
		if (!end)
			end = p + strlen(p);
		if (end > p) {
			const char *eq = memchr(p, '=', (size_t)(end - p));
			const char *kend = eq ? eq : end;
			struct strbuf dk = STRBUF_INIT, dv = STRBUF_INIT;
			struct strbuf ek = STRBUF_INIT, ev = STRBUF_INIT;
			uri_decode(&dk, p, (size_t)(kend - p));
			if (eq)
				uri_decode(&dv, eq + 1, (size_t)(end - eq - 1));
			uri_encode(&ek, dk.s ? dk.s : "", dk.len, 0);
			uri_encode(&ev, dv.s ? dv.s : "", dv.len, 0);
			sb_free(&dk);
			sb_free(&dv);
			pairs[n].key = sb_detach(&ek);
			pairs[n].value = sb_detach(&ev);
			if (!pairs[n].key || !pairs[n].value)
				rc = -1;
			n++;
		}
		p = *end ? end + 1 : end;
	}
	if (rc == 0) {
		qsort(pairs, n, sizeof *pairs, cmp_query_pair);
		for (size_t i = 0; i < n; i++) {
			if (i)
				sb_putc(out, '&');
			sb_printf(out, "%s=%s", pairs[i].key, pairs[i].value);
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(pairs[i].key);
		free(pairs[i].value);
	}
	free(pairs);
	return rc;
}

struct canon_header {
	char *name;
	char *value;
	size_t order;
};

static int cmp_canon_header(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Trim and fold runs of whitespace to one space. */
static char *canonical_value(const char *v)
{
	struct strbuf b = STRBUF_INIT;
	int space = 0;
	while (*v == ' ' || *v == '\t')
		v++;
	sb_puts(&b, "");
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
			space = 1;
			continue;
		}
		if (space)
			sb_putc(&b, ' ');
		space = 0;
		sb_putc(&b, *v);
	}
	return sb_detach(&b);
}

static char *lowercase_dup(const char *s)
{
	char *d = strdup(s);
	if (d)
		for (char *p = d; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return d;
}

/* Is `name` in the ';'-separated list? */
static int list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;
	while (p && *p) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncasecmp(p, name, n) == 0)
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* Canonical headers block and the signed-headers list. */
static int canonical_headers(const struct sigv4_request *r,
			     struct strbuf *block, struct strbuf *names)
{
	struct canon_header *h = calloc(r->n_headers + 1, sizeof *h);
	if (!h)
		return -1;
	size_t n = 0;
	int rc = 0;
	for (size_t i = 0; i < r->n_headers; i++) {
		if (r->signed_headers &&
		    !list_has(r->signed_headers, r->headers[i].name))
			continue;
		h[n].name = lowercase_dup(r->headers[i].name);
		h[n].value = canonical_value(r->headers[i].value);
		h[n].order = i;
		n++;
		if (!h[n - 1].name || !h[n - 1].value)
			rc = -1;
	}
	/* Every name the caller wants signed must be present. */
	const char *p = r->signed_headers;
	while (rc == 0 && p && *p) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int found = 0;
		for (size_t i = 0; i < n && !found; i++)
			found = strlen(h[i].name) == len &&
				strncasecmp(h[i].name, p, len) == 0;
		if (!found)
			rc = -1;
		p = end ? end + 1 : NULL;
	}
	if (rc == 0) {
		qsort(h, n, sizeof *h, cmp_canon_header);
		for (size_t i = 0; i < n; i++) {
			int same =
			    i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
			if (same) {
				sb_printf(block, ",%s", h[i].value);
				continue;
			}
			if (i > 0)
				sb_putc(block, '\n');
			sb_printf(block, "%s:%s", h[i].name, h[i].value);
			if (names->len)
				sb_putc(names, ';');
			sb_puts(names, h[i].name);
		}
		sb_putc(block, '\n');
	}
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
	return rc;
}

char *sigv4_canonical_request(const struct sigv4_request *r)
{
	struct strbuf b = STRBUF_INIT, block = STRBUF_INIT, names = STRBUF_INIT;
	sb_printf(&b, "%s\n", r->method);
	const char *path = r->path && *r->path ? r->path : "/";
	if (r->s3_path)
		sb_puts(&b, path);
	else
		normalize_path(&b, path);
	sb_putc(&b, '\n');
	int rc = canonical_query(&b, r->query);
	sb_putc(&b, '\n');
	if (rc == 0)
		rc = canonical_headers(r, &block, &names);
	if (rc == 0 && !block.failed && !names.failed) {
		sb_printf(&b, "%s\n%s\n%s", block.s, names.s,
			  r->payload_hash ? r->payload_hash
					  : SIGV4_EMPTY_SHA256);
	}
	sb_free(&block);
	sb_free(&names);
	if (rc) {
		sb_free(&b);
		return NULL;
	}
	return sb_detach(&b);
}

static void scope_date(const struct sigv4_scope *s, char date8[9])
{
	snprintf(date8, 9, "%.8s", s->amz_date);
}

char *sigv4_string_to_sign(const struct sigv4_scope *s, const char *creq)
{
	char hash[65], date8[9];
	sigv4_sha256_hex(creq, strlen(creq), hash);
	scope_date(s, date8);
	struct strbuf b = STRBUF_INIT;
	sb_printf(&b, "%s\n%s\n%s/%s/%s/aws4_request\n%s", SIGV4_ALGORITHM,
		  s->amz_date, date8, s->region, s->service, hash);
	return sb_detach(&b);
}

void sigv4_signing_key(const char *secret, const char *date8,
		       const char *region, const char *service, uint8_t key[32])
{
	struct strbuf k = STRBUF_INIT;
	sb_printf(&k, "AWS4%s", secret);
	uint8_t a[32], b[32];
	hmac_sha256(k.s ? k.s : "", k.len, date8, a);
	OPENSSL_cleanse(k.s, k.len);
	sb_free(&k);
	hmac_sha256(a, 32, region, b);
	hmac_sha256(b, 32, service, a);
	hmac_sha256(a, 32, "aws4_request", key);
	OPENSSL_cleanse(a, sizeof a);
	OPENSSL_cleanse(b, sizeof b);
}

void sigv4_signature(const uint8_t key[32], const char *sts, char out[65])
{
	uint8_t mac[32];
	hmac_sha256(key, 32, sts, mac);
	hex_encode(mac, 32, out);
}

/* Signature hex for r under scope s and secret; 0 on success. */
static int compute_signature(const struct sigv4_request *r,
			     const struct sigv4_scope *s, const char *secret,
			     char sig[65], char **creq_out, char **sts_out)
{
	char *creq = sigv4_canonical_request(r);
	if (!creq)
		return -1;
	char *sts = sigv4_string_to_sign(s, creq);
	if (!sts) {
		free(creq);
		return -1;
	}
	char date8[9];
	uint8_t key[32];
	scope_date(s, date8);
	sigv4_signing_key(secret, date8, s->region, s->service, key);
	sigv4_signature(key, sts, sig);
	OPENSSL_cleanse(key, sizeof key);
	if (creq_out)
		*creq_out = creq;
	else
		free(creq);
	if (sts_out)
		*sts_out = sts;
	else
		free(sts);
	return 0;
}

char *sigv4_authorization(const struct sigv4_request *r,
			  const struct sigv4_scope *s,
			  const struct sigv4_key *k)
{
	char sig[65], date8[9];
	if (compute_signature(r, s, k->secret_key, sig, NULL, NULL))
		return NULL;
	struct strbuf block = STRBUF_INIT, names = STRBUF_INIT;
	int rc = canonical_headers(r, &block, &names);
	sb_free(&block);
	if (rc) {
		sb_free(&names);
		return NULL;
	}
	scope_date(s, date8);
	struct strbuf b = STRBUF_INIT;
	sb_printf(&b,
		  "%s Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
		  "Signature=%s",
		  SIGV4_ALGORITHM, k->access_key, date8, s->region, s->service,
		  names.s ? names.s : "", sig);
	sb_free(&names);
	return sb_detach(&b);
}

static char *skip_spaces(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int sigv4_parse_authorization(const char *value, struct sigv4_auth *a)
{
	memset(a, 0, sizeof *a);
	if (!value || strlen(value) >= sizeof a->buf)
		return -1;
	size_t alg = strlen(SIGV4_ALGORITHM);
	if (strncmp(value, SIGV4_ALGORITHM, alg) != 0 ||
	    (value[alg] != ' ' && value[alg] != '\t'))
		return -1;
	strcpy(a->buf, value + alg);
	char *p = a->buf;
	char *credential = NULL;
	while (*p) {
		p = skip_spaces(p);
		char *end = strchr(p, ',');
		if (end)
			*end = 0;
		char *eq = strchr(p, '=');
		if (eq) {
			*eq = 0;
			char *v = eq + 1;
			/* trailing spaces of the component */
			for (char *t = v + strlen(v);
			     t > v && (t[-1] == ' ' || t[-1] == '\t'); t--)
				t[-1] = 0;
			if (strcmp(p, "Credential") == 0)
				credential = v;
			else if (strcmp(p, "SignedHeaders") == 0)
				a->signed_headers = v;
			else if (strcmp(p, "Signature") == 0)
				a->signature = v;
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (!credential || !a->signed_headers || !a->signature)
		return -1;
	/* AK/date/region/service/aws4_request; the access key has no '/'. */
	char *parts[5];
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(credential, "/", &save); t && n < 5;
	     t = strtok_r(NULL, "/", &save))
		parts[n++] = t;
	if (n != 5 || strtok_r(NULL, "/", &save))
		return -1;
	a->access_key = parts[0];
	a->date = parts[1];
	a->region = parts[2];
	a->service = parts[3];
	a->terminator = parts[4];
	if (strlen(a->signature) != 64)
		return -1;
	return 0;
}

const char *sigv4_verdict_name(enum sigv4_verdict v)
{
	switch (v) {
	case SIGV4_OK:
		return "ok";
	case SIGV4_MALFORMED:
		return "malformed";
	case SIGV4_UNKNOWN_KEY:
		return "unknown access key";
	case SIGV4_BAD_SCOPE:
		return "bad credential scope";
	case SIGV4_MISSING_HEADER:
		return "missing signed header";
	case SIGV4_STALE:
		return "request time too skewed";
	case SIGV4_BAD_TOKEN:
		return "bad security token";
	case SIGV4_MISMATCH:
		return "signature mismatch";
	}
	return "?";
}

static const char *find_header(const struct sigv4_request *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static enum sigv4_verdict verdict(struct sigv4_verify_result *res,
				  enum sigv4_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum sigv4_verdict verdict(struct sigv4_verify_result *res,
				  enum sigv4_verdict v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof res->reason, fmt, ap);
	va_end(ap);
	res->verdict = v;
	return v;
}

/* After a mismatch, try what clients commonly get different and say so:
 * the payload hash, the path encoding, the signing service or region. */
static void diagnose_mismatch(const struct sigv4_request *r,
			      const struct sigv4_scope *s,
			      const struct sigv4_key *k, const char *want,
			      struct sigv4_verify_result *res)
{
	static const char *hashes[] = {SIGV4_UNSIGNED_PAYLOAD,
				       SIGV4_EMPTY_SHA256,
				       SIGV4_STREAMING_PAYLOAD};
	char sig[65];
	struct sigv4_request alt = *r;
	for (size_t i = 0; i < sizeof hashes / sizeof *hashes; i++) {
		if (r->payload_hash && strcmp(r->payload_hash, hashes[i]) == 0)
			continue;
		alt.payload_hash = hashes[i];
		if (compute_signature(&alt, s, k->secret_key, sig, NULL,
				      NULL) == 0 &&
		    strcmp(sig, want) == 0) {
			snprintf(res->reason, sizeof res->reason,
				 "signature mismatch: payload hash differs "
				 "(client signed %s, body hashes to %s)",
				 hashes[i],
				 r->payload_hash ? r->payload_hash : "?");
			return;
		}
	}
	alt = *r;
	alt.s3_path = !r->s3_path;
	if (compute_signature(&alt, s, k->secret_key, sig, NULL, NULL) == 0 &&
	    strcmp(sig, want) == 0) {
		snprintf(res->reason, sizeof res->reason,
			 "signature mismatch: canonical URI differs (client "
			 "%s the path '%s')",
			 r->s3_path ? "normalised and re-encoded"
				    : "did not re-encode",
			 r->path);
		return;
	}
	snprintf(res->reason, sizeof res->reason,
		 "signature mismatch: the canonical request differs (method, "
		 "path, query, a signed header value or the payload hash) or "
		 "the secret key is wrong for access key %s",
		 k->access_key);
}

static const struct sigv4_key *find_key(const struct sigv4_verify_config *c,
					const char *access_key)
{
	for (size_t i = 0; i < c->n_keys; i++)
		if (strcmp(c->keys[i].access_key, access_key) == 0)
			return &c->keys[i];
	return NULL;
}

/* Every signed header must be there, host and x-amz-date included. */
static enum sigv4_verdict check_signed_headers(const struct sigv4_request *r,
					       const struct sigv4_auth *a,
					       struct sigv4_verify_result *res)
{
	if (!list_has(a->signed_headers, "host"))
		return verdict(res, SIGV4_MISSING_HEADER,
			       "SignedHeaders '%s' does not include host",
			       a->signed_headers);
	if (!list_has(a->signed_headers, "x-amz-date"))
		return verdict(res, SIGV4_MISSING_HEADER,
			       "SignedHeaders '%s' does not include x-amz-date",
			       a->signed_headers);
	char names[sizeof a->buf];
	snprintf(names, sizeof names, "%s", a->signed_headers);
	char *save = NULL;
	for (char *t = strtok_r(names, ";", &save); t;
	     t = strtok_r(NULL, ";", &save))
		if (!find_header(r, t))
			return verdict(res, SIGV4_MISSING_HEADER,
				       "signed header '%s' is not in the "
				       "request",
				       t);
	return SIGV4_OK;
}

static enum sigv4_verdict check_scope(const struct sigv4_auth *a,
				      const char *amz_date,
				      const struct sigv4_verify_config *cfg,
				      struct sigv4_verify_result *res)
{
	if (strncmp(a->date, amz_date, 8) != 0 || strlen(a->date) != 8)
		return verdict(res, SIGV4_BAD_SCOPE,
			       "credential scope date %s does not match "
			       "X-Amz-Date %s",
			       a->date, amz_date);
	if (cfg->region && strcmp(cfg->region, a->region) != 0)
		return verdict(res, SIGV4_BAD_SCOPE,
			       "credential scope region '%s', expected '%s'",
			       a->region, cfg->region);
	if (cfg->service && strcmp(cfg->service, a->service) != 0)
		return verdict(res, SIGV4_BAD_SCOPE,
			       "credential scope service '%s', expected '%s'",
			       a->service, cfg->service);
	if (strcmp(a->terminator, "aws4_request") != 0)
		return verdict(res, SIGV4_BAD_SCOPE,
			       "credential scope ends in '%s', expected "
			       "aws4_request",
			       a->terminator);
	return SIGV4_OK;
}

enum sigv4_verdict sigv4_verify(const struct sigv4_request *r,
				const char *authz, const char *amz_date,
				const struct sigv4_verify_config *cfg,
				struct sigv4_verify_result *res)
{
	memset(res, 0, sizeof *res);
	struct sigv4_auth *a = malloc(sizeof *a);
	if (!a)
		return verdict(res, SIGV4_MALFORMED, "out of memory");
	enum sigv4_verdict v = SIGV4_OK;
	time_t t;
	const struct sigv4_key *k = NULL;
	if (!authz) {
		v = verdict(res, SIGV4_MALFORMED, "no Authorization header");
	} else if (sigv4_parse_authorization(authz, a)) {
		v = verdict(res, SIGV4_MALFORMED,
			    "Authorization header is not AWS4-HMAC-SHA256 "
			    "Credential=.../SignedHeaders=.../Signature=...");
	} else if (!amz_date || sigv4_parse_amz_date(amz_date, &t)) {
		v = verdict(res, SIGV4_MALFORMED,
			    "X-Amz-Date missing or not YYYYMMDDTHHMMSSZ");
	} else if (!(k = find_key(cfg, a->access_key))) {
		v = verdict(res, SIGV4_UNKNOWN_KEY,
			    "access key '%s' is not configured", a->access_key);
	}
	if (v == SIGV4_OK)
		v = check_scope(a, amz_date, cfg, res);
	if (v == SIGV4_OK)
		v = check_signed_headers(r, a, res);
	if (v == SIGV4_OK && cfg->max_skew_seconds > 0 &&
	    (t > cfg->now + cfg->max_skew_seconds ||
	     t < cfg->now - cfg->max_skew_seconds))
		v = verdict(res, SIGV4_STALE,
			    "X-Amz-Date %s is %ld s from the server clock "
			    "(allowed %d)",
			    amz_date, (long)(t - cfg->now),
			    cfg->max_skew_seconds);
	if (v == SIGV4_OK && k->session_token) {
		const char *tok = find_header(r, "x-amz-security-token");
		if (!tok || strcmp(tok, k->session_token) != 0)
			v = verdict(res, SIGV4_BAD_TOKEN,
				    "X-Amz-Security-Token %s for access key %s",
				    tok ? "differs" : "missing", k->access_key);
	}
	if (v == SIGV4_OK) {
		struct sigv4_request signed_r = *r;
		signed_r.signed_headers = a->signed_headers;
		struct sigv4_scope s = {amz_date, a->region, a->service};
		char sig[65];
		if (compute_signature(&signed_r, &s, k->secret_key, sig,
				      &res->canonical_request,
				      &res->string_to_sign)) {
			v = verdict(res, SIGV4_MALFORMED,
				    "cannot build the canonical request");
		} else if (CRYPTO_memcmp(sig, a->signature, 64) != 0) {
			res->verdict = v = SIGV4_MISMATCH;
			diagnose_mismatch(&signed_r, &s, k, a->signature, res);
		}
	}
	free(a);
	res->verdict = v;
	return v;
}

void sigv4_verify_result_free(struct sigv4_verify_result *res)
{
	free(res->canonical_request);
	free(res->string_to_sign);
	res->canonical_request = res->string_to_sign = NULL;
}
