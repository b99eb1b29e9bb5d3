/* StartEdgeConfigurationUpdate bodies: the example of the facts, defaults,
 * every constraint of the API model with the service's message, what is
 * refused beyond it; and the deletion policy (DeletionConfig) on lists of
 * local segments. */
#include "tests/unit/check.h"

#include "common/edge_config.h"
#include "common/edge_deletion.h"
#include "common/strbuf.h"

#include <stdlib.h>
#include <time.h>

#define ARN_STREAM                                                             \
	"arn:aws:kinesisvideo:eu-central-1:123456789012:stream/cam-1/"         \
	"0123456789012"
#define ARN_HUB "arn:aws:iot:eu-central-1:123456789012:thing/kvs-edge-demo"
#define ARN_SECRET                                                             \
	"arn:aws:secretsmanager:eu-central-1:123456789012:secret:cam1-dRbHJQ"

/* kvs-facts part4 §10.1, with concrete ARNs and the closing brace. */
static const char example[] =
    "{\n"
    "  \"StreamARN\": \"" ARN_STREAM "\",\n"
    "  \"EdgeConfig\": {\n"
    "    \"HubDeviceArn\": \"" ARN_HUB "\",\n"
    "    \"RecorderConfig\": {\n"
    "      \"MediaSourceConfig\": {\n"
    "        \"MediaUriSecretArn\": \"" ARN_SECRET "\",\n"
    "        \"MediaUriType\": \"RTSP_URI\"\n"
    "      },\n"
    "      \"ScheduleConfig\": {\n"
    "        \"ScheduleExpression\": \"0 0 9,10,11,12,13,14,15,16 ? * * *\",\n"
    "        \"DurationInSeconds\": 3599\n"
    "      }\n"
    "    },\n"
    "    \"UploaderConfig\": {\n"
    "      \"ScheduleConfig\": {\n"
    "        \"ScheduleExpression\": \"0 0 19,20,21 ? * * *\",\n"
    "        \"DurationInSeconds\": 3599\n"
    "      }\n"
    "    },\n"
    "    \"DeletionConfig\": {\n"
    "      \"EdgeRetentionInHours\": 15,\n"
    "      \"LocalSizeConfig\": {\n"
    "        \"MaxLocalMediaSizeInMB\": 2800,\n"
    "        \"StrategyOnFullSize\": \"DELETE_OLDEST_MEDIA\"\n"
    "      },\n"
    "      \"DeleteAfterUpload\": true\n"
    "    }\n"
    "  }\n"
    "}\n";

static struct edge_config cfg;
static struct edge_config_error err;

static int parse(const char *body)
{
	return edge_config_parse(&cfg, body, strlen(body), 0, &err);
}

/* A body with the required members and `extra` spliced into EdgeConfig
 * (`top` into the request object). */
static char body[8192];
static const char *make(const char *top, const char *extra)
{
	snprintf(body, sizeof body,
		 "{%s\"EdgeConfig\":{\"HubDeviceArn\":\"" ARN_HUB "\","
		 "\"RecorderConfig\":{\"MediaSourceConfig\":{"
		 "\"MediaUriSecretArn\":\"" ARN_SECRET "\","
		 "\"MediaUriType\":\"RTSP_URI\"}}%s}}",
		 top ? top : "\"StreamName\":\"cam-1\",", extra ? extra : "");
	return body;
}

static void test_example(void)
{
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	CHECK_EQ_INT(parse(example), 0);
	CHECK(strcmp(cfg.stream_arn, ARN_STREAM) == 0);
	CHECK(cfg.stream_name[0] == '\0');
	CHECK(strcmp(cfg.hub_device_arn, ARN_HUB) == 0);
	CHECK(strcmp(cfg.media_uri_secret_arn, ARN_SECRET) == 0);
	CHECK_EQ_INT(cfg.media_uri_type, EDGE_MEDIA_URI_RTSP);
	CHECK(cfg.recorder.given);
	CHECK(strcmp(cfg.recorder.expression,
		     "0 0 9,10,11,12,13,14,15,16 ? * * *") == 0);
	CHECK_EQ_INT(cfg.recorder.schedule.duration_s, 3599);
	CHECK(cfg.uploader.given);
	CHECK_EQ_INT(cfg.uploader.schedule.duration_s, 3599);
	CHECK_EQ_INT(cfg.deletion.retention_hours, 15);
	CHECK_EQ_INT(cfg.deletion.max_local_media_mb, 2800);
	CHECK_EQ_INT(cfg.deletion.on_full, EDGE_DELETE_OLDEST_MEDIA);
	CHECK(cfg.deletion.delete_after_upload);
	/* record 09:00:00-16:59:59, upload 19:00:00-21:59:59 local */
	struct tm tm = {.tm_year = 126,
			.tm_mon = 5,
			.tm_mday = 15,
			.tm_hour = 12,
			.tm_isdst = -1};
	time_t noon = mktime(&tm);
	CHECK(quartz_schedule_in_window(&cfg.recorder.schedule, noon, NULL));
	CHECK(!quartz_schedule_in_window(&cfg.uploader.schedule, noon, NULL));
	CHECK(quartz_schedule_in_window(&cfg.uploader.schedule, noon + 8 * 3600,
					NULL));
	CHECK(!quartz_schedule_in_window(&cfg.recorder.schedule,
					 noon + 8 * 3600, NULL));
	CHECK(strcmp(edge_media_uri_type_name(cfg.media_uri_type),
		     "RTSP_URI") == 0);
	CHECK(strcmp(edge_full_strategy_name(EDGE_DENY_NEW_MEDIA),
		     "DENY_NEW_MEDIA") == 0);
}

