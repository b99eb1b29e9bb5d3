// The libcamera C++ API behind lc_cam.h. Kept thin: camera choice,
// configuration, buffers and requests; frames and timing are in C.
//
// libcamera allows one CameraManager per process, so every node shares one,
// started on first use and stopped with the last camera. Completed requests
// arrive on libcamera's own thread; they are queued here and an eventfd
// wakes the node thread, which alone touches the vpipe API.
//
// libcamera promises no API stability before 1.0. This file is built
// against Debian 12's 0.0.3 and was syntax-checked against newer libcamera
// headers (docs/modules/libcamera.md says which); each difference is an #if
// on libcamera/version.h (or, for a change seen only in development trees,
// a test for the member itself):
//   0.1.0  Camera::generateConfiguration() takes a Span<const StreamRole>
//          (0.0.x: const StreamRoles &, a std::vector); StreamRoles became
//          deprecated. A std::vector argument suits both, so no #if.
//   0.2.0  CameraConfiguration::transform (Transform) was replaced by
//          CameraConfiguration::orientation (Orientation), and camera.h no
//          longer includes transform.h.
//   0.5    CameraManager::get() takes a std::string_view (0.0.x:
//          const std::string &, plus a dev_t overload): a C string suits both.
//   0.6    FrameBuffer::planes() returns a Span (before: a const
//          std::vector &); only size(), [] and iteration are used here.
//   after 0.5 (development trees): StreamConfiguration::bufferCount is gone
//          and FrameBufferAllocator::allocate() takes the count.
// Unchanged from 0.0.3 to 0.5 and used as is: FrameBuffer::Plane::fd
// (SharedFD), offset, length; FrameMetadata status, sequence, timestamp;
// Request::reuse(ReuseBuffers); controls::FrameDurationLimits as a
// Control<Span<const int64_t, 2>> in microseconds; ControlList(ControlIdMap).
#include "lc_cam.h"

#include <libcamera/libcamera.h>
#include <libcamera/transform.h>
#include <libcamera/version.h>

#define LC_VERSION_AT_LEAST(major, minor)                                      \
	(LIBCAMERA_VERSION_MAJOR > (major) ||                                  \
	 (LIBCAMERA_VERSION_MAJOR == (major) &&                                \
	  LIBCAMERA_VERSION_MINOR >= (minor)))

#if LC_VERSION_AT_LEAST(0, 2)
#include <libcamera/orientation.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace libcamera;

