/* MemoryMax= of a unit, or the memory limit of our cgroup (memlimit.h). */
#include "memlimit.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int memlimit_parse_size(const char *s, uint64_t ram_bytes, uint64_t *bytes,
			int *infinite)
{
	*infinite = 0;
	while (isspace((unsigned char)*s))
		s++;
	if (!strcmp(s, "infinity")) {
		*infinite = 1;
		return 0;
	}
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || v < 0)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	double mul = 1;
	switch (*end) {
	case 0:
		break;
	case 'K':
		mul = 1024.0;
		break;
	case 'M':
		mul = 1024.0 * 1024;
		break;
	case 'G':
		mul = 1024.0 * 1024 * 1024;
		break;
	case 'T':
		mul = 1024.0 * 1024 * 1024 * 1024;
		break;
	case '%':
		mul = (double)ram_bytes / 100.0;
		break;
	default:
		return -1;
	}
	if (*end && end[1])
		return -1;
	if (!*end && v != (double)(uint64_t)v)
		return -1; /* a byte count is whole */
	*bytes = (uint64_t)(v * mul);
	return 0;
}

/* Apply the MemoryMax= lines of one file to *state (1 set, 0 unset). */
static int read_unit_file(const char *path, uint64_t ram, uint64_t *bytes,
			  int *state, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[1024];
	bool service = false;
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		s[strcspn(s, "\r\n")] = 0;
		if (*s == '[') {
			service = !strncmp(s, "[Service]", 9);
			continue;
		}
		if (!service || strncmp(s, "MemoryMax", 9))
			continue;
		char *eq = s + 9;
		while (isspace((unsigned char)*eq))
			eq++;
		if (*eq != '=')
			continue;
		eq++;
		while (isspace((unsigned char)*eq))
			eq++;
		int inf;
		if (!*eq) { /* "MemoryMax=" resets */
			*state = 0;
		} else if (memlimit_parse_size(eq, ram, bytes, &inf)) {
			snprintf(err, errlen,
				 "%s:%d: MemoryMax=%s is not a size (like "
				 "128M, 1G, 50%% or infinity)",
				 path, lineno, eq);
			rc = -1;
			break;
		} else {
			*state = !inf;
		}
	}
	fclose(f);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int memlimit_unit(const char *unit, uint64_t ram_bytes, uint64_t *bytes,
		  char *err, size_t errlen)
{
	int state = 0;
	if (read_unit_file(unit, ram_bytes, bytes, &state, err, errlen))
		return -1;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s.d", unit);
	DIR *d = opendir(dir);
	if (!d)
		return state;
	char *names[256];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 256) {
		size_t l = strlen(e->d_name);
		if (l > 5 && !strcmp(e->d_name + l - 5, ".conf"))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char path[4096 + 256];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (!rc &&
		    read_unit_file(path, ram_bytes, bytes, &state, err, errlen))
			rc = -1;
		free(names[i]);
	}
	return rc ? -1 : state;
}

/* The number in a cgroup limit file; false for "max", huge or unreadable. */
static bool read_limit(const char *path, uint64_t *bytes)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char buf[64] = "";
	bool ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok || !isdigit((unsigned char)buf[0]))
		return false;
	unsigned long long v = strtoull(buf, NULL, 10);
	if (v >= (1ULL << 62)) /* v1's "unlimited" */
		return false;
	*bytes = v;
	return true;
}

/* The cgroup path for the memory controller: "0::/x" (v2) or
 * "N:...memory...:/x" (v1). *v1 says which. */
static bool cgroup_path(const char *proc_cgroup, char *path, size_t len,
			bool *v1)
{
	FILE *f = fopen(proc_cgroup, "r");
	if (!f)
		return false;
	char line[4096];
	bool found = false;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *c1 = strchr(line, ':'),
		     *c2 = c1 ? strchr(c1 + 1, ':') : 0;
		if (!c2)
			continue;
		*c2 = 0;
		const char *ctl = c1 + 1;
		bool mem = false;
		for (const char *p = ctl; (p = strstr(p, "memory")); p += 6)
			if ((p == ctl || p[-1] == ',') &&
			    (p[6] == 0 || p[6] == ','))
				mem = true;
		if (mem) {
			snprintf(path, len, "%s", c2 + 1);
			*v1 = true;
			found = true;
			break;
		}
		if (!*ctl && c1 == line + 1 && line[0] == '0' && !found) {
			snprintf(path, len, "%s", c2 + 1);
			*v1 = false;
			found = true; /* keep looking for a v1 memory line */
		}
	}
	fclose(f);
	return found;
}

int memlimit_cgroup(const char *proc_cgroup, const char *root, uint64_t *bytes,
		    char *where, size_t wherelen)
{
	char path[4096];
	bool v1 = false;
	if (!cgroup_path(proc_cgroup, path, sizeof(path), &v1))
		return 0;
	char base[4096];
	snprintf(base, sizeof(base), "%s%s", root, v1 ? "/memory" : "");
	const char *file = v1 ? "memory.limit_in_bytes" : "memory.max";
	/* In a cgroup namespace the path may not exist under our mount: then
	 * the mount's root is our cgroup. */
	char dir[8192];
	struct stat st;
	snprintf(dir, sizeof(dir), "%s%s", base, path);
	if (stat(dir, &st) != 0)
		snprintf(path, sizeof(path), "/");
	int found = 0;
	for (;;) {
		char f[8192 + 64];
		snprintf(f, sizeof(f), "%s%s%s%s", base, path,
			 path[strlen(path) - 1] == '/' ? "" : "/", file);
		uint64_t v;
		if (read_limit(f, &v) && (!found || v < *bytes)) {
			*bytes = v;
			snprintf(where, wherelen, "%s", f);
			found = 1;
		}
		char *slash = strrchr(path, '/');
		if (!slash || !strcmp(path, "/"))
			break;
		if (slash == path)
			slash[1] = 0; /* "/x" -> "/" */
		else
			*slash = 0;
	}
	return found;
}
