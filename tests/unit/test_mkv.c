/* modules/mkv/mux.c and common/mkv_writer.c without the kernel: output
 * framing (header, one output per access unit, fragment starts), timecodes,
 * codec private data changes, tags and their limits, the GOP guard, and
 * broken input. Streams are made here with ffmpeg/libx264. */
#include "tests/unit/check.h"

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/ebml.h"
#include "common/h264.h"
#include "modules/mkv/mux.h"

static char dir[] = "/tmp/vpipe-mkv.XXXXXX";
static char last_log[512];
static int warnings;

static void log_fn(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= 4)
		warnings++;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

/* --------------------------------------------------------- input streams */

struct au {
	uint8_t *data;
	size_t size;
	bool key;
};

struct stream {
	struct au *aus;
	unsigned n;
};

static void make(struct stream *st, const char *name, const char *size,
		 int frames, int gop, const char *extra)
{
	char path[256], cmd[1024];
	snprintf(path, sizeof(path), "%s/%s.h264", dir, name);
	snprintf(cmd, sizeof(cmd),
		 "ffmpeg -v error -y -f lavfi -i testsrc2=size=%s:rate=30 "
		 "-frames:v %d -c:v libx264 -preset ultrafast -g %d -bf 0 "
		 "-x264-params scenecut=0%s -pix_fmt yuv420p %s",
		 size, frames, gop, extra, path);
	memset(st, 0, sizeof(*st));
	if (system(cmd) != 0)
		return;
	FILE *f = fopen(path, "rb");
	struct h264_au_splitter *sp = h264_au_splitter_new(0);
	uint8_t buf[65536];
	size_t n;
	st->aus = calloc((size_t)frames + 1, sizeof(*st->aus));
	struct h264_au au;
	for (;;) {
		n = fread(buf, 1, sizeof(buf), f);
		if (n)
			h264_au_splitter_push(sp, buf, n);
		else
			h264_au_splitter_finish(sp);
		while (h264_au_splitter_next(sp, &au) > 0 &&
		       st->n < (unsigned)frames) {
			struct h264_au_info info;
			h264_au_info(au.data, au.size, &info, NULL, 0);
			st->aus[st->n].data = malloc(au.size);
			memcpy(st->aus[st->n].data, au.data, au.size);
			st->aus[st->n].size = au.size;
			st->aus[st->n].key = info.key;
			st->n++;
		}
		if (!n)
			break;
	}
	h264_au_splitter_free(sp);
	fclose(f);
}

static void free_stream(struct stream *st)
{
	for (unsigned i = 0; i < st->n; i++)
		free(st->aus[i].data);
	free(st->aus);
}

/* ------------------------------------------------------- output walking */

/* What one output frame holds, at the top level of a Segment. */
struct walk {
	unsigned tags, clusters, blocks, headers, simple_tags, other;
	uint64_t cluster_tc;
	int16_t block_tc;
	bool block_key;
	uint32_t first_id;
	char tag_names[512];
	uint64_t width, height;
	bool bad;
};

static void walk_tags(const uint8_t *p, size_t n, struct walk *w, int depth)
{
	size_t pos = 0;
	while (pos < n) {
		uint32_t id;
		uint64_t size;
		int a = ebml_read_id(p + pos, n - pos, &id);
		int b = a > 0 ? ebml_read_size(p + pos + a, n - pos - a, &size)
			      : -1;
		if (a <= 0 || b <= 0 || size > n - pos - a - b) {
			w->bad = true;
			return;
		}
		const uint8_t *body = p + pos + a + b;
		if (id == MKV_ID_TAG || id == MKV_ID_SIMPLE_TAG ||
		    id == MKV_ID_TRACK_ENTRY || id == MKV_ID_VIDEO)
			walk_tags(body, size, w, depth + 1);
		if (id == MKV_ID_SIMPLE_TAG)
			w->simple_tags++;
		if (id == MKV_ID_TAG_NAME) {
			size_t l = strlen(w->tag_names);
			snprintf(w->tag_names + l, sizeof(w->tag_names) - l,
				 "%.*s;", (int)size, (const char *)body);
		}
		if (id == MKV_ID_TAG_STRING) {
			size_t l = strlen(w->tag_names);
			if (l)
				w->tag_names[l - 1] = 0;
			l = strlen(w->tag_names);
			snprintf(w->tag_names + l, sizeof(w->tag_names) - l,
				 "=%.*s;", (int)size, (const char *)body);
		}
		if (id == MKV_ID_PIXEL_WIDTH)
			w->width = ebml_read_uint(body, size);
		if (id == MKV_ID_PIXEL_HEIGHT)
			w->height = ebml_read_uint(body, size);
		pos += a + b + size;
	}
}

