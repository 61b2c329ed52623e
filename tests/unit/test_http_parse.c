/*
 * Unit tests for http_parse.c: the header scanner, the request parser, the
 * list helpers and the chunked-body decoder.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"

/* A string literal and its length, NULs included. */
#define LIT(s) (s), (sizeof(s) - 1)

/* Assert that the span p[0..len) equals the string want. */
static void
assert_span(const char *p, size_t len, const char *want)
{
	assert_non_null(p);
	assert_int_equal(len, strlen(want));
	if (len > 0)
		assert_memory_equal(p, want, len);
}

/*
 * Scan buf[0..len), which must be exactly one block unless the scanner
 * refuses it early, and parse it: a block the scanner refused must be one
 * the parser refuses with 400 too.
 */
static int
parse_len(const char *buf, size_t len, struct http_request *req)
{
	struct http_scan hs;
	size_t n;
	int rc;

	http_scan_init(&hs);
	n = http_scan_header(&hs, buf, len);
	rc = http_parse_request(buf, len, req);
	if (hs.hs_bad)
		assert_int_equal(rc, 400);
	else
		assert_int_equal(n, len);
	return rc;
}

/* Scan and parse the NUL-terminated block s. */
static int
parse(const char *s, struct http_request *req)
{
	return parse_len(s, strlen(s), req);
}

/* Parse s and return the status only. */
static int
status(const char *s)
{
	struct http_request req;

	return parse(s, &req);
}

/* Parse a block with one extra field line, after "Host: h". */
static int
status_with_field(const char *field)
{
	char buf[1024];

	snprintf(
	    buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\n%s\r\n\r\n", field);
	return status(buf);
}

/* Feed the whole body to a fresh decoder; return its result. */
static ssize_t
chunked_whole(const char *buf, size_t len, int *done)
{
	struct http_chunked hc;

	http_chunked_init(&hc);
	return http_chunked_consume(&hc, buf, len, done);
}

/*
 * Feed the body one byte at a time to a fresh decoder; return the bytes
 * consumed up to the end of the body, or -1.
 */
static ssize_t
chunked_bytewise(const char *buf, size_t len, int *done)
{
	struct http_chunked hc;
	ssize_t r, total = 0;
	size_t i;

	http_chunked_init(&hc);
	*done = 0;
	for (i = 0; i < len && !*done; i++) {
		r = http_chunked_consume(&hc, buf + i, 1, done);
		if (r == -1)
			return -1;
		assert_int_equal(r, 1);
		total += r;
	}
	return total;
}

/* Assert that a body is rejected whole and byte by byte. */
static void
assert_chunked_error(const char *buf, size_t len)
{
	int done;

	assert_int_equal(chunked_whole(buf, len, &done), -1);
	assert_int_equal(chunked_bytewise(buf, len, &done), -1);
}

/* Assert that a body is a complete chunked body, whole and byte by byte. */
static void
assert_chunked_complete(const char *buf, size_t len)
{
	int done;

	assert_int_equal(chunked_whole(buf, len, &done), len);
	assert_int_equal(done, 1);
	assert_int_equal(chunked_bytewise(buf, len, &done), len);
	assert_int_equal(done, 1);
}

/* Assert that two parses of equal text produced equal requests. */
static void
assert_same_request(const struct http_request *a, const struct http_request *b)
{
	int i;

	assert_int_equal(a->hr_method, b->hr_method);
	assert_int_equal(a->hr_method_len, b->hr_method_len);
	assert_memory_equal(
	    a->hr_method_str, b->hr_method_str, a->hr_method_len);
	assert_int_equal(a->hr_target_len, b->hr_target_len);
	assert_memory_equal(a->hr_target, b->hr_target, a->hr_target_len);
	assert_int_equal(a->hr_path_len, b->hr_path_len);
	assert_memory_equal(a->hr_path, b->hr_path, a->hr_path_len);
	assert_int_equal(a->hr_query == NULL, b->hr_query == NULL);
	assert_int_equal(a->hr_query_len, b->hr_query_len);
	assert_int_equal(a->hr_line_len, b->hr_line_len);
	assert_memory_equal(a->hr_line, b->hr_line, a->hr_line_len);
	assert_int_equal(a->hr_version_major, b->hr_version_major);
	assert_int_equal(a->hr_version_minor, b->hr_version_minor);
	assert_int_equal(a->hr_host_len, b->hr_host_len);
	assert_memory_equal(a->hr_host, b->hr_host, a->hr_host_len);
	assert_int_equal(a->hr_nheaders, b->hr_nheaders);
	for (i = 0; i < a->hr_nheaders; i++) {
		assert_int_equal(
		    a->hr_headers[i].hh_name_len, b->hr_headers[i].hh_name_len);
		assert_memory_equal(a->hr_headers[i].hh_name,
		    b->hr_headers[i].hh_name, a->hr_headers[i].hh_name_len);
		assert_int_equal(a->hr_headers[i].hh_value_len,
		    b->hr_headers[i].hh_value_len);
		assert_memory_equal(a->hr_headers[i].hh_value,
		    b->hr_headers[i].hh_value, a->hr_headers[i].hh_value_len);
	}
	assert_int_equal(a->hr_keepalive, b->hr_keepalive);
	assert_int_equal(a->hr_expect_continue, b->hr_expect_continue);
	assert_int_equal(a->hr_body, b->hr_body);
	assert_int_equal(a->hr_content_length, b->hr_content_length);
}

/* ---- http_scan_header ---- */

static void
test_scan_finds_end_of_crlf_block(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_scan hs;

	(void)state;
	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, LIT(req)), sizeof(req) - 1);
}

static void
test_scan_finds_end_of_lf_only_block(void **state)
{
	static const char req[] = "GET / HTTP/1.1\nHost: a\n\n";
	struct http_scan hs;

	(void)state;
	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, LIT(req)), sizeof(req) - 1);
}

static void
test_scan_finds_end_of_mixed_line_ends(void **state)
{
	static const char req[] = "GET / HTTP/1.1\nHost: a\r\nX: y\n\r\n";
	struct http_scan hs;

	(void)state;
	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, LIT(req)), sizeof(req) - 1);
}

static void
test_scan_incomplete_block_returns_zero(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r";
	struct http_scan hs;

	(void)state;
	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, LIT(req)), 0);
	assert_int_equal(hs.hs_off, sizeof(req) - 1);
}

static void
test_scan_request_line_alone_is_incomplete(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\n";
	struct http_scan hs;

	(void)state;
	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, LIT(req)), 0);
}

static void
test_scan_request_line_then_empty_line_is_complete(void **state)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	struct http_scan hs;

	(void)state;
	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, LIT(req)), sizeof(req) - 1);
}

static void
test_scan_leading_empty_lines_are_part_of_block(void **state)
{
	static const char req[] = "\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_scan hs;

	(void)state;
	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, LIT(req)), sizeof(req) - 1);
	assert_int_equal(
	    hs.hs_line_end, strlen("\r\n\n\r\nGET / HTTP/1.1\r\n"));
}

static void
test_scan_only_empty_lines_is_incomplete(void **state)
{
	static const char req[] = "\r\n\r\n\n\n\r\n";
	struct http_scan hs;

	(void)state;
	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, LIT(req)), 0);
	assert_int_equal(hs.hs_line_end, 0);
}

static void
test_scan_cr_does_not_end_a_line(void **state)
{
	/* "\r\r\n" and "\r \r\n" are not empty lines: only LF ends one. */
	static const char req[] =
	    "GET / HTTP/1.1\r\n\r\r\nX: a\r \r\n\r\r\n\r\n";
	struct http_scan hs;

	(void)state;
	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, LIT(req)), sizeof(req) - 1);
}

/* Scan s from a fresh scanner; return where it found s bad, or -1. */
static long
scan_bad_at(const char *s, size_t len)
{
	struct http_scan hs;

	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, s, len), 0);
	if (!hs.hs_bad)
		return -1;
	assert_int_equal(hs.hs_line_end, 0);
	return (long)hs.hs_off;
}

