/* Drawing the overlay: a text is laid out and composed once (when it
 * changes) into an "image" in frame coordinates, already clipped to the
 * frame, with luma and 2x2-subsampled chroma layers; each frame then only
 * blends that image. Works on I420 and NV12 of any size, odd included. */
#ifndef VPIPE_OV_DRAW_H
#define VPIPE_OV_DRAW_H

#include <stddef.h>
#include <stdint.h>

#include "ov_font.h"

enum ov_anchor {
	OV_TOP_LEFT,
	OV_TOP,
	OV_TOP_RIGHT,
	OV_LEFT,
	OV_CENTER,
	OV_RIGHT,
	OV_BOTTOM_LEFT,
	OV_BOTTOM,
	OV_BOTTOM_RIGHT,
};

struct ov_yuv {
	uint8_t y, u, v;
};

struct ov_style {
	struct ov_yuv color;  /* text */
	unsigned outline;     /* black outline width in pixels, 0: none */
	unsigned box_opacity; /* 0..255 black box behind the text, 0: none */
	unsigned padding;     /* pixels between the text and the box edge */
	enum ov_anchor anchor;
	unsigned margin; /* pixels from the anchored frame edges */
	int x, y;	 /* >= 0: top-left of the box (anchor unused) */
};

/* Where the text box lands, before clipping. */
struct ov_rect {
	int x, y, w, h;
};

struct ov_image {
	struct ov_rect box;	/* unclipped, frame coordinates */
	int x0, y0, x1, y1;	/* the clipped luma rectangle [x0,x1)x[y0,y1) */
	uint8_t *alpha;		/* (x1-x0)*(y1-y0): 0..255 */
	uint16_t *luma;		/* premultiplied: value*alpha */
	int cx0, cy0, cx1, cy1; /* chroma cells covering it */
	uint8_t *calpha;	/* per cell */
	uint16_t *cu, *cv;	/* premultiplied */
	size_t cap, ccap;	/* allocated pixels, cells */
};

/* Text extent (pixels) of a UTF-8 string: widest line, lines*line height. */
void ov_measure(struct ov_font *f, const char *text, int *w, int *h);

/* Lay out and compose `text` for a frame of width x height. 0, or -1 when
 * out of memory. The image may be empty (x0 == x1) when it falls outside. */
int ov_compose(struct ov_image *img, struct ov_font *f, const char *text,
	       const struct ov_style *st, int width, int height);

/* Blend the image onto a frame. nv12: 1 for NV12 (planes[1] holds UV
 * pairs), 0 for I420 (planes[1] U, planes[2] V). */
void ov_blend(const struct ov_image *img, uint8_t *const planes[3],
	      const uint32_t stride[3], int nv12);

void ov_image_free(struct ov_image *img);

#endif
