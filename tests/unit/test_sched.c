/* The scheduler end to end inside one process: a chain with fan-out,
 * lossless `block` links, leaky links that count their drops, and end of
 * stream draining everything. Runs under TSan in `make check`. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/config.h"
#include "kernel/fuse.h"
#include "kernel/graph.h"
#include "tests/unit/check.h"

static struct vp_link *link_to(struct vp_pipeline *pl, const char *to)
{
	for (unsigned i = 0; i < pl->n_links; i++)
		if (!strcmp(pl->links[i]->to->name, to))
			return pl->links[i];
	return NULL;
}

static struct vp_pipeline *build(const char *ini)
{
	struct vp_config *cfg = vp_config_load_string("test.ini", ini);
	struct vp_pipeline *pl = vp_graph_build(cfg, true);
	CHECK(pl != NULL);
	return pl;
}

static void finish(struct vp_pipeline *pl)
{
	struct vp_config *cfg = pl->cfg;
	vp_graph_free(pl);
	vp_config_free(cfg);
}

static void test_fanout_lossless(void)
{
	struct vp_pipeline *pl = build("[src]\nmodule = testsrc\nwidth = 16\n"
				       "height = 16\nis-live = false\n"
				       "num-frames = 3000\n"
				       "[a]\nmodule = identity\ninput = src\n"
				       "queue-size = 2\n"
				       "[b]\nmodule = identity\ninput = a\n"
				       "[c]\nmodule = null\ninput = b\n"
				       "[d]\nmodule = null\ninput = a\n"
				       "queue-size = 1\n");
	if (!pl)
		return;
	CHECK_EQ_INT(vp_pipeline_run(pl, 0), 0);
	CHECK_EQ_INT(atomic_load(&vp_graph_find(pl, "c")->frames_in), 3000);
	CHECK_EQ_INT(atomic_load(&vp_graph_find(pl, "d")->frames_in), 3000);
	CHECK_EQ_INT(atomic_load(&link_to(pl, "d")->drops), 0);
	/* queue-size 1 rounds up to the ring's smallest power of two */
	CHECK_EQ_INT(link_to(pl, "d")->capacity, 2);
	CHECK(atomic_load(&link_to(pl, "d")->high_water) <= 2);
	finish(pl);
}

static void test_leaky(const char *policy)
{
	char ini[512];
	snprintf(ini, sizeof(ini),
		 "[src]\nmodule = testsrc\nwidth = 16\nheight = 16\n"
		 "is-live = false\nnum-frames = 400\n"
		 "[slow]\nmodule = identity\ninput = src\ndelay = 1ms\n"
		 "queue-size = 4\nqueue-policy = %s\n"
		 "[out]\nmodule = null\ninput = slow\n",
		 policy);
	struct vp_pipeline *pl = build(ini);
	if (!pl)
		return;
	CHECK_EQ_INT(vp_pipeline_run(pl, 0), 0);
	struct vp_link *l = link_to(pl, "slow");
	uint64_t in = atomic_load(&vp_graph_find(pl, "slow")->frames_in);
	uint64_t drops = atomic_load(&l->drops);
	printf("%s: %llu frames through, %llu dropped\n", policy,
	       (unsigned long long)in, (unsigned long long)drops);
	/* every frame is either delivered or counted as dropped */
	CHECK_EQ_INT(in + drops, 400);
	CHECK(drops > 0);
	finish(pl);
}

/* Nodes linked 1:1 share one thread and see every frame in order; the
 * links are direct calls that count frames like queues do. */
