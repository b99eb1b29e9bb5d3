/* The kvs sink's disk spool (see spool.h). */
#include "spool.h"

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

#define REC_MAGIC   0x56535031u /* "VSP1" */
#define ACK_MAGIC   0x56535041u /* "VSPA" */
#define ACK_LEN	    16
#define TYPE_HEADER 1
#define TYPE_FRAME  2
#define FLAG_START  1
#define SCAN_CHUNK  (256 * 1024)

struct frag_rec {
	uint64_t id;
	int64_t first_wall;
	uint64_t off; /* of its first record in the segment */
	unsigned frames;
	uint64_t bytes;
	bool done;
	bool earlier; /* found at open */
};

struct seg {
	uint64_t no;
	uint64_t size; /* bytes of whole, checked records */
	struct frag_rec *frags;
	size_t n, cap, n_done;
	int ack_fd; /* -1 until the first ACK is journalled */
	bool ack_dirty;
};

struct kvs_spool {
	pthread_mutex_t lock;
	struct kvs_spool_config cfg;
	char *dir;
	int dir_fd, lock_fd;
	struct seg *segs; /* oldest first */
	size_t n_segs, cap_segs;
	uint64_t bytes;
	uint64_t not_done;

	/* Writer. */
	int wfd; /* the active segment (the last), -1 none */
	uint64_t next_seg_no, next_id;
	uint8_t *hdr;
	size_t hdr_len;
	bool hdr_pending; /* a changed header goes before the next frame */
	uint64_t open_frag;
	int64_t open_first_pts, open_tc;
	int64_t last_ms; /* newest frame's time, timecode domain, -1 none */
	bool skip_to_fragment;
	bool dirty;
	int64_t last_sync;
	bool eos;

	/* Reader. */
	uint64_t rseg_no, roff;
	uint64_t rfrag;	       /* fragment the reader is in */
	unsigned rfrag_frames; /* of its frames, handed out */
	int rfd;
	uint64_t rfd_no;

	/* Totals. */
	uint64_t replay_total, replay_done, written, syncs;
	uint64_t dropped_fragments, dropped_frames;
};

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

static void logf_(struct kvs_spool *sp, enum kvs_spool_log lvl, const char *fmt,
		  ...) __attribute__((format(printf, 3, 4)));
