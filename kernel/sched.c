/* The scheduler: one kernel-owned thread per node, named after it, driving
 * the module (produce for sources, process for the rest), applying the
 * restart policy, and the pipeline's stop sequence:
 *   stop (first signal, --duration, or end of stream from every source):
 *     sources stop producing and send EOS; every other node drains its
 *     queues, flushes, forwards EOS and stops, so modules stop sinks-last;
 *   abort (second signal, or drain-timeout): everything stops at once and
 *     what is still queued is dropped and counted;
 *   give up (a node still in a module callback well after the abort, or a
 *     third signal): vp_pipeline_run reports the node and the callback it
 *     is in and returns without that thread, which the caller must end
 *     with the process (pl->abandoned). */
#include "fuse.h"
#include "futex.h"
#include "graph.h"
#include "internal.h"
#include "notify.h"
#include "watchdog.h"
#include "params.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define STABLE_RUN (30 * VPIPE_S) /* a run this long resets the backoff */
/* After an abort every kernel wait returns at once, so a node thread still
 * in a callback that was running at the abort after ABORT_GRACE ignores
 * stop requests; a callback begun after the abort (stop(), closing files)
 * gets CLEANUP_GRACE from its start. Then vpipe gives up on the node. */
#define ABORT_GRACE   (1 * VPIPE_S)
#define CLEANUP_GRACE (5 * VPIPE_S)

static const char *const callback_names[] = {
    [VP_CB_NONE] = "the kernel",
    [VP_CB_CREATE] = "create()",
    [VP_CB_START] = "start()",
    [VP_CB_PRODUCE] = "produce()",
    [VP_CB_PROCESS] = "process()",
    [VP_CB_FLUSH] = "flush()",
    [VP_CB_TIMER] = "timer()",
    [VP_CB_UPSTREAM] = "upstream_event()",
    [VP_CB_STOP] = "stop()",
    [VP_CB_WORKERS] = "a worker thread (joined after stop())",
    [VP_CB_DESTROY] = "destroy()",
    [VP_CB_RECONFIGURE] = "reconfigure()",
};

/* Note which module callback the node's thread enters; returns the time. */
static int64_t enter(struct vpipe_node *n, enum vp_callback cb)
{
	int64_t now = vpipe_now();
	atomic_store_explicit(&n->callback_since, now, memory_order_relaxed);
	atomic_store_explicit(&n->callback, cb, memory_order_release);
	return now - vp_fuse_nested_ns(); /* see account() */
}

static void leave(struct vpipe_node *n)
{
	atomic_store_explicit(&n->callback, VP_CB_NONE, memory_order_release);
	vp_node_flush_wakes(); /* what the callback pushed: one wake-up each */
}

/* Leave the callback entered at t0, counting its time as busy, less the
 * time spent in nodes it called directly (fused, fuse.c). */
static void account(struct vpipe_node *n, int64_t t0)
{
	leave(n);
	int64_t busy = vpipe_now() - vp_fuse_nested_ns() - t0;
	atomic_fetch_add_explicit(&n->busy_ns, (uint64_t)busy,
				  memory_order_relaxed);
}

static void handle_upstream(struct vpipe_node *n)
{
	/* Fused nodes first: what they pass on may be for n. */
	if (n->fuse_next)
		handle_upstream(n->fuse_next);
	if (n->runner != n && n->fuse_ended)
		return;
	/* a plain load first: the exchange is a locked write, per frame */
	if (!atomic_load_explicit(&n->upstream_pending, memory_order_relaxed))
		return;
	unsigned pending = atomic_exchange(&n->upstream_pending, 0);
	for (unsigned ev = 1; pending && ev < 32; ev++) {
		if (!(pending & (1u << ev)))
			continue;
		pending &= ~(1u << ev);
		int handled = 0;
		if (n->mod->upstream_event && n->state) {
			int64_t t0 = enter(n, VP_CB_UPSTREAM);
			handled = n->mod->upstream_event(n->state, ev);
			account(n, t0);
		}
		if (!handled)
			vpipe_node_send_upstream(n, ev);
	}
}

/* A reload changed only runtime keys of this node: hand the module the
 * new config (or keep it for create() while the node is down). */
static void apply_node_config(struct vpipe_node *n)
{
	void *cfg = atomic_exchange(&n->pending_config, NULL);
	if (!cfg)
		return;
	int rc = 0;
	if (n->state && n->mod->reconfigure) {
		int64_t t0 = enter(n, VP_CB_RECONFIGURE);
		rc = n->mod->reconfigure(n->state, cfg);
		account(n, t0);
	}
	if (rc < 0) {
		vpipe_error(n, "reload: the module refused the new parameters: "
			       "it keeps the ones it had");
		vp_params_free(n->mod->params, cfg);
		free(cfg);
		return;
	}
	void **r = realloc(n->retired_configs, (n->n_retired + 1) * sizeof(*r));
	if (!r)
		abort();
	n->retired_configs = r;
	n->retired_configs[n->n_retired++] = n->config;
	n->config = cfg;
	vpipe_info(n, "reload: new parameters applied without a restart");
}

