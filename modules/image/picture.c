/* Scaling and compression of still pictures (see picture.h). JPEG goes
 * from the source's YUV to full-range I420 at the output size and into
 * libturbojpeg as planes; PNG goes through RGB. */
#include "picture.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include <libavutil/log.h>
#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>

#include "yuv.h"

struct pic_encoder {
	enum pic_format format;
	int quality;
	struct SwsContext *sws;
	uint8_t *rgb; /* out_w * 3 bytes per row */
	size_t rgb_cap;
	tjhandle tj;
	uint8_t *yuv; /* JPEG: full-range I420 at the output size */
	size_t yuv_cap;
	uint8_t *out; /* the last compressed picture */
	size_t out_cap;
};

const char *pic_format_ext(enum pic_format f)
{
	return f == PIC_PNG ? "png" : "jpg";
}

const char *pic_format_mime(enum pic_format f)
{
	return f == PIC_PNG ? "image/png" : "image/jpeg";
}

int pic_src_from_raw(const struct vpipe_format *fmt, const uint8_t *data,
		     size_t size, struct pic_src *src, char *err, size_t errlen)
{
	struct vpipe_format f = *fmt;
	memset(src, 0, sizeof(*src));
	if (yuv_complete_layout(&f)) {
		snprintf(err, errlen, "raw format %s is not i420, nv12 or yuyv",
			 vpipe_fourcc_name(f.fourcc));
		return -1;
	}
	if (f.width == 0 || f.height == 0) {
		snprintf(err, errlen, "raw picture of size %ux%u", f.width,
			 f.height);
		return -1;
	}
	if (yuv_check_layout(&f, size, err, errlen))
		return -1;
	switch (f.fourcc) {
	case VPIPE_FOURCC_I420:
		src->av_format = AV_PIX_FMT_YUV420P;
		break;
	case VPIPE_FOURCC_NV12:
		src->av_format = AV_PIX_FMT_NV12;
		break;
	default:
		src->av_format = AV_PIX_FMT_YUYV422;
		break;
	}
	src->width = (int)f.width;
	src->height = (int)f.height;
	for (uint32_t i = 0; i < f.num_planes && i < 4; i++) {
		src->plane[i] = data + f.offset[i];
		src->stride[i] = (int)f.stride[i];
	}
	return 0;
}

static int scaled(int num, int src_a, int src_b)
{
	/* num * src_a / src_b, rounded to nearest, at least 1 */
	long long v = ((long long)num * src_a + src_b / 2) / src_b;
	return v < 1 ? 1 : (int)v;
}

void pic_target_size(int src_w, int src_h, int want_w, int want_h, int *out_w,
		     int *out_h)
{
	if (want_w > 0 && want_h > 0) {
		/* Compare want_w/src_w with want_h/src_h without rounding. */
		if ((long long)want_w * src_h <= (long long)want_h * src_w) {
			*out_w = want_w;
			*out_h = scaled(want_w, src_h, src_w);
		} else {
			*out_h = want_h;
			*out_w = scaled(want_h, src_w, src_h);
		}
	} else if (want_w > 0) {
		*out_w = want_w;
		*out_h = scaled(want_w, src_h, src_w);
	} else if (want_h > 0) {
		*out_h = want_h;
		*out_w = scaled(want_h, src_w, src_h);
	} else {
		*out_w = src_w;
		*out_h = src_h;
	}
}

struct pic_encoder *pic_encoder_new(enum pic_format format, int quality)
{
	struct pic_encoder *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->format = format;
	e->quality = quality < 1 ? 1 : quality > 100 ? 100 : quality;
	/* swscale warns about the full-range format on stderr, unprefixed;
	 * real failures come back as return codes. */
	av_log_set_level(AV_LOG_FATAL);
	if (format == PIC_JPEG) {
		e->tj = tjInitCompress();
		if (!e->tj) {
			free(e);
			return NULL;
		}
	}
	return e;
}

