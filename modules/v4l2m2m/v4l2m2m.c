/* v4l2m2m: H.264 through a V4L2 memory-to-memory encoder (the Raspberry
 * Pi's /dev/video11): raw pictures on the OUTPUT queue, access units from
 * the CAPTURE queue, timestamps carried through by the driver
 * (V4L2_BUF_FLAG_TIMESTAMP_COPY) and matched back to each frame's metadata. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/videodev2.h>

#include "h264.h"
#include "m2m.h"
#include "v4l2util.h"
#include "yuv.h"

static const char *const rc_names[] = {"vbr", "cbr", NULL};
static const char *const profile_names[] = {"baseline", "constrained-baseline",
					    "main", "high", NULL};
static const char *const level_names[] = {"auto", "3",	 "3.1", "4",
					  "4.1",  "4.2", NULL};

#define CFG struct m2m_config
static const struct vpipe_param params[] = {
    VPIPE_P_PATH("device", CFG, device, "/dev/video11", 0,
		 "the encoder's device node (Raspberry Pi 4: /dev/video11)"),
    VPIPE_P_INT("bitrate", CFG, bitrate, "1000", 25, 25000,
		"target bitrate in kbit/s (V4L2_CID_MPEG_VIDEO_BITRATE)"),
    VPIPE_P_ENUM("rate-control", CFG, rate_control, "vbr", rc_names,
		 "bitrate mode: vbr or cbr"),
    VPIPE_P_STRING("keyint", CFG, keyint, "2s", 0,
		   "key-frame interval: frames (60) or a duration (2s) at "
		   "the input's frame rate (H264 I-frame period)"),
    VPIPE_P_ENUM("profile", CFG, profile, "main", profile_names,
		 "H.264 profile"),
    VPIPE_P_ENUM("level", CFG, level, "auto", level_names,
		 "H.264 level (auto: the device's)"),
    VPIPE_P_BOOL("inline-headers", CFG, inline_headers, "true",
		 "SPS/PPS before every key frame (repeat sequence header)"),
    VPIPE_P_INT("output-buffers", CFG, output_buffers, "4", 1, M2M_MAX_BUFFERS,
		"raw picture buffers (OUTPUT queue)"),
    VPIPE_P_INT("capture-buffers", CFG, capture_buffers, "4", 1,
		M2M_MAX_BUFFERS, "H.264 buffers (CAPTURE queue)"),
    VPIPE_P_SIZE("capture-size", CFG, capture_size, "0", 0, 64 << 20,
		 "bytes per H.264 buffer (0: the driver's choice)"),
    VPIPE_P_DURATION("timeout", CFG, timeout, "2s", 0.01, 600, VPIPE_S,
		     "no progress from the encoder for this long is an "
		     "error"),
    VPIPE_P_ENUM("input-memory", CFG, input_memory, "auto", m2m_memory_names,
		 "auto: import the input's DMABUF (a v4l2 camera's buffer) "
		 "when its layout is the encoder's, else copy; mmap: always "
		 "copy; dmabuf: import or fail"),
    VPIPE_P_END,
};
#undef CFG

#define MAX_INFLIGHT (2 * M2M_MAX_BUFFERS)

struct inflight {
	int64_t key_us;		  /* the timestamp handed to the driver */
	struct vpipe_frame *meta; /* the input frame: pts, tags, flags */
};

struct m2m {
	struct vpipe_node *node;
	const struct m2m_config *cfg;
	struct m2m_dev d;
	struct inflight fl[MAX_INFLIGHT];
	unsigned ninflight;
	int64_t last_key;
	uint8_t hdr[1024];
	size_t hdr_len;
	bool discont_next, key_pending, eos_seen;
	bool no_import; /* a picture could not be imported: copy from now on */
};

#define OUT_TYPE V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE
#define CAP_TYPE V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE

