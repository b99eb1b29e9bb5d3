/* kvs-local fragment index: one fixed-size record per fragment, on disk,
 * so that memory does not grow with the fragments a stream holds.
 *
 * A fragment's position (0, 1, 2, ... in arrival order) picks its record:
 * segment file STREAM/i/SEG.idx with SEG = position / KL_INDEX_SEGMENT,
 * at offset (position % KL_INDEX_SEGMENT) * 64 bytes. Deleting the oldest
 * fragments (retention, disk quota) moves `first` on and unlinks segments
 * that hold only deleted records, so the index shrinks with the media.
 * Nothing records `first` itself: at open it is the first record of the
 * lowest segment whose fragment file still exists (deletion unlinks the
 * fragment file before it moves on). Records are native-endian: a data
 * directory belongs to the machine that wrote it. */
#include "kvs_local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KL_INDEX_SEGMENT 4096 /* records per segment file */
#define KL_RECORD_SIZE	 64

struct record {
	uint64_t number;
	int64_t producer_ms, server_ms, duration_ms, size;
	uint32_t header_id;
	uint32_t flags; /* KL_RECORD_TAGS */
	uint64_t reserved;
	uint32_t magic;
	uint32_t check; /* FNV-1a of the 60 bytes before it */
};
_Static_assert(sizeof(struct record) == KL_RECORD_SIZE, "record layout");

#define KL_RECORD_MAGIC 0x6b6c6978u /* "klix" */
#define KL_RECORD_TAGS	1u

