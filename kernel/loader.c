/* Module loading: only files named NAME.so in the search path directories
 * load, a name with a path separator or ".." is refused, and a module built
 * for another ABI is refused with both versions named. */
#include "loader.h"
#include "params.h"
#include "internal.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef VPIPE_MODULEDIR
#define VPIPE_MODULEDIR "/usr/local/lib/vpipe/modules"
#endif
#ifndef VPIPE_PREFIX
#define VPIPE_PREFIX "/usr/local"
#endif

static struct vp_module **cache;
static unsigned n_cache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void add_dirs(struct vp_module_path *mp, const char *list)
{
	if (!list)
		return;
	char *copy = vp_strdup(list), *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		if (!*d)
			continue;
		mp->dirs = realloc(mp->dirs, (mp->n + 1) * sizeof(char *));
		if (!mp->dirs)
			abort();
		mp->dirs[mp->n++] = vp_strdup(d);
	}
	free(copy);
}

/* The install default, found from where the running program is, so an
 * installation moved to another prefix (or staged with DESTDIR and copied)
 * still finds its modules: PREFIX/bin/vpipe -> PREFIX/lib/vpipe/modules. */
const char *vp_module_default_dir(char *buf, size_t len)
{
	const char *rel = VPIPE_MODULEDIR;
	size_t pl = strlen(VPIPE_PREFIX);
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0 && !strncmp(rel, VPIPE_PREFIX, pl) && rel[pl] == '/') {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0; /* PREFIX/bin */
			char dir[4096 + 64];
			snprintf(dir, sizeof(dir), "%s/..%s", exe, rel + pl);
			char real[4096];
			struct stat st;
			if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
				snprintf(buf, len, "%s",
					 realpath(dir, real) ? real : dir);
				return buf;
			}
		}
	}
	snprintf(buf, len, "%s", VPIPE_MODULEDIR);
	return buf;
}

static void add_install_dir(struct vp_module_path *mp)
{
	char dir[4096];
	add_dirs(mp, vp_module_default_dir(dir, sizeof(dir)));
}

void vp_module_path_init(struct vp_module_path *mp, const char *configured)
{
	mp->dirs = NULL;
	mp->n = 0;
	add_dirs(mp, configured);
	add_dirs(mp, getenv("VPIPE_MODULE_PATH"));
	add_install_dir(mp);
}

void vp_module_path_free(struct vp_module_path *mp)
{
	for (unsigned i = 0; i < mp->n; i++)
		free(mp->dirs[i]);
	free(mp->dirs);
	mp->dirs = NULL;
	mp->n = 0;
}

static bool valid_name(const char *name)
{
	if (!*name || strstr(name, "..") || strchr(name, '/'))
		return false;
	for (const char *p = name; *p; p++)
		if (!(*p == '-' || *p == '_' || (*p >= '0' && *p <= '9') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return false;
	return true;
}

static char *find_file(const struct vp_module_path *mp, const char *name)
{
	for (unsigned i = 0; i < mp->n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.so", mp->dirs[i], name);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return vp_strdup(path);
	}
	return NULL;
}

/* The ABI and the descriptor's shape; 0, or -1 with the reason in err. */
static int check_descriptor(const struct vpipe_module *d, const char *name,
			    const char *path, char *err, size_t errlen)
{
	if (d->abi_version != VPIPE_ABI_VERSION) {
		snprintf(
		    err, errlen,
		    "module '%s' (%s) was built for vpipe ABI version %u, "
		    "but this vpipe has ABI version %u: rebuild the module "
		    "against this vpipe's headers",
		    name, path, d->abi_version, VPIPE_ABI_VERSION);
		return -1;
	}
	if (d->struct_size < offsetof(struct vpipe_module, reserved) ||
	    !d->name || strcmp(d->name, name) || (!d->produce && !d->process)) {
		snprintf(err, errlen,
			 "module '%s' (%s) has an invalid descriptor (name "
			 "'%s', needs produce or process)",
			 name, path, d->name ? d->name : "(none)");
		return -1;
	}
	return 0;
}

static struct vp_module *open_module(const char *name, const char *path,
				     char *err, size_t errlen)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "module '%s' (%s) does not load: %s",
			 name, path, dlerror());
		return NULL;
	}
	const struct vpipe_module *d = dlsym(h, VPIPE_MODULE_SYMBOL);
	if (!d) {
		snprintf(err, errlen,
			 "%s is not a vpipe module: no '%s' symbol (define it "
			 "with VPIPE_MODULE)",
			 path, VPIPE_MODULE_SYMBOL);
		dlclose(h);
		return NULL;
	}
	if (check_descriptor(d, name, path, err, errlen)) {
		dlclose(h);
		return NULL;
	}
	char why[1024];
	if (vp_params_check_table(d->params, why, sizeof(why))) {
		snprintf(err, errlen,
			 "module '%s' (%s) has a broken parameter table: %s",
			 name, path, why);
		dlclose(h);
		return NULL;
	}
	struct vp_module *m = vp_xcalloc(1, sizeof(*m));
	m->name = vp_strdup(name);
	m->path = vp_strdup(path);
	m->handle = h;
	m->desc = d;
	return m;
}

