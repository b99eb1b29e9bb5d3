/* FreeType behind ov_font.h. */
#include "ov_font.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#define OV_GLYPHS 256

struct ov_font {
	FT_Library lib;
	FT_Face face;
	int ascent, line_height;
	struct ov_glyph glyph[OV_GLYPHS];
	unsigned char ready[OV_GLYPHS];
	/* Each glyph's bitmap is its own block of the atlas: blocks never
	 * move, so the pointers handed out stay valid. */
	uint8_t *blocks[OV_GLYPHS];
	size_t atlas_bytes;
	struct ov_glyph missing; /* when even '?' cannot be rendered */
};

int ov_font_open(const char *path, unsigned px, struct ov_font **out, char *err,
		 size_t n)
{
	*out = NULL;
	struct ov_font *f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	if (FT_Init_FreeType(&f->lib)) {
		snprintf(err, n, "FreeType failed to initialise");
		free(f);
		return -1;
	}
	FT_Error e = FT_New_Face(f->lib, path, 0, &f->face);
	if (e) {
		snprintf(err, n,
			 "font %s: cannot be opened as a font (FreeType error "
			 "%d; does the file exist?)",
			 path, e);
		ov_font_close(f);
		return -1;
	}
	if (!FT_IS_SCALABLE(f->face)) {
		snprintf(err, n,
			 "font %s: not a scalable (TrueType/OpenType) "
			 "font",
			 path);
		ov_font_close(f);
		return -1;
	}
	if (FT_Set_Pixel_Sizes(f->face, 0, px)) {
		snprintf(err, n, "font %s: cannot be set to %u pixels", path,
			 px);
		ov_font_close(f);
		return -1;
	}
	/* 26.6 fixed point metrics for this size. */
	f->ascent = (int)((f->face->size->metrics.ascender + 63) >> 6);
	f->line_height = (int)((f->face->size->metrics.height + 63) >> 6);
	f->missing.advance = (int)px / 2;
	*out = f;
	return 0;
}

void ov_font_close(struct ov_font *f)
{
	if (!f)
		return;
	for (int i = 0; i < OV_GLYPHS; i++)
		free(f->blocks[i]);
	if (f->face)
		FT_Done_Face(f->face);
	FT_Done_FreeType(f->lib);
	free(f);
}

int ov_font_ascent(const struct ov_font *f)
{
	return f->ascent;
}

int ov_font_line_height(const struct ov_font *f)
{
	return f->line_height;
}

size_t ov_font_atlas_bytes(const struct ov_font *f)
{
	return f->atlas_bytes;
}

static int render(struct ov_font *f, uint32_t cp)
{
	FT_UInt index = FT_Get_Char_Index(f->face, cp);
	if (index == 0 && cp != ' ')
		return -1;
	if (FT_Load_Glyph(f->face, index, FT_LOAD_RENDER))
		return -1;
	FT_GlyphSlot s = f->face->glyph;
	FT_Bitmap *b = &s->bitmap;
	if (b->pixel_mode != FT_PIXEL_MODE_GRAY && b->rows > 0)
		return -1;
	struct ov_glyph *g = &f->glyph[cp];
	g->left = s->bitmap_left;
	g->top = s->bitmap_top;
	g->advance = (int)((s->advance.x + 32) >> 6);
	g->w = b->width;
	g->h = b->rows;
	size_t bytes = (size_t)g->w * g->h;
	uint8_t *a = malloc(bytes ? bytes : 1);
	if (!a)
		return -1;
	for (unsigned y = 0; y < g->h; y++)
		memcpy(a + (size_t)y * g->w,
		       b->buffer + (ptrdiff_t)y * b->pitch, g->w);
	f->blocks[cp] = a;
	g->a = a;
	f->atlas_bytes += bytes;
	f->ready[cp] = 1;
	return 0;
}

const struct ov_glyph *ov_font_glyph(struct ov_font *f, uint32_t cp)
{
	if (cp >= OV_GLYPHS)
		cp = '?';
	if (!f->ready[cp] && render(f, cp) < 0) {
		f->ready[cp] = 2; /* not in the font: never try again */
	}
	if (f->ready[cp] == 1)
		return &f->glyph[cp];
	if (cp != '?')
		return ov_font_glyph(f, '?');
	return &f->missing;
}
