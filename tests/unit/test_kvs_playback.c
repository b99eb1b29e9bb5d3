/* kvs-local's playback parameters: GetClip's and
 * GetHLSStreamingSessionURL's request bodies as the service checks them
 * (modes, ranges, limits, defaults), and the HLS URLs' query values. */
#include "tests/unit/check.h"

#include "kvs-local/kvs_local.h"

static struct json_value *parse(const char *s)
{
	return json_parse(s, strlen(s), NULL, NULL);
}

static int clip(const char *body, struct kl_ts_selector *sel, char *err)
{
	struct json_value *v = parse(body);
	CHECK(v != NULL);
	int rc = kl_parse_clip_params(v, sel, err, 300);
	json_free(v);
	return rc;
}

static int hls(const char *body, struct kl_hls_params *p, char *err)
{
	struct json_value *v = parse(body);
	CHECK(v != NULL);
	int rc = kl_parse_hls_params(v, p, err, 300);
	json_free(v);
	return rc;
}

static void test_clip(void)
{
	struct kl_ts_selector s;
	char err[300];
	CHECK_EQ_INT(clip("{\"ClipFragmentSelector\":{\"FragmentSelectorType\":"
			  "\"PRODUCER_TIMESTAMP\",\"TimestampRange\":{"
			  "\"StartTimestamp\":1700000000.5,"
			  "\"EndTimestamp\":\"2023-11-14T22:14:00Z\"}}}",
			  &s, err),
		     0);
	CHECK(s.producer && s.has_start && s.has_end);
	CHECK_EQ_INT(s.start_ms, 1700000000500LL);
	CHECK_EQ_INT(s.end_ms, 1700000040000LL);
	CHECK(clip("{}", &s, err) != 0);
	CHECK_STR_CONTAINS(err, "ClipFragmentSelector is required");
	CHECK(clip("{\"ClipFragmentSelector\":{\"FragmentSelectorType\":"
		   "\"SERVER_TIMESTAMP\",\"TimestampRange\":{"
		   "\"StartTimestamp\":20,\"EndTimestamp\":10}}}",
		   &s, err) != 0);
	CHECK_STR_CONTAINS(err, "EndTimestamp must be later");
	CHECK(clip("{\"ClipFragmentSelector\":{\"FragmentSelectorType\":"
		   "\"NOW\",\"TimestampRange\":{"
		   "\"StartTimestamp\":10,\"EndTimestamp\":20}}}",
		   &s, err) != 0);
	CHECK_STR_CONTAINS(err, "FragmentSelectorType");
	CHECK(clip("{\"ClipFragmentSelector\":{\"FragmentSelectorType\":"
		   "\"SERVER_TIMESTAMP\",\"TimestampRange\":{"
		   "\"StartTimestamp\":10}}}",
		   &s, err) != 0);
	CHECK_STR_CONTAINS(err, "StartTimestamp and EndTimestamp");
}

static void test_hls(void)
{
	struct kl_hls_params p;
	char err[300];
	/* defaults: LIVE, SERVER_TIMESTAMP, 300 s, 5 fragments */
	CHECK_EQ_INT(hls("{\"StreamName\":\"cam\"}", &p, err), 0);
	CHECK(p.mode == KL_HLS_LIVE && !p.sel.producer);
	CHECK_EQ_INT(p.expires_s, 300);
	CHECK_EQ_INT(p.max_results, 5);
	CHECK_EQ_INT(hls("{\"PlaybackMode\":\"ON_DEMAND\",\"Expires\":43200,"
			 "\"HLSFragmentSelector\":{\"FragmentSelectorType\":"
			 "\"PRODUCER_TIMESTAMP\",\"TimestampRange\":{"
			 "\"StartTimestamp\":1000,\"EndTimestamp\":87400}}}",
			 &p, err),
		     0);
	CHECK(p.mode == KL_HLS_ON_DEMAND && p.sel.producer);
	CHECK_EQ_INT(p.max_results, 1000);
	CHECK_EQ_INT(p.expires_s, 43200);
	/* 24 h and one second */
	CHECK(hls("{\"PlaybackMode\":\"ON_DEMAND\",\"HLSFragmentSelector\":{"
		  "\"TimestampRange\":{\"StartTimestamp\":1000,"
		  "\"EndTimestamp\":87401}}}",
		  &p, err) != 0);
	CHECK_STR_CONTAINS(err, "over 24 hours");
	CHECK(hls("{\"PlaybackMode\":\"ON_DEMAND\"}", &p, err) != 0);
	CHECK(hls("{\"PlaybackMode\":\"LIVE_REPLAY\"}", &p, err) != 0);
	CHECK_STR_CONTAINS(err, "StartTimestamp");
	CHECK(hls("{\"HLSFragmentSelector\":{\"TimestampRange\":{"
		  "\"StartTimestamp\":1000}}}",
		  &p, err) != 0);
	CHECK_STR_CONTAINS(err, "LIVE session takes no");
	CHECK(hls("{\"Expires\":299}", &p, err) != 0);
	CHECK_STR_CONTAINS(err, "Expires");
	CHECK(hls("{\"MaxMediaPlaylistFragmentResults\":5001}", &p, err) != 0);
	CHECK(hls("{\"PlaybackMode\":\"VOD\"}", &p, err) != 0);
	CHECK(hls("{\"ContainerFormat\":\"MPEG_TS\"}", &p, err) != 0);
	CHECK_STR_CONTAINS(err, "not served by vpipe-kvs-local");
	CHECK(hls("{\"DiscontinuityMode\":\"SOMETIMES\"}", &p, err) != 0);
}

static void test_query(void)
{
	char v[16];
	CHECK_EQ_INT(kl_query_param("SessionToken=ab%2Fc&FragmentNumber=91",
				    "FragmentNumber", v, sizeof v),
		     0);
	CHECK(strcmp(v, "91") == 0);
	CHECK_EQ_INT(kl_query_param("SessionToken=ab%2Fc&FragmentNumber=91",
				    "SessionToken", v, sizeof v),
		     0);
	CHECK(strcmp(v, "ab/c") == 0);
	CHECK(kl_query_param("XSessionToken=1", "SessionToken", v, sizeof v) !=
	      0);
	CHECK(kl_query_param("SessionToken=%zz", "SessionToken", v, sizeof v) !=
	      0);
	CHECK(kl_query_param("SessionToken=%00", "SessionToken", v, sizeof v) !=
	      0);
	CHECK(kl_query_param("SessionToken=0123456789abcdef", "SessionToken", v,
			     sizeof v) != 0); /* longer than the buffer */
	CHECK(kl_query_param("", "SessionToken", v, sizeof v) != 0);
}

int main(void)
{
	test_clip();
	test_hls();
	test_query();
	return check_done();
}
