/* The naming rule for module counters and gauges (kernel/counter_name.c):
 * what passes, what is refused and why, and that vpipe_node_count and
 * vpipe_node_gauge refuse a bad name at its first use with one error line
 * naming it, and never publish it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kernel/internal.h"
#include "tests/unit/check.h"

static void good(const char *name, bool gauge)
{
	char why[160] = "";
	int rc = vp_counter_name_check(name, gauge, why, sizeof(why));
	if (rc)
		fprintf(stderr, "'%s' refused: %s\n", name, why);
	CHECK_EQ_INT(rc, 0);
}

static void bad(const char *name, bool gauge, const char *reason)
{
	char why[160] = "";
	CHECK_EQ_INT(vp_counter_name_check(name, gauge, why, sizeof(why)), -1);
	CHECK_STR_CONTAINS(why, reason);
}

static void test_rule(void)
{
	good("frames_total", false);
	good("written_bytes_total", false);
	good("putmedia_incoming_fragments_total", false);
	good("dropped_frames_total", false);
	good("content_store_bytes", true);
	good("putmedia_buffering_ack_latency_milliseconds", true);
	good("recording", true);
	good("h264_frames_total", false);

	/* what the modules published before the rule */
	bad("DroppedFrames", false, "lower-case");
	bad("frames-dropped", false, "lower-case");
	bad("dropped-frames", false, "lower-case");
	bad("PutMedia.IncomingFrames", false, "lower-case");
	bad("dropped", false, "ends in '_total'");
	bad("keyframe_requests", false, "ends in '_total'");
	bad("queued_total", true, "gauge");
	bad("latency_ms", true, "'_milliseconds'");
	bad("sent_kb_total", false, "'_bytes'");
	bad("frames__total", false, "single '_'");
	bad("frames_total_", false, "single '_'");
	bad("2frames_total", false, "start with a lower-case letter");
	bad("", false, "empty");
	bad(NULL, false, "empty");
	bad("a_very_long_counter_name_that_goes_on_and_on_and_on_and_on_and_on_"
	    "total",
	    false, "longer than 64");
}

/* stderr into a file while fn runs; returns what was written. */
static void capture_stderr(void (*fn)(struct vpipe_node *),
			   struct vpipe_node *n, char *out, size_t len)
{
	char path[] = "/tmp/test_counter_nameXXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	fn(n);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t got = pread(fd, out, len - 1, 0);
	out[got > 0 ? got : 0] = 0;
	close(fd);
	unlink(path);
}

static void publish(struct vpipe_node *n)
{
	for (int i = 0; i < 3; i++) {
		vpipe_node_count(n, "DroppedFrames", 1);
		vpipe_node_count(n, "frames_total", 2);
		vpipe_node_gauge(n, "queued-objects", 5);
		vpipe_node_gauge(n, "queued_objects", 5);
	}
}

static int64_t published(struct vpipe_node *n, const char *name)
{
	for (unsigned i = 0; i < n->n_counters; i++)
		if (!strcmp(n->counters[i].name, name) &&
		    !n->counters[i].refused)
			return n->counters[i].value;
	return -1;
}

static void test_refused_at_first_use(void)
{
	struct vpipe_node *n = vp_xcalloc(1, sizeof(*n));
	n->name = vp_strdup("cam");
	char log[4096];
	capture_stderr(publish, n, log, sizeof(log));
	CHECK_STR_CONTAINS(log, "cam: counter name 'DroppedFrames' refused: "
				"use lower-case letters");
	CHECK_STR_CONTAINS(log, "gauge name 'queued-objects' refused");
	/* once each, not on every call */
	const char *first = strstr(log, "'DroppedFrames'");
	CHECK(first && !strstr(first + 1, "'DroppedFrames'"));
	CHECK(!strstr(log, "frames_total"));
	CHECK_EQ_INT(published(n, "frames_total"), 6);
	CHECK_EQ_INT(published(n, "queued_objects"), 5);
	CHECK_EQ_INT(published(n, "DroppedFrames"), -1);
	CHECK_EQ_INT(published(n, "queued-objects"), -1);
	free(n->name);
	free(n);
}

int main(void)
{
	test_rule();
	test_refused_at_first_use();
	return check_done();
}
