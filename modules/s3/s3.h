/* The s3 sink: shared state of the node thread (process/flush, which only
 * queue objects) and the upload worker (put.c), which signs and sends them
 * and writes the notification event objects. */
#ifndef VPIPE_MODULES_S3_S3_H
#define VPIPE_MODULES_S3_S3_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>
#include <vpipe/vpipe.h>

#include "aws_creds.h"
#include "object.h"
#include "strbuf.h"

struct s3_config {
	const char *bucket;
	const char *aws_region;
	const char *endpoint;
	int addressing;
	const char *key_template;
	const char *stream_name;
	const char *account_id;
	const char *image_prefix;
	const char *content_type;
	bool metadata;
	bool sign_payload;
	bool notify;
	const char *events_prefix;
	const char *stream_arn;
	int64_t clip_fragments;
	int64_t max_pending;
	int64_t retry_delay, retry_max_delay;			    /* ns */
	int64_t connection_timeout, request_timeout, flush_timeout; /* ns */
	const char *access_key, *secret_key, *session_token;
	const char *credential_path, *profile, *iot_certificate;
	const char *ca_path;
	bool tls_verify;
	const char *user_agent;
};

#define S3_META_LINES VPIPE_MAX_TAGS

/* What an object keeps of its frame: copies, so that a waiting object
 * holds no frame of an upstream pool (a stalled upload must never stall
 * the camera's chain). */
struct s3_meta {
	int64_t wallclock;
	uint64_t seq;
	unsigned num_tags;
	struct vpipe_tag tags[VPIPE_MAX_TAGS]; /* malloc'ed strings */
};

/* One object waiting for upload. */
struct s3_item {
	struct s3_meta meta;
	uint8_t *buf; /* the body (malloc'ed) */
	size_t len;
	uint32_t media;
	char key[S3_MAX_KEY + 1];
};

struct s3 {
	struct vpipe_node *node;
	const struct s3_config *cfg;
	char region[64];
	const char
	    *region_from; /* "aws-region", an environment variable, "default" */
	struct s3_target target;
	struct aws_creds_provider prov;
	struct vpipe_backoff backoff; /* worker thread: retries */

	/* Queue: node thread appends, worker takes from the head. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct s3_item *q; /* ring of max-pending objects */
	size_t q_head, q_len;
	bool in_flight;
	atomic_bool quit;
	/* The worker met a refusal that no retry can fix: the node fails. */
	atomic_bool fatal;
	char fatal_msg[2700]; /* written before fatal is set */
	int done_fd;	      /* eventfd: the worker finished an object */
	bool worker_started;

	/* MKV clip assembly (node thread). */
	uint8_t *header;
	size_t header_len;
	struct strbuf clip;
	bool clip_open;
	struct s3_meta clip_meta; /* of the clip's first frame */
	int64_t clip_fragments;

	/* Worker only. */
	CURL *curl;
	struct aws_creds creds;
	bool creds_ok;
	int64_t creds_checked;
	char last_problem[160]; /* to log a repeated failure once */
	char meta_lines[S3_META_LINES][512]; /* x-amz-meta-* of a request */
};

/* s3.c */
const char *s3_meta_tag(const struct s3_meta *m, const char *name);
void s3_item_free(struct s3_item *it);

/* put.c */
void s3_worker(void *arg);
#endif
