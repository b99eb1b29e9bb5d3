/* Parameter values: parsing INI strings against a module's declarative
 * parameter table, and printing tables and values. */
#ifndef VPIPE_KERNEL_PARAMS_H
#define VPIPE_KERNEL_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <vpipe/module.h>

/* Parse `text` as the value of `p` and store it in `config` (which may be
 * NULL to only validate). On error returns -1 and writes a message that
 * says what would be valid into err. Strings are duplicated (free with
 * vp_params_free). */
int vp_param_parse(const struct vpipe_param *p, const char *text, void *config,
		   char *err, size_t errlen);

/* Value parsers, also used for kernel-owned keys. 0 or -1.
 * A duration or a size must carry its unit ("2s", "500ms"; "512B", "64k"):
 * a bare number other than 0 returns VP_PARSE_NO_UNIT. */
#define VP_PARSE_NO_UNIT (-2)
int vp_parse_duration(const char *s, int64_t *ns);
int vp_parse_size(const char *s, int64_t *bytes);
/* The message for a value those refuse, with a hint when the unit is
 * missing ("write 2s or 2ms"). */
void vp_duration_error(const char *key, const char *text, char *err,
		       size_t errlen);
void vp_size_error(const char *key, const char *text, char *err, size_t errlen);
int vp_parse_bool(const char *s, bool *v);
int vp_parse_int(const char *s, int64_t *v);
int vp_parse_double(const char *s, double *v);

/* Apply every default of the table to config. -1 if a default is invalid
 * (a module bug), with the message in err. */
int vp_params_defaults(const struct vpipe_param *table, void *config, char *err,
		       size_t errlen);
void vp_params_free(const struct vpipe_param *table, void *config);
/* A table as the loader accepts it: names lower-case-with-dashes and
 * unique, every default valid for its type and range. 0, or -1 with the
 * first problem in err. */
int vp_params_check_table(const struct vpipe_param *table, char *err,
			  size_t errlen);

const struct vpipe_param *vp_param_find(const struct vpipe_param *table,
					const char *name);
const char *vp_param_type_name(uint32_t type);
/* Allowed values / range as text, e.g. "one of: cbr, vbr" or "1 to 100". */
void vp_param_describe_range(const struct vpipe_param *p, char *buf,
			     size_t len);
/* A config value as text (masked for secrets). */
void vp_param_format_value(const struct vpipe_param *p, const void *config,
			   char *buf, size_t len);
/* A table as `vpipe modules` shows it: name, type, default, range, help. */
void vp_params_print(const struct vpipe_param *table, FILE *out);
void vp_format_duration(int64_t ns, char *buf, size_t len);
void vp_format_size(int64_t bytes, char *buf, size_t len);
#endif
