/* Access units from OpenMAX IL output buffers.
 *
 * An IL encoder hands out H.264 in buffers that need not match pictures:
 * codec configuration (SPS, PPS) in buffers flagged OMX_BUFFERFLAG_CODECCONFIG,
 * usually once at the start, and a picture split across as many buffers as
 * it needs, the last flagged OMX_BUFFERFLAG_ENDOFFRAME. This collects them
 * into one Annex-B access unit per picture and puts the latest SPS/PPS in
 * front of every IDR that does not carry its own, so any fragment decodes
 * on its own. Node-thread only; no OMX calls.
 */
#ifndef VPIPE_OMX_AU_H
#define VPIPE_OMX_AU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct omx_au {
	uint8_t *config; /* latest SPS/PPS, Annex-B */
	size_t config_len, config_cap;
	bool config_done; /* a picture came since: the next config replaces */
	uint8_t *data;	  /* the picture being collected */
	size_t len, cap;
	int64_t ts_us; /* timestamp of its first buffer */
	uint8_t *out;  /* the finished access unit */
	size_t out_len, out_cap;
};

/* A finished access unit (valid until the next omx_au_add). */
struct omx_au_frame {
	const uint8_t *data;
	size_t size;
	int64_t ts_us;
	bool key;     /* IDR */
	bool has_sps; /* carries SPS and PPS */
};

/* Add one output buffer's bytes with its nFlags and timestamp (us).
 * Returns 1 with *frame filled when a picture is complete, 0 when more is
 * needed, -1 when out of memory. A buffer flagged OMX_BUFFERFLAG_EOS ends a
 * picture in progress too. */
int omx_au_add(struct omx_au *a, const uint8_t *buf, size_t len, uint32_t flags,
	       int64_t ts_us, struct omx_au_frame *frame);

/* Bytes of a picture still in progress. */
size_t omx_au_pending(const struct omx_au *a);

/* Forget a picture in progress (keeps the codec configuration). */
void omx_au_drop(struct omx_au *a);

void omx_au_free(struct omx_au *a);

#endif
