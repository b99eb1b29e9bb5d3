/* The module test harness (vpipe/harness.h) on real modules: identity
 * (frames, tags, events, EOS, upstream events passed on, its delay on the
 * harness clock, bad parameters), x264 (a raw picture in, H.264 out, a
 * key-frame request honoured, the encoder opened from the negotiated
 * input format) and a module linked into this test (timer on the harness
 * clock, the input format seen in start()). Modules come from
 * $VPIPE_MODULE_PATH (tests/run.sh sets it to the build's). */
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>

#include <vpipe/harness.h>

#define WAIT (10 * VPIPE_S) /* a bound for a hang, never reached */

static void test_identity_frames(void)
{
	struct vpipe_harness *h = vpipe_harness_new("identity", NULL);
	CHECK(h != NULL);
	if (!h)
		return;
	CHECK_EQ_INT(vpipe_harness_start(h), 0);
	for (int i = 0; i < 3; i++) {
		char payload[24];
		snprintf(payload, sizeof(payload), "frame %d", i);
		struct vpipe_frame f;
		vpipe_harness_frame_init(&f, VPIPE_MEDIA_H264, payload,
					 strlen(payload), i * 40 * VPIPE_MS);
		f.dts = f.pts - VPIPE_MS;
		f.flags = i == 0 ? VPIPE_FLAG_KEY : 0;
		f.tags[0] = (struct vpipe_tag){"site", "lab"};
		f.num_tags = 1;
		CHECK_EQ_INT(vpipe_harness_push(h, 0, &f), 0);
	}
	CHECK_EQ_INT(vpipe_harness_push_event(h, VPIPE_EVENT_DISCONTINUITY), 0);
	for (int i = 0; i < 3; i++) {
		unsigned port = 99;
		struct vpipe_frame *out = vpipe_harness_pull(h, &port, WAIT);
		CHECK(out != NULL);
		if (!out)
			return;
		char want[24];
		snprintf(want, sizeof(want), "frame %d", i);
		CHECK_EQ_INT(port, 0);
		CHECK_EQ_INT(out->media, VPIPE_MEDIA_H264);
		CHECK_EQ_INT(out->size, strlen(want));
		CHECK(memcmp(out->data, want, out->size) == 0);
		CHECK_EQ_INT(out->pts, i * 40 * VPIPE_MS);
		CHECK_EQ_INT(out->dts, i * 40 * VPIPE_MS - VPIPE_MS);
		CHECK_EQ_INT(out->flags & VPIPE_FLAG_KEY,
			     i == 0 ? VPIPE_FLAG_KEY : 0);
		CHECK(out->tags[0].name && !strcmp(out->tags[0].name, "site"));
		CHECK_STR_CONTAINS(vpipe_frame_get_tag(out, "site"), "lab");
		vpipe_frame_unref(out);
	}
	/* The event comes out after the frames, in order. */
	struct vpipe_frame *ev = vpipe_harness_pull(h, NULL, WAIT);
	CHECK(ev && ev->media == VPIPE_MEDIA_EVENT &&
	      ev->event == VPIPE_EVENT_DISCONTINUITY);
	if (ev)
		vpipe_frame_unref(ev);
	CHECK(!vpipe_harness_eos(h));
	CHECK_EQ_INT(vpipe_harness_push_eos(h), 0);
	CHECK(vpipe_harness_pull(h, NULL, WAIT) == NULL);
	CHECK(vpipe_harness_eos(h));
	/* Nothing goes in after the end. */
	struct vpipe_frame late;
	vpipe_harness_frame_init(&late, VPIPE_MEDIA_H264, "x", 1, 0);
	CHECK_EQ_INT(vpipe_harness_push(h, 0, &late), -1);
	CHECK_EQ_INT(vpipe_harness_free(h), 0);
}