static void test_fused_chain(void)
{
	struct vp_pipeline *pl = build("[src]\nmodule = testsrc\nwidth = 16\n"
				       "height = 16\nis-live = false\n"
				       "num-frames = 3000\n"
				       "[a]\nmodule = identity\ninput = src\n"
				       "[b]\nmodule = identity\ninput = a\n"
				       "[c]\nmodule = null\ninput = b\n");
	if (!pl)
		return;
	CHECK_EQ_INT(vp_fuse_threads(pl), 1);
	CHECK(vp_graph_find(pl, "c")->runner == vp_graph_find(pl, "src"));
	CHECK(link_to(pl, "a")->fused && link_to(pl, "c")->fused);
	CHECK_EQ_INT(vp_pipeline_run(pl, 0), 0);
	CHECK_EQ_INT(atomic_load(&vp_graph_find(pl, "c")->frames_in), 3000);
	CHECK_EQ_INT(atomic_load(&link_to(pl, "b")->frames), 3000);
	CHECK_EQ_INT(atomic_load(&link_to(pl, "c")->drops), 0);
	CHECK_EQ_INT(atomic_load(&vp_graph_find(pl, "b")->state_),
		     VP_NODE_FINISHED);
	CHECK(atomic_load(&vp_graph_find(pl, "b")->exited));
	finish(pl);
}

