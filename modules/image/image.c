/* image: still pictures from a video stream, at an interval or when a frame
 * carries a trigger tag, as JPEG or PNG frames (for `s3`) and optionally as
 * files in a directory with retention.
 *
 * Raw frames are scaled and compressed as they come. With only H.264 (an
 * RTSP camera, a hardware encoder) the next key frame after an image falls
 * due is decoded on its own: no decoder runs between images, so the cost is
 * one key-frame decode per image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vpipe/vpipe.h>

#include "decode.h"
#include "outdir.h"
#include "picture.h"

/* Tag names: the service's S3 object metadata names for its own images. */
#define TAG_PRODUCER_TS "aws_kinesisvideo_producer_timestamp"
#define TAG_SERVER_TS	"aws_kinesisvideo_server_timestamp"
#define TAG_FRAGMENT	"aws_kinesisvideo_fragment_number"
#define TAG_STREAM	"stream-name"
/* ... and the GetMedia tags they come from when a frame carries them. */
#define GETMEDIA_FRAGMENT  "AWS_KINESISVIDEO_FRAGMENT_NUMBER"
#define GETMEDIA_SERVER_TS "AWS_KINESISVIDEO_SERVER_TIMESTAMP"
#define TAG_NOTIFICATION   "AWS_KINESISVIDEO_NOTIFICATION"
#define MIN_INTERVAL	   (200 * VPIPE_MS)
#define RETAIN_EVERY	   (10 * VPIPE_S)

static const char *const formats[] = {"jpeg", "png", NULL};

struct image_cfg {
	int format;
	int64_t interval;
	const char *trigger_tag;
	int64_t width, height;
	int64_t quality;
	const char *stream_name;
	const char *directory;
	const char *file_prefix;
	int64_t max_files;
	int64_t max_age;
};

#define C struct image_cfg
static const struct vpipe_param params[] = {
    VPIPE_P_ENUM("format", C, format, "jpeg", formats, "output picture format"),
    VPIPE_P_(/* changes on reload: see image_reconfigure */
	     "interval", VPIPE_PARAM_DURATION, VPIPE_PARAM_RUNTIME, C, interval,
	     "60s", 0, 86400, NULL, VPIPE_MS,
	     "one picture per interval, at least 200 ms (0: only "
	     "on trigger); changes on reload"),
    VPIPE_P_STRING("trigger-tag", C, trigger_tag,
		   "AWS_KINESISVIDEO_IMAGE_GENERATION", 0,
		   "a frame carrying this tag asks for a picture now "
		   "(empty: none)"),
    VPIPE_P_INT("width", C, width, "0", 0, PIC_MAX_WIDTH,
		"picture width (0: from height and the aspect ratio, "
		"or the source's)"),
    VPIPE_P_INT("height", C, height, "0", 0, PIC_MAX_HEIGHT,
		"picture height (0: from width and the aspect ratio, "
		"or the source's)"),
    VPIPE_P_INT("quality", C, quality, "80", 1, 100,
		"JPEG quality (1: smallest, 100: best)"),
    VPIPE_P_STRING("stream-name", C, stream_name, "", 0,
		   "tagged on every picture as stream-name (empty: the "
		   "input frame's stream-name tag)"),
    VPIPE_P_PATH("directory", C, directory, NULL, 0,
		 "also write each picture to this directory"),
    VPIPE_P_STRING("file-prefix", C, file_prefix, "image-", 0,
		   "file names: PREFIX + YYYYMMDDTHHMMSS.mmmZ.jpg"),
    VPIPE_P_INT("max-files", C, max_files, "0", 0, 1e9,
		"keep at most this many pictures in directory (0: all)"),
    VPIPE_P_DURATION("max-age", C, max_age, "0", 0, 3.2e9, VPIPE_S,
		     "delete pictures older than this (0: keep)"),
    VPIPE_P_END,
};
#undef C

struct image {
	struct vpipe_node *node;
	const struct image_cfg *cfg;
	struct pic_encoder *enc;
	struct key_decoder *dec;
	struct outdir out;
	int64_t next_due; /* pts; VPIPE_TIME_NONE: the first frame */
	bool triggered;	  /* a trigger tag waits for a picture */
	struct vpipe_tag pending[VPIPE_MAX_TAGS]; /* the trigger frame's */
	unsigned num_pending;
	int64_t last_retain;
	bool warned_dir;
};

