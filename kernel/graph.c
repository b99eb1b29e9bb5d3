/* Building a pipeline from a parsed INI file: nodes, their parameters,
 * links, and every check `vpipe check` promises (file:line on each error). */
#include "graph.h"
#include "config.h"
#include "fuse.h"
#include "keys.h"
#include "loader.h"
#include "params.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct builder {
	struct vp_pipeline *pl;
	struct vp_config *cfg;
	struct vp_module_path mp;
	int errors;
};

static void err_at(struct builder *b, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void err_at(struct builder *b, int line, const char *fmt, ...)
{
	char where[512], raw[2048], msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	vp_escape_controls(raw, msg, sizeof(msg));
	vp_config_where(b->cfg, line, where, sizeof(where));
	fprintf(stderr, "%s: error: %s\n", where, msg);
	b->errors++;
}

/* Value of a key with ${VAR} expanded; NULL (and an error) if unset. */
static char *expanded(struct builder *b, const struct vp_kv *kv)
{
	char err[512];
	char *v = vp_expand_env(kv->value, err, sizeof(err));
	if (!v)
		err_at(b, kv->line, "%s: %s", kv->key, err);
	return v;
}

/* Called for a key no table of the section declares. */
typedef void unknown_fn(struct builder *b, struct vp_kv *kv, void *ctx);

/* Parse the keys of section s that `table` declares into config, marking
 * them used; `label` starts each value error ("[cam]", "[pipeline]"). With
 * `unknown`, the other keys not used yet are reported through it, in file
 * order with the value errors. */
static void parse_table_keys(struct builder *b, struct vp_section *s,
			     const struct vpipe_param *table, void *config,
			     const char *label, unknown_fn *unknown, void *ctx)
{
	char err[1024];
	for (size_t i = 0; i < s->n_kv; i++) {
		struct vp_kv *kv = &s->kv[i];
		if (kv->used)
			continue;
		const struct vpipe_param *p = vp_param_find(table, kv->key);
		if (!p && unknown)
			unknown(b, kv, ctx);
		if (!p)
			continue;
		kv->used = true;
		/* vpipe graph: a value naming an unset variable keeps its
		 * default (config.h, env_optional). */
		char *v = b->cfg->env_optional
			      ? vp_expand_env(kv->value, err, sizeof(err))
			      : expanded(b, kv);
		if (!v)
			continue;
		if (vp_param_parse(p, v, config, err, sizeof(err)))
			err_at(b, kv->line, "%s %s", label, err);
		free(v);
	}
}

/* Defaults of a kernel table; they are the kernel's own, so they parse. */
static void kernel_defaults(const struct vpipe_param *table, void *config)
{
	char err[512];
	if (vp_params_defaults(table, config, err, sizeof(err))) {
		fprintf(stderr, "vpipe: %s\n", err);
		abort();
	}
}

/* The names of a table, NULL-terminated, for suggestions and messages. */
static size_t table_names(const struct vpipe_param *table, const char **out,
			  size_t n, size_t cap)
{
	for (const struct vpipe_param *p = table; p && p->name && n + 1 < cap;
	     p++)
		out[n++] = p->name;
	out[n] = NULL;
	return n;
}

static void unknown_pipeline_key(struct builder *b, struct vp_kv *kv, void *ctx)
{
	(void)ctx;
	const char *names[64];
	size_t n = table_names(vp_pipeline_key_table, names, 0, 64);
	char keys[512] = "";
	for (size_t i = 0; i < n; i++)
		snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys),
			 "%s%s", i ? ", " : "", names[i]);
	const char *near = vp_nearest(kv->key, names, n);
	err_at(b, kv->line, "unknown key '%s' in [pipeline]%s%s%s (keys: %s)",
	       kv->key, near ? "; did you mean '" : "", near ? near : "",
	       near ? "'?" : "", keys);
}

