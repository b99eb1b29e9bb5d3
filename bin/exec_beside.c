/* `vpipe kvs-local ...` forwards to vpipe-kvs-local: the server is its own
 * program (it links OpenSSL; vpipe does not), found beside vpipe so that a
 * build tree and an installed tree both work without PATH. */
#include "exec_beside.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int exec_beside(const char *program, char **args)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		fprintf(stderr, "error: cannot find the vpipe binary: %s\n",
			strerror(errno));
		return 2;
	}
	self[n] = 0;
	char *slash = strrchr(self, '/');
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%.*s/%s", slash ? (int)(slash - self) : 1,
		 slash ? self : ".", program);
	args[0] = (char *)program;
	execv(path, args);
	fprintf(stderr, "error: cannot run %s: %s\n", path, strerror(errno));
	return 2;
}
