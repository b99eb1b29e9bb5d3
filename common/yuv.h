/* Raw picture layouts: checking that a frame's planes fit its buffer, and
 * converting the layouts cameras deliver (I420, NV12, packed YUYV 4:2:2)
 * into planar I420, which every encoder here accepts.
 *
 * Chroma of a W x H picture is ((W+1)/2) x ((H+1)/2) in 4:2:0. YUYV carries
 * chroma for every row: converting it to 4:2:0 averages each pair of rows
 * (rounding up), which is what swscale and GStreamer's videoconvert do.
 */
#ifndef VPIPE_COMMON_YUV_H
#define VPIPE_COMMON_YUV_H

#include <stddef.h>
#include <stdint.h>

#include <vpipe/frame.h>

/* Fill in a missing layout (num_planes 0 or a zero stride) with the tightly
 * packed one for fmt->fourcc. Returns 0, or -1 for a fourcc that is not
 * I420, NV12 or YUYV. */
int yuv_complete_layout(struct vpipe_format *fmt);

/* Check that every plane of fmt lies inside `size` bytes. Returns 0, or -1
 * with a message in err naming the plane and the offsets. */
int yuv_check_layout(const struct vpipe_format *fmt, size_t size, char *err,
		     size_t errlen);

/* Destination I420 picture: three planes with their strides. */
struct yuv_i420 {
	uint8_t *plane[3];
	uint32_t stride[3];
};

/* Convert (or copy) a picture with a checked layout into dst, which holds
 * fmt->width x fmt->height. Returns 0, or -1 for an unsupported fourcc. */
int yuv_to_i420(const struct vpipe_format *fmt, const uint8_t *src,
		const struct yuv_i420 *dst);

void yuv_yuyv_to_i420(const uint8_t *src, uint32_t src_stride, uint32_t width,
		      uint32_t height, const struct yuv_i420 *dst);
void yuv_nv12_to_i420(const uint8_t *y, uint32_t y_stride, const uint8_t *uv,
		      uint32_t uv_stride, uint32_t width, uint32_t height,
		      const struct yuv_i420 *dst);

/* yuv_complete_layout then yuv_check_layout: 0, or -1 with a message in err
 * ("raw format X is not i420, nv12 or yuyv", or what does not fit size). */
int yuv_validate_frame(struct vpipe_format *fmt, size_t size, char *err,
		       size_t errlen);

#endif
