/* kvs: a sink that streams Matroska from `mkv` to Amazon Kinesis Video
 * Streams with PutMedia, with kvssink's parameter names and defaults.
 *
 * The node thread only copies frames into the content store (store.c) and
 * never touches the network; a kernel-owned worker (upload.c) runs the
 * control plane (api.c) and one PutMedia connection at a time. */
#include "kvs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkv_scan.h"
#include "tls.h"

static const char *const streaming_types[] = {"realtime", "near-realtime",
					      "offline", NULL};

#define C struct kvs_config
static const struct vpipe_param params[] = {
    VPIPE_P_STRING("stream-name", C, stream_name, "DEFAULT_STREAM", 0,
		   "destination stream (created if missing and "
		   "create-stream is on)"),
    VPIPE_P_STRING("aws-region", C, aws_region, NULL, 0,
		   "region (else AWS_DEFAULT_REGION, AWS_REGION, "
		   "us-west-2)"),
    AWS_CREDS_PARAMS(C),
    VPIPE_P_SIZE("storage-size", C, storage_size, "128M", 1 << 20,
		 10240.0 * (1 << 20), "content store size"),
    VPIPE_P_DURATION("buffer-duration", C, buffer_duration, "120s", 1, 86400,
		     VPIPE_S, "keep unacknowledged fragments this long"),
    VPIPE_P_DURATION("replay-duration", C, replay_duration, "40s", 0, 86400,
		     VPIPE_S, "on reconnect, send again what is this recent"),
    VPIPE_P_DURATION("connection-staleness", C, connection_staleness, "60s", 0,
		     3600, VPIPE_S,
		     "no ACK for this long while sending: reconnect (0 "
		     "off)"),
    VPIPE_P_DURATION("retention-period", C, retention_period, "2h", 0,
		     87600.0 * 3600, VPIPE_S,
		     "retention when creating the stream, whole hours (0: "
		     "none)"),
    VPIPE_P_STRING("kms-key-id", C, kms_key_id, NULL, 0,
		   "KMS key for a created stream (default aws/kinesisvideo)"),
    VPIPE_P_STRING("content-type", C, content_type, "video/h264", 0,
		   "media type of a created stream (video/h265 for H.265)"),
    VPIPE_P_("stream-tags", VPIPE_PARAM_STRING, VPIPE_PARAM_RUNTIME, C,
	     stream_tags, NULL, 1, 0, NULL, 0,
	     "tags of a created stream: \"name=value,...\"; a reload "
	     "sets changed ones with TagStream, without a restart"),
    VPIPE_P_BOOL("create-stream", C, create_stream, "true",
		 "create the stream when it does not exist"),
    VPIPE_P_STRING("endpoint", C, endpoint, NULL, 0,
		   "control-plane URL (kvs-local, VPC, dual-stack); "
		   "default https://kinesisvideo.REGION.amazonaws.com"),
    TLS_PARAMS(C),
    VPIPE_P_ENUM("streaming-type", C, streaming_type, "realtime",
		 streaming_types,
		 "realtime drops the oldest when full; offline waits"),
    VPIPE_P_BOOL("fragment-acks", C, fragment_acks, "true",
		 "ask for fragment ACKs and keep fragments until acked"),
    VPIPE_P_BOOL("absolute-fragment-times", C, absolute_fragment_times, "true",
		 "cluster timecodes are absolute (ABSOLUTE)"),
    VPIPE_P_DURATION("connection-timeout", C, connection_timeout, "5s", 0.1,
		     600, VPIPE_S, "TCP/TLS connect timeout"),
    VPIPE_P_DURATION("completion-timeout", C, completion_timeout, "10s", 0.1,
		     600, VPIPE_S, "control-plane call timeout"),
    VPIPE_P_DURATION("stop-stream-timeout", C, stop_stream_timeout, "120s", 0,
		     3600, VPIPE_S,
		     "at end of stream, wait this long for ACKs"),
    VPIPE_P_DURATION("max-connection-duration", C, max_connection_duration,
		     "40m", 1, 2640, VPIPE_S,
		     "rotate PutMedia before the service's 45-minute limit"),
    VPIPE_P_STRING("user-agent", C, user_agent, "vpipe-kvs/" VPIPE_VERSION, 0,
		   "User-Agent header"),
    VPIPE_P_RETRY(C, retry_delay, retry_max_delay, "300ms", "10s"),
    VPIPE_P_STRING("spool", C, spool, NULL, 0,
		   "directory of a disk spool that keeps every fragment "
		   "until acknowledged, across outages and restarts"),
    VPIPE_P_SIZE("spool-size", C, spool_size, "2G", 1 << 20, 1e15,
		 "spool bound; full: the oldest go (realtime) or frames "
		 "wait (offline)"),
    VPIPE_P_DURATION("spool-sync", C, spool_sync, "0", 0, 3600, VPIPE_S,
		     "fdatasync the spool this often (0: at every "
		     "fragment end)"),
    VPIPE_P_END,
};
#undef C

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void kvs_destroy(void *state);

