/* vpipe public API: modules.
 *
 * A module is a shared object exporting one constant descriptor named
 * `vpipe_module` (see VPIPE_MODULE below). The kernel loads it with dlopen,
 * checks its ABI version, validates the node's INI section against the
 * declarative parameter table, fills the module's config struct, and then
 * drives the module through create -> start -> (produce | process)* ->
 * stop -> destroy, always from threads it owns.
 *
 * Rules for module authors:
 *  - include only <vpipe/...> headers from vpipe;
 *  - never create threads (use vpipe_node_spawn_worker), never sleep or poll
 *    on an interval (use vpipe_node_wait_fd / vpipe_node_sleep_until, which
 *    return on vpipe_node_wake and on stop, in the node's thread and in its
 *    workers) and never keep a retry scheme of your own (struct
 *    vpipe_backoff, VPIPE_P_RETRY);
 *  - create() validates and computes; start() acquires devices, sockets, files.
 *    `vpipe check` calls create() and destroy() only.
 *  - a callback returns 0 on success, VPIPE_EOS (sources) at end of stream, or
 * a negative value on error; on error the kernel applies the node's restart
 *    policy, so log the reason with vpipe_log first.
 */
#ifndef VPIPE_MODULE_H
#define VPIPE_MODULE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vpipe/export.h>
#include <vpipe/frame.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change to a struct or call in <vpipe/...>. */
#define VPIPE_ABI_VERSION 1

/* Return value of produce() at end of stream. */
#define VPIPE_EOS 1

/* ---------------------------------------------------------------- params */

enum vpipe_param_type {
	VPIPE_PARAM_STRING = 1, /* const char *   (kernel-owned)            */
	VPIPE_PARAM_INT,	/* int64_t        range [min, max]           */
	VPIPE_PARAM_BOOL,     /* bool           true/false/yes/no/on/off/1/0 */
	VPIPE_PARAM_ENUM,     /* int            index into choices         */
	VPIPE_PARAM_DURATION, /* int64_t ns     "500ms", "2s", "1m", "1h"   */
	VPIPE_PARAM_SIZE,     /* int64_t bytes  "512B", "64k", "16M", "1G"  */
	VPIPE_PARAM_PATH,     /* const char *   a file system path         */
	VPIPE_PARAM_SECRET,   /* const char *   never printed              */
	VPIPE_PARAM_DOUBLE,   /* double         range [min, max]           */
};

enum vpipe_param_flags {
	VPIPE_PARAM_REQUIRED = 1u << 0,
	VPIPE_PARAM_MASKED = 1u << 1, /* mask value in every printout */
	/* May change while running: when a reload changes only such keys of
	 * a node whose module has reconfigure(), the kernel hands the node
	 * its new configuration instead of restarting its chain. */
	VPIPE_PARAM_RUNTIME = 1u << 2,
};

struct vpipe_param {
	const char *name; /* lower-case-with-dashes; NULL ends the table */
	uint32_t type;	  /* enum vpipe_param_type */
	uint32_t flags;	  /* enum vpipe_param_flags */
	size_t offset;	  /* where the value lands in the config struct */
	const char *def;  /* default, written as in the INI; NULL: none */
	double min, max;  /* INT, DOUBLE, DURATION (s), SIZE (bytes); min > max:
			     unbounded */
	const char *const *choices; /* ENUM: NULL-terminated allowed values */
	/* Unused: a duration or size must always carry its unit ("2s",
	 * "512B"; only 0 may go without), so a bare number is refused
	 * whatever the table says. Kept so existing tables compile. */
	int64_t unit;
	const char *help; /* one line */
	const void *reserved[2];
};

/* Helpers for tables:
 *   VPIPE_P_INT("width", struct cfg, width, "640", 16, 8192, "picture width")
 */
#define VPIPE_P_(n, t, fl, st, fld, d, lo, hi, ch, u, h)                       \
	{                                                                      \
		.name = (n), .type = (t), .flags = (fl),                       \
		.offset = offsetof(st, fld), .def = (d), .min = (lo),          \
		.max = (hi), .choices = (ch), .unit = (u), .help = (h)         \
	}
#define VPIPE_P_STRING(n, st, fld, d, fl, h)                                   \
	VPIPE_P_(n, VPIPE_PARAM_STRING, fl, st, fld, d, 1, 0, NULL, 0, h)
