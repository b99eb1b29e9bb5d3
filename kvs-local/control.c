/* kvs-local control plane: the REST-JSON operations of the kinesisvideo
 * API (shapes and error names from botocore's kinesisvideo service-2.json,
 * API version 2017-09-30). */
#include "kvs_local.h"

#include "edge.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [a-zA-Z0-9_.-]+ of 1..max characters. */
static bool valid_name(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return false;
	return true;
}

static void put_stream_info(struct strbuf *b, const struct kl_stream *st)
{
	sb_puts(b, "{");
	if (st->device) {
		sb_puts(b, "\"DeviceName\":");
		json_put_string(b, st->device);
		sb_puts(b, ",");
	}
	sb_puts(b, "\"StreamName\":");
	json_put_string(b, st->name);
	sb_puts(b, ",\"StreamARN\":");
	json_put_string(b, st->arn);
	if (st->media_type) {
		sb_puts(b, ",\"MediaType\":");
		json_put_string(b, st->media_type);
	}
	sb_puts(b, ",\"KmsKeyId\":");
	json_put_string(b, st->kms_key ? st->kms_key
				       : "arn:aws:kms:us-west-2:123456789012:"
					 "alias/aws/kinesisvideo");
	sb_puts(b, ",\"Version\":");
	json_put_string(b, st->version);
	sb_puts(b, ",\"Status\":\"ACTIVE\",\"CreationTime\":");
	kl_put_timestamp(b, st->creation_ms);
	sb_printf(b, ",\"DataRetentionInHours\":%lld}",
		  (long long)st->retention_hours);
}

static int reply(struct kl_conn *c, struct strbuf *b)
{
	if (b->failed) {
		sb_free(b);
		return kl_send_error(c, 500, "InternalFailure",
				     "out of memory");
	}
	int rc = kl_send_json(c, 200, b->s);
	sb_free(b);
	return rc;
}

/* Validate a ResourceTags map; 0 if fine, else the error was sent. */
static int check_tags(struct kl_conn *c, const struct json_value *tags,
		      size_t existing, int *rc)
{
	if (!tags)
		return 0;
	if (tags->type != JSON_OBJECT || tags->n < 1) {
		*rc = kl_send_error(c, 400, "InvalidArgumentException",
				    "Tags must be a non-empty map");
		return -1;
	}
	for (size_t i = 0; i < tags->n; i++) {
		const char *v = json_string(tags->members[i].value);
		size_t kl = strlen(tags->members[i].key);
		if (!v || kl < 1 || kl > 128 || strlen(v) > 256) {
			*rc = kl_send_error(c, 400, "InvalidArgumentException",
					    "tag '%s': key 1-128 and value "
					    "0-256 characters",
					    tags->members[i].key);
			return -1;
		}
	}
	if (existing + tags->n > KL_MAX_STREAM_TAGS) {
		*rc = kl_send_error(
		    c, 400, "TagsPerResourceExceededLimitException",
		    "a stream has at most %d tags", KL_MAX_STREAM_TAGS);
		return -1;
	}
	return 0;
}

static void set_tag(struct kl_stream *st, const char *k, const char *v)
{
	for (size_t i = 0; i < st->n_tags; i++) {
		if (strcmp(st->tags[i].key, k) == 0) {
			free(st->tags[i].value);
			st->tags[i].value = strdup(v);
			return;
		}
	}
	void *p = realloc(st->tags, (st->n_tags + 1) * sizeof *st->tags);
	if (!p)
		return;
	st->tags = p;
	st->tags[st->n_tags].key = strdup(k);
	st->tags[st->n_tags].value = strdup(v);
	st->n_tags++;
}

static size_t new_tag_count(const struct kl_stream *st,
			    const struct json_value *tags)
{
	size_t n = st->n_tags;
	for (size_t i = 0; tags && i < tags->n; i++) {
		bool found = false;
		for (size_t k = 0; k < st->n_tags && !found; k++)
			found = !strcmp(st->tags[k].key, tags->members[i].key);
		n += !found;
	}
	return n;
}