static int64_t cfg_stop_timeout(const void *config)
{
	return ((const struct kvs_config *)config)->stop_stream_timeout;
}

static int kvs_create(struct vpipe_node *node, const void *config, void **state)
{
	const struct kvs_config *cfg = config;
	if (cfg->streaming_type == KVS_NEAR_REALTIME) {
		vpipe_error(node, "streaming-type = near-realtime is not "
				  "supported (as in kvssink): use realtime or "
				  "offline");
		return -1;
	}
	if (cfg->retention_period % (3600 * VPIPE_S)) {
		/* the service counts DataRetentionInHours */
		vpipe_error(node, "retention-period must be whole hours "
				  "(2h, 168h): the service keeps hours");
		return -1;
	}
	if (!*cfg->stream_name || strlen(cfg->stream_name) > 256) {
		vpipe_error(node, "stream-name must be 1-256 characters");
		return -1;
	}
	struct kvs *k = calloc(1, sizeof(*k));
	if (!k)
		return -1;
	k->node = node;
	k->cfg = cfg;
	pthread_mutex_init(&k->tags_lock, NULL);
	if (vpipe_backoff_init(&k->backoff, cfg->retry_delay,
			       cfg->retry_max_delay)) {
		vpipe_error(node, "retry-max-delay must not be below "
				  "retry-delay");
		free(k);
		return -1;
	}
	snprintf(k->region, sizeof(k->region), "%s",
		 aws_region_resolve(cfg->aws_region, &k->region_from));
	struct strbuf b = STRBUF_INIT;
	if (cfg->endpoint && *cfg->endpoint)
		sb_printf(&b, "%s%s",
			  strstr(cfg->endpoint, "://") ? "" : "https://",
			  cfg->endpoint);
	else
		sb_printf(&b, "https://kinesisvideo.%s.amazonaws.com",
			  k->region);
	k->cp_base = sb_detach(&b);
	while (k->cp_base && strlen(k->cp_base) &&
	       k->cp_base[strlen(k->cp_base) - 1] == '/')
		k->cp_base[strlen(k->cp_base) - 1] = 0;
	char err[512];
	struct aws_creds_params cp = {
	    .iot_certificate = cfg->iot_certificate,
	    .access_key = cfg->access_key,
	    .secret_key = cfg->secret_key,
	    .session_token = cfg->session_token,
	    .credential_path = cfg->credential_path,
	    .profile = cfg->profile,
	    .stream_name = cfg->stream_name,
	    .tls_verify = cfg->tls_verify,
	};
	int crc = k->cp_base
		      ? aws_creds_provider_init(&k->prov, &cp, err, sizeof(err))
		      : -1;
	if (crc) {
		if (crc == AWS_CREDS_NOT_CONFIGURED) {
			/* The environment of `vpipe check` may lack them:
			 * start() fails if they are still missing then. */
			vpipe_warn(node, "%s", err);
		} else {
			vpipe_error(node, "%s",
				    k->cp_base ? err : "out of memory");
			kvs_destroy(k);
			return -1;
		}
	}
	struct kvs_store_config sc = {
	    .max_bytes = (size_t)cfg->storage_size,
	    .buffer_ns = cfg->buffer_duration,
	    .replay_ns = cfg->replay_duration,
	    .done_on_received = cfg->retention_period == 0,
	    .done_on_sent = !cfg->fragment_acks,
	};
	if (kvs_store_init(&k->store, &sc)) {
		kvs_destroy(k);
		return -1;
	}
	k->store_ready = true;
	k->timecode_scale_ns = 1000000;
	/* the content store counts in the graph's memory ceiling */
	vpipe_node_add_memory(
	    node, (size_t)((const struct kvs_config *)config)->storage_size);
	/* a stop waits for the last ACKs this long (plus margin) */
	vpipe_node_set_drain_timeout(node,
				     cfg_stop_timeout(config) + 5 * VPIPE_S);
	*state = k;
	return 0;
}

