/* The V4L2 memory-to-memory encoder: multi-planar OUTPUT (raw pictures in)
 * and CAPTURE (H.264 out) queues, formats and the standard codec controls. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "m2m.h"
#include "v4l2util.h"
#include "yuv.h"

#define OUT_TYPE V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE
#define CAP_TYPE V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE

const char *const m2m_memory_names[] = {"auto", "mmap", "dmabuf", NULL};

int m2m_open(struct m2m_dev *d, struct vpipe_node *node,
	     const struct m2m_config *cfg)
{
	memset(d, 0, sizeof(*d));
	d->fd = open(cfg->device, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (d->fd < 0) {
		int e = errno;
		vpipe_error(node, "cannot open %s: %s%s", cfg->device,
			    strerror(e),
			    e == ENOENT ? " (no hardware encoder here? the "
					  "Raspberry Pi 4's is /dev/video11; "
					  "vpipe probe lists devices)"
					: "");
		return -1;
	}
	uint32_t caps;
	int rc = v4l2u_caps(d->fd, &caps, d->card, sizeof(d->card), d->driver,
			    sizeof(d->driver));
	if (rc) {
		vpipe_error(node,
			    "%s is not a V4L2 device (VIDIOC_QUERYCAP: %s)",
			    cfg->device, strerror(-rc));
		goto fail;
	}
	if (!(caps & V4L2_CAP_VIDEO_M2M_MPLANE) ||
	    !(caps & V4L2_CAP_STREAMING)) {
		vpipe_error(node,
			    "%s (%s, driver %s) is not a multi-planar "
			    "memory-to-memory streaming device (caps "
			    "0x%08x)%s",
			    cfg->device, d->card, d->driver, caps,
			    (caps & V4L2_CAP_VIDEO_CAPTURE) ? ": a camera? use "
							      "module v4l2"
							    : "");
		goto fail;
	}
	if (v4l2u_has_format(d->fd, CAP_TYPE, V4L2_PIX_FMT_H264) <= 0) {
		char list[512];
		v4l2u_list_formats(d->fd, CAP_TYPE, list, sizeof(list));
		vpipe_error(node, "%s (%s) does not encode H.264; it makes: %s",
			    cfg->device, d->card, list);
		goto fail;
	}
	struct v4l2_encoder_cmd cmd = {.cmd = V4L2_ENC_CMD_STOP};
	d->has_enc_cmd = v4l2u_ioctl(d->fd, VIDIOC_TRY_ENCODER_CMD, &cmd) == 0;
	d->has_force_key =
	    v4l2u_ctrl_exists(d->fd, V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME);
	return 0;
fail:
	close(d->fd);
	d->fd = -1;
	return -1;
}

void m2m_layout(uint32_t fourcc, uint32_t width, uint32_t height, uint32_t bpl,
		uint32_t sizeimage, struct vpipe_format *fmt)
{
	/* Drivers pad the luma plane (bcm2835-codec: to 16 rows); the
	 * padded height shows in sizeimage = bpl * rows * 3/2. */
	uint32_t rows = bpl ? (uint32_t)((uint64_t)sizeimage * 2 / 3 / bpl) : 0;
	if (rows < height)
		rows = height;
	memset(fmt, 0, sizeof(*fmt));
	fmt->fourcc = fourcc;
	fmt->width = width;
	fmt->height = height;
	fmt->stride[0] = bpl;
	fmt->offset[1] = bpl * rows;
	if (fourcc == V4L2_PIX_FMT_NV12) {
		fmt->num_planes = 2;
		fmt->stride[1] = bpl;
	} else {
		fmt->num_planes = 3;
		fmt->stride[1] = fmt->stride[2] = bpl / 2;
		fmt->offset[2] = fmt->offset[1] + (bpl / 2) * (rows / 2);
	}
}

