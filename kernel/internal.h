/* Kernel internals shared by the kernel sources. Modules never see this. */
#ifndef VPIPE_KERNEL_INTERNAL_H
#define VPIPE_KERNEL_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vpipe/vpipe.h>

#include "ring.h"

#define VP_MAX_COUNTERS 32
#define VP_MAX_WORKERS	4

/* ------------------------------------------------------------- frames */

struct vp_pool;

struct vpipe_frame_priv {
	_Atomic int refs;
	struct vp_pool *pool;
	struct vpipe_frame_priv *next;	   /* free-list link */
	struct vpipe_frame_priv *all_next; /* every box of the pool */
	struct vpipe_frame *frame;
	uint8_t *own_data; /* pool-owned payload buffer (kept across reuse) */
	size_t own_cap;
	void (*release)(void *opaque); /* wrapped frames */
	void *opaque;
	bool pushed;   /* metadata is frozen once a node pushed the frame */
	int dmabuf_fd; /* -1: none */
	uint32_t dmabuf_offset;
	char *tagbuf; /* tag strings, kept across reuse */
	size_t tagcap, taglen;
};

/* A node's frame pool. The owner (the node's thread) takes frames from
 * `local`; any thread returns them by pushing onto `returned`, a lock-free
 * stack the owner empties with one exchange (no ABA: nobody pops singly). */
struct vp_pool {
	_Atomic(struct vpipe_frame_priv *) returned;
	struct vpipe_frame_priv *local;
	_Atomic uint32_t return_seq; /* futex word for a waiting owner */
	_Atomic int owner_waiting;
	unsigned limit;		      /* frames this pool may create */
	unsigned created;	      /* owner-only */
	_Atomic size_t bytes;	      /* payload bytes currently allocated */
	struct vpipe_frame_priv *all; /* every box, owner-only, for teardown */
	struct vpipe_node *node;
};

void vp_pool_init(struct vp_pool *p, struct vpipe_node *node, unsigned limit);
void vp_pool_destroy(struct vp_pool *p);
void vp_pool_wake(struct vp_pool *p);
struct vpipe_frame *vp_frame_alloc_event(struct vpipe_node *node,
					 unsigned event);

/* -------------------------------------------------------------- links */

enum vp_policy { VP_BLOCK, VP_DROP_NEW, VP_DROP_OLD };

struct vp_link {
	struct vp_ring ring;
	struct vpipe_node *from, *to;
	unsigned from_port, to_port;
	int policy;
	size_t capacity;
	_Atomic uint32_t space_seq; /* futex word: a slot was freed */
	_Atomic int producer_waiting;
	_Atomic bool dead; /* consumer gone: pushes are dropped */
	_Atomic uint64_t frames, bytes, drops;
	_Atomic size_t high_water;
	bool eos;   /* consumer-only: EOS seen on this link */
	bool fused; /* a direct call in the producer's thread (fuse.c) */
};

/* -------------------------------------------------------------- nodes */

struct vp_counter {
	const char *name;
	_Atomic int64_t value;
	bool gauge;
	bool refused; /* the name breaks the naming rule: never counted */
};

struct vp_outport {
	struct vp_link **links;
	unsigned n_links;
	uint32_t media;
	uint64_t seq;
	/* set by the module in create() (format.c, under its lock) */
	bool has_fmt;
	struct vpipe_format fmt;
};

struct vp_module; /* loaded module, loader.c */
struct vp_pipeline;

enum vp_restart { VP_RESTART_NEVER, VP_RESTART_ON_ERROR };
enum vp_thread { VP_THREAD_AUTO, VP_THREAD_OWN };

/* The module callback a node's thread is in, for the report of a node that
 * does not stop (sched.c). */
enum vp_callback {
	VP_CB_NONE,
	VP_CB_CREATE,
	VP_CB_START,
	VP_CB_PRODUCE,
	VP_CB_PROCESS,
	VP_CB_FLUSH,
	VP_CB_TIMER,
	VP_CB_UPSTREAM,
	VP_CB_STOP,
	VP_CB_WORKERS, /* the kernel joins its worker threads after stop() */
	VP_CB_DESTROY,
	VP_CB_RECONFIGURE,
};

