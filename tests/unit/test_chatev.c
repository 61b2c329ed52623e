/*
 * Unit tests for chatev.c: the chat event record, encoded and decoded,
 * and the name rule.
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

#define T_HEAD_LEN	 (1 + 8 + 8) /* type, seq, time */
#define T_GARBAGE_ROUNDS 200000
#define T_GUARD		 0xa5 /* fills buffers, to see what was written */

static const enum chat_type t_types[] = {
    CHAT_MESSAGE, CHAT_ME, CHAT_JOIN, CHAT_LEAVE, CHAT_NICK};

#define T_NTYPES (sizeof(t_types) / sizeof(t_types[0]))

/* A record as large as any, and one byte more, for hand-built input. */
static unsigned char t_rec[CHATEV_MAX + 64];

/* Fill ev with a typical event of the type. */
static void
t_sample(struct chat_event *ev, enum chat_type type)
{
	memset(ev, 0, sizeof(*ev));
	ev->ce_type = type;
	ev->ce_seq = 12;
	ev->ce_time_ms = 1796504824123ULL;
	strcpy(ev->ce_room, "lobby");
	strcpy(ev->ce_nick, "alice");
	if (type == CHAT_NICK)
		strcpy(ev->ce_old, "bob");
	if (type == CHAT_MESSAGE || type == CHAT_ME) {
		ev->ce_text = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
		ev->ce_text_len = strlen(ev->ce_text);
	}
}

/*
 * Decode buf[0..len) from an exact-size heap copy, so that a read past
 * len touches memory that is not the input's. Return what decode did.
 * The decoded text, if any, is copied to text (room for CHAT_TEXT_MAX).
 */
static int
t_decode_exact(const void *buf, size_t len, struct chat_event *ev)
{
	static char text[CHAT_TEXT_MAX];
	unsigned char *copy;
	int rc;

	copy = malloc(len == 0 ? 1 : len);
	assert_non_null(copy);
	memcpy(copy, buf, len);
	rc = chatev_decode(len == 0 ? copy + 1 : copy, len, ev);
	if (rc == 0 && ev->ce_text != NULL) {
		assert_true(ev->ce_text >= (const char *)copy &&
		    ev->ce_text + ev->ce_text_len <= (const char *)copy + len);
		memcpy(text, ev->ce_text, ev->ce_text_len);
		ev->ce_text = text;
	}
	free(copy);
	return rc;
}

/* Assert that two events hold the same fields. */
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
	if (a->ce_text_len > 0)
		assert_memory_equal(a->ce_text, b->ce_text, a->ce_text_len);
}

/* Append n bytes at p to t_rec at *pos, a test-side encoder. */
static void
t_put(size_t *pos, const void *p, size_t n)
{
	memcpy(t_rec + *pos, p, n);
	*pos += n;
}

/* Start a hand-built record in t_rec: the type byte, seq and time. */
static size_t
t_put_head(unsigned type)
{
	uint64_t seq = 7, time_ms = 1796504824123ULL;
	uint8_t t = (uint8_t)type;
	size_t pos = 0;

	t_put(&pos, &t, 1);
	t_put(&pos, &seq, 8);
	t_put(&pos, &time_ms, 8);
	return pos;
}

/* Append a name field of the n bytes at s to t_rec at *pos. */
static void
t_put_name(size_t *pos, const char *s, size_t n)
{
	uint8_t len = (uint8_t)n;

	t_put(pos, &len, 1);
	t_put(pos, s, n);
}

/* Append a text field of the n bytes at s to t_rec at *pos. */
static void
t_put_text(size_t *pos, const char *s, size_t n)
{
	uint16_t len = (uint16_t)n;

	t_put(pos, &len, 2);
	t_put(pos, s, n);
}

/*
 * Hand-build a record of the type in t_rec with the given room, nick,
 * old (CHAT_NICK only) and text (text types only); return its length.
 */
static size_t
t_build(unsigned type, const char *room, size_t room_len, const char *nick,
    size_t nick_len, const char *old, size_t old_len, const char *text,
    size_t text_len)
{
	size_t pos;

	pos = t_put_head(type);
	t_put_name(&pos, room, room_len);
	t_put_name(&pos, nick, nick_len);
	if (type == CHAT_NICK)
		t_put_name(&pos, old, old_len);
	if (type == CHAT_MESSAGE || type == CHAT_ME)
		t_put_text(&pos, text, text_len);
	return pos;
}