namespace
{

#define LC_STR2(x) #x
#define LC_STR(x)  LC_STR2(x)
const char build_version[] = LC_STR(LIBCAMERA_VERSION_MAJOR) "." LC_STR(
    LIBCAMERA_VERSION_MINOR) "." LC_STR(LIBCAMERA_VERSION_PATCH);

// StreamConfiguration::bufferCount: 0.0.x to 0.5. Development trees after
// 0.5 dropped it (the count goes to FrameBufferAllocator::allocate()); no
// release number is known for that, so the member itself is tested.
template <typename S, typename = void>
struct has_buffer_count : std::false_type {
};
template <typename S>
struct has_buffer_count<S,
			std::void_t<decltype(std::declval<S &>().bufferCount)>>
    : std::true_type {
};

template <typename S> void set_buffer_count(S &sc, unsigned count)
{
	if constexpr (has_buffer_count<S>::value)
		sc.bufferCount = count;
	else
		(void)sc, (void)count;
}

// FrameBufferAllocator::allocate(stream, count) where it exists (after
// 0.5, see above), else allocate(stream) sized by bufferCount.
template <typename A>
auto allocate_buffers(A &alloc, Stream *stream, unsigned count, int)
    -> decltype(alloc.allocate(stream, count))
{
	return alloc.allocate(stream, count);
}
template <typename A>
int allocate_buffers(A &alloc, Stream *stream, unsigned, long)
{
	return alloc.allocate(stream);
}

// The picture turn the user asked for, as a Transform (all versions have
// the type; rotate then flip, like rpicam-apps' --rotation/--hflip/--vflip).
Transform wanted_transform(const lc_cam_config *cfg)
{
	Transform t = Transform::Identity;
	if (cfg->rotate180)
		t ^= Transform::Rot180;
	if (cfg->hflip)
		t ^= Transform::HFlip;
	if (cfg->vflip)
		t ^= Transform::VFlip;
	return t;
}

#if LC_VERSION_AT_LEAST(0, 2)
// 0.2.0 and later: the configuration carries an Orientation.
const char *orientation_name(Orientation o)
{
	switch (o) {
	case Orientation::Rotate0:
		return "upright";
	case Orientation::Rotate0Mirror:
		return "mirrored";
	case Orientation::Rotate180:
		return "rotated 180";
	case Orientation::Rotate180Mirror:
		return "rotated 180 and mirrored (upside-down)";
	default:
		return "rotated by 90 or 270";
	}
}

// Ask for the turn; after validate(), "" if the camera applies it, else
// what it would do instead.
void request_turn(CameraConfiguration &config, Transform t)
{
	config.orientation = Orientation::Rotate0 * t;
}

std::string turn_refused(const CameraConfiguration &config, Transform t)
{
	Orientation want = Orientation::Rotate0 * t;
	if (config.orientation == want)
		return "";
	return std::string("the camera cannot deliver the picture ") +
	       orientation_name(want) + ", only " +
	       orientation_name(config.orientation);
}
#else
// 0.0.x and 0.1.x: the configuration carries a Transform.
void request_turn(CameraConfiguration &config, Transform t)
{
	config.transform = t;
}

std::string turn_refused(const CameraConfiguration &config, Transform t)
{
	if (config.transform == t)
		return "";
	return std::string("the camera cannot apply the transform ") +
	       transformToString(t) + ", only " +
	       transformToString(config.transform);
}
#endif

std::mutex manager_lock;
CameraManager *manager;
int manager_users;

std::string manager_tuning; // the tuning file the running manager read

// Raspberry Pi pipelines read LIBCAMERA_RPI_TUNING_FILE when the camera
// manager starts (as rpicam-apps' --tuning-file does it), so every
// libcamera node of one process must name the same file.
int manager_get(std::string &why, const char *tuning)
{
	std::lock_guard<std::mutex> g(manager_lock);
	std::string want = tuning ? tuning : "";
	if (manager && want != manager_tuning) {
		why = "tuning-file '" + want +
		      "' differs from the one the other libcamera node of "
		      "this process started with ('" +
		      manager_tuning +
		      "'): libcamera reads it once per process";
		return -1;
	}
	if (!manager) {
		if (tuning)
			setenv("LIBCAMERA_RPI_TUNING_FILE", tuning, 1);
		manager_tuning = want;
		manager = new CameraManager();
		int r = manager->start();
		if (r < 0) {
			delete manager;
			manager = nullptr;
			why =
			    std::string(
				"libcamera camera manager failed to start: ") +
			    strerror(-r);
			return -1;
		}
	}
	manager_users++;
	return 0;
}

void manager_put()
{
	std::lock_guard<std::mutex> g(manager_lock);
	if (--manager_users == 0) {
		manager->stop();
		delete manager;
		manager = nullptr;
	}
}

struct Mapping {
	void *addr = MAP_FAILED;
	size_t len = 0;
};

} // namespace

struct lc_slot {
	struct lc_cam *cam;
	Request *request;
	FrameBuffer *buffer;
	uint8_t *plane[3];
	uint8_t *contiguous;
	size_t size;
	int dmabuf_fd; /* the single fd of a contiguous buffer, else -1 */
	unsigned dmabuf_offset;
};

struct lc_cam {
	std::atomic<int> refs{1};
	std::atomic<bool> running{false};
	bool have_manager = false;
	std::shared_ptr<Camera> camera;
	bool acquired = false;
	std::unique_ptr<CameraConfiguration> config;
	Stream *stream = nullptr;
	std::unique_ptr<FrameBufferAllocator> allocator;
	std::vector<std::unique_ptr<Request>> requests;
	std::vector<lc_slot> slots;
	std::vector<Mapping> maps;
	int efd = -1;
	std::mutex lock;
	std::deque<lc_slot *> done;

	void on_complete(Request *r);
	~lc_cam();
};

static void put(lc_cam *c)
{
	if (c->refs.fetch_sub(1) == 1)
		delete c;
}

