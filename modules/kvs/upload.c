/* The kvs sink's upload worker: one PutMedia connection at a time, fed
 * from the content store as frames arrive, ACKs parsed while uploading,
 * rotation, staleness, error ACKs, and reconnection with the kernel's
 * jittered backoff (retry-delay, retry-max-delay) for as long as the node
 * runs. */
#include "kvs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define READ_CHUNK (64 * 1024)
/* A rotating connection must finish its fragment within this. */
#define ROTATION_GRACE (20 * VPIPE_S)
/* After ending the body, wait this long for the last ACKs. */
#define END_GRACE (10 * VPIPE_S)

void kvs_set_fatal(struct kvs *k, const char *msg)
{
	if (atomic_load(&k->fatal))
		return;
	snprintf(k->fatal_msg, sizeof(k->fatal_msg), "%s", msg);
	vpipe_error(k->node, "%s", msg);
	atomic_store(&k->fatal, true);
	vpipe_node_wake(k->node);
}

void kvs_report_drops(struct kvs *k, const struct kvs_drops *d)
{
	if (!d->fragments)
		return;
	vpipe_node_wake(k->node); /* room in the store (offline) */
	vpipe_node_count(k->node, "dropped_fragments_total", d->fragments);
	vpipe_node_count(k->node, "dropped_frames_total", d->frames);
	/* One line per fragment would be a storm when a fast source outruns
	 * the uplink: coalesced to one line per interval with a count. */
	if (d->by_size)
		vpipe_log_coalesced(
		    k->node, VPIPE_LOG_WARN,
		    "STATUS_STORE_OUT_OF_MEMORY (0x5200002e): content "
		    "store full (storage-size %lld MiB): dropped the "
		    "oldest %u fragment(s), %u frames, %zu bytes",
		    (long long)(k->cfg->storage_size >> 20), d->by_size,
		    d->frames, d->bytes);
	if (d->by_duration)
		vpipe_log_coalesced(
		    k->node, VPIPE_LOG_WARN,
		    "buffer-duration (%.0f s) exceeded: dropped the "
		    "oldest %u fragment(s) not yet acknowledged",
		    (double)k->cfg->buffer_duration / 1e9, d->by_duration);
	if (d->by_replay)
		vpipe_log_coalesced(
		    k->node, VPIPE_LOG_WARN,
		    "replay-duration (%.0f s): %u unacknowledged "
		    "fragment(s) too old to send again were dropped",
		    (double)k->cfg->replay_duration / 1e9, d->by_replay);
}

static void publish_store(struct kvs *k)
{
	struct kvs_store_stats st;
	kvs_store_stats(&k->store, &st);
	vpipe_node_gauge(k->node, "content_store_bytes", (int64_t)st.bytes);
	vpipe_node_gauge(
	    k->node, "content_store_available_bytes",
	    (int64_t)(st.max_bytes > st.bytes ? st.max_bytes - st.bytes : 0));
	kvs_feed_publish(k);
}

/* ------------------------------------------------------------ callbacks */

static size_t read_cb(char *buf, size_t size, size_t n, void *ctx)
{
	struct kvs *k = ctx;
	if (atomic_load(&k->quit))
		return CURL_READFUNC_ABORT;
	kvs_feed_pump(k);
	enum kvs_read_state st;
	unsigned frames = 0, frags = 0;
	size_t got = kvs_store_read(&k->store, (uint8_t *)buf, size * n,
				    k->ending, vpipe_now(), vpipe_wallclock(),
				    &st, &frames, &frags);
	if (got)
		vpipe_node_count(k->node, "putmedia_incoming_bytes_total",
				 (int64_t)got);
	if (frames)
		vpipe_node_count(k->node, "putmedia_incoming_frames_total",
				 frames);
	if (frags)
		vpipe_node_count(k->node, "putmedia_incoming_fragments_total",
				 frags);
	if (frags && k->store.cfg.done_on_sent)
		vpipe_node_wake(k->node); /* room in the store (offline) */
	if (got)
		return got;
	switch (st) {
	case KVS_READ_BOUNDARY:
	case KVS_READ_END:
		k->body_ended = true;
		return 0; /* the last chunk: the body ends here */
	default:
		k->paused = true;
		atomic_store(&k->want_wake, true);
		/* Data may have arrived between the read and the flag. */
		if (kvs_store_readable(&k->store) || kvs_feed_readable(k))
			curl_multi_wakeup(k->multi);
		return CURL_READFUNC_PAUSE;
	}
}

static void on_problem(void *ctx, const struct kvs_ack_problem *p)
{
	struct kvs *k = ctx;
	vpipe_warn(k->node, "ACK stream byte %" PRIu64 ": %s (0x%08x): %s",
		   p->offset, p->name, p->status, p->what);
}

