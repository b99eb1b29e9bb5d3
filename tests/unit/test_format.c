/* Formats negotiated before the first frame, in a graph built as `vpipe
 * run` builds it: testsrc declares raw I420 64x48 at 25 fps; identity
 * passes it through; x264 sees it in create() and declares H.264 of the
 * same size, which the node after it sees. */
#include <stdlib.h>
#include <string.h>

#include "kernel/config.h"
#include "kernel/graph.h"
#include "tests/unit/check.h"

#define GRAPH                                                                  \
	"[cam]\nmodule = testsrc\nwidth = 64\nheight = 48\nframerate = 25\n"   \
	"is-live = false\nnum-frames = 1\n"                                    \
	"[pass]\nmodule = identity\ninput = cam\n"                             \
	"[enc]\nmodule = x264\ninput = pass\n"                                 \
	"[out]\nmodule = null\ninput = enc\n"

int main(void)
{
	if (!getenv("VPIPE_MODULE_PATH")) {
		printf("SKIP: VPIPE_MODULE_PATH not set (run through make "
		       "test)\n");
		return 77;
	}
	struct vp_config *cfg = vp_config_load_string("test.ini", GRAPH);
	struct vp_pipeline *pl = vp_graph_build(cfg, true);
	if (!pl) {
		printf("SKIP: x264 module not built\n");
		vp_config_free(cfg);
		return 77;
	}
	uint32_t media;
	struct vpipe_format fmt;
	/* Through identity (declared ANY): testsrc's format. */
	struct vpipe_node *enc = vp_graph_find(pl, "enc");
	CHECK_EQ_INT(vpipe_node_input_format(enc, 0, &media, &fmt), 0);
	CHECK_EQ_INT(media, VPIPE_MEDIA_RAW_VIDEO);
	CHECK_EQ_INT(fmt.fourcc, VPIPE_FOURCC_I420);
	CHECK_EQ_INT(fmt.width, 64);
	CHECK_EQ_INT(fmt.height, 48);
	CHECK_EQ_INT(fmt.stride[0], 64);
	CHECK_EQ_INT(fmt.fps_num * 1 == 25 * fmt.fps_den, 1);
	/* What x264 declared in its create(). */
	struct vpipe_node *out = vp_graph_find(pl, "out");
	CHECK_EQ_INT(vpipe_node_input_format(out, 0, &media, &fmt), 0);
	CHECK_EQ_INT(media, VPIPE_MEDIA_H264);
	CHECK_EQ_INT(fmt.fourcc, VPIPE_FOURCC_H264);
	CHECK_EQ_INT(fmt.width, 64);
	CHECK_EQ_INT(fmt.height, 48);
	/* A source has no input; a port without a link says so. */
	CHECK_EQ_INT(
	    vpipe_node_input_format(vp_graph_find(pl, "cam"), 0, &media, &fmt),
	    -1);
	CHECK_EQ_INT(media, 0);
	CHECK_EQ_INT(fmt.fourcc, 0);
	/* And the graph runs with the encoder opened in start(). */
	CHECK_EQ_INT(vp_pipeline_run(pl, 0), 0);
	CHECK_EQ_INT(atomic_load(&out->frames_in), 1);
	vp_graph_free(pl);
	vp_config_free(cfg);
	return check_done();
}
