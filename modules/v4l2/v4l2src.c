/* v4l2: capture from a V4L2 camera (raw, MJPEG or the camera's own H.264),
 * poll-driven, zero copy, reopening with the kernel's backoff when the device
 * goes away. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/videodev2.h>

#include "h264.h"
#include "v4l2src.h"
#include "v4l2util.h"

static const char *const profiles[] = {
    "device", "baseline", "constrained-baseline", "main", "high", NULL};

#define CFG struct v4l2src_config
static const struct vpipe_param params[] = {
    VPIPE_P_PATH("device", CFG, device, "/dev/video0", 0,
		 "device node or stable name (/dev/v4l/by-id/...)"),
    VPIPE_P_ENUM("format", CFG, format, "yuyv", v4l2src_formats,
		 "pixel format to capture (yuv420 = i420)"),
    VPIPE_P_INT("width", CFG, width, "640", 16, 8192, "picture width"),
    VPIPE_P_INT("height", CFG, height, "480", 16, 8192, "picture height"),
    VPIPE_P_DOUBLE("framerate", CFG, framerate, "30", 0.1, 1000,
		   "frames per second"),
    VPIPE_P_INT("buffers", CFG, buffers, "4", 2, V4L2SRC_MAX_BUFFERS,
		"MMAP buffers (frames downstream hold them)"),
    VPIPE_P_INT("bitrate", CFG, bitrate, "0", 0, 100000,
		"h264: kbit/s through V4L2_CID_MPEG_VIDEO_BITRATE "
		"(0: the device's)"),
    VPIPE_P_INT("keyint", CFG, keyint, "0", 0, 100000,
		"h264: frames between key frames (I-frame period; 0: the "
		"device's)"),
    VPIPE_P_BOOL("inline-headers", CFG, inline_headers, "true",
		 "h264: SPS/PPS before every key frame (repeat sequence "
		 "header)"),
    VPIPE_P_ENUM("profile", CFG, profile, "device", profiles, "h264: profile"),
    VPIPE_P_DURATION("frame-timeout", CFG, frame_timeout, "2s", 0.01, 3600,
		     VPIPE_S, "no frame for this long: the device is reopened"),
    VPIPE_P_RETRY(CFG, retry_delay, retry_max_delay, "100ms", "5s"),
    VPIPE_P_ENUM("export-dmabuf", CFG, export_dmabuf, "auto",
		 v4l2src_export_modes,
		 "raw: export the buffers (VIDIOC_EXPBUF) so an encoder "
		 "behind imports them without a copy; off: never"),
    VPIPE_P_END,
};
#undef CFG

struct v4l2src {
	struct vpipe_node *node;
	const struct v4l2src_config *cfg;
	struct v4l2dev dev; /* dev.fd < 0: closed, waiting to reopen */
	uint32_t fourcc, media;
	int64_t frame_ns;
	int64_t mono_offset; /* CLOCK_MONOTONIC ns - pipeline ns */
	int64_t last_frame;  /* pipeline ns of the last dequeue */
	int64_t reopen_at;
	struct vpipe_backoff backoff;
	unsigned attempts;
	bool discont;  /* flag the next frame pushed */
	bool need_key; /* H.264: drop until a key frame */
	bool have_seq;
	uint32_t last_seq;
	uint8_t hdr[1024]; /* last SPS+PPS seen (Annex-B) */
	size_t hdr_len;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The offset between the buffers' CLOCK_MONOTONIC and the pipeline clock:
 * the tightest of a few samples. */
static int64_t clock_offset(void)
{
	int64_t best = 0, best_span = INT64_MAX;
	for (int i = 0; i < 5; i++) {
		int64_t a = mono_ns(), p = vpipe_now(), b = mono_ns();
		if (b - a < best_span) {
			best_span = b - a;
			best = a + (b - a) / 2 - p;
		}
	}
	return best;
}