/* Without ScheduleConfig and DeletionConfig: always record, upload hourly
 * (the caller's job), keep 720 h, delete after upload, no size limit. */
static void test_defaults(void)
{
	CHECK_EQ_INT(parse(make(NULL, NULL)), 0);
	CHECK(strcmp(cfg.stream_name, "cam-1") == 0);
	CHECK(cfg.stream_arn[0] == '\0');
	CHECK(!cfg.recorder.given);
	CHECK(!cfg.uploader.given);
	CHECK_EQ_INT(cfg.deletion.retention_hours, 720);
	CHECK_EQ_INT(cfg.deletion.max_local_media_mb, 0);
	CHECK_EQ_INT(cfg.deletion.on_full, EDGE_DELETE_OLDEST_MEDIA);
	CHECK(cfg.deletion.delete_after_upload);
	/* JSON null is "not given", as for the service */
	CHECK_EQ_INT(parse(make(NULL, ",\"UploaderConfig\":null,"
				      "\"DeletionConfig\":{\"LocalSizeConfig\":"
				      "{\"StrategyOnFullSize\":"
				      "\"DENY_NEW_MEDIA\"},"
				      "\"DeleteAfterUpload\":false}")),
		     0);
	CHECK(!cfg.uploader.given);
	CHECK_EQ_INT(cfg.deletion.on_full, EDGE_DENY_NEW_MEDIA);
	CHECK_EQ_INT(cfg.deletion.max_local_media_mb, 0);
	CHECK(!cfg.deletion.delete_after_upload);
	/* both StreamARN and StreamName, FILE_URI, the range limits */
	CHECK_EQ_INT(
	    parse(make("\"StreamName\":\"a\",\"StreamARN\":\"" ARN_STREAM "\",",
		       ",\"DeletionConfig\":{\"EdgeRetentionInHours\":1,"
		       "\"LocalSizeConfig\":{\"MaxLocalMediaSizeInMB\":"
		       "2000000}},\"UploaderConfig\":{"
		       "\"ScheduleConfig\":{\"ScheduleExpression\":"
		       "\"0 0 0 * * ? *\",\"DurationInSeconds\":60}}")),
	    0);
	CHECK_EQ_INT(cfg.deletion.retention_hours, 1);
	CHECK_EQ_INT(cfg.deletion.max_local_media_mb, 2000000);
	CHECK_EQ_INT(cfg.uploader.schedule.duration_s, 60);
	CHECK(!cfg.recorder.given);
}

struct bad {
	const char *top, *extra;
	const char *type;
	const char *message; /* exact, or a part with `part` */
	bool part;
};

