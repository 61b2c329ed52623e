/*
 * Unit tests for htpasswd.c: htpasswd files parsed (bcrypt and
 * SHA-512-crypt only), users found by name.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define BCRYPT "$2y$04$OO55adaRsiIkhOR4KKXzqeEbRSnLOzldR9VcJC6OT7XFT.URuS03q"
#define SHA512                                                                 \
	"$6$rounds=5000$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U" \
	"0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"
#define SHA512_NOROUNDS                                                        \
	"$6$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvgY..TKjv1T..8R"  \
	"adRt2qvUHYRLr/TsVArtr91iR1"

/* Hashes of the right shape for their cost, which no password gives. */
#define BCRYPT_COST5                                                           \
	"$2y$05$OO55adaRsiIkhOR4KKXzqeEbRSnLOzldR9VcJC6OT7XFT.URuS03q"
#define SHA512_MAX                                                             \
	"$6$rounds=999999999$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1" \
	"E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"
#define SHA512_6000                                                            \
	"$6$rounds=6000$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U" \
	"0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"

/* Parse text into hp, asserting success. */
static void
test_parse_ok(struct htpasswd *hp, const char *text)
{
	char why[256] = "";
	int line;

	memset(hp, 0, sizeof(*hp));
	assert_int_equal(
	    htpasswd_parse(hp, text, strlen(text), &line, why, sizeof(why)), 0);
}

/* Assert that text is refused at line, with a reason containing want. */
static void
test_refused(const char *text, int want_line, const char *want)
{
	struct htpasswd hp;
	char why[256] = "";
	int line;

	memset(&hp, 0, sizeof(hp));
	assert_int_equal(
	    htpasswd_parse(&hp, text, strlen(text), &line, why, sizeof(why)),
	    -1);
	if (strstr(why, want) == NULL)
		fail_msg("'%s' does not say '%s'", why, want);
	assert_int_equal(line, want_line);
	assert_int_equal(hp.hp_n, 0);
	assert_null(hp.hp_users);
}

/* bcrypt and SHA-512-crypt lines are read; each user is found by name. */
static void
test_bcrypt_and_sha512_users_are_found(void **state)
{
	struct htpasswd hp;
	const struct htpasswd_user *hu;

	(void)state;
	test_parse_ok(&hp,
	    "bob:" SHA512 "\nalice:" BCRYPT "\ncarol:" SHA512_NOROUNDS "\n");
	assert_int_equal(hp.hp_n, 3);
	hu = htpasswd_find(&hp, "alice", 5);
	assert_non_null(hu);
	assert_string_equal(hu->hu_hash, BCRYPT);
	assert_int_equal(hu->hu_line, 2);
	hu = htpasswd_find(&hp, "bob", 3);
	assert_non_null(hu);
	assert_string_equal(hu->hu_hash, SHA512);
	assert_non_null(htpasswd_find(&hp, "carol", 5));
	htpasswd_free(&hp);
}

/* A name is found only whole: not a prefix, not a longer name. */
static void
test_find_matches_whole_names_only(void **state)
{
	struct htpasswd hp;

	(void)state;
	test_parse_ok(&hp, "alice:" BCRYPT "\nalicia:" BCRYPT "\n");
	assert_null(htpasswd_find(&hp, "ali", 3));
	assert_null(htpasswd_find(&hp, "alicex", 6));
	assert_null(htpasswd_find(&hp, "Alice", 5));
	assert_null(htpasswd_find(&hp, "", 0));
	assert_null(htpasswd_find(&hp, "alice\0x", 7));
	assert_non_null(htpasswd_find(&hp, "alice:", 5));
	htpasswd_free(&hp);
}

