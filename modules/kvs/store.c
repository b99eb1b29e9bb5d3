/* The kvs sink's content store (see store.h). */
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <vpipe/frame.h>

struct kvs_hdr {
	uint8_t *data;
	size_t len;
	unsigned refs;
};

#define MIN_FRAG_CAP (64 * 1024)

static struct kvs_hdr *hdr_ref(struct kvs_hdr *h)
{
	if (h)
		h->refs++;
	return h;
}

static void hdr_unref(struct kvs_store *s, struct kvs_hdr *h)
{
	if (!h || --h->refs)
		return;
	s->bytes -= h->len;
	free(h->data);
	free(h);
}

int kvs_store_init(struct kvs_store *s, const struct kvs_store_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->next_id = 1;
	s->next_send = 1;
	s->lat_hist = calloc(KVS_LAT_BUCKETS, sizeof(*s->lat_hist));
	if (!s->lat_hist || pthread_mutex_init(&s->lock, NULL)) {
		free(s->lat_hist);
		return -1;
	}
	return 0;
}

/* Fragment bytes live in their own mapping, not in malloc's heap: growing
 * one (mremap) copies nothing, capacity not yet written costs no memory,
 * and a fragment acknowledged goes back to the system at once. With malloc
 * the node thread allocates and the worker frees, so each stream kept a
 * few fragments' worth of freed heap resident (measured: 16 streams used
 * 81 MiB, see docs/modules/kvs.md). cap is a multiple of the page size. */
