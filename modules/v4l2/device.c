/* The capture device: open, capabilities, negotiation against the device's
 * own enumeration, H.264 controls, MMAP buffers, streaming. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "v4l2src.h"
#include "v4l2util.h"

const char *const v4l2src_export_modes[] = {"auto", "off", NULL};

const char *const v4l2src_formats[] = {"yuyv",	"nv12", "i420", "yuv420",
				       "mjpeg", "h264", NULL};

uint32_t v4l2src_fourcc(int format_index)
{
	static const uint32_t codes[] = {
	    V4L2_PIX_FMT_YUYV,	 V4L2_PIX_FMT_NV12,  V4L2_PIX_FMT_YUV420,
	    V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_H264};
	return codes[format_index];
}

size_t v4l2src_raw_layout(struct vpipe_format *fmt, uint32_t fourcc,
			  uint32_t width, uint32_t height, uint32_t bpl)
{
	memset(fmt, 0, sizeof(*fmt));
	fmt->fourcc = fourcc;
	fmt->width = width;
	fmt->height = height;
	switch (fourcc) {
	case V4L2_PIX_FMT_YUYV:
		if (bpl < width * 2)
			bpl = width * 2;
		fmt->num_planes = 1;
		fmt->stride[0] = bpl;
		return (size_t)bpl * height;
	case V4L2_PIX_FMT_NV12:
		if (bpl < width)
			bpl = width;
		fmt->num_planes = 2;
		fmt->stride[0] = fmt->stride[1] = bpl;
		fmt->offset[1] = bpl * height;
		return (size_t)bpl * height + (size_t)bpl * ((height + 1) / 2);
	case V4L2_PIX_FMT_YUV420: {
		if (bpl < width)
			bpl = width;
		uint32_t cbpl = (bpl + 1) / 2, ch = (height + 1) / 2;
		fmt->num_planes = 3;
		fmt->stride[0] = bpl;
		fmt->stride[1] = fmt->stride[2] = cbpl;
		fmt->offset[1] = bpl * height;
		fmt->offset[2] = bpl * height + cbpl * ch;
		return (size_t)bpl * height + 2 * (size_t)cbpl * ch;
	}
	default:
		return 0;
	}
}

static void fail_close(struct v4l2dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

static int check_caps(struct v4l2dev *d, struct vpipe_node *node,
		      const char *path)
{
	uint32_t caps;
	int rc = v4l2u_caps(d->fd, &caps, d->card, sizeof(d->card), d->driver,
			    sizeof(d->driver));
	if (rc) {
		vpipe_error(node,
			    "%s is not a V4L2 device (VIDIOC_QUERYCAP: %s)",
			    path, strerror(-rc));
		return -1;
	}
	if (caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE)) {
		vpipe_error(node,
			    "%s (%s, driver %s) is a memory-to-memory "
			    "codec, not a camera: use module v4l2m2m",
			    path, d->card, d->driver);
		return -1;
	}
	if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
		vpipe_error(node,
			    "%s (%s, driver %s) has no single-planar "
			    "video capture%s",
			    path, d->card, d->driver,
			    (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE)
				? " (it is multi-planar only, which this "
				  "module does not drive)"
				: "");
		return -1;
	}
	if (!(caps & V4L2_CAP_STREAMING)) {
		vpipe_error(node,
			    "%s (%s) cannot stream (no V4L2_CAP_STREAMING;"
			    " read() I/O is not supported)",
			    path, d->card);
		return -1;
	}
	return 0;
}

/* Compare the request with the device's own lists and say what it offers. */
static int check_offers(struct v4l2dev *d, struct vpipe_node *node,
			const struct v4l2src_config *cfg, uint32_t fourcc)
{
	char list[1024], fc[8];
	const char *path = cfg->device;
	const char *fname = v4l2src_formats[cfg->format];
	uint32_t w = (uint32_t)cfg->width, h = (uint32_t)cfg->height;
	int rc = v4l2u_has_format(d->fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, fourcc);
	if (rc <= 0) {
		v4l2u_list_formats(d->fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, list,
				   sizeof(list));
		vpipe_error(node,
			    "%s (%s) does not offer format %s (%s); it "
			    "offers: %s",
			    path, d->card, fname, v4l2u_fourcc_str(fourcc, fc),
			    list);
		return -1;
	}
	if (v4l2u_size_offered(d->fd, fourcc, w, h) == 0) {
		v4l2u_list_sizes(d->fd, fourcc, list, sizeof(list));
		vpipe_error(node,
			    "%s (%s) does not offer %ux%u in %s; it "
			    "offers: %s",
			    path, d->card, w, h, fname, list);
		return -1;
	}
	if (v4l2u_rate_offered(d->fd, fourcc, w, h, cfg->framerate) == 0) {
		v4l2u_list_rates(d->fd, fourcc, w, h, list, sizeof(list));
		vpipe_error(node,
			    "%s (%s) does not offer %g fps at %ux%u %s; "
			    "it offers: %s",
			    path, d->card, cfg->framerate, w, h, fname, list);
		return -1;
	}
	return 0;
}

