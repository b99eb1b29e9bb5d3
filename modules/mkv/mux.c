/* The `mkv` muxer's logic: fragments, timecodes, codec private data and
 * fragment metadata. See mux.h; the rules quoted come from the KVS
 * developer guide digests (kvs-facts part1 sections 2 and 4, part2 5.5, part3
 * on streaming metadata, notifications and image generation). */
#include "mux.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vpipe/module.h>

#include "ebml.h"
#include "h264.h"
#include "h265.h"
#include "mkv_writer.h"

#define AVCC_MAX	 4096 /* avcC records are a few dozen bytes */
#define MAX_PENDING_TAGS 25   /* the SDK's MAX_FRAGMENT_METADATA_COUNT */
#define TRACK_NUMBER	 1    /* KVS: video on track 1 */

struct tag {
	char *name, *value;
};

struct mkv_mux {
	struct mkv_config cfg;
	mkv_mux_log_fn log;
	void *log_ctx;

	struct tag persistent[MKV_MAX_FRAGMENT_TAGS];
	unsigned num_persistent;
	struct tag pending[MAX_PENDING_TAGS]; /* one-shot, from frames */
	unsigned num_pending;
	bool want_notification, want_image;
	char *pending_prefix; /* AWS_KINESISVIDEO_IMAGE_PREFIX from a frame */

	bool codec_known, hevc; /* the track's codec: H.264 or H.265 */
	/* Codec private data (avcC or hvcC) in use, and the stream it
	 * describes (for H.265 only width and height are set in sps). */
	uint8_t avcc[AVCC_MAX];
	size_t avcc_len;
	struct h264_sps sps;

	bool need_key;	  /* drop until a key frame (start, loss, error) */
	uint64_t waiting; /* frames dropped while need_key */
	bool have_base;
	int64_t base;	  /* stream time = pts + base (ns) */
	int64_t last_dts; /* ns, input clock */
	int64_t last_end; /* stream time where the last frame ends */
	bool in_fragment;
	int64_t fragment_start; /* stream time of the fragment's key frame */
	int64_t cluster_tc;	/* Timecode of the open cluster */
	bool gop_warned;
	bool pts_dts_warned;

	struct ebml_buf header, out;
	struct mkv_mux_stats st;
};

static void say(struct mkv_mux *m, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct mkv_mux *m, int level, const char *fmt, ...)
{
	if (!m->log)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->log(m->log_ctx, level, msg);
}

/* ------------------------------------------------------------------ tags */

const char *mkv_tag_check(const char *name, const char *value, bool allow_aws)
{
	size_t n = strlen(name), v = value ? strlen(value) : 0;
	if (n == 0 || n > MKV_MAX_TAG_NAME)
		return "name must be 1 to 128 bytes "
		       "(STATUS_INVALID_METADATA_KEY_LENGTH 0x5200008e)";
	if (v > MKV_MAX_TAG_VALUE)
		return "value longer than 256 bytes "
		       "(STATUS_INVALID_METADATA_VALUE_LENGTH 0x5200008f)";
	if (!allow_aws && strncmp(name, "AWS", 3) == 0)
		return "names starting with AWS are reserved "
		       "(STATUS_INVALID_METADATA_NAME 0x52000077)";
	return NULL;
}

static void tag_free(struct tag *t)
{
	free(t->name);
	free(t->value);
	t->name = t->value = NULL;
}

static int tag_set(struct tag *t, const char *name, size_t nlen,
		   const char *value, size_t vlen)
{
	char *n = strndup(name, nlen), *v = strndup(value, vlen);
	if (!n || !v) {
		free(n);
		free(v);
		return -1;
	}
	tag_free(t);
	t->name = n;
	t->value = v;
	return 0;
}

