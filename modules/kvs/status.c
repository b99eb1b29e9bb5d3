/* Error ACK and HTTP error mapping (see status.h). */
#include "status.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

static const struct kvs_error_ack error_acks[] = {
    {4000, "STREAM_READ_ERROR", 0x5200005c, "STATUS_ACK_ERR_STREAM_READ_ERROR",
     KVS_RESEND_ONCE,
     "the service could not read the stream; sending it again"},
    {4001, "MAX_FRAGMENT_SIZE_REACHED", 0x5200005d,
     "STATUS_ACK_ERR_FRAGMENT_SIZE_REACHED", KVS_SKIP,
     "fragment over 50 MB: lower the bitrate or the key-frame interval"},
    {4002, "MAX_FRAGMENT_DURATION_REACHED", 0x5200005e,
     "STATUS_ACK_ERR_FRAGMENT_DURATION_REACHED", KVS_SKIP,
     "fragment longer than allowed: set the encoder's key-frame interval "
     "to 2 s or less"},
    {4003, "MAX_CONNECTION_DURATION_REACHED", 0x5200005f,
     "STATUS_ACK_ERR_CONNECTION_DURATION_REACHED", KVS_RESTART,
     "connection open too long; opening a new one"},
    {4004, "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS", 0x52000060,
     "STATUS_ACK_ERR_FRAGMENT_TIMECODE_NOT_MONOTONIC", KVS_SKIP,
     "fragment timecode lower than the previous one: check the source's "
     "timestamps and the system clock"},
    {4005, "MORE_THAN_ALLOWED_TRACKS_FOUND", 0x52000061,
     "STATUS_ACK_ERR_MULTI_TRACK_MKV", KVS_FATAL,
     "more tracks than the stream allows"},
    {4006, "INVALID_MKV_DATA", 0x52000062, "STATUS_ACK_ERR_INVALID_MKV_DATA",
     KVS_RESEND_ONCE, "the service could not parse the Matroska data"},
    {4007, "INVALID_PRODUCER_TIMESTAMP", 0x52000063,
     "STATUS_ACK_ERR_INVALID_PRODUCER_TIMESTAMP", KVS_FATAL,
     "producer timestamps far from the service's clock: fix the system "
     "clock (NTP)"},
    {4008, "STREAM_NOT_ACTIVE", 0x52000064, "STATUS_ACK_ERR_STREAM_NOT_ACTIVE",
     KVS_RESTART, "the stream is not ACTIVE yet; retrying"},
    {4009, "FRAGMENT_METADATA_LIMIT_REACHED", 0x52000075,
     "STATUS_ACK_ERR_FRAGMENT_METADATA_LIMIT_REACHED", KVS_SKIP,
     "more than 10 tags, or a tag too long, on one fragment"},
    {4010, "TRACK_NUMBER_MISMATCH", 0x5200007c,
     "STATUS_ACK_ERR_TRACK_NUMBER_MISMATCH", KVS_FATAL,
     "block track number differs from the Tracks element"},
    {4011, "FRAMES_MISSING_FOR_TRACK", 0x5200007d,
     "STATUS_ACK_ERR_FRAMES_MISSING_FOR_TRACK", KVS_SKIP,
     "a declared track has no frames in the fragment"},
    {4012, "MORE_THAN_ALLOWED_TRACKS_FOUND", 0x5200007e,
     "STATUS_ACK_ERR_MORE_THAN_ALLOWED_TRACKS_FOUND", KVS_FATAL,
     "more than 3 tracks"},
    {4500, "KMS_KEY_ACCESS_DENIED", 0x52000065,
     "STATUS_ACK_ERR_KMS_KEY_ACCESS_DENIED", KVS_FATAL,
     "no access to the stream's KMS key"},
    {4501, "KMS_KEY_DISABLED", 0x52000066, "STATUS_ACK_ERR_KMS_KEY_DISABLED",
     KVS_FATAL, "the stream's KMS key is disabled"},
    {4502, "KMS_KEY_VALIDATION_ERROR", 0x52000067,
     "STATUS_ACK_ERR_KMS_KEY_VALIDATION_ERROR", KVS_FATAL,
     "KMS key validation failed"},
    {4503, "KMS_KEY_UNAVAILABLE", 0x52000068,
     "STATUS_ACK_ERR_KMS_KEY_UNAVAILABLE", KVS_FATAL,
     "the stream's KMS key is unavailable"},
    {4504, "KMS_KEY_INVALID_USAGE", 0x52000069,
     "STATUS_ACK_ERR_KMS_KEY_INVALID_USAGE", KVS_FATAL,
     "the KMS key is not set up for encryption"},
    {4505, "KMS_KEY_INVALID_STATE", 0x5200006a,
     "STATUS_ACK_ERR_KMS_KEY_INVALID_STATE", KVS_FATAL,
     "the KMS key is in an invalid state"},
    {4506, "KMS_KEY_NOT_FOUND", 0x5200006b, "STATUS_ACK_ERR_KMS_KEY_NOT_FOUND",
     KVS_FATAL, "the stream's KMS key does not exist"},
    {4507, "STREAM_DELETED", 0x5200006c, "STATUS_ACK_ERR_STREAM_DELETED",
     KVS_FATAL, "the stream was deleted"},
    {5000, "INTERNAL_ERROR", 0x5200006d, "STATUS_ACK_ERR_ACK_INTERNAL_ERROR",
     KVS_RESEND_ONCE, "service internal error; sending again"},
    {5001, "ARCHIVAL_ERROR", 0x5200006e,
     "STATUS_ACK_ERR_FRAGMENT_ARCHIVAL_ERROR", KVS_RESEND_ONCE,
     "the service could not persist the fragment; sending it again"},
};

