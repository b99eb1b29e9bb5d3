/* Quartz cron schedules: every example of the Edge Agent FAQ table, the
 * syntax Quartz allows, errors that name field and offset, and what
 * happens across DST changes and clock jumps (in Europe/Berlin and
 * America/New_York from the TZ database). */
#include "tests/unit/check.h"

#include "common/quartz_cron.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void use_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s};
	return timegm(&tm);
}

/* A local time that exists exactly once. */
static time_t local(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s,
			.tm_isdst = -1};
	return mktime(&tm);
}

static struct quartz_schedule sched(const char *expr, long duration_s)
{
	struct quartz_schedule s;
	struct quartz_cron_error err;
	int rc = quartz_schedule_parse(&s, expr, duration_s, &err);
	if (rc)
		fprintf(stderr, "'%s': %s\n", expr, err.msg);
	CHECK_EQ_INT(rc, 0);
	return s;
}

static time_t next(const char *expr, time_t after)
{
	struct quartz_cron c;
	struct quartz_cron_error err;
	if (quartz_cron_parse(&c, expr, &err)) {
		fprintf(stderr, "'%s': %s\n", expr, err.msg);
		return -1;
	}
	time_t f;
	return quartz_cron_next(&c, after, &f) ? f : -1;
}

static bool in_window(const struct quartz_schedule *s, time_t t)
{
	return quartz_schedule_in_window(s, t, NULL);
}

/* ------------------------------------------------- FAQ (kvs-facts §10.5) */

/* 9:00:00-16:59:59 daily: eight windows of 3599 s from 9:00 to 16:00. */
static void test_faq_daily_9_to_5(void)
{
	use_tz("Europe/Berlin");
	struct quartz_schedule s = sched("0 0 9-16 * * ? *", 3599);
	struct quartz_window w[9];
	CHECK_EQ_INT(
	    quartz_schedule_next_windows(&s, local(2026, 6, 15, 0, 0, 0), w, 9),
	    9);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ_INT(w[i].start, local(2026, 6, 15, 9 + i, 0, 0));
		CHECK_EQ_INT(w[i].end, local(2026, 6, 15, 9 + i, 59, 59));
	}
	CHECK_EQ_INT(w[8].start, local(2026, 6, 16, 9, 0, 0));
	CHECK(!in_window(&s, local(2026, 6, 15, 8, 59, 59)));
	CHECK(in_window(&s, local(2026, 6, 15, 9, 0, 0)));
	CHECK(in_window(&s, local(2026, 6, 15, 16, 59, 58)));
	/* the window ends at 16:59:59 (exclusive), as the FAQ's 4:59:59 PM */
	CHECK(!in_window(&s, local(2026, 6, 15, 16, 59, 59)));
	CHECK(!in_window(&s, local(2026, 6, 15, 17, 0, 0)));
	/* 3599 s leaves the last second of every hour out, by design of
	 * the agent's table: windows never overlap. */
	CHECK(!in_window(&s, local(2026, 6, 15, 12, 59, 59)));
	CHECK(in_window(&s, local(2026, 6, 14, 12, 30, 0))); /* Sunday too */
}

/* The four weekday forms describe the same windows. */
static void test_faq_weekdays(void)
{
	use_tz("Europe/Berlin");
	static const char *forms[] = {
	    "0 0 9-16 ? * 2-6 *",
	    "0 0 9-16 ? * 2,3,4,5,6 *",
	    "0 0 9-16 ? * MON-FRI *",
	    "0 0 9-16 ? * MON,TUE,WED,THU,FRI *",
	};
	/* Saturday 2026-06-13: the first window is Monday 9:00. */
	time_t from = local(2026, 6, 13, 0, 0, 0);
	struct quartz_window ref[80];
	for (size_t f = 0; f < 4; f++) {
		struct quartz_schedule s = sched(forms[f], 3599);
		struct quartz_window w[80];
		CHECK_EQ_INT(quartz_schedule_next_windows(&s, from, w, 80), 80);
		CHECK_EQ_INT(w[0].start, local(2026, 6, 15, 9, 0, 0));
		CHECK_EQ_INT(w[0].end, local(2026, 6, 15, 9, 59, 59));
		CHECK_EQ_INT(w[39].start, local(2026, 6, 19, 16, 0, 0));
		CHECK_EQ_INT(w[40].start, local(2026, 6, 22, 9, 0, 0));
		CHECK(!in_window(&s, local(2026, 6, 20, 10, 0, 0))); /* Sat */
		CHECK(!in_window(&s, local(2026, 6, 21, 10, 0, 0))); /* Sun */
		CHECK(in_window(&s, local(2026, 6, 17, 10, 0, 0)));  /* Wed */
		if (f == 0)
			memcpy(ref, w, sizeof w);
		else
			CHECK(memcmp(ref, w, sizeof w) == 0);
	}
}

