/* The incremental Matroska reader: the same events and bytes whatever the
 * split of the input, sections that reassemble the input, and errors with
 * offsets on malformed streams. */
#include "tests/unit/check.h"

#include "common/ebml.h"
#include "kvs-local/mkv_stream.h"

struct rec {
	char log[4096];
	size_t log_len;
	uint8_t bytes[8192];
	size_t n_bytes;
	size_t sec_bytes[4];
};

static int on_event(void *opaque, const struct mkv_event *ev)
{
	struct rec *r = opaque;
	r->log_len += (size_t)snprintf(
	    r->log + r->log_len, sizeof r->log - r->log_len,
	    "%d@%llu:%llu/%llu/%d/%d/%s=%s;", ev->type,
	    (unsigned long long)ev->offset, (unsigned long long)ev->value,
	    (unsigned long long)ev->track, ev->timecode, ev->keyframe,
	    ev->name ? ev->name : "", ev->string ? ev->string : "");
	return 0;
}

static int on_bytes(void *opaque, enum mkv_section sec, const uint8_t *p,
		    size_t n)
{
	struct rec *r = opaque;
	memcpy(r->bytes + r->n_bytes, p, n);
	r->n_bytes += n;
	r->sec_bytes[sec] += n;
	return 0;
}

static void put_block(struct ebml_buf *b, int track, int16_t tc, int key,
		      size_t len)
{
	uint8_t data[64] = {0};
	data[0] = (uint8_t)(0x80 | track);
	data[1] = (uint8_t)((uint16_t)tc >> 8);
	data[2] = (uint8_t)tc;
	data[3] = key ? 0x80 : 0;
	ebml_put_binary(b, MKV_ID_SIMPLE_BLOCK, data, 4 + len);
}

static void build(struct ebml_buf *b)
{
	size_t m = ebml_begin_master(b, MKV_ID_EBML, 0);
	ebml_put_string(b, MKV_ID_DOCTYPE, "matroska");
	ebml_end_master(b, m);
	ebml_put_unknown_master(b, MKV_ID_SEGMENT);
	m = ebml_begin_master(b, MKV_ID_INFO, 0);
	ebml_put_uint(b, MKV_ID_TIMECODE_SCALE, 1000000);
	ebml_end_master(b, m);
	m = ebml_begin_master(b, MKV_ID_TRACKS, 0);
	size_t t = ebml_begin_master(b, MKV_ID_TRACK_ENTRY, 0);
	ebml_put_uint(b, MKV_ID_TRACK_NUMBER, 1);
	ebml_put_string(b, MKV_ID_CODEC_ID, "V_MPEG4/ISO/AVC");
	ebml_end_master(b, t);
	ebml_end_master(b, m);
	m = ebml_begin_master(b, MKV_ID_TAGS, 0);
	t = ebml_begin_master(b, MKV_ID_TAG, 0);
	size_t st = ebml_begin_master(b, MKV_ID_SIMPLE_TAG, 0);
	ebml_put_string(b, MKV_ID_TAG_NAME, "AWS_KINESISVIDEO_NOTIFICATION");
	ebml_put_string(b, MKV_ID_TAG_STRING, "motion");
	ebml_end_master(b, st);
	ebml_end_master(b, t);
	ebml_end_master(b, m);
	ebml_put_unknown_master(b, MKV_ID_CLUSTER);
	ebml_put_uint(b, MKV_ID_TIMECODE, 1000);
	put_block(b, 1, 0, 1, 20);
	put_block(b, 1, 33, 0, 10);
	m = ebml_begin_master(b, MKV_ID_CLUSTER, 0);
	ebml_put_uint(b, MKV_ID_TIMECODE, 2000);
	put_block(b, 1, 0, 1, 5);
	ebml_end_master(b, m);
	ebml_put_unknown_master(b, MKV_ID_CLUSTER);
	ebml_put_uint(b, MKV_ID_TIMECODE, 3000);
	put_block(b, 1, -5, 1, 5);
}

