/* The kvs sink with a disk spool (`spool = DIR`): the node thread appends
 * every frame to the spool (spool.c) and never to the content store; the
 * upload worker moves records from the spool into the store as room
 * allows, so the store is a cache of the spool's head and RAM stays
 * bounded by storage-size however much the spool holds. A fragment leaves
 * the spool when it leaves the store (PERSISTED, RECEIVED with retention
 * 0, or given up and counted), through the store's on_remove hook.
 *
 * Fragments left by an earlier run are read first, in order, with their
 * recorded timecodes and capture times; live frames follow in the same
 * sequence, so the service sees one ordered stream. */
#include "kvs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retime.h"
#include "spool.h"

#define MiB	       (1024.0 * 1024.0)
#define PROGRESS_EVERY (10 * VPIPE_S)
/* A fragment moved to follow the spool's newest frame starts this long
 * after it (about one frame). */
#define RETIME_GAP_MS 33

struct kvs_feed {
	struct kvs_spool *sp;
	struct kvs_spool_rec rec;
	uint8_t *buf;
	size_t cap;
	bool have;	 /* rec read, not yet in the store */
	bool eos_passed; /* kvs_store_end called */
	bool warned_drop;
	struct kvs_spool_found found;
	int64_t opened_at;
	/* Published so far (counters take deltas). */
	uint64_t pub_replayed, pub_written;
	/* Write rate and replay progress windows. */
	int64_t rate_at, progress_at, replay_started;
	uint64_t rate_written, progress_sent;
	bool replay_reported;
	unsigned progress_reports;
	int64_t shift_ms; /* added to this run's cluster timecodes */
};

static void spool_log(void *ctx, enum kvs_spool_log level, const char *msg)
{
	struct kvs *k = ctx;
	if (level == KVS_SPOOL_WARN)
		vpipe_warn(k->node, "%s", msg);
	else
		vpipe_info(k->node, "%s", msg);
}

/* Store hook, store lock held: the fragment is delivered or given up. */
static void fragment_gone(void *ctx, uint64_t ref)
{
	struct kvs *k = ctx;
	kvs_spool_done(k->feed->sp, ref);
}

static void log_found(struct kvs *k, const struct kvs_spool_found *fd)
{
	if (!fd->fragments) {
		vpipe_info(k->node, "spool %s: empty (spool-size %.0f MiB)",
			   k->cfg->spool, (double)k->cfg->spool_size / MiB);
		return;
	}
	double age = fd->oldest_wall > 0
			 ? (double)(vpipe_wallclock() - fd->oldest_wall) / 1e9
			 : 0;
	double span = fd->newest_wall > fd->oldest_wall
			  ? (double)(fd->newest_wall - fd->oldest_wall) / 1e9
			  : 0;
	vpipe_info(k->node,
		   "spool %s: %" PRIu64 " fragment(s) from an earlier run, "
		   "%" PRIu64 " frames, %.1f MiB in %u segment(s), %.0f s of "
		   "media captured up to %.0f s ago; sending them first, in "
		   "order (the time it takes is logged once the upload rate "
		   "is known)",
		   k->cfg->spool, fd->fragments, fd->frames,
		   (double)fd->bytes / MiB, fd->segments, span, age);
}

int kvs_feed_open(struct kvs *k)
{
	const struct kvs_config *c = k->cfg;
	if (!c->spool || !*c->spool || k->feed)
		return 0;
	struct kvs_feed *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	uint64_t seg = (uint64_t)c->spool_size / 8;
	if (seg > 16u << 20)
		seg = 16u << 20;
	if (seg < 128u << 10)
		seg = 128u << 10;
	struct kvs_spool_config sc = {
	    .dir = c->spool,
	    .max_bytes = (uint64_t)c->spool_size,
	    .segment_bytes = seg,
	    .sync_interval = c->spool_sync,
	    .block_when_full = c->streaming_type == KVS_OFFLINE,
	    .log = spool_log,
	    .log_ctx = k,
	};
	char err[600];
	if (kvs_spool_open(&f->sp, &sc, &f->found, err, sizeof(err))) {
		vpipe_error(k->node, "%s", err);
		free(f);
		return -1;
	}
	k->feed = f;
	f->opened_at = f->rate_at = f->progress_at = vpipe_now();
	log_found(k, &f->found);
	/* The spool bounds what is kept: no drops by age in the cache. */
	pthread_mutex_lock(&k->store.lock);
	k->store.cfg.buffer_ns = INT64_MAX / 4;
	k->store.cfg.replay_ns = INT64_MAX / 4;
	k->store.cfg.on_remove = fragment_gone;
	k->store.cfg.on_remove_ctx = k;
	pthread_mutex_unlock(&k->store.lock);
	return 0;
}

