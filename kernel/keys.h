/* The keys the kernel itself reads: those every node section may carry
 * (module, input, queue-size, ...) and those of [pipeline]. They are
 * declared as parameter tables, like a module's, so they are parsed,
 * validated, listed by `vpipe modules` and suggested ("did you mean")
 * the same way. */
#ifndef VPIPE_KERNEL_KEYS_H
#define VPIPE_KERNEL_KEYS_H

#include <stdint.h>

#include <vpipe/module.h>

struct vp_node_keys {
	const char *module;
	const char *input;
	int64_t queue_size;
	int queue_policy; /* enum vp_policy */
	int restart;	  /* enum vp_restart */
	int64_t restart_delay;
	int64_t restart_max_delay;
	int64_t pool_size; /* 0: sized from the graph */
	int thread;	   /* enum vp_thread */
};

struct vp_pipeline_keys {
	const char *module_path;
	int log_level; /* index into the level names; -1: not set */
	int64_t drain_timeout;
	int64_t summary_interval;
};

extern const struct vpipe_param vp_node_key_table[];
extern const struct vpipe_param vp_pipeline_key_table[];

/* Names of the queue policies and restart policies, by enum value. */
extern const char *const vp_policy_names[];
extern const char *const vp_restart_names[];
extern const char *const vp_thread_names[];

/* The log level (VPIPE_LOG_*) a log-level index stands for. */
int vp_pipeline_log_level(int index);
#endif
