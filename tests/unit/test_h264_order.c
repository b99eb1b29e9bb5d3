/* common/h264 picture order count and common/h264_order: on x264 streams
 * (B-frames 1 to 3, b-pyramid none/normal/strict, open GOP, several
 * references with weighted prediction, poc type 0 and 2) the display order
 * from POC must be ffmpeg's (ffprobe -show_frames lists pictures in output
 * order with their coded_picture_number). POC type 1 and mmco5 are checked
 * on hand-made slice headers against values worked out from 8.2.1; dts
 * from pts on made-up sequences. */
#include "tests/unit/check.h"

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "common/h264.h"
#include "common/h264_order.h"

static char dir[] = "/tmp/vpipe-h264-order.XXXXXX";

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

/* ffmpeg's output order: display[d] = position of coded picture d. */
static unsigned ffprobe_display(const char *path, uint64_t *display,
				unsigned max)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "ffprobe -v error -show_entries frame=coded_picture_number "
		 "-of csv=p=0 %s",
		 path);
	FILE *p = popen(cmd, "r");
	if (!p)
		return 0;
	/* One line per picture; side data (SEI) adds empty lines. */
	unsigned pos = 0, coded;
	char line[128];
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%u", &coded) != 1)
			continue;
		if (coded < max)
			display[coded] = pos;
		pos++;
	}
	pclose(p);
	return pos;
}

struct result {
	unsigned aus, invalid, max_depth, marking_unparsed, mmco5;
	int reorder; /* from the SPS */
	unsigned dpb;
	int poc_type;
};

/* Split, order and reorder the stream; compare with ffprobe. */
static void check_order(const char *name, const char *x264, int frames, int gop,
			const char *preset, int want_poc_type, int want_reorder)
{
	char path[256], cmd[1024];
	snprintf(path, sizeof(path), "%s/%s.h264", dir, name);
	snprintf(cmd, sizeof(cmd),
		 "ffmpeg -v error -y -f lavfi -i testsrc2=size=176x144:rate=30 "
		 "-frames:v %d -c:v libx264 -preset %s -g %d "
		 "-x264-params scenecut=0:%s -pix_fmt yuv420p %s",
		 frames, preset, gop, x264, path);
	if (system(cmd) != 0) {
		fprintf(stderr, "%s: ffmpeg failed\n", name);
		CHECK(0);
		return;
	}
	size_t len = 0;
	uint8_t *s = read_file(path, &len);
	uint64_t *want = calloc((size_t)frames, sizeof(*want));
	uint64_t *got = calloc((size_t)frames, sizeof(*got));
	unsigned shown = ffprobe_display(path, want, (unsigned)frames);
	CHECK_EQ_INT(shown, frames);

	struct h264_au_splitter *sp = h264_au_splitter_new(1 << 22);
	struct h264_order *o = h264_order_new();
	struct h264_reorder r;
	h264_reorder_init(&r);
	struct result res = {.reorder = -2};
	struct h264_reorder_out out[H264_REORDER_MAX_OUT];
	struct h264_au au;
	h264_au_splitter_push(sp, s, len);
	h264_au_splitter_finish(sp);
	while (h264_au_splitter_next(sp, &au) > 0) {
		struct h264_order_pic pic;
		char err[200];
		if (h264_order_picture(o, au.data, au.size, &pic, err,
				       sizeof(err))) {
			fprintf(stderr, "%s au %u: %s\n", name, res.aus, err);
			res.invalid++;
		}
		if (res.reorder == -2) {
			res.reorder = pic.reorder;
			res.dpb = pic.dpb;
		}
		unsigned depth;
		unsigned cap =
		    pic.reorder >= 0 ? (unsigned)pic.reorder : pic.dpb;
		unsigned n = h264_reorder_push(&r, &pic, cap, out, &depth);
		if (depth > res.max_depth)
			res.max_depth = depth;
		for (unsigned i = 0; i < n; i++)
			if (out[i].decode_index < (uint64_t)frames)
				got[out[i].decode_index] = out[i].display_index;
		res.aus++;
	}
	unsigned n = h264_reorder_flush(&r, out);
	for (unsigned i = 0; i < n; i++)
		if (out[i].decode_index < (uint64_t)frames)
			got[out[i].decode_index] = out[i].display_index;

	/* The first SPS, for its poc type. */
	size_t pos = 0;
	struct h264_nal nal;
	while (h264_next_nal(s, len, &pos, &nal, NULL))
		if (nal.type == H264_NAL_SPS) {
			struct h264_sps sps;
			if (h264_parse_sps(s + nal.offset, nal.size, &sps, NULL,
					   0) == 0)
				res.poc_type = (int)sps.pic_order_cnt_type;
			break;
		}

	CHECK_EQ_INT(res.aus, frames);
	CHECK_EQ_INT(res.invalid, 0);
	CHECK_EQ_INT(res.poc_type, want_poc_type);
	CHECK_EQ_INT(res.reorder, want_reorder);
	CHECK(res.max_depth <=
	      (unsigned)(want_reorder < 0 ? 16 : want_reorder));
	unsigned wrong = 0;
	for (int i = 0; i < frames; i++)
		if (got[i] != want[i]) {
			if (wrong++ < 5)
				fprintf(stderr,
					"%s: coded picture %d: display %llu, "
					"ffmpeg %llu\n",
					name, i, (unsigned long long)got[i],
					(unsigned long long)want[i]);
		}
	CHECK_EQ_INT(wrong, 0);
	printf("ok: %s: %u pictures in ffmpeg's display order (poc type %d, "
	       "reorder %d, depth seen %u, dpb %u)\n",
	       name, res.aus, res.poc_type, res.reorder, res.max_depth,
	       res.dpb);
	h264_order_free(o);
	h264_au_splitter_free(sp);
	free(want);
	free(got);
	free(s);
}

