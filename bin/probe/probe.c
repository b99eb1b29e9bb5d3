/* vpipe probe: see probe.h. */
#include "probe.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "v4l2util.h"

static const struct {
	uint32_t bit;
	const char *name;
} cap_names[] = {
    {V4L2_CAP_VIDEO_CAPTURE, "video-capture"},
    {V4L2_CAP_VIDEO_CAPTURE_MPLANE, "video-capture-mplane"},
    {V4L2_CAP_VIDEO_OUTPUT, "video-output"},
    {V4L2_CAP_VIDEO_OUTPUT_MPLANE, "video-output-mplane"},
    {V4L2_CAP_VIDEO_M2M, "video-m2m"},
    {V4L2_CAP_VIDEO_M2M_MPLANE, "video-m2m-mplane"},
    {V4L2_CAP_META_CAPTURE, "metadata-capture"},
    {V4L2_CAP_READWRITE, "read-write"},
    {V4L2_CAP_STREAMING, "streaming"},
    {V4L2_CAP_EXT_PIX_FORMAT, "ext-pix-format"},
};

static const char *vpipe_format_name(uint32_t fourcc)
{
	switch (fourcc) {
	case V4L2_PIX_FMT_YUYV:
		return "yuyv";
	case V4L2_PIX_FMT_NV12:
		return "nv12";
	case V4L2_PIX_FMT_YUV420:
		return "i420";
	case V4L2_PIX_FMT_MJPEG:
		return "mjpeg";
	case V4L2_PIX_FMT_H264:
		return "h264";
	default:
		return NULL;
	}
}

/* Stable names pointing at this node (udev's /dev/v4l/by-id, by-path). */
static void print_stable_names(const char *path)
{
	char target[PATH_MAX];
	if (!realpath(path, target))
		return;
	static const char *const dirs[] = {"/dev/v4l/by-id",
					   "/dev/v4l/by-path"};
	for (unsigned i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char link[PATH_MAX], real[PATH_MAX];
			snprintf(link, sizeof(link), "%s/%s", dirs[i],
				 e->d_name);
			if (realpath(link, real) && !strcmp(real, target) &&
			    strcmp(link, path))
				printf("  stable name: %s\n", link);
		}
		closedir(d);
	}
}

static void print_sizes(int fd, uint32_t fourcc)
{
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_frmsizeenum s = {.index = i,
					     .pixel_format = fourcc};
		if (v4l2u_ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &s))
			return;
		if (s.type != V4L2_FRMSIZE_TYPE_DISCRETE) {
			printf("      %ux%u to %ux%u in steps of %ux%u\n",
			       s.stepwise.min_width, s.stepwise.min_height,
			       s.stepwise.max_width, s.stepwise.max_height,
			       s.stepwise.step_width, s.stepwise.step_height);
			return;
		}
		char rates[256];
		v4l2u_list_rates(fd, fourcc, s.discrete.width,
				 s.discrete.height, rates, sizeof(rates));
		printf("      %ux%u: %s\n", s.discrete.width, s.discrete.height,
		       rates);
	}
}

/* The first format/size/rate the device offers, for the INI example. */
struct first_offer {
	uint32_t fourcc, w, h;
	double fps;
};

static void print_formats(int fd, uint32_t type, const char *title,
			  struct first_offer *first)
{
	printf("  formats (%s):\n", title);
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_fmtdesc d = {.index = i, .type = type};
		if (v4l2u_ioctl(fd, VIDIOC_ENUM_FMT, &d))
			break;
		char fc[8];
		const char *vn = vpipe_format_name(d.pixelformat);
		printf(
		    "    %-4s  %.32s%s  [%s%s]\n",
		    v4l2u_fourcc_str(d.pixelformat, fc),
		    (const char *)d.description,
		    (d.flags & V4L2_FMT_FLAG_COMPRESSED) ? ", compressed" : "",
		    vn ? "format = " : "not supported by vpipe", vn ? vn : "");
		print_sizes(fd, d.pixelformat);
		if (first && vn && !first->fourcc) {
			struct v4l2_frmsizeenum s = {
			    .index = 0, .pixel_format = d.pixelformat};
			if (v4l2u_ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &s) == 0 &&
			    s.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
				first->fourcc = d.pixelformat;
				first->w = s.discrete.width;
				first->h = s.discrete.height;
				struct v4l2_frmivalenum v = {
				    .pixel_format = d.pixelformat,
				    .width = first->w,
				    .height = first->h};
				if (v4l2u_ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS,
						&v) == 0 &&
				    v.type == V4L2_FRMIVAL_TYPE_DISCRETE &&
				    v.discrete.numerator)
					first->fps =
					    (double)v.discrete.denominator /
					    v.discrete.numerator;
			}
		}
	}
}

static void ctrl_name(const char *in, char *out, size_t len)
{
	size_t j = 0;
	for (size_t i = 0; in[i] && j + 1 < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (isalnum(c))
			out[j++] = (char)tolower(c);
		else if (j && out[j - 1] != '_')
			out[j++] = '_';
	}
	while (j && out[j - 1] == '_')
		j--;
	out[j] = 0;
}

static void print_menu(int fd, const struct v4l2_queryctrl *q, int32_t cur)
{
	printf(":");
	for (int32_t i = q->minimum; i <= q->maximum; i++) {
		struct v4l2_querymenu m = {.id = q->id, .index = (uint32_t)i};
		if (v4l2u_ioctl(fd, VIDIOC_QUERYMENU, &m))
			continue;
		printf(" %d=%.32s%s", i, (const char *)m.name,
		       i == cur ? "*" : "");
	}
}

