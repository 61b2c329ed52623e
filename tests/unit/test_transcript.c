/*
 * Unit tests for transcript.c: the chat hub's transcript, one JSON event
 * a line. Lines are made by chatfmt_json() (what the hub writes) or by
 * hand (what a crash, a disk or a person may leave); files live in a
 * private mkdtemp directory.
 */

#include <sys/resource.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define T_TIME	   1796504824123ULL /* 2026-12-05T21:07:04.123Z */
#define T_ISO	   "2026-12-05T21:07:04.123Z"
#define T_TIME_MAX 253402300799999ULL /* 9999-12-31T23:59:59.999Z */
#define T_MAX_GOT  16		      /* events a t_got keeps */
#define T_LONG	   (32u << 20)	      /* a garbage line's bytes: 32 MiB */
#define T_RANDOM   2000	       /* random times through chatfmt and back */
#define T_MANY	   5000	       /* events in a file many blocks long */
#define T_BLOCK	   (64 * 1024) /* transcript.c's TRANSCRIPT_BLOCK */

/* A message line up to its text, by hand: what chatfmt writes. */
#define T_HEAD(type)                                                           \
	"{\"type\":\"" type                                                    \
	"\",\"room\":\"lobby\",\"seq\":12,\"time\":\"" T_ISO                   \
	"\",\"nick\":\"alice\""
/* A message whose text is the JSON string inside X, escapes as written. */
#define T_TEXT(x) T_HEAD("message") ",\"text\":\"" x "\"}"

static const enum chat_type t_types[] = {
    CHAT_MESSAGE, CHAT_ME, CHAT_JOIN, CHAT_LEAVE, CHAT_NICK};

#define T_NTYPES (sizeof(t_types) / sizeof(t_types[0]))

static char t_dir[64];		       /* the group's mkdtemp directory */
static char t_file[384];	       /* a file in it: t_path() */
static char t_json[CHATFMT_JSON_MAX];  /* t_render()'s output */
static char t_text[CHAT_TEXT_MAX];     /* a parsed event's text */
static struct chat_event t_ev;	       /* a parsed event */
static char t_big[CHAT_TEXT_MAX + 16]; /* a long text being built */

/* What a restore gave its callback. */
struct t_got {
	long tg_n;			    /* calls */
	struct chat_event tg_ev[T_MAX_GOT]; /* the first T_MAX_GOT events */
	char tg_text[T_MAX_GOT][64];	    /* their texts, cut to 63 bytes */
	uint64_t tg_last_seq;		    /* seq of the last event */
	int tg_in_order;		    /* each seq was its previous + 1 */
};

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

/* Render ev with chatfmt_json() into t_json; return it. */
static const char *
t_render(const struct chat_event *ev, int history)
{
	assert_true(chatfmt_json(ev, history, t_json, sizeof(t_json)) > 0);
	return t_json;
}

/* Parse the line s[0..n) into t_ev and t_text; 0 or -1. */
static int
t_parse_n(const char *s, size_t n)
{
	return transcript_parse_line(s, n, &t_ev, t_text, sizeof(t_text));
}

/* Parse the NUL-terminated line s into t_ev and t_text; 0 or -1. */
static int
t_parse(const char *s)
{
	return t_parse_n(s, strlen(s));
}

/* Assert that the events a and b are the same, text bytes included. */
static void
t_assert_same(const struct chat_event *a, const struct chat_event *b)
{
	assert_int_equal(a->ce_type, b->ce_type);
	assert_true(a->ce_seq == b->ce_seq);
	assert_true(a->ce_time_ms == b->ce_time_ms);
	assert_string_equal(a->ce_room, b->ce_room);
	assert_string_equal(a->ce_nick, b->ce_nick);
	assert_string_equal(a->ce_old, b->ce_old);
	assert_int_equal(a->ce_text_len, b->ce_text_len);
	assert_int_equal(a->ce_text == NULL, b->ce_text == NULL);
	if (a->ce_text_len > 0)
		assert_memory_equal(a->ce_text, b->ce_text, a->ce_text_len);
}

/* Assert that ev goes through chatfmt_json() and back unchanged. */
static void
t_assert_round_trip(const struct chat_event *ev, int history)
{
	assert_int_equal(t_parse(t_render(ev, history)), 0);
	t_assert_same(&t_ev, ev);
}

/* Assert that the message line's text decodes to want[0..n). */
static void
t_assert_text(const char *line, const char *want, size_t n)
{
	assert_int_equal(t_parse(line), 0);
	assert_int_equal(t_ev.ce_text_len, n);
	assert_memory_equal(t_ev.ce_text, want, n);
}

/* Return the path of the file name in the group's directory. */
static const char *
t_path(const char *name)
{
	snprintf(t_file, sizeof(t_file), "%s/%s", t_dir, name);
	return t_file;
}

