/* HTTP/1.1 heads and chunked transfer coding (RFC 9112), see http_parse.h. */
#include "http_parse.h"
#include "http_head.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_tchar(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Split the copy into lines (terminators replaced by NUL); returns the
 * number of lines, -1 on a bare CR or NUL byte. */
static int split_lines(char *s, size_t len, char **lines, int max)
{
	int n = 0;
	char *start = s;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == 0)
			return -1;
		if (s[i] == '\r') {
			if (i + 1 >= len || s[i + 1] != '\n')
				return -1;
			s[i] = 0;
			continue;
		}
		if (s[i] == '\n') {
			s[i] = 0;
			if (n >= max)
				return -2;
			lines[n++] = start;
			start = s + i + 1;
		}
	}
	return n;
}

static int parse_version(const char *v, int *minor)
{
	if (strncmp(v, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)v[7]) ||
	    v[8] != 0)
		return -1;
	*minor = v[7] - '0';
	return 0;
}

static int parse_header_line(char *line, struct http_header *hd,
			     const char **err)
{
	if (*line == ' ' || *line == '\t') {
		*err = "folded header line";
		return -1;
	}
	char *colon = strchr(line, ':');
	if (!colon || colon == line) {
		*err = "header line without a name";
		return -1;
	}
	for (char *p = line; p < colon; p++)
		if (!is_tchar((unsigned char)*p)) {
			*err = "bad character in header name";
			return -1;
		}
	*colon = 0;
	char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	char *end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = 0;
	for (char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t') {
			*err = "control character in header value";
			return -1;
		}
	hd->name = line;
	hd->value = v;
	return 0;
}

static long parse_head(const char *buf, size_t len, struct http_head *h,
		       int is_request, const char **err_out)
{
	const char *dummy;
	const char **err = err_out ? err_out : &dummy;
	memset(h, 0, sizeof *h);
	size_t hl = http_head_length(buf, len);
	if (hl == 0)
		return 0;
	/* room for the head and, after it, the target split into path and
	 * query */
	h->head = malloc(2 * hl + 2);
	if (!h->head) {
		*err = "out of memory";
		return -1;
	}
	memcpy(h->head, buf, hl);
	h->head[hl] = 0;
	char *lines[HTTP_MAX_HEADERS + 2];
	int n = split_lines(h->head, hl, lines, HTTP_MAX_HEADERS + 2);
	if (n == -2) {
		*err = "too many header lines";
		goto bad;
	}
	if (n < 2) {
		*err = "bad line ending";
		goto bad;
	}
	/* lines[n-1] is the empty line ending the head */
	char *first = lines[0];
	char *sp1 = strchr(first, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2) {
		*err = is_request ? "bad request line" : "bad status line";
		goto bad;
	}
	*sp1 = 0;
	*sp2 = 0;
	if (is_request) {
		h->method = first;
		h->target = sp1 + 1;
		int method_ok = *h->method != 0;
		for (const char *p = h->method; *p; p++)
			method_ok = method_ok && is_tchar((unsigned char)*p);
		if (!method_ok || strchr(sp2 + 1, ' ') ||
		    parse_version(sp2 + 1, &h->minor_version) ||
		    h->target[0] != '/') {
			*err = "bad request line";
			goto bad;
		}
		for (const char *p = h->target; *p; p++)
			if ((unsigned char)*p <= 0x20 ||
			    (unsigned char)*p >= 0x7f) {
				*err = "bad character in request target";
				goto bad;
			}
		char *path = h->head + hl + 1;
		strcpy(path, h->target);
		char *q = strchr(path, '?');
		if (q)
			*q++ = 0;
		h->path = path;
		h->query = q ? q : "";
	} else {
		if (parse_version(first, &h->minor_version) ||
		    strlen(sp1 + 1) != 3 || !isdigit((unsigned char)sp1[1]) ||
		    !isdigit((unsigned char)sp1[2]) ||
		    !isdigit((unsigned char)sp1[3])) {
			*err = "bad status line";
			goto bad;
		}
		h->status = atoi(sp1 + 1);
		h->reason = sp2 + 1;
	}
	for (int i = 1; i < n - 1; i++) {
		if (parse_header_line(lines[i], &h->headers[h->n_headers], err))
			goto bad;
		h->n_headers++;
	}
	return (long)hl;
bad:
	http_head_free(h);
	return -1;
}

long http_parse_request(const char *buf, size_t len, struct http_head *h,
			const char **err)
{
	return parse_head(buf, len, h, 1, err);
}

long http_parse_response(const char *buf, size_t len, struct http_head *h,
			 const char **err)
{
	return parse_head(buf, len, h, 0, err);
}

void http_head_free(struct http_head *h)
{
	free(h->head);
	memset(h, 0, sizeof *h);
}

