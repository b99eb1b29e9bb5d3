/* Unit tests of the kvs sink's parts that need no network: the content
 * store (order, ACKs, replay, eviction), the ACK stream parser, error ACK
 * and HTTP error mapping, and credential parsing. */
#include "tests/unit/check.h"

#include <curl/curl.h>

#include "modules/kvs/ack.h"
#include "aws_creds.h"
#include "modules/kvs/status.h"
#include "modules/kvs/store.h"

#define MS 1000000LL
#define S  1000000000LL

static struct kvs_store_config default_cfg(void)
{
	struct kvs_store_config c = {
	    .max_bytes = 4 << 20,
	    .buffer_ns = 120 * S,
	    .replay_ns = 40 * S,
	};
	return c;
}

/* Frame payloads are 'F' + fragment + frame index so order is checkable. */
static void frame_bytes(uint8_t *b, size_t n, int frag, int frame)
{
	memset(b, 'a' + (frag % 26), n);
	b[0] = 'F';
	b[1] = (uint8_t)frag;
	b[2] = (uint8_t)frame;
}

static int put(struct kvs_store *s, int frag, int frame, size_t n,
	       struct kvs_drops *d)
{
	uint8_t buf[4096];
	frame_bytes(buf, n, frag, frame);
	int64_t pts = (int64_t)frag * S + frame * 33 * MS;
	return kvs_store_put_frame(s, buf, n, frame == 0, 1000 + frag * 1000,
				   pts, 1, pts, d);
}

/* Read everything available into out; returns bytes. */
static size_t drain(struct kvs_store *s, uint8_t *out, size_t cap,
		    enum kvs_read_state *st)
{
	size_t total = 0;
	unsigned fr = 0, fg = 0;
	for (;;) {
		size_t n = kvs_store_read(s, out + total, 7, false, 1, 2, st,
					  &fr, &fg);
		if (!n)
			break;
		total += n;
		if (total + 7 > cap)
			break;
	}
	return total;
}

/* Count frames F<frag><frame> in a byte stream (each 100 bytes). */
static int count_frame(const uint8_t *b, size_t n, int frag, int frame)
{
	int c = 0;
	for (size_t i = 0; i + 3 <= n; i++)
		if (b[i] == 'F' && b[i + 1] == frag && b[i + 2] == frame)
			c++;
	return c;
}

static void test_store_order_and_acks(void)
{
	struct kvs_store s;
	struct kvs_store_config c = default_cfg();
	CHECK_EQ_INT(kvs_store_init(&s, &c), 0);
	/* No header yet: frames are refused. */
	CHECK_EQ_INT(put(&s, 0, 0, 100, NULL), 1);
	CHECK_EQ_INT(kvs_store_put_header(&s, (const uint8_t *)"HDR", 3), 0);
	for (int f = 0; f < 3; f++)
		for (int i = 0; i < 4; i++)
			CHECK_EQ_INT(put(&s, f, i, 100, NULL), 0);
	static uint8_t out[8192];
	enum kvs_read_state st;
	size_t n = drain(&s, out, sizeof(out), &st);
	CHECK_EQ_INT(n, 3 + 12 * 100);
	CHECK(!memcmp(out, "HDR", 3));
	CHECK_EQ_INT(st, KVS_READ_WAIT); /* the last fragment is open */
	for (int f = 0; f < 3; f++)
		for (int i = 0; i < 4; i++)
			CHECK_EQ_INT(count_frame(out, n, f, i), 1);
	CHECK(out[3] == 'F' && out[4] == 0 && out[5] == 0);
	int64_t lat;
	CHECK_EQ_INT(kvs_store_ack(&s, KVS_ACK_BUFFERING, 1000, 10, &lat), 1);
	CHECK_EQ_INT(kvs_store_ack(&s, KVS_ACK_PERSISTED, 1000, 10, &lat), 1);
	CHECK_EQ_INT(kvs_store_ack(&s, KVS_ACK_PERSISTED, 1000, 10, &lat), 0);
	CHECK_EQ_INT(kvs_store_ack(&s, KVS_ACK_RECEIVED, 2000, 10, &lat), 1);
	struct kvs_store_stats ss;
	kvs_store_stats(&s, &ss);
	CHECK_EQ_INT(ss.fragments, 2); /* RECEIVED is not done: retention */
	CHECK_EQ_INT(ss.unacked, 2);

	/* Reconnect: header again, fragment 1 (RECEIVED) is not resent,
	 * fragment 2 is, then live frames continue. */
	kvs_store_rewind(&s, NULL);
	n = drain(&s, out, sizeof(out), &st);
	CHECK_EQ_INT(n, 3 + 4 * 100);
	CHECK(!memcmp(out, "HDR", 3));
	CHECK_EQ_INT(count_frame(out, n, 1, 0), 0);
	CHECK_EQ_INT(count_frame(out, n, 2, 3), 1);
	CHECK_EQ_INT(put(&s, 2, 4, 100, NULL), 0);
	n = drain(&s, out, sizeof(out), &st);
	CHECK_EQ_INT(n, 100);
	CHECK_EQ_INT(count_frame(out, n, 2, 4), 1);
	kvs_store_end(&s, 20);
	n = drain(&s, out, sizeof(out), &st);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(st, KVS_READ_END);
	CHECK_EQ_INT(s.sent_fragments,
		     3); /* 0, 1, then 2 after the reconnect */
	kvs_store_free(&s);
}

