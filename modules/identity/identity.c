/* identity: passes frames on unchanged (by reference). It can also delay
 * each frame, fail or hang on cue, which tests of drain, restart and stop
 * need (hang-after: the systemd watchdog test's stalled node too). */
#include <stdlib.h>
#include <unistd.h>

#include <vpipe/vpipe.h>

struct identity_config {
	int64_t delay;
	int64_t fail_after;
	bool fail_start;
	int64_t request_keyframe_at;
	int64_t hang_after;
};

static const struct vpipe_param params[] = {
    VPIPE_P_DURATION("delay", struct identity_config, delay, "0", 0, 60,
		     VPIPE_MS,
		     "hold each frame this long before passing it "
		     "on"),
    VPIPE_P_INT("fail-after", struct identity_config, fail_after, "-1", -1,
		1e15,
		"fail (return an error) on this frame number, counted "
		"from each start (-1: never)"),
    VPIPE_P_BOOL("fail-start", struct identity_config, fail_start, "false",
		 "fail in start(), as a device that cannot be opened"),
    VPIPE_P_INT("request-keyframe-at", struct identity_config,
		request_keyframe_at, "-1", -1, 1e15,
		"after passing this frame number on, ask upstream for a key "
		"frame (-1: never)"),
    VPIPE_P_INT("hang-after", struct identity_config, hang_after, "-1", -1,
		1e15,
		"never return from process() on this frame number, "
		"ignoring stop requests, as a module stuck in a "
		"driver call (-1: never)"),
    VPIPE_P_END,
};

struct identity {
	struct vpipe_node *node;
	const struct identity_config *cfg;
	int64_t count;
};

static int identity_create(struct vpipe_node *node, const void *config,
			   void **state)
{
	struct identity *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->node = node;
	s->cfg = config;
	*state = s;
	return 0;
}

static int identity_start(void *state)
{
	struct identity *s = state;
	s->count = 0;
	if (s->cfg->fail_start) {
		vpipe_error(s->node, "failing at start, as configured "
				     "(fail-start = true)");
		return -1;
	}
	return 0;
}

static int identity_process(void *state, unsigned port,
			    const struct vpipe_frame *in)
{
	struct identity *s = state;
	(void)port;
	/* Its port takes any media, so in-band events come here too: the
	 * kernel forwards them itself, passing one on would double it. */
	if (in->media == VPIPE_MEDIA_EVENT)
		return 0;
	if (s->cfg->fail_after >= 0 && s->count == s->cfg->fail_after) {
		vpipe_error(s->node,
			    "failing on frame %lld, as configured (fail-after)",
			    (long long)s->count);
		return -1;
	}
	if (s->cfg->hang_after >= 0 && s->count == s->cfg->hang_after) {
		vpipe_warn(s->node,
			   "hanging on frame %lld, as configured (hang-after)",
			   (long long)s->count);
		for (;;) /* deliberately deaf to stop and abort */
			pause();
	}
	s->count++;
	if (s->cfg->delay > 0)
		vpipe_node_sleep_until(s->node, vpipe_now() + s->cfg->delay);
	vpipe_push(s->node, 0, vpipe_frame_ref(in));
	if (s->count - 1 == s->cfg->request_keyframe_at) {
		vpipe_info(s->node,
			   "asking upstream for a key frame after "
			   "frame %lld",
			   (long long)s->cfg->request_keyframe_at);
		vpipe_node_send_upstream(s->node,
					 VPIPE_UPSTREAM_KEYFRAME_REQUEST);
	}
	return 0;
}

static void identity_destroy(void *state)
{
	free(state);
}

static const struct vpipe_port inputs[] = {
    {.name = "sink", .media = VPIPE_MEDIA_ANY},
    {.name = NULL},
};
static const struct vpipe_port outputs[] = {
    {.name = "src", .media = VPIPE_MEDIA_ANY},
    {.name = NULL},
};

VPIPE_MODULE = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "identity",
    .version = "1.0",
    .summary = "passes frames on; can delay, fail or hang on cue (for tests)",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .config_size = sizeof(struct identity_config),
    .create = identity_create,
    .start = identity_start,
    .process = identity_process,
    .destroy = identity_destroy,
};