static void test_constraints(void)
{
	static const struct bad bad[] = {
	    {NULL, ",\"DeletionConfig\":{\"EdgeRetentionInHours\":0}",
	     "InvalidArgumentException",
	     "1 validation error detected: Value '0' at "
	     "'edgeConfig.deletionConfig.edgeRetentionInHours' failed to "
	     "satisfy constraint: Member must have value greater than or "
	     "equal to 1",
	     false},
	    {NULL, ",\"DeletionConfig\":{\"EdgeRetentionInHours\":721}",
	     "InvalidArgumentException",
	     "1 validation error detected: Value '721' at "
	     "'edgeConfig.deletionConfig.edgeRetentionInHours' failed to "
	     "satisfy constraint: Member must have value less than or equal "
	     "to 720",
	     false},
	    {NULL,
	     ",\"DeletionConfig\":{\"LocalSizeConfig\":{"
	     "\"MaxLocalMediaSizeInMB\":63}}",
	     "InvalidArgumentException",
	     "Value '63' at "
	     "'edgeConfig.deletionConfig.localSizeConfig.maxLocalMediaSizeInMB'"
	     " failed to satisfy constraint: Member must have value greater "
	     "than or equal to 64",
	     true},
	    {NULL,
	     ",\"DeletionConfig\":{\"LocalSizeConfig\":{"
	     "\"MaxLocalMediaSizeInMB\":2000001}}",
	     "InvalidArgumentException",
	     "Member must have value less than or equal to 2000000", true},
	    {NULL,
	     ",\"DeletionConfig\":{\"LocalSizeConfig\":{"
	     "\"StrategyOnFullSize\":\"DELETE_NEWEST_MEDIA\"}}",
	     "InvalidArgumentException",
	     "1 validation error detected: Value 'DELETE_NEWEST_MEDIA' at "
	     "'edgeConfig.deletionConfig.localSizeConfig.strategyOnFullSize' "
	     "failed to satisfy constraint: Member must satisfy enum value "
	     "set: [DELETE_OLDEST_MEDIA, DENY_NEW_MEDIA]",
	     false},
	    {NULL,
	     ",\"UploaderConfig\":{\"ScheduleConfig\":{\"ScheduleExpression\":"
	     "\"0 0 9 * * ? *\",\"DurationInSeconds\":59}}",
	     "InvalidArgumentException",
	     "1 validation error detected: Value '59' at "
	     "'edgeConfig.uploaderConfig.scheduleConfig.durationInSeconds' "
	     "failed to satisfy constraint: Member must have value greater "
	     "than or equal to 60",
	     false},
	    {NULL,
	     ",\"UploaderConfig\":{\"ScheduleConfig\":{\"ScheduleExpression\":"
	     "\"0 0 9 * * ? *\",\"DurationInSeconds\":3601}}",
	     "InvalidArgumentException",
	     "Member must have value less than or equal to 3600", true},
	    {NULL,
	     ",\"UploaderConfig\":{\"ScheduleConfig\":{\"ScheduleExpression\":"
	     "\"0 0 9 * *\",\"DurationInSeconds\":60}}",
	     "InvalidArgumentException",
	     "1 validation error detected: Value '0 0 9 * *' at "
	     "'edgeConfig.uploaderConfig.scheduleConfig.scheduleExpression' "
	     "failed to satisfy constraint: Member must have length greater "
	     "than or equal to 11",
	     false},
	    {NULL,
	     ",\"UploaderConfig\":{\"ScheduleConfig\":{\"ScheduleExpression\":"
	     "\"0 0 9 * * ?\\n1\",\"DurationInSeconds\":60}}",
	     "InvalidArgumentException",
	     "Value '0 0 9 * * ?\\x0a1' at "
	     "'edgeConfig.uploaderConfig.scheduleConfig.scheduleExpression' "
	     "failed to satisfy constraint: Member must satisfy regular "
	     "expression pattern: [^\\n]{11,100}",
	     true},
	    {NULL,
	     ",\"UploaderConfig\":{\"ScheduleConfig\":{"
	     "\"DurationInSeconds\":60}}",
	     "InvalidArgumentException",
	     "1 validation error detected: Value null at "
	     "'edgeConfig.uploaderConfig.scheduleConfig.scheduleExpression' "
	     "failed to satisfy constraint: Member must not be null",
	     false},
	    {NULL, ",\"UploaderConfig\":{}", "InvalidArgumentException",
	     "1 validation error detected: Value null at "
	     "'edgeConfig.uploaderConfig.scheduleConfig' failed to satisfy "
	     "constraint: Member must not be null",
	     false},
	    {"\"StreamName\":\"cam 1\",", NULL, "InvalidArgumentException",
	     "1 validation error detected: Value 'cam 1' at 'streamName' "
	     "failed to satisfy constraint: Member must satisfy regular "
	     "expression pattern: [a-zA-Z0-9_.-]+",
	     false},
	    {"\"StreamName\":\"\",", NULL, "InvalidArgumentException",
	     "2 validation errors detected: Value '' at 'streamName' failed to "
	     "satisfy constraint: Member must have length greater than or "
	     "equal to 1; Value '' at 'streamName' failed to satisfy "
	     "constraint: Member must satisfy regular expression pattern: "
	     "[a-zA-Z0-9_.-]+",
	     false},
	    {"\"StreamARN\":\"arn:aws:kinesisvideo:eu-central-1:1:stream/"
	     "cam/x\",",
	     NULL, "InvalidArgumentException",
	     "1 validation error detected: Value "
	     "'arn:aws:kinesisvideo:eu-central-1:1:stream/cam/x' at "
	     "'streamARN' failed to satisfy constraint: Member must satisfy "
	     "regular expression pattern: arn:[a-z\\d-]+:kinesisvideo:"
	     "[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+",
	     false},
	    /* no StreamName, no StreamARN */
	    {"", NULL, "InvalidArgumentException",
	     "StreamARN or StreamName must be specified", false},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = parse(make(bad[i].top, bad[i].extra));
		CHECK_EQ_INT(rc, -1);
		CHECK(err.type && strcmp(err.type, bad[i].type) == 0);
		if (bad[i].part)
			CHECK_STR_CONTAINS(err.msg, bad[i].message);
		else if (strcmp(err.msg, bad[i].message) != 0) {
			fprintf(stderr, "case %zu: got  %s\n     want %s\n", i,
				err.msg, bad[i].message);
			CHECK(0);
		}
	}
}

