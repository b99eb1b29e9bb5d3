/* libFuzzer target for the graph file reader (kernel/config.c over
 * libinih): any bytes, text or not, must be read without a crash, and what
 * it keeps must be clean: no section name, key or value holds a control
 * byte (a NUL would cut a value short, "width = 32\0 0" read as 32), and
 * input with such a byte is reported as an error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/config.h"
#include "kernel/internal.h"

static void check_clean(const char *s)
{
	for (; *s; s++)
		if (vp_is_control((unsigned char)*s))
			abort(); /* a control byte got through */
}

static bool has_control(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		bool crlf =
		    data[i] == '\r' && (i + 1 == size || data[i + 1] == '\n');
		if (vp_is_control(data[i]) && data[i] != '\n' && !crlf)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0; /* fmemopen refuses an empty buffer */
	FILE *fp = fmemopen((void *)data, size, "r");
	if (!fp)
		return 0;
	struct vp_config *cfg = vp_config_load_stream("fuzz.ini", fp);
	fclose(fp);
	for (size_t i = 0; i < cfg->n_sections; i++) {
		struct vp_section *s = &cfg->sections[i];
		check_clean(s->name);
		for (size_t k = 0; k < s->n_kv; k++) {
			check_clean(s->kv[k].key);
			check_clean(s->kv[k].value);
		}
	}
	if (has_control(data, size) && cfg->n_errors == 0)
		abort(); /* a control byte was dropped without a word */
	vp_config_free(cfg);
	return 0;
}
