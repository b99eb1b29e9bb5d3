/* Unit tests of the kvs sink's disk spool (modules/kvs/spool.c): records
 * read back in order after a restart, a torn or damaged tail cut off with
 * everything before it kept, acknowledged fragments not read again,
 * whole segments deleted once done, both policies when full, one process
 * per directory, and the content store telling the spool what left it. */
#include "tests/unit/check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mkv_scan.h"
#include "modules/kvs/retime.h"
#include "modules/kvs/spool.h"
#include "modules/kvs/store.h"

static char logbuf[8192];

static void log_cb(void *ctx, enum kvs_spool_log level, const char *msg)
{
	(void)ctx;
	(void)level;
	size_t l = strlen(logbuf);
	snprintf(logbuf + l, sizeof(logbuf) - l, "%s\n", msg);
}

static struct kvs_spool_config cfg_for(const char *dir)
{
	struct kvs_spool_config c = {
	    .dir = dir,
	    .max_bytes = 64 << 20,
	    .segment_bytes = 1 << 20,
	    .log = log_cb,
	};
	return c;
}

static char *tmpdir(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "/tmp/test_kvs_spool.XXXXXX");
	return mkdtemp(buf);
}

static void rm_rf(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

static void frame(uint8_t *b, size_t n, unsigned frag, unsigned i)
{
	memset(b, (int)('a' + frag % 26), n);
	b[0] = (uint8_t)frag;
	b[1] = (uint8_t)i;
}

/* Writes frags fragments of per frames each, n bytes a frame. */
static void fill(struct kvs_spool *sp, unsigned first, unsigned frags,
		 unsigned per, size_t n)
{
	char err[256];
	uint8_t b[65536];
	for (unsigned f = first; f < first + frags; f++)
		for (unsigned i = 0; i < per; i++) {
			frame(b, n, f, i);
			int64_t t = (int64_t)f * 1000 + i * 33;
			CHECK_EQ_INT(
			    kvs_spool_put_frame(sp, b, n, i == 0,
						(int64_t)f * 1000, t * 1000000,
						t, t, NULL, err, sizeof(err)),
			    0);
		}
}

struct got {
	unsigned headers, frames, frags;
	uint64_t ids[4096];
	unsigned first_frag[4096];
	bool bad_order;
};

static void read_all(struct kvs_spool *sp, struct got *g)
{
	memset(g, 0, sizeof(*g));
	struct kvs_spool_rec r;
	uint8_t *buf = NULL;
	size_t cap = 0;
	unsigned last_frag = 0, last_i = 0;
	while (kvs_spool_next(sp, &r, &buf, &cap) == KVS_SPOOL_GOT) {
		if (r.type == 1) {
			g->headers++;
			continue;
		}
		unsigned fr = r.data[0], i = r.data[1];
		if (r.starts_fragment) {
			if (g->frags && fr <= last_frag)
				g->bad_order = true;
			if (g->frags < 4096) {
				g->ids[g->frags] = r.frag_id;
				g->first_frag[g->frags] = fr;
			}
			g->frags++;
		} else if (fr != last_frag || i != last_i + 1) {
			g->bad_order = true;
		}
		last_frag = fr;
		last_i = i;
		g->frames++;
	}
	free(buf);
}

static struct kvs_spool *open_ok(struct kvs_spool_config *c,
				 struct kvs_spool_found *found)
{
	struct kvs_spool *sp = NULL;
	char err[256];
	CHECK(kvs_spool_open(&sp, c, found, err, sizeof(err)) == 0);
	return sp;
}

static void put_hdr(struct kvs_spool *sp)
{
	char err[256];
	CHECK(kvs_spool_put_header(sp, (const uint8_t *)"HEADER", 6, err,
				   sizeof(err)) == 0);
}

static void test_roundtrip_and_restart(void)
{
	char *dir = tmpdir();
	struct kvs_spool_config c = cfg_for(dir);
	struct kvs_spool_found fd;
	struct kvs_spool *sp = open_ok(&c, &fd);
	CHECK_EQ_INT(fd.fragments, 0);
	/* Frames before a header, and a frame outside any fragment, are
	 * refused. */
	uint8_t b[16] = {0};
	char err[256];
	CHECK_EQ_INT(kvs_spool_put_frame(sp, b, 16, true, 0, 0, 0, 0, NULL, err,
					 sizeof(err)),
		     1);
	put_hdr(sp);
	CHECK_EQ_INT(kvs_spool_put_frame(sp, b, 16, false, 0, 0, 0, 0, NULL,
					 err, sizeof(err)),
		     1);
	fill(sp, 1, 40, 10, 4000); /* 1.6 MB: two segments */
	struct got g;
	read_all(sp, &g);
	CHECK_EQ_INT(g.frags, 40);
	CHECK_EQ_INT(g.frames, 400);
	CHECK(g.headers >= 2); /* one per segment */
	CHECK(!g.bad_order);
	/* The first five delivered. */
	for (unsigned i = 0; i < 5; i++)
		kvs_spool_done(sp, g.ids[i]);
	kvs_spool_close(sp);

	/* A new run: the 35 others come back, in order, first. */
	logbuf[0] = 0;
	sp = open_ok(&c, &fd);
	CHECK_EQ_INT(fd.fragments, 35);
	CHECK_EQ_INT(fd.frames, 400); /* frames scanned, done or not */
	CHECK_EQ_INT(fd.damaged, 0);
	put_hdr(sp);
	fill(sp, 41, 2, 10, 100);
	read_all(sp, &g);
	CHECK_EQ_INT(g.frags, 37);
	CHECK_EQ_INT(g.first_frag[0], 6);
	CHECK_EQ_INT(g.first_frag[35], 41);
	CHECK(!g.bad_order);
	/* Ids keep increasing across runs. */
	CHECK(g.ids[35] > g.ids[34]);
	struct kvs_spool_stats st;
	kvs_spool_stats(sp, &st);
	CHECK_EQ_INT(st.replay_total, 35);
	for (unsigned i = 0; i < 37; i++)
		kvs_spool_done(sp, g.ids[i]);
	kvs_spool_stats(sp, &st);
	CHECK_EQ_INT(st.fragments, 0);
	CHECK_EQ_INT(st.replay_done, 35);
	/* Only the segment being written is left. */
	CHECK_EQ_INT(st.segments, 1);
	kvs_spool_close(sp);
	rm_rf(dir);
}

static off_t file_size(const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	struct stat st;
	return stat(p, &st) ? -1 : st.st_size;
}

static void cut_file(const char *dir, const char *name, off_t keep)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	CHECK(truncate(p, keep) == 0);
}