static int v4l2src_create(struct vpipe_node *node, const void *config,
			  void **state)
{
	const struct v4l2src_config *cfg = config;
	struct vpipe_backoff check;
	if (vpipe_backoff_init(&check, cfg->retry_delay,
			       cfg->retry_max_delay)) {
		vpipe_error(node, "retry-max-delay must not be below "
				  "retry-delay");
		return -1;
	}
	uint32_t fourcc = v4l2src_fourcc(cfg->format);
	if (fourcc != V4L2_PIX_FMT_YUYV && fourcc != V4L2_PIX_FMT_MJPEG &&
	    fourcc != V4L2_PIX_FMT_H264 &&
	    (cfg->width % 2 || cfg->height % 2)) {
		vpipe_error(node,
			    "4:2:0 formats need an even size, not "
			    "%lldx%lld",
			    (long long)cfg->width, (long long)cfg->height);
		return -1;
	}
	struct v4l2src *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->node = node;
	s->cfg = cfg;
	s->dev.fd = -1;
	s->fourcc = fourcc;
	s->media = fourcc == V4L2_PIX_FMT_H264	  ? VPIPE_MEDIA_H264
		   : fourcc == V4L2_PIX_FMT_MJPEG ? VPIPE_MEDIA_JPEG
						  : VPIPE_MEDIA_RAW_VIDEO;
	s->frame_ns = (int64_t)(1e9 / cfg->framerate + 0.5);
	vpipe_node_set_output_media(node, 0, s->media);
	/* Frames wrap device memory; the pool only holds their headers, and
	 * H.264 key frames that need the SPS/PPS put in front. */
	vpipe_node_set_pool(node, (unsigned)cfg->buffers + 4,
			    s->media == VPIPE_MEDIA_H264
				? (size_t)(cfg->width * cfg->height / 2)
				: 0);
	*state = s;
	return 0;
}

static void opened(struct v4l2src *s)
{
	s->mono_offset = clock_offset();
	s->last_frame = vpipe_now();
	s->have_seq = false;
	s->need_key = s->media == VPIPE_MEDIA_H264;
	if (s->need_key && s->dev.has_force_key)
		v4l2u_ctrl_set(s->dev.fd, V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME,
			       1, NULL, NULL);
	if (s->dev.fps_num)
		s->frame_ns = (int64_t)(1e9 * s->dev.fps_den / s->dev.fps_num);
}

static int v4l2src_start(void *state)
{
	struct v4l2src *s = state;
	if (v4l2dev_open(&s->dev, s->node, s->cfg, false) < 0)
		return -1;
	char fc[8];
	vpipe_info(
	    s->node, "%s (%s, driver %s): %s %ux%u at %g fps, %u buffers%s",
	    s->cfg->device, s->dev.card, s->dev.driver,
	    v4l2u_fourcc_str(s->fourcc, fc), s->dev.width, s->dev.height,
	    s->dev.fps_num ? (double)s->dev.fps_num / s->dev.fps_den : 0,
	    s->dev.set->count, s->dev.exported ? " exported as DMABUF" : "");
	opened(s);
	return 0;
}

/* Unplug, driver error or stall: report, close, and reopen later. */
static void device_lost(struct v4l2src *s, const char *why)
{
	vpipe_error(s->node, "%s: %s; reopening", s->cfg->device, why);
	vpipe_node_count(s->node, "device_lost_total", 1);
	v4l2dev_close(&s->dev);
	s->discont = true;
	vpipe_backoff_init(&s->backoff, s->cfg->retry_delay,
			   s->cfg->retry_max_delay);
	s->reopen_at = vpipe_now() + vpipe_backoff_next(&s->backoff);
	s->attempts = 0;
}

/* A failed ioctl on a streaming device: ENODEV (unplug), EIO (driver). */
static void ioctl_lost(struct v4l2src *s, const char *call, int rc)
{
	char why[128];
	snprintf(why, sizeof(why), "%s: %s%s", call, strerror(-rc),
		 rc == -ENODEV ? " (unplugged?)" : "");
	device_lost(s, why);
}

