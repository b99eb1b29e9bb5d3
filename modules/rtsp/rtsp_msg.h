/* RTSP/1.0 message framing (RFC 2326 §6, §7, §10.12), pure and allocation
 * free: no sockets, no kernel calls, so it is unit-tested and fuzzed alone.
 *
 * The control connection carries RTSP messages (responses, and sometimes
 * requests from the server) interleaved with binary RTP/RTCP frames
 * ("$" channel length16 payload) when the transport is TCP. rtsp_next()
 * looks at the start of a receive buffer and says what is there. */
#ifndef VPIPE_RTSP_MSG_H
#define VPIPE_RTSP_MSG_H

#include <stddef.h>
#include <stdint.h>

#define RTSP_MAX_HEADERS    32
#define RTSP_MAX_HEAD_BYTES 16384 /* status line + headers */
#define RTSP_MAX_BODY_BYTES 65536 /* Content-Length limit (SDP is small) */

struct rtsp_str {
	const char *p; /* points into the parsed buffer; not NUL-terminated */
	size_t n;
};

struct rtsp_header {
	struct rtsp_str name, value;
};

struct rtsp_msg {
	int is_response;
	int status;		/* responses: 100..999 */
	struct rtsp_str reason; /* responses */
	struct rtsp_str method; /* requests from the server */
	struct rtsp_str uri;	/* requests */
	int cseq;		/* -1 when absent */
	unsigned num_headers;
	struct rtsp_header headers[RTSP_MAX_HEADERS];
	const uint8_t *body;
	size_t body_len;
};

enum rtsp_item_kind {
	RTSP_ITEM_NEED_MORE = 0,   /* incomplete: read more bytes */
	RTSP_ITEM_MESSAGE = 1,	   /* msg filled */
	RTSP_ITEM_INTERLEAVED = 2, /* channel/payload filled */
	RTSP_ITEM_ERROR = -1, /* malformed at *err_offset; caller resyncs */
};

struct rtsp_item {
	int kind;
	size_t consumed; /* bytes the item takes at the buffer start */
	struct rtsp_msg msg;
	unsigned channel;
	const uint8_t *payload;
	size_t payload_len;
	size_t err_offset;   /* RTSP_ITEM_ERROR: where parsing failed */
	const char *err_why; /* static text */
};

/* Classify and parse the item at the start of buf. */
int rtsp_next(const uint8_t *buf, size_t len, struct rtsp_item *item);

/* Offset of the next plausible item start ('$' or "RTSP/") after byte 0,
 * or len: used to skip garbage after RTSP_ITEM_ERROR. */
size_t rtsp_resync(const uint8_t *buf, size_t len);

/* Case-insensitive header lookup; NULL if absent. */
const struct rtsp_str *rtsp_msg_header(const struct rtsp_msg *m,
				       const char *name);

/* Copy a header value into dst as a C string (truncated to fit). Returns
 * the value length, or -1 if the header is absent. */
int rtsp_msg_header_copy(const struct rtsp_msg *m, const char *name, char *dst,
			 size_t dst_size);

/* Session header: "id[;timeout=N]" -> id copied into dst (without
 * parameters), *timeout_s = N or 60 (RFC 2326 §12.37 default). */
int rtsp_parse_session(const char *value, char *dst, size_t dst_size,
		       int *timeout_s);

/* Transport header of a SETUP reply: interleaved=a-b, server_port=a-b,
 * ssrc. Fields absent are left as -1 / 0. */
struct rtsp_transport_reply {
	int interleaved[2];
	int server_port[2];
	int client_port[2];
	uint32_t ssrc;
	int has_ssrc;
};
void rtsp_parse_transport(const char *value, struct rtsp_transport_reply *t);

/* Public header (OPTIONS reply) lists method `name`? */
int rtsp_public_has(const char *value, const char *name);

#endif
