/* record module: finalisation, rotation, retention and write-error recovery,
 * driven with synthetic Matroska frames shaped like the mkv module's output
 * (header frame; a fragment's first frame = [Tags] Cluster(unknown size) +
 * Timecode + SimpleBlock; then one SimpleBlock per frame). The module runs
 * without the kernel: the vpipe calls it makes are defined here, with a
 * clock the tests move by hand.
 *
 * RECORD_TEST_KEEP=DIR keeps the files of the first test there, for
 * checking them with mkvinfo/ffprobe (tests/e2e/record_synthetic.sh). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vpipe/vpipe.h>

#include "tests/unit/check.h"
#include "common/bytes.h"
#include "common/ebml.h"
#include "common/mkv_scan.h"
#include "modules/record/store.h"

/* ------------------------------------------------ the vpipe calls, faked */

static int64_t fake_now, fake_wall;
static char last_error[512];
static int error_lines;

struct counter {
	const char *name;
	int64_t value;
};
static struct counter counters[32];

static int64_t *counter_slot(const char *name)
{
	for (int i = 0; i < 32; i++) {
		if (!counters[i].name) {
			counters[i].name = name;
			return &counters[i].value;
		}
		if (strcmp(counters[i].name, name) == 0)
			return &counters[i].value;
	}
	abort();
}

static int64_t counter(const char *name)
{
	return *counter_slot(name);
}

static void reset_counters(void)
{
	memset(counters, 0, sizeof(counters));
	error_lines = 0;
	last_error[0] = '\0';
}

int64_t vpipe_now(void)
{
	return fake_now;
}

int64_t vpipe_wallclock(void)
{
	return fake_wall;
}

void vpipe_node_count(struct vpipe_node *node, const char *name, int64_t d)
{
	(void)node;
	*counter_slot(name) += d;
}

void vpipe_node_gauge(struct vpipe_node *node, const char *name, int64_t v)
{
	(void)node;
	*counter_slot(name) = v;
}

static int64_t timer_interval;

void vpipe_node_set_timer(struct vpipe_node *node, int64_t interval_ns)
{
	(void)node;
	timer_interval = interval_ns;
}

const char *vpipe_node_name(const struct vpipe_node *node)
{
	(void)node;
	return "rec";
}

bool vpipe_log_enabled(int level)
{
	return level <= VPIPE_LOG_WARN;
}

void vpipe_vlog(struct vpipe_node *node, int level, const char *fmt, va_list ap)
{
	(void)node;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	if (level == VPIPE_LOG_ERROR) {
		error_lines++;
		snprintf(last_error, sizeof(last_error), "%s", line);
	}
	if (level <= VPIPE_LOG_INFO && getenv("RECORD_TEST_VERBOSE"))
		fprintf(stderr, "[%d] %s\n", level, line);
}

