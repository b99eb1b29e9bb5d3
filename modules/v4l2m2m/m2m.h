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
};

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
	bool has_force_key, has_enc_cmd;
	int keyint_frames;
};

/* Open and check that the node is a multi-planar M2M H.264 encoder. */
int m2m_open(struct m2m_dev *d, struct vpipe_node *node,
	     const struct m2m_config *cfg);
/* Set formats, controls and buffers for `in`, start both queues. */
int m2m_configure(struct m2m_dev *d, struct vpipe_node *node,
		  const struct m2m_config *cfg, const struct m2m_input *in);
/* Stop both queues and free the buffers (the fd stays open). */
void m2m_unconfigure(struct m2m_dev *d);
void m2m_close(struct m2m_dev *d);

/* Copy (or convert) a raw picture into OUTPUT buffer i's memory layout. */
int m2m_fill(struct m2m_dev *d, unsigned i, const struct vpipe_format *fmt,
	     const uint8_t *data);

/* The device's OUTPUT layout for fourcc from bytesperline and sizeimage. */
void m2m_layout(uint32_t fourcc, uint32_t width, uint32_t height, uint32_t bpl,
		uint32_t sizeimage, struct vpipe_format *fmt);

#endif
