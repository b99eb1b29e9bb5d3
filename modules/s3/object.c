/* Object keys, URLs, metadata and event documents (see object.h). */
#include "object.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static const char *const var_names[] = {
    "stream",	"account", "image-prefix", "ext",  "fragment",
    "timecode", "seq",	   "rand-hex",	   "uuid", NULL,
};

static bool known_var(const char *name, size_t n)
{
	if (n && name[n - 1] == '_')
		n--;
	for (unsigned i = 0; var_names[i]; i++)
		if (strlen(var_names[i]) == n && !memcmp(var_names[i], name, n))
			return true;
	return false;
}

int s3_key_template_check(const char *tmpl, char *err, size_t errlen)
{
	for (const char *p = tmpl; *p; p++) {
		if (*p == '}') {
			snprintf(err, errlen,
				 "key-template: '}' without '{' at character "
				 "%zu",
				 (size_t)(p - tmpl) + 1);
			return -1;
		}
		if (*p != '{')
			continue;
		const char *end = strchr(p, '}');
		if (!end) {
			snprintf(err, errlen,
				 "key-template: '{' at character %zu is not "
				 "closed",
				 (size_t)(p - tmpl) + 1);
			return -1;
		}
		if (!known_var(p + 1, (size_t)(end - p - 1))) {
			snprintf(err, errlen,
				 "key-template: unknown {%.*s} at character "
				 "%zu (known: stream account image-prefix ext "
				 "fragment timecode seq rand-hex uuid; NAME_ "
				 "adds '_' when not empty)",
				 (int)(end - p - 1), p + 1,
				 (size_t)(p - tmpl) + 1);
			return -1;
		}
		p = end;
	}
	if (!*tmpl) {
		snprintf(err, errlen, "key-template is empty");
		return -1;
	}
	return 0;
}

static void var_value(const struct s3_key_vars *v, const char *name, size_t n,
		      char *buf, size_t buflen)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *r = v->random;
	buf[0] = 0;
#define IS(s) (strlen(s) == n && !memcmp(name, s, n))
	if (IS("stream"))
		snprintf(buf, buflen, "%s", v->stream ? v->stream : "");
	else if (IS("account"))
		snprintf(buf, buflen, "%s", v->account ? v->account : "");
	else if (IS("image-prefix"))
		snprintf(buf, buflen, "%s",
			 v->image_prefix ? v->image_prefix : "");
	else if (IS("ext"))
		snprintf(buf, buflen, "%s", v->ext ? v->ext : "bin");
	else if (IS("fragment"))
		snprintf(buf, buflen, "%s", v->fragment ? v->fragment : "");
	else if (IS("timecode"))
		snprintf(buf, buflen, "%lld", (long long)v->timecode_ms);
	else if (IS("seq"))
		snprintf(buf, buflen, "%llu", (unsigned long long)v->seq);
	else if (IS("rand-hex"))
		snprintf(buf, buflen, "%c", hex[r[16] & 15]);
	else if (IS("uuid")) /* version 4, RFC 4122 variant */
		snprintf(buf, buflen,
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			 "%02x%02x%02x%02x%02x%02x",
			 r[0], r[1], r[2], r[3], r[4], r[5], 0x40 | (r[6] & 15),
			 r[7], 0x80 | (r[8] & 0x3f), r[9], r[10], r[11], r[12],
			 r[13], r[14], r[15]);
#undef IS
}

int s3_key_expand(const char *tmpl, const struct s3_key_vars *v, char *out,
		  size_t outlen)
{
	size_t o = 0;
	for (const char *p = tmpl; *p; p++) {
		char val[2 * S3_MAX_KEY + 2]; /* longer values fail below */
		const char *add = val;
		size_t addlen;
		const char *end = *p == '{' ? strchr(p, '}') : NULL;
		if (end) {
			size_t n = (size_t)(end - p - 1);
			bool sep = n && p[n] == '_';
			var_value(v, p + 1, sep ? n - 1 : n, val,
				  sizeof(val) - 1);
			if (sep && val[0])
				strcat(val, "_");
			addlen = strlen(val);
			p = end;
		} else {
			add = p;
			addlen = 1;
		}
		if (o + addlen >= outlen || o + addlen > S3_MAX_KEY)
			return -1;
		memcpy(out + o, add, addlen);
		o += addlen;
	}
	out[o] = 0;
	return o ? 0 : -1;
}

void s3_uri_encode_key(struct strbuf *b, const char *key)
{
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~' || *p == '/')
			sb_putc(b, (char)*p);
		else
			sb_printf(b, "%%%02X", *p);
	}
}

static bool dns_compatible(const char *bucket)
{
	size_t n = strlen(bucket);
	if (n < 3 || n > 63)
		return false;
	for (const char *p = bucket; *p; p++)
		if (!(islower((unsigned char)*p) ||
		      isdigit((unsigned char)*p) || *p == '-'))
			return false;
	return true;
}

