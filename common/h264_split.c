/* The streaming H.264 access-unit splitter. See h264_split.h;
 * references are to ITU-T H.264 (08/2021). */

#include "h264_split.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h264_nal.h"
#include "h264_slice.h"

/* ---------------------------------------------------- streaming splitter */

struct h264_au_splitter {
	uint8_t *buf;
	size_t len, cap;
	uint64_t base; /* stream offset of buf[0] */
	size_t max_au;
	bool finished;
	bool external; /* buf belongs to the caller (use_buffer): never
			* freed, moved or grown here */

	size_t consumed; /* bytes before this are handed out or dropped */
	size_t search;	 /* where the next start-code search resumes */
	bool in_nal;	 /* a NAL unit has begun at nal_start */
	size_t nal_start, nal_hdr;
	bool nal_classified, nal_bad;
	bool au_open, au_has_vcl;
	size_t au_start;

	uint64_t index;
	char err[200];
	const struct annexb_au_rules *rules;
};

static bool starts_new_au(const uint8_t *nal, size_t avail);
static bool h264_is_vcl(const uint8_t *nal)
{
	return h264_nal_is_vcl(nal[0] & 0x1f);
}
static const struct annexb_au_rules h264_rules = {starts_new_au, h264_is_vcl};

struct h264_au_splitter *
annexb_au_splitter_new(size_t max_au_bytes, const struct annexb_au_rules *rules)
{
	struct h264_au_splitter *s = calloc(1, sizeof(*s));
	if (s) {
		s->max_au = max_au_bytes ? max_au_bytes : 16u << 20;
		s->rules = rules;
	}
	return s;
}

struct h264_au_splitter *h264_au_splitter_new(size_t max_au_bytes)
{
	return annexb_au_splitter_new(max_au_bytes, &h264_rules);
}

void h264_au_splitter_free(struct h264_au_splitter *s)
{
	if (!s)
		return;
	if (!s->external)
		free(s->buf);
	free(s);
}

/* The consumed bytes, c of them, no longer precede buf[0]: every offset
 * into buf moves down by c. */
static void splitter_rebase(struct h264_au_splitter *s, size_t c)
{
	s->base += c;
	s->search -= c;
	s->nal_start -= s->in_nal ? c : 0;
	s->nal_hdr -= s->in_nal ? c : 0;
	s->au_start -= s->au_open ? c : 0;
	s->consumed = 0;
}

static void splitter_compact(struct h264_au_splitter *s)
{
	size_t c = s->consumed;
	if (c == 0)
		return;
	memmove(s->buf, s->buf + c, s->len - c);
	s->len -= c;
	splitter_rebase(s, c);
}

