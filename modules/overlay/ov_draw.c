/* Layout, composition and blending behind ov_draw.h. */
#include "ov_draw.h"

#include <stdlib.h>
#include <string.h>

/* Next code point of a UTF-8 string; a malformed byte counts as U+FFFD
 * (drawn as '?'). */
static uint32_t next_cp(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;
	uint32_t c = p[0];
	int extra = c < 0x80	? 0
		    : c >= 0xf0 ? 3
		    : c >= 0xe0 ? 2
		    : c >= 0xc0 ? 1
				: -1;
	if (extra < 0) {
		*s += 1;
		return 0xfffd;
	}
	c &= extra ? (0x3fu >> extra) : 0x7fu;
	for (int i = 1; i <= extra; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*s += i;
			return 0xfffd;
		}
		c = (c << 6) | (p[i] & 0x3fu);
	}
	*s += 1 + extra;
	return c;
}

static const struct ov_glyph *glyph_of(struct ov_font *f, uint32_t cp)
{
	return ov_font_glyph(f, cp == '\t' ? ' ' : cp);
}

void ov_measure(struct ov_font *f, const char *text, int *w, int *h)
{
	int lines = 1, pen = 0, widest = 0;
	for (const char *s = text; *s;) {
		uint32_t cp = next_cp(&s);
		if (cp == '\n') {
			lines++;
			pen = 0;
			continue;
		}
		const struct ov_glyph *g = glyph_of(f, cp);
		int right = pen + g->left + (int)g->w;
		pen += g->advance;
		widest = widest > pen ? widest : pen;
		widest = widest > right ? widest : right;
	}
	*w = widest;
	*h = lines * ov_font_line_height(f);
}

/* Coverage of the text on a canvas of cw x ch, origin at (ox, oy). */
static void draw_text(struct ov_font *f, const char *text, uint8_t *canvas,
		      int cw, int ch, int ox, int oy)
{
	int pen = 0, base = oy + ov_font_ascent(f);
	for (const char *s = text; *s;) {
		uint32_t cp = next_cp(&s);
		if (cp == '\n') {
			pen = 0;
			base += ov_font_line_height(f);
			continue;
		}
		const struct ov_glyph *g = glyph_of(f, cp);
		int gx = ox + pen + g->left, gy = base - g->top;
		for (int y = 0; y < (int)g->h; y++) {
			int cy = gy + y;
			if (cy < 0 || cy >= ch)
				continue;
			for (int x = 0; x < (int)g->w; x++) {
				int cx = gx + x;
				if (cx < 0 || cx >= cw)
					continue;
				uint8_t a = g->a[y * (int)g->w + x];
				uint8_t *d = &canvas[cy * cw + cx];
				*d = a > *d ? a : *d;
			}
		}
		pen += g->advance;
	}
}

/* Max over [i-r, i+r] of n values spaced `step` apart. */
static void max_run(const uint8_t *in, uint8_t *out, int n, int step, int r)
{
	for (int i = 0; i < n; i++) {
		uint8_t m = 0;
		int lo = i - r < 0 ? 0 : i - r, hi = i + r >= n ? n - 1 : i + r;
		for (int j = lo; j <= hi; j++) {
			uint8_t v = in[j * step];
			m = v > m ? v : m;
		}
		out[i * step] = m;
	}
}

/* Grey dilation by a (2r+1)-pixel square, in two passes (rows, then
 * columns): the outline's coverage. */
static int dilate(const uint8_t *in, uint8_t *out, int w, int h, int r)
{
	uint8_t *rows = malloc((size_t)w * (size_t)h);
	if (!rows)
		return -1;
	for (int y = 0; y < h; y++)
		max_run(in + (size_t)y * (size_t)w,
			rows + (size_t)y * (size_t)w, w, 1, r);
	for (int x = 0; x < w; x++)
		max_run(rows + x, out + x, h, w, r);
	free(rows);
	return 0;
}

struct px {
	float a, y, u, v; /* alpha 0..1, premultiplied components 0..255 */
};

static void over(struct px *p, float a, struct ov_yuv c)
{
	p->y = c.y * a + p->y * (1 - a);
	p->u = c.u * a + p->u * (1 - a);
	p->v = c.v * a + p->v * (1 - a);
	p->a = a + p->a * (1 - a);
}

