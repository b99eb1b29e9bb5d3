/* testsrc: synthetic raw video with the frame number in the picture. */
#include <stdlib.h>

#include <vpipe/vpipe.h>

#include "testpattern.h"

struct testsrc_config {
	int64_t width, height;
	double framerate;
	int format;
	int64_t num_frames;
	bool is_live;
};

static const char *const formats[] = {"i420", "nv12", NULL};

static const struct vpipe_param params[] = {
    VPIPE_P_INT("width", struct testsrc_config, width, "640", 16, 7680,
		"picture width in pixels"),
    VPIPE_P_INT("height", struct testsrc_config, height, "480", 16, 4320,
		"picture height in pixels"),
    VPIPE_P_DOUBLE("framerate", struct testsrc_config, framerate, "30", 0.1,
		   240, "frames per second"),
    VPIPE_P_ENUM("format", struct testsrc_config, format, "i420", formats,
		 "pixel format"),
    VPIPE_P_INT("num-frames", struct testsrc_config, num_frames, "-1", -1, 1e15,
		"frames to produce, then end of stream (-1: no end)"),
    VPIPE_P_BOOL("is-live", struct testsrc_config, is_live, "true",
		 "pace frames in real time like a camera (false: as fast "
		 "as downstream takes them)"),
    VPIPE_P_END,
};

struct testsrc {
	struct vpipe_node *node;
	const struct testsrc_config *cfg;
	struct vpipe_format fmt;
	size_t frame_size;
	int64_t frame_ns;
	int64_t start;
	uint64_t n;
};

static int testsrc_create(struct vpipe_node *node, const void *config,
			  void **state)
{
	const struct testsrc_config *cfg = config;
	struct testsrc *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->node = node;
	s->cfg = cfg;
	uint32_t fourcc =
	    cfg->format == 0 ? VPIPE_FOURCC_I420 : VPIPE_FOURCC_NV12;
	s->frame_size = vpipe_format_raw_init(
	    &s->fmt, fourcc, (uint32_t)cfg->width, (uint32_t)cfg->height);
	s->fmt.fps_num = (uint32_t)(cfg->framerate * 1000 + 0.5);
	s->fmt.fps_den = 1000;
	s->frame_ns = (int64_t)(1e9 / cfg->framerate + 0.5);
	/* Known before the first frame: an encoder downstream can open. */
	vpipe_node_set_output_format(node, 0, &s->fmt);
	/* A live source keeps a few frames in hand; the rest are queued. */
	vpipe_node_set_pool(node, 0, s->frame_size);
	*state = s;
	return 0;
}

static int testsrc_start(void *state)
{
	struct testsrc *s = state;
	s->start = vpipe_now();
	s->n = 0;
	return 0;
}

static int testsrc_produce(void *state)
{
	struct testsrc *s = state;
	if (s->cfg->num_frames >= 0 && s->n >= (uint64_t)s->cfg->num_frames)
		return VPIPE_EOS;
	int64_t pts = s->start + (int64_t)s->n * s->frame_ns;
	if (s->cfg->is_live && vpipe_node_sleep_until(s->node, pts) < 0)
		return 0; /* stopping */
	struct vpipe_frame *f = vpipe_frame_alloc(s->node, s->frame_size);
	if (!f)
		return 0; /* stopping */
	f->media = VPIPE_MEDIA_RAW_VIDEO;
	f->flags = VPIPE_FLAG_KEY;
	f->fmt = s->fmt;
	f->pts = f->dts = pts;
	f->duration = s->frame_ns;
	f->wallclock = vpipe_clock_to_wall(pts);
	testpattern_draw(f->data, &s->fmt, s->n);
	s->n++;
	vpipe_push(s->node, 0, f); /* fails only when stopping */
	return 0;
}

static void testsrc_destroy(void *state)
{
	free(state);
}

static const struct vpipe_port outputs[] = {
    {.name = "src", .media = VPIPE_MEDIA_RAW_VIDEO},
    {.name = NULL},
};

VPIPE_MODULE = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "testsrc",
    .version = "1.0",
    .summary = "synthetic raw video (I420/NV12) with the frame number in "
	       "the picture",
    .outputs = outputs,
    .params = params,
    .config_size = sizeof(struct testsrc_config),
    .create = testsrc_create,
    .start = testsrc_start,
    .produce = testsrc_produce,
    .destroy = testsrc_destroy,
};
