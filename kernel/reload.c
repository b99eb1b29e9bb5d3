/* Reload (SIGHUP, `vpipe reload`): re-read the graph file and restart only
 * the chains that changed.
 *
 * A chain is a connected component of the graph: nodes joined by links in
 * either direction. The new file is first built without creating modules,
 * so an invalid file (every error logged as file:line) leaves the running
 * graph alone. A running chain is kept when the new file has a chain with
 * exactly its nodes, each section unchanged (module, parameters, inputs,
 * kernel keys, as written and after --set); its threads never notice.
 * Every other running chain is drained and stopped (drain-timeout bounds
 * it), then the new file's chains that are not kept are built, created and
 * started. If creating them fails, the chains just stopped are built again
 * from the file they ran from, so a bad edit costs one restart, not the
 * chain. A node that changed only in VPIPE_PARAM_RUNTIME keys of a module
 * with reconfigure() keeps its chain: its thread applies the new config
 * (sched.c). [pipeline] log-level, drain-timeout and summary-interval apply
 * at once; a changed module-path restarts every chain. */
#include "config.h"
#include "graph.h"
#include "internal.h"
#include "params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vp_reloader {
	struct vp_config *(*load)(void *ctx);
	void *ctx;
	struct vp_config *current; /* what the running graph was built from */
	bool owned;		   /* current came from a reload: ours */
};

void vp_pipeline_enable_reload(struct vp_pipeline *pl,
			       struct vp_config *(*load)(void *ctx), void *ctx)
{
	struct vp_reloader *r = vp_xcalloc(1, sizeof(*r));
	r->load = load;
	r->ctx = ctx;
	r->current = pl->cfg;
	pl->reloader = r;
}

void vp_reload_free(struct vp_pipeline *pl)
{
	struct vp_reloader *r = pl->reloader;
	if (!r)
		return;
	if (r->owned)
		vp_config_free(r->current);
	free(r);
	pl->reloader = NULL;
}

/* ------------------------------------------------------------- chains */

static unsigned find_root(unsigned *parent, unsigned i)
{
	while (parent[i] != i)
		i = parent[i] = parent[parent[i]];
	return i;
}

static unsigned node_index(const struct vp_pipeline *pl,
			   const struct vpipe_node *n)
{
	for (unsigned i = 0; i < pl->n_nodes; i++)
		if (pl->nodes[i] == n)
			return i;
	return 0;
}

/* chain[i]: the chain of node i, named by its first node's index. */
static unsigned *chains_of(const struct vp_pipeline *pl)
{
	unsigned *parent =
	    vp_xcalloc(pl->n_nodes ? pl->n_nodes : 1, sizeof(*parent));
	for (unsigned i = 0; i < pl->n_nodes; i++)
		parent[i] = i;
	for (unsigned i = 0; i < pl->n_links; i++) {
		unsigned a =
		    find_root(parent, node_index(pl, pl->links[i]->from));
		unsigned b =
		    find_root(parent, node_index(pl, pl->links[i]->to));
		if (a != b)
			parent[a > b ? a : b] = a < b ? a : b;
	}
	for (unsigned i = 0; i < pl->n_nodes; i++)
		parent[i] = find_root(parent, i);
	return parent;
}

static bool same_section(const struct vp_section *a, const struct vp_section *b)
{
	if (!a || !b || a->n_kv != b->n_kv)
		return false;
	for (size_t i = 0; i < a->n_kv; i++)
		if (strcmp(a->kv[i].key, b->kv[i].key) ||
		    strcmp(a->kv[i].value, b->kv[i].value))
			return false;
	return true;
}

static const char *module_path_of(struct vp_config *cfg)
{
	struct vp_section *s = vp_config_section(cfg, "pipeline");
	struct vp_kv *kv = s ? vp_section_get(s, "module-path") : NULL;
	return kv ? kv->value : "";
}

static bool runtime_key(const struct vpipe_node *n, const char *key)
{
	const struct vpipe_param *p = n->mod->params;
	while (p && p->name && strcmp(p->name, key))
		p++;
	return p && p->name && (p->flags & VPIPE_PARAM_RUNTIME);
}

/* Keys of `a` that `b` lacks or sets differently are all runtime keys. */
static bool differ_in_runtime_keys(const struct vpipe_node *n,
				   struct vp_section *a, struct vp_section *b)
{
	for (size_t i = 0; i < a->n_kv; i++) {
		struct vp_kv *other = vp_section_get(b, a->kv[i].key);
		if ((!other || strcmp(other->value, a->kv[i].value)) &&
		    !runtime_key(n, a->kv[i].key))
			return false;
	}
	return true;
}

