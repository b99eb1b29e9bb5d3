/* A C view of one libcamera camera (lc_cam.cc), so the module itself stays
 * C. Thread rules: everything but lc_cam_release_slot runs on the node
 * thread; lc_cam_release_slot may run on any thread (frame release). */
#ifndef VPIPE_LC_CAM_H
#define VPIPE_LC_CAM_H

#include <stddef.h>
#include <stdint.h>

#include "lc_controls.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lc_cam;

struct lc_cam_config {
	int index;	/* used when id is NULL */
	const char *id; /* libcamera camera id, or NULL */
	unsigned width, height;
	int nv12;		   /* 1: NV12, 0: YUV420 (I420) */
	int64_t frame_duration_ns; /* 0: the camera's default */
	unsigned buffers;
	int rotate180;	  /* turn the picture by 180 degrees */
	int hflip, vflip; /* mirror left-right, upside-down (after rotate) */
	const struct lc_controls_config *controls; /* set at start */
	const struct lc_sensor_mode *mode; /* NULL: the pipeline's choice */
	const char *tuning_file;	   /* NULL: the camera's default */
};

struct lc_cam_format {
	unsigned width, height, stride;
	size_t frame_size;	  /* bytes of all planes */
	unsigned plane_offset[3]; /* from the buffers' own plane offsets */
	unsigned num_planes;
};

struct lc_frame {
	void *slot;	   /* hand back with lc_cam_release_slot */
	uint8_t *data;	   /* all planes, contiguous; NULL if not mapped so */
	uint8_t *plane[3]; /* each plane's mapping */
	size_t size;
	int dmabuf_fd; /* the buffer's DMABUF when data is in one, or -1 */
	unsigned dmabuf_offset; /* where data starts in it */
	uint64_t timestamp;	/* ns, CLOCK_MONOTONIC; 0 if unknown */
	unsigned sequence;
	int ok; /* 0: the camera reported an error/cancel */
};

/* Open, configure and start. Returns 0, or -1 with the reason in err
 * (no camera, camera busy, format refused, ...). */
int lc_cam_open(const struct lc_cam_config *cfg, struct lc_cam **out,
		struct lc_cam_format *fmt, char *err, size_t err_size);
/* Readable (POLLIN) when completed frames wait; read it empty. */
int lc_cam_fd(struct lc_cam *c);
/* 1: *f is the next completed frame; 0: none waiting. */
int lc_cam_next(struct lc_cam *c, struct lc_frame *f);
/* Give a frame's buffer back: it is queued again if the camera still
 * runs. Any thread. */
void lc_cam_release_slot(void *slot);
/* Stop and drop the owner's reference; buffers still held by frames stay
 * mapped until their release. */
void lc_cam_close(struct lc_cam *c);
/* The libcamera version the module runs with ("0.0.3"). */
const char *lc_cam_version(void);
/* `vpipe probe --libcamera` (lc_probe.cc): the descriptor's probe(). */
int lc_probe_cameras(void);
/* The libcamera version the module was compiled against. */
const char *lc_cam_build_version(void);

#ifdef __cplusplus
}
#endif
#endif
