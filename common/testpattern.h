/* The test pattern testsrc draws: a moving gradient with the frame number
 * written into the picture, so a test can tell frames apart after any
 * lossless path (and roughly after an encoder).
 *
 *   Y(x, y, n) = 16 + (x + 2y + 4n) mod 220
 *   U(x, y, n) = 64 + (2x + n) mod 128,  V(x, y, n) = 192 - (2y + n) mod 128
 *     (x, y in chroma-plane coordinates)
 *   Rows 0-7 of Y: 32 blocks of max(1, width/32) pixels, block i is 235 when
 *   bit i of n is set, 16 when not (least significant bit first).
 *
 * tests/e2e/testsrc_filesink.sh re-implements this in Python to check the
 * bytes independently. */
#ifndef VPIPE_COMMON_TESTPATTERN_H
#define VPIPE_COMMON_TESTPATTERN_H

#include <stdint.h>

#include <vpipe/frame.h>

/* Draw frame n into data laid out as fmt (I420 or NV12). */
void testpattern_draw(uint8_t *data, const struct vpipe_format *fmt,
		      uint64_t n);
/* Read the frame number back from a luma plane (NV12/I420 plane 0). */
uint32_t testpattern_read_counter(const uint8_t *luma, uint32_t width,
				  uint32_t stride);
#endif
