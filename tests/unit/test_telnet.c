/*
 * Unit tests for telnet.c: the chat line reader of telnet and nc clients.
 * Line ends, telnet commands, long and invalid lines, each fed whole, at
 * every split point and byte by byte, with the lines found written out as
 * text and compared with what they should be.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

/* A string literal and its length, without the terminating NUL. */
#define LIT(s) (s), (sizeof(s) - 1)

#define T_OUT_MAX    4096 /* the lines of one run, written out */
#define T_SPLIT3_MAX 256  /* inputs split in three at every two points */

/* Telnet bytes, as string pieces. */
#define IAC  "\xff"
#define SB   "\xfa"
#define SE   "\xf0"
#define WILL "\xfb"
#define WONT "\xfc"
#define DO   "\xfd"
#define DONT "\xfe"
#define NOP  "\xf1"

/*
 * Write one line found into out: its text and '\n', or <long> or <utf8>
 * for a flagged one. Check the promises of struct telnet_line.
 */
static void
t_put(const struct telnet_line *line, size_t max_line, char *out)
{
	size_t used = strlen(out);

	assert_true(line->tl_complete);
	if (line->tl_too_long || line->tl_bad_utf8) {
		assert_false(line->tl_too_long && line->tl_bad_utf8);
		assert_null(line->tl_text);
		assert_int_equal(line->tl_len, 0);
		snprintf(out + used, T_OUT_MAX - used, "%s\n",
		    line->tl_too_long ? "<long>" : "<utf8>");
		return;
	}
	assert_non_null(line->tl_text);
	assert_true(line->tl_len <= max_line);
	assert_int_equal(line->tl_text[line->tl_len], '\0');
	assert_int_equal(strlen(line->tl_text), line->tl_len);
	assert_null(memchr(line->tl_text, '\r', line->tl_len));
	assert_null(memchr(line->tl_text, '\n', line->tl_len));
	assert_true(used + line->tl_len + 2 <= T_OUT_MAX);
	memcpy(out + used, line->tl_text, line->tl_len);
	out[used + line->tl_len] = '\n';
	out[used + line->tl_len + 1] = '\0';
}

/* Feed in[0..n) to t in one piece (an exact-size copy), lines to out. */
static void
t_feed(struct telnet *t, const char *in, size_t n, char *out)
{
	struct telnet_line line;
	char *piece;
	size_t off = 0, used;

	piece = malloc(n > 0 ? n : 1);
	assert_non_null(piece);
	memcpy(piece, in, n);
	do {
		used = telnet_scan(t, piece + off, n - off, &line);
		assert_true(used <= n - off);
		off += used;
		if (!line.tl_complete) {
			assert_int_equal(off, n);
			break;
		}
		assert_true(used > 0);
		t_put(&line, t->tn_max, out);
		assert_true(t->tn_len <= t->tn_max);
	} while (off < n);
	free(piece);
}

/*
 * Run a fresh reader of max_line over in[0..n) cut at cuts[0..ncuts)
 * (sorted); the lines go to out.
 */
static void
t_run(size_t max_line, const char *in, size_t n, const size_t *cuts,
    size_t ncuts, char *out)
{
	struct telnet t;
	size_t start = 0, end, i;

	out[0] = '\0';
	assert_int_equal(telnet_init(&t, max_line), 0);
	for (i = 0; i <= ncuts; i++) {
		end = i < ncuts ? cuts[i] : n;
		t_feed(&t, in + start, end - start, out);
		start = end;
	}
	telnet_free(&t);
}

/* Run a fresh reader of max_line over in[0..n) byte by byte. */
static void
t_run_bytes(size_t max_line, const char *in, size_t n, char *out)
{
	struct telnet t;
	size_t i;

	out[0] = '\0';
	assert_int_equal(telnet_init(&t, max_line), 0);
	for (i = 0; i < n; i++)
		t_feed(&t, in + i, 1, out);
	telnet_free(&t);
}

/*
 * Check that in[0..n) read by a reader of max_line gives the lines want,
 * whole, split into two pieces at every point (and into three, if short),
 * and byte by byte.
 */