static void parse_pipeline_section(struct builder *b)
{
	struct vp_pipeline_keys k = {.log_level = -1};
	kernel_defaults(vp_pipeline_key_table, &k);
	struct vp_section *s = vp_config_section(b->cfg, "pipeline");
	if (s)
		parse_table_keys(b, s, vp_pipeline_key_table, &k, "[pipeline]",
				 unknown_pipeline_key, NULL);
	b->pl->drain_timeout = k.drain_timeout;
	b->pl->summary_interval = k.summary_interval;
	b->pl->log_level = vp_pipeline_log_level(k.log_level);
	vp_module_path_init(&b->mp, k.module_path);
	vp_params_free(vp_pipeline_key_table, &k);
}

static void split_inputs(struct vpipe_node *n, const char *value)
{
	char *copy = vp_strdup(value), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t' || *t == '\n')
			t++;
		char *e = t + strlen(t);
		while (e > t && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = 0;
		if (!*t)
			continue;
		n->inputs =
		    realloc(n->inputs, (n->n_inputs + 1) * sizeof(char *));
		if (!n->inputs)
			abort();
		n->inputs[n->n_inputs++] = vp_strdup(t);
	}
	free(copy);
}

/* Retry keys before every module took the kernel's two (VPIPE_P_RETRY):
 * an old configuration gets the new name as its suggestion. */
static const char *const renamed_keys[][2] = {
    {"reconnect-delay", "retry-delay"}, {"reconnect-max", "retry-max-delay"},
    {"retry-min", "retry-delay"},	{"retry-max", "retry-max-delay"},
    {"reopen-delay", "retry-delay"},	{"reopen-delay-max", "retry-max-delay"},
};

static const char *renamed(const struct vpipe_node *n, const char *key)
{
	for (size_t i = 0; i < sizeof(renamed_keys) / sizeof(renamed_keys[0]);
	     i++)
		if (!strcmp(key, renamed_keys[i][0]))
			for (const struct vpipe_param *p = n->mod->params;
			     p && p->name; p++)
				if (!strcmp(p->name, renamed_keys[i][1]))
					return p->name;
	return NULL;
}

static void unknown_key(struct builder *b, struct vp_kv *kv, void *ctx)
{
	struct vpipe_node *n = ctx;
	const char *cands[256];
	size_t nc = table_names(vp_node_key_table, cands, 0, 256);
	nc = table_names(n->mod->params, cands, nc, 256);
	const char *near = renamed(n, kv->key);
	if (!near)
		near = vp_nearest(kv->key, cands, nc);
	err_at(b, kv->line,
	       "unknown key '%s' for node [%s] (module %s)%s%s%s; see `vpipe "
	       "modules %s`",
	       kv->key, n->name, n->mod->name, near ? "; did you mean '" : "",
	       near ? near : "", near ? "'?" : "", n->mod->name);
}

static void parse_module_params(struct builder *b, struct vpipe_node *n,
				struct vp_section *s)
{
	const struct vpipe_module *m = n->mod;
	n->config = vp_xcalloc(1, m->config_size ? m->config_size : 1);
	char err[1024], label[300];
	if (vp_params_defaults(m->params, n->config, err, sizeof(err)))
		err_at(b, s->line, "module %s: %s", m->name, err);
	snprintf(label, sizeof(label), "[%s]", n->name);
	parse_table_keys(b, s, m->params, n->config, label, unknown_key, n);
	for (const struct vpipe_param *p = m->params; p && p->name; p++)
		if ((p->flags & VPIPE_PARAM_REQUIRED) &&
		    !vp_section_get(s, p->name))
			err_at(b, s->line,
			       "node [%s] (module %s) needs '%s': %s", n->name,
			       m->name, p->name, p->help ? p->help : "");
}