static void gauge_ms(struct kvs *k, const char *name, int64_t ns)
{
	if (ns >= 0)
		vpipe_node_gauge(k->node, name, ns / VPIPE_MS);
}

static void on_error_ack(struct kvs *k, const struct kvs_ack *a)
{
	const struct kvs_error_ack *e = kvs_error_ack_lookup(a->error_id);
	vpipe_node_count(k->node, "putmedia_error_acks_total", 1);
	enum kvs_action act = e->action;
	struct kvs_drops d = {0};
	unsigned errors = 0;
	if (act == KVS_SKIP) {
		kvs_store_error(&k->store, a->timecode, true, &d);
	} else if (act == KVS_RESEND_ONCE) {
		errors = kvs_store_error(&k->store, a->timecode, false, NULL);
		if (errors >= 2) {
			kvs_store_error(&k->store, a->timecode, true, &d);
			act = KVS_SKIP;
		}
	}
	char msg[640];
	snprintf(msg, sizeof(msg),
		 "error ACK for fragment %" PRId64 " (number %s): ErrorId %d "
		 "%s = %s (0x%08x): %s; action: %s",
		 a->timecode, a->fragment_number[0] ? a->fragment_number : "-",
		 a->error_id, a->error_code[0] ? a->error_code : e->code,
		 e->status_name, e->status, e->advice, kvs_action_name(act));
	if (act == KVS_FATAL) {
		kvs_set_fatal(k, msg);
	} else {
		vpipe_warn(k->node, "%s", msg);
		if (d.fragments)
			vpipe_node_count(k->node, "dropped_fragments_total",
					 d.fragments);
		if (d.frames)
			vpipe_node_count(k->node, "dropped_frames_total",
					 d.frames);
	}
	k->restart_conn = true;
}

static void on_ack(void *ctx, const struct kvs_ack *a)
{
	struct kvs *k = ctx;
	int64_t now = vpipe_now(), lat = -1;
	if (a->type != KVS_ACK_IDLE)
		k->last_ack = now;
	if (k->conn_acks++ == 0 && k->outage_since) {
		/* The outage's one line, however many retries it took. */
		vpipe_info(k->node,
			   "reconnected after an outage of %.1f s; "
			   "%u fragment(s) kept meanwhile are being "
			   "sent again",
			   (double)(now - k->outage_since) / 1e9, k->replaying);
		k->outage_since = 0;
	}
	if (vpipe_log_enabled(VPIPE_LOG_DEBUG))
		vpipe_debug(k->node, "ACK %s fragment %" PRId64 " number %s",
			    kvs_ack_type_name(a->type), a->timecode,
			    a->fragment_number);
	switch (a->type) {
	case KVS_ACK_BUFFERING:
		kvs_store_ack(&k->store, a->type, a->timecode, now, &lat);
		gauge_ms(k, "putmedia_buffering_ack_latency_milliseconds", lat);
		break;
	case KVS_ACK_RECEIVED:
		if (kvs_store_ack(&k->store, a->type, a->timecode, now, &lat) &&
		    k->store.cfg.done_on_received)
			vpipe_node_count(k->node, "putmedia_success_total", 1);
		gauge_ms(k, "putmedia_received_ack_latency_milliseconds", lat);
		break;
	case KVS_ACK_PERSISTED:
		if (kvs_store_ack(&k->store, a->type, a->timecode, now, &lat))
			vpipe_node_count(k->node, "putmedia_success_total", 1);
		gauge_ms(k, "putmedia_persisted_ack_latency_milliseconds", lat);
		break;
	case KVS_ACK_ERROR:
		on_error_ack(k, a);
		break;
	default:
		break;
	}
	vpipe_node_wake(k->node); /* flush() waits for ACKs */
}

static size_t write_cb(char *data, size_t size, size_t n, void *ctx)
{
	struct kvs *k = ctx;
	long status = 0;
	curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200)
		kvs_ack_feed(&k->parser, data, size * n, on_ack, on_problem, k);
	else if (k->resp.body.len < 8192)
		sb_append(&k->resp.body, data, size * n);
	return size * n;
}

/* ----------------------------------------------------------- connection */

static struct curl_slist *putmedia_headers(struct kvs *k, const char *url,
					   char *err, size_t errlen)
{
	char start[32];
	snprintf(start, sizeof(start), "%lld.%03lld",
		 (long long)(k->start_wall_ms / 1000),
		 (long long)(k->start_wall_ms % 1000));
	struct sigv4_header extra[] = {
	    {"x-amzn-stream-name", k->cfg->stream_name},
	    {"x-amzn-fragment-timecode-type",
	     k->cfg->absolute_fragment_times ? "ABSOLUTE" : "RELATIVE"},
	    {"x-amzn-producer-start-timestamp", start},
	    {"x-amzn-fragment-acknowledgment-required",
	     k->cfg->fragment_acks ? "1" : "0"},
	};
	struct curl_slist *l =
	    kvs_sign(k, url, extra, 4, SIGV4_EMPTY_SHA256, err, errlen);
	if (l) {
		l = curl_slist_append(l, "Transfer-Encoding: chunked");
		l = curl_slist_append(l, "Connection: keep-alive");
	}
	return l;
}

