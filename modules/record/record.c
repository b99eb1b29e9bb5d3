/* record: Matroska in, segment files out.
 *
 * Each file starts with the stream header (rewritten with room for an index)
 * and a fragment's key frame, so it plays alone. While written it is a live
 * Matroska stream that plays up to its last complete cluster after a power
 * cut; on a clean close it is finalised so players can seek. Retention
 * follows the KVS Edge Agent's local storage: max-size with delete-oldest or
 * deny-new, and max-age. Write errors (disk full, directory gone) drop media
 * until a later fragment finds the disk writable again: the node never
 * fails for them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vpipe/vpipe.h>

#include "mkv_scan.h"
#include "segment.h"
#include "store.h"

#define WRITE_BUFFER_BYTES    (256 * 1024)
#define RETRY_INTERVAL_NS     (1 * VPIPE_S)
#define AGE_CHECK_INTERVAL_NS (60 * VPIPE_S)
#define MIB		      (1024 * 1024)
/* With a size limit, no file may hold more than this share of it, so
 * delete-oldest never has to drop the file being written. */
#define MAX_SIZE_SEGMENT_SHARE 4

enum on_full { ON_FULL_DELETE_OLDEST, ON_FULL_DENY_NEW };
static const char *const on_full_choices[] = {"delete-oldest", "deny-new",
					      NULL};

struct record_cfg {
	const char *location;
	int64_t segment_duration; /* ns, 0: no limit */
	int64_t segment_size;	  /* bytes, 0: no limit */
	int64_t max_size;	  /* bytes, 0: no limit */
	int64_t max_age;	  /* ns, 0: keep */
	int on_full;
	int64_t sync_interval; /* ns, 0: only at close */
	const char *file_prefix;
};

enum rec_mode {
	REC_OK,
	REC_FAILED, /* a write failed: retry at a later fragment */
	REC_DENIED, /* max-size reached with deny-new */
};

struct record {
	struct vpipe_node *node;
	struct record_cfg cfg;
	char prefix[NAME_MAX];
	uint64_t max_bytes;
	uint64_t segment_limit; /* effective segment size limit, 0: none */

	uint8_t *hdr; /* the current stream header frame */
	size_t hdr_len;
	struct mkv_header parts;
	bool have_header;

	struct seg_writer w;
	char cur_name[NAME_MAX + 1];
	struct rec_store store;

	enum rec_mode mode;
	int64_t next_retry;
	bool probe_write; /* flush the first frame to prove space is back */
	uint64_t dropped; /* frames dropped in this episode */
	int64_t last_sync;
	bool dir_synced;
	int64_t last_age_check;
	uint64_t frag_bytes, last_frag_bytes;
	bool warned_huge_fragment;
};

static const struct vpipe_param record_params[] = {
    VPIPE_P_PATH("location", struct record_cfg, location, NULL,
		 VPIPE_PARAM_REQUIRED,
		 "directory for the segment files (created if missing)"),
    VPIPE_P_DURATION("segment-duration", struct record_cfg, segment_duration,
		     "60s", 0, 86400, VPIPE_S,
		     "start a new file at the first fragment this long "
		     "after the file's start; 0: no limit"),
    VPIPE_P_SIZE("segment-size", struct record_cfg, segment_size, "0", 0,
		 (double)(1LL << 40),
		 "start a new file at the fragment that would take it "
		 "past this size; 0: no limit"),
    /* Retention changes at run time (reload): see record_reconfigure. */
    VPIPE_P_("max-size", VPIPE_PARAM_SIZE, VPIPE_PARAM_RUNTIME,
	     struct record_cfg, max_size, "0", 0, 2000000.0 * (1 << 20), NULL,
	     0,
	     "what all of this node's files may use "
	     "(MaxLocalMediaSizeInMB); 0: no limit; changes on reload"),
    VPIPE_P_("max-age", VPIPE_PARAM_DURATION, VPIPE_PARAM_RUNTIME,
	     struct record_cfg, max_age, "720h", 0, 315360000, NULL, VPIPE_S,
	     "delete files last written longer ago than this "
	     "(EdgeRetentionInHours); 0: keep; changes on reload"),
    VPIPE_P_("on-full", VPIPE_PARAM_ENUM, VPIPE_PARAM_RUNTIME,
	     struct record_cfg, on_full, "delete-oldest", 1, 0, on_full_choices,
	     0,
	     "at max-size: delete the oldest files, or record "
	     "nothing new until space frees; changes on reload"),
    VPIPE_P_DURATION("sync-interval", struct record_cfg, sync_interval, "5s", 0,
		     3600, VPIPE_S,
		     "write out and fsync at least this often (media at "
		     "risk on power loss); 0: only at file close"),
    VPIPE_P_STRING("file-prefix", struct record_cfg, file_prefix, NULL, 0,
		   "file names start with this, then the UTC start "
		   "time; default: the node name and '-'"),
    VPIPE_P_END,
};