/* The thread of n runs the nodes fused into it too (fuse.c): their new
 * configs are applied from here, between callbacks, like n's own. */
static void apply_pending_config(struct vpipe_node *n)
{
	for (struct vpipe_node *m = n; m; m = m->fuse_next)
		apply_node_config(m);
}

static bool group_config_pending(struct vpipe_node *n)
{
	for (struct vpipe_node *m = n; m; m = m->fuse_next)
		if (atomic_load(&m->pending_config))
			return true;
	return false;
}

/* Run the module's timer when due. Returns its result (0 when not due). */
static int run_timer(struct vpipe_node *n)
{
	if (!n->timer_interval || !n->mod->timer || !n->state)
		return 0;
	int64_t now = vpipe_now();
	if (now < n->next_timer)
		return 0;
	n->next_timer = now + n->timer_interval;
	int64_t t0 = enter(n, VP_CB_TIMER);
	int rc = n->mod->timer(n->state);
	account(n, t0);
	return rc;
}

static void wait_for_input(struct vpipe_node *n)
{
	int64_t timeout = -1;
	if (n->timer_interval && n->mod->timer) {
		timeout = n->next_timer - vpipe_now();
		if (timeout <= 0)
			return;
	}
	vp_node_flush_wakes();
	uint32_t seq = atomic_load(&n->wake_seq);
	atomic_exchange(&n->sleeping, 1); /* see vp_node_wake_consumer */
	if (!vp_node_inputs_ready(n) && !atomic_load(&n->abort) &&
	    !vp_fuse_upstream_pending(n) && !group_config_pending(n))
		vp_futex_wait_for(&n->wake_seq, seq, timeout);
	atomic_store(&n->sleeping, 0);
}

static int run_source(struct vpipe_node *n)
{
	while (!vpipe_node_stopping(n)) {
		handle_upstream(n);
		apply_pending_config(n);
		int64_t t0 = enter(n, VP_CB_PRODUCE);
		int rc = n->mod->produce(n->state);
		account(n, t0);
		if (rc == VPIPE_EOS)
			return 0;
		if (rc < 0 || (rc = run_timer(n)) < 0)
			return rc;
		if (vp_node_all_outputs_dead(n)) {
			vpipe_warn(n, "every consumer of this node is gone: "
				      "stopping");
			return 0;
		}
	}
	return 0;
}

/* EOS closes the link; other events are shown to the module if its port
 * takes events, then forwarded downstream by the kernel either way. */
static int handle_event(struct vpipe_node *n, struct vp_link *l,
			const struct vpipe_frame *f, unsigned *open)
{
	if (f->event == VPIPE_EVENT_EOS) {
		l->eos = true;
		(*open)--;
		return 0;
	}
	int rc = 0;
	if (n->mod->inputs[l->to_port].media & VPIPE_MEDIA_EVENT) {
		int64_t t0 = enter(n, VP_CB_PROCESS);
		rc = n->mod->process(n->state, l->to_port, f);
		account(n, t0);
	}
	vpipe_push_event(n, f->event);
	return rc;
}

/* One pass over the inputs. Returns 1 if anything was taken, 0 if not,
 * <0 on a module error. */
static int take_inputs(struct vpipe_node *n, unsigned *open)
{
	int got = 0;
	for (unsigned i = 0; i < n->n_in; i++) {
		struct vp_link *l = n->in[i];
		if (l->eos)
			continue;
		struct vpipe_frame *f = vp_link_pop(l);
		if (!f)
			continue;
		got = 1;
		if (f->media == VPIPE_MEDIA_EVENT) {
			int rc = handle_event(n, l, f, open);
			vpipe_frame_unref(f);
			if (rc < 0)
				return rc;
			continue;
		}
		atomic_fetch_add_explicit(&n->frames_in, 1,
					  memory_order_relaxed);
		int64_t t0 = enter(n, VP_CB_PROCESS);
		int rc = n->mod->process(n->state, l->to_port, f);
		account(n, t0);
		vpipe_frame_unref(f);
		if (rc < 0)
			return rc;
	}
	return got;
}

static int run_filter(struct vpipe_node *n)
{
	unsigned open = 0;
	for (unsigned i = 0; i < n->n_in; i++)
		open += !n->in[i]->eos;
	while (open > 0) {
		if (atomic_load(&n->abort))
			return 0;
		handle_upstream(n);
		apply_pending_config(n);
		int got = take_inputs(n, &open);
		if (got < 0)
			return got;
		int rc = run_timer(n);
		if (rc < 0)
			return rc;
		if (n->n_out && vp_node_all_outputs_dead(n)) {
			vpipe_warn(n, "every consumer of this node is gone: "
				      "stopping");
			return 0;
		}
		if (!got && open > 0)
			wait_for_input(n);
	}
	return 0;
}

