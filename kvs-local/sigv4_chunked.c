/* AWS Signature V4 chunk signatures ("aws-chunked"; see sigv4_chunked.h). */
#include "sigv4_chunked.h"
#include "strbuf.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	ST_HEAD,       /* reading "hex;chunk-signature=SIG\r\n" */
	ST_DATA,       /* reading the chunk's data */
	ST_DATA_CRLF,  /* the "\r\n" after the data */
	ST_FINAL_CRLF, /* the "\r\n" after the final chunk's head */
	ST_DONE,
	ST_ERROR,
};

#define CHUNK_SIG_KEY ";chunk-signature="

int sigv4_chunk_chain_init(struct sigv4_chunk_chain *c, const char *secret,
			   const struct sigv4_scope *scope, const char *seed)
{
	memset(c, 0, sizeof *c);
	if (!secret || !scope || !scope->amz_date || !seed ||
	    strlen(scope->amz_date) != 16 || strlen(seed) != 64 ||
	    strspn(seed, "0123456789abcdef") != 64)
		return -1;
	char date8[9];
	snprintf(date8, sizeof date8, "%.8s", scope->amz_date);
	int n = snprintf(c->scope, sizeof c->scope, "%s/%s/%s/aws4_request",
			 date8, scope->region, scope->service);
	if (n < 0 || (size_t)n >= sizeof c->scope)
		return -1;
	memcpy(c->amz_date, scope->amz_date, 17);
	memcpy(c->previous, seed, 65);
	sigv4_signing_key(secret, date8, scope->region, scope->service, c->key);
	return 0;
}

char *sigv4_chunk_string_to_sign(const struct sigv4_chunk_chain *c,
				 const char *data_sha256_hex)
{
	struct strbuf b = STRBUF_INIT;
	sb_printf(&b, "%s\n%s\n%s\n%s\n%s\n%s", SIGV4_CHUNK_STRING_PREFIX,
		  c->amz_date, c->scope, c->previous, SIGV4_EMPTY_SHA256,
		  data_sha256_hex);
	return sb_detach(&b);
}

/* Signature of the chunk hashing to `hash`; 0 on success. */
static int chunk_signature(const struct sigv4_chunk_chain *c, const char *hash,
			   char out[65])
{
	char *sts = sigv4_chunk_string_to_sign(c, hash);
	if (!sts)
		return -1;
	sigv4_signature(c->key, sts, out);
	free(sts);
	return 0;
}

void sigv4_chunk_sign(struct sigv4_chunk_chain *c, const void *data, size_t n,
		      char out[65])
{
	char hash[65];
	sigv4_sha256_hex(n ? data : "", n, hash);
	if (chunk_signature(c, hash, out))
		out[0] = 0;
	memcpy(c->previous, out, 65);
}

size_t sigv4_chunk_head(struct sigv4_chunk_chain *c, const void *data, size_t n,
			char out[96])
{
	char sig[65];
	sigv4_chunk_sign(c, data, n, sig);
	int k = snprintf(out, 96, "%zx" CHUNK_SIG_KEY "%s\r\n", n, sig);
	return k > 0 ? (size_t)k : 0;
}

void sigv4_chunk_chain_wipe(struct sigv4_chunk_chain *c)
{
	OPENSSL_cleanse(c->key, sizeof c->key);
}

int sigv4_chunked_init(struct sigv4_chunked *d, const char *secret,
		       const struct sigv4_scope *scope, const char *seed,
		       size_t max_chunk)
{
	memset(d, 0, sizeof *d);
	d->max_chunk = max_chunk;
	d->state = ST_HEAD;
	d->verify = secret != NULL;
	if (d->verify && sigv4_chunk_chain_init(&d->chain, secret, scope, seed))
		return -1;
	return 0;
}

void sigv4_chunked_free(struct sigv4_chunked *d)
{
	sigv4_chunk_chain_wipe(&d->chain);
	free(d->data);
	d->data = NULL;
	d->cap = 0;
}