static void logf_(struct kvs_spool *sp, enum kvs_spool_log lvl, const char *fmt,
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

static void seg_name(char *out, size_t n, uint64_t no, const char *ext)
{
	snprintf(out, n, "seg-%020" PRIu64 ".%s", no, ext);
}

static int seg_open(struct kvs_spool *sp, uint64_t no, const char *ext,
		    int flags)
{
	char name[64];
	seg_name(name, sizeof(name), no, ext);
	return openat(sp->dir_fd, name, flags | O_CLOEXEC, 0644);
}

static struct seg *seg_append(struct kvs_spool *sp, uint64_t no)
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

static struct frag_rec *frag_add(struct seg *s, uint64_t id)
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

static struct frag_rec *frag_find(struct seg *s, uint64_t id)
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
static void seg_delete(struct kvs_spool *sp, size_t i)
{
	struct seg *s = &sp->segs[i];
	char name[64];
	seg_name(name, sizeof(name), s->no, "vsp");
	unlinkat(sp->dir_fd, name, 0);
	fsync(sp->dir_fd);
	seg_name(name, sizeof(name), s->no, "ack");
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

static bool seg_active(const struct kvs_spool *sp, const struct seg *s)
{
	return sp->wfd >= 0 && s == &sp->segs[sp->n_segs - 1];
}

static void encode_head(uint8_t *h, int type, int flags, uint32_t len,
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

struct head {
	int type, flags;
	uint32_t len, crc;
	uint64_t id;
	int64_t tc, pts, wall;
};

/* Parses a record head; NULL when sane, else why not. */
static const char *decode_head(const uint8_t *h, struct head *o)
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

static int pread_full(int fd, void *buf, size_t n, uint64_t off)
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

/* ---------------------------------------------------------------- open */

static int load_journal(struct kvs_spool *sp, struct seg *s)
{
	int fd = seg_open(sp, s->no, "ack", O_RDWR);
	if (fd < 0)
		return 0;
	uint8_t r[ACK_LEN];
	uint64_t off = 0;
	while (pread_full(fd, r, ACK_LEN, off) == 0) {
		if (rd_be32(r) != ACK_MAGIC ||
		    rd_be32(r + 12) != kvs_spool_crc32(0, r, 12))
			break;
		struct frag_rec *f = frag_find(s, rd_be64(r + 4));
		if (f && !f->done) {
			f->done = true;
			s->n_done++;
		}
		off += ACK_LEN;
	}
	struct stat st;
	if (!fstat(fd, &st) && (uint64_t)st.st_size != off) {
		logf_(sp, KVS_SPOOL_WARN,
		      "spool %s/seg-%020" PRIu64 ".ack: torn journal record at "
		      "byte %" PRIu64 ": cut off",
		      sp->dir, s->no, off);
		if (ftruncate(fd, (off_t)off))
			logf_(sp, KVS_SPOOL_WARN, "cannot truncate: %s",
			      strerror(errno));
	}
	s->ack_fd = fd;
	return 0;
}

/* Reads segment s record by record, checking each; stops at the first
 * bad one and cuts the file there. */
static int scan_segment(struct kvs_spool *sp, struct seg *s, uint8_t *buf,
			struct kvs_spool_found *found)
{
	int fd = seg_open(sp, s->no, "vsp", O_RDWR);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st)) {
		close(fd);
		return -1;
	}
	uint64_t end = (uint64_t)st.st_size, off = 0;
	const char *why = NULL;
	struct frag_rec *cur = NULL;
	int64_t first_pts = 0, frag_tc = 0;
	while (off < end) {
		uint8_t h[KVS_SPOOL_REC_HEAD];
		struct head hd;
		if (end - off < KVS_SPOOL_REC_HEAD) {
			why = "torn record head";
			break;
		}
		if (pread_full(fd, h, sizeof(h), off)) {
			why = "unreadable";
			break;
		}
		if ((why = decode_head(h, &hd)))
			break;
		if (end - off - KVS_SPOOL_REC_HEAD < hd.len) {
			why = "torn record payload";
			break;
		}
		uint32_t crc = kvs_spool_crc32(0, h, 44);
		for (uint32_t done = 0; done < hd.len;) {
			uint32_t c = hd.len - done < SCAN_CHUNK ? hd.len - done
								: SCAN_CHUNK;
			if (pread_full(fd, buf, c,
				       off + KVS_SPOOL_REC_HEAD + done)) {
				why = "unreadable";
				break;
			}
			crc = kvs_spool_crc32(crc, buf, c);
			done += c;
		}
		if (why)
			break;
		if (crc != hd.crc) {
			why = "checksum mismatch";
			break;
		}
		if (hd.type == TYPE_FRAME) {
			if (hd.flags & FLAG_START) {
				if (hd.id < sp->next_id) {
					why = "fragment id not increasing";
					break;
				}
				if (!(cur = frag_add(s, hd.id))) {
					close(fd);
					return -1;
				}
				cur->first_wall = hd.wall;
				cur->off = off;
				cur->earlier = true;
				first_pts = hd.pts;
				frag_tc = hd.tc;
				sp->next_id = hd.id + 1;
			} else if (!cur || cur->id != hd.id) {
				why = "frame outside its fragment";
				break;
			}
			cur->frames++;
			cur->bytes += hd.len;
			sp->last_ms = frag_tc + (hd.pts - first_pts) / 1000000;
			if (found) {
				found->frames++;
				if (!found->oldest_wall)
					found->oldest_wall = hd.wall;
				found->newest_wall = hd.wall;
				found->last_frame_ms = sp->last_ms;
			}
		}
		off += KVS_SPOOL_REC_HEAD + hd.len;
	}
	s->size = off;
	if (why) {
		logf_(sp, KVS_SPOOL_WARN,
		      "spool %s/seg-%020" PRIu64 ".vsp: %s at byte %" PRIu64
		      ": cut off the %" PRIu64
		      " bytes from there (everything before kept)",
		      sp->dir, s->no, why, off, end - off);
		if (found) {
			found->damaged++;
			found->cut_bytes += end - off;
		}
		if (ftruncate(fd, (off_t)off) || fdatasync(fd))
			logf_(sp, KVS_SPOOL_WARN, "cannot truncate: %s",
			      strerror(errno));
	}
	close(fd);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The segment numbers in DIR, sorted; *n of them. */
static uint64_t *list_segments(struct kvs_spool *sp, size_t *n)
{
	int fd = dup(sp->dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	uint64_t *v = NULL;
	size_t cap = 0;
	*n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		unsigned long long no;
		char tail[8];
		if (strlen(e->d_name) != 28 ||
		    sscanf(e->d_name, "seg-%20llu.%3s", &no, tail) != 2 ||
		    strcmp(tail, "vsp"))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			uint64_t *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return NULL;
			}
			v = nv;
		}
		v[(*n)++] = no;
	}
	closedir(d);
	if (!v)
		v = malloc(sizeof(*v));
	if (v)
		qsort(v, *n, sizeof(*v), cmp_u64);
	return v;
}

static int make_dirs(const char *path)
{
	char *p = strdup(path);
	if (!p)
		return -1;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	int rc = mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
	free(p);
	return rc;
}

