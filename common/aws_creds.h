/* AWS credentials for the kvs and s3 sinks, in kvssink's order of
 * providers, where what the user wrote explicitly wins (as in the AWS
 * SDKs): the graph file (and --set) over the environment, the environment
 * over the shared credentials file:
 *   1. IoT X.509 certificate (iot-certificate): mutual-TLS GET
 *      https://ENDPOINT/role-aliases/ALIAS/credentials with
 *      x-amzn-iot-thingname (defaults to the stream name);
 *   2. access-key / secret-key / session-token in the INI section;
 *   3. credential-path: "CREDENTIALS AK [EXPIRY] SK [TOKEN]";
 *   4. profile in the INI section: that profile of the shared file;
 *   5. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN;
 *   6. the AWS shared credentials file (AWS_SHARED_CREDENTIALS_FILE or
 *      ~/.aws/credentials) with AWS_PROFILE or "default".
 * Temporary credentials are refreshed before they expire. Nothing here
 * ever prints a secret key or a session token. */
#ifndef VPIPE_COMMON_AWS_CREDS_H
#define VPIPE_COMMON_AWS_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vpipe/module.h>

/* The credential parameters of every module that signs AWS requests (kvs,
 * s3), one table for all: the config struct C has const char * fields
 * access_key, secret_key, session_token, credential_path, profile and
 * iot_certificate. */
#define AWS_CREDS_PARAMS(C)                                                    \
	VPIPE_P_STRING("access-key", C, access_key, NULL, 0,                   \
		       "AWS access key id (wins over AWS_ACCESS_KEY_ID)"),     \
	    VPIPE_P_SECRET("secret-key", C, secret_key, 0,                     \
			   "AWS secret access key"),                           \
	    VPIPE_P_SECRET("session-token", C, session_token, 0,               \
			   "session token of temporary credentials"),          \
	    VPIPE_P_PATH("credential-path", C, credential_path, NULL, 0,       \
			 "file \"CREDENTIALS AK [EXPIRATION] SK [TOKEN]\", "   \
			 "re-read when it changes"),                           \
	    VPIPE_P_STRING("profile", C, profile, NULL, 0,                     \
			   "profile of the shared credentials file (wins "     \
			   "over the environment's keys and AWS_PROFILE)"),    \
	    VPIPE_P_STRING("iot-certificate", C, iot_certificate, NULL, 0,     \
			   "\"iot-certificate,endpoint=..,cert-path=..,"       \
			   "key-path=..,ca-path=..,role-aliases=..[,"          \
			   "iot-thing-name=..]\"")

struct aws_creds {
	char access_key[129];
	char secret_key[129];
	char *session_token; /* malloc'ed or NULL */
	int64_t expiry;	     /* epoch seconds, 0: does not expire */
};

void aws_creds_clear(struct aws_creds *c);
int aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src);

enum aws_creds_source {
	AWS_CREDS_SRC_NONE,
	AWS_CREDS_SRC_IOT,
	AWS_CREDS_SRC_ENV,
	AWS_CREDS_SRC_PARAMS,
	AWS_CREDS_SRC_FILE,
	AWS_CREDS_SRC_SHARED,
};

struct aws_creds_iot {
	char *endpoint, *cert_path, *key_path, *ca_path, *role_alias;
	char *thing_name;
	int64_t connect_timeout_ms, timeout_ms;
};

/* Parse "iot-certificate,endpoint=...,cert-path=...,key-path=...,
 * ca-path=...,role-aliases=...[,iot-thing-name=...]". 0, or -1 with err. */
int aws_creds_iot_parse(const char *spec, const char *stream_name,
			struct aws_creds_iot *iot, char *err, size_t errlen);
void aws_creds_iot_free(struct aws_creds_iot *iot);
/* The credentials document the IoT credentials provider answers:
 * {"credentials":{"accessKeyId":..,"secretAccessKey":..,"sessionToken":..,
 * "expiration":"YYYY-MM-DDTHH:MM:SSZ"}}. */
int aws_creds_iot_parse_response(const char *body, size_t n,
				 struct aws_creds *c, char *err, size_t errlen);

/* "CREDENTIALS AK SK" or "CREDENTIALS AK EXPIRY SK TOKEN". */
int aws_creds_parse_file(const char *text, struct aws_creds *c, char *err,
			 size_t errlen);
/* An INI-style shared credentials file, section [profile]. */
int aws_creds_parse_shared(const char *text, const char *profile,
			   struct aws_creds *c, char *err, size_t errlen);
/* ISO 8601 UTC "2023-08-10T22:43:00Z" (fraction and +00:00 allowed). */
int aws_creds_parse_iso8601(const char *s, int64_t *epoch);

/* The provider the node uses, chosen once in create(). */
struct aws_creds_provider {
	enum aws_creds_source source;
	char describe[320]; /* "environment", "credential-path /x" ... */
	struct aws_creds static_creds; /* ENV, PARAMS */
	char *path;		       /* FILE, SHARED */
	char *profile;		       /* SHARED */
	struct aws_creds_iot iot;      /* IOT */
	bool tls_verify;
	/* Last file state seen, to re-read only when it changes. */
	ino_t ino;
	int64_t mtime_ns;
	off_t size;
};

struct aws_creds_params {
	const char *iot_certificate, *access_key, *secret_key, *session_token;
	const char *credential_path, *profile, *stream_name;
	bool tls_verify;
};

/* 0; -1 with err; AWS_CREDS_NOT_CONFIGURED with err when no source of
 * credentials is configured at all (`vpipe check` may run without them). */
#define AWS_CREDS_NOT_CONFIGURED (-2)
int aws_creds_provider_init(struct aws_creds_provider *p,
			    const struct aws_creds_params *cp, char *err,
			    size_t errlen);
void aws_creds_provider_free(struct aws_creds_provider *p);

/* Fetch or re-read credentials into c. For files, `changed` is set when
 * the file differs from the last read (when nothing changed the call does
 * no I/O beyond stat). `abort_fn` lets a blocking IoT fetch end on stop.
 * 0, or -1 with err (never a secret); -2 when the IoT credentials provider
 * refused us (certificate, key, CA, HTTP 4xx): retrying will not help. */
int aws_creds_fetch(struct aws_creds_provider *p, struct aws_creds *c,
		    bool *changed, int (*abort_fn)(void *), void *abort_ctx,
		    char *err, size_t errlen);

/* The region to sign for: aws-region as written (`param`, NULL or empty
 * when not set), else AWS_DEFAULT_REGION, else AWS_REGION, else us-west-2.
 * *from names where it came from, for the log. */
const char *aws_region_resolve(const char *param, const char **from);
#endif