static void test_store_header_change_and_boundary(void)
{
	struct kvs_store s;
	struct kvs_store_config c = default_cfg();
	kvs_store_init(&s, &c);
	kvs_store_put_header(&s, (const uint8_t *)"H1", 2);
	put(&s, 0, 0, 50, NULL);
	put(&s, 0, 1, 50, NULL);
	kvs_store_put_header(&s, (const uint8_t *)"H2", 2);
	put(&s, 1, 0, 50, NULL);
	static uint8_t out[4096];
	enum kvs_read_state st;
	unsigned fr = 0, fg = 0;
	/* Rotation: the body may end only between fragments. */
	size_t n =
	    kvs_store_read(&s, out, sizeof(out), false, 1, 2, &st, &fr, &fg);
	CHECK_EQ_INT(n, 2 + 100 + 2 + 50);
	CHECK(!memcmp(out, "H1", 2));
	CHECK(!memcmp(out + 102, "H2", 2));
	CHECK_EQ_INT(fr, 3);
	CHECK_EQ_INT(fg, 1);
	put(&s, 1, 1, 50, NULL);
	put(&s, 2, 0, 50, NULL);
	n = kvs_store_read(&s, out, sizeof(out), true, 1, 2, &st, &fr, &fg);
	CHECK_EQ_INT(n, 50); /* finishes fragment 1 ... */
	n = kvs_store_read(&s, out, sizeof(out), true, 1, 2, &st, &fr, &fg);
	CHECK_EQ_INT(n, 0); /* ... and stops before fragment 2 */
	CHECK_EQ_INT(st, KVS_READ_BOUNDARY);
	kvs_store_free(&s);
}

static void test_store_full_drops_oldest(void)
{
	struct kvs_store s;
	struct kvs_store_config c = default_cfg();
	c.max_bytes = 300 * 1024; /* room for a few 64 KiB fragments */
	kvs_store_init(&s, &c);
	kvs_store_put_header(&s, (const uint8_t *)"H", 1);
	struct kvs_drops d = {0};
	for (int f = 0; f < 10; f++)
		for (int i = 0; i < 10; i++)
			CHECK_EQ_INT(put(&s, f, i, 4000, &d), 0);
	CHECK(d.by_size > 0);
	CHECK_EQ_INT(d.fragments, d.by_size);
	CHECK_EQ_INT(d.frames, d.fragments * 10);
	CHECK(s.bytes <= c.max_bytes);
	struct kvs_store_stats ss;
	kvs_store_stats(&s, &ss);
	CHECK_EQ_INT(ss.fragments + d.fragments, 10);
	/* What is left is the newest, whole, in order. */
	static uint8_t out[400 * 1024];
	enum kvs_read_state st;
	size_t n = drain(&s, out, sizeof(out), &st);
	CHECK_EQ_INT(count_frame(out, n, 9, 9), 1);
	CHECK_EQ_INT(count_frame(out, n, 0, 0), 0);
	CHECK_EQ_INT(n, 1 + (size_t)ss.fragments * 10 * 4000);
	kvs_store_free(&s);
}

