/* filesrc: reads a file of raw video frames or an H.264 or H.265 Annex-B
 * elementary stream (split into access units), with timestamps at a given
 * frame rate. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vpipe/vpipe.h>

#include "h264.h"
#include "h264_order.h"
#include "h265.h"

enum { FMT_I420, FMT_NV12, FMT_YUYV, FMT_H264, FMT_H265 };
static const char *const formats[] = {"i420", "nv12", "yuyv",
				      "h264", "h265", NULL};

struct filesrc_config {
	const char *location;
	int format;
	int64_t width, height;
	double framerate;
	int64_t num_frames;
	bool is_live;
	bool loop;
};

static const struct vpipe_param params[] = {
    VPIPE_P_PATH("location", struct filesrc_config, location, NULL,
		 VPIPE_PARAM_REQUIRED, "file to read"),
    VPIPE_P_ENUM("format", struct filesrc_config, format, "h264", formats,
		 "what the file holds: raw frames or an H.264 or H.265 "
		 "Annex-B stream"),
    VPIPE_P_INT("width", struct filesrc_config, width, "0", 0, 7680,
		"raw formats: picture width (required for raw)"),
    VPIPE_P_INT("height", struct filesrc_config, height, "0", 0, 4320,
		"raw formats: picture height (required for raw)"),
    VPIPE_P_DOUBLE("framerate", struct filesrc_config, framerate, "30", 0.1,
		   240, "frames per second, for timestamps"),
    VPIPE_P_INT("num-frames", struct filesrc_config, num_frames, "-1", -1, 1e15,
		"stop after this many frames (-1: the whole file)"),
    VPIPE_P_BOOL("is-live", struct filesrc_config, is_live, "false",
		 "pace frames in real time like a camera"),
    VPIPE_P_BOOL("loop", struct filesrc_config, loop, "false",
		 "start again at the end of the file (timestamps go on)"),
    VPIPE_P_END,
};

#define READ_BYTES  (256 * 1024) /* at most this much per read() */
#define READ_MIN    (64 * 1024)	 /* less room than this: take a new chunk */
#define CHUNK_BYTES (1024 * 1024)
#define MAX_AU	    (16 * 1024 * 1024)
/* H.264 input with no access unit in this many bytes is not H.264 (zeros,
 * a raw file, a device): give up rather than scan it for ever. Twice the
 * largest access unit kept, so a dropped oversized one does not trip it. */
#define NO_AU_LIMIT (2ull * MAX_AU)

/* H.264 input is read straight into refcounted chunks that the splitter
 * works in (h264_au_splitter_use_buffer), and each access unit is pushed as
 * a frame wrapping its bytes there: no copy between read() and the next
 * node. A chunk lives while the source reads into it and while any frame
 * points into it; when it fills up, the splitter moves the incomplete
 * access unit at its end into a new chunk. A frame held downstream keeps
 * its whole chunk (at most CHUNK_BYTES, or one access unit plus a read if
 * larger) in memory. */
struct chunk {
	atomic_uint refs;
	size_t cap;
	uint8_t data[];
};

static struct chunk *chunk_new(size_t cap)
{
	struct chunk *c = malloc(sizeof(*c) + cap);
	if (!c)
		return NULL;
	atomic_init(&c->refs, 1);
	c->cap = cap;
	return c;
}

