/*
 * Unit tests for chatmsg.c: the requests a worker puts in its chat-in
 * ring and the out-records the hub broadcasts (events, who replies,
 * errors), encoded and decoded.
 *
 * Expected bytes come from t_build_req() and t_build_out_*(), which lay
 * the records out by the table at the top of chatmsg.c, independently of
 * it; an event's own bytes come from chatev_encode() (test_chatev.c
 * covers those). Records are decoded from exact-size heap copies, so that
 * ASan sees a read past their end.
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

#define T_REQ_HEAD_LEN (1 + 1 + 4 + 8 + 4)	       /* op .. member */
#define T_OUT_HEAD_LEN (1 + 1 + 2 + 4 + 8 + 4 + 4 + 4) /* kind .. epoch */
#define T_GUARD	       0xa5	  /* fills buffers, to see what was written */
#define T_NONE	       UINT32_MAX /* no member (SHM_CHAT_NONE) */
#define T_CONN	       0x0123456789abcdefULL
#define T_TEXT	       "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"

#define T_N(a) (sizeof(a) / sizeof((a)[0]))

static const enum chatreq_op t_ops[] = {CHATREQ_JOIN, CHATREQ_LEAVE,
    CHATREQ_SAY, CHATREQ_ME, CHATREQ_NICK, CHATREQ_WHO};
static const enum chat_type t_types[] = {
    CHAT_MESSAGE, CHAT_ME, CHAT_JOIN, CHAT_LEAVE, CHAT_NICK};
static const enum chatout_error t_errors[] = {CHATERR_NICK_TAKEN,
    CHATERR_TOO_MANY_ROOMS, CHATERR_FULL, CHATERR_UNAVAILABLE};

/* A record as large as any, and more, for hand-built input. */
static unsigned char t_rec[CHATMSG_OUT_MAX + 64];
/* An encoder's output, with room to see what it wrote past its length. */
static unsigned char t_buf[CHATMSG_OUT_MAX + 64];
/* What a decoded record pointed at, copied before its buffer is freed. */
static char t_text[CHAT_TEXT_MAX + 1];
static char t_names[CHATMSG_WHO_MAX][CHAT_NAME_MAX + 1];
/* Names for who replies, and pointers to them. */
static char t_nick_store[CHATMSG_WHO_MAX + 1][CHAT_NAME_MAX + 1];
static const char *t_nicks[CHATMSG_WHO_MAX + 1];

/* The fields of a hand-built request: names and text as bytes. */
struct t_req_fields {
	unsigned tf_op;
	unsigned tf_flags;
	uint64_t tf_conn;
	const char *tf_room; /* tf_room_len bytes */
	size_t tf_room_len;
	const char *tf_nick; /* tf_nick_len bytes */
	size_t tf_nick_len;
	const char *tf_text; /* tf_text_len bytes, for SAY and ME */
	size_t tf_text_len;
};

/* Tell whether requests of op carry a text, by the layout. */
static int
t_has_text(unsigned op)
{
	return op == CHATREQ_SAY || op == CHATREQ_ME;
}

/* Fill req with a typical request of op. */
static void
t_req_sample(struct chat_req *req, enum chatreq_op op)
{
	memset(req, 0, sizeof(*req));
	req->cr_op = op;
	req->cr_pid = 4242;
	req->cr_conn = T_CONN;
	req->cr_member = op == CHATREQ_JOIN ? T_NONE : 17;
	if (op == CHATREQ_JOIN) {
		req->cr_flags = CHATMSG_TELNET;
		strcpy(req->cr_room, "lobby");
		strcpy(req->cr_nick, "alice");
	}
	if (op == CHATREQ_NICK)
		strcpy(req->cr_nick, "bob");
	if (t_has_text(op)) {
		req->cr_text = T_TEXT;
		req->cr_text_len = strlen(T_TEXT);
	}
}

/* The fields t_req_sample() gives op, for t_build_req(). */
static struct t_req_fields
t_req_fields(unsigned op)
{
	struct t_req_fields f = {op, 0, T_CONN, "", 0, "", 0, NULL, 0};

	if (op == CHATREQ_JOIN) {
		f.tf_flags = CHATMSG_TELNET;
		f.tf_room = "lobby";
		f.tf_room_len = 5;
		f.tf_nick = "alice";
		f.tf_nick_len = 5;
	}
	if (op == CHATREQ_NICK) {
		f.tf_nick = "bob";
		f.tf_nick_len = 3;
	}
	if (t_has_text(op)) {
		f.tf_text = T_TEXT;
		f.tf_text_len = strlen(T_TEXT);
	}
	return f;
}

/* Append n bytes at p to t_rec at *pos, a test-side encoder. */
static void
t_put(size_t *pos, const void *p, size_t n)
{
	memcpy(t_rec + *pos, p, n);
	*pos += n;
}

/* Append a name field of the n bytes at s to t_rec at *pos. */
static void
t_put_name(size_t *pos, const char *s, size_t n)
{
	uint8_t len = (uint8_t)n;

	t_put(pos, &len, 1);
	t_put(pos, s, n);
}

/* Hand-build the request f in t_rec (as t_req_sample()); its length. */
static size_t
t_build_req(const struct t_req_fields *f)
{
	uint8_t op = (uint8_t)f->tf_op, flags = (uint8_t)f->tf_flags;
	uint32_t pid = 4242, member = f->tf_op == CHATREQ_JOIN ? T_NONE : 17;
	uint16_t n = (uint16_t)f->tf_text_len;
	size_t pos = 0;

	t_put(&pos, &op, 1);
	t_put(&pos, &flags, 1);
	t_put(&pos, &pid, 4);
	t_put(&pos, &f->tf_conn, 8);
	t_put(&pos, &member, 4);
	t_put_name(&pos, f->tf_room, f->tf_room_len);
	t_put_name(&pos, f->tf_nick, f->tf_nick_len);
	if (t_has_text(f->tf_op)) {
		t_put(&pos, &n, 2);
		t_put(&pos, f->tf_text, f->tf_text_len);
	}
	return pos;
}

/*
 * Decode the request buf[0..len) from an exact-size heap copy, so that a
 * read past len touches memory that is not the input's. Return what
 * decode did; a decoded text is checked to lie inside the copy and is
 * copied to t_text.
 */
static int
t_req_decode_exact(const void *buf, size_t len, struct chat_req *req)
{
	unsigned char *copy;
	int rc;

	copy = malloc(len == 0 ? 1 : len);
	assert_non_null(copy);
	memcpy(copy, buf, len);
	rc = chatmsg_req_decode(len == 0 ? copy + 1 : copy, len, req);
	if (rc == 0 && req->cr_text != NULL) {
		assert_true(req->cr_text >= (const char *)copy &&
		    req->cr_text + req->cr_text_len <=
			(const char *)copy + len);
		memcpy(t_text, req->cr_text, req->cr_text_len);
		req->cr_text = t_text;
	}
	free(copy);
	return rc;
}

/* Assert that two requests hold the same fields. */
static void
t_req_assert_same(const struct chat_req *a, const struct chat_req *b)
{
	assert_int_equal(a->cr_op, b->cr_op);
	assert_int_equal(a->cr_flags, b->cr_flags);
	assert_int_equal(a->cr_pid, b->cr_pid);
	assert_true(a->cr_conn == b->cr_conn);
	assert_int_equal(a->cr_member, b->cr_member);
	assert_string_equal(a->cr_room, b->cr_room);
	assert_string_equal(a->cr_nick, b->cr_nick);
	assert_int_equal(a->cr_text_len, b->cr_text_len);
	if (a->cr_text_len > 0)
		assert_memory_equal(a->cr_text, b->cr_text, a->cr_text_len);
}

/* Encode req into t_buf, assert it round-trips, and return its size. */
static size_t
t_req_round_trip(const struct chat_req *req)
{
	struct chat_req out;
	size_t n;

	n = chatmsg_req_encode(req, t_buf, sizeof(t_buf));
	assert_true(n > 0);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(t_req_decode_exact(t_buf, n, &out), 0);
	t_req_assert_same(req, &out);
	return n;
}