static void
t_check(size_t max_line, const char *in, size_t n, const char *want)
{
	char out[T_OUT_MAX];
	size_t cuts[3], i, j;

	t_run(max_line, in, n, NULL, 0, out);
	assert_string_equal(out, want);
	for (i = 0; i <= n; i++) {
		cuts[0] = i;
		t_run(max_line, in, n, cuts, 1, out);
		assert_string_equal(out, want);
		for (j = i; j <= n && n <= T_SPLIT3_MAX; j++) {
			cuts[1] = j;
			t_run(max_line, in, n, cuts, 2, out);
			assert_string_equal(out, want);
		}
	}
	t_run_bytes(max_line, in, n, out);
	assert_string_equal(out, want);
}

static void
test_lf_ends_line(void **state)
{
	(void)state;
	t_check(64, LIT("hello\nworld\n"), "hello\nworld\n");
}

static void
test_crlf_ends_line_without_the_cr(void **state)
{
	(void)state;
	t_check(64, LIT("hello\r\nworld\r\n"), "hello\nworld\n");
}

static void
test_cr_nul_ends_line(void **state)
{
	(void)state;
	t_check(64, LIT("hello\r\0world\r\0"), "hello\nworld\n");
}

static void
test_bare_cr_ends_line(void **state)
{
	(void)state;
	t_check(64, LIT("a\rb\r\rc\n"), "a\nb\n\nc\n");
}

static void
test_cr_nul_lf_is_one_line_end(void **state)
{
	(void)state;
	t_check(64, LIT("a\r\0\nb\n"), "a\nb\n");
}

static void
test_nul_is_dropped(void **state)
{
	(void)state;
	t_check(64, LIT("\0a\0b\0\n"), "ab\n");
}

static void
test_empty_lines_are_reported(void **state)
{
	(void)state;
	t_check(64, LIT("\n\r\n\r\0\n\n"), "\n\n\n\n");
}

static void
test_partial_line_waits_for_its_end(void **state)
{
	struct telnet t;
	struct telnet_line line;

	(void)state;
	assert_int_equal(telnet_init(&t, 64), 0);
	assert_int_equal(telnet_scan(&t, LIT("abc"), &line), 3);
	assert_false(line.tl_complete);
	assert_null(line.tl_text);
	assert_int_equal(telnet_scan(&t, LIT("d\nrest"), &line), 2);
	assert_true(line.tl_complete);
	assert_int_equal(line.tl_len, 4);
	assert_memory_equal(line.tl_text, "abcd", 4);
	telnet_free(&t);
}

static void
test_scan_stops_after_each_line(void **state)
{
	struct telnet t;
	struct telnet_line line;

	(void)state;
	assert_int_equal(telnet_init(&t, 64), 0);
	assert_int_equal(telnet_scan(&t, LIT("a\r\nb\n"), &line), 2);
	assert_true(line.tl_complete);
	assert_string_equal(line.tl_text, "a");
	/* The LF of CR LF: consumed, no line. */
	assert_int_equal(telnet_scan(&t, LIT("\nb\n"), &line), 3);
	assert_true(line.tl_complete);
	assert_string_equal(line.tl_text, "b");
	assert_int_equal(telnet_scan(&t, "", 0, &line), 0);
	assert_false(line.tl_complete);
	telnet_free(&t);
}

static void
test_utf8_lines_pass(void **state)
{
	(void)state;
	t_check(64, LIT("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\r\n"),
	    "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\n");
}

static void
test_invalid_utf8_line_is_flagged(void **state)
{
	(void)state;
	t_check(64, LIT("\xc3\x28\nok\n"), "<utf8>\nok\n");
	t_check(64, LIT("overlong \xc0\xaf\n"), "<utf8>\n");
	t_check(64, LIT("surrogate \xed\xa0\x80\n"), "<utf8>\n");
	t_check(64, LIT("\x80\n"), "<utf8>\n");
}

static void
test_line_ending_mid_sequence_is_flagged(void **state)
{
	(void)state;
	t_check(64, LIT("caf\xc3\r\n\xa9\n"), "<utf8>\n<utf8>\n");
}

static void
test_iac_iac_is_data_byte_ff(void **state)
{
	(void)state;
	/* 0xFF is never UTF-8: the line is flagged, the next one fine. */
	t_check(64, LIT("a" IAC IAC "b\nok\n"), "<utf8>\nok\n");
}

static void
test_iac_iac_counts_as_one_byte(void **state)
{
	(void)state;
	t_check(3, LIT("ab" IAC IAC "\n"), "<utf8>\n");
	t_check(3, LIT("abc" IAC IAC "\n"), "<long>\n");
}

static void
test_negotiation_is_skipped(void **state)
{
	(void)state;
	t_check(64,
	    LIT("a" IAC WILL "\x01"
		"b" IAC WONT "\x03"
		"c" IAC DO "\x18"
		"d" IAC DONT "\x1f"
		"e\n"),
	    "abcde\n");
}