static void
test_scan_cr_alone_before_request_line_is_bad(void **state)
{
	/* "\rX" is neither an empty line nor the start of a method. */
	(void)state;
	assert_int_equal(scan_bad_at(LIT("\rGET / HTTP/1.1\r\n")), 1);
	assert_int_equal(scan_bad_at(LIT("\r\n\r\r\n")), 3);
}

static void
test_scan_tls_client_hello_is_bad_at_its_first_byte(void **state)
{
	/* A TLS record header (handshake, TLS 1.0 record version, length)
	 * and the start of a ClientHello: no line end for the scanner. */
	static const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc";

	(void)state;
	assert_int_equal(scan_bad_at(LIT(hello)), 0);
	assert_int_equal(scan_bad_at(hello, 1), 0);
}

static void
test_scan_byte_that_cannot_start_a_method_is_bad(void **state)
{
	static const char bad[] = " \t\"(),/:;<=>?@[\\]{}\x7f\x80\xff";
	size_t i;

	(void)state;
	assert_int_equal(scan_bad_at("\0", 1), 0);
	for (i = 0; i < sizeof(bad) - 1; i++)
		assert_int_equal(scan_bad_at(bad + i, 1), 0);
}

static void
test_scan_bad_byte_after_empty_lines_is_bad(void **state)
{
	(void)state;
	assert_int_equal(scan_bad_at(LIT("\r\n\n\r\n\x16\x03\x01")), 5);
}

static void
test_scan_non_tchar_in_unfinished_method_is_bad(void **state)
{
	(void)state;
	assert_int_equal(scan_bad_at(LIT("GE(T")), 2);
	assert_int_equal(scan_bad_at(LIT("G\xc3\xa9")), 1);
	assert_int_equal(scan_bad_at(LIT("GET\t/")), 3);
}

static void
test_scan_line_end_before_method_ends_is_bad(void **state)
{
	(void)state;
	assert_int_equal(scan_bad_at(LIT("GET\r\n")), 3);
	assert_int_equal(scan_bad_at(LIT("GET\n")), 3);
}

static void
test_scan_tchars_then_space_are_not_bad(void **state)
{
	/* Every tchar may be in a method; after its SP the scanner looks
	 * for line ends only, and the parser judges the rest. */
	static const char line[] = "\r\n\n!#$%&'*+-.^_`|~09azAZ \x16\x00";

	(void)state;
	assert_int_equal(scan_bad_at(LIT(line)), -1);
	assert_int_equal(scan_bad_at(LIT("\r\n\r")), -1);
	assert_int_equal(scan_bad_at(LIT("GET")), -1);
}

static void
test_scan_stays_bad_as_more_arrives(void **state)
{
	static const char req[] = "G@T / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_scan hs;

	(void)state;
	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, req, 3), 0);
	assert_int_equal(hs.hs_bad, 1);
	assert_int_equal(http_scan_header(&hs, LIT(req)), 0);
	assert_int_equal(hs.hs_bad, 1);
	assert_int_equal(hs.hs_off, 1);
	assert_int_equal(hs.hs_line_end, 0);
}

static void
test_scan_fed_byte_at_a_time_matches_whole(void **state)
{
	static const char req[] =
	    "\r\nPOST /x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
	struct http_scan whole, inc;
	size_t len, n;

	(void)state;
	http_scan_init(&whole);
	n = http_scan_header(&whole, LIT(req));
	assert_int_equal(n, sizeof(req) - 1);

	http_scan_init(&inc);
	for (len = 1; len < sizeof(req) - 1; len++) {
		assert_int_equal(http_scan_header(&inc, req, len), 0);
		assert_int_equal(inc.hs_off, len);
	}
	assert_int_equal(http_scan_header(&inc, req, len), n);
	assert_int_equal(inc.hs_line_end, whole.hs_line_end);
}

static void
test_scan_line_end_set_when_request_line_ends(void **state)
{
	static const char req[] = "GET /abc HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t line = strlen("GET /abc HTTP/1.1\r\n");
	struct http_scan hs;
	size_t len;

	(void)state;
	http_scan_init(&hs);
	for (len = 1; len <= sizeof(req) - 1; len++) {
		http_scan_header(&hs, req, len);
		if (len < line)
			assert_int_equal(hs.hs_line_end, 0);
		else
			assert_int_equal(hs.hs_line_end, line);
	}
}

static void
test_scan_long_request_line_keeps_line_end_zero(void **state)
{
	char buf[8192];
	struct http_scan hs;

	(void)state;
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', sizeof(buf) - 5);
	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, buf, sizeof(buf)), 0);
	assert_int_equal(hs.hs_line_end, 0);
	assert_int_equal(hs.hs_off, sizeof(buf));
}

static void
test_scan_called_again_after_end_returns_same_length(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2";
	size_t n = strlen("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	struct http_scan hs;

	(void)state;
	http_scan_init(&hs);
	assert_int_equal(http_scan_header(&hs, req, n + 2), n);
	assert_int_equal(http_scan_header(&hs, LIT(req)), n);
}

static void
test_scan_pipelined_requests_are_found_in_turn(void **state)
{
	static const char buf[] = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
				  "HEAD /two HTTP/1.1\nHost: b\n\n";
	size_t first = strlen("GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
	struct http_request req;
	struct http_scan hs;
	size_t n;

	(void)state;
	http_scan_init(&hs);
	n = http_scan_header(&hs, LIT(buf));
	assert_int_equal(n, first);
	assert_int_equal(http_parse_request(buf, n, &req), 0);
	assert_int_equal(req.hr_method, HTTP_METHOD_GET);
	assert_span(req.hr_path, req.hr_path_len, "/one");
	assert_span(req.hr_host, req.hr_host_len, "a");

	http_scan_init(&hs);
	n = http_scan_header(&hs, buf + first, sizeof(buf) - 1 - first);
	assert_int_equal(n, sizeof(buf) - 1 - first);
	assert_int_equal(http_parse_request(buf + first, n, &req), 0);
	assert_int_equal(req.hr_method, HTTP_METHOD_HEAD);
	assert_span(req.hr_path, req.hr_path_len, "/two");
	assert_span(req.hr_host, req.hr_host_len, "b");
}

/* ---- http_parse_request: good requests ---- */

static void
test_get_origin_form_with_query_parses(void **state)
{
	static const char s[] =
	    "GET /a/b%20c?x=1&y=2 HTTP/1.1\r\nHost: example.com:8080\r\n"
	    "User-Agent: test\r\n\r\n";
	struct http_request req;

	(void)state;
	assert_int_equal(parse(s, &req), 0);
	assert_int_equal(req.hr_method, HTTP_METHOD_GET);
	assert_span(req.hr_method_str, req.hr_method_len, "GET");
	assert_span(req.hr_target, req.hr_target_len, "/a/b%20c?x=1&y=2");
	assert_span(req.hr_path, req.hr_path_len, "/a/b%20c");
	assert_span(req.hr_query, req.hr_query_len, "x=1&y=2");
	assert_span(
	    req.hr_line, req.hr_line_len, "GET /a/b%20c?x=1&y=2 HTTP/1.1");
	assert_int_equal(req.hr_version_major, 1);
	assert_int_equal(req.hr_version_minor, 1);
	assert_span(req.hr_host, req.hr_host_len, "example.com:8080");
	assert_int_equal(req.hr_nheaders, 2);
	assert_int_equal(req.hr_keepalive, 1);
	assert_int_equal(req.hr_expect_continue, 0);
	assert_int_equal(req.hr_body, HTTP_BODY_NONE);
}

static void
test_origin_form_without_query_has_null_query(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET /p HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	assert_span(req.hr_path, req.hr_path_len, "/p");
	assert_null(req.hr_query);
}

static void
test_empty_query_is_not_null(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET /p? HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	assert_span(req.hr_path, req.hr_path_len, "/p");
	assert_span(req.hr_query, req.hr_query_len, "");
}

static void
test_query_keeps_later_question_marks(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("GET /p?a?b HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	assert_span(req.hr_path, req.hr_path_len, "/p");
	assert_span(req.hr_query, req.hr_query_len, "a?b");
}

static void
test_head_request_parses(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("HEAD /i.html HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	assert_int_equal(req.hr_method, HTTP_METHOD_HEAD);
	assert_span(req.hr_path, req.hr_path_len, "/i.html");
}

static void
test_known_methods_map_to_enum(void **state)
{
	static const struct {
		const char *name;
		enum http_method method;
	} t[] = {
	    {"GET", HTTP_METHOD_GET},
	    {"HEAD", HTTP_METHOD_HEAD},
	    {"POST", HTTP_METHOD_POST},
	    {"PUT", HTTP_METHOD_PUT},
	    {"DELETE", HTTP_METHOD_DELETE},
	    {"CONNECT", HTTP_METHOD_CONNECT},
	    {"OPTIONS", HTTP_METHOD_OPTIONS},
	    {"TRACE", HTTP_METHOD_TRACE},
	    {"PATCH", HTTP_METHOD_PATCH},
	};
	struct http_request req;
	char buf[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf), "%s / HTTP/1.1\r\nHost: a\r\n\r\n",
		    t[i].name);
		assert_int_equal(parse(buf, &req), 0);
		assert_int_equal(req.hr_method, t[i].method);
	}
}

static void
test_unknown_method_token_is_accepted_as_unknown(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	assert_int_equal(req.hr_method, HTTP_METHOD_UNKNOWN);
	assert_span(req.hr_method_str, req.hr_method_len, "BREW");
}

static void
test_method_names_are_case_sensitive(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("get / HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	assert_int_equal(req.hr_method, HTTP_METHOD_UNKNOWN);
	assert_int_equal(parse("GETX / HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	assert_int_equal(req.hr_method, HTTP_METHOD_UNKNOWN);
}

static void
test_absolute_form_sets_host_and_path(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET http://example.com:81/a/b?q HTTP/1.1\r\n"
			       "Host: example.com:81\r\n\r\n",
			     &req),
	    0);
	assert_span(req.hr_host, req.hr_host_len, "example.com:81");
	assert_span(req.hr_path, req.hr_path_len, "/a/b");
	assert_span(req.hr_query, req.hr_query_len, "q");
	assert_span(
	    req.hr_target, req.hr_target_len, "http://example.com:81/a/b?q");
}

static void
test_absolute_form_authority_overrides_host(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET https://real.example/x HTTP/1.1\r\n"
			       "Host: other.example\r\n\r\n",
			     &req),
	    0);
	assert_span(req.hr_host, req.hr_host_len, "real.example");
	assert_span(req.hr_path, req.hr_path_len, "/x");
	assert_null(req.hr_query);
}

static void
test_absolute_form_scheme_is_case_insensitive(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("GET HTTPS://h/ HTTP/1.1\r\nHost: h\r\n\r\n", &req), 0);
	assert_span(req.hr_host, req.hr_host_len, "h");
	assert_int_equal(
	    parse("GET hTTp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", &req), 0);
	assert_span(req.hr_path, req.hr_path_len, "/");
}

