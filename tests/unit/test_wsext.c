/*
 * Unit tests for wsext.c: permessage-deflate negotiation (RFC 7692, 7),
 * the offers read, the parameters agreed and the exact answer.
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

#define PMD "permessage-deflate"
#define SNC "; server_no_context_takeover"
#define CNC "; client_no_context_takeover"

/* The policies of the server's defaults: echo, and chat (shared). */
static const struct wsext_policy t_echo = {1, 15, 0};
static const struct wsext_policy t_chat = {1, 15, 1};

/* What was agreed, as one value to compare. */
struct t_agreed {
	int ta_server_no_ctx;
	int ta_client_no_ctx;
	int ta_server_bits;
	int ta_client_bits;
};

/*
 * Negotiate the offer list value (in an exact-size copy, so that a read
 * past its length is caught) under pol into *dp and answer, which start
 * as garbage. The result of wsext_negotiate_value().
 */
static int
t_nego(const char *value, const struct wsext_policy *pol,
    struct wsdeflate_params *dp, char answer[WSEXT_ANSWER_MAX])
{
	size_t len = strlen(value);
	char *copy = malloc(len > 0 ? len : 1);
	int rv;

	assert_non_null(copy);
	memcpy(copy, value, len);
	memset(dp, 0xa5, sizeof(*dp));
	memset(answer, 'X', WSEXT_ANSWER_MAX);
	rv = wsext_negotiate_value(copy, len, pol, dp, answer);
	free(copy);
	return rv;
}

/* Assert that value is accepted under pol with this answer and result. */
static void
t_accepts(const char *value, const struct wsext_policy *pol, const char *want,
    struct t_agreed agreed)
{
	struct wsdeflate_params dp;
	char answer[WSEXT_ANSWER_MAX];

	if (t_nego(value, pol, &dp, answer) != 1)
		fail_msg("refused: \"%s\"", value);
	assert_string_equal(answer, want);
	assert_int_equal(dp.dp_on, 1);
	assert_int_equal(dp.dp_server_no_ctx, agreed.ta_server_no_ctx);
	assert_int_equal(dp.dp_client_no_ctx, agreed.ta_client_no_ctx);
	assert_int_equal(dp.dp_server_bits, agreed.ta_server_bits);
	assert_int_equal(dp.dp_client_bits, agreed.ta_client_bits);
}

/* Assert that value is accepted on echo with defaults, answered want. */
static void
t_echo_answers(const char *value, const char *want)
{
	struct wsdeflate_params dp;
	char answer[WSEXT_ANSWER_MAX];

	if (t_nego(value, &t_echo, &dp, answer) != 1)
		fail_msg("refused: \"%s\"", value);
	assert_string_equal(answer, want);
}

/* Assert that nothing in value is accepted, under either policy. */
static void
t_refuses(const char *value)
{
	struct wsdeflate_params dp;
	char answer[WSEXT_ANSWER_MAX];

	if (t_nego(value, &t_echo, &dp, answer) != 0)
		fail_msg("accepted: \"%s\" as \"%s\"", value, answer);
	if (t_nego(value, &t_chat, &dp, answer) != 0)
		fail_msg("accepted on chat: \"%s\"", value);
}

/*
 * Assert that the offer bad is refused alone, and skipped for a good
 * offer after it (client_no_context_takeover marks which one was taken).
 */
static void
t_skips(const char *bad)
{
	char list[256];

	t_refuses(bad);
	snprintf(list, sizeof(list), "%s, " PMD CNC, bad);
	t_accepts(list, &t_echo, PMD CNC, (struct t_agreed){0, 1, 15, 15});
}

/*
 * Parse a handshake request whose extra header lines are fields, and
 * negotiate it under pol. The result of wsext_negotiate().
 */
static int
t_request(const char *fields, const struct wsext_policy *pol,
    struct wsdeflate_params *dp, char answer[WSEXT_ANSWER_MAX])
{
	static char text[2048];
	static struct http_request req;

