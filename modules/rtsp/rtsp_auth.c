/* RTSP URLs and authentication: see rtsp_auth.h. */
#include "rtsp_auth.h"

#include <ctype.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode n bytes of src into dst (a C string). */
static int pct_decode(const char *src, size_t n, char *dst, size_t dst_size)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int h = hexval(src[i + 1]), l = hexval(src[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (o + 1 >= dst_size || c == 0)
			return -1;
		dst[o++] = c;
	}
	dst[o] = 0;
	return 0;
}

/* Start of the authority, its end, and the '@' in it (or NULL). */
static int split_authority(const char *url, const char **auth,
			   const char **auth_end, const char **at)
{
	const char *sep = strstr(url, "://");
	if (!sep)
		return -1;
	*auth = sep + 3;
	*auth_end = *auth + strcspn(*auth, "/?#");
	*at = NULL;
	for (const char *p = *auth; p < *auth_end; p++)
		if (*p == '@')
			*at = p; /* the last '@': passwords may hold one */
	return 0;
}

int rtsp_url_parse(const char *url, struct rtsp_url *u, char *err,
		   size_t err_size)
{
	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "rtsp://", 7) != 0) {
		snprintf(err, err_size, "URL must start with rtsp://");
		return -1;
	}
	const char *auth, *end, *at;
	split_authority(url, &auth, &end, &at);
	const char *hp = auth;
	if (at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		size_t ul =
		    colon ? (size_t)(colon - auth) : (size_t)(at - auth);
		if (pct_decode(auth, ul, u->user, sizeof(u->user)) < 0 ||
		    (colon && pct_decode(colon + 1, (size_t)(at - colon - 1),
					 u->pass, sizeof(u->pass)) < 0)) {
			snprintf(err, err_size,
				 "URL credentials: bad percent-encoding or too "
				 "long");
			return -1;
		}
		u->has_user = 1;
		hp = at + 1;
	}
	const char *port_colon = NULL;
	size_t hl;
	if (*hp == '[') {
		const char *rb = memchr(hp, ']', (size_t)(end - hp));
		if (!rb) {
			snprintf(err, err_size,
				 "URL: unterminated [IPv6] host");
			return -1;
		}
		hl = (size_t)(rb - hp - 1);
		if (hl >= sizeof(u->host))
			hl = sizeof(u->host); /* reported below */
		else
			memcpy(u->host, hp + 1, hl);
		if (rb + 1 < end && rb[1] == ':')
			port_colon = rb + 1;
		else if (rb + 1 != end) {
			snprintf(err, err_size, "URL: junk after [IPv6] host");
			return -1;
		}
	} else {
		port_colon = memchr(hp, ':', (size_t)(end - hp));
		hl = (size_t)((port_colon ? port_colon : end) - hp);
		if (hl < sizeof(u->host))
			memcpy(u->host, hp, hl);
	}
	if (hl == 0 || hl >= sizeof(u->host)) {
		snprintf(err, err_size, "URL: empty or too long host");
		return -1;
	}
	u->port = 554;
	if (port_colon) {
		char *pe;
		long port = strtol(port_colon + 1, &pe, 10);
		if (pe != end || port < 1 || port > 65535) {
			snprintf(err, err_size,
				 "URL: port must be 1..65535 (at byte %zu)",
				 (size_t)(port_colon + 1 - url));
			return -1;
		}
		u->port = (int)port;
	}
	int n = snprintf(u->request, sizeof(u->request), "rtsp://%.*s%s",
			 (int)(end - hp), hp, end);
	if (n < 0 || (size_t)n >= sizeof(u->request)) {
		snprintf(err, err_size, "URL longer than %d bytes",
			 RTSP_URL_MAX - 1);
		return -1;
	}
	return 0;
}

void rtsp_url_masked(const char *url, char *out, size_t out_size)
{
	const char *auth, *end, *at;
	if (split_authority(url, &auth, &end, &at) < 0 || !at) {
		snprintf(out, out_size, "%s", url);
		return;
	}
	const char *colon = memchr(auth, ':', (size_t)(at - auth));
	if (!colon) {
		snprintf(out, out_size, "%s", url);
		return;
	}
	snprintf(out, out_size, "%.*s:***%s", (int)(colon - url), url, at);
}