/* Parse "a=1,b=two" into the persistent tags. */
static int parse_persistent(struct mkv_mux *m, const char *spec, char *err,
			    size_t errlen)
{
	const char *p = spec;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		char name[MKV_MAX_TAG_NAME + 2], value[MKV_MAX_TAG_VALUE + 2];
		size_t nlen = eq ? (size_t)(eq - p) : len;
		size_t vlen = eq ? len - nlen - 1 : 0;
		if (!eq || nlen > MKV_MAX_TAG_NAME + 1 ||
		    vlen > MKV_MAX_TAG_VALUE + 1) {
			snprintf(err, errlen,
				 "tags: '%.*s' at character %zu is not "
				 "name=value (name <= 128, value <= 256 bytes)",
				 (int)(len > 60 ? 60 : len), p,
				 (size_t)(p - spec) + 1);
			return -1;
		}
		memcpy(name, p, nlen);
		name[nlen] = 0;
		memcpy(value, eq + 1, vlen);
		value[vlen] = 0;
		const char *why = mkv_tag_check(name, value, false);
		if (!why && m->num_persistent == MKV_MAX_FRAGMENT_TAGS)
			why = "more than 10 tags per fragment";
		if (why) {
			snprintf(err, errlen, "tags: '%s': %s", name, why);
			return -1;
		}
		if (tag_set(&m->persistent[m->num_persistent++], name, nlen,
			    value, vlen)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* A frame's tags wait for the next fragment start (one-shot). The KVS
 * event tags are requests, not metadata; other AWS* names are refused. */
static void take_frame_tags(struct mkv_mux *m, const struct mkv_mux_input *in)
{
	for (unsigned i = 0; i < in->num_tags; i++) {
		const char *name = in->tags[i].name;
		const char *value = in->tags[i].value ? in->tags[i].value : "";
		if (strcmp(name, MKV_TAG_NOTIFICATION) == 0) {
			m->want_notification = true;
			continue;
		}
		if (strcmp(name, MKV_TAG_IMAGE_GENERATION) == 0) {
			m->want_image = true;
			continue;
		}
		bool prefix = strcmp(name, MKV_TAG_IMAGE_PREFIX) == 0;
		const char *why = mkv_tag_check(name, value, prefix);
		if (why) {
			m->st.tags_refused++;
			say(m, VPIPE_LOG_WARN,
			    "frame %llu: tag '%.40s' refused: %s",
			    (unsigned long long)in->seq, name, why);
			continue;
		}
		if (prefix) {
			free(m->pending_prefix);
			m->pending_prefix = strdup(value);
			continue;
		}
		unsigned j = 0;
		while (j < m->num_pending && strcmp(m->pending[j].name, name))
			j++; /* the same name again: the newest value wins */
		if (j == MAX_PENDING_TAGS) {
			m->st.tags_refused++;
			say(m, VPIPE_LOG_WARN,
			    "frame %llu: tag '%.40s' dropped: %d tags already "
			    "wait for the next fragment",
			    (unsigned long long)in->seq, name,
			    MAX_PENDING_TAGS);
			continue;
		}
		if (tag_set(&m->pending[j], name, strlen(name), value,
			    strlen(value)) == 0 &&
		    j == m->num_pending)
			m->num_pending++;
	}
}

/* The Tags of fragment number `index`, written after its last block: just
 * before the next fragment's Cluster, or at the end of the stream
 * (mkv_mux_finish). The developer guide: "a tag belongs to the cluster
 * before it", and the producer SDK writes event metadata put after a
 * fragment's key frame there. Event tags first, then persistent, then
 * one-shot, at most 10 in all (the event tags count toward the limit). */
static void write_fragment_tags(struct mkv_mux *m, struct ebml_buf *dst,
				uint64_t index)
{
	struct mkv_simple_tag t[MKV_MAX_FRAGMENT_TAGS + 3];
	unsigned n = 0, dropped = 0;
	const struct mkv_config *c = &m->cfg;
	if (m->want_image ||
	    (c->image_every > 0 && index % (uint64_t)c->image_every == 0)) {
		t[n++] = (struct mkv_simple_tag){MKV_TAG_IMAGE_GENERATION, ""};
		const char *prefix =
		    m->pending_prefix ? m->pending_prefix : c->image_prefix;
		if (prefix && prefix[0])
			t[n++] = (struct mkv_simple_tag){MKV_TAG_IMAGE_PREFIX,
							 prefix};
	}
	if (m->want_notification ||
	    (c->notification_every > 0 &&
	     index % (uint64_t)c->notification_every == 0))
		t[n++] = (struct mkv_simple_tag){MKV_TAG_NOTIFICATION, ""};
	for (unsigned i = 0; i < m->num_persistent; i++) {
		if (n == MKV_MAX_FRAGMENT_TAGS) {
			dropped++;
			continue;
		}
		t[n++] = (struct mkv_simple_tag){m->persistent[i].name,
						 m->persistent[i].value};
	}
	for (unsigned i = 0; i < m->num_pending; i++) {
		if (n == MKV_MAX_FRAGMENT_TAGS) {
			dropped++;
			continue;
		}
		t[n++] = (struct mkv_simple_tag){m->pending[i].name,
						 m->pending[i].value};
	}
	if (dropped) {
		m->st.tags_refused += dropped;
		say(m, VPIPE_LOG_WARN,
		    "fragment %llu: %u tags dropped: at most %d per fragment",
		    (unsigned long long)index, dropped, MKV_MAX_FRAGMENT_TAGS);
	}
	mkv_write_tags(dst, t, n);
	m->st.tags_written += n;
	/* One-shot requests and tags are used up (the buffer holds copies). */
	for (unsigned i = 0; i < m->num_pending; i++)
		tag_free(&m->pending[i]);
	m->num_pending = 0;
	free(m->pending_prefix);
	m->pending_prefix = NULL;
	m->want_image = m->want_notification = false;
}

/* ------------------------------------------------------------ creation */

static int check_config(const struct mkv_config *c, char *err, size_t errlen)
{
	if (c->codec_id && c->codec_id[0] &&
	    strcmp(c->codec_id, MKV_CODEC_AVC) != 0 &&
	    strcmp(c->codec_id, MKV_CODEC_HEVC) != 0) {
		snprintf(err, errlen,
			 "codec-id: '%s' is not supported: this muxer takes "
			 "H.264 (" MKV_CODEC_AVC ") or H.265 (" MKV_CODEC_HEVC
			 ")",
			 c->codec_id ? c->codec_id : "");
		return -1;
	}
	if (c->track_name && strlen(c->track_name) > MKV_MAX_TRACK_NAME) {
		snprintf(err, errlen,
			 "track-name: longer than %d characters "
			 "(STATUS_MKV_INVALID_TRACK_NAME_LENGTH 0x32000007)",
			 MKV_MAX_TRACK_NAME);
		return -1;
	}
	if (c->content_type && strlen(c->content_type) > MKV_MAX_CONTENT_TYPE) {
		snprintf(err, errlen,
			 "content-type: longer than %d characters "
			 "(STATUS_MKV_INVALID_CONTENT_TYPE_LENGTH 0x32000004)",
			 MKV_MAX_CONTENT_TYPE);
		return -1;
	}
	if (c->timecode_scale < 100 || c->timecode_scale > 1000000000) {
		snprintf(err, errlen,
			 "timecode-scale: %lld ns is outside 100 ns .. 1 s "
			 "(STATUS_MKV_INVALID_TIMECODE_SCALE 0x3200000a)",
			 (long long)c->timecode_scale);
		return -1;
	}
	if (!c->key_frame_fragmentation &&
	    c->fragment_duration > c->max_fragment_duration) {
		snprintf(err, errlen,
			 "fragment-duration (%lld ms) is above "
			 "max-fragment-duration (%lld ms)",
			 (long long)(c->fragment_duration / 1000000),
			 (long long)(c->max_fragment_duration / 1000000));
		return -1;
	}
	if (c->image_prefix && strlen(c->image_prefix) > MKV_MAX_TAG_VALUE) {
		snprintf(err, errlen,
			 "image-prefix: longer than 256 bytes "
			 "(STATUS_INVALID_IMAGE_PREFIX_LENGTH 0x5200008d)");
		return -1;
	}
	return 0;
}

int mkv_mux_new(const struct mkv_config *cfg, mkv_mux_log_fn log, void *ctx,
		struct mkv_mux **out, char *err, size_t errlen)
{
	*out = NULL;
	if (check_config(cfg, err, errlen))
		return -1;
	struct mkv_mux *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->cfg = *cfg;
	m->log = log;
	m->log_ctx = ctx;
	m->need_key = true;
	m->codec_known = cfg->codec_id && cfg->codec_id[0];
	m->hevc = m->codec_known && !strcmp(cfg->codec_id, MKV_CODEC_HEVC);
	if (parse_persistent(m, cfg->tags, err, errlen)) {
		mkv_mux_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

void mkv_mux_free(struct mkv_mux *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->num_persistent; i++)
		tag_free(&m->persistent[i]);
	for (unsigned i = 0; i < m->num_pending; i++)
		tag_free(&m->pending[i]);
	free(m->pending_prefix);
	ebml_buf_free(&m->header);
	ebml_buf_free(&m->out);
	free(m);
}

void mkv_mux_get_stats(const struct mkv_mux *m, struct mkv_mux_stats *st)
{
	*st = m->st;
}

/* ------------------------------------------------------- codec private */

/* Build the avcC of a key frame carrying SPS and PPS. Returns 1 when it
 * differs from the one in use (a new header is due), 0 when the same or
 * absent, -1 when broken. */
static int update_codec_private(struct mkv_mux *m, const uint8_t *au,
				const struct h264_au_info *info, uint64_t seq)
{
	if (!info->has_sps || !info->has_pps)
		return 0;
	const struct h264_nal *sn = &info->nals[info->sps_index];
	const struct h264_nal *pn = &info->nals[info->pps_index];
	struct h264_sps sps;
	char err[200];
	if (h264_parse_sps(au + sn->offset, sn->size, &sps, err, sizeof(err))) {
		say(m, VPIPE_LOG_ERROR,
		    "frame %llu: SPS at byte %zu of the access unit: %s "
		    "(STATUS_MKV_INVALID_H264_H265_SPS_NALU 0x32000015)",
		    (unsigned long long)seq, sn->offset, err);
		return -1;
	}
	const uint8_t *sp[] = {au + sn->offset}, *pp[] = {au + pn->offset};
	size_t sl[] = {sn->size}, pl[] = {pn->size};
	uint8_t rec[AVCC_MAX];
	long n = h264_build_avcc(sp, sl, 1, pp, pl, 1, rec, sizeof(rec));
	if (n < 0) {
		say(m, VPIPE_LOG_ERROR,
		    "frame %llu: SPS/PPS (%zu+%zu bytes) do not make an avcC "
		    "record (STATUS_MKV_INVALID_H264_H265_CPD 0x32000012)",
		    (unsigned long long)seq, sn->size, pn->size);
		return -1;
	}
	if ((size_t)n == m->avcc_len && memcmp(rec, m->avcc, (size_t)n) == 0)
		return 0;
	if (m->avcc_len)
		say(m, VPIPE_LOG_INFO,
		    "frame %llu: SPS/PPS changed (%ux%u -> %ux%u): new header",
		    (unsigned long long)seq, m->sps.width, m->sps.height,
		    sps.width, sps.height);
	memcpy(m->avcc, rec, (size_t)n);
	m->avcc_len = (size_t)n;
	m->sps = sps;
	return 1;
}

/* The hvcC of an IRAP access unit carrying VPS, SPS and PPS; returns as
 * update_codec_private. */
static int update_hvcc(struct mkv_mux *m, const uint8_t *au, size_t len,
		       uint64_t seq)
{
	struct h265_param_sets ps;
	h265_collect_param_sets(au, len, &ps);
	if (!ps.nvps && !ps.nsps && !ps.npps)
		return 0;
	uint8_t rec[AVCC_MAX];
	char err[200];
	long n = h265_build_hvcc(&ps, rec, sizeof(rec), err, sizeof(err));
	if (n < 0) {
		say(m, VPIPE_LOG_ERROR,
		    "frame %llu: %s (STATUS_MKV_INVALID_H264_H265_CPD "
		    "0x32000012)",
		    (unsigned long long)seq, err);
		return -1;
	}
	if ((size_t)n == m->avcc_len && memcmp(rec, m->avcc, (size_t)n) == 0)
		return 0;
	struct h265_sps sps;
	h265_parse_sps(ps.sps[0], ps.sps_len[0], &sps, NULL, 0); /* parsed */
	if (m->avcc_len)
		say(m, VPIPE_LOG_INFO,
		    "frame %llu: VPS/SPS/PPS changed (%ux%u -> %ux%u): new "
		    "header",
		    (unsigned long long)seq, m->sps.width, m->sps.height,
		    sps.width, sps.height);
	memcpy(m->avcc, rec, (size_t)n);
	m->avcc_len = (size_t)n;
	memset(&m->sps, 0, sizeof(m->sps));
	m->sps.width = sps.width;
	m->sps.height = sps.height;
	return 1;
}

/* Key frame? New codec private data (*cpd as update_codec_private)?
 * Returns -1 when the access unit is broken (said). */
static int inspect_au(struct mkv_mux *m, const struct mkv_mux_input *in,
		      bool *key, int *cpd)
{
	char err[200];
	if (m->hevc) {
		struct h265_au_info info;
		if (h265_au_info(in->data, in->size, &info, err, sizeof(err)))
			goto broken;
		*key = info.key || (in->flags & VPIPE_FLAG_KEY);
		*cpd = *key ? update_hvcc(m, in->data, in->size, in->seq) : 0;
		return 0;
	}
	struct h264_au_info info;
	if (h264_au_info_head(in->data, in->size, &info, err, sizeof(err)))
		goto broken;
	*key = info.key || (in->flags & VPIPE_FLAG_KEY);
	*cpd = *key ? update_codec_private(m, in->data, &info, in->seq) : 0;
	return 0;
broken:
	say(m, VPIPE_LOG_ERROR,
	    "frame %llu (%zu bytes): %s: dropped until the next key frame",
	    (unsigned long long)in->seq, in->size, err);
	return -1;
}

static void write_header(struct mkv_mux *m, int64_t frame_duration)
{
	uint64_t dur = 0;
	if (m->sps.fps_num && m->sps.fps_den)
		dur = (uint64_t)m->sps.fps_den * 1000000000ull / m->sps.fps_num;
	else if (frame_duration > 0 && frame_duration != VPIPE_TIME_NONE)
		dur = (uint64_t)frame_duration;
	struct mkv_segment_info info = {
	    .timecode_scale_ns = (uint64_t)m->cfg.timecode_scale,
	    .muxing_app = "vpipe",
	    .writing_app = "vpipe",
	};
	struct mkv_video_track t = {
	    .number = TRACK_NUMBER,
	    .uid = TRACK_NUMBER,
	    .name = m->cfg.track_name,
	    .codec_id = m->hevc ? MKV_CODEC_HEVC : MKV_CODEC_AVC,
	    .codec_private = m->avcc,
	    .codec_private_len = m->avcc_len,
	    .width = m->sps.width,
	    .height = m->sps.height,
	    .default_duration_ns = dur,
	};
	ebml_buf_reset(&m->header);
	mkv_write_stream_header(&m->header, &info, &t);
	m->st.headers++;
}

/* ------------------------------------------------------------ timing */

static int64_t ticks(const struct mkv_mux *m, int64_t t)
{
	int64_t s = m->cfg.timecode_scale;
	return t >= 0 ? (t + s / 2) / s : -((-t + s / 2) / s);
}

/* Set the mapping from input pts to stream time at the start and after a
 * discontinuity; stream time never goes back. */
static void rebase(struct mkv_mux *m, const struct mkv_mux_input *in,
		   int64_t pts)
{
	int64_t wall = in->wallclock != VPIPE_TIME_NONE && in->wallclock > 0
			   ? in->wallclock
			   : in->now_wallclock;
	if (m->cfg.absolute_fragment_times)
		m->base = wall - pts;
	else
		m->base = m->have_base ? m->last_end - pts : -pts;
	if (m->have_base && pts + m->base < m->last_end)
		m->base = m->last_end - pts;
	m->have_base = true;
}

/* Fill in unknown timestamps; refuse DTS going backwards. Returns 0, or -1
 * when the frame must be dropped. */
static int frame_times(struct mkv_mux *m, const struct mkv_mux_input *in,
		       bool key, int64_t *pts, int64_t *dts)
{
	*pts = in->pts;
	*dts = in->dts;
	if (*pts == VPIPE_TIME_NONE)
		*pts = *dts;
	if (*pts == VPIPE_TIME_NONE) {
		say(m, VPIPE_LOG_ERROR,
		    "frame %llu: no pts and no dts: dropped "
		    "(STATUS_MKV_INVALID_FRAME_TIMESTAMP 0x32000002)",
		    (unsigned long long)in->seq);
		return -1;
	}
	if (*dts == VPIPE_TIME_NONE)
		*dts = *pts;
	bool lost = in->flags & VPIPE_FLAG_DISCONTINUITY;
	if (m->have_base && !lost && *dts < m->last_dts) {
		if (!key) {
			say(m, VPIPE_LOG_ERROR,
			    "frame %llu: dts %lld ns is before the previous "
			    "%lld ns: dropped until the next key frame "
			    "(STATUS_MKV_INVALID_FRAME_TIMESTAMP 0x32000002)",
			    (unsigned long long)in->seq, (long long)*dts,
			    (long long)m->last_dts);
			return -1;
		}
		say(m, VPIPE_LOG_WARN,
		    "frame %llu: timestamps went back %lld ns at a key frame: "
		    "treated as a restart upstream",
		    (unsigned long long)in->seq,
		    (long long)(m->last_dts - *dts));
		lost = true;
	}
	if (!m->have_base || (lost && key))
		rebase(m, in, *pts);
	return 0;
}

/* ------------------------------------------------------------- muxing */

static bool starts_fragment(const struct mkv_mux *m, bool key, int64_t t,
			    bool new_header)
{
	if (!key)
		return false;
	if (!m->in_fragment || new_header || m->cfg.key_frame_fragmentation)
		return true;
	/* Compared in ticks, as the fragment's length shows in the stream:
	 * 30 frames of 33333333 ns are 1 s. */
	return ticks(m, t) - ticks(m, m->fragment_start) >=
	       ticks(m, m->cfg.fragment_duration);
}

/* Warn and ask for a key frame once per fragment that outgrows the limit. */
static void guard_gop(struct mkv_mux *m, int64_t t, uint64_t seq,
		      struct mkv_mux_output *out)
{
	int64_t len = t - m->fragment_start;
	if (m->gop_warned || len <= m->cfg.max_fragment_duration)
		return;
	m->gop_warned = true;
	m->st.keyframe_requests++;
	out->request_keyframe = true;
	say(m, VPIPE_LOG_WARN,
	    "frame %llu: fragment has run %.3f s without a key frame, above "
	    "max-fragment-duration %.3f s (KVS allows at most 20 s): asked "
	    "upstream for a key frame",
	    (unsigned long long)seq, (double)len / 1e9,
	    (double)m->cfg.max_fragment_duration / 1e9);
}

static void drop(struct mkv_mux *m, bool resync)
{
	m->st.dropped++;
	if (resync)
		m->need_key = true;
}

/* One access unit; *took says whether its tags were taken (a fragment's
 * key frame takes them after writing the previous fragment's Tags). */
static int mux_frame(struct mkv_mux *m, const struct mkv_mux_input *in,
		     struct mkv_mux_output *out, bool *took)
{
	memset(out, 0, sizeof(*out));
	m->st.frames++;

	if (!m->codec_known) {
		m->codec_known = true;
		m->hevc = in->hevc;
	}
	if (in->hevc != m->hevc) {
		say(m, VPIPE_LOG_ERROR,
		    "frame %llu: H.%s input on an H.%s track (codec-id): "
		    "dropped",
		    (unsigned long long)in->seq, in->hevc ? "265" : "264",
		    m->hevc ? "265" : "264");
		drop(m, true);
		return 0;
	}
	bool key;
	int cpd;
	if (inspect_au(m, in, &key, &cpd)) {
		drop(m, true);
		return 0;
	}
	if (in->flags & VPIPE_FLAG_DISCONTINUITY)
		m->need_key = true;
	if (cpd < 0) {
		drop(m, true);
		return 0;
	}
	if (m->need_key && (!key || !m->avcc_len)) {
		if (m->waiting++ == 0)
			say(m, VPIPE_LOG_WARN,
			    "frame %llu: waiting for a key frame%s; dropping "
			    "frames until then",
			    (unsigned long long)in->seq,
			    m->avcc_len ? ""
			    : m->hevc	? " with VPS, SPS and PPS"
					: " with SPS and PPS");
		drop(m, true);
		return 0;
	}

	int64_t pts, dts;
	if (frame_times(m, in, key, &pts, &dts)) {
		drop(m, true);
		return 0;
	}
	if (m->need_key && m->waiting)
		say(m, VPIPE_LOG_INFO,
		    "frame %llu: key frame: muxing again after %llu dropped "
		    "frames",
		    (unsigned long long)in->seq,
		    (unsigned long long)m->waiting);
	bool resumed = m->need_key;
	m->need_key = false;
	m->waiting = 0;

	int64_t t = pts + m->base;
	int64_t tc = ticks(m, t);
	bool new_header = cpd > 0;
	bool fragment = starts_fragment(m, key, t, new_header) || resumed;
	bool cluster = fragment || tc - m->cluster_tc > INT16_MAX ||
		       tc - m->cluster_tc < INT16_MIN;

	if (key && fragment && pts != dts && !m->pts_dts_warned) {
		m->pts_dts_warned = true;
		/* B-frame streams shift every pts by the reorder delay (as
		 * GStreamer's x264enc does): the KVS guide asks for PTS == DTS
		 * at a fragment start (STATUS_MKV_PTS_DTS_ARE_NOT_SAME in
		 * older producer SDKs), which such a stream cannot meet
		 * without breaking DTS(n) >= DTS(n-1) + duration. Said once. */
		say(m, VPIPE_LOG_INFO,
		    "frame %llu: key frame pts is dts + %lld ms (B-frame "
		    "reorder delay); the KVS guide asks for PTS == DTS at a "
		    "fragment start (STATUS_MKV_PTS_DTS_ARE_NOT_SAME "
		    "0x32000011)",
		    (unsigned long long)in->seq,
		    (long long)((pts - dts) / 1000000));
	}
	if (new_header) {
		write_header(m, in->duration);
		out->header = m->header.data;
		out->header_len = m->header.len;
	}

	struct ebml_buf *dst = in->out ? in->out : &m->out;
	ebml_buf_reset(dst);
	if (fragment) {
		if (m->in_fragment)
			write_fragment_tags(m, dst, m->st.fragments - 1);
		/* The key frame's own tags belong to the fragment it starts. */
		take_frame_tags(m, in);
		*took = true;
		m->st.fragments++;
		m->in_fragment = true;
		m->fragment_start = t;
		m->gop_warned = false;
		out->flags |= VPIPE_FLAG_FRAGMENT_START;
	} else if (m->in_fragment) {
		guard_gop(m, t, in->seq, out);
	}
	if (cluster) {
		mkv_write_cluster_start(dst, (uint64_t)(tc < 0 ? 0 : tc));
		m->cluster_tc = tc < 0 ? 0 : tc;
		m->st.clusters++;
	}
	uint8_t bflags = key ? MKV_BLOCK_KEY : 0;
	if (mkv_write_simple_block_h264(dst, TRACK_NUMBER,
					(int16_t)(tc - m->cluster_tc), bflags,
					in->data, in->size) ||
	    dst->failed || m->header.failed)
		return -1;

	out->data = dst->data;
	out->data_len = dst->len;
	if (key)
		out->flags |= VPIPE_FLAG_KEY;
	if (in->flags & VPIPE_FLAG_DISCONTINUITY)
		out->flags |= VPIPE_FLAG_DISCONTINUITY;
	m->last_dts = dts;
	int64_t end = t + (in->duration > 0 && in->duration != VPIPE_TIME_NONE
			       ? in->duration
			       : 1);
	if (end > m->last_end)
		m->last_end = end;
	return 0;
}

int mkv_mux_frame(struct mkv_mux *m, const struct mkv_mux_input *in,
		  struct mkv_mux_output *out)
{
	bool took = false;
	int rc = mux_frame(m, in, out, &took);
	if (!took)
		take_frame_tags(m, in);
	return rc;
}

int mkv_mux_finish(struct mkv_mux *m, struct mkv_mux_output *out)
{
	memset(out, 0, sizeof(*out));
	ebml_buf_reset(&m->out);
	if (m->in_fragment)
		write_fragment_tags(m, &m->out, m->st.fragments - 1);
	m->in_fragment = false;
	if (m->out.failed)
		return -1;
	out->data = m->out.data;
	out->data_len = m->out.len;
	return 0;
}
