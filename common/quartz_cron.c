/* Quartz cron parsing and evaluation, see quartz_cron.h for the rules. */
#include "quartz_cron.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ fields */

struct field_spec {
	const char *name;
	int min, max;
	const char *const *names; /* value = min + index, or NULL */
	int n_names;
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR",
					  "MAY", "JUN", "JUL", "AUG",
					  "SEP", "OCT", "NOV", "DEC"};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED",
					"THU", "FRI", "SAT"};

static const struct field_spec fields[QUARTZ_FIELDS] = {
    {"second", 0, 59, NULL, 0},
    {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},
    {"month", 1, 12, month_names, 12},
    {"day-of-week", 1, 7, dow_names, 7},
    {"year", QUARTZ_YEAR_MIN, QUARTZ_YEAR_MAX, NULL, 0},
};

const char *quartz_field_name(int field)
{
	if (field < 0 || field >= QUARTZ_FIELDS)
		return "expression";
	return fields[field].name;
}

static void set_add(struct quartz_set *s, int index)
{
	s->bits[index / 64] |= (uint64_t)1 << (index % 64);
}

static bool set_has(const struct quartz_set *s, int index)
{
	return index >= 0 && index < 256 &&
	       (s->bits[index / 64] >> (index % 64)) & 1;
}

/* Smallest member >= from, or -1. */
static int set_next(const struct quartz_set *s, int from)
{
	for (int i = from < 0 ? 0 : from; i < 256; i++) {
		uint64_t w = s->bits[i / 64] >> (i % 64);
		if (!w) {
			i = (i / 64) * 64 + 63; /* rest of this word is empty */
			continue;
		}
		return i + __builtin_ctzll(w);
	}
	return -1;
}

/* ------------------------------------------------------------ parsing */

struct parser {
	const char *expr;
	struct quartz_cron_error *err;
	int field;
	size_t pos, end; /* the field's text is expr[pos..end) */
	size_t start;	 /* where the field begins */
};