void vpipe_log(struct vpipe_node *node, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vpipe_vlog(node, level, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------- the module */

extern const struct vpipe_module vpipe_module;

struct record_cfg {
	const char *location;
	int64_t segment_duration;
	int64_t segment_size;
	int64_t max_size;
	int64_t max_age;
	int on_full;
	int64_t sync_interval;
	const char *file_prefix;
};

static struct vpipe_node *const fake_node = (struct vpipe_node *)&fake_now;

static struct record_cfg default_cfg(const char *dir)
{
	return (struct record_cfg){
	    .location = dir,
	    .segment_duration = 0,
	    .sync_interval = 0,
	    .file_prefix = NULL,
	};
}

static void *rec_open(const struct record_cfg *cfg)
{
	void *st = NULL;
	CHECK_EQ_INT(vpipe_module.create(fake_node, cfg, &st), 0);
	CHECK_EQ_INT(vpipe_module.start(st), 0);
	return st;
}

static void rec_close(void *st)
{
	vpipe_module.flush(st);
	vpipe_module.stop(st);
	vpipe_module.destroy(st);
}

/* --------------------------------------------- synthetic MKV stream */

struct gen {
	unsigned fps, gop;
	size_t frame_bytes;
	unsigned width;
	unsigned index;
	uint64_t cluster_ms;
	int64_t wall0;
	int one_byte_unknown; /* Cluster size as 0xFF instead of 8 bytes */
	const char *tag;      /* a Tags element before each cluster */
	struct ebml_buf buf;
};

static void gen_init(struct gen *g, unsigned fps, unsigned gop, size_t bytes)
{
	memset(g, 0, sizeof(*g));
	g->fps = fps;
	g->gop = gop;
	g->frame_bytes = bytes;
	g->width = 320;
	g->wall0 = 1700000000LL * 1000000000LL;
}

static struct vpipe_frame make_header(struct gen *g)
{
	struct ebml_buf *b = &g->buf;
	ebml_buf_reset(b);
	size_t m = ebml_begin_master(b, MKV_ID_EBML, 0);
	ebml_put_uint(b, MKV_ID_EBML_VERSION, 1);
	ebml_put_uint(b, MKV_ID_EBML_READ_VERSION, 1);
	ebml_put_uint(b, MKV_ID_EBML_MAX_ID_LENGTH, 4);
	ebml_put_uint(b, MKV_ID_EBML_MAX_SIZE_LENGTH, 8);
	ebml_put_string(b, MKV_ID_DOCTYPE, "matroska");
	ebml_put_uint(b, MKV_ID_DOCTYPE_VERSION, 4);
	ebml_put_uint(b, MKV_ID_DOCTYPE_READ_VERSION, 2);
	ebml_end_master(b, m);
	ebml_put_unknown_master(b, MKV_ID_SEGMENT);
	m = ebml_begin_master(b, MKV_ID_INFO, 0);
	uint8_t uid[16] = {1, 2, 3};
	ebml_put_binary(b, MKV_ID_SEGMENT_UID, uid, sizeof(uid));
	ebml_put_uint(b, MKV_ID_TIMECODE_SCALE, 1000000);
	ebml_put_string(b, MKV_ID_MUXING_APP, "vpipe-test");
	ebml_put_string(b, MKV_ID_WRITING_APP, "vpipe-test");
	ebml_end_master(b, m);
	m = ebml_begin_master(b, MKV_ID_TRACKS, 0);
	size_t t = ebml_begin_master(b, MKV_ID_TRACK_ENTRY, 0);
	ebml_put_uint(b, MKV_ID_TRACK_NUMBER, 1);
	ebml_put_uint(b, MKV_ID_TRACK_UID, 1);
	ebml_put_uint(b, MKV_ID_TRACK_TYPE, 1);
	ebml_put_string(b, MKV_ID_TRACK_NAME, "kinesis_video");
	ebml_put_string(b, MKV_ID_CODEC_ID, "V_UNCOMPRESSED");
	size_t v = ebml_begin_master(b, MKV_ID_VIDEO, 0);
	ebml_put_uint(b, MKV_ID_PIXEL_WIDTH, g->width);
	ebml_put_uint(b, MKV_ID_PIXEL_HEIGHT, 240);
	ebml_end_master(b, v);
	ebml_end_master(b, t);
	ebml_end_master(b, m);
	return (struct vpipe_frame){
	    .media = VPIPE_MEDIA_MKV,
	    .flags = VPIPE_FLAG_HEADER | VPIPE_FLAG_CODEC_CONFIG,
	    .data = b->data,
	    .size = b->len,
	    .pts = VPIPE_TIME_NONE,
	    .wallclock = VPIPE_TIME_NONE,
	};
}

static void put_simple_block(struct ebml_buf *b, int16_t rel, int key,
			     size_t bytes, unsigned index)
{
	ebml_put_id(b, MKV_ID_SIMPLE_BLOCK);
	ebml_put_size(b, bytes + 4, 0);
	uint8_t head[4] = {0x81, (uint8_t)((uint16_t)rel >> 8), (uint8_t)rel,
			   key ? 0x80 : 0};
	ebml_put_bytes(b, head, sizeof(head));
	if (ebml_buf_reserve(b, bytes) == 0) {
		memset(b->data + b->len, (int)(index & 0xff), bytes);
		b->len += bytes;
	}
}

static struct vpipe_frame make_frame(struct gen *g)
{
	struct ebml_buf *b = &g->buf;
	ebml_buf_reset(b);
	unsigned i = g->index++;
	uint64_t t_ms = (uint64_t)i * 1000 / g->fps;
	int key = i % g->gop == 0;
	size_t bytes = key ? g->frame_bytes * 3 : g->frame_bytes;
	if (key) {
		g->cluster_ms = t_ms;
		if (g->tag) {
			size_t tags = ebml_begin_master(b, MKV_ID_TAGS, 0);
			size_t tag = ebml_begin_master(b, MKV_ID_TAG, 0);
			size_t st = ebml_begin_master(b, MKV_ID_SIMPLE_TAG, 0);
			ebml_put_string(b, MKV_ID_TAG_NAME, g->tag);
			ebml_put_string(b, MKV_ID_TAG_STRING, "1");
			ebml_end_master(b, st);
			ebml_end_master(b, tag);
			ebml_end_master(b, tags);
		}
		if (g->one_byte_unknown) {
			ebml_put_id(b, MKV_ID_CLUSTER);
			uint8_t ff = 0xff;
			ebml_put_bytes(b, &ff, 1);
		} else {
			ebml_put_unknown_master(b, MKV_ID_CLUSTER);
		}
		ebml_put_uint(b, MKV_ID_TIMECODE, t_ms);
	}
	put_simple_block(b, (int16_t)(t_ms - g->cluster_ms), key, bytes, i);
	int64_t t_ns = (int64_t)t_ms * 1000000;
	return (struct vpipe_frame){
	    .media = VPIPE_MEDIA_MKV,
	    .flags = key ? VPIPE_FLAG_KEY | VPIPE_FLAG_FRAGMENT_START : 0,
	    .pts = t_ns,
	    .dts = t_ns,
	    .duration = 1000000000LL / g->fps,
	    .wallclock = g->wall0 + t_ns,
	    .seq = i,
	    .data = b->data,
	    .size = b->len,
	};
}

/* Pushes n frames, moving the fake clocks along with the media. */
static void feed(void *st, struct gen *g, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		struct vpipe_frame f = make_frame(g);
		fake_now = f.pts;
		fake_wall = f.wallclock;
		vpipe_module.process(st, 0, &f);
	}
}

static void feed_header(void *st, struct gen *g)
{
	struct vpipe_frame h = make_header(g);
	vpipe_module.process(st, 0, &h);
}

/* ------------------------------------------------- reading files back */

struct cluster_info {
	uint64_t pos, tc;
	unsigned blocks;
	int first_key;
};

struct file_info {
	size_t len;
	int seg_known;
	uint64_t seg_size, seg_data;
	double duration;
	int have_duration;
	uint64_t info_pos, tracks_pos, cues_pos;
	int seek_info, seek_tracks, seek_cues; /* SeekHead entries found */
	uint64_t seek_pos_info, seek_pos_tracks, seek_pos_cues;
	struct cluster_info clusters[256];
	unsigned num_clusters, blocks, unknown_clusters;
	uint64_t cue_time[256], cue_pos[256];
	unsigned num_cues;
	unsigned width;
	int truncated;
	int64_t date_utc;
};

static uint8_t *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void read_seekhead(const uint8_t *b, size_t off, size_t end,
			  struct file_info *fi)
{
	while (off < end) {
		struct mkv_elem s;
		if (mkv_elem_read(b, end, off, &s) != 1)
			return;
		size_t send = off + s.head_len + (size_t)s.size;
		uint32_t id = 0;
		uint64_t pos = 0;
		for (size_t c = off + s.head_len; c < send;) {
			struct mkv_elem e;
			if (mkv_elem_read(b, send, c, &e) != 1)
				return;
			const uint8_t *p = b + c + e.head_len;
			if (e.id == MKV_ID_SEEK_ID)
				id =
				    (uint32_t)ebml_read_uint(p, (size_t)e.size);
			if (e.id == MKV_ID_SEEK_POSITION)
				pos = ebml_read_uint(p, (size_t)e.size);
			c += e.head_len + (size_t)e.size;
		}
		if (id == MKV_ID_INFO)
			fi->seek_info = 1, fi->seek_pos_info = pos;
		if (id == MKV_ID_TRACKS)
			fi->seek_tracks = 1, fi->seek_pos_tracks = pos;
		if (id == MKV_ID_CUES)
			fi->seek_cues = 1, fi->seek_pos_cues = pos;
		off = send;
	}
}

/* Finds `id` anywhere below [off, end) (known sizes only). */
static int find_child(const uint8_t *b, size_t off, size_t end, uint32_t id,
		      struct mkv_elem *out)
{
	while (off < end) {
		struct mkv_elem e;
		if (mkv_elem_read(b, end, off, &e) != 1 ||
		    e.size == EBML_SIZE_UNKNOWN)
			return 0;
		size_t e_end = off + e.head_len + (size_t)e.size;
		if (e_end > end)
			return 0;
		if (e.id == id) {
			*out = e;
			return 1;
		}
		if (e.id == MKV_ID_TRACK_ENTRY || e.id == MKV_ID_VIDEO) {
			if (find_child(b, off + e.head_len, e_end, id, out))
				return 1;
		}
		off = e_end;
	}
	return 0;
}

static void read_info(const uint8_t *b, size_t off, size_t end,
		      struct file_info *fi)
{
	struct mkv_elem e;
	if (find_child(b, off, end, MKV_ID_DURATION, &e) && e.size == 8) {
		uint64_t bits = rd_be64(b + e.offset + e.head_len);
		memcpy(&fi->duration, &bits, 8);
		fi->have_duration = 1;
	}
	if (find_child(b, off, end, MKV_ID_DATE_UTC, &e) && e.size == 8)
		fi->date_utc = (int64_t)rd_be64(b + e.offset + e.head_len);
}

static void read_cues(const uint8_t *b, size_t off, size_t end,
		      struct file_info *fi)
{
	while (off < end && fi->num_cues < 256) {
		struct mkv_elem p;
		if (mkv_elem_read(b, end, off, &p) != 1)
			return;
		size_t pend = off + p.head_len + (size_t)p.size;
		struct mkv_elem e;
		if (find_child(b, off + p.head_len, pend, MKV_ID_CUE_TIME, &e))
			fi->cue_time[fi->num_cues] = ebml_read_uint(
			    b + e.offset + e.head_len, (size_t)e.size);
		struct mkv_elem tp;
		if (find_child(b, off + p.head_len, pend,
			       MKV_ID_CUE_TRACK_POSITIONS, &tp) &&
		    find_child(b, tp.offset + tp.head_len,
			       tp.offset + tp.head_len + (size_t)tp.size,
			       MKV_ID_CUE_CLUSTER_POSITION, &e))
			fi->cue_pos[fi->num_cues] = ebml_read_uint(
			    b + e.offset + e.head_len, (size_t)e.size);
		fi->num_cues++;
		off = pend;
	}
}

/* A cluster at off: its children up to its end (known size) or to the next
 * level-1 element (unknown size). Returns the end, or 0 if cut short. */
static size_t read_cluster(const uint8_t *b, size_t off, size_t end,
			   const struct mkv_elem *c, struct file_info *fi)
{
	size_t cend = end;
	if (c->size != EBML_SIZE_UNKNOWN) {
		cend = off + c->head_len + (size_t)c->size;
		if (cend > end)
			return 0;
	} else {
		fi->unknown_clusters++;
	}
	struct cluster_info ci = {.pos = off - fi->seg_data};
	size_t x = off + c->head_len;
	while (x < cend) {
		struct mkv_elem e;
		if (mkv_elem_read(b, cend, x, &e) != 1)
			return 0;
		if (c->size == EBML_SIZE_UNKNOWN && e.id >= 0x10000000u)
			break;
		size_t e_end = x + e.head_len + (size_t)e.size;
		if (e.size == EBML_SIZE_UNKNOWN || e_end > cend)
			return 0;
		const uint8_t *p = b + x + e.head_len;
		if (e.id == MKV_ID_TIMECODE)
			ci.tc = ebml_read_uint(p, (size_t)e.size);
		if (e.id == MKV_ID_SIMPLE_BLOCK) {
			if (ci.blocks == 0)
				ci.first_key = (p[3] & 0x80) != 0;
			ci.blocks++;
		}
		x = e_end;
	}
	if (fi->num_clusters < 256)
		fi->clusters[fi->num_clusters++] = ci;
	fi->blocks += ci.blocks;
	return x;
}

/* Walks a file as a player would: complete elements only. */
static int read_file(const char *path, struct file_info *fi)
{
	memset(fi, 0, sizeof(*fi));
	uint8_t *b = load(path, &fi->len);
	if (!b)
		return -1;
	struct mkv_elem e;
	size_t off = 0;
	if (mkv_elem_read(b, fi->len, 0, &e) != 1 || e.id != MKV_ID_EBML)
		goto bad;
	off = e.head_len + (size_t)e.size;
	if (mkv_elem_read(b, fi->len, off, &e) != 1 || e.id != MKV_ID_SEGMENT)
		goto bad;
	fi->seg_data = off + e.head_len;
	size_t end = fi->len;
	if (e.size != EBML_SIZE_UNKNOWN) {
		fi->seg_known = 1;
		fi->seg_size = e.size;
		if (fi->seg_data + e.size < end)
			end = fi->seg_data + (size_t)e.size;
	}
	for (off = fi->seg_data; off < end;) {
		if (mkv_elem_read(b, end, off, &e) != 1) {
			fi->truncated = 1;
			break;
		}
		if (e.id == MKV_ID_CLUSTER) {
			size_t next = read_cluster(b, off, end, &e, fi);
			if (!next) {
				fi->truncated = 1;
				break;
			}
			off = next;
			continue;
		}
		size_t e_end = off + e.head_len + (size_t)e.size;
		if (e.size == EBML_SIZE_UNKNOWN || e_end > end) {
			fi->truncated = 1;
			break;
		}
		size_t in = off + e.head_len;
		switch (e.id) {
		case MKV_ID_SEEKHEAD:
			read_seekhead(b, in, e_end, fi);
			break;
		case MKV_ID_INFO:
			fi->info_pos = off - fi->seg_data;
			read_info(b, in, e_end, fi);
			break;
		case MKV_ID_TRACKS: {
			fi->tracks_pos = off - fi->seg_data;
			struct mkv_elem w;
			if (find_child(b, in, e_end, MKV_ID_PIXEL_WIDTH, &w))
				fi->width = (unsigned)ebml_read_uint(
				    b + w.offset + w.head_len, (size_t)w.size);
			break;
		}
		case MKV_ID_CUES:
			fi->cues_pos = off - fi->seg_data;
			read_cues(b, in, e_end, fi);
			break;
		default:
			break;
		}
		off = e_end;
	}
	free(b);
	return 0;
bad:
	free(b);
	return -1;
}

/* Everything a finalised file must hold. */
static void check_finalised(const char *path, const struct file_info *fi)
{
	fprintf(stderr,
		"  %s: %zu bytes, %u clusters, %u blocks, %u cues, "
		"duration %.0f\n",
		path, fi->len, fi->num_clusters, fi->blocks, fi->num_cues,
		fi->duration);
	CHECK(!fi->truncated);
	CHECK(fi->seg_known);
	CHECK_EQ_INT(fi->seg_data + fi->seg_size, fi->len);
	CHECK(fi->have_duration);
	CHECK_EQ_INT(fi->unknown_clusters, 0);
	CHECK(fi->seek_info && fi->seek_pos_info == fi->info_pos);
	CHECK(fi->seek_tracks && fi->seek_pos_tracks == fi->tracks_pos);
	CHECK(fi->seek_cues && fi->seek_pos_cues == fi->cues_pos);
	CHECK(fi->num_clusters > 0);
	CHECK_EQ_INT(fi->num_cues, fi->num_clusters);
	for (unsigned i = 0; i < fi->num_cues && i < fi->num_clusters; i++) {
		CHECK_EQ_INT(fi->cue_pos[i], fi->clusters[i].pos);
		CHECK_EQ_INT(fi->cue_time[i], fi->clusters[i].tc);
		CHECK(fi->clusters[i].first_key);
	}
}

/* ------------------------------------------------ directory helpers */

static char base_dir[256];

static void make_test_dir(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", base_dir, name);
	mkdir(out, 0755);
}

struct listing {
	char names[64][NAME_MAX + 1];
	unsigned n;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void list_dir(const char *dir, struct listing *l)
{
	l->n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) && l->n < 64) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(l->names[l->n++], NAME_MAX + 1, "%s", de->d_name);
	}
	closedir(d);
	qsort(l->names, l->n, sizeof(l->names[0]), cmp_names);
}

