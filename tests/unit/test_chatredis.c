/*
 * Unit tests for chatredis.c: a chat event as the fields of a Redis
 * stream entry and back, read strictly, and entry IDs as sequence
 * numbers.
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

#define T_ME	0x0123456789abcdefULL /* the reading hub's instance */
#define T_OTHER 0xfedcba9876543210ULL /* another instance */
#define T_TEXT	"h\xc3\xa9llo \xe2\x82\xac"
#define T_MAXF	16 /* field strings a hand-built entry has, at most */

/* A hand-built entry: its field and value strings. */
struct t_entry {
	const char *te_argv[T_MAXF];
	size_t te_len[T_MAXF];
	size_t te_n;
};

/* An event of type type from member 7 of slot 3, conn 99, pid 1234. */
static struct chat_out
t_event(enum chat_type type)
{
	struct chat_out out;

	memset(&out, 0, sizeof(out));
	out.co_kind = CHATOUT_EVENT;
	out.co_slot = 3;
	out.co_pid = 1234;
	out.co_conn = 99;
	out.co_member = 7;
	out.co_ev.ce_type = type;
	out.co_ev.ce_time_ms = 1796543712276ULL;
	snprintf(out.co_ev.ce_nick, sizeof(out.co_ev.ce_nick), "alice");
	if (type == CHAT_NICK)
		snprintf(out.co_ev.ce_old, sizeof(out.co_ev.ce_old), "al");
	if (type == CHAT_MESSAGE || type == CHAT_ME) {
		out.co_ev.ce_text = T_TEXT;
		out.co_ev.ce_text_len = strlen(T_TEXT);
	}
	if (type == CHAT_JOIN)
		out.co_flags = CHATOUT_NICK_TAKEN;
	return out;
}

/* What an entry of room "lobby", number 42, is read as by instance me. */
static struct chatredis_entry
t_where(uint64_t me)
{
	struct chatredis_entry en = {"lobby", 42, me, 4096};

	return en;
}

/* Encode out from instance from into e. */
static void
t_encode(const struct chat_out *out, uint64_t from, struct t_entry *e,
    struct chatredis_fields *f)
{
	size_t i;

	e->te_n = (size_t)chatredis_encode(out, from, f);
	for (i = 0; i < e->te_n; i++) {
		e->te_argv[i] = f->cf_argv[i];
		e->te_len[i] = f->cf_len[i];
	}
}

/* Build an entry from NUL-terminated strings, NULL-ended. */
static void
t_build(struct t_entry *e, ...)
{
	const char *s;
	va_list ap;

	e->te_n = 0;
	va_start(ap, e);
	while ((s = va_arg(ap, const char *)) != NULL && e->te_n < T_MAXF) {
		e->te_argv[e->te_n] = s;
		e->te_len[e->te_n++] = strlen(s);
	}
	va_end(ap);
}

/* Decode e as read by instance me; 0 or -1. */
static int
t_decode(const struct t_entry *e, uint64_t me, struct chat_out *out)
{
	struct chatredis_entry en = t_where(me);

	return chatredis_decode(e->te_argv, e->te_len, e->te_n, &en, out);
}

/* A valid message from another instance, but for one field's value. */
static void
t_message_with(struct t_entry *e, const char *field, const char *value)
{
	static const char *const names[] = {
	    "type", "nick", "text", "time", "origin"};
	static const char *const values[] = {"message", "bob", "hi",
	    "1796543712276", "fedcba9876543210:1:2:3:4:0"};
	size_t i;

	e->te_n = 0;
	for (i = 0; i < 5; i++) {
		e->te_argv[e->te_n] = names[i];
		e->te_len[e->te_n++] = strlen(names[i]);
		e->te_argv[e->te_n] =
		    strcmp(names[i], field) == 0 ? value : values[i];
		e->te_len[e->te_n] = strlen(e->te_argv[e->te_n]);
		e->te_n++;
	}
}

/* Every type reads back as it was written, with room and number. */
static void
test_every_type_round_trips(void **state)
{
	static const enum chat_type types[] = {
	    CHAT_MESSAGE, CHAT_ME, CHAT_JOIN, CHAT_LEAVE, CHAT_NICK};
	struct chatredis_fields f;
	struct chat_out in, out;
	struct t_entry e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		in = t_event(types[i]);
		t_encode(&in, T_ME, &e, &f);
		assert_int_equal(t_decode(&e, T_ME, &out), 0);
		assert_int_equal(out.co_kind, CHATOUT_EVENT);
		assert_int_equal(out.co_ev.ce_type, types[i]);
		assert_int_equal(out.co_ev.ce_seq, 42);
		assert_int_equal(out.co_ev.ce_time_ms, in.co_ev.ce_time_ms);
		assert_string_equal(out.co_ev.ce_room, "lobby");
		assert_string_equal(out.co_ev.ce_nick, "alice");
		assert_string_equal(out.co_ev.ce_old, in.co_ev.ce_old);
		assert_int_equal(out.co_ev.ce_text_len, in.co_ev.ce_text_len);
		if (in.co_ev.ce_text_len > 0)
			assert_memory_equal(
			    out.co_ev.ce_text, T_TEXT, strlen(T_TEXT));
	}
}

