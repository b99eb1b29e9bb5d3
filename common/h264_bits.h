/* Internal to common/h264_*.c: the bit reader over an RBSP (emulation
 * prevention already removed) that the SPS, PPS and slice header parsers
 * share, and their error-message helper. A read past the end returns 0 and
 * sets `overrun`, so a parser reads a whole structure and checks once. */
#ifndef VPIPE_COMMON_H264_BITS_H
#define VPIPE_COMMON_H264_BITS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static inline void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

struct bits {
	const uint8_t *p;
	size_t n;   /* bytes */
	size_t pos; /* bits consumed */
	bool overrun;
};

static inline uint32_t get_bit(struct bits *b)
{
	if (b->pos >= b->n * 8) {
		b->overrun = true;
		return 0;
	}
	uint32_t v = (b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1;
	b->pos++;
	return v;
}

static inline uint32_t get_bits(struct bits *b, unsigned count)
{
	uint32_t v = 0;
	while (count--)
		v = (v << 1) | get_bit(b);
	return v;
}

/* Exp-Golomb ue(v); values above 2^31 - 2 are not H.264 syntax. */
static inline uint32_t get_ue(struct bits *b)
{
	unsigned zeros = 0;
	while (!get_bit(b)) {
		if (b->overrun || ++zeros > 31) {
			b->overrun = true;
			return 0;
		}
	}
	return ((1u << zeros) - 1) + get_bits(b, zeros);
}

static inline int32_t get_se(struct bits *b)
{
	uint32_t k = get_ue(b);
	return (k & 1) ? (int32_t)((k + 1) / 2) : -(int32_t)(k / 2);
}

#endif
