/* The SPSC ring behind every link (kernel/ring.h).
 *
 * Single-threaded: capacity rounding, full/empty edges, FIFO order across
 * many wraps and across the 2^64 index wrap, steal on empty and non-empty.
 * Two threads: millions of items in order with nothing lost or duplicated,
 * payload written before push visible after pop (TSan checks the
 * happens-before), and the drop-oldest race (producer vp_ring_steal against
 * consumer vp_ring_pop_shared) where every item must be taken exactly once
 * by exactly one side. A third thread samples vp_ring_count meanwhile: the
 * depth it reports must stay within [0, capacity].
 *
 * VPIPE_RING_TEST_ITEMS overrides the item count of the threaded cases
 * (the default is smaller under sanitizers, which run ~10x slower).
 */
#include "tests/unit/check.h"
#include "kernel/ring.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define DEFAULT_ITEMS 1000000u
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define DEFAULT_ITEMS 1000000u
#endif
#endif
#ifndef DEFAULT_ITEMS
#define DEFAULT_ITEMS 3000000u
#endif

static uint64_t items_to_move(void)
{
	const char *s = getenv("VPIPE_RING_TEST_ITEMS");
	if (s && *s) {
		char *end;
		unsigned long long n = strtoull(s, &end, 10);
		if (*end == '\0' && n > 0)
			return n;
	}
	return DEFAULT_ITEMS;
}

/* Items are sequence numbers 1..n carried as pointers (NULL means empty). */
static void *item(uint64_t seq)
{
	return (void *)(uintptr_t)seq;
}