static int reopen_step(struct v4l2src *s)
{
	if (vpipe_node_sleep_until(s->node, s->reopen_at) < 0)
		return 0;
	s->attempts++;
	if (v4l2dev_open(&s->dev, s->node, s->cfg, true) < 0) {
		int64_t wait = vpipe_backoff_next(&s->backoff);
		s->reopen_at = vpipe_now() + wait;
		vpipe_warn(s->node,
			   "%s still unavailable after %u attempts; "
			   "next in %lld ms",
			   s->cfg->device, s->attempts,
			   (long long)(wait / 1000000));
		return 0;
	}
	vpipe_info(s->node, "%s is back after %u attempts (%s)", s->cfg->device,
		   s->attempts, s->dev.card);
	vpipe_node_count(s->node, "reopens_total", 1);
	opened(s);
	return 0;
}

static int requeue_returned(struct v4l2src *s)
{
	uint32_t idx[V4L2SRC_MAX_BUFFERS];
	unsigned n = bufset_take_returned(s->dev.set, idx);
	for (unsigned i = 0; i < n; i++) {
		int rc = v4l2dev_queue(&s->dev, idx[i]);
		if (rc) {
			ioctl_lost(s, "VIDIOC_QBUF", rc);
			return -1;
		}
	}
	return 0;
}

/* Remember the newest SPS/PPS so a key frame without them can get them. */
static void keep_headers(struct v4l2src *s, const uint8_t *au,
			 const struct h264_au_info *info)
{
	size_t len = 0;
	for (unsigned i = 0; i < info->num_nals && i < H264_AU_MAX_NALS; i++) {
		const struct h264_nal *n = &info->nals[i];
		if (n->type != H264_NAL_SPS && n->type != H264_NAL_PPS)
			continue;
		if (len + 4 + n->size > sizeof(s->hdr))
			return;
		static const uint8_t sc[4] = {0, 0, 0, 1};
		memcpy(s->hdr + len, sc, 4);
		memcpy(s->hdr + len + 4, au + n->offset, n->size);
		len += 4 + n->size;
	}
	if (len)
		s->hdr_len = len;
}

/* The frame to push for an H.264 buffer, or NULL to drop it (the buffer
 * is then re-queued by the caller). */
static struct vpipe_frame *h264_frame(struct v4l2src *s, struct bufset_buf *b,
				      uint32_t used, bool *wrapped)
{
	struct h264_au_info info;
	char err[128];
	*wrapped = false;
	if (h264_headers_only(b->mem,
			      used)) { /* bcm2835: a header-only buffer */
		struct h264_au_info hi;
		memset(&hi, 0, sizeof(hi));
		size_t pos = 0;
		struct h264_nal n;
		while (hi.num_nals < H264_AU_MAX_NALS &&
		       h264_next_nal(b->mem, used, &pos, &n, NULL) == 1)
			hi.nals[hi.num_nals++] = n;
		keep_headers(s, b->mem, &hi);
		return NULL;
	}
	if (h264_au_info(b->mem, used, &info, err, sizeof(err)) < 0) {
		/* per buffer: a failing encoder would write a line a frame */
		vpipe_log_coalesced(s->node, VPIPE_LOG_WARN,
				    "%s: dropping a bad H.264 buffer: %s",
				    s->cfg->device, err);
		vpipe_node_count(s->node, "bad_frames_total", 1);
		return NULL;
	}
	keep_headers(s, b->mem, &info);
	if (s->need_key && !info.key) {
		vpipe_node_count(s->node, "dropped_until_keyframe_total", 1);
		return NULL;
	}
	s->need_key = false;
	struct vpipe_frame *f;
	bool headers = info.has_sps && info.has_pps;
	if (info.key && !headers && s->hdr_len) {
		f = vpipe_frame_alloc(s->node, s->hdr_len + used);
		if (!f)
			return NULL;
		memcpy(f->data, s->hdr, s->hdr_len);
		memcpy(f->data + s->hdr_len, b->mem, used);
		headers = true;
	} else {
		f = vpipe_frame_wrap(s->node, b->mem, used, bufset_release, b);
		*wrapped = f != NULL;
	}
	if (!f)
		return NULL;
	f->flags = (info.key ? VPIPE_FLAG_KEY : 0) |
		   (headers ? VPIPE_FLAG_CODEC_CONFIG : 0);
	f->fmt.fourcc = VPIPE_FOURCC_H264;
	return f;
}

