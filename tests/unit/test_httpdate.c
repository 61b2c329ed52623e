/*
 * Unit tests for httpdate.c: IMF-fixdate output and the three input forms.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define T_RFC_EXAMPLE ((time_t)784111777) /* Sun, 06 Nov 1994 08:49:37 */

/* Parse the NUL-terminated s; the result of httpdate_parse(). */
static int
test_parse(const char *s, time_t *t)
{
	return httpdate_parse(s, strlen(s), t);
}

/* Assert that s parses to want. */
static void
test_parse_ok(const char *s, time_t want)
{
	time_t t;

	t = 12345;
	assert_int_equal(test_parse(s, &t), 0);
	assert_int_equal(t, want);
}

/* Assert that s is rejected and *t is left alone. */
static void
test_parse_bad(const char *s)
{
	time_t t;

	t = 12345;
	if (test_parse(s, &t) != -1)
		fail_msg("accepted \"%s\"", s);
	assert_int_equal(t, 12345);
}

/* Assert that t formats as want. */
static void
test_format_is(time_t t, const char *want)
{
	char buf[HTTPDATE_LEN];

	memset(buf, 'X', sizeof(buf));
	httpdate_format(t, buf);
	assert_string_equal(buf, want);
}

/* Return the current year, UTC. */
static int
test_this_year(void)
{
	struct tm tm;
	time_t now;

	now = time(NULL);
	assert_non_null(gmtime_r(&now, &tm));
	return tm.tm_year + 1900;
}

/* The RFC example time formats as the RFC example IMF-fixdate. */
static void
test_format_imf_fixdate(void **state)
{
	(void)state;
	test_format_is(T_RFC_EXAMPLE, "Sun, 06 Nov 1994 08:49:37 GMT");
}

/* The epoch formats with zero-padded fields. */
static void
test_format_epoch(void **state)
{
	(void)state;
	test_format_is(0, "Thu, 01 Jan 1970 00:00:00 GMT");
	test_format_is(-1, "Wed, 31 Dec 1969 23:59:59 GMT");
}

/* A leap day formats as 29 Feb. */
static void
test_format_leap_day(void **state)
{
	(void)state;
	test_format_is(1709164800, "Thu, 29 Feb 2024 00:00:00 GMT");
}

/* Each day of the week gets its English name. */
static void
test_format_every_day_name(void **state)
{
	static const char *const want[7] = {"Sun, 01 Jan 2023 00:00:00 GMT",
	    "Mon, 02 Jan 2023 00:00:00 GMT", "Tue, 03 Jan 2023 00:00:00 GMT",
	    "Wed, 04 Jan 2023 00:00:00 GMT", "Thu, 05 Jan 2023 00:00:00 GMT",
	    "Fri, 06 Jan 2023 00:00:00 GMT", "Sat, 07 Jan 2023 00:00:00 GMT"};
	int i;

	(void)state;
	for (i = 0; i < 7; i++)
		test_format_is((time_t)1672531200 + i * 86400, want[i]);
}

/* Each month gets its English abbreviation. */
static void
test_format_every_month_name(void **state)
{
	static const char *const want[12] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char buf[HTTPDATE_LEN];
	struct tm tm;
	int i;

	(void)state;
	for (i = 0; i < 12; i++) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = 2023 - 1900;
		tm.tm_mon = i;
		tm.tm_mday = 15;
		httpdate_format(timegm(&tm), buf);
		assert_memory_equal(buf + 5, "15 ", 3);
		assert_memory_equal(buf + 8, want[i], 3);
		assert_int_equal(strlen(buf), HTTPDATE_LEN - 1);
	}
}

/* Times beyond year 9999 or before year 0 are clamped to fit the buffer. */
static void
test_format_out_of_range_is_clamped(void **state)
{
	(void)state;
	test_format_is((time_t)253402300799, "Fri, 31 Dec 9999 23:59:59 GMT");
	test_format_is((time_t)253402300800, "Fri, 31 Dec 9999 23:59:59 GMT");
	test_format_is((time_t)INT64_MAX, "Fri, 31 Dec 9999 23:59:59 GMT");
	test_format_is((time_t)-62167219200, "Sat, 01 Jan 0000 00:00:00 GMT");
	test_format_is((time_t)-62167219201, "Sat, 01 Jan 0000 00:00:00 GMT");
	test_format_is((time_t)INT64_MIN, "Sat, 01 Jan 0000 00:00:00 GMT");
}

/* An IMF-fixdate parses. */
static void
test_parse_imf_fixdate(void **state)
{
	(void)state;
	test_parse_ok("Sun, 06 Nov 1994 08:49:37 GMT", T_RFC_EXAMPLE);
	test_parse_ok("Thu, 01 Jan 1970 00:00:00 GMT", 0);
	test_parse_ok("Fri, 31 Dec 9999 23:59:59 GMT", (time_t)253402300799);
}

