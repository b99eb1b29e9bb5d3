// rpicam-apps' camera options as libcamera controls (lc_controls.h).
//
// Control availability by libcamera version (checked against Debian 12's
// 0.0.3 control_ids.h): ExposureTime, AnalogueGain, ExposureValue,
// AeMeteringMode, AeExposureMode, AwbMode, ColourGains, Brightness,
// Contrast, Saturation, Sharpness, ScalerCrop, AfMode, AfRange, AfSpeed,
// AfMetering, AfWindows, LensPosition and draft::NoiseReductionMode are in
// 0.0.3. HdrMode and AeFlickerMode/AeFlickerPeriod are not: they are used
// only when compiled against 0.2 or later (LC_VERSION_AT_LEAST), and
// refused at check time otherwise.
#include "lc_controls.h"

#include <libcamera/control_ids.h>
#include <libcamera/version.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace libcamera;

#define LC_VERSION_AT_LEAST(major, minor)                                      \
	(LIBCAMERA_VERSION_MAJOR > (major) ||                                  \
	 (LIBCAMERA_VERSION_MAJOR == (major) &&                                \
	  LIBCAMERA_VERSION_MINOR >= (minor)))

extern "C" {
const char *const lc_metering_names[] = {"default", "centre", "spot",
					 "average", "custom", nullptr};
const char *const lc_exposure_names[] = {"default", "normal", "sport", "short",
					 "long",    "custom", nullptr};
const char *const lc_awb_names[] = {
    "default", "auto",	   "incandescent", "tungsten", "fluorescent",
    "indoor",  "daylight", "cloudy",	   "custom",   nullptr};
const char *const lc_af_mode_names[] = {"default", "manual", "auto",
					"continuous", nullptr};
const char *const lc_af_range_names[] = {"default", "normal", "macro", "full",
					 nullptr};
const char *const lc_af_speed_names[] = {"default", "normal", "fast", nullptr};
const char *const lc_denoise_names[] = {"auto",	    "off",    "cdn_off",
					"cdn_fast", "cdn_hq", nullptr};
const char *const lc_hdr_names[] = {"off", "single-exp", "multi-exp", "night",
				    nullptr};
}

namespace
{

// libcamera's value for each choice above (index 0 is never sent).
const int32_t metering_values[] = {
    -1, controls::MeteringCentreWeighted, controls::MeteringSpot,
    controls::MeteringMatrix, controls::MeteringCustom};
const int32_t exposure_values[] = {-1,
				   controls::ExposureNormal,
				   controls::ExposureShort, // rpicam: sport
				   controls::ExposureShort,
				   controls::ExposureLong,
				   controls::ExposureCustom};
const int32_t awb_values[] = {-1,
			      controls::AwbAuto,
			      controls::AwbIncandescent,
			      controls::AwbTungsten,
			      controls::AwbFluorescent,
			      controls::AwbIndoor,
			      controls::AwbDaylight,
			      controls::AwbCloudy,
			      controls::AwbCustom};
const int32_t af_mode_values[] = {-1, controls::AfModeManual,
				  controls::AfModeAuto,
				  controls::AfModeContinuous};
const int32_t af_range_values[] = {
    -1, controls::AfRangeNormal, controls::AfRangeMacro, controls::AfRangeFull};
const int32_t af_speed_values[] = {-1, controls::AfSpeedNormal,
				   controls::AfSpeedFast};
// rpicam-apps: cdn_off is "minimal", cdn_fast "fast", cdn_hq "high quality".
const int32_t denoise_values[] = {
    -1, controls::draft::NoiseReductionModeOff,
    controls::draft::NoiseReductionModeMinimal,
    controls::draft::NoiseReductionModeFast,
    controls::draft::NoiseReductionModeHighQuality};

std::string fmt(const char *f, double a, double b = 0, double c = 0)
{
	char buf[160];
	snprintf(buf, sizeof(buf), f, a, b, c);
	return buf;
}

// A scalar of type T from a ControlValue's bytes (get<T>() casts a byte
// pointer, which -Wcast-align=strict refuses in the header).
template <typename T>
bool scalar_of(const ControlValue &v, ControlType type, T &out)
{
	if (v.type() != type || v.isArray() || v.data().size() != sizeof(T))
		return false;
	memcpy(&out, v.data().data(), sizeof(T));
	return true;
}

// Numeric range of a control as doubles; false if it reports none.
bool range_of(const ControlInfo &ci, double &lo, double &hi)
{
	float f0, f1;
	int32_t i0, i1;
	int64_t l0, l1;
	if (scalar_of(ci.min(), ControlTypeFloat, f0) &&
	    scalar_of(ci.max(), ControlTypeFloat, f1)) {
		lo = f0, hi = f1;
		return lo <= hi;
	}
	if (scalar_of(ci.min(), ControlTypeInteger32, i0) &&
	    scalar_of(ci.max(), ControlTypeInteger32, i1)) {
		lo = i0, hi = i1;
		return lo <= hi;
	}
	if (scalar_of(ci.min(), ControlTypeInteger64, l0) &&
	    scalar_of(ci.max(), ControlTypeInteger64, l1)) {
		lo = (double)l0, hi = (double)l1;
		return lo <= hi;
	}
	return false;
}

struct Builder {
	const ControlInfoMap &info;
	ControlList &out;
	std::string err;

