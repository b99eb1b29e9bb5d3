/* The KVS Edge Agent's per-stream configuration: the request body of
 * StartEdgeConfigurationUpdate (kvs-facts part4 §10), parsed and validated
 * with the service's constraints (the API model: lengths, patterns, ranges,
 * enums, required members) into a C struct.
 *
 *   {"StreamARN" | "StreamName": ...,
 *    "EdgeConfig": {"HubDeviceArn": ...,
 *      "RecorderConfig": {"MediaSourceConfig": {"MediaUriSecretArn": ...,
 *                                               "MediaUriType": ...},
 *                         "ScheduleConfig": {...}},          optional
 *      "UploaderConfig": {"ScheduleConfig": {...}},           optional
 *      "DeletionConfig": {"EdgeRetentionInHours": 1-720,      optional
 *                         "LocalSizeConfig": {"MaxLocalMediaSizeInMB": ...,
 *                                             "StrategyOnFullSize": ...},
 *                         "DeleteAfterUpload": bool}}}
 *   ScheduleConfig = {"ScheduleExpression": Quartz cron, 11-100 characters,
 *                     "DurationInSeconds": 60-3600}, both required.
 *
 * Errors read as the service's: constraint violations are collected into
 * "N validation errors detected: Value 'x' at 'edgeConfig.hubDeviceArn'
 * failed to satisfy constraint: Member must ...; ..." (type
 * InvalidArgumentException); malformed JSON and wrong JSON types are a
 * SerializationException naming the byte offset or the member. Beyond the
 * model: one of StreamARN and StreamName is required, the schedule must be
 * a valid Quartz expression (common/quartz_cron.h), a string holding a NUL
 * character and a member given twice are refused, and so is an unknown
 * member (as the AWS CLI does) unless EDGE_CONFIG_IGNORE_UNKNOWN is given
 * (as the service does). The secret ARN never appears in an error. */
#ifndef VPIPE_COMMON_EDGE_CONFIG_H
#define VPIPE_COMMON_EDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "quartz_cron.h"

#define EDGE_STREAM_ARN_MAX	     1024
#define EDGE_STREAM_NAME_MAX	     256
#define EDGE_HUB_DEVICE_ARN_MAX	     1024
#define EDGE_SECRET_ARN_MAX	     2048
#define EDGE_SCHEDULE_EXPRESSION_MAX 100
#define EDGE_RETENTION_HOURS_DEFAULT 720
#define EDGE_MAX_LOCAL_MEDIA_MB_MIN  64
#define EDGE_MAX_LOCAL_MEDIA_MB_MAX  2000000
/* MaxLocalMediaSizeInMB counts MiB: 1 MB = 1,048,576 bytes here. */
#define EDGE_MB_BYTES ((uint64_t)1 << 20)

enum edge_media_uri_type { EDGE_MEDIA_URI_RTSP, EDGE_MEDIA_URI_FILE };

enum edge_full_strategy { EDGE_DELETE_OLDEST_MEDIA, EDGE_DENY_NEW_MEDIA };

struct edge_schedule {
	/* false: no ScheduleConfig, i.e. the recorder records always and
	 * the uploader uploads every hour, as the agent does */
	bool given;
	char expression[EDGE_SCHEDULE_EXPRESSION_MAX * 4 + 1]; /* UTF-8 */
	struct quartz_schedule schedule;
};

struct edge_deletion {
	int retention_hours;	    /* EdgeRetentionInHours, default 720 */
	int64_t max_local_media_mb; /* MaxLocalMediaSizeInMB, 0 = no limit */
	enum edge_full_strategy on_full; /* default DELETE_OLDEST_MEDIA */
	bool delete_after_upload;	 /* default true */
};

struct edge_config {
	char stream_arn[EDGE_STREAM_ARN_MAX + 1];   /* "" if not given */
	char stream_name[EDGE_STREAM_NAME_MAX + 1]; /* "" if not given */
	char hub_device_arn[EDGE_HUB_DEVICE_ARN_MAX + 1];
	char media_uri_secret_arn[EDGE_SECRET_ARN_MAX + 1];
	enum edge_media_uri_type media_uri_type;
	struct edge_schedule recorder, uploader;
	struct edge_deletion deletion;
};

struct edge_config_error {
	const char
	    *type; /* "InvalidArgumentException", "SerializationException" */
	char msg[2048];
};

#define EDGE_CONFIG_IGNORE_UNKNOWN 1u

/* Parse and validate a request body of n bytes: 0, or -1 with *err. */
int edge_config_parse(struct edge_config *cfg, const char *body, size_t n,
		      unsigned flags, struct edge_config_error *err);

/* Warnings about a valid config as of `now`, one line each (appended to
 * *out), the count returned: a schedule that never opens again, and an
 * upload schedule whose gaps are longer than EdgeRetentionInHours (media
 * recorded then would be deleted before its first upload, which AWS warns
 * about for DeleteAfterUpload). Looks at most 400 days ahead. */
struct strbuf;
int edge_config_warnings(const struct edge_config *cfg, time_t now,
			 struct strbuf *out);

const char *edge_media_uri_type_name(enum edge_media_uri_type t);
const char *edge_full_strategy_name(enum edge_full_strategy s);
#endif
