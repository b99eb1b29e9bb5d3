/* The libc entry points the double replaces. Calls on anything that is not
 * a configured device go straight to the real libc function. */
#undef _FILE_OFFSET_BITS /* define open and open64 as two symbols */
#undef _TIME_BITS	 /* glibc allows it only with _FILE_OFFSET_BITS=64 */
#include "v4l2dev.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* x86_64, arm64: struct stat64 is struct stat. */
_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat64");
#include <time.h>
#include <unistd.h>

#define DD_MAX_FDS  4096
#define DD_MAX_MAPS 256

static struct dd_file *files[DD_MAX_FDS];
static struct {
	void *addr;
	size_t len;
	struct dd_buf *buf;
} maps[DD_MAX_MAPS];

static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);
static int (*real_poll)(struct pollfd *, nfds_t, int);
static ssize_t (*real_read)(int, void *, size_t);
static int (*real_fstatat)(int, const char *, struct stat *, int);
static int (*real_fstat)(int, struct stat *);
static int (*real_select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);

static void resolve(void)
{
	if (real_openat)
		return;
	real_close = dlsym(RTLD_NEXT, "close");
	real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	real_mmap = dlsym(RTLD_NEXT, "mmap");
	real_munmap = dlsym(RTLD_NEXT, "munmap");
	real_poll = dlsym(RTLD_NEXT, "poll");
	real_read = dlsym(RTLD_NEXT, "read");
	real_fstatat = dlsym(RTLD_NEXT, "fstatat");
	real_fstat = dlsym(RTLD_NEXT, "fstat");
	real_select = dlsym(RTLD_NEXT, "select");
	real_openat = dlsym(RTLD_NEXT, "openat");
}

__attribute__((constructor)) static void dd_init(void)
{
	resolve();
	dd_config_load();
}

static struct dd_file *file_of(int fd)
{
	if (fd < 0 || fd >= DD_MAX_FDS)
		return NULL;
	return __atomic_load_n(&files[fd], __ATOMIC_ACQUIRE);
}

/* /sys/dev/char/81:N/uevent, which v4l2-ctl reads to learn the node type. */
static int open_uevent(const char *path)
{
	unsigned major, minor;
	char tail[32];
	if (sscanf(path, "/sys/dev/char/%u:%u/%31s", &major, &minor, tail) !=
		3 ||
	    major != DD_MAJOR || strcmp(tail, "uevent") != 0)
		return -2;
	for (unsigned i = 0; i < dd_ndevices; i++) {
		if (dd_devices[i].minor != minor)
			continue;
		int fd = memfd_create("uevent", MFD_CLOEXEC);
		char text[128];
		int n = snprintf(text, sizeof(text),
				 "MAJOR=%u\nMINOR=%u\nDEVNAME=video%u\n",
				 DD_MAJOR, minor, minor);
		if (fd < 0 || write(fd, text, (size_t)n) != n)
			return -1;
		lseek(fd, 0, SEEK_SET);
		return fd;
	}
	return -2;
}

static int device_open(struct dd_device *dev, int flags)
{
	pthread_mutex_lock(&dd_lock);
	if (dev->gone_until && dd_mono_ns() < dev->gone_until) {
		pthread_mutex_unlock(&dd_lock);
		errno = ENOENT;
		return -1;
	}
	dev->gone_until = 0;
	int efd = eventfd(0, ((flags & O_NONBLOCK) ? EFD_NONBLOCK : 0) |
				 ((flags & O_CLOEXEC) ? EFD_CLOEXEC : 0));
	struct dd_file *f = calloc(1, sizeof(*f));
	if (efd < 0 || efd >= DD_MAX_FDS || !f) {
		pthread_mutex_unlock(&dd_lock);
		if (efd >= 0)
			real_close(efd);
		free(f);
		errno = EMFILE;
		return -1;
	}
	f->fd = efd;
	f->dev = dev;
	f->generation = dev->generation;
	f->prio = V4L2_PRIORITY_DEFAULT;
	if (dev->kind == DD_ENCODER) {
		f->ctx = calloc(1, sizeof(*f->ctx));
		dd_ctx_init(f->ctx, dev);
		f->ctx->event_file = f;
	} else {
		f->ctx = &dev->ctx;
	}
	dev->opens++;
	__atomic_store_n(&files[efd], f, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&dd_lock);
	if (dd_trace)
		fprintf(stderr, "v4l2dev: open %s -> fd %d\n", dev->paths[0],
			efd);
	return efd;
}