/* Fill ev with a typical event of the type. */
static void
t_event_sample(struct chat_event *ev, enum chat_type type)
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
		ev->ce_text = T_TEXT;
		ev->ce_text_len = strlen(T_TEXT);
	}
}

/* Fill out with the head fields every sample out-record has. */
static void
t_out_head(struct chat_out *out, enum chatout_kind kind)
{
	memset(out, 0, sizeof(*out));
	out->co_kind = kind;
	out->co_slot = 3;
	out->co_pid = 4242;
	out->co_conn = T_CONN;
	out->co_member = 17;
	out->co_room = 5;
	out->co_epoch = 9;
}

/* Fill out with an event of the type (a join whose nick was taken). */
static void
t_out_event(struct chat_out *out, enum chat_type type)
{
	t_out_head(out, CHATOUT_EVENT);
	t_event_sample(&out->co_ev, type);
	if (type == CHAT_JOIN)
		out->co_flags = CHATOUT_NICK_TAKEN;
}

/* Fill out with a who reply of room "lobby" (the names go apart). */
static void
t_out_who(struct chat_out *out)
{
	t_out_head(out, CHATOUT_WHO);
	strcpy(out->co_ev.ce_room, "lobby");
}

/* Fill out with an error reply of code. */
static void
t_out_error(struct chat_out *out, enum chatout_error code)
{
	t_out_head(out, CHATOUT_ERROR);
	out->co_error = code;
	out->co_room = T_NONE;
}

/* Point t_nicks[0..n) at n distinct names of len characters each. */
static void
t_make_nicks(size_t n, int len)
{
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(
		    t_nick_store[i], sizeof(t_nick_store[i]), "%0*zu", len, i);
		t_nicks[i] = t_nick_store[i];
	}
}

/*
 * Decode the out-record buf[0..len) from an exact-size heap copy. Return
 * what decode did; what a decoded record points at is checked to lie
 * inside the copy and copied out: an event's text to t_text, a who
 * reply's names (through chatmsg_who_names()) to t_names, and co_nicks is
 * then NULL.
 */
static int
t_out_decode_exact(const void *buf, size_t len, struct chat_out *out)
{
	static const char *names[CHATMSG_WHO_MAX];
	const char *end;
	unsigned char *copy;
	size_t i, n;
	int rc;

	copy = malloc(len == 0 ? 1 : len);
	assert_non_null(copy);
	memcpy(copy, buf, len);
	end = (const char *)copy + len;
	rc = chatmsg_out_decode(len == 0 ? copy + 1 : copy, len, out);
	if (rc == 0 && out->co_ev.ce_text != NULL) {
		assert_true(out->co_ev.ce_text >= (const char *)copy &&
		    out->co_ev.ce_text + out->co_ev.ce_text_len <= end);
		memcpy(t_text, out->co_ev.ce_text, out->co_ev.ce_text_len);
		out->co_ev.ce_text = t_text;
	}
	if (rc == 0 && out->co_kind == CHATOUT_WHO) {
		n = chatmsg_who_names(out, names);
		assert_int_equal(n, out->co_nnicks);
		for (i = 0; i < n; i++) {
			assert_true(
			    names[i] >= (const char *)copy && names[i] < end);
			assert_non_null(
			    memchr(names[i], '\0', (size_t)(end - names[i])));
			snprintf(
			    t_names[i], sizeof(t_names[i]), "%s", names[i]);
		}
		out->co_nicks = NULL;
	}
	free(copy);
	return rc;
}

/* Assert that two out-records hold the same fields (not the names). */
static void
t_out_assert_same(const struct chat_out *a, const struct chat_out *b)
{
	assert_int_equal(a->co_kind, b->co_kind);
	assert_int_equal(a->co_flags, b->co_flags);
	assert_int_equal(a->co_slot, b->co_slot);
	assert_int_equal(a->co_pid, b->co_pid);
	assert_true(a->co_conn == b->co_conn);
	assert_int_equal(a->co_member, b->co_member);
	assert_int_equal(a->co_room, b->co_room);
	assert_int_equal(a->co_epoch, b->co_epoch);
	assert_int_equal(a->co_error, b->co_error);
	assert_string_equal(a->co_ev.ce_room, b->co_ev.ce_room);
	if (a->co_kind != CHATOUT_EVENT)
		return;
	assert_int_equal(a->co_ev.ce_type, b->co_ev.ce_type);
	assert_true(a->co_ev.ce_seq == b->co_ev.ce_seq);
	assert_true(a->co_ev.ce_time_ms == b->co_ev.ce_time_ms);
	assert_string_equal(a->co_ev.ce_nick, b->co_ev.ce_nick);
	assert_string_equal(a->co_ev.ce_old, b->co_ev.ce_old);
	assert_int_equal(a->co_ev.ce_text_len, b->co_ev.ce_text_len);
	if (a->co_ev.ce_text_len > 0)
		assert_memory_equal(
		    a->co_ev.ce_text, b->co_ev.ce_text, a->co_ev.ce_text_len);
}

/*
 * Encode out (a who reply with t_nicks[0..n)) into t_buf, assert that it
 * round-trips, names too, and return its size.
 */
static size_t
t_out_round_trip(const struct chat_out *out, size_t n)
{
	struct chat_out back;
	size_t len, i;

	len = chatmsg_out_encode(out, t_nicks, n, t_buf, sizeof(t_buf));
	assert_true(len > 0);
	memset(&back, 0x5a, sizeof(back));
	assert_int_equal(t_out_decode_exact(t_buf, len, &back), 0);
	t_out_assert_same(out, &back);
	if (out->co_kind == CHATOUT_WHO) {
		assert_int_equal(back.co_nnicks, n);
		for (i = 0; i < n; i++)
			assert_string_equal(t_names[i], t_nicks[i]);
	}
	return len;
}

/* Hand-build t_out_head()'s head of kind with flags in t_rec. */
static size_t
t_build_out_head(unsigned kind, unsigned flags)
{
	uint8_t k = (uint8_t)kind, f = (uint8_t)flags;
	uint16_t slot = 3;
	uint32_t pid = 4242, member = 17, room = 5, epoch = 9;
	uint64_t conn = T_CONN;
	size_t pos = 0;

	t_put(&pos, &k, 1);
	t_put(&pos, &f, 1);
	t_put(&pos, &slot, 2);
	t_put(&pos, &pid, 4);
	t_put(&pos, &conn, 8);
	t_put(&pos, &member, 4);
	t_put(&pos, &room, 4);
	t_put(&pos, &epoch, 4);
	return pos;
}

/* Hand-build an event out-record of ev in t_rec; its length. */
static size_t
t_build_out_event(const struct chat_event *ev)
{
	size_t pos = t_build_out_head(CHATOUT_EVENT, 0), n;

	n = chatev_encode(ev, t_rec + pos, sizeof(t_rec) - pos);
	assert_true(n > 0);
	return pos + n;
}

/*
 * Hand-build a who reply in t_rec: room room[0..room_len), the count, and
 * names[0..n) each followed by the byte after[i]; return its length.
 */
static size_t
t_build_out_who(const char *room, size_t room_len, unsigned count,
    const char *const names[], size_t n, const char *after)
{
	size_t pos = t_build_out_head(CHATOUT_WHO, 0), i;
	uint16_t c = (uint16_t)count;

	t_put_name(&pos, room, room_len);
	t_put(&pos, &c, 2);
	for (i = 0; i < n; i++) {
		t_put_name(&pos, names[i], strlen(names[i]));
		t_put(&pos, &after[i], 1);
	}
	return pos;
}

/* Hand-build an error reply of code in t_rec; its length. */
static size_t
t_build_out_error(unsigned code)
{
	size_t pos = t_build_out_head(CHATOUT_ERROR, 0);
	uint8_t c = (uint8_t)code;

	t_put(&pos, &c, 1);
	return pos;
}

