/* Frames and per-node frame pools.
 *
 * A frame and its bookkeeping live in one "box" that is never freed while
 * the pipeline exists: when the last reference goes, the box returns to
 * the pool of the node that allocated it, keeping its payload and tag
 * buffers. After warm-up, allocating a frame is a pop from a private list. */
#include "futex.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vp_box {
	struct vpipe_frame frame;
	struct vpipe_frame_priv priv;
};

void vp_pool_init(struct vp_pool *p, struct vpipe_node *node, unsigned limit)
{
	memset(p, 0, sizeof(*p));
	p->node = node;
	p->limit = limit;
}

void vp_pool_destroy(struct vp_pool *p)
{
	/* Only after every thread is joined and every link drained. */
	struct vpipe_frame_priv *pr = p->all;
	while (pr) {
		struct vpipe_frame_priv *next = pr->all_next;
		free(pr->own_data);
		free(pr->tagbuf);
		free((struct vp_box *)pr->frame);
		pr = next;
	}
	p->all = NULL;
}

void vp_pool_wake(struct vp_pool *p)
{
	atomic_fetch_add(&p->return_seq, 1);
	vp_futex_wake_all(&p->return_seq);
}

static void pool_return(struct vp_pool *p, struct vpipe_frame_priv *pr)
{
	struct vpipe_frame_priv *head = atomic_load(&p->returned);
	do {
		pr->next = head;
	} while (!atomic_compare_exchange_weak(&p->returned, &head, pr));
	/* The flag is read with a read-modify-write, and set with one: the
	 * two are ordered, so either we see the owner waiting or the owner
	 * sees our frame (a store-load handshake without fences, which
	 * ThreadSanitizer understands). */
	if (atomic_fetch_add(&p->owner_waiting, 0))
		vp_pool_wake(p);
}

static struct vpipe_frame_priv *pool_take(struct vp_pool *p)
{
	if (!p->local)
		p->local = atomic_exchange(&p->returned, NULL);
	struct vpipe_frame_priv *pr = p->local;
	if (pr)
		p->local = pr->next;
	return pr;
}

static struct vpipe_frame_priv *pool_create(struct vp_pool *p)
{
	struct vp_box *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->frame.priv = &b->priv;
	b->priv.frame = &b->frame;
	b->priv.pool = p;
	b->priv.all_next = p->all;
	p->all = &b->priv;
	p->created++;
	return &b->priv;
}

static void frame_reset(struct vpipe_frame *f)
{
	struct vpipe_frame_priv *pr = f->priv;
	memset(f, 0, offsetof(struct vpipe_frame, priv));
	f->priv = pr;
	f->pts = f->dts = f->duration = VPIPE_TIME_NONE;
	f->wallclock = VPIPE_TIME_NONE;
	pr->taglen = 0;
	pr->release = NULL;
	pr->opaque = NULL;
	pr->pushed = false;
	pr->dmabuf_fd = -1;
	pr->dmabuf_offset = 0;
	atomic_store_explicit(&pr->refs, 1, memory_order_relaxed);
}

/* Take a box: from the pool, by creating one under the limit, or (if
 * `wait`) by waiting for one to come back. NULL when stopping or empty. */
static struct vpipe_frame_priv *pool_get(struct vp_pool *p, bool wait)
{
	for (;;) {
		struct vpipe_frame_priv *pr = pool_take(p);
		if (pr)
			return pr;
		if (p->limit == 0 || p->created < p->limit)
			return pool_create(p);
		if (!wait)
			return NULL;
		vp_node_flush_wakes(); /* consumers return what we wait for */
		uint32_t seq = atomic_load(&p->return_seq);
		atomic_exchange(&p->owner_waiting, 1);
		if (atomic_load(&p->returned) == NULL &&
		    !atomic_load(&p->node->abort) &&
		    !(p->node->n_in == 0 && atomic_load(&p->node->stop)))
			vp_futex_wait(&p->return_seq, seq);
		atomic_store(&p->owner_waiting, 0);
		if (atomic_load(&p->node->abort) ||
		    (p->node->n_in == 0 && atomic_load(&p->node->stop))) {
			if (atomic_load(&p->returned) == NULL)
				return NULL;
		}
	}
}

int vpipe_frame_reserve(struct vpipe_frame *f, size_t size)
{
	struct vpipe_frame_priv *pr = f->priv;
	if (pr->release) /* wrapped memory cannot grow */
		return size <= f->capacity ? 0 : -1;
	if (size <= pr->own_cap)
		return 0;
	size_t cap = pr->own_cap ? pr->own_cap : 4096;
	while (cap < size)
		cap = cap * 2 > cap ? cap * 2 : size;
	uint8_t *d = realloc(pr->own_data, cap);
	if (!d)
		return -1;
	atomic_fetch_add(&pr->pool->bytes, cap - pr->own_cap);
	pr->own_data = d;
	pr->own_cap = cap;
	f->data = d;
	f->capacity = cap;
	return 0;
}