void pic_encoder_free(struct pic_encoder *e)
{
	if (!e)
		return;
	sws_freeContext(e->sws);
	if (e->tj)
		tjDestroy(e->tj);
	free(e->rgb);
	free(e->yuv);
	free(e->out);
	free(e);
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	uint8_t *p = realloc(*buf, need);
	if (!p)
		return -1;
	*buf = p;
	*cap = need;
	return 0;
}

/* Deprecated yuvj formats say "full range" by themselves; swscale wants
 * the plain format plus the range flag. */
static int plain_format(int f, int *full)
{
	switch (f) {
	case AV_PIX_FMT_YUVJ420P:
		*full = 1;
		return AV_PIX_FMT_YUV420P;
	case AV_PIX_FMT_YUVJ422P:
		*full = 1;
		return AV_PIX_FMT_YUV422P;
	case AV_PIX_FMT_YUVJ444P:
		*full = 1;
		return AV_PIX_FMT_YUV444P;
	default:
		return f;
	}
}

static int to_rgb(struct pic_encoder *e, const struct pic_src *src, int w,
		  int h, char *err, size_t errlen)
{
	int full = src->full_range;
	int sfmt = plain_format(src->av_format, &full);
	int flags = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT;
	e->sws =
	    sws_getCachedContext(e->sws, src->width, src->height, sfmt, w, h,
				 AV_PIX_FMT_RGB24, flags, NULL, NULL, NULL);
	if (!e->sws) {
		snprintf(err, errlen, "cannot scale %dx%d (%s) to %dx%d RGB",
			 src->width, src->height,
			 src->av_format == AV_PIX_FMT_NV12	? "nv12"
			 : src->av_format == AV_PIX_FMT_YUYV422 ? "yuyv"
								: "yuv420p",
			 w, h);
		return -1;
	}
	/* BT.601 coefficients, as the cameras and encoders here use. */
	const int *coef = sws_getCoefficients(SWS_CS_ITU601);
	sws_setColorspaceDetails(e->sws, coef, full, coef, 1, 0, 1 << 16,
				 1 << 16);
	size_t pitch = (size_t)w * 3;
	if (grow(&e->rgb, &e->rgb_cap, pitch * (size_t)h)) {
		snprintf(err, errlen, "out of memory for a %dx%d picture", w,
			 h);
		return -1;
	}
	uint8_t *dst[4] = {e->rgb, NULL, NULL, NULL};
	int dst_stride[4] = {(int)pitch, 0, 0, 0};
	int rows = sws_scale(e->sws, src->plane, src->stride, 0, src->height,
			     dst, dst_stride);
	if (rows != h) {
		snprintf(err, errlen, "scaling to %dx%d gave %d rows", w, h,
			 rows);
		return -1;
	}
	return 0;
}

/* JPEG wants full-range YCbCr: scale (and stretch the range) straight to
 * planar 4:2:0 at the output size, with no RGB on the way. */
static int to_yuv(struct pic_encoder *e, const struct pic_src *src, int w,
		  int h, const uint8_t *planes[3], int strides[3], char *err,
		  size_t errlen)
{
	int full = src->full_range;
	int sfmt = plain_format(src->av_format, &full);
	/* The (deprecated) full-range format, not YUV420P with a range
	 * flag: swscale copies same-size same-format pictures as they are,
	 * ignoring the ranges, and the picture would stay limited-range. */
	e->sws = sws_getCachedContext(
	    e->sws, src->width, src->height, sfmt, w, h, AV_PIX_FMT_YUVJ420P,
	    SWS_BICUBIC | SWS_ACCURATE_RND, NULL, NULL, NULL);
	if (!e->sws) {
		snprintf(err, errlen, "cannot scale %dx%d to %dx%d", src->width,
			 src->height, w, h);
		return -1;
	}
	const int *coef = sws_getCoefficients(SWS_CS_ITU601);
	sws_setColorspaceDetails(e->sws, coef, full, coef, 1, 0, 1 << 16,
				 1 << 16);
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	size_t need = (size_t)w * h + 2 * (size_t)cw * ch;
	if (grow(&e->yuv, &e->yuv_cap, need)) {
		snprintf(err, errlen, "out of memory for a %dx%d picture", w,
			 h);
		return -1;
	}
	uint8_t *dst[4] = {e->yuv, e->yuv + (size_t)w * h,
			   e->yuv + (size_t)w * h + (size_t)cw * ch, NULL};
	int dst_stride[4] = {w, cw, cw, 0};
	if (sws_scale(e->sws, src->plane, src->stride, 0, src->height, dst,
		      dst_stride) != h) {
		snprintf(err, errlen, "scaling to %dx%d failed", w, h);
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		planes[i] = dst[i];
		strides[i] = dst_stride[i];
	}
	return 0;
}