/* The module named by the node's keys, NULL (with the error) if none. */
static struct vp_module *node_module(struct builder *b, struct vp_section *s,
				     const struct vp_node_keys *k)
{
	struct vp_kv *mkv = vp_section_get(s, "module");
	if (!mkv) {
		err_at(b, s->line,
		       "node [%s] has no 'module' key (see `vpipe modules`)",
		       s->name);
		return NULL;
	}
	if (!k->module) /* its value did not expand: reported */
		return NULL;
	char err[4096];
	struct vp_module *lm =
	    vp_module_load(&b->mp, k->module, err, sizeof(err));
	if (!lm) {
		err_at(b, mkv->line, "%s", err);
		return NULL;
	}
	for (const struct vpipe_param *p = lm->desc->params; p && p->name; p++)
		if (vp_param_find(vp_node_key_table, p->name)) {
			err_at(b, mkv->line,
			       "module %s (%s) declares a parameter '%s', "
			       "a key vpipe itself handles for every node: "
			       "the module must rename it",
			       lm->name, lm->path, p->name);
			return NULL;
		}
	return lm;
}

static struct vpipe_node *make_node(struct builder *b, struct vp_section *s)
{
	struct vp_node_keys k = {0};
	char label[300];
	kernel_defaults(vp_node_key_table, &k);
	snprintf(label, sizeof(label), "[%s]", s->name);
	parse_table_keys(b, s, vp_node_key_table, &k, label, NULL, NULL);
	struct vp_module *lm = node_module(b, s, &k);
	if (!lm) {
		vp_params_free(vp_node_key_table, &k);
		return NULL;
	}
	struct vpipe_node *n = vp_xcalloc(1, sizeof(*n));
	n->name = vp_strdup(s->name);
	n->lm = lm;
	n->mod = lm->desc;
	n->pl = b->pl;
	n->line = s->line;
	n->wake_fd = -1;
	for (unsigned w = 0; w < VP_MAX_WORKERS; w++)
		n->worker_wake_fd[w] = -1;
	n->queue_size = (size_t)k.queue_size;
	n->queue_policy = k.queue_policy;
	n->restart = k.restart;
	n->restart_delay = k.restart_delay;
	n->restart_max_delay = k.restart_max_delay;
	if (n->restart_max_delay < n->restart_delay)
		err_at(
		    b, s->line,
		    "[%s]: restart-max-delay must not be below restart-delay",
		    s->name);
	n->pool_count = (unsigned)k.pool_size;
	n->pool_user = n->pool_count != 0;
	n->thread_key = k.thread;
	n->queue_asked = vp_section_get(s, "queue-size") ||
			 vp_section_get(s, "queue-policy");
	if (k.input) {
		n->input_line = vp_section_get(s, "input")->line;
		split_inputs(n, k.input);
	}
	vp_params_free(vp_node_key_table, &k);
	parse_module_params(b, n, s);
	return n;
}

static unsigned count_ports(const struct vpipe_port *p)
{
	unsigned n = 0;
	while (p && p[n].name)
		n++;
	return n;
}

static void add_node(struct vp_pipeline *pl, struct vpipe_node *n)
{
	pl->nodes = realloc(pl->nodes, (pl->n_nodes + 1) * sizeof(*pl->nodes));
	if (!pl->nodes)
		abort();
	pl->nodes[pl->n_nodes++] = n;
	unsigned no = count_ports(n->mod->outputs);
	n->n_out = no;
	n->out = vp_xcalloc(no, sizeof(*n->out));
	for (unsigned i = 0; i < no; i++)
		n->out[i].media = n->mod->outputs[i].media;
}

struct vpipe_node *vp_graph_find(struct vp_pipeline *pl, const char *name)
{
	for (unsigned i = 0; i < pl->n_nodes; i++)
		if (!strcmp(pl->nodes[i]->name, name))
			return pl->nodes[i];
	return NULL;
}

static void describe_media(uint32_t mask, char *buf, size_t len)
{
	buf[0] = 0;
	if ((mask & ~(uint32_t)VPIPE_MEDIA_EVENT) ==
	    (VPIPE_MEDIA_ANY & ~(uint32_t)VPIPE_MEDIA_EVENT)) {
		snprintf(buf, len, "any media");
		return;
	}
	mask &= ~(uint32_t)VPIPE_MEDIA_EVENT; /* events pass everywhere */
	for (uint32_t bit = 1; bit <= VPIPE_MEDIA_H265; bit <<= 1)
		if (mask & bit)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
				 buf[0] ? " or " : "", vpipe_media_name(bit));
	if (!buf[0])
		snprintf(buf, len, "nothing");
}

