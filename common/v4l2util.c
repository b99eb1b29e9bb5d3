/* V4L2 device enumeration: see v4l2util.h. */
#include "v4l2util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/videodev2.h>

#include <vpipe/module.h>

int v4l2u_ioctl(int fd, unsigned long req, void *arg)
{
	int r;
	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

const char *v4l2u_fourcc_str(uint32_t fourcc, char buf[8])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((fourcc >> (8 * i)) & 0xff);
		buf[i] = (c >= 32 && c < 127) ? c : '.';
	}
	buf[4] = 0;
	for (int i = 3; i > 0 && buf[i] == ' '; i--)
		buf[i] = 0;
	return buf;
}

int v4l2u_caps(int fd, uint32_t *caps, char *card, size_t cardlen, char *driver,
	       size_t driverlen)
{
	struct v4l2_capability cap;
	memset(&cap, 0, sizeof(cap));
	int rc = v4l2u_ioctl(fd, VIDIOC_QUERYCAP, &cap);
	if (rc)
		return rc;
	*caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps
							  : cap.capabilities;
	if (card && cardlen)
		snprintf(card, cardlen, "%.32s", (const char *)cap.card);
	if (driver && driverlen)
		snprintf(driver, driverlen, "%.16s", (const char *)cap.driver);
	return 0;
}

int v4l2u_has_format(int fd, uint32_t buftype, uint32_t fourcc)
{
	for (uint32_t i = 0; i < 256; i++) {
		struct v4l2_fmtdesc d = {.index = i, .type = buftype};
		int rc = v4l2u_ioctl(fd, VIDIOC_ENUM_FMT, &d);
		if (rc == -EINVAL)
			return 0;
		if (rc)
			return rc;
		if (d.pixelformat == fourcc)
			return 1;
	}
	return 0;
}

static bool in_steps(uint32_t v, uint32_t min, uint32_t max, uint32_t step)
{
	return v >= min && v <= max && (step <= 1 || (v - min) % step == 0);
}

int v4l2u_size_offered(int fd, uint32_t fourcc, uint32_t w, uint32_t h)
{
	for (uint32_t i = 0; i < 1024; i++) {
		struct v4l2_frmsizeenum s = {.index = i,
					     .pixel_format = fourcc};
		int rc = v4l2u_ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &s);
		if (rc)
			return i == 0 ? -ENOTTY : 0;
		if (s.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
			if (s.discrete.width == w && s.discrete.height == h)
				return 1;
			continue;
		}
		return in_steps(w, s.stepwise.min_width, s.stepwise.max_width,
				s.stepwise.step_width) &&
		       in_steps(h, s.stepwise.min_height, s.stepwise.max_height,
				s.stepwise.step_height);
	}
	return 0;
}

static double fract_fps(const struct v4l2_fract *f)
{
	return f->numerator ? (double)f->denominator / f->numerator : 0;
}

static bool fps_close(double a, double b)
{
	return a > b ? a - b <= a * 0.005 : b - a <= b * 0.005;
}

int v4l2u_rate_offered(int fd, uint32_t fourcc, uint32_t w, uint32_t h,
		       double fps)
{
	for (uint32_t i = 0; i < 1024; i++) {
		struct v4l2_frmivalenum v = {.index = i,
					     .pixel_format = fourcc,
					     .width = w,
					     .height = h};
		int rc = v4l2u_ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &v);
		if (rc)
			return i == 0 ? -ENOTTY : 0;
		if (v.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
			if (fps_close(fract_fps(&v.discrete), fps))
				return 1;
			continue;
		}
		/* stepwise/continuous: fps between 1/max and 1/min interval */
		double hi = fract_fps(&v.stepwise.min);
		double lo = fract_fps(&v.stepwise.max);
		return fps >= lo * 0.995 && fps <= hi * 1.005;
	}
	return 0;
}

static void append(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *out, size_t len, const char *fmt, ...)
{
	size_t used = strlen(out);
	if (used + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out + used, len - used, fmt, ap);
	va_end(ap);
}