lc_cam::~lc_cam()
{
	if (running)
		camera->stop();
	if (camera)
		camera->requestCompleted.disconnect(this);
	requests.clear();
	for (Mapping &m : maps)
		if (m.addr != MAP_FAILED)
			munmap(m.addr, m.len);
	if (allocator && stream)
		allocator->free(stream);
	allocator.reset();
	if (acquired)
		camera->release();
	camera.reset();
	if (efd >= 0)
		close(efd);
	if (have_manager)
		manager_put();
}

void lc_cam::on_complete(Request *r)
{
	if (!running)
		return; // cancelled at stop: nothing to hand out
	lc_slot *s = reinterpret_cast<lc_slot *>(r->cookie());
	{
		std::lock_guard<std::mutex> g(lock);
		done.push_back(s);
	}
	uint64_t one = 1;
	ssize_t w = write(efd, &one, sizeof(one));
	(void)w;
}

static int fail(char *err, size_t n, const std::string &why)
{
	snprintf(err, n, "%s", why.c_str());
	return -1;
}

static std::string camera_list()
{
	std::string s;
	for (const auto &cam : manager->cameras())
		s += (s.empty() ? "" : ", ") + cam->id();
	return s.empty() ? "none" : s;
}

static std::shared_ptr<Camera> pick(const lc_cam_config *cfg, std::string &why)
{
	std::lock_guard<std::mutex> g(manager_lock);
	auto cams = manager->cameras();
	if (cams.empty()) {
		why = "no camera found by libcamera (is one connected and "
		      "enabled, and /dev/media* and /dev/video* accessible?)";
		return nullptr;
	}
	if (cfg->id) {
		auto cam = manager->get(cfg->id);
		if (!cam)
			why = std::string("no camera with id '") + cfg->id +
			      "' (cameras: " + camera_list() + ")";
		return cam;
	}
	if (cfg->index < 0 || (size_t)cfg->index >= cams.size()) {
		why = "camera-index " + std::to_string(cfg->index) +
		      " out of range: " + std::to_string(cams.size()) +
		      " camera(s): " + camera_list();
		return nullptr;
	}
	return cams[cfg->index];
}

static int map_buffers(lc_cam *c, char *err, size_t n)
{
	const auto &buffers = c->allocator->buffers(c->stream);
	for (const auto &b : buffers) {
		lc_slot s{};
		s.cam = c;
		s.buffer = b.get();
		s.dmabuf_fd = -1;
		const auto &planes = b->planes();
		if (planes.size() > 3)
			return fail(err, n, "buffer with more than 3 planes");
		// One mapping per distinct dmabuf covering all its planes, so a
		// single-fd buffer with contiguous planes is one block.
		int fd0 = planes[0].fd.get();
		size_t end = 0;
		bool one_fd = true;
		for (const auto &p : planes) {
			one_fd = one_fd && p.fd.get() == fd0;
			end = std::max(end, (size_t)p.offset + p.length);
		}
		if (one_fd) {
			Mapping m;
			m.len = end;
			m.addr =
			    mmap(nullptr, end, PROT_READ, MAP_SHARED, fd0, 0);
			if (m.addr == MAP_FAILED)
				return fail(err, n,
					    std::string("mmap: ") +
						strerror(errno));
			c->maps.push_back(m);
			uint8_t *base = static_cast<uint8_t *>(m.addr);
			bool contiguous = true;
			size_t expect = planes[0].offset;
			for (size_t i = 0; i < planes.size(); i++) {
				s.plane[i] = base + planes[i].offset;
				contiguous =
				    contiguous && planes[i].offset == expect;
				expect = planes[i].offset + planes[i].length;
			}
			if (contiguous) {
				s.contiguous = base + planes[0].offset;
				s.size = expect - planes[0].offset;
				s.dmabuf_fd = fd0; // owned by the FrameBuffer
				s.dmabuf_offset = planes[0].offset;
			}
		} else {
			for (size_t i = 0; i < planes.size(); i++) {
				Mapping m;
				m.len =
				    (size_t)planes[i].offset + planes[i].length;
				m.addr =
				    mmap(nullptr, m.len, PROT_READ, MAP_SHARED,
					 planes[i].fd.get(), 0);
				if (m.addr == MAP_FAILED)
					return fail(err, n,
						    std::string("mmap: ") +
							strerror(errno));
				c->maps.push_back(m);
				s.plane[i] = static_cast<uint8_t *>(m.addr) +
					     planes[i].offset;
			}
		}
		c->slots.push_back(s);
	}
	return 0;
}

