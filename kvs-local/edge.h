/* kvs-local's edge configurations: StartEdgeConfigurationUpdate,
 * DescribeEdgeConfiguration, ListEdgeAgentConfigurations and
 * DeleteEdgeConfiguration (edge.c), kept in memory and in DATA/edge/, one
 * file per stream (edge_store.c), their SyncStatus moved as edge_state.h
 * says. Everything here runs with the store lock held. */
#ifndef VPIPE_KVS_LOCAL_EDGE_H
#define VPIPE_KVS_LOCAL_EDGE_H

#include "edge_state.h"
#include "kvs_local.h"

struct kl_edge_entry {
	char *stream_arn, *stream_name, *hub_arn;
	char *config_json; /* the EdgeConfig object as responses show it */
	struct kl_edge_state state;
};

struct kl_edge_store {
	char *dir; /* DATA/edge */
	struct kl_edge_entry **entries;
	size_t n;
};

/* Load DATA/edge (streams already loaded: configs of streams that no
 * longer exist are dropped). 0, or -1 after a log line. */
int kl_edge_open(struct kl_server *srv);
void kl_edge_close(struct kl_server *srv);
/* The config of the stream with this ARN, or NULL. */
struct kl_edge_entry *kl_edge_find(struct kl_edge_store *es, const char *arn);
/* A new entry owned by the store (fields copied), or NULL. */
struct kl_edge_entry *kl_edge_add(struct kl_edge_store *es, const char *arn,
				  const char *name, const char *hub);
/* Write the entry durably: 0, or -1 (logged). */
int kl_edge_save(struct kl_edge_store *es, const struct kl_edge_entry *e);
/* Forget the entry and delete its file. */
void kl_edge_remove(struct kl_edge_store *es, struct kl_edge_entry *e);

/* true if op (request path without '/') is one of the edge operations. */
bool kl_edge_op(const char *op);
/* Serve an edge operation (validated by kl_validate_request already). */
int kl_edge(struct kl_server *srv, struct kl_conn *c, struct kl_request *r);
#endif
