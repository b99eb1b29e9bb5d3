/* The V4L2 ioctls, answered the way a vb2-based driver answers them. Every
 * function here runs with dd_lock held unless it says otherwise. */
#include "v4l2dev.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void dd_forget_maps(struct dd_buf *b);

static const char *const bitrate_modes[] = {"Variable Bitrate",
					    "Constant Bitrate", NULL};
static const char *const h264_levels[] = {"1",	 "1b",	"1.1", "1.2", "1.3",
					  "2",	 "2.1", "2.2", "3",   "3.1",
					  "3.2", "4",	"4.1", "4.2", NULL};
/* Extended (3) is not offered: QUERYMENU answers EINVAL for it. */
static const char *const h264_profiles[] = {
    "Baseline", "Constrained Baseline", "Main", NULL, "High", NULL};

static void add_ctrl(struct dd_ctx *c, uint32_t id, uint32_t type,
		     const char *name, int32_t min, int32_t max, int32_t step,
		     int32_t def, const char *const *menu)
{
	struct dd_ctrl *k = &c->ctrls[c->nctrls++];
	*k = (struct dd_ctrl){.id = id,
			      .type = type,
			      .name = name,
			      .min = min,
			      .max = max,
			      .step = step,
			      .def = def,
			      .val = def,
			      .menu = menu};
	if (type == V4L2_CTRL_TYPE_CTRL_CLASS)
		k->flags = V4L2_CTRL_FLAG_READ_ONLY | V4L2_CTRL_FLAG_WRITE_ONLY;
	if (type == V4L2_CTRL_TYPE_BUTTON)
		k->flags =
		    V4L2_CTRL_FLAG_WRITE_ONLY | V4L2_CTRL_FLAG_EXECUTE_ON_WRITE;
}

static bool offers_h264(const struct dd_device *d)
{
	for (unsigned i = 0; i < d->nformats; i++)
		if (d->formats[i] == V4L2_PIX_FMT_H264)
			return true;
	return d->kind == DD_ENCODER;
}

static bool is_compressed(uint32_t fourcc)
{
	return fourcc == V4L2_PIX_FMT_H264 || fourcc == V4L2_PIX_FMT_MJPEG;
}

static void camera_pix(const struct dd_device *d, struct v4l2_pix_format *p)
{
	unsigned best = 0;
	bool offered = false;
	for (unsigned i = 0; i < d->nformats; i++)
		if (d->formats[i] == p->pixelformat)
			offered = true;
	if (!offered)
		p->pixelformat = d->formats[0];
	int64_t best_diff = INT64_MAX;
	for (unsigned i = 0; i < d->nsizes; i++) {
		int64_t diff = llabs((int64_t)d->sizes[i].w * d->sizes[i].h -
				     (int64_t)p->width * p->height) +
			       llabs((int64_t)d->sizes[i].w - p->width);
		if (diff < best_diff) {
			best_diff = diff;
			best = i;
		}
	}
	p->width = d->sizes[best].w;
	p->height = d->sizes[best].h;
	p->field = V4L2_FIELD_NONE;
	p->colorspace = V4L2_COLORSPACE_SRGB;
	p->ycbcr_enc = V4L2_YCBCR_ENC_601;
	p->quantization = V4L2_QUANTIZATION_LIM_RANGE;
	p->xfer_func = V4L2_XFER_FUNC_SRGB;
	p->flags = 0;
	p->priv = 0;
	switch (p->pixelformat) {
	case V4L2_PIX_FMT_YUYV:
		p->bytesperline = p->width * 2;
		p->sizeimage = p->bytesperline * p->height;
		break;
	case V4L2_PIX_FMT_NV12:
	case V4L2_PIX_FMT_YUV420:
		p->bytesperline = p->width;
		p->sizeimage = p->width * p->height * 3 / 2;
		break;
	default: /* compressed */
		p->bytesperline = 0;
		p->sizeimage = p->width * p->height + 65536;
		break;
	}
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
	return (v + a - 1) / a * a;
}

/* bcm2835-codec style: 32-byte aligned lines, 16-line aligned planes. */
static void encoder_pix(const struct dd_device *d, uint32_t type,
			struct v4l2_pix_format_mplane *p)
{
	p->width = p->width < 32 ? 32 : p->width > 1920 ? 1920 : p->width;
	p->height = p->height < 32 ? 32 : p->height > 1088 ? 1088 : p->height;
	p->width &= ~1u;
	p->height &= ~1u;
	p->field = V4L2_FIELD_NONE;
	p->num_planes = 1;
	p->colorspace = V4L2_COLORSPACE_REC709;
	memset(p->reserved, 0, sizeof(p->reserved));
	if (type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE) {
		p->pixelformat = V4L2_PIX_FMT_H264;
		p->plane_fmt[0].bytesperline = 0;
		if (p->plane_fmt[0].sizeimage < 512 * 1024)
			p->plane_fmt[0].sizeimage = 512 * 1024;
		return;
	}
	bool offered = false;
	for (unsigned i = 0; i < d->nformats; i++)
		if (d->formats[i] == p->pixelformat)
			offered = true;
	if (!offered)
		p->pixelformat = d->formats[0];
	uint32_t bpl = align_up(p->width, 32);
	p->plane_fmt[0].bytesperline = bpl;
	p->plane_fmt[0].sizeimage = bpl * align_up(p->height, 16) * 3 / 2;
}

