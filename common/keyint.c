/* Key-frame interval syntax shared by the encoders; see keyint.h. */
#include "keyint.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int keyint_parse(const char *text, struct keyint *out, char *err, size_t errlen)
{
	char *end;
	double v;

	memset(out, 0, sizeof(*out));
	errno = 0;
	v = text ? strtod(text, &end) : 0;
	if (!text || end == text || errno || !(v > 0)) {
		snprintf(err, errlen,
			 "keyint '%s': want frames (\"60\") or a duration "
			 "(\"2s\", \"500ms\")",
			 text ? text : "");
		return -1;
	}
	if (*end == '\0') {
		if (v != floor(v) || v > 100000) {
			snprintf(err, errlen,
				 "keyint '%s': a frame count is a whole number "
				 "from 1 to 100000 (durations need s or ms)",
				 text);
			return -1;
		}
		out->frames = (int64_t)v;
		return 0;
	}
	if (strcmp(end, "s") == 0)
		v *= 1e9;
	else if (strcmp(end, "ms") == 0)
		v *= 1e6;
	else {
		snprintf(err, errlen,
			 "keyint '%s': unknown unit '%s' (use s or ms, or no "
			 "unit for frames)",
			 text, end);
		return -1;
	}
	if (v > 600e9) {
		snprintf(err, errlen, "keyint '%s': longer than 10 minutes",
			 text);
		return -1;
	}
	out->duration_ns = (int64_t)llround(v);
	return 0;
}

int keyint_frames(const struct keyint *k, uint32_t fps_num, uint32_t fps_den)
{
	if (k->frames > 0)
		return (int)k->frames;
	if (fps_num == 0 || fps_den == 0) {
		fps_num = 30;
		fps_den = 1;
	}
	double frames = (double)k->duration_ns * fps_num / fps_den / 1e9;
	long n = lround(frames);
	return n < 1 ? 1 : (int)n;
}