// Sensor mode, as rpicam-apps did before libcamera 0.4's
// SensorConfiguration: a raw stream of the mode's size (and bit depth and
// packing, matched on the raw formats' names, e.g. SRGGB10_CSI2P) makes
// the pipeline pick that sensor mode. The raw stream gets no buffers.
static bool raw_format_matches(const PixelFormat &pf, const lc_sensor_mode &m)
{
	std::string name = pf.toString();
	bool packed = name.find("CSI2P") != std::string::npos ||
		      name.find("PISP_COMP") != std::string::npos;
	if (m.packed >= 0 && packed != (m.packed == 1))
		return false;
	return m.bits == 0 ||
	       name.find(std::to_string(m.bits)) != std::string::npos;
}

static void request_mode(StreamConfiguration &raw, const lc_sensor_mode &m)
{
	raw.size = Size(m.width, m.height);
	for (const PixelFormat &pf : raw.formats().pixelformats())
		if (raw_format_matches(pf, m)) {
			raw.pixelFormat = pf;
			break;
		}
	set_buffer_count(raw, 1);
}

static std::string mode_refused(const StreamConfiguration &raw,
				const lc_sensor_mode &m)
{
	if (raw.size == Size(m.width, m.height) &&
	    raw_format_matches(raw.pixelFormat, m))
		return "";
	std::string offered;
	for (const PixelFormat &pf : raw.formats().pixelformats())
		for (const Size &sz : raw.formats().sizes(pf))
			offered += (offered.empty() ? "" : ", ") +
				   pf.toString() + " " + sz.toString();
	return "the camera has no sensor mode " + std::to_string(m.width) +
	       ":" + std::to_string(m.height) +
	       (m.bits ? ":" + std::to_string(m.bits) : std::string()) +
	       " (it picked " + raw.toString() +
	       "; modes: " + (offered.empty() ? "none listed" : offered) + ")";
}

static int configure(lc_cam *c, const lc_cam_config *cfg, lc_cam_format *fmt,
		     char *err, size_t n)
{
	// A std::vector suits both generateConfiguration(const StreamRoles &)
	// (0.0.x) and generateConfiguration(Span<const StreamRole>) (0.1.0+).
	std::vector<StreamRole> roles{StreamRole::VideoRecording};
	if (cfg->mode)
		roles.push_back(StreamRole::Raw);
	c->config = c->camera->generateConfiguration(roles);
	if (!c->config || c->config->size() != roles.size())
		return fail(err, n,
			    cfg->mode ? "camera offers no video stream with a "
					"raw stream beside it (mode)"
				      : "camera offers no video stream");
	if (cfg->mode)
		request_mode(c->config->at(1), *cfg->mode);
	StreamConfiguration &sc = c->config->at(0);
	sc.size = Size(cfg->width, cfg->height);
	sc.pixelFormat = cfg->nv12 ? formats::NV12 : formats::YUV420;
	set_buffer_count(sc, cfg->buffers);
	Transform turn = wanted_transform(cfg);
	request_turn(*c->config, turn);
	CameraConfiguration::Status st = c->config->validate();
	if (st == CameraConfiguration::Invalid)
		return fail(err, n,
			    "camera refused the configuration " +
				sc.toString());
	if (sc.pixelFormat != (cfg->nv12 ? formats::NV12 : formats::YUV420))
		return fail(err, n,
			    "camera cannot deliver " +
				std::string(cfg->nv12 ? "NV12" : "YUV420") +
				" (offers " + sc.toString() + ")");
	if (cfg->mode) {
		std::string why = mode_refused(c->config->at(1), *cfg->mode);
		if (!why.empty())
			return fail(err, n, why);
	}
	std::string refused = turn_refused(*c->config, turn);
	if (!refused.empty())
		return fail(err, n, refused + " (rotation/hflip/vflip)");
	int r = c->camera->configure(c->config.get());
	if (r < 0)
		return fail(err, n,
			    std::string("configure ") + sc.toString() + ": " +
				strerror(-r));
	c->stream = sc.stream();
	fmt->width = sc.size.width;
	fmt->height = sc.size.height;
	fmt->stride = sc.stride;
	fmt->num_planes = cfg->nv12 ? 2 : 3;
	size_t luma = (size_t)sc.stride * sc.size.height;
	fmt->plane_offset[0] = 0;
	fmt->plane_offset[1] = (unsigned)luma;
	fmt->plane_offset[2] = cfg->nv12 ? 0 : (unsigned)(luma + luma / 4);
	fmt->frame_size = luma + luma / 2;
	return 0;
}

