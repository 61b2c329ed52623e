/*
 * Unit tests for chatfmt.c: chat events and replies as WebSocket JSON
 * and as telnet lines.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define T_BUF_LEN   (CHATFMT_JSON_MAX + 64) /* more than any output */
#define T_GUARD	    0xa5 /* fills buffers, to see what was written */
#define T_TIME	    1796504824123ULL /* 2026-12-05T21:07:04.123Z */
#define T_ISO	    "2026-12-05T21:07:04.123Z"
#define T_PYTHON    "/usr/bin/python3"
#define T_RANDOM    300 /* random texts checked by a real JSON parser */
#define T_RAND_TEXT 64	/* code points in each */

static const char *const t_codes[] = {"rate_limited", "too_long", "bad_nick",
    "nick_taken", "bad_command", "too_many_rooms", "unavailable"};

#define T_NCODES (sizeof(t_codes) / sizeof(t_codes[0]))

static const enum chat_type t_types[] = {
    CHAT_MESSAGE, CHAT_ME, CHAT_JOIN, CHAT_LEAVE, CHAT_NICK};

#define T_NTYPES (sizeof(t_types) / sizeof(t_types[0]))

static char t_buf[T_BUF_LEN];

/* Fill ev with an event of the type whose text is s[0..n). */
static void
t_event_n(struct chat_event *ev, enum chat_type type, const char *s, size_t n)
{
	memset(ev, 0, sizeof(*ev));
	ev->ce_type = type;
	ev->ce_seq = 12;
	ev->ce_time_ms = T_TIME;
	strcpy(ev->ce_room, "lobby");
	strcpy(ev->ce_nick, type == CHAT_NICK ? "bobby" : "alice");
	if (type == CHAT_NICK)
		strcpy(ev->ce_old, "bob");
	if (type == CHAT_MESSAGE || type == CHAT_ME) {
		ev->ce_text = s;
		ev->ce_text_len = n;
	}
}

/* Fill ev with an event of the type whose text is the string s. */
static void
t_event(struct chat_event *ev, enum chat_type type, const char *s)
{
	t_event_n(ev, type, s, s == NULL ? 0 : strlen(s));
}

/*
 * Assert that a rendering of n bytes into t_buf is a NUL-terminated
 * string of that length with no NUL inside; return t_buf.
 */
static const char *
t_check(size_t n)
{
	assert_true(n > 0);
	assert_true(n < sizeof(t_buf));
	assert_int_equal(t_buf[n], '\0');
	assert_int_equal(strlen(t_buf), n);
	return t_buf;
}

/* Render ev as JSON into t_buf, with room to spare. */
static const char *
t_json(const struct chat_event *ev, int history)
{
	memset(t_buf, T_GUARD, sizeof(t_buf));
	return t_check(chatfmt_json(ev, history, t_buf, sizeof(t_buf)));
}

/* Render ev as a line into t_buf, with room to spare. */
static const char *
t_line(const struct chat_event *ev)
{
	memset(t_buf, T_GUARD, sizeof(t_buf));
	return t_check(chatfmt_line(ev, t_buf, sizeof(t_buf)));
}

/* Render a message whose text is s[0..n) as JSON. */
static const char *
t_json_text(const char *s, size_t n)
{
	struct chat_event ev;

	t_event_n(&ev, CHAT_MESSAGE, s, n);
	return t_json(&ev, 0);
}

/* Render a message whose text is s[0..n) as a line. */
static const char *
t_line_text(const char *s, size_t n)
{
	struct chat_event ev;

	t_event_n(&ev, CHAT_MESSAGE, s, n);
	return t_line(&ev);
}

/* Assert the JSON of a message with the text s[0..n) has want for text. */
static void
t_assert_json_text(const char *s, size_t n, const char *want)
{
	char expect[512];

	snprintf(expect, sizeof(expect),
	    "{\"type\":\"message\",\"room\":\"lobby\",\"seq\":12,"
	    "\"time\":\"" T_ISO "\",\"nick\":\"alice\",\"text\":\"%s\"}",
	    want);
	assert_string_equal(t_json_text(s, n), expect);
}

/* Assert the line of a message with the text s[0..n) shows want. */
static void
t_assert_line_text(const char *s, size_t n, const char *want)
{
	char expect[512];

	snprintf(expect, sizeof(expect), "[21:07:04] <alice> %s\r\n", want);
	assert_string_equal(t_line_text(s, n), expect);
}

/* A message is exactly the documented JSON. */
static void
test_json_message_is_exact(void **state)
{
	struct chat_event ev;

	(void)state;
	t_event(&ev, CHAT_MESSAGE, "hi");
	assert_string_equal(t_json(&ev, 0),
	    "{\"type\":\"message\",\"room\":\"lobby\",\"seq\":12,"
	    "\"time\":\"2026-12-05T21:07:04.123Z\",\"nick\":\"alice\","
	    "\"text\":\"hi\"}");
}

/* A /me is a message of type "me", its text included. */
static void
test_json_me_is_exact(void **state)
{
	struct chat_event ev;

	(void)state;
	t_event(&ev, CHAT_ME, "waves");
	assert_string_equal(t_json(&ev, 0),
	    "{\"type\":\"me\",\"room\":\"lobby\",\"seq\":12,"
	    "\"time\":\"" T_ISO "\",\"nick\":\"alice\",\"text\":\"waves\"}");
}

