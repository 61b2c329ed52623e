/*
 * Unit tests for vhost.c: host names of the configuration, and the host
 * chosen for a request's Host field.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define TEST_NHOSTS 4
#define TEST_DEF    3 /* the default host of the tests below */

/* Names of hosts 0..3: exact, a wildcard, a longer wildcard, mixed. */
static char *test_names[TEST_NHOSTS][3] = {
    {"example.com", "www.example.com", NULL},
    {"*.example.com", NULL, NULL},
    {"*.api.example.com", NULL, NULL},
    {"other.org", "*.other.org", NULL},
};

/* Fill hosts[] with test_names. */
static void
test_hosts(struct vhost *hosts)
{
	int i, j;

	memset(hosts, 0, sizeof(*hosts) * TEST_NHOSTS);
	for (i = 0; i < TEST_NHOSTS; i++)
		for (j = 0; test_names[i][j] != NULL; j++)
			hosts[i].vh_names[hosts[i].vh_nnames++] =
			    test_names[i][j];
}

/* Return the host the test hosts choose for the Host value s. */
static int
test_select(const char *s)
{
	struct vhost hosts[TEST_NHOSTS];

	test_hosts(hosts);
	return vhost_select(hosts, TEST_NHOSTS, TEST_DEF, s, strlen(s));
}

/* Return what vhost_host_normalize() makes of s, or "(bad)". */
static const char *
test_normalize(const char *s)
{
	static char out[VHOST_NAME_MAX + 2];

	if (vhost_host_normalize(s, strlen(s), out, sizeof(out)) == -1)
		return "(bad)";
	return out;
}

/* Return what vhost_name_parse() makes of s, or "(bad)". */
static const char *
test_name(const char *s)
{
	static char out[VHOST_NAME_MAX + 2];

	if (vhost_name_parse(s, out, sizeof(out)) == -1)
		return "(bad)";
	return out;
}

/* An exact name wins over any wildcard that also matches. */
static void
test_exact_name_wins(void **state)
{
	(void)state;
	assert_int_equal(test_select("example.com"), 0);
	assert_int_equal(test_select("www.example.com"), 0);
	assert_int_equal(test_select("other.org"), 3);
}

/* Of the wildcards that match, the longest suffix wins. */
static void
test_longest_wildcard_wins(void **state)
{
	(void)state;
	assert_int_equal(test_select("a.example.com"), 1);
	assert_int_equal(test_select("a.b.example.com"), 1);
	assert_int_equal(test_select("v1.api.example.com"), 2);
	assert_int_equal(test_select("x.v1.api.example.com"), 2);
	assert_int_equal(test_select("api.example.com"), 1);
	assert_int_equal(test_select("www.other.org"), 3);
}

/* A wildcard does not match its suffix alone, nor a longer label. */
static void
test_wildcard_needs_a_label_before_its_suffix(void **state)
{
	struct vhost hosts[2];

	(void)state;
	memset(hosts, 0, sizeof(hosts));
	hosts[0].vh_names[0] = "first.test";
	hosts[0].vh_nnames = 1;
	hosts[1].vh_names[0] = "*.example.com";
	hosts[1].vh_nnames = 1;
	assert_int_equal(vhost_select(hosts, 2, 0, "example.com", 11), 0);
	assert_int_equal(vhost_select(hosts, 2, 0, "badexample.com", 14), 0);
	assert_int_equal(vhost_select(hosts, 2, 0, ".example.com", 12), 0);
	assert_int_equal(vhost_select(hosts, 2, 0, "a.example.com", 13), 1);
}

/* The port, letter case and one trailing dot do not matter. */
static void
test_port_case_and_trailing_dot_are_ignored(void **state)
{
	(void)state;
	assert_int_equal(test_select("example.com:8080"), 0);
	assert_int_equal(test_select("EXAMPLE.Com"), 0);
	assert_int_equal(test_select("example.com."), 0);
	assert_int_equal(test_select("Example.COM.:443"), 0);
	assert_int_equal(test_select("example.com:"), 0);
	assert_int_equal(test_select("A.Example.Com:80"), 1);
}

/*
 * vhost_match() tells a name of the default host from a name no host has,
 * which vhost_select() gives the default host alike.
 */
