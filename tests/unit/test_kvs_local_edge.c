/* kvs-local's edge configurations: every SyncStatus move of edge_state.h
 * (polls, deletion, the sync timeout, what an update is refused in), and
 * the records in DATA/edge: kept across a reopen, a torn or tampered
 * record skipped with a log line, a config of a deleted stream dropped. */
#include "tests/unit/check.h"

#include "kvs-local/edge.h"
#include "kvs-local/kvs_local.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/test_kvs_local_edge.XXXXXX";

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

#define TIMEOUT 1000

static void test_sync(void)
{
	struct kl_edge_state e = {0};
	kl_edge_start(&e, 5000, TIMEOUT);
	CHECK_EQ_INT(e.status, KL_SYNCING);
	CHECK_EQ_INT(e.creation_ms, 5000);
	CHECK(kl_edge_busy(&e));
	/* first poll: delivered; the next: applied */
	CHECK_EQ_INT(kl_edge_polled(&e, 5500, TIMEOUT), KL_EDGE_CHANGED);
	CHECK_EQ_INT(e.status, KL_ACKNOWLEDGED);
	CHECK(e.delivered);
	CHECK(kl_edge_busy(&e));
	CHECK_EQ_INT(kl_edge_polled(&e, 6000, TIMEOUT), KL_EDGE_CHANGED);
	CHECK_EQ_INT(e.status, KL_IN_SYNC);
	CHECK(!kl_edge_busy(&e));
	CHECK_EQ_INT(e.updated_ms, 6000);
	/* IN_SYNC stays so: polls and time change nothing */
	CHECK_EQ_INT(kl_edge_polled(&e, 99000, TIMEOUT), KL_EDGE_KEPT);
	CHECK_EQ_INT(kl_edge_expire(&e, 999000), KL_EDGE_KEPT);
	CHECK_EQ_INT(e.status, KL_IN_SYNC);
	/* an update keeps the creation time */
	kl_edge_start(&e, 100000, TIMEOUT);
	CHECK_EQ_INT(e.creation_ms, 5000);
	CHECK_EQ_INT(e.updated_ms, 100000);
	CHECK_EQ_INT(e.status, KL_SYNCING);
}

static void test_timeouts(void)
{
	struct kl_edge_state e = {0};
	kl_edge_start(&e, 0, TIMEOUT);
	/* at the deadline it still waits; after it, SYNC_FAILED */
	CHECK_EQ_INT(kl_edge_expire(&e, TIMEOUT), KL_EDGE_KEPT);
	CHECK_EQ_INT(kl_edge_expire(&e, TIMEOUT + 1), KL_EDGE_CHANGED);
	CHECK_EQ_INT(e.status, KL_SYNC_FAILED);
	CHECK_STR_CONTAINS(e.failed, "did not poll");
	CHECK(!kl_edge_busy(&e));
	/* a late poll does not revive it: it must be sent again */
	CHECK_EQ_INT(kl_edge_polled(&e, TIMEOUT + 2, TIMEOUT), KL_EDGE_KEPT);
	CHECK_EQ_INT(e.status, KL_SYNC_FAILED);
	kl_edge_start(&e, 5000, TIMEOUT);
	CHECK_EQ_INT(e.status, KL_SYNCING);
	CHECK_EQ_INT(e.failed[0], 0);
	/* ACKNOWLEDGED waits a new timeout from the poll */
	kl_edge_polled(&e, 5900, TIMEOUT);
	CHECK_EQ_INT(kl_edge_expire(&e, 6800), KL_EDGE_KEPT);
	CHECK_EQ_INT(kl_edge_expire(&e, 6901), KL_EDGE_CHANGED);
	CHECK_EQ_INT(e.status, KL_SYNC_FAILED);
	/* a poll after the deadline finds it failed, not acknowledged */
	struct kl_edge_state f = {0};
	kl_edge_start(&f, 0, TIMEOUT);
	CHECK_EQ_INT(kl_edge_polled(&f, TIMEOUT + 5, TIMEOUT), KL_EDGE_CHANGED);
	CHECK_EQ_INT(f.status, KL_SYNC_FAILED);
	CHECK(!f.delivered);
}