	// The camera's description of id, or null with err set.
	const ControlInfo *need(const char *param, const ControlId &id)
	{
		if (!err.empty())
			return nullptr;
		auto it = info.find(id.id());
		if (it == info.end()) {
			err = std::string(param) + ": this camera has no " +
			      id.name() +
			      " control (see `vpipe probe --libcamera`)";
			return nullptr;
		}
		return &it->second;
	}

	// value (in the parameter's unit) within the control's range.
	bool in_range(const char *param, const ControlInfo &ci, double v,
		      const char *unit)
	{
		double lo, hi;
		if (!range_of(ci, lo, hi) || (v >= lo && v <= hi))
			return true;
		char buf[256];
		snprintf(buf, sizeof(buf),
			 "%s = %g%s is outside what the camera supports: %g%s "
			 "to %g%s",
			 param, v, unit, lo, unit, hi, unit);
		err = buf;
		return false;
	}

	void set_float(const char *param, const Control<float> &c, double v,
		       const char *unit = "")
	{
		const ControlInfo *ci = need(param, c);
		if (ci && in_range(param, *ci, v, unit))
			out.set(c, (float)v);
	}

	void set_int(const char *param, const Control<int32_t> &c, int64_t v,
		     const char *unit)
	{
		const ControlInfo *ci = need(param, c);
		if (ci && in_range(param, *ci, (double)v, unit))
			out.set(c, (int32_t)v);
	}

	// An enum choice: index into names/values; the camera may list the
	// values it offers (else its min..max range applies).
	void set_enum(const char *param, const Control<int32_t> &c,
		      const char *const *names, const int32_t *values,
		      size_t count, int index)
	{
		if (index <= 0 || (size_t)index >= count)
			return;
		const ControlInfo *ci = need(param, c);
		if (!ci)
			return;
		int32_t v = values[index];
		if (!ci->values().empty()) {
			std::string offered;
			for (const ControlValue &cv : ci->values()) {
				int32_t x;
				if (!scalar_of(cv, ControlTypeInteger32, x))
					continue;
				if (x == v) {
					out.set(c, v);
					return;
				}
				for (size_t i = 1; i < count; i++)
					if (values[i] == x) {
						offered +=
						    offered.empty() ? "" : ", ";
						offered += names[i];
						break;
					}
			}
			err = std::string(param) + " = " + names[index] +
			      ": the camera does not offer it (it offers: " +
			      (offered.empty() ? "none of vpipe's choices"
					       : offered) +
			      ")";
			return;
		}
		double lo, hi;
		if (range_of(*ci, lo, hi) && (v < lo || v > hi)) {
			err = std::string(param) + " = " + names[index] +
			      ": the camera does not offer it (" + c.name() +
			      fmt(" %g to %g)", lo, hi);
			return;
		}
		out.set(c, v);
	}
};

Rectangle scale(const lc_rect_frac &r, const Rectangle &max)
{
	return Rectangle(max.x + (int)std::lround(r.x * max.width),
			 max.y + (int)std::lround(r.y * max.height),
			 (unsigned)std::lround(r.w * max.width),
			 (unsigned)std::lround(r.h * max.height));
}

template <size_t N> constexpr size_t count_of(const int32_t (&)[N])
{
	return N;
}

} // namespace