static int kvs_start(void *state)
{
	struct kvs *k = state;
	pthread_once(&curl_once, curl_init);
	if (!k->multi)
		k->multi = curl_multi_init();
	if (!k->multi) {
		vpipe_error(k->node, "cannot initialise libcurl");
		return -1;
	}
	atomic_store(&k->quit, false);
	if (k->prov.source == AWS_CREDS_SRC_NONE) {
		vpipe_error(k->node,
			    "no AWS credentials: set iot-certificate, "
			    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
			    "access-key and secret-key, credential-path, or a "
			    "shared credentials file (~/.aws/credentials)");
		return -1;
	}
	if (!k->cfg->tls_verify)
		vpipe_warn(k->node,
			   "tls-verify = false: the service's certificate is "
			   "NOT verified; anyone on the path can read the "
			   "stream and the credentials' signatures");
	k->start_wall_ms = vpipe_wallclock() / VPIPE_MS;
	vpipe_info(k->node,
		   "stream \"%s\", region %s (from %s), endpoint %s, "
		   "credentials: %s",
		   k->cfg->stream_name, k->region, k->region_from, k->cp_base,
		   k->prov.describe);
	/* One attempt now, so refusals (keys, region, TLS, missing stream)
	 * fail the node at once; transient failures go on in the worker. */
	enum kvs_action a;
	char msg[800];
	if (kvs_prepare(k, &a, msg, sizeof(msg))) {
		if (a == KVS_FATAL) {
			vpipe_error(k->node, "%s", msg);
			return -1;
		}
		vpipe_warn(k->node, "%s; buffering and retrying", msg);
		k->outage_since = vpipe_now();
	}
	if (kvs_feed_open(k))
		return -1;
	if (vpipe_node_spawn_worker(k->node, kvs_worker, k))
		return -1;
	k->worker_started = true;
	return 0;
}

/* The worker waits for data either in libcurl (a paused upload) or in the
 * kernel (idle): wake both, but only when it asked. */
static void wake_worker(struct kvs *k)
{
	if (atomic_exchange(&k->want_wake, false)) {
		curl_multi_wakeup(k->multi);
		vpipe_node_wake(k->node);
	}
}

static int put_header(struct kvs *k, const struct vpipe_frame *in)
{
	struct mkv_header h;
	size_t off = 0;
	const char *why = NULL;
	if (mkv_header_split(in->data, in->size, &h, &off, &why)) {
		vpipe_error(k->node,
			    "frame %llu: stream header unreadable at byte %zu: "
			    "%s",
			    (unsigned long long)in->seq, off, why ? why : "?");
		return -1;
	}
	k->timecode_scale_ns = h.timecode_scale ? h.timecode_scale : 1000000;
	/* A created stream's MediaType is content-type; the muxer tags what
	 * the track really is (video/h265 for H.265). */
	const char *type = vpipe_frame_get_tag(in, "content-type");
	if (type && k->cfg->content_type && strcmp(type, k->cfg->content_type))
		vpipe_warn(k->node,
			   "frame %llu: the stream is %s but content-type "
			   "(MediaType of a created stream) is %s: set "
			   "content-type = %s",
			   (unsigned long long)in->seq, type,
			   k->cfg->content_type, type);
	if (k->feed)
		return kvs_feed_header(k, in->data, in->size);
	return kvs_store_put_header(&k->store, in->data, in->size);
}

