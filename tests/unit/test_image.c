/* The image module's picture code: output sizes, colour conversion from
 * each raw layout, JPEG and PNG that decode back to the picture, quality,
 * the H.264 key-frame decoder's refusals, and directory retention. */
#include "tests/unit/check.h"

#include <dirent.h>
#include <png.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "modules/image/decode.h"
#include "modules/image/outdir.h"
#include "modules/image/picture.h"

static void test_sizes(void)
{
	int w, h;
	pic_target_size(1920, 1080, 0, 0, &w, &h);
	CHECK(w == 1920 && h == 1080);
	pic_target_size(1920, 1080, 320, 0, &w, &h);
	CHECK(w == 320 && h == 180);
	pic_target_size(1920, 1080, 0, 240, &w, &h);
	CHECK(w == 427 && h == 240);
	/* Both: the largest size inside the box with the source's shape. */
	pic_target_size(1920, 1080, 320, 320, &w, &h);
	CHECK(w == 320 && h == 180);
	pic_target_size(640, 480, 640, 240, &w, &h);
	CHECK(w == 320 && h == 240);
	pic_target_size(640, 480, 3840, 2160, &w, &h);
	CHECK(w == 2880 && h == 2160);
	pic_target_size(4000, 2, 10, 0, &w, &h);
	CHECK(w == 10 && h == 1); /* never 0 */
}

/* A W x H picture, left half red, right half blue (BT.601 limited). */
enum { W = 64, H = 48 };
static const uint8_t RED[3] = {81, 90, 240}, BLUE[3] = {41, 240, 110};

static const uint8_t *color_at(int x)
{
	return x < W / 2 ? RED : BLUE;
}

static size_t make_raw(uint32_t fourcc, uint8_t *buf, struct vpipe_format *f)
{
	size_t size = vpipe_format_raw_init(f, fourcc, W, H);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			const uint8_t *c = color_at(x);
			if (fourcc == VPIPE_FOURCC_YUYV) {
				uint8_t *p = buf + f->offset[0] +
					     (size_t)y * f->stride[0] + x * 2;
				p[0] = c[0];
				p[1] = x % 2 ? c[2] : c[1];
				continue;
			}
			buf[f->offset[0] + (size_t)y * f->stride[0] + x] = c[0];
			if (y % 2 || x % 2)
				continue;
			if (fourcc == VPIPE_FOURCC_I420) {
				buf[f->offset[1] + (y / 2) * f->stride[1] +
				    x / 2] = c[1];
				buf[f->offset[2] + (y / 2) * f->stride[2] +
				    x / 2] = c[2];
			} else {
				uint8_t *uv = buf + f->offset[1] +
					      (y / 2) * f->stride[1] + x;
				uv[0] = c[1];
				uv[1] = c[2];
			}
		}
	return size;
}

static bool is_red(const uint8_t *p)
{
	return p[0] > 220 && p[1] < 40 && p[2] < 40;
}

static bool is_blue(const uint8_t *p)
{
	return p[0] < 40 && p[1] < 40 && p[2] > 220;
}

static void check_rgb(const uint8_t *rgb, int w, int h)
{
	/* Away from the edge between the halves. */
	CHECK(is_red(rgb + ((size_t)(h / 2) * w + w / 8) * 3));
	CHECK(is_blue(rgb + ((size_t)(h / 2) * w + w * 7 / 8) * 3));
}

static void test_jpeg(uint32_t fourcc)
{
	static uint8_t buf[W * H * 2];
	struct vpipe_format f;
	size_t size = make_raw(fourcc, buf, &f);
	struct pic_src src;
	char err[300];
	CHECK_EQ_INT(pic_src_from_raw(&f, buf, size, &src, err, sizeof(err)),
		     0);
	struct pic_encoder *e = pic_encoder_new(PIC_JPEG, 90);
	const uint8_t *out;
	size_t len;
	CHECK_EQ_INT(pic_encode(e, &src, 32, 24, &out, &len, err, sizeof(err)),
		     0);
	CHECK(len > 100 && out[0] == 0xff && out[1] == 0xd8);
	tjhandle tj = tjInitDecompress();
	int w = 0, h = 0, sub, cs;
	CHECK_EQ_INT(tjDecompressHeader3(tj, out, len, &w, &h, &sub, &cs), 0);
	CHECK(w == 32 && h == 24);
	uint8_t rgb[32 * 24 * 3];
	CHECK_EQ_INT(tjDecompress2(tj, out, len, rgb, 32, 0, 24, TJPF_RGB, 0),
		     0);
	check_rgb(rgb, 32, 24);
	tjDestroy(tj);
	pic_encoder_free(e);
}

