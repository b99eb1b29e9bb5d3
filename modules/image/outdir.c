/* Pictures in a directory, with retention (see outdir.h). */
#include "outdir.h"

#include <ctype.h>
#include <stdbool.h>
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

int outdir_name(const struct outdir *o, int64_t wall_ns, char *out, size_t n)
{
	time_t secs = (time_t)(wall_ns / 1000000000LL);
	struct tm tm;
	if (wall_ns < 0 || !gmtime_r(&secs, &tm))
		return -1;
	int len = snprintf(out, n, "%s%04d%02d%02dT%02d%02d%02d.%03dZ.%s",
			   o->prefix, tm.tm_year + 1900, tm.tm_mon + 1,
			   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			   (int)(wall_ns / 1000000LL % 1000), o->ext);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

static int digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return 0;
	return 1;
}

int outdir_is_ours(const struct outdir *o, const char *name)
{
	size_t pl = strlen(o->prefix);
	if (strncmp(name, o->prefix, pl) != 0)
		return 0;
	const char *p = name + pl;
	if (strlen(p) != STAMP_LEN + 1 + strlen(o->ext))
		return 0;
	return digits(p, 8) && p[8] == 'T' && digits(p + 9, 6) &&
	       p[15] == '.' && digits(p + 16, 3) && p[19] == 'Z' &&
	       p[20] == '.' && strcmp(p + 21, o->ext) == 0;
}

int outdir_write(struct outdir *o, int64_t wall_ns, const uint8_t *data,
		 size_t len, char *err, size_t errlen)
{
	char name[256], path[4096], tmp[4200];
	if (outdir_name(o, wall_ns, name, sizeof(name))) {
		snprintf(err, errlen, "file-prefix too long for a file name");
		return -ENAMETOOLONG;
	}
	/* Two pictures in the same millisecond: keep the first. */
	if (strcmp(name, o->last_name) == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", o->dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.part", o->dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(e));
		return -e;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : ENOSPC;
			snprintf(err, errlen, "write %s at byte %zu: %s", tmp,
				 done, strerror(e));
			close(fd);
			unlink(tmp);
			return -e;
		}
		done += (size_t)w;
	}
	if (close(fd) || rename(tmp, path)) {
		int e = errno;
		snprintf(err, errlen, "cannot store %s: %s", path, strerror(e));
		unlink(tmp);
		return -e;
	}
	snprintf(o->last_name, sizeof(o->last_name), "%s", name);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Time stamp in a name of ours, as ns since the epoch. */
static int64_t name_time(const struct outdir *o, const char *name)
{
	const char *p = name + strlen(o->prefix);
	struct tm tm = {0};
	tm.tm_year = atoi((char[]){p[0], p[1], p[2], p[3], 0}) - 1900;
	tm.tm_mon = atoi((char[]){p[4], p[5], 0}) - 1;
	tm.tm_mday = atoi((char[]){p[6], p[7], 0});
	tm.tm_hour = atoi((char[]){p[9], p[10], 0});
	tm.tm_min = atoi((char[]){p[11], p[12], 0});
	tm.tm_sec = atoi((char[]){p[13], p[14], 0});
	int ms = atoi((char[]){p[16], p[17], p[18], 0});
	return (int64_t)timegm(&tm) * 1000000000LL + ms * 1000000LL;
}

int outdir_retain(struct outdir *o, int64_t now_wall_ns)
{
	if (o->max_files <= 0 && o->max_age <= 0)
		return 0;
	DIR *d = opendir(o->dir);
	if (!d)
		return -errno;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!outdir_is_ours(o, de->d_name))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **p = realloc(names, nc * sizeof(*p));
			if (!p)
				break;
			names = p;
			cap = nc;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), by_name); /* oldest first */
	int deleted = 0;
	for (size_t i = 0; i < n; i++) {
		bool too_many =
		    o->max_files > 0 && (int64_t)(n - i) > o->max_files;
		bool too_old =
		    o->max_age > 0 &&
		    now_wall_ns - name_time(o, names[i]) > o->max_age;
		if (too_many || too_old) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", o->dir, names[i]);
			if (unlink(path) == 0 || errno == ENOENT)
				deleted++;
		}
		free(names[i]);
	}
	free(names);
	return deleted;
}
