/* v4l2m2m internals: the memory-to-memory encoder device (m2mdev.c) and
 * the node around it (v4l2m2m.c). */
#ifndef VPIPE_MODULES_V4L2M2M_H
#define VPIPE_MODULES_V4L2M2M_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vpipe/vpipe.h>

#include "keyint.h"

#define M2M_MAX_BUFFERS 16

struct m2m_config {
	const char *device;
	int64_t bitrate; /* kbit/s */
	int rate_control;
	const char *keyint;
	int profile;
	int level;
	bool inline_headers;
	int64_t output_buffers, capture_buffers;
	int64_t capture_size; /* bytes per CAPTURE buffer, 0: the driver's */
	int64_t timeout;      /* ns without progress: the encoder is stuck */
	int input_memory;     /* enum m2m_memory */
};

/* input-memory: how pictures reach the OUTPUT queue. */
enum m2m_memory {
	M2M_MEM_AUTO,	/* import the input's DMABUF when it fits, else copy */
	M2M_MEM_MMAP,	/* always copy into MMAP buffers */
	M2M_MEM_DMABUF, /* import, or fail */
};
extern const char *const m2m_memory_names[];

struct m2m_plane_buf {
	uint8_t *mem;
	size_t length;
};

/* What the encoder was configured for; a change in the input reconfigures. */
struct m2m_input {
	uint32_t fourcc; /* of the frames arriving */
	uint32_t width, height;
	uint32_t fps_num, fps_den;
};

struct m2m_dev {
	int fd;
	char card[40], driver[24];
	bool streaming;
	struct m2m_input in;
	uint32_t dev_fourcc;   /* OUTPUT pixel format */
	uint32_t bytesperline; /* OUTPUT */
	uint32_t plane_height; /* rows before the chroma (padded) */
	uint32_t sizeimage;    /* OUTPUT */
	struct m2m_plane_buf out[M2M_MAX_BUFFERS], cap[M2M_MAX_BUFFERS];
	unsigned nout, ncap;
	bool out_free[M2M_MAX_BUFFERS];
	/* OUTPUT in V4L2_MEMORY_DMABUF: each queued buffer holds its input
	 * frame (whose producer owns the fd) until it is dequeued. */
	bool out_dmabuf;
	struct vpipe_frame *out_frame[M2M_MAX_BUFFERS];
	int out_last_fd[M2M_MAX_BUFFERS]; /* fd last queued on each index */
	bool has_force_key, has_enc_cmd;
	int keyint_frames;
};

/* Open and check that the node is a multi-planar M2M H.264 encoder. */
int m2m_open(struct m2m_dev *d, struct vpipe_node *node,
	     const struct m2m_config *cfg);
/* Set formats, controls and buffers for `in`, start both queues. The
 * OUTPUT memory follows cfg->input_memory, decided on `first` (the frame
 * that triggers the configuration, laid out as `first_fmt`); `no_import`
 * forces copies. */
int m2m_configure(struct m2m_dev *d, struct vpipe_node *node,
		  const struct m2m_config *cfg, const struct m2m_input *in,
		  const struct vpipe_frame *first,
		  const struct vpipe_format *first_fmt, bool no_import);
/* Stop both queues, free the buffers and drop the frames the OUTPUT queue
 * held (the fd stays open). */
void m2m_unconfigure(struct m2m_dev *d);
void m2m_close(struct m2m_dev *d);

/* Copy (or convert) a raw picture into OUTPUT buffer i's memory layout. */
int m2m_fill(struct m2m_dev *d, unsigned i, const struct vpipe_format *fmt,
	     const uint8_t *data);

/* Can the encoder, as configured, read a picture laid out as `fmt` straight
 * from DMABUF `fd` (payload at `offset`)? 0 with the buffer's size in
 * *size, or -1 with the reason in `why`. */
int m2m_import_check(const struct m2m_dev *d, const struct vpipe_format *fmt,
		     int fd, uint32_t offset, size_t *size, char *why,
		     size_t whylen);

/* The device's OUTPUT layout for fourcc from bytesperline and sizeimage. */
void m2m_layout(uint32_t fourcc, uint32_t width, uint32_t height, uint32_t bpl,
		uint32_t sizeimage, struct vpipe_format *fmt);

#endif
