/* vpipe-kvs-local: a Kinesis Video Streams compatible endpoint for
 * development and tests (docs/kvs-local.md). Internal interfaces between
 * its files. Calls go one way (no cycle): main -> args (-> keys), server;
 * server -> loop (connections, heads) -> pool (worker threads) ->
 * dispatch (a request) -> auth, payload, handlers (control, putmedia,
 * getmedia) -> request, reply -> conn; log, store, limits below them. */
#ifndef VPIPE_KVS_LOCAL_H
#define VPIPE_KVS_LOCAL_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "http_parse.h"
#include "json.h"
#include "sigv4.h"
#include "strbuf.h"

/* ------------------------------------------------------------ limits */
#define KL_MAX_FRAGMENT_SIZE	  (50LL * 1000 * 1000) /* 4001 */
#define KL_MAX_FRAGMENT_MS	  (20 * 1000)	       /* 4002 */
#define KL_MAX_TRACKS		  3		       /* 4005 */
#define KL_MAX_FRAGMENT_TAGS	  10		       /* 4009 */
#define KL_MAX_STREAM_TAGS	  50
#define KL_MAX_RETENTION_HOURS	  87600 /* 10 years */
#define KL_MAX_JSON_BODY	  (1024 * 1024)
#define KL_MAX_HEAD		  16384
#define KL_MAX_GET_MEDIA	  3 /* concurrent GetMedia per stream */
#define KL_MAX_GET_MEDIA_FOR_LIST 5 /* concurrent GetMediaForFragmentList */
/* a reader that takes no byte for this long is dropped */
#define KL_WRITE_STALL_MS    60000
#define KL_MAX_FRAGMENT_LIST 1000
/* a PutMedia whose body brings nothing this long is ended (4000) */
#define KL_BODY_IDLE_TIMEOUT_MS 30000
/* streams with retention 0 keep fragments this long, for live readers */
#define KL_LIVE_WINDOW_MS (300 * 1000)
/* timestamps beyond this (year ~33658) are refused, not overflowed */
#define KL_MAX_EPOCH_SECONDS 1e12
/* A PutMedia Content-Length beyond what one connection can carry: 12.5 MB/s
 * (the per-stream PutMedia limit) for 45 minutes (the longest connection). */
#define KL_MAX_PUTMEDIA_BODY (45LL * 60 * 12500000)
/* A PutMedia whose X-Amz-Content-Sha256 is a fixed hash is held on disk
 * until its whole body is verified; longer uploads use the streaming forms. */
#define KL_MAX_SPOOLED_BODY (64LL * 1024 * 1024)

/* ------------------------------------------------------------ config */
struct kl_config {
	const char *listen; /* host:port */
	const char *data_dir;
	const char *tls_cert, *tls_key;
	const char *region;
	struct sigv4_key key; /* access_key NULL: signatures not checked */
	int max_skew;	      /* seconds */
	int idle_ms;	      /* IDLE ack interval */
	int64_t max_fragment_size;
	int64_t max_fragment_ms;
	/* fault injection */
	int refuse_ms;	      /* refuse connections for this long at start */
	atomic_int fail_next; /* answer 500 to the next N requests */
	int64_t drop_after;   /* drop a PutMedia after this many body bytes */
	int ack_delay_ms;     /* delay every ACK */
	/* one-shot stall: the first PutMedia connection to have sent this
	 * many ACKs goes silent (reads and writes nothing) for stall_ms, then
	 * closes as a lost connection; 0 = off */
	int64_t stall_acks_after;
	int stall_ms;
	atomic_bool stall_used;
	uint64_t error_fragment; /* ERROR ack for the Nth fragment (1-based) */
	int throttle_tps;	 /* control-plane calls per second, 0 = off */
	bool no_rate_limits;	 /* --no-rate-limits: no TPS/credit limits */
	int write_stall_ms;	 /* drop a peer that reads nothing this long */
	bool verbose;
	int body_idle_timeout_ms; /* --putmedia-idle-timeout */
	int64_t live_window_ms;	  /* --live-window, retention 0 */
	int64_t max_disk;	  /* --max-disk bytes, -1 = default share */
	bool no_auth; /* --no-auth: keys in the environment are not used */
	/* connection limits and timeouts (server.c, dispatch.c) */
	int max_conns;		  /* --max-connections, in all */
	int max_conns_per_client; /* --max-connections-per-client (by IP) */
	int max_requests;	  /* --max-requests: served at once (threads) */
	int idle_timeout_ms;   /* no new request on a kept-alive connection */
	int header_timeout_ms; /* first byte of a head (or TLS) to its end */
	int body_timeout_ms;   /* a whole non-streaming body */
	/* header before every fragment, as the service does (default: only
	 * when it changes, so ffmpeg reads the response as one Segment) */
	bool repeat_headers;
	/* --edge-sync-timeout: SYNCING/DELETING to *_FAILED (edge_state.h) */
	int64_t edge_sync_timeout_ms;
};

