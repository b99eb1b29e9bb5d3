/* kvs-local read side: GetMedia, ListFragments, GetMediaForFragmentList.
 * Media goes out as the service sends it: per fragment the stream header
 * (EBML .. Tracks), a Tags element with AWS_KINESISVIDEO_FRAGMENT_NUMBER,
 * AWS_KINESISVIDEO_SERVER_TIMESTAMP, AWS_KINESISVIDEO_PRODUCER_TIMESTAMP and
 * the fragment's own tags, then the Cluster as received. */
#include "kvs_local.h"

#include "ebml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_simple_tag(struct ebml_buf *b, const char *name,
			   const char *value)
{
	size_t m = ebml_begin_master(b, MKV_ID_SIMPLE_TAG, 0);
	ebml_put_string(b, MKV_ID_TAG_NAME, name);
	ebml_put_string(b, MKV_ID_TAG_STRING, value);
	ebml_end_master(b, m);
}

static void put_fragment_tags(struct ebml_buf *b, const struct kl_fragment *f,
			      const char *tags_json)
{
	char ts[64];
	size_t tags = ebml_begin_master(b, MKV_ID_TAGS, 0);
	size_t tag = ebml_begin_master(b, MKV_ID_TAG, 0);
	size_t tg = ebml_begin_master(b, MKV_ID_TARGETS, 0);
	ebml_end_master(b, tg);
	put_simple_tag(b, "AWS_KINESISVIDEO_FRAGMENT_NUMBER", f->number);
	snprintf(ts, sizeof ts, "%lld.%03lld", (long long)(f->server_ms / 1000),
		 (long long)(f->server_ms % 1000));
	put_simple_tag(b, "AWS_KINESISVIDEO_SERVER_TIMESTAMP", ts);
	snprintf(ts, sizeof ts, "%lld.%03lld",
		 (long long)(f->producer_ms / 1000),
		 (long long)(f->producer_ms % 1000));
	put_simple_tag(b, "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", ts);
	struct json_value *v =
	    tags_json ? json_parse(tags_json, strlen(tags_json), NULL, NULL)
		      : NULL;
	for (size_t i = 0; v && v->type == JSON_OBJECT && i < v->n; i++) {
		const char *s = json_string(v->members[i].value);
		put_simple_tag(b, v->members[i].key, s ? s : "");
	}
	json_free(v);
	ebml_end_master(b, tag);
	ebml_end_master(b, tags);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct strbuf b = STRBUF_INIT;
	char tmp[8192];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		sb_append(&b, tmp, n);
	fclose(f);
	*len = b.len;
	return sb_detach(&b);
}

/* What a response has sent so far: the header in force. */
struct media_out {
	char *header;
	size_t header_len;
	bool repeat_headers;
};

/* Send one fragment: its stream header unless the same header bytes are
 * already in force in this response (one Segment, playable by ffmpeg and
 * mkvinfo), its Tags, its Cluster. 1 if the fragment is gone (deleted by
 * retention or the disk quota since it was looked up: nothing was sent),
 * -1 if the connection failed. */
static int send_fragment(struct kl_conn *c, const struct kl_stream *st,
			 const struct kl_fragment *f, struct media_out *mo)
{
	char path[KL_PATH_MAX];
	size_t len = 0;
	kl_fragment_path(st, f->number, path, sizeof path);
	FILE *cluster = fopen(path, "rb"); /* opened: it can no longer go */
	if (!cluster)
		return 1;
	kl_header_path(st, f->header_id, path, sizeof path);
	char *h = read_all(path, &len);
	char *tags = kl_fragment_tags(st, f);
	if (!h || !tags) {
		kl_log("cannot read %s", path);
		fclose(cluster);
		free(h);
		free(tags);
		return 1;
	}
	bool same =
	    mo->header && len == mo->header_len && !memcmp(h, mo->header, len);
	int rc = 0;
	if (!same || mo->repeat_headers) {
		rc = kl_send_chunk(c, h, len);
		free(mo->header);
		mo->header = h;
		mo->header_len = len;
	} else {
		free(h);
	}
	struct ebml_buf b = {0};
	put_fragment_tags(&b, f, tags);
	free(tags);
	if (rc == 0)
		rc = b.failed ? -1 : kl_send_chunk(c, b.data, b.len);
	ebml_buf_free(&b);
	uint8_t buf[65536];
	size_t n;
	while (rc == 0 && (n = fread(buf, 1, sizeof buf, cluster)) > 0)
		rc = kl_send_chunk(c, buf, n);
	fclose(cluster);
	return rc ? -1 : 0;
}

