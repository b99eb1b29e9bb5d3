/* The two nodes the harness puts around the module under test: harness-in
 * pushes what the test queued (in order, then EOS after push_eos) and
 * takes the upstream events the module passes on; harness-out keeps every
 * frame and event the module outputs until the test pulls it. */
#include "futex.h"
#include "harness_internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ harness-in */

void vp_harness_item_free(struct in_item *it)
{
	free(it->data);
	for (unsigned i = 0; i < it->meta.num_tags; i++) {
		free(it->tag_names[i]);
		free(it->tag_values[i]);
	}
	free(it);
}

static struct in_item *in_pop(struct vpipe_harness *h, bool *closed)
{
	pthread_mutex_lock(&h->lock);
	struct in_item *it = h->in_head;
	if (it) {
		h->in_head = it->next;
		if (!h->in_head)
			h->in_tail = &h->in_head;
	}
	*closed = h->in_closed;
	pthread_mutex_unlock(&h->lock);
	return it;
}

static int in_push_item(struct vpipe_harness *h, struct in_item *it)
{
	struct vpipe_node *node = h->in_node;
	if (it->is_event) {
		vpipe_push_event(node,
				 it->event); /* fails only when stopping */
		return 0;
	}
	struct vpipe_frame *f = vpipe_frame_alloc(node, it->meta.size);
	if (!f)
		return 0; /* stopping */
	vpipe_frame_copy_meta(f, &it->meta);
	if (it->meta.size)
		memcpy(f->data, it->data, it->meta.size);
	vpipe_frame_copy_tags(f, &it->meta);
	vpipe_push(node, it->port, f);
	return 0;
}

/* Sleep until the test queues something, ends the input, an upstream
 * event arrives (the scheduler handles it between produce calls) or the
 * pipeline stops. As in the scheduler's own wait: the wake counter is read
 * before the checks, so a wake-up after them ends the futex wait at once. */
static void in_wait(struct vpipe_harness *h)
{
	struct vpipe_node *n = h->in_node;
	uint32_t seq = atomic_load(&n->wake_seq);
	atomic_exchange(&n->sleeping, 1); /* see vpipe_node_wake */
	pthread_mutex_lock(&h->lock);
	bool idle = !h->in_head && !h->in_closed;
	pthread_mutex_unlock(&h->lock);
	if (idle && !vpipe_node_stopping(n) &&
	    !atomic_load(&n->upstream_pending))
		vp_futex_wait(&n->wake_seq, seq);
	atomic_store(&n->sleeping, 0);
}

/* One queued item per call, or one wait for it; the stream ends after
 * push_eos, once the queue is empty. */
static int in_produce(void *state)
{
	struct vpipe_harness *h = state;
	bool closed;
	struct in_item *it = in_pop(h, &closed);
	if (!it && closed)
		return VPIPE_EOS;
	if (!it) {
		in_wait(h);
		return 0;
	}
	int rc = in_push_item(h, it);
	vp_harness_item_free(it);
	return rc;
}

static int in_upstream(void *state, unsigned event)
{
	struct vpipe_harness *h = state;
	pthread_mutex_lock(&h->lock);
	if (event < 32)
		h->upstream_seen[event]++;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return 1;
}

static const struct vpipe_port any_ports_out[HARNESS_PORTS + 1] = {
    {.name = "out0", .media = VPIPE_MEDIA_ANY},
    {.name = "out1", .media = VPIPE_MEDIA_ANY},
    {.name = "out2", .media = VPIPE_MEDIA_ANY},
    {.name = "out3", .media = VPIPE_MEDIA_ANY},
    {.name = "out4", .media = VPIPE_MEDIA_ANY},
    {.name = "out5", .media = VPIPE_MEDIA_ANY},
    {.name = "out6", .media = VPIPE_MEDIA_ANY},
    {.name = "out7", .media = VPIPE_MEDIA_ANY},
    {.name = NULL},
};

static const struct vpipe_param no_params[] = {VPIPE_P_END};

static const struct vpipe_module harness_in = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "vpipe-harness-in",
    .version = VPIPE_VERSION,
    .summary = "what a test pushes (vpipe/harness.h)",
    .outputs = any_ports_out,
    .params = no_params,
    .produce = in_produce,
    .upstream_event = in_upstream,
};

/* ----------------------------------------------------------- harness-out */

/* Frames and events (media EVENT: the ports take ANY) alike, in order. */
static int out_process(void *state, unsigned port, const struct vpipe_frame *f)
{
	struct vpipe_harness *h = state;
	struct out_item *it = malloc(sizeof(*it));
	if (!it)
		return -1;
	it->next = NULL;
	it->port = port;
	it->f = vpipe_frame_ref(f);
	pthread_mutex_lock(&h->lock);
	*h->out_tail = it;
	h->out_tail = &it->next;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int out_flush(void *state)
{
	struct vpipe_harness *h = state;
	pthread_mutex_lock(&h->lock);
	h->out_eos = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static const struct vpipe_port any_ports_in[HARNESS_PORTS + 1] = {
    {.name = "in0", .media = VPIPE_MEDIA_ANY},
    {.name = "in1", .media = VPIPE_MEDIA_ANY},
    {.name = "in2", .media = VPIPE_MEDIA_ANY},
    {.name = "in3", .media = VPIPE_MEDIA_ANY},
    {.name = "in4", .media = VPIPE_MEDIA_ANY},
    {.name = "in5", .media = VPIPE_MEDIA_ANY},
    {.name = "in6", .media = VPIPE_MEDIA_ANY},
    {.name = "in7", .media = VPIPE_MEDIA_ANY},
    {.name = NULL},
};

static const struct vpipe_module harness_out = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "vpipe-harness-out",
    .version = VPIPE_VERSION,
    .summary = "what a test pulls (vpipe/harness.h)",
    .inputs = any_ports_in,
    .params = no_params,
    .process = out_process,
    .flush = out_flush,
};

/* Functions, not exported data: a global in libvpipe would be registered
 * twice under ASan when the library is also loaded as a plug-in. */
const struct vpipe_module *vp_harness_in_module(void)
{
	return &harness_in;
}

const struct vpipe_module *vp_harness_out_module(void)
{
	return &harness_out;
}
