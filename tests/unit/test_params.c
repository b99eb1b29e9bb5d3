/* Parameter value parsing: what an INI value may say, and the messages. */
#include "kernel/internal.h"
#include "kernel/keys.h"
#include "kernel/params.h"
#include "tests/unit/check.h"

struct cfg {
	int64_t i;
	int64_t d;
	int64_t sz;
	bool b;
	int e;
	double x;
	const char *s;
};

static const char *const colours[] = {"red", "green", NULL};

static const struct vpipe_param table[] = {
    VPIPE_P_INT("count", struct cfg, i, "3", 0, 10, "a count"),
    VPIPE_P_DURATION("wait", struct cfg, d, "2s", 0.001, 60, VPIPE_MS,
		     "a wait"),
    VPIPE_P_SIZE("store", struct cfg, sz, "64M", 1024, 1e12, "a size"),
    VPIPE_P_BOOL("on", struct cfg, b, "yes", "a switch"),
    VPIPE_P_ENUM("colour", struct cfg, e, "green", colours, "a colour"),
    VPIPE_P_DOUBLE("rate", struct cfg, x, "29.97", 1, 240, "a rate"),
    VPIPE_P_STRING("name", struct cfg, s, "cam", 0, "a name"),
    VPIPE_P_END,
};

static void test_durations(void)
{
	int64_t ns;
	CHECK(vp_parse_duration("500ms", &ns) == 0 && ns == 500000000);
	CHECK(vp_parse_duration("2s", &ns) == 0 && ns == 2000000000);
	CHECK(vp_parse_duration("1.5m", &ns) == 0 && ns == 90 * VPIPE_S);
	CHECK(vp_parse_duration("1h", &ns) == 0 && ns == 3600 * VPIPE_S);
	CHECK(vp_parse_duration("250us", &ns) == 0 && ns == 250000);
	/* a bare number is no duration (it meant ms in one module and s in
	 * another); 0 is the same in every unit */
	CHECK(vp_parse_duration("10", &ns) == VP_PARSE_NO_UNIT);
	CHECK(vp_parse_duration("2.5", &ns) == VP_PARSE_NO_UNIT);
	CHECK(vp_parse_duration("0", &ns) == 0 && ns == 0);
	CHECK(vp_parse_duration("", &ns) == -1);
	CHECK(vp_parse_duration("-1s", &ns) == -1);
	CHECK(vp_parse_duration("5 parsecs", &ns) == -1);
	CHECK(vp_parse_duration("1e30s", &ns) == -1);
	CHECK(vp_parse_duration("nan", &ns) == -1);
}

static void test_sizes(void)
{
	int64_t b;
	CHECK(vp_parse_size("512B", &b) == 0 && b == 512);
	CHECK(vp_parse_size("512b", &b) == 0 && b == 512);
	CHECK(vp_parse_size("512", &b) == VP_PARSE_NO_UNIT);
	CHECK(vp_parse_size("0", &b) == 0 && b == 0);
	CHECK(vp_parse_size("64k", &b) == 0 && b == 65536);
	CHECK(vp_parse_size("16M", &b) == 0 && b == 16 << 20);
	CHECK(vp_parse_size("16MB", &b) == 0 && b == 16 << 20);
	CHECK(vp_parse_size("2MiB", &b) == 0 && b == 2 << 20);
	CHECK(vp_parse_size("1G", &b) == 0 && b == 1 << 30);
	CHECK(vp_parse_size("1.5k", &b) == 0 && b == 1536);
	CHECK(vp_parse_size("0.3B", &b) == -1); /* not whole bytes */
	CHECK(vp_parse_size("12 apples", &b) == -1);
	CHECK(vp_parse_size("-4k", &b) == -1);
}