static void test_store_drop_partly_sent(void)
{
	struct kvs_store s;
	struct kvs_store_config c = default_cfg();
	c.max_bytes = 200 * 1024;
	kvs_store_init(&s, &c);
	kvs_store_put_header(&s, (const uint8_t *)"H", 1);
	put(&s, 0, 0, 4000, NULL);
	put(&s, 0, 1, 4000, NULL);
	uint8_t out[100];
	enum kvs_read_state st;
	unsigned fr = 0, fg = 0;
	kvs_store_read(&s, out, sizeof(out), false, 1, 2, &st, &fr, &fg);
	struct kvs_drops d = {0};
	for (int f = 1; f < 6; f++)
		for (int i = 0; i < 10; i++)
			put(&s, f, i, 4000, &d);
	CHECK(d.fragments >= 1);
	CHECK(d.broke_connection);
	struct kvs_store_stats ss;
	kvs_store_stats(&s, &ss);
	CHECK(ss.broken);
	kvs_store_rewind(&s, NULL);
	kvs_store_stats(&s, &ss);
	CHECK(!ss.broken);
	kvs_store_free(&s);
}

static void test_store_open_fragment_dropped(void)
{
	struct kvs_store s;
	struct kvs_store_config c = default_cfg();
	c.max_bytes = 100 * 1024;
	kvs_store_init(&s, &c);
	kvs_store_put_header(&s, (const uint8_t *)"H", 1);
	struct kvs_drops d = {0};
	int refused = 0;
	/* One fragment bigger than the whole store. */
	for (int i = 0; i < 40; i++)
		refused += put(&s, 0, i, 4000, &d) == 1;
	CHECK(refused > 0);
	CHECK_EQ_INT(d.fragments, 1);
	/* The next fragment starts clean. */
	CHECK_EQ_INT(put(&s, 1, 0, 4000, &d), 0);
	static uint8_t out[64 * 1024];
	enum kvs_read_state st;
	size_t n = drain(&s, out, sizeof(out), &st);
	CHECK_EQ_INT(n, 1 + 4000);
	kvs_store_free(&s);
}

static void test_store_durations(void)
{
	struct kvs_store s;
	struct kvs_store_config c = default_cfg();
	c.buffer_ns = 5 * S;
	c.replay_ns = 3 * S;
	kvs_store_init(&s, &c);
	kvs_store_put_header(&s, (const uint8_t *)"H", 1);
	struct kvs_drops d = {0};
	for (int f = 0; f < 8; f++)
		for (int i = 0; i < 3; i++)
			put(&s, f, i, 100, &d);
	/* Fragments start each second; the 8th at 7 s: 0 and 1 are older
	 * than 5 s. */
	CHECK_EQ_INT(d.by_duration, 2);
	memset(&d, 0, sizeof(d));
	kvs_store_rewind(&s, &d);
	/* Newest pts 7.066 s; replay keeps what ended within 3 s. */
	CHECK_EQ_INT(d.by_replay, 2);
	struct kvs_store_stats ss;
	kvs_store_stats(&s, &ss);
	CHECK_EQ_INT(ss.fragments, 4);
	kvs_store_free(&s);
}

static void test_store_retention_zero_and_no_acks(void)
{
	struct kvs_store s;
	struct kvs_store_config c = default_cfg();
	c.done_on_received = true;
	kvs_store_init(&s, &c);
	kvs_store_put_header(&s, (const uint8_t *)"H", 1);
	put(&s, 0, 0, 100, NULL);
	put(&s, 1, 0, 100, NULL);
	uint8_t out[1024];
	enum kvs_read_state st;
	drain(&s, out, sizeof(out), &st);
	int64_t lat;
	CHECK_EQ_INT(kvs_store_ack(&s, KVS_ACK_RECEIVED, 1000, 5, &lat), 1);
	CHECK(lat >= 0);
	struct kvs_store_stats ss;
	kvs_store_stats(&s, &ss);
	CHECK_EQ_INT(ss.fragments, 1);
	kvs_store_free(&s);

	c = default_cfg();
	c.done_on_sent = true;
	kvs_store_init(&s, &c);
	kvs_store_put_header(&s, (const uint8_t *)"H", 1);
	put(&s, 0, 0, 100, NULL);
	put(&s, 1, 0, 100, NULL);
	drain(&s, out, sizeof(out), &st);
	kvs_store_stats(&s, &ss);
	CHECK_EQ_INT(ss.fragments, 1); /* the open one */
	kvs_store_free(&s);
}