int s3_target_init(struct s3_target *t, const char *endpoint,
		   const char *region, const char *bucket,
		   enum s3_addressing addr, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	char url[512];
	if (endpoint && *endpoint)
		snprintf(url, sizeof(url), "%s", endpoint);
	else
		snprintf(url, sizeof(url), "https://s3.%s.amazonaws.com",
			 region);
	const char *rest;
	if (!strncmp(url, "https://", 8)) {
		strcpy(t->scheme, "https");
		rest = url + 8;
	} else if (!strncmp(url, "http://", 7)) {
		strcpy(t->scheme, "http");
		rest = url + 7;
	} else {
		snprintf(err, errlen,
			 "endpoint '%s' must start with http:// or https://",
			 url);
		return -1;
	}
	size_t hl = strcspn(rest, "/?#");
	if (hl == 0 || hl >= sizeof(t->host) - 64) {
		snprintf(err, errlen, "endpoint '%s' has no host", url);
		return -1;
	}
	const char *path = rest + hl;
	size_t pl = strcspn(path, "?#");
	while (pl && path[pl - 1] == '/')
		pl--; /* a trailing slash adds nothing */
	if (addr == S3_ADDR_AUTO)
		addr = (endpoint && *endpoint) || !dns_compatible(bucket)
			   ? S3_ADDR_PATH
			   : S3_ADDR_VIRTUAL;
	if (addr == S3_ADDR_VIRTUAL && !dns_compatible(bucket)) {
		snprintf(err, errlen,
			 "bucket '%s' cannot be a host name (virtual-hosted "
			 "addressing): use addressing = path",
			 bucket);
		return -1;
	}
	t->path_style = addr == S3_ADDR_PATH;
	if (t->path_style)
		snprintf(t->host, sizeof(t->host), "%.*s", (int)hl, rest);
	else
		snprintf(t->host, sizeof(t->host), "%s.%.*s", bucket, (int)hl,
			 rest);
	snprintf(t->base, sizeof(t->base), "%s://%s%.*s", t->scheme, t->host,
		 (int)pl, path);
	return 0;
}

void s3_object_url(const struct s3_target *t, const char *bucket,
		   const char *key, struct strbuf *url, struct strbuf *path)
{
	size_t before = path->len;
	const char *p = strchr(t->base + strlen(t->scheme) + 3, '/');
	if (p)
		sb_puts(path, p);
	sb_putc(path, '/');
	if (t->path_style) {
		s3_uri_encode_key(path, bucket);
		sb_putc(path, '/');
	}
	s3_uri_encode_key(path, key);
	sb_printf(url, "%s://%s", t->scheme, t->host);
	if (path->s)
		sb_puts(url, path->s + before);
}

const char *s3_content_type(uint32_t media)
{
	switch (media) {
	case VPIPE_MEDIA_JPEG:
		return "image/jpeg";
	case VPIPE_MEDIA_PNG:
		return "image/png";
	case VPIPE_MEDIA_MKV:
		return "video/x-matroska";
	case VPIPE_MEDIA_H264:
		return "video/h264";
	case VPIPE_MEDIA_EVENT:
		return "application/json";
	default:
		return "application/octet-stream";
	}
}

const char *s3_extension(uint32_t media)
{
	switch (media) {
	case VPIPE_MEDIA_JPEG:
		return "jpg";
	case VPIPE_MEDIA_PNG:
		return "png";
	case VPIPE_MEDIA_MKV:
		return "mkv";
	case VPIPE_MEDIA_H264:
		return "h264";
	case VPIPE_MEDIA_EVENT:
		return "json";
	default:
		return "bin";
	}
}

bool s3_tag_is_custom(const char *name)
{
	return strcmp(name, S3_TAG_STREAM) != 0 &&
	       strcmp(name, "content-type") != 0 &&
	       strncmp(name, "AWS_KINESISVIDEO_", 17) != 0 &&
	       strncmp(name, "aws_kinesisvideo_", 17) != 0;
}

static bool metadata_tag(const char *name)
{
	/* The service's own three go along; requests and routing do not. */
	return s3_tag_is_custom(name) || !strcmp(name, S3_TAG_PRODUCER_TS) ||
	       !strcmp(name, S3_TAG_SERVER_TS) ||
	       !strcmp(name, S3_TAG_FRAGMENT);
}

