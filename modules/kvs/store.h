/* The kvs sink's content store: the Matroska stream header and every
 * fragment not yet acknowledged, bounded by bytes (storage-size) and by
 * duration (buffer-duration). The node thread appends frames; the upload
 * worker reads bytes through a cursor and marks fragments acknowledged.
 * One short mutex guards it: appends and reads copy at most one frame or
 * one socket buffer while holding it, so the camera side never waits on
 * the network.
 *
 * A fragment is what one Cluster holds (one GOP). It leaves the store when
 * the service has it for good (PERSISTED, or RECEIVED when the stream keeps
 * no data), when it is dropped because the store is full (the oldest goes
 * first: STATUS_STORE_OUT_OF_MEMORY), or when it fell out of the replay
 * window while no connection could carry it. */
#ifndef VPIPE_MODULES_KVS_STORE_H
#define VPIPE_MODULES_KVS_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kvs_ack_type {
	KVS_ACK_NONE = 0,
	KVS_ACK_BUFFERING,
	KVS_ACK_RECEIVED,
	KVS_ACK_PERSISTED,
	KVS_ACK_ERROR,
	KVS_ACK_IDLE,
};

struct kvs_hdr; /* a stream header, shared by the fragments that follow it */

struct kvs_frag {
	struct kvs_frag *next;
	uint64_t id;  /* 1, 2, ... in arrival order */
	uint64_t ref; /* the spool's fragment id, 0 none */
	struct kvs_hdr *hdr;
	uint8_t *data;
	size_t len, cap;
	int64_t timecode_ms; /* Cluster Timecode in ms: what ACKs name */
	int64_t first_pts, last_pts; /* ns, pipeline clock */
	unsigned frames;
	uint32_t *frame_end; /* byte offset just past each frame */
	int64_t *frame_wall; /* capture time of each frame, ns epoch */
	unsigned frame_cap;
	unsigned frames_sent; /* on the current connection */
	bool closed;	      /* the next fragment has begun (or EOS) */
	bool buffering, received, persisted;
	unsigned error_acks;
	int64_t t_first_byte, t_last_byte; /* monotonic ns, this connection */
};

struct kvs_store_config {
	size_t max_bytes;      /* storage-size */
	int64_t buffer_ns;     /* buffer-duration */
	int64_t replay_ns;     /* replay-duration */
	bool done_on_received; /* retention 0 or no ACKs wanted */
	bool done_on_sent;     /* fragment-acks off: sent is done */
	/* With a spool: told (lock held) of every fragment with a ref that
	 * leaves the store, delivered or dropped (not at kvs_store_free). */
	void (*on_remove)(void *ctx, uint64_t ref);
	void *on_remove_ctx;
};

/* What the last call dropped, for the caller to count and log. */
struct kvs_drops {
	unsigned fragments;
	unsigned frames;
	size_t bytes;
	unsigned by_size;      /* STATUS_STORE_OUT_OF_MEMORY */
	unsigned by_duration;  /* older than buffer-duration */
	unsigned by_replay;    /* older than replay-duration at reconnect */
	unsigned by_error;     /* skipped after an error ACK */
	bool broke_connection; /* a partly sent fragment went: reconnect */
	unsigned resent; /* rewind: fragments partly or wholly sent before */
};

/* Capture-to-wire latency of frames: 0.1 ms steps to 100 ms, then 1 ms
 * steps to 10 s. */
#define KVS_LAT_FINE	1000
#define KVS_LAT_BUCKETS (KVS_LAT_FINE + 9900 + 1)

struct kvs_store {
	pthread_mutex_t lock;
	struct kvs_store_config cfg;
	struct kvs_hdr *hdr; /* latest header */
	struct kvs_frag *head, *tail;
	uint64_t next_id;
	size_t bytes; /* accounted memory of header + fragments */
	unsigned n_frags;
	bool skip_to_fragment; /* the open fragment was dropped */
	uint64_t next_ref;     /* ref of the next fragment put */
	bool eos;