/* The first position from `from` on whose fragment ends after ms (producer
 * or server time), or idx.next. Reads the index in batches, taking the
 * lock for each, so a long scan does not hold up the producers. */
static uint64_t scan_time(struct kl_server *srv, struct kl_stream *st,
			  bool producer, int64_t ms)
{
	struct kl_fragment batch[64];
	pthread_mutex_lock(&srv->store.lock);
	uint64_t pos = st->idx.first;
	for (;;) {
		if (pos < st->idx.first)
			pos = st->idx.first;
		if (pos >= st->idx.next)
			break;
		size_t got = kl_index_read_many(&st->idx, pos, 64, batch);
		if (got == 0) {
			pos++; /* unreadable record */
			continue;
		}
		for (size_t i = 0; i < got; i++) {
			const struct kl_fragment *f = &batch[i];
			int64_t t = producer ? f->producer_ms : f->server_ms;
			if (t + f->duration_ms > ms) {
				pthread_mutex_unlock(&srv->store.lock);
				return pos + i;
			}
		}
		pos += got;
		pthread_mutex_unlock(&srv->store.lock);
		pthread_mutex_lock(&srv->store.lock);
	}
	pthread_mutex_unlock(&srv->store.lock);
	return pos;
}

/* First position to send for a StartSelector; 0, or -1 with the error
 * sent. Called without the lock. */
static int start_position(struct kl_server *srv, struct kl_conn *c,
			  struct kl_stream *st, const struct json_value *sel,
			  uint64_t *pos)
{
	const char *type = json_string(json_get(sel, "StartSelectorType"));
	if (!type) {
		kl_send_error(c, 400, "InvalidArgumentException",
			      "StartSelector.StartSelectorType is required");
		return -1;
	}
	if (!strcmp(type, "EARLIEST") || !strcmp(type, "NOW")) {
		pthread_mutex_lock(&srv->store.lock);
		*pos = !strcmp(type, "NOW") ? st->idx.next : st->idx.first;
		pthread_mutex_unlock(&srv->store.lock);
		return 0;
	}
	if (!strcmp(type, "FRAGMENT_NUMBER") ||
	    !strcmp(type, "CONTINUATION_TOKEN")) {
		bool after = !strcmp(type, "CONTINUATION_TOKEN");
		const char *n = json_string(json_get(
		    sel, after ? "ContinuationToken" : "AfterFragmentNumber"));
		pthread_mutex_lock(&srv->store.lock);
		int rc = n ? kl_index_find(&st->idx, n, pos) : -1;
		pthread_mutex_unlock(&srv->store.lock);
		if (rc) {
			kl_send_error(c, 404, "ResourceNotFoundException",
				      "no fragment %s in stream %s",
				      n ? n : "(missing)", st->name);
			return -1;
		}
		*pos += after;
		return 0;
	}
	bool producer = !strcmp(type, "PRODUCER_TIMESTAMP");
	if (producer || !strcmp(type, "SERVER_TIMESTAMP")) {
		int64_t ms;
		if (kl_parse_timestamp(json_get(sel, "StartTimestamp"), &ms)) {
			kl_send_error(c, 400, "InvalidArgumentException",
				      "StartSelector.StartTimestamp is "
				      "required");
			return -1;
		}
		*pos = scan_time(srv, st, producer, ms);
		return 0;
	}
	kl_send_error(c, 400, "InvalidArgumentException",
		      "StartSelectorType %s is not supported", type);
	return -1;
}

/* The fragment at *next, waiting for a live producer's next one; moves
 * *next past deleted fragments. 0 with f set, -1 at the end. */
static int next_live(struct kl_server *srv, struct kl_stream *st,
		     uint64_t *next, struct kl_fragment *f)
{
	int rc = -1;
	pthread_mutex_lock(&srv->store.lock);
	for (;;) {
		if (st->deleted || atomic_load(&srv->stopping))
			break;
		if (*next < st->idx.first) {
			kl_log("%s GetMedia: %llu fragments deleted before "
			       "they were read (retention, disk quota)",
			       st->name,
			       (unsigned long long)(st->idx.first - *next));
			*next = st->idx.first;
		}
		if (*next < st->idx.next) {
			if (kl_index_read(&st->idx, *next, f) == 0) {
				rc = 0;
				break;
			}
			(*next)++; /* unreadable record */
			continue;
		}
		if (!st->putmedia_active)
			break;
		/* live: wait for the producer's next fragment */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		pthread_cond_timedwait(&srv->store.changed, &srv->store.lock,
				       &until);
		if (*next >= st->idx.next && !st->putmedia_active)
			break;
	}
	pthread_mutex_unlock(&srv->store.lock);
	return rc;
}

