/* StartEdgeConfigurationUpdate request parsing and validation, see
 * edge_config.h. The constraints are those of the KVS API model
 * (kinesisvideo 2017-09-30, as shipped with the AWS CLI). */
#include "edge_config.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "strbuf.h"

#define INVALID_ARGUMENT "InvalidArgumentException"
#define SERIALIZATION	 "SerializationException"

/* How a member's value is shown in a message: quoted, printable, short. */
#define SHOW_MAX 128

struct ctx {
	unsigned flags;
	struct edge_config_error *err;
	bool failed;		  /* err is filled (a fatal error) */
	struct strbuf violations; /* "Value ... at ...; ..." */
	int n_violations;
};

static void fatal(struct ctx *c, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fatal(struct ctx *c, const char *type, const char *fmt, ...)
{
	if (c->failed)
		return;
	c->failed = true;
	if (!c->err)
		return;
	c->err->type = type;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ paths */

/* A member path as the service's messages write it: each segment with
 * a lowercase first letter ("edgeConfig.deletionConfig"). */
static void model_path(char *out, size_t cap, const char *path, const char *key)
{
	snprintf(out, cap, "%s%s%s", path, *path ? "." : "", key);
	bool start = true;
	for (char *p = out; *p; p++) {
		if (start && *p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		start = *p == '.';
	}
}

static void show_value(struct strbuf *b, const struct json_value *v,
		       bool sensitive)
{
	if (!v) {
		sb_puts(b, "null");
		return;
	}
	if (sensitive) {
		sb_puts(b, "'*** Sensitive Data Redacted ***'");
		return;
	}
	sb_putc(b, '\'');
	size_t n = v->len < SHOW_MAX ? v->len : SHOW_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v->str[i];
		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			sb_printf(b, "\\x%02x", ch);
		else
			sb_putc(b, (char)ch);
	}
	if (n < v->len)
		sb_puts(b, "...");
	sb_putc(b, '\'');
}

/* One constraint violation, in the service's words. */
static void violation(struct ctx *c, const char *path, const char *key,
		      const struct json_value *v, bool sensitive,
		      const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void violation(struct ctx *c, const char *path, const char *key,
		      const struct json_value *v, bool sensitive,
		      const char *fmt, ...)
{
	char mp[160];
	model_path(mp, sizeof mp, path, key);
	if (c->n_violations++)
		sb_puts(&c->violations, "; ");
	sb_puts(&c->violations, "Value ");
	show_value(&c->violations, v, sensitive);
	sb_printf(&c->violations,
		  " at '%s' failed to satisfy constraint: ", mp);
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&c->violations, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ objects */

static const char *type_name(const struct json_value *v)
{
	switch (v->type) {
	case JSON_NULL:
		return "null";
	case JSON_FALSE:
	case JSON_TRUE:
		return "a boolean";
	case JSON_NUMBER:
		return "a number";
	case JSON_STRING:
		return "a string";
	case JSON_ARRAY:
		return "an array";
	case JSON_OBJECT:
		return "an object";
	}
	return "a value";
}

static void wrong_type(struct ctx *c, const char *path, const char *key,
		       const struct json_value *v, const char *want)
{
	fatal(c, SERIALIZATION, "%s%s%s: expected %s, found %s", path,
	      *path && *key ? "." : "", key, want, type_name(v));
}

/* Refuses a member given twice and (unless told otherwise) an unknown
 * one; `allowed` is NULL-terminated. */
static bool check_members(struct ctx *c, const struct json_value *obj,
			  const char *path, const char *const *allowed)
{
	for (size_t i = 0; i < obj->n; i++) {
		const char *key = obj->members[i].key;
		size_t key_len = obj->members[i].key_len;
		for (size_t j = 0; j < i; j++)
			if (obj->members[j].key_len == key_len &&
			    memcmp(obj->members[j].key, key, key_len) == 0) {
				fatal(c, SERIALIZATION,
				      "%s%s\"%s\" is given twice", path,
				      *path ? ": " : "", key);
				return false;
			}
		/* a key holding NUL is never a known one (nor equal to
		 * one by its first part) */
		bool known = false;
		for (size_t k = 0; allowed[k]; k++)
			known |= key_len == strlen(key) &&
				 strcmp(allowed[k], key) == 0;
		if (known || (c->flags & EDGE_CONFIG_IGNORE_UNKNOWN))
			continue;
		struct strbuf b = STRBUF_INIT;
		for (size_t k = 0; allowed[k]; k++)
			sb_printf(&b, "%s%s", k ? ", " : "", allowed[k]);
		/* the key is shown as JSON: it may hold anything */
		struct strbuf q = STRBUF_INIT;
		json_put_stringn(&q, key,
				 key_len > SHOW_MAX ? SHOW_MAX : key_len);
		fatal(c, INVALID_ARGUMENT,
		      "Unknown parameter in %s: %s, must be one of: %s",
		      *path ? path : "input", q.s ? q.s : "?", b.s ? b.s : "");
		sb_free(&q);
		sb_free(&b);
		return false;
	}
	return true;
}

/* A member's value; NULL when absent or JSON null (the service treats
 * both as not given). */
static const struct json_value *get(const struct json_value *obj,
				    const char *key)
{
	size_t len = strlen(key);
	for (size_t i = 0; obj && obj->type == JSON_OBJECT && i < obj->n; i++) {
		const struct json_member *m = &obj->members[i];
		/* not json_get(): "Key\u0000x" must not pass for "Key" */
		if (m->key_len == len && memcmp(m->key, key, len) == 0)
			return m->value->type != JSON_NULL ? m->value : NULL;
	}
	return NULL;
}

/* An object member (checked), NULL if absent or on error. */
static const struct json_value *
get_object(struct ctx *c, const struct json_value *obj, const char *path,
	   const char *key, const char *const *allowed, bool required,
	   char *sub, size_t subcap)
{
	if (c->failed)
		return NULL;
	const struct json_value *v = get(obj, key);
	snprintf(sub, subcap, "%s%s%s", path, *path ? "." : "", key);
	if (!v) {
		if (required)
			violation(c, path, key, NULL, false,
				  "Member must not be null");
		return NULL;
	}
	if (v->type != JSON_OBJECT) {
		wrong_type(c, path, key, v, "an object");
		return NULL;
	}
	return check_members(c, v, sub, allowed) ? v : NULL;
}

/* ------------------------------------------------------------ strings */

/* Length as the service counts it: UTF-16 code units. */
static size_t utf16_length(const char *s, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch & 0xC0) != 0x80)
			len += ch >= 0xF0 ? 2 : 1;
	}
	return len;
}

struct string_rule {
	const char *key;
	size_t min, max;
	const char *pattern; /* as the model writes it, NULL = none */
	const char *regex;   /* the same as a POSIX ERE */
	bool sensitive;
	bool required;
};

static bool matches(const char *regex, const char *s)
{
	regex_t re;
	if (regcomp(&re, regex, REG_EXTENDED | REG_NOSUB))
		return false;
	bool ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* Copies a valid string member into dst (of cap >= the rule's maximum
 * length in UTF-8 plus 1). true when given and valid. */
static bool get_string(struct ctx *c, const struct json_value *obj,
		       const char *path, const struct string_rule *r, char *dst,
		       size_t cap)
{
	if (c->failed)
		return false;
	const struct json_value *v = get(obj, r->key);
	if (!v) {
		if (r->required)
			violation(c, path, r->key, NULL, false,
				  "Member must not be null");
		return false;
	}
	if (v->type != JSON_STRING) {
		wrong_type(c, path, r->key, v, "a string");
		return false;
	}
	bool ok = true;
	if (strlen(v->str) != v->len) {
		violation(c, path, r->key, v, r->sensitive,
			  "Member must not contain a NUL character");
		return false;
	}
	size_t len = utf16_length(v->str, v->len);
	if (len < r->min) {
		violation(c, path, r->key, v, r->sensitive,
			  "Member must have length greater than or equal to "
			  "%zu",
			  r->min);
		ok = false;
	}
	if (len > r->max) {
		violation(c, path, r->key, v, r->sensitive,
			  "Member must have length less than or equal to %zu",
			  r->max);
		ok = false;
	}
	if (r->pattern && !matches(r->regex, v->str)) {
		violation(c, path, r->key, v, r->sensitive,
			  "Member must satisfy regular expression pattern: %s",
			  r->pattern);
		ok = false;
	}
	if (!ok)
		return false;
	if (v->len >= cap) { /* cannot happen within the rules' lengths */
		fatal(c, INVALID_ARGUMENT, "%s%s%s: too long", path,
		      *path ? "." : "", r->key);
		return false;
	}
	memcpy(dst, v->str, v->len + 1);
	return true;
}

/* An enum member: the index in `values` (NULL-terminated), -1 if absent
 * or invalid. */
static int get_enum(struct ctx *c, const struct json_value *obj,
		    const char *path, const char *key,
		    const char *const *values, bool required)
{
	if (c->failed)
		return -1;
	const struct json_value *v = get(obj, key);
	if (!v) {
		if (required)
			violation(c, path, key, NULL, false,
				  "Member must not be null");
		return -1;
	}
	if (v->type != JSON_STRING) {
		wrong_type(c, path, key, v, "a string");
		return -1;
	}
	for (int i = 0; values[i]; i++)
		if (strlen(v->str) == v->len && strcmp(v->str, values[i]) == 0)
			return i;
	struct strbuf b = STRBUF_INIT;
	for (int i = 0; values[i]; i++)
		sb_printf(&b, "%s%s", i ? ", " : "", values[i]);
	violation(c, path, key, v, false,
		  "Member must satisfy enum value set: [%s]", b.s ? b.s : "");
	sb_free(&b);
	return -1;
}

/* An integer member: 1 given and valid, 0 absent, -1 invalid. */
static int get_int(struct ctx *c, const struct json_value *obj,
		   const char *path, const char *key, int64_t min, int64_t max,
		   bool required, int64_t *out)
{
	if (c->failed)
		return -1;
	const struct json_value *v = get(obj, key);
	if (!v) {
		if (required)
			violation(c, path, key, NULL, false,
				  "Member must not be null");
		return required ? -1 : 0;
	}
	int64_t x;
	if (v->type != JSON_NUMBER || json_int64(v, &x) || x < INT32_MIN ||
	    x > INT32_MAX) {
		wrong_type(c, path, key, v,
			   v->type == JSON_NUMBER ? "an integer (32-bit)"
						  : "an integer");
		return -1;
	}
	if (x < min) {
		violation(c, path, key, v, false,
			  "Member must have value greater than or equal to "
			  "%lld",
			  (long long)min);
		return -1;
	}
	if (x > max) {
		violation(c, path, key, v, false,
			  "Member must have value less than or equal to %lld",
			  (long long)max);
		return -1;
	}
	*out = x;
	return 1;
}

/* A boolean member: 1 given, 0 absent, -1 invalid. */
static int get_bool(struct ctx *c, const struct json_value *obj,
		    const char *path, const char *key, bool *out)
{
	if (c->failed)
		return -1;
	const struct json_value *v = get(obj, key);
	if (!v)
		return 0;
	if (v->type != JSON_TRUE && v->type != JSON_FALSE) {
		wrong_type(c, path, key, v, "a boolean");
		return -1;
	}
	*out = v->type == JSON_TRUE;
	return 1;
}

/* ------------------------------------------------------------ the shape */

static const struct string_rule stream_name_rule = {"StreamName",
						    1,
						    EDGE_STREAM_NAME_MAX,
						    "[a-zA-Z0-9_.-]+",
						    "^[a-zA-Z0-9_.-]+$",
						    false,
						    false};
static const struct string_rule stream_arn_rule = {
    "StreamARN",
    1,
    EDGE_STREAM_ARN_MAX,
    "arn:[a-z\\d-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/"
    "[0-9]+",
    "^arn:[a-z0-9-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/"
    "[0-9]+$",
    false,
    false};
static const struct string_rule hub_device_arn_rule = {
    "HubDeviceArn",
    1,
    EDGE_HUB_DEVICE_ARN_MAX,
    "arn:[a-z\\d-]+:iot:[a-z0-9-]+:[0-9]+:thing/[a-zA-Z0-9_.-]+",
    "^arn:[a-z0-9-]+:iot:[a-z0-9-]+:[0-9]+:thing/[a-zA-Z0-9_.-]+$",
    false,
    true};
static const struct string_rule secret_arn_rule = {
    "MediaUriSecretArn",
    20,
    EDGE_SECRET_ARN_MAX,
    "arn:[a-z\\d-]+:secretsmanager:[a-z0-9-]+:[0-9]+:secret:[a-zA-Z0-9_.-]+",
    "^arn:[a-z0-9-]+:secretsmanager:[a-z0-9-]+:[0-9]+:secret:[a-zA-Z0-9_.-]+$",
    true,
    true};
/* The model's pattern [^\n]{11,100}: no newline, checked by length too. */
static const struct string_rule expression_rule = {"ScheduleExpression",
						   11,
						   EDGE_SCHEDULE_EXPRESSION_MAX,
						   "[^\\n]{11,100}",
						   "^[^\n]*$",
						   false,
						   true};

static const char *const media_uri_types[] = {"RTSP_URI", "FILE_URI", NULL};
static const char *const full_strategies[] = {"DELETE_OLDEST_MEDIA",
					      "DENY_NEW_MEDIA", NULL};

const char *edge_media_uri_type_name(enum edge_media_uri_type t)
{
	return media_uri_types[t == EDGE_MEDIA_URI_FILE];
}

const char *edge_full_strategy_name(enum edge_full_strategy s)
{
	return full_strategies[s == EDGE_DENY_NEW_MEDIA];
}

static void parse_schedule(struct ctx *c, const struct json_value *parent,
			   const char *path, bool required,
			   struct edge_schedule *s)
{
	static const char *const members[] = {"ScheduleExpression",
					      "DurationInSeconds", NULL};
	char sub[128];
	const struct json_value *o =
	    get_object(c, parent, path, "ScheduleConfig", members, required,
		       sub, sizeof sub);
	if (!o)
		return;
	s->given = true;
	int64_t duration = 0;
	bool expr_ok = get_string(c, o, sub, &expression_rule, s->expression,
				  sizeof s->expression);
	int dur_ok =
	    get_int(c, o, sub, "DurationInSeconds", QUARTZ_DURATION_MIN_S,
		    QUARTZ_DURATION_MAX_S, true, &duration);
	if (!expr_ok || dur_ok != 1 || c->n_violations || c->failed)
		return;
	struct quartz_cron_error qe;
	if (quartz_schedule_parse(&s->schedule, s->expression, (long)duration,
				  &qe)) {
		char mp[160];
		model_path(mp, sizeof mp, sub, "ScheduleExpression");
		fatal(c, INVALID_ARGUMENT,
		      "Invalid ScheduleExpression '%s' at '%s': %s",
		      s->expression, mp, qe.msg);
	}
}

static void parse_recorder(struct ctx *c, const struct json_value *edge,
			   struct edge_config *cfg)
{
	static const char *const members[] = {"MediaSourceConfig",
					      "ScheduleConfig", NULL};
	static const char *const source_members[] = {"MediaUriSecretArn",
						     "MediaUriType", NULL};
	char path[96], src_path[128];
	const struct json_value *rec =
	    get_object(c, edge, "EdgeConfig", "RecorderConfig", members, true,
		       path, sizeof path);
	if (!rec)
		return;
	const struct json_value *src =
	    get_object(c, rec, path, "MediaSourceConfig", source_members, true,
		       src_path, sizeof src_path);
	if (src) {
		get_string(c, src, src_path, &secret_arn_rule,
			   cfg->media_uri_secret_arn,
			   sizeof cfg->media_uri_secret_arn);
		int t = get_enum(c, src, src_path, "MediaUriType",
				 media_uri_types, true);
		cfg->media_uri_type =
		    t == 1 ? EDGE_MEDIA_URI_FILE : EDGE_MEDIA_URI_RTSP;
	}
	parse_schedule(c, rec, path, false, &cfg->recorder);
}

static void parse_uploader(struct ctx *c, const struct json_value *edge,
			   struct edge_config *cfg)
{
	static const char *const members[] = {"ScheduleConfig", NULL};
	char path[96];
	const struct json_value *up =
	    get_object(c, edge, "EdgeConfig", "UploaderConfig", members, false,
		       path, sizeof path);
	if (up) /* the model requires a schedule inside an UploaderConfig */
		parse_schedule(c, up, path, true, &cfg->uploader);
}

static void parse_deletion(struct ctx *c, const struct json_value *edge,
			   struct edge_deletion *d)
{
	static const char *const members[] = {"EdgeRetentionInHours",
					      "LocalSizeConfig",
					      "DeleteAfterUpload", NULL};
	static const char *const size_members[] = {"MaxLocalMediaSizeInMB",
						   "StrategyOnFullSize", NULL};
	char path[96], size_path[128];
	int64_t x;
	const struct json_value *del =
	    get_object(c, edge, "EdgeConfig", "DeletionConfig", members, false,
		       path, sizeof path);
	if (!del)
		return;
	if (get_int(c, del, path, "EdgeRetentionInHours", 1,
		    EDGE_RETENTION_HOURS_DEFAULT, false, &x) == 1)
		d->retention_hours = (int)x;
	get_bool(c, del, path, "DeleteAfterUpload", &d->delete_after_upload);
	const struct json_value *size =
	    get_object(c, del, path, "LocalSizeConfig", size_members, false,
		       size_path, sizeof size_path);
	if (!size)
		return;
	if (get_int(c, size, size_path, "MaxLocalMediaSizeInMB",
		    EDGE_MAX_LOCAL_MEDIA_MB_MIN, EDGE_MAX_LOCAL_MEDIA_MB_MAX,
		    false, &x) == 1)
		d->max_local_media_mb = x;
	int s = get_enum(c, size, size_path, "StrategyOnFullSize",
			 full_strategies, false);
	if (s >= 0)
		d->on_full = (enum edge_full_strategy)s;
}

static void parse_request(struct ctx *c, const struct json_value *root,
			  struct edge_config *cfg)
{
	static const char *const members[] = {"StreamName", "StreamARN",
					      "EdgeConfig", NULL};
	static const char *const edge_members[] = {
	    "HubDeviceArn", "RecorderConfig", "UploaderConfig",
	    "DeletionConfig", NULL};
	if (root->type != JSON_OBJECT) {
		wrong_type(c, "request body", "", root, "an object");
		return;
	}
	if (!check_members(c, root, "", members))
		return;
	get_string(c, root, "", &stream_name_rule, cfg->stream_name,
		   sizeof cfg->stream_name);
	get_string(c, root, "", &stream_arn_rule, cfg->stream_arn,
		   sizeof cfg->stream_arn);
	char path[32];
	const struct json_value *edge = get_object(
	    c, root, "", "EdgeConfig", edge_members, true, path, sizeof path);
	if (edge) {
		get_string(c, edge, path, &hub_device_arn_rule,
			   cfg->hub_device_arn, sizeof cfg->hub_device_arn);
		parse_recorder(c, edge, cfg);
		parse_uploader(c, edge, cfg);
		parse_deletion(c, edge, &cfg->deletion);
	}
	if (!c->failed && !c->n_violations && !get(root, "StreamName") &&
	    !get(root, "StreamARN"))
		fatal(c, INVALID_ARGUMENT,
		      "StreamARN or StreamName must be specified");
}

int edge_config_parse(struct edge_config *cfg, const char *body, size_t n,
		      unsigned flags, struct edge_config_error *err)
{
	struct ctx c = {.flags = flags, .err = err};
	memset(cfg, 0, sizeof *cfg);
	cfg->deletion.retention_hours = EDGE_RETENTION_HOURS_DEFAULT;
	cfg->deletion.delete_after_upload = true;
	cfg->deletion.on_full = EDGE_DELETE_OLDEST_MEDIA;
	if (err)
		memset(err, 0, sizeof *err);

	size_t off = 0;
	const char *why = NULL;
	struct json_value *root = json_parse(body, n, &off, &why);
	if (!root) {
		fatal(&c, SERIALIZATION, "invalid JSON at byte offset %zu: %s",
		      off, why);
		return -1;
	}
	parse_request(&c, root, cfg);
	json_free(root);
	if (!c.failed && c.n_violations)
		fatal(&c, INVALID_ARGUMENT,
		      "%d validation error%s detected: %s", c.n_violations,
		      c.n_violations > 1 ? "s" : "",
		      c.violations.s ? c.violations.s : "");
	if (c.violations.failed)
		fatal(&c, INVALID_ARGUMENT, "out of memory");
	sb_free(&c.violations);
	return c.failed ? -1 : 0;
}

/* ------------------------------------------------------------ warnings */

static void put_time(struct strbuf *b, time_t t)
{
	struct tm tm;
	char text[64];
	if (localtime_r(&t, &tm) &&
	    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %z", &tm))
		sb_puts(b, text);
	else
		sb_printf(b, "@%lld", (long long)t);
}

/* The longest time media waits for the start of an upload window, from
 * `now` on; false if no window opens. */
static bool longest_upload_wait(const struct quartz_schedule *s, time_t now,
				time_t *from, time_t *until)
{
	const time_t horizon = now + (time_t)400 * 86400;
	struct quartz_window w;
	time_t ready = now; /* media recorded from here waits for w */
	bool any = false;
	*from = *until = now;
	for (int k = 0; k < 20000; k++) {
		if (!quartz_schedule_next_windows(s, ready, &w, 1) ||
		    w.start > horizon)
			break;
		any = true;
		if (w.start > ready && w.start - ready > *until - *from) {
			*from = ready;
			*until = w.start;
		}
		ready = w.end;
	}
	return any;
}

int edge_config_warnings(const struct edge_config *cfg, time_t now,
			 struct strbuf *out)
{
	int n = 0;
	struct quartz_window w;
	if (cfg->recorder.given && !quartz_schedule_next_windows(
				       &cfg->recorder.schedule, now, &w, 1)) {
		sb_printf(out,
			  "RecorderConfig.ScheduleConfig: '%s' opens no "
			  "window after ",
			  cfg->recorder.expression);
		put_time(out, now);
		sb_puts(out, ": nothing will be recorded\n");
		n++;
	}
	if (!cfg->uploader.given)
		return n;
	time_t from, until;
	if (!longest_upload_wait(&cfg->uploader.schedule, now, &from, &until)) {
		sb_printf(out,
			  "UploaderConfig.ScheduleConfig: '%s' opens no "
			  "window within 400 days after ",
			  cfg->uploader.expression);
		put_time(out, now);
		sb_puts(out, ": nothing will be uploaded\n");
		return n + 1;
	}
	int hours = cfg->deletion.retention_hours;
	if (until - from > (time_t)hours * 3600) {
		sb_printf(out,
			  "UploaderConfig.ScheduleConfig: '%s' leaves "
			  "%.1f h without an upload window (",
			  cfg->uploader.expression,
			  (double)(until - from) / 3600.0);
		put_time(out, from);
		sb_puts(out, " to ");
		put_time(out, until);
		sb_printf(out,
			  "), longer than EdgeRetentionInHours %d: media "
			  "recorded then is deleted before it is uploaded\n",
			  hours);
		n++;
	}
	return n;
}
