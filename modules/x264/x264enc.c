/* libx264 encode core; see x264enc.h. */
#include "x264enc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <x264.h>

#include "yuv.h"

struct x264enc {
	x264_t *h;
	struct vpipe_format in; /* what the encoder was opened for */
	/* YUYV is converted here first: x264 would keep it 4:2:2. */
	uint8_t *scratch;
	struct yuv_i420 scratch_pic;
};

static int apply_rate_control(x264_param_t *p, const struct x264enc_settings *s)
{
	switch (s->rc) {
	case X264ENC_RC_CBR:
		/* Strict CBR: a one-second VBV at the target and filler data,
		 * so every second carries the bitrate, even a still scene. */
		p->rc.i_rc_method = X264_RC_ABR;
		p->rc.i_bitrate = s->bitrate_kbps;
		p->rc.i_vbv_max_bitrate = s->bitrate_kbps;
		p->rc.i_vbv_buffer_size = s->bitrate_kbps;
		p->i_nal_hrd = X264_NAL_HRD_CBR;
		p->rc.b_filler = 1;
		return 0;
	case X264ENC_RC_VBR:
		/* Average at the target, peaks capped at twice it. */
		p->rc.i_rc_method = X264_RC_ABR;
		p->rc.i_bitrate = s->bitrate_kbps;
		p->rc.i_vbv_max_bitrate = s->bitrate_kbps * 2;
		p->rc.i_vbv_buffer_size = s->bitrate_kbps * 2;
		return 0;
	case X264ENC_RC_CRF:
		p->rc.i_rc_method = X264_RC_CRF;
		p->rc.f_rf_constant = (float)s->crf;
		return 0;
	default:
		return -1;
	}
}

static int build_params(x264_param_t *p, const struct x264enc_settings *s,
			const struct vpipe_format *fmt, char *err,
			size_t errlen)
{
	uint32_t fps_num = fmt->fps_num, fps_den = fmt->fps_den;

	if (x264_param_default_preset(p, s->preset, s->tune) < 0) {
		snprintf(err, errlen, "x264 refuses preset '%s' with tune '%s'",
			 s->preset, s->tune ? s->tune : "none");
		return -1;
	}
	if (fps_num == 0 || fps_den == 0) {
		fps_num = 30;
		fps_den = 1;
	}
	p->i_width = (int)fmt->width;
	p->i_height = (int)fmt->height;
	p->i_csp = X264_CSP_I420;
	p->i_fps_num = fps_num;
	p->i_fps_den = fps_den;
	p->b_vfr_input = 0; /* rate control by frame rate, pts passed through */
	p->i_threads = s->threads;
	p->i_bframe = s->bframes;
	p->i_level_idc = s->level_idc > 0 ? s->level_idc : -1;
	/* Key frames exactly every keyint frames: KVS fragments follow them. */
	p->i_keyint_max = keyint_frames(&s->keyint, fps_num, fps_den);
	p->i_keyint_min = p->i_keyint_max;
	p->i_scenecut_threshold = 0;
	p->b_open_gop = 0;
	/* SPS/PPS before every IDR: any fragment decodes on its own. */
	p->b_repeat_headers = 1;
	p->b_annexb = 1;
	p->b_aud = 0;
	p->i_log_level = X264_LOG_ERROR;
	if (apply_rate_control(p, s) < 0) {
		snprintf(err, errlen, "unknown rate control %d", s->rc);
		return -1;
	}
	if (x264_param_apply_profile(p, s->profile) < 0) {
		snprintf(err, errlen, "x264 refuses profile '%s'", s->profile);
		return -1;
	}
	return 0;
}

