/* Signature V4 checks of a request's head (and of its body's hash). */
#include "kvs_local.h"

#include <string.h>
#include <time.h>

static const char *payload_hash_for(struct kl_request *r, char hash[65],
				    bool streaming)
{
	const char *h = http_header_get(&r->head, "x-amz-content-sha256");
	if (h)
		return h;
	if (streaming)
		return SIGV4_UNSIGNED_PAYLOAD;
	sigv4_sha256_hex(r->body ? r->body : "", r->body_len, hash);
	return hash;
}

/* 0 if the request may proceed; otherwise the 403 was sent. */
int kl_check_signature(struct kl_server *srv, struct kl_conn *c,
		       struct kl_request *r, bool streaming)
{
	if (!srv->cfg.key.access_key)
		return 0;
	const char *authz = http_header_get(&r->head, "authorization");
	if (!authz) {
		kl_send_error(c, 403, "MissingAuthenticationTokenException",
			      "Missing Authentication Token");
		return -1;
	}
	struct sigv4_header hs[HTTP_MAX_HEADERS];
	for (size_t i = 0; i < r->head.n_headers; i++) {
		hs[i].name = r->head.headers[i].name;
		hs[i].value = r->head.headers[i].value;
	}
	char hash[65];
	struct sigv4_request sr = {
	    .method = r->head.method,
	    .path = r->head.path,
	    .query = r->head.query,
	    .headers = hs,
	    .n_headers = r->head.n_headers,
	    .payload_hash = payload_hash_for(r, hash, streaming),
	};
	struct sigv4_verify_config vc = {
	    .keys = &srv->cfg.key,
	    .n_keys = 1,
	    .region = srv->cfg.region,
	    .service = "kinesisvideo",
	    .now = time(NULL),
	    .max_skew_seconds = srv->cfg.max_skew,
	};
	struct sigv4_verify_result res;
	enum sigv4_verdict v = sigv4_verify(
	    &sr, authz, http_header_get(&r->head, "x-amz-date"), &vc, &res);
	if (v == SIGV4_MISMATCH && streaming &&
	    !http_header_get(&r->head, "x-amz-content-sha256")) {
		/* a streaming body signed as empty */
		sigv4_verify_result_free(&res);
		sr.payload_hash = SIGV4_EMPTY_SHA256;
		v = sigv4_verify(&sr, authz,
				 http_header_get(&r->head, "x-amz-date"), &vc,
				 &res);
	}
	if (v == SIGV4_OK) {
		sigv4_verify_result_free(&res);
		return 0;
	}
	kl_log("%s %s %s: signature refused (%s): %s", c->peer, r->head.method,
	       r->head.path, sigv4_verdict_name(v), res.reason);
	if (v == SIGV4_MISMATCH && res.canonical_request) {
		/* for a diff against the client's, without its token */
		struct strbuf cr = STRBUF_INIT;
		kl_redact(&cr, res.canonical_request);
		kl_log("expected canonical request:\n%s\nstring to sign:\n%s",
		       cr.s ? cr.s : "", res.string_to_sign);
		sb_free(&cr);
	}
	const char *type = "InvalidSignatureException";
	if (v == SIGV4_UNKNOWN_KEY || v == SIGV4_BAD_TOKEN)
		type = "UnrecognizedClientException";
	else if (v == SIGV4_MALFORMED)
		type = "IncompleteSignatureException";
	kl_send_error(c, 403, type, "%s", res.reason);
	sigv4_verify_result_free(&res);
	return -1;
}
