// SPDX-License-Identifier: GPL-2.0
/*
 * Strict parsers of safelockctl's arguments and the formatting that mirrors
 * them: numbers, user ids, roles, durations, dates and the weekly time-lock
 * schedule. Pure functions (tests/test_ctl_parse.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "libsafelock.h"
#include "safelockctl.h"

long parse_num(const char *s, long min, long max)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	return v;
}

unsigned int parse_user(const char *s)
{
	long v = parse_num(s, 1, SAFELOCK_USER_ID_MAX);

	return v < 0 ? 0 : (unsigned int)v;
}

static const char *const role_names[] = {
	[SAFELOCK_ROLE_NONE]	= "none",
	[SAFELOCK_ROLE_OWNER]	= "owner",
	[SAFELOCK_ROLE_MANAGER]	= "manager",
	[SAFELOCK_ROLE_USER]	= "user",
	[SAFELOCK_ROLE_AUDITOR]	= "auditor",
	[SAFELOCK_ROLE_COURIER]	= "courier",
};
_Static_assert(sizeof(role_names) / sizeof(role_names[0]) == SAFELOCK_ROLE_MAX,
	       "role names");

uint32_t parse_role(const char *s)
{
	uint32_t r;

	for (r = SAFELOCK_ROLE_OWNER; r < SAFELOCK_ROLE_MAX; r++)
		if (!strcmp(s, role_names[r]))
			return r;
	return 0;
}

const char *role_name(uint32_t role)
{
	return role < SAFELOCK_ROLE_MAX ? role_names[role] : "unknown";
}

int parse_onoff(const char *s)
{
	if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "1"))
		return 1;
	if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "0"))
		return 0;
	return -1;
}

#define MAX_DURATION_MS (3650LL * 86400 * 1000)

long long parse_duration_ms(const char *s)
{
	static const struct { const char *unit; long long ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "min", 60000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	long long total = 0;
	size_t i, n;

	if (!s || !*s)
		return -1;
	if (strspn(s, "0123456789") == strlen(s)) {	/* bare: seconds */
		long v = parse_num(s, 0, MAX_DURATION_MS / 1000);

		return v < 0 ? -1 : v * 1000LL;
	}
	while (*s) {
		long long v = 0;
		const char *p = s;
		bool found = false;

		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (*p++ - '0');
			if (v > MAX_DURATION_MS)
				return -1;
		}
		if (p == s || !*p)
			return -1;	/* no number, or one without its unit */
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			n = strlen(units[i].unit);
			if (!strncmp(p, units[i].unit, n) &&
			    (p[n] == '\0' || (p[n] >= '0' && p[n] <= '9'))) {
				total += v * units[i].ms;
				if (total > MAX_DURATION_MS)
					return -1;
				s = p + n;
				found = true;
				break;
			}
		}
		if (!found)
			return -1;
	}
	return total;
}

void format_duration_ms(unsigned long long ms, char *buf, size_t len)
{
	unsigned long long s, d, h, m;
	size_t n = 0;

	buf[0] = '\0';
	if (ms % 1000 && ms < 1000) {
		snprintf(buf, len, "%llu ms", ms);
		return;
	}
	s = (ms + 999) / 1000;	/* time left: round up */
	if (!s) {
		snprintf(buf, len, "0 s");
		return;
	}
	d = s / 86400;
	h = s / 3600 % 24;
	m = s / 60 % 60;
	s %= 60;
#define PART(v, u) do { if ((v) && n < len) \
	n += (size_t)snprintf(buf + n, len - n, "%s%llu %s", n ? " " : "", (v), (u)); } while (0)
	PART(d, "d");
	PART(h, "h");
	PART(m, "min");
	PART(s, "s");
#undef PART
}

void format_duration_arg(long long ms, char *buf, size_t len)
{
	static const struct { const char *unit; long long ms; } units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "min", 60000 },
		{ "s", 1000 }, { "ms", 1 },
	};
	size_t i, n = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (ms <= 0) {
		snprintf(buf, len, "0");
		return;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]) && n < len; i++) {
		if (ms < units[i].ms)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%lld%s", ms / units[i].ms,
				      units[i].unit);
		ms %= units[i].ms;
	}
}

void format_duration_range(long long min_ms, long long max_ms, char *buf,
			   size_t len)
{
	char lo[32], hi[32];

	format_duration_arg(min_ms, lo, sizeof(lo));
	format_duration_arg(max_ms, hi, sizeof(hi));
	snprintf(buf, len, "%s to %s", lo, hi);
}