static int m2m_create(struct vpipe_node *node, const void *config, void **state)
{
	const struct m2m_config *cfg = config;
	struct keyint k;
	char err[160];
	if (keyint_parse(cfg->keyint, &k, err, sizeof(err)) < 0) {
		vpipe_error(node, "keyint: %s", err);
		return -1;
	}
	struct m2m *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->node = node;
	s->cfg = cfg;
	s->d.fd = -1;
	vpipe_node_set_output_media(node, 0, VPIPE_MEDIA_H264);
	vpipe_node_set_pool(node, (unsigned)cfg->capture_buffers + 4,
			    cfg->capture_size ? (size_t)cfg->capture_size
					      : 256 * 1024);
	*state = s;
	return 0;
}

static int m2m_start(void *state)
{
	struct m2m *s = state;
	if (m2m_open(&s->d, s->node, s->cfg) < 0)
		return -1;
	vpipe_info(s->node, "%s: %s (driver %s)%s", s->cfg->device, s->d.card,
		   s->d.driver,
		   s->d.has_force_key ? "" : "; no force-key-frame control");
	return 0;
}

static void force_key(struct m2m *s)
{
	if (!s->d.streaming || !s->d.has_force_key) {
		s->key_pending = true;
		return;
	}
	int rc = v4l2u_ctrl_set(s->d.fd, V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, 1,
				NULL, NULL);
	if (rc)
		vpipe_warn(s->node, "%s: force key frame: %s", s->cfg->device,
			   strerror(-rc));
	s->key_pending = false;
}

static void keep_headers(struct m2m *s, const uint8_t *p, size_t len)
{
	size_t pos = 0, out = 0;
	struct h264_nal n;
	while (h264_next_nal(p, len, &pos, &n, NULL) == 1) {
		if (n.type != H264_NAL_SPS && n.type != H264_NAL_PPS)
			continue;
		if (out + 4 + n.size > sizeof(s->hdr))
			return;
		static const uint8_t sc[4] = {0, 0, 0, 1};
		memcpy(s->hdr + out, sc, 4);
		memcpy(s->hdr + out + 4, p + n.offset, n.size);
		out += 4 + n.size;
	}
	if (out)
		s->hdr_len = out;
}

static struct vpipe_frame *take_meta(struct m2m *s, int64_t key_us)
{
	for (unsigned i = 0; i < s->ninflight; i++) {
		if (s->fl[i].key_us != key_us)
			continue;
		struct vpipe_frame *m = s->fl[i].meta;
		s->fl[i] = s->fl[--s->ninflight];
		return m;
	}
	return NULL;
}

static void emit(struct m2m *s, const uint8_t *p, size_t len, int64_t key_us,
		 uint32_t vflags)
{
	struct h264_au_info info;
	char err[128];
	struct vpipe_frame *meta = take_meta(s, key_us);
	if (h264_au_info(p, len, &info, err, sizeof(err)) < 0) {
		vpipe_warn(s->node, "%s: dropping a bad access unit: %s",
			   s->cfg->device, err);
		vpipe_node_count(s->node, "bad_frames_total", 1);
		goto out;
	}
	keep_headers(s, p, len);
	bool key = info.key || (vflags & V4L2_BUF_FLAG_KEYFRAME);
	bool prepend = key && !(info.has_sps && info.has_pps) && s->hdr_len;
	size_t size = len + (prepend ? s->hdr_len : 0);
	struct vpipe_frame *f = vpipe_frame_alloc(s->node, size);
	if (!f)
		goto out; /* stopping */
	if (prepend)
		memcpy(f->data, s->hdr, s->hdr_len);
	memcpy(f->data + (prepend ? s->hdr_len : 0), p, len);
	if (meta) {
		vpipe_frame_copy_meta(f, meta);
		vpipe_frame_copy_tags(f, meta);
	} else {
		f->pts = f->dts = key_us * 1000;
		f->wallclock = vpipe_clock_to_wall(f->pts);
	}
	f->media = VPIPE_MEDIA_H264;
	f->flags = (key ? VPIPE_FLAG_KEY : 0) |
		   ((prepend || (info.has_sps && info.has_pps))
			? VPIPE_FLAG_CODEC_CONFIG
			: 0);
	if (s->discont_next)
		f->flags |= VPIPE_FLAG_DISCONTINUITY;
	s->discont_next = false;
	memset(&f->fmt, 0, sizeof(f->fmt));
	f->fmt.fourcc = VPIPE_FOURCC_H264;
	f->fmt.width = s->d.in.width;
	f->fmt.height = s->d.in.height;
	f->fmt.fps_num = s->d.in.fps_num;
	f->fmt.fps_den = s->d.in.fps_den;
	vpipe_node_count(s->node, "frames_total", 1);
	if (key)
		vpipe_node_count(s->node, "keyframes_total", 1);
	vpipe_push(s->node, 0, f);
out:
	if (meta)
		vpipe_frame_unref(meta);
}

