/* The kvs sink's disk spool (see spool.h): the index, appending,
 * reading in order and acknowledging. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bytes.h"
#include "spool_int.h"

/* ------------------------------------------------------------- helpers */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t kvs_spool_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

void spool_logf(struct kvs_spool *sp, enum kvs_spool_log lvl, const char *fmt,
		...)
{
	if (!sp->cfg.log)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sp->cfg.log(sp->cfg.log_ctx, lvl, msg);
}

void spool_seg_name(char *out, size_t n, uint64_t no, const char *ext)
{
	snprintf(out, n, "seg-%020" PRIu64 ".%s", no, ext);
}

int spool_seg_open(struct kvs_spool *sp, uint64_t no, const char *ext,
		   int flags)
{
	char name[64];
	spool_seg_name(name, sizeof(name), no, ext);
	return openat(sp->dir_fd, name, flags | O_CLOEXEC, 0644);
}

struct seg *spool_seg_append(struct kvs_spool *sp, uint64_t no)
{
	if (sp->n_segs == sp->cap_segs) {
		size_t cap = sp->cap_segs ? sp->cap_segs * 2 : 16;
		struct seg *s = realloc(sp->segs, cap * sizeof(*s));
		if (!s)
			return NULL;
		sp->segs = s;
		sp->cap_segs = cap;
	}
	struct seg *s = &sp->segs[sp->n_segs++];
	memset(s, 0, sizeof(*s));
	s->no = no;
	s->ack_fd = -1;
	return s;
}

struct frag_rec *spool_frag_add(struct seg *s, uint64_t id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct frag_rec *f = realloc(s->frags, cap * sizeof(*f));
		if (!f)
			return NULL;
		s->frags = f;
		s->cap = cap;
	}
	struct frag_rec *f = &s->frags[s->n++];
	memset(f, 0, sizeof(*f));
	f->id = id;
	return f;
}

struct frag_rec *spool_frag_find(struct seg *s, uint64_t id)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->frags[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->frags[lo].id == id ? &s->frags[lo] : NULL;
}

/* Forget segment i and delete its files: the record file first, so a
 * power cut in between leaves a journal without records (ignored), never
 * records without their journal (sent again). */
void spool_seg_delete(struct kvs_spool *sp, size_t i)
{
	struct seg *s = &sp->segs[i];
	char name[64];
	spool_seg_name(name, sizeof(name), s->no, "vsp");
	unlinkat(sp->dir_fd, name, 0);
	fsync(sp->dir_fd);
	spool_seg_name(name, sizeof(name), s->no, "ack");
	unlinkat(sp->dir_fd, name, 0);
	if (s->ack_fd >= 0)
		close(s->ack_fd);
	if (sp->rfd >= 0 && sp->rfd_no == s->no) {
		close(sp->rfd);
		sp->rfd = -1;
	}
	sp->bytes -= s->size;
	sp->not_done -= s->n - s->n_done;
	free(s->frags);
	memmove(s, s + 1, (sp->n_segs - i - 1) * sizeof(*s));
	sp->n_segs--;
}

bool spool_seg_active(const struct kvs_spool *sp, const struct seg *s)
{
	return sp->wfd >= 0 && s == &sp->segs[sp->n_segs - 1];
}

void spool_encode_head(uint8_t *h, int type, int flags, uint32_t len,
		       uint64_t id, int64_t tc, int64_t pts, int64_t wall)
{
	wr_be32(h, REC_MAGIC);
	h[4] = (uint8_t)type;
	h[5] = (uint8_t)flags;
	h[6] = h[7] = 0;
	wr_be32(h + 8, len);
	wr_be64(h + 12, id);
	wr_be64(h + 20, (uint64_t)tc);
	wr_be64(h + 28, (uint64_t)pts);
	wr_be64(h + 36, (uint64_t)wall);
}

/* Parses a record head; NULL when sane, else why not. */
const char *spool_decode_head(const uint8_t *h, struct head *o)
{
	if (rd_be32(h) != REC_MAGIC)
		return "no record magic";
	o->type = h[4];
	o->flags = h[5];
	o->len = rd_be32(h + 8);
	o->id = rd_be64(h + 12);
	o->tc = (int64_t)rd_be64(h + 20);
	o->pts = (int64_t)rd_be64(h + 28);
	o->wall = (int64_t)rd_be64(h + 36);
	o->crc = rd_be32(h + 44);
	if (o->type != TYPE_HEADER && o->type != TYPE_FRAME)
		return "unknown record type";
	if (h[6] || h[7] || (o->flags & ~FLAG_START))
		return "reserved bits set";
	if (o->len > KVS_SPOOL_MAX_PAYLOAD)
		return "record length out of range";
	if (o->type == TYPE_FRAME && !o->id)
		return "frame record without a fragment id";
	return NULL;
}

