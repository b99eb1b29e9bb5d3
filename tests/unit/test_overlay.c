/* The overlay module's parts without a pipeline: the text pattern (syntax
 * errors with byte offsets, expansion), layout with the real DejaVu font
 * through FreeType, clipping at the frame edges, odd sizes, and I420
 * against NV12 chroma. */
#include "tests/unit/check.h"

#ifdef HAVE_FREETYPE
#include <stdint.h>
#include <unistd.h>

#include "modules/overlay/ov_draw.h"
#include "modules/overlay/ov_font.h"
#include "modules/overlay/ov_text.h"

#define FONT "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"

static void check_pattern_errors(void)
{
	char err[256];
	CHECK_EQ_INT(ov_pattern_check("%Y-%m-%d %H:%M:%S %{node} "
				      "%{label} %{tag:camera} 100%% %Ey %Od",
				      err, sizeof(err)),
		     0);
	CHECK_EQ_INT(ov_pattern_check("", err, sizeof(err)), 0);
	CHECK_EQ_INT(ov_pattern_check("ab %Q", err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "byte 3: '%Q' is not a strftime conversion");
	CHECK_EQ_INT(ov_pattern_check("50%", err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "byte 2: the text ends with a lone '%'");
	CHECK_EQ_INT(ov_pattern_check("x %{stream}", err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "byte 2: unknown substitution %{stream}");
	CHECK_EQ_INT(ov_pattern_check("%{node", err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "byte 0: '%{' without a closing '}'");
	CHECK_EQ_INT(ov_pattern_check("%{tag:}", err, sizeof(err)), -1);
	CHECK_EQ_INT(ov_pattern_check("%E!", err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "byte 0: '%E' must be followed by");
	CHECK_EQ_INT(ov_pattern_uses_time("%{node} 100%%"), 0);
	CHECK_EQ_INT(ov_pattern_uses_time("%{node} %S"), 1);
}

static const char *tags(void *ctx, const char *name)
{
	(void)ctx;
	return !strcmp(name, "site") ? "Lab 2" : NULL;
}

static void check_expansion(void)
{
	struct tm tm = {.tm_year = 126,
			.tm_mon = 11,
			.tm_mday = 7,
			.tm_hour = 20,
			.tm_min = 5,
			.tm_sec = 9};
	struct ov_vars v = {.node = "cam", .label = "Front door", .tag = tags};
	char out[OV_TEXT_MAX];
	ov_pattern_expand("%Y-%m-%d %H:%M:%S %{node}/%{label} %{tag:site}"
			  "%{tag:none} 100%%",
			  &v, &tm, out, sizeof(out));
	CHECK(!strcmp(out, "2026-12-07 20:05:09 cam/Front door Lab 2 100%"));
	/* Too long: cut at OV_TEXT_MAX - 1 bytes, never inside a UTF-8
	 * character (é is two bytes). */
	char label[600];
	memset(label, 'a', 1);
	for (int i = 0; i < 299; i++)
		memcpy(label + 1 + 2 * i, "\xc3\xa9", 2);
	label[599] = '\0';
	v.label = label;
	size_t n = ov_pattern_expand("%{label}", &v, &tm, out, sizeof(out));
	CHECK(n <= OV_TEXT_MAX - 1);
	CHECK_EQ_INT(n % 2, 1); /* 'a' plus whole characters */
	CHECK_EQ_INT(strlen(out), n);
}

static void check_layout(struct ov_font *f)
{
	int w1, h1, w2, h2, w3, h3;
	ov_measure(f, "0", &w1, &h1);
	ov_measure(f, "00:00", &w2, &h2);
	ov_measure(f, "12:34\nab", &w3, &h3);
	CHECK(w1 > 0);
	CHECK_EQ_INT(w2, 5 * w1); /* monospaced: a clock never jitters */
	CHECK_EQ_INT(h1, ov_font_line_height(f));
	CHECK_EQ_INT(h3, 2 * ov_font_line_height(f));
	CHECK_EQ_INT(w3, w2);
	/* Each glyph is rasterised once: drawing again adds nothing. */
	size_t atlas = ov_font_atlas_bytes(f);
	ov_measure(f, "00:00", &w2, &h2);
	CHECK_EQ_INT(ov_font_atlas_bytes(f), atlas);
	/* A character outside Latin-1 is drawn as '?'. */
	int wq, hq, wc, hc;
	ov_measure(f, "?", &wq, &hq);
	ov_measure(f, "\xe2\x82\xac", &wc, &hc); /* U+20AC */
	CHECK_EQ_INT(wc, wq);

	struct ov_style st = {.color = {235, 128, 128},
			      .padding = 4,
			      .outline = 2,
			      .anchor = OV_BOTTOM_RIGHT,
			      .margin = 10,
			      .x = -1,
			      .y = -1};
	struct ov_image img = {0};
	CHECK_EQ_INT(ov_compose(&img, f, "12:00", &st, 640, 360), 0);
	CHECK_EQ_INT(img.box.x + img.box.w, 630);
	CHECK_EQ_INT(img.box.y + img.box.h, 350);
	CHECK_EQ_INT(img.box.w, w2 + 2 * (4 + 2));
	st.anchor = OV_CENTER;
	ov_compose(&img, f, "12:00", &st, 640, 360);
	CHECK_EQ_INT(img.box.x, (640 - img.box.w) / 2);
	CHECK_EQ_INT(img.box.y, (360 - img.box.h) / 2);
	st.x = 7;
	st.y = 3;
	ov_compose(&img, f, "12:00", &st, 640, 360);
	CHECK_EQ_INT(img.box.x, 7);
	CHECK_EQ_INT(img.box.y, 3);
	/* Entirely outside: nothing to draw. */
	st.x = 700;
	ov_compose(&img, f, "12:00", &st, 640, 360);
	CHECK_EQ_INT(img.x1 - img.x0, 0);
	ov_image_free(&img);
}

/* An I420 or NV12 picture with guard bytes right of each row (stride
 * wider than the picture) and after the buffer. */
struct pic {
	int w, h, nv12;
	uint32_t stride[3];
	uint8_t *planes[3];
	uint8_t *buf;
	size_t size;
};

#define GUARD 0xa5

static void pic_init(struct pic *p, int w, int h, int nv12)
{
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	p->w = w;
	p->h = h;
	p->nv12 = nv12;
	p->stride[0] = (uint32_t)w + 5;
	p->stride[1] = (uint32_t)(nv12 ? 2 * cw : cw) + 3;
	p->stride[2] = nv12 ? 0 : (uint32_t)cw + 3;
	size_t s0 = p->stride[0] * (size_t)h, s1 = p->stride[1] * (size_t)ch,
	       s2 = p->stride[2] * (size_t)ch;
	p->size = s0 + s1 + s2 + 64;
	p->buf = malloc(p->size);
	memset(p->buf, GUARD, p->size);
	p->planes[0] = p->buf;
	p->planes[1] = p->buf + s0;
	p->planes[2] = nv12 ? NULL : p->buf + s0 + s1;
	for (int y = 0; y < h; y++)
		memset(p->planes[0] + y * p->stride[0], 100, (size_t)w);
	for (int y = 0; y < ch; y++) {
		memset(p->planes[1] + y * p->stride[1], 128,
		       (size_t)(nv12 ? 2 * cw : cw));
		if (!nv12)
			memset(p->planes[2] + y * p->stride[2], 128,
			       (size_t)cw);
	}
}

/* Every byte outside the picture rows still holds the guard. */
static int guards_intact(const struct pic *p)
{
	int cw = (p->w + 1) / 2, ch = (p->h + 1) / 2;
	for (size_t i = 0; i < p->size; i++) {
		const uint8_t *b = p->buf + i;
		int inside = 0;
		for (int k = 0; k < (p->nv12 ? 2 : 3); k++) {
			int rows = k ? ch : p->h;
			int bytes = k == 0 ? p->w : p->nv12 ? 2 * cw : cw;
			if (b < p->planes[k])
				continue;
			size_t o = (size_t)(b - p->planes[k]);
			size_t r = o / p->stride[k], c = o % p->stride[k];
			if (r < (size_t)rows && c < (size_t)bytes)
				inside = 1;
		}
		if (!inside && *b != GUARD)
			return 0;
	}
	return 1;
}

static int luma_changed(const struct pic *p, int x, int y)
{
	return p->planes[0][y * p->stride[0] + x] != 100;
}

static void check_clipping(struct ov_font *f)
{
	static const int sizes[][2] = {{33, 17}, {64, 48}, {31, 31}};
	for (int k = 0; k < 3; k++)
		for (int nv12 = 0; nv12 < 2; nv12++) {
			int w = sizes[k][0], h = sizes[k][1];
			/* Boxes hanging over every edge, odd positions. */
			static const int pos[][2] = {
			    {-1, -1}, {25, 3}, {3, 11}, {0, 0}};
			for (int i = 0; i < 4; i++) {
				struct pic p;
				pic_init(&p, w, h, nv12);
				struct ov_style st = {.color = {81, 90, 240},
						      .box_opacity = 255,
						      .padding = 1,
						      .x = pos[i][0],
						      .y = pos[i][1],
						      .anchor = OV_BOTTOM_RIGHT,
						      .margin = 0};
				struct ov_image img = {0};
				CHECK_EQ_INT(
				    ov_compose(&img, f, "88:88", &st, w, h), 0);
				ov_blend(&img, p.planes, p.stride, nv12);
				CHECK(guards_intact(&p));
				/* The opaque box covers its visible corner. */
				CHECK(luma_changed(&p, img.x0, img.y0));
				CHECK(luma_changed(&p, img.x1 - 1, img.y1 - 1));
				if (img.x0 > 0)
					CHECK(!luma_changed(&p, img.x0 - 1,
							    img.y0));
				if (img.y0 > 0)
					CHECK(!luma_changed(&p, img.x0,
							    img.y0 - 1));
				ov_image_free(&img);
				free(p.buf);
			}
		}
}

static void check_chroma(struct ov_font *f)
{
	/* The same red text on I420 and NV12 gives the same U and V, at
	 * cells of the 2x2 grid the box touches, also at an odd x. */
	struct pic a, b;
	int w = 101, h = 41;
	pic_init(&a, w, h, 0);
	pic_init(&b, w, h, 1);
	struct ov_style st = {
	    .color = {81, 90, 240}, .padding = 2, .outline = 1, .x = 3, .y = 5};
	struct ov_image img = {0};
	CHECK_EQ_INT(ov_compose(&img, f, "Hi", &st, w, h), 0);
	ov_blend(&img, a.planes, a.stride, 0);
	ov_blend(&img, b.planes, b.stride, 1);
	int cw = (w + 1) / 2, ch = (h + 1) / 2, same = 1, reddish = 0,
	    outside = 0;
	for (int y = 0; y < ch; y++)
		for (int x = 0; x < cw; x++) {
			uint8_t u = a.planes[1][y * a.stride[1] + x];
			uint8_t v = a.planes[2][y * a.stride[2] + x];
			uint8_t nu = b.planes[1][y * b.stride[1] + 2 * x];
			uint8_t nv = b.planes[1][y * b.stride[1] + 2 * x + 1];
			same = same && u == nu && v == nv;
			reddish += v > 160 && u < 120;
			int in = x >= img.cx0 && x < img.cx1 && y >= img.cy0 &&
				 y < img.cy1;
			outside += !in && (u != 128 || v != 128);
		}
	CHECK(same);
	CHECK(reddish > 0);
	CHECK_EQ_INT(outside, 0);
	CHECK_EQ_INT(img.cx0, 1); /* x = 3 lies in chroma cell 1 */
	CHECK(!memcmp(a.planes[0], b.planes[0], a.stride[0] * (size_t)h));
	CHECK(guards_intact(&a) && guards_intact(&b));
	ov_image_free(&img);
	free(a.buf);
	free(b.buf);
}

/* A box far larger than the picture (400 px letters on 33x17): only the
 * visible part is composed, and nothing is written outside the picture. */
static void check_huge_text(void)
{
	char err[256];
	struct ov_font *big;
	CHECK_EQ_INT(ov_font_open(FONT, 400, &big, err, sizeof(err)), 0);
	struct pic p;
	pic_init(&p, 33, 17, 1);
	struct ov_style st = {.color = {235, 128, 128},
			      .outline = 8,
			      .box_opacity = 128,
			      .anchor = OV_CENTER,
			      .x = -1,
			      .y = -1};
	struct ov_image img = {0};
	CHECK_EQ_INT(ov_compose(&img, big, "88:88:88 88:88:88", &st, 33, 17),
		     0);
	CHECK(img.box.w > 4000 && img.box.h > 400);
	CHECK_EQ_INT(img.x1 - img.x0, 33);
	CHECK_EQ_INT(img.y1 - img.y0, 17);
	ov_blend(&img, p.planes, p.stride, 1);
	CHECK(guards_intact(&p));
	ov_image_free(&img);
	free(p.buf);
	ov_font_close(big);
}

int main(void)
{
	check_pattern_errors();
	check_expansion();
	if (access(FONT, R_OK) != 0) {
		printf("skip: %s missing (Debian fonts-dejavu-core)\n", FONT);
		return 77;
	}
	char err[256];
	struct ov_font *f;
	CHECK_EQ_INT(ov_font_open("/nonexistent.ttf", 20, &f, err, sizeof(err)),
		     -1);
	CHECK_STR_CONTAINS(err, "font /nonexistent.ttf: cannot be opened");
	if (ov_font_open(FONT, 20, &f, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	check_layout(f);
	check_clipping(f);
	check_chroma(f);
	ov_font_close(f);
	check_huge_text();
	return check_done();
}
#else
int main(void)
{
	printf("skip: built without FreeType (pkg-config freetype2)\n");
	return 77;
}
#endif
