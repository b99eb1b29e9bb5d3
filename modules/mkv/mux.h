/* The `mkv` muxer's logic, free of the kernel so that unit tests drive it
 * directly: H.264 access units in, Matroska bytes out, one output per input.
 *
 * For each input access unit mkv_mux_frame() answers with at most two
 * pieces, to be sent in this order:
 *   header  EBML header + Segment + Info + Tracks, when the stream starts
 *           and again before the key frame where SPS/PPS change;
 *   data    [Tags of the previous fragment] + Cluster + Timecode +
 *           SimpleBlock when the frame starts a fragment (or a cluster),
 *           else one SimpleBlock.
 * At the end of the stream mkv_mux_finish() gives the last fragment's Tags.
 * Frames that cannot be muxed (no SPS/PPS yet, broken, waiting for a key
 * frame after a loss) come back with data_len 0, logged with the reason. */
#ifndef VPIPE_MODULES_MKV_MUX_H
#define VPIPE_MODULES_MKV_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vpipe/frame.h>

#include "ebml.h"

/* The node's configuration: the kernel fills it from the INI section. */
struct mkv_config {
	int64_t fragment_duration;     /* ns: without key-frame-fragmentation */
	int64_t max_fragment_duration; /* ns: GOP guard */
	int64_t timecode_scale;	       /* ns per Matroska tick */
	bool key_frame_fragmentation;
	bool absolute_fragment_times;
	const char *track_name;
	const char *codec_id; /* "" or NULL: from the first frame */
	const char *content_type;
	const char *tags;	    /* "name=value,..." on every fragment */
	int64_t notification_every; /* fragments; 0: only on request */
	int64_t image_every;	    /* fragments; 0: only on request */
	const char *image_prefix;
};

/* Fragment metadata limits (KVS developer guide, streaming metadata). */
#define MKV_MAX_FRAGMENT_TAGS 10
#define MKV_MAX_TAG_NAME      128
#define MKV_MAX_TAG_VALUE     256
#define MKV_MAX_TRACK_NAME    32
#define MKV_MAX_CODEC_ID      32
#define MKV_MAX_CONTENT_TYPE  128
#define MKV_CODEC_AVC	      "V_MPEG4/ISO/AVC"
#define MKV_CODEC_HEVC	      "V_MPEGH/ISO/HEVC"

/* The KVS event tags the muxer writes itself. */
#define MKV_TAG_NOTIFICATION	 "AWS_KINESISVIDEO_NOTIFICATION"
#define MKV_TAG_IMAGE_GENERATION "AWS_KINESISVIDEO_IMAGE_GENERATION"
#define MKV_TAG_IMAGE_PREFIX	 "AWS_KINESISVIDEO_IMAGE_PREFIX"

struct mkv_mux;

/* Receives the muxer's messages (level: enum vpipe_log_level). */
typedef void (*mkv_mux_log_fn)(void *ctx, int level, const char *msg);

struct mkv_mux_input {
	const uint8_t *data; /* one Annex-B access unit */
	size_t size;
	bool hevc;		    /* H.265 (else H.264) */
	int64_t pts, dts, duration; /* ns; VPIPE_TIME_NONE when unknown */
	int64_t wallclock;	    /* ns since the epoch; NONE or 0: unknown */
	int64_t now_wallclock;	    /* used when wallclock is unknown */
	uint32_t flags;		    /* VPIPE_FLAG_KEY, _DISCONTINUITY */
	const struct vpipe_tag *tags;
	unsigned num_tags;
	uint64_t seq; /* for messages */
	/* Where the data goes (e.g. an ebml_buf over a frame payload, to save
	 * a copy); NULL: a buffer of the muxer's own. */
	struct ebml_buf *out;
};

struct mkv_mux_output {
	const uint8_t *header; /* NULL: no new header before this frame */
	size_t header_len;
	const uint8_t *data;   /* valid until the next call */
	size_t data_len;       /* 0: the frame was dropped */
	uint32_t flags;	       /* KEY, FRAGMENT_START, DISCONTINUITY */
	bool request_keyframe; /* ask upstream for a key frame now */
};

/* Check the configuration and build the muxer. Returns 0, or -1 with the
 * offending parameter named in err. */
int mkv_mux_new(const struct mkv_config *cfg, mkv_mux_log_fn log, void *ctx,
		struct mkv_mux **out, char *err, size_t errlen);
void mkv_mux_free(struct mkv_mux *m);

/* Mux one access unit. Returns 0 (see out), or -1 when out of memory. */
int mkv_mux_frame(struct mkv_mux *m, const struct mkv_mux_input *in,
		  struct mkv_mux_output *out);

/* End of stream: the last fragment's Tags (data_len 0 when it has none).
 * Returns 0, or -1 when out of memory. */
int mkv_mux_finish(struct mkv_mux *m, struct mkv_mux_output *out);

/* Counters for metrics. */
struct mkv_mux_stats {
	uint64_t frames, dropped, fragments, clusters, headers;
	uint64_t tags_written, tags_refused, keyframe_requests;
};
void mkv_mux_get_stats(const struct mkv_mux *m, struct mkv_mux_stats *st);

/* Validate a tag name/value against the fragment-metadata rules. Returns
 * NULL when acceptable, else the reason with its KVS status code. Names
 * starting with "AWS" are refused unless allow_aws. */
const char *mkv_tag_check(const char *name, const char *value, bool allow_aws);
#endif