/* This instance's own event comes back addressed to its client. */
static void
test_own_origin_is_kept(void **state)
{
	struct chat_out in = t_event(CHAT_JOIN), out;
	struct chatredis_fields f;
	struct t_entry e;

	(void)state;
	t_encode(&in, T_ME, &e, &f);
	assert_int_equal(t_decode(&e, T_ME, &out), 0);
	assert_int_equal(out.co_slot, 3);
	assert_int_equal(out.co_pid, 1234);
	assert_int_equal(out.co_conn, 99);
	assert_int_equal(out.co_member, 7);
	assert_int_equal(out.co_flags, CHATOUT_NICK_TAKEN);
}

/* Another instance's event is addressed to no client here. */
static void
test_other_origin_addresses_no_one(void **state)
{
	struct chat_out in = t_event(CHAT_JOIN), out;
	struct chatredis_fields f;
	struct t_entry e;

	(void)state;
	t_encode(&in, T_OTHER, &e, &f);
	assert_int_equal(t_decode(&e, T_ME, &out), 0);
	assert_int_equal(out.co_conn, 0);
	assert_int_equal(out.co_pid, 0);
	assert_int_equal(out.co_member, UINT32_MAX);
	assert_int_equal(out.co_flags, 0);
}

/* The fields are the documented names, as redis-cli shows them. */
static void
test_fields_are_readable(void **state)
{
	struct chat_out in = t_event(CHAT_NICK);
	struct chatredis_fields f;
	struct t_entry e;

	(void)state;
	t_encode(&in, T_ME, &e, &f);
	assert_int_equal(e.te_n, 10);
	assert_string_equal(e.te_argv[0], "type");
	assert_string_equal(e.te_argv[1], "nick");
	assert_string_equal(e.te_argv[2], "nick");
	assert_string_equal(e.te_argv[3], "alice");
	assert_string_equal(e.te_argv[4], "old");
	assert_string_equal(e.te_argv[5], "al");
	assert_string_equal(e.te_argv[6], "time");
	assert_string_equal(e.te_argv[7], "1796543712276");
	assert_string_equal(e.te_argv[8], "origin");
	assert_string_equal(e.te_argv[9], "0123456789abcdef:3:1234:99:7:0");
}

/* A field a later version may add is skipped; order does not matter. */
static void
test_unknown_field_skipped(void **state)
{
	struct chat_out out;
	struct t_entry e;

	(void)state;
	t_build(&e, "origin", "fedcba9876543210:1:2:3:4:0", "future", "x",
	    "time", "5", "text", "hi", "nick", "bob", "type", "message", NULL);
	assert_int_equal(t_decode(&e, T_ME, &out), 0);
	assert_int_equal(out.co_ev.ce_time_ms, 5);
}

/* An entry missing a field it needs is refused. */
static void
test_missing_fields_refused(void **state)
{
	struct chat_out out;
	struct t_entry e;

	(void)state;
	t_build(&e, "nick", "bob", "text", "hi", "time", "5", "origin",
	    "fedcba9876543210:1:2:3:4:0", NULL);
	assert_int_equal(t_decode(&e, T_ME, &out), -1);
	t_build(&e, "type", "message", "text", "hi", "time", "5", "origin",
	    "fedcba9876543210:1:2:3:4:0", NULL);
	assert_int_equal(t_decode(&e, T_ME, &out), -1);
	t_build(&e, "type", "message", "nick", "bob", "time", "5", "origin",
	    "fedcba9876543210:1:2:3:4:0", NULL);
	assert_int_equal(t_decode(&e, T_ME, &out), -1);
	t_build(&e, "type", "message", "nick", "bob", "text", "hi", "origin",
	    "fedcba9876543210:1:2:3:4:0", NULL);
	assert_int_equal(t_decode(&e, T_ME, &out), -1);
	t_build(&e, "type", "message", "nick", "bob", "text", "hi", "time", "5",
	    NULL);
	assert_int_equal(t_decode(&e, T_ME, &out), -1);
	t_build(&e, "type", "nick", "nick", "bob", "time", "5", "origin",
	    "fedcba9876543210:1:2:3:4:0", NULL);
	assert_int_equal(t_decode(&e, T_ME, &out), -1);
}

/* A field that the type does not have is refused. */
static void
test_fields_of_other_types_refused(void **state)
{
	struct chat_out out;
	struct t_entry e;

	(void)state;
	t_build(&e, "type", "join", "nick", "bob", "text", "hi", "time", "5",
	    "origin", "fedcba9876543210:1:2:3:4:0", NULL);
	assert_int_equal(t_decode(&e, T_ME, &out), -1);
	t_build(&e, "type", "message", "nick", "bob", "old", "al", "text", "hi",
	    "time", "5", "origin", "fedcba9876543210:1:2:3:4:0", NULL);
	assert_int_equal(t_decode(&e, T_ME, &out), -1);
}