static void set_gauges(struct record *r)
{
	vpipe_node_gauge(r->node, "recording",
			 r->w.fd >= 0 && r->mode == REC_OK);
	if (r->max_bytes) {
		uint64_t used =
		    r->store.total + (r->w.fd >= 0 ? seg_size(&r->w) : 0);
		vpipe_node_gauge(r->node, "space_used_percent",
				 (int64_t)(used * 100 / r->max_bytes));
	}
}

static void drop(struct record *r)
{
	r->dropped++;
	vpipe_node_count(r->node, "dropped_frames_total", 1);
}

static void rescan(struct record *r)
{
	int rc = store_scan(&r->store, r->w.fd >= 0 ? r->cur_name : NULL);
	if (rc && rc != -ENOENT)
		vpipe_warn(r->node, "cannot list %s: %s", r->cfg.location,
			   strerror(-rc));
}

static void enter_failed(struct record *r)
{
	r->mode = REC_FAILED;
	r->next_retry = vpipe_now() + RETRY_INTERVAL_NS;
	r->probe_write = false;
	set_gauges(r);
}

/* A write to the current file failed: keep what plays, then wait. */
static void on_write_error(struct record *r, int rc)
{
	int err = -rc;
	vpipe_node_count(r->node, "write_errors_total", 1);
	if (err == ENOSPC || err == EDQUOT || err == EFBIG)
		vpipe_node_count(r->node, "disk_full_total", 1);
	if (r->mode != REC_FAILED) {
		vpipe_error(r->node,
			    "%s %s at byte %llu: %s; media is dropped until "
			    "a later fragment can be written",
			    r->w.err_op ? r->w.err_op : "write", r->w.path,
			    (unsigned long long)r->w.err_off, strerror(err));
		r->dropped = 0;
	}
	if (r->w.fd >= 0) {
		const char *path = r->w.path;
		if (seg_abandon(&r->w))
			vpipe_warn(r->node,
				   "%s kept up to its last complete cluster",
				   path);
		else
			vpipe_warn(r->node, "%s removed: no complete cluster",
				   path);
	}
	enter_failed(r);
	rescan(r);
}