static uint32_t fnv1a(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

int kl_number_parse(const char *s, uint64_t *out)
{
	/* "9" then 20 digits: see kl_store_next_number() */
	if (!s || strlen(s) != 21 || s[0] != '9')
		return -1;
	uint64_t v = 0;
	for (const char *p = s + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

void kl_number_format(uint64_t n, char out[32])
{
	snprintf(out, 32, "9%020" PRIu64, n);
}

static void segment_path(const struct kl_index *ix, uint64_t seg, char *out,
			 size_t n)
{
	snprintf(out, n, "%s/%" PRIu64 ".idx", ix->dir, seg);
}

static bool record_ok(const struct record *r)
{
	return r->magic == KL_RECORD_MAGIC &&
	       r->check == fnv1a(r, offsetof(struct record, check));
}

static void to_fragment(const struct record *r, struct kl_fragment *f)
{
	memset(f, 0, sizeof *f);
	kl_number_format(r->number, f->number);
	f->producer_ms = r->producer_ms;
	f->server_ms = r->server_ms;
	f->duration_ms = r->duration_ms;
	f->size = r->size;
	f->header_id = r->header_id;
	f->has_tags = r->flags & KL_RECORD_TAGS;
}

size_t kl_index_read_many(const struct kl_index *ix, uint64_t pos, size_t n,
			  struct kl_fragment *out)
{
	size_t got = 0;
	while (got < n && pos < ix->next) {
		uint64_t seg = pos / KL_INDEX_SEGMENT;
		size_t slot = (size_t)(pos % KL_INDEX_SEGMENT);
		size_t want = KL_INDEX_SEGMENT - slot;
		if (want > n - got)
			want = n - got;
		if (want > ix->next - pos)
			want = (size_t)(ix->next - pos);
		char path[KL_PATH_MAX];
		segment_path(ix, seg, path, sizeof path);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		struct record recs[64];
		if (want > 64)
			want = 64;
		ssize_t k = pread(fd, recs, want * KL_RECORD_SIZE,
				  (off_t)slot * KL_RECORD_SIZE);
		close(fd);
		size_t whole = k > 0 ? (size_t)k / KL_RECORD_SIZE : 0;
		for (size_t i = 0; i < whole; i++) {
			if (!record_ok(&recs[i]))
				return got;
			to_fragment(&recs[i], &out[got++]);
		}
		if (whole < want)
			break;
		pos += whole;
	}
	return got;
}

int kl_index_read(const struct kl_index *ix, uint64_t pos,
		  struct kl_fragment *f)
{
	if (pos < ix->first || pos >= ix->next)
		return -1;
	return kl_index_read_many(ix, pos, 1, f) == 1 ? 0 : -1;
}

int kl_index_find(const struct kl_index *ix, const char *number, uint64_t *pos)
{
	uint64_t want;
	if (kl_number_parse(number, &want))
		return -1;
	/* fragment numbers only grow with the position: bisect */
	uint64_t lo = ix->first, hi = ix->next;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct kl_fragment f;
		uint64_t n;
		if (kl_index_read(ix, mid, &f) || kl_number_parse(f.number, &n))
			return -1;
		if (n == want) {
			*pos = mid;
			return 0;
		}
		if (n < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int kl_index_append(struct kl_index *ix, const struct kl_fragment *f)
{
	struct record r = {0};
	if (kl_number_parse(f->number, &r.number))
		return -1;
	r.producer_ms = f->producer_ms;
	r.server_ms = f->server_ms;
	r.duration_ms = f->duration_ms;
	r.size = f->size;
	r.header_id = f->header_id;
	r.flags = f->has_tags ? KL_RECORD_TAGS : 0;
	r.magic = KL_RECORD_MAGIC;
	r.check = fnv1a(&r, offsetof(struct record, check));
	uint64_t seg = ix->next / KL_INDEX_SEGMENT;
	if (ix->wfd < 0 || ix->wseg != seg) {
		if (ix->wfd >= 0)
			close(ix->wfd);
		char path[KL_PATH_MAX];
		segment_path(ix, seg, path, sizeof path);
		ix->wfd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		ix->wseg = seg;
		if (ix->wfd < 0) {
			kl_log("cannot write %s: %s", path, strerror(errno));
			return -1;
		}
		ix->wfd_new = true; /* its directory entry needs a sync */
	}
	off_t off = (off_t)(ix->next % KL_INDEX_SEGMENT) * KL_RECORD_SIZE;
	if (pwrite(ix->wfd, &r, sizeof r, off) != (ssize_t)sizeof r) {
		kl_log("cannot write the index in %s: %s", ix->dir,
		       strerror(errno));
		return -1;
	}
	ix->next++;
	return 0;
}

int kl_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int kl_index_sync(struct kl_index *ix)
{
	if (ix->wfd < 0)
		return 0;
	if (fdatasync(ix->wfd))
		return -1;
	if (ix->wfd_new) {
		ix->wfd_new = false;
		return kl_sync_dir(ix->dir);
	}
	return 0;
}

void kl_index_drop_before(struct kl_index *ix, uint64_t pos)
{
	if (pos <= ix->first)
		return;
	if (pos > ix->next)
		pos = ix->next;
	/* whole segments below the new first go */
	for (uint64_t seg = ix->first / KL_INDEX_SEGMENT;
	     seg < pos / KL_INDEX_SEGMENT; seg++) {
		char path[KL_PATH_MAX];
		segment_path(ix, seg, path, sizeof path);
		if (ix->wfd >= 0 && ix->wseg == seg) {
			close(ix->wfd);
			ix->wfd = -1;
		}
		unlink(path);
	}
	ix->first = pos;
}

/* Lowest and highest segment numbers in the directory; -1 if none. */
static int segment_range(const char *dir, uint64_t *lo, uint64_t *hi)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	bool any = false;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(e->d_name, &end, 10);
		if (errno || end == e->d_name || strcmp(end, ".idx"))
			continue;
		if (!any || v < *lo)
			*lo = v;
		if (!any || v > *hi)
			*hi = v;
		any = true;
	}
	closedir(d);
	return any ? 0 : -1;
}

/* The last segment ends at its last whole, valid record: a record torn by
 * a crash (short, or garbage) is cut off. */
static uint64_t trim_tail(struct kl_index *ix, uint64_t seg)
{
	char path[KL_PATH_MAX];
	segment_path(ix, seg, path, sizeof path);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat sb;
	uint64_t n = fstat(fd, &sb) ? 0 : (uint64_t)sb.st_size / KL_RECORD_SIZE;
	if (n > KL_INDEX_SEGMENT)
		n = KL_INDEX_SEGMENT;
	uint64_t good = n;
	while (good > 0) {
		struct record r;
		if (pread(fd, &r, sizeof r,
			  (off_t)(good - 1) * KL_RECORD_SIZE) ==
			(ssize_t)sizeof r &&
		    record_ok(&r))
			break;
		good--;
	}
	if ((off_t)(good * KL_RECORD_SIZE) != sb.st_size) {
		kl_log("%s: cut %lld bytes of a torn index record (a run that "
		       "was killed)",
		       path, (long long)(sb.st_size - (off_t)good * 64));
		if (ftruncate(fd, (off_t)(good * KL_RECORD_SIZE)) == 0)
			fsync(fd);
	}
	close(fd);
	return good;
}

int kl_index_open(struct kl_index *ix, const char *stream_dir)
{
	memset(ix, 0, sizeof *ix);
	ix->wfd = -1;
	size_t n = strlen(stream_dir) + 3;
	ix->dir = malloc(n);
	if (!ix->dir)
		return -1;
	snprintf(ix->dir, n, "%s/i", stream_dir);
	if (mkdir(ix->dir, 0755) && errno != EEXIST) {
		kl_log("cannot create %s: %s", ix->dir, strerror(errno));
		return -1;
	}
	uint64_t lo = 0, hi = 0;
	if (segment_range(ix->dir, &lo, &hi))
		return 0; /* empty */
	ix->first = lo * KL_INDEX_SEGMENT;
	ix->next = hi * KL_INDEX_SEGMENT + trim_tail(ix, hi);
	if (ix->next < ix->first)
		ix->next = ix->first;
	return 0;
}

void kl_index_close(struct kl_index *ix)
{
	if (ix->wfd >= 0)
		close(ix->wfd);
	ix->wfd = -1;
	free(ix->dir);
	ix->dir = NULL;
}