static int run(const uint8_t *p, size_t n, size_t step, struct rec *r,
	       char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	struct mkv_stream *m = malloc(sizeof *m);
	struct mkv_stream_callbacks cb = {on_event, on_bytes, r};
	mkv_stream_init(m, &cb);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i += step)
		rc = mkv_stream_feed(m, p + i, n - i < step ? n - i : step);
	if (rc == 0)
		rc = mkv_stream_finish(m);
	snprintf(err, errlen, "%s", m->error);
	free(m);
	return rc;
}

static void test_splits(void)
{
	struct ebml_buf b = {0};
	build(&b);
	struct rec whole, part;
	char err[200];
	CHECK_EQ_INT(run(b.data, b.len, b.len, &whole, err, sizeof err), 0);
	CHECK_STR_CONTAINS(whole.log, "AWS_KINESISVIDEO_NOTIFICATION=motion");
	CHECK_STR_CONTAINS(whole.log, ":1000/");
	CHECK_STR_CONTAINS(whole.log, "/-5/1/");
	CHECK_EQ_INT(whole.n_bytes, b.len);
	CHECK(memcmp(whole.bytes, b.data, b.len) == 0);
	CHECK(whole.sec_bytes[MKV_SEC_CLUSTER] > 0);
	CHECK(whole.sec_bytes[MKV_SEC_TAGS] > 0);
	/* 3 cluster starts and 3 ends, 1 track */
	int starts = 0, ends = 0;
	for (const char *p = whole.log; (p = strstr(p, ";4@")); p++)
		starts++;
	for (const char *p = whole.log; (p = strstr(p, ";7@")); p++)
		ends++;
	CHECK_EQ_INT(starts, 3);
	CHECK_EQ_INT(ends, 3);
	for (size_t step = 1; step < 40; step++) {
		CHECK_EQ_INT(run(b.data, b.len, step, &part, err, sizeof err),
			     0);
		CHECK(strcmp(part.log, whole.log) == 0);
		CHECK(memcmp(part.bytes, b.data, b.len) == 0);
	}
	/* truncated inside a block: an error at finish */
	CHECK_EQ_INT(run(b.data, b.len - 2, 7, &part, err, sizeof err), -1);
	CHECK_STR_CONTAINS(err, "ends inside");
	ebml_buf_free(&b);
}

static void test_garbage(void)
{
	struct rec r;
	char err[200];
	const uint8_t junk[] = "GET / HTTP/1.1\r\n\r\n";
	CHECK_EQ_INT(run(junk, sizeof junk - 1, 3, &r, err, sizeof err), -1);
	CHECK_STR_CONTAINS(err, "offset 0");
	const uint8_t zeros[16] = {0};
	CHECK_EQ_INT(run(zeros, sizeof zeros, 16, &r, err, sizeof err), -1);
	/* a child overrunning its known-size parent */
	struct ebml_buf b = {0};
	size_t m = ebml_begin_master(&b, MKV_ID_EBML, 0);
	ebml_end_master(&b, m);
	ebml_put_unknown_master(&b, MKV_ID_SEGMENT);
	ebml_put_id(&b, MKV_ID_INFO);
	ebml_put_size(&b, 3, 0);
	ebml_put_uint(&b, MKV_ID_TIMECODE_SCALE, 1000000);
	CHECK_EQ_INT(run(b.data, b.len, 5, &r, err, sizeof err), -1);
	CHECK_STR_CONTAINS(err, "overruns");
	ebml_buf_free(&b);
	/* an unknown-size Info */
	m = ebml_begin_master(&b, MKV_ID_EBML, 0);
	ebml_end_master(&b, m);
	ebml_put_unknown_master(&b, MKV_ID_SEGMENT);
	ebml_put_unknown_master(&b, MKV_ID_INFO);
	CHECK_EQ_INT(run(b.data, b.len, 5, &r, err, sizeof err), -1);
	CHECK_STR_CONTAINS(err, "unknown size");
	ebml_buf_free(&b);
}

int main(void)
{
	test_splits();
	test_garbage();
	return check_done();
}