static void
test_negotiation_option_may_be_any_byte(void **state)
{
	(void)state;
	t_check(
	    64, LIT("a" IAC DO "\n" IAC WILL "\r" IAC DONT IAC "b\n"), "ab\n");
}

static void
test_two_byte_commands_are_skipped(void **state)
{
	char in[8], out[T_OUT_MAX];
	unsigned c;

	(void)state;
	for (c = 0; c < 0xff; c++) {
		if (c == 0xfa || (c >= 0xfb && c <= 0xfe))
			continue; /* SB, WILL, WONT, DO, DONT */
		memcpy(in, "a" IAC "?b\n", 5);
		in[2] = (char)c;
		t_run(64, in, 5, NULL, 0, out);
		assert_string_equal(out, "ab\n");
	}
}

static void
test_subnegotiation_is_skipped(void **state)
{
	(void)state;
	t_check(64, LIT("a" IAC SB "\x18\x00xterm\r\n" IAC SE "b\n"), "ab\n");
}

static void
test_subnegotiation_escaped_iac_does_not_end_it(void **state)
{
	(void)state;
	t_check(
	    64, LIT("a" IAC SB "\x01" IAC IAC SE "x\n" IAC SE "b\n"), "ab\n");
}

static void
test_command_inside_subnegotiation_ends_it(void **state)
{
	(void)state;
	t_check(64,
	    LIT("a" IAC SB "\x01\x02" IAC WILL "\x01"
		"b\n"),
	    "ab\n");
	t_check(64, LIT("a" IAC SB "\x01" IAC NOP "b\n"), "ab\n");
}

/* IAC SB, then n bytes of 's', then the rest: into buf, length returned. */
static size_t
t_runaway(char *buf, size_t n, const char *rest)
{
	memcpy(buf, IAC SB, 2);
	memset(buf + 2, 's', n);
	memcpy(buf + 2 + n, rest, strlen(rest));
	return 2 + n + strlen(rest);
}

static void
test_subnegotiation_of_max_bytes_is_skipped(void **state)
{
	char in[TELNET_SB_MAX + 16];
	size_t n;

	(void)state;
	n = t_runaway(in, TELNET_SB_MAX, IAC SE "x\n");
	t_check(64, in, n, "x\n");
	/* The 64th byte inside: the LF after it is past the limit. */
	n = t_runaway(in, TELNET_SB_MAX - 1, "x\n");
	t_check(64, in, n, "\n");
}

static void
test_runaway_subnegotiation_is_abandoned(void **state)
{
	char in[TELNET_SB_MAX + 16];
	size_t n;

	(void)state;
	n = t_runaway(in, TELNET_SB_MAX, "x\n");
	t_check(64, in, n, "x\n");
	n = t_runaway(in, TELNET_SB_MAX + 1, "\n");
	t_check(64, in, n, "s\n");
}

static void
test_runaway_subnegotiation_does_not_swallow_the_session(void **state)
{
	char in[4096 + 16];
	size_t n;

	(void)state;
	n = t_runaway(in, 4096, "\nok\n");
	t_check(8, in, n, "<long>\nok\n");
}

static void
test_commands_between_cr_and_lf_change_nothing(void **state)
{
	(void)state;
	t_check(64,
	    LIT("a\r" IAC NOP IAC DO "\x01" IAC SB "\x01" IAC SE "\nb\n"),
	    "a\nb\n");
}

static void
test_line_of_only_commands_is_empty(void **state)
{
	(void)state;
	t_check(64,
	    LIT(IAC NOP IAC DO "\x01" IAC SB "\x1f\x00\x50" IAC SE "\r\n"),
	    "\n");
}

static void
test_commands_without_line_end_give_no_line(void **state)
{
	(void)state;
	t_check(64, LIT(IAC WILL "\x1f" IAC DO "\x03" IAC NOP), "");
}

static void
test_line_of_max_bytes_passes(void **state)
{
	(void)state;
	t_check(8, LIT("12345678\r\n"), "12345678\n");
}

static void
test_line_over_max_is_reported_once(void **state)
{
	(void)state;
	t_check(8, LIT("123456789\r\nok\n"), "<long>\nok\n");
	t_check(8, LIT("123456789abcdefghijklmnopqrstuvwxyz\nok\r\0"),
	    "<long>\nok\n");
}

