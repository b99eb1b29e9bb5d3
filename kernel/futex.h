/* Futex wait/wake on a 32-bit atomic word: how kernel threads park without
 * spinning or timed polling. */
#ifndef VPIPE_KERNEL_FUTEX_H
#define VPIPE_KERNEL_FUTEX_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Sleep while *word == expected (or until woken; spurious returns happen). */
static inline void vp_futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL,
		NULL, 0);
}

/* Same, for at most timeout_ns (< 0: no limit). */
static inline void vp_futex_wait_for(_Atomic uint32_t *word, uint32_t expected,
				     int64_t timeout_ns)
{
	if (timeout_ns < 0) {
		vp_futex_wait(word, expected);
		return;
	}
	struct timespec ts = {.tv_sec = timeout_ns / 1000000000,
			      .tv_nsec = timeout_ns % 1000000000};
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, &ts,
		NULL, 0);
}

static inline void vp_futex_wake_all(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT32_MAX,
		NULL, NULL, 0);
}
#endif