	snprintf(text, sizeof(text),
	    "GET /ws HTTP/1.1\r\nHost: example.com\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n%s\r\n",
	    fields);
	assert_int_equal(http_parse_request(text, strlen(text), &req), 0);
	memset(dp, 0xa5, sizeof(*dp));
	memset(answer, 'X', WSEXT_ANSWER_MAX);
	return wsext_negotiate(&req, pol, dp, answer);
}

/* ---- each parameter alone ---- */

/* A bare offer is accepted and answered bare; both windows are 15. */
static void
test_bare_offer_accepted(void **state)
{
	(void)state;
	t_accepts(PMD, &t_echo, PMD, (struct t_agreed){0, 0, 15, 15});
}

/* server_no_context_takeover is agreed and echoed. */
static void
test_server_no_context_takeover_echoed(void **state)
{
	(void)state;
	t_accepts(PMD SNC, &t_echo, PMD SNC, (struct t_agreed){1, 0, 15, 15});
}

/* client_no_context_takeover is agreed and echoed. */
static void
test_client_no_context_takeover_echoed(void **state)
{
	(void)state;
	t_accepts(PMD CNC, &t_echo, PMD CNC, (struct t_agreed){0, 1, 15, 15});
}

/* server_max_window_bits=9..15 is echoed and is the server's window. */
static void
test_server_max_window_bits_echoed_and_used(void **state)
{
	char offer[WSEXT_ANSWER_MAX], want[WSEXT_ANSWER_MAX];
	int bits;

	(void)state;
	for (bits = 9; bits <= 15; bits++) {
		snprintf(offer, sizeof(offer),
		    PMD "; server_max_window_bits=%d", bits);
		t_accepts(
		    offer, &t_echo, offer, (struct t_agreed){0, 0, bits, 15});
		snprintf(want, sizeof(want),
		    PMD SNC "; server_max_window_bits=%d", bits);
		t_accepts(
		    offer, &t_chat, want, (struct t_agreed){1, 0, bits, 15});
	}
}

/* server_max_window_bits=8 is accepted; the server then never compresses
 * (dp_server_bits 0), since zlib cannot write a 256-byte window. */
static void
test_server_max_window_bits_8_accepted_uncompressed(void **state)
{
	(void)state;
	t_accepts(PMD "; server_max_window_bits=8", &t_echo,
	    PMD "; server_max_window_bits=8", (struct t_agreed){0, 0, 0, 15});
	t_accepts(PMD "; server_max_window_bits=8", &t_chat,
	    PMD SNC "; server_max_window_bits=8",
	    (struct t_agreed){1, 0, 0, 15});
}

/* client_max_window_bits without a value goes unanswered when the
 * server's window is 15: the client keeps its 15. */
static void
test_client_max_window_bits_without_value_unanswered(void **state)
{
	(void)state;
	t_accepts(PMD "; client_max_window_bits", &t_echo, PMD,
	    (struct t_agreed){0, 0, 15, 15});
}

/* client_max_window_bits=8..15 is answered with the same value. */
static void
test_client_max_window_bits_value_answered(void **state)
{
	char offer[WSEXT_ANSWER_MAX];
	int bits;

	(void)state;
	for (bits = 8; bits <= 15; bits++) {
		snprintf(offer, sizeof(offer),
		    PMD "; client_max_window_bits=%d", bits);
		t_accepts(
		    offer, &t_echo, offer, (struct t_agreed){0, 0, 15, bits});
	}
}

/* ---- compression_window_bits below 15 ---- */

/* With compression_window_bits 12, client_max_window_bits is answered
 * with at most 12, with or without a value offered. */
static void
test_client_window_limited_by_policy(void **state)
{
	const struct wsext_policy pol = {1, 12, 0};

	(void)state;
	t_accepts(PMD "; client_max_window_bits", &pol,
	    PMD "; client_max_window_bits=12", (struct t_agreed){0, 0, 12, 12});
	t_accepts(PMD "; client_max_window_bits=10", &pol,
	    PMD "; client_max_window_bits=10", (struct t_agreed){0, 0, 12, 10});
	t_accepts(PMD "; client_max_window_bits=12", &pol,
	    PMD "; client_max_window_bits=12", (struct t_agreed){0, 0, 12, 12});
	t_accepts(PMD "; client_max_window_bits=14", &pol,
	    PMD "; client_max_window_bits=12", (struct t_agreed){0, 0, 12, 12});
}

