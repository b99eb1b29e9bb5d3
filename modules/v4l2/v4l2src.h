/* v4l2 module internals: the capture device (device.c), the mapped buffer
 * set whose frames go downstream without a copy (bufset.c), and the node
 * (v4l2src.c). */
#ifndef VPIPE_MODULES_V4L2SRC_H
#define VPIPE_MODULES_V4L2SRC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vpipe/vpipe.h>

#define V4L2SRC_MAX_BUFFERS 32

struct v4l2src_config {
	const char *device;
	int format; /* index into v4l2src_formats */
	int64_t width, height;
	double framerate;
	int64_t buffers;
	int64_t bitrate; /* kbit/s, 0: the device's */
	int64_t keyint;	 /* frames, 0: the device's */
	bool inline_headers;
	int profile;
	int64_t frame_timeout;		      /* ns */
	int64_t retry_delay, retry_max_delay; /* ns: reopening */
	int export_dmabuf; /* index into v4l2src_export_modes */
};

/* export-dmabuf: "auto" exports raw buffers with VIDIOC_EXPBUF when the
 * driver can, "off" never does. */
enum { V4L2SRC_EXPORT_AUTO, V4L2SRC_EXPORT_OFF };

extern const char *const v4l2src_formats[];
extern const char *const v4l2src_export_modes[];
uint32_t v4l2src_fourcc(int format_index);

/* ------------------------------------------------------------ bufset */

/* The device buffers of one streaming session. Frames wrap the mapped
 * memory; their release callback (any thread) hands the index back to the
 * node thread for VIDIOC_QBUF. When the session ends (stop, unplug) while
 * frames are still downstream, the set lives on until the last one comes
 * back, then unmaps. */
struct bufset;

struct bufset_buf {
	struct bufset *set;
	uint8_t *mem;
	size_t length;
	uint32_t index;
	int dmabuf_fd; /* VIDIOC_EXPBUF of this buffer, -1 if not exported */
};

struct bufset {
	pthread_mutex_t mu;
	int refs; /* 1 for the session + one per frame downstream */
	bool live;
	struct vpipe_node *node; /* woken when a buffer comes back */
	unsigned count;
	struct bufset_buf bufs[V4L2SRC_MAX_BUFFERS];
	uint32_t returned[V4L2SRC_MAX_BUFFERS];
	unsigned nreturned;
	/* munmap, close and vpipe_node_wake; unit tests put counters here */
	void (*unmap)(void *mem, size_t len);
	void (*close_fd)(int fd);
	void (*wake)(struct vpipe_node *node);
};

struct bufset *bufset_new(struct vpipe_node *node, unsigned count);
/* A frame wrapping buffer i goes downstream: the set gains a reference. */
void bufset_lend(struct bufset *s, uint32_t index);
/* The release callback for frames made with vpipe_frame_wrap. */
void bufset_release(void *opaque);
/* Node thread: take the indices returned since the last call. */
unsigned bufset_take_returned(struct bufset *s, uint32_t *out);
/* Node thread: the session ends; unmaps (and closes the exported DMABUF
 * fds) now or when the last frame returns, so a frame downstream can still
 * be imported by its fd. */
void bufset_end(struct bufset *s);

/* ------------------------------------------------------------ device */

struct v4l2dev {
	int fd;
	char card[40], driver[24];
	uint32_t fourcc;
	uint32_t width, height, bytesperline, sizeimage;
	uint32_t fps_num, fps_den;
	struct bufset *set;
	unsigned exported; /* buffers with a DMABUF fd */
	bool has_force_key;
	bool mono_timestamps;
};

/* Open, check capabilities, negotiate, set the H.264 controls, map and
 * queue the buffers, start streaming. On failure logs the reason (with what
 * the device offers) and returns -1 with the device closed; `quiet` logs
 * the open failure at debug level (reopen attempts). */
int v4l2dev_open(struct v4l2dev *d, struct vpipe_node *node,
		 const struct v4l2src_config *cfg, bool quiet);
/* Stop streaming, hand the buffers to bufset_end, close. */
void v4l2dev_close(struct v4l2dev *d);
/* Queue buffer `index` again: 0 or -errno. */
int v4l2dev_queue(struct v4l2dev *d, uint32_t index);

/* The plane layout of a raw picture with the driver's bytesperline. */
size_t v4l2src_raw_layout(struct vpipe_format *fmt, uint32_t fourcc,
			  uint32_t width, uint32_t height, uint32_t bpl);

#endif