static void report(struct kvs *k);

/* After the worker has been joined (destroy). */
void kvs_feed_close(struct kvs *k)
{
	struct kvs_feed *f = k->feed;
	if (!f)
		return;
	report(k);
	/* Fragments still in the store stay in the spool for the next run. */
	if (k->store_ready) {
		pthread_mutex_lock(&k->store.lock);
		k->store.cfg.on_remove = NULL;
		pthread_mutex_unlock(&k->store.lock);
	}
	kvs_spool_close(f->sp);
	free(f->buf);
	free(f);
	k->feed = NULL;
}

int kvs_feed_header(struct kvs *k, const uint8_t *p, size_t n)
{
	char err[600];
	if (kvs_spool_put_header(k->feed->sp, p, n, err, sizeof(err))) {
		vpipe_error(k->node, "%s", err);
		return -1;
	}
	return 0;
}

static void report_spool_drops(struct kvs *k, const struct kvs_spool_drops *d)
{
	if (!d->frames)
		return;
	vpipe_node_count(k->node, "dropped_fragments_total", d->fragments);
	vpipe_node_count(k->node, "dropped_frames_total", d->frames);
	vpipe_warn(k->node,
		   "spool full (spool-size %.0f MiB): dropped the oldest %u "
		   "fragment(s) not yet sent, %u frames, %.1f MiB (the end of "
		   "a fragment being sent counts as frames only)",
		   (double)k->cfg->spool_size / MiB, d->fragments, d->frames,
		   (double)d->bytes / MiB);
}

/* A fragment that would not start after the spool's newest frame (the
 * earlier run's media is ahead of this run's clock) is moved, and every
 * later one by as much, so the service gets them in order. Returns the
 * frame to store (in->data, or *copy to free) and sets *tc_ms. */
static const uint8_t *in_order(struct kvs *k, const struct vpipe_frame *in,
			       size_t cluster_off, uint64_t ticks,
			       int64_t *tc_ms, size_t *len, uint8_t **copy)
{
	struct kvs_feed *f = k->feed;
	int64_t scale = (int64_t)k->timecode_scale_ns;
	*tc_ms = (int64_t)ticks * scale / VPIPE_MS;
	*len = in->size;
	*copy = NULL;
	int64_t last = kvs_spool_last_ms(f->sp);
	if (last >= 0 && *tc_ms + f->shift_ms <= last) {
		f->shift_ms = last + RETIME_GAP_MS - *tc_ms;
		vpipe_warn(k->node,
			   "fragment timecode %lld ms is not after the "
			   "spool's newest frame (%lld ms): this run's "
			   "timecodes are moved %.3f s later so the service "
			   "gets the fragments in order",
			   (long long)*tc_ms, (long long)last,
			   (double)f->shift_ms / 1e3);
	}
	if (!f->shift_ms)
		return in->data;
	uint64_t moved = ticks + (uint64_t)(f->shift_ms * VPIPE_MS / scale);
	*copy = kvs_retime_cluster(in->data, in->size, cluster_off, moved, len);
	if (!*copy) {
		*len = in->size;
		return in->data;
	}
	*tc_ms = (int64_t)moved * scale / VPIPE_MS;
	vpipe_node_count(k->node, "retimed_fragments_total", 1);
	return *copy;
}