	/* The upload cursor. */
	struct kvs_frag
	    *cur;	    /* fragment being sent, NULL: wait for next_send */
	uint64_t next_send; /* id of the next fragment to send when !cur */
	size_t off;
	struct kvs_hdr *hdr_sent; /* header in force on this connection */
	struct kvs_hdr *hdr_cur;  /* header being sent, NULL: none */
	size_t hdr_off;
	bool broken; /* a fragment partly on the wire was dropped */

	/* Totals since start. */
	uint64_t sent_bytes, sent_frames, sent_fragments;
	uint64_t dropped_fragments, dropped_frames;
	uint32_t *lat_hist; /* KVS_LAT_BUCKETS or NULL */
	uint64_t lat_count;
};

int kvs_store_init(struct kvs_store *s, const struct kvs_store_config *cfg);
void kvs_store_free(struct kvs_store *s);

/* Producer side (node thread). */
int kvs_store_put_header(struct kvs_store *s, const uint8_t *p, size_t n);
/* Append one frame. `starts_fragment`: it begins with a Cluster whose
 * timecode is timecode_ms. Returns 0 stored, 1 dropped (no header yet, or
 * waiting for the next fragment after the open one was dropped), -1 out of
 * memory. `d` reports fragments evicted to make room. */
int kvs_store_put_frame(struct kvs_store *s, const uint8_t *p, size_t n,
			bool starts_fragment, int64_t timecode_ms, int64_t pts,
			int64_t wallclock, int64_t now, struct kvs_drops *d);
/* The next fragment put carries this ref (the spool's fragment id). */
void kvs_store_set_next_ref(struct kvs_store *s, uint64_t ref);
/* Would a frame of n bytes fit without evicting anything? */
bool kvs_store_has_room(struct kvs_store *s, size_t n);
/* End of stream: close the open fragment. */
void kvs_store_end(struct kvs_store *s, int64_t now);

/* Consumer side (upload worker). */
/* A new connection: forget per-connection progress, drop what is done or
 * older than replay-duration, and point the cursor at the header and the
 * first fragment the service does not have. */
void kvs_store_rewind(struct kvs_store *s, struct kvs_drops *d);
/* Copy up to max bytes of what comes next. Returns the count; 0 with
 * *state telling why: */
enum kvs_read_state {
	KVS_READ_DATA = 0,
	KVS_READ_WAIT,	   /* nothing to send yet */
	KVS_READ_BOUNDARY, /* stop_at_boundary and the cursor is between
			      fragments */
	KVS_READ_END,	   /* end of stream and everything sent */
};
size_t kvs_store_read(struct kvs_store *s, uint8_t *buf, size_t max,
		      bool stop_at_boundary, int64_t now, int64_t wall_now,
		      enum kvs_read_state *state, unsigned *frames_done,
		      unsigned *frags_done);
/* Anything the cursor could send right now? */
bool kvs_store_readable(struct kvs_store *s);

/* An ACK for the fragment whose cluster timecode is timecode_ms. Returns
 * 1 when a fragment matched, 0 when none did (already gone). *latency_ns
 * gets the ACK latency by the part4 §4.1 definitions (-1 when unknown).
 * RECEIVED/PERSISTED may free the fragment. */
int kvs_store_ack(struct kvs_store *s, enum kvs_ack_type type,
		  int64_t timecode_ms, int64_t now, int64_t *latency_ns);
/* An error ACK: skip=true drops the fragment (counted in d), otherwise it
 * stays to be sent again. Returns the fragment's error count (0: no match). */
unsigned kvs_store_error(struct kvs_store *s, int64_t timecode_ms, bool skip,
			 struct kvs_drops *d);

struct kvs_store_stats {
	size_t bytes, max_bytes;
	unsigned fragments; /* in the store */
	unsigned unacked;   /* not done yet */
	unsigned unacked_frames;
	size_t unacked_bytes;
	int64_t oldest_unacked_ms; /* timecode, -1 none */
	bool has_unsent;
	bool eos;
	bool broken;
	int64_t sent_unacked_since; /* monotonic ns of the oldest byte sent
				       and not yet BUFFERING-acked, 0 none */
};
void kvs_store_stats(struct kvs_store *s, struct kvs_store_stats *st);
/* Percentile (0-100) of capture-to-wire latency in ns, -1 if no sample. */
int64_t kvs_store_latency_pct(struct kvs_store *s, double pct);
#endif