static int requeue_capture(struct m2m *s, uint32_t index)
{
	struct v4l2_plane pl = {.length = (uint32_t)s->d.cap[index].length};
	struct v4l2_buffer b = {.type = CAP_TYPE,
				.memory = V4L2_MEMORY_MMAP,
				.index = index,
				.length = 1,
				.m.planes = &pl};
	return v4l2u_ioctl(s->d.fd, VIDIOC_QBUF, &b);
}

/* Everything the encoder has finished: H.264 out, OUTPUT buffers back,
 * events. Returns 1 if anything happened, 0 if not, -1 on a driver error. */
static int collect(struct m2m *s)
{
	int progress = 0;
	for (;;) {
		struct v4l2_plane pl;
		struct v4l2_buffer b = {.type = CAP_TYPE,
					.memory = V4L2_MEMORY_MMAP,
					.length = 1,
					.m.planes = &pl};
		memset(&pl, 0, sizeof(pl));
		int rc = v4l2u_ioctl(s->d.fd, VIDIOC_DQBUF, &b);
		if (rc == -EAGAIN)
			break;
		if (rc == -EPIPE) { /* after the LAST buffer */
			s->eos_seen = true;
			break;
		}
		if (rc || b.index >= s->d.ncap) {
			vpipe_error(s->node, "%s: VIDIOC_DQBUF CAPTURE: %s",
				    s->cfg->device,
				    rc ? strerror(-rc) : "index out of range");
			return -1;
		}
		progress = 1;
		size_t used = pl.bytesused < s->d.cap[b.index].length
				  ? pl.bytesused
				  : s->d.cap[b.index].length;
		const uint8_t *p = s->d.cap[b.index].mem + pl.data_offset;
		used = used > pl.data_offset ? used - pl.data_offset : 0;
		int64_t key_us =
		    (int64_t)b.timestamp.tv_sec * 1000000 + b.timestamp.tv_usec;
		if (b.flags & V4L2_BUF_FLAG_ERROR)
			vpipe_node_count(s->node, "bad_frames_total", 1);
		else if (used && h264_headers_only(p, used))
			keep_headers(s, p, used); /* bcm2835: headers alone */
		else if (used)
			emit(s, p, used, key_us, b.flags);
		if (b.flags & V4L2_BUF_FLAG_LAST)
			s->eos_seen = true;
		rc = requeue_capture(s, b.index);
		if (rc && !s->eos_seen) {
			vpipe_error(s->node, "%s: VIDIOC_QBUF CAPTURE: %s",
				    s->cfg->device, strerror(-rc));
			return -1;
		}
	}
	for (;;) {
		struct v4l2_plane pl;
		struct v4l2_buffer b = {.type = OUT_TYPE,
					.memory = s->d.out_dmabuf
						      ? V4L2_MEMORY_DMABUF
						      : V4L2_MEMORY_MMAP,
					.length = 1,
					.m.planes = &pl};
		if (v4l2u_ioctl(s->d.fd, VIDIOC_DQBUF, &b) ||
		    b.index >= s->d.nout)
			break;
		s->d.out_free[b.index] = true;
		if (s->d.out_frame[b.index]) { /* the encoder is done reading */
			vpipe_frame_unref(s->d.out_frame[b.index]);
			s->d.out_frame[b.index] = NULL;
		}
		progress = 1;
	}
	for (;;) {
		struct v4l2_event e;
		if (v4l2u_ioctl(s->d.fd, VIDIOC_DQEVENT, &e))
			break;
		progress = 1;
		if (e.type == V4L2_EVENT_EOS)
			s->eos_seen = true;
		else if (e.type == V4L2_EVENT_SOURCE_CHANGE)
			vpipe_info(s->node,
				   "%s: source change event (changes "
				   "0x%x)",
				   s->cfg->device, e.u.src_change.changes);
	}
	return progress;
}

