/*
 * Unit tests for etag.c: making entity-tags and matching them in lists.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define STRONG 0
#define WEAK   1

/* Match etag against the NUL-terminated list. */
static int
test_match(const char *list, const char *etag, int weak)
{
	return etag_list_match(list, strlen(list), etag, weak);
}

/* Make the ETag of sec.nsec and size into buf. */
static void
test_make(time_t sec, long nsec, off_t size, char buf[ETAG_LEN])
{
	struct timespec ts;

	ts.tv_sec = sec;
	ts.tv_nsec = nsec;
	etag_make(&ts, size, buf);
}

/* The tag is "sec.nsec-size" in lowercase hex, in quotes. */
static void
test_make_format(void **state)
{
	char buf[ETAG_LEN];

	(void)state;
	test_make(0x6543a1b2, 500000000, 500, buf);
	assert_string_equal(buf, "\"6543a1b2.1dcd6500-1f4\"");
	test_make(0, 0, 0, buf);
	assert_string_equal(buf, "\"0.0-0\"");
}

/* A change of the seconds alone changes the tag. */
static void
test_make_changes_with_seconds(void **state)
{
	char a[ETAG_LEN], b[ETAG_LEN];

	(void)state;
	test_make(1000, 5, 42, a);
	test_make(1001, 5, 42, b);
	assert_string_not_equal(a, b);
}

/* A change of the nanoseconds alone changes the tag. */
static void
test_make_changes_with_nanoseconds(void **state)
{
	char a[ETAG_LEN], b[ETAG_LEN];

	(void)state;
	test_make(1000, 5, 42, a);
	test_make(1000, 6, 42, b);
	assert_string_not_equal(a, b);
}

/* A change of the size alone changes the tag. */
static void
test_make_changes_with_size(void **state)
{
	char a[ETAG_LEN], b[ETAG_LEN];

	(void)state;
	test_make(1000, 5, 42, a);
	test_make(1000, 5, 43, b);
	assert_string_not_equal(a, b);
}

/* The largest values still fit, with both quotes. */
static void
test_make_largest_values_fit(void **state)
{
	char buf[ETAG_LEN];

	(void)state;
	test_make((time_t)INT64_MAX, 999999999, (off_t)INT64_MAX, buf);
	assert_string_equal(
	    buf, "\"7fffffffffffffff.3b9ac9ff-7fffffffffffffff\"");
	test_make((time_t)-1, 0, 0, buf);
	assert_string_equal(buf, "\"ffffffffffffffff.0-0\"");
}

/* A made tag matches itself in both comparisons. */
static void
test_made_tag_matches_itself(void **state)
{
	char buf[ETAG_LEN];

	(void)state;
	test_make(1700000000, 123456789, 4096, buf);
	assert_int_equal(test_match(buf, buf, STRONG), 1);
	assert_int_equal(test_match(buf, buf, WEAK), 1);
}

/* "*" matches anything, with or without whitespace around it. */
static void
test_star_matches_anything(void **state)
{
	(void)state;
	assert_int_equal(test_match("*", "\"abc\"", STRONG), 1);
	assert_int_equal(test_match("*", "\"abc\"", WEAK), 1);
	assert_int_equal(test_match(" *\t", "\"abc\"", STRONG), 1);
	assert_int_equal(test_match("*", "W/\"abc\"", STRONG), 1);
}

/* "*" as one element of a list is not a wildcard. */
static void
test_star_inside_list_is_not_wildcard(void **state)
{
	(void)state;
	assert_int_equal(test_match("\"x\", *", "\"abc\"", WEAK), 0);
	assert_int_equal(test_match("*, *", "\"abc\"", WEAK), 0);
	assert_int_equal(test_match("**", "\"abc\"", WEAK), 0);
}

/* Identical strong tags match in the strong comparison. */
static void
test_strong_comparison_matches_identical_tags(void **state)
{
	(void)state;
	assert_int_equal(test_match("\"abc\"", "\"abc\"", STRONG), 1);
	assert_int_equal(test_match("\"\"", "\"\"", STRONG), 1);
}

/* A weak tag in the list never matches in the strong comparison. */
static void
test_strong_comparison_rejects_weak_list_tag(void **state)
{
	(void)state;
	assert_int_equal(test_match("W/\"abc\"", "\"abc\"", STRONG), 0);
}

/* A weak own tag never matches in the strong comparison. */
static void
test_strong_comparison_rejects_weak_own_tag(void **state)
{
	(void)state;
	assert_int_equal(test_match("\"abc\"", "W/\"abc\"", STRONG), 0);
	assert_int_equal(test_match("W/\"abc\"", "W/\"abc\"", STRONG), 0);
}

/* The weak comparison ignores W/ on either side. */
static void
test_weak_comparison_ignores_weakness(void **state)
{
	(void)state;
	assert_int_equal(test_match("W/\"abc\"", "\"abc\"", WEAK), 1);
	assert_int_equal(test_match("\"abc\"", "W/\"abc\"", WEAK), 1);
	assert_int_equal(test_match("W/\"abc\"", "W/\"abc\"", WEAK), 1);
	assert_int_equal(test_match("\"abc\"", "\"abc\"", WEAK), 1);
}

/* Different opaque tags do not match, in either comparison. */
static void
test_different_tags_do_not_match(void **state)
{
	static const char *const other[] = {
	    "\"abd\"", "\"ab\"", "\"abcd\"", "\"ABC\"", "\"\"", "W/\"abd\""};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		assert_int_equal(test_match(other[i], "\"abc\"", STRONG), 0);
		assert_int_equal(test_match(other[i], "\"abc\"", WEAK), 0);
	}
}