int m2m_import_check(const struct m2m_dev *d, const struct vpipe_format *fmt,
		     int fd, uint32_t offset, size_t *size, char *why,
		     size_t whylen)
{
	char a[8], b[8];
	if (fd < 0) {
		snprintf(why, whylen, "the pictures carry no DMABUF");
		return -1;
	}
	if (fmt->fourcc != d->dev_fourcc) {
		snprintf(why, whylen,
			 "the pictures are %s, the encoder takes %s",
			 v4l2u_fourcc_str(fmt->fourcc, a),
			 v4l2u_fourcc_str(d->dev_fourcc, b));
		return -1;
	}
	struct vpipe_format dev;
	m2m_layout(d->dev_fourcc, d->in.width, d->in.height, d->bytesperline,
		   d->sizeimage, &dev);
	if (fmt->width != dev.width || fmt->height != dev.height ||
	    fmt->num_planes != dev.num_planes) {
		snprintf(why, whylen,
			 "the pictures are %ux%u in %u planes, the "
			 "encoder is set for %ux%u in %u",
			 fmt->width, fmt->height, fmt->num_planes, dev.width,
			 dev.height, dev.num_planes);
		return -1;
	}
	for (unsigned p = 0; p < dev.num_planes; p++) {
		if (fmt->stride[p] != dev.stride[p]) {
			snprintf(why, whylen,
				 "plane %u has lines of %u bytes, "
				 "the encoder's %u",
				 p, fmt->stride[p], dev.stride[p]);
			return -1;
		}
		if ((uint64_t)offset + fmt->offset[p] != dev.offset[p]) {
			snprintf(why, whylen,
				 "plane %u starts at byte %llu of "
				 "the DMABUF, the encoder reads it at %u%s",
				 p, (unsigned long long)offset + fmt->offset[p],
				 dev.offset[p],
				 p && !offset ? " (its planes are padded)"
					      : "");
			return -1;
		}
	}
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < 0) {
		snprintf(why, whylen,
			 "the DMABUF's size is unknown (lseek: %s)",
			 strerror(errno));
		return -1;
	}
	if ((uint64_t)end < d->sizeimage) {
		snprintf(why, whylen,
			 "the DMABUF holds %lld bytes, the encoder "
			 "needs %u",
			 (long long)end, d->sizeimage);
		return -1;
	}
	*size = (size_t)end;
	return 0;
}

/* The OUTPUT pixel format: the input's if the device takes it, else I420
 * (converted from NV12/YUYV on the way in). */
static int pick_format(struct m2m_dev *d, struct vpipe_node *node,
		       const struct m2m_config *cfg, uint32_t in_fourcc)
{
	if (in_fourcc != V4L2_PIX_FMT_YUYV &&
	    v4l2u_has_format(d->fd, OUT_TYPE, in_fourcc) > 0) {
		d->dev_fourcc = in_fourcc;
		return 0;
	}
	if (v4l2u_has_format(d->fd, OUT_TYPE, V4L2_PIX_FMT_YUV420) > 0) {
		d->dev_fourcc = V4L2_PIX_FMT_YUV420;
		return 0;
	}
	char list[512], fc[8];
	v4l2u_list_formats(d->fd, OUT_TYPE, list, sizeof(list));
	vpipe_error(node,
		    "%s (%s) takes neither %s nor YU12 (I420); it takes: "
		    "%s",
		    cfg->device, d->card, v4l2u_fourcc_str(in_fourcc, fc),
		    list);
	return -1;
}