static struct vpipe_frame *raw_frame(struct v4l2src *s, struct bufset_buf *b,
				     uint32_t used, bool *wrapped)
{
	struct vpipe_format fmt;
	size_t need = v4l2src_raw_layout(&fmt, s->fourcc, s->dev.width,
					 s->dev.height, s->dev.bytesperline);
	*wrapped = false;
	if (used < need) {
		vpipe_warn(s->node,
			   "%s: short frame (%u of %zu bytes), dropped",
			   s->cfg->device, used, need);
		vpipe_node_count(s->node, "bad_frames_total", 1);
		return NULL;
	}
	struct vpipe_frame *f =
	    vpipe_frame_wrap(s->node, b->mem, need, bufset_release, b);
	if (!f)
		return NULL;
	*wrapped = true;
	f->fmt = fmt;
	f->flags = VPIPE_FLAG_KEY;
	if (b->dmabuf_fd >= 0) /* the fd lives as long as the set does */
		vpipe_frame_set_dmabuf(f, b->dmabuf_fd, 0);
	return f;
}

static void track_sequence(struct v4l2src *s, uint32_t seq)
{
	if (s->have_seq && seq != s->last_seq + 1) {
		uint32_t lost = seq - s->last_seq - 1;
		vpipe_node_count(s->node, "dropped_frames_total", lost);
		vpipe_debug(s->node, "%s: %u frames lost by the driver",
			    s->cfg->device, lost);
		if (s->media == VPIPE_MEDIA_H264) {
			s->need_key = true; /* references are missing */
			s->discont = true;
			if (s->dev.has_force_key)
				v4l2u_ctrl_set(
				    s->dev.fd,
				    V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, 1,
				    NULL, NULL);
		}
	}
	s->have_seq = true;
	s->last_seq = seq;
}

static int64_t buffer_pts(struct v4l2src *s, const struct v4l2_buffer *v)
{
	int64_t now = vpipe_now();
	if (!s->dev.mono_timestamps ||
	    (v->timestamp.tv_sec == 0 && v->timestamp.tv_usec == 0))
		return now;
	int64_t mono = (int64_t)v->timestamp.tv_sec * 1000000000 +
		       (int64_t)v->timestamp.tv_usec * 1000;
	int64_t pts = mono - s->mono_offset;
	return pts > now ? now : pts;
}

static int dequeue_one(struct v4l2src *s)
{
	struct v4l2_buffer v = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				.memory = V4L2_MEMORY_MMAP};
	int rc = v4l2u_ioctl(s->dev.fd, VIDIOC_DQBUF, &v);
	if (rc == -EAGAIN)
		return 0;
	if (rc) {
		ioctl_lost(s, "VIDIOC_DQBUF", rc);
		return 0;
	}
	if (v.index >= s->dev.set->count) {
		device_lost(s, "VIDIOC_DQBUF returned a buffer index out of "
			       "range");
		return 0;
	}
	s->last_frame = vpipe_now();
	track_sequence(s, v.sequence);
	struct bufset_buf *b = &s->dev.set->bufs[v.index];
	uint32_t used =
	    v.bytesused < b->length ? v.bytesused : (uint32_t)b->length;
	struct vpipe_frame *f = NULL;
	bool wrapped = false;
	if (v.flags & V4L2_BUF_FLAG_ERROR) {
		vpipe_node_count(s->node, "bad_frames_total", 1);
	} else if (s->media == VPIPE_MEDIA_H264) {
		f = h264_frame(s, b, used, &wrapped);
	} else if (s->media == VPIPE_MEDIA_JPEG) {
		f = vpipe_frame_wrap(s->node, b->mem, used, bufset_release, b);
		wrapped = f != NULL;
		if (f) {
			f->flags = VPIPE_FLAG_KEY;
			f->fmt.fourcc = VPIPE_FOURCC_MJPG;
		}
	} else {
		f = raw_frame(s, b, used, &wrapped);
	}
	if (wrapped)
		bufset_lend(s->dev.set, v.index);
	else if ((rc = v4l2dev_queue(&s->dev, v.index)) != 0) {
		if (f)
			vpipe_frame_unref(f);
		ioctl_lost(s, "VIDIOC_QBUF", rc);
		return 0;
	}
	if (!f)
		return 0;
	f->media = s->media;
	f->fmt.width = s->dev.width;
	f->fmt.height = s->dev.height;
	f->fmt.fps_num = s->dev.fps_num;
	f->fmt.fps_den = s->dev.fps_den;
	f->pts = f->dts = buffer_pts(s, &v);
	f->duration = s->frame_ns;
	f->wallclock = vpipe_clock_to_wall(f->pts);
	if (s->discont)
		f->flags |= VPIPE_FLAG_DISCONTINUITY;
	s->discont = false;
	vpipe_node_count(s->node, "frames_total", 1);
	vpipe_push(s->node, 0, f);
	return 0;
}