/* ------------------------------------------------------------ limits */
/* The APIs with documented request-rate limits (limits.c). */
enum kl_api {
	KL_API_CREATE_STREAM,
	KL_API_DESCRIBE_STREAM,
	KL_API_LIST_STREAMS,
	KL_API_DELETE_STREAM,
	KL_API_GET_DATA_ENDPOINT,
	KL_API_TAG_STREAM,
	KL_API_LIST_TAGS,
	KL_API_UPDATE_RETENTION,
	KL_API_PUT_MEDIA,
	KL_API_GET_MEDIA,
	KL_API_LIST_FRAGMENTS,
	KL_API_GET_MEDIA_FOR_FRAGMENT_LIST,
	KL_API_START_EDGE_CONFIG,
	KL_API_DESCRIBE_EDGE_CONFIG,
	KL_API_LIST_EDGE_AGENT_CONFIGS,
	KL_API_DELETE_EDGE_CONFIG,
	KL_API_N
};

struct kl_rate {
	double tokens;
	int64_t last_ms;
};

/* ------------------------------------------------------------ storage */
struct kl_tag {
	char *key, *value;
};

struct kl_fragment {
	char number[32];
	int64_t producer_ms, server_ms, duration_ms;
	int64_t size;
	unsigned header_id;
	bool has_tags; /* f/NUMBER.tags holds its SimpleTags */
	/* {"name":"value",...} of the fragment's SimpleTags: set by the
	 * writer; readers load it with kl_fragment_tags() */
	char *tags_json;
};

/* Paths: data directory (checked at start) plus a stream directory name
 * (at most 255 bytes) plus a file name fit in this. */
#define KL_PATH_MAX	4096
#define KL_DATA_DIR_MAX 3000

/* The on-disk fragment index of a stream (index.c). Positions count the
 * stream's fragments from 0 in arrival order; [first, next) are live. */
struct kl_index {
	char *dir; /* STREAM/i */
	uint64_t first, next;
	int wfd; /* segment open for appending, or -1 */
	uint64_t wseg;
	bool wfd_new;
};

int kl_index_open(struct kl_index *ix, const char *stream_dir);
void kl_index_close(struct kl_index *ix);
/* The record at pos (tags_json NULL): 0, or -1 if gone or unreadable. */
int kl_index_read(const struct kl_index *ix, uint64_t pos,
		  struct kl_fragment *f);
/* Up to n records from pos on; returns how many were read. */
size_t kl_index_read_many(const struct kl_index *ix, uint64_t pos, size_t n,
			  struct kl_fragment *out);
/* Position of the fragment numbered `number`: 0, or -1 if none. */
int kl_index_find(const struct kl_index *ix, const char *number, uint64_t *pos);
int kl_index_append(struct kl_index *ix, const struct kl_fragment *f);
/* Make what kl_index_append() wrote durable (fdatasync). */
int kl_index_sync(struct kl_index *ix);
/* Forget the records before pos, unlinking segments wholly before it. */
void kl_index_drop_before(struct kl_index *ix, uint64_t pos);
/* Fragment numbers: "9" and 20 digits, from and to their integer. */
int kl_number_parse(const char *s, uint64_t *out);
void kl_number_format(uint64_t n, char out[32]);
int kl_sync_dir(const char *dir);