static uint8_t *frag_data_resize(uint8_t *old, size_t old_cap, size_t cap)
{
	void *p = old ? mremap(old, old_cap, cap, MREMAP_MAYMOVE)
		      : mmap(NULL, cap, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static size_t page_round(size_t n)
{
	const size_t page = 4096;
	return (n + page - 1) / page * page;
}

static void frag_free(struct kvs_store *s, struct kvs_frag *f)
{
	s->bytes -= f->cap;
	hdr_unref(s, f->hdr);
	if (f->data)
		munmap(f->data, f->cap);
	free(f->frame_end);
	free(f->frame_wall);
	free(f);
}

void kvs_store_free(struct kvs_store *s)
{
	struct kvs_frag *f = s->head;
	while (f) {
		struct kvs_frag *next = f->next;
		frag_free(s, f);
		f = next;
	}
	hdr_unref(s, s->hdr_cur);
	hdr_unref(s, s->hdr_sent);
	hdr_unref(s, s->hdr);
	free(s->lat_hist);
	pthread_mutex_destroy(&s->lock);
	memset(s, 0, sizeof(*s));
}

/* Unlink f (anywhere in the list) and free it, keeping the cursor sane. */
static void frag_remove(struct kvs_store *s, struct kvs_frag *f)
{
	struct kvs_frag **pp = &s->head, *prev = NULL;
	while (*pp && *pp != f) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = f->next;
	if (s->tail == f)
		s->tail = prev;
	if (s->cur == f) {
		if (s->off > 0 || (s->hdr_cur && s->hdr_off > 0))
			s->broken = true;
		s->cur = NULL;
		s->next_send = f->id + 1;
		if (s->hdr_cur && s->hdr_off == 0) {
			hdr_unref(s, s->hdr_cur);
			s->hdr_cur = NULL;
		}
	}
	s->n_frags--;
	if (f->ref && s->cfg.on_remove)
		s->cfg.on_remove(s->cfg.on_remove_ctx, f->ref);
	frag_free(s, f);
}

static void drop(struct kvs_store *s, struct kvs_frag *f, struct kvs_drops *d,
		 unsigned *reason)
{
	if (f == s->tail && !f->closed)
		s->skip_to_fragment = true;
	if (d) {
		d->fragments++;
		d->frames += f->frames;
		d->bytes += f->len;
		(*reason)++;
	}
	s->dropped_fragments++;
	s->dropped_frames += f->frames;
	bool was_broken = s->broken;
	frag_remove(s, f);
	if (d && s->broken && !was_broken)
		d->broke_connection = true;
}

int kvs_store_put_header(struct kvs_store *s, const uint8_t *p, size_t n)
{
	struct kvs_hdr *h = calloc(1, sizeof(*h));
	uint8_t *copy = malloc(n ? n : 1);
	if (!h || !copy) {
		free(h);
		free(copy);
		return -1;
	}
	memcpy(copy, p, n);
	h->data = copy;
	h->len = n;
	h->refs = 1;
	pthread_mutex_lock(&s->lock);
	if (s->hdr && s->hdr->len == n && !memcmp(s->hdr->data, p, n)) {
		pthread_mutex_unlock(&s->lock);
		free(copy);
		free(h);
		return 0;
	}
	s->bytes += n;
	hdr_unref(s, s->hdr);
	s->hdr = h;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Evict the oldest fragments until `need` more bytes fit. The open
 * fragment goes last; returns false when even that was not enough. */
static bool make_room(struct kvs_store *s, size_t need, struct kvs_drops *d)
{
	while (s->bytes + need > s->cfg.max_bytes && s->head) {
		unsigned dummy = 0;
		drop(s, s->head, d, d ? &d->by_size : &dummy);
	}
	return s->bytes + need <= s->cfg.max_bytes;
}

static void close_tail(struct kvs_store *s, int64_t now)
{
	struct kvs_frag *t = s->tail;
	if (!t || t->closed)
		return;
	t->closed = true;
	if (s->cur == t && s->off == t->len && !t->t_last_byte)
		t->t_last_byte = now;
}

static struct kvs_frag *new_fragment(struct kvs_store *s, int64_t timecode_ms,
				     int64_t pts)
{
	struct kvs_frag *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->id = s->next_id++;
	f->ref = s->next_ref;
	s->next_ref = 0;
	f->hdr = hdr_ref(s->hdr);
	f->timecode_ms = timecode_ms;
	f->first_pts = f->last_pts = pts;
	if (s->tail)
		s->tail->next = f;
	else
		s->head = f;
	s->tail = f;
	s->n_frags++;
	return f;
}

static int grow_frames(struct kvs_frag *f)
{
	if (f->frames < f->frame_cap)
		return 0;
	unsigned cap = f->frame_cap ? f->frame_cap * 2 : 64;
	uint32_t *e = realloc(f->frame_end, cap * sizeof(*e));
	if (!e)
		return -1;
	f->frame_end = e;
	int64_t *w = realloc(f->frame_wall, cap * sizeof(*w));
	if (!w)
		return -1;
	f->frame_wall = w;
	f->frame_cap = cap;
	return 0;
}

void kvs_store_set_next_ref(struct kvs_store *s, uint64_t ref)
{
	pthread_mutex_lock(&s->lock);
	s->next_ref = ref;
	pthread_mutex_unlock(&s->lock);
}

bool kvs_store_has_room(struct kvs_store *s, size_t n)
{
	pthread_mutex_lock(&s->lock);
	bool room = s->bytes + n + MIN_FRAG_CAP <= s->cfg.max_bytes;
	pthread_mutex_unlock(&s->lock);
	return room;
}

int kvs_store_put_frame(struct kvs_store *s, const uint8_t *p, size_t n,
			bool starts_fragment, int64_t timecode_ms, int64_t pts,
			int64_t wallclock, int64_t now, struct kvs_drops *d)
{
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	if (starts_fragment) {
		if (!s->hdr) {
			rc = 1;
			goto out;
		}
		close_tail(s, now);
		s->skip_to_fragment = false;
		/* Older than buffer-duration: the oldest go first. */
		while (pts != VPIPE_TIME_NONE && s->head &&
		       s->head->first_pts != VPIPE_TIME_NONE &&
		       pts - s->head->first_pts > s->cfg.buffer_ns) {
			unsigned dummy = 0;
			drop(s, s->head, d, d ? &d->by_duration : &dummy);
		}
		if (!new_fragment(s, timecode_ms, pts)) {
			rc = -1;
			goto out;
		}
	} else if (!s->tail || s->tail->closed || s->skip_to_fragment) {
		rc = 1;
		goto out;
	}
	struct kvs_frag *f = s->tail;
	if (f->len + n > UINT32_MAX) {
		unsigned dummy = 0;
		drop(s, f, d, d ? &d->by_size : &dummy);
		rc = 1;
		goto out;
	}
	if (f->len + n > f->cap) {
		size_t cap = f->cap * 2;
		if (cap < f->len + n)
			cap = f->len + n;
		if (cap < MIN_FRAG_CAP)
			cap = MIN_FRAG_CAP;
		/* Near the limit, grow by exactly what is needed. */
		if (s->bytes + (cap - f->cap) > s->cfg.max_bytes)
			cap = f->len + n;
		cap = page_round(cap);
		if (!make_room(s, cap - f->cap, d) || s->tail != f) {
			rc = 1; /* the open fragment itself went */
			goto out;
		}
		uint8_t *nd = frag_data_resize(f->data, f->cap, cap);
		if (!nd) {
			rc = -1;
			goto out;
		}
		s->bytes += cap - f->cap;
		f->data = nd;
		f->cap = cap;
	}
	if (grow_frames(f)) {
		rc = -1;
		goto out;
	}
	memcpy(f->data + f->len, p, n);
	f->len += n;
	f->frame_end[f->frames] = (uint32_t)f->len;
	f->frame_wall[f->frames] = wallclock;
	f->frames++;
	if (pts != VPIPE_TIME_NONE)
		f->last_pts = pts;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void kvs_store_end(struct kvs_store *s, int64_t now)
{
	pthread_mutex_lock(&s->lock);
	close_tail(s, now);
	s->eos = true;
	pthread_mutex_unlock(&s->lock);
}

static bool frag_done(const struct kvs_store *s, const struct kvs_frag *f)
{
	return f->persisted || (f->received && s->cfg.done_on_received);
}

void kvs_store_rewind(struct kvs_store *s, struct kvs_drops *d)
{
	pthread_mutex_lock(&s->lock);
	hdr_unref(s, s->hdr_cur);
	hdr_unref(s, s->hdr_sent);
	s->hdr_cur = s->hdr_sent = NULL;
	s->hdr_off = 0;
	s->cur = NULL;
	s->off = 0;
	s->broken = false;
	int64_t newest = s->tail ? s->tail->last_pts : VPIPE_TIME_NONE;
	struct kvs_frag *f = s->head;
	while (f) {
		struct kvs_frag *next = f->next;
		/* RECEIVED on the old connection: the service has it whole,
		 * and its PERSISTED ACK can no longer reach us. */
		if (frag_done(s, f) || f->received) {
			frag_remove(s, f);
		} else if (f != s->tail && newest != VPIPE_TIME_NONE &&
			   f->last_pts != VPIPE_TIME_NONE &&
			   newest - f->last_pts > s->cfg.replay_ns) {
			unsigned dummy = 0;
			drop(s, f, d, d ? &d->by_replay : &dummy);
		} else {
			if (d && f->t_first_byte)
				d->resent++;
			f->t_first_byte = f->t_last_byte = 0;
			f->frames_sent = 0;
			f->buffering = false;
		}
		f = next;
	}
	s->broken = false;
	s->next_send = s->head ? s->head->id : s->next_id;
	pthread_mutex_unlock(&s->lock);
}

static struct kvs_frag *find_from(struct kvs_store *s, uint64_t id)
{
	for (struct kvs_frag *f = s->head; f; f = f->next)
		if (f->id >= id)
			return f;
	return NULL;
}

static void latency_sample(struct kvs_store *s, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	int64_t us = ns / 1000;
	size_t b = us < 100000 ? (size_t)(us / 100)
			       : KVS_LAT_FINE + (size_t)((us - 100000) / 1000);
	if (b >= KVS_LAT_BUCKETS)
		b = KVS_LAT_BUCKETS - 1;
	s->lat_hist[b]++;
	s->lat_count++;
}

static void frames_on_wire(struct kvs_store *s, struct kvs_frag *f,
			   int64_t wall_now, unsigned *frames_done)
{
	while (f->frames_sent < f->frames &&
	       f->frame_end[f->frames_sent] <= s->off) {
		int64_t w = f->frame_wall[f->frames_sent];
		if (w > 0 && w != VPIPE_TIME_NONE && wall_now > 0)
			latency_sample(s, wall_now - w);
		f->frames_sent++;
		s->sent_frames++;
		(*frames_done)++;
	}
}

size_t kvs_store_read(struct kvs_store *s, uint8_t *buf, size_t max,
		      bool stop_at_boundary, int64_t now, int64_t wall_now,
		      enum kvs_read_state *state, unsigned *frames_done,
		      unsigned *frags_done)
{
	size_t total = 0;
	*state = KVS_READ_DATA;
	pthread_mutex_lock(&s->lock);
	while (total < max) {
		if (s->hdr_cur) {
			size_t c = s->hdr_cur->len - s->hdr_off;
			if (c > max - total)
				c = max - total;
			memcpy(buf + total, s->hdr_cur->data + s->hdr_off, c);
			total += c;
			s->hdr_off += c;
			if (s->hdr_off == s->hdr_cur->len) {
				hdr_unref(s, s->hdr_sent);
				s->hdr_sent = s->hdr_cur;
				s->hdr_cur = NULL;
				s->hdr_off = 0;
			}
			continue;
		}
		if (!s->cur) {
			struct kvs_frag *f = find_from(s, s->next_send);
			if (stop_at_boundary) {
				*state = KVS_READ_BOUNDARY;
				break;
			}
			if (!f) {
				*state = s->eos ? KVS_READ_END : KVS_READ_WAIT;
				break;
			}
			s->cur = f;
			s->off = 0;
			if (f->hdr != s->hdr_sent) {
				s->hdr_cur = hdr_ref(f->hdr);
				s->hdr_off = 0;
			}
			continue;
		}
		struct kvs_frag *f = s->cur;
		size_t avail = f->len - s->off;
		if (avail == 0) {
			if (!f->closed) {
				*state = KVS_READ_WAIT;
				break;
			}
			if (!f->t_last_byte)
				f->t_last_byte = now;
			s->sent_fragments++;
			(*frags_done)++;
			s->next_send = f->id + 1;
			s->cur = NULL;
			s->off = 0;
			if (s->cfg.done_on_sent)
				frag_remove(s, f);
			continue;
		}
		if (s->off == 0 && !f->t_first_byte)
			f->t_first_byte = now;
		size_t c = avail < max - total ? avail : max - total;
		memcpy(buf + total, f->data + s->off, c);
		s->off += c;
		total += c;
		frames_on_wire(s, f, wall_now, frames_done);
	}
	s->sent_bytes += total;
	pthread_mutex_unlock(&s->lock);
	if (total)
		*state = KVS_READ_DATA;
	return total;
}

bool kvs_store_readable(struct kvs_store *s)
{
	pthread_mutex_lock(&s->lock);
	bool r;
	if (s->hdr_cur)
		r = true;
	else if (s->cur)
		r = s->off < s->cur->len || s->cur->closed;
	else
		r = find_from(s, s->next_send) != NULL || s->eos;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static struct kvs_frag *find_timecode(struct kvs_store *s, int64_t tc)
{
	for (struct kvs_frag *f = s->head; f; f = f->next)
		if (f->timecode_ms == tc && !frag_done(s, f))
			return f;
	return NULL;
}

int kvs_store_ack(struct kvs_store *s, enum kvs_ack_type type,
		  int64_t timecode_ms, int64_t now, int64_t *latency_ns)
{
	*latency_ns = -1;
	pthread_mutex_lock(&s->lock);
	struct kvs_frag *f = find_timecode(s, timecode_ms);
	if (!f) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	switch (type) {
	case KVS_ACK_BUFFERING:
		f->buffering = true;
		if (f->t_first_byte)
			*latency_ns = now - f->t_first_byte;
		break;
	case KVS_ACK_RECEIVED:
	case KVS_ACK_PERSISTED:
		f->buffering = true;
		f->received = true;
		if (type == KVS_ACK_PERSISTED)
			f->persisted = true;
		if (f->t_last_byte)
			*latency_ns = now - f->t_last_byte;
		if (frag_done(s, f)) {
			if (s->cur == f) {
				/* Acknowledged whole: the cursor is past it. */
				if (s->off < f->len || !f->closed)
					break;
				s->sent_fragments++;
				s->cur = NULL;
				s->off = 0;
				s->next_send = f->id + 1;
			}
			frag_remove(s, f);
		}
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return 1;
}

unsigned kvs_store_error(struct kvs_store *s, int64_t timecode_ms, bool skip,
			 struct kvs_drops *d)
{
	pthread_mutex_lock(&s->lock);
	struct kvs_frag *f = find_timecode(s, timecode_ms);
	unsigned n = 0;
	if (f) {
		n = ++f->error_acks;
		if (skip) {
			unsigned dummy = 0;
			drop(s, f, d, d ? &d->by_error : &dummy);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

void kvs_store_stats(struct kvs_store *s, struct kvs_store_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->oldest_unacked_ms = -1;
	pthread_mutex_lock(&s->lock);
	st->bytes = s->bytes;
	st->max_bytes = s->cfg.max_bytes;
	st->fragments = s->n_frags;
	st->eos = s->eos;
	st->broken = s->broken;
	for (struct kvs_frag *f = s->head; f; f = f->next) {
		if (frag_done(s, f))
			continue;
		st->unacked++;
		st->unacked_frames += f->frames;
		st->unacked_bytes += f->len;
		if (st->oldest_unacked_ms < 0)
			st->oldest_unacked_ms = f->timecode_ms;
		if (f->t_first_byte && !f->buffering &&
		    (!st->sent_unacked_since ||
		     f->t_first_byte < st->sent_unacked_since))
			st->sent_unacked_since = f->t_first_byte;
	}
	if (s->hdr_cur)
		st->has_unsent = true;
	else if (s->cur)
		st->has_unsent = s->off < s->cur->len;
	else
		st->has_unsent = find_from(s, s->next_send) != NULL;
	pthread_mutex_unlock(&s->lock);
}

int64_t kvs_store_latency_pct(struct kvs_store *s, double pct)
{
	pthread_mutex_lock(&s->lock);
	int64_t result = -1;
	if (s->lat_count) {
		uint64_t want = (uint64_t)((double)s->lat_count * pct / 100.0);
		if (want >= s->lat_count)
			want = s->lat_count - 1;
		uint64_t seen = 0;
		for (size_t b = 0; b < KVS_LAT_BUCKETS; b++) {
			seen += s->lat_hist[b];
			if (seen > want) {
				int64_t us =
				    b < KVS_LAT_FINE
					? (int64_t)b * 100 + 100
					: 100000 +
					      (int64_t)(b - KVS_LAT_FINE) *
						  1000 +
					      1000;
				result = us * 1000;
				break;
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
	return result;
}