static void
test_absolute_form_without_path_defaults_to_slash(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("GET http://h HTTP/1.1\r\nHost: h\r\n\r\n", &req), 0);
	assert_span(req.hr_host, req.hr_host_len, "h");
	assert_span(req.hr_path, req.hr_path_len, "/");
	assert_null(req.hr_query);
	assert_int_equal(
	    parse("GET http://h?a=b HTTP/1.1\r\nHost: h\r\n\r\n", &req), 0);
	assert_span(req.hr_host, req.hr_host_len, "h");
	assert_span(req.hr_path, req.hr_path_len, "/");
	assert_span(req.hr_query, req.hr_query_len, "a=b");
}

/*
 * Found by fuzz_http_parse (corpus/http_parse/crash-absolute-form-no-path):
 * the "/" of an empty path was a string constant, outside the buffer that
 * every pointer of struct http_request must point into.
 */
static void
test_absolute_form_without_path_points_into_buffer(void **state)
{
	static const char *const reqs[] = {
	    "GET http://h HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET https://h?a=b HTTP/1.1\r\nHost: h\r\n\r\n",
	};
	struct http_request req;
	const char *buf;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		buf = reqs[i];
		len = strlen(buf);
		assert_int_equal(parse(buf, &req), 0);
		assert_span(req.hr_path, req.hr_path_len, "/");
		assert_true(req.hr_path >= req.hr_target &&
		    req.hr_path + req.hr_path_len <=
			req.hr_target + req.hr_target_len);
		assert_true(req.hr_path >= buf && req.hr_path < buf + len);
	}
}

/* RFC 9112 3.2: a Host (or an authority) must be uri-host [":" port]. */
static void
test_host_must_be_a_uri_host_and_port(void **state)
{
	static const char *const good[] = {"a", "a.b:80", "127.0.0.1:8080",
	    "[::1]", "[::1]:80", "[fe80::1%25eth0]", "x-y_z~", ""};
	static const char *const bad[] = {"[", "a]b[", "[]", "[::1", "a:b",
	    "[::1]x", "a:80:90", "a b", "[::1]:8x"};
	char buf[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n",
		    good[i]);
		if (status(buf) != 0)
			fail_msg("Host: %s refused", good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n",
		    bad[i]);
		if (status(buf) != 400)
			fail_msg("Host: %s accepted", bad[i]);
	}
	assert_int_equal(
	    status("GET http://[::1/p HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void
test_absolute_form_in_http10_without_host_sets_host(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("GET http://[::1]:8080/ HTTP/1.0\r\n\r\n", &req), 0);
	assert_span(req.hr_host, req.hr_host_len, "[::1]:8080");
}

static void
test_asterisk_form_with_options_is_accepted(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	assert_int_equal(req.hr_method, HTTP_METHOD_OPTIONS);
	assert_span(req.hr_target, req.hr_target_len, "*");
	assert_span(req.hr_path, req.hr_path_len, "*");
	assert_null(req.hr_query);
}

static void
test_authority_form_with_connect_is_accepted(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("CONNECT example.com:443 HTTP/1.1\r\n"
			       "Host: example.com:443\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_method, HTTP_METHOD_CONNECT);
	assert_span(req.hr_target, req.hr_target_len, "example.com:443");
}

static void
test_leading_empty_lines_are_skipped(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("\r\n\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	assert_span(req.hr_line, req.hr_line_len, "GET /x HTTP/1.1");
	assert_span(req.hr_path, req.hr_path_len, "/x");
}

static void
test_lf_only_lines_parse(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("GET /x HTTP/1.1\nHost: a\nAccept: */*\n\n", &req), 0);
	assert_span(req.hr_line, req.hr_line_len, "GET /x HTTP/1.1");
	assert_span(req.hr_host, req.hr_host_len, "a");
	assert_int_equal(req.hr_nheaders, 2);
	assert_span(
	    req.hr_headers[1].hh_value, req.hr_headers[1].hh_value_len, "*/*");
}

static void
test_header_values_are_trimmed_and_kept_in_order(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost:a\r\n"
			       "X-One: \t one two \t\r\n"
			       "X-Empty:\r\n"
			       "X-Blank:  \t \r\n"
			       "x-one: again\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_nheaders, 5);
	assert_span(
	    req.hr_headers[0].hh_name, req.hr_headers[0].hh_name_len, "Host");
	assert_span(
	    req.hr_headers[0].hh_value, req.hr_headers[0].hh_value_len, "a");
	assert_span(
	    req.hr_headers[1].hh_name, req.hr_headers[1].hh_name_len, "X-One");
	assert_span(req.hr_headers[1].hh_value, req.hr_headers[1].hh_value_len,
	    "one two");
	assert_span(req.hr_headers[2].hh_name, req.hr_headers[2].hh_name_len,
	    "X-Empty");
	assert_int_equal(req.hr_headers[2].hh_value_len, 0);
	assert_span(req.hr_headers[3].hh_name, req.hr_headers[3].hh_name_len,
	    "X-Blank");
	assert_int_equal(req.hr_headers[3].hh_value_len, 0);
	assert_span(req.hr_headers[4].hh_value, req.hr_headers[4].hh_value_len,
	    "again");
}

static void
test_tab_and_obs_text_in_value_are_accepted(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"
			       "X: a\tb \xc3\xa9\xff\r\n\r\n",
			     &req),
	    0);
	assert_span(req.hr_headers[1].hh_value, req.hr_headers[1].hh_value_len,
	    "a\tb \xc3\xa9\xff");
}