/* Upstream producers must not block on a node that will not read again. */
static void detach_inputs(struct vpipe_node *n)
{
	for (unsigned i = 0; i < n->n_in; i++) {
		struct vp_link *l = n->in[i];
		atomic_store(&l->dead, true);
		atomic_fetch_add(&l->space_seq, 1);
		vp_futex_wake_all(&l->space_seq);
		struct vpipe_frame *f;
		while ((f = vp_link_pop(l))) {
			if (f->media != VPIPE_MEDIA_EVENT)
				atomic_fetch_add(&l->drops, 1);
			vpipe_frame_unref(f);
		}
	}
}

static void stop_module(struct vpipe_node *n)
{
	vp_node_quit_workers(n);
	if (n->mod->stop && n->state) {
		enter(n, VP_CB_STOP);
		n->mod->stop(n->state);
	}
	enter(n, VP_CB_WORKERS);
	for (unsigned i = 0; i < n->n_workers; i++)
		pthread_join(n->workers[i], NULL);
	n->n_workers = 0;
	atomic_store(&n->workers_quit, 0); /* a restart spawns them again */
	leave(n);
}

static int create_module(struct vpipe_node *n)
{
	enter(n, VP_CB_CREATE);
	int rc = vp_node_create(n);
	leave(n);
	return rc;
}

static void destroy_module(struct vpipe_node *n)
{
	enter(n, VP_CB_DESTROY);
	vp_node_destroy(n);
	leave(n);
}

static int start_module(struct vpipe_node *n)
{
	if (!n->mod->start)
		return 0;
	enter(n, VP_CB_START);
	int rc = n->mod->start(n->state);
	leave(n);
	return rc;
}

static bool flush_module(struct vpipe_node *n)
{
	if (atomic_load(&n->abort) || !n->mod->flush)
		return true;
	enter(n, VP_CB_FLUSH);
	int rc = n->mod->flush(n->state);
	leave(n);
	return rc >= 0;
}

/* Interruptible backoff wait; false if the pipeline is stopping. */
static bool backoff(struct vpipe_node *n, int64_t delay)
{
	vpipe_warn(n, "restarting in %.1f s (restart = on-error)",
		   (double)delay / 1e9);
	int64_t until = vpipe_now() + delay;
	while (!atomic_load(&n->abort) && !atomic_load(&n->stop) &&
	       vpipe_now() < until)
		vpipe_node_wait_fd(n, -1, 0,
				   until - vpipe_now()); /* or woken */
	return !atomic_load(&n->abort) && !atomic_load(&n->stop);
}

static int run_node(struct vpipe_node *n)
{
	struct vpipe_backoff delay;
	vpipe_backoff_init(&delay, n->restart_delay, n->restart_max_delay);
	int64_t down_since = 0; /* when the node last failed; 0: up */
	for (;;) {
		if (!n->created)
			apply_pending_config(n); /* no module yet: just swap */
		if (!n->created && create_module(n)) {
			vpipe_error(n, "create failed");
			detach_inputs(n);
			vpipe_push_event(n, VPIPE_EVENT_EOS);
			return VP_NODE_FAILED;
		}
		int64_t started = vpipe_now();
		int rc = start_module(n);
		bool started_ok = rc == 0;
		if (started_ok && down_since) {
			/* Once per outage, however many attempts it took. */
			vpipe_info(n,
				   "running again after %.1f s down "
				   "(restart %" PRIu64 ")",
				   (double)(started - down_since) / 1e9,
				   atomic_load(&n->restarts));
			down_since = 0;
		}
		if (started_ok)
			rc = n->n_in == 0 ? run_source(n) : run_filter(n);
		if (rc >= 0) {
			bool flushed = flush_module(n);
			vpipe_push_event(n, VPIPE_EVENT_EOS);
			stop_module(n);
			detach_inputs(n);
			if (flushed)
				return VP_NODE_FINISHED;
			atomic_fetch_add(&n->errors, 1);
			vpipe_error(n, "could not deliver everything at end of "
				       "stream (see above)");
			return VP_NODE_FAILED;
		}
		atomic_fetch_add(&n->errors, 1);
		int64_t failed_at = vpipe_now();
		if (started_ok)
			stop_module(n);
		else
			vpipe_error(n, "start failed");
		if (n->restart == VP_RESTART_NEVER || atomic_load(&n->abort) ||
		    atomic_load(&n->stop)) {
			vpipe_error(n,
				    "node failed (restart = %s): its chain "
				    "stops, other chains go on (it ran "
				    "%.1f s)",
				    n->restart == VP_RESTART_NEVER ? "never"
								   : "on-error",
				    (double)(failed_at - started) / 1e9);
			detach_inputs(n);
			vpipe_push_event(n, VPIPE_EVENT_EOS);
			return VP_NODE_FAILED;
		}
		if (vpipe_now() - started > STABLE_RUN)
			vpipe_backoff_reset(&delay);
		destroy_module(n);
		if (!down_since)
			down_since = failed_at;
		atomic_store(&n->restarting, true);
		if (!backoff(n, vpipe_backoff_next(&delay))) {
			atomic_store(&n->restarting, false);
			detach_inputs(n);
			vpipe_push_event(n, VPIPE_EVENT_EOS);
			return VP_NODE_FINISHED;
		}
		atomic_store(&n->restarting, false);
		atomic_fetch_add(&n->restarts, 1);
		n->discont_next = true;
		vpipe_push_event(n, VPIPE_EVENT_DISCONTINUITY);
	}
}

