/* kvs-local HLS: GetHLSStreamingSessionURL and the session's URLs
 * (getHLSMasterPlaylist.m3u8, getHLSMediaPlaylist.m3u8,
 * getMP4InitFragment.mp4, getMP4MediaFragment.mp4), fragmented MP4 only.
 * As on the service the URLs are not signed: the SessionToken in them is
 * the credential, so it is 256 random bits, compared in constant time,
 * and refused once the session's Expires has passed. */
#include "kvs_local.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_LEN 64 /* hex characters of 32 random bytes */

struct hls_session {
	char token[TOKEN_LEN + 1]; /* "" = free */
	char stream[256];
	struct kl_hls_params p;
	int64_t expires_ms;
};

static struct hls_session sessions[KL_HLS_MAX_SESSIONS];
static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;

/* A free (or expired) slot for s: false if every session is live. */
static bool session_add(const struct hls_session *s)
{
	int64_t now = kl_now_ms();
	bool ok = false;
	pthread_mutex_lock(&sessions_lock);
	for (size_t i = 0; i < KL_HLS_MAX_SESSIONS && !ok; i++) {
		if (sessions[i].token[0] && sessions[i].expires_ms > now)
			continue;
		sessions[i] = *s;
		ok = true;
	}
	pthread_mutex_unlock(&sessions_lock);
	return ok;
}

/* The session of token into *out: 0, -1 unknown, -2 expired. */
static int session_find(const char *token, struct hls_session *out)
{
	int rc = -1;
	if (strlen(token) != TOKEN_LEN)
		return -1;
	pthread_mutex_lock(&sessions_lock);
	for (size_t i = 0; i < KL_HLS_MAX_SESSIONS; i++) {
		if (!sessions[i].token[0] ||
		    CRYPTO_memcmp(sessions[i].token, token, TOKEN_LEN))
			continue;
		*out = sessions[i];
		rc = out->expires_ms > kl_now_ms() ? 0 : -2;
		break;
	}
	pthread_mutex_unlock(&sessions_lock);
	return rc;
}

/* The session's fragments: ON_DEMAND and LIVE_REPLAY from the start of
 * their range, LIVE the newest max_results. */
static size_t session_fragments(struct kl_server *srv, struct kl_stream *st,
				const struct hls_session *s,
				struct kl_fragment *out, bool *more)
{
	size_t max = (size_t)s->p.max_results;
	if (s->p.mode != KL_HLS_LIVE)
		return kl_select_fragments(srv, st, &s->p.sel, max, out, more);
	pthread_mutex_lock(&srv->store.lock);
	uint64_t first = st->idx.next - st->idx.first > max ? st->idx.next - max
							    : st->idx.first;
	size_t n = kl_index_read_many(&st->idx, first, max, out);
	pthread_mutex_unlock(&srv->store.lock);
	*more = false;
	return n;
}

int kl_get_hls_session_url(struct kl_server *srv, struct kl_conn *c,
			   struct kl_request *r)
{
	int rc = 0;
	char err[300];
	struct hls_session s = {0};
	if (kl_validate_request(c, r, &rc))
		return rc;
	if (kl_parse_hls_params(r->json, &s.p, err, sizeof err))
		return kl_send_error(c, 400, "InvalidArgumentException", "%s",
				     err);
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	if (!st) {
		pthread_mutex_unlock(&srv->store.lock);
		return rc;
	}
	snprintf(s.stream, sizeof s.stream, "%s", st->name);
	bool retains = st->retention_hours > 0;
	struct kl_fragment newest = {0};
	bool any = st->idx.next > st->idx.first &&
		   kl_index_read(&st->idx, st->idx.next - 1, &newest) == 0;
	st->refs++;
	pthread_mutex_unlock(&srv->store.lock);
	struct kl_fragment one;
	bool more;
	if (!retains)
		rc = kl_send_error(c, 400, "NoDataRetentionException",
				   "stream %s does not retain data "
				   "(DataRetentionInHours 0)",
				   s.stream);
	else if (s.p.mode == KL_HLS_LIVE &&
		 (!any ||
		  newest.server_ms < kl_now_ms() - KL_HLS_LIVE_WINDOW_MS))
		rc = kl_send_error(c, 404, "ResourceNotFoundException",
				   "stream %s has no fragment in the last %d "
				   "s",
				   s.stream, KL_HLS_LIVE_WINDOW_MS / 1000);
	else if (s.p.mode != KL_HLS_LIVE &&
		 kl_select_fragments(srv, st, &s.p.sel, 1, &one, &more) == 0)
		rc = kl_send_error(c, 404, "ResourceNotFoundException",
				   "no fragment of stream %s in the requested "
				   "range",
				   s.stream);
	else {
		unsigned char raw[TOKEN_LEN / 2];
		s.expires_ms = kl_now_ms() + s.p.expires_s * 1000;
		if (RAND_bytes(raw, sizeof raw) != 1)
			rc = kl_send_error(c, 500, "InternalFailure",
					   "no random bytes for a token");
		else {
			for (size_t i = 0; i < sizeof raw; i++)
				snprintf(s.token + 2 * i, 3, "%02x", raw[i]);
			OPENSSL_cleanse(raw, sizeof raw);
			if (!session_add(&s))
				rc = kl_send_error(
				    c, 400, "ClientLimitExceededException",
				    "%d HLS sessions are open; try when one "
				    "expires",
				    KL_HLS_MAX_SESSIONS);
			else {
				struct strbuf b = STRBUF_INIT;
				char url[600];
				snprintf(url, sizeof url,
					 "%s/hls/v1/getHLSMasterPlaylist.m3u8"
					 "?SessionToken=%s",
					 srv->endpoint, s.token);
				sb_puts(&b, "{\"HLSStreamingSessionURL\":");
				json_put_string(&b, url);
				sb_puts(&b, "}");
				rc = b.failed ? kl_send_error(c, 500,
							      "InternalFailure",
							      "out of memory")
					      : kl_send_json(c, 200, b.s);
				sb_free(&b);
				kl_log("%s HLS session opened for %lld s",
				       s.stream, (long long)s.p.expires_s);
			}
		}
	}
	OPENSSL_cleanse(&s, sizeof s);
	pthread_mutex_lock(&srv->store.lock);
	kl_stream_put(&srv->store, st);
	pthread_mutex_unlock(&srv->store.lock);
	return rc;
}