static void
test_header_fed_byte_at_a_time_parses_like_whole(void **state)
{
	static const char s[] = "\r\nPOST /up?x=1 HTTP/1.1\r\nHost: h:1\r\n"
				"Content-Length: 12\r\nConnection: close\r\n"
				"Expect: 100-continue\r\n\r\n";
	struct http_request whole, inc;
	struct http_scan hs;
	char buf[sizeof(s)];
	size_t len, n = 0;

	(void)state;
	assert_int_equal(parse(s, &whole), 0);

	/* Bytes arrive one at a time in a separate buffer. */
	memset(buf, 0, sizeof(buf));
	http_scan_init(&hs);
	for (len = 1; len <= sizeof(s) - 1; len++) {
		buf[len - 1] = s[len - 1];
		n = http_scan_header(&hs, buf, len);
		if (len < sizeof(s) - 1)
			assert_int_equal(n, 0);
	}
	assert_int_equal(n, sizeof(s) - 1);
	assert_int_equal(http_parse_request(buf, n, &inc), 0);
	assert_same_request(&whole, &inc);
	assert_int_equal(inc.hr_body, HTTP_BODY_LENGTH);
	assert_int_equal(inc.hr_content_length, 12);
	assert_int_equal(inc.hr_keepalive, 0);
	assert_int_equal(inc.hr_expect_continue, 1);
}

static void
test_exactly_max_headers_are_accepted(void **state)
{
	char buf[4096];
	struct http_request req;
	size_t off;
	int i;

	(void)state;
	off =
	    (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < HTTP_MAX_HEADERS; i++)
		off += (size_t)snprintf(
		    buf + off, sizeof(buf) - off, "X-%d: %d\r\n", i, i);
	snprintf(buf + off, sizeof(buf) - off, "\r\n");
	assert_int_equal(parse(buf, &req), 0);
	assert_int_equal(req.hr_nheaders, HTTP_MAX_HEADERS);
}

/* ---- keep-alive, Expect, body framing ---- */

static void
test_http11_keeps_alive_by_default(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	assert_int_equal(req.hr_keepalive, 1);
}

static void
test_connection_close_disables_keepalive(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"
			       "Connection: Upgrade, CLOSE\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_keepalive, 0);
}

static void
test_connection_close_in_later_field_disables_keepalive(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"
			       "Connection: keep-alive\r\n"
			       "Connection: close\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_keepalive, 0);
}

static void
test_connection_close_in_earlier_field_disables_keepalive(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"
			       "Connection: close\r\n"
			       "Connection: upgrade\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_keepalive, 0);
}

static void
test_connection_closed_is_not_close(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"
			       "Connection: closed\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_keepalive, 1);
}

static void
test_http10_closes_by_default(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &req), 0);
	assert_int_equal(req.hr_version_minor, 0);
	assert_int_equal(req.hr_keepalive, 0);
	assert_null(req.hr_host);
}

static void
test_http10_keep_alive_keeps_alive(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req), 0);
	assert_int_equal(req.hr_keepalive, 1);
}

static void
test_http10_keep_alive_in_later_field_keeps_alive(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: foo\r\n"
			       "Connection: bar, keep-alive\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_keepalive, 1);
}

static void
test_http10_keep_alive_in_earlier_field_keeps_alive(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
			       "Connection: foo\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_keepalive, 1);
}

static void
test_http10_keep_alive_and_close_closes(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.0\r\n"
			       "Connection: keep-alive, close\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_keepalive, 0);
}

static void
test_http1x_minor_above_1_has_http11_semantics(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.9\r\nHost: a\r\n\r\n", &req), 0);
	assert_int_equal(req.hr_version_minor, 9);
	assert_int_equal(req.hr_keepalive, 1);
	assert_int_equal(status("GET / HTTP/1.9\r\n\r\n"), 400);
}

static void
test_expect_100_continue_is_detected_case_insensitively(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("PUT /f HTTP/1.1\r\nHost: a\r\n"
		  "Content-Length: 5\r\nExpect: 100-Continue\r\n\r\n",
		&req),
	    0);
	assert_int_equal(req.hr_expect_continue, 1);
}

static void
test_expect_other_value_is_not_continue(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("PUT /f HTTP/1.1\r\nHost: a\r\n"
			       "Expect: 100-continue-ish\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_expect_continue, 0);
}

static void
test_expect_in_http10_is_ignored(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("PUT /f HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &req), 0);
	assert_int_equal(req.hr_expect_continue, 0);
}

static void
test_content_length_sets_length_body(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\n"
			       "Content-Length: 42\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_body, HTTP_BODY_LENGTH);
	assert_int_equal(req.hr_content_length, 42);
}

static void
test_content_length_zero_means_no_body(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\n"
			       "Content-Length: 0\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_body, HTTP_BODY_NONE);
}

static void
test_content_length_max_value_is_accepted(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\n"
			       "Content-Length: 18446744073709551615\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_body, HTTP_BODY_LENGTH);
	assert_true(req.hr_content_length == 18446744073709551615ULL);
}

static void
test_identical_content_length_fields_are_accepted(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\n"
			       "Content-Length: 7\r\nContent-Length: 7\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_body, HTTP_BODY_LENGTH);
	assert_int_equal(req.hr_content_length, 7);
}

static void
test_identical_content_length_list_is_accepted(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\n"
			       "Content-Length: 7 , 7,7\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_content_length, 7);
}

static void
test_chunked_transfer_encoding_sets_chunked_body(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\n"
			       "Transfer-Encoding: Chunked\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_body, HTTP_BODY_CHUNKED);
}

static void
test_transfer_encoding_empty_elements_are_ignored(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\n"
			       "Transfer-Encoding: , chunked ,\r\n\r\n",
			     &req),
	    0);
	assert_int_equal(req.hr_body, HTTP_BODY_CHUNKED);
}

static void
test_empty_host_is_accepted(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n", &req), 0);
	assert_span(req.hr_host, req.hr_host_len, "");
}

static void
test_host_with_ip_literal_and_port_is_accepted(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse("GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]:80\r\n\r\n", &req),
	    0);
	assert_span(req.hr_host, req.hr_host_len, "[fe80::1%25eth0]:80");
}

/* ---- http_parse_request: rejections ---- */

