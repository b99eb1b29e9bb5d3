/* Fused dispatch (see fuse.h): a node linked 1:1 to its upstream runs in
 * the upstream's thread, its process() called from the upstream's push, as
 * GStreamer's chain functions are. Its life (start, end of stream, failure,
 * stop) follows the same steps as in a thread of its own (sched.c), in the
 * same order as seen from its chain: it starts before frames come, ends on
 * EOS (flush, EOS downstream), and its module stops after its upstream's,
 * when the leader's thread ends. */
#include "fuse.h"

#include <string.h>

static _Thread_local int64_t nested_ns;

int64_t vp_fuse_nested_ns(void)
{
	return nested_ns;
}

static unsigned output_links(const struct vpipe_node *n)
{
	unsigned links = 0;
	for (unsigned p = 0; p < n->n_out; p++)
		links += n->out[p].n_links;
	return links;
}

const char *vp_fuse_reason(const struct vpipe_node *n)
{
	if (n->n_in == 0)
		return "a source";
	if (n->n_in > 1)
		return "several inputs";
	const struct vpipe_node *up = n->in[0]->from;
	if (output_links(up) > 1)
		return "its upstream feeds several links";
	if (n->thread_key == VP_THREAD_OWN)
		return "thread = own";
	if (n->queue_asked)
		return "queue-size or queue-policy asks for a queue";
	if (n->restart != VP_RESTART_NEVER)
		return "restart = on-error (a restart must not hold its "
		       "upstream)";
	if (n->mod->flags & VPIPE_MODULE_WAITS)
		return "its module may wait in process()";
	if (n->mod->timer)
		return "its module runs a timer";
	if (up->mod->flags & VPIPE_MODULE_LIVE)
		return "its upstream is a live capture source";
	return NULL;
}

void vp_fuse_plan(struct vp_pipeline *pl)
{
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		struct vpipe_node *n = pl->nodes[i];
		n->runner = n;
		n->fuse_next = NULL;
		for (unsigned k = 0; k < n->n_in; k++)
			n->in[k]->fused = false;
	}
	/* Topological order: an upstream node has its runner already. */
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		struct vpipe_node *n = pl->nodes[i];
		if (vp_fuse_reason(n))
			continue;
		struct vpipe_node *up = n->in[0]->from;
		up->fuse_next = n;
		n->runner = up->runner;
		n->in[0]->fused = true;
	}
}

unsigned vp_fuse_threads(const struct vp_pipeline *pl)
{
	unsigned t = 0;
	for (unsigned i = 0; i < pl->n_nodes; i++)
		t += pl->nodes[i]->runner == pl->nodes[i];
	return t;
}

void vp_fuse_print(const struct vp_pipeline *pl, FILE *out)
{
	fprintf(out,
		"threads (%u): a node linked 1:1 runs in its upstream's "
		"thread unless a reason keeps it apart\n",
		vp_fuse_threads(pl));
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		const struct vpipe_node *n = pl->nodes[i];
		if (n->runner != n)
			continue;
		fprintf(out, "  [%s]", n->name);
		for (const struct vpipe_node *m = n->fuse_next; m;
		     m = m->fuse_next)
			fprintf(out, " -> [%s]", m->name);
		if (n->n_in > 0)
			fprintf(out, "  (own thread: %s)", vp_fuse_reason(n));
		fputc('\n', out);
	}
}

/* Failed (restart = never, which every fused node has): its chain stops,
 * other chains go on, as in sched.c's run_node. */
static void fail(struct vpipe_node *n, const char *what)
{
	atomic_fetch_add(&n->errors, 1);
	if (what)
		vpipe_error(n, "%s", what);
	else
		vp_sched_stop(n);
	vpipe_error(n, "node failed (restart = never): its chain stops, "
		       "other chains go on");
	n->fuse_ended = n->fuse_stopped = true;
	vp_sched_detach(n);
	vpipe_push_event(n, VPIPE_EVENT_EOS);
	atomic_store(&n->state_, VP_NODE_FAILED);
}

/* Every input ended (or the pipeline aborts): flush, EOS downstream. */
static void end(struct vpipe_node *n)
{
	n->fuse_ended = true;
	n->fuse_flushed = vp_sched_flush(n);
	vpipe_push_event(n, VPIPE_EVENT_EOS);
}

/* Only the runner's thread writes a fused node's and link's counters:
 * a relaxed load and store is enough (no locked add on the hot path). */
static void add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c,
			      atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* process() as sched.c's enter()/account() run it, with one clock read
 * each side (this is the hot path of a hop): the node's busy time
 * excludes nodes it calls in turn, and so does its caller's. */
