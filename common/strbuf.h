/* A growable NUL-terminated byte string for building requests, JSON and
 * canonical forms. An allocation failure sets `failed`; later appends do
 * nothing, so callers check once at the end. */
#ifndef VPIPE_COMMON_STRBUF_H
#define VPIPE_COMMON_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *s;
	size_t len, cap;
	int failed;
};

#define STRBUF_INIT                                                            \
	{                                                                      \
		0                                                              \
	}

void sb_append(struct strbuf *b, const void *p, size_t n);
void sb_puts(struct strbuf *b, const char *s);
void sb_putc(struct strbuf *b, char c);
void sb_printf(struct strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct strbuf *b, const char *fmt, va_list ap);
/* Hand over the string (caller frees); NULL if anything failed. The
 * buffer is empty afterwards. */
char *sb_detach(struct strbuf *b);
void sb_free(struct strbuf *b);
#endif