/* Limited-range black and white (Y 16 and 235) must come out as RGB 0 and
 * 255 from JPEG: JFIF is full range (a copy of the Y plane is not). */
static void test_jpeg_range(void)
{
	static uint8_t buf[W * H * 3 / 2];
	struct vpipe_format f;
	size_t size = vpipe_format_raw_init(&f, VPIPE_FOURCC_I420, W, H);
	memset(buf, 128, size);
	for (int y = 0; y < H; y++) {
		memset(buf + (size_t)y * f.stride[0], 16, W / 2);
		memset(buf + (size_t)y * f.stride[0] + W / 2, 235, W / 2);
	}
	struct pic_src src;
	char err[300];
	CHECK_EQ_INT(pic_src_from_raw(&f, buf, size, &src, err, sizeof(err)),
		     0);
	struct pic_encoder *e = pic_encoder_new(PIC_JPEG, 95);
	const uint8_t *out;
	size_t len;
	CHECK_EQ_INT(pic_encode(e, &src, W, H, &out, &len, err, sizeof(err)),
		     0);
	tjhandle tj = tjInitDecompress();
	static uint8_t rgb[W * H * 3];
	CHECK_EQ_INT(tjDecompress2(tj, out, len, rgb, W, 0, H, TJPF_RGB, 0), 0);
	const uint8_t *black = rgb + ((size_t)(H / 2) * W + W / 8) * 3;
	const uint8_t *white = rgb + ((size_t)(H / 2) * W + W * 7 / 8) * 3;
	CHECK(black[0] <= 4 && black[1] <= 4 && black[2] <= 4);
	CHECK(white[0] >= 251 && white[1] >= 251 && white[2] >= 251);
	tjDestroy(tj);
	pic_encoder_free(e);
}

static void test_png(void)
{
	static uint8_t buf[W * H * 2];
	struct vpipe_format f;
	size_t size = make_raw(VPIPE_FOURCC_NV12, buf, &f);
	struct pic_src src;
	char err[300];
	CHECK_EQ_INT(pic_src_from_raw(&f, buf, size, &src, err, sizeof(err)),
		     0);
	struct pic_encoder *e = pic_encoder_new(PIC_PNG, 80);
	const uint8_t *out;
	size_t len;
	CHECK_EQ_INT(pic_encode(e, &src, W, H, &out, &len, err, sizeof(err)),
		     0);
	CHECK(len > 8 && !memcmp(out, "\x89PNG\r\n\x1a\n", 8));
	png_image img;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	CHECK(png_image_begin_read_from_memory(&img, out, len));
	CHECK(img.width == W && img.height == H);
	img.format = PNG_FORMAT_RGB;
	static uint8_t rgb[W * H * 3];
	CHECK(png_image_finish_read(&img, NULL, rgb, W * 3, NULL));
	check_rgb(rgb, W, H);
	pic_encoder_free(e);
}

static void test_quality(void)
{
	static uint8_t buf[W * H * 2];
	struct vpipe_format f;
	size_t size = vpipe_format_raw_init(&f, VPIPE_FOURCC_I420, W, H);
	unsigned x = 12345;
	for (size_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u; /* noise compresses badly */
		buf[i] = (uint8_t)(x >> 16);
	}
	struct pic_src src;
	char err[300];
	CHECK_EQ_INT(pic_src_from_raw(&f, buf, size, &src, err, sizeof(err)),
		     0);
	size_t lens[2];
	int q[2] = {10, 95};
	for (int i = 0; i < 2; i++) {
		struct pic_encoder *e = pic_encoder_new(PIC_JPEG, q[i]);
		const uint8_t *out;
		CHECK_EQ_INT(
		    pic_encode(e, &src, W, H, &out, &lens[i], err, sizeof(err)),
		    0);
		pic_encoder_free(e);
	}
	CHECK(lens[0] * 2 < lens[1]);
}

