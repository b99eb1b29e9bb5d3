/* The test harness for module authors (vpipe/harness.h): a three-node
 * pipeline, harness-in -> MODULE -> harness-out (harness_nodes.c), built
 * from a generated graph and run by the scheduler in a thread of its own,
 * so the module under test meets the same kernel as in `vpipe run`. */
#include "harness_internal.h"

#include "config.h"
#include "graph.h"
#include "loader.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* -------------------------------------------------------------- the API */

static unsigned count_ports(const struct vpipe_port *p)
{
	unsigned n = 0;
	while (p && p[n].name)
		n++;
	return n;
}

struct vpipe_harness *vpipe_harness_new(const char *name,
					const struct vpipe_module *desc)
{
	char err[4096];
	if (desc && (!name || !desc->name || strcmp(name, desc->name))) {
		vpipe_error(NULL,
			    "harness: the descriptor is named '%s', not "
			    "'%s'",
			    desc->name ? desc->name : "(none)",
			    name ? name : "(none)");
		return NULL;
	}
	if (!vp_module_register(vp_harness_in_module(), err, sizeof(err)) ||
	    !vp_module_register(vp_harness_out_module(), err, sizeof(err)) ||
	    (desc && !vp_module_register(desc, err, sizeof(err)))) {
		vpipe_error(NULL, "harness: %s", err);
		return NULL;
	}
	if (!desc) {
		struct vp_module_path mp;
		vp_module_path_init(&mp, NULL);
		struct vp_module *m =
		    vp_module_load(&mp, name, err, sizeof(err));
		vp_module_path_free(&mp);
		if (!m) {
			vpipe_error(NULL, "harness: %s", err);
			return NULL;
		}
		desc = m->desc;
	}
	if (count_ports(desc->inputs) > HARNESS_PORTS ||
	    count_ports(desc->outputs) > HARNESS_PORTS) {
		vpipe_error(NULL,
			    "harness: module %s has more than %d input or "
			    "output ports",
			    name, HARNESS_PORTS);
		return NULL;
	}
	struct vpipe_harness *h = vp_xcalloc(1, sizeof(*h));
	h->name = vp_strdup(name);
	h->desc = desc;
	for (unsigned p = 0; p < HARNESS_PORTS; p++)
		h->in_media[p] = VPIPE_MEDIA_ANY;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	h->in_tail = &h->in_head;
	h->out_tail = &h->out_head;
	return h;
}

int vpipe_harness_set(struct vpipe_harness *h, const char *key,
		      const char *value)
{
	if (h->started || !key || !value)
		return -1;
	size_t n = strlen(h->name) + strlen(key) + strlen(value) + 3;
	char *s = vp_xcalloc(1, n);
	snprintf(s, n, "%s.%s=%s", h->name, key, value);
	h->sets = realloc(h->sets, (h->n_sets + 1) * sizeof(*h->sets));
	if (!h->sets)
		abort();
	h->sets[h->n_sets++] = s;
	return 0;
}

int vpipe_harness_set_input_format(struct vpipe_harness *h, unsigned port,
				   uint32_t media,
				   const struct vpipe_format *fmt)
{
	if (h->started || port >= HARNESS_PORTS)
		return -1;
	h->in_media[port] = media;
	h->in_has_fmt[port] = fmt != NULL;
	if (fmt)
		h->in_fmt[port] = *fmt;
	return 0;
}

void vpipe_harness_use_clock(struct vpipe_harness *h, int64_t start_ns)
{
	h->manual_clock = true;
	vp_clock_set_manual(true, start_ns);
}

void vpipe_harness_advance(struct vpipe_harness *h, int64_t ns)
{
	vp_clock_advance(ns);
	for (unsigned i = 0; h->pl && i < h->pl->n_nodes; i++)
		vpipe_node_wake(h->pl->nodes[i]);
}

/* [harness-in] -> [NAME] -> [harness-out], each side only if the module
 * has ports there. NULL when out of memory. */
