/* Key-frame decoding for the `image` module when only H.264 exists (an
 * RTSP camera, a hardware encoder's output): each wanted IDR access unit is
 * decoded on its own with libavcodec, with the last SPS/PPS seen put in
 * front when the access unit does not carry them (cameras that send them
 * only in the SDP or once at the start). */
#ifndef VPIPE_MODULES_IMAGE_DECODE_H
#define VPIPE_MODULES_IMAGE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "picture.h"

struct key_decoder;

/* hevc: H.265 (IRAP key frames, VPS/SPS/PPS) instead of H.264. */
struct key_decoder *key_decoder_new(bool hevc, char *err, size_t errlen);
bool key_decoder_is_hevc(const struct key_decoder *d);
void key_decoder_free(struct key_decoder *d);

/* Look at every access unit: remembers its SPS/PPS when it has them.
 * Returns true when the access unit is a key frame (holds an IDR slice). */
bool key_decoder_inspect(struct key_decoder *d, const uint8_t *au, size_t len);

/* Decode a key-frame access unit. On success src describes the picture,
 * valid until the next call. 0, or -1 with err. */
int key_decoder_decode(struct key_decoder *d, const uint8_t *au, size_t len,
		       struct pic_src *src, char *err, size_t errlen);
#endif
