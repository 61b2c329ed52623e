/*
 * Unit tests for range.c: the Range header field against a file size.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define UNSET ((off_t)-7) /* what first and last hold before a call */

/* Parse the NUL-terminated value against size; first/last start UNSET. */
static enum range_result
test_range(const char *value, off_t size, off_t *first, off_t *last)
{
	*first = UNSET;
	*last = UNSET;
	return range_parse(value, strlen(value), size, first, last);
}

/* Assert that value selects want_first..want_last of a size-byte file. */
static void
test_range_ok(const char *value, off_t size, off_t want_first, off_t want_last)
{
	off_t first, last;

	assert_int_equal(
	    test_range(value, size, &first, &last), RANGE_SATISFIABLE);
	assert_int_equal(first, want_first);
	assert_int_equal(last, want_last);
}

/* Assert that value gives want, and that first and last are untouched. */
static void
test_range_is(const char *value, off_t size, enum range_result want)
{
	off_t first, last;

	assert_int_equal(test_range(value, size, &first, &last), want);
	assert_int_equal(first, UNSET);
	assert_int_equal(last, UNSET);
}

/* "a-b" inside the file selects bytes a to b inclusive. */
static void
test_int_range_is_satisfiable(void **state)
{
	(void)state;
	test_range_ok("bytes=0-499", 1000, 0, 499);
	test_range_ok("bytes=500-999", 1000, 500, 999);
}

/* "a-a" selects exactly one byte. */
static void
test_one_byte_range(void **state)
{
	(void)state;
	test_range_ok("bytes=5-5", 1000, 5, 5);
	test_range_ok("bytes=0-0", 1, 0, 0);
}

/* The unit "bytes" is matched case-insensitively. */
static void
test_unit_is_case_insensitive(void **state)
{
	(void)state;
	test_range_ok("BYTES=1-2", 1000, 1, 2);
	test_range_ok("Bytes=1-2", 1000, 1, 2);
	test_range_ok("bYtEs=1-2", 1000, 1, 2);
}

/* Another unit is ignored. */
static void
test_other_unit_is_ignored(void **state)
{
	(void)state;
	test_range_is("items=0-1", 1000, RANGE_NONE);
	test_range_is("byte=0-1", 1000, RANGE_NONE);
	test_range_is("bytesx=0-1", 1000, RANGE_NONE);
	test_range_is("bytez=0-1", 1000, RANGE_NONE);
	test_range_is("=0-1", 1000, RANGE_NONE);
}

/* A missing '=' after the unit is ignored. */
static void
test_missing_equals_is_ignored(void **state)
{
	(void)state;
	test_range_is("bytes", 1000, RANGE_NONE);
	test_range_is("bytes 0-1", 1000, RANGE_NONE);
	test_range_is("bytes:0-1", 1000, RANGE_NONE);
	test_range_is("bytes =0-1", 1000, RANGE_NONE);
	test_range_is("", 1000, RANGE_NONE);
}

/* A range ending on the last byte is satisfiable as is. */
static void
test_range_ending_on_last_byte(void **state)
{
	(void)state;
	test_range_ok("bytes=0-999", 1000, 0, 999);
	test_range_ok("bytes=999-999", 1000, 999, 999);
}

/* A last position beyond the end is clamped to the last byte. */
static void
test_last_beyond_end_is_clamped(void **state)
{
	(void)state;
	test_range_ok("bytes=500-1000", 1000, 500, 999);
	test_range_ok("bytes=500-5000", 1000, 500, 999);
}

/* first > last is an invalid range, ignored. */
static void
test_first_greater_than_last_is_ignored(void **state)
{
	(void)state;
	test_range_is("bytes=5-4", 1000, RANGE_NONE);
	test_range_is("bytes=2000-1500", 1000, RANGE_NONE);
}

/* A first position at or past the end is unsatisfiable. */
static void
test_first_at_or_past_end_is_unsatisfiable(void **state)
{
	(void)state;
	test_range_is("bytes=1000-1000", 1000, RANGE_UNSATISFIABLE);
	test_range_is("bytes=1000-2000", 1000, RANGE_UNSATISFIABLE);
	test_range_is("bytes=1000-", 1000, RANGE_UNSATISFIABLE);
	test_range_is("bytes=5000-", 1000, RANGE_UNSATISFIABLE);
}

/* "a-" runs from a to the last byte. */
static void
test_open_range_runs_to_end(void **state)
{
	(void)state;
	test_range_ok("bytes=100-", 1000, 100, 999);
	test_range_ok("bytes=0-", 1000, 0, 999);
}