static int create_stream(struct kl_server *srv, struct kl_conn *c,
			 struct kl_request *r)
{
	const char *name = kl_json_str(r, "StreamName");
	const char *media = kl_json_str(r, "MediaType");
	const char *device = kl_json_str(r, "DeviceName");
	const struct json_value *ret =
	    json_get(r->json, "DataRetentionInHours");
	const struct json_value *tags = json_get(r->json, "Tags");
	int64_t hours = 0;
	int rc = 0;
	if (!valid_name(name, 256))
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "StreamName must match [a-zA-Z0-9_.-]+, "
				     "1-256 characters");
	if (device && !valid_name(device, 128))
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "DeviceName must match [a-zA-Z0-9_.-]+, "
				     "1-128 characters");
	if (ret && (json_int64(ret, &hours) || hours < 0 ||
		    hours > KL_MAX_RETENTION_HOURS))
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "DataRetentionInHours must be an integer "
				     "0-%d (10 years)",
				     KL_MAX_RETENTION_HOURS);
	if (media && (strlen(media) > 128 || !strchr(media, '/')))
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "MediaType '%s' is not a media type",
				     media);
	if (check_tags(c, tags, 0, &rc))
		return rc;
	pthread_mutex_lock(&srv->store.lock);
	if (kl_store_find(&srv->store, name, NULL)) {
		pthread_mutex_unlock(&srv->store.lock);
		return kl_send_error(c, 400, "ResourceInUseException",
				     "The stream %s already exists", name);
	}
	struct kl_stream *st =
	    kl_store_create(&srv->store, name, media,
			    kl_json_str(r, "KmsKeyId"), device, hours);
	struct strbuf b = STRBUF_INIT;
	if (st) {
		for (size_t i = 0; tags && i < tags->n; i++)
			set_tag(st, tags->members[i].key,
				json_string(tags->members[i].value));
		kl_store_save_stream(&srv->store, st);
		sb_puts(&b, "{\"StreamARN\":");
		json_put_string(&b, st->arn);
		sb_puts(&b, "}");
	}
	pthread_mutex_unlock(&srv->store.lock);
	if (!st)
		return kl_send_error(c, 500, "InternalFailure",
				     "cannot store stream %s", name);
	kl_log("created stream %s (retention %lld h)", name, (long long)hours);
	return reply(c, &b);
}

static int describe_stream(struct kl_server *srv, struct kl_conn *c,
			   struct kl_request *r)
{
	int rc = 0;
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	struct strbuf b = STRBUF_INIT;
	if (st) {
		sb_puts(&b, "{\"StreamInfo\":");
		put_stream_info(&b, st);
		sb_puts(&b, "}");
	}
	pthread_mutex_unlock(&srv->store.lock);
	return st ? reply(c, &b) : rc;
}

static int list_streams(struct kl_server *srv, struct kl_conn *c,
			struct kl_request *r)
{
	int64_t max = 10000, start = 0;
	const struct json_value *mv = json_get(r->json, "MaxResults");
	if (mv && (json_int64(mv, &max) || max < 1 || max > 10000))
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "MaxResults must be 1-10000");
	const char *token = kl_json_str(r, "NextToken");
	if (token) {
		char *end;
		start = strtoll(token, &end, 10);
		if (*end || start < 0)
			return kl_send_error(c, 400, "InvalidArgumentException",
					     "invalid NextToken");
	}
	const struct json_value *cond =
	    json_get(r->json, "StreamNameCondition");
	const char *prefix = json_string(json_get(cond, "ComparisonValue"));
	const char *op = json_string(json_get(cond, "ComparisonOperator"));
	if (cond && (!op || strcmp(op, "BEGINS_WITH") || !prefix))
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "StreamNameCondition needs "
				     "ComparisonOperator BEGINS_WITH and a "
				     "ComparisonValue");
	struct strbuf b = STRBUF_INIT;
	sb_puts(&b, "{\"StreamInfoList\":[");
	pthread_mutex_lock(&srv->store.lock);
	int64_t seen = 0, listed = 0;
	size_t i;
	for (i = 0; i < srv->store.n_streams && listed < max; i++) {
		struct kl_stream *st = srv->store.streams[i];
		if (prefix && strncmp(st->name, prefix, strlen(prefix)))
			continue;
		if (seen++ < start)
			continue;
		if (listed++)
			sb_putc(&b, ',');
		put_stream_info(&b, st);
	}
	bool more = false;
	for (; i < srv->store.n_streams && !more; i++)
		more = !prefix || !strncmp(srv->store.streams[i]->name, prefix,
					   strlen(prefix));
	pthread_mutex_unlock(&srv->store.lock);
	sb_puts(&b, "]");
	if (more)
		sb_printf(&b, ",\"NextToken\":\"%lld\"",
			  (long long)(start + listed));
	sb_puts(&b, "}");
	return reply(c, &b);
}

