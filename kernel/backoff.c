/* The one retry policy (exponential backoff with jitter) and the kernel's
 * per-thread generator behind its jitter. See <vpipe/module.h>. */
#include "internal.h"

#include <pthread.h>
#include <sys/random.h>
#include <time.h>

/* splitmix64: small, fast, every state gives a full-period stream. One state
 * per thread, so no lock and nothing for ThreadSanitizer to see. */
static _Thread_local uint64_t rng_state;
static _Thread_local bool rng_seeded;

static void seed(void)
{
	uint64_t s = 0;
	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
		/* Early boot without entropy: the clock and the thread still
		 * differ between cameras and threads. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
		    (uint64_t)pthread_self();
	}
	rng_state = s;
	rng_seeded = true;
}

uint64_t vpipe_random_u64(void)
{
	if (!rng_seeded)
		seed();
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int vpipe_backoff_init(struct vpipe_backoff *b, int64_t first_ns,
		       int64_t max_ns)
{
	int rc = 0;
	if (first_ns <= 0) {
		first_ns = VPIPE_MS;
		rc = -1;
	}
	if (max_ns < first_ns) {
		max_ns = first_ns;
		rc = -1;
	}
	b->first_ns = first_ns;
	b->max_ns = max_ns;
	vpipe_backoff_reset(b);
	return rc;
}

void vpipe_backoff_reset(struct vpipe_backoff *b)
{
	b->ceiling_ns = b->first_ns;
	b->attempts = 0;
}

int64_t vpipe_backoff_next(struct vpipe_backoff *b)
{
	int64_t c = b->ceiling_ns;
	if (c <= 0) /* never initialised: behave, do not spin */
		c = b->ceiling_ns = b->first_ns = b->max_ns = VPIPE_S;
	int64_t low = c - c / 2; /* the wait is in [c/2, c], rounded up */
	int64_t wait =
	    low + (int64_t)(vpipe_random_u64() % (uint64_t)(c - low + 1));
	b->ceiling_ns = c > b->max_ns / 2 ? b->max_ns : c * 2;
	b->attempts++;
	return wait;
}