static char *graph_text(const char *name, const struct vpipe_module *d)
{
	char *t = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&t, &len);
	if (!m)
		return NULL;
	unsigned nin = count_ports(d->inputs), nout = count_ports(d->outputs);
	if (nin)
		fprintf(m, "[" HARNESS_IN_NODE "]\nmodule = %s\n\n",
			vp_harness_in_module()->name);
	fprintf(m, "[%s]\nmodule = %s\n", name, name);
	for (unsigned i = 0; i < nin; i++)
		fprintf(m, "%s" HARNESS_IN_NODE ".out%u",
			i ? ", " : "input = ", i);
	fprintf(m, "\n\n");
	if (nout) {
		fprintf(m, "[" HARNESS_OUT_NODE "]\nmodule = %s\n",
			vp_harness_out_module()->name);
		for (unsigned i = 0; i < nout; i++)
			fprintf(m, "%s%s.%s", i ? ", " : "input = ", name,
				d->outputs[i].name);
		fprintf(m, "\n");
	}
	if (fclose(m) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

static void *run_pipeline(void *arg)
{
	struct vpipe_harness *h = arg;
	int rc = vp_pipeline_run(h->pl, 0);
	pthread_mutex_lock(&h->lock);
	h->result = rc;
	h->finished = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* The harness's own nodes have no create(): their state is the harness. */
static void adopt(struct vpipe_harness *h, struct vpipe_node *n)
{
	if (!n)
		return;
	vp_node_create(n);
	n->state = h;
}

static int build(struct vpipe_harness *h)
{
	char *text = graph_text(h->name, h->desc);
	if (!text)
		return -1;
	char file[300];
	snprintf(file, sizeof(file), "harness(%s)", h->name);
	h->cfg = vp_config_load_string(file, text);
	free(text);
	if (!h->cfg)
		return -1;
	for (unsigned i = 0; i < h->n_sets; i++)
		if (vp_config_set(h->cfg, h->sets[i]))
			return -1;
	h->pl = vp_graph_build(h->cfg, false);
	if (!h->pl)
		return -1;
	h->in_node = vp_graph_find(h->pl, HARNESS_IN_NODE);
	h->out_node = vp_graph_find(h->pl, HARNESS_OUT_NODE);
	h->dut = vp_graph_find(h->pl, h->name);
	adopt(h, h->in_node);
	adopt(h, h->out_node);
	for (unsigned p = 0; h->in_node && p < HARNESS_PORTS; p++) {
		h->in_node->out[p].media = h->in_media[p];
		if (h->in_has_fmt[p])
			vpipe_node_set_output_format(h->in_node, p,
						     &h->in_fmt[p]);
	}
	if (vp_node_create(h->dut)) {
		vpipe_error(h->dut, "harness: create() refused the "
				    "configuration (see the message above)");
		return -1;
	}
	return 0;
}

int vpipe_harness_start(struct vpipe_harness *h)
{
	if (h->started || h->pl)
		return -1;
	if (build(h))
		return -1;
	if (pthread_create(&h->thread, NULL, run_pipeline, h)) {
		vpipe_error(h->dut, "harness: cannot start a thread");
		return -1;
	}
	h->started = true;
	return 0;
}

void vpipe_harness_frame_init(struct vpipe_frame *f, uint32_t media,
			      const void *data, size_t size, int64_t pts)
{
	memset(f, 0, sizeof(*f));
	f->media = media;
	f->data = (uint8_t *)data;
	f->size = size;
	f->capacity = size;
	f->pts = pts;
	f->dts = f->duration = f->wallclock = VPIPE_TIME_NONE;
}

static int enqueue(struct vpipe_harness *h, struct in_item *it)
{
	pthread_mutex_lock(&h->lock);
	bool closed = h->in_closed;
	if (!closed) {
		*h->in_tail = it;
		h->in_tail = &it->next;
	}
	pthread_mutex_unlock(&h->lock);
	if (closed) {
		vp_harness_item_free(it);
		return -1;
	}
	if (h->in_node)
		vpipe_node_wake(h->in_node);
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int vpipe_harness_push(struct vpipe_harness *h, unsigned port,
		       const struct vpipe_frame *f)
{
	if (port >= count_ports(h->desc->inputs))
		return -1;
	struct in_item *it = calloc(1, sizeof(*it));
	if (!it)
		return -1;
	it->port = port;
	it->meta = *f;
	it->meta.priv = NULL;
	it->meta.num_tags = 0;
	it->data = malloc(f->size ? f->size : 1);
	bool ok = it->data != NULL;
	if (ok && f->size)
		memcpy(it->data, f->data, f->size);
	it->meta.data = it->data;
	for (unsigned i = 0; ok && i < f->num_tags && i < VPIPE_MAX_TAGS; i++) {
		it->tag_names[i] = dup_or_null(f->tags[i].name);
		it->tag_values[i] = dup_or_null(f->tags[i].value);
		it->meta.num_tags = i + 1;
		it->meta.tags[i].name = it->tag_names[i];
		it->meta.tags[i].value = it->tag_values[i];
		ok = it->tag_names[i] && it->tag_values[i];
	}
	if (!ok) {
		vp_harness_item_free(it);
		return -1;
	}
	return enqueue(h, it);
}

int vpipe_harness_push_event(struct vpipe_harness *h, unsigned event)
{
	struct in_item *it = calloc(1, sizeof(*it));
	if (!it)
		return -1;
	it->is_event = true;
	it->event = event;
	return enqueue(h, it);
}

int vpipe_harness_push_eos(struct vpipe_harness *h)
{
	pthread_mutex_lock(&h->lock);
	h->in_closed = true;
	pthread_mutex_unlock(&h->lock);
	if (h->in_node)
		vpipe_node_wake(h->in_node);
	return 0;
}

/* timeout_ns from now on the clock h->cond waits on (real time, not the
 * harness clock). */
static struct timespec deadline(int64_t timeout_ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t end = (int64_t)ts.tv_sec * VPIPE_S + ts.tv_nsec +
		      (timeout_ns > 0 ? timeout_ns : 0);
	ts.tv_sec = (time_t)(end / VPIPE_S);
	ts.tv_nsec = (long)(end % VPIPE_S);
	return ts;
}

/* Wait on h->cond until `done` says so or timeout_ns (real time) passed;
 * with h->lock held. */
static bool wait_until(struct vpipe_harness *h,
		       bool (*done)(struct vpipe_harness *h),
		       int64_t timeout_ns)
{
	struct timespec ts = deadline(timeout_ns);
	while (!done(h))
		if (pthread_cond_timedwait(&h->cond, &h->lock, &ts) ==
		    ETIMEDOUT)
			return done(h);
	return true;
}

static bool outputs_ended(struct vpipe_harness *h)
{
	return h->out_eos || h->finished || !h->started;
}

static bool output_ready(struct vpipe_harness *h)
{
	return h->out_head || outputs_ended(h);
}

struct vpipe_frame *vpipe_harness_pull(struct vpipe_harness *h, unsigned *port,
				       int64_t timeout_ns)
{
	pthread_mutex_lock(&h->lock);
	wait_until(h, output_ready, timeout_ns);
	struct out_item *it = h->out_head;
	if (it) {
		h->out_head = it->next;
		if (!h->out_head)
			h->out_tail = &h->out_head;
	}
	pthread_mutex_unlock(&h->lock);
	if (!it)
		return NULL;
	struct vpipe_frame *f = it->f;
	if (port)
		*port = it->port;
	free(it);
	return f;
}

bool vpipe_harness_eos(struct vpipe_harness *h)
{
	pthread_mutex_lock(&h->lock);
	bool eos = !h->out_head &&
		   (h->out_node ? h->out_eos || h->finished : h->finished);
	pthread_mutex_unlock(&h->lock);
	return eos;
}

void vpipe_harness_send_upstream(struct vpipe_harness *h, unsigned event)
{
	if (!h->dut || event == 0 || event > 31)
		return;
	atomic_fetch_or(&h->dut->upstream_pending, 1u << event);
	vpipe_node_wake(h->dut);
	/* The node takes pending events before its next frame: once the bit
	 * is gone, what the test pushes next is processed after the event.
	 * The node clears it within one process() call; the bound is for a
	 * node that never runs again. */
	struct timespec end = deadline(HARNESS_STOP_TIMEOUT), now;
	while (atomic_load(&h->dut->upstream_pending) & (1u << event)) {
		pthread_mutex_lock(&h->lock);
		bool done = h->finished;
		pthread_mutex_unlock(&h->lock);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (done || now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		sched_yield();
	}
}

unsigned vpipe_harness_upstream_seen(struct vpipe_harness *h, unsigned event,
				     unsigned at_least, int64_t timeout_ns)
{
	if (event >= 32)
		return 0;
	pthread_mutex_lock(&h->lock);
	struct timespec end = deadline(timeout_ns);
	while (h->upstream_seen[event] < at_least && !h->finished &&
	       pthread_cond_timedwait(&h->cond, &h->lock, &end) != ETIMEDOUT)
		;
	unsigned n = h->upstream_seen[event];
	pthread_mutex_unlock(&h->lock);
	return n;
}

int64_t vpipe_harness_counter(struct vpipe_harness *h, const char *name)
{
	if (!h->dut)
		return 0;
	unsigned n =
	    atomic_load_explicit(&h->dut->n_counters, memory_order_acquire);
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(h->dut->counters[i].name, name))
			return atomic_load(&h->dut->counters[i].value);
	return 0;
}

static bool finished(struct vpipe_harness *h)
{
	return h->finished;
}

int vpipe_harness_stop(struct vpipe_harness *h, int64_t timeout_ns)
{
	if (!h->started)
		return 0;
	if (!h->joined) {
		pthread_mutex_lock(&h->lock);
		h->in_closed = true;
		pthread_mutex_unlock(&h->lock);
		vp_pipeline_stop(h->pl);
		pthread_mutex_lock(&h->lock);
		bool done = wait_until(h, finished, timeout_ns);
		pthread_mutex_unlock(&h->lock);
		if (!done) {
			vpipe_warn(h->dut,
				   "harness: still running %.1f s "
				   "after stop: stopping at once",
				   (double)timeout_ns / 1e9);
			vp_pipeline_abort(h->pl);
		}
		pthread_join(h->thread, NULL);
		h->joined = true;
	}
	return h->result;
}

int vpipe_harness_free(struct vpipe_harness *h)
{
	if (!h)
		return 0;
	int rc = vpipe_harness_stop(h, HARNESS_STOP_TIMEOUT);
	/* What the test did not take goes back to the module's pool before
	 * the pools go. */
	while (h->out_head) {
		struct out_item *it = h->out_head;
		h->out_head = it->next;
		vpipe_frame_unref(it->f);
		free(it);
	}
	while (h->in_head) {
		struct in_item *it = h->in_head;
		h->in_head = it->next;
		vp_harness_item_free(it);
	}
	vp_graph_free(h->pl);
	vp_config_free(h->cfg);
	if (h->manual_clock)
		vp_clock_set_manual(false, 0);
	for (unsigned i = 0; i < h->n_sets; i++)
		free(h->sets[i]);
	free(h->sets);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h->name);
	free(h);
	return rc;
}
