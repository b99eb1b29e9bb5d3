/* RTSP/1.0 message framing: see rtsp_msg.h. */
#include "rtsp_msg.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bytes.h"
#include "http_head.h"

static int str_ieq(struct rtsp_str s, const char *lit)
{
	size_t n = strlen(lit);
	if (s.n != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)s.p[i]) !=
		    tolower((unsigned char)lit[i]))
			return 0;
	return 1;
}

static struct rtsp_str trim(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return (struct rtsp_str){p, n};
}

/* Parse a non-negative decimal of at most 9 digits; -1 on anything else. */
static long parse_small_uint(struct rtsp_str s)
{
	long v = 0;
	if (s.n == 0 || s.n > 9)
		return -1;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (s.p[i] - '0');
	}
	return v;
}

static int set_error(struct rtsp_item *it, size_t off, const char *why)
{
	it->kind = RTSP_ITEM_ERROR;
	it->err_offset = off;
	it->err_why = why;
	return RTSP_ITEM_ERROR;
}

/* First line: "RTSP/1.0 200 OK" or "METHOD uri RTSP/1.0". */
static int parse_first_line(const char *p, size_t n, struct rtsp_item *it)
{
	struct rtsp_msg *m = &it->msg;
	const char *sp1 = memchr(p, ' ', n);
	if (!sp1)
		return set_error(it, 0, "no space in first line");
	if (n >= 5 && memcmp(p, "RTSP/", 5) == 0) {
		const char *code = sp1 + 1;
		size_t rest = n - (size_t)(code - p);
		if (rest < 3 || !isdigit((unsigned char)code[0]) ||
		    !isdigit((unsigned char)code[1]) ||
		    !isdigit((unsigned char)code[2]) ||
		    (rest > 3 && code[3] != ' '))
			return set_error(it, (size_t)(code - p),
					 "bad status code");
		m->is_response = 1;
		m->status = (code[0] - '0') * 100 + (code[1] - '0') * 10 +
			    (code[2] - '0');
		m->reason = rest > 4 ? trim(code + 4, rest - 4)
				     : (struct rtsp_str){code + 3, 0};
		return 0;
	}
	const char *uri = sp1 + 1;
	const char *sp2 = memchr(uri, ' ', n - (size_t)(uri - p));
	if (!sp2 || (size_t)(p + n - (sp2 + 1)) < 5 ||
	    memcmp(sp2 + 1, "RTSP/", 5) != 0)
		return set_error(it, 0, "neither status nor request line");
	for (const char *c = p; c < sp1; c++)
		if (!isupper((unsigned char)*c) && *c != '_')
			return set_error(it, (size_t)(c - p), "bad method");
	m->method = (struct rtsp_str){p, (size_t)(sp1 - p)};
	m->uri = (struct rtsp_str){uri, (size_t)(sp2 - uri)};
	return 0;
}

static int parse_header_line(const char *p, size_t n, size_t off,
			     struct rtsp_item *it)
{
	struct rtsp_msg *m = &it->msg;
	if (p[0] == ' ' || p[0] == '\t') {
		/* Continuation line (RFC 2616 LWS): extend the last value. */
		if (!m->num_headers)
			return set_error(it, off, "continuation before header");
		struct rtsp_header *h = &m->headers[m->num_headers - 1];
		h->value.n = (size_t)(p + n - h->value.p);
		h->value = trim(h->value.p, h->value.n);
		return 0;
	}
	const char *colon = memchr(p, ':', n);
	if (!colon || colon == p)
		return set_error(it, off, "header line without name:value");
	if (m->num_headers == RTSP_MAX_HEADERS)
		return 0; /* keep the first ones; the rest are never ours */
	struct rtsp_header *h = &m->headers[m->num_headers++];
	h->name = trim(p, (size_t)(colon - p));
	h->value = trim(colon + 1, (size_t)(p + n - colon - 1));
	return 0;
}