static int send_playlist(struct kl_conn *c, struct strbuf *b)
{
	if (b->failed)
		return kl_send_error(c, 500, "InternalFailure",
				     "out of memory");
	return kl_send_body(c, "application/vnd.apple.mpegurl", b->s, b->len);
}

static void master_playlist(struct strbuf *b, const struct hls_session *s,
			    const struct kl_fragment *fs, size_t n)
{
	int64_t bw = 0;
	for (size_t i = 0; i < n; i++)
		if (fs[i].duration_ms > 0 &&
		    fs[i].size * 8000 / fs[i].duration_ms > bw)
			bw = fs[i].size * 8000 / fs[i].duration_ms;
	sb_printf(b,
		  "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
		  "#EXT-X-STREAM-INF:BANDWIDTH=%lld\n"
		  "getHLSMediaPlaylist.m3u8?SessionToken=%s\n",
		  (long long)(bw > 0 ? bw : 1000000), s->token);
}

static void media_playlist(struct strbuf *b, const struct hls_session *s,
			   const struct kl_fragment *fs, size_t n,
			   uint64_t sequence)
{
	int64_t target = 1;
	for (size_t i = 0; i < n; i++)
		if ((fs[i].duration_ms + 999) / 1000 > target)
			target = (fs[i].duration_ms + 999) / 1000;
	sb_printf(b,
		  "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%lld\n"
		  "#EXT-X-MEDIA-SEQUENCE:%llu\n",
		  (long long)target, (unsigned long long)sequence);
	if (s->p.mode == KL_HLS_ON_DEMAND)
		sb_puts(b, "#EXT-X-PLAYLIST-TYPE:VOD\n");
	else if (s->p.mode == KL_HLS_LIVE_REPLAY)
		sb_puts(b, "#EXT-X-PLAYLIST-TYPE:EVENT\n");
	sb_printf(b,
		  "#EXT-X-MAP:URI=\"getMP4InitFragment.mp4?SessionToken=%s\"\n",
		  s->token);
	for (size_t i = 0; i < n; i++)
		sb_printf(b,
			  "#EXTINF:%lld.%03lld,\n"
			  "getMP4MediaFragment.mp4?FragmentNumber=%s&"
			  "SessionToken=%s\n",
			  (long long)(fs[i].duration_ms / 1000),
			  (long long)(fs[i].duration_ms % 1000), fs[i].number,
			  s->token);
	bool ended = s->p.mode == KL_HLS_ON_DEMAND ||
		     (s->p.mode == KL_HLS_LIVE_REPLAY && s->p.sel.has_end &&
		      kl_now_ms() > s->p.sel.end_ms);
	if (ended)
		sb_puts(b, "#EXT-X-ENDLIST\n");
}

/* One fragment as fragmented MP4: its init part (init) or its media part. */
static int send_mp4(struct kl_conn *c, const struct kl_stream *st,
		    const struct kl_fragment *f, bool init)
{
	struct strbuf mkv = STRBUF_INIT;
	struct kl_mp4 mp4 = {0};
	char err[300];
	size_t used;
	int rc;
	if (kl_build_mkv(st, f, 1, 0, &mkv, &used, err, sizeof err))
		rc = kl_send_error(c, 404, "ResourceNotFoundException",
				   "fragment %s: %s", f->number, err);
	else if (kl_mp4_remux(mkv.s, mkv.len, true, &mp4, err, sizeof err))
		rc = kl_send_error(c, 400, "InvalidMediaFrameException",
				   "fragment %s: %s", f->number, err);
	else if (init)
		rc = kl_send_body(c, "video/mp4", mp4.data, mp4.init_len);
	else
		rc = kl_send_body(c, "video/mp4", mp4.data + mp4.init_len,
				  mp4.len - mp4.init_len);
	free(mp4.data);
	sb_free(&mkv);
	return rc;
}

