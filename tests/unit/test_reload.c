/* Reload inside one process: a graph of two chains runs in a thread; a
 * SIGHUP with chain b's section changed rebuilds chain b only (chain a's
 * nodes are the same objects and go on counting frames); a file with an
 * error changes nothing; a file with a chain added starts it. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/config.h"
#include "kernel/graph.h"
#include "tests/unit/check.h"

/* what the "file" holds now (atomic: the reload reads it in another thread,
 * after a signal TSan does not see as ordering) */
static _Atomic(const char *) text;

static struct vp_config *load(void *ctx)
{
	(void)ctx;
	return vp_config_load_string("test.ini", text);
}

#define CHAIN(x, rate)                                                         \
	"[" x                                                                  \
	"]\nmodule = testsrc\nwidth = 16\nheight = 16\nframerate = " rate      \
	"\n[" x "-out]\nmodule = null\ninput = " x "\n"

static const char *const two = CHAIN("a", "100") CHAIN("b", "100");
static const char *const b_changed = CHAIN("a", "100") CHAIN("b", "50");
static const char *const broken = CHAIN("a", "100") "[b]\nmodule = nosuch\n";
static const char *const three =
    CHAIN("a", "100") CHAIN("b", "50") CHAIN("c", "100");

static void *run(void *arg)
{
	struct vp_pipeline *pl = arg;
	static int rc;
	rc = vp_pipeline_run(pl, 0);
	return &rc;
}

/* SIGHUP to ourselves; returns once the reload is over. */
static void reload(struct vp_pipeline *pl, const char *new_text)
{
	unsigned before = atomic_load(&pl->reloads);
	text = new_text;
	kill(getpid(), SIGHUP);
	for (int i = 0; i < 500 && atomic_load(&pl->reloads) == before; i++)
		usleep(10000);
	CHECK(atomic_load(&pl->reloads) == before + 1);
}

static uint64_t frames(struct vp_pipeline *pl, const char *name)
{
	struct vpipe_node *n = vp_graph_find(pl, name);
	return n ? atomic_load(&n->frames_in) : 0;
}

int main(void)
{
	/* Every thread blocks the signals vpipe reads from its signalfd. */
	sigset_t set;
	vp_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	text = two;
	struct vp_config *cfg = load(NULL);
	struct vp_pipeline *pl = vp_graph_build(cfg, true);
	CHECK(pl != NULL);
	if (!pl)
		return check_done();
	vp_pipeline_enable_reload(pl, load, NULL);
	pthread_t t;
	pthread_create(&t, NULL, run, pl);
	usleep(200000);
	struct vpipe_node *a = vp_graph_find(pl, "a-out"),
			  *b = vp_graph_find(pl, "b-out");

	reload(pl, b_changed);
	CHECK(vp_graph_find(pl, "a-out") == a); /* kept: the same node */
	CHECK(vp_graph_find(pl, "b-out") != b); /* rebuilt */
	CHECK_EQ_INT(pl->n_nodes, 4);
	CHECK_EQ_INT(pl->n_links, 2);
	uint64_t a_before = frames(pl, "a-out");
	usleep(200000);
	CHECK(frames(pl, "a-out") > a_before);
	CHECK(frames(pl, "b-out") > 0);

	b = vp_graph_find(pl, "b-out");
	reload(pl, broken);
	CHECK(vp_graph_find(pl, "a-out") == a);
	CHECK(vp_graph_find(pl, "b-out") == b);

	reload(pl, three);
	CHECK(vp_graph_find(pl, "a-out") == a);
	CHECK(vp_graph_find(pl, "b-out") == b);
	CHECK_EQ_INT(pl->n_nodes, 6);
	usleep(200000);
	CHECK(frames(pl, "c-out") > 0);

	kill(getpid(), SIGTERM);
	void *rc;
	pthread_join(t, &rc);
	CHECK_EQ_INT(*(int *)rc, 0);
	vp_graph_free(pl);
	vp_config_free(cfg);
	return check_done();
}