/* Every op survives an encode and a decode, fields unchanged. */
static void
test_request_round_trip_every_op(void **state)
{
	struct chat_req req;
	size_t i;

	(void)state;
	for (i = 0; i < T_N(t_ops); i++) {
		t_req_sample(&req, t_ops[i]);
		t_req_round_trip(&req);
	}
}

/* The request encoder writes the documented layout, for every op. */
static void
test_request_encoding_is_the_documented_layout(void **state)
{
	struct t_req_fields f;
	struct chat_req req;
	size_t i, n, want;

	(void)state;
	for (i = 0; i < T_N(t_ops); i++) {
		t_req_sample(&req, t_ops[i]);
		n = chatmsg_req_encode(&req, t_buf, sizeof(t_buf));
		f = t_req_fields(t_ops[i]);
		want = t_build_req(&f);
		assert_int_equal(n, want);
		assert_memory_equal(t_buf, t_rec, n);
	}
	t_req_sample(&req, CHATREQ_LEAVE);
	assert_int_equal(
	    chatmsg_req_encode(&req, t_buf, sizeof(t_buf)), T_REQ_HEAD_LEN + 2);
}

/* pid, conn and member keep every bit, at their extremes too. */
static void
test_request_round_trip_keeps_extreme_numbers(void **state)
{
	struct chat_req req;

	(void)state;
	t_req_sample(&req, CHATREQ_WHO);
	req.cr_pid = 0;
	req.cr_conn = 1;
	req.cr_member = 0;
	t_req_round_trip(&req);
	req.cr_pid = UINT32_MAX;
	req.cr_conn = UINT64_MAX;
	req.cr_member = UINT32_MAX;
	t_req_round_trip(&req);
}

/* A join without a nick (a guest) round-trips with an empty nick. */
static void
test_request_join_without_nick_round_trips(void **state)
{
	struct chat_req req;

	(void)state;
	t_req_sample(&req, CHATREQ_JOIN);
	req.cr_nick[0] = '\0';
	assert_int_equal(t_req_round_trip(&req), T_REQ_HEAD_LEN + 6 + 1);
}

/* A say or /me with an empty text round-trips with an empty text. */
static void
test_request_empty_text_round_trips(void **state)
{
	struct chat_req req;

	(void)state;
	t_req_sample(&req, CHATREQ_SAY);
	req.cr_text = "";
	req.cr_text_len = 0;
	assert_int_equal(t_req_round_trip(&req), T_REQ_HEAD_LEN + 2 + 2);
	t_req_sample(&req, CHATREQ_ME);
	req.cr_text_len = 0;
	assert_int_equal(t_req_round_trip(&req), T_REQ_HEAD_LEN + 2 + 2);
}

/* The longest names and text fit in CHATMSG_REQ_MAX and round-trip. */
static void
test_request_at_every_bound_fits_req_max(void **state)
{
	static char text[CHAT_TEXT_MAX];
	struct chat_req req;
	size_t n;

	(void)state;
	t_req_sample(&req, CHATREQ_JOIN);
	memset(req.cr_room, 'r', CHAT_NAME_MAX);
	memset(req.cr_nick, 'n', CHAT_NAME_MAX);
	n = t_req_round_trip(&req);
	assert_int_equal(n, T_REQ_HEAD_LEN + 2 * (1 + CHAT_NAME_MAX));
	assert_true(n <= CHATMSG_REQ_MAX);

	t_req_sample(&req, CHATREQ_SAY);
	memset(text, 'x', sizeof(text));
	req.cr_text = text;
	req.cr_text_len = sizeof(text);
	n = t_req_round_trip(&req);
	assert_int_equal(n, T_REQ_HEAD_LEN + 2 + 2 + CHAT_TEXT_MAX);
	assert_true(n <= CHATMSG_REQ_MAX);
}

/* Too small a buffer gets 0, and nothing is written past its length. */
static void
test_request_encode_into_small_buffer_fails_within_it(void **state)
{
	struct chat_req req;
	size_t i, n, len, k;

	(void)state;
	for (i = 0; i < T_N(t_ops); i++) {
		t_req_sample(&req, t_ops[i]);
		n = chatmsg_req_encode(&req, t_buf, sizeof(t_buf));
		for (len = 0; len < n; len++) {
			memset(t_buf, T_GUARD, n + 1);
			if (chatmsg_req_encode(&req, t_buf, len) != 0)
				fail_msg("op %d fits in %zu of %zu",
				    (int)t_ops[i], len, n);
			for (k = len; k <= n; k++)
				if (t_buf[k] != T_GUARD)
					fail_msg("op %d, len %zu: byte %zu "
						 "written",
					    (int)t_ops[i], len, k);
		}
		memset(t_buf, T_GUARD, n + 1);
		assert_int_equal(chatmsg_req_encode(&req, t_buf, n), n);
		assert_int_equal(t_buf[n], T_GUARD);
	}
}

/* Assert that req is not encoded, whatever the room. */
static void
t_req_assert_refused(const struct chat_req *req, const char *what)
{
	if (chatmsg_req_encode(req, t_buf, sizeof(t_buf)) != 0)
		fail_msg("encoded: %s", what);
}

/* An op outside CHATREQ_JOIN .. CHATREQ_WHO is not encoded. */
static void
test_request_encode_refuses_unknown_op(void **state)
{
	struct chat_req req;

	(void)state;
	t_req_sample(&req, CHATREQ_WHO);
	req.cr_op = (enum chatreq_op)0;
	t_req_assert_refused(&req, "op 0");
	req.cr_op = (enum chatreq_op)(CHATREQ_WHO + 1);
	t_req_assert_refused(&req, "op past CHATREQ_WHO");
	req.cr_op = (enum chatreq_op)(0x100 + CHATREQ_JOIN);
	t_req_assert_refused(&req, "op whose low byte is a known one");
}

/* A request of connection 0 is not encoded, whatever its op. */
static void
test_request_encode_refuses_zero_conn(void **state)
{
	struct chat_req req;
	size_t i;

	(void)state;
	for (i = 0; i < T_N(t_ops); i++) {
		t_req_sample(&req, t_ops[i]);
		req.cr_conn = 0;
		t_req_assert_refused(&req, "conn 0");
	}
}

/* Set the name array s to bad, or to CHAT_NAME_MAX + 1 bytes, no NUL. */
static void
t_set_name(char *s, const char *bad)
{
	if (strlen(bad) > CHAT_NAME_MAX)
		memset(s, 'a', CHAT_NAME_MAX + 1);
	else
		strcpy(s, bad);
}

/* Names that are not names, and could not be sent as one. */
static const char *const t_bad_names[] = {"a b", "a/b", "a.b", "caf\xc3\xa9",
    "a\x7f", "123456789012345678901234567890123"};

/* A room or nick that is not a name is not encoded, whatever the op. */
static void
test_request_encode_refuses_invalid_names(void **state)
{
	struct chat_req req;
	size_t i, j;

	(void)state;
	for (i = 0; i < T_N(t_ops); i++)
		for (j = 0; j < T_N(t_bad_names); j++) {
			t_req_sample(&req, t_ops[i]);
			t_set_name(req.cr_room, t_bad_names[j]);
			t_req_assert_refused(&req, "room");
			t_req_sample(&req, t_ops[i]);
			t_set_name(req.cr_nick, t_bad_names[j]);
			t_req_assert_refused(&req, "nick");
		}
}

/* A join needs a room, a nick change a nick. */
static void
test_request_encode_refuses_missing_names(void **state)
{
	struct chat_req req;

	(void)state;
	t_req_sample(&req, CHATREQ_JOIN);
	req.cr_room[0] = '\0';
	t_req_assert_refused(&req, "join without a room");
	t_req_sample(&req, CHATREQ_NICK);
	req.cr_nick[0] = '\0';
	t_req_assert_refused(&req, "nick without a nick");
}