// Pipelines may pad planes (a luma plane rounded up to 16 rows, say): once
// the buffers exist, take the plane offsets from the first one, so wrapped
// frames describe where the chroma really starts.
static void layout_from_buffers(const lc_cam *c, lc_cam_format *fmt)
{
	if (c->slots.empty() || !c->slots[0].contiguous)
		return;
	const lc_slot &s = c->slots[0];
	for (unsigned i = 1; i < fmt->num_planes; i++)
		fmt->plane_offset[i] = (unsigned)(s.plane[i] - s.plane[0]);
	fmt->frame_size = std::max(fmt->frame_size, s.size);
}

// A scalar int64 ControlValue. Copied out of its bytes: get<int64_t>()
// casts a byte pointer, which -Wcast-align=strict refuses in the header.
static bool int64_of(const ControlValue &v, int64_t &out)
{
	if (v.type() != ControlTypeInteger64 || v.isArray() ||
	    v.data().size() != sizeof(out))
		return false;
	memcpy(&out, v.data().data(), sizeof(out));
	return true;
}

// The camera lists the frame durations it can do (microseconds); a rate
// outside them is refused with the range in frames per second.
static bool frame_duration_ok(const lc_cam *c, int64_t us, std::string &why)
{
	const ControlInfoMap &info = c->camera->controls();
	auto it = info.find(controls::FrameDurationLimits.id());
	if (it == info.end()) {
		why = "the camera has no FrameDurationLimits control: set "
		      "framerate = 0 to keep its own rate";
		return false;
	}
	int64_t min, max;
	if (!int64_of(it->second.min(), min) ||
	    !int64_of(it->second.max(), max))
		return true; // no usable range: let the camera decide
	if (min > 0 && max >= min && (us < min || us > max)) {
		char buf[160];
		snprintf(buf, sizeof(buf),
			 "framerate %.3g is outside what the camera does: "
			 "%.3g to %.3g fps",
			 1e6 / (double)us, 1e6 / (double)max,
			 1e6 / (double)min);
		why = buf;
		return false;
	}
	return true;
}

// properties::ScalerCropMaximum, or a null rectangle. Copied out of its
// bytes, as int64_of does.
static Rectangle crop_maximum(const ControlList &props)
{
	Rectangle r;
	unsigned id = properties::ScalerCropMaximum.id();
	if (props.contains(id)) {
		const ControlValue &v = props.get(id);
		if (v.type() == ControlTypeRectangle && !v.isArray() &&
		    v.data().size() == sizeof(r))
			memcpy(&r, v.data().data(), sizeof(r));
	}
	return r;
}

static int start_camera(lc_cam *c, const lc_cam_config *cfg, lc_cam_format *fmt,
			char *err, size_t n)
{
	c->allocator = std::make_unique<FrameBufferAllocator>(c->camera);
	if (allocate_buffers(*c->allocator, c->stream, cfg->buffers, 0) < 0)
		return fail(err, n, "cannot allocate camera buffers");
	if (map_buffers(c, err, n) < 0)
		return -1;
	layout_from_buffers(c, fmt);
	for (lc_slot &s : c->slots) {
		std::unique_ptr<Request> r =
		    c->camera->createRequest(reinterpret_cast<uint64_t>(&s));
		if (!r || r->addBuffer(c->stream, s.buffer) < 0)
			return fail(err, n, "cannot create a capture request");
		s.request = r.get();
		c->requests.push_back(std::move(r));
	}
	c->camera->requestCompleted.connect(c, &lc_cam::on_complete);
	// Bound to the core controls' id map, so pipelines that serialise
	// the start controls to their IPA (Raspberry Pi) can.
	ControlList controls(controls::controls);
	if (cfg->frame_duration_ns > 0) {
		// libcamera wants microseconds.
		int64_t us = cfg->frame_duration_ns / 1000;
		std::string why;
		if (!frame_duration_ok(c, us, why))
			return fail(err, n, why);
		int64_t limits[2] = {us, us};
		controls.set(controls::FrameDurationLimits,
			     Span<const int64_t, 2>(limits));
	}
	if (cfg->controls) {
		std::string why = lc_controls_build(
		    *cfg->controls, c->camera->controls(),
		    crop_maximum(c->camera->properties()), controls);
		if (!why.empty())
			return fail(err, n, why);
	}
	int r = c->camera->start(&controls);
	if (r < 0)
		return fail(err, n,
			    std::string("camera start: ") + strerror(-r));
	c->running = true;
	for (auto &req : c->requests)
		if (c->camera->queueRequest(req.get()) < 0)
			return fail(err, n, "cannot queue a capture request");
	return 0;
}