static void *node_main(void *arg)
{
	struct vpipe_node *n = arg;
	char name[16];
	snprintf(name, sizeof(name), "%.15s", n->name);
	pthread_setname_np(pthread_self(), name);
	vp_node_defer_wakes();
	vp_fuse_start_group(n);
	int state = run_node(n);
	atomic_store(&n->state_, state);
	vp_fuse_finish_group(n);
	vp_node_flush_wakes();
	atomic_store(&n->exited, true);
	atomic_fetch_sub(&n->pl->running, 1);
	uint64_t one = 1;
	ssize_t w = write(n->pl->done_fd, &one, sizeof(one));
	(void)w;
	return NULL;
}

/* STATUS= for systemctl status: how many nodes run, failed, finished. */
static void notify_status(struct vp_pipeline *pl)
{
	unsigned failed = 0, finished = 0;
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		int st = atomic_load(&pl->nodes[i]->state_);
		failed += st == VP_NODE_FAILED;
		finished += st == VP_NODE_FINISHED;
	}
	vp_notify("STATUS=running: %u of %u nodes (%u failed, %u finished)",
		  pl->n_nodes - failed - finished, pl->n_nodes, failed,
		  finished);
}

static void begin_stop(struct vp_pipeline *pl)
{
	vp_notify("STOPPING=1\nSTATUS=stopping: draining queued frames");
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		atomic_store(&pl->nodes[i]->stop, 1);
		vpipe_node_wake(pl->nodes[i]);
		vp_pool_wake(&pl->nodes[i]->pool);
	}
}

static void begin_abort(struct vp_pipeline *pl)
{
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		struct vpipe_node *n = pl->nodes[i];
		atomic_store(&n->abort, 1);
		vpipe_node_wake(n);
		vp_pool_wake(&n->pool);
	}
	for (unsigned i = 0; i < pl->n_links; i++) {
		atomic_fetch_add(&pl->links[i]->space_seq, 1);
		vp_futex_wake_all(&pl->links[i]->space_seq);
	}
}

static const char *const state_names[] = {
    [VP_NODE_IDLE] = "idle",
    [VP_NODE_RUNNING] = "running",
    [VP_NODE_FINISHED] = "finished",
    [VP_NODE_FAILED] = "failed",
};

/* The module's counters and gauges as " name=value...". */
static void module_counters(struct vpipe_node *n, char *out, size_t len)
{
	out[0] = 0;
	unsigned nc = atomic_load(&n->n_counters);
	for (unsigned c = 0; c < nc; c++) {
		if (n->counters[c].refused)
			continue;
		size_t used = strlen(out);
		snprintf(out + used, len - used, " %s=%" PRId64,
			 n->counters[c].name,
			 atomic_load(&n->counters[c].value));
	}
}

/* One line per node and per link. `live`: the state and the queue depth
 * now (SIGUSR1); otherwise the figures at exit, with the deepest queue. */
static void print_figures(struct vp_pipeline *pl, bool live)
{
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		struct vpipe_node *n = pl->nodes[i];
		/* room for every counter: names are up to 64 characters */
		char extra[VP_MAX_COUNTERS * 88];
		module_counters(n, extra, sizeof(extra));
		int state = atomic_load(&n->state_);
		if (live && atomic_load(&n->restarting))
			state = -1;
		vpipe_info(
		    n,
		    "%s%sframes in=%" PRIu64 " out=%" PRIu64 " errors=%" PRIu64
		    " restarts=%" PRIu64 " busy=%.3fs%s",
		    live ? (state < 0 ? "restarting" : state_names[state]) : "",
		    live ? " " : "", atomic_load(&n->frames_in),
		    atomic_load(&n->frames_out), atomic_load(&n->errors),
		    atomic_load(&n->restarts),
		    (double)atomic_load(&n->busy_ns) / 1e9, extra);
	}
	for (unsigned i = 0; i < pl->n_links; i++) {
		struct vp_link *l = pl->links[i];
		char depth[64];
		if (live)
			snprintf(depth, sizeof(depth), "depth=%zu/%zu",
				 vp_ring_count(&l->ring), l->capacity);
		else
			snprintf(depth, sizeof(depth), "max-depth=%zu/%zu",
				 atomic_load(&l->high_water), l->capacity);
		vpipe_info(l->to,
			   "link %s->%s frames=%" PRIu64 " bytes=%" PRIu64
			   " drops=%" PRIu64 " %s",
			   l->from->name, l->to->name, atomic_load(&l->frames),
			   atomic_load(&l->bytes), atomic_load(&l->drops),
			   depth);
	}
}

