/* Minimal assertions for unit tests: each failed CHECK prints file:line and
 * the expression, and the test exits non-zero at check_done(). */
#ifndef VPIPE_TESTS_CHECK_H
#define VPIPE_TESTS_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                            \
	do {                                                                   \
		check_count++;                                                 \
		if (!(cond)) {                                                 \
			check_failures++;                                      \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                     \
	do {                                                                   \
		long long va_ = (long long)(a), vb_ = (long long)(b);          \
		check_count++;                                                 \
		if (va_ != vb_) {                                              \
			check_failures++;                                      \
			fprintf(stderr, "%s:%d: %s == %lld, want %lld\n",      \
				__FILE__, __LINE__, #a, va_, vb_);             \
		}                                                              \
	} while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                        \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		check_count++;                                                 \
		if (!h_ || !strstr(h_, n_)) {                                  \
			check_failures++;                                      \
			fprintf(stderr,                                        \
				"%s:%d: \"%s\" does not contain \"%s\"\n",     \
				__FILE__, __LINE__, h_ ? h_ : "(null)", n_);   \
		}                                                              \
	} while (0)

static inline int check_done(void)
{
	printf("%d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}
#endif