/* A join has no text. */
static void
test_json_join_is_exact(void **state)
{
	struct chat_event ev;

	(void)state;
	t_event(&ev, CHAT_JOIN, NULL);
	assert_string_equal(t_json(&ev, 0),
	    "{\"type\":\"join\",\"room\":\"lobby\",\"seq\":12,"
	    "\"time\":\"" T_ISO "\",\"nick\":\"alice\"}");
}

/* A leave has no text. */
static void
test_json_leave_is_exact(void **state)
{
	struct chat_event ev;

	(void)state;
	t_event(&ev, CHAT_LEAVE, NULL);
	assert_string_equal(t_json(&ev, 0),
	    "{\"type\":\"leave\",\"room\":\"lobby\",\"seq\":12,"
	    "\"time\":\"" T_ISO "\",\"nick\":\"alice\"}");
}

/* A nick change has the old nick after the new. */
static void
test_json_nick_is_exact(void **state)
{
	struct chat_event ev;

	(void)state;
	t_event(&ev, CHAT_NICK, NULL);
	assert_string_equal(t_json(&ev, 0),
	    "{\"type\":\"nick\",\"room\":\"lobby\",\"seq\":12,"
	    "\"time\":\"" T_ISO "\",\"nick\":\"bobby\",\"old\":\"bob\"}");
}

/* history adds ,"history":true before the brace, for every type. */
static void
test_json_history_flag_comes_last(void **state)
{
	char plain[256], want[256];
	struct chat_event ev;
	size_t i, n;

	(void)state;
	t_event(&ev, CHAT_MESSAGE, "hi");
	assert_string_equal(t_json(&ev, 1),
	    "{\"type\":\"message\",\"room\":\"lobby\",\"seq\":12,"
	    "\"time\":\"" T_ISO "\",\"nick\":\"alice\",\"text\":\"hi\","
	    "\"history\":true}");
	for (i = 0; i < T_NTYPES; i++) {
		t_event(&ev, t_types[i], "hi");
		snprintf(plain, sizeof(plain), "%s", t_json(&ev, 0));
		n = strlen(plain);
		snprintf(want, sizeof(want), "%.*s,\"history\":true}",
		    (int)(n - 1), plain);
		assert_string_equal(t_json(&ev, 1), want);
	}
}

/* The sequence number prints whole, from 0 to the largest u64. */
static void
test_json_seq_prints_exactly_at_extremes(void **state)
{
	struct chat_event ev;

	(void)state;
	t_event(&ev, CHAT_JOIN, NULL);
	ev.ce_seq = 0;
	assert_non_null(strstr(t_json(&ev, 0), ",\"seq\":0,"));
	ev.ce_seq = UINT64_MAX;
	assert_non_null(
	    strstr(t_json(&ev, 0), ",\"seq\":18446744073709551615,"));
}

/* Assert the JSON time of a join at ms is want. */
static void
t_assert_json_time(uint64_t ms, const char *want)
{
	struct chat_event ev;
	char key[64];

	t_event(&ev, CHAT_JOIN, NULL);
	ev.ce_time_ms = ms;
	snprintf(key, sizeof(key), ",\"time\":\"%s\",", want);
	if (strstr(t_json(&ev, 0), key) == NULL)
		fail_msg(
		    "%llu: %s, want %s", (unsigned long long)ms, t_buf, want);
}

/* The time is RFC 3339 UTC with milliseconds, at the edges of a day too. */
static void
test_json_time_is_rfc3339_utc_with_millis(void **state)
{
	(void)state;
	t_assert_json_time(0, "1970-01-01T00:00:00.000Z");
	t_assert_json_time(1796428800000ULL, "2026-12-05T00:00:00.000Z");
	t_assert_json_time(1796515199999ULL, "2026-12-05T23:59:59.999Z");
	t_assert_json_time(1796515200000ULL, "2026-12-06T00:00:00.000Z");
	t_assert_json_time(1709208000007ULL, "2024-02-29T12:00:00.007Z");
	t_assert_json_time(253402300799999ULL, "9999-12-31T23:59:59.999Z");
}

/* Times after year 9999 show as its last millisecond. */
static void
test_json_time_after_9999_is_its_last_millisecond(void **state)
{
	(void)state;
	t_assert_json_time(253402300800000ULL, "9999-12-31T23:59:59.999Z");
	t_assert_json_time(UINT64_MAX, "9999-12-31T23:59:59.999Z");
}

/* The welcome reply is exact. */
static void
test_json_welcome_is_exact(void **state)
{
	(void)state;
	t_check(chatfmt_json_welcome("lobby", "alice", 42, t_buf, T_BUF_LEN));
	assert_string_equal(t_buf,
	    "{\"type\":\"welcome\",\"room\":\"lobby\","
	    "\"nick\":\"alice\",\"seq\":42}");
}

/* The who reply lists the nicks in their order, none too. */
static void
test_json_who_is_exact(void **state)
{
	static const char *const nicks[] = {"alice", "bob", "carol"};

	(void)state;
	t_check(chatfmt_json_who("lobby", nicks, 2, t_buf, sizeof(t_buf)));
	assert_string_equal(t_buf,
	    "{\"type\":\"who\",\"room\":\"lobby\","
	    "\"nicks\":[\"alice\",\"bob\"]}");
	t_check(chatfmt_json_who("lobby", nicks, 1, t_buf, sizeof(t_buf)));
	assert_string_equal(t_buf,
	    "{\"type\":\"who\",\"room\":\"lobby\","
	    "\"nicks\":[\"alice\"]}");
	t_check(chatfmt_json_who("lobby", nicks, 0, t_buf, sizeof(t_buf)));
	assert_string_equal(
	    t_buf, "{\"type\":\"who\",\"room\":\"lobby\",\"nicks\":[]}");
}