#define VPIPE_P_PATH(n, st, fld, d, fl, h)                                     \
	VPIPE_P_(n, VPIPE_PARAM_PATH, fl, st, fld, d, 1, 0, NULL, 0, h)
#define VPIPE_P_SECRET(n, st, fld, fl, h)                                      \
	VPIPE_P_(n, VPIPE_PARAM_SECRET, (fl) | VPIPE_PARAM_MASKED, st, fld,    \
		 NULL, 1, 0, NULL, 0, h)
#define VPIPE_P_INT(n, st, fld, d, lo, hi, h)                                  \
	VPIPE_P_(n, VPIPE_PARAM_INT, 0, st, fld, d, lo, hi, NULL, 0, h)
#define VPIPE_P_DOUBLE(n, st, fld, d, lo, hi, h)                               \
	VPIPE_P_(n, VPIPE_PARAM_DOUBLE, 0, st, fld, d, lo, hi, NULL, 0, h)
#define VPIPE_P_BOOL(n, st, fld, d, h)                                         \
	VPIPE_P_(n, VPIPE_PARAM_BOOL, 0, st, fld, d, 1, 0, NULL, 0, h)
#define VPIPE_P_ENUM(n, st, fld, d, ch, h)                                     \
	VPIPE_P_(n, VPIPE_PARAM_ENUM, 0, st, fld, d, 1, 0, ch, 0, h)
/* lo/hi in seconds; u: unused (see struct vpipe_param's unit) */
#define VPIPE_P_DURATION(n, st, fld, d, lo, hi, u, h)                          \
	VPIPE_P_(n, VPIPE_PARAM_DURATION, 0, st, fld, d, lo, hi, NULL, u, h)
#define VPIPE_P_SIZE(n, st, fld, d, lo, hi, h)                                 \
	VPIPE_P_(n, VPIPE_PARAM_SIZE, 0, st, fld, d, lo, hi, NULL, 0, h)
#define VPIPE_P_END                                                            \
	{                                                                      \
		.name = NULL                                                   \
	}

#define VPIPE_NS ((int64_t)1)
#define VPIPE_US ((int64_t)1000)
#define VPIPE_MS ((int64_t)1000000)
#define VPIPE_S	 ((int64_t)1000000000)

/* ----------------------------------------------------------------- ports */

enum vpipe_port_flags {
	/* An input port that accepts any number of links (e.g. a recorder fed
	 * by several chains). Only the last input port may have it. */
	VPIPE_PORT_MULTI = 1u << 0,
};

struct vpipe_port {
	const char *name; /* NULL ends the list; first port is the default */
	uint32_t media;	  /* mask of enum vpipe_media */
	uint32_t flags;	  /* enum vpipe_port_flags */
};

/* ---------------------------------------------------------- descriptor */

struct vpipe_node; /* opaque handle the kernel passes to every call */

/* How a module's node may be scheduled (struct vpipe_module's flags). A
 * node linked 1:1 to its upstream normally runs in its upstream's thread
 * (docs/architecture.md, threads); these keep it, or its consumer, apart. */
enum vpipe_module_flags {
	/* process() or flush() may wait (network, a device, a worker): the
	 * node gets a thread of its own, so its upstream is never held. */
	VPIPE_MODULE_WAITS = 1u << 0,
	/* A live capture source: its consumer gets a thread of its own, so
	 * downstream work never delays taking the next buffer. */
	VPIPE_MODULE_LIVE = 1u << 1,
};

struct vpipe_module {
	uint32_t abi_version; /* VPIPE_ABI_VERSION the module was built with */
	uint32_t struct_size; /* sizeof(struct vpipe_module) at build time */
	const char *name;     /* as written after `module =` */
	const char *version;
	const char *summary; /* one line */

	const struct vpipe_port *inputs;  /* NULL or {NULL}-terminated */
	const struct vpipe_port *outputs; /* NULL or {NULL}-terminated */
	const struct vpipe_param *params; /* VPIPE_P_END-terminated */
	size_t config_size;		  /* size of the config struct */