static int fail(struct parser *p, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, size_t offset, const char *fmt, ...)
{
	struct quartz_cron_error *e = p->err;
	if (!e)
		return -1;
	e->field = p->field;
	e->offset = offset;
	int n =
	    snprintf(e->msg, sizeof e->msg,
		     "%s at offset %zu: ", quartz_field_name(p->field), offset);
	if (n < 0 || (size_t)n >= sizeof e->msg)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg + n, sizeof e->msg - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static char up(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_letter(char c)
{
	c = up(c);
	return c >= 'A' && c <= 'Z';
}

static char peek(const struct parser *p)
{
	return p->pos < p->end ? up(p->expr[p->pos]) : '\0';
}

/* Describe the character at offset i for an error message. */
static const char *char_desc(const struct parser *p, size_t i, char buf[8])
{
	unsigned char c = (unsigned char)p->expr[i];
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "\\x%02x", c);
	return buf;
}

static int parse_number(struct parser *p, int *out)
{
	size_t at = p->pos;
	long v = 0;
	if (!is_digit(peek(p))) {
		char b[8];
		if (p->pos >= p->end)
			return fail(p, at, "a number is missing");
		return fail(p, at, "expected a number, found %s",
			    char_desc(p, at, b));
	}
	while (is_digit(peek(p))) {
		v = v * 10 + (p->expr[p->pos++] - '0');
		if (v > 99999)
			return fail(p, at, "number too large");
	}
	*out = (int)v;
	return 0;
}

/* A value: a number or (month, day-of-week) a three-letter name. */
static int parse_value(struct parser *p, int *out)
{
	const struct field_spec *f = &fields[p->field];
	size_t at = p->pos;
	if (is_letter(peek(p))) {
		for (int i = 0; f->names && i < f->n_names; i++) {
			if (p->end - p->pos >= 3 &&
			    up(p->expr[p->pos]) == f->names[i][0] &&
			    up(p->expr[p->pos + 1]) == f->names[i][1] &&
			    up(p->expr[p->pos + 2]) == f->names[i][2]) {
				p->pos += 3;
				*out = f->min + i;
				return 0;
			}
		}
		size_t n = 0;
		while (at + n < p->end && is_letter(p->expr[at + n]) && n < 12)
			n++;
		if (!f->names)
			return fail(p, at,
				    "unexpected '%.*s' (no names in "
				    "this field)",
				    (int)n, p->expr + at);
		return fail(p, at, "unknown name '%.*s'", (int)n, p->expr + at);
	}
	if (parse_number(p, out))
		return -1;
	if (*out < f->min || *out > f->max)
		return fail(p, at, "value %d out of range %d-%d", *out, f->min,
			    f->max);
	return 0;
}

/* Adds a..b (wrapping past the maximum when b < a) every step. */
static void add_range(struct quartz_set *s, const struct field_spec *f, int a,
		      int b, int step)
{
	int span = f->max - f->min + 1;
	int len = (b - a + span) % span;
	for (int k = 0; k <= len; k += step)
		set_add(s, (a - f->min + k) % span);
}

/* The field's special forms (L, W, #), which must stand alone. */
static int special_alone(struct parser *p, size_t item_start, char what)
{
	if (item_start != p->start || p->pos != p->end) {
		char b[8];
		if (p->pos != p->end)
			return fail(p, p->pos,
				    "unexpected %s after the '%c' form (it "
				    "must be alone in the field)",
				    char_desc(p, p->pos, b), what);
		return fail(p, item_start,
			    "the '%c' form must be alone in the field", what);
	}
	return 0;
}

static int parse_dom_special(struct parser *p, struct quartz_cron *c,
			     size_t item_start)
{
	/* at 'L' */
	p->pos++;
	if (peek(p) == 'W') {
		p->pos++;
		c->dom_last_weekday = true;
	} else if (peek(p) == '-') {
		p->pos++;
		size_t at = p->pos;
		int n;
		if (parse_number(p, &n))
			return -1;
		if (n < 1 || n > 30)
			return fail(p, at,
				    "offset from the last day %d out of "
				    "range 1-30",
				    n);
		c->dom_last = n;
	} else {
		c->dom_last = 0;
	}
	return special_alone(p, item_start, 'L');
}

static int parse_step(struct parser *p, int *step)
{
	const struct field_spec *f = &fields[p->field];
	p->pos++; /* '/' */
	size_t at = p->pos;
	if (!is_digit(peek(p)))
		return fail(p, at, "'/' must be followed by a number");
	if (parse_number(p, step))
		return -1;
	if (*step < 1 || *step > f->max - f->min + 1)
		return fail(p, at, "step %d out of range 1-%d", *step,
			    f->max - f->min + 1);
	return 0;
}

/* One list item: '*', a value, a range, with an optional step; or one of
 * the special forms of day-of-month and day-of-week. */
static int parse_item(struct parser *p, struct quartz_cron *c)
{
	const struct field_spec *f = &fields[p->field];
	struct quartz_set *s = &c->set[p->field];
	size_t item_start = p->pos;
	int a, b, step = 1;
	bool dom = p->field == QUARTZ_DAY_OF_MONTH;
	bool dow = p->field == QUARTZ_DAY_OF_WEEK;

	if (peek(p) == '?')
		return fail(p, p->pos,
			    dom || dow ? "'?' must be alone in "
					 "the field"
				       : "'?' is only allowed in "
					 "day-of-month or "
					 "day-of-week");
	if (dom && peek(p) == 'L')
		return parse_dom_special(p, c, item_start);
	if (dow && peek(p) == 'L' &&
	    (p->pos + 1 == p->end || p->expr[p->pos + 1] == ',')) {
		p->pos++;
		set_add(s, 7 - f->min); /* L alone: Saturday */
		return special_alone(p, item_start, 'L');
	}
	if (peek(p) == '*') {
		p->pos++;
		a = f->min;
		b = f->max;
		if (peek(p) == '/' && parse_step(p, &step))
			return -1;
		add_range(s, f, a, b, step);
		return 0;
	}
	if (parse_value(p, &a))
		return -1;
	b = a;
	if (dom && peek(p) == 'W') {
		p->pos++;
		c->dom_nearest_weekday = a;
		return special_alone(p, item_start, 'W');
	}
	if (dow && peek(p) == 'L') {
		p->pos++;
		c->dow_last = a;
		return special_alone(p, item_start, 'L');
	}
	if (dow && peek(p) == '#') {
		p->pos++;
		size_t at = p->pos;
		int k;
		if (parse_number(p, &k))
			return -1;
		if (k < 1 || k > 5)
			return fail(p, at, "'#' occurrence %d out of range 1-5",
				    k);
		c->dow_nth_day = a;
		c->dow_nth = k;
		return special_alone(p, item_start, '#');
	}
	bool range = peek(p) == '-';
	if (range) {
		p->pos++;
		size_t at = p->pos;
		if (parse_value(p, &b))
			return -1;
		if (b < a && p->field == QUARTZ_YEAR)
			return fail(p, at, "range end %d below its start %d", b,
				    a);
	}
	if (peek(p) == '/') {
		if (!range)
			b = f->max; /* a/n: from a to the end of the field */
		if (parse_step(p, &step))
			return -1;
	}
	add_range(s, f, a, b, step);
	return 0;
}

static int parse_field(struct parser *p, struct quartz_cron *c)
{
	if (p->end - p->pos == 1 && p->expr[p->pos] == '?') {
		if (p->field == QUARTZ_DAY_OF_MONTH)
			c->dom_any = true;
		else if (p->field == QUARTZ_DAY_OF_WEEK)
			c->dow_any = true;
		else
			return fail(p, p->pos,
				    "'?' is only allowed in "
				    "day-of-month or day-of-week");
		return 0;
	}
	for (;;) {
		if (parse_item(p, c))
			return -1;
		if (p->pos == p->end)
			return 0;
		char b[8];
		if (p->expr[p->pos] != ',')
			return fail(p, p->pos, "unexpected %s",
				    char_desc(p, p->pos, b));
		p->pos++;
		if (p->pos == p->end)
			return fail(p, p->pos, "a value is missing after ','");
	}
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int quartz_cron_parse(struct quartz_cron *c, const char *expr,
		      struct quartz_cron_error *err)
{
	struct parser p = {.expr = expr, .err = err, .field = -1};
	size_t starts[QUARTZ_FIELDS], ends[QUARTZ_FIELDS];
	int n = 0;
	size_t i = 0, len = strlen(expr);

	memset(c, 0, sizeof *c);
	c->dom_last = -1;
	if (err)
		memset(err, 0, sizeof *err);
	for (;;) {
		while (i < len && is_blank(expr[i]))
			i++;
		if (i == len)
			break;
		if (n == QUARTZ_FIELDS)
			return fail(&p, i,
				    "too many fields (at most 7: sec "
				    "min hour day-of-month month "
				    "day-of-week year)");
		starts[n] = i;
		while (i < len && !is_blank(expr[i]))
			i++;
		ends[n++] = i;
	}
	if (n < QUARTZ_FIELDS - 1) {
		p.field = n;
		return fail(&p, len,
			    "field missing (6 or 7 fields: sec min "
			    "hour day-of-month month day-of-week "
			    "[year])");
	}
	for (int f = 0; f < n; f++) {
		p.field = f;
		p.pos = p.start = starts[f];
		p.end = ends[f];
		if (parse_field(&p, c))
			return -1;
	}
	if (n == QUARTZ_YEAR)
		add_range(&c->set[QUARTZ_YEAR], &fields[QUARTZ_YEAR],
			  QUARTZ_YEAR_MIN, QUARTZ_YEAR_MAX, 1);
	p.field = QUARTZ_DAY_OF_WEEK;
	if (c->dom_any == c->dow_any)
		return fail(&p, starts[QUARTZ_DAY_OF_WEEK],
			    c->dom_any ? "'?' in both day-of-month and "
					 "day-of-week; give one of them"
				       : "one of day-of-month and day-of-week "
					 "must be '?' (Quartz cannot combine "
					 "them)");
	return 0;
}

/* ------------------------------------------------------------ calendar */

struct civil {
	int y, mo, d, h, mi, s;
};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30,
				  31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : dim[m - 1];
}

/* Quartz day of week: 1 = Sunday ... 7 = Saturday. */
static int weekday(int y, int m, int d)
{
	int64_t days = days_from_civil(y, m, d);
	int64_t wd = (days + 4) % 7; /* 1970-01-01 was a Thursday */
	if (wd < 0)
		wd += 7;
	return (int)wd + 1;
}

/* The weekday (MON-FRI) nearest to day n of the month, not leaving it. */
static int nearest_weekday(int y, int m, int n)
{
	int dim = days_in_month(y, m);
	int wd = weekday(y, m, n);
	if (wd == 7) /* Saturday */
		return n > 1 ? n - 1 : n + 2;
	if (wd == 1) /* Sunday */
		return n < dim ? n + 1 : n - 2;
	return n;
}

static bool day_matches(const struct quartz_cron *c, int y, int m, int d)
{
	int dim = days_in_month(y, m);
	int wd = weekday(y, m, d);
	if (c->dow_any) {
		if (c->dom_last >= 0)
			return d == dim - c->dom_last;
		if (c->dom_last_weekday)
			return d == nearest_weekday(y, m, dim);
		if (c->dom_nearest_weekday)
			return c->dom_nearest_weekday <= dim &&
			       d == nearest_weekday(y, m,
						    c->dom_nearest_weekday);
		return set_has(&c->set[QUARTZ_DAY_OF_MONTH], d - 1);
	}
	if (c->dow_last)
		return wd == c->dow_last && d + 7 > dim;
	if (c->dow_nth)
		return wd == c->dow_nth_day && (d - 1) / 7 + 1 == c->dow_nth;
	return set_has(&c->set[QUARTZ_DAY_OF_WEEK], wd - 1);
}

/* Carries overflowing fields upwards (each at most one unit over). */
static void normalize(struct civil *t)
{
	if (t->s > 59)
		t->s = 0, t->mi++;
	if (t->mi > 59)
		t->mi = 0, t->h++;
	if (t->h > 23)
		t->h = 0, t->d++;
	if (t->d > days_in_month(t->y, t->mo))
		t->d = 1, t->mo++;
	if (t->mo > 12)
		t->mo = 1, t->y++;
}

/* The smallest matching wall-clock time >= *t, in place. */
static bool next_match(const struct quartz_cron *c, struct civil *t)
{
	const struct quartz_set *set = c->set;
	for (;;) {
		normalize(t);
		if (t->y < QUARTZ_YEAR_MIN)
			*t = (struct civil){QUARTZ_YEAR_MIN, 1, 1, 0, 0, 0};
		int y = set_next(&set[QUARTZ_YEAR], t->y - QUARTZ_YEAR_MIN);
		if (y < 0 || t->y > QUARTZ_YEAR_MAX)
			return false;
		if (y + QUARTZ_YEAR_MIN != t->y)
			*t = (struct civil){y + QUARTZ_YEAR_MIN, 1, 1, 0, 0, 0};
		int mo = set_next(&set[QUARTZ_MONTH], t->mo - 1);
		if (mo < 0) {
			*t = (struct civil){t->y + 1, 1, 1, 0, 0, 0};
			continue;
		}
		if (mo + 1 != t->mo)
			*t = (struct civil){t->y, mo + 1, 1, 0, 0, 0};
		if (!day_matches(c, t->y, t->mo, t->d)) {
			*t = (struct civil){t->y, t->mo, t->d + 1, 0, 0, 0};
			continue;
		}
		int h = set_next(&set[QUARTZ_HOUR], t->h);
		if (h < 0) {
			*t = (struct civil){t->y, t->mo, t->d + 1, 0, 0, 0};
			continue;
		}
		if (h != t->h)
			t->h = h, t->mi = 0, t->s = 0;
		int mi = set_next(&set[QUARTZ_MINUTE], t->mi);
		if (mi < 0) {
			t->h++, t->mi = 0, t->s = 0;
			continue;
		}
		if (mi != t->mi)
			t->mi = mi, t->s = 0;
		int s = set_next(&set[QUARTZ_SECOND], t->s);
		if (s < 0) {
			t->mi++, t->s = 0;
			continue;
		}
		t->s = s;
		return true;
	}
}

/* ------------------------------------------------------- time zone */

static long gmtoff_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm))
		return 0;
	return tm.tm_gmtoff;
}