static int set_format(struct v4l2dev *d, struct vpipe_node *node,
		      const struct v4l2src_config *cfg, uint32_t fourcc)
{
	struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	f.fmt.pix.width = (uint32_t)cfg->width;
	f.fmt.pix.height = (uint32_t)cfg->height;
	f.fmt.pix.pixelformat = fourcc;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	int rc = v4l2u_ioctl(d->fd, VIDIOC_S_FMT, &f);
	if (rc) {
		vpipe_error(node, "%s: VIDIOC_S_FMT: %s", cfg->device,
			    strerror(-rc));
		return -1;
	}
	char a[8], b[8];
	if (f.fmt.pix.pixelformat != fourcc ||
	    f.fmt.pix.width != (uint32_t)cfg->width ||
	    f.fmt.pix.height != (uint32_t)cfg->height) {
		vpipe_error(node,
			    "%s (%s) turned the request %s %lldx%lld into "
			    "%s %ux%u",
			    cfg->device, d->card, v4l2u_fourcc_str(fourcc, a),
			    (long long)cfg->width, (long long)cfg->height,
			    v4l2u_fourcc_str(f.fmt.pix.pixelformat, b),
			    f.fmt.pix.width, f.fmt.pix.height);
		return -1;
	}
	d->fourcc = fourcc;
	d->width = f.fmt.pix.width;
	d->height = f.fmt.pix.height;
	d->bytesperline = f.fmt.pix.bytesperline;
	d->sizeimage = f.fmt.pix.sizeimage;
	return 0;
}

static void set_rate(struct v4l2dev *d, struct vpipe_node *node,
		     const struct v4l2src_config *cfg)
{
	struct v4l2_streamparm p = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	/* fps as a fraction with millihertz precision: 29.97 -> 1000/29970 */
	p.parm.capture.timeperframe.numerator = 1000;
	p.parm.capture.timeperframe.denominator =
	    (uint32_t)(cfg->framerate * 1000 + 0.5);
	d->fps_num = p.parm.capture.timeperframe.denominator;
	d->fps_den = 1000;
	int rc = v4l2u_ioctl(d->fd, VIDIOC_S_PARM, &p);
	if (rc || !(p.parm.capture.capability & V4L2_CAP_TIMEPERFRAME)) {
		vpipe_warn(node,
			   "%s: cannot set the frame rate (%s); the "
			   "device runs at its own rate",
			   cfg->device, rc ? strerror(-rc) : "no timeperframe");
		return;
	}
	struct v4l2_fract *t = &p.parm.capture.timeperframe;
	if (t->numerator && t->denominator) {
		double got = (double)t->denominator / t->numerator;
		if (got < cfg->framerate * 0.995 ||
		    got > cfg->framerate * 1.005)
			vpipe_warn(node, "%s: asked %g fps, the device set %g",
				   cfg->device, cfg->framerate, got);
		d->fps_num = t->denominator;
		d->fps_den = t->numerator;
	}
}