static int delete_stream(struct kl_server *srv, struct kl_conn *c,
			 struct kl_request *r)
{
	const char *arn = kl_json_str(r, "StreamARN");
	const char *ver = kl_json_str(r, "CurrentVersion");
	if (!arn)
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "StreamARN is required");
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_store_find(&srv->store, NULL, arn);
	char why[300];
	int rc;
	if (!st)
		rc =
		    kl_send_error(c, 404, "ResourceNotFoundException",
				  "The requested stream is not found: %s", arn);
	else if (kl_limit_stream(srv, st, KL_API_DELETE_STREAM, 1, why,
				 sizeof why))
		rc = kl_send_error(c, 400, "ClientLimitExceededException", "%s",
				   why);
	else if (ver && strcmp(ver, st->version))
		rc = kl_send_error(c, 400, "VersionMismatchException",
				   "CurrentVersion %s, the stream is at %s",
				   ver, st->version);
	else {
		kl_log("deleted stream %s", st->name);
		kl_store_delete(&srv->store, st);
		rc = kl_send_json(c, 200, "{}");
	}
	pthread_mutex_unlock(&srv->store.lock);
	return rc;
}

static int get_data_endpoint(struct kl_server *srv, struct kl_conn *c,
			     struct kl_request *r)
{
	static const char *apis[] = {"PUT_MEDIA",
				     "GET_MEDIA",
				     "LIST_FRAGMENTS",
				     "GET_MEDIA_FOR_FRAGMENT_LIST",
				     "GET_HLS_STREAMING_SESSION_URL",
				     "GET_DASH_STREAMING_SESSION_URL",
				     "GET_CLIP",
				     "GET_IMAGES"};
	const char *api = kl_json_str(r, "APIName");
	bool ok = false;
	for (size_t i = 0; api && i < sizeof apis / sizeof *apis; i++)
		ok = ok || !strcmp(api, apis[i]);
	if (!ok)
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "APIName must be one of PUT_MEDIA, "
				     "GET_MEDIA, LIST_FRAGMENTS, "
				     "GET_MEDIA_FOR_FRAGMENT_LIST, ...");
	int rc = 0;
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	pthread_mutex_unlock(&srv->store.lock);
	if (!st)
		return rc;
	struct strbuf b = STRBUF_INIT;
	sb_puts(&b, "{\"DataEndpoint\":");
	json_put_string(&b, srv->endpoint);
	sb_puts(&b, "}");
	return reply(c, &b);
}

static int tag_stream(struct kl_server *srv, struct kl_conn *c,
		      struct kl_request *r)
{
	const struct json_value *tags = json_get(r->json, "Tags");
	int rc = 0;
	if (!tags)
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "Tags is required");
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	if (st && check_tags(c, tags, 0, &rc) == 0) {
		if (new_tag_count(st, tags) > KL_MAX_STREAM_TAGS) {
			rc = kl_send_error(
			    c, 400, "TagsPerResourceExceededLimitException",
			    "a stream has at most %d tags", KL_MAX_STREAM_TAGS);
		} else {
			for (size_t i = 0; i < tags->n; i++)
				set_tag(st, tags->members[i].key,
					json_string(tags->members[i].value));
			kl_store_save_stream(&srv->store, st);
			rc = kl_send_json(c, 200, "{}");
		}
	}
	pthread_mutex_unlock(&srv->store.lock);
	return rc;
}

