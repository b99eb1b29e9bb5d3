/* tsdump: a test module that passes frames on unchanged and writes one line
 * per frame to a file: "dts pts duration flags" (ns; flags K key, C codec
 * config, D discontinuity, '-' none), so a test can check the timestamps a
 * source gives (monotonic dts, pts >= dts, display order) independently of
 * a muxer. Built as build/tests/tsdump.so. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vpipe/vpipe.h>

struct tsdump_cfg {
	const char *location;
};

static const struct vpipe_param params[] = {
    VPIPE_P_PATH("location", struct tsdump_cfg, location, NULL,
		 VPIPE_PARAM_REQUIRED, "file the lines go to"),
    VPIPE_P_END,
};

struct tsdump {
	struct vpipe_node *node;
	const struct tsdump_cfg *cfg;
	FILE *out;
};

static int tsdump_create(struct vpipe_node *node, const void *config,
			 void **state)
{
	struct tsdump *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->node = node;
	t->cfg = config;
	*state = t;
	return 0;
}

static int tsdump_start(void *state)
{
	struct tsdump *t = state;
	t->out = fopen(t->cfg->location, "w");
	if (!t->out) {
		vpipe_error(t->node, "cannot open %s: %s", t->cfg->location,
			    strerror(errno));
		return -1;
	}
	return 0;
}

static int tsdump_process(void *state, unsigned port,
			  const struct vpipe_frame *in)
{
	struct tsdump *t = state;
	(void)port;
	char flags[4] = "-";
	unsigned n = 0;
	if (in->flags & VPIPE_FLAG_KEY)
		flags[n++] = 'K';
	if (in->flags & VPIPE_FLAG_CODEC_CONFIG)
		flags[n++] = 'C';
	if (in->flags & VPIPE_FLAG_DISCONTINUITY)
		flags[n++] = 'D';
	if (n)
		flags[n] = 0;
	fprintf(t->out, "%lld %lld %lld %s\n", (long long)in->dts,
		(long long)in->pts, (long long)in->duration, flags);
	vpipe_push(t->node, 0, vpipe_frame_ref(in));
	return 0;
}

static void tsdump_stop(void *state)
{
	struct tsdump *t = state;
	if (t->out)
		fclose(t->out);
	t->out = NULL;
}

static void tsdump_destroy(void *state)
{
	tsdump_stop(state);
	free(state);
}

static const struct vpipe_port ports[] = {
    {.name = "sink", .media = VPIPE_MEDIA_ANY & ~VPIPE_MEDIA_EVENT},
    {.name = NULL},
};
static const struct vpipe_port outs[] = {
    {.name = "src", .media = VPIPE_MEDIA_ANY & ~VPIPE_MEDIA_EVENT},
    {.name = NULL},
};

VPIPE_MODULE = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "tsdump",
    .version = "1.0",
    .summary = "test double: writes each frame's dts, pts, duration, flags",
    .inputs = ports,
    .outputs = outs,
    .params = params,
    .config_size = sizeof(struct tsdump_cfg),
    .create = tsdump_create,
    .start = tsdump_start,
    .process = tsdump_process,
    .stop = tsdump_stop,
    .destroy = tsdump_destroy,
};
