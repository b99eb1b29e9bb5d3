/* Recorder files in a directory: names, listing, deletion. */
#include "store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STAMP_LEN 20 /* YYYYMMDDTHHMMSS.mmmZ */

int store_format_name(char *out, size_t n, const char *prefix, int64_t wall_ns,
		      unsigned dup)
{
	time_t secs = (time_t)(wall_ns / 1000000000LL);
	int ms = (int)(wall_ns / 1000000LL % 1000);
	struct tm tm;
	if (wall_ns < 0 || !gmtime_r(&secs, &tm))
		return -1;
	char stamp[40];
	snprintf(stamp, sizeof(stamp), "%04d%02d%02dT%02d%02d%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ms);
	int len;
	if (dup)
		len =
		    snprintf(out, n, "%s%s_%02u.mkv", prefix, stamp, dup % 100);
	else
		len = snprintf(out, n, "%s%s.mkv", prefix, stamp);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

static int digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return 0;
	return 1;
}

int store_name_matches(const char *name, const char *prefix)
{
	size_t pl = strlen(prefix);
	if (strncmp(name, prefix, pl) != 0)
		return 0;
	const char *p = name + pl;
	if (strlen(p) < STAMP_LEN + 4)
		return 0;
	if (!digits(p, 8) || p[8] != 'T' || !digits(p + 9, 6) || p[15] != '.' ||
	    !digits(p + 16, 3) || p[19] != 'Z')
		return 0;
	p += STAMP_LEN;
	if (p[0] == '_') {
		if (!digits(p + 1, 2))
			return 0;
		p += 3;
	}
	return strcmp(p, ".mkv") == 0;
}

void store_init(struct rec_store *s, const char *dir, const char *prefix)
{
	memset(s, 0, sizeof(*s));
	s->dir = dir;
	s->prefix = prefix;
}

static void clear(struct rec_store *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->files[i].name);
	s->n = 0;
	s->total = 0;
}

void store_free(struct rec_store *s)
{
	clear(s);
	free(s->files);
	s->files = NULL;
	s->cap = 0;
}

static int by_name(const void *a, const void *b)
{
	const struct store_file *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static int add(struct rec_store *s, const char *name, const struct stat *st)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct store_file *f = realloc(s->files, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		s->files = f;
		s->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	s->files[s->n++] = (struct store_file){
	    .name = copy,
	    .size = (uint64_t)st->st_size,
	    .mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL +
			st->st_mtim.tv_nsec,
	};
	s->total += (uint64_t)st->st_size;
	return 0;
}

int store_scan(struct rec_store *s, const char *skip)
{
	clear(s);
	DIR *d = opendir(s->dir);
	if (!d)
		return -errno;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (!store_name_matches(de->d_name, s->prefix))
			continue;
		if (skip && strcmp(de->d_name, skip) == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue; /* gone meanwhile, or not ours to count */
		rc = add(s, de->d_name, &st);
	}
	closedir(d);
	if (s->n > 1)
		qsort(s->files, s->n, sizeof(*s->files), by_name);
	return rc;
}

int store_delete(struct rec_store *s, size_t i)
{
	if (i >= s->n)
		return -EINVAL;
	char path[PATH_MAX];
	int rc = 0;
	if (snprintf(path, sizeof(path), "%s/%s", s->dir, s->files[i].name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	if (unlink(path) && errno != ENOENT)
		rc = -errno;
	if (rc == 0) {
		s->total -= s->files[i].size;
		free(s->files[i].name);
		memmove(&s->files[i], &s->files[i + 1],
			(s->n - i - 1) * sizeof(*s->files));
		s->n--;
	}
	return rc;
}