static void clear_pending(struct image *s)
{
	for (unsigned i = 0; i < s->num_pending; i++) {
		free((char *)s->pending[i].name);
		free((char *)s->pending[i].value);
	}
	s->num_pending = 0;
}

static void image_destroy(void *state)
{
	struct image *s = state;
	pic_encoder_free(s->enc);
	key_decoder_free(s->dec);
	clear_pending(s);
	free(s);
}

static int check_interval(struct vpipe_node *node, const struct image_cfg *cfg)
{
	if (cfg->interval > 0 && cfg->interval < MIN_INTERVAL) {
		vpipe_error(node,
			    "interval %.3f s is below 200 ms (the "
			    "service's minimum SamplingInterval)",
			    (double)cfg->interval / 1e9);
		return -1;
	}
	if (cfg->interval == 0 && !cfg->trigger_tag[0]) {
		vpipe_error(node, "interval = 0 and no trigger-tag: no picture "
				  "would ever be made");
		return -1;
	}
	return 0;
}

/* A reload changed interval (the other keys are as before): the next
 * picture is due one new interval after the last one. */
static int image_reconfigure(void *state, const void *config)
{
	struct image *s = state;
	const struct image_cfg *cfg = config;
	if (check_interval(s->node, cfg))
		return -1;
	int64_t old = s->cfg->interval;
	if (s->next_due != VPIPE_TIME_NONE && old > 0 && cfg->interval > 0)
		s->next_due += cfg->interval - old;
	s->cfg = cfg;
	/* from now on everything comes from the new config */
	s->out.dir = cfg->directory;
	s->out.prefix = cfg->file_prefix;
	vpipe_info(s->node, "interval now %.3f s", (double)cfg->interval / 1e9);
	return 0;
}

static int image_create(struct vpipe_node *node, const void *config,
			void **state)
{
	const struct image_cfg *cfg = config;
	if (check_interval(node, cfg))
		return -1;
	if (strchr(cfg->file_prefix, '/')) {
		vpipe_error(node, "file-prefix '%s' must not contain '/'",
			    cfg->file_prefix);
		return -1;
	}
	struct image *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->node = node;
	s->cfg = cfg;
	s->enc = pic_encoder_new(cfg->format == 1 ? PIC_PNG : PIC_JPEG,
				 (int)cfg->quality);
	if (!s->enc) {
		vpipe_error(node, "cannot set up the %s encoder",
			    formats[cfg->format]);
		free(s);
		return -1;
	}
	s->out = (struct outdir){
	    .dir = cfg->directory,
	    .prefix = cfg->file_prefix,
	    .ext = pic_format_ext(cfg->format == 1 ? PIC_PNG : PIC_JPEG),
	    .max_files = cfg->max_files,
	    .max_age = cfg->max_age,
	};
	vpipe_node_set_output_media(
	    node, 0, cfg->format == 1 ? VPIPE_MEDIA_PNG : VPIPE_MEDIA_JPEG);
	vpipe_node_set_pool(node, 4, 512 * 1024);
	*state = s;
	return 0;
}

static int image_start(void *state)
{
	struct image *s = state;
	s->next_due = VPIPE_TIME_NONE;
	s->triggered = false;
	clear_pending(s);
	if (s->cfg->directory) {
		struct stat st;
		if (stat(s->cfg->directory, &st) || !S_ISDIR(st.st_mode)) {
			vpipe_error(s->node, "directory %s does not exist",
				    s->cfg->directory);
			return -1;
		}
	}
	return 0;
}

static void keep_trigger_tags(struct image *s, const struct vpipe_frame *in)
{
	clear_pending(s);
	for (unsigned i = 0; i < in->num_tags && i < VPIPE_MAX_TAGS; i++) {
		char *n = strdup(in->tags[i].name);
		char *v = strdup(in->tags[i].value ? in->tags[i].value : "");
		if (!n || !v) {
			free(n);
			free(v);
			break;
		}
		s->pending[s->num_pending++] = (struct vpipe_tag){n, v};
	}
}

