/* EBML variable-length integers and element building (RFC 8794). */
#include "ebml.h"

#include <stdlib.h>
#include <string.h>

int ebml_read_id(const uint8_t *p, size_t n, uint32_t *id)
{
	if (n == 0)
		return 0;
	int len = 1;
	uint8_t mask = 0x80;
	while (len <= 4 && !(p[0] & mask)) {
		mask >>= 1;
		len++;
	}
	if (len > 4)
		return -1; /* Matroska IDs are at most 4 bytes */
	if ((size_t)len > n)
		return 0;
	uint32_t v = 0;
	for (int i = 0; i < len; i++)
		v = (v << 8) | p[i];
	*id = v;
	return len;
}

int ebml_read_size(const uint8_t *p, size_t n, uint64_t *size)
{
	if (n == 0)
		return 0;
	if (p[0] == 0)
		return -1; /* more than 8 bytes of length: not Matroska */
	int len = 1;
	uint8_t mask = 0x80;
	while (!(p[0] & mask)) {
		mask >>= 1;
		len++;
	}
	if ((size_t)len > n)
		return 0;
	uint64_t v = p[0] & (uint8_t)(mask - 1);
	int all_ones = v == (uint64_t)(mask - 1);
	for (int i = 1; i < len; i++) {
		v = (v << 8) | p[i];
		all_ones = all_ones && p[i] == 0xff;
	}
	*size = all_ones ? EBML_SIZE_UNKNOWN : v;
	return len;
}

uint64_t ebml_read_uint(const uint8_t *p, size_t len)
{
	uint64_t v = 0;
	for (size_t i = 0; i < len && i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

int64_t ebml_read_int(const uint8_t *p, size_t len)
{
	if (len == 0)
		return 0;
	if (len > 8)
		len = 8;
	uint64_t v = ebml_read_uint(p, len);
	if (len < 8 && (p[0] & 0x80))
		v |= ~(uint64_t)0 << (len * 8); /* sign-extend */
	return (int64_t)v;
}

size_t ebml_id_length(uint32_t id)
{
	if (id >= 0x1000000)
		return 4;
	if (id >= 0x10000)
		return 3;
	if (id >= 0x100)
		return 2;
	return 1;
}

size_t ebml_write_id(uint8_t *out, uint32_t id)
{
	size_t len = ebml_id_length(id);
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(id >> (8 * (len - 1 - i)));
	return len;
}

size_t ebml_size_length(uint64_t size)
{
	/* A length of n bytes holds values up to 2^(7n) - 2 (all ones means
	 * unknown). */
	size_t len = 1;
	while (len < 8 && size >= ((uint64_t)1 << (7 * len)) - 1)
		len++;
	return len;
}

size_t ebml_write_size(uint8_t *out, uint64_t size, int width)
{
	size_t len = width > 0 ? (size_t)width : ebml_size_length(size);
	if (size == EBML_SIZE_UNKNOWN) {
		out[0] = (uint8_t)(0xff >> (len - 1));
		for (size_t i = 1; i < len; i++)
			out[i] = 0xff;
		return len;
	}
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(size >> (8 * (len - 1 - i)));
	out[0] |= (uint8_t)(0x80 >> (len - 1));
	return len;
}

void ebml_buf_reset(struct ebml_buf *b)
{
	b->len = 0;
	b->failed = 0;
}

void ebml_buf_free(struct ebml_buf *b)
{
	if (!b->grow)
		free(b->data);
	memset(b, 0, sizeof(*b));
}

int ebml_buf_reserve(struct ebml_buf *b, size_t more)
{
	if (b->failed)
		return -1;
	if (b->len + more <= b->cap)
		return 0;
	if (b->grow) {
		if (b->grow(b, b->len + more) == 0 && b->len + more <= b->cap)
			return 0;
		b->failed = 1;
		return -1;
	}
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more)
		cap *= 2;
	uint8_t *d = realloc(b->data, cap);
	if (!d) {
		b->failed = 1;
		return -1;
	}
	b->data = d;
	b->cap = cap;
	return 0;
}

void ebml_put_bytes(struct ebml_buf *b, const void *p, size_t n)
{
	if (n == 0 || ebml_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void ebml_put_id(struct ebml_buf *b, uint32_t id)
{
	if (ebml_buf_reserve(b, 4))
		return;
	b->len += ebml_write_id(b->data + b->len, id);
}

void ebml_put_size(struct ebml_buf *b, uint64_t size, int width)
{
	if (ebml_buf_reserve(b, 8))
		return;
	b->len += ebml_write_size(b->data + b->len, size, width);
}

void ebml_put_uint(struct ebml_buf *b, uint32_t id, uint64_t v)
{
	size_t len = 1;
	while (len < 8 && (v >> (8 * len)) != 0)
		len++;
	uint8_t tmp[8];
	for (size_t i = 0; i < len; i++)
		tmp[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
	ebml_put_binary(b, id, tmp, len);
}

void ebml_put_float(struct ebml_buf *b, uint32_t id, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	uint8_t tmp[8];
	for (int i = 0; i < 8; i++)
		tmp[i] = (uint8_t)(bits >> (8 * (7 - i)));
	ebml_put_binary(b, id, tmp, 8);
}

void ebml_put_string(struct ebml_buf *b, uint32_t id, const char *s)
{
	ebml_put_binary(b, id, s, strlen(s));
}

void ebml_put_binary(struct ebml_buf *b, uint32_t id, const void *p, size_t n)
{
	ebml_put_id(b, id);
	ebml_put_size(b, n, 0);
	ebml_put_bytes(b, p, n);
}

size_t ebml_begin_master(struct ebml_buf *b, uint32_t id, int width)
{
	ebml_put_id(b, id);
	size_t mark = b->len;
	ebml_put_size(b, 0, width > 0 ? width : 8);
	return mark;
}

void ebml_end_master(struct ebml_buf *b, size_t mark)
{
	if (b->failed)
		return;
	int width = 1;
	while (width < 8 && !(b->data[mark] & (0x80 >> (width - 1))))
		width++;
	size_t body = b->len - mark - (size_t)width;
	ebml_write_size(b->data + mark, body, width);
}

void ebml_put_unknown_master(struct ebml_buf *b, uint32_t id)
{
	ebml_put_id(b, id);
	ebml_put_size(b, EBML_SIZE_UNKNOWN, 8);
}
