/* AWS Signature Version 4: the project's one implementation, for signing
 * (the kvs sink, s3) and for verifying (vpipe kvs-local).
 *
 * Signing: fill a sigv4_request, call sigv4_authorization() to get the
 * value of the Authorization header. The caller sends X-Amz-Date (and
 * X-Amz-Security-Token, X-Amz-Content-Sha256 when used) as headers and lists
 * them in `headers`, so that they are signed.
 *
 * Verifying: parse the Authorization header with sigv4_parse_authorization(),
 * then sigv4_verify() recomputes the signature and says which element was
 * wrong (credential, scope, missing header, time skew, signature). */
#ifndef VPIPE_COMMON_SIGV4_H
#define VPIPE_COMMON_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Payload hash values that are not a SHA-256 of the body. */
#define SIGV4_UNSIGNED_PAYLOAD	"UNSIGNED-PAYLOAD"
#define SIGV4_STREAMING_PAYLOAD "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define SIGV4_EMPTY_SHA256                                                     \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct sigv4_header {
	const char *name;  /* any case */
	const char *value; /* raw; canonical form trims and folds spaces */
};

struct sigv4_request {
	const char *method;
	/* The path as it appears in the request line (percent-encoded or
	 * not), without the query string. */
	const char *path;
	const char *query; /* after '?', NULL or "" if none */
	const struct sigv4_header *headers;
	size_t n_headers;
	/* ';'-separated lowercase names to sign, NULL = every header given.
	 * Names listed but absent make signing fail. */
	const char *signed_headers;
	/* Lowercase hex SHA-256 of the body, or one of the constants above. */
	const char *payload_hash;
	/* S3 signs the path exactly as sent; every other service normalises
	 * it (dot segments, empty segments) and encodes it again. */
	int s3_path;
};

struct sigv4_key {
	const char *access_key;
	const char *secret_key;
	const char *session_token; /* NULL when not temporary credentials */
};

/* The credential scope: date is YYYYMMDD (taken from amz_date if NULL). */
struct sigv4_scope {
	const char *amz_date; /* YYYYMMDDTHHMMSSZ, as in X-Amz-Date */
	const char *region;
	const char *service;
};

/* Lowercase hex of SHA-256(data): out must hold 65 bytes. */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);
/* Format t (UTC) as YYYYMMDDTHHMMSSZ: out must hold 17 bytes. */
void sigv4_amz_date(time_t t, char out[17]);
/* Parse YYYYMMDDTHHMMSSZ; -1 if malformed. */
int sigv4_parse_amz_date(const char *s, time_t *t);

/* The steps, each returning a malloc'ed string (NULL on failure: a signed
 * header missing, or out of memory). */
char *sigv4_canonical_request(const struct sigv4_request *r);
char *sigv4_string_to_sign(const struct sigv4_scope *s, const char *creq);
void sigv4_signing_key(const char *secret, const char *date8,
		       const char *region, const char *service,
		       uint8_t key[32]);
/* Hex HMAC-SHA256(key, sts): out must hold 65 bytes. */
void sigv4_signature(const uint8_t key[32], const char *sts, char out[65]);

/* The Authorization header value, malloc'ed, NULL on failure. */
char *sigv4_authorization(const struct sigv4_request *r,
			  const struct sigv4_scope *s,
			  const struct sigv4_key *k);

/* A parsed Authorization header. Pointers point into `buf`. */
struct sigv4_auth {
	char buf[2048];
	const char *access_key, *date, *region, *service, *terminator;
	const char *signed_headers;
	const char *signature;
};

/* 0 on success, -1 if the value is not an AWS4-HMAC-SHA256 header. */
int sigv4_parse_authorization(const char *value, struct sigv4_auth *a);

enum sigv4_verdict {
	SIGV4_OK = 0,
	SIGV4_MALFORMED,      /* Authorization or X-Amz-Date unreadable */
	SIGV4_UNKNOWN_KEY,    /* access key not configured */
	SIGV4_BAD_SCOPE,      /* scope date/region/service/terminator */
	SIGV4_MISSING_HEADER, /* host or x-amz-date unsigned, or absent */
	SIGV4_STALE,	      /* X-Amz-Date too far from now */
	SIGV4_BAD_TOKEN,      /* session token absent or different */
	SIGV4_MISMATCH,	      /* signature differs */
};

struct sigv4_verify_result {
	enum sigv4_verdict verdict;
	/* One line for the log: what differed, never a secret. */
	char reason[512];
	/* On MISMATCH: what we computed, for the user to diff against the
	 * client's own canonical request (malloc'ed, caller frees). */
	char *canonical_request;
	char *string_to_sign;
};

struct sigv4_verify_config {
	const struct sigv4_key *keys; /* accepted credentials */
	size_t n_keys;
	const char *region;  /* NULL = any region */
	const char *service; /* NULL = any service */
	time_t now;
	int max_skew_seconds; /* 0 = do not check (AWS uses 300) */
};

/* Verify request r (r->signed_headers is ignored: the header's list is
 * used) against the Authorization header value `authz` and the X-Amz-Date
 * header value `amz_date`. Returns the verdict; res is filled. */
enum sigv4_verdict sigv4_verify(const struct sigv4_request *r,
				const char *authz, const char *amz_date,
				const struct sigv4_verify_config *cfg,
				struct sigv4_verify_result *res);
void sigv4_verify_result_free(struct sigv4_verify_result *res);
const char *sigv4_verdict_name(enum sigv4_verdict v);
#endif
