/* mkv: H.264 access units in, Kinesis-ready Matroska out. The muxing logic
 * is in mux.c; this file connects it to the kernel: parameters, frames,
 * logging, counters and the upstream key-frame request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vpipe/vpipe.h>

#include "h264.h"
#include "mux.h"

static const struct vpipe_param params[] = {
    VPIPE_P_DURATION("fragment-duration", struct mkv_config, fragment_duration,
		     "2s", 1, 20, VPIPE_MS,
		     "with key-frame-fragmentation off: a fragment ends at "
		     "the first key frame after this"),
    VPIPE_P_DURATION("max-fragment-duration", struct mkv_config,
		     max_fragment_duration, "10s", 1, 20, VPIPE_MS,
		     "a GOP running longer asks upstream for a key frame "
		     "and warns (KVS allows 1-20 s)"),
    VPIPE_P_DURATION("timecode-scale", struct mkv_config, timecode_scale, "1ms",
		     1e-7, 1, VPIPE_MS,
		     "Matroska TimecodeScale, 100 ns to 1 s"),
    VPIPE_P_BOOL("key-frame-fragmentation", struct mkv_config,
		 key_frame_fragmentation, "true",
		 "every key frame starts a new fragment (cluster)"),
    VPIPE_P_BOOL("absolute-fragment-times", struct mkv_config,
		 absolute_fragment_times, "true",
		 "cluster timecodes from the capture wall clock (epoch); "
		 "false: relative to the stream start"),
    VPIPE_P_STRING("track-name", struct mkv_config, track_name, "kinesis_video",
		   0, "Matroska track name (<= 32 chars)"),
    VPIPE_P_STRING("codec-id", struct mkv_config, codec_id, "", 0,
		   "Matroska CodecID: V_MPEG4/ISO/AVC (H.264) or "
		   "V_MPEGH/ISO/HEVC (H.265); empty: from the input"),
    VPIPE_P_STRING("content-type", struct mkv_config, content_type, "", 0,
		   "stream media type, passed to sinks as the header "
		   "frame's content-type tag (<= 128 chars); empty: "
		   "video/h264 or video/h265 from the input"),
    VPIPE_P_STRING("tags", struct mkv_config, tags, "", 0,
		   "name=value,... written on every fragment (persistent "
		   "fragment metadata; <= 10, no AWS* names)"),
    VPIPE_P_INT("notification-every", struct mkv_config, notification_every,
		"0", 0, 1e9,
		"tag every Nth fragment with AWS_KINESISVIDEO_NOTIFICATION "
		"(0: only when a frame carries that tag)"),
    VPIPE_P_INT("image-every", struct mkv_config, image_every, "0", 0, 1e9,
		"tag every Nth fragment with "
		"AWS_KINESISVIDEO_IMAGE_GENERATION (0: only on request)"),
    VPIPE_P_STRING("image-prefix", struct mkv_config, image_prefix, "", 0,
		   "AWS_KINESISVIDEO_IMAGE_PREFIX written with image "
		   "generation tags (<= 256 bytes)"),
    VPIPE_P_END,
};

struct mkv {
	struct vpipe_node *node;
	struct mkv_mux *mux;
	const struct mkv_config *cfg;
	struct mkv_mux_stats reported;
};

static void mux_log(void *ctx, int level, const char *msg)
{
	vpipe_log(ctx, level, "%s", msg);
}

static int mkv_create(struct vpipe_node *node, const void *config, void **state)
{
	struct mkv *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->node = node;
	s->cfg = config;
	char err[300];
	if (mkv_mux_new(config, mux_log, node, &s->mux, err, sizeof(err))) {
		vpipe_error(node, "%s", err);
		free(s);
		return -1;
	}
	vpipe_node_set_output_media(node, 0, VPIPE_MEDIA_MKV);
	/* Output frames are the input access unit plus a few dozen bytes. */
	vpipe_node_set_pool(node, 0, 256 * 1024);
	*state = s;
	return 0;
}

/* A (re)started node begins a new stream: header first, then a key frame. */
static int mkv_start(void *state)
{
	struct mkv *s = state;
	struct mkv_mux *fresh;
	char err[300];
	if (mkv_mux_new(s->cfg, mux_log, s->node, &fresh, err, sizeof(err))) {
		vpipe_error(s->node, "%s", err);
		return -1;
	}
	mkv_mux_free(s->mux);
	s->mux = fresh;
	memset(&s->reported, 0, sizeof(s->reported));
	return 0;
}

static void count_delta(struct mkv *s, const char *name, uint64_t now,
			uint64_t *before)
{
	if (now != *before)
		vpipe_node_count(s->node, name, (int64_t)(now - *before));
	*before = now;
}

static void report_stats(struct mkv *s)
{
	struct mkv_mux_stats st;
	mkv_mux_get_stats(s->mux, &st);
	count_delta(s, "dropped_frames_total", st.dropped,
		    &s->reported.dropped);
	count_delta(s, "fragments_total", st.fragments, &s->reported.fragments);
	count_delta(s, "headers_total", st.headers, &s->reported.headers);
	count_delta(s, "tags_refused_total", st.tags_refused,
		    &s->reported.tags_refused);
	count_delta(s, "keyframe_requests_total", st.keyframe_requests,
		    &s->reported.keyframe_requests);
}

