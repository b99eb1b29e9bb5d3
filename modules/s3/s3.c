/* s3: a sink that stores each incoming frame as an S3 object (JPEG and PNG
 * pictures, Matroska clips of whole fragments, events as JSON), signed with
 * Signature V4, with the kvs sink's credential providers. Optionally each
 * stored object is followed by a notification event object.
 *
 * The node thread only queues (a bounded queue, dropping the oldest when
 * full); a kernel-owned worker (put.c) does all network I/O. */
#include "s3.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "tls.h"

static const char *const addressing_choices[] = {"auto", "path", "virtual",
						 NULL};

#define C struct s3_config
static const struct vpipe_param params[] = {
    VPIPE_P_STRING("bucket", C, bucket, NULL, VPIPE_PARAM_REQUIRED,
		   "destination bucket"),
    VPIPE_P_STRING("aws-region", C, aws_region, NULL, 0,
		   "region to sign for (else AWS_DEFAULT_REGION, "
		   "AWS_REGION, us-west-2)"),
    VPIPE_P_STRING("endpoint", C, endpoint, NULL, 0,
		   "S3-compatible endpoint URL (default "
		   "https://s3.REGION.amazonaws.com)"),
    VPIPE_P_ENUM("addressing", C, addressing, "auto", addressing_choices,
		 "path-style or virtual-hosted URLs (auto: virtual for "
		 "AWS, path with an endpoint)"),
    VPIPE_P_STRING("key-template", C, key_template, S3_DEFAULT_KEY_TEMPLATE, 0,
		   "object key; {stream} {account} {image-prefix} "
		   "{timecode} {uuid} {rand-hex} {ext} {seq} {fragment}"),
    VPIPE_P_STRING("stream-name", C, stream_name, "", 0,
		   "{stream} (empty: the frame's stream-name tag, else "
		   "the node name)"),
    VPIPE_P_STRING("account-id", C, account_id, "", 0,
		   "{account}: the AWS account ID in keys and event ARNs"),
    VPIPE_P_STRING("image-prefix", C, image_prefix, "", 0,
		   "{image-prefix} when the frame has no "
		   "AWS_KINESISVIDEO_IMAGE_PREFIX tag"),
    VPIPE_P_STRING("content-type", C, content_type, "", 0,
		   "Content-Type (empty: from the media: image/jpeg, "
		   "image/png, video/x-matroska, application/json)"),
    VPIPE_P_BOOL("metadata", C, metadata, "true",
		 "store frame tags as x-amz-meta-* metadata"),
    VPIPE_P_BOOL("sign-payload", C, sign_payload, "true",
		 "sign the body's SHA-256 (false: UNSIGNED-PAYLOAD, for "
		 "https)"),
    VPIPE_P_BOOL("notify", C, notify, "false",
		 "after each stored object, write an event object "
		 "(JSON, the notification payload's fields)"),
    VPIPE_P_STRING("events-prefix", C, events_prefix, "events/", 0,
		   "event objects go to PREFIX + object key + .json"),
    VPIPE_P_STRING("stream-arn", C, stream_arn, "", 0,
		   "StreamArn in events (default built from region, "
		   "account-id and stream)"),
    VPIPE_P_INT("clip-fragments", C, clip_fragments, "1", 1, 1000,
		"Matroska input: fragments per clip object"),
    VPIPE_P_INT("max-pending", C, max_pending, "64", 1, 100000,
		"objects waiting for upload; when full the oldest is "
		"dropped (counted)"),
    VPIPE_P_RETRY(C, retry_delay, retry_max_delay, "500ms", "10s"),
    VPIPE_P_DURATION("connection-timeout", C, connection_timeout, "5s", 0.1,
		     600, VPIPE_MS, "TCP/TLS connect timeout"),
    VPIPE_P_DURATION("request-timeout", C, request_timeout, "60s", 0.1, 3600,
		     VPIPE_MS, "whole request timeout"),
    VPIPE_P_DURATION("flush-timeout", C, flush_timeout, "30s", 0, 86400,
		     VPIPE_MS,
		     "at end of stream, wait this long for the queue"),
    AWS_CREDS_PARAMS(C),
    TLS_PARAMS(C),
    VPIPE_P_STRING("user-agent", C, user_agent, "vpipe-s3/" VPIPE_VERSION, 0,
		   "User-Agent header"),
    VPIPE_P_END,
};
#undef C

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void meta_free(struct s3_meta *m)
{
	for (unsigned i = 0; i < m->num_tags; i++) {
		free((char *)m->tags[i].name);
		free((char *)m->tags[i].value);
	}
	memset(m, 0, sizeof(*m));
}

