/* Raw picture layouts and conversions to I420; see yuv.h. */
#include "yuv.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static uint32_t half_up(uint32_t v)
{
	return (v + 1) / 2;
}

int yuv_complete_layout(struct vpipe_format *fmt)
{
	uint32_t w = fmt->width, h = fmt->height;
	uint32_t cw = half_up(w), ch = half_up(h);
	bool missing = fmt->num_planes == 0;

	for (uint32_t p = 0; p < fmt->num_planes && p < VPIPE_MAX_PLANES; p++)
		if (fmt->stride[p] == 0)
			missing = true;
	switch (fmt->fourcc) {
	case VPIPE_FOURCC_I420:
		if (missing) {
			fmt->num_planes = 3;
			fmt->stride[0] = w;
			fmt->stride[1] = fmt->stride[2] = cw;
			fmt->offset[0] = 0;
			fmt->offset[1] = w * h;
			fmt->offset[2] = w * h + cw * ch;
		}
		return 0;
	case VPIPE_FOURCC_NV12:
		if (missing) {
			fmt->num_planes = 2;
			fmt->stride[0] = w;
			fmt->stride[1] = cw * 2;
			fmt->offset[0] = 0;
			fmt->offset[1] = w * h;
		}
		return 0;
	case VPIPE_FOURCC_YUYV:
		if (missing) {
			fmt->num_planes = 1;
			fmt->stride[0] = cw * 4;
			fmt->offset[0] = 0;
		}
		return 0;
	default:
		return -1;
	}
}

/* Bytes each row of plane p occupies, and how many rows it has. */
static void plane_extent(const struct vpipe_format *fmt, unsigned p,
			 uint64_t *row_bytes, uint64_t *rows)
{
	uint64_t w = fmt->width, h = fmt->height;

	*row_bytes = w;
	*rows = h;
	if (fmt->fourcc == VPIPE_FOURCC_YUYV) {
		*row_bytes = half_up(fmt->width) * 4ull;
	} else if (p > 0) {
		*rows = half_up(fmt->height);
		*row_bytes = fmt->fourcc == VPIPE_FOURCC_NV12
				 ? half_up(fmt->width) * 2ull
				 : half_up(fmt->width);
	}
}

static unsigned planes_of(uint32_t fourcc)
{
	switch (fourcc) {
	case VPIPE_FOURCC_I420:
		return 3;
	case VPIPE_FOURCC_NV12:
		return 2;
	case VPIPE_FOURCC_YUYV:
		return 1;
	default:
		return 0;
	}
}

int yuv_check_layout(const struct vpipe_format *fmt, size_t size, char *err,
		     size_t errlen)
{
	unsigned n = planes_of(fmt->fourcc);

	if (n == 0) {
		snprintf(err, errlen, "raw format %s is not i420, nv12 or yuyv",
			 vpipe_fourcc_name(fmt->fourcc));
		return -1;
	}
	if (fmt->width == 0 || fmt->height == 0) {
		snprintf(err, errlen, "picture size %ux%u is empty", fmt->width,
			 fmt->height);
		return -1;
	}
	if (fmt->num_planes < n) {
		snprintf(err, errlen, "%s needs %u planes, format has %u",
			 vpipe_fourcc_name(fmt->fourcc), n, fmt->num_planes);
		return -1;
	}
	for (unsigned p = 0; p < n; p++) {
		uint64_t row_bytes, rows;

		plane_extent(fmt, p, &row_bytes, &rows);
		if (fmt->stride[p] < row_bytes) {
			snprintf(err, errlen,
				 "plane %u stride %u is below its row of %llu "
				 "bytes",
				 p, fmt->stride[p],
				 (unsigned long long)row_bytes);
			return -1;
		}
		uint64_t end = fmt->offset[p] +
			       (uint64_t)fmt->stride[p] * (rows - 1) +
			       row_bytes;
		if (end > size) {
			snprintf(err, errlen,
				 "plane %u ends at byte %llu, frame holds %zu",
				 p, (unsigned long long)end, size);
			return -1;
		}
	}
	return 0;
}