extern "C" const char *lc_controls_build_version(void)
{
#define LC_S2(x) #x
#define LC_S(x)	 LC_S2(x)
	return LC_S(LIBCAMERA_VERSION_MAJOR) "." LC_S(
	    LIBCAMERA_VERSION_MINOR) "." LC_S(LIBCAMERA_VERSION_PATCH);
}

extern "C" int lc_controls_supported(const lc_controls_config *cfg, char *err,
				     size_t n)
{
#if !LC_VERSION_AT_LEAST(0, 2)
	const char *param = cfg->hdr > 0		 ? "hdr"
			    : cfg->flicker_period_us > 0 ? "flicker-period"
							 : nullptr;
	if (param) {
		snprintf(err, n,
			 "%s needs libcamera 0.2 or later (its HdrMode / "
			 "AeFlickerPeriod controls); this module was built "
			 "with libcamera %s",
			 param, lc_controls_build_version());
		return -1;
	}
#else
	(void)cfg, (void)err, (void)n;
#endif
	return 0;
}

std::string lc_controls_build(const lc_controls_config &cfg,
			      const ControlInfoMap &info,
			      const Rectangle &crop_max, ControlList &out)
{
	Builder b{info, out, {}};
	if (cfg.shutter_us > 0)
		b.set_int("shutter", controls::ExposureTime, cfg.shutter_us,
			  "us");
	if (cfg.gain > 0)
		b.set_float("gain", controls::AnalogueGain, cfg.gain);
	if (cfg.ev != 0)
		b.set_float("ev", controls::ExposureValue, cfg.ev);
	b.set_enum("metering", controls::AeMeteringMode, lc_metering_names,
		   metering_values, count_of(metering_values), cfg.metering);
	b.set_enum("exposure", controls::AeExposureMode, lc_exposure_names,
		   exposure_values, count_of(exposure_values), cfg.exposure);
	b.set_enum("awb", controls::AwbMode, lc_awb_names, awb_values,
		   count_of(awb_values), cfg.awb);
	if (cfg.awb_red > 0 && cfg.awb_blue > 0) {
		const ControlInfo *ci =
		    b.need("awbgains", controls::ColourGains);
		if (ci && b.in_range("awbgains (red)", *ci, cfg.awb_red, "") &&
		    b.in_range("awbgains (blue)", *ci, cfg.awb_blue, "")) {
			float gains[2] = {(float)cfg.awb_red,
					  (float)cfg.awb_blue};
			out.set(controls::ColourGains,
				Span<const float, 2>(gains));
		}
	}
	int af_mode = cfg.af_mode;
	if (cfg.lens_position >= 0) {
		// rpicam-apps: a lens position means manual focus.
		if (af_mode > 0 &&
		    af_mode_values[af_mode] != controls::AfModeManual &&
		    b.err.empty())
			b.err = std::string("lens-position is set, so "
					    "autofocus-mode must be manual "
					    "(or default), not ") +
				lc_af_mode_names[af_mode];
		af_mode = 1; // manual
	}
	b.set_enum("autofocus-mode", controls::AfMode, lc_af_mode_names,
		   af_mode_values, count_of(af_mode_values), af_mode);
	if (cfg.lens_position >= 0)
		b.set_float("lens-position", controls::LensPosition,
			    cfg.lens_position, " dioptres");
	b.set_enum("autofocus-range", controls::AfRange, lc_af_range_names,
		   af_range_values, count_of(af_range_values), cfg.af_range);
	b.set_enum("autofocus-speed", controls::AfSpeed, lc_af_speed_names,
		   af_speed_values, count_of(af_speed_values), cfg.af_speed);
	if (cfg.af_window.set &&
	    b.need("autofocus-window", controls::AfMetering) &&
	    b.need("autofocus-window", controls::AfWindows)) {
		Rectangle win[1] = {scale(cfg.af_window, crop_max)};
		out.set(controls::AfMetering,
			(int32_t)controls::AfMeteringWindows);
		out.set(controls::AfWindows, Span<const Rectangle>(win));
	}
	b.set_enum("denoise", controls::draft::NoiseReductionMode,
		   lc_denoise_names, denoise_values, count_of(denoise_values),
		   cfg.denoise);
	if (cfg.brightness != 0)
		b.set_float("brightness", controls::Brightness, cfg.brightness);
	if (cfg.contrast != 1)
		b.set_float("contrast", controls::Contrast, cfg.contrast);
	if (cfg.saturation != 1)
		b.set_float("saturation", controls::Saturation, cfg.saturation);
	if (cfg.sharpness != 1)
		b.set_float("sharpness", controls::Sharpness, cfg.sharpness);
	if (cfg.roi.set && b.need("roi", controls::ScalerCrop)) {
		if (crop_max.isNull() && b.err.empty())
			b.err = "roi: the camera reports no ScalerCropMaximum "
				"to take the fractions of";
		else
			out.set(controls::ScalerCrop, scale(cfg.roi, crop_max));
	}
#if LC_VERSION_AT_LEAST(0, 2)
	static const int32_t hdr_values[] = {
	    -1, controls::HdrModeSingleExposure, controls::HdrModeMultiExposure,
	    controls::HdrModeNight};
	b.set_enum("hdr", controls::HdrMode, lc_hdr_names, hdr_values,
		   count_of(hdr_values), cfg.hdr);
	if (cfg.flicker_period_us > 0 &&
	    b.need("flicker-period", controls::AeFlickerMode)) {
		b.set_int("flicker-period", controls::AeFlickerPeriod,
			  cfg.flicker_period_us, "us");
		if (b.err.empty())
			out.set(controls::AeFlickerMode,
				(int32_t)controls::FlickerManual);
	}
#endif
	return b.err;
}

