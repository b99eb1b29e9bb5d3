/* Edge configurations on disk: DATA/edge/HASH.json per stream (HASH: FNV-1a
 * of the stream ARN, so a recreated stream of the same name is another
 * file), written to a temporary file, synced and renamed, so a crash
 * leaves the old or the new record, never a torn one. A record holds the
 * SyncStatus with its times and the EdgeConfig as a JSON string; loading
 * validates that EdgeConfig again with common/edge_config.c, and a record
 * that fails is logged and skipped, not served. */
#include "edge.h"

#include "edge_config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void entry_path(const struct kl_edge_store *es, const char *arn,
		       const char *suffix, char *out, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)arn; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	snprintf(out, n, "%s/%016llx.json%s", es->dir, (unsigned long long)h,
		 suffix);
}

static void free_entry(struct kl_edge_entry *e)
{
	if (!e)
		return;
	free(e->stream_arn);
	free(e->stream_name);
	free(e->hub_arn);
	free(e->config_json);
	free(e);
}

struct kl_edge_entry *kl_edge_find(struct kl_edge_store *es, const char *arn)
{
	for (size_t i = 0; arn && i < es->n; i++)
		if (!strcmp(es->entries[i]->stream_arn, arn))
			return es->entries[i];
	return NULL;
}

struct kl_edge_entry *kl_edge_add(struct kl_edge_store *es, const char *arn,
				  const char *name, const char *hub)
{
	struct kl_edge_entry *e = calloc(1, sizeof *e);
	void *p = realloc(es->entries, (es->n + 1) * sizeof *es->entries);
	if (p)
		es->entries = p;
	if (!e || !p || !(e->stream_arn = strdup(arn)) ||
	    !(e->stream_name = strdup(name)) || !(e->hub_arn = strdup(hub))) {
		free_entry(e);
		return NULL;
	}
	es->entries[es->n++] = e;
	return e;
}

static void put_record(struct strbuf *b, const struct kl_edge_entry *e)
{
	const struct kl_edge_state *s = &e->state;
	sb_puts(b, "{\"StreamARN\":");
	json_put_string(b, e->stream_arn);
	sb_puts(b, ",\"StreamName\":");
	json_put_string(b, e->stream_name);
	sb_puts(b, ",\"SyncStatus\":");
	json_put_string(b, kl_sync_status_name(s->status));
	sb_printf(b,
		  ",\"CreationMs\":%lld,\"UpdatedMs\":%lld,\"DeadlineMs\":%lld,"
		  "\"Delivered\":%s,\"FailedStatusDetails\":",
		  (long long)s->creation_ms, (long long)s->updated_ms,
		  (long long)s->deadline_ms, s->delivered ? "true" : "false");
	json_put_string(b, s->failed);
	sb_puts(b, ",\"EdgeConfig\":");
	json_put_string(b, e->config_json);
	sb_puts(b, "}\n");
}

