/* H.265 parsing against streams made here with ffmpeg/libx265: the
 * streaming splitter finds one access unit per picture in any chunking,
 * IRAP pictures where the GOP puts them, the SPS size after the
 * conformance window, and an hvcC byte-identical to the one ffmpeg writes
 * into Matroska; and refusals of broken parameter sets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/h264.h"
#include "common/h264_order.h"
#include "common/h265.h"
#include "tests/unit/check.h"

static char dir[] = "/tmp/vpipe-h265.XXXXXX";

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

/* Encode `frames` frames of testsrc with libx265 to dir/name.h265. */
static uint8_t *make_stream(const char *name, const char *size, int frames,
			    int gop, const char *x265_params, size_t *len)
{
	char path[256], cmd[1024];
	snprintf(path, sizeof(path), "%s/%s.h265", dir, name);
	snprintf(cmd, sizeof(cmd),
		 "ffmpeg -v error -y -f lavfi -i testsrc=size=%s:rate=25 "
		 "-frames:v %d -c:v libx265 -preset ultrafast -x265-params "
		 "log-level=error:keyint=%d:min-keyint=%d:scenecut=0%s%s "
		 "-pix_fmt yuv420p %s",
		 size, frames, gop, gop, x265_params[0] ? ":" : "", x265_params,
		 path);
	if (system(cmd) != 0) {
		fprintf(stderr, "ffmpeg failed: %s\n", cmd);
		return NULL;
	}
	return read_file(path, len);
}

/* The hvcC ffmpeg writes for the stream: remux to Matroska (timestamps
 * made up: the raw demuxer has none) and read the
 * extradata hex dump ffprobe prints. */
static size_t ffmpeg_hvcc(const char *name, uint8_t *out, size_t cap)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "ffmpeg -v error -y -i %s/%s.h265 -bsf:v setts=ts=N "
		 "-c copy %s/%s.mkv && "
		 "ffprobe -v error -show_data -show_streams %s/%s.mkv",
		 dir, name, dir, name, dir, name);
	FILE *p = popen(cmd, "r");
	if (!p)
		return 0;
	char line[256];
	size_t n = 0;
	bool in = false;
	while (fgets(line, sizeof(line), p)) {
		if (strncmp(line, "extradata=", 10) == 0) {
			in = true;
			continue;
		}
		char *colon = strstr(line, ": ");
		if (!in || !colon || colon - line != 8) {
			in = in && colon && colon - line == 8;
			continue;
		}
		/* 8 groups of 4 hex digits, then two spaces and the text */
		char *h = colon + 2;
		for (int g = 0; g < 8 && h[0] && h[0] != ' '; g++) {
			for (int k = 0; k < 2 && h[0] != ' '; k++) {
				unsigned v;
				if (sscanf(h, "%2x", &v) == 1 && n < cap)
					out[n++] = (uint8_t)v;
				h += 2;
			}
			h++;
		}
	}
	pclose(p);
	return n;
}

struct split_result {
	unsigned aus, keys, errors;
	bool contiguous;
	size_t bytes;
	uint8_t first_au[1 << 16];
	size_t first_len;
};

static void split(const uint8_t *s, size_t len, size_t chunk,
		  struct split_result *r)
{
	memset(r, 0, sizeof(*r));
	r->contiguous = true;
	struct h264_au_splitter *sp = h265_au_splitter_new(1 << 22);
	struct h264_au au;
	uint64_t expect = 0;
	for (size_t off = 0;; off += chunk) {
		size_t n = off >= len	       ? 0
			   : len - off < chunk ? len - off
					       : chunk;
		if (n)
			CHECK(h264_au_splitter_push(sp, s + off, n) == 0);
		else
			h264_au_splitter_finish(sp);
		int rc;
		while ((rc = h264_au_splitter_next(sp, &au)) != 0) {
			if (rc < 0) {
				r->errors++;
				continue;
			}
			r->contiguous &= au.stream_offset == expect;
			expect = au.stream_offset + au.size;
			r->bytes += au.size;
			struct h265_au_info info;
			char err[160];
			CHECK(h265_au_info(au.data, au.size, &info, err,
					   sizeof(err)) == 0);
			if (info.key)
				r->keys++;
			if (r->aus++ == 0 && au.size <= sizeof(r->first_au)) {
				memcpy(r->first_au, au.data, au.size);
				r->first_len = au.size;
			}
		}
		if (n == 0)
			break;
	}
	h264_au_splitter_free(sp);
}