static void test_delete(void)
{
	/* never delivered: nothing on a device, gone at once */
	struct kl_edge_state e = {0};
	kl_edge_start(&e, 0, TIMEOUT);
	CHECK_EQ_INT(kl_edge_delete(&e, 10, TIMEOUT), KL_EDGE_REMOVED);
	/* delivered: DELETING until the agent has seen it twice */
	kl_edge_polled(&e, 20, TIMEOUT);
	CHECK_EQ_INT(kl_edge_delete(&e, 30, TIMEOUT), KL_EDGE_CHANGED);
	CHECK_EQ_INT(e.status, KL_DELETING);
	CHECK(kl_edge_busy(&e));
	CHECK_EQ_INT(kl_edge_delete(&e, 40, TIMEOUT), KL_EDGE_KEPT);
	CHECK_EQ_INT(kl_edge_polled(&e, 50, TIMEOUT), KL_EDGE_CHANGED);
	CHECK_EQ_INT(e.status, KL_DELETING_ACKNOWLEDGED);
	CHECK(kl_edge_busy(&e));
	CHECK_EQ_INT(kl_edge_polled(&e, 60, TIMEOUT), KL_EDGE_REMOVED);
	/* no poll in time: DELETE_FAILED, which a new delete retries */
	struct kl_edge_state d = {0};
	kl_edge_start(&d, 0, TIMEOUT);
	kl_edge_polled(&d, 1, TIMEOUT);
	kl_edge_polled(&d, 2, TIMEOUT);
	kl_edge_delete(&d, 3, TIMEOUT);
	CHECK_EQ_INT(kl_edge_expire(&d, 3 + TIMEOUT + 1), KL_EDGE_CHANGED);
	CHECK_EQ_INT(d.status, KL_DELETE_FAILED);
	CHECK_STR_CONTAINS(d.failed, "delete the edge configuration again");
	CHECK(!kl_edge_busy(&d));
	CHECK_EQ_INT(kl_edge_delete(&d, 5000, TIMEOUT), KL_EDGE_CHANGED);
	CHECK_EQ_INT(d.status, KL_DELETING);
	CHECK_EQ_INT(d.failed[0], 0);
}

static void test_names(void)
{
	static const char *const all[] = {"SYNCING",
					  "ACKNOWLEDGED",
					  "IN_SYNC",
					  "SYNC_FAILED",
					  "DELETING",
					  "DELETE_FAILED",
					  "DELETING_ACKNOWLEDGED"};
	for (int i = 0; i < 7; i++) {
		CHECK_EQ_INT(kl_sync_status_parse(all[i]), i);
		CHECK(!strcmp(kl_sync_status_name((enum kl_sync_status)i),
			      all[i]));
	}
	CHECK_EQ_INT(kl_sync_status_parse("in_sync"), -1);
	CHECK_EQ_INT(kl_sync_status_parse(NULL), -1);
}

