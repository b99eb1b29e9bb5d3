/* Matroska (a stream header and its Clusters, in memory) to MP4 with
 * libavformat: the pictures are copied, not decoded. GetClip takes a whole
 * MP4 (moov after the samples); HLS takes a fragmented MP4 cut into its
 * init part (ftyp, moov) and its media part (moof, mdat), whose tfdt is set
 * from the Matroska timestamps so that fragments made one by one follow
 * each other on one timeline. */
#include "kvs_local.h"

#include <string.h>

#ifdef KL_HAVE_AVFORMAT
#include <libavformat/avformat.h>
#include <libavutil/error.h>

/* A growable byte buffer read or written at pos (AVIO callbacks). */
struct mem_io {
	uint8_t *data;
	size_t len, cap, pos;
	bool failed;
};

static int mem_read(void *opaque, uint8_t *buf, int n)
{
	struct mem_io *m = opaque;
	if (m->pos >= m->len) /* a seek may go past the end */
		return AVERROR_EOF;
	size_t left = m->len - m->pos;
	size_t k = (size_t)n < left ? (size_t)n : left;
	memcpy(buf, m->data + m->pos, k);
	m->pos += k;
	return (int)k;
}

/* (libavformat 59 passes a non-const buffer) */
static int mem_write(void *opaque, uint8_t *buf, int n)
{
	struct mem_io *m = opaque;
	size_t end = m->pos + (size_t)n;
	if (end > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		while (cap < end)
			cap *= 2;
		uint8_t *p = realloc(m->data, cap);
		if (!p) {
			m->failed = true;
			return AVERROR(ENOMEM);
		}
		m->data = p;
		m->cap = cap;
	}
	if (m->pos > m->len) /* written after a seek past the end */
		memset(m->data + m->len, 0, m->pos - m->len);
	memcpy(m->data + m->pos, buf, (size_t)n);
	m->pos = end;
	if (end > m->len)
		m->len = end;
	return n;
}

