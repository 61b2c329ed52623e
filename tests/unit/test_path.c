/*
 * Unit tests for path.c: normalization, the dotfile check and encoding.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define OUTLEN 256

/* Normalize the NUL-terminated s into out (OUTLEN bytes); the result. */
static int
test_norm(const char *s, char *out)
{
	return path_normalize(s, strlen(s), out, OUTLEN);
}

/* Assert that s normalizes to want. */
static void
test_norm_ok(const char *s, const char *want)
{
	char out[OUTLEN];

	assert_int_equal(test_norm(s, out), 0);
	assert_string_equal(out, want);
}

/* Assert that s is rejected with 400. */
static void
test_norm_400(const char *s)
{
	char out[OUTLEN];

	assert_int_equal(test_norm(s, out), 400);
}

/* A bare "/" stays "/". */
static void
test_root_stays_root(void **state)
{
	(void)state;
	test_norm_ok("/", "/");
}

/* An already normal path comes back unchanged. */
static void
test_plain_path_is_unchanged(void **state)
{
	(void)state;
	test_norm_ok("/a/b/index.html", "/a/b/index.html");
}

/* A path that does not begin with '/' is 400. */
static void
test_relative_path_is_rejected(void **state)
{
	char out[OUTLEN];

	(void)state;
	test_norm_400("a/b");
	test_norm_400("*");
	test_norm_400("%2fa");
	assert_int_equal(path_normalize("", 0, out, sizeof(out)), 400);
}

/* %XX is decoded with upper- or lowercase hex digits. */
static void
test_percent_escapes_are_decoded_in_any_case(void **state)
{
	(void)state;
	test_norm_ok("/%41%62%7e%7E%20x", "/Ab~~ x");
	test_norm_ok("/%c3%A9", "/\xc3\xa9");
}

/* '%' not followed by two hex digits is 400. */
static void
test_percent_without_two_hex_digits_is_rejected(void **state)
{
	(void)state;
	test_norm_400("/%");
	test_norm_400("/a%");
	test_norm_400("/a%4");
	test_norm_400("/a%4g");
	test_norm_400("/a%g4");
	test_norm_400("/a%%41");
	test_norm_400("/a% 41");
}

/* %00 is 400. */
static void
test_percent_encoded_nul_is_rejected(void **state)
{
	(void)state;
	test_norm_400("/a%00b");
	test_norm_400("/%00");
}

/* A literal NUL byte inside the given length is 400. */
static void
test_literal_nul_byte_is_rejected(void **state)
{
	char out[OUTLEN];

	(void)state;
	assert_int_equal(path_normalize("/a\0b", 4, out, sizeof(out)), 400);
	assert_int_equal(path_normalize("/\0", 2, out, sizeof(out)), 400);
}