static void print_summary(struct vp_pipeline *pl)
{
	print_figures(pl, false);
}

void vp_sched_print_final(struct vp_pipeline *pl, struct vpipe_node **nodes,
			  unsigned n)
{
	struct vp_pipeline part = {.nodes = nodes, .n_nodes = n};
	struct vp_link *links[256];
	for (unsigned i = 0; i < pl->n_links && part.n_links < 256; i++)
		for (unsigned k = 0; k < n; k++)
			if (pl->links[i]->to == nodes[k]) {
				links[part.n_links++] = pl->links[i];
				break;
			}
	part.links = links;
	print_figures(&part, false);
}

void vp_pipeline_status(struct vp_pipeline *pl)
{
	print_figures(pl, true);
}

/* Start the threads of nodes[first..]: all of them at the start, the
 * nodes a reload added later. */
static int start_threads_from(struct vp_pipeline *pl, unsigned first)
{
	unsigned left = 0; /* threads: one per fused group (fuse.c) */
	for (unsigned i = first; i < pl->n_nodes; i++)
		left += pl->nodes[i]->runner == pl->nodes[i];
	atomic_fetch_add(&pl->running, left);
	/* all first: a thread may end a node fused into it at once */
	for (unsigned i = first; i < pl->n_nodes; i++)
		atomic_store(&pl->nodes[i]->state_, VP_NODE_RUNNING);
	for (unsigned i = first; i < pl->n_nodes; i++) {
		struct vpipe_node *n = pl->nodes[i];
		if (n->runner != n)
			continue; /* runs in n->runner's thread */
		int rc = pthread_create(&n->thread, NULL, node_main, n);
		if (rc) {
			vpipe_error(n, "cannot start thread: %s", strerror(rc));
			atomic_fetch_sub(&pl->running, left);
			begin_abort(pl);
			return -1;
		}
		n->thread_started = true;
		left--;
	}
	return 0;
}

static int start_threads(struct vp_pipeline *pl)
{
	pl->running = 0;
	return start_threads_from(pl, 0);
}

int vp_sched_start_nodes(struct vp_pipeline *pl, unsigned first)
{
	return start_threads_from(pl, first);
}

/* [pipeline] drain-timeout, or longer if a node needs longer to finish. */
static int64_t drain_timeout(const struct vp_pipeline *pl)
{
	int64_t t = pl->drain_timeout;
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		int64_t asked = atomic_load_explicit(
		    &pl->nodes[i]->drain_timeout, memory_order_relaxed);
		if (asked > t)
			t = asked;
	}
	return t;
}

/* When vpipe gives up waiting for a node after an abort at `aborted`. */
static int64_t give_up_at(struct vpipe_node *n, int64_t aborted)
{
	n = vp_fuse_busy(n); /* the fused node its thread is in, if any */
	int64_t since =
	    atomic_load_explicit(&n->callback_since, memory_order_relaxed);
	int64_t t = aborted + ABORT_GRACE;
	if (since > aborted && since + CLEANUP_GRACE > t)
		t = since + CLEANUP_GRACE;
	return t;
}

/* After an abort: the time to look again, or 0 when every node thread
 * still running is past its grace and vpipe gives up on it. */
static int64_t stuck_check(struct vp_pipeline *pl, int64_t aborted)
{
	int64_t now = vpipe_now(), next = 0;
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		struct vpipe_node *n = pl->nodes[i];
		if (!n->thread_started || atomic_load(&n->exited))
			continue;
		int64_t t = give_up_at(n, aborted);
		if (t > now && (next == 0 || t < next))
			next = t;
	}
	return next;
}

