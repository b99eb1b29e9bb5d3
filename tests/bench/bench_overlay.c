/* Cost of the overlay at 1080p30, beside GStreamer's clockoverlay doing
 * the same job in the same run.
 *
 *  1. In process: 900 I420 and NV12 1920x1080 pictures, one capture time
 *     1/30 s apart, each copied (the module's input is shared and
 *     immutable) and given "%Y-%m-%d %H:%M:%S" at 48 px with a 2 px
 *     outline: µs per frame for the whole job, for the copy alone, and
 *     the text renders (30 times fewer than frames: once a second).
 *  2. As pipelines: `vpipe run` testsrc -> overlay -> null against
 *     testsrc -> null, and `gst-launch-1.0 -q` videotestsrc -> clockoverlay
 *     -> fakesink against videotestsrc -> fakesink, 900 frames of 1080p
 *     I420 each; the difference in CPU time (user + system, best of 3)
 *     over 900 is each overlay's µs per frame. */
#include <stdio.h>
#ifdef HAVE_FREETYPE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "modules/overlay/ov_draw.h"
#include "modules/overlay/ov_font.h"
#include "modules/overlay/ov_text.h"

#define FONT   "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
#define W      1920
#define H      1080
#define FRAMES 900
#define ROUNDS 3

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void in_process(struct ov_font *font, int nv12)
{
	size_t luma = (size_t)W * H, size = luma * 3 / 2;
	uint8_t *src = malloc(size), *dst = malloc(size);
	for (size_t i = 0; i < size; i++)
		src[i] = (uint8_t)(i * 7 + i / W);
	uint32_t stride[3] = {W, nv12 ? W : W / 2, nv12 ? 0 : W / 2};
	uint8_t *planes[3] = {dst, dst + luma,
			      nv12 ? NULL : dst + luma * 5 / 4};
	struct ov_style st = {.color = {235, 128, 128},
			      .outline = 2,
			      .padding = 4,
			      .anchor = OV_TOP_LEFT,
			      .margin = 16,
			      .x = -1,
			      .y = -1};
	struct ov_vars vars = {.node = "cam"};
	struct ov_image img = {0};
	double best = 1e9, best_copy = 1e9;
	int renders = 0;
	for (int r = 0; r < ROUNDS; r++) {
		char shown[OV_TEXT_MAX] = "";
		renders = 0;
		double t0 = now_s();
		for (int n = 0; n < FRAMES; n++) {
			time_t t = 1800000000 + n / 30;
			struct tm tm;
			gmtime_r(&t, &tm);
			char text[OV_TEXT_MAX];
			ov_pattern_expand("%Y-%m-%d %H:%M:%S", &vars, &tm, text,
					  sizeof(text));
			if (strcmp(text, shown)) {
				ov_compose(&img, font, text, &st, W, H);
				memcpy(shown, text, sizeof(text));
				renders++;
			}
			memcpy(dst, src, size);
			ov_blend(&img, planes, stride, nv12);
		}
		double t1 = now_s();
		for (int n = 0; n < FRAMES; n++) {
			memcpy(dst, src + (n & 1), size - 1);
		}
		double t2 = now_s();
		best = t1 - t0 < best ? t1 - t0 : best;
		best_copy = t2 - t1 < best_copy ? t2 - t1 : best_copy;
	}
	printf("overlay in process, %s %dx%d: %.1f us/frame (copy alone %.1f "
	       "us/frame; %d text renders in %d frames)\n",
	       nv12 ? "nv12" : "i420", W, H, best / FRAMES * 1e6,
	       best_copy / FRAMES * 1e6, renders, FRAMES);
	ov_image_free(&img);
	free(src);
	free(dst);
}

static double children_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Least CPU time (user + system, all threads) of a shell command over
 * ROUNDS runs; CPU time rather than wall time because both pipelines run
 * their elements on several threads, and other processes share the
 * machine. <0 if it failed. */
static double run(const char *cmd)
{
	double best = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = children_cpu_s();
		if (system(cmd) != 0)
			return -1;
		double t = children_cpu_s() - t0;
		best = t < best ? t : best;
	}
	return best;
}

static void per_frame(const char *what, double with, double without)
{
	if (with < 0 || without < 0) {
		printf("%s: skipped (the command failed)\n", what);
		return;
	}
	printf(
	    "%s: %.1f us/frame (CPU %.3f s with, %.3f s without, %d frames)\n",
	    what, (with - without) / FRAMES * 1e6, with, without, FRAMES);
}

static void vpipe_pipelines(void)
{
	const char *vpipe = getenv("VPIPE");
	if (!vpipe) {
		printf("vpipe pipeline: skipped (run through make bench)\n");
		return;
	}
	char dir[] = "/tmp/vpipe-bench-ov.XXXXXX";
	if (!mkdtemp(dir))
		return;
	char path[2][64], cmd[2][512];
	for (int k = 0; k < 2; k++) {
		snprintf(path[k], sizeof(path[k]), "%s/%d.ini", dir, k);
		FILE *f = fopen(path[k], "w");
		if (!f)
			return;
		fprintf(f,
			"[cam]\nmodule = testsrc\nwidth = %d\nheight = %d\n"
			"num-frames = %d\nis-live = false\n\n",
			W, H, FRAMES);
		if (k)
			fprintf(f, "[ov]\nmodule = overlay\ninput = cam\n"
				   "size = 48\n\n");
		fprintf(f, "[out]\nmodule = null\ninput = %s\n",
			k ? "ov" : "cam");
		fclose(f);
		snprintf(cmd[k], sizeof(cmd[k]), "'%s' run '%s' 2>/dev/null",
			 vpipe, path[k]);
	}
	per_frame("vpipe testsrc -> overlay -> null", run(cmd[1]), run(cmd[0]));
	unlink(path[0]);
	unlink(path[1]);
	rmdir(dir);
}

static void gst_pipelines(void)
{
	if (system("gst-inspect-1.0 clockoverlay >/dev/null 2>&1") != 0) {
		printf("gst clockoverlay: skipped (needs gstreamer1.0-x)\n");
		return;
	}
	char with[512], without[512];
	const char *src = "gst-launch-1.0 -q videotestsrc num-buffers=900 ! "
			  "video/x-raw,format=I420,width=1920,height=1080,"
			  "framerate=30/1";
	snprintf(with, sizeof(with),
		 "%s ! clockoverlay font-desc=\"Sans 36\" ! fakesink", src);
	snprintf(without, sizeof(without), "%s ! fakesink", src);
	per_frame("gst videotestsrc -> clockoverlay -> fakesink", run(with),
		  run(without));
}

int main(void)
{
	if (access(FONT, R_OK) != 0) {
		printf("SKIP: needs %s (fonts-dejavu-core)\n", FONT);
		return 77;
	}
	char err[256];
	struct ov_font *font;
	if (ov_font_open(FONT, 48, &font, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	in_process(font, 0);
	in_process(font, 1);
	ov_font_close(font);
	vpipe_pipelines();
	gst_pipelines();
	return 0;
}
#else
int main(void)
{
	printf("SKIP: built without FreeType (pkg-config freetype2)\n");
	return 77;
}
#endif
