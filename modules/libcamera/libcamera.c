/* libcamera: raw video (NV12 or I420) from a camera libcamera drives
 * (Raspberry Pi camera modules 2 and 3, and other libcamera-supported
 * sensors). The libcamera C++ API sits behind lc_cam.h; this file is the
 * module: parameters, frames (the camera's buffers wrapped without a
 * copy when their planes are one contiguous block), timestamps. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vpipe/vpipe.h>

#include "lc_cam.h"
#include "lc_time.h"

struct lcam_config {
	int64_t index;
	const char *id;
	int64_t width, height;
	int format;
	double framerate;
	int64_t buffers;
	int rotation;
	bool hflip, vflip;
};

static const char *const formats[] = {"nv12", "i420", NULL};
static const char *const rotations[] = {"0", "180", NULL};

static const struct vpipe_param params[] = {
    VPIPE_P_INT("camera-index", struct lcam_config, index, "0", 0, 63,
		"which camera, in libcamera's order (ignored when "
		"camera-id is set)"),
    VPIPE_P_STRING("camera-id", struct lcam_config, id, NULL, 0,
		   "libcamera camera id, e.g. "
		   "/base/soc/i2c0mux/i2c@1/imx708@1a"),
    VPIPE_P_INT("width", struct lcam_config, width, "640", 32, 8192,
		"picture width in pixels (even)"),
    VPIPE_P_INT("height", struct lcam_config, height, "480", 32, 8192,
		"picture height in pixels (even)"),
    VPIPE_P_ENUM("format", struct lcam_config, format, "nv12", formats,
		 "pixel format: nv12, or i420 (libcamera YUV420)"),
    VPIPE_P_DOUBLE("framerate", struct lcam_config, framerate, "30", 0, 240,
		   "frames per second, through FrameDurationLimits (0: "
		   "the camera's default)"),
    VPIPE_P_INT("buffers", struct lcam_config, buffers, "6", 2, 32,
		"camera buffers; frames held downstream keep theirs"),
    VPIPE_P_ENUM("rotation", struct lcam_config, rotation, "0", rotations,
		 "turn the picture: 0 or 180 degrees (a camera mounted "
		 "upside down)"),
    VPIPE_P_BOOL("hflip", struct lcam_config, hflip, "false",
		 "mirror the picture left to right"),
    VPIPE_P_BOOL("vflip", struct lcam_config, vflip, "false",
		 "flip the picture upside down"),
    VPIPE_P_END,
};

struct lcam {
	struct vpipe_node *node;
	const struct lcam_config *cfg;
	struct lc_cam *cam;
	struct vpipe_format fmt;
	size_t frame_size;
	struct lc_clock_map clock;
	int64_t frame_ns;
	unsigned last_sequence;
	bool have_sequence;
};

static int lcam_create(struct vpipe_node *node, const void *config,
		       void **state)
{
	const struct lcam_config *cfg = config;
	if (cfg->width % 2 || cfg->height % 2) {
		vpipe_error(node,
			    "width and height must be even for 4:2:0 "
			    "(got %lldx%lld)",
			    (long long)cfg->width, (long long)cfg->height);
		return -1;
	}
	if (cfg->framerate > 0 && cfg->framerate < 0.1) {
		vpipe_error(node, "framerate must be 0 (camera default) or at "
				  "least 0.1");
		return -1;
	}
	struct lcam *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->node = node;
	s->cfg = cfg;
	s->frame_ns = cfg->framerate > 0 ? (int64_t)(1e9 / cfg->framerate) : 0;
	vpipe_node_set_output_media(node, 0, VPIPE_MEDIA_RAW_VIDEO);
	/* Wrapped camera buffers, or copies when the planes are scattered. */
	vpipe_node_set_pool(node, (unsigned)cfg->buffers + 2,
			    (size_t)cfg->width * (size_t)cfg->height * 3 / 2);
	*state = s;
	return 0;
}

static int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int lcam_start(void *state)
{
	struct lcam *s = state;
	struct lc_cam_config cc = {
	    .index = (int)s->cfg->index,
	    .id = s->cfg->id,
	    .width = (unsigned)s->cfg->width,
	    .height = (unsigned)s->cfg->height,
	    .nv12 = s->cfg->format == 0,
	    .frame_duration_ns = s->frame_ns,
	    .buffers = (unsigned)s->cfg->buffers,
	    .rotate180 = s->cfg->rotation == 1,
	    .hflip = s->cfg->hflip,
	    .vflip = s->cfg->vflip,
	};
	struct lc_cam_format f;
	char err[256];
	if (lc_cam_open(&cc, &s->cam, &f, err, sizeof(err)) < 0) {
		vpipe_error(s->node, "libcamera %s: %s", lc_cam_version(), err);
		return -1;
	}
	uint32_t fourcc = cc.nv12 ? VPIPE_FOURCC_NV12 : VPIPE_FOURCC_I420;
	memset(&s->fmt, 0, sizeof(s->fmt));
	s->fmt.fourcc = fourcc;
	s->fmt.width = f.width;
	s->fmt.height = f.height;
	s->fmt.num_planes = f.num_planes;
	s->fmt.stride[0] = f.stride;
	s->fmt.stride[1] = cc.nv12 ? f.stride : f.stride / 2;
	s->fmt.stride[2] = cc.nv12 ? 0 : f.stride / 2;
	for (unsigned i = 0; i < 3; i++)
		s->fmt.offset[i] = f.plane_offset[i];
	if (s->cfg->framerate > 0) {
		s->fmt.fps_num = (uint32_t)(s->cfg->framerate * 1000 + 0.5);
		s->fmt.fps_den = 1000;
	}
	s->frame_size = f.frame_size;
	s->have_sequence = false;
	vpipe_info(s->node, "libcamera %s (built with %s): %ux%u %s, stride %u",
		   lc_cam_version(), lc_cam_build_version(), f.width, f.height,
		   vpipe_fourcc_name(fourcc), f.stride);
	return 0;
}

