/*
 * Unit tests for iplimit.c: the CIDR ranges of [server] limit_exempt,
 * client address keys, and the address table (on memory of the test's
 * own, laid out as in the segment): connection counts, the request rate,
 * a full group, and a lock left by a process that died holding it.
 */

#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pfhttpd.h"
#include "shm.h"

#define NGROUPS 4	   /* groups of the test table */
#define SEED	0x1234ULL  /* its hash key */
#define SEC	1000000ULL /* a second in microseconds */

static struct shm_ipgroup table[NGROUPS];

/* Return the key of a textual IPv4 or IPv6 address. */
static void
t_key(const char *text, uint8_t key[16])
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, text, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		assert_int_equal(
		    iplimit_key((struct sockaddr *)(void *)&s4, key), 0);
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, text, &s6.sin6_addr), 1);
	s6.sin6_family = AF_INET6;
	assert_int_equal(iplimit_key((struct sockaddr *)(void *)&s6, key), 0);
}

/* Tell whether the address text lies in the ranges of list. */
static int
t_match(const char *list, const char *text)
{
	struct iplimit_cidr set[IPLIMIT_CIDR_MAX];
	char why[256];
	uint8_t key[16];
	int n;

	n = iplimit_cidr_parse(list, set, IPLIMIT_CIDR_MAX, why, sizeof(why));
	assert_true(n >= 0);
	t_key(text, key);
	return iplimit_cidr_match(set, n, key);
}

/* Assert that list is refused with a reason that mentions what. */
static void
t_refused(const char *list, const char *what)
{
	struct iplimit_cidr set[2];
	char why[256];

	assert_int_equal(
	    iplimit_cidr_parse(list, set, 2, why, sizeof(why)), -1);
	if (strstr(why, what) == NULL)
		fail_msg("'%s': '%s' does not say '%s'", list, why, what);
}

/* Empty the test table before each test. */
static int
setup(void **state)
{
	(void)state;
	memset(table, 0, sizeof(table));
	return 0;
}

static void
test_cidr_list_counts_ranges_separated_by_spaces(void **state)
{
	struct iplimit_cidr set[IPLIMIT_CIDR_MAX];
	char why[256];

	(void)state;
	assert_int_equal(iplimit_cidr_parse(" 10.0.0.0/8\t::1  192.0.2.7 ", set,
			     IPLIMIT_CIDR_MAX, why, sizeof(why)),
	    3);
	assert_int_equal(set[0].ic_bits, 96 + 8);
	assert_int_equal(set[1].ic_bits, 128);
	assert_int_equal(set[2].ic_bits, 128);
	assert_int_equal(
	    iplimit_cidr_parse("", set, IPLIMIT_CIDR_MAX, why, sizeof(why)), 0);
}

static void
test_ipv4_range_matches_its_addresses_only(void **state)
{
	(void)state;
	assert_true(t_match("10.0.0.0/8", "10.255.1.2"));
	assert_false(t_match("10.0.0.0/8", "11.0.0.1"));
	assert_true(t_match("192.0.2.128/25", "192.0.2.200"));
	assert_false(t_match("192.0.2.128/25", "192.0.2.127"));
	assert_true(t_match("127.0.0.2", "127.0.0.2"));
	assert_false(t_match("127.0.0.2", "127.0.0.1"));
	assert_true(t_match("0.0.0.0/0", "203.0.113.9"));
	assert_false(t_match("0.0.0.0/0", "2001:db8::1"));
}