static void walk(const uint8_t *p, size_t n, struct walk *w)
{
	memset(w, 0, sizeof(*w));
	size_t pos = 0;
	while (pos < n) {
		uint32_t id;
		uint64_t size;
		int a = ebml_read_id(p + pos, n - pos, &id);
		int b = a > 0 ? ebml_read_size(p + pos + a, n - pos - a, &size)
			      : -1;
		if (a <= 0 || b <= 0) {
			w->bad = true;
			return;
		}
		if (!w->first_id)
			w->first_id = id;
		pos += a + b;
		if (id == MKV_ID_SEGMENT || id == MKV_ID_CLUSTER) {
			if (size != EBML_SIZE_UNKNOWN)
				w->bad = true;
			w->clusters += id == MKV_ID_CLUSTER;
			continue; /* descend */
		}
		if (size > n - pos) {
			w->bad = true;
			return;
		}
		const uint8_t *body = p + pos;
		switch (id) {
		case MKV_ID_EBML:
			w->headers++;
			break;
		case MKV_ID_TAGS:
			w->tags++;
			walk_tags(body, size, w, 0);
			break;
		case MKV_ID_TRACKS:
			walk_tags(body, size, w, 0);
			break;
		case MKV_ID_TIMECODE:
			w->cluster_tc = ebml_read_uint(body, size);
			break;
		case MKV_ID_SIMPLE_BLOCK:
			w->blocks++;
			w->block_tc = (int16_t)rd_be16(body + 1);
			w->block_key = body[3] & 0x80;
			/* The payload is AVCC: lengths tile it exactly. */
			for (size_t q = 4; q < size;) {
				if (q + 4 > size) {
					w->bad = true;
					break;
				}
				q += 4 + rd_be32(body + q);
				if (q > size)
					w->bad = true;
			}
			break;
		case MKV_ID_INFO:
			break;
		default:
			w->other++;
		}
		pos += size;
	}
}

/* ----------------------------------------------------------- the muxer */

static struct mkv_config defaults(void)
{
	struct mkv_config c = {
	    .fragment_duration = 2000000000,
	    .max_fragment_duration = 10000000000,
	    .timecode_scale = 1000000,
	    .key_frame_fragmentation = true,
	    .absolute_fragment_times = true,
	    .track_name = "kinesis_video",
	    .codec_id = "V_MPEG4/ISO/AVC",
	    .content_type = "video/h264",
	    .tags = "",
	    .image_prefix = "",
	};
	return c;
}

#define FRAME_NS 33333333LL
#define WALL0	 1700000000000000000LL

static struct mkv_mux_input input(const struct stream *st, unsigned i,
				  int64_t pts)
{
	struct mkv_mux_input in = {
	    .data = st->aus[i].data,
	    .size = st->aus[i].size,
	    .pts = pts,
	    .dts = pts,
	    .duration = FRAME_NS,
	    .wallclock = WALL0 + pts,
	    .flags = st->aus[i].key ? VPIPE_FLAG_KEY : 0,
	    .seq = i,
	};
	return in;
}

/* Caller-owned output memory, grown on demand (as the module does with
 * frame payloads). Starts too small on purpose. */
static int grow_calls;
static int test_grow(struct ebml_buf *b, size_t need)
{
	grow_calls++;
	uint8_t *d = realloc(b->data, need);
	if (!d)
		return -1;
	b->data = d;
	b->cap = need;
	return 0;
}