static int process(struct vpipe_node *n, struct vp_link *l,
		   const struct vpipe_frame *f)
{
	int64_t base = nested_ns, t0 = vpipe_now();
	atomic_store_explicit(&n->callback_since, t0, memory_order_relaxed);
	atomic_store_explicit(&n->callback, VP_CB_PROCESS,
			      memory_order_release);
	int rc = n->mod->process(n->state, l->to_port, f);
	atomic_store_explicit(&n->callback, VP_CB_NONE, memory_order_release);
	int64_t spent = vpipe_now() - t0;
	add(&n->busy_ns, (uint64_t)(spent - (nested_ns - base)));
	nested_ns = base + spent;
	return rc;
}

static int take_event(struct vpipe_node *n, struct vp_link *l,
		      const struct vpipe_frame *f)
{
	if (f->event == VPIPE_EVENT_EOS) {
		l->eos = true;
		int64_t base = nested_ns, t0 = vpipe_now();
		end(n);
		nested_ns = base + (vpipe_now() - t0);
		return 0;
	}
	int rc = 0;
	if (n->mod->inputs[l->to_port].media & VPIPE_MEDIA_EVENT)
		rc = process(n, l, f);
	vpipe_push_event(n, f->event);
	return rc;
}

void vp_fuse_deliver(struct vp_link *l, struct vpipe_frame *f)
{
	struct vpipe_node *n = l->to;
	bool event = f->media == VPIPE_MEDIA_EVENT;
	if (n->fuse_ended || atomic_load(&n->abort)) {
		/* after an abort, what would be queued is dropped */
		if (!event && !n->fuse_ended)
			atomic_fetch_add_explicit(&l->drops, 1,
						  memory_order_relaxed);
		vpipe_frame_unref(f);
		return;
	}
	int rc;
	if (event) {
		rc = take_event(n, l, f);
	} else {
		add(&l->frames, 1);
		add(&l->bytes, f->size);
		add(&n->frames_in, 1);
		rc = process(n, l, f);
	}
	vpipe_frame_unref(f);
	if (rc < 0 && !n->fuse_stopped)
		fail(n, NULL);
}

static void start_one(struct vpipe_node *n)
{
	if (!n->created && vp_sched_create(n)) {
		/* sched.c does not count a failed create as an error */
		vpipe_error(n, "create failed");
		n->fuse_ended = n->fuse_stopped = true;
		vp_sched_detach(n);
		vpipe_push_event(n, VPIPE_EVENT_EOS);
		atomic_store(&n->state_, VP_NODE_FAILED);
		return;
	}
	if (vp_sched_start(n))
		fail(n, "start failed");
}

/* Downstream first: a node is ready before anything is pushed to it. */
static void start_from(struct vpipe_node *n)
{
	if (!n)
		return;
	start_from(n->fuse_next);
	start_one(n);
}

void vp_fuse_start_group(struct vpipe_node *leader)
{
	start_from(leader->fuse_next);
}

/* The rest of a fused node's life, once: by its runner's thread when the
 * leader ended, or by vpipe's main thread for the nodes after one that
 * does not return (vp_fuse_abandon). */
static void finish(struct vpipe_node *n)
{
	if (atomic_exchange(&n->fuse_finished, true))
		return;
	if (!n->fuse_ended)
		end(n);
	if (!n->fuse_stopped) {
		n->fuse_stopped = true;
		vp_sched_stop(n);
		vp_sched_detach(n);
		if (n->fuse_flushed) {
			atomic_store(&n->state_, VP_NODE_FINISHED);
		} else {
			atomic_fetch_add(&n->errors, 1);
			vpipe_error(n, "could not deliver everything at end of "
				       "stream (see above)");
			atomic_store(&n->state_, VP_NODE_FAILED);
		}
	}
	atomic_store(&n->exited, true); /* its life in the thread ended */
}

void vp_fuse_finish_group(struct vpipe_node *leader)
{
	for (struct vpipe_node *n = leader->fuse_next; n; n = n->fuse_next)
		finish(n);
}

void vp_fuse_abandon(struct vpipe_node *busy)
{
	for (struct vpipe_node *n = busy->fuse_next; n; n = n->fuse_next)
		finish(n);
}

bool vp_fuse_upstream_pending(struct vpipe_node *leader)
{
	for (struct vpipe_node *n = leader; n; n = n->fuse_next)
		if (atomic_load(&n->upstream_pending))
			return true;
	return false;
}

struct vpipe_node *vp_fuse_busy(struct vpipe_node *leader)
{
	struct vpipe_node *busy = leader;
	for (struct vpipe_node *n = leader->fuse_next; n; n = n->fuse_next)
		if (atomic_load_explicit(&n->callback, memory_order_acquire) !=
		    VP_CB_NONE)
			busy = n;
	return busy;
}