int base64_encode(const unsigned char *in, size_t len, char *out,
		  size_t out_size)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t need = 4 * ((len + 2) / 3) + 1;
	if (need > out_size)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? tbl[v & 63] : '=';
	}
	out[o] = 0;
	return (int)o;
}

/* Next "key=value" or key="quoted value" of a challenge. */
static const char *next_param(const char *p, char *key, size_t ks, char *val,
			      size_t vs)
{
	while (*p == ' ' || *p == ',' || *p == '\t')
		p++;
	if (!*p)
		return NULL;
	size_t kl = strcspn(p, "= ,");
	if (p[kl] != '=')
		return NULL;
	snprintf(key, ks, "%.*s", (int)kl, p);
	p += kl + 1;
	size_t o = 0;
	if (*p == '"') {
		p++;
		while (*p && *p != '"') {
			if (*p == '\\' && p[1])
				p++;
			if (o + 1 < vs)
				val[o++] = *p;
			p++;
		}
		if (*p == '"')
			p++;
	} else {
		while (*p && *p != ',' && *p != ' ') {
			if (o + 1 < vs)
				val[o++] = *p;
			p++;
		}
	}
	val[o] = 0;
	return p;
}

static int algorithm_rank(const char *alg)
{
	if (!strcasecmp(alg, "MD5") || !strcasecmp(alg, "MD5-sess"))
		return 1;
	if (!strcasecmp(alg, "SHA-256") || !strcasecmp(alg, "SHA-256-sess"))
		return 2;
	return 0;
}

int rtsp_auth_challenge(struct rtsp_auth *a, const char *value)
{
	while (*value == ' ')
		value++;
	if (!strncasecmp(value, "Basic", 5) &&
	    (value[5] == ' ' || value[5] == 0)) {
		if (a->scheme == RTSP_AUTH_NONE) {
			memset(a, 0, sizeof(*a));
			a->scheme = RTSP_AUTH_BASIC;
		}
		return 0;
	}
	if (strncasecmp(value, "Digest", 6) != 0 || value[6] != ' ')
		return -1;
	struct rtsp_auth d = {.scheme = RTSP_AUTH_DIGEST};
	snprintf(d.algorithm, sizeof(d.algorithm), "MD5");
	const char *p = value + 7;
	char key[32], val[256];
	while ((p = next_param(p, key, sizeof(key), val, sizeof(val)))) {
		if (!strcasecmp(key, "realm"))
			snprintf(d.realm, sizeof(d.realm), "%s", val);
		else if (!strcasecmp(key, "nonce"))
			snprintf(d.nonce, sizeof(d.nonce), "%s", val);
		else if (!strcasecmp(key, "opaque"))
			snprintf(d.opaque, sizeof(d.opaque), "%s", val);
		else if (!strcasecmp(key, "algorithm"))
			snprintf(d.algorithm, sizeof(d.algorithm), "%.31s",
				 val);
		else if (!strcasecmp(key, "stale"))
			d.stale = !strcasecmp(val, "true");
		else if (!strcasecmp(key, "qop")) {
			/* a list such as "auth,auth-int" */
			for (char *t = strtok(val, ", "); t;
			     t = strtok(NULL, ", "))
				if (!strcasecmp(t, "auth"))
					d.qop_auth = 1;
		}
	}
	int rank = algorithm_rank(d.algorithm);
	if (!rank || !d.nonce[0])
		return -1;
	if (a->scheme != RTSP_AUTH_DIGEST ||
	    rank >= algorithm_rank(a->algorithm))
		*a = d;
	return 0;
}

