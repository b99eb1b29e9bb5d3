/* `vpipe man vpipe|vpipe.ini [DATE]`: the man pages vpipe(1) and
 * vpipe.ini(5) in roff (man(7) macros), built at build time from the
 * command table and from every loadable module's parameter table, the
 * same tables `vpipe --help` and `vpipe modules NAME` print, so the pages
 * cannot drift from the program. */
#include <stdio.h>
#include <string.h>

#include "bin/commands.h"
#include "kernel/keys.h"
#include "kernel/loader.h"
#include "kernel/params.h"

/* Text for a roff text line: backslashes escaped, a leading '.' or '\''
 * (a request) neutralised, hyphens of options kept as minus signs. */
static void put(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else if (*s == '\n')
			fputs("\n.br\n", out);
		else
			fputc(*s, out);
	}
}

/* A text line, wrapped at spaces so no input line passes 80 bytes (in a
 * roff text block a line break is a space). */
static void line(FILE *out, const char *s)
{
	size_t col = 0;
	while (*s) {
		size_t n = strcspn(s, " ");
		char word[512];
		snprintf(word, sizeof(word), "%.*s", (int)n, s);
		if (col && col + 1 + n > 72) {
			fputc('\n', out);
			col = 0;
		} else if (col) {
			fputc(' ', out);
			col++;
		}
		put(out, word);
		col += n + 2; /* escapes make it a little longer */
		s += n;
		while (*s == ' ')
			s++;
	}
	fputc('\n', out);
}

/* Each parameter of a table (a module's, or the kernel's own keys) as a
 * tagged paragraph: name, type, default, help, allowed range. */
static void param_list(FILE *out, const struct vpipe_param *table)
{
	for (const struct vpipe_param *p = table; p && p->name; p++) {
		char range[512], def[256];
		vp_param_describe_range(p, range, sizeof(range));
		if (!p->def)
			snprintf(def, sizeof(def), "%s",
				 p->flags & VPIPE_PARAM_REQUIRED ? "required"
								 : "none");
		else if (p->type == VPIPE_PARAM_SECRET)
			snprintf(def, sizeof(def), "hidden");
		else
			snprintf(def, sizeof(def), "%s", p->def);
		fputs(".TP\n\\fB", out);
		put(out, p->name);
		fputs("\\fR \\fI", out);
		put(out, vp_param_type_name(p->type));
		fputs("\\fR (default ", out);
		put(out, def);
		fputs(")\n", out);
		if (p->help)
			line(out, p->help);
		if (range[0]) {
			fputs(".br\n", out);
			line(out, range);
		}
	}
}

static void vpipe_1(FILE *out, const char *date)
{
	fprintf(out, ".TH VPIPE 1 %s \"vpipe %s\" \"User Commands\"\n", date,
		VPIPE_VERSION);
	fputs(".SH NAME\nvpipe \\- run media pipeline graphs of plug-in "
	      "modules\n.SH SYNOPSIS\n",
	      out);
	for (size_t i = 0; i < vpipe_n_commands; i++) {
		if (i)
			fputs(".br\n", out);
		fputs(".B vpipe ", out);
		line(out, vpipe_commands[i].cmd);
		if (*vpipe_commands[i].args)
			line(out, vpipe_commands[i].args);
	}
	fputs(".SH DESCRIPTION\n", out);
	line(out,
	     "vpipe loads modules (shared objects), wires them into the "
	     "graph an INI file describes (see vpipe.ini(5)) and moves "
	     "frames between them. A first signal (SIGINT, SIGTERM) drains "
	     "queued frames and stops; a second stops at once.");
	fputs(".SH COMMANDS\n", out);
	for (size_t i = 0; i < vpipe_n_commands; i++) {
		fputs(".TP\n.B ", out);
		line(out, vpipe_commands[i].cmd);
		if (*vpipe_commands[i].args) {
			line(out, vpipe_commands[i].args);
			fputs(".br\n", out);
		}
		line(out, vpipe_commands[i].what);
	}
	fputs(".SH OPTIONS\n.TP\n\\fB\\-\\-set\\fR \\fInode.key=value\\fR\n",
	      out);
	line(out, "add or replace a key of the graph (it can add a node); "
		  "it wins over the file.");
	fputs(".TP\n\\fB\\-\\-duration\\fR \\fItime\\fR\n", out);
	line(out, "stop after this long (10s, 500ms, 2m).");
	fputs(".TP\n\\fB\\-\\-log\\-level\\fR \\fIlevel\\fR\n", out);
	line(out,
	     "error, warn, info or debug; wins over [pipeline] log-level.");
	fputs(".TP\n\\fB\\-\\-help\\fR, \\fB\\-h\\fR\n", out);
	line(out, "print the usage of the command.");
	fputs(".SH ENVIRONMENT\n.TP\n.B VPIPE_MODULE_PATH\n", out);
	line(out, "colon-separated directories searched for modules after "
		  "[pipeline] module-path.");
	fputs(".TP\n.B NOTIFY_SOCKET\n", out);
	line(out, "set by systemd for Type=notify services: vpipe sends "
		  "READY=1, STATUS= lines and STOPPING=1 there.");
	fputs(".TP\n.B WATCHDOG_USEC\n", out);
	line(out, "set by systemd from WatchdogSec: vpipe sends WATCHDOG=1 "
		  "twice per interval while no node is stalled (inside module "
		  "code, outside the kernel's waits, with no frame moved, for "
		  "longer than the interval).");
	fputs(".TP\n.B AWS_ACCESS_KEY_ID\\fR, \\fBAWS_SECRET_ACCESS_KEY\\fR, "
	      "\\fBAWS_SESSION_TOKEN\\fR, \\fBAWS_DEFAULT_REGION\\fR, "
	      "\\fBAWS_REGION\\fR, \\fBAWS_PROFILE\n",
	      out);
	line(out, "credentials and region of the kvs and s3 modules when the "
		  "graph names none: what the graph file (or --set) says wins "
		  "over the environment, and the environment over "
		  "~/.aws/credentials.");
	fputs(".SH FILES\n.TP\n.I ", out);
	line(out, VPIPE_MODULEDIR);
	line(out, "the installed modules (found beside the command when the "
		  "installation was moved).");
	fputs(".TP\n.I /etc/vpipe/NAME.ini\n", out);
	line(out, "the graph the vpipe@NAME systemd service runs; "
		  "/etc/vpipe/NAME.env holds its ${VAR}s.");
	fputs(".SH EXIT STATUS\n", out);
	line(out, "0 after a clean stop or end of stream, 1 if a node failed, "
		  "2 if the graph or the command line is invalid.");
	fputs(".SH EXAMPLES\n.nf\nvpipe check /etc/vpipe/cam1.ini\n"
	      "vpipe run first.ini \\-\\-duration 30s\n"
	      "vpipe graph conf/demo.ini | dot \\-Tsvg > graph.svg\n"
	      "systemctl enable \\-\\-now vpipe@cam1\n.fi\n"
	      ".SH SEE ALSO\n.BR vpipe.ini (5),\n.BR systemd.service (5)\n",
	      out);
}