enum vp_node_state {
	VP_NODE_IDLE,
	VP_NODE_RUNNING,
	VP_NODE_FINISHED, /* reached EOS and stopped */
	VP_NODE_FAILED,	  /* error with restart = never */
};

struct vpipe_node {
	char *name;
	const struct vpipe_module *mod;
	struct vp_module *lm;
	struct vp_pipeline *pl;
	void *config; /* filled from the INI by params.c */
	void *state;
	bool created;
	int line; /* section line in the INI */

	struct vp_link **in;
	unsigned n_in;
	struct vp_outport *out;
	unsigned n_out;

	struct vp_pool pool;
	unsigned pool_count;
	bool pool_user; /* pool-size set in the INI: modules do not override */
	size_t pool_frame_bytes;

	/* kernel settings from the section */
	size_t queue_size;
	int queue_policy;
	int restart;
	int64_t restart_delay;
	int64_t restart_max_delay;
	int thread_key;	  /* enum vp_thread */
	bool queue_asked; /* queue-size or queue-policy written */
	/* fuse.c: the node whose thread runs this one (itself unless fused),
	 * the node run next in that thread, and, for a fused node, where its
	 * life stands (touched only by the runner's thread) */
	struct vpipe_node *runner, *fuse_next;
	bool fuse_ended, fuse_stopped, fuse_flushed;
	_Atomic bool fuse_finished; /* claimed by whoever ends its life */
	char **inputs;		    /* as written: "node" or "node.port" */
	unsigned n_inputs;
	int input_line;

	pthread_t thread;
	bool thread_started;
	pthread_t workers[VP_MAX_WORKERS];
	unsigned n_workers;
	/* One eventfd per worker slot, made at the first spawn in that slot
	 * and closed with the graph, so a waker never writes to a closed fd;
	 * -1: none yet. */
	_Atomic int worker_wake_fd[VP_MAX_WORKERS];
	_Atomic int workers_quit; /* set before stop(): worker waits end */

	_Atomic int stop;  /* 1: stop producing (sources), drain */
	_Atomic int abort; /* stop now, drop what is queued */
	_Atomic uint32_t wake_seq;
	_Atomic int sleeping; /* 0 awake, 1 on futex, 2 on eventfd */
	int wake_fd;
	_Atomic unsigned upstream_pending; /* bit per upstream event */
	_Atomic int state_;
	_Atomic bool restarting; /* failed, waiting to be created again */
	/* a reload's new config for runtime keys, for the node's thread to
	 * hand to reconfigure() (sched.c); owned by whoever takes it */
	_Atomic(void *) pending_config;
	/* configs a reconfigure() replaced: kept until the node is freed, so
	 * a module's worker may go on reading the one it started with */
	void **retired_configs;
	unsigned n_retired;
	bool discont_next; /* mark the next pushed frame after a restart */
	int64_t timer_interval, next_timer; /* node thread only */
	/* asked for by the module in create(), which a restart runs again in
	 * the node's thread while the main thread may read it (stop) */
	_Atomic int64_t drain_timeout;
	uint64_t extra_memory;		/* declared by the module */
	_Atomic int callback;		/* enum vp_callback */
	_Atomic int64_t callback_since; /* when it was entered */
	_Atomic bool exited;		/* the node's thread returned */

	/* counters */
	_Atomic uint64_t frames_in, frames_out, errors, restarts;
	_Atomic uint64_t busy_ns;
	struct vp_counter counters[VP_MAX_COUNTERS];
	_Atomic unsigned n_counters;
};

/* ----------------------------------------------------------- pipeline */

struct vp_config;

