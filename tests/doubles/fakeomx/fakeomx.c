/* A small OpenMAX IL core for testing the omx module without a Raspberry Pi.
 *
 * It implements the calls the module makes (OMX_Init, OMX_Deinit,
 * OMX_GetHandle, OMX_FreeHandle and, on the component, Get/SetParameter,
 * Get/SetConfig, GetState, SendCommand(StateSet), AllocateBuffer,
 * FreeBuffer, EmptyThisBuffer, FillThisBuffer) for one component named like
 * Broadcom's, OMX.broadcom.video_encode, with its port numbers (200 raw in,
 * 201 H.264 out), its stride rules and its habit of sending SPS and PPS
 * once, as separate OMX_BUFFERFLAG_CODECCONFIG buffers. Pictures are
 * encoded with libx264, so the output is real H.264; output buffers are
 * small (4 KiB) so most pictures span several, ENDOFFRAME on the last.
 *
 * Faithful where a client can go wrong: state changes are asynchronous and
 * completed from the component's own thread (Loaded -> Idle only once every
 * buffer is allocated, Idle -> Loaded only once every buffer is freed);
 * illegal transitions answer OMX_EventError OMX_ErrorIncorrectStateTransition
 * or OMX_ErrorSameState; calls in the wrong state return
 * OMX_ErrorIncorrectStateOperation; a buffer given twice, on the wrong port
 * or not ours is refused; every callback comes from the component thread,
 * never from inside the client's call; FreeHandle outside Loaded is refused.
 *
 * Test hooks (environment):
 *   FAKEOMX_TRACE=FILE        append one line per state change, key frame
 *                             request, error and at FreeHandle a summary
 *   FAKEOMX_ERROR_AFTER=N     after N pictures, report OMX_ErrorHardware
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <OMX_Component.h>
#include <OMX_Core.h>
#include <OMX_Index.h>
#include <OMX_Video.h>
#include <x264.h>

#define COMPONENT_NAME "OMX.broadcom.video_encode"
#define IN_PORT	       200
#define OUT_PORT       201
#define MAX_BUFS       16
#define MAX_CMDS       8
#define OUT_BUF_SIZE   16384

struct chunk {
	uint8_t *data;
	size_t len, off;
	uint32_t flags;
	OMX_TICKS ts;
};

struct port {
	OMX_PARAM_PORTDEFINITIONTYPE def;
	OMX_BUFFERHEADERTYPE *bufs[MAX_BUFS]; /* allocated */
	unsigned n_bufs;
	OMX_BUFFERHEADERTYPE *queue[MAX_BUFS]; /* given to us, in order */
	unsigned n_queue;
};

struct comp {
	OMX_COMPONENTTYPE c; /* the handle points here */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool quit;
	OMX_CALLBACKTYPE cb;
	OMX_PTR app;

	OMX_STATETYPE state, target; /* target != state: changing */
	OMX_STATETYPE cmds[MAX_CMDS];
	unsigned n_cmds;
	struct port in, out;

	OMX_VIDEO_CONTROLRATETYPE rate_control;
	OMX_U32 bitrate;
	OMX_VIDEO_AVCPROFILETYPE profile;
	OMX_VIDEO_AVCLEVELTYPE level;
	OMX_U32 idr_period;
	bool force_idr;

	x264_t *enc;
	bool headers_sent;
	struct chunk chunks[64];
	unsigned n_chunks;

	unsigned pictures, keyframes, forced, allocs, frees, errors_after;
	bool error_sent;
	OMX_ERRORTYPE deferred_error; /* found in a client call */
	FILE *trace;
};

static int initialized;

static void trace(struct comp *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void trace(struct comp *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->trace)
		return;
	va_start(ap, fmt);
	vfprintf(c->trace, fmt, ap);
	va_end(ap);
	fputc('\n', c->trace);
	fflush(c->trace);
}

static const char *state_name(OMX_STATETYPE s)
{
	switch (s) {
	case OMX_StateLoaded:
		return "Loaded";
	case OMX_StateIdle:
		return "Idle";
	case OMX_StateExecuting:
		return "Executing";
	case OMX_StatePause:
		return "Pause";
	case OMX_StateWaitForResources:
		return "WaitForResources";
	default:
		return "Invalid";
	}
}

static struct comp *of(OMX_HANDLETYPE h)
{
	return h ? (struct comp *)((OMX_COMPONENTTYPE *)h)->pComponentPrivate
		 : NULL;
}

static bool version_ok(const void *st, size_t size)
{
	const OMX_U32 *n = st;
	const OMX_VERSIONTYPE *v = (const OMX_VERSIONTYPE *)(n + 1);

	return *n == size && v->s.nVersionMajor == 1;
}