static void print_controls(int fd)
{
	printf("  controls:\n");
	uint32_t id = V4L2_CTRL_FLAG_NEXT_CTRL;
	for (unsigned n = 0; n < 1024; n++) {
		struct v4l2_queryctrl q = {.id = id};
		if (v4l2u_ioctl(fd, VIDIOC_QUERYCTRL, &q))
			break;
		id = q.id | V4L2_CTRL_FLAG_NEXT_CTRL;
		if (q.flags & V4L2_CTRL_FLAG_DISABLED)
			continue;
		if (q.type == V4L2_CTRL_TYPE_CTRL_CLASS) {
			printf("    -- %.32s --\n", (const char *)q.name);
			continue;
		}
		char name[40];
		ctrl_name((const char *)q.name, name, sizeof(name));
		struct v4l2_control c = {.id = q.id};
		bool readable = !(q.flags & V4L2_CTRL_FLAG_WRITE_ONLY) &&
				v4l2u_ioctl(fd, VIDIOC_G_CTRL, &c) == 0;
		const char *type = q.type == V4L2_CTRL_TYPE_INTEGER   ? "int"
				   : q.type == V4L2_CTRL_TYPE_BOOLEAN ? "bool"
				   : q.type == V4L2_CTRL_TYPE_MENU    ? "menu"
				   : q.type == V4L2_CTRL_TYPE_BUTTON  ? "button"
								      : "other";
		printf("    %-28s 0x%08x %-6s", name, q.id, type);
		if (q.type == V4L2_CTRL_TYPE_BUTTON) {
			printf("\n");
			continue;
		}
		printf(" %d..%d", q.minimum, q.maximum);
		if (q.step > 1)
			printf(" step %d", q.step);
		printf(" default %d", q.default_value);
		if (readable)
			printf(" now %d", c.value);
		if (q.type == V4L2_CTRL_TYPE_MENU)
			print_menu(fd, &q,
				   readable ? c.value : q.default_value);
		printf("\n");
	}
}

static void print_caps(uint32_t caps)
{
	printf("  capabilities:");
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (caps & cap_names[i].bit)
			printf(" %s", cap_names[i].name);
	printf(" (0x%08x)\n", caps);
}

static int probe_one(const char *path)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
		return 1;
	}
	struct v4l2_capability cap;
	memset(&cap, 0, sizeof(cap));
	int rc = v4l2u_ioctl(fd, VIDIOC_QUERYCAP, &cap);
	if (rc) {
		fprintf(stderr, "%s: not a V4L2 device (VIDIOC_QUERYCAP: %s)\n",
			path, strerror(-rc));
		close(fd);
		return 1;
	}
	uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS)
			    ? cap.device_caps
			    : cap.capabilities;
	printf("%s: %.32s (driver %.16s, bus %.32s, version %u.%u.%u)\n", path,
	       (const char *)cap.card, (const char *)cap.driver,
	       (const char *)cap.bus_info, cap.version >> 16,
	       (cap.version >> 8) & 0xff, cap.version & 0xff);
	print_caps(caps);
	print_stable_names(path);
	struct first_offer first = {0};
	bool m2m = caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE);
	if (m2m) {
		bool mp = caps & V4L2_CAP_VIDEO_M2M_MPLANE;
		print_formats(fd,
			      mp ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE
				 : V4L2_BUF_TYPE_VIDEO_OUTPUT,
			      "output: what it takes", NULL);
		print_formats(fd,
			      mp ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE
				 : V4L2_BUF_TYPE_VIDEO_CAPTURE,
			      "capture: what it makes", NULL);
	} else if (caps & V4L2_CAP_VIDEO_CAPTURE) {
		print_formats(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, "video capture",
			      &first);
	} else if (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE) {
		print_formats(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
			      "video capture, multi-planar", NULL);
	}
	print_controls(fd);
	close(fd);
	if (m2m) {
		printf("  use with: module = v4l2m2m, device = %s\n", path);
	} else if (first.fourcc) {
		printf("  use with: module = v4l2, device = %s, format = %s, "
		       "width = %u, height = %u, framerate = %g\n",
		       path, vpipe_format_name(first.fourcc), first.w, first.h,
		       first.fps ? first.fps : 30);
	}
	return 0;
}

int probe_main(int argc, char **argv)
{
	if (argc > 1 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: vpipe probe [DEVICE...]\n"
		       "  lists what each V4L2 device offers: capabilities, "
		       "formats, sizes,\n  frame rates, controls (no DEVICE: "
		       "every /dev/video*)\n"
		       "usage: vpipe probe --libcamera\n"
		       "  lists libcamera's cameras: sensor modes, formats, "
		       "controls\n");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--libcamera"))
		return probe_libcamera();
	int rc = 0;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			rc |= probe_one(argv[i]);
		return rc;
	}
	glob_t g;
	if (glob("/dev/video*", 0, NULL, &g) != 0) {
		fprintf(stderr, "no /dev/video* devices found (is the camera "
				"connected and its driver loaded?)\n");
		return 1;
	}
	for (size_t i = 0; i < g.gl_pathc; i++)
		rc |= probe_one(g.gl_pathv[i]);
	globfree(&g);
	return rc;
}