/* Wait for the encoder: -1 error or stop, 0 timeout, 1 something done. */
static int wait_device(struct m2m *s, short events, int64_t timeout)
{
	int r = vpipe_node_wait_fd(s->node, s->d.fd, events | POLLPRI, timeout);
	if (r < 0)
		return -1;
	int c = collect(s);
	if (c < 0)
		return -1;
	return c || r ? 1 : 0;
}

static void drop_inflight(struct m2m *s)
{
	for (unsigned i = 0; i < s->ninflight; i++)
		vpipe_frame_unref(s->fl[i].meta);
	s->ninflight = 0;
}

/* End of the current configuration: drain the encoder (ENC_CMD_STOP and
 * wait for the LAST buffer or the EOS event), then stop the queues. */
static int drain(struct m2m *s)
{
	if (!s->d.streaming)
		return 0;
	int64_t deadline = vpipe_now() + s->cfg->timeout;
	struct v4l2_encoder_cmd cmd = {.cmd = V4L2_ENC_CMD_STOP};
	bool stopped = s->d.has_enc_cmd &&
		       v4l2u_ioctl(s->d.fd, VIDIOC_ENCODER_CMD, &cmd) == 0;
	s->eos_seen = false;
	while (stopped ? !s->eos_seen : s->ninflight > 0) {
		int64_t left = deadline - vpipe_now();
		if (left <= 0) {
			vpipe_warn(s->node,
				   "%s: encoder did not drain in %lld "
				   "ms; %u frames lost",
				   s->cfg->device,
				   (long long)(s->cfg->timeout / 1000000),
				   s->ninflight);
			break;
		}
		if (wait_device(s, POLLIN, left) < 0)
			break;
	}
	drop_inflight(s);
	m2m_unconfigure(&s->d);
	return 0;
}

static int reconfigure(struct m2m *s, const struct m2m_input *in,
		       const struct vpipe_frame *first,
		       const struct vpipe_format *fmt, const char *why)
{
	if (s->d.streaming) {
		vpipe_info(s->node, "%s: %s: reconfiguring the encoder",
			   s->cfg->device, why);
		drain(s);
		s->discont_next = true;
	}
	if (m2m_configure(&s->d, s->node, s->cfg, in, first, fmt,
			  s->no_import) < 0)
		return -1;
	char a[8], b[8];
	vpipe_info(s->node,
		   "%s: %s %ux%u (as %s%s) -> H.264, %lld kbit/s %s, "
		   "key frame every %d frames",
		   s->cfg->device, v4l2u_fourcc_str(in->fourcc, a), in->width,
		   in->height, v4l2u_fourcc_str(s->d.dev_fourcc, b),
		   s->d.out_dmabuf ? ", DMABUF imported" : "",
		   (long long)s->cfg->bitrate, rc_names[s->cfg->rate_control],
		   s->d.keyint_frames);
	s->hdr_len = 0;
	s->eos_seen = false;
	if (s->key_pending)
		force_key(s);
	return 0;
}

/* A free OUTPUT buffer, preferring the one that last carried DMABUF `fd`
 * (drivers keep an imported buffer attached to its index). */