static void test_store_error_skip(void)
{
	struct kvs_store s;
	struct kvs_store_config c = default_cfg();
	kvs_store_init(&s, &c);
	kvs_store_put_header(&s, (const uint8_t *)"H", 1);
	put(&s, 0, 0, 100, NULL);
	put(&s, 1, 0, 100, NULL);
	put(&s, 2, 0, 100, NULL);
	CHECK_EQ_INT(kvs_store_error(&s, 2000, false, NULL), 1);
	struct kvs_drops d = {0};
	CHECK_EQ_INT(kvs_store_error(&s, 2000, true, &d), 2);
	CHECK_EQ_INT(d.by_error, 1);
	kvs_store_rewind(&s, NULL);
	uint8_t out[1024];
	enum kvs_read_state st;
	size_t n = drain(&s, out, sizeof(out), &st);
	CHECK_EQ_INT(count_frame(out, n, 1, 0), 0);
	CHECK_EQ_INT(count_frame(out, n, 0, 0), 1);
	CHECK_EQ_INT(count_frame(out, n, 2, 0), 1);
	kvs_store_free(&s);
}

static void test_latency(void)
{
	struct kvs_store s;
	struct kvs_store_config c = default_cfg();
	kvs_store_init(&s, &c);
	kvs_store_put_header(&s, (const uint8_t *)"H", 1);
	uint8_t b[10] = "F";
	kvs_store_put_frame(&s, b, 10, true, 5, 0, 1000 * MS, 0, NULL);
	uint8_t out[64];
	enum kvs_read_state st;
	unsigned fr = 0, fg = 0;
	kvs_store_read(&s, out, sizeof(out), false, 1, 1000 * MS + 2 * MS, &st,
		       &fr, &fg);
	int64_t p50 = kvs_store_latency_pct(&s, 50);
	CHECK(p50 >= 2 * MS && p50 <= 2 * MS + 200000);
	kvs_store_free(&s);
}

/* ------------------------------------------------------------------ ACKs */

struct acks {
	struct kvs_ack a[16];
	int n;
	uint32_t problems[16];
	int np;
};

static void got_ack(void *ctx, const struct kvs_ack *a)
{
	struct acks *x = ctx;
	if (x->n < 16)
		x->a[x->n++] = *a;
}

static void got_problem(void *ctx, const struct kvs_ack_problem *p)
{
	struct acks *x = ctx;
	if (x->np < 16)
		x->problems[x->np++] = p->status;
}

static void test_ack_parser(void)
{
	const char *stream =
	    "{\"EventType\":\"BUFFERING\",\"FragmentTimecode\":1711124585823,"
	    "\"FragmentNumber\":\"91343852333181432392682062607743920146"
	    "218143040\"}\n"
	    "{\"EventType\":\"PERSISTED\",\"FragmentTimecode\":1711124585823,"
	    "\"FragmentNumber\":\"1234567890123456789\"}"
	    "{\"EventType\":\"IDLE\"}\r\n"
	    "{\"EventType\":\"ERROR\",\"FragmentTimecode\":17,\"ErrorId\":4002,"
	    "\"ErrorCode\":\"MAX_FRAGMENT_DURATION_REACHED\","
	    "\"FragmentNumber\":\"x}\"}\n";
	struct acks x = {0};
	struct kvs_ack_parser p;
	kvs_ack_parser_init(&p);
	/* Byte by byte: the chunking of the body must not matter. */
	for (size_t i = 0; stream[i]; i++)
		kvs_ack_feed(&p, stream + i, 1, got_ack, got_problem, &x);
	CHECK_EQ_INT(x.n, 4);
	CHECK_EQ_INT(x.np, 0);
	CHECK_EQ_INT(x.a[0].type, KVS_ACK_BUFFERING);
	CHECK_EQ_INT(x.a[0].timecode, 1711124585823LL);
	CHECK_STR_CONTAINS(x.a[0].fragment_number, "9134385233318143239268");
	CHECK_EQ_INT(x.a[1].type, KVS_ACK_PERSISTED);
	CHECK_EQ_INT(x.a[2].type, KVS_ACK_IDLE);
	CHECK_EQ_INT(x.a[3].type, KVS_ACK_ERROR);
	CHECK_EQ_INT(x.a[3].error_id, 4002);
	CHECK_STR_CONTAINS(x.a[3].error_code, "MAX_FRAGMENT_DURATION");
	CHECK_STR_CONTAINS(x.a[3].fragment_number, "x}");

	struct acks y = {0};
	kvs_ack_parser_init(&p);
	const char *bad =
	    "junk{\"EventType\":\"ERROR\",\"FragmentTimecode\":1}"
	    "{\"EventType\":\"NOPE\",\"FragmentTimecode\":1}"
	    "{\"EventType\":\"BUFFERING\",\"EventType\":\"IDLE\"}"
	    "{\"EventType\":\"RECEIVED\",\"FragmentTimecode\":\"z\"}";
	kvs_ack_feed(&p, bad, strlen(bad), got_ack, got_problem, &y);
	CHECK_EQ_INT(y.n, 0);
	CHECK_EQ_INT(y.np, 5);
	CHECK_EQ_INT(y.problems[0], 0x5200004d);
	CHECK_EQ_INT(y.problems[1], 0x52000070);
	CHECK_EQ_INT(y.problems[2], 0x52000051);
	CHECK_EQ_INT(y.problems[3], 0x5200004e);
	CHECK_EQ_INT(y.problems[4], 0x52000050);

	/* Over 1024 bytes: STATUS_INVALID_ACK_SEGMENT_LEN, then recovery. */
	struct acks z = {0};
	kvs_ack_parser_init(&p);
	char big[1400] = "{\"EventType\":\"IDLE\",\"Pad\":\"";
	size_t l = strlen(big);
	memset(big + l, 'x', 1200);
	strcpy(big + l + 1200, "\"}");
	kvs_ack_feed(&p, big, strlen(big), got_ack, got_problem, &z);
	const char *ok = "{\"EventType\":\"IDLE\"}";
	kvs_ack_feed(&p, ok, strlen(ok), got_ack, got_problem, &z);
	CHECK_EQ_INT(z.problems[0], 0x52000071);
	CHECK_EQ_INT(z.n, 1);
}

