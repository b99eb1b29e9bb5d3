/* testsrc's pattern; see testpattern.h for the formulas. */
#include "testpattern.h"

static uint32_t block_width(uint32_t width)
{
	return width / 32 ? width / 32 : 1;
}

static void draw_luma(uint8_t *y, const struct vpipe_format *fmt, uint64_t n)
{
	uint32_t w = fmt->width, h = fmt->height, s = fmt->stride[0];
	uint32_t shift = (uint32_t)((4 * n) % 220);
	for (uint32_t row = 0; row < h; row++) {
		uint8_t *p = y + (size_t)row * s;
		uint32_t base = (2 * row + shift) % 220;
		for (uint32_t x = 0; x < w; x++)
			p[x] = (uint8_t)(16 + (x + base) % 220);
	}
	uint32_t bw = block_width(w);
	for (uint32_t row = 0; row < 8 && row < h; row++) {
		uint8_t *p = y + (size_t)row * s;
		for (uint32_t bit = 0; bit < 32; bit++)
			for (uint32_t x = bit * bw; x < (bit + 1) * bw && x < w;
			     x++)
				p[x] = ((n >> bit) & 1) ? 235 : 16;
	}
}

static uint8_t chroma_u(uint32_t x, uint64_t n)
{
	return (uint8_t)(64 + (2 * x + n) % 128);
}

static uint8_t chroma_v(uint32_t y, uint64_t n)
{
	return (uint8_t)(192 - (2 * y + n) % 128);
}

void testpattern_draw(uint8_t *data, const struct vpipe_format *fmt, uint64_t n)
{
	draw_luma(data + fmt->offset[0], fmt, n);
	uint32_t cw = (fmt->width + 1) / 2, ch = (fmt->height + 1) / 2;
	if (fmt->fourcc == VPIPE_FOURCC_I420) {
		for (uint32_t y = 0; y < ch; y++) {
			uint8_t *u =
			    data + fmt->offset[1] + (size_t)y * fmt->stride[1];
			uint8_t *v =
			    data + fmt->offset[2] + (size_t)y * fmt->stride[2];
			for (uint32_t x = 0; x < cw; x++) {
				u[x] = chroma_u(x, n);
				v[x] = chroma_v(y, n);
			}
		}
	} else if (fmt->fourcc == VPIPE_FOURCC_NV12) {
		for (uint32_t y = 0; y < ch; y++) {
			uint8_t *uv =
			    data + fmt->offset[1] + (size_t)y * fmt->stride[1];
			for (uint32_t x = 0; x < cw; x++) {
				uv[2 * x] = chroma_u(x, n);
				uv[2 * x + 1] = chroma_v(y, n);
			}
		}
	}
}

uint32_t testpattern_read_counter(const uint8_t *luma, uint32_t width,
				  uint32_t stride)
{
	uint32_t bw = block_width(width), n = 0;
	const uint8_t *row = luma + 4 * (size_t)stride; /* middle of the band */
	for (uint32_t bit = 0; bit < 32; bit++) {
		uint32_t x = bit * bw + bw / 2;
		if (x < width && row[x] > 125)
			n |= 1u << bit;
	}
	return n;
}