static int free_output(struct m2m *s, int fd)
{
	int64_t deadline = vpipe_now() + s->cfg->timeout;
	for (;;) {
		int any = -1;
		for (unsigned i = 0; i < s->d.nout; i++) {
			if (!s->d.out_free[i] || s->ninflight >= MAX_INFLIGHT)
				continue;
			if (!s->d.out_dmabuf || s->d.out_last_fd[i] == fd)
				return (int)i;
			if (any < 0)
				any = (int)i;
		}
		if (any >= 0)
			return any;
		int64_t left = deadline - vpipe_now();
		if (left <= 0) {
			vpipe_error(s->node,
				    "%s: no OUTPUT buffer came back "
				    "in %lld ms: the encoder is stuck",
				    s->cfg->device,
				    (long long)(s->cfg->timeout / 1000000));
			return -1;
		}
		if (wait_device(s, POLLIN | POLLOUT, left) < 0)
			return -1;
	}
}

static int queue_picture(struct m2m *s, unsigned i,
			 const struct vpipe_frame *in,
			 const struct vpipe_format *fmt, int fd,
			 size_t dmabuf_size)
{
	if (!s->d.out_dmabuf && m2m_fill(&s->d, i, fmt, in->data) < 0) {
		vpipe_error(s->node,
			    "%s: frame %llu does not fit OUTPUT buffer "
			    "%u (%zu bytes)",
			    s->cfg->device, (unsigned long long)in->seq, i,
			    s->d.out[i].length);
		return -1;
	}
	/* Timestamps come back on the CAPTURE buffer: make them unique. */
	int64_t key = in->pts != VPIPE_TIME_NONE ? in->pts / 1000 : 0;
	if (key <= s->last_key)
		key = s->last_key + 1;
	s->last_key = key;
	struct v4l2_plane pl = {.bytesused = s->d.sizeimage,
				.length = (uint32_t)s->d.out[i].length};
	struct v4l2_buffer b = {.type = OUT_TYPE,
				.memory = V4L2_MEMORY_MMAP,
				.index = i,
				.length = 1,
				.m.planes = &pl,
				.field = V4L2_FIELD_NONE};
	if (s->d.out_dmabuf) {
		b.memory = V4L2_MEMORY_DMABUF;
		pl.m.fd = fd;
		pl.length = (uint32_t)dmabuf_size;
	}
	b.timestamp.tv_sec = key / 1000000;
	b.timestamp.tv_usec = key % 1000000;
	int rc = v4l2u_ioctl(s->d.fd, VIDIOC_QBUF, &b);
	if (rc) {
		vpipe_error(s->node, "%s: VIDIOC_QBUF OUTPUT %u: %s",
			    s->cfg->device, i, strerror(-rc));
		return -1;
	}
	s->d.out_free[i] = false;
	if (s->d.out_dmabuf) { /* the fd stays valid while we hold the frame */
		s->d.out_frame[i] = vpipe_frame_ref(in);
		s->d.out_last_fd[i] = fd;
		vpipe_node_count(s->node, "dmabuf_frames_total", 1);
	} else {
		vpipe_node_count(s->node, "copied_frames_total", 1);
	}
	s->fl[s->ninflight].key_us = key;
	s->fl[s->ninflight].meta = vpipe_frame_ref((struct vpipe_frame *)in);
	s->ninflight++;
	return 0;
}

/* OUTPUT imports DMABUF: the fd of this picture, or (a picture that cannot
 * be imported, say from a camera reopened at another stride) the encoder
 * goes over to copies for good. */
static int import_or_copy(struct m2m *s, const struct vpipe_frame *in,
			  const struct vpipe_format *fmt, int *fd, size_t *size)
{
	char why[200];
	uint32_t offset = 0;
	*fd = vpipe_frame_dmabuf(in, &offset);
	if (m2m_import_check(&s->d, fmt, *fd, offset, size, why, sizeof(why)) ==
	    0)
		return 0;
	if (s->cfg->input_memory == M2M_MEM_DMABUF) {
		vpipe_error(s->node, "%s: frame %llu cannot be imported: %s",
			    s->cfg->device, (unsigned long long)in->seq, why);
		return -1;
	}
	char msg[240];
	snprintf(msg, sizeof(msg), "frame %llu cannot be imported (%s)",
		 (unsigned long long)in->seq, why);
	s->no_import = true;
	struct m2m_input cur = s->d.in;
	*fd = -1;
	return reconfigure(s, &cur, in, fmt, msg);
}