static void test_required(void)
{
	static const char *const cases[][2] = {
	    {"{\"StreamName\":\"a\"}",
	     "1 validation error detected: Value null at 'edgeConfig' failed "
	     "to satisfy constraint: Member must not be null"},
	    {"{\"StreamName\":\"a\",\"EdgeConfig\":{}}",
	     "2 validation errors detected: Value null at "
	     "'edgeConfig.hubDeviceArn' failed to satisfy constraint: Member "
	     "must not be null; Value null at 'edgeConfig.recorderConfig' "
	     "failed to satisfy constraint: Member must not be null"},
	    {"{\"StreamName\":\"a\",\"EdgeConfig\":{\"HubDeviceArn\":"
	     "\"" ARN_HUB "\",\"RecorderConfig\":{}}}",
	     "1 validation error detected: Value null at "
	     "'edgeConfig.recorderConfig.mediaSourceConfig' failed to satisfy "
	     "constraint: Member must not be null"},
	    {"{\"StreamName\":\"a\",\"EdgeConfig\":{\"HubDeviceArn\":"
	     "\"arn:aws:iot:eu-central-1:123456789012:policy/x\","
	     "\"RecorderConfig\":{\"MediaSourceConfig\":{"
	     "\"MediaUriType\":\"HTTP_URI\"}}}}",
	     "3 validation errors detected: Value "
	     "'arn:aws:iot:eu-central-1:123456789012:policy/x' at "
	     "'edgeConfig.hubDeviceArn' failed to satisfy constraint: Member "
	     "must satisfy regular expression pattern: "
	     "arn:[a-z\\d-]+:iot:[a-z0-9-]+:[0-9]+:thing/[a-zA-Z0-9_.-]+; "
	     "Value null at "
	     "'edgeConfig.recorderConfig.mediaSourceConfig.mediaUriSecretArn' "
	     "failed to satisfy constraint: Member must not be null; Value "
	     "'HTTP_URI' at "
	     "'edgeConfig.recorderConfig.mediaSourceConfig.mediaUriType' "
	     "failed to satisfy constraint: Member must satisfy enum value "
	     "set: [RTSP_URI, FILE_URI]"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		CHECK_EQ_INT(parse(cases[i][0]), -1);
		if (strcmp(err.msg, cases[i][1]) != 0) {
			fprintf(stderr, "case %zu: got  %s\n     want %s\n", i,
				err.msg, cases[i][1]);
			CHECK(0);
		}
	}
}

/* The secret's ARN is sensitive in the model: never shown. */
static void test_secret_redacted(void)
{
	const char *b =
	    "{\"StreamName\":\"a\",\"EdgeConfig\":{\"HubDeviceArn\":\"" ARN_HUB
	    "\",\"RecorderConfig\":{\"MediaSourceConfig\":{"
	    "\"MediaUriSecretArn\":\"arn:aws:secretsmanager:x:1:secret:"
	    "pass word\",\"MediaUriType\":\"RTSP_URI\"}}}}";
	CHECK_EQ_INT(parse(b), -1);
	CHECK_STR_CONTAINS(err.msg,
			   "Value '*** Sensitive Data Redacted ***' at "
			   "'edgeConfig.recorderConfig.mediaSourceConfig."
			   "mediaUriSecretArn' failed to satisfy constraint: "
			   "Member must satisfy regular expression pattern");
	CHECK(strstr(err.msg, "pass word") == NULL);
	b = "{\"StreamName\":\"a\",\"EdgeConfig\":{\"HubDeviceArn\":\"" ARN_HUB
	    "\",\"RecorderConfig\":{\"MediaSourceConfig\":{"
	    "\"MediaUriSecretArn\":\"arn:aws:x\",\"MediaUriType\":"
	    "\"FILE_URI\"}}}}";
	CHECK_EQ_INT(parse(b), -1);
	CHECK_STR_CONTAINS(err.msg, "Member must have length greater than or "
				    "equal to 20");
	CHECK(strstr(err.msg, "arn:aws:x") == NULL);
}

/* What the model does not say but the parser refuses. */
static void test_refused(void)
{
	/* malformed JSON: the byte offset */
	CHECK_EQ_INT(parse("{\"StreamName\":\"a\",}"), -1);
	CHECK(strcmp(err.type, "SerializationException") == 0);
	CHECK_STR_CONTAINS(err.msg, "invalid JSON at byte offset 18");
	CHECK_EQ_INT(parse("[]"), -1);
	CHECK_STR_CONTAINS(err.msg, "request body: expected an object, found "
				    "an array");
	/* wrong JSON types name the member */
	CHECK_EQ_INT(parse(make(NULL, ",\"DeletionConfig\":{"
				      "\"EdgeRetentionInHours\":\"15\"}")),
		     -1);
	CHECK(strcmp(err.type, "SerializationException") == 0);
	CHECK_STR_CONTAINS(err.msg, "EdgeConfig.DeletionConfig."
				    "EdgeRetentionInHours: expected an "
				    "integer, found a string");
	CHECK_EQ_INT(parse(make(NULL, ",\"DeletionConfig\":{"
				      "\"EdgeRetentionInHours\":15.5}")),
		     -1);
	CHECK_STR_CONTAINS(err.msg, "expected an integer (32-bit), found a "
				    "number");
	CHECK_EQ_INT(parse(make(NULL, ",\"DeletionConfig\":{"
				      "\"EdgeRetentionInHours\":4294967311}")),
		     -1);
	CHECK_STR_CONTAINS(err.msg, "expected an integer (32-bit)");
	CHECK_EQ_INT(parse(make(NULL, ",\"DeletionConfig\":{"
				      "\"DeleteAfterUpload\":\"true\"}")),
		     -1);
	CHECK_STR_CONTAINS(err.msg, "DeleteAfterUpload: expected a boolean, "
				    "found a string");
	CHECK_EQ_INT(parse(make(NULL, ",\"UploaderConfig\":[]")), -1);
	CHECK_STR_CONTAINS(err.msg, "EdgeConfig.UploaderConfig: expected an "
				    "object, found an array");
	CHECK_EQ_INT(parse(make("\"StreamName\":7,", NULL)), -1);
	CHECK_STR_CONTAINS(err.msg, "StreamName: expected a string, found a "
				    "number");
	/* a member given twice */
	CHECK_EQ_INT(
	    parse(make("\"StreamName\":\"a\",\"StreamName\":\"b\",", NULL)),
	    -1);
	CHECK_STR_CONTAINS(err.msg, "\"StreamName\" is given twice");
	CHECK_EQ_INT(parse(make(NULL, ",\"DeletionConfig\":{"
				      "\"DeleteAfterUpload\":true,"
				      "\"DeleteAfterUpload\":false}")),
		     -1);
	CHECK_STR_CONTAINS(err.msg, "EdgeConfig.DeletionConfig: "
				    "\"DeleteAfterUpload\" is given twice");
	/* an unknown member (a typo must not pass silently) */
	const char *typo = make(NULL, ",\"DeletionConfig\":{"
				      "\"DeleteAfterUpoad\":false}");
	CHECK_EQ_INT(parse(typo), -1);
	CHECK(strcmp(err.type, "InvalidArgumentException") == 0);
	CHECK(strcmp(err.msg, "Unknown parameter in EdgeConfig.DeletionConfig: "
			      "\"DeleteAfterUpoad\", must be one of: "
			      "EdgeRetentionInHours, LocalSizeConfig, "
			      "DeleteAfterUpload") == 0);
	/* ... unless told to ignore it, as the service does */
	CHECK_EQ_INT(edge_config_parse(&cfg, typo, strlen(typo),
				       EDGE_CONFIG_IGNORE_UNKNOWN, &err),
		     0);
	CHECK(cfg.deletion.delete_after_upload);
	CHECK_EQ_INT(parse("{\"StreamName\":\"a\",\"Region\":\"x\"}"), -1);
	CHECK_STR_CONTAINS(err.msg, "Unknown parameter in input: \"Region\"");
	/* an embedded NUL, escaped or raw */
	CHECK_EQ_INT(parse(make("\"StreamName\":\"cam\\u0000x\",", NULL)), -1);
	CHECK_STR_CONTAINS(err.msg, "at 'streamName' failed to satisfy "
				    "constraint: Member must not contain a "
				    "NUL character");
	const char *raw = make(NULL, NULL);
	char copy[8192];
	size_t n = strlen(raw);
	memcpy(copy, raw, n);
	copy[15] = '\0'; /* inside "cam-1": JSON refuses a raw control byte */
	CHECK_EQ_INT(edge_config_parse(&cfg, copy, n, 0, &err), -1);
	CHECK_STR_CONTAINS(err.msg, "control character in string");
	/* a key with an embedded NUL is unknown, shown escaped */
	CHECK_EQ_INT(parse("{\"StreamName\\u0000x\":\"a\"}"), -1);
	CHECK_STR_CONTAINS(err.msg, "Unknown parameter in input: "
				    "\"StreamName\\u0000x\"");
	/* ... and ignored as unknown, it cannot stand in for StreamName */
	const char *nul_key =
	    "{\"StreamName\\u0000x\":\"a\",\"EdgeConfig\":{}}";
	CHECK_EQ_INT(edge_config_parse(&cfg, nul_key, strlen(nul_key),
				       EDGE_CONFIG_IGNORE_UNKNOWN, &err),
		     -1);
	CHECK_STR_CONTAINS(err.msg, "Value null at 'edgeConfig.hubDeviceArn'");
	CHECK(cfg.stream_name[0] == '\0');
	/* a schedule the model accepts but Quartz does not */
	CHECK_EQ_INT(parse(make(NULL, ",\"UploaderConfig\":{\"ScheduleConfig\":"
				      "{\"ScheduleExpression\":"
				      "\"0 0 9-16 * * * *\","
				      "\"DurationInSeconds\":3599}}")),
		     -1);
	CHECK(strcmp(err.type, "InvalidArgumentException") == 0);
	CHECK_STR_CONTAINS(err.msg,
			   "Invalid ScheduleExpression '0 0 9-16 * * * *' at "
			   "'edgeConfig.uploaderConfig.scheduleConfig."
			   "scheduleExpression': day-of-week at offset 13: "
			   "one of day-of-month and day-of-week must be '?'");
	/* length in UTF-16 code units, as the service counts: 51 emoji are
	 * 51 characters but 102 units */
	char longexpr[1024];
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, ",\"UploaderConfig\":{\"ScheduleConfig\":{"
		     "\"ScheduleExpression\":\"");
	for (int i = 0; i < 51; i++)
		sb_puts(&sb, "\xf0\x9f\x98\x80");
	sb_puts(&sb, "\",\"DurationInSeconds\":60}}");
	snprintf(longexpr, sizeof longexpr, "%s", sb.s);
	sb_free(&sb);
	CHECK_EQ_INT(parse(make(NULL, longexpr)), -1);
	CHECK_STR_CONTAINS(err.msg, "Member must have length less than or "
				    "equal to 100");
	CHECK_STR_CONTAINS(err.msg, "...'"); /* the value shown is cut */
}

