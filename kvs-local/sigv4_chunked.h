/* AWS Signature V4 for streamed payloads ("aws-chunked"): signing and
 * verifying the per-chunk signatures of a body whose request is signed
 * with X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD, as the S3
 * API documents it ("Signature Calculations for the Authorization Header:
 * Transferring Payload in Multiple Chunks") and KVS producers may send it.
 *
 * The body is a series of chunks, the last one empty:
 *     hex(size) ";chunk-signature=" SIGNATURE "\r\n" DATA "\r\n"
 *     "0;chunk-signature=" SIGNATURE "\r\n" "\r\n"
 * Each SIGNATURE is hex HMAC-SHA256(signing key, string to sign) with
 *     "AWS4-HMAC-SHA256-PAYLOAD\n" X-Amz-Date "\n" scope "\n"
 *     previous signature "\n" hex SHA-256("") "\n" hex SHA-256(DATA)
 * where the first chunk's previous signature is the request's own (the
 * "seed", from its Authorization header) and scope is
 * DATE/REGION/SERVICE/aws4_request. The chain fixes the order of chunks.
 * (This framing lives inside the HTTP body: with Transfer-Encoding:
 * chunked it is what the HTTP de-chunker yields.) */
#ifndef VPIPE_COMMON_SIGV4_CHUNKED_H
#define VPIPE_COMMON_SIGV4_CHUNKED_H

#include "sigv4.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGV4_CHUNK_STRING_PREFIX "AWS4-HMAC-SHA256-PAYLOAD"

/* The chain state, shared by signer and verifier. */
struct sigv4_chunk_chain {
	uint8_t key[32];   /* derived signing key */
	char amz_date[17]; /* YYYYMMDDTHHMMSSZ */
	char scope[200];   /* DATE/REGION/SERVICE/aws4_request */
	char previous[65]; /* the last signature (the seed at first) */
};

/* Start a chain from the request's secret, scope and seed signature.
 * -1 if an argument is malformed (seed not 64 hex digits, scope too
 * long). */
int sigv4_chunk_chain_init(struct sigv4_chunk_chain *c, const char *secret,
			   const struct sigv4_scope *scope, const char *seed);
/* The string to sign for a chunk whose data hashes to data_sha256_hex
 * (malloc'ed; NULL when out of memory). */
char *sigv4_chunk_string_to_sign(const struct sigv4_chunk_chain *c,
				 const char *data_sha256_hex);
/* Sign the next chunk (n = 0 for the final one): out gets the signature,
 * which becomes the chain's previous one. */
void sigv4_chunk_sign(struct sigv4_chunk_chain *c, const void *data, size_t n,
		      char out[65]);
/* The chunk head "hex(n);chunk-signature=SIG\r\n" for the next chunk,
 * signing it. Returns the head's length (out holds at least 96 bytes). */
size_t sigv4_chunk_head(struct sigv4_chunk_chain *c, const void *data, size_t n,
			char out[96]);
void sigv4_chunk_chain_wipe(struct sigv4_chunk_chain *c);

/* Incremental decoder and verifier. A chunk's data is handed out only once
 * its signature is checked, so it is held until complete: chunks larger
 * than max_chunk are refused. */
enum sigv4_chunked_status {
	SIGV4_CHUNKED_ERROR = -1, /* see d->error; no more input accepted */
	SIGV4_CHUNKED_MORE = 0,	  /* all input used, want more */
	SIGV4_CHUNKED_DATA = 1,	  /* a verified chunk: data/len */
	SIGV4_CHUNKED_DONE = 2,	  /* the final chunk was verified */
};

struct sigv4_chunked {
	struct sigv4_chunk_chain chain;
	bool verify; /* false: only strip the framing */
	size_t max_chunk;
	int state;
	char head[160];
	size_t head_len;
	char chunk_sig[65];
	uint8_t *data; /* the chunk being received */
	size_t size, have, cap;
	uint64_t chunks;  /* verified so far */
	uint64_t offset;  /* encoded bytes consumed so far */
	uint64_t decoded; /* data bytes handed out */
	char error[200];
};

/* verify with chain (secret, scope, seed as for sigv4_chunk_chain_init),
 * or secret NULL to only decode. -1 on bad arguments. */
int sigv4_chunked_init(struct sigv4_chunked *d, const char *secret,
		       const struct sigv4_scope *scope, const char *seed,
		       size_t max_chunk);
/* Consume input; *used says how much was taken. On DATA, data/len hold the
 * verified chunk until the next call. */
enum sigv4_chunked_status sigv4_chunked_feed(struct sigv4_chunked *d,
					     const uint8_t *in, size_t n,
					     size_t *used, const uint8_t **data,
					     size_t *len);
void sigv4_chunked_free(struct sigv4_chunked *d);
#endif
