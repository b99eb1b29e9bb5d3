/* vpipe public API: frames.
 *
 * A frame is a refcounted buffer plus metadata. It is writable only by the
 * node that allocated it, until that node pushes it; from then on it is
 * immutable and shared by reference (fan-out is a refcount increment).
 * Frames come from per-node pools: in the steady state allocating a frame
 * does not call malloc.
 */
#ifndef VPIPE_FRAME_H
#define VPIPE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <vpipe/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Media types. Ports declare a mask of the types they accept or produce. */
enum vpipe_media {
	VPIPE_MEDIA_NONE = 0,
	VPIPE_MEDIA_RAW_VIDEO = 1u << 0, /* uncompressed pictures, see fourcc */
	VPIPE_MEDIA_H264 = 1u << 1,	 /* one Annex-B access unit per frame */
	VPIPE_MEDIA_MKV = 1u << 2, /* Matroska bytes (header or cluster data) */
	VPIPE_MEDIA_JPEG = 1u << 3,
	VPIPE_MEDIA_PNG = 1u << 4,
	VPIPE_MEDIA_EVENT = 1u << 5, /* in-band event, see enum vpipe_event */
	VPIPE_MEDIA_H265 = 1u << 6,  /* one Annex-B access unit per frame */
	VPIPE_MEDIA_ANY = 0xffffu,
};

/* Frame flags. */
enum vpipe_frame_flags {
	VPIPE_FLAG_KEY = 1u << 0, /* decodable on its own (IDR) */
	VPIPE_FLAG_CODEC_CONFIG = 1u
				  << 1, /* carries SPS/PPS (or is the header) */
	VPIPE_FLAG_FRAGMENT_START = 1u << 2, /* first frame of a KVS fragment */
	VPIPE_FLAG_HEADER = 1u << 3, /* stream header (e.g. MKV EBML+Tracks) */
	VPIPE_FLAG_EOS = 1u << 4,    /* last frame of the stream */
	VPIPE_FLAG_DISCONTINUITY = 1u
				   << 5, /* frames were lost before this one */
};

/* In-band events travel downstream in order with frames (media EVENT). */
enum vpipe_event {
	VPIPE_EVENT_NONE = 0,
	VPIPE_EVENT_EOS = 1,	       /* no more frames on this link */
	VPIPE_EVENT_DISCONTINUITY = 2, /* upstream lost or restarted */
	VPIPE_EVENT_CUSTOM = 100,      /* module-defined, see tags */
};

/* Out-of-band events travel upstream (see vpipe_node_send_upstream). */
enum vpipe_upstream_event {
	VPIPE_UPSTREAM_KEYFRAME_REQUEST = 1,
};

/* A timestamp that is not known. */
#define VPIPE_TIME_NONE INT64_MIN

/* Four-character codes for raw formats. */
#define VPIPE_FOURCC(a, b, c, d)                                               \
	((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) |        \
	 ((uint32_t)(d) << 24))
#define VPIPE_FOURCC_I420 VPIPE_FOURCC('Y', 'U', '1', '2')
#define VPIPE_FOURCC_NV12 VPIPE_FOURCC('N', 'V', '1', '2')
#define VPIPE_FOURCC_YUYV VPIPE_FOURCC('Y', 'U', 'Y', 'V')
#define VPIPE_FOURCC_MJPG VPIPE_FOURCC('M', 'J', 'P', 'G')
#define VPIPE_FOURCC_H264 VPIPE_FOURCC('H', '2', '6', '4')
#define VPIPE_FOURCC_H265 VPIPE_FOURCC('H', '2', '6', '5')

#define VPIPE_MAX_PLANES 4

struct vpipe_format {
	uint32_t fourcc; /* raw: pixel format; compressed: codec */
	uint32_t width, height;
	uint32_t num_planes;
	uint32_t stride[VPIPE_MAX_PLANES]; /* bytes per row of each plane */
	uint32_t offset[VPIPE_MAX_PLANES]; /* plane start within data */
	uint32_t fps_num, fps_den;	   /* nominal rate, 0 if unknown */
};

/* Key/value tags: become Matroska tags, S3 metadata, notification payloads. */
#define VPIPE_MAX_TAGS 16

struct vpipe_tag {
	const char *name;
	const char *value;
};