extern "C" int lc_parse_rect(const char *s, lc_rect_frac *r, char *err,
			     size_t n)
{
	char tail;
	double x, y, w, h;
	if (sscanf(s, "%lf,%lf,%lf,%lf%c", &x, &y, &w, &h, &tail) != 4) {
		snprintf(err, n,
			 "'%s' is not x,y,w,h (four fractions of the full "
			 "picture, e.g. 0.25,0.25,0.5,0.5)",
			 s);
		return -1;
	}
	if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > 1.0000001 ||
	    y + h > 1.0000001) {
		snprintf(err, n,
			 "'%s': x and y must be at least 0, w and h above 0, "
			 "and x+w, y+h at most 1",
			 s);
		return -1;
	}
	*r = lc_rect_frac{x, y, w, h, 1};
	return 0;
}

extern "C" int lc_parse_gains(const char *s, double *red, double *blue,
			      char *err, size_t n)
{
	char tail;
	if (sscanf(s, "%lf,%lf%c", red, blue, &tail) != 2 || !(*red > 0) ||
	    !(*blue > 0)) {
		snprintf(err, n,
			 "'%s' is not red,blue (two gains above 0, e.g. "
			 "1.5,2.0)",
			 s);
		return -1;
	}
	return 0;
}

extern "C" int lc_parse_mode(const char *s, lc_sensor_mode *m, char *err,
			     size_t n)
{
	unsigned w, h, bits = 0;
	char pack = 0, tail;
	int k = sscanf(s, "%u:%u:%u:%c%c", &w, &h, &bits, &pack, &tail);
	if (k < 2 || k > 4 || w == 0 || h == 0 || (k >= 3 && bits == 0) ||
	    (k == 4 && pack != 'P' && pack != 'U')) {
		snprintf(err, n,
			 "'%s' is not W:H[:BITS[:P|U]] (rpicam-apps' --mode, "
			 "e.g. 2304:1296:10:P)",
			 s);
		return -1;
	}
	*m = lc_sensor_mode{w, h, bits, k == 4 ? pack == 'P' : -1};
	return 0;
}
