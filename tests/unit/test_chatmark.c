/*
 * Unit tests for tools/chatmark.c: the marker chatload puts in each chat
 * message and finds in whatever frame a server delivers.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chatmark.h"

/* Return whether the NUL-terminated s holds a marker; read it into m. */
static int
t_find(const char *s, struct chatmark *m)
{
	memset(m, 0, sizeof(*m));
	return chatmark_find(s, strlen(s), m);
}

/* Assert that s holds no marker. */
static void
t_none(const char *s)
{
	struct chatmark m;

	assert_int_equal(t_find(s, &m), 0);
}

static void
test_format_pads_marker_to_size(void **state)
{
	struct chatmark m = {3, 17, 123456789};
	char buf[64];

	(void)state;
	assert_int_equal(chatmark_format(&m, 32, buf), 32);
	assert_memory_equal(buf, "@B3:17:123456789@xxxxxxxxxxxxxxx", 32);
}

static void
test_format_keeps_marker_longer_than_size_whole(void **state)
{
	struct chatmark m = {CHATMARK_PUB_MAX, UINT64_MAX, UINT64_MAX};
	char buf[CHATMARK_LEN_MAX];
	char want[CHATMARK_LEN_MAX + 1];

	(void)state;
	snprintf(want, sizeof(want), "@B99999:%llu:%llu@",
	    (unsigned long long)UINT64_MAX, (unsigned long long)UINT64_MAX);
	assert_int_equal(strlen(want), CHATMARK_LEN_MAX);
	assert_int_equal(chatmark_format(&m, 8, buf), CHATMARK_LEN_MAX);
	assert_memory_equal(buf, want, CHATMARK_LEN_MAX);
}

static void
test_formatted_marker_is_found_again(void **state)
{
	struct chatmark m = {4, 1000001, 98765432101234ULL}, got;
	char buf[128];
	size_t n;

	(void)state;
	n = chatmark_format(&m, 100, buf);
	assert_int_equal(chatmark_find(buf, n, &got), 1);
	assert_int_equal(got.cm_pub, 4);
	assert_int_equal(got.cm_num, 1000001);
	assert_int_equal(got.cm_sent, 98765432101234ULL);
}

static void
test_marker_is_found_inside_json(void **state)
{
	struct chatmark m;

	(void)state;
	assert_int_equal(
	    t_find("{\"type\":\"message\",\"room\":\"bench\","
		   "\"seq\":9,\"time\":\"2026-12-05T21:07:04.123Z\","
		   "\"nick\":\"p1\",\"text\":\"@B1:2:3@xxxx\"}",
		&m),
	    1);
	assert_int_equal(m.cm_pub, 1);
	assert_int_equal(m.cm_num, 2);
	assert_int_equal(m.cm_sent, 3);
}

static void
test_frames_without_marker_have_none(void **state)
{
	(void)state;
	t_none("");
	t_none("{\"type\":\"welcome\",\"room\":\"bench\",\"nick\":\"s1\","
	       "\"seq\":0}");
	t_none("{\"type\":\"join\",\"nick\":\"s1\"}");
}

static void
test_malformed_markers_are_not_taken(void **state)
{
	(void)state;
	t_none("@B1:2:3");		       /* no closing @ */
	t_none("@B1:2@");		       /* a field missing */
	t_none("@B:2:3@");		       /* an empty field */
	t_none("@B0:2:3@");		       /* publisher 0 */
	t_none("@B100000:2:3@");	       /* publisher too large */
	t_none("@B1:18446744073709551616:3@"); /* number past 64 bits */
	t_none("@B1:2:3x@");
	t_none("@b1:2:3@");
}

static void
test_marker_after_a_false_start_is_found(void **state)
{
	struct chatmark m;

	(void)state;
	assert_int_equal(t_find("@B@B1:@B7:8:9@", &m), 1);
	assert_int_equal(m.cm_pub, 7);
	assert_int_equal(m.cm_num, 8);
	assert_int_equal(m.cm_sent, 9);
}

static void
test_marker_cut_at_end_of_buffer_is_not_read_past(void **state)
{
	const char *s = "@B1:2:3@";
	struct chatmark m;
	size_t n;

	(void)state;
	for (n = 0; n < strlen(s); n++)
		assert_int_equal(chatmark_find(s, n, &m), 0);
	assert_int_equal(chatmark_find(s, strlen(s), &m), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_pads_marker_to_size),
	    cmocka_unit_test(test_format_keeps_marker_longer_than_size_whole),
	    cmocka_unit_test(test_formatted_marker_is_found_again),
	    cmocka_unit_test(test_marker_is_found_inside_json),
	    cmocka_unit_test(test_frames_without_marker_have_none),
	    cmocka_unit_test(test_malformed_markers_are_not_taken),
	    cmocka_unit_test(test_marker_after_a_false_start_is_found),
	    cmocka_unit_test(test_marker_cut_at_end_of_buffer_is_not_read_past),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
