/* The vpipe command: run, check, graph, modules, probe (bin/probe/), and
 * kvs-local, which runs the separate program vpipe-kvs-local. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec_beside.h"
#include "bin/commands.h"
#include "common/memlimit.h"
#include "instance.h"
#include "kernel/config.h"
#include "kernel/graph.h"
#include "kernel/keys.h"
#include "kernel/loader.h"
#include "kernel/params.h"

/* Larger subcommands, linked in when their directory is in the tree. */
int probe_main(int argc, char **argv) __attribute__((weak));

/* One usage line (and what it does) per subcommand: `vpipe CMD --help`
 * prints its own, `vpipe --help` all of them, and vpipe(1) lists them. */
const struct vpipe_command vpipe_commands[] = {
    {"run",
     "GRAPH.ini [--set node.key=value]... [--duration 10s] "
     "[--log-level debug]",
     "run a graph until end of stream, a signal or the duration"},
    {"check", "GRAPH.ini [--set node.key=value]... [--unit FILE.service]",
     "validate, print nodes, links and memory ceiling; warn when the "
     "ceiling exceeds the unit's MemoryMax or this cgroup's limit"},
    {"graph", "GRAPH.ini [--set node.key=value]...",
     "print the graph as Graphviz DOT (no secrets needed)"},
    {"reload", "[PID|GRAPH.ini]",
     "make a running vpipe re-read its graph file (sends SIGHUP)"},
    {"modules", "[NAME]...",
     "list modules, or print the parameters of each NAME"},
    {"kvs-local", "[...]",
     "a Kinesis Video Streams compatible endpoint (--help for options)"},
    {"probe", "[DEVICE]... | --libcamera",
     "list what a V4L2 device offers, or libcamera's cameras, modes and "
     "controls"},
    {"version", "", "print the version and module ABI"},
};
const size_t vpipe_n_commands =
    sizeof(vpipe_commands) / sizeof(vpipe_commands[0]);

static void command_usage(FILE *out, const char *cmd)
{
	for (size_t i = 0; i < vpipe_n_commands; i++)
		if (!strcmp(vpipe_commands[i].cmd, cmd))
			fprintf(out, "usage: vpipe %s %s\n  %s\n", cmd,
				vpipe_commands[i].args, vpipe_commands[i].what);
}

static bool is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

static void usage(FILE *out)
{
	fprintf(out, "usage: vpipe COMMAND [ARGS]   (vpipe COMMAND --help)\n");
	for (size_t i = 0; i < vpipe_n_commands; i++)
		fprintf(out, "  %s %s\n      %s\n", vpipe_commands[i].cmd,
			vpipe_commands[i].args, vpipe_commands[i].what);
	char dir[4096];
	fprintf(out,
		"Modules are found in [pipeline] module-path, "
		"$VPIPE_MODULE_PATH, then %s.\n",
		vp_module_default_dir(dir, sizeof(dir)));
}

struct run_opts {
	const char *file;
	const char *sets[64];
	unsigned n_sets;
	int64_t duration;
	int log_level;
	const char *unit; /* check: a systemd unit whose MemoryMax to test */
};

static int parse_run_opts(int argc, char **argv, struct run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->log_level = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if ((!strcmp(a, "--set") || !strcmp(a, "--duration") ||
		     !strcmp(a, "--log-level") || !strcmp(a, "--unit")) &&
		    i + 1 < argc)
			val = argv[++i];
		else if (!strncmp(a, "--set=", 6) ||
			 !strncmp(a, "--duration=", 11) ||
			 !strncmp(a, "--log-level=", 12) ||
			 !strncmp(a, "--unit=", 7))
			val = strchr(a, '=') + 1;
		if (!strncmp(a, "--set", 5) && val) {
			if (o->n_sets == 64) {
				fprintf(stderr,
					"error: too many --set options\n");
				return -1;
			}
			o->sets[o->n_sets++] = val;
		} else if (!strncmp(a, "--duration", 10) && val) {
			if (vp_parse_duration(val, &o->duration)) {
				char msg[512];
				vp_duration_error("--duration", val, msg,
						  sizeof(msg));
				fprintf(stderr, "error: %s\n", msg);
				return -1;
			}
		} else if (!strncmp(a, "--log-level", 11) && val) {
			if ((o->log_level = vp_log_parse_level(val)) < 0) {
				fprintf(
				    stderr,
				    "error: --log-level '%s': one of error, "
				    "warn, info, debug\n",
				    val);
				return -1;
			}
		} else if (!strncmp(a, "--unit", 6) && val &&
			   !strcmp(argv[0], "check")) {
			o->unit = val;
		} else if (is_help(a)) {
			command_usage(stdout, argv[0]);
			return 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "error: unknown option '%s'\n", a);
			command_usage(stderr, argv[0]);
			return -1;
		} else if (!o->file) {
			o->file = a;
		} else {
			fprintf(stderr, "error: unexpected argument '%s'\n", a);
			return -1;
		}
	}
	if (!o->file) {
		fprintf(stderr, "error: %s needs a GRAPH.ini file\n", argv[0]);
		return -1;
	}
	return 0;
}