void dd_ctx_init(struct dd_ctx *c, struct dd_device *dev)
{
	memset(c, 0, sizeof(*c));
	c->dev = dev;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	c->interval =
	    (struct v4l2_fract){1, dev->rates[0] ? dev->rates[0] : 30};
	if (dev->kind == DD_CAMERA) {
		c->cap.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		c->cap.fmt.type = c->cap.type;
		c->cap.fmt.fmt.pix.width = dev->sizes[0].w;
		c->cap.fmt.fmt.pix.height = dev->sizes[0].h;
		c->cap.fmt.fmt.pix.pixelformat = dev->formats[0];
		camera_pix(dev, &c->cap.fmt.fmt.pix);
		add_ctrl(c, V4L2_CID_USER_CLASS, V4L2_CTRL_TYPE_CTRL_CLASS,
			 "User Controls", 0, 0, 0, 0, NULL);
		add_ctrl(c, V4L2_CID_BRIGHTNESS, V4L2_CTRL_TYPE_INTEGER,
			 "Brightness", 0, 100, 1, 50, NULL);
		add_ctrl(c, V4L2_CID_CONTRAST, V4L2_CTRL_TYPE_INTEGER,
			 "Contrast", -100, 100, 1, 0, NULL);
	} else {
		c->out.type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
		c->cap.type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
		c->out.fmt.type = c->out.type;
		c->cap.fmt.type = c->cap.type;
		struct v4l2_pix_format_mplane *o = &c->out.fmt.fmt.pix_mp;
		o->width = 640;
		o->height = 480;
		o->pixelformat = dev->formats[0];
		encoder_pix(dev, c->out.type, o);
		c->cap.fmt.fmt.pix_mp.width = o->width;
		c->cap.fmt.fmt.pix_mp.height = o->height;
		encoder_pix(dev, c->cap.type, &c->cap.fmt.fmt.pix_mp);
	}
	if (offers_h264(dev)) {
		add_ctrl(c, V4L2_CID_CODEC_CLASS, V4L2_CTRL_TYPE_CTRL_CLASS,
			 "Codec Controls", 0, 0, 0, 0, NULL);
		add_ctrl(c, V4L2_CID_MPEG_VIDEO_BITRATE_MODE,
			 V4L2_CTRL_TYPE_MENU, "Video Bitrate Mode", 0, 1, 1, 0,
			 bitrate_modes);
		add_ctrl(c, V4L2_CID_MPEG_VIDEO_BITRATE, V4L2_CTRL_TYPE_INTEGER,
			 "Video Bitrate", 25000, 25000000, 25000, 10000000,
			 NULL);
		add_ctrl(c, V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER,
			 V4L2_CTRL_TYPE_BOOLEAN, "Repeat Sequence Header", 0, 1,
			 1, 0, NULL);
		add_ctrl(c, V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME,
			 V4L2_CTRL_TYPE_BUTTON, "Force Key Frame", 0, 0, 0, 0,
			 NULL);
		add_ctrl(c, V4L2_CID_MPEG_VIDEO_H264_I_PERIOD,
			 V4L2_CTRL_TYPE_INTEGER, "H264 I-Frame Period", 0,
			 2147483647, 1, 60, NULL);
		add_ctrl(c, V4L2_CID_MPEG_VIDEO_H264_LEVEL, V4L2_CTRL_TYPE_MENU,
			 "H264 Level", 0, 13, 1, 11, h264_levels);
		add_ctrl(c, V4L2_CID_MPEG_VIDEO_H264_PROFILE,
			 V4L2_CTRL_TYPE_MENU, "H264 Profile", 0, 4, 1, 4,
			 h264_profiles);
	}
}

bool dd_file_dead(const struct dd_file *f)
{
	return f->generation != f->dev->generation;
}

static struct dd_queue *queue_of(struct dd_file *f, uint32_t type)
{
	struct dd_ctx *c = f->ctx;
	if (c->cap.type == type)
		return &c->cap;
	if (c->out.type && c->out.type == type)
		return &c->out;
	return NULL;
}

static bool is_mplane(uint32_t type)
{
	return type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE ||
	       type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
}

static bool is_output(uint32_t type)
{
	return type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE ||
	       type == V4L2_BUF_TYPE_VIDEO_OUTPUT;
}

static uint32_t sizeimage_of(const struct dd_queue *q)
{
	return is_mplane(q->type) ? q->fmt.fmt.pix_mp.plane_fmt[0].sizeimage
				  : q->fmt.fmt.pix.sizeimage;
}

/* mmap offsets: a page per buffer; OUTPUT buffers live above CAPTURE's. */
static uint64_t offset_of(const struct dd_queue *q, uint32_t index)
{
	return ((uint64_t)index + (is_output(q->type) ? DD_MAX_BUFFERS : 0))
	       << 12;
}

struct dd_buf *dd_buf_by_offset(struct dd_file *f, uint64_t off)
{
	struct dd_queue *qs[2] = {&f->ctx->cap, &f->ctx->out};
	for (unsigned i = 0; i < 2; i++) {
		struct dd_queue *q = qs[i];
		if (!q->type || q->owner != f || q->memory != V4L2_MEMORY_MMAP)
			continue;
		for (unsigned j = 0; j < q->count; j++)
			if (offset_of(q, j) == off)
				return &q->bufs[j];
	}
	return NULL;
}

static void queue_free(struct dd_queue *q)
{
	for (unsigned i = 0; i < q->count; i++) {
		struct dd_buf *b = &q->bufs[i];
		dd_forget_maps(b);
		if (b->mem)
			dd_real_munmap(b->mem, b->length);
		if (b->memfd >= 0)
			close(b->memfd);
		if (b->dmabuf_fd >= 0)
			close(b->dmabuf_fd);
		memset(b, 0, sizeof(*b));
	}
	q->count = 0;
	q->nqueued = q->ndone = 0;
	q->owner = NULL;
}

