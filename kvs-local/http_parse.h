/* HTTP/1.1 message parsing for our servers and clients: request and
 * response heads, header lookup, Content-Length, and an incremental chunked
 * transfer-coding decoder. No I/O here: callers feed bytes. Strict by
 * design (no obs-fold, no bare CR, bounded sizes): anything odd is an error
 * the caller answers with 400 or a closed connection. */
#ifndef VPIPE_COMMON_HTTP_PARSE_H
#define VPIPE_COMMON_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 64

struct http_header {
	const char *name;
	const char *value; /* leading/trailing whitespace removed */
};

/* A parsed head. All strings point into `head`, a private copy. */
struct http_head {
	char *head;
	/* request: method, target (path[?query]), path, query ("" if none) */
	const char *method, *target, *path, *query;
	/* response: status and reason */
	int status;
	const char *reason;
	int minor_version; /* HTTP/1.x */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
};

/* Parse a request (or response) head from the start of buf. Returns the
 * head's length including the blank line (>0), 0 if the blank line has not
 * arrived yet, -1 if malformed (err says why, if not NULL). The caller
 * bounds how long it waits: a head longer than its limit is an error. */
long http_parse_request(const char *buf, size_t len, struct http_head *h,
			const char **err);
long http_parse_response(const char *buf, size_t len, struct http_head *h,
			 const char **err);
void http_head_free(struct http_head *h);

/* Case-insensitive lookup; the first occurrence or NULL. */
const char *http_header_get(const struct http_head *h, const char *name);
/* Content-Length: -1 absent, -2 invalid or repeated with another value,
 * otherwise the length. */
int64_t http_content_length(const struct http_head *h);
/* Does Transfer-Encoding end in "chunked"? */
int http_is_chunked(const struct http_head *h);

/* Chunked decoding, incremental. */
struct http_chunked {
	int state;
	uint64_t remaining; /* of the current chunk's data */
	size_t line_len;    /* of the size or trailer line being read */
	uint64_t total;	    /* data bytes decoded so far */
};

enum {
	HTTP_CHUNK_ERROR = -1,
	HTTP_CHUNK_MORE = 0, /* all input used, need more */
	HTTP_CHUNK_DATA = 1, /* data, data_len: a piece of the body */
	HTTP_CHUNK_DONE = 2, /* last chunk and trailers read */
};

void http_chunked_init(struct http_chunked *c);
/* Feed n bytes; *used says how many were consumed. On HTTP_CHUNK_DATA the
 * data lies inside `in`; call again with the rest. */
int http_chunked_feed(struct http_chunked *c, const uint8_t *in, size_t n,
		      size_t *used, const uint8_t **data, size_t *data_len);
#endif
