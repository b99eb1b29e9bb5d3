/* The graph file reader on hostile bytes: NUL and other control bytes are
 * refused at file:line (never a value cut short), input is read up to
 * 1 MiB only, long continuation lines keep their text, and error text
 * escapes control bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/config.h"
#include "kernel/internal.h"
#include "tests/unit/check.h"

static struct vp_config *load_bytes(const char *data, size_t len)
{
	FILE *fp = fmemopen((void *)data, len, "r");
	CHECK(fp != NULL);
	if (!fp)
		abort();
	struct vp_config *cfg = vp_config_load_stream("t.ini", fp);
	fclose(fp);
	return cfg;
}

static const char *value(struct vp_config *cfg, const char *sec,
			 const char *key)
{
	struct vp_section *s = vp_config_section(cfg, sec);
	struct vp_kv *kv = s ? vp_section_get(s, key) : NULL;
	return kv ? kv->value : NULL;
}

static void test_nul_in_value(void)
{
	static const char ini[] = "[cam]\nmodule = testsrc\nwidth = 32\0 0\n"
				  "height = 16\n";
	struct vp_config *cfg = load_bytes(ini, sizeof(ini) - 1);
	CHECK_EQ_INT(cfg->n_errors, 1);
	CHECK(value(cfg, "cam", "width") == NULL); /* not "32" */
	CHECK_STR_CONTAINS(value(cfg, "cam", "height"), "16");
	vp_config_free(cfg);
}

static void test_controls_and_crlf(void)
{
	const char *esc = "[cam]\nmodule = testsrc\nwidth = 3\x1b[2J\n";
	struct vp_config *cfg = load_bytes(esc, strlen(esc));
	CHECK_EQ_INT(cfg->n_errors, 1);
	CHECK(value(cfg, "cam", "width") == NULL);
	vp_config_free(cfg);

	const char *ok = "[cam]\r\nmodule\t= testsrc\r\nwidth = 64\r\n";
	cfg = load_bytes(ok, strlen(ok));
	CHECK_EQ_INT(cfg->n_errors, 0);
	CHECK(value(cfg, "cam", "width") &&
	      !strcmp(value(cfg, "cam", "width"), "64"));
	vp_config_free(cfg);

	cfg = vp_config_load_string("t.ini", "[cam]\nmodule = testsrc\n");
	CHECK_EQ_INT(vp_config_set(cfg, "cam.width=3\x07"), -1);
	CHECK_EQ_INT(vp_config_set(cfg, "cam.width=3\t2"), 0);
	vp_config_free(cfg);
}

static void test_size_limit(void)
{
	size_t len = 3u << 20;
	char *big = malloc(len);
	memset(big, '\n', len);
	struct vp_config *cfg = load_bytes(big, len);
	CHECK_EQ_INT(cfg->n_errors, 1);
	vp_config_free(cfg);
	/* exactly 1 MiB is still a graph file */
	memcpy(big, "[a]\nk = v\n", 10);
	cfg = load_bytes(big, 1u << 20);
	CHECK_EQ_INT(cfg->n_errors, 0);
	CHECK(value(cfg, "a", "k") && !strcmp(value(cfg, "a", "k"), "v"));
	vp_config_free(cfg);
	free(big);
}

static void test_long_continuation(void)
{
	char longv[301], ini[1024];
	memset(longv, 'x', 300);
	longv[300] = 0;
	snprintf(ini, sizeof(ini), "[o]\nloc = /a\n    b= %s ; note\n", longv);
	struct vp_config *cfg = load_bytes(ini, strlen(ini));
	char want[400];
	snprintf(want, sizeof(want), "/ab= %s", longv);
	CHECK_EQ_INT(cfg->n_errors, 0);
	CHECK(value(cfg, "o", "loc") && !strcmp(value(cfg, "o", "loc"), want));
	vp_config_free(cfg);
}

static void test_escape(void)
{
	char out[64];
	vp_escape_controls("a\x1b]0;x\x07\tb\nc\x7f", out, sizeof(out));
	CHECK(!strcmp(out, "a\\x1b]0;x\\x07\tb c\\x7f"));
	/* truncation never splits an escape */
	vp_escape_controls("abc\x01", out, 6);
	CHECK(!strcmp(out, "abc"));
}

int main(void)
{
	test_nul_in_value();
	test_controls_and_crlf();
	test_size_limit();
	test_long_continuation();
	test_escape();
	return check_done();
}