static uint64_t dir_bytes(const char *dir, const struct listing *l)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < l->n; i++) {
		char p[PATH_MAX];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", dir, l->names[i]);
		if (stat(p, &st) == 0)
			total += (uint64_t)st.st_size;
	}
	return total;
}

static void read_nth(const char *dir, const struct listing *l, unsigned i,
		     struct file_info *fi)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, l->names[i]);
	CHECK_EQ_INT(read_file(p, fi), 0);
}

/* --------------------------------------------------------------- tests */

static void test_names(void)
{
	char name[128];
	CHECK_EQ_INT(store_format_name(name, sizeof(name), "cam-",
				       1711124585823000000LL, 0),
		     0);
	CHECK_STR_CONTAINS(name, "cam-20240322T162305.823Z.mkv");
	CHECK(store_name_matches(name, "cam-"));
	CHECK(!store_name_matches(name, "cam2-"));
	store_format_name(name, sizeof(name), "cam-", 1711124585823000000LL, 3);
	CHECK_STR_CONTAINS(name, "cam-20240322T162305.823Z_03.mkv");
	CHECK(store_name_matches(name, "cam-"));
	CHECK(!store_name_matches("cam-20240322T162305.823Z.mkv.bak", "cam-"));
	CHECK(!store_name_matches("cam-2024032xT162305.823Z.mkv", "cam-"));
	CHECK(!store_name_matches("cam-notes.txt", "cam-"));
	CHECK_EQ_INT(store_format_name(name, 10, "cam-", 0, 0), -1);
}