/* Name every node whose thread has not returned, and what it is in. */
static void give_up(struct vp_pipeline *pl, int64_t aborted)
{
	int64_t now = vpipe_now();
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		struct vpipe_node *n = pl->nodes[i];
		if (!n->thread_started || atomic_load(&n->exited))
			continue;
		n = vp_fuse_busy(n); /* name the node the thread is in */
		int cb =
		    atomic_load_explicit(&n->callback, memory_order_acquire);
		int64_t since = atomic_load_explicit(&n->callback_since,
						     memory_order_relaxed);
		vpipe_error(n,
			    "did not stop: %s has not returned for %.1f s "
			    "(%.1f s after the stop at once); exiting without "
			    "this node",
			    callback_names[cb], (double)(now - since) / 1e9,
			    (double)(now - aborted) / 1e9);
		pl->abandoned++;
		vp_fuse_abandon(n);
	}
}

struct stop_state {
	int signals;
	int64_t stop_at;  /* --duration; -1: none */
	int64_t abort_at; /* drain deadline; -1: none */
	int64_t aborted;  /* when the abort began; -1: not yet */
	bool give_up;	  /* third signal: do not wait any longer */
};

static void do_abort(struct vp_pipeline *pl, struct stop_state *st)
{
	begin_abort(pl);
	st->abort_at = -1;
	if (st->aborted < 0)
		st->aborted = vpipe_now();
}

static void on_signal(struct vp_pipeline *pl, struct stop_state *st, int signo,
		      bool *stop_now)
{
	st->signals++;
	if (st->signals == 1) {
		vpipe_info(NULL,
			   "%s: stopping, draining queued frames (up to %.0f "
			   "s; signal again to stop at once)",
			   strsignal(signo), (double)drain_timeout(pl) / 1e9);
		*stop_now = true;
	} else if (st->signals == 2) {
		vpipe_warn(NULL, "second signal: stopping at once (a third "
				 "one exits without waiting for any node)");
		do_abort(pl, st);
	} else {
		vpipe_warn(NULL, "third signal: exiting now");
		do_abort(pl, st);
		st->give_up = true;
	}
}

/* The periodic one-line summary ([pipeline] summary-interval): enough for
 * a journal read days later to show the graph was alive and moving. */
static void log_summary_line(struct vp_pipeline *pl, int64_t started)
{
	unsigned running = 0, restarting = 0, ended = 0;
	uint64_t produced = 0, consumed = 0, errors = 0, restarts = 0,
		 drops = 0;
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		struct vpipe_node *n = pl->nodes[i];
		if (atomic_load(&n->restarting))
			restarting++;
		else if (atomic_load(&n->state_) == VP_NODE_RUNNING)
			running++;
		else
			ended++;
		if (n->n_in == 0)
			produced += atomic_load(&n->frames_out);
		if (n->n_out == 0)
			consumed += atomic_load(&n->frames_in);
		errors += atomic_load(&n->errors);
		restarts += atomic_load(&n->restarts);
	}
	for (unsigned i = 0; i < pl->n_links; i++)
		drops += atomic_load(&pl->links[i]->drops);
	vpipe_info(NULL,
		   "summary: up %.0f s; nodes running %u, restarting %u, "
		   "ended %u; frames from sources %" PRIu64
		   ", into sinks %" PRIu64 "; queue drops %" PRIu64
		   "; errors %" PRIu64 "; restarts %" PRIu64,
		   (double)(vpipe_now() - started) / 1e9, running, restarting,
		   ended, produced, consumed, drops, errors, restarts);
}

/* Every signal that ends a process by default and can be caught: each is
 * read from the signalfd by the supervising thread (no handler runs in
 * signal context). SIGPIPE is ignored instead (see vp_pipeline_run). */
static const int caught_signals[] = {
    SIGHUP,    SIGINT,	SIGQUIT, SIGTERM,   SIGUSR1, SIGUSR2,
    SIGALRM,   SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO,
#ifdef SIGPWR
    SIGPWR,
#endif
#ifdef SIGSTKFLT
    SIGSTKFLT,
#endif
    SIGTRAP,
};

void vp_signal_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(caught_signals) / sizeof(*caught_signals);
	     i++)
		sigaddset(set, caught_signals[i]);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaddset(set, s);
}

/* SIGHUP reloads the graph file, SIGUSR1 logs a status snapshot; every
 * other caught signal stops like SIGTERM (drain, then exit 0). */
static void dispatch_signal(struct vp_pipeline *pl, struct stop_state *st,
			    int signo, bool *stop_now)
{
	if (signo == SIGUSR1) {
		vpipe_info(NULL, "%s: status", strsignal(signo));
		vp_pipeline_status(pl);
		return;
	}
	if (signo == SIGHUP && st->signals == 0) {
		if (pl->reloader)
			vp_pipeline_reload(pl);
		else
			vpipe_warn(NULL,
				   "%s: this pipeline cannot reload: "
				   "ignored",
				   strsignal(signo));
		return;
	}
	on_signal(pl, st, signo, stop_now);
}

/* Wait for signals, the duration, the drain deadline and node exits;
 * after an abort, for the node threads until they are past their grace. */