static int encode_jpeg(struct pic_encoder *e, const struct pic_src *src, int w,
		       int h, size_t *len, char *err, size_t errlen)
{
	const uint8_t *planes[3];
	int strides[3];
	if (to_yuv(e, src, w, h, planes, strides, err, errlen))
		return -1;
	unsigned long bound = tjBufSize(w, h, TJSAMP_420);
	if (bound == (unsigned long)-1 || grow(&e->out, &e->out_cap, bound)) {
		snprintf(err, errlen, "out of memory for a %dx%d JPEG", w, h);
		return -1;
	}
	unsigned char *buf = e->out;
	unsigned long size = bound;
	if (tjCompressFromYUVPlanes(e->tj, planes, w, strides, h, TJSAMP_420,
				    &buf, &size, e->quality,
				    TJFLAG_NOREALLOC)) {
		snprintf(err, errlen, "JPEG compression of %dx%d: %s", w, h,
			 tjGetErrorStr2(e->tj));
		return -1;
	}
	*len = size;
	return 0;
}

static int encode_png(struct pic_encoder *e, int w, int h, size_t *len,
		      char *err, size_t errlen)
{
	png_image img;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	img.width = (png_uint_32)w;
	img.height = (png_uint_32)h;
	img.format = PNG_FORMAT_RGB;
	/* Default zlib effort costs close to a second for 1080p on a small
	 * ARM core; the fast setting is several times quicker. */
	img.flags = PNG_IMAGE_FLAG_FAST;
	png_alloc_size_t size = 0;
	/* First call: the size needed; second: the bytes. */
	if (!png_image_write_to_memory(&img, NULL, &size, 0, e->rgb, w * 3,
				       NULL) ||
	    grow(&e->out, &e->out_cap, size)) {
		snprintf(err, errlen, "PNG of %dx%d: %s", w, h,
			 img.message[0] ? img.message : "out of memory");
		png_image_free(&img);
		return -1;
	}
	if (!png_image_write_to_memory(&img, e->out, &size, 0, e->rgb, w * 3,
				       NULL)) {
		snprintf(err, errlen, "PNG of %dx%d: %s", w, h, img.message);
		png_image_free(&img);
		return -1;
	}
	*len = size;
	return 0;
}

int pic_encode(struct pic_encoder *e, const struct pic_src *src, int out_w,
	       int out_h, const uint8_t **out, size_t *out_len, char *err,
	       size_t errlen)
{
	if (out_w < 1 || out_h < 1 || src->width < 1 || src->height < 1) {
		snprintf(err, errlen, "cannot make a %dx%d picture of %dx%d",
			 out_w, out_h, src->width, src->height);
		return -1;
	}
	int rc;
	if (e->format == PIC_PNG)
		rc = to_rgb(e, src, out_w, out_h, err, errlen) ||
			     encode_png(e, out_w, out_h, out_len, err, errlen)
			 ? -1
			 : 0;
	else
		rc = encode_jpeg(e, src, out_w, out_h, out_len, err, errlen);
	if (rc)
		return -1;
	*out = e->out;
	return 0;
}
