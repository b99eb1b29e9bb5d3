/* The end of a message head, shared by the HTTP parser (kvs-local) and the
 * RTSP client: CRLF and bare LF line ends, incomplete heads, and the body
 * that follows left alone. */
#include "tests/unit/check.h"

#include "common/http_head.h"

static size_t len_of(const char *s)
{
	return http_head_length(s, strlen(s));
}

int main(void)
{
	/* CRLF heads end after the empty line, the body is not counted. */
	CHECK_EQ_INT(len_of("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\nv=0"), 28);
	CHECK_EQ_INT(len_of("GET / HTTP/1.1\r\n\r\n"), 18);
	/* Bare LF (some cameras), and the two mixed. */
	CHECK_EQ_INT(len_of("RTSP/1.0 200 OK\nCSeq: 1\n\nbody"), 25);
	CHECK_EQ_INT(len_of("RTSP/1.0 200 OK\r\nCSeq: 1\n\r\n"), 27);
	/* Not complete yet: 0, however much of the last line is there. */
	CHECK_EQ_INT(len_of(""), 0);
	CHECK_EQ_INT(len_of("GET / HTTP/1.1\r\n"), 0);
	CHECK_EQ_INT(len_of("GET / HTTP/1.1\r\nHost: a\r\n\r"), 0);
	/* A CR alone is not a line end. */
	CHECK_EQ_INT(len_of("A\r\r\n"), 0);
	/* Only len bytes are looked at, even when more follow in memory. */
	const char *full = "A\r\n\r\n";
	CHECK_EQ_INT(http_head_length(full, 4), 0);
	CHECK_EQ_INT(http_head_length(full, 5), 5);
	/* Binary bytes (an RTP interleave before a head) are only bytes. */
	static const unsigned char bin[] = {'$', 0, 0, 4, '\n', '\n', 'x'};
	CHECK_EQ_INT(http_head_length(bin, sizeof bin), 6);
	return check_done();
}
