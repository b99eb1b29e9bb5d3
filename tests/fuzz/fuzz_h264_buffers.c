/* libFuzzer target: the splitter's zero-copy input (get_buffer/commit into
 * caller buffers given with use_buffer, as filesrc does) against push() of
 * the same bytes: the same access units or errors at the same stream
 * offsets, and every access unit still intact in its buffer at the end. The
 * first two bytes pick the read size and the buffer size. Also the
 * start-code scan against a byte-by-byte search. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/h264.h"

enum { MAX_AUS = 4096, MAX_BUFS = 65536 };

struct result {
	int rc;
	uint64_t offset;
	size_t size;
	const uint8_t *data;
};

static unsigned drain(struct h264_au_splitter *sp, struct result *r, unsigned n)
{
	struct h264_au au;
	int rc;
	while ((rc = h264_au_splitter_next(sp, &au)) != 0 && n < MAX_AUS) {
		r[n] = (struct result){.rc = rc};
		if (rc > 0) {
			r[n].offset = au.stream_offset;
			r[n].size = au.size;
			r[n].data = au.data;
		}
		n++;
	}
	return n;
}

static void check_scan(const uint8_t *d, size_t n)
{
	size_t want = n;
	for (size_t i = 0; i + 2 < n; i++)
		if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) {
			want = i;
			break;
		}
	if (h264_find_start_code(d, n, 0) != want)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t rd = 1 + data[0] * 3u, bufcap = 64 + data[1] * 37u;
	data += 2;
	size -= 2;
	check_scan(data, size);

	static struct result want[MAX_AUS], got[MAX_AUS];
	struct h264_au_splitter *sp = h264_au_splitter_new(1 << 14);
	unsigned nw = 0;
	for (size_t off = 0; off < size; off += rd) {
		size_t n = size - off < rd ? size - off : rd;
		h264_au_splitter_push(sp, data + off, n);
		nw = drain(sp, want, nw);
	}
	h264_au_splitter_finish(sp);
	nw = drain(sp, want, nw);
	h264_au_splitter_free(sp);

	static uint8_t *bufs[MAX_BUFS];
	unsigned nb = 0, ng = 0;
	sp = h264_au_splitter_new(1 << 14);
	size_t off = 0;
	while (off < size && nb < MAX_BUFS) {
		size_t room;
		uint8_t *p =
		    nb ? h264_au_splitter_get_buffer(sp, rd, &room) : NULL;
		if (!p) {
			size_t need = h264_au_splitter_pending(sp) + rd;
			size_t cap = need > bufcap ? need : bufcap;
			bufs[nb] = malloc(cap);
			if (h264_au_splitter_use_buffer(sp, bufs[nb], cap))
				abort();
			nb++;
			continue;
		}
		size_t n = size - off < rd ? size - off : rd;
		memcpy(p, data + off, n);
		h264_au_splitter_commit(sp, n);
		off += n;
		ng = drain(sp, got, ng);
	}
	h264_au_splitter_finish(sp);
	ng = drain(sp, got, ng);
	h264_au_splitter_free(sp);

	if (nb < MAX_BUFS) {
		if (ng != nw)
			abort();
		for (unsigned i = 0; i < ng; i++) {
			if (got[i].rc != want[i].rc ||
			    got[i].offset != want[i].offset ||
			    got[i].size != want[i].size)
				abort();
			if (got[i].rc > 0 &&
			    memcmp(got[i].data, data + got[i].offset,
				   got[i].size))
				abort();
		}
	}
	for (unsigned i = 0; i < nb; i++)
		free(bufs[i]);
	return 0;
}