static int kvs_process(void *state, unsigned port, const struct vpipe_frame *in)
{
	struct kvs *k = state;
	(void)port;
	if (atomic_load(&k->fatal)) {
		vpipe_error(k->node, "stopping: %s", k->fatal_msg);
		return -1;
	}
	bool header =
	    (in->flags & VPIPE_FLAG_HEADER) ||
	    (in->size >= 4 && in->data[0] == 0x1A && in->data[1] == 0x45 &&
	     in->data[2] == 0xDF && in->data[3] == 0xA3);
	if (header) {
		if (put_header(k, in))
			return -1;
		return 0;
	}
	struct mkv_frame_scan sc;
	size_t off = 0;
	const char *why = NULL;
	if (mkv_scan_frame(in->data, in->size, &sc, &off, &why)) {
		vpipe_warn(k->node,
			   "frame %llu: Matroska data unreadable at byte %zu "
			   "(%s): dropped",
			   (unsigned long long)in->seq, off, why ? why : "?");
		vpipe_node_count(k->node, "dropped_frames_total", 1);
		return 0;
	}
	int64_t tc_ms = 0;
	if (sc.has_cluster)
		tc_ms = (int64_t)(sc.cluster_timecode * k->timecode_scale_ns /
				  1000000);
	if (k->feed) {
		int frc = kvs_feed_frame(k, in, sc.has_cluster, sc.cluster_off,
					 sc.cluster_timecode);
		wake_worker(k);
		return frc;
	}
	/* offline: wait for room; the worker wakes us when ACKs (or sent
	 * data, without ACKs) free some, or on a fatal error */
	if (k->cfg->streaming_type == KVS_OFFLINE)
		while (!kvs_store_has_room(&k->store, in->size) &&
		       !atomic_load(&k->fatal))
			if (vpipe_node_wait_fd(k->node, -1, 0, -1) < 0)
				return 0;
	struct kvs_drops d = {0};
	int rc =
	    kvs_store_put_frame(&k->store, in->data, in->size, sc.has_cluster,
				tc_ms, in->pts, in->wallclock, vpipe_now(), &d);
	kvs_report_drops(k, &d);
	if (rc < 0) {
		vpipe_error(k->node, "out of memory storing frame %llu",
			    (unsigned long long)in->seq);
		return -1;
	}
	if (rc > 0) {
		vpipe_node_count(k->node, "dropped_frames_total", 1);
		if (!k->warned_no_header) {
			k->warned_no_header = true;
			vpipe_warn(k->node,
				   "frame %llu dropped: no stream header yet, "
				   "or waiting for the next fragment after a "
				   "drop",
				   (unsigned long long)in->seq);
		}
	}
	wake_worker(k);
	return 0;
}

static void report_unacked(struct kvs *k, bool final)
{
	struct kvs_store_stats st;
	kvs_store_stats(&k->store, &st);
	uint64_t spooled = kvs_feed_pending(k);
	if (spooled)
		vpipe_warn(k->node,
			   "%llu fragment(s) not yet delivered stay in the "
			   "spool for the next start",
			   (unsigned long long)spooled);
	if (!st.unacked && !spooled) {
		if (final)
			vpipe_info(k->node, "every fragment acknowledged");
		return;
	}
	vpipe_warn(k->node,
		   "%u fragment(s) not acknowledged (%u frames, %zu bytes; "
		   "oldest fragment timecode %lld ms)",
		   st.unacked, st.unacked_frames, st.unacked_bytes,
		   (long long)st.oldest_unacked_ms);
}

