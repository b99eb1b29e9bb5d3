/* libFuzzer: the RTSP receive path as the module drives it: items are
 * taken from the buffer start, errors resynchronised, replies copied and
 * re-parsed, Session/Transport/Public/WWW-Authenticate values parsed, and
 * Authorization values built from any challenge. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "modules/rtsp/rtsp_auth.h"
#include "modules/rtsp/rtsp_msg.h"

static void use_headers(const struct rtsp_msg *m)
{
	char v[1024], id[128];
	int to;
	if (rtsp_msg_header_copy(m, "Session", v, sizeof(v)) >= 0)
		rtsp_parse_session(v, id, sizeof(id), &to);
	if (rtsp_msg_header_copy(m, "Transport", v, sizeof(v)) >= 0) {
		struct rtsp_transport_reply t;
		rtsp_parse_transport(v, &t);
	}
	if (rtsp_msg_header_copy(m, "Public", v, sizeof(v)) >= 0)
		rtsp_public_has(v, "GET_PARAMETER");
	struct rtsp_auth a = {0};
	for (unsigned i = 0; i < m->num_headers; i++) {
		const struct rtsp_header *h = &m->headers[i];
		snprintf(v, sizeof(v), "%.*s", (int)h->value.n, h->value.p);
		rtsp_auth_challenge(&a, v);
	}
	if (a.scheme != RTSP_AUTH_NONE) {
		char out[1024];
		rtsp_auth_header(&a, "user", "pw", "DESCRIBE", "rtsp://h/x",
				 "0123abcd", out, sizeof(out));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct rtsp_item it;
		int k = rtsp_next(data + off, size - off, &it);
		if (k == RTSP_ITEM_NEED_MORE)
			break;
		if (k == RTSP_ITEM_ERROR) {
			if (it.err_offset > size - off)
				__builtin_trap();
			off += rtsp_resync(data + off, size - off);
			continue;
		}
		if (it.consumed == 0 || it.consumed > size - off)
			__builtin_trap();
		if (k == RTSP_ITEM_MESSAGE) {
			struct rtsp_item again;
			if (rtsp_next(data + off, it.consumed, &again) !=
			    RTSP_ITEM_MESSAGE)
				__builtin_trap();
			use_headers(&it.msg);
		}
		off += it.consumed;
	}
	/* URLs, as a user might write them. */
	char url[2048];
	size_t n = size < sizeof(url) - 1 ? size : sizeof(url) - 1;
	memcpy(url, data, n);
	url[n] = 0;
	struct rtsp_url u;
	char err[160], masked[2048];
	rtsp_url_parse(url, &u, err, sizeof(err));
	rtsp_url_masked(url, masked, sizeof(masked));
	return 0;
}