static void poke(const char *dir, const char *name, off_t off)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_RDWR);
	uint8_t x;
	CHECK(pread(fd, &x, 1, off) == 1);
	x ^= 0x40;
	CHECK(pwrite(fd, &x, 1, off) == 1);
	close(fd);
}

#define SEG1 "seg-00000000000000000001.vsp"

static void test_torn_tail(void)
{
	char *dir = tmpdir();
	struct kvs_spool_config c = cfg_for(dir);
	struct kvs_spool_found fd;
	struct kvs_spool *sp = open_ok(&c, &fd);
	put_hdr(sp);
	fill(sp, 1, 10, 10, 1000); /* records of 1048 bytes, after a 54 */
	kvs_spool_close(sp);
	off_t full = file_size(dir, SEG1);
	CHECK_EQ_INT(full, 54 + 100 * 1048);
	/* A power cut in the middle of frame 95's payload. */
	off_t cut = 54 + 94 * 1048 + 500;
	cut_file(dir, SEG1, cut);
	logbuf[0] = 0;
	sp = open_ok(&c, &fd);
	CHECK_EQ_INT(fd.damaged, 1);
	CHECK_EQ_INT(fd.frames, 94);
	CHECK_EQ_INT(fd.fragments, 10);
	CHECK_STR_CONTAINS(logbuf, "torn record payload at byte 98566");
	CHECK_EQ_INT(file_size(dir, SEG1), 54 + 94 * 1048);
	struct got g;
	read_all(sp, &g);
	CHECK_EQ_INT(g.frames, 94);
	CHECK(!g.bad_order);
	kvs_spool_close(sp);

	/* A flipped bit in frame 50: frames 0-49 kept, the rest cut. */
	poke(dir, SEG1, 54 + 50 * 1048 + 700);
	logbuf[0] = 0;
	sp = open_ok(&c, &fd);
	CHECK_STR_CONTAINS(logbuf, "checksum mismatch at byte 52454");
	CHECK_EQ_INT(fd.frames, 50);
	CHECK_EQ_INT(fd.fragments, 5);
	read_all(sp, &g);
	CHECK_EQ_INT(g.frames, 50);
	kvs_spool_close(sp);
	rm_rf(dir);
}

