/* The systemd watchdog, fed only while every chain makes progress.
 *
 * A node makes progress when it returns from a module callback, moves a
 * frame (in or out), or waits in one of the kernel's waits (its next input,
 * vpipe_node_wait_fd, vpipe_node_sleep_until, a frame from its pool, room on
 * a full queue): those waits are the module waiting for something by
 * design (a camera's next picture, a reconnect backoff, ACKs) and end at
 * deadlines the module chose. A node is stalled when it has been inside
 * module code, out of every kernel wait, for longer than the watchdog
 * interval without moving a frame: a driver call that hangs, a deadlock, a
 * loop. While any node is stalled WATCHDOG=1 is not sent, so systemd
 * restarts the service after WatchdogSec; the log and STATUS= name it. */
#ifndef VPIPE_KERNEL_WATCHDOG_H
#define VPIPE_KERNEL_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

struct vp_node_watch {
	uint64_t frames;     /* frames_in + frames_out at the last look */
	int64_t progress_at; /* when progress was last seen */
	bool stalled;
};

struct vp_watchdog {
	int64_t interval; /* 0: systemd asked for no watchdog */
	int64_t next;	  /* next look (and ping) */
	struct vp_node_watch *nodes;
	unsigned n_stalled;
};

/* Reads the interval from the environment ($WATCHDOG_USEC). */
void vp_watchdog_init(struct vp_watchdog *wd, struct vp_pipeline *pl);
void vp_watchdog_free(struct vp_watchdog *wd);
/* When the supervisor must call vp_watchdog_tick next; -1: never. */
int64_t vp_watchdog_due(const struct vp_watchdog *wd);
/* Look at every node; send WATCHDOG=1 unless one is stalled. */
void vp_watchdog_tick(struct vp_watchdog *wd, struct vp_pipeline *pl,
		      int64_t now);

#endif
