/* Quartz cron expressions and recording/upload schedules, as the KVS Edge
 * Agent's ScheduleConfig uses them (ScheduleExpression + DurationInSeconds).
 * Pure: no clock is read here, every "now" is a parameter.
 *
 * Syntax: 6 or 7 fields separated by blanks,
 *   sec min hour day-of-month month day-of-week [year]
 *   sec, min 0-59; hour 0-23; day-of-month 1-31; month 1-12 or JAN-DEC;
 *   day-of-week 1-7 = SUN-SAT (Quartz numbering: 2-6 is MON-FRI);
 *   year 1970-2199 (a missing year field means every year).
 * In each field: `*`, a value, a range `a-b`, a step `*`/n, `a/n` (a to the
 * end of the field) or `a-b/n`, and lists of these joined by `,`. Names are
 * case-insensitive. A range whose end is below its start wraps around the
 * field (`FRI-MON`, hours `22-2`), except in the year field.
 * Exactly one of day-of-month and day-of-week is `?` (Quartz: the two cannot
 * both be given, and one of them must be `?`).
 * Quartz's special days, each alone in its field:
 *   day-of-month `L` last day, `L-n` n days before the last day, `LW` last
 *   weekday (MON-FRI), `nW` weekday nearest to day n within the same month
 *   (day 1 on a Saturday gives Monday the 3rd); a month without day n has no
 *   fire time;
 *   day-of-week `L` (= 7, SAT), `xL` last weekday x of the month (`6L`,
 *   `FRIL`: last Friday), `x#k` k-th weekday x of the month, k 1-5 (`6#3`:
 *   third Friday); a month without a fifth x has no fire time.
 * Errors name the field and the byte offset in the expression.
 *
 * Evaluation is in the local time zone of the process (the TZ database through
 * localtime_r; after changing TZ call tzset()). An expression matches a set of
 * local wall-clock times; each maps to one instant:
 *   - a wall-clock time that occurs once is that instant;
 *   - a time that does not exist (skipped by a spring-forward change, e.g.
 *     02:30 on the last Sunday of March in Europe/Berlin) fires at the first
 *     instant after the gap (03:00 new time), once, however many fire times
 *     fell into the gap;
 *   - a time that occurs twice (fall-back, e.g. 02:30 on the last Sunday of
 *     October in Europe/Berlin) fires once, at its first occurrence; the
 *     repeated hour's second pass fires nothing. (A schedule with a window
 *     every hour therefore has no window for one real hour that night.)
 * The instant found is then exact: durations are elapsed seconds, so a window
 * that spans a DST change lasts DurationInSeconds of real time.
 *
 * A schedule is a cron expression and a duration (60-3600 s): each fire time
 * f opens the window [f, f + duration). The schedule keeps no state: whether
 * a window is open and which windows come next are functions of the instant
 * asked about. That defines clock jumps (NTP correcting a Pi that booted
 * without RTC, or an operator setting the clock):
 *   - jump forward into a window: the window is open, for its remainder (a
 *     late start); windows jumped over entirely are not made up;
 *   - jump backward: a window in progress stays open only if the new time is
 *     inside a window (the same one or another), otherwise it ends at once;
 *     windows between the new time and the old one come again, since by the
 *     clock they have not happened yet.
 * Callers therefore re-ask at the end of a window and whenever the clock
 * was set (e.g. timerfd with TFD_TIMER_CANCEL_ON_SET), not only after a
 * sleep computed earlier. Windows overlap when fire times are closer than
 * the duration; in_window() is then their union. */
#ifndef VPIPE_COMMON_QUARTZ_CRON_H
#define VPIPE_COMMON_QUARTZ_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define QUARTZ_YEAR_MIN	      1970
#define QUARTZ_YEAR_MAX	      2199
#define QUARTZ_DURATION_MIN_S 60
#define QUARTZ_DURATION_MAX_S 3600

enum quartz_field {
	QUARTZ_SECOND,
	QUARTZ_MINUTE,
	QUARTZ_HOUR,
	QUARTZ_DAY_OF_MONTH,
	QUARTZ_MONTH,
	QUARTZ_DAY_OF_WEEK,
	QUARTZ_YEAR,
	QUARTZ_FIELDS
};

/* A set of field values: bit (value - field minimum). */
struct quartz_set {
	uint64_t bits[4];
};

struct quartz_cron {
	struct quartz_set set[QUARTZ_FIELDS];
	bool dom_any, dow_any;	  /* '?' */
	int dom_last;		  /* L-n: n (0 for L); -1 if not used */
	bool dom_last_weekday;	  /* LW */
	int dom_nearest_weekday;  /* nW: n; 0 if not used */
	int dow_last;		  /* xL: x (1-7); 0 if not used */
	int dow_nth_day, dow_nth; /* x#k: x and k; 0 if not used */
};

struct quartz_cron_error {
	int field; /* enum quartz_field, or -1 (the expression as a whole) */
	size_t offset; /* byte offset in the expression */
	char msg[192]; /* "day-of-week at offset 12: unknown name 'FRX'" */
};

/* Name of a field as used in error messages ("day-of-month"). */
const char *quartz_field_name(int field);

/* Parse a NUL-terminated expression: 0, or -1 with *err filled. */
int quartz_cron_parse(struct quartz_cron *c, const char *expr,
		      struct quartz_cron_error *err);

/* The first fire time strictly after `after`. false if there is none up to
 * the end of QUARTZ_YEAR_MAX (e.g. `0 0 0 30 FEB ?`). */
bool quartz_cron_next(const struct quartz_cron *c, time_t after, time_t *fire);

struct quartz_schedule {
	struct quartz_cron cron;
	int duration_s;
};

struct quartz_window {
	time_t start, end; /* [start, end) */
};

/* Parse a schedule: the expression and a duration of 60-3600 s. */
int quartz_schedule_parse(struct quartz_schedule *s, const char *expr,
			  long duration_s, struct quartz_cron_error *err);

/* Whether t lies in a window; if so and w is not NULL, *w is the earliest
 * window containing t (when windows overlap, ask again at w->end). */
bool quartz_schedule_in_window(const struct quartz_schedule *s, time_t t,
			       struct quartz_window *w);

/* Up to n windows that have not ended at t, in order of start; the first
 * may be in progress (start <= t). Returns how many were found. */
size_t quartz_schedule_next_windows(const struct quartz_schedule *s, time_t t,
				    struct quartz_window *out, size_t n);
#endif
