/* Small helpers the kernel uses everywhere. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *vp_strdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d) {
		fputs("vpipe: out of memory\n", stderr);
		abort();
	}
	return d;
}

void *vp_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		fputs("vpipe: out of memory\n", stderr);
		abort();
	}
	return p;
}

/* Levenshtein distance, for "did you mean" suggestions. */
unsigned vp_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 1000;
	unsigned row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned prev = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cur = row[j];
			unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
			unsigned best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* A control byte (other than tab) or DEL: never written raw to a terminal,
 * and refused in graph files. */
bool vp_is_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Copy s for an error or log line: control bytes become \xNN (line breaks
 * a space, so one message stays one line); truncated to fit. */
void vp_escape_controls(const char *s, char *out, size_t len)
{
	size_t o = 0;
	if (!len)
		return;
	for (; *s && o + 1 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n' || c == '\r') {
			out[o++] = ' ';
		} else if (!vp_is_control(c)) {
			out[o++] = (char)c;
		} else if (o + 4 < len) {
			snprintf(out + o, len - o, "\\x%02x", c);
			o += 4;
		} else {
			break;
		}
	}
	out[o] = 0;
}
