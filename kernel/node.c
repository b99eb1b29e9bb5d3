/* What modules call: pushing frames through links, waiting, waking,
 * counters. The push/pop path takes no lock and allocates nothing. */
#include "fuse.h"
#include "futex.h"
#include "graph.h"
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;

const char *vpipe_node_name(const struct vpipe_node *node)
{
	return node->name;
}

int vp_node_create(struct vpipe_node *n)
{
	if (n->wake_fd < 0)
		n->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->state = NULL;
	int rc = n->mod->create ? n->mod->create(n, n->config, &n->state) : 0;
	n->created = rc == 0;
	return rc;
}

void vp_node_destroy(struct vpipe_node *n)
{
	if (n->created && n->mod->destroy)
		n->mod->destroy(n->state);
	n->created = false;
	n->state = NULL;
}

void vpipe_node_set_output_media(struct vpipe_node *node, unsigned port,
				 uint32_t media)
{
	if (port < node->n_out)
		node->out[port].media = media;
}

void vpipe_node_set_pool(struct vpipe_node *node, unsigned count,
			 size_t frame_bytes)
{
	node->pool_frame_bytes = frame_bytes;
	if (node->pool_user || count == 0)
		return;
	node->pool_count = count;
	node->pool.limit = count;
}

void vpipe_node_add_memory(struct vpipe_node *node, size_t bytes)
{
	node->extra_memory += bytes;
}

void vpipe_node_set_drain_timeout(struct vpipe_node *node, int64_t ns)
{
	atomic_store_explicit(&node->drain_timeout, ns > 0 ? ns : 0,
			      memory_order_relaxed);
}

void vpipe_node_set_timer(struct vpipe_node *node, int64_t interval_ns)
{
	node->timer_interval = interval_ns > 0 ? interval_ns : 0;
	node->next_timer = vpipe_now() + node->timer_interval;
}

bool vpipe_node_stopping(struct vpipe_node *node)
{
	if (atomic_load_explicit(&node->abort, memory_order_relaxed))
		return true;
	/* Sources stop producing at once; the rest drain what is queued. */
	return node->n_in == 0 &&
	       atomic_load_explicit(&node->stop, memory_order_relaxed);
}

/* The node's own thread: on its futex if it waits for input, else a token
 * on its eventfd, which stays until its next kernel wait (so a wake-up
 * between a module's "check" and its "wait" is not lost). */
static void wake_node_thread(struct vpipe_node *node)
{
	atomic_fetch_add(&node->wake_seq, 1);
	if (atomic_load(&node->sleeping) == 1) {
		vp_futex_wake_all(&node->wake_seq);
	} else {
		uint64_t one = 1;
		ssize_t w = write(node->wake_fd, &one, sizeof(one));
		(void)w; /* EAGAIN: a wake-up is already pending */
	}
}

static void wake_workers(struct vpipe_node *node)
{
	for (unsigned i = 0; i < VP_MAX_WORKERS; i++) {
		int fd = atomic_load(&node->worker_wake_fd[i]);
		if (fd >= 0) {
			uint64_t one = 1;
			ssize_t w = write(fd, &one, sizeof(one));
			(void)w;
		}
	}
}

void vpipe_node_wake(struct vpipe_node *node)
{
	wake_node_thread(node);
	wake_workers(node);
}

void vp_node_quit_workers(struct vpipe_node *n)
{
	atomic_store(&n->workers_quit, 1);
	wake_workers(n);
}

/* Producer side, after a push: wake the consumer only if it sleeps. */
void vp_node_wake_consumer(struct vpipe_node *n)
{
	/* Read-modify-write against the consumer's exchange in its wait:
	 * either we see it sleeping or it sees what we pushed. */
	if (atomic_fetch_add(&n->sleeping, 0))
		wake_node_thread(n);
}

/* A node thread's consumers to wake (a few distinct ones per callback;
 * more are woken at once). Workers and other threads wake at each push. */
#define DEFERRED_WAKES 8
static _Thread_local bool defer_wakes;
static _Thread_local unsigned n_deferred;
static _Thread_local struct vpipe_node *deferred[DEFERRED_WAKES];

void vp_node_defer_wakes(void)
{
	defer_wakes = true;
}

void vp_node_flush_wakes(void)
{
	for (unsigned i = 0; i < n_deferred; i++)
		vp_node_wake_consumer(deferred[i]);
	n_deferred = 0;
}

