/* H.264 (ISO/IEC 14496-10) elementary streams: what every module that touches
 * H.264 needs, and nothing that decodes pictures.
 *
 *  - Annex-B scanning: NAL units separated by 3- or 4-byte start codes
 *    (h264_next_nal).
 *  - Access units: a streaming splitter that takes bytes in any chunking and
 *    hands out complete access units (h264_au_splitter_*), and a one-shot
 *    inspector of one access unit (h264_au_info): key frame? SPS/PPS? where
 *    are its NAL units?
 *  - SPS parsing with emulation-prevention removal: profile, level, size
 *    after cropping, VUI frame rate (h264_parse_sps).
 *  - Conversions for containers: Annex-B to length-prefixed AVCC samples
 *    (h264_annexb_to_avcc) and the avcC record (AVCDecoderConfigurationRecord,
 *    ISO/IEC 14496-15 5.2.4.1) from SPS/PPS (h264_build_avcc). Together these
 *    are the KVS SDK's NAL_ADAPTATION_ANNEXB_CPD_AND_FRAME_NALS.
 *
 * Nothing here trusts its input: every parser checks bounds, and failures
 * come back as negative values with a message naming the byte offset.
 */
#ifndef VPIPE_COMMON_H264_H
#define VPIPE_COMMON_H264_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* nal_unit_type values (Table 7-1). */
enum h264_nal_type {
	H264_NAL_SLICE = 1, /* non-IDR picture slice */
	H264_NAL_DPA = 2,   /* data partitions A, B, C */
	H264_NAL_DPB = 3,
	H264_NAL_DPC = 4,
	H264_NAL_IDR = 5, /* slice of an IDR picture: a key frame */
	H264_NAL_SEI = 6,
	H264_NAL_SPS = 7,
	H264_NAL_PPS = 8,
	H264_NAL_AUD = 9, /* access unit delimiter */
	H264_NAL_END_SEQUENCE = 10,
	H264_NAL_END_STREAM = 11,
	H264_NAL_FILLER = 12,
	H264_NAL_SPS_EXT = 13,
	H264_NAL_PREFIX = 14,
	H264_NAL_SUBSET_SPS = 15,
	H264_NAL_AUX_SLICE = 19,
};

/* True for the NAL types that carry coded picture data (VCL). */
static inline bool h264_nal_is_vcl(unsigned type)
{
	return type >= H264_NAL_SLICE && type <= H264_NAL_IDR;
}

const char *h264_nal_type_name(unsigned type);

/* One NAL unit inside an Annex-B buffer. Offsets are relative to the start
 * of the buffer that was scanned. `size` excludes the start code and any
 * trailing zero bytes (trailing_zero_8bits belong to the next start code). */
struct h264_nal {
	size_t start;  /* first byte of the start code */
	size_t offset; /* first byte of the NAL unit (its header byte) */
	size_t size;   /* NAL unit bytes, header included */
	uint8_t type;  /* nal_unit_type */
	uint8_t ref_idc;
};

/* Find the next NAL unit at or after *pos in an Annex-B buffer holding only
 * complete NAL units (the end of the buffer ends the last one). Returns 1
 * and advances *pos past it, 0 when no NAL unit is left. Bytes before the
 * first start code are skipped; *garbage (if not NULL) receives how many. */
int h264_next_nal(const uint8_t *buf, size_t len, size_t *pos,
		  struct h264_nal *nal, size_t *garbage);

/* True when buf holds NAL units and none of them is a slice (VCL): a
 * buffer of parameter sets and SEI only, as some encoders hand out before
 * the first picture. */
bool h264_headers_only(const uint8_t *buf, size_t len);

/* Offset of the first start code (00 00 01) at or after `from`, or `len`. */
size_t h264_find_start_code(const uint8_t *buf, size_t len, size_t from);

/* ------------------------------------------------------------------ SPS */

