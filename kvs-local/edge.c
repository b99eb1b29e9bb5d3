/* kvs-local's edge configuration operations, with the request and response
 * shapes and errors of botocore's kinesisvideo model (2017-09-30):
 *
 *   POST /startEdgeConfigurationUpdate  body validated by common/edge_config.c
 *   POST /describeEdgeConfiguration     {StreamName|StreamARN}
 *   POST /listEdgeAgentConfigurations   {HubDeviceArn, MaxResults 1-10
 *                                        (default 5), NextToken}
 *   POST /deleteEdgeConfiguration       {StreamName|StreamARN}
 *
 * A ListEdgeAgentConfigurations call is taken as the agent's poll: the
 * configs it returns move on as edge_state.h describes. NextToken is the
 * hex of the last stream name listed: pages stay right while configs come
 * and go between calls. */
#include "edge.h"

#include "edge_config.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 5
#define LIST_MAX     10

static int64_t sync_timeout(const struct kl_server *srv)
{
	return srv->cfg.edge_sync_timeout_ms > 0 ? srv->cfg.edge_sync_timeout_ms
						 : KL_EDGE_SYNC_TIMEOUT_MS;
}

static void put_schedule(struct strbuf *b, const struct edge_schedule *s)
{
	sb_puts(b, "{\"ScheduleExpression\":");
	json_put_string(b, s->expression);
	sb_printf(b, ",\"DurationInSeconds\":%d}", s->schedule.duration_s);
}

/* The EdgeConfig as responses show it: what was given, with the
 * DeletionConfig defaults (720 h, DeleteAfterUpload true) filled in. */
static void put_edge_config(struct strbuf *b, const struct edge_config *cfg)
{
	sb_puts(b, "{\"HubDeviceArn\":");
	json_put_string(b, cfg->hub_device_arn);
	sb_puts(b, ",\"RecorderConfig\":{\"MediaSourceConfig\":{"
		   "\"MediaUriSecretArn\":");
	json_put_string(b, cfg->media_uri_secret_arn);
	sb_puts(b, ",\"MediaUriType\":");
	json_put_string(b, edge_media_uri_type_name(cfg->media_uri_type));
	sb_puts(b, "}");
	if (cfg->recorder.given) {
		sb_puts(b, ",\"ScheduleConfig\":");
		put_schedule(b, &cfg->recorder);
	}
	sb_puts(b, "}");
	if (cfg->uploader.given) {
		sb_puts(b, ",\"UploaderConfig\":{\"ScheduleConfig\":");
		put_schedule(b, &cfg->uploader);
		sb_puts(b, "}");
	}
	const struct edge_deletion *d = &cfg->deletion;
	sb_printf(b, ",\"DeletionConfig\":{\"EdgeRetentionInHours\":%d",
		  d->retention_hours);
	if (d->max_local_media_mb) {
		sb_printf(
		    b,
		    ",\"LocalSizeConfig\":{\"MaxLocalMediaSizeInMB\":%lld,"
		    "\"StrategyOnFullSize\":",
		    (long long)d->max_local_media_mb);
		json_put_string(b, edge_full_strategy_name(d->on_full));
		sb_puts(b, "}");
	}
	sb_printf(b, ",\"DeleteAfterUpload\":%s}}",
		  d->delete_after_upload ? "true" : "false");
}

/* The members every response shape shares. */
static void put_entry(struct strbuf *b, const struct kl_edge_entry *e)
{
	sb_puts(b, "{\"StreamName\":");
	json_put_string(b, e->stream_name);
	sb_puts(b, ",\"StreamARN\":");
	json_put_string(b, e->stream_arn);
	sb_puts(b, ",\"CreationTime\":");
	kl_put_timestamp(b, e->state.creation_ms);
	sb_puts(b, ",\"LastUpdatedTime\":");
	kl_put_timestamp(b, e->state.updated_ms);
	sb_puts(b, ",\"SyncStatus\":");
	json_put_string(b, kl_sync_status_name(e->state.status));
	if (e->state.failed[0]) {
		sb_puts(b, ",\"FailedStatusDetails\":");
		json_put_string(b, e->state.failed);
	}
	sb_puts(b, ",\"EdgeConfig\":");
	sb_puts(b, e->config_json);
	sb_puts(b, "}");
}

