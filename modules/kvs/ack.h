/* PutMedia acknowledgements: the response body of a PutMedia request is a
 * stream of JSON objects, one per event, separated by newlines (KVS) or
 * nothing at all (some proxies re-chunk it). The parser is fed whatever
 * bytes arrive and calls back once per complete object. */
#ifndef VPIPE_MODULES_KVS_ACK_H
#define VPIPE_MODULES_KVS_ACK_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Longest ACK object accepted (MAX_ACK_FRAGMENT_LEN in the producer SDK). */
#define KVS_ACK_MAX_LEN 1024

struct kvs_ack {
	enum kvs_ack_type type;
	int64_t timecode;	   /* FragmentTimecode, ms; -1 if absent */
	char fragment_number[129]; /* FragmentNumber, "" if absent */
	int error_id;		   /* ErrorId, 0 if absent */
	char error_code[96];	   /* ErrorCode, "" if absent */
};

/* What went wrong with one segment, with the producer SDK's status. */
struct kvs_ack_problem {
	uint32_t status; /* e.g. 0x52000071 STATUS_INVALID_ACK_SEGMENT_LEN */
	const char *name;
	const char *what;
	uint64_t offset; /* byte offset in the response body */
};

typedef void (*kvs_ack_fn)(void *ctx, const struct kvs_ack *ack);
typedef void (*kvs_ack_problem_fn)(void *ctx, const struct kvs_ack_problem *p);

struct kvs_ack_parser {
	char buf[KVS_ACK_MAX_LEN + 1];
	size_t len;
	int depth;
	int in_string, escaped;
	int skipping; /* an oversized or stray segment: wait for the next '{' */
	uint64_t offset;
	uint64_t seg_start;
};

void kvs_ack_parser_init(struct kvs_ack_parser *p);
void kvs_ack_feed(struct kvs_ack_parser *p, const char *data, size_t n,
		  kvs_ack_fn on_ack, kvs_ack_problem_fn on_problem, void *ctx);
/* Parse one complete object. 0, or -1 with *pr filled. */
int kvs_ack_parse(const char *s, size_t n, struct kvs_ack *a,
		  struct kvs_ack_problem *pr);
const char *kvs_ack_type_name(enum kvs_ack_type t);
#endif