/* Only len bytes of the input are read; it need not be NUL-terminated. */
static void
test_input_is_bounded_by_len(void **state)
{
	char out[OUTLEN];

	(void)state;
	assert_int_equal(path_normalize("/a/bcd", 4, out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b");
	/* The escape is cut by len, so it is incomplete. */
	assert_int_equal(path_normalize("/a%41", 4, out, sizeof(out)), 400);
}

/* "." and ".." segments are removed, ".." taking its parent with it. */
static void
test_dot_segments_are_removed(void **state)
{
	(void)state;
	test_norm_ok("/a/./b/../c", "/a/c");
	test_norm_ok("/a/b/c/../../d", "/a/d");
	test_norm_ok("/./a", "/a");
	test_norm_ok("/a/../b/./../c", "/c");
}

/* A %-encoded ".." is decoded first and then removed like a plain one. */
static void
test_percent_encoded_dotdot_is_removed_after_decoding(void **state)
{
	(void)state;
	test_norm_ok("/a/%2e%2e/b", "/b");
	test_norm_ok("/a/%2E./b", "/b");
	test_norm_ok("/a/.%2e/b", "/b");
	test_norm_ok("/a/%2e/b", "/a/b");
}

/* A %-encoded ".." cannot climb above the root. */
static void
test_percent_encoded_dotdot_cannot_climb_above_root(void **state)
{
	(void)state;
	test_norm_400("/%2e%2e/etc/passwd");
	test_norm_400("/a/%2e%2e/%2E%2E/etc/passwd");
}

/* %2f is a separator, so it cannot hide a ".." segment. */
static void
test_percent_encoded_slash_cannot_smuggle_dotdot(void **state)
{
	(void)state;
	test_norm_400("/a%2f..%2f..%2fetc");
	test_norm_ok("/a%2fb%2F..%2fc", "/a/c");
}

/* A plain ".." above the root is 400. */
static void
test_dotdot_above_root_is_rejected(void **state)
{
	(void)state;
	test_norm_400("/..");
	test_norm_400("/../");
	test_norm_400("/../a");
	test_norm_400("/a/../..");
	test_norm_400("/a/../../b");
	test_norm_400("/a/./../b/../../c");
}

/* ".." back to the root itself is fine and leaves "/". */
static void
test_dotdot_back_to_root_is_root(void **state)
{
	(void)state;
	test_norm_ok("/a/..", "/");
	test_norm_ok("/a/b/../../", "/");
}

/* A trailing slash is kept. */
static void
test_trailing_slash_is_kept(void **state)
{
	(void)state;
	test_norm_ok("/a/b/", "/a/b/");
	test_norm_ok("/a/b//", "/a/b/");
}

/* A trailing "." leaves the directory with a trailing slash. */
static void
test_trailing_dot_leaves_trailing_slash(void **state)
{
	(void)state;
	test_norm_ok("/a/.", "/a/");
	test_norm_ok("/.", "/");
	test_norm_ok("/a/%2e", "/a/");
}

/* A trailing ".." leaves the parent with a trailing slash. */
static void
test_trailing_dotdot_leaves_trailing_slash(void **state)
{
	(void)state;
	test_norm_ok("/a/b/..", "/a/");
	test_norm_ok("/a/b/%2e%2e", "/a/");
}

/* Runs of slashes collapse into one. */
static void
test_repeated_slashes_are_merged(void **state)
{
	(void)state;
	test_norm_ok("//x//y", "/x/y");
	test_norm_ok("///", "/");
	test_norm_ok("/a%2f%2f/b", "/a/b");
}

/* Names that merely contain or start with dots are ordinary segments. */
static void
test_dots_inside_names_are_ordinary(void **state)
{
	(void)state;
	test_norm_ok("/..a/b../.../.x/a.b", "/..a/b../.../.x/a.b");
	test_norm_ok("/.../..", "/");
}

/* A backslash is an ordinary byte, not a separator. */
static void
test_backslash_is_an_ordinary_byte(void **state)
{
	(void)state;
	test_norm_ok("/a\\..\\b", "/a\\..\\b");
	test_norm_ok("/..\\", "/..\\");
	test_norm_ok("/%5c../x", "/\\../x");
}

/* A result that exactly fills out with its NUL is accepted. */
static void
test_result_exactly_fitting_outlen_is_accepted(void **state)
{
	char out[5];

	(void)state;
	memset(out, 'X', sizeof(out));
	assert_int_equal(path_normalize("/abc", 4, out, 5), 0);
	assert_string_equal(out, "/abc");
	assert_int_equal(path_normalize("/", 1, out, 2), 0);
	assert_string_equal(out, "/");
}

/* A result one byte too long is 414, and out is not overrun. */
static void
test_result_one_byte_too_long_is_414(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'X', sizeof(out));
	assert_int_equal(path_normalize("/abc", 4, out, 4), 414);
	assert_int_equal(out[4], 'X');
	assert_int_equal(path_normalize("/a/bc", 5, out, 5), 414);
	assert_int_equal(out[5], 'X');
	assert_int_equal(path_normalize("/", 1, out, 1), 414);
}

/* The kept trailing slash counts towards the length. */
static void
test_trailing_slash_counts_towards_outlen(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(path_normalize("/abc/", 5, out, 5), 414);
	assert_int_equal(path_normalize("/abc/", 5, out, 6), 0);
	assert_string_equal(out, "/abc/");
	assert_int_equal(path_normalize("/abc/.", 6, out, 5), 414);
}

/* outlen 0 is 414 and nothing is written. */
static void
test_zero_outlen_is_414(void **state)
{
	char out[1];

	(void)state;
	out[0] = 'X';
	assert_int_equal(path_normalize("/", 1, out, 0), 414);
	assert_int_equal(out[0], 'X');
}

/* Only the result must fit: a long segment that ".." removes is fine. */
static void
test_long_segment_removed_by_dotdot_still_fits(void **state)
{
	const char *in = "/a/bbbbbbbbbbbbbbbbbbbb/cccccccccc/../../d";
	char out[5];

	(void)state;
	assert_int_equal(path_normalize(in, strlen(in), out, sizeof(out)), 0);
	assert_string_equal(out, "/a/d");
	in = "/%61%61%61";
	assert_int_equal(path_normalize(in, strlen(in), out, sizeof(out)), 0);
	assert_string_equal(out, "/aaa");
}

/* A segment that did not fit is still there for a later "..". */
static void
test_segment_that_did_not_fit_is_popped_first(void **state)
{
	const char *in = "/a/bbbbbbbbbb/../c";
	char out[5];

	(void)state;
	assert_int_equal(path_normalize(in, strlen(in), out, sizeof(out)), 0);
	assert_string_equal(out, "/a/c");
	in = "/a/bbbbbbbbbb/cc/..";
	assert_int_equal(path_normalize(in, strlen(in), out, sizeof(out)), 414);
	in = "/a/bbbbbbbbbb/../../..";
	assert_int_equal(path_normalize(in, strlen(in), out, sizeof(out)), 400);
}

/* Bad input is 400 even where the result would also be too long. */
static void
test_bad_input_wins_over_too_long(void **state)
{
	const char *in = "/aaaaaaaaaaaaaaaa/%zz";
	char out[4];

	(void)state;
	assert_int_equal(path_normalize(in, strlen(in), out, sizeof(out)), 400);
	in = "/aaaaaaaaaaaaaaaa/../..";
	assert_int_equal(path_normalize(in, strlen(in), out, sizeof(out)), 400);
}

/* Return 1 if the normalized s has no ".", ".." or empty inner segment. */
static int
test_is_normal(const char *s)
{
	const char *p, *seg;
	size_t n;

	if (s[0] != '/')
		return 0;
	for (p = s + 1; *p != '\0';) {
		seg = p;
		while (*p != '\0' && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (n == 0 && *p == '/')
			return 0; /* "//" */
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (*p == '/')
			p++;
	}
	return 1;
}

/*
 * Every path up to six tokens long built from '/', '.', "a", "%2e" and
 * "%2f" normalizes to something without ".", ".." or "//", or is 400.
 */
static void
test_result_never_has_dot_segments_or_double_slash(void **state)
{
	static const char *const tok[] = {"/", ".", "a", "%2e", "%2f"};
	char in[64], out[OUTLEN];
	size_t len;
	int i, k, n, total, ntok = 5, rc;

	(void)state;
	total = 1;
	for (n = 0; n <= 6; n++) {
		if (n > 0)
			total *= ntok;
		for (i = 0; i < total; i++) {
			strcpy(in, "/");
			for (k = 0, rc = i; k < n; k++, rc /= ntok)
				strcat(in, tok[rc % ntok]);
			len = strlen(in);
			rc = path_normalize(in, len, out, sizeof(out));
			if (rc == 400)
				continue;
			assert_int_equal(rc, 0);
			if (!test_is_normal(out))
				fail_msg("\"%s\" -> \"%s\"", in, out);
		}
	}
}

/* A segment that starts with '.' is a dotfile, anywhere in the path. */
static void
test_dotfile_segment_is_detected(void **state)
{
	(void)state;
	assert_int_equal(path_has_dotfile("/.git/config"), 1);
	assert_int_equal(path_has_dotfile("/a/.htaccess"), 1);
	assert_int_equal(path_has_dotfile("/a/.x/"), 1);
	assert_int_equal(path_has_dotfile("/a/b/..c"), 1);
}

/* A dot elsewhere in a name is not a dotfile. */
static void
test_dot_inside_name_is_not_dotfile(void **state)
{
	(void)state;
	assert_int_equal(path_has_dotfile("/"), 0);
	assert_int_equal(path_has_dotfile("/a.b/c./index.html"), 0);
	assert_int_equal(path_has_dotfile("/a/b/"), 0);
}

/* Unreserved characters, sub-delims, ':', '@' and '/' are not encoded. */
static void
test_encode_keeps_unreserved_and_sub_delims(void **state)
{
	const char *keep = "/ABCXYZabcxyz0189-._~/!$&'()*+,;=:@";
	char out[OUTLEN];

	(void)state;
	assert_int_equal(path_encode(keep, out, sizeof(out)), 0);
	assert_string_equal(out, keep);
}

/* Every other byte becomes %XX with uppercase hex. */
static void
test_encode_escapes_other_bytes_in_uppercase_hex(void **state)
{
	char out[OUTLEN];

	(void)state;
	assert_int_equal(
	    path_encode("/a b?#%\"<>[]{}|^`", out, sizeof(out)), 0);
	assert_string_equal(
	    out, "/a%20b%3F%23%25%22%3C%3E%5B%5D%7B%7D%7C%5E%60");
	assert_int_equal(
	    path_encode("/\xc3\xa9\x7f\x01\r\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/%C3%A9%7F%01%0D%0A");
}

/* A backslash is encoded, so "/\host" cannot become a redirect to host. */
static void
test_encode_escapes_backslash(void **state)
{
	char out[OUTLEN];

	(void)state;
	assert_int_equal(path_encode("/\\evil.example", out, sizeof(out)), 0);
	assert_string_equal(out, "/%5Cevil.example");
}

/* Encoding what path_normalize made never yields a leading "//". */
static void
test_encoded_normalized_path_never_begins_with_two_slashes(void **state)
{
	static const char *const in[] = {"//evil.example", "/%2fevil.example",
	    "/./%2F/evil.example", "/a/..//evil.example"};
	char norm[OUTLEN], out[OUTLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		assert_int_equal(test_norm(in[i], norm), 0);
		assert_int_equal(path_encode(norm, out, sizeof(out)), 0);
		assert_string_equal(out, "/evil.example");
	}
}

/* An encoded result that exactly fills out is accepted. */
static void
test_encode_exactly_fitting_outlen_is_accepted(void **state)
{
	char out[7];

	(void)state;
	assert_int_equal(path_encode("/a b", out, 7), 0);
	assert_string_equal(out, "/a%20b");
	assert_int_equal(path_encode("/ab", out, 4), 0);
	assert_string_equal(out, "/ab");
}

/* One byte short, or an escape that would be cut, is -1. */
static void
test_encode_too_long_fails(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'X', sizeof(out));
	assert_int_equal(path_encode("/a b", out, 6), -1);
	assert_int_equal(out[6], 'X');
	assert_int_equal(path_encode("/a b", out, 4), -1);
	memset(out, 'X', sizeof(out));
	assert_int_equal(path_encode("/ab", out, 3), -1);
	assert_int_equal(out[3], 'X');
	out[0] = 'X';
	assert_int_equal(path_encode("/", out, 0), -1);
	assert_int_equal(out[0], 'X');
}

/* Run every path.c test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root_stays_root),
	    cmocka_unit_test(test_plain_path_is_unchanged),
	    cmocka_unit_test(test_relative_path_is_rejected),
	    cmocka_unit_test(test_percent_escapes_are_decoded_in_any_case),
	    cmocka_unit_test(test_percent_without_two_hex_digits_is_rejected),
	    cmocka_unit_test(test_percent_encoded_nul_is_rejected),
	    cmocka_unit_test(test_literal_nul_byte_is_rejected),
	    cmocka_unit_test(test_input_is_bounded_by_len),
	    cmocka_unit_test(test_dot_segments_are_removed),
	    cmocka_unit_test(
		test_percent_encoded_dotdot_is_removed_after_decoding),
	    cmocka_unit_test(
		test_percent_encoded_dotdot_cannot_climb_above_root),
	    cmocka_unit_test(test_percent_encoded_slash_cannot_smuggle_dotdot),
	    cmocka_unit_test(test_dotdot_above_root_is_rejected),
	    cmocka_unit_test(test_dotdot_back_to_root_is_root),
	    cmocka_unit_test(test_trailing_slash_is_kept),
	    cmocka_unit_test(test_trailing_dot_leaves_trailing_slash),
	    cmocka_unit_test(test_trailing_dotdot_leaves_trailing_slash),
	    cmocka_unit_test(test_repeated_slashes_are_merged),
	    cmocka_unit_test(test_dots_inside_names_are_ordinary),
	    cmocka_unit_test(test_backslash_is_an_ordinary_byte),
	    cmocka_unit_test(test_result_exactly_fitting_outlen_is_accepted),
	    cmocka_unit_test(test_result_one_byte_too_long_is_414),
	    cmocka_unit_test(test_trailing_slash_counts_towards_outlen),
	    cmocka_unit_test(test_zero_outlen_is_414),
	    cmocka_unit_test(test_long_segment_removed_by_dotdot_still_fits),
	    cmocka_unit_test(test_segment_that_did_not_fit_is_popped_first),
	    cmocka_unit_test(test_bad_input_wins_over_too_long),
	    cmocka_unit_test(
		test_result_never_has_dot_segments_or_double_slash),
	    cmocka_unit_test(test_dotfile_segment_is_detected),
	    cmocka_unit_test(test_dot_inside_name_is_not_dotfile),
	    cmocka_unit_test(test_encode_keeps_unreserved_and_sub_delims),
	    cmocka_unit_test(test_encode_escapes_other_bytes_in_uppercase_hex),
	    cmocka_unit_test(test_encode_escapes_backslash),
	    cmocka_unit_test(
		test_encoded_normalized_path_never_begins_with_two_slashes),
	    cmocka_unit_test(test_encode_exactly_fitting_outlen_is_accepted),
	    cmocka_unit_test(test_encode_too_long_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
