/* Files a module reads whole, or hands whole to a library (a credentials
 * file, a client certificate, its key, a CA bundle): checked before use so
 * that a FIFO, a device or a huge file named by mistake is an error with
 * the reason, not a read that blocks or never ends (OpenSSL's PEM reader
 * spins for ever on /dev/zero). */
#ifndef VPIPE_COMMON_WHOLE_FILE_H
#define VPIPE_COMMON_WHOLE_FILE_H

#include <stddef.h>

/* Largest certificate, key or CA bundle accepted (Debian's bundle of every
 * trusted CA is about 200 KiB). */
#define WHOLE_FILE_MAX (4u << 20)

/* 0 if `path` is a regular file of at most max_bytes; else -1 with
 * "WHAT PATH: reason" in err. Opens without blocking (a FIFO without a
 * writer would block open()). */
int whole_file_check(const char *what, const char *path, size_t max_bytes,
		     char *err, size_t errlen);

#endif