static int list_tags(struct kl_server *srv, struct kl_conn *c,
		     struct kl_request *r)
{
	int rc = 0;
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	struct strbuf b = STRBUF_INIT;
	if (st) {
		sb_puts(&b, "{\"Tags\":{");
		for (size_t i = 0; i < st->n_tags; i++) {
			if (i)
				sb_putc(&b, ',');
			json_put_string(&b, st->tags[i].key);
			sb_putc(&b, ':');
			json_put_string(&b, st->tags[i].value);
		}
		sb_puts(&b, "}}");
	}
	pthread_mutex_unlock(&srv->store.lock);
	return st ? reply(c, &b) : rc;
}

static int update_retention(struct kl_server *srv, struct kl_conn *c,
			    struct kl_request *r)
{
	const char *ver = kl_json_str(r, "CurrentVersion");
	const char *op = kl_json_str(r, "Operation");
	int64_t change = 0;
	if (!ver || !op ||
	    (strcmp(op, "INCREASE_DATA_RETENTION") &&
	     strcmp(op, "DECREASE_DATA_RETENTION")) ||
	    json_int64(json_get(r->json, "DataRetentionChangeInHours"),
		       &change) ||
	    change < 1 || change > KL_MAX_RETENTION_HOURS)
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "CurrentVersion, Operation "
				     "(INCREASE_DATA_RETENTION or "
				     "DECREASE_DATA_RETENTION) and "
				     "DataRetentionChangeInHours >= 1 are "
				     "required");
	int rc = 0;
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	if (st) {
		bool inc = !strcmp(op, "INCREASE_DATA_RETENTION");
		int64_t next = st->retention_hours + (inc ? change : -change);
		if (strcmp(ver, st->version))
			rc = kl_send_error(c, 400, "VersionMismatchException",
					   "CurrentVersion %s, the stream is "
					   "at %s",
					   ver, st->version);
		else if (next < 0 || next > KL_MAX_RETENTION_HOURS)
			rc = kl_send_error(c, 400, "InvalidArgumentException",
					   "retention would be %lld hours, "
					   "outside 0-%d (10 years)",
					   (long long)next,
					   KL_MAX_RETENTION_HOURS);
		else {
			char v[17];
			static const char alnum[] =
			    "abcdefghijklmnopqrstuvwxyz0123456789";
			for (int i = 0; i < 16; i++)
				v[i] = alnum[rand() % 36];
			v[16] = 0;
			free(st->version);
			st->version = strdup(v);
			st->retention_hours = next;
			kl_store_save_stream(&srv->store, st);
			rc = kl_send_json(c, 200, "{}");
		}
	}
	pthread_mutex_unlock(&srv->store.lock);
	return rc;
}

int kl_control(struct kl_server *srv, struct kl_conn *c, struct kl_request *r)
{
	static const struct {
		const char *op;
		int (*fn)(struct kl_server *, struct kl_conn *,
			  struct kl_request *);
	} ops[] = {
	    {"createStream", create_stream},
	    {"describeStream", describe_stream},
	    {"listStreams", list_streams},
	    {"deleteStream", delete_stream},
	    {"getDataEndpoint", get_data_endpoint},
	    {"tagStream", tag_stream},
	    {"listTagsForStream", list_tags},
	    {"updateDataRetention", update_retention},
	};
	int rc;
	if (kl_edge_op(r->op))
		return kl_validate_request(c, r, &rc) ? rc : kl_edge(srv, c, r);
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
		if (!strcmp(r->op, ops[i].op))
			return kl_validate_request(c, r, &rc)
				   ? rc
				   : ops[i].fn(srv, c, r);
	return kl_send_error(c, 404, "UnknownOperationException",
			     "operation /%s is not supported by kvs-local",
			     r->op);
}