static int recover(struct kvs_spool *sp, struct kvs_spool_found *found)
{
	size_t n = 0;
	uint64_t *nos = list_segments(sp, &n);
	uint8_t *buf = malloc(SCAN_CHUNK);
	if (!nos || !buf) {
		free(nos);
		free(buf);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct seg *s = seg_append(sp, nos[i]);
		if (!s || scan_segment(sp, s, buf, found) ||
		    load_journal(sp, s)) {
			free(nos);
			free(buf);
			return -1;
		}
		sp->next_seg_no = nos[i] + 1;
	}
	free(nos);
	free(buf);
	/* Whatever is done already goes now. */
	for (size_t i = 0; i < sp->n_segs;) {
		struct seg *s = &sp->segs[i];
		sp->bytes += s->size;
		sp->not_done += s->n - s->n_done;
		if (s->n_done == s->n) {
			seg_delete(sp, i);
			continue;
		}
		for (size_t j = 0; j < s->n; j++)
			if (!s->frags[j].done) {
				found->fragments++;
				found->bytes += s->frags[j].bytes;
			}
		found->segments++;
		i++;
	}
	sp->replay_total = found->fragments;
	if (sp->n_segs)
		sp->rseg_no = sp->segs[0].no;
	return 0;
}

int kvs_spool_open(struct kvs_spool **out, const struct kvs_spool_config *cfg,
		   struct kvs_spool_found *found, char *err, size_t errlen)
{
	struct kvs_spool_found dummy;
	if (!found)
		found = &dummy;
	memset(found, 0, sizeof(*found));
	*out = NULL;
	struct kvs_spool *sp = calloc(1, sizeof(*sp));
	if (!sp || !(sp->dir = strdup(cfg->dir))) {
		free(sp);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sp->cfg = *cfg;
	sp->cfg.dir = sp->dir;
	sp->dir_fd = sp->lock_fd = sp->wfd = sp->rfd = -1;
	sp->next_seg_no = sp->next_id = 1;
	sp->last_ms = -1;
	pthread_mutex_init(&sp->lock, NULL);
	if (make_dirs(sp->dir) ||
	    (sp->dir_fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
		0) {
		snprintf(err, errlen, "spool %s: %s", sp->dir, strerror(errno));
		kvs_spool_close(sp);
		return -1;
	}
	sp->lock_fd =
	    openat(sp->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (sp->lock_fd < 0 || flock(sp->lock_fd, LOCK_EX | LOCK_NB)) {
		snprintf(err, errlen, "spool %s: %s", sp->dir,
			 errno == EWOULDBLOCK ? "in use by another process"
					      : strerror(errno));
		kvs_spool_close(sp);
		return -1;
	}
	if (recover(sp, found)) {
		snprintf(err, errlen, "spool %s: cannot read it: %s", sp->dir,
			 errno ? strerror(errno) : "out of memory");
		kvs_spool_close(sp);
		return -1;
	}
	*out = sp;
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
			seg_delete(sp, sp->n_segs - 1);
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
	encode_head(h, type, flags, (uint32_t)n, id, tc, pts, wall);
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
			seg_delete(sp, sp->n_segs - 1);
	}
	uint64_t no = sp->next_seg_no++;
	struct seg *s = seg_append(sp, no);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sp->wfd = seg_open(sp, no, "vsp", O_WRONLY | O_CREAT | O_TRUNC);
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
	if (sp->n_segs == 0 || seg_active(sp, &sp->segs[0]))
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
	seg_delete(sp, 0);
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
		if (!(f = frag_add(s, id))) {
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
		logf_(sp, KVS_SPOOL_WARN,
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
		logf_(sp, KVS_SPOOL_WARN, "%s: frame dropped", err);
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
		if (seg_active(sp, s) || i + 1 == sp->n_segs)
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
	logf_(sp, KVS_SPOOL_WARN,
	      "spool %s/seg-%020" PRIu64 ".vsp: %s at byte %" PRIu64
	      " while reading: the rest of the segment is skipped",
	      sp->dir, s->no, why, sp->roff);
	sp->roff = s->size;
	if (!seg_active(sp, s))
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
			sp->rfd = seg_open(sp, s->no, "vsp", O_RDONLY);
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
		    pread_full(sp->rfd, h, sizeof(h), sp->roff))
			why = "unreadable record head";
		else if (!(why = decode_head(h, &hd)) &&
			 s->size - sp->roff - KVS_SPOOL_REC_HEAD < hd.len)
			why = "record past the segment end";
		if (!why && *cap < hd.len + 1u) {
			uint8_t *nb = realloc(*buf, hd.len + 1u);
			if (!nb)
				return KVS_SPOOL_NONE;
			*buf = nb;
			*cap = hd.len + 1u;
		}
		if (!why && pread_full(sp->rfd, *buf, hd.len,
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
		    hd.type == TYPE_FRAME ? frag_find(s, hd.id) : NULL;
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
		s->ack_fd =
		    seg_open(sp, s->no, "ack", O_WRONLY | O_CREAT | O_APPEND);
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
		struct frag_rec *f = frag_find(s, frag_id);
		if (!f)
			continue;
		if (f->done)
			break;
		f->done = true;
		s->n_done++;
		sp->not_done--;
		if (f->earlier)
			sp->replay_done++;
		if (s->n_done == s->n && !seg_active(sp, s))
			seg_delete(sp, i);
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
