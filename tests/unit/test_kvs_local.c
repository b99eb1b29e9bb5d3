/* kvs-local's storage: the on-disk fragment index (records across
 * segments, lookup by number, deletion of whole segments, a torn tail cut
 * at open), the store's retention and disk quota (oldest first over every
 * stream), a 256-character stream name on disk and back, the clean-up of
 * a killed run's files at open, and sizes with units. */
#include "tests/unit/check.h"

#include "kvs-local/kvs_local.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/test_kvs_local.XXXXXX";

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void fragment_at(struct kl_fragment *f, uint64_t n, int64_t server_ms)
{
	memset(f, 0, sizeof *f);
	kl_number_format(n, f->number);
	f->server_ms = server_ms;
	f->producer_ms = server_ms - 5;
	f->duration_ms = 1000;
	f->size = 100;
	f->header_id = 0;
}

static void test_numbers(void)
{
	char s[32];
	uint64_t n = 0;
	kl_number_format(1700000000000000000ULL, s);
	CHECK(strcmp(s, "901700000000000000000") == 0);
	CHECK_EQ_INT(kl_number_parse(s, &n), 0);
	CHECK(n == 1700000000000000000ULL);
	CHECK(kl_number_parse("91700000000000000000", &n) != 0); /* short */
	CHECK(kl_number_parse("801700000000000000000", &n) != 0);
	CHECK(kl_number_parse("9017000000000000000x0", &n) != 0);
	CHECK(kl_number_parse("999999999999999999999", &n) != 0); /* > 2^64 */
	CHECK(kl_number_parse(NULL, &n) != 0);
}

static void test_index(void)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s/ix", root);
	mkdir(dir, 0755);
	struct kl_index ix;
	CHECK_EQ_INT(kl_index_open(&ix, dir), 0);
	CHECK(ix.first == 0 && ix.next == 0);
	enum { N = 10000 }; /* three segments of 4096 */
	for (uint64_t i = 0; i < N; i++) {
		struct kl_fragment f;
		fragment_at(&f, 1000 + 3 * i, (int64_t)i);
		f.has_tags = i % 7 == 0;
		CHECK_EQ_INT(kl_index_append(&ix, &f), 0);
	}
	CHECK_EQ_INT(kl_index_sync(&ix), 0);
	CHECK(ix.next == N);
	struct kl_fragment f;
	CHECK_EQ_INT(kl_index_read(&ix, 4097, &f), 0);
	CHECK(f.server_ms == 4097 && f.size == 100 && !f.has_tags);
	CHECK_EQ_INT(kl_index_read(&ix, 7, &f), 0);
	CHECK(f.has_tags);
	CHECK(kl_index_read(&ix, N, &f) != 0);
	uint64_t pos = 0;
	char num[32];
	kl_number_format(1000 + 3 * 9999, num);
	CHECK_EQ_INT(kl_index_find(&ix, num, &pos), 0);
	CHECK(pos == 9999);
	kl_number_format(1000 + 3 * 5000 + 1, num); /* between two */
	CHECK(kl_index_find(&ix, num, &pos) != 0);
	/* deleting the oldest unlinks the segments wholly before */
	kl_index_drop_before(&ix, 5000);
	char seg[600];
	snprintf(seg, sizeof seg, "%s/i/0.idx", dir);
	CHECK(!exists(seg));
	snprintf(seg, sizeof seg, "%s/i/1.idx", dir);
	CHECK(exists(seg));
	CHECK(kl_index_read(&ix, 4999, &f) != 0);
	CHECK_EQ_INT(kl_index_read(&ix, 5000, &f), 0);
	struct kl_fragment batch[100];
	CHECK_EQ_INT(kl_index_read_many(&ix, 8150, 100, batch), 100);
	CHECK(batch[99].server_ms == 8249); /* across segments 1 and 2 */
	kl_index_close(&ix);
	/* a record torn by a crash is cut at open */
	snprintf(seg, sizeof seg, "%s/i/2.idx", dir);
	int fd = open(seg, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "torn", 4) == 4);
	close(fd);
	CHECK_EQ_INT(kl_index_open(&ix, dir), 0);
	CHECK(ix.first == 4096 && ix.next == N);
	struct stat sb;
	CHECK(stat(seg, &sb) == 0 && sb.st_size == (N - 8192) * 64);
	struct kl_fragment g;
	fragment_at(&g, 1000 + 3 * N, N);
	CHECK_EQ_INT(kl_index_append(&ix, &g), 0);
	CHECK_EQ_INT(kl_index_read(&ix, N, &f), 0);
	CHECK(f.server_ms == N);
	kl_index_close(&ix);
}