/* Slice header fields of every slice parse, and no mmco5 from x264. */
static void check_marking(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.h264", dir, name);
	size_t len = 0;
	uint8_t *s = read_file(path, &len);
	if (!s) {
		CHECK(0);
		return;
	}
	struct h264_sps sps;
	struct h264_pps pps;
	bool have_sps = false, have_pps = false;
	unsigned slices = 0, parsed = 0, mmco5 = 0;
	size_t pos = 0;
	struct h264_nal nal;
	while (h264_next_nal(s, len, &pos, &nal, NULL)) {
		const uint8_t *p = s + nal.offset;
		if (nal.type == H264_NAL_SPS)
			have_sps = !h264_parse_sps(p, nal.size, &sps, NULL, 0);
		else if (nal.type == H264_NAL_PPS)
			have_pps = !h264_parse_pps(p, nal.size, &pps, NULL, 0);
		else if (h264_nal_is_vcl(nal.type) && have_sps && have_pps) {
			struct h264_slice_header sh;
			slices++;
			if (h264_parse_slice_poc(p, nal.size, &sps, &pps, &sh,
						 NULL, 0) == 0 &&
			    sh.marking_parsed)
				parsed++;
			mmco5 += sh.mmco5;
		}
	}
	CHECK(slices > 0);
	CHECK_EQ_INT(parsed, slices);
	CHECK_EQ_INT(mmco5, 0);
	free(s);
}

/* 8.2.1.2 by hand: a cycle of two reference frames with offsets 4 and 2,
 * non-reference pictures 1 earlier, frame_num wrapping at 16. */
static void test_poc_type1(void)
{
	struct h264_sps sps = {.pic_order_cnt_type = 1,
			       .log2_max_frame_num = 4,
			       .frame_mbs_only = true,
			       .offset_for_non_ref_pic = -1,
			       .num_ref_frames_in_poc_cycle = 2,
			       .offset_for_ref_frame = {4, 2}};
	struct h264_poc_state st;
	h264_poc_reset(&st);
	struct h264_poc poc;
	struct h264_slice_header sh = {.idr = true, .nal_ref_idc = 3};
	h264_poc_compute(&st, &sps, &sh, &poc);
	CHECK_EQ_INT(poc.poc, 0);
	CHECK(poc.new_period);
	/* frame_num 1, reference: absFrameNum 1 -> cycle 0, offset[0] = 4 */
	sh = (struct h264_slice_header){.frame_num = 1, .nal_ref_idc = 1};
	h264_poc_compute(&st, &sps, &sh, &poc);
	CHECK_EQ_INT(poc.poc, 4);
	CHECK(!poc.new_period);
	/* frame_num 2, non-reference: abs 2 - 1 = 1 -> 4, then -1 */
	sh = (struct h264_slice_header){.frame_num = 2, .nal_ref_idc = 0};
	h264_poc_compute(&st, &sps, &sh, &poc);
	CHECK_EQ_INT(poc.poc, 3);
	/* frame_num 2, reference: abs 2 -> 4 + 2 = 6 */
	sh = (struct h264_slice_header){.frame_num = 2, .nal_ref_idc = 1};
	h264_poc_compute(&st, &sps, &sh, &poc);
	CHECK_EQ_INT(poc.poc, 6);
	/* frame_num wraps 15 -> 1: FrameNumOffset 16, abs 17:
	 * cycles (16 / 2) = 8 of 6, in-cycle 0: 48 + 4 = 52; delta 3 */
	sh = (struct h264_slice_header){.frame_num = 15, .nal_ref_idc = 1};
	h264_poc_compute(&st, &sps, &sh, &poc);
	sh = (struct h264_slice_header){
	    .frame_num = 1, .nal_ref_idc = 1, .delta_pic_order_cnt = {3, 0}};
	h264_poc_compute(&st, &sps, &sh, &poc);
	CHECK_EQ_INT(poc.poc, 55);
}

