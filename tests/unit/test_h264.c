/* common/h264: access-unit splitting, SPS parsing and AVCC conversion on
 * streams made here with ffmpeg/libx264, and on broken input. */
#include "tests/unit/check.h"

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/h264.h"

static char dir[] = "/tmp/vpipe-h264.XXXXXX";

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
	*len = fread(b, 1, (size_t)n, f);
	fclose(f);
	return b;
}

/* Encode `frames` frames of testsrc2 with libx264; returns the stream. */
static uint8_t *make_stream(const char *name, const char *size, int frames,
			    int gop, const char *x264_params, size_t *len)
{
	char path[256], cmd[1024];
	snprintf(path, sizeof(path), "%s/%s.h264", dir, name);
	snprintf(cmd, sizeof(cmd),
		 "ffmpeg -v error -y -f lavfi -i testsrc2=size=%s:rate=30 "
		 "-frames:v %d -c:v libx264 -preset ultrafast -g %d "
		 "-x264-params scenecut=0%s%s -pix_fmt yuv420p %s",
		 size, frames, gop, x264_params[0] ? ":" : "", x264_params,
		 path);
	if (system(cmd) != 0) {
		fprintf(stderr, "ffmpeg failed: %s\n", cmd);
		return NULL;
	}
	return read_file(path, len);
}

struct split_result {
	unsigned aus, keys, with_sps, errors, max_slices, head_mismatch;
	size_t bytes;
	bool contiguous; /* the access units tile the input exactly */
	bool had_aud_first;
};

static void split(const uint8_t *s, size_t len, size_t chunk,
		  struct split_result *r)
{
	memset(r, 0, sizeof(*r));
	r->contiguous = true;
	r->had_aud_first = true;
	struct h264_au_splitter *sp = h264_au_splitter_new(1 << 22);
	uint64_t expect = 0;
	struct h264_au au;
	for (size_t off = 0;; off += chunk) {
		size_t n = off >= len	       ? 0
			   : len - off < chunk ? len - off
					       : chunk;
		if (n)
			h264_au_splitter_push(sp, s + off, n);
		else
			h264_au_splitter_finish(sp);
		int rc;
		while ((rc = h264_au_splitter_next(sp, &au)) != 0) {
			if (rc < 0) {
				r->errors++;
				continue;
			}
			if (au.stream_offset != expect ||
			    memcmp(au.data, s + au.stream_offset, au.size))
				r->contiguous = false;
			expect = au.stream_offset + au.size;
			r->bytes += au.size;
			r->aus++;
			struct h264_au_info info;
			char err[128];
			if (h264_au_info(au.data, au.size, &info, err,
					 sizeof(err))) {
				fprintf(stderr, "au %u: %s\n", r->aus, err);
				r->errors++;
				continue;
			}
			struct h264_au_info head;
			if (h264_au_info_head(au.data, au.size, &head, err,
					      sizeof(err)) ||
			    head.key != info.key ||
			    head.has_sps != info.has_sps ||
			    head.has_pps != info.has_pps ||
			    head.sps_index != info.sps_index ||
			    head.pps_index != info.pps_index ||
			    head.slice_type != info.slice_type ||
			    head.num_slices != 1)
				r->head_mismatch++;
			r->keys += info.key;
			r->with_sps += info.has_sps && info.has_pps;
			if (info.num_slices > r->max_slices)
				r->max_slices = info.num_slices;
			if (!info.has_aud || info.nals[0].type != H264_NAL_AUD)
				r->had_aud_first = false;
		}
		if (n == 0)
			break;
	}
	h264_au_splitter_free(sp);
}

