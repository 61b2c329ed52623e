/*
 * Unit tests for metricshttp.c: what the metrics endpoint answers to a
 * request head, and when it has not all of it yet.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"
#include "shm.h"
#include "stats.h"

/* Parse the NUL-terminated head s; return mr_status, or 0 if incomplete. */
static int
t_status(const char *s, struct metricshttp_req *mr)
{
	if (metricshttp_parse(s, strlen(s), mr) == 0)
		return 0;
	return mr->mr_status;
}

static void
test_get_metrics_is_200_and_its_length_is_the_head(void **state)
{
	const char *s = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\nextra";
	struct metricshttp_req mr;

	(void)state;
	assert_int_equal(t_status(s, &mr), 200);
	assert_false(mr.mr_head);
	assert_int_equal(mr.mr_len, strlen(s) - strlen("extra"));
}

static void
test_head_metrics_is_200_without_a_body(void **state)
{
	struct metricshttp_req mr;

	(void)state;
	assert_int_equal(
	    t_status("HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n", &mr), 200);
	assert_true(mr.mr_head);
}

static void
test_an_incomplete_head_asks_for_more(void **state)
{
	struct metricshttp_req mr;

	(void)state;
	assert_int_equal(t_status("", &mr), 0);
	assert_int_equal(t_status("GET /metrics HTTP/1.1\r\n", &mr), 0);
	assert_int_equal(
	    t_status("GET /metrics HTTP/1.1\r\nHost: a\r\n\r", &mr), 0);
}

static void
test_bare_line_feeds_end_lines_too(void **state)
{
	struct metricshttp_req mr;

	(void)state;
	assert_int_equal(t_status("GET /metrics HTTP/1.0\n\n", &mr), 200);
}

static void
test_other_paths_are_404_whatever_the_method(void **state)
{
	struct metricshttp_req mr;

	(void)state;
	assert_int_equal(t_status("GET / HTTP/1.0\r\n\r\n", &mr), 404);
	assert_int_equal(t_status("GET /metrics/ HTTP/1.0\r\n\r\n", &mr), 404);
	assert_int_equal(t_status("POST /x HTTP/1.0\r\n\r\n", &mr), 404);
	assert_int_equal(t_status("HEAD /x HTTP/1.0\r\n\r\n", &mr), 404);
	assert_true(mr.mr_head);
}

static void
test_other_methods_on_metrics_are_405(void **state)
{
	struct metricshttp_req mr;

	(void)state;
	assert_int_equal(t_status("POST /metrics HTTP/1.0\r\n\r\n", &mr), 405);
	assert_int_equal(t_status("get /metrics HTTP/1.0\r\n\r\n", &mr), 405);
}

static void
test_query_and_absolute_form_reach_metrics(void **state)
{
	struct metricshttp_req mr;

	(void)state;
	assert_int_equal(
	    t_status("GET /metrics?x=1 HTTP/1.0\r\n\r\n", &mr), 200);
	assert_int_equal(
	    t_status("GET http://h:9/metrics HTTP/1.0\r\n\r\n", &mr), 200);
	assert_int_equal(t_status("GET http://h:9 HTTP/1.0\r\n\r\n", &mr), 404);
}

static void
test_malformed_request_lines_are_400(void **state)
{
	static const char *const bad[] = {
	    "\r\n\r\n",
	    "GET\r\n\r\n",
	    "GET /metrics\r\n\r\n",
	    "GET  /metrics HTTP/1.0\r\n\r\n",
	    "GET /metrics HTTP/1.0 x\r\n\r\n",
	    "GET metrics HTTP/1.0\r\n\r\n",
	    "GET /metrics HTTP/1\r\n\r\n",
	    "GET /metrics FTP/1.0\r\n\r\n",
	    "GET /met\rrics HTTP/1.0\r\n\r\n",
	};
	struct metricshttp_req mr;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(t_status(bad[i], &mr), 400);
}

static void
test_another_http_version_is_505(void **state)
{
	struct metricshttp_req mr;

	(void)state;
	assert_int_equal(
	    t_status("GET /metrics HTTP/2.0\r\nHost: a\r\n\r\n", &mr), 505);
	assert_int_equal(t_status("GET /x HTTP/0.9\r\n\r\n", &mr), 505);
}