static int set_formats(struct m2m_dev *d, struct vpipe_node *node,
		       const struct m2m_config *cfg, const struct m2m_input *in)
{
	struct v4l2_format f = {.type = OUT_TYPE};
	f.fmt.pix_mp.width = in->width;
	f.fmt.pix_mp.height = in->height;
	f.fmt.pix_mp.pixelformat = d->dev_fourcc;
	f.fmt.pix_mp.num_planes = 1;
	f.fmt.pix_mp.field = V4L2_FIELD_NONE;
	int rc = v4l2u_ioctl(d->fd, VIDIOC_S_FMT, &f);
	if (rc || f.fmt.pix_mp.width != in->width ||
	    f.fmt.pix_mp.height != in->height ||
	    f.fmt.pix_mp.pixelformat != d->dev_fourcc ||
	    f.fmt.pix_mp.num_planes != 1) {
		char sizes[256];
		v4l2u_list_sizes(d->fd, d->dev_fourcc, sizes, sizeof(sizes));
		vpipe_error(node,
			    "%s (%s) cannot take %ux%u pictures (%s%s; "
			    "it offers %s)",
			    cfg->device, d->card, in->width, in->height,
			    rc ? "VIDIOC_S_FMT: " : "adjusted to ",
			    rc ? strerror(-rc) : "another size or layout",
			    sizes);
		return -1;
	}
	d->bytesperline = f.fmt.pix_mp.plane_fmt[0].bytesperline;
	d->sizeimage = f.fmt.pix_mp.plane_fmt[0].sizeimage;
	struct vpipe_format lay;
	m2m_layout(d->dev_fourcc, in->width, in->height, d->bytesperline,
		   d->sizeimage, &lay);
	d->plane_height =
	    lay.offset[1] / (d->bytesperline ? d->bytesperline : 1);

	struct v4l2_format c = {.type = CAP_TYPE};
	c.fmt.pix_mp.width = in->width;
	c.fmt.pix_mp.height = in->height;
	c.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_H264;
	c.fmt.pix_mp.num_planes = 1;
	c.fmt.pix_mp.plane_fmt[0].sizeimage = (uint32_t)cfg->capture_size;
	rc = v4l2u_ioctl(d->fd, VIDIOC_S_FMT, &c);
	if (rc || c.fmt.pix_mp.pixelformat != V4L2_PIX_FMT_H264) {
		vpipe_error(node, "%s: VIDIOC_S_FMT H.264 on CAPTURE: %s",
			    cfg->device, rc ? strerror(-rc) : "refused");
		return -1;
	}
	if (in->fps_num && in->fps_den) {
		struct v4l2_streamparm p = {.type = OUT_TYPE};
		p.parm.output.timeperframe.numerator = in->fps_den;
		p.parm.output.timeperframe.denominator = in->fps_num;
		rc = v4l2u_ioctl(d->fd, VIDIOC_S_PARM, &p);
		if (rc)
			vpipe_debug(node, "%s: VIDIOC_S_PARM: %s", cfg->device,
				    strerror(-rc));
	}
	return 0;
}

static void set_ctrl(struct m2m_dev *d, struct vpipe_node *node,
		     const struct m2m_config *cfg, uint32_t id, int32_t v,
		     const char *what)
{
	v4l2u_ctrl_set_or_warn(d->fd, node, cfg->device, d->card, id, v, what);
}

static void set_controls(struct m2m_dev *d, struct vpipe_node *node,
			 const struct m2m_config *cfg,
			 const struct m2m_input *in)
{
	static const int32_t profiles[] = {
	    V4L2_MPEG_VIDEO_H264_PROFILE_BASELINE,
	    V4L2_MPEG_VIDEO_H264_PROFILE_CONSTRAINED_BASELINE,
	    V4L2_MPEG_VIDEO_H264_PROFILE_MAIN,
	    V4L2_MPEG_VIDEO_H264_PROFILE_HIGH};
	static const int32_t levels[] = {-1,
					 V4L2_MPEG_VIDEO_H264_LEVEL_3_0,
					 V4L2_MPEG_VIDEO_H264_LEVEL_3_1,
					 V4L2_MPEG_VIDEO_H264_LEVEL_4_0,
					 V4L2_MPEG_VIDEO_H264_LEVEL_4_1,
					 V4L2_MPEG_VIDEO_H264_LEVEL_4_2};
	set_ctrl(d, node, cfg, V4L2_CID_MPEG_VIDEO_BITRATE_MODE,
		 cfg->rate_control ? V4L2_MPEG_VIDEO_BITRATE_MODE_CBR
				   : V4L2_MPEG_VIDEO_BITRATE_MODE_VBR,
		 "bitrate mode");
	set_ctrl(d, node, cfg, V4L2_CID_MPEG_VIDEO_BITRATE,
		 (int32_t)(cfg->bitrate * 1000), "bitrate");
	struct keyint k;
	char err[128];
	if (keyint_parse(cfg->keyint, &k, err, sizeof(err)) == 0) {
		d->keyint_frames = keyint_frames(&k, in->fps_num, in->fps_den);
		set_ctrl(d, node, cfg, V4L2_CID_MPEG_VIDEO_H264_I_PERIOD,
			 d->keyint_frames, "I-frame period");
	}
	set_ctrl(d, node, cfg, V4L2_CID_MPEG_VIDEO_H264_PROFILE,
		 profiles[cfg->profile], "H.264 profile");
	if (levels[cfg->level] >= 0)
		set_ctrl(d, node, cfg, V4L2_CID_MPEG_VIDEO_H264_LEVEL,
			 levels[cfg->level], "H.264 level");
	set_ctrl(d, node, cfg, V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER,
		 cfg->inline_headers, "repeat-sequence-header");
}