static void test_scan_errors(void)
{
	struct mkv_frame_scan s;
	size_t off = 0;
	const char *err = NULL;
	uint8_t garbage[] = {0x00, 0x01, 0x02};
	CHECK_EQ_INT(mkv_scan_frame(garbage, sizeof(garbage), &s, &off, &err),
		     -1);
	CHECK_EQ_INT(off, 0);
	/* SimpleBlock claiming 100 bytes with 5 present */
	uint8_t cut[] = {0xA3, 0xE4, 0x81, 0x00, 0x00, 0x80, 0x11};
	CHECK_EQ_INT(mkv_scan_frame(cut, sizeof(cut), &s, &off, &err), -1);
	CHECK_STR_CONTAINS(err, "past the frame");
	/* SimpleBlock too short for its header */
	uint8_t tiny[] = {0xA3, 0x82, 0x81, 0x00};
	CHECK_EQ_INT(mkv_scan_frame(tiny, sizeof(tiny), &s, &off, &err), -1);
	CHECK_STR_CONTAINS(err, "SimpleBlock");

	struct mkv_header h;
	CHECK_EQ_INT(mkv_header_split(garbage, sizeof(garbage), &h, &off, &err),
		     -1);
	struct gen g;
	gen_init(&g, 10, 10, 100);
	struct vpipe_frame hf = make_header(&g);
	CHECK_EQ_INT(mkv_header_split(hf.data, hf.size, &h, &off, &err), 0);
	CHECK_EQ_INT(h.timecode_scale, 1000000);
	CHECK_EQ_INT(mkv_header_split(hf.data, hf.size - 3, &h, &off, &err),
		     -1);
	ebml_buf_free(&g.buf);
}

