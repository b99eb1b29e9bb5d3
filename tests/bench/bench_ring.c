/* Handoff between two threads through vpipe's link ring (kernel/ring.h),
 * side by side in the same run with concurrencykit's ck_ring SPSC and a
 * mutex + condition-variable queue.
 *
 * throughput  one producer pushes N pointers, one consumer pops them;
 *             million items per second over the whole transfer (best of
 *             the repeats: the least disturbed run on a shared machine).
 * latency     ping-pong over two rings: A stamps CLOCK_MONOTONIC, pushes,
 *             B pops and pushes back, A pops and stamps again; one-way
 *             handoff = round trip / 2. p50 and p99 over every round trip
 *             of every repeat, in ns.
 * The threads are pinned to two different CPUs when two are available.
 * Lock-free queues wait by spinning (pause, then sched_yield after a while),
 * the mutex queue by blocking on its condition variables, which is how each
 * is used in practice.
 *
 * Environment: BENCH_RING_ITEMS (default 10000000), BENCH_RING_ROUNDS
 * (ping-pong round trips, default 100000), BENCH_RING_REPEAT (default 3),
 * BENCH_RING_CAPACITY (default 1024). The mutex queue does at most 10000
 * round trips per repeat (each costs two futex wake-ups).
 */
#include "kernel/ring.h"

#include <ck_ring.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield");
#endif
}

/* Spin briefly (the other side usually answers within a few hundred ns),
 * then give the CPU away: this machine's cores are shared. */
static inline void wait_a_little(unsigned *spins)
{
	if (++*spins < 2000) {
		cpu_relax();
	} else {
		sched_yield();
		*spins = 0;
	}
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return dflt;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v == 0) {
		fprintf(stderr,
			"bench_ring: %s=%s is not a positive integer, "
			"using %llu\n",
			name, s, (unsigned long long)dflt);
		return dflt;
	}
	return v;
}

/* ------------------------------------------------------------ CPU pinning */

static int pin_cpu[2] = {-1, -1};

static void choose_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return;
	int found = 0;
	for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
		if (CPU_ISSET(c, &set))
			pin_cpu[found++] = c;
	if (found < 2)
		pin_cpu[0] = pin_cpu[1] = -1;
}

