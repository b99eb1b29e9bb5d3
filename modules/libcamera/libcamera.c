/* libcamera: raw video (NV12 or I420) from a camera libcamera drives
 * (Raspberry Pi camera modules 2 and 3, and other libcamera-supported
 * sensors). The libcamera C++ API sits behind lc_cam.h; this file is the
 * module: parameters, frames (the camera's buffers wrapped without a
 * copy when their planes are one contiguous block), timestamps. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	/* rpicam-apps' camera options (lc_controls.h) */
	int64_t shutter;
	double gain, ev;
	int metering, exposure, awb;
	const char *awbgains;
	int af_mode, af_range, af_speed;
	double lens_position;
	const char *af_window;
	int hdr, denoise;
	double brightness, contrast, saturation, sharpness;
	int64_t flicker_period;
	const char *mode;
	const char *roi;
	const char *tuning_file;
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
#define C struct lcam_config
    VPIPE_P_DURATION("shutter", C, shutter, "0", 0, 3600, VPIPE_US,
		     "exposure time (a bare number is us; 0: automatic)"),
    VPIPE_P_DOUBLE("gain", C, gain, "0", 0, 1000,
		   "analogue gain (0: automatic)"),
    VPIPE_P_DOUBLE("ev", C, ev, "0", -10, 10, "exposure compensation in stops"),
    VPIPE_P_ENUM("metering", C, metering, "default", lc_metering_names,
		 "AE metering: centre, spot, average, custom"),
    VPIPE_P_ENUM("exposure", C, exposure, "default", lc_exposure_names,
		 "AE mode: normal, sport, short, long, custom"),
    VPIPE_P_ENUM("awb", C, awb, "default", lc_awb_names,
		 "white balance: auto, incandescent, tungsten, "
		 "fluorescent, indoor, daylight, cloudy, custom"),
    VPIPE_P_STRING("awbgains", C, awbgains, "", 0,
		   "fixed red,blue colour gains, e.g. 1.5,2.0 (turns "
		   "automatic white balance off)"),
    VPIPE_P_ENUM("autofocus-mode", C, af_mode, "default", lc_af_mode_names,
		 "manual, auto or continuous"),
    VPIPE_P_ENUM("autofocus-range", C, af_range, "default", lc_af_range_names,
		 "normal, macro or full"),
    VPIPE_P_ENUM("autofocus-speed", C, af_speed, "default", lc_af_speed_names,
		 "normal or fast"),
    VPIPE_P_DOUBLE("lens-position", C, lens_position, "-1", -1, 1000,
		   "fixed focus in dioptres (1/metres; 0: infinity; "
		   "-1: not set); implies autofocus-mode = manual"),
    VPIPE_P_STRING("autofocus-window", C, af_window, "", 0,
		   "x,y,w,h fractions of the picture autofocus looks at"),
    VPIPE_P_ENUM("hdr", C, hdr, "off", lc_hdr_names,
		 "HDR: off, single-exp, multi-exp, night (libcamera "
		 "0.2 or later)"),
    VPIPE_P_ENUM("denoise", C, denoise, "auto", lc_denoise_names,
		 "auto, off, cdn_off, cdn_fast, cdn_hq"),
    VPIPE_P_DOUBLE("brightness", C, brightness, "0", -1, 1,
		   "-1 (black) to 1 (white); 0: unchanged"),
    VPIPE_P_DOUBLE("contrast", C, contrast, "1", 0, 32,
		   "contrast factor; 1: unchanged"),
    VPIPE_P_DOUBLE("saturation", C, saturation, "1", 0, 32,
		   "colour saturation factor; 0: greyscale, 1: unchanged"),
    VPIPE_P_DOUBLE("sharpness", C, sharpness, "1", 0, 16,
		   "sharpening factor; 0: none, 1: unchanged"),
    VPIPE_P_DURATION("flicker-period", C, flicker_period, "0", 0, 1, VPIPE_US,
		     "mains flicker period to avoid, e.g. 10ms at 50 Hz "
		     "(a bare number is us; 0: off; libcamera 0.2 or later)"),
    VPIPE_P_STRING("mode", C, mode, "", 0,
		   "sensor mode W:H[:BITS[:P|U]], e.g. 2304:1296:10:P"),
    VPIPE_P_STRING("roi", C, roi, "", 0,
		   "digital zoom: x,y,w,h fractions of the full field of "
		   "view, e.g. 0.25,0.25,0.5,0.5"),
    VPIPE_P_PATH("tuning-file", C, tuning_file, NULL, 0,
		 "Raspberry Pi camera tuning file (JSON), e.g. "
		 "/usr/share/libcamera/ipa/rpi/vc4/imx708_noir.json"),