static void test_finalise_and_duration_rotation(void)
{
	char dir[300];
	make_test_dir(dir, sizeof(dir), "duration");
	reset_counters();
	struct record_cfg cfg = default_cfg(dir);
	cfg.segment_duration = 2 * VPIPE_S;
	void *st = rec_open(&cfg);
	struct gen g;
	gen_init(&g, 10, 10, 200); /* 1 s fragments */
	g.tag = "EVENT";
	feed_header(st, &g);
	feed(st, &g, 50);
	rec_close(st);

	struct listing l;
	list_dir(dir, &l);
	CHECK_EQ_INT(l.n, 3);
	CHECK_EQ_INT(counter("segments_closed_total"), 3);
	CHECK_EQ_INT(counter("written_frames_total"), 50);
	CHECK_EQ_INT(counter("dropped_frames_total"), 0);
	CHECK_EQ_INT(error_lines, 0);
	if (l.n == 3) {
		CHECK_STR_CONTAINS(l.names[0], "rec-20231114T221320.000Z.mkv");
		CHECK_STR_CONTAINS(l.names[1], "rec-20231114T221322.000Z.mkv");
		static const unsigned blocks[] = {20, 20, 10};
		static const double durations[] = {2000, 2000, 1000};
		for (unsigned i = 0; i < 3; i++) {
			struct file_info fi;
			read_nth(dir, &l, i, &fi);
			check_finalised(l.names[i], &fi);
			CHECK_EQ_INT(fi.blocks, blocks[i]);
			CHECK_EQ_INT(fi.num_clusters, blocks[i] / 10);
			CHECK(fi.duration == durations[i]);
			CHECK_EQ_INT(fi.clusters[0].tc, 2000 * i);
			/* DateUTC: ns since 2001-01-01 */
			CHECK_EQ_INT(fi.date_utc,
				     (1700000000LL + 2 * i - 978307200LL) *
					 1000000000LL);
		}
	}
	ebml_buf_free(&g.buf);
}

static void test_size_rotation_and_unknown_size_forms(void)
{
	char dir[300];
	make_test_dir(dir, sizeof(dir), "size");
	reset_counters();
	struct record_cfg cfg = default_cfg(dir);
	cfg.segment_size = 30000;
	cfg.file_prefix = "cam1_";
	void *st = rec_open(&cfg);
	struct gen g;
	gen_init(&g, 10, 10, 1000); /* fragments of about 12 KB */
	g.one_byte_unknown = 1;
	feed_header(st, &g);
	feed(st, &g, 100);
	rec_close(st);

	struct listing l;
	list_dir(dir, &l);
	CHECK_EQ_INT(l.n, 5);
	unsigned blocks = 0;
	for (unsigned i = 0; i < l.n; i++) {
		struct file_info fi;
		CHECK(strncmp(l.names[i], "cam1_", 5) == 0);
		read_nth(dir, &l, i, &fi);
		check_finalised(l.names[i], &fi);
		CHECK(fi.len <= 30000);
		CHECK_EQ_INT(fi.num_clusters, 2);
		blocks += fi.blocks;
	}
	CHECK_EQ_INT(blocks, 100);
	ebml_buf_free(&g.buf);
}