extern "C" int lc_cam_open(const lc_cam_config *cfg, lc_cam **out,
			   lc_cam_format *fmt, char *err, size_t n)
{
	*out = nullptr;
	auto *c = new (std::nothrow) lc_cam();
	if (!c)
		return fail(err, n, "out of memory");
	std::string why;
	try {
		if (manager_get(why, cfg->tuning_file) < 0) {
			put(c);
			return fail(err, n, why);
		}
		c->have_manager = true;
		c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		c->camera = pick(cfg, why);
		if (!c->camera) {
			put(c);
			return fail(err, n, why);
		}
		if (c->camera->acquire() < 0) {
			std::string id = c->camera->id();
			put(c);
			return fail(err, n,
				    "camera " + id +
					" is in use by another process");
		}
		c->acquired = true;
		if (configure(c, cfg, fmt, err, n) < 0 ||
		    start_camera(c, cfg, fmt, err, n) < 0) {
			put(c);
			return -1;
		}
	} catch (const std::exception &e) {
		put(c);
		return fail(err, n, std::string("libcamera: ") + e.what());
	}
	*out = c;
	return 0;
}

extern "C" int lc_cam_fd(lc_cam *c)
{
	return c->efd;
}

extern "C" int lc_cam_next(lc_cam *c, lc_frame *f)
{
	uint64_t v;
	ssize_t r = read(c->efd, &v, sizeof(v));
	(void)r;
	lc_slot *s;
	{
		std::lock_guard<std::mutex> g(c->lock);
		if (c->done.empty())
			return 0;
		s = c->done.front();
		c->done.pop_front();
		if (!c->done.empty()) {
			uint64_t one = 1;
			ssize_t w = write(c->efd, &one, sizeof(one));
			(void)w;
		}
	}
	const FrameMetadata &md = s->buffer->metadata();
	*f = lc_frame{};
	f->slot = s;
	f->data = s->contiguous;
	f->size = s->size;
	f->dmabuf_fd = s->dmabuf_fd;
	f->dmabuf_offset = s->dmabuf_offset;
	for (int i = 0; i < 3; i++)
		f->plane[i] = s->plane[i];
	f->timestamp = md.timestamp;
	f->sequence = md.sequence;
	f->ok = s->request->status() == Request::RequestComplete &&
		md.status == FrameMetadata::FrameSuccess;
	c->refs++; // held by the frame until lc_cam_release_slot
	return 1;
}

extern "C" void lc_cam_release_slot(void *slot)
{
	lc_slot *s = static_cast<lc_slot *>(slot);
	lc_cam *c = s->cam;
	{
		// Under the lock so that close cannot stop the camera between
		// the check and the queueing.
		std::lock_guard<std::mutex> g(c->lock);
		if (c->running) {
			s->request->reuse(Request::ReuseBuffers);
			c->camera->queueRequest(s->request);
		}
	}
	put(c);
}

extern "C" void lc_cam_close(lc_cam *c)
{
	if (!c)
		return;
	bool was_running;
	{
		std::lock_guard<std::mutex> g(c->lock);
		was_running = c->running.exchange(false);
	}
	if (was_running) {
		c->camera->stop();
		c->camera->requestCompleted.disconnect(c);
	}
	put(c);
}

extern "C" const char *lc_cam_version(void)
{
	static const std::string v = CameraManager::version();
	return v.c_str();
}

extern "C" const char *lc_cam_build_version(void)
{
	return build_version;
}
