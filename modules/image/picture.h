/* Still pictures for the `image` module, free of the kernel so that unit
 * tests drive it directly: a picture in any layout the pipeline carries
 * (raw I420/NV12/YUYV, or a decoder's output) is scaled with libswscale to
 * RGB and compressed to JPEG (libturbojpeg) or PNG (libpng). */
#ifndef VPIPE_MODULES_IMAGE_PICTURE_H
#define VPIPE_MODULES_IMAGE_PICTURE_H

#include <stddef.h>
#include <stdint.h>

#include <vpipe/frame.h>

/* The service's limits for generated images (ImageGenerationConfiguration
 * WidthPixels / HeightPixels). */
#define PIC_MAX_WIDTH  3840
#define PIC_MAX_HEIGHT 2160

enum pic_format { PIC_JPEG, PIC_PNG };

/* A source picture: planes as libswscale takes them. `av_format` is an
 * enum AVPixelFormat (kept as int so that callers need no FFmpeg header). */
struct pic_src {
	int av_format;
	int width, height;
	const uint8_t *plane[4];
	int stride[4];
	int full_range; /* JPEG-range YUV (a decoder's yuvj420p) */
};

/* A raw vpipe frame as a source. Returns 0, or -1 with err naming the
 * problem (unknown fourcc, planes outside the buffer). */
int pic_src_from_raw(const struct vpipe_format *fmt, const uint8_t *data,
		     size_t size, struct pic_src *src, char *err,
		     size_t errlen);

/* Output size for a src_w x src_h picture and the requested width/height
 * (0: not set). Neither set: the source size; one set: the other follows
 * the source's aspect ratio; both set: the largest size inside that box
 * with the source's aspect ratio. Never below 1x1. */
void pic_target_size(int src_w, int src_h, int want_w, int want_h, int *out_w,
		     int *out_h);

struct pic_encoder;

/* quality 1-100 (JPEG; PNG is lossless and ignores it). NULL on OOM. */
struct pic_encoder *pic_encoder_new(enum pic_format format, int quality);
void pic_encoder_free(struct pic_encoder *e);

/* Scale src to out_w x out_h and compress it. On success *out points to
 * encoder-owned bytes valid until the next call. 0, or -1 with err. */
int pic_encode(struct pic_encoder *e, const struct pic_src *src, int out_w,
	       int out_h, const uint8_t **out, size_t *out_len, char *err,
	       size_t errlen);

const char *pic_format_ext(enum pic_format f);	/* "jpg", "png" */
const char *pic_format_mime(enum pic_format f); /* "image/jpeg" ... */
#endif
