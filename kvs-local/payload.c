/* X-Amz-Content-Sha256 against the body it claims to hash. The signature
 * covers the header, not the body: without this check a signed request
 * could carry any body. Rules (docs/kvs-local.md, Signatures):
 *   - a fixed hex hash must be the SHA-256 of the body, for every request;
 *     a PutMedia body with one is read whole (spooled to an unlinked file
 *     in the data directory, at most KL_MAX_SPOOLED_BODY) and only handed
 *     to PutMedia once it matches, so nothing of a forged body is stored;
 *   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD (chunk signatures, putmedia.c) and
 *     UNSIGNED-PAYLOAD are for PutMedia only, the one streaming upload;
 *   - no header: the signature was computed over the body's hash (JSON
 *     requests) or, for PutMedia, as the producer SDKs sign it (empty or
 *     unsigned payload). */
#include "kvs_local.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static bool is_hex_hash(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F')))
			return false;
	return true;
}

static int mismatch(struct kl_conn *c, const char *claimed, const char *got)
{
	c->close_after = true;
	kl_send_error(c, 400, "XAmzContentSHA256Mismatch",
		      "X-Amz-Content-Sha256 %s is not the SHA-256 of the body "
		      "(%s); nothing was stored",
		      claimed, got);
	return -1;
}