/* "a-" with a on the last byte is that one byte. */
static void
test_open_range_from_last_byte(void **state)
{
	(void)state;
	test_range_ok("bytes=999-", 1000, 999, 999);
}

/* "-n" selects the last n bytes. */
static void
test_suffix_range_is_last_bytes(void **state)
{
	(void)state;
	test_range_ok("bytes=-100", 1000, 900, 999);
	test_range_ok("bytes=-1", 1000, 999, 999);
	test_range_ok("bytes=-999", 1000, 1, 999);
}

/* "-n" with n at least the size is the whole file. */
static void
test_suffix_range_longer_than_file_is_whole_file(void **state)
{
	(void)state;
	test_range_ok("bytes=-1000", 1000, 0, 999);
	test_range_ok("bytes=-5000", 1000, 0, 999);
}

/* "-0" is unsatisfiable. */
static void
test_zero_suffix_is_unsatisfiable(void **state)
{
	(void)state;
	test_range_is("bytes=-0", 1000, RANGE_UNSATISFIABLE);
	test_range_is("bytes=-000", 1000, RANGE_UNSATISFIABLE);
}

/* Every range of an empty file is unsatisfiable. */
static void
test_empty_file_range_is_unsatisfiable(void **state)
{
	(void)state;
	test_range_is("bytes=0-0", 0, RANGE_UNSATISFIABLE);
	test_range_is("bytes=0-", 0, RANGE_UNSATISFIABLE);
	test_range_is("bytes=-1", 0, RANGE_UNSATISFIABLE);
	test_range_is("bytes=-0", 0, RANGE_UNSATISFIABLE);
}

/* More than one range sends the whole file. */
static void
test_several_ranges_are_ignored(void **state)
{
	(void)state;
	test_range_is("bytes=0-1,5-6", 1000, RANGE_NONE);
	test_range_is("bytes=0-1, 0-1", 1000, RANGE_NONE);
	test_range_is("bytes=-5,0-", 1000, RANGE_NONE);
	test_range_is("bytes=2000-,3000-", 1000, RANGE_NONE);
}

/* Whitespace around the element is allowed. */
static void
test_whitespace_around_element_is_allowed(void **state)
{
	(void)state;
	test_range_ok("bytes= 0-1", 1000, 0, 1);
	test_range_ok("bytes=0-1 ", 1000, 0, 1);
	test_range_ok("bytes=\t-5\t", 1000, 995, 999);
}

/* Empty list elements are skipped (RFC 9110 5.6.1.2). */
static void
test_empty_list_elements_are_skipped(void **state)
{
	(void)state;
	test_range_ok("bytes=,0-1", 1000, 0, 1);
	test_range_ok("bytes=0-1,", 1000, 0, 1);
	test_range_ok("bytes= , 10- ,, ", 1000, 10, 999);
}

/* A range set with no range is ignored. */
static void
test_empty_range_set_is_ignored(void **state)
{
	(void)state;
	test_range_is("bytes=", 1000, RANGE_NONE);
	test_range_is("bytes= ", 1000, RANGE_NONE);
	test_range_is("bytes=,", 1000, RANGE_NONE);
	test_range_is("bytes= , ,", 1000, RANGE_NONE);
}

/* Spaces inside a range or number are junk. */
static void
test_space_inside_range_is_ignored(void **state)
{
	(void)state;
	test_range_is("bytes=0 -1", 1000, RANGE_NONE);
	test_range_is("bytes=0- 1", 1000, RANGE_NONE);
	test_range_is("bytes=1 0-20", 1000, RANGE_NONE);
	test_range_is("bytes=0-2 0", 1000, RANGE_NONE);
	test_range_is("bytes=- 5", 1000, RANGE_NONE);
}

/* Anything else that is not a range is ignored. */
static void
test_junk_is_ignored(void **state)
{
	(void)state;
	test_range_is("bytes=-", 1000, RANGE_NONE);
	test_range_is("bytes=a-b", 1000, RANGE_NONE);
	test_range_is("bytes=1", 1000, RANGE_NONE);
	test_range_is("bytes=0-1x", 1000, RANGE_NONE);
	test_range_is("bytes=0-1;", 1000, RANGE_NONE);
	test_range_is("bytes=+1-2", 1000, RANGE_NONE);
	test_range_is("bytes=0x1-2", 1000, RANGE_NONE);
	test_range_is("bytes=--1", 1000, RANGE_NONE);
	test_range_is("bytes=1--2", 1000, RANGE_NONE);
	test_range_is("bytes=0-1,junk", 1000, RANGE_NONE);
	test_range_is("bytes=-1-2", 1000, RANGE_NONE);
}