static void set_ctrl(struct v4l2dev *d, struct vpipe_node *node,
		     const char *path, uint32_t id, int32_t value,
		     const char *what)
{
	v4l2u_ctrl_set_or_warn(d->fd, node, path, d->card, id, value, what);
}

/* Cameras that encode (bcm2835-v4l2, UVC H.264) take the standard codec
 * controls. */
static void h264_controls(struct v4l2dev *d, struct vpipe_node *node,
			  const struct v4l2src_config *cfg)
{
	static const int32_t profiles[] = {
	    -1, V4L2_MPEG_VIDEO_H264_PROFILE_BASELINE,
	    V4L2_MPEG_VIDEO_H264_PROFILE_CONSTRAINED_BASELINE,
	    V4L2_MPEG_VIDEO_H264_PROFILE_MAIN,
	    V4L2_MPEG_VIDEO_H264_PROFILE_HIGH};
	const char *path = cfg->device;
	set_ctrl(d, node, path, V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER,
		 cfg->inline_headers, "repeat-sequence-header");
	if (cfg->bitrate > 0)
		set_ctrl(d, node, path, V4L2_CID_MPEG_VIDEO_BITRATE,
			 (int32_t)(cfg->bitrate * 1000), "bitrate");
	if (cfg->keyint > 0)
		set_ctrl(d, node, path, V4L2_CID_MPEG_VIDEO_H264_I_PERIOD,
			 (int32_t)cfg->keyint, "I-frame period");
	if (cfg->profile > 0)
		set_ctrl(d, node, path, V4L2_CID_MPEG_VIDEO_H264_PROFILE,
			 profiles[cfg->profile], "H.264 profile");
	d->has_force_key =
	    v4l2u_ctrl_exists(d->fd, V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME);
}

int v4l2dev_queue(struct v4l2dev *d, uint32_t index)
{
	struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				.memory = V4L2_MEMORY_MMAP,
				.index = index};
	return v4l2u_ioctl(d->fd, VIDIOC_QBUF, &b);
}

static bool is_raw(uint32_t fourcc)
{
	return fourcc == V4L2_PIX_FMT_YUYV || fourcc == V4L2_PIX_FMT_NV12 ||
	       fourcc == V4L2_PIX_FMT_YUV420;
}

/* Export every buffer as a DMABUF once, so an encoder behind can import the
 * pictures instead of copying them (only raw pictures go to encoders). A
 * driver that cannot (no VIDIOC_EXPBUF, or not for this memory) is fine:
 * frames then carry no fd and consumers copy. */
static void export_buffers(struct v4l2dev *d, struct vpipe_node *node,
			   const struct v4l2src_config *cfg)
{
	d->exported = 0;
	if (cfg->export_dmabuf == V4L2SRC_EXPORT_OFF || !is_raw(d->fourcc))
		return;
	for (uint32_t i = 0; i < d->set->count; i++) {
		struct v4l2_exportbuffer e = {.type =
						  V4L2_BUF_TYPE_VIDEO_CAPTURE,
					      .index = i,
					      .flags = O_RDONLY | O_CLOEXEC};
		int rc = v4l2u_ioctl(d->fd, VIDIOC_EXPBUF, &e);
		if (rc) {
			vpipe_log(node, i ? VPIPE_LOG_WARN : VPIPE_LOG_DEBUG,
				  "%s: VIDIOC_EXPBUF buffer %u: %s; frames "
				  "carry no DMABUF (consumers copy)",
				  cfg->device, i, strerror(-rc));
			break;
		}
		d->set->bufs[i].dmabuf_fd = e.fd;
		d->exported++;
	}
	if (d->exported < d->set->count) { /* all or none */
		for (uint32_t i = 0; i < d->set->count; i++) {
			if (d->set->bufs[i].dmabuf_fd >= 0)
				close(d->set->bufs[i].dmabuf_fd);
			d->set->bufs[i].dmabuf_fd = -1;
		}
		d->exported = 0;
	}
}

