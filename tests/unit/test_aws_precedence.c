/* Which credentials and region the kvs and s3 sinks use when several are
 * given: what the user wrote explicitly wins (issue 15), as in the AWS
 * SDKs and kvssink. The graph file (and --set, which edits it) beats the
 * environment, and the environment beats the shared credentials file. */
#include "aws_creds.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Equal strings (a NULL is never equal). */
#define CHECK_STR_EQ(a, b)                                                     \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		check_count++;                                                 \
		if (!a_ || strcmp(a_, b_)) {                                   \
			check_failures++;                                      \
			fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n",  \
				__FILE__, __LINE__, #a, a_ ? a_ : "(null)",    \
				b_);                                           \
		}                                                              \
	} while (0)

static char home[] = "/tmp/vpipe-aws-precedence.XXXXXX";

static void write_shared_file(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/.aws", home);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.aws/credentials", home);
	FILE *f = fopen(path, "w");
	fprintf(f, "[default]\naws_access_key_id = AKIDSHARED\n"
		   "aws_secret_access_key = sharedSecret\n"
		   "[cam]\naws_access_key_id = AKIDCAMPROFILE\n"
		   "aws_secret_access_key = camSecret\n");
	fclose(f);
}

static void clear_env(void)
{
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_DEFAULT_REGION");
	unsetenv("AWS_REGION");
	setenv("HOME", home, 1);
}

static void env_keys(void)
{
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envSecret", 1);
}

/* The provider chosen for these parameters; its access key in `ak` for
 * static keys. */
static enum aws_creds_source pick(const struct aws_creds_params *cp,
				  struct aws_creds_provider *p)
{
	char err[512] = "";
	if (aws_creds_provider_init(p, cp, err, sizeof(err))) {
		fprintf(stderr, "(no provider: %s)\n", err);
		return AWS_CREDS_SRC_NONE;
	}
	return p->source;
}

static void test_file_keys_beat_environment(void)
{
	clear_env();
	env_keys();
	setenv("AWS_SESSION_TOKEN", "ENVTOKEN", 1);
	struct aws_creds_params cp = {.access_key = "AKIDFILE",
				      .secret_key = "fileSecret"};
	struct aws_creds_provider p;
	CHECK_EQ_INT(pick(&cp, &p), AWS_CREDS_SRC_PARAMS);
	CHECK_STR_EQ(p.static_creds.access_key, "AKIDFILE");
	CHECK_STR_EQ(p.static_creds.secret_key, "fileSecret");
	/* The environment's token belongs to the environment's key. */
	CHECK(p.static_creds.session_token == NULL);
	CHECK_STR_CONTAINS(p.describe, "access-key/secret-key");
	aws_creds_provider_free(&p);
}

static void test_credential_path_beats_environment(void)
{
	clear_env();
	env_keys();
	struct aws_creds_params cp = {.credential_path = "/etc/vpipe/cred"};
	struct aws_creds_provider p;
	CHECK_EQ_INT(pick(&cp, &p), AWS_CREDS_SRC_FILE);
	CHECK_STR_CONTAINS(p.describe, "credential-path /etc/vpipe/cred");
	aws_creds_provider_free(&p);
}

static void test_profile_parameter_beats_environment(void)
{
	clear_env();
	env_keys();
	setenv("AWS_PROFILE", "other", 1);
	struct aws_creds_params cp = {.profile = "cam"};
	struct aws_creds_provider p;
	CHECK_EQ_INT(pick(&cp, &p), AWS_CREDS_SRC_SHARED);
	CHECK_STR_CONTAINS(p.describe, "profile cam (profile parameter)");
	struct aws_creds c = {0};
	bool changed = false;
	char err[256];
	CHECK_EQ_INT(
	    aws_creds_fetch(&p, &c, &changed, NULL, NULL, err, sizeof(err)), 0);
	CHECK_STR_EQ(c.access_key, "AKIDCAMPROFILE");
	aws_creds_clear(&c);
	aws_creds_provider_free(&p);
}

static void test_environment_beats_shared_file(void)
{
	clear_env();
	env_keys();
	struct aws_creds_params cp = {0};
	struct aws_creds_provider p;
	CHECK_EQ_INT(pick(&cp, &p), AWS_CREDS_SRC_ENV);
	CHECK_STR_EQ(p.static_creds.access_key, "AKIDENV");
	CHECK_STR_CONTAINS(p.describe, "environment AWS_ACCESS_KEY_ID");
	aws_creds_provider_free(&p);
}

static void test_shared_file_last(void)
{
	clear_env();
	struct aws_creds_params cp = {0};
	struct aws_creds_provider p;
	CHECK_EQ_INT(pick(&cp, &p), AWS_CREDS_SRC_SHARED);
	CHECK_STR_CONTAINS(p.describe, "profile default (default profile)");
	aws_creds_provider_free(&p);
	setenv("AWS_PROFILE", "cam", 1);
	CHECK_EQ_INT(pick(&cp, &p), AWS_CREDS_SRC_SHARED);
	CHECK_STR_CONTAINS(p.describe, "profile cam (AWS_PROFILE)");
	aws_creds_provider_free(&p);
}

static void test_half_a_key_pair_is_an_error(void)
{
	clear_env();
	env_keys();
	struct aws_creds_params cp = {.access_key = "AKIDFILE"};
	struct aws_creds_provider p;
	char err[512] = "";
	CHECK_EQ_INT(aws_creds_provider_init(&p, &cp, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "must be given together");
}

static void test_region(void)
{
	clear_env();
	const char *from = NULL;
	CHECK_STR_EQ(aws_region_resolve(NULL, &from), "us-west-2");
	CHECK_STR_EQ(from, "default");
	setenv("AWS_REGION", "ap-south-1", 1);
	CHECK_STR_EQ(aws_region_resolve("", &from), "ap-south-1");
	CHECK_STR_EQ(from, "AWS_REGION");
	setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
	CHECK_STR_EQ(aws_region_resolve(NULL, &from), "us-east-1");
	CHECK_STR_EQ(from, "AWS_DEFAULT_REGION");
	/* aws-region in the file (or from --set) wins over both. */
	CHECK_STR_EQ(aws_region_resolve("eu-west-1", &from), "eu-west-1");
	CHECK_STR_EQ(from, "aws-region");
}

int main(void)
{
	if (!mkdtemp(home))
		return 1;
	write_shared_file();
	test_file_keys_beat_environment();
	test_credential_path_beats_environment();
	test_profile_parameter_beats_environment();
	test_environment_beats_shared_file();
	test_shared_file_last();
	test_half_a_key_pair_is_an_error();
	test_region();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	if (system(cmd))
		return 1;
	return check_done();
}
