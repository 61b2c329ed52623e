/*
 * Unit tests for cachectl.c: [http] cache rules, parsed and matched
 * against the path of the file served.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

/* Add each rule of a NULL-terminated list to cc, asserting success. */
static void
test_rules(struct cachectl *cc, const char *const *rules)
{
	char why[256];

	memset(cc, 0, sizeof(*cc));
	for (; *rules != NULL; rules++)
		assert_int_equal(cachectl_add(cc, *rules, why, sizeof(why)), 0);
}

/* Return what path matches in cc, or "" for no rule. */
static const char *
test_match(const struct cachectl *cc, const char *path)
{
	const char *v = cachectl_match(cc, path, strlen(path));

	return v != NULL ? v : "";
}

/* Assert that value is rejected, with a reason that contains want. */
static void
test_rejected(const char *value, const char *want)
{
	struct cachectl cc;
	char why[256];

	memset(&cc, 0, sizeof(cc));
	why[0] = '\0';
	assert_int_equal(cachectl_add(&cc, value, why, sizeof(why)), -1);
	assert_non_null(strstr(why, want));
	assert_int_equal(cc.cc_n, 0);
}

/* A prefix rule matches every path that starts with it, only those. */
static void
test_prefix_matches_paths_under_it(void **state)
{
	static const char *const rules[] = {
	    "/assets/ public, max-age=31536000, immutable", NULL};
	struct cachectl cc;

	(void)state;
	test_rules(&cc, rules);
	assert_string_equal(test_match(&cc, "/assets/app.js"),
	    "public, max-age=31536000, immutable");
	assert_string_equal(test_match(&cc, "/assets/a/b/c.css"),
	    "public, max-age=31536000, immutable");
	assert_string_equal(test_match(&cc, "/assets"), "");
	assert_string_equal(test_match(&cc, "/other/assets/x"), "");
	cachectl_free(&cc);
}

/* A prefix compares case-sensitively, as paths do. */
static void
test_prefix_is_case_sensitive(void **state)
{
	static const char *const rules[] = {"/Assets/ max-age=60", NULL};
	struct cachectl cc;

	(void)state;
	test_rules(&cc, rules);
	assert_string_equal(test_match(&cc, "/assets/x"), "");
	assert_string_equal(test_match(&cc, "/Assets/x"), "max-age=60");
	cachectl_free(&cc);
}

/* An extension matches the end of the last segment, in any case. */
static void
test_extension_matches_file_name_end(void **state)
{
	static const char *const rules[] = {".html no-cache", NULL};
	struct cachectl cc;

	(void)state;
	test_rules(&cc, rules);
	assert_string_equal(test_match(&cc, "/index.html"), "no-cache");
	assert_string_equal(test_match(&cc, "/a/b/PAGE.HTML"), "no-cache");
	assert_string_equal(test_match(&cc, "/a.html/file.txt"), "");
	assert_string_equal(test_match(&cc, "/page.htm"), "");
	assert_string_equal(test_match(&cc, "/html"), "");
	cachectl_free(&cc);
}

/* A multi-part extension such as .tar.gz works. */
static void
test_extension_may_have_several_dots(void **state)
{
	static const char *const rules[] = {".tar.gz max-age=3600", NULL};
	struct cachectl cc;

	(void)state;
	test_rules(&cc, rules);
	assert_string_equal(test_match(&cc, "/d/x.tar.gz"), "max-age=3600");
	assert_string_equal(test_match(&cc, "/d/x.gz"), "");
	cachectl_free(&cc);
}

/* Rules are tried in order: the first that matches wins. */
static void
test_first_match_wins(void **state)
{
	static const char *const rules[] = {
	    "/assets/ immutable", ".html no-cache", "/ max-age=60", NULL};
	struct cachectl cc;

	(void)state;
	test_rules(&cc, rules);
	assert_string_equal(test_match(&cc, "/assets/x.html"), "immutable");
	assert_string_equal(test_match(&cc, "/x.html"), "no-cache");
	assert_string_equal(test_match(&cc, "/x.txt"), "max-age=60");
	cachectl_free(&cc);
}

/* No rules: nothing matches. */
static void
test_no_rules_match_nothing(void **state)
{
	struct cachectl cc;

	(void)state;
	memset(&cc, 0, sizeof(cc));
	assert_null(cachectl_match(&cc, "/x.html", 7));
}

/* The value is the rest of the line, spaces inside kept. */
static void
test_value_is_rest_of_line(void **state)
{
	static const char *const rules[] = {
	    "/a/ \t private,  max-age=0, must-revalidate", NULL};
	struct cachectl cc;

	(void)state;
	test_rules(&cc, rules);
	assert_string_equal(
	    test_match(&cc, "/a/b"), "private,  max-age=0, must-revalidate");
	cachectl_free(&cc);
}

/* Values that cannot be a rule are rejected with a reason. */
static void
test_bad_rules_are_rejected(void **state)
{
	(void)state;
	test_rejected("", "expected a path prefix");
	test_rejected("/assets/", "expected a path prefix");
	test_rejected("assets/ max-age=1", "starting with '/'");
	test_rejected(". max-age=1", "an extension is");
	test_rejected(".a/b max-age=1", "an extension is");
	test_rejected("/a\x01/ max-age=1", "printable ASCII");
	test_rejected("/a/ max-age=1\r\nX-Evil: 1", "printable ASCII");
	test_rejected("/a/ caf\xc3\xa9", "printable ASCII");
}

/* A value of CACHECTL_VALUE_MAX bytes is rejected, one byte less is not. */
static void
test_long_value_is_rejected(void **state)
{
	char value[4 + CACHECTL_VALUE_MAX + 1], why[256];
	struct cachectl cc;

	(void)state;
	memcpy(value, "/a/ ", 4);
	memset(value + 4, 'x', CACHECTL_VALUE_MAX);
	value[4 + CACHECTL_VALUE_MAX] = '\0';
	test_rejected(value, "at most");
	value[4 + CACHECTL_VALUE_MAX - 1] = '\0';
	memset(&cc, 0, sizeof(cc));
	assert_int_equal(cachectl_add(&cc, value, why, sizeof(why)), 0);
	assert_int_equal(
	    strlen(test_match(&cc, "/a/b")), CACHECTL_VALUE_MAX - 1);
	cachectl_free(&cc);
}

/* More than CACHECTL_MAX rules are rejected. */
static void
test_too_many_rules_are_rejected(void **state)
{
	struct cachectl cc;
	char why[256];
	int i;

	(void)state;
	memset(&cc, 0, sizeof(cc));
	for (i = 0; i < CACHECTL_MAX; i++)
		assert_int_equal(
		    cachectl_add(&cc, "/a/ no-store", why, sizeof(why)), 0);
	assert_int_equal(
	    cachectl_add(&cc, "/a/ no-store", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "more than"));
	cachectl_free(&cc);
	assert_int_equal(cc.cc_n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefix_matches_paths_under_it),
	    cmocka_unit_test(test_prefix_is_case_sensitive),
	    cmocka_unit_test(test_extension_matches_file_name_end),
	    cmocka_unit_test(test_extension_may_have_several_dots),
	    cmocka_unit_test(test_first_match_wins),
	    cmocka_unit_test(test_no_rules_match_nothing),
	    cmocka_unit_test(test_value_is_rest_of_line),
	    cmocka_unit_test(test_bad_rules_are_rejected),
	    cmocka_unit_test(test_long_value_is_rejected),
	    cmocka_unit_test(test_too_many_rules_are_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
