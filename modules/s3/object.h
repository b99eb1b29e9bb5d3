/* What the `s3` module makes of a frame, free of the kernel and the network
 * so that unit tests drive it directly: the object key from a template, the
 * request URL (path-style or virtual-hosted), the Content-Type, the
 * x-amz-meta-* headers from the frame's tags, the notification event
 * document, and the S3 error code of a failed answer. */
#ifndef VPIPE_MODULES_S3_OBJECT_H
#define VPIPE_MODULES_S3_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vpipe/frame.h>

#include "strbuf.h"

/* S3 limits: key bytes, user metadata bytes (names + values). */
#define S3_MAX_KEY	1024
#define S3_MAX_METADATA 2048

/* The service's image path (developer guide, image extraction):
 * ImagePrefix_AccountID_StreamName_ImageTimecode_RandomID.ext, behind one
 * random hex character so that uploads spread over 16 S3 prefixes. */
#define S3_DEFAULT_KEY_TEMPLATE                                                \
	"{rand-hex}/{image-prefix_}{account_}{stream}_{timecode}_{uuid}.{ext}"

/* Frame tags with these names are requests or routing, not metadata. */
#define S3_TAG_STREAM	    "stream-name"
#define S3_TAG_IMAGE_PREFIX "AWS_KINESISVIDEO_IMAGE_PREFIX"
#define S3_TAG_PRODUCER_TS  "aws_kinesisvideo_producer_timestamp"
#define S3_TAG_SERVER_TS    "aws_kinesisvideo_server_timestamp"
#define S3_TAG_FRAGMENT	    "aws_kinesisvideo_fragment_number"

/* Values for the template of one object. */
struct s3_key_vars {
	const char *stream;	  /* {stream} */
	const char *account;	  /* {account} */
	const char *image_prefix; /* {image-prefix} */
	const char *ext;	  /* {ext}: jpg, png, mkv, json */
	const char *fragment;	  /* {fragment}, "" when unknown */
	int64_t timecode_ms;	  /* {timecode}: epoch ms */
	uint64_t seq;		  /* {seq} */
	/* Randomness for {rand-hex} and {uuid}: 17 bytes (tests fix it). */
	const uint8_t *random;
};

/* Check a template: unknown {names} or an unclosed brace. 0, or -1 with
 * err naming the offset. */
int s3_key_template_check(const char *tmpl, char *err, size_t errlen);
/* Expand: {name} is the value, {name_} the value and '_' when the value is
 * not empty (nothing otherwise). 0, or -1 (key longer than 1024 bytes). */
int s3_key_expand(const char *tmpl, const struct s3_key_vars *v, char *out,
		  size_t outlen);

/* Percent-encode a key for the request path: every byte but A-Z a-z 0-9
 * - . _ ~ and '/' (the encoding S3 signs). */
void s3_uri_encode_key(struct strbuf *b, const char *key);

enum s3_addressing { S3_ADDR_AUTO, S3_ADDR_PATH, S3_ADDR_VIRTUAL };

struct s3_target {
	char scheme[8]; /* http or https */
	char host[256]; /* authority as sent in Host: host[:port] */
	char base[512]; /* scheme://host[/path-prefix] without slash */
	bool path_style;
};

/* Work out where requests go. endpoint NULL: AWS
 * (https://s3.REGION.amazonaws.com, virtual-hosted unless the bucket
 * name has dots). 0, or -1 with err. */
int s3_target_init(struct s3_target *t, const char *endpoint,
		   const char *region, const char *bucket,
		   enum s3_addressing addr, char *err, size_t errlen);
/* URL and the path that is signed, for one key. */
void s3_object_url(const struct s3_target *t, const char *bucket,
		   const char *key, struct strbuf *url, struct strbuf *path);

const char *s3_content_type(uint32_t media);
const char *s3_extension(uint32_t media);

/* x-amz-meta-NAME: value header lines for the frame's tags, names lower
 * case with characters outside [a-z0-9._-] made '-', values with bytes
 * outside printable ASCII made '?'. At most S3_MAX_METADATA bytes: the
 * rest is skipped and counted in *skipped. Returns the number of lines. */
size_t s3_metadata_headers(const struct vpipe_tag *tags, unsigned n,
			   char lines[][512], size_t max_lines,
			   unsigned *skipped);

/* The notification event object: the fields of the service's
 * notification message, and where the object went. */
struct s3_event_info {
	const char *stream_arn; /* NULL: null */
	const char *stream;
	const char *fragment; /* NULL: null */
	int64_t producer_ms;
	int64_t server_ms;
	const char *bucket, *key, *content_type, *etag;
	size_t size;
	const struct vpipe_tag *tags;
	unsigned num_tags;
};
/* 0, or -1 when out of memory (b->failed). */
int s3_event_json(struct strbuf *b, const struct s3_event_info *e);
/* A JSON string of bytes that may not be UTF-8 (tags are bytes): invalid
 * sequences become U+FFFD, so documents always parse. */
void s3_json_text(struct strbuf *b, const char *s);
/* Is the tag custom metadata (not a request, routing or service name)? */
bool s3_tag_is_custom(const char *name);

/* <Code>X</Code> and <Message>Y</Message> of an S3 error document. */
void s3_error_fields(const char *body, size_t n, char *code, size_t codelen,
		     char *msg, size_t msglen);

/* Whether to try again after this answer (status 0: no answer at all). */
enum s3_verdict { S3_OK, S3_RETRY, S3_RETRY_AUTH, S3_GIVE_UP };
enum s3_verdict s3_classify(long status, const char *code);
#endif