/* ------------------------------------------------- deletion policy */

#define MIB	((uint64_t)1 << 20)
#define HOUR_MS ((int64_t)3600 * 1000)
#define NOW_MS	((int64_t)1781524800000) /* 2026-06-15T12:00:00Z */

static struct edge_deletion deletion(int hours, int64_t mb,
				     enum edge_full_strategy s, bool dau)
{
	return (struct edge_deletion){hours, mb, s, dau};
}

static void test_delete_after_upload(void)
{
	struct edge_segment segs[] = {
	    {NOW_MS - 3 * HOUR_MS, NOW_MS - 2 * HOUR_MS, 10 * MIB, true, false},
	    {NOW_MS - 2 * HOUR_MS, NOW_MS - 1 * HOUR_MS, 20 * MIB, false,
	     false},
	    {NOW_MS - 1 * HOUR_MS, NOW_MS, 30 * MIB, true, true}, /* in use */
	};
	enum edge_delete_reason why[3];
	struct edge_deletion_plan plan;
	struct edge_deletion d =
	    deletion(720, 0, EDGE_DELETE_OLDEST_MEDIA, true);
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 3, NOW_MS, 0, why, &plan), 0);
	CHECK_EQ_INT(why[0], EDGE_DELETE_UPLOADED);
	CHECK_EQ_INT(why[1], EDGE_KEEP);
	CHECK_EQ_INT(why[2], EDGE_KEEP);
	CHECK_EQ_INT(plan.deleted, 1);
	CHECK_EQ_INT(plan.lost, 0);
	CHECK_EQ_INT(plan.deleted_bytes, 10 * MIB);
	CHECK_EQ_INT(plan.used_bytes, 50 * MIB);
	CHECK_EQ_INT(plan.limit_bytes, 0);
	CHECK(plan.space_used == 0.0);
	CHECK(!plan.deny_new_media);
	d.delete_after_upload = false;
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 3, NOW_MS, 0, why, &plan), 0);
	CHECK_EQ_INT(plan.deleted, 0);
	CHECK_EQ_INT(why[0], EDGE_KEEP);
	CHECK(strcmp(edge_delete_reason_name(EDGE_DELETE_UPLOADED),
		     "uploaded") == 0);
	CHECK(strcmp(edge_delete_reason_name(EDGE_KEEP), "keep") == 0);
}