enum conn_end {
	CONN_DONE,    /* the service closed after our last chunk */
	CONN_FAILED,  /* network, HTTP error: back off */
	CONN_RESTART, /* stale, error ACK, store broke: reconnect soon */
	CONN_STOPPED,
};

static void check_health(struct kvs *k, int64_t started, int64_t *ending_at)
{
	int64_t now = vpipe_now();
	struct kvs_store_stats st;
	kvs_store_stats(&k->store, &st);
	if (st.broken) {
		vpipe_warn(k->node,
			   "a fragment partly sent was dropped from the store: "
			   "reconnecting so the service sees whole fragments");
		k->restart_conn = true;
	}
	if (k->cfg->connection_staleness > 0 && st.sent_unacked_since) {
		int64_t since = st.sent_unacked_since > k->last_ack
				    ? st.sent_unacked_since
				    : k->last_ack;
		if (k->cfg->fragment_acks &&
		    now - since > k->cfg->connection_staleness) {
			vpipe_warn(k->node,
				   "connection stale: data sent but no ACK for "
				   "%.1f s (connection-staleness %.0f s): "
				   "reconnecting",
				   (double)(now - since) / 1e9,
				   (double)k->cfg->connection_staleness / 1e9);
			k->restart_conn = true;
		}
	}
	bool rotate = now - started > k->cfg->max_connection_duration;
	if (!rotate) {
		char msg[600];
		enum kvs_action a;
		if (kvs_refresh_credentials(k, false, &a, msg, sizeof(msg)))
			vpipe_warn(k->node, "%s", msg);
		rotate = k->creds_changed;
	}
	if (rotate && !k->ending) {
		vpipe_info(k->node,
			   "rotating the PutMedia connection at the next "
			   "fragment boundary (%s)",
			   k->creds_changed ? "new credentials"
					    : "max-connection-duration");
		k->ending = true;
		*ending_at = now;
		if (k->paused) {
			k->paused = false;
			curl_easy_pause(k->easy, CURLPAUSE_CONT);
		}
	}
	if (k->ending && now - *ending_at > ROTATION_GRACE) {
		vpipe_warn(k->node, "rotation did not reach a fragment "
				    "boundary in time: reconnecting");
		k->restart_conn = true;
	}
}