static void ports(FILE *out, const char *what, const struct vpipe_port *p)
{
	fputs(".br\n", out);
	put(out, what);
	if (!p || !p->name) {
		fputs(": none\n", out);
		return;
	}
	fputs(":", out);
	for (; p->name; p++) {
		fputs(" ", out);
		put(out, p->name);
		fputs(" (", out);
		bool first = true;
		for (uint32_t bit = 1; bit <= VPIPE_MEDIA_EVENT; bit <<= 1)
			if (p->media & bit) {
				fputs(first ? "" : " or ", out);
				put(out, vpipe_media_name(bit));
				first = false;
			}
		fputs(")", out);
	}
	fputs("\n", out);
}

static void module_section(struct vp_module *m, void *arg)
{
	FILE *out = arg;
	const struct vpipe_module *d = m->desc;
	fputs(".SS ", out);
	line(out, d->name);
	line(out, d->summary ? d->summary : "");
	ports(out, "inputs", d->inputs);
	ports(out, "outputs", d->outputs);
	param_list(out, d->params);
}

static void bad_module(const char *name, const char *why, void *arg)
{
	fprintf(stderr, "vpipe man: module %s does not load (%s): left out\n",
		name, why);
	(void)arg;
}

static void vpipe_ini_5(FILE *out, const char *date)
{
	fprintf(out, ".TH VPIPE.INI 5 %s \"vpipe %s\" \"File Formats\"\n", date,
		VPIPE_VERSION);
	fputs(".SH NAME\nvpipe.ini \\- graph files of vpipe\n.SH DESCRIPTION\n",
	      out);
	line(out,
	     "A graph is an INI file: one [section] per node, named by "
	     "you, plus an optional [pipeline] section. Comments start "
	     "with ; or #. An indented line continues the value above it. "
	     "${VAR} in a value expands from the environment, "
	     "${VAR:-default} with a default; an unset variable is an "
	     "error naming the file and line. vpipe check FILE validates a "
	     "graph and prints it.");
	fputs(".SH PIPELINE KEYS\n", out);
	param_list(out, vp_pipeline_key_table);
	fputs(".SH NODE KEYS\n", out);
	line(out, "Every node takes these keys, read by vpipe itself; every "
		  "other key is a parameter of its module.");
	param_list(out, vp_node_key_table);
	fputs(".SH VALUES\n", out);
	line(out,
	     "int: decimal or 0x hex. number: decimal with a fraction. "
	     "bool: true/false, yes/no, on/off, 1/0. duration: a number "
	     "with a unit ns, us, ms, s, m, h or d; a bare number uses the "
	     "unit in the parameter's help. size: bytes, or with k, M, G "
	     "(powers of 1024). enum: one of the listed values. secret: a "
	     "string that is never printed.");
	fputs(".SH MODULES\n", out);
	line(out, "The modules this installation has, each with its "
		  "parameters (as vpipe modules NAME prints them).");
	struct vp_module_path mp;
	vp_module_path_init(&mp, NULL);
	vp_module_foreach(&mp, module_section, bad_module, out);
	vp_module_path_free(&mp);
	fputs(".SH EXAMPLES\n.nf\n[cam]\nmodule = testsrc\nwidth = 1280\n"
	      "height = 720\n\n[enc]\nmodule = x264\ninput = cam\n"
	      "queue\\-policy = drop\\-old\n\n[disk]\nmodule = record\n"
	      "input = enc\nlocation = /var/lib/vpipe/recordings\n.fi\n"
	      ".SH SEE ALSO\n.BR vpipe (1)\n",
	      out);
}

int man_main(int argc, char **argv)
{
	const char *date = argc > 2 ? argv[2] : "2026-01-01";
	if (argc < 2) {
		fprintf(stderr, "usage: vpipe man vpipe|vpipe.ini [DATE]\n");
		return 2;
	}
	if (!strcmp(argv[1], "vpipe"))
		vpipe_1(stdout, date);
	else if (!strcmp(argv[1], "vpipe.ini"))
		vpipe_ini_5(stdout, date);
	else {
		fprintf(stderr, "vpipe man: no page '%s' (vpipe, vpipe.ini)\n",
			argv[1]);
		return 2;
	}
	return fflush(stdout) ? 1 : 0;
}
