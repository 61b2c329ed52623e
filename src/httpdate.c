/*
 * Dates as text: HTTP dates (RFC 9110 5.6.7), IMF-fixdate out and the
 * three forms in, and RFC 3339 timestamps out (the JSON access log, chat
 * events). Names come from our own tables, never from the locale.
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "pfhttpd.h"

#define HTTPDATE_IMF_LEN     29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define HTTPDATE_ASCTIME_LEN 24 /* "Sun Nov  6 08:49:37 1994" */
#define HTTPDATE_RFC850_TAIL 24 /* ", 06-Nov-94 08:49:37 GMT" */

static const char *const httpdate_wday[7] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const httpdate_wday_long[7] = {"Sunday", "Monday", "Tuesday",
    "Wednesday", "Thursday", "Friday", "Saturday"};
static const char *const httpdate_month[12] = {"Jan", "Feb", "Mar", "Apr",
    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Write v as exactly n decimal digits at p (its last n digits). */
void
httpdate_digits(char *p, unsigned long v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * Format t as an IMF-fixdate into buf, NUL-terminated. A time outside
 * years 0000-9999 is clamped to the nearest end so the result always fits.
 */
void
httpdate_format(time_t t, char buf[HTTPDATE_LEN])
{
	/* Sat, 01 Jan 0000 00:00:00 GMT */
	static const struct tm tm_min = {
	    .tm_mday = 1, .tm_year = -1900, .tm_wday = 6};
	/* Fri, 31 Dec 9999 23:59:59 GMT */
	static const struct tm tm_max = {.tm_sec = 59,
	    .tm_min = 59,
	    .tm_hour = 23,
	    .tm_mday = 31,
	    .tm_mon = 11,
	    .tm_year = 9999 - 1900,
	    .tm_wday = 5};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		tm = t > 0 ? tm_max : tm_min;
	else if (tm.tm_year > 9999 - 1900)
		tm = tm_max;
	else if (tm.tm_year < -1900)
		tm = tm_min;

	memcpy(buf, httpdate_wday[tm.tm_wday], 3);
	memcpy(buf + 3, ", ", 2);
	httpdate_digits(buf + 5, (unsigned long)tm.tm_mday, 2);
	buf[7] = ' ';
	memcpy(buf + 8, httpdate_month[tm.tm_mon], 3);
	buf[11] = ' ';
	httpdate_digits(buf + 12, (unsigned long)tm.tm_year + 1900, 4);
	buf[16] = ' ';
	httpdate_digits(buf + 17, (unsigned long)tm.tm_hour, 2);
	buf[19] = ':';
	httpdate_digits(buf + 20, (unsigned long)tm.tm_min, 2);
	buf[22] = ':';
	httpdate_digits(buf + 23, (unsigned long)tm.tm_sec, 2);
	memcpy(buf + 25, " GMT", 5);
}

/*
 * Write tm (UTC) as RFC 3339 at buf, "2026-12-05T21:07:04.123Z" with
 * frac_digits digits of the fraction frac; no NUL. Return the length,
 * HTTPDATE_RFC3339_LEN(frac_digits).
 */
size_t
httpdate_rfc3339(
    const struct tm *tm, unsigned long frac, int frac_digits, char *buf)
{
	httpdate_digits(buf, (unsigned long)tm->tm_year + 1900, 4);
	buf[4] = '-';
	httpdate_digits(buf + 5, (unsigned long)tm->tm_mon + 1, 2);
	buf[7] = '-';
	httpdate_digits(buf + 8, (unsigned long)tm->tm_mday, 2);
	buf[10] = 'T';
	httpdate_digits(buf + 11, (unsigned long)tm->tm_hour, 2);
	buf[13] = ':';
	httpdate_digits(buf + 14, (unsigned long)tm->tm_min, 2);
	buf[16] = ':';
	httpdate_digits(buf + 17, (unsigned long)tm->tm_sec, 2);
	buf[19] = '.';
	httpdate_digits(buf + 20, frac, frac_digits);
	buf[20 + frac_digits] = 'Z';
	return HTTPDATE_RFC3339_LEN(frac_digits);
}

/* Parse exactly n DIGITs at s into *v; 0 or -1. */
static int
httpdate_num(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* Return the index of s[0..len) in names[0..count), or -1; exact case. */
static int
httpdate_name(const char *s, size_t len, const char *const *names, int count)
{
	int i;

	for (i = 0; i < count; i++)
		if (strlen(names[i]) == len && memcmp(s, names[i], len) == 0)
			return i;
	return -1;
}

/* Parse "HH:MM:SS" at s into tm; 0 or -1. Ranges are checked later. */
static int
httpdate_clock(const char *s, struct tm *tm)
{
	if (httpdate_num(s, 2, &tm->tm_hour) == -1 || s[2] != ':' ||
	    httpdate_num(s + 3, 2, &tm->tm_min) == -1 || s[5] != ':' ||
	    httpdate_num(s + 6, 2, &tm->tm_sec) == -1)
		return -1;
	return 0;
}

/* Return 1 if year (Gregorian, full) is a leap year, else 0. */
static int
httpdate_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/*
 * Check the fields of tm (tm_year as a full year here) and convert it
 * into *t; 0 or -1. errno is left as it was.
 */
static int
httpdate_finish(struct tm *tm, time_t *t)
{
	static const int mdays[12] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int maxday, saved_errno;
	time_t r;

	maxday = mdays[tm->tm_mon];
	if (tm->tm_mon == 1 && httpdate_leap(tm->tm_year))
		maxday = 29;
	if (tm->tm_mday < 1 || tm->tm_mday > maxday || tm->tm_hour > 23 ||
	    tm->tm_min > 59 || tm->tm_sec > 60)
		return -1;

	tm->tm_year -= 1900;
	tm->tm_isdst = 0;
	saved_errno = errno;
	errno = 0;
	r = timegm(tm);
	if (r == (time_t)-1 && errno != 0) {
		errno = saved_errno;
		return -1;
	}
	errno = saved_errno;
	*t = r;
	return 0;
}

/* Parse an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", into tm; 0/-1. */
static int
httpdate_imf(const char *s, struct tm *tm)
{
	if (httpdate_name(s, 3, httpdate_wday, 7) == -1 ||
	    memcmp(s + 3, ", ", 2) != 0 ||
	    httpdate_num(s + 5, 2, &tm->tm_mday) == -1 || s[7] != ' ' ||
	    (tm->tm_mon = httpdate_name(s + 8, 3, httpdate_month, 12)) == -1 ||
	    s[11] != ' ' || httpdate_num(s + 12, 4, &tm->tm_year) == -1 ||
	    s[16] != ' ' || httpdate_clock(s + 17, tm) == -1 ||
	    memcmp(s + 25, " GMT", 4) != 0)
		return -1;
	return 0;
}

/* Parse an asctime date, "Sun Nov  6 08:49:37 1994", into tm; 0/-1. */
static int
httpdate_asctime(const char *s, struct tm *tm)
{
	if (httpdate_name(s, 3, httpdate_wday, 7) == -1 || s[3] != ' ' ||
	    (tm->tm_mon = httpdate_name(s + 4, 3, httpdate_month, 12)) == -1 ||
	    s[7] != ' ')
		return -1;
	if (s[8] == ' ') {
		if (httpdate_num(s + 9, 1, &tm->tm_mday) == -1)
			return -1;
	} else if (httpdate_num(s + 8, 2, &tm->tm_mday) == -1)
		return -1;
	if (s[10] != ' ' || httpdate_clock(s + 11, tm) == -1 || s[19] != ' ' ||
	    httpdate_num(s + 20, 4, &tm->tm_year) == -1)
		return -1;
	return 0;
}

/*
 * Return the full year for the two-digit year yy of an RFC 850 date: this
 * century's, unless that is more than 50 years in the future, in which
 * case the past century's (RFC 9110 5.6.7).
 */
static int
httpdate_century(int yy)
{
	struct tm now_tm;
	time_t now;
	int now_year, year;

	now = time(NULL);
	if (gmtime_r(&now, &now_tm) == NULL)
		now_year = 2000;
	else
		now_year = now_tm.tm_year + 1900;
	year = now_year - now_year % 100 + yy;
	if (year > now_year + 50)
		year -= 100;
	return year;
}

/* Parse an RFC 850 date, "Sunday, 06-Nov-94 08:49:37 GMT", into tm; 0/-1. */
static int
httpdate_rfc850(const char *s, size_t len, struct tm *tm)
{
	const char *r;
	size_t day_len;
	int yy;

	if (len < HTTPDATE_RFC850_TAIL)
		return -1;
	day_len = len - HTTPDATE_RFC850_TAIL;
	r = s + day_len;
	if (httpdate_name(s, day_len, httpdate_wday_long, 7) == -1 ||
	    memcmp(r, ", ", 2) != 0 ||
	    httpdate_num(r + 2, 2, &tm->tm_mday) == -1 || r[4] != '-' ||
	    (tm->tm_mon = httpdate_name(r + 5, 3, httpdate_month, 12)) == -1 ||
	    r[8] != '-' || httpdate_num(r + 9, 2, &yy) == -1 || r[11] != ' ' ||
	    httpdate_clock(r + 12, tm) == -1 || memcmp(r + 20, " GMT", 4) != 0)
		return -1;
	tm->tm_year = httpdate_century(yy);
	return 0;
}

/*
 * Parse the HTTP date s[0..len), which need not be NUL-terminated, into
 * *t. Accept IMF-fixdate, RFC 850 and asctime forms, names and "GMT" in
 * their exact case, nothing before or after. The day of the week must be
 * a valid name but is not checked against the date. Return 0 or -1.
 */
int
httpdate_parse(const char *s, size_t len, time_t *t)
{
	struct tm tm;
	int rc;

	memset(&tm, 0, sizeof(tm));
	if (len == HTTPDATE_IMF_LEN && s[3] == ',')
		rc = httpdate_imf(s, &tm);
	else if (len == HTTPDATE_ASCTIME_LEN && s[3] == ' ')
		rc = httpdate_asctime(s, &tm);
	else
		rc = httpdate_rfc850(s, len, &tm);
	if (rc == -1)
		return -1;
	return httpdate_finish(&tm, t);
}