static void
test_match_tells_the_default_name_from_an_unknown_one(void **state)
{
	struct vhost hosts[TEST_NHOSTS];

	(void)state;
	test_hosts(hosts);
	assert_int_equal(test_select("www.other.org"), TEST_DEF);
	assert_int_equal(test_select("unknown.test"), TEST_DEF);
	assert_int_equal(
	    vhost_match(hosts, TEST_NHOSTS, "www.other.org", 13), TEST_DEF);
	assert_int_equal(
	    vhost_match(hosts, TEST_NHOSTS, "unknown.test", 12), -1);
	assert_int_equal(
	    vhost_match(hosts, TEST_NHOSTS, "A.Example.COM.", 14), 1);
	assert_int_equal(vhost_match(hosts, TEST_NHOSTS, "[::1]", 5), -1);
	assert_int_equal(vhost_match(hosts, TEST_NHOSTS, NULL, 0), -1);
}

/* With a single host, vhost_match() still says whether it has the name. */
static void
test_match_checks_the_name_of_a_single_host(void **state)
{
	struct vhost host;

	(void)state;
	memset(&host, 0, sizeof(host));
	host.vh_names[0] = "only.test";
	host.vh_nnames = 1;
	assert_int_equal(vhost_match(&host, 1, "only.test", 9), 0);
	assert_int_equal(vhost_match(&host, 1, "other.test", 10), -1);
	host.vh_nnames = 0; /* the implicit host has no name */
	assert_int_equal(vhost_match(&host, 1, "only.test", 9), -1);
}

/* A name no host has, or no Host field, goes to the default host. */
static void
test_unknown_name_gets_the_default(void **state)
{
	struct vhost hosts[TEST_NHOSTS];

	(void)state;
	test_hosts(hosts);
	assert_int_equal(test_select("unknown.test"), TEST_DEF);
	assert_int_equal(test_select("com"), TEST_DEF);
	assert_int_equal(test_select("127.0.0.1"), TEST_DEF);
	assert_int_equal(test_select("[::1]:8080"), TEST_DEF);
	assert_int_equal(test_select(""), TEST_DEF);
	assert_int_equal(vhost_select(hosts, TEST_NHOSTS, 1, NULL, 0), 1);
	assert_int_equal(test_select("nope.test"), TEST_DEF);
}

/* Hostile values match no host: they get the default, nothing else. */
static void
test_hostile_values_get_the_default(void **state)
{
	char big[600];

	(void)state;
	assert_int_equal(test_select("example.com.."), TEST_DEF);
	assert_int_equal(test_select("example.com:80:80"), TEST_DEF);
	assert_int_equal(test_select("example.com:8o"), TEST_DEF);
	assert_int_equal(test_select("example.com@evil.test"), TEST_DEF);
	assert_int_equal(test_select("evil.test/example.com"), TEST_DEF);
	assert_int_equal(test_select("example.com "), TEST_DEF);
	assert_int_equal(test_select(" example.com"), TEST_DEF);
	assert_int_equal(test_select("a..example.com"), TEST_DEF);
	assert_int_equal(test_select("-a.example.com"), TEST_DEF);
	assert_int_equal(test_select("*.example.com"), TEST_DEF);
	assert_int_equal(test_select("[example.com]"), TEST_DEF);
	assert_int_equal(test_select("[::1"), TEST_DEF);
	assert_int_equal(test_select("[]"), TEST_DEF);
	assert_int_equal(test_select("."), TEST_DEF);
	assert_int_equal(test_select(":80"), TEST_DEF);
	assert_int_equal(vhost_select(NULL, 0, 0, "x", 1), 0);
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 13, ".example.com", 13);
	assert_int_equal(test_select(big), TEST_DEF);
}

/* A NUL inside the value ends nothing: the whole value is checked. */
static void
test_nul_inside_value_gets_the_default(void **state)
{
	struct vhost hosts[TEST_NHOSTS];

	(void)state;
	test_hosts(hosts);
	assert_int_equal(vhost_select(hosts, TEST_NHOSTS, TEST_DEF,
			     "example.com\0.evil", 17),
	    TEST_DEF);
	assert_int_equal(
	    vhost_select(hosts, TEST_NHOSTS, TEST_DEF, "example.com\0", 12),
	    TEST_DEF);
}

