/*
 * Unit tests for auth.c: [http] auth rules (read with their htpasswd
 * files), auth_realm, and Basic credentials decoded.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define BCRYPT "$2y$04$OO55adaRsiIkhOR4KKXzqeEbRSnLOzldR9VcJC6OT7XFT.URuS03q"

static char test_dir[] = "/tmp/pfhttpd-test-auth.XXXXXX";

/* Write text to dir/name. */
static void
test_write(const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", test_dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

/* Add rule value to au, asserting success. */
static void
test_add_ok(struct auth *au, const char *value)
{
	char why[256] = "", *file;
	int fline;

	if (auth_add(au, value, test_dir, 1, why, sizeof(why), &file, &fline) ==
	    -1)
		fail_msg("'%s': %s", value, why);
}

/* Return the prefix of the rule protecting path, or "" for none. */
static const char *
test_match(const struct auth *au, const char *path)
{
	const struct auth_rule *ar = auth_match(au, path, strlen(path));

	return ar != NULL ? ar->ar_prefix : "";
}

/* The first rule whose prefix starts the path decides; off exempts. */
static void
test_first_matching_prefix_decides(void **state)
{
	struct auth au;

	(void)state;
	memset(&au, 0, sizeof(au));
	test_write("users", "alice:" BCRYPT "\n");
	test_add_ok(&au, "/admin/public/ off");
	test_add_ok(&au, "/admin/ users");
	test_add_ok(&au, "/chat users");
	assert_string_equal(test_match(&au, "/admin/x.html"), "/admin/");
	assert_string_equal(test_match(&au, "/admin/"), "/admin/");
	assert_string_equal(test_match(&au, "/admin/public/a.txt"), "");
	assert_string_equal(test_match(&au, "/admin"), "");
	assert_string_equal(test_match(&au, "/index.html"), "");
	assert_string_equal(test_match(&au, "/chat/lobby"), "/chat");
	assert_int_equal(au.au_rules[1].ar_users.hp_n, 1);
	assert_int_equal(au.au_rules[0].ar_users.hp_n, 0);
	auth_free(&au);
}

/* Bad rule values are refused with a reason. */
static void
test_bad_rules_are_refused(void **state)
{
	static const char *const bad[] = {"/admin/", "admin/ users",
	    "/admin/ users extra", "", "/ad\x01min/ users", "/ad\x7fmin/ off",
	    "/caf\xe9/ users"};
	struct auth au;
	char why[256], *file;
	size_t i;
	int fline;

	(void)state;
	memset(&au, 0, sizeof(au));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(auth_add(&au, bad[i], test_dir, 1, why,
				     sizeof(why), &file, &fline),
		    -1);
		assert_null(file);
		assert_true(why[0] != '\0');
	}
	assert_int_equal(au.au_n, 0);
}

/* Assert that rule value is refused with a reason containing want. */
static void
test_add_refused(const char *value, const char *want)
{
	struct auth au;
	char why[256] = "", *file;
	int fline;

	memset(&au, 0, sizeof(au));
	assert_int_equal(
	    auth_add(&au, value, test_dir, 1, why, sizeof(why), &file, &fline),
	    -1);
	if (strstr(why, want) == NULL)
		fail_msg("'%s': '%s' does not say '%s'", value, why, want);
	assert_int_equal(au.au_n, 0);
}

/*
 * A prefix that no decoded, normalised path starts with is refused: it
 * would leave its path open.
 */
static void
test_prefixes_that_cannot_match_are_refused(void **state)
{
	(void)state;
	test_write("users", "alice:" BCRYPT "\n");
	test_add_refused("/my%20docs/ users", "as it is on disk");
	test_add_refused("/a?b off", "'?'");
	test_add_refused("/a#b users", "'#'");
	test_add_refused("//a/ users", "\"//\"");
	test_add_refused("/a//b/ users", "normalised");
	test_add_refused("/a/./ users", "\".\"");
	test_add_refused("/a/../b/ users", "\"..\"");
	test_add_refused("/a/.. users", "\"..\"");
	test_add_refused("/. users", "\".\"");
}

/* Prefixes that a normalised path may start with are taken. */
static void
test_dotfiles_and_utf8_prefixes_match(void **state)
{
	struct auth au;

	(void)state;
	memset(&au, 0, sizeof(au));
	test_write("users", "alice:" BCRYPT "\n");
	test_add_ok(&au, "/.git/ users");
	test_add_ok(&au, "/..a users");
	test_add_ok(&au, "/caf\xc3\xa9/ users");
	test_add_ok(&au, "/ off");
	assert_string_equal(test_match(&au, "/.git/config"), "/.git/");
	assert_string_equal(test_match(&au, "/..ab"), "/..a");
	assert_string_equal(
	    test_match(&au, "/caf\xc3\xa9/menu.txt"), "/caf\xc3\xa9/");
	assert_string_equal(test_match(&au, "/cafe/menu.txt"), "");
	auth_free(&au);
}

/* A missing file names itself; a bad line names the file and the line. */
static void
test_htpasswd_faults_name_file_and_line(void **state)
{
	struct auth au;
	char why[256], *file;
	int fline;

	(void)state;
	memset(&au, 0, sizeof(au));
	assert_int_equal(auth_add(&au, "/a/ missing", test_dir, 1, why,
			     sizeof(why), &file, &fline),
	    -1);
	assert_null(file);
	assert_non_null(strstr(why, "missing: No such file"));
	test_write("md5", "# x\nbob:$apr1$abc$def\n");
	assert_int_equal(auth_add(&au, "/a/ md5", test_dir, 1, why, sizeof(why),
			     &file, &fline),
	    -1);
	assert_non_null(file);
	assert_non_null(strstr(file, "/md5"));
	assert_int_equal(fline, 2);
	assert_non_null(strstr(why, "$apr1$"));
	free(file);
	assert_int_equal(au.au_n, 0);
}