static enum conn_end run_connection(struct kvs *k)
{
	struct kvs_drops d = {0};
	kvs_store_rewind(&k->store, &d);
	kvs_report_drops(k, &d);
	if (d.resent) /* the service may hold some already: duplicates */
		vpipe_node_count(k->node, "resent_fragments_total", d.resent);
	char url[600], err[256];
	snprintf(url, sizeof(url), "%s/putMedia", k->data_endpoint);
	struct curl_slist *hl = putmedia_headers(k, url, err, sizeof(err));
	if (!hl) {
		vpipe_warn(k->node, "PutMedia: %s", err);
		return CONN_FAILED;
	}
	kvs_resp_reset(&k->resp);
	kvs_ack_parser_init(&k->parser);
	CURL *h = curl_easy_init();
	if (!h) {
		curl_slist_free_all(hl);
		return CONN_FAILED;
	}
	k->easy = h;
	k->ending = false;
	k->body_ended = false;
	k->restart_conn = false;
	k->creds_changed = false;
	k->conn_acks = 0;
	if (k->outage_since) {
		struct kvs_store_stats st;
		kvs_store_stats(&k->store, &st);
		k->replaying = st.unacked;
	}
	k->paused = false;
	kvs_curl_common(k, h, &k->resp);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, k);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, (long)READ_CHUNK);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_multi_add_handle(k->multi, h);
	vpipe_node_count(k->node, "putmedia_requests_total", 1);
	vpipe_node_gauge(k->node, "putmedia_active_connections", 1);
	int64_t started = vpipe_now(), ending_at = 0, last_check = 0;
	k->last_ack = started;
	enum conn_end end = CONN_FAILED;
	bool done = false;
	CURLcode cc = CURLE_OK;
	while (!done) {
		if (atomic_load(&k->quit)) {
			end = CONN_STOPPED;
			break;
		}
		kvs_feed_pump(k);
		/* Resume a paused upload once there is something to send;
		 * the read callback pauses it again when there is not. */
		if (k->paused && (kvs_store_readable(&k->store) || k->ending)) {
			k->paused = false;
			curl_easy_pause(h, CURLPAUSE_CONT);
		}
		int running = 0;
		curl_multi_perform(k->multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(k->multi, &left)))
			if (m->msg == CURLMSG_DONE && m->easy_handle == h) {
				cc = m->data.result;
				done = true;
			}
		if (done || k->restart_conn || atomic_load(&k->fatal)) {
			if (!done)
				end = CONN_RESTART;
			break;
		}
		int64_t now = vpipe_now();
		if (now - last_check >= VPIPE_S) {
			last_check = now;
			check_health(k, started, &ending_at);
			publish_store(k);
			kvs_apply_tags(k);
		}
		curl_multi_poll(k->multi, NULL, 0, 1000, NULL);
	}
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	k->resp.status = status;
	k->resp.cc = cc;
	if (done) {
		if (cc == CURLE_OK && status == 200) {
			/* Closed before our body ended: not a clean end. */
			end = k->restart_conn || !k->body_ended ? CONN_RESTART
								: CONN_DONE;
		} else {
			char why[700];
			bool expired = false;
			enum kvs_action a = kvs_explain(k, &k->resp, why,
							sizeof(why), &expired);
			vpipe_node_count(k->node,
					 "putmedia_connection_errors_total", 1);
			if (status == 404 ||
			    !strcmp(k->resp.error_type,
				    "ResourceNotFoundException"))
				k->stream_ready = false;
			if (expired)
				k->creds_ok = false;
			char msg[1400];
			snprintf(msg, sizeof(msg), "PutMedia %s: %s", url, why);
			if (a == KVS_FATAL &&
			    !(status == 404 && k->cfg->create_stream)) {
				kvs_set_fatal(k, msg);
			} else {
				vpipe_warn(k->node, "%s", msg);
				/* Look the endpoint up again after failures. */
				free(k->data_endpoint);
				k->data_endpoint = NULL;
			}
			end = k->conn_acks && cc != CURLE_OK ? CONN_RESTART
							     : CONN_FAILED;
		}
	}
	curl_multi_remove_handle(k->multi, h);
	curl_easy_cleanup(h);
	curl_slist_free_all(hl);
	k->easy = NULL;
	vpipe_node_gauge(k->node, "putmedia_active_connections", 0);
	publish_store(k);
	return end;
}

static bool need_connection(struct kvs *k)
{
	struct kvs_store_stats st;
	kvs_store_stats(&k->store, &st);
	return st.has_unsent || st.unacked > 0 || kvs_feed_readable(k);
}

/* Nothing to send, or a fatal error: wait until process() or stop wakes
 * us. False when the worker must end. */
static bool idle(struct kvs *k)
{
	publish_store(k);
	atomic_store(&k->want_wake, true);
	if (!atomic_load(&k->fatal) && need_connection(k))
		return true; /* data came in between */
	return !atomic_load(&k->quit) &&
	       vpipe_node_wait_fd(k->node, -1, 0, -1) >= 0;
}

static bool retry_after(struct kvs *k, const char *msg)
{
	int64_t wait = vpipe_backoff_next(&k->backoff);
	if (msg && !k->outage_since)
		k->outage_since = vpipe_now();
	if (msg)
		vpipe_warn(k->node, "%s; retrying in %.1f s", msg,
			   (double)wait / 1e9);
	return kvs_pause(k, wait);
}

void kvs_worker(void *arg)
{
	struct kvs *k = arg;
	bool go_on = true;
	while (go_on && !atomic_load(&k->quit)) {
		kvs_apply_tags(k);
		if (atomic_load(&k->fatal) || !need_connection(k)) {
			go_on = idle(k);
			continue;
		}
		enum kvs_action a;
		char msg[800];
		if (kvs_prepare(k, &a, msg, sizeof(msg))) {
			if (atomic_load(&k->quit))
				break;
			if (a == KVS_FATAL) {
				kvs_set_fatal(k, msg);
				continue;
			}
			go_on = retry_after(k, msg);
			continue;
		}
		switch (run_connection(k)) {
		case CONN_DONE:
			vpipe_backoff_reset(&k->backoff);
			break;
		case CONN_RESTART:
			if (k->conn_acks) /* it worked until now */
				vpipe_backoff_reset(&k->backoff);
			go_on = retry_after(k, NULL);
			break;
		case CONN_FAILED: {
			if (!k->outage_since)
				k->outage_since = vpipe_now();
			int64_t wait = vpipe_backoff_next(&k->backoff);
			vpipe_info(k->node, "reconnecting in %.1f s",
				   (double)wait / 1e9);
			go_on = kvs_pause(k, wait);
			break;
		}
		case CONN_STOPPED:
			go_on = false;
			break;
		}
	}
}