/* What httpdate_format() writes parses back to the same time. */
static void
test_format_then_parse_round_trips(void **state)
{
	static const time_t ts[] = {0, 1, 784111777, 951782400, 1709164800,
	    2147483647, 2147483648, 4102444799};
	char buf[HTTPDATE_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		httpdate_format(ts[i], buf);
		test_parse_ok(buf, ts[i]);
	}
}

/* An RFC 850 date with this year's two digits is this year. */
static void
test_parse_rfc850_date(void **state)
{
	char s[64];
	struct tm tm;
	time_t t;
	int year;

	(void)state;
	year = test_this_year();
	snprintf(s, sizeof(s), "Sunday, 06-Nov-%02d 08:49:37 GMT", year % 100);
	assert_int_equal(test_parse(s, &t), 0);
	assert_non_null(gmtime_r(&t, &tm));
	assert_int_equal(tm.tm_year + 1900, year);
	assert_int_equal(tm.tm_mon, 10);
	assert_int_equal(tm.tm_mday, 6);
	assert_int_equal(tm.tm_hour, 8);
	assert_int_equal(tm.tm_min, 49);
	assert_int_equal(tm.tm_sec, 37);
}

/* RFC 850 accepts every long day name. */
static void
test_parse_rfc850_every_day_name(void **state)
{
	static const char *const days[7] = {"Sunday", "Monday", "Tuesday",
	    "Wednesday", "Thursday", "Friday", "Saturday"};
	char s[64];
	time_t t;
	int i;

	(void)state;
	for (i = 0; i < 7; i++) {
		snprintf(s, sizeof(s), "%s, 06-Nov-94 08:49:37 GMT", days[i]);
		assert_int_equal(test_parse(s, &t), 0);
	}
}

/*
 * A two-digit year is this century's, unless that is more than 50 years
 * ahead: then it is the past century's.
 */
static void
test_rfc850_two_digit_year(void **state)
{
	char s[64];
	struct tm tm;
	time_t t;
	int year;

	(void)state;
	year = test_this_year();

	/* Exactly 50 years ahead is still this century (before xx50). */
	snprintf(s, sizeof(s), "Monday, 01-Jan-%02d 00:00:00 GMT",
	    (year + 50) % 100);
	assert_int_equal(test_parse(s, &t), 0);
	assert_non_null(gmtime_r(&t, &tm));
	assert_int_equal(
	    tm.tm_year + 1900, year % 100 < 50 ? year + 50 : year - 50);

	/* 51 years ahead, or behind in this century: 49 years ago. */
	snprintf(s, sizeof(s), "Monday, 01-Jan-%02d 00:00:00 GMT",
	    (year + 51) % 100);
	assert_int_equal(test_parse(s, &t), 0);
	assert_non_null(gmtime_r(&t, &tm));
	assert_int_equal(tm.tm_year + 1900, year - 49);

	/* The RFC's own example: 1994 until 2044, then 2094. */
	assert_int_equal(test_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t), 0);
	assert_non_null(gmtime_r(&t, &tm));
	assert_int_equal(tm.tm_year + 1900, year + 50 >= 2094 ? 2094 : 1994);
	if (tm.tm_year + 1900 == 1994)
		assert_int_equal(t, T_RFC_EXAMPLE);
}

/* An asctime date parses, with a space-padded or two-digit day. */
static void
test_parse_asctime_date(void **state)
{
	(void)state;
	test_parse_ok("Sun Nov  6 08:49:37 1994", T_RFC_EXAMPLE);
	test_parse_ok("Sun Nov 06 08:49:37 1994", T_RFC_EXAMPLE);
	test_parse_ok("Wed Nov 16 08:49:37 1994", T_RFC_EXAMPLE + 10 * 86400);
}

/* An asctime single-digit day needs its leading space. */
static void
test_asctime_single_digit_day_needs_space(void **state)
{
	(void)state;
	test_parse_bad("Sun Nov 6 08:49:37 1994");
	test_parse_bad("Sun Nov 6  08:49:37 1994");
	test_parse_bad("Sun Nov  6 08:49:37 94");
}

/* Bytes after a complete date are rejected. */
static void
test_trailing_junk_is_rejected(void **state)
{
	(void)state;
	test_parse_bad("Sun, 06 Nov 1994 08:49:37 GMT ");
	test_parse_bad("Sun, 06 Nov 1994 08:49:37 GMTx");
	test_parse_bad("Sun, 06 Nov 1994 08:49:37 GMT; length=12");
	test_parse_bad("Sunday, 06-Nov-94 08:49:37 GMT ");
	test_parse_bad("Sun Nov  6 08:49:37 1994 ");
	test_parse_bad("Sun Nov  6 08:49:37 19940");
}