/* A user name may be an e-mail address or any printable ASCII but ':'. */
static void
test_user_names_may_be_email_addresses(void **state)
{
	struct htpasswd hp;

	(void)state;
	test_parse_ok(
	    &hp, "alice.doe@example.com:" BCRYPT "\nb\"o#b!:" BCRYPT "\n");
	assert_non_null(htpasswd_find(&hp, "alice.doe@example.com", 21));
	assert_non_null(htpasswd_find(&hp, "b\"o#b!", 6));
	htpasswd_free(&hp);
}

/* Blank lines, '#' comments, CRLF and a last line without newline. */
static void
test_comments_blank_lines_and_crlf_are_allowed(void **state)
{
	struct htpasswd hp;

	(void)state;
	test_parse_ok(&hp,
	    "# users\r\n\r\n  \t\nalice:" BCRYPT "\r\n#bob:x\nbob:" SHA512);
	assert_int_equal(hp.hp_n, 2);
	assert_int_equal(htpasswd_find(&hp, "bob", 3)->hu_line, 6);
	htpasswd_free(&hp);
	test_parse_ok(&hp, "");
	assert_int_equal(hp.hp_n, 0);
}

/* Weak or unknown hash kinds are refused, each named. */
static void
test_weak_hashes_are_refused(void **state)
{
	(void)state;
	test_refused("alice:" BCRYPT "\nbob:$apr1$abc$defghijklmnopqrstuvwx\n",
	    2, "$apr1$");
	test_refused("bob:$1$abc$defghijklmnopqrstuvwx\n", 1, "MD5-crypt");
	test_refused("bob:$5$abc$defghijklmnopqrstuvwx\n", 1, "SHA-256");
	test_refused("bob:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\n", 1, "{SHA}");
	test_refused("bob:secret\n", 1, "plain text");
	test_refused("bob:abJnggxhB/yWI\n", 1, "DES");
	test_refused("bob:\n", 1, "empty");
}

/* Hashes of an accepted kind but the wrong shape are refused. */
static void
test_malformed_hashes_are_refused(void **state)
{
	(void)state;
	test_refused("a:" BCRYPT "x\n", 1, "malformed bcrypt");
	test_refused("a:$2y$99$OO55adaRsiIkhOR4KKXzqeEbRSnLOzldR9VcJC6OT7XFT."
		     "URuS03q\n",
	    1, "cost");
	test_refused("a:$2x$04$OO55adaRsiIkhOR4KKXzqeEbRSnLOzldR9VcJC6OT7XFT."
		     "URuS03q\n",
	    1, "unsupported bcrypt variant");
	test_refused("a:$2$04$OO55adaRsiIkhOR4KKXzqeEbRSnLOzldR9VcJC6OT7XFT."
		     "URuS03q\n",
	    1, "unsupported bcrypt variant");
	test_refused("a:$6$abc$short\n", 1, "malformed SHA-512");
	test_refused(
	    "a:$6$rounds=10$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHw"
	    "wTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1\n",
	    1, "rounds");
	test_refused("a:$6$$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy"
		     "0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1\n",
	    1, "malformed SHA-512");
}

/*
 * A hash longer than a user's buffer is refused, naming the user: here
 * "rounds=" with 900 leading zeros, which would otherwise be 1010 bytes.
 */
static void
test_hash_longer_than_its_buffer_is_refused(void **state)
{
	char text[1100];
	int n;

	(void)state;
	n = snprintf(text, sizeof(text),
	    "# x\nu:$6$rounds=%0904d$saltsalt$%s\n", 5000, &SHA512[24]);
	assert_true(n > 1000 && (size_t)n < sizeof(text));
	test_refused(text, 2, "user 'u': a hash of more than 127 characters");
}

/* "rounds=" is written as crypt writes it: no leading zero. */
static void
test_sha512_rounds_with_a_leading_zero_is_refused(void **state)
{
	(void)state;
	test_refused(
	    "a:$6$rounds=05000$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNu"
	    "HwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1\n",
	    1, "leading zero");
	test_refused(
	    "a:$6$rounds=1000000000$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gR"
	    "stiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5"
	    "hVO1\n",
	    1, "rounds out of range");
}