/* Without load, the file is not read: the rule has no users. */
static void
test_rules_without_load_read_no_file(void **state)
{
	struct auth au;
	char why[256], *file;
	int fline;

	(void)state;
	memset(&au, 0, sizeof(au));
	assert_int_equal(auth_add(&au, "/a/ missing", test_dir, 0, why,
			     sizeof(why), &file, &fline),
	    0);
	assert_string_equal(test_match(&au, "/a/b"), "/a/");
	auth_free(&au);
}

/* A realm is printable ASCII without '"' or '\'. */
static void
test_realm_refuses_quotes_backslashes_and_controls(void **state)
{
	struct auth au;
	char why[256];

	(void)state;
	memset(&au, 0, sizeof(au));
	assert_int_equal(
	    auth_realm_set(&au, "Staff only, please", why, sizeof(why)), 0);
	assert_string_equal(au.au_realm, "Staff only, please");
	assert_int_equal(auth_realm_set(&au, "a\"b", why, sizeof(why)), -1);
	assert_int_equal(auth_realm_set(&au, "a\\b", why, sizeof(why)), -1);
	assert_int_equal(auth_realm_set(&au, "a\tb", why, sizeof(why)), -1);
	assert_int_equal(auth_realm_set(&au, "", why, sizeof(why)), -1);
	assert_string_equal(au.au_realm, "Staff only, please");
}

/* Assert that value decodes to user and password. */
static void
test_basic_ok(const char *value, const char *user, const char *pass)
{
	struct auth_basic ab;

	assert_int_equal(auth_basic_parse(value, strlen(value), &ab), 0);
	assert_int_equal(ab.ab_user_len, strlen(user));
	assert_memory_equal(ab.ab_buf, user, ab.ab_user_len);
	assert_string_equal(ab.ab_pass, pass);
}

/* Basic credentials decode, with or without padding, any scheme case. */
static void
test_basic_credentials_decode(void **state)
{
	(void)state;
	test_basic_ok("Basic YWxpY2U6c2VjcmV0", "alice", "secret");
	test_basic_ok("basic   YWxpY2U6c2VjcmV0  ", "alice", "secret");
	test_basic_ok("BASIC YTpi", "a", "b");
	test_basic_ok("Basic YTo=", "a", "");
	test_basic_ok("Basic YTo", "a", "");
	test_basic_ok("Basic OnA=", "", "p");
	test_basic_ok("Basic YTpiOmM=", "a", "b:c");
}

/* Other schemes, bad base64, no colon or a NUL byte are refused. */
static void
test_malformed_credentials_are_refused(void **state)
{
	static const char *const bad[] = {"Bearer YWxpY2U6c2VjcmV0",
	    "BasicYWxpY2U6c2VjcmV0", "Basic", "Basic ", "Basic YWxpY2U",
	    "Basic YW!pY2U6c2VjcmV0", "Basic Y",
	    "Basic YQA6Yg==", "Basic YWxp Y2U6c2VjcmV0"};
	struct auth_basic ab;
	char big[2000];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (auth_basic_parse(bad[i], strlen(bad[i]), &ab) != -1)
			fail_msg("'%s' was accepted", bad[i]);
	memcpy(big, "Basic ", 6);
	memset(big + 6, 'Q', sizeof(big) - 6);
	assert_int_equal(auth_basic_parse(big, sizeof(big), &ab), -1);
}

/* A copy is deep: it outlives the original. */
static void
test_copy_outlives_the_original(void **state)
{
	struct auth au, copy;
	char why[256];

	(void)state;
	memset(&au, 0, sizeof(au));
	memset(&copy, 0, sizeof(copy));
	test_write("users", "alice:" BCRYPT "\n");
	test_add_ok(&au, "/admin/ users");
	test_add_ok(&au, "/open/ off");
	assert_int_equal(auth_realm_set(&au, "r", why, sizeof(why)), 0);
	au.au_tls_only = 1;
	assert_int_equal(auth_copy(&copy, &au), 0);
	auth_free(&au);
	assert_string_equal(test_match(&copy, "/admin/a"), "/admin/");
	assert_non_null(htpasswd_find(
	    &auth_match(&copy, "/admin/", 7)->ar_users, "alice", 5));
	/* the realm and TLS flag are the copy's own (inherited key by key) */
	assert_string_equal(copy.au_realm, "");
	assert_int_equal(copy.au_tls_only, 0);
	auth_free(&copy);
}

/* Make the directory of the test files. */
static int
test_setup(void **state)
{
	(void)state;
	return mkdtemp(test_dir) == NULL ? -1 : 0;
}

/* Remove it. */
static int
test_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_matching_prefix_decides),
	    cmocka_unit_test(test_bad_rules_are_refused),
	    cmocka_unit_test(test_prefixes_that_cannot_match_are_refused),
	    cmocka_unit_test(test_dotfiles_and_utf8_prefixes_match),
	    cmocka_unit_test(test_htpasswd_faults_name_file_and_line),
	    cmocka_unit_test(test_rules_without_load_read_no_file),
	    cmocka_unit_test(
		test_realm_refuses_quotes_backslashes_and_controls),
	    cmocka_unit_test(test_basic_credentials_decode),
	    cmocka_unit_test(test_malformed_credentials_are_refused),
	    cmocka_unit_test(test_copy_outlives_the_original),
	};

	return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
