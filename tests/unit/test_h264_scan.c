/* The fast start-code scan (h264_find_start_code) against a byte-by-byte
 * reference on random data with planted start codes, zero runs and
 * emulation-prevention sequences at every alignment; and the splitter's
 * zero-copy input (get_buffer/commit, caller buffers with use_buffer)
 * against push() on the same stream. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/h264.h"
#include "tests/unit/check.h"

static size_t reference_find(const uint8_t *b, size_t len, size_t from)
{
	for (size_t i = from; i + 2 < len; i++)
		if (b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1)
			return i;
	return len;
}

static uint32_t rng = 12345;
static uint32_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Random bytes with a few zero pairs: start codes, 00 00 03, 00 00 00. */
static void fill(uint8_t *b, size_t len, unsigned plants)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)next_random();
	static const uint8_t patterns[][4] = {
	    {0, 0, 1, 0x65}, {0, 0, 0, 1}, {0, 0, 3, 0},
	    {0, 0, 0, 0},    {0, 0, 2, 0}, {0, 1, 0, 1},
	};
	for (unsigned k = 0; k < plants && len >= 4; k++) {
		size_t at = next_random() % (len - 3);
		memcpy(b + at, patterns[next_random() % 6], 4);
	}
}

static void test_matches_reference(void)
{
	uint8_t *b = malloc(4096);
	unsigned mismatches = 0;
	for (unsigned round = 0; round < 3000; round++) {
		size_t len = next_random() % 300;
		if (round % 100 == 0)
			len = 4096;
		fill(b, len, next_random() % 6);
		for (size_t from = 0; from <= len + 1; from += 1 + from / 64) {
			size_t got = h264_find_start_code(b, len, from);
			size_t want = reference_find(b, len, from);
			if (got != want && mismatches++ < 5)
				fprintf(stderr,
					"len %zu from %zu: got %zu want %zu\n",
					len, from, got, want);
		}
	}
	CHECK_EQ_INT(mismatches, 0);
	free(b);
}

/* A start code at every position of a block, and straddling blocks. */
static void test_every_position(void)
{
	enum { N = 100 };
	uint8_t b[N];
	for (size_t at = 0; at + 3 <= N; at++) {
		memset(b, 0x55, N);
		b[at] = 0;
		b[at + 1] = 0;
		b[at + 2] = 1;
		CHECK_EQ_INT(h264_find_start_code(b, N, 0), at);
		CHECK_EQ_INT(h264_find_start_code(b, N, at + 1), N);
		/* cut short: the code no longer fits */
		CHECK_EQ_INT(h264_find_start_code(b, at + 2, 0), at + 2);
	}
	memset(b, 0, N); /* zeros only: no 01 anywhere */
	CHECK_EQ_INT(h264_find_start_code(b, N, 0), N);
	b[N - 1] = 1;
	CHECK_EQ_INT(h264_find_start_code(b, N, 0), N - 3);
}

/* ----------------------------------------------------- AVCC conversion */

/* The conversion as it was before the one-pass copy: NAL by NAL. */
static size_t reference_avcc(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t pos = 0, o = 0;
	struct h264_nal nal;
	while (h264_next_nal(in, n, &pos, &nal, NULL)) {
		out[o] = (uint8_t)(nal.size >> 24);
		out[o + 1] = (uint8_t)(nal.size >> 16);
		out[o + 2] = (uint8_t)(nal.size >> 8);
		out[o + 3] = (uint8_t)nal.size;
		memcpy(out + o + 4, in + nal.offset, nal.size);
		o += 4 + nal.size;
	}
	return o;
}

/* Random access units (garbage before the first code, empty NAL units,
 * trailing zeros, 3- and 4-byte codes); the output buffer is exactly
 * h264_avcc_bound(n) long so ASan catches a write past it. */
