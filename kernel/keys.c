/* The kernel's own keys as parameter tables (see keys.h). */
#include "keys.h"
#include "internal.h"

const char *const vp_policy_names[] = {"block", "drop-new", "drop-old", NULL};
const char *const vp_restart_names[] = {"never", "on-error", NULL};
const char *const vp_thread_names[] = {"auto", "own", NULL};
static const char *const level_names[] = {"error", "warn", "info", "debug",
					  NULL};

#define N struct vp_node_keys
const struct vpipe_param vp_node_key_table[] = {
    VPIPE_P_STRING("module", N, module, NULL, VPIPE_PARAM_REQUIRED,
		   "the module this node runs (`vpipe modules` lists "
		   "them)"),
    VPIPE_P_STRING("input", N, input, NULL, 0,
		   "upstream nodes, NODE or NODE.PORT, comma-separated; "
		   "the n-th feeds the n-th input port"),
    VPIPE_P_INT("queue-size", N, queue_size, "8", 1, 65536,
		"capacity of each input link, rounded up to a power of "
		"two"),
    VPIPE_P_ENUM("queue-policy", N, queue_policy, "block", vp_policy_names,
		 "a full input link: block (lossless), drop-new, "
		 "drop-old (live sources that must never stall)"),
    VPIPE_P_ENUM("restart", N, restart, "never", vp_restart_names,
		 "on an error: never (the chain stops) or on-error "
		 "(re-create the node after restart-delay)"),
    VPIPE_P_DURATION("restart-delay", N, restart_delay, "1s", 0.001, 3600, 0,
		     "first wait before a restart (jittered: between half "
		     "of it and all of it); doubles per failure"),
    VPIPE_P_DURATION("restart-max-delay", N, restart_max_delay, "60s", 0.001,
		     86400, 0,
		     "longest wait between restarts (not below "
		     "restart-delay)"),
    VPIPE_P_INT("pool-size", N, pool_size, "0", 0, 65536,
		"frames this node may have in flight (0: enough for its "
		"queues)"),
    VPIPE_P_ENUM("thread", N, thread, "auto", vp_thread_names,
		 "auto: run in the upstream node's thread when linked 1:1 "
		 "(no queue, no wake-up); own: a thread of its own behind "
		 "a queue (also implied by queue-size or queue-policy)"),
    VPIPE_P_END,
};
#undef N

#define P struct vp_pipeline_keys
const struct vpipe_param vp_pipeline_key_table[] = {
    VPIPE_P_STRING("module-path", P, module_path, NULL, 0,
		   "directories searched for modules first, "
		   "colon-separated"),
    VPIPE_P_ENUM("log-level", P, log_level, NULL, level_names,
		 "least important messages logged (default info; "
		 "--log-level wins)"),
    VPIPE_P_DURATION("drain-timeout", P, drain_timeout, "5s", 0, 3600, 0,
		     "longest a stop may drain queued frames before they "
		     "are dropped (or what a node asks for)"),
    VPIPE_P_DURATION("summary-interval", P, summary_interval, "10min", 0, 86400,
		     0,
		     "how often one summary line (nodes, frames, drops, "
		     "restarts) is logged; 0: never"),
    VPIPE_P_END,
};
#undef P

int vp_pipeline_log_level(int index)
{
	static const int levels[] = {VPIPE_LOG_ERROR, VPIPE_LOG_WARN,
				     VPIPE_LOG_INFO, VPIPE_LOG_DEBUG};
	return index >= 0 && index < 4 ? levels[index] : -1;
}
