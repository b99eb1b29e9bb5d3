/* Incremental Matroska reader, see mkv_stream.h. A small state machine:
 * read an element head (ID + size, at most 12 bytes, kept across feeds),
 * then either descend (masters we need) or pass over the payload, keeping
 * only the first bytes of the leaves whose values matter. */
#include "mkv_stream.h"
#include "ebml.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { ST_HEAD, ST_LEAF, ST_ERROR };

#define OPEN_END UINT64_MAX

static int fail(struct mkv_stream *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct mkv_stream *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(m->error, sizeof m->error,
			 "offset %llu: ", (unsigned long long)m->elem_offset);
	vsnprintf(m->error + n, sizeof m->error - (size_t)n, fmt, ap);
	va_end(ap);
	m->state = ST_ERROR;
	return -1;
}

void mkv_stream_init(struct mkv_stream *m,
		     const struct mkv_stream_callbacks *cb)
{
	memset(m, 0, sizeof *m);
	m->cb = *cb;
	m->state = ST_HEAD;
}

static int emit(struct mkv_stream *m, struct mkv_event *ev)
{
	if (m->cb.event && m->cb.event(m->cb.opaque, ev)) {
		m->state = ST_ERROR;
		snprintf(m->error, sizeof m->error, "stopped by the reader");
		return -1;
	}
	return 0;
}

static int emit_simple(struct mkv_stream *m, enum mkv_event_type t,
		       uint64_t offset, uint64_t value)
{
	struct mkv_event ev = {.type = t, .offset = offset, .value = value};
	return emit(m, &ev);
}

static int out_bytes(struct mkv_stream *m, enum mkv_section sec,
		     const uint8_t *p, size_t n)
{
	if (n && m->cb.bytes && m->cb.bytes(m->cb.opaque, sec, p, n)) {
		m->state = ST_ERROR;
		snprintf(m->error, sizeof m->error, "stopped by the reader");
		return -1;
	}
	return 0;
}

static int is_master(uint32_t id)
{
	switch (id) {
	case MKV_ID_SEGMENT:
	case MKV_ID_INFO:
	case MKV_ID_TRACKS:
	case MKV_ID_TRACK_ENTRY:
	case MKV_ID_CLUSTER:
	case MKV_ID_BLOCK_GROUP:
	case MKV_ID_TAGS:
	case MKV_ID_TAG:
	case MKV_ID_SIMPLE_TAG:
		return 1;
	}
	return 0;
}

/* Elements that may only appear directly in a Segment: they end an open
 * unknown-size Cluster. */
static int is_top_level(uint32_t id)
{
	switch (id) {
	case MKV_ID_EBML:
	case MKV_ID_SEGMENT:
	case MKV_ID_SEEKHEAD:
	case MKV_ID_INFO:
	case MKV_ID_TRACKS:
	case MKV_ID_CLUSTER:
	case MKV_ID_CUES:
	case MKV_ID_TAGS:
	case 0x1043A770: /* Chapters */
	case 0x1941A469: /* Attachments */
		return 1;
	}
	return 0;
}

static uint32_t parent_id(const struct mkv_stream *m)
{
	return m->depth ? m->stack[m->depth - 1].id : 0;
}

/* Called when a master element closes. */
static int master_end(struct mkv_stream *m, uint32_t id, int depth_after)
{
	switch (id) {
	case MKV_ID_TRACK_ENTRY: {
		m->tracks++;
		struct mkv_event ev = {.type = MKV_EV_TRACK,
				       .offset = m->pos,
				       .track = m->track_number};
		return emit(m, &ev);
	}
	case MKV_ID_TRACKS:
		return emit_simple(m, MKV_EV_TRACKS_END, m->pos, m->tracks);
	case MKV_ID_CLUSTER:
		return emit_simple(m, MKV_EV_CLUSTER_END, m->pos, 0);
	case MKV_ID_SIMPLE_TAG: {
		struct mkv_event ev = {.type = MKV_EV_TAG,
				       .offset = m->pos,
				       .name = m->tag_name,
				       .string = m->tag_string};
		int rc = emit(m, &ev);
		m->tag_name[0] = m->tag_string[0] = 0;
		return rc;
	}
	case MKV_ID_TAGS:
		if (depth_after == 1)
			return emit_simple(m, MKV_EV_TAGS_END, m->pos, 0);
		return 0;
	}
	return 0;
}