int spool_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static void sync_all(struct kvs_spool *sp, int64_t now)
{
	if (sp->wfd >= 0 && sp->dirty) {
		fdatasync(sp->wfd);
		sp->syncs++;
	}
	for (size_t i = 0; i < sp->n_segs; i++)
		if (sp->segs[i].ack_dirty) {
			fdatasync(sp->segs[i].ack_fd);
			sp->segs[i].ack_dirty = false;
		}
	sp->dirty = false;
	sp->last_sync = now;
}

void kvs_spool_close(struct kvs_spool *sp)
{
	if (!sp)
		return;
	sync_all(sp, 0);
	if (sp->wfd >= 0) {
		close(sp->wfd);
		sp->wfd = -1;
		/* Nothing left to send in the last segment: it goes too. */
		struct seg *last = &sp->segs[sp->n_segs - 1];
		if (last->n_done == last->n)
			spool_seg_delete(sp, sp->n_segs - 1);
	}
	if (sp->rfd >= 0)
		close(sp->rfd);
	for (size_t i = 0; i < sp->n_segs; i++) {
		if (sp->segs[i].ack_fd >= 0)
			close(sp->segs[i].ack_fd);
		free(sp->segs[i].frags);
	}
	free(sp->segs);
	if (sp->lock_fd >= 0)
		close(sp->lock_fd);
	if (sp->dir_fd >= 0)
		close(sp->dir_fd);
	free(sp->hdr);
	free(sp->dir);
	pthread_mutex_destroy(&sp->lock);
	free(sp);
}

/* -------------------------------------------------------------- writer */

/* Appends one record to the active segment; on failure the segment is cut
 * back so no partial record stays. */
static int append(struct kvs_spool *sp, int type, int flags, const uint8_t *p,
		  size_t n, uint64_t id, int64_t tc, int64_t pts, int64_t wall,
		  char *err, size_t errlen)
{
	struct seg *s = &sp->segs[sp->n_segs - 1];
	uint8_t h[KVS_SPOOL_REC_HEAD];
	spool_encode_head(h, type, flags, (uint32_t)n, id, tc, pts, wall);
	uint32_t crc = kvs_spool_crc32(0, h, 44);
	wr_be32(h + 44, kvs_spool_crc32(crc, p, n));
	struct iovec iov[2] = {{h, sizeof(h)}, {(void *)p, n}};
	size_t want = sizeof(h) + n, done = 0;
	while (done < want) {
		ssize_t w = pwritev(sp->wfd, iov, 2, (off_t)(s->size + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : ENOSPC;
			if (ftruncate(sp->wfd, (off_t)s->size)) {
			}
			snprintf(err, errlen, "spool %s: writing: %s", sp->dir,
				 strerror(e));
			errno = e;
			return -1;
		}
		done += (size_t)w;
		/* Advance the vectors past what was written. */
		size_t adv = (size_t)w;
		for (int i = 0; i < 2; i++) {
			size_t c = adv < iov[i].iov_len ? adv : iov[i].iov_len;
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + c;
			iov[i].iov_len -= c;
			adv -= c;
		}
	}
	s->size += want;
	sp->bytes += want;
	sp->written += want;
	sp->dirty = true;
	return 0;
}

static int roll(struct kvs_spool *sp, int64_t now, char *err, size_t errlen)
{
	if (sp->wfd >= 0) {
		sync_all(sp, now);
		close(sp->wfd);
		sp->wfd = -1;
		struct seg *last = &sp->segs[sp->n_segs - 1];
		if (last->n_done == last->n)
			spool_seg_delete(sp, sp->n_segs - 1);
	}
	uint64_t no = sp->next_seg_no++;
	struct seg *s = spool_seg_append(sp, no);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sp->wfd = spool_seg_open(sp, no, "vsp", O_WRONLY | O_CREAT | O_TRUNC);
	if (sp->wfd < 0) {
		snprintf(err, errlen, "spool %s: creating a segment: %s",
			 sp->dir, strerror(errno));
		sp->n_segs--;
		return -1;
	}
	fsync(sp->dir_fd); /* the new name survives a power cut */
	sp->hdr_pending = true;
	return 0;
}

/* Drop-oldest: remove the oldest segment that is not being written. What
 * the reader already handed to the content store is on its way and not
 * counted here (the store counts it if it drops it). */
static bool drop_oldest(struct kvs_spool *sp, struct kvs_spool_drops *d)
{
	if (sp->n_segs == 0 || spool_seg_active(sp, &sp->segs[0]))
		return false;
	struct seg *s = &sp->segs[0];
	unsigned frags = 0, frames = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct frag_rec *f = &s->frags[i];
		if (f->done || s->no < sp->rseg_no)
			continue;
		if (f->id == sp->rfrag) {
			/* Its head is in the store: its tail is lost. */
			frames += f->frames - sp->rfrag_frames;
			continue;
		}
		if (s->no == sp->rseg_no && f->off < sp->roff)
			continue;
		frags++;
		frames += f->frames;
		bytes += f->bytes;
	}
	if (d) {
		d->fragments += frags;
		d->frames += frames;
		d->bytes += bytes;
	}
	sp->dropped_fragments += frags;
	sp->dropped_frames += frames;
	spool_seg_delete(sp, 0);
	return true;
}