/* Deletions not logged yet (logged as sums, at most every 10 s). */
struct kl_deletions {
	int64_t n, bytes, logged_ms;
};

struct kl_stream {
	char *name, *arn, *version, *media_type, *kms_key, *device;
	int64_t creation_ms;
	int64_t retention_hours;
	struct kl_tag *tags;
	size_t n_tags;
	struct kl_index idx; /* fragments, on disk (store lock) */
	int64_t bytes;	     /* on disk for its fragments (quota) */
	int64_t oldest_ms;   /* server time of idx.first, if any */
	unsigned next_header_id;
	unsigned first_header_id; /* lowest h/ID.mkv that may exist */
	struct kl_deletions expired;
	bool putmedia_active;
	int getmedia_active;
	int fragment_list_active;	/* GetMediaForFragmentList responses */
	struct kl_rate rates[KL_API_N]; /* stream-level limits, store lock */
	bool deleted;
	char *dir; /* DATA/streams/DIRNAME */
	int refs;
};

struct kl_store {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a fragment was added (GetMedia waits) */
	char *dir;
	const char *region;
	struct kl_stream **streams;
	size_t n_streams;
	uint64_t last_fragment_number;
	/* retention and disk quota (kl_store_limits) */
	int64_t bytes;		/* media of every stream */
	int64_t max_disk;	/* 0 = no quota */
	int64_t live_window_ms; /* what retention 0 keeps */
	pthread_t janitor;
	bool janitor_running, closing;
	pthread_cond_t janitor_wake;
	struct kl_deletions over_quota;
};

int kl_store_open(struct kl_store *s, const char *dir, const char *region);
/* Enforce retention (live_window_ms for retention 0) and the disk quota
 * (max_disk bytes; < 0: what is stored plus half the free space) now and
 * every second from a thread of the store's own. 0, or -1 if the thread
 * cannot start. */
int kl_store_limits(struct kl_store *s, int64_t max_disk,
		    int64_t live_window_ms);
void kl_store_close(struct kl_store *s);
/* "10G", "512M", "1000000": bytes (K, M, G are powers of 1024). */
int kl_parse_size(const char *s, int64_t *out);
/* With s->lock held. */
struct kl_stream *kl_store_find(struct kl_store *s, const char *name,
				const char *arn);
struct kl_stream *kl_store_create(struct kl_store *s, const char *name,
				  const char *media_type, const char *kms,
				  const char *device, int64_t retention);
void kl_store_delete(struct kl_store *s, struct kl_stream *st);
int kl_store_save_stream(struct kl_store *s, struct kl_stream *st);
void kl_stream_put(struct kl_store *s, struct kl_stream *st);
/* Next fragment number (decimal), strictly increasing; lock held. */
void kl_store_next_number(struct kl_store *s, int64_t now_ms, char out[32]);
/* Store a received fragment whose Cluster bytes are in tmp_path (written
 * and synced): durable on disk (file, tags, index, directories) when this
 * returns 0; -2 if the stream was deleted, -1 on an I/O error. Takes the
 * store lock itself. */
int kl_store_commit(struct kl_store *s, struct kl_stream *st,
		    const struct kl_fragment *f, const char *tmp_path);
/* Save a stream header (EBML .. Tracks) durably; its id in *id. */
int kl_store_save_header(struct kl_store *s, struct kl_stream *st,
			 const void *data, size_t len, unsigned *id);
/* The fragment's SimpleTags as a JSON object (malloc'd; "{}" if none). */
char *kl_fragment_tags(const struct kl_stream *st, const struct kl_fragment *f);
/* Paths for a stream's header and fragment files. */
void kl_header_path(const struct kl_stream *st, unsigned id, char *out,
		    size_t n);