static void queue_stop(struct dd_queue *q)
{
	for (unsigned i = 0; i < q->count; i++) {
		struct dd_buf *b = &q->bufs[i];
		b->state = DD_DEQUEUED;
		if (b->dmabuf_fd >= 0) {
			close(b->dmabuf_fd);
			b->dmabuf_fd = -1;
		}
	}
	q->nqueued = q->ndone = 0;
	q->streaming = false;
	q->last_dequeued = false;
}

/* Stop the context's thread. Drops dd_lock while joining. */
static void thread_stop(struct dd_ctx *c)
{
	if (!c->thread_running)
		return;
	c->thread_stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_t t = c->thread;
	pthread_mutex_unlock(&dd_lock);
	pthread_join(t, NULL);
	pthread_mutex_lock(&dd_lock);
	c->thread_running = false;
	c->thread_stop = false;
}

static void thread_start(struct dd_ctx *c)
{
	if (c->thread_running)
		return;
	c->thread_stop = false;
	void *(*fn)(void *) =
	    c->dev->kind == DD_CAMERA ? dd_camera_thread : dd_encoder_thread;
	if (pthread_create(&c->thread, NULL, fn, c) == 0)
		c->thread_running = true;
}

/* The device went away under the streaming file: its buffers become
 * orphans (the application's mappings stay valid until it unmaps). */
void dd_ctx_reset_queues(struct dd_ctx *c)
{
	queue_stop(&c->cap);
	queue_free(&c->cap);
	pthread_cond_broadcast(&c->cond);
}

void dd_ctx_release(struct dd_ctx *c, struct dd_file *f)
{
	if (dd_file_dead(f) && f->dev->kind == DD_CAMERA)
		return; /* the context already belongs to the replugged device
			 */
	if (c->cap.owner != f && c->out.owner != f && f->dev->kind == DD_CAMERA)
		return;
	thread_stop(c);
	queue_stop(&c->cap);
	queue_free(&c->cap);
	if (c->out.type) {
		queue_stop(&c->out);
		queue_free(&c->out);
	}
	if (f->dev->kind == DD_ENCODER)
		dd_encoder_close(c);
}

short dd_poll_mask(struct dd_file *f)
{
	if (dd_file_dead(f))
		return POLLERR | POLLHUP;
	struct dd_ctx *c = f->ctx;
	short m = f->nevents ? POLLPRI : 0;
	if (f->dev->kind == DD_CAMERA) {
		if (c->cap.owner != f)
			return m;
		if (!c->cap.streaming)
			return m | POLLERR;
		if (c->cap.ndone)
			m |= POLLIN | POLLRDNORM;
		return m;
	}
	if (!c->cap.streaming && !c->out.streaming)
		return m | POLLERR;
	if (c->out.ndone)
		m |= POLLOUT | POLLWRNORM;
	if (c->cap.ndone || c->cap.last_dequeued)
		m |= POLLIN | POLLRDNORM;
	return m;
}