/* The fragment numbered `number` if the session may see it. */
static int session_fragment(struct kl_server *srv, struct kl_stream *st,
			    const struct hls_session *s, const char *number,
			    struct kl_fragment *f)
{
	uint64_t pos;
	pthread_mutex_lock(&srv->store.lock);
	int k = kl_index_find(&st->idx, number, &pos);
	if (k == 0)
		k = kl_index_read(&st->idx, pos, f);
	pthread_mutex_unlock(&srv->store.lock);
	if (k)
		return -1;
	int64_t t = s->p.sel.producer ? f->producer_ms : f->server_ms;
	if ((s->p.sel.has_start && t < s->p.sel.start_ms) ||
	    (s->p.sel.has_end && t > s->p.sel.end_ms))
		return -1; /* outside the range the token grants */
	return 0;
}

static int serve(struct kl_server *srv, struct kl_conn *c, struct kl_request *r,
		 struct kl_stream *st, const struct hls_session *s,
		 const char *what)
{
	size_t max = (size_t)s->p.max_results;
	char number[32];
	struct kl_fragment f;
	if (!strcmp(what, "getMP4MediaFragment.mp4")) {
		if (kl_query_param(r->head.query, "FragmentNumber", number,
				   sizeof number))
			return kl_send_error(c, 400, "InvalidArgumentException",
					     "FragmentNumber is required");
		if (session_fragment(srv, st, s, number, &f))
			return kl_send_error(
			    c, 404, "ResourceNotFoundException",
			    "no fragment %s in this session", number);
		return send_mp4(c, st, &f, false);
	}
	struct kl_fragment *fs = calloc(max, sizeof *fs);
	if (!fs)
		return kl_send_error(c, 500, "InternalFailure",
				     "out of memory");
	bool more;
	size_t n = session_fragments(srv, st, s, fs, &more);
	int rc;
	uint64_t seq = 0;
	if (n && s->p.mode == KL_HLS_LIVE) {
		pthread_mutex_lock(&srv->store.lock);
		kl_index_find(&st->idx, fs[0].number, &seq);
		pthread_mutex_unlock(&srv->store.lock);
	}
	if (n == 0)
		rc = kl_send_error(c, 404, "ResourceNotFoundException",
				   "no fragment in this session");
	else if (!strcmp(what, "getHLSMasterPlaylist.m3u8")) {
		struct strbuf b = STRBUF_INIT;
		master_playlist(&b, s, fs, n);
		rc = send_playlist(c, &b);
		sb_free(&b);
	} else if (!strcmp(what, "getHLSMediaPlaylist.m3u8")) {
		struct strbuf b = STRBUF_INIT;
		media_playlist(&b, s, fs, n, seq);
		rc = send_playlist(c, &b);
		sb_free(&b);
	} else if (!strcmp(what, "getMP4InitFragment.mp4"))
		rc = send_mp4(c, st, &fs[0], true);
	else
		rc = kl_send_error(c, 404, "UnknownOperationException",
				   "GET %s is not an HLS resource",
				   r->head.path);
	free(fs);
	return rc;
}

int kl_hls_get(struct kl_server *srv, struct kl_conn *c, struct kl_request *r)
{
	char token[TOKEN_LEN + 2];
	struct hls_session s;
	const char *what = r->head.path + strlen("/hls/v1/");
	if (kl_query_param(r->head.query, "SessionToken", token, sizeof token))
		return kl_send_error(c, 400, "MissingParameter",
				     "SessionToken is required");
	int k = session_find(token, &s);
	if (k)
		return kl_send_error(c, 403, "NotAuthorizedException",
				     k == -2 ? "the SessionToken has expired"
					     : "the SessionToken is not valid");
	int rc = 0;
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_store_find(&srv->store, s.stream, NULL);
	if (st)
		st->refs++;
	pthread_mutex_unlock(&srv->store.lock);
	if (!st)
		rc = kl_send_error(c, 404, "ResourceNotFoundException",
				   "stream %s is gone", s.stream);
	else
		rc = serve(srv, c, r, st, &s, what);
	if (st) {
		pthread_mutex_lock(&srv->store.lock);
		kl_stream_put(&srv->store, st);
		pthread_mutex_unlock(&srv->store.lock);
	}
	OPENSSL_cleanse(&s, sizeof s);
	return rc;
}