size_t s3_metadata_headers(const struct vpipe_tag *tags, unsigned n,
			   char lines[][512], size_t max_lines,
			   unsigned *skipped)
{
	size_t count = 0, bytes = 0;
	*skipped = 0;
	for (unsigned i = 0; i < n; i++) {
		const char *name = tags[i].name;
		const char *value = tags[i].value ? tags[i].value : "";
		if (!metadata_tag(name))
			continue;
		size_t nl = strlen(name), vl = strlen(value);
		if (count == max_lines || nl == 0 || nl > 128 || vl > 256 ||
		    bytes + nl + vl > S3_MAX_METADATA) {
			(*skipped)++;
			continue;
		}
		bytes += nl + vl;
		char *l = lines[count++];
		size_t o = (size_t)snprintf(l, 512, "x-amz-meta-");
		for (const char *p = name; *p; p++) {
			unsigned char c =
			    (unsigned char)tolower((unsigned char)*p);
			l[o++] = isalnum(c) || c == '.' || c == '_' || c == '-'
				     ? (char)c
				     : '-';
		}
		l[o++] = ':';
		l[o++] = ' ';
		for (const char *p = value; *p; p++) {
			unsigned char c = (unsigned char)*p;
			l[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
		l[o] = 0;
	}
	return count;
}

/* Length of the valid UTF-8 sequence at p, 0 if it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
		hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string of text that may not be UTF-8 (tags are bytes): invalid
 * bytes become U+FFFD, so the document always parses. */
void s3_json_text(struct strbuf *b, const char *s)
{
	struct strbuf t = STRBUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_len(p);
		if (n) {
			sb_append(&t, p, n);
			p += n;
		} else {
			sb_puts(&t, "\xef\xbf\xbd");
			p++;
		}
	}
	json_put_stringn(b, t.s ? t.s : "", t.len);
	if (t.failed)
		b->failed = 1;
	sb_free(&t);
}

static void put_nullable(struct strbuf *b, const char *s)
{
	if (s)
		s3_json_text(b, s);
	else
		sb_puts(b, "null");
}

int s3_event_json(struct strbuf *b, const struct s3_event_info *e)
{
	sb_puts(b, "{\"StreamArn\":");
	put_nullable(b, e->stream_arn);
	sb_puts(b, ",\"StreamName\":");
	s3_json_text(b, e->stream ? e->stream : "");
	sb_puts(b, ",\"FragmentNumber\":");
	put_nullable(b, e->fragment);
	sb_printf(
	    b,
	    ",\"FragmentStartProducerTimestamp\":%lld"
	    ",\"FragmentStartServerTimestamp\":%lld"
	    ",\"NotificationType\":\"PERSISTED\",\"NotificationPayload\":{",
	    (long long)e->producer_ms, (long long)e->server_ms);
	bool first = true;
	for (unsigned i = 0; i < e->num_tags; i++) {
		if (!s3_tag_is_custom(e->tags[i].name))
			continue;
		if (!first)
			sb_putc(b, ',');
		first = false;
		s3_json_text(b, e->tags[i].name);
		sb_putc(b, ':');
		s3_json_text(b, e->tags[i].value ? e->tags[i].value : "");
	}
	sb_puts(b, "},\"Bucket\":");
	s3_json_text(b, e->bucket);
	sb_puts(b, ",\"Key\":");
	s3_json_text(b, e->key);
	sb_puts(b, ",\"ContentType\":");
	s3_json_text(b, e->content_type);
	sb_printf(b, ",\"Size\":%zu,\"ETag\":", e->size);
	put_nullable(b, e->etag);
	sb_puts(b, "}");
	return b->failed ? -1 : 0;
}

static void xml_field(const char *body, size_t n, const char *tag, char *out,
		      size_t outlen)
{
	char open[32], close[32];
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	out[0] = 0;
	const char *s = memmem(body, n, open, strlen(open));
	if (!s)
		return;
	s += strlen(open);
	const char *e = memmem(s, n - (size_t)(s - body), close, strlen(close));
	if (!e)
		return;
	size_t len = (size_t)(e - s);
	if (len >= outlen)
		len = outlen - 1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	out[len] = 0;
}

void s3_error_fields(const char *body, size_t n, char *code, size_t codelen,
		     char *msg, size_t msglen)
{
	xml_field(body, n, "Code", code, codelen);
	xml_field(body, n, "Message", msg, msglen);
}

enum s3_verdict s3_classify(long status, const char *code)
{
	if (status >= 200 && status < 300)
		return S3_OK;
	if (status == 0 || status >= 500 || status == 429 || status == 408)
		return S3_RETRY;
	/* Fixed outside the appliance (credentials rewritten, the bucket
	 * created, the clock set): keep trying, with fresh credentials. */
	if (status == 401 || status == 403 || !strcmp(code, "ExpiredToken") ||
	    !strcmp(code, "RequestTimeTooSkewed") ||
	    !strcmp(code, "AuthorizationHeaderMalformed") ||
	    !strcmp(code, "InvalidToken"))
		return S3_RETRY_AUTH;
	if (status == 404 || status == 301 || status == 307 || status == 409)
		return S3_RETRY; /* NoSuchBucket, wrong region, bucket busy */
	return S3_GIVE_UP; /* this object cannot be stored (size, key...) */
}