static void check_sps(const uint8_t *s, size_t len, uint32_t w, uint32_t h,
		      uint32_t fps)
{
	size_t pos = 0;
	struct h264_nal nal;
	while (h264_next_nal(s, len, &pos, &nal, NULL))
		if (nal.type == H264_NAL_SPS)
			break;
	CHECK_EQ_INT(nal.type, H264_NAL_SPS);
	struct h264_sps sps;
	char err[160] = "";
	CHECK_EQ_INT(
	    h264_parse_sps(s + nal.offset, nal.size, &sps, err, sizeof(err)),
	    0);
	CHECK_EQ_INT(sps.width, w);
	CHECK_EQ_INT(sps.height, h);
	if (fps) {
		CHECK(sps.timing_info_present);
		CHECK_EQ_INT(sps.fps_num / sps.fps_den, fps);
	}
}

static void test_stream(const char *name, const char *size, uint32_t w,
			uint32_t h, int frames, int gop, const char *params,
			unsigned want_slices, bool aud)
{
	size_t len = 0;
	uint8_t *s = make_stream(name, size, frames, gop, params, &len);
	CHECK(s != NULL);
	if (!s)
		return;
	static const size_t chunks[] = {1, 3, 188, 4096, 1 << 24};
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct split_result r;
		split(s, len, chunks[i], &r);
		if (r.aus != (unsigned)frames)
			fprintf(stderr, "%s chunk %zu: %u access units\n", name,
				chunks[i], r.aus);
		CHECK_EQ_INT(r.aus, frames);
		CHECK_EQ_INT(r.keys, (frames + gop - 1) / gop);
		CHECK_EQ_INT(r.with_sps, r.keys);
		CHECK_EQ_INT(r.errors, 0);
		CHECK_EQ_INT(r.head_mismatch, 0);
		CHECK_EQ_INT(r.bytes, len);
		CHECK(r.contiguous);
		CHECK_EQ_INT(r.max_slices, want_slices);
		if (aud)
			CHECK(r.had_aud_first);
	}
	check_sps(s, len, w, h, 30);

	/* AVCC: every NAL unit length-prefixed, sizes add up. */
	uint8_t *avcc = malloc(h264_avcc_bound(len));
	size_t n = h264_annexb_to_avcc(s, len, avcc);
	size_t pos = 0, nals = 0, sum = 0;
	struct h264_nal nal;
	while (h264_next_nal(s, len, &pos, &nal, NULL)) {
		nals++;
		sum += nal.size;
	}
	CHECK_EQ_INT(n, sum + 4 * nals);
	size_t walk = 0, count = 0;
	while (walk + 4 <= n) {
		walk += 4 + rd_be32(avcc + walk);
		count++;
	}
	CHECK_EQ_INT(walk, n);
	CHECK_EQ_INT(count, nals);
	free(avcc);
	free(s);
}

static void test_avcc_record(void)
{
	size_t len = 0;
	uint8_t *s = make_stream("high", "640x360", 2, 30, "", &len);
	CHECK(s != NULL);
	if (!s)
		return;
	struct h264_au_info info;
	CHECK_EQ_INT(h264_au_info(s, len, &info, NULL, 0), 0);
	CHECK(info.has_sps && info.has_pps);
	const struct h264_nal *sp = &info.nals[info.sps_index];
	const struct h264_nal *pp = &info.nals[info.pps_index];
	const uint8_t *sps[] = {s + sp->offset}, *pps[] = {s + pp->offset};
	size_t sl[] = {sp->size}, pl[] = {pp->size};
	uint8_t rec[256];
	long n = h264_build_avcc(sps, sl, 1, pps, pl, 1, rec, sizeof(rec));
	CHECK(n > 0);
	CHECK_EQ_INT(rec[0], 1);
	CHECK_EQ_INT(rec[1], s[sp->offset + 1]); /* profile */
	CHECK_EQ_INT(rec[3], s[sp->offset + 3]); /* level */
	CHECK_EQ_INT(rec[4], 0xff);
	CHECK_EQ_INT(rec[5], 0xe1);
	CHECK_EQ_INT(rd_be16(rec + 6), sp->size);
	CHECK(memcmp(rec + 8, s + sp->offset, sp->size) == 0);
	CHECK_EQ_INT(rec[8 + sp->size], 1);
	/* High profile (ultrafast yuv420p is constrained baseline; this one
	 * is not): the record ends with the chroma/bit-depth extension. */
	if (rec[1] == 100)
		CHECK_EQ_INT(n, 8 + (long)sp->size + 3 + (long)pp->size + 4);
	else
		CHECK_EQ_INT(n, 8 + (long)sp->size + 3 + (long)pp->size);
	/* Too small a buffer, bad counts: refused. */
	CHECK_EQ_INT(h264_build_avcc(sps, sl, 1, pps, pl, 1, rec, 10), -1);
	CHECK_EQ_INT(h264_build_avcc(sps, sl, 0, pps, pl, 1, rec, 256), -1);
	CHECK_EQ_INT(h264_build_avcc(pps, pl, 1, pps, pl, 1, rec, 256), -1);
	free(s);
}

