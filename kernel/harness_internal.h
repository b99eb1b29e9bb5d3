/* Kernel internals of the module test harness (harness.c, the API;
 * harness_nodes.c, the two nodes around the module under test). */
#ifndef VPIPE_KERNEL_HARNESS_INTERNAL_H
#define VPIPE_KERNEL_HARNESS_INTERNAL_H

#include <vpipe/harness.h>

#include "internal.h"

#define HARNESS_PORTS	     8 /* input and output ports of the module, at most */
#define HARNESS_IN_NODE	     "harness-in"
#define HARNESS_OUT_NODE     "harness-out"
#define HARNESS_STOP_TIMEOUT (5 * VPIPE_S)

/* A frame or event the test queued: its own copy of payload and tags. */
struct in_item {
	struct in_item *next;
	unsigned port;
	bool is_event;
	unsigned event;
	struct vpipe_frame meta;
	uint8_t *data;
	char *tag_names[VPIPE_MAX_TAGS], *tag_values[VPIPE_MAX_TAGS];
};

struct out_item {
	struct out_item *next;
	unsigned port;
	struct vpipe_frame *f;
};

struct vpipe_harness {
	char *name;
	const struct vpipe_module *desc;
	char **sets; /* "name.key=value", as `vpipe run --set` takes them */
	unsigned n_sets;
	uint32_t in_media[HARNESS_PORTS];
	bool in_has_fmt[HARNESS_PORTS];
	struct vpipe_format in_fmt[HARNESS_PORTS];
	bool manual_clock;

	struct vp_config *cfg;
	struct vp_pipeline *pl;
	struct vpipe_node *in_node, *dut, *out_node;
	pthread_t thread;
	bool started, joined;
	int result;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* output queued, eos, finished */
	struct in_item *in_head, **in_tail;
	bool in_closed; /* push_eos or stop: nothing more goes in */
	struct out_item *out_head, **out_tail;
	bool out_eos, finished;
	unsigned upstream_seen[32];
};

/* harness_nodes.c: harness-in (a source pushing what the test queued) and
 * harness-out (keeps what the module outputs until the test pulls it);
 * their node state is the harness. */
const struct vpipe_module *vp_harness_in_module(void);
const struct vpipe_module *vp_harness_out_module(void);
void vp_harness_item_free(struct in_item *it);

#endif