void kl_fragment_path(const struct kl_stream *st, const char *number, char *out,
		      size_t n);
int64_t kl_now_ms(void);

struct kl_request;

/* ------------------------------------------------------------ connection */
struct kl_server;

struct kl_conn {
	int fd;
	SSL *ssl;
	struct kl_server *srv;
	char peer[64];
	uint8_t buf[65536];
	size_t len; /* bytes in buf */
	bool closed;
	/* While set, writes collect in `out` and go out at kl_conn_flush():
	 * handlers answer with the store lock held, and a peer that does not
	 * read must not stall every other connection on that lock. */
	bool defer;
	struct strbuf out;
	char client[64];  /* the peer's address alone (per-client limit) */
	bool close_after; /* Connection: close: close after this response */
	FILE *replay;	  /* a verified body, read before the socket */
	/* the server's wait for the next request head (server.c) */
	struct kl_conn *prev, *next;
	int64_t deadline_ms;
	bool head_started, handshaken;
	unsigned epoll_events;
};

struct kl_server {
	struct kl_config cfg;
	struct kl_store store;
	SSL_CTX *tls;
	char endpoint[300]; /* http(s)://host:port */
	atomic_int stopping;
	int64_t started_ms;
	pthread_mutex_t throttle_lock;
	int64_t throttle_second;
	int throttle_count;
	struct kl_rate account_rates[KL_API_N]; /* under throttle_lock */
	struct kl_edge_store *edge;		/* edge.h, store lock */
};

/* Index of the API at request path op (no '/'), -1 if none. */
int kl_api_index(const char *op);
/* true if the call is over a limit; `why` says which. */
bool kl_limit_account(struct kl_server *srv, int api, char *why, size_t n);
/* Store lock held. cost: 1 per call, fragments for the credit limits. */
bool kl_limit_stream(struct kl_server *srv, struct kl_stream *st, int api,
		     double cost, char *why, size_t n);

/* Serve the connection c (fd, ssl, srv, peer set) until it closes, then
 * close and free it, reading heads itself (blocking, with the idle and
 * header timeouts). The request-path fuzz target calls it directly on a
 * socketpair. */
void kl_serve(struct kl_conn *c);
/* Serve the requests whose heads are complete in c->buf (a worker thread,
 * server.c). true: keep the connection and wait for its next head; false:
 * close it (kl_conn_close). */
bool kl_serve_pending(struct kl_conn *c);
/* true if c->buf holds a whole request head (or one that can only fail). */
bool kl_head_ready(const struct kl_conn *c);
/* Shut down, close and free c. */
void kl_conn_close(struct kl_conn *c);
void kl_config_defaults(struct kl_config *cfg);
/* The command line into cfg (args.c); 0 ok, -1 after an error message. */
int kl_parse_args(int argc, char **argv, struct kl_config *cfg);
/* The keys as the command line gave them (args.c), for kl_resolve_keys. */
struct kl_key_args {
	const char *access_key;	     /* --access-key */
	char *secret_key;	     /* --secret-key: argv, overwritten */
	char *session_token;	     /* --session-token: likewise */
	const char *secret_key_file; /* --secret-key-file */
};
/* cfg->key from a, a file or the environment (keys.c); 0 ok, -1 after an
 * error message. */
int kl_resolve_keys(struct kl_config *cfg, struct kl_key_args *a);
/* Listen and serve until SIGTERM/SIGINT (server.c); the exit status. */
int kl_server_run(struct kl_server *srv);
/* 0 if the request may proceed; otherwise the 403 was sent (auth.c). */
int kl_check_signature(struct kl_server *srv, struct kl_conn *c,
		       struct kl_request *r, bool streaming);
/* X-Amz-Content-Sha256 against the body (payload.c): 0 = go; otherwise
 * the error was sent. A non-streaming request's body is in r; a PutMedia
 * body with a fixed hash is read, hashed and spooled here, then replayed
 * from c->replay. */