static int push_header(struct mkv *s, const struct vpipe_frame *in,
		       const struct mkv_mux_output *o)
{
	struct vpipe_frame *f = vpipe_frame_alloc(s->node, o->header_len);
	if (!f)
		return -1; /* stopping */
	vpipe_frame_copy_meta(f, in);
	f->media = VPIPE_MEDIA_MKV;
	f->flags = VPIPE_FLAG_HEADER | VPIPE_FLAG_CODEC_CONFIG;
	memcpy(f->data, o->header, o->header_len);
	f->size = o->header_len;
	const char *type = s->cfg->content_type;
	if (!type || !type[0])
		type =
		    in->media == VPIPE_MEDIA_H265 ? "video/h265" : "video/h264";
	vpipe_frame_set_tag(f, "content-type", type);
	return vpipe_push(s->node, 0, f);
}

/* The muxer writes straight into the output frame's payload. */
static int frame_grow(struct ebml_buf *b, size_t need)
{
	struct vpipe_frame *f = b->opaque;
	if (vpipe_frame_reserve(f, need))
		return -1;
	b->data = f->data;
	b->cap = f->capacity;
	return 0;
}

/* Room for Tags (10 x 128 + 256 bytes and framing) and a cluster start. */
#define FRAGMENT_OVERHEAD 8192

static void push_data(struct mkv *s, const struct vpipe_frame *in,
		      struct vpipe_frame *f, const struct mkv_mux_output *o)
{
	vpipe_frame_copy_meta(f, in);
	vpipe_frame_copy_tags(f, in);
	f->media = VPIPE_MEDIA_MKV;
	f->flags = o->flags;
	f->size = o->data_len;
	vpipe_push(s->node, 0, f);
}

static int mkv_process(void *state, unsigned port, const struct vpipe_frame *in)
{
	struct mkv *s = state;
	(void)port;
	if (in->media != VPIPE_MEDIA_H264 && in->media != VPIPE_MEDIA_H265)
		return 0;
	struct mkv_mux_input mi = {
	    .data = in->data,
	    .size = in->size,
	    .hevc = in->media == VPIPE_MEDIA_H265,
	    .pts = in->pts,
	    .dts = in->dts,
	    .duration = in->duration,
	    .wallclock = in->wallclock,
	    .now_wallclock = vpipe_wallclock(),
	    .flags = in->flags,
	    .tags = in->tags,
	    .num_tags = in->num_tags,
	    .seq = in->seq,
	};
	struct vpipe_frame *f = vpipe_frame_alloc(
	    s->node, h264_avcc_bound(in->size) + FRAGMENT_OVERHEAD);
	if (!f)
		return 0; /* stopping */
	struct ebml_buf dst = {.data = f->data,
			       .cap = f->capacity,
			       .grow = frame_grow,
			       .opaque = f};
	mi.out = &dst;
	struct mkv_mux_output o;
	if (mkv_mux_frame(s->mux, &mi, &o)) {
		vpipe_frame_unref(f);
		vpipe_error(s->node,
			    "out of memory muxing frame %llu (%zu bytes)",
			    (unsigned long long)in->seq, in->size);
		return -1;
	}
	if (o.request_keyframe)
		vpipe_node_send_upstream(s->node,
					 VPIPE_UPSTREAM_KEYFRAME_REQUEST);
	if (o.header && push_header(s, in, &o)) {
		vpipe_frame_unref(f);
		return 0; /* stopping */
	}
	if (o.data_len)
		push_data(s, in, f, &o);
	else
		vpipe_frame_unref(f);
	report_stats(s);
	return 0;
}

/* End of stream: the last fragment's Tags follow its blocks. */
static int mkv_flush(void *state)
{
	struct mkv *s = state;
	struct mkv_mux_output o;
	if (mkv_mux_finish(s->mux, &o))
		return -1;
	if (!o.data_len)
		return 0;
	struct vpipe_frame *f = vpipe_frame_alloc(s->node, o.data_len);
	if (!f)
		return 0; /* stopping */
	f->media = VPIPE_MEDIA_MKV;
	f->flags = 0;
	f->pts = f->dts = f->duration = VPIPE_TIME_NONE;
	f->wallclock = vpipe_wallclock();
	memcpy(f->data, o.data, o.data_len);
	f->size = o.data_len;
	vpipe_push(s->node, 0, f);
	return 0;
}

static void mkv_destroy(void *state)
{
	struct mkv *s = state;
	mkv_mux_free(s->mux);
	free(s);
}

static const struct vpipe_port inputs[] = {
    {.name = "sink", .media = VPIPE_MEDIA_H264 | VPIPE_MEDIA_H265},
    {.name = NULL},
};
static const struct vpipe_port outputs[] = {
    {.name = "src", .media = VPIPE_MEDIA_MKV},
    {.name = NULL},
};

VPIPE_MODULE = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "mkv",
    .version = "1.0",
    .summary = "H.264 access units to Kinesis-ready Matroska "
	       "(fragments, tags, KVS event tags)",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .config_size = sizeof(struct mkv_config),
    .create = mkv_create,
    .start = mkv_start,
    .process = mkv_process,
    .flush = mkv_flush,
    .destroy = mkv_destroy,
};