static int meta_from_frame(struct s3_meta *m, const struct vpipe_frame *f)
{
	memset(m, 0, sizeof(*m));
	m->wallclock = f->wallclock > 0 ? f->wallclock : vpipe_wallclock();
	m->seq = f->seq;
	for (unsigned i = 0; i < f->num_tags && i < VPIPE_MAX_TAGS; i++) {
		char *n = strdup(f->tags[i].name);
		char *v = strdup(f->tags[i].value ? f->tags[i].value : "");
		if (!n || !v) {
			free(n);
			free(v);
			meta_free(m);
			return -1;
		}
		m->tags[m->num_tags++] = (struct vpipe_tag){n, v};
	}
	return 0;
}

const char *s3_meta_tag(const struct s3_meta *m, const char *name)
{
	for (unsigned i = 0; i < m->num_tags; i++)
		if (!strcmp(m->tags[i].name, name))
			return m->tags[i].value;
	return NULL;
}

void s3_item_free(struct s3_item *it)
{
	meta_free(&it->meta);
	free(it->buf);
	memset(it, 0, sizeof(*it));
}

static void free_queue(struct s3 *s)
{
	if (!s->q)
		return;
	if (s->q_len)
		vpipe_warn(s->node, "%zu object(s) not uploaded at stop",
			   s->q_len);
	vpipe_node_count(s->node, "unsent_objects_total", (int64_t)s->q_len);
	for (size_t i = 0; i < s->q_len; i++)
		s3_item_free(
		    &s->q[(s->q_head + i) % (size_t)s->cfg->max_pending]);
	free(s->q);
	s->q = NULL;
	s->q_len = s->q_head = 0;
}

static void release_run(struct s3 *s)
{
	free_queue(s);
	if (s->curl)
		curl_easy_cleanup(s->curl);
	s->curl = NULL;
	if (s->done_fd >= 0)
		close(s->done_fd);
	s->done_fd = -1;
	free(s->header);
	s->header = NULL;
	s->header_len = 0;
	sb_free(&s->clip);
	meta_free(&s->clip_meta);
	s->clip_open = false;
	aws_creds_clear(&s->creds);
	s->creds_ok = false;
}