/* Lines without a colon, bad or empty names, and a name twice. */
static void
test_bad_lines_and_names_are_refused(void **state)
{
	(void)state;
	test_refused("\n\nalice " BCRYPT "\n", 3, "expected user:hash");
	test_refused(":" BCRYPT "\n", 1, "1 to 64");
	test_refused("al ice:" BCRYPT "\n", 1, "printable ASCII");
	test_refused("al\tice:" BCRYPT "\n", 1, "printable ASCII");
	test_refused("al\x7fice:" BCRYPT "\n", 1, "printable ASCII");
	test_refused("\xc3\xa9:" BCRYPT "\n", 1, "printable ASCII");
	test_refused(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaa:" BCRYPT "\n",
	    1, "1 to 64");
	test_refused("bob:" BCRYPT "\nalice:" BCRYPT "\nbob:" SHA512 "\n", 3,
	    "already at line 1");
}

/* Return the user of hp an unknown user is hashed as. */
static const char *
test_costliest(const char *text)
{
	static char name[HTPASSWD_USER_MAX + 1];
	struct htpasswd hp, copy;

	test_parse_ok(&hp, text);
	assert_int_equal(htpasswd_copy(&copy, &hp), 0);
	assert_int_equal(copy.hp_costliest, hp.hp_costliest);
	snprintf(
	    name, sizeof(name), "%s", hp.hp_users[hp.hp_costliest].hu_name);
	htpasswd_free(&copy);
	htpasswd_free(&hp);
	return name;
}

/*
 * Unknown users are hashed with the file's costliest setting: the most
 * rounds, the highest bcrypt cost, bcrypt at cost C as 200 << C rounds
 * (so cost 4, 3200 rounds, is cheaper than 6000).
 */
static void
test_unknown_users_get_the_costliest_setting(void **state)
{
	(void)state;
	assert_string_equal(
	    test_costliest("a:" SHA512 "\nb:" BCRYPT "\nc:" BCRYPT_COST5
			   "\nd:" SHA512 "\n"),
	    "c");
	assert_string_equal(
	    test_costliest("a:" SHA512 "\nb:" BCRYPT "\nc:" SHA512_MAX "\n"),
	    "c");
	assert_string_equal(test_costliest("a:" SHA512 "\nb:" SHA512_NOROUNDS
					   "\nc:" SHA512_6000 "\n"),
	    "c");
	assert_string_equal(
	    test_costliest("a:" SHA512_6000 "\nb:" SHA512 "\nc:" BCRYPT "\n"),
	    "a");
}

/* A copy is deep: it outlives the original. */
static void
test_copy_outlives_the_original(void **state)
{
	struct htpasswd hp, copy;

	(void)state;
	test_parse_ok(&hp, "alice:" BCRYPT "\nbob:" SHA512 "\n");
	assert_int_equal(htpasswd_copy(&copy, &hp), 0);
	htpasswd_free(&hp);
	assert_int_equal(copy.hp_n, 2);
	assert_string_equal(htpasswd_find(&copy, "bob", 3)->hu_hash, SHA512);
	htpasswd_free(&copy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bcrypt_and_sha512_users_are_found),
	    cmocka_unit_test(test_find_matches_whole_names_only),
	    cmocka_unit_test(test_user_names_may_be_email_addresses),
	    cmocka_unit_test(test_comments_blank_lines_and_crlf_are_allowed),
	    cmocka_unit_test(test_weak_hashes_are_refused),
	    cmocka_unit_test(test_malformed_hashes_are_refused),
	    cmocka_unit_test(test_hash_longer_than_its_buffer_is_refused),
	    cmocka_unit_test(test_sha512_rounds_with_a_leading_zero_is_refused),
	    cmocka_unit_test(test_bad_lines_and_names_are_refused),
	    cmocka_unit_test(test_unknown_users_get_the_costliest_setting),
	    cmocka_unit_test(test_copy_outlives_the_original),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