/* identity has no upstream_event(): a key-frame request goes on up. */
static void test_identity_upstream(void)
{
	struct vpipe_harness *h = vpipe_harness_new("identity", NULL);
	CHECK_EQ_INT(vpipe_harness_start(h), 0);
	vpipe_harness_send_upstream(h, VPIPE_UPSTREAM_KEYFRAME_REQUEST);
	CHECK_EQ_INT(vpipe_harness_upstream_seen(
			 h, VPIPE_UPSTREAM_KEYFRAME_REQUEST, 1, WAIT),
		     1);
	CHECK_EQ_INT(vpipe_harness_stop(h, WAIT), 0);
	CHECK(vpipe_harness_eos(h));
	CHECK_EQ_INT(vpipe_harness_free(h), 0);
}

/* identity's delay sleeps on the pipeline clock: with the harness clock
 * the frame cannot come out until the test moves the clock. */
static void test_identity_delay_on_harness_clock(void)
{
	struct vpipe_harness *h = vpipe_harness_new("identity", NULL);
	vpipe_harness_use_clock(h, 5 * VPIPE_S);
	CHECK_EQ_INT(vpipe_harness_set(h, "delay", "2s"), 0);
	CHECK_EQ_INT(vpipe_harness_start(h), 0);
	struct vpipe_frame f;
	vpipe_harness_frame_init(&f, VPIPE_MEDIA_RAW_VIDEO, "abc", 3, 0);
	vpipe_harness_push(h, 0, &f);
	/* Frozen clock: however long the wait, nothing. */
	CHECK(vpipe_harness_pull(h, NULL, 200 * VPIPE_MS) == NULL);
	vpipe_harness_advance(h, VPIPE_S);
	CHECK(vpipe_harness_pull(h, NULL, 200 * VPIPE_MS) == NULL);
	vpipe_harness_advance(h, VPIPE_S);
	struct vpipe_frame *out = vpipe_harness_pull(h, NULL, WAIT);
	CHECK(out != NULL);
	if (out) {
		CHECK_EQ_INT(out->size, 3);
		vpipe_frame_unref(out);
	}
	vpipe_harness_push_eos(h);
	CHECK(vpipe_harness_pull(h, NULL, WAIT) == NULL);
	CHECK_EQ_INT(vpipe_harness_free(h), 0);
}

/* A refused value fails start with a message naming the key (logged);
 * an unknown module fails new. */
static void test_bad_setup(void)
{
	CHECK(vpipe_harness_new("no-such-module", NULL) == NULL);
	struct vpipe_harness *h = vpipe_harness_new("identity", NULL);
	CHECK_EQ_INT(vpipe_harness_set(h, "delay", "soon"), 0);
	CHECK_EQ_INT(vpipe_harness_start(h), -1);
	CHECK_EQ_INT(vpipe_harness_free(h), 0);
	h = vpipe_harness_new("identity", NULL);
	CHECK_EQ_INT(vpipe_harness_set(h, "dleay", "1s"), 0);
	CHECK_EQ_INT(vpipe_harness_start(h), -1);
	CHECK_EQ_INT(vpipe_harness_free(h), 0);
	/* A module that fails (fail-after) ends its output and the run
	 * reports the failure. */
	h = vpipe_harness_new("identity", NULL);
	vpipe_harness_set(h, "fail-after", "1");
	CHECK_EQ_INT(vpipe_harness_start(h), 0);
	struct vpipe_frame f;
	vpipe_harness_frame_init(&f, VPIPE_MEDIA_H264, "a", 1, 0);
	vpipe_harness_push(h, 0, &f);
	vpipe_harness_push(h, 0, &f);
	struct vpipe_frame *out = vpipe_harness_pull(h, NULL, WAIT);
	CHECK(out != NULL);
	if (out)
		vpipe_frame_unref(out);
	CHECK(vpipe_harness_pull(h, NULL, WAIT) == NULL);
	CHECK(vpipe_harness_eos(h));
	CHECK_EQ_INT(vpipe_harness_free(h), 1);
}