static void
test_ipv6_range_matches_its_addresses_only(void **state)
{
	(void)state;
	assert_true(t_match("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(t_match("2001:db8::/32", "2001:db9::1"));
	assert_true(t_match("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(t_match("2001:db8::/33", "2001:db8:8000::1"));
	assert_true(t_match("::1", "::1"));
	assert_false(t_match("::1", "127.0.0.1"));
	assert_true(t_match("::/0", "2001:db8::1"));
}

static void
test_mapped_ipv6_range_matches_ipv4_clients(void **state)
{
	(void)state;
	assert_true(t_match("::ffff:10.0.0.0/104", "10.1.2.3"));
	assert_true(t_match("10.0.0.0/8", "::ffff:10.1.2.3"));
}

static void
test_bad_ranges_are_refused(void **state)
{
	(void)state;
	t_refused("10.0.0.0/33", "'10.0.0.0/33'");
	t_refused("2001:db8::/129", "'2001:db8::/129'");
	t_refused("10.0.0.1/8", "host bits zero");
	t_refused("10.0.0.0/", "'10.0.0.0/'");
	t_refused("10.0.0.0/-1", "'10.0.0.0/-1'");
	t_refused("10.0.0.0/8x", "'10.0.0.0/8x'");
	t_refused("example.com", "'example.com'");
	t_refused("10.0.0.0/8 bad", "'bad'");
	t_refused("1.0.0.0/8 2.0.0.0/8 3.0.0.0/8", "more than 2");
}

static void
test_connections_over_the_limit_are_refused_until_one_is_given(void **state)
{
	struct shm_ipentry *e[3], *none;
	uint8_t a[16], b[16];

	(void)state;
	t_key("192.0.2.1", a);
	t_key("192.0.2.2", b);
	assert_int_equal(
	    iplimit_conn_take(table, NGROUPS, SEED, a, 2, SEC, &e[0]),
	    IPLIMIT_OK);
	assert_int_equal(
	    iplimit_conn_take(table, NGROUPS, SEED, a, 2, SEC, &e[1]),
	    IPLIMIT_OK);
	assert_ptr_equal(e[0], e[1]);
	assert_int_equal(
	    iplimit_conn_take(table, NGROUPS, SEED, a, 2, SEC, &none),
	    IPLIMIT_REFUSED);
	assert_null(none);
	assert_int_equal(
	    iplimit_conn_take(table, NGROUPS, SEED, b, 2, SEC, &e[2]),
	    IPLIMIT_OK);
	iplimit_conn_give(table, NGROUPS, e[0]);
	assert_int_equal(
	    iplimit_conn_take(table, NGROUPS, SEED, a, 2, SEC, &e[0]),
	    IPLIMIT_OK);
	assert_int_equal(e[0]->ie_conns, 2);
}

/* Fill the group of a with SHM_IP_WAYS other busy addresses. */
static struct shm_ipgroup *
t_fill_group(const uint8_t a[16])
{
	struct shm_ipgroup *g;
	struct shm_ipentry *e;
	uint8_t k[16];
	int i;

	assert_int_equal(
	    iplimit_conn_take(table, NGROUPS, SEED, a, 1, SEC, &e), IPLIMIT_OK);
	g = &table[(size_t)((char *)e - (char *)table) / sizeof(*g)];
	iplimit_conn_give(table, NGROUPS, e);
	memset(g->ig_e, 0, sizeof(g->ig_e));
	for (i = 0; i < SHM_IP_WAYS; i++) {
		memset(k, 0xee, sizeof(k));
		k[0] = (uint8_t)i;
		memcpy(g->ig_e[i].ie_addr, k, 16);
		g->ig_e[i].ie_used = 1;
		g->ig_e[i].ie_conns = 1;
	}
	return g;
}

static void
test_full_group_leaves_a_new_address_untracked(void **state)
{
	struct shm_ipentry *e;
	uint64_t retry;
	uint8_t a[16];

	(void)state;
	t_key("198.51.100.7", a);
	t_fill_group(a);
	assert_int_equal(iplimit_conn_take(table, NGROUPS, SEED, a, 1, SEC, &e),
	    IPLIMIT_UNTRACKED);
	assert_null(e);
	assert_int_equal(
	    iplimit_rate_take(table, NGROUPS, SEED, a, 1, 1, SEC, &retry),
	    IPLIMIT_UNTRACKED);
}

static void
test_idle_entry_is_taken_over_by_a_new_address(void **state)
{
	struct shm_ipgroup *g;
	struct shm_ipentry *e;
	uint8_t a[16];

	(void)state;
	t_key("198.51.100.7", a);
	g = t_fill_group(a);
	g->ig_e[5].ie_conns = 0;
	g->ig_e[5].ie_tat = 2 * SEC; /* its bucket is full again at 2 s */
	assert_int_equal(iplimit_conn_take(table, NGROUPS, SEED, a, 1, SEC, &e),
	    IPLIMIT_UNTRACKED);
	assert_int_equal(
	    iplimit_conn_take(table, NGROUPS, SEED, a, 1, 2 * SEC, &e),
	    IPLIMIT_OK);
	assert_ptr_equal(e, &g->ig_e[5]);
	assert_memory_equal(e->ie_addr, a, 16);
	assert_int_equal(e->ie_tat, 0);
}

static void
test_rate_allows_the_burst_then_refuses_with_retry_after(void **state)
{
	uint64_t retry = 0, now = 10 * SEC;
	uint8_t a[16], b[16];
	int i;

	(void)state;
	t_key("2001:db8::1", a);
	t_key("2001:db8::2", b);
	for (i = 0; i < 4; i++)
		assert_int_equal(iplimit_rate_take(table, NGROUPS, SEED, a, 2,
				     4, now, &retry),
		    IPLIMIT_OK);
	assert_int_equal(
	    iplimit_rate_take(table, NGROUPS, SEED, a, 2, 4, now, &retry),
	    IPLIMIT_REFUSED);
	assert_int_equal(retry, 1); /* half a second, rounded up */
	assert_int_equal(
	    iplimit_rate_take(table, NGROUPS, SEED, b, 2, 4, now, &retry),
	    IPLIMIT_OK);
	/* Half a second earns one request at 2/s, not two. */
	assert_int_equal(iplimit_rate_take(table, NGROUPS, SEED, a, 2, 4,
			     now + SEC / 2, &retry),
	    IPLIMIT_OK);
	assert_int_equal(iplimit_rate_take(table, NGROUPS, SEED, a, 2, 4,
			     now + SEC / 2, &retry),
	    IPLIMIT_REFUSED);
}

static void
test_slow_rate_says_how_many_seconds_to_wait(void **state)
{
	uint64_t retry = 0;
	uint8_t a[16];

	(void)state;
	t_key("192.0.2.9", a);
	/* 1/s with a burst of 1: a request, then one 0.25 s later waits
	 * 0.75 s, said as 1; at a rate of 1/s no wait exceeds a second. */
	assert_int_equal(
	    iplimit_rate_take(table, NGROUPS, SEED, a, 1, 1, SEC, &retry),
	    IPLIMIT_OK);
	assert_int_equal(iplimit_rate_take(table, NGROUPS, SEED, a, 1, 1,
			     SEC + SEC / 4, &retry),
	    IPLIMIT_REFUSED);
	assert_int_equal(retry, 1);
	assert_int_equal(
	    iplimit_rate_take(table, NGROUPS, SEED, a, 1, 1, 2 * SEC, &retry),
	    IPLIMIT_OK);
}

static void
test_lock_of_a_dead_process_is_taken_over(void **state)
{
	struct shm_ipentry *e;
	uint8_t a[16];
	pid_t pid;
	int i, st;

	(void)state;
	if ((pid = fork()) == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	t_key("192.0.2.77", a);
	for (i = 0; i < NGROUPS; i++)
		table[i].ig_lock = (uint64_t)pid; /* held by the dead child */
	assert_int_equal(
	    iplimit_conn_take(table, NGROUPS, SEED, a, 1, SEC, &e), IPLIMIT_OK);
	assert_int_equal(e->ie_conns, 1);
	/* Its group was taken over and given back; the others stay. */
	assert_int_equal(
	    table[(size_t)((char *)e - (char *)table) / sizeof(table[0])]
		.ig_lock,
	    0);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_cidr_list_counts_ranges_separated_by_spaces),
	    T(test_ipv4_range_matches_its_addresses_only),
	    T(test_ipv6_range_matches_its_addresses_only),
	    T(test_mapped_ipv6_range_matches_ipv4_clients),
	    T(test_bad_ranges_are_refused),
	    T(test_connections_over_the_limit_are_refused_until_one_is_given),
	    T(test_full_group_leaves_a_new_address_untracked),
	    T(test_idle_entry_is_taken_over_by_a_new_address),
	    T(test_rate_allows_the_burst_then_refuses_with_retry_after),
	    T(test_slow_rate_says_how_many_seconds_to_wait),
	    T(test_lock_of_a_dead_process_is_taken_over),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
