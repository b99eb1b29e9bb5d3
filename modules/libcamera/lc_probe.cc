// `vpipe probe --libcamera` (bin/probe/ loads this module and calls
// lc_probe_cameras, its descriptor's probe(), so the vpipe command
// itself does not link libcamera): every camera with its model, sensor modes
// (the values of `mode`), the NV12/I420 sizes it streams, and its controls next
// to the vpipe parameter that sets each. The probe is its own process, so it
// starts its own CameraManager.
#include <libcamera/libcamera.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "lc_cam.h"

using namespace libcamera;

namespace
{

// libcamera control -> the libcamera module's parameter.
const struct {
	const char *control, *param;
} params_of[] = {
    {"ExposureTime", "shutter"},
    {"AnalogueGain", "gain"},
    {"ExposureValue", "ev"},
    {"AeMeteringMode", "metering"},
    {"AeExposureMode", "exposure"},
    {"AwbMode", "awb"},
    {"ColourGains", "awbgains"},
    {"AfMode", "autofocus-mode"},
    {"AfRange", "autofocus-range"},
    {"AfSpeed", "autofocus-speed"},
    {"AfWindows", "autofocus-window"},
    {"LensPosition", "lens-position"},
    {"NoiseReductionMode", "denoise"},
    {"Brightness", "brightness"},
    {"Contrast", "contrast"},
    {"Saturation", "saturation"},
    {"Sharpness", "sharpness"},
    {"ScalerCrop", "roi"},
    {"FrameDurationLimits", "framerate"},
    {"HdrMode", "hdr"},
    {"AeFlickerPeriod", "flicker-period"},
};

const char *param_of(const std::string &control)
{
	for (const auto &p : params_of)
		if (control == p.control)
			return p.param;
	return nullptr;
}

void print_streams(Camera &cam, StreamRole role, const char *what,
		   bool sizes_listed)
{
	std::vector<StreamRole> roles{role};
	std::unique_ptr<CameraConfiguration> cfg =
	    cam.generateConfiguration(roles);
	if (!cfg || cfg->size() != 1) {
		printf("  %s: none\n", what);
		return;
	}
	const StreamFormats &f = cfg->at(0).formats();
	printf("  %s:\n", what);
	for (const PixelFormat &pf : f.pixelformats()) {
		if (!sizes_listed && pf != formats::NV12 &&
		    pf != formats::YUV420)
			continue;
		std::string line;
		if (sizes_listed)
			for (const Size &s : f.sizes(pf))
				line += (line.empty() ? "" : ", ") +
					std::to_string(s.width) + ":" +
					std::to_string(s.height);
		else
			line = f.range(pf).toString();
		printf("    %s %s\n", pf.toString().c_str(), line.c_str());
	}
}

void print_controls(Camera &cam)
{
	printf("  controls (vpipe parameter: libcamera control range):\n");
	// By name: the map itself is unordered.
	std::vector<std::pair<std::string, std::string>> lines;
	for (const auto &[id, info] : cam.controls())
		lines.emplace_back(id->name(), info.toString());
	std::sort(lines.begin(), lines.end());
	for (const auto &[name, range] : lines) {
		const char *p = param_of(name);
		printf("    %-18s %s %s\n", p ? p : "-", name.c_str(),
		       range.c_str());
	}
}

} // namespace

extern "C" int lc_probe_cameras(void)
{
	printf("libcamera %s (module built with %s)\n", lc_cam_version(),
	       lc_cam_build_version());
	try {
		CameraManager manager;
		int r = manager.start();
		if (r < 0) {
			fprintf(stderr,
				"libcamera camera manager failed to "
				"start: %s\n",
				strerror(-r));
			return 1;
		}
		auto cams = manager.cameras();
		if (cams.empty())
			printf("no camera found by libcamera (is one connected "
			       "and enabled, and /dev/media* and /dev/video* "
			       "accessible?)\n");
		for (size_t i = 0; i < cams.size(); i++) {
			Camera &cam = *cams[i];
			printf(
			    "camera %zu (camera-index = %zu): camera-id = %s\n",
			    i, i, cam.id().c_str());
			print_streams(cam, StreamRole::Raw,
				      "sensor modes (mode = W:H)", true);
			print_streams(cam, StreamRole::VideoRecording,
				      "video formats (format, width x height)",
				      false);
			print_controls(cam);
		}
		bool none = cams.empty();
		cams.clear();
		manager.stop();
		return none ? 1 : 0;
	} catch (const std::exception &e) {
		fprintf(stderr, "libcamera: %s\n", e.what());
		return 1;
	}
}
