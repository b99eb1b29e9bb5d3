/* The x264 module: raw pictures in, H.264 access units out, through libx264.
 *
 * One encoder is opened on the first picture (its size and rate decide the
 * stream) and opened again, after draining the old one, when the input
 * format changes. Each input frame rides through libx264 as the picture's
 * opaque pointer, so the access unit that comes out (in decode order, later
 * when B-frames or look-ahead delay it) carries that frame's duration,
 * wall-clock time and tags.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <x264.h>

#include <vpipe/vpipe.h>

#include "x264enc.h"
#include "yuv.h"

struct x264_config {
	int64_t bitrate;
	int rate_control;
	double crf;
	const char *keyint;
	int64_t bframes;
	int preset;
	int tune;
	int profile;
	int level;
	int64_t threads;
};

static const char *const rc_names[] = {"cbr", "vbr", "crf", NULL};
static const char *const preset_names[] = {
    "ultrafast", "superfast", "veryfast", "faster",   "fast",
    "medium",	 "slow",      "slower",	  "veryslow", NULL};
static const char *const tune_names[] = {
    "none", "film", "animation",  "grain",	 "stillimage",
    "psnr", "ssim", "fastdecode", "zerolatency", NULL};
static const char *const profile_names[] = {"baseline", "main", "high", NULL};
static const char *const level_names[] = {"auto", "3", "3.1", "3.2", "4", "4.1",
					  "4.2",  "5", "5.1", "5.2", NULL};
static const int level_idc[] = {0, 30, 31, 32, 40, 41, 42, 50, 51, 52};

#define CFG struct x264_config
static const struct vpipe_param x264_params[] = {
    VPIPE_P_INT("bitrate", CFG, bitrate, "1000", 16, 100000,
		"target bit rate in kbit/s (cbr, vbr)"),
    VPIPE_P_ENUM("rate-control", CFG, rate_control, "vbr", rc_names,
		 "cbr: constant, filler-padded; vbr: average bitrate, "
		 "peaks up to 2x; crf: constant quality"),
    VPIPE_P_DOUBLE("crf", CFG, crf, "23", 0, 51,
		   "quality for rate-control = crf (lower is better)"),
    VPIPE_P_STRING("keyint", CFG, keyint, "2s", 0,
		   "key-frame interval: frames (\"60\") or a duration "
		   "(\"2s\", \"500ms\") at the input frame rate"),
    VPIPE_P_INT("bframes", CFG, bframes, "0", 0, 16,
		"B-frames between references (0 keeps pts == dts)"),
    VPIPE_P_ENUM("preset", CFG, preset, "veryfast", preset_names,
		 "x264 speed/quality preset"),
    VPIPE_P_ENUM("tune", CFG, tune, "zerolatency", tune_names,
		 "x264 tuning (zerolatency: no frame delay)"),
    VPIPE_P_ENUM("profile", CFG, profile, "main", profile_names,
		 "H.264 profile"),
    VPIPE_P_ENUM("level", CFG, level, "auto", level_names,
		 "H.264 level (auto: x264 picks from size and rate)"),
    VPIPE_P_INT("threads", CFG, threads, "0", 0, 64,
		"encoder threads (0: one per core)"),
    VPIPE_P_END,
};
#undef CFG

struct x264_node {
	struct vpipe_node *node;
	struct x264enc_settings settings;
	struct x264enc *enc;
	bool force_key;	   /* a key frame was asked for */
	int64_t next_pts;  /* for input without timestamps */
	uint64_t pictures; /* pictures given to the encoder */
};