int kl_check_payload(struct kl_server *srv, struct kl_conn *c,
		     struct kl_request *r, bool streaming);
/* Copy text to out with the values of X-Amz-Security-Token (header line
 * or query parameter) replaced by their length (log.c). */
void kl_redact(struct strbuf *out, const char *text);
/* The worker threads (pool.c): at most max_threads; a byte on wake_fd
 * says a connection came back (kl_pool_take_back). -1: out of memory. */
int kl_pool_init(int max_threads, int wake_fd);
/* false if every thread is busy (the caller refuses the request). */
bool kl_pool_submit(struct kl_conn *c);
struct kl_conn *kl_pool_take_back(void);
int kl_pool_threads(void);
/* Stop the workers once their requests end; those still running after
 * wait_ms. */
int kl_pool_stop(int wait_ms);
/* The connection loop (loop.c): until stop_fd is readable. */
int kl_loop_run(struct kl_server *srv, int listen_fd, int stop_fd, int wake_fd);
/* After the pool stopped: close every connection. */
void kl_loop_close_all(void);
/* Reads and writes also end when fd (the stop pipe) is readable. */
void kl_conn_set_stop_fd(int fd);

/* Read more into c->buf (appending). >0 bytes read, 0 EOF, -1 error,
 * -2 timeout. */