static enum sigv4_chunked_status chunked_error(struct sigv4_chunked *d,
					       const char *what)
{
	snprintf(d->error, sizeof d->error,
		 "aws-chunked body, chunk %llu at byte %llu: %s",
		 (unsigned long long)d->chunks + 1,
		 (unsigned long long)d->offset, what);
	d->state = ST_ERROR;
	return SIGV4_CHUNKED_ERROR;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse the complete head in d->head (without its CRLF). */
static enum sigv4_chunked_status parse_head(struct sigv4_chunked *d)
{
	const char *p = d->head;
	uint64_t size = 0;
	int digits = 0;
	for (; hexval(*p) >= 0; p++) {
		if (++digits > 15)
			return chunked_error(d, "chunk size too long");
		size = size * 16 + (uint64_t)hexval(*p);
	}
	size_t keylen = strlen(CHUNK_SIG_KEY);
	if (!digits || strncmp(p, CHUNK_SIG_KEY, keylen) != 0)
		return chunked_error(d, "head is not "
					"hex;chunk-signature=SIGNATURE");
	p += keylen;
	if (strlen(p) != 64 || strspn(p, "0123456789abcdef") != 64)
		return chunked_error(d, "chunk-signature is not 64 lowercase "
					"hex digits");
	if (size > d->max_chunk)
		return chunked_error(d, "chunk larger than this server takes");
	memcpy(d->chunk_sig, p, 65);
	d->size = (size_t)size;
	d->have = 0;
	if (d->size > d->cap) {
		uint8_t *nd = realloc(d->data, d->size);
		if (!nd)
			return chunked_error(d, "out of memory");
		d->data = nd;
		d->cap = d->size;
	}
	return SIGV4_CHUNKED_MORE;
}

/* The chunk's data (maybe none) is complete: check its signature. */
static enum sigv4_chunked_status check_chunk(struct sigv4_chunked *d)
{
	if (d->verify) {
		char hash[65], want[65];
		sigv4_sha256_hex(d->size ? (const void *)d->data : "", d->size,
				 hash);
		if (chunk_signature(&d->chain, hash, want))
			return chunked_error(d, "out of memory");
		if (CRYPTO_memcmp(want, d->chunk_sig, 64) != 0)
			return chunked_error(d, "chunk-signature does not "
						"match (wrong order, altered "
						"data or another key)");
		memcpy(d->chain.previous, want, 65);
	}
	d->chunks++;
	return SIGV4_CHUNKED_MORE;
}

/* Expect the two bytes "\r\n"; d->have counts those seen. */
static int take_crlf(struct sigv4_chunked *d, const uint8_t *in, size_t n,
		     size_t *i)
{
	while (*i < n && d->have < 2) {
		if (in[*i] != (d->have ? '\n' : '\r'))
			return -1;
		d->have++;
		(*i)++;
		d->offset++;
	}
	return d->have == 2 ? 1 : 0;
}

enum sigv4_chunked_status sigv4_chunked_feed(struct sigv4_chunked *d,
					     const uint8_t *in, size_t n,
					     size_t *used, const uint8_t **data,
					     size_t *len)
{
	size_t i = 0;
	enum sigv4_chunked_status rc = SIGV4_CHUNKED_MORE;
	*data = NULL;
	*len = 0;
	while (rc == SIGV4_CHUNKED_MORE && d->state != ST_DONE &&
	       d->state != ST_ERROR && i < n) {
		switch (d->state) {
		case ST_HEAD: {
			char ch = (char)in[i++];
			d->offset++;
			if (ch != '\n') {
				if (d->head_len + 1 >= sizeof d->head)
					rc = chunked_error(d, "chunk head too "
							      "long");
				else
					d->head[d->head_len++] = ch;
				break;
			}
			if (!d->head_len || d->head[d->head_len - 1] != '\r') {
				rc = chunked_error(d, "chunk head not ended "
						      "by CRLF");
				break;
			}
			d->head[d->head_len - 1] = 0;
			d->head_len = 0;
			rc = parse_head(d);
			if (rc == SIGV4_CHUNKED_MORE)
				d->state = d->size ? ST_DATA : ST_FINAL_CRLF;
			if (rc == SIGV4_CHUNKED_MORE && !d->size)
				rc = check_chunk(d);
			d->have = 0;
			break;
		}
		case ST_DATA: {
			size_t take = d->size - d->have;
			if (take > n - i)
				take = n - i;
			memcpy(d->data + d->have, in + i, take);
			d->have += take;
			i += take;
			d->offset += take;
			if (d->have == d->size) {
				d->have = 0;
				d->state = ST_DATA_CRLF;
			}
			break;
		}
		case ST_DATA_CRLF: {
			int k = take_crlf(d, in, n, &i);
			if (k < 0) {
				rc = chunked_error(d, "chunk data longer than "
						      "its size");
			} else if (k == 1) {
				rc = check_chunk(d);
				if (rc == SIGV4_CHUNKED_MORE) {
					d->state = ST_HEAD;
					d->have = 0;
					d->decoded += d->size;
					*data = d->data;
					*len = d->size;
					rc = SIGV4_CHUNKED_DATA;
				}
			}
			break;
		}
		case ST_FINAL_CRLF: {
			int k = take_crlf(d, in, n, &i);
			if (k < 0)
				rc = chunked_error(d, "trailing headers after "
						      "the final chunk are not "
						      "supported");
			else if (k == 1)
				d->state = ST_DONE;
			break;
		}
		}
	}
	*used = i;
	if (rc == SIGV4_CHUNKED_MORE && d->state == ST_DONE)
		return SIGV4_CHUNKED_DONE;
	if (rc == SIGV4_CHUNKED_MORE && d->state == ST_ERROR)
		return SIGV4_CHUNKED_ERROR;
	return rc;
}
