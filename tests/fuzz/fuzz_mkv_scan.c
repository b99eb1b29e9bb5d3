/* libFuzzer target for common/mkv_scan.c: the recorder parses every header
 * and cluster frame it is given with it, and a broken frame must be reported,
 * never crash.
 *
 * Input: byte 0 picks header (even) or cluster frame (odd); the rest is the
 * frame. Besides "no crash, no sanitizer report" it checks that everything
 * reported lies inside the input: header ranges, the Cluster offsets and
 * size field, the error offset; and that a scan of the same bytes gives the
 * same result twice (no hidden state). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mkv_scan.h"

static void inside(size_t off, size_t len, size_t n)
{
	if (off > n || len > n - off)
		abort();
}

static void header(const uint8_t *p, size_t n)
{
	struct mkv_header h;
	size_t err_off = 0;
	const char *err = NULL;
	if (mkv_header_split(p, n, &h, &err_off, &err)) {
		if (!err || err_off > n)
			abort();
		return;
	}
	inside(h.ebml.off, h.ebml.len, n);
	inside(h.info.off, h.info.len, n);
	inside(h.tracks.off, h.tracks.len, n);
	if (h.num_extra > MKV_HEADER_MAX_EXTRA || !h.timecode_scale)
		abort();
	for (unsigned i = 0; i < h.num_extra; i++)
		inside(h.extra[i].off, h.extra[i].len, n);
}

static void frame(const uint8_t *p, size_t n)
{
	struct mkv_frame_scan a, b;
	size_t err_off = 0;
	const char *err = NULL;
	int ra = mkv_scan_frame(p, n, &a, &err_off, &err);
	int rb = mkv_scan_frame(p, n, &b, &err_off, &err);
	if (ra != rb || (ra == 0 && memcmp(&a, &b, sizeof(a)) != 0))
		abort();
	if (ra) {
		if (!err || err_off > n)
			abort();
		return;
	}
	if (a.level1_off > n)
		abort();
	if (a.has_cluster) {
		inside(a.cluster_off, 4, n);
		inside(a.cluster_size_off, a.cluster_size_len, n);
		if (a.cluster_size_off <= a.cluster_off ||
		    a.level1_off > a.cluster_off)
			abort();
	}
	if (a.blocks && a.max_rel < a.first_rel)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* a copy of exactly the input's length so ASan sees any overread */
	uint8_t *p = malloc(size - 1 ? size - 1 : 1);
	if (!p)
		return 0;
	memcpy(p, data + 1, size - 1);
	if (data[0] & 1)
		frame(p, size - 1);
	else
		header(p, size - 1);
	free(p);
	return 0;
}