/* ---------------------------------------------------------------- status */

static void test_error_map(void)
{
	const struct kvs_error_ack *e = kvs_error_ack_lookup(4002);
	CHECK_EQ_INT(e->status, 0x5200005e);
	CHECK_STR_CONTAINS(e->status_name,
			   "STATUS_ACK_ERR_FRAGMENT_DURATION_REACHED");
	CHECK_EQ_INT(e->action, KVS_SKIP);
	CHECK_EQ_INT(kvs_error_ack_lookup(4000)->status, 0x5200005c);
	CHECK_EQ_INT(kvs_error_ack_lookup(4006)->status, 0x52000062);
	CHECK_EQ_INT(kvs_error_ack_lookup(4500)->action, KVS_FATAL);
	CHECK_EQ_INT(kvs_error_ack_lookup(5001)->status, 0x5200006e);
	CHECK_EQ_INT(kvs_error_ack_lookup(5001)->action, KVS_RESEND_ONCE);
	CHECK_EQ_INT(kvs_error_ack_lookup(4003)->action, KVS_RESTART);
	CHECK_EQ_INT(kvs_error_ack_lookup(4009)->status, 0x52000075);
	CHECK_EQ_INT(kvs_error_ack_lookup(12345)->status, 0x5200006f);

	char out[600];
	struct kvs_http_error h = {.status = 403,
				   .error_type = "InvalidSignatureException",
				   .message =
				       "signature mismatch: the canonical "
				       "request differs",
				   .access_key = "AKIDTEST",
				   .region = "us-west-2",
				   .credential_source = "environment"};
	CHECK_EQ_INT(kvs_explain_http_error(&h, out, sizeof(out)), KVS_FATAL);
	CHECK_STR_CONTAINS(out, "secret key");
	CHECK_STR_CONTAINS(out, "AKIDTEST");
	h.message = "Credential should be scoped to a valid region.";
	kvs_explain_http_error(&h, out, sizeof(out));
	CHECK_STR_CONTAINS(out, "wrong region");
	h.message = "credential scope region 'eu-west-1', expected 'us-west-2'";
	kvs_explain_http_error(&h, out, sizeof(out));
	CHECK_STR_CONTAINS(out, "wrong region");
	h.message = "Signature expired: 20240101T000000Z is now earlier than";
	kvs_explain_http_error(&h, out, sizeof(out));
	CHECK_STR_CONTAINS(out, "clock");
	h.message = "whatever";
	h.server_skew = 900;
	kvs_explain_http_error(&h, out, sizeof(out));
	CHECK_STR_CONTAINS(out, "5 minutes");
	h.server_skew = 0;
	h.error_type = "UnrecognizedClientException";
	h.message = "The security token included in the request is invalid.";
	kvs_explain_http_error(&h, out, sizeof(out));
	CHECK_STR_CONTAINS(out, "not known");
	h.error_type = "ExpiredTokenException";
	h.message = "The security token included in the request is expired";
	CHECK_EQ_INT(kvs_explain_http_error(&h, out, sizeof(out)), KVS_RESTART);
	CHECK_STR_CONTAINS(out, "expired");
	/* A session token from the INI or the environment is never renewed:
	 * its refusal fails at once, like a wrong secret. */
	h.static_credentials = true;
	h.session_token = true;
	CHECK_EQ_INT(kvs_explain_http_error(&h, out, sizeof(out)), KVS_FATAL);
	CHECK_STR_CONTAINS(out, "session token given with access key AKIDTEST");
	CHECK_STR_CONTAINS(out, "never renewed");
	h.session_token = false; /* none sent: say that one is needed */
	CHECK_EQ_INT(kvs_explain_http_error(&h, out, sizeof(out)), KVS_FATAL);
	CHECK_STR_CONTAINS(out, "none was given");
	h.error_type = "UnrecognizedClientException";
	h.message = "The security token included in the request is invalid.";
	h.session_token = true;
	CHECK_EQ_INT(kvs_explain_http_error(&h, out, sizeof(out)), KVS_FATAL);
	CHECK_STR_CONTAINS(out, "session token");
	/* from a source that renews it: fetch again and retry */
	h.static_credentials = false;
	CHECK_EQ_INT(kvs_explain_http_error(&h, out, sizeof(out)), KVS_RESTART);
	h.session_token = false; /* no token sent: the key itself is unknown */
	CHECK_EQ_INT(kvs_explain_http_error(&h, out, sizeof(out)), KVS_FATAL);
	CHECK_STR_CONTAINS(out, "not known");
	h.message = "The security token included in the request is expired";
	/* the worker refetches credentials on this code, not on the text */
	CHECK(kvs_http_error_creds_expired(&h));
	h.error_type = "InvalidSignatureException";
	h.message = "Signature expired: 20240101T000000Z is now earlier than";
	CHECK(!kvs_http_error_creds_expired(&h)); /* the clock, not the key */
	h.message = "signature mismatch";
	CHECK(!kvs_http_error_creds_expired(&h));

	struct kvs_http_error s5 = {.status = 503};
	CHECK_EQ_INT(kvs_explain_http_error(&s5, out, sizeof(out)),
		     KVS_RESTART);
	struct kvs_http_error th = {
	    .status = 400, .error_type = "ClientLimitExceededException"};
	CHECK_EQ_INT(kvs_explain_http_error(&th, out, sizeof(out)),
		     KVS_RESTART);
	CHECK_STR_CONTAINS(out, "throttled");
	struct kvs_http_error tls = {
	    .curl_code = CURLE_PEER_FAILED_VERIFICATION,
	    .curl_error = "unable to get local issuer"};
	CHECK_EQ_INT(kvs_explain_http_error(&tls, out, sizeof(out)), KVS_FATAL);
	CHECK_STR_CONTAINS(out, "ca-path");
	struct kvs_http_error refused = {.curl_code = CURLE_COULDNT_CONNECT};
	CHECK_EQ_INT(kvs_explain_http_error(&refused, out, sizeof(out)),
		     KVS_RESTART);
}

