/* The omx module: H.264 through an OpenMAX IL encoder component, e.g.
 * OMX.broadcom.video_encode on 32-bit Raspberry Pi OS.
 *
 * The IL core is a shared library named by the `core` parameter, opened at
 * start() with dlopen, so the module builds anywhere the Khronos headers are.
 * The component is set up on the first picture (its size and rate decide
 * the ports): Loaded -> Idle (buffers allocated) -> Executing, and back down
 * at the end of stream, on a format change and at stop.
 *
 * Threads: the component calls EventHandler, EmptyBufferDone and
 * FillBufferDone on threads of its own. They only queue what happened under
 * `lock` and wake the node through an eventfd it waits on; every IL call and
 * every frame push happens in the node thread, never with `lock` held (some
 * cores call back from inside the call).
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vpipe/vpipe.h>

#include "keyint.h"
#include "omx_au.h"
#include "omx_il.h"
#include "omx_names.h"
#include "yuv.h"

#define MAX_BUFFERS 32
#define MAX_PENDING 64 /* input frames inside the component */

struct omx_config {
	const char *core;
	const char *component;
	int64_t bitrate;
	int rate_control;
	const char *keyint;
	int profile;
	int64_t timeout;
};

static const char *const rc_names[] = {"cbr", "vbr", NULL};
static const char *const profile_names[] = {"baseline", "main", "high", NULL};
static const OMX_VIDEO_AVCPROFILETYPE profile_values[] = {
    OMX_VIDEO_AVCProfileBaseline, OMX_VIDEO_AVCProfileMain,
    OMX_VIDEO_AVCProfileHigh};

#define CFG struct omx_config
static const struct vpipe_param omx_params[] = {
    VPIPE_P_PATH("core", CFG, core, "/opt/vc/lib/libopenmaxil.so", 0,
		 "OpenMAX IL core library (dlopen)"),
    VPIPE_P_STRING("component", CFG, component, "OMX.broadcom.video_encode", 0,
		   "encoder component name"),
    VPIPE_P_INT("bitrate", CFG, bitrate, "1000", 16, 100000,
		"target bit rate in kbit/s"),
    VPIPE_P_ENUM("rate-control", CFG, rate_control, "vbr", rc_names,
		 "OMX_Video_ControlRateConstant or ...Variable"),
    VPIPE_P_STRING("keyint", CFG, keyint, "2s", 0,
		   "IDR interval: frames (\"60\") or a duration (\"2s\")"),
    VPIPE_P_ENUM("profile", CFG, profile, "main", profile_names,
		 "H.264 profile"),
    VPIPE_P_DURATION("timeout", CFG, timeout, "2s", 0.01, 60, VPIPE_S,
		     "longest wait for the component to answer"),
    VPIPE_P_END,
};
#undef CFG

typedef OMX_ERRORTYPE (*omx_init_fn)(void);
typedef OMX_ERRORTYPE (*omx_get_handle_fn)(OMX_HANDLETYPE *, OMX_STRING,
					   OMX_PTR, OMX_CALLBACKTYPE *);
typedef OMX_ERRORTYPE (*omx_free_handle_fn)(OMX_HANDLETYPE);

struct pending {
	struct vpipe_frame *in; /* reference to the input frame */
	int64_t pts;		/* ns, as sent (in microseconds) */
};

struct omx_node {
	struct vpipe_node *node;
	struct omx_config cfg;
	struct keyint keyint;

	/* the core */
	void *dl;
	omx_init_fn init, deinit;
	omx_get_handle_fn get_handle;
	omx_free_handle_fn free_handle;
	bool core_up;

	/* the component, node thread */
	OMX_HANDLETYPE h;
	OMX_U32 in_port, out_port;
	OMX_BUFFERHEADERTYPE *in_bufs[MAX_BUFFERS], *out_bufs[MAX_BUFFERS];
	unsigned n_in, n_out;
	uint32_t stride, slice_height; /* of the input port */
	struct vpipe_format fmt;       /* input format it was set up for */
	bool executing;
	bool tearing_down; /* stop refilling output buffers */
	bool force_key;
	bool vop_refresh_warned;
	/* The core kept a component we could not free: its threads may still
	 * call back into this state, so it is never freed. */
	bool handle_leaked;
	struct omx_au au;
	struct pending pending[MAX_PENDING];
	unsigned n_pending;
	int64_t next_pts;

	/* shared with the component's threads, under lock */
	pthread_mutex_t lock;
	int efd;
	OMX_STATETYPE state;
	OMX_ERRORTYPE error; /* first error event */
	uint32_t error_data;
	OMX_BUFFERHEADERTYPE *free_in[MAX_BUFFERS];
	unsigned n_free_in;
	OMX_BUFFERHEADERTYPE *filled[MAX_BUFFERS];
	unsigned n_filled;
	bool eos_out;
};

