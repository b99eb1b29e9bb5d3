/* The memory-to-memory H.264 encoder: takes a raw OUTPUT buffer and a free
 * CAPTURE buffer, encodes with libx264 and returns both, like
 * bcm2835-codec's encoder (timestamps copied, header buffer first when
 * repeat-sequence-header is off, an empty LAST buffer after ENC_CMD_STOP). */
#include "v4l2dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <x264.h>

static const int level_idc[] = {10, 9,	11, 12, 13, 20, 21,
				22, 30, 31, 32, 40, 41, 42};

static void rate_control(struct dd_ctx *c, x264_param_t *p)
{
	int bps = dd_ctrl_value(c, V4L2_CID_MPEG_VIDEO_BITRATE);
	p->rc.i_rc_method = X264_RC_ABR;
	p->rc.i_bitrate = bps / 1000;
	if (dd_ctrl_value(c, V4L2_CID_MPEG_VIDEO_BITRATE_MODE) ==
	    V4L2_MPEG_VIDEO_BITRATE_MODE_CBR) {
		p->rc.i_vbv_max_bitrate = bps / 1000;
		p->rc.i_vbv_buffer_size = bps / 1000;
	}
}

static int encoder_open(struct dd_ctx *c)
{
	const struct v4l2_pix_format_mplane *f = &c->out.fmt.fmt.pix_mp;
	x264_param_t p;
	if (x264_param_default_preset(&p, "veryfast", "zerolatency") < 0)
		return -1;
	p.i_width = (int)f->width;
	p.i_height = (int)f->height;
	p.i_csp =
	    f->pixelformat == V4L2_PIX_FMT_NV12 ? X264_CSP_NV12 : X264_CSP_I420;
	p.i_fps_num = c->interval.denominator;
	p.i_fps_den = c->interval.numerator;
	p.i_threads = 1;
	p.b_annexb = 1;
	p.i_log_level = X264_LOG_ERROR;
	p.b_repeat_headers =
	    dd_ctrl_value(c, V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER);
	int period = dd_ctrl_value(c, V4L2_CID_MPEG_VIDEO_H264_I_PERIOD);
	p.i_keyint_max = period > 0 ? period : X264_KEYINT_MAX_INFINITE;
	p.i_keyint_min = period > 0 ? period : X264_KEYINT_MIN_AUTO;
	p.b_open_gop = 0;
	p.i_level_idc =
	    level_idc[dd_ctrl_value(c, V4L2_CID_MPEG_VIDEO_H264_LEVEL)];
	rate_control(c, &p);
	int prof = dd_ctrl_value(c, V4L2_CID_MPEG_VIDEO_H264_PROFILE);
	const char *profile = prof <= 1	  ? "baseline"
			      : prof == 2 ? "main"
					  : "high";
	if (x264_param_apply_profile(&p, profile) < 0)
		return -1;
	c->x264 = x264_encoder_open(&p);
	c->pts_next = 0;
	c->header_sent = false;
	return c->x264 ? 0 : -1;
}

void dd_encoder_close(struct dd_ctx *c)
{
	if (getenv("VPIPE_V4L2_DOUBLE_STATS") &&
	    (c->from_dmabuf || c->from_mmap))
		fprintf(stderr,
			"v4l2dev: %s encoded %lu pictures from DMABUF, %lu "
			"from MMAP\n",
			c->dev->paths[0], c->from_dmabuf, c->from_mmap);
	c->from_dmabuf = c->from_mmap = 0;
	if (c->x264)
		x264_encoder_close(c->x264);
	c->x264 = NULL;
}

static struct dd_buf *pop_queued(struct dd_queue *q)
{
	struct dd_buf *b = &q->bufs[q->fifo[0]];
	memmove(q->fifo, q->fifo + 1, --q->nqueued * sizeof(q->fifo[0]));
	return b;
}

static void finish(struct dd_ctx *c, struct dd_queue *q, struct dd_buf *b)
{
	b->state = DD_DONE;
	b->sequence = q->sequence++;
	q->done[q->ndone++] = b->index;
	pthread_cond_broadcast(&c->cond);
	if (c->event_file)
		dd_signal_update(c->event_file);
}

/* Copy x264's NAL units (contiguous in its buffer) into a CAPTURE buffer. */
static void emit(struct dd_ctx *c, const x264_nal_t *nal, int nnal,
		 const x264_picture_t *pic)
{
	struct dd_buf *b = pop_queued(&c->cap);
	size_t size = 0;
	for (int i = 0; i < nnal; i++)
		size += (size_t)nal[i].i_payload;
	if (size > b->length) {
		b->bytesused = 0;
		b->flags = V4L2_BUF_FLAG_ERROR;
	} else {
		memcpy(b->mem, nal[0].p_payload, size);
		b->bytesused = (uint32_t)size;
		b->flags = 0;
		if (pic)
			b->flags = pic->b_keyframe ? V4L2_BUF_FLAG_KEYFRAME
						   : V4L2_BUF_FLAG_PFRAME;
	}
	if (pic)
		b->timestamp = c->ts_ring[pic->i_pts % 64];
	finish(c, &c->cap, b);
}