static struct port *port_of(struct comp *c, OMX_U32 index)
{
	return index == IN_PORT ? &c->in : index == OUT_PORT ? &c->out : NULL;
}

/* Callbacks run with the lock released, always from the component thread. */
static void event(struct comp *c, OMX_EVENTTYPE ev, OMX_U32 d1, OMX_U32 d2)
{
	pthread_mutex_unlock(&c->lock);
	c->cb.EventHandler((OMX_HANDLETYPE)&c->c, c->app, ev, d1, d2, NULL);
	pthread_mutex_lock(&c->lock);
}

static void error_event(struct comp *c, OMX_ERRORTYPE e, const char *why)
{
	trace(c, "error 0x%x %s", (unsigned)e, why);
	event(c, OMX_EventError, (OMX_U32)e, 0);
}

static void give_back(struct comp *c, struct port *p, OMX_BUFFERHEADERTYPE *b)
{
	pthread_mutex_unlock(&c->lock);
	if (p == &c->in)
		c->cb.EmptyBufferDone((OMX_HANDLETYPE)&c->c, c->app, b);
	else
		c->cb.FillBufferDone((OMX_HANDLETYPE)&c->c, c->app, b);
	pthread_mutex_lock(&c->lock);
}

static OMX_BUFFERHEADERTYPE *dequeue(struct port *p)
{
	OMX_BUFFERHEADERTYPE *b = p->queue[0];

	memmove(p->queue, p->queue + 1, (p->n_queue - 1) * sizeof(p->queue[0]));
	p->n_queue--;
	return b;
}

static void return_all(struct comp *c, struct port *p)
{
	while (p->n_queue) {
		OMX_BUFFERHEADERTYPE *b = dequeue(p);
		b->nFilledLen = 0;
		give_back(c, p, b);
	}
}

/* ---------------------------------------------------------- encoding */

static void add_chunk(struct comp *c, const uint8_t *d, size_t n,
		      uint32_t flags, OMX_TICKS ts)
{
	struct chunk *k;

	if (c->n_chunks == sizeof(c->chunks) / sizeof(c->chunks[0]))
		return;
	k = &c->chunks[c->n_chunks++];
	k->data = malloc(n ? n : 1);
	if (n)
		memcpy(k->data, d, n);
	k->len = n;
	k->off = 0;
	k->flags = flags;
	k->ts = ts;
}

static int open_encoder(struct comp *c)
{
	x264_param_t p;
	const OMX_VIDEO_PORTDEFINITIONTYPE *v = &c->in.def.format.video;
	const char *profile = c->profile == OMX_VIDEO_AVCProfileBaseline
				  ? "baseline"
			      : c->profile == OMX_VIDEO_AVCProfileMain ? "main"
								       : "high";

	x264_param_default_preset(&p, "ultrafast", "zerolatency");
	p.i_width = (int)v->nFrameWidth;
	p.i_height = (int)v->nFrameHeight;
	p.i_csp = X264_CSP_I420;
	p.i_fps_num = v->xFramerate ? v->xFramerate : 30u << 16;
	p.i_fps_den = 1 << 16;
	p.i_threads = 1;
	p.i_keyint_max = (int)c->idr_period;
	p.i_keyint_min = (int)c->idr_period;
	p.i_scenecut_threshold = 0;
	p.b_repeat_headers = 0; /* like Broadcom: headers once, as config */
	p.b_annexb = 1;
	p.i_log_level = X264_LOG_ERROR;
	p.rc.i_rc_method = X264_RC_ABR;
	p.rc.i_bitrate = (int)(c->bitrate / 1000);
	if (c->rate_control == OMX_Video_ControlRateConstant) {
		p.rc.i_vbv_max_bitrate = p.rc.i_bitrate;
		p.rc.i_vbv_buffer_size = p.rc.i_bitrate;
	}
	x264_param_apply_profile(&p, profile);
	c->enc = x264_encoder_open(&p);
	c->headers_sent = false;
	trace(c, "encoder %ux%u profile %s bitrate %u idr-period %u %s",
	      (unsigned)v->nFrameWidth, (unsigned)v->nFrameHeight, profile,
	      (unsigned)c->bitrate, (unsigned)c->idr_period,
	      c->rate_control == OMX_Video_ControlRateConstant ? "constant"
							       : "variable");
	return c->enc ? 0 : -1;
}

static void close_encoder(struct comp *c)
{
	if (c->enc)
		x264_encoder_close(c->enc);
	c->enc = NULL;
	for (unsigned i = 0; i < c->n_chunks; i++)
		free(c->chunks[i].data);
	c->n_chunks = 0;
}