static void s3_destroy(void *state)
{
	struct s3 *s = state;
	release_run(s);
	aws_creds_provider_free(&s->prov);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

static int s3_create(struct vpipe_node *node, const void *config, void **state)
{
	const struct s3_config *cfg = config;
	char err[600];
	if (!cfg->bucket[0] || strlen(cfg->bucket) > 63) {
		vpipe_error(node, "bucket must be 1-63 characters");
		return -1;
	}
	if (s3_key_template_check(cfg->key_template, err, sizeof(err))) {
		vpipe_error(node, "%s", err);
		return -1;
	}
	struct s3 *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	if (vpipe_backoff_init(&s->backoff, cfg->retry_delay,
			       cfg->retry_max_delay)) {
		vpipe_error(node, "retry-max-delay must not be below "
				  "retry-delay");
		free(s);
		return -1;
	}
	s->node = node;
	s->cfg = cfg;
	s->done_fd = -1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->region, sizeof(s->region), "%s",
		 aws_region_resolve(cfg->aws_region, &s->region_from));
	if (s3_target_init(&s->target, cfg->endpoint, s->region, cfg->bucket,
			   (enum s3_addressing)cfg->addressing, err,
			   sizeof(err))) {
		vpipe_error(node, "%s", err);
		s3_destroy(s);
		return -1;
	}
	struct aws_creds_params cp = {
	    .iot_certificate = cfg->iot_certificate,
	    .access_key = cfg->access_key,
	    .secret_key = cfg->secret_key,
	    .session_token = cfg->session_token,
	    .credential_path = cfg->credential_path,
	    .profile = cfg->profile,
	    .stream_name =
		cfg->stream_name[0] ? cfg->stream_name : vpipe_node_name(node),
	    .tls_verify = cfg->tls_verify,
	};
	int crc = aws_creds_provider_init(&s->prov, &cp, err, sizeof(err));
	if (crc) {
		if (crc == AWS_CREDS_NOT_CONFIGURED) {
			/* The environment of `vpipe check` may lack them (as
			 * in kvs): start() fails if they are still missing. */
			vpipe_warn(node, "%s", err);
		} else {
			vpipe_error(node, "credentials: %s", err);
			s3_destroy(s);
			return -1;
		}
	}
	pthread_once(&curl_once, curl_init);
	/* flush() may wait this long for the queue: a stop waits for it. */
	vpipe_node_set_drain_timeout(node, cfg->flush_timeout + 5 * VPIPE_S);
	*state = s;
	return 0;
}

static int s3_start(void *state)
{
	struct s3 *s = state;
	release_run(s);
	atomic_store(&s->quit, false);
	if (s->prov.source == AWS_CREDS_SRC_NONE) {
		vpipe_error(s->node,
			    "no AWS credentials: set iot-certificate, "
			    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
			    "access-key and secret-key, credential-path, or a "
			    "shared credentials file (~/.aws/credentials)");
		return -1;
	}
	s->q = calloc((size_t)s->cfg->max_pending, sizeof(*s->q));
	s->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->curl = curl_easy_init();
	if (!s->q || s->done_fd < 0 || !s->curl) {
		vpipe_error(s->node, "out of resources for the upload queue");
		return -1;
	}
	if (!s->cfg->tls_verify)
		vpipe_warn(s->node, "tls-verify = false: the server's "
				    "certificate is not checked");
	vpipe_info(s->node,
		   "storing to s3://%s via %s (%s addressing, "
		   "region %s from %s, credentials from %s)",
		   s->cfg->bucket, s->target.base,
		   s->target.path_style ? "path-style" : "virtual-hosted",
		   s->region, s->region_from, s->prov.describe);
	if (vpipe_node_spawn_worker(s->node, s3_worker, s)) {
		vpipe_error(s->node, "cannot start the upload worker");
		return -1;
	}
	s->worker_started = true;
	return 0;
}

static void stop_worker(struct s3 *s)
{
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->quit, true);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void s3_stop(void *state)
{
	stop_worker(state); /* the kernel joins the worker next */
}

/* Randomness for keys: spreading, not secrecy. */
static void key_random(uint8_t out[17])
{
	uint64_t r[3] = {vpipe_random_u64(), vpipe_random_u64(),
			 vpipe_random_u64()};
	memcpy(out, r, 17);
}

static int make_key(struct s3 *s, const struct s3_meta *f, uint32_t media,
		    char *key)
{
	const char *stream = s->cfg->stream_name;
	if (!stream[0])
		stream = s3_meta_tag(f, S3_TAG_STREAM);
	if (!stream || !stream[0])
		stream = vpipe_node_name(s->node);
	const char *prefix = s3_meta_tag(f, S3_TAG_IMAGE_PREFIX);
	if (!prefix)
		prefix = s->cfg->image_prefix;
	const char *ts = s3_meta_tag(f, S3_TAG_PRODUCER_TS);
	int64_t wall = f->wallclock;
	uint8_t rnd[17];
	key_random(rnd);
	struct s3_key_vars v = {
	    .stream = stream,
	    .account = s->cfg->account_id,
	    .image_prefix = prefix,
	    .ext = s3_extension(media),
	    .fragment = s3_meta_tag(f, S3_TAG_FRAGMENT),
	    .timecode_ms = ts ? atoll(ts) : wall / VPIPE_MS,
	    .seq = f->seq,
	    .random = rnd,
	};
	if (s3_key_expand(s->cfg->key_template, &v, key, S3_MAX_KEY + 1)) {
		vpipe_error(s->node,
			    "frame %llu: key-template gives a key longer than "
			    "1024 bytes or empty; frame dropped",
			    (unsigned long long)f->seq);
		vpipe_node_count(s->node, "failed_objects_total", 1);
		return -1;
	}
	return 0;
}

