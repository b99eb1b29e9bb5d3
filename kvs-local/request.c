/* Helpers the operation handlers share: JSON fields, the stream a request
 * names (with its stream-level limits), timestamps in and out. */
#include "kvs_local.h"

#include <string.h>
#include <time.h>

const char *kl_json_str(const struct kl_request *r, const char *key)
{
	return json_string(json_get(r->json, key));
}

/* What a call takes from its stream-level limit: fragment credits for
 * ListFragments (MaxResults) and GetMediaForFragmentList (fragments), one
 * call for the others. */
static double request_cost(const struct kl_request *r)
{
	if (!strcmp(r->op, "listFragments")) {
		int64_t max = KL_MAX_FRAGMENT_LIST;
		json_int64(json_get(r->json, "MaxResults"), &max);
		return max > 0 ? (double)max : 1;
	}
	if (!strcmp(r->op, "getMediaForFragmentList")) {
		const struct json_value *l = json_get(r->json, "Fragments");
		return l && l->type == JSON_ARRAY && l->n ? (double)l->n : 1;
	}
	return 1;
}

struct kl_stream *kl_request_stream(struct kl_server *srv, struct kl_conn *c,
				    struct kl_request *r, int *rc)
{
	const char *name = kl_json_str(r, "StreamName");
	const char *arn = kl_json_str(r, "StreamARN");
	if (!name && !arn) {
		*rc = kl_send_error(c, 400, "InvalidArgumentException",
				    "StreamName or StreamARN is required");
		return NULL;
	}
	struct kl_stream *st = kl_store_find(&srv->store, name, arn);
	if (!st) {
		*rc = kl_send_error(c, 404, "ResourceNotFoundException",
				    "The requested stream is not found or not "
				    "active: %s",
				    name ? name : arn);
		return NULL;
	}
	char why[300];
	if (kl_limit_stream(srv, st, kl_api_index(r->op), request_cost(r), why,
			    sizeof why)) {
		*rc = kl_send_error(c, 400, "ClientLimitExceededException",
				    "%s", why);
		return NULL;
	}
	return st;
}

void kl_put_timestamp(struct strbuf *b, int64_t ms)
{
	sb_printf(b, "%lld.%03lld", (long long)(ms / 1000),
		  (long long)(ms % 1000));
}

int kl_parse_timestamp(const struct json_value *v, int64_t *ms)
{
	if (v && v->type == JSON_NUMBER) {
		if (!(v->number > -KL_MAX_EPOCH_SECONDS &&
		      v->number < KL_MAX_EPOCH_SECONDS))
			return -1; /* NaN or out of int64_t milliseconds */
		*ms = (int64_t)(v->number * 1000.0 + 0.5);
		return 0;
	}
	const char *s = json_string(v);
	if (!s)
		return -1;
	struct tm tm = {0};
	int msec = 0;
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	if (*end == '.') {
		int scale = 100;
		for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
			msec += (*end - '0') * scale;
	}
	*ms = (int64_t)timegm(&tm) * 1000 + msec;
	return 0;
}