static bool is_request_tag(const struct image *s, const char *name)
{
	return strcmp(name, s->cfg->trigger_tag) == 0 ||
	       strcmp(name, TAG_NOTIFICATION) == 0 ||
	       strcmp(name, GETMEDIA_FRAGMENT) == 0 ||
	       strcmp(name, GETMEDIA_SERVER_TS) == 0;
}

static void copy_tags(struct image *s, struct vpipe_frame *f,
		      const struct vpipe_tag *tags, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const char *name = tags[i].name, *v = tags[i].value;
		if (!v)
			v = "";
		if (strcmp(name, GETMEDIA_FRAGMENT) == 0)
			vpipe_frame_set_tag(f, TAG_FRAGMENT, v);
		else if (strcmp(name, GETMEDIA_SERVER_TS) == 0) {
			/* GetMedia writes seconds as a decimal. */
			char ms[32];
			snprintf(ms, sizeof(ms), "%.0f", atof(v) * 1000.0);
			vpipe_frame_set_tag(f, TAG_SERVER_TS, ms);
		} else if (!is_request_tag(s, name))
			vpipe_frame_set_tag(f, name, v);
	}
}

static int64_t capture_wall(const struct vpipe_frame *in)
{
	if (in->wallclock > 0)
		return in->wallclock;
	if (in->pts != VPIPE_TIME_NONE)
		return vpipe_clock_to_wall(in->pts);
	return vpipe_wallclock();
}

static void write_file(struct image *s, int64_t wall, const uint8_t *data,
		       size_t len)
{
	char err[512];
	int rc = outdir_write(&s->out, wall, data, len, err, sizeof(err));
	if (rc) {
		vpipe_node_count(s->node, "file_errors_total", 1);
		if (!s->warned_dir)
			vpipe_error(s->node, "%s", err);
		s->warned_dir = true;
		return;
	}
	if (s->warned_dir)
		vpipe_info(s->node, "writing pictures to %s again",
			   s->cfg->directory);
	s->warned_dir = false;
	int64_t now = vpipe_now();
	if (now - s->last_retain >= RETAIN_EVERY || s->cfg->max_files > 0) {
		s->last_retain = now;
		int n = outdir_retain(&s->out, vpipe_wallclock());
		if (n > 0)
			vpipe_node_count(s->node, "files_deleted_total", n);
	}
}

static int emit(struct image *s, const struct vpipe_frame *in,
		const struct pic_src *src)
{
	int w, h;
	pic_target_size(src->width, src->height, (int)s->cfg->width,
			(int)s->cfg->height, &w, &h);
	const uint8_t *bytes;
	size_t len;
	char err[300];
	if (pic_encode(s->enc, src, w, h, &bytes, &len, err, sizeof(err))) {
		vpipe_node_count(s->node, "errors_total", 1);
		vpipe_warn(s->node, "frame %llu: %s",
			   (unsigned long long)in->seq, err);
		return 0;
	}
	int64_t wall = capture_wall(in);
	if (s->cfg->directory)
		write_file(s, wall, bytes, len);
	struct vpipe_frame *f = vpipe_frame_alloc(s->node, len);
	if (!f)
		return 0; /* stopping */
	vpipe_frame_copy_meta(f, in);
	f->media = s->cfg->format == 1 ? VPIPE_MEDIA_PNG : VPIPE_MEDIA_JPEG;
	f->flags = VPIPE_FLAG_KEY;
	f->wallclock = wall;
	memset(&f->fmt, 0, sizeof(f->fmt));
	f->fmt.width = (uint32_t)w;
	f->fmt.height = (uint32_t)h;
	f->fmt.fourcc = s->cfg->format == 1 ? VPIPE_FOURCC('P', 'N', 'G', ' ')
					    : VPIPE_FOURCC_MJPG;
	memcpy(f->data, bytes, len);
	f->size = len;
	copy_tags(s, f, s->pending, s->num_pending);
	copy_tags(s, f, in->tags, in->num_tags);
	char ms[32];
	snprintf(ms, sizeof(ms), "%lld", (long long)(wall / VPIPE_MS));
	vpipe_frame_set_tag(f, TAG_PRODUCER_TS, ms);
	if (s->cfg->stream_name[0])
		vpipe_frame_set_tag(f, TAG_STREAM, s->cfg->stream_name);
	vpipe_node_count(s->node, "images_total", 1);
	vpipe_debug(s->node, "frame %llu: %dx%d %s, %zu bytes",
		    (unsigned long long)in->seq, w, h, formats[s->cfg->format],
		    len);
	vpipe_push(s->node, 0, f);
	return 0;
}

