/* Walking Matroska elements of our own MKV stream in memory. */
#include "mkv_scan.h"

#include <string.h>

#define DEFAULT_TIMECODE_SCALE 1000000u
#define MKV_ID_CRC32	       0xBF
#define MKV_ID_REFERENCE_BLOCK 0xFB

int mkv_elem_read(const uint8_t *buf, size_t len, size_t off,
		  struct mkv_elem *e)
{
	if (off >= len)
		return 0;
	int id_len = ebml_read_id(buf + off, len - off, &e->id);
	if (id_len <= 0)
		return id_len;
	int size_len = ebml_read_size(buf + off + id_len,
				      len - off - (size_t)id_len, &e->size);
	if (size_len <= 0)
		return size_len;
	e->offset = off;
	e->size_len = (size_t)size_len;
	e->head_len = (size_t)id_len + (size_t)size_len;
	return 1;
}

size_t mkv_elem_end(const struct mkv_elem *e, size_t len)
{
	if (e->size == EBML_SIZE_UNKNOWN)
		return SIZE_MAX;
	size_t start = e->offset + e->head_len;
	if (start > len || e->size > len - start)
		return SIZE_MAX;
	return start + (size_t)e->size;
}

/* Level-1 elements (children of Segment) all have 4-byte IDs. */
static int is_level1(uint32_t id)
{
	return id >= 0x10000000u;
}

static int fail_at(size_t off, const char *what, size_t *err_off,
		   const char **err)
{
	*err_off = off;
	*err = what;
	return -1;
}

/* Reads the next element at `off` that must end inside [0, end). */
static int read_whole(const uint8_t *buf, size_t end, size_t off,
		      struct mkv_elem *e, size_t *err_off, const char **err)
{
	int r = mkv_elem_read(buf, end, off, e);
	if (r < 0)
		return fail_at(off, "not an EBML element", err_off, err);
	if (r == 0)
		return fail_at(off, "element header cut short", err_off, err);
	if (e->size == EBML_SIZE_UNKNOWN)
		return fail_at(off, "element of unknown size", err_off, err);
	if (mkv_elem_end(e, end) == SIZE_MAX)
		return fail_at(off, "element runs past the end", err_off, err);
	return 0;
}

static int parse_info(const uint8_t *buf, size_t start, size_t end,
		      struct mkv_header *h, size_t *err_off, const char **err)
{
	size_t off = start;
	while (off < end) {
		struct mkv_elem e;
		if (read_whole(buf, end, off, &e, err_off, err))
			return -1;
		if (e.id == MKV_ID_TIMECODE_SCALE) {
			if (e.size == 0 || e.size > 8)
				return fail_at(off, "bad TimecodeScale",
					       err_off, err);
			uint64_t v = ebml_read_uint(buf + off + e.head_len,
						    (size_t)e.size);
			/* 0 means the default, as the KVS producer SDK reads it
			 */
			h->timecode_scale = v ? v : DEFAULT_TIMECODE_SCALE;
		}
		off = mkv_elem_end(&e, end);
	}
	return 0;
}

static int add_child(const uint8_t *buf, const struct mkv_elem *e, size_t end,
		     struct mkv_header *h, size_t *err_off, const char **err)
{
	size_t start = e->offset + e->head_len;
	switch (e->id) {
	case MKV_ID_INFO:
		h->info.off = start;
		h->info.len = (size_t)e->size;
		return parse_info(buf, start, end, h, err_off, err);
	case MKV_ID_TRACKS:
		h->tracks.off = e->offset;
		h->tracks.len = end - e->offset;
		return 0;
	case MKV_ID_SEEKHEAD:
	case MKV_ID_CUES:
	case MKV_ID_VOID:
	case MKV_ID_CRC32:
		return 0;
	case MKV_ID_CLUSTER:
		return fail_at(e->offset, "Cluster inside the stream header",
			       err_off, err);
	default:
		if (h->num_extra == MKV_HEADER_MAX_EXTRA)
			return fail_at(e->offset, "too many header elements",
				       err_off, err);
		h->extra[h->num_extra].off = e->offset;
		h->extra[h->num_extra].len = end - e->offset;
		h->num_extra++;
		return 0;
	}
}

int mkv_header_split(const uint8_t *buf, size_t len, struct mkv_header *h,
		     size_t *err_off, const char **err)
{
	memset(h, 0, sizeof(*h));
	h->timecode_scale = DEFAULT_TIMECODE_SCALE;
	struct mkv_elem e;
	if (read_whole(buf, len, 0, &e, err_off, err))
		return -1;
	if (e.id != MKV_ID_EBML)
		return fail_at(0, "no EBML header", err_off, err);
	h->ebml.off = 0;
	h->ebml.len = mkv_elem_end(&e, len);

	size_t off = h->ebml.len;
	int r = mkv_elem_read(buf, len, off, &e);
	if (r <= 0 || e.id != MKV_ID_SEGMENT)
		return fail_at(off, "no Segment after the EBML header", err_off,
			       err);
	size_t end = len;
	if (e.size != EBML_SIZE_UNKNOWN && mkv_elem_end(&e, len) != SIZE_MAX)
		end = mkv_elem_end(&e, len);
	int have_info = 0;
	for (off += e.head_len; off < end;) {
		struct mkv_elem c;
		if (read_whole(buf, end, off, &c, err_off, err))
			return -1;
		size_t c_end = mkv_elem_end(&c, end);
		if (add_child(buf, &c, c_end, h, err_off, err))
			return -1;
		have_info |= c.id == MKV_ID_INFO;
		off = c_end;
	}
	if (!have_info)
		return fail_at(len, "no Info in the stream header", err_off,
			       err);
	if (!h->tracks.len)
		return fail_at(len, "no Tracks in the stream header", err_off,
			       err);
	return 0;
}

