/* A V4L2 device double, loaded with LD_PRELOAD.
 *
 * No kernel here can host a virtual video device, so this library stands in
 * for one: it intercepts open/close/ioctl/mmap/poll/select/read/stat on the
 * device paths named in the file $VPIPE_V4L2_DOUBLE and answers the real
 * V4L2 ioctls with the semantics of a vb2 driver (see README.md beside this
 * file for the configuration keys).
 *
 * Two kinds of device:
 *   camera   single-planar VIDEO_CAPTURE: raw frames from a pattern stamped
 *            with a frame counter, or H.264 access units read from a file;
 *            paced by the frame interval; a scripted unplug.
 *   encoder  VIDEO_M2M_MPLANE H.264 encoder: raw on OUTPUT, H.264 on
 *            CAPTURE, encoded with libx264 inside.
 *
 * The application gets an eventfd as the device fd: it is readable whenever
 * a buffer can be dequeued or an event is pending, so any waiting mechanism
 * wakes; poll/select are intercepted to report the exact POLLIN/POLLOUT/
 * POLLPRI/POLLERR a driver would.
 */
#ifndef VPIPE_TESTS_V4L2DEV_H
#define VPIPE_TESTS_V4L2DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/videodev2.h>

#define DD_MAX_DEVICES 8
#define DD_MAX_PATHS   4
#define DD_MAX_FORMATS 8
#define DD_MAX_SIZES   8
#define DD_MAX_RATES   8
#define DD_MAX_BUFFERS 32
#define DD_MAX_CTRLS   24
#define DD_MAX_AUS     4096
#define DD_MAJOR       81

enum dd_kind { DD_CAMERA, DD_ENCODER };
enum dd_buf_state { DD_DEQUEUED, DD_QUEUED, DD_DONE };

struct dd_ctrl {
	uint32_t id;
	uint32_t type; /* enum v4l2_ctrl_type */
	const char *name;
	int32_t min, max, step, def, val;
	uint32_t flags;
	const char *const *menu; /* MENU: names, NULL for skipped entries */
};

struct dd_buf {
	uint32_t index;
	enum dd_buf_state state;
	int memfd;    /* MMAP backing; also what EXPBUF duplicates */
	uint8_t *mem; /* the double's own mapping of memfd */
	size_t length;
	int dmabuf_fd;	    /* DMABUF memory: our dup of the app's fd */
	int app_fd;	    /* DMABUF memory: the fd number the app queued */
	uint32_t bytesused; /* OUTPUT: from the app; CAPTURE: filled */
	uint32_t flags;	    /* KEYFRAME/PFRAME/ERROR/LAST as filled */
	uint32_t sequence;
	struct timeval timestamp;
	unsigned mapped; /* number of live mmaps */
};

struct dd_queue {
	uint32_t type; /* buffer type, 0 when unused */
	uint32_t memory;
	unsigned count;
	struct dd_buf bufs[DD_MAX_BUFFERS];
	uint32_t fifo[DD_MAX_BUFFERS]; /* queued, oldest first */
	unsigned nqueued;
	uint32_t done[DD_MAX_BUFFERS]; /* done, oldest first */
	unsigned ndone;
	bool streaming;
	bool last_dequeued; /* CAPTURE of an encoder after the LAST buffer */
	uint32_t sequence;
	struct v4l2_format fmt;
	struct dd_file *owner;
};

struct dd_device;

/* The streaming state: one per camera, one per open file of an encoder. */
struct dd_ctx {
	struct dd_device *dev;
	struct dd_queue
	    cap; /* camera: VIDEO_CAPTURE; encoder: CAPTURE_MPLANE */
	struct dd_queue out; /* encoder only: OUTPUT_MPLANE */
	struct v4l2_fract interval;
	struct dd_ctrl ctrls[DD_MAX_CTRLS];
	unsigned nctrls;
	pthread_t thread;
	bool thread_running, thread_stop;
	pthread_cond_t cond; /* with dd_lock: work for the thread / waiters */
	/* camera */
	uint64_t frames_due; /* frames the sensor produced since STREAMON */
	size_t au_next;	     /* next access unit of the H.264 file */
	bool force_key;
	/* encoder */
	void *x264;	  /* x264_t * */
	bool header_sent; /* repeat-seq-header off: headers went out once */
	bool draining, drained;
	int64_t pts_next;
	struct timeval ts_ring[64];
	unsigned long from_dmabuf, from_mmap; /* pictures encoded, by memory */
	struct dd_file *event_file;	      /* where EOS / SOURCE_CHANGE go */
};