/* Is a picture due for this frame? Advances the schedule when it is. */
static bool due(struct image *s, int64_t t)
{
	if (s->cfg->interval <= 0)
		return false;
	if (s->next_due == VPIPE_TIME_NONE || t >= s->next_due)
		return true;
	/* Time went back (an upstream restart): start again from here. */
	return t + s->cfg->interval < s->next_due;
}

static void advance(struct image *s, int64_t t)
{
	if (s->cfg->interval <= 0)
		return;
	if (s->next_due == VPIPE_TIME_NONE ||
	    t + s->cfg->interval < s->next_due)
		s->next_due = t;
	while (s->next_due <= t)
		s->next_due += s->cfg->interval;
}

static int image_process(void *state, unsigned port,
			 const struct vpipe_frame *in)
{
	struct image *s = state;
	(void)port;
	bool coded =
	    in->media == VPIPE_MEDIA_H264 || in->media == VPIPE_MEDIA_H265;
	if (in->media != VPIPE_MEDIA_RAW_VIDEO && !coded)
		return 0;
	int64_t t = in->pts != VPIPE_TIME_NONE ? in->pts : vpipe_now();
	if (s->cfg->trigger_tag[0] &&
	    vpipe_frame_get_tag(in, s->cfg->trigger_tag)) {
		s->triggered = true;
		keep_trigger_tags(s, in);
	}
	bool key = false;
	if (coded) {
		bool hevc = in->media == VPIPE_MEDIA_H265;
		if (s->dec && key_decoder_is_hevc(s->dec) != hevc) {
			key_decoder_free(s->dec); /* the codec changed */
			s->dec = NULL;
		}
		if (!s->dec) {
			char err[200];
			s->dec = key_decoder_new(hevc, err, sizeof(err));
			if (!s->dec) {
				vpipe_error(s->node, "%s", err);
				return -1;
			}
		}
		key = key_decoder_inspect(s->dec, in->data, in->size);
	}
	if (!s->triggered && !due(s, t))
		return 0;
	if (coded && !key)
		return 0; /* wait for the next key frame */

	struct pic_src src;
	char err[300];
	int rc = coded ? key_decoder_decode(s->dec, in->data, in->size, &src,
					    err, sizeof(err))
		       : pic_src_from_raw(&in->fmt, in->data, in->size, &src,
					  err, sizeof(err));
	if (rc) {
		vpipe_node_count(s->node, "errors_total", 1);
		vpipe_warn(s->node,
			   "frame %llu (%zu bytes): %s; trying the "
			   "next %s frame",
			   (unsigned long long)in->seq, in->size, err,
			   coded ? "key" : "");
		return 0;
	}
	emit(s, in, &src);
	advance(s, t);
	s->triggered = false;
	clear_pending(s);
	return 0;
}

static const struct vpipe_port inputs[] = {
    {.name = "sink",
     .media = VPIPE_MEDIA_RAW_VIDEO | VPIPE_MEDIA_H264 | VPIPE_MEDIA_H265},
    {.name = NULL},
};
static const struct vpipe_port outputs[] = {
    {.name = "src", .media = VPIPE_MEDIA_JPEG | VPIPE_MEDIA_PNG},
    {.name = NULL},
};

VPIPE_MODULE = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "image",
    .version = "1.0",
    .summary = "still pictures (JPEG/PNG) from raw or H.264 video at an "
	       "interval or on a tag",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .config_size = sizeof(struct image_cfg),
    .create = image_create,
    .start = image_start,
    .process = image_process,
    .destroy = image_destroy,
    .reconfigure = image_reconfigure,
};