/* Type 0 wrap and an mmco5: MaxPicOrderCntLsb 16. */
static void test_poc_type0_wrap_mmco5(void)
{
	struct h264_sps sps = {.pic_order_cnt_type = 0,
			       .log2_max_frame_num = 4,
			       .log2_max_poc_lsb = 4,
			       .frame_mbs_only = true};
	struct h264_poc_state st;
	h264_poc_reset(&st);
	struct h264_poc poc;
	struct h264_slice_header sh = {.idr = true, .nal_ref_idc = 3};
	h264_poc_compute(&st, &sps, &sh, &poc);
	CHECK_EQ_INT(poc.poc, 0);
	static const uint32_t lsb[] = {6, 12, 2, 8, 14, 4};
	static const int64_t want[] = {6, 12, 18, 24, 30, 36};
	for (int i = 0; i < 6; i++) {
		sh = (struct h264_slice_header){.nal_ref_idc = 1,
						.pic_order_cnt_lsb = lsb[i]};
		h264_poc_compute(&st, &sps, &sh, &poc);
		CHECK_EQ_INT(poc.poc, want[i]);
	}
	/* A non-reference picture does not move prevPicOrderCnt. */
	sh = (struct h264_slice_header){.nal_ref_idc = 0,
					.pic_order_cnt_lsb = 2};
	h264_poc_compute(&st, &sps, &sh, &poc);
	CHECK_EQ_INT(poc.poc, 34);
	/* mmco5 at lsb 10 (poc 42): its own poc becomes 0, a new period,
	 * and the next picture counts from lsb 0. */
	sh = (struct h264_slice_header){
	    .nal_ref_idc = 1, .pic_order_cnt_lsb = 10, .mmco5 = true};
	h264_poc_compute(&st, &sps, &sh, &poc);
	CHECK_EQ_INT(poc.poc, 0);
	CHECK(poc.new_period);
	sh = (struct h264_slice_header){.nal_ref_idc = 1,
					.pic_order_cnt_lsb = 4};
	h264_poc_compute(&st, &sps, &sh, &poc);
	CHECK_EQ_INT(poc.poc, 4);
	CHECK(!poc.new_period);
}

/* Type 2: output order is decoding order, non-reference pictures odd. */
static void test_poc_type2(void)
{
	struct h264_sps sps = {.pic_order_cnt_type = 2,
			       .log2_max_frame_num = 4,
			       .frame_mbs_only = true};
	struct h264_poc_state st;
	h264_poc_reset(&st);
	struct h264_poc poc;
	struct h264_slice_header sh = {.idr = true, .nal_ref_idc = 3};
	h264_poc_compute(&st, &sps, &sh, &poc);
	CHECK_EQ_INT(poc.poc, 0);
	sh = (struct h264_slice_header){.frame_num = 1, .nal_ref_idc = 1};
	h264_poc_compute(&st, &sps, &sh, &poc);
	CHECK_EQ_INT(poc.poc, 2);
	sh = (struct h264_slice_header){.frame_num = 2, .nal_ref_idc = 0};
	h264_poc_compute(&st, &sps, &sh, &poc);
	CHECK_EQ_INT(poc.poc, 3);
	CHECK_EQ_INT(h264_sps_reorder_frames(&sps), 0);
}

