/* The x264 module's encode core, without the kernel: settings, one libx264
 * encoder for one picture size, raw pictures in, Annex-B access units out.
 * The module (x264_node.c) turns these into vpipe frames; the unit tests
 * drive this directly. */
#ifndef VPIPE_X264ENC_H
#define VPIPE_X264ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vpipe/frame.h>

#include "keyint.h"

enum x264enc_rc { X264ENC_RC_CBR, X264ENC_RC_VBR, X264ENC_RC_CRF };

struct x264enc_settings {
	int rc;		  /* enum x264enc_rc */
	int bitrate_kbps; /* cbr, vbr: target */
	double crf;	  /* crf: quality */
	struct keyint keyint;
	int bframes;
	const char *preset;  /* x264 preset name */
	const char *tune;    /* x264 tune name, NULL for none */
	const char *profile; /* baseline, main, high */
	int level_idc;	     /* 0: chosen by x264 */
	int threads;	     /* 0: x264 decides */
};

/* One encoded access unit. `data` stays valid until the next call on the
 * encoder. */
struct x264enc_au {
	const uint8_t *data;
	size_t size;
	int64_t pts, dts; /* as given with the picture, ns */
	bool key;	  /* IDR picture */
	bool has_sps;	  /* carries SPS and PPS */
	void *opaque;	  /* what was passed with the picture */
};

struct x264enc;

/* Open an encoder for pictures of fmt->width x fmt->height at fmt's frame
 * rate. NULL with a message in err when libx264 refuses the settings. */
struct x264enc *x264enc_open(const struct x264enc_settings *s,
			     const struct vpipe_format *fmt, char *err,
			     size_t errlen);
void x264enc_close(struct x264enc *e);

/* The format an encoder was opened for: size, fourcc and rate. */
bool x264enc_same_input(const struct x264enc *e,
			const struct vpipe_format *fmt);

/* Encode one picture whose layout was checked (yuv_check_layout). When
 * force_key is set the picture is coded as an IDR. Returns 1 with *au
 * filled when an access unit came out, 0 when the encoder holds it back
 * (look-ahead, B-frames), -1 on an encoder error. */
int x264enc_encode(struct x264enc *e, const struct vpipe_format *fmt,
		   const uint8_t *data, int64_t pts, bool force_key,
		   void *opaque, struct x264enc_au *au);

/* Take one delayed access unit at end of stream: 1 with *au, 0 when none
 * is left, -1 on error. */
int x264enc_drain(struct x264enc *e, struct x264enc_au *au);

/* Pictures the encoder still holds. */
int x264enc_delayed(const struct x264enc *e);

#endif