	/* Build state from the filled config (valid for the node's lifetime).
	 * May set output media/pool sizes; must not open devices. */
	int (*create)(struct vpipe_node *node, const void *config,
		      void **state);
	/* Acquire resources. Called in the node's own thread. */
	int (*start)(void *state);
	/* Sources (no inputs): make and push frames; called again and again
	 * until it returns VPIPE_EOS, an error, or vpipe_node_stopping(). */
	int (*produce)(void *state);
	/* Others: one input frame on input port `port`. The module pushes
	 * zero or more frames. The kernel unrefs `in` afterwards.
	 * In-band events: EOS is handled by the kernel (flush() is called
	 * when every input has ended). Other events (DISCONTINUITY) are
	 * forwarded downstream by the kernel, and also passed to process()
	 * first if the port's media mask includes VPIPE_MEDIA_EVENT. */
	int (*process)(void *state, unsigned port,
		       const struct vpipe_frame *in);
	/* All inputs reached end of stream (or stop was asked): push what is
	 * still held. Optional. A negative return (data could not be
	 * delivered) fails the node, so `vpipe run` exits non-zero. */
	int (*flush)(void *state);
	/* An upstream event from downstream (e.g. key-frame request). Called
	 * in the node's own thread between produce/process calls. Return 1 if
	 * handled, 0 to pass it further upstream. Optional. */
	int (*upstream_event)(void *state, unsigned event);
	/* Release what start() acquired. */
	void (*stop)(void *state);
	void (*destroy)(void *state);
	/* Called in the node's own thread every interval set with
	 * vpipe_node_set_timer(), also while no frames arrive (to sync files,
	 * expire old data, send keep-alives). For sources, between produce()
	 * calls. Optional; a negative return is an error like any other. */
	int (*timer)(void *state);
	/* A reload changed only VPIPE_PARAM_RUNTIME keys of this node: apply
	 * `config` (a complete new config struct, the other keys as before).
	 * Called in the node's own thread between other callbacks. The old
	 * config stays valid until the node is freed (a worker may go on
	 * reading it); a restart's create() gets the new one. On <0 the node
	 * keeps the old config. Optional: without it a change restarts the
	 * chain. */
	int (*reconfigure)(void *state, const void *config);

	uint32_t flags; /* enum vpipe_module_flags; 0 for older modules */
	/* Optional: print to stdout the devices this module could open
	 * (cameras, modes, controls) for `vpipe probe --NAME`; returns the
	 * command's exit status. Called without a node, never in a graph. */
	int (*probe)(void);
	/* with reconfigure, flags and probe: the size of the reserved[7]
	 * of ABI 1 */
	const void *reserved[4];
};

/* A module defines its descriptor with:
 *   VPIPE_MODULE = { .abi_version = VPIPE_ABI_VERSION, ... };
 * It is the one symbol a module exports (modules are built with hidden
 * visibility; VPIPE_API makes the descriptor visible to the loader). */
#define VPIPE_MODULE_SYMBOL "vpipe_module"
#define VPIPE_MODULE	    VPIPE_API const struct vpipe_module vpipe_module

/* ------------------------------------------------------ calls for modules */

/* Push a frame on output `port`. The node gives up its reference. Returns
 * 0, or -1 when the node is stopping (the frame is released). Blocks when a
 * `block` link downstream is full. */
VPIPE_API int vpipe_push(struct vpipe_node *node, unsigned port,
			 struct vpipe_frame *f);

/* Push an in-band event (EOS, DISCONTINUITY) on every output. */
VPIPE_API int vpipe_push_event(struct vpipe_node *node, unsigned event);

/* Send an out-of-band event to every upstream node (key-frame request). */
VPIPE_API void vpipe_node_send_upstream(struct vpipe_node *node,
					unsigned event);

/* Output media a configured node produces on `port` (default: the port's
 * declared mask). Call in create(). */
VPIPE_API void vpipe_node_set_output_media(struct vpipe_node *node,
					   unsigned port, uint32_t media);

/* The format a node will produce on output `port` (fourcc, size, rate),
 * when it knows it before its first frame. Call in create(): a node
 * downstream reads it with vpipe_node_input_format() in its own create()
 * (nodes are created upstream first) or start(). */
VPIPE_API void vpipe_node_set_output_format(struct vpipe_node *node,
					    unsigned port,
					    const struct vpipe_format *fmt);