int kl_get_media(struct kl_server *srv, struct kl_conn *c, struct kl_request *r)
{
	int rc = 0;
	if (kl_validate_request(c, r, &rc))
		return rc;
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	if (st && st->getmedia_active >= KL_MAX_GET_MEDIA) {
		rc = kl_send_error(c, 400, "ConnectionLimitExceededException",
				   "stream %s already has %d GetMedia "
				   "connections",
				   st->name, KL_MAX_GET_MEDIA);
		st = NULL;
	}
	if (!st) {
		pthread_mutex_unlock(&srv->store.lock);
		return rc;
	}
	st->getmedia_active++;
	st->refs++;
	pthread_mutex_unlock(&srv->store.lock);
	uint64_t next = 0;
	if (start_position(srv, c, st, json_get(r->json, "StartSelector"),
			   &next) == 0) {
		kl_log("%s GetMedia from fragment position %llu", st->name,
		       (unsigned long long)next);
		rc = kl_start_chunked(c, "video/webm");
		size_t sent = 0;
		struct media_out mo = {.repeat_headers =
					   srv->cfg.repeat_headers};
		struct kl_fragment f;
		while (rc == 0 && next_live(srv, st, &next, &f) == 0) {
			int k = send_fragment(c, st, &f, &mo);
			rc = k < 0 ? -1 : 0;
			sent += k == 0;
			next++;
		}
		free(mo.header);
		if (rc == 0)
			kl_end_chunks(c);
		kl_log("%s GetMedia sent %zu fragments", st->name, sent);
	}
	pthread_mutex_lock(&srv->store.lock);
	st->getmedia_active--;
	kl_stream_put(&srv->store, st);
	pthread_mutex_unlock(&srv->store.lock);
	return rc;
}

static void put_fragment_json(struct strbuf *b, const struct kl_fragment *f)
{
	sb_printf(b,
		  "{\"FragmentNumber\":\"%s\",\"FragmentSizeInBytes\":%lld,"
		  "\"ProducerTimestamp\":",
		  f->number, (long long)f->size);
	kl_put_timestamp(b, f->producer_ms);
	sb_puts(b, ",\"ServerTimestamp\":");
	kl_put_timestamp(b, f->server_ms);
	sb_printf(b, ",\"FragmentLengthInMilliseconds\":%lld}",
		  (long long)f->duration_ms);
}

/* The fragments whose time (producer or server) is in [from, to], from
 * position *pos on, at most max of them, as JSON into b; *pos ends where
 * the next page starts, *more says whether there is one. Reads the index
 * in batches, taking the lock for each. */
static void list_page(struct kl_server *srv, struct kl_stream *st,
		      struct strbuf *b, uint64_t *pos, int64_t max,
		      bool producer, int64_t from, int64_t to, bool *more)
{
	struct kl_fragment batch[64];
	int64_t listed = 0;
	*more = false;
	pthread_mutex_lock(&srv->store.lock);
	for (;;) {
		if (*pos < st->idx.first)
			*pos = st->idx.first;
		if (*pos >= st->idx.next)
			break;
		size_t got = kl_index_read_many(&st->idx, *pos, 64, batch);
		if (got == 0) {
			(*pos)++;
			continue;
		}
		size_t i;
		for (i = 0; i < got; i++) {
			const struct kl_fragment *f = &batch[i];
			int64_t t = producer ? f->producer_ms : f->server_ms;
			if (t < from || t > to)
				continue;
			if (listed == max) {
				*more = true;
				break;
			}
			if (listed++)
				sb_putc(b, ',');
			put_fragment_json(b, f);
		}
		*pos += i;
		if (*more)
			break;
		pthread_mutex_unlock(&srv->store.lock);
		pthread_mutex_lock(&srv->store.lock);
	}
	pthread_mutex_unlock(&srv->store.lock);
}