static void send_headers(struct comp *c, OMX_TICKS ts)
{
	x264_nal_t *nals;
	int n;

	if (x264_encoder_headers(c->enc, &nals, &n) < 0)
		return;
	for (int i = 0; i < n; i++)
		if (nals[i].i_type == NAL_SPS || nals[i].i_type == NAL_PPS)
			add_chunk(c, nals[i].p_payload,
				  (size_t)nals[i].i_payload,
				  OMX_BUFFERFLAG_CODECCONFIG |
				      OMX_BUFFERFLAG_ENDOFFRAME,
				  ts);
	c->headers_sent = true;
}

static void encode(struct comp *c, OMX_BUFFERHEADERTYPE *b)
{
	const OMX_VIDEO_PORTDEFINITIONTYPE *v = &c->in.def.format.video;
	uint32_t stride = (uint32_t)v->nStride, slice = v->nSliceHeight;
	uint8_t *base = b->pBuffer + b->nOffset;
	x264_picture_t pic, out;
	x264_nal_t *nals;
	int n, size;

	if (!c->headers_sent)
		send_headers(c, b->nTimeStamp);
	x264_picture_init(&pic);
	pic.img.i_csp = X264_CSP_I420;
	pic.img.i_plane = 3;
	pic.img.plane[0] = base;
	pic.img.plane[1] = base + stride * slice;
	pic.img.plane[2] = base + stride * slice + stride / 2 * (slice / 2);
	pic.img.i_stride[0] = (int)stride;
	pic.img.i_stride[1] = pic.img.i_stride[2] = (int)stride / 2;
	pic.i_pts = c->pictures;
	if (c->force_idr) {
		pic.i_type = X264_TYPE_IDR;
		c->forced++;
		trace(c, "forced idr at picture %u", c->pictures);
	}
	c->force_idr = false;
	size = x264_encoder_encode(c->enc, &nals, &n, &pic, &out);
	c->pictures++;
	if (size <= 0)
		return;
	bool idr = out.i_type == X264_TYPE_IDR;
	if (idr)
		c->keyframes++;
	add_chunk(c, nals[0].p_payload, (size_t)size,
		  OMX_BUFFERFLAG_ENDOFFRAME |
		      (idr ? OMX_BUFFERFLAG_SYNCFRAME : 0),
		  b->nTimeStamp);
}

/* Fill one output buffer from the chunk queue. */
static void deliver(struct comp *c)
{
	struct chunk *k = &c->chunks[0];
	OMX_BUFFERHEADERTYPE *b = dequeue(&c->out);
	size_t n = k->len - k->off;

	if (n > b->nAllocLen)
		n = b->nAllocLen;
	memcpy(b->pBuffer, k->data + k->off, n);
	b->nOffset = 0;
	b->nFilledLen = (OMX_U32)n;
	b->nTimeStamp = k->ts;
	k->off += n;
	b->nFlags = k->off == k->len ? k->flags : 0;
	bool eos = b->nFlags & OMX_BUFFERFLAG_EOS;
	if (k->off == k->len) {
		free(k->data);
		memmove(c->chunks, c->chunks + 1,
			(c->n_chunks - 1) * sizeof(c->chunks[0]));
		c->n_chunks--;
	}
	give_back(c, &c->out, b);
	if (eos) {
		trace(c, "eos out");
		event(c, OMX_EventBufferFlag, OUT_PORT, OMX_BUFFERFLAG_EOS);
	}
}

static void take_input(struct comp *c)
{
	OMX_BUFFERHEADERTYPE *b = dequeue(&c->in);

	if (b->nFilledLen > 0)
		encode(c, b);
	if (b->nFlags & OMX_BUFFERFLAG_EOS) {
		trace(c, "eos in");
		add_chunk(c, NULL, 0, OMX_BUFFERFLAG_EOS, b->nTimeStamp);
	}
	b->nFilledLen = 0;
	give_back(c, &c->in, b);
	if (c->errors_after && c->pictures >= c->errors_after &&
	    !c->error_sent) {
		c->error_sent = true;
		error_event(c, OMX_ErrorHardware, "injected");
	}
}

/* ------------------------------------------------------ state machine */

static bool populated(struct port *p)
{
	return p->n_bufs == p->def.nBufferCountActual;
}

static void complete(struct comp *c, OMX_STATETYPE s)
{
	trace(c, "state %s -> %s", state_name(c->state), state_name(s));
	c->state = c->target = s;
	event(c, OMX_EventCmdComplete, OMX_CommandStateSet, s);
}

/* Start a state change, or answer with an error event: what is legal is
 * decided at once, so buffers can be allocated right after the command. */
static void accept_command(struct comp *c, OMX_STATETYPE want)
{
	bool legal =
	    (c->state == OMX_StateLoaded && want == OMX_StateIdle) ||
	    (c->state == OMX_StateIdle &&
	     (want == OMX_StateExecuting || want == OMX_StateLoaded)) ||
	    (c->state == OMX_StateExecuting && want == OMX_StateIdle);

	if (want == c->state)
		c->deferred_error = OMX_ErrorSameState;
	else if (!legal)
		c->deferred_error = OMX_ErrorIncorrectStateTransition;
	else
		c->target = want;
	if (!legal)
		trace(c, "refused %s -> %s", state_name(c->state),
		      state_name(want));
}