/* What arrives on input `port`, before the first frame: *media gets the
 * media the link carries (a mask; one bit once negotiated), *fmt the
 * format its producer declared with vpipe_node_set_output_format (through
 * pass-through nodes such as identity). Valid in create() and start() and
 * after. Returns 0 when a format was declared; -1 when it was not (*fmt is
 * zeroed: the format is known only from the frames) or the port has no
 * link. Either pointer may be NULL. */
VPIPE_API int vpipe_node_input_format(struct vpipe_node *node, unsigned port,
				      uint32_t *media,
				      struct vpipe_format *fmt);

/* Frame pool of this node: `count` frames of about `frame_bytes` each.
 * The kernel adds the result to the graph's memory ceiling. Call in create().
 */
VPIPE_API void vpipe_node_set_pool(struct vpipe_node *node, unsigned count,
				   size_t frame_bytes);

/* Ask for the timer() callback every interval_ns (0: off). Call in create()
 * or start(). */
VPIPE_API void vpipe_node_set_timer(struct vpipe_node *node,
				    int64_t interval_ns);

/* Memory the module itself holds at most besides its frame pool (a
 * content store, a recording buffer, encoder state): counted in the
 * graph's memory ceiling that `vpipe check` prints. Call in create(). */
VPIPE_API void vpipe_node_add_memory(struct vpipe_node *node, size_t bytes);

/* This node may need up to ns to finish after end of stream (flush()
 * waiting for acknowledgements, say): a stop waits at least that long
 * before aborting, whatever [pipeline] drain-timeout says. Call in create(). */
VPIPE_API void vpipe_node_set_drain_timeout(struct vpipe_node *node,
					    int64_t ns);

/* Pipeline clock: monotonic ns since the pipeline started. */
VPIPE_API int64_t vpipe_now(void);
/* Wall clock: ns since the Unix epoch. */
VPIPE_API int64_t vpipe_wallclock(void);
/* Pipeline clock time to wall-clock time (ns), for capture timestamps. */
VPIPE_API int64_t vpipe_clock_to_wall(int64_t pipeline_ns);

/* True once the node has been asked to stop. */
VPIPE_API bool vpipe_node_stopping(struct vpipe_node *node);

/* Sleep until pipeline time `t` (ns) or until stop. Returns 0 when the time
 * came, -1 when stopping (see below). Uses no CPU while waiting. Works in
 * the node's thread and in its workers. */
VPIPE_API int vpipe_node_sleep_until(struct vpipe_node *node, int64_t t);

/* Wait for `events` (POLLIN/POLLOUT) on fd, at most timeout_ns (<0: no
 * limit); fd < 0 waits only for a wake-up. Returns the revents (>0) when fd
 * is ready, 0 when the time is up or vpipe_node_wake() was called (look at
 * your condition and your deadline again), -1 when stopping. A wake-up that
 * comes while the thread is not waiting is kept: the next wait returns at
 * once, so "check, then wait" loses none.
 *
 * In the node's thread "stopping" means the node must stop now (sources: at
 * the first stop request; others: when the pipeline aborts). In a worker
 * thread it means the pipeline aborts or the kernel is about to call stop():
 * a worker's waits return -1 from then on, so stop() needs no wake-up of
 * its own. */
VPIPE_API int vpipe_node_wait_fd(struct vpipe_node *node, int fd, short events,
				 int64_t timeout_ns);

/* Run fn(arg) in a kernel-owned thread named after the node; the kernel
 * joins it right after stop() returns, so stop() must make fn return (set
 * a flag, wake it). For sources fn may also watch vpipe_node_stopping(). */
VPIPE_API int vpipe_node_spawn_worker(struct vpipe_node *node,
				      void (*fn)(void *arg), void *arg);

/* Wake every thread of the node (its own and its workers) that waits in
 * vpipe_node_wait_fd/sleep_until, or the next wait of each: call it from
 * any thread after changing what a waiter looks at. */
VPIPE_API void vpipe_node_wake(struct vpipe_node *node);

VPIPE_API const char *vpipe_node_name(const struct vpipe_node *node);

/* Per-node counters visible in metrics; name is a static string. */
VPIPE_API void vpipe_node_count(struct vpipe_node *node, const char *name,
				int64_t delta);
VPIPE_API void vpipe_node_gauge(struct vpipe_node *node, const char *name,
				int64_t value);