int kvs_feed_frame(struct kvs *k, const struct vpipe_frame *in,
		   bool starts_fragment, size_t cluster_off, uint64_t ticks)
{
	struct kvs_feed *f = k->feed;
	/* offline: stop taking frames until the spool has room. */
	if (k->cfg->streaming_type == KVS_OFFLINE &&
	    !kvs_spool_has_room(f->sp, in->size)) {
		vpipe_warn(k->node,
			   "spool full (spool-size %.0f MiB): frames wait "
			   "(streaming-type = offline)",
			   (double)k->cfg->spool_size / MiB);
		vpipe_node_count(k->node, "spool_full_waits_total", 1);
		/* every ACK wakes this thread (upload.c), and an ACK is
		 * what frees room in the spool */
		while (!kvs_spool_has_room(f->sp, in->size) &&
		       !atomic_load(&k->fatal))
			if (vpipe_node_wait_fd(k->node, -1, 0, -1) < 0)
				return 0;
	}
	struct kvs_spool_drops d = {0};
	char err[600];
	int64_t wall = in->wallclock > 0 && in->wallclock != VPIPE_TIME_NONE
			   ? in->wallclock
			   : vpipe_wallclock();
	int64_t tc_ms = 0;
	size_t len = in->size;
	uint8_t *copy = NULL;
	const uint8_t *data = in->data;
	if (starts_fragment)
		data = in_order(k, in, cluster_off, ticks, &tc_ms, &len, &copy);
	int rc = kvs_spool_put_frame(f->sp, data, len, starts_fragment, tc_ms,
				     in->pts, wall, vpipe_now(), &d, err,
				     sizeof(err));
	free(copy);
	report_spool_drops(k, &d);
	if (rc < 0) {
		vpipe_error(k->node, "%s", err);
		return -1;
	}
	if (rc > 0) {
		vpipe_node_count(k->node, "dropped_frames_total", 1);
		if (!f->warned_drop) {
			f->warned_drop = true;
			vpipe_warn(k->node,
				   "frame %llu not spooled: no stream header "
				   "yet, the spool is full, or waiting for the "
				   "next fragment after a drop",
				   (unsigned long long)in->seq);
		}
	}
	return 0;
}

void kvs_feed_end(struct kvs *k)
{
	kvs_spool_end(k->feed->sp);
}

uint64_t kvs_feed_pending(struct kvs *k)
{
	if (!k->feed)
		return 0;
	struct kvs_spool_stats st;
	kvs_spool_stats(k->feed->sp, &st);
	return st.fragments;
}

bool kvs_feed_readable(struct kvs *k)
{
	return k->feed && (k->feed->have || kvs_spool_readable(k->feed->sp));
}

/* Room for a frame of n bytes: free space, or nothing else in the store
 * (a fragment bigger than storage-size is still tried, and dropped by the
 * store with its count). */
static bool store_takes(struct kvs *k, size_t n)
{
	if (kvs_store_has_room(&k->store, n))
		return true;
	pthread_mutex_lock(&k->store.lock);
	bool alone = k->store.n_frags <= 1;
	pthread_mutex_unlock(&k->store.lock);
	return alone;
}

static void put_record(struct kvs *k, struct kvs_feed *f)
{
	struct kvs_spool_rec *r = &f->rec;
	if (r->starts_fragment)
		kvs_store_set_next_ref(&k->store, r->frag_id);
	struct kvs_drops d = {0};
	int rc = kvs_store_put_frame(&k->store, r->data, r->len,
				     r->starts_fragment, r->timecode_ms, r->pts,
				     r->wallclock, vpipe_now(), &d);
	kvs_report_drops(k, &d);
	if (rc < 0) {
		kvs_set_fatal(k, "out of memory moving a frame from the spool "
				 "to the content store");
		return;
	}
	if (rc > 0) {
		vpipe_node_count(k->node, "dropped_frames_total", 1);
		if (r->starts_fragment) {
			/* Not taken (no header): the spool lets it go. */
			kvs_store_set_next_ref(&k->store, 0);
			kvs_spool_done(f->sp, r->frag_id);
			vpipe_node_count(k->node, "dropped_fragments_total", 1);
		}
	}
}

void kvs_feed_pump(struct kvs *k)
{
	struct kvs_feed *f = k->feed;
	if (!f)
		return;
	while (!atomic_load(&k->fatal)) {
		if (!f->have) {
			enum kvs_spool_next n =
			    kvs_spool_next(f->sp, &f->rec, &f->buf, &f->cap);
			if (n == KVS_SPOOL_EOS && !f->eos_passed) {
				f->eos_passed = true;
				kvs_store_end(&k->store, vpipe_now());
			}
			if (n != KVS_SPOOL_GOT)
				return;
			f->have = true;
		}
		if (f->rec.type == 1) {
			if (kvs_store_put_header(&k->store, f->rec.data,
						 f->rec.len))
				return;
		} else {
			if (!store_takes(k, f->rec.len))
				return;
			put_record(k, f);
		}
		f->have = false;
	}
}

