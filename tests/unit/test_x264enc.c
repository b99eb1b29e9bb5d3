/* The x264 module's encode core and the raw-picture conversions it uses,
 * driven without the kernel: keyint syntax, YUYV/NV12 to I420, key frames
 * where asked (interval and forced), SPS/PPS on every key frame, timestamps
 * and per-picture data carried through, B-frame drain, CBR bitrate. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/unit/check.h"

#include "modules/x264/x264enc.h"
#include "yuv.h"

static void test_keyint_parse(void)
{
	struct keyint k;
	char err[200];

	CHECK_EQ_INT(keyint_parse("60", &k, err, sizeof(err)), 0);
	CHECK_EQ_INT(k.frames, 60);
	CHECK_EQ_INT(k.duration_ns, 0);
	CHECK_EQ_INT(keyint_parse("2s", &k, err, sizeof(err)), 0);
	CHECK_EQ_INT(k.duration_ns, 2000000000);
	CHECK_EQ_INT(keyint_frames(&k, 30, 1), 60);
	CHECK_EQ_INT(keyint_frames(&k, 30000, 1001), 60);
	CHECK_EQ_INT(keyint_frames(&k, 0, 0), 60); /* unknown: 30 */
	CHECK_EQ_INT(keyint_parse("500ms", &k, err, sizeof(err)), 0);
	CHECK_EQ_INT(keyint_frames(&k, 20, 1), 10);
	CHECK_EQ_INT(keyint_parse("1.5s", &k, err, sizeof(err)), 0);
	CHECK_EQ_INT(keyint_frames(&k, 10, 1), 15);
	CHECK_EQ_INT(keyint_parse("1ms", &k, err, sizeof(err)), 0);
	CHECK_EQ_INT(keyint_frames(&k, 10, 1), 1); /* at least 1 */

	CHECK_EQ_INT(keyint_parse("0", &k, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "keyint '0'");
	CHECK_EQ_INT(keyint_parse("1.5", &k, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "whole number");
	CHECK_EQ_INT(keyint_parse("2min", &k, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "unknown unit 'min'");
	CHECK_EQ_INT(keyint_parse("abc", &k, err, sizeof(err)), -1);
	CHECK_EQ_INT(keyint_parse("", &k, err, sizeof(err)), -1);
	CHECK_EQ_INT(keyint_parse("-2s", &k, err, sizeof(err)), -1);
	CHECK_EQ_INT(keyint_parse("3600s", &k, err, sizeof(err)), -1);
}

static void test_yuyv_to_i420(void)
{
	/* 4x3: odd height pairs its last row with itself. */
	const uint8_t yuyv[3][8] = {
	    {10, 100, 11, 200, 12, 50, 13, 60},
	    {20, 102, 21, 202, 22, 51, 23, 63},
	    {30, 7, 31, 9, 32, 1, 33, 2},
	};
	uint8_t y[12], u[4], v[4];
	struct yuv_i420 dst = {{y, u, v}, {4, 2, 2}};

	yuv_yuyv_to_i420(&yuyv[0][0], 8, 4, 3, &dst);
	CHECK_EQ_INT(y[0], 10);
	CHECK_EQ_INT(y[3], 13);
	CHECK_EQ_INT(y[4], 20);
	CHECK_EQ_INT(y[11], 33);
	CHECK_EQ_INT(u[0], 101); /* (100 + 102 + 1) / 2 */
	CHECK_EQ_INT(v[0], 201);
	CHECK_EQ_INT(u[1], 51); /* (50 + 51 + 1) / 2 */
	CHECK_EQ_INT(v[1], 62); /* (60 + 63 + 1) / 2 */
	CHECK_EQ_INT(u[2], 7);
	CHECK_EQ_INT(v[2], 9);
	CHECK_EQ_INT(u[3], 1);
	CHECK_EQ_INT(v[3], 2);
}

static void test_nv12_and_layout(void)
{
	/* 4x2 NV12 with padded strides. */
	uint8_t buf[8 * 2 + 6] = {1, 2, 3, 4, 0, 0,  0,	 0,  5,	 6, 7,
				  8, 0, 0, 0, 0, 40, 50, 41, 51, 0, 0};
	struct vpipe_format fmt = {.fourcc = VPIPE_FOURCC_NV12,
				   .width = 4,
				   .height = 2,
				   .num_planes = 2,
				   .stride = {8, 6},
				   .offset = {0, 16}};
	uint8_t y[8], u[2], v[2];
	struct yuv_i420 dst = {{y, u, v}, {4, 2, 2}};
	char err[200];

	CHECK_EQ_INT(yuv_check_layout(&fmt, sizeof(buf), err, sizeof(err)), 0);
	CHECK_EQ_INT(yuv_to_i420(&fmt, buf, &dst), 0);
	CHECK_EQ_INT(y[4], 5);
	CHECK_EQ_INT(u[1], 41);
	CHECK_EQ_INT(v[0], 50);

	CHECK_EQ_INT(yuv_check_layout(&fmt, sizeof(buf) - 3, err, sizeof(err)),
		     -1);
	CHECK_STR_CONTAINS(err, "plane 1 ends at byte 20, frame holds 19");
	fmt.stride[0] = 3;
	CHECK_EQ_INT(yuv_check_layout(&fmt, sizeof(buf), err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "plane 0 stride 3");
	fmt.fourcc = VPIPE_FOURCC_MJPG;
	CHECK_EQ_INT(yuv_check_layout(&fmt, sizeof(buf), err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "not i420, nv12 or yuyv");

	struct vpipe_format blank = {
	    .fourcc = VPIPE_FOURCC_I420, .width = 5, .height = 3};
	CHECK_EQ_INT(yuv_complete_layout(&blank), 0);
	CHECK_EQ_INT(blank.num_planes, 3);
	CHECK_EQ_INT(blank.stride[1], 3);
	CHECK_EQ_INT(blank.offset[2], 15 + 6);
	CHECK_EQ_INT(yuv_check_layout(&blank, 15 + 12, err, sizeof(err)), 0);
	blank.width = 0;
	CHECK_EQ_INT(yuv_check_layout(&blank, 100, err, sizeof(err)), -1);
}

/* A moving picture: diagonal bands that shift every frame. */
struct picture {
	struct vpipe_format fmt;
	uint8_t *data;
	size_t size;
};

static void picture_init(struct picture *p, uint32_t fourcc, uint32_t w,
			 uint32_t h)
{
	memset(p, 0, sizeof(*p));
	p->fmt.fourcc = fourcc;
	p->fmt.width = w;
	p->fmt.height = h;
	p->fmt.fps_num = 30;
	p->fmt.fps_den = 1;
	yuv_complete_layout(&p->fmt);
	p->size = fourcc == VPIPE_FOURCC_YUYV ? (size_t)w * h * 2
					      : (size_t)w * h * 3 / 2;
	p->data = calloc(1, p->size);
}

static void picture_draw(struct picture *p, int n)
{
	uint32_t w = p->fmt.width, h = p->fmt.height;

	for (uint32_t r = 0; r < h; r++)
		for (uint32_t c = 0; c < w; c++) {
			uint8_t luma =
			    (uint8_t)(((r + c + (uint32_t)n * 3) / 8 % 2) ? 200
									  : 40);
			if (p->fmt.fourcc == VPIPE_FOURCC_YUYV) {
				uint8_t *px =
				    p->data + r * p->fmt.stride[0] + c * 2;
				px[0] = luma;
				px[1] = (uint8_t)(c % 4 < 2 ? 90 : 160);
			} else {
				p->data[r * p->fmt.stride[0] + c] = luma;
			}
		}
	if (p->fmt.fourcc != VPIPE_FOURCC_YUYV)
		memset(p->data + p->fmt.offset[1], (uint8_t)(100 + n % 50),
		       p->size - p->fmt.offset[1]);
}

/* NAL unit types of an Annex-B access unit, as a bit mask. */
static unsigned nal_types(const uint8_t *d, size_t n)
{
	unsigned mask = 0;

	for (size_t i = 0; i + 3 < n; i++)
		if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) {
			mask |= 1u << (d[i + 3] & 0x1f);
			i += 3;
		}
	return mask;
}

static struct x264enc_settings settings(const char *keyint)
{
	struct x264enc_settings s = {
	    .rc = X264ENC_RC_VBR,
	    .bitrate_kbps = 500,
	    .crf = 23,
	    .preset = "ultrafast",
	    .tune = "zerolatency",
	    .profile = "main",
	    .threads = 1,
	};
	char err[100];

	keyint_parse(keyint, &s.keyint, err, sizeof(err));
	return s;
}

static void test_key_frames(uint32_t fourcc)
{
	struct x264enc_settings s = settings("10");
	struct picture p;
	struct x264enc_au au;
	char err[256];
	int tags[30];

	picture_init(&p, fourcc, 96, 64);
	struct x264enc *e = x264enc_open(&s, &p.fmt, err, sizeof(err));
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK(x264enc_same_input(e, &p.fmt));
	for (int n = 0; n < 30; n++) {
		int64_t pts = 1000000000LL + n * 33333333LL;
		bool force =
		    n == 14; /* a key-frame request before picture 14 */

		tags[n] = n;
		picture_draw(&p, n);
		int r = x264enc_encode(e, &p.fmt, p.data, pts, force, &tags[n],
				       &au);
		CHECK_EQ_INT(r, 1); /* zerolatency: no delay */
		if (r != 1)
			continue;
		/* A forced key frame restarts the interval: 0, 10, 14, 24. */
		bool want_key = n == 0 || n == 10 || n == 14 || n == 24;
		unsigned types = nal_types(au.data, au.size);
		CHECK_EQ_INT(au.key, want_key);
		CHECK_EQ_INT(au.has_sps, want_key);
		CHECK_EQ_INT(!!(types & (1u << 5)), want_key); /* IDR slice */
		CHECK_EQ_INT(!!(types & (1u << 7)), want_key); /* SPS */
		CHECK_EQ_INT(!!(types & (1u << 8)), want_key); /* PPS */
		CHECK_EQ_INT(au.pts, pts);
		CHECK_EQ_INT(au.dts, pts);
		CHECK(au.opaque == &tags[n]);
		CHECK(au.data[0] == 0 && au.data[1] == 0);
	}
	CHECK_EQ_INT(x264enc_drain(e, &au), 0);
	x264enc_close(e);
	free(p.data);
}

static void test_bframes_drain(void)
{
	struct x264enc_settings s = settings("12");
	struct picture p;
	struct x264enc_au au;
	char err[256];
	int seen[24] = {0}, out = 0, idx[24];
	int64_t last_dts = INT64_MIN;

	s.tune = NULL;
	s.bframes = 2;
	picture_init(&p, VPIPE_FOURCC_I420, 64, 48);
	struct x264enc *e = x264enc_open(&s, &p.fmt, err, sizeof(err));
	CHECK(e != NULL);
	if (!e)
		return;
	for (int n = 0; n < 24; n++) {
		idx[n] = n;
		picture_draw(&p, n);
		int r = x264enc_encode(e, &p.fmt, p.data, n * 40000000LL, false,
				       &idx[n], &au);
		CHECK(r >= 0);
		while (r == 1) {
			int i = *(int *)au.opaque;
			seen[i]++;
			out++;
			CHECK_EQ_INT(au.pts, i * 40000000LL);
			CHECK(au.dts > last_dts);
			CHECK(au.dts <= au.pts);
			last_dts = au.dts;
			r = 0;
		}
	}
	CHECK(x264enc_delayed(e) > 0);
	while (x264enc_drain(e, &au) == 1) {
		int i = *(int *)au.opaque;
		seen[i]++;
		out++;
		CHECK(au.dts > last_dts);
		last_dts = au.dts;
	}
	CHECK_EQ_INT(out, 24);
	for (int n = 0; n < 24; n++)
		CHECK_EQ_INT(seen[n], 1);
	x264enc_close(e);
	free(p.data);
}

/* CBR: 30 s at 30 fps, 320x240, 300 kbit/s: within 15 % (filler makes it
 * much closer). */
static void test_cbr_bitrate(void)
{
	struct x264enc_settings s = settings("2s");
	struct picture p;
	struct x264enc_au au;
	char err[256];
	size_t bytes = 0;

	s.rc = X264ENC_RC_CBR;
	s.bitrate_kbps = 300;
	picture_init(&p, VPIPE_FOURCC_I420, 320, 240);
	struct x264enc *e = x264enc_open(&s, &p.fmt, err, sizeof(err));
	CHECK(e != NULL);
	if (!e)
		return;
	for (int n = 0; n < 900; n++) {
		picture_draw(&p, n / 4); /* mostly still: filler must pad */
		if (x264enc_encode(e, &p.fmt, p.data, n * 33333333LL, false,
				   NULL, &au) == 1)
			bytes += au.size;
	}
	while (x264enc_drain(e, &au) == 1)
		bytes += au.size;
	double kbps = bytes * 8.0 / 30.0 / 1000.0;
	printf("cbr 300 kbit/s over 30 s: %.1f kbit/s (%+.1f %%)\n", kbps,
	       (kbps / 300 - 1) * 100);
	CHECK(fabs(kbps / 300 - 1) <= 0.15);
	x264enc_close(e);
	free(p.data);
}

static void test_refusals(void)
{
	struct x264enc_settings s = settings("2s");
	struct picture p;
	char err[256];

	picture_init(&p, VPIPE_FOURCC_I420, 64, 48);
	s.preset = "warpspeed";
	CHECK(x264enc_open(&s, &p.fmt, err, sizeof(err)) == NULL);
	CHECK_STR_CONTAINS(err, "preset 'warpspeed'");
	s = settings("2s");
	s.profile = "extended";
	CHECK(x264enc_open(&s, &p.fmt, err, sizeof(err)) == NULL);
	CHECK_STR_CONTAINS(err, "profile 'extended'");
	free(p.data);
}

int main(void)
{
	test_keyint_parse();
	test_yuyv_to_i420();
	test_nv12_and_layout();
	test_key_frames(VPIPE_FOURCC_I420);
	test_key_frames(VPIPE_FOURCC_NV12);
	test_key_frames(VPIPE_FOURCC_YUYV);
	test_bframes_drain();
	test_cbr_bitrate();
	test_refusals();
	return check_done();
}