/* A text over CHAT_TEXT_MAX, or NULL with a length, is not encoded. */
static void
test_request_encode_refuses_bad_text(void **state)
{
	static char text[CHAT_TEXT_MAX + 1];
	struct chat_req req;

	(void)state;
	memset(text, 'x', sizeof(text));
	t_req_sample(&req, CHATREQ_SAY);
	req.cr_text = text;
	req.cr_text_len = sizeof(text);
	t_req_assert_refused(&req, "text over the bound");
	req.cr_text_len = (size_t)UINT16_MAX + 1 + 5;
	t_req_assert_refused(&req, "text whose u16 length would be 5");
	t_req_sample(&req, CHATREQ_ME);
	req.cr_text = NULL;
	req.cr_text_len = 1;
	t_req_assert_refused(&req, "NULL text");
}

/* Empty input is not a request. */
static void
test_request_decode_rejects_empty_input(void **state)
{
	struct chat_req req;

	(void)state;
	assert_int_equal(t_req_decode_exact("", 0, &req), -1);
}

/* Every proper prefix of a request of every op is rejected. */
static void
test_request_decode_rejects_every_truncated_prefix(void **state)
{
	struct chat_req req;
	size_t i, n, len;

	(void)state;
	for (i = 0; i < T_N(t_ops); i++) {
		t_req_sample(&req, t_ops[i]);
		n = chatmsg_req_encode(&req, t_buf, sizeof(t_buf));
		for (len = 0; len < n; len++)
			if (t_req_decode_exact(t_buf, len, &req) != -1)
				fail_msg("op %d: prefix %zu of %zu accepted",
				    (int)t_ops[i], len, n);
	}
}

/* A request followed by any byte is rejected, for every op. */
static void
test_request_decode_rejects_trailing_bytes(void **state)
{
	static const unsigned char extra[] = {0, 'x', 0xff};
	struct chat_req req;
	size_t i, j, n;

	(void)state;
	for (i = 0; i < T_N(t_ops); i++)
		for (j = 0; j < sizeof(extra); j++) {
			t_req_sample(&req, t_ops[i]);
			n = chatmsg_req_encode(&req, t_buf, sizeof(t_buf));
			t_buf[n] = extra[j];
			if (t_req_decode_exact(t_buf, n + 1, &req) != -1)
				fail_msg("op %d: trailing 0x%02x accepted",
				    (int)t_ops[i], extra[j]);
		}
}

/* A first byte other than a known op is rejected. */
static void
test_request_decode_rejects_unknown_op(void **state)
{
	static const unsigned char bad[] = {
	    0, CHATREQ_WHO + 1, 0x7f, 0x80, 0xff};
	struct t_req_fields f = t_req_fields(CHATREQ_WHO);
	struct chat_req req;
	size_t n, i;

	(void)state;
	n = t_build_req(&f);
	assert_int_equal(t_req_decode_exact(t_rec, n, &req), 0);
	for (i = 0; i < sizeof(bad); i++) {
		t_rec[0] = bad[i];
		if (t_req_decode_exact(t_rec, n, &req) != -1)
			fail_msg("op %u accepted", bad[i]);
	}
}

/* A request of connection 0 is rejected, whatever its op. */
static void
test_request_decode_rejects_zero_conn(void **state)
{
	struct t_req_fields f;
	struct chat_req req;
	size_t i, n;

	(void)state;
	for (i = 0; i < T_N(t_ops); i++) {
		f = t_req_fields(t_ops[i]);
		f.tf_conn = 0;
		n = t_build_req(&f);
		assert_int_equal(t_req_decode_exact(t_rec, n, &req), -1);
	}
}

/*
 * Hand-build a request of op whose room (field 0) or nick (field 1) is
 * s[0..n), the other as t_req_fields() has it; return its length.
 */
static size_t
t_build_req_with(unsigned op, int field, const char *s, size_t n)
{
	struct t_req_fields f = t_req_fields(op);

	if (field == 0) {
		f.tf_room = s;
		f.tf_room_len = n;
	} else {
		f.tf_nick = s;
		f.tf_nick_len = n;
	}
	return t_build_req(&f);
}

/* Tell whether the layout has field (0 room, 1 nick) carry a name on op. */
static int
t_names_field(unsigned op, int field)
{
	return op == CHATREQ_JOIN || (op == CHATREQ_NICK && field == 1);
}

/*
 * A room or nick field that is not a name is rejected, whatever the op:
 * over 32 bytes, or any byte outside the rule (NUL too). Where the layout
 * has the field carry a name, every valid one is accepted.
 */
static void
test_request_decode_rejects_invalid_names(void **state)
{
	char name[CHAT_NAME_MAX + 1];
	struct chat_req req;
	size_t i, len;
	int field, c, ok, named;

	(void)state;
	for (i = 0; i < T_N(t_ops); i++)
		for (field = 0; field < 2; field++) {
			named = t_names_field(t_ops[i], field);
			memset(name, 'a', sizeof(name));
			for (c = 0; c < 256; c++) {
				name[1] = (char)c;
				ok = chatev_name_valid(name, 2);
				if (ok && !named)
					continue;
				len =
				    t_build_req_with(t_ops[i], field, name, 2);
				if (t_req_decode_exact(t_rec, len, &req) !=
				    (ok ? 0 : -1))
					fail_msg("op %d, field %d, byte 0x%02x",
					    (int)t_ops[i], field, c);
			}
			memset(name, 'a', sizeof(name));
			len = t_build_req_with(
			    t_ops[i], field, name, CHAT_NAME_MAX + 1);
			assert_int_equal(
			    t_req_decode_exact(t_rec, len, &req), -1);
			if (!named)
				continue;
			len = t_build_req_with(
			    t_ops[i], field, name, CHAT_NAME_MAX);
			assert_int_equal(
			    t_req_decode_exact(t_rec, len, &req), 0);
		}
}

/* An empty room is rejected on a join, an empty nick on a nick change. */
static void
test_request_decode_rejects_missing_names(void **state)
{
	struct chat_req req;
	size_t len;

	(void)state;
	len = t_build_req_with(CHATREQ_JOIN, 0, "", 0);
	assert_int_equal(t_req_decode_exact(t_rec, len, &req), -1);
	len = t_build_req_with(CHATREQ_NICK, 1, "", 0);
	assert_int_equal(t_req_decode_exact(t_rec, len, &req), -1);
}

/* A text one byte over CHAT_TEXT_MAX is rejected; at the bound it is not. */
static void
test_request_decode_rejects_text_over_bound(void **state)
{
	static char text[CHAT_TEXT_MAX + 1];
	struct t_req_fields f = t_req_fields(CHATREQ_SAY);
	struct chat_req req;
	size_t len;

	(void)state;
	memset(text, 'x', sizeof(text));
	f.tf_text = text;
	f.tf_text_len = CHAT_TEXT_MAX + 1;
	len = t_build_req(&f);
	assert_int_equal(t_req_decode_exact(t_rec, len, &req), -1);
	f.tf_text_len = CHAT_TEXT_MAX;
	len = t_build_req(&f);
	assert_int_equal(t_req_decode_exact(t_rec, len, &req), 0);
	assert_int_equal(req.cr_text_len, CHAT_TEXT_MAX);
}

/* A text length past the end of the input is rejected. */
static void
test_request_decode_rejects_text_length_past_input(void **state)
{
	struct t_req_fields f = t_req_fields(CHATREQ_ME);
	struct chat_req req;
	size_t len;
	uint16_t n;

	(void)state;
	f.tf_text = "hello";
	f.tf_text_len = 5;
	len = t_build_req(&f);
	n = 6;
	memcpy(t_rec + len - 7, &n, sizeof(n));
	assert_int_equal(t_req_decode_exact(t_rec, len, &req), -1);
	n = UINT16_MAX;
	memcpy(t_rec + len - 7, &n, sizeof(n));
	assert_int_equal(t_req_decode_exact(t_rec, len, &req), -1);
}

/* A decoded request's text points into the buffer: it is not copied. */
static void
test_request_decode_text_points_into_buffer(void **state)
{
	struct t_req_fields f = t_req_fields(CHATREQ_SAY);
	struct chat_req req;
	size_t len;

	(void)state;
	f.tf_text = "hello";
	f.tf_text_len = 5;
	len = t_build_req(&f);
	assert_int_equal(chatmsg_req_decode(t_rec, len, &req), 0);
	assert_ptr_equal(req.cr_text, (const char *)t_rec + len - 5);
	assert_int_equal(req.cr_text_len, 5);
}

