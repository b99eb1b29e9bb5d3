/* Internals shared by spool.c (writing, reading, acknowledging) and
 * spool_recover.c (opening and checking what an earlier run left). */
#ifndef VPIPE_MODULES_KVS_SPOOL_INT_H
#define VPIPE_MODULES_KVS_SPOOL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "spool.h"

#define REC_MAGIC   0x56535031u /* "VSP1" */
#define ACK_MAGIC   0x56535041u /* "VSPA" */
#define ACK_LEN	    16
#define TYPE_HEADER 1
#define TYPE_FRAME  2
#define FLAG_START  1
#define SCAN_CHUNK  (256 * 1024)

struct frag_rec {
	uint64_t id;
	int64_t first_wall;
	uint64_t off; /* of its first record in the segment */
	unsigned frames;
	uint64_t bytes;
	bool done;
	bool earlier; /* found at open */
};

struct seg {
	uint64_t no;
	uint64_t size; /* bytes of whole, checked records */
	struct frag_rec *frags;
	size_t n, cap, n_done;
	int ack_fd; /* -1 until the first ACK is journalled */
	bool ack_dirty;
};

struct kvs_spool {
	pthread_mutex_t lock;
	struct kvs_spool_config cfg;
	char *dir;
	int dir_fd, lock_fd;
	struct seg *segs; /* oldest first */
	size_t n_segs, cap_segs;
	uint64_t bytes;
	uint64_t not_done;

	/* Writer. */
	int wfd; /* the active segment (the last), -1 none */
	uint64_t next_seg_no, next_id;
	uint8_t *hdr;
	size_t hdr_len;
	bool hdr_pending; /* a changed header goes before the next frame */
	uint64_t open_frag;
	int64_t open_first_pts, open_tc;
	int64_t last_ms; /* newest frame's time, timecode domain, -1 none */
	bool skip_to_fragment;
	bool dirty;
	int64_t last_sync;
	bool eos;

	/* Reader. */
	uint64_t rseg_no, roff;
	uint64_t rfrag;	       /* fragment the reader is in */
	unsigned rfrag_frames; /* of its frames, handed out */
	int rfd;
	uint64_t rfd_no;

	/* Totals. */
	uint64_t replay_total, replay_done, written, syncs;
	uint64_t dropped_fragments, dropped_frames;
};

struct head {
	int type, flags;
	uint32_t len, crc;
	uint64_t id;
	int64_t tc, pts, wall;
};

void spool_logf(struct kvs_spool *sp, enum kvs_spool_log lvl, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));
void spool_seg_name(char *out, size_t n, uint64_t no, const char *ext);
int spool_seg_open(struct kvs_spool *sp, uint64_t no, const char *ext,
		   int flags);
struct seg *spool_seg_append(struct kvs_spool *sp, uint64_t no);
struct frag_rec *spool_frag_add(struct seg *s, uint64_t id);
struct frag_rec *spool_frag_find(struct seg *s, uint64_t id);
/* Forget segment i and delete its files. */
void spool_seg_delete(struct kvs_spool *sp, size_t i);
bool spool_seg_active(const struct kvs_spool *sp, const struct seg *s);
void spool_encode_head(uint8_t *h, int type, int flags, uint32_t len,
		       uint64_t id, int64_t tc, int64_t pts, int64_t wall);
/* Parses a record head; NULL when sane, else why not. */
const char *spool_decode_head(const uint8_t *h, struct head *o);
int spool_pread_full(int fd, void *buf, size_t n, uint64_t off);
#endif
