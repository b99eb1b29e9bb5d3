/* HTTP replies in the service's shape: JSON bodies, errors with
 * x-amzn-ErrorType, and chunked streams (ACKs, GetMedia). */
#include "kvs_local.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	}
	return "Error";
}

static void request_id(char out[37])
{
	snprintf(out, 37, "%08x-%04x-%04x-%04x-%08x%04x", (unsigned)rand(),
		 (unsigned)rand() & 0xffff, (unsigned)rand() & 0xffff,
		 (unsigned)rand() & 0xffff, (unsigned)rand(),
		 (unsigned)rand() & 0xffff);
}

/* "Connection: close" once the client asked for it (or we will close). */
static const char *connection_header(const struct kl_conn *c)
{
	return c->close_after ? "Connection: close\r\n" : "";
}

int kl_send_json(struct kl_conn *c, int status, const char *json)
{
	char rid[37];
	request_id(rid);
	return kl_conn_printf(c,
			      "HTTP/1.1 %d %s\r\nContent-Type: "
			      "application/json\r\nx-amzn-RequestId: %s\r\n"
			      "%sContent-Length: %zu\r\n\r\n%s",
			      status, status_text(status), rid,
			      connection_header(c), strlen(json), json);
}

void kl_format_error(struct strbuf *out, int status, const char *type,
		     const char *msg, bool close)
{
	struct strbuf body = STRBUF_INIT;
	sb_puts(&body, "{\"Message\":");
	json_put_string(&body, msg);
	sb_puts(&body, "}");
	char rid[37];
	request_id(rid);
	sb_printf(out,
		  "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		  "x-amzn-RequestId: %s\r\nx-amzn-ErrorType: %s:\r\n"
		  "%sContent-Length: %zu\r\n\r\n%s",
		  status, status_text(status), rid, type,
		  close ? "Connection: close\r\n" : "", body.len,
		  body.s ? body.s : "");
	sb_free(&body);
}

int kl_send_error(struct kl_conn *c, int status, const char *type,
		  const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT, reply = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&msg, fmt, ap);
	va_end(ap);
	kl_format_error(&reply, status, type, msg.s ? msg.s : "",
			c->close_after);
	int rc = reply.failed ? -1 : kl_conn_write(c, reply.s, reply.len);
	kl_log("%s -> %d %s: %s", c->peer, status, type, msg.s ? msg.s : "");
	sb_free(&msg);
	sb_free(&reply);
	return rc;
}

int kl_start_chunked(struct kl_conn *c, const char *content_type)
{
	char rid[37];
	request_id(rid);
	if (kl_conn_flush(c)) /* streamed responses are written directly */
		return -1;
	return kl_conn_printf(c,
			      "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
			      "x-amzn-RequestId: %s\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n",
			      content_type, rid);
}

int kl_send_chunk(struct kl_conn *c, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	char head[32];
	int k = snprintf(head, sizeof head, "%zx\r\n", n);
	if (kl_conn_write(c, head, (size_t)k) || kl_conn_write(c, p, n) ||
	    kl_conn_write(c, "\r\n", 2))
		return -1;
	return 0;
}

int kl_end_chunks(struct kl_conn *c)
{
	return kl_conn_write(c, "0\r\n\r\n", 5);
}