/* Every type of event survives as an out-record, head and event. */
static void
test_out_event_round_trip_every_type(void **state)
{
	struct chat_out out;
	size_t i, n;

	(void)state;
	for (i = 0; i < T_N(t_types); i++) {
		t_out_event(&out, t_types[i]);
		n = t_out_round_trip(&out, 0);
		assert_int_equal(n, T_OUT_HEAD_LEN + chatev_size(&out.co_ev));
	}
}

/* The head's numbers keep every bit, at their extremes too. */
static void
test_out_head_keeps_extreme_numbers(void **state)
{
	struct chat_out out;

	(void)state;
	t_out_event(&out, CHAT_LEAVE);
	out.co_slot = 0;
	out.co_pid = 0;
	out.co_conn = 0;
	out.co_member = 0;
	out.co_room = 0;
	out.co_epoch = 0;
	t_out_round_trip(&out, 0);
	out.co_slot = UINT16_MAX;
	out.co_pid = UINT32_MAX;
	out.co_conn = UINT64_MAX;
	out.co_member = UINT32_MAX;
	out.co_room = UINT32_MAX;
	out.co_epoch = UINT32_MAX;
	t_out_round_trip(&out, 0);
}

/* A who reply with no name round-trips. */
static void
test_out_who_round_trip_no_name(void **state)
{
	struct chat_out out;

	(void)state;
	t_out_who(&out);
	assert_int_equal(t_out_round_trip(&out, 0), T_OUT_HEAD_LEN + 6 + 2);
}

/* A who reply with one name round-trips. */
static void
test_out_who_round_trip_one_name(void **state)
{
	struct chat_out out;

	(void)state;
	t_out_who(&out);
	t_make_nicks(1, 5);
	assert_int_equal(
	    t_out_round_trip(&out, 1), T_OUT_HEAD_LEN + 6 + 2 + 1 + 5 + 1);
}

/*
 * A who reply with CHATMSG_WHO_MAX names of the longest room and names
 * round-trips and is exactly CHATMSG_OUT_MAX bytes.
 */
static void
test_out_who_round_trip_max_names_is_out_max(void **state)
{
	struct chat_out out;

	(void)state;
	t_out_who(&out);
	memset(out.co_ev.ce_room, 'r', CHAT_NAME_MAX);
	t_make_nicks(CHATMSG_WHO_MAX, CHAT_NAME_MAX);
	assert_int_equal(
	    t_out_round_trip(&out, CHATMSG_WHO_MAX), CHATMSG_OUT_MAX);
}

/*
 * chatmsg_who_names() gives the names in the order sent, each pointing
 * into the record and ending at its NUL.
 */
static void
test_who_names_gives_names_in_order(void **state)
{
	static const char *const sent[] = {"carol", "alice", "Bob_2", "z"};
	const char *names[CHATMSG_WHO_MAX];
	struct chat_out out;
	size_t i, n;

	(void)state;
	t_out_who(&out);
	n = chatmsg_out_encode(&out, sent, T_N(sent), t_buf, sizeof(t_buf));
	assert_true(n > 0);
	assert_int_equal(chatmsg_out_decode(t_buf, n, &out), 0);
	assert_int_equal(chatmsg_who_names(&out, names), T_N(sent));
	for (i = 0; i < T_N(sent); i++) {
		assert_string_equal(names[i], sent[i]);
		assert_true(names[i] > (const char *)t_buf &&
		    names[i] < (const char *)t_buf + n);
	}
	assert_ptr_equal(names[T_N(sent) - 1] + 2, (const char *)t_buf + n);
}

/* An error reply of every code round-trips. */
static void
test_out_error_round_trip_every_code(void **state)
{
	struct chat_out out;
	size_t i;

	(void)state;
	for (i = 0; i < T_N(t_errors); i++) {
		t_out_error(&out, t_errors[i]);
		assert_int_equal(t_out_round_trip(&out, 0), T_OUT_HEAD_LEN + 1);
	}
}

/* The out-record encoder writes the documented layout, every kind. */
static void
test_out_encoding_is_the_documented_layout(void **state)
{
	static const char *const names[] = {"alice", "bob"};
	struct chat_out out;
	size_t n, want;

	(void)state;
	t_out_event(&out, CHAT_MESSAGE);
	n = chatmsg_out_encode(&out, NULL, 0, t_buf, sizeof(t_buf));
	want = t_build_out_event(&out.co_ev);
	assert_int_equal(n, want);
	assert_memory_equal(t_buf, t_rec, n);

	t_out_who(&out);
	n = chatmsg_out_encode(&out, names, 2, t_buf, sizeof(t_buf));
	want = t_build_out_who("lobby", 5, 2, names, 2, "\0\0");
	assert_int_equal(n, want);
	assert_memory_equal(t_buf, t_rec, n);

	t_out_error(&out, CHATERR_TOO_MANY_ROOMS);
	out.co_room = 5;
	n = chatmsg_out_encode(&out, NULL, 0, t_buf, sizeof(t_buf));
	want = t_build_out_error(CHATERR_TOO_MANY_ROOMS);
	assert_int_equal(n, want);
	assert_memory_equal(t_buf, t_rec, n);
}

/*
 * CHATMSG_OUT_EVENT_MAX(n) bounds every event whose text is at most n
 * bytes: a message with the longest names is exactly that from 31 bytes
 * of text on, and below it the longest event is a nick change with three
 * longest names, exactly the bound.
 */
static void
test_out_event_max_bounds_messages_and_nick_changes(void **state)
{
	static char text[CHAT_TEXT_MAX];
	static const size_t lens[] = {0, 1, 30, 31, 100, CHAT_TEXT_MAX};
	struct chat_out out;
	size_t i, n;

	(void)state;
	memset(text, 'x', sizeof(text));
	for (i = 0; i < T_N(lens); i++) {
		t_out_event(&out, CHAT_MESSAGE);
		memset(out.co_ev.ce_room, 'r', CHAT_NAME_MAX);
		memset(out.co_ev.ce_nick, 'n', CHAT_NAME_MAX);
		out.co_ev.ce_text = text;
		out.co_ev.ce_text_len = lens[i];
		n = t_out_round_trip(&out, 0);
		if (lens[i] >= CHAT_NAME_MAX - 1)
			assert_int_equal(n, CHATMSG_OUT_EVENT_MAX(lens[i]));
		else
			assert_true(n < CHATMSG_OUT_EVENT_MAX(lens[i]));
	}
	t_out_event(&out, CHAT_NICK);
	memset(out.co_ev.ce_room, 'r', CHAT_NAME_MAX);
	memset(out.co_ev.ce_nick, 'n', CHAT_NAME_MAX);
	memset(out.co_ev.ce_old, 'o', CHAT_NAME_MAX);
	assert_int_equal(t_out_round_trip(&out, 0), CHATMSG_OUT_EVENT_MAX(0));
	assert_true(CHATMSG_OUT_EVENT_MAX(CHAT_TEXT_MAX) <= CHATMSG_OUT_MAX);
}

/*
 * Encode out (names t_nicks[0..n)) into every length short of its size:
 * 0 each time, nothing written past the length.
 */
static void
t_out_assert_small_fails(const struct chat_out *out, size_t n)
{
	size_t size, len, k;

	size = chatmsg_out_encode(out, t_nicks, n, t_buf, sizeof(t_buf));
	assert_true(size > 0);
	for (len = 0; len < size; len++) {
		memset(t_buf, T_GUARD, size + 1);
		if (chatmsg_out_encode(out, t_nicks, n, t_buf, len) != 0)
			fail_msg("kind %d fits in %zu of %zu",
			    (int)out->co_kind, len, size);
		for (k = len; k <= size; k++)
			if (t_buf[k] != T_GUARD)
				fail_msg("kind %d, len %zu: byte %zu written",
				    (int)out->co_kind, len, k);
	}
	memset(t_buf, T_GUARD, size + 1);
	assert_int_equal(
	    chatmsg_out_encode(out, t_nicks, n, t_buf, size), size);
	assert_int_equal(t_buf[size], T_GUARD);
}