static void supervise(struct vp_pipeline *pl, int sfd, int64_t duration_ns)
{
	struct stop_state st = {
	    .stop_at = duration_ns > 0 ? vpipe_now() + duration_ns : -1,
	    .abort_at = -1,
	    .aborted = -1,
	};
	struct vp_watchdog wd;
	vp_watchdog_init(&wd, pl);
	int64_t started = vpipe_now(), summary_at = -1;
	while (atomic_load(&pl->running) > 0) {
		/* Messages held back since the last look are written within
		 * one coalescing interval: look at least that often. */
		int64_t now = vpipe_now(), next = vp_log_coalesce_flush();
		if (next < 0 || next > now + VP_LOG_COALESCE_INTERVAL)
			next = now + VP_LOG_COALESCE_INTERVAL;
		if (pl->summary_interval <= 0) {
			summary_at = -1;
		} else if (summary_at < 0) {
			summary_at = now + pl->summary_interval;
		} else if (now >= summary_at) {
			log_summary_line(pl, started);
			summary_at = now + pl->summary_interval;
		}
		if (summary_at >= 0 && (next < 0 || summary_at < next))
			next = summary_at;
		if (st.stop_at >= 0 && (next < 0 || st.stop_at < next))
			next = st.stop_at;
		if (st.abort_at >= 0 && (next < 0 || st.abort_at < next))
			next = st.abort_at;
		int64_t ping = vp_watchdog_due(&wd);
		if (ping >= 0 && (next < 0 || ping < next))
			next = ping;
		if (st.aborted >= 0) {
			int64_t check =
			    st.give_up ? 0 : stuck_check(pl, st.aborted);
			if (check == 0) {
				give_up(pl, st.aborted);
				vp_watchdog_free(&wd);
				return;
			}
			if (next < 0 || check < next)
				next = check;
		}
		int timeout = next < 0 ? -1 : (int)((next - now) / 1000000 + 1);
		if (next >= 0 && next <= now)
			timeout = 0;
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN},
				      {.fd = pl->done_fd, .events = POLLIN}};
		poll(p, 2, timeout);
		if (p[1].revents & POLLIN) {
			uint64_t v;
			ssize_t r = read(pl->done_fd, &v, sizeof(v));
			(void)r;
			notify_status(pl);
		}
		bool stop_now = false;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				dispatch_signal(pl, &st, (int)si.ssi_signo,
						&stop_now);
		}
		now = vpipe_now();
		if (st.stop_at >= 0 && now >= st.stop_at) {
			vpipe_info(NULL, "duration reached: stopping");
			stop_now = true;
			st.stop_at = -1;
		}
		if (stop_now && st.abort_at < 0 && st.aborted < 0) {
			begin_stop(pl);
			st.abort_at = now + drain_timeout(pl);
			st.stop_at = -1;
		}
		if (st.abort_at >= 0 && now >= st.abort_at) {
			vpipe_warn(NULL,
				   "drain did not finish within drain-timeout "
				   "(%.1f s): stopping at once, queued frames "
				   "are dropped",
				   (double)drain_timeout(pl) / 1e9);
			do_abort(pl, &st);
		}
		vp_watchdog_tick(&wd, pl, now);
	}
	/* The last thread may end between a look at done_fd and the loop's
	 * test: the final state is said here in any case. */
	notify_status(pl);
	vp_watchdog_free(&wd);
}

static bool all_exited(struct vpipe_node **nodes, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (nodes[i]->thread_started && !atomic_load(&nodes[i]->exited))
			return false;
	return true;
}

/* Wait on done_fd until every node of the subset has exited or `until`
 * (-1: no limit) has passed; true if they all have. */
static bool wait_exited(struct vp_pipeline *pl, struct vpipe_node **nodes,
			unsigned n, int64_t until)
{
	while (!all_exited(nodes, n)) {
		int64_t now = vpipe_now();
		if (until >= 0 && now >= until)
			return false;
		int timeout =
		    until < 0 ? 1000 : (int)((until - now) / 1000000 + 1);
		if (timeout > 100)
			timeout =
			    100; /* done_fd wakes us; this bounds a miss */
		struct pollfd p = {.fd = pl->done_fd, .events = POLLIN};
		if (poll(&p, 1, timeout) > 0) {
			uint64_t v;
			ssize_t r = read(pl->done_fd, &v, sizeof(v));
			(void)r;
		}
	}
	return true;
}