/* One host (or none) serves everything, whatever the Host field says. */
static void
test_single_host_serves_every_name(void **state)
{
	struct vhost host;

	(void)state;
	memset(&host, 0, sizeof(host));
	assert_int_equal(vhost_select(&host, 1, 0, "any.test", 8), 0);
	assert_int_equal(vhost_select(&host, 1, 0, "[::1]", 5), 0);
}

/* A Host value is reduced to the bare lower-case name. */
static void
test_host_value_is_normalized(void **state)
{
	(void)state;
	assert_string_equal(
	    test_normalize("WWW.Example.COM:8080"), "www.example.com");
	assert_string_equal(test_normalize("example.com."), "example.com");
	assert_string_equal(test_normalize("[::1]:8080"), "::1");
	assert_string_equal(test_normalize("[FE80::1]"), "fe80::1");
	assert_string_equal(
	    test_normalize("[::ffff:1.2.3.4]"), "::ffff:1.2.3.4");
	assert_string_equal(test_normalize("[::1]x"), "(bad)");
	assert_string_equal(test_normalize("[::1]:8o"), "(bad)");
	assert_string_equal(test_normalize("[g::1]"), "(bad)");
	assert_string_equal(test_normalize("ex_ample.com"), "(bad)");
	assert_string_equal(test_normalize(""), "(bad)");
}

/* Configured names: lower-cased, a wildcard only as a leading "*.". */
static void
test_config_names_are_checked(void **state)
{
	char name[VHOST_NAME_MAX + 2];
	char label[63 + 2];
	size_t i;

	(void)state;
	assert_string_equal(test_name("Example.COM"), "example.com");
	assert_string_equal(test_name("example.com."), "example.com");
	assert_string_equal(test_name("*.Example.com"), "*.example.com");
	assert_string_equal(test_name("localhost"), "localhost");
	assert_string_equal(test_name("a-b.c0"), "a-b.c0");
	assert_string_equal(test_name("*"), "(bad)");
	assert_string_equal(test_name("*."), "(bad)");
	assert_string_equal(test_name("a.*.com"), "(bad)");
	assert_string_equal(test_name("*example.com"), "(bad)");
	assert_string_equal(test_name("**.example.com"), "(bad)");
	assert_string_equal(test_name("example..com"), "(bad)");
	assert_string_equal(test_name(".example.com"), "(bad)");
	assert_string_equal(test_name("-example.com"), "(bad)");
	assert_string_equal(test_name("example-.com"), "(bad)");
	assert_string_equal(test_name("ex ample.com"), "(bad)");
	assert_string_equal(test_name("example.com:80"), "(bad)");
	assert_string_equal(test_name(""), "(bad)");

	memset(label, 'a', sizeof(label));
	label[63] = '\0';
	assert_string_equal(test_name(label), label);
	label[63] = 'a';
	label[63 + 1] = '\0';
	assert_string_equal(test_name(label), "(bad)");

	/* 253 bytes is the most: labels of 9 bytes and dots */
	memset(name, 'a', sizeof(name));
	for (i = 9; i < VHOST_NAME_MAX; i += 10)
		name[i] = '.';
	name[VHOST_NAME_MAX] = '\0';
	assert_string_equal(test_name(name), name);
	name[VHOST_NAME_MAX] = 'a';
	name[VHOST_NAME_MAX + 1] = '\0';
	assert_string_equal(test_name(name), "(bad)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_name_wins),
	    cmocka_unit_test(test_longest_wildcard_wins),
	    cmocka_unit_test(test_wildcard_needs_a_label_before_its_suffix),
	    cmocka_unit_test(test_port_case_and_trailing_dot_are_ignored),
	    cmocka_unit_test(
		test_match_tells_the_default_name_from_an_unknown_one),
	    cmocka_unit_test(test_match_checks_the_name_of_a_single_host),
	    cmocka_unit_test(test_unknown_name_gets_the_default),
	    cmocka_unit_test(test_hostile_values_get_the_default),
	    cmocka_unit_test(test_nul_inside_value_gets_the_default),
	    cmocka_unit_test(test_single_host_serves_every_name),
	    cmocka_unit_test(test_host_value_is_normalized),
	    cmocka_unit_test(test_config_names_are_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