/* Too small a buffer gets 0 for every kind, nothing written past it. */
static void
test_out_encode_into_small_buffer_fails_within_it(void **state)
{
	struct chat_out out;
	size_t i;

	(void)state;
	for (i = 0; i < T_N(t_types); i++) {
		t_out_event(&out, t_types[i]);
		t_out_assert_small_fails(&out, 0);
	}
	t_out_who(&out);
	t_make_nicks(3, 4);
	t_out_assert_small_fails(&out, 0);
	t_out_assert_small_fails(&out, 1);
	t_out_assert_small_fails(&out, 3);
	for (i = 0; i < T_N(t_errors); i++) {
		t_out_error(&out, t_errors[i]);
		t_out_assert_small_fails(&out, 0);
	}
}

/* Assert that out (names t_nicks[0..n)) is not encoded. */
static void
t_out_assert_refused(const struct chat_out *out, size_t n, const char *what)
{
	if (chatmsg_out_encode(out, t_nicks, n, t_buf, sizeof(t_buf)) != 0)
		fail_msg("encoded: %s", what);
}

/* A kind other than event, who, error and welcome is not encoded. */
static void
test_out_encode_refuses_unknown_kind(void **state)
{
	struct chat_out out;

	(void)state;
	t_out_error(&out, CHATERR_FULL);
	out.co_kind = (enum chatout_kind)0;
	t_out_assert_refused(&out, 0, "kind 0");
	out.co_kind = (enum chatout_kind)(CHATOUT_WELCOME + 1);
	t_out_assert_refused(&out, 0, "kind past CHATOUT_WELCOME");
	out.co_kind = (enum chatout_kind)(0x100 + CHATOUT_ERROR);
	t_out_assert_refused(&out, 0, "kind whose low byte is a known one");
}

/* An error code outside enum chatout_error is not encoded. */
static void
test_out_encode_refuses_unknown_error_code(void **state)
{
	struct chat_out out;

	(void)state;
	t_out_error(&out, CHATERR_FULL);
	out.co_error = 0;
	t_out_assert_refused(&out, 0, "code 0");
	out.co_error = CHATERR_UNAVAILABLE + 1;
	t_out_assert_refused(&out, 0, "code past CHATERR_UNAVAILABLE");
}

/* An event chatev_encode() refuses is not encoded as an out-record. */
static void
test_out_encode_refuses_invalid_event(void **state)
{
	static char text[CHAT_TEXT_MAX + 1];
	struct chat_out out;

	(void)state;
	t_out_event(&out, CHAT_MESSAGE);
	strcpy(out.co_ev.ce_nick, "a b");
	t_out_assert_refused(&out, 0, "nick with a space");
	t_out_event(&out, CHAT_MESSAGE);
	out.co_ev.ce_type = (enum chat_type)(CHAT_NICK + 1);
	t_out_assert_refused(&out, 0, "unknown event type");
	t_out_event(&out, CHAT_ME);
	memset(text, 'x', sizeof(text));
	out.co_ev.ce_text = text;
	out.co_ev.ce_text_len = sizeof(text);
	t_out_assert_refused(&out, 0, "text over CHAT_TEXT_MAX");
	t_out_event(&out, CHAT_ME);
	out.co_ev.ce_text = "\xc3";
	out.co_ev.ce_text_len = 1;
	t_out_assert_refused(&out, 0, "text not UTF-8");
}

/* A who reply of more than CHATMSG_WHO_MAX names is not encoded. */
static void
test_out_encode_refuses_too_many_who_names(void **state)
{
	struct chat_out out;

	(void)state;
	t_out_who(&out);
	t_make_nicks(CHATMSG_WHO_MAX + 1, 4);
	t_out_assert_refused(&out, CHATMSG_WHO_MAX + 1, "WHO_MAX + 1 names");
}

/* A who reply whose room or any name is not a name is not encoded. */
static void
test_out_encode_refuses_invalid_who_names(void **state)
{
	static const char *const names[] = {"alice", "bob", "carol"};
	struct chat_out out;
	size_t i, j;

	(void)state;
	t_out_who(&out);
	out.co_ev.ce_room[0] = '\0';
	t_out_assert_refused(&out, 0, "empty room");
	for (i = 0; i < T_N(t_bad_names); i++) {
		t_out_who(&out);
		t_set_name(out.co_ev.ce_room, t_bad_names[i]);
		t_out_assert_refused(&out, 0, "room");
	}
	for (j = 0; j < 3; j++) {
		t_out_who(&out);
		for (i = 0; i < 3; i++)
			t_nicks[i] = names[i];
		t_nicks[j] = "";
		t_out_assert_refused(&out, 3, "empty name");
		for (i = 0; i < T_N(t_bad_names); i++) {
			t_nicks[j] = t_bad_names[i];
			t_out_assert_refused(&out, 3, "name");
		}
	}
}

/* Empty input is not an out-record. */
static void
test_out_decode_rejects_empty_input(void **state)
{
	struct chat_out out;

	(void)state;
	assert_int_equal(t_out_decode_exact("", 0, &out), -1);
}

/* Every proper prefix of out (names t_nicks[0..n)) is rejected. */
static void
t_out_assert_prefixes_rejected(const struct chat_out *out, size_t n)
{
	struct chat_out back;
	size_t size, len;

	size = chatmsg_out_encode(out, t_nicks, n, t_buf, sizeof(t_buf));
	assert_true(size > 0);
	for (len = 0; len < size; len++)
		if (t_out_decode_exact(t_buf, len, &back) != -1)
			fail_msg("kind %d: prefix %zu of %zu accepted",
			    (int)out->co_kind, len, size);
}

/* Every proper prefix of every kind of out-record is rejected. */
static void
test_out_decode_rejects_every_truncated_prefix(void **state)
{
	struct chat_out out;
	size_t i;

	(void)state;
	for (i = 0; i < T_N(t_types); i++) {
		t_out_event(&out, t_types[i]);
		t_out_assert_prefixes_rejected(&out, 0);
	}
	t_out_who(&out);
	t_make_nicks(3, 4);
	t_out_assert_prefixes_rejected(&out, 0);
	t_out_assert_prefixes_rejected(&out, 1);
	t_out_assert_prefixes_rejected(&out, 3);
	for (i = 0; i < T_N(t_errors); i++) {
		t_out_error(&out, t_errors[i]);
		t_out_assert_prefixes_rejected(&out, 0);
	}
}

/* Out (names t_nicks[0..n)) followed by any byte is rejected. */
static void
t_out_assert_trailing_rejected(const struct chat_out *out, size_t n)
{
	static const unsigned char extra[] = {0, 'x', 0xff};
	struct chat_out back;
	size_t size, j;

	for (j = 0; j < sizeof(extra); j++) {
		size =
		    chatmsg_out_encode(out, t_nicks, n, t_buf, sizeof(t_buf));
		assert_true(size > 0);
		t_buf[size] = extra[j];
		if (t_out_decode_exact(t_buf, size + 1, &back) != -1)
			fail_msg("kind %d: trailing 0x%02x accepted",
			    (int)out->co_kind, extra[j]);
	}
}

/* Every kind of out-record followed by any byte is rejected. */
static void
test_out_decode_rejects_trailing_bytes(void **state)
{
	struct chat_out out;
	size_t i;

	(void)state;
	for (i = 0; i < T_N(t_types); i++) {
		t_out_event(&out, t_types[i]);
		t_out_assert_trailing_rejected(&out, 0);
	}
	t_out_who(&out);
	t_make_nicks(3, 4);
	t_out_assert_trailing_rejected(&out, 0);
	t_out_assert_trailing_rejected(&out, 1);
	t_out_assert_trailing_rejected(&out, 3);
	for (i = 0; i < T_N(t_errors); i++) {
		t_out_error(&out, t_errors[i]);
		t_out_assert_trailing_rejected(&out, 0);
	}
}