/* Leading whitespace is rejected. */
static void
test_leading_junk_is_rejected(void **state)
{
	(void)state;
	test_parse_bad(" Sun, 06 Nov 1994 08:49:37 GMT");
	test_parse_bad(" Sunday, 06-Nov-94 08:49:37 GMT");
	test_parse_bad("xSun Nov  6 08:49:37 1994");
}

/* Every proper prefix of a valid date is rejected. */
static void
test_truncated_date_is_rejected(void **state)
{
	static const char *const good[] = {"Sun, 06 Nov 1994 08:49:37 GMT",
	    "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"};
	size_t i, n;
	time_t t;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		for (n = 0; n < strlen(good[i]); n++)
			if (httpdate_parse(good[i], n, &t) != -1)
				fail_msg(
				    "accepted %zu bytes of \"%s\"", n, good[i]);
}

/* Only len bytes are read; the input need not be NUL-terminated. */
static void
test_input_is_bounded_by_len(void **state)
{
	const char *s = "Sun, 06 Nov 1994 08:49:37 GMTjunk";
	time_t t;

	(void)state;
	assert_int_equal(httpdate_parse(s, 29, &t), 0);
	assert_int_equal(t, T_RFC_EXAMPLE);
}

/* A day of 0 or past the end of the month is rejected. */
static void
test_day_out_of_range_is_rejected(void **state)
{
	(void)state;
	test_parse_bad("Sun, 00 Nov 1994 08:49:37 GMT");
	test_parse_bad("Sun, 32 Jan 1994 08:49:37 GMT");
	test_parse_bad("Sun, 31 Apr 1994 08:49:37 GMT");
	test_parse_bad("Sun, 31 Nov 1994 08:49:37 GMT");
	test_parse_bad("Sun, 30 Feb 2024 08:49:37 GMT");
	test_parse_bad("Sunday, 31-Jun-94 08:49:37 GMT");
	test_parse_bad("Sun Nov  0 08:49:37 1994");
	test_parse_bad("Sun Nov 31 08:49:37 1994");
	test_parse_ok("Sat, 31 Jan 1970 00:00:00 GMT", 30 * 86400);
	test_parse_ok("Thu, 30 Apr 1970 00:00:00 GMT", 119 * 86400);
}

/* 29 Feb is valid only in a leap year. */
static void
test_february_29_only_in_leap_years(void **state)
{
	(void)state;
	test_parse_ok("Thu, 29 Feb 2024 00:00:00 GMT", 1709164800);
	test_parse_ok("Tue, 29 Feb 2000 00:00:00 GMT", 951782400);
	test_parse_bad("Wed, 29 Feb 2023 00:00:00 GMT");
	test_parse_bad("Thu, 29 Feb 1900 00:00:00 GMT");
	test_parse_bad("Thu Feb 29 00:00:00 2100");
}

/* Hour 24, minute 60 and second 61 are rejected. */
static void
test_time_out_of_range_is_rejected(void **state)
{
	(void)state;
	test_parse_bad("Sun, 06 Nov 1994 24:00:00 GMT");
	test_parse_bad("Sun, 06 Nov 1994 23:60:00 GMT");
	test_parse_bad("Sun, 06 Nov 1994 23:59:61 GMT");
	test_parse_bad("Sunday, 06-Nov-94 24:49:37 GMT");
	test_parse_bad("Sun Nov  6 08:60:37 1994");
	test_parse_ok("Sun, 06 Nov 1994 23:59:59 GMT", 784166399);
}

/* A leap second, :60, is accepted and lands on the next second. */
static void
test_leap_second_is_accepted(void **state)
{
	(void)state;
	test_parse_ok("Sun, 06 Nov 1994 23:59:60 GMT", 784166400);
}

/* An unknown or differently cased day or month name is rejected. */
static void
test_bad_names_are_rejected(void **state)
{
	(void)state;
	test_parse_bad("Xyz, 06 Nov 1994 08:49:37 GMT");
	test_parse_bad("Sun, 06 Foo 1994 08:49:37 GMT");
	test_parse_bad("sun, 06 Nov 1994 08:49:37 GMT");
	test_parse_bad("Sun, 06 NOV 1994 08:49:37 GMT");
	test_parse_bad("Funday, 06-Nov-94 08:49:37 GMT");
	test_parse_bad("sunday, 06-Nov-94 08:49:37 GMT");
	test_parse_bad("Sun Now  6 08:49:37 1994");
}

/* A zone other than "GMT" is rejected. */
static void
test_zone_other_than_gmt_is_rejected(void **state)
{
	(void)state;
	test_parse_bad("Sun, 06 Nov 1994 08:49:37 UTC");
	test_parse_bad("Sun, 06 Nov 1994 08:49:37 gmt");
	test_parse_bad("Sunday, 06-Nov-94 08:49:37 PST");
}