static int reserve(struct ov_image *img, size_t px, size_t cells)
{
	if (px > img->cap) {
		uint8_t *a = realloc(img->alpha, px);
		if (a)
			img->alpha = a;
		uint16_t *l = realloc(img->luma, px * sizeof(*l));
		if (l)
			img->luma = l;
		if (!a || !l)
			return -1;
		img->cap = px;
	}
	if (cells > img->ccap) {
		uint8_t *a = realloc(img->calpha, cells);
		if (a)
			img->calpha = a;
		uint16_t *u = realloc(img->cu, cells * sizeof(*u));
		if (u)
			img->cu = u;
		uint16_t *v = realloc(img->cv, cells * sizeof(*v));
		if (v)
			img->cv = v;
		if (!a || !u || !v)
			return -1;
		img->ccap = cells;
	}
	return 0;
}

static int place(int anchor_col, int margin, int size, int frame)
{
	if (anchor_col == 0)
		return margin;
	if (anchor_col == 1)
		return (frame - size) / 2;
	return frame - margin - size;
}

static struct ov_rect layout(struct ov_font *f, const char *text,
			     const struct ov_style *st, int width, int height)
{
	int tw, th;
	ov_measure(f, text, &tw, &th);
	int inset = (int)(st->padding + st->outline);
	struct ov_rect r = {.w = tw + 2 * inset, .h = th + 2 * inset};
	r.x = st->x >= 0
		  ? st->x
		  : place((int)st->anchor % 3, (int)st->margin, r.w, width);
	r.y = st->y >= 0
		  ? st->y
		  : place((int)st->anchor / 3, (int)st->margin, r.h, height);
	return r;
}

/* The composed pixel at canvas (x, y): box, then outline, then text. */
static struct px pixel(const struct ov_style *st, const uint8_t *text,
		       const uint8_t *outline, size_t i)
{
	static const struct ov_yuv black = {16, 128, 128};
	struct px p = {0};
	if (st->box_opacity)
		over(&p, (float)st->box_opacity / 255.f, black);
	if (outline && outline[i])
		over(&p, (float)outline[i] / 255.f, black);
	if (text[i])
		over(&p, (float)text[i] / 255.f, st->color);
	return p;
}

/* The text's coverage, and its outline's, over the part of the box the
 * frame shows (plus the outline's reach, which still colours it): a text
 * box larger than the picture costs no more than the picture. */
struct canvas {
	int x, y, w, h; /* frame coordinates */
	uint8_t *cover, *outline;
};

static size_t at(const struct canvas *c, int x, int y)
{
	return (size_t)(y - c->y) * (size_t)c->w + (size_t)(x - c->x);
}

static void chroma(struct ov_image *img, const struct ov_style *st,
		   const struct canvas *cv, int width, int height)
{
	for (int cy = img->cy0; cy < img->cy1; cy++)
		for (int cx = img->cx0; cx < img->cx1; cx++) {
			float a = 0, u = 0, v = 0;
			int n = 0;
			for (int y = 2 * cy; y < 2 * cy + 2 && y < height; y++)
				for (int x = 2 * cx;
				     x < 2 * cx + 2 && x < width; x++) {
					n++;
					if (x < img->x0 || x >= img->x1 ||
					    y < img->y0 || y >= img->y1)
						continue;
					struct px p =
					    pixel(st, cv->cover, cv->outline,
						  at(cv, x, y));
					a += p.a;
					u += p.u * 255.f;
					v += p.v * 255.f;
				}
			size_t c = (size_t)(cy - img->cy0) *
				       (size_t)(img->cx1 - img->cx0) +
				   (size_t)(cx - img->cx0);
			img->calpha[c] = (uint8_t)(a * 255.f / (float)n + .5f);
			img->cu[c] = (uint16_t)(u / (float)n + .5f);
			img->cv[c] = (uint16_t)(v / (float)n + .5f);
		}
}

static int max_i(int a, int b)
{
	return a > b ? a : b;
}

static int min_i(int a, int b)
{
	return a < b ? a : b;
}

static int draw_canvas(struct canvas *cv, struct ov_font *f, const char *text,
		       const struct ov_style *st, const struct ov_image *img)
{
	const struct ov_rect *r = &img->box;
	int reach = (int)st->outline;
	cv->x = max_i(r->x, img->x0 - reach);
	cv->y = max_i(r->y, img->y0 - reach);
	cv->w = min_i(r->x + r->w, img->x1 + reach) - cv->x;
	cv->h = min_i(r->y + r->h, img->y1 + reach) - cv->y;
	size_t n = (size_t)cv->w * (size_t)cv->h;
	cv->cover = calloc(n, 1);
	cv->outline = st->outline ? calloc(n, 1) : NULL;
	if (!cv->cover || (st->outline && !cv->outline))
		return -1;
	int inset = (int)(st->padding + st->outline);
	draw_text(f, text, cv->cover, cv->w, cv->h, r->x + inset - cv->x,
		  r->y + inset - cv->y);
	if (cv->outline &&
	    dilate(cv->cover, cv->outline, cv->w, cv->h, reach) < 0)
		return -1;
	return 0;
}