/* An SPS taken from x264 (1920x1080 constrained baseline, level 4.0,
 * 120x68 macroblocks with 8 lines cropped at the bottom, 30 fps VUI). */
static void test_sps_hand_made(void)
{
	static const uint8_t sps[] = {0x67, 0x42, 0xc0, 0x28, 0xda, 0x01, 0xe0,
				      0x08, 0x9f, 0x97, 0x01, 0x10, 0x00, 0x00,
				      0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03,
				      0xc0, 0xf1, 0x83, 0x2a};
	struct h264_sps p;
	char err[160];
	CHECK_EQ_INT(h264_parse_sps(sps, sizeof(sps), &p, err, sizeof(err)), 0);
	CHECK_EQ_INT(p.profile_idc, 66);
	CHECK_EQ_INT(p.level_idc, 40);
	CHECK_EQ_INT(p.coded_width, 1920);
	CHECK_EQ_INT(p.coded_height, 1088);
	CHECK_EQ_INT(p.width, 1920);
	CHECK_EQ_INT(p.height, 1080);
	CHECK_EQ_INT(p.crop_bottom, 8);
	CHECK(p.timing_info_present);
	CHECK_EQ_INT(p.fps_num, 60);
	CHECK_EQ_INT(p.fps_den, 2);
	/* Every truncation fails cleanly with a byte offset, or parses the
	 * mandatory part (the VUI is optional). */
	for (size_t n = 0; n < sizeof(sps); n++) {
		int rc = h264_parse_sps(sps, n, &p, err, sizeof(err));
		if (rc)
			CHECK(strstr(err, "byte") || strstr(err, "not an SPS"));
	}
	CHECK_EQ_INT(h264_parse_sps(sps, 5, &p, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "byte");
}

static void test_broken(void)
{
	size_t len = 0;
	uint8_t *s = make_stream("broken", "160x120", 20, 10, "", &len);
	CHECK(s != NULL);
	if (!s)
		return;
	/* Garbage before the stream and between access units. */
	size_t glen = len + 300;
	uint8_t *g = malloc(glen);
	for (size_t i = 0; i < 100; i++)
		g[i] = (uint8_t)(0x80 | i);
	memcpy(g + 100, s, len);
	memset(g + 100 + len, 0xff, 200);
	struct split_result r;
	split(g, glen, 64, &r);
	CHECK_EQ_INT(r.aus, 20);
	CHECK(r.errors >= 1);

	/* forbidden_zero_bit set: that NAL unit is dropped and reported. */
	memcpy(g, s, len);
	size_t pos = 0, k = 0;
	struct h264_nal nal;
	while (h264_next_nal(g, len, &pos, &nal, NULL))
		if (nal.type == H264_NAL_SLICE && ++k == 3)
			break;
	g[nal.offset] |= 0x80;
	split(g, len, 4096, &r);
	CHECK_EQ_INT(r.errors, 1);
	CHECK_EQ_INT(r.aus, 19);

	/* Truncated mid-NAL: the last access unit is short, no crash. */
	split(s, len - 37, 100, &r);
	CHECK_EQ_INT(r.aus, 20);

	/* An access unit above the limit is dropped with an error. */
	struct h264_au_splitter *sp = h264_au_splitter_new(100);
	h264_au_splitter_push(sp, s, len);
	h264_au_splitter_finish(sp);
	struct h264_au au;
	int rc, errors = 0;
	while ((rc = h264_au_splitter_next(sp, &au)) != 0)
		if (rc < 0) {
			errors++;
			CHECK_STR_CONTAINS(h264_au_splitter_error(sp), "byte ");
		}
	CHECK(errors > 0);
	h264_au_splitter_free(sp);

	/* Pseudo-random bytes in every chunking: no crash, offsets sane. */
	uint32_t x = 12345;
	for (size_t i = 0; i < glen; i++) {
		x = x * 1103515245 + 12345;
		g[i] = (uint8_t)(x >> 16);
		if (i % 97 == 0 && i + 3 < glen) {
			g[i] = 0;
			g[i + 1] = 0;
		}
	}
	split(g, glen, 13, &r);
	struct h264_au_info info;
	h264_au_info(g, glen, &info, NULL, 0);
	h264_au_info_head(g, glen, &info, NULL, 0);
	for (size_t cut = 0; cut < 64; cut++)
		h264_au_info_head(s, cut, &info, NULL, 0);
	uint8_t *avcc = malloc(h264_avcc_bound(glen));
	CHECK(h264_annexb_to_avcc(g, glen, avcc) <= h264_avcc_bound(glen));
	free(avcc);
	/* Info on nothing and on a lone SPS: errors, not crashes. */
	char err[128];
	CHECK_EQ_INT(h264_au_info(g, 0, &info, err, sizeof(err)), -1);
	static const uint8_t lone[] = {0, 0, 1, 0x67, 0x42, 0, 0x1e};
	CHECK_EQ_INT(h264_au_info(lone, sizeof(lone), &info, err, sizeof(err)),
		     -1);
	CHECK_STR_CONTAINS(err, "no picture slice");
	free(g);
	free(s);
}

/* What the v4l2 and v4l2m2m modules ask of a buffer from the device: is
 * it parameter sets only (bcm2835 hands those out alone)? */
static void test_headers_only(void)
{
	static const uint8_t sps_pps[] = {0, 0, 0, 1,	 0x67, 0x42, 0,	  0x1e,
					  0, 0, 1, 0x68, 0xce, 0x38, 0x80};
	static const uint8_t with_idr[] = {0, 0, 1, 0x67, 0x42, 0,   0x1e,
					   0, 0, 1, 0x65, 0x88, 0x84};
	static const uint8_t sei_slice[] = {0, 0, 1, 0x06, 0x05, 0x80,
					    0, 0, 1, 0x41, 0x9a, 0x02};
	static const uint8_t no_nal[] = {0xff, 0xfe, 0xfd};
	CHECK(h264_headers_only(sps_pps, sizeof sps_pps));
	CHECK(!h264_headers_only(with_idr, sizeof with_idr));
	CHECK(!h264_headers_only(sei_slice, sizeof sei_slice));
	CHECK(!h264_headers_only(no_nal, sizeof no_nal));
	CHECK(!h264_headers_only(sps_pps, 0));
}

int main(void)
{
	test_headers_only();
	if (system("command -v ffmpeg >/dev/null 2>&1") != 0) {
		printf("SKIP: needs ffmpeg with libx264\n");
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	test_sps_hand_made();
	test_stream("aud", "320x240", 320, 240, 45, 15, "aud=1", 1, true);
	test_stream("crop1080", "1920x1080", 1920, 1080, 4, 2, "", 1, false);
	test_stream("slices", "640x360", 640, 360, 30, 10, "slices=4", 4,
		    false);
	test_stream("bframes", "352x288", 352, 288, 40, 20, "bframes=3:aud=1",
		    1, true);
	test_stream("odd", "200x150", 200, 150, 12, 5, "", 1, false);
	test_avcc_record();
	test_broken();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
