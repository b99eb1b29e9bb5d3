/* The s3 module's object naming, addressing, metadata, event documents and
 * error handling (modules/s3/object.c), without a network. */
#include "tests/unit/check.h"

#include <regex.h>

#include "json.h"
#include "modules/s3/object.h"

static const uint8_t fixed_random[17] = {
    0xf2, 0x0f, 0x9a, 0xdd, 0x75, 0xe7, 0x43, 0x99, 0xa3,
    0x0f, 0xfc, 0x7a, 0xef, 0xb1, 0xba, 0xb7, 0x0c,
};

static int matches(const char *s, const char *re)
{
	regex_t r;
	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return 0;
	int ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static void test_default_key(void)
{
	struct s3_key_vars v = {
	    .stream = "demo-stream",
	    .account = "111122223333",
	    .image_prefix = "",
	    .ext = "jpg",
	    .timecode_ms = 1690707290324LL,
	    .random = fixed_random,
	};
	char key[S3_MAX_KEY + 1];
	char err[300];
	CHECK_EQ_INT(
	    s3_key_template_check(S3_DEFAULT_KEY_TEMPLATE, err, sizeof(err)),
	    0);
	CHECK_EQ_INT(
	    s3_key_expand(S3_DEFAULT_KEY_TEMPLATE, &v, key, sizeof(key)), 0);
	/* The service's example path, behind one random hex character. */
	CHECK(!strcmp(key, "c/111122223333_demo-stream_1690707290324_"
			   "f20f9add-75e7-4399-a30f-fc7aefb1bab7.jpg"));
	CHECK(matches(key,
		      "^[0-9a-f]/111122223333_demo-stream_1690707290324_"
		      "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}"
		      "-[0-9a-f]{12}\\.jpg$"));
	/* With an image prefix (AWS_KINESISVIDEO_IMAGE_PREFIX). */
	v.image_prefix = "lobby";
	v.account = "";
	CHECK_EQ_INT(
	    s3_key_expand(S3_DEFAULT_KEY_TEMPLATE, &v, key, sizeof(key)), 0);
	CHECK(!strncmp(key, "c/lobby_demo-stream_1690707290324_", 34));
	/* Other variables. */
	v.fragment = "9134385233318";
	v.seq = 42;
	CHECK_EQ_INT(s3_key_expand("a/{stream}/{seq}-{fragment}.{ext}", &v, key,
				   sizeof(key)),
		     0);
	CHECK(!strcmp(key, "a/demo-stream/42-9134385233318.jpg"));
}

static void test_template_errors(void)
{
	char err[300];
	CHECK_EQ_INT(s3_key_template_check("x/{nope}.jpg", err, sizeof(err)),
		     -1);
	CHECK_STR_CONTAINS(err, "unknown {nope} at character 3");
	CHECK_EQ_INT(s3_key_template_check("x/{stream", err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "not closed");
	CHECK_EQ_INT(s3_key_template_check("x}", err, sizeof(err)), -1);
	CHECK_EQ_INT(s3_key_template_check("", err, sizeof(err)), -1);
	/* Too long a key. */
	char big[1100];
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	struct s3_key_vars v = {.stream = big, .random = fixed_random};
	char key[S3_MAX_KEY + 1];
	CHECK_EQ_INT(s3_key_expand("{stream}", &v, key, sizeof(key)), -1);
}

static void test_addressing(void)
{
	struct s3_target t;
	char err[300];
	struct strbuf url = STRBUF_INIT, path = STRBUF_INIT;
	CHECK_EQ_INT(s3_target_init(&t, NULL, "eu-west-1", "my-bucket",
				    S3_ADDR_AUTO, err, sizeof(err)),
		     0);
	CHECK(!t.path_style);
	CHECK(!strcmp(t.host, "my-bucket.s3.eu-west-1.amazonaws.com"));
	s3_object_url(&t, "my-bucket", "a b/c+d.jpg", &url, &path);
	CHECK(!strcmp(url.s, "https://my-bucket.s3.eu-west-1.amazonaws.com/"
			     "a%20b/c%2Bd.jpg"));
	CHECK(!strcmp(path.s, "/a%20b/c%2Bd.jpg"));
	sb_free(&url);
	sb_free(&path);

	CHECK_EQ_INT(s3_target_init(&t, "http://127.0.0.1:4569/", "us-east-1",
				    "snaps", S3_ADDR_AUTO, err, sizeof(err)),
		     0);
	CHECK(t.path_style);
	CHECK(!strcmp(t.host, "127.0.0.1:4569"));
	s3_object_url(&t, "snaps", "k.png", &url, &path);
	CHECK(!strcmp(url.s, "http://127.0.0.1:4569/snaps/k.png"));
	CHECK(!strcmp(path.s, "/snaps/k.png"));
	sb_free(&url);
	sb_free(&path);

	/* An endpoint with a path prefix (a gateway), virtual-hosted. */
	CHECK_EQ_INT(s3_target_init(&t, "https://minio.lan:9000/s3",
				    "us-east-1", "cams", S3_ADDR_VIRTUAL, err,
				    sizeof(err)),
		     0);
	CHECK(!strcmp(t.host, "cams.minio.lan:9000"));
	s3_object_url(&t, "cams", "x", &url, &path);
	CHECK(!strcmp(url.s, "https://cams.minio.lan:9000/s3/x"));
	sb_free(&url);
	sb_free(&path);

	/* Dotted bucket names cannot be virtual-hosted over TLS. */
	CHECK_EQ_INT(s3_target_init(&t, NULL, "us-east-1", "my.bucket",
				    S3_ADDR_VIRTUAL, err, sizeof(err)),
		     -1);
	CHECK_STR_CONTAINS(err, "addressing = path");
	CHECK_EQ_INT(s3_target_init(&t, NULL, "us-east-1", "my.bucket",
				    S3_ADDR_AUTO, err, sizeof(err)),
		     0);
	CHECK(t.path_style);
	CHECK_EQ_INT(s3_target_init(&t, "ftp://x", "us-east-1", "b",
				    S3_ADDR_AUTO, err, sizeof(err)),
		     -1);
}

static void test_metadata(void)
{
	struct vpipe_tag tags[] = {
	    {"aws_kinesisvideo_producer_timestamp", "1690707290324"},
	    {"aws_kinesisvideo_fragment_number", "91343852333"},
	    {"stream-name", "door"},
	    {"AWS_KINESISVIDEO_IMAGE_PREFIX", "lobby"},
	    {"AWS_KINESISVIDEO_IMAGE_GENERATION", ""},
	    {"Site Name", "lab\x01\xc3\xa9"},
	    {"content-type", "video/h264"},
	};
	char lines[8][512];
	unsigned skipped;
	size_t n = s3_metadata_headers(tags, 7, lines, 8, &skipped);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(skipped, 0);
	CHECK(!strcmp(lines[0], "x-amz-meta-aws_kinesisvideo_producer_"
				"timestamp: 1690707290324"));
	CHECK(!strcmp(lines[1], "x-amz-meta-aws_kinesisvideo_fragment_number: "
				"91343852333"));
	CHECK(!strcmp(lines[2], "x-amz-meta-site-name: lab???"));

	/* More than 2 KB of metadata: the rest is skipped and counted. */
	static char values[12][257];
	struct vpipe_tag many[12];
	for (int i = 0; i < 12; i++) {
		memset(values[i], 'v', 256);
		values[i][256] = 0;
		many[i] = (struct vpipe_tag){"k", values[i]};
	}
	n = s3_metadata_headers(many, 12, lines, 8, &skipped);
	CHECK_EQ_INT(n, 7); /* 7 x 257 <= 2048 */
	CHECK_EQ_INT(skipped, 5);
}

static void test_event(void)
{
	struct vpipe_tag tags[] = {
	    {"aws_kinesisvideo_producer_timestamp", "1690707290324"},
	    {"CUSTOM_KEY_1", "CUSTOM_VALUE_1"},
	    {"stream-name", "door"},
	    {"motion", "yes \"big\""},
	};
	struct s3_event_info e = {
	    .stream_arn = "arn:aws:kinesisvideo:us-west-2:1:stream/door",
	    .stream = "door",
	    .producer_ms = 1690707290324LL,
	    .server_ms = 1690707290400LL,
	    .bucket = "snaps",
	    .key = "c/x.jpg",
	    .content_type = "image/jpeg",
	    .size = 1234,
	    .tags = tags,
	    .num_tags = 4,
	};
	struct strbuf b = STRBUF_INIT;
	CHECK_EQ_INT(s3_event_json(&b, &e), 0);
	size_t off;
	struct json_value *v = json_parse(b.s, b.len, &off, NULL);
	CHECK(v != NULL);
	if (v) {
		CHECK(!strcmp(json_string(json_get(v, "StreamArn")),
			      e.stream_arn));
		CHECK(!strcmp(json_string(json_get(v, "NotificationType")),
			      "PERSISTED"));
		CHECK(json_get(v, "FragmentNumber") != NULL);
		CHECK(json_get(v, "FragmentStartProducerTimestamp") != NULL);
		CHECK(json_get(v, "FragmentStartServerTimestamp") != NULL);
		const struct json_value *p = json_get(v, "NotificationPayload");
		CHECK(p && p->n == 2);
		CHECK(
		    !strcmp(json_string(json_get(p, "motion")), "yes \"big\""));
		CHECK(!strcmp(json_string(json_get(v, "Key")), "c/x.jpg"));
		json_free(v);
	}
	sb_free(&b);
	/* Tags are bytes: invalid UTF-8 still gives a document that parses
	 * (found by fuzz_s3_object). */
	struct vpipe_tag bad[] = {{"k\xd3\x8f", "v\xff\xc3"}};
	e.tags = bad;
	e.num_tags = 1;
	e.stream = "\xe0\x80\xaf"; /* overlong '/' */
	CHECK_EQ_INT(s3_event_json(&b, &e), 0);
	v = json_parse(b.s, b.len, &off, NULL);
	CHECK(v != NULL);
	if (v) {
		CHECK(!strcmp(json_string(json_get(v, "StreamName")),
			      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));
		json_free(v);
	}
	sb_free(&b);
}

static void test_errors(void)
{
	const char *body =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
	    "SignatureDoesNotMatch</Code><Message>The request signature we "
	    "calculated does not match</Message><RequestId>1</RequestId>"
	    "</Error>";
	char code[64], msg[200];
	s3_error_fields(body, strlen(body), code, sizeof(code), msg,
			sizeof(msg));
	CHECK(!strcmp(code, "SignatureDoesNotMatch"));
	CHECK_STR_CONTAINS(msg, "does not match");
	s3_error_fields("", 0, code, sizeof(code), msg, sizeof(msg));
	CHECK(code[0] == 0 && msg[0] == 0);

	CHECK_EQ_INT(s3_classify(200, ""), S3_OK);
	CHECK_EQ_INT(s3_classify(0, ""), S3_RETRY);
	CHECK_EQ_INT(s3_classify(503, "SlowDown"), S3_RETRY);
	CHECK_EQ_INT(s3_classify(403, "AccessDenied"), S3_RETRY_AUTH);
	CHECK_EQ_INT(s3_classify(403, "SignatureDoesNotMatch"), S3_RETRY_AUTH);
	CHECK_EQ_INT(s3_classify(400, "ExpiredToken"), S3_RETRY_AUTH);
	CHECK_EQ_INT(s3_classify(404, "NoSuchBucket"), S3_RETRY);
	CHECK_EQ_INT(s3_classify(400, "EntityTooLarge"), S3_GIVE_UP);
	CHECK_EQ_INT(s3_classify(400, "KeyTooLongError"), S3_GIVE_UP);
}

int main(void)
{
	test_default_key();
	test_template_errors();
	test_addressing();
	test_metadata();
	test_event();
	test_errors();
	return check_done();
}
