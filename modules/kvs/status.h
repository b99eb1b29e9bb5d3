/* What the kvs sink does about errors: the service's error ACK ids mapped
 * to the producer SDK's STATUS_ACK_ERR_* names and codes with the retry
 * classification of its state machine (kvs-facts part2 §5.1.f, §6.3), and
 * HTTP / control-plane errors turned into one clear sentence. */
#ifndef VPIPE_MODULES_KVS_STATUS_H
#define VPIPE_MODULES_KVS_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

enum kvs_action {
	KVS_RESTART = 1, /* reconnect and send the fragment again */
	KVS_RESEND_ONCE, /* send it again once, skip it if it fails again */
	KVS_SKIP,	 /* the fragment cannot succeed: drop it, go on */
	KVS_FATAL,	 /* configuration or account problem: stop */
};

struct kvs_error_ack {
	int error_id;	  /* ErrorId in the ACK */
	const char *code; /* ErrorCode the service sends */
	uint32_t status;  /* producer SDK status */
	const char *status_name;
	enum kvs_action action;
	const char *advice; /* one line for the log */
};

/* The entry for an ErrorId; unknown ids map to
 * STATUS_ACK_ERR_UNKNOWN_ACK_ERROR. */
const struct kvs_error_ack *kvs_error_ack_lookup(int error_id);
const char *kvs_action_name(enum kvs_action a);

/* A failed HTTP exchange with the service, as the caller saw it. */
struct kvs_http_error {
	long status;		/* HTTP status, 0 when no response */
	const char *error_type; /* x-amzn-ErrorType or __type, may be NULL */
	const char *message; /* "message"/"Message" of the body, may be NULL */
	int curl_code;	     /* CURLcode, 0 when the exchange completed */
	const char *curl_error; /* curl's text */
	long server_skew;	/* server Date minus our clock, s (0 unknown) */
	const char *access_key; /* to name it (never the secret) */
	const char *region;
	const char
	    *credential_source; /* e.g. "environment", "credential-path F" */
	/* The credentials cannot change while running (the INI's keys, the
	 * environment): a refused session token will not get better. */
	bool static_credentials;
	bool session_token; /* the request carried X-Amz-Security-Token */
};

/* One sentence naming the cause and what to do. Returns the action:
 * KVS_FATAL for refusals that retrying cannot fix (bad key, signature,
 * region, TLS trust, missing stream, a refused session token that cannot
 * be replaced), KVS_RESTART for the rest (network, 5xx, throttling, expired
 * temporary credentials from a source that renews them). */
enum kvs_action kvs_explain_http_error(const struct kvs_http_error *e,
				       char *out, size_t outlen);
/* The refusal says our temporary credentials (session token) expired or
 * are not the current ones: fetch fresh credentials before retrying. */
bool kvs_http_error_creds_expired(const struct kvs_http_error *e);
#endif