static struct vpipe_frame *alloc_common(struct vpipe_node *node, size_t size,
					bool wait)
{
	struct vpipe_frame_priv *pr = pool_get(&node->pool, wait);
	if (!pr)
		return NULL;
	struct vpipe_frame *f = pr->frame;
	frame_reset(f);
	f->data = pr->own_data;
	f->capacity = pr->own_cap;
	if (vpipe_frame_reserve(f, size ? size : 1)) {
		vpipe_error(node, "out of memory for a frame of %zu bytes",
			    size);
		pool_return(pr->pool, pr);
		return NULL;
	}
	f->size = size;
	return f;
}

struct vpipe_frame *vpipe_frame_alloc(struct vpipe_node *node, size_t size)
{
	return alloc_common(node, size, true);
}

struct vpipe_frame *vpipe_frame_try_alloc(struct vpipe_node *node, size_t size)
{
	return alloc_common(node, size, false);
}

struct vpipe_frame *vpipe_frame_wrap(struct vpipe_node *node, uint8_t *data,
				     size_t size, void (*release)(void *),
				     void *opaque)
{
	struct vpipe_frame_priv *pr = pool_get(&node->pool, true);
	if (!pr)
		return NULL;
	struct vpipe_frame *f = pr->frame;
	frame_reset(f);
	pr->release = release;
	pr->opaque = opaque;
	f->data = data;
	f->size = size;
	f->capacity = size;
	return f;
}

struct vpipe_frame *vp_frame_alloc_event(struct vpipe_node *node,
					 unsigned event)
{
	/* Events must get through even when the pool is drained by a stalled
	 * consumer: they are small and bypass the limit. */
	struct vpipe_frame_priv *pr = pool_take(&node->pool);
	if (!pr)
		pr = pool_create(&node->pool);
	if (!pr)
		return NULL;
	struct vpipe_frame *f = pr->frame;
	frame_reset(f);
	f->data = pr->own_data;
	f->capacity = pr->own_cap;
	f->media = VPIPE_MEDIA_EVENT;
	f->event = event;
	if (event == VPIPE_EVENT_EOS)
		f->flags |= VPIPE_FLAG_EOS;
	if (event == VPIPE_EVENT_DISCONTINUITY)
		f->flags |= VPIPE_FLAG_DISCONTINUITY;
	return f;
}

struct vpipe_frame *vpipe_frame_ref(const struct vpipe_frame *f)
{
	atomic_fetch_add_explicit(&f->priv->refs, 1, memory_order_relaxed);
	return (struct vpipe_frame *)f;
}