static struct vp_config *load_config(struct run_opts *o)
{
	struct vp_config *cfg = vp_config_load(o->file);
	if (!cfg)
		return NULL;
	for (unsigned i = 0; i < o->n_sets; i++)
		if (vp_config_set(cfg, o->sets[i])) {
			vp_config_free(cfg);
			return NULL;
		}
	return cfg;
}

/* SIGHUP: the same file with the same --set options, read again. */
static struct vp_config *reload_config(void *ctx)
{
	return load_config(ctx);
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	int prc = parse_run_opts(argc, argv, &o);
	if (prc)
		return prc > 0 ? 0 : 2;
	if (o.log_level > 0)
		vp_log_set_level(o.log_level);
	struct vp_config *cfg = load_config(&o);
	if (!cfg)
		return 2;
	struct vp_pipeline *pl = vp_graph_build(cfg, true);
	if (!pl) {
		vp_config_free(cfg);
		return 2;
	}
	if (o.log_level > 0) /* the command line wins over [pipeline] */
		vp_log_set_level(o.log_level);
	vp_pipeline_enable_reload(pl, reload_config, &o);
	instance_register(o.file);
	int rc = vp_pipeline_run(pl, o.duration);
	instance_unregister();
	if (pl->abandoned) {
		/* A node's thread is still in module code that did not stop:
		 * freeing the graph under it would crash, so end here. */
		fflush(stdout);
		_exit(rc ? rc : 1);
	}
	vp_graph_free(pl);
	vp_config_free(cfg);
	return rc;
}

/* A warning when the graph's planned ceiling does not fit `limit`. */
static void compare_limit(uint64_t ceiling, uint64_t limit, const char *what)
{
	const double mb = 1024.0 * 1024.0;
	const uint64_t headroom = 16 << 20; /* code, libraries, heap */
	if (ceiling > limit)
		fprintf(stderr,
			"warning: the planned memory ceiling (%.1f MB) exceeds "
			"%s (%.1f MB): when an outage fills the buffers the "
			"service is killed; lower storage-size (or queues), or "
			"raise the limit (docs/raspberry-pi.md)\n",
			(double)ceiling / mb, what, (double)limit / mb);
	else if (limit - ceiling < headroom)
		fprintf(stderr,
			"warning: the planned memory ceiling (%.1f MB) leaves "
			"%.1f MB of %s (%.1f MB) for code, libraries and heap, "
			"which take about 16 MB\n",
			(double)ceiling / mb, (double)(limit - ceiling) / mb,
			what, (double)limit / mb);
}

/* vpipe check: the ceiling against the unit's MemoryMax (--unit) and the
 * limit of the cgroup we run in (the unit's own when ExecStartPre runs
 * us). -1 if the unit file cannot be read. */
static int check_memory_limits(struct vp_pipeline *pl, const char *unit)
{
	unsigned unknown;
	uint64_t ceiling = vp_graph_memory_ceiling(pl, &unknown);
	uint64_t ram =
	    (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t limit;
	char what[4200], err[4200];
	if (unit) {
		int r = memlimit_unit(unit, ram, &limit, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "error: --unit: %s\n", err);
			return -1;
		}
		if (r == 0)
			printf("memory: %s sets no MemoryMax\n", unit);
		else {
			printf("memory: MemoryMax of %s is %.1f MB\n", unit,
			       (double)limit / (1024.0 * 1024.0));
			snprintf(what, sizeof(what), "MemoryMax of %s", unit);
			compare_limit(ceiling, limit, what);
		}
	}
	char where[4096];
	if (memlimit_cgroup("/proc/self/cgroup", "/sys/fs/cgroup", &limit,
			    where, sizeof(where)) > 0) {
		snprintf(what, sizeof(what), "the limit of this cgroup (%s)",
			 where);
		compare_limit(ceiling, limit, what);
	}
	return 0;
}

static int cmd_check(int argc, char **argv, bool dot)
{
	struct run_opts o;
	int prc = parse_run_opts(argc, argv, &o);
	if (prc)
		return prc > 0 ? 0 : 2;
	struct vp_config *cfg = load_config(&o);
	if (!cfg)
		return 2;
	/* A picture of the graph needs no secrets: values that name unset
	 * variables keep their defaults, and modules are not created (no
	 * credential lookups). */
	cfg->env_optional = dot;
	struct vp_pipeline *pl = vp_graph_build(cfg, !dot);
	if (!pl) {
		vp_config_free(cfg);
		return 1;
	}
	if (dot) {
		vp_graph_dot(pl, stdout);
	} else {
		printf("%s: ok\n", o.file);
		vp_graph_print(pl, stdout);
		if (check_memory_limits(pl, o.unit)) {
			vp_graph_free(pl);
			vp_config_free(cfg);
			return 2;
		}
	}
	vp_graph_free(pl);
	vp_config_free(cfg);
	return 0;
}