static void test_avcc_matches_reference(void)
{
	unsigned mismatches = 0;
	uint8_t *in = malloc(8192);
	for (unsigned round = 0; round < 4000; round++) {
		size_t len = round % 50 == 0 ? 8192 : next_random() % 400;
		fill(in, len, next_random() % 12);
		/* sometimes a run of start codes with little between */
		for (size_t k = 0; round % 3 == 0 && k + 4 <= len; k += 4)
			if (next_random() % 3 == 0)
				memcpy(in + k, (const uint8_t[]){0, 0, 1, 0x41},
				       4);
		size_t bound = h264_avcc_bound(len);
		uint8_t *got = malloc(bound), *want = malloc(bound);
		size_t g = h264_annexb_to_avcc(in, len, got);
		size_t w = reference_avcc(in, len, want);
		if ((g != w || memcmp(got, want, w)) && mismatches++ < 5)
			fprintf(stderr,
				"avcc: len %zu: got %zu bytes, want %zu\n", len,
				g, w);
		free(got);
		free(want);
	}
	CHECK_EQ_INT(mismatches, 0);
	free(in);
}

/* ------------------------------------------------ splitter input paths */

static void put(uint8_t *b, size_t *n, const uint8_t *p, size_t len)
{
	memcpy(b + *n, p, len);
	*n += len;
}

/* Payload bytes: never two zeros in a row, with some 00 00 03 escapes. */
static void put_payload(uint8_t *b, size_t *n, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (next_random() % 500 == 0 && i + 3 < len) {
			put(b, n, (const uint8_t[]){0, 0, 3}, 3);
			i += 2;
			continue;
		}
		b[(*n)++] = (uint8_t)(1 + next_random() % 255);
	}
}

/* GOPs of AUD? + SPS + PPS + IDR, then P pictures, some in two slices;
 * start codes of 3 and 4 bytes. Returns the stream length. */
static size_t make_stream(uint8_t *b, unsigned pictures)
{
	static const uint8_t sc4[] = {0, 0, 0, 1}, sc3[] = {0, 0, 1};
	size_t n = 0;
	for (unsigned i = 0; i < pictures; i++) {
		bool key = i % 10 == 0;
		if (i % 3 == 0)
			put(b, &n, (const uint8_t[]){0, 0, 0, 1, 0x09, 0xf0},
			    6);
		if (key) {
			put(b, &n, sc4, 4);
			put(b, &n, (const uint8_t[]){0x67, 0x42, 0xc0, 0x1e},
			    4);
			put_payload(b, &n, 8);
			put(b, &n, sc4, 4);
			put(b, &n, (const uint8_t[]){0x68, 0xce, 0x3c, 0x80},
			    4);
		}
		unsigned slices = i % 4 == 1 ? 2 : 1;
		for (unsigned sl = 0; sl < slices; sl++) {
			put(b, &n, sl ? sc3 : sc4, sl ? 3 : 4);
			/* first_mb_in_slice 0 ('1') or 40 (ue 000101001),
			 * slice_type I or P, pps_id 0 */
			if (sl == 0)
				put(b, &n,
				    (const uint8_t[]){key ? 0x65 : 0x41,
						      key ? 0xb8 : 0xe0},
				    2);
			else
				put(b, &n, (const uint8_t[]){0x41, 0x14, 0xf8},
				    3);
			put_payload(b, &n, 200 + next_random() % 3000);
		}
	}
	return n;
}

struct au_list {
	uint64_t offset[400];
	size_t size[400];
	const uint8_t *data[400];
	unsigned n;
};

static void collect(struct h264_au_splitter *sp, struct au_list *l)
{
	struct h264_au au;
	int r;
	while ((r = h264_au_splitter_next(sp, &au)) != 0) {
		CHECK(r > 0);
		if (r > 0 && l->n < 400) {
			l->offset[l->n] = au.stream_offset;
			l->size[l->n] = au.size;
			l->data[l->n] = au.data;
			l->n++;
		}
	}
}

static void split_with_push(const uint8_t *s, size_t len, struct au_list *l)
{
	struct h264_au_splitter *sp = h264_au_splitter_new(1 << 20);
	for (size_t off = 0; off < len; off += 1000) {
		size_t n = len - off < 1000 ? len - off : 1000;
		CHECK_EQ_INT(h264_au_splitter_push(sp, s + off, n), 0);
		collect(sp, l);
	}
	h264_au_splitter_finish(sp);
	collect(sp, l);
	h264_au_splitter_free(sp);
}

