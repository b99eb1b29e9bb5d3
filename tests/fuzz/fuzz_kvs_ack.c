/* libFuzzer: the kvs sink's PutMedia ACK stream parser. The input is the
 * response body; it is fed once whole and once cut into pieces at offsets
 * the input itself picks (as TCP would), and both feeds must report the
 * same ACKs and problems at the same byte offsets. Every ACK's strings are
 * terminated within their arrays and its ErrorId maps to an entry. */
#include "modules/kvs/ack.h"
#include "modules/kvs/status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS 4096

struct event {
	int is_ack;
	struct kvs_ack ack;
	uint32_t status;
	uint64_t offset;
};

struct log {
	struct event ev[MAX_EVENTS];
	size_t n;
};

static void on_ack(void *ctx, const struct kvs_ack *a)
{
	struct log *l = ctx;
	if (memchr(a->fragment_number, 0, sizeof(a->fragment_number)) == NULL ||
	    memchr(a->error_code, 0, sizeof(a->error_code)) == NULL)
		__builtin_trap();
	const struct kvs_error_ack *e = kvs_error_ack_lookup(a->error_id);
	if (!e || !e->status_name || !e->advice)
		__builtin_trap();
	(void)kvs_ack_type_name(a->type);
	(void)kvs_action_name(e->action);
	if (l->n < MAX_EVENTS) {
		struct event *ev = &l->ev[l->n++];
		memset(ev, 0, sizeof(*ev));
		ev->is_ack = 1;
		ev->ack = *a;
	}
}

static void on_problem(void *ctx, const struct kvs_ack_problem *p)
{
	struct log *l = ctx;
	if (!p->name || !p->what)
		__builtin_trap();
	if (l->n < MAX_EVENTS) {
		struct event *ev = &l->ev[l->n++];
		memset(ev, 0, sizeof(*ev));
		ev->status = p->status;
		ev->offset = p->offset;
	}
}

static int same(const struct event *a, const struct event *b)
{
	if (a->is_ack != b->is_ack)
		return 0;
	if (!a->is_ack)
		return a->status == b->status && a->offset == b->offset;
	return a->ack.type == b->ack.type &&
	       a->ack.timecode == b->ack.timecode &&
	       a->ack.error_id == b->ack.error_id &&
	       !strcmp(a->ack.fragment_number, b->ack.fragment_number) &&
	       !strcmp(a->ack.error_code, b->ack.error_code);
}

static struct log whole, pieces;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* The first byte seeds the cut points; the rest is the body. */
	unsigned seed = data[0];
	const char *body = (const char *)data + 1;
	size_t n = size - 1;

	struct kvs_ack_parser p;
	whole.n = 0;
	kvs_ack_parser_init(&p);
	kvs_ack_feed(&p, body, n, on_ack, on_problem, &whole);

	pieces.n = 0;
	kvs_ack_parser_init(&p);
	size_t off = 0;
	while (off < n) {
		seed = seed * 1103515245u + 12345u;
		size_t len = 1 + (seed >> 16) % 64;
		if (len > n - off)
			len = n - off;
		/* A copy of exactly the piece, so ASan sees reads past it. */
		char *piece = malloc(len);
		if (!piece)
			return 0;
		memcpy(piece, body + off, len);
		kvs_ack_feed(&p, piece, len, on_ack, on_problem, &pieces);
		free(piece);
		off += len;
	}
	if (whole.n != pieces.n)
		__builtin_trap();
	for (size_t i = 0; i < whole.n; i++)
		if (!same(&whole.ev[i], &pieces.ev[i]))
			__builtin_trap();

	/* One segment on its own, as kvs_ack_feed hands it over. */
	struct kvs_ack a;
	struct kvs_ack_problem pr;
	if (kvs_ack_parse(body, n, &a, &pr) == 0) {
		if (!kvs_error_ack_lookup(a.error_id))
			__builtin_trap();
	} else if (!pr.name || !pr.what) {
		__builtin_trap();
	}
	return 0;
}