static int v4l2src_produce(void *state)
{
	struct v4l2src *s = state;
	if (s->dev.fd < 0)
		return reopen_step(s);
	if (requeue_returned(s) < 0)
		return 0;
	int64_t left = s->last_frame + s->cfg->frame_timeout - vpipe_now();
	if (left <= 0) {
		char why[96];
		snprintf(why, sizeof(why), "no frame for %lld ms",
			 (long long)(s->cfg->frame_timeout / 1000000));
		device_lost(s, why);
		return 0;
	}
	int r = vpipe_node_wait_fd(s->node, s->dev.fd, POLLIN, left);
	if (r < 0)
		return 0; /* stopping */
	if (requeue_returned(s) < 0)
		return 0;
	if (r & (POLLIN | POLLERR | POLLHUP)) {
		if ((r & POLLERR) && !(r & POLLIN)) {
			struct v4l2_buffer v = {.type =
						    V4L2_BUF_TYPE_VIDEO_CAPTURE,
						.memory = V4L2_MEMORY_MMAP};
			int rc = v4l2u_ioctl(s->dev.fd, VIDIOC_DQBUF, &v);
			if (rc == 0) { /* a frame after all: hand it back */
				v4l2dev_queue(&s->dev, v.index);
				return 0;
			}
			if (rc == -EAGAIN)
				device_lost(s, "poll reports an error");
			else
				ioctl_lost(s, "VIDIOC_DQBUF", rc);
			return 0;
		}
		return dequeue_one(s);
	}
	return 0;
}

static int v4l2src_upstream_event(void *state, unsigned event)
{
	struct v4l2src *s = state;
	if (event != VPIPE_UPSTREAM_KEYFRAME_REQUEST)
		return 0;
	if (s->media == VPIPE_MEDIA_H264 && s->dev.fd >= 0) {
		if (!s->dev.has_force_key) {
			vpipe_debug(s->node,
				    "%s has no force-key-frame "
				    "control",
				    s->cfg->device);
			return 1;
		}
		int rc = v4l2u_ctrl_set(s->dev.fd,
					V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, 1,
					NULL, NULL);
		if (rc)
			vpipe_warn(s->node, "%s: force key frame: %s",
				   s->cfg->device, strerror(-rc));
		else
			vpipe_node_count(s->node, "keyframe_requests_total", 1);
	}
	return 1; /* raw and JPEG frames are all key frames */
}

static void v4l2src_stop(void *state)
{
	struct v4l2src *s = state;
	if (s->dev.fd >= 0)
		v4l2dev_close(&s->dev);
}

static void v4l2src_destroy(void *state)
{
	free(state);
}

static const struct vpipe_port outputs[] = {
    {.name = "src",
     .media = VPIPE_MEDIA_RAW_VIDEO | VPIPE_MEDIA_H264 | VPIPE_MEDIA_JPEG},
    {.name = NULL},
};

VPIPE_MODULE = {
    .flags = VPIPE_MODULE_LIVE,
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "v4l2",
    .version = "1.0",
    .summary = "V4L2 camera capture (YUYV, NV12, I420, MJPEG, H.264), "
	       "zero copy, reopens after unplug",
    .outputs = outputs,
    .params = params,
    .config_size = sizeof(struct v4l2src_config),
    .create = v4l2src_create,
    .start = v4l2src_start,
    .produce = v4l2src_produce,
    .upstream_event = v4l2src_upstream_event,
    .stop = v4l2src_stop,
    .destroy = v4l2src_destroy,
};