/* ----------------------------------------------------------- credentials */

static void test_creds(void)
{
	struct aws_creds c = {0};
	char err[256];
	CHECK_EQ_INT(
	    aws_creds_parse_file("CREDENTIALS AKIDEXAMPLE SKEEXAMPLE\n", &c,
				 err, sizeof(err)),
	    0);
	CHECK(!strcmp(c.access_key, "AKIDEXAMPLE"));
	CHECK(!strcmp(c.secret_key, "SKEEXAMPLE"));
	CHECK(c.session_token == NULL && c.expiry == 0);
	CHECK_EQ_INT(aws_creds_parse_file("CREDENTIALS AKIDEXAMPLE "
					  "2023-08-10T22:43:00Z SKEEXAMPLE "
					  "STEXAMPLE",
					  &c, err, sizeof(err)),
		     0);
	CHECK_EQ_INT(c.expiry, 1691707380);
	CHECK(c.session_token && !strcmp(c.session_token, "STEXAMPLE"));
	CHECK_EQ_INT(
	    aws_creds_parse_file("CREDENTIAL A B", &c, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "CREDENTIALS");
	CHECK_EQ_INT(aws_creds_parse_file("CREDENTIALS A tomorrow B C", &c, err,
					  sizeof(err)),
		     -1);
	CHECK_STR_CONTAINS(err, "ISO 8601");
	CHECK_EQ_INT(aws_creds_parse_file("CREDENTIALS A B C D E F", &c, err,
					  sizeof(err)),
		     -1);
	CHECK(!strstr(err, "B") || strstr(err, "words"));

	const char *shared =
	    "[default]\naws_access_key_id = AK1\n"
	    "aws_secret_access_key=SK1\n"
	    "[profile cam]\naws_access_key_id=AK2\n"
	    "aws_secret_access_key=SK2\naws_session_token=T2\n";
	CHECK_EQ_INT(
	    aws_creds_parse_shared(shared, "default", &c, err, sizeof(err)), 0);
	CHECK(!strcmp(c.access_key, "AK1") && !strcmp(c.secret_key, "SK1"));
	CHECK_EQ_INT(
	    aws_creds_parse_shared(shared, "cam", &c, err, sizeof(err)), 0);
	CHECK(!strcmp(c.access_key, "AK2") && c.session_token &&
	      !strcmp(c.session_token, "T2"));
	CHECK_EQ_INT(
	    aws_creds_parse_shared(shared, "nope", &c, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "[nope]");

	struct aws_creds_iot iot;
	CHECK_EQ_INT(
	    aws_creds_iot_parse("iot-certificate,endpoint=cred.example.com,"
				"cert-path=/c.pem,key-path=/k.pem,"
				"ca-path=/ca.pem,role-aliases=Alias",
				"cam1", &iot, err, sizeof(err)),
	    0);
	CHECK(!strcmp(iot.endpoint, "cred.example.com"));
	CHECK(!strcmp(iot.thing_name, "cam1"));
	CHECK(!strcmp(iot.role_alias, "Alias"));
	aws_creds_iot_free(&iot);
	CHECK_EQ_INT(
	    aws_creds_iot_parse("iot-certificate,endpoint=e,cert-path=c,"
				"key-path=k,ca-path=a",
				"cam1", &iot, err, sizeof(err)),
	    -1);
	CHECK_STR_CONTAINS(err, "role-aliases is required");
	CHECK_EQ_INT(
	    aws_creds_iot_parse("endpoint=e", "cam1", &iot, err, sizeof(err)),
	    -1);
	const char *resp = "{\"credentials\":{\"accessKeyId\":\"ASIA1\","
			   "\"secretAccessKey\":\"S1\",\"sessionToken\":\"T1\","
			   "\"expiration\":\"2030-01-01T00:00:00Z\"}}";
	CHECK_EQ_INT(aws_creds_iot_parse_response(resp, strlen(resp), &c, err,
						  sizeof(err)),
		     0);
	CHECK(!strcmp(c.access_key, "ASIA1") && c.expiry == 1893456000);
	CHECK_EQ_INT(aws_creds_iot_parse_response("{\"message\":\"denied\"}",
						  20, &c, err, sizeof(err)),
		     -1);
	CHECK_STR_CONTAINS(err, "STATUS_IOT_NULL_AWS_CREDS");
	int64_t t;
	CHECK_EQ_INT(aws_creds_parse_iso8601("2023-08-10T22:43:00.123Z", &t),
		     0);
	CHECK_EQ_INT(t, 1691707380);
	CHECK_EQ_INT(aws_creds_parse_iso8601("2023-13-10T22:43:00Z", &t), -1);
	aws_creds_clear(&c);
}

int main(void)
{
	test_store_order_and_acks();
	test_store_header_change_and_boundary();
	test_store_full_drops_oldest();
	test_store_drop_partly_sent();
	test_store_open_fragment_dropped();
	test_store_durations();
	test_store_retention_zero_and_no_acks();
	test_store_error_skip();
	test_latency();
	test_ack_parser();
	test_error_map();
	test_creds();
	return check_done();
}
