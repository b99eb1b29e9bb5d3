/* The key-frame interval as users write it for every encoder (x264, omx,
 * v4l2m2m): a bare whole number counts frames ("60"); a number with "s" or
 * "ms" is a duration ("2s", "500ms", "1.5s") turned into frames at the
 * input's frame rate, so fragments keep their length when the rate changes.
 */
#ifndef VPIPE_COMMON_KEYINT_H
#define VPIPE_COMMON_KEYINT_H

#include <stddef.h>
#include <stdint.h>

struct keyint {
	int64_t frames;	     /* > 0 when given in frames */
	int64_t duration_ns; /* > 0 when given as a duration */
};

/* Parse a keyint value. Returns 0, or -1 with a message in err naming the
 * value and the accepted forms. */
int keyint_parse(const char *text, struct keyint *out, char *err,
		 size_t errlen);

/* Frames between key frames at fps_num/fps_den (0/0 means unknown and is
 * taken as 30 fps). At least 1. */
int keyint_frames(const struct keyint *k, uint32_t fps_num, uint32_t fps_den);

#endif