/* dts from pts: I0 P3 B1 B2 P6 B4 B5 (depth 1) and the pyramid
 * I0 P4 B2 b1 b3 (depth 2), 10 ns frames. */
static void test_dts(void)
{
	struct h264_dts d;
	static const int64_t pts1[] = {0, 30, 10, 20, 60, 40, 50};
	static const int64_t dts1[] = {-10, 0, 10, 20, 30, 40, 50};
	h264_dts_init(&d, 1);
	for (int i = 0; i < 7; i++)
		CHECK_EQ_INT(h264_dts_next(&d, pts1[i], 10), dts1[i]);
	static const int64_t pts2[] = {0, 40, 20, 10, 30, 80, 60, 50, 70};
	static const int64_t dts2[] = {-20, -10, 0, 10, 20, 30, 40, 50, 60};
	h264_dts_init(&d, 2);
	for (int i = 0; i < 9; i++)
		CHECK_EQ_INT(h264_dts_next(&d, pts2[i], 10), dts2[i]);
	/* Deeper reordering than declared: dts above pts, never back. */
	h264_dts_init(&d, 0);
	CHECK_EQ_INT(h264_dts_next(&d, 0, 10), 0);
	CHECK_EQ_INT(h264_dts_next(&d, 30, 10), 30);
	CHECK_EQ_INT(h264_dts_next(&d, 10, 10), 30);
}

/* Broken input: no crash, order unknown. */
static void test_broken(void)
{
	struct h264_order *o = h264_order_new();
	struct h264_order_pic pic;
	char err[200];
	static const uint8_t no_pps[] = {0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00};
	CHECK(h264_order_picture(o, no_pps, sizeof(no_pps), &pic, err,
				 sizeof(err)) < 0);
	CHECK_STR_CONTAINS(err, "PPS 0");
	CHECK(!pic.valid && pic.new_period);
	static const uint8_t sei[] = {0, 0, 1, 0x06, 0x05, 0x01, 0x00, 0x80};
	CHECK(h264_order_picture(o, sei, sizeof(sei), &pic, err, sizeof(err)) <
	      0);
	CHECK_STR_CONTAINS(err, "no slice");
	h264_order_free(o);
}

int main(void)
{
	if (system("command -v ffmpeg >/dev/null && command -v ffprobe "
		   ">/dev/null") != 0) {
		printf("SKIP: needs ffmpeg with libx264 and ffprobe\n");
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	test_poc_type1();
	test_poc_type0_wrap_mmco5();
	test_poc_type2();
	test_dts();
	test_broken();
	/* x264 declares num_reorder_frames: 0 without B-frames (and poc
	 * type 2), 1 with B-frames, 2 with a b-pyramid. */
	check_order("p_only", "bframes=0", 40, 15, "ultrafast", 2, 0);
	check_order("b1", "bframes=1:b-adapt=0", 40, 20, "ultrafast", 0, 1);
	check_order("b2", "bframes=2:b-adapt=0:b-pyramid=none", 45, 15,
		    "ultrafast", 0, 1);
	check_order("b3_normal", "bframes=3:b-adapt=0:b-pyramid=normal", 50, 25,
		    "ultrafast", 0, 2);
	check_order("b3_strict", "bframes=3:b-adapt=0:b-pyramid=strict", 50, 25,
		    "ultrafast", 0, 2);
	check_order("b3_adaptive", "bframes=3:b-adapt=2:b-pyramid=normal", 60,
		    30, "veryfast", 0, 2);
	check_order("open_gop", "bframes=3:open-gop=1:b-pyramid=normal", 60, 20,
		    "veryfast", 0, 2);
	check_order("refs_weightp",
		    "bframes=2:ref=4:weightp=2:weightb=1:b-pyramid=normal", 50,
		    25, "medium", 0, 2);
	check_order("lsb_wrap", "bframes=2:keyint=600", 300, 300, "ultrafast",
		    0, 2);
	/* MBAFF: frame_mbs_only_flag 0, field_pic_flag read (0). */
	check_order("mbaff", "bframes=2:interlaced=1:b-pyramid=none", 30, 15,
		    "ultrafast", 0, 1);
	check_marking("refs_weightp");
	check_marking("open_gop");
	check_marking("b3_strict");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