void vpipe_frame_unref(struct vpipe_frame *f)
{
	if (!f)
		return;
	struct vpipe_frame_priv *pr = f->priv;
	if (atomic_fetch_sub_explicit(&pr->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (pr->release) {
		pr->release(pr->opaque);
		pr->release = NULL;
	}
	pool_return(pr->pool, pr);
}

void vpipe_frame_set_dmabuf(struct vpipe_frame *f, int fd, uint32_t offset)
{
	f->priv->dmabuf_fd = fd;
	f->priv->dmabuf_offset = offset;
}

int vpipe_frame_dmabuf(const struct vpipe_frame *f, uint32_t *offset)
{
	if (offset)
		*offset = f->priv->dmabuf_offset;
	return f->priv->dmabuf_fd;
}

void vpipe_frame_copy_meta(struct vpipe_frame *dst,
			   const struct vpipe_frame *src)
{
	dst->media = src->media;
	dst->flags = src->flags;
	dst->event = src->event;
	dst->pts = src->pts;
	dst->dts = src->dts;
	dst->duration = src->duration;
	dst->wallclock = src->wallclock;
	dst->fmt = src->fmt;
}

/* Tag strings live in one per-box buffer; pointers are rebased when it
 * grows. */
static int tag_store(struct vpipe_frame *f, const char *s, const char **out)
{
	struct vpipe_frame_priv *pr = f->priv;
	size_t n = strlen(s) + 1;
	if (pr->taglen + n > pr->tagcap) {
		/* Remember tags as offsets: the buffer may move. */
		size_t name_off[VPIPE_MAX_TAGS], value_off[VPIPE_MAX_TAGS];
		for (unsigned i = 0; i < f->num_tags; i++) {
			name_off[i] = (size_t)(f->tags[i].name - pr->tagbuf);
			value_off[i] = (size_t)(f->tags[i].value - pr->tagbuf);
		}
		size_t cap = pr->tagcap ? pr->tagcap : 512;
		while (cap < pr->taglen + n)
			cap *= 2;
		char *nb = realloc(pr->tagbuf, cap);
		if (!nb)
			return -1;
		for (unsigned i = 0; i < f->num_tags; i++) {
			f->tags[i].name = nb + name_off[i];
			f->tags[i].value = nb + value_off[i];
		}
		pr->tagbuf = nb;
		pr->tagcap = cap;
	}
	memcpy(pr->tagbuf + pr->taglen, s, n);
	*out = pr->tagbuf + pr->taglen;
	pr->taglen += n;
	return 0;
}

int vpipe_frame_set_tag(struct vpipe_frame *f, const char *name,
			const char *value)
{
	unsigned i;
	for (i = 0; i < f->num_tags; i++)
		if (!strcmp(f->tags[i].name, name))
			break;
	if (i == VPIPE_MAX_TAGS)
		return -1;
	if (i == f->num_tags) {
		/* The name first, with an empty value, so the tag list stays
		 * consistent if the buffer moves while the value is stored. */
		const char *n;
		if (tag_store(f, name, &n))
			return -1;
		f->tags[i].name = n;
		f->tags[i].value = n + strlen(n);
		f->num_tags++;
	}
	const char *v;
	if (tag_store(f, value, &v))
		return -1;
	f->tags[i].value = v;
	return 0;
}

const char *vpipe_frame_get_tag(const struct vpipe_frame *f, const char *name)
{
	for (unsigned i = 0; i < f->num_tags; i++)
		if (!strcmp(f->tags[i].name, name))
			return f->tags[i].value;
	return NULL;
}

int vpipe_frame_copy_tags(struct vpipe_frame *dst,
			  const struct vpipe_frame *src)
{
	for (unsigned i = 0; i < src->num_tags; i++)
		if (vpipe_frame_set_tag(dst, src->tags[i].name,
					src->tags[i].value))
			return -1;
	return 0;
}

size_t vpipe_format_raw_init(struct vpipe_format *fmt, uint32_t fourcc,
			     uint32_t width, uint32_t height)
{
	memset(fmt->stride, 0, sizeof(fmt->stride));
	memset(fmt->offset, 0, sizeof(fmt->offset));
	fmt->fourcc = fourcc;
	fmt->width = width;
	fmt->height = height;
	size_t w = width, h = height, cw = (w + 1) / 2, ch = (h + 1) / 2;
	switch (fourcc) {
	case VPIPE_FOURCC_I420:
		fmt->num_planes = 3;
		fmt->stride[0] = (uint32_t)w;
		fmt->stride[1] = fmt->stride[2] = (uint32_t)cw;
		fmt->offset[1] = (uint32_t)(w * h);
		fmt->offset[2] = (uint32_t)(w * h + cw * ch);
		return w * h + 2 * cw * ch;
	case VPIPE_FOURCC_NV12:
		fmt->num_planes = 2;
		fmt->stride[0] = (uint32_t)w;
		fmt->stride[1] = (uint32_t)(2 * cw);
		fmt->offset[1] = (uint32_t)(w * h);
		return w * h + 2 * cw * ch;
	case VPIPE_FOURCC_YUYV:
		fmt->num_planes = 1;
		fmt->stride[0] = (uint32_t)(2 * cw * 2);
		return 2 * cw * 2 * h;
	default:
		fmt->num_planes = 0;
		return 0;
	}
}

const char *vpipe_fourcc_name(uint32_t fourcc)
{
	switch (fourcc) {
	case VPIPE_FOURCC_I420:
		return "i420";
	case VPIPE_FOURCC_NV12:
		return "nv12";
	case VPIPE_FOURCC_YUYV:
		return "yuyv";
	case VPIPE_FOURCC_MJPG:
		return "mjpeg";
	case VPIPE_FOURCC_H264:
		return "h264";
	case VPIPE_FOURCC_H265:
		return "h265";
	default:
		return "????";
	}
}

const char *vpipe_media_name(uint32_t media)
{
	switch (media) {
	case VPIPE_MEDIA_RAW_VIDEO:
		return "raw video";
	case VPIPE_MEDIA_H264:
		return "h264";
	case VPIPE_MEDIA_H265:
		return "h265";
	case VPIPE_MEDIA_MKV:
		return "matroska";
	case VPIPE_MEDIA_JPEG:
		return "jpeg";
	case VPIPE_MEDIA_PNG:
		return "png";
	case VPIPE_MEDIA_EVENT:
		return "event";
	default:
		return "mixed";
	}
}
