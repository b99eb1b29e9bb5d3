/* kvs-local PutMedia: a long chunked POST whose Matroska body is parsed as
 * it arrives (common/mkv_stream), cut into fragments (one per Cluster),
 * stored, and acknowledged on the same connection while the body is still
 * coming: BUFFERING when a fragment starts, RECEIVED when it is complete
 * (the next Cluster starts, or the body ends: the Tags in between are the
 * fragment's), PERSISTED once stored (streams with retention > 0), IDLE
 * while nothing arrives, ERROR with the service's ErrorId/ErrorCode on a
 * broken limit. */
#include "kvs_local.h"

#include "mkv_stream.h"
#include "sigv4_chunked.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define KL_MAX_HEADER_BYTES (2 * 1024 * 1024)
/* an aws-chunked chunk is held until its signature is checked */
#define KL_MAX_SIGNED_CHUNK (8 * 1024 * 1024)

struct pm {
	struct kl_server *srv;
	struct kl_conn *c;
	struct kl_stream *st;
	bool absolute;
	int64_t start_ms; /* x-amzn-producer-start-timestamp */
	struct mkv_stream mkv;
	uint64_t timecode_scale; /* ns */
	/* the current stream header (EBML .. Tracks) */
	struct strbuf header;
	bool header_new;
	unsigned header_id;
	/* tags seen since the last fragment: they go with the next one */
	struct strbuf pending_tags;
	int n_pending_tags;
	/* A fragment whose Cluster ended waits for the next Cluster (or the
	 * end of the body) before it is stored: the Tags between the two
	 * belong to it ("a tag belongs to the cluster before it"). */
	bool ended;
	struct strbuf trailing_tags; /* "name":"value",... */
	int n_trailing_tags;
	/* the fragment being received */
	bool in_frag, have_tc;
	FILE *file;
	char tmp_path[KL_PATH_MAX];
	struct kl_fragment frag;
	int64_t tc_ms;
	int64_t first_block_ms, last_block_ms;
	int n_blocks;
	int n_frag_tags;
	int64_t prev_tc_ms;
	bool have_prev_tc;
	uint64_t fragments_seen;
	/* an error ACK to send, then the connection ends */
	int error_id;
	const char *error_code;
	uint64_t body_bytes;
	/* a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body: chunk signatures */
	bool aws_chunked, aws_done;
	int64_t decoded_length; /* x-amz-decoded-content-length, or -1 */
	struct sigv4_chunked sc;
	/* --stall-acks-after: ACKs sent so far, and whether this connection
	 * stalled (it then ends as a lost connection) */
	uint64_t acks_sent;
	bool stalled;
};

/* The one-shot stall fault: claimed by the first connection that reaches
 * --stall-acks-after ACKs. It then neither reads nor writes for
 * --stall-for (the connection thread just waits), as a hop that
 * black-holes a connection would, and the connection ends as lost: what
 * arrived meanwhile is never processed, the open fragment is discarded. */
static bool stall_now(struct pm *p)
{
	struct kl_config *cfg = &p->srv->cfg;
	if (cfg->stall_acks_after <= 0 ||
	    p->acks_sent < (uint64_t)cfg->stall_acks_after)
		return false;
	bool expected = false;
	if (!atomic_compare_exchange_strong(&cfg->stall_used, &expected, true))
		return false;
	kl_log("%s PutMedia: stalling after %llu ACKs for %d ms "
	       "(--stall-acks-after)",
	       p->st->name, (unsigned long long)p->acks_sent, cfg->stall_ms);
	int64_t until = kl_now_ms() + cfg->stall_ms;
	while (kl_now_ms() < until && !atomic_load(&p->srv->stopping))
		usleep(20 * 1000);
	kl_log("%s PutMedia: stall over, closing the connection", p->st->name);
	p->stalled = true;
	return true;
}

/* Bytes written to fd that the peer's TCP has not acknowledged yet
 * (unsent or in flight), 0 if unknown. */
static int unacknowledged_bytes(int fd)
{
	int n = 0;
	if (ioctl(fd, SIOCOUTQ, &n))
		return 0;
	return n;
}

