/*
 * Unit tests for errpage.c: [http] error_page lines, parsed and looked up
 * by status.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

/* Assert that value is rejected, with a reason that contains want. */
static void
test_rejected(const char *value, const char *want)
{
	struct errpages ep;
	char why[256];
	int i;

	memset(&ep, 0, sizeof(ep));
	why[0] = '\0';
	assert_int_equal(errpage_add(&ep, value, 3, why, sizeof(why)), -1);
	assert_non_null(strstr(why, want));
	for (i = ERRPAGE_FIRST; i <= ERRPAGE_LAST; i++)
		assert_null(errpage_path(&ep, i));
}

/* A page set for a status is that status's page, and no other's. */
static void
test_page_is_found_by_status(void **state)
{
	struct errpages ep;
	char why[256];

	(void)state;
	memset(&ep, 0, sizeof(ep));
	assert_int_equal(
	    errpage_add(&ep, "404 /errors/404.html", 7, why, sizeof(why)), 0);
	assert_int_equal(
	    errpage_add(&ep, "503\t/busy.html", 8, why, sizeof(why)), 0);
	assert_string_equal(errpage_path(&ep, 404), "/errors/404.html");
	assert_string_equal(errpage_path(&ep, 503), "/busy.html");
	assert_null(errpage_path(&ep, 403));
	assert_null(errpage_path(&ep, 200));
	assert_null(errpage_path(&ep, 600));
	errpage_free(&ep);
	assert_null(errpage_path(&ep, 404));
}

/* The bounds 400 and 599 are accepted. */
static void
test_status_bounds_are_accepted(void **state)
{
	struct errpages ep;
	char why[256];

	(void)state;
	memset(&ep, 0, sizeof(ep));
	assert_int_equal(errpage_add(&ep, "400 /a", 1, why, sizeof(why)), 0);
	assert_int_equal(errpage_add(&ep, "599 /b", 2, why, sizeof(why)), 0);
	assert_string_equal(errpage_path(&ep, 400), "/a");
	assert_string_equal(errpage_path(&ep, 599), "/b");
	errpage_free(&ep);
}

/* A status given twice names the line of the first. */
static void
test_duplicate_status_names_first_line(void **state)
{
	struct errpages ep;
	char why[256];

	(void)state;
	memset(&ep, 0, sizeof(ep));
	assert_int_equal(errpage_add(&ep, "404 /a", 12, why, sizeof(why)), 0);
	assert_int_equal(errpage_add(&ep, "404 /b", 13, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "status 404 already has a page (line 12)"));
	assert_string_equal(errpage_path(&ep, 404), "/a");
	errpage_free(&ep);
}

/* Statuses out of 400..599 or not three digits are rejected. */
static void
test_bad_statuses_are_rejected(void **state)
{
	(void)state;
	test_rejected("399 /a", "a status from 400 to 599");
	test_rejected("600 /a", "a status from 400 to 599");
	test_rejected("200 /a", "a status from 400 to 599");
	test_rejected("0404 /a", "a status from 400 to 599");
	test_rejected("40 /a", "a status from 400 to 599");
	test_rejected("abc /a", "a status from 400 to 599");
	test_rejected("404", "a status from 400 to 599");
	test_rejected("404/a", "a status from 400 to 599");
	test_rejected("", "a status from 400 to 599");
}

/* Paths that are not a normalised file path are rejected. */
static void
test_bad_paths_are_rejected(void **state)
{
	(void)state;
	test_rejected("404 errors/404.html", "expected a path");
	test_rejected("404 /", "expected a path");
	test_rejected("404 /errors/", "expected a path");
	test_rejected("404 /a//b", "expected a path");
	test_rejected("404 /a/./b", "expected a path");
	test_rejected("404 /../etc/passwd", "expected a path");
	test_rejected("404 /a/..", "expected a path");
	test_rejected("404 /a b", "expected a path");
	test_rejected("404 /caf\xc3\xa9", "expected a path");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_page_is_found_by_status),
	    cmocka_unit_test(test_status_bounds_are_accepted),
	    cmocka_unit_test(test_duplicate_status_names_first_line),
	    cmocka_unit_test(test_bad_statuses_are_rejected),
	    cmocka_unit_test(test_bad_paths_are_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