static void test_bad_raw(void)
{
	uint8_t buf[100];
	struct vpipe_format f;
	vpipe_format_raw_init(&f, VPIPE_FOURCC_I420, W, H);
	struct pic_src src;
	char err[300];
	CHECK_EQ_INT(
	    pic_src_from_raw(&f, buf, sizeof(buf), &src, err, sizeof(err)), -1);
	CHECK(err[0] != 0);
	f.fourcc = VPIPE_FOURCC_MJPG;
	CHECK_EQ_INT(
	    pic_src_from_raw(&f, buf, sizeof(buf), &src, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "not i420, nv12 or yuyv");
}

static void test_decoder_refusals(void)
{
	char err[300];
	struct key_decoder *d = key_decoder_new(false, err, sizeof(err));
	CHECK(d != NULL);
	if (!d)
		return;
	/* An IDR slice with no SPS/PPS anywhere. */
	static const uint8_t idr[] = {0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x33};
	CHECK(key_decoder_inspect(d, idr, sizeof(idr)));
	struct pic_src src;
	CHECK_EQ_INT(
	    key_decoder_decode(d, idr, sizeof(idr), &src, err, sizeof(err)),
	    -1);
	CHECK_STR_CONTAINS(err, "without SPS/PPS");
	/* A non-IDR slice is not a key frame. */
	static const uint8_t p[] = {0, 0, 0, 1, 0x41, 0x9a, 0x00};
	CHECK(!key_decoder_inspect(d, p, sizeof(p)));
	/* Garbage after parameter sets that do not parse: an error, no
	 * crash. */
	static const uint8_t junk[] = {0, 0, 0,	   1,	 0x67, 0xff, 0xff, 0xff,
				       0, 0, 0,	   1,	 0x68, 0xff, 0,	   0,
				       0, 1, 0x65, 0xff, 0xff, 0xff};
	CHECK(key_decoder_inspect(d, junk, sizeof(junk)));
	CHECK_EQ_INT(
	    key_decoder_decode(d, junk, sizeof(junk), &src, err, sizeof(err)),
	    -1);
	key_decoder_free(d);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void test_outdir(void)
{
	char dir[] = "/tmp/test_image.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	struct outdir o = {
	    .dir = dir, .prefix = "cam-", .ext = "jpg", .max_files = 3};
	char err[300];
	const int64_t t0 = 1690707290324LL * 1000000LL;
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(outdir_write(&o, t0 + i * 60000000000LL,
					  (const uint8_t *)"jpg", 3, err,
					  sizeof(err)),
			     0);
	char name[256], path[512];
	CHECK_EQ_INT(outdir_name(&o, t0, name, sizeof(name)), 0);
	CHECK(!strcmp(name, "cam-20230730T085450.324Z.jpg"));
	CHECK(outdir_is_ours(&o, name));
	CHECK(!outdir_is_ours(&o, "cam-20230730T085450.324Z.png"));
	CHECK(!outdir_is_ours(&o, "notes.txt"));
	/* Somebody else's file is never touched. */
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	FILE *f = fopen(path, "w");
	if (f)
		fclose(f);
	CHECK_EQ_INT(outdir_retain(&o, t0), 2);
	CHECK_EQ_INT(count_files(dir), 4);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(access(path, F_OK) != 0); /* the oldest went first */
	/* Age: of +2, +3, +4 min, at +5 min only +2 is over 2.5 min old. */
	o.max_files = 0;
	o.max_age = 150 * 1000000000LL;
	CHECK_EQ_INT(outdir_retain(&o, t0 + 5 * 60000000000LL), 1);
	CHECK_EQ_INT(count_files(dir), 3);
	/* A directory that is gone: an error naming the path. */
	o.dir = "/nonexistent/dir";
	CHECK(outdir_write(&o, t0, (const uint8_t *)"x", 1, err, sizeof(err)) <
	      0);
	CHECK_STR_CONTAINS(err, "/nonexistent/dir");
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
	test_sizes();
	test_jpeg(VPIPE_FOURCC_I420);
	test_jpeg(VPIPE_FOURCC_NV12);
	test_jpeg(VPIPE_FOURCC_YUYV);
	test_jpeg_range();
	test_png();
	test_quality();
	test_bad_raw();
	test_decoder_refusals();
	test_outdir();
	return check_done();
}