static void
test_http_1_1_needs_exactly_one_host(void **state)
{
	struct metricshttp_req mr;

	(void)state;
	assert_int_equal(t_status("GET /metrics HTTP/1.1\r\n\r\n", &mr), 400);
	assert_int_equal(t_status("GET /metrics HTTP/1.1\r\nHost: a\r\n"
				  "host: b\r\n\r\n",
			     &mr),
	    400);
	assert_int_equal(t_status("GET /metrics HTTP/1.0\r\n\r\n", &mr), 200);
}

static void
test_malformed_fields_are_400(void **state)
{
	static const char *const bad[] = {
	    "GET /metrics HTTP/1.0\r\nNoColon\r\n\r\n",
	    "GET /metrics HTTP/1.0\r\nName : v\r\n\r\n",
	    "GET /metrics HTTP/1.0\r\nA: b\r\n folded\r\n\r\n",
	    "GET /metrics HTTP/1.0\r\n: v\r\n\r\n",
	    "GET /metrics HTTP/1.0\r\nA: b\x01\r\n\r\n",
	};
	struct metricshttp_req mr;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(t_status(bad[i], &mr), 400);
}

static void
test_a_head_too_long_is_431_complete_or_not(void **state)
{
	static char buf[METRICSHTTP_MAX_HEAD + 64];
	struct metricshttp_req mr;
	size_t n = strlen("GET /metrics HTTP/1.0\r\nX: ");

	(void)state;
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /metrics HTTP/1.0\r\nX: ", n);
	assert_int_equal(
	    metricshttp_parse(buf, METRICSHTTP_MAX_HEAD - 1, &mr), 0);
	assert_int_equal(metricshttp_parse(buf, METRICSHTTP_MAX_HEAD, &mr), 1);
	assert_int_equal(mr.mr_status, 431);
	memcpy(buf + METRICSHTTP_MAX_HEAD, "\r\n\r\n", 4);
	assert_int_equal(
	    metricshttp_parse(buf, METRICSHTTP_MAX_HEAD + 4, &mr), 1);
	assert_int_equal(mr.mr_status, 431);
}

static void
test_a_head_of_exactly_the_limit_is_served(void **state)
{
	static char buf[METRICSHTTP_MAX_HEAD];
	struct metricshttp_req mr;
	size_t n = strlen("GET /metrics HTTP/1.0\r\nX: ");

	(void)state;
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /metrics HTTP/1.0\r\nX: ", n);
	memcpy(buf + sizeof(buf) - 4, "\r\n\r\n", 4);
	assert_int_equal(metricshttp_parse(buf, sizeof(buf), &mr), 1);
	assert_int_equal(mr.mr_status, 200);
}

static void
test_reasons_name_each_status(void **state)
{
	(void)state;
	assert_string_equal(metricshttp_reason(200), "OK");
	assert_string_equal(metricshttp_reason(405), "Method Not Allowed");
	assert_string_equal(
	    metricshttp_reason(431), "Request Header Fields Too Large");
	assert_string_equal(metricshttp_reason(400), "Bad Request");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_get_metrics_is_200_and_its_length_is_the_head),
	    cmocka_unit_test(test_head_metrics_is_200_without_a_body),
	    cmocka_unit_test(test_an_incomplete_head_asks_for_more),
	    cmocka_unit_test(test_bare_line_feeds_end_lines_too),
	    cmocka_unit_test(test_other_paths_are_404_whatever_the_method),
	    cmocka_unit_test(test_other_methods_on_metrics_are_405),
	    cmocka_unit_test(test_query_and_absolute_form_reach_metrics),
	    cmocka_unit_test(test_malformed_request_lines_are_400),
	    cmocka_unit_test(test_another_http_version_is_505),
	    cmocka_unit_test(test_http_1_1_needs_exactly_one_host),
	    cmocka_unit_test(test_malformed_fields_are_400),
	    cmocka_unit_test(test_a_head_too_long_is_431_complete_or_not),
	    cmocka_unit_test(test_a_head_of_exactly_the_limit_is_served),
	    cmocka_unit_test(test_reasons_name_each_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
