/* H.264 and H.265 key frames to pictures with libavcodec (see decode.h). */
#include "decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/log.h>

#include "h264.h"
#include "h265.h"

#define MAX_PARAM_SETS_BYTES 4096

struct key_decoder {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *frame;
	/* The newest SPS and PPS NAL units, each with a 4-byte start code. */
	uint8_t sps[MAX_PARAM_SETS_BYTES], pps[MAX_PARAM_SETS_BYTES];
	size_t sps_len, pps_len;
	bool hevc;			   /* H.265: also a VPS */
	uint8_t vps[MAX_PARAM_SETS_BYTES]; /* H.265 only */
	size_t vps_len;
	uint8_t *buf; /* parameter sets + access unit + padding */
	size_t buf_cap;
};

/* What a NAL unit is to the key-frame decoder, in either codec. */
enum nal_role {
	ROLE_OTHER,
	ROLE_VPS,
	ROLE_SPS,
	ROLE_PPS,
	ROLE_KEY,
	ROLE_SLICE
};

static enum nal_role nal_role(const struct key_decoder *d, const uint8_t *au,
			      const struct h264_nal *nal)
{
	unsigned t = nal->type;
	if (!d->hevc)
		return t == H264_NAL_SPS    ? ROLE_SPS
		       : t == H264_NAL_PPS  ? ROLE_PPS
		       : t == H264_NAL_IDR  ? ROLE_KEY
		       : h264_nal_is_vcl(t) ? ROLE_SLICE
					    : ROLE_OTHER;
	if (nal->size < 2)
		return ROLE_OTHER;
	t = h265_nal_type(au + nal->offset);
	return t == H265_NAL_VPS     ? ROLE_VPS
	       : t == H265_NAL_SPS   ? ROLE_SPS
	       : t == H265_NAL_PPS   ? ROLE_PPS
	       : h265_nal_is_irap(t) ? ROLE_KEY
	       : h265_nal_is_vcl(t)  ? ROLE_SLICE
				     : ROLE_OTHER;
}

bool key_decoder_is_hevc(const struct key_decoder *d)
{
	return d->hevc;
}

struct key_decoder *key_decoder_new(bool hevc, char *err, size_t errlen)
{
	const AVCodec *codec =
	    avcodec_find_decoder(hevc ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264);
	if (!codec) {
		snprintf(err, errlen, "libavcodec has no %s decoder",
			 hevc ? "H.265" : "H.264");
		return NULL;
	}
	/* The decoder's own messages would go to stderr unprefixed; its
	 * failures come back as return codes and are logged by the node. */
	av_log_set_level(AV_LOG_FATAL);
	struct key_decoder *d = calloc(1, sizeof(*d));
	if (!d)
		goto oom;
	d->hevc = hevc;
	d->ctx = avcodec_alloc_context3(codec);
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
	if (!d->ctx || !d->pkt || !d->frame)
		goto oom;
	/* One picture now and then: no decoder threads on a small box. */
	d->ctx->thread_count = 1;
	if (avcodec_open2(d->ctx, codec, NULL) < 0) {
		snprintf(err, errlen, "cannot open the H.264 decoder");
		key_decoder_free(d);
		return NULL;
	}
	return d;
oom:
	snprintf(err, errlen, "out of memory for the H.264 decoder");
	key_decoder_free(d);
	return NULL;
}

void key_decoder_free(struct key_decoder *d)
{
	if (!d)
		return;
	avcodec_free_context(&d->ctx);
	av_packet_free(&d->pkt);
	av_frame_free(&d->frame);
	free(d->buf);
	free(d);
}

static void keep(uint8_t *dst, size_t *dst_len, const uint8_t *nal, size_t size)
{
	if (size + 4 > MAX_PARAM_SETS_BYTES)
		return;
	static const uint8_t start[4] = {0, 0, 0, 1};
	memcpy(dst, start, 4);
	memcpy(dst + 4, nal, size);
	*dst_len = size + 4;
}