/* The offset change in (lo, hi], given different offsets at both ends. */
static int64_t find_change(int64_t lo, int64_t hi)
{
	long off_lo = gmtoff_at(lo);
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (gmtoff_at(mid) == off_lo)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/* The instant of a local wall-clock time: the first occurrence of a
 * repeated time, the end of the gap for a skipped one. Assumes at most one
 * offset change within 16 hours either side, as every zone has had since
 * 1970. */
static int64_t instant(const struct civil *c)
{
	int64_t u = days_from_civil(c->y, c->mo, c->d) * 86400 + c->h * 3600 +
		    c->mi * 60 + c->s;
	const int64_t span = 16 * 3600; /* more than any UTC offset */
	long before = gmtoff_at(u - span), after = gmtoff_at(u + span);
	int64_t t1 = u - before, t2 = u - after;
	bool v1 = gmtoff_at(t1) == before, v2 = gmtoff_at(t2) == after;
	if (v1 && v2)
		return t1 < t2 ? t1 : t2;
	if (v1)
		return t1;
	if (v2)
		return t2;
	if (before == after)
		return t1;
	/* Skipped: the offset changes between t2 and t1; find when. */
	return find_change(t2 < t1 ? t2 : t1, t2 < t1 ? t1 : t2);
}

/* ------------------------------------------------------- evaluation */

/* Where to start looking for wall-clock times after `after`: the second
 * after its own wall-clock time; but when `after` lies in the second pass
 * of a repeated span, the rest of the span had its (first) instants
 * already, so from the span's end. */
static bool search_start(time_t after, struct civil *t)
{
	struct tm tm;
	if (!localtime_r(&after, &tm))
		return false;
	*t = (struct civil){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			    tm.tm_hour,	       tm.tm_min,     tm.tm_sec + 1};
	struct civil own = *t;
	own.s--;
	int64_t first = instant(&own);
	if (first >= (int64_t)after)
		return true;
	long old_off = gmtoff_at(first);
	time_t end = (time_t)(find_change(first, after) + old_off);
	if (!gmtime_r(&end, &tm))
		return false;
	*t = (struct civil){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			    tm.tm_hour,	       tm.tm_min,     tm.tm_sec};
	return true;
}

bool quartz_cron_next(const struct quartz_cron *c, time_t after, time_t *fire)
{
	struct civil t;
	if (!search_start(after, &t))
		return false;
	/* Wall-clock times from the start map to instants after `after`;
	 * the loop is a guard should a zone change offsets twice within
	 * hours (then a match can still map to an earlier instant). */
	for (int guard = 0; guard < 200000; guard++) {
		if (!next_match(c, &t))
			return false;
		int64_t i = instant(&t);
		if (i > (int64_t)after) {
			*fire = (time_t)i;
			return true;
		}
		t.s++;
	}
	return false;
}

int quartz_schedule_parse(struct quartz_schedule *s, const char *expr,
			  long duration_s, struct quartz_cron_error *err)
{
	if (quartz_cron_parse(&s->cron, expr, err))
		return -1;
	if (duration_s < QUARTZ_DURATION_MIN_S ||
	    duration_s > QUARTZ_DURATION_MAX_S) {
		if (err) {
			err->field = -1;
			err->offset = 0;
			snprintf(err->msg, sizeof err->msg,
				 "duration %ld s out of range %d-%d s",
				 duration_s, QUARTZ_DURATION_MIN_S,
				 QUARTZ_DURATION_MAX_S);
		}
		return -1;
	}
	s->duration_s = (int)duration_s;
	return 0;
}

bool quartz_schedule_in_window(const struct quartz_schedule *s, time_t t,
			       struct quartz_window *w)
{
	/* [f, f + d) contains t exactly when t - d < f <= t. */
	time_t f;
	if (!quartz_cron_next(&s->cron, t - s->duration_s, &f) || f > t)
		return false;
	if (w) {
		w->start = f;
		w->end = f + s->duration_s;
	}
	return true;
}

size_t quartz_schedule_next_windows(const struct quartz_schedule *s, time_t t,
				    struct quartz_window *out, size_t n)
{
	size_t k = 0;
	time_t f = t - s->duration_s; /* windows ending after t start after */
	while (k < n && quartz_cron_next(&s->cron, f, &f)) {
		out[k].start = f;
		out[k].end = f + s->duration_s;
		k++;
	}
	return k;
}