static void test_faq_weekends(void)
{
	use_tz("Europe/Berlin");
	struct quartz_schedule s = sched("0 0 9-16 ? * SAT,SUN *", 3599);
	struct quartz_window w[17];
	CHECK_EQ_INT(quartz_schedule_next_windows(
			 &s, local(2026, 6, 15, 0, 0, 0), w, 17),
		     17);
	CHECK_EQ_INT(w[0].start, local(2026, 6, 20, 9, 0, 0));
	CHECK_EQ_INT(w[8].start, local(2026, 6, 21, 9, 0, 0));
	CHECK_EQ_INT(w[15].start, local(2026, 6, 21, 16, 0, 0));
	CHECK_EQ_INT(w[16].start, local(2026, 6, 27, 9, 0, 0));
	CHECK(!in_window(&s, local(2026, 6, 19, 10, 0, 0))); /* Friday */
}

static void test_faq_weekday_nights(void)
{
	use_tz("Europe/Berlin");
	struct quartz_schedule s = sched("0 0 22,23 ? * MON-FRI *", 3599);
	struct quartz_window w[3];
	CHECK_EQ_INT(quartz_schedule_next_windows(
			 &s, local(2026, 6, 19, 23, 30, 0), w, 3),
		     3);
	/* Friday 23:00 is in progress; then Monday 22:00 and 23:00 */
	CHECK_EQ_INT(w[0].start, local(2026, 6, 19, 23, 0, 0));
	CHECK_EQ_INT(w[0].end, local(2026, 6, 19, 23, 59, 59));
	CHECK_EQ_INT(w[1].start, local(2026, 6, 22, 22, 0, 0));
	CHECK_EQ_INT(w[2].start, local(2026, 6, 22, 23, 0, 0));
	CHECK(!in_window(&s, local(2026, 6, 20, 22, 30, 0))); /* Saturday */
}

static void test_faq_daily_one_hour(void)
{
	use_tz("Europe/Berlin");
	struct quartz_schedule s = sched("0 0 9 * * ? *", 3600);
	CHECK(!in_window(&s, local(2026, 6, 15, 8, 59, 59)));
	CHECK(in_window(&s, local(2026, 6, 15, 9, 0, 0)));
	CHECK(in_window(&s, local(2026, 6, 15, 9, 59, 59)));
	CHECK(!in_window(&s, local(2026, 6, 15, 10, 0, 0)));
	struct quartz_window w;
	CHECK(quartz_schedule_in_window(&s, local(2026, 6, 15, 9, 30, 0), &w));
	CHECK_EQ_INT(w.start, local(2026, 6, 15, 9, 0, 0));
	CHECK_EQ_INT(w.end, local(2026, 6, 15, 10, 0, 0));
}

static void test_faq_afternoon(void)
{
	use_tz("Europe/Berlin");
	struct quartz_schedule s = sched("0 0 16-17 * * ? *", 3599);
	struct quartz_window w[3];
	CHECK_EQ_INT(quartz_schedule_next_windows(
			 &s, local(2026, 6, 15, 12, 0, 0), w, 3),
		     3);
	CHECK_EQ_INT(w[0].start, local(2026, 6, 15, 16, 0, 0));
	CHECK_EQ_INT(w[1].start, local(2026, 6, 15, 17, 0, 0));
	CHECK_EQ_INT(w[1].end, local(2026, 6, 15, 17, 59, 59));
	CHECK_EQ_INT(w[2].start, local(2026, 6, 16, 16, 0, 0));
}

/* The StartEdgeConfigurationUpdate example (§10.1). */
static void test_example_request(void)
{
	use_tz("Europe/Berlin");
	struct quartz_schedule rec =
	    sched("0 0 9,10,11,12,13,14,15,16 ? * * *", 3599);
	struct quartz_schedule daily = sched("0 0 9-16 * * ? *", 3599);
	struct quartz_window a[20], b[20];
	time_t from = local(2026, 2, 1, 0, 0, 0);
	CHECK_EQ_INT(quartz_schedule_next_windows(&rec, from, a, 20), 20);
	CHECK_EQ_INT(quartz_schedule_next_windows(&daily, from, b, 20), 20);
	CHECK(memcmp(a, b, sizeof a) == 0);
	struct quartz_schedule up = sched("0 0 19,20,21 ? * * *", 3599);
	CHECK_EQ_INT(quartz_schedule_next_windows(&up, from, a, 4), 4);
	CHECK_EQ_INT(a[0].start, local(2026, 2, 1, 19, 0, 0));
	CHECK_EQ_INT(a[2].end, local(2026, 2, 1, 21, 59, 59));
	CHECK_EQ_INT(a[3].start, local(2026, 2, 2, 19, 0, 0));
}

/* ---------------------------------------------------------------- syntax */