/* --drop-after: end the connection so that the ACKs already sent reach
 * the client (FIN, not RST), as the service does when it closes one.
 * The FIN goes after them, and what the client still sends is read and
 * thrown away: a close with unread data resets the connection, and a
 * reset discards whatever of our ACKs is still in our socket (not yet
 * taken by the client's TCP: held back by Nagle, or beyond its receive
 * window), so the client would send again fragments that were stored
 * (duplicates no client could avoid; a real network cut can do that,
 * which the developer guide accepts). The drain ends when the client
 * closes too, or after a second once its TCP has taken every byte we
 * sent (a reset then loses nothing: a live client keeps uploading into a
 * half-closed connection and learns of the cut from that reset); a
 * client that reads nothing is given up on after 10 s. What the body
 * loop had read and not parsed is dropped first: a full buffer would
 * make the first read fail and skip the drain. */
static void drop_gently(struct kl_conn *c)
{
	if (c->ssl)
		SSL_shutdown(c->ssl);
	shutdown(c->fd, SHUT_WR);
	c->len = 0;
	int64_t start = kl_now_ms();
	while (!atomic_load(&c->srv->stopping)) {
		int64_t waited = kl_now_ms() - start;
		if (waited >= 10000 ||
		    (waited >= 1000 && unacknowledged_bytes(c->fd) == 0))
			break;
		int rc = kl_conn_fill(c, 100);
		if (rc == 0 || rc == -1)
			break; /* the client has closed too */
		c->len = 0;
	}
	c->closed = true;
}

static int send_ack(struct pm *p, const char *type, bool with_fragment)
{
	if (p->stalled || stall_now(p))
		return -1;
	p->acks_sent++;
	if (p->srv->cfg.ack_delay_ms > 0)
		usleep((useconds_t)p->srv->cfg.ack_delay_ms * 1000);
	struct strbuf b = STRBUF_INIT;
	sb_printf(&b, "{\"EventType\":\"%s\"", type);
	if (with_fragment && p->have_tc) {
		sb_printf(&b, ",\"FragmentTimecode\":%lld",
			  (long long)p->tc_ms);
		sb_printf(&b, ",\"FragmentNumber\":\"%s\"", p->frag.number);
	}
	if (!strcmp(type, "ERROR"))
		sb_printf(&b, ",\"ErrorId\":%d,\"ErrorCode\":\"%s\"",
			  p->error_id, p->error_code);
	sb_puts(&b, "}\n");
	/* one write per ACK (chunk head, line, CRLF): see kl_put_media() */
	struct strbuf chunk = STRBUF_INIT;
	sb_printf(&chunk, "%zx\r\n", b.len);
	sb_append(&chunk, b.s, b.len);
	sb_puts(&chunk, "\r\n");
	int rc = b.failed || chunk.failed
		     ? -1
		     : kl_conn_write(p->c, chunk.s, chunk.len);
	sb_free(&chunk);
	if (p->srv->cfg.verbose || !strcmp(type, "ERROR"))
		kl_log("%s PutMedia %s ack: %.*s", p->st->name, type,
		       b.s ? (int)b.len - 1 : 0, b.s ? b.s : "");
	sb_free(&b);
	return rc;
}

static int fail(struct pm *p, int id, const char *code)
{
	if (!p->error_id) {
		p->error_id = id;
		p->error_code = code;
	}
	return -1;
}

static int save_header(struct pm *p)
{
	if (kl_store_save_header(&p->srv->store, p->st, p->header.s,
				 p->header.len, &p->header_id))
		return fail(p, 5001, "ARCHIVAL_ERROR");
	p->header_new = false;
	return 0;
}

static void discard_fragment(struct pm *p)
{
	if (p->file) {
		fclose(p->file);
		p->file = NULL;
		unlink(p->tmp_path);
	}
	if (p->ended)
		unlink(p->tmp_path);
	p->ended = false;
	p->trailing_tags.len = 0;
	p->n_trailing_tags = 0;
	free(p->frag.tags_json);
	p->frag.tags_json = NULL;
	p->in_frag = false;
}