static int m2m_process(void *state, unsigned port, const struct vpipe_frame *in)
{
	struct m2m *s = state;
	(void)port;
	if (in->media != VPIPE_MEDIA_RAW_VIDEO)
		return 0;
	struct vpipe_format fmt = in->fmt;
	char err[160];
	if (yuv_complete_layout(&fmt) < 0 ||
	    yuv_check_layout(&fmt, in->size, err, sizeof(err)) < 0) {
		vpipe_error(s->node, "frame %llu: %s",
			    (unsigned long long)in->seq,
			    fmt.num_planes ? err : "not I420, NV12 or YUYV");
		return -1;
	}
	struct m2m_input want = {fmt.fourcc, fmt.width, fmt.height, fmt.fps_num,
				 fmt.fps_den};
	if (!s->d.streaming || want.fourcc != s->d.in.fourcc ||
	    want.width != s->d.in.width || want.height != s->d.in.height) {
		char why[64];
		snprintf(why, sizeof(why), "input changed to %ux%u", want.width,
			 want.height);
		if (reconfigure(s, &want, in, &fmt, why) < 0)
			return -1;
	}
	int fd = -1;
	size_t dmabuf_size = 0;
	if (s->d.out_dmabuf &&
	    import_or_copy(s, in, &fmt, &fd, &dmabuf_size) < 0)
		return -1;
	if (in->flags & VPIPE_FLAG_DISCONTINUITY) {
		s->discont_next = true;
		force_key(s); /* downstream restarts at a key frame */
	}
	int i = free_output(s, fd);
	if (i < 0)
		return vpipe_node_stopping(s->node) ? 0 : -1;
	if (queue_picture(s, (unsigned)i, in, &fmt, fd, dmabuf_size) < 0)
		return -1;
	/* Hand the access unit on now if the encoder is quick (hardware
	 * encoders are): wait at most a frame interval, never block. */
	int64_t frame_ns =
	    fmt.fps_num ? (int64_t)1e9 * fmt.fps_den / fmt.fps_num : 33333333;
	int64_t deadline =
	    vpipe_now() + (frame_ns < 50000000 ? frame_ns : 50000000);
	while (s->ninflight > 0) {
		int64_t left = deadline - vpipe_now();
		if (left <= 0 || wait_device(s, POLLIN, left) <= 0)
			break;
	}
	return 0;
}

static int m2m_flush(void *state)
{
	struct m2m *s = state;
	return drain(s);
}

static int m2m_upstream_event(void *state, unsigned event)
{
	struct m2m *s = state;
	if (event != VPIPE_UPSTREAM_KEYFRAME_REQUEST)
		return 0;
	vpipe_node_count(s->node, "keyframe_requests_total", 1);
	force_key(s);
	return 1;
}

static void m2m_stop(void *state)
{
	struct m2m *s = state;
	drop_inflight(s);
	m2m_close(&s->d);
}

static void m2m_destroy(void *state)
{
	free(state);
}

static const struct vpipe_port inputs[] = {
    {.name = "sink", .media = VPIPE_MEDIA_RAW_VIDEO},
    {.name = NULL},
};
static const struct vpipe_port outputs[] = {
    {.name = "src", .media = VPIPE_MEDIA_H264},
    {.name = NULL},
};

VPIPE_MODULE = {
    .flags = VPIPE_MODULE_WAITS, /* process() may wait */
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "v4l2m2m",
    .version = "1.0",
    .summary = "H.264 through a V4L2 memory-to-memory hardware encoder "
	       "(Raspberry Pi /dev/video11)",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .config_size = sizeof(struct m2m_config),
    .create = m2m_create,
    .start = m2m_start,
    .process = m2m_process,
    .flush = m2m_flush,
    .upstream_event = m2m_upstream_event,
    .stop = m2m_stop,
    .destroy = m2m_destroy,
};