struct h264_sps {
	uint8_t profile_idc;
	uint8_t constraint_flags; /* constraint_set0..5 flags, as in the byte */
	uint8_t level_idc;
	uint32_t sps_id;
	uint32_t chroma_format_idc; /* 1 (4:2:0) unless a high profile says */
	uint32_t bit_depth_luma, bit_depth_chroma; /* 8 unless ... */
	uint32_t log2_max_frame_num;
	uint32_t pic_order_cnt_type;
	uint32_t max_num_ref_frames;
	bool frame_mbs_only;
	uint32_t coded_width, coded_height; /* macroblocks x 16 */
	uint32_t width, height;		    /* after frame cropping */
	uint32_t crop_left, crop_right, crop_top, crop_bottom; /* pixels */
	bool vui_present;
	uint32_t sar_num, sar_den; /* 0/0 when not given */
	bool timing_info_present;
	uint32_t num_units_in_tick, time_scale;
	bool fixed_frame_rate;
	uint32_t fps_num,
	    fps_den; /* time_scale / (2 num_units_in_tick); 0 if unknown */

	/* Picture order count (7.4.2.1.1), for h264_poc_compute. */
	bool separate_colour_plane;
	bool mb_adaptive_frame_field;
	uint32_t log2_max_poc_lsb;		/* type 0 */
	bool delta_pic_order_always_zero;	/* type 1 */
	int32_t offset_for_non_ref_pic;		/* type 1 */
	int32_t offset_for_top_to_bottom_field; /* type 1 */
	uint32_t num_ref_frames_in_poc_cycle;	/* type 1, <= 255 */
	int32_t offset_for_ref_frame[256];	/* type 1 */
	/* VUI bitstream_restriction (E.2.1): how many pictures may precede
	 * a picture in decoding order and follow it in output order, and
	 * the DPB size the stream needs, in frames. */
	bool bitstream_restriction;
	uint32_t max_num_reorder_frames, max_dec_frame_buffering;
};

/* Parse an SPS NAL unit (header byte included, emulation prevention still
 * in). Returns 0, or -1 with a message in err (may be NULL) naming the byte
 * offset inside the NAL where parsing failed. */
int h264_parse_sps(const uint8_t *nal, size_t size, struct h264_sps *sps,
		   char *err, size_t errlen);

/* The DPB size in frames: max_dec_frame_buffering when the SPS gives it,
 * else MaxDpbFrames from the level (A.3.1 h, Table A-1), at most 16. */
unsigned h264_sps_dpb_frames(const struct h264_sps *sps);

/* The reorder depth a decoder must allow for: max_num_reorder_frames when
 * the SPS gives it; 0 for pic_order_cnt_type 2 (output order is decoding
 * order) and for the intra profiles (E.2.1 inference with
 * constraint_set3_flag); else -1: unknown, at most h264_sps_dpb_frames. */
int h264_sps_reorder_frames(const struct h264_sps *sps);

/* --------------------------------------------------------------- PPS */

/* The PPS fields a slice header's parsing depends on (7.3.2.2). */
struct h264_pps {
	uint32_t pps_id, sps_id;
	bool entropy_coding_mode;
	bool bottom_field_pic_order_in_frame_present;
	uint32_t num_slice_groups;
	uint32_t num_ref_idx_default[2]; /* l0, l1: minus1 + 1 */
	bool weighted_pred;
	uint32_t weighted_bipred_idc;
	bool deblocking_filter_control_present;
	bool redundant_pic_cnt_present;
};

/* Parse a PPS NAL unit (header byte included) far enough for slice
 * headers. Returns 0, or -1 with a message naming the byte offset. */
int h264_parse_pps(const uint8_t *nal, size_t size, struct h264_pps *pps,
		   char *err, size_t errlen);

/* Remove emulation-prevention bytes (00 00 03 -> 00 00) from in[0..n) into
 * out (room for n bytes). Returns the bytes written. */
size_t h264_unescape(const uint8_t *in, size_t n, uint8_t *out);

/* A slice header (7.3.3): h264_parse_slice_header fills the first three
 * fields (enough to find picture boundaries), h264_parse_slice_poc the
 * rest, up to dec_ref_pic_marking. */
struct h264_slice_header {
	uint32_t first_mb_in_slice;
	uint32_t slice_type; /* 0-9; % 5: 0 P, 1 B, 2 I, 3 SP, 4 SI */
	uint32_t pps_id;

	uint8_t nal_unit_type, nal_ref_idc;
	bool idr;
	uint32_t frame_num;
	bool field_pic, bottom_field;
	uint32_t idr_pic_id;
	uint32_t pic_order_cnt_lsb;
	int32_t delta_pic_order_cnt_bottom;
	int32_t delta_pic_order_cnt[2];
	/* dec_ref_pic_marking: memory_management_control_operation 5 (all
	 * references dropped, picture order restarts, like an IDR).
	 * marking_parsed is false when the header was cut short before it
	 * (mmco5 then unknown, taken as absent). */
	bool mmco5;
	bool marking_parsed;
};

