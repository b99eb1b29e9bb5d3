/* The pipeline graph: build from a config, print, free. */
#ifndef VPIPE_KERNEL_GRAPH_H
#define VPIPE_KERNEL_GRAPH_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "internal.h"

/* Validate the config and build nodes and links. With `create`, modules'
 * create() runs too (needed for media checks and memory figures). Every
 * error is printed as file:line; NULL if there was any. */
struct vp_pipeline *vp_graph_build(struct vp_config *cfg, bool create);
void vp_graph_free(struct vp_pipeline *pl);
/* Free these nodes and links (a chain a reload took out of a pipeline). */
void vp_graph_free_nodes(struct vpipe_node **nodes, unsigned n_nodes,
			 struct vp_link **links, unsigned n_links);

/* reload.c: SIGHUP re-reads the graph with `load` (which reports its own
 * errors and returns NULL on an unreadable file); `current` is the config
 * the pipeline was built from, still owned by the caller. */
void vp_pipeline_enable_reload(struct vp_pipeline *pl,
			       struct vp_config *(*load)(void *ctx), void *ctx);
void vp_pipeline_reload(struct vp_pipeline *pl);
void vp_reload_free(struct vp_pipeline *pl);
struct vpipe_node *vp_graph_find(struct vp_pipeline *pl, const char *name);

/* Resolved nodes, parameters (secrets masked), links, memory ceiling. */
void vp_graph_print(struct vp_pipeline *pl, FILE *out);
void vp_graph_dot(struct vp_pipeline *pl, FILE *out);
/* Bytes of frames and queue slots the graph can hold at most; `unknown`
 * counts producing nodes that did not declare a frame size. */
uint64_t vp_graph_memory_ceiling(struct vp_pipeline *pl, unsigned *unknown);

/* node.c */
int vp_node_create(struct vpipe_node *n);
void vp_node_destroy(struct vpipe_node *n);
#endif
