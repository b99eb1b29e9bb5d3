/* The kernel's retry policy (struct vpipe_backoff) and its waits as worker
 * threads see them: bounds of every step, growth to the longest delay,
 * reset, the spread of the jitter, per-thread generators, and waits that a
 * wake-up or the end of the workers ends. Runs under TSan in `make check`. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kernel/internal.h"
#include "tests/unit/check.h"

/* The n-th wait lies in [c/2, c] with c = min(first * 2^n, max). */
static void test_bounds_and_growth(void)
{
	struct vpipe_backoff b;
	CHECK_EQ_INT(vpipe_backoff_init(&b, 100 * VPIPE_MS, 1 * VPIPE_S), 0);
	for (int round = 0; round < 200; round++) {
		vpipe_backoff_reset(&b);
		int64_t c = 100 * VPIPE_MS;
		for (int n = 0; n < 12; n++) {
			int64_t w = vpipe_backoff_next(&b);
			CHECK(w >= c / 2 && w <= c);
			c = c * 2 > VPIPE_S ? VPIPE_S : c * 2;
		}
		/* far past the doubling: capped at the longest delay */
		CHECK(b.ceiling_ns == VPIPE_S);
		CHECK_EQ_INT(b.attempts, 12);
	}
}

static void test_reset(void)
{
	struct vpipe_backoff b;
	vpipe_backoff_init(&b, 2 * VPIPE_S, 60 * VPIPE_S);
	for (int i = 0; i < 10; i++)
		vpipe_backoff_next(&b);
	CHECK(vpipe_backoff_next(&b) >= 30 * VPIPE_S);
	vpipe_backoff_reset(&b);
	CHECK_EQ_INT(b.attempts, 0);
	int64_t w = vpipe_backoff_next(&b);
	CHECK(w >= VPIPE_S && w <= 2 * VPIPE_S);
}

/* Cameras that fail together must not retry together: 4,000 first waits
 * cover the whole interval [first/2, first], evenly. */
static void test_spread(void)
{
	enum { DRAWS = 4000, BUCKETS = 10 };
	const int64_t first = 1000 * VPIPE_MS;
	unsigned hist[BUCKETS] = {0};
	int64_t lo = INT64_MAX, hi = 0;
	for (int i = 0; i < DRAWS; i++) {
		struct vpipe_backoff b;
		vpipe_backoff_init(&b, first, first);
		int64_t w = vpipe_backoff_next(&b);
		lo = w < lo ? w : lo;
		hi = w > hi ? w : hi;
		int k = (int)((w - first / 2) * BUCKETS / (first / 2 + 1));
		if (k >= 0 && k < BUCKETS)
			hist[k]++;
	}
	printf("first wait of %d draws: %.1f to %.1f ms; per tenth:", DRAWS,
	       (double)lo / 1e6, (double)hi / 1e6);
	for (int k = 0; k < BUCKETS; k++)
		printf(" %u", hist[k]);
	printf("\n");
	/* expected 400 per tenth; below 250 has odds far under 1e-12 */
	for (int k = 0; k < BUCKETS; k++)
		CHECK(hist[k] > 250);
	CHECK(hi - lo > first * 2 / 5);
}

static void test_bad_limits(void)
{
	struct vpipe_backoff b;
	CHECK_EQ_INT(vpipe_backoff_init(&b, 0, VPIPE_S), -1);
	CHECK(vpipe_backoff_next(&b) > 0); /* still usable, never 0 */
	CHECK_EQ_INT(vpipe_backoff_init(&b, 2 * VPIPE_S, VPIPE_S), -1);
	for (int i = 0; i < 5; i++)
		CHECK(vpipe_backoff_next(&b) <= 2 * VPIPE_S);
}

/* Each thread has its own generator: no shared state (TSan), and two
 * threads do not draw the same numbers. */
static void *draw(void *out)
{
	uint64_t *v = out;
	for (int i = 0; i < 8; i++)
		v[i] = vpipe_random_u64();
	struct vpipe_backoff b;
	vpipe_backoff_init(&b, VPIPE_MS, VPIPE_S);
	for (int i = 0; i < 1000; i++)
		vpipe_backoff_next(&b);
	return NULL;
}

static void test_threads(void)
{
	uint64_t v[4][8];
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, draw, v[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			CHECK(memcmp(v[i], v[j], sizeof(v[i])) != 0);
}

/* ------------------------------------------------ waits in worker threads */

struct worker_probe {
	struct vpipe_node *node;
	atomic_int phase;
	int woken_rc, quit_rc, sleep_rc;
};

static void probe(void *arg)
{
	struct worker_probe *p = arg;
	/* no time limit: only a wake-up ends this wait */
	p->woken_rc = vpipe_node_wait_fd(p->node, -1, 0, -1);
	atomic_store(&p->phase, 1);
	p->sleep_rc =
	    vpipe_node_sleep_until(p->node, vpipe_now() + 3600 * VPIPE_S);
	p->quit_rc = vpipe_node_wait_fd(p->node, -1, 0, -1);
}

static struct vpipe_node *bare_node(void)
{
	struct vpipe_node *n = calloc(1, sizeof(*n));
	n->name = strdup("probe");
	n->n_in = 1; /* not a source: its own waits end only on abort */
	n->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (int i = 0; i < VP_MAX_WORKERS; i++)
		n->worker_wake_fd[i] = -1;
	return n;
}

static void free_node(struct vpipe_node *n)
{
	close(n->wake_fd);
	for (int i = 0; i < VP_MAX_WORKERS; i++)
		if (n->worker_wake_fd[i] >= 0)
			close(n->worker_wake_fd[i]);
	free(n->name);
	free(n);
}

static void test_worker_waits(void)
{
	struct vpipe_node *n = bare_node();
	struct worker_probe p = {.node = n};
	/* A wake-up that comes before the wait is kept, not lost: this
	 * thread (the node's own here) waits without a time limit after it. */
	vpipe_node_wake(n);
	CHECK_EQ_INT(vpipe_node_wait_fd(n, -1, 0, -1), 0);
	/* A worker waits on its own: it is woken too, and the end of the
	 * workers (the kernel does it before stop()) ends its waits. */
	CHECK_EQ_INT(vpipe_node_spawn_worker(n, probe, &p), 0);
	while (!atomic_load(&p.phase))
		vpipe_node_wake(n);
	CHECK_EQ_INT(p.woken_rc, 0);
	vp_node_quit_workers(n);
	pthread_join(n->workers[0], NULL);
	CHECK_EQ_INT(p.sleep_rc, -1);
	CHECK_EQ_INT(p.quit_rc, -1);
	/* ... but not the node thread's: only an abort (for a non-source). */
	CHECK(!vpipe_node_stopping(n));
	CHECK_EQ_INT(vpipe_node_wait_fd(n, -1, 0, 0), 0);
	atomic_store(&n->abort, 1);
	CHECK_EQ_INT(vpipe_node_wait_fd(n, -1, 0, -1), -1);
	free_node(n);
}

int main(void)
{
	test_bounds_and_growth();
	test_reset();
	test_spread();
	test_bad_limits();
	test_threads();
	test_worker_waits();
	return check_done();
}