/* Without client_max_window_bits the client's window cannot be limited:
 * nothing answered, and the server inflates with 15. */
static void
test_client_window_15_when_not_offered(void **state)
{
	const struct wsext_policy pol = {1, 9, 0};

	(void)state;
	t_accepts(PMD, &pol, PMD, (struct t_agreed){0, 0, 9, 15});
}

/* The server compresses with the smaller of its window and the client's
 * server_max_window_bits, and answers the value offered. */
static void
test_server_window_is_smaller_of_policy_and_offer(void **state)
{
	const struct wsext_policy pol = {1, 12, 0};

	(void)state;
	t_accepts(PMD "; server_max_window_bits=10", &pol,
	    PMD "; server_max_window_bits=10", (struct t_agreed){0, 0, 10, 15});
	t_accepts(PMD "; server_max_window_bits=14", &pol,
	    PMD "; server_max_window_bits=14", (struct t_agreed){0, 0, 12, 15});
	t_accepts(PMD "; server_max_window_bits=8", &pol,
	    PMD "; server_max_window_bits=8", (struct t_agreed){0, 0, 0, 15});
}

/* ---- combined, and the answer's order ---- */

/* Every parameter at once, in any order, is answered in the fixed order. */
static void
test_all_parameters_answered_in_order(void **state)
{
	const char *want = PMD SNC CNC
	    "; server_max_window_bits=10; client_max_window_bits=11";

	(void)state;
	t_accepts(PMD SNC CNC "; server_max_window_bits=10"
			      "; client_max_window_bits=11",
	    &t_echo, want, (struct t_agreed){1, 1, 10, 11});
	t_accepts(PMD "; client_max_window_bits=11"
		      "; server_max_window_bits=10" CNC SNC,
	    &t_chat, want, (struct t_agreed){1, 1, 10, 11});
}

/* Pairs of parameters are each answered. */
static void
test_parameter_pairs_answered(void **state)
{
	(void)state;
	t_echo_answers(PMD CNC SNC, PMD SNC CNC);
	t_echo_answers(PMD "; client_max_window_bits" CNC, PMD CNC);
	t_echo_answers(PMD "; client_max_window_bits=9" SNC,
	    PMD SNC "; client_max_window_bits=9");
	t_echo_answers(PMD "; server_max_window_bits=11" CNC,
	    PMD CNC "; server_max_window_bits=11");
	t_echo_answers(PMD
	    "; server_max_window_bits=12; client_max_window_bits",
	    PMD "; server_max_window_bits=12");
}

/* The longest answer fits WSEXT_ANSWER_MAX, NUL included. */
static void
test_longest_answer_fits(void **state)
{
	struct wsdeflate_params dp;
	char answer[WSEXT_ANSWER_MAX];

	(void)state;
	assert_int_equal(t_nego(PMD SNC CNC "; server_max_window_bits=15"
					    "; client_max_window_bits=15",
			     &t_chat, &dp, answer),
	    1);
	assert_non_null(memchr(answer, '\0', sizeof(answer)));
	assert_string_equal(answer,
	    PMD SNC CNC "; server_max_window_bits=15"
			"; client_max_window_bits=15");
}

/* ---- the offers of real clients ---- */

/* Chromium's and Firefox's offers on echo and on chat. */
static void
test_browser_offers(void **state)
{
	(void)state;
	t_accepts(PMD "; client_max_window_bits", &t_echo, PMD,
	    (struct t_agreed){0, 0, 15, 15});
	t_accepts(PMD "; client_max_window_bits", &t_chat, PMD SNC,
	    (struct t_agreed){1, 0, 15, 15});
	t_accepts(PMD, &t_chat, PMD SNC, (struct t_agreed){1, 0, 15, 15});
}

