/* kvs-local request-rate limits, as the service documents them
 * (../shared/kvs-facts part1 §4.1, §4.2, §4.4): an account-level TPS per
 * control-plane API, a stream-level TPS per API, and the per-stream
 * fragment credits of ListFragments (10,000/s) and GetMediaForFragmentList
 * (500/s). Over a limit the service answers ClientLimitExceededException.
 *
 * Each limit is a token bucket refilled at its rate and holding at most
 * one second's worth. A request is admitted while the bucket is not empty
 * and then takes its whole cost, so one request may cost more than a
 * second's credits (GetMediaForFragmentList of 1000 fragments) and the
 * requests after it wait until the debt is repaid. */
#include "kvs_local.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *op;	    /* request path without the '/' */
	double account_tps; /* 0 = no account-level limit */
	double stream_rate; /* TPS, or credits per second; 0 = none */
} apis[KL_API_N] = {
    [KL_API_CREATE_STREAM] = {"createStream", 50, 0},
    [KL_API_DESCRIBE_STREAM] = {"describeStream", 300, 5},
    [KL_API_LIST_STREAMS] = {"listStreams", 50, 0},
    [KL_API_DELETE_STREAM] = {"deleteStream", 50, 5},
    [KL_API_GET_DATA_ENDPOINT] = {"getDataEndpoint", 300, 5},
    [KL_API_TAG_STREAM] = {"tagStream", 50, 5},
    [KL_API_LIST_TAGS] = {"listTagsForStream", 50, 5},
    [KL_API_UPDATE_RETENTION] = {"updateDataRetention", 50, 5},
    [KL_API_PUT_MEDIA] = {"putMedia", 0, 5},
    [KL_API_GET_MEDIA] = {"getMedia", 0, 5},
    [KL_API_LIST_FRAGMENTS] = {"listFragments", 0, 10000},
    [KL_API_GET_MEDIA_FOR_FRAGMENT_LIST] = {"getMediaForFragmentList", 0, 500},
    [KL_API_START_EDGE_CONFIG] = {"startEdgeConfigurationUpdate", 10, 1},
    [KL_API_DESCRIBE_EDGE_CONFIG] = {"describeEdgeConfiguration", 50, 5},
    [KL_API_LIST_EDGE_AGENT_CONFIGS] = {"listEdgeAgentConfigurations", 50, 0},
    [KL_API_DELETE_EDGE_CONFIG] = {"deleteEdgeConfiguration", 10, 1},
};

int kl_api_index(const char *op)
{
	for (int i = 0; i < KL_API_N; i++)
		if (op && !strcmp(op, apis[i].op))
			return i;
	return -1;
}

/* Refill, then admit if not empty; the cost may leave it negative. */
static bool rate_take(struct kl_rate *r, double per_second, double cost,
		      int64_t now_ms)
{
	if (r->last_ms == 0)
		r->tokens = per_second;
	else if (now_ms > r->last_ms)
		r->tokens +=
		    per_second * (double)(now_ms - r->last_ms) / 1000.0;
	if (r->tokens > per_second)
		r->tokens = per_second;
	r->last_ms = now_ms;
	if (r->tokens <= 0)
		return false;
	r->tokens -= cost;
	return true;
}

bool kl_limit_account(struct kl_server *srv, int api, char *why, size_t n)
{
	if (api < 0 || srv->cfg.no_rate_limits || apis[api].account_tps <= 0)
		return false;
	pthread_mutex_lock(&srv->throttle_lock);
	bool ok = rate_take(&srv->account_rates[api], apis[api].account_tps, 1,
			    kl_now_ms());
	pthread_mutex_unlock(&srv->throttle_lock);
	if (!ok)
		snprintf(why, n,
			 "over the account limit of %g %s calls per "
			 "second",
			 apis[api].account_tps, apis[api].op);
	return !ok;
}

bool kl_limit_stream(struct kl_server *srv, struct kl_stream *st, int api,
		     double cost, char *why, size_t n)
{
	if (api < 0 || srv->cfg.no_rate_limits || apis[api].stream_rate <= 0)
		return false;
	if (rate_take(&st->rates[api], apis[api].stream_rate, cost,
		      kl_now_ms()))
		return false;
	bool credits = api == KL_API_LIST_FRAGMENTS ||
		       api == KL_API_GET_MEDIA_FOR_FRAGMENT_LIST;
	snprintf(why, n, "stream %s is over its limit of %g %s %s per second",
		 st->name, apis[api].stream_rate, apis[api].op,
		 credits ? "fragment credits" : "calls");
	return true;
}