static void
test_double_space_in_request_line_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	assert_int_equal(status("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void
test_leading_space_in_request_line_is_400(void **state)
{
	(void)state;
	assert_int_equal(status(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void
test_trailing_space_in_request_line_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
}

static void
test_tab_separator_in_request_line_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	assert_int_equal(status("GET /\tHTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void
test_request_line_with_two_parts_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GET /\r\nHost: a\r\n\r\n"), 400);
	assert_int_equal(status("GET\r\nHost: a\r\n\r\n"), 400);
}

static void
test_request_line_with_four_parts_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GET / HTTP/1.1 x\r\nHost: a\r\n\r\n"), 400);
}

static void
test_method_not_token_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	assert_int_equal(
	    status("G\xc3\xa9T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void
test_target_with_control_or_non_ascii_byte_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	assert_int_equal(
	    status("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	assert_int_equal(status("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void
test_nul_in_target_is_400(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse_len(LIT("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"), &req), 400);
}

static void
test_target_with_fragment_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void
test_bad_version_syntax_is_400(void **state)
{
	static const char *v[] = {"HTTP/1", "HTTP/1.", "HTTP/1.10", "HTTP/11.1",
	    "http/1.1", "HTTP/a.1", "HTTP/1.x", "HTTP-1.1", "HTTP/1,1",
	    "HTTPS/1.1"};
	char buf[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(buf, sizeof(buf), "GET / %s\r\nHost: a\r\n\r\n", v[i]);
		assert_int_equal(status(buf), 400);
	}
}

static void
test_http2_version_is_505(void **state)
{
	(void)state;
	assert_int_equal(status("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
}

static void
test_http09_version_is_505(void **state)
{
	(void)state;
	assert_int_equal(status("GET / HTTP/0.9\r\n\r\n"), 505);
}

static void
test_bare_cr_in_request_line_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	assert_int_equal(status("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n"), 400);
	assert_int_equal(status("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void
test_bare_cr_in_field_is_400(void **state)
{
	(void)state;
	assert_int_equal(status_with_field("X: a\rb"), 400);
	assert_int_equal(status_with_field("X: a\r"), 400);
}

static void
test_bare_cr_line_before_end_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n\r\n"), 400);
}

static void
test_obs_fold_with_space_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"), 400);
}

static void
test_obs_fold_with_tab_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n"), 400);
}

static void
test_whitespace_before_first_field_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400);
}

static void
test_empty_field_name_is_400(void **state)
{
	(void)state;
	assert_int_equal(status_with_field(": value"), 400);
}

static void
test_non_token_field_name_is_400(void **state)
{
	(void)state;
	assert_int_equal(status_with_field("X(Y): value"), 400);
	assert_int_equal(status_with_field("X Y: value"), 400);
	assert_int_equal(status_with_field("X\xc3\xa9: value"), 400);
}

static void
test_whitespace_before_colon_is_400(void **state)
{
	(void)state;
	assert_int_equal(status_with_field("X-Test : value"), 400);
	assert_int_equal(status_with_field("X-Test\t: value"), 400);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
}

static void
test_field_without_colon_is_400(void **state)
{
	(void)state;
	assert_int_equal(status_with_field("X-Test value"), 400);
}

static void
test_control_char_in_value_is_400(void **state)
{
	(void)state;
	assert_int_equal(status_with_field("X: a\x01z"), 400);
	assert_int_equal(status_with_field("X: a\x1b[0m"), 400);
}

static void
test_nul_in_value_is_400(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    parse_len(
		LIT("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"), &req),
	    400);
}

static void
test_del_in_value_is_400(void **state)
{
	(void)state;
	assert_int_equal(status_with_field("X: a\x7f"), 400);
}

static void
test_http11_without_host_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), 400);
}

static void
test_http11_absolute_form_without_host_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GET http://h/ HTTP/1.1\r\n\r\n"), 400);
}

static void
test_two_host_fields_are_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), 400);
	assert_int_equal(
	    status("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
}

static void
test_host_with_invalid_character_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: u@h\r\n\r\n"), 400);
	assert_int_equal(
	    status("GET / HTTP/1.1\r\nHost: h\xc3\xa9\r\n\r\n"), 400);
	assert_int_equal(status("GET / HTTP/1.0\r\nHost: a\"b\r\n\r\n"), 400);
}

static void
test_content_length_not_digits_is_400(void **state)
{
	(void)state;
	assert_int_equal(status_with_field("Content-Length: 5a"), 400);
	assert_int_equal(status_with_field("Content-Length: +5"), 400);
	assert_int_equal(status_with_field("Content-Length: -1"), 400);
	assert_int_equal(status_with_field("Content-Length: 0x10"), 400);
	assert_int_equal(status_with_field("Content-Length: 1 2"), 400);
	assert_int_equal(status_with_field("Content-Length:"), 400);
	assert_int_equal(status_with_field("Content-Length: 5,"), 400);
}

static void
test_content_length_overflow_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status_with_field("Content-Length: 18446744073709551616"), 400);
	assert_int_equal(
	    status_with_field("Content-Length: 99999999999999999999999"), 400);
}

static void
test_differing_content_length_fields_are_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status("POST / HTTP/1.1\r\nHost: a\r\n"
		   "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
	    400);
}

static void
test_differing_content_length_list_is_400(void **state)
{
	(void)state;
	assert_int_equal(status_with_field("Content-Length: 5, 6"), 400);
}

static void
test_content_length_with_transfer_encoding_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("POST / HTTP/1.1\r\nHost: a\r\n"
				"Content-Length: 5\r\n"
				"Transfer-Encoding: chunked\r\n\r\n"),
	    400);
	assert_int_equal(status("POST / HTTP/1.1\r\nHost: a\r\n"
				"Transfer-Encoding: chunked\r\n"
				"Content-Length: 0\r\n\r\n"),
	    400);
}

static void
test_transfer_encoding_in_http10_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("POST / HTTP/1.0\r\n"
				"Transfer-Encoding: chunked\r\n\r\n"),
	    400);
}

static void
test_transfer_encoding_not_ending_in_chunked_is_400(void **state)
{
	(void)state;
	assert_int_equal(status_with_field("Transfer-Encoding: gzip"), 400);
	assert_int_equal(
	    status_with_field("Transfer-Encoding: chunked, gzip"), 400);
	assert_int_equal(status("POST / HTTP/1.1\r\nHost: a\r\n"
				"Transfer-Encoding: chunked\r\n"
				"Transfer-Encoding: gzip\r\n\r\n"),
	    400);
}

static void
test_empty_transfer_encoding_is_400(void **state)
{
	(void)state;
	assert_int_equal(status_with_field("Transfer-Encoding:"), 400);
	assert_int_equal(status_with_field("Transfer-Encoding: ,"), 400);
}

static void
test_transfer_coding_not_token_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status_with_field("Transfer-Encoding: g(z), chunked"), 400);
}

static void
test_transfer_coding_parameters_are_ignored(void **state)
{
	(void)state;
	assert_int_equal(
	    status_with_field("Transfer-Encoding: x-zip ; level=1 , chunked"),
	    501);
	assert_int_equal(
	    status_with_field("Transfer-Encoding: chunked;x=1"), 0);
}

static void
test_chunked_listed_twice_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status_with_field("Transfer-Encoding: chunked, chunked"), 400);
	assert_int_equal(status("POST / HTTP/1.1\r\nHost: a\r\n"
				"Transfer-Encoding: chunked\r\n"
				"Transfer-Encoding: chunked\r\n\r\n"),
	    400);
}

static void
test_coding_before_chunked_is_501(void **state)
{
	(void)state;
	assert_int_equal(
	    status_with_field("Transfer-Encoding: gzip, chunked"), 501);
	assert_int_equal(status("POST / HTTP/1.1\r\nHost: a\r\n"
				"Transfer-Encoding: gzip\r\n"
				"Transfer-Encoding: chunked\r\n\r\n"),
	    501);
}

static void
test_more_than_max_headers_is_431(void **state)
{
	char buf[4096];
	size_t off;
	int i;

	(void)state;
	off =
	    (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i <= HTTP_MAX_HEADERS; i++)
		off += (size_t)snprintf(
		    buf + off, sizeof(buf) - off, "X-%d: %d\r\n", i, i);
	snprintf(buf + off, sizeof(buf) - off, "\r\n");
	assert_int_equal(status(buf), 431);
}