static bool fits(const struct kvs_spool *sp, uint64_t need)
{
	return sp->bytes + need <= sp->cfg.max_bytes;
}

int kvs_spool_put_header(struct kvs_spool *sp, const uint8_t *p, size_t n,
			 char *err, size_t errlen)
{
	pthread_mutex_lock(&sp->lock);
	int rc = 0;
	if (!sp->hdr || sp->hdr_len != n || memcmp(sp->hdr, p, n)) {
		uint8_t *c = malloc(n ? n : 1);
		if (!c) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		} else {
			memcpy(c, p, n);
			free(sp->hdr);
			sp->hdr = c;
			sp->hdr_len = n;
			sp->hdr_pending = true;
		}
	}
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

bool kvs_spool_has_room(struct kvs_spool *sp, size_t n)
{
	pthread_mutex_lock(&sp->lock);
	bool room = fits(sp, KVS_SPOOL_REC_HEAD * 2 + n + sp->hdr_len);
	pthread_mutex_unlock(&sp->lock);
	return room;
}

static int put_frame_locked(struct kvs_spool *sp, const uint8_t *p, size_t n,
			    bool start, int64_t tc, int64_t pts, int64_t wall,
			    int64_t now, struct kvs_spool_drops *d, char *err,
			    size_t errlen)
{
	if (n > KVS_SPOOL_MAX_PAYLOAD)
		return 1;
	if (start) {
		if (!sp->hdr)
			return 1;
		sp->open_frag = 0;
		sp->skip_to_fragment = false;
		/* The fragment before is complete: make it durable. */
		if (sp->cfg.sync_interval == 0 ||
		    now - sp->last_sync >= sp->cfg.sync_interval)
			sync_all(sp, now);
		if (sp->wfd < 0 ||
		    sp->segs[sp->n_segs - 1].size >= sp->cfg.segment_bytes)
			if (roll(sp, now, err, errlen))
				return -1;
	} else if (!sp->open_frag || sp->skip_to_fragment) {
		return 1;
	} else if (sp->cfg.sync_interval > 0 &&
		   now - sp->last_sync >= sp->cfg.sync_interval) {
		sync_all(sp, now);
	}
	uint64_t need = KVS_SPOOL_REC_HEAD + n;
	if (sp->hdr_pending)
		need += KVS_SPOOL_REC_HEAD + sp->hdr_len;
	while (!fits(sp, need))
		if (sp->cfg.block_when_full || !drop_oldest(sp, d)) {
			sp->skip_to_fragment = true;
			return 1;
		}
	if (sp->hdr_pending) {
		if (append(sp, TYPE_HEADER, 0, sp->hdr, sp->hdr_len, 0, 0, 0, 0,
			   err, errlen))
			return -1;
		sp->hdr_pending = false;
	}
	struct seg *s = &sp->segs[sp->n_segs - 1];
	uint64_t id = start ? sp->next_id : sp->open_frag;
	if (!start)
		tc = sp->open_tc; /* every record names its fragment's */
	uint64_t off = s->size;
	if (append(sp, TYPE_FRAME, start ? FLAG_START : 0, p, n, id, tc, pts,
		   wall, err, errlen))
		return -1;
	struct frag_rec *f;
	if (start) {
		if (!(f = spool_frag_add(s, id))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		f->first_wall = wall;
		f->off = off;
		sp->open_first_pts = pts;
		sp->open_tc = tc;
		sp->next_id++;
		sp->open_frag = id;
		sp->not_done++;
	} else {
		f = &s->frags[s->n - 1];
	}
	f->frames++;
	f->bytes += n;
	sp->last_ms = tc + (pts - sp->open_first_pts) / 1000000;
	return 0;
}

int kvs_spool_put_frame(struct kvs_spool *sp, const uint8_t *p, size_t n,
			bool starts_fragment, int64_t timecode_ms, int64_t pts,
			int64_t wallclock, int64_t now,
			struct kvs_spool_drops *d, char *err, size_t errlen)
{
	pthread_mutex_lock(&sp->lock);
	if (starts_fragment && sp->last_ms >= 0 && timecode_ms <= sp->last_ms)
		spool_logf(sp, KVS_SPOOL_WARN,
			   "fragment timecode %" PRId64 " ms is not after the "
			   "spool's newest frame (%" PRId64
			   " ms): the clock went back; the service refuses "
			   "fragments that overlap",
			   timecode_ms, sp->last_ms);
	int rc = put_frame_locked(sp, p, n, starts_fragment, timecode_ms, pts,
				  wallclock, now, d, err, errlen);
	/* The disk filled before spool-size: make room as when full. */
	while (rc < 0 && errno == ENOSPC && !sp->cfg.block_when_full &&
	       drop_oldest(sp, d))
		rc = put_frame_locked(sp, p, n, starts_fragment, timecode_ms,
				      pts, wallclock, now, d, err, errlen);
	if (rc < 0 && errno == ENOSPC) {
		spool_logf(sp, KVS_SPOOL_WARN, "%s: frame dropped", err);
		rc = 1;
	}
	if (rc && !starts_fragment)
		sp->skip_to_fragment = true;
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

int64_t kvs_spool_last_ms(struct kvs_spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	int64_t ms = sp->last_ms;
	pthread_mutex_unlock(&sp->lock);
	return ms;
}

void kvs_spool_end(struct kvs_spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	sync_all(sp, sp->last_sync);
	sp->open_frag = 0;
	sp->eos = true;
	pthread_mutex_unlock(&sp->lock);
}

/* -------------------------------------------------------------- reader */

static struct seg *reader_seg(struct kvs_spool *sp)
{
	for (size_t i = 0; i < sp->n_segs; i++) {
		struct seg *s = &sp->segs[i];
		if (s->no < sp->rseg_no)
			continue;
		if (s->no > sp->rseg_no) {
			sp->rseg_no = s->no;
			sp->roff = 0;
		}
		if (sp->roff < s->size)
			return s;
		if (spool_seg_active(sp, s) || i + 1 == sp->n_segs)
			return NULL;
	}
	return NULL;
}

bool kvs_spool_readable(struct kvs_spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	bool r = reader_seg(sp) != NULL;
	pthread_mutex_unlock(&sp->lock);
	return r;
}

/* The reader met a bad record: give up the rest of its segment. */
static void reader_skip_segment(struct kvs_spool *sp, struct seg *s,
				const char *why)
{
	spool_logf(sp, KVS_SPOOL_WARN,
		   "spool %s/seg-%020" PRIu64 ".vsp: %s at byte %" PRIu64
		   " while reading: the rest of the segment is skipped",
		   sp->dir, s->no, why, sp->roff);
	sp->roff = s->size;
	if (!spool_seg_active(sp, s))
		sp->rseg_no = s->no + 1;
}

static enum kvs_spool_next next_locked(struct kvs_spool *sp,
				       struct kvs_spool_rec *r, uint8_t **buf,
				       size_t *cap)
{
	for (;;) {
		struct seg *s = reader_seg(sp);
		if (!s)
			return sp->eos ? KVS_SPOOL_EOS : KVS_SPOOL_NONE;
		if (sp->rfd < 0 || sp->rfd_no != s->no) {
			if (sp->rfd >= 0)
				close(sp->rfd);
			sp->rfd = spool_seg_open(sp, s->no, "vsp", O_RDONLY);
			sp->rfd_no = s->no;
			if (sp->rfd < 0) {
				reader_skip_segment(sp, s, strerror(errno));
				continue;
			}
		}
		uint8_t h[KVS_SPOOL_REC_HEAD];
		struct head hd;
		const char *why = NULL;
		if (s->size - sp->roff < KVS_SPOOL_REC_HEAD ||
		    spool_pread_full(sp->rfd, h, sizeof(h), sp->roff))
			why = "unreadable record head";
		else if (!(why = spool_decode_head(h, &hd)) &&
			 s->size - sp->roff - KVS_SPOOL_REC_HEAD < hd.len)
			why = "record past the segment end";
		if (!why && *cap < hd.len + 1u) {
			uint8_t *nb = realloc(*buf, hd.len + 1u);
			if (!nb)
				return KVS_SPOOL_NONE;
			*buf = nb;
			*cap = hd.len + 1u;
		}
		if (!why && spool_pread_full(sp->rfd, *buf, hd.len,
					     sp->roff + KVS_SPOOL_REC_HEAD))
			why = "unreadable record";
		if (!why && kvs_spool_crc32(kvs_spool_crc32(0, h, 44), *buf,
					    hd.len) != hd.crc)
			why = "checksum mismatch";
		if (why) {
			reader_skip_segment(sp, s, why);
			continue;
		}
		sp->roff += KVS_SPOOL_REC_HEAD + hd.len;
		struct frag_rec *f =
		    hd.type == TYPE_FRAME ? spool_frag_find(s, hd.id) : NULL;
		if (hd.type == TYPE_FRAME && (!f || f->done))
			continue;
		if (hd.type == TYPE_FRAME) {
			if (hd.flags & FLAG_START) {
				sp->rfrag = hd.id;
				sp->rfrag_frames = 0;
			}
			if (hd.id == sp->rfrag)
				sp->rfrag_frames++;
		}
		memset(r, 0, sizeof(*r));
		r->type = hd.type;
		r->starts_fragment = hd.flags & FLAG_START;
		r->frag_id = hd.id;
		r->timecode_ms = hd.tc;
		r->pts = hd.pts;
		r->wallclock = hd.wall;
		r->from_earlier_run = f && f->earlier;
		r->data = *buf;
		r->len = hd.len;
		return KVS_SPOOL_GOT;
	}
}

enum kvs_spool_next kvs_spool_next(struct kvs_spool *sp,
				   struct kvs_spool_rec *r, uint8_t **buf,
				   size_t *cap)
{
	pthread_mutex_lock(&sp->lock);
	enum kvs_spool_next rc = next_locked(sp, r, buf, cap);
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

static void journal(struct kvs_spool *sp, struct seg *s, uint64_t id)
{
	if (s->ack_fd < 0)
		s->ack_fd = spool_seg_open(sp, s->no, "ack",
					   O_WRONLY | O_CREAT | O_APPEND);
	if (s->ack_fd < 0)
		return;
	uint8_t r[ACK_LEN];
	wr_be32(r, ACK_MAGIC);
	wr_be64(r + 4, id);
	wr_be32(r + 12, kvs_spool_crc32(0, r, 12));
	if (write(s->ack_fd, r, sizeof(r)) == (ssize_t)sizeof(r))
		s->ack_dirty = true;
	sp->written += sizeof(r);
}

void kvs_spool_done(struct kvs_spool *sp, uint64_t frag_id)
{
	pthread_mutex_lock(&sp->lock);
	for (size_t i = 0; i < sp->n_segs; i++) {
		struct seg *s = &sp->segs[i];
		struct frag_rec *f = spool_frag_find(s, frag_id);
		if (!f)
			continue;
		if (f->done)
			break;
		f->done = true;
		s->n_done++;
		sp->not_done--;
		if (f->earlier)
			sp->replay_done++;
		if (s->n_done == s->n && !spool_seg_active(sp, s))
			spool_seg_delete(sp, i);
		else
			journal(sp, s, frag_id);
		break;
	}
	pthread_mutex_unlock(&sp->lock);
}

void kvs_spool_stats(struct kvs_spool *sp, struct kvs_spool_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&sp->lock);
	st->bytes = sp->bytes;
	st->max_bytes = sp->cfg.max_bytes;
	st->fragments = sp->not_done;
	st->replay_total = sp->replay_total;
	st->replay_done = sp->replay_done;
	st->written_bytes = sp->written;
	st->syncs = sp->syncs;
	st->dropped_fragments = sp->dropped_fragments;
	st->dropped_frames = sp->dropped_frames;
	st->segments = (unsigned)sp->n_segs;
	for (size_t i = 0; i < sp->n_segs && !st->oldest_wall; i++)
		for (size_t j = 0; j < sp->segs[i].n; j++)
			if (!sp->segs[i].frags[j].done) {
				st->oldest_wall =
				    sp->segs[i].frags[j].first_wall;
				break;
			}
	pthread_mutex_unlock(&sp->lock);
}