/* On chat, server_no_context_takeover is answered once, offered or not. */
static void
test_chat_policy_answers_server_no_context_takeover_once(void **state)
{
	(void)state;
	t_accepts(PMD SNC, &t_chat, PMD SNC, (struct t_agreed){1, 0, 15, 15});
	t_accepts(
	    PMD CNC, &t_chat, PMD SNC CNC, (struct t_agreed){1, 1, 15, 15});
}

/* ---- syntax ---- */

/* Values may be quoted-strings, with escapes, unquoted to a token. */
static void
test_quoted_values_accepted(void **state)
{
	(void)state;
	t_echo_answers(PMD "; client_max_window_bits=\"10\"",
	    PMD "; client_max_window_bits=10");
	t_echo_answers(PMD "; server_max_window_bits=\"9\"",
	    PMD "; server_max_window_bits=9");
	t_echo_answers(PMD "; client_max_window_bits=\"1\\0\"",
	    PMD "; client_max_window_bits=10");
}

/* Spaces and tabs around ',', ';' and '=' are allowed. */
static void
test_whitespace_around_separators_accepted(void **state)
{
	(void)state;
	t_accepts(" \t" PMD " ;\tclient_no_context_takeover ; "
		  "server_max_window_bits = 10 \t, ",
	    &t_echo, PMD CNC "; server_max_window_bits=10",
	    (struct t_agreed){0, 1, 10, 15});
}

/* Extension and parameter names are compared without case. */
static void
test_names_are_case_insensitive(void **state)
{
	(void)state;
	t_accepts("PerMessage-Deflate; Client_No_Context_Takeover", &t_echo,
	    PMD CNC, (struct t_agreed){0, 1, 15, 15});
}

/* Empty lists and empty elements hold no offer. */
static void
test_empty_lists_refused(void **state)
{
	(void)state;
	t_refuses("");
	t_refuses(" ");
	t_refuses(",");
	t_refuses(" , ,\t,");
	t_echo_answers(", ," PMD ",,", PMD);
}

/* Only len bytes of the value are read: what follows is not seen. */
static void
test_reads_only_len_bytes(void **state)
{
	const char *full = PMD CNC;
	struct wsdeflate_params dp;
	char answer[WSEXT_ANSWER_MAX];

	(void)state;
	assert_int_equal(
	    wsext_negotiate_value(full, strlen(PMD), &t_echo, &dp, answer), 1);
	assert_string_equal(answer, PMD);
	assert_int_equal(dp.dp_client_no_ctx, 0);
	assert_int_equal(
	    wsext_negotiate_value(full, strlen(PMD) - 1, &t_echo, &dp, answer),
	    0);
}

/* ---- bad offers, refused alone and skipped before a good one ---- */

/* Window bits out of 8..15 or not plain decimal are refused. */
static void
test_bad_window_values_refused(void **state)
{
	static const char *const bad[] = {"7", "16", "0", "1", "08", "+9", "-9",
	    "9.0", "015", "1e1", "ten", "0x9", "99999999999999999999", "\"\"",
	    "\"7\"", "\"16\"", "\"08\"", "\"1 0\"", "\"9,\""};
	char offer[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(offer, sizeof(offer),
		    PMD "; server_max_window_bits=%s", bad[i]);
		t_skips(offer);
		snprintf(offer, sizeof(offer),
		    PMD "; client_max_window_bits=%s", bad[i]);
		t_skips(offer);
	}
}

/* An empty value after '=' is refused. */
static void
test_empty_value_refused(void **state)
{
	(void)state;
	t_skips(PMD "; client_max_window_bits=");
	t_skips(PMD "; server_max_window_bits=");
	t_skips(PMD "; server_max_window_bits= ; client_no_context_takeover");
}

/* server_max_window_bits must have a value. */
static void
test_server_max_window_bits_without_value_refused(void **state)
{
	(void)state;
	t_skips(PMD "; server_max_window_bits");
	t_skips(PMD "; client_max_window_bits; server_max_window_bits");
}