static int cluster_start(struct pm *p)
{
	if (!p->header.len)
		return fail(p, 4006, "INVALID_MKV_DATA");
	if (p->header_new && save_header(p))
		return -1;
	if (p->in_frag) /* the reader ends every Cluster first; if not, drop */
		discard_fragment(p);
	p->fragments_seen++;
	p->in_frag = true;
	p->have_tc = false;
	p->n_blocks = 0;
	memset(&p->frag, 0, sizeof p->frag);
	p->frag.header_id = p->header_id;
	p->frag.server_ms = kl_now_ms();
	/* the tags received before this cluster are its metadata */
	sb_putc(&p->pending_tags, '}');
	p->frag.tags_json = sb_detach(&p->pending_tags);
	p->n_frag_tags = p->n_pending_tags;
	p->n_pending_tags = 0;
	sb_putc(&p->pending_tags, '{');
	snprintf(p->tmp_path, sizeof p->tmp_path, "%s/f/.incoming-%p",
		 p->st->dir, (void *)p);
	p->file = fopen(p->tmp_path, "wb");
	if (!p->file) {
		kl_log("cannot write %s: %s", p->tmp_path, strerror(errno));
		return fail(p, 5001, "ARCHIVAL_ERROR");
	}
	return 0;
}

static int cluster_timecode(struct pm *p, uint64_t tc)
{
	p->tc_ms = (int64_t)(tc * p->timecode_scale / 1000000);
	p->have_tc = true;
	pthread_mutex_lock(&p->srv->store.lock);
	kl_store_next_number(&p->srv->store, kl_now_ms(), p->frag.number);
	pthread_mutex_unlock(&p->srv->store.lock);
	p->frag.producer_ms = p->absolute ? p->tc_ms : p->start_ms + p->tc_ms;
	if (p->have_prev_tc && p->tc_ms < p->prev_tc_ms)
		return fail(p, 4004, "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS");
	p->prev_tc_ms = p->tc_ms;
	p->have_prev_tc = true;
	if (p->n_frag_tags > KL_MAX_FRAGMENT_TAGS)
		return fail(p, 4009, "FRAGMENT_METADATA_LIMIT_REACHED");
	return send_ack(p, "BUFFERING", true);
}

static int block(struct pm *p, const struct mkv_event *ev)
{
	if (!p->in_frag || !p->have_tc)
		return fail(p, 4006, "INVALID_MKV_DATA");
	int64_t ms = p->tc_ms + (int64_t)ev->timecode *
				    (int64_t)p->timecode_scale / 1000000;
	if (p->n_blocks == 0 || ms < p->first_block_ms)
		p->first_block_ms = ms;
	if (p->n_blocks == 0 || ms > p->last_block_ms)
		p->last_block_ms = ms;
	p->n_blocks++;
	if (ms - p->tc_ms > p->srv->cfg.max_fragment_ms)
		return fail(p, 4002, "MAX_FRAGMENT_DURATION_REACHED");
	return 0;
}

static int cluster_end(struct pm *p)
{
	if (!p->in_frag)
		return 0;
	if (!p->have_tc) {
		discard_fragment(p);
		return fail(p, 4006, "INVALID_MKV_DATA");
	}
	int64_t span = p->last_block_ms - p->first_block_ms;
	p->frag.duration_ms =
	    p->n_blocks > 1 ? span + span / (p->n_blocks - 1) : 0;
	/* on disk before it can be acknowledged PERSISTED */
	int rc = fflush(p->file) || fdatasync(fileno(p->file)) ? -1 : 0;
	rc = fclose(p->file) ? -1 : rc;
	p->file = NULL;
	p->in_frag = false;
	if (p->srv->cfg.error_fragment &&
	    p->fragments_seen == p->srv->cfg.error_fragment) {
		unlink(p->tmp_path);
		free(p->frag.tags_json);
		p->frag.tags_json = NULL;
		p->error_id = 5000;
		p->error_code = "INTERNAL_ERROR";
		send_ack(p, "ERROR", true); /* injected; the stream goes on */
		p->error_id = 0;
		return 0;
	}
	if (rc) {
		kl_log("cannot write %s: %s", p->tmp_path, strerror(errno));
		unlink(p->tmp_path);
		free(p->frag.tags_json);
		p->frag.tags_json = NULL;
		return fail(p, 5001, "ARCHIVAL_ERROR");
	}
	p->ended = true; /* stored when the next Cluster starts */
	return 0;
}