static void test_retention(void)
{
	struct edge_segment segs[] = {
	    /* ended exactly 15 h ago: due */
	    {NOW_MS - 16 * HOUR_MS, NOW_MS - 15 * HOUR_MS, 5 * MIB, false,
	     false},
	    /* 1 ms younger: kept */
	    {NOW_MS - 16 * HOUR_MS, NOW_MS - 15 * HOUR_MS + 1, 5 * MIB, false,
	     false},
	    /* old and uploaded: DeleteAfterUpload comes first */
	    {NOW_MS - 40 * HOUR_MS, NOW_MS - 39 * HOUR_MS, 7 * MIB, true,
	     false},
	    /* from the future (the clock went back): not old */
	    {NOW_MS + 2 * HOUR_MS, NOW_MS + 3 * HOUR_MS, 1 * MIB, false, false},
	    /* old but in use: kept */
	    {NOW_MS - 30 * HOUR_MS, NOW_MS - 29 * HOUR_MS, 3 * MIB, false,
	     true},
	};
	enum edge_delete_reason why[5];
	struct edge_deletion_plan plan;
	struct edge_deletion d =
	    deletion(15, 0, EDGE_DELETE_OLDEST_MEDIA, true);
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 5, NOW_MS, 0, why, &plan), 0);
	CHECK_EQ_INT(why[0], EDGE_DELETE_AGE);
	CHECK_EQ_INT(why[1], EDGE_KEEP);
	CHECK_EQ_INT(why[2], EDGE_DELETE_UPLOADED);
	CHECK_EQ_INT(why[3], EDGE_KEEP);
	CHECK_EQ_INT(why[4], EDGE_KEEP);
	CHECK_EQ_INT(plan.deleted, 2);
	CHECK_EQ_INT(plan.lost, 1); /* deleted before upload */
	CHECK_EQ_INT(plan.lost_bytes, 5 * MIB);
	/* without DeleteAfterUpload, the old uploaded one goes by age but is
	 * not lost */
	d.delete_after_upload = false;
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 5, NOW_MS, 0, why, &plan), 0);
	CHECK_EQ_INT(why[2], EDGE_DELETE_AGE);
	CHECK_EQ_INT(plan.lost, 1);
	CHECK_EQ_INT(plan.deleted, 2);
	/* a zeroed retention is the default 720 h, not "now" */
	d.retention_hours = 0;
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 5, NOW_MS, 0, why, &plan), 0);
	CHECK_EQ_INT(plan.deleted, 0);
	/* the default 720 h keeps all of them */
	d.retention_hours = 720;
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 5, NOW_MS, 0, why, &plan), 0);
	CHECK_EQ_INT(plan.deleted, 0);
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 5, NOW_MS + 721 * HOUR_MS, 0,
					why, &plan),
		     0);
	/* all but the one in use and the one that ended 718 h before */
	CHECK_EQ_INT(plan.deleted, 3);
	CHECK_EQ_INT(plan.lost, 2);
}

