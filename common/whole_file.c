/* Size and type checks for files read whole (see whole_file.h). */
#include "whole_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int whole_file_check(const char *what, const char *path, size_t max_bytes,
		     char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s %s: cannot open: %s", what, path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file (%s)", what,
			 path,
			 S_ISDIR(st.st_mode)	? "a directory"
			 : S_ISFIFO(st.st_mode) ? "a FIFO"
			 : S_ISCHR(st.st_mode)	? "a character device"
						: "not a file");
		return -1;
	}
	if ((unsigned long long)st.st_size > max_bytes) {
		snprintf(err, errlen,
			 "%s %s: %lld bytes, more than the %zu KiB such a file "
			 "may have",
			 what, path, (long long)st.st_size, max_bytes >> 10);
		return -1;
	}
	return 0;
}