static void test_syntax(void)
{
	use_tz("Europe/Berlin");
	time_t t0 = local(2026, 6, 15, 10, 0, 0); /* Monday */
	/* steps in seconds and minutes */
	CHECK_EQ_INT(next("*/15 * * * * ?", t0), t0 + 15);
	CHECK_EQ_INT(next("10-40/10 * * * * ?", t0), t0 + 10);
	CHECK_EQ_INT(next("10-40/10 * * * * ?", t0 + 40), t0 + 70);
	CHECK_EQ_INT(next("0 5/20 * * * ?", t0), t0 + 5 * 60);
	CHECK_EQ_INT(next("0 5/20 * * * ?", t0 + 45 * 60),
		     t0 + 65 * 60); /* 5,25,45 then 11:05 */
	CHECK_EQ_INT(next("50/15 * * * * ?", t0), t0 + 50);
	CHECK_EQ_INT(next("50/15 * * * * ?", t0 + 50), t0 + 110);
	/* lists mixing values and ranges */
	CHECK_EQ_INT(next("0 0 3,12-13 * * ?", t0),
		     local(2026, 6, 15, 12, 0, 0));
	/* six fields: no year */
	CHECK_EQ_INT(next("0 0 12 * * ?", t0), local(2026, 6, 15, 12, 0, 0));
	/* names are case-insensitive; day-of-week 1 = Sunday */
	CHECK_EQ_INT(next("0 0 9 ? * sun", t0), local(2026, 6, 21, 9, 0, 0));
	CHECK_EQ_INT(next("0 0 9 ? * 1", t0), local(2026, 6, 21, 9, 0, 0));
	CHECK_EQ_INT(next("0 0 9 ? * 7", t0), local(2026, 6, 20, 9, 0, 0));
	CHECK_EQ_INT(next("0 0 9 ? * Sat", t0), local(2026, 6, 20, 9, 0, 0));
	CHECK_EQ_INT(next("0 0 9 1 jan,Mar ?", t0), local(2027, 1, 1, 9, 0, 0));
	CHECK_EQ_INT(next("0 0 9 1 JAN-MAR ?", t0), local(2027, 1, 1, 9, 0, 0));
	CHECK_EQ_INT(next("0 0 9 1 */4 ?", t0), local(2026, 9, 1, 9, 0, 0));
	/* wrapping ranges: FRI-MON from Tuesday is Friday; hours 22-2 */
	time_t tue = local(2026, 6, 16, 10, 0, 0);
	CHECK_EQ_INT(next("0 0 9 ? * FRI-MON", tue),
		     local(2026, 6, 19, 9, 0, 0));
	CHECK_EQ_INT(next("0 0 9 ? * FRI-MON", local(2026, 6, 21, 10, 0, 0)),
		     local(2026, 6, 22, 9, 0, 0));
	CHECK_EQ_INT(next("0 0 22-2 * * ?", t0), local(2026, 6, 15, 22, 0, 0));
	CHECK_EQ_INT(next("0 0 22-2 * * ?", local(2026, 6, 16, 0, 30, 0)),
		     local(2026, 6, 16, 1, 0, 0));
	CHECK_EQ_INT(next("0 0 22-2 * * ?", local(2026, 6, 16, 2, 0, 0)),
		     local(2026, 6, 16, 22, 0, 0));
	/* blanks: tabs and runs of spaces */
	CHECK_EQ_INT(next("  0\t0  12 * *   ?  ", t0),
		     local(2026, 6, 15, 12, 0, 0));
	/* years: a single year, a range, a list; none left */
	CHECK_EQ_INT(next("0 0 0 1 1 ? 2030", t0), local(2030, 1, 1, 0, 0, 0));
	CHECK_EQ_INT(next("0 0 0 1 1 ? 2028-2030", t0),
		     local(2028, 1, 1, 0, 0, 0));
	CHECK_EQ_INT(next("0 0 0 1 1 ? 2199", t0), local(2199, 1, 1, 0, 0, 0));
	CHECK_EQ_INT(next("0 0 0 1 1 ? 2020,2025", t0), -1);
	/* a date that never exists */
	CHECK_EQ_INT(next("0 0 0 30 FEB ?", t0), -1);
	/* leap day */
	CHECK_EQ_INT(next("0 0 0 29 2 ?", t0), local(2028, 2, 29, 0, 0, 0));
	/* before 1970 the search starts in 1970 */
	CHECK_EQ_INT(next("0 0 0 1 1 ?", (time_t)-86400 * 400),
		     local(1970, 1, 1, 0, 0, 0));
}