/* get_buffer/commit in the splitter's own buffer, reads of odd sizes. */
static void test_get_buffer_commit(const uint8_t *s, size_t len,
				   const struct au_list *want)
{
	struct h264_au_splitter *sp = h264_au_splitter_new(1 << 20);
	struct au_list got = {0};
	size_t off = 0;
	while (off < len) {
		size_t room;
		uint8_t *p = h264_au_splitter_get_buffer(sp, 777, &room);
		CHECK(p != NULL && room >= 777);
		if (!p)
			break;
		size_t n = 1 + next_random() % room;
		n = n > len - off ? len - off : n;
		memcpy(p, s + off, n);
		h264_au_splitter_commit(sp, n);
		off += n;
		collect(sp, &got);
	}
	h264_au_splitter_finish(sp);
	collect(sp, &got);
	h264_au_splitter_free(sp);
	CHECK_EQ_INT(got.n, want->n);
	for (unsigned i = 0; i < got.n && i < want->n; i++) {
		CHECK_EQ_INT(got.offset[i], want->offset[i]);
		CHECK_EQ_INT(got.size[i], want->size[i]);
	}
}

/* Caller buffers: small ones so access units straddle them and move; every
 * access unit must stay intact in its buffer until the end. */
static void test_use_buffer(const uint8_t *s, size_t len,
			    const struct au_list *want)
{
	enum { BUF = 8192, MIN = 512 };
	uint8_t *bufs[4096];
	unsigned nbufs = 0;
	struct h264_au_splitter *sp = h264_au_splitter_new(1 << 20);
	struct au_list got = {0};
	size_t off = 0, room;
	while (off < len && nbufs < 4096) {
		/* the first buffer is given before any input */
		uint8_t *p =
		    nbufs ? h264_au_splitter_get_buffer(sp, MIN, &room) : NULL;
		if (!p) {
			size_t pending = h264_au_splitter_pending(sp);
			/* too small a buffer is refused, nothing lost */
			if (pending > 0) {
				uint8_t tiny[1];
				CHECK_EQ_INT(h264_au_splitter_use_buffer(
						 sp, tiny, pending - 1),
					     -1);
			}
			size_t cap = pending + MIN > BUF ? pending + MIN : BUF;
			bufs[nbufs] = malloc(cap);
			CHECK_EQ_INT(
			    h264_au_splitter_use_buffer(sp, bufs[nbufs], cap),
			    0);
			nbufs++;
			continue;
		}
		CHECK(room >= MIN);
		size_t n = MIN + next_random() % (room - MIN + 1);
		n = n > len - off ? len - off : n;
		memcpy(p, s + off, n);
		h264_au_splitter_commit(sp, n);
		off += n;
		collect(sp, &got);
	}
	h264_au_splitter_finish(sp);
	collect(sp, &got);
	/* Freeing the splitter leaves the caller's buffers alone. */
	h264_au_splitter_free(sp);
	CHECK(nbufs > 10);
	CHECK_EQ_INT(got.n, want->n);
	unsigned bad = 0;
	for (unsigned i = 0; i < got.n && i < want->n; i++) {
		CHECK_EQ_INT(got.offset[i], want->offset[i]);
		CHECK_EQ_INT(got.size[i], want->size[i]);
		bad += memcmp(got.data[i], s + got.offset[i], got.size[i]) != 0;
	}
	CHECK_EQ_INT(bad, 0);
	for (unsigned i = 0; i < nbufs; i++)
		free(bufs[i]);
}

static void test_splitter_inputs(void)
{
	uint8_t *s = malloc(300 * 7000);
	size_t len = make_stream(s, 300);
	struct au_list *want = calloc(1, sizeof(*want));
	split_with_push(s, len, want);
	CHECK_EQ_INT(want->n, 300);
	test_get_buffer_commit(s, len, want);
	test_use_buffer(s, len, want);
	free(want);
	free(s);
}

int main(void)
{
	test_matches_reference();
	test_every_position();
	test_avcc_matches_reference();
	test_splitter_inputs();
	return check_done();
}