/* Ten 10 MiB segments given newest first, a 64 MiB limit. */
static void ten_segments(struct edge_segment *segs)
{
	for (int i = 0; i < 10; i++) {
		int age = 10 - i; /* segs[0] is the newest */
		segs[9 - i] = (struct edge_segment){
		    NOW_MS - age * HOUR_MS, NOW_MS - (age - 1) * HOUR_MS,
		    10 * MIB, age % 2 == 0, false};
	}
}

static void test_size_delete_oldest(void)
{
	struct edge_segment segs[10];
	ten_segments(segs);
	enum edge_delete_reason why[10];
	struct edge_deletion_plan plan;
	struct edge_deletion d =
	    deletion(720, 64, EDGE_DELETE_OLDEST_MEDIA, false);
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 10, NOW_MS, 0, why, &plan),
		     0);
	/* 100 MiB -> 60 MiB: the four oldest (segs[9..6]) go */
	for (int i = 0; i < 10; i++)
		CHECK_EQ_INT(why[i], i >= 6 ? EDGE_DELETE_SIZE : EDGE_KEEP);
	CHECK_EQ_INT(plan.deleted, 4);
	CHECK_EQ_INT(plan.lost, 2); /* ages 9 and 7 were not uploaded */
	CHECK_EQ_INT(plan.used_bytes, 60 * MIB);
	CHECK_EQ_INT(plan.limit_bytes, 64 * MIB);
	CHECK(plan.space_used > 0.9374 && plan.space_used < 0.9376);
	CHECK(!plan.deny_new_media);
	/* room for 8 MiB more: a fifth goes */
	CHECK_EQ_INT(
	    edge_deletion_plan(&d, segs, 10, NOW_MS, 8 * MIB, why, &plan), 0);
	CHECK_EQ_INT(plan.deleted, 5);
	CHECK_EQ_INT(why[5], EDGE_DELETE_SIZE);
	CHECK_EQ_INT(plan.used_bytes, 50 * MIB);
	CHECK(!plan.deny_new_media);
	/* the oldest is being uploaded: it stays, the next ones go */
	segs[9].in_use = true;
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 10, NOW_MS, 0, why, &plan),
		     0);
	CHECK_EQ_INT(why[9], EDGE_KEEP);
	CHECK_EQ_INT(why[5], EDGE_DELETE_SIZE);
	CHECK_EQ_INT(why[4], EDGE_KEEP);
	CHECK_EQ_INT(plan.used_bytes, 60 * MIB);
	/* everything in use: nothing can go, new media is denied */
	for (int i = 0; i < 10; i++)
		segs[i].in_use = true;
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 10, NOW_MS, 0, why, &plan),
		     0);
	CHECK_EQ_INT(plan.deleted, 0);
	CHECK(plan.deny_new_media);
	/* more needed than the limit: all deletable go, still denied */
	ten_segments(segs);
	CHECK_EQ_INT(
	    edge_deletion_plan(&d, segs, 10, NOW_MS, 65 * MIB, why, &plan), 0);
	CHECK_EQ_INT(plan.deleted, 10);
	CHECK_EQ_INT(plan.used_bytes, 0);
	CHECK(plan.deny_new_media);
	/* need more than 2^64 - used: no overflow, denied */
	ten_segments(segs);
	CHECK_EQ_INT(
	    edge_deletion_plan(&d, segs, 10, NOW_MS, UINT64_MAX, why, &plan),
	    0);
	CHECK(plan.deny_new_media);
	/* no segments at all */
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 0, NOW_MS, 0, why, &plan), 0);
	CHECK_EQ_INT(plan.deleted, 0);
	CHECK(!plan.deny_new_media);
}

static void test_size_deny_new(void)
{
	struct edge_segment segs[10];
	ten_segments(segs);
	enum edge_delete_reason why[10];
	struct edge_deletion_plan plan;
	struct edge_deletion d = deletion(720, 64, EDGE_DENY_NEW_MEDIA, false);
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 10, NOW_MS, 0, why, &plan),
		     0);
	CHECK_EQ_INT(plan.deleted, 0);
	CHECK(plan.deny_new_media);
	CHECK(plan.space_used > 1.56 && plan.space_used < 1.57);
	/* uploads and age free space: recording resumes */
	d.delete_after_upload = true; /* the five uploaded go: 50 MiB */
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 10, NOW_MS, 0, why, &plan),
		     0);
	CHECK_EQ_INT(plan.deleted, 5);
	CHECK_EQ_INT(plan.lost, 0);
	CHECK(!plan.deny_new_media);
	CHECK_EQ_INT(
	    edge_deletion_plan(&d, segs, 10, NOW_MS, 15 * MIB, why, &plan), 0);
	CHECK(plan.deny_new_media); /* 50 + 15 > 64 */
	d.delete_after_upload = false;
	d.retention_hours = 6; /* ages 10..7 ended >= 6 h ago */
	CHECK_EQ_INT(edge_deletion_plan(&d, segs, 10, NOW_MS, 0, why, &plan),
		     0);
	CHECK_EQ_INT(plan.deleted, 4);
	CHECK_EQ_INT(why[9], EDGE_DELETE_AGE);
	CHECK_EQ_INT(plan.lost, 2);
	CHECK(!plan.deny_new_media);
}

