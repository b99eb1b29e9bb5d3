/* The worker threads: each runs one connection's request (its body, its
 * handler, a PutMedia or GetMedia for as long as it lasts) and hands the
 * connection back. At most --max-requests threads, started when needed and
 * kept once started; a request that finds them all busy is refused by the
 * loop. Connections come back through a queue and a byte on wake_fd, so
 * the pool never calls the loop (loop.c), and only the loop closes. */
#include "kvs_local.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;	     /* a connection was queued, or stop */
	pthread_cond_t finished;     /* a worker ended */
	struct kl_conn *head, *tail; /* to serve, linked by next */
	struct kl_conn *back;	     /* served, for the loop */
	int threads, idle, queued, max;
	bool stopping;
	int wake_fd;
	pthread_t *started; /* joined at stop: a thread's exit (OpenSSL's
			       per-thread state freed) ends before ours */
	int n_started;
} pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work = PTHREAD_COND_INITIALIZER,
    .finished = PTHREAD_COND_INITIALIZER,
    .wake_fd = -1,
};

int kl_pool_init(int max_threads, int wake_fd)
{
	pool.started = calloc((size_t)max_threads, sizeof *pool.started);
	pool.max = pool.started ? max_threads : 0;
	pool.wake_fd = wake_fd;
	return pool.started ? 0 : -1;
}

static void give_back(struct kl_conn *c, bool keep)
{
	if (!keep)
		c->close_after = true;
	pthread_mutex_lock(&pool.lock);
	c->next = pool.back;
	pool.back = c;
	pthread_mutex_unlock(&pool.lock);
	ssize_t rc = write(pool.wake_fd, "c", 1);
	(void)rc; /* a full pipe already wakes the loop */
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "kvs-local-req"); /* top -H, tests */
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (!pool.head && !pool.stopping) {
			pool.idle++;
			pthread_cond_wait(&pool.work, &pool.lock);
			pool.idle--;
		}
		struct kl_conn *c = pool.head;
		if (!c)
			break; /* stopping, nothing queued */
		pool.head = c->next;
		if (!pool.head)
			pool.tail = NULL;
		pool.queued--;
		pthread_mutex_unlock(&pool.lock);
		give_back(c, kl_serve_pending(c));
		pthread_mutex_lock(&pool.lock);
	}
	pool.threads--;
	pthread_cond_broadcast(&pool.finished);
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

/* With pool.lock held. */
static bool start_worker(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, worker, NULL))
		return false;
	pool.started[pool.n_started++] = t;
	return true;
}

bool kl_pool_submit(struct kl_conn *c)
{
	pthread_mutex_lock(&pool.lock);
	bool ok = !pool.stopping;
	if (ok && pool.idle <= pool.queued) {
		ok = pool.threads < pool.max && start_worker();
		pool.threads += ok;
	}
	if (ok) {
		c->next = NULL;
		if (pool.tail)
			pool.tail->next = c;
		else
			pool.head = c;
		pool.tail = c;
		pool.queued++;
		pthread_cond_signal(&pool.work);
	}
	pthread_mutex_unlock(&pool.lock);
	return ok;
}

struct kl_conn *kl_pool_take_back(void)
{
	pthread_mutex_lock(&pool.lock);
	struct kl_conn *c = pool.back;
	if (c)
		pool.back = c->next;
	pthread_mutex_unlock(&pool.lock);
	return c;
}

int kl_pool_threads(void)
{
	pthread_mutex_lock(&pool.lock);
	int n = pool.threads;
	pthread_mutex_unlock(&pool.lock);
	return n;
}

int kl_pool_stop(int wait_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&pool.lock);
	pool.stopping = true;
	pthread_cond_broadcast(&pool.work);
	while (pool.threads > 0 &&
	       pthread_cond_timedwait(&pool.finished, &pool.lock, &until) !=
		   ETIMEDOUT)
		;
	int left = pool.threads;
	pthread_mutex_unlock(&pool.lock);
	if (left == 0) {
		for (int i = 0; i < pool.n_started; i++)
			pthread_join(pool.started[i], NULL);
		free(pool.started);
		pool.started = NULL;
		pool.n_started = 0;
	}
	return left;
}