void dd_queue_event(struct dd_file *f, uint32_t type, uint32_t changes)
{
	if (!f || !(f->subscribed & (1u << type)) || f->nevents == 16)
		return;
	struct v4l2_event *e = &f->events[f->nevents++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	if (type == V4L2_EVENT_SOURCE_CHANGE)
		e->u.src_change.changes = changes;
	e->sequence = f->event_seq++;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	e->timestamp = ts;
	dd_signal_update(f);
}

/* --------------------------------------------------------------- formats */

static int enum_fmt(struct dd_file *f, struct v4l2_fmtdesc *d)
{
	struct dd_device *dev = f->dev;
	uint32_t fourcc;
	if (dev->kind == DD_CAMERA) {
		if (d->type != V4L2_BUF_TYPE_VIDEO_CAPTURE ||
		    d->index >= dev->nformats)
			return -EINVAL;
		fourcc = dev->formats[d->index];
	} else if (d->type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE) {
		if (d->index >= dev->nformats)
			return -EINVAL;
		fourcc = dev->formats[d->index];
	} else if (d->type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE) {
		if (d->index > 0)
			return -EINVAL;
		fourcc = V4L2_PIX_FMT_H264;
	} else {
		return -EINVAL;
	}
	uint32_t index = d->index, type = d->type;
	memset(d, 0, sizeof(*d));
	d->index = index;
	d->type = type;
	d->pixelformat = fourcc;
	d->flags = is_compressed(fourcc) ? V4L2_FMT_FLAG_COMPRESSED : 0;
	const char *desc = fourcc == V4L2_PIX_FMT_YUYV	   ? "YUYV 4:2:2"
			   : fourcc == V4L2_PIX_FMT_NV12   ? "Y/UV 4:2:0"
			   : fourcc == V4L2_PIX_FMT_YUV420 ? "Planar YUV 4:2:0"
			   : fourcc == V4L2_PIX_FMT_H264   ? "H.264"
			   : fourcc == V4L2_PIX_FMT_MJPEG  ? "Motion-JPEG"
							   : "Unknown";
	snprintf((char *)d->description, sizeof(d->description), "%s", desc);
	return 0;
}

static int try_fmt(struct dd_file *f, struct v4l2_format *fmt)
{
	struct dd_queue *q = queue_of(f, fmt->type);
	if (!q)
		return -EINVAL;
	if (f->dev->kind == DD_CAMERA)
		camera_pix(f->dev, &fmt->fmt.pix);
	else
		encoder_pix(f->dev, fmt->type, &fmt->fmt.pix_mp);
	return 0;
}

static int s_fmt(struct dd_file *f, struct v4l2_format *fmt)
{
	struct dd_queue *q = queue_of(f, fmt->type);
	if (!q)
		return -EINVAL;
	if (q->count || q->streaming)
		return -EBUSY;
	int rc = try_fmt(f, fmt);
	if (rc)
		return rc;
	q->fmt = *fmt;
	if (q == &f->ctx->out) { /* the coded size follows the picture */
		struct v4l2_pix_format_mplane *c = &f->ctx->cap.fmt.fmt.pix_mp;
		c->width = fmt->fmt.pix_mp.width;
		c->height = fmt->fmt.pix_mp.height;
		encoder_pix(f->dev, f->ctx->cap.type, c);
	}
	return 0;
}

static bool size_offered(const struct dd_device *d, uint32_t w, uint32_t h)
{
	for (unsigned i = 0; i < d->nsizes; i++)
		if (d->sizes[i].w == w && d->sizes[i].h == h)
			return true;
	return false;
}

static bool format_offered(const struct dd_device *d, uint32_t fourcc)
{
	for (unsigned i = 0; i < d->nformats; i++)
		if (d->formats[i] == fourcc)
			return true;
	return d->kind == DD_ENCODER && fourcc == V4L2_PIX_FMT_H264;
}

static int enum_framesizes(struct dd_file *f, struct v4l2_frmsizeenum *s)
{
	struct dd_device *d = f->dev;
	if (!format_offered(d, s->pixel_format))
		return -EINVAL;
	memset(s->reserved, 0, sizeof(s->reserved));
	if (d->kind == DD_ENCODER) {
		if (s->index)
			return -EINVAL;
		s->type = V4L2_FRMSIZE_TYPE_STEPWISE;
		s->stepwise =
		    (struct v4l2_frmsize_stepwise){32, 1920, 2, 32, 1088, 2};
		return 0;
	}
	if (s->index >= d->nsizes)
		return -EINVAL;
	s->type = V4L2_FRMSIZE_TYPE_DISCRETE;
	s->discrete.width = d->sizes[s->index].w;
	s->discrete.height = d->sizes[s->index].h;
	return 0;
}

static int enum_frameintervals(struct dd_file *f, struct v4l2_frmivalenum *v)
{
	struct dd_device *d = f->dev;
	if (d->kind == DD_ENCODER)
		return -ENOTTY;
	if (!format_offered(d, v->pixel_format) ||
	    !size_offered(d, v->width, v->height) || v->index >= d->nrates)
		return -EINVAL;
	memset(v->reserved, 0, sizeof(v->reserved));
	v->type = V4L2_FRMIVAL_TYPE_DISCRETE;
	v->discrete.numerator = 1;
	v->discrete.denominator = d->rates[v->index];
	return 0;
}

static double fabs_diff(double a, double b)
{
	return a > b ? a - b : b - a;
}

static int parm(struct dd_file *f, struct v4l2_streamparm *p, bool set)
{
	struct dd_device *d = f->dev;
	struct dd_ctx *c = f->ctx;
	struct v4l2_fract *tpf;
	if (d->kind == DD_CAMERA && p->type == V4L2_BUF_TYPE_VIDEO_CAPTURE) {
		tpf = &p->parm.capture.timeperframe;
		if (set && (c->cap.streaming))
			return -EBUSY;
	} else if (d->kind == DD_ENCODER &&
		   p->type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE) {
		tpf = &p->parm.output.timeperframe;
	} else {
		return -EINVAL;
	}
	if (set && tpf->numerator && tpf->denominator) {
		if (d->kind == DD_CAMERA) { /* nearest offered rate */
			double want = (double)tpf->denominator / tpf->numerator;
			uint32_t best = d->rates[0];
			for (unsigned i = 1; i < d->nrates; i++)
				if (fabs_diff(d->rates[i], want) <
				    fabs_diff(best, want))
					best = d->rates[i];
			c->interval = (struct v4l2_fract){1, best};
		} else {
			c->interval = *tpf;
		}
	}
	uint32_t type = p->type;
	memset(p, 0, sizeof(*p));
	p->type = type;
	if (d->kind == DD_CAMERA) {
		p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
		p->parm.capture.timeperframe = c->interval;
		p->parm.capture.readbuffers = 2;
	} else {
		p->parm.output.capability = V4L2_CAP_TIMEPERFRAME;
		p->parm.output.timeperframe = c->interval;
	}
	return 0;
}

/* -------------------------------------------------------------- controls */

static struct dd_ctrl *ctrl_find(struct dd_ctx *c, uint32_t id, bool next)
{
	struct dd_ctrl *best = NULL;
	for (unsigned i = 0; i < c->nctrls; i++) {
		struct dd_ctrl *k = &c->ctrls[i];
		if (!next && k->id == id)
			return k;
		if (next && k->id > id && (!best || k->id < best->id))
			best = k;
	}
	return best;
}

static struct dd_ctrl *ctrl_query(struct dd_ctx *c, uint32_t id)
{
	const uint32_t nextf =
	    V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND;
	return ctrl_find(c, id & ~nextf, (id & nextf) != 0);
}

static int queryctrl(struct dd_file *f, struct v4l2_queryctrl *q)
{
	struct dd_ctrl *k = ctrl_query(f->ctx, q->id);
	if (!k)
		return -EINVAL;
	memset(q, 0, sizeof(*q));
	q->id = k->id;
	q->type = k->type;
	snprintf((char *)q->name, sizeof(q->name), "%s", k->name);
	q->minimum = k->min;
	q->maximum = k->max;
	q->step = k->step;
	q->default_value = k->def;
	q->flags = k->flags;
	return 0;
}

static int query_ext_ctrl(struct dd_file *f, struct v4l2_query_ext_ctrl *q)
{
	struct dd_ctrl *k = ctrl_query(f->ctx, q->id);
	if (!k)
		return -EINVAL;
	memset(q, 0, sizeof(*q));
	q->id = k->id;
	q->type = k->type;
	snprintf(q->name, sizeof(q->name), "%s", k->name);
	q->minimum = k->min;
	q->maximum = k->max;
	q->step = (uint64_t)k->step;
	q->default_value = k->def;
	q->flags = k->flags;
	q->elem_size = k->type == V4L2_CTRL_TYPE_CTRL_CLASS ? 0 : 4;
	q->elems = 1;
	return 0;
}

static int querymenu(struct dd_file *f, struct v4l2_querymenu *m)
{
	struct dd_ctrl *k = ctrl_find(f->ctx, m->id, false);
	if (!k || k->type != V4L2_CTRL_TYPE_MENU ||
	    (int32_t)m->index < k->min || (int32_t)m->index > k->max ||
	    !k->menu[m->index])
		return -EINVAL;
	snprintf((char *)m->name, sizeof(m->name), "%s", k->menu[m->index]);
	m->reserved = 0;
	return 0;
}

static int ctrl_get(struct dd_ctx *c, uint32_t id, int32_t *val)
{
	struct dd_ctrl *k = ctrl_find(c, id, false);
	if (!k)
		return -EINVAL;
	if (k->flags & V4L2_CTRL_FLAG_WRITE_ONLY)
		return -EACCES;
	*val = k->val;
	return 0;
}

static int ctrl_check(struct dd_ctx *c, uint32_t id, int32_t *val)
{
	struct dd_ctrl *k = ctrl_find(c, id, false);
	if (!k)
		return -EINVAL;
	if (k->flags & V4L2_CTRL_FLAG_READ_ONLY)
		return -EACCES;
	if (k->type == V4L2_CTRL_TYPE_MENU &&
	    (*val < k->min || *val > k->max || !k->menu[*val]))
		return -EINVAL;
	if (k->type == V4L2_CTRL_TYPE_INTEGER ||
	    k->type == V4L2_CTRL_TYPE_BOOLEAN) {
		if (*val < k->min)
			*val = k->min;
		if (*val > k->max)
			*val = k->max;
		if (k->step > 1)
			*val = k->min + (*val - k->min) / k->step * k->step;
	}
	return 0;
}

static void ctrl_apply(struct dd_ctx *c, uint32_t id, int32_t val)
{
	struct dd_ctrl *k = ctrl_find(c, id, false);
	if (k->type == V4L2_CTRL_TYPE_BUTTON) {
		if (id == V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME)
			c->force_key = true;
		return;
	}
	k->val = val;
}

int32_t dd_ctrl_value(struct dd_ctx *c, uint32_t id)
{
	struct dd_ctrl *k = ctrl_find(c, id, false);
	return k ? k->val : 0;
}

static int ext_ctrls(struct dd_file *f, struct v4l2_ext_controls *e,
		     unsigned long req)
{
	if (e->count > 64)
		return -EINVAL;
	for (uint32_t i = 0; i < e->count; i++) {
		struct v4l2_ext_control *x = &e->controls[i];
		int32_t v = x->value;
		int rc = req == VIDIOC_G_EXT_CTRLS
			     ? ctrl_get(f->ctx, x->id, &v)
			     : ctrl_check(f->ctx, x->id, &v);
		if (rc) {
			e->error_idx = req == VIDIOC_G_EXT_CTRLS ? i : e->count;
			if (req == VIDIOC_S_EXT_CTRLS ||
			    req == VIDIOC_TRY_EXT_CTRLS)
				e->error_idx = i;
			return rc;
		}
		x->value = v;
	}
	if (req == VIDIOC_S_EXT_CTRLS)
		for (uint32_t i = 0; i < e->count; i++)
			ctrl_apply(f->ctx, e->controls[i].id,
				   e->controls[i].value);
	return 0;
}

/* --------------------------------------------------------------- buffers */

static int reqbufs(struct dd_file *f, struct v4l2_requestbuffers *r)
{
	struct dd_queue *q = queue_of(f, r->type);
	if (!q)
		return -EINVAL;
	bool dmabuf_ok = f->dev->kind == DD_ENCODER && !f->dev->no_dmabuf;
	if (r->memory != V4L2_MEMORY_MMAP &&
	    !(dmabuf_ok && r->memory == V4L2_MEMORY_DMABUF))
		return -EINVAL;
	if (q->owner && q->owner != f)
		return -EBUSY;
	if (q->streaming)
		return -EBUSY;
	queue_free(q);
	r->capabilities = V4L2_BUF_CAP_SUPPORTS_MMAP |
			  (dmabuf_ok ? V4L2_BUF_CAP_SUPPORTS_DMABUF : 0);
	memset(r->reserved, 0, sizeof(r->reserved));
	if (r->count == 0)
		return 0;
	unsigned n = r->count < 2		 ? 2
		     : r->count > DD_MAX_BUFFERS ? DD_MAX_BUFFERS
						 : r->count;
	size_t len = align_up(sizeimage_of(q), 4096);
	for (unsigned i = 0; i < n; i++) {
		struct dd_buf *b = &q->bufs[i];
		memset(b, 0, sizeof(*b));
		b->index = i;
		b->length = len;
		b->memfd = -1;
		b->dmabuf_fd = -1;
		if (r->memory != V4L2_MEMORY_MMAP)
			continue;
		b->memfd = memfd_create("v4l2dev-buffer", MFD_CLOEXEC);
		if (b->memfd < 0 || ftruncate(b->memfd, (off_t)len) < 0)
			return -ENOMEM;
		b->mem = dd_real_mmap(NULL, len, PROT_READ | PROT_WRITE,
				      MAP_SHARED, b->memfd, 0);
		if (b->mem == MAP_FAILED) {
			b->mem = NULL;
			return -ENOMEM;
		}
	}
	q->count = n;
	q->memory = r->memory;
	q->owner = f;
	r->count = n;
	return 0;
}

static void fill_buffer(struct dd_queue *q, struct dd_buf *b,
			struct v4l2_buffer *v)
{
	struct v4l2_plane *planes = v->m.planes;
	uint32_t nplanes = v->length;
	memset(v, 0, offsetof(struct v4l2_buffer, m));
	v->index = b->index;
	v->type = q->type;
	v->memory = q->memory;
	v->bytesused = b->bytesused;
	v->field = V4L2_FIELD_NONE;
	v->timestamp = b->timestamp;
	v->sequence = b->sequence;
	v->flags = b->flags | (q->owner && q->owner->dev->kind == DD_ENCODER
				   ? V4L2_BUF_FLAG_TIMESTAMP_COPY
				   : V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC |
					 V4L2_BUF_FLAG_TSTAMP_SRC_EOF);
	if (b->mapped)
		v->flags |= V4L2_BUF_FLAG_MAPPED;
	if (b->state == DD_QUEUED)
		v->flags |= V4L2_BUF_FLAG_QUEUED;
	if (b->state == DD_DONE)
		v->flags |= V4L2_BUF_FLAG_DONE;
	if (is_mplane(q->type)) {
		v->m.planes = planes;
		v->length = 1;
		if (planes && nplanes >= 1) {
			memset(&planes[0], 0, sizeof(planes[0]));
			planes[0].bytesused = b->bytesused;
			planes[0].length = (uint32_t)b->length;
			if (q->memory == V4L2_MEMORY_MMAP)
				planes[0].m.mem_offset =
				    (uint32_t)offset_of(q, b->index);
			else
				planes[0].m.fd = b->app_fd;
		}
	} else {
		v->length = (uint32_t)b->length;
		v->m.offset = (uint32_t)offset_of(q, b->index);
	}
}

static struct dd_buf *buffer_arg(struct dd_file *f, struct v4l2_buffer *v,
				 struct dd_queue **qp, int *err)
{
	struct dd_queue *q = queue_of(f, v->type);
	*err = -EINVAL;
	if (!q)
		return NULL;
	if (q->owner && q->owner != f) {
		*err = -EBUSY;
		return NULL;
	}
	if (v->index >= q->count)
		return NULL;
	if (is_mplane(q->type) && (!v->m.planes || v->length < 1))
		return NULL;
	*qp = q;
	return &q->bufs[v->index];
}

static int querybuf(struct dd_file *f, struct v4l2_buffer *v)
{
	struct dd_queue *q;
	int err;
	struct dd_buf *b = buffer_arg(f, v, &q, &err);
	if (!b)
		return err;
	fill_buffer(q, b, v);
	return 0;
}

/* vb2's __prepare_dmabuf: the fd must be a DMABUF (here: a memfd, which
 * is what EXPBUF hands out), plane length 0 means the whole buffer, and a
 * buffer smaller than the format's sizeimage is refused. The double keeps
 * its own reference until the buffer is dequeued, like an attachment. */
static int attach_dmabuf(struct dd_queue *q, struct dd_buf *b,
			 const struct v4l2_plane *pl)
{
	int fd = pl->m.fd;
	if (fd < 0 || fcntl(fd, F_GET_SEALS) < 0)
		return -EINVAL; /* not a DMABUF */
	off_t size = lseek(fd, 0, SEEK_END);
	uint64_t length = pl->length ? pl->length : (uint64_t)size;
	if (size < 0 || length > (uint64_t)size || length < sizeimage_of(q))
		return -EINVAL;
	b->dmabuf_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (b->dmabuf_fd < 0)
		return -ENOMEM;
	b->app_fd = fd;
	b->length = (size_t)length;
	return 0;
}

static int qbuf(struct dd_file *f, struct v4l2_buffer *v)
{
	struct dd_queue *q;
	int err;
	struct dd_buf *b = buffer_arg(f, v, &q, &err);
	if (!b)
		return err;
	if (v->memory != q->memory || b->state != DD_DEQUEUED)
		return -EINVAL;
	if (q->memory == V4L2_MEMORY_DMABUF) {
		int rc = attach_dmabuf(q, b, &v->m.planes[0]);
		if (rc)
			return rc;
	}
	if (is_output(q->type)) {
		uint32_t used = v->m.planes[0].bytesused;
		b->bytesused = used ? used : (uint32_t)b->length;
		if (b->bytesused > b->length) {
			if (b->dmabuf_fd >= 0)
				close(b->dmabuf_fd);
			b->dmabuf_fd = -1;
			return -EINVAL;
		}
		b->timestamp = v->timestamp;
		b->flags = 0;
	}
	b->state = DD_QUEUED;
	q->fifo[q->nqueued++] = b->index;
	fill_buffer(q, b, v);
	pthread_cond_broadcast(&f->ctx->cond);
	return 0;
}

static int dqbuf(struct dd_file *f, struct v4l2_buffer *v)
{
	struct dd_queue *q = queue_of(f, v->type);
	if (!q || (is_mplane(v->type) && (!v->m.planes || v->length < 1)))
		return -EINVAL;
	if (q->owner != f)
		return -EBUSY;
	bool nonblock = fcntl(f->fd, F_GETFL) & O_NONBLOCK;
	for (;;) {
		if (dd_file_dead(f))
			return -ENODEV;
		if (!q->streaming)
			return -EINVAL;
		if (q->last_dequeued)
			return -EPIPE;
		if (q->ndone)
			break;
		if (nonblock)
			return -EAGAIN;
		pthread_cond_wait(&f->ctx->cond, &dd_lock);
	}
	struct dd_buf *b = &q->bufs[q->done[0]];
	memmove(q->done, q->done + 1, --q->ndone * sizeof(q->done[0]));
	b->state = DD_DEQUEUED;
	if (b->dmabuf_fd >= 0) {
		close(b->dmabuf_fd);
		b->dmabuf_fd = -1;
	}
	fill_buffer(q, b, v);
	if (b->flags & V4L2_BUF_FLAG_LAST)
		q->last_dequeued = true;
	dd_signal_update(f);
	return 0;
}

static int streamon(struct dd_file *f, const uint32_t *type)
{
	struct dd_queue *q = queue_of(f, *type);
	if (!q)
		return -EINVAL;
	if (q->owner != f)
		return q->owner ? -EBUSY : -EINVAL;
	if (!q->count)
		return -EINVAL;
	if (q->streaming)
		return 0;
	q->streaming = true;
	q->sequence = 0;
	q->last_dequeued = false;
	struct dd_ctx *c = f->ctx;
	if (q == &c->cap)
		c->draining = c->drained = false;
	c->frames_due = 0;
	thread_start(c);
	pthread_cond_broadcast(&c->cond); /* the encoder may be able to run */
	dd_signal_update(f);
	return 0;
}

static int streamoff(struct dd_file *f, const uint32_t *type)
{
	struct dd_queue *q = queue_of(f, *type);
	if (!q)
		return -EINVAL;
	if (q->owner && q->owner != f)
		return -EBUSY;
	struct dd_ctx *c = f->ctx;
	queue_stop(q);
	bool other_streaming =
	    c->out.type && (q == &c->cap ? c->out.streaming : c->cap.streaming);
	if (!other_streaming)
		thread_stop(c);
	pthread_cond_broadcast(&c->cond);
	dd_signal_update(f);
	return 0;
}

static int expbuf(struct dd_file *f, struct v4l2_exportbuffer *e)
{
	if (f->dev->no_dmabuf)
		return -ENOTTY; /* a driver without vidioc_expbuf */
	struct dd_queue *q = queue_of(f, e->type);
	if (!q || q->owner != f || e->index >= q->count || e->plane > 0 ||
	    q->memory != V4L2_MEMORY_MMAP)
		return -EINVAL;
	int fd = fcntl(q->bufs[e->index].memfd,
		       (e->flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (fd < 0)
		return -EMFILE;
	e->fd = fd;
	return 0;
}

/* ---------------------------------------------------------------- events */

static int subscribe(struct dd_file *f, struct v4l2_event_subscription *s,
		     bool on)
{
	if (!on && s->type == V4L2_EVENT_ALL) {
		f->subscribed = 0;
		return 0;
	}
	bool ok = s->type == V4L2_EVENT_CTRL ||
		  (f->dev->kind == DD_ENCODER &&
		   (s->type == V4L2_EVENT_EOS ||
		    s->type == V4L2_EVENT_SOURCE_CHANGE));
	if (!ok)
		return -EINVAL;
	if (on)
		f->subscribed |= 1u << s->type;
	else
		f->subscribed &= ~(1u << s->type);
	return 0;
}

static int dqevent(struct dd_file *f, struct v4l2_event *e)
{
	if (!f->nevents)
		return -ENOENT;
	*e = f->events[0];
	memmove(f->events, f->events + 1, --f->nevents * sizeof(*e));
	e->pending = f->nevents;
	dd_signal_update(f);
	return 0;
}

static int encoder_cmd(struct dd_file *f, struct v4l2_encoder_cmd *cmd,
		       bool apply)
{
	if (f->dev->kind != DD_ENCODER)
		return -ENOTTY;
	if (cmd->cmd != V4L2_ENC_CMD_STOP && cmd->cmd != V4L2_ENC_CMD_START)
		return -EINVAL;
	cmd->flags = 0;
	if (!apply)
		return 0;
	struct dd_ctx *c = f->ctx;
	if (cmd->cmd == V4L2_ENC_CMD_STOP) {
		c->draining = true;
	} else {
		c->draining = c->drained = false;
		c->cap.last_dequeued = false;
	}
	pthread_cond_broadcast(&c->cond);
	return 0;
}

/* ---------------------------------------------------------------- misc */

static int querycap(struct dd_file *f, struct v4l2_capability *cap)
{
	struct dd_device *d = f->dev;
	memset(cap, 0, sizeof(*cap));
	snprintf((char *)cap->driver, sizeof(cap->driver), "%s", d->driver);
	snprintf((char *)cap->card, sizeof(cap->card), "%s", d->card);
	snprintf((char *)cap->bus_info, sizeof(cap->bus_info), "%s", d->bus);
	cap->version = (6 << 16) | (1 << 8);
	cap->device_caps =
	    V4L2_CAP_STREAMING |
	    (d->kind == DD_CAMERA
		 ? V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_READWRITE |
		       V4L2_CAP_EXT_PIX_FORMAT
		 : V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_EXT_PIX_FORMAT);
	cap->capabilities = cap->device_caps | V4L2_CAP_DEVICE_CAPS;
	return 0;
}

static int input(struct dd_file *f, unsigned long req, void *arg)
{
	if (f->dev->kind != DD_CAMERA)
		return -ENOTTY;
	if (req == VIDIOC_G_INPUT) {
		*(int *)arg = 0;
		return 0;
	}
	if (req == VIDIOC_S_INPUT)
		return *(int *)arg == 0 ? 0 : -EINVAL;
	struct v4l2_input *in = arg;
	if (in->index != 0)
		return -EINVAL;
	memset(in, 0, sizeof(*in));
	snprintf((char *)in->name, sizeof(in->name), "Camera 1");
	in->type = V4L2_INPUT_TYPE_CAMERA;
	in->capabilities = 0;
	return 0;
}

int dd_ioctl(struct dd_file *f, unsigned long req, void *arg)
{
	if (!arg && req != VIDIOC_LOG_STATUS)
		return -EFAULT;
	pthread_mutex_lock(&dd_lock);
	int rc;
	if (dd_file_dead(f)) {
		rc = -ENODEV;
		goto out;
	}
	switch (req) {
	case VIDIOC_QUERYCAP:
		rc = querycap(f, arg);
		break;
	case VIDIOC_ENUM_FMT:
		rc = enum_fmt(f, arg);
		break;
	case VIDIOC_G_FMT: {
		struct v4l2_format *fmt = arg;
		struct dd_queue *q = queue_of(f, fmt->type);
		rc = q ? 0 : -EINVAL;
		if (q)
			*fmt = q->fmt;
		break;
	}
	case VIDIOC_TRY_FMT:
		rc = try_fmt(f, arg);
		break;
	case VIDIOC_S_FMT:
		rc = s_fmt(f, arg);
		break;
	case VIDIOC_ENUM_FRAMESIZES:
		rc = enum_framesizes(f, arg);
		break;
	case VIDIOC_ENUM_FRAMEINTERVALS:
		rc = enum_frameintervals(f, arg);
		break;
	case VIDIOC_G_PARM:
		rc = parm(f, arg, false);
		break;
	case VIDIOC_S_PARM:
		rc = parm(f, arg, true);
		break;
	case VIDIOC_REQBUFS:
		rc = reqbufs(f, arg);
		break;
	case VIDIOC_QUERYBUF:
		rc = querybuf(f, arg);
		break;
	case VIDIOC_QBUF:
		rc = qbuf(f, arg);
		break;
	case VIDIOC_DQBUF:
		rc = dqbuf(f, arg);
		break;
	case VIDIOC_STREAMON:
		rc = streamon(f, arg);
		break;
	case VIDIOC_STREAMOFF:
		rc = streamoff(f, arg);
		break;
	case VIDIOC_EXPBUF:
		rc = expbuf(f, arg);
		break;
	case VIDIOC_QUERYCTRL:
		rc = queryctrl(f, arg);
		break;
	case VIDIOC_QUERY_EXT_CTRL:
		rc = query_ext_ctrl(f, arg);
		break;
	case VIDIOC_QUERYMENU:
		rc = querymenu(f, arg);
		break;
	case VIDIOC_G_CTRL: {
		struct v4l2_control *c = arg;
		rc = ctrl_get(f->ctx, c->id, &c->value);
		break;
	}
	case VIDIOC_S_CTRL: {
		struct v4l2_control *c = arg;
		rc = ctrl_check(f->ctx, c->id, &c->value);
		if (!rc)
			ctrl_apply(f->ctx, c->id, c->value);
		break;
	}
	case VIDIOC_G_EXT_CTRLS:
	case VIDIOC_S_EXT_CTRLS:
	case VIDIOC_TRY_EXT_CTRLS:
		rc = ext_ctrls(f, arg, req);
		break;
	case VIDIOC_SUBSCRIBE_EVENT:
		rc = subscribe(f, arg, true);
		break;
	case VIDIOC_UNSUBSCRIBE_EVENT:
		rc = subscribe(f, arg, false);
		break;
	case VIDIOC_DQEVENT:
		rc = dqevent(f, arg);
		break;
	case VIDIOC_ENCODER_CMD:
		rc = encoder_cmd(f, arg, true);
		break;
	case VIDIOC_TRY_ENCODER_CMD:
		rc = encoder_cmd(f, arg, false);
		break;
	case VIDIOC_G_INPUT:
	case VIDIOC_S_INPUT:
	case VIDIOC_ENUMINPUT:
		rc = input(f, req, arg);
		break;
	case VIDIOC_G_PRIORITY:
		*(uint32_t *)arg = f->prio;
		rc = 0;
		break;
	case VIDIOC_S_PRIORITY:
		rc = *(uint32_t *)arg <= V4L2_PRIORITY_RECORD ? 0 : -EINVAL;
		if (!rc)
			f->prio = *(uint32_t *)arg;
		break;
	case VIDIOC_LOG_STATUS:
		rc = 0;
		break;
	default:
		rc = -ENOTTY;
		break;
	}
out:
	pthread_mutex_unlock(&dd_lock);
	return rc;
}

/* read() I/O: one whole frame per call, paced like the stream. */
ssize_t dd_read(struct dd_file *f, void *buf, size_t n)
{
	pthread_mutex_lock(&dd_lock);
	struct dd_ctx *c = f->ctx;
	ssize_t rc;
	if (dd_file_dead(f)) {
		rc = -ENODEV;
	} else if (f->dev->kind != DD_CAMERA ||
		   is_compressed(c->cap.fmt.fmt.pix.pixelformat)) {
		rc = -EINVAL;
	} else if (c->cap.count) {
		rc = -EBUSY;
	} else {
		int64_t period = (int64_t)1000000000 * c->interval.numerator /
				 c->interval.denominator;
		static int64_t next;
		int64_t now = dd_mono_ns();
		if (next > now) {
			pthread_mutex_unlock(&dd_lock);
			struct timespec ts = {next / 1000000000,
					      next % 1000000000};
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
					NULL);
			pthread_mutex_lock(&dd_lock);
		}
		next = (next > now ? next : now) + period;
		size_t size = c->cap.fmt.fmt.pix.sizeimage;
		uint8_t *tmp = malloc(size);
		if (!tmp) {
			rc = -ENOMEM;
		} else {
			dd_pattern_fill(tmp, size, &c->cap.fmt,
					f->dev->frame_counter++);
			rc = (ssize_t)(n < size ? n : size);
			memcpy(buf, tmp, (size_t)rc);
			free(tmp);
		}
	}
	pthread_mutex_unlock(&dd_lock);
	return rc;
}