static int pop(struct mkv_stream *m)
{
	m->depth--;
	return master_end(m, m->stack[m->depth].id, m->depth);
}

/* Close known-size masters that end here. */
static int close_finished(struct mkv_stream *m)
{
	while (m->depth > 0 && m->stack[m->depth - 1].end == m->pos)
		if (pop(m))
			return -1;
	return 0;
}

static enum mkv_section section_for(const struct mkv_stream *m, uint32_t id)
{
	if (m->depth == 0)
		return MKV_SEC_HEADER;
	if (parent_id(m) == MKV_ID_SEGMENT) {
		if (id == MKV_ID_CLUSTER)
			return MKV_SEC_CLUSTER;
		if (id == MKV_ID_TAGS)
			return MKV_SEC_TAGS;
		if (id == MKV_ID_INFO || id == MKV_ID_TRACKS)
			return MKV_SEC_HEADER;
		return MKV_SEC_OTHER;
	}
	return m->stack[m->depth - 1].sec;
}

/* How many payload bytes of this leaf to keep. */
static size_t leaf_bytes_wanted(const struct mkv_stream *m, uint32_t id,
				uint64_t size)
{
	uint32_t parent = parent_id(m);
	switch (id) {
	case MKV_ID_TIMECODE_SCALE:
	case MKV_ID_TRACK_NUMBER:
	case MKV_ID_TIMECODE:
		return (size_t)size; /* checked <= 8 by the caller */
	case MKV_ID_SIMPLE_BLOCK:
	case MKV_ID_BLOCK:
		return size < 12 ? (size_t)size : 12;
	case MKV_ID_TAG_NAME:
	case MKV_ID_TAG_STRING:
		if (parent == MKV_ID_SIMPLE_TAG)
			return size < MKV_STREAM_LEAF_MAX ? (size_t)size
							  : MKV_STREAM_LEAF_MAX;
		return 0;
	}
	return 0;
}

static int check_placement(struct mkv_stream *m, uint32_t id, uint64_t size,
			   size_t head_len)
{
	if (m->depth == 0 && id != MKV_ID_EBML && id != MKV_ID_SEGMENT)
		return fail(m,
			    "element 0x%X at the top level (want EBML or "
			    "Segment)",
			    id);
	if (m->depth == 0 && id == MKV_ID_SEGMENT && !m->seen_header)
		return fail(m, "Segment before any EBML header");
	if (!m->seen_header && id != MKV_ID_EBML)
		return fail(m, "stream does not start with an EBML header");
	/* a Cluster (Tracks, Tags, ...) belongs directly in the Segment: one
	 * nested in another (a parent with a wrong known size) would start a
	 * fragment inside a fragment */
	if (m->depth > 0 && is_top_level(id) && id != MKV_ID_EBML &&
	    id != MKV_ID_SEGMENT && parent_id(m) != MKV_ID_SEGMENT)
		return fail(m, "element 0x%X inside 0x%X (want the Segment)",
			    id, parent_id(m));
	if (size == EBML_SIZE_UNKNOWN && id != MKV_ID_SEGMENT &&
	    id != MKV_ID_CLUSTER)
		return fail(m, "element 0x%X has an unknown size", id);
	if (m->depth > 0 && size != EBML_SIZE_UNKNOWN) {
		uint64_t end = m->stack[m->depth - 1].end;
		if (end != OPEN_END &&
		    (size > end || m->elem_offset + head_len > end - size))
			return fail(m,
				    "element 0x%X (%llu bytes) overruns its "
				    "parent 0x%X",
				    id, (unsigned long long)size, parent_id(m));
	}
	if ((id == MKV_ID_TIMECODE_SCALE || id == MKV_ID_TRACK_NUMBER ||
	     id == MKV_ID_TIMECODE) &&
	    size > 8)
		return fail(m, "integer element 0x%X of %llu bytes", id,
			    (unsigned long long)size);
	if ((id == MKV_ID_SIMPLE_BLOCK || id == MKV_ID_BLOCK) && size < 4)
		return fail(m, "block of %llu bytes", (unsigned long long)size);
	return 0;
}