static void test_framing(const struct stream *st)
{
	struct mkv_config c = defaults();
	c.tags = "camera=front,site=lab";
	struct mkv_mux *m;
	char err[256];
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), 0);
	uint64_t prev_tc = 0;
	unsigned fragments = 0;
	for (unsigned i = 0; i < st->n; i++) {
		struct mkv_mux_input in = input(st, i, i * FRAME_NS);
		struct ebml_buf own = {
		    .data = malloc(16), .cap = 16, .grow = test_grow};
		if (i % 2)
			in.out = &own;
		struct mkv_mux_output o;
		CHECK_EQ_INT(mkv_mux_frame(m, &in, &o), 0);
		CHECK(o.data_len > 0);
		CHECK(!o.request_keyframe);
		if (i % 2)
			CHECK(o.data == own.data);
		struct walk w;
		if (i == 0) {
			CHECK(o.header != NULL);
			walk(o.header, o.header_len, &w);
			CHECK(!w.bad);
			CHECK_EQ_INT(w.headers, 1);
			CHECK_EQ_INT(w.first_id, MKV_ID_EBML);
			CHECK_EQ_INT(w.width, 320);
			CHECK_EQ_INT(w.height, 240);
			CHECK_EQ_INT(w.clusters, 0);
		} else {
			CHECK(o.header == NULL);
		}
		walk(o.data, o.data_len, &w);
		CHECK(!w.bad);
		CHECK_EQ_INT(w.blocks, 1);
		CHECK_EQ_INT(w.other, 0);
		CHECK_EQ_INT(w.block_key, st->aus[i].key);
		CHECK_EQ_INT(!!(o.flags & VPIPE_FLAG_KEY), st->aus[i].key);
		if (st->aus[i].key) {
			CHECK(o.flags & VPIPE_FLAG_FRAGMENT_START);
			/* The previous fragment's Tags, then the Cluster. */
			CHECK_EQ_INT(w.first_id,
				     fragments ? MKV_ID_TAGS : MKV_ID_CLUSTER);
			CHECK_EQ_INT(w.tags, fragments ? 1 : 0);
			CHECK_EQ_INT(w.clusters, 1);
			CHECK_EQ_INT(w.block_tc, 0);
			if (fragments)
				CHECK_STR_CONTAINS(w.tag_names,
						   "camera=front;site=lab;");
			fragments++;
			/* Absolute: epoch milliseconds, increasing. */
			CHECK_EQ_INT(w.cluster_tc,
				     (WALL0 + i * FRAME_NS + 500000) / 1000000);
			CHECK(w.cluster_tc > prev_tc);
			prev_tc = w.cluster_tc;
		} else {
			CHECK(!(o.flags & VPIPE_FLAG_FRAGMENT_START));
			CHECK_EQ_INT(w.first_id, MKV_ID_SIMPLE_BLOCK);
			CHECK_EQ_INT(w.clusters, 0);
			int64_t t = (WALL0 + i * FRAME_NS + 500000) / 1000000;
			CHECK_EQ_INT(w.block_tc, t - (int64_t)prev_tc);
		}
		uint8_t *mine = own.data;
		ebml_buf_free(&own); /* leaves caller memory alone */
		free(mine);
	}
	CHECK(grow_calls >= (int)st->n / 2);
	/* The end of the stream: the last fragment's Tags. */
	struct mkv_mux_output o;
	CHECK_EQ_INT(mkv_mux_finish(m, &o), 0);
	struct walk w;
	walk(o.data, o.data_len, &w);
	CHECK(!w.bad);
	CHECK_EQ_INT(w.tags, 1);
	CHECK_EQ_INT(w.clusters + w.blocks, 0);
	CHECK_STR_CONTAINS(w.tag_names, "camera=front;site=lab;");
	CHECK_EQ_INT(mkv_mux_finish(m, &o), 0);
	CHECK_EQ_INT(o.data_len, 0); /* once */
	struct mkv_mux_stats s;
	mkv_mux_get_stats(m, &s);
	CHECK_EQ_INT(s.fragments, fragments);
	CHECK_EQ_INT(s.dropped, 0);
	CHECK_EQ_INT(s.headers, 1);
	mkv_mux_free(m);
}