static int map_buffers(struct v4l2dev *d, struct vpipe_node *node,
		       const struct v4l2src_config *cfg)
{
	struct v4l2_requestbuffers r = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					.memory = V4L2_MEMORY_MMAP,
					.count = (uint32_t)cfg->buffers};
	int rc = v4l2u_ioctl(d->fd, VIDIOC_REQBUFS, &r);
	if (rc || r.count < 2 || r.count > V4L2SRC_MAX_BUFFERS) {
		vpipe_error(node, "%s: VIDIOC_REQBUFS(%lld MMAP buffers): %s",
			    cfg->device, (long long)cfg->buffers,
			    rc ? strerror(-rc) : "unusable buffer count");
		return -1;
	}
	d->set = bufset_new(node, r.count);
	if (!d->set)
		return -1;
	for (uint32_t i = 0; i < r.count; i++) {
		struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					.memory = V4L2_MEMORY_MMAP,
					.index = i};
		rc = v4l2u_ioctl(d->fd, VIDIOC_QUERYBUF, &b);
		void *mem = rc ? MAP_FAILED
			       : mmap(NULL, b.length, PROT_READ, MAP_SHARED,
				      d->fd, b.m.offset);
		if (mem == MAP_FAILED) {
			vpipe_error(node, "%s: mapping buffer %u: %s",
				    cfg->device, i, strerror(rc ? -rc : errno));
			return -1;
		}
		d->set->bufs[i].mem = mem;
		d->set->bufs[i].length = b.length;
		d->mono_timestamps = (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) ==
				     V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
	}
	export_buffers(d, node, cfg);
	for (uint32_t i = 0; i < r.count; i++) {
		rc = v4l2dev_queue(d, i);
		if (rc) {
			vpipe_error(node, "%s: VIDIOC_QBUF %u: %s", cfg->device,
				    i, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

int v4l2dev_open(struct v4l2dev *d, struct vpipe_node *node,
		 const struct v4l2src_config *cfg, bool quiet)
{
	memset(d, 0, sizeof(*d));
	d->fd = open(cfg->device, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (d->fd < 0) {
		int e = errno;
		vpipe_log(node, quiet ? VPIPE_LOG_DEBUG : VPIPE_LOG_ERROR,
			  "cannot open %s: %s%s", cfg->device, strerror(e),
			  e == ENOENT  ? " (is the camera connected? see ls "
					 "/dev/v4l/by-id/ and vpipe probe)"
			  : e == EBUSY ? " (another program uses it)"
				       : "");
		return -1;
	}
	uint32_t fourcc = v4l2src_fourcc(cfg->format);
	if (check_caps(d, node, cfg->device) < 0 ||
	    check_offers(d, node, cfg, fourcc) < 0 ||
	    set_format(d, node, cfg, fourcc) < 0)
		goto fail;
	set_rate(d, node, cfg);
	if (fourcc == V4L2_PIX_FMT_H264)
		h264_controls(d, node, cfg);
	if (map_buffers(d, node, cfg) < 0)
		goto fail;
	uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	int rc = v4l2u_ioctl(d->fd, VIDIOC_STREAMON, &type);
	if (rc) {
		vpipe_error(node, "%s: VIDIOC_STREAMON: %s", cfg->device,
			    strerror(-rc));
		goto fail;
	}
	return 0;
fail:
	v4l2dev_close(d);
	return -1;
}

void v4l2dev_close(struct v4l2dev *d)
{
	if (d->fd >= 0) {
		uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		v4l2u_ioctl(d->fd, VIDIOC_STREAMOFF, &type);
	}
	if (d->set)
		bufset_end(d->set);
	d->set = NULL;
	fail_close(d);
}