static struct vp_link *new_link(struct vp_pipeline *pl, struct vpipe_node *from,
				unsigned from_port, struct vpipe_node *to,
				unsigned to_port)
{
	/* The ring's indices sit on their own cache lines: the link must be
	 * allocated with the alignment its type asks for (calloc gives 16). */
	size_t align = _Alignof(struct vp_link);
	struct vp_link *l =
	    aligned_alloc(align, (sizeof(*l) + align - 1) / align * align);
	if (!l)
		abort();
	memset(l, 0, sizeof(*l));
	l->from = from;
	l->from_port = from_port;
	l->to = to;
	l->to_port = to_port;
	l->policy = to->queue_policy;
	if (vp_ring_init(&l->ring, to->queue_size))
		abort();
	/* the ring rounds up to a power of two: report what it holds */
	l->capacity = vp_ring_capacity(&l->ring);
	pl->links = realloc(pl->links, (pl->n_links + 1) * sizeof(*pl->links));
	if (!pl->links)
		abort();
	pl->links[pl->n_links++] = l;
	struct vp_outport *op = &from->out[from_port];
	op->links = realloc(op->links, (op->n_links + 1) * sizeof(*op->links));
	if (!op->links)
		abort();
	op->links[op->n_links++] = l;
	to->in = realloc(to->in, (to->n_in + 1) * sizeof(*to->in));
	if (!to->in)
		abort();
	to->in[to->n_in++] = l;
	return l;
}

static int find_out_port(struct vpipe_node *n, const char *port)
{
	for (unsigned i = 0; i < n->n_out; i++)
		if (!strcmp(n->mod->outputs[i].name, port))
			return (int)i;
	return -1;
}

static void link_inputs(struct builder *b, struct vpipe_node *to)
{
	unsigned nports = count_ports(to->mod->inputs);
	if (nports == 0 && to->n_inputs) {
		err_at(b, to->input_line,
		       "node [%s] (module %s) is a source: it takes no input",
		       to->name, to->mod->name);
		return;
	}
	if (nports && !to->n_inputs) {
		err_at(
		    b, to->line,
		    "node [%s] (module %s) needs 'input = NODE' (it takes %s)",
		    to->name, to->mod->name, to->mod->inputs[0].name);
		return;
	}
	bool multi =
	    nports && (to->mod->inputs[nports - 1].flags & VPIPE_PORT_MULTI);
	if (to->n_inputs > nports && !multi) {
		err_at(b, to->input_line,
		       "node [%s] (module %s) takes %u input(s), %u given",
		       to->name, to->mod->name, nports, to->n_inputs);
		return;
	}
	for (unsigned i = 0; i < to->n_inputs; i++) {
		char *ref = vp_strdup(to->inputs[i]);
		char *dot = strchr(ref, '.');
		if (dot)
			*dot++ = 0;
		struct vpipe_node *from = vp_graph_find(b->pl, ref);
		if (!from) {
			const char *names[256];
			unsigned nn = 0;
			for (unsigned k = 0; k < b->pl->n_nodes && nn < 255;
			     k++)
				names[nn++] = b->pl->nodes[k]->name;
			names[nn] = NULL;
			const char *near = vp_nearest(ref, names, nn);
			err_at(b, to->input_line,
			       "input of [%s] names node '%s', which does not "
			       "exist%s%s%s",
			       to->name, ref, near ? "; did you mean '" : "",
			       near ? near : "", near ? "'?" : "");
			free(ref);
			continue;
		}
		int port = dot ? find_out_port(from, dot) : 0;
		if (from->n_out == 0) {
			err_at(
			    b, to->input_line,
			    "input of [%s] is [%s] (module %s), which has no "
			    "outputs",
			    to->name, from->name, from->mod->name);
		} else if (port < 0) {
			char ports[256] = "";
			for (unsigned k = 0; k < from->n_out; k++)
				snprintf(ports + strlen(ports),
					 sizeof(ports) - strlen(ports), "%s%s",
					 k ? ", " : "",
					 from->mod->outputs[k].name);
			err_at(b, to->input_line,
			       "node [%s] has no output port '%s' (ports: %s)",
			       from->name, dot, ports);
		} else {
			unsigned tp = i < nports ? i : nports - 1;
			new_link(b->pl, from, (unsigned)port, to, tp);
		}
		free(ref);
	}
}