/* Room for at least `min` more bytes in the splitter's own buffer. */
static int splitter_make_room(struct h264_au_splitter *s, size_t min)
{
	splitter_compact(s);
	if (s->len + min <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 64 * 1024;
	while (cap < s->len + min)
		cap *= 2;
	uint8_t *b = realloc(s->buf, cap);
	if (!b)
		return -1;
	s->buf = b;
	s->cap = cap;
	return 0;
}

int h264_au_splitter_push(struct h264_au_splitter *s, const uint8_t *data,
			  size_t len)
{
	size_t room;
	uint8_t *dst = h264_au_splitter_get_buffer(s, len, &room);
	if (!dst)
		return -1;
	memcpy(dst, data, len);
	s->len += len;
	return 0;
}

uint8_t *h264_au_splitter_get_buffer(struct h264_au_splitter *s, size_t min,
				     size_t *room)
{
	*room = 0;
	if (s->external) {
		if (s->cap - s->len < min)
			return NULL;
	} else if (splitter_make_room(s, min)) {
		return NULL;
	}
	*room = s->cap - s->len;
	return s->buf + s->len;
}

void h264_au_splitter_commit(struct h264_au_splitter *s, size_t n)
{
	s->len += n <= s->cap - s->len ? n : s->cap - s->len;
}

size_t h264_au_splitter_pending(const struct h264_au_splitter *s)
{
	return s->len - s->consumed;
}

int h264_au_splitter_use_buffer(struct h264_au_splitter *s, uint8_t *buf,
				size_t cap)
{
	size_t pending = s->len - s->consumed;
	if (cap < pending)
		return -1;
	if (pending)
		memcpy(buf, s->buf + s->consumed, pending);
	/* The same shift as a compaction, into the new buffer. */
	s->len = pending;
	splitter_rebase(s, s->consumed);
	if (!s->external)
		free(s->buf);
	s->buf = buf;
	s->cap = cap;
	s->external = true;
	return 0;
}

void h264_au_splitter_finish(struct h264_au_splitter *s)
{
	s->finished = true;
}

const char *h264_au_splitter_error(const struct h264_au_splitter *s)
{
	return s->err;
}

static int splitter_error(struct h264_au_splitter *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int splitter_error(struct h264_au_splitter *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -1;
}

static int splitter_emit(struct h264_au_splitter *s, size_t end,
			 struct h264_au *au)
{
	if (end - s->au_start > s->max_au) {
		uint64_t off = s->base + s->au_start;
		s->consumed = end;
		s->au_open = s->au_has_vcl = false;
		return splitter_error(s,
				      "byte %llu: access unit of %zu bytes is "
				      "larger than %zu, dropped",
				      (unsigned long long)off,
				      end - s->au_start, s->max_au);
	}
	au->data = s->buf + s->au_start;
	au->size = end - s->au_start;
	au->stream_offset = s->base + s->au_start;
	au->index = s->index++;
	s->consumed = end;
	s->au_open = false;
	s->au_has_vcl = false;
	return 1;
}

/* Does the NAL unit that begins at s->nal_hdr begin a new access unit,
 * given that the current one already holds a slice? (7.4.1.2.3) */
static bool starts_new_au(const uint8_t *nal, size_t avail)
{
	unsigned type = nal[0] & 0x1f;
	switch (type) {
	case H264_NAL_AUD:
	case H264_NAL_SEI:
	case H264_NAL_SPS:
	case H264_NAL_PPS:
	case H264_NAL_PREFIX:
	case H264_NAL_SUBSET_SPS:
	case 16:
	case 17:
	case 18:
		return true;
	case H264_NAL_SLICE:
	case H264_NAL_DPA:
	case H264_NAL_IDR: {
		struct h264_slice_header sh;
		return h264_parse_slice_header(nal, avail, &sh) == 0 &&
		       sh.first_mb_in_slice == 0;
	}
	default:
		return false;
	}
}

/* Enough of a NAL unit to read its slice header start. */
#define CLASSIFY_BYTES 24

/* Look at the NAL unit in progress; may end the current access unit. */
static int splitter_classify(struct h264_au_splitter *s, size_t nal_end,
			     struct h264_au *au)
{
	s->nal_classified = true;
	const uint8_t *nal = s->buf + s->nal_hdr;
	size_t avail = nal_end - s->nal_hdr;
	if (avail == 0)
		return 0;
	s->nal_bad = nal[0] & 0x80;
	bool boundary = s->nal_bad ||
			(s->au_has_vcl && s->rules->starts_new_au(nal, avail));
	if (boundary && s->au_open)
		return splitter_emit(s, s->nal_start, au);
	return 0;
}

/* The NAL unit in progress is complete at `end` (next start code or end of
 * input). Account it to the current access unit or drop it. */
static int splitter_close_nal(struct h264_au_splitter *s, size_t end)
{
	s->in_nal = false;
	if (s->nal_hdr >= end)
		return 0; /* empty NAL unit */
	if (s->nal_bad) {
		uint64_t off = s->base + s->nal_hdr;
		s->consumed = end;
		s->au_open = s->au_has_vcl = false;
		return splitter_error(
		    s,
		    "byte %llu: NAL unit with forbidden_zero_bit "
		    "set (not H.264/H.265?), %zu bytes dropped",
		    (unsigned long long)off, end - s->nal_start);
	}
	if (!s->au_open) {
		s->au_open = true;
		s->au_start = s->nal_start;
	}
	if (s->rules->is_vcl(s->buf + s->nal_hdr))
		s->au_has_vcl = true;
	return 0;
}

/* No NAL unit in progress: look for the next start code. */
static int splitter_find_first(struct h264_au_splitter *s)
{
	size_t sc = h264_find_start_code(s->buf, s->len, s->search);
	if (sc >= s->len) {
		size_t keep =
		    s->finished ? 0 : 3; /* could be 00 00 00 of a code */
		size_t upto = s->len > keep ? s->len - keep : 0;
		if (upto <= s->consumed || s->au_open)
			return 0;
		size_t from = s->consumed;
		bool junk = h264_any_nonzero(s->buf + from, upto - from);
		s->consumed = s->search = upto;
		if (junk)
			return splitter_error(
			    s,
			    "byte %llu: %zu bytes without a "
			    "start code skipped",
			    (unsigned long long)(s->base + from), upto - from);
		return 0;
	}
	size_t begin =
	    h264_start_code_begin(s->buf, sc, s->au_open ? 0 : s->consumed);
	size_t from = s->consumed;
	s->in_nal = true;
	s->nal_start = begin;
	s->nal_hdr = sc + 3;
	s->nal_classified = s->nal_bad = false;
	s->search = s->nal_hdr;
	if (s->au_open)
		return 0; /* the previous NAL unit ended right here */
	s->consumed = begin;
	if (begin > from && h264_any_nonzero(s->buf + from, begin - from))
		return splitter_error(
		    s,
		    "byte %llu: %zu bytes of garbage before a "
		    "start code skipped",
		    (unsigned long long)(s->base + from), begin - from);
	return 0;
}

int h264_au_splitter_next(struct h264_au_splitter *s, struct h264_au *au)
{
	for (;;) {
		if (!s->in_nal) {
			if (s->au_open && s->finished &&
			    h264_find_start_code(s->buf, s->len, s->search) >=
				s->len)
				return s->au_has_vcl
					   ? splitter_emit(s, s->len, au)
					   : (s->au_open = false, 0);
			size_t before = s->search;
			int r = splitter_find_first(s);
			if (r)
				return r;
			if (!s->in_nal && s->search == before)
				return 0;
			if (!s->in_nal)
				continue;
		}
		size_t next = h264_find_start_code(s->buf, s->len, s->search);
		bool complete = next < s->len || s->finished;
		size_t nal_end = complete ? next : s->len;
		if (!s->nal_classified &&
		    (complete || nal_end - s->nal_hdr >= CLASSIFY_BYTES)) {
			int r = splitter_classify(s, nal_end, au);
			if (r)
				return r;
		}
		if (!complete) {
			size_t held =
			    s->len - (s->au_open ? s->au_start : s->nal_start);
			if (held > s->max_au) {
				uint64_t off =
				    s->base +
				    (s->au_open ? s->au_start : s->nal_start);
				s->consumed = s->search = s->len;
				s->in_nal = s->au_open = s->au_has_vcl = false;
				return splitter_error(
				    s,
				    "byte %llu: access unit larger than %zu "
				    "bytes dropped",
				    (unsigned long long)off, s->max_au);
			}
			s->search = s->len >= 3 ? s->len - 3 : 0;
			if (s->search < s->nal_hdr)
				s->search = s->nal_hdr;
			return 0;
		}
		s->search = next;
		int r = splitter_close_nal(s, next);
		if (r)
			return r;
	}
}
