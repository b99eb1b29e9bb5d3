/* Finding running instances (see instance.h) and `vpipe reload`. */
#include "instance.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char registered[PATH_MAX + 32];

static void runtime_dir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg)
		snprintf(out, len, "%s/vpipe", xdg);
	else
		snprintf(out, len, "/run/vpipe");
}

void instance_register(const char *graph_file)
{
	char dir[PATH_MAX], abs[PATH_MAX];
	runtime_dir(dir, sizeof(dir));
	if (!realpath(graph_file, abs))
		return;
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr,
			"vpipe: note: cannot create %s (%s): "
			"`vpipe reload GRAPH` will not find this "
			"instance; `vpipe reload %d` will\n",
			dir, strerror(errno), (int)getpid());
		return;
	}
	snprintf(registered, sizeof(registered), "%s/%d.pid", dir,
		 (int)getpid());
	FILE *f = fopen(registered, "w");
	if (!f || fprintf(f, "%s\n", abs) < 0 || fclose(f)) {
		registered[0] = 0;
		return;
	}
}

void instance_unregister(void)
{
	if (registered[0])
		unlink(registered);
	registered[0] = 0;
}

struct instance {
	int pid;
	char graph[PATH_MAX];
};

/* The live instances in the runtime directory (stale files are skipped). */
static int list_instances(struct instance *out, int max)
{
	char dir[PATH_MAX];
	runtime_dir(dir, sizeof(dir));
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while (n < max && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (pid <= 0 || strcmp(end, ".pid"))
			continue;
		if (kill((pid_t)pid, 0) && errno == ESRCH)
			continue;
		char path[PATH_MAX + 300];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(out[n].graph, sizeof(out[n].graph), f)) {
			out[n].graph[strcspn(out[n].graph, "\n")] = 0;
			out[n].pid = (int)pid;
			n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

static int send_hup(int pid, const char *graph)
{
	if (kill(pid, SIGHUP)) {
		fprintf(stderr, "error: cannot signal vpipe %d: %s\n", pid,
			strerror(errno));
		return 1;
	}
	printf("sent SIGHUP to vpipe %d%s%s: it re-reads its graph file "
	       "(its log shows what changed)\n",
	       pid, graph ? " running " : "", graph ? graph : "");
	return 0;
}

static bool all_digits(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int reload_main(int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "--help") ||
				       !strcmp(argv[1], "-h")))) {
		printf("usage: vpipe reload [PID|GRAPH.ini]\n"
		       "  send SIGHUP to a running `vpipe run`: it re-reads "
		       "its graph file and restarts\n"
		       "  only the chains that changed. Without an argument: "
		       "the one instance running.\n");
		return argc > 2 ? 2 : 0;
	}
	if (argc == 2 && *argv[1] && all_digits(argv[1]))
		return send_hup(atoi(argv[1]), NULL);
	struct instance inst[64];
	int n = list_instances(inst, 64);
	char want[PATH_MAX] = "";
	if (argc == 2 && !realpath(argv[1], want)) {
		fprintf(stderr, "error: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	int found = 0, rc = 0;
	for (int i = 0; i < n; i++)
		if (!want[0] || !strcmp(want, inst[i].graph))
			found++;
	if (found == 0 || (!want[0] && found > 1)) {
		char dir[PATH_MAX];
		runtime_dir(dir, sizeof(dir));
		fprintf(stderr, "error: %s in %s; running:%s\n",
			found ? "more than one vpipe runs: name its PID or "
				"graph file"
			      : "no running vpipe found",
			dir, n ? "" : " none");
		for (int i = 0; i < n; i++)
			fprintf(stderr, "  %d %s\n", inst[i].pid,
				inst[i].graph);
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (!want[0] || !strcmp(want, inst[i].graph))
			rc |= send_hup(inst[i].pid, inst[i].graph);
	return rc;
}