/* The gap reply is exact. */
static void
test_json_gap_is_exact(void **state)
{
	(void)state;
	t_check(chatfmt_json_gap("lobby", 17, t_buf, sizeof(t_buf)));
	assert_string_equal(
	    t_buf, "{\"type\":\"gap\",\"room\":\"lobby\",\"missed\":17}");
}

/* The error reply is exact for every code of the protocol. */
static void
test_json_error_is_exact_for_every_code(void **state)
{
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < T_NCODES; i++) {
		t_check(chatfmt_json_error(
		    t_codes[i], "no \"way\"", t_buf, sizeof(t_buf)));
		snprintf(want, sizeof(want),
		    "{\"type\":\"error\",\"code\":\"%s\","
		    "\"text\":\"no \\\"way\\\"\"}",
		    t_codes[i]);
		assert_string_equal(t_buf, want);
	}
}

/* '"' and '\' are escaped with a backslash; '/' is not escaped. */
static void
test_json_escapes_quote_and_backslash(void **state)
{
	static const char s[] = "say \"hi\" \\o/";

	(void)state;
	t_assert_json_text(s, sizeof(s) - 1, "say \\\"hi\\\" \\\\o/");
}

/* Each C0 control has its short escape or \u00XX, lower-case hex. */
static void
test_json_escapes_every_control(void **state)
{
	char in[3], want[16];
	int c;

	(void)state;
	for (c = 0; c < 0x20; c++) {
		in[0] = 'a';
		in[1] = (char)c;
		in[2] = 'b';
		switch (c) {
		case '\b':
			strcpy(want, "a\\bb");
			break;
		case '\f':
			strcpy(want, "a\\fb");
			break;
		case '\n':
			strcpy(want, "a\\nb");
			break;
		case '\r':
			strcpy(want, "a\\rb");
			break;
		case '\t':
			strcpy(want, "a\\tb");
			break;
		default:
			snprintf(want, sizeof(want), "a\\u%04xb", c);
		}
		t_assert_json_text(in, 3, want);
	}
	t_assert_json_text("\x1b[2J", 4, "\\u001b[2J");
}

/* DEL is escaped as \u007f. */
static void
test_json_escapes_del(void **state)
{
	(void)state;
	t_assert_json_text("a\x7f", 2, "a\\u007f");
}

/* U+2028 and U+2029 are escaped; their neighbours are not. */
static void
test_json_escapes_line_separators(void **state)
{
	(void)state;
	t_assert_json_text("a\xe2\x80\xa8z", 5, "a\\u2028z");
	t_assert_json_text("a\xe2\x80\xa9z", 5, "a\\u2029z");
	t_assert_json_text(
	    "\xe2\x80\xa7\xe2\x80\xaa", 6, "\xe2\x80\xa7\xe2\x80\xaa");
}