/* Leave unknown-size masters this element cannot belong to. */
static int close_unknown_parents(struct mkv_stream *m, uint32_t id)
{
	while (m->depth > 0 && m->stack[m->depth - 1].end == OPEN_END) {
		uint32_t p = m->stack[m->depth - 1].id;
		int ends = 0;
		if (p == MKV_ID_CLUSTER)
			ends = is_top_level(id);
		else if (p == MKV_ID_SEGMENT)
			ends = id == MKV_ID_EBML || id == MKV_ID_SEGMENT;
		if (!ends)
			break;
		if (pop(m))
			return -1;
	}
	return 0;
}

static int element_start(struct mkv_stream *m, size_t head_len)
{
	uint32_t id = m->id;
	uint64_t size = m->size;
	if (close_unknown_parents(m, id) ||
	    check_placement(m, id, size, head_len))
		return -1;
	enum mkv_section sec = section_for(m, id);
	if (id == MKV_ID_EBML) {
		/* before its bytes: readers restart their header copy here */
		m->seen_header = true;
		m->tracks = 0;
		if (emit_simple(m, MKV_EV_HEADER, m->elem_offset, 0))
			return -1;
	}
	if (id == MKV_ID_CLUSTER &&
	    emit_simple(m, MKV_EV_CLUSTER_START, m->elem_offset, 0))
		return -1;
	if (out_bytes(m, sec, m->hdr, head_len))
		return -1;
	if (is_master(id)) {
		if (m->depth >= MKV_STREAM_MAX_DEPTH)
			return fail(m, "elements nested too deeply");
		m->stack[m->depth].id = id;
		m->stack[m->depth].sec = sec;
		m->stack[m->depth].end =
		    size == EBML_SIZE_UNKNOWN ? OPEN_END : m->pos + size;
		m->depth++;
		if (id == MKV_ID_TRACK_ENTRY)
			m->track_number = 0;
		return close_finished(m);
	}
	m->leaf_sec = sec;
	m->remaining = size;
	m->leaf_len = 0;
	m->leaf_want = leaf_bytes_wanted(m, id, size);
	m->state = ST_LEAF;
	return 0;
}

static int block_event(struct mkv_stream *m)
{
	uint64_t track;
	int n = ebml_read_size(m->leaf, m->leaf_len, &track);
	if (n <= 0 || (size_t)n + 3 > m->leaf_len || track == EBML_SIZE_UNKNOWN)
		return fail(m, "block with a bad track number");
	struct mkv_event ev = {
	    .type = MKV_EV_BLOCK,
	    .offset = m->elem_offset,
	    .size = m->size,
	    .track = track,
	    .timecode = (int16_t)((m->leaf[n] << 8) | m->leaf[n + 1]),
	    .keyframe = m->id == MKV_ID_SIMPLE_BLOCK && (m->leaf[n + 2] & 0x80),
	};
	return emit(m, &ev);
}