/* One step of work; false when there is nothing to do. */
static bool step(struct comp *c)
{
	if (c->deferred_error != OMX_ErrorNone) {
		OMX_ERRORTYPE e = c->deferred_error;

		c->deferred_error = OMX_ErrorNone;
		error_event(c, e, "deferred");
		return true;
	}
	if (c->target != c->state) {
		if (c->state == OMX_StateLoaded && c->target == OMX_StateIdle) {
			if (!populated(&c->in) || !populated(&c->out))
				return false;
			c->in.def.bPopulated = c->out.def.bPopulated = OMX_TRUE;
			complete(c, OMX_StateIdle);
		} else if (c->state == OMX_StateIdle &&
			   c->target == OMX_StateLoaded) {
			if (c->in.n_bufs || c->out.n_bufs)
				return false;
			c->in.def.bPopulated = c->out.def.bPopulated =
			    OMX_FALSE;
			complete(c, OMX_StateLoaded);
		} else if (c->target == OMX_StateExecuting) {
			if (open_encoder(c) < 0) {
				c->target = c->state;
				error_event(c, OMX_ErrorUnsupportedSetting,
					    "x264 refused the settings");
				return true;
			}
			complete(c, OMX_StateExecuting);
		} else { /* Executing -> Idle */
			return_all(c, &c->in);
			return_all(c, &c->out);
			close_encoder(c);
			complete(c, OMX_StateIdle);
		}
		return true;
	}
	if (c->n_cmds) {
		OMX_STATETYPE want = c->cmds[0];

		memmove(c->cmds, c->cmds + 1,
			(c->n_cmds - 1) * sizeof(c->cmds[0]));
		c->n_cmds--;
		accept_command(c, want);
		return true;
	}
	if (c->state != OMX_StateExecuting)
		return false;
	if (c->n_chunks && c->out.n_queue) {
		deliver(c);
		return true;
	}
	if (!c->n_chunks && c->in.n_queue) {
		take_input(c);
		return true;
	}
	return false;
}