static void test_delete_oldest(void)
{
	char dir[300];
	make_test_dir(dir, sizeof(dir), "oldest");
	reset_counters();
	struct record_cfg cfg = default_cfg(dir);
	cfg.max_size = 1 << 20;
	cfg.segment_duration = 2 * VPIPE_S;
	void *st = rec_open(&cfg);
	struct gen g;
	gen_init(&g, 10, 10, 8000); /* ~100 KB fragments, 3 MB in all */
	feed_header(st, &g);
	feed(st, &g, 300);
	struct listing l;
	list_dir(dir, &l);
	uint64_t during = dir_bytes(dir, &l);
	rec_close(st);
	list_dir(dir, &l);
	uint64_t after = dir_bytes(dir, &l);
	fprintf(stderr, "  delete-oldest: %u files, %llu bytes (limit %d)\n",
		l.n, (unsigned long long)after, 1 << 20);
	CHECK(during <= (1u << 20));
	CHECK(after <= (1u << 20));
	CHECK(after > (1u << 20) / 2);
	CHECK(counter("segments_deleted_total") > 0);
	CHECK_EQ_INT(counter("dropped_frames_total"), 0);
	CHECK_EQ_INT(counter("written_frames_total"), 300);
	if (l.n > 0) {
		struct file_info fi;
		read_nth(dir, &l, l.n - 1, &fi);
		check_finalised(l.names[l.n - 1], &fi);
		/* the newest file ends with the last frame (29.9 s) */
		CHECK_EQ_INT(fi.clusters[fi.num_clusters - 1].tc, 29000);
		read_nth(dir, &l, 0, &fi);
		CHECK(fi.clusters[0].tc > 0); /* the first files are gone */
	}
	ebml_buf_free(&g.buf);
}

static void test_deny_new(void)
{
	char dir[300];
	make_test_dir(dir, sizeof(dir), "deny");
	reset_counters();
	struct record_cfg cfg = default_cfg(dir);
	cfg.max_size = 1 << 20;
	cfg.on_full = 1; /* deny-new */
	cfg.segment_duration = 2 * VPIPE_S;
	void *st = rec_open(&cfg);
	struct gen g;
	gen_init(&g, 10, 10, 8000);
	feed_header(st, &g);
	feed(st, &g, 300);
	struct listing l;
	list_dir(dir, &l);
	uint64_t bytes = dir_bytes(dir, &l);
	fprintf(stderr, "  deny-new: %u files, %llu bytes, %lld dropped\n", l.n,
		(unsigned long long)bytes,
		(long long)counter("dropped_frames_total"));
	CHECK(bytes <= (1u << 20));
	CHECK(counter("dropped_frames_total") > 100);
	CHECK_EQ_INT(counter("segments_deleted_total"), 0);
	CHECK_EQ_INT(counter("recording"), 0);
	if (l.n > 0) {
		struct file_info fi;
		read_nth(dir, &l, 0, &fi);
		check_finalised(l.names[0], &fi);
		CHECK_EQ_INT(fi.clusters[0].tc, 0); /* the oldest is kept */
	}
	/* someone frees space: recording resumes at the next fragment */
	for (unsigned i = 0; i < l.n; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/%s", dir, l.names[i]);
		unlink(p);
	}
	int64_t dropped = counter("dropped_frames_total");
	feed(st, &g, 20);
	CHECK_EQ_INT(counter("dropped_frames_total"), dropped);
	CHECK_EQ_INT(counter("recording"), 1);
	rec_close(st);
	list_dir(dir, &l);
	CHECK_EQ_INT(l.n, 1);
	ebml_buf_free(&g.buf);
}

static void touch_file(const char *dir, const char *name, int64_t mtime_s)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		CHECK_EQ_INT(write(fd, "x", 1), 1);
		struct timespec ts[2] = {{.tv_sec = mtime_s},
					 {.tv_sec = mtime_s}};
		futimens(fd, ts);
		close(fd);
	}
}

static void test_max_age(void)
{
	char dir[300];
	make_test_dir(dir, sizeof(dir), "age");
	reset_counters();
	int64_t now_s = 1700000000;
	touch_file(dir, "rec-20230101T000000.000Z.mkv", now_s - 7200);
	touch_file(dir, "rec-20231114T210000.000Z.mkv", now_s - 600);
	touch_file(dir, "other-20230101T000000.000Z.mkv", now_s - 7200);
	touch_file(dir, "rec-notes.mkv", now_s - 7200);
	fake_wall = now_s * 1000000000LL;
	struct record_cfg cfg = default_cfg(dir);
	cfg.max_age = 3600 * VPIPE_S;
	void *st = rec_open(&cfg);
	struct listing l;
	list_dir(dir, &l);
	CHECK_EQ_INT(l.n, 3);
	CHECK_EQ_INT(counter("segments_deleted_total"), 1);
	if (l.n == 3) {
		CHECK_STR_CONTAINS(l.names[0],
				   "other-20230101T000000.000Z.mkv");
		CHECK_STR_CONTAINS(l.names[1], "rec-20231114T210000.000Z.mkv");
		CHECK_STR_CONTAINS(l.names[2], "rec-notes.mkv");
	}
	rec_close(st);
}