static int map_queue(struct m2m_dev *d, struct vpipe_node *node,
		     const struct m2m_config *cfg, uint32_t type, unsigned want,
		     struct m2m_plane_buf *bufs, unsigned *n)
{
	const char *qname = type == OUT_TYPE ? "OUTPUT" : "CAPTURE";
	struct v4l2_requestbuffers r = {
	    .type = type, .memory = V4L2_MEMORY_MMAP, .count = want};
	int rc = v4l2u_ioctl(d->fd, VIDIOC_REQBUFS, &r);
	if (rc || r.count < 1 || r.count > M2M_MAX_BUFFERS) {
		vpipe_error(node, "%s: VIDIOC_REQBUFS %s (%u MMAP): %s",
			    cfg->device, qname, want,
			    rc ? strerror(-rc) : "unusable count");
		return -1;
	}
	for (unsigned i = 0; i < r.count; i++) {
		struct v4l2_plane pl[VIDEO_MAX_PLANES];
		struct v4l2_buffer b = {.type = type,
					.memory = V4L2_MEMORY_MMAP,
					.index = i,
					.length = VIDEO_MAX_PLANES,
					.m.planes = pl};
		memset(pl, 0, sizeof(pl));
		rc = v4l2u_ioctl(d->fd, VIDIOC_QUERYBUF, &b);
		void *mem =
		    rc ? MAP_FAILED
		       : mmap(NULL, pl[0].length, PROT_READ | PROT_WRITE,
			      MAP_SHARED, d->fd, pl[0].m.mem_offset);
		if (mem == MAP_FAILED) {
			vpipe_error(node, "%s: mapping %s buffer %u: %s",
				    cfg->device, qname, i,
				    strerror(rc ? -rc : errno));
			return -1;
		}
		bufs[i].mem = mem;
		bufs[i].length = pl[0].length;
		*n = i + 1;
	}
	return 0;
}

/* Whether to import: 1 DMABUF, 0 copy, -1 input-memory = dmabuf cannot be
 * honoured (logged). */
static int choose_import(struct m2m_dev *d, struct vpipe_node *node,
			 const struct m2m_config *cfg,
			 const struct vpipe_frame *first,
			 const struct vpipe_format *fmt, bool no_import)
{
	if (cfg->input_memory == M2M_MEM_MMAP)
		return 0;
	char why[200];
	uint32_t offset = 0;
	size_t size;
	int fd = first ? vpipe_frame_dmabuf(first, &offset) : -1;
	if (no_import)
		snprintf(why, sizeof(why),
			 "an earlier picture could not be "
			 "imported");
	else if (m2m_import_check(d, fmt, fd, offset, &size, why,
				  sizeof(why)) == 0)
		return 1;
	if (cfg->input_memory == M2M_MEM_DMABUF) {
		vpipe_error(node, "%s: input-memory = dmabuf, but %s",
			    cfg->device, why);
		return -1;
	}
	vpipe_log(node, fd >= 0 ? VPIPE_LOG_INFO : VPIPE_LOG_DEBUG,
		  "%s: copying pictures into MMAP buffers: %s", cfg->device,
		  why);
	return 0;
}

