/* The camera: a sensor that makes a frame every interval whether or not a
 * buffer is queued (no buffer: the frame is dropped, the sequence number
 * still advances), and a scripted unplug. */
#include "v4l2dev.h"

#include <pthread.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* The pattern (docs: tests/doubles/v4l2dev/README.md): byte x of row y of
 * plane p in frame n is (x + 3y + 7n + 61p) & 0xff, and the first 8 bytes of
 * plane 0 hold n, little-endian. Lines are packed (stride = line bytes). */
size_t dd_pattern_fill(uint8_t *dst, size_t cap, const struct v4l2_format *fmt,
		       uint64_t n)
{
	const struct v4l2_pix_format *p = &fmt->fmt.pix;
	uint32_t w = p->width, h = p->height;
	struct {
		uint32_t rows, bytes;
	} planes[3];
	unsigned np;
	switch (p->pixelformat) {
	case V4L2_PIX_FMT_YUYV:
		planes[0].rows = h, planes[0].bytes = w * 2;
		np = 1;
		break;
	case V4L2_PIX_FMT_NV12:
		planes[0].rows = h, planes[0].bytes = w;
		planes[1].rows = h / 2, planes[1].bytes = w;
		np = 2;
		break;
	case V4L2_PIX_FMT_YUV420:
		planes[0].rows = h, planes[0].bytes = w;
		planes[1].rows = h / 2, planes[1].bytes = w / 2;
		planes[2].rows = h / 2, planes[2].bytes = w / 2;
		np = 3;
		break;
	default:
		return 0;
	}
	size_t off = 0;
	for (unsigned pl = 0; pl < np; pl++) {
		for (uint32_t y = 0; y < planes[pl].rows; y++) {
			if (off + planes[pl].bytes > cap)
				return off;
			uint8_t base = (uint8_t)(3 * y + 7 * n + 61 * pl);
			for (uint32_t x = 0; x < planes[pl].bytes; x++)
				dst[off + x] = (uint8_t)(base + x);
			off += planes[pl].bytes;
		}
	}
	for (unsigned i = 0; i < 8 && i < off; i++)
		dst[i] = (uint8_t)(n >> (8 * i));
	return off;
}

static bool au_has_sps(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++)
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1)
			return (p[i + 3] & 0x1f) == 7;
	return false;
}

static uint32_t fill_h264(struct dd_ctx *c, struct dd_buf *b, uint32_t *flags)
{
	struct dd_device *d = c->dev;
	if (c->force_key) { /* the next key frame of the file comes now */
		c->force_key = false;
		for (size_t i = 0; i < d->naus; i++) {
			size_t k = (c->au_next + i) % d->naus;
			if (d->aus[k].key) {
				c->au_next = k;
				break;
			}
		}
	}
	const struct dd_au *au = &d->aus[c->au_next];
	c->au_next = (c->au_next + 1) % d->naus;
	const uint8_t *src = d->h264 + au->off;
	size_t used = 0;
	bool repeat = dd_ctrl_value(c, V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER);
	if (au->key && repeat && !au_has_sps(src, au->len) &&
	    d->h264_hdr_len <= b->length) {
		memcpy(b->mem, d->h264 + d->h264_hdr_off, d->h264_hdr_len);
		used = d->h264_hdr_len;
	}
	if (used + au->len > b->length) {
		*flags = V4L2_BUF_FLAG_ERROR;
		return 0;
	}
	memcpy(b->mem + used, src, au->len);
	*flags = au->key ? V4L2_BUF_FLAG_KEYFRAME : V4L2_BUF_FLAG_PFRAME;
	return (uint32_t)(used + au->len);
}

static void camera_frame(struct dd_ctx *c)
{
	struct dd_device *d = c->dev;
	struct dd_queue *q = &c->cap;
	uint64_t counter = d->frame_counter++;
	uint32_t seq = q->sequence++;
	if (!q->nqueued)
		return; /* dropped: the sequence gap tells the application */
	struct dd_buf *b = &q->bufs[q->fifo[0]];
	memmove(q->fifo, q->fifo + 1, --q->nqueued * sizeof(q->fifo[0]));
	uint32_t flags = 0;
	if (q->fmt.fmt.pix.pixelformat == V4L2_PIX_FMT_H264 && d->naus)
		b->bytesused = fill_h264(c, b, &flags);
	else
		b->bytesused = (uint32_t)dd_pattern_fill(b->mem, b->length,
							 &q->fmt, counter);
	b->flags = flags;
	b->sequence = seq;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	b->timestamp.tv_sec = ts.tv_sec;
	b->timestamp.tv_usec = ts.tv_nsec / 1000;
	b->state = DD_DONE;
	q->done[q->ndone++] = b->index;
	pthread_cond_broadcast(&c->cond);
	if (q->owner)
		dd_signal_update(q->owner);
	d->delivered++;
	if (d->unplug_after && d->unplug_times &&
	    d->delivered >= d->unplug_after)
		dd_unplug(d);
}

/* Called by the camera thread with dd_lock held: every open file of the
 * device now gets ENODEV, and the path is gone for unplug_for_ns. */
void dd_unplug(struct dd_device *d)
{
	struct dd_ctx *c = &d->ctx;
	struct dd_file *owner = c->cap.owner;
	d->generation++;
	d->gone_until = dd_mono_ns() + d->unplug_for_ns;
	d->unplug_times--;
	d->delivered = 0;
	c->au_next = 0;
	dd_ctx_reset_queues(c);
	c->thread_running = false;
	pthread_detach(pthread_self());
	if (owner)
		dd_signal_update(owner);
}

void *dd_camera_thread(void *arg)
{
	struct dd_ctx *c = arg;
	struct dd_device *d = c->dev;
	pthread_mutex_lock(&dd_lock);
	unsigned generation = d->generation;
	int64_t t0 = dd_mono_ns();
	uint64_t k = 0;
	while (!c->thread_stop && d->generation == generation) {
		int64_t period = (int64_t)1000000000 * c->interval.numerator /
				 c->interval.denominator;
		int64_t due = t0 + (int64_t)(k + 1) * period;
		struct timespec ts = {due / 1000000000, due % 1000000000};
		pthread_cond_timedwait(&c->cond, &dd_lock, &ts);
		if (c->thread_stop || d->generation != generation)
			break;
		if (dd_mono_ns() < due)
			continue; /* woken for another reason */
		k++;
		if (c->cap.streaming)
			camera_frame(c);
	}
	pthread_mutex_unlock(&dd_lock);
	return NULL;
}