static void test_header_change(void)
{
	char dir[300];
	make_test_dir(dir, sizeof(dir), "header");
	reset_counters();
	struct record_cfg cfg = default_cfg(dir);
	void *st = rec_open(&cfg);
	struct gen g;
	gen_init(&g, 10, 10, 100);
	feed(st, &g, 5); /* before any header: dropped */
	CHECK_EQ_INT(counter("dropped_frames_total"), 5);
	g.index = 10;
	feed_header(st, &g);
	feed_header(st, &g); /* the same again: no new file */
	feed(st, &g, 20);
	g.width = 640;
	feed_header(st, &g);
	feed(st, &g, 20);
	rec_close(st);
	struct listing l;
	list_dir(dir, &l);
	CHECK_EQ_INT(l.n, 2);
	if (l.n == 2) {
		struct file_info a, b;
		read_nth(dir, &l, 0, &a);
		read_nth(dir, &l, 1, &b);
		check_finalised(l.names[0], &a);
		check_finalised(l.names[1], &b);
		CHECK_EQ_INT(a.width, 320);
		CHECK_EQ_INT(b.width, 640);
		CHECK_EQ_INT(a.blocks + b.blocks, 40);
	}
	ebml_buf_free(&g.buf);
}

static void test_bad_frames(void)
{
	char dir[300];
	make_test_dir(dir, sizeof(dir), "bad");
	reset_counters();
	struct record_cfg cfg = default_cfg(dir);
	void *st = rec_open(&cfg);
	struct gen g;
	gen_init(&g, 10, 10, 100);
	uint8_t junk[64];
	memset(junk, 0x00, sizeof(junk));
	struct vpipe_frame bad = {.media = VPIPE_MEDIA_MKV,
				  .flags = VPIPE_FLAG_HEADER,
				  .data = junk,
				  .size = sizeof(junk)};
	vpipe_module.process(st, 0, &bad); /* a broken header */
	CHECK_EQ_INT(counter("bad_frames_total"), 1);
	CHECK_STR_CONTAINS(last_error, "at byte 0");
	feed(st, &g, 10); /* no valid header: dropped */
	CHECK_EQ_INT(counter("dropped_frames_total"), 10);
	feed_header(st, &g);
	feed(st, &g, 15);
	bad.flags = 0;
	memset(junk, 0xA3, sizeof(junk)); /* SimpleBlock of a silly size */
	vpipe_module.process(st, 0, &bad);
	CHECK_EQ_INT(counter("bad_frames_total"), 2);
	feed(st, &g, 15);
	rec_close(st);
	CHECK_EQ_INT(counter("written_frames_total"), 30);
	struct listing l;
	list_dir(dir, &l);
	CHECK_EQ_INT(l.n, 1);
	if (l.n == 1) {
		struct file_info fi;
		read_nth(dir, &l, 0, &fi);
		check_finalised(l.names[0], &fi);
		CHECK_EQ_INT(fi.blocks, 30);
	}
	ebml_buf_free(&g.buf);
}

static void test_power_cut(void)
{
	char dir[300];
	make_test_dir(dir, sizeof(dir), "powercut");
	reset_counters();
	struct record_cfg cfg = default_cfg(dir);
	cfg.sync_interval = 1 * VPIPE_S;
	void *st = rec_open(&cfg);
	struct gen g;
	gen_init(&g, 10, 10, 500);
	feed_header(st, &g);
	feed(st, &g, 45); /* synced at 1, 2, 3 and 4 s */
	struct listing l;
	list_dir(dir, &l);
	CHECK_EQ_INT(l.n, 1);
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, l.names[0]);
	/* what the disk holds now is what a power cut would leave */
	size_t len;
	uint8_t *live = load(p, &len);
	struct file_info fi;
	CHECK_EQ_INT(read_file(p, &fi), 0);
	fprintf(stderr, "  live file: %zu bytes, %u clusters, %u blocks\n", len,
		fi.num_clusters, fi.blocks);
	CHECK(!fi.seg_known);
	CHECK_EQ_INT(fi.blocks, 41); /* up to the sync at 4.0 s */
	CHECK_EQ_INT(fi.num_clusters, 5);
	/* cut in the middle of the last cluster's key frame */
	char cut[PATH_MAX];
	snprintf(cut, sizeof(cut), "%s/cut.mkv", base_dir);
	FILE *f = fopen(cut, "wb");
	size_t last = fi.seg_data + fi.clusters[4].pos;
	size_t keep = last + 20 + 700;
	if (f && live && keep < len) {
		fwrite(live, 1, keep, f);
		fclose(f);
		CHECK_EQ_INT(read_file(cut, &fi), 0);
		CHECK_EQ_INT(fi.num_clusters, 4);
		CHECK_EQ_INT(fi.blocks, 40);
	} else {
		CHECK(0);
	}
	free(live);
	rec_close(st);
	CHECK_EQ_INT(read_file(p, &fi), 0);
	check_finalised(p, &fi);
	CHECK_EQ_INT(fi.blocks, 45);
	ebml_buf_free(&g.buf);
}

/* A stream that stalls: the kernel's timer still syncs what was written,
 * so a power cut loses at most sync-interval, frames or no frames. */
