/* Where the keys that check signatures come from: the command line, a
 * file, or the environment. A secret never has to be on the command line
 * (where every user sees it in ps); one given there anyway is copied and
 * its argv bytes overwritten, with a warning. The log names each key's
 * source, never the secret or the token. */
#include "kvs_local.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Copy a secret out of argv and overwrite it there (ps reads that memory;
 * it showed the secret from the exec until now). */
static const char *take_from_argv(char *arg, const char *option)
{
	char *copy = strdup(arg);
	memset(arg, 'x', strlen(arg));
	kl_log("warning: %s on the command line is visible to other users "
	       "(ps) until it is overwritten; use %s",
	       option,
	       !strcmp(option, "--secret-key")
		   ? "--secret-key-file, KVS_LOCAL_SECRET_KEY or "
		     "AWS_SECRET_ACCESS_KEY"
		   : "KVS_LOCAL_SESSION_TOKEN or AWS_SESSION_TOKEN");
	return copy;
}

/* The first line of path, without trailing white space; NULL after an
 * error message. */
static const char *read_secret_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		kl_log("--secret-key-file %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		kl_log("warning: --secret-key-file %s is readable by other "
		       "users (chmod 600 it)",
		       path);
	char line[4096];
	char *got = fgets(line, sizeof line, f);
	fclose(f);
	size_t n = got ? strlen(line) : 0;
	while (n > 0 && strchr(" \t\r\n", line[n - 1]))
		line[--n] = 0;
	if (n == 0) {
		kl_log("--secret-key-file %s: no secret key on its first line",
		       path);
		return NULL;
	}
	return strdup(line);
}

static const char *env(const char *name, const char **source)
{
	const char *v = getenv(name);
	if (v && *v) {
		*source = name;
		return v;
	}
	return NULL;
}

int kl_resolve_keys(struct kl_config *cfg, struct kl_key_args *a)
{
	const char *secret = NULL, *token = NULL;
	const char *ak_src = "--access-key", *sk_src = NULL, *tok_src = NULL;
	if (a->secret_key_file && a->secret_key) {
		kl_log("--secret-key-file and --secret-key: give one");
		return -1;
	}
	if (a->secret_key) {
		secret = take_from_argv(a->secret_key, "--secret-key");
		sk_src = "--secret-key";
	}
	if (a->session_token) {
		token = take_from_argv(a->session_token, "--session-token");
		tok_src = "--session-token";
	}
	if (cfg->no_auth) {
		if (a->access_key || secret || a->secret_key_file) {
			kl_log("--no-auth with keys: give one or the other");
			return -1;
		}
		kl_log("--no-auth: signatures are not checked");
		return 0;
	}
	if (a->secret_key_file) {
		if (!(secret = read_secret_file(a->secret_key_file)))
			return -1;
		sk_src = "--secret-key-file";
	}
	const char *ak = a->access_key;
	bool aws_env = false;
	if (!ak)
		ak = env("KVS_LOCAL_ACCESS_KEY", &ak_src);
	if (!ak && (ak = env("AWS_ACCESS_KEY_ID", &ak_src)))
		aws_env = true;
	if (!secret && !aws_env)
		secret = env("KVS_LOCAL_SECRET_KEY", &sk_src);
	if (!secret && (aws_env || a->access_key))
		secret = env("AWS_SECRET_ACCESS_KEY", &sk_src);
	if (!token)
		token = env("KVS_LOCAL_SESSION_TOKEN", &tok_src);
	if (!token && aws_env)
		token = env("AWS_SESSION_TOKEN", &tok_src);
	if (!ak && !secret) {
		kl_log("no access key (--access-key, KVS_LOCAL_ACCESS_KEY, "
		       "AWS_ACCESS_KEY_ID): signatures are not checked");
		return 0;
	}
	if (!ak || !secret) {
		kl_log("%s without %s: give both (secret key: "
		       "--secret-key-file, KVS_LOCAL_SECRET_KEY or "
		       "AWS_SECRET_ACCESS_KEY)",
		       ak ? "an access key" : "a secret key",
		       ak ? "a secret key" : "an access key");
		return -1;
	}
	cfg->key.access_key = ak;
	cfg->key.secret_key = secret;
	cfg->key.session_token = token;
	kl_log("checking signatures: access key %s (from %s), secret key from "
	       "%s%s%s",
	       ak, ak_src, sk_src, token ? ", session token from " : "",
	       token ? tok_src : "");
	return 0;
}