static int x264_create(struct vpipe_node *node, const void *config,
		       void **state)
{
	const struct x264_config *c = config;
	struct x264enc_settings s = {0};
	x264_param_t probe;
	char err[256];

	if (keyint_parse(c->keyint, &s.keyint, err, sizeof(err)) < 0) {
		vpipe_error(node, "%s", err);
		return -1;
	}
	s.rc = c->rate_control;
	s.bitrate_kbps = (int)c->bitrate;
	s.crf = c->crf;
	s.bframes = (int)c->bframes;
	s.preset = preset_names[c->preset];
	s.tune = c->tune == 0 ? NULL : tune_names[c->tune];
	s.profile = profile_names[c->profile];
	s.level_idc = level_idc[c->level];
	s.threads = (int)c->threads;
	if (s.bframes > 0 && strcmp(s.profile, "baseline") == 0) {
		vpipe_error(node,
			    "bframes = %d needs profile main or high "
			    "(baseline has no B-frames)",
			    s.bframes);
		return -1;
	}
	if (x264_param_default_preset(&probe, s.preset, s.tune) < 0) {
		vpipe_error(node, "x264 refuses preset %s with tune %s",
			    s.preset, s.tune ? s.tune : "none");
		return -1;
	}

	struct x264_node *x = calloc(1, sizeof(*x));
	if (!x)
		return -1;
	x->node = node;
	x->settings = s;
	vpipe_node_set_output_media(node, 0, VPIPE_MEDIA_H264);
	struct vpipe_format in;
	if (vpipe_node_input_format(node, 0, NULL, &in) == 0) {
		struct vpipe_format out = {.fourcc = VPIPE_FOURCC_H264,
					   .width = in.width,
					   .height = in.height,
					   .fps_num = in.fps_num,
					   .fps_den = in.fps_den};
		vpipe_node_set_output_format(node, 0, &out);
	}
	/* An IDR is the largest picture: about half a second of the rate. */
	size_t frame_bytes = (size_t)c->bitrate * 1000 / 8 / 2;
	if (frame_bytes < 64 * 1024)
		frame_bytes = 64 * 1024;
	vpipe_node_set_pool(node, 16, frame_bytes);
	*state = x;
	return 0;
}

/* Turn one encoded access unit into a frame carrying its input's metadata. */
static int emit(struct x264_node *x, const struct x264enc_au *au)
{
	struct vpipe_frame *in = au->opaque;
	struct vpipe_frame *f = vpipe_frame_alloc(x->node, au->size);

	if (!f) {
		vpipe_frame_unref(in);
		return 0; /* stopping */
	}
	memcpy(f->data, au->data, au->size);
	f->size = au->size;
	f->media = VPIPE_MEDIA_H264;
	f->flags = (au->key ? VPIPE_FLAG_KEY : 0) |
		   (au->has_sps ? VPIPE_FLAG_CODEC_CONFIG : 0) |
		   (in->flags & VPIPE_FLAG_DISCONTINUITY);
	f->pts = au->pts;
	f->dts = au->dts;
	f->duration = in->duration;
	f->wallclock = in->wallclock;
	memset(&f->fmt, 0, sizeof(f->fmt));
	f->fmt.fourcc = VPIPE_FOURCC_H264;
	f->fmt.width = in->fmt.width;
	f->fmt.height = in->fmt.height;
	f->fmt.fps_num = in->fmt.fps_num;
	f->fmt.fps_den = in->fmt.fps_den;
	vpipe_frame_copy_tags(f, in);
	vpipe_frame_unref(in);
	if (au->key)
		vpipe_node_count(x->node, "keyframes_total", 1);
	vpipe_node_count(x->node, "output_bytes_total", (int64_t)au->size);
	vpipe_push(x->node, 0, f);
	return 0;
}

/* End of an encoder: push (or, when stopping, drop) what it still holds. */
static int close_encoder(struct x264_node *x, bool push)
{
	struct x264enc_au au;
	int r, rc = 0;

	if (!x->enc)
		return 0;
	while ((r = x264enc_drain(x->enc, &au)) > 0) {
		if (push)
			emit(x, &au);
		else
			vpipe_frame_unref(au.opaque);
	}
	if (r < 0) {
		vpipe_error(x->node,
			    "x264 failed while draining %d delayed "
			    "pictures",
			    x264enc_delayed(x->enc));
		rc = -1;
	}
	x264enc_close(x->enc);
	x->enc = NULL;
	return rc;
}

static int open_encoder(struct x264_node *x, const struct vpipe_format *fmt)
{
	char err[256];

	x->enc = x264enc_open(&x->settings, fmt, err, sizeof(err));
	if (!x->enc) {
		vpipe_error(x->node, "%s", err);
		return -1;
	}
	vpipe_info(
	    x->node,
	    "encoding %s %ux%u at %u/%u fps, key frame every "
	    "%d frames",
	    vpipe_fourcc_name(fmt->fourcc), fmt->width, fmt->height,
	    fmt->fps_num, fmt->fps_den,
	    keyint_frames(&x->settings.keyint, fmt->fps_num, fmt->fps_den));
	/* A new stream starts with an IDR anyway; say so for the muxer. */
	x->force_key = true;
	return 0;
}

/* When upstream declared its format (testsrc, libcamera), the encoder
 * opens now: a format it cannot take fails start(), before any frame. */