static void
test_relative_target_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status("GET index.html HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	assert_int_equal(status("GET ?q HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void
test_absolute_form_with_other_scheme_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(
	    status("GET http:/h/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(
	    status("GET httpx://h/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void
test_absolute_form_with_empty_authority_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(
	    status("GET http:// HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void
test_absolute_form_with_userinfo_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status("GET http://u:p@h/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void
test_asterisk_form_without_options_is_400(void **state)
{
	(void)state;
	assert_int_equal(status("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void
test_authority_form_without_connect_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status("GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void
test_connect_target_without_port_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    status("CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	assert_int_equal(
	    status("CONNECT :443 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	assert_int_equal(
	    status("CONNECT example.com:44x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void
test_block_without_end_is_400(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(
	    http_parse_request(LIT("GET / HTTP/1.1\r\nHost: a\r\n"), &req),
	    400);
	assert_int_equal(http_parse_request(LIT("GET / HTTP/1.1"), &req), 400);
	assert_int_equal(http_parse_request(LIT("\r\n"), &req), 400);
	assert_int_equal(http_parse_request("", 0, &req), 400);
}

/* ---- http_header_find, http_token_list_has ---- */

static void
test_header_find_is_case_insensitive_and_returns_first(void **state)
{
	const struct http_header *hh;
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"
			       "X-Thing: one\r\nx-thing: two\r\n\r\n",
			     &req),
	    0);
	hh = http_header_find(&req, "X-THING");
	assert_non_null(hh);
	assert_ptr_equal(hh, &req.hr_headers[1]);
	assert_span(hh->hh_value, hh->hh_value_len, "one");
}

static void
test_header_find_missing_is_null(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"
			       "X-Thing: one\r\n\r\n",
			     &req),
	    0);
	assert_null(http_header_find(&req, "X-Thin"));
	assert_null(http_header_find(&req, "X-Things"));
}

static void
test_token_list_finds_element_case_insensitively(void **state)
{
	(void)state;
	assert_int_equal(
	    http_token_list_has(LIT("keep-alive, Upgrade"), "upgrade"), 1);
	assert_int_equal(
	    http_token_list_has(LIT("keep-alive, Upgrade"), "KEEP-ALIVE"), 1);
}

static void
test_token_list_does_not_match_partial_element(void **state)
{
	(void)state;
	assert_int_equal(
	    http_token_list_has(LIT("keep-alive, upgrade2"), "upgrade"), 0);
	assert_int_equal(http_token_list_has(LIT("upgrad"), "upgrade"), 0);
	assert_int_equal(http_token_list_has(LIT("x-upgrade"), "upgrade"), 0);
}

static void
test_token_list_allows_ows_and_empty_elements(void **state)
{
	(void)state;
	assert_int_equal(
	    http_token_list_has(LIT(" ,\t, close\t ,"), "close"), 1);
	assert_int_equal(http_token_list_has(LIT(",,"), "close"), 0);
}

static void
test_token_list_respects_length(void **state)
{
	(void)state;
	assert_int_equal(http_token_list_has("a, close", 4, "close"), 0);
	assert_int_equal(http_token_list_has("", 0, "close"), 0);
}

/* ---- http_chunked_consume ---- */

static void
test_chunked_whole_body_is_consumed(void **state)
{
	static const char body[] = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	int done;

	(void)state;
	assert_int_equal(chunked_whole(LIT(body), &done), sizeof(body) - 1);
	assert_int_equal(done, 1);
}

static void
test_chunked_fed_byte_at_a_time_matches_whole(void **state)
{
	static const char body[] = "a\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n";
	int done;

	(void)state;
	assert_int_equal(chunked_bytewise(LIT(body), &done), sizeof(body) - 1);
	assert_int_equal(done, 1);
}

static void
test_chunked_fed_in_uneven_pieces_matches_whole(void **state)
{
	static const char body[] =
	    "3;a=b\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n";
	struct http_chunked hc;
	size_t off = 0, step = 1, n;
	ssize_t r;
	int done = 0;

	(void)state;
	http_chunked_init(&hc);
	while (off < sizeof(body) - 1) {
		n = step;
		if (n > sizeof(body) - 1 - off)
			n = sizeof(body) - 1 - off;
		r = http_chunked_consume(&hc, body + off, n, &done);
		assert_int_equal(r, n);
		off += n;
		step = step % 5 + 2;
	}
	assert_int_equal(done, 1);
}

static void
test_chunked_incomplete_body_is_not_done(void **state)
{
	static const char body[] = "5\r\nhello\r\n0\r\n";
	int done;

	(void)state;
	assert_int_equal(chunked_whole(LIT(body), &done), sizeof(body) - 1);
	assert_int_equal(done, 0);
	assert_int_equal(chunked_bytewise(LIT(body), &done), sizeof(body) - 1);
	assert_int_equal(done, 0);
}

static void
test_chunked_empty_body_is_last_chunk_only(void **state)
{
	(void)state;
	assert_chunked_complete(LIT("0\r\n\r\n"));
	assert_chunked_complete(LIT("000\r\n\r\n"));
}

static void
test_chunked_hex_sizes_are_case_insensitive(void **state)
{
	char body[128];
	int n;

	(void)state;
	n = snprintf(body, sizeof(body),
	    "1A\r\n%26s\r\n1a\r\n%26s\r\n0\r\n\r\n", "x", "y");
	assert_chunked_complete(body, (size_t)n);
}

static void
test_chunked_with_extensions_is_consumed(void **state)
{
	(void)state;
	assert_chunked_complete(LIT("5;name=value;flag\r\nhello\r\n"
				    "3 ; q=\"a;b\"\r\nabc\r\n0;last\r\n\r\n"));
}

static void
test_chunked_with_trailers_is_consumed(void **state)
{
	(void)state;
	assert_chunked_complete(LIT("5\r\nhello\r\n0\r\n"
				    "Checksum: abc\r\nX-Other: 1\r\n\r\n"));
}

/* RFC 9112 7.1: every line of a chunked body ends in CRLF. */
static void
test_chunked_bare_lf_line_ends_are_errors(void **state)
{
	(void)state;
	assert_chunked_error(LIT("5\nhello\r\n0\r\n\r\n"));
	assert_chunked_error(LIT("5;x\nhello\r\n0\r\n\r\n"));
	assert_chunked_error(LIT("5\r\nhello\n0\r\n\r\n"));
	assert_chunked_error(LIT("0\r\nT: 1\n\r\n"));
	assert_chunked_error(LIT("0\r\n\n"));
}

static void
test_chunked_followed_by_next_request_stops_at_body_end(void **state)
{
	static const char buf[] = "4\r\nwiki\r\n0\r\nT: x\r\n\r\n"
				  "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t body = strlen("4\r\nwiki\r\n0\r\nT: x\r\n\r\n");
	struct http_chunked hc;
	int done;

	(void)state;
	assert_int_equal(chunked_whole(LIT(buf), &done), body);
	assert_int_equal(done, 1);
	assert_int_equal(chunked_bytewise(LIT(buf), &done), body);
	assert_int_equal(done, 1);

	/* Once done, the decoder consumes nothing more. */
	http_chunked_init(&hc);
	assert_int_equal(http_chunked_consume(&hc, LIT(buf), &done), body);
	assert_int_equal(http_chunked_consume(
			     &hc, buf + body, sizeof(buf) - 1 - body, &done),
	    0);
	assert_int_equal(done, 1);
}

static void
test_chunked_data_split_across_calls_is_counted(void **state)
{
	static const char body[] = "8\r\n12345678\r\n0\r\n\r\n";
	struct http_chunked hc;
	int done;

	(void)state;
	http_chunked_init(&hc);
	assert_int_equal(http_chunked_consume(&hc, body, 6, &done), 6);
	assert_int_equal(done, 0);
	/* "4567" are data, so "\r\n0\r\n\r\n" must still be needed. */
	assert_int_equal(http_chunked_consume(&hc, body + 6, 4, &done), 4);
	assert_int_equal(done, 0);
	assert_int_equal(
	    http_chunked_consume(&hc, body + 10, sizeof(body) - 1 - 10, &done),
	    sizeof(body) - 1 - 10);
	assert_int_equal(done, 1);
}

static void
test_chunked_data_may_contain_line_ends(void **state)
{
	(void)state;
	assert_chunked_complete(LIT("7\r\n\r\n0\r\n\r\n\r\n0\r\n\r\n"));
}

static void
test_chunked_size_at_limit_is_accepted(void **state)
{
	static const char line[] = "4000000000000000\r\n";
	int done;

	(void)state;
	assert_int_equal(chunked_whole(LIT(line), &done), sizeof(line) - 1);
	assert_int_equal(done, 0);
}

static void
test_chunked_size_overflow_is_error(void **state)
{
	(void)state;
	assert_chunked_error(LIT("4000000000000001\r\n"));
	assert_chunked_error(LIT("10000000000000000\r\n"));
	assert_chunked_error(LIT("ffffffffffffffffffff\r\n"));
}

static void
test_chunked_non_hex_size_is_error(void **state)
{
	(void)state;
	assert_chunked_error(LIT("g\r\nhello\r\n0\r\n\r\n"));
	assert_chunked_error(LIT("5x\r\nhello\r\n0\r\n\r\n"));
	assert_chunked_error(LIT("-5\r\nhello\r\n0\r\n\r\n"));
	assert_chunked_error(LIT("0x5\r\nhello\r\n0\r\n\r\n"));
}

static void
test_chunked_empty_size_is_error(void **state)
{
	(void)state;
	assert_chunked_error(LIT("\r\n5\r\nhello\r\n0\r\n\r\n"));
	assert_chunked_error(LIT(";ext\r\n0\r\n\r\n"));
	assert_chunked_error(LIT("5\r\nhello\r\n\r\n0\r\n\r\n"));
}

static void
test_chunked_missing_line_end_after_data_is_error(void **state)
{
	(void)state;
	assert_chunked_error(LIT("5\r\nhelloX\r\n0\r\n\r\n"));
	assert_chunked_error(LIT("5\r\nhello0\r\n\r\n"));
	assert_chunked_error(LIT("5\r\nhelloX0\r\n\r\n"));
}

static void
test_chunked_bare_cr_in_size_line_is_error(void **state)
{
	(void)state;
	assert_chunked_error(LIT("5\rX\nhello\r\n0\r\n\r\n"));
	assert_chunked_error(LIT("5\rhello\r\n0\r\n\r\n"));
	assert_chunked_error(LIT("5;a\rb\r\nhello\r\n0\r\n\r\n"));
}

static void
test_chunked_bare_cr_after_data_is_error(void **state)
{
	(void)state;
	assert_chunked_error(LIT("5\r\nhello\rX0\r\n\r\n"));
}

static void
test_chunked_bare_cr_in_trailer_is_error(void **state)
{
	(void)state;
	assert_chunked_error(LIT("0\r\nT: a\rb\r\n\r\n"));
}

static void
test_chunked_bare_cr_in_final_line_is_error(void **state)
{
	(void)state;
	assert_chunked_error(LIT("0\r\n\rX\r\n"));
}

static void
test_chunked_size_line_at_limit_is_accepted(void **state)
{
	char buf[4200];
	size_t n;

	(void)state;
	/* "1;" and 4094 extension bytes: a 4096-byte line. */
	memcpy(buf, "1;", 2);
	memset(buf + 2, 'e', 4094);
	n = 4096;
	memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 10);
	assert_chunked_complete(buf, n + 10);
}

static void
test_chunked_size_line_over_limit_is_error(void **state)
{
	char buf[4200];
	size_t n;

	(void)state;
	memcpy(buf, "1;", 2);
	memset(buf + 2, 'e', 4095);
	n = 4097;
	memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 10);
	assert_chunked_error(buf, n + 10);
}

static void
test_chunked_size_line_with_leading_zeros_over_limit_is_error(void **state)
{
	char buf[4200];

	(void)state;
	memset(buf, '0', 4097);
	memcpy(buf + 4097, "1\r\nx\r\n0\r\n\r\n", 11);
	assert_chunked_error(buf, 4097 + 11);
}

static void
test_chunked_trailer_at_limit_is_accepted(void **state)
{
	char buf[8300];
	size_t n;

	(void)state;
	/* One field line of 8192 bytes with its CRLF. */
	memcpy(buf, "0\r\nT: ", 6);
	memset(buf + 6, 'v', 8192 - 5);
	n = 6 + 8192 - 5;
	memcpy(buf + n, "\r\n\r\n", 4);
	assert_chunked_complete(buf, n + 4);
}

static void
test_chunked_trailer_over_limit_is_error(void **state)
{
	char buf[8300];
	size_t n;

	(void)state;
	memcpy(buf, "0\r\nT: ", 6);
	memset(buf + 6, 'v', 8192 - 4);
	n = 6 + 8192 - 4;
	memcpy(buf + n, "\r\n\r\n", 4);
	assert_chunked_error(buf, n + 4);
}

static void
test_chunked_trailer_limit_counts_all_lines(void **state)
{
	char buf[9000];
	size_t n = 0;
	int i;

	(void)state;
	memcpy(buf, "0\r\n", 3);
	n = 3;
	/* 850 lines of "X: 12345\r\n" is 8500 bytes. */
	for (i = 0; i < 850; i++) {
		memcpy(buf + n, "X: 12345\r\n", 10);
		n += 10;
	}
	memcpy(buf + n, "\r\n", 2);
	assert_chunked_error(buf, n + 2);
}

static void
test_chunked_error_is_sticky(void **state)
{
	struct http_chunked hc;
	int done;

	(void)state;
	http_chunked_init(&hc);
	assert_int_equal(http_chunked_consume(&hc, LIT("z"), &done), -1);
	assert_int_equal(
	    http_chunked_consume(&hc, LIT("0\r\n\r\n"), &done), -1);
	assert_int_equal(done, 0);
	assert_int_equal(http_chunked_consume(&hc, "", 0, &done), -1);
}

/* Run every test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scan_finds_end_of_crlf_block),
	    cmocka_unit_test(test_scan_finds_end_of_lf_only_block),
	    cmocka_unit_test(test_scan_finds_end_of_mixed_line_ends),
	    cmocka_unit_test(test_scan_incomplete_block_returns_zero),
	    cmocka_unit_test(test_scan_request_line_alone_is_incomplete),
	    cmocka_unit_test(
		test_scan_request_line_then_empty_line_is_complete),
	    cmocka_unit_test(test_scan_leading_empty_lines_are_part_of_block),
	    cmocka_unit_test(test_scan_only_empty_lines_is_incomplete),
	    cmocka_unit_test(test_scan_cr_does_not_end_a_line),
	    cmocka_unit_test(test_scan_cr_alone_before_request_line_is_bad),
	    cmocka_unit_test(
		test_scan_tls_client_hello_is_bad_at_its_first_byte),
	    cmocka_unit_test(test_scan_byte_that_cannot_start_a_method_is_bad),
	    cmocka_unit_test(test_scan_bad_byte_after_empty_lines_is_bad),
	    cmocka_unit_test(test_scan_non_tchar_in_unfinished_method_is_bad),
	    cmocka_unit_test(test_scan_line_end_before_method_ends_is_bad),
	    cmocka_unit_test(test_scan_tchars_then_space_are_not_bad),
	    cmocka_unit_test(test_scan_stays_bad_as_more_arrives),
	    cmocka_unit_test(test_scan_fed_byte_at_a_time_matches_whole),
	    cmocka_unit_test(test_scan_line_end_set_when_request_line_ends),
	    cmocka_unit_test(test_scan_long_request_line_keeps_line_end_zero),
	    cmocka_unit_test(
		test_scan_called_again_after_end_returns_same_length),
	    cmocka_unit_test(test_scan_pipelined_requests_are_found_in_turn),

	    cmocka_unit_test(test_get_origin_form_with_query_parses),
	    cmocka_unit_test(test_origin_form_without_query_has_null_query),
	    cmocka_unit_test(test_empty_query_is_not_null),
	    cmocka_unit_test(test_query_keeps_later_question_marks),
	    cmocka_unit_test(test_head_request_parses),
	    cmocka_unit_test(test_known_methods_map_to_enum),
	    cmocka_unit_test(test_unknown_method_token_is_accepted_as_unknown),
	    cmocka_unit_test(test_method_names_are_case_sensitive),
	    cmocka_unit_test(test_absolute_form_sets_host_and_path),
	    cmocka_unit_test(test_absolute_form_authority_overrides_host),
	    cmocka_unit_test(test_absolute_form_scheme_is_case_insensitive),
	    cmocka_unit_test(test_absolute_form_without_path_defaults_to_slash),
	    cmocka_unit_test(
		test_absolute_form_without_path_points_into_buffer),
	    cmocka_unit_test(test_host_must_be_a_uri_host_and_port),
	    cmocka_unit_test(
		test_absolute_form_in_http10_without_host_sets_host),
	    cmocka_unit_test(test_asterisk_form_with_options_is_accepted),
	    cmocka_unit_test(test_authority_form_with_connect_is_accepted),
	    cmocka_unit_test(test_leading_empty_lines_are_skipped),
	    cmocka_unit_test(test_lf_only_lines_parse),
	    cmocka_unit_test(test_header_values_are_trimmed_and_kept_in_order),
	    cmocka_unit_test(test_tab_and_obs_text_in_value_are_accepted),
	    cmocka_unit_test(test_header_fed_byte_at_a_time_parses_like_whole),
	    cmocka_unit_test(test_exactly_max_headers_are_accepted),

	    cmocka_unit_test(test_http11_keeps_alive_by_default),
	    cmocka_unit_test(test_connection_close_disables_keepalive),
	    cmocka_unit_test(
		test_connection_close_in_later_field_disables_keepalive),
	    cmocka_unit_test(
		test_connection_close_in_earlier_field_disables_keepalive),
	    cmocka_unit_test(test_connection_closed_is_not_close),
	    cmocka_unit_test(test_http10_closes_by_default),
	    cmocka_unit_test(test_http10_keep_alive_keeps_alive),
	    cmocka_unit_test(test_http10_keep_alive_in_later_field_keeps_alive),
	    cmocka_unit_test(
		test_http10_keep_alive_in_earlier_field_keeps_alive),
	    cmocka_unit_test(test_http10_keep_alive_and_close_closes),
	    cmocka_unit_test(test_http1x_minor_above_1_has_http11_semantics),
	    cmocka_unit_test(
		test_expect_100_continue_is_detected_case_insensitively),
	    cmocka_unit_test(test_expect_other_value_is_not_continue),
	    cmocka_unit_test(test_expect_in_http10_is_ignored),
	    cmocka_unit_test(test_content_length_sets_length_body),
	    cmocka_unit_test(test_content_length_zero_means_no_body),
	    cmocka_unit_test(test_content_length_max_value_is_accepted),
	    cmocka_unit_test(test_identical_content_length_fields_are_accepted),
	    cmocka_unit_test(test_identical_content_length_list_is_accepted),
	    cmocka_unit_test(test_chunked_transfer_encoding_sets_chunked_body),
	    cmocka_unit_test(test_transfer_encoding_empty_elements_are_ignored),
	    cmocka_unit_test(test_empty_host_is_accepted),
	    cmocka_unit_test(test_host_with_ip_literal_and_port_is_accepted),

	    cmocka_unit_test(test_double_space_in_request_line_is_400),
	    cmocka_unit_test(test_leading_space_in_request_line_is_400),
	    cmocka_unit_test(test_trailing_space_in_request_line_is_400),
	    cmocka_unit_test(test_tab_separator_in_request_line_is_400),
	    cmocka_unit_test(test_request_line_with_two_parts_is_400),
	    cmocka_unit_test(test_request_line_with_four_parts_is_400),
	    cmocka_unit_test(test_method_not_token_is_400),
	    cmocka_unit_test(test_target_with_control_or_non_ascii_byte_is_400),
	    cmocka_unit_test(test_nul_in_target_is_400),
	    cmocka_unit_test(test_target_with_fragment_is_400),
	    cmocka_unit_test(test_bad_version_syntax_is_400),
	    cmocka_unit_test(test_http2_version_is_505),
	    cmocka_unit_test(test_http09_version_is_505),
	    cmocka_unit_test(test_bare_cr_in_request_line_is_400),
	    cmocka_unit_test(test_bare_cr_in_field_is_400),
	    cmocka_unit_test(test_bare_cr_line_before_end_is_400),
	    cmocka_unit_test(test_obs_fold_with_space_is_400),
	    cmocka_unit_test(test_obs_fold_with_tab_is_400),
	    cmocka_unit_test(test_whitespace_before_first_field_is_400),
	    cmocka_unit_test(test_empty_field_name_is_400),
	    cmocka_unit_test(test_non_token_field_name_is_400),
	    cmocka_unit_test(test_whitespace_before_colon_is_400),
	    cmocka_unit_test(test_field_without_colon_is_400),
	    cmocka_unit_test(test_control_char_in_value_is_400),
	    cmocka_unit_test(test_nul_in_value_is_400),
	    cmocka_unit_test(test_del_in_value_is_400),
	    cmocka_unit_test(test_http11_without_host_is_400),
	    cmocka_unit_test(test_http11_absolute_form_without_host_is_400),
	    cmocka_unit_test(test_two_host_fields_are_400),
	    cmocka_unit_test(test_host_with_invalid_character_is_400),
	    cmocka_unit_test(test_content_length_not_digits_is_400),
	    cmocka_unit_test(test_content_length_overflow_is_400),
	    cmocka_unit_test(test_differing_content_length_fields_are_400),
	    cmocka_unit_test(test_differing_content_length_list_is_400),
	    cmocka_unit_test(test_content_length_with_transfer_encoding_is_400),
	    cmocka_unit_test(test_transfer_encoding_in_http10_is_400),
	    cmocka_unit_test(
		test_transfer_encoding_not_ending_in_chunked_is_400),
	    cmocka_unit_test(test_empty_transfer_encoding_is_400),
	    cmocka_unit_test(test_transfer_coding_not_token_is_400),
	    cmocka_unit_test(test_transfer_coding_parameters_are_ignored),
	    cmocka_unit_test(test_chunked_listed_twice_is_400),
	    cmocka_unit_test(test_coding_before_chunked_is_501),
	    cmocka_unit_test(test_more_than_max_headers_is_431),
	    cmocka_unit_test(test_relative_target_is_400),
	    cmocka_unit_test(test_absolute_form_with_other_scheme_is_400),
	    cmocka_unit_test(test_absolute_form_with_empty_authority_is_400),
	    cmocka_unit_test(test_absolute_form_with_userinfo_is_400),
	    cmocka_unit_test(test_asterisk_form_without_options_is_400),
	    cmocka_unit_test(test_authority_form_without_connect_is_400),
	    cmocka_unit_test(test_connect_target_without_port_is_400),
	    cmocka_unit_test(test_block_without_end_is_400),

	    cmocka_unit_test(
		test_header_find_is_case_insensitive_and_returns_first),
	    cmocka_unit_test(test_header_find_missing_is_null),
	    cmocka_unit_test(test_token_list_finds_element_case_insensitively),
	    cmocka_unit_test(test_token_list_does_not_match_partial_element),
	    cmocka_unit_test(test_token_list_allows_ows_and_empty_elements),
	    cmocka_unit_test(test_token_list_respects_length),

	    cmocka_unit_test(test_chunked_whole_body_is_consumed),
	    cmocka_unit_test(test_chunked_fed_byte_at_a_time_matches_whole),
	    cmocka_unit_test(test_chunked_fed_in_uneven_pieces_matches_whole),
	    cmocka_unit_test(test_chunked_incomplete_body_is_not_done),
	    cmocka_unit_test(test_chunked_empty_body_is_last_chunk_only),
	    cmocka_unit_test(test_chunked_hex_sizes_are_case_insensitive),
	    cmocka_unit_test(test_chunked_with_extensions_is_consumed),
	    cmocka_unit_test(test_chunked_with_trailers_is_consumed),
	    cmocka_unit_test(test_chunked_bare_lf_line_ends_are_errors),
	    cmocka_unit_test(
		test_chunked_followed_by_next_request_stops_at_body_end),
	    cmocka_unit_test(test_chunked_data_split_across_calls_is_counted),
	    cmocka_unit_test(test_chunked_data_may_contain_line_ends),
	    cmocka_unit_test(test_chunked_size_at_limit_is_accepted),
	    cmocka_unit_test(test_chunked_size_overflow_is_error),
	    cmocka_unit_test(test_chunked_non_hex_size_is_error),
	    cmocka_unit_test(test_chunked_empty_size_is_error),
	    cmocka_unit_test(test_chunked_missing_line_end_after_data_is_error),
	    cmocka_unit_test(test_chunked_bare_cr_in_size_line_is_error),
	    cmocka_unit_test(test_chunked_bare_cr_after_data_is_error),
	    cmocka_unit_test(test_chunked_bare_cr_in_trailer_is_error),
	    cmocka_unit_test(test_chunked_bare_cr_in_final_line_is_error),
	    cmocka_unit_test(test_chunked_size_line_at_limit_is_accepted),
	    cmocka_unit_test(test_chunked_size_line_over_limit_is_error),
	    cmocka_unit_test(
		test_chunked_size_line_with_leading_zeros_over_limit_is_error),
	    cmocka_unit_test(test_chunked_trailer_at_limit_is_accepted),
	    cmocka_unit_test(test_chunked_trailer_over_limit_is_error),
	    cmocka_unit_test(test_chunked_trailer_limit_counts_all_lines),
	    cmocka_unit_test(test_chunked_error_is_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
