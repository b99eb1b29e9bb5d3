/* kvs-local storage: streams and their fragments, in memory and on disk.
 *   DIR/streams/NAME/stream.json     the stream (rewritten on change)
 *   DIR/streams/NAME/fragments.idx   one JSON line per fragment
 *   DIR/streams/NAME/h/ID.mkv        MKV header (EBML..Tracks) by id
 *   DIR/streams/NAME/f/NUMBER.mkv    a fragment's Cluster bytes
 * A NAME starting with '.' (".", ".." are valid) is stored as "+NAME". */
#include "kvs_local.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	char tmp[1100];
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

void kl_header_path(const struct kl_stream *st, unsigned id, char *out,
		    size_t n)
{
	snprintf(out, n, "%s/h/%u.mkv", st->dir, id);
}

void kl_fragment_path(const struct kl_stream *st, const char *number, char *out,
		      size_t n)
{
	snprintf(out, n, "%s/f/%s.mkv", st->dir, number);
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
	for (size_t i = 0; i < st->n_frags; i++)
		free(st->frags[i].tags_json);
	free(st->frags);
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
	char path[1100], tmp[1100];
	snprintf(path, sizeof path, "%s/stream.json", st->dir);
	snprintf(tmp, sizeof tmp, "%s/stream.json.tmp", st->dir);
	FILE *f = fopen(tmp, "w");
	int rc = -1;
	if (f) {
		rc = fwrite(b.s, 1, b.len, f) == b.len ? 0 : -1;
		if (fclose(f))
			rc = -1;
		if (rc == 0)
			rc = rename(tmp, path);
	}
	if (rc)
		kl_log("cannot write %s: %s", path, strerror(errno));
	sb_free(&b);
	return rc;
}

static struct kl_stream *alloc_stream(struct kl_store *s, const char *name)
{
	struct kl_stream *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->name = strdup(name);
	st->refs = 1;
	/* "." and ".." are valid stream names: never path components */
	snprintf(st->dir, sizeof st->dir, "%s/streams/%s%s", s->dir,
		 name[0] == '.' ? "+" : "", name);
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
	struct kl_stream *st = alloc_stream(s, name);
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
	char sub[1100];
	snprintf(sub, sizeof sub, "%s/f", st->dir);
	int rc = mkdir_p(sub);
	snprintf(sub, sizeof sub, "%s/h", st->dir);
	rc = rc ? rc : mkdir_p(sub);
	if (rc || !st->arn || !st->version || kl_store_save_stream(s, st) ||
	    add_stream(s, st)) {
		kl_log("cannot create stream directory %s: %s", st->dir,
		       strerror(errno));
		free_stream(st);
		return NULL;
	}
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
			char sub[2048];
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
	snprintf(out, 32, "9%020llu", (unsigned long long)n);
}

static int append_fragment(struct kl_stream *st, const struct kl_fragment *f)
{
	if (st->n_frags == st->cap_frags) {
		size_t cap = st->cap_frags ? st->cap_frags * 2 : 64;
		void *p = realloc(st->frags, cap * sizeof *st->frags);
		if (!p)
			return -1;
		st->frags = p;
		st->cap_frags = cap;
	}
	st->frags[st->n_frags] = *f;
	st->frags[st->n_frags].tags_json =
	    strdup(f->tags_json ? f->tags_json : "{}");
	st->n_frags++;
	return 0;
}

int kl_store_add_fragment(struct kl_store *s, struct kl_stream *st,
			  const struct kl_fragment *f)
{
	char path[1100];
	snprintf(path, sizeof path, "%s/fragments.idx", st->dir);
	FILE *fp = fopen(path, "a");
	if (!fp) {
		kl_log("cannot append to %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(fp,
		"{\"n\":\"%s\",\"p\":%lld,\"s\":%lld,\"d\":%lld,\"z\":%lld,"
		"\"h\":%u,\"t\":%s}\n",
		f->number, (long long)f->producer_ms, (long long)f->server_ms,
		(long long)f->duration_ms, (long long)f->size, f->header_id,
		f->tags_json ? f->tags_json : "{}");
	int rc = fclose(fp) ? -1 : 0;
	if (rc == 0)
		rc = append_fragment(st, f);
	pthread_cond_broadcast(&s->changed);
	return rc;
}

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

static void load_fragments(struct kl_store *s, struct kl_stream *st)
{
	char path[1100];
	snprintf(path, sizeof path, "%s/fragments.idx", st->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		struct json_value *v = json_parse(line, (size_t)n, NULL, NULL);
		const char *num = json_string(json_get(v, "n"));
		if (!v || !num || strlen(num) >= 32) {
			kl_log("%s:%d: unreadable fragment entry, skipped",
			       path, lineno);
			json_free(v);
			continue;
		}
		struct kl_fragment fr = {0};
		snprintf(fr.number, sizeof fr.number, "%s", num);
		fr.producer_ms = jint(v, "p");
		fr.server_ms = jint(v, "s");
		fr.duration_ms = jint(v, "d");
		fr.size = jint(v, "z");
		fr.header_id = (unsigned)jint(v, "h");
		if (fr.header_id >= st->next_header_id)
			st->next_header_id = fr.header_id + 1;
		/* re-serialise the tags object */
		struct strbuf t = STRBUF_INIT;
		const struct json_value *tags = json_get(v, "t");
		sb_putc(&t, '{');
		for (size_t i = 0;
		     tags && tags->type == JSON_OBJECT && i < tags->n; i++) {
			const char *val = json_string(tags->members[i].value);
			if (i)
				sb_putc(&t, ',');
			json_put_string(&t, tags->members[i].key);
			sb_putc(&t, ':');
			json_put_string(&t, val ? val : "");
		}
		sb_putc(&t, '}');
		fr.tags_json = t.s;
		append_fragment(st, &fr);
		sb_free(&t);
		uint64_t num64 = strtoull(num + 1, NULL, 10);
		if (num64 > s->last_fragment_number)
			s->last_fragment_number = num64;
		json_free(v);
	}
	free(line);
	fclose(f);
}

static void load_stream(struct kl_store *s, const char *name)
{
	struct kl_stream *st = alloc_stream(s, name);
	if (!st)
		return;
	char path[1100];
	snprintf(path, sizeof path, "%s/stream.json", st->dir);
	size_t len;
	char *text = slurp(path, &len);
	size_t off = 0;
	const char *err = NULL;
	struct json_value *v = text ? json_parse(text, len, &off, &err) : NULL;
	free(text);
	const char *arn = json_string(json_get(v, "StreamARN"));
	const char *ver = json_string(json_get(v, "Version"));
	if (!v || !arn || !ver) {
		kl_log("%s: unreadable (%s at byte %zu), stream skipped", path,
		       err ? err : "missing fields", off);
		json_free(v);
		free_stream(st);
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
	load_fragments(s, st);
	if (add_stream(s, st))
		free_stream(st);
}

int kl_store_open(struct kl_store *s, const char *dir, const char *region)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	s->dir = strdup(dir);
	s->region = region;
	char sub[1100];
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
		if (e->d_name[0] == '+')
			load_stream(s, e->d_name + 1); /* a name starting '.' */
		else if (e->d_name[0] != '.')
			load_stream(s, e->d_name);
	closedir(d);
	return 0;
}

void kl_store_close(struct kl_store *s)
{
	for (size_t i = 0; i < s->n_streams; i++)
		kl_stream_put(s, s->streams[i]);
	free(s->streams);
	free(s->dir);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->changed);
}