bool key_decoder_inspect(struct key_decoder *d, const uint8_t *au, size_t len)
{
	size_t pos = 0;
	struct h264_nal nal;
	bool key = false;
	while (h264_next_nal(au, len, &pos, &nal, NULL)) {
		enum nal_role role = nal_role(d, au, &nal);
		if (role == ROLE_VPS)
			keep(d->vps, &d->vps_len, au + nal.offset, nal.size);
		else if (role == ROLE_SPS)
			keep(d->sps, &d->sps_len, au + nal.offset, nal.size);
		else if (role == ROLE_PPS)
			keep(d->pps, &d->pps_len, au + nal.offset, nal.size);
		key = role == ROLE_KEY;
		if (role == ROLE_KEY || role == ROLE_SLICE)
			break; /* parameter sets come before the slices */
	}
	return key;
}

static bool has_param_sets(const struct key_decoder *d, const uint8_t *au,
			   size_t len)
{
	size_t pos = 0;
	struct h264_nal nal;
	bool vps = !d->hevc, sps = false, pps = false;
	while (h264_next_nal(au, len, &pos, &nal, NULL)) {
		enum nal_role role = nal_role(d, au, &nal);
		if (role == ROLE_KEY || role == ROLE_SLICE)
			break;
		vps |= role == ROLE_VPS;
		sps |= role == ROLE_SPS;
		pps |= role == ROLE_PPS;
	}
	return vps && sps && pps;
}

static int av_fail(int rc, const char *what, char *err, size_t errlen)
{
	char msg[AV_ERROR_MAX_STRING_SIZE];
	av_strerror(rc, msg, sizeof(msg));
	snprintf(err, errlen, "decoder: %s: %s", what, msg);
	return -1;
}

int key_decoder_decode(struct key_decoder *d, const uint8_t *au, size_t len,
		       struct pic_src *src, char *err, size_t errlen)
{
	size_t pre = 0;
	if (!has_param_sets(d, au, len)) {
		if (!d->sps_len || !d->pps_len || (d->hevc && !d->vps_len)) {
			snprintf(err, errlen,
				 "key frame without %s and none seen before",
				 d->hevc ? "VPS/SPS/PPS" : "SPS/PPS");
			return -1;
		}
		pre = d->vps_len + d->sps_len + d->pps_len;
	}
	size_t need = pre + len + AV_INPUT_BUFFER_PADDING_SIZE;
	if (need > d->buf_cap) {
		uint8_t *p = realloc(d->buf, need);
		if (!p) {
			snprintf(err, errlen, "out of memory (%zu bytes)",
				 need);
			return -1;
		}
		d->buf = p;
		d->buf_cap = need;
	}
	if (pre) {
		memcpy(d->buf, d->vps, d->vps_len); /* 0 bytes for H.264 */
		memcpy(d->buf + d->vps_len, d->sps, d->sps_len);
		memcpy(d->buf + d->vps_len + d->sps_len, d->pps, d->pps_len);
	}
	memcpy(d->buf + pre, au, len);
	memset(d->buf + pre + len, 0, AV_INPUT_BUFFER_PADDING_SIZE);

	/* Each key frame alone: forget the previous one, decode, drain. */
	avcodec_flush_buffers(d->ctx);
	av_frame_unref(d->frame);
	d->pkt->data = d->buf;
	d->pkt->size = (int)(pre + len);
	d->pkt->flags = AV_PKT_FLAG_KEY;
	int rc = avcodec_send_packet(d->ctx, d->pkt);
	av_packet_unref(d->pkt);
	if (rc < 0)
		return av_fail(rc, "send", err, errlen);
	rc = avcodec_send_packet(d->ctx, NULL);
	if (rc < 0 && rc != AVERROR_EOF)
		return av_fail(rc, "drain", err, errlen);
	rc = avcodec_receive_frame(d->ctx, d->frame);
	avcodec_flush_buffers(d->ctx);
	if (rc < 0)
		return av_fail(rc, "no picture", err, errlen);
	if (d->frame->decode_error_flags) {
		snprintf(err, errlen, "decoder: corrupt key frame");
		return -1;
	}
	memset(src, 0, sizeof(*src));
	src->av_format = d->frame->format;
	src->width = d->frame->width;
	src->height = d->frame->height;
	src->full_range = d->frame->color_range == AVCOL_RANGE_JPEG;
	for (int i = 0; i < 4; i++) {
		src->plane[i] = d->frame->data[i];
		src->stride[i] = d->frame->linesize[i];
	}
	return 0;
}