int kl_conn_fill(struct kl_conn *c, int timeout_ms);
/* Drop the first n bytes of c->buf. */
void kl_conn_consume(struct kl_conn *c, size_t n);
int kl_conn_write(struct kl_conn *c, const void *p, size_t n);
/* Send what was deferred and stop deferring (no lock may be held). */
int kl_conn_flush(struct kl_conn *c);
int kl_conn_printf(struct kl_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Responses. An error reply's whole text, for kl_send_error and for the
 * server's own refusals (written at once, without blocking). */
void kl_format_error(struct strbuf *out, int status, const char *type,
		     const char *msg, bool close);
int kl_send_json(struct kl_conn *c, int status, const char *json);
int kl_send_error(struct kl_conn *c, int status, const char *type,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Start a chunked response; then kl_send_chunk() pieces, kl_end_chunks(). */
int kl_start_chunked(struct kl_conn *c, const char *content_type);
int kl_send_chunk(struct kl_conn *c, const void *p, size_t n);
int kl_end_chunks(struct kl_conn *c);

/* A request: head, and for non-streaming requests the whole body. */
struct kl_request {
	struct http_head head;
	char *body;
	size_t body_len;
	struct json_value *json;
	const char *op; /* path without leading '/' */
};

void kl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Handlers: return 0 to keep the connection, -1 to close it. */
int kl_control(struct kl_server *srv, struct kl_conn *c, struct kl_request *r);
int kl_put_media(struct kl_server *srv, struct kl_conn *c,
		 struct kl_request *r);
int kl_get_media(struct kl_server *srv, struct kl_conn *c,
		 struct kl_request *r);
int kl_list_fragments(struct kl_server *srv, struct kl_conn *c,
		      struct kl_request *r);
int kl_get_media_for_fragment_list(struct kl_server *srv, struct kl_conn *c,
				   struct kl_request *r);

/* Service constraints on names, ARNs, tags, tokens (validate.c): 0, or -1
 * with the 400 sent (*rc its result). Handlers call it first. */
int kl_validate_request(struct kl_conn *c, const struct kl_request *r, int *rc);
int kl_validate_header(struct kl_conn *c, const char *header, const char *value,
		       int *rc);

/* JSON helpers shared by the handlers. */
const char *kl_json_str(const struct kl_request *r, const char *key);
/* Stream lookup from StreamName/StreamARN in the body; answers the error
 * itself and returns NULL (lock held on success and failure). */
struct kl_stream *kl_request_stream(struct kl_server *srv, struct kl_conn *c,
				    struct kl_request *r, int *rc);
/* Seconds since the epoch as a JSON number with milliseconds. */
void kl_put_timestamp(struct strbuf *b, int64_t ms);
/* Parse a rest-json timestamp (epoch seconds number or ISO 8601 string). */
int kl_parse_timestamp(const struct json_value *v, int64_t *ms);
/* ------------------------------------------------------------ playback */
/* GetClip limits (the service's): the clip holds at most this much media
 * from its start; what is over is left off, as the service does. */
#define KL_CLIP_MAX_FRAGMENTS 200
#define KL_CLIP_MAX_BYTES     (100LL * 1000 * 1000)
/* HLS sessions (hls.c) */
#define KL_HLS_MAX_SESSIONS   256
#define KL_HLS_MAX_RANGE_MS   (24LL * 3600 * 1000)
#define KL_HLS_LIVE_WINDOW_MS (30 * 1000) /* LIVE needs a fragment this new */

/* A FragmentSelector of the playback APIs (playback_params.c). */
struct kl_ts_selector {
	bool producer; /* PRODUCER_TIMESTAMP, else SERVER_TIMESTAMP */
	bool has_start, has_end;
	int64_t start_ms, end_ms;
};
enum kl_hls_mode { KL_HLS_LIVE, KL_HLS_LIVE_REPLAY, KL_HLS_ON_DEMAND };
struct kl_hls_params {
	enum kl_hls_mode mode;
	struct kl_ts_selector sel;
	int64_t expires_s;   /* Expires, 300-43200 s */
	int64_t max_results; /* MaxMediaPlaylistFragmentResults */
};
/* The request bodies of GetClip and GetHLSStreamingSessionURL: 0, or -1
 * with err saying which field is wrong. */
int kl_parse_clip_params(const struct json_value *body,
			 struct kl_ts_selector *sel, char *err, size_t n);
int kl_parse_hls_params(const struct json_value *body, struct kl_hls_params *p,
			char *err, size_t n);
/* The value of key in an URL query (percent-decoded) into out: 0, or -1 if
 * absent, over n-1 bytes or badly encoded. */
int kl_query_param(const char *query, const char *key, char *out, size_t n);

/* MP4 made from Matroska held in memory (mp4_remux.c). */
struct kl_mp4 {
	uint8_t *data; /* malloc'd */
	size_t len;
	size_t init_len; /* fragmented: ftyp+moov, then moof+mdat */
	size_t samples;
};
int kl_mp4_remux(const void *mkv, size_t mkv_len, bool fragmented,
		 struct kl_mp4 *out, char *err, size_t errn);

/* Stored fragments for playback (playback.c). The fragments whose start
 * time is within [from, to], from the oldest, at most max: how many were
 * put in out; *more if more matched. */
size_t kl_select_fragments(struct kl_server *srv, struct kl_stream *st,
			   const struct kl_ts_selector *sel, size_t max,
			   struct kl_fragment *out, bool *more);
/* The stream header of fs[0] and the Clusters of fs[0..n) as one Matroska
 * Segment in out. 0; -1 with err (e.g. a header/CPD change inside); with
 * max_bytes > 0 stops before the fragment that would pass it (*used says
 * how many went in). Fragments deleted meanwhile are left out. */
int kl_build_mkv(const struct kl_stream *st, const struct kl_fragment *fs,
		 size_t n, int64_t max_bytes, struct strbuf *out, size_t *used,
		 char *err, size_t errn);
/* A whole response with a body of its own type. */
int kl_send_body(struct kl_conn *c, const char *content_type, const void *data,
		 size_t len);
int kl_get_clip(struct kl_server *srv, struct kl_conn *c, struct kl_request *r);
int kl_get_hls_session_url(struct kl_server *srv, struct kl_conn *c,
			   struct kl_request *r);
/* GET /hls/v1/...: the session's playlists and fragments (no SigV4: the
 * SessionToken in the URL is the credential). */
int kl_hls_get(struct kl_server *srv, struct kl_conn *c, struct kl_request *r);
#endif