static void test_torn_journal(void)
{
	char *dir = tmpdir();
	struct kvs_spool_config c = cfg_for(dir);
	struct kvs_spool_found fd;
	struct kvs_spool *sp = open_ok(&c, &fd);
	put_hdr(sp);
	fill(sp, 1, 10, 2, 100);
	struct got g;
	read_all(sp, &g);
	for (unsigned i = 0; i < 4; i++)
		kvs_spool_done(sp, g.ids[i]);
	kvs_spool_close(sp);
	/* The last ACK record torn: that fragment comes back, not lost. */
	cut_file(dir, "seg-00000000000000000001.ack", 3 * 16 + 7);
	logbuf[0] = 0;
	sp = open_ok(&c, &fd);
	CHECK_EQ_INT(fd.fragments, 7);
	CHECK_STR_CONTAINS(logbuf, "torn journal record at byte 48");
	kvs_spool_close(sp);
	rm_rf(dir);
}

static void test_full_drop_oldest(void)
{
	char *dir = tmpdir();
	struct kvs_spool_config c = cfg_for(dir);
	c.max_bytes = 1 << 20;
	c.segment_bytes = 128 << 10;
	struct kvs_spool_found fd;
	struct kvs_spool *sp = open_ok(&c, &fd);
	put_hdr(sp);
	struct kvs_spool_drops d = {0};
	char err[256];
	uint8_t b[10000];
	unsigned stored = 0;
	for (unsigned f = 1; f <= 40; f++)
		for (unsigned i = 0; i < 10; i++) {
			frame(b, sizeof(b), f, i);
			int rc = kvs_spool_put_frame(sp, b, sizeof(b), i == 0,
						     f * 1000, 0, 1, 0, &d, err,
						     sizeof(err));
			CHECK(rc == 0);
			stored += rc == 0;
		}
	struct kvs_spool_stats st;
	kvs_spool_stats(sp, &st);
	CHECK(st.bytes <= c.max_bytes);
	CHECK(d.fragments > 0);
	CHECK_EQ_INT(d.frames, d.fragments * 10);
	CHECK_EQ_INT(st.dropped_fragments, d.fragments);
	struct got g;
	read_all(sp, &g);
	/* Every frame is either read or counted as dropped. */
	CHECK_EQ_INT(g.frames + d.frames, 400);
	CHECK(!g.bad_order);
	CHECK_EQ_INT(g.first_frag[g.frags - 1], 40);
	kvs_spool_close(sp);
	rm_rf(dir);
}

static void test_full_blocks(void)
{
	char *dir = tmpdir();
	struct kvs_spool_config c = cfg_for(dir);
	c.max_bytes = 1 << 20;
	c.segment_bytes = 128 << 10;
	c.block_when_full = true;
	struct kvs_spool_found fd;
	struct kvs_spool *sp = open_ok(&c, &fd);
	put_hdr(sp);
	char err[256];
	uint8_t b[10000] = {0};
	unsigned f = 0, i = 0;
	while (kvs_spool_has_room(sp, sizeof(b))) {
		CHECK_EQ_INT(kvs_spool_put_frame(sp, b, sizeof(b), i == 0, f, 0,
						 1, 0, NULL, err, sizeof(err)),
			     0);
		if (++i == 10) {
			i = 0;
			f++;
		}
	}
	struct kvs_spool_stats st;
	kvs_spool_stats(sp, &st);
	CHECK_EQ_INT(st.dropped_fragments, 0);
	uint64_t frags = st.fragments;
	/* Delivering the oldest segment's fragments makes room. */
	struct got g;
	read_all(sp, &g);
	CHECK_EQ_INT(g.frags, frags);
	for (unsigned k = 0; k < 20; k++)
		kvs_spool_done(sp, g.ids[k]);
	CHECK(kvs_spool_has_room(sp, sizeof(b)));
	kvs_spool_close(sp);
	rm_rf(dir);
}

static void test_one_process(void)
{
	char *dir = tmpdir();
	struct kvs_spool_config c = cfg_for(dir);
	struct kvs_spool *a = open_ok(&c, NULL), *b = NULL;
	char err[256];
	CHECK(kvs_spool_open(&b, &c, NULL, err, sizeof(err)) == -1);
	CHECK_STR_CONTAINS(err, "in use by another process");
	kvs_spool_close(a);
	rm_rf(dir);
}

/* The content store as a cache: what leaves it is done in the spool. */
static void gone(void *ctx, uint64_t ref)
{
	kvs_spool_done(ctx, ref);
}