static void test_relative_and_fragment_duration(const struct stream *st)
{
	/* GOP of 10 frames (333 ms); fragments of >= 1 s (in 1 ms ticks)
	 * without key-frame-fragmentation: every 3rd key frame starts one. */
	struct mkv_config c = defaults();
	c.absolute_fragment_times = false;
	c.key_frame_fragmentation = false;
	c.fragment_duration = 1000000000;
	struct mkv_mux *m;
	char err[256];
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), 0);
	unsigned starts = 0;
	for (unsigned i = 0; i < st->n; i++) {
		struct mkv_mux_input in =
		    input(st, i, 5000000000LL + i * FRAME_NS);
		struct mkv_mux_output o;
		mkv_mux_frame(m, &in, &o);
		struct walk w;
		walk(o.data, o.data_len, &w);
		if (o.flags & VPIPE_FLAG_FRAGMENT_START) {
			CHECK_EQ_INT(i % 30, 0);
			CHECK_EQ_INT(w.cluster_tc,
				     (i * FRAME_NS + 500000) / 1000000);
			starts++;
		}
	}
	CHECK_EQ_INT(starts, (st->n + 29) / 30);
	mkv_mux_free(m);
}

static void test_gop_guard(const struct stream *st)
{
	/* Key frames 10 frames apart, but stamped 300 ms apart per frame:
	 * each GOP lasts 3 s, above a 2 s limit. */
	struct mkv_config c = defaults();
	c.max_fragment_duration = 2000000000;
	struct mkv_mux *m;
	char err[256];
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), 0);
	unsigned requests = 0;
	warnings = 0;
	for (unsigned i = 0; i < 30 && i < st->n; i++) {
		struct mkv_mux_input in = input(st, i, i * 300000000LL);
		struct mkv_mux_output o;
		mkv_mux_frame(m, &in, &o);
		if (o.request_keyframe) {
			requests++;
			CHECK_EQ_INT(i % 10, 7); /* 2.1 s into the GOP */
			CHECK_STR_CONTAINS(last_log, "max-fragment-duration");
		}
	}
	CHECK_EQ_INT(requests, 3); /* once per long GOP */
	CHECK_EQ_INT(warnings, 3);
	mkv_mux_free(m);
}