/* The fragment's own tags: those before its Cluster (a producer that puts
 * them there, or the first fragment's) and those after it. */
static int merge_trailing_tags(struct pm *p)
{
	if (!p->n_trailing_tags)
		return 0;
	struct strbuf b = STRBUF_INIT;
	const char *before = p->frag.tags_json ? p->frag.tags_json : "{}";
	size_t bl = strlen(before);
	sb_append(&b, before, bl > 0 ? bl - 1 : 0); /* without the '}' */
	if (p->n_frag_tags)
		sb_putc(&b, ',');
	sb_append(&b, p->trailing_tags.s, p->trailing_tags.len);
	sb_putc(&b, '}');
	char *merged = sb_detach(&b);
	if (!merged)
		return -1;
	free(p->frag.tags_json);
	p->frag.tags_json = merged;
	p->n_frag_tags += p->n_trailing_tags;
	p->trailing_tags.len = 0;
	p->n_trailing_tags = 0;
	return 0;
}

/* Store the fragment that ended: RECEIVED, stored, PERSISTED. */
static int commit_fragment(struct pm *p)
{
	if (!p->ended)
		return 0;
	p->ended = false;
	if (merge_trailing_tags(p)) {
		unlink(p->tmp_path);
		return fail(p, 5001, "ARCHIVAL_ERROR");
	}
	if (p->n_frag_tags > KL_MAX_FRAGMENT_TAGS) {
		unlink(p->tmp_path);
		free(p->frag.tags_json);
		p->frag.tags_json = NULL;
		return fail(p, 4009, "FRAGMENT_METADATA_LIMIT_REACHED");
	}
	if (send_ack(p, "RECEIVED", true)) {
		unlink(p->tmp_path);
		free(p->frag.tags_json);
		p->frag.tags_json = NULL;
		return -1;
	}
	/* PERSISTED only once file, tags, index and directories are synced */
	int rc = kl_store_commit(&p->srv->store, p->st, &p->frag, p->tmp_path);
	pthread_mutex_lock(&p->srv->store.lock);
	int64_t retention = p->st->retention_hours;
	pthread_mutex_unlock(&p->srv->store.lock);
	free(p->frag.tags_json);
	p->frag.tags_json = NULL;
	if (rc)
		return fail(p, rc == -2 ? 4507 : 5001,
			    rc == -2 ? "STREAM_DELETED" : "ARCHIVAL_ERROR");
	if (retention > 0)
		return send_ack(p, "PERSISTED", true);
	return 0;
}

static void add_tag(struct strbuf *b, int *n, const struct mkv_event *ev)
{
	if ((*n)++)
		sb_putc(b, ',');
	json_put_string(b, ev->name);
	sb_putc(b, ':');
	json_put_string(b, ev->string);
}

static int on_event(void *opaque, const struct mkv_event *ev)
{
	struct pm *p = opaque;
	switch (ev->type) {
	case MKV_EV_HEADER:
		if (commit_fragment(p))
			return -1;
		p->header.len = 0;
		p->header_new = true;
		p->timecode_scale = 1000000;
		return 0;
	case MKV_EV_TIMECODE_SCALE:
		if (ev->value == 0 || ev->value > 1000000000)
			return fail(p, 4006, "INVALID_MKV_DATA");
		p->timecode_scale = ev->value;
		return 0;
	case MKV_EV_TRACKS_END:
		if (ev->value > KL_MAX_TRACKS)
			return fail(p, 4005, "MORE_THAN_ALLOWED_TRACKS_FOUND");
		return 0;
	case MKV_EV_CLUSTER_START:
		if (commit_fragment(p))
			return -1;
		return cluster_start(p);
	case MKV_EV_CLUSTER_TIMECODE:
		return cluster_timecode(p, ev->value);
	case MKV_EV_BLOCK:
		return block(p, ev);
	case MKV_EV_CLUSTER_END:
		return cluster_end(p);
	case MKV_EV_TAG:
		/* After a Cluster: that fragment's; before any: the next's. */
		if (p->ended)
			add_tag(&p->trailing_tags, &p->n_trailing_tags, ev);
		else
			add_tag(&p->pending_tags, &p->n_pending_tags, ev);
		return 0;
	default:
		return 0;
	}
}

