/* Segment files: header rewrite, buffered appends, finalisation. */
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "ebml.h"

/* Matroska dates count ns from 2001-01-01T00:00:00 UTC. */
#define MKV_EPOCH_UNIX_S  978307200LL
#define DURATION_ELEM_LEN 11 /* ID (2) + size (1) + float64 (8) */
#define SEEK_ENTRY_LEN	  21 /* Seek (3) + SeekID (7) + SeekPosition (11) */

static const uint8_t unknown_size8[8] = {0x01, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff};

void seg_init(struct seg_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

void seg_release(struct seg_writer *w)
{
	free(w->buf);
	free(w->cues);
	free(w->bounds);
	seg_init(w);
}

uint64_t seg_size(const struct seg_writer *w)
{
	return w->written + w->buf_len;
}

int64_t seg_duration_ns(const struct seg_writer *w)
{
	if (w->have_pts > 0)
		return w->end_pts - w->first_pts;
	if (!w->have_time)
		return 0;
	return (int64_t)((w->end_tc - w->first_tc) * w->timecode_scale);
}

static int fail(struct seg_writer *w, const char *op, uint64_t off)
{
	int err = errno ? errno : EIO;
	w->err_op = op;
	w->err_off = off;
	return -err;
}

/* Writes all of p at the end of the file. */
static int write_all(struct seg_writer *w, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = write(w->fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ENOSPC;
			return fail(w, "write", w->written);
		}
		w->written += (uint64_t)r;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int seg_flush(struct seg_writer *w)
{
	if (w->fd < 0 || !w->buf_len)
		return 0;
	uint64_t before = w->written;
	int rc = write_all(w, w->buf, w->buf_len);
	size_t done = (size_t)(w->written - before);
	memmove(w->buf, w->buf + done, w->buf_len - done);
	w->buf_len -= done;
	return rc;
}

static int append(struct seg_writer *w, const uint8_t *p, size_t n)
{
	if (w->buf_len + n > w->buf_cap) {
		int rc = seg_flush(w);
		if (rc)
			return rc;
	}
	if (n > w->buf_cap)
		return write_all(w, p, n); /* a frame larger than the buffer */
	memcpy(w->buf + w->buf_len, p, n);
	w->buf_len += n;
	return 0;
}

/* Overwrites bytes at `off`, in the buffer or already in the file. */
static int patch(struct seg_writer *w, uint64_t off, const uint8_t *p, size_t n)
{
	while (n) {
		if (off >= w->written) {
			memcpy(w->buf + (off - w->written), p, n);
			return 0;
		}
		size_t k = n;
		if (off + k > w->written)
			k = (size_t)(w->written - off);
		ssize_t r = pwrite(w->fd, p, k, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return fail(w, "pwrite", off);
		off += (uint64_t)r;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int patch_size8(struct seg_writer *w, uint64_t off, uint64_t size)
{
	uint8_t tmp[8];
	ebml_write_size(tmp, size, 8);
	return patch(w, off, tmp, sizeof(tmp));
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, c * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static int is_segment_specific(uint32_t id)
{
	switch (id) {
	case MKV_ID_DURATION:
	case MKV_ID_DATE_UTC:
	case MKV_ID_SEGMENT_UID:
	case MKV_ID_VOID:
	case 0x3CB923: /* PrevUID */
	case 0x3EB923: /* NextUID */
	case 0x3C83AB: /* PrevFilename */
	case 0x3E83BB: /* NextFilename */
	case 0x7384:   /* SegmentFilename */
		return 1;
	default:
		return 0;
	}
}

static void put_void(struct ebml_buf *b, size_t total)
{
	/* total >= 2; one size byte holds up to 126 */
	size_t width = total - 2 <= 126 ? 1 : 8;
	ebml_put_id(b, MKV_ID_VOID);
	ebml_put_size(b, total - 1 - width, (int)width);
	if (ebml_buf_reserve(b, total - 1 - width) == 0) {
		memset(b->data + b->len, 0, total - 1 - width);
		b->len += total - 1 - width;
	}
}

/* Info: the muxer's children minus what names one particular segment, plus
 * DateUTC and a Void the final Duration replaces. */
static void put_info(struct seg_writer *w, struct ebml_buf *b,
		     const uint8_t *hdr, const struct mkv_header *h,
		     int64_t wall_ns)
{
	size_t mark = ebml_begin_master(b, MKV_ID_INFO, 8);
	size_t end = h->info.off + h->info.len;
	for (size_t off = h->info.off; off < end;) {
		struct mkv_elem e;
		if (mkv_elem_read(hdr, end, off, &e) != 1)
			break; /* mkv_header_split checked every child */
		size_t e_end = mkv_elem_end(&e, end);
		if (!is_segment_specific(e.id))
			ebml_put_bytes(b, hdr + off, e_end - off);
		off = e_end;
	}
	if (wall_ns > 0) {
		uint8_t date[8];
		wr_be64(date,
			(uint64_t)(wall_ns - MKV_EPOCH_UNIX_S * 1000000000LL));
		ebml_put_binary(b, MKV_ID_DATE_UTC, date, sizeof(date));
	}
	w->duration_off = b->len;
	put_void(b, DURATION_ELEM_LEN);
	ebml_end_master(b, mark);
}

static int build_header(struct seg_writer *w, struct ebml_buf *b,
			const uint8_t *hdr, const struct mkv_header *h,
			int64_t wall_ns)
{
	ebml_put_bytes(b, hdr + h->ebml.off, h->ebml.len);
	ebml_put_id(b, MKV_ID_SEGMENT);
	w->seg_size_off = b->len;
	ebml_put_bytes(b, unknown_size8, sizeof(unknown_size8));
	w->seg_data_off = b->len;
	w->seekhead_off = b->len;
	put_void(b, SEG_SEEKHEAD_ROOM);
	w->info_pos = b->len - w->seg_data_off;
	put_info(w, b, hdr, h, wall_ns);
	w->tracks_pos = b->len - w->seg_data_off;
	ebml_put_bytes(b, hdr + h->tracks.off, h->tracks.len);
	for (unsigned i = 0; i < h->num_extra; i++)
		ebml_put_bytes(b, hdr + h->extra[i].off, h->extra[i].len);
	return b->failed ? -ENOMEM : 0;
}

int seg_open(struct seg_writer *w, const char *path, const uint8_t *hdr,
	     const struct mkv_header *h, int64_t wall_ns, size_t buf_cap)
{
	if (strlen(path) >= sizeof(w->path))
		return -ENAMETOOLONG;
	if (w->buf_cap < buf_cap) {
		uint8_t *nb = realloc(w->buf, buf_cap);
		if (!nb)
			return -ENOMEM;
		w->buf = nb;
		w->buf_cap = buf_cap;
	}
	w->buf_len = 0;
	w->written = 0;
	w->cluster_open = 0;
	w->cue_pending = 0;
	w->have_time = 0;
	w->have_pts = 0;
	w->num_cues = 0;
	w->num_bounds = 0;
	w->frames = 0;
	w->timecode_scale = h->timecode_scale;
	snprintf(w->path, sizeof(w->path), "%s", path);

	/* the header starts the file, so offsets in b are file offsets */
	struct ebml_buf b = {0};
	int rc = build_header(w, &b, hdr, h, wall_ns);
	if (rc == 0) {
		w->fd =
		    open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (w->fd < 0)
			rc = fail(w, "create", 0);
		else
			rc = append(w, b.data, b.len);
	}
	ebml_buf_free(&b);
	return rc;
}

static void note_time(struct seg_writer *w, const struct mkv_frame_scan *s,
		      int64_t dur_ns)
{
	int64_t first = (int64_t)w->cluster_tc + s->first_rel;
	int64_t last = (int64_t)w->cluster_tc + s->max_rel;
	if (first < 0)
		first = 0;
	if (last < first)
		last = first;
	uint64_t dur = 0;
	if (dur_ns > 0)
		dur = (uint64_t)dur_ns / w->timecode_scale;
	else if (w->have_time && (uint64_t)last > w->last_tc)
		dur = (uint64_t)last - w->last_tc; /* the frame interval */
	if (!w->have_time) {
		w->first_tc = (uint64_t)first;
		w->end_tc = (uint64_t)first;
		w->have_time = 1;
	}
	if ((uint64_t)first < w->first_tc)
		w->first_tc = (uint64_t)first;
	if ((uint64_t)last + dur > w->end_tc)
		w->end_tc = (uint64_t)last + dur;
	w->last_tc = (uint64_t)last;
}

static void note_pts(struct seg_writer *w, int64_t pts_ns, int64_t dur_ns)
{
	if (pts_ns == INT64_MIN) {
		w->have_pts = -1; /* not for this file */
		return;
	}
	if (w->have_pts < 0)
		return;
	if (!w->have_pts || pts_ns < w->first_pts)
		w->first_pts = pts_ns;
	if (!w->have_pts || pts_ns + dur_ns > w->end_pts)
		w->end_pts = pts_ns + dur_ns;
	w->have_pts = 1;
}

static int note_cue(struct seg_writer *w, const struct mkv_frame_scan *s)
{
	w->cue_pending = 0;
	if (!s->first_key)
		return 0;
	if (grow((void **)&w->cues, &w->cap_cues, w->num_cues,
		 sizeof(*w->cues)))
		return -ENOMEM;
	w->cues[w->num_cues++] = (struct seg_cue){
	    .time = w->cluster_tc,
	    .track = s->first_track,
	    .pos = w->cluster_pos,
	};
	return 0;
}

static int begin_cluster(struct seg_writer *w, const uint8_t *data,
			 const struct mkv_frame_scan *s, uint64_t base)
{
	if (w->cluster_open) {
		/* the open cluster ends where this frame's level-1 data starts
		 */
		uint64_t end = base + s->level1_off;
		int rc = patch_size8(w, w->cluster_size_off,
				     end - (w->cluster_size_off + 8));
		if (rc)
			return rc;
	}
	if (grow((void **)&w->bounds, &w->cap_bounds, w->num_bounds,
		 sizeof(*w->bounds)))
		return -ENOMEM;
	w->bounds[w->num_bounds++] = (struct seg_boundary){
	    .off = base,
	    .end_tc = w->end_tc,
	    .end_pts = w->end_pts,
	    .num_cues = w->num_cues,
	    .have_time = w->have_time,
	    .have_pts = w->have_pts,
	};
	/* the size field becomes 8 bytes wide so it can be patched in place */
	int rc = append(w, data, s->cluster_size_off);
	if (rc)
		return rc;
	w->cluster_open = 1;
	w->cluster_size_off = seg_size(w);
	w->cluster_pos = base + s->cluster_off - w->seg_data_off;
	w->cluster_tc = s->has_timecode ? s->cluster_timecode : w->last_tc;
	w->cue_pending = 1;
	return append(w, unknown_size8, sizeof(unknown_size8));
}

int seg_write_frame(struct seg_writer *w, const uint8_t *data, size_t len,
		    const struct mkv_frame_scan *s, int64_t pts_ns,
		    int64_t dur_ns)
{
	if (w->fd < 0)
		return -EBADF;
	uint64_t base = seg_size(w);
	size_t rest = 0;
	int rc;
	if (s->has_cluster) {
		rc = begin_cluster(w, data, s, base);
		if (rc)
			return rc;
		rest = s->cluster_size_off + s->cluster_size_len;
	}
	rc = append(w, data + rest, len - rest);
	if (rc)
		return rc;
	if (s->blocks) {
		if (w->cue_pending && (rc = note_cue(w, s)))
			return rc;
		note_time(w, s, dur_ns);
		note_pts(w, pts_ns, dur_ns);
	}
	/* The header and first frame at once: a process killed before the
	 * first sync must not leave an empty or header-only file, which no
	 * player accepts (tests/e2e/record_kill.sh). */
	if (w->frames++ == 0 && s->blocks)
		return seg_flush(w);
	return 0;
}

int seg_sync(struct seg_writer *w)
{
	int rc = seg_flush(w);
	if (rc)
		return rc;
	if (fdatasync(w->fd))
		return fail(w, "fdatasync", w->written);
	return 0;
}

static void build_cues(const struct seg_writer *w, struct ebml_buf *b)
{
	size_t cues = ebml_begin_master(b, MKV_ID_CUES, 8);
	for (size_t i = 0; i < w->num_cues; i++) {
		const struct seg_cue *c = &w->cues[i];
		size_t pt = ebml_begin_master(b, MKV_ID_CUE_POINT, 1);
		ebml_put_uint(b, MKV_ID_CUE_TIME, c->time);
		size_t tp = ebml_begin_master(b, MKV_ID_CUE_TRACK_POSITIONS, 1);
		ebml_put_uint(b, MKV_ID_CUE_TRACK, c->track);
		ebml_put_uint(b, MKV_ID_CUE_CLUSTER_POSITION, c->pos);
		ebml_end_master(b, tp);
		ebml_end_master(b, pt);
	}
	ebml_end_master(b, cues);
}

static void put_seek(struct ebml_buf *b, uint32_t id, uint64_t pos)
{
	uint8_t idb[4], posb[8];
	wr_be32(idb, id);
	wr_be64(posb, pos);
	size_t m = ebml_begin_master(b, MKV_ID_SEEK, 1);
	ebml_put_binary(b, MKV_ID_SEEK_ID, idb, sizeof(idb));
	ebml_put_binary(b, MKV_ID_SEEK_POSITION, posb, sizeof(posb));
	ebml_end_master(b, m);
}

static void build_seekhead(const struct seg_writer *w, struct ebml_buf *b,
			   uint64_t cues_pos, int have_cues)
{
	size_t m = ebml_begin_master(b, MKV_ID_SEEKHEAD, 1);
	put_seek(b, MKV_ID_INFO, w->info_pos);
	put_seek(b, MKV_ID_TRACKS, w->tracks_pos);
	if (have_cues)
		put_seek(b, MKV_ID_CUES, cues_pos);
	ebml_end_master(b, m);
	put_void(b, SEG_SEEKHEAD_ROOM - b->len);
}

/* Index and header patches of a file whose data is all written. */
static int finalise(struct seg_writer *w)
{
	uint64_t cues_off = w->written;
	struct ebml_buf b = {0};
	int rc = 0;
	if (w->num_cues) {
		build_cues(w, &b);
		rc = b.failed ? -ENOMEM : write_all(w, b.data, b.len);
		if (rc) {
			/* leave no half index behind: the file plays without */
			if (ftruncate(w->fd, (off_t)cues_off) == 0)
				w->written = cues_off;
			goto out;
		}
	}
	ebml_buf_reset(&b);
	double duration = (double)(w->end_tc - w->first_tc);
	if (w->have_pts > 0)
		duration = (double)(w->end_pts - w->first_pts) /
			   (double)w->timecode_scale;
	ebml_put_float(&b, MKV_ID_DURATION, duration);
	if (!b.failed && w->have_time &&
	    (rc = patch(w, w->duration_off, b.data, b.len)))
		goto out;
	ebml_buf_reset(&b);
	build_seekhead(w, &b, cues_off - w->seg_data_off, w->num_cues > 0);
	if (b.failed || b.len != SEG_SEEKHEAD_ROOM) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = patch(w, w->seekhead_off, b.data, b.len)))
		goto out;
	rc = patch_size8(w, w->seg_size_off, w->written - w->seg_data_off);
out:
	ebml_buf_free(&b);
	return rc;
}

static int close_fd(struct seg_writer *w, int rc)
{
	if (rc == 0 && fdatasync(w->fd))
		rc = fail(w, "fdatasync", w->written);
	if (close(w->fd) && rc == 0)
		rc = fail(w, "close", w->written);
	w->fd = -1;
	w->buf_len = 0;
	return rc;
}

int seg_finish(struct seg_writer *w)
{
	if (w->fd < 0)
		return 0;
	int rc = 0;
	if (w->cluster_open) {
		rc = patch_size8(w, w->cluster_size_off,
				 seg_size(w) - (w->cluster_size_off + 8));
		w->cluster_open = 0;
	}
	if (rc == 0)
		rc = seg_flush(w);
	if (rc)
		return rc; /* the caller abandons the file */
	return close_fd(w, finalise(w));
}

int seg_abandon(struct seg_writer *w)
{
	if (w->fd < 0)
		return 0;
	/* the last cluster boundary whose bytes before it are all on disk */
	size_t k = w->num_bounds;
	while (k > 0 && w->bounds[k - 1].off > w->written)
		k--;
	if (k <= 1) {
		/* no complete cluster: nothing worth keeping */
		close(w->fd);
		w->fd = -1;
		w->buf_len = 0;
		unlink(w->path);
		return 0;
	}
	const struct seg_boundary *bd = &w->bounds[k - 1];
	w->buf_len = 0;
	w->cluster_open = 0;
	w->num_cues = bd->num_cues;
	w->end_tc = bd->end_tc;
	w->end_pts = bd->end_pts;
	w->have_time = bd->have_time;
	w->have_pts = bd->have_pts;
	if (ftruncate(w->fd, (off_t)bd->off) == 0) {
		w->written = bd->off;
		close_fd(w, finalise(w));
	} else {
		close_fd(w, -EIO);
	}
	return 1;
}