static void *worker(void *arg)
{
	struct comp *c = arg;

	pthread_mutex_lock(&c->lock);
	while (!c->quit)
		if (!step(c))
			pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---------------------------------------------------- component calls */

static OMX_ERRORTYPE send_command(OMX_HANDLETYPE h, OMX_COMMANDTYPE cmd,
				  OMX_U32 param, OMX_PTR data)
{
	struct comp *c = of(h);
	OMX_ERRORTYPE e = OMX_ErrorNone;

	(void)data;
	if (cmd != OMX_CommandStateSet)
		return OMX_ErrorNotImplemented;
	pthread_mutex_lock(&c->lock);
	if (c->target == c->state && c->n_cmds == 0)
		accept_command(c, (OMX_STATETYPE)param);
	else if (c->n_cmds == MAX_CMDS)
		e = OMX_ErrorInsufficientResources;
	else
		c->cmds[c->n_cmds++] = (OMX_STATETYPE)param;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return e;
}

static OMX_ERRORTYPE get_state(OMX_HANDLETYPE h, OMX_STATETYPE *s)
{
	struct comp *c = of(h);

	pthread_mutex_lock(&c->lock);
	*s = c->state;
	pthread_mutex_unlock(&c->lock);
	return OMX_ErrorNone;
}

static OMX_ERRORTYPE get_parameter(OMX_HANDLETYPE h, OMX_INDEXTYPE i, OMX_PTR p)
{
	struct comp *c = of(h);
	OMX_ERRORTYPE e = OMX_ErrorNone;

	if (!p)
		return OMX_ErrorBadParameter;
	pthread_mutex_lock(&c->lock);
	switch ((int)i) {
	case OMX_IndexParamVideoInit: {
		OMX_PORT_PARAM_TYPE *pp = p;
		if (!version_ok(p, sizeof(*pp))) {
			e = OMX_ErrorBadParameter;
			break;
		}
		pp->nPorts = 2;
		pp->nStartPortNumber = IN_PORT;
		break;
	}
	case OMX_IndexParamPortDefinition: {
		OMX_PARAM_PORTDEFINITIONTYPE *d = p;
		struct port *port = port_of(c, d->nPortIndex);
		if (!version_ok(p, sizeof(*d)))
			e = OMX_ErrorBadParameter;
		else if (!port)
			e = OMX_ErrorBadPortIndex;
		else
			*d = port->def;
		break;
	}
	case OMX_IndexParamVideoBitrate: {
		OMX_VIDEO_PARAM_BITRATETYPE *b = p;
		if (!version_ok(p, sizeof(*b)))
			e = OMX_ErrorBadParameter;
		else if (b->nPortIndex != OUT_PORT)
			e = OMX_ErrorBadPortIndex;
		else {
			b->eControlRate = c->rate_control;
			b->nTargetBitrate = c->bitrate;
		}
		break;
	}
	case OMX_IndexParamVideoProfileLevelCurrent: {
		OMX_VIDEO_PARAM_PROFILELEVELTYPE *pl = p;
		if (!version_ok(p, sizeof(*pl)))
			e = OMX_ErrorBadParameter;
		else if (pl->nPortIndex != OUT_PORT)
			e = OMX_ErrorBadPortIndex;
		else {
			pl->eProfile = c->profile;
			pl->eLevel = c->level;
		}
		break;
	}
	default:
		e = OMX_ErrorUnsupportedIndex;
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

static OMX_ERRORTYPE set_input_def(struct comp *c,
				   const OMX_PARAM_PORTDEFINITIONTYPE *d)
{
	const OMX_VIDEO_PORTDEFINITIONTYPE *v = &d->format.video;
	OMX_PARAM_PORTDEFINITIONTYPE *mine = &c->in.def;

	if (v->nFrameWidth < 16 || v->nFrameHeight < 16 ||
	    v->nFrameWidth > 1920 || v->nFrameHeight > 1088)
		return OMX_ErrorBadParameter;
	/* Broadcom's rules: stride a multiple of 32, slice height of 16. */
	if (v->nStride < (OMX_S32)v->nFrameWidth || v->nStride % 32 ||
	    v->nSliceHeight < v->nFrameHeight || v->nSliceHeight % 16)
		return OMX_ErrorBadParameter;
	if (v->eColorFormat != OMX_COLOR_FormatYUV420PackedPlanar)
		return OMX_ErrorUnsupportedSetting;
	if (d->nBufferCountActual < mine->nBufferCountMin ||
	    d->nBufferCountActual > MAX_BUFS)
		return OMX_ErrorBadParameter;
	mine->nBufferCountActual = d->nBufferCountActual;
	mine->format.video.nFrameWidth = v->nFrameWidth;
	mine->format.video.nFrameHeight = v->nFrameHeight;
	mine->format.video.nStride = v->nStride;
	mine->format.video.nSliceHeight = v->nSliceHeight;
	mine->format.video.xFramerate = v->xFramerate;
	mine->format.video.eColorFormat = v->eColorFormat;
	mine->nBufferSize = (OMX_U32)v->nStride * v->nSliceHeight * 3 / 2;
	/* The output follows the input's size, as on Broadcom. */
	c->out.def.format.video.nFrameWidth = v->nFrameWidth;
	c->out.def.format.video.nFrameHeight = v->nFrameHeight;
	return OMX_ErrorNone;
}

static OMX_ERRORTYPE set_output_def(struct comp *c,
				    const OMX_PARAM_PORTDEFINITIONTYPE *d)
{
	if (d->format.video.eCompressionFormat != OMX_VIDEO_CodingAVC)
		return OMX_ErrorUnsupportedSetting;
	if (d->nBufferCountActual < c->out.def.nBufferCountMin ||
	    d->nBufferCountActual > MAX_BUFS ||
	    d->nBufferSize < c->out.def.nBufferSize)
		return OMX_ErrorBadParameter;
	c->out.def.nBufferCountActual = d->nBufferCountActual;
	c->out.def.nBufferSize = d->nBufferSize;
	if (d->format.video.nBitrate)
		c->bitrate = d->format.video.nBitrate;
	return OMX_ErrorNone;
}

static OMX_ERRORTYPE set_parameter(OMX_HANDLETYPE h, OMX_INDEXTYPE i, OMX_PTR p)
{
	struct comp *c = of(h);
	OMX_ERRORTYPE e = OMX_ErrorNone;

	if (!p)
		return OMX_ErrorBadParameter;
	pthread_mutex_lock(&c->lock);
	if (c->state != OMX_StateLoaded || c->target != OMX_StateLoaded) {
		pthread_mutex_unlock(&c->lock);
		return OMX_ErrorIncorrectStateOperation;
	}
	switch ((int)i) {
	case OMX_IndexParamPortDefinition: {
		OMX_PARAM_PORTDEFINITIONTYPE *d = p;
		if (!version_ok(p, sizeof(*d)))
			e = OMX_ErrorBadParameter;
		else if (d->nPortIndex == IN_PORT)
			e = set_input_def(c, d);
		else if (d->nPortIndex == OUT_PORT)
			e = set_output_def(c, d);
		else
			e = OMX_ErrorBadPortIndex;
		break;
	}
	case OMX_IndexParamVideoBitrate: {
		OMX_VIDEO_PARAM_BITRATETYPE *b = p;
		if (!version_ok(p, sizeof(*b)))
			e = OMX_ErrorBadParameter;
		else if (b->nPortIndex != OUT_PORT)
			e = OMX_ErrorBadPortIndex;
		else if (b->eControlRate != OMX_Video_ControlRateConstant &&
			 b->eControlRate != OMX_Video_ControlRateVariable)
			e = OMX_ErrorUnsupportedSetting;
		else {
			c->rate_control = b->eControlRate;
			c->bitrate = b->nTargetBitrate;
		}
		break;
	}
	case OMX_IndexParamVideoProfileLevelCurrent: {
		OMX_VIDEO_PARAM_PROFILELEVELTYPE *pl = p;
		if (!version_ok(p, sizeof(*pl)))
			e = OMX_ErrorBadParameter;
		else if (pl->nPortIndex != OUT_PORT)
			e = OMX_ErrorBadPortIndex;
		else if (pl->eProfile != OMX_VIDEO_AVCProfileBaseline &&
			 pl->eProfile != OMX_VIDEO_AVCProfileMain &&
			 pl->eProfile != OMX_VIDEO_AVCProfileHigh)
			e = OMX_ErrorUnsupportedSetting;
		else {
			c->profile = pl->eProfile;
			c->level = pl->eLevel;
		}
		break;
	}
	default:
		e = OMX_ErrorUnsupportedIndex;
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

static OMX_ERRORTYPE get_config(OMX_HANDLETYPE h, OMX_INDEXTYPE i, OMX_PTR p)
{
	struct comp *c = of(h);

	if ((int)i != OMX_IndexConfigVideoAVCIntraPeriod)
		return OMX_ErrorUnsupportedIndex;
	OMX_VIDEO_CONFIG_AVCINTRAPERIOD *ip = p;
	if (!ip || !version_ok(p, sizeof(*ip)))
		return OMX_ErrorBadParameter;
	pthread_mutex_lock(&c->lock);
	ip->nIDRPeriod = c->idr_period;
	ip->nPFrames = c->idr_period - 1;
	pthread_mutex_unlock(&c->lock);
	return OMX_ErrorNone;
}

static OMX_ERRORTYPE set_config(OMX_HANDLETYPE h, OMX_INDEXTYPE i, OMX_PTR p)
{
	struct comp *c = of(h);
	OMX_ERRORTYPE e = OMX_ErrorNone;

	if (!p)
		return OMX_ErrorBadParameter;
	pthread_mutex_lock(&c->lock);
	switch ((int)i) {
	case OMX_IndexConfigVideoAVCIntraPeriod: {
		OMX_VIDEO_CONFIG_AVCINTRAPERIOD *ip = p;
		if (!version_ok(p, sizeof(*ip)) || ip->nIDRPeriod == 0)
			e = OMX_ErrorBadParameter;
		else if (ip->nPortIndex != OUT_PORT)
			e = OMX_ErrorBadPortIndex;
		else
			c->idr_period = ip->nIDRPeriod;
		break;
	}
	case OMX_IndexConfigVideoIntraVOPRefresh: {
		OMX_CONFIG_INTRAREFRESHVOPTYPE *r = p;
		if (!version_ok(p, sizeof(*r)))
			e = OMX_ErrorBadParameter;
		else if (r->nPortIndex != OUT_PORT)
			e = OMX_ErrorBadPortIndex;
		else if (r->IntraRefreshVOP) {
			c->force_idr = true;
			trace(c, "key frame requested after picture %u",
			      c->pictures);
		}
		break;
	}
	default:
		e = OMX_ErrorUnsupportedIndex;
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

static OMX_ERRORTYPE allocate_buffer(OMX_HANDLETYPE h,
				     OMX_BUFFERHEADERTYPE **out, OMX_U32 index,
				     OMX_PTR app, OMX_U32 size)
{
	struct comp *c = of(h);
	struct port *p;
	OMX_ERRORTYPE e = OMX_ErrorNone;

	pthread_mutex_lock(&c->lock);
	p = port_of(c, index);
	if (!p)
		e = OMX_ErrorBadPortIndex;
	else if (!(c->state == OMX_StateLoaded && c->target == OMX_StateIdle))
		e = OMX_ErrorIncorrectStateOperation;
	else if (size < p->def.nBufferSize)
		e = OMX_ErrorBadParameter;
	else if (p->n_bufs == p->def.nBufferCountActual)
		e = OMX_ErrorInsufficientResources;
	if (e == OMX_ErrorNone) {
		OMX_BUFFERHEADERTYPE *b = calloc(1, sizeof(*b));
		b->nSize = sizeof(*b);
		b->nVersion.s.nVersionMajor = 1;
		b->nVersion.s.nVersionMinor = 1;
		b->nVersion.s.nRevision = 2;
		b->pBuffer = calloc(1, size);
		b->nAllocLen = size;
		b->pAppPrivate = app;
		b->pPlatformPrivate = c; /* marks our headers */
		b->nInputPortIndex = p == &c->in ? IN_PORT : OMX_ALL;
		b->nOutputPortIndex = p == &c->out ? OUT_PORT : OMX_ALL;
		p->bufs[p->n_bufs++] = b;
		c->allocs++;
		*out = b;
		pthread_cond_signal(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

static int find(OMX_BUFFERHEADERTYPE **list, unsigned n,
		OMX_BUFFERHEADERTYPE *b)
{
	for (unsigned i = 0; i < n; i++)
		if (list[i] == b)
			return (int)i;
	return -1;
}

static OMX_ERRORTYPE free_buffer(OMX_HANDLETYPE h, OMX_U32 index,
				 OMX_BUFFERHEADERTYPE *b)
{
	struct comp *c = of(h);
	struct port *p;
	int at;

	pthread_mutex_lock(&c->lock);
	p = port_of(c, index);
	if (!p) {
		pthread_mutex_unlock(&c->lock);
		return OMX_ErrorBadPortIndex;
	}
	at = find(p->bufs, p->n_bufs, b);
	if (at < 0 || find(p->queue, p->n_queue, b) >= 0) {
		pthread_mutex_unlock(&c->lock);
		return OMX_ErrorBadParameter; /* not ours, or still with us */
	}
	p->bufs[at] = p->bufs[--p->n_bufs];
	free(b->pBuffer);
	free(b);
	c->frees++;
	bool unloading =
	    c->state == OMX_StateIdle && c->target == OMX_StateLoaded;
	bool setting_up = c->state == OMX_StateLoaded;
	if (!unloading && !setting_up) {
		trace(c, "buffer freed in %s", state_name(c->state));
		c->deferred_error = OMX_ErrorPortUnpopulated;
	}
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return OMX_ErrorNone;
}

static OMX_ERRORTYPE queue_buffer(struct comp *c, struct port *p,
				  OMX_BUFFERHEADERTYPE *b)
{
	OMX_ERRORTYPE e = OMX_ErrorNone;

	pthread_mutex_lock(&c->lock);
	if (c->state != OMX_StateIdle && c->state != OMX_StateExecuting)
		e = OMX_ErrorIncorrectStateOperation;
	else if (!b || b->pPlatformPrivate != c ||
		 find(p->bufs, p->n_bufs, b) < 0)
		e = OMX_ErrorBadParameter;
	else if (find(p->queue, p->n_queue, b) >= 0)
		e = OMX_ErrorBadParameter; /* given twice */
	else if (b->nOffset + b->nFilledLen > b->nAllocLen)
		e = OMX_ErrorBadParameter;
	else
		p->queue[p->n_queue++] = b;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return e;
}

static OMX_ERRORTYPE empty_this_buffer(OMX_HANDLETYPE h,
				       OMX_BUFFERHEADERTYPE *b)
{
	struct comp *c = of(h);

	if (b && b->nInputPortIndex != IN_PORT)
		return OMX_ErrorBadPortIndex;
	return queue_buffer(c, &c->in, b);
}

static OMX_ERRORTYPE fill_this_buffer(OMX_HANDLETYPE h, OMX_BUFFERHEADERTYPE *b)
{
	struct comp *c = of(h);

	if (b && b->nOutputPortIndex != OUT_PORT)
		return OMX_ErrorBadPortIndex;
	return queue_buffer(c, &c->out, b);
}

static OMX_ERRORTYPE not_implemented(void)
{
	return OMX_ErrorNotImplemented;
}

/* ----------------------------------------------------------- the core */

static void port_init(struct port *p, OMX_U32 index, OMX_DIRTYPE dir)
{
	OMX_PARAM_PORTDEFINITIONTYPE *d = &p->def;

	memset(p, 0, sizeof(*p));
	d->nSize = sizeof(*d);
	d->nVersion.s.nVersionMajor = 1;
	d->nVersion.s.nVersionMinor = 1;
	d->nVersion.s.nRevision = 2;
	d->nPortIndex = index;
	d->eDir = dir;
	d->bEnabled = OMX_TRUE;
	d->eDomain = OMX_PortDomainVideo;
	d->nBufferCountMin = 1;
	d->nBufferCountActual = dir == OMX_DirInput ? 2 : 3;
	d->format.video.nFrameWidth = 320;
	d->format.video.nFrameHeight = 240;
	if (dir == OMX_DirInput) {
		d->format.video.nStride = 320;
		d->format.video.nSliceHeight = 240;
		d->format.video.xFramerate = 30 << 16;
		d->format.video.eColorFormat =
		    OMX_COLOR_FormatYUV420PackedPlanar;
		d->format.video.eCompressionFormat = OMX_VIDEO_CodingUnused;
		d->nBufferSize = 320 * 240 * 3 / 2;
	} else {
		d->format.video.eColorFormat = OMX_COLOR_FormatUnused;
		d->format.video.eCompressionFormat = OMX_VIDEO_CodingAVC;
		d->nBufferSize = OUT_BUF_SIZE;
	}
}

OMX_API OMX_ERRORTYPE OMX_APIENTRY OMX_Init(void)
{
	initialized++;
	return OMX_ErrorNone;
}

OMX_API OMX_ERRORTYPE OMX_APIENTRY OMX_Deinit(void)
{
	if (initialized == 0)
		return OMX_ErrorNotReady;
	initialized--;
	return OMX_ErrorNone;
}

OMX_API OMX_ERRORTYPE OMX_APIENTRY OMX_GetHandle(OMX_HANDLETYPE *h,
						 OMX_STRING name, OMX_PTR app,
						 OMX_CALLBACKTYPE *cb)
{
	struct comp *c;
	const char *trace_path = getenv("FAKEOMX_TRACE");
	const char *after = getenv("FAKEOMX_ERROR_AFTER");

	if (!initialized)
		return OMX_ErrorNotReady;
	if (!h || !name || !cb)
		return OMX_ErrorBadParameter;
	if (strcmp(name, COMPONENT_NAME) != 0)
		return OMX_ErrorComponentNotFound;
	c = calloc(1, sizeof(*c));
	if (!c)
		return OMX_ErrorInsufficientResources;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->cb = *cb;
	c->app = app;
	c->state = c->target = OMX_StateLoaded;
	port_init(&c->in, IN_PORT, OMX_DirInput);
	port_init(&c->out, OUT_PORT, OMX_DirOutput);
	c->rate_control = OMX_Video_ControlRateVariable;
	c->bitrate = 10000000;
	c->profile = OMX_VIDEO_AVCProfileHigh;
	c->level = OMX_VIDEO_AVCLevel4;
	c->idr_period = 60;
	c->errors_after = after ? (unsigned)atoi(after) : 0;
	c->trace = trace_path ? fopen(trace_path, "a") : NULL;
	trace(c, "GetHandle %s", name);

	OMX_COMPONENTTYPE *k = &c->c;
	k->nSize = sizeof(*k);
	k->nVersion.s.nVersionMajor = 1;
	k->nVersion.s.nVersionMinor = 1;
	k->pComponentPrivate = c;
	k->pApplicationPrivate = app;
	k->SendCommand = send_command;
	k->GetParameter = get_parameter;
	k->SetParameter = set_parameter;
	k->GetConfig = get_config;
	k->SetConfig = set_config;
	k->GetState = get_state;
	k->AllocateBuffer = allocate_buffer;
	k->FreeBuffer = free_buffer;
	k->EmptyThisBuffer = empty_this_buffer;
	k->FillThisBuffer = fill_this_buffer;
	k->GetComponentVersion = (void *)not_implemented;
	k->GetExtensionIndex = (void *)not_implemented;
	k->ComponentTunnelRequest = (void *)not_implemented;
	k->UseBuffer = (void *)not_implemented;
	k->SetCallbacks = (void *)not_implemented;
	k->ComponentDeInit = (void *)not_implemented;
	k->UseEGLImage = (void *)not_implemented;
	k->ComponentRoleEnum = (void *)not_implemented;
	if (pthread_create(&c->thread, NULL, worker, c) != 0) {
		free(c);
		return OMX_ErrorInsufficientResources;
	}
	*h = (OMX_HANDLETYPE)k;
	return OMX_ErrorNone;
}

OMX_API OMX_ERRORTYPE OMX_APIENTRY OMX_FreeHandle(OMX_HANDLETYPE h)
{
	struct comp *c = of(h);

	if (!c)
		return OMX_ErrorBadParameter;
	pthread_mutex_lock(&c->lock);
	if (c->state != OMX_StateLoaded || c->in.n_bufs || c->out.n_bufs) {
		trace(c, "FreeHandle refused in %s with %u+%u buffers",
		      state_name(c->state), c->in.n_bufs, c->out.n_bufs);
		pthread_mutex_unlock(&c->lock);
		return OMX_ErrorIncorrectStateOperation;
	}
	c->quit = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	close_encoder(c);
	trace(c,
	      "FreeHandle pictures=%u keyframes=%u forced=%u allocated=%u "
	      "freed=%u",
	      c->pictures, c->keyframes, c->forced, c->allocs, c->frees);
	if (c->trace)
		fclose(c->trace);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return OMX_ErrorNone;
}