static void replay_progress(struct kvs *k, struct kvs_feed *f,
			    const struct kvs_spool_stats *st, int64_t now)
{
	if (!st->replay_total || f->replay_reported)
		return;
	if (st->replay_done >= st->replay_total) {
		f->replay_reported = true;
		vpipe_info(k->node,
			   "spool: the %" PRIu64 " fragment(s) from the "
			   "earlier run are delivered (%.1f s)",
			   st->replay_total,
			   (double)(now - f->opened_at) / 1e9);
		return;
	}
	uint64_t sent = k->store.sent_bytes; /* this thread writes it */
	if (!f->replay_started) {
		/* The estimate starts with the upload. */
		if (!sent)
			return;
		f->replay_started = now;
		f->progress_at = now;
		f->progress_sent = sent;
		return;
	}
	/* A first estimate soon, then one every PROGRESS_EVERY. */
	int64_t every = f->progress_reports ? PROGRESS_EVERY : 3 * VPIPE_S;
	if (now - f->progress_at < every)
		return;
	f->progress_reports++;
	double rate = (double)(sent - f->progress_sent) /
		      ((double)(now - f->progress_at) / 1e9);
	f->progress_at = now;
	f->progress_sent = sent;
	double left = (double)f->found.bytes *
		      (double)(st->replay_total - st->replay_done) /
		      (double)st->replay_total;
	if (rate > 0)
		vpipe_info(k->node,
			   "spool replay: %" PRIu64 " of %" PRIu64
			   " fragment(s) delivered, %.1f MiB left: about %.0f "
			   "s at the current upload rate (%.2f MiB/s)",
			   st->replay_done, st->replay_total, left / MiB,
			   left / rate, rate / MiB);
	else
		vpipe_info(k->node,
			   "spool replay: %" PRIu64 " of %" PRIu64
			   " fragment(s) delivered, %.1f MiB left; nothing "
			   "uploaded in the last %.0f s",
			   st->replay_done, st->replay_total, left / MiB,
			   (double)every / 1e9);
}

void kvs_feed_publish(struct kvs *k)
{
	struct kvs_feed *f = k->feed;
	if (!f)
		return;
	struct kvs_spool_stats st;
	kvs_spool_stats(f->sp, &st);
	int64_t now = vpipe_now();
	vpipe_node_gauge(k->node, "spool_bytes", (int64_t)st.bytes);
	vpipe_node_gauge(k->node, "spool_fragments", (int64_t)st.fragments);
	vpipe_node_gauge(k->node, "spool_oldest_age_seconds",
			 st.oldest_wall > 0
			     ? (vpipe_wallclock() - st.oldest_wall) / VPIPE_S
			     : 0);
	vpipe_node_gauge(k->node, "spool_replay_pending_fragments",
			 (int64_t)(st.replay_total - st.replay_done));
	vpipe_node_count(k->node, "spool_replayed_fragments_total",
			 (int64_t)(st.replay_done - f->pub_replayed));
	f->pub_replayed = st.replay_done;
	vpipe_node_count(k->node, "spool_written_bytes_total",
			 (int64_t)(st.written_bytes - f->pub_written));
	f->pub_written = st.written_bytes;
	if (now - f->rate_at >= 10 * VPIPE_S) {
		vpipe_node_gauge(
		    k->node, "spool_write_rate_bytes_per_second",
		    (int64_t)((double)(st.written_bytes - f->rate_written) /
			      ((double)(now - f->rate_at) / 1e9)));
		f->rate_at = now;
		f->rate_written = st.written_bytes;
	}
	replay_progress(k, f, &st, now);
}

static void report(struct kvs *k)
{
	struct kvs_feed *f = k->feed;
	struct kvs_spool_stats st;
	kvs_spool_stats(f->sp, &st);
	double secs = (double)(vpipe_now() - f->opened_at) / 1e9;
	vpipe_info(
	    k->node,
	    "spool: wrote %.1f MiB in %.0f s (%.1f MiB per hour, %" PRIu64
	    " syncs); %" PRIu64 " fragment(s) not delivered, %.1f MiB on "
	    "disk",
	    (double)st.written_bytes / MiB, secs,
	    secs > 0 ? (double)st.written_bytes / MiB * 3600 / secs : 0,
	    st.syncs, st.fragments, (double)st.bytes / MiB);
}
