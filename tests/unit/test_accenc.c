/*
 * Unit tests for accenc.c: Accept-Encoding against the precompressed
 * siblings a file has, and the [http] precompressed list.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define BOTH ((1u << ACCENC_GZIP) | (1u << ACCENC_BR)) /* both siblings */

/* Choose for the NUL-terminated field ae, list "br gzip" unless given. */
static enum accenc_coding
test_choose(const char *ae, const char *list, unsigned avail)
{
	struct accenc_list al;

	assert_int_equal(
	    accenc_list_parse(list != NULL ? list : "br gzip", &al), 0);
	return accenc_choose(ae, strlen(ae), &al, avail);
}

/* A coding the field names is chosen when its sibling exists. */
static void
test_named_coding_is_chosen(void **state)
{
	(void)state;
	assert_int_equal(test_choose("gzip", NULL, BOTH), ACCENC_GZIP);
	assert_int_equal(test_choose("br", NULL, BOTH), ACCENC_BR);
}

/* Between equal qvalues the configured order decides. */
static void
test_configured_order_breaks_ties(void **state)
{
	(void)state;
	assert_int_equal(test_choose("gzip, br", NULL, BOTH), ACCENC_BR);
	assert_int_equal(test_choose("br, gzip", "gzip br", BOTH), ACCENC_GZIP);
}

/* A higher qvalue wins over the configured order. */
static void
test_higher_qvalue_wins(void **state)
{
	(void)state;
	assert_int_equal(
	    test_choose("br;q=0.5, gzip;q=0.8", NULL, BOTH), ACCENC_GZIP);
	assert_int_equal(
	    test_choose("br;q=0.001, gzip;q=0.0009", NULL, BOTH), ACCENC_BR);
}

/* q=0 refuses a coding, in any spelling of zero. */
static void
test_q_zero_refuses(void **state)
{
	(void)state;
	assert_int_equal(test_choose("br;q=0, gzip", NULL, BOTH), ACCENC_GZIP);
	assert_int_equal(
	    test_choose("gzip;q=0.000", NULL, BOTH), ACCENC_IDENTITY);
	assert_int_equal(
	    test_choose("br;q=0., gzip;q=0", NULL, BOTH), ACCENC_IDENTITY);
}

/* A coding whose sibling is missing is never chosen. */
static void
test_missing_sibling_is_not_chosen(void **state)
{
	(void)state;
	assert_int_equal(
	    test_choose("br", NULL, 1u << ACCENC_GZIP), ACCENC_IDENTITY);
	assert_int_equal(test_choose("br, gzip;q=0.1", NULL, 1u << ACCENC_GZIP),
	    ACCENC_GZIP);
	assert_int_equal(test_choose("br, gzip", NULL, 0), ACCENC_IDENTITY);
}

/* A coding missing from the configured list is never chosen. */
static void
test_unconfigured_coding_is_not_chosen(void **state)
{
	(void)state;
	assert_int_equal(test_choose("br", "gzip", BOTH), ACCENC_IDENTITY);
}

/* Identity named with a higher qvalue wins; a tie goes to the coding. */
static void
test_identity_competes_by_qvalue(void **state)
{
	(void)state;
	assert_int_equal(
	    test_choose("gzip;q=0.5, identity", NULL, BOTH), ACCENC_IDENTITY);
	assert_int_equal(
	    test_choose("gzip, identity", NULL, BOTH), ACCENC_GZIP);
}

/* Identity refused and nothing else acceptable: the original anyway. */
static void
test_identity_refused_falls_back_to_original(void **state)
{
	(void)state;
	assert_int_equal(test_choose("identity;q=0", NULL, 0), ACCENC_IDENTITY);
	assert_int_equal(test_choose("*;q=0", NULL, BOTH), ACCENC_IDENTITY);
}

/* "*" accepts the codings the field does not name. */
static void
test_star_accepts_unnamed_codings(void **state)
{
	(void)state;
	assert_int_equal(test_choose("*", NULL, BOTH), ACCENC_BR);
	assert_int_equal(test_choose("br;q=0, *", NULL, BOTH), ACCENC_GZIP);
	assert_int_equal(test_choose("*;q=0, gzip", NULL, BOTH), ACCENC_GZIP);
}

/* Names and the q parameter are case-insensitive; x-gzip is gzip. */
static void
test_names_are_case_insensitive(void **state)
{
	(void)state;
	assert_int_equal(test_choose("GZip;Q=1", NULL, BOTH), ACCENC_GZIP);
	assert_int_equal(test_choose("x-gzip", NULL, BOTH), ACCENC_GZIP);
	assert_int_equal(test_choose("BR", NULL, BOTH), ACCENC_BR);
}

/* An empty field asks for no coding. */
static void
test_empty_field_is_identity(void **state)
{
	(void)state;
	assert_int_equal(test_choose("", NULL, BOTH), ACCENC_IDENTITY);
	assert_int_equal(test_choose(" , ,", NULL, BOTH), ACCENC_IDENTITY);
}

