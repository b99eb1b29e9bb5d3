/* Matroska elements for live H.264 streams. See mkv_writer.h. */
#include "mkv_writer.h"

#include "bytes.h"
#include "h264.h"

void mkv_write_ebml_header(struct ebml_buf *b)
{
	size_t m = ebml_begin_master(b, MKV_ID_EBML, 1);
	ebml_put_uint(b, MKV_ID_EBML_VERSION, 1);
	ebml_put_uint(b, MKV_ID_EBML_READ_VERSION, 1);
	ebml_put_uint(b, MKV_ID_EBML_MAX_ID_LENGTH, 4);
	ebml_put_uint(b, MKV_ID_EBML_MAX_SIZE_LENGTH, 8);
	ebml_put_string(b, MKV_ID_DOCTYPE, "matroska");
	ebml_put_uint(b, MKV_ID_DOCTYPE_VERSION, 2);
	ebml_put_uint(b, MKV_ID_DOCTYPE_READ_VERSION, 2);
	ebml_end_master(b, m);
}

static void write_info(struct ebml_buf *b, const struct mkv_segment_info *info)
{
	size_t m = ebml_begin_master(b, MKV_ID_INFO, 0);
	ebml_put_uint(b, MKV_ID_TIMECODE_SCALE, info->timecode_scale_ns);
	if (info->muxing_app)
		ebml_put_string(b, MKV_ID_MUXING_APP, info->muxing_app);
	if (info->writing_app)
		ebml_put_string(b, MKV_ID_WRITING_APP, info->writing_app);
	ebml_end_master(b, m);
}

static void write_track(struct ebml_buf *b, const struct mkv_video_track *t)
{
	size_t tracks = ebml_begin_master(b, MKV_ID_TRACKS, 0);
	size_t entry = ebml_begin_master(b, MKV_ID_TRACK_ENTRY, 0);
	ebml_put_uint(b, MKV_ID_TRACK_NUMBER, t->number);
	ebml_put_uint(b, MKV_ID_TRACK_UID, t->uid);
	ebml_put_uint(b, MKV_ID_TRACK_TYPE, MKV_TRACK_TYPE_VIDEO);
	if (t->name && t->name[0])
		ebml_put_string(b, MKV_ID_TRACK_NAME, t->name);
	ebml_put_string(b, MKV_ID_CODEC_ID, t->codec_id);
	if (t->codec_private_len)
		ebml_put_binary(b, MKV_ID_CODEC_PRIVATE, t->codec_private,
				t->codec_private_len);
	if (t->default_duration_ns)
		ebml_put_uint(b, MKV_ID_DEFAULT_DURATION,
			      t->default_duration_ns);
	size_t video = ebml_begin_master(b, MKV_ID_VIDEO, 0);
	ebml_put_uint(b, MKV_ID_PIXEL_WIDTH, t->width);
	ebml_put_uint(b, MKV_ID_PIXEL_HEIGHT, t->height);
	ebml_end_master(b, video);
	ebml_end_master(b, entry);
	ebml_end_master(b, tracks);
}

void mkv_write_stream_header(struct ebml_buf *b,
			     const struct mkv_segment_info *info,
			     const struct mkv_video_track *track)
{
	mkv_write_ebml_header(b);
	ebml_put_unknown_master(b, MKV_ID_SEGMENT);
	write_info(b, info);
	write_track(b, track);
}

void mkv_write_cluster_start(struct ebml_buf *b, uint64_t timecode)
{
	ebml_put_unknown_master(b, MKV_ID_CLUSTER);
	ebml_put_uint(b, MKV_ID_TIMECODE, timecode);
}

/* Track number (as an EBML vint), signed 16-bit timecode, flags. */
static void put_block_header(struct ebml_buf *b, uint64_t track,
			     int16_t rel_timecode, uint8_t flags)
{
	uint8_t hdr[11];
	size_t n = ebml_write_size(hdr, track, 0);
	wr_be16(hdr + n, (uint16_t)rel_timecode);
	hdr[n + 2] = flags;
	ebml_put_bytes(b, hdr, n + 3);
}

void mkv_write_simple_block(struct ebml_buf *b, uint64_t track,
			    int16_t rel_timecode, uint8_t flags,
			    const uint8_t *data, size_t n)
{
	ebml_put_id(b, MKV_ID_SIMPLE_BLOCK);
	ebml_put_size(b, ebml_size_length(track) + 3 + n, 0);
	put_block_header(b, track, rel_timecode, flags);
	ebml_put_bytes(b, data, n);
}

/* Largest payload a 4-byte EBML size can describe. */
#define BLOCK_SIZE_MAX ((1u << 28) - 2)

int mkv_write_simple_block_h264(struct ebml_buf *b, uint64_t track,
				int16_t rel_timecode, uint8_t flags,
				const uint8_t *annexb, size_t n)
{
	if (n > BLOCK_SIZE_MAX - 16)
		return -1;
	size_t mark = ebml_begin_master(b, MKV_ID_SIMPLE_BLOCK, 4);
	put_block_header(b, track, rel_timecode, flags);
	if (ebml_buf_reserve(b, h264_avcc_bound(n)))
		return -1;
	size_t used = h264_annexb_to_avcc(annexb, n, b->data + b->len);
	if (used == 0) {
		b->len = mark - ebml_id_length(MKV_ID_SIMPLE_BLOCK);
		return -1;
	}
	b->len += used;
	ebml_end_master(b, mark);
	return 0;
}

void mkv_write_tags(struct ebml_buf *b, const struct mkv_simple_tag *tags,
		    unsigned n)
{
	if (n == 0)
		return;
	size_t all = ebml_begin_master(b, MKV_ID_TAGS, 0);
	size_t tag = ebml_begin_master(b, MKV_ID_TAG, 0);
	ebml_put_id(b, MKV_ID_TARGETS);
	ebml_put_size(b, 0, 0);
	for (unsigned i = 0; i < n; i++) {
		size_t st = ebml_begin_master(b, MKV_ID_SIMPLE_TAG, 0);
		ebml_put_string(b, MKV_ID_TAG_NAME, tags[i].name);
		ebml_put_string(b, MKV_ID_TAG_STRING,
				tags[i].value ? tags[i].value : "");
		ebml_end_master(b, st);
	}
	ebml_end_master(b, tag);
	ebml_end_master(b, all);
}