/* Whether sections a and b of node n differ only in keys (set, changed or
 * removed) its module marks VPIPE_PARAM_RUNTIME and takes with
 * reconfigure(). */
static bool runtime_only(const struct vpipe_node *n, struct vp_section *a,
			 struct vp_section *b)
{
	return a && b && n->mod->reconfigure &&
	       differ_in_runtime_keys(n, a, b) &&
	       differ_in_runtime_keys(n, b, a);
}

/* Nodes of kept chains that take new runtime parameters. */
struct reconf {
	struct vpipe_node **old, **neu;
	unsigned n;
};

/* Whether old chain `c` runs on in the new graph (unchanged, or changed
 * only in runtime keys: those nodes are added to *rc); if so the new
 * graph's chain holding the same nodes is *kept_chain. */
static bool chain_unchanged(struct vp_pipeline *old, const unsigned *oc,
			    unsigned c, struct vp_config *ocfg,
			    struct vp_pipeline *neu, const unsigned *nc,
			    struct vp_config *ncfg, unsigned *kept_chain,
			    struct reconf *rc)
{
	unsigned members = 0, new_chain = ~0u, first_reconf = rc->n;
	for (unsigned i = 0; i < old->n_nodes; i++) {
		if (oc[i] != c)
			continue;
		members++;
		const char *name = old->nodes[i]->name;
		struct vpipe_node *m = vp_graph_find(neu, name);
		if (!m)
			return false;
		unsigned ch = nc[node_index(neu, m)];
		if (new_chain != ~0u && ch != new_chain)
			return false;
		new_chain = ch;
		struct vp_section *a = vp_config_section(ocfg, name),
				  *b = vp_config_section(ncfg, name);
		if (same_section(a, b))
			continue;
		if (!runtime_only(old->nodes[i], a, b)) {
			rc->n = first_reconf;
			return false;
		}
		rc->old[rc->n] = old->nodes[i];
		rc->neu[rc->n++] = m;
	}
	unsigned new_members = 0;
	for (unsigned i = 0; i < neu->n_nodes; i++)
		new_members += nc[i] == new_chain;
	*kept_chain = new_chain;
	if (members != new_members)
		rc->n = first_reconf;
	return members == new_members;
}

/* Hand each node its new config; its thread applies it (sched.c). */
static void deliver(struct reconf *rc)
{
	for (unsigned i = 0; i < rc->n; i++) {
		struct vpipe_node *n = rc->old[i];
		void *cfg = rc->neu[i]->config;
		rc->neu[i]->config = NULL; /* now the running node's */
		void *prev = atomic_exchange(&n->pending_config, cfg);
		if (prev) { /* a reload before this one, not applied yet */
			vp_params_free(n->mod->params, prev);
			free(prev);
		}
		vpipe_info(n, "reload: runtime parameters changed: applying "
			      "them without a restart");
		/* the thread that runs n: its own, or its fused leader's */
		vpipe_node_wake(n->runner ? n->runner : n);
	}
}

/* "a, b, c": the names of the nodes in `chain` (for the log). */
static void chain_names(struct vpipe_node **nodes, unsigned n, char *out,
			size_t len)
{
	out[0] = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%s%s", i ? ", " : "",
			 nodes[i]->name);
	}
}

/* ----------------------------------------------------- taking apart */

/* Take the nodes with drop[i] out of pl with their links (a chain owns
 * every link touching it); the caller frees what is returned. */
static void take_out(struct vp_pipeline *pl, const bool *drop,
		     struct vpipe_node ***nodes, unsigned *n_nodes,
		     struct vp_link ***links, unsigned *n_links)
{
	*nodes = vp_xcalloc(pl->n_nodes + 1, sizeof(**nodes));
	*links = vp_xcalloc(pl->n_links + 1, sizeof(**links));
	*n_nodes = *n_links = 0;
	unsigned keep = 0;
	for (unsigned i = 0; i < pl->n_links; i++) {
		struct vp_link *l = pl->links[i];
		if (drop[node_index(pl, l->from)])
			(*links)[(*n_links)++] = l;
		else
			pl->links[keep++] = l;
	}
	pl->n_links = keep;
	keep = 0;
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		if (drop[i])
			(*nodes)[(*n_nodes)++] = pl->nodes[i];
		else
			pl->nodes[keep++] = pl->nodes[i];
	}
	pl->n_nodes = keep;
}