struct dd_au {
	size_t off, len;
	bool key;
};

struct dd_device {
	enum dd_kind kind;
	char paths[DD_MAX_PATHS][256];
	unsigned npaths;
	unsigned minor;
	char driver[16], card[32], bus[32];
	uint32_t formats[DD_MAX_FORMATS];
	unsigned nformats;
	struct {
		uint32_t w, h;
	} sizes[DD_MAX_SIZES];
	unsigned nsizes;
	uint32_t rates[DD_MAX_RATES];
	unsigned nrates;
	/* H.264 source of a camera */
	uint8_t *h264;
	size_t h264_len;
	struct dd_au *aus;
	size_t naus;
	size_t h264_hdr_off, h264_hdr_len; /* SPS+PPS of the first AU */
	/* scripted unplug */
	uint64_t unplug_after; /* frames delivered before ENODEV, 0: never */
	int64_t unplug_for_ns;
	unsigned unplug_times;
	bool no_dmabuf; /* dmabuf = no: no EXPBUF, no DMABUF queues */
	/* state */
	unsigned generation;	/* bumped on every unplug */
	int64_t gone_until;	/* CLOCK_MONOTONIC ns; open fails before it */
	uint64_t delivered;	/* frames delivered since the last (re)plug */
	uint64_t frame_counter; /* pattern counter: every frame ever made */
	struct dd_ctx ctx;	/* camera's one streaming context */
	unsigned opens;
};

struct dd_file {
	int fd; /* the eventfd the application holds */
	struct dd_device *dev;
	unsigned generation;
	struct dd_ctx *ctx;  /* camera: &dev->ctx; encoder: own */
	bool signalled;	     /* eventfd counter is non-zero */
	uint32_t subscribed; /* bit per event type */
	struct v4l2_event events[16];
	unsigned nevents;
	uint32_t event_seq;
	enum v4l2_priority prio;
};

/* One lock for the whole double: devices are few and slow. */
extern pthread_mutex_t dd_lock;
extern struct dd_device dd_devices[DD_MAX_DEVICES];
extern unsigned dd_ndevices;
extern bool dd_trace;

void dd_config_load(void);
struct dd_device *dd_device_by_path(const char *path);
int64_t dd_mono_ns(void);

/* intercept.c: libc's own mmap/munmap */
void *dd_real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		   off_t off);
int dd_real_munmap(void *addr, size_t len);

/* ioctl.c */
int dd_ioctl(struct dd_file *f, unsigned long req, void *arg);
void dd_ctx_init(struct dd_ctx *c, struct dd_device *dev);
void dd_ctx_release(struct dd_ctx *c, struct dd_file *f);
void dd_ctx_reset_queues(struct dd_ctx *c);
int32_t dd_ctrl_value(struct dd_ctx *c, uint32_t id);
bool dd_file_dead(const struct dd_file *f);
short dd_poll_mask(struct dd_file *f);
void dd_signal_update(struct dd_file *f);
void dd_queue_event(struct dd_file *f, uint32_t type, uint32_t changes);
struct dd_buf *dd_buf_by_offset(struct dd_file *f, uint64_t off);
ssize_t dd_read(struct dd_file *f, void *buf, size_t n);

/* camera.c */
void *dd_camera_thread(void *arg);
size_t dd_pattern_fill(uint8_t *dst, size_t cap, const struct v4l2_format *fmt,
		       uint64_t counter);
void dd_unplug(struct dd_device *dev);

/* h264file.c */
int dd_h264_load(struct dd_device *dev, const char *path);

/* encoder.c */
void *dd_encoder_thread(void *arg);
void dd_encoder_close(struct dd_ctx *c);

#endif
