/* Glyphs of one TrueType font at one pixel size, rasterised by FreeType
 * once each and kept in an alpha atlas, so a new string costs copies of
 * cached bitmaps, not rasterisation. Latin-1 (code points up to 255);
 * other characters are drawn as '?'. */
#ifndef VPIPE_OV_FONT_H
#define VPIPE_OV_FONT_H

#include <stddef.h>
#include <stdint.h>

struct ov_font;

struct ov_glyph {
	int left, top;	  /* bitmap offset from the pen (top: above the
			     baseline) */
	int advance;	  /* pen step to the next glyph, pixels */
	unsigned w, h;	  /* bitmap size */
	const uint8_t *a; /* w*h coverage bytes (0..255), row by row */
};

/* Open `path` at `px` pixels per em. Returns 0, or -1 with the reason in
 * err. */
int ov_font_open(const char *path, unsigned px, struct ov_font **out, char *err,
		 size_t err_size);
void ov_font_close(struct ov_font *f);

/* Pixels from the top of a line to its baseline, and from one line to
 * the next. */
int ov_font_ascent(const struct ov_font *f);
int ov_font_line_height(const struct ov_font *f);

/* The glyph of code point cp (rendered on first use). Never NULL. */
const struct ov_glyph *ov_font_glyph(struct ov_font *f, uint32_t cp);

/* Bytes the atlas holds now (for the memory estimate and tests). */
size_t ov_font_atlas_bytes(const struct ov_font *f);

#endif
