/* SyncStatus transitions of kvs-local's edge configurations (edge_state.h
 * has the table). */
#include "edge_state.h"

#include <stdio.h>
#include <string.h>

static const char *const names[] = {
    [KL_SYNCING] = "SYNCING",
    [KL_ACKNOWLEDGED] = "ACKNOWLEDGED",
    [KL_IN_SYNC] = "IN_SYNC",
    [KL_SYNC_FAILED] = "SYNC_FAILED",
    [KL_DELETING] = "DELETING",
    [KL_DELETE_FAILED] = "DELETE_FAILED",
    [KL_DELETING_ACKNOWLEDGED] = "DELETING_ACKNOWLEDGED",
};

const char *kl_sync_status_name(enum kl_sync_status s)
{
	return names[s];
}

int kl_sync_status_parse(const char *name)
{
	for (size_t i = 0; name && i < sizeof names / sizeof *names; i++)
		if (!strcmp(name, names[i]))
			return (int)i;
	return -1;
}

bool kl_edge_busy(const struct kl_edge_state *e)
{
	return e->status == KL_SYNCING || e->status == KL_ACKNOWLEDGED ||
	       e->status == KL_DELETING ||
	       e->status == KL_DELETING_ACKNOWLEDGED;
}

static void set_status(struct kl_edge_state *e, enum kl_sync_status s,
		       int64_t now_ms)
{
	e->status = s;
	e->updated_ms = now_ms;
	if (s != KL_SYNC_FAILED && s != KL_DELETE_FAILED)
		e->failed[0] = 0;
}

void kl_edge_start(struct kl_edge_state *e, int64_t now_ms, int64_t timeout_ms)
{
	if (!e->creation_ms)
		e->creation_ms = now_ms;
	set_status(e, KL_SYNCING, now_ms);
	e->deadline_ms = now_ms + timeout_ms;
}

enum kl_edge_outcome kl_edge_polled(struct kl_edge_state *e, int64_t now_ms,
				    int64_t timeout_ms)
{
	if (kl_edge_expire(e, now_ms) == KL_EDGE_CHANGED)
		return KL_EDGE_CHANGED;
	switch (e->status) {
	case KL_SYNCING:
		e->delivered = true;
		set_status(e, KL_ACKNOWLEDGED, now_ms);
		e->deadline_ms = now_ms + timeout_ms;
		return KL_EDGE_CHANGED;
	case KL_ACKNOWLEDGED:
		set_status(e, KL_IN_SYNC, now_ms);
		return KL_EDGE_CHANGED;
	case KL_DELETING:
		set_status(e, KL_DELETING_ACKNOWLEDGED, now_ms);
		e->deadline_ms = now_ms + timeout_ms;
		return KL_EDGE_CHANGED;
	case KL_DELETING_ACKNOWLEDGED:
		return KL_EDGE_REMOVED;
	default:
		return KL_EDGE_KEPT;
	}
}

enum kl_edge_outcome kl_edge_delete(struct kl_edge_state *e, int64_t now_ms,
				    int64_t timeout_ms)
{
	if (!e->delivered)
		return KL_EDGE_REMOVED;
	if (e->status == KL_DELETING || e->status == KL_DELETING_ACKNOWLEDGED)
		return KL_EDGE_KEPT; /* already on its way */
	set_status(e, KL_DELETING, now_ms);
	e->deadline_ms = now_ms + timeout_ms;
	return KL_EDGE_CHANGED;
}

enum kl_edge_outcome kl_edge_expire(struct kl_edge_state *e, int64_t now_ms)
{
	if (!kl_edge_busy(e) || now_ms <= e->deadline_ms)
		return KL_EDGE_KEPT;
	bool deleting =
	    e->status == KL_DELETING || e->status == KL_DELETING_ACKNOWLEDGED;
	set_status(e, deleting ? KL_DELETE_FAILED : KL_SYNC_FAILED, now_ms);
	snprintf(e->failed, sizeof e->failed,
		 deleting ? "the edge agent did not confirm the deletion in "
			    "time: delete the edge configuration again"
			  : "the edge agent did not poll "
			    "ListEdgeAgentConfigurations in time to receive "
			    "the configuration");
	return KL_EDGE_CHANGED;
}
