/* kvs-local playback: choosing stored fragments by time, joining them into
 * one Matroska Segment, and GetClip (an MP4 of a time range). */
#include "kvs_local.h"

#include <stdlib.h>
#include <string.h>

size_t kl_select_fragments(struct kl_server *srv, struct kl_stream *st,
			   const struct kl_ts_selector *sel, size_t max,
			   struct kl_fragment *out, bool *more)
{
	struct kl_fragment batch[64];
	int64_t from = sel->has_start ? sel->start_ms : INT64_MIN;
	int64_t to = sel->has_end ? sel->end_ms : INT64_MAX;
	size_t got_n = 0;
	*more = false;
	pthread_mutex_lock(&srv->store.lock);
	uint64_t pos = st->idx.first;
	while (!*more) {
		if (pos < st->idx.first)
			pos = st->idx.first;
		if (pos >= st->idx.next)
			break;
		size_t got = kl_index_read_many(&st->idx, pos, 64, batch);
		if (got == 0) {
			pos++; /* unreadable record */
			continue;
		}
		for (size_t i = 0; i < got && !*more; i++) {
			int64_t t = sel->producer ? batch[i].producer_ms
						  : batch[i].server_ms;
			if (t < from || t > to)
				continue;
			if (got_n == max)
				*more = true;
			else
				out[got_n++] = batch[i];
		}
		pos += got;
		/* let producers in between batches */
		pthread_mutex_unlock(&srv->store.lock);
		pthread_mutex_lock(&srv->store.lock);
	}
	pthread_mutex_unlock(&srv->store.lock);
	return got_n;
}

static int append_file(struct strbuf *b, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char tmp[65536];
	size_t k;
	while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
		sb_append(b, tmp, k);
	int bad = ferror(f);
	fclose(f);
	return bad || b->failed ? -1 : 0;
}

static char *read_header(const struct kl_stream *st, unsigned id, size_t *len)
{
	char path[KL_PATH_MAX];
	struct strbuf b = STRBUF_INIT;
	kl_header_path(st, id, path, sizeof path);
	if (append_file(&b, path)) {
		sb_free(&b);
		return NULL;
	}
	*len = b.len;
	return sb_detach(&b);
}

int kl_build_mkv(const struct kl_stream *st, const struct kl_fragment *fs,
		 size_t n, int64_t max_bytes, struct strbuf *out, size_t *used,
		 char *err, size_t errn)
{
	size_t hlen = 0, used_n = 0;
	char *header = NULL;
	unsigned header_id = 0;
	int rc = -1;
	*used = 0;
	for (size_t i = 0; i < n; i++) {
		if (!header || fs[i].header_id != header_id) {
			size_t len;
			char *h = read_header(st, fs[i].header_id, &len);
			if (!h) {
				snprintf(err, errn,
					 "stream header %u of fragment %s is "
					 "unreadable",
					 fs[i].header_id, fs[i].number);
				goto out;
			}
			/* a new header with other bytes: tracks or codec
			 * private data changed, which one MP4 cannot hold */
			if (header && (len != hlen || memcmp(h, header, len))) {
				free(h);
				snprintf(err, errn,
					 "the tracks or codec private data "
					 "change at fragment %s inside the "
					 "requested range",
					 fs[i].number);
				goto out;
			}
			if (!header) {
				sb_append(out, h, len);
				header = h;
				hlen = len;
			} else {
				free(h);
			}
			header_id = fs[i].header_id;
		}
		if (max_bytes > 0 && used_n > 0 &&
		    (int64_t)(out->len - hlen) + fs[i].size > max_bytes)
			break;
		char path[KL_PATH_MAX];
		kl_fragment_path(st, fs[i].number, path, sizeof path);
		size_t before = out->len;
		if (append_file(out, path)) {
			if (out->failed) {
				snprintf(err, errn, "out of memory");
				goto out;
			}
			out->len = before; /* deleted meanwhile: left out */
			continue;
		}
		used_n++;
	}
	*used = used_n;
	if (used_n == 0) {
		snprintf(err, errn, "no fragment of the range is stored");
		goto out;
	}
	rc = 0;
out:
	free(header);
	return rc;
}

int kl_send_body(struct kl_conn *c, const char *content_type, const void *data,
		 size_t len)
{
	/* written directly (no lock is held): a clip of up to 100 MB is not
	 * copied once more into the deferred output */
	if (kl_conn_flush(c) ||
	    kl_conn_printf(c,
			   "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
			   "Content-Length: %zu\r\n%s\r\n",
			   content_type, len,
			   c->close_after ? "Connection: close\r\n" : ""))
		return -1;
	return kl_conn_write(c, data, len);
}

int kl_get_clip(struct kl_server *srv, struct kl_conn *c, struct kl_request *r)
{
	int rc = 0;
	char err[300];
	struct kl_ts_selector sel;
	if (kl_validate_request(c, r, &rc))
		return rc;
	if (kl_parse_clip_params(r->json, &sel, err, sizeof err))
		return kl_send_error(c, 400, "InvalidArgumentException", "%s",
				     err);
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	if (st)
		st->refs++;
	pthread_mutex_unlock(&srv->store.lock);
	if (!st)
		return rc;
	int64_t started_ms = kl_now_ms();
	struct kl_fragment *fs = calloc(KL_CLIP_MAX_FRAGMENTS, sizeof *fs);
	struct strbuf mkv = STRBUF_INIT;
	struct kl_mp4 mp4 = {0};
	bool more = false;
	size_t n = fs ? kl_select_fragments(srv, st, &sel,
					    KL_CLIP_MAX_FRAGMENTS, fs, &more)
		      : 0;
	size_t used = 0;
	if (!fs)
		rc = kl_send_error(c, 500, "InternalFailure", "out of memory");
	else if (n == 0)
		rc = kl_send_error(c, 404, "ResourceNotFoundException",
				   "no fragment of stream %s in the requested "
				   "range",
				   st->name);
	else if (kl_build_mkv(st, fs, n, KL_CLIP_MAX_BYTES, &mkv, &used, err,
			      sizeof err))
		rc = kl_send_error(c, 400,
				   strstr(err, "codec private") ||
					   strstr(err, "unreadable")
				       ? "InvalidCodecPrivateDataException"
				       : "ResourceNotFoundException",
				   "%s", err);
	else if (kl_mp4_remux(mkv.s, mkv.len, false, &mp4, err, sizeof err))
		rc = kl_send_error(c, 400, "InvalidMediaFrameException",
				   "stream %s: %s", st->name, err);
	else {
		if (more || used < n)
			kl_log("%s GetClip: the range holds more than %d "
			       "fragments or %lld bytes; the clip has its "
			       "first %zu fragments",
			       st->name, KL_CLIP_MAX_FRAGMENTS,
			       (long long)KL_CLIP_MAX_BYTES, used);
		kl_log("%s GetClip: %zu fragments, %zu samples, %zu bytes "
		       "made in %lld ms",
		       st->name, used, mp4.samples, mp4.len,
		       (long long)(kl_now_ms() - started_ms));
		rc = kl_send_body(c, "video/mp4", mp4.data, mp4.len);
	}
	free(mp4.data);
	sb_free(&mkv);
	free(fs);
	pthread_mutex_lock(&srv->store.lock);
	kl_stream_put(&srv->store, st);
	pthread_mutex_unlock(&srv->store.lock);
	return rc;
}
