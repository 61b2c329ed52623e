/*
 * Unit tests for rate.c: the token bucket that limits a chat client's
 * messages. Time is given in ms, as the caller's monotonic clock.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>

#include <cmocka.h>

#include "pfhttpd.h"

/* Return how many of n calls at now_ms r allows. */
static int
t_allow_n(struct rate *r, long long now_ms, int n)
{
	int i, allowed = 0;

	for (i = 0; i < n; i++)
		allowed += rate_allow(r, now_ms);
	return allowed;
}

static void
test_default_is_five_a_second_burst_ten(void **state)
{
	(void)state;
	assert_int_equal(RATE_PER_SECOND, 5);
	assert_int_equal(RATE_BURST, 10);
}

static void
test_full_burst_then_refused(void **state)
{
	struct rate r;

	(void)state;
	rate_init(&r, RATE_PER_SECOND, RATE_BURST);
	assert_int_equal(t_allow_n(&r, 5000, RATE_BURST), RATE_BURST);
	assert_false(rate_allow(&r, 5000));
}

static void
test_clock_standing_still_adds_nothing(void **state)
{
	struct rate r;

	(void)state;
	rate_init(&r, RATE_PER_SECOND, RATE_BURST);
	assert_int_equal(t_allow_n(&r, 7, 1000), RATE_BURST);
}

static void
test_token_comes_back_after_exactly_its_time(void **state)
{
	struct rate r;

	(void)state;
	rate_init(&r, 5, 10);
	assert_int_equal(t_allow_n(&r, 1000, 10), 10);
	assert_false(rate_allow(&r, 1199)); /* 5/s: one per 200 ms */
	assert_true(rate_allow(&r, 1200));
	assert_false(rate_allow(&r, 1200));
	assert_false(rate_allow(&r, 1399));
	assert_true(rate_allow(&r, 1400));
}

static void
test_partial_refills_add_up(void **state)
{
	struct rate r;
	long long t;

	(void)state;
	rate_init(&r, 5, 1);
	assert_true(rate_allow(&r, 0));
	for (t = 1; t < 200; t++)
		assert_false(rate_allow(&r, t));
	assert_true(rate_allow(&r, 200));
}

static void
test_steady_calls_get_burst_plus_rate(void **state)
{
	struct rate r;
	long long t;
	int allowed = 0;

	(void)state;
	rate_init(&r, RATE_PER_SECOND, RATE_BURST);
	for (t = 0; t <= 10000; t++)
		allowed += rate_allow(&r, t);
	assert_int_equal(allowed, RATE_BURST + 10 * RATE_PER_SECOND);
}

static void
test_idle_refills_only_up_to_burst(void **state)
{
	struct rate r;

	(void)state;
	rate_init(&r, 5, 10);
	assert_int_equal(t_allow_n(&r, 0, 10), 10);
	assert_int_equal(t_allow_n(&r, 3600 * 1000LL, 20), 10);
}

static void
test_longest_idle_does_not_overflow(void **state)
{
	struct rate r;

	(void)state;
	rate_init(&r, UINT_MAX, UINT_MAX);
	assert_true(rate_allow(&r, LLONG_MIN));
	assert_true(rate_allow(&r, LLONG_MAX));
	assert_true(r.rt_tokens <= r.rt_max);
	assert_int_equal(r.rt_tokens, r.rt_max - 1000);

	rate_init(&r, 5, 10);
	assert_int_equal(t_allow_n(&r, LLONG_MIN, 10), 10);
	assert_int_equal(t_allow_n(&r, LLONG_MAX, 20), 10);
}

static void
test_clock_going_back_is_new_origin(void **state)
{
	struct rate r;

	(void)state;
	rate_init(&r, 5, 10);
	assert_int_equal(t_allow_n(&r, 10000, 10), 10);
	assert_false(rate_allow(&r, 5000)); /* back: nothing earned */
	assert_false(rate_allow(&r, 5199));
	assert_true(rate_allow(&r, 5200)); /* 200 ms after the new origin */
}

static void
test_no_rate_allows_only_the_burst(void **state)
{
	struct rate r;

	(void)state;
	rate_init(&r, 0, 3);
	assert_int_equal(t_allow_n(&r, 0, 5), 3);
	assert_false(rate_allow(&r, LLONG_MAX));
}

static void
test_no_burst_allows_nothing(void **state)
{
	struct rate r;

	(void)state;
	rate_init(&r, 5, 0);
	assert_false(rate_allow(&r, 0));
	assert_false(rate_allow(&r, 1000));
	assert_false(rate_allow(&r, LLONG_MAX));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_is_five_a_second_burst_ten),
	    cmocka_unit_test(test_full_burst_then_refused),
	    cmocka_unit_test(test_clock_standing_still_adds_nothing),
	    cmocka_unit_test(test_token_comes_back_after_exactly_its_time),
	    cmocka_unit_test(test_partial_refills_add_up),
	    cmocka_unit_test(test_steady_calls_get_burst_plus_rate),
	    cmocka_unit_test(test_idle_refills_only_up_to_burst),
	    cmocka_unit_test(test_longest_idle_does_not_overflow),
	    cmocka_unit_test(test_clock_going_back_is_new_origin),
	    cmocka_unit_test(test_no_rate_allows_only_the_burst),
	    cmocka_unit_test(test_no_burst_allows_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
