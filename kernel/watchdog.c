/* The systemd watchdog, fed while every chain makes progress (watchdog.h). */
#include "watchdog.h"
#include "notify.h"

#include <stdlib.h>

void vp_watchdog_init(struct vp_watchdog *wd, struct vp_pipeline *pl)
{
	*wd = (struct vp_watchdog){0};
	if (!vp_notify_enabled())
		return;
	wd->interval = vp_notify_watchdog_ns();
	if (!wd->interval)
		return;
	wd->nodes =
	    vp_xcalloc(pl->n_nodes ? pl->n_nodes : 1, sizeof(*wd->nodes));
	int64_t now = vpipe_now();
	for (unsigned i = 0; i < pl->n_nodes; i++)
		wd->nodes[i].progress_at = now;
	wd->next = now; /* the first ping at once */
	vpipe_info(NULL,
		   "systemd watchdog: %.1f s; fed while every node makes "
		   "progress",
		   (double)wd->interval / 1e9);
}

void vp_watchdog_free(struct vp_watchdog *wd)
{
	free(wd->nodes);
	wd->nodes = NULL;
}

int64_t vp_watchdog_due(const struct vp_watchdog *wd)
{
	return wd->interval ? wd->next : -1;
}

/* In one of the kernel's waits right now (see watchdog.h). */
static bool in_kernel_wait(struct vpipe_node *n)
{
	if (atomic_load_explicit(&n->sleeping, memory_order_relaxed) ||
	    atomic_load_explicit(&n->pool.owner_waiting, memory_order_relaxed))
		return true;
	for (unsigned p = 0; p < n->n_out; p++)
		for (unsigned l = 0; l < n->out[p].n_links; l++)
			if (atomic_load_explicit(
				&n->out[p].links[l]->producer_waiting,
				memory_order_relaxed))
				return true;
	return false;
}

/* Whether node i is stalled now; logs when that changes. */
static bool look_at(struct vp_watchdog *wd, struct vpipe_node *n,
		    struct vp_node_watch *w, int64_t now)
{
	uint64_t frames =
	    atomic_load(&n->frames_in) + atomic_load(&n->frames_out);
	/* main's stop bookkeeping: which callback, since when (sched.c) */
	int64_t since =
	    atomic_load_explicit(&n->callback, memory_order_acquire) !=
		    VP_CB_NONE
		? atomic_load_explicit(&n->callback_since, memory_order_relaxed)
		: 0;
	bool running = atomic_load(&n->state_) == VP_NODE_RUNNING;
	if (frames != w->frames || !since || !running || in_kernel_wait(n)) {
		w->frames = frames;
		w->progress_at = now;
	}
	int64_t from = since > w->progress_at ? since : w->progress_at;
	bool stalled = since && now - from > wd->interval;
	if (stalled && !w->stalled) {
		vpipe_warn(n,
			   "stalled: in a module callback for %.1f s, outside "
			   "the kernel's waits, with no frame moved: no longer "
			   "feeding the systemd watchdog",
			   (double)(now - since) / 1e9);
		vp_notify("STATUS=stalled: node %s in a module callback for "
			  "%.1f s",
			  n->name, (double)(now - since) / 1e9);
	} else if (!stalled && w->stalled) {
		vpipe_info(n, "making progress again: feeding the systemd "
			      "watchdog");
		vp_notify("STATUS=running: node %s making progress again",
			  n->name);
	}
	w->stalled = stalled;
	return stalled;
}

void vp_watchdog_tick(struct vp_watchdog *wd, struct vp_pipeline *pl,
		      int64_t now)
{
	if (!wd->interval || now < wd->next)
		return;
	unsigned stalled = 0;
	for (unsigned i = 0; i < pl->n_nodes; i++)
		stalled += look_at(wd, pl->nodes[i], &wd->nodes[i], now);
	wd->n_stalled = stalled;
	if (!stalled)
		vp_notify("WATCHDOG=1");
	/* Twice per interval, as sd_watchdog_enabled(3) advises. */
	wd->next = now + wd->interval / 2;
}
