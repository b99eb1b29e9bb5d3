/* Coalesced logging: a storm of one message from one call site becomes its
 * first line plus one line per interval with the count held back; another
 * call site is counted apart; a level below the threshold writes
 * nothing. The log (stderr) is read back from a temporary file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/internal.h"
#include "tests/unit/check.h"

static char logbuf[65536];

/* Run `fn` with stderr in a file; the lines it wrote land in logbuf. */
static void capture(void (*fn)(void))
{
	fflush(stderr);
	FILE *tmp = tmpfile();
	int saved = dup(2);
	dup2(fileno(tmp), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(logbuf, 1, sizeof(logbuf) - 1, tmp);
	logbuf[n] = 0;
	fclose(tmp);
}

static unsigned count_lines(const char *needle)
{
	unsigned n = 0;
	for (const char *p = logbuf; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void storm(void)
{
	vp_clock_set_manual(true, 1000 * VPIPE_S);
	/* 15,673 drops in 80 s, one call each, as the issue saw. */
	for (int i = 0; i < 15673; i++) {
		vpipe_log_coalesced(NULL, VPIPE_LOG_WARN,
				    "dropped the oldest %d fragment(s)", 1);
		if (i % 196 == 195)
			vp_clock_advance(VPIPE_S);
		vp_log_coalesce_flush();
	}
	vp_clock_advance(20 * VPIPE_S);
	vp_log_coalesce_flush();
	vp_log_coalesce_flush(); /* nothing more: the slot is free again */
}

static void test_storm(void)
{
	capture(storm);
	unsigned lines = count_lines("dropped the oldest");
	/* the first line, then one per 10 s of the 80 s, and the rest */
	CHECK(lines >= 8 && lines <= 10);
	CHECK_STR_CONTAINS(logbuf, "like this in the last 10 s)");
	/* every message is accounted for: the first plus the counts */
	unsigned long long total = 1;
	for (const char *p = logbuf; (p = strstr(p, "fragment(s) (")); p++)
		total += strtoull(p + strlen("fragment(s) ("), NULL, 10);
	CHECK_EQ_INT(total, 15673);
}

static void sites(void)
{
	vp_clock_set_manual(true, 5000 * VPIPE_S);
	for (int i = 0; i < 3; i++) {
		vpipe_log_coalesced(NULL, VPIPE_LOG_WARN, "site one %d", i);
		vpipe_log_coalesced(NULL, VPIPE_LOG_WARN, "site two %d", i);
	}
	vp_clock_advance(11 * VPIPE_S);
	vp_log_coalesce_flush();
}

static void test_sites_apart(void)
{
	capture(sites);
	CHECK_STR_CONTAINS(logbuf, "site one 0");
	CHECK_STR_CONTAINS(logbuf, "site two 0");
	CHECK_STR_CONTAINS(logbuf, "site one 2 (2 like this in the last 11 s)");
	CHECK_STR_CONTAINS(logbuf, "site two 2 (2 like this in the last 11 s)");
	CHECK_EQ_INT(count_lines("site one"), 2);
}

static void below_level(void)
{
	vp_log_set_level(VPIPE_LOG_ERROR);
	vpipe_log_coalesced(NULL, VPIPE_LOG_WARN, "not shown %d", 1);
	vp_log_set_level(VPIPE_LOG_INFO);
}

static void test_level(void)
{
	capture(below_level);
	CHECK_EQ_INT(count_lines("not shown"), 0);
}

int main(void)
{
	test_storm();
	test_sites_apart();
	test_level();
	return check_done();
}