/* Queue an object; takes over meta and buf (malloc'ed). */
static void enqueue(struct s3 *s, struct s3_meta *meta, uint8_t *buf,
		    size_t len, uint32_t media)
{
	struct s3_item it = {
	    .meta = *meta, .buf = buf, .len = len, .media = media};
	memset(meta, 0, sizeof(*meta));
	if (make_key(s, &it.meta, media, it.key)) {
		s3_item_free(&it);
		return;
	}
	size_t cap = (size_t)s->cfg->max_pending;
	struct s3_item dropped = {0};
	pthread_mutex_lock(&s->lock);
	if (s->q_len == cap) {
		dropped = s->q[s->q_head];
		s->q_head = (s->q_head + 1) % cap;
		s->q_len--;
	}
	s->q[(s->q_head + s->q_len) % cap] = it;
	s->q_len++;
	vpipe_node_gauge(s->node, "queued_objects", (int64_t)s->q_len);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (dropped.buf) {
		vpipe_node_count(s->node, "dropped_objects_total", 1);
		/* per object during an outage: coalesced with a count */
		vpipe_log_coalesced(s->node, VPIPE_LOG_WARN,
				    "queue full (%zu objects): dropped the "
				    "oldest, s3://%s/%s",
				    cap, s->cfg->bucket, dropped.key);
		s3_item_free(&dropped);
	}
}

/* ------------------------------------------------------ Matroska clips */

static void finish_clip(struct s3 *s)
{
	if (!s->clip_open)
		return;
	size_t len = s->clip.len;
	uint8_t *buf = (uint8_t *)sb_detach(&s->clip);
	if (buf)
		enqueue(s, &s->clip_meta, buf, len, VPIPE_MEDIA_MKV);
	meta_free(&s->clip_meta);
	s->clip_open = false;
	s->clip_fragments = 0;
}

static int take_mkv(struct s3 *s, const struct vpipe_frame *in)
{
	if (in->flags & VPIPE_FLAG_HEADER) {
		finish_clip(s); /* a new header: the next clip plays with it */
		uint8_t *h = malloc(in->size ? in->size : 1);
		if (!h)
			return -1;
		memcpy(h, in->data, in->size);
		free(s->header);
		s->header = h;
		s->header_len = in->size;
		return 0;
	}
	if (in->flags & VPIPE_FLAG_FRAGMENT_START) {
		if (s->clip_open && s->clip_fragments >= s->cfg->clip_fragments)
			finish_clip(s);
		if (!s->clip_open) {
			if (!s->header) {
				vpipe_node_count(s->node,
						 "dropped_objects_total", 1);
				return 0; /* no header yet: not playable */
			}
			if (meta_from_frame(&s->clip_meta, in))
				return -1;
			s->clip_open = true;
			sb_append(&s->clip, s->header, s->header_len);
		}
		s->clip_fragments++;
	}
	if (!s->clip_open)
		return 0; /* waiting for a fragment start */
	sb_append(&s->clip, in->data, in->size);
	if (s->clip.failed) {
		vpipe_error(s->node, "out of memory assembling a clip");
		sb_free(&s->clip);
		meta_free(&s->clip_meta);
		s->clip_open = false;
		return -1;
	}
	return 0;
}