/* A pass-through port (declared ANY, e.g. identity) carries what its
 * inputs carry. Nodes are in topological order here. */
static void propagate_media(struct vp_pipeline *pl)
{
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		struct vpipe_node *n = pl->nodes[i];
		uint32_t in = 0;
		for (unsigned k = 0; k < n->n_in; k++)
			in |= n->in[k]->from->out[n->in[k]->from_port].media;
		for (unsigned p = 0; p < n->n_out; p++)
			if (n->out[p].media == VPIPE_MEDIA_ANY && n->n_in)
				n->out[p].media = in;
	}
}

static void check_media(struct builder *b)
{
	propagate_media(b->pl);
	for (unsigned i = 0; i < b->pl->n_links; i++) {
		struct vp_link *l = b->pl->links[i];
		uint32_t out = l->from->out[l->from_port].media;
		uint32_t in = l->to->mod->inputs[l->to_port].media;
		if (out & in & ~(uint32_t)VPIPE_MEDIA_EVENT)
			continue;
		char o[128], w[128];
		describe_media(out, o, sizeof(o));
		describe_media(in, w, sizeof(w));
		err_at(b, l->to->input_line,
		       "[%s] (module %s) outputs %s, but [%s] (module %s) "
		       "takes %s",
		       l->from->name, l->from->mod->name, o, l->to->name,
		       l->to->mod->name, w);
	}
}

/* Depth-first topological sort; a back edge is a cycle. */
static int visit(struct builder *b, struct vpipe_node *n, int *mark,
		 struct vpipe_node **order, unsigned *k)
{
	unsigned idx = 0;
	while (b->pl->nodes[idx] != n)
		idx++;
	if (mark[idx] == 2)
		return 0;
	if (mark[idx] == 1) {
		err_at(b, n->input_line,
		       "the graph has a cycle through node [%s]: frames would "
		       "loop forever",
		       n->name);
		return -1;
	}
	mark[idx] = 1;
	for (unsigned i = 0; i < n->n_in; i++)
		if (visit(b, n->in[i]->from, mark, order, k))
			return -1;
	mark[idx] = 2;
	order[(*k)++] = n;
	return 0;
}

static int sort_nodes(struct builder *b)
{
	struct vp_pipeline *pl = b->pl;
	int *mark = vp_xcalloc(pl->n_nodes, sizeof(int));
	struct vpipe_node **order = vp_xcalloc(pl->n_nodes, sizeof(*order));
	unsigned k = 0;
	int rc = 0;
	for (unsigned i = 0; i < pl->n_nodes && !rc; i++)
		rc = visit(b, pl->nodes[i], mark, order, &k);
	if (!rc)
		memcpy(pl->nodes, order, pl->n_nodes * sizeof(*order));
	free(order);
	free(mark);
	return rc;
}

static void create_nodes(struct builder *b)
{
	for (unsigned i = 0; i < b->pl->n_nodes; i++) {
		struct vpipe_node *n = b->pl->nodes[i];
		if (vp_node_create(n))
			err_at(
			    b, n->line,
			    "node [%s] (module %s) rejected its configuration "
			    "(see the message above)",
			    n->name, n->mod->name);
	}
}

static void size_pools(struct vp_pipeline *pl)
{
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		struct vpipe_node *n = pl->nodes[i];
		if (n->pool_count == 0) {
			/* Enough for every downstream queue to be full, one
			 * frame in each consumer's hands, and a few in ours. */
			unsigned c = 4;
			for (unsigned p = 0; p < n->n_out; p++)
				for (unsigned l = 0; l < n->out[p].n_links; l++)
					c += (unsigned)n->out[p]
						 .links[l]
						 ->capacity +
					     1;
			n->pool_count = c;
		}
		vp_pool_init(&n->pool, n, n->pool_count);
	}
}