/* A first byte other than a known kind is rejected. */
static void
test_out_decode_rejects_unknown_kind(void **state)
{
	static const unsigned char bad[] = {
	    0, CHATOUT_WELCOME + 1, 0x7f, 0x80, 0xff};
	struct chat_out out;
	size_t n, i;

	(void)state;
	n = t_build_out_error(CHATERR_FULL);
	assert_int_equal(t_out_decode_exact(t_rec, n, &out), 0);
	for (i = 0; i < sizeof(bad); i++) {
		t_rec[0] = bad[i];
		if (t_out_decode_exact(t_rec, n, &out) != -1)
			fail_msg("kind %u accepted", bad[i]);
	}
}

/* An error code outside enum chatout_error is rejected. */
static void
test_out_decode_rejects_unknown_error_code(void **state)
{
	static const unsigned char bad[] = {
	    0, CHATERR_UNAVAILABLE + 1, 0x7f, 0x80, 0xff};
	struct chat_out out;
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(bad); i++) {
		n = t_build_out_error(bad[i]);
		if (t_out_decode_exact(t_rec, n, &out) != -1)
			fail_msg("code %u accepted", bad[i]);
	}
}

/* An event out-record whose event chatev.c rejects is rejected. */
static void
test_out_decode_rejects_invalid_event(void **state)
{
	static char text[CHAT_TEXT_MAX + 1];
	struct chat_event ev;
	struct chat_out out;
	size_t n;
	uint16_t len = CHAT_TEXT_MAX + 1;

	(void)state;
	t_event_sample(&ev, CHAT_MESSAGE);
	ev.ce_text = "hi";
	ev.ce_text_len = 2;
	n = t_build_out_event(&ev);
	assert_int_equal(t_out_decode_exact(t_rec, n, &out), 0);
	t_rec[n - 1] = 0xff; /* "h\xff": not UTF-8 */
	assert_int_equal(t_out_decode_exact(t_rec, n, &out), -1);
	t_rec[n - 1] = 'i';
	t_rec[T_OUT_HEAD_LEN + 1 + 8 + 8 + 2] = ' '; /* room "l bby" */
	assert_int_equal(t_out_decode_exact(t_rec, n, &out), -1);

	/* A text over CHAT_TEXT_MAX, all of it there. */
	memset(text, 'x', sizeof(text));
	n = t_build_out_event(&ev) - 2 - 2;
	memcpy(t_rec + n, &len, 2);
	memcpy(t_rec + n + 2, text, sizeof(text));
	n += 2 + sizeof(text);
	assert_int_equal(t_out_decode_exact(t_rec, n, &out), -1);
}

/*
 * A who reply whose room is empty or not a name, or one of whose names
 * is empty, over 32 or has a byte outside the rule, is rejected.
 */
static void
test_out_decode_rejects_invalid_who_names(void **state)
{
	static const char *ok3[] = {"alice", "bob", "carol"};
	char name[CHAT_NAME_MAX + 2];
	const char *names[3];
	struct chat_out out;
	size_t len, i;
	int c;

	(void)state;
	len = t_build_out_who("lobby", 5, 3, ok3, 3, "\0\0\0");
	assert_int_equal(t_out_decode_exact(t_rec, len, &out), 0);
	len = t_build_out_who("", 0, 3, ok3, 3, "\0\0\0");
	assert_int_equal(t_out_decode_exact(t_rec, len, &out), -1);
	len = t_build_out_who("l bby", 5, 3, ok3, 3, "\0\0\0");
	assert_int_equal(t_out_decode_exact(t_rec, len, &out), -1);
	memset(name, 'a', sizeof(name));
	len = t_build_out_who(name, CHAT_NAME_MAX + 1, 3, ok3, 3, "\0\0\0");
	assert_int_equal(t_out_decode_exact(t_rec, len, &out), -1);

	for (i = 0; i < 3; i++) {
		memcpy(names, ok3, sizeof(names));
		names[i] = "";
		len = t_build_out_who("lobby", 5, 3, names, 3, "\0\0\0");
		assert_int_equal(t_out_decode_exact(t_rec, len, &out), -1);
		memset(name, 'a', sizeof(name));
		name[CHAT_NAME_MAX + 1] = '\0';
		names[i] = name;
		len = t_build_out_who("lobby", 5, 3, names, 3, "\0\0\0");
		assert_int_equal(t_out_decode_exact(t_rec, len, &out), -1);
		name[CHAT_NAME_MAX] = '\0';
		len = t_build_out_who("lobby", 5, 3, names, 3, "\0\0\0");
		assert_int_equal(t_out_decode_exact(t_rec, len, &out), 0);
		for (c = 1; c < 256; c++) {
			name[1] = (char)c;
			len =
			    t_build_out_who("lobby", 5, 3, names, 3, "\0\0\0");
			if (t_out_decode_exact(t_rec, len, &out) !=
			    (chatev_name_valid(name, 2) ? 0 : -1))
				fail_msg("name %zu, byte 0x%02x", i, c);
		}
	}
}

/* A who name not followed by its NUL is rejected, whichever name. */
static void
test_out_decode_rejects_who_name_without_its_nul(void **state)
{
	static const char *names[] = {"alice", "bob", "carol"};
	static const char *const after[] = {
	    "x\0\0", "\0x\0", "\0\0x", "\x01\0\0", "\0\0\xff"};
	struct chat_out out;
	size_t len, i;

	(void)state;
	for (i = 0; i < T_N(after); i++) {
		len = t_build_out_who("lobby", 5, 3, names, 3, after[i]);
		if (t_out_decode_exact(t_rec, len, &out) != -1)
			fail_msg("case %zu accepted", i);
	}
	/* The last name's NUL missing altogether. */
	len = t_build_out_who("lobby", 5, 3, names, 3, "\0\0\0");
	assert_int_equal(t_out_decode_exact(t_rec, len - 1, &out), -1);
}

/*
 * A who count over CHATMSG_WHO_MAX is rejected though the names are
 * there; a count that is not the number of names is rejected.
 */
static void
test_out_decode_rejects_wrong_who_count(void **state)
{
	static char nuls[CHATMSG_WHO_MAX + 1];
	struct chat_out out;
	size_t len;

	(void)state;
	t_make_nicks(CHATMSG_WHO_MAX + 1, 4);
	len = t_build_out_who(
	    "lobby", 5, CHATMSG_WHO_MAX, t_nicks, CHATMSG_WHO_MAX, nuls);
	assert_int_equal(t_out_decode_exact(t_rec, len, &out), 0);
	len = t_build_out_who("lobby", 5, CHATMSG_WHO_MAX + 1, t_nicks,
	    CHATMSG_WHO_MAX + 1, nuls);
	assert_int_equal(t_out_decode_exact(t_rec, len, &out), -1);
	len = t_build_out_who("lobby", 5, 2, t_nicks, 3, nuls);
	assert_int_equal(t_out_decode_exact(t_rec, len, &out), -1);
	len = t_build_out_who("lobby", 5, 4, t_nicks, 3, nuls);
	assert_int_equal(t_out_decode_exact(t_rec, len, &out), -1);
	len = t_build_out_who("lobby", 5, UINT16_MAX, t_nicks, 3, nuls);
	assert_int_equal(t_out_decode_exact(t_rec, len, &out), -1);
}

/* A decoded event's text points into the buffer: it is not copied. */
static void
test_out_decode_event_text_points_into_buffer(void **state)
{
	struct chat_event ev;
	struct chat_out out;
	size_t len;

	(void)state;
	t_event_sample(&ev, CHAT_ME);
	ev.ce_text = "hello";
	ev.ce_text_len = 5;
	len = t_build_out_event(&ev);
	assert_int_equal(chatmsg_out_decode(t_rec, len, &out), 0);
	assert_ptr_equal(out.co_ev.ce_text, (const char *)t_rec + len - 5);
	assert_int_equal(out.co_ev.ce_text_len, 5);
}

