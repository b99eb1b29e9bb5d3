/* sd_notify's datagram protocol on $NOTIFY_SOCKET (see notify.h). */
#include "notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_len;
static bool notify_tried;

void vp_notify_init(void)
{
	if (notify_tried)
		return;
	notify_tried = true;
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	size_t n = strlen(path);
	if (n >= sizeof(notify_addr.sun_path)) {
		fprintf(stderr,
			"vpipe: warning: NOTIFY_SOCKET is longer than "
			"%zu bytes: not notifying systemd\n",
			sizeof(notify_addr.sun_path) - 1);
		return;
	}
	memset(&notify_addr, 0, sizeof(notify_addr));
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, path, n);
	if (path[0] == '@') /* abstract: a leading NUL, no terminator */
		notify_addr.sun_path[0] = 0;
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
				 (path[0] == '/'));
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

bool vp_notify_enabled(void)
{
	return notify_fd >= 0;
}

void vp_notify(const char *fmt, ...)
{
	if (notify_fd < 0)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	ssize_t w;
	do
		w = sendto(notify_fd, msg, (size_t)n, MSG_NOSIGNAL,
			   (const struct sockaddr *)&notify_addr, notify_len);
	while (w < 0 && errno == EINTR);
}

int64_t vp_notify_watchdog_ns(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	if (!usec || !*usec)
		return 0;
	if (pid && *pid) {
		char *end;
		long long p = strtoll(pid, &end, 10);
		if (*end || p != (long long)getpid())
			return 0; /* meant for another process */
	}
	char *end;
	errno = 0;
	unsigned long long us = strtoull(usec, &end, 10);
	if (*end || errno || us == 0 || us > INT64_MAX / 1000)
		return 0;
	return (int64_t)us * 1000;
}
