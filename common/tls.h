/* TLS trust for the HTTPS clients of the modules that talk to AWS (kvs,
 * s3): one meaning of `tls-verify` and `ca-path` for all of them.
 *
 * ca-path adds to the system's trust store, it does not replace it: a
 * private CA (kvs-local, MinIO, a TLS-inspecting proxy) is trusted beside
 * the public ones, so one graph can reach both. It names a PEM file (one or
 * more certificates) or a directory of certificates under their hashed
 * names (`openssl rehash DIR`, as for `curl --capath`). */
#ifndef VPIPE_COMMON_TLS_H
#define VPIPE_COMMON_TLS_H

#include <stdbool.h>

#include <curl/curl.h>
#include <vpipe/module.h>

/* The two parameters, for a config struct C with `const char *ca_path` and
 * `bool tls_verify`. */
#define TLS_PARAMS(C)                                                          \
	VPIPE_P_PATH("ca-path", C, ca_path, NULL, 0,                           \
		     "PEM CA file, or directory of hashed CA names "           \
		     "(openssl rehash), trusted besides the system's"),        \
	    VPIPE_P_BOOL("tls-verify", C, tls_verify, "true",                  \
			 "verify the server's certificate (false: warned at "  \
			 "every start)")

/* Set up a curl handle: with verify, the system's trust plus ca_path (NULL
 * or "" for none); without, no check of the peer at all. ca_path must stay
 * valid while the handle is used (it is read at each new connection). A
 * file that cannot be read fails the transfer with
 * CURLE_SSL_CACERT_BADFILE. */
void tls_setup(CURL *h, bool verify, const char *ca_path);

#endif