static uint64_t seq_of(void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Two cores are shared by many processes here: back off to the scheduler
 * instead of spinning on a core the other side may need. */
static void backoff(unsigned *spins)
{
	if (++*spins > 64) {
		sched_yield();
		*spins = 0;
	}
}

static void test_capacity_rounding(void)
{
	static const struct {
		size_t asked, got;
	} cases[] = {
	    {0, 2},	      {1, 2},	    {2, 2},	  {3, 4},
	    {4, 4},	      {5, 8},	    {63, 64},	  {64, 64},
	    {65, 128},	      {1000, 1024}, {1024, 1024}, {1025, 2048},
	    {100000, 131072},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vp_ring r;
		CHECK_EQ_INT(vp_ring_init(&r, cases[i].asked), 0);
		CHECK_EQ_INT(vp_ring_capacity(&r), cases[i].got);
		/* exactly `capacity` pushes fit, no spare slot */
		size_t pushed = 0;
		while (pushed <= cases[i].got &&
		       vp_ring_push(&r, item(pushed + 1)))
			pushed++;
		CHECK_EQ_INT(pushed, cases[i].got);
		vp_ring_destroy(&r);
		CHECK(r.slots == NULL);
	}

	/* Sizes whose slot array cannot be addressed are refused, not wrapped.
	 */
	struct vp_ring r;
	CHECK_EQ_INT(vp_ring_init(&r, SIZE_MAX), -1);
	CHECK_EQ_INT(vp_ring_init(&r, SIZE_MAX / 2 + 2), -1);
	CHECK_EQ_INT(vp_ring_init(&r, (SIZE_MAX / sizeof(void *)) + 1), -1);
}

static void test_full_and_empty_edges(void)
{
	struct vp_ring r;
	CHECK_EQ_INT(vp_ring_init(&r, 4), 0);
	CHECK(vp_ring_pop(&r) == NULL);
	CHECK(vp_ring_pop_shared(&r) == NULL);
	CHECK(vp_ring_steal(&r) == NULL);
	CHECK(vp_ring_empty(&r));
	CHECK(!vp_ring_full(&r));
	CHECK_EQ_INT(vp_ring_count(&r), 0);

	for (uint64_t i = 1; i <= 4; i++) {
		CHECK(vp_ring_push(&r, item(i)));
		CHECK_EQ_INT(vp_ring_count(&r), i);
	}
	CHECK(vp_ring_full(&r));
	CHECK(!vp_ring_empty(&r));
	CHECK(!vp_ring_push(&r, item(5)));
	CHECK_EQ_INT(vp_ring_count(&r), 4); /* a refused push changes nothing */

	/* One pop makes exactly one slot free again. */
	CHECK_EQ_INT(seq_of(vp_ring_pop(&r)), 1);
	CHECK(!vp_ring_full(&r));
	CHECK(vp_ring_push(&r, item(5)));
	CHECK(!vp_ring_push(&r, item(6)));
	for (uint64_t i = 2; i <= 5; i++)
		CHECK_EQ_INT(seq_of(vp_ring_pop(&r)), i);
	CHECK(vp_ring_pop(&r) == NULL);
	CHECK(vp_ring_empty(&r));
	vp_ring_destroy(&r);
}

/* FIFO through many wraps of the slot array, with varying fill levels. */
static void test_order_across_wraps(void)
{
	struct vp_ring r;
	CHECK_EQ_INT(vp_ring_init(&r, 8), 0);
	uint64_t next_in = 1, next_out = 1;
	int bad = 0;
	for (unsigned round = 0; round < 1000; round++) {
		unsigned burst = 1 + round % 8;
		for (unsigned i = 0; i < burst; i++)
			if (vp_ring_push(&r, item(next_in)))
				next_in++;
		unsigned drain = 1 + (round * 7) % 8;
		for (unsigned i = 0; i < drain; i++) {
			void *p = vp_ring_pop(&r);
			if (!p)
				break;
			bad += seq_of(p) != next_out++;
		}
		bad += vp_ring_count(&r) != next_in - next_out;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(next_in > 8 * 100); /* the ring wrapped at least 100 times */
	vp_ring_destroy(&r);
}

/* Indices run freely and wrap at 2^64: start just below it. */
static void test_index_wrap_at_2_64(void)
{
	struct vp_ring r;
	CHECK_EQ_INT(vp_ring_init(&r, 4), 0);
	const uint64_t start = UINT64_MAX - 5;
	atomic_store(&r.head, start);
	atomic_store(&r.tail, start);
	r.head_cache = start;
	r.tail_cache = start;

	uint64_t next_in = 1, next_out = 1;
	for (int round = 0; round < 6; round++) {
		while (vp_ring_push(&r, item(next_in)))
			next_in++;
		CHECK(vp_ring_full(&r));
		CHECK_EQ_INT(vp_ring_count(&r), 4);
		CHECK_EQ_INT(seq_of(vp_ring_pop(&r)), next_out++);
		CHECK_EQ_INT(seq_of(vp_ring_pop_shared(&r)), next_out++);
		CHECK_EQ_INT(seq_of(vp_ring_steal(&r)), next_out++);
		CHECK_EQ_INT(vp_ring_count(&r), 1);
	}
	CHECK(atomic_load(&r.tail) < start); /* really wrapped */
	while (next_out < next_in)
		CHECK_EQ_INT(seq_of(vp_ring_pop(&r)), next_out++);
	CHECK(vp_ring_empty(&r));
	vp_ring_destroy(&r);
}

static void test_steal_single_thread(void)
{
	struct vp_ring r;
	CHECK_EQ_INT(vp_ring_init(&r, 4), 0);
	for (uint64_t i = 1; i <= 4; i++)
		CHECK(vp_ring_push(&r, item(i)));
	/* drop-oldest: steal the oldest, then the push fits */
	CHECK(!vp_ring_push(&r, item(5)));
	CHECK_EQ_INT(seq_of(vp_ring_steal(&r)), 1);
	CHECK(vp_ring_push(&r, item(5)));
	CHECK_EQ_INT(seq_of(vp_ring_pop_shared(&r)), 2);
	CHECK_EQ_INT(seq_of(vp_ring_steal(&r)), 3);
	CHECK_EQ_INT(seq_of(vp_ring_pop_shared(&r)), 4);
	CHECK_EQ_INT(seq_of(vp_ring_pop_shared(&r)), 5);
	CHECK(vp_ring_steal(&r) == NULL);
	CHECK(vp_ring_pop_shared(&r) == NULL);
	CHECK(vp_ring_empty(&r));
	vp_ring_destroy(&r);
}

/* ----------------------------------------------------- two threads, SPSC */

struct spsc_run {
	struct vp_ring ring;
	uint64_t n;
	uint64_t *payload; /* written by the producer before each push */
	/* consumer results */
	uint64_t received, out_of_order, payload_mismatch;
	atomic_bool done; /* observer stops when set */
	/* observer results */
	uint64_t samples, bad_counts, max_count;
};

static void *spsc_producer(void *arg)
{
	struct spsc_run *s = arg;
	unsigned spins = 0;
	for (uint64_t i = 1; i <= s->n; i++) {
		/* Plain (non-atomic) write: only the ring's release/acquire
		 * makes it visible to the consumer. */
		s->payload[i] = i * 2654435761u;
		while (!vp_ring_push(&s->ring, &s->payload[i]))
			backoff(&spins);
	}
	return NULL;
}

static void *spsc_consumer(void *arg)
{
	struct spsc_run *s = arg;
	unsigned spins = 0;
	uint64_t expect = 1;
	while (expect <= s->n) {
		uint64_t *p = vp_ring_pop(&s->ring);
		if (!p) {
			backoff(&spins);
			continue;
		}
		uint64_t seq = (uint64_t)(p - s->payload);
		s->out_of_order += seq != expect;
		s->payload_mismatch += *p != seq * 2654435761u;
		s->received++;
		expect = seq + 1;
	}
	return NULL;
}

/* Samples the depth from a thread that owns neither index, as a metrics
 * reader would. */
static void *count_observer(void *arg)
{
	struct spsc_run *s = arg;
	size_t cap = vp_ring_capacity(&s->ring);
	while (!atomic_load_explicit(&s->done, memory_order_acquire)) {
		for (int burst = 0; burst < 32; burst++) {
			size_t c = vp_ring_count(&s->ring);
			s->samples++;
			s->bad_counts += c > cap;
			if (c > s->max_count && c <= cap)
				s->max_count = c;
		}
		sched_yield();
	}
	return NULL;
}

static void run_spsc(size_t capacity, uint64_t n)
{
	struct spsc_run s = {.n = n};
	CHECK_EQ_INT(vp_ring_init(&s.ring, capacity), 0);
	s.payload = calloc(n + 1, sizeof(*s.payload));
	CHECK(s.payload != NULL);
	if (!s.payload)
		return;
	pthread_t prod, cons, obs;
	pthread_create(&obs, NULL, count_observer, &s);
	pthread_create(&cons, NULL, spsc_consumer, &s);
	pthread_create(&prod, NULL, spsc_producer, &s);
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	atomic_store_explicit(&s.done, true, memory_order_release);
	pthread_join(obs, NULL);

	printf("spsc capacity %zu: %llu items, %llu depth samples (max %llu)\n",
	       vp_ring_capacity(&s.ring), (unsigned long long)s.received,
	       (unsigned long long)s.samples, (unsigned long long)s.max_count);
	CHECK_EQ_INT(s.received, n);
	CHECK_EQ_INT(s.out_of_order, 0);
	CHECK_EQ_INT(s.payload_mismatch, 0);
	CHECK_EQ_INT(s.bad_counts, 0);
	CHECK(vp_ring_empty(&s.ring));
	CHECK(vp_ring_pop(&s.ring) == NULL);
	free(s.payload);
	vp_ring_destroy(&s.ring);
}

/* ------------------------------------- two threads, drop-oldest (steal) */

struct steal_run {
	struct vp_ring ring;
	uint64_t n;
	/* taken_by_*[seq] is written only by that side's thread */
	unsigned char *taken_by_consumer, *taken_by_producer;
	uint64_t consumer_out_of_order, producer_out_of_order;
	uint64_t stolen, popped, consumer_bad_counts;
	atomic_bool producer_done;
	atomic_bool done;
	uint64_t samples, bad_counts, max_count;
};

static void steal_one(struct steal_run *s, uint64_t *last_stolen)
{
	void *p = vp_ring_steal(&s->ring);
	if (!p)
		return;
	uint64_t seq = seq_of(p);
	s->producer_out_of_order += seq <= *last_stolen;
	*last_stolen = seq;
	if (seq <= s->n)
		s->taken_by_producer[seq]++;
	s->stolen++;
}

static void *steal_producer(void *arg)
{
	struct steal_run *s = arg;
	uint64_t last_stolen = 0;
	uint32_t rng = 12345;
	for (uint64_t i = 1; i <= s->n; i++) {
		/* Now and then steal while not full, to race the consumer on
		 * the same head in every fill state. */
		rng = rng * 1103515245u + 12345u;
		if ((rng >> 16) % 16 == 0)
			steal_one(s, &last_stolen);
		/* drop-oldest: when full, steal the oldest to make room */
		while (!vp_ring_push(&s->ring, item(i)))
			steal_one(s, &last_stolen);
	}
	atomic_store_explicit(&s->producer_done, true, memory_order_release);
	return NULL;
}

static void *steal_consumer(void *arg)
{
	struct steal_run *s = arg;
	uint64_t last = 0;
	unsigned spins = 0;
	for (;;) {
		/* Read before the pop: done, then empty, means empty for good.
		 */
		bool finished = atomic_load_explicit(&s->producer_done,
						     memory_order_acquire);
		void *p = vp_ring_pop_shared(&s->ring);
		if (!p) {
			/* The scheduler re-checks emptiness from the consumer
			 * while the producer may push and steal. */
			s->consumer_bad_counts += vp_ring_count(&s->ring) >
						  vp_ring_capacity(&s->ring);
			if (finished)
				break;
			backoff(&spins);
			continue;
		}
		uint64_t seq = seq_of(p);
		s->consumer_out_of_order += seq <= last;
		last = seq;
		if (seq <= s->n)
			s->taken_by_consumer[seq]++;
		s->popped++;
	}
	return NULL;
}

static void *steal_observer(void *arg)
{
	struct steal_run *s = arg;
	size_t cap = vp_ring_capacity(&s->ring);
	while (!atomic_load_explicit(&s->done, memory_order_acquire)) {
		for (int burst = 0; burst < 32; burst++) {
			size_t c = vp_ring_count(&s->ring);
			s->samples++;
			s->bad_counts += c > cap;
			if (c > s->max_count && c <= cap)
				s->max_count = c;
		}
		sched_yield();
	}
	return NULL;
}

static void run_steal(size_t capacity, uint64_t n)
{
	struct steal_run s = {.n = n};
	CHECK_EQ_INT(vp_ring_init(&s.ring, capacity), 0);
	s.taken_by_consumer = calloc(n + 1, 1);
	s.taken_by_producer = calloc(n + 1, 1);
	CHECK(s.taken_by_consumer && s.taken_by_producer);
	if (!s.taken_by_consumer || !s.taken_by_producer)
		return;
	pthread_t prod, cons, obs;
	pthread_create(&obs, NULL, steal_observer, &s);
	pthread_create(&cons, NULL, steal_consumer, &s);
	pthread_create(&prod, NULL, steal_producer, &s);
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	atomic_store_explicit(&s.done, true, memory_order_release);
	pthread_join(obs, NULL);

	uint64_t never = 0, twice = 0;
	for (uint64_t i = 1; i <= n; i++) {
		unsigned times =
		    s.taken_by_consumer[i] + s.taken_by_producer[i];
		never += times == 0;
		twice += times > 1;
	}
	printf("drop-oldest capacity %zu: %llu items, %llu popped, %llu "
	       "stolen, %llu depth samples (max %llu)\n",
	       vp_ring_capacity(&s.ring), (unsigned long long)n,
	       (unsigned long long)s.popped, (unsigned long long)s.stolen,
	       (unsigned long long)s.samples, (unsigned long long)s.max_count);
	CHECK_EQ_INT(never, 0);
	CHECK_EQ_INT(twice, 0);
	CHECK_EQ_INT(s.popped + s.stolen, n);
	CHECK_EQ_INT(s.consumer_out_of_order, 0);
	CHECK_EQ_INT(s.producer_out_of_order, 0);
	CHECK(s.stolen > 0);
	CHECK(s.popped > 0);
	CHECK_EQ_INT(s.bad_counts, 0);
	CHECK_EQ_INT(s.consumer_bad_counts, 0);
	CHECK(vp_ring_empty(&s.ring));
	free(s.taken_by_consumer);
	free(s.taken_by_producer);
	vp_ring_destroy(&s.ring);
}

/* A ring that loses an item or lets head pass tail leaves one side
 * waiting forever: fail with a reason instead of hanging. */
static void on_stuck(int sig)
{
	static const char msg[] = "test_ring: no progress after 300 s: an item "
				  "was lost or head passed tail\n";
	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

int main(void)
{
	uint64_t n = items_to_move();
	signal(SIGALRM, on_stuck);
	alarm(300);
	test_capacity_rounding();
	test_full_and_empty_edges();
	test_order_across_wraps();
	test_index_wrap_at_2_64();
	test_steal_single_thread();
	/* The smallest ring hits full and empty on nearly every operation;
	 * a link-sized one runs mostly in the cached-index fast path. */
	run_spsc(2, n / 4);
	run_spsc(256, n);
	run_steal(2, n / 4);
	run_steal(16, n / 2);
	return check_done();
}