static void list_one(struct vp_module *m, void *arg)
{
	(void)arg;
	printf("  %-12s %-8s %s\n", m->name,
	       m->desc->version ? m->desc->version : "",
	       m->desc->summary ? m->desc->summary : "");
}

static void list_bad(const char *name, const char *why, void *arg)
{
	(void)arg;
	printf("  %-12s (does not load: %s)\n", name, why);
}

/* One line a port: the media it takes or gives and, for an input, whether
 * in-band events (DISCONTINUITY, custom) reach process(): they do when the
 * mask has VPIPE_MEDIA_EVENT, which VPIPE_MEDIA_ANY includes. EOS never
 * does, and the kernel forwards every event downstream either way. */
static void print_ports(const char *what, const struct vpipe_port *p,
			bool input)
{
	if (!p || !p->name) {
		printf("%s: none\n", what);
		return;
	}
	printf("%s:\n", what);
	for (; p->name; p++) {
		printf("  %-10s ", p->name);
		uint32_t data = p->media & ~(uint32_t)VPIPE_MEDIA_EVENT;
		bool first = true;
		if (data == (VPIPE_MEDIA_ANY & ~(uint32_t)VPIPE_MEDIA_EVENT))
			printf("any media");
		else
			for (uint32_t bit = 1; bit < VPIPE_MEDIA_EVENT;
			     bit <<= 1)
				if (data & bit) {
					printf("%s%s", first ? "" : " | ",
					       vpipe_media_name(bit));
					first = false;
				}
		if (input)
			printf("; events %s process()",
			       p->media & VPIPE_MEDIA_EVENT ? "also go to"
							    : "do not go to");
		printf("%s\n",
		       p->flags & VPIPE_PORT_MULTI ? "; several links" : "");
	}
}

static void print_module(const struct vp_module *m)
{
	const struct vpipe_module *d = m->desc;
	printf("%s %s: %s\n", d->name, d->version ? d->version : "",
	       d->summary ? d->summary : "");
	printf("file: %s (ABI %u)\n", m->path, d->abi_version);
	print_ports("inputs", d->inputs, true);
	print_ports("outputs", d->outputs, false);
	printf("parameters:\n");
	vp_params_print(d->params, stdout);
	printf("and the common node keys:");
	for (const struct vpipe_param *p = vp_node_key_table; p->name; p++)
		printf("%s %s", p == vp_node_key_table ? "" : ",", p->name);
	printf(" (`vpipe modules` describes them)\n");
}

/* The keys vpipe itself reads, described like a module's parameters. */
static void print_kernel_keys(void)
{
	printf("\ncommon node keys (every node section):\n");
	vp_params_print(vp_node_key_table, stdout);
	printf("\n[pipeline] keys:\n");
	vp_params_print(vp_pipeline_key_table, stdout);
}

static int cmd_modules(int argc, char **argv)
{
	struct vp_module_path mp;
	vp_module_path_init(&mp, NULL);
	int rc = 0;
	for (int i = 1; i < argc; i++)
		if (is_help(argv[i]) || argv[i][0] == '-') {
			vp_module_path_free(&mp);
			if (is_help(argv[i])) {
				command_usage(stdout, argv[0]);
				return 0;
			}
			fprintf(stderr, "error: unknown option '%s'\n",
				argv[i]);
			command_usage(stderr, argv[0]);
			return 2;
		}
	if (argc < 2) {
		printf("modules:\n");
		vp_module_foreach(&mp, list_one, list_bad, NULL);
		print_kernel_keys();
	} else {
		for (int i = 1; i < argc; i++) {
			char err[4096];
			struct vp_module *m =
			    vp_module_load(&mp, argv[i], err, sizeof(err));
			if (!m) {
				fprintf(stderr, "error: %s\n", err);
				rc = 1;
				continue;
			}
			print_module(m);
		}
	}
	vp_module_path_free(&mp);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 1, argv + 1, false);
	if (!strcmp(cmd, "graph"))
		return cmd_check(argc - 1, argv + 1, true);
	if (!strcmp(cmd, "modules"))
		return cmd_modules(argc - 1, argv + 1);
	if (!strcmp(cmd, "reload"))
		return reload_main(argc - 1, argv + 1);
	if ((!strcmp(cmd, "version") || !strcmp(cmd, "--version")) &&
	    argc > 2 && is_help(argv[2])) {
		command_usage(stdout, "version");
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("vpipe %s (module ABI %d)\n", VPIPE_VERSION,
		       VPIPE_ABI_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "man")) /* for the build: not in the usage */
		return man_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "kvs-local"))
		return exec_beside("vpipe-kvs-local", argv + 1);
	if (!strcmp(cmd, "probe")) {
		int (*fn)(int, char **) = probe_main;
		if (!fn) {
			fprintf(stderr,
				"error: this vpipe was built without "
				"'%s'\n",
				cmd);
			return 2;
		}
		return fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "error: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