/* Move every node and link of `from` (just built) to the end of pl. */
static void append(struct vp_pipeline *pl, struct vp_pipeline *from)
{
	pl->nodes = realloc(pl->nodes, (pl->n_nodes + from->n_nodes + 1) *
					   sizeof(*pl->nodes));
	pl->links = realloc(pl->links, (pl->n_links + from->n_links + 1) *
					   sizeof(*pl->links));
	if (!pl->nodes || !pl->links)
		abort();
	for (unsigned i = 0; i < from->n_nodes; i++) {
		from->nodes[i]->pl = pl;
		pl->nodes[pl->n_nodes++] = from->nodes[i];
	}
	for (unsigned i = 0; i < from->n_links; i++)
		pl->links[pl->n_links++] = from->links[i];
	from->n_nodes = from->n_links = 0;
	vp_graph_free(from);
}

/* Build and create the sections named in `names` of cfg (with its
 * [pipeline]) as a graph of their own; NULL, errors logged, on failure. */
static struct vp_pipeline *build_part(struct vp_config *cfg, char *const *names,
				      unsigned n)
{
	struct vp_config part = {.file = cfg->file};
	part.sections = vp_xcalloc(n + 1, sizeof(*part.sections));
	for (unsigned i = 0; i <= n; i++) {
		struct vp_section *s =
		    vp_config_section(cfg, i == n ? "pipeline" : names[i]);
		if (!s)
			continue;
		/* A build reads each key once: this one reads them again. */
		for (size_t k = 0; k < s->n_kv; k++)
			s->kv[k].used = false;
		part.sections[part.n_sections++] = *s;
	}
	struct vp_pipeline *pl = vp_graph_build(&part, true);
	free(part.sections); /* the sections' contents belong to cfg */
	return pl;
}

/* ------------------------------------------------------------ reload */

struct plan {
	struct reconf reconf;
	bool *stop;   /* per running node: its chain changed */
	char **start; /* node names of the new file to build */
	unsigned n_start;
	unsigned n_stop;
};

static void plan_free(struct plan *p)
{
	free(p->stop);
	free(p->start);
	free(p->reconf.old);
	free(p->reconf.neu);
}

static void make_plan(struct vp_pipeline *pl, struct vp_config *ocfg,
		      struct vp_pipeline *neu, struct vp_config *ncfg,
		      struct plan *p)
{
	unsigned *oc = chains_of(pl), *nc = chains_of(neu);
	bool *kept = vp_xcalloc(neu->n_nodes + 1, sizeof(*kept));
	p->stop = vp_xcalloc(pl->n_nodes + 1, sizeof(*p->stop));
	p->start = vp_xcalloc(neu->n_nodes + 1, sizeof(*p->start));
	p->reconf.old = vp_xcalloc(pl->n_nodes + 1, sizeof(*p->reconf.old));
	p->reconf.neu = vp_xcalloc(pl->n_nodes + 1, sizeof(*p->reconf.neu));
	bool all = strcmp(module_path_of(ocfg), module_path_of(ncfg)) != 0;
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		if (oc[i] != i)
			continue; /* each chain once, at its first node */
		unsigned k = 0;
		bool same = !all && chain_unchanged(pl, oc, i, ocfg, neu, nc,
						    ncfg, &k, &p->reconf);
		for (unsigned j = 0; j < neu->n_nodes && same; j++)
			if (nc[j] == k)
				kept[j] = true;
		for (unsigned j = 0; j < pl->n_nodes && !same; j++)
			if (oc[j] == i) {
				p->stop[j] = true;
				p->n_stop++;
			}
	}
	for (unsigned j = 0; j < neu->n_nodes; j++)
		if (!kept[j])
			p->start[p->n_start++] = neu->nodes[j]->name;
	free(kept);
	free(oc);
	free(nc);
}

/* Stop the chains of p->stop; returns the configuration they ran from
 * restated as node names, for a fallback. */
