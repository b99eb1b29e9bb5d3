/* The memory limit a graph will run under, for `vpipe check`: MemoryMax=
 * of a systemd unit file (with its drop-ins), or the limit of the cgroup
 * the process runs in (cgroup v2 memory.max, v1 memory.limit_in_bytes,
 * the smallest along the path to the root). */
#ifndef VPIPE_COMMON_MEMLIMIT_H
#define VPIPE_COMMON_MEMLIMIT_H

#include <stddef.h>
#include <stdint.h>

/* MemoryMax= in the [Service] section of `unit` and of the *.conf files in
 * `unit`.d/ (read after it, in name order; the last one set wins).
 * 1 and *bytes when set to a size, 0 when unset or infinity, -1 with err
 * when the file cannot be read or a value is not a size. A percentage is
 * of `ram_bytes`. */
int memlimit_unit(const char *unit, uint64_t ram_bytes, uint64_t *bytes,
		  char *err, size_t errlen);

/* The limit of the cgroup named in `proc_cgroup` (/proc/self/cgroup) under
 * `root` (/sys/fs/cgroup). 1 with *bytes and the file it came from in
 * `where`, 0 when there is none. */
int memlimit_cgroup(const char *proc_cgroup, const char *root, uint64_t *bytes,
		    char *where, size_t wherelen);

/* A systemd size: "128M", "1G", "65536", "infinity", "50%" (of ram). */
int memlimit_parse_size(const char *s, uint64_t ram_bytes, uint64_t *bytes,
			int *infinite);
#endif