static int kvs_flush(void *state)
{
	struct kvs *k = state;
	if (k->feed)
		kvs_feed_end(k);
	else
		kvs_store_end(&k->store, vpipe_now());
	curl_multi_wakeup(k->multi); /* the last fragment is ready to send */
	vpipe_node_wake(k->node);
	int64_t deadline = vpipe_now() + k->cfg->stop_stream_timeout;
	for (;;) {
		struct kvs_store_stats st;
		kvs_store_stats(&k->store, &st);
		int64_t left = deadline - vpipe_now();
		if ((!st.unacked && !kvs_feed_pending(k)) ||
		    atomic_load(&k->fatal) || left <= 0)
			break;
		/* every ACK and a fatal error wake us */
		if (vpipe_node_wait_fd(k->node, -1, 0, left) < 0)
			break;
	}
	report_unacked(k, true);
	if (atomic_load(&k->fatal)) {
		vpipe_error(k->node, "stopped: %s", k->fatal_msg);
		return -1;
	}
	struct kvs_store_stats st;
	kvs_store_stats(&k->store, &st);
	/* what is left was not delivered */
	return st.unacked || kvs_feed_pending(k) ? -1 : 0;
}

static void kvs_stop(void *state)
{
	struct kvs *k = state;
	atomic_store(&k->quit, true);
	if (k->multi)
		curl_multi_wakeup(k->multi);
	int64_t p50 = kvs_store_latency_pct(&k->store, 50);
	int64_t p99 = kvs_store_latency_pct(&k->store, 99);
	if (p50 >= 0)
		vpipe_info(k->node,
			   "capture-to-wire latency p50 %.1f ms, p99 %.1f ms; "
			   "%llu frames, %llu fragments, %llu bytes sent",
			   (double)p50 / 1e6, (double)p99 / 1e6,
			   (unsigned long long)k->store.sent_frames,
			   (unsigned long long)k->store.sent_fragments,
			   (unsigned long long)k->store.sent_bytes);
}

/* A reload changed stream-tags (the only runtime key): the worker sends
 * them with TagStream at its next turn. */
static int kvs_reconfigure(void *state, const void *config)
{
	struct kvs *k = state;
	const struct kvs_config *cfg = config;
	char *tags = strdup(cfg->stream_tags ? cfg->stream_tags : "");
	if (!tags)
		return -1;
	pthread_mutex_lock(&k->tags_lock);
	free(k->new_tags);
	k->new_tags = tags;
	pthread_mutex_unlock(&k->tags_lock);
	atomic_store(&k->tags_changed, true);
	wake_worker(k);
	return 0;
}

static void kvs_destroy(void *state)
{
	struct kvs *k = state;
	pthread_mutex_destroy(&k->tags_lock);
	free(k->new_tags);
	if (k->multi)
		curl_multi_cleanup(k->multi);
	kvs_feed_close(k);
	if (k->store_ready)
		kvs_store_free(&k->store);
	kvs_resp_reset(&k->resp);
	aws_creds_clear(&k->creds);
	aws_creds_provider_free(&k->prov);
	free(k->cp_base);
	free(k->data_endpoint);
	free(k);
}

static const struct vpipe_port inputs[] = {
    {.name = "sink", .media = VPIPE_MEDIA_MKV},
    {.name = NULL},
};

VPIPE_MODULE = {
    .flags = VPIPE_MODULE_WAITS, /* process() may wait */
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "kvs",
    .version = "1.0",
    .summary = "streams Matroska to Kinesis Video Streams (PutMedia with "
	       "ACKs, buffering and replay)",
    .inputs = inputs,
    .params = params,
    .config_size = sizeof(struct kvs_config),
    .create = kvs_create,
    .start = kvs_start,
    .process = kvs_process,
    .flush = kvs_flush,
    .stop = kvs_stop,
    .destroy = kvs_destroy,
    .reconfigure = kvs_reconfigure,
};