/* The example request's DeletionConfig drives the policy. */
static void test_policy_from_config(void)
{
	CHECK_EQ_INT(parse(example), 0);
	struct edge_segment segs[] = {
	    {NOW_MS - 20 * HOUR_MS, NOW_MS - 19 * HOUR_MS, 100 * MIB, false,
	     false},
	    {NOW_MS - 2 * HOUR_MS, NOW_MS - 1 * HOUR_MS, 2000 * MIB, false,
	     false},
	    {NOW_MS - 1 * HOUR_MS, NOW_MS, 900 * MIB, false, false},
	};
	enum edge_delete_reason why[3];
	struct edge_deletion_plan plan;
	CHECK_EQ_INT(
	    edge_deletion_plan(&cfg.deletion, segs, 3, NOW_MS, 0, why, &plan),
	    0);
	CHECK_EQ_INT(why[0], EDGE_DELETE_AGE);	/* older than 15 h */
	CHECK_EQ_INT(why[1], EDGE_DELETE_SIZE); /* 2900 MiB > 2800 MiB */
	CHECK_EQ_INT(why[2], EDGE_KEEP);
	CHECK_EQ_INT(plan.lost, 2);
	CHECK_EQ_INT(plan.lost_bytes, 2100 * MIB);
}

static void test_warnings(void)
{
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	time_t now = (time_t)(NOW_MS / 1000); /* Monday 14:00 CEST */
	struct strbuf w = STRBUF_INIT;
	/* the example: upload 19:00-21:59:59 daily, retention 15 h: the
	 * longest wait, 22:00 to 19:00, is 21 h, and 22 h on the night the
	 * clocks go back (October 25th) */
	CHECK_EQ_INT(parse(example), 0);
	CHECK_EQ_INT(edge_config_warnings(&cfg, now, &w), 1);
	CHECK_STR_CONTAINS(w.s, "UploaderConfig.ScheduleConfig: '0 0 19,20,21 "
				"? * * *' leaves 22.0 h without an upload "
				"window (2026-10-24 21:59:59 +0200 to "
				"2026-10-25 19:00:00 +0100), longer than "
				"EdgeRetentionInHours 15: media recorded then "
				"is deleted before it is uploaded\n");
	sb_free(&w);
	/* 22 h is 1 s short that night; 23 h is enough ... */
	cfg.deletion.retention_hours = 22;
	CHECK_EQ_INT(edge_config_warnings(&cfg, now, &w), 1);
	sb_free(&w);
	cfg.deletion.retention_hours = 23;
	CHECK_EQ_INT(edge_config_warnings(&cfg, now, &w), 0);
	CHECK(w.s == NULL);
	/* ... and no upload schedule means hourly: nothing to say */
	cfg.deletion.retention_hours = 1;
	cfg.uploader.given = false;
	CHECK_EQ_INT(edge_config_warnings(&cfg, now, &w), 0);
	/* schedules that never open again */
	CHECK_EQ_INT(
	    parse(make(NULL, ",\"UploaderConfig\":{\"ScheduleConfig\":{"
			     "\"ScheduleExpression\":\"0 0 9 * * ? 2025\","
			     "\"DurationInSeconds\":60}}")),
	    0);
	cfg.recorder = cfg.uploader;
	CHECK_EQ_INT(edge_config_warnings(&cfg, now, &w), 2);
	CHECK_STR_CONTAINS(w.s, "RecorderConfig.ScheduleConfig: '0 0 9 * * ? "
				"2025' opens no window after 2026-06-15 "
				"14:00:00 +0200: nothing will be recorded\n");
	CHECK_STR_CONTAINS(w.s, "nothing will be uploaded\n");
	sb_free(&w);
	/* weekly uploads against the default 720 h: fine */
	CHECK_EQ_INT(
	    parse(make(NULL, ",\"UploaderConfig\":{\"ScheduleConfig\":{"
			     "\"ScheduleExpression\":\"0 0 3 ? * SUN\","
			     "\"DurationInSeconds\":3600}}")),
	    0);
	CHECK_EQ_INT(edge_config_warnings(&cfg, now, &w), 0);
	cfg.deletion.retention_hours = 24 * 6;
	CHECK_EQ_INT(edge_config_warnings(&cfg, now, &w), 1);
	CHECK_STR_CONTAINS(w.s, "leaves 168.0 h without an upload window "
				"(2026-10-18 04:00:00 +0200 to 2026-10-25 "
				"03:00:00 +0100)");
	sb_free(&w);
}

int main(void)
{
	test_example();
	test_defaults();
	test_constraints();
	test_required();
	test_secret_redacted();
	test_refused();
	test_delete_after_upload();
	test_retention();
	test_size_delete_oldest();
	test_size_deny_new();
	test_policy_from_config();
	test_warnings();
	return check_done();
}
