/* The device list, read once from the file named by $VPIPE_V4L2_DOUBLE. */
#include "v4l2dev.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Recursive: a sanitizer reporting from a thread that holds dd_lock unmaps
 * its own scratch memory through our munmap, which takes dd_lock again (a
 * plain mutex deadlocked there, turning a TSan report into a hang). Nothing
 * else locks it twice, and every condition wait holds it once. */
pthread_mutex_t dd_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
struct dd_device dd_devices[DD_MAX_DEVICES];
unsigned dd_ndevices;
bool dd_trace;

int64_t dd_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct dd_device *dd_device_by_path(const char *path)
{
	for (unsigned i = 0; i < dd_ndevices; i++)
		for (unsigned j = 0; j < dd_devices[i].npaths; j++)
			if (strcmp(dd_devices[i].paths[j], path) == 0)
				return &dd_devices[i];
	return NULL;
}

static uint32_t fourcc_of(const char *s)
{
	char c[4] = {' ', ' ', ' ', ' '};
	for (unsigned i = 0; i < 4 && s[i]; i++)
		c[i] = s[i];
	return v4l2_fourcc(c[0], c[1], c[2], c[3]);
}

static void die(const char *file, int line, const char *what)
{
	fprintf(stderr, "v4l2dev: %s:%d: %s\n", file, line, what);
	exit(2);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static void set_key(struct dd_device *d, const char *key, char *val,
		    const char *file, int line)
{
	char *save = NULL, *tok;
	if (!strcmp(key, "path") || !strcmp(key, "alias")) {
		if (d->npaths == DD_MAX_PATHS)
			die(file, line, "too many paths");
		snprintf(d->paths[d->npaths++], sizeof(d->paths[0]), "%s", val);
	} else if (!strcmp(key, "type")) {
		if (!strcmp(val, "camera"))
			d->kind = DD_CAMERA;
		else if (!strcmp(val, "encoder"))
			d->kind = DD_ENCODER;
		else
			die(file, line, "type is camera or encoder");
	} else if (!strcmp(key, "driver")) {
		snprintf(d->driver, sizeof(d->driver), "%s", val);
	} else if (!strcmp(key, "card")) {
		snprintf(d->card, sizeof(d->card), "%s", val);
	} else if (!strcmp(key, "bus")) {
		snprintf(d->bus, sizeof(d->bus), "%s", val);
	} else if (!strcmp(key, "formats")) {
		for (tok = strtok_r(val, " ,", &save); tok;
		     tok = strtok_r(NULL, " ,", &save))
			if (d->nformats < DD_MAX_FORMATS)
				d->formats[d->nformats++] = fourcc_of(tok);
	} else if (!strcmp(key, "sizes")) {
		for (tok = strtok_r(val, " ,", &save); tok;
		     tok = strtok_r(NULL, " ,", &save)) {
			unsigned w, h;
			if (sscanf(tok, "%ux%u", &w, &h) != 2 || w < 2 || h < 2)
				die(file, line, "sizes are WxH");
			if (d->nsizes < DD_MAX_SIZES) {
				d->sizes[d->nsizes].w = w;
				d->sizes[d->nsizes++].h = h;
			}
		}
	} else if (!strcmp(key, "rates")) {
		for (tok = strtok_r(val, " ,", &save); tok;
		     tok = strtok_r(NULL, " ,", &save))
			if (d->nrates < DD_MAX_RATES && atoi(tok) > 0)
				d->rates[d->nrates++] = (uint32_t)atoi(tok);
	} else if (!strcmp(key, "h264")) {
		if (dd_h264_load(d, val) < 0)
			die(file, line, "cannot load the h264 file");
	} else if (!strcmp(key, "unplug-after")) {
		d->unplug_after = strtoull(val, NULL, 10);
	} else if (!strcmp(key, "unplug-for-ms")) {
		d->unplug_for_ns = strtoll(val, NULL, 10) * 1000000;
	} else if (!strcmp(key, "unplug-times")) {
		d->unplug_times = (unsigned)atoi(val);
	} else if (!strcmp(key, "dmabuf")) {
		if (strcmp(val, "yes") && strcmp(val, "no"))
			die(file, line, "dmabuf is yes or no");
		d->no_dmabuf = !strcmp(val, "no");
	} else {
		die(file, line, "unknown key");
	}
}

static void defaults(struct dd_device *d, unsigned minor)
{
	memset(d, 0, sizeof(*d));
	d->minor = minor;
	d->unplug_times = 1;
	d->unplug_for_ns = 500000000;
}

static void finish(struct dd_device *d)
{
	if (!d->driver[0])
		snprintf(d->driver, sizeof(d->driver), "%s",
			 d->kind == DD_ENCODER ? "bcm2835-codec" : "uvcvideo");
	if (!d->card[0])
		snprintf(d->card, sizeof(d->card), "%s",
			 d->kind == DD_ENCODER ? "bcm2835-codec-encode"
					       : "vpipe Double Camera");
	if (!d->bus[0])
		snprintf(d->bus, sizeof(d->bus), "%s",
			 d->kind == DD_ENCODER ? "platform:bcm2835-codec"
					       : "usb-0000:00:14.0-1");
	if (d->kind == DD_ENCODER) {
		d->nformats = 0;
		d->formats[d->nformats++] = V4L2_PIX_FMT_YUV420;
		d->formats[d->nformats++] = V4L2_PIX_FMT_NV12;
	}
	if (!d->nformats)
		d->formats[d->nformats++] = V4L2_PIX_FMT_YUYV;
	if (!d->nsizes) {
		d->sizes[0].w = 320;
		d->sizes[0].h = 240;
		d->nsizes = 1;
	}
	if (!d->nrates)
		d->rates[d->nrates++] = 30;
	dd_ctx_init(&d->ctx, d);
}

void dd_config_load(void)
{
	dd_trace = getenv("VPIPE_V4L2_DOUBLE_TRACE") != NULL;
	const char *file = getenv("VPIPE_V4L2_DOUBLE");
	if (!file || !*file)
		return;
	FILE *fp = fopen(file, "r");
	if (!fp)
		die(file, 0, "cannot open");
	char line[1024];
	int lineno = 0;
	struct dd_device *cur = NULL;
	while (fgets(line, sizeof(line), fp)) {
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			if (cur)
				finish(cur);
			if (dd_ndevices == DD_MAX_DEVICES)
				die(file, lineno, "too many devices");
			cur = &dd_devices[dd_ndevices];
			defaults(cur, dd_ndevices);
			dd_ndevices++;
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq || !cur)
			die(file, lineno, "expected [device] then key = value");
		*eq = 0;
		char *key = trim(s);
		set_key(cur, key, trim(eq + 1), file, lineno);
		if (!strcmp(key, "path")) {
			unsigned n;
			const char *p = cur->paths[cur->npaths - 1];
			if (sscanf(p, "/dev/video%u", &n) == 1)
				cur->minor = n;
		}
	}
	if (cur)
		finish(cur);
	fclose(fp);
}