static int on_bytes(void *opaque, enum mkv_section sec, const uint8_t *b,
		    size_t n)
{
	struct pm *p = opaque;
	if (sec == MKV_SEC_HEADER) {
		if (p->header.len + n > KL_MAX_HEADER_BYTES)
			return fail(p, 4006, "INVALID_MKV_DATA");
		/* The reader hands over each element head in one piece. A
		 * Segment head is stored with an unknown size: the stored
		 * header is replayed before single fragments, where the
		 * producer's size (its whole upload) would be wrong. */
		static const uint8_t segment_unknown[] = {
		    0x18, 0x53, 0x80, 0x67, 0x01, 0xFF,
		    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
		if (n >= 5 && n <= 12 && b[0] == 0x18 && b[1] == 0x53 &&
		    b[2] == 0x80 && b[3] == 0x67) {
			b = segment_unknown;
			n = sizeof segment_unknown;
		}
		sb_append(&p->header, b, n);
		p->header_new = true;
		return 0;
	}
	if (sec != MKV_SEC_CLUSTER || !p->file)
		return 0;
	p->frag.size += (int64_t)n;
	if (p->frag.size > p->srv->cfg.max_fragment_size)
		return fail(p, 4001, "MAX_FRAGMENT_SIZE_REACHED");
	if (fwrite(b, 1, n, p->file) != n) {
		kl_log("cannot write %s: %s", p->tmp_path, strerror(errno));
		return fail(p, 5001, "ARCHIVAL_ERROR");
	}
	return 0;
}

/* Feed body bytes to the Matroska reader; -1 once an error is pending. */
static int feed(struct pm *p, const uint8_t *d, size_t n)
{
	if (mkv_stream_feed(&p->mkv, d, n) == 0)
		return 0;
	if (!p->error_id && !p->stalled) {
		kl_log("%s PutMedia: bad MKV data at %s", p->st->name,
		       p->mkv.error);
		fail(p, 4006, "INVALID_MKV_DATA");
	}
	return -1;
}

/* A chunk-signed body is refused with 4000 STREAM_READ_ERROR (the HTTP
 * 200 is already out): the service lists no closer ACK error. */
static int aws_chunked_error(struct pm *p, const char *why)
{
	kl_log("%s PutMedia: %s", p->st->name, why);
	return fail(p, 4000, "STREAM_READ_ERROR");
}

/* HTTP body bytes: through the chunk-signature decoder if the request
 * said so, then to the Matroska reader. -1 once an error is pending. */
static int body_data(struct pm *p, const uint8_t *d, size_t n)
{
	p->body_bytes += n;
	if (!p->aws_chunked)
		return feed(p, d, n);
	while (n > 0) {
		if (p->aws_done)
			return aws_chunked_error(p, "bytes after the final "
						    "aws-chunked chunk");
		size_t used, len;
		const uint8_t *data;
		int rc = sigv4_chunked_feed(&p->sc, d, n, &used, &data, &len);
		d += used;
		n -= used;
		if (rc == SIGV4_CHUNKED_ERROR)
			return aws_chunked_error(p, p->sc.error);
		if (len && feed(p, data, len))
			return -1;
		if (rc == SIGV4_CHUNKED_DONE) {
			p->aws_done = true;
			if (p->decoded_length >= 0 &&
			    (uint64_t)p->decoded_length != p->sc.decoded)
				return aws_chunked_error(
				    p, "x-amz-decoded-content-length "
				       "differs from the decoded body");
		}
	}
	return 0;
}

/* X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD: the body is
 * aws-chunked, each chunk signed in a chain from the request's signature
 * (the seed). With keys configured, check_signature() has verified that
 * seed; each chunk is verified here. 0 = go, else the error was sent. */
static int setup_aws_chunked(struct kl_server *srv, struct kl_conn *c,
			     struct kl_request *r, struct pm *p)
{
	const char *sha = http_header_get(&r->head, "x-amz-content-sha256");
	if (!sha || strcmp(sha, SIGV4_STREAMING_PAYLOAD))
		return 0;
	p->aws_chunked = true;
	const char *dl =
	    http_header_get(&r->head, "x-amz-decoded-content-length");
	char *end = NULL;
	p->decoded_length = dl ? strtoll(dl, &end, 10) : -1;
	if (dl && (*end || end == dl || p->decoded_length < 0)) {
		kl_send_error(c, 400, "InvalidArgumentException",
			      "x-amz-decoded-content-length '%s' is not a "
			      "length",
			      dl);
		return -1;
	}
	const char *secret = srv->cfg.key.secret_key;
	struct sigv4_auth *a = calloc(1, sizeof *a);
	const char *authz = http_header_get(&r->head, "authorization");
	struct sigv4_scope scope = {http_header_get(&r->head, "x-amz-date"),
				    NULL, NULL};
	int rc = -1;
	if (!a)
		kl_send_error(c, 500, "InternalFailure", "out of memory");
	else if (!secret)
		rc = sigv4_chunked_init(&p->sc, NULL, NULL, NULL,
					KL_MAX_SIGNED_CHUNK);
	else if (!authz || sigv4_parse_authorization(authz, a))
		kl_send_error(c, 403, "IncompleteSignatureException",
			      "a chunk-signed body needs an Authorization "
			      "header with the seed signature");
	else {
		scope.region = a->region;
		scope.service = a->service;
		rc = sigv4_chunked_init(&p->sc, secret, &scope, a->signature,
					KL_MAX_SIGNED_CHUNK);
		if (rc)
			kl_send_error(c, 403, "IncompleteSignatureException",
				      "cannot start the chunk-signature chain "
				      "(X-Amz-Date, scope)");
	}
	free(a);
	if (rc == 0)
		kl_log("%s PutMedia: aws-chunked body, chunk signatures %s",
		       p->st->name, secret ? "verified" : "not checked");
	return rc;
}

static int parse_start_timestamp(const char *s, int64_t *ms)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= 0 && v < KL_MAX_EPOCH_SECONDS))
		return -1;
	*ms = (int64_t)(v * 1000.0 + 0.5);
	return 0;
}

