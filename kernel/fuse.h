/* Fused dispatch: nodes linked 1:1 run in their upstream node's thread,
 * which calls their process() directly from its push (no queue, no
 * wake-up, no context switch). A fused group is a chain: a leader with a
 * thread of its own, then each node fused into the one before it
 * (fuse_next). The rules that keep a node apart are in vp_fuse_reason and
 * docs/architecture.md (threads). */
#ifndef VPIPE_KERNEL_FUSE_H
#define VPIPE_KERNEL_FUSE_H

#include <stdio.h>

#include "internal.h"

/* Why n gets a thread of its own; NULL: it runs in its upstream's. */
const char *vp_fuse_reason(const struct vpipe_node *n);
/* Group the nodes (topological order) and mark the fused links. */
void vp_fuse_plan(struct vp_pipeline *pl);
/* Threads the pipeline runs: one per group. */
unsigned vp_fuse_threads(const struct vp_pipeline *pl);
/* `vpipe check`: which nodes share a thread, and why others do not. */
void vp_fuse_print(const struct vp_pipeline *pl, FILE *out);

/* The producer's push on a fused link: the consumer takes f (one
 * reference) at once, in the calling thread. */
void vp_fuse_deliver(struct vp_link *l, struct vpipe_frame *f);
/* In the leader's thread: create and start the nodes fused into it,
 * before the leader starts; and after the leader ended, end those that
 * have not ended and stop them all, upstream first, as separate threads
 * would have. */
void vp_fuse_start_group(struct vpipe_node *leader);
void vp_fuse_finish_group(struct vpipe_node *leader);
/* vpipe gives up on the thread in busy's callback (after an abort): the
 * nodes fused after busy end as they would in threads of their own, so
 * only the thread's nodes up to busy are left behind. Main thread. */
void vp_fuse_abandon(struct vpipe_node *busy);
/* An upstream event waits for a node of the leader's group. */
bool vp_fuse_upstream_pending(struct vpipe_node *leader);
/* The node of the leader's group its thread is in a callback of (the
 * innermost), for the report of a thread that does not stop. */
struct vpipe_node *vp_fuse_busy(struct vpipe_node *leader);
/* Time the calling thread spent in fused nodes' callbacks, so far: busy
 * time of a callback excludes the nested calls it made (sched.c). */
int64_t vp_fuse_nested_ns(void);

/* sched.c: the steps of a node's life, for nodes run by fuse.c. */
int64_t vp_sched_enter(struct vpipe_node *n, enum vp_callback cb);
void vp_sched_account(struct vpipe_node *n, int64_t t0);
int vp_sched_create(struct vpipe_node *n);
int vp_sched_start(struct vpipe_node *n);
bool vp_sched_flush(struct vpipe_node *n);
void vp_sched_stop(struct vpipe_node *n);
void vp_sched_detach(struct vpipe_node *n);
#endif
