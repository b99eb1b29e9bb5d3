/* The recorder's files in its directory: naming by UTC start time, and the
 * closed files retention may delete, oldest first. Only names this module
 * makes (prefix + time stamp + .mkv) are ever counted or deleted. */
#ifndef VPIPE_RECORD_STORE_H
#define VPIPE_RECORD_STORE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct store_file {
	char *name;
	uint64_t size;
	int64_t mtime_ns; /* last write: the end of the recording */
};

struct rec_store {
	const char *dir;
	const char *prefix;
	struct store_file *files; /* oldest first */
	size_t n, cap;
	uint64_t total; /* bytes in files */
};

/* prefix + "YYYYMMDDTHHMMSS.mmmZ" [+ "_NN" for a second file started in
 * the same millisecond] + ".mkv". dup 0..99. Returns 0, -1 if too long. */
int store_format_name(char *out, size_t n, const char *prefix, int64_t wall_ns,
		      unsigned dup);
int store_name_matches(const char *name, const char *prefix);

void store_init(struct rec_store *s, const char *dir, const char *prefix);
void store_free(struct rec_store *s);

/* Re-reads the directory; `skip` (the file being written) is left out.
 * Returns 0 or -errno. */
int store_scan(struct rec_store *s, const char *skip);

/* Deletes files[i]. Returns 0 or -errno (the entry is dropped either way
 * when the file is already gone). */
int store_delete(struct rec_store *s, size_t i);
#endif
