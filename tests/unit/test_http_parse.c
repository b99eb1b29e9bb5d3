/* HTTP head parsing and chunked decoding, including the malformed input
 * kvs-local must refuse. */
#include "tests/unit/check.h"

#include "kvs-local/http_parse.h"

static void test_request(void)
{
	const char *req = "POST /putMedia?a=1&b=2 HTTP/1.1\r\n"
			  "Host: 127.0.0.1:4567\r\n"
			  "X-Amzn-Stream-Name:  cam1 \r\n"
			  "Transfer-Encoding: chunked\r\n"
			  "\r\nBODY";
	struct http_head h;
	const char *err = NULL;
	long n = http_parse_request(req, strlen(req), &h, &err);
	CHECK_EQ_INT(n, (long)strlen(req) - 4);
	CHECK(strcmp(h.method, "POST") == 0);
	CHECK(strcmp(h.path, "/putMedia") == 0);
	CHECK(strcmp(h.query, "a=1&b=2") == 0);
	CHECK(strcmp(h.target, "/putMedia?a=1&b=2") == 0);
	CHECK(strcmp(http_header_get(&h, "x-amzn-stream-name"), "cam1") == 0);
	CHECK(http_is_chunked(&h));
	CHECK_EQ_INT(http_content_length(&h), -1);
	http_head_free(&h);
	/* incomplete: 0 */
	CHECK_EQ_INT(http_parse_request(req, 30, &h, &err), 0);
}

static void test_bad_requests(void)
{
	static const char *bad[] = {
	    "GET / HTTP/1.1\r\nFolded: a\r\n b\r\n\r\n",
	    "GET / HTTP/2.0\r\n\r\n",
	    "GET  / HTTP/1.1\r\n\r\n",
	    "GET / HTTP/1.1\r\nNo colon\r\n\r\n",
	    "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
	    "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
	    "G(T / HTTP/1.1\r\n\r\n",
	    "GET nopath HTTP/1.1\r\n\r\n",
	    "\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct http_head h;
		const char *err = NULL;
		long n = http_parse_request(bad[i], strlen(bad[i]), &h, &err);
		CHECK_EQ_INT(n, -1);
		CHECK(err != NULL);
	}
	struct http_head h;
	const char *cl = "POST / HTTP/1.1\r\nContent-Length: 5\r\n"
			 "Content-Length: 6\r\n\r\n";
	CHECK(http_parse_request(cl, strlen(cl), &h, NULL) > 0);
	CHECK_EQ_INT(http_content_length(&h), -2);
	http_head_free(&h);
	cl = "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n";
	CHECK(http_parse_request(cl, strlen(cl), &h, NULL) > 0);
	CHECK_EQ_INT(http_content_length(&h), -2);
	http_head_free(&h);
}

static void test_response(void)
{
	const char *r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			"Transfer-Encoding: chunked\r\n\r\n";
	struct http_head h;
	CHECK(http_parse_response(r, strlen(r), &h, NULL) > 0);
	CHECK_EQ_INT(h.status, 200);
	CHECK(strcmp(h.reason, "OK") == 0);
	CHECK(http_is_chunked(&h));
	http_head_free(&h);
	r = "HTTP/1.1 2000 OK\r\n\r\n";
	CHECK_EQ_INT(http_parse_response(r, strlen(r), &h, NULL), -1);
}

/* Decode in pieces of `step` bytes; returns the decoded text or NULL. */
static int decode(const char *in, size_t step, char *out, size_t *out_len)
{
	struct http_chunked c;
	http_chunked_init(&c);
	size_t n = strlen(in), i = 0;
	*out_len = 0;
	while (i < n) {
		size_t len = n - i < step ? n - i : step;
		const uint8_t *p = (const uint8_t *)in + i;
		while (len > 0) {
			size_t used;
			const uint8_t *d;
			size_t dl;
			int rc = http_chunked_feed(&c, p, len, &used, &d, &dl);
			if (rc == HTTP_CHUNK_ERROR)
				return -1;
			if (dl)
				memcpy(out + *out_len, d, dl);
			*out_len += dl;
			p += used;
			len -= used;
			i += used;
			if (rc == HTTP_CHUNK_DONE)
				return 1;
			if (rc == HTTP_CHUNK_MORE)
				break;
		}
	}
	return 0;
}

static void test_chunked(void)
{
	const char *body =
	    "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-T: 1\r\n\r\n";
	for (size_t step = 1; step < 12; step++) {
		char out[64];
		size_t len;
		CHECK_EQ_INT(decode(body, step, out, &len), 1);
		CHECK_EQ_INT(len, 12);
		CHECK(memcmp(out, "hello, world", 12) == 0);
	}
	char out[256];
	size_t len;
	/* size that lies: more data announced than sent before the CRLF */
	CHECK_EQ_INT(decode("3\r\nhello\r\n0\r\n\r\n", 4, out, &len), -1);
	CHECK_EQ_INT(decode("zz\r\n", 4, out, &len), -1);
	CHECK_EQ_INT(decode("12345678901234567\r\n", 4, out, &len), -1);
	CHECK_EQ_INT(decode("5\nhello\r\n", 4, out, &len), -1);
	/* incomplete is not an error */
	CHECK_EQ_INT(decode("5\r\nhel", 4, out, &len), 0);
}

int main(void)
{
	test_request();
	test_bad_requests();
	test_response();
	test_chunked();
	return check_done();
}