static int64_t mem_seek(void *opaque, int64_t off, int whence)
{
	struct mem_io *m = opaque;
	whence &= ~AVSEEK_FORCE;
	if (whence == AVSEEK_SIZE)
		return (int64_t)m->len;
	int64_t base = whence == SEEK_CUR   ? (int64_t)m->pos
		       : whence == SEEK_END ? (int64_t)m->len
					    : 0;
	int64_t to = base + off;
	if (to < 0)
		return AVERROR(EINVAL);
	m->pos = (size_t)to;
	return to;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* The boxes of [p, p+n): calls fn for each; false if they do not tile. */
static size_t next_box(const uint8_t *p, size_t n, size_t off, const char *type,
		       size_t *size)
{
	while (off + 8 <= n) {
		size_t s = be32(p + off);
		if (s < 8 || off + s > n)
			return n;
		if (!memcmp(p + off + 4, type, 4)) {
			*size = s;
			return off;
		}
		off += s;
	}
	return n;
}

/* Every moof/traf/tfdt of the media part gets base_ms (Matroska ms) in
 * the track's timescale plus what the muxer wrote (its time from the first
 * packet). Writes version-1 (64-bit) tfdt only: the muxer writes those
 * when default_base_moof is set. */
static void shift_tfdt(uint8_t *p, size_t n, int64_t base_ms,
		       uint32_t timescale)
{
	size_t off = 0, size;
	while ((off = next_box(p, n, off, "moof", &size)) < n) {
		size_t toff = off + 8, tsize;
		while ((toff = next_box(p, off + size, toff, "traf", &tsize)) <
		       off + size) {
			size_t d, dsize;
			d = next_box(p, toff + tsize, toff + 8, "tfdt", &dsize);
			if (d < toff + tsize && dsize >= 20 && p[d + 8] == 1) {
				uint64_t v = 0;
				for (int i = 0; i < 8; i++)
					v = v << 8 | p[d + 12 + i];
				v += (uint64_t)base_ms * timescale / 1000;
				put_be64(p + d + 12, v);
			}
			toff += tsize;
		}
		off += size;
	}
}

/* The first track's timescale from the moov's mdhd (0 if not found). */
static uint32_t mdhd_timescale(const uint8_t *p, size_t n)
{
	for (size_t i = 4; i + 24 <= n; i++)
		if (!memcmp(p + i, "mdhd", 4))
			return be32(p + i + 4 + 4 + (p[i + 4] == 1 ? 16 : 8));
	return 0;
}

static void set_err(char *err, size_t errn, const char *what, int e)
{
	char msg[AV_ERROR_MAX_STRING_SIZE];
	av_strerror(e, msg, sizeof msg);
	snprintf(err, errn, "%s: %s", what, msg);
}

int kl_mp4_remux(const void *mkv, size_t mkv_len, bool fragmented,
		 struct kl_mp4 *out, char *err, size_t errn)
{
	struct mem_io in = {.data = (uint8_t *)mkv, .len = mkv_len};
	struct mem_io mo = {0};
	AVFormatContext *ic = NULL, *oc = NULL;
	AVIOContext *iio = NULL, *oio = NULL;
	AVPacket *pkt = av_packet_alloc();
	int e = AVERROR(ENOMEM);
	int64_t first_ms = AV_NOPTS_VALUE;
	memset(out, 0, sizeof *out);
	uint8_t *ibuf = av_malloc(65536), *obuf = av_malloc(65536);
	if (!pkt || !ibuf || !obuf)
		goto fail;
	iio = avio_alloc_context(ibuf, 65536, 0, &in, mem_read, NULL, mem_seek);
	if (!iio)
		goto fail;
	ibuf = NULL;
	ic = avformat_alloc_context();
	if (!ic)
		goto fail;
	ic->pb = iio;
	const AVInputFormat *mkv_fmt = av_find_input_format("matroska");
	if ((e = avformat_open_input(&ic, NULL, mkv_fmt, NULL)) < 0) {
		set_err(err, errn, "reading the stored Matroska", e);
		goto out;
	}
	if ((e = avformat_find_stream_info(ic, NULL)) < 0) {
		set_err(err, errn, "reading the stored Matroska", e);
		goto out;
	}
	avformat_alloc_output_context2(&oc, NULL, "mp4", NULL);
	if (!oc)
		goto fail;
	int *map = av_calloc(ic->nb_streams, sizeof *map);
	if (!map)
		goto fail;
	for (unsigned i = 0; i < ic->nb_streams; i++) {
		const AVCodecParameters *cp = ic->streams[i]->codecpar;
		map[i] = -1;
		if (cp->codec_type != AVMEDIA_TYPE_VIDEO &&
		    cp->codec_type != AVMEDIA_TYPE_AUDIO)
			continue;
		AVStream *os = avformat_new_stream(oc, NULL);
		if (!os || avcodec_parameters_copy(os->codecpar, cp) < 0) {
			av_free(map);
			goto fail;
		}
		os->codecpar->codec_tag = 0;
		os->time_base = ic->streams[i]->time_base;
		map[i] = os->index;
	}
	oio =
	    avio_alloc_context(obuf, 65536, 1, &mo, NULL, mem_write, mem_seek);
	if (!oio) {
		av_free(map);
		goto fail;
	}
	obuf = NULL;
	oc->pb = oio;
	AVDictionary *opts = NULL;
	if (fragmented)
		av_dict_set(&opts, "movflags",
			    "empty_moov+default_base_moof+frag_keyframe", 0);
	e = avformat_write_header(oc, &opts);
	av_dict_free(&opts);
	if (e < 0) {
		av_free(map);
		set_err(err, errn, "starting the MP4", e);
		goto out;
	}
	if (fragmented) {
		avio_flush(oio);
		out->init_len = mo.len;
	}
	while ((e = av_read_frame(ic, pkt)) >= 0) {
		int to = map[pkt->stream_index];
		if (to < 0) {
			av_packet_unref(pkt);
			continue;
		}
		AVStream *is = ic->streams[pkt->stream_index];
		if (first_ms == AV_NOPTS_VALUE && pkt->dts != AV_NOPTS_VALUE)
			first_ms = av_rescale_q(pkt->dts, is->time_base,
						(AVRational){1, 1000});
		av_packet_rescale_ts(pkt, is->time_base,
				     oc->streams[to]->time_base);
		pkt->stream_index = to;
		pkt->pos = -1;
		out->samples++;
		if ((e = av_interleaved_write_frame(oc, pkt)) < 0) {
			av_free(map);
			set_err(err, errn, "writing the MP4", e);
			goto out;
		}
	}
	av_free(map);
	if ((e = av_write_trailer(oc)) < 0) {
		set_err(err, errn, "ending the MP4", e);
		goto out;
	}
	avio_flush(oio);
	if (mo.failed)
		goto fail;
	if (fragmented && first_ms != AV_NOPTS_VALUE)
		shift_tfdt(mo.data + out->init_len, mo.len - out->init_len,
			   first_ms, mdhd_timescale(mo.data, out->init_len));
	out->data = mo.data;
	out->len = mo.len;
	mo.data = NULL;
	e = 0;
	goto out;
fail:
	snprintf(err, errn, "out of memory");
	e = AVERROR(ENOMEM);
out:
	if (oc) {
		oc->pb = NULL;
		avformat_free_context(oc);
	}
	avformat_close_input(&ic);
	if (iio)
		av_freep(&iio->buffer);
	avio_context_free(&iio);
	if (oio)
		av_freep(&oio->buffer);
	avio_context_free(&oio);
	av_free(ibuf);
	av_free(obuf);
	av_packet_free(&pkt);
	free(mo.data);
	return e < 0 ? -1 : 0;
}
#else
int kl_mp4_remux(const void *mkv, size_t mkv_len, bool fragmented,
		 struct kl_mp4 *out, char *err, size_t errn)
{
	(void)mkv;
	(void)mkv_len;
	(void)fragmented;
	memset(out, 0, sizeof *out);
	snprintf(err, errn,
		 "this kvs-local was built without libavformat "
		 "(libavformat-dev), which MP4 output needs");
	return -1;
}
#endif