/* Parse the first fields of a VCL NAL unit (header byte included). */
int h264_parse_slice_header(const uint8_t *nal, size_t size,
			    struct h264_slice_header *sh);

/* Parse a slice header up to dec_ref_pic_marking with the SPS and PPS it
 * refers to (sh->pps_id must match pps->pps_id, pps->sps_id the SPS).
 * Returns 0, or -1 with a message naming the field and bit offset. */
int h264_parse_slice_poc(const uint8_t *nal, size_t size,
			 const struct h264_sps *sps, const struct h264_pps *pps,
			 struct h264_slice_header *sh, char *err,
			 size_t errlen);

/* ------------------------------------------------ picture order count */

/* What 8.2.1 carries from one picture to the next, per stream. Zero it
 * (or h264_poc_reset) at the start and after a discontinuity. */
struct h264_poc_state {
	bool have_prev;
	/* type 0: the previous reference picture */
	int64_t prev_poc_msb;
	uint32_t prev_poc_lsb;
	/* types 1 and 2: the previous picture */
	int64_t prev_frame_num_offset;
	uint32_t prev_frame_num;
};

struct h264_poc {
	int64_t top, bottom; /* TopFieldOrderCnt, BottomFieldOrderCnt */
	int64_t poc;	     /* PicOrderCnt: min of the two for a frame */
	/* This picture starts a new output period: IDR or mmco5. Pictures
	 * of one period are output in poc order, after every picture of the
	 * periods before. */
	bool new_period;
};

void h264_poc_reset(struct h264_poc_state *st);

/* PicOrderCnt of the picture whose first slice header is sh (8.2.1, types
 * 0, 1 and 2; MSB wrap; IDR and mmco5 resets), and advance st. After an
 * mmco5 the picture's own counts are taken relative to the new period
 * (8.2.1: tempPicOrderCnt subtracted). */
void h264_poc_compute(struct h264_poc_state *st, const struct h264_sps *sps,
		      const struct h264_slice_header *sh, struct h264_poc *out);

/* ------------------------------------------------------- access units */

#define H264_AU_MAX_NALS 64

struct h264_au_info {
	bool key; /* holds an IDR slice: decodable on its own */
	bool has_sps, has_pps, has_aud, has_sei;
	unsigned num_slices; /* VCL NAL units */
	unsigned num_nals;   /* all NAL units (nals[] holds the first 64) */
	unsigned
	    sps_index; /* index into nals[] of the first SPS (if has_sps) */
	unsigned
	    pps_index; /* index into nals[] of the first PPS (if has_pps) */
	uint32_t slice_type; /* of the first slice */
	size_t garbage;	     /* bytes before the first start code */
	struct h264_nal nals[H264_AU_MAX_NALS];
};

/* Inspect one Annex-B access unit. Returns 0; -1 with a message in err when
 * it holds no NAL unit, a NAL unit with forbidden_zero_bit set, or no slice. */
int h264_au_info(const uint8_t *au, size_t len, struct h264_au_info *info,
		 char *err, size_t errlen);

/* The same, looking only at the NAL units up to the first slice (SPS, PPS,
 * SEI, AUD come before it): key, has_* and slice_type are as above, but
 * num_slices is 1 and that slice's size runs to the end of the access unit.
 * It does not read the picture data, so it costs little on large frames. */
int h264_au_info_head(const uint8_t *au, size_t len, struct h264_au_info *info,
		      char *err, size_t errlen);

/* The streaming access-unit splitter.
 *
 *   struct h264_au_splitter *s = h264_au_splitter_new(8 << 20);
 *   while ((n = read(fd, buf, sizeof buf)) > 0) {
 *           h264_au_splitter_push(s, buf, n);
 *           while ((r = h264_au_splitter_next(s, &au)) != 0)
 *                   r > 0 ? use(au.data, au.size)
 *                         : log(h264_au_splitter_error(s));
 *   }
 *   h264_au_splitter_finish(s);
 *   while ((r = h264_au_splitter_next(s, &au)) != 0) ...
 *
 * An access unit ends where the next one begins (7.4.1.2.3): at an AUD,
 * SPS, PPS, SEI, prefix or subset-SPS NAL unit after a slice, or at a slice
 * with first_mb_in_slice == 0 after a slice (several slices of one picture
 * stay together). Access units are handed out in Annex-B form exactly as
 * they were in the input, start codes included; au.data stays valid until
 * the next push/get_buffer/free (in a caller's buffer, see use_buffer:
 * while the caller keeps that buffer). Bytes that are not H.264 (garbage before
 * a start code, forbidden_zero_bit set, an access unit above max_au_bytes) come
 * back as an error (-1) naming the stream byte offset, and are skipped. */