static int parse_message(const uint8_t *buf, size_t len, struct rtsp_item *it)
{
	size_t head = http_head_length(
	    buf, len < RTSP_MAX_HEAD_BYTES ? len : RTSP_MAX_HEAD_BYTES);
	if (!head) {
		if (len >= RTSP_MAX_HEAD_BYTES)
			return set_error(it, 0, "header block too large");
		for (size_t i = 0; i < len; i++)
			if (buf[i] == 0)
				return set_error(it, i, "NUL byte in header");
		return RTSP_ITEM_NEED_MORE;
	}
	const char *text = (const char *)buf;
	size_t pos = 0;
	int line_no = 0;
	it->msg.cseq = -1;
	while (pos < head) {
		const char *nl = memchr(text + pos, '\n', head - pos);
		size_t end = (size_t)(nl - text);
		size_t n = end - pos;
		if (n && text[pos + n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* the empty line */
		if (memchr(text + pos, 0, n))
			return set_error(it, pos, "NUL byte in header");
		int r = line_no == 0
			    ? parse_first_line(text + pos, n, it)
			    : parse_header_line(text + pos, n, pos, it);
		if (r < 0) {
			it->err_offset += line_no ? 0 : pos;
			return r;
		}
		line_no++;
		pos = end + 1;
	}
	long body = 0;
	const struct rtsp_str *cl = rtsp_msg_header(&it->msg, "Content-Length");
	if (cl) {
		body = parse_small_uint(*cl);
		if (body < 0 || body > RTSP_MAX_BODY_BYTES)
			return set_error(it, (size_t)(cl->p - text),
					 "bad Content-Length");
	}
	const struct rtsp_str *cs = rtsp_msg_header(&it->msg, "CSeq");
	if (cs)
		it->msg.cseq = (int)parse_small_uint(*cs);
	if (len - head < (size_t)body)
		return RTSP_ITEM_NEED_MORE;
	it->msg.body = buf + head;
	it->msg.body_len = (size_t)body;
	it->consumed = head + (size_t)body;
	it->kind = RTSP_ITEM_MESSAGE;
	return RTSP_ITEM_MESSAGE;
}

int rtsp_next(const uint8_t *buf, size_t len, struct rtsp_item *it)
{
	memset(it, 0, sizeof(*it));
	if (len == 0)
		return RTSP_ITEM_NEED_MORE;
	if (buf[0] == '$') {
		if (len < 4)
			return RTSP_ITEM_NEED_MORE;
		size_t n = rd_be16(buf + 2);
		if (len < 4 + n)
			return RTSP_ITEM_NEED_MORE;
		it->kind = RTSP_ITEM_INTERLEAVED;
		it->channel = buf[1];
		it->payload = buf + 4;
		it->payload_len = n;
		it->consumed = 4 + n;
		return it->kind;
	}
	/* Skip stray line ends between messages. */
	if (buf[0] == '\r' || buf[0] == '\n') {
		size_t i = 0;
		while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
			i++;
		if (i == len)
			return RTSP_ITEM_NEED_MORE;
		int r = rtsp_next(buf + i, len - i, it);
		if (r > 0)
			it->consumed += i;
		else if (r < 0)
			it->err_offset += i;
		return r;
	}
	if (!isalpha((unsigned char)buf[0]))
		return set_error(it, 0, "not '$' nor a message start");
	return parse_message(buf, len, it);
}

size_t rtsp_resync(const uint8_t *buf, size_t len)
{
	for (size_t i = 1; i < len; i++) {
		if (buf[i] == '$')
			return i;
		if (buf[i] == 'R' &&
		    (len - i < 5 || memcmp(buf + i, "RTSP/", 5) == 0))
			return i;
	}
	return len;
}

const struct rtsp_str *rtsp_msg_header(const struct rtsp_msg *m,
				       const char *name)
{
	for (unsigned i = 0; i < m->num_headers; i++)
		if (str_ieq(m->headers[i].name, name))
			return &m->headers[i].value;
	return NULL;
}

int rtsp_msg_header_copy(const struct rtsp_msg *m, const char *name, char *dst,
			 size_t dst_size)
{
	const struct rtsp_str *v = rtsp_msg_header(m, name);
	if (!v)
		return -1;
	if (dst_size) {
		size_t n = v->n < dst_size - 1 ? v->n : dst_size - 1;
		memcpy(dst, v->p, n);
		dst[n] = 0;
	}
	return (int)v->n;
}

int rtsp_parse_session(const char *value, char *dst, size_t dst_size,
		       int *timeout_s)
{
	size_t idn = strcspn(value, ";");
	*timeout_s = 60;
	if (idn == 0 || idn >= dst_size)
		return -1;
	memcpy(dst, value, idn);
	dst[idn] = 0;
	const char *t = strstr(value + idn, "timeout=");
	if (t) {
		long v = strtol(t + 8, NULL, 10);
		if (v > 0 && v < 86400)
			*timeout_s = (int)v;
	}
	return 0;
}

static void parse_pair(const char *s, int out[2])
{
	char *end;
	long a = strtol(s, &end, 10);
	if (end == s || a < 0 || a > 65535)
		return;
	out[0] = (int)a;
	out[1] = (int)a + 1;
	if (*end == '-') {
		const char *s2 = end + 1;
		long b = strtol(s2, &end, 10);
		if (end != s2 && b >= 0 && b <= 65535)
			out[1] = (int)b;
	}
}

void rtsp_parse_transport(const char *value, struct rtsp_transport_reply *t)
{
	t->interleaved[0] = t->interleaved[1] = -1;
	t->server_port[0] = t->server_port[1] = -1;
	t->client_port[0] = t->client_port[1] = -1;
	t->ssrc = 0;
	t->has_ssrc = 0;
	/* Only the first transport spec counts (a reply has one). */
	size_t n = strcspn(value, ",");
	const char *p = value;
	while (p < value + n) {
		size_t fl = strcspn(p, ";,");
		if (fl > n - (size_t)(p - value))
			fl = n - (size_t)(p - value);
		if (!strncmp(p, "interleaved=", 12))
			parse_pair(p + 12, t->interleaved);
		else if (!strncmp(p, "server_port=", 12))
			parse_pair(p + 12, t->server_port);
		else if (!strncmp(p, "client_port=", 12))
			parse_pair(p + 12, t->client_port);
		else if (!strncmp(p, "ssrc=", 5)) {
			char *end;
			unsigned long v = strtoul(p + 5, &end, 16);
			if (end != p + 5) {
				t->ssrc = (uint32_t)v;
				t->has_ssrc = 1;
			}
		}
		p += fl;
		if (*p == ';')
			p++;
		else
			break;
	}
}

int rtsp_public_has(const char *value, const char *name)
{
	size_t n = strlen(name);
	const char *p = value;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t tl = strcspn(p, ", ");
		if (tl == n && !strncasecmp(p, name, n))
			return 1;
		p += tl;
	}
	return 0;
}