int parse_duration_range(const char *s, long long min_ms, long long max_ms,
			 long long unit_ms, long long *ms, char *err, size_t errlen)
{
	long long v = parse_duration_ms(s);
	char range[72], unit[32];

	format_duration_range(min_ms, max_ms, range, sizeof(range));
	if (v < 0) {
		snprintf(err, errlen, "needs a duration from %s (90s, 15min, 1h30min), not '%s'",
			 range, s);
		return -1;
	}
	if (v < min_ms || v > max_ms) {
		snprintf(err, errlen, "'%s' is too %s: it is from %s", s,
			 v < min_ms ? "short" : "long", range);
		return -1;
	}
	if (unit_ms > 1 && v % unit_ms) {
		format_duration_arg(unit_ms, unit, sizeof(unit));
		snprintf(err, errlen, "'%s' is not a whole number of %s: it is from %s",
			 s, unit_ms == 1000 ? "seconds" : unit, range);
		return -1;
	}
	*ms = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long days_from_civil(long y, unsigned int m, unsigned int d)
{
	long era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static void civil_from_days(long z, long *y, unsigned int *m, unsigned int *d)
{
	long era;
	unsigned int doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (long)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static const unsigned char month_days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

static bool leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "YYYY-MM-DD" at the start of @s: days, or -1 */
static long date_prefix(const char *s)
{
	int y, m, d;

	if (strlen(s) < 10 || s[4] != '-' || s[7] != '-')
		return -1;
	y = digits(s, 4);
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 1970 || y > 2105 || m < 1 || m > 12 || d < 1 ||
	    d > month_days[m - 1] || (m == 2 && d == 29 && !leap(y)))
		return -1;
	return days_from_civil(y, (unsigned int)m, (unsigned int)d);
}

long parse_date(const char *s)
{
	long days;

	if (!s || strlen(s) != 10)
		return -1;
	days = date_prefix(s);
	return days > 0 ? days : -1;	/* day 0 marks an unused slot */
}

void format_date(long days, char *buf, size_t len)
{
	unsigned int m, d;
	long y;

	civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04ld-%02u-%02u", y, m, d);
}

long long parse_since(const char *s, long long now)
{
	long long ms;
	struct tm tm;
	long days;
	int hh = 0, mm = 0, ss = 0;
	size_t n;
	time_t t;

	if (!s)
		return -1;
	ms = parse_duration_ms(s);
	if (ms >= 0)
		return now - ms / 1000;
	days = date_prefix(s);
	if (days < 0)
		return -1;
	n = strlen(s);
	if (n != 10) {
		if ((s[10] != ' ' && s[10] != 'T') || (n != 16 && n != 19) ||
		    s[13] != ':' || (n == 19 && s[16] != ':'))
			return -1;
		hh = digits(s + 11, 2);
		mm = digits(s + 14, 2);
		ss = n == 19 ? digits(s + 17, 2) : 0;
		if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
			return -1;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	return t == (time_t)-1 ? -1 : (long long)t;
}

/* The weekly schedule ------------------------------------------------- */

static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
static const char *const day_long[] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"
};

static int parse_day(const char *s, size_t n)
{
	int i;

	for (i = 0; i < 7; i++)
		if ((n == 3 && !strncasecmp(s, day_names[i], 3)) ||
		    (n == strlen(day_long[i]) && !strncasecmp(s, day_long[i], n)))
			return i;
	return -1;
}

/* "mon-fri", "sat,sun", "fri-mon", "daily": a 7-bit mask, or -1 */
static int parse_days(const char *s, size_t len)
{
	int mask = 0, a, b;
	size_t i = 0, j, dash;

	if ((len == 5 && !strncmp(s, "daily", 5)) || (len == 3 && !strncmp(s, "all", 3)))
		return 0x7f;
	while (i < len) {
		j = i;
		while (j < len && s[j] != ',')
			j++;
		for (dash = i; dash < j && s[dash] != '-'; dash++)
			;
		a = parse_day(s + i, dash - i);
		b = dash < j ? parse_day(s + dash + 1, j - dash - 1) : a;
		if (a < 0 || b < 0)
			return -1;
		for (;;) {
			mask |= 1 << a;
			if (a == b)
				break;
			a = (a + 1) % 7;
		}
		i = j + 1;
		if (j + 1 == len)
			return -1;	/* trailing comma */
	}
	return mask ? mask : -1;
}

/* "HH:MM": quarter hours 0..96, or -1 */
static int parse_quarter(const char *s, size_t n)
{
	int h, m;

	if (n != 5 || s[2] != ':')
		return -1;
	h = digits(s, 2);
	m = digits(s + 3, 2);
	if (h < 0 || m < 0 || h > 24 || m > 59 || (h == 24 && m))
		return -1;
	if (m % 15)
		return -2;
	return h * 4 + m / 15;
}

static void week_bit(uint8_t *week, int day, int q, bool set)
{
	int bit = day * 96 + q;

	if (set)
		week[bit / 8] |= (uint8_t)(1u << (bit % 8));
	else
		week[bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

static bool week_test(const uint8_t *week, int day, int q)
{
	int bit = day * 96 + q;

	return week[bit / 8] & (1u << (bit % 8));
}

int schedule_apply(uint8_t week[7 * 96 / 8], const char *spec, bool set,
		   char *err, size_t errlen)
{
	const char *sp = strchr(spec, ' ');
	const char *t, *dash, *comma;
	uint8_t tmp[7 * 96 / 8];
	int days, day, a, b, q, n;

	if (!sp) {
		snprintf(err, errlen, "'%s' is not DAYS TIMES (e.g. \"mon-fri 18:00-08:00\")", spec);
		return -1;
	}
	days = parse_days(spec, (size_t)(sp - spec));
	if (days < 0) {
		snprintf(err, errlen, "'%.*s' is not a day, a range (mon-fri) or a list (sat,sun)",
			 (int)(sp - spec), spec);
		return -1;
	}
	while (*sp == ' ')
		sp++;
	memcpy(tmp, week, sizeof(tmp));
	for (t = sp; *t; t = *comma ? comma + 1 : comma) {
		comma = strchr(t, ',');
		if (!comma)
			comma = t + strlen(t);
		if (comma - t == 3 && !strncmp(t, "all", 3)) {
			a = 0;
			b = 96;
		} else {
			dash = memchr(t, '-', (size_t)(comma - t));
			a = dash ? parse_quarter(t, (size_t)(dash - t)) : -1;
			b = dash ? parse_quarter(dash + 1, (size_t)(comma - dash - 1)) : -1;
			if (a == -2 || b == -2) {
				snprintf(err, errlen, "'%.*s': times must be on the quarter hour",
					 (int)(comma - t), t);
				return -1;
			}
			if (a < 0 || b < 0 || a == 96 || a == b) {
				snprintf(err, errlen, "'%.*s' is not HH:MM-HH:MM (two different times) or 'all'",
					 (int)(comma - t), t);
				return -1;
			}
		}
		for (day = 0; day < 7; day++) {
			if (!(days & (1 << day)))
				continue;
			/* an end before the start runs on into the next day */
			n = b > a ? b - a : 96 - a + b;
			for (q = 0; q < n; q++)
				week_bit(tmp, (day + (a + q) / 96) % 7, (a + q) % 96, set);
		}
		if (!*comma)
			break;
	}
	memcpy(week, tmp, sizeof(tmp));
	return 0;
}

int schedule_describe(const uint8_t week[7 * 96 / 8], int day, char *buf,
		      size_t len)
{
	size_t n = 0;
	int q = 0, start;

	buf[0] = '\0';
	while (q < 96) {
		if (!week_test(week, day, q)) {
			q++;
			continue;
		}
		start = q;
		while (q < 96 && week_test(week, day, q))
			q++;
		if (start == 0 && q == 96) {
			snprintf(buf, len, "all");
			return 1;
		}
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%02d:%02d-%02d:%02d",
					      n ? "," : "", start / 4, start % 4 * 15,
					      q / 4, q % 4 * 15);
	}
	return n > 0;
}

const char *schedule_day_name(int day)
{
	return day >= 0 && day < 7 ? day_names[day] : "?";
}

int parse_shares(const char *s, unsigned int *m, unsigned int *n)
{
	const char *slash = strchr(s, '/');
	char head[8];
	long a, b;

	if (!slash || (size_t)(slash - s) >= sizeof(head))
		return -1;
	memcpy(head, s, (size_t)(slash - s));
	head[slash - s] = '\0';
	a = parse_num(head, 1, SHARE_MAX_N);
	b = parse_num(slash + 1, 1, SHARE_MAX_N);
	if (a < 0 || b < 0 || a > b || (a == 1 && b != 1))
		return -1;
	*m = (unsigned int)a;
	*n = (unsigned int)b;
	return 0;
}