/* OUTPUT buffers without memory of their own: each QBUF names a DMABUF. */
static int request_dmabuf(struct m2m_dev *d, struct vpipe_node *node,
			  const struct m2m_config *cfg)
{
	struct v4l2_requestbuffers r = {.type = OUT_TYPE,
					.memory = V4L2_MEMORY_DMABUF,
					.count = (uint32_t)cfg->output_buffers};
	int rc = v4l2u_ioctl(d->fd, VIDIOC_REQBUFS, &r);
	if (rc || r.count < 1 || r.count > M2M_MAX_BUFFERS) {
		vpipe_log(node,
			  cfg->input_memory == M2M_MEM_DMABUF ? VPIPE_LOG_ERROR
							      : VPIPE_LOG_INFO,
			  "%s (%s) does not import DMABUF on OUTPUT "
			  "(VIDIOC_REQBUFS: %s)%s",
			  cfg->device, d->card,
			  rc ? strerror(-rc) : "unusable count",
			  cfg->input_memory == M2M_MEM_DMABUF
			      ? ""
			      : "; copying pictures instead");
		if (!rc) { /* give back what was granted before falling back */
			r.count = 0;
			v4l2u_ioctl(d->fd, VIDIOC_REQBUFS, &r);
		}
		return -1;
	}
	d->nout = r.count;
	d->out_dmabuf = true;
	for (unsigned i = 0; i < d->nout; i++)
		d->out_last_fd[i] = -1;
	return 0;
}

static int setup_output(struct m2m_dev *d, struct vpipe_node *node,
			const struct m2m_config *cfg,
			const struct vpipe_frame *first,
			const struct vpipe_format *fmt, bool no_import)
{
	d->out_dmabuf = false;
	int import = choose_import(d, node, cfg, first, fmt, no_import);
	if (import < 0)
		return -1;
	if (import && request_dmabuf(d, node, cfg) == 0)
		return 0;
	if (import && cfg->input_memory == M2M_MEM_DMABUF)
		return -1;
	return map_queue(d, node, cfg, OUT_TYPE, (unsigned)cfg->output_buffers,
			 d->out, &d->nout);
}