/* Check headers and claim the stream; 0 = go, else the error was sent. */
static int begin(struct kl_server *srv, struct kl_conn *c, struct kl_request *r,
		 struct pm *p, int *rc)
{
	const char *name = http_header_get(&r->head, "x-amzn-stream-name");
	const char *arn = http_header_get(&r->head, "x-amzn-stream-arn");
	const char *tct =
	    http_header_get(&r->head, "x-amzn-fragment-timecode-type");
	const char *start =
	    http_header_get(&r->head, "x-amzn-producer-start-timestamp");
	if (!name && !arn) {
		*rc = kl_send_error(c, 400, "InvalidArgumentException",
				    "x-amzn-stream-name or x-amzn-stream-arn "
				    "is required");
		return -1;
	}
	if (kl_validate_header(c, "x-amzn-stream-name", name, rc) ||
	    kl_validate_header(c, "x-amzn-stream-arn", arn, rc))
		return -1;
	if (!tct || (strcmp(tct, "ABSOLUTE") && strcmp(tct, "RELATIVE"))) {
		*rc = kl_send_error(c, 400, "InvalidArgumentException",
				    "x-amzn-fragment-timecode-type must be "
				    "ABSOLUTE or RELATIVE");
		return -1;
	}
	p->absolute = !strcmp(tct, "ABSOLUTE");
	p->start_ms = kl_now_ms();
	if (start && parse_start_timestamp(start, &p->start_ms)) {
		*rc = kl_send_error(c, 400, "InvalidArgumentException",
				    "x-amzn-producer-start-timestamp '%s' is "
				    "not epoch seconds",
				    start);
		return -1;
	}
	if (!http_is_chunked(&r->head) && http_content_length(&r->head) < 0) {
		*rc = kl_send_error(c, 411, "InvalidArgumentException",
				    "PutMedia needs a chunked or "
				    "Content-Length body");
		return -1;
	}
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_store_find(&srv->store, name, arn);
	if (!st) {
		pthread_mutex_unlock(&srv->store.lock);
		*rc = kl_send_error(c, 404, "ResourceNotFoundException",
				    "The requested stream is not found or not "
				    "active: %s",
				    name ? name : arn);
		return -1;
	}
	char why[300];
	if (kl_limit_stream(srv, st, KL_API_PUT_MEDIA, 1, why, sizeof why)) {
		pthread_mutex_unlock(&srv->store.lock);
		*rc = kl_send_error(c, 400, "ClientLimitExceededException",
				    "%s", why);
		return -1;
	}
	if (st->putmedia_active) {
		pthread_mutex_unlock(&srv->store.lock);
		*rc = kl_send_error(c, 400, "ConnectionLimitExceededException",
				    "stream %s already has a PutMedia "
				    "connection",
				    st->name);
		return -1;
	}
	st->putmedia_active = true;
	st->refs++;
	p->st = st;
	pthread_mutex_unlock(&srv->store.lock);
	return 0;
}