static void copy_tag_text(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* The kept bytes of a leaf are complete. */
static int leaf_value(struct mkv_stream *m)
{
	switch (m->id) {
	case MKV_ID_TIMECODE_SCALE:
		if (parent_id(m) == MKV_ID_INFO)
			return emit_simple(
			    m, MKV_EV_TIMECODE_SCALE, m->elem_offset,
			    ebml_read_uint(m->leaf, m->leaf_len));
		return 0;
	case MKV_ID_TRACK_NUMBER:
		m->track_number = ebml_read_uint(m->leaf, m->leaf_len);
		return 0;
	case MKV_ID_TIMECODE:
		if (parent_id(m) == MKV_ID_CLUSTER)
			return emit_simple(
			    m, MKV_EV_CLUSTER_TIMECODE, m->elem_offset,
			    ebml_read_uint(m->leaf, m->leaf_len));
		return 0;
	case MKV_ID_SIMPLE_BLOCK:
	case MKV_ID_BLOCK:
		return block_event(m);
	case MKV_ID_TAG_NAME:
		copy_tag_text(m->tag_name, m->leaf, m->leaf_len);
		return 0;
	case MKV_ID_TAG_STRING:
		copy_tag_text(m->tag_string, m->leaf, m->leaf_len);
		return 0;
	}
	return 0;
}

/* Consume leaf payload bytes; returns bytes used or -1. */
static long leaf_feed(struct mkv_stream *m, const uint8_t *p, size_t n)
{
	size_t take = n;
	if (take > m->remaining)
		take = (size_t)m->remaining;
	if (m->leaf_len < m->leaf_want) {
		size_t k = m->leaf_want - m->leaf_len;
		if (k > take)
			k = take;
		memcpy(m->leaf + m->leaf_len, p, k);
		m->leaf_len += k;
		if (m->leaf_len == m->leaf_want && m->leaf_want > 0 &&
		    leaf_value(m))
			return -1;
	}
	if (out_bytes(m, m->leaf_sec, p, take))
		return -1;
	m->remaining -= take;
	m->pos += take;
	if (m->remaining == 0) {
		if (m->leaf_want == 0 && leaf_value(m))
			return -1;
		m->state = ST_HEAD;
		if (close_finished(m))
			return -1;
	}
	return (long)take;
}

/* Collect head bytes; returns bytes used or -1. */
static long head_feed(struct mkv_stream *m, const uint8_t *p, size_t n)
{
	size_t used = 0;
	while (used < n) {
		if (m->hdr_len == 0)
			m->elem_offset = m->pos;
		m->hdr[m->hdr_len++] = p[used++];
		m->pos++;
		uint32_t id;
		int il = ebml_read_id(m->hdr, m->hdr_len, &id);
		if (il < 0)
			return fail(m, "invalid element ID byte 0x%02X",
				    m->hdr[0]);
		if (il == 0)
			continue;
		uint64_t size;
		int sl =
		    ebml_read_size(m->hdr + il, m->hdr_len - (size_t)il, &size);
		if (sl < 0)
			return fail(m, "invalid element size");
		if (sl == 0)
			continue;
		m->id = id;
		m->size = size;
		size_t head_len = m->hdr_len;
		m->hdr_len = 0;
		if (element_start(m, head_len))
			return -1;
		if (m->state == ST_LEAF && m->remaining == 0) {
			/* empty leaf: complete now */
			if (leaf_value(m))
				return -1;
			m->state = ST_HEAD;
			if (close_finished(m))
				return -1;
		}
		return (long)used;
	}
	return (long)used;
}

int mkv_stream_feed(struct mkv_stream *m, const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		long used;
		if (m->state == ST_ERROR)
			return -1;
		if (m->state == ST_HEAD)
			used = head_feed(m, p + i, n - i);
		else
			used = leaf_feed(m, p + i, n - i);
		if (used < 0)
			return -1;
		i += (size_t)used;
	}
	return m->state == ST_ERROR ? -1 : 0;
}

int mkv_stream_finish(struct mkv_stream *m)
{
	if (m->state == ST_ERROR)
		return -1;
	if (m->hdr_len || m->state == ST_LEAF) {
		m->elem_offset = m->pos;
		return fail(m, "input ends inside an element");
	}
	while (m->depth > 0) {
		if (m->stack[m->depth - 1].end != OPEN_END) {
			m->elem_offset = m->pos;
			return fail(m, "input ends inside element 0x%X",
				    m->stack[m->depth - 1].id);
		}
		if (pop(m))
			return -1;
	}
	return 0;
}

bool mkv_stream_in_cluster(const struct mkv_stream *m)
{
	for (int i = 0; i < m->depth; i++)
		if (m->stack[i].id == MKV_ID_CLUSTER)
			return true;
	return false;
}
