// The cases of test_lc_controls: a camera as libcamera 0.0.3 would
// describe a Raspberry Pi Camera Module 3 (imx708, with autofocus) and a
// HQ camera (imx477, without), and the controls each parameter becomes.
#include "modules/libcamera/lc_controls.h"

#include <libcamera/control_ids.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

using namespace libcamera;

namespace
{

int failures, checks;

void check(bool ok, const char *what, int line)
{
	checks++;
	if (!ok) {
		failures++;
		fprintf(stderr, "lc_controls_cases.cc:%d: CHECK failed: %s\n",
			line, what);
	}
}
#define CHECK(c) check((c), #c, __LINE__)

void check_contains(const std::string &s, const char *needle, int line)
{
	checks++;
	if (s.find(needle) == std::string::npos) {
		failures++;
		fprintf(stderr,
			"lc_controls_cases.cc:%d: \"%s\" does not contain "
			"\"%s\"\n",
			line, s.c_str(), needle);
	}
}
#define CHECK_CONTAINS(s, n) check_contains((s), (n), __LINE__)

ControlValue i32(int32_t v)
{
	return ControlValue(v);
}
ControlValue f32(float v)
{
	return ControlValue(v);
}

// What the Raspberry Pi pipeline reports for a Camera Module 3 (ranges
// shaped like its IPA's, trimmed): AWB offers two modes only.
ControlInfoMap camera_module_3()
{
	static const ControlValue awb_modes[] = {i32(controls::AwbAuto),
						 i32(controls::AwbDaylight)};
	return ControlInfoMap(
	    {
		{&controls::ExposureTime,
		 ControlInfo(i32(14), i32(120000), i32(20000))},
		{&controls::AnalogueGain,
		 ControlInfo(f32(1.0f), f32(16.0f), f32(1.0f))},
		{&controls::ExposureValue,
		 ControlInfo(f32(-8.0f), f32(8.0f), f32(0.0f))},
		{&controls::AeMeteringMode,
		 ControlInfo(
		     Span<const ControlValue>(controls::AeMeteringModeValues))},
		{&controls::AeExposureMode,
		 ControlInfo(
		     Span<const ControlValue>(controls::AeExposureModeValues))},
		{&controls::AwbMode,
		 ControlInfo(Span<const ControlValue>(awb_modes))},
		{&controls::ColourGains,
		 ControlInfo(f32(0.0f), f32(32.0f), f32(0.0f))},
		{&controls::Brightness,
		 ControlInfo(f32(-1.0f), f32(1.0f), f32(0.0f))},
		{&controls::Contrast,
		 ControlInfo(f32(0.0f), f32(32.0f), f32(1.0f))},
		{&controls::Saturation,
		 ControlInfo(f32(0.0f), f32(32.0f), f32(1.0f))},
		{&controls::Sharpness,
		 ControlInfo(f32(0.0f), f32(16.0f), f32(1.0f))},
		{&controls::ScalerCrop,
		 ControlInfo(Rectangle(0, 0, 64, 64),
			     Rectangle(0, 0, 4608, 2592))},
		{&controls::draft::NoiseReductionMode,
		 ControlInfo(Span<const ControlValue>(
		     controls::draft::NoiseReductionModeValues))},
		{&controls::AfMode,
		 ControlInfo(Span<const ControlValue>(controls::AfModeValues))},
		{&controls::AfRange, ControlInfo(Span<const ControlValue>(
					 controls::AfRangeValues))},
		{&controls::AfSpeed, ControlInfo(Span<const ControlValue>(
					 controls::AfSpeedValues))},
		{&controls::AfMetering, ControlInfo(Span<const ControlValue>(
					    controls::AfMeteringValues))},
		{&controls::AfWindows,
		 ControlInfo(Rectangle(), Rectangle(0, 0, 65535, 65535))},
		{&controls::LensPosition,
		 ControlInfo(f32(0.0f), f32(32.0f), f32(1.0f))},
	    },
	    controls::controls);
}

// A HQ camera: the same without any autofocus control.
ControlInfoMap hq_camera()
{
	return ControlInfoMap(
	    {
		{&controls::ExposureTime,
		 ControlInfo(i32(60), i32(670000000), i32(20000))},
		{&controls::AnalogueGain,
		 ControlInfo(f32(1.0f), f32(22.26f), f32(1.0f))},
	    },
	    controls::controls);
}

const Rectangle crop_max(0, 0, 4608, 2592);

lc_controls_config defaults()
{
	lc_controls_config c{};
	c.lens_position = -1;
	c.contrast = c.saturation = c.sharpness = 1;
	return c;
}

template <typename T>
bool value(const ControlList &l, const ControlId &id, T &out)
{
	if (!l.contains(id.id()))
		return false;
	const ControlValue &v = l.get(id.id());
	if (v.data().size() != sizeof(T))
		return false;
	memcpy(&out, v.data().data(), sizeof(T));
	return true;
}

std::string build(const lc_controls_config &c, const ControlInfoMap &info,
		  ControlList &out)
{
	out.clear();
	return lc_controls_build(c, info, crop_max, out);
}

void nothing_set_sends_nothing()
{
	ControlList out(controls::controls);
	CHECK(build(defaults(), camera_module_3(), out).empty());
	CHECK(out.size() == 0);
	// Nor does it ask anything of a camera without those controls.
	CHECK(build(defaults(), hq_camera(), out).empty());
}

void exposure()
{
	ControlList out(controls::controls);
	lc_controls_config c = defaults();
	c.shutter_us = 10000;
	c.gain = 2.5;
	c.ev = -1.5;
	c.metering = 3; // average
	c.exposure = 2; // sport
	CHECK(build(c, camera_module_3(), out).empty());
	int32_t i = 0;
	float f = 0;
	CHECK(value(out, controls::ExposureTime, i) && i == 10000);
	CHECK(value(out, controls::AnalogueGain, f) && f == 2.5f);
	CHECK(value(out, controls::ExposureValue, f) && f == -1.5f);
	CHECK(value(out, controls::AeMeteringMode, i) &&
	      i == controls::MeteringMatrix);
	CHECK(value(out, controls::AeExposureMode, i) &&
	      i == controls::ExposureShort);

	c = defaults();
	c.shutter_us = 200000;
	CHECK_CONTAINS(build(c, camera_module_3(), out),
		       "shutter = 200000us is outside what the camera "
		       "supports: 14us to 120000us");
	c = defaults();
	c.gain = 20;
	CHECK_CONTAINS(build(c, camera_module_3(), out),
		       "gain = 20 is outside what the camera supports: 1 to "
		       "16");
	// The HQ camera goes to 22.26.
	CHECK(build(c, hq_camera(), out).empty());
}

void white_balance()
{
	ControlList out(controls::controls);
	lc_controls_config c = defaults();
	c.awb = 6; // daylight
	CHECK(build(c, camera_module_3(), out).empty());
	int32_t i = 0;
	CHECK(value(out, controls::AwbMode, i) && i == controls::AwbDaylight);
	c.awb = 7; // cloudy
	CHECK_CONTAINS(build(c, camera_module_3(), out),
		       "awb = cloudy: the camera does not offer it (it "
		       "offers: auto, daylight)");
	c = defaults();
	c.awb_red = 1.5;
	c.awb_blue = 2.0;
	CHECK(build(c, camera_module_3(), out).empty());
	float g[2] = {0, 0};
	CHECK(value(out, controls::ColourGains, g) && g[0] == 1.5f &&
	      g[1] == 2.0f);
	c.awb_blue = 40;
	CHECK_CONTAINS(build(c, camera_module_3(), out),
		       "awbgains (blue) = 40 is outside what the camera "
		       "supports: 0 to 32");
	CHECK_CONTAINS(build(c, hq_camera(), out),
		       "awbgains: this camera has no ColourGains control");
}

void autofocus()
{
	ControlList out(controls::controls);
	lc_controls_config c = defaults();
	c.af_mode = 3;	// continuous
	c.af_range = 2; // macro
	c.af_speed = 2; // fast
	c.af_window = lc_rect_frac{0.25, 0.25, 0.5, 0.5, 1};
	CHECK(build(c, camera_module_3(), out).empty());
	int32_t i = 0;
	CHECK(value(out, controls::AfMode, i) &&
	      i == controls::AfModeContinuous);
	CHECK(value(out, controls::AfRange, i) && i == controls::AfRangeMacro);
	CHECK(value(out, controls::AfSpeed, i) && i == controls::AfSpeedFast);
	CHECK(value(out, controls::AfMetering, i) &&
	      i == controls::AfMeteringWindows);
	CHECK(out.contains(controls::AfWindows.id()));
	// The HQ camera has no autofocus: a clear error, not silence.
	CHECK_CONTAINS(build(c, hq_camera(), out),
		       "autofocus-mode: this camera has no AfMode control");

	// A lens position means manual focus, as in rpicam-apps.
	c = defaults();
	c.lens_position = 2.5;
	CHECK(build(c, camera_module_3(), out).empty());
	float f = 0;
	CHECK(value(out, controls::AfMode, i) && i == controls::AfModeManual);
	CHECK(value(out, controls::LensPosition, f) && f == 2.5f);
	c.lens_position = 40;
	CHECK_CONTAINS(build(c, camera_module_3(), out),
		       "lens-position = 40 dioptres is outside what the "
		       "camera supports: 0 dioptres to 32 dioptres");
	c.lens_position = 1;
	c.af_mode = 3;
	CHECK_CONTAINS(build(c, camera_module_3(), out),
		       "autofocus-mode must be manual (or default), not "
		       "continuous");
}

void picture_and_roi()
{
	ControlList out(controls::controls);
	lc_controls_config c = defaults();
	c.brightness = 0.1;
	c.contrast = 1.5;
	c.saturation = 0; // greyscale
	c.sharpness = 2;
	c.denoise = 3; // cdn_fast
	c.roi = lc_rect_frac{0.25, 0.25, 0.5, 0.5, 1};
	CHECK(build(c, camera_module_3(), out).empty());
	float f = 0;
	int32_t i = 0;
	CHECK(value(out, controls::Brightness, f) && f == 0.1f);
	CHECK(value(out, controls::Contrast, f) && f == 1.5f);
	CHECK(value(out, controls::Saturation, f) && f == 0.0f);
	CHECK(value(out, controls::Sharpness, f) && f == 2.0f);
	CHECK(value(out, controls::draft::NoiseReductionMode, i) &&
	      i == controls::draft::NoiseReductionModeFast);
	Rectangle r;
	CHECK(value(out, controls::ScalerCrop, r) &&
	      r == Rectangle(1152, 648, 2304, 1296));
	c.brightness = 2;
	CHECK_CONTAINS(build(c, camera_module_3(), out),
		       "brightness = 2 is outside what the camera supports: "
		       "-1 to 1");
}

void parsing()
{
	char err[256];
	lc_rect_frac r{};
	CHECK(lc_parse_rect("0.25,0.25,0.5,0.5", &r, err, sizeof(err)) == 0 &&
	      r.set && r.w == 0.5);
	CHECK(lc_parse_rect("0.5,0.5,0.6,0.1", &r, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "x+w, y+h at most 1");
	CHECK(lc_parse_rect("0.5,0.5", &r, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "is not x,y,w,h");
	double red, blue;
	CHECK(lc_parse_gains("1.5,2", &red, &blue, err, sizeof(err)) == 0 &&
	      red == 1.5 && blue == 2);
	CHECK(lc_parse_gains("1.5", &red, &blue, err, sizeof(err)) < 0);
	CHECK(lc_parse_gains("0,2", &red, &blue, err, sizeof(err)) < 0);
	lc_sensor_mode m{};
	CHECK(lc_parse_mode("2304:1296:10:P", &m, err, sizeof(err)) == 0 &&
	      m.width == 2304 && m.height == 1296 && m.bits == 10 &&
	      m.packed == 1);
	CHECK(lc_parse_mode("4608:2592", &m, err, sizeof(err)) == 0 &&
	      m.bits == 0 && m.packed == -1);
	CHECK(lc_parse_mode("2304x1296", &m, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "is not W:H[:BITS[:P|U]]");
	CHECK(lc_parse_mode("2304:1296:10:X", &m, err, sizeof(err)) < 0);
}

void version_guards()
{
	char err[256] = "";
	lc_controls_config c = defaults();
	CHECK(lc_controls_supported(&c, err, sizeof(err)) == 0);
	c.hdr = 1;
	int r = lc_controls_supported(&c, err, sizeof(err));
	if (strcmp(lc_controls_build_version(), "0.2") < 0) {
		CHECK(r < 0);
		CHECK_CONTAINS(err, "hdr needs libcamera 0.2 or later");
	} else {
		CHECK(r == 0);
	}
}

} // namespace

extern "C" int lc_controls_cases(void)
{
	nothing_set_sends_nothing();
	exposure();
	white_balance();
	autofocus();
	picture_and_roi();
	parsing();
	version_guards();
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