static int queue_capture_all(struct m2m_dev *d, struct vpipe_node *node,
			     const char *path)
{
	for (unsigned i = 0; i < d->ncap; i++) {
		struct v4l2_plane pl = {.length = (uint32_t)d->cap[i].length};
		struct v4l2_buffer b = {.type = CAP_TYPE,
					.memory = V4L2_MEMORY_MMAP,
					.index = i,
					.length = 1,
					.m.planes = &pl};
		int rc = v4l2u_ioctl(d->fd, VIDIOC_QBUF, &b);
		if (rc) {
			vpipe_error(node, "%s: VIDIOC_QBUF CAPTURE %u: %s",
				    path, i, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

int m2m_configure(struct m2m_dev *d, struct vpipe_node *node,
		  const struct m2m_config *cfg, const struct m2m_input *in,
		  const struct vpipe_frame *first,
		  const struct vpipe_format *first_fmt, bool no_import)
{
	if (pick_format(d, node, cfg, in->fourcc) < 0 ||
	    set_formats(d, node, cfg, in) < 0)
		return -1;
	d->in = *in; /* the layout check below compares against it */
	set_controls(d, node, cfg, in);
	if (setup_output(d, node, cfg, first, first_fmt, no_import) < 0 ||
	    map_queue(d, node, cfg, CAP_TYPE, (unsigned)cfg->capture_buffers,
		      d->cap, &d->ncap) < 0 ||
	    queue_capture_all(d, node, cfg->device) < 0)
		goto fail;
	for (unsigned i = 0; i < d->nout; i++)
		d->out_free[i] = true;
	struct v4l2_event_subscription sub = {.type = V4L2_EVENT_EOS};
	v4l2u_ioctl(d->fd, VIDIOC_SUBSCRIBE_EVENT, &sub);
	sub.type = V4L2_EVENT_SOURCE_CHANGE;
	v4l2u_ioctl(d->fd, VIDIOC_SUBSCRIBE_EVENT, &sub);
	uint32_t t = OUT_TYPE, c = CAP_TYPE;
	int rc = v4l2u_ioctl(d->fd, VIDIOC_STREAMON, &t);
	if (!rc)
		rc = v4l2u_ioctl(d->fd, VIDIOC_STREAMON, &c);
	if (rc) {
		vpipe_error(node, "%s: VIDIOC_STREAMON: %s", cfg->device,
			    strerror(-rc));
		goto fail;
	}
	d->streaming = true;
	return 0;
fail:
	m2m_unconfigure(d);
	return -1;
}

static void unmap_all(struct m2m_plane_buf *bufs, unsigned *n)
{
	for (unsigned i = 0; i < *n; i++)
		if (bufs[i].mem)
			munmap(bufs[i].mem, bufs[i].length);
	memset(bufs, 0, sizeof(*bufs) * *n);
	*n = 0;
}

void m2m_unconfigure(struct m2m_dev *d)
{
	if (d->fd < 0)
		return;
	uint32_t t = OUT_TYPE, c = CAP_TYPE;
	v4l2u_ioctl(d->fd, VIDIOC_STREAMOFF, &t);
	v4l2u_ioctl(d->fd, VIDIOC_STREAMOFF, &c);
	/* STREAMOFF gave every queued buffer back: the frames can go */
	for (unsigned i = 0; i < M2M_MAX_BUFFERS; i++) {
		if (d->out_frame[i])
			vpipe_frame_unref(d->out_frame[i]);
		d->out_frame[i] = NULL;
	}
	unmap_all(d->out, &d->nout);
	unmap_all(d->cap, &d->ncap);
	struct v4l2_requestbuffers r = {
	    .type = OUT_TYPE,
	    .memory = d->out_dmabuf ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP};
	v4l2u_ioctl(d->fd, VIDIOC_REQBUFS, &r);
	r.type = CAP_TYPE;
	r.memory = V4L2_MEMORY_MMAP;
	v4l2u_ioctl(d->fd, VIDIOC_REQBUFS, &r);
	d->out_dmabuf = false;
	struct v4l2_event_subscription sub = {.type = V4L2_EVENT_ALL};
	v4l2u_ioctl(d->fd, VIDIOC_UNSUBSCRIBE_EVENT, &sub);
	d->streaming = false;
	memset(&d->in, 0, sizeof(d->in));
}

void m2m_close(struct m2m_dev *d)
{
	m2m_unconfigure(d);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

static void copy_rows(uint8_t *dst, uint32_t dstride, const uint8_t *src,
		      uint32_t sstride, uint32_t bytes, uint32_t rows)
{
	for (uint32_t y = 0; y < rows; y++)
		memcpy(dst + (size_t)y * dstride, src + (size_t)y * sstride,
		       bytes);
}

int m2m_fill(struct m2m_dev *d, unsigned i, const struct vpipe_format *fmt,
	     const uint8_t *data)
{
	struct vpipe_format dst;
	m2m_layout(d->dev_fourcc, d->in.width, d->in.height, d->bytesperline,
		   d->sizeimage, &dst);
	uint8_t *mem = d->out[i].mem;
	if ((size_t)dst.offset[dst.num_planes - 1] +
		(size_t)dst.stride[dst.num_planes - 1] *
		    ((d->in.height + 1) / 2) >
	    d->out[i].length)
		return -1;
	if (d->dev_fourcc == V4L2_PIX_FMT_NV12) { /* NV12 in, NV12 out */
		copy_rows(mem, dst.stride[0], data + fmt->offset[0],
			  fmt->stride[0], fmt->width, fmt->height);
		copy_rows(mem + dst.offset[1], dst.stride[1],
			  data + fmt->offset[1], fmt->stride[1],
			  (fmt->width + 1) / 2 * 2, (fmt->height + 1) / 2);
		return 0;
	}
	struct yuv_i420 out = {
	    .plane = {mem, mem + dst.offset[1], mem + dst.offset[2]},
	    .stride = {dst.stride[0], dst.stride[1], dst.stride[2]},
	};
	return yuv_to_i420(fmt, data, &out);
}