/* Write the n bytes at s to the file name, replacing it; return its path. */
static const char *
t_write_file(const char *name, const char *s, size_t n)
{
	const char *path = t_path(name);
	FILE *fp;

	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(s, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
	return path;
}

/* Append the string s to the open file fp. */
static void
t_put(FILE *fp, const char *s)
{
	assert_int_equal(fwrite(s, 1, strlen(s), fp), strlen(s));
}

/* Append ev's JSON line, as transcript_append() writes it, to fp. */
static void
t_put_event(FILE *fp, const struct chat_event *ev)
{
	t_put(fp, t_render(ev, 0));
	t_put(fp, "\n");
}

/* Return the size of the file at path. */
static off_t
t_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* The restore callback: keep what came, in a struct t_got. */
static void
t_collect(void *arg, const struct chat_event *ev)
{
	struct t_got *got = arg;
	struct chat_event *keep;
	size_t n;

	if (got->tg_n > 0 && ev->ce_seq != got->tg_last_seq + 1)
		got->tg_in_order = 0;
	got->tg_last_seq = ev->ce_seq;
	if (got->tg_n < T_MAX_GOT) {
		keep = &got->tg_ev[got->tg_n];
		*keep = *ev;
		if (ev->ce_text != NULL) {
			n = ev->ce_text_len < 63 ? ev->ce_text_len : 63;
			memcpy(got->tg_text[got->tg_n], ev->ce_text, n);
			keep->ce_text = got->tg_text[got->tg_n];
			keep->ce_text_len = n;
		}
	}
	got->tg_n++;
}

/* Restore the file at path into got; return what restore returned. */
static long
t_restore(const char *path, struct t_got *got, unsigned long *bad)
{
	memset(got, 0, sizeof(*got));
	got->tg_in_order = 1;
	*bad = 12345; /* restore must set it */
	return transcript_restore(path, t_collect, got, bad);
}

/* Group setup: make the private directory. */
static int
setup_dir(void **state)
{
	(void)state;
	snprintf(t_dir, sizeof(t_dir), "/tmp/pfhttpd-test-transcript.XXXXXX");
	return mkdtemp(t_dir) == NULL ? -1 : 0;
}

/* Group teardown: remove the private directory and the files in it. */
static int
teardown_dir(void **state)
{
	struct dirent *de;
	DIR *d;

	(void)state;
	if ((d = opendir(t_dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			unlink(t_path(de->d_name));
	closedir(d);
	return rmdir(t_dir);
}

/* Every type of event comes back from its chatfmt_json() line. */
static void
test_every_event_type_round_trips(void **state)
{
	struct chat_event ev;
	size_t i;

	(void)state;
	for (i = 0; i < T_NTYPES; i++) {
		t_event(&ev, t_types[i], "hello");
		t_assert_round_trip(&ev, 0);
	}
}

/* A line with ,"history":true, as replayed to a client, parses too. */
static void
test_history_line_round_trips(void **state)
{
	struct chat_event ev;
	size_t i;

	(void)state;
	for (i = 0; i < T_NTYPES; i++) {
		t_event(&ev, t_types[i], "hello");
		t_assert_round_trip(&ev, 1);
	}
}

/* An empty text is a text: it comes back empty, not absent. */
static void
test_empty_text_round_trips(void **state)
{
	struct chat_event ev;

	(void)state;
	t_event(&ev, CHAT_MESSAGE, "");
	t_assert_round_trip(&ev, 0);
	assert_non_null(t_ev.ce_text);
}

/*
 * A text with every class chatfmt escapes or copies comes back: quote,
 * backslash, slash, the named controls, the other C0 controls, NUL, DEL,
 * U+2028/9, 2-, 3- and 4-byte UTF-8 and the last code point.
 */
static void
test_text_with_every_escape_class_round_trips(void **state)
{
	static const char text[] = "say \"hi\" \\ / \b\f\n\r\t \x01\x1f"
				   "\x7f \xc3\xa9 \xe2\x82\xac \xe2\x80\xa8"
				   "\xe2\x80\xa9 \xf0\x9f\x98\x80 \xf4\x8f\xbf"
				   "\xbf \xef\xbf\xbd end\0after";
	struct chat_event ev;

	(void)state;
	t_event_n(&ev, CHAT_ME, text, sizeof(text) - 1);
	t_assert_round_trip(&ev, 0);
	/* chatfmt did escape them: the line is not the text copied */
	assert_non_null(strstr(t_json, "\\u0000after"));
	assert_non_null(strstr(t_json, "\\u2028\\u2029"));
	assert_non_null(
	    strstr(t_json, "\\b\\f\\n\\r\\t \\u0001\\u001f\\u007f"));
}

/* Every byte from 0 to 127 comes back, whatever escape it took. */
static void
test_every_ascii_byte_round_trips(void **state)
{
	char text[128];
	struct chat_event ev;
	int i;

	(void)state;
	for (i = 0; i < 128; i++)
		text[i] = (char)i;
	t_event_n(&ev, CHAT_MESSAGE, text, sizeof(text));
	t_assert_round_trip(&ev, 0);
}

/* A text of exactly CHAT_TEXT_MAX bytes, all escaped, comes back. */
static void
test_longest_text_round_trips(void **state)
{
	struct chat_event ev;

	(void)state;
	memset(t_big, '\x01', CHAT_TEXT_MAX);
	t_event_n(&ev, CHAT_MESSAGE, t_big, CHAT_TEXT_MAX);
	t_assert_round_trip(&ev, 0);
}

/* The escapes chatfmt never writes are decoded as JSON says. */
static void
test_escapes_written_by_hand_are_decoded(void **state)
{
	(void)state;
	t_assert_text(T_TEXT("a\\/b"), "a/b", 3);
	t_assert_text(T_TEXT("\\u00e9\\u00C9"), "\xc3\xa9\xc3\x89", 4);
	t_assert_text(T_TEXT("\\u20AC"), "\xe2\x82\xac", 3);
	t_assert_text(T_TEXT("\\ud83d\\ude00"), "\xf0\x9f\x98\x80", 4);
	t_assert_text(T_TEXT("\\ud800\\udc00"), "\xf0\x90\x80\x80", 4);
	t_assert_text(T_TEXT("\\uDBFF\\uDFFF"), "\xf4\x8f\xbf\xbf", 4);
	t_assert_text(T_TEXT("\\u0000"), "\0", 1);
	t_assert_text(T_TEXT("\\u0041\\u07ff\\u0800\\uffff"),
	    "A\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 9);
}

/* The time comes back as the unix milliseconds it names. */
static void
test_time_is_converted_to_unix_ms(void **state)
{
	static const struct {
		const char *iso;
		uint64_t ms;
	} cases[] = {
	    {"1970-01-01T00:00:00.000Z", 0},
	    {"1970-01-01T00:00:00.001Z", 1},
	    {"1972-02-29T23:59:59.999Z", 68255999999ULL},
	    {"2000-03-01T00:00:00.000Z", 951868800000ULL},
	    {"2024-02-29T00:00:00.000Z", 1709164800000ULL},
	    {T_ISO, T_TIME},
	    {"2100-03-01T00:00:00.000Z", 4107542400000ULL},
	    {"9999-12-31T23:59:59.999Z", T_TIME_MAX},
	};
	char line[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line),
		    "{\"type\":\"join\",\"room\":\"lobby\",\"seq\":1,"
		    "\"time\":\"%s\",\"nick\":\"alice\"}",
		    cases[i].iso);
		assert_int_equal(t_parse(line), 0);
		assert_true(t_ev.ce_time_ms == cases[i].ms);
	}
}

/* Random times through chatfmt (gmtime_r) come back to the millisecond. */
static void
test_random_times_round_trip(void **state)
{
	struct chat_event ev;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int i;

	(void)state;
	t_event(&ev, CHAT_LEAVE, NULL);
	for (i = 0; i < T_RANDOM; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* half anywhere up to 9999, half within a few years of now */
		ev.ce_time_ms = i % 2 == 0 ? x % (T_TIME_MAX + 1)
					   : T_TIME + x % 200000000000ULL;
		t_assert_round_trip(&ev, 0);
	}
}

/* One "\r" before the line's end is tolerated, not two. */
static void
test_one_trailing_cr_is_tolerated(void **state)
{
	(void)state;
	assert_int_equal(t_parse(T_TEXT("hi") "\r"), 0);
	assert_int_equal(t_parse(T_TEXT("hi") "\r\r"), -1);
	assert_int_equal(t_parse("\r" T_TEXT("hi")), -1);
}

/* Only the five event types are events. */
static void
test_unknown_type_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(t_parse(T_HEAD("join") "}"), 0);
	assert_int_equal(t_parse(T_HEAD("welcome") "}"), -1);
	assert_int_equal(t_parse(T_HEAD("Join") "}"), -1);
	assert_int_equal(t_parse(T_HEAD("joins") "}"), -1);
	assert_int_equal(t_parse(T_HEAD("joi") "}"), -1);
	assert_int_equal(t_parse(T_HEAD("") "}"), -1);
	assert_int_equal(t_parse(T_HEAD("\\u006aoin") "}"), -1);
	assert_int_equal(t_parse(T_HEAD("mess") ",\"text\":\"x\"}"), -1);
}

/* A room, nick or old nick that is not a valid name is refused. */
static void
test_invalid_name_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(
	    t_parse("{\"type\":\"nick\",\"room\":\"lobby\",\"seq\":1,\"time\":"
		    "\"" T_ISO "\",\"nick\":\"a-b_C9\",\"old\":\"bob\"}"),
	    0);
	assert_int_equal(t_parse("{\"type\":\"join\",\"room\":\"\",\"seq\":1,"
				 "\"time\":\"" T_ISO "\",\"nick\":\"a\"}"),
	    -1);
	assert_int_equal(
	    t_parse("{\"type\":\"join\",\"room\":\"lob by\",\"seq\":1,"
		    "\"time\":\"" T_ISO "\",\"nick\":\"a\"}"),
	    -1);
	assert_int_equal(
	    t_parse("{\"type\":\"join\",\"room\":"
		    "\"abcdefghijklmnopqrstuvwxyz0123456\",\"seq\":1,"
		    "\"time\":\"" T_ISO "\",\"nick\":\"a\"}"),
	    -1);
	assert_int_equal(
	    t_parse("{\"type\":\"join\",\"room\":\"lobby\",\"seq\":1,"
		    "\"time\":\"" T_ISO "\",\"nick\":\"\\u0061lice\"}"),
	    -1);
	assert_int_equal(
	    t_parse("{\"type\":\"join\",\"room\":\"lobby\",\"seq\":1,"
		    "\"time\":\"" T_ISO "\",\"nick\":\"al\xc3\xa9\"}"),
	    -1);
	assert_int_equal(
	    t_parse("{\"type\":\"nick\",\"room\":\"lobby\",\"seq\":1,\"time\":"
		    "\"" T_ISO "\",\"nick\":\"bobby\",\"old\":\"b.b\"}"),
	    -1);
}

/* The longest name, CHAT_NAME_MAX characters, is a name. */
static void
test_longest_name_round_trips(void **state)
{
	struct chat_event ev;

	(void)state;
	t_event(&ev, CHAT_NICK, NULL);
	strcpy(ev.ce_room, "abcdefghijklmnopqrstuvwxyz012345");
	strcpy(ev.ce_old, ev.ce_room);
	t_assert_round_trip(&ev, 0);
}

/* Build a join line whose seq is the JSON s into line; return it. */
static const char *
t_seq_line(char *line, size_t len, const char *s)
{
	snprintf(line, len,
	    "{\"type\":\"join\",\"room\":\"lobby\",\"seq\":%s,\"time\":\"" T_ISO
	    "\",\"nick\":\"alice\"}",
	    s);
	return line;
}

/* seq 0 is refused: sequence numbers start at 1. */
static void
test_seq_zero_is_rejected(void **state)
{
	char line[256];

	(void)state;
	assert_int_equal(t_parse(t_seq_line(line, sizeof(line), "1")), 0);
	assert_true(t_ev.ce_seq == 1);
	assert_int_equal(t_parse(t_seq_line(line, sizeof(line), "0")), -1);
}

/* A seq with a leading zero is refused. */
static void
test_seq_with_leading_zero_is_rejected(void **state)
{
	char line[256];

	(void)state;
	assert_int_equal(t_parse(t_seq_line(line, sizeof(line), "10")), 0);
	assert_int_equal(t_parse(t_seq_line(line, sizeof(line), "010")), -1);
	assert_int_equal(t_parse(t_seq_line(line, sizeof(line), "00")), -1);
}

/* The largest u64 is a seq; one more, or a longer number, is refused. */
static void
test_seq_past_u64_is_rejected(void **state)
{
	char line[256];

	(void)state;
	assert_int_equal(
	    t_parse(t_seq_line(line, sizeof(line), "18446744073709551615")), 0);
	assert_true(t_ev.ce_seq == UINT64_MAX);
	assert_int_equal(
	    t_parse(t_seq_line(line, sizeof(line), "18446744073709551616")),
	    -1);
	assert_int_equal(
	    t_parse(t_seq_line(line, sizeof(line), "99999999999999999999")),
	    -1);
	assert_int_equal(
	    t_parse(t_seq_line(line, sizeof(line), "184467440737095516150")),
	    -1);
}

/* A seq that is not a plain decimal integer is refused. */
static void
test_seq_not_an_integer_is_rejected(void **state)
{
	static const char *const bad[] = {
	    "-1", "+1", "1.0", "1e3", "\"12\"", "", " 12", "0x10", "true"};
	char line[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    t_parse(t_seq_line(line, sizeof(line), bad[i])), -1);
}

/* A time that is not chatfmt's form, or no real UTC time, is refused. */
static void
test_bad_time_is_rejected(void **state)
{
	static const char *const bad[] = {
	    "2026-12-05T21:07:04Z",	     /* no milliseconds */
	    "2026-12-05T21:07:04.12Z",	     /* two digits */
	    "2026-12-05T21:07:04.1234Z",     /* four digits */
	    "2026-12-05T21:07:04.123+00:00", /* an offset */
	    "2026-12-05T21:07:04.123",	     /* no zone */
	    "2026-12-05t21:07:04.123Z",	     /* lower case */
	    "2026-12-05T21:07:04.123z",	     /* lower case */
	    "2026-12-05 21:07:04.123Z",	     /* a space */
	    "2026-13-05T21:07:04.123Z",	     /* month 13 */
	    "2026-00-05T21:07:04.123Z",	     /* month 0 */
	    "2026-12-32T21:07:04.123Z",	     /* day 32 */
	    "2026-12-00T21:07:04.123Z",	     /* day 0 */
	    "2026-04-31T21:07:04.123Z",	     /* April 31 */
	    "2023-02-29T21:07:04.123Z",	     /* not a leap year */
	    "2100-02-29T21:07:04.123Z",	     /* a century */
	    "2026-12-05T24:00:00.000Z",	     /* hour 24 */
	    "2026-12-05T21:60:04.123Z",	     /* minute 60 */
	    "2016-12-31T23:59:60.000Z",	     /* a leap second */
	    "1969-12-31T23:59:59.999Z",	     /* before unix time */
	    "+2026-12-05T21:07:04.123Z",     /* a sign */
	    "2026-1-05T21:07:04.123Z",	     /* one digit */
	    "",
	};
	char line[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line),
		    "{\"type\":\"join\",\"room\":\"lobby\",\"seq\":1,"
		    "\"time\":\"%s\",\"nick\":\"alice\"}",
		    bad[i]);
		assert_int_equal(t_parse(line), -1);
	}
	assert_int_equal(t_parse("{\"type\":\"join\",\"room\":\"lobby\","
				 "\"seq\":1,\"time\":1796504824123,"
				 "\"nick\":\"alice\"}"),
	    -1);
}