/* Block header: track number (EBML vint), int16 timecode, flags. */
static int read_block_head(const uint8_t *p, size_t n, uint64_t *track,
			   int16_t *rel, uint8_t *flags)
{
	int tl = ebml_read_size(p, n, track);
	if (tl <= 0 || *track == EBML_SIZE_UNKNOWN || n < (size_t)tl + 3)
		return -1;
	*rel = (int16_t)(((unsigned)p[tl] << 8) | p[tl + 1]);
	*flags = p[tl + 2];
	return 0;
}

static void note_block(struct mkv_frame_scan *s, uint64_t track, int16_t rel,
		       int key)
{
	if (s->blocks == 0) {
		s->first_key = key;
		s->first_track = track;
		s->first_rel = rel;
		s->max_rel = rel;
	} else if (rel > s->max_rel) {
		s->max_rel = rel;
	}
	s->blocks++;
}

static int scan_block_group(const uint8_t *buf, const struct mkv_elem *g,
			    struct mkv_frame_scan *s, size_t *err_off,
			    const char **err)
{
	size_t end = g->offset + g->head_len + (size_t)g->size;
	int have_block = 0, referenced = 0;
	uint64_t track = 0;
	int16_t rel = 0;
	for (size_t off = g->offset + g->head_len; off < end;) {
		struct mkv_elem e;
		if (read_whole(buf, end, off, &e, err_off, err))
			return -1;
		const uint8_t *p = buf + off + e.head_len;
		if (e.id == MKV_ID_BLOCK) {
			uint8_t flags;
			if (read_block_head(p, (size_t)e.size, &track, &rel,
					    &flags))
				return fail_at(off, "bad Block header", err_off,
					       err);
			have_block = 1;
		} else if (e.id == MKV_ID_REFERENCE_BLOCK) {
			referenced = 1;
		}
		off = mkv_elem_end(&e, end);
	}
	if (!have_block)
		return fail_at(g->offset, "BlockGroup without a Block", err_off,
			       err);
	note_block(s, track, rel, !referenced);
	return 0;
}

static int scan_element(const uint8_t *buf, const struct mkv_elem *e,
			struct mkv_frame_scan *s, size_t *err_off,
			const char **err)
{
	const uint8_t *p = buf + e->offset + e->head_len;
	switch (e->id) {
	case MKV_ID_TIMECODE:
		if (e->size > 8)
			return fail_at(e->offset, "bad Cluster Timecode",
				       err_off, err);
		s->has_timecode = 1;
		s->cluster_timecode = ebml_read_uint(p, (size_t)e->size);
		return 0;
	case MKV_ID_SIMPLE_BLOCK: {
		uint64_t track;
		int16_t rel;
		uint8_t flags;
		if (read_block_head(p, (size_t)e->size, &track, &rel, &flags))
			return fail_at(e->offset, "bad SimpleBlock header",
				       err_off, err);
		note_block(s, track, rel, (flags & 0x80) != 0);
		return 0;
	}
	case MKV_ID_BLOCK_GROUP:
		return scan_block_group(buf, e, s, err_off, err);
	default:
		return 0; /* Void, Position, PrevSize, Tags: nothing to note */
	}
}

int mkv_scan_frame(const uint8_t *buf, size_t len, struct mkv_frame_scan *s,
		   size_t *err_off, const char **err)
{
	memset(s, 0, sizeof(*s));
	s->level1_off = len;
	size_t off = 0;
	while (off < len) {
		struct mkv_elem e;
		int r = mkv_elem_read(buf, len, off, &e);
		if (r < 0)
			return fail_at(off, "not an EBML element", err_off,
				       err);
		if (r == 0)
			return fail_at(off, "element header cut short", err_off,
				       err);
		if (is_level1(e.id)) {
			if (s->has_cluster)
				return fail_at(
				    off,
				    "level-1 element after a Cluster "
				    "in one frame",
				    err_off, err);
			if (s->blocks)
				return fail_at(off,
					       "level-1 element after blocks "
					       "in one frame",
					       err_off, err);
			if (s->level1_off == len)
				s->level1_off = off;
		}
		if (e.id == MKV_ID_CLUSTER) {
			s->has_cluster = 1;
			s->cluster_off = off;
			s->cluster_size_off = off + e.head_len - e.size_len;
			s->cluster_size_len = e.size_len;
			off += e.head_len; /* its children follow */
			continue;
		}
		if (e.size == EBML_SIZE_UNKNOWN)
			return fail_at(off, "element of unknown size", err_off,
				       err);
		size_t end = mkv_elem_end(&e, len);
		if (end == SIZE_MAX)
			return fail_at(off, "element runs past the frame",
				       err_off, err);
		if (scan_element(buf, &e, s, err_off, err))
			return -1;
		off = end;
	}
	return 0;
}