static const struct kvs_error_ack unknown_ack = {
    7000,	 "UNKNOWN",
    0x5200006f,	 "STATUS_ACK_ERR_UNKNOWN_ACK_ERROR",
    KVS_RESTART, "unknown service error; reconnecting"};

const struct kvs_error_ack *kvs_error_ack_lookup(int error_id)
{
	for (size_t i = 0; i < sizeof(error_acks) / sizeof(error_acks[0]); i++)
		if (error_acks[i].error_id == error_id)
			return &error_acks[i];
	return &unknown_ack;
}

const char *kvs_action_name(enum kvs_action a)
{
	switch (a) {
	case KVS_RESTART:
		return "reconnect";
	case KVS_RESEND_ONCE:
		return "resend once";
	case KVS_SKIP:
		return "skip the fragment";
	case KVS_FATAL:
		return "stop";
	}
	return "?";
}

static int has(const char *s, const char *needle)
{
	return s && strcasestr(s, needle) != NULL;
}

static int is_type(const struct kvs_http_error *e, const char *t)
{
	return e->error_type && !strncmp(e->error_type, t, strlen(t));
}

static bool clock_skewed(const struct kvs_http_error *e)
{
	const char *msg = e->message ? e->message : "";
	return e->server_skew > 300 || e->server_skew < -300 ||
	       has(msg, "Signature expired") || has(msg, "not yet current") ||
	       has(msg, "from the server clock");
}

static bool token_expired(const struct kvs_http_error *e)
{
	const char *msg = e->message ? e->message : "";
	return is_type(e, "ExpiredTokenException") ||
	       has(msg, "X-Amz-Security-Token") ||
	       has(msg, "token included in the request is expired") ||
	       has(msg, "token has expired");
}

bool kvs_http_error_creds_expired(const struct kvs_http_error *e)
{
	return !e->curl_code && (e->status == 403 || e->status == 401) &&
	       !clock_skewed(e) && token_expired(e);
}