/* A line without one of its type's keys is refused. */
static void
test_missing_key_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(t_parse(T_HEAD("message") "}"), -1);
	assert_int_equal(t_parse(T_HEAD("me") "}"), -1);
	assert_int_equal(t_parse(T_HEAD("nick") "}"), -1);
	assert_int_equal(t_parse("{\"type\":\"join\",\"room\":\"lobby\","
				 "\"time\":\"" T_ISO "\",\"nick\":\"alice\"}"),
	    -1);
	assert_int_equal(t_parse("{\"type\":\"join\",\"room\":\"lobby\","
				 "\"seq\":12,\"nick\":\"alice\"}"),
	    -1);
	assert_int_equal(t_parse("{\"type\":\"join\",\"room\":\"lobby\","
				 "\"seq\":12,\"time\":\"" T_ISO "\"}"),
	    -1);
	assert_int_equal(t_parse("{\"room\":\"lobby\",\"seq\":12,\"time\":"
				 "\"" T_ISO "\",\"nick\":\"alice\"}"),
	    -1);
	assert_int_equal(t_parse(""), -1);
	assert_int_equal(t_parse("{}"), -1);
}

/* A key chatfmt does not write for the type, or any other, is refused. */
static void
test_extra_key_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(t_parse(T_HEAD("join") "}"), 0);
	assert_int_equal(t_parse(T_HEAD("join") ",\"x\":1}"), -1);
	assert_int_equal(t_parse(T_HEAD("join") ",\"text\":\"hi\"}"), -1);
	assert_int_equal(t_parse(T_HEAD("leave") ",\"old\":\"bob\"}"), -1);
	assert_int_equal(t_parse(T_TEXT("hi") ",\"x\":1}"), -1);
	assert_int_equal(t_parse(T_HEAD("join") ",\"history\":false}"), -1);
	assert_int_equal(t_parse(T_HEAD("join") ",\"history\":true,"
						"\"history\":true}"),
	    -1);
	assert_int_equal(
	    t_parse(T_HEAD("nick") ",\"old\":\"bob\",\"text\":\"hi\"}"), -1);
}