static int send_buffer(struct kl_conn *c, struct strbuf *b)
{
	int rc = b->failed
		     ? kl_send_error(c, 500, "InternalFailure", "out of memory")
		     : kl_send_json(c, 200, b->s);
	sb_free(b);
	return rc;
}

/* The stream's config after its sync timeout was applied (saved if it
 * changed), or NULL. Store lock held. */
static struct kl_edge_entry *current(struct kl_server *srv,
				     const struct kl_stream *st)
{
	struct kl_edge_entry *e = kl_edge_find(srv->edge, st->arn);
	if (e && kl_edge_expire(&e->state, kl_now_ms()) == KL_EDGE_CHANGED)
		kl_edge_save(srv->edge, e);
	return e;
}

static int not_found(struct kl_conn *c, const struct kl_stream *st)
{
	return kl_send_error(c, 404, "StreamEdgeConfigurationNotFoundException",
			     "The stream %s has no edge configuration",
			     st->name);
}

/* Store lock held; the stream exists and passed its limit. */
static int start_locked(struct kl_server *srv, struct kl_conn *c,
			struct kl_stream *st, const struct edge_config *cfg)
{
	if (st->retention_hours == 0)
		return kl_send_error(c, 400, "NoDataRetentionException",
				     "The stream %s keeps no data "
				     "(DataRetentionInHours is 0): media "
				     "uploaded by the edge agent would be lost",
				     st->name);
	struct kl_edge_entry *e = current(srv, st);
	if (e && kl_edge_busy(&e->state))
		return kl_send_error(
		    c, 400, "ResourceInUseException",
		    "The edge configuration of stream %s is %s: wait until it "
		    "is IN_SYNC or SYNC_FAILED before updating it",
		    st->name, kl_sync_status_name(e->state.status));
	if (e && strcmp(e->hub_arn, cfg->hub_device_arn))
		return kl_send_error(
		    c, 400, "InvalidArgumentException",
		    "The edge configuration of stream %s belongs to hub "
		    "device %s: delete it (DeleteEdgeConfiguration) before "
		    "moving it to another device",
		    st->name, e->hub_arn);
	struct strbuf json = STRBUF_INIT;
	put_edge_config(&json, cfg);
	if (json.failed)
		return kl_send_error(c, 500, "InternalFailure",
				     "out of memory");
	bool created = !e;
	if (created && !(e = kl_edge_add(srv->edge, st->arn, st->name,
					 cfg->hub_device_arn))) {
		sb_free(&json);
		return kl_send_error(c, 500, "InternalFailure",
				     "out of memory");
	}
	struct kl_edge_state before = e->state;
	char *old_json = e->config_json;
	e->config_json = json.s; /* the buffer now belongs to the entry */
	kl_edge_start(&e->state, kl_now_ms(), sync_timeout(srv));
	if (kl_edge_save(srv->edge, e)) {
		if (created) {
			kl_edge_remove(srv->edge, e);
		} else {
			free(e->config_json);
			e->config_json = old_json;
			e->state = before;
		}
		return kl_send_error(c, 500, "InternalFailure",
				     "cannot store the edge configuration of "
				     "stream %s",
				     st->name);
	}
	free(old_json);
	kl_log("edge configuration of stream %s for %s: %s", st->name,
	       e->hub_arn, created ? "created" : "updated");
	struct strbuf b = STRBUF_INIT;
	put_entry(&b, e);
	return send_buffer(c, &b);
}

static int start_update(struct kl_server *srv, struct kl_conn *c,
			struct kl_request *r)
{
	struct edge_config *cfg = malloc(sizeof *cfg);
	struct edge_config_error *err = malloc(sizeof *err);
	int rc = 0;
	if (!cfg || !err)
		rc = kl_send_error(c, 500, "InternalFailure", "out of memory");
	else if (edge_config_parse(cfg, r->body ? r->body : "", r->body_len,
				   EDGE_CONFIG_IGNORE_UNKNOWN, err))
		rc = kl_send_error(c, 400, err->type, "%s", err->msg);
	else {
		pthread_mutex_lock(&srv->store.lock);
		struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
		if (st)
			rc = start_locked(srv, c, st, cfg);
		pthread_mutex_unlock(&srv->store.lock);
	}
	free(cfg);
	free(err);
	return rc;
}

