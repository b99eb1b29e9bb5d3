/* Mapped device buffers lent to frames downstream; see v4l2src.h.
 *
 * The release callback runs on whatever thread drops the last reference.
 * A small mutex (not a lock-free list) guards the returned indices because
 * the end of a session races with returns: under the lock, a return either
 * lands in the list of a live set (the node thread re-queues it) or drops
 * its reference to an ended set (the last one unmaps). */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "v4l2src.h"

static void default_unmap(void *mem, size_t len)
{
	munmap(mem, len);
}

static void default_close(int fd)
{
	close(fd);
}

struct bufset *bufset_new(struct vpipe_node *node, unsigned count)
{
	if (count > V4L2SRC_MAX_BUFFERS)
		return NULL;
	struct bufset *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	s->refs = 1;
	s->live = true;
	s->node = node;
	s->count = count;
	s->unmap = default_unmap;
	s->close_fd = default_close;
	s->wake = vpipe_node_wake;
	for (unsigned i = 0; i < count; i++) {
		s->bufs[i].set = s;
		s->bufs[i].index = i;
		s->bufs[i].dmabuf_fd = -1;
	}
	return s;
}

static void bufset_free(struct bufset *s)
{
	for (unsigned i = 0; i < s->count; i++) {
		if (s->bufs[i].mem)
			s->unmap(s->bufs[i].mem, s->bufs[i].length);
		if (s->bufs[i].dmabuf_fd >= 0)
			s->close_fd(s->bufs[i].dmabuf_fd);
	}
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void bufset_lend(struct bufset *s, uint32_t index)
{
	(void)index;
	pthread_mutex_lock(&s->mu);
	s->refs++;
	pthread_mutex_unlock(&s->mu);
}

void bufset_release(void *opaque)
{
	struct bufset_buf *b = opaque;
	struct bufset *s = b->set;
	bool last = false;
	pthread_mutex_lock(&s->mu);
	if (s->live) {
		/* the reference moves to the list; the node thread drops it */
		s->returned[s->nreturned++] = b->index;
		s->wake(s->node);
	} else {
		last = --s->refs == 0;
	}
	pthread_mutex_unlock(&s->mu);
	if (last)
		bufset_free(s);
}

unsigned bufset_take_returned(struct bufset *s, uint32_t *out)
{
	pthread_mutex_lock(&s->mu);
	unsigned n = s->nreturned;
	for (unsigned i = 0; i < n; i++)
		out[i] = s->returned[i];
	s->nreturned = 0;
	s->refs -= (int)n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void bufset_end(struct bufset *s)
{
	pthread_mutex_lock(&s->mu);
	s->live = false;
	s->refs -= (int)s->nreturned + 1;
	s->nreturned = 0;
	bool last = s->refs == 0;
	pthread_mutex_unlock(&s->mu);
	if (last)
		bufset_free(s);
}