/* An in-band event frame: its tags as a JSON object. */
static void take_event(struct s3 *s, const struct vpipe_frame *in)
{
	struct strbuf b = STRBUF_INIT;
	char ms[32];
	snprintf(ms, sizeof(ms), "%lld",
		 (long long)((in->wallclock > 0 ? in->wallclock
						: vpipe_wallclock()) /
			     VPIPE_MS));
	sb_printf(&b, "{\"Event\":%u,\"Timestamp\":%s,\"Tags\":{", in->event,
		  ms);
	for (unsigned i = 0; i < in->num_tags; i++) {
		if (i)
			sb_putc(&b, ',');
		s3_json_text(&b, in->tags[i].name);
		sb_putc(&b, ':');
		s3_json_text(&b, in->tags[i].value ? in->tags[i].value : "");
	}
	sb_puts(&b, "}}");
	size_t len = b.len;
	uint8_t *buf = (uint8_t *)sb_detach(&b);
	struct s3_meta m;
	if (buf && meta_from_frame(&m, in) == 0)
		enqueue(s, &m, buf, len, VPIPE_MEDIA_EVENT);
	else
		free(buf);
}

static int s3_process(void *state, unsigned port, const struct vpipe_frame *in)
{
	struct s3 *s = state;
	(void)port;
	if (atomic_load(&s->fatal)) {
		vpipe_error(s->node, "stopping: %s", s->fatal_msg);
		return -1;
	}
	switch (in->media) {
	case VPIPE_MEDIA_MKV:
		return take_mkv(s, in);
	case VPIPE_MEDIA_EVENT:
		if (in->event >= VPIPE_EVENT_CUSTOM)
			take_event(s, in);
		return 0;
	default: {
		/* A copy: the frame goes back to its pool at once. */
		struct s3_meta m;
		uint8_t *buf = malloc(in->size ? in->size : 1);
		if (!buf || meta_from_frame(&m, in)) {
			free(buf);
			vpipe_error(s->node, "out of memory queueing %zu bytes",
				    in->size);
			return -1;
		}
		memcpy(buf, in->data, in->size);
		enqueue(s, &m, buf, in->size, in->media);
		return 0;
	}
	}
}

static size_t pending(struct s3 *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->q_len + (s->in_flight ? 1 : 0);
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* End of stream: send the open clip, then wait (bounded) for the queue.
 * Objects left at the deadline fail the node (vpipe run exits non-zero). */
static int s3_flush(void *state)
{
	struct s3 *s = state;
	finish_clip(s);
	int64_t deadline = vpipe_now() + s->cfg->flush_timeout;
	size_t n;
	while ((n = pending(s)) > 0 && !atomic_load(&s->fatal)) {
		int64_t left = deadline - vpipe_now();
		if (left <= 0) {
			vpipe_error(s->node,
				    "flush-timeout: %zu object(s) still not "
				    "uploaded to s3://%s",
				    n, s->cfg->bucket);
			return -1;
		}
		if (vpipe_node_wait_fd(s->node, s->done_fd, POLLIN, left) < 0)
			return -1; /* aborted with objects left */
		uint64_t v;
		ssize_t r = read(s->done_fd, &v, sizeof(v));
		(void)r;
	}
	if (atomic_load(&s->fatal)) {
		vpipe_error(s->node, "stopped: %s", s->fatal_msg);
		return -1;
	}
	return 0;
}

static const struct vpipe_port inputs[] = {
    {.name = "sink",
     .media = VPIPE_MEDIA_JPEG | VPIPE_MEDIA_PNG | VPIPE_MEDIA_MKV |
	      VPIPE_MEDIA_EVENT,
     .flags = VPIPE_PORT_MULTI},
    {.name = NULL},
};

VPIPE_MODULE = {
    .flags = VPIPE_MODULE_WAITS, /* process() may wait */
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "s3",
    .version = "1.0",
    .summary = "stores pictures, Matroska clips and events as S3 objects "
	       "(SigV4, any S3-compatible endpoint), with event objects",
    .inputs = inputs,
    .outputs = NULL,
    .params = params,
    .config_size = sizeof(struct s3_config),
    .create = s3_create,
    .start = s3_start,
    .process = s3_process,
    .flush = s3_flush,
    .stop = s3_stop,
    .destroy = s3_destroy,
};