void v4l2u_list_formats(int fd, uint32_t buftype, char *out, size_t len)
{
	out[0] = 0;
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_fmtdesc d = {.index = i, .type = buftype};
		if (v4l2u_ioctl(fd, VIDIOC_ENUM_FMT, &d))
			break;
		char fc[8];
		append(out, len, "%s%s (%.32s)", i ? ", " : "",
		       v4l2u_fourcc_str(d.pixelformat, fc),
		       (const char *)d.description);
	}
	if (!out[0])
		snprintf(out, len, "no formats");
}

void v4l2u_list_sizes(int fd, uint32_t fourcc, char *out, size_t len)
{
	out[0] = 0;
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_frmsizeenum s = {.index = i,
					     .pixel_format = fourcc};
		if (v4l2u_ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &s))
			break;
		if (s.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
			append(out, len, "%s%ux%u", i ? ", " : "",
			       s.discrete.width, s.discrete.height);
			continue;
		}
		append(out, len, "%ux%u to %ux%u in steps of %ux%u",
		       s.stepwise.min_width, s.stepwise.min_height,
		       s.stepwise.max_width, s.stepwise.max_height,
		       s.stepwise.step_width, s.stepwise.step_height);
		break;
	}
	if (!out[0])
		snprintf(out, len,
			 "no size list (the driver does not "
			 "enumerate sizes)");
}

void v4l2u_list_rates(int fd, uint32_t fourcc, uint32_t w, uint32_t h,
		      char *out, size_t len)
{
	out[0] = 0;
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_frmivalenum v = {.index = i,
					     .pixel_format = fourcc,
					     .width = w,
					     .height = h};
		if (v4l2u_ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &v))
			break;
		if (v.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
			append(out, len, "%s%g", i ? ", " : "",
			       fract_fps(&v.discrete));
			continue;
		}
		append(out, len, "%g to %g", fract_fps(&v.stepwise.max),
		       fract_fps(&v.stepwise.min));
		break;
	}
	if (!out[0])
		snprintf(out, len,
			 "no rate list (the driver does not "
			 "enumerate frame intervals)");
	else
		append(out, len, " fps");
}

bool v4l2u_ctrl_exists(int fd, uint32_t id)
{
	struct v4l2_queryctrl q = {.id = id};
	return v4l2u_ioctl(fd, VIDIOC_QUERYCTRL, &q) == 0 &&
	       !(q.flags & V4L2_CTRL_FLAG_DISABLED);
}

int v4l2u_ctrl_set(int fd, uint32_t id, int32_t value, int32_t *min,
		   int32_t *max)
{
	struct v4l2_queryctrl q = {.id = id};
	if (v4l2u_ioctl(fd, VIDIOC_QUERYCTRL, &q) ||
	    (q.flags & V4L2_CTRL_FLAG_DISABLED))
		return -EINVAL;
	if (min)
		*min = q.minimum;
	if (max)
		*max = q.maximum;
	if (q.type != V4L2_CTRL_TYPE_BUTTON &&
	    (value < q.minimum || value > q.maximum))
		return -ERANGE;
	struct v4l2_ext_control c = {.id = id, .value = value};
	struct v4l2_ext_controls cs = {
	    .which = V4L2_CTRL_ID2WHICH(id), .count = 1, .controls = &c};
	int rc = v4l2u_ioctl(fd, VIDIOC_S_EXT_CTRLS, &cs);
	if (rc == -ENOTTY) { /* old drivers: the single-control ioctl */
		struct v4l2_control sc = {.id = id, .value = value};
		rc = v4l2u_ioctl(fd, VIDIOC_S_CTRL, &sc);
	}
	return rc;
}

int v4l2u_ctrl_set_or_warn(int fd, struct vpipe_node *node, const char *path,
			   const char *card, uint32_t id, int32_t value,
			   const char *what)
{
	int32_t min = 0, max = 0;
	int rc = v4l2u_ctrl_set(fd, id, value, &min, &max);
	if (rc == -EINVAL)
		vpipe_warn(node,
			   "%s (%s) has no %s control; %s is left to the "
			   "device",
			   path, card, what, what);
	else if (rc == -ERANGE)
		vpipe_warn(node,
			   "%s: %s %d is outside the device's range "
			   "%d..%d; left to the device",
			   path, what, value, min, max);
	else if (rc)
		vpipe_warn(node, "%s: setting %s to %d: %s", path, what, value,
			   strerror(-rc));
	return rc;
}
