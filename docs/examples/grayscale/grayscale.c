/* grayscale: an example vpipe module built outside the vpipe tree.
 *
 * It takes raw I420 or NV12 video, and outputs the same pictures with the
 * colour removed (chroma set to neutral), or with `strength` < 100 only
 * partly removed. docs/writing-modules.md walks through this file.
 *
 * Build it against an installed vpipe:
 *   cc -shared -fPIC -o grayscale.so grayscale.c $(pkg-config --cflags vpipe)
 */
#include <stdlib.h>
#include <string.h>

#include <vpipe/vpipe.h>

/* 1. The config struct: the kernel fills it from the INI section. */
struct grayscale_config {
	int64_t strength; /* percent */
};

/* 2. The parameter table: the contract with the INI file and with
 *    `vpipe modules grayscale`. No INI parsing in the module. */
static const struct vpipe_param params[] = {
    VPIPE_P_INT("strength", struct grayscale_config, strength, "100", 0, 100,
		"how much colour to remove, in percent"),
    VPIPE_P_END,
};

/* 3. The state of one node. */
struct grayscale {
	struct vpipe_node *node;
	const struct grayscale_config *cfg;
	uint64_t frames;
};

static int grayscale_create(struct vpipe_node *node, const void *config,
			    void **state)
{
	struct grayscale *g = calloc(1, sizeof(*g));
	if (!g)
		return -1;
	g->node = node;
	g->cfg = config;
	*state = g;
	return 0;
}

static uint8_t fade(uint8_t c, int64_t strength)
{
	return (uint8_t)(c + (128 - c) * strength / 100);
}

/* 4. process: called by the kernel, in the node's own thread, for every
 *    input frame. The input is shared and immutable: make a new frame from
 *    this node's pool, fill it, push it. */
static int grayscale_process(void *state, unsigned port,
			     const struct vpipe_frame *in)
{
	struct grayscale *g = state;
	(void)port;
	if (in->fmt.fourcc != VPIPE_FOURCC_I420 &&
	    in->fmt.fourcc != VPIPE_FOURCC_NV12) {
		vpipe_error(g->node, "takes i420 or nv12, got %s",
			    vpipe_fourcc_name(in->fmt.fourcc));
		return -1;
	}
	struct vpipe_frame *out = vpipe_frame_alloc(g->node, in->size);
	if (!out)
		return 0; /* the pipeline is stopping */
	vpipe_frame_copy_meta(out, in);
	vpipe_frame_copy_tags(out, in);
	memcpy(out->data, in->data, in->size);
	size_t luma = (size_t)in->fmt.offset[1];
	for (size_t i = luma; i < in->size; i++)
		out->data[i] = fade(out->data[i], g->cfg->strength);
	g->frames++;
	vpipe_node_count(g->node, "grayscale_frames_total", 1);
	vpipe_push(g->node, 0, out); /* fails only when stopping */
	return 0;
}

static void grayscale_destroy(void *state)
{
	free(state);
}

static const struct vpipe_port inputs[] = {
    {.name = "sink", .media = VPIPE_MEDIA_RAW_VIDEO},
    {.name = NULL},
};
static const struct vpipe_port outputs[] = {
    {.name = "src", .media = VPIPE_MEDIA_RAW_VIDEO},
    {.name = NULL},
};

/* 5. The descriptor the kernel looks up with dlsym. */
VPIPE_MODULE = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "grayscale",
    .version = "1.0",
    .summary = "removes colour from raw video (an out-of-tree example)",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .config_size = sizeof(struct grayscale_config),
    .create = grayscale_create,
    .process = grayscale_process,
    .destroy = grayscale_destroy,
};
