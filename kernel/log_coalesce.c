/* Coalesced logging: a message repeated at one call site (node and format
 * string) is written at most once per interval, with a count of the ones
 * held back, so an hour offline does not write thousands of lines to an
 * SD card. The supervising thread calls vp_log_coalesce_flush() so the
 * count of a storm that ended is written too. */
#include "internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SLOTS 64

struct site {
	const struct vpipe_node *node;
	const char *fmt; /* NULL: free slot */
	int level;
	int64_t since;	/* start of the current interval */
	uint64_t held;	/* messages held back in it */
	char last[512]; /* the last one held back */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct site sites[SLOTS];
static int64_t interval = VP_LOG_COALESCE_INTERVAL;

void vp_log_set_coalesce_interval(int64_t ns)
{
	pthread_mutex_lock(&lock);
	interval = ns;
	pthread_mutex_unlock(&lock);
}

static struct site *site_for(const struct vpipe_node *node, const char *fmt)
{
	struct site *free_slot = NULL;
	for (unsigned i = 0; i < SLOTS; i++) {
		if (sites[i].fmt == fmt && sites[i].node == node)
			return &sites[i];
		if (!sites[i].fmt && !free_slot)
			free_slot = &sites[i];
	}
	return free_slot;
}

static void log_held(struct vpipe_node *node, int level, const char *msg,
		     uint64_t held, int64_t span)
{
	vpipe_log(node, level, "%s (%llu like this in the last %.0f s)", msg,
		  (unsigned long long)held, (double)span / 1e9);
}

void vpipe_log_coalesced(struct vpipe_node *node, int level, const char *fmt,
			 ...)
{
	if (!vpipe_log_enabled(level))
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int64_t now = vpipe_now();
	pthread_mutex_lock(&lock);
	struct site *s = site_for(node, fmt);
	if (!s) { /* every slot taken: better a line too many than none */
		pthread_mutex_unlock(&lock);
		vpipe_log(node, level, "%s", msg);
		return;
	}
	if (s->fmt && now - s->since < interval) {
		s->held++;
		memcpy(s->last, msg, sizeof(s->last));
		pthread_mutex_unlock(&lock);
		return;
	}
	uint64_t held = s->fmt ? s->held : 0;
	int64_t span = now - s->since;
	s->node = node;
	s->fmt = fmt;
	s->level = level;
	s->since = now;
	s->held = 0;
	pthread_mutex_unlock(&lock);
	if (held)
		log_held(node, level, msg, held + 1, span);
	else
		vpipe_log(node, level, "%s", msg);
}

/* Write what intervals that are over held back; free quiet slots. With
 * `node`, only (and all of) that node's, now: it is about to go. Returns
 * when the next interval ends (-1: nothing held). */
static int64_t flush(const struct vpipe_node *node)
{
	int64_t now = vpipe_now(), next = -1;
	for (unsigned i = 0; i < SLOTS; i++) {
		pthread_mutex_lock(&lock);
		struct site *s = &sites[i];
		if (!s->fmt || (node && s->node != node)) {
			pthread_mutex_unlock(&lock);
			continue;
		}
		bool over = node || now - s->since >= interval;
		if (!over) {
			int64_t end = s->since + interval;
			if (s->held && (next < 0 || end < next))
				next = end;
			pthread_mutex_unlock(&lock);
			continue;
		}
		uint64_t held = s->held;
		int64_t span = now - s->since;
		char msg[sizeof(s->last)];
		memcpy(msg, s->last, sizeof(msg));
		struct vpipe_node *who = (struct vpipe_node *)s->node;
		int level = s->level;
		if (held && !node) { /* a new interval with nothing held yet */
			s->since = now;
			s->held = 0;
		} else {
			s->fmt = NULL;
		}
		pthread_mutex_unlock(&lock);
		if (held)
			log_held(who, level, msg, held, span);
	}
	return next;
}

int64_t vp_log_coalesce_flush(void)
{
	return flush(NULL);
}

void vp_log_coalesce_forget(const struct vpipe_node *node)
{
	flush(node);
}
