/* PutMedia ACK stream parser (see ack.h). */
#include "ack.h"

#include <string.h>

#include "json.h"

void kvs_ack_parser_init(struct kvs_ack_parser *p)
{
	memset(p, 0, sizeof(*p));
}

const char *kvs_ack_type_name(enum kvs_ack_type t)
{
	switch (t) {
	case KVS_ACK_BUFFERING:
		return "BUFFERING";
	case KVS_ACK_RECEIVED:
		return "RECEIVED";
	case KVS_ACK_PERSISTED:
		return "PERSISTED";
	case KVS_ACK_ERROR:
		return "ERROR";
	case KVS_ACK_IDLE:
		return "IDLE";
	default:
		return "UNDEFINED";
	}
}

static int problem(struct kvs_ack_problem *pr, uint32_t status,
		   const char *name, const char *what)
{
	pr->status = status;
	pr->name = name;
	pr->what = what;
	return -1;
}

static void copy_str(char *dst, size_t cap, const struct json_value *v)
{
	const char *s = json_string(v);
	if (!s) {
		dst[0] = 0;
		return;
	}
	size_t n = v->len < cap - 1 ? v->len : cap - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
}

int kvs_ack_parse(const char *s, size_t n, struct kvs_ack *a,
		  struct kvs_ack_problem *pr)
{
	memset(a, 0, sizeof(*a));
	a->timecode = -1;
	pr->offset = 0;
	const char *err = NULL;
	size_t eoff = 0;
	struct json_value *v = json_parse(s, n, &eoff, &err);
	if (!v)
		return problem(pr, 0x5200004f,
			       "STATUS_INVALID_ACK_INVALID_VALUE_START",
			       err ? err : "not JSON");
	int rc = 0;
	if (v->type != JSON_OBJECT) {
		rc = problem(pr, 0x5200004d, "STATUS_INVALID_ACK_KEY_START",
			     "not a JSON object");
		goto out;
	}
	for (size_t i = 0; i < v->n; i++)
		for (size_t j = i + 1; j < v->n; j++)
			if (!strcmp(v->members[i].key, v->members[j].key)) {
				rc = problem(
				    pr, 0x5200004e,
				    "STATUS_INVALID_ACK_DUPLICATE_KEY_NAME",
				    "a key appears twice");
				goto out;
			}
	const char *type = json_string(json_get(v, "EventType"));
	static const struct {
		const char *name;
		enum kvs_ack_type type;
	} types[] = {{"BUFFERING", KVS_ACK_BUFFERING},
		     {"RECEIVED", KVS_ACK_RECEIVED},
		     {"PERSISTED", KVS_ACK_PERSISTED},
		     {"ERROR", KVS_ACK_ERROR},
		     {"IDLE", KVS_ACK_IDLE}};
	for (size_t i = 0; type && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(type, types[i].name))
			a->type = types[i].type;
	if (a->type == KVS_ACK_NONE) {
		rc = problem(pr, 0x52000051, "STATUS_INVALID_PARSED_ACK_TYPE",
			     "EventType missing or unknown");
		goto out;
	}
	const struct json_value *tc = json_get(v, "FragmentTimecode");
	if (tc && json_int64(tc, &a->timecode)) {
		rc = problem(pr, 0x52000050,
			     "STATUS_INVALID_ACK_INVALID_VALUE_END",
			     "FragmentTimecode is not an integer");
		goto out;
	}
	const struct json_value *fn = json_get(v, "FragmentNumber");
	if (fn && fn->type == JSON_NUMBER) {
		size_t l = fn->len < 128 ? fn->len : 128;
		memcpy(a->fragment_number, fn->str, l);
		a->fragment_number[l] = 0;
	} else {
		copy_str(a->fragment_number, sizeof(a->fragment_number), fn);
	}
	const struct json_value *eid = json_get(v, "ErrorId");
	int64_t id = 0;
	if (eid && (json_int64(eid, &id) || id < 0 || id > 1000000)) {
		/* Some encoders send it as a string. */
		const char *es = json_string(eid);
		id = 0;
		for (; es && *es >= '0' && *es <= '9' && id < 1000000; es++)
			id = id * 10 + (*es - '0');
		if (!es || *es) {
			rc = problem(pr, 0x52000050,
				     "STATUS_INVALID_ACK_INVALID_VALUE_END",
				     "ErrorId is not a number");
			goto out;
		}
	}
	a->error_id = (int)id;
	copy_str(a->error_code, sizeof(a->error_code),
		 json_get(v, "ErrorCode"));
	if (a->type == KVS_ACK_ERROR && !eid)
		rc = problem(pr, 0x52000070, "STATUS_MISSING_ERR_ACK_ID",
			     "an ERROR ACK without ErrorId");
	else if (a->type != KVS_ACK_IDLE && a->type != KVS_ACK_ERROR &&
		 a->timecode < 0)
		rc = problem(pr, 0x52000050,
			     "STATUS_INVALID_ACK_INVALID_VALUE_END",
			     "FragmentTimecode missing");
out:
	json_free(v);
	return rc;
}

static void segment_done(struct kvs_ack_parser *p, kvs_ack_fn on_ack,
			 kvs_ack_problem_fn on_problem, void *ctx)
{
	struct kvs_ack a;
	struct kvs_ack_problem pr;
	if (kvs_ack_parse(p->buf, p->len, &a, &pr) == 0) {
		on_ack(ctx, &a);
	} else if (on_problem) {
		pr.offset = p->seg_start;
		on_problem(ctx, &pr);
	}
	p->len = 0;
}

void kvs_ack_feed(struct kvs_ack_parser *p, const char *data, size_t n,
		  kvs_ack_fn on_ack, kvs_ack_problem_fn on_problem, void *ctx)
{
	for (size_t i = 0; i < n; i++, p->offset++) {
		char c = data[i];
		if (p->depth == 0) {
			if (c == '{') {
				p->depth = 1;
				p->skipping = 0;
				p->in_string = p->escaped = 0;
				p->len = 0;
				p->seg_start = p->offset;
				p->buf[p->len++] = c;
			} else if (!p->skipping && c != ' ' && c != '\t' &&
				   c != '\r' && c != '\n' && c != ',') {
				p->skipping = 1;
				if (on_problem) {
					struct kvs_ack_problem pr = {
					    0x5200004d,
					    "STATUS_INVALID_ACK_KEY_START",
					    "bytes outside an ACK object",
					    p->offset};
					on_problem(ctx, &pr);
				}
			}
			continue;
		}
		if (p->len >= KVS_ACK_MAX_LEN) {
			if (on_problem) {
				struct kvs_ack_problem pr = {
				    0x52000071,
				    "STATUS_INVALID_ACK_SEGMENT_LEN",
				    "ACK longer than 1024 bytes", p->seg_start};
				on_problem(ctx, &pr);
			}
			p->depth = 0;
			p->skipping = 1;
			p->len = 0;
			continue;
		}
		p->buf[p->len++] = c;
		if (p->in_string) {
			if (p->escaped)
				p->escaped = 0;
			else if (c == '\\')
				p->escaped = 1;
			else if (c == '"')
				p->in_string = 0;
			continue;
		}
		if (c == '"')
			p->in_string = 1;
		else if (c == '{' || c == '[')
			p->depth++;
		else if (c == '}' || c == ']') {
			if (--p->depth == 0)
				segment_done(p, on_ack, on_problem, ctx);
		}
	}
}