static void
test_too_long_wins_over_bad_utf8(void **state)
{
	(void)state;
	t_check(4, LIT("\xc3(abcdef\n"), "<long>\n");
}

static void
test_long_line_keeps_memory_bounded(void **state)
{
	struct telnet t;
	struct telnet_line line;
	char chunk[1000];
	int i;

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	assert_int_equal(telnet_init(&t, 100), 0);
	for (i = 0; i < 10000; i++) {
		assert_int_equal(telnet_scan(&t, chunk, sizeof(chunk), &line),
		    sizeof(chunk));
		assert_false(line.tl_complete);
		assert_true(t.tn_len <= 100);
	}
	assert_int_equal(telnet_scan(&t, LIT("\r\nnext\n"), &line), 1);
	assert_true(line.tl_too_long);
	assert_int_equal(telnet_scan(&t, LIT("\nnext\n"), &line), 6);
	assert_string_equal(line.tl_text, "next");
	telnet_free(&t);
}

static void
test_max_line_zero_allows_only_empty_lines(void **state)
{
	(void)state;
	t_check(0, LIT("\na\n\r\n"), "\n<long>\n\n");
}

static void
test_everything_at_every_split(void **state)
{
	(void)state;
	t_check(16,
	    LIT("hi\r\n" IAC DO "\x01"
		"caf\xc3\xa9\r\0" IAC SB "\x18\x01" IAC SE "\xe2\x82"
		"\xac\n"
		"a" IAC IAC "\n"
		"0123456789abcdefg\r\n"
		"\xf0\x9f\x98\x80" IAC NOP "!\r\n"),
	    "hi\ncaf\xc3\xa9\n\xe2\x82\xac\n<utf8>\n<long>\n"
	    "\xf0\x9f\x98\x80!\n");
}

static void
test_free_twice_is_harmless(void **state)
{
	struct telnet t;

	(void)state;
	assert_int_equal(telnet_init(&t, 16), 0);
	telnet_free(&t);
	telnet_free(&t);
	assert_null(t.tn_buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lf_ends_line),
	    cmocka_unit_test(test_crlf_ends_line_without_the_cr),
	    cmocka_unit_test(test_cr_nul_ends_line),
	    cmocka_unit_test(test_bare_cr_ends_line),
	    cmocka_unit_test(test_cr_nul_lf_is_one_line_end),
	    cmocka_unit_test(test_nul_is_dropped),
	    cmocka_unit_test(test_empty_lines_are_reported),
	    cmocka_unit_test(test_partial_line_waits_for_its_end),
	    cmocka_unit_test(test_scan_stops_after_each_line),
	    cmocka_unit_test(test_utf8_lines_pass),
	    cmocka_unit_test(test_invalid_utf8_line_is_flagged),
	    cmocka_unit_test(test_line_ending_mid_sequence_is_flagged),
	    cmocka_unit_test(test_iac_iac_is_data_byte_ff),
	    cmocka_unit_test(test_iac_iac_counts_as_one_byte),
	    cmocka_unit_test(test_negotiation_is_skipped),
	    cmocka_unit_test(test_negotiation_option_may_be_any_byte),
	    cmocka_unit_test(test_two_byte_commands_are_skipped),
	    cmocka_unit_test(test_subnegotiation_is_skipped),
	    cmocka_unit_test(test_subnegotiation_escaped_iac_does_not_end_it),
	    cmocka_unit_test(test_command_inside_subnegotiation_ends_it),
	    cmocka_unit_test(test_subnegotiation_of_max_bytes_is_skipped),
	    cmocka_unit_test(test_runaway_subnegotiation_is_abandoned),
	    cmocka_unit_test(
		test_runaway_subnegotiation_does_not_swallow_the_session),
	    cmocka_unit_test(test_commands_between_cr_and_lf_change_nothing),
	    cmocka_unit_test(test_line_of_only_commands_is_empty),
	    cmocka_unit_test(test_commands_without_line_end_give_no_line),
	    cmocka_unit_test(test_line_of_max_bytes_passes),
	    cmocka_unit_test(test_line_over_max_is_reported_once),
	    cmocka_unit_test(test_too_long_wins_over_bad_utf8),
	    cmocka_unit_test(test_long_line_keeps_memory_bounded),
	    cmocka_unit_test(test_max_line_zero_allows_only_empty_lines),
	    cmocka_unit_test(test_everything_at_every_split),
	    cmocka_unit_test(test_free_twice_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