/* The no_context_takeover parameters take no value. */
static void
test_no_context_takeover_with_value_refused(void **state)
{
	(void)state;
	t_skips(PMD "; server_no_context_takeover=1");
	t_skips(PMD "; client_no_context_takeover=1");
	t_skips(PMD "; server_no_context_takeover=\"\"");
	t_skips(PMD "; client_no_context_takeover=true");
}

/* Any parameter twice is refused, with the same value or not. */
static void
test_duplicate_parameters_refused(void **state)
{
	(void)state;
	t_skips(PMD SNC SNC);
	t_skips(PMD CNC "; server_max_window_bits=9" CNC);
	t_skips(PMD "; server_max_window_bits=10; server_max_window_bits=10");
	t_skips(PMD "; server_max_window_bits=10; server_max_window_bits=11");
	t_skips(PMD "; client_max_window_bits; client_max_window_bits");
	t_skips(PMD "; client_max_window_bits; client_max_window_bits=10");
	t_skips(PMD "; client_max_window_bits=9; client_max_window_bits=9");
	t_skips(PMD "; Server_No_Context_Takeover" SNC);
}

/* An unknown parameter, with or without a value, is refused. */
static void
test_unknown_parameters_refused(void **state)
{
	(void)state;
	t_skips(PMD "; foo");
	t_skips(PMD "; foo=1");
	t_skips(PMD "; server_max_window_bit=10");
	t_skips(PMD "; client_max_window_bitsx");
	t_skips(PMD "; no_context_takeover");
	t_skips(PMD CNC "; x=\"y\"");
}

/* Syntax errors make an element malformed: it is skipped, up to the
 * comma that ends it (not one inside a quoted value). */
