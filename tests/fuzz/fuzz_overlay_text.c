/* The overlay's text pattern (an INI value): checking never crashes, and
 * a pattern that passes the check expands within OV_TEXT_MAX, with
 * substitutions that may themselves hold '%' and '{'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modules/overlay/ov_text.h"

static const char *tag(void *ctx, const char *name)
{
	(void)ctx;
	return name[0] == 'x' ? "%{node}%" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	p[size] = '\0';
	char err[256];
	if (ov_pattern_check(p, err, sizeof(err)) == 0) {
		struct tm tm = {.tm_year = 126, .tm_mon = 11, .tm_mday = 7};
		struct ov_vars v = {.node = "cam", .label = p, .tag = tag};
		char out[OV_TEXT_MAX];
		size_t n = ov_pattern_expand(p, &v, &tm, out, sizeof(out));
		if (n >= OV_TEXT_MAX || strlen(out) != n)
			abort();
	} else if (!strstr(err, "byte ")) {
		abort(); /* every refusal names the byte offset */
	}
	free(p);
	return 0;
}
