/* overlay: burns a text (a clock, the node's name, a label, frame tags)
 * into raw I420/NV12 pictures. The text is re-rendered only when it
 * changes (once a second for a clock); each frame costs a copy of the
 * picture (input frames are shared and immutable) and the blend of the
 * text box. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vpipe/vpipe.h>

#include "ov_draw.h"
#include "ov_font.h"
#include "ov_text.h"

struct overlay_config {
	const char *text;
	const char *label;
	int timezone;
	const char *font;
	int64_t size;
	int color;
	int anchor;
	int64_t margin;
	int64_t x, y;
	int64_t outline;
	int64_t box_opacity;
	int64_t padding;
};

static const char *const timezones[] = {"local", "utc", NULL};
static const char *const colors[] = {"white", "black", "yellow", "red",
				     "green", "blue",  "gray",	 NULL};
/* BT.601 limited-range Y'CbCr of each colour above. */
static const struct ov_yuv color_yuv[] = {
    {235, 128, 128}, {16, 128, 128}, {210, 16, 146},  {81, 90, 240},
    {145, 54, 34},   {41, 240, 110}, {126, 128, 128},
};
static const char *const anchors[] = {
    "top-left", "top",	       "top-right", "left",	    "center",
    "right",	"bottom-left", "bottom",    "bottom-right", NULL};

#define CFG struct overlay_config
static const struct vpipe_param params[] = {
    VPIPE_P_STRING("text", CFG, text, "%Y-%m-%d %H:%M:%S", 0,
		   "what to draw: strftime(3) conversions on the frame's "
		   "capture time, %{node}, %{label}, %{tag:NAME}, %% for %"),
    VPIPE_P_STRING("label", CFG, label, "", 0,
		   "free text that %{label} stands for (a camera or stream "
		   "name)"),
    VPIPE_P_ENUM("timezone", CFG, timezone, "local", timezones,
		 "clock of the strftime conversions: local (TZ) or utc"),
    VPIPE_P_PATH("font", CFG, font,
		 "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 0,
		 "TrueType/OpenType font file (Debian fonts-dejavu-core)"),
    VPIPE_P_INT("size", CFG, size, "32", 6, 400,
		"text size in pixels per em (a line is about 1.2 em high)"),
    VPIPE_P_ENUM("color", CFG, color, "white", colors,
		 "text colour: white, black, yellow, red, green, blue, gray"),
    VPIPE_P_ENUM("anchor", CFG, anchor, "top-left", anchors,
		 "where the text box sits: top-left, top, top-right, left, "
		 "center, right, bottom-left, bottom, bottom-right"),
    VPIPE_P_INT("margin", CFG, margin, "16", 0, 8192,
		"pixels between the text box and the anchored frame edges"),
    VPIPE_P_INT("x", CFG, x, "-1", -1, 16384,
		"left edge of the text box in pixels (-1: from anchor)"),
    VPIPE_P_INT("y", CFG, y, "-1", -1, 16384,
		"top edge of the text box in pixels (-1: from anchor)"),
    VPIPE_P_INT("outline", CFG, outline, "2", 0, 8,
		"black outline around the letters, in pixels (0: none)"),
    VPIPE_P_INT("box-opacity", CFG, box_opacity, "0", 0, 100,
		"black box behind the text, opacity in percent (0: none)"),
    VPIPE_P_INT("padding", CFG, padding, "4", 0, 256,
		"pixels between the text and the edge of its box"),
    VPIPE_P_END,
};
#undef CFG

struct overlay {
	struct vpipe_node *node;
	const struct overlay_config *cfg;
	struct ov_font *font;
	struct ov_style style;
	struct ov_image image;
	int uses_time;
	char text[OV_TEXT_MAX]; /* what the image shows */
	uint32_t width, height; /* the image is for this frame size */
	int have_image;
	const struct vpipe_frame *cur; /* for %{tag:NAME} */
};

static int overlay_create(struct vpipe_node *node, const void *config,
			  void **state)
{
	const struct overlay_config *cfg = config;
	char err[256];
	if (ov_pattern_check(cfg->text, err, sizeof(err)) < 0) {
		vpipe_error(node, "text = %s: %s", cfg->text, err);
		return -1;
	}
	struct overlay *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->node = node;
	s->cfg = cfg;
	/* Opened here so that `vpipe check` names a missing font. */
	if (ov_font_open(cfg->font, (unsigned)cfg->size, &s->font, err,
			 sizeof(err)) < 0) {
		vpipe_error(node, "font = %s: %s", cfg->font, err);
		free(s);
		return -1;
	}
	s->uses_time = ov_pattern_uses_time(cfg->text);
	s->style = (struct ov_style){
	    .color = color_yuv[cfg->color],
	    .outline = (unsigned)cfg->outline,
	    .box_opacity = (unsigned)(cfg->box_opacity * 255 + 50) / 100,
	    .padding = (unsigned)cfg->padding,
	    .anchor = (enum ov_anchor)cfg->anchor,
	    .margin = (unsigned)cfg->margin,
	    .x = (int)cfg->x,
	    .y = (int)cfg->y,
	};
	vpipe_node_set_output_media(node, 0, VPIPE_MEDIA_RAW_VIDEO);
	/* Copies of the input pictures; sized for 1080p I420 in the memory
	 * estimate (the real size follows the input). */
	vpipe_node_set_pool(node, 0, 1920 * 1080 * 3 / 2);
	*state = s;
	return 0;
}