/* Multi-byte UTF-8 is copied as it is, C1 controls included. */
static void
test_json_keeps_multibyte_utf8(void **state)
{
	static const char s[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
				"\xc2\x85\xef\xbb\xbf\xf4\x8f\xbf\xbf";

	(void)state;
	t_assert_json_text(s, sizeof(s) - 1, s);
}

/* Printable ASCII other than '"' and '\' is copied as it is. */
static void
test_json_keeps_printable_ascii(void **state)
{
	char s[128];
	size_t n = 0;
	int c;

	(void)state;
	for (c = 0x20; c < 0x7f; c++)
		if (c != '"' && c != '\\')
			s[n++] = (char)c;
	s[n] = '\0';
	t_assert_json_text(s, n, s);
}

/* A byte that is not UTF-8 becomes \ufffd: the JSON stays valid. */
static void
test_json_invalid_utf8_becomes_replacement(void **state)
{
	(void)state;
	t_assert_json_text("a\xff", 2, "a\\ufffd");
	t_assert_json_text("a\xc3", 2, "a\\ufffd");
	t_assert_json_text("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd");
	t_assert_json_text("\xc0\xaf!", 3, "\\ufffd\\ufffd!");
}

/* An error's text is escaped like a message's. */
static void
test_json_error_text_is_escaped(void **state)
{
	(void)state;
	t_check(chatfmt_json_error(
	    "bad_command", "\x1b\"\\\xe2\x80\xa8", t_buf, sizeof(t_buf)));
	assert_string_equal(t_buf,
	    "{\"type\":\"error\",\"code\":"
	    "\"bad_command\",\"text\":"
	    "\"\\u001b\\\"\\\\\\u2028\"}");
}

/* Append the code point cp to s at *n as UTF-8. */
static void
t_utf8_put(char *s, size_t *n, uint32_t cp)
{
	if (cp < 0x80)
		s[(*n)++] = (char)cp;
	else if (cp < 0x800) {
		s[(*n)++] = (char)(0xc0 | cp >> 6);
		s[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		s[(*n)++] = (char)(0xe0 | cp >> 12);
		s[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		s[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		s[(*n)++] = (char)(0xf0 | cp >> 18);
		s[(*n)++] = (char)(0x80 | (cp >> 12 & 0x3f));
		s[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		s[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* Advance the xorshift64 generator *x and return its value. */
static uint64_t
t_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * Fill s with T_RAND_TEXT random code points, each of a class the
 * renderings treat apart: controls, DEL, '"', '\', printable ASCII, C1,
 * U+2028/9, the rest of the BMP (no surrogates), the other planes.
 * Return the length in bytes.
 */
static size_t
t_rand_text(char *s, uint64_t *x)
{
	static const uint32_t special[] = {
	    0x7f, '"', '\\', 0x2028, 0x2029, 0x9b, 0xfeff, 0x10ffff};
	size_t n = 0, i;
	uint32_t cp;

	for (i = 0; i < T_RAND_TEXT; i++) {
		switch (t_next(x) % 6) {
		case 0:
			cp = (uint32_t)(t_next(x) % 0x20);
			break;
		case 1:
			cp = special[t_next(x) % 8];
			break;
		case 2:
			cp = 0x20 + (uint32_t)(t_next(x) % 0x5f);
			break;
		case 3:
			cp = 0x80 + (uint32_t)(t_next(x) % 0x780);
			break;
		case 4:
			cp = 0x800 + (uint32_t)(t_next(x) % (0x10000 - 0x800));
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp -= 0x800;
			break;
		default:
			cp = 0x10000 + (uint32_t)(t_next(x) % 0x100000);
		}
		t_utf8_put(s, &n, cp);
	}
	return n;
}

/*
 * Checks a file of records, each a JSON text on one line and then the
 * hex of the "text" it must hold, or "-": the JSON must be valid (strict
 * UTF-8, Python's json, which refuses raw controls in strings), and the
 * record count argv[2].
 */
static const char t_checker[] =
    "import json, sys\n"
    "lines = open(sys.argv[1], 'rb').read().split(b'\\n')[:-1]\n"
    "assert len(lines) == 2 * int(sys.argv[2]), len(lines)\n"
    "for i in range(0, len(lines), 2):\n"
    "    o = json.loads(lines[i].decode('utf-8'))\n"
    "    assert isinstance(o, dict) and isinstance(o['type'], str), i\n"
    "    want = lines[i + 1].decode()\n"
    "    if want != '-':\n"
    "        got = o['text'].encode('utf-8')\n"
    "        assert got == bytes.fromhex(want), (i, got)\n";

/* Write the JSON t_buf and the hex of text[0..n) (or "-") to f. */
static void
t_record(FILE *f, const char *text, size_t n)
{
	size_t i;

	fprintf(f, "%s\n", t_buf);
	if (text == NULL)
		fputs("-", f);
	for (i = 0; text != NULL && i < n; i++)
		fprintf(f, "%02x", (unsigned char)text[i]);
	fputc('\n', f);
}

/*
 * Every shape of output, and messages of random text in every class of
 * character, are valid JSON to a real parser, and the text it decodes is
 * the text that was sent.
 */
static void
test_json_output_parses_with_python(void **state)
{
	static const char *const nicks[] = {"alice", "bob"};
	char path[] = "/tmp/test_chatfmt.XXXXXX", cmd[128];
	char text[T_RAND_TEXT * 4];
	struct chat_event ev;
	uint64_t x = 0x2545f4914f6cdd1dULL;
	size_t i, n, count = 0;
	FILE *f, *py;
	int fd, rc;

	(void)state;
	fd = mkstemp(path);
	assert_int_not_equal(fd, -1);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (i = 0; i < T_NTYPES; i++, count += 2) {
		t_event(&ev, t_types[i], "x\"\\\n\x7f\xe2\x80\xa8");
		t_json(&ev, 0);
		t_record(f, ev.ce_text, ev.ce_text_len);
		t_json(&ev, 1);
		t_record(f, ev.ce_text, ev.ce_text_len);
	}
	t_check(chatfmt_json_welcome("lobby", "alice", 1, t_buf, T_BUF_LEN));
	t_record(f, NULL, 0);
	t_check(chatfmt_json_who("lobby", nicks, 2, t_buf, T_BUF_LEN));
	t_record(f, NULL, 0);
	t_check(chatfmt_json_gap("lobby", 3, t_buf, T_BUF_LEN));
	t_record(f, NULL, 0);
	t_check(chatfmt_json_error("too_long", "\x01\"", t_buf, T_BUF_LEN));
	t_record(f, "\x01\"", 2);
	count += 4;
	for (i = 0; i < T_RANDOM; i++, count++) {
		n = t_rand_text(text, &x);
		t_json_text(text, n);
		t_record(f, text, n);
	}
	assert_int_equal(fclose(f), 0);

	snprintf(cmd, sizeof(cmd), T_PYTHON " - %s %zu", path, count);
	py = popen(cmd, "w");
	assert_non_null(py);
	fputs(t_checker, py);
	rc = pclose(py);
	unlink(path);
	assert_int_equal(rc, 0);
}

/* A message line: time of day, nick in brackets, text, CRLF. */
static void
test_line_message_is_exact(void **state)
{
	struct chat_event ev;

	(void)state;
	t_event(&ev, CHAT_MESSAGE, "hi");
	assert_string_equal(t_line(&ev), "[21:07:04] <alice> hi\r\n");
}

/* A /me line: time of day, a star, the nick, the text. */
static void
test_line_me_is_exact(void **state)
{
	struct chat_event ev;

	(void)state;
	t_event(&ev, CHAT_ME, "waves");
	assert_string_equal(t_line(&ev), "[21:07:04] * alice waves\r\n");
}

/* Joins, leaves and nick changes are star lines without a time. */
static void
test_line_join_leave_nick_are_exact(void **state)
{
	struct chat_event ev;

	(void)state;
	t_event(&ev, CHAT_JOIN, NULL);
	assert_string_equal(t_line(&ev), "* alice joined lobby\r\n");
	t_event(&ev, CHAT_LEAVE, NULL);
	assert_string_equal(t_line(&ev), "* alice left lobby\r\n");
	t_event(&ev, CHAT_NICK, NULL);
	assert_string_equal(t_line(&ev), "* bob is now bobby\r\n");
}

/* Assert the line of a message at ms starts with want. */
static void
t_assert_line_time(uint64_t ms, const char *want)
{
	struct chat_event ev;

	t_event(&ev, CHAT_MESSAGE, "x");
	ev.ce_time_ms = ms;
	if (strncmp(t_line(&ev), want, strlen(want)) != 0)
		fail_msg(
		    "%llu: %s, want %s", (unsigned long long)ms, t_buf, want);
}

/* The time of day is UTC, at midnight and the end of a day too. */
static void
test_line_time_at_midnight_and_end_of_day(void **state)
{
	(void)state;
	t_assert_line_time(0, "[00:00:00] ");
	t_assert_line_time(1796428800000ULL, "[00:00:00] ");
	t_assert_line_time(1796428800999ULL, "[00:00:00] ");
	t_assert_line_time(1796515199999ULL, "[23:59:59] ");
	t_assert_line_time(1796515200000ULL, "[00:00:00] ");
	t_assert_line_time(1796432461000ULL, "[01:01:01] ");
	t_assert_line_time(UINT64_MAX, "[23:59:59] ");
}

/* The welcome line names the room and nick and points at /help. */
static void
test_line_welcome_is_exact(void **state)
{
	(void)state;
	t_check(chatfmt_line_welcome("lobby", "alice", t_buf, T_BUF_LEN));
	assert_string_equal(t_buf,
	    "* welcome to lobby, alice "
	    "(type /help for the commands)\r\n");
}

/* The who line lists the nicks in their order. */
static void
test_line_who_is_exact(void **state)
{
	static const char *const nicks[] = {"alice", "bob", "carol"};

	(void)state;
	t_check(chatfmt_line_who("lobby", nicks, 3, t_buf, T_BUF_LEN));
	assert_string_equal(t_buf, "* in lobby: alice, bob, carol\r\n");
	t_check(chatfmt_line_who("lobby", nicks, 1, t_buf, T_BUF_LEN));
	assert_string_equal(t_buf, "* in lobby: alice\r\n");
	t_check(chatfmt_line_who("lobby", nicks, 0, t_buf, T_BUF_LEN));
	assert_string_equal(t_buf, "* in lobby:\r\n");
}

/* The gap line counts the missed events. */
static void
test_line_gap_is_exact(void **state)
{
	(void)state;
	t_check(chatfmt_line_gap(17, t_buf, T_BUF_LEN));
	assert_string_equal(t_buf, "! missed 17 events\r\n");
	t_check(chatfmt_line_gap(1, t_buf, T_BUF_LEN));
	assert_string_equal(t_buf, "! missed 1 event\r\n");
	t_check(chatfmt_line_gap(UINT64_MAX, t_buf, T_BUF_LEN));
	assert_string_equal(t_buf, "! missed 18446744073709551615 events\r\n");
}

/* The error line is the code and the text, for every code. */
static void
test_line_error_is_exact_for_every_code(void **state)
{
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < T_NCODES; i++) {
		t_check(chatfmt_line_error(
		    t_codes[i], "message too long", t_buf, T_BUF_LEN));
		snprintf(want, sizeof(want), "! %s: message too long\r\n",
		    t_codes[i]);
		assert_string_equal(t_buf, want);
	}
}

/* ESC [ 2 J (clear screen) and a C1 CSI cannot reach the terminal. */
static void
test_line_replaces_escape_sequences(void **state)
{
	(void)state;
	t_assert_line_text("\x1b[2Jgone", 8, "?[2Jgone");
	t_assert_line_text("\xc2\x9b"
			   "2Jgone",
	    8, "?2Jgone");
	t_assert_line_text("\x1b]0;title\x07", 10, "?]0;title?");
}

/* CR and LF cannot end the line early or forge another one. */
static void
test_line_replaces_cr_and_lf(void **state)
{
	(void)state;
	t_assert_line_text(
	    "hi\r\n* admin is now root", 23, "hi??* admin is now root");
}

/* Each C0 control becomes '?' but the tab, which becomes a space. */
static void
test_line_replaces_every_c0_control_but_tab(void **state)
{
	char in[3];
	int c;

	(void)state;
	for (c = 0; c < 0x20; c++) {
		in[0] = 'a';
		in[1] = (char)c;
		in[2] = 'b';
		t_assert_line_text(in, 3, c == '\t' ? "a b" : "a?b");
	}
}

/* DEL becomes '?'. */
static void
test_line_replaces_del(void **state)
{
	(void)state;
	t_assert_line_text("a\x7f"
			   "b",
	    3, "a?b");
}

/* Each C1 control (C2 80..C2 9F) becomes one '?'; C2 A0 is kept. */
static void
test_line_replaces_every_c1_control(void **state)
{
	char in[4];
	int c;

	(void)state;
	for (c = 0x80; c < 0xa0; c++) {
		in[0] = 'a';
		in[1] = (char)0xc2;
		in[2] = (char)c;
		in[3] = 'b';
		t_assert_line_text(in, 4, "a?b");
	}
	t_assert_line_text("a\xc2\xa0"
			   "b",
	    4,
	    "a\xc2\xa0"
	    "b");
}

/* Multi-byte UTF-8 that is no control is copied as it is. */
static void
test_line_keeps_multibyte_utf8(void **state)
{
	static const char s[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
				"\xe2\x80\xa8\xf4\x8f\xbf\xbf";

	(void)state;
	t_assert_line_text(s, sizeof(s) - 1, s);
}

/* Each byte that is not part of valid UTF-8 becomes '?'. */
static void
test_line_invalid_utf8_bytes_become_question_marks(void **state)
{
	(void)state;
	t_assert_line_text("\x9b"
			   "2J",
	    3, "?2J");
	t_assert_line_text("a\xff\xfe", 3, "a??");
	t_assert_line_text("\xed\xa0\x80", 3, "???");
	t_assert_line_text("\xe2\x82", 2, "??");
}

/* An error's text is made safe like a message's. */
static void
test_line_error_text_is_made_safe(void **state)
{
	(void)state;
	t_check(chatfmt_line_error(
	    "bad_command", "/x\x1b[2J\r\n\xc2\x9b\t", t_buf, T_BUF_LEN));
	assert_string_equal(t_buf, "! bad_command: /x?[2J??? \r\n");
}

/*
 * Assert that the line s holds no terminal control but its final CRLF:
 * no C0 byte, no DEL, no C1 sequence, only valid UTF-8.
 */
static void
t_assert_line_safe(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t st = UTF8_ACCEPT;
	size_t i;

	assert_true(n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n');
	assert_int_equal(utf8_validate(&st, s, n), n);
	assert_true(utf8_complete(st));
	for (i = 0; i < n - 2; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f))
			fail_msg("control at %zu: %s", i, s);
	}
}

/* Whatever the bytes of a text, its line holds no terminal control. */
static void
test_line_never_holds_a_control(void **state)
{
	char text[256];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t i, k, n;

	(void)state;
	for (i = 0; i < 256; i++) {
		text[0] = (char)i;
		t_line_text(text, 1);
		t_assert_line_safe(t_buf, strlen(t_buf));
	}
	for (i = 0; i < 20000; i++) {
		n = (size_t)(t_next(&x) % sizeof(text));
		for (k = 0; k < n; k++)
			text[k] = (char)(t_next(&x) >> 56);
		if (i % 2 == 0) /* many C2 and controls: the edge cases */
			for (k = 0; k < n; k += 3)
				text[k] = (char)(k % 2 == 0 ? 0xc2 : 0x1b);
		t_line_text(text, n);
		t_assert_line_safe(t_buf, strlen(t_buf));
	}
}

/* The renderings the small-buffer test visits. */
enum t_kind {
	T_JSON_MESSAGE,
	T_JSON_NICK,
	T_JSON_HISTORY,
	T_JSON_WELCOME,
	T_JSON_WHO,
	T_JSON_GAP,
	T_JSON_ERROR,
	T_LINE_MESSAGE,
	T_LINE_JOIN,
	T_LINE_WELCOME,
	T_LINE_WHO,
	T_LINE_GAP,
	T_LINE_ERROR,
	T_NKINDS
};

/* Render kind k into buf[0..len); return what the renderer returned. */
static size_t
t_render(enum t_kind k, char *buf, size_t len)
{
	static const char *const nicks[] = {"alice", "bob"};
	struct chat_event ev;

	t_event(&ev,
	    k == T_JSON_NICK	   ? CHAT_NICK
		: k == T_LINE_JOIN ? CHAT_JOIN
				   : CHAT_MESSAGE,
	    "h\xc3\xa9\n");
	switch (k) {
	case T_JSON_MESSAGE:
	case T_JSON_NICK:
		return chatfmt_json(&ev, 0, buf, len);
	case T_JSON_HISTORY:
		return chatfmt_json(&ev, 1, buf, len);
	case T_JSON_WELCOME:
		return chatfmt_json_welcome("lobby", "alice", 9, buf, len);
	case T_JSON_WHO:
		return chatfmt_json_who("lobby", nicks, 2, buf, len);
	case T_JSON_GAP:
		return chatfmt_json_gap("lobby", 9, buf, len);
	case T_JSON_ERROR:
		return chatfmt_json_error("too_long", "x\ty", buf, len);
	case T_LINE_MESSAGE:
	case T_LINE_JOIN:
		return chatfmt_line(&ev, buf, len);
	case T_LINE_WELCOME:
		return chatfmt_line_welcome("lobby", "alice", buf, len);
	case T_LINE_WHO:
		return chatfmt_line_who("lobby", nicks, 2, buf, len);
	case T_LINE_GAP:
		return chatfmt_line_gap(9, buf, len);
	default:
		return chatfmt_line_error("too_long", "x\ty", buf, len);
	}
}

/*
 * Every rendering that does not fit returns 0, leaves "" (when there is
 * room for it) and writes nothing past its buffer; with one byte more
 * than its length it fits.
 */
static void
test_small_buffer_gets_nothing_and_no_overflow(void **state)
{
	char whole[1024];
	size_t n, len, i;
	int k;

	(void)state;
	for (k = 0; k < T_NKINDS; k++) {
		n = t_render((enum t_kind)k, whole, sizeof(whole));
		assert_true(n > 0 && n < sizeof(whole));
		for (len = 0; len <= n; len++) {
			memset(t_buf, T_GUARD, 2 * n);
			if (t_render((enum t_kind)k, t_buf, len) != 0)
				fail_msg("kind %d fits in %zu of %zu", k, len,
				    n + 1);
			if (len > 0)
				assert_int_equal(t_buf[0], '\0');
			for (i = len; i < 2 * n; i++)
				assert_int_equal(
				    (unsigned char)t_buf[i], T_GUARD);
		}
		memset(t_buf, T_GUARD, 2 * n);
		assert_int_equal(t_render((enum t_kind)k, t_buf, n + 1), n);
		assert_string_equal(t_buf, whole);
		assert_int_equal((unsigned char)t_buf[n + 1], T_GUARD);
	}
}

/*
 * The largest JSON event, a message with history, names at their bound,
 * the largest seq and time and every text byte escaped to six, is
 * exactly CHATFMT_JSON_MAX with its NUL; the largest error reply fits.
 */
static void
test_largest_json_is_json_max(void **state)
{
	static char text[CHAT_TEXT_MAX + 1];
	static char out[CHATFMT_JSON_MAX + 1];
	struct chat_event ev;
	size_t i;

	(void)state;
	memset(text, 0x01, CHAT_TEXT_MAX);
	t_event_n(&ev, CHAT_MESSAGE, text, CHAT_TEXT_MAX);
	memset(ev.ce_room, 'r', CHAT_NAME_MAX);
	memset(ev.ce_nick, 'n', CHAT_NAME_MAX);
	ev.ce_seq = UINT64_MAX;
	ev.ce_time_ms = UINT64_MAX;
	assert_int_equal(
	    chatfmt_json(&ev, 1, out, sizeof(out)), CHATFMT_JSON_MAX - 1);
	assert_int_equal(
	    chatfmt_json(&ev, 1, out, CHATFMT_JSON_MAX), CHATFMT_JSON_MAX - 1);
	assert_int_equal(chatfmt_json(&ev, 1, out, CHATFMT_JSON_MAX - 1), 0);

	for (i = 0; i < T_NCODES; i++)
		assert_true(chatfmt_json_error(
				t_codes[i], text, out, CHATFMT_JSON_MAX) > 0);
	memset(ev.ce_old, 'o', CHAT_NAME_MAX);
	ev.ce_type = CHAT_NICK;
	assert_true(chatfmt_json(&ev, 1, out, CHATFMT_JSON_MAX) > 0);
}

/*
 * The largest line, a message with its nick and text at their bounds, is
 * exactly CHATFMT_LINE_MAX with its NUL; the largest error reply fits.
 */
static void
test_largest_line_is_line_max(void **state)
{
	static char text[CHAT_TEXT_MAX + 1];
	static char out[CHATFMT_LINE_MAX + 1];
	char code[CHAT_NAME_MAX + 1];
	struct chat_event ev;

	(void)state;
	memset(text, 0x1b, CHAT_TEXT_MAX);
	t_event_n(&ev, CHAT_MESSAGE, text, CHAT_TEXT_MAX);
	memset(ev.ce_room, 'r', CHAT_NAME_MAX);
	memset(ev.ce_nick, 'n', CHAT_NAME_MAX);
	assert_int_equal(
	    chatfmt_line(&ev, out, sizeof(out)), CHATFMT_LINE_MAX - 1);
	assert_int_equal(chatfmt_line(&ev, out, CHATFMT_LINE_MAX - 1), 0);
	ev.ce_type = CHAT_ME;
	assert_true(chatfmt_line(&ev, out, CHATFMT_LINE_MAX) > 0);

	memset(code, 'c', CHAT_NAME_MAX);
	code[CHAT_NAME_MAX] = '\0';
	assert_true(chatfmt_line_error(code, text, out, CHATFMT_LINE_MAX) > 0);
}

/* A who reply of n nicks at their bound fits its CHATFMT_*_WHO_MAX(n). */
static void
test_who_fits_its_max(void **state)
{
	static const size_t counts[] = {0, 1, 2, 100};
	static char out[CHATFMT_JSON_WHO_MAX(100)];
	char name[CHAT_NAME_MAX + 1];
	const char *nicks[100];
	size_t i, j;

	(void)state;
	memset(name, 'n', CHAT_NAME_MAX);
	name[CHAT_NAME_MAX] = '\0';
	for (j = 0; j < 100; j++)
		nicks[j] = name;
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		assert_true(chatfmt_json_who(name, nicks, counts[i], out,
				CHATFMT_JSON_WHO_MAX(counts[i])) > 0);
		assert_true(chatfmt_line_who(name, nicks, counts[i], out,
				CHATFMT_LINE_WHO_MAX(counts[i])) > 0);
	}
}

/* Assert that ev renders as neither JSON nor a line. */
static void
t_assert_not_rendered(const struct chat_event *ev, const char *what)
{
	memset(t_buf, T_GUARD, sizeof(t_buf));
	if (chatfmt_json(ev, 0, t_buf, sizeof(t_buf)) != 0 || t_buf[0] != '\0')
		fail_msg("JSON of %s: %s", what, t_buf);
	memset(t_buf, T_GUARD, sizeof(t_buf));
	if (chatfmt_line(ev, t_buf, sizeof(t_buf)) != 0 || t_buf[0] != '\0')
		fail_msg("line of %s: %s", what, t_buf);
}

/* An event with an unknown type or a name that is not one is refused. */
static void
test_invalid_event_is_not_rendered(void **state)
{
	struct chat_event ev;

	(void)state;
	t_event(&ev, CHAT_MESSAGE, "hi");
	ev.ce_type = (enum chat_type)0;
	t_assert_not_rendered(&ev, "type 0");
	ev.ce_type = (enum chat_type)(CHAT_NICK + 1);
	t_assert_not_rendered(&ev, "type past CHAT_NICK");
	t_event(&ev, CHAT_MESSAGE, "hi");
	strcpy(ev.ce_room, "a\"b");
	t_assert_not_rendered(&ev, "a room with a quote");
	t_event(&ev, CHAT_JOIN, NULL);
	strcpy(ev.ce_nick, "");
	t_assert_not_rendered(&ev, "an empty nick");
	t_event(&ev, CHAT_JOIN, NULL);
	memset(ev.ce_nick, 'a', sizeof(ev.ce_nick));
	t_assert_not_rendered(&ev, "a nick without NUL");
	t_event(&ev, CHAT_NICK, NULL);
	strcpy(ev.ce_old, "");
	t_assert_not_rendered(&ev, "a nick change without old nick");
	t_event(&ev, CHAT_ME, NULL);
	ev.ce_text_len = 1;
	t_assert_not_rendered(&ev, "a NULL text");
}

/* A reply with a room, nick or code that is not a name is refused. */
static void
test_invalid_reply_is_not_rendered(void **state)
{
	static const char *const nicks[] = {"alice", "b\x1b"};

	(void)state;
	assert_int_equal(
	    chatfmt_json_welcome("lob by", "alice", 1, t_buf, T_BUF_LEN), 0);
	assert_int_equal(
	    chatfmt_line_welcome("lobby", "al\r\nice", t_buf, T_BUF_LEN), 0);
	assert_int_equal(
	    chatfmt_json_who("lobby", nicks, 2, t_buf, T_BUF_LEN), 0);
	assert_int_equal(
	    chatfmt_line_who("lobby", nicks, 2, t_buf, T_BUF_LEN), 0);
	assert_int_equal(chatfmt_json_gap("", 1, t_buf, T_BUF_LEN), 0);
	assert_int_equal(
	    chatfmt_json_error("too long", "x", t_buf, T_BUF_LEN), 0);
	assert_int_equal(chatfmt_line_error("\"x\"", "x", t_buf, T_BUF_LEN), 0);
	assert_string_equal(t_buf, "");
}

/* An event decoded from its record renders as the event itself. */
static void
test_decoded_event_renders_the_same(void **state)
{
	unsigned char rec[CHATEV_MAX];
	char want[512];
	struct chat_event ev, out;
	size_t i, n;

	(void)state;
	for (i = 0; i < T_NTYPES; i++) {
		t_event(&ev, t_types[i], "h\xc3\xa9\x1b");
		n = chatev_encode(&ev, rec, sizeof(rec));
		assert_int_equal(chatev_decode(rec, n, &out), 0);
		snprintf(want, sizeof(want), "%s", t_json(&ev, 1));
		assert_string_equal(t_json(&out, 1), want);
		snprintf(want, sizeof(want), "%s", t_line(&ev));
		assert_string_equal(t_line(&out), want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_message_is_exact),
	    cmocka_unit_test(test_json_me_is_exact),
	    cmocka_unit_test(test_json_join_is_exact),
	    cmocka_unit_test(test_json_leave_is_exact),
	    cmocka_unit_test(test_json_nick_is_exact),
	    cmocka_unit_test(test_json_history_flag_comes_last),
	    cmocka_unit_test(test_json_seq_prints_exactly_at_extremes),
	    cmocka_unit_test(test_json_time_is_rfc3339_utc_with_millis),
	    cmocka_unit_test(test_json_time_after_9999_is_its_last_millisecond),
	    cmocka_unit_test(test_json_welcome_is_exact),
	    cmocka_unit_test(test_json_who_is_exact),
	    cmocka_unit_test(test_json_gap_is_exact),
	    cmocka_unit_test(test_json_error_is_exact_for_every_code),
	    cmocka_unit_test(test_json_escapes_quote_and_backslash),
	    cmocka_unit_test(test_json_escapes_every_control),
	    cmocka_unit_test(test_json_escapes_del),
	    cmocka_unit_test(test_json_escapes_line_separators),
	    cmocka_unit_test(test_json_keeps_multibyte_utf8),
	    cmocka_unit_test(test_json_keeps_printable_ascii),
	    cmocka_unit_test(test_json_invalid_utf8_becomes_replacement),
	    cmocka_unit_test(test_json_error_text_is_escaped),
	    cmocka_unit_test(test_json_output_parses_with_python),
	    cmocka_unit_test(test_line_message_is_exact),
	    cmocka_unit_test(test_line_me_is_exact),
	    cmocka_unit_test(test_line_join_leave_nick_are_exact),
	    cmocka_unit_test(test_line_time_at_midnight_and_end_of_day),
	    cmocka_unit_test(test_line_welcome_is_exact),
	    cmocka_unit_test(test_line_who_is_exact),
	    cmocka_unit_test(test_line_gap_is_exact),
	    cmocka_unit_test(test_line_error_is_exact_for_every_code),
	    cmocka_unit_test(test_line_replaces_escape_sequences),
	    cmocka_unit_test(test_line_replaces_cr_and_lf),
	    cmocka_unit_test(test_line_replaces_every_c0_control_but_tab),
	    cmocka_unit_test(test_line_replaces_del),
	    cmocka_unit_test(test_line_replaces_every_c1_control),
	    cmocka_unit_test(test_line_keeps_multibyte_utf8),
	    cmocka_unit_test(
		test_line_invalid_utf8_bytes_become_question_marks),
	    cmocka_unit_test(test_line_error_text_is_made_safe),
	    cmocka_unit_test(test_line_never_holds_a_control),
	    cmocka_unit_test(test_small_buffer_gets_nothing_and_no_overflow),
	    cmocka_unit_test(test_largest_json_is_json_max),
	    cmocka_unit_test(test_largest_line_is_line_max),
	    cmocka_unit_test(test_who_fits_its_max),
	    cmocka_unit_test(test_invalid_event_is_not_rendered),
	    cmocka_unit_test(test_invalid_reply_is_not_rendered),
	    cmocka_unit_test(test_decoded_event_renders_the_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
