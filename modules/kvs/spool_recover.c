/* The kvs sink's disk spool: opening it, and reading back and checking
 * what an earlier run left (see spool.h). */
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

/* ---------------------------------------------------------------- open */

static int load_journal(struct kvs_spool *sp, struct seg *s)
{
	int fd = spool_seg_open(sp, s->no, "ack", O_RDWR);
	if (fd < 0)
		return 0;
	uint8_t r[ACK_LEN];
	uint64_t off = 0;
	while (spool_pread_full(fd, r, ACK_LEN, off) == 0) {
		if (rd_be32(r) != ACK_MAGIC ||
		    rd_be32(r + 12) != kvs_spool_crc32(0, r, 12))
			break;
		struct frag_rec *f = spool_frag_find(s, rd_be64(r + 4));
		if (f && !f->done) {
			f->done = true;
			s->n_done++;
		}
		off += ACK_LEN;
	}
	struct stat st;
	if (!fstat(fd, &st) && (uint64_t)st.st_size != off) {
		spool_logf(sp, KVS_SPOOL_WARN,
			   "spool %s/seg-%020" PRIu64
			   ".ack: torn journal record at "
			   "byte %" PRIu64 ": cut off",
			   sp->dir, s->no, off);
		if (ftruncate(fd, (off_t)off))
			spool_logf(sp, KVS_SPOOL_WARN, "cannot truncate: %s",
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
	int fd = spool_seg_open(sp, s->no, "vsp", O_RDWR);
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
		if (spool_pread_full(fd, h, sizeof(h), off)) {
			why = "unreadable";
			break;
		}
		if ((why = spool_decode_head(h, &hd)))
			break;
		if (end - off - KVS_SPOOL_REC_HEAD < hd.len) {
			why = "torn record payload";
			break;
		}
		uint32_t crc = kvs_spool_crc32(0, h, 44);
		for (uint32_t done = 0; done < hd.len;) {
			uint32_t c = hd.len - done < SCAN_CHUNK ? hd.len - done
								: SCAN_CHUNK;
			if (spool_pread_full(fd, buf, c,
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
				if (!(cur = spool_frag_add(s, hd.id))) {
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
		spool_logf(sp, KVS_SPOOL_WARN,
			   "spool %s/seg-%020" PRIu64
			   ".vsp: %s at byte %" PRIu64 ": cut off the %" PRIu64
			   " bytes from there (everything before kept)",
			   sp->dir, s->no, why, off, end - off);
		if (found) {
			found->damaged++;
			found->cut_bytes += end - off;
		}
		if (ftruncate(fd, (off_t)off) || fdatasync(fd))
			spool_logf(sp, KVS_SPOOL_WARN, "cannot truncate: %s",
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
		struct seg *s = spool_seg_append(sp, nos[i]);
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
			spool_seg_delete(sp, i);
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
