/* null: consumes frames and counts them. */
#include <stdlib.h>

#include <vpipe/vpipe.h>

struct null_config {
	bool silent;
};

static const struct vpipe_param params[] = {
    VPIPE_P_BOOL("silent", struct null_config, silent, "false",
		 "do not log the totals at the end"),
    VPIPE_P_END,
};

struct null_sink {
	struct vpipe_node *node;
	const struct null_config *cfg;
	uint64_t frames, bytes, keys, discont;
};

static int null_create(struct vpipe_node *node, const void *config,
		       void **state)
{
	struct null_sink *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->node = node;
	s->cfg = config;
	*state = s;
	return 0;
}

static int null_process(void *state, unsigned port, const struct vpipe_frame *f)
{
	struct null_sink *s = state;
	(void)port;
	s->frames++;
	s->bytes += f->size;
	s->keys += (f->flags & VPIPE_FLAG_KEY) != 0;
	s->discont += (f->flags & VPIPE_FLAG_DISCONTINUITY) != 0;
	return 0;
}

static void null_stop(void *state)
{
	struct null_sink *s = state;
	vpipe_node_count(s->node, "frames_total", (int64_t)s->frames);
	vpipe_node_count(s->node, "bytes_total", (int64_t)s->bytes);
	vpipe_node_count(s->node, "discontinuities_total", (int64_t)s->discont);
	if (!s->cfg->silent)
		vpipe_info(s->node,
			   "%llu frames, %llu bytes, %llu key frames, %llu "
			   "discontinuities",
			   (unsigned long long)s->frames,
			   (unsigned long long)s->bytes,
			   (unsigned long long)s->keys,
			   (unsigned long long)s->discont);
}

static void null_destroy(void *state)
{
	free(state);
}

static const struct vpipe_port inputs[] = {
    {.name = "sink", .media = VPIPE_MEDIA_ANY, .flags = VPIPE_PORT_MULTI},
    {.name = NULL},
};

VPIPE_MODULE = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "null",
    .version = "1.0",
    .summary = "consumes and counts frames",
    .inputs = inputs,
    .params = params,
    .config_size = sizeof(struct null_config),
    .create = null_create,
    .process = null_process,
    .stop = null_stop,
    .destroy = null_destroy,
};
