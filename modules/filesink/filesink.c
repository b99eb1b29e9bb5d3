/* filesink: writes each frame's bytes to a file, in order.
 *
 * Frames are gathered in a buffer and written in large pieces, so a stream
 * of small frames does not cost a system call each: the buffer is written
 * when the next frame would not fit, at end of stream, at stop, and every
 * flush-interval while frames trickle in (a live stream's file never lags
 * by more than that). A frame larger than half the buffer is not copied:
 * it goes out in the same writev() as what is buffered before it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vpipe/vpipe.h>

struct filesink_config {
	const char *location;
	bool append;
	bool sync;
	int64_t buffer_size;
	int64_t flush_interval;
};

static const struct vpipe_param params[] = {
    VPIPE_P_PATH("location", struct filesink_config, location, NULL,
		 VPIPE_PARAM_REQUIRED, "file to write"),
    VPIPE_P_BOOL("append", struct filesink_config, append, "false",
		 "append to the file instead of replacing it"),
    VPIPE_P_BOOL("sync", struct filesink_config, sync, "false",
		 "fsync when the stream ends"),
    VPIPE_P_SIZE("buffer-size", struct filesink_config, buffer_size, "1M", 0,
		 64 << 20,
		 "bytes gathered before one write; 0: write each frame as it "
		 "comes"),
    VPIPE_P_DURATION("flush-interval", struct filesink_config, flush_interval,
		     "500ms", 0, 3600, VPIPE_MS,
		     "write what is buffered at least this often; 0: only "
		     "when the buffer fills and at the end"),
    VPIPE_P_END,
};

struct filesink {
	struct vpipe_node *node;
	const struct filesink_config *cfg;
	int fd;
	uint64_t bytes; /* written to the file so far */
	uint8_t *buf;
	size_t cap, len; /* buffer size, bytes waiting in it */
};

static int filesink_create(struct vpipe_node *node, const void *config,
			   void **state)
{
	const struct filesink_config *cfg = config;
	struct filesink *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->node = node;
	s->cfg = cfg;
	s->fd = -1;
	s->cap = (size_t)cfg->buffer_size;
	*state = s;
	return 0;
}

static int filesink_start(void *state)
{
	struct filesink *s = state;
	if (s->cap && !(s->buf = malloc(s->cap))) {
		vpipe_error(s->node, "out of memory for a %zu-byte buffer",
			    s->cap);
		return -1;
	}
	s->len = 0;
	s->bytes = 0;
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC |
		    (s->cfg->append ? O_APPEND : O_TRUNC);
	s->fd = open(s->cfg->location, flags, 0644);
	if (s->fd < 0) {
		vpipe_error(s->node, "cannot open %s for writing: %s",
			    s->cfg->location, strerror(errno));
		return -1;
	}
	if (s->cap && s->cfg->flush_interval)
		vpipe_node_set_timer(s->node, s->cfg->flush_interval);
	return 0;
}

/* Write iov[0..n) completely, resuming after short writes. The buffer is
 * empty afterwards whatever happens: on error its bytes are lost, and the
 * message says at which byte of the file writing stopped. */
static int write_all(struct filesink *s, struct iovec *iov, int n)
{
	s->len = 0;
	while (n > 0) {
		ssize_t w = writev(s->fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			vpipe_error(s->node, "write %s at byte %llu: %s",
				    s->cfg->location,
				    (unsigned long long)s->bytes,
				    strerror(errno));
			return -1;
		}
		s->bytes += (uint64_t)w;
		size_t done = (size_t)w;
		while (n > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/* Write what is buffered, then `extra` bytes (may be NULL), in one call. */
static int write_out(struct filesink *s, const uint8_t *extra, size_t n)
{
	struct iovec iov[2];
	int k = 0;
	if (s->len)
		iov[k++] =
		    (struct iovec){.iov_base = s->buf, .iov_len = s->len};
	if (n)
		iov[k++] =
		    (struct iovec){.iov_base = (void *)extra, .iov_len = n};
	return k ? write_all(s, iov, k) : 0;
}

static int filesink_process(void *state, unsigned port,
			    const struct vpipe_frame *f)
{
	struct filesink *s = state;
	(void)port;
	if (f->size == 0)
		return 0;
	/* A large frame goes out directly with what is buffered; a small one
	 * that does not fit empties the buffer first. */
	if (f->size > s->cap / 2)
		return write_out(s, f->data, f->size);
	if (f->size > s->cap - s->len && write_out(s, NULL, 0))
		return -1;
	memcpy(s->buf + s->len, f->data, f->size);
	s->len += f->size;
	return 0;
}

/* End of stream, and every flush-interval: the file gets what we hold. */
static int filesink_flush(void *state)
{
	return write_out(state, NULL, 0);
}

static void filesink_stop(void *state)
{
	struct filesink *s = state;
	if (s->fd >= 0) {
		write_out(s, NULL, 0); /* stopped without end of stream */
		if (s->cfg->sync && fsync(s->fd))
			vpipe_error(s->node, "fsync %s: %s", s->cfg->location,
				    strerror(errno));
		close(s->fd);
		s->fd = -1;
	}
	free(s->buf);
	s->buf = NULL;
	s->len = 0;
}

static void filesink_destroy(void *state)
{
	filesink_stop(state);
	free(state);
}

static const struct vpipe_port inputs[] = {
    {.name = "sink", .media = VPIPE_MEDIA_ANY & ~VPIPE_MEDIA_EVENT},
    {.name = NULL},
};

VPIPE_MODULE = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "filesink",
    .version = "1.1",
    .summary = "writes each frame's bytes to a file, in large writes",
    .inputs = inputs,
    .params = params,
    .config_size = sizeof(struct filesink_config),
    .create = filesink_create,
    .start = filesink_start,
    .process = filesink_process,
    .flush = filesink_flush,
    .stop = filesink_stop,
    .destroy = filesink_destroy,
    .timer = filesink_flush,
};
