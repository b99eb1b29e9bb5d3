/* The memory limit `vpipe check` compares the graph's ceiling with:
 * MemoryMax= of a unit and its drop-ins, and the cgroup's own limit (v1
 * and v2 layouts, the smallest on the path to the root), from files laid
 * out as systemd and the kernel lay them out. */
#include "check.h"
#include "memlimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/vpipe-memlimit.XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	if (system(cmd))
		abort();
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static const char *at(const char *rel)
{
	static char path[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, rel);
	return path[i];
}

#define MiB (1024ull * 1024)

static void test_sizes(void)
{
	uint64_t b = 0;
	int inf;
	CHECK_EQ_INT(memlimit_parse_size("128M", 0, &b, &inf), 0);
	CHECK_EQ_INT(b, 128 * MiB);
	CHECK_EQ_INT(memlimit_parse_size("1G", 0, &b, &inf), 0);
	CHECK_EQ_INT(b, 1024 * MiB);
	CHECK_EQ_INT(memlimit_parse_size("65536", 0, &b, &inf), 0);
	CHECK_EQ_INT(b, 65536);
	CHECK_EQ_INT(memlimit_parse_size("25%", 512 * MiB, &b, &inf), 0);
	CHECK_EQ_INT(b, 128 * MiB);
	CHECK_EQ_INT(memlimit_parse_size("infinity", 0, &b, &inf), 0);
	CHECK_EQ_INT(inf, 1);
	CHECK_EQ_INT(memlimit_parse_size("128MB", 0, &b, &inf), -1);
	CHECK_EQ_INT(memlimit_parse_size("lots", 0, &b, &inf), -1);
}

static void test_unit(void)
{
	char err[512];
	uint64_t b = 0;
	put("u/vpipe@.service", "[Unit]\nMemoryMax=1M\n[Service]\n"
				"Type=notify\nMemoryMax = 128M\n");
	CHECK_EQ_INT(
	    memlimit_unit(at("u/vpipe@.service"), 0, &b, err, sizeof(err)), 1);
	CHECK_EQ_INT(b, 128 * MiB); /* [Unit]'s line is not the service's */
	/* Drop-ins in name order, the last one wins. */
	put("u/vpipe@.service.d/20-more.conf", "[Service]\nMemoryMax=256M\n");
	put("u/vpipe@.service.d/10-less.conf", "[Service]\nMemoryMax=64M\n");
	CHECK_EQ_INT(
	    memlimit_unit(at("u/vpipe@.service"), 0, &b, err, sizeof(err)), 1);
	CHECK_EQ_INT(b, 256 * MiB);
	put("u/vpipe@.service.d/30-off.conf",
	    "[Service]\nMemoryMax=infinity\n");
	CHECK_EQ_INT(
	    memlimit_unit(at("u/vpipe@.service"), 0, &b, err, sizeof(err)), 0);
	put("u/bad.service", "[Service]\nMemoryMax=lots\n");
	CHECK_EQ_INT(
	    memlimit_unit(at("u/bad.service"), 0, &b, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "bad.service:2: MemoryMax=lots is not a size");
	CHECK_EQ_INT(
	    memlimit_unit(at("u/none.service"), 0, &b, err, sizeof(err)), -1);
}

static void test_cgroup_v2(void)
{
	char where[512];
	uint64_t b = 0;
	put("v2/proc",
	    "0::/system.slice/system-vpipe.slice/vpipe@cam1.service\n");
	put("v2/fs/system.slice/memory.max", "max\n");
	put("v2/fs/system.slice/system-vpipe.slice/memory.max", "536870912\n");
	put("v2/fs/system.slice/system-vpipe.slice/vpipe@cam1.service/"
	    "memory.max",
	    "134217728\n");
	CHECK_EQ_INT(memlimit_cgroup(at("v2/proc"), at("v2/fs"), &b, where,
				     sizeof(where)),
		     1);
	CHECK_EQ_INT(b, 128 * MiB);
	CHECK_STR_CONTAINS(where, "vpipe@cam1.service/memory.max");
	/* A parent's smaller limit is the one that holds. */
	put("v2/fs/system.slice/system-vpipe.slice/memory.max", "67108864\n");
	CHECK_EQ_INT(memlimit_cgroup(at("v2/proc"), at("v2/fs"), &b, where,
				     sizeof(where)),
		     1);
	CHECK_EQ_INT(b, 64 * MiB);
	put("v2/proc-nolimit", "0::/\n");
	put("v2/fs/memory.max", "max\n");
	CHECK_EQ_INT(memlimit_cgroup(at("v2/proc-nolimit"), at("v2/fs"), &b,
				     where, sizeof(where)),
		     0);
}

static void test_cgroup_v1(void)
{
	char where[512];
	uint64_t b = 0;
	put("v1/proc", "4:memory:/box\n3:cpu,cpuacct:/\n0::/\n");
	put("v1/fs/memory/memory.limit_in_bytes", "9223372036854771712\n");
	put("v1/fs/memory/box/memory.limit_in_bytes", "268435456\n");
	CHECK_EQ_INT(memlimit_cgroup(at("v1/proc"), at("v1/fs"), &b, where,
				     sizeof(where)),
		     1);
	CHECK_EQ_INT(b, 256 * MiB);
	/* In a cgroup namespace the path is not under our mount: its root
	 * is our cgroup. */
	put("v1/proc-ns", "4:memory:/elsewhere/abc\n0::/\n");
	put("v1/fs/memory/memory.limit_in_bytes", "100663296\n");
	CHECK_EQ_INT(memlimit_cgroup(at("v1/proc-ns"), at("v1/fs"), &b, where,
				     sizeof(where)),
		     1);
	CHECK_EQ_INT(b, 96 * MiB);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_sizes();
	test_unit();
	test_cgroup_v2();
	test_cgroup_v1();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	return check_done();
}