static int open_common(int dirfd, const char *path, int flags, mode_t mode)
{
	resolve();
	if (path) {
		struct dd_device *dev = dd_device_by_path(path);
		if (dev)
			return device_open(dev, flags);
		if (strncmp(path, "/sys/dev/char/", 14) == 0) {
			int fd = open_uevent(path);
			if (fd != -2)
				return fd;
		}
	}
	return real_openat(dirfd, path, flags, mode);
}

static mode_t mode_arg(int flags, va_list ap)
{
	if (flags & (O_CREAT | __O_TMPFILE))
		return (mode_t)va_arg(ap, int);
	return 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return open_common(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return open_common(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return open_common(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return open_common(dirfd, path, flags, mode);
}

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags, 0);
}

/* libstdc++'s ifstream (v4l2-ctl reads uevent with it) goes through fopen,
 * whose open inside glibc cannot be interposed. */
static FILE *fopen_common(const char *path, const char *mode)
{
	static FILE *(*real_fopen)(const char *, const char *);
	if (!real_fopen)
		real_fopen = dlsym(RTLD_NEXT, "fopen");
	if (path && strncmp(path, "/sys/dev/char/", 14) == 0) {
		int fd = open_uevent(path);
		if (fd >= 0)
			return fdopen(fd, "r");
	}
	return real_fopen(path, mode);
}

FILE *fopen(const char *path, const char *mode)
{
	return fopen_common(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	return fopen_common(path, mode);
}

int close(int fd)
{
	resolve();
	struct dd_file *f = file_of(fd);
	if (f) {
		pthread_mutex_lock(&dd_lock);
		__atomic_store_n(&files[fd], NULL, __ATOMIC_RELEASE);
		dd_ctx_release(f->ctx, f);
		if (f->dev->kind == DD_ENCODER) {
			free(f->ctx);
		}
		f->dev->opens--;
		pthread_mutex_unlock(&dd_lock);
		free(f);
	}
	return real_close(fd);
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	resolve();
	struct dd_file *f = file_of(fd);
	if (!f)
		return real_ioctl(fd, req, arg);
	int rc = dd_ioctl(f, req, arg);
	if (dd_trace)
		fprintf(stderr, "v4l2dev: fd %d ioctl %c/%lu -> %d (%s)\n", fd,
			(char)_IOC_TYPE(req), (unsigned long)_IOC_NR(req), rc,
			rc < 0 ? strerror(-rc) : "ok");
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

static void *map_common(void *addr, size_t len, int prot, int flags, int fd,
			off_t off)
{
	resolve();
	struct dd_file *f = file_of(fd);
	if (!f)
		return real_mmap(addr, len, prot, flags, fd, off);
	pthread_mutex_lock(&dd_lock);
	struct dd_buf *b =
	    dd_file_dead(f) ? NULL : dd_buf_by_offset(f, (uint64_t)off);
	if (!b || len > b->length || b->memfd < 0 || !(flags & MAP_SHARED)) {
		pthread_mutex_unlock(&dd_lock);
		errno = dd_file_dead(f) ? ENODEV : EINVAL;
		return MAP_FAILED;
	}
	void *p = real_mmap(addr, len, prot, flags, b->memfd, 0);
	if (p != MAP_FAILED) {
		for (unsigned i = 0; i < DD_MAX_MAPS; i++) {
			if (!maps[i].addr) {
				maps[i].addr = p;
				maps[i].len = len;
				maps[i].buf = b;
				b->mapped++;
				break;
			}
		}
	}
	pthread_mutex_unlock(&dd_lock);
	return p;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return map_common(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return map_common(addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
	resolve();
	pthread_mutex_lock(&dd_lock);
	for (unsigned i = 0; i < DD_MAX_MAPS; i++) {
		if (maps[i].addr == addr && maps[i].len == len) {
			if (maps[i].buf)
				maps[i].buf->mapped--;
			maps[i].addr = NULL;
			maps[i].buf = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&dd_lock);
	return real_munmap(addr, len);
}

/* The double's own mappings bypass the bookkeeping above (and its lock). */
void *dd_real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		   off_t off)
{
	resolve();
	return real_mmap(addr, len, prot, flags, fd, off);
}

int dd_real_munmap(void *addr, size_t len)
{
	resolve();
	return real_munmap(addr, len);
}

/* Called under dd_lock when buffers are freed: forget them in the map table
 * (the mappings themselves stay valid, like orphaned vb2 buffers). */
void dd_forget_maps(struct dd_buf *b);
void dd_forget_maps(struct dd_buf *b)
{
	for (unsigned i = 0; i < DD_MAX_MAPS; i++)
		if (maps[i].buf == b)
			maps[i].buf = NULL;
}

/* Under TSan, the runtime's poll, ppoll and select interceptors call ours as
 * their "real" function and ignore every interceptor for the duration of
 * the blocking call, our pthread_mutex_lock(&dd_lock) included: TSan then
 * reports the reads dd_poll_mask makes under that lock as racing with the
 * camera thread. Its annotation interface is not an interceptor, so we tell
 * it about the lock ourselves. */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define tsan_acquire(a) __tsan_acquire(a)
#define tsan_release(a) __tsan_release(a)
#else
#define tsan_acquire(a) ((void)(a))
#define tsan_release(a) ((void)(a))
#endif

static short locked_poll_mask(struct dd_file *f)
{
	pthread_mutex_lock(&dd_lock);
	tsan_acquire(&dd_lock);
	short m = dd_poll_mask(f);
	tsan_release(&dd_lock);
	pthread_mutex_unlock(&dd_lock);
	return m;
}

static int64_t poll_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? -1
			      : dd_mono_ns() + (int64_t)timeout_ms * 1000000;
}

/* poll() with exact driver semantics for our fds. The eventfd only says
 * "something changed"; the real readiness comes from dd_poll_mask. */
static int poll_common(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	resolve();
	bool ours = false;
	for (nfds_t i = 0; i < n; i++)
		if (file_of(fds[i].fd))
			ours = true;
	if (!ours)
		return real_poll(fds, n, timeout_ms);
	struct pollfd tmp[n];
	int64_t deadline = poll_deadline(timeout_ms);
	bool napping = false;
	for (;;) {
		for (nfds_t i = 0; i < n; i++) {
			tmp[i] = fds[i];
			if (file_of(fds[i].fd))
				tmp[i].events = napping ? 0 : POLLIN;
		}
		int wait_ms = timeout_ms;
		if (deadline >= 0) {
			int64_t left = deadline - dd_mono_ns();
			wait_ms =
			    left > 0 ? (int)((left + 999999) / 1000000) : 0;
		}
		if (napping && (wait_ms < 0 || wait_ms > 2))
			wait_ms = 2;
		int r = real_poll(tmp, n, wait_ms);
		if (r < 0)
			return r;
		int ready = 0;
		for (nfds_t i = 0; i < n; i++) {
			struct dd_file *f = file_of(fds[i].fd);
			if (f) {
				short m = locked_poll_mask(f);
				fds[i].revents =
				    m & (fds[i].events | POLLERR | POLLHUP |
					 POLLNVAL | POLLPRI);
				if (!(fds[i].events & POLLPRI))
					fds[i].revents &= ~POLLPRI;
			} else {
				fds[i].revents = tmp[i].revents;
			}
			if (fds[i].revents)
				ready++;
		}
		if (ready)
			return ready;
		if (deadline >= 0 && dd_mono_ns() >= deadline)
			return 0;
		/* Our eventfd was readable for a reason the caller did not ask
		 * about (e.g. POLLOUT ready, POLLIN wanted): nap briefly. */
		napping = r > 0;
	}
}

int poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	return poll_common(fds, n, timeout_ms);
}

int __poll_chk(struct pollfd *fds, nfds_t n, int timeout_ms, size_t fdslen);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout_ms, size_t fdslen)
{
	(void)fdslen;
	return poll_common(fds, n, timeout_ms);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
	  const sigset_t *mask)
{
	(void)mask;
	/* round up: a 0.5 ms wait must not become a busy 0 ms one */
	int ms =
	    ts ? (int)(ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000)
	       : -1;
	return poll_common(fds, n, ms);
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	resolve();
	bool ours = false;
	for (int fd = 0; fd < nfds && fd < DD_MAX_FDS; fd++)
		if (file_of(fd) &&
		    ((rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) ||
		     (ex && FD_ISSET(fd, ex))))
			ours = true;
	if (!ours)
		return real_select(nfds, rd, wr, ex, tv);
	struct pollfd pfd[nfds > 0 ? nfds : 1];
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = 0;
		if (rd && FD_ISSET(fd, rd))
			ev |= POLLIN;
		if (wr && FD_ISSET(fd, wr))
			ev |= POLLOUT;
		if (ex && FD_ISSET(fd, ex))
			ev |= POLLPRI;
		if (ev)
			pfd[n++] = (struct pollfd){.fd = fd, .events = ev};
	}
	int ms = tv ? (int)(tv->tv_sec * 1000 + tv->tv_usec / 1000) : -1;
	int r = poll_common(pfd, n, ms);
	if (r < 0)
		return r;
	if (rd)
		FD_ZERO(rd);
	if (wr)
		FD_ZERO(wr);
	if (ex)
		FD_ZERO(ex);
	int count = 0;
	for (nfds_t i = 0; i < n; i++) {
		short re = pfd[i].revents;
		if (rd && (re & (POLLIN | POLLERR | POLLHUP))) {
			FD_SET(pfd[i].fd, rd);
			count++;
		}
		if (wr && (re & (POLLOUT | POLLERR))) {
			FD_SET(pfd[i].fd, wr);
			count++;
		}
		if (ex && (re & POLLPRI)) {
			FD_SET(pfd[i].fd, ex);
			count++;
		}
	}
	return count;
}

ssize_t read(int fd, void *buf, size_t n)
{
	resolve();
	struct dd_file *f = file_of(fd);
	if (!f)
		return real_read(fd, buf, n);
	ssize_t r = dd_read(f, buf, n);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	(void)buflen;
	return read(fd, buf, n);
}

/* A device node looks like a character device 81:minor. */
static int stat_device(const char *path, struct stat *st)
{
	struct dd_device *dev = path ? dd_device_by_path(path) : NULL;
	if (!dev)
		return 1;
	pthread_mutex_lock(&dd_lock);
	bool gone = dev->gone_until && dd_mono_ns() < dev->gone_until;
	pthread_mutex_unlock(&dd_lock);
	if (gone) {
		errno = ENOENT;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0660;
	st->st_rdev = makedev(DD_MAJOR, dev->minor);
	st->st_nlink = 1;
	st->st_blksize = 4096;
	return 0;
}

int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	resolve();
	int r = stat_device(path, st);
	return r <= 0 ? r : real_fstatat(dirfd, path, st, flags);
}

int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return fstatat(dirfd, path, (struct stat *)st, flags);
}

