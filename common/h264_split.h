/* The streaming H.264 access-unit splitter: bytes in any chunking in,
 * complete access units out. Part of h264.h. */
#ifndef VPIPE_COMMON_H264_SPLIT_H
#define VPIPE_COMMON_H264_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The codec-specific part of splitting, for other Annex-B codecs (H.265:
 * h265_split.h): does the NAL unit at nal (avail bytes of it seen, at
 * least 24 or all of it) begin a new access unit after one holding a
 * picture, and is it picture data (VCL)? */
struct annexb_au_rules {
	bool (*starts_new_au)(const uint8_t *nal, size_t avail);
	bool (*is_vcl)(const uint8_t *nal);
};
struct h264_au_splitter *
annexb_au_splitter_new(size_t max_au_bytes,
		       const struct annexb_au_rules *rules);
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

#endif