/* A first position too large for any integer is unsatisfiable. */
static void
test_huge_first_is_unsatisfiable(void **state)
{
	(void)state;
	test_range_is(
	    "bytes=99999999999999999999999999-", 1000, RANGE_UNSATISFIABLE);
	test_range_is("bytes=99999999999999999999999999-"
		      "99999999999999999999999999",
	    1000, RANGE_UNSATISFIABLE);
	test_range_is("bytes=18446744073709551616-", 1000, RANGE_UNSATISFIABLE);
}

/* A last position too large for any integer is clamped. */
static void
test_huge_last_is_clamped(void **state)
{
	(void)state;
	test_range_ok("bytes=0-99999999999999999999999999", 1000, 0, 999);
	test_range_ok("bytes=10-18446744073709551616", 1000, 10, 999);
}

/* A suffix too large for any integer is the whole file. */
static void
test_huge_suffix_is_whole_file(void **state)
{
	(void)state;
	test_range_ok("bytes=-99999999999999999999999999", 1000, 0, 999);
}

/* Positions near the largest file size are exact. */
static void
test_largest_file_size(void **state)
{
	off_t max = (off_t)INT64_MAX;

	(void)state;
	test_range_ok("bytes=-1", max, max - 1, max - 1);
	test_range_ok("bytes=9223372036854775806-", max, max - 1, max - 1);
	test_range_is("bytes=9223372036854775807-", max, RANGE_UNSATISFIABLE);
}

/* A negative size, which no file has, is ignored. */
static void
test_negative_size_is_ignored(void **state)
{
	(void)state;
	test_range_is("bytes=0-0", -1, RANGE_NONE);
	test_range_is("bytes=-1", -1, RANGE_NONE);
}

/* Only len bytes of the value are read; it need not be NUL-terminated. */
static void
test_value_is_bounded_by_len(void **state)
{
	off_t first, last;

	(void)state;
	assert_int_equal(range_parse("bytes=0-5", 8, 1000, &first, &last),
	    RANGE_SATISFIABLE);
	assert_int_equal(first, 0);
	assert_int_equal(last, 999);
	assert_int_equal(
	    range_parse("bytes=0-5", 5, 1000, &first, &last), RANGE_NONE);
}

/* Run every range.c test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_int_range_is_satisfiable),
	    cmocka_unit_test(test_one_byte_range),
	    cmocka_unit_test(test_unit_is_case_insensitive),
	    cmocka_unit_test(test_other_unit_is_ignored),
	    cmocka_unit_test(test_missing_equals_is_ignored),
	    cmocka_unit_test(test_range_ending_on_last_byte),
	    cmocka_unit_test(test_last_beyond_end_is_clamped),
	    cmocka_unit_test(test_first_greater_than_last_is_ignored),
	    cmocka_unit_test(test_first_at_or_past_end_is_unsatisfiable),
	    cmocka_unit_test(test_open_range_runs_to_end),
	    cmocka_unit_test(test_open_range_from_last_byte),
	    cmocka_unit_test(test_suffix_range_is_last_bytes),
	    cmocka_unit_test(test_suffix_range_longer_than_file_is_whole_file),
	    cmocka_unit_test(test_zero_suffix_is_unsatisfiable),
	    cmocka_unit_test(test_empty_file_range_is_unsatisfiable),
	    cmocka_unit_test(test_several_ranges_are_ignored),
	    cmocka_unit_test(test_whitespace_around_element_is_allowed),
	    cmocka_unit_test(test_empty_list_elements_are_skipped),
	    cmocka_unit_test(test_empty_range_set_is_ignored),
	    cmocka_unit_test(test_space_inside_range_is_ignored),
	    cmocka_unit_test(test_junk_is_ignored),
	    cmocka_unit_test(test_huge_first_is_unsatisfiable),
	    cmocka_unit_test(test_huge_last_is_clamped),
	    cmocka_unit_test(test_huge_suffix_is_whole_file),
	    cmocka_unit_test(test_largest_file_size),
	    cmocka_unit_test(test_negative_size_is_ignored),
	    cmocka_unit_test(test_value_is_bounded_by_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
