/* kvs-local storage: streams and their fragments, on disk.
 *   DIR/streams/NAME/stream.json     the stream (rewritten on change)
 *   DIR/streams/NAME/i/SEG.idx       the fragment index (index.c)
 *   DIR/streams/NAME/h/ID.mkv        MKV header (EBML..Tracks) by id
 *   DIR/streams/NAME/f/NUMBER.mkv    a fragment's Cluster bytes
 *   DIR/streams/NAME/f/NUMBER.tags   its SimpleTags, if it has any
 * A NAME starting with '.' (".", ".." are valid) is stored as "+NAME"; a
 * name too long for a file name (over 255 bytes with that '+') as '~' and
 * the SHA-256 of the name (neither character is allowed in a name). The
 * name itself is read back from stream.json.
 *
 * Only per-stream counters are kept in memory: the fragment records stay
 * on disk. Fragments go when they are older than the stream's retention
 * (the live window for retention 0) or, oldest first over every stream,
 * when the media stored exceeds the disk quota (kl_store_limits). */
#include "kvs_local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

int64_t kl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int mkdir_p(const char *path)
{
	char tmp[KL_PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

/* Write data to path durably: a temporary file, fsync, rename, fsync of
 * the directory. */
static int write_durably(const char *dir, const char *path, const void *data,
			 size_t len)
{
	char tmp[KL_PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	const char *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t k = write(fd, p, left);
		if (k <= 0) {
			close(fd);
			unlink(tmp);
			return -1;
		}
		p += k;
		left -= (size_t)k;
	}
	int rc = fsync(fd);
	rc = close(fd) ? -1 : rc;
	if (rc || rename(tmp, path) || kl_sync_dir(dir)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

void kl_header_path(const struct kl_stream *st, unsigned id, char *out,
		    size_t n)
{
	snprintf(out, n, "%s/h/%u.mkv", st->dir, id);
}

void kl_fragment_path(const struct kl_stream *st, const char *number, char *out,
		      size_t n)
{
	/* A path that does not fit is left empty, so it opens nothing. */
	int len = snprintf(out, n, "%s/f/%s.mkv", st->dir, number);
	if (len < 0 || (size_t)len >= n)
		out[0] = 0;
}

static void tags_path(const struct kl_stream *st, const char *number, char *out,
		      size_t n)
{
	snprintf(out, n, "%s/f/%s.tags", st->dir, number);
}

static void free_stream(struct kl_stream *st)
{
	free(st->name);
	free(st->arn);
	free(st->version);
	free(st->media_type);
	free(st->kms_key);
	free(st->device);
	for (size_t i = 0; i < st->n_tags; i++) {
		free(st->tags[i].key);
		free(st->tags[i].value);
	}
	free(st->tags);
	kl_index_close(&st->idx);
	free(st->dir);
	free(st);
}

void kl_stream_put(struct kl_store *s, struct kl_stream *st)
{
	(void)s;
	if (--st->refs == 0)
		free_stream(st);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void new_version(char out[17])
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	for (int i = 0; i < 16; i++)
		out[i] = alnum[rand() % 36];
	out[16] = 0;
}

int kl_store_save_stream(struct kl_store *s, struct kl_stream *st)
{
	(void)s;
	struct strbuf b = STRBUF_INIT;
	sb_puts(&b, "{\"StreamName\":");
	json_put_string(&b, st->name);
	sb_puts(&b, ",\"StreamARN\":");
	json_put_string(&b, st->arn);
	sb_puts(&b, ",\"Version\":");
	json_put_string(&b, st->version);
	if (st->media_type) {
		sb_puts(&b, ",\"MediaType\":");
		json_put_string(&b, st->media_type);
	}
	if (st->kms_key) {
		sb_puts(&b, ",\"KmsKeyId\":");
		json_put_string(&b, st->kms_key);
	}
	if (st->device) {
		sb_puts(&b, ",\"DeviceName\":");
		json_put_string(&b, st->device);
	}
	sb_printf(&b, ",\"CreationMs\":%lld,\"DataRetentionInHours\":%lld",
		  (long long)st->creation_ms, (long long)st->retention_hours);
	sb_puts(&b, ",\"Tags\":{");
	for (size_t i = 0; i < st->n_tags; i++) {
		if (i)
			sb_putc(&b, ',');
		json_put_string(&b, st->tags[i].key);
		sb_putc(&b, ':');
		json_put_string(&b, st->tags[i].value);
	}
	sb_puts(&b, "}}\n");
	if (b.failed) {
		sb_free(&b);
		return -1;
	}
	char path[KL_PATH_MAX];
	snprintf(path, sizeof path, "%s/stream.json", st->dir);
	int rc = write_durably(st->dir, path, b.s, b.len);
	if (rc)
		kl_log("cannot write %s: %s", path, strerror(errno));
	sb_free(&b);
	return rc;
}

/* The directory a stream name is stored under (see the top). */
static void stream_dir_name(const char *name, char out[80 + 256])
{
	if (strlen(name) + (name[0] == '.') <= 255) {
		snprintf(out, 80 + 256, "%s%s", name[0] == '.' ? "+" : "",
			 name);
		return;
	}
	out[0] = '~';
	sigv4_sha256_hex(name, strlen(name), out + 1);
}

static struct kl_stream *alloc_stream(struct kl_store *s, const char *name,
				      const char *dir_name)
{
	struct kl_stream *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->name = strdup(name);
	st->refs = 1;
	st->idx.wfd = -1;
	st->oldest_ms = INT64_MAX;
	char dn[80 + 256];
	if (!dir_name) {
		stream_dir_name(name, dn);
		dir_name = dn;
	}
	size_t n = strlen(s->dir) + strlen(dir_name) + 10;
	st->dir = malloc(n);
	if (!st->name || !st->dir) {
		free_stream(st);
		return NULL;
	}
	snprintf(st->dir, n, "%s/streams/%s", s->dir, dir_name);
	return st;
}

static int add_stream(struct kl_store *s, struct kl_stream *st)
{
	void *p = realloc(s->streams, (s->n_streams + 1) * sizeof *s->streams);
	if (!p)
		return -1;
	s->streams = p;
	s->streams[s->n_streams++] = st;
	return 0;
}

struct kl_stream *kl_store_create(struct kl_store *s, const char *name,
				  const char *media_type, const char *kms,
				  const char *device, int64_t retention)
{
	struct kl_stream *st = alloc_stream(s, name, NULL);
	if (!st)
		return NULL;
	st->creation_ms = kl_now_ms();
	char arn[512], version[17];
	snprintf(arn, sizeof arn,
		 "arn:aws:kinesisvideo:%s:123456789012:stream/%s/%lld",
		 s->region, name, (long long)st->creation_ms);
	new_version(version);
	st->arn = strdup(arn);
	st->version = strdup(version);
	st->media_type = dup_or_null(media_type);
	st->kms_key = dup_or_null(kms);
	st->device = dup_or_null(device);
	st->retention_hours = retention;
	char sub[KL_PATH_MAX];
	snprintf(sub, sizeof sub, "%s/f", st->dir);
	int rc = mkdir_p(sub);
	snprintf(sub, sizeof sub, "%s/h", st->dir);
	rc = rc ? rc : mkdir_p(sub);
	rc = rc ? rc : kl_index_open(&st->idx, st->dir);
	if (rc || !st->arn || !st->version || kl_store_save_stream(s, st) ||
	    add_stream(s, st)) {
		kl_log("cannot create stream directory %s: %s", st->dir,
		       strerror(errno));
		free_stream(st);
		return NULL;
	}
	snprintf(sub, sizeof sub, "%s/streams", s->dir);
	kl_sync_dir(sub);
	return st;
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char sub[KL_PATH_MAX];
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			struct stat st;
			if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
				remove_tree(sub);
			else
				unlink(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

void kl_store_delete(struct kl_store *s, struct kl_stream *st)
{
	for (size_t i = 0; i < s->n_streams; i++) {
		if (s->streams[i] != st)
			continue;
		memmove(&s->streams[i], &s->streams[i + 1],
			(s->n_streams - i - 1) * sizeof *s->streams);
		s->n_streams--;
		break;
	}
	st->deleted = true;
	s->bytes -= st->bytes;
	st->bytes = 0;
	remove_tree(st->dir);
	pthread_cond_broadcast(&s->changed);
	kl_stream_put(s, st);
}

struct kl_stream *kl_store_find(struct kl_store *s, const char *name,
				const char *arn)
{
	for (size_t i = 0; i < s->n_streams; i++) {
		struct kl_stream *st = s->streams[i];
		if ((name && !strcmp(st->name, name)) ||
		    (arn && !strcmp(st->arn, arn)))
			return st;
	}
	return NULL;
}

void kl_store_next_number(struct kl_store *s, int64_t now_ms, char out[32])
{
	/* Service fragment numbers are long decimal strings that only grow;
	 * time-based so they keep growing across restarts. */
	uint64_t n = (uint64_t)now_ms * 1000000ULL;
	if (n <= s->last_fragment_number)
		n = s->last_fragment_number + 1;
	s->last_fragment_number = n;
	kl_number_format(n, out);
}

/* ------------------------------------------------------------ deletion */

/* What a fragment takes on disk, as the quota counts it: its files in
 * whole 4 KiB blocks (the index and the stream headers are not counted;
 * they are small and go with the fragments). */
static int64_t disk_size(const struct kl_fragment *f)
{
	int64_t blocks = (f->size + 4095) / 4096 + (f->has_tags ? 1 : 0);
	return blocks * 4096;
}

/* Unlink fragment pos's files and move first past it; lock held. */
static void delete_first(struct kl_store *s, struct kl_stream *st)
{
	struct kl_fragment f;
	uint64_t pos = st->idx.first;
	if (kl_index_read(&st->idx, pos, &f) == 0) {
		char path[KL_PATH_MAX];
		kl_fragment_path(st, f.number, path, sizeof path);
		unlink(path);
		if (f.has_tags) {
			tags_path(st, f.number, path, sizeof path);
			unlink(path);
		}
		st->bytes -= disk_size(&f);
		s->bytes -= disk_size(&f);
	}
	kl_index_drop_before(&st->idx, pos + 1);
}

/* After deletions: the oldest live fragment's time, and the stream
 * headers no live fragment uses any more (ids only grow along the
 * stream, and the newest is kept for the producer that may be using it). */
static void after_deletion(struct kl_stream *st)
{
	struct kl_fragment f;
	unsigned keep = st->next_header_id ? st->next_header_id - 1 : 0;
	st->oldest_ms = INT64_MAX;
	if (kl_index_read(&st->idx, st->idx.first, &f) == 0) {
		st->oldest_ms = f.server_ms;
		if (f.header_id < keep)
			keep = f.header_id;
	} else if (st->idx.first < st->idx.next) {
		st->oldest_ms = INT64_MIN; /* unreadable: the next to go */
	}
	for (; st->first_header_id < keep; st->first_header_id++) {
		char path[KL_PATH_MAX];
		kl_header_path(st, st->first_header_id, path, sizeof path);
		unlink(path);
	}
}

static int64_t retention_cutoff(const struct kl_store *s,
				const struct kl_stream *st, int64_t now)
{
	if (st->retention_hours > 0)
		return now - st->retention_hours * 3600 * 1000;
	return now - s->live_window_ms;
}

/* Deletions are logged as a sum at most every 10 s: retention 0 deletes a
 * fragment every second or so. */
static void log_deletions(struct kl_deletions *d, const char *what, int64_t now,
			  int64_t n, int64_t bytes)
{
	d->n += n;
	d->bytes += bytes;
	if (!d->n || now - d->logged_ms < 10000)
		return;
	kl_log("%s: deleted %lld fragments (%lld bytes)", what, (long long)d->n,
	       (long long)d->bytes);
	d->n = d->bytes = 0;
	d->logged_ms = now;
}

/* Fragments older than the stream's retention; lock held. */
static void expire(struct kl_store *s, struct kl_stream *st, int64_t now)
{
	int64_t cutoff = retention_cutoff(s, st, now);
	int64_t n = 0, bytes = st->bytes;
	while (st->idx.first < st->idx.next && st->oldest_ms < cutoff) {
		delete_first(s, st);
		after_deletion(st);
		n++;
	}
	char what[400];
	snprintf(what, sizeof what, "%.256s: older than %s %lld %s", st->name,
		 st->retention_hours ? "its retention of" : "the live window,",
		 (long long)(st->retention_hours ? st->retention_hours
						 : s->live_window_ms / 1000),
		 st->retention_hours ? "h" : "s");
	log_deletions(&st->expired, what, now, n, bytes - st->bytes);
}

/* Oldest fragments first, whatever their stream, until the media fits
 * the quota; lock held. */
static void enforce_quota(struct kl_store *s)
{
	if (s->max_disk <= 0 || s->bytes <= s->max_disk)
		return;
	int64_t before = s->bytes, n = 0;
	while (s->bytes > s->max_disk) {
		struct kl_stream *oldest = NULL;
		for (size_t i = 0; i < s->n_streams; i++) {
			struct kl_stream *st = s->streams[i];
			if (st->idx.first < st->idx.next &&
			    (!oldest || st->oldest_ms < oldest->oldest_ms))
				oldest = st;
		}
		if (!oldest)
			break;
		delete_first(s, oldest);
		after_deletion(oldest);
		n++;
	}
	char what[200];
	snprintf(what, sizeof what,
		 "disk quota of %lld bytes (--max-disk), oldest first",
		 (long long)s->max_disk);
	log_deletions(&s->over_quota, what, kl_now_ms(), n, before - s->bytes);
}

/* ------------------------------------------------------------ writing */

int kl_store_save_header(struct kl_store *s, struct kl_stream *st,
			 const void *data, size_t len, unsigned *id)
{
	pthread_mutex_lock(&s->lock);
	*id = st->next_header_id++;
	pthread_mutex_unlock(&s->lock);
	char path[KL_PATH_MAX], dir[KL_PATH_MAX];
	kl_header_path(st, *id, path, sizeof path);
	snprintf(dir, sizeof dir, "%s/h", st->dir);
	if (write_durably(dir, path, data, len)) {
		kl_log("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int kl_store_commit(struct kl_store *s, struct kl_stream *st,
		    const struct kl_fragment *f, const char *tmp_path)
{
	char path[KL_PATH_MAX], dir[KL_PATH_MAX];
	pthread_mutex_lock(&s->lock);
	bool deleted = st->deleted;
	pthread_mutex_unlock(&s->lock);
	if (deleted) { /* its directory is gone */
		unlink(tmp_path);
		return -2;
	}
	struct kl_fragment rec = *f;
	rec.has_tags = f->tags_json && strcmp(f->tags_json, "{}") != 0;
	snprintf(dir, sizeof dir, "%s/f", st->dir);
	if (rec.has_tags) {
		tags_path(st, f->number, path, sizeof path);
		if (write_durably(dir, path, f->tags_json,
				  strlen(f->tags_json))) {
			kl_log("cannot write %s: %s", path, strerror(errno));
			unlink(tmp_path);
			return -1;
		}
	}
	kl_fragment_path(st, f->number, path, sizeof path);
	if (rename(tmp_path, path) || kl_sync_dir(dir)) {
		kl_log("cannot store %s: %s", path, strerror(errno));
		unlink(tmp_path);
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	int rc = st->deleted ? -2 : kl_index_append(&st->idx, &rec);
	int fd = -1;
	bool new_segment = false;
	if (rc == 0) {
		st->bytes += disk_size(&rec);
		s->bytes += disk_size(&rec);
		if (st->idx.next - st->idx.first == 1)
			st->oldest_ms = f->server_ms;
		/* synced outside the lock (a deletion may close wfd) */
		fd = dup(st->idx.wfd);
		new_segment = st->idx.wfd_new;
		st->idx.wfd_new = false;
		pthread_cond_broadcast(&s->changed);
	}
	pthread_mutex_unlock(&s->lock);
	if (rc)
		return rc;
	snprintf(dir, sizeof dir, "%s/i", st->dir);
	if (fd < 0 || fdatasync(fd) || (new_segment && kl_sync_dir(dir))) {
		kl_log("cannot sync the index of %s: %s", st->name,
		       strerror(errno));
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&s->lock);
	expire(s, st, kl_now_ms());
	enforce_quota(s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

char *kl_fragment_tags(const struct kl_stream *st, const struct kl_fragment *f)
{
	if (!f->has_tags)
		return strdup("{}");
	char path[KL_PATH_MAX];
	tags_path(st, f->number, path, sizeof path);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return strdup("{}");
	struct strbuf b = STRBUF_INIT;
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
		sb_append(&b, tmp, n);
	fclose(fp);
	char *t = sb_detach(&b);
	return t ? t : strdup("{}");
}

/* ------------------------------------------------------------ loading */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct strbuf b = STRBUF_INIT;
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		sb_append(&b, tmp, n);
	fclose(f);
	*len = b.len;
	return sb_detach(&b);
}

static int64_t jint(const struct json_value *o, const char *k)
{
	int64_t v = 0;
	json_int64(json_get(o, k), &v);
	return v;
}

/* A data directory from before the on-disk index kept one JSON line per
 * fragment in fragments.idx: move those into the index, once. */
static void migrate_line_index(struct kl_stream *st)
{
	char path[KL_PATH_MAX];
	snprintf(path, sizeof path, "%s/fragments.idx", st->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0, moved = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		struct json_value *v = json_parse(line, (size_t)n, NULL, NULL);
		const char *num = json_string(json_get(v, "n"));
		struct kl_fragment fr = {0};
		if (v && num && strlen(num) < sizeof fr.number) {
			snprintf(fr.number, sizeof fr.number, "%s", num);
			fr.producer_ms = jint(v, "p");
			fr.server_ms = jint(v, "s");
			fr.duration_ms = jint(v, "d");
			fr.size = jint(v, "z");
			fr.header_id = (unsigned)jint(v, "h");
			const struct json_value *t = json_get(v, "t");
			if (t && t->type == JSON_OBJECT && t->n) {
				struct strbuf tb = STRBUF_INIT;
				sb_putc(&tb, '{');
				for (size_t i = 0; i < t->n; i++) {
					const char *val =
					    json_string(t->members[i].value);
					if (i)
						sb_putc(&tb, ',');
					json_put_string(&tb, t->members[i].key);
					sb_putc(&tb, ':');
					json_put_string(&tb, val ? val : "");
				}
				sb_putc(&tb, '}');
				char tp[KL_PATH_MAX], dir[KL_PATH_MAX];
				tags_path(st, fr.number, tp, sizeof tp);
				snprintf(dir, sizeof dir, "%s/f", st->dir);
				fr.has_tags =
				    !tb.failed &&
				    !write_durably(dir, tp, tb.s, tb.len);
				sb_free(&tb);
			}
			if (kl_index_append(&st->idx, &fr) == 0)
				moved++;
		}
		json_free(v);
	}
	free(line);
	fclose(f);
	if (kl_index_sync(&st->idx) == 0)
		unlink(path);
	kl_log("%s: moved %zu fragments from fragments.idx into the index",
	       st->name, moved);
}

/* Fragment file names: NUMBER.mkv / NUMBER.tags -> NUMBER, else -1. */
static int file_number(const char *name, uint64_t *n)
{
	char num[32];
	const char *dot = strchr(name, '.');
	if (!dot || dot == name || (size_t)(dot - name) >= sizeof num ||
	    (strcmp(dot, ".mkv") && strcmp(dot, ".tags")))
		return -1;
	snprintf(num, sizeof num, "%.*s", (int)(dot - name), name);
	return kl_number_parse(num, n);
}

/* What a run that was killed leaves in f/: partial fragments
 * (.incoming-*), temporary files, fragment files the index does not hold
 * (stored, but killed before the index record: never PERSISTED). */
static void clean_fragment_dir(struct kl_stream *st, uint64_t lo, uint64_t hi)
{
	char dir[KL_PATH_MAX];
	snprintf(dir, sizeof dir, "%s/f", st->dir);
	DIR *d = opendir(dir);
	if (!d)
		return;
	size_t torn = 0, stray = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		uint64_t n;
		bool in_index =
		    file_number(e->d_name, &n) == 0 && n >= lo && n <= hi;
		if (in_index)
			continue;
		char path[KL_PATH_MAX + 256];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (unlink(path))
			continue;
		if (!strncmp(e->d_name, ".incoming-", 10))
			torn++;
		else
			stray++;
	}
	closedir(d);
	if (torn)
		kl_log("%s: removed %zu partial fragment files (.incoming-*) "
		       "left by a run that was killed",
		       st->name, torn);
	if (stray)
		kl_log("%s: removed %zu fragment files the index does not hold "
		       "(never acknowledged PERSISTED)",
		       st->name, stray);
}

/* First live position, byte count, oldest time, and the clean-up. */
static void scan_fragments(struct kl_store *s, struct kl_stream *st)
{
	struct kl_fragment batch[64];
	bool at_head = true;
	uint64_t lo_num = UINT64_MAX, hi_num = 0;
	for (uint64_t pos = st->idx.first; pos < st->idx.next;) {
		size_t got = kl_index_read_many(&st->idx, pos, 64, batch);
		if (got == 0) {
			if (at_head)
				kl_index_drop_before(&st->idx, pos + 1);
			pos++;
			continue;
		}
		for (size_t i = 0; i < got; i++) {
			const struct kl_fragment *f = &batch[i];
			char path[KL_PATH_MAX];
			kl_fragment_path(st, f->number, path, sizeof path);
			if (at_head && access(path, F_OK)) {
				/* deleted, the run killed before the index
				 * moved on */
				kl_index_drop_before(&st->idx, pos + i + 1);
				continue;
			}
			at_head = false;
			uint64_t n;
			kl_number_parse(f->number, &n);
			lo_num = n < lo_num ? n : lo_num;
			hi_num = n > hi_num ? n : hi_num;
			if (n > s->last_fragment_number)
				s->last_fragment_number = n;
			st->bytes += disk_size(f);
			if (f->header_id >= st->next_header_id)
				st->next_header_id = f->header_id + 1;
		}
		pos += got;
	}
	s->bytes += st->bytes;
	clean_fragment_dir(st, lo_num, hi_num);
	/* headers: ids above every fragment's may be in use by nobody, but
	 * number new ones past whatever exists */
	char dir[KL_PATH_MAX];
	snprintf(dir, sizeof dir, "%s/h", st->dir);
	DIR *d = opendir(dir);
	struct dirent *e;
	st->first_header_id = UINT32_MAX;
	while (d && (e = readdir(d))) {
		char *end;
		unsigned long id = strtoul(e->d_name, &end, 10);
		if (end == e->d_name || strcmp(end, ".mkv"))
			continue;
		if (id >= st->next_header_id)
			st->next_header_id = (unsigned)id + 1;
		if (id < st->first_header_id)
			st->first_header_id = (unsigned)id;
	}
	if (d)
		closedir(d);
	if (st->first_header_id == UINT32_MAX)
		st->first_header_id = st->next_header_id;
	after_deletion(st);
}

static void load_stream(struct kl_store *s, const char *dir_name)
{
	char path[KL_PATH_MAX];
	snprintf(path, sizeof path, "%s/streams/%s/stream.json", s->dir,
		 dir_name);
	size_t len;
	char *text = slurp(path, &len);
	size_t off = 0;
	const char *err = NULL;
	struct json_value *v = text ? json_parse(text, len, &off, &err) : NULL;
	free(text);
	const char *name = json_string(json_get(v, "StreamName"));
	const char *arn = json_string(json_get(v, "StreamARN"));
	const char *ver = json_string(json_get(v, "Version"));
	char expect[80 + 256];
	if (name)
		stream_dir_name(name, expect);
	if (!v || !arn || !ver || !name || strcmp(expect, dir_name)) {
		kl_log("%s: unreadable (%s at byte %zu), stream skipped", path,
		       err ? err
			   : (name ? "StreamName does not match the directory"
				   : "missing fields"),
		       off);
		json_free(v);
		return;
	}
	struct kl_stream *st = alloc_stream(s, name, dir_name);
	if (!st) {
		json_free(v);
		return;
	}
	st->arn = strdup(arn);
	st->version = strdup(ver);
	st->media_type = dup_or_null(json_string(json_get(v, "MediaType")));
	st->kms_key = dup_or_null(json_string(json_get(v, "KmsKeyId")));
	st->device = dup_or_null(json_string(json_get(v, "DeviceName")));
	st->creation_ms = jint(v, "CreationMs");
	st->retention_hours = jint(v, "DataRetentionInHours");
	const struct json_value *tags = json_get(v, "Tags");
	if (tags && tags->type == JSON_OBJECT && tags->n) {
		st->tags = calloc(tags->n, sizeof *st->tags);
		for (size_t i = 0; st->tags && i < tags->n; i++) {
			const char *val = json_string(tags->members[i].value);
			st->tags[i].key = strdup(tags->members[i].key);
			st->tags[i].value = strdup(val ? val : "");
			st->n_tags++;
		}
	}
	json_free(v);
	snprintf(path, sizeof path, "%s/stream.json.tmp", st->dir);
	unlink(path);
	if (kl_index_open(&st->idx, st->dir)) {
		free_stream(st);
		return;
	}
	if (st->idx.next == 0)
		migrate_line_index(st);
	scan_fragments(s, st);
	if (add_stream(s, st))
		free_stream(st);
}

int kl_store_open(struct kl_store *s, const char *dir, const char *region)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	pthread_cond_init(&s->janitor_wake, NULL);
	s->region = region;
	s->live_window_ms = KL_LIVE_WINDOW_MS;
	if (strlen(dir) > KL_DATA_DIR_MAX) {
		kl_log("--data %.40s...: a path of %zu bytes, over %d", dir,
		       strlen(dir), KL_DATA_DIR_MAX);
		return -1;
	}
	s->dir = strdup(dir);
	char sub[KL_PATH_MAX];
	snprintf(sub, sizeof sub, "%s/streams", dir);
	if (!s->dir || mkdir_p(sub)) {
		kl_log("cannot create data directory %s: %s", sub,
		       strerror(errno));
		return -1;
	}
	DIR *d = opendir(sub);
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			load_stream(s, e->d_name);
	closedir(d);
	return 0;
}

/* ------------------------------------------------------- retention loop */

static void *janitor_main(void *arg)
{
	struct kl_store *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->closing) {
		int64_t now = kl_now_ms();
		for (size_t i = 0; i < s->n_streams; i++)
			expire(s, s->streams[i], now);
		enforce_quota(s);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&s->janitor_wake, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int64_t default_quota(struct kl_store *s)
{
	struct statvfs vfs;
	if (statvfs(s->dir, &vfs))
		return 0;
	int64_t free_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
	return s->bytes + free_bytes / 2;
}

int kl_store_limits(struct kl_store *s, int64_t max_disk,
		    int64_t live_window_ms)
{
	pthread_mutex_lock(&s->lock);
	s->live_window_ms = live_window_ms;
	s->max_disk = max_disk >= 0 ? max_disk : default_quota(s);
	kl_log("disk quota %lld bytes%s, %lld bytes stored; streams with "
	       "retention 0 keep %lld s",
	       (long long)s->max_disk,
	       max_disk >= 0 ? ""
			     : " (what is stored plus half the free space)",
	       (long long)s->bytes, (long long)(live_window_ms / 1000));
	pthread_mutex_unlock(&s->lock);
	if (pthread_create(&s->janitor, NULL, janitor_main, s)) {
		kl_log("cannot start the retention thread");
		return -1;
	}
	s->janitor_running = true;
	return 0;
}

int kl_parse_size(const char *str, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(str, &end, 10);
	if (errno || end == str || v < 0)
		return -1;
	int shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	else if (*end == 'T' || *end == 't')
		shift = 40;
	if (shift)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v > (INT64_MAX >> shift))
		return -1;
	*out = (int64_t)v << shift;
	return 0;
}

void kl_store_close(struct kl_store *s)
{
	if (s->janitor_running) {
		pthread_mutex_lock(&s->lock);
		s->closing = true;
		pthread_cond_broadcast(&s->janitor_wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->janitor, NULL);
	}
	for (size_t i = 0; i < s->n_streams; i++)
		kl_stream_put(s, s->streams[i]);
	free(s->streams);
	free(s->dir);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->changed);
	pthread_cond_destroy(&s->janitor_wake);
}
