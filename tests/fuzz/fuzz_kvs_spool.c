/* libFuzzer target for the kvs sink's spool reader (modules/kvs/spool.c).
 *
 * Input byte 0 picks the mode:
 *  - even: the rest is split in two at a point bytes 1-2 pick, and written
 *    as a segment file and its ACK journal; the spool is opened and read to
 *    the end. Arbitrary bytes: no crash, no endless loop, and every record
 *    handed out is a frame inside a fragment or a header.
 *  - odd: a valid spool is written (frame sizes from the input), then
 *    damaged at an offset the input picks (cut there, or one byte
 *    flipped); reopened, every frame wholly before the damage must come
 *    back, in order, and none after a cut.
 * Files go to a directory under /dev/shm (or /tmp), removed after each
 * input. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "modules/kvs/spool.h"

static char dir[64];

static void setup(void)
{
	if (dir[0])
		return;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/fuzz_kvs_spool.XXXXXX", base);
	if (!mkdtemp(dir))
		abort();
}

static void path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void clean(void)
{
	const char *names[] = {"seg-00000000000000000001.vsp",
			       "seg-00000000000000000001.ack",
			       "seg-00000000000000000002.vsp",
			       "seg-00000000000000000002.ack", "lock"};
	char p[128];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path(p, sizeof(p), names[i]);
		unlink(p);
	}
}

static void write_file(const char *name, const uint8_t *d, size_t n)
{
	char p[128];
	path(p, sizeof(p), name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		abort();
	if (n && write(fd, d, n) != (ssize_t)n)
		abort();
	close(fd);
}

static struct kvs_spool_config config(void)
{
	struct kvs_spool_config c = {
	    .dir = dir,
	    .max_bytes = 1 << 30,
	    .segment_bytes = 1 << 20,
	    .sync_interval = 3600000000000LL,
	};
	return c;
}

/* Reads everything; returns frames, checking the sequence is sane.
 * frame_no[i] gets each frame's number (its first two payload bytes). */
static unsigned read_all(struct kvs_spool *sp, unsigned *frame_no, unsigned max)
{
	struct kvs_spool_rec r;
	uint8_t *buf = NULL;
	size_t cap = 0;
	unsigned frames = 0, guard = 0;
	uint64_t frag = 0;
	while (kvs_spool_next(sp, &r, &buf, &cap) == KVS_SPOOL_GOT) {
		if (++guard > 1000000)
			abort(); /* endless */
		if (r.type != 1 && r.type != 2)
			abort();
		if (r.type == 2) {
			if (r.starts_fragment) {
				if (r.frag_id <= frag)
					abort();
				frag = r.frag_id;
			} else if (r.frag_id != frag) {
				abort();
			}
			if (frame_no && frames < max && r.len >= 2)
				frame_no[frames] =
				    (unsigned)(r.data[0] << 8 | r.data[1]);
			frames++;
		}
	}
	free(buf);
	return frames;
}

static void raw(const uint8_t *d, size_t n)
{
	size_t split = n >= 2 ? ((size_t)d[0] << 8 | d[1]) : 0;
	if (n >= 2) {
		d += 2;
		n -= 2;
	}
	if (split > n)
		split = n;
	write_file("seg-00000000000000000001.vsp", d, n - split);
	write_file("seg-00000000000000000001.ack", d + n - split, split);
	struct kvs_spool_config c = config();
	struct kvs_spool *sp;
	char err[256];
	struct kvs_spool_found fd;
	if (kvs_spool_open(&sp, &c, &fd, err, sizeof(err)))
		abort();
	unsigned frames = read_all(sp, NULL, 0);
	if (frames > fd.frames)
		abort();
	kvs_spool_close(sp);
}

#define MAX_FRAMES 256

static void damaged(const uint8_t *d, size_t n)
{
	if (n < 4)
		return;
	uint32_t where = (uint32_t)d[0] << 16 | (uint32_t)d[1] << 8 | d[2];
	int flip = d[3] & 1;
	d += 4;
	n -= 4;
	struct kvs_spool_config c = config();
	struct kvs_spool *sp;
	char err[256];
	if (kvs_spool_open(&sp, &c, NULL, err, sizeof(err)))
		abort();
	if (kvs_spool_put_header(sp, (const uint8_t *)"HDR", 3, err,
				 sizeof(err)))
		abort();
	/* Each input byte is a frame: low 7 bits its size / 4 + 2, the high
	 * bit starts a fragment (the first frame always does). */
	uint64_t end[MAX_FRAMES];
	uint64_t off = KVS_SPOOL_REC_HEAD + 3;
	unsigned frames = 0;
	uint8_t payload[512];
	for (size_t i = 0; i < n && frames < MAX_FRAMES; i++) {
		size_t len = (size_t)(d[i] & 0x7F) * 4 + 2;
		memset(payload, d[i], len);
		payload[0] = (uint8_t)(frames >> 8);
		payload[1] = (uint8_t)frames;
		bool start = frames == 0 || (d[i] & 0x80);
		if (kvs_spool_put_frame(sp, payload, len, start, (int64_t)i, 0,
					1, 0, NULL, err, sizeof(err)))
			abort();
		off += KVS_SPOOL_REC_HEAD + len;
		end[frames++] = off;
	}
	kvs_spool_close(sp);
	if (!frames)
		return;
	char p[128];
	path(p, sizeof(p), "seg-00000000000000000001.vsp");
	where %= (uint32_t)off;
	if (flip) {
		int fd = open(p, O_RDWR);
		uint8_t x;
		if (fd < 0 || pread(fd, &x, 1, where) != 1)
			abort();
		x ^= 0x01;
		if (pwrite(fd, &x, 1, where) != 1)
			abort();
		close(fd);
	} else if (truncate(p, where)) {
		abort();
	}
	unsigned before = 0;
	while (before < frames && end[before] <= where)
		before++;
	if (sp = NULL, kvs_spool_open(&sp, &c, NULL, err, sizeof(err)))
		abort();
	unsigned got_no[MAX_FRAMES];
	unsigned got = read_all(sp, got_no, MAX_FRAMES);
	kvs_spool_close(sp);
	/* Good records before the damage kept, in order. A frame whose
	 * fragment start was lost with it may go too: never one earlier. */
	if (got < before)
		abort();
	if (!flip && got > before)
		abort();
	for (unsigned i = 0; i < got && i < MAX_FRAMES; i++)
		if (got_no[i] != i)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	clean();
	if (size >= 1) {
		if (data[0] & 1)
			damaged(data + 1, size - 1);
		else
			raw(data + 1, size - 1);
	}
	clean();
	return 0;
}