/* A key given twice is refused, even with the same value. */
static void
test_duplicate_key_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(t_parse("{\"type\":\"join\",\"type\":\"join\","
				 "\"room\":\"lobby\",\"seq\":12,\"time\":"
				 "\"" T_ISO "\",\"nick\":\"alice\"}"),
	    -1);
	assert_int_equal(t_parse("{\"type\":\"join\",\"room\":\"lobby\","
				 "\"seq\":12,\"seq\":12,\"time\":"
				 "\"" T_ISO "\",\"nick\":\"alice\"}"),
	    -1);
	assert_int_equal(t_parse(T_HEAD("join") ",\"nick\":\"alice\"}"), -1);
	assert_int_equal(t_parse(T_TEXT("hi") ",\"text\":\"hi\"}"), -1);
	assert_int_equal(
	    t_parse(T_HEAD("nick") ",\"old\":\"bob\",\"old\":\"bob\"}"), -1);
}

/* "old" belongs to nick events only: a message with one is refused. */
static void
test_old_on_a_message_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(
	    t_parse(T_HEAD("message") ",\"old\":\"bob\",\"text\":\"hi\"}"), -1);
	assert_int_equal(
	    t_parse(T_HEAD("message") ",\"text\":\"hi\",\"old\":\"bob\"}"), -1);
	assert_int_equal(
	    t_parse(T_HEAD("me") ",\"old\":\"bob\",\"text\":\"hi\"}"), -1);
}

/* The keys come in chatfmt's order only (the order chosen here). */
static void
test_keys_out_of_order_are_rejected(void **state)
{
	(void)state;
	assert_int_equal(t_parse("{\"room\":\"lobby\",\"type\":\"join\","
				 "\"seq\":12,\"time\":\"" T_ISO "\","
				 "\"nick\":\"alice\"}"),
	    -1);
	assert_int_equal(t_parse("{\"type\":\"join\",\"room\":\"lobby\","
				 "\"seq\":12,\"nick\":\"alice\",\"time\":"
				 "\"" T_ISO "\"}"),
	    -1);
	assert_int_equal(t_parse("{\"type\":\"nick\",\"room\":\"lobby\","
				 "\"seq\":12,\"time\":\"" T_ISO "\","
				 "\"old\":\"bob\",\"nick\":\"bobby\"}"),
	    -1);
}

