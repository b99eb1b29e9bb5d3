/* libFuzzer: SDP parsing, control URL resolution and base64. */
#include <stddef.h>
#include <stdint.h>

#include "modules/rtsp/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_h264 s;
	char err[160];
	if (sdp_parse_h264((const char *)data, size, &s, err, sizeof(err)) ==
	    0) {
		if (s.params_len > sizeof(s.params) || s.payload_type < 0 ||
		    s.payload_type > 127)
			__builtin_trap();
		char url[1024];
		sdp_resolve_control("rtsp://127.0.0.1:554/cam", s.control, url,
				    sizeof(url));
		sdp_resolve_control("rtsp://127.0.0.1:554/cam/",
				    s.session_control, url, sizeof(url));
	}
	uint8_t out[64];
	base64_decode((const char *)data, size, out, sizeof(out));
	return 0;
}