struct vp_pipeline *vp_graph_build(struct vp_config *cfg, bool create)
{
	struct builder b = {0};
	b.cfg = cfg;
	b.pl = vp_xcalloc(1, sizeof(*b.pl));
	b.pl->cfg = cfg;
	b.pl->done_fd = -1;
	b.errors = cfg->n_errors;
	parse_pipeline_section(&b);
	if (b.pl->log_level > 0)
		vp_log_set_level(b.pl->log_level);
	for (size_t i = 0; i < cfg->n_sections; i++) {
		struct vp_section *s = &cfg->sections[i];
		if (!strcmp(s->name, "pipeline"))
			continue;
		struct vpipe_node *n = make_node(&b, s);
		if (n)
			add_node(b.pl, n);
	}
	if (b.pl->n_nodes == 0 && !b.errors)
		err_at(&b, 0 + 1,
		       "the graph has no nodes: add a [name] section "
		       "with a 'module' key");
	for (unsigned i = 0; i < b.pl->n_nodes; i++)
		link_inputs(&b, b.pl->nodes[i]);
	if (!b.errors)
		sort_nodes(&b);
	if (!b.errors)
		vp_fuse_plan(b.pl);
	if (!b.errors) {
		size_pools(b.pl);
		if (create)
			create_nodes(&b);
	}
	if (!b.errors)
		check_media(&b);
	vp_module_path_free(&b.mp);
	if (b.errors) {
		fprintf(stderr, "%s: %d error%s\n", cfg->file, b.errors,
			b.errors == 1 ? "" : "s");
		vp_graph_free(b.pl);
		return NULL;
	}
	return b.pl;
}

uint64_t vp_graph_memory_ceiling(struct vp_pipeline *pl, unsigned *unknown)
{
	uint64_t total = 0;
	*unknown = 0;
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		struct vpipe_node *n = pl->nodes[i];
		total += n->extra_memory;
		if (n->n_out == 0)
			continue;
		if (n->pool_frame_bytes == 0)
			(*unknown)++;
		total += (uint64_t)n->pool_count * n->pool_frame_bytes;
	}
	for (unsigned i = 0; i < pl->n_links; i++)
		total += vp_ring_capacity(&pl->links[i]->ring) * sizeof(void *);
	return total;
}

void vp_graph_free(struct vp_pipeline *pl)
{
	if (!pl)
		return;
	vp_reload_free(pl);
	vp_graph_free_nodes(pl->nodes, pl->n_nodes, pl->links, pl->n_links);
	if (pl->done_fd >= 0)
		close(pl->done_fd);
	free(pl->links);
	free(pl->nodes);
	free(pl);
}

void vp_graph_free_nodes(struct vpipe_node **nodes, unsigned n_nodes,
			 struct vp_link **links, unsigned n_links)
{
	for (unsigned i = 0; i < n_nodes; i++) {
		vp_log_coalesce_forget(nodes[i]);
		vp_node_destroy(nodes[i]);
	}
	for (unsigned i = 0; i < n_links; i++) {
		/* Frames still queued (an aborted drain) go back first. */
		struct vp_link *l = links[i];
		void *f;
		while ((f = vp_ring_pop_shared(&l->ring)))
			vpipe_frame_unref(f);
	}
	for (unsigned i = 0; i < n_nodes; i++) {
		struct vpipe_node *n = nodes[i];
		if (n->pool.node)
			vp_pool_destroy(&n->pool);
		for (unsigned k = 0; k < n->n_inputs; k++)
			free(n->inputs[k]);
		free(n->inputs);
		for (unsigned p = 0; p < n->n_out; p++)
			free(n->out[p].links);
		free(n->out);
		free(n->in);
		if (n->config)
			vp_params_free(n->mod->params, n->config);
		free(n->config);
		for (unsigned r = 0; r < n->n_retired; r++) {
			vp_params_free(n->mod->params, n->retired_configs[r]);
			free(n->retired_configs[r]);
		}
		free(n->retired_configs);
		void *pending = atomic_load(&n->pending_config);
		if (pending)
			vp_params_free(n->mod->params, pending);
		free(pending);
		if (n->wake_fd >= 0)
			close(n->wake_fd);
		for (unsigned w = 0; w < VP_MAX_WORKERS; w++)
			if (n->worker_wake_fd[w] >= 0)
				close(n->worker_wake_fd[w]);
		free(n->name);
		free(n);
	}
	for (unsigned i = 0; i < n_links; i++) {
		vp_ring_destroy(&links[i]->ring);
		free(links[i]);
	}
}

