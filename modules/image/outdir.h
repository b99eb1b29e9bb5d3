/* The `image` module's optional directory of pictures: each picture is
 * written atomically (temporary name, fsync-free rename) as
 * PREFIX + YYYYMMDDTHHMMSS.mmmZ + .jpg/.png, and retention keeps at most
 * max_files of them and none older than max_age. Only names this module
 * makes (prefix + time stamp + extension) are ever counted or deleted. */
#ifndef VPIPE_MODULES_IMAGE_OUTDIR_H
#define VPIPE_MODULES_IMAGE_OUTDIR_H

#include <stddef.h>
#include <stdint.h>

struct outdir {
	const char *dir;
	const char *prefix;
	const char *ext;   /* "jpg" or "png" */
	int64_t max_files; /* 0: no limit */
	int64_t max_age;   /* ns, 0: no limit */
	char last_name[256];
};

/* The file name for a picture taken at wall_ns. 0, or -1 if too long. */
int outdir_name(const struct outdir *o, int64_t wall_ns, char *out, size_t n);
/* True when `name` is one of ours. */
int outdir_is_ours(const struct outdir *o, const char *name);

/* Write one picture; 0, or -errno with err naming the path. */
int outdir_write(struct outdir *o, int64_t wall_ns, const uint8_t *data,
		 size_t len, char *err, size_t errlen);

/* Apply retention at time now_wall_ns; returns how many files were
 * deleted, or -errno when the directory cannot be read. */
int outdir_retain(struct outdir *o, int64_t now_wall_ns);
#endif