static void
test_malformed_elements_skipped(void **state)
{
	static const char *const bad[] = {
	    PMD ";",
	    PMD "; ",
	    PMD ";;" CNC,
	    PMD "; =10",
	    PMD " x",
	    PMD "; client_no_context_takeover x",
	    PMD "=1",
	    PMD "; client_max_window_bits=\"1,0\"",
	    PMD "; client_max_window_bits=\"10\" x",
	    PMD "; client_max_window_bits==10",
	    PMD "; server_max_window_bits=1 0",
	    PMD "/x",
	    "\"permessage-deflate\"",
	    "; permessage-deflate",
	    "=",
	    ";",
	    "\"a, b\"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		t_skips(bad[i]);
}

/* An unterminated quote takes the rest of the list with it. */
static void
test_unterminated_quote_refused(void **state)
{
	(void)state;
	t_refuses(PMD "; server_max_window_bits=\"10");
	t_refuses(PMD "; server_max_window_bits=\"1\\");
	t_refuses(PMD "; client_max_window_bits=\"10, " PMD);
}

/* A parameter value longer than any this extension knows is refused. */
static void
test_long_values_refused(void **state)
{
	(void)state;
	t_skips(PMD "; server_max_window_bits=000000000010");
	t_refuses(PMD "; client_max_window_bits=\"000000000010\"");
}

/* ---- lists ---- */

/* Unknown extensions before the offer are skipped, with their params. */
static void
test_unknown_extension_before_skipped(void **state)
{
	(void)state;
	t_echo_answers("x-webkit-deflate-frame, " PMD CNC, PMD CNC);
	t_echo_answers("foo; bar=baz; qux=\"a, b\", " PMD CNC, PMD CNC);
	t_echo_answers("foo; server_max_window_bits=7, " PMD, PMD);
	t_echo_answers("permessage-deflatex, " PMD CNC, PMD CNC);
	t_refuses("foo; client_max_window_bits=10");
	t_refuses("x-webkit-deflate-frame");
}

/* Extensions after the accepted offer are ignored, good or bad. */
static void
test_extensions_after_offer_ignored(void **state)
{
	(void)state;
	t_echo_answers(PMD CNC ", foo; bar", PMD CNC);
	t_echo_answers(PMD CNC ", foo; ;;", PMD CNC);
	t_echo_answers(PMD CNC ", \"", PMD CNC);
}

/* The first acceptable offer is taken, not the best. */
static void
test_first_acceptable_offer_taken(void **state)
{
	(void)state;
	t_accepts(PMD "; server_max_window_bits=10, " PMD, &t_echo,
	    PMD "; server_max_window_bits=10", (struct t_agreed){0, 0, 10, 15});
	t_accepts(PMD "; server_max_window_bits=7, " PMD CNC ", " PMD SNC,
	    &t_echo, PMD CNC, (struct t_agreed){0, 1, 15, 15});
	t_accepts(PMD "; foo, " PMD "; server_max_window_bits, " PMD
		      "; client_max_window_bits=9, " PMD,
	    &t_echo, PMD "; client_max_window_bits=9",
	    (struct t_agreed){0, 0, 15, 9});
}

/* A long quoted value of an unknown extension is skipped whole: the
 * comma inside it does not end the element, and the offer after it is
 * taken.
 * BUG (wsext.c): wsext_value() gives up in the middle of a quoted value
 * longer than WSEXT_VALUE_MAX and wsext_skip() starts there, outside the
 * quotes, so the quote is read backwards and the real offer is lost. */
static void
test_long_quoted_value_of_other_extension_skipped_whole(void **state)
{
	(void)state;
	t_echo_answers("foo; bar=\"a long value, with commas\", " PMD, PMD);
	t_skips(PMD "; client_max_window_bits=\"000000000010\"");
}

/* An offer inside another extension's quoted value is not an offer.
 * BUG (wsext.c): the same; here the server accepts an extension the
 * client never offered, which the client must then fail. */
static void
test_offer_inside_quoted_value_not_taken(void **state)
{
	(void)state;
	t_refuses("foo; bar=\"abcdefghij, " PMD ", z=\"");
}

/* ---- wsext_negotiate: the request's header lines ---- */

/* Without a Sec-WebSocket-Extensions line nothing is agreed. */
static void
test_request_without_extensions_agrees_nothing(void **state)
{
	struct wsdeflate_params dp;
	char answer[WSEXT_ANSWER_MAX];

	(void)state;
	assert_int_equal(t_request("", &t_echo, &dp, answer), 0);
	assert_int_equal(dp.dp_on, 0);
	assert_int_equal(t_request("Sec-WebSocket-Extension: " PMD "\r\n"
				   "X-Sec-WebSocket-Extensions: " PMD "\r\n",
			     &t_echo, &dp, answer),
	    0);
	assert_int_equal(dp.dp_on, 0);
}

/* An offer on the request's Sec-WebSocket-Extensions line is taken. */
static void
test_request_offer_taken(void **state)
{
	struct wsdeflate_params dp;
	char answer[WSEXT_ANSWER_MAX];

	(void)state;
	assert_int_equal(t_request("sec-websocket-extensions: " PMD
				   "; client_max_window_bits=10\r\n",
			     &t_echo, &dp, answer),
	    1);
	assert_string_equal(answer, PMD "; client_max_window_bits=10");
	assert_int_equal(dp.dp_on, 1);
	assert_int_equal(dp.dp_client_bits, 10);
}

/* With compression = no every offer is ignored, nothing agreed. */
static void
test_request_compression_disabled_agrees_nothing(void **state)
{
	const struct wsext_policy off = {0, 15, 0};
	struct wsdeflate_params dp;
	char answer[WSEXT_ANSWER_MAX];

	(void)state;
	assert_int_equal(t_request("Sec-WebSocket-Extensions: " PMD "\r\n",
			     &off, &dp, answer),
	    0);
	assert_int_equal(dp.dp_on, 0);
	assert_int_equal(dp.dp_server_bits, 0);
}

/* The lines are one list, in order: the first acceptable offer of all. */
static void
test_request_lines_are_one_list(void **state)
{
	struct wsdeflate_params dp;
	char answer[WSEXT_ANSWER_MAX];

	(void)state;
	assert_int_equal(t_request("Sec-WebSocket-Extensions: foo, " PMD
				   "; server_max_window_bits\r\n"
				   "Sec-WebSocket-Extensions: " PMD CNC "\r\n"
				   "Sec-WebSocket-Extensions: " PMD SNC "\r\n",
			     &t_echo, &dp, answer),
	    1);
	assert_string_equal(answer, PMD CNC);
	assert_int_equal(dp.dp_client_no_ctx, 1);
	assert_int_equal(dp.dp_server_no_ctx, 0);
	assert_int_equal(t_request("Sec-WebSocket-Extensions: " PMD SNC "\r\n"
				   "Sec-WebSocket-Extensions: " PMD CNC "\r\n",
			     &t_echo, &dp, answer),
	    1);
	assert_string_equal(answer, PMD SNC);
}

/* Lines with nothing acceptable agree nothing, and leave dp_on clear. */
static void
test_request_lines_without_acceptable_offer(void **state)
{
	struct wsdeflate_params dp;
	char answer[WSEXT_ANSWER_MAX];

	(void)state;
	assert_int_equal(t_request("Sec-WebSocket-Extensions: " PMD "; x\r\n"
				   "Sec-WebSocket-Extensions: foo\r\n",
			     &t_echo, &dp, answer),
	    0);
	assert_int_equal(dp.dp_on, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bare_offer_accepted),
	    cmocka_unit_test(test_server_no_context_takeover_echoed),
	    cmocka_unit_test(test_client_no_context_takeover_echoed),
	    cmocka_unit_test(test_server_max_window_bits_echoed_and_used),
	    cmocka_unit_test(
		test_server_max_window_bits_8_accepted_uncompressed),
	    cmocka_unit_test(
		test_client_max_window_bits_without_value_unanswered),
	    cmocka_unit_test(test_client_max_window_bits_value_answered),
	    cmocka_unit_test(test_client_window_limited_by_policy),
	    cmocka_unit_test(test_client_window_15_when_not_offered),
	    cmocka_unit_test(test_server_window_is_smaller_of_policy_and_offer),
	    cmocka_unit_test(test_all_parameters_answered_in_order),
	    cmocka_unit_test(test_parameter_pairs_answered),
	    cmocka_unit_test(test_longest_answer_fits),
	    cmocka_unit_test(test_browser_offers),
	    cmocka_unit_test(
		test_chat_policy_answers_server_no_context_takeover_once),
	    cmocka_unit_test(test_quoted_values_accepted),
	    cmocka_unit_test(test_whitespace_around_separators_accepted),
	    cmocka_unit_test(test_names_are_case_insensitive),
	    cmocka_unit_test(test_empty_lists_refused),
	    cmocka_unit_test(test_reads_only_len_bytes),
	    cmocka_unit_test(test_bad_window_values_refused),
	    cmocka_unit_test(test_empty_value_refused),
	    cmocka_unit_test(test_server_max_window_bits_without_value_refused),
	    cmocka_unit_test(test_no_context_takeover_with_value_refused),
	    cmocka_unit_test(test_duplicate_parameters_refused),
	    cmocka_unit_test(test_unknown_parameters_refused),
	    cmocka_unit_test(test_malformed_elements_skipped),
	    cmocka_unit_test(test_unterminated_quote_refused),
	    cmocka_unit_test(test_long_values_refused),
	    cmocka_unit_test(test_unknown_extension_before_skipped),
	    cmocka_unit_test(test_extensions_after_offer_ignored),
	    cmocka_unit_test(test_first_acceptable_offer_taken),
	    cmocka_unit_test(
		test_long_quoted_value_of_other_extension_skipped_whole),
	    cmocka_unit_test(test_offer_inside_quoted_value_not_taken),
	    cmocka_unit_test(test_request_without_extensions_agrees_nothing),
	    cmocka_unit_test(test_request_offer_taken),
	    cmocka_unit_test(test_request_compression_disabled_agrees_nothing),
	    cmocka_unit_test(test_request_lines_are_one_list),
	    cmocka_unit_test(test_request_lines_without_acceptable_offer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