static void wake_consumer_soon(struct vpipe_node *n)
{
	if (!defer_wakes) {
		vp_node_wake_consumer(n);
		return;
	}
	for (unsigned i = 0; i < n_deferred; i++)
		if (deferred[i] == n)
			return;
	if (n_deferred == DEFERRED_WAKES)
		vp_node_flush_wakes();
	deferred[n_deferred++] = n;
}

/* Consumer side, after a pop: let a blocked producer go on, once half the
 * ring is free (not at every slot: a producer that waits for a full ring
 * then fills half of it per wake-up, instead of one slot per wake-up). */
void vp_link_release_slot(struct vp_link *l)
{
	if (atomic_fetch_add(&l->producer_waiting, 0) &&
	    vp_ring_count(&l->ring) <= vp_ring_capacity(&l->ring) / 2) {
		atomic_fetch_add(&l->space_seq, 1);
		vp_futex_wake_all(&l->space_seq);
	}
}

struct vpipe_frame *vp_link_pop(struct vp_link *l)
{
	struct vpipe_frame *f = l->policy == VP_DROP_OLD
				    ? vp_ring_pop_shared(&l->ring)
				    : vp_ring_pop(&l->ring);
	if (f)
		vp_link_release_slot(l);
	return f;
}

bool vp_node_inputs_ready(struct vpipe_node *n)
{
	for (unsigned i = 0; i < n->n_in; i++)
		if (!n->in[i]->eos && !vp_ring_empty(&n->in[i]->ring))
			return true;
	return false;
}

bool vp_node_all_outputs_dead(struct vpipe_node *n)
{
	unsigned links = 0, dead = 0;
	for (unsigned p = 0; p < n->n_out; p++)
		for (unsigned i = 0; i < n->out[p].n_links; i++) {
			links++;
			dead += atomic_load(&n->out[p].links[i]->dead);
		}
	return links > 0 && links == dead;
}

static void note_depth(struct vp_link *l)
{
	size_t depth = vp_ring_count(&l->ring);
	size_t hw = atomic_load_explicit(&l->high_water, memory_order_relaxed);
	if (depth > hw)
		atomic_store_explicit(&l->high_water, depth,
				      memory_order_relaxed);
}

/* Wait until the ring has room, the consumer is gone, or we abort. */
static bool wait_for_space(struct vpipe_node *node, struct vp_link *l,
			   struct vpipe_frame *f)
{
	for (;;) {
		if (vp_ring_push(&l->ring, f))
			return true;
		if (atomic_load(&l->dead) || atomic_load(&node->abort))
			return false;
		vp_node_flush_wakes(); /* the consumer must run to make room */
		uint32_t seq = atomic_load(&l->space_seq);
		atomic_exchange(&l->producer_waiting, 1);
		if (vp_ring_full(&l->ring) && !atomic_load(&l->dead) &&
		    !atomic_load(&node->abort))
			vp_futex_wait(&l->space_seq, seq);
		atomic_store(&l->producer_waiting, 0);
	}
}

static void drop(struct vp_link *l, struct vpipe_frame *f)
{
	atomic_fetch_add_explicit(&l->drops, 1, memory_order_relaxed);
	vpipe_frame_unref(f);
}

/* Takes one reference to f. */
static void push_link(struct vpipe_node *node, struct vp_link *l,
		      struct vpipe_frame *f)
{
	if (atomic_load_explicit(&l->dead, memory_order_relaxed)) {
		drop(l, f);
		return;
	}
	if (l->fused) {
		vp_fuse_deliver(l, f);
		return;
	}
	bool queued = vp_ring_push(&l->ring, f);
	if (!queued) {
		/* Events always wait: losing an EOS would hang the chain. */
		int policy =
		    f->media == VPIPE_MEDIA_EVENT ? VP_BLOCK : l->policy;
		if (policy == VP_BLOCK) {
			queued = wait_for_space(node, l, f);
		} else if (policy == VP_DROP_OLD) {
			struct vpipe_frame *old;
			while (!(queued = vp_ring_push(&l->ring, f)) &&
			       (old = vp_ring_steal(&l->ring)))
				drop(l, old);
		}
		if (!queued) {
			drop(l, f);
			return;
		}
	}
	if (f->media != VPIPE_MEDIA_EVENT) {
		atomic_fetch_add_explicit(&l->frames, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&l->bytes, f->size,
					  memory_order_relaxed);
	}
	note_depth(l);
	if (f->media == VPIPE_MEDIA_EVENT)
		vp_node_wake_consumer(
		    l->to); /* EOS may precede a long stop() */
	else
		wake_consumer_soon(l->to);
}