/* Copy scattered planes into a pool frame (the rare non-contiguous case). */
static struct vpipe_frame *copy_frame(struct lcam *s, const struct lc_frame *lf)
{
	struct vpipe_frame *f = vpipe_frame_try_alloc(s->node, s->frame_size);
	if (!f)
		return NULL;
	size_t luma = (size_t)s->fmt.stride[0] * s->fmt.height;
	size_t sizes[3] = {luma, s->fmt.num_planes == 2 ? luma / 2 : luma / 4,
			   luma / 4};
	for (unsigned i = 0; i < s->fmt.num_planes; i++)
		memcpy(f->data + s->fmt.offset[i], lf->plane[i], sizes[i]);
	f->size = s->frame_size;
	lc_cam_release_slot(lf->slot);
	return f;
}

static void push_frame(struct lcam *s, const struct lc_frame *lf)
{
	struct vpipe_frame *f;
	if (lf->data && lf->size >= s->frame_size) {
		f = vpipe_frame_wrap(s->node, lf->data, s->frame_size,
				     lc_cam_release_slot, lf->slot);
		/* The buffer is a DMABUF libcamera owns while the slot is
		 * held: an encoder behind (v4l2m2m) may import it. */
		if (f && lf->dmabuf_fd >= 0)
			vpipe_frame_set_dmabuf(f, lf->dmabuf_fd,
					       lf->dmabuf_offset);
	} else {
		f = copy_frame(s, lf);
	}
	if (!f) {
		lc_cam_release_slot(lf->slot);
		vpipe_node_count(s->node, "dropped_frames_total", 1);
		return;
	}
	f->media = VPIPE_MEDIA_RAW_VIDEO;
	f->flags = VPIPE_FLAG_KEY;
	f->fmt = s->fmt;
	int64_t pts = lc_map_timestamp(&s->clock, (int64_t)lf->timestamp,
				       monotonic_ns(), vpipe_now());
	f->pts = f->dts = pts;
	f->duration = s->frame_ns;
	f->wallclock = vpipe_clock_to_wall(pts);
	if (s->have_sequence && lf->sequence != s->last_sequence + 1)
		vpipe_node_count(
		    s->node, "sensor_skipped_frames_total",
		    (int64_t)(lf->sequence - s->last_sequence - 1));
	s->have_sequence = true;
	s->last_sequence = lf->sequence;
	vpipe_node_count(s->node, "frames_total", 1);
	vpipe_push(s->node, 0, f);
}

static int lcam_produce(void *state)
{
	struct lcam *s = state;
	int64_t deadline = vpipe_now() + 2 * VPIPE_S, left;
	int r;
	do /* 0 before the deadline: woken (a key-frame request), not late */
		r = vpipe_node_wait_fd(s->node, lc_cam_fd(s->cam), POLLIN,
				       (left = deadline - vpipe_now()) > 0 ? left
									   : 0);
	while (r == 0 && vpipe_now() < deadline);
	if (r < 0)
		return 0; /* stopping */
	if (r == 0) {
		vpipe_error(s->node, "camera delivered no frame for 2 s");
		return -1; /* the restart policy reopens it */
	}
	struct lc_frame lf;
	while (lc_cam_next(s->cam, &lf) == 1) {
		if (!lf.ok) {
			lc_cam_release_slot(lf.slot);
			vpipe_node_count(s->node, "camera_errors_total", 1);
			continue;
		}
		push_frame(s, &lf);
	}
	return 0;
}

static void lcam_stop(void *state)
{
	struct lcam *s = state;
	lc_cam_close(s->cam);
	s->cam = NULL;
}

static void lcam_destroy(void *state)
{
	free(state);
}

static const struct vpipe_port outputs[] = {
    {.name = "src", .media = VPIPE_MEDIA_RAW_VIDEO},
    {.name = NULL},
};

VPIPE_MODULE = {
    .flags = VPIPE_MODULE_LIVE,
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "libcamera",
    .version = "1.0",
    .summary = "raw video (NV12/I420) from a libcamera camera (Raspberry "
	       "Pi camera modules 2 and 3)",
    .outputs = outputs,
    .params = params,
    .config_size = sizeof(struct lcam_config),
    .create = lcam_create,
    .start = lcam_start,
    .produce = lcam_produce,
    .stop = lcam_stop,
    .destroy = lcam_destroy,
};