#undef C
    VPIPE_P_END,
};

struct lcam {
	struct vpipe_node *node;
	const struct lcam_config *cfg;
	struct lc_cam *cam;
	struct lc_controls_config controls;
	struct lc_sensor_mode mode;
	bool have_mode;
	struct vpipe_format fmt;
	size_t frame_size;
	struct lc_clock_map clock;
	int64_t frame_ns;
	unsigned last_sequence;
	bool have_sequence;
};

static bool is_set(const char *s)
{
	return s && *s;
}

static int param_error(struct vpipe_node *node, const char *key,
		       const char *value, const char *why)
{
	vpipe_error(node, "%s = %s: %s", key, value, why);
	return -1;
}

/* The camera controls from the parameters: strings parsed and anything
 * this build cannot do refused here, so `vpipe check` reports it. */
static int controls_from_params(struct vpipe_node *node,
				const struct lcam_config *cfg, struct lcam *s)
{
	struct lc_controls_config *c = &s->controls;
	char err[256];
	*c = (struct lc_controls_config){
	    .shutter_us = cfg->shutter / 1000,
	    .gain = cfg->gain,
	    .ev = cfg->ev,
	    .metering = cfg->metering,
	    .exposure = cfg->exposure,
	    .awb = cfg->awb,
	    .af_mode = cfg->af_mode,
	    .af_range = cfg->af_range,
	    .af_speed = cfg->af_speed,
	    .lens_position = cfg->lens_position,
	    .hdr = cfg->hdr,
	    .denoise = cfg->denoise,
	    .brightness = cfg->brightness,
	    .contrast = cfg->contrast,
	    .saturation = cfg->saturation,
	    .sharpness = cfg->sharpness,
	    .flicker_period_us = cfg->flicker_period / 1000,
	};
	if (cfg->shutter > 0 && c->shutter_us == 0)
		c->shutter_us = 1; /* under a microsecond: the shortest */
	if (cfg->lens_position < 0 && cfg->lens_position != -1) {
		vpipe_error(node,
			    "lens-position = %g: dioptres are 0 or "
			    "more (-1: not set)",
			    cfg->lens_position);
		return -1;
	}
	if (is_set(cfg->awbgains) &&
	    lc_parse_gains(cfg->awbgains, &c->awb_red, &c->awb_blue, err,
			   sizeof(err)) < 0)
		return param_error(node, "awbgains", cfg->awbgains, err);
	if (is_set(cfg->af_window) &&
	    lc_parse_rect(cfg->af_window, &c->af_window, err, sizeof(err)) < 0)
		return param_error(node, "autofocus-window", cfg->af_window,
				   err);
	if (is_set(cfg->roi) &&
	    lc_parse_rect(cfg->roi, &c->roi, err, sizeof(err)) < 0)
		return param_error(node, "roi", cfg->roi, err);
	if (is_set(cfg->mode) &&
	    lc_parse_mode(cfg->mode, &s->mode, err, sizeof(err)) < 0)
		return param_error(node, "mode", cfg->mode, err);
	s->have_mode = is_set(cfg->mode);
	if (lc_controls_supported(c, err, sizeof(err)) < 0) {
		vpipe_error(node, "%s", err);
		return -1;
	}
	if (cfg->tuning_file && access(cfg->tuning_file, R_OK) != 0) {
		vpipe_error(node, "tuning-file = %s: cannot be read: %s",
			    cfg->tuning_file, strerror(errno));
		return -1;
	}
	return 0;
}

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
	if (controls_from_params(node, cfg, s) < 0) {
		free(s);
		return -1;
	}
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
	    .controls = &s->controls,
	    .mode = s->have_mode ? &s->mode : NULL,
	    .tuning_file = s->cfg->tuning_file,
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
		r = vpipe_node_wait_fd(
		    s->node, lc_cam_fd(s->cam), POLLIN,
		    (left = deadline - vpipe_now()) > 0 ? left : 0);
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
    .probe = lc_probe_cameras,
};