/* A 64x48 I420 picture: a gradient, so x264 has something to code. */
static uint8_t *picture(struct vpipe_format *fmt, size_t *size, int shift)
{
	*size = vpipe_format_raw_init(fmt, VPIPE_FOURCC_I420, 64, 48);
	fmt->fps_num = 25;
	fmt->fps_den = 1;
	uint8_t *p = malloc(*size);
	for (size_t i = 0; i < *size; i++)
		p[i] = (uint8_t)(i * 7 + (size_t)shift);
	return p;
}

static void test_x264(void)
{
	struct vpipe_harness *h = vpipe_harness_new("x264", NULL);
	if (!h) {
		printf("x264 module not built: its checks skipped\n");
		return;
	}
	struct vpipe_format fmt;
	size_t size;
	uint8_t *pic = picture(&fmt, &size, 0);
	/* Declared input: x264 opens its encoder in start(). */
	vpipe_harness_set_input_format(h, 0, VPIPE_MEDIA_RAW_VIDEO, &fmt);
	vpipe_harness_set(h, "keyint", "100");
	vpipe_harness_set(h, "bframes", "0");
	CHECK_EQ_INT(vpipe_harness_start(h), 0);
	int keys = 0;
	for (int i = 0; i < 6; i++) {
		if (i == 4) /* as a muxer or a KVS sink would ask */
			vpipe_harness_send_upstream(
			    h, VPIPE_UPSTREAM_KEYFRAME_REQUEST);
		free(pic);
		pic = picture(&fmt, &size, i);
		struct vpipe_frame f;
		vpipe_harness_frame_init(&f, VPIPE_MEDIA_RAW_VIDEO, pic, size,
					 i * 40 * VPIPE_MS);
		f.fmt = fmt;
		f.duration = 40 * VPIPE_MS;
		vpipe_harness_push(h, 0, &f);
		/* zerolatency: one picture in, one access unit out */
		struct vpipe_frame *out = vpipe_harness_pull(h, NULL, WAIT);
		CHECK(out != NULL);
		if (!out)
			break;
		CHECK_EQ_INT(out->media, VPIPE_MEDIA_H264);
		CHECK_EQ_INT(out->pts, i * 40 * VPIPE_MS);
		CHECK_EQ_INT(out->fmt.width, 64);
		CHECK(out->size > 4 && out->data[0] == 0 && out->data[1] == 0);
		bool key = out->flags & VPIPE_FLAG_KEY;
		keys += key;
		if (i == 0)
			CHECK(key && (out->flags & VPIPE_FLAG_CODEC_CONFIG));
		else if (i == 4)
			CHECK(key); /* the request was honoured */
		else
			CHECK(!key);
		vpipe_frame_unref(out);
	}
	free(pic);
	CHECK_EQ_INT(keys, 2);
	/* x264 handles the request itself: none went further up. */
	CHECK_EQ_INT(vpipe_harness_upstream_seen(
			 h, VPIPE_UPSTREAM_KEYFRAME_REQUEST, 0, 0),
		     0);
	vpipe_harness_push_eos(h);
	CHECK(vpipe_harness_pull(h, NULL, WAIT) == NULL);
	CHECK(vpipe_harness_eos(h));
	CHECK_EQ_INT(vpipe_harness_free(h), 0);

	/* A declared format x264 cannot encode fails its start(), before
	 * any frame arrives: the output ends and the run reports it. */
	h = vpipe_harness_new("x264", NULL);
	struct vpipe_format mjpg = {
	    .fourcc = VPIPE_FOURCC_MJPG, .width = 64, .height = 48};
	vpipe_harness_set_input_format(h, 0, VPIPE_MEDIA_RAW_VIDEO, &mjpg);
	CHECK_EQ_INT(vpipe_harness_start(h), 0);
	CHECK(vpipe_harness_pull(h, NULL, WAIT) == NULL);
	CHECK(vpipe_harness_eos(h));
	CHECK_EQ_INT(vpipe_harness_free(h), 1);
}

/* A live source paces itself on the pipeline clock: on the harness clock a
 * frame is due only when the test has moved the clock to its time. */
