/*
 * Unit tests for tools/chaturl.c: chatload's URL arguments, one URL or a
 * comma-separated list, and each connection's path.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chaturl.h"

/* Split arg into the test's urls; return the count, or -1 with why. */
static int
t_list(const char *arg, struct chaturl *urls, const char **why)
{
	*why = NULL;
	memset(urls, 0, sizeof(*urls) * CHATURL_LIST_MAX);
	return chaturl_list(arg, urls, why);
}

/* Assert that arg is refused, for a reason. */
static void
t_refused(const char *arg)
{
	struct chaturl urls[CHATURL_LIST_MAX];
	const char *why;

	assert_int_equal(t_list(arg, urls, &why), -1);
	assert_non_null(why);
}

static void
test_one_url_splits_into_target_and_path(void **state)
{
	struct chaturl urls[CHATURL_LIST_MAX];
	const char *why;

	(void)state;
	assert_int_equal(
	    t_list("ws://127.0.0.1:8080/chat/bench?nick=s{n}", urls, &why), 1);
	assert_string_equal(urls[0].cu_target, "127.0.0.1:8080");
	assert_string_equal(urls[0].cu_path, "/chat/bench?nick=s{n}");
}

static void
test_url_without_path_gets_slash(void **state)
{
	struct chaturl urls[CHATURL_LIST_MAX];
	const char *why;

	(void)state;
	assert_int_equal(t_list("ws://[::1]:80", urls, &why), 1);
	assert_string_equal(urls[0].cu_target, "[::1]:80");
	assert_string_equal(urls[0].cu_path, "/");
}

static void
test_comma_separated_urls_split_in_order(void **state)
{
	struct chaturl urls[CHATURL_LIST_MAX];
	const char *why;

	(void)state;
	assert_int_equal(t_list("ws://127.0.0.1:1/sub/bench,"
				"ws://127.0.0.1:2/chat/x?nick=p{n},ws://h:3",
			     urls, &why),
	    3);
	assert_string_equal(urls[0].cu_target, "127.0.0.1:1");
	assert_string_equal(urls[0].cu_path, "/sub/bench");
	assert_string_equal(urls[1].cu_target, "127.0.0.1:2");
	assert_string_equal(urls[1].cu_path, "/chat/x?nick=p{n}");
	assert_string_equal(urls[2].cu_target, "h:3");
	assert_string_equal(urls[2].cu_path, "/");
}

static void
test_sixteen_urls_are_taken_and_seventeen_refused(void **state)
{
	struct chaturl urls[CHATURL_LIST_MAX];
	const char *why;
	char arg[17 * 16];
	size_t pos = 0;
	int i;

	(void)state;
	for (i = 0; i < 17; i++)
		pos += (size_t)snprintf(arg + pos, sizeof(arg) - pos,
		    "%sws://h:%d/", i ? "," : "", 1000 + i);
	t_refused(arg);
	arg[strrchr(arg, ',') - arg] = '\0';
	assert_int_equal(t_list(arg, urls, &why), 16);
	assert_string_equal(urls[15].cu_target, "h:1015");
}

static void
test_bad_and_empty_urls_are_refused(void **state)
{
	(void)state;
	t_refused("");
	t_refused("http://127.0.0.1:80/chat");
	t_refused("ws:/127.0.0.1:80/chat");
	t_refused("ws:///chat");
	t_refused("ws://127.0.0.1:80/a b");
	t_refused("ws://127.0.0.1:1/a,");
	t_refused("ws://127.0.0.1:1/a,,ws://127.0.0.1:2/b");
	t_refused(",ws://127.0.0.1:1/a");
}

/* Return "ws://" HOST ":1/" PATH in buf, with hlen and plen bytes. */
static const char *
t_url(char *buf, size_t hlen, size_t plen)
{
	memcpy(buf, "ws://", 5);
	memset(buf + 5, 'h', hlen);
	memcpy(buf + 5 + hlen, ":1/", 3);
	memset(buf + 8 + hlen, 'p', plen);
	buf[8 + hlen + plen] = '\0';
	return buf;
}

static void
test_longest_target_and_path_are_taken_and_longer_refused(void **state)
{
	struct chaturl urls[CHATURL_LIST_MAX];
	char buf[16 + CHATURL_TARGET_MAX + CHATURL_PATH_MAX];
	const char *why;

	(void)state;
	/* HOST:PORT of CHATURL_TARGET_MAX - 1 bytes, "/" and PATH of the
	 * same. */
	assert_int_equal(
	    t_list(t_url(buf, CHATURL_TARGET_MAX - 3, CHATURL_PATH_MAX - 2),
		urls, &why),
	    1);
	assert_int_equal(strlen(urls[0].cu_target), CHATURL_TARGET_MAX - 1);
	assert_int_equal(strlen(urls[0].cu_path), CHATURL_PATH_MAX - 1);
	t_refused(t_url(buf, CHATURL_TARGET_MAX - 2, 1));
	t_refused(t_url(buf, 1, CHATURL_PATH_MAX - 1));
}

static void
test_path_replaces_every_n_with_the_number(void **state)
{
	struct chaturl cu = {"h:1", "/chat/{n}?nick=s{n}"};
	char buf[64];

	(void)state;
	assert_int_equal(chaturl_path(&cu, 42, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/chat/42?nick=s42");
}

static void
test_path_that_does_not_fit_is_refused(void **state)
{
	struct chaturl cu = {"h:1", "/chat?nick=s{n}"};
	char buf[15]; /* "/chat?nick=s99" and its NUL */

	(void)state;
	assert_int_equal(chaturl_path(&cu, 99, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/chat?nick=s99");
	assert_int_equal(chaturl_path(&cu, 100, buf, sizeof(buf)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_url_splits_into_target_and_path),
	    cmocka_unit_test(test_url_without_path_gets_slash),
	    cmocka_unit_test(test_comma_separated_urls_split_in_order),
	    cmocka_unit_test(test_sixteen_urls_are_taken_and_seventeen_refused),
	    cmocka_unit_test(test_bad_and_empty_urls_are_refused),
	    cmocka_unit_test(
		test_longest_target_and_path_are_taken_and_longer_refused),
	    cmocka_unit_test(test_path_replaces_every_n_with_the_number),
	    cmocka_unit_test(test_path_that_does_not_fit_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