/* A matching tag anywhere in the list matches. */
static void
test_tag_anywhere_in_list_matches(void **state)
{
	(void)state;
	assert_int_equal(test_match("\"x\", \"abc\"", "\"abc\"", STRONG), 1);
	assert_int_equal(test_match("\"abc\",\"x\"", "\"abc\"", STRONG), 1);
	assert_int_equal(
	    test_match("\"x\",W/\"y\",\"abc\",\"z\"", "\"abc\"", STRONG), 1);
	assert_int_equal(test_match("\"x\", \"y\"", "\"abc\"", STRONG), 0);
}

/* Whitespace around elements and empty elements are allowed. */
static void
test_whitespace_and_empty_elements_are_allowed(void **state)
{
	(void)state;
	assert_int_equal(test_match("  \"abc\"  ", "\"abc\"", STRONG), 1);
	assert_int_equal(
	    test_match("\t\"x\"\t,\t\"abc\"", "\"abc\"", STRONG), 1);
	assert_int_equal(
	    test_match(",, \"x\" ,,\"abc\",", "\"abc\"", STRONG), 1);
}

/* An empty list, or one of only separators, matches nothing. */
static void
test_empty_list_does_not_match(void **state)
{
	(void)state;
	assert_int_equal(test_match("", "\"abc\"", WEAK), 0);
	assert_int_equal(test_match("  ", "\"abc\"", WEAK), 0);
	assert_int_equal(test_match(" , ,", "\"abc\"", WEAK), 0);
}

/* A malformed element does not match, even if it contains the tag. */
static void
test_malformed_element_does_not_match(void **state)
{
	static const char *const bad[] = {"abc", "\"abc", "abc\"", "w/\"abc\"",
	    "W/abc", "W\"abc\"", "\"abc\"x", "\"abc\" x", "x\"abc\"",
	    "\"a bc\"", "W/ \"abc\"", "\"abc\"\"abc\""};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (test_match(bad[i], "\"abc\"", WEAK) != 0)
			fail_msg("matched '%s'", bad[i]);
}

/* A malformed element does not hide a later good one. */
static void
test_malformed_element_does_not_hide_later_match(void **state)
{
	(void)state;
	assert_int_equal(test_match("abc, \"abc\"", "\"abc\"", STRONG), 1);
	assert_int_equal(test_match("\"x\"y, \"abc\"", "\"abc\"", STRONG), 1);
	assert_int_equal(test_match("\"x y\",\"abc\"", "\"abc\"", STRONG), 1);
}

/* A comma inside a quoted tag is part of the tag, not a separator. */
static void
test_comma_inside_tag_is_part_of_it(void **state)
{
	(void)state;
	assert_int_equal(test_match("\"a,b\"", "\"a,b\"", STRONG), 1);
	assert_int_equal(test_match("\"a\", \"b\"", "\"a,b\"", STRONG), 0);
	assert_int_equal(test_match("\"a,b\"", "\"a\"", STRONG), 0);
}

/* Bytes 0x80-0xff (obs-text) may appear in a tag. */
static void
test_obs_text_in_tag_is_allowed(void **state)
{
	(void)state;
	assert_int_equal(
	    test_match("\"\xc3\xa9\xff\"", "\"\xc3\xa9\xff\"", STRONG), 1);
}

/* A malformed own tag matches nothing but "*". */
static void
test_malformed_own_tag_does_not_match(void **state)
{
	(void)state;
	assert_int_equal(test_match("abc", "abc", WEAK), 0);
	assert_int_equal(test_match("\"abc\"", "\"abc\"x", WEAK), 0);
	assert_int_equal(test_match("\"abc\"", "", WEAK), 0);
	assert_int_equal(test_match("\"a b\"", "\"a b\"", WEAK), 0);
	assert_int_equal(test_match("\"a\x01\"", "\"a\x01\"", WEAK), 0);
}

/* Only len bytes of the list are read; it need not be NUL-terminated. */
static void
test_list_is_bounded_by_len(void **state)
{
	const char *list = "\"abc\"junk";

	(void)state;
	assert_int_equal(etag_list_match(list, 5, "\"abc\"", STRONG), 1);
	assert_int_equal(etag_list_match(list, 4, "\"abc\"", STRONG), 0);
	assert_int_equal(etag_list_match("*x", 1, "\"abc\"", STRONG), 1);
}

/* Run every etag.c test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_make_format),
	    cmocka_unit_test(test_make_changes_with_seconds),
	    cmocka_unit_test(test_make_changes_with_nanoseconds),
	    cmocka_unit_test(test_make_changes_with_size),
	    cmocka_unit_test(test_make_largest_values_fit),
	    cmocka_unit_test(test_made_tag_matches_itself),
	    cmocka_unit_test(test_star_matches_anything),
	    cmocka_unit_test(test_star_inside_list_is_not_wildcard),
	    cmocka_unit_test(test_strong_comparison_matches_identical_tags),
	    cmocka_unit_test(test_strong_comparison_rejects_weak_list_tag),
	    cmocka_unit_test(test_strong_comparison_rejects_weak_own_tag),
	    cmocka_unit_test(test_weak_comparison_ignores_weakness),
	    cmocka_unit_test(test_different_tags_do_not_match),
	    cmocka_unit_test(test_tag_anywhere_in_list_matches),
	    cmocka_unit_test(test_whitespace_and_empty_elements_are_allowed),
	    cmocka_unit_test(test_empty_list_does_not_match),
	    cmocka_unit_test(test_malformed_element_does_not_match),
	    cmocka_unit_test(test_malformed_element_does_not_hide_later_match),
	    cmocka_unit_test(test_comma_inside_tag_is_part_of_it),
	    cmocka_unit_test(test_obs_text_in_tag_is_allowed),
	    cmocka_unit_test(test_malformed_own_tag_does_not_match),
	    cmocka_unit_test(test_list_is_bounded_by_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
