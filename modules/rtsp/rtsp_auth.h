/* RTSP URLs and authentication: pure code (OpenSSL for the hashes).
 *
 *  - rtsp_url_parse splits rtsp://user:pass@host:port/path, percent-
 *    decodes the credentials and keeps a request URL without them;
 *  - rtsp_url_masked gives the form that may be logged (password "***");
 *  - Basic (RFC 7617) and Digest (RFC 2617, RFC 7616: MD5, MD5-sess,
 *    SHA-256, SHA-256-sess, qop=auth or none) Authorization values from a
 *    WWW-Authenticate challenge. */
#ifndef VPIPE_RTSP_AUTH_H
#define VPIPE_RTSP_AUTH_H

#include <stddef.h>

#define RTSP_URL_MAX  1024
#define RTSP_CRED_MAX 256

struct rtsp_url {
	char host[256]; /* without [] for IPv6 literals */
	int port;	/* 554 when absent */
	char user[RTSP_CRED_MAX];
	char pass[RTSP_CRED_MAX];
	int has_user;
	char request[RTSP_URL_MAX]; /* rtsp://host:port/path, no credentials */
};

/* Returns 0, or -1 with a reason in err. */
int rtsp_url_parse(const char *url, struct rtsp_url *u, char *err,
		   size_t err_size);

/* url with any password replaced by "***" (no other change). */
void rtsp_url_masked(const char *url, char *out, size_t out_size);

enum rtsp_auth_scheme {
	RTSP_AUTH_NONE = 0,
	RTSP_AUTH_BASIC,
	RTSP_AUTH_DIGEST,
};

struct rtsp_auth {
	int scheme;
	char realm[256];
	char nonce[256];
	char opaque[256];
	char algorithm[32]; /* "MD5" when absent */
	int qop_auth;	    /* server offered qop=auth */
	int stale;
	unsigned nc; /* nonce count, per nonce */
	char cnonce[65];
};

/* Read one WWW-Authenticate value. Keeps the stronger scheme when called
 * for several headers (Digest over Basic; among Digest, SHA-256 over
 * MD5). Returns 0 when understood, -1 for an unknown scheme/algorithm. */
int rtsp_auth_challenge(struct rtsp_auth *a, const char *value);

/* Authorization header value for one request. cnonce: the client nonce
 * used with qop=auth or -sess algorithms (a fresh random hex string,
 * at most 64 characters). Returns 0, or -1 when the value does not fit. */
int rtsp_auth_header(struct rtsp_auth *a, const char *user, const char *pass,
		     const char *method, const char *uri, const char *cnonce,
		     char *out, size_t out_size);

/* RFC 4648 base64 with padding; returns the encoded length or -1. */
int base64_encode(const unsigned char *in, size_t len, char *out,
		  size_t out_size);

#endif