static int describe(struct kl_server *srv, struct kl_conn *c,
		    struct kl_request *r)
{
	int rc = 0;
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	struct kl_edge_entry *e = st ? current(srv, st) : NULL;
	struct strbuf b = STRBUF_INIT;
	if (e)
		put_entry(&b, e);
	else if (st)
		rc = not_found(c, st);
	pthread_mutex_unlock(&srv->store.lock);
	return e ? send_buffer(c, &b) : rc;
}

static int delete_config(struct kl_server *srv, struct kl_conn *c,
			 struct kl_request *r)
{
	int rc = 0;
	pthread_mutex_lock(&srv->store.lock);
	struct kl_stream *st = kl_request_stream(srv, c, r, &rc);
	struct kl_edge_entry *e = st ? current(srv, st) : NULL;
	if (st && !e) {
		rc = not_found(c, st);
	} else if (e) {
		struct kl_edge_state before = e->state;
		switch (
		    kl_edge_delete(&e->state, kl_now_ms(), sync_timeout(srv))) {
		case KL_EDGE_REMOVED:
			kl_log("edge configuration of stream %s deleted (no "
			       "agent had received it)",
			       st->name);
			kl_edge_remove(srv->edge, e);
			rc = kl_send_json(c, 200, "{}");
			break;
		case KL_EDGE_CHANGED:
			if (kl_edge_save(srv->edge, e)) {
				e->state = before;
				rc = kl_send_error(c, 500, "InternalFailure",
						   "cannot store the edge "
						   "configuration of stream %s",
						   st->name);
				break;
			}
			kl_log("edge configuration of stream %s: DELETING",
			       st->name);
			/* fall through */
		case KL_EDGE_KEPT:
			rc = kl_send_json(c, 200, "{}");
			break;
		}
	}
	pthread_mutex_unlock(&srv->store.lock);
	return rc;
}

/* ------------------------------------------------------------ listing */
static int invalid(struct kl_conn *c, const char *value, const char *wire,
		   const char *why)
{
	return kl_send_error(c, 400, "InvalidArgumentException",
			     "1 validation error detected: Value '%s' at '%s' "
			     "failed to satisfy constraint: %s",
			     value, wire, why);
}

static bool hub_arn_valid(const char *s)
{
	static const char re[] = "^arn:[a-z0-9-]+:iot:[a-z0-9-]+:[0-9]+:thing/"
				 "[a-zA-Z0-9_.-]+$";
	regex_t rx;
	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB))
		return false;
	bool ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

/* NextToken: hex of a stream name into out (at most 256 characters). */
static bool token_decode(const char *t, char *out, size_t cap)
{
	size_t n = strlen(t);
	if (n % 2 || n / 2 >= cap)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		char hex[3] = {t[i], t[i + 1], 0}, *end;
		long v = strtol(hex, &end, 16);
		if (*end || v <= 0)
			return false;
		out[i / 2] = (char)v;
	}
	out[n / 2] = 0;
	return true;
}

static int by_name(const void *a, const void *b)
{
	const struct kl_edge_entry *x = *(const struct kl_edge_entry *const *)a;
	const struct kl_edge_entry *y = *(const struct kl_edge_entry *const *)b;
	return strcmp(x->stream_name, y->stream_name);
}

/* The hub's configs after `after` in name order, into *out (malloc'd);
 * configs whose stream was deleted are dropped on the way. */
static size_t hub_entries(struct kl_server *srv, const char *hub,
			  const char *after, struct kl_edge_entry ***out)
{
	struct kl_edge_store *es = srv->edge;
	for (size_t i = es->n; i-- > 0;)
		if (!kl_store_find(&srv->store, NULL,
				   es->entries[i]->stream_arn))
			kl_edge_remove(es, es->entries[i]);
	*out = malloc((es->n + 1) * sizeof **out);
	size_t n = 0;
	for (size_t i = 0; *out && i < es->n; i++)
		if (!strcmp(es->entries[i]->hub_arn, hub) &&
		    strcmp(es->entries[i]->stream_name, after) > 0)
			(*out)[n++] = es->entries[i];
	if (n)
		qsort(*out, n, sizeof **out, by_name);
	return n;
}

