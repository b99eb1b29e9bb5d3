/* The camera controls a libcamera node sets (rpicam-apps' options), and
 * their mapping onto a libcamera ControlList. The mapping is a pure
 * function of the parameters and what the camera reports (its
 * ControlInfoMap and ScalerCropMaximum), so it is tested with the real
 * libcamera library and no camera (tests/unit/test_lc_controls.c). */
#ifndef VPIPE_LC_CONTROLS_H
#define VPIPE_LC_CONTROLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Choices of the enum parameters, NULL-terminated; index 0 ("default" or
 * "auto"/"off") always means "not sent: the camera's own setting". */
extern const char *const lc_metering_names[];
extern const char *const lc_exposure_names[];
extern const char *const lc_awb_names[];
extern const char *const lc_af_mode_names[];
extern const char *const lc_af_range_names[];
extern const char *const lc_af_speed_names[];
extern const char *const lc_denoise_names[];
extern const char *const lc_hdr_names[];

struct lc_rect_frac {
	double x, y, w, h; /* fractions of the full field of view */
	int set;
};

struct lc_controls_config {
	int64_t shutter_us;	     /* 0: automatic exposure time */
	double gain;		     /* 0: automatic analogue gain */
	double ev;		     /* 0: not sent */
	int metering, exposure, awb; /* indexes into the names above */
	double awb_red, awb_blue;    /* both > 0: manual colour gains */
	int af_mode, af_range, af_speed;
	double lens_position; /* dioptres; < 0: not set */
	struct lc_rect_frac af_window;
	int hdr;
	int denoise;
	double brightness;			/* 0: not sent */
	double contrast, saturation, sharpness; /* 1: not sent */
	int64_t flicker_period_us;		/* 0: not sent */
	struct lc_rect_frac roi;
};

/* "0.0.3": the version this file was compiled against. */
const char *lc_controls_build_version(void);

/* 0 when this build can express cfg; -1 with the reason (a parameter
 * that needs a newer libcamera than the one compiled against). For
 * create(), so `vpipe check` reports it. */
int lc_controls_supported(const struct lc_controls_config *cfg, char *err,
			  size_t err_size);

/* "x,y,w,h" with fractions in [0, 1] and x+w, y+h <= 1, into r. 0, or -1
 * with the reason. */
int lc_parse_rect(const char *s, struct lc_rect_frac *r, char *err,
		  size_t err_size);
/* "red,blue" gains > 0. */
int lc_parse_gains(const char *s, double *red, double *blue, char *err,
		   size_t err_size);
/* Sensor mode "W:H[:BITS[:P|U]]" (rpicam-apps' --mode). */
struct lc_sensor_mode {
	unsigned width, height, bits; /* bits 0: any */
	int packed;		      /* 1 packed, 0 unpacked, -1 any */
};
int lc_parse_mode(const char *s, struct lc_sensor_mode *m, char *err,
		  size_t err_size);

#ifdef __cplusplus
}

#include <string>

#include <libcamera/controls.h>
#include <libcamera/geometry.h>

/* The ControlList for cfg on a camera reporting `info` and
 * `crop_max` (properties::ScalerCropMaximum; used for roi and
 * autofocus-window). Returns "" and fills out, or the first error: a
 * control the camera lacks (naming the parameter and the control) or a
 * value outside the range it reports (naming the supported range in the
 * parameter's unit). Only the controls the user set are added. */
std::string lc_controls_build(const lc_controls_config &cfg,
			      const libcamera::ControlInfoMap &info,
			      const libcamera::Rectangle &crop_max,
			      libcamera::ControlList &out);
#endif
#endif