static void copy_plane(uint8_t *dst, uint32_t dst_stride, const uint8_t *src,
		       uint32_t src_stride, uint32_t row_bytes, uint32_t rows)
{
	for (uint32_t r = 0; r < rows; r++)
		memcpy(dst + (size_t)r * dst_stride,
		       src + (size_t)r * src_stride, row_bytes);
}

void yuv_yuyv_to_i420(const uint8_t *src, uint32_t src_stride, uint32_t width,
		      uint32_t height, const struct yuv_i420 *dst)
{
	uint32_t cw = half_up(width);

	for (uint32_t r = 0; r < height; r += 2) {
		const uint8_t *a = src + (size_t)r * src_stride;
		/* The last row of an odd height pairs with itself. */
		const uint8_t *b = r + 1 < height ? a + src_stride : a;
		uint8_t *ya = dst->plane[0] + (size_t)r * dst->stride[0];
		uint8_t *yb = ya + dst->stride[0];
		uint8_t *u = dst->plane[1] + (size_t)(r / 2) * dst->stride[1];
		uint8_t *v = dst->plane[2] + (size_t)(r / 2) * dst->stride[2];

		for (uint32_t x = 0; x < width; x++)
			ya[x] = a[x * 2];
		if (r + 1 < height)
			for (uint32_t x = 0; x < width; x++)
				yb[x] = b[x * 2];
		for (uint32_t c = 0; c < cw; c++) {
			u[c] = (uint8_t)((a[c * 4 + 1] + b[c * 4 + 1] + 1) / 2);
			v[c] = (uint8_t)((a[c * 4 + 3] + b[c * 4 + 3] + 1) / 2);
		}
	}
}

void yuv_nv12_to_i420(const uint8_t *y, uint32_t y_stride, const uint8_t *uv,
		      uint32_t uv_stride, uint32_t width, uint32_t height,
		      const struct yuv_i420 *dst)
{
	uint32_t cw = half_up(width), ch = half_up(height);

	copy_plane(dst->plane[0], dst->stride[0], y, y_stride, width, height);
	for (uint32_t r = 0; r < ch; r++) {
		const uint8_t *s = uv + (size_t)r * uv_stride;
		uint8_t *u = dst->plane[1] + (size_t)r * dst->stride[1];
		uint8_t *v = dst->plane[2] + (size_t)r * dst->stride[2];

		for (uint32_t c = 0; c < cw; c++) {
			u[c] = s[c * 2];
			v[c] = s[c * 2 + 1];
		}
	}
}

int yuv_to_i420(const struct vpipe_format *fmt, const uint8_t *src,
		const struct yuv_i420 *dst)
{
	uint32_t w = fmt->width, h = fmt->height;

	switch (fmt->fourcc) {
	case VPIPE_FOURCC_I420:
		copy_plane(dst->plane[0], dst->stride[0], src + fmt->offset[0],
			   fmt->stride[0], w, h);
		for (unsigned p = 1; p < 3; p++)
			copy_plane(dst->plane[p], dst->stride[p],
				   src + fmt->offset[p], fmt->stride[p],
				   half_up(w), half_up(h));
		return 0;
	case VPIPE_FOURCC_NV12:
		yuv_nv12_to_i420(src + fmt->offset[0], fmt->stride[0],
				 src + fmt->offset[1], fmt->stride[1], w, h,
				 dst);
		return 0;
	case VPIPE_FOURCC_YUYV:
		yuv_yuyv_to_i420(src + fmt->offset[0], fmt->stride[0], w, h,
				 dst);
		return 0;
	default:
		return -1;
	}
}

int yuv_validate_frame(struct vpipe_format *fmt, size_t size, char *err,
		       size_t errlen)
{
	if (yuv_complete_layout(fmt) < 0) {
		snprintf(err, errlen, "raw format %s is not i420, nv12 or yuyv",
			 vpipe_fourcc_name(fmt->fourcc));
		return -1;
	}
	return yuv_check_layout(fmt, size, err, errlen) == 0 ? 0 : -1;
}