/* A field given twice, or a name without its value, is refused. */
static void
test_repeated_or_odd_fields_refused(void **state)
{
	struct chat_out out;
	struct t_entry e;

	(void)state;
	t_message_with(&e, "", "");
	assert_int_equal(t_decode(&e, T_ME, &out), 0);
	e.te_argv[e.te_n] = "nick";
	e.te_len[e.te_n++] = 4;
	assert_int_equal(t_decode(&e, T_ME, &out), -1);
	e.te_argv[e.te_n] = "carol";
	e.te_len[e.te_n++] = 5;
	assert_int_equal(t_decode(&e, T_ME, &out), -1);
}

/* Bad values are refused: each a field of an otherwise valid message. */
static void
test_bad_values_refused(void **state)
{
	static const char *const bad[][2] = {
	    {"type", "shout"},
	    {"type", ""},
	    {"nick", ""},
	    {"nick", "bob smith"},
	    {"nick", "abcdefghijabcdefghijabcdefghijabc"},
	    {"text", "\xc3"},
	    {"text", "\xed\xa0\x80"},
	    {"time", ""},
	    {"time", "05"},
	    {"time", "12a"},
	    {"time", "18446744073709551616"},
	    {"origin", ""},
	    {"origin", "fedcba987654321:1:2:3:4:0"},
	    {"origin", "FEDCBA9876543210:1:2:3:4:0"},
	    {"origin", "fedcba9876543210:1:2:3:4"},
	    {"origin", "fedcba9876543210:1:2:3:4:0:5"},
	    {"origin", "fedcba9876543210:65536:2:3:4:0"},
	    {"origin", "fedcba9876543210:1:4294967296:3:4:0"},
	    {"origin", "fedcba9876543210:1:2:3:4:2"},
	    {"origin", "fedcba9876543210:01:2:3:4:0"},
	    {"origin", "fedcba9876543210:1::3:4:0"},
	    {"origin", "fedcba9876543210x1:2:3:4:0"},
	};
	struct chat_out out;
	struct t_entry e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t_message_with(&e, bad[i][0], bad[i][1]);
		if (t_decode(&e, T_ME, &out) != -1)
			fail_msg("%s = '%s' accepted", bad[i][0], bad[i][1]);
	}
}

/* A text longer than the reader's max_message_size is refused. */
static void
test_text_over_max_refused(void **state)
{
	static char text[4098]; /* 4,097 bytes and their NUL */
	struct chat_out out;
	struct t_entry e;

	(void)state;
	memset(text, 'x', 4096);
	t_message_with(&e, "text", text);
	assert_int_equal(t_decode(&e, T_ME, &out), 0);
	text[4096] = 'x';
	t_message_with(&e, "text", text);
	assert_int_equal(t_decode(&e, T_ME, &out), -1);
}

/* An empty text is a message (clients may send one). */
static void
test_empty_text_accepted(void **state)
{
	struct chat_out out;
	struct t_entry e;

	(void)state;
	t_message_with(&e, "text", "");
	assert_int_equal(t_decode(&e, T_ME, &out), 0);
	assert_int_equal(out.co_ev.ce_text_len, 0);
}

/*
 * Entry IDs are "<seq>-<n>", seq 1 to 2^53 - 1 (CHATREDIS_SEQ_MAX), decimal
 * without a leading 0.
 */
static void
test_id_is_sequence_number(void **state)
{
	static const char *const bad[] = {"0-0", "5", "-0", "5-", "05-0", "a-0",
	    "5-a", "9007199254740992-0", "18446744073709551615-0",
	    "18446744073709551616-0", ""};
	uint64_t seq;
	size_t i;

	(void)state;
	assert_int_equal(chatredis_id_seq("5-0", 3, &seq), 0);
	assert_int_equal(seq, 5);
	assert_int_equal(chatredis_id_seq("9007199254740991-0", 18, &seq), 0);
	assert_int_equal(seq, CHATREDIS_SEQ_MAX);
	assert_int_equal(chatredis_id_seq("7-1", 3, &seq), 0);
	assert_int_equal(seq, 7);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (chatredis_id_seq(bad[i], strlen(bad[i]), &seq) != -1)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(chatredis_id_seq("5-0xyz", 3, &seq), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_type_round_trips),
	    cmocka_unit_test(test_own_origin_is_kept),
	    cmocka_unit_test(test_other_origin_addresses_no_one),
	    cmocka_unit_test(test_fields_are_readable),
	    cmocka_unit_test(test_unknown_field_skipped),
	    cmocka_unit_test(test_missing_fields_refused),
	    cmocka_unit_test(test_fields_of_other_types_refused),
	    cmocka_unit_test(test_repeated_or_odd_fields_refused),
	    cmocka_unit_test(test_bad_values_refused),
	    cmocka_unit_test(test_text_over_max_refused),
	    cmocka_unit_test(test_empty_text_accepted),
	    cmocka_unit_test(test_id_is_sequence_number),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