static int list_locked(struct kl_server *srv, struct kl_conn *c,
		       const char *hub, const char *after, int64_t max)
{
	struct kl_edge_entry **v;
	size_t n = hub_entries(srv, hub, after, &v);
	if (!v)
		return kl_send_error(c, 500, "InternalFailure",
				     "out of memory");
	struct strbuf b = STRBUF_INIT;
	sb_puts(&b, "{\"EdgeConfigs\":[");
	char last[EDGE_STREAM_NAME_MAX + 1] = "";
	int64_t listed = 0;
	size_t i;
	for (i = 0; i < n && listed < max; i++) {
		struct kl_edge_entry *e = v[i];
		snprintf(last, sizeof last, "%s", e->stream_name);
		enum kl_edge_outcome o =
		    kl_edge_polled(&e->state, kl_now_ms(), sync_timeout(srv));
		if (o == KL_EDGE_REMOVED) {
			kl_log("edge configuration of stream %s deleted: the "
			       "agent of %s acknowledged it",
			       e->stream_name, hub);
			kl_edge_remove(srv->edge, e);
			continue;
		}
		if (o == KL_EDGE_CHANGED)
			kl_edge_save(srv->edge, e);
		if (listed++)
			sb_putc(&b, ',');
		put_entry(&b, e);
	}
	sb_puts(&b, "]");
	if (i < n) {
		sb_puts(&b, ",\"NextToken\":\"");
		for (const unsigned char *p = (const unsigned char *)last; *p;
		     p++)
			sb_printf(&b, "%02x", *p);
		sb_puts(&b, "\"");
	}
	sb_puts(&b, "}");
	free(v);
	return send_buffer(c, &b);
}

static int list_agent(struct kl_server *srv, struct kl_conn *c,
		      struct kl_request *r)
{
	const struct json_value *hv = json_get(r->json, "HubDeviceArn");
	const struct json_value *mv = json_get(r->json, "MaxResults");
	const char *hub = json_string(hv);
	const char *token = kl_json_str(r, "NextToken");
	int64_t max = LIST_DEFAULT;
	char after[EDGE_STREAM_NAME_MAX + 1] = "";
	if (!hv)
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "HubDeviceArn is required");
	if (!hub || json_has_nul(hv))
		return kl_send_error(c, 400, "SerializationException",
				     "HubDeviceArn: expected a string");
	if (strlen(hub) > EDGE_HUB_DEVICE_ARN_MAX)
		return invalid(c, "(too long)", "hubDeviceArn",
			       "Member must have length less than or equal to "
			       "1024");
	if (!hub_arn_valid(hub))
		return invalid(c, hub, "hubDeviceArn",
			       "Member must satisfy regular expression "
			       "pattern: arn:[a-z\\d-]+:iot:[a-z0-9-]+:[0-9]+:"
			       "thing/[a-zA-Z0-9_.-]+");
	if (mv && (json_int64(mv, &max) || max < 1 || max > LIST_MAX)) {
		char shown[32];
		snprintf(shown, sizeof shown, "%.20s", mv->str ? mv->str : "?");
		return invalid(c, shown, "maxResults",
			       max < 1 ? "Member must have value greater than "
					 "or equal to 1"
				       : "Member must have value less than or "
					 "equal to 10");
	}
	if (token && *token && !token_decode(token, after, sizeof after))
		return kl_send_error(c, 400, "InvalidArgumentException",
				     "NextToken is not one this "
				     "ListEdgeAgentConfigurations returned");
	pthread_mutex_lock(&srv->store.lock);
	int rc = list_locked(srv, c, hub, after, max);
	pthread_mutex_unlock(&srv->store.lock);
	return rc;
}

/* ------------------------------------------------------------ dispatch */
static const struct {
	const char *op;
	int (*fn)(struct kl_server *, struct kl_conn *, struct kl_request *);
} ops[] = {
    {"startEdgeConfigurationUpdate", start_update},
    {"describeEdgeConfiguration", describe},
    {"listEdgeAgentConfigurations", list_agent},
    {"deleteEdgeConfiguration", delete_config},
};

bool kl_edge_op(const char *op)
{
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
		if (!strcmp(op, ops[i].op))
			return true;
	return false;
}

int kl_edge(struct kl_server *srv, struct kl_conn *c, struct kl_request *r)
{
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
		if (!strcmp(r->op, ops[i].op))
			return ops[i].fn(srv, c, r);
	return kl_send_error(c, 404, "UnknownOperationException",
			     "operation /%s is not supported by kvs-local",
			     r->op);
}