struct vp_pipeline {
	struct vp_config *cfg;
	struct vpipe_node **nodes; /* topological order after vp_graph_build */
	unsigned n_nodes;
	struct vp_link **links;
	unsigned n_links;
	char **module_path;
	unsigned n_module_path;
	int64_t drain_timeout;
	int log_level;
	int done_fd; /* eventfd: a node thread finished */
	_Atomic unsigned running;
	/* node threads left running when vp_pipeline_run gave up on them: the
	 * pipeline must not be freed, the process must exit (_exit) */
	unsigned abandoned;
	/* SIGHUP: re-read the graph file (reload.c); NULL: cannot reload */
	struct vp_reloader *reloader;
	_Atomic unsigned reloads; /* reloads done, whatever their outcome */
	int64_t summary_interval; /* [pipeline] summary-interval; 0: off */
};

/* clock.c */
int64_t vp_monotonic_ns(void);
int64_t vp_clock_origin(void);
/* The harness clock (harness.c): vpipe_now() reads `now` while on. */
void vp_clock_set_manual(bool on, int64_t now);
void vp_clock_advance(int64_t ns);

/* log.c */
void vp_log_set_level(int level);
int vp_log_parse_level(const char *s);
int vp_log_level(void);
/* log_coalesce.c: write the counts of intervals that are over; returns when
 * the next one ends (-1: nothing held back). */
int64_t vp_log_coalesce_flush(void);
/* Write and drop what `node` held back (the node is being freed). */
void vp_log_coalesce_forget(const struct vpipe_node *node);
void vp_log_set_coalesce_interval(int64_t ns);
#define VP_LOG_COALESCE_INTERVAL (10 * VPIPE_S) /* the default */

/* counter_name.c: 0, or -1 with the reason in why. */
int vp_counter_name_check(const char *name, bool gauge, char *why, size_t len);

/* node.c */
void vp_node_wake_consumer(struct vpipe_node *n);
/* Wake-ups of consumers a node thread pushed frames to are sent once per
 * callback, not once per frame: deferred from the first push until the
 * callback returns or the thread waits (node threads only; see node.c). */
void vp_node_defer_wakes(void);
void vp_node_flush_wakes(void);
/* Before stop(): the node's workers' kernel waits return -1 from now on. */
void vp_node_quit_workers(struct vpipe_node *n);
bool vp_node_inputs_ready(struct vpipe_node *n);
void vp_link_release_slot(struct vp_link *l);
struct vpipe_frame *vp_link_pop(struct vp_link *l);
bool vp_node_all_outputs_dead(struct vpipe_node *n);

/* sched.c */
int vp_pipeline_run(struct vp_pipeline *pl, int64_t duration_ns);
/* What the first signal does (drain, then stop), and the second (stop at
 * once): for a pipeline that vp_pipeline_run runs in another thread. */
void vp_pipeline_stop(struct vp_pipeline *pl);
void vp_pipeline_abort(struct vp_pipeline *pl);
/* Log each node's state and counters and each link's depth now. */
void vp_pipeline_status(struct vp_pipeline *pl);
/* Start the threads of pl->nodes[first..] (nodes a reload appended). */
int vp_sched_start_nodes(struct vp_pipeline *pl, unsigned first);
/* Drain and stop these nodes (one or more whole chains) while the others
 * run on: stop, wait up to the drain timeout, stop at once, join. Returns
 * how many did not stop (counted in pl->abandoned; never free them). */
unsigned vp_sched_stop_nodes(struct vp_pipeline *pl, struct vpipe_node **nodes,
			     unsigned n);
/* The figures vpipe run prints at exit, for these nodes (a chain a
 * reload stopped) and the links into them. */
void vp_sched_print_final(struct vp_pipeline *pl, struct vpipe_node **nodes,
			  unsigned n);
/* The signals vp_pipeline_run reads from its signalfd. */
void vp_signal_set(sigset_t *set);

/* util */
unsigned vp_edit_distance(const char *a, const char *b);
/* The candidate a user most likely meant by `word` ("widht" -> "width",
 * "region" -> "aws-region", "x246" -> "x264"), or NULL. */
const char *vp_nearest(const char *word, const char *const *cands, size_t n);
char *vp_strdup(const char *s);
void *vp_xcalloc(size_t n, size_t size);
bool vp_is_control(unsigned char c);
void vp_escape_controls(const char *s, char *out, size_t len);

#endif