unsigned vp_sched_stop_nodes(struct vp_pipeline *pl, struct vpipe_node **nodes,
			     unsigned n)
{
	int64_t limit = pl->drain_timeout;
	for (unsigned i = 0; i < n; i++) {
		int64_t asked = atomic_load(&nodes[i]->drain_timeout);
		if (asked > limit)
			limit = asked;
		atomic_store(&nodes[i]->stop, 1);
		vpipe_node_wake(nodes[i]);
		vp_pool_wake(&nodes[i]->pool);
	}
	if (!wait_exited(pl, nodes, n, vpipe_now() + limit)) {
		vpipe_warn(NULL,
			   "drain did not finish within %.1f s: stopping "
			   "the chain at once, queued frames are dropped",
			   (double)limit / 1e9);
		int64_t aborted = vpipe_now();
		for (unsigned i = 0; i < n; i++) {
			struct vpipe_node *nd = nodes[i];
			atomic_store(&nd->abort, 1);
			vpipe_node_wake(nd);
			vp_pool_wake(&nd->pool);
			for (unsigned k = 0; k < nd->n_in; k++) {
				atomic_fetch_add(&nd->in[k]->space_seq, 1);
				vp_futex_wake_all(&nd->in[k]->space_seq);
			}
		}
		int64_t last = aborted + ABORT_GRACE;
		for (;;) {
			if (wait_exited(pl, nodes, n, last))
				break;
			int64_t next = aborted + ABORT_GRACE;
			for (unsigned i = 0; i < n; i++)
				if (!atomic_load(&nodes[i]->exited)) {
					int64_t t =
					    give_up_at(nodes[i], aborted);
					if (t > next)
						next = t;
				}
			if (next <= last)
				break;
			last = next;
		}
	}
	unsigned stuck = 0;
	for (unsigned i = 0; i < n; i++) {
		struct vpipe_node *nd = nodes[i];
		if (!nd->thread_started)
			continue;
		if (atomic_load(&nd->exited)) {
			pthread_join(nd->thread, NULL);
			nd->thread_started = false;
			continue;
		}
		int cb = atomic_load(&nd->callback);
		vpipe_error(nd,
			    "did not stop: %s has not returned; leaving "
			    "this node behind",
			    callback_names[cb]);
		pl->abandoned++;
		stuck++;
	}
	return stuck;
}

int vp_pipeline_run(struct vp_pipeline *pl, int64_t duration_ns)
{
	sigset_t set, old;
	vp_signal_set(&set);
	/* A write to a closed socket or pipe is an error the module sees
	 * (EPIPE), never the end of the process. */
	signal(SIGPIPE, SIG_IGN);
	/* Node threads inherit the blocked mask: only signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &set, &old);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	pl->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sfd < 0 || pl->done_fd < 0) {
		vpipe_error(NULL, "cannot set up signal handling: %s",
			    strerror(errno));
		return 1;
	}
	vp_fuse_plan(pl); /* which nodes share a thread */
	vpipe_now();	  /* the pipeline clock starts here */
	vp_notify_init();
	if (start_threads(pl) == 0) {
		vp_notify("READY=1\nSTATUS=running: %u nodes", pl->n_nodes);
		supervise(pl, sfd, duration_ns);
	}
	/* A thread given up on is never joined: it may never return. */
	for (unsigned i = 0; i < pl->n_nodes; i++)
		if (pl->nodes[i]->thread_started &&
		    (!pl->abandoned || atomic_load(&pl->nodes[i]->exited)))
			pthread_join(pl->nodes[i]->thread, NULL);
	close(sfd);
	/* With a thread given up on, the caller ends the process: a pending
	 * signal must not kill it before its exit status is set. */
	if (!pl->abandoned)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	vp_log_coalesce_flush();
	for (unsigned i = 0; i < pl->n_nodes; i++)
		if (!pl->abandoned || atomic_load(&pl->nodes[i]->exited))
			vp_log_coalesce_forget(pl->nodes[i]);
	print_summary(pl);
	int failed = 0;
	for (unsigned i = 0; i < pl->n_nodes; i++)
		if (atomic_load(&pl->nodes[i]->state_) != VP_NODE_FINISHED &&
		    pl->nodes[i]->runner->thread_started) {
			vpipe_error(pl->nodes[i], "failed");
			failed++;
		}
	return failed ? 1 : 0;
}

void vp_pipeline_stop(struct vp_pipeline *pl)
{
	begin_stop(pl);
}

void vp_pipeline_abort(struct vp_pipeline *pl)
{
	begin_abort(pl);
}

/* The steps above, for nodes run in another node's thread (fuse.c). */
int64_t vp_sched_enter(struct vpipe_node *n, enum vp_callback cb)
{
	return enter(n, cb);
}

void vp_sched_account(struct vpipe_node *n, int64_t t0)
{
	account(n, t0);
}

int vp_sched_create(struct vpipe_node *n)
{
	return create_module(n);
}

int vp_sched_start(struct vpipe_node *n)
{
	return start_module(n);
}

bool vp_sched_flush(struct vpipe_node *n)
{
	return flush_module(n);
}

void vp_sched_stop(struct vpipe_node *n)
{
	stop_module(n);
}

void vp_sched_detach(struct vpipe_node *n)
{
	detach_inputs(n);
}