static void test_live_source_on_harness_clock(void)
{
	struct vpipe_harness *h = vpipe_harness_new("testsrc", NULL);
	vpipe_harness_use_clock(h, 0);
	vpipe_harness_set(h, "width", "32");
	vpipe_harness_set(h, "height", "16");
	vpipe_harness_set(h, "framerate", "10");
	vpipe_harness_set(h, "num-frames", "3");
	vpipe_harness_set(h, "is-live", "true");
	CHECK_EQ_INT(vpipe_harness_start(h), 0);
	struct vpipe_frame none;
	vpipe_harness_frame_init(&none, VPIPE_MEDIA_RAW_VIDEO, "x", 1, 0);
	CHECK_EQ_INT(vpipe_harness_push(h, 0, &none), -1); /* no input */
	for (int i = 0; i < 3; i++) {
		if (i > 0) {
			CHECK(vpipe_harness_pull(h, NULL, 200 * VPIPE_MS) ==
			      NULL);
			vpipe_harness_advance(h, 100 * VPIPE_MS);
		}
		struct vpipe_frame *out = vpipe_harness_pull(h, NULL, WAIT);
		CHECK(out != NULL);
		if (!out)
			break;
		CHECK_EQ_INT(out->pts, i * 100 * VPIPE_MS);
		CHECK_EQ_INT(out->fmt.width, 32);
		vpipe_frame_unref(out);
	}
	CHECK(vpipe_harness_pull(h, NULL, WAIT) == NULL); /* num-frames */
	CHECK(vpipe_harness_eos(h));
	CHECK_EQ_INT(vpipe_harness_free(h), 0);
}

/* ------------------------------------------ a module linked in: ticker */

/* Passes frames on stamped with the input format it saw in start(), and
 * emits an event from timer() every second of pipeline time. */
struct ticker {
	struct vpipe_node *node;
	struct vpipe_format in_fmt;
	uint32_t in_media;
	int known;
};

static int ticker_create(struct vpipe_node *node, const void *config,
			 void **state)
{
	(void)config;
	struct ticker *t = calloc(1, sizeof(*t));
	t->node = node;
	vpipe_node_set_timer(node, VPIPE_S);
	*state = t;
	return 0;
}

static int ticker_start(void *state)
{
	struct ticker *t = state;
	t->known =
	    vpipe_node_input_format(t->node, 0, &t->in_media, &t->in_fmt) == 0;
	return 0;
}

static int ticker_process(void *state, unsigned port,
			  const struct vpipe_frame *in)
{
	struct ticker *t = state;
	(void)port;
	struct vpipe_frame *f = vpipe_frame_alloc(t->node, in->size);
	if (!f)
		return 0;
	vpipe_frame_copy_meta(f, in);
	memcpy(f->data, in->data, in->size);
	if (t->known)
		f->fmt = t->in_fmt;
	f->media = t->in_media == VPIPE_MEDIA_RAW_VIDEO ? VPIPE_MEDIA_RAW_VIDEO
							: VPIPE_MEDIA_PNG;
	vpipe_push(t->node, 0, f);
	return 0;
}

static int ticker_timer(void *state)
{
	struct ticker *t = state;
	struct vpipe_frame *f = vpipe_frame_alloc(t->node, 0);
	if (!f)
		return 0;
	f->media = VPIPE_MEDIA_JPEG;
	f->pts = vpipe_now();
	vpipe_node_count(t->node, "ticks_total", 1);
	vpipe_push(t->node, 0, f);
	return 0;
}

static void ticker_destroy(void *state)
{
	free(state);
}

static const struct vpipe_port ticker_in[] = {
    {.name = "sink", .media = VPIPE_MEDIA_RAW_VIDEO}, {.name = NULL}};
static const struct vpipe_port ticker_out[] = {
    {.name = "src", .media = VPIPE_MEDIA_ANY}, {.name = NULL}};
static const struct vpipe_param ticker_params[] = {VPIPE_P_END};

