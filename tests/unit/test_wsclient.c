/*
 * Unit tests for tools/wsclient.c, the load tools' WebSocket pieces: the
 * JSON-like payloads, RSV1 in server frames, and the extensions answer
 * of a handshake.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wsclient.h"

#define T_101                                                                  \
	"HTTP/1.1 101 Switching Protocols\r\n"                                 \
	"Upgrade: websocket\r\n"                                               \
	"Connection: Upgrade\r\n"                                              \
	"Sec-WebSocket-Accept: " WSCLIENT_ACCEPT "\r\n"

/* Check the handshake response head (CRLF-terminated lines) with ext. */
static int
t_check(const char *head, char *ext, size_t extlen)
{
	char msg[WSCLIENT_MSG_MAX];

	return wsclient_handshake_check((const unsigned char *)head,
	    strlen(head), ext, extlen, msg, sizeof(msg));
}

/* Parse the two header bytes b0 b1 of a server frame. */
static int
t_parse(unsigned char b0, unsigned char b1, int rsv1_ok)
{
	unsigned char p[2] = {b0, b1};
	struct wsclient_frame f;
	char msg[WSCLIENT_MSG_MAX];

	return wsclient_frame_parse(p, 2, rsv1_ok, &f, msg, sizeof(msg));
}

static void
test_json_has_the_size_asked_and_its_seq_in_place(void **state)
{
	static const size_t sizes[] = {37, 40, 300, 1024, 4096, 65536};
	static unsigned char buf[65536 + 1];
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(buf, 0, sizeof(buf));
		wsclient_json(buf, sizes[i], i);
		assert_memory_equal(buf, "{\"seq\":\"0000000000000000\"", 25);
		assert_memory_equal(buf + sizes[i] - 2, "]}", 2);
		for (k = 0; k < sizes[i]; k++)
			assert_true(buf[k] >= ' ' && buf[k] < 0x7f);
		assert_int_equal(buf[sizes[i]], 0);
	}
	assert_int_equal(buf[WSCLIENT_JSON_STAMP - 1], '"');
}

static void
test_json_of_other_seeds_differs_and_of_one_seed_does_not(void **state)
{
	static unsigned char a[4096], b[4096], c[4096];

	(void)state;
	wsclient_json(a, sizeof(a), 2);
	wsclient_json(b, sizeof(b), 3);
	wsclient_json(c, sizeof(c), 2);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_equal(a, c, sizeof(a));
}

static void
test_json_too_small_is_its_start(void **state)
{
	unsigned char buf[8];

	(void)state;
	wsclient_json(buf, sizeof(buf), 1);
	assert_memory_equal(buf, "{\"seq\":\"", 8);
}

static void
test_frame_rsv1_only_on_a_data_frame_and_when_agreed(void **state)
{
	(void)state;
	assert_int_equal(t_parse(0xc1, 0x05, 1), 2); /* text, RSV1 */
	assert_int_equal(t_parse(0x42, 0x05, 1), 2); /* binary, RSV1 */
	assert_int_equal(t_parse(0xc1, 0x05, 0), -1);
	assert_int_equal(t_parse(0xc0, 0x05, 1), -1); /* continuation */
	assert_int_equal(t_parse(0xc9, 0x00, 1), -1); /* ping */
	assert_int_equal(t_parse(0xa1, 0x05, 1), -1); /* RSV2 */
	assert_int_equal(t_parse(0x91, 0x05, 1), -1); /* RSV3 */
}

static void
test_handshake_gathers_extension_lines_into_one_list(void **state)
{
	char ext[WSCLIENT_EXT_MAX];

	(void)state;
	assert_int_equal(t_check(T_101 "Sec-WebSocket-Extensions: a; b\r\n"
				       "Sec-WebSocket-Extensions:  c \r\n",
			     ext, sizeof(ext)),
	    0);
	assert_string_equal(ext, "a; b, c");
	assert_int_equal(t_check(T_101, ext, sizeof(ext)), 0);
	assert_string_equal(ext, "");
}

static void
test_handshake_refuses_extensions_not_asked_for(void **state)
{
	(void)state;
	assert_int_equal(
	    t_check(T_101 "Sec-WebSocket-Extensions: permessage-deflate\r\n",
		NULL, 0),
	    -1);
	assert_int_equal(t_check(T_101, NULL, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_has_the_size_asked_and_its_seq_in_place),
	    cmocka_unit_test(
		test_json_of_other_seeds_differs_and_of_one_seed_does_not),
	    cmocka_unit_test(test_json_too_small_is_its_start),
	    cmocka_unit_test(
		test_frame_rsv1_only_on_a_data_frame_and_when_agreed),
	    cmocka_unit_test(
		test_handshake_gathers_extension_lines_into_one_list),
	    cmocka_unit_test(test_handshake_refuses_extensions_not_asked_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