static void test_stream(const char *name, const char *size, unsigned w,
			unsigned h, int frames, int gop, const char *params)
{
	size_t len;
	uint8_t *s = make_stream(name, size, frames, gop, params, &len);
	CHECK(s != NULL);
	if (!s)
		return;
	static const size_t chunks[] = {1, 7, 188, 4096, 1 << 20};
	static struct split_result r;
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		split(s, len, chunks[c], &r);
		CHECK_EQ_INT(r.aus, frames);
		CHECK_EQ_INT(r.keys, (frames + gop - 1) / gop);
		CHECK_EQ_INT(r.errors, 0);
		CHECK(r.contiguous);
		CHECK_EQ_INT(r.bytes, len);
	}
	struct h265_param_sets ps;
	CHECK_EQ_INT(h265_collect_param_sets(r.first_au, r.first_len, &ps), 3);
	struct h265_sps sps;
	char err[160] = "";
	CHECK(h265_parse_sps(ps.sps[0], ps.sps_len[0], &sps, err,
			     sizeof(err)) == 0);
	CHECK_EQ_INT(sps.width, w);
	CHECK_EQ_INT(sps.height, h);
	CHECK_EQ_INT(sps.chroma_format_idc, 1);
	CHECK_EQ_INT(sps.bit_depth_luma, 8);
	CHECK_EQ_INT(sps.ptl.profile_idc, 1); /* Main */
	struct h265_pps pps;
	CHECK(h265_parse_pps(ps.pps[0], ps.pps_len[0], &pps, err,
			     sizeof(err)) == 0);
	struct h265_vps vps;
	CHECK(h265_parse_vps(ps.vps[0], ps.vps_len[0], &vps, err,
			     sizeof(err)) == 0);
	uint8_t ours[512], theirs[512];
	long n = h265_build_hvcc(&ps, ours, sizeof(ours), err, sizeof(err));
	size_t m = ffmpeg_hvcc(name, theirs, sizeof(theirs));
	CHECK(n > 23);
	CHECK_EQ_INT(n, m);
	CHECK(n > 0 && (size_t)n == m && memcmp(ours, theirs, m) == 0);
	free(s);
}

static void test_broken(void)
{
	char err[160] = "";
	struct h265_sps sps;
	/* Too short, wrong type, forbidden bit. */
	static const uint8_t short_sps[] = {0x42, 0x01, 0x01};
	CHECK(h265_parse_sps(short_sps, sizeof short_sps, &sps, err,
			     sizeof(err)) < 0);
	CHECK_STR_CONTAINS(err, "SPS ends early");
	static const uint8_t pps_hdr[] = {0x44, 0x01, 0xc1};
	CHECK(h265_parse_sps(pps_hdr, sizeof pps_hdr, &sps, err, sizeof(err)) <
	      0);
	CHECK_STR_CONTAINS(err, "not an H.265 SPS");
	static const uint8_t forbidden[] = {0xc2, 0x01, 0x01};
	CHECK(h265_parse_sps(forbidden, sizeof forbidden, &sps, err,
			     sizeof(err)) < 0);
	/* hvcC without a PPS. */
	struct h265_param_sets ps = {0};
	CHECK(h265_build_hvcc(&ps, (uint8_t[64]){0}, 64, err, sizeof(err)) < 0);
	CHECK_STR_CONTAINS(err, "needs a VPS, an SPS and a PPS");
	/* An access unit without a slice segment. */
	static const uint8_t aud_only[] = {0, 0, 0, 1, 0x46, 0x01, 0x50};
	struct h265_au_info info;
	CHECK(h265_au_info(aud_only, sizeof aud_only, &info, err, sizeof(err)) <
	      0);
	CHECK_STR_CONTAINS(err, "no slice segment");
	/* Headers. */
	struct h265_nal_header h;
	static const uint8_t idr[] = {0x26, 0x01};
	CHECK(h265_parse_nal_header(idr, 2, &h) == 0);
	CHECK_EQ_INT(h.type, H265_NAL_IDR_W_RADL);
	CHECK(h265_nal_is_irap(h.type));
	CHECK(!h265_nal_is_irap(1));
	static const uint8_t tid0[] = {0x26, 0x00};
	CHECK(h265_parse_nal_header(tid0, 2, &h) < 0);
}