/* A PutMedia whose body brings no byte for --putmedia-idle-timeout (30 s) is
 * ended with ERROR 4000 STREAM_READ_ERROR: it would otherwise hold the stream's
 * one PutMedia slot (ConnectionLimitExceededException for every other
 * producer) for as long as its peer keeps the socket open. Only body
 * bytes count: chunk framing alone (an empty chunk extension trickled
 * byte by byte) does not keep it alive. A fragment already complete is
 * stored first. */
static bool body_idle_too_long(struct pm *p, int64_t last_data)
{
	int limit = p->srv->cfg.body_idle_timeout_ms;
	if (limit <= 0 || kl_now_ms() - last_data < limit)
		return false;
	kl_log("%s PutMedia: no body byte for %d ms, ending it "
	       "(--putmedia-idle-timeout)",
	       p->st->name, limit);
	if (!commit_fragment(p))
		fail(p, 4000, "STREAM_READ_ERROR");
	return true;
}

/* Read the body until it ends, an error is pending, or the peer leaves.
 * Returns 1 at a clean end of body, 0 on error pending, -1 if the
 * connection is gone. */
static int body_loop(struct pm *p, struct kl_request *r)
{
	struct kl_conn *c = p->c;
	bool chunked = http_is_chunked(&r->head);
	int64_t left = chunked ? -1 : http_content_length(&r->head);
	struct http_chunked ch;
	http_chunked_init(&ch);
	int64_t last_data = kl_now_ms();
	uint64_t bytes_at_last_data = p->body_bytes;
	for (;;) {
		while (c->len > 0) {
			const uint8_t *d = c->buf;
			size_t dl = c->len, used = c->len;
			int crc = HTTP_CHUNK_DATA;
			if (chunked) {
				crc = http_chunked_feed(&ch, c->buf, c->len,
							&used, &d, &dl);
				if (crc == HTTP_CHUNK_ERROR) {
					kl_log("%s PutMedia: bad chunked "
					       "encoding after %llu body bytes",
					       p->st->name,
					       (unsigned long long)ch.total);
					kl_conn_consume(c, used);
					return -1;
				}
			} else if ((int64_t)dl > left) {
				dl = used = (size_t)left;
			}
			int64_t drop = p->srv->cfg.drop_after;
			if (drop > 0 && (int64_t)(p->body_bytes + dl) >= drop) {
				size_t k =
				    (size_t)(drop - (int64_t)p->body_bytes);
				body_data(p, d, k < dl ? k : dl);
				kl_log("%s PutMedia: dropping the connection "
				       "after %lld body bytes (--drop-after)",
				       p->st->name, (long long)drop);
				drop_gently(c);
				return -1;
			}
			int frc = dl ? body_data(p, d, dl) : 0;
			kl_conn_consume(c, used);
			if (!chunked)
				left -= (int64_t)dl;
			if (frc)
				return 0;
			if (crc == HTTP_CHUNK_DONE || (!chunked && left == 0))
				return 1;
			if (crc == HTTP_CHUNK_MORE)
				break;
		}
		if (!chunked && left == 0)
			return 1;
		int wait = p->srv->cfg.idle_ms > 0 ? p->srv->cfg.idle_ms : 1000;
		if (p->body_bytes != bytes_at_last_data) {
			last_data = kl_now_ms();
			bytes_at_last_data = p->body_bytes;
		}
		if (body_idle_too_long(p, last_data))
			return 0;
		int rc = kl_conn_fill(c, wait);
		if (rc > 0)
			continue;
		if (rc == -2 && !atomic_load(&p->srv->stopping)) {
			if (p->srv->cfg.idle_ms > 0 &&
			    kl_now_ms() - last_data >= p->srv->cfg.idle_ms &&
			    send_ack(p, "IDLE", false))
				return -1;
			continue;
		}
		kl_log("%s PutMedia: connection closed after %llu body bytes%s",
		       p->st->name, (unsigned long long)p->body_bytes,
		       p->in_frag ? " (in the middle of a fragment)" : "");
		return -1;
	}
}