/* A fragment of `size` bytes committed through the store as PutMedia does. */
static int commit(struct kl_store *s, struct kl_stream *st, int64_t server_ms,
		  int64_t size)
{
	char tmp[KL_PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s/f/.incoming-test", st->dir);
	FILE *fp = fopen(tmp, "wb");
	for (int64_t i = 0; fp && i < size; i++)
		fputc('c', fp);
	if (fp)
		fclose(fp);
	struct kl_fragment f = {0};
	pthread_mutex_lock(&s->lock);
	kl_store_next_number(s, kl_now_ms(), f.number);
	pthread_mutex_unlock(&s->lock);
	f.server_ms = server_ms;
	f.producer_ms = server_ms;
	f.size = size;
	f.tags_json = "{}";
	return kl_store_commit(s, st, &f, tmp);
}

static size_t live(const struct kl_stream *st)
{
	return (size_t)(st->idx.next - st->idx.first);
}

static void test_store(void)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s/data", root);
	struct kl_store s;
	CHECK_EQ_INT(kl_store_open(&s, dir, "us-west-2"), 0);
	char name[257];
	memset(name, 'n', 256);
	name[256] = 0;
	pthread_mutex_lock(&s.lock);
	struct kl_stream *a = kl_store_create(&s, name, NULL, NULL, NULL, 0);
	struct kl_stream *b = kl_store_create(&s, ".b", NULL, NULL, NULL, 24);
	pthread_mutex_unlock(&s.lock);
	CHECK(a != NULL && b != NULL);
	if (!a || !b)
		return;
	/* too long for a file name: stored under a hash of the name */
	CHECK_STR_CONTAINS(a->dir, "/streams/~");
	CHECK_STR_CONTAINS(b->dir, "/streams/+.b");
	int64_t now = kl_now_ms();
	s.live_window_ms = 5000;
	/* retention 0: what is older than the live window goes */
	CHECK_EQ_INT(commit(&s, a, now - 60000, 10), 0);
	CHECK_EQ_INT(commit(&s, a, now - 30000, 10), 0);
	CHECK_EQ_INT(live(a), 0); /* expired at the next commit */
	CHECK_EQ_INT(commit(&s, a, now, 10), 0);
	CHECK_EQ_INT(live(a), 1);
	/* retention 24 h keeps a day */
	CHECK_EQ_INT(commit(&s, b, now - 3600 * 1000, 5000), 0);
	CHECK_EQ_INT(commit(&s, b, now - 1000, 5000), 0);
	CHECK_EQ_INT(live(b), 2);
	/* each fragment counts in whole 4 KiB blocks: 4096 + 2 * 8192 */
	CHECK_EQ_INT(s.bytes, 4096 + 2 * 8192);
	/* the quota deletes the oldest first, whatever its stream */
	s.max_disk = 3 * 4096;
	CHECK_EQ_INT(commit(&s, a, now + 10, 10), 0);
	CHECK_EQ_INT(live(b), 0);
	CHECK_EQ_INT(live(a), 2);
	CHECK(s.bytes <= s.max_disk);
	s.max_disk = 0;
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(commit(&s, b, now + 100 + i, 100), 0);
	/* a killed run's leftovers */
	char path[KL_PATH_MAX];
	snprintf(path, sizeof path, "%s/f/.incoming-0x1", b->dir);
	FILE *fp = fopen(path, "w");
	CHECK(fp != NULL);
	if (fp)
		fclose(fp);
	char incoming[KL_PATH_MAX];
	snprintf(incoming, sizeof incoming, "%s", path);
	kl_store_close(&s);

	CHECK_EQ_INT(kl_store_open(&s, dir, "us-west-2"), 0);
	CHECK_EQ_INT(s.n_streams, 2);
	pthread_mutex_lock(&s.lock);
	a = kl_store_find(&s, name, NULL);
	b = kl_store_find(&s, ".b", NULL);
	pthread_mutex_unlock(&s.lock);
	CHECK(a && b);
	CHECK(!exists(incoming));
	if (a && b) {
		CHECK_EQ_INT(live(a), 2);
		CHECK_EQ_INT(live(b), 3);
		CHECK_EQ_INT(s.bytes, 5 * 4096);
		struct kl_fragment f;
		CHECK_EQ_INT(kl_index_read(&b->idx, b->idx.first, &f), 0);
		CHECK(f.server_ms == now + 100);
		CHECK_EQ_INT(commit(&s, b, now + 200, 1), 0);
		CHECK_EQ_INT(live(b), 4);
	}
	kl_store_close(&s);
}