int ov_compose(struct ov_image *img, struct ov_font *f, const char *text,
	       const struct ov_style *st, int width, int height)
{
	struct ov_rect r = layout(f, text, st, width, height);
	img->box = r;
	img->x0 = r.x > 0 ? r.x : 0;
	img->y0 = r.y > 0 ? r.y : 0;
	img->x1 = r.x + r.w < width ? r.x + r.w : width;
	img->y1 = r.y + r.h < height ? r.y + r.h : height;
	if (img->x1 <= img->x0 || img->y1 <= img->y0) {
		img->x0 = img->x1 = img->y0 = img->y1 = 0;
		img->cx0 = img->cx1 = img->cy0 = img->cy1 = 0;
		return 0;
	}
	img->cx0 = img->x0 / 2;
	img->cy0 = img->y0 / 2;
	img->cx1 = (img->x1 + 1) / 2;
	img->cy1 = (img->y1 + 1) / 2;
	size_t npx = (size_t)(img->x1 - img->x0) * (size_t)(img->y1 - img->y0);
	size_t ncell =
	    (size_t)(img->cx1 - img->cx0) * (size_t)(img->cy1 - img->cy0);
	struct canvas cv = {0};
	int ok = reserve(img, npx, ncell) == 0 &&
		 draw_canvas(&cv, f, text, st, img) == 0;
	if (ok) {
		int iw = img->x1 - img->x0;
		for (int y = img->y0; y < img->y1; y++)
			for (int x = img->x0; x < img->x1; x++) {
				struct px p = pixel(st, cv.cover, cv.outline,
						    at(&cv, x, y));
				size_t o = (size_t)(y - img->y0) * (size_t)iw +
					   (size_t)(x - img->x0);
				img->alpha[o] = (uint8_t)(p.a * 255.f + .5f);
				img->luma[o] = (uint16_t)(p.y * 255.f + .5f);
			}
		chroma(img, st, &cv, width, height);
	}
	free(cv.cover);
	free(cv.outline);
	return ok ? 0 : -1;
}

static inline uint8_t mix(uint8_t under, uint8_t a, uint16_t premul)
{
	return (uint8_t)(((unsigned)under * (255u - a) + premul + 127u) / 255u);
}

void ov_blend(const struct ov_image *img, uint8_t *const planes[3],
	      const uint32_t stride[3], int nv12)
{
	int iw = img->x1 - img->x0;
	for (int y = img->y0; y < img->y1; y++) {
		uint8_t *row = planes[0] + (size_t)y * stride[0];
		const uint8_t *a =
		    img->alpha + (size_t)(y - img->y0) * (size_t)iw;
		const uint16_t *l =
		    img->luma + (size_t)(y - img->y0) * (size_t)iw;
		for (int x = 0; x < iw; x++)
			if (a[x])
				row[img->x0 + x] =
				    mix(row[img->x0 + x], a[x], l[x]);
	}
	int cw = img->cx1 - img->cx0;
	for (int cy = img->cy0; cy < img->cy1; cy++) {
		size_t o = (size_t)(cy - img->cy0) * (size_t)cw;
		const uint8_t *a = img->calpha + o;
		const uint16_t *u = img->cu + o, *v = img->cv + o;
		if (nv12) {
			uint8_t *row = planes[1] + (size_t)cy * stride[1];
			for (int x = 0; x < cw; x++) {
				if (!a[x])
					continue;
				uint8_t *p = row + 2 * (size_t)(img->cx0 + x);
				p[0] = mix(p[0], a[x], u[x]);
				p[1] = mix(p[1], a[x], v[x]);
			}
		} else {
			uint8_t *ur = planes[1] + (size_t)cy * stride[1];
			uint8_t *vr = planes[2] + (size_t)cy * stride[2];
			for (int x = 0; x < cw; x++) {
				if (!a[x])
					continue;
				int c = img->cx0 + x;
				ur[c] = mix(ur[c], a[x], u[x]);
				vr[c] = mix(vr[c], a[x], v[x]);
			}
		}
	}
}

void ov_image_free(struct ov_image *img)
{
	free(img->alpha);
	free(img->luma);
	free(img->calpha);
	free(img->cu);
	free(img->cv);
	memset(img, 0, sizeof(*img));
}
