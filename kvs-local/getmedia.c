/* kvs-local read side: GetMedia, ListFragments, GetMediaForFragmentList.
 * Media goes out as the service sends it: per fragment the stream header
 * (EBML .. Tracks), a Tags element with AWS_KINESISVIDEO_FRAGMENT_NUMBER,
 * AWS_KINESISVIDEO_SERVER_TIMESTAMP, AWS_KINESISVIDEO_PRODUCER_TIMESTAMP and
 * the fragment's own tags, then the Cluster as received. */
#include "kvs_local.h"

#include "ebml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A copy of one fragment's metadata, taken under the store lock. */
struct frag_ref {
	struct kl_fragment f;
};

static int send_file(struct kl_conn *c, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		kl_log("cannot read %s", path);
		return -1;
	}
	uint8_t buf[65536];
	size_t n;
	int rc = 0;
	while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
		rc = kl_send_chunk(c, buf, n);
	fclose(f);
	return rc;
}

static void put_simple_tag(struct ebml_buf *b, const char *name,
			   const char *value)
{
	size_t m = ebml_begin_master(b, MKV_ID_SIMPLE_TAG, 0);
	ebml_put_string(b, MKV_ID_TAG_NAME, name);
	ebml_put_string(b, MKV_ID_TAG_STRING, value);
	ebml_end_master(b, m);
}

static void put_fragment_tags(struct ebml_buf *b, const struct kl_fragment *f)
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
	    json_parse(f->tags_json, strlen(f->tags_json), NULL, NULL);
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
 * mkvinfo), its Tags, its Cluster. */
static int send_fragment(struct kl_conn *c, const struct kl_stream *st,
			 const struct kl_fragment *f, struct media_out *mo)
{
	char path[1200];
	size_t len = 0;
	kl_header_path(st, f->header_id, path, sizeof path);
	char *h = read_all(path, &len);
	if (!h) {
		kl_log("cannot read %s", path);
		return -1;
	}
	bool same =
	    mo->header && len == mo->header_len && !memcmp(h, mo->header, len);
	if (!same || mo->repeat_headers) {
		if (kl_send_chunk(c, h, len)) {
			free(h);
			return -1;
		}
		free(mo->header);
		mo->header = h;
		mo->header_len = len;
	} else {
		free(h);
	}
	struct ebml_buf b = {0};
	put_fragment_tags(&b, f);
	int rc = b.failed ? -1 : kl_send_chunk(c, b.data, b.len);
	ebml_buf_free(&b);
	if (rc)
		return -1;
	kl_fragment_path(st, f->number, path, sizeof path);
	return send_file(c, path);
}

static void copy_fragment(struct kl_fragment *dst,
			  const struct kl_fragment *src)
{
	*dst = *src;
	dst->tags_json = strdup(src->tags_json ? src->tags_json : "{}");
}

static ssize_t find_number(const struct kl_stream *st, const char *number)
{
	for (size_t i = 0; i < st->n_frags; i++)
		if (!strcmp(st->frags[i].number, number))
			return (ssize_t)i;
	return -1;
}

/* First fragment index to send for a StartSelector; -1 = error sent. */
static ssize_t start_index(struct kl_conn *c, const struct kl_stream *st,
			   const struct json_value *sel, int *rc)
{
	const char *type = json_string(json_get(sel, "StartSelectorType"));
	if (!type) {
		*rc = kl_send_error(c, 400, "InvalidArgumentException",
				    "StartSelector.StartSelectorType is "
				    "required");
		return -1;
	}
	if (!strcmp(type, "EARLIEST"))
		return 0;
	if (!strcmp(type, "NOW"))
		return (ssize_t)st->n_frags;
	if (!strcmp(type, "FRAGMENT_NUMBER") ||
	    !strcmp(type, "CONTINUATION_TOKEN")) {
		bool after = !strcmp(type, "CONTINUATION_TOKEN");
		const char *n = json_string(json_get(
		    sel, after ? "ContinuationToken" : "AfterFragmentNumber"));
		ssize_t i = n ? find_number(st, n) : -1;
		if (i < 0) {
			*rc = kl_send_error(c, 404, "ResourceNotFoundException",
					    "no fragment %s in stream %s",
					    n ? n : "(missing)", st->name);
			return -1;
		}
		return i + after;
	}
	bool producer = !strcmp(type, "PRODUCER_TIMESTAMP");
	if (producer || !strcmp(type, "SERVER_TIMESTAMP")) {
		int64_t ms;
		if (kl_parse_timestamp(json_get(sel, "StartTimestamp"), &ms)) {
			*rc = kl_send_error(c, 400, "InvalidArgumentException",
					    "StartSelector.StartTimestamp is "
					    "required");
			return -1;
		}
		for (size_t i = 0; i < st->n_frags; i++) {
			const struct kl_fragment *f = &st->frags[i];
			int64_t t = producer ? f->producer_ms : f->server_ms;
			if (t + f->duration_ms > ms)
				return (ssize_t)i;
		}
		return (ssize_t)st->n_frags;
	}
	*rc = kl_send_error(c, 400, "InvalidArgumentException",
			    "StartSelectorType %s is not supported", type);
	return -1;
}

