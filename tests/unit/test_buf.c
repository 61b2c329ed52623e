/*
 * Unit tests for buf.c: the byte buffers of connections.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

/* Assert that b holds exactly the NUL-terminated text want. */
static void
test_buf_holds(const struct buf *b, const char *want)
{
	assert_int_equal(buf_len(b), strlen(want));
	assert_memory_equal(buf_data(b), want, strlen(want));
}

/* Bytes added come out in order; draining all resets to the front. */
static void
test_add_drain_keeps_order(void **state)
{
	struct buf b;

	(void)state;
	assert_int_equal(buf_init(&b, 16), 0);
	assert_int_equal(buf_add(&b, "hello ", 6), 0);
	assert_int_equal(buf_add(&b, "world", 5), 0);
	test_buf_holds(&b, "hello world");
	buf_drain(&b, 6);
	test_buf_holds(&b, "world");
	buf_drain(&b, 5);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(b.b_start, 0);
	assert_int_equal(b.b_end, 0);
	buf_free(&b);
}

/* Room at the end is made by moving the data to the front first. */
static void
test_space_moves_before_growing(void **state)
{
	struct buf b;
	char *room;

	(void)state;
	assert_int_equal(buf_init(&b, 16), 0);
	assert_int_equal(buf_add(&b, "0123456789abcdef", 16), 0);
	buf_drain(&b, 12);
	room = buf_space(&b, 10);
	assert_non_null(room);
	assert_int_equal(b.b_cap, 16); /* moved, not grown */
	test_buf_holds(&b, "cdef");
	memcpy(room, "0123456789", 10);
	buf_commit(&b, 10);
	test_buf_holds(&b, "cdef0123456789");
	buf_free(&b);
}

/* A buffer grows to fit what is added, keeping its bytes. */
static void
test_add_grows(void **state)
{
	char big[10000];
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(buf_init(&b, 8), 0);
	assert_int_equal(buf_add(&b, "xy", 2), 0);
	assert_int_equal(buf_add(&b, big, sizeof(big)), 0);
	assert_true(b.b_cap >= sizeof(big) + 2);
	assert_int_equal(buf_len(&b), sizeof(big) + 2);
	assert_memory_equal(buf_data(&b), "xy", 2);
	assert_memory_equal(buf_data(&b) + 2, big, sizeof(big));
	buf_free(&b);
}

/* A buffer that is empty gives back memory beyond what it keeps. */
static void
test_trim_only_when_empty(void **state)
{
	char big[4096] = {0};
	struct buf b;

	(void)state;
	assert_int_equal(buf_init(&b, 64), 0);
	assert_int_equal(buf_add(&b, big, sizeof(big)), 0);
	buf_trim(&b, 64);
	assert_true(b.b_cap >= sizeof(big)); /* not empty: kept */
	buf_drain(&b, sizeof(big));
	buf_trim(&b, 64);
	assert_int_equal(b.b_cap, 64);
	assert_int_equal(buf_add(&b, "ok", 2), 0);
	test_buf_holds(&b, "ok");
	buf_free(&b);
	buf_free(&b); /* freeing twice is harmless */
}

/* An impossible size fails cleanly and leaves the buffer as it was. */
static void
test_space_too_large_fails(void **state)
{
	struct buf b;

	(void)state;
	assert_int_equal(buf_init(&b, 16), 0);
	assert_int_equal(buf_add(&b, "keep", 4), 0);
	assert_null(buf_space(&b, (size_t)-1 / 2));
	test_buf_holds(&b, "keep");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_drain_keeps_order),
	    cmocka_unit_test(test_space_moves_before_growing),
	    cmocka_unit_test(test_add_grows),
	    cmocka_unit_test(test_trim_only_when_empty),
	    cmocka_unit_test(test_space_too_large_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
