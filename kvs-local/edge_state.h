/* The SyncStatus of a stream's edge configuration in kvs-local: how it
 * moves between the service's states (kvs-facts part4 §10.3, botocore
 * kinesisvideo SyncStatus). Pure logic on times in milliseconds; no I/O.
 *
 * The real service pushes a config to the Edge Agent over MQTT and the
 * agent reports back. kvs-local has no such channel: the agent polls
 * ListEdgeAgentConfigurations for its HubDeviceArn, and a config returned
 * by that poll has been delivered. So:
 *
 *   StartEdgeConfigurationUpdate       -> SYNCING
 *   SYNCING, listed to the agent       -> ACKNOWLEDGED (it has the config)
 *   ACKNOWLEDGED, listed again         -> IN_SYNC (it polled after applying)
 *   SYNCING or ACKNOWLEDGED past the sync timeout (15 min, as the
 *     service retries) without that poll -> SYNC_FAILED
 *   DeleteEdgeConfiguration            -> DELETING, or removed at once if
 *     no agent ever received the config (nothing on a device to delete)
 *   DELETING, listed                   -> DELETING_ACKNOWLEDGED
 *   DELETING_ACKNOWLEDGED, listed      -> removed (the agent stopped it)
 *   DELETING* past the sync timeout    -> DELETE_FAILED (delete again)
 *
 * A new StartEdgeConfigurationUpdate is refused (ResourceInUseException)
 * while a sync or a deletion is in progress: SYNCING, ACKNOWLEDGED,
 * DELETING, DELETING_ACKNOWLEDGED. */
#ifndef VPIPE_KVS_LOCAL_EDGE_STATE_H
#define VPIPE_KVS_LOCAL_EDGE_STATE_H

#include <stdbool.h>
#include <stdint.h>

enum kl_sync_status {
	KL_SYNCING,
	KL_ACKNOWLEDGED,
	KL_IN_SYNC,
	KL_SYNC_FAILED,
	KL_DELETING,
	KL_DELETE_FAILED,
	KL_DELETING_ACKNOWLEDGED,
};

/* How long a sync or a deletion may wait for the agent (the service
 * retries for 15 minutes). */
#define KL_EDGE_SYNC_TIMEOUT_MS (15 * 60 * 1000LL)

struct kl_edge_state {
	enum kl_sync_status status;
	int64_t creation_ms, updated_ms; /* CreationTime, LastUpdatedTime */
	int64_t deadline_ms; /* SYNC_FAILED/DELETE_FAILED after this */
	bool delivered;	     /* an agent received some version of it */
	char failed[160];    /* FailedStatusDetails, "" if none */
};

/* What an event did to the config. */
enum kl_edge_outcome { KL_EDGE_KEPT, KL_EDGE_CHANGED, KL_EDGE_REMOVED };

const char *kl_sync_status_name(enum kl_sync_status s);
/* -1 if name is none of the SyncStatus values. */
int kl_sync_status_parse(const char *name);
/* true while a sync or a deletion is in progress. */
bool kl_edge_busy(const struct kl_edge_state *e);
/* A new config (e->creation_ms 0) or an update; the caller checked
 * kl_edge_busy(). */
void kl_edge_start(struct kl_edge_state *e, int64_t now_ms, int64_t timeout_ms);
/* The agent's poll listed it. */
enum kl_edge_outcome kl_edge_polled(struct kl_edge_state *e, int64_t now_ms,
				    int64_t timeout_ms);
/* DeleteEdgeConfiguration. */
enum kl_edge_outcome kl_edge_delete(struct kl_edge_state *e, int64_t now_ms,
				    int64_t timeout_ms);
/* The sync timeout, evaluated whenever the config is read. */
enum kl_edge_outcome kl_edge_expire(struct kl_edge_state *e, int64_t now_ms);
#endif