static uint8_t *buffer_data(struct dd_queue *q, struct dd_buf *b, bool *mapped)
{
	*mapped = false;
	if (q->memory == V4L2_MEMORY_MMAP)
		return b->mem;
	void *p = dd_real_mmap(NULL, b->length, PROT_READ, MAP_SHARED,
			       b->dmabuf_fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	*mapped = true;
	return p;
}

static void encode_one(struct dd_ctx *c)
{
	struct dd_buf *in = pop_queued(&c->out);
	const struct v4l2_pix_format_mplane *f = &c->out.fmt.fmt.pix_mp;
	bool mapped;
	uint8_t *data = buffer_data(&c->out, in, &mapped);
	int bpl = (int)f->plane_fmt[0].bytesperline;
	size_t ysize = (size_t)bpl * ((f->height + 15) & ~15u);
	if (!data || in->bytesused < ysize * 3 / 2) {
		in->flags = V4L2_BUF_FLAG_ERROR;
		if (mapped)
			dd_real_munmap(data, in->length);
		finish(c, &c->out, in);
		return;
	}
	if (mapped)
		c->from_dmabuf++;
	else
		c->from_mmap++;
	x264_picture_t pic, out;
	x264_picture_init(&pic);
	pic.img.i_csp =
	    f->pixelformat == V4L2_PIX_FMT_NV12 ? X264_CSP_NV12 : X264_CSP_I420;
	pic.img.plane[0] = data;
	pic.img.i_stride[0] = bpl;
	if (pic.img.i_csp == X264_CSP_NV12) {
		pic.img.i_plane = 2;
		pic.img.plane[1] = data + ysize;
		pic.img.i_stride[1] = bpl;
	} else {
		pic.img.i_plane = 3;
		pic.img.plane[1] = data + ysize;
		pic.img.plane[2] = data + ysize + ysize / 4;
		pic.img.i_stride[1] = pic.img.i_stride[2] = bpl / 2;
	}
	pic.i_pts = c->pts_next++;
	c->ts_ring[pic.i_pts % 64] = in->timestamp;
	if (c->force_key) {
		pic.i_type = X264_TYPE_IDR;
		c->force_key = false;
	}
	x264_nal_t *nal;
	int nnal;
	int size = x264_encoder_encode(c->x264, &nal, &nnal, &pic, &out);
	if (mapped)
		dd_real_munmap(data, in->length);
	in->flags = size < 0 ? V4L2_BUF_FLAG_ERROR : 0;
	finish(c, &c->out, in);
	if (size > 0)
		emit(c, nal, nnal, &out);
}

static bool can_work(struct dd_ctx *c)
{
	if (!c->out.streaming || !c->cap.streaming || !c->cap.nqueued)
		return false;
	if (c->out.nqueued)
		return true;
	return c->draining && !c->drained;
}

static void bitrate_update(struct dd_ctx *c, int *last_bps)
{
	int bps = dd_ctrl_value(c, V4L2_CID_MPEG_VIDEO_BITRATE);
	if (bps == *last_bps || !c->x264)
		return;
	x264_param_t p;
	x264_encoder_parameters(c->x264, &p);
	rate_control(c, &p);
	x264_encoder_reconfig(c->x264, &p);
	*last_bps = bps;
}

void *dd_encoder_thread(void *arg)
{
	struct dd_ctx *c = arg;
	int last_bps = 0;
	pthread_mutex_lock(&dd_lock);
	while (!c->thread_stop) {
		if (!can_work(c)) {
			pthread_cond_wait(&c->cond, &dd_lock);
			continue;
		}
		if (!c->x264) {
			if (encoder_open(c) < 0) {
				fprintf(stderr, "v4l2dev: x264 open failed\n");
				break;
			}
			last_bps =
			    dd_ctrl_value(c, V4L2_CID_MPEG_VIDEO_BITRATE);
		}
		bitrate_update(c, &last_bps);
		bool repeat =
		    dd_ctrl_value(c, V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER);
		if (!repeat && !c->header_sent) {
			x264_nal_t *nal;
			int nnal;
			if (x264_encoder_headers(c->x264, &nal, &nnal) > 0)
				emit(c, nal, nnal, NULL);
			c->header_sent = true;
			continue;
		}
		if (c->out.nqueued) {
			encode_one(c);
			continue;
		}
		/* draining: delayed frames, then an empty LAST buffer + EOS */
		if (x264_encoder_delayed_frames(c->x264) > 0) {
			x264_nal_t *nal;
			int nnal;
			x264_picture_t out;
			if (x264_encoder_encode(c->x264, &nal, &nnal, NULL,
						&out) > 0) {
				emit(c, nal, nnal, &out);
				continue;
			}
		}
		struct dd_buf *b = pop_queued(&c->cap);
		b->bytesused = 0;
		b->flags = V4L2_BUF_FLAG_LAST;
		c->drained = true;
		finish(c, &c->cap, b);
		dd_queue_event(c->event_file, V4L2_EVENT_EOS, 0);
	}
	pthread_mutex_unlock(&dd_lock);
	return NULL;
}