/* Release callback of the frames wrapping a chunk; runs on any thread. */
static void chunk_unref(void *opaque)
{
	struct chunk *c = opaque;
	if (c &&
	    atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		free(c);
}

/* An access unit read but not yet pushed: its display position is not
 * known until the pictures that may be displayed before it have been read
 * (at most the stream's reorder depth later). It keeps its chunk. */
struct pending {
	const uint8_t *data;
	size_t size;
	struct chunk *chunk;
	uint32_t flags;
	uint32_t width, height;
	uint64_t decode; /* decoding order: dts */
	int64_t display; /* display order: pts; -1 until known */
};

/* Bound on access units held: the reorder buffer's pictures plus those
 * displayed before one it holds. Reached only by a stream that holds a
 * picture longer than any encoder does; then its order is cut short. */
#define PENDING_MAX 64

struct filesrc {
	struct vpipe_node *node;
	const struct filesrc_config *cfg;
	int fd;
	struct vpipe_format fmt;
	size_t frame_size;
	int64_t frame_ns, start;
	uint64_t n;
	struct h264_au_splitter *splitter;
	struct chunk *chunk; /* the splitter's current storage */
	bool eof;
	bool must_wait; /* not a regular file: wait for data before read() */
	uint64_t read_bytes;  /* bytes read since start (or the last rewind) */
	uint64_t last_au_end; /* stream offset after the last access unit */
	bool need_key; /* after bad bytes: drop until the next key frame */

	/* H.264 timestamps: dts = decoding index, pts = display index +
	 * delay (the reorder depth), both in frames since start. */
	struct h264_order *order;
	struct h264_reorder reorder;
	struct pending pend[PENDING_MAX];
	unsigned pend_first, pend_count;
	uint64_t decoded;
	int64_t delay;
	bool order_warned, delay_warned;
	bool hevc;		     /* format h265: H.265 access units */
	struct h265_order *order265; /* its picture order counts */
};

static bool is_annexb(const struct filesrc_config *cfg)
{
	return cfg->format == FMT_H264 || cfg->format == FMT_H265;
}

static int filesrc_create(struct vpipe_node *node, const void *config,
			  void **state)
{
	const struct filesrc_config *cfg = config;
	struct filesrc *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->node = node;
	s->cfg = config;
	s->fd = -1;
	s->frame_ns = (int64_t)(1e9 / cfg->framerate + 0.5);
	s->hevc = cfg->format == FMT_H265;
	if (is_annexb(cfg)) {
		vpipe_node_set_output_media(
		    node, 0, s->hevc ? VPIPE_MEDIA_H265 : VPIPE_MEDIA_H264);
		/* a frame in flight can pin the whole read chunk it wraps */
		vpipe_node_set_pool(node, 0, CHUNK_BYTES);
	} else {
		if (cfg->width <= 0 || cfg->height <= 0) {
			vpipe_error(node, "format %s needs width and height",
				    formats[cfg->format]);
			free(s);
			return -1;
		}
		static const uint32_t fourcc[] = {
		    VPIPE_FOURCC_I420, VPIPE_FOURCC_NV12, VPIPE_FOURCC_YUYV};
		s->frame_size = vpipe_format_raw_init(
		    &s->fmt, fourcc[cfg->format], (uint32_t)cfg->width,
		    (uint32_t)cfg->height);
		vpipe_node_set_output_media(node, 0, VPIPE_MEDIA_RAW_VIDEO);
		vpipe_node_set_pool(node, 0, s->frame_size);
	}
	s->fmt.fps_num = (uint32_t)(cfg->framerate * 1000 + 0.5);
	s->fmt.fps_den = 1000;
	*state = s;
	return 0;
}

/* Give the splitter a new chunk with room for what it holds and one read. */
static int next_chunk(struct filesrc *s)
{
	size_t need = h264_au_splitter_pending(s->splitter) + READ_BYTES;
	struct chunk *c = chunk_new(need > CHUNK_BYTES ? need : CHUNK_BYTES);
	if (!c || h264_au_splitter_use_buffer(s->splitter, c->data, c->cap)) {
		vpipe_error(s->node, "out of memory for a %zu-byte read buffer",
			    need > CHUNK_BYTES ? need : CHUNK_BYTES);
		free(c);
		return -1;
	}
	chunk_unref(s->chunk);
	s->chunk = c;
	return 0;
}

/* A splitter working in chunks from the start (never in its own buffer,
 * which it would move while frames point into it). */
static int new_splitter(struct filesrc *s)
{
	h264_au_splitter_free(s->splitter);
	s->splitter = s->hevc ? h265_au_splitter_new(MAX_AU)
			      : h264_au_splitter_new(MAX_AU);
	if (!s->splitter) {
		vpipe_error(s->node, "out of memory");
		return -1;
	}
	return next_chunk(s);
}

/* Open without blocking: a FIFO without a writer would block open() where
 * no stop request reaches it. Reads from anything but a regular file then
 * wait in vpipe_node_wait_fd, which a stop interrupts. */
static int open_input(struct filesrc *s)
{
	s->fd = open(s->cfg->location, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (s->fd < 0 || fstat(s->fd, &st) < 0) {
		vpipe_error(s->node, "cannot open %s: %s", s->cfg->location,
			    strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		vpipe_error(s->node, "cannot read %s: is a directory",
			    s->cfg->location);
		return -1;
	}
	s->must_wait = !S_ISREG(st.st_mode);
	if (S_ISFIFO(st.st_mode))
		vpipe_info(s->node, "%s is a FIFO: waiting for a writer",
			   s->cfg->location);
	return 0;
}

/* read() that waits for a FIFO or device to have data, interruptibly.
 * Returns the bytes read, 0 at end of file, -1 on an error (reported),
 * -2 when the node is stopping. */
static ssize_t read_input(struct filesrc *s, uint8_t *buf, size_t len)
{
	for (;;) {
		if (s->must_wait) {
			int ev = vpipe_node_wait_fd(s->node, s->fd, POLLIN, -1);
			if (ev < 0 && vpipe_node_stopping(s->node))
				return -2;
			if (ev == 0)
				continue; /* woken for something else */
		}
		ssize_t n = read(s->fd, buf, len);
		if (n >= 0) {
			s->read_bytes += (uint64_t)n;
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && s->must_wait)
			continue;
		vpipe_error(s->node, "read %s: %s", s->cfg->location,
			    strerror(errno));
		return -1;
	}
}

static int filesrc_start(void *state)
{
	struct filesrc *s = state;
	if (open_input(s))
		return -1;
	s->read_bytes = s->last_au_end = 0;
	if (is_annexb(s->cfg)) {
		if (new_splitter(s))
			return -1;
		h264_order_free(s->order);
		s->order = h264_order_new();
		h265_order_free(s->order265);
		s->order265 = s->hevc ? h265_order_new() : NULL;
		if (!s->order || (s->hevc && !s->order265)) {
			vpipe_error(s->node, "out of memory");
			return -1;
		}
		h264_reorder_init(&s->reorder);
		s->pend_first = s->pend_count = 0;
		s->decoded = 0;
		s->delay = 0;
	}
	s->start = vpipe_now();
	s->n = 0;
	s->eof = false;
	return 0;
}

static bool done(struct filesrc *s)
{
	return s->cfg->num_frames >= 0 && s->n >= (uint64_t)s->cfg->num_frames;
}

/* Stamp, pace and push one frame: dts and pts in frames since start
 * (equal for raw video). Live sources release frames at their dts. */
static int emit(struct filesrc *s, struct vpipe_frame *f, int64_t dts_frames,
		int64_t pts_frames)
{
	int64_t dts = s->start + dts_frames * s->frame_ns;
	if (s->cfg->is_live && vpipe_node_sleep_until(s->node, dts) < 0) {
		vpipe_frame_unref(f);
		return 0;
	}
	f->dts = dts;
	f->pts = s->start + pts_frames * s->frame_ns;
	f->duration = s->frame_ns;
	f->wallclock = vpipe_clock_to_wall(f->pts);
	s->n++;
	vpipe_push(s->node, 0, f);
	return 0;
}

static int rewind_file(struct filesrc *s)
{
	if (lseek(s->fd, 0, SEEK_SET) < 0) {
		vpipe_error(s->node, "cannot rewind %s: %s", s->cfg->location,
			    strerror(errno));
		return -1;
	}
	s->read_bytes = s->last_au_end = 0;
	return 0;
}

static int produce_raw(struct filesrc *s)
{
	struct vpipe_frame *f = vpipe_frame_alloc(s->node, s->frame_size);
	if (!f)
		return 0;
	size_t got = 0;
	while (got < s->frame_size) {
		ssize_t r = read_input(s, f->data + got, s->frame_size - got);
		if (r < 0) { /* stopping (-2): the partial frame goes too */
			vpipe_frame_unref(f);
			return r == -2 ? 0 : -1;
		}
		if (r == 0) {
			if (got == 0 && s->cfg->loop && s->n > 0 &&
			    rewind_file(s) == 0)
				continue;
			if (got)
				vpipe_warn(
				    s->node,
				    "%s ends with a partial frame (%zu of "
				    "%zu bytes): ignored",
				    s->cfg->location, got, s->frame_size);
			vpipe_frame_unref(f);
			return VPIPE_EOS;
		}
		got += (size_t)r;
	}
	f->media = VPIPE_MEDIA_RAW_VIDEO;
	f->flags = VPIPE_FLAG_KEY;
	f->fmt = s->fmt;
	return emit(s, f, (int64_t)s->n, (int64_t)s->n);
}

static struct pending *pending_at(struct filesrc *s, unsigned i)
{
	return &s->pend[(s->pend_first + i) % PENDING_MAX];
}

/* Display positions the reorder buffer has settled. */
static void settle(struct filesrc *s, const struct h264_reorder_out *out,
		   unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (s->pend_count == 0)
			return;
		uint64_t first = pending_at(s, 0)->decode;
		uint64_t k = out[i].decode_index - first;
		if (out[i].decode_index >= first && k < s->pend_count)
			pending_at(s, (unsigned)k)->display =
			    (int64_t)out[i].display_index;
	}
}

static void flush_order(struct filesrc *s)
{
	struct h264_reorder_out out[H264_REORDER_MAX_OUT];
	settle(s, out, h264_reorder_flush(&s->reorder, out));
}

/* pts = dts + (display - decode + delay) frames: the delay is the reorder
 * depth the SPS declares (max_num_reorder_frames), or the deepest seen so
 * far when it does not (the look-ahead covers the DPB before the first
 * frame goes out). It only grows; a stream that reorders deeper later
 * shifts pts from there on, and is told so once. */
static void update_delay(struct filesrc *s, const struct h264_order_pic *pic,
			 unsigned depth)
{
	int64_t want = s->delay;
	if (pic->reorder > want)
		want = pic->reorder;
	if ((int64_t)depth > want)
		want = depth;
	if (want == s->delay)
		return;
	if (s->n > 0 && !s->delay_warned) {
		s->delay_warned = true;
		vpipe_warn(s->node,
			   "%s: frame %llu: pictures are reordered %lld deep, "
			   "more than the %lld assumed until now: pts move "
			   "%lld frames later from here",
			   s->cfg->location, (unsigned long long)s->decoded,
			   (long long)want, (long long)s->delay,
			   (long long)(want - s->delay));
	}
	s->delay = want;
}

/* Queue an access unit in decoding order; its display position is not
 * known yet. */
static void queue_au(struct filesrc *s, const struct h264_au *au,
		     uint32_t flags)
{
	struct pending *p = pending_at(s, s->pend_count++);
	atomic_fetch_add_explicit(&s->chunk->refs, 1, memory_order_relaxed);
	*p = (struct pending){.data = au->data,
			      .size = au->size,
			      .chunk = s->chunk,
			      .flags = flags,
			      .width = s->fmt.width,
			      .height = s->fmt.height,
			      .decode = s->decoded++,
			      .display = -1};
}

/* Queue an access unit (decoding order) and run its picture through the
 * reorder buffer. */
static void order_au(struct filesrc *s, const struct h264_au *au,
		     uint32_t flags)
{
	struct h264_order_pic pic;
	char err[200];
	int r = s->hevc ? h265_order_picture(s->order265, au->data, au->size,
					     &pic, err, sizeof(err))
			: h264_order_picture(s->order, au->data, au->size, &pic,
					     err, sizeof(err));
	if (r < 0 && !s->order_warned) {
		s->order_warned = true;
		vpipe_warn(
		    s->node,
		    "%s: byte %llu: picture order unknown (%s): taken in "
		    "decoding order",
		    s->cfg->location, (unsigned long long)au->stream_offset,
		    err);
	}
	queue_au(s, au, flags);
	unsigned capacity = pic.reorder >= 0 ? (unsigned)pic.reorder : pic.dpb;
	struct h264_reorder_out out[H264_REORDER_MAX_OUT];
	unsigned depth = 0;
	unsigned n =
	    h264_reorder_push(&s->reorder, &pic, capacity, out, &depth);
	update_delay(s, &pic, depth);
	settle(s, out, n);
}

/* Push the oldest queued access unit once its display position is known.
 * Returns 1 when one was pushed (or dropped), 0 when it must wait. */
static int emit_pending(struct filesrc *s)
{
	if (s->pend_count == 0 || pending_at(s, 0)->display < 0)
		return 0;
	struct pending p = *pending_at(s, 0);
	s->pend_first = (s->pend_first + 1) % PENDING_MAX;
	s->pend_count--;
	/* The frame takes over the access unit's chunk reference. */
	struct vpipe_frame *f = vpipe_frame_wrap(s->node, (uint8_t *)p.data,
						 p.size, chunk_unref, p.chunk);
	if (!f) {
		chunk_unref(p.chunk);
		return 1;
	}
	f->media = s->hevc ? VPIPE_MEDIA_H265 : VPIPE_MEDIA_H264;
	f->flags = p.flags;
	f->fmt = s->fmt;
	f->fmt.fourcc = s->hevc ? VPIPE_FOURCC_H265 : VPIPE_FOURCC_H264;
	f->fmt.width = p.width;
	f->fmt.height = p.height;
	emit(s, f, (int64_t)p.decode, p.display + s->delay);
	return 1;
}

static void drop_pending(struct filesrc *s)
{
	while (s->pend_count) {
		chunk_unref(pending_at(s, 0)->chunk);
		s->pend_first = (s->pend_first + 1) % PENDING_MAX;
		s->pend_count--;
	}
}

/* H.265: key frames are IRAP pictures; pts from picture order counts as
 * for H.264 (common/h265_order.c). */
static void take_au_h265(struct filesrc *s, const struct h264_au *au)
{
	struct h265_au_info info;
	char err[256];
	if (h265_au_info(au->data, au->size, &info, err, sizeof(err)) < 0) {
		vpipe_warn(s->node, "%s: byte %llu: %s: skipped",
			   s->cfg->location,
			   (unsigned long long)au->stream_offset, err);
		s->need_key = true;
		return;
	}
	if (s->need_key && !info.key)
		return;
	uint32_t flags = s->need_key ? VPIPE_FLAG_DISCONTINUITY : 0;
	s->need_key = false;
	flags |= info.key ? VPIPE_FLAG_KEY : 0;
	flags |= info.has_vps && info.has_sps && info.has_pps
		     ? VPIPE_FLAG_CODEC_CONFIG
		     : 0;
	for (unsigned i = 0; i < info.num_nals && i < H265_AU_MAX_NALS; i++) {
		const struct h265_nal *nal = &info.nals[i];
		struct h265_sps sps;
		if (nal->type != H265_NAL_SPS ||
		    h265_parse_sps(au->data + nal->offset, nal->size, &sps,
				   NULL, 0))
			continue;
		s->fmt.width = sps.width;
		s->fmt.height = sps.height;
		break;
	}
	order_au(s, au, flags);
}

static void take_au(struct filesrc *s, const struct h264_au *au)
{
	if (s->hevc) {
		take_au_h265(s, au);
		return;
	}
	struct h264_au_info info;
	char err[256];
	/* The splitter has checked every NAL unit; only the ones before the
	 * first slice say what this access unit is. */
	if (h264_au_info_head(au->data, au->size, &info, err, sizeof(err)) <
	    0) {
		vpipe_warn(s->node, "%s: byte %llu: %s: skipped",
			   s->cfg->location,
			   (unsigned long long)au->stream_offset, err);
		s->need_key = true;
		return;
	}
	if (s->need_key && !info.key)
		return;
	uint32_t flags = s->need_key ? VPIPE_FLAG_DISCONTINUITY : 0;
	s->need_key = false;
	flags |= info.key ? VPIPE_FLAG_KEY : 0;
	flags |= info.has_sps && info.has_pps ? VPIPE_FLAG_CODEC_CONFIG : 0;
	if (info.has_sps) {
		struct h264_sps sps;
		const struct h264_nal *nal = &info.nals[info.sps_index];
		if (h264_parse_sps(au->data + nal->offset, nal->size, &sps,
				   NULL, 0) == 0) {
			s->fmt.width = sps.width;
			s->fmt.height = sps.height;
		}
	}
	order_au(s, au, flags);
}

/* Input that has gone on too long without an access unit. */
static int check_no_au(struct filesrc *s)
{
	if (s->read_bytes - s->last_au_end <= NO_AU_LIMIT)
		return 0;
	vpipe_error(s->node,
		    "%s: byte %llu: no %s access unit in the %llu MB "
		    "after it (up to byte %llu): not an %s Annex-B stream? "
		    "(raw video needs format = i420, nv12 or yuyv)",
		    s->cfg->location, (unsigned long long)s->last_au_end,
		    s->hevc ? "H.265" : "H.264",
		    (unsigned long long)(NO_AU_LIMIT >> 20),
		    (unsigned long long)s->read_bytes,
		    s->hevc ? "H.265" : "H.264");
	return -1;
}

/* Next access unit from the splitter, reading at most once, so that each
 * produce() call is short and a stop is seen between reads.
 * 1: got one; 2: none yet, call again; 0: end of file; -1: error. */
static int next_au(struct filesrc *s, struct h264_au *au)
{
	bool have_read = false;
	for (;;) {
		int r = h264_au_splitter_next(s->splitter, au);
		if (r > 0) {
			s->last_au_end = au->stream_offset + au->size;
			return 1;
		}
		if (r < 0) {
			vpipe_warn(s->node, "%s: %s", s->cfg->location,
				   h264_au_splitter_error(s->splitter));
			s->need_key = true;
			continue;
		}
		if (s->eof)
			return 0;
		if (check_no_au(s))
			return -1;
		if (have_read)
			return 2;
		size_t room;
		uint8_t *p =
		    h264_au_splitter_get_buffer(s->splitter, READ_MIN, &room);
		if (!p) {
			if (next_chunk(s))
				return -1;
			continue;
		}
		ssize_t n =
		    read_input(s, p, room < READ_BYTES ? room : READ_BYTES);
		if (n == -2)
			return 2;
		if (n < 0)
			return -1;
		have_read = true;
		if (n == 0) {
			h264_au_splitter_finish(s->splitter);
			s->eof = true;
		} else {
			h264_au_splitter_commit(s->splitter, (size_t)n);
		}
	}
}

/* Read access units until the oldest one read can be pushed. */
static int produce_h264(struct filesrc *s)
{
	if (emit_pending(s))
		return 0;
	if (s->pend_count == PENDING_MAX) {
		vpipe_warn(
		    s->node,
		    "%s: frame %llu: a picture is held back more than %d "
		    "access units: taken in decoding order",
		    s->cfg->location,
		    (unsigned long long)pending_at(s, 0)->decode, PENDING_MAX);
		flush_order(s);
		return 0;
	}
	struct h264_au au;
	int r = next_au(s, &au);
	if (r < 0)
		return -1;
	if (r == 2)
		return 0;
	if (r > 0) {
		take_au(s, &au);
		return 0;
	}
	if (s->pend_count) { /* end of file: the rest in display order */
		flush_order(s);
		return 0;
	}
	if (!s->cfg->loop || s->n == 0)
		return VPIPE_EOS;
	s->eof = false;
	h264_order_reset(s->order);
	if (s->order265)
		h265_order_reset(s->order265);
	return new_splitter(s) == 0 && rewind_file(s) == 0 ? 0 : -1;
}

static int filesrc_produce(void *state)
{
	struct filesrc *s = state;
	if (done(s))
		return VPIPE_EOS;
	return is_annexb(s->cfg) ? produce_h264(s) : produce_raw(s);
}

static void filesrc_stop(void *state)
{
	struct filesrc *s = state;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	drop_pending(s);
	h264_order_free(s->order);
	s->order = NULL;
	h265_order_free(s->order265);
	s->order265 = NULL;
	h264_au_splitter_free(s->splitter);
	s->splitter = NULL;
	chunk_unref(s->chunk); /* frames still in flight keep theirs */
	s->chunk = NULL;
}

static void filesrc_destroy(void *state)
{
	filesrc_stop(state);
	free(state);
}

static const struct vpipe_port outputs[] = {
    {.name = "src",
     .media = VPIPE_MEDIA_RAW_VIDEO | VPIPE_MEDIA_H264 | VPIPE_MEDIA_H265},
    {.name = NULL},
};

VPIPE_MODULE = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "filesrc",
    .version = "1.0",
    .summary = "reads raw video frames or an H.264/H.265 Annex-B stream "
	       "from a file",
    .outputs = outputs,
    .params = params,
    .config_size = sizeof(struct filesrc_config),
    .create = filesrc_create,
    .start = filesrc_start,
    .produce = filesrc_produce,
    .stop = filesrc_stop,
    .destroy = filesrc_destroy,
};
