/* Chunk signatures (aws-chunked) against the worked example of the AWS S3
 * documentation, "Signature Calculations for the Authorization Header:
 * Transferring Payload in Multiple Chunks": a PUT of 66560 bytes of 'a' in
 * chunks of 65536 and 1024 bytes, signed with the documentation's example
 * key on 20130524 in us-east-1. The seed, every chunk signature and the
 * body length are AWS's published values, computed by AWS's code, not
 * ours. Then the decoder: the documented body decodes byte for byte fed in
 * any piece sizes; altered data, reordered chunks, a wrong seed, a lying
 * size and framing garbage are refused with a reason. */
#include "tests/unit/check.h"

#include "common/sigv4.h"
#include "kvs-local/sigv4_chunked.h"
#include "common/strbuf.h"

#include <stdlib.h>
#include <string.h>

static const char *SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
static const char *DATE = "20130524T000000Z";
static const char *SEED =
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
static const char *SIGS[3] = {
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
};
#define DATA_LEN 66560
#define BODY_LEN 66824 /* the documented Content-Length */

static const struct sigv4_scope SCOPE = {"20130524T000000Z", "us-east-1", "s3"};

static void test_seed(void)
{
	struct sigv4_header h[] = {
	    {"Host", "s3.amazonaws.com"},
	    {"x-amz-date", DATE},
	    {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
	    {"x-amz-content-sha256", SIGV4_STREAMING_PAYLOAD},
	    {"Content-Encoding", "aws-chunked"},
	    {"x-amz-decoded-content-length", "66560"},
	    {"Content-Length", "66824"},
	};
	struct sigv4_request r = {
	    .method = "PUT",
	    .path = "/examplebucket/chunkObject.txt",
	    .headers = h,
	    .n_headers = sizeof h / sizeof *h,
	    .payload_hash = SIGV4_STREAMING_PAYLOAD,
	    .s3_path = 1,
	};
	struct sigv4_key k = {"AKIAIOSFODNN7EXAMPLE", SECRET, NULL};
	char *authz = sigv4_authorization(&r, &SCOPE, &k);
	CHECK_STR_CONTAINS(authz, "Signature=4f232c4386841ef735655705268965c4"
				  "4a0e4690baa4adea153f7db9fa80a0a9");
	CHECK_STR_CONTAINS(authz, "SignedHeaders=content-encoding;content-"
				  "length;host;x-amz-content-sha256;x-amz-"
				  "date;x-amz-decoded-content-length;x-amz-"
				  "storage-class");
	free(authz);
}

/* The documented body, encoded by our signer. */
static char *encode_body(size_t *len)
{
	static uint8_t data[DATA_LEN];
	memset(data, 'a', sizeof data);
	struct sigv4_chunk_chain c;
	CHECK_EQ_INT(sigv4_chunk_chain_init(&c, SECRET, &SCOPE, SEED), 0);
	struct strbuf b = STRBUF_INIT;
	size_t sizes[3] = {65536, 1024, 0}, off = 0;
	for (int i = 0; i < 3; i++) {
		char head[96];
		size_t hl = sigv4_chunk_head(&c, data + off, sizes[i], head);
		CHECK_STR_CONTAINS(head, SIGS[i]);
		sb_append(&b, head, hl);
		sb_append(&b, data + off, sizes[i]);
		sb_puts(&b, "\r\n");
		off += sizes[i];
	}
	sigv4_chunk_chain_wipe(&c);
	*len = b.len;
	return sb_detach(&b);
}

static void test_string_to_sign(void)
{
	struct sigv4_chunk_chain c;
	sigv4_chunk_chain_init(&c, SECRET, &SCOPE, SEED);
	char *sts = sigv4_chunk_string_to_sign(
	    &c, "bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2"
		"f9f9c5a");
	CHECK(sts &&
	      !strcmp(sts, "AWS4-HMAC-SHA256-PAYLOAD\n"
			   "20130524T000000Z\n"
			   "20130524/us-east-1/s3/aws4_request\n"
			   "4f232c4386841ef735655705268965c44a0e4690baa4a"
			   "dea153f7db9fa80a0a9\n"
			   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b9"
			   "34ca495991b7852b855\n"
			   "bf718b6f653bebc184e1479f1935b8da974d701b893af"
			   "cf49e701f3e2f9f9c5a"));
	free(sts);
	CHECK_EQ_INT(sigv4_chunk_chain_init(&c, SECRET, &SCOPE, "nothex"), -1);
}

/* Decode body in pieces of `step` bytes; returns the status at the end
 * and the number of decoded bytes (all 'a'). */
static int decode(const char *secret, const char *seed, const char *body,
		  size_t len, size_t step, size_t *decoded, char *why,
		  size_t whyn)
{
	struct sigv4_chunked d;
	if (sigv4_chunked_init(&d, secret, &SCOPE, seed, 1 << 20))
		return -9;
	size_t off = 0;
	int rc = SIGV4_CHUNKED_MORE;
	*decoded = 0;
	bool all_a = true;
	while (off < len && rc != SIGV4_CHUNKED_ERROR &&
	       rc != SIGV4_CHUNKED_DONE) {
		size_t n = len - off < step ? len - off : step, used;
		const uint8_t *data;
		size_t dl;
		rc = sigv4_chunked_feed(&d, (const uint8_t *)body + off, n,
					&used, &data, &dl);
		for (size_t i = 0; i < dl; i++)
			all_a = all_a && data[i] == 'a';
		*decoded += dl;
		off += used;
		if (rc == SIGV4_CHUNKED_MORE && used < n)
			rc = -8; /* must take all it is given */
	}
	if (secret) /* decode-only hands altered data out as it is */
		CHECK(all_a);
	if (rc == SIGV4_CHUNKED_DONE && off != len)
		rc = -7; /* bytes after the end */
	snprintf(why, whyn, "%s", d.error);
	sigv4_chunked_free(&d);
	return rc;
}

static void test_decode(void)
{
	size_t len, decoded;
	char why[200];
	char *body = encode_body(&len);
	CHECK_EQ_INT(len, BODY_LEN);
	size_t steps[] = {1, 7, 100, 4096, 65536 + 90, BODY_LEN};
	for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
		CHECK_EQ_INT(decode(SECRET, SEED, body, len, steps[i], &decoded,
				    why, sizeof why),
			     SIGV4_CHUNKED_DONE);
		CHECK_EQ_INT(decoded, DATA_LEN);
	}
	/* altered data: the first chunk is never handed out */
	char *bad = malloc(len);
	memcpy(bad, body, len);
	bad[200] = 'b';
	CHECK_EQ_INT(
	    decode(SECRET, SEED, bad, len, 4096, &decoded, why, sizeof why),
	    SIGV4_CHUNKED_ERROR);
	CHECK_EQ_INT(decoded, 0);
	CHECK_STR_CONTAINS(why, "chunk 1 at byte");
	CHECK_STR_CONTAINS(why, "does not match");
	/* wrong seed, wrong secret */
	CHECK_EQ_INT(
	    decode(SECRET, SIGS[0], body, len, 4096, &decoded, why, sizeof why),
	    SIGV4_CHUNKED_ERROR);
	CHECK_EQ_INT(
	    decode("other", SEED, body, len, 4096, &decoded, why, sizeof why),
	    SIGV4_CHUNKED_ERROR);
	/* decode-only mode takes any signature */
	CHECK_EQ_INT(
	    decode(NULL, NULL, bad, len, 4096, &decoded, why, sizeof why),
	    SIGV4_CHUNKED_DONE);
	/* the second chunk's head with the first's signature: reordering */
	memcpy(bad, body, len);
	char *second = strstr(bad + 65536, "400;chunk-signature=");
	CHECK(second != NULL);
	if (second) {
		memcpy(second + 20, SIGS[0], 64);
		CHECK_EQ_INT(decode(SECRET, SEED, bad, len, 333, &decoded, why,
				    sizeof why),
			     SIGV4_CHUNKED_ERROR);
		CHECK_EQ_INT(decoded, 65536); /* the first chunk was fine */
		CHECK_STR_CONTAINS(why, "chunk 2");
		/* a size that lies: 401 instead of 400 */
		memcpy(bad, body, len);
		second = strstr(bad + 65536, "400;chunk-signature=");
		second[2] = '1';
		CHECK_EQ_INT(decode(NULL, NULL, bad, len, 333, &decoded, why,
				    sizeof why),
			     SIGV4_CHUNKED_ERROR);
		CHECK_STR_CONTAINS(why, "longer than its size");
	}
	free(bad);
	free(body);
	/* framing garbage, an endless head, a chunk over the limit,
	 * trailers (not supported) */
	static const char *garbage[] = {
	    "zz;chunk-signature=00\r\n",
	    "10;chunk-signature=abc\r\n",
	    "10\r\n0123456789abcdef\r\n",
	    "10;chunk-signature=0000000000000000000000000000000000000000000"
	    "000000000000000000000\n",
	    "fffffffffffffff;chunk-signature=0000000000000000000000000000000"
	    "000000000000000000000000000000000\r\n",
	    "0;chunk-signature=000000000000000000000000000000000000000000000"
	    "0000000000000000000\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++)
		CHECK_EQ_INT(decode(NULL, NULL, garbage[i], strlen(garbage[i]),
				    3, &decoded, why, sizeof why),
			     SIGV4_CHUNKED_ERROR);
	char endless[400];
	memset(endless, '1', sizeof endless);
	CHECK_EQ_INT(decode(NULL, NULL, endless, sizeof endless, 50, &decoded,
			    why, sizeof why),
		     SIGV4_CHUNKED_ERROR);
	CHECK_STR_CONTAINS(why, "too long");
}

int main(void)
{
	test_seed();
	test_string_to_sign();
	test_decode();
	return check_done();
}
