/* vpipe public API: a test harness for module authors.
 *
 * Drives one module without a graph file, the way GStreamer's GstHarness
 * drives one element: the module runs in its own kernel thread exactly as
 * in `vpipe run` (same create/start/process/flush/stop order, same frame
 * pools, restart policy, events and EOS), between a harness source that
 * feeds what the test pushes and a harness sink that keeps what the module
 * outputs until the test pulls it.
 *
 *   struct vpipe_harness *h = vpipe_harness_new("grayscale", NULL);
 *   vpipe_harness_set(h, "strength", "100");       // as in the INI
 *   vpipe_harness_start(h);
 *   struct vpipe_frame in;
 *   vpipe_harness_frame_init(&in, VPIPE_MEDIA_RAW_VIDEO, pixels, size, 0);
 *   vpipe_harness_push(h, 0, &in);                  // copied, any thread
 *   struct vpipe_frame *out = vpipe_harness_pull(h, NULL, 2 * VPIPE_S);
 *   ...check out...
 *   vpipe_frame_unref(out);
 *   vpipe_harness_push_eos(h);
 *   while ((out = vpipe_harness_pull(h, NULL, 2 * VPIPE_S))) ...
 *   // vpipe_harness_eos(h) is now true
 *   vpipe_harness_free(h);                          // 0: the node finished
 *
 * Link with libvpipe (pkg-config --libs vpipe). Every call is made from the
 * test's thread(s); none of them is for module code. Timeouts of pull and
 * stop are real time; the module's clock (vpipe_now, timer(), sleep_until)
 * is real time too unless vpipe_harness_use_clock() makes it a harness
 * clock that moves only when the test says.
 */
#ifndef VPIPE_HARNESS_H
#define VPIPE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vpipe/export.h>
#include <vpipe/frame.h>
#include <vpipe/module.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vpipe_harness;

/* A harness around module `name`: the loaded NAME.so from the module path
 * ($VPIPE_MODULE_PATH, then the installed modules) when `desc` is NULL, or
 * the descriptor `desc` (a module linked into the test) under its own
 * name. NULL, with the reason logged, when the module does not load. */
VPIPE_API struct vpipe_harness *
vpipe_harness_new(const char *name, const struct vpipe_module *desc);

/* A parameter of the module, or a node key vpipe handles (queue-size,
 * restart, restart-delay, pool-size ...), written as in the INI. Before
 * start; the last value of a key wins. 0, or -1 after start. */
VPIPE_API int vpipe_harness_set(struct vpipe_harness *h, const char *key,
				const char *value);

/* What arrives on input `port` (media, and the format when fmt is not
 * NULL): the module sees it with vpipe_node_input_format() in create()
 * and start(), before its first frame. Default: any media, format
 * unknown. Before start. 0, or -1 for a bad port or after start. */
VPIPE_API int vpipe_harness_set_input_format(struct vpipe_harness *h,
					     unsigned port, uint32_t media,
					     const struct vpipe_format *fmt);

/* Make the pipeline clock a harness clock that reads `start_ns` and moves
 * only with vpipe_harness_advance(). The clock is the process's: use one
 * harness with a harness clock at a time. Before start. */
VPIPE_API void vpipe_harness_use_clock(struct vpipe_harness *h,
				       int64_t start_ns);
/* Move the harness clock forward by ns and wake the module, so a due
 * timer() runs and vpipe_node_sleep_until() returns. */
VPIPE_API void vpipe_harness_advance(struct vpipe_harness *h, int64_t ns);

/* Validate the parameters (errors are logged as for an INI file, with the
 * key named), create the node and start its thread. 0, or -1 when the
 * configuration is refused or create() failed. */
VPIPE_API int vpipe_harness_start(struct vpipe_harness *h);

/* Fill a frame description for vpipe_harness_push: media, payload, pts;
 * no flags, tags or format; dts, duration and wallclock unknown. */
VPIPE_API void vpipe_harness_frame_init(struct vpipe_frame *f, uint32_t media,
					const void *data, size_t size,
					int64_t pts);

/* Queue a frame for input `port`: payload, media, flags, timestamps,
 * format and tags are copied (f may be on the stack), and the module
 * receives it in process() like a frame from upstream. 0, or -1 after
 * push_eos/stop, for a bad port, or when out of memory. */
VPIPE_API int vpipe_harness_push(struct vpipe_harness *h, unsigned port,
				 const struct vpipe_frame *f);
/* Queue an in-band event (VPIPE_EVENT_DISCONTINUITY, or custom) after the
 * frames pushed so far. */
VPIPE_API int vpipe_harness_push_event(struct vpipe_harness *h, unsigned event);
/* End of input: what is queued still goes in, then EOS; the module
 * flushes and ends its outputs. */
VPIPE_API int vpipe_harness_push_eos(struct vpipe_harness *h);

/* The next frame or in-band event the module output (media EVENT), in
 * order, waiting up to timeout_ns of real time; the output port in *port
 * when port is not NULL. The caller owns one reference (vpipe_frame_unref
 * it before vpipe_harness_free). NULL on timeout or when every output has
 * ended and everything was pulled (see vpipe_harness_eos). */
VPIPE_API struct vpipe_frame *
vpipe_harness_pull(struct vpipe_harness *h, unsigned *port, int64_t timeout_ns);
/* True once every output reached end of stream and all was pulled (for a
 * module without outputs: once it has finished). */
VPIPE_API bool vpipe_harness_eos(struct vpipe_harness *h);

/* Send an upstream event (VPIPE_UPSTREAM_KEYFRAME_REQUEST) to the module,
 * as a downstream node would. Returns once the module has taken it, so a
 * frame pushed next is processed after the event. */
VPIPE_API void vpipe_harness_send_upstream(struct vpipe_harness *h,
					   unsigned event);
/* How many upstream events of this kind the module passed on upstream
 * (its upstream_event() did not handle them), after waiting up to
 * timeout_ns (real time) for at least `at_least` of them (0: no wait). */
VPIPE_API unsigned vpipe_harness_upstream_seen(struct vpipe_harness *h,
					       unsigned event,
					       unsigned at_least,
					       int64_t timeout_ns);

/* A counter or gauge the module published (vpipe_node_count/gauge), 0 if
 * it never did. */
VPIPE_API int64_t vpipe_harness_counter(struct vpipe_harness *h,
					const char *name);

/* Stop as `vpipe run` does on the first signal: the harness source stops
 * (frames still queued in it are dropped), the module drains, flushes and
 * stops; after timeout_ns (real time) it is aborted. Waits for the node's
 * thread. Returns 0 when the module finished, 1 when it failed (an error
 * with restart = never, or a flush that could not deliver). */
VPIPE_API int vpipe_harness_stop(struct vpipe_harness *h, int64_t timeout_ns);

/* Stop (with 5 s to drain) if still running, release every frame the test
 * did not pull, destroy the module, restore the real clock. Returns what
 * vpipe_harness_stop returns (0 also for a harness never started). */
VPIPE_API int vpipe_harness_free(struct vpipe_harness *h);

#ifdef __cplusplus
}
#endif
#endif