int kl_list_fragments(struct kl_server *srv, struct kl_conn *c,
		      struct kl_request *r)
{
	int rc = 0;
	if (kl_validate_request(c, r, &rc))
		return rc;
	int64_t max = 1000, from = INT64_MIN, to = INT64_MAX;
	uint64_t pos = 0;
	const struct json_value *mv = json_get(r->json, "MaxResults");
	if (mv && (json_int64(mv, &max) || max < 1 || max > 1000))
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "MaxResults must be 1-1000");
	/* NextToken: the index position where the next page starts */
	const char *token = kl_json_str(r, "NextToken");
	if (token) {
		char *end;
		errno = 0;
		pos = strtoull(token, &end, 10);
		if (errno || *end || end == token)
			return kl_send_error(c, 400, "InvalidArgumentException",
					     "invalid NextToken");
	}
	const struct json_value *sel = json_get(r->json, "FragmentSelector");
	bool producer = true;
	if (sel) {
		const char *type =
		    json_string(json_get(sel, "FragmentSelectorType"));
		const struct json_value *range =
		    json_get(sel, "TimestampRange");
		if (!type ||
		    (strcmp(type, "PRODUCER_TIMESTAMP") &&
		     strcmp(type, "SERVER_TIMESTAMP")) ||
		    kl_parse_timestamp(json_get(range, "StartTimestamp"),
				       &from) ||
		    kl_parse_timestamp(json_get(range, "EndTimestamp"), &to))
			return kl_send_error(
			    c, 400, "InvalidArgumentException",
			    "FragmentSelector needs FragmentSelectorType "
			    "(PRODUCER_TIMESTAMP or SERVER_TIMESTAMP) and "
			    "TimestampRange with StartTimestamp and "
			    "EndTimestamp");
		producer = !strcmp(type, "PRODUCER_TIMESTAMP");
	}
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	if (st)
		st->refs++;
	pthread_mutex_unlock(&srv->store.lock);
	if (!st)
		return rc;
	struct strbuf b = STRBUF_INIT;
	sb_puts(&b, "{\"Fragments\":[");
	bool more;
	list_page(srv, st, &b, &pos, max, producer, from, to, &more);
	sb_puts(&b, "]");
	if (more)
		sb_printf(&b, ",\"NextToken\":\"%llu\"",
			  (unsigned long long)pos);
	sb_puts(&b, "}");
	rc = b.failed ? kl_send_error(c, 500, "InternalFailure", "no memory")
		      : kl_send_json(c, 200, b.s);
	sb_free(&b);
	pthread_mutex_lock(&srv->store.lock);
	kl_stream_put(&srv->store, st);
	pthread_mutex_unlock(&srv->store.lock);
	return rc;
}

int kl_get_media_for_fragment_list(struct kl_server *srv, struct kl_conn *c,
				   struct kl_request *r)
{
	int rc = 0;
	if (kl_validate_request(c, r, &rc))
		return rc;
	const struct json_value *list = json_get(r->json, "Fragments");
	if (!list || list->type != JSON_ARRAY || list->n < 1 ||
	    list->n > KL_MAX_FRAGMENT_LIST)
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "Fragments must list 1-%d fragment "
				     "numbers",
				     KL_MAX_FRAGMENT_LIST);
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	if (!st) {
		pthread_mutex_unlock(&srv->store.lock);
		return rc;
	}
	if (st->fragment_list_active >= KL_MAX_GET_MEDIA_FOR_LIST) {
		pthread_mutex_unlock(&srv->store.lock);
		return kl_send_error(c, 400, "ConnectionLimitExceededException",
				     "stream %s already has %d "
				     "GetMediaForFragmentList connections",
				     st->name, KL_MAX_GET_MEDIA_FOR_LIST);
	}
	st->refs++;
	st->fragment_list_active++;
	pthread_mutex_unlock(&srv->store.lock);
	struct kl_fragment *fs = calloc(list->n, sizeof *fs);
	if (!fs)
		rc = kl_send_error(c, 500, "InternalFailure", "out of memory");
	for (size_t i = 0; fs && i < list->n; i++) {
		const char *n = json_string(list->items[i]);
		uint64_t pos;
		pthread_mutex_lock(&srv->store.lock);
		int k = n ? kl_index_find(&st->idx, n, &pos) : -1;
		if (k == 0)
			k = kl_index_read(&st->idx, pos, &fs[i]);
		pthread_mutex_unlock(&srv->store.lock);
		if (k) {
			rc = kl_send_error(c, 404, "ResourceNotFoundException",
					   "no fragment %s in stream %s",
					   n ? n : "(not a string)", st->name);
			free(fs);
			fs = NULL;
		}
	}
	struct media_out mo = {.repeat_headers = srv->cfg.repeat_headers};
	if (fs)
		rc = kl_start_chunked(c, "video/webm");
	for (size_t i = 0; fs && rc == 0 && i < list->n; i++)
		rc = send_fragment(c, st, &fs[i], &mo) < 0 ? -1 : 0;
	if (fs && rc == 0)
		kl_end_chunks(c);
	free(mo.header);
	free(fs);
	pthread_mutex_lock(&srv->store.lock);
	st->fragment_list_active--;
	kl_stream_put(&srv->store, st);
	pthread_mutex_unlock(&srv->store.lock);
	return rc;
}