static void test_table(void)
{
	struct cfg c = {0};
	char err[512];
	CHECK(vp_params_defaults(table, &c, err, sizeof(err)) == 0);
	CHECK_EQ_INT(c.i, 3);
	CHECK_EQ_INT(c.d, 2 * VPIPE_S);
	CHECK_EQ_INT(c.sz, 64 << 20);
	CHECK(c.b);
	CHECK_EQ_INT(c.e, 1);
	CHECK(c.x > 29.96 && c.x < 29.98);
	CHECK(c.s && !strcmp(c.s, "cam"));

	const struct vpipe_param *p = vp_param_find(table, "count");
	CHECK(vp_param_parse(p, "11", &c, err, sizeof(err)) == -1);
	CHECK_STR_CONTAINS(err, "out of range: count must be 0 to 10");
	CHECK(vp_param_parse(p, "0x0a", &c, err, sizeof(err)) == 0 &&
	      c.i == 10);
	CHECK(vp_param_parse(p, "010", &c, err, sizeof(err)) == 0 && c.i == 10);
	CHECK(vp_param_parse(p, "3.5", &c, err, sizeof(err)) == -1);
	CHECK_STR_CONTAINS(err, "an integer");

	p = vp_param_find(table, "wait");
	CHECK(vp_param_parse(p, "250ms", &c, err, sizeof(err)) == 0 &&
	      c.d == 250 * VPIPE_MS);
	CHECK(vp_param_parse(p, "2", &c, err, sizeof(err)) == -1);
	CHECK_STR_CONTAINS(err,
			   "invalid value '2' for wait: a duration needs a "
			   "unit: write 2s or 2ms");
	CHECK(vp_param_parse(p, "2 fortnights", &c, err, sizeof(err)) == -1);
	CHECK_STR_CONTAINS(err, "a duration like 500ms, 2s");
	CHECK(vp_param_parse(p, "2m", &c, err, sizeof(err)) == -1);
	CHECK_STR_CONTAINS(err, "wait must be 1ms to 60s");

	p = vp_param_find(table, "colour");
	CHECK(vp_param_parse(p, "blue", &c, err, sizeof(err)) == -1);
	CHECK_STR_CONTAINS(err, "one of: red, green");

	p = vp_param_find(table, "on");
	CHECK(vp_param_parse(p, "OFF", &c, err, sizeof(err)) == 0 && !c.b);
	CHECK(vp_param_parse(p, "2", &c, err, sizeof(err)) == -1);

	p = vp_param_find(table, "store");
	CHECK(vp_param_parse(p, "1B", &c, err, sizeof(err)) == -1);
	CHECK_STR_CONTAINS(err, "store must be 1k to");
	CHECK(vp_param_parse(p, "2000000", &c, err, sizeof(err)) == -1);
	CHECK_STR_CONTAINS(err,
			   "invalid value '2000000' for store: a size needs "
			   "a unit: write 2000000B for bytes");
	char sz[32];
	vp_format_size(512, sz, sizeof(sz)); /* printed sizes read back */
	CHECK(!strcmp(sz, "512B"));

	p = vp_param_find(table, "name");
	CHECK(vp_param_parse(p, "front door", &c, err, sizeof(err)) == 0 &&
	      !strcmp(c.s, "front door"));
	char v[64];
	vp_param_format_value(vp_param_find(table, "wait"), &c, v, sizeof(v));
	CHECK(!strcmp(v, "250ms"));
	vp_params_free(table, &c);
	CHECK(c.s == NULL);
}