static void test_tags(const struct stream *st)
{
	struct mkv_config c = defaults();
	struct mkv_mux *m;
	char err[256];
	/* Refused configurations, with the reason. */
	c.tags = "AWS_X=1";
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "STATUS_INVALID_METADATA_NAME");
	c.tags = "a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11";
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "10");
	c.tags = "novalue";
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "name=value");
	char longv[300];
	memset(longv, 'v', sizeof(longv));
	memcpy(longv, "n=", 2);
	longv[299] = 0;
	c.tags = longv;
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), -1);
	c = defaults();
	c.codec_id = "V_VP8";
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "codec-id");
	c = defaults();
	c.track_name = "a-track-name-longer-than-32-characters";
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "track-name");

	/* Event tags every N fragments, persistent tags, one-shot frame tags,
	 * AWS* frame tags refused, event requests through frame tags. */
	c = defaults();
	c.tags = "p=1";
	c.notification_every = 2;
	c.image_every = 3;
	c.image_prefix = "pics";
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), 0);
	/* Tags follow the fragment they belong to: the output of fragment
	 * f's key frame starts with fragment f-1's Tags, and mkv_mux_finish()
	 * gives the last fragment's. */
	unsigned fragment = 0, checked = 0;
	for (unsigned i = 0; i <= st->n; i++) {
		struct mkv_mux_output o;
		unsigned f = fragment - 1; /* whose Tags these are */
		if (i == st->n) {
			CHECK_EQ_INT(mkv_mux_finish(m, &o), 0);
		} else {
			struct mkv_mux_input in = input(st, i, i * FRAME_NS);
			struct vpipe_tag t[12];
			unsigned nt = 0;
			if (i == 12) { /* inside fragment 1 */
				t[nt++] = (struct vpipe_tag){"motion", "true"};
				t[nt++] = (struct vpipe_tag){"AWS_FOO", "x"};
				t[nt++] = (struct vpipe_tag){
				    MKV_TAG_NOTIFICATION, ""};
			}
			if (i == 30) /* a key frame: the fragment it starts */
				t[nt++] = (struct vpipe_tag){"zone", "door"};
			if (i == 40) /* 12 tags + events: the limit cuts */
				for (; nt < 12; nt++) {
					static char names[12][8];
					snprintf(names[nt], 8, "k%u", nt);
					t[nt] =
					    (struct vpipe_tag){names[nt], "v"};
				}
			in.tags = t;
			in.num_tags = nt;
			mkv_mux_frame(m, &in, &o);
			if (!(o.flags & VPIPE_FLAG_FRAGMENT_START))
				continue;
			if (fragment++ == 0) {
				struct walk w0;
				walk(o.data, o.data_len, &w0);
				CHECK_EQ_INT(w0.tags, 0);
				continue;
			}
		}
		struct walk w;
		walk(o.data, o.data_len, &w);
		bool note = f % 2 == 0 || f == 1;
		bool image = f % 3 == 0;
		CHECK_EQ_INT(!!strstr(w.tag_names, MKV_TAG_NOTIFICATION "=;"),
			     note);
		CHECK_EQ_INT(!!strstr(w.tag_names, MKV_TAG_IMAGE_GENERATION
				      "=;" MKV_TAG_IMAGE_PREFIX "=pics;"),
			     image);
		CHECK_STR_CONTAINS(w.tag_names, "p=1;");
		CHECK_EQ_INT(!!strstr(w.tag_names, "motion=true"), f == 1);
		CHECK_EQ_INT(!!strstr(w.tag_names, "zone=door"), f == 3);
		CHECK(!strstr(w.tag_names, "AWS_FOO"));
		CHECK(w.simple_tags <= MKV_MAX_FRAGMENT_TAGS);
		if (f == 4) /* note + 1 persistent + 8 of 12 */
			CHECK_EQ_INT(w.simple_tags, 10);
		checked++;
	}
	CHECK_EQ_INT(checked, 6); /* every fragment's Tags, the last too */
	struct mkv_mux_stats s;
	mkv_mux_get_stats(m, &s);
	CHECK_EQ_INT(s.tags_refused, 1 + 4);
	mkv_mux_free(m);

	CHECK(mkv_tag_check("AWSome", "x", false) != NULL);
	CHECK(mkv_tag_check("ok", "x", false) == NULL);
	CHECK(mkv_tag_check("", "x", false) != NULL);
}

static void test_codec_change(const struct stream *a, const struct stream *b)
{
	struct mkv_config c = defaults();
	struct mkv_mux *m;
	char err[256];
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), 0);
	unsigned headers = 0, n = 0;
	for (int s = 0; s < 2; s++) {
		const struct stream *st = s ? b : a;
		for (unsigned i = 0; i < st->n; i++, n++) {
			struct mkv_mux_input in = input(st, i, n * FRAME_NS);
			struct mkv_mux_output o;
			mkv_mux_frame(m, &in, &o);
			if (o.header) {
				headers++;
				struct walk w;
				walk(o.header, o.header_len, &w);
				CHECK_EQ_INT(w.width, s ? 160 : 320);
				CHECK_EQ_INT(i, 0);
				CHECK(o.flags & VPIPE_FLAG_FRAGMENT_START);
			}
		}
	}
	CHECK_EQ_INT(headers, 2);
	mkv_mux_free(m);
}

