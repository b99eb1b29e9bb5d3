/* filesink: writes each frame's bytes to a file, in order. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vpipe/vpipe.h>

struct filesink_config {
	const char *location;
	bool append;
	bool sync;
};

static const struct vpipe_param params[] = {
	VPIPE_P_PATH("location", struct filesink_config, location, NULL,
		     VPIPE_PARAM_REQUIRED, "file to write"),
	VPIPE_P_BOOL("append", struct filesink_config, append, "false",
		     "append to the file instead of replacing it"),
	VPIPE_P_BOOL("sync", struct filesink_config, sync, "false",
		     "fsync when the stream ends"),
	VPIPE_P_END,
};

struct filesink {
	struct vpipe_node *node;
	const struct filesink_config *cfg;
	int fd;
	uint64_t bytes;
};

static int filesink_create(struct vpipe_node *node, const void *config,
			   void **state)
{
	struct filesink *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->node = node;
	s->cfg = config;
	s->fd = -1;
	*state = s;
	return 0;
}

static int filesink_start(void *state)
{
	struct filesink *s = state;
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC |
		    (s->cfg->append ? O_APPEND : O_TRUNC);
	s->fd = open(s->cfg->location, flags, 0644);
	if (s->fd < 0) {
		vpipe_error(s->node, "cannot open %s for writing: %s",
			    s->cfg->location, strerror(errno));
		return -1;
	}
	return 0;
}

static int filesink_process(void *state, unsigned port,
			    const struct vpipe_frame *f)
{
	struct filesink *s = state;
	(void)port;
	size_t done = 0;
	while (done < f->size) {
		ssize_t w = write(s->fd, f->data + done, f->size - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			vpipe_error(s->node, "write %s at byte %llu: %s",
				    s->cfg->location,
				    (unsigned long long)(s->bytes + done),
				    strerror(errno));
			return -1;
		}
		done += (size_t)w;
	}
	s->bytes += done;
	return 0;
}

static void filesink_stop(void *state)
{
	struct filesink *s = state;
	if (s->fd < 0)
		return;
	if (s->cfg->sync && fsync(s->fd))
		vpipe_error(s->node, "fsync %s: %s", s->cfg->location,
			    strerror(errno));
	close(s->fd);
	s->fd = -1;
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
	.version = "1.0",
	.summary = "writes each frame's bytes to a file",
	.inputs = inputs,
	.params = params,
	.config_size = sizeof(struct filesink_config),
	.create = filesink_create,
	.start = filesink_start,
	.process = filesink_process,
	.stop = filesink_stop,
	.destroy = filesink_destroy,
};