int kl_get_media(struct kl_server *srv, struct kl_conn *c, struct kl_request *r)
{
	int rc = 0;
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	ssize_t next = -1;
	if (st && st->getmedia_active >= KL_MAX_GET_MEDIA) {
		rc = kl_send_error(c, 400, "ConnectionLimitExceededException",
				   "stream %s already has %d GetMedia "
				   "connections",
				   st->name, KL_MAX_GET_MEDIA);
		st = NULL;
	}
	if (st)
		next =
		    start_index(c, st, json_get(r->json, "StartSelector"), &rc);
	if (!st || next < 0) {
		pthread_mutex_unlock(&srv->store.lock);
		return rc;
	}
	st->getmedia_active++;
	st->refs++;
	pthread_mutex_unlock(&srv->store.lock);
	kl_log("%s GetMedia from fragment index %zd", st->name, next);
	rc = kl_start_chunked(c, "video/webm");
	size_t sent = 0;
	struct media_out mo = {.repeat_headers = srv->cfg.repeat_headers};
	while (rc == 0) {
		struct kl_fragment f;
		bool have = false;
		pthread_mutex_lock(&srv->store.lock);
		if ((size_t)next >= st->n_frags && st->putmedia_active &&
		    !st->deleted && !atomic_load(&srv->stopping)) {
			/* live: wait for the producer's next fragment */
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 5;
			pthread_cond_timedwait(&srv->store.changed,
					       &srv->store.lock, &until);
		}
		if ((size_t)next < st->n_frags && !st->deleted) {
			copy_fragment(&f, &st->frags[next++]);
			have = true;
		}
		pthread_mutex_unlock(&srv->store.lock);
		if (!have)
			break;
		rc = send_fragment(c, st, &f, &mo);
		free(f.tags_json);
		sent++;
	}
	free(mo.header);
	if (rc == 0)
		kl_end_chunks(c);
	kl_log("%s GetMedia sent %zu fragments", st->name, sent);
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

int kl_list_fragments(struct kl_server *srv, struct kl_conn *c,
		      struct kl_request *r)
{
	int64_t max = 1000, start = 0, from = INT64_MIN, to = INT64_MAX;
	const struct json_value *mv = json_get(r->json, "MaxResults");
	if (mv && (json_int64(mv, &max) || max < 1 || max > 1000))
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "MaxResults must be 1-1000");
	const char *token = kl_json_str(r, "NextToken");
	if (token) {
		char *end;
		start = strtoll(token, &end, 10);
		if (*end || start < 0)
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
	int rc = 0;
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	if (!st) {
		pthread_mutex_unlock(&srv->store.lock);
		return rc;
	}
	struct strbuf b = STRBUF_INIT;
	sb_puts(&b, "{\"Fragments\":[");
	int64_t seen = 0, listed = 0;
	bool more = false;
	for (size_t i = 0; i < st->n_frags; i++) {
		const struct kl_fragment *f = &st->frags[i];
		int64_t t = producer ? f->producer_ms : f->server_ms;
		if (t < from || t > to)
			continue;
		if (seen++ < start)
			continue;
		if (listed == max) {
			more = true;
			break;
		}
		if (listed++)
			sb_putc(&b, ',');
		put_fragment_json(&b, f);
	}
	pthread_mutex_unlock(&srv->store.lock);
	sb_puts(&b, "]");
	if (more)
		sb_printf(&b, ",\"NextToken\":\"%lld\"",
			  (long long)(start + listed));
	sb_puts(&b, "}");
	rc = b.failed ? kl_send_error(c, 500, "InternalFailure", "no memory")
		      : kl_send_json(c, 200, b.s);
	sb_free(&b);
	return rc;
}

int kl_get_media_for_fragment_list(struct kl_server *srv, struct kl_conn *c,
				   struct kl_request *r)
{
	const struct json_value *list = json_get(r->json, "Fragments");
	if (!list || list->type != JSON_ARRAY || list->n < 1 ||
	    list->n > KL_MAX_FRAGMENT_LIST)
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "Fragments must list 1-%d fragment "
				     "numbers",
				     KL_MAX_FRAGMENT_LIST);
	int rc = 0;
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
	struct kl_fragment *fs = calloc(list->n, sizeof *fs);
	for (size_t i = 0; fs && i < list->n; i++) {
		const char *n = json_string(list->items[i]);
		ssize_t k = n ? find_number(st, n) : -1;
		if (k < 0) {
			pthread_mutex_unlock(&srv->store.lock);
			for (size_t j = 0; j < i; j++)
				free(fs[j].tags_json);
			free(fs);
			return kl_send_error(
			    c, 404, "ResourceNotFoundException",
			    "no fragment %s in stream %s",
			    n ? n : "(not a string)", st->name);
		}
		copy_fragment(&fs[i], &st->frags[k]);
	}
	st->refs++;
	st->fragment_list_active++;
	pthread_mutex_unlock(&srv->store.lock);
	struct media_out mo = {.repeat_headers = srv->cfg.repeat_headers};
	if (!fs)
		rc = kl_send_error(c, 500, "InternalFailure", "out of memory");
	else
		rc = kl_start_chunked(c, "video/webm");
	for (size_t i = 0; fs && i < list->n; i++) {
		if (rc == 0)
			rc = send_fragment(c, st, &fs[i], &mo);
		free(fs[i].tags_json);
	}
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
