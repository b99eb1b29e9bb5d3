/* TLS trust for libcurl handles: see tls.h. */
#include "tls.h"

#include <sys/stat.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Called by libcurl (OpenSSL backend) on each new SSL_CTX, after it has
 * loaded the system's trust: the extra CAs go into the same store. */
static CURLcode add_ca(CURL *curl, void *ssl_ctx, void *path)
{
	(void)curl;
	X509_STORE *st = SSL_CTX_get_cert_store(ssl_ctx);
	struct stat sb;
	if (!st || stat(path, &sb) != 0)
		return CURLE_SSL_CACERT_BADFILE;
	int ok = S_ISDIR(sb.st_mode) ? X509_STORE_load_path(st, path)
				     : X509_STORE_load_file(st, path);
	return ok == 1 ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

void tls_setup(CURL *h, bool verify, const char *ca_path)
{
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	if (!verify || !ca_path || !*ca_path)
		return;
	curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, add_ca);
	curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, (void *)ca_path);
}
