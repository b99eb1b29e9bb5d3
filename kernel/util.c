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

/* The closest candidate within a small edit distance, else one that
 * contains the word as a dash-separated part ("region" -> "aws-region"),
 * or NULL. */
const char *vp_nearest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	unsigned best_d = 3;
	for (size_t i = 0; i < n && cands[i]; i++) {
		unsigned d = vp_edit_distance(word, cands[i]);
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	size_t wl = strlen(word);
	for (size_t i = 0; !best && wl >= 3 && i < n && cands[i]; i++) {
		const char *c = cands[i], *hit = strstr(c, word);
		if (hit && (hit == c || hit[-1] == '-') &&
		    (hit[wl] == 0 || hit[wl] == '-'))
			best = c;
	}
	return best;
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