/* Unknown codings and malformed elements are skipped, not fatal. */
static void
test_malformed_elements_are_skipped(void **state)
{
	(void)state;
	assert_int_equal(
	    test_choose("deflate, zstd", NULL, BOTH), ACCENC_IDENTITY);
	assert_int_equal(test_choose("br;q=2, gzip", NULL, BOTH), ACCENC_GZIP);
	assert_int_equal(
	    test_choose("br;q=1.5, br;level=3, br q=1, gzip", NULL, BOTH),
	    ACCENC_GZIP);
	assert_int_equal(
	    test_choose("br;q=0.1234, gzip;q=0.1", NULL, BOTH), ACCENC_GZIP);
}

/* OWS around elements and around ';' is allowed. */
static void
test_whitespace_is_allowed(void **state)
{
	(void)state;
	assert_int_equal(
	    test_choose(" \tbr ; q=0 ,\tgzip ; q=0.3 ", NULL, BOTH),
	    ACCENC_GZIP);
}

/* The first element naming a coding counts; a later one is ignored. */
static void
test_first_mention_counts(void **state)
{
	(void)state;
	assert_int_equal(
	    test_choose("br;q=0, br;q=1, gzip", NULL, BOTH), ACCENC_GZIP);
}

/* qvalues are read into thousandths; -1 where a coding is not named. */
static void
test_qvalues_are_thousandths(void **state)
{
	static const char ae[] = "gzip;q=0.25, *;q=1.000";
	int q[ACCENC_NCODINGS + 1];

	(void)state;
	accenc_qvalues(ae, strlen(ae), q);
	assert_int_equal(q[ACCENC_GZIP], 250);
	assert_int_equal(q[ACCENC_ANY], 1000);
	assert_int_equal(q[ACCENC_BR], -1);
	assert_int_equal(q[ACCENC_IDENTITY], -1);
}

/* The parser stops at len: bytes past it are not read. */
static void
test_value_is_bounded_by_len(void **state)
{
	struct accenc_list al;

	(void)state;
	assert_int_equal(accenc_list_parse("gzip", &al), 0);
	assert_int_equal(accenc_choose("gzipXXX", 4, &al, BOTH), ACCENC_GZIP);
	assert_int_equal(accenc_choose("gzip;q=0", 4, &al, BOTH), ACCENC_GZIP);
}

/* The configured list keeps its order; empty means off. */
static void
test_list_parses_in_order(void **state)
{
	struct accenc_list al;

	(void)state;
	assert_int_equal(accenc_list_parse(" gzip\tBR ", &al), 0);
	assert_int_equal(al.al_n, 2);
	assert_int_equal(al.al_coding[0], ACCENC_GZIP);
	assert_int_equal(al.al_coding[1], ACCENC_BR);
	assert_int_equal(accenc_list_parse("", &al), 0);
	assert_int_equal(al.al_n, 0);
}

/* Unknown, repeated or request-only names are refused, al unchanged. */
static void
test_list_refuses_bad_values(void **state)
{
	static const char *const bad[] = {"deflate", "gzip gzip", "br,gzip",
	    "x-gzip", "identity", "*", "br br"};
	struct accenc_list al;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		al.al_n = 7;
		assert_int_equal(accenc_list_parse(bad[i], &al), -1);
		assert_int_equal(al.al_n, 7);
	}
}

/* Names and suffixes of the codings. */
static void
test_names_and_suffixes(void **state)
{
	(void)state;
	assert_string_equal(accenc_name(ACCENC_GZIP), "gzip");
	assert_string_equal(accenc_name(ACCENC_BR), "br");
	assert_string_equal(accenc_suffix(ACCENC_GZIP), ".gz");
	assert_string_equal(accenc_suffix(ACCENC_BR), ".br");
	assert_string_equal(accenc_suffix(ACCENC_IDENTITY), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_named_coding_is_chosen),
	    cmocka_unit_test(test_configured_order_breaks_ties),
	    cmocka_unit_test(test_higher_qvalue_wins),
	    cmocka_unit_test(test_q_zero_refuses),
	    cmocka_unit_test(test_missing_sibling_is_not_chosen),
	    cmocka_unit_test(test_unconfigured_coding_is_not_chosen),
	    cmocka_unit_test(test_identity_competes_by_qvalue),
	    cmocka_unit_test(test_identity_refused_falls_back_to_original),
	    cmocka_unit_test(test_star_accepts_unnamed_codings),
	    cmocka_unit_test(test_names_are_case_insensitive),
	    cmocka_unit_test(test_empty_field_is_identity),
	    cmocka_unit_test(test_malformed_elements_are_skipped),
	    cmocka_unit_test(test_whitespace_is_allowed),
	    cmocka_unit_test(test_first_mention_counts),
	    cmocka_unit_test(test_qvalues_are_thousandths),
	    cmocka_unit_test(test_value_is_bounded_by_len),
	    cmocka_unit_test(test_list_parses_in_order),
	    cmocka_unit_test(test_list_refuses_bad_values),
	    cmocka_unit_test(test_names_and_suffixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