/* L, W and # (Quartz's special days). */
static void test_special_days(void)
{
	use_tz("America/New_York");
	time_t t0 = local(2026, 1, 31, 12, 0, 0);
	CHECK_EQ_INT(next("0 0 12 L * ?", t0), local(2026, 2, 28, 12, 0, 0));
	CHECK_EQ_INT(next("0 0 12 L * ?", local(2028, 2, 1, 0, 0, 0)),
		     local(2028, 2, 29, 12, 0, 0));
	CHECK_EQ_INT(next("0 0 12 L-2 * ?", t0), local(2026, 2, 26, 12, 0, 0));
	CHECK_EQ_INT(next("0 0 12 l-30 * ?", t0),
		     local(2026, 3, 1, 12, 0, 0)); /* 31 - 30; not in Feb */
	/* LW: May 2026 ends on a Sunday: Friday the 29th */
	CHECK_EQ_INT(next("0 0 12 LW * ?", local(2026, 5, 1, 0, 0, 0)),
		     local(2026, 5, 29, 12, 0, 0));
	/* nW: 2026-08-15 is a Saturday: Friday the 14th; 08-01 is a
	 * Saturday too, and 1W does not leave August: Monday the 3rd */
	CHECK_EQ_INT(next("0 0 12 15W * ?", local(2026, 8, 1, 0, 0, 0)),
		     local(2026, 8, 14, 12, 0, 0));
	CHECK_EQ_INT(next("0 0 12 1W * ?", local(2026, 7, 31, 13, 0, 0)),
		     local(2026, 8, 3, 12, 0, 0));
	/* 2026-05-31 is a Sunday: 31W is Friday the 29th; a month without
	 * a 31st is skipped */
	CHECK_EQ_INT(next("0 0 12 31W * ?", local(2026, 5, 1, 0, 0, 0)),
		     local(2026, 5, 29, 12, 0, 0));
	CHECK_EQ_INT(next("0 0 12 31W * ?", local(2026, 6, 1, 0, 0, 0)),
		     local(2026, 7, 31, 12, 0, 0));
	/* 2026-06-07 is a Sunday: 7W is Monday the 8th */
	CHECK_EQ_INT(next("0 0 12 7W * ?", local(2026, 6, 1, 0, 0, 0)),
		     local(2026, 6, 8, 12, 0, 0));
	/* last Friday, third Friday, fifth Monday */
	CHECK_EQ_INT(next("0 0 12 ? * 6L", local(2026, 6, 1, 0, 0, 0)),
		     local(2026, 6, 26, 12, 0, 0));
	CHECK_EQ_INT(next("0 0 12 ? * friL", local(2026, 6, 1, 0, 0, 0)),
		     local(2026, 6, 26, 12, 0, 0));
	CHECK_EQ_INT(next("0 0 12 ? * 6#3", local(2026, 6, 1, 0, 0, 0)),
		     local(2026, 6, 19, 12, 0, 0));
	CHECK_EQ_INT(next("0 0 12 ? * FRI#1", local(2026, 6, 1, 0, 0, 0)),
		     local(2026, 6, 5, 12, 0, 0));
	/* June 2026 has four Mondays (1, 8, 15, 22, 29: five) and July 2026
	 * four (6, 13, 20, 27): the next fifth Monday after June is August
	 * 31st */
	CHECK_EQ_INT(next("0 0 12 ? * 2#5", local(2026, 6, 1, 0, 0, 0)),
		     local(2026, 6, 29, 12, 0, 0));
	CHECK_EQ_INT(next("0 0 12 ? * 2#5", local(2026, 6, 30, 0, 0, 0)),
		     local(2026, 8, 31, 12, 0, 0));
	/* L alone in day-of-week is Saturday */
	CHECK_EQ_INT(next("0 0 12 ? * L", local(2026, 6, 15, 0, 0, 0)),
		     local(2026, 6, 20, 12, 0, 0));
}

struct bad {
	const char *expr;
	int field;
	size_t offset;
	const char *says;
};

