/* libFuzzer: HTTP heads and chunked decoding on arbitrary bytes. */
#include "kvs-local/http_parse.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_head h;
	if (http_parse_request((const char *)data, size, &h, NULL) > 0) {
		http_header_get(&h, "host");
		http_content_length(&h);
		http_is_chunked(&h);
		http_head_free(&h);
	}
	if (http_parse_response((const char *)data, size, &h, NULL) > 0)
		http_head_free(&h);
	struct http_chunked c;
	http_chunked_init(&c);
	size_t off = 0;
	while (off < size) {
		size_t used, dl;
		const uint8_t *d;
		int rc = http_chunked_feed(&c, data + off, size - off, &used,
					   &d, &dl);
		off += used;
		if (rc == HTTP_CHUNK_ERROR || rc == HTTP_CHUNK_DONE ||
		    rc == HTTP_CHUNK_MORE)
			break;
	}
	return 0;
}