static void test_store_hook(void)
{
	char *dir = tmpdir();
	struct kvs_spool_config c = cfg_for(dir);
	struct kvs_spool *sp = open_ok(&c, NULL);
	put_hdr(sp);
	fill(sp, 1, 3, 2, 100);
	kvs_spool_end(sp);
	struct kvs_store_config scfg = {
	    .max_bytes = 4 << 20,
	    .buffer_ns = INT64_MAX / 4,
	    .replay_ns = INT64_MAX / 4,
	    .on_remove = gone,
	    .on_remove_ctx = sp,
	};
	struct kvs_store s;
	CHECK(kvs_store_init(&s, &scfg) == 0);
	struct kvs_spool_rec r;
	uint8_t *buf = NULL;
	size_t cap = 0;
	enum kvs_spool_next n;
	while ((n = kvs_spool_next(sp, &r, &buf, &cap)) == KVS_SPOOL_GOT) {
		if (r.type == 1) {
			kvs_store_put_header(&s, r.data, r.len);
			continue;
		}
		if (r.starts_fragment)
			kvs_store_set_next_ref(&s, r.frag_id);
		CHECK_EQ_INT(
		    kvs_store_put_frame(&s, r.data, r.len, r.starts_fragment,
					r.timecode_ms, r.pts, 1, 0, NULL),
		    0);
	}
	CHECK_EQ_INT(n, KVS_SPOOL_EOS);
	free(buf);
	kvs_store_end(&s, 0);
	int64_t lat;
	CHECK_EQ_INT(kvs_store_ack(&s, KVS_ACK_PERSISTED, 1000, 0, &lat), 1);
	struct kvs_spool_stats st;
	kvs_spool_stats(sp, &st);
	CHECK_EQ_INT(st.fragments, 2);
	/* A fragment skipped after an error ACK is not kept either. */
	kvs_store_error(&s, 2000, true, NULL);
	kvs_spool_stats(sp, &st);
	CHECK_EQ_INT(st.fragments, 1);
	/* What is still in RAM at exit stays in the spool. */
	s.cfg.on_remove = NULL;
	kvs_store_free(&s);
	kvs_spool_close(sp);
	struct kvs_spool_found fd;
	sp = open_ok(&c, &fd);
	CHECK_EQ_INT(fd.fragments, 1);
	kvs_spool_close(sp);
	rm_rf(dir);
}

/* A fragment's Cluster Timecode moved: the frame still scans, with the
 * new timecode, the Tags before the Cluster and the block after it kept. */
static void test_retime(void)
{
	static const uint8_t frame[] = {
	    0x12, 0x54, 0xC3, 0x67, 0x80,		    /* Tags, empty */
	    0x1F, 0x43, 0xB6, 0x75, 0x01, 0xFF, 0xFF, 0xFF, /* Cluster, */
	    0xFF, 0xFF, 0xFF, 0xFF,			    /* unknown size */
	    0xE7, 0x82, 0x01, 0x2C,			    /* Timecode 300 */
	    0xA3, 0x85, 0x81, 0x00, 0x00, 0x80, 0xAB,	    /* SimpleBlock */
	};
	struct mkv_frame_scan sc;
	size_t off;
	const char *why;
	CHECK(mkv_scan_frame(frame, sizeof(frame), &sc, &off, &why) == 0);
	CHECK(sc.has_cluster);
	CHECK_EQ_INT(sc.cluster_timecode, 300);
	size_t len = 0;
	uint8_t *out = kvs_retime_cluster(frame, sizeof(frame), sc.cluster_off,
					  1796674333074ULL, &len);
	CHECK(out != NULL);
	CHECK_EQ_INT(len, sizeof(frame) + 6);
	CHECK(mkv_scan_frame(out, len, &sc, &off, &why) == 0);
	CHECK(sc.has_cluster && sc.has_timecode);
	CHECK_EQ_INT(sc.cluster_timecode, 1796674333074LL);
	CHECK_EQ_INT(sc.blocks, 1);
	CHECK(!memcmp(out, frame, 17));
	CHECK(!memcmp(out + len - 7, frame + sizeof(frame) - 7, 7));
	free(out);
	/* No Timecode in the frame: nothing to move. */
	CHECK(kvs_retime_cluster(frame, 17, 5, 1, &len) == NULL);
}

int main(void)
{
	test_retime();
	test_roundtrip_and_restart();
	test_torn_tail();
	test_torn_journal();
	test_full_drop_oldest();
	test_full_blocks();
	test_one_process();
	test_store_hook();
	return check_done();
}