static void test_errors(void)
{
	static const struct bad bad[] = {
	    {"", QUARTZ_SECOND, 0, "field missing"},
	    {"0 0 9 * *", QUARTZ_DAY_OF_WEEK, 9, "field missing"},
	    {"0 0 9 * * ? * 1", -1, 14, "too many fields"},
	    {"0 0 9-16 * * * *", QUARTZ_DAY_OF_WEEK, 13, "must be '?'"},
	    {"0 0 9-16 * * 2-6 *", QUARTZ_DAY_OF_WEEK, 13, "must be '?'"},
	    {"0 0 9 ? * ? *", QUARTZ_DAY_OF_WEEK, 10, "in both"},
	    {"0 0 25 * * ? *", QUARTZ_HOUR, 4, "value 25 out of range 0-23"},
	    {"60 0 9 * * ?", QUARTZ_SECOND, 0, "out of range 0-59"},
	    {"0 60 9 * * ?", QUARTZ_MINUTE, 2, "out of range 0-59"},
	    {"0 0 9 0 * ?", QUARTZ_DAY_OF_MONTH, 6, "out of range 1-31"},
	    {"0 0 9 32 * ?", QUARTZ_DAY_OF_MONTH, 6, "out of range 1-31"},
	    {"0 0 0 1 13 ?", QUARTZ_MONTH, 8, "out of range 1-12"},
	    {"0 0 0 1 0 ?", QUARTZ_MONTH, 8, "out of range 1-12"},
	    {"0 0 0 ? * 0", QUARTZ_DAY_OF_WEEK, 10, "out of range 1-7"},
	    {"0 0 0 ? * 8", QUARTZ_DAY_OF_WEEK, 10, "out of range 1-7"},
	    {"0 0 9 ? * FRX *", QUARTZ_DAY_OF_WEEK, 10, "unknown name 'FRX'"},
	    {"0 0 9 1 JANUARY ?", QUARTZ_MONTH, 11, "unexpected 'U'"},
	    {"0 0 9 1 FOO ?", QUARTZ_MONTH, 8, "unknown name 'FOO'"},
	    {"0 0 MON * * ?", QUARTZ_HOUR, 4, "no names"},
	    {"0 0 9 * * ? 1969", QUARTZ_YEAR, 12, "out of range 1970-2199"},
	    {"0 0 9 * * ? 2200", QUARTZ_YEAR, 12, "out of range 1970-2199"},
	    {"0 0 9 * * ? 2030-2027", QUARTZ_YEAR, 17, "below its start"},
	    {"0 0/0 9 * * ?", QUARTZ_MINUTE, 4, "step 0 out of range 1-60"},
	    {"0 */61 9 * * ?", QUARTZ_MINUTE, 4, "step 61 out of range"},
	    {"0 */ 9 * * ?", QUARTZ_MINUTE, 4, "'/' must be followed"},
	    {"0 *5 9 * * ?", QUARTZ_MINUTE, 3, "unexpected '5'"},
	    {"? 0 9 * * ?", QUARTZ_SECOND, 0, "only allowed in day-of-month"},
	    {"0 0 9 ?,1 * ?", QUARTZ_DAY_OF_MONTH, 6, "alone"},
	    {"0 0 0 1, * ?", QUARTZ_DAY_OF_MONTH, 8, "missing after ','"},
	    {"0 0 0 ,1 * ?", QUARTZ_DAY_OF_MONTH, 6, "expected a number"},
	    {"0 0 0 1-- * ?", QUARTZ_DAY_OF_MONTH, 8, "expected a number"},
	    {"0 0 0 L,1 * ?", QUARTZ_DAY_OF_MONTH, 7, "alone"},
	    {"0 0 0 1,L * ?", QUARTZ_DAY_OF_MONTH, 8, "alone"},
	    {"0 0 0 L-31 * ?", QUARTZ_DAY_OF_MONTH, 8, "1-30"},
	    {"0 0 0 LX * ?", QUARTZ_DAY_OF_MONTH, 7, "unexpected 'X'"},
	    {"0 0 0 15W,1 * ?", QUARTZ_DAY_OF_MONTH, 9, "alone"},
	    {"0 0 0 ? * 6#6", QUARTZ_DAY_OF_WEEK, 12, "occurrence 6"},
	    {"0 0 0 ? * 6#0", QUARTZ_DAY_OF_WEEK, 12, "occurrence 0"},
	    {"0 0 0 ? * 6#", QUARTZ_DAY_OF_WEEK, 12, "number is missing"},
	    {"0 0 0 ? * 2,6L", QUARTZ_DAY_OF_WEEK, 12, "alone"},
	    {"0 0 0 ? * 6#3,2", QUARTZ_DAY_OF_WEEK, 13, "alone"},
	    {"0 0 0 ? * L,2", QUARTZ_DAY_OF_WEEK, 11, "alone"},
	    {"0 0 0 1W * ?", -2, 0, NULL}, /* valid: checks the table */
	    {"0 0 0 ? 6L ?", QUARTZ_MONTH, 9, "unexpected 'L'"},
	    {"0 0 0 1 ? ?", QUARTZ_MONTH, 8, "only allowed in day-of-month"},
	    {"0 0 9 * * ? \xc3\xa9", QUARTZ_YEAR, 12, "\\xc3"},
	    {"0 0 9 * * ?\x01", QUARTZ_DAY_OF_WEEK, 10, "alone"},
	    {"0 0 99999999999 * * ?", QUARTZ_HOUR, 4, "number too large"},
	    {"0 0 9 * * ? */0", QUARTZ_YEAR, 14, "step 0"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct quartz_cron c;
		struct quartz_cron_error err;
		int rc = quartz_cron_parse(&c, bad[i].expr, &err);
		if (bad[i].field == -2) {
			CHECK_EQ_INT(rc, 0);
			continue;
		}
		if (rc == 0) {
			fprintf(stderr, "accepted: '%s'\n", bad[i].expr);
			CHECK(rc != 0);
			continue;
		}
		if (err.field != bad[i].field || err.offset != bad[i].offset ||
		    !strstr(err.msg, bad[i].says))
			fprintf(stderr, "'%s' -> %s\n", bad[i].expr, err.msg);
		CHECK_EQ_INT(err.field, bad[i].field);
		CHECK_EQ_INT(err.offset, bad[i].offset);
		CHECK_STR_CONTAINS(err.msg, bad[i].says);
		/* the message names the field and the offset */
		char where[64];
		snprintf(where, sizeof where, "%s at offset %zu",
			 quartz_field_name(bad[i].field), bad[i].offset);
		CHECK_STR_CONTAINS(err.msg, where);
	}
	struct quartz_schedule s;
	struct quartz_cron_error err;
	CHECK(quartz_schedule_parse(&s, "0 0 9 * * ?", 59, &err) != 0);
	CHECK_STR_CONTAINS(err.msg, "duration 59 s out of range 60-3600 s");
	CHECK(quartz_schedule_parse(&s, "0 0 9 * * ?", 3601, &err) != 0);
	CHECK_STR_CONTAINS(err.msg, "3601");
	CHECK_EQ_INT(quartz_schedule_parse(&s, "0 0 9 * * ?", 60, &err), 0);
	CHECK_EQ_INT(quartz_schedule_parse(&s, "0 0 9 * * ?", 3600, &err), 0);
}

/* -------------------------------------------------------------- DST */

/* Europe/Berlin 2026: CET->CEST on March 29 at 01:00 UTC (02:00 -> 03:00
 * local), CEST->CET on October 25 at 01:00 UTC (03:00 -> 02:00). */
static void test_dst_berlin(void)
{
	use_tz("Europe/Berlin");
	/* A skipped time fires once, when the gap ends (03:00 CEST). */
	CHECK_EQ_INT(next("0 30 2 * * ?", utc(2026, 3, 28, 12, 0, 0)),
		     utc(2026, 3, 29, 1, 0, 0));
	CHECK_EQ_INT(next("0 30 2 * * ?", utc(2026, 3, 27, 12, 0, 0)),
		     utc(2026, 3, 28, 1, 30, 0)); /* 02:30 CET */
	CHECK_EQ_INT(next("0 30 2 * * ?", utc(2026, 3, 29, 1, 0, 0)),
		     utc(2026, 3, 30, 0, 30, 0)); /* 02:30 CEST */
	/* four fire times in the gap: one fire */
	CHECK_EQ_INT(next("0 0/15 2 * * ?", utc(2026, 3, 28, 12, 0, 0)),
		     utc(2026, 3, 29, 1, 0, 0));
	CHECK_EQ_INT(next("0 0/15 2 * * ?", utc(2026, 3, 29, 1, 0, 0)),
		     utc(2026, 3, 30, 0, 0, 0));
	/* hourly: 01:00 CET, then 02:00 (skipped) and 03:00 CEST are the
	 * same instant, one window; recording stays continuous */
	struct quartz_schedule hourly = sched("0 0 * * * ? *", 3600);
	struct quartz_window w[4];
	CHECK_EQ_INT(quartz_schedule_next_windows(
			 &hourly, utc(2026, 3, 28, 23, 30, 0), w, 4),
		     4);
	CHECK_EQ_INT(w[0].start, utc(2026, 3, 28, 23, 0, 0)); /* 00:00 */
	CHECK_EQ_INT(w[1].start, utc(2026, 3, 29, 0, 0, 0));  /* 01:00 */
	CHECK_EQ_INT(w[2].start, utc(2026, 3, 29, 1, 0, 0));  /* 03:00 */
	CHECK_EQ_INT(w[3].start, utc(2026, 3, 29, 2, 0, 0));  /* 04:00 */
	for (time_t t = utc(2026, 3, 28, 23, 0, 0);
	     t < utc(2026, 3, 29, 3, 0, 0); t += 60)
		CHECK(in_window(&hourly, t));
	/* A window across the change lasts its duration in real seconds:
	 * 01:30 CET + 3600 s = 03:30 CEST. */
	struct quartz_schedule s130 = sched("0 30 1 * * ?", 3600);
	struct quartz_window x;
	CHECK(quartz_schedule_in_window(&s130, utc(2026, 3, 29, 1, 10, 0), &x));
	CHECK_EQ_INT(x.start, utc(2026, 3, 29, 0, 30, 0));
	CHECK_EQ_INT(x.end, utc(2026, 3, 29, 1, 30, 0));

	/* A repeated time fires once, at its first occurrence (CEST). */
	CHECK_EQ_INT(next("0 30 2 * * ?", utc(2026, 10, 24, 12, 0, 0)),
		     utc(2026, 10, 25, 0, 30, 0));
	CHECK_EQ_INT(next("0 30 2 * * ?", utc(2026, 10, 25, 0, 30, 0)),
		     utc(2026, 10, 26, 1, 30, 0));
	/* from inside the second pass (02:10 CET) nothing more that day */
	CHECK_EQ_INT(next("0 30 2 * * ?", utc(2026, 10, 25, 1, 10, 0)),
		     utc(2026, 10, 26, 1, 30, 0));
	/* every second during the repeated hour: the first pass fires each
	 * second, the second pass none; then 03:00:00 CET */
	CHECK_EQ_INT(next("* * 2 * * ?", utc(2026, 10, 25, 0, 59, 58)),
		     utc(2026, 10, 25, 0, 59, 59));
	CHECK_EQ_INT(next("* * 2-3 * * ?", utc(2026, 10, 25, 0, 59, 59)),
		     utc(2026, 10, 25, 2, 0, 0));
	CHECK_EQ_INT(next("* * 2-3 * * ?", utc(2026, 10, 25, 1, 20, 0)),
		     utc(2026, 10, 25, 2, 0, 0));
	/* hourly: 02:00 CEST fires, 02:00 CET does not; the real hour
	 * 01:00-02:00 UTC has no window */
	CHECK_EQ_INT(quartz_schedule_next_windows(
			 &hourly, utc(2026, 10, 24, 23, 30, 0), w, 4),
		     4);
	CHECK_EQ_INT(w[0].start, utc(2026, 10, 24, 23, 0, 0)); /* 01 CEST */
	CHECK_EQ_INT(w[1].start, utc(2026, 10, 25, 0, 0, 0));  /* 02 CEST */
	CHECK_EQ_INT(w[2].start, utc(2026, 10, 25, 2, 0, 0));  /* 03 CET */
	CHECK_EQ_INT(w[3].start, utc(2026, 10, 25, 3, 0, 0));
	CHECK(in_window(&hourly, utc(2026, 10, 25, 0, 59, 59)));
	CHECK(!in_window(&hourly, utc(2026, 10, 25, 1, 0, 0)));
	CHECK(!in_window(&hourly, utc(2026, 10, 25, 1, 59, 59)));
	CHECK(in_window(&hourly, utc(2026, 10, 25, 2, 0, 0)));
	/* the FAQ's office hours keep their wall-clock times on both sides */
	struct quartz_schedule office = sched("0 0 9-16 * * ? *", 3599);
	CHECK(
	    quartz_schedule_in_window(&office, utc(2026, 3, 28, 8, 0, 0), &x));
	CHECK_EQ_INT(x.start, utc(2026, 3, 28, 8, 0, 0)); /* 09:00 CET */
	CHECK(
	    quartz_schedule_in_window(&office, utc(2026, 3, 29, 7, 0, 0), &x));
	CHECK_EQ_INT(x.start, utc(2026, 3, 29, 7, 0, 0)); /* 09:00 CEST */
	CHECK(!in_window(&office, utc(2026, 3, 29, 6, 30, 0)));
}

/* America/New_York 2026: EST->EDT March 8 at 07:00 UTC (02:00 -> 03:00),
 * EDT->EST November 1 at 06:00 UTC (02:00 -> 01:00: 01:xx repeats). */
static void test_dst_new_york(void)
{
	use_tz("America/New_York");
	CHECK_EQ_INT(next("0 30 2 * * ?", utc(2026, 3, 7, 12, 0, 0)),
		     utc(2026, 3, 8, 7, 0, 0)); /* 03:00 EDT */
	CHECK_EQ_INT(next("0 30 2 * * ?", utc(2026, 3, 8, 7, 0, 0)),
		     utc(2026, 3, 9, 6, 30, 0)); /* 02:30 EDT */
	CHECK_EQ_INT(next("0 30 1 * * ?", utc(2026, 10, 31, 12, 0, 0)),
		     utc(2026, 11, 1, 5, 30, 0)); /* 01:30 EDT */
	CHECK_EQ_INT(next("0 30 1 * * ?", utc(2026, 11, 1, 5, 30, 0)),
		     utc(2026, 11, 2, 6, 30, 0)); /* not 01:30 EST */
	CHECK_EQ_INT(next("0 30 1 * * ?", utc(2026, 11, 1, 6, 10, 0)),
		     utc(2026, 11, 2, 6, 30, 0));
	/* 02:30 does not repeat in New York: one fire, in EST */
	CHECK_EQ_INT(next("0 30 2 * * ?", utc(2026, 10, 31, 12, 0, 0)),
		     utc(2026, 11, 1, 7, 30, 0));
	/* office hours follow local time across the change */
	struct quartz_schedule s = sched("0 0 9-16 ? * MON-FRI *", 3599);
	struct quartz_window w;
	CHECK(quartz_schedule_in_window(&s, utc(2026, 3, 6, 14, 30, 0), &w));
	CHECK_EQ_INT(w.start, utc(2026, 3, 6, 14, 0, 0)); /* Fri 9:00 EST */
	CHECK(quartz_schedule_in_window(&s, utc(2026, 3, 9, 13, 30, 0), &w));
	CHECK_EQ_INT(w.start, utc(2026, 3, 9, 13, 0, 0)); /* Mon 9:00 EDT */
	/* the same expression in Berlin fires at other instants */
	use_tz("Europe/Berlin");
	CHECK(!quartz_schedule_in_window(
	    &s, utc(2026, 3, 9, 13, 30, 0) + 3 * 3600, &w));
	CHECK(quartz_schedule_in_window(&s, utc(2026, 3, 9, 8, 30, 0), &w));
	CHECK_EQ_INT(w.start, utc(2026, 3, 9, 8, 0, 0));
}

/* ------------------------------------------------------- clock jumps */

static void test_clock_jumps(void)
{
	use_tz("Europe/Berlin");
	struct quartz_schedule s = sched("0 0 9-16 * * ? *", 3599);
	struct quartz_window w[2];
	/* A Pi without RTC boots at 1970-01-01 00:00:10 UTC: nothing is
	 * open (01:00 local) and the next window is 09:00 that day. */
	time_t boot = 10;
	CHECK(!in_window(&s, boot));
	CHECK_EQ_INT(quartz_schedule_next_windows(&s, boot, w, 1), 1);
	CHECK_EQ_INT(w[0].start, local(1970, 1, 1, 9, 0, 0));
	/* NTP moves the clock forward to 10:30: the 10:00 window is open
	 * for its remainder; the hours jumped over are not made up. */
	time_t t = local(2026, 6, 15, 10, 30, 0);
	CHECK(quartz_schedule_in_window(&s, t, &w[0]));
	CHECK_EQ_INT(w[0].start, local(2026, 6, 15, 10, 0, 0));
	CHECK_EQ_INT(w[0].end, local(2026, 6, 15, 10, 59, 59));
	CHECK_EQ_INT(quartz_schedule_next_windows(&s, t, w, 2), 2);
	CHECK_EQ_INT(w[0].start, local(2026, 6, 15, 10, 0, 0));
	CHECK_EQ_INT(w[1].start, local(2026, 6, 15, 11, 0, 0));
	/* back by 20 minutes: still in the same window */
	CHECK(quartz_schedule_in_window(&s, t - 20 * 60, &w[0]));
	CHECK_EQ_INT(w[0].start, local(2026, 6, 15, 10, 0, 0));
	/* back by an hour: in the 09:00 window, which comes again */
	CHECK(quartz_schedule_in_window(&s, t - 3600, &w[0]));
	CHECK_EQ_INT(w[0].start, local(2026, 6, 15, 9, 0, 0));
	/* back by two hours: the window in progress ends at once; the next
	 * one is 09:00, then 10:00 again */
	CHECK(!in_window(&s, t - 2 * 3600));
	CHECK_EQ_INT(quartz_schedule_next_windows(&s, t - 2 * 3600, w, 2), 2);
	CHECK_EQ_INT(w[0].start, local(2026, 6, 15, 9, 0, 0));
	CHECK_EQ_INT(w[1].start, local(2026, 6, 15, 10, 0, 0));
	/* forward from 08:30 past the end of the day's windows: nothing
	 * open, next is tomorrow 09:00 */
	t = local(2026, 6, 15, 17, 30, 0);
	CHECK(!in_window(&s, t));
	CHECK_EQ_INT(quartz_schedule_next_windows(&s, t, w, 1), 1);
	CHECK_EQ_INT(w[0].start, local(2026, 6, 16, 9, 0, 0));
	/* far past the last year the expression allows: nothing */
	struct quartz_schedule y = sched("0 0 9 * * ? 2026", 60);
	CHECK(!in_window(&y, local(2027, 1, 1, 9, 0, 30)));
	CHECK_EQ_INT(
	    quartz_schedule_next_windows(&y, local(2027, 1, 1, 0, 0, 0), w, 2),
	    0);
	CHECK_EQ_INT(quartz_schedule_next_windows(
			 &y, local(2026, 12, 31, 9, 0, 30), w, 2),
		     1);
}

/* Windows closer than their duration overlap; in_window is the union. */
static void test_overlap(void)
{
	use_tz("America/New_York");
	struct quartz_schedule s = sched("0 * * * * ?", 120);
	time_t t = local(2026, 6, 15, 10, 0, 30);
	struct quartz_window w;
	CHECK(quartz_schedule_in_window(&s, t, &w));
	CHECK_EQ_INT(w.start, t - 90); /* 09:59:00, the earliest */
	CHECK_EQ_INT(w.end, t + 30);
	CHECK(quartz_schedule_in_window(&s, w.end, &w));
	CHECK_EQ_INT(w.start, t - 30);
}

int main(void)
{
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) ||
	    access("/usr/share/zoneinfo/America/New_York", R_OK)) {
		printf("skip: no tzdata (/usr/share/zoneinfo)\n");
		return 77;
	}
	test_faq_daily_9_to_5();
	test_faq_weekdays();
	test_faq_weekends();
	test_faq_weekday_nights();
	test_faq_daily_one_hour();
	test_faq_afternoon();
	test_example_request();
	test_syntax();
	test_special_days();
	test_errors();
	test_dst_berlin();
	test_dst_new_york();
	test_clock_jumps();
	test_overlap();
	return check_done();
}