int vpipe_push(struct vpipe_node *node, unsigned port, struct vpipe_frame *f)
{
	if (!f)
		return -1;
	if (port >= node->n_out || atomic_load(&node->abort)) {
		vpipe_frame_unref(f);
		return -1;
	}
	struct vp_outport *op = &node->out[port];
	/* A frame passed on unchanged (identity, fan-out) is shared with
	 * other readers: only its first push may stamp it. */
	if (!f->priv->pushed) {
		f->seq = op->seq++;
		if (node->discont_next && f->media != VPIPE_MEDIA_EVENT) {
			f->flags |= VPIPE_FLAG_DISCONTINUITY;
			node->discont_next = false;
		}
		f->priv->pushed = true;
	}
	if (f->media != VPIPE_MEDIA_EVENT)
		atomic_fetch_add_explicit(&node->frames_out, 1,
					  memory_order_relaxed);
	for (unsigned i = 0; i < op->n_links; i++)
		push_link(node, op->links[i], vpipe_frame_ref(f));
	vpipe_frame_unref(f);
	return 0;
}

int vpipe_push_event(struct vpipe_node *node, unsigned event)
{
	for (unsigned p = 0; p < node->n_out; p++) {
		struct vpipe_frame *f = vp_frame_alloc_event(node, event);
		if (!f)
			return -1;
		if (vpipe_push(node, p, f))
			return -1;
	}
	return 0;
}

void vpipe_node_send_upstream(struct vpipe_node *node, unsigned event)
{
	if (event == 0 || event > 31)
		return;
	for (unsigned i = 0; i < node->n_in; i++) {
		struct vpipe_node *up = node->in[i]->from;
		atomic_fetch_or(&up->upstream_pending, 1u << event);
		vpipe_node_wake(up);
		if (up->runner && up->runner != up)
			vpipe_node_wake(up->runner); /* its thread (fuse.c) */
	}
}

/* The worker thread the caller is, if any: its node and its wake fd. */
static _Thread_local struct vpipe_node *worker_node;
static _Thread_local int worker_fd = -1;

static bool in_worker(const struct vpipe_node *node)
{
	return worker_node == node;
}

/* When a kernel wait must return -1 for the calling thread. */
static bool wait_ends(struct vpipe_node *node)
{
	if (in_worker(node))
		return atomic_load(&node->abort) ||
		       atomic_load(&node->workers_quit);
	return vpipe_node_stopping(node);
}

/* poll() on fd (or only the wake fd when fd < 0) with the calling thread's
 * wake fd: the node's (marked as sleeping on it) or the worker's. Returns
 * revents of fd, 0, or -1 if the wait must end. */
static int wait_on_wake_fd(struct vpipe_node *node, int fd, short events,
			   int64_t timeout_ns)
{
	bool worker = in_worker(node);
	int wfd = worker ? worker_fd : node->wake_fd;
	vp_node_flush_wakes(); /* nobody waits on what this thread pushed */
	struct pollfd p[2] = {{.fd = wfd, .events = POLLIN},
			      {.fd = fd, .events = events}};
	if (!worker)
		atomic_exchange(&node->sleeping, 2);
	int rc = 0;
	if (!wait_ends(node)) {
		struct timespec ts, *tp = NULL;
		if (timeout_ns >= 0) {
			ts.tv_sec = timeout_ns / 1000000000LL;
			ts.tv_nsec = timeout_ns % 1000000000LL;
			tp = &ts;
		}
		rc = ppoll(p, fd >= 0 ? 2 : 1, tp, NULL);
	}
	if (!worker)
		atomic_store(&node->sleeping, 0);
	if (p[0].revents & POLLIN) {
		uint64_t v;
		ssize_t r = read(wfd, &v, sizeof(v));
		(void)r;
	}
	if (wait_ends(node))
		return -1;
	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	return fd >= 0 ? p[1].revents : 0;
}

