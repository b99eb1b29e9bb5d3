/* tagger: a test module that passes frames on and adds tags to chosen
 * frames, standing in for a motion detector or an application that asks
 * for an image or a notification (`image`, `mkv` and `s3` tests).
 * Built as build/tests/tagger.so; tests add build/tests to the module
 * path. Frames are passed on without a copy (wrapped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vpipe/vpipe.h>

struct tagger_cfg {
	const char *tags;  /* "name=value,name=value" */
	int64_t every;	   /* tag frames 0, N, 2N ... (0: none) */
	int64_t at;	   /* and this frame (-1: none) */
	int64_t key_after; /* or the first key frame at or after this one */
};

static const struct vpipe_param params[] = {
    VPIPE_P_STRING("tags", struct tagger_cfg, tags, "", 0,
		   "name=value,... to add (a bare name: empty value)"),
    VPIPE_P_INT("every", struct tagger_cfg, every, "0", 0, 1e9,
		"tag every Nth frame (0: none)"),
    VPIPE_P_INT("at", struct tagger_cfg, at, "-1", -1, 1e15,
		"tag this frame number (-1: none)"),
    VPIPE_P_INT("key-after", struct tagger_cfg, key_after, "-1", -1, 1e15,
		"tag the first key frame at or after this frame (-1: none)"),
    VPIPE_P_END,
};

struct tagger {
	struct vpipe_node *node;
	const struct tagger_cfg *cfg;
	int64_t n;
	bool key_done;
};

static int tagger_create(struct vpipe_node *node, const void *config,
			 void **state)
{
	struct tagger *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->node = node;
	t->cfg = config;
	*state = t;
	return 0;
}

static void release(void *opaque)
{
	vpipe_frame_unref(opaque);
}

static void add_tags(struct vpipe_frame *f, const char *spec)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", spec);
	char *save = NULL;
	for (char *item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (eq)
			*eq = 0;
		vpipe_frame_set_tag(f, item, eq ? eq + 1 : "");
	}
}

static int tagger_process(void *state, unsigned port,
			  const struct vpipe_frame *in)
{
	struct tagger *t = state;
	(void)port;
	int64_t i = t->n++;
	bool tag =
	    (t->cfg->every > 0 && i % t->cfg->every == 0) || i == t->cfg->at;
	if (!t->key_done && t->cfg->key_after >= 0 && i >= t->cfg->key_after &&
	    (in->flags & VPIPE_FLAG_KEY)) {
		tag = true;
		t->key_done = true;
	}
	if (!tag || !t->cfg->tags[0]) {
		vpipe_push(t->node, 0, vpipe_frame_ref(in));
		return 0;
	}
	struct vpipe_frame *ref = vpipe_frame_ref(in);
	struct vpipe_frame *f =
	    vpipe_frame_wrap(t->node, ref->data, ref->size, release, ref);
	if (!f) {
		vpipe_frame_unref(ref);
		return 0;
	}
	vpipe_frame_copy_meta(f, in);
	vpipe_frame_copy_tags(f, in);
	add_tags(f, t->cfg->tags);
	vpipe_info(t->node, "frame %lld: tags %s", (long long)i, t->cfg->tags);
	vpipe_push(t->node, 0, f);
	return 0;
}

static void tagger_destroy(void *state)
{
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
    .name = "tagger",
    .version = "1.0",
    .summary = "test double: adds tags to chosen frames",
    .inputs = ports,
    .outputs = outs,
    .params = params,
    .config_size = sizeof(struct tagger_cfg),
    .create = tagger_create,
    .process = tagger_process,
    .destroy = tagger_destroy,
};