static const char *policy_name(int p)
{
	return vp_policy_names[p];
}

void vp_graph_print(struct vp_pipeline *pl, FILE *out)
{
	fprintf(out, "nodes (%u), in start order:\n", pl->n_nodes);
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		struct vpipe_node *n = pl->nodes[i];
		fprintf(out, "  [%s] module %s %s, restart %s\n", n->name,
			n->mod->name, n->mod->version ? n->mod->version : "",
			vp_restart_names[n->restart]);
		for (const struct vpipe_param *p = n->mod->params; p && p->name;
		     p++) {
			char v[512];
			vp_param_format_value(p, n->config, v, sizeof(v));
			fprintf(out, "      %s = %s\n", p->name, v);
		}
	}
	fprintf(out, "links (%u):\n", pl->n_links);
	for (unsigned i = 0; i < pl->n_links; i++) {
		struct vp_link *l = pl->links[i];
		char m[128];
		describe_media(l->from->out[l->from_port].media &
				   l->to->mod->inputs[l->to_port].media,
			       m, sizeof(m));
		fprintf(out, "  %s.%s -> %s.%s  %s, ", l->from->name,
			l->from->mod->outputs[l->from_port].name, l->to->name,
			l->to->mod->inputs[l->to_port].name, m);
		if (l->fused)
			fprintf(out, "direct call (same thread)\n");
		else
			fprintf(out, "queue %zu, %s\n", l->capacity,
				policy_name(l->policy));
	}
	vp_fuse_print(pl, out);
	unsigned unknown;
	uint64_t bytes = vp_graph_memory_ceiling(pl, &unknown);
	fprintf(
	    out,
	    "memory: this graph holds at most %.1f MB of frames and buffers",
	    (double)bytes / (1024.0 * 1024.0));
	uint64_t extra = 0;
	for (unsigned i = 0; i < pl->n_nodes; i++)
		extra += pl->nodes[i]->extra_memory;
	if (extra)
		fprintf(out,
			" (%.1f MB of it in module buffers such as "
			"content stores)",
			(double)extra / (1024.0 * 1024.0));
	if (unknown)
		fprintf(out,
			" (plus %u node(s) whose frame size is known only "
			"at run time)",
			unknown);
	fprintf(out, "\n");
}

/* The inside of a DOT quoted string: " and \ escaped, since a node may
 * be named [a"b\]. */
static void dot_escaped(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
}

void vp_graph_dot(struct vp_pipeline *pl, FILE *out)
{
	fprintf(out, "digraph vpipe {\n  rankdir=LR;\n  node [shape=box];\n");
	for (unsigned i = 0; i < pl->n_nodes; i++) {
		fputs("  \"", out);
		dot_escaped(out, pl->nodes[i]->name);
		fputs("\" [label=\"", out);
		dot_escaped(out, pl->nodes[i]->name);
		fputs("\\n(", out); /* DOT's own line break in a label */
		dot_escaped(out, pl->nodes[i]->mod->name);
		fputs(")\"];\n", out);
	}
	for (unsigned i = 0; i < pl->n_links; i++) {
		struct vp_link *l = pl->links[i];
		fputs("  \"", out);
		dot_escaped(out, l->from->name);
		fputs("\" -> \"", out);
		dot_escaped(out, l->to->name);
		if (l->fused)
			fprintf(out, "\" [label=\"same thread\"];\n");
		else
			fprintf(out, "\" [label=\"queue %zu, %s\"];\n",
				l->capacity, policy_name(l->policy));
	}
	fprintf(out, "}\n");
}