/* A request flag other than CHATMSG_TELNET is neither encoded nor read. */
static void
test_request_unknown_flag_is_refused_both_ways(void **state)
{
	struct chat_req req;
	size_t n;

	(void)state;
	t_req_sample(&req, CHATREQ_WHO);
	req.cr_flags = 0x10;
	t_req_assert_refused(&req, "flag 0x10");
	req.cr_flags = 0;
	n = chatmsg_req_encode(&req, t_buf, sizeof(t_buf));
	assert_true(n > 0);
	t_buf[1] = 0x10; /* the flags byte */
	assert_int_equal(t_req_decode_exact(t_buf, n, &req), -1);
}

/* A room on a request other than a join, or a nick on a say, is refused. */
static void
test_request_names_only_where_the_op_has_them(void **state)
{
	struct chat_req req;

	(void)state;
	t_req_sample(&req, CHATREQ_SAY);
	strcpy(req.cr_room, "lobby");
	t_req_assert_refused(&req, "a say with a room");
	t_req_sample(&req, CHATREQ_SAY);
	strcpy(req.cr_nick, "alice");
	t_req_assert_refused(&req, "a say with a nick");
	t_req_sample(&req, CHATREQ_NICK);
	strcpy(req.cr_room, "lobby");
	t_req_assert_refused(&req, "a nick change with a room");
}

/* A text that is not whole UTF-8 is neither encoded nor read. */
static void
test_request_text_must_be_utf8(void **state)
{
	struct chat_req req;
	size_t n;

	(void)state;
	t_req_sample(&req, CHATREQ_SAY);
	req.cr_text = "caf\xc3";
	req.cr_text_len = 4;
	t_req_assert_refused(&req, "a cut sequence");
	req.cr_text = "cafe";
	n = chatmsg_req_encode(&req, t_buf, sizeof(t_buf));
	assert_true(n > 0);
	t_buf[n - 1] = (unsigned char)0xff;
	assert_int_equal(t_req_decode_exact(t_buf, n, &req), -1);
}

/* An empty text without a pointer is encoded, and decodes empty. */
static void
test_request_empty_text_needs_no_pointer(void **state)
{
	struct chat_req req;
	size_t n;

	(void)state;
	t_req_sample(&req, CHATREQ_ME);
	req.cr_text = NULL;
	req.cr_text_len = 0;
	n = chatmsg_req_encode(&req, t_buf, sizeof(t_buf));
	assert_true(n > 0);
	assert_int_equal(t_req_decode_exact(t_buf, n, &req), 0);
	assert_int_equal(req.cr_text_len, 0);
}

/* Out-record fields that do not fit their bytes are refused, not cut. */
static void
test_out_encode_refuses_what_does_not_fit_its_field(void **state)
{
	struct chat_out out;

	(void)state;
	t_out_event(&out, CHAT_JOIN);
	out.co_flags = 0x02;
	assert_int_equal(
	    chatmsg_out_encode(&out, NULL, 0, t_buf, sizeof(t_buf)), 0);
	t_out_event(&out, CHAT_JOIN);
	out.co_slot = 65536;
	assert_int_equal(
	    chatmsg_out_encode(&out, NULL, 0, t_buf, sizeof(t_buf)), 0);
	memset(&out, 0, sizeof(out));
	out.co_kind = CHATOUT_ERROR;
	out.co_error = 0x100 + CHATERR_FULL;
	assert_int_equal(
	    chatmsg_out_encode(&out, NULL, 0, t_buf, sizeof(t_buf)), 0);
}

/* An out-record flag other than CHATOUT_NICK_TAKEN is not read. */
static void
test_out_decode_rejects_unknown_flag(void **state)
{
	struct chat_out out;
	size_t n;

	(void)state;
	t_out_event(&out, CHAT_JOIN);
	n = chatmsg_out_encode(&out, NULL, 0, t_buf, sizeof(t_buf));
	assert_true(n > 0);
	t_buf[1] = 0x04; /* the flags byte */
	assert_int_equal(t_out_decode_exact(t_buf, n, &out), -1);
}
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_round_trip_every_op),
	    cmocka_unit_test(test_request_unknown_flag_is_refused_both_ways),
	    cmocka_unit_test(test_request_names_only_where_the_op_has_them),
	    cmocka_unit_test(test_request_text_must_be_utf8),
	    cmocka_unit_test(test_request_empty_text_needs_no_pointer),
	    cmocka_unit_test(
		test_out_encode_refuses_what_does_not_fit_its_field),
	    cmocka_unit_test(test_out_decode_rejects_unknown_flag),
	    cmocka_unit_test(test_request_encoding_is_the_documented_layout),
	    cmocka_unit_test(test_request_round_trip_keeps_extreme_numbers),
	    cmocka_unit_test(test_request_join_without_nick_round_trips),
	    cmocka_unit_test(test_request_empty_text_round_trips),
	    cmocka_unit_test(test_request_at_every_bound_fits_req_max),
	    cmocka_unit_test(
		test_request_encode_into_small_buffer_fails_within_it),
	    cmocka_unit_test(test_request_encode_refuses_unknown_op),
	    cmocka_unit_test(test_request_encode_refuses_zero_conn),
	    cmocka_unit_test(test_request_encode_refuses_invalid_names),
	    cmocka_unit_test(test_request_encode_refuses_missing_names),
	    cmocka_unit_test(test_request_encode_refuses_bad_text),
	    cmocka_unit_test(test_request_decode_rejects_empty_input),
	    cmocka_unit_test(
		test_request_decode_rejects_every_truncated_prefix),
	    cmocka_unit_test(test_request_decode_rejects_trailing_bytes),
	    cmocka_unit_test(test_request_decode_rejects_unknown_op),
	    cmocka_unit_test(test_request_decode_rejects_zero_conn),
	    cmocka_unit_test(test_request_decode_rejects_invalid_names),
	    cmocka_unit_test(test_request_decode_rejects_missing_names),
	    cmocka_unit_test(test_request_decode_rejects_text_over_bound),
	    cmocka_unit_test(
		test_request_decode_rejects_text_length_past_input),
	    cmocka_unit_test(test_request_decode_text_points_into_buffer),
	    cmocka_unit_test(test_out_event_round_trip_every_type),
	    cmocka_unit_test(test_out_head_keeps_extreme_numbers),
	    cmocka_unit_test(test_out_who_round_trip_no_name),
	    cmocka_unit_test(test_out_who_round_trip_one_name),
	    cmocka_unit_test(test_out_who_round_trip_max_names_is_out_max),
	    cmocka_unit_test(test_who_names_gives_names_in_order),
	    cmocka_unit_test(test_out_error_round_trip_every_code),
	    cmocka_unit_test(test_out_encoding_is_the_documented_layout),
	    cmocka_unit_test(
		test_out_event_max_bounds_messages_and_nick_changes),
	    cmocka_unit_test(test_out_encode_into_small_buffer_fails_within_it),
	    cmocka_unit_test(test_out_encode_refuses_unknown_kind),
	    cmocka_unit_test(test_out_encode_refuses_unknown_error_code),
	    cmocka_unit_test(test_out_encode_refuses_invalid_event),
	    cmocka_unit_test(test_out_encode_refuses_too_many_who_names),
	    cmocka_unit_test(test_out_encode_refuses_invalid_who_names),
	    cmocka_unit_test(test_out_decode_rejects_empty_input),
	    cmocka_unit_test(test_out_decode_rejects_every_truncated_prefix),
	    cmocka_unit_test(test_out_decode_rejects_trailing_bytes),
	    cmocka_unit_test(test_out_decode_rejects_unknown_kind),
	    cmocka_unit_test(test_out_decode_rejects_unknown_error_code),
	    cmocka_unit_test(test_out_decode_rejects_invalid_event),
	    cmocka_unit_test(test_out_decode_rejects_invalid_who_names),
	    cmocka_unit_test(test_out_decode_rejects_who_name_without_its_nul),
	    cmocka_unit_test(test_out_decode_rejects_wrong_who_count),
	    cmocka_unit_test(test_out_decode_event_text_points_into_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