struct vpipe_frame_priv; /* kernel-owned bookkeeping */

struct vpipe_frame {
	uint32_t media; /* enum vpipe_media, exactly one bit */
	uint32_t flags; /* enum vpipe_frame_flags */
	uint32_t event; /* enum vpipe_event when media == EVENT */
	uint32_t reserved0;

	int64_t pts, dts, duration; /* ns on the pipeline clock */
	int64_t wallclock;	    /* capture time, ns since the Unix epoch */
	uint64_t seq;		    /* sequence number, set when first pushed */

	struct vpipe_format fmt;

	uint8_t *data; /* payload */
	size_t size;   /* bytes used */
	size_t capacity;

	unsigned num_tags;
	struct vpipe_tag tags[VPIPE_MAX_TAGS];

	uint64_t reserved[8];
	struct vpipe_frame_priv *priv;
};

struct vpipe_node;

/* Allocate a writable frame with room for `size` payload bytes from the
 * node's pool. Blocks while the pool is exhausted (frames still held
 * downstream) and returns NULL only when the node is being stopped. */
VPIPE_API struct vpipe_frame *vpipe_frame_alloc(struct vpipe_node *node,
						size_t size);

/* Like vpipe_frame_alloc but never blocks: NULL when the pool is empty. */
VPIPE_API struct vpipe_frame *vpipe_frame_try_alloc(struct vpipe_node *node,
						    size_t size);

/* Make room for `size` bytes in a frame not yet pushed (keeps content). */
VPIPE_API int vpipe_frame_reserve(struct vpipe_frame *f, size_t size);

/* Wrap memory the module owns (e.g. a mapped device buffer) without a copy.
 * `release(opaque)` runs, on any thread, when the last reference goes. */
VPIPE_API struct vpipe_frame *vpipe_frame_wrap(struct vpipe_node *node,
					       uint8_t *data, size_t size,
					       void (*release)(void *opaque),
					       void *opaque);

/* Take a reference. Accepts the const frames process() receives, so a
 * module can pass a frame on (vpipe_push) or keep it without a copy; the
 * payload and metadata of a pushed frame must not be modified. */
VPIPE_API struct vpipe_frame *vpipe_frame_ref(const struct vpipe_frame *f);
VPIPE_API void vpipe_frame_unref(struct vpipe_frame *f);

/* A frame whose payload also lives in a DMABUF (a V4L2 buffer exported
 * with VIDIOC_EXPBUF) says so, so a consumer that can import it (a V4L2
 * M2M encoder) skips the copy. The fd stays owned by the frame's producer
 * and valid while the frame is referenced. Set before pushing. */
VPIPE_API void vpipe_frame_set_dmabuf(struct vpipe_frame *f, int fd,
				      uint32_t offset);
/* The DMABUF fd (and the payload's offset in it), or -1 if none. */
VPIPE_API int vpipe_frame_dmabuf(const struct vpipe_frame *f, uint32_t *offset);

/* Copy metadata (not payload, not tags) from src to dst. */
VPIPE_API void vpipe_frame_copy_meta(struct vpipe_frame *dst,
				     const struct vpipe_frame *src);

/* Tags. Strings are copied into frame-owned storage. Returns 0, or -1 when
 * the frame already holds VPIPE_MAX_TAGS tags. Setting an existing name
 * replaces its value. */
VPIPE_API int vpipe_frame_set_tag(struct vpipe_frame *f, const char *name,
				  const char *value);
VPIPE_API const char *vpipe_frame_get_tag(const struct vpipe_frame *f,
					  const char *name);
/* Copy every tag of src onto dst. */
VPIPE_API int vpipe_frame_copy_tags(struct vpipe_frame *dst,
				    const struct vpipe_frame *src);

/* Fill fmt planes for a raw format: returns the frame size in bytes, 0 for
 * an unknown fourcc. */
VPIPE_API size_t vpipe_format_raw_init(struct vpipe_format *fmt,
				       uint32_t fourcc, uint32_t width,
				       uint32_t height);

/* "i420", "nv12", "yuyv", "mjpeg", "h264"; "????" otherwise. */
VPIPE_API const char *vpipe_fourcc_name(uint32_t fourcc);
VPIPE_API const char *vpipe_media_name(uint32_t media);

#ifdef __cplusplus
}
#endif
#endif