static void pin_self(int side)
{
	if (pin_cpu[side] < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(pin_cpu[side], &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* ---------------------------------------------- mutex + condvar queue */

struct mq {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	void **slots;
	size_t cap, head, count;
};

static int mq_init(struct mq *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	q->slots = calloc(cap, sizeof(*q->slots));
	if (!q->slots)
		return -1;
	q->cap = cap;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	return 0;
}

static void mq_destroy(struct mq *q)
{
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	free(q->slots);
}

static void mq_push_wait(struct mq *q, void *p)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == q->cap)
		pthread_cond_wait(&q->not_full, &q->lock);
	q->slots[(q->head + q->count) % q->cap] = p;
	if (q->count++ == 0)
		pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

static void *mq_pop_wait(struct mq *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == 0)
		pthread_cond_wait(&q->not_empty, &q->lock);
	void *p = q->slots[q->head];
	q->head = (q->head + 1) % q->cap;
	if (q->count-- == q->cap)
		pthread_cond_signal(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	return p;
}

/* ------------------------------------------ one interface, four queues */

enum kind { VP_RING, VP_RING_SHARED, CK_RING, MUTEX_QUEUE, KINDS };
static const char *const kind_name[KINDS] = {
    [VP_RING] = "vp_ring",
    [VP_RING_SHARED] = "vp_ring (drop-oldest pop)",
    [CK_RING] = "ck_ring spsc",
    [MUTEX_QUEUE] = "mutex+condvar",
};

struct queue {
	enum kind kind;
	struct vp_ring vp;
	struct ck_ring ck;
	struct ck_ring_buffer *ck_buf;
	struct mq mq;
};

static size_t round_up_pow2(size_t n)
{
	size_t p = 2;
	while (p < n)
		p <<= 1;
	return p;
}

static int queue_init(struct queue *q, enum kind kind, size_t cap)
{
	memset(q, 0, sizeof(*q));
	q->kind = kind;
	switch (kind) {
	case VP_RING:
	case VP_RING_SHARED:
		return vp_ring_init(&q->vp, cap);
	case CK_RING:
		/* Same slot array size as vp_ring (rounded to a power of two);
		 * ck_ring keeps one slot spare, so it holds one item less. */
		cap = round_up_pow2(cap);
		q->ck_buf =
		    aligned_alloc(VP_CACHELINE, cap * sizeof(*q->ck_buf));
		if (!q->ck_buf)
			return -1;
		ck_ring_init(&q->ck, (unsigned)cap);
		return 0;
	case MUTEX_QUEUE:
		return mq_init(&q->mq, cap);
	default:
		return -1;
	}
}

static void queue_destroy(struct queue *q)
{
	if (q->kind == VP_RING || q->kind == VP_RING_SHARED)
		vp_ring_destroy(&q->vp);
	else if (q->kind == CK_RING)
		free(q->ck_buf);
	else
		mq_destroy(&q->mq);
}

/* The switch is on a loop-invariant value: the compiler unswitches it, and
 * the ring operations stay inline in each copy. */
static inline void push_wait(struct queue *q, void *p)
{
	unsigned spins = 0;
	switch (q->kind) {
	case VP_RING:
	case VP_RING_SHARED:
		while (!vp_ring_push(&q->vp, p))
			wait_a_little(&spins);
		break;
	case CK_RING:
		while (!ck_ring_enqueue_spsc(&q->ck, q->ck_buf, p))
			wait_a_little(&spins);
		break;
	default:
		mq_push_wait(&q->mq, p);
	}
}

static inline void *pop_wait(struct queue *q)
{
	unsigned spins = 0;
	void *p;
	switch (q->kind) {
	case VP_RING:
		while (!(p = vp_ring_pop(&q->vp)))
			wait_a_little(&spins);
		return p;
	case VP_RING_SHARED:
		while (!(p = vp_ring_pop_shared(&q->vp)))
			wait_a_little(&spins);
		return p;
	case CK_RING:
		while (!ck_ring_dequeue_spsc(&q->ck, q->ck_buf, &p))
			wait_a_little(&spins);
		return p;
	default:
		return mq_pop_wait(&q->mq);
	}
}

/* ------------------------------------------------------------ throughput */

struct thr_run {
	struct queue q;
	uint64_t n;
	uint64_t
	    sum; /* consumer's checksum: the work cannot be optimised out */
	uint64_t t_start, t_end;
	pthread_barrier_t go;
};

static void *thr_producer(void *arg)
{
	struct thr_run *r = arg;
	pin_self(0);
	pthread_barrier_wait(&r->go);
	r->t_start = now_ns();
	for (uint64_t i = 1; i <= r->n; i++)
		push_wait(&r->q, (void *)(uintptr_t)i);
	return NULL;
}

static void *thr_consumer(void *arg)
{
	struct thr_run *r = arg;
	pin_self(1);
	pthread_barrier_wait(&r->go);
	uint64_t sum = 0;
	for (uint64_t i = 1; i <= r->n; i++)
		sum += (uint64_t)(uintptr_t)pop_wait(&r->q);
	r->t_end = now_ns();
	r->sum = sum;
	return NULL;
}

/* Million items per second, or a negative value on failure. */
static double run_throughput(enum kind kind, size_t cap, uint64_t n)
{
	struct thr_run r = {.n = n};
	if (queue_init(&r.q, kind, cap) != 0)
		return -1;
	pthread_barrier_init(&r.go, NULL, 2);
	pthread_t p, c;
	pthread_create(&c, NULL, thr_consumer, &r);
	pthread_create(&p, NULL, thr_producer, &r);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	pthread_barrier_destroy(&r.go);
	queue_destroy(&r.q);
	if (r.sum != n * (n + 1) / 2) {
		fprintf(stderr,
			"bench_ring: %s lost or duplicated items "
			"(checksum %llu, want %llu)\n",
			kind_name[kind], (unsigned long long)r.sum,
			(unsigned long long)(n * (n + 1) / 2));
		return -1;
	}
	return (double)n * 1e3 / (double)(r.t_end - r.t_start);
}

/* ------------------------------------------------------------ ping-pong */

struct pp_run {
	struct queue there, back;
	uint64_t rounds;
	uint64_t *one_way_ns; /* rounds samples */
	pthread_barrier_t go;
};

static void *pp_pinger(void *arg)
{
	struct pp_run *r = arg;
	pin_self(0);
	pthread_barrier_wait(&r->go);
	for (uint64_t i = 0; i < r->rounds; i++) {
		uint64_t t0 = now_ns();
		push_wait(&r->there, (void *)(uintptr_t)(i + 1));
		pop_wait(&r->back);
		r->one_way_ns[i] = (now_ns() - t0) / 2;
	}
	return NULL;
}

static void *pp_ponger(void *arg)
{
	struct pp_run *r = arg;
	pin_self(1);
	pthread_barrier_wait(&r->go);
	for (uint64_t i = 0; i < r->rounds; i++)
		push_wait(&r->back, pop_wait(&r->there));
	return NULL;
}

static int run_pingpong(enum kind kind, uint64_t rounds, uint64_t *samples)
{
	struct pp_run r = {.rounds = rounds, .one_way_ns = samples};
	if (queue_init(&r.there, kind, 16) != 0)
		return -1;
	if (queue_init(&r.back, kind, 16) != 0) {
		queue_destroy(&r.there);
		return -1;
	}
	pthread_barrier_init(&r.go, NULL, 2);
	pthread_t a, b;
	pthread_create(&b, NULL, pp_ponger, &r);
	pthread_create(&a, NULL, pp_pinger, &r);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_barrier_destroy(&r.go);
	queue_destroy(&r.there);
	queue_destroy(&r.back);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t percentile(const uint64_t *sorted, size_t n, double pct)
{
	size_t i = (size_t)(pct / 100.0 * (double)(n - 1) + 0.5);
	return sorted[i < n ? i : n - 1];
}

/* ------------------------------------------------------------------ main */

struct result {
	double mitems_s; /* best of the repeats */
	uint64_t p50_ns, p99_ns;
	bool failed;
};

int main(void)
{
	uint64_t items = env_u64("BENCH_RING_ITEMS", 10000000);
	uint64_t rounds = env_u64("BENCH_RING_ROUNDS", 100000);
	uint64_t repeat = env_u64("BENCH_RING_REPEAT", 3);
	uint64_t cap = env_u64("BENCH_RING_CAPACITY", 1024);
	choose_cpus();

	printf("bench_ring: %llu items per throughput run (capacity %llu), "
	       "%llu ping-pong round trips (capacity 16), %llu repeats, ",
	       (unsigned long long)items, (unsigned long long)cap,
	       (unsigned long long)rounds, (unsigned long long)repeat);
	if (pin_cpu[0] >= 0)
		printf("threads pinned to CPUs %d and %d\n", pin_cpu[0],
		       pin_cpu[1]);
	else
		printf("threads not pinned (fewer than two CPUs available)\n");

	struct result res[KINDS] = {0};
	uint64_t *samples[KINDS], kind_rounds[KINDS];
	for (int k = 0; k < KINDS; k++) {
		/* A condvar round trip costs ~50 us: fewer of them give the
		 * same percentiles in a fraction of the time. */
		kind_rounds[k] =
		    k == MUTEX_QUEUE && rounds > 10000 ? 10000 : rounds;
		samples[k] = calloc(kind_rounds[k] * repeat, sizeof(uint64_t));
		if (!samples[k]) {
			fprintf(stderr, "bench_ring: out of memory\n");
			return 1;
		}
	}

	/* Interleave the queues in every repeat so that load from other
	 * processes spreads over all of them alike. */
	for (uint64_t rep = 0; rep < repeat; rep++) {
		for (int k = 0; k < KINDS; k++) {
			double m = run_throughput(k, cap, items);
			if (m < 0)
				res[k].failed = true;
			else if (m > res[k].mitems_s)
				res[k].mitems_s = m;
			if (run_pingpong(k, kind_rounds[k],
					 samples[k] + rep * kind_rounds[k]) !=
			    0)
				res[k].failed = true;
		}
	}
	for (int k = 0; k < KINDS; k++) {
		size_t n = kind_rounds[k] * repeat;
		qsort(samples[k], n, sizeof(uint64_t), cmp_u64);
		res[k].p50_ns = percentile(samples[k], n, 50);
		res[k].p99_ns = percentile(samples[k], n, 99);
		free(samples[k]);
	}

	const struct result *ck = &res[CK_RING];
	printf("%-26s %10s %8s %8s %14s %14s\n", "queue", "Mitems/s", "p50 ns",
	       "p99 ns", "thr vs ck_ring", "p50 vs ck_ring");
	int failed = 0;
	for (int k = 0; k < KINDS; k++) {
		const struct result *r = &res[k];
		if (r->failed) {
			printf("%-26s FAILED\n", kind_name[k]);
			failed = 1;
			continue;
		}
		printf(
		    "%-26s %10.1f %8llu %8llu %13.2fx %13.2fx\n", kind_name[k],
		    r->mitems_s, (unsigned long long)r->p50_ns,
		    (unsigned long long)r->p99_ns, r->mitems_s / ck->mitems_s,
		    (double)r->p50_ns / (double)(ck->p50_ns ? ck->p50_ns : 1));
	}
	printf("ratios: throughput > 1 means faster than ck_ring, p50 < 1 "
	       "means lower latency than ck_ring\n");
	printf("vp_ring vs mutex+condvar: %.1fx throughput, %.1fx lower p50\n",
	       res[VP_RING].mitems_s / res[MUTEX_QUEUE].mitems_s,
	       (double)res[MUTEX_QUEUE].p50_ns /
		   (double)(res[VP_RING].p50_ns ? res[VP_RING].p50_ns : 1));
	return failed;
}
