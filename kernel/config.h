/* The INI graph file as read: sections with keys and their line numbers.
 * Values are raw here; ${VAR} expansion happens when a value is used, so an
 * unset variable is reported with the key's file:line. */
#ifndef VPIPE_KERNEL_CONFIG_H
#define VPIPE_KERNEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct vp_kv {
	char *key, *value;
	int line; /* 0: from --set */
	bool used;
};

struct vp_section {
	char *name;
	int line;
	struct vp_kv *kv;
	size_t n_kv;
};

struct vp_config {
	char *file;
	struct vp_section *sections;
	size_t n_sections;
	int n_errors;
	/* `vpipe graph`: a module parameter whose value names an unset
	 * variable keeps its default instead of being an error. */
	bool env_optional;
};

/* Read a file. Syntax errors, duplicate sections and duplicate keys are
 * reported (file:line) and counted in cfg->n_errors. NULL if unreadable. */
struct vp_config *vp_config_load(const char *path);
/* Read an open stream (bytes as in a file, NULs included: the fuzz target);
 * `name` appears in errors. */
struct vp_config *vp_config_load_stream(const char *name, FILE *fp);
/* Read from a string (for embedded graphs); `name` appears in errors. */
struct vp_config *vp_config_load_string(const char *name, const char *text);
void vp_config_free(struct vp_config *cfg);

/* Apply "node.key=value" (from --set). -1 with a message on bad syntax. */
int vp_config_set(struct vp_config *cfg, const char *assignment);

struct vp_section *vp_config_section(struct vp_config *cfg, const char *name);
struct vp_kv *vp_section_get(struct vp_section *s, const char *key);

/* Expand ${VAR} and ${VAR:-default} from the environment into a new
 * string. NULL on an unset variable or bad syntax, with the message in err. */
char *vp_expand_env(const char *value, char *err, size_t errlen);

/* "file:line" or "file (--set)" for messages. */
void vp_config_where(const struct vp_config *cfg, int line, char *buf,
		     size_t len);
#endif