static void test_broken(const struct stream *st)
{
	struct mkv_config c = defaults();
	struct mkv_mux *m;
	char err[256];
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), 0);
	struct mkv_mux_output o;
	/* Starts with P frames: no SPS/PPS yet, dropped until the key frame. */
	for (unsigned i = 5; i < 10; i++) {
		struct mkv_mux_input in = input(st, i, i * FRAME_NS);
		mkv_mux_frame(m, &in, &o);
		CHECK_EQ_INT(o.data_len, 0);
	}
	struct mkv_mux_input in = input(st, 10, 10 * FRAME_NS);
	mkv_mux_frame(m, &in, &o);
	CHECK(o.header != NULL && o.data_len > 0);
	/* Garbage, empty and lone-SPS frames: dropped, then resync at a key. */
	uint8_t junk[64];
	memset(junk, 0xa5, sizeof(junk));
	in.data = junk;
	in.size = sizeof(junk);
	in.pts = in.dts = 11 * FRAME_NS;
	mkv_mux_frame(m, &in, &o);
	CHECK_EQ_INT(o.data_len, 0);
	in = input(st, 12, 12 * FRAME_NS);
	mkv_mux_frame(m, &in, &o);
	CHECK_EQ_INT(o.data_len, 0); /* not a key frame */
	/* DTS backwards on a P frame: dropped. */
	in = input(st, 20, 20 * FRAME_NS);
	mkv_mux_frame(m, &in, &o);
	CHECK(o.data_len > 0);
	in = input(st, 21, 2 * FRAME_NS);
	mkv_mux_frame(m, &in, &o);
	CHECK_EQ_INT(o.data_len, 0);
	CHECK_STR_CONTAINS(last_log, "0x32000002");
	/* No timestamps at all: dropped with the reason. */
	in = input(st, 30, 0);
	in.pts = in.dts = VPIPE_TIME_NONE;
	mkv_mux_frame(m, &in, &o);
	CHECK_EQ_INT(o.data_len, 0);
	/* A key frame stamped earlier (upstream restarted): rebased, and
	 * cluster timecodes still increase. */
	in = input(st, 30, 30 * FRAME_NS);
	mkv_mux_frame(m, &in, &o);
	struct walk w1, w2;
	walk(o.data, o.data_len, &w1);
	in = input(st, 40, 0);
	mkv_mux_frame(m, &in, &o);
	walk(o.data, o.data_len, &w2);
	CHECK(o.flags & VPIPE_FLAG_FRAGMENT_START);
	CHECK(w2.cluster_tc > w1.cluster_tc);
	mkv_mux_free(m);
}

static void test_small_timecode_scale(const struct stream *st)
{
	/* 100 ns ticks: a SimpleBlock offset overflows int16 after 3.2 ms,
	 * so every frame opens a cluster; only key frames start fragments. */
	struct mkv_config c = defaults();
	c.timecode_scale = 100;
	struct mkv_mux *m;
	char err[256];
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), 0);
	for (unsigned i = 0; i < 15; i++) {
		struct mkv_mux_input in = input(st, i, i * FRAME_NS);
		struct mkv_mux_output o;
		mkv_mux_frame(m, &in, &o);
		struct walk w;
		walk(o.data, o.data_len, &w);
		CHECK_EQ_INT(w.clusters, 1);
		CHECK_EQ_INT(w.block_tc, 0);
		CHECK_EQ_INT(!!(o.flags & VPIPE_FLAG_FRAGMENT_START),
			     st->aus[i].key);
	}
	mkv_mux_free(m);
	c.timecode_scale = 50;
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "timecode-scale");
}

int main(void)
{
	if (system("command -v ffmpeg >/dev/null 2>&1") != 0) {
		printf("SKIP: needs ffmpeg with libx264\n");
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	struct stream a, b;
	make(&a, "a", "320x240", 60, 10, ":aud=1");
	make(&b, "b", "160x120", 20, 10, "");
	CHECK_EQ_INT(a.n, 60);
	CHECK_EQ_INT(b.n, 20);
	if (a.n == 60 && b.n == 20) {
		test_framing(&a);
		test_relative_and_fragment_duration(&a);
		test_gop_guard(&a);
		test_tags(&a);
		test_codec_change(&a, &b);
		test_broken(&a);
		test_small_timecode_scale(&a);
	}
	free_stream(&a);
	free_stream(&b);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