int stat(const char *path, struct stat *st)
{
	return fstatat(AT_FDCWD, path, st, 0);
}

int stat64(const char *path, struct stat64 *st)
{
	return fstatat(AT_FDCWD, path, (struct stat *)st, 0);
}

int lstat(const char *path, struct stat *st)
{
	return fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

int lstat64(const char *path, struct stat64 *st)
{
	return fstatat(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

int fstat(int fd, struct stat *st)
{
	resolve();
	struct dd_file *f = file_of(fd);
	if (!f)
		return real_fstat(fd, st);
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0660;
	st->st_rdev = makedev(DD_MAJOR, f->dev->minor);
	st->st_nlink = 1;
	return 0;
}

int fstat64(int fd, struct stat64 *st)
{
	return fstat(fd, (struct stat *)st);
}

/* The eventfd the application holds: make it readable iff there is
 * something to dequeue or an event, so epoll users wake too. */
void dd_signal_update(struct dd_file *f)
{
	bool want = dd_poll_mask(f) & (POLLIN | POLLOUT | POLLPRI | POLLERR);
	if (want == f->signalled)
		return;
	uint64_t v = 1;
	if (want) {
		if (write(f->fd, &v, sizeof(v)) != sizeof(v))
			return;
	} else if (real_read(f->fd, &v, sizeof(v)) != sizeof(v)) {
		return;
	}
	f->signalled = want;
}
