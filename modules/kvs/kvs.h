/* The kvs sink: shared state of the node thread (process/flush), the upload
 * worker (control plane, PutMedia) and the module glue. */
#ifndef VPIPE_MODULES_KVS_KVS_H
#define VPIPE_MODULES_KVS_KVS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>
#include <vpipe/vpipe.h>

#include "ack.h"
#include "aws_creds.h"
#include "sigv4.h"
#include "status.h"
#include "store.h"
#include "strbuf.h"

struct kvs_config {
	const char *stream_name;
	const char *aws_region;
	const char *access_key;
	const char *secret_key;
	const char *session_token;
	const char *credential_path;
	const char *profile;
	const char *iot_certificate;
	int64_t storage_size; /* bytes */
	int64_t buffer_duration;
	int64_t replay_duration;
	int64_t connection_staleness;
	int64_t retention_period; /* ns, whole hours */
	const char *kms_key_id;
	const char *content_type;
	const char *stream_tags;
	bool create_stream;
	const char *endpoint;
	const char *ca_path;
	bool tls_verify;
	int streaming_type;
	bool fragment_acks;
	bool absolute_fragment_times;
	int64_t connection_timeout;
	int64_t completion_timeout;
	int64_t stop_stream_timeout;
	int64_t max_connection_duration;
	const char *user_agent;
	int64_t retry_delay, retry_max_delay;
	const char *spool;  /* directory, NULL: RAM only */
	int64_t spool_size; /* bytes */
	int64_t spool_sync; /* ns; 0: at every fragment */
};

enum { KVS_REALTIME, KVS_NEAR_REALTIME, KVS_OFFLINE };

/* A control-plane or PutMedia answer that was not a success. */
struct kvs_resp {
	long status;
	struct strbuf body;
	char error_type[128];
	long skew; /* server Date minus local clock, s */
	CURLcode cc;
	char cerr[CURL_ERROR_SIZE];
};

struct kvs {
	struct vpipe_node *node;
	const struct kvs_config *cfg;
	char region[64];
	const char
	    *region_from; /* "aws-region", an environment variable, "default" */
	char *cp_base;	  /* control-plane base URL, no trailing slash */
	struct aws_creds_provider prov;
	struct kvs_store store;
	bool store_ready;
	struct kvs_feed *feed; /* the disk spool behind the store, or NULL */
	uint64_t timecode_scale_ns; /* of the current header */
	bool warned_no_header;
	int64_t start_wall_ms; /* x-amzn-producer-start-timestamp */

	/* Worker. */
	CURLM *multi;
	atomic_bool quit;
	atomic_bool fatal;
	char fatal_msg[768];
	bool worker_started;
	struct aws_creds creds; /* worker-owned after start() */
	bool creds_ok;
	bool
	    creds_changed; /* newer than those the connection was signed with */
	int64_t creds_checked;
	int64_t creds_retry_at; /* a refresh failed: not again before this */
	bool stream_ready;
	bool stream_missing; /* DescribeStream said so: create next */
	char *data_endpoint;
	int64_t endpoint_at;
	struct vpipe_backoff backoff; /* worker: reconnects and retries */

	/* Current PutMedia connection (worker only). */
	CURL *easy;
	bool paused;	       /* worker: the read callback paused the upload */
	atomic_bool want_wake; /* worker waits for data: wake it on append */
	bool ending;	       /* end the body at the next fragment boundary */
	bool body_ended;
	bool restart_conn;
	int64_t last_ack;
	uint64_t conn_acks;
	/* worker: when PutMedia last stopped working (0: it works), and the
	 * fragments the connection after it had to send again */
	int64_t outage_since;
	unsigned replaying;

	/* stream-tags changed by a reload (kvs_reconfigure, node thread),
	 * sent with TagStream by the worker (kvs_apply_tags) */
	pthread_mutex_t tags_lock;
	char *new_tags;
	atomic_bool tags_changed;
	struct kvs_ack_parser parser;
	struct kvs_resp resp;
	uint8_t *readbuf;
};

/* api.c: the control plane and request signing. */
void kvs_resp_reset(struct kvs_resp *r);
void kvs_tls_setup(struct kvs *k, CURL *h);
struct curl_slist *kvs_sign(struct kvs *k, const char *url,
			    const struct sigv4_header *extra, size_t n_extra,
			    const char *payload_hash, char *err, size_t errlen);
/* One attempt at what a stream needs before PutMedia: credentials,
 * DescribeStream (CreateStream when allowed), GetDataEndpoint. Returns 0,
 * or the action for the failure with msg filled. */
int kvs_prepare(struct kvs *k, enum kvs_action *action, char *msg,
		size_t msglen);
/* Credentials: fetch when missing or near expiry. Same returns. */
int kvs_refresh_credentials(struct kvs *k, bool force, enum kvs_action *action,
			    char *msg, size_t msglen);
/* Explain a failed answer; *fatal-worthy actions come back.
 * creds_expired (may be NULL): the refusal was for expired credentials. */
enum kvs_action kvs_explain(struct kvs *k, const struct kvs_resp *r, char *msg,
			    size_t msglen, bool *creds_expired);
int kvs_abort_requested(void *k);
/* Worker: wait ns (the kernel's wait). False when the worker must end. */
bool kvs_pause(struct kvs *k, int64_t ns);
void kvs_curl_common(struct kvs *k, CURL *h, struct kvs_resp *r);

/* upload.c: the worker. */
void kvs_worker(void *arg);
/* Worker: TagStream with the tags a reload set, if any are pending. */
void kvs_apply_tags(struct kvs *k);
void kvs_set_fatal(struct kvs *k, const char *msg);
void kvs_report_drops(struct kvs *k, const struct kvs_drops *d);

/* spool_feed.c: the disk spool in front of the content store (spool.h). */
int kvs_feed_open(struct kvs *k);
void kvs_feed_close(struct kvs *k);
/* Node thread: 0 taken, -1 fatal. */
int kvs_feed_header(struct kvs *k, const uint8_t *p, size_t n);
int kvs_feed_frame(struct kvs *k, const struct vpipe_frame *in,
		   bool starts_fragment, size_t cluster_off, uint64_t ticks);
void kvs_feed_end(struct kvs *k);
/* Fragments not yet delivered in the spool. */
uint64_t kvs_feed_pending(struct kvs *k);
/* Worker: move what fits from the spool into the store. */
void kvs_feed_pump(struct kvs *k);
bool kvs_feed_readable(struct kvs *k);
void kvs_feed_publish(struct kvs *k);
#endif