/* A data directory from before the on-disk index: one JSON line per
 * fragment in fragments.idx, moved into the index at open. */
static void test_migration(void)
{
	char dir[512], path[KL_PATH_MAX];
	snprintf(dir, sizeof dir, "%s/old", root);
	static const char *const levels[] = {"", "/streams", "/streams/cam",
					     "/streams/cam/f"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s%s", dir, levels[i]);
		CHECK_EQ_INT(mkdir(path, 0755), 0);
	}
	snprintf(path, sizeof path, "%s/streams/cam/stream.json", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("{\"StreamName\":\"cam\",\"StreamARN\":\"arn:aws:kinesisvideo:"
	      "us-west-2:123456789012:stream/cam/1\",\"Version\":\"v1\","
	      "\"CreationMs\":1,\"DataRetentionInHours\":24,\"Tags\":{}}\n",
	      f);
	fclose(f);
	int64_t now = kl_now_ms();
	snprintf(path, sizeof path, "%s/streams/cam/fragments.idx", dir);
	f = fopen(path, "w");
	for (int i = 0; f && i < 3; i++) {
		char num[32];
		kl_number_format(1000 + (uint64_t)i, num);
		fprintf(f,
			"{\"n\":\"%s\",\"p\":%lld,\"s\":%lld,\"d\":1000,"
			"\"z\":10,\"h\":0,\"t\":%s}\n",
			num, (long long)now, (long long)now + i,
			i == 1 ? "{\"AWS_KINESISVIDEO_NOTIFICATION\":\"x\"}"
			       : "{}");
		char frag[KL_PATH_MAX];
		snprintf(frag, sizeof frag, "%s/streams/cam/f/%s.mkv", dir,
			 num);
		FILE *g = fopen(frag, "w");
		if (g) {
			fputs("0123456789", g);
			fclose(g);
		}
	}
	if (f)
		fclose(f);
	struct kl_store s;
	CHECK_EQ_INT(kl_store_open(&s, dir, "us-west-2"), 0);
	pthread_mutex_lock(&s.lock);
	struct kl_stream *st = kl_store_find(&s, "cam", NULL);
	pthread_mutex_unlock(&s.lock);
	CHECK(st != NULL);
	if (st) {
		CHECK_EQ_INT(live(st), 3);
		CHECK(!exists(path)); /* fragments.idx gone */
		struct kl_fragment fr;
		CHECK_EQ_INT(kl_index_read(&st->idx, 1, &fr), 0);
		CHECK(fr.has_tags && fr.server_ms == now + 1);
		char *tags = kl_fragment_tags(st, &fr);
		CHECK_STR_CONTAINS(tags, "AWS_KINESISVIDEO_NOTIFICATION");
		free(tags);
	}
	kl_store_close(&s);
}

static void test_sizes(void)
{
	int64_t v = 0;
	CHECK(kl_parse_size("10G", &v) == 0 && v == 10LL << 30);
	CHECK(kl_parse_size("512M", &v) == 0 && v == 512LL << 20);
	CHECK(kl_parse_size("64KB", &v) == 0 && v == 64LL << 10);
	CHECK(kl_parse_size("123", &v) == 0 && v == 123);
	CHECK(kl_parse_size("", &v) != 0);
	CHECK(kl_parse_size("-1", &v) != 0);
	CHECK(kl_parse_size("5X", &v) != 0);
	CHECK(kl_parse_size("99999999999999T", &v) != 0);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	test_numbers();
	test_index();
	test_store();
	test_migration();
	test_sizes();
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