struct x264enc *x264enc_open(const struct x264enc_settings *s,
			     const struct vpipe_format *fmt, char *err,
			     size_t errlen)
{
	x264_param_t p;
	struct x264enc *e;

	if (build_params(&p, s, fmt, err, errlen) < 0)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->in = *fmt;
	if (fmt->fourcc == VPIPE_FOURCC_YUYV) {
		size_t w = fmt->width, h = fmt->height;
		size_t cw = (w + 1) / 2, ch = (h + 1) / 2;

		e->scratch = malloc(w * h + 2 * cw * ch);
		if (!e->scratch) {
			free(e);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		e->scratch_pic.plane[0] = e->scratch;
		e->scratch_pic.plane[1] = e->scratch + w * h;
		e->scratch_pic.plane[2] = e->scratch + w * h + cw * ch;
		e->scratch_pic.stride[0] = (uint32_t)w;
		e->scratch_pic.stride[1] = e->scratch_pic.stride[2] =
		    (uint32_t)cw;
	}
	e->h = x264_encoder_open(&p);
	if (!e->h) {
		snprintf(err, errlen,
			 "x264_encoder_open refused %ux%u (preset %s, profile "
			 "%s, level %d, %d B-frames)",
			 fmt->width, fmt->height, s->preset, s->profile,
			 s->level_idc, s->bframes);
		free(e->scratch);
		free(e);
		return NULL;
	}
	return e;
}

void x264enc_close(struct x264enc *e)
{
	if (!e)
		return;
	x264_encoder_close(e->h);
	free(e->scratch);
	free(e);
}

bool x264enc_same_input(const struct x264enc *e, const struct vpipe_format *fmt)
{
	return e->in.fourcc == fmt->fourcc && e->in.width == fmt->width &&
	       e->in.height == fmt->height &&
	       (uint64_t)e->in.fps_num * fmt->fps_den ==
		   (uint64_t)fmt->fps_num * e->in.fps_den;
}

static void fill_picture(struct x264enc *e, x264_picture_t *pic,
			 const struct vpipe_format *fmt, const uint8_t *data)
{
	uint8_t *base = (uint8_t *)data; /* x264 only reads input planes */

	switch (fmt->fourcc) {
	case VPIPE_FOURCC_NV12:
		pic->img.i_csp = X264_CSP_NV12;
		pic->img.i_plane = 2;
		for (int i = 0; i < 2; i++) {
			pic->img.plane[i] = base + fmt->offset[i];
			pic->img.i_stride[i] = (int)fmt->stride[i];
		}
		break;
	case VPIPE_FOURCC_YUYV:
		yuv_yuyv_to_i420(data + fmt->offset[0], fmt->stride[0],
				 fmt->width, fmt->height, &e->scratch_pic);
		pic->img.i_csp = X264_CSP_I420;
		pic->img.i_plane = 3;
		for (int i = 0; i < 3; i++) {
			pic->img.plane[i] = e->scratch_pic.plane[i];
			pic->img.i_stride[i] = (int)e->scratch_pic.stride[i];
		}
		break;
	default: /* I420 */
		pic->img.i_csp = X264_CSP_I420;
		pic->img.i_plane = 3;
		for (int i = 0; i < 3; i++) {
			pic->img.plane[i] = base + fmt->offset[i];
			pic->img.i_stride[i] = (int)fmt->stride[i];
		}
		break;
	}
}

static void describe_output(x264_nal_t *nals, int n, int size,
			    const x264_picture_t *out, struct x264enc_au *au)
{
	memset(au, 0, sizeof(*au));
	/* libx264 writes an encoded picture's NAL units back to back. */
	au->data = nals[0].p_payload;
	au->size = (size_t)size;
	au->pts = out->i_pts;
	au->dts = out->i_dts;
	au->key = out->i_type == X264_TYPE_IDR;
	au->opaque = out->opaque;
	for (int i = 0; i < n; i++)
		if (nals[i].i_type == NAL_SPS)
			au->has_sps = true;
}

int x264enc_encode(struct x264enc *e, const struct vpipe_format *fmt,
		   const uint8_t *data, int64_t pts, bool force_key,
		   void *opaque, struct x264enc_au *au)
{
	x264_picture_t pic, out;
	x264_nal_t *nals = NULL;
	int n = 0, size;

	x264_picture_init(&pic);
	fill_picture(e, &pic, fmt, data);
	pic.i_pts = pts;
	pic.i_type = force_key ? X264_TYPE_IDR : X264_TYPE_AUTO;
	pic.opaque = opaque;
	size = x264_encoder_encode(e->h, &nals, &n, &pic, &out);
	if (size < 0)
		return -1;
	if (size == 0 || n == 0)
		return 0;
	describe_output(nals, n, size, &out, au);
	return 1;
}

int x264enc_drain(struct x264enc *e, struct x264enc_au *au)
{
	x264_picture_t out;
	x264_nal_t *nals = NULL;
	int n = 0, size;

	/* Each call with no picture normally releases one; the bound only
	 * guards against a library that keeps answering nothing. */
	for (int tries = x264_encoder_delayed_frames(e->h) + 16;
	     tries > 0 && x264_encoder_delayed_frames(e->h) > 0; tries--) {
		size = x264_encoder_encode(e->h, &nals, &n, NULL, &out);
		if (size < 0)
			return -1;
		if (size > 0 && n > 0) {
			describe_output(nals, n, size, &out, au);
			return 1;
		}
	}
	return 0;
}

int x264enc_delayed(const struct x264enc *e)
{
	return x264_encoder_delayed_frames(e->h);
}