/* Hand-build a message record with the text s[0..n); return its length. */
static size_t
t_build_message(const char *s, size_t n)
{
	return t_build(CHAT_MESSAGE, "lobby", 5, "alice", 5, NULL, 0, s, n);
}

/* Every type survives an encode and a decode, fields unchanged. */
static void
test_round_trip_every_type(void **state)
{
	unsigned char buf[CHATEV_MAX];
	struct chat_event ev, out;
	size_t i, n;

	(void)state;
	for (i = 0; i < T_NTYPES; i++) {
		t_sample(&ev, t_types[i]);
		n = chatev_encode(&ev, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(n, chatev_size(&ev));
		memset(&out, 0x5a, sizeof(out));
		assert_int_equal(t_decode_exact(buf, n, &out), 0);
		t_assert_same(&ev, &out);
	}
}

/* Seq and time keep every bit, 0 and the largest value too. */
static void
test_round_trip_keeps_extreme_numbers(void **state)
{
	static const uint64_t vals[] = {0, 1, UINT32_MAX, UINT64_MAX};
	unsigned char buf[CHATEV_MAX];
	struct chat_event ev, out;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		t_sample(&ev, CHAT_JOIN);
		ev.ce_seq = vals[i];
		ev.ce_time_ms = vals[sizeof(vals) / sizeof(vals[0]) - 1 - i];
		n = chatev_encode(&ev, buf, sizeof(buf));
		assert_int_equal(t_decode_exact(buf, n, &out), 0);
		t_assert_same(&ev, &out);
	}
}

/* A message with an empty text is an event; its text decodes empty. */
static void
test_round_trip_empty_text(void **state)
{
	unsigned char buf[CHATEV_MAX];
	struct chat_event ev, out;
	size_t n;

	(void)state;
	t_sample(&ev, CHAT_ME);
	ev.ce_text = NULL;
	ev.ce_text_len = 0;
	n = chatev_encode(&ev, buf, sizeof(buf));
	assert_int_equal(n, T_HEAD_LEN + 6 + 6 + 2);
	assert_int_equal(t_decode_exact(buf, n, &out), 0);
	assert_int_equal(out.ce_text_len, 0);
}

/* The encoder writes the documented layout, byte for byte. */
static void
test_encoding_is_the_documented_layout(void **state)
{
	unsigned char buf[CHATEV_MAX];
	struct chat_event ev;
	size_t n, want;

	(void)state;
	t_sample(&ev, CHAT_MESSAGE);
	ev.ce_seq = 7;
	ev.ce_text = "hi";
	ev.ce_text_len = 2;
	n = chatev_encode(&ev, buf, sizeof(buf));
	want = t_build_message("hi", 2);
	assert_int_equal(n, want);
	assert_memory_equal(buf, t_rec, n);

	t_sample(&ev, CHAT_NICK);
	ev.ce_seq = 7;
	n = chatev_encode(&ev, buf, sizeof(buf));
	want = t_build(CHAT_NICK, "lobby", 5, "alice", 5, "bob", 3, NULL, 0);
	assert_int_equal(n, want);
	assert_memory_equal(buf, t_rec, n);

	t_sample(&ev, CHAT_LEAVE);
	ev.ce_seq = 7;
	n = chatev_encode(&ev, buf, sizeof(buf));
	want = t_build(CHAT_LEAVE, "lobby", 5, "alice", 5, NULL, 0, NULL, 0);
	assert_int_equal(n, want);
	assert_int_equal(n, T_HEAD_LEN + 6 + 6);
	assert_memory_equal(buf, t_rec, n);
}

/* The longest event, a message at every bound, is exactly CHATEV_MAX. */
static void
test_largest_event_is_chatev_max(void **state)
{
	static char text[CHAT_TEXT_MAX];
	unsigned char buf[CHATEV_MAX];
	struct chat_event ev, out;
	size_t n;

	(void)state;
	t_sample(&ev, CHAT_MESSAGE);
	memset(ev.ce_room, 'r', CHAT_NAME_MAX);
	memset(ev.ce_nick, 'n', CHAT_NAME_MAX);
	memset(text, 'x', sizeof(text));
	ev.ce_text = text;
	ev.ce_text_len = sizeof(text);
	n = chatev_encode(&ev, buf, sizeof(buf));
	assert_int_equal(n, CHATEV_MAX);
	assert_int_equal(chatev_size(&ev), CHATEV_MAX);
	assert_int_equal(t_decode_exact(buf, n, &out), 0);
	t_assert_same(&ev, &out);

	t_sample(&ev, CHAT_NICK);
	memset(ev.ce_room, 'r', CHAT_NAME_MAX);
	memset(ev.ce_nick, 'n', CHAT_NAME_MAX);
	memset(ev.ce_old, 'o', CHAT_NAME_MAX);
	assert_true(chatev_size(&ev) < CHATEV_MAX);
}