/* --------------------------------------------------------------- backoff */

/* The one retry policy of vpipe: exponential backoff with jitter.
 *
 * The n-th wait after a reset (n = 0, 1, ...) is drawn uniformly from
 * [c/2, c], where c = min(first * 2^n, max): the first wait is between half
 * of `first` and `first`, the longest is at most `max`, and cameras that
 * lost the same server at the same moment spread over the upper half of
 * each step instead of calling back together. Reset after a success (what
 * counts as one is the module's call: a session that delivered frames, an
 * object stored).
 *
 * The jitter comes from a kernel-owned generator with one state per thread:
 * a struct vpipe_backoff belongs to the thread that uses it, and nothing is
 * shared. Modules take `first` and `max` from VPIPE_P_RETRY() below. */
struct vpipe_backoff {
	int64_t first_ns; /* as given to init */
	int64_t max_ns;	  /* as given to init */
	int64_t
	    ceiling_ns; /* the next wait is drawn from [ceiling/2, ceiling] */
	unsigned attempts; /* waits handed out since the last reset */
};

/* Returns 0, or -1 when first_ns <= 0 or max_ns < first_ns (the backoff
 * then uses first_ns for both, so it is safe to use anyway). */
VPIPE_API int vpipe_backoff_init(struct vpipe_backoff *b, int64_t first_ns,
				 int64_t max_ns);
/* The next wait in ns (jittered), and the step after it doubles. */
VPIPE_API int64_t vpipe_backoff_next(struct vpipe_backoff *b);
/* Back to the first step after a success. */
VPIPE_API void vpipe_backoff_reset(struct vpipe_backoff *b);

/* A uniformly distributed 64-bit number from the calling thread's kernel
 * generator: for spreading (jitter, object keys), never for secrets. */
VPIPE_API uint64_t vpipe_random_u64(void);

/* The retry parameters, with the same names, units and help in every
 * module: `retry-delay` (first wait) and `retry-max-delay` (longest wait),
 * durations (with a unit, like every duration). The kernel's own
 * `restart-delay` and `restart-max-delay` follow the same policy. */
#define VPIPE_P_RETRY(st, first_fld, max_fld, def_first, def_max)              \
	VPIPE_P_DURATION("retry-delay", st, first_fld, def_first, 0.001, 3600, \
			 VPIPE_MS,                                             \
			 "first wait before retrying (jittered: between half " \
			 "of it and all of it); doubles per failure"),         \
	    VPIPE_P_DURATION("retry-max-delay", st, max_fld, def_max, 0.001,   \
			     86400, VPIPE_MS,                                  \
			     "longest wait between retries (not below "        \
			     "retry-delay)")

/* ----------------------------------------------------------------- log */

enum vpipe_log_level {
	VPIPE_LOG_ERROR = 3,
	VPIPE_LOG_WARN = 4,
	VPIPE_LOG_INFO = 6,
	VPIPE_LOG_DEBUG = 7,
};

/* One line to stderr, prefixed with level and node name. `node` may be NULL. */
VPIPE_API void vpipe_log(struct vpipe_node *node, int level, const char *fmt,
			 ...) __attribute__((format(printf, 3, 4)));
VPIPE_API void vpipe_vlog(struct vpipe_node *node, int level, const char *fmt,
			  va_list ap);
VPIPE_API bool vpipe_log_enabled(int level);

/* For a message that can repeat per frame or fragment (a storm when a
 * source outruns an uplink): the first one of a call site (node and format
 * string) is logged at once; the ones after it within the kernel's
 * coalescing interval (10 s) are counted, and the kernel logs the last of
 * them once the interval is over with "(N like this in the last 10 s)".
 * `fmt` must be a string literal: it names the call site. */
VPIPE_API void vpipe_log_coalesced(struct vpipe_node *node, int level,
				   const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define vpipe_error(n, ...) vpipe_log((n), VPIPE_LOG_ERROR, __VA_ARGS__)
#define vpipe_warn(n, ...)  vpipe_log((n), VPIPE_LOG_WARN, __VA_ARGS__)
#define vpipe_info(n, ...)  vpipe_log((n), VPIPE_LOG_INFO, __VA_ARGS__)
#define vpipe_debug(n, ...) vpipe_log((n), VPIPE_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