/* ------------------------------------------------------ callbacks */

static void wake(struct omx_node *o)
{
	uint64_t one = 1;

	if (write(o->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
	vpipe_node_wake(o->node);
}

static OMX_ERRORTYPE on_event(OMX_HANDLETYPE h, OMX_PTR app, OMX_EVENTTYPE ev,
			      OMX_U32 d1, OMX_U32 d2, OMX_PTR data)
{
	struct omx_node *o = app;

	(void)h;
	(void)data;
	pthread_mutex_lock(&o->lock);
	if (ev == OMX_EventCmdComplete && d1 == OMX_CommandStateSet)
		o->state = (OMX_STATETYPE)d2;
	else if (ev == OMX_EventError && o->error == OMX_ErrorNone) {
		o->error = (OMX_ERRORTYPE)d1;
		o->error_data = d2;
	}
	pthread_mutex_unlock(&o->lock);
	wake(o);
	return OMX_ErrorNone;
}

static OMX_ERRORTYPE on_empty_done(OMX_HANDLETYPE h, OMX_PTR app,
				   OMX_BUFFERHEADERTYPE *b)
{
	struct omx_node *o = app;

	(void)h;
	pthread_mutex_lock(&o->lock);
	if (o->n_free_in < MAX_BUFFERS)
		o->free_in[o->n_free_in++] = b;
	pthread_mutex_unlock(&o->lock);
	wake(o);
	return OMX_ErrorNone;
}

static OMX_ERRORTYPE on_fill_done(OMX_HANDLETYPE h, OMX_PTR app,
				  OMX_BUFFERHEADERTYPE *b)
{
	struct omx_node *o = app;

	(void)h;
	pthread_mutex_lock(&o->lock);
	if (o->n_filled < MAX_BUFFERS)
		o->filled[o->n_filled++] = b;
	pthread_mutex_unlock(&o->lock);
	wake(o);
	return OMX_ErrorNone;
}

static OMX_CALLBACKTYPE callbacks = {
    .EventHandler = on_event,
    .EmptyBufferDone = on_empty_done,
    .FillBufferDone = on_fill_done,
};

/* ---------------------------------------------------------- waiting */

/* Wait for the component to call back, at most timeout_ns. 1: called
 * back, 0: timed out or woken for another reason (callers look at their
 * condition and their deadline again), -1: the node is stopping. While tearing
 * down (stop() runs after the stop request) the kernel wait would return at
 * once, so a plain bounded poll on the eventfd is used instead. */
static int wait_callback(struct omx_node *o, int64_t timeout_ns)
{
	int r;

	if (o->tearing_down && vpipe_node_stopping(o->node)) {
		struct pollfd p = {.fd = o->efd, .events = POLLIN};
		r = poll(&p, 1, (int)(timeout_ns / 1000000) + 1);
		if (r < 0)
			r = 0;
	} else {
		r = vpipe_node_wait_fd(o->node, o->efd, POLLIN, timeout_ns);
	}
	if (r > 0) {
		uint64_t v;
		if (read(o->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return 1;
	}
	return r > 0 ? 1 : r;
}

/* The first error event, reported once. Returns -1 if there was one. */
static int check_error(struct omx_node *o, const char *doing)
{
	pthread_mutex_lock(&o->lock);
	OMX_ERRORTYPE e = o->error;
	uint32_t d = o->error_data;
	o->error = OMX_ErrorNone;
	pthread_mutex_unlock(&o->lock);
	if (e == OMX_ErrorNone)
		return 0;
	vpipe_error(o->node, "%s %s: %s (data %" PRIu32 ")", o->cfg.component,
		    doing, omx_error_name(e), d);
	return -1;
}

static OMX_STATETYPE current_state(struct omx_node *o)
{
	pthread_mutex_lock(&o->lock);
	OMX_STATETYPE s = o->state;
	pthread_mutex_unlock(&o->lock);
	return s;
}

/* Wait until the component reports state `want`. */
static int wait_state(struct omx_node *o, OMX_STATETYPE want)
{
	int64_t deadline = vpipe_now() + o->cfg.timeout;
	char doing[80];

	snprintf(doing, sizeof(doing), "going to %s", omx_state_name(want));
	for (;;) {
		if (current_state(o) == want)
			return 0;
		if (check_error(o, doing) < 0)
			return -1;
		int64_t left = deadline - vpipe_now();
		if (left <= 0) {
			vpipe_error(o->node,
				    "%s: still %s after %lld ms going "
				    "to %s",
				    o->cfg.component,
				    omx_state_name(current_state(o)),
				    (long long)(o->cfg.timeout / 1000000),
				    omx_state_name(want));
			return -1;
		}
		if (wait_callback(o, left) < 0)
			return -1;
	}
}

static int omx_call(struct omx_node *o, OMX_ERRORTYPE e, const char *what)
{
	if (e == OMX_ErrorNone)
		return 0;
	vpipe_error(o->node, "%s: %s: %s", o->cfg.component, what,
		    omx_error_name(e));
	return -1;
}

static int send_state(struct omx_node *o, OMX_STATETYPE st)
{
	char what[64];

	snprintf(what, sizeof(what), "OMX_SendCommand(StateSet %s)",
		 omx_state_name(st));
	return omx_call(o, OMX_SendCommand(o->h, OMX_CommandStateSet, st, NULL),
			what);
}

/* ------------------------------------------------------- the core */

static void *core_sym(struct omx_node *o, const char *name)
{
	void *p = dlsym(o->dl, name);

	if (!p)
		vpipe_error(o->node, "%s has no %s: not an OpenMAX IL core",
			    o->cfg.core, name);
	return p;
}

/* Broadcom's core needs the VideoCore host interface up first. */
static void init_broadcom_host(struct omx_node *o)
{
	void (*host_init)(void) = (void (*)(void))dlsym(o->dl, "bcm_host_init");

	if (!host_init) {
		char path[512];
		const char *slash = strrchr(o->cfg.core, '/');
		int dir = slash ? (int)(slash - o->cfg.core) : 0;

		snprintf(path, sizeof(path), "%.*s%slibbcm_host.so", dir,
			 o->cfg.core, slash ? "/" : "");
		void *bcm = dlopen(path, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
		if (!bcm && access(path, R_OK) == 0)
			bcm = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
		if (bcm)
			host_init = (void (*)(void))dlsym(bcm, "bcm_host_init");
	}
	if (host_init) {
		vpipe_debug(o->node, "calling bcm_host_init");
		host_init();
	}
}

static int load_core(struct omx_node *o)
{
	o->dl = dlopen(o->cfg.core, RTLD_NOW | RTLD_LOCAL);
	if (!o->dl) {
		vpipe_error(o->node, "cannot load IL core %s: %s", o->cfg.core,
			    dlerror());
		return -1;
	}
	o->init = (omx_init_fn)core_sym(o, "OMX_Init");
	o->deinit = (omx_init_fn)core_sym(o, "OMX_Deinit");
	o->get_handle = (omx_get_handle_fn)core_sym(o, "OMX_GetHandle");
	o->free_handle = (omx_free_handle_fn)core_sym(o, "OMX_FreeHandle");
	if (!o->init || !o->deinit || !o->get_handle || !o->free_handle)
		return -1;
	init_broadcom_host(o);
	if (omx_call(o, o->init(), "OMX_Init") < 0)
		return -1;
	o->core_up = true;
	return 0;
}

static void unload_core(struct omx_node *o)
{
	if (o->core_up)
		o->deinit();
	o->core_up = false;
	if (o->dl)
		dlclose(o->dl);
	o->dl = NULL;
}

/* --------------------------------------------------- pending frames */

static void pending_push(struct omx_node *o, const struct vpipe_frame *in,
			 int64_t pts)
{
	if (o->n_pending == MAX_PENDING) {
		/* The component kept more pictures than it could: forget the
		 * oldest one's metadata rather than grow. */
		vpipe_frame_unref(o->pending[0].in);
		memmove(o->pending, o->pending + 1,
			(MAX_PENDING - 1) * sizeof(o->pending[0]));
		o->n_pending--;
	}
	o->pending[o->n_pending].in = vpipe_frame_ref((struct vpipe_frame *)in);
	o->pending[o->n_pending].pts = pts;
	o->n_pending++;
}

/* The input frame an access unit with timestamp ts_us came from. Frames
 * before it were skipped by the component's rate control. When the
 * component does not keep timestamps, the oldest frame is it. */
static struct pending pending_take(struct omx_node *o, int64_t ts_us)
{
	struct pending p = {.in = NULL, .pts = ts_us * 1000};
	unsigned i;

	for (i = 0; i < o->n_pending; i++)
		if (o->pending[i].pts / 1000 == ts_us)
			break;
	if (i == o->n_pending)
		i = 0;
	if (o->n_pending == 0)
		return p;
	for (unsigned k = 0; k < i; k++) {
		vpipe_frame_unref(o->pending[k].in);
		vpipe_node_count(o->node, "skipped_pictures_total", 1);
	}
	p = o->pending[i];
	memmove(o->pending, o->pending + i + 1,
		(o->n_pending - i - 1) * sizeof(o->pending[0]));
	o->n_pending -= i + 1;
	return p;
}

static void pending_clear(struct omx_node *o)
{
	for (unsigned i = 0; i < o->n_pending; i++)
		vpipe_frame_unref(o->pending[i].in);
	o->n_pending = 0;
}

/* ----------------------------------------------------------- output */

static void emit(struct omx_node *o, const struct omx_au_frame *fr)
{
	struct pending p = pending_take(o, fr->ts_us);
	struct vpipe_frame *f = vpipe_frame_alloc(o->node, fr->size);

	if (!f) {
		if (p.in)
			vpipe_frame_unref(p.in);
		return; /* stopping */
	}
	memcpy(f->data, fr->data, fr->size);
	f->size = fr->size;
	f->media = VPIPE_MEDIA_H264;
	f->flags = (fr->key ? VPIPE_FLAG_KEY : 0) |
		   (fr->has_sps ? VPIPE_FLAG_CODEC_CONFIG : 0);
	f->pts = f->dts = p.pts;
	memset(&f->fmt, 0, sizeof(f->fmt));
	f->fmt.fourcc = VPIPE_FOURCC_H264;
	f->fmt.width = o->fmt.width;
	f->fmt.height = o->fmt.height;
	f->fmt.fps_num = o->fmt.fps_num;
	f->fmt.fps_den = o->fmt.fps_den;
	if (p.in) {
		f->flags |= p.in->flags & VPIPE_FLAG_DISCONTINUITY;
		f->duration = p.in->duration;
		f->wallclock = p.in->wallclock;
		vpipe_frame_copy_tags(f, p.in);
		vpipe_frame_unref(p.in);
	}
	if (fr->key)
		vpipe_node_count(o->node, "keyframes_total", 1);
	vpipe_node_count(o->node, "output_bytes_total", (int64_t)fr->size);
	vpipe_push(o->node, 0, f);
}

/* Take the output buffers the component filled, turn complete pictures into
 * frames, and hand the buffers back while executing. */
static int pump_output(struct omx_node *o)
{
	OMX_BUFFERHEADERTYPE *got[MAX_BUFFERS];
	unsigned n;

	pthread_mutex_lock(&o->lock);
	n = o->n_filled;
	memcpy(got, o->filled, n * sizeof(got[0]));
	o->n_filled = 0;
	pthread_mutex_unlock(&o->lock);

	for (unsigned i = 0; i < n; i++) {
		OMX_BUFFERHEADERTYPE *b = got[i];
		struct omx_au_frame fr;
		int r = 0;

		if (!o->tearing_down || (b->nFlags & OMX_BUFFERFLAG_EOS))
			r = omx_au_add(&o->au, b->pBuffer + b->nOffset,
				       b->nFilledLen, b->nFlags,
				       omx_ticks_get(b->nTimeStamp), &fr);
		if (r < 0) {
			vpipe_error(o->node,
				    "out of memory for an access unit");
			return -1;
		}
		if (r > 0)
			emit(o, &fr);
		if (b->nFlags & OMX_BUFFERFLAG_EOS)
			o->eos_out = true;
		if (o->tearing_down || !o->executing)
			continue;
		b->nFilledLen = 0;
		b->nOffset = 0;
		b->nFlags = 0;
		if (omx_call(o, OMX_FillThisBuffer(o->h, b),
			     "OMX_FillThisBuffer") < 0)
			return -1;
	}
	return check_error(o, "while encoding");
}

/* A free input buffer, pumping output while waiting for one. */
static OMX_BUFFERHEADERTYPE *take_input_buffer(struct omx_node *o)
{
	int64_t deadline = vpipe_now() + o->cfg.timeout;

	for (;;) {
		if (pump_output(o) < 0)
			return NULL;
		pthread_mutex_lock(&o->lock);
		OMX_BUFFERHEADERTYPE *b =
		    o->n_free_in ? o->free_in[--o->n_free_in] : NULL;
		pthread_mutex_unlock(&o->lock);
		if (b)
			return b;
		int64_t left = deadline - vpipe_now();
		if (left <= 0) {
			vpipe_error(o->node,
				    "%s returned no input buffer "
				    "within %lld ms",
				    o->cfg.component,
				    (long long)(o->cfg.timeout / 1000000));
			return NULL;
		}
		if (wait_callback(o, left) < 0)
			return NULL;
	}
}

/* ------------------------------------------------------------ setup */

static int get_port(struct omx_node *o, OMX_U32 port,
		    OMX_PARAM_PORTDEFINITIONTYPE *def)
{
	OMX_INIT_STRUCT(*def);
	def->nPortIndex = port;
	return omx_call(
	    o, OMX_GetParameter(o->h, OMX_IndexParamPortDefinition, def),
	    "OMX_GetParameter(OMX_IndexParamPortDefinition)");
}

static int set_port(struct omx_node *o, OMX_PARAM_PORTDEFINITIONTYPE *def)
{
	return omx_call(
	    o, OMX_SetParameter(o->h, OMX_IndexParamPortDefinition, def),
	    "OMX_SetParameter(OMX_IndexParamPortDefinition)");
}

static int find_ports(struct omx_node *o)
{
	OMX_PORT_PARAM_TYPE ports;

	OMX_INIT_STRUCT(ports);
	if (omx_call(o, OMX_GetParameter(o->h, OMX_IndexParamVideoInit, &ports),
		     "OMX_GetParameter(OMX_IndexParamVideoInit)") < 0)
		return -1;
	if (ports.nPorts < 2) {
		vpipe_error(o->node,
			    "%s has %u video ports, an encoder needs 2",
			    o->cfg.component, (unsigned)ports.nPorts);
		return -1;
	}
	o->in_port = ports.nStartPortNumber;
	o->out_port = ports.nStartPortNumber + 1;
	return 0;
}

static OMX_U32 align_up(OMX_U32 v, OMX_U32 a)
{
	return (v + a - 1) / a * a;
}

/* Raw I420 in: Broadcom wants the stride a multiple of 32 and the slice
 * height of 16. Other formats are converted to I420 on the way in. */
static int set_input_port(struct omx_node *o, const struct vpipe_format *fmt)
{
	OMX_PARAM_PORTDEFINITIONTYPE def;
	uint32_t num = fmt->fps_num ? fmt->fps_num : 30;
	uint32_t den = fmt->fps_num ? fmt->fps_den : 1;

	if (get_port(o, o->in_port, &def) < 0)
		return -1;
	if (def.eDir != OMX_DirInput || def.eDomain != OMX_PortDomainVideo) {
		vpipe_error(o->node, "%s port %u is not a video input",
			    o->cfg.component, (unsigned)o->in_port);
		return -1;
	}
	def.format.video.nFrameWidth = fmt->width;
	def.format.video.nFrameHeight = fmt->height;
	def.format.video.nStride = (OMX_S32)align_up(fmt->width, 32);
	def.format.video.nSliceHeight = align_up(fmt->height, 16);
	def.format.video.xFramerate = (OMX_U32)(((uint64_t)num << 16) / den);
	def.format.video.eCompressionFormat = OMX_VIDEO_CodingUnused;
	def.format.video.eColorFormat = OMX_COLOR_FormatYUV420PackedPlanar;
	if (set_port(o, &def) < 0 || get_port(o, o->in_port, &def) < 0)
		return -1;
	o->stride = (uint32_t)def.format.video.nStride;
	o->slice_height = def.format.video.nSliceHeight;
	if (o->stride < fmt->width || o->stride % 2 ||
	    o->slice_height < fmt->height ||
	    def.nBufferSize < (uint64_t)o->stride * o->slice_height * 3 / 2) {
		vpipe_error(o->node,
			    "%s input port: stride %u, slice height "
			    "%u, buffers of %u bytes do not hold %ux%u I420",
			    o->cfg.component, o->stride, o->slice_height,
			    (unsigned)def.nBufferSize, fmt->width, fmt->height);
		return -1;
	}
	return 0;
}

static int set_output_port(struct omx_node *o)
{
	OMX_PARAM_PORTDEFINITIONTYPE def;

	if (get_port(o, o->out_port, &def) < 0)
		return -1;
	def.format.video.eCompressionFormat = OMX_VIDEO_CodingAVC;
	def.format.video.eColorFormat = OMX_COLOR_FormatUnused;
	def.format.video.xFramerate = 0;
	def.format.video.nBitrate = (OMX_U32)(o->cfg.bitrate * 1000);
	return set_port(o, &def);
}

static int set_bitrate(struct omx_node *o)
{
	OMX_VIDEO_PARAM_BITRATETYPE br;

	OMX_INIT_STRUCT(br);
	br.nPortIndex = o->out_port;
	br.eControlRate = o->cfg.rate_control == 0
			      ? OMX_Video_ControlRateConstant
			      : OMX_Video_ControlRateVariable;
	br.nTargetBitrate = (OMX_U32)(o->cfg.bitrate * 1000);
	return omx_call(o,
			OMX_SetParameter(o->h, OMX_IndexParamVideoBitrate, &br),
			"OMX_SetParameter(OMX_IndexParamVideoBitrate)");
}

static int set_profile(struct omx_node *o)
{
	OMX_VIDEO_PARAM_PROFILELEVELTYPE pl;

	OMX_INIT_STRUCT(pl);
	pl.nPortIndex = o->out_port;
	if (omx_call(
		o,
		OMX_GetParameter(o->h, OMX_IndexParamVideoProfileLevelCurrent,
				 &pl),
		"OMX_GetParameter(OMX_IndexParamVideoProfileLevelCurrent)") < 0)
		return -1;
	pl.eProfile = profile_values[o->cfg.profile];
	return omx_call(
	    o,
	    OMX_SetParameter(o->h, OMX_IndexParamVideoProfileLevelCurrent, &pl),
	    "OMX_SetParameter(OMX_IndexParamVideoProfileLevelCurrent)");
}

static int set_idr_period(struct omx_node *o, int frames)
{
	OMX_VIDEO_CONFIG_AVCINTRAPERIOD ip;

	OMX_INIT_STRUCT(ip);
	ip.nPortIndex = o->out_port;
	ip.nIDRPeriod = (OMX_U32)frames;
	ip.nPFrames = (OMX_U32)(frames - 1);
	return omx_call(
	    o, OMX_SetConfig(o->h, OMX_IndexConfigVideoAVCIntraPeriod, &ip),
	    "OMX_SetConfig(OMX_IndexConfigVideoAVCIntraPeriod)");
}

static int allocate(struct omx_node *o, OMX_U32 port,
		    OMX_BUFFERHEADERTYPE **bufs, unsigned *n)
{
	OMX_PARAM_PORTDEFINITIONTYPE def;

	if (get_port(o, port, &def) < 0)
		return -1;
	if (def.nBufferCountActual > MAX_BUFFERS) {
		vpipe_error(o->node, "%s port %u wants %u buffers, at most %d",
			    o->cfg.component, (unsigned)port,
			    (unsigned)def.nBufferCountActual, MAX_BUFFERS);
		return -1;
	}
	for (*n = 0; *n < def.nBufferCountActual; (*n)++)
		if (omx_call(o,
			     OMX_AllocateBuffer(o->h, &bufs[*n], port, o,
						def.nBufferSize),
			     "OMX_AllocateBuffer") < 0)
			return -1;
	return 0;
}

static void free_buffers(struct omx_node *o)
{
	for (unsigned i = 0; i < o->n_in; i++)
		omx_call(o, OMX_FreeBuffer(o->h, o->in_port, o->in_bufs[i]),
			 "OMX_FreeBuffer(input)");
	for (unsigned i = 0; i < o->n_out; i++)
		omx_call(o, OMX_FreeBuffer(o->h, o->out_port, o->out_bufs[i]),
			 "OMX_FreeBuffer(output)");
	o->n_in = o->n_out = 0;
}

/* Executing -> Idle -> Loaded, buffers freed, handle released. Output the
 * component returns on the way is dropped. */
static void close_component(struct omx_node *o)
{
	if (!o->h)
		return;
	o->tearing_down = true;
	o->executing = false;
	if (current_state(o) == OMX_StateExecuting &&
	    send_state(o, OMX_StateIdle) == 0)
		wait_state(o, OMX_StateIdle);
	pump_output(o); /* the buffers it returned */
	if (current_state(o) == OMX_StateIdle &&
	    send_state(o, OMX_StateLoaded) == 0) {
		free_buffers(o);
		wait_state(o, OMX_StateLoaded);
	}
	free_buffers(o); /* when set-up stopped half way */
	check_error(o, "shutting down");
	if (omx_call(o, o->free_handle(o->h), "OMX_FreeHandle") < 0)
		o->handle_leaked = true;
	o->h = NULL;
	pthread_mutex_lock(&o->lock);
	o->n_free_in = o->n_filled = 0;
	o->state = OMX_StateLoaded;
	o->error = OMX_ErrorNone;
	o->eos_out = false;
	pthread_mutex_unlock(&o->lock);
	pending_clear(o);
	omx_au_drop(&o->au);
	o->tearing_down = false;
}

static int configure(struct omx_node *o, const struct vpipe_format *fmt)
{
	int frames = keyint_frames(&o->keyint, fmt->fps_num, fmt->fps_den);

	if (set_input_port(o, fmt) < 0 || set_output_port(o) < 0 ||
	    set_bitrate(o) < 0)
		return -1;
	/* Not every component knows these; the stream is still valid. */
	if (set_profile(o) < 0)
		vpipe_warn(o->node,
			   "profile %s not set: the component's "
			   "default applies",
			   profile_names[o->cfg.profile]);
	if (set_idr_period(o, frames) < 0)
		vpipe_warn(o->node,
			   "IDR period %d not set: key frames follow "
			   "the component's default",
			   frames);
	vpipe_info(o->node,
		   "%s: %ux%u (stride %u, slice height %u) at "
		   "%u/%u fps, %lld kbit/s, IDR every %d frames",
		   o->cfg.component, fmt->width, fmt->height, o->stride,
		   o->slice_height, fmt->fps_num, fmt->fps_den,
		   (long long)o->cfg.bitrate, frames);
	return 0;
}

static int open_component(struct omx_node *o, const struct vpipe_format *fmt)
{
	OMX_ERRORTYPE e;

	pthread_mutex_lock(&o->lock);
	o->state = OMX_StateLoaded;
	o->error = OMX_ErrorNone;
	o->eos_out = false;
	pthread_mutex_unlock(&o->lock);
	e = o->get_handle(&o->h, (OMX_STRING)o->cfg.component, o, &callbacks);
	if (e != OMX_ErrorNone) {
		o->h = NULL;
		vpipe_error(o->node, "OMX_GetHandle(%s) from %s: %s",
			    o->cfg.component, o->cfg.core, omx_error_name(e));
		return -1;
	}
	o->fmt = *fmt;
	if (find_ports(o) < 0 || configure(o, fmt) < 0 ||
	    send_state(o, OMX_StateIdle) < 0 ||
	    allocate(o, o->in_port, o->in_bufs, &o->n_in) < 0 ||
	    allocate(o, o->out_port, o->out_bufs, &o->n_out) < 0 ||
	    wait_state(o, OMX_StateIdle) < 0 ||
	    send_state(o, OMX_StateExecuting) < 0 ||
	    wait_state(o, OMX_StateExecuting) < 0)
		goto fail;
	o->executing = true;
	pthread_mutex_lock(&o->lock);
	memcpy(o->free_in, o->in_bufs, o->n_in * sizeof(o->in_bufs[0]));
	o->n_free_in = o->n_in;
	pthread_mutex_unlock(&o->lock);
	for (unsigned i = 0; i < o->n_out; i++)
		if (omx_call(o, OMX_FillThisBuffer(o->h, o->out_bufs[i]),
			     "OMX_FillThisBuffer") < 0)
			goto fail;
	return 0;
fail:
	close_component(o);
	return -1;
}

/* End of stream for the component: an empty buffer flagged EOS, then the
 * output up to the buffer that carries EOS back. */
static int drain_component(struct omx_node *o)
{
	OMX_BUFFERHEADERTYPE *b = take_input_buffer(o);
	int64_t deadline;

	if (!b)
		return -1;
	b->nFilledLen = 0;
	b->nOffset = 0;
	b->nFlags = OMX_BUFFERFLAG_EOS;
	b->nTimeStamp = omx_ticks_make(o->next_pts / 1000);
	if (omx_call(o, OMX_EmptyThisBuffer(o->h, b),
		     "OMX_EmptyThisBuffer(EOS)") < 0)
		return -1;
	deadline = vpipe_now() + o->cfg.timeout;
	while (!o->eos_out) {
		if (pump_output(o) < 0)
			return -1;
		if (o->eos_out)
			break;
		int64_t left = deadline - vpipe_now();
		if (left <= 0) {
			vpipe_warn(o->node,
				   "%s did not return end of stream "
				   "within %lld ms",
				   o->cfg.component,
				   (long long)(o->cfg.timeout / 1000000));
			break;
		}
		if (wait_callback(o, left) < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ input */

static void request_key_frame(struct omx_node *o)
{
	OMX_CONFIG_INTRAREFRESHVOPTYPE vop;
	OMX_ERRORTYPE e;

	OMX_INIT_STRUCT(vop);
	vop.nPortIndex = o->out_port;
	vop.IntraRefreshVOP = OMX_TRUE;
	e = OMX_SetConfig(o->h, OMX_IndexConfigVideoIntraVOPRefresh, &vop);
	if (e != OMX_ErrorNone && !o->vop_refresh_warned) {
		vpipe_warn(o->node,
			   "%s refuses a key-frame request "
			   "(OMX_IndexConfigVideoIntraVOPRefresh): %s",
			   o->cfg.component, omx_error_name(e));
		o->vop_refresh_warned = true;
	}
	o->force_key = false;
}

static int64_t picture_pts(struct omx_node *o, const struct vpipe_frame *in)
{
	int64_t step = VPIPE_S / 30;

	if (in->fmt.fps_num && in->fmt.fps_den)
		step = VPIPE_S * in->fmt.fps_den / in->fmt.fps_num;
	int64_t pts = in->pts == VPIPE_TIME_NONE ? o->next_pts : in->pts;
	o->next_pts = pts + (in->duration > 0 ? in->duration : step);
	return pts;
}

static int send_picture(struct omx_node *o, const struct vpipe_frame *in,
			const struct vpipe_format *fmt)
{
	OMX_BUFFERHEADERTYPE *b;
	size_t luma = (size_t)o->stride * o->slice_height;
	int64_t pts = picture_pts(o, in);

	if (o->force_key)
		request_key_frame(o);
	b = take_input_buffer(o);
	if (!b)
		return -1;
	struct yuv_i420 dst = {
	    {b->pBuffer, b->pBuffer + luma, b->pBuffer + luma + luma / 4},
	    {o->stride, o->stride / 2, o->stride / 2}};
	yuv_to_i420(fmt, in->data, &dst);
	b->nOffset = 0;
	b->nFilledLen = (OMX_U32)(luma * 3 / 2);
	b->nFlags = OMX_BUFFERFLAG_ENDOFFRAME;
	b->nTimeStamp = omx_ticks_make(pts / 1000);
	pending_push(o, in, pts);
	if (omx_call(o, OMX_EmptyThisBuffer(o->h, b), "OMX_EmptyThisBuffer") <
	    0)
		return -1;
	return pump_output(o);
}

static int check_input(struct omx_node *o, const struct vpipe_frame *in,
		       struct vpipe_format *fmt)
{
	char err[256];

	if (yuv_validate_frame(fmt, in->size, err, sizeof(err)) == 0)
		return 0;
	vpipe_error(o->node, "input frame %llu: %s",
		    (unsigned long long)in->seq, err);
	return -1;
}

static bool same_input(const struct vpipe_format *a,
		       const struct vpipe_format *b)
{
	return a->width == b->width && a->height == b->height &&
	       (uint64_t)a->fps_num * b->fps_den ==
		   (uint64_t)b->fps_num * a->fps_den;
}

/* ------------------------------------------------------ module calls */

static int omx_create(struct vpipe_node *node, const void *config, void **state)
{
	const struct omx_config *c = config;
	struct keyint k;
	char err[256];

	if (keyint_parse(c->keyint, &k, err, sizeof(err)) < 0) {
		vpipe_error(node, "%s", err);
		return -1;
	}
	if (!c->component || !*c->component) {
		vpipe_error(node, "component: empty name");
		return -1;
	}
	struct omx_node *o = calloc(1, sizeof(*o));
	if (!o)
		return -1;
	o->node = node;
	o->cfg = *c;
	o->keyint = k;
	o->efd = -1;
	pthread_mutex_init(&o->lock, NULL);
	vpipe_node_set_output_media(node, 0, VPIPE_MEDIA_H264);
	size_t frame_bytes = (size_t)c->bitrate * 1000 / 8 / 2;
	vpipe_node_set_pool(node, 16,
			    frame_bytes < 65536 ? 65536 : frame_bytes);
	*state = o;
	return 0;
}

static int omx_start(void *state)
{
	struct omx_node *o = state;

	o->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (o->efd < 0) {
		vpipe_error(o->node, "eventfd: %s", strerror(errno));
		return -1;
	}
	return load_core(o);
}

static int omx_process(void *state, unsigned port, const struct vpipe_frame *in)
{
	struct omx_node *o = state;
	struct vpipe_format fmt = in->fmt;

	(void)port;
	if (in->media == VPIPE_MEDIA_EVENT) {
		if (in->event == VPIPE_EVENT_DISCONTINUITY)
			o->force_key = true;
		return 0;
	}
	if (check_input(o, in, &fmt) < 0)
		return -1;
	if (o->h && !same_input(&o->fmt, &fmt)) {
		vpipe_info(o->node,
			   "input changed to %ux%u: setting the "
			   "component up again",
			   fmt.width, fmt.height);
		int r = drain_component(o);
		close_component(o);
		if (r < 0)
			return -1;
	}
	if (!o->h && open_component(o, &fmt) < 0)
		return -1;
	return send_picture(o, in, &fmt);
}

static int omx_flush(void *state)
{
	struct omx_node *o = state;
	int r;

	if (!o->h)
		return 0;
	r = drain_component(o);
	close_component(o);
	return r;
}

static int omx_upstream_event(void *state, unsigned event)
{
	struct omx_node *o = state;

	if (event != VPIPE_UPSTREAM_KEYFRAME_REQUEST)
		return 0;
	o->force_key = true;
	vpipe_node_count(o->node, "keyframe_requests_total", 1);
	return 1;
}

static void omx_stop(void *state)
{
	struct omx_node *o = state;

	close_component(o);
	if (o->handle_leaked)
		return; /* its threads may still run code of the core */
	unload_core(o);
	if (o->efd >= 0)
		close(o->efd);
	o->efd = -1;
}

static void omx_destroy(void *state)
{
	struct omx_node *o = state;

	if (!o)
		return;
	if (o->h || (o->dl && !o->handle_leaked))
		omx_stop(o);
	if (o->handle_leaked) {
		vpipe_warn(o->node,
			   "keeping %zu bytes: the IL core still holds a "
			   "component that refers to them",
			   sizeof(*o));
		return;
	}
	omx_au_free(&o->au);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

static const struct vpipe_port omx_inputs[] = {
    {.name = "in", .media = VPIPE_MEDIA_RAW_VIDEO | VPIPE_MEDIA_EVENT},
    {.name = NULL},
};
static const struct vpipe_port omx_outputs[] = {
    {.name = "out", .media = VPIPE_MEDIA_H264},
    {.name = NULL},
};

VPIPE_MODULE = {
    .flags = VPIPE_MODULE_WAITS, /* process() may wait */
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "omx",
    .version = "1.0",
    .summary = "H.264 hardware encoder through OpenMAX IL (Raspberry Pi)",
    .inputs = omx_inputs,
    .outputs = omx_outputs,
    .params = omx_params,
    .config_size = sizeof(struct omx_config),
    .create = omx_create,
    .start = omx_start,
    .process = omx_process,
    .flush = omx_flush,
    .upstream_event = omx_upstream_event,
    .stop = omx_stop,
    .destroy = omx_destroy,
};