/* Too small a buffer gets 0, and nothing is written past its length. */
static void
test_encode_into_small_buffer_fails_within_it(void **state)
{
	unsigned char buf[CHATEV_MAX];
	struct chat_event ev;
	size_t i, n, len;

	(void)state;
	for (i = 0; i < T_NTYPES; i++) {
		t_sample(&ev, t_types[i]);
		n = chatev_size(&ev);
		for (len = 0; len < n; len++) {
			memset(buf, T_GUARD, sizeof(buf));
			if (chatev_encode(&ev, buf, len) != 0)
				fail_msg("type %d fits in %zu of %zu",
				    (int)t_types[i], len, n);
			assert_int_equal(buf[len], T_GUARD);
		}
		assert_int_equal(chatev_encode(&ev, buf, n), n);
	}
}

/* Assert that ev is refused by both chatev_encode() and chatev_size(). */
static void
t_assert_refused(const struct chat_event *ev, const char *what)
{
	unsigned char buf[CHATEV_MAX];

	if (chatev_encode(ev, buf, sizeof(buf)) != 0)
		fail_msg("encoded: %s", what);
	if (chatev_size(ev) != 0)
		fail_msg("sized: %s", what);
}

/* An unknown type is not encoded. */
static void
test_encode_refuses_unknown_type(void **state)
{
	struct chat_event ev;

	(void)state;
	t_sample(&ev, CHAT_JOIN);
	ev.ce_type = (enum chat_type)0;
	t_assert_refused(&ev, "type 0");
	ev.ce_type = (enum chat_type)(CHAT_NICK + 1);
	t_assert_refused(&ev, "type past CHAT_NICK");
}

/* A room, nick or old nick that is not a name is not encoded. */
static void
test_encode_refuses_invalid_names(void **state)
{
	static const char *const bad[] = {"", "a b", "a/b", "a.b",
	    "caf\xc3\xa9", "123456789012345678901234567890123"};
	struct chat_event ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t_sample(&ev, CHAT_NICK);
		snprintf(ev.ce_room, sizeof(ev.ce_room), "%s", bad[i]);
		if (strlen(bad[i]) > CHAT_NAME_MAX) /* no NUL in the array */
			memset(ev.ce_room, 'a', sizeof(ev.ce_room));
		t_assert_refused(&ev, "room");
		t_sample(&ev, CHAT_NICK);
		snprintf(ev.ce_nick, sizeof(ev.ce_nick), "%s", bad[i]);
		if (strlen(bad[i]) > CHAT_NAME_MAX)
			memset(ev.ce_nick, 'a', sizeof(ev.ce_nick));
		t_assert_refused(&ev, "nick");
		t_sample(&ev, CHAT_NICK);
		snprintf(ev.ce_old, sizeof(ev.ce_old), "%s", bad[i]);
		if (strlen(bad[i]) > CHAT_NAME_MAX)
			memset(ev.ce_old, 'a', sizeof(ev.ce_old));
		t_assert_refused(&ev, "old");
	}
}

/* Only a nick change carries an old nick, and only messages a text. */
static void
test_encode_refuses_fields_of_other_types(void **state)
{
	struct chat_event ev;
	size_t i;

	(void)state;
	for (i = 0; i < T_NTYPES; i++) {
		if (t_types[i] == CHAT_NICK)
			continue;
		t_sample(&ev, t_types[i]);
		strcpy(ev.ce_old, "bob");
		t_assert_refused(&ev, "old nick on another type");
	}
	t_sample(&ev, CHAT_JOIN);
	ev.ce_text = "hi";
	ev.ce_text_len = 2;
	t_assert_refused(&ev, "text on a join");
	t_sample(&ev, CHAT_NICK);
	ev.ce_text = "hi";
	ev.ce_text_len = 2;
	t_assert_refused(&ev, "text on a nick change");
}