/* Give the stream back and free p. */
static void release_stream(struct pm *p)
{
	struct kl_server *srv = p->srv;
	pthread_mutex_lock(&srv->store.lock);
	p->st->putmedia_active = false;
	kl_stream_put(&srv->store, p->st);
	pthread_mutex_unlock(&srv->store.lock);
	sigv4_chunked_free(&p->sc);
	sb_free(&p->header);
	sb_free(&p->pending_tags);
	sb_free(&p->trailing_tags);
	free(p);
}

int kl_put_media(struct kl_server *srv, struct kl_conn *c, struct kl_request *r)
{
	struct pm *p = calloc(1, sizeof *p);
	if (!p)
		return kl_send_error(c, 500, "InternalFailure",
				     "out of memory");
	p->srv = srv;
	p->c = c;
	p->timecode_scale = 1000000;
	sb_putc(&p->pending_tags, '{');
	int rc = 0;
	if (begin(srv, c, r, p, &rc)) {
		sb_free(&p->pending_tags);
		free(p);
		return -1; /* the body was not read: close */
	}
	kl_log("%s PutMedia from %s (%s timecodes)", p->st->name, c->peer,
	       p->absolute ? "ABSOLUTE" : "RELATIVE");
	/* ACKs are small writes that must leave at once: with Nagle, the
	 * PERSISTED after a RECEIVED waited for the client's next packet
	 * (a frame later, 33 ms at 30 fps; a second for a quiet producer) */
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (setup_aws_chunked(srv, c, r, p)) {
		release_stream(p);
		return -1;
	}
	struct mkv_stream_callbacks cb = {on_event, on_bytes, p};
	mkv_stream_init(&p->mkv, &cb);
	int end =
	    kl_start_chunked(c, "application/json") ? -1 : body_loop(p, r);
	if (p->stalled)
		end = -1; /* as lost: nothing more is read or written */
	if (end == 1 && p->aws_chunked && !p->aws_done && !p->error_id)
		aws_chunked_error(p, "body ended before the final aws-chunked "
				     "chunk");
	if (end == 1 && mkv_stream_finish(&p->mkv) && !p->error_id) {
		kl_log("%s PutMedia: body ended inside an element: %s",
		       p->st->name, p->mkv.error);
		fail(p, 4006, "INVALID_MKV_DATA");
	}
	if (end >= 0 && !p->error_id)
		commit_fragment(p); /* the last one, with its trailing Tags */
	if (end >= 0 && p->error_id)
		send_ack(p, "ERROR", true);
	if (end >= 0)
		kl_end_chunks(c);
	discard_fragment(p);
	kl_log("%s PutMedia ended: %llu bytes, %llu fragments%s", p->st->name,
	       (unsigned long long)p->body_bytes,
	       (unsigned long long)p->fragments_seen,
	       end < 0 ? ", connection lost" : "");
	release_stream(p);
	return -1; /* one PutMedia per connection */
}