static const char config[] =
    "{\"HubDeviceArn\":\"arn:aws:iot:us-west-2:1:thing/h\","
    "\"RecorderConfig\":{\"MediaSourceConfig\":{\"MediaUriSecretArn\":"
    "\"arn:aws:secretsmanager:us-west-2:1:secret:abc\",\"MediaUriType\":"
    "\"RTSP_URI\"}}}";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_records(void)
{
	static struct kl_server srv;
	char dir[512];
	snprintf(dir, sizeof dir, "%s/data", root);
	CHECK_EQ_INT(kl_store_open(&srv.store, dir, "us-west-2"), 0);
	CHECK_EQ_INT(kl_edge_open(&srv), 0);
	pthread_mutex_lock(&srv.store.lock);
	struct kl_stream *a =
	    kl_store_create(&srv.store, "a", NULL, NULL, NULL, 1);
	struct kl_stream *b =
	    kl_store_create(&srv.store, "b", NULL, NULL, NULL, 1);
	CHECK(a && b);
	if (!a || !b) {
		pthread_mutex_unlock(&srv.store.lock);
		return;
	}
	struct kl_edge_entry *e = kl_edge_add(
	    srv.edge, a->arn, "a", "arn:aws:iot:us-west-2:1:thing/h");
	e->config_json = strdup(config);
	kl_edge_start(&e->state, 1000, TIMEOUT);
	kl_edge_polled(&e->state, 2000, TIMEOUT);
	CHECK_EQ_INT(kl_edge_save(srv.edge, e), 0);
	e = kl_edge_add(srv.edge, b->arn, "b",
			"arn:aws:iot:us-west-2:1:thing/h");
	e->config_json = strdup(config);
	kl_edge_start(&e->state, 1000, TIMEOUT);
	CHECK_EQ_INT(kl_edge_save(srv.edge, e), 0);
	char b_arn[512];
	snprintf(b_arn, sizeof b_arn, "%s", b->arn);
	kl_store_delete(&srv.store, b);
	pthread_mutex_unlock(&srv.store.lock);
	/* a torn save, a tampered record, a stray file */
	char path[1024];
	snprintf(path, sizeof path, "%s/edge/0000000000000001.json.tmp", dir);
	write_file(path, "{\"StreamARN\":");
	snprintf(path, sizeof path, "%s/edge/0000000000000002.json", dir);
	write_file(
	    path, "{\"StreamARN\":\"x\",\"StreamName\":\"x\",\"SyncStatus\":"
		  "\"IN_SYNC\",\"CreationMs\":1,\"UpdatedMs\":1,\"DeadlineMs\":"
		  "1,\"Delivered\":true,\"FailedStatusDetails\":\"\","
		  "\"EdgeConfig\":\"{\\\"HubDeviceArn\\\":\\\"nope\\\"}\"}");
	snprintf(path, sizeof path, "%s/edge/0000000000000003.json", dir);
	write_file(path, "not json");
	kl_edge_close(&srv);
	kl_store_close(&srv.store);

	memset(&srv, 0, sizeof srv);
	CHECK_EQ_INT(kl_store_open(&srv.store, dir, "us-west-2"), 0);
	CHECK_EQ_INT(kl_edge_open(&srv), 0);
	/* a's config as saved; b's dropped with its stream; the rest skipped */
	CHECK_EQ_INT(srv.edge->n, 1);
	pthread_mutex_lock(&srv.store.lock);
	a = kl_store_find(&srv.store, "a", NULL);
	e = a ? kl_edge_find(srv.edge, a->arn) : NULL;
	CHECK(e != NULL);
	if (e) {
		CHECK_EQ_INT(e->state.status, KL_ACKNOWLEDGED);
		CHECK_EQ_INT(e->state.creation_ms, 1000);
		CHECK_EQ_INT(e->state.updated_ms, 2000);
		CHECK(e->state.delivered);
		CHECK(!strcmp(e->config_json, config));
		CHECK(!strcmp(e->hub_arn, "arn:aws:iot:us-west-2:1:thing/h"));
	}
	CHECK(kl_edge_find(srv.edge, b_arn) == NULL);
	pthread_mutex_unlock(&srv.store.lock);
	snprintf(path, sizeof path, "%s/edge/0000000000000001.json.tmp", dir);
	CHECK(access(path, F_OK) != 0); /* the torn save is gone */
	/* removing deletes the record */
	if (e)
		kl_edge_remove(srv.edge, e);
	kl_edge_close(&srv);
	kl_store_close(&srv.store);
	memset(&srv, 0, sizeof srv);
	CHECK_EQ_INT(kl_store_open(&srv.store, dir, "us-west-2"), 0);
	CHECK_EQ_INT(kl_edge_open(&srv), 0);
	CHECK_EQ_INT(srv.edge->n, 0);
	kl_edge_close(&srv);
	kl_store_close(&srv.store);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	test_sync();
	test_timeouts();
	test_delete();
	test_names();
	test_records();
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
