/* Dates past 2038 and files past 4 GB, through the code that turns time into
 * text, names and Matroska timecodes. Most useful on 32-bit ARM (tests/cross.sh
 * runs it under qemu-arm), where a 32-bit time_t or off_t would fail here. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <x264.h>

#include <vpipe/module.h>

#include "mkv_scan.h"
#include "common/aws_creds.h"
#include "modules/mkv/mux.h"
#include "modules/record/store.h"
#include "sigv4.h"
#include "tests/unit/check.h"

/* 2040-02-29T12:34:56Z: a leap day, past 2^31 seconds. */
#define T2040 2214131696LL

static void test_types(void)
{
	CHECK_EQ_INT(sizeof(time_t), 8);
	CHECK_EQ_INT(sizeof(off_t), 8);
	struct tm tm;
	time_t t = (time_t)T2040;
	CHECK(gmtime_r(&t, &tm) != NULL);
	CHECK_EQ_INT(tm.tm_year + 1900, 2040);
	CHECK_EQ_INT(tm.tm_mon + 1, 2);
	CHECK_EQ_INT(tm.tm_mday, 29);
	CHECK_EQ_INT(timegm(&tm), T2040);
}

static void test_sigv4_date(void)
{
	char d[17];
	sigv4_amz_date((time_t)T2040, d);
	CHECK(!strcmp(d, "20400229T123456Z"));
	time_t back = 0;
	CHECK_EQ_INT(sigv4_parse_amz_date(d, &back), 0);
	CHECK_EQ_INT(back, T2040);
	CHECK_EQ_INT(sigv4_parse_amz_date("21060207T062816Z", &back), 0);
	CHECK_EQ_INT(back,
		     4294967296LL); /* 2^32 s: past an unsigned 32-bit too */
}

static void test_credential_expiry(void)
{
	int64_t e = 0;
	CHECK_EQ_INT(aws_creds_parse_iso8601("2040-02-29T12:34:56Z", &e), 0);
	CHECK_EQ_INT(e, T2040);
}

static void test_record_name(void)
{
	char name[128];
	int64_t ns = T2040 * 1000000000LL + 789000000LL;
	CHECK_EQ_INT(store_format_name(name, sizeof(name), "cam-", ns, 0), 0);
	CHECK(!strcmp(name, "cam-20400229T123456.789Z.mkv"));
	CHECK(store_name_matches(name, "cam-"));
}

/* One 64x64 IDR access unit (Annex-B, with SPS and PPS) from libx264. */
static uint8_t *encode_idr(size_t *len)
{
	x264_param_t p;
	if (x264_param_default_preset(&p, "ultrafast", "zerolatency") < 0)
		return NULL;
	p.i_width = p.i_height = 64;
	p.i_csp = X264_CSP_I420;
	p.i_threads = 1;
	p.b_repeat_headers = 1;
	p.b_annexb = 1;
	p.i_log_level = X264_LOG_NONE;
	x264_t *h = x264_encoder_open(&p);
	x264_picture_t in, out;
	if (!h || x264_picture_alloc(&in, X264_CSP_I420, 64, 64) < 0)
		return NULL;
	memset(in.img.plane[0], 128, 64 * 64);
	memset(in.img.plane[1], 128, 32 * 32);
	memset(in.img.plane[2], 128, 32 * 32);
	x264_nal_t *nals;
	int n_nals, size = x264_encoder_encode(h, &nals, &n_nals, &in, &out);
	while (size == 0 && x264_encoder_delayed_frames(h) > 0)
		size = x264_encoder_encode(h, &nals, &n_nals, NULL, &out);
	uint8_t *au = size > 0 ? malloc((size_t)size) : NULL;
	if (au) {
		memcpy(au, nals[0].p_payload, (size_t)size);
		*len = (size_t)size;
	}
	x264_picture_clean(&in);
	x264_encoder_close(h);
	return au;
}

static void log_fn(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	fprintf(stderr, "mkv: %s\n", msg);
}

/* Absolute fragment timecodes (what KVS gets by default) are wall-clock
 * milliseconds: 2214131696789 in 2040, well past 32 bits. */
static void test_mkv_absolute_timecode(void)
{
	size_t au_len = 0;
	uint8_t *au = encode_idr(&au_len);
	CHECK(au != NULL);
	if (!au)
		return;
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
	struct mkv_mux *m;
	char err[256];
	CHECK_EQ_INT(mkv_mux_new(&c, log_fn, NULL, &m, err, sizeof(err)), 0);
	int64_t wall = T2040 * 1000000000LL + 789000000LL;
	for (int i = 0; i < 2; i++) {
		int64_t pts = i * 2000000000LL;
		struct mkv_mux_input in = {
		    .data = au,
		    .size = au_len,
		    .pts = pts,
		    .dts = pts,
		    .duration = 33333333,
		    .wallclock = wall + pts,
		    .flags = VPIPE_FLAG_KEY,
		    .seq = (uint64_t)i,
		};
		struct mkv_mux_output o;
		CHECK_EQ_INT(mkv_mux_frame(m, &in, &o), 0);
		struct mkv_frame_scan s;
		size_t err_off = 0;
		const char *why = NULL;
		CHECK_EQ_INT(
		    mkv_scan_frame(o.data, o.data_len, &s, &err_off, &why), 0);
		CHECK(s.has_cluster);
		CHECK(s.has_timecode);
		CHECK_EQ_INT(s.cluster_timecode,
			     (uint64_t)((wall + pts) / 1000000));
	}
	mkv_mux_free(m);
	free(au);
}

/* A write at 5 GB: off_t, lseek and fstat past 4 GB (sparse, no disk). */
static void test_large_offset(void)
{
	char path[] = "/tmp/vpipe-y2038.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	unlink(path);
	off_t five_gb = (off_t)5 << 30;
	CHECK_EQ_INT(lseek(fd, five_gb, SEEK_SET), five_gb);
	CHECK_EQ_INT(write(fd, "x", 1), 1);
	struct stat st;
	CHECK_EQ_INT(fstat(fd, &st), 0);
	CHECK_EQ_INT(st.st_size, five_gb + 1);
	close(fd);
}

static void test_wallclock(void)
{
	/* The clock the kernel stamps frames with is 64-bit nanoseconds. */
	int64_t now = vpipe_wallclock();
	CHECK(now > 1700000000LL * 1000000000LL);
	CHECK(now < 4102444800LL * 1000000000LL); /* before 2100 */
}

int main(void)
{
	test_types();
	test_sigv4_date();
	test_credential_expiry();
	test_record_name();
	test_mkv_absolute_timecode();
	test_large_offset();
	test_wallclock();
	return check_done();
}