/* What keeps a node in a thread of its own, each rule on its own. */
static void test_fuse_rules(void)
{
	struct vp_pipeline *pl =
	    build("[src]\nmodule = testsrc\n"
		  "[fan1]\nmodule = identity\ninput = src\n"
		  "[fan2]\nmodule = null\ninput = src\n"
		  "[own]\nmodule = identity\ninput = fan1\nthread = own\n"
		  "[queued]\nmodule = identity\ninput = own\nqueue-size = 8\n"
		  "[leaky]\nmodule = identity\ninput = queued\n"
		  "queue-policy = drop-old\n"
		  "[restarts]\nmodule = identity\ninput = leaky\n"
		  "restart = on-error\n"
		  "[fused]\nmodule = identity\ninput = restarts\n"
		  "[file]\nmodule = filesink\ninput = fused\n"
		  "location = /dev/null\n");
	if (!pl)
		return;
	static const struct {
		const char *node, *why;
	} want[] = {
	    {"src", "a source"},
	    {"fan1", "its upstream feeds several links"},
	    {"fan2", "its upstream feeds several links"},
	    {"own", "thread = own"},
	    {"queued", "queue-size or queue-policy asks for a queue"},
	    {"leaky", "queue-size or queue-policy asks for a queue"},
	    {"restarts", "restart = on-error (a restart must not hold its "
			 "upstream)"},
	    {"fused", NULL},
	    {"file", "its module runs a timer"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *why =
		    vp_fuse_reason(vp_graph_find(pl, want[i].node));
		if (want[i].why)
			CHECK(why && !strcmp(why, want[i].why));
		else
			CHECK(why == NULL);
	}
	CHECK_EQ_INT(vp_fuse_threads(pl), 8);
	finish(pl);
}

/* A fused node that fails (restart = never) fails only itself: what it
 * passed on arrives, its consumer ends cleanly, its upstream stops because
 * nobody reads it, and vpipe run reports the failure. */
static void test_fused_failure(void)
{
	struct vp_pipeline *pl = build("[src]\nmodule = testsrc\nwidth = 16\n"
				       "height = 16\nis-live = false\n"
				       "num-frames = 100\n"
				       "[f]\nmodule = identity\ninput = src\n"
				       "fail-after = 5\n"
				       "[out]\nmodule = null\ninput = f\n");
	if (!pl)
		return;
	CHECK_EQ_INT(vp_fuse_threads(pl), 1);
	CHECK_EQ_INT(vp_pipeline_run(pl, 0), 1);
	struct vpipe_node *f = vp_graph_find(pl, "f");
	struct vpipe_node *out = vp_graph_find(pl, "out");
	CHECK_EQ_INT(atomic_load(&f->state_), VP_NODE_FAILED);
	CHECK_EQ_INT(atomic_load(&f->errors), 1);
	CHECK_EQ_INT(atomic_load(&out->state_), VP_NODE_FINISHED);
	CHECK_EQ_INT(atomic_load(&out->frames_in), 5);
	CHECK_EQ_INT(atomic_load(&vp_graph_find(pl, "src")->state_),
		     VP_NODE_FINISHED);
	finish(pl);
}

/* A node fused into one that restarts stays up across the restarts: it
 * gets each DISCONTINUITY and every frame the restarted node passes on. */
static void test_fused_after_restart(void)
{
	struct vp_pipeline *pl = build("[src]\nmodule = testsrc\nwidth = 16\n"
				       "height = 16\nis-live = false\n"
				       "num-frames = 40\n"
				       "[r]\nmodule = identity\ninput = src\n"
				       "fail-after = 5\nrestart = on-error\n"
				       "restart-delay = 1ms\n"
				       "[b]\nmodule = identity\ninput = r\n"
				       "[out]\nmodule = null\ninput = b\n");
	if (!pl)
		return;
	struct vpipe_node *r = vp_graph_find(pl, "r");
	struct vpipe_node *b = vp_graph_find(pl, "b");
	CHECK(b->runner == r && vp_graph_find(pl, "out")->runner == r);
	CHECK_EQ_INT(vp_pipeline_run(pl, 0), 0);
	CHECK(atomic_load(&r->restarts) >= 1);
	CHECK_EQ_INT(atomic_load(&b->restarts), 0);
	CHECK_EQ_INT(atomic_load(&b->frames_in), atomic_load(&r->frames_out));
	CHECK_EQ_INT(atomic_load(&vp_graph_find(pl, "out")->frames_in),
		     atomic_load(&r->frames_out));
	CHECK_EQ_INT(atomic_load(&b->state_), VP_NODE_FINISHED);
	finish(pl);
}

/* Across threads, wake-ups go once per callback and a producer waiting on
 * a full ring is woken when half of it is free: with the tightest sizes (a
 * pool of 2 frames that only the consumer returns, a 2-slot ring) every
 * frame still arrives, none dropped, nothing hangs. */
static void test_deferred_wakes(void)
{
	struct vp_pipeline *pl = build("[src]\nmodule = testsrc\nwidth = 16\n"
				       "height = 16\nis-live = false\n"
				       "num-frames = 5000\npool-size = 2\n"
				       "[a]\nmodule = identity\ninput = src\n"
				       "thread = own\n"
				       "[b]\nmodule = null\ninput = a\n"
				       "queue-size = 2\n");
	if (!pl)
		return;
	CHECK_EQ_INT(vp_fuse_threads(pl), 3);
	CHECK_EQ_INT(vp_pipeline_run(pl, 0), 0);
	CHECK_EQ_INT(atomic_load(&vp_graph_find(pl, "b")->frames_in), 5000);
	CHECK_EQ_INT(atomic_load(&link_to(pl, "b")->drops), 0);
	finish(pl);
}

/* A node whose process() never returns: after the drain timeout and the
 * 1 s grace, vp_pipeline_run gives up on it, names it, and returns 1 with
 * the thread left running (pl->abandoned), while the other nodes ended.
 * The graph cannot be freed afterwards: the test exits. */
static void test_hung_node_given_up(void)
{
	struct vp_pipeline *pl =
	    build("[pipeline]\ndrain-timeout = 200ms\n"
		  "[src]\nmodule = testsrc\nwidth = 16\n"
		  "height = 16\n"
		  "[h]\nmodule = identity\ninput = src\n"
		  "hang-after = 3\nqueue-policy = drop-new\n"
		  "[out]\nmodule = null\ninput = h\n");
	if (!pl)
		return;
	CHECK_EQ_INT(vp_pipeline_run(pl, 300 * VPIPE_MS), 1);
	CHECK_EQ_INT(pl->abandoned, 1);
	struct vpipe_node *h = vp_graph_find(pl, "h");
	CHECK(!atomic_load(&h->exited));
	CHECK_EQ_INT(atomic_load(&h->callback), VP_CB_PROCESS);
	CHECK(atomic_load(&vp_graph_find(pl, "src")->exited));
	CHECK(atomic_load(&vp_graph_find(pl, "out")->exited));
}

int main(void)
{
	if (!getenv("VPIPE_MODULE_PATH")) {
		printf("SKIP: VPIPE_MODULE_PATH not set (run through make "
		       "test)\n");
		return 77;
	}
	test_fanout_lossless();
	test_leaky("drop-new");
	test_leaky("drop-old");
	test_fused_chain();
	test_fuse_rules();
	test_fused_failure();
	test_fused_after_restart();
	test_deferred_wakes();
	test_hung_node_given_up(); /* last: leaves a thread that never ends */
	int rc = check_done();
	fflush(NULL);
	_exit(rc);
}