static enum kvs_action explain_403(const struct kvs_http_error *e, char *out,
				   size_t n)
{
	const char *ak = e->access_key ? e->access_key : "?";
	const char *src = e->credential_source ? e->credential_source : "?";
	const char *msg = e->message ? e->message : "";
	if (clock_skewed(e)) {
		snprintf(out, n,
			 "HTTP 403: the system clock differs from the "
			 "service's by %ld s (more than 5 minutes are refused):"
			 " fix the clock (NTP) (service said: %s)",
			 e->server_skew, msg);
		return KVS_FATAL;
	}
	bool token_refused =
	    token_expired(e) ||
	    (e->session_token && has(msg, "security token included in the "
					  "request is invalid"));
	if (token_refused && e->static_credentials && !e->session_token) {
		snprintf(out, n,
			 "HTTP 403: the service wants the session token that "
			 "belongs to access key %s (%s) and none was given: "
			 "set session-token (or AWS_SESSION_TOKEN) with the "
			 "temporary credentials (service said: %s)",
			 ak, src, msg);
		return KVS_FATAL;
	}
	if (token_refused && e->static_credentials) {
		/* Fetching again gives the same token: retrying cannot help. */
		snprintf(out, n,
			 "HTTP 403: the service refused the session token "
			 "given with access key %s (%s): it has expired or is "
			 "not the one issued with this key, and credentials "
			 "from the INI or the environment are never renewed: "
			 "give current temporary credentials, or use "
			 "credential-path or iot-certificate, which vpipe "
			 "renews (service said: %s)",
			 ak, src, msg);
		return KVS_FATAL;
	}
	if (token_refused) {
		snprintf(out, n,
			 "HTTP 403: the session token of access key %s (%s) "
			 "has expired or is not the current one; fetching "
			 "fresh credentials (service said: %s)",
			 ak, src, msg);
		return KVS_RESTART;
	}
	if (has(msg, "scoped to a valid region") || has(msg, "scope region") ||
	    has(msg, "scoped to correct region") ||
	    (has(msg, "Credential should be scoped") && has(msg, "region"))) {
		snprintf(out, n,
			 "HTTP 403: wrong region: requests are signed for "
			 "\"%s\" but the endpoint serves another region; set "
			 "aws-region (or AWS_DEFAULT_REGION) to the stream's "
			 "region (service said: %s)",
			 e->region ? e->region : "?", msg);
		return KVS_FATAL;
	}
	if (is_type(e, "UnrecognizedClientException") ||
	    has(msg, "security token included in the request is invalid") ||
	    has(msg, "does not exist in our records") ||
	    has(msg, "is not configured")) {
		snprintf(out, n,
			 "HTTP 403: access key %s (%s) is not known to the "
			 "service: check the access key (service said: %s)",
			 ak, src, msg);
		return KVS_FATAL;
	}
	if (is_type(e, "InvalidSignatureException") ||
	    has(msg, "signature we calculated does not match") ||
	    has(msg, "signature mismatch")) {
		snprintf(out, n,
			 "HTTP 403: the request signature does not match: the "
			 "secret key for access key %s (%s) is wrong "
			 "(service said: %s)",
			 ak, src, msg);
		return KVS_FATAL;
	}
	snprintf(out, n,
		 "HTTP 403 %s: access denied for access key %s (%s): check "
		 "the IAM policy allows kinesisvideo on this stream "
		 "(service said: %s)",
		 e->error_type ? e->error_type : "", ak, src, msg);
	return KVS_FATAL;
}

static enum kvs_action explain_curl(const struct kvs_http_error *e, char *out,
				    size_t n)
{
	const char *t = e->curl_error && *e->curl_error
			    ? e->curl_error
			    : curl_easy_strerror((CURLcode)e->curl_code);
	switch (e->curl_code) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		snprintf(out, n,
			 "TLS: the service's certificate is not trusted or a "
			 "certificate file is unreadable (%s): check ca-path "
			 "(or the IoT ca-path/cert-path/key-path)",
			 t);
		return KVS_FATAL;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		snprintf(out, n, "bad endpoint URL: %s", t);
		return KVS_FATAL;
	default:
		snprintf(out, n, "network: %s", t);
		return KVS_RESTART;
	}
}

enum kvs_action kvs_explain_http_error(const struct kvs_http_error *e,
				       char *out, size_t n)
{
	if (e->curl_code)
		return explain_curl(e, out, n);
	const char *type = e->error_type ? e->error_type : "";
	const char *msg = e->message ? e->message : "";
	if (e->status == 403 || e->status == 401)
		return explain_403(e, out, n);
	if (e->status == 404 || is_type(e, "ResourceNotFoundException")) {
		snprintf(out, n, "HTTP %ld %s: %s", e->status, type, msg);
		return KVS_FATAL;
	}
	if (e->status == 429 || is_type(e, "ClientLimitExceededException") ||
	    is_type(e, "ConnectionLimitExceededException") ||
	    is_type(e, "ThrottlingException")) {
		snprintf(out, n,
			 "HTTP %ld %s: throttled by the service; backing off "
			 "(%s)",
			 e->status, type, msg);
		return KVS_RESTART;
	}
	if (e->status >= 500 || e->status == 408) {
		snprintf(out, n, "HTTP %ld %s: service error; retrying (%s)",
			 e->status, type, msg);
		return KVS_RESTART;
	}
	if (is_type(e, "ResourceInUseException")) {
		snprintf(out, n, "HTTP %ld %s: %s; retrying", e->status, type,
			 msg);
		return KVS_RESTART;
	}
	snprintf(out, n, "HTTP %ld %s: %s", e->status, type, msg);
	return KVS_FATAL;
}