static void stop_changed(struct vp_pipeline *pl, struct plan *p, char ***names,
			 unsigned *n_names)
{
	struct vpipe_node **nodes;
	struct vp_link **links;
	unsigned nn, nl;
	/* Stop first, then take out: node threads still use pl while they
	 * drain. */
	nodes = vp_xcalloc(pl->n_nodes + 1, sizeof(*nodes));
	nn = 0;
	for (unsigned i = 0; i < pl->n_nodes; i++)
		if (p->stop[i])
			nodes[nn++] = pl->nodes[i];
	char list[1024];
	chain_names(nodes, nn, list, sizeof(list));
	vpipe_info(NULL, "reload: stopping the changed chain(s) of %s", list);
	int64_t t0 = vpipe_now();
	unsigned stuck = vp_sched_stop_nodes(pl, nodes, nn);
	vp_sched_print_final(pl, nodes, nn);
	*names = vp_xcalloc(nn + 1, sizeof(**names));
	*n_names = 0;
	for (unsigned i = 0; i < nn; i++)
		(*names)[(*n_names)++] = vp_strdup(nodes[i]->name);
	free(nodes);
	if (stuck) {
		/* A thread still running may touch its chain's links and
		 * neighbours: leave the whole chain where it is, unfreed. */
		vpipe_error(NULL,
			    "reload: %u node(s) did not stop; their "
			    "chain stays in memory until vpipe restarts",
			    stuck);
		memset(p->stop, 0, pl->n_nodes * sizeof(*p->stop));
	}
	take_out(pl, p->stop, &nodes, &nn, &links, &nl);
	vpipe_info(NULL, "reload: stopped in %.1f s",
		   (double)(vpipe_now() - t0) / 1e9);
	vp_graph_free_nodes(nodes, nn, links, nl);
	free(nodes);
	free(links);
}

static bool start_part(struct vp_pipeline *pl, struct vp_config *cfg,
		       char *const *names, unsigned n)
{
	if (n == 0)
		return true;
	int level = vp_log_level();
	struct vp_pipeline *part = build_part(cfg, names, n);
	vp_log_set_level(level);
	if (!part)
		return false;
	unsigned first = pl->n_nodes;
	char list[1024];
	chain_names(part->nodes, part->n_nodes, list, sizeof(list));
	append(pl, part);
	vpipe_info(NULL, "reload: starting %s", list);
	vp_sched_start_nodes(pl, first);
	return true;
}

static void reload_once(struct vp_pipeline *pl)
{
	struct vp_reloader *r = pl->reloader;
	vpipe_info(NULL, "reload: reading %s", r->current->file);
	/* Building sets [pipeline] log-level; --log-level must still win
	 * unless the file's log-level itself changed. */
	int level = vp_log_level();
	struct vp_config *cfg = r->load(r->ctx);
	struct vp_pipeline *neu = cfg ? vp_graph_build(cfg, false) : NULL;
	vp_log_set_level(level);
	if (neu && neu->log_level > 0 && neu->log_level != pl->log_level)
		vp_log_set_level(neu->log_level);
	if (!neu) {
		vpipe_error(NULL,
			    "reload: %s has errors (above): the running "
			    "graph goes on unchanged",
			    r->current->file);
		vp_config_free(cfg);
		return;
	}
	struct plan p = {0};
	make_plan(pl, r->current, neu, cfg, &p);
	/* [pipeline] keys that need no restart take effect now. */
	pl->drain_timeout = neu->drain_timeout;
	pl->log_level = neu->log_level;
	pl->summary_interval = neu->summary_interval;
	deliver(&p.reconf);
	if (p.n_stop == 0 && p.n_start == 0) {
		vpipe_info(NULL, "reload: no chain %s",
			   p.reconf.n ? "restarts" : "changed");
	} else {
		char **old_names = NULL;
		unsigned n_old = 0;
		if (p.n_stop)
			stop_changed(pl, &p, &old_names, &n_old);
		if (!start_part(pl, cfg, p.start, p.n_start)) {
			vpipe_error(NULL, "reload: the changed chains could "
					  "not be created (above): starting "
					  "them as they were");
			start_part(pl, r->current, old_names, n_old);
			vp_graph_free(neu);
			plan_free(&p);
			for (unsigned i = 0; i < n_old; i++)
				free(old_names[i]);
			free(old_names);
			vp_config_free(cfg);
			return;
		}
		for (unsigned i = 0; i < n_old; i++)
			free(old_names[i]);
		free(old_names);
	}
	vp_graph_free(neu);
	plan_free(&p);
	if (r->owned)
		vp_config_free(r->current);
	r->current = cfg;
	r->owned = true;
	pl->cfg = cfg;
	vpipe_info(NULL, "reload: done");
}

void vp_pipeline_reload(struct vp_pipeline *pl)
{
	reload_once(pl);
	atomic_fetch_add(&pl->reloads, 1);
}
