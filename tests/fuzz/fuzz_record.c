/* libFuzzer target for the record module: any sequence of frames, valid or
 * not, must leave it consistent (no crash, no sanitizer report, no leak),
 * whatever it writes.
 *
 * Input: records of [flags byte][length, 2 bytes big-endian][frame bytes];
 * flags bit 0 marks a header frame, bit 1 a fragment start, bits 2-7 move
 * the clock (tens of ms). Small segment-size and segment-duration make it
 * rotate often, so cluster patching, finalisation and rotation all run.
 * Files go to a directory under /dev/shm (or /tmp) that is emptied after
 * each input. The kernel calls the module makes are defined here. */
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vpipe/vpipe.h>

static int64_t now_ns;

int64_t vpipe_now(void)
{
	return now_ns;
}

int64_t vpipe_wallclock(void)
{
	return 1700000000LL * 1000000000LL + now_ns;
}

void vpipe_node_count(struct vpipe_node *n, const char *name, int64_t d)
{
	(void)n, (void)name, (void)d;
}

void vpipe_node_gauge(struct vpipe_node *n, const char *name, int64_t v)
{
	(void)n, (void)name, (void)v;
}

/* The module's timer runs from the input loop below at this interval of
 * the fuzz clock, as the kernel would run it between frames. */
static int64_t timer_interval, next_timer;

void vpipe_node_set_timer(struct vpipe_node *n, int64_t interval_ns)
{
	(void)n;
	timer_interval = interval_ns > 0 ? interval_ns : 0;
	next_timer = now_ns + timer_interval;
}

const char *vpipe_node_name(const struct vpipe_node *n)
{
	(void)n;
	return "fz";
}

bool vpipe_log_enabled(int level)
{
	(void)level;
	return false;
}

void vpipe_vlog(struct vpipe_node *n, int level, const char *fmt, va_list ap)
{
	char line[512];
	(void)n, (void)level;
	vsnprintf(line, sizeof(line), fmt, ap); /* formats must be sound */
}

void vpipe_log(struct vpipe_node *n, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vpipe_vlog(n, level, fmt, ap);
	va_end(ap);
}

extern const struct vpipe_module vpipe_module;

struct record_cfg {
	const char *location;
	int64_t segment_duration, segment_size, max_size_mb, max_age;
	int on_full;
	int64_t sync_interval;
	const char *file_prefix;
};

static char dir[64];

static void empty_dir(void)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char p[400];
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
}

static void remove_dir(void)
{
	empty_dir();
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s/fuzz_record.%d",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
			 (int)getpid());
		mkdir(dir, 0755);
		atexit(remove_dir);
	}
	struct record_cfg cfg = {
	    .location = dir,
	    .segment_duration = 1000000000LL,
	    .segment_size = 4096,
	    .sync_interval = 500000000LL,
	    .file_prefix = "f-",
	};
	static int dummy;
	void *st = NULL;
	now_ns = 0;
	timer_interval = 0;
	if (vpipe_module.create((struct vpipe_node *)&dummy, &cfg, &st))
		return 0;
	vpipe_module.start(st);
	size_t off = 0;
	while (off + 3 <= size) {
		uint8_t flags = data[off];
		size_t len = ((size_t)data[off + 1] << 8) | data[off + 2];
		off += 3;
		if (len > size - off)
			len = size - off;
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy)
			break;
		memcpy(copy, data + off, len);
		off += len;
		now_ns += (int64_t)(flags >> 2) * 10000000LL;
		struct vpipe_frame f = {
		    .media = VPIPE_MEDIA_MKV,
		    .flags = ((flags & 1) ? VPIPE_FLAG_HEADER : 0) |
			     ((flags & 2) ? VPIPE_FLAG_FRAGMENT_START : 0),
		    .pts = now_ns,
		    .duration = 33000000,
		    .wallclock = vpipe_wallclock(),
		    .data = copy,
		    .size = len,
		};
		vpipe_module.process(st, 0, &f);
		free(copy);
		if (timer_interval && now_ns >= next_timer) {
			next_timer = now_ns + timer_interval;
			vpipe_module.timer(st);
		}
	}
	vpipe_module.flush(st);
	vpipe_module.stop(st);
	vpipe_module.destroy(st);
	empty_dir();
	return 0;
}