/* Hex digest of the concatenation of the given strings joined by ':'. */
static int hash_hex(const char *alg, char *out, size_t out_size, int count, ...)
{
	const EVP_MD *md =
	    strncasecmp(alg, "SHA-256", 7) == 0 ? EVP_sha256() : EVP_md5();
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -1;
	EVP_DigestInit_ex(ctx, md, NULL);
	va_list ap;
	va_start(ap, count);
	for (int i = 0; i < count; i++) {
		const char *s = va_arg(ap, const char *);
		if (i)
			EVP_DigestUpdate(ctx, ":", 1);
		EVP_DigestUpdate(ctx, s, strlen(s));
	}
	va_end(ap);
	EVP_DigestFinal_ex(ctx, dig, &dl);
	EVP_MD_CTX_free(ctx);
	if (out_size < 2 * dl + 1)
		return -1;
	for (unsigned i = 0; i < dl; i++)
		sprintf(out + 2 * i, "%02x", dig[i]);
	return 0;
}

static int digest_header(struct rtsp_auth *a, const char *user,
			 const char *pass, const char *method, const char *uri,
			 const char *cnonce, char *out, size_t out_size)
{
	char ha1[65], ha2[65], resp[65], nc[9];
	const char *alg = a->algorithm;
	int sess = strstr(alg, "-sess") || strstr(alg, "-SESS");
	if (a->qop_auth || sess) {
		a->nc++;
		snprintf(a->cnonce, sizeof(a->cnonce), "%s", cnonce);
	}
	snprintf(nc, sizeof(nc), "%08x", a->nc);
	if (hash_hex(alg, ha1, sizeof(ha1), 3, user, a->realm, pass) < 0)
		return -1;
	if (sess) {
		char base[65];
		memcpy(base, ha1, sizeof(base));
		if (hash_hex(alg, ha1, sizeof(ha1), 3, base, a->nonce,
			     a->cnonce) < 0)
			return -1;
	}
	if (hash_hex(alg, ha2, sizeof(ha2), 2, method, uri) < 0)
		return -1;
	int r = a->qop_auth
		    ? hash_hex(alg, resp, sizeof(resp), 6, ha1, a->nonce, nc,
			       a->cnonce, "auth", ha2)
		    : hash_hex(alg, resp, sizeof(resp), 3, ha1, a->nonce, ha2);
	if (r < 0)
		return -1;
	int n = snprintf(out, out_size,
			 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
			 "uri=\"%s\", response=\"%s\"",
			 user, a->realm, a->nonce, uri, resp);
	if (n < 0 || (size_t)n >= out_size)
		return -1;
	size_t used = (size_t)n;
	if (strcasecmp(alg, "MD5") != 0 || a->opaque[0] || a->qop_auth) {
		n = snprintf(out + used, out_size - used, ", algorithm=%s",
			     alg);
		used += (size_t)n;
	}
	if (used < out_size && a->opaque[0]) {
		n = snprintf(out + used, out_size - used, ", opaque=\"%s\"",
			     a->opaque);
		used += (size_t)n;
	}
	if (used < out_size && a->qop_auth) {
		n = snprintf(out + used, out_size - used,
			     ", qop=auth, nc=%s, cnonce=\"%s\"", nc, a->cnonce);
		used += (size_t)n;
	}
	return used < out_size ? 0 : -1;
}

int rtsp_auth_header(struct rtsp_auth *a, const char *user, const char *pass,
		     const char *method, const char *uri, const char *cnonce,
		     char *out, size_t out_size)
{
	if (a->scheme == RTSP_AUTH_BASIC) {
		char plain[2 * RTSP_CRED_MAX + 2];
		int n = snprintf(plain, sizeof(plain), "%s:%s", user, pass);
		if (n < 0 || (size_t)n >= sizeof(plain) || out_size < 7)
			return -1;
		memcpy(out, "Basic ", 6);
		int r = base64_encode((const unsigned char *)plain, (size_t)n,
				      out + 6, out_size - 6);
		memset(plain, 0, sizeof(plain));
		return r < 0 ? -1 : 0;
	}
	if (a->scheme == RTSP_AUTH_DIGEST)
		return digest_header(a, user, pass, method, uri, cnonce, out,
				     out_size);
	return -1;
}
