/* Finding and loading module shared objects. */
#ifndef VPIPE_KERNEL_LOADER_H
#define VPIPE_KERNEL_LOADER_H

#include <stddef.h>

#include <vpipe/module.h>

struct vp_module {
	char *name;
	char *path;
	void *handle;
	const struct vpipe_module *desc;
};

/* The search path: `configured` (from [pipeline] module-path, may be NULL,
 * colon-separated), then $VPIPE_MODULE_PATH, then the install default. */
struct vp_module_path {
	char **dirs;
	unsigned n;
};
void vp_module_path_init(struct vp_module_path *mp, const char *configured);
void vp_module_path_free(struct vp_module_path *mp);
/* The install default directory as this program finds it (beside its own
 * PREFIX/bin when that exists, else the configured MODULEDIR), into buf. */
const char *vp_module_default_dir(char *buf, size_t len);

/* Load module `name`. On failure returns NULL and writes a message (unknown
 * module with the list of available ones, bad name, ABI mismatch, missing
 * symbol) into err. Loaded modules are cached and never unloaded while the
 * process runs (frames may hold pointers into them). */
struct vp_module *vp_module_load(const struct vp_module_path *mp,
				 const char *name, char *err, size_t errlen);

/* Make a descriptor linked into the program (the harness's own nodes, a
 * module a test links in) loadable under its name, checked as a loaded
 * one is. The same descriptor again returns the same entry; another
 * descriptor under a name already loaded is refused. NULL with err. */
struct vp_module *vp_module_register(const struct vpipe_module *desc, char *err,
				     size_t errlen);

/* Call fn for every loadable module on the path (sorted by name, first on
 * the path wins). Modules that fail to load are reported through bad(). */
void vp_module_foreach(
    const struct vp_module_path *mp, void (*fn)(struct vp_module *m, void *arg),
    void (*bad)(const char *name, const char *why, void *arg), void *arg);
#endif