/* A text over CHAT_TEXT_MAX, or not UTF-8, or NULL, is not encoded. */
static void
test_encode_refuses_bad_text(void **state)
{
	static char text[CHAT_TEXT_MAX + 1];
	struct chat_event ev;

	(void)state;
	memset(text, 'x', sizeof(text));
	t_sample(&ev, CHAT_MESSAGE);
	ev.ce_text = text;
	ev.ce_text_len = sizeof(text);
	t_assert_refused(&ev, "text over the bound");
	ev.ce_text = "a\xe2\x82";
	ev.ce_text_len = 3;
	t_assert_refused(&ev, "text ends mid-sequence");
	ev.ce_text = "\xc0\xaf";
	ev.ce_text_len = 2;
	t_assert_refused(&ev, "overlong");
	ev.ce_text = NULL;
	ev.ce_text_len = 1;
	t_assert_refused(&ev, "NULL text");
}

/* The name rule: 1 to 32 of A-Za-z0-9_- and nothing else. */
static void
test_name_valid_accepts_exactly_the_rule(void **state)
{
	char name[CHAT_NAME_MAX + 2];
	int c, want;

	(void)state;
	assert_true(chatev_name_valid("a", 1));
	assert_true(chatev_name_valid(
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", CHAT_NAME_MAX));
	assert_true(chatev_name_valid("ghijklmnopqrstuvwxyz0123456789_-", 32));
	assert_false(chatev_name_valid("", 0));
	memset(name, 'a', sizeof(name));
	assert_true(chatev_name_valid(name, CHAT_NAME_MAX));
	assert_false(chatev_name_valid(name, CHAT_NAME_MAX + 1));
	for (c = 0; c < 256; c++) {
		want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-';
		name[0] = 'x';
		name[1] = (char)c;
		if (chatev_name_valid(name, 2) != want)
			fail_msg("byte 0x%02x: want %d", c, want);
	}
}

/* The name rule reads only the length it is given, not up to a NUL. */
static void
test_name_valid_reads_only_its_length(void **state)
{
	(void)state;
	assert_true(chatev_name_valid("bob!", 3));
	assert_false(chatev_name_valid("bob\0", 4));
}

/* A first byte other than a known type is rejected. */
static void
test_decode_rejects_unknown_type(void **state)
{
	static const unsigned char bad[] = {0, CHAT_NICK + 1, 0x7f, 0x80, 0xff};
	unsigned char buf[CHATEV_MAX];
	struct chat_event ev;
	size_t n, i;

	(void)state;
	t_sample(&ev, CHAT_JOIN);
	n = chatev_encode(&ev, buf, sizeof(buf));
	for (i = 0; i < sizeof(bad); i++) {
		buf[0] = bad[i];
		if (t_decode_exact(buf, n, &ev) != -1)
			fail_msg("type %u accepted", bad[i]);
	}
}

/* Empty input is rejected. */
static void
test_decode_rejects_empty_input(void **state)
{
	struct chat_event ev;

	(void)state;
	assert_int_equal(t_decode_exact("", 0, &ev), -1);
}

/* Every proper prefix of a valid encoding of every type is rejected. */
static void
test_decode_rejects_every_truncated_prefix(void **state)
{
	unsigned char buf[CHATEV_MAX];
	struct chat_event ev, out;
	size_t i, n, len;

	(void)state;
	for (i = 0; i < T_NTYPES; i++) {
		t_sample(&ev, t_types[i]);
		n = chatev_encode(&ev, buf, sizeof(buf));
		for (len = 0; len < n; len++)
			if (t_decode_exact(buf, len, &out) != -1)
				fail_msg("type %d: prefix %zu of %zu accepted",
				    (int)t_types[i], len, n);
	}
}

/* A valid encoding followed by any byte is rejected. */
static void
test_decode_rejects_trailing_bytes(void **state)
{
	unsigned char buf[CHATEV_MAX + 2];
	struct chat_event ev;
	size_t i, n;

	(void)state;
	for (i = 0; i < T_NTYPES; i++) {
		t_sample(&ev, t_types[i]);
		n = chatev_encode(&ev, buf, CHATEV_MAX);
		buf[n] = 'x';
		buf[n + 1] = 0;
		assert_int_equal(t_decode_exact(buf, n + 1, &ev), -1);
		assert_int_equal(t_decode_exact(buf, n + 2, &ev), -1);
	}
}

/*
 * Hand-build a nick change whose field-th name (0 room, 1 nick, 2 old) is
 * s[0..n), the others valid; return its length.
 */
static size_t
t_build_nick_with(int field, const char *s, size_t n)
{
	return t_build(CHAT_NICK, field == 0 ? s : "lobby", field == 0 ? n : 5,
	    field == 1 ? s : "alice", field == 1 ? n : 5,
	    field == 2 ? s : "bob", field == 2 ? n : 3, NULL, 0);
}

/*
 * A room, nick or old nick field that is not a name is rejected: empty,
 * over 32, any byte outside the rule (NUL too).
 */
static void
test_decode_rejects_invalid_names(void **state)
{
	char name[CHAT_NAME_MAX + 1];
	struct chat_event ev;
	size_t len;
	int field, c, ok;

	(void)state;
	for (field = 0; field < 3; field++) {
		memset(name, 'a', sizeof(name));
		for (c = 0; c < 256; c++) {
			name[1] = (char)c;
			ok = chatev_name_valid(name, 2);
			len = t_build_nick_with(field, name, 2);
			if (t_decode_exact(t_rec, len, &ev) != (ok ? 0 : -1))
				fail_msg("field %d, byte 0x%02x", field, c);
		}
		memset(name, 'a', sizeof(name));
		len = t_build_nick_with(field, name, CHAT_NAME_MAX + 1);
		assert_int_equal(t_decode_exact(t_rec, len, &ev), -1);
		len = t_build_nick_with(field, name, 0);
		assert_int_equal(t_decode_exact(t_rec, len, &ev), -1);
		len = t_build_nick_with(field, name, CHAT_NAME_MAX);
		assert_int_equal(t_decode_exact(t_rec, len, &ev), 0);
	}
}

/* Types other than a nick change have no old nick: it decodes as "". */
static void
test_decode_other_types_have_no_old_nick(void **state)
{
	struct chat_event ev;
	size_t len;

	(void)state;
	len = t_build(CHAT_JOIN, "lobby", 5, "alice", 5, NULL, 0, NULL, 0);
	memset(&ev, 'z', sizeof(ev));
	assert_int_equal(t_decode_exact(t_rec, len, &ev), 0);
	assert_string_equal(ev.ce_old, "");
	assert_null(ev.ce_text);
	assert_int_equal(ev.ce_text_len, 0);
	/* An old nick after a join is a trailing field. */
	t_put_name(&len, "bob", 3);
	assert_int_equal(t_decode_exact(t_rec, len, &ev), -1);
}

/* A text one byte over CHAT_TEXT_MAX is rejected; at the bound it is not. */
static void
test_decode_rejects_text_over_bound(void **state)
{
	static char text[CHAT_TEXT_MAX + 1];
	struct chat_event ev;
	size_t len;

	(void)state;
	memset(text, 'x', sizeof(text));
	len = t_build_message(text, CHAT_TEXT_MAX + 1);
	assert_int_equal(t_decode_exact(t_rec, len, &ev), -1);
	len = t_build_message(text, CHAT_TEXT_MAX);
	assert_int_equal(t_decode_exact(t_rec, len, &ev), 0);
	assert_int_equal(ev.ce_text_len, CHAT_TEXT_MAX);
}

/* A text length past the end of the input is rejected. */
static void
test_decode_rejects_text_length_past_input(void **state)
{
	struct chat_event ev;
	size_t len;
	uint16_t n;

	(void)state;
	len = t_build_message("hello", 5);
	n = 6;
	memcpy(t_rec + len - 7, &n, sizeof(n));
	assert_int_equal(t_decode_exact(t_rec, len, &ev), -1);
	n = UINT16_MAX;
	memcpy(t_rec + len - 7, &n, sizeof(n));
	assert_int_equal(t_decode_exact(t_rec, len, &ev), -1);
}

/* A text that is not valid UTF-8 is rejected, in every way it can fail. */
static void
test_decode_rejects_invalid_utf8_text(void **state)
{
	static const char *const bad[] = {
	    "\x80",		/* a lone continuation byte */
	    "a\xbf",		/* one after ASCII */
	    "\xc3",		/* a sequence cut by the end */
	    "\xe2\x82",		/* the same, three bytes */
	    "\xf0\x9f\x98",	/* the same, four bytes */
	    "\xc3x",		/* a sequence cut by ASCII */
	    "\xc0\xaf",		/* overlong '/' */
	    "\xc1\xbf",		/* overlong */
	    "\xe0\x80\xaf",	/* overlong, three bytes */
	    "\xf0\x80\x80\xaf", /* overlong, four bytes */
	    "\xed\xa0\x80",	/* a surrogate, U+D800 */
	    "\xed\xbf\xbf",	/* U+DFFF */
	    "\xf4\x90\x80\x80", /* past U+10FFFF */
	    "\xf5\x80\x80\x80", /* F5 */
	    "\xff",		/* FF */
	    "\xfe",		/* FE */
	};
	struct chat_event ev;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = t_build_message(bad[i], strlen(bad[i]));
		if (t_decode_exact(t_rec, len, &ev) != -1)
			fail_msg("text %zu accepted", i);
	}
}

/* Valid UTF-8 of every length, NUL and controls too, is accepted. */
static void
test_decode_accepts_any_valid_utf8_text(void **state)
{
	static const char text[] = "\0\x01\x1b[2J\x7f"
				   "\xc2\x80\xc2\x9b\xc3\xa9"
				   "\xe2\x80\xa8\xef\xbf\xbf"
				   "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf";
	struct chat_event ev;
	size_t len;

	(void)state;
	len = t_build_message(text, sizeof(text) - 1);
	assert_int_equal(t_decode_exact(t_rec, len, &ev), 0);
	assert_int_equal(ev.ce_text_len, sizeof(text) - 1);
	assert_memory_equal(ev.ce_text, text, sizeof(text) - 1);
}

/* A decoded text points into the record: it is not copied. */
static void
test_decode_text_points_into_record(void **state)
{
	struct chat_event ev;
	size_t len;

	(void)state;
	len = t_build_message("hello", 5);
	assert_int_equal(chatev_decode(t_rec, len, &ev), 0);
	assert_ptr_equal(ev.ce_text, (const char *)t_rec + len - 5);
	assert_int_equal(ev.ce_text_len, 5);
}

/*
 * Random bytes, and random changes to valid records, never make decode
 * read outside its input, and whatever decodes encodes back to the same
 * bytes: the encoding is canonical.
 */
static void
test_decode_garbage_is_safe_and_canonical(void **state)
{
	unsigned char buf[256], again[CHATEV_MAX];
	struct chat_event ev;
	size_t i, n, k, valid = 0;
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	(void)state;
	for (i = 0; i < T_GARBAGE_ROUNDS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t_sample(&ev, t_types[x % T_NTYPES]);
		n = chatev_encode(&ev, buf, sizeof(buf));
		for (k = 0; k < 1 + (x >> 8) % 3; k++)
			buf[(x >> (16 + 8 * k)) % n] = (unsigned char)(x >> 40);
		if (x >> 60 == 0)
			n = (size_t)(x >> 32) % n;
		if (t_decode_exact(buf, n, &ev) == 0) {
			valid++;
			assert_int_equal(
			    chatev_encode(&ev, again, sizeof(again)), n);
			assert_memory_equal(again, buf, n);
		}
	}
	assert_true(valid > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_every_type),
	    cmocka_unit_test(test_round_trip_keeps_extreme_numbers),
	    cmocka_unit_test(test_round_trip_empty_text),
	    cmocka_unit_test(test_encoding_is_the_documented_layout),
	    cmocka_unit_test(test_largest_event_is_chatev_max),
	    cmocka_unit_test(test_encode_into_small_buffer_fails_within_it),
	    cmocka_unit_test(test_encode_refuses_unknown_type),
	    cmocka_unit_test(test_encode_refuses_invalid_names),
	    cmocka_unit_test(test_encode_refuses_fields_of_other_types),
	    cmocka_unit_test(test_encode_refuses_bad_text),
	    cmocka_unit_test(test_name_valid_accepts_exactly_the_rule),
	    cmocka_unit_test(test_name_valid_reads_only_its_length),
	    cmocka_unit_test(test_decode_rejects_unknown_type),
	    cmocka_unit_test(test_decode_rejects_empty_input),
	    cmocka_unit_test(test_decode_rejects_every_truncated_prefix),
	    cmocka_unit_test(test_decode_rejects_trailing_bytes),
	    cmocka_unit_test(test_decode_rejects_invalid_names),
	    cmocka_unit_test(test_decode_other_types_have_no_old_nick),
	    cmocka_unit_test(test_decode_rejects_text_over_bound),
	    cmocka_unit_test(test_decode_rejects_text_length_past_input),
	    cmocka_unit_test(test_decode_rejects_invalid_utf8_text),
	    cmocka_unit_test(test_decode_accepts_any_valid_utf8_text),
	    cmocka_unit_test(test_decode_text_points_into_record),
	    cmocka_unit_test(test_decode_garbage_is_safe_and_canonical),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