int kl_edge_save(struct kl_edge_store *es, const struct kl_edge_entry *e)
{
	char path[KL_PATH_MAX], tmp[KL_PATH_MAX];
	entry_path(es, e->stream_arn, "", path, sizeof path);
	entry_path(es, e->stream_arn, ".tmp", tmp, sizeof tmp);
	struct strbuf b = STRBUF_INIT;
	put_record(&b, e);
	int fd = b.failed ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	bool ok = fd >= 0 && write(fd, b.s, b.len) == (ssize_t)b.len &&
		  fsync(fd) == 0;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	ok = ok && rename(tmp, path) == 0 && kl_sync_dir(es->dir) == 0;
	sb_free(&b);
	if (!ok) {
		kl_log("cannot save the edge configuration of %s in %s: %s",
		       e->stream_name, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void kl_edge_remove(struct kl_edge_store *es, struct kl_edge_entry *e)
{
	char path[KL_PATH_MAX];
	entry_path(es, e->stream_arn, "", path, sizeof path);
	if (unlink(path) != 0 && errno != ENOENT)
		kl_log("cannot delete %s: %s", path, strerror(errno));
	kl_sync_dir(es->dir);
	for (size_t i = 0; i < es->n; i++) {
		if (es->entries[i] == e) {
			es->entries[i] = es->entries[--es->n];
			break;
		}
	}
	free_entry(e);
}

static bool get_ms(const struct json_value *rec, const char *key, int64_t *out)
{
	return json_int64(json_get(rec, key), out) == 0 && *out >= 0;
}

/* A record into a new entry; NULL with *why set if it is not one (it may
 * point into *err). */
static struct kl_edge_entry *load_record(struct kl_edge_store *es,
					 const struct json_value *rec,
					 struct edge_config_error *err,
					 const char **why)
{
	const char *arn = json_string(json_get(rec, "StreamARN"));
	const char *name = json_string(json_get(rec, "StreamName"));
	const char *cfg = json_string(json_get(rec, "EdgeConfig"));
	const char *failed = json_string(json_get(rec, "FailedStatusDetails"));
	int status =
	    kl_sync_status_parse(json_string(json_get(rec, "SyncStatus")));
	const struct json_value *delivered = json_get(rec, "Delivered");
	struct kl_edge_state s = {0};
	if (!arn || !name || !cfg || status < 0 || !failed || !delivered ||
	    !get_ms(rec, "CreationMs", &s.creation_ms) ||
	    !get_ms(rec, "UpdatedMs", &s.updated_ms) ||
	    !get_ms(rec, "DeadlineMs", &s.deadline_ms)) {
		*why = "a member is missing or of the wrong type";
		return NULL;
	}
	/* the stored EdgeConfig passes the same validation as a request */
	struct strbuf body = STRBUF_INIT;
	sb_puts(&body, "{\"StreamName\":\"x\",\"EdgeConfig\":");
	sb_puts(&body, cfg);
	sb_puts(&body, "}");
	struct edge_config parsed;
	int rc = body.failed
		     ? -1
		     : edge_config_parse(&parsed, body.s, body.len, 0, err);
	sb_free(&body);
	if (rc) {
		*why = err->msg[0] ? err->msg : "out of memory";
		return NULL;
	}
	char *json = strdup(cfg);
	struct kl_edge_entry *e =
	    json ? kl_edge_add(es, arn, name, parsed.hub_device_arn) : NULL;
	if (!e) {
		free(json);
		*why = "out of memory";
		return NULL;
	}
	e->config_json = json;
	s.status = (enum kl_sync_status)status;
	s.delivered = delivered->type == JSON_TRUE;
	snprintf(s.failed, sizeof s.failed, "%s", failed);
	e->state = s;
	return e;
}

static void load_file(struct kl_server *srv, const char *path)
{
	struct kl_edge_store *es = srv->edge;
	char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
	if (fd >= 0)
		close(fd);
	size_t off = 0;
	const char *why = "cannot be read, or is larger than 64 KiB";
	struct json_value *rec = n > 0 && (size_t)n < sizeof buf
				     ? json_parse(buf, (size_t)n, &off, &why)
				     : NULL;
	struct edge_config_error err;
	struct kl_edge_entry *e = rec ? load_record(es, rec, &err, &why) : NULL;
	json_free(rec);
	if (!e && !rec && n > 0) {
		kl_log("%s: skipped, not JSON (byte %zu): %s", path, off, why);
		return;
	}
	if (!e) {
		kl_log("%s: skipped, not an edge configuration: %s", path, why);
		return;
	}
	if (!kl_store_find(&srv->store, NULL, e->stream_arn)) {
		kl_log("edge configuration of deleted stream %s removed",
		       e->stream_name);
		kl_edge_remove(es, e);
	}
}

int kl_edge_open(struct kl_server *srv)
{
	struct kl_edge_store *es = calloc(1, sizeof *es);
	char dir[KL_PATH_MAX];
	snprintf(dir, sizeof dir, "%s/edge", srv->store.dir);
	if (!es || !(es->dir = strdup(dir))) {
		free(es);
		kl_log("out of memory");
		return -1;
	}
	srv->edge = es;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		kl_log("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	DIR *d = opendir(dir);
	if (!d) {
		kl_log("cannot read %s: %s", dir, strerror(errno));
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char path[KL_PATH_MAX + 256];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (len > 4 && !strcmp(de->d_name + len - 4, ".tmp"))
			unlink(path); /* a save that did not finish */
		else if (len > 5 && !strcmp(de->d_name + len - 5, ".json"))
			load_file(srv, path);
	}
	closedir(d);
	if (es->n)
		kl_log("%zu edge configurations in %s", es->n, dir);
	return 0;
}

void kl_edge_close(struct kl_server *srv)
{
	struct kl_edge_store *es = srv->edge;
	if (!es)
		return;
	for (size_t i = 0; i < es->n; i++)
		free_entry(es->entries[i]);
	free(es->entries);
	free(es->dir);
	free(es);
	srv->edge = NULL;
}