int vpipe_node_wait_fd(struct vpipe_node *node, int fd, short events,
		       int64_t timeout_ns)
{
	return wait_on_wake_fd(node, fd, events, timeout_ns);
}

int vpipe_node_sleep_until(struct vpipe_node *node, int64_t t)
{
	for (;;) {
		int64_t now = vpipe_now();
		if (wait_ends(node))
			return -1;
		if (now >= t)
			return 0;
		if (wait_on_wake_fd(node, -1, 0, t - now) < 0)
			return -1;
	}
}

struct worker_start {
	void (*fn)(void *);
	void *arg;
	struct vpipe_node *node;
	int wake_fd;
	char name[16];
};

static void *worker_main(void *p)
{
	struct worker_start ws = *(struct worker_start *)p;
	free(p);
	pthread_setname_np(pthread_self(), ws.name);
	worker_node = ws.node;
	worker_fd = ws.wake_fd;
	ws.fn(ws.arg);
	return NULL;
}

/* The slot's eventfd, made once and kept until the graph is freed. */
static int worker_wake_fd(struct vpipe_node *node, unsigned slot)
{
	int fd = atomic_load(&node->worker_wake_fd[slot]);
	if (fd < 0) {
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd >= 0)
			atomic_store(&node->worker_wake_fd[slot], fd);
	}
	return fd;
}

int vpipe_node_spawn_worker(struct vpipe_node *node, void (*fn)(void *arg),
			    void *arg)
{
	if (node->n_workers >= VP_MAX_WORKERS) {
		vpipe_error(node, "too many worker threads (at most %d)",
			    VP_MAX_WORKERS);
		return -1;
	}
	struct worker_start *ws = malloc(sizeof(*ws));
	int wfd = worker_wake_fd(node, node->n_workers);
	if (!ws || wfd < 0) {
		free(ws);
		vpipe_error(node, "cannot start a worker thread: %s",
			    strerror(errno));
		return -1;
	}
	ws->fn = fn;
	ws->arg = arg;
	ws->node = node;
	ws->wake_fd = wfd;
	snprintf(ws->name, sizeof(ws->name), "%.13s+w", node->name);
	int rc = pthread_create(&node->workers[node->n_workers], NULL,
				worker_main, ws);
	if (rc) {
		free(ws);
		vpipe_error(node, "cannot start a worker thread: %s",
			    strerror(rc));
		return -1;
	}
	node->n_workers++;
	return 0;
}

static struct vp_counter *counter(struct vpipe_node *node, const char *name,
				  bool gauge)
{
	unsigned n =
	    atomic_load_explicit(&node->n_counters, memory_order_acquire);
	if (!name)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		if (node->counters[i].name == name ||
		    !strcmp(node->counters[i].name, name))
			return node->counters[i].refused ? NULL
							 : &node->counters[i];
	pthread_mutex_lock(&counter_lock);
	n = atomic_load(&node->n_counters);
	struct vp_counter *c = NULL;
	for (unsigned i = 0; i < n && !c; i++)
		if (!strcmp(node->counters[i].name, name))
			c = &node->counters[i];
	char why[160];
	if (!c && n < VP_MAX_COUNTERS) {
		c = &node->counters[n];
		c->name = name;
		c->gauge = gauge;
		/* A bad name is refused once, loudly, and kept (refused) so
		 * that later calls cost a lookup, not another log line. */
		c->refused =
		    vp_counter_name_check(name, gauge, why, sizeof(why)) != 0;
		atomic_store_explicit(&node->n_counters, n + 1,
				      memory_order_release);
		if (c->refused)
			vpipe_error(node,
				    "%s name '%s' refused: %s (see "
				    "docs/writing-modules.md, counters)",
				    gauge ? "gauge" : "counter", name, why);
	}
	pthread_mutex_unlock(&counter_lock);
	return c && !c->refused ? c : NULL;
}

void vpipe_node_count(struct vpipe_node *node, const char *name, int64_t delta)
{
	struct vp_counter *c = counter(node, name, false);
	if (c)
		atomic_fetch_add_explicit(&c->value, delta,
					  memory_order_relaxed);
}

void vpipe_node_gauge(struct vpipe_node *node, const char *name, int64_t value)
{
	struct vp_counter *c = counter(node, name, true);
	if (c)
		atomic_store_explicit(&c->value, value, memory_order_relaxed);
}