/* Display order from picture order counts (h265_order + the reorder
 * buffer) against ffmpeg's decoder: ffprobe lists the decoded frames in
 * display order with the byte offset of their access unit. */
static void test_display_order(const char *name)
{
	char path[256], cmd[512];
	snprintf(path, sizeof(path), "%s/%s.h265", dir, name);
	size_t len;
	uint8_t *s = read_file(path, &len);
	CHECK(s != NULL);
	if (!s)
		return;
	enum { MAX = 256 };
	static uint64_t offset[MAX], display[MAX];
	unsigned n = 0;
	struct h265_order *o = h265_order_new();
	struct h264_reorder r;
	h264_reorder_init(&r);
	struct h264_reorder_out out[H264_REORDER_MAX_OUT];
	struct h264_au_splitter *sp = h265_au_splitter_new(1 << 22);
	h264_au_splitter_push(sp, s, len);
	h264_au_splitter_finish(sp);
	struct h264_au au;
	unsigned got = 0;
	while (h264_au_splitter_next(sp, &au) > 0 && n < MAX) {
		struct h264_order_pic pic;
		char err[160];
		CHECK(h265_order_picture(o, au.data, au.size, &pic, err,
					 sizeof(err)) == 0);
		offset[n++] = au.stream_offset;
		unsigned k = h264_reorder_push(
		    &r, &pic,
		    pic.reorder >= 0 ? (unsigned)pic.reorder : pic.dpb, out,
		    NULL);
		for (unsigned i = 0; i < k; i++, got++)
			display[out[i].display_index] =
			    offset[out[i].decode_index];
	}
	unsigned k = h264_reorder_flush(&r, out);
	for (unsigned i = 0; i < k; i++, got++)
		display[out[i].display_index] = offset[out[i].decode_index];
	CHECK_EQ_INT(got, n);
	snprintf(cmd, sizeof(cmd),
		 "ffprobe -v error -show_entries frame=pkt_pos -of csv=p=0 %s",
		 path);
	FILE *p = popen(cmd, "r");
	unsigned i = 0, mismatches = 0;
	char line[128];
	while (p && fgets(line, sizeof(line), p)) {
		if (line[0] < '0' || line[0] > '9')
			continue; /* side data lines */
		unsigned long long pos = strtoull(line, NULL, 10);
		/* ffmpeg's offset is that of 00 00 01; ours includes the
		 * leading zero of a 4-byte start code */
		if (i < n && display[i] != pos && display[i] + 1 != pos)
			mismatches++;
		i++;
	}
	if (p)
		pclose(p);
	CHECK_EQ_INT(i, n);
	CHECK_EQ_INT(mismatches, 0);
	h264_au_splitter_free(sp);
	h265_order_free(o);
	free(s);
}

int main(void)
{
	test_broken();
	if (system("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q "
		   "libx265") != 0) {
		printf("SKIP: needs ffmpeg with libx265\n");
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	test_stream("plain", "320x240", 320, 240, 30, 10, "");
	test_stream("crop", "200x150", 200, 150, 12, 5, "");
	test_stream("slices", "640x360", 640, 360, 10, 5, "slices=4:aud=1");
	test_stream("bframes", "352x288", 352, 288, 20, 10,
		    "bframes=3:repeat-headers=1");
	test_display_order("bframes");
	test_stream("pyramid", "320x240", 320, 240, 40, 20,
		    "bframes=4:b-pyramid=1:b-adapt=2");
	test_display_order("pyramid");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