static int x264_start(void *state)
{
	struct x264_node *x = state;
	struct vpipe_format fmt;

	if (x->enc || vpipe_node_input_format(x->node, 0, NULL, &fmt) < 0)
		return 0;
	if (yuv_complete_layout(&fmt) < 0) {
		vpipe_error(x->node,
			    "the input is %s (declared upstream): x264 takes "
			    "i420, nv12 or yuyv",
			    vpipe_fourcc_name(fmt.fourcc));
		return -1;
	}
	return open_encoder(x, &fmt);
}

static int64_t picture_pts(struct x264_node *x, const struct vpipe_frame *in)
{
	int64_t pts = in->pts;

	if (pts == VPIPE_TIME_NONE) {
		int64_t step = in->duration > 0 ? in->duration : VPIPE_S / 30;

		if (in->fmt.fps_num && in->fmt.fps_den)
			step = VPIPE_S * in->fmt.fps_den / in->fmt.fps_num;
		pts = x->next_pts;
		x->next_pts += step;
	} else {
		x->next_pts = pts + (in->duration > 0 ? in->duration : 1);
	}
	return pts;
}

/* The input's plane layout, completed and checked against its size. */
static int check_input(struct x264_node *x, const struct vpipe_frame *in,
		       struct vpipe_format *fmt)
{
	char err[256];

	if (yuv_validate_frame(fmt, in->size, err, sizeof(err)) == 0)
		return 0;
	vpipe_error(x->node, "input frame %llu: %s",
		    (unsigned long long)in->seq, err);
	return -1;
}

static int x264_process(void *state, unsigned port,
			const struct vpipe_frame *in)
{
	struct x264_node *x = state;
	struct vpipe_format fmt = in->fmt;
	struct x264enc_au au;
	int r;

	(void)port;
	if (in->media == VPIPE_MEDIA_EVENT) {
		/* After lost pictures, restart the stream with a key frame. */
		if (in->event == VPIPE_EVENT_DISCONTINUITY)
			x->force_key = true;
		return 0;
	}
	if (check_input(x, in, &fmt) < 0)
		return -1;
	if (x->enc && !x264enc_same_input(x->enc, &fmt)) {
		vpipe_info(x->node, "input changed to %s %ux%u: new encoder",
			   vpipe_fourcc_name(fmt.fourcc), fmt.width,
			   fmt.height);
		if (close_encoder(x, true) < 0)
			return -1;
	}
	if (!x->enc && open_encoder(x, &fmt) < 0)
		return -1;

	struct vpipe_frame *held = vpipe_frame_ref((struct vpipe_frame *)in);
	r = x264enc_encode(x->enc, &fmt, in->data, picture_pts(x, in),
			   x->force_key, held, &au);
	if (r < 0) {
		vpipe_frame_unref(held);
		vpipe_error(x->node,
			    "x264_encoder_encode failed on input "
			    "frame %llu (pts %lld ns)",
			    (unsigned long long)in->seq, (long long)in->pts);
		return -1;
	}
	x->force_key = false;
	x->pictures++;
	return r > 0 ? emit(x, &au) : 0;
}

static int x264_flush(void *state)
{
	return close_encoder(state, true);
}

static int x264_upstream_event(void *state, unsigned event)
{
	struct x264_node *x = state;

	if (event != VPIPE_UPSTREAM_KEYFRAME_REQUEST)
		return 0;
	x->force_key = true;
	vpipe_node_count(x->node, "keyframe_requests_total", 1);
	return 1;
}

static void x264_stop(void *state)
{
	close_encoder(state, false);
}

static void x264_destroy(void *state)
{
	struct x264_node *x = state;

	if (x)
		close_encoder(x, false);
	free(x);
}

static const struct vpipe_port x264_inputs[] = {
    {.name = "in", .media = VPIPE_MEDIA_RAW_VIDEO | VPIPE_MEDIA_EVENT},
    {.name = NULL},
};
static const struct vpipe_port x264_outputs[] = {
    {.name = "out", .media = VPIPE_MEDIA_H264},
    {.name = NULL},
};

VPIPE_MODULE = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "x264",
    .version = "1.0",
    .summary = "H.264 software encoder (libx264): raw video to access units",
    .inputs = x264_inputs,
    .outputs = x264_outputs,
    .params = x264_params,
    .config_size = sizeof(struct x264_config),
    .create = x264_create,
    .start = x264_start,
    .process = x264_process,
    .flush = x264_flush,
    .upstream_event = x264_upstream_event,
    .stop = x264_stop,
    .destroy = x264_destroy,
};