static const char *frame_tag(void *ctx, const char *name)
{
	struct overlay *s = ctx;
	return s->cur ? vpipe_frame_get_tag(s->cur, name) : NULL;
}

/* The picture's planes, or -1 (logged) when the frame is not an I420/NV12
 * picture its size can hold. */
static int planes_of(struct overlay *s, const struct vpipe_frame *in,
		     uint8_t *data, uint8_t *planes[3])
{
	const struct vpipe_format *f = &in->fmt;
	int nv12 = f->fourcc == VPIPE_FOURCC_NV12;
	if (f->fourcc != VPIPE_FOURCC_I420 && !nv12) {
		vpipe_error(s->node,
			    "overlay draws on i420 and nv12 pictures only; "
			    "got %s (convert before this node)",
			    vpipe_fourcc_name(f->fourcc));
		return -1;
	}
	size_t cw = (f->width + 1) / 2, ch = (f->height + 1) / 2;
	size_t need[3] = {
	    (size_t)f->offset[0] + (size_t)f->stride[0] * f->height,
	    (size_t)f->offset[1] + (size_t)f->stride[1] * ch,
	    nv12 ? 0 : (size_t)f->offset[2] + (size_t)f->stride[2] * ch};
	size_t row_min[3] = {f->width, nv12 ? 2 * cw : cw, nv12 ? 0 : cw};
	for (int p = 0; p < (nv12 ? 2 : 3); p++) {
		if (need[p] > in->size || f->stride[p] < row_min[p]) {
			vpipe_error(s->node,
				    "%ux%u %s picture of %zu bytes: plane %d "
				    "(offset %u, stride %u) does not fit",
				    f->width, f->height,
				    vpipe_fourcc_name(f->fourcc), in->size, p,
				    f->offset[p], f->stride[p]);
			return -1;
		}
		planes[p] = data + f->offset[p];
	}
	return nv12;
}

/* Re-render when the text or the frame size changed. */
static int update_image(struct overlay *s, const struct vpipe_frame *in)
{
	struct tm tm = {0};
	if (s->uses_time) { /* a text without conversions needs no clock */
		int64_t wall = in->wallclock != VPIPE_TIME_NONE
				   ? in->wallclock
				   : vpipe_wallclock();
		time_t t = (time_t)(wall / 1000000000);
		if (s->cfg->timezone == 1)
			gmtime_r(&t, &tm);
		else
			localtime_r(&t, &tm);
	}
	struct ov_vars v = {.node = vpipe_node_name(s->node),
			    .label = s->cfg->label,
			    .tag = frame_tag,
			    .ctx = s};
	char text[OV_TEXT_MAX];
	s->cur = in;
	ov_pattern_expand(s->cfg->text, &v, &tm, text, sizeof(text));
	s->cur = NULL;
	if (s->have_image && !strcmp(text, s->text) &&
	    s->width == in->fmt.width && s->height == in->fmt.height)
		return 0;
	if (ov_compose(&s->image, s->font, text, &s->style, (int)in->fmt.width,
		       (int)in->fmt.height) < 0) {
		vpipe_error(s->node, "out of memory composing the text");
		return -1;
	}
	memcpy(s->text, text, sizeof(text));
	s->width = in->fmt.width;
	s->height = in->fmt.height;
	s->have_image = 1;
	vpipe_node_count(s->node, "texts_rendered_total", 1);
	return 0;
}

static int overlay_process(void *state, unsigned port,
			   const struct vpipe_frame *in)
{
	struct overlay *s = state;
	(void)port;
	uint8_t *in_planes[3];
	if (planes_of(s, in, in->data, in_planes) < 0)
		return -1;
	if (update_image(s, in) < 0)
		return -1;
	struct vpipe_frame *out = vpipe_frame_alloc(s->node, in->size);
	if (!out)
		return 0; /* stopping */
	vpipe_frame_copy_meta(out, in);
	vpipe_frame_copy_tags(out, in);
	memcpy(out->data, in->data, in->size);
	out->size = in->size;
	uint8_t *planes[3];
	int nv12 = planes_of(s, out, out->data, planes);
	ov_blend(&s->image, planes, out->fmt.stride, nv12);
	vpipe_push(s->node, 0, out);
	return 0;
}

static void overlay_destroy(void *state)
{
	struct overlay *s = state;
	ov_image_free(&s->image);
	ov_font_close(s->font);
	free(s);
}

static const struct vpipe_port inputs[] = {
    {.name = "sink", .media = VPIPE_MEDIA_RAW_VIDEO},
    {.name = NULL},
};
static const struct vpipe_port outputs[] = {
    {.name = "src", .media = VPIPE_MEDIA_RAW_VIDEO},
    {.name = NULL},
};

VPIPE_MODULE = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "overlay",
    .version = "1.0",
    .summary = "draws a text (clock, names, tags) onto i420/nv12 pictures",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .config_size = sizeof(struct overlay_config),
    .create = overlay_create,
    .process = overlay_process,
    .destroy = overlay_destroy,
};