/* Non-digits or the wrong number of digits in a field are rejected. */
static void
test_bad_digits_are_rejected(void **state)
{
	(void)state;
	test_parse_bad("Sun, 0a Nov 1994 08:49:37 GMT");
	test_parse_bad("Sun, 06 Nov 19x4 08:49:37 GMT");
	test_parse_bad("Sun, 06 Nov 1994 08:4 :37 GMT");
	test_parse_bad("Sun,  6 Nov 1994 08:49:37 GMT");
	test_parse_bad("Sun, 6 Nov 1994 08:49:37 GMT");
	test_parse_bad("Sun, 06 Nov 94 08:49:37 GMT");
	test_parse_bad("Sun, 06 Nov 1994 8:49:37 GMT");
	test_parse_bad("Sunday, 06-Nov-1994 08:49:37 GMT");
	test_parse_bad("Sunday, 06-Nov-9x 08:49:37 GMT");
}

/* Each separator must be the one its form asks for. */
static void
test_wrong_separator_is_rejected(void **state)
{
	(void)state;
	test_parse_bad("Sun,_06 Nov 1994 08:49:37 GMT");
	test_parse_bad("Sun, 06_Nov 1994 08:49:37 GMT");
	test_parse_bad("Sun, 06 Nov_1994 08:49:37 GMT");
	test_parse_bad("Sun, 06 Nov 1994_08:49:37 GMT");
	test_parse_bad("Sun, 06 Nov 1994 08_49:37 GMT");
	test_parse_bad("Sun, 06 Nov 1994 08:49_37 GMT");
	test_parse_bad("Sun, 06 Nov 1994 08:49:37_GMT");
	test_parse_bad("Sunday,_06-Nov-94 08:49:37 GMT");
	test_parse_bad("Sunday, 06_Nov-94 08:49:37 GMT");
	test_parse_bad("Sunday, 06-Nov_94 08:49:37 GMT");
	test_parse_bad("Sunday, 06-Nov-94_08:49:37 GMT");
	test_parse_bad("Sunday, 06-Nov-94 08:49:37_GMT");
	test_parse_bad("Sun Nov_ 6 08:49:37 1994");
	test_parse_bad("Sun Nov  6_08:49:37 1994");
	test_parse_bad("Sun Nov  6 08:49:37_1994");
}

/* Mixing the separators or day names of the forms is rejected. */
static void
test_mixed_forms_are_rejected(void **state)
{
	(void)state;
	test_parse_bad("Sun, 06-Nov-94 08:49:37 GMT");
	test_parse_bad("Sunday, 06 Nov 1994 08:49:37 GMT");
	test_parse_bad("Sun, 06 Nov 1994 08.49.37 GMT");
	test_parse_bad("Sunday Nov  6 08:49:37 1994");
	test_parse_bad("Sun Nov  6 08:49:37 1994 GMT");
	test_parse_bad("");
}

/* Run every httpdate.c test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_imf_fixdate),
	    cmocka_unit_test(test_format_epoch),
	    cmocka_unit_test(test_format_leap_day),
	    cmocka_unit_test(test_format_every_day_name),
	    cmocka_unit_test(test_format_every_month_name),
	    cmocka_unit_test(test_format_out_of_range_is_clamped),
	    cmocka_unit_test(test_parse_imf_fixdate),
	    cmocka_unit_test(test_format_then_parse_round_trips),
	    cmocka_unit_test(test_parse_rfc850_date),
	    cmocka_unit_test(test_parse_rfc850_every_day_name),
	    cmocka_unit_test(test_rfc850_two_digit_year),
	    cmocka_unit_test(test_parse_asctime_date),
	    cmocka_unit_test(test_asctime_single_digit_day_needs_space),
	    cmocka_unit_test(test_trailing_junk_is_rejected),
	    cmocka_unit_test(test_leading_junk_is_rejected),
	    cmocka_unit_test(test_truncated_date_is_rejected),
	    cmocka_unit_test(test_input_is_bounded_by_len),
	    cmocka_unit_test(test_day_out_of_range_is_rejected),
	    cmocka_unit_test(test_february_29_only_in_leap_years),
	    cmocka_unit_test(test_time_out_of_range_is_rejected),
	    cmocka_unit_test(test_leap_second_is_accepted),
	    cmocka_unit_test(test_bad_names_are_rejected),
	    cmocka_unit_test(test_zone_other_than_gmt_is_rejected),
	    cmocka_unit_test(test_bad_digits_are_rejected),
	    cmocka_unit_test(test_wrong_separator_is_rejected),
	    cmocka_unit_test(test_mixed_forms_are_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