/* White space, which chatfmt never writes, is refused anywhere. */
static void
test_white_space_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(t_parse(" " T_HEAD("join") "}"), -1);
	assert_int_equal(t_parse(T_HEAD("join") " }"), -1);
	assert_int_equal(t_parse(T_HEAD("join") "} "), -1);
	assert_int_equal(t_parse("{ \"type\":\"join\",\"room\":\"lobby\","
				 "\"seq\":12,\"time\":\"" T_ISO "\","
				 "\"nick\":\"alice\"}"),
	    -1);
	assert_int_equal(t_parse("{\"type\":\"join\",\"room\":\"lobby\","
				 "\"seq\": 12,\"time\":\"" T_ISO "\","
				 "\"nick\":\"alice\"}"),
	    -1);
}

/* Anything after the closing brace, or a line cut short, is refused. */
static void
test_truncated_or_trailing_bytes_are_rejected(void **state)
{
	struct chat_event ev;
	char line[512];
	size_t n, i;

	(void)state;
	t_event(&ev, CHAT_NICK, NULL);
	n = strlen(t_render(&ev, 0));
	memcpy(line, t_json, n);
	assert_int_equal(t_parse_n(line, n), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(t_parse_n(line, i), -1);
	memcpy(line + n, "}", 1);
	assert_int_equal(t_parse_n(line, n + 1), -1);
	memcpy(line + n, "\n", 1);
	assert_int_equal(t_parse_n(line, n + 1), -1);
	memcpy(line + n, "\0", 1);
	assert_int_equal(t_parse_n(line, n + 1), -1);
}

/* An escape JSON does not have, or a cut one, is refused. */
static void
test_bad_escape_is_rejected(void **state)
{
	static const char *const bad[] = {
	    T_TEXT("\\x41"),
	    T_TEXT("\\'"),
	    T_TEXT("\\U0041"),
	    T_TEXT("\\u004"),
	    T_TEXT("\\u12G4"),
	    T_TEXT("\\u 041"),
	    T_TEXT("\\"),
	    T_TEXT("\\0"),
	    T_HEAD("message") ",\"text\":\"ab\\",
	};
	size_t i;

	(void)state;
	assert_int_equal(
	    t_parse(T_TEXT("\\\" \\\\ \\/ \\b \\f \\n \\r \\t")), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(t_parse(bad[i]), -1);
}

/* A control character in a text must be escaped: raw, it is refused. */
static void
test_raw_control_in_text_is_rejected(void **state)
{
	char line[256];
	size_t n;
	int c;

	(void)state;
	for (c = 0; c < 0x20; c++) {
		n = (size_t)snprintf(line, sizeof(line), "%s", T_TEXT("a?b"));
		*strchr(line, '?') = (char)c;
		assert_int_equal(t_parse_n(line, n), -1);
	}
	assert_int_equal(t_parse(T_TEXT("a\x7f"
					"b")),
	    0); /* DEL needs no escape in JSON */
}

/* A surrogate escape that is not half of a pair is refused. */
static void
test_lone_surrogate_is_rejected(void **state)
{
	static const char *const bad[] = {
	    T_TEXT("\\ud83d"),	      /* a high one at the end */
	    T_TEXT("\\ud83dx"),	      /* and a character */
	    T_TEXT("\\ud83d\\u0041"), /* and another escape */
	    T_TEXT("\\ud83d\\ud83d"), /* two high ones */
	    T_TEXT("\\ude00"),	      /* a low one */
	    T_TEXT("\\ude00\\ud83d"), /* a pair the wrong way round */
	    T_TEXT("\\ud83d\\n"),     /* a high one and another escape */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(t_parse(bad[i]), -1);
}

/* Raw bytes that are not valid UTF-8 are refused. */
static void
test_invalid_utf8_in_text_is_rejected(void **state)
{
	static const char *const bad[] = {
	    T_TEXT("\xc3"),		/* cut short */
	    T_TEXT("\xc3x"),		/* cut short */
	    T_TEXT("\xc0\x80"),		/* overlong */
	    T_TEXT("\xed\xa0\x80"),	/* a surrogate */
	    T_TEXT("\xf4\x90\x80\x80"), /* past U+10FFFF */
	    T_TEXT("\x80"),		/* a lone continuation byte */
	    T_TEXT("\xff"),
	    T_TEXT("\xc3\\u00a9"), /* a lead byte, then an escape */
	};
	size_t i;

	(void)state;
	assert_int_equal(t_parse(T_TEXT("\xc3\xa9")), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(t_parse(bad[i]), -1);
}

/*
 * Build in t_json a message line whose text is count copies of the JSON
 * piece, then the JSON tail; return its length.
 */
static size_t
t_text_line(const char *piece, size_t count, const char *tail)
{
	size_t n, k, i;

	n = (size_t)snprintf(
	    t_json, sizeof(t_json), "%s", T_HEAD("message") ",\"text\":\"");
	k = strlen(piece);
	for (i = 0; i < count; i++, n += k)
		memcpy(t_json + n, piece, k);
	n += (size_t)snprintf(t_json + n, sizeof(t_json) - n, "%s\"}", tail);
	return n;
}

/* A text that decodes to more than CHAT_TEXT_MAX bytes is refused. */
static void
test_text_over_chat_text_max_is_rejected(void **state)
{
	size_t n;

	(void)state;
	n = t_text_line("a", CHAT_TEXT_MAX, "");
	assert_int_equal(t_parse_n(t_json, n), 0);
	assert_int_equal(t_ev.ce_text_len, CHAT_TEXT_MAX);
	n = t_text_line("a", CHAT_TEXT_MAX, "a");
	assert_int_equal(t_parse_n(t_json, n), -1);
	n = t_text_line("\\u00e9", CHAT_TEXT_MAX / 2, "");
	assert_int_equal(t_parse_n(t_json, n), 0);
	n = t_text_line("\\u00e9", CHAT_TEXT_MAX / 2, "\\n");
	assert_int_equal(t_parse_n(t_json, n), -1);
	n = t_text_line("a", CHAT_TEXT_MAX - 2, "\\ud83d\\ude00");
	assert_int_equal(t_parse_n(t_json, n), -1);
	n = t_text_line("a", CHAT_TEXT_MAX - 2, "\xc3\xa9");
	assert_int_equal(t_parse_n(t_json, n), 0);
	n = t_text_line("a", CHAT_TEXT_MAX - 2, "\xf0\x9f\x98\x80");
	assert_int_equal(t_parse_n(t_json, n), -1);
}

/* A text that does not fit the caller's smaller buffer is refused. */
static void
test_text_over_textlen_is_rejected(void **state)
{
	struct chat_event ev;
	char small[5];
	static const char line[] = T_TEXT("hello");

	(void)state;
	assert_int_equal(transcript_parse_line(
			     line, sizeof(line) - 1, &ev, small, sizeof(small)),
	    0);
	assert_ptr_equal(ev.ce_text, small);
	assert_memory_equal(small, "hello", 5);
	assert_int_equal(
	    transcript_parse_line(line, sizeof(line) - 1, &ev, small, 4), -1);
}

/* transcript_open() creates the file, mode 0640. */
static void
test_open_creates_the_file_with_mode_0640(void **state)
{
	struct stat st;
	mode_t old;
	int fd;

	(void)state;
	old = umask(022);
	fd = transcript_open(t_path("mode"));
	umask(old);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

/* transcript_open() of a path it cannot create fails with errno. */
static void
test_open_of_a_bad_path_fails(void **state)
{
	(void)state;
	errno = 0;
	assert_int_equal(transcript_open(t_path("none/transcript")), -1);
	assert_int_equal(errno, ENOENT);
}

/* An append writes chatfmt_json()'s line and "\n", after what was there. */
static void
test_append_writes_the_json_line(void **state)
{
	struct chat_event ev;
	char want[512], got[512];
	const char *path;
	FILE *fp;
	size_t n;
	int fd;

	(void)state;
	path = t_write_file("append", "", 0);
	assert_true((fd = transcript_open(path)) >= 0);
	t_event(&ev, CHAT_JOIN, NULL);
	assert_int_equal(transcript_append(fd, &ev), 0);
	t_event(&ev, CHAT_MESSAGE, "tab\there \xe2\x80\xa8");
	ev.ce_seq = 13;
	assert_int_equal(transcript_append(fd, &ev), 0);
	close(fd);

	t_event(&ev, CHAT_JOIN, NULL);
	n = (size_t)snprintf(want, sizeof(want), "%s\n", t_render(&ev, 0));
	t_event(&ev, CHAT_MESSAGE, "tab\there \xe2\x80\xa8");
	ev.ce_seq = 13;
	n += (size_t)snprintf(
	    want + n, sizeof(want) - n, "%s\n", t_render(&ev, 0));
	assert_non_null(fp = fopen(path, "r"));
	assert_int_equal(fread(got, 1, sizeof(got), fp), n);
	fclose(fp);
	assert_memory_equal(got, want, n);
}

/*
 * An event that would not read back as it is (seq 0, a bad name, text
 * over CHAT_TEXT_MAX or not UTF-8, a time past 9999) is refused with
 * EINVAL and nothing written.
 */
static void
test_append_refuses_what_would_not_read_back(void **state)
{
	struct chat_event ev;
	const char *path;
	int fd, i;

	(void)state;
	path = t_write_file("refuse", "", 0);
	assert_true((fd = transcript_open(path)) >= 0);
	for (i = 0; i < 6; i++) {
		t_event(&ev, CHAT_MESSAGE, "hi");
		if (i == 0)
			ev.ce_seq = 0;
		else if (i == 1)
			strcpy(ev.ce_nick, "al ice");
		else if (i == 2)
			t_event_n(&ev, CHAT_MESSAGE, t_big, CHAT_TEXT_MAX + 1);
		else if (i == 3)
			t_event(&ev, CHAT_MESSAGE, "caf\xe9");
		else if (i == 4)
			ev.ce_time_ms = T_TIME_MAX + 1;
		else
			ev.ce_type = (enum chat_type)0;
		errno = 0;
		assert_int_equal(transcript_append(fd, &ev), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(t_size(path), 0);
	t_event(&ev, CHAT_MESSAGE, "hi");
	ev.ce_time_ms = T_TIME_MAX;
	assert_int_equal(transcript_append(fd, &ev), 0);
	close(fd);
	assert_true(t_size(path) > 0);
}

/*
 * A short write (the file size limit reached mid-line) is EIO, and its
 * bytes are taken back: the file is as before, and appends go on.
 */
static void
test_short_write_is_eio_and_taken_back(void **state)
{
	struct chat_event ev;
	struct rlimit old, lim;
	struct t_got got;
	unsigned long bad;
	void (*old_handler)(int);
	const char *path;
	off_t size;
	int fd, rc, err;

	(void)state;
	path = t_write_file("short", "", 0);
	assert_true((fd = transcript_open(path)) >= 0);
	t_event(&ev, CHAT_MESSAGE, "first");
	ev.ce_seq = 1;
	assert_int_equal(transcript_append(fd, &ev), 0);
	size = t_size(path);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 10;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ev.ce_seq = 2;
	rc = transcript_append(fd, &ev);
	err = errno;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);

	assert_int_equal(rc, -1);
	assert_int_equal(err, EIO);
	assert_true(t_size(path) == size);
	assert_int_equal(transcript_append(fd, &ev), 0);
	close(fd);
	assert_int_equal(t_restore(path, &got, &bad), 2);
	assert_int_equal(bad, 0);
	assert_true(got.tg_in_order);
}

/*
 * transcript_open() ends a torn last line, so that the next event is a
 * line of its own: the torn line alone is lost.
 */
static void
test_open_ends_a_torn_last_line(void **state)
{
	static const char torn[] = "{\"type\":\"message\",\"room\":\"lo";
	struct chat_event ev;
	struct t_got got;
	unsigned long bad;
	const char *path;
	FILE *fp;
	int fd;

	(void)state;
	assert_non_null(fp = fopen(t_path("torn-open"), "w"));
	t_event(&ev, CHAT_JOIN, NULL);
	ev.ce_seq = 1;
	t_put_event(fp, &ev);
	t_put(fp, torn);
	fclose(fp);

	path = t_path("torn-open");
	assert_true((fd = transcript_open(path)) >= 0);
	t_event(&ev, CHAT_MESSAGE, "after the crash");
	ev.ce_seq = 2;
	assert_int_equal(transcript_append(fd, &ev), 0);
	close(fd);
	assert_true((fd = transcript_open(path)) >= 0); /* ends in "\n" now */
	close(fd);

	assert_int_equal(t_restore(path, &got, &bad), 2);
	assert_int_equal(bad, 1);
	t_assert_same(&got.tg_ev[1], &ev);
}

/*
 * A restore gives the events in file order, skipping and counting a
 * garbage line in the middle and a torn last line.
 */
static void
test_restore_skips_torn_and_garbage_lines_in_order(void **state)
{
	struct chat_event ev[4];
	struct t_got got;
	unsigned long bad;
	FILE *fp;
	int i;

	(void)state;
	t_event(&ev[0], CHAT_JOIN, NULL);
	t_event(&ev[1], CHAT_MESSAGE, "\"quoted\"\n\xf0\x9f\x98\x80");
	t_event(&ev[2], CHAT_NICK, NULL);
	t_event(&ev[3], CHAT_ME, "waves");
	assert_non_null(fp = fopen(t_path("restore"), "w"));
	for (i = 0; i < 4; i++) {
		ev[i].ce_seq = (uint64_t)i + 1;
		t_put_event(fp, &ev[i]);
		if (i == 1)
			t_put(fp, "garbage \x01\xff{\"type\":\n");
	}
	t_put(fp, "{\"type\":\"message\",\"room\":\"lobby\",\"seq\":5,\"ti");
	fclose(fp);

	assert_int_equal(t_restore(t_path("restore"), &got, &bad), 4);
	assert_int_equal(bad, 2);
	for (i = 0; i < 4; i++)
		t_assert_same(&got.tg_ev[i], &ev[i]);
}

/*
 * A last line complete but for its "\n" is an event: the same as once
 * transcript_open() has ended it.
 */
static void
test_restore_takes_a_last_line_without_newline(void **state)
{
	struct chat_event ev;
	struct t_got got;
	unsigned long bad;
	const char *path;

	(void)state;
	t_event(&ev, CHAT_LEAVE, NULL);
	t_render(&ev, 0);
	path = t_write_file("no-newline", t_json, strlen(t_json));
	assert_int_equal(t_restore(path, &got, &bad), 1);
	assert_int_equal(bad, 0);
	t_assert_same(&got.tg_ev[0], &ev);
}

/* Blank lines and CRLF line ends: a blank is bad, CRLF is fine. */
static void
test_restore_counts_blank_lines_and_takes_crlf(void **state)
{
	struct chat_event ev;
	struct t_got got;
	unsigned long bad;
	FILE *fp;

	(void)state;
	assert_non_null(fp = fopen(t_path("crlf"), "w"));
	t_event(&ev, CHAT_JOIN, NULL);
	t_put(fp, "\n");
	t_put(fp, t_render(&ev, 0));
	t_put(fp, "\r\n\r\n");
	fclose(fp);
	assert_int_equal(t_restore(t_path("crlf"), &got, &bad), 1);
	assert_int_equal(bad, 2);
	t_assert_same(&got.tg_ev[0], &ev);
}

/* A missing transcript is an empty one: 0 events, 0 bad, no error. */
static void
test_restore_of_a_missing_file_is_zero(void **state)
{
	struct t_got got;
	unsigned long bad;

	(void)state;
	assert_int_equal(t_restore(t_path("missing"), &got, &bad), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(got.tg_n, 0);
	assert_int_equal(
	    transcript_restore(t_path("missing"), t_collect, &got, NULL), 0);
}

/* A transcript that cannot be read is an error, with errno. */
static void
test_restore_of_an_unreadable_file_fails(void **state)
{
	struct t_got got;
	unsigned long bad;

	(void)state;
	errno = 0;
	assert_int_equal(t_restore(t_dir, &got, &bad), -1); /* a directory */
	assert_int_equal(errno, EISDIR);
	assert_int_equal(got.tg_n, 0);
}

/* A file many read blocks long gives every event, in order. */
static void
test_restore_reads_a_file_of_many_blocks(void **state)
{
	struct chat_event ev;
	struct t_got got;
	unsigned long bad;
	char text[64];
	FILE *fp;
	int i;

	(void)state;
	assert_non_null(fp = fopen(t_path("many"), "w"));
	for (i = 0; i < T_MANY; i++) {
		snprintf(text, sizeof(text), "event \\ \"%d\" \xc3\xa9", i);
		t_event(&ev, t_types[i % T_NTYPES], text);
		ev.ce_seq = (uint64_t)i + 1;
		ev.ce_time_ms = T_TIME + (uint64_t)i;
		t_put_event(fp, &ev);
	}
	fclose(fp);
	assert_true(t_size(t_path("many")) > 4 * 64 * 1024);
	assert_int_equal(t_restore(t_path("many"), &got, &bad), T_MANY);
	assert_int_equal(bad, 0);
	assert_true(got.tg_in_order);
	assert_true(got.tg_last_seq == T_MANY);
}

/* Write to fp a garbage line of n bytes, its "\n" included. */
static void
t_put_garbage(FILE *fp, size_t n)
{
	char *line;

	assert_non_null(line = malloc(n));
	memset(line, 'x', n - 1);
	line[n - 1] = '\n';
	assert_int_equal(fwrite(line, 1, n, fp), n);
	free(line);
}

/*
 * The longest line that can parse (a message of CHAT_TEXT_MAX escaped
 * bytes, the longest names and seq, with history, ending in CRLF) is
 * restored. It comes after a garbage line of T_BLOCK bytes, so that the
 * reader's first read (a longest line and a block) ends at its "\r": the
 * start of a line kept whole is at its longest there.
 */
static void
test_restore_takes_the_longest_valid_line(void **state)
{
	struct chat_event ev;
	struct t_got got;
	unsigned long bad;
	FILE *fp;

	(void)state;
	memset(t_big, '\x01', CHAT_TEXT_MAX);
	t_event_n(&ev, CHAT_MESSAGE, t_big, CHAT_TEXT_MAX);
	strcpy(ev.ce_room, "abcdefghijklmnopqrstuvwxyz012345");
	strcpy(ev.ce_nick, ev.ce_room);
	ev.ce_seq = UINT64_MAX;
	assert_int_equal(strlen(t_render(&ev, 1)), CHATFMT_JSON_MAX - 1);

	assert_non_null(fp = fopen(t_path("longest"), "w"));
	t_put_garbage(fp, T_BLOCK);
	t_put(fp, t_json);
	t_put(fp, "\r\n");
	t_put_garbage(fp, CHATFMT_JSON_MAX + 2); /* a byte too long */
	t_put(fp, t_render(&ev, 0));
	fclose(fp);
	assert_int_equal(t_restore(t_path("longest"), &got, &bad), 2);
	assert_int_equal(bad, 2);
}

/* Return the peak resident set of this process, KiB. */
static long
t_max_rss(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

/*
 * Write to fp a line of T_LONG bytes of garbage that ends as a whole
 * event would (seq 99), then "\n" if newline.
 */
static void
t_put_long_line(FILE *fp, int newline)
{
	struct chat_event ev;
	char *chunk;
	size_t i;

	assert_non_null(chunk = malloc(1 << 20));
	memset(chunk, 'a', 1 << 20);
	for (i = 0; i < T_LONG >> 20; i++)
		assert_int_equal(fwrite(chunk, 1, 1 << 20, fp), 1 << 20);
	free(chunk);
	t_event(&ev, CHAT_JOIN, NULL);
	ev.ce_seq = 99;
	t_put(fp, t_render(&ev, 0));
	if (newline)
		t_put(fp, "\n");
}

/*
 * A line of 32 MiB is skipped as one bad line, whatever its end looks
 * like, the lines around it read, without the restore's memory growing with it
 * (the peak RSS of this process grows by far less than the line; nothing before
 * in this file peaks higher).
 */
static void
test_restore_skips_a_very_long_line_with_bounded_memory(void **state)
{
	struct chat_event ev;
	struct t_got got;
	unsigned long bad;
	long before;
	FILE *fp;

	(void)state;
	assert_non_null(fp = fopen(t_path("long"), "w"));
	t_event(&ev, CHAT_JOIN, NULL);
	ev.ce_seq = 1;
	t_put_event(fp, &ev);
	t_put_long_line(fp, 1);
	ev.ce_seq = 2;
	t_put_event(fp, &ev);
	t_put_long_line(fp, 0); /* and a torn one at the end */
	fclose(fp);

	before = t_max_rss();
	assert_int_equal(t_restore(t_path("long"), &got, &bad), 2);
	assert_true(t_max_rss() - before < 8 * 1024);
	assert_int_equal(bad, 2);
	assert_true(got.tg_in_order);
	assert_true(got.tg_last_seq == 2);
	unlink(t_path("long"));
}

/*
 * The end of a line too long to parse is dropped with it, even when it
 * looks like an event. Here the garbage before it fills the reader's
 * buffer (a longest line and a block, as in transcript.c) exactly twice,
 * so that the event-like end starts a read of its own.
 */
static void
test_restore_drops_the_end_of_a_long_line_that_looks_like_an_event(void **state)
{
	struct chat_event ev;
	struct t_got got;
	unsigned long bad;
	char *garbage;
	size_t n;
	FILE *fp;

	(void)state;
	n = 2 * (CHATFMT_JSON_MAX + T_BLOCK);
	assert_non_null(garbage = malloc(n));
	memset(garbage, 'x', n);
	assert_non_null(fp = fopen(t_path("long-end"), "w"));
	assert_int_equal(fwrite(garbage, 1, n, fp), n);
	free(garbage);
	t_event(&ev, CHAT_JOIN, NULL);
	ev.ce_seq = 99;
	t_put_event(fp, &ev);
	ev.ce_seq = 1;
	t_put_event(fp, &ev);
	fclose(fp);
	assert_int_equal(t_restore(t_path("long-end"), &got, &bad), 1);
	assert_int_equal(bad, 1);
	assert_true(got.tg_last_seq == 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_event_type_round_trips),
	    cmocka_unit_test(test_history_line_round_trips),
	    cmocka_unit_test(test_empty_text_round_trips),
	    cmocka_unit_test(test_text_with_every_escape_class_round_trips),
	    cmocka_unit_test(test_every_ascii_byte_round_trips),
	    cmocka_unit_test(test_longest_text_round_trips),
	    cmocka_unit_test(test_escapes_written_by_hand_are_decoded),
	    cmocka_unit_test(test_time_is_converted_to_unix_ms),
	    cmocka_unit_test(test_random_times_round_trip),
	    cmocka_unit_test(test_one_trailing_cr_is_tolerated),
	    cmocka_unit_test(test_unknown_type_is_rejected),
	    cmocka_unit_test(test_invalid_name_is_rejected),
	    cmocka_unit_test(test_longest_name_round_trips),
	    cmocka_unit_test(test_seq_zero_is_rejected),
	    cmocka_unit_test(test_seq_with_leading_zero_is_rejected),
	    cmocka_unit_test(test_seq_past_u64_is_rejected),
	    cmocka_unit_test(test_seq_not_an_integer_is_rejected),
	    cmocka_unit_test(test_bad_time_is_rejected),
	    cmocka_unit_test(test_missing_key_is_rejected),
	    cmocka_unit_test(test_extra_key_is_rejected),
	    cmocka_unit_test(test_duplicate_key_is_rejected),
	    cmocka_unit_test(test_old_on_a_message_is_rejected),
	    cmocka_unit_test(test_keys_out_of_order_are_rejected),
	    cmocka_unit_test(test_white_space_is_rejected),
	    cmocka_unit_test(test_truncated_or_trailing_bytes_are_rejected),
	    cmocka_unit_test(test_bad_escape_is_rejected),
	    cmocka_unit_test(test_raw_control_in_text_is_rejected),
	    cmocka_unit_test(test_lone_surrogate_is_rejected),
	    cmocka_unit_test(test_invalid_utf8_in_text_is_rejected),
	    cmocka_unit_test(test_text_over_chat_text_max_is_rejected),
	    cmocka_unit_test(test_text_over_textlen_is_rejected),
	    cmocka_unit_test(test_open_creates_the_file_with_mode_0640),
	    cmocka_unit_test(test_open_of_a_bad_path_fails),
	    cmocka_unit_test(test_append_writes_the_json_line),
	    cmocka_unit_test(test_append_refuses_what_would_not_read_back),
	    cmocka_unit_test(test_short_write_is_eio_and_taken_back),
	    cmocka_unit_test(test_open_ends_a_torn_last_line),
	    cmocka_unit_test(
		test_restore_skips_torn_and_garbage_lines_in_order),
	    cmocka_unit_test(test_restore_takes_a_last_line_without_newline),
	    cmocka_unit_test(test_restore_counts_blank_lines_and_takes_crlf),
	    cmocka_unit_test(test_restore_of_a_missing_file_is_zero),
	    cmocka_unit_test(test_restore_of_an_unreadable_file_fails),
	    cmocka_unit_test(test_restore_reads_a_file_of_many_blocks),
	    cmocka_unit_test(test_restore_takes_the_longest_valid_line),
	    cmocka_unit_test(
		test_restore_skips_a_very_long_line_with_bounded_memory),
	    cmocka_unit_test(
		test_restore_drops_the_end_of_a_long_line_that_looks_like_an_event),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