static void test_stall_sync(void)
{
	char dir[300];
	make_test_dir(dir, sizeof(dir), "stall");
	reset_counters();
	struct record_cfg cfg = default_cfg(dir);
	cfg.sync_interval = 1 * VPIPE_S;
	void *st = rec_open(&cfg);
	CHECK_EQ_INT(timer_interval, 1 * VPIPE_S);
	struct gen g;
	gen_init(&g, 10, 10, 500);
	feed_header(st, &g);
	feed(st, &g, 45); /* synced at 4.0 s: 41 blocks on disk */
	struct listing l;
	list_dir(dir, &l);
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, l.names[0]);
	struct file_info fi;
	CHECK_EQ_INT(read_file(p, &fi), 0);
	CHECK_EQ_INT(fi.blocks, 41);
	fake_now += 2 * VPIPE_S; /* no frames for 2 s */
	CHECK_EQ_INT(vpipe_module.timer(st), 0);
	CHECK_EQ_INT(read_file(p, &fi), 0);
	CHECK(!fi.seg_known);	     /* still being written, */
	CHECK_EQ_INT(fi.blocks, 45); /* but everything is on disk */
	rec_close(st);
	ebml_buf_free(&g.buf);
}

static void set_file_limit(rlim_t bytes)
{
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = bytes;
	CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* RLIMIT_FSIZE makes writes fail with EFBIG, as a full disk would. */
static void test_disk_full_and_recovery(void)
{
	char dir[300];
	make_test_dir(dir, sizeof(dir), "full");
	reset_counters();
	signal(SIGXFSZ, SIG_IGN);
	struct record_cfg cfg = default_cfg(dir);
	cfg.sync_interval = 1 * VPIPE_S;
	void *st = rec_open(&cfg);
	struct gen g;
	gen_init(&g, 10, 10, 1000);
	feed_header(st, &g);
	feed(st, &g, 35); /* 3.5 s, synced at 3 s */
	set_file_limit(2000);
	feed(st, &g, 10); /* the sync at 4 s fails */
	CHECK_EQ_INT(counter("write_errors_total"), 1);
	CHECK_EQ_INT(counter("disk_full_total"), 1);
	CHECK_EQ_INT(error_lines, 1);
	CHECK_STR_CONTAINS(last_error, "File too large");
	CHECK_STR_CONTAINS(last_error, dir);
	CHECK_EQ_INT(counter("recording"), 0);
	feed(st, &g, 35); /* retries fail too, quietly */
	CHECK(counter("disk_full_total") >= 2);
	CHECK_EQ_INT(error_lines, 1);
	set_file_limit(RLIM_INFINITY);
	int64_t written = counter("written_frames_total");
	feed(st, &g, 20); /* the next fragment resumes */
	CHECK_EQ_INT(counter("recording"), 1);
	CHECK_EQ_INT(counter("written_frames_total"), written + 20);
	rec_close(st);
	struct listing l;
	list_dir(dir, &l);
	CHECK_EQ_INT(l.n, 2);
	if (l.n == 2) {
		struct file_info fi;
		read_nth(dir, &l, 0, &fi);
		/* kept up to the last cluster on disk; too full for an index */
		fprintf(stderr,
			"  after disk full: %zu bytes, %u clusters, "
			"%u blocks, seg known %d\n",
			fi.len, fi.num_clusters, fi.blocks, fi.seg_known);
		CHECK_EQ_INT(fi.blocks, 30);
		CHECK(!fi.truncated);
		read_nth(dir, &l, 1, &fi);
		check_finalised(l.names[1], &fi);
		CHECK_EQ_INT(fi.blocks, 20);
	}
	ebml_buf_free(&g.buf);
}

static void test_unusable_directory(void)
{
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/not-a-dir", base_dir);
	touch_file(base_dir, "not-a-dir", 1700000000);
	reset_counters();
	fake_now = 0;
	struct record_cfg cfg = default_cfg(dir);
	void *st = rec_open(&cfg);
	CHECK_EQ_INT(counter("write_errors_total"), 1);
	CHECK_STR_CONTAINS(last_error, "not-a-dir");
	struct gen g;
	gen_init(&g, 10, 10, 100);
	feed_header(st, &g);
	feed(st, &g, 20);
	CHECK_EQ_INT(counter("written_frames_total"), 0);
	unlink(dir);
	feed(st, &g, 20); /* retried at the next fragment: all written */
	CHECK_EQ_INT(counter("written_frames_total"), 20);
	rec_close(st);
	struct listing l;
	list_dir(dir, &l);
	CHECK_EQ_INT(l.n, 1);
	ebml_buf_free(&g.buf);
}

static void remove_tree(const char *dir)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
	const char *keep = getenv("RECORD_TEST_KEEP");
	if (keep) {
		snprintf(base_dir, sizeof(base_dir), "%s", keep);
		mkdir(base_dir, 0755);
	} else {
		snprintf(base_dir, sizeof(base_dir), "/tmp/test_record.XXXXXX");
		if (!mkdtemp(base_dir))
			return 1;
	}
	test_names();
	test_scan_errors();
	test_finalise_and_duration_rotation();
	test_size_rotation_and_unknown_size_forms();
	test_delete_oldest();
	test_deny_new();
	test_max_age();
	test_header_change();
	test_bad_frames();
	test_power_cut();
	test_stall_sync();
	test_disk_full_and_recovery();
	test_unusable_directory();
	if (!keep)
		remove_tree(base_dir);
	return check_done();
}
