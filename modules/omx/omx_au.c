/* Access units from OpenMAX IL output buffers; see omx_au.h. */
#include "omx_au.h"

#include <stdlib.h>
#include <string.h>

#include <OMX_Core.h>

#include "h264.h"

static int append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *src,
		  size_t n)
{
	if (*len + n > *cap) {
		size_t want = *cap ? *cap : 4096;

		while (want < *len + n)
			want *= 2;
		uint8_t *p = realloc(*buf, want);
		if (!p)
			return -1;
		*buf = p;
		*cap = want;
	}
	if (n)
		memcpy(*buf + *len, src, n);
	*len += n;
	return 0;
}

static int add_config(struct omx_au *a, const uint8_t *buf, size_t len)
{
	if (a->config_done) {
		a->config_len = 0;
		a->config_done = false;
	}
	return append(&a->config, &a->config_len, &a->config_cap, buf, len);
}

/* Finish the collected picture into a->out, with SPS/PPS in front of an
 * IDR that lacks them. */
static int finish(struct omx_au *a, struct omx_au_frame *frame)
{
	struct h264_au_info info;
	char err[128];

	a->out_len = 0;
	a->config_done = true;
	if (h264_au_info(a->data, a->len, &info, err, sizeof(err)) < 0)
		memset(&info, 0, sizeof(info));
	bool prepend = info.key && !info.has_sps && a->config_len > 0;

	if (prepend && append(&a->out, &a->out_len, &a->out_cap, a->config,
			      a->config_len) < 0)
		return -1;
	if (append(&a->out, &a->out_len, &a->out_cap, a->data, a->len) < 0)
		return -1;
	memset(frame, 0, sizeof(*frame));
	frame->data = a->out;
	frame->size = a->out_len;
	frame->ts_us = a->ts_us;
	frame->key = info.key;
	frame->has_sps = info.has_sps || prepend;
	a->len = 0;
	return 1;
}

int omx_au_add(struct omx_au *a, const uint8_t *buf, size_t len, uint32_t flags,
	       int64_t ts_us, struct omx_au_frame *frame)
{
	if (flags & OMX_BUFFERFLAG_CODECCONFIG) {
		if (add_config(a, buf, len) < 0)
			return -1;
		return 0;
	}
	if (len > 0) {
		if (a->len == 0)
			a->ts_us = ts_us;
		if (append(&a->data, &a->len, &a->cap, buf, len) < 0)
			return -1;
	}
	if (a->len > 0 &&
	    (flags & (OMX_BUFFERFLAG_ENDOFFRAME | OMX_BUFFERFLAG_EOS)))
		return finish(a, frame);
	return 0;
}

size_t omx_au_pending(const struct omx_au *a)
{
	return a->len;
}

void omx_au_drop(struct omx_au *a)
{
	a->len = 0;
}

void omx_au_free(struct omx_au *a)
{
	free(a->config);
	free(a->data);
	free(a->out);
	memset(a, 0, sizeof(*a));
}