static void sync_dir(struct record *r)
{
	int fd = open(r->cfg.location, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static void close_segment(struct record *r, const char *why)
{
	if (r->w.fd < 0)
		return;
	uint64_t frames = r->w.frames;
	int64_t dur = seg_duration_ns(&r->w);
	size_t cues = r->w.num_cues;
	int rc = seg_finish(&r->w);
	if (rc && r->w.fd >= 0) {
		on_write_error(r, rc);
		return;
	}
	if (rc) {
		vpipe_warn(r->node,
			   "%s closed without an index: %s at byte "
			   "%llu: %s",
			   r->w.path, r->w.err_op,
			   (unsigned long long)r->w.err_off, strerror(-rc));
		vpipe_node_count(r->node, "write_errors_total", 1);
	}
	vpipe_node_count(r->node, "segments_closed_total", 1);
	vpipe_info(r->node, "closed %s (%s): %llu frames, %.3f s, %zu cues",
		   r->w.path, why, (unsigned long long)frames, dur / 1e9, cues);
	sync_dir(r);
	r->cur_name[0] = '\0';
	rescan(r);
	set_gauges(r);
}

static int make_dir(const char *path)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	struct stat st;
	if (stat(tmp, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static void expire_old(struct record *r)
{
	r->last_age_check = vpipe_now();
	if (r->cfg.max_age <= 0)
		return;
	int64_t limit = vpipe_wallclock() - r->cfg.max_age;
	for (size_t i = 0; i < r->store.n;) {
		if (r->store.files[i].mtime_ns >= limit) {
			i++;
			continue;
		}
		char *name = r->store.files[i].name;
		vpipe_info(r->node, "deleting %s/%s: older than max-age",
			   r->cfg.location, name);
		int rc = store_delete(&r->store, i);
		if (rc) {
			vpipe_warn(r->node, "cannot delete %s/%s: %s",
				   r->cfg.location, name, strerror(-rc));
			i++;
			continue;
		}
		vpipe_node_count(r->node, "segments_deleted_total", 1);
	}
}

static bool delete_oldest(struct record *r)
{
	if (!r->store.n)
		return false;
	struct store_file *f = &r->store.files[0];
	vpipe_info(r->node, "deleting %s/%s (%llu bytes): max-size reached",
		   r->cfg.location, f->name, (unsigned long long)f->size);
	int rc = store_delete(&r->store, 0);
	if (rc) {
		vpipe_warn(r->node, "cannot delete %s/%s: %s", r->cfg.location,
			   f->name, strerror(-rc));
		return false;
	}
	vpipe_node_count(r->node, "segments_deleted_total", 1);
	return true;
}

static uint64_t used_bytes(const struct record *r)
{
	return r->store.total + (r->w.fd >= 0 ? seg_size(&r->w) : 0);
}

/* At a fragment start: is there room for about one more fragment? */
static bool make_room(struct record *r, size_t frame_len)
{
	uint64_t need =
	    r->last_frag_bytes > frame_len ? r->last_frag_bytes : frame_len;
	if (r->w.fd < 0)
		need += r->hdr_len + SEG_SEEKHEAD_ROOM;
	if (used_bytes(r) + need <= r->max_bytes) {
		if (r->mode == REC_DENIED) {
			vpipe_info(
			    r->node,
			    "space under max-size again: "
			    "recording resumes after %llu dropped frames",
			    (unsigned long long)r->dropped);
			r->mode = REC_OK;
		}
		return true;
	}
	if (r->cfg.on_full == ON_FULL_DENY_NEW) {
		if (r->mode != REC_DENIED) {
			vpipe_warn(r->node,
				   "max-size reached (%llu of %llu bytes "
				   "used): no new media until space frees "
				   "(on-full = deny-new)",
				   (unsigned long long)used_bytes(r),
				   (unsigned long long)r->max_bytes);
			r->dropped = 0;
			r->mode = REC_DENIED;
		}
		close_segment(r, "max-size reached");
		return false;
	}
	while (used_bytes(r) + need > r->max_bytes && delete_oldest(r))
		;
	if (used_bytes(r) + need > r->max_bytes && r->w.fd >= 0) {
		close_segment(r, "max-size reached");
		while (used_bytes(r) + need > r->max_bytes && delete_oldest(r))
			;
	}
	if (used_bytes(r) + need > r->max_bytes && !r->warned_huge_fragment) {
		vpipe_warn(r->node,
			   "one fragment (%llu bytes) does not fit "
			   "in max-size (%llu bytes): recording it anyway",
			   (unsigned long long)need,
			   (unsigned long long)r->max_bytes);
		r->warned_huge_fragment = true;
	}
	return true;
}

/* Inside a fragment only closed files may go, never the fragment itself. */
static void make_room_within(struct record *r, size_t frame_len)
{
	while (r->cfg.on_full == ON_FULL_DELETE_OLDEST &&
	       used_bytes(r) + frame_len > r->max_bytes && delete_oldest(r))
		;
}

static int64_t frame_wallclock(const struct vpipe_frame *in)
{
	if (in->wallclock > 0 && in->wallclock != VPIPE_TIME_NONE)
		return in->wallclock;
	return vpipe_wallclock();
}

static void open_segment(struct record *r, const struct vpipe_frame *in)
{
	int64_t wall = frame_wallclock(in);
	char path[PATH_MAX];
	int rc = -EEXIST;
	for (unsigned dup = 0; dup < 100 && rc == -EEXIST; dup++) {
		if (store_format_name(r->cur_name, sizeof(r->cur_name),
				      r->prefix, wall, dup) ||
		    snprintf(path, sizeof(path), "%s/%s", r->cfg.location,
			     r->cur_name) >= (int)sizeof(path)) {
			rc = -ENAMETOOLONG;
			break;
		}
		rc = seg_open(&r->w, path, r->hdr, &r->parts, wall,
			      WRITE_BUFFER_BYTES);
	}
	if (rc) {
		if (r->w.fd < 0)
			snprintf(r->w.path, sizeof(r->w.path), "%s", path);
		on_write_error(r, rc);
		return;
	}
	vpipe_node_count(r->node, "segments_opened_total", 1);
	vpipe_info(r->node, "recording to %s", path);
	r->probe_write = r->mode == REC_FAILED;
	r->last_sync = vpipe_now();
	r->dir_synced = false;
	r->frag_bytes = 0;
}

static const char *rotation_reason(struct record *r,
				   const struct mkv_frame_scan *s)
{
	const struct seg_writer *w = &r->w;
	if (s->has_cluster && w->cluster_open &&
	    s->cluster_timecode < w->cluster_tc)
		return "timecodes went back";
	if (r->cfg.segment_duration > 0 && w->have_time && s->has_cluster) {
		int64_t t = (int64_t)(s->cluster_timecode - w->first_tc) *
			    (int64_t)w->timecode_scale;
		if (s->cluster_timecode >= w->first_tc &&
		    t >= r->cfg.segment_duration)
			return "segment-duration";
	}
	if (r->segment_limit && w->frames &&
	    seg_size(w) + r->last_frag_bytes > r->segment_limit)
		return "segment-size";
	return NULL;
}

static void at_fragment_start(struct record *r, const struct vpipe_frame *in,
			      const struct mkv_frame_scan *s)
{
	if (r->frag_bytes)
		r->last_frag_bytes = r->frag_bytes;
	r->frag_bytes = 0;
	if (r->w.fd >= 0) {
		const char *why = rotation_reason(r, s);
		if (why)
			close_segment(r, why);
	}
	int64_t now = vpipe_now();
	if (r->mode == REC_FAILED && now < r->next_retry)
		return;
	if (r->mode != REC_OK && r->w.fd < 0) {
		int rc = make_dir(r->cfg.location);
		if (rc) {
			vpipe_node_count(r->node, "write_errors_total", 1);
			if (r->mode != REC_FAILED)
				vpipe_error(r->node,
					    "cannot use directory "
					    "%s: %s",
					    r->cfg.location, strerror(-rc));
			enter_failed(r);
			return;
		}
		rescan(r);
	}
	if (r->w.fd < 0 || now - r->last_age_check >= AGE_CHECK_INTERVAL_NS)
		expire_old(r);
	if (r->max_bytes && !make_room(r, in->size))
		return;
	if (r->w.fd < 0)
		open_segment(r, in);
	set_gauges(r);
}

static void maybe_sync(struct record *r)
{
	if (r->cfg.sync_interval <= 0)
		return;
	int64_t now = vpipe_now();
	if (now - r->last_sync < r->cfg.sync_interval)
		return;
	r->last_sync = now;
	int rc = seg_sync(&r->w);
	if (rc) {
		on_write_error(r, rc);
		return;
	}
	if (!r->dir_synced) {
		sync_dir(r);
		r->dir_synced = true;
	}
}

static void write_frame(struct record *r, const struct vpipe_frame *in,
			const struct mkv_frame_scan *s)
{
	if (r->max_bytes)
		make_room_within(r, in->size);
	int64_t dur = in->duration > 0 ? in->duration : 0;
	int rc = seg_write_frame(&r->w, in->data, in->size, s, in->pts, dur);
	if (rc == 0 && r->probe_write)
		rc = seg_flush(&r->w);
	if (rc) {
		drop(r);
		on_write_error(r, rc);
		return;
	}
	if (r->probe_write) {
		vpipe_info(r->node,
			   "%s is writable again: recording resumes "
			   "after %llu dropped frames",
			   r->w.path, (unsigned long long)r->dropped);
		r->probe_write = false;
		r->mode = REC_OK;
		set_gauges(r);
	}
	r->frag_bytes += in->size;
	vpipe_node_count(r->node, "written_frames_total", 1);
	vpipe_node_count(r->node, "written_bytes_total", (int64_t)in->size);
	maybe_sync(r);
}

static bool same_header(const struct record *r, const struct vpipe_frame *in)
{
	return r->have_header && r->hdr_len == in->size &&
	       memcmp(r->hdr, in->data, in->size) == 0;
}

static void on_header(struct record *r, const struct vpipe_frame *in)
{
	if (same_header(r, in))
		return;
	close_segment(r, "new stream header");
	r->have_header = false;
	uint8_t *copy = malloc(in->size ? in->size : 1);
	if (!copy) {
		vpipe_error(r->node, "no memory for a %zu-byte header",
			    in->size);
		return;
	}
	memcpy(copy, in->data, in->size);
	free(r->hdr);
	r->hdr = copy;
	r->hdr_len = in->size;
	size_t off = 0;
	const char *err = NULL;
	if (mkv_header_split(r->hdr, r->hdr_len, &r->parts, &off, &err)) {
		vpipe_error(r->node,
			    "stream header (frame %llu, %zu bytes): "
			    "%s at byte %zu; media dropped until a valid one",
			    (unsigned long long)in->seq, in->size, err, off);
		vpipe_node_count(r->node, "bad_frames_total", 1);
		return;
	}
	r->have_header = true;
}

static void on_data(struct record *r, const struct vpipe_frame *in)
{
	struct mkv_frame_scan s;
	size_t off = 0;
	const char *err = NULL;
	if (mkv_scan_frame(in->data, in->size, &s, &off, &err) == 0 &&
	    s.has_cluster && !s.has_timecode) {
		err = "Cluster without a Timecode";
		off = s.cluster_off;
	}
	if (err) {
		vpipe_error(r->node,
			    "frame %llu (%zu bytes): %s at byte %zu; "
			    "dropped",
			    (unsigned long long)in->seq, in->size, err, off);
		vpipe_node_count(r->node, "bad_frames_total", 1);
		drop(r);
		return;
	}
	bool starts_fragment = (in->flags & VPIPE_FLAG_FRAGMENT_START) ||
			       (s.has_cluster && s.blocks && s.first_key);
	if (!r->have_header) {
		drop(r);
		return;
	}
	if (starts_fragment)
		at_fragment_start(r, in, &s);
	if (r->w.fd < 0) {
		drop(r);
		return;
	}
	write_frame(r, in, &s);
}

static int record_process(void *state, unsigned port,
			  const struct vpipe_frame *in)
{
	struct record *r = state;
	(void)port;
	if (in->media != VPIPE_MEDIA_MKV || !in->size)
		return 0;
	if (in->flags & VPIPE_FLAG_HEADER)
		on_header(r, in);
	else
		on_data(r, in);
	return 0;
}

static void set_limits(struct record *r)
{
	r->max_bytes = (uint64_t)r->cfg.max_size;
	r->segment_limit = (uint64_t)r->cfg.segment_size;
	if (r->max_bytes) {
		uint64_t share = r->max_bytes / MAX_SIZE_SEGMENT_SHARE;
		if (!r->segment_limit || r->segment_limit > share)
			r->segment_limit = share;
	}
}

/* A reload changed max-size, max-age or on-full (the other keys are as
 * before): the new limits hold from the next fragment, and files older
 * than the new max-age go now. */
static int record_reconfigure(void *state, const void *config)
{
	struct record *r = state;
	r->cfg = *(const struct record_cfg *)config;
	/* from now on everything comes from the new config */
	r->store.dir = r->cfg.location;
	set_limits(r);
	vpipe_info(r->node,
		   "retention now max-size %llu MiB, max-age %.0f h, "
		   "on-full %s",
		   (unsigned long long)(r->max_bytes >> 20),
		   (double)r->cfg.max_age / 3600e9,
		   on_full_choices[r->cfg.on_full]);
	if (r->mode != REC_FAILED)
		expire_old(r);
	set_gauges(r);
	return 0;
}

static int record_create(struct vpipe_node *node, const void *config,
			 void **state)
{
	const struct record_cfg *cfg = config;
	if (!cfg->location || !cfg->location[0]) {
		vpipe_error(node, "location: a directory is required");
		return -1;
	}
	const char *prefix = cfg->file_prefix;
	char def[NAME_MAX];
	if (!prefix || !prefix[0]) {
		snprintf(def, sizeof(def), "%s-", vpipe_node_name(node));
		prefix = def;
	}
	if (strchr(prefix, '/') || strlen(prefix) > NAME_MAX - 40) {
		vpipe_error(node,
			    "file-prefix '%s': no '/' and at most %d "
			    "bytes",
			    prefix, NAME_MAX - 40);
		return -1;
	}
	struct record *r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	r->node = node;
	r->cfg = *cfg;
	snprintf(r->prefix, sizeof(r->prefix), "%s", prefix);
	set_limits(r);
	seg_init(&r->w);
	store_init(&r->store, r->cfg.location, r->prefix);
	*state = r;
	return 0;
}

static int record_start(void *state)
{
	struct record *r = state;
	r->mode = REC_OK;
	r->dropped = 0;
	r->frag_bytes = r->last_frag_bytes = 0;
	int rc = make_dir(r->cfg.location);
	if (rc) {
		vpipe_error(r->node,
			    "cannot use directory %s: %s; will retry "
			    "at each fragment",
			    r->cfg.location, strerror(-rc));
		vpipe_node_count(r->node, "write_errors_total", 1);
		enter_failed(r);
		r->next_retry = vpipe_now();
		return 0;
	}
	rescan(r);
	expire_old(r);
	set_gauges(r);
	int64_t tick = r->cfg.sync_interval > 0 ? r->cfg.sync_interval
						: AGE_CHECK_INTERVAL_NS;
	vpipe_node_set_timer(r->node, tick < AGE_CHECK_INTERVAL_NS
					  ? tick
					  : AGE_CHECK_INTERVAL_NS);
	return 0;
}

/* The kernel calls this every sync-interval (at most every minute), also
 * while the stream stalls: what was written reaches the card within
 * sync-interval, and old files expire on time, whether or not frames come. */
static int record_timer(void *state)
{
	struct record *r = state;
	if (r->w.fd >= 0)
		maybe_sync(r);
	if (vpipe_now() - r->last_age_check >= AGE_CHECK_INTERVAL_NS)
		expire_old(r);
	return 0;
}

static int record_flush(void *state)
{
	close_segment(state, "end of stream");
	return 0;
}

static void record_stop(void *state)
{
	close_segment(state, "stop");
}

static void record_destroy(void *state)
{
	struct record *r = state;
	if (!r)
		return;
	close_segment(r, "destroy"); /* only if stop() was never called */
	seg_release(&r->w);
	store_free(&r->store);
	free(r->hdr);
	free(r);
}

static const struct vpipe_port record_inputs[] = {
    {.name = "in", .media = VPIPE_MEDIA_MKV},
    {.name = NULL},
};

VPIPE_MODULE = {
    .abi_version = VPIPE_ABI_VERSION,
    .struct_size = sizeof(struct vpipe_module),
    .name = "record",
    .version = "1.0",
    .summary = "Matroska stream to seekable segment files with retention",
    .inputs = record_inputs,
    .params = record_params,
    .config_size = sizeof(struct record_cfg),
    .create = record_create,
    .start = record_start,
    .process = record_process,
    .flush = record_flush,
    .timer = record_timer,
    .stop = record_stop,
    .destroy = record_destroy,
    .reconfigure = record_reconfigure,
};