/* An unlinked file in dir for a body being verified. */
static FILE *spool_file(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		char path[1100];
		snprintf(path, sizeof path, "%s/.spool-XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "w+b");
	if (!f)
		close(fd);
	return f;
}

struct spool {
	FILE *file;
	EVP_MD_CTX *sha;
	struct http_chunked ch;
	bool chunked;
	int64_t left; /* Content-Length bytes still to come */
	uint64_t decoded;
};

/* Take what c->buf holds of the body: 1 at its end, 0 for more, -1 on
 * bad chunked framing or a body over the limit (error sent). */
static int spool_take(struct spool *sp, struct kl_conn *c)
{
	while (c->len > 0) {
		size_t used = c->len, dl = c->len;
		const uint8_t *d = c->buf;
		int rc = HTTP_CHUNK_DATA;
		if (sp->chunked)
			rc = http_chunked_feed(&sp->ch, c->buf, c->len, &used,
					       &d, &dl);
		else if ((int64_t)used > sp->left)
			used = dl = (size_t)sp->left;
		if (rc == HTTP_CHUNK_ERROR) {
			kl_send_error(c, 400, "InvalidArgumentException",
				      "bad chunked encoding at body byte %llu",
				      (unsigned long long)sp->ch.total);
			return -1;
		}
		if (rc == HTTP_CHUNK_DATA && dl)
			EVP_DigestUpdate(sp->sha, d, dl);
		sp->decoded += rc == HTTP_CHUNK_DATA ? dl : 0;
		if (fwrite(c->buf, 1, used, sp->file) != used) {
			kl_send_error(c, 500, "InternalFailure",
				      "cannot hold the body to verify it: %s",
				      strerror(errno));
			return -1;
		}
		kl_conn_consume(c, used);
		if (!sp->chunked)
			sp->left -= (int64_t)used;
		if (sp->decoded > (uint64_t)KL_MAX_SPOOLED_BODY) {
			kl_send_error(c, 413, "InvalidArgumentException",
				      "a PutMedia body with a fixed "
				      "X-Amz-Content-Sha256 is over %lld "
				      "bytes: stream it "
				      "(STREAMING-AWS4-HMAC-SHA256-PAYLOAD)",
				      (long long)KL_MAX_SPOOLED_BODY);
			return -1;
		}
		if (rc == HTTP_CHUNK_DONE || (!sp->chunked && sp->left == 0))
			return 1;
		if (rc == HTTP_CHUNK_MORE)
			break;
	}
	return !sp->chunked && sp->left == 0 ? 1 : 0;
}

/* Read the whole body into sp; 0 at its end, else the error was sent. */
static int spool_body(struct kl_server *srv, struct kl_conn *c,
		      struct spool *sp)
{
	int timeout = srv->cfg.body_timeout_ms;
	/* a large body may take longer, at no less than 1 MB/s */
	int64_t deadline =
	    kl_now_ms() + timeout +
	    (sp->chunked ? KL_MAX_SPOOLED_BODY : sp->left) / 1000;
	for (;;) {
		int rc = spool_take(sp, c);
		if (rc)
			return rc > 0 ? 0 : -1;
		int64_t left = deadline - kl_now_ms();
		if (left <= 0) {
			kl_send_error(c, 408, "RequestTimeoutException",
				      "body not complete in time "
				      "(--body-timeout %d ms, then 1 MB/s): "
				      "%llu bytes arrived",
				      timeout, (unsigned long long)sp->decoded);
			return -1;
		}
		rc = kl_conn_fill(c, left < 1000 ? (int)left : 1000);
		if (rc == -2)
			continue;
		if (rc <= 0) {
			kl_send_error(c, 400, "InvalidArgumentException",
				      "body ended after %llu bytes",
				      (unsigned long long)sp->decoded);
			return -1;
		}
	}
}

static void hex(const unsigned char *d, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* A PutMedia body with a fixed hash: read, hash, keep; replayed from
 * c->replay to the handler once it matches. */
static int verify_streaming_body(struct kl_server *srv, struct kl_conn *c,
				 struct kl_request *r, const char *claimed)
{
	struct spool sp = {0};
	sp.chunked = http_is_chunked(&r->head);
	sp.left = http_content_length(&r->head);
	if (!sp.chunked && sp.left < 0)
		return 0;      /* no body: PutMedia answers 411 */
	c->close_after = true; /* one PutMedia per connection anyway */
	if (!sp.chunked && sp.left > KL_MAX_SPOOLED_BODY) {
		kl_send_error(
		    c, 413, "InvalidArgumentException",
		    "a PutMedia body with a fixed X-Amz-Content-Sha256 "
		    "takes at most %lld bytes, not %lld: stream it "
		    "(STREAMING-AWS4-HMAC-SHA256-PAYLOAD)",
		    (long long)KL_MAX_SPOOLED_BODY, (long long)sp.left);
		return -1;
	}
	http_chunked_init(&sp.ch);
	sp.file = spool_file(srv->store.dir);
	sp.sha = EVP_MD_CTX_new();
	int rc = -1;
	if (!sp.file || !sp.sha ||
	    !EVP_DigestInit_ex(sp.sha, EVP_sha256(), NULL))
		kl_send_error(c, 500, "InternalFailure",
			      "cannot hold the body to verify it: %s",
			      strerror(errno));
	else if (spool_body(srv, c, &sp) == 0) {
		unsigned char d[EVP_MAX_MD_SIZE];
		unsigned n = 0;
		char got[2 * EVP_MAX_MD_SIZE + 1] = "";
		EVP_DigestFinal_ex(sp.sha, d, &n);
		hex(d, n, got);
		if (strcasecmp(got, claimed))
			rc = mismatch(c, claimed, got);
		else
			rc = 0;
	}
	EVP_MD_CTX_free(sp.sha);
	if (rc == 0) {
		c->len = 0; /* after the body: nothing more is read */
		rewind(sp.file);
		c->replay = sp.file;
	} else if (sp.file)
		fclose(sp.file);
	return rc;
}

int kl_check_payload(struct kl_server *srv, struct kl_conn *c,
		     struct kl_request *r, bool streaming)
{
	const char *claimed = http_header_get(&r->head, "x-amz-content-sha256");
	if (!claimed)
		return 0;
	if (is_hex_hash(claimed)) {
		if (streaming)
			return verify_streaming_body(srv, c, r, claimed);
		char got[65];
		sigv4_sha256_hex(r->body ? r->body : "", r->body_len, got);
		return strcasecmp(got, claimed) ? mismatch(c, claimed, got) : 0;
	}
	if (streaming && (!strcmp(claimed, SIGV4_UNSIGNED_PAYLOAD) ||
			  !strcmp(claimed, SIGV4_STREAMING_PAYLOAD)))
		return 0;
	c->close_after = true;
	kl_send_error(c, 400, "InvalidArgumentException",
		      "X-Amz-Content-Sha256 '%.80s' is not taken for %s: send "
		      "the SHA-256 of the body in hex%s",
		      claimed, r->op,
		      streaming ? ", UNSIGNED-PAYLOAD or "
				  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
				: "");
	return -1;
}