struct h264_au_splitter;

struct h264_au {
	const uint8_t *data;
	size_t size;
	uint64_t stream_offset; /* of data[0] within everything pushed */
	uint64_t index;		/* 0, 1, 2 ... */
};

struct h264_au_splitter *h264_au_splitter_new(size_t max_au_bytes);
void h264_au_splitter_free(struct h264_au_splitter *s);
/* Returns 0, or -1 when out of memory. */
int h264_au_splitter_push(struct h264_au_splitter *s, const uint8_t *data,
			  size_t len);
/* Input without a copy: get_buffer returns where the next bytes go, with
 * room for at least `min` of them (*room says how many fit), and commit
 * adds the `n` bytes written there, e.g.
 *
 *   uint8_t *p = h264_au_splitter_get_buffer(s, 65536, &room);
 *   n = read(fd, p, room);
 *   h264_au_splitter_commit(s, n);
 *
 * In the splitter's own buffer, get_buffer compacts and grows it like push
 * (and invalidates earlier au.data the same way); NULL means out of memory.
 * In a caller's buffer (use_buffer), it never moves or grows anything:
 * NULL means fewer than `min` bytes are left, and the caller gives a new
 * buffer of at least pending() + min bytes. */
uint8_t *h264_au_splitter_get_buffer(struct h264_au_splitter *s, size_t min,
				     size_t *room);
void h264_au_splitter_commit(struct h264_au_splitter *s, size_t n);

/* Caller-provided storage, so access units can be passed on without a copy
 * (e.g. wrapped in refcounted frames). The splitter copies the bytes it
 * still holds (the part of an access unit not yet complete, pending()
 * bytes) to the start of buf and works in buf from then on; it never frees,
 * moves or writes before the end of what was committed, so every au.data
 * handed out from buf stays valid for as long as the caller keeps buf. The
 * previous buffer is no longer used (freed if it was the splitter's own).
 * Returns 0, or -1 when cap < pending(). */
int h264_au_splitter_use_buffer(struct h264_au_splitter *s, uint8_t *buf,
				size_t cap);
/* Bytes received but not yet handed out or dropped. */
size_t h264_au_splitter_pending(const struct h264_au_splitter *s);

/* End of input: what is left becomes the last access unit. */
void h264_au_splitter_finish(struct h264_au_splitter *s);
/* 1: *au is the next access unit; 0: more input needed (or, after finish,
 * nothing left); -1: skipped bad bytes, see h264_au_splitter_error. */
int h264_au_splitter_next(struct h264_au_splitter *s, struct h264_au *au);
const char *h264_au_splitter_error(const struct h264_au_splitter *s);

/* ------------------------------------------------------------ containers */

/* Bytes h264_annexb_to_avcc needs at most for an input of n bytes. */
static inline size_t h264_avcc_bound(size_t n)
{
	return n + n / 4 + 8;
}

/* Convert an Annex-B access unit to AVCC: each NAL unit prefixed by its
 * 4-byte big-endian length. Returns the bytes written to out (room for
 * h264_avcc_bound(n)), 0 when the input holds no NAL unit. */
size_t h264_annexb_to_avcc(const uint8_t *in, size_t n, uint8_t *out);

/* Build an avcC record from SPS and PPS NAL units (header byte included,
 * Annex-B escaping kept, as in the stream). Returns its size, or -1 when an
 * SPS does not parse, a list is empty or longer than 31 (SPS) / 255 (PPS),
 * or `cap` is too small. */
long h264_build_avcc(const uint8_t *const *sps, const size_t *sps_len,
		     unsigned nsps, const uint8_t *const *pps,
		     const size_t *pps_len, unsigned npps, uint8_t *out,
		     size_t cap);
#endif