/* With cache_lock held. */
static struct vp_module *cache_find(const char *name)
{
	for (unsigned i = 0; i < n_cache; i++)
		if (!strcmp(cache[i]->name, name))
			return cache[i];
	return NULL;
}

static void cache_add(struct vp_module *m)
{
	cache = realloc(cache, (n_cache + 1) * sizeof(*cache));
	if (!cache)
		abort();
	cache[n_cache++] = m;
}

struct list_ctx {
	char *buf;
	size_t len, used;
	const char *names[256]; /* for a suggestion */
	size_t n;
};

static void list_names(struct vp_module *m, void *arg)
{
	struct list_ctx *c = arg;
	if (c->used < c->len)
		c->used +=
		    (size_t)snprintf(c->buf + c->used, c->len - c->used, "%s%s",
				     c->used ? ", " : "", m->name);
	if (c->n < 255)
		c->names[c->n++] = m->name;
}

struct vp_module *vp_module_load(const struct vp_module_path *mp,
				 const char *name, char *err, size_t errlen)
{
	if (!valid_name(name)) {
		snprintf(err, errlen,
			 "invalid module name '%s': a module is named, not a "
			 "path (letters, digits, '-' and '_' only)",
			 name);
		return NULL;
	}
	pthread_mutex_lock(&cache_lock);
	struct vp_module *cached = cache_find(name);
	pthread_mutex_unlock(&cache_lock);
	if (cached)
		return cached;
	char *path = find_file(mp, name);
	if (!path) {
		char names[2048] = "";
		struct list_ctx c = {.buf = names, .len = sizeof(names)};
		vp_module_foreach(mp, list_names, NULL, &c);
		c.names[c.n] = NULL;
		const char *near = vp_nearest(name, c.names, c.n);
		char dirs[1024] = "";
		size_t off = 0;
		for (unsigned i = 0; i < mp->n && off < sizeof(dirs); i++)
			off +=
			    (size_t)snprintf(dirs + off, sizeof(dirs) - off,
					     "%s%s", i ? ":" : "", mp->dirs[i]);
		snprintf(err, errlen,
			 "unknown module '%s'%s%s%s (available: %s; searched "
			 "%s)",
			 name, near ? "; did you mean '" : "", near ? near : "",
			 near ? "'?" : "", *names ? names : "none", dirs);
		return NULL;
	}
	struct vp_module *m = open_module(name, path, err, errlen);
	free(path);
	if (!m)
		return NULL;
	pthread_mutex_lock(&cache_lock);
	cache_add(m);
	pthread_mutex_unlock(&cache_lock);
	return m;
}

struct vp_module *vp_module_register(const struct vpipe_module *desc, char *err,
				     size_t errlen)
{
	const char *name = desc && desc->name ? desc->name : "";
	if (!valid_name(name)) {
		snprintf(err, errlen,
			 "invalid module name '%s' in a descriptor", name);
		return NULL;
	}
	if (check_descriptor(desc, name, "(linked in)", err, errlen))
		return NULL;
	pthread_mutex_lock(&cache_lock);
	struct vp_module *m = cache_find(name);
	if (m && m->desc != desc) {
		snprintf(err, errlen,
			 "a different module named '%s' is already loaded (%s)",
			 name, m->path);
		m = NULL;
	} else if (!m) {
		m = vp_xcalloc(1, sizeof(*m));
		m->name = vp_strdup(name);
		m->path = vp_strdup("(linked in)");
		m->desc = desc;
		cache_add(m);
	}
	pthread_mutex_unlock(&cache_lock);
	return m;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void vp_module_foreach(
    const struct vp_module_path *mp, void (*fn)(struct vp_module *m, void *arg),
    void (*bad)(const char *name, const char *why, void *arg), void *arg)
{
	char **names = NULL;
	unsigned n = 0;
	for (unsigned i = 0; i < mp->n; i++) {
		DIR *d = opendir(mp->dirs[i]);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			size_t l = strlen(e->d_name);
			if (l < 4 || strcmp(e->d_name + l - 3, ".so"))
				continue;
			char *nm = strndup(e->d_name, l - 3);
			bool dup = false;
			for (unsigned k = 0; k < n; k++)
				dup = dup || !strcmp(names[k], nm);
			if (dup || !valid_name(nm)) {
				free(nm);
				continue;
			}
			names = realloc(names, (n + 1) * sizeof(char *));
			if (!names)
				abort();
			names[n++] = nm;
		}
		closedir(d);
	}
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	for (unsigned i = 0; i < n; i++) {
		char err[1024];
		struct vp_module *m =
		    vp_module_load(mp, names[i], err, sizeof(err));
		if (m)
			fn(m, arg);
		else if (bad)
			bad(names[i], err, arg);
		free(names[i]);
	}
	free(names);
}