/* The loader refuses a module whose table could never work. */
static void test_table_check(void)
{
	char err[512];
	CHECK_EQ_INT(vp_params_check_table(table, err, sizeof(err)), 0);
	struct c {
		int64_t d;
	};
	static const struct vpipe_param bare[] = {
	    VPIPE_P_DURATION("fragment-duration", struct c, d, "2000", 1, 20,
			     VPIPE_MS, "old style"),
	    VPIPE_P_END,
	};
	CHECK_EQ_INT(vp_params_check_table(bare, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "the default of 'fragment-duration' is "
				"invalid: invalid value '2000'");
	static const struct vpipe_param badname[] = {
	    VPIPE_P_DURATION("Fragment_Duration", struct c, d, "2s", 1, 20, 0,
			     "upper case"),
	    VPIPE_P_END,
	};
	CHECK_EQ_INT(vp_params_check_table(badname, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "lower-case words joined by '-'");
	static const struct vpipe_param twice[] = {
	    VPIPE_P_DURATION("wait", struct c, d, "2s", 1, 20, 0, "one"),
	    VPIPE_P_DURATION("wait", struct c, d, "3s", 1, 20, 0, "two"),
	    VPIPE_P_END,
	};
	CHECK_EQ_INT(vp_params_check_table(twice, err, sizeof(err)), -1);
	CHECK_STR_CONTAINS(err, "'wait' is declared twice");
}

/* The kernel's keys are tables like a module's, and as valid. */
static void test_kernel_keys(void)
{
	char err[512];
	CHECK_EQ_INT(vp_params_check_table(vp_node_key_table, err, sizeof(err)),
		     0);
	CHECK_EQ_INT(
	    vp_params_check_table(vp_pipeline_key_table, err, sizeof(err)), 0);
	struct vp_node_keys k = {0};
	CHECK_EQ_INT(
	    vp_params_defaults(vp_node_key_table, &k, err, sizeof(err)), 0);
	CHECK_EQ_INT(k.queue_size, 8);
	CHECK_EQ_INT(k.restart_delay, VPIPE_S);
	CHECK(!strcmp(vp_policy_names[k.queue_policy], "block"));
	CHECK(vp_param_parse(vp_param_find(vp_node_key_table, "queue-policy"),
			     "drop-old", &k, err, sizeof(err)) == 0);
	CHECK(!strcmp(vp_policy_names[k.queue_policy], "drop-old"));
	CHECK_EQ_INT(vp_pipeline_log_level(3), VPIPE_LOG_DEBUG);
	/* suggestions: a transposition, a dash-separated part */
	const char *mods[] = {"testsrc", "x264", "v4l2", "v4l2m2m", NULL};
	CHECK(!strcmp(vp_nearest("x246", mods, 4), "x264"));
	const char *keys[] = {"queue-size", "queue-policy", "restart", NULL};
	CHECK(!strcmp(vp_nearest("policy", keys, 3), "queue-policy"));
	CHECK(vp_nearest("colour", keys, 3) == NULL);
}

static void test_secret_masked(void)
{
	struct s {
		const char *key;
	} c = {0};
	static const struct vpipe_param t[] = {
	    VPIPE_P_SECRET("secret-key", struct s, key, 0, "the key"),
	    VPIPE_P_END,
	};
	char err[128], v[64];
	CHECK(vp_param_parse(&t[0], "wJalrXUtnFEMI", &c, err, sizeof(err)) ==
	      0);
	vp_param_format_value(&t[0], &c, v, sizeof(v));
	CHECK(!strcmp(v, "********"));
	vp_params_free(t, &c);

	/* A masked URL hides only its password. */
	static const struct vpipe_param u[] = {
	    VPIPE_P_(("url"), VPIPE_PARAM_STRING, VPIPE_PARAM_MASKED, struct s,
		     key, NULL, 1, 0, NULL, 0, "a url"),
	    VPIPE_P_END,
	};
	CHECK(vp_param_parse(&u[0], "rtsp://cam:pa55@10.0.0.7:554/live", &c,
			     err, sizeof(err)) == 0);
	vp_param_format_value(&u[0], &c, v, sizeof(v));
	CHECK(!strcmp(v, "rtsp://cam:***@10.0.0.7:554/live"));
	CHECK(vp_param_parse(&u[0], "rtsp://10.0.0.7/live", &c, err,
			     sizeof(err)) == 0);
	vp_param_format_value(&u[0], &c, v, sizeof(v));
	CHECK(!strcmp(v, "rtsp://10.0.0.7/live"));
	CHECK(vp_param_parse(&u[0], "not a url", &c, err, sizeof(err)) == 0);
	vp_param_format_value(&u[0], &c, v, sizeof(v));
	CHECK(!strcmp(v, "********"));
	vp_params_free(u, &c);
}

int main(void)
{
	test_durations();
	test_sizes();
	test_table();
	test_table_check();
	test_kernel_keys();
	test_secret_masked();
	return check_done();
}