static const struct vpipe_module ticker = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "ticker",
    .version = "1.0",
    .summary = "test module",
    .inputs = ticker_in,
    .outputs = ticker_out,
    .params = ticker_params,
    .create = ticker_create,
    .start = ticker_start,
    .process = ticker_process,
    .timer = ticker_timer,
    .destroy = ticker_destroy,
};

static void test_descriptor_clock_and_format(void)
{
	CHECK(vpipe_harness_new("other-name", &ticker) == NULL);
	struct vpipe_harness *h = vpipe_harness_new("ticker", &ticker);
	CHECK(h != NULL);
	if (!h)
		return;
	struct vpipe_format fmt;
	size_t size;
	free(picture(&fmt, &size, 0));
	vpipe_harness_set_input_format(h, 0, VPIPE_MEDIA_RAW_VIDEO, &fmt);
	vpipe_harness_use_clock(h, 0);
	CHECK_EQ_INT(vpipe_harness_start(h), 0);
	/* The format declared upstream, seen in start(), before any frame. */
	struct vpipe_frame f;
	vpipe_harness_frame_init(&f, VPIPE_MEDIA_RAW_VIDEO, "p", 1, 7);
	vpipe_harness_push(h, 0, &f);
	struct vpipe_frame *out = vpipe_harness_pull(h, NULL, WAIT);
	CHECK(out != NULL);
	if (out) {
		CHECK_EQ_INT(out->media, VPIPE_MEDIA_RAW_VIDEO);
		CHECK_EQ_INT(out->fmt.fourcc, VPIPE_FOURCC_I420);
		CHECK_EQ_INT(out->fmt.width, 64);
		CHECK_EQ_INT(out->fmt.fps_num, 25);
		vpipe_frame_unref(out);
	}
	/* The timer runs on the harness clock: nothing before it moves,
	 * one tick per second moved, stamped with the harness time. */
	CHECK(vpipe_harness_pull(h, NULL, 200 * VPIPE_MS) == NULL);
	for (int s = 1; s <= 3; s++) {
		vpipe_harness_advance(h, VPIPE_S);
		out = vpipe_harness_pull(h, NULL, WAIT);
		CHECK(out != NULL);
		if (!out)
			break;
		CHECK_EQ_INT(out->media, VPIPE_MEDIA_JPEG);
		CHECK_EQ_INT(out->pts, s * VPIPE_S);
		vpipe_frame_unref(out);
	}
	/* Counted before each tick was pushed, so all three are in. */
	CHECK_EQ_INT(vpipe_harness_counter(h, "ticks_total"), 3);
	CHECK_EQ_INT(vpipe_harness_counter(h, "no_such_total"), 0);
	CHECK_EQ_INT(vpipe_harness_stop(h, WAIT), 0);
	CHECK(vpipe_harness_pull(h, NULL, 0) == NULL);
	CHECK(vpipe_harness_eos(h));
	CHECK_EQ_INT(vpipe_harness_free(h), 0);
	/* Without a declared format the module is told so. */
	h = vpipe_harness_new("ticker", &ticker);
	CHECK_EQ_INT(vpipe_harness_start(h), 0);
	vpipe_harness_push(h, 0, &f);
	out = vpipe_harness_pull(h, NULL, WAIT);
	CHECK(out != NULL);
	if (out) {
		CHECK_EQ_INT(out->fmt.fourcc, 0);
		CHECK_EQ_INT(out->media, VPIPE_MEDIA_PNG); /* media: any */
		vpipe_frame_unref(out);
	}
	CHECK_EQ_INT(vpipe_harness_free(h), 0);
}

int main(void)
{
	if (!getenv("VPIPE_MODULE_PATH")) {
		printf("SKIP: VPIPE_MODULE_PATH not set (run through "
		       "tests/run.sh)\n");
		return 77;
	}
	test_identity_frames();
	test_identity_upstream();
	test_identity_delay_on_harness_clock();
	test_bad_setup();
	test_x264();
	test_live_source_on_harness_clock();
	test_descriptor_clock_and_format();
	return check_done();
}