const char *http_header_get(const struct http_head *h, const char *name)
{
	for (size_t i = 0; i < h->n_headers; i++)
		if (strcasecmp(h->headers[i].name, name) == 0)
			return h->headers[i].value;
	return NULL;
}

int64_t http_content_length(const struct http_head *h)
{
	int64_t len = -1;
	for (size_t i = 0; i < h->n_headers; i++) {
		if (strcasecmp(h->headers[i].name, "content-length") != 0)
			continue;
		const char *v = h->headers[i].value;
		if (!*v || strlen(v) > 18) /* 18 digits: any fits int64_t */
			return -2;
		int64_t x = 0;
		for (const char *p = v; *p; p++) {
			if (!isdigit((unsigned char)*p))
				return -2;
			x = x * 10 + (*p - '0');
		}
		if (len >= 0 && len != x)
			return -2;
		len = x;
	}
	return len;
}

int http_is_chunked(const struct http_head *h)
{
	const char *te = http_header_get(h, "transfer-encoding");
	if (!te)
		return 0;
	size_t n = strlen(te);
	return n >= 7 && strcasecmp(te + n - 7, "chunked") == 0;
}

enum {
	CH_SIZE,    /* hex digits */
	CH_EXT,	    /* ;extension up to CR LF */
	CH_SIZE_LF, /* LF after the size line's CR */
	CH_DATA,    /* chunk data */
	CH_DATA_CR, /* CR after data */
	CH_DATA_LF, /* LF after data */
	CH_TRAILER, /* trailer line (or the final empty line) */
	CH_TRAILER_LF,
	CH_DONE,
};

#define CHUNK_LINE_MAX 4096

void http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof *c);
	c->state = CH_SIZE;
}

static int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One byte of the size/extension/trailer lines. */
static int chunk_control_byte(struct http_chunked *c, uint8_t b)
{
	if (++c->line_len > CHUNK_LINE_MAX)
		return -1;
	switch (c->state) {
	case CH_SIZE: {
		int d = hex_digit(b);
		if (d >= 0) {
			if (c->line_len > 16)
				return -1; /* more than 64 bits */
			c->remaining = c->remaining * 16 + (uint64_t)d;
			return 0;
		}
		if (c->line_len == 1)
			return -1; /* no digits */
		if (b == ';' || b == ' ' || b == '\t') {
			c->state = CH_EXT;
			return 0;
		}
		if (b == '\r') {
			c->state = CH_SIZE_LF;
			return 0;
		}
		return -1;
	}
	case CH_EXT:
		if (b == '\r')
			c->state = CH_SIZE_LF;
		else if (b < 0x20 && b != '\t')
			return -1;
		return 0;
	case CH_SIZE_LF:
		if (b != '\n')
			return -1;
		c->line_len = 0;
		c->state = c->remaining ? CH_DATA : CH_TRAILER;
		return 0;
	case CH_DATA_CR:
		if (b != '\r')
			return -1;
		c->state = CH_DATA_LF;
		return 0;
	case CH_DATA_LF:
		if (b != '\n')
			return -1;
		c->state = CH_SIZE;
		c->line_len = 0;
		c->remaining = 0;
		return 0;
	case CH_TRAILER:
		if (b == '\r') {
			c->state = CH_TRAILER_LF;
			return 0;
		}
		if (b < 0x20 && b != '\t')
			return -1;
		return 0;
	case CH_TRAILER_LF:
		if (b != '\n')
			return -1;
		/* an empty line (just CR LF) ends the message */
		c->state = c->line_len == 2 ? CH_DONE : CH_TRAILER;
		c->line_len = 0;
		return 0;
	}
	return -1;
}

int http_chunked_feed(struct http_chunked *c, const uint8_t *in, size_t n,
		      size_t *used, const uint8_t **data, size_t *data_len)
{
	size_t i = 0;
	*data = NULL;
	*data_len = 0;
	while (i < n) {
		if (c->state == CH_DONE)
			break;
		if (c->state == CH_DATA) {
			size_t take = n - i;
			if (take > c->remaining)
				take = (size_t)c->remaining;
			*data = in + i;
			*data_len = take;
			c->remaining -= take;
			c->total += take;
			if (c->remaining == 0)
				c->state = CH_DATA_CR;
			*used = i + take;
			return HTTP_CHUNK_DATA;
		}
		if (chunk_control_byte(c, in[i]) < 0) {
			*used = i;
			c->state = CH_DONE + 1;
			return HTTP_CHUNK_ERROR;
		}
		i++;
	}
	*used = i;
	if (c->state == CH_DONE)
		return HTTP_CHUNK_DONE;
	if (c->state > CH_DONE)
		return HTTP_CHUNK_ERROR;
	return HTTP_CHUNK_MORE;
}
