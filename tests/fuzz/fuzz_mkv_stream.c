/* libFuzzer: the incremental Matroska reader, fed in pieces whose sizes
 * come from the first input byte. */
#include "kvs-local/mkv_stream.h"

#include <stdint.h>
#include <stdlib.h>

static int on_event(void *opaque, const struct mkv_event *ev)
{
	(void)opaque;
	(void)ev;
	return 0;
}

static int on_bytes(void *opaque, enum mkv_section sec, const uint8_t *p,
		    size_t n)
{
	size_t *total = opaque;
	(void)sec;
	(void)p;
	*total += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)data[0] % 13 + 1;
	data++;
	size--;
	static struct mkv_stream m;
	size_t total = 0;
	struct mkv_stream_callbacks cb = {on_event, on_bytes, &total};
	mkv_stream_init(&m, &cb);
	size_t off = 0;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		if (mkv_stream_feed(&m, data + off, n))
			return 0;
		off += n;
	}
	/* after a clean finish every byte was handed back exactly once */
	if (mkv_stream_finish(&m) == 0 && total != size)
		__builtin_trap();
	return 0;
}
