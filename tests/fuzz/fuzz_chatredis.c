/*
 * fuzz_chatredis: a chat event as the fields of a Redis stream entry
 * (chatredis.c). The input's first byte chooses the reader: bits 0-1 its
 * instance id, bits 2-4 its max_message_size, bit 5 the room, bit 6 the
 * sequence number when the ID is not one, bit 7 the separator of the
 * rest ("\n" if set, so that values may hold NUL bytes; NUL otherwise).
 * The rest, split at the separator, is the entry: its ID, then its field
 * and value strings, each an exact-size heap copy.
 *
 * It asserts, for any input:
 *
 * - chatredis_id_seq() reads nothing past the ID and accepts exactly what
 *   a reference does ("<seq>-<n>", canonical decimals, seq from 1); the
 *   number, printed back with "-<n>", is the ID and parses the same.
 * - chatredis_decode() reads nothing past the strings or their array. An
 *   event it accepts is valid: a known type, a nick valid per
 *   chatev_name_valid(), ce_old a valid name for nick and "" otherwise, a
 *   text for message and me only (the text field's value itself, valid
 *   UTF-8 within max_message_size and CHAT_TEXT_MAX), the entry's seq and
 *   room; the origin's slot, pid, conn, member and flags exactly when the
 *   origin is the reader's instance, otherwise conn 0 and member
 *   UINT32_MAX.
 * - chatredis_encode() of that event, with the reader's instance, gives
 *   the same fields, byte for byte, as the input (the origin too when it
 *   is the reader's): what is accepted is canonical.
 * - Those fields, decoded again (exact-size copies), give the same event
 *   and addressing.
 */

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "fuzz.h"

#define SEP_NEWLINE 0x80 /* control byte: split at "\n", not NUL */

/* The entry as strings: s[0] the ID, then fields and values. */
struct strs {
	char **s_str;  /* exact-size heap copies */
	size_t *s_len; /* their lengths */
	size_t s_n;    /* how many */
};

/* Split p[0..n) at sep into exact-size heap copies. */
static void
split(const uint8_t *p, size_t n, uint8_t sep, struct strs *st)
{
	size_t i, start, k = 1;

	for (i = 0; i < n; i++)
		k += p[i] == sep;
	st->s_str = malloc(k * sizeof(*st->s_str));
	st->s_len = malloc(k * sizeof(*st->s_len));
	FUZZ_ASSERT(st->s_str != NULL && st->s_len != NULL);
	for (st->s_n = 0, start = 0, i = 0; i <= n; i++)
		if (i == n || p[i] == sep) {
			st->s_str[st->s_n] = fuzz_copy(p + start, i - start);
			st->s_len[st->s_n++] = i - start;
			start = i + 1;
		}
}

/* Free what split() made. */
static void
strs_free(struct strs *st)
{
	size_t i;

	for (i = 0; i < st->s_n; i++)
		free(st->s_str[i]);
	free(st->s_str);
	free(st->s_len);
}

/* Reference: s[0..n) as a canonical decimal up to UINT64_MAX; 0 or -1. */
static int
ref_number(const char *s, size_t n, uint64_t *v)
{
	size_t i;

	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	for (*v = 0, i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9' ||
		    __builtin_mul_overflow(*v, 10, v) ||
		    __builtin_add_overflow(*v, (uint64_t)(s[i] - '0'), v))
			return -1;
	return 0;
}

/*
 * Reference: id[0..n) as "<seq>-<sub>", seq from 1 to CHATREDIS_SEQ_MAX;
 * 0 or -1.
 */
static int
ref_id(const char *id, size_t n, uint64_t *seq, uint64_t *sub)
{
	const char *dash = memchr(id, '-', n);
	size_t d;

	if (dash == NULL)
		return -1;
	d = (size_t)(dash - id);
	if (ref_number(id, d, seq) == -1 ||
	    ref_number(dash + 1, n - d - 1, sub) == -1 || *seq == 0 ||
	    *seq > CHATREDIS_SEQ_MAX)
		return -1;
	return 0;
}

/*
 * The ID id[0..n) through chatredis_id_seq() and the reference; return
 * what it returned, the number in *seq.
 */
static int
check_id(const char *id, size_t n, uint64_t *seq)
{
	uint64_t ref_seq, ref_sub, again;
	char buf[48];
	int rc, len;

	rc = chatredis_id_seq(id, n, seq);
	FUZZ_ASSERT(rc == ref_id(id, n, &ref_seq, &ref_sub));
	if (rc == -1)
		return -1;
	FUZZ_ASSERT(*seq >= 1 && *seq == ref_seq);
	len = snprintf(buf, sizeof(buf), "%" PRIu64 "-%" PRIu64, *seq, ref_sub);
	FUZZ_ASSERT(len > 0 && (size_t)len == n && memcmp(buf, id, n) == 0);
	FUZZ_ASSERT(chatredis_id_seq(buf, (size_t)len, &again) == 0);
	FUZZ_ASSERT(again == *seq);
	return 0;
}

/* The index of field name's value in st (fields from 1); -1 if none. */
static long
field(const struct strs *st, const char *name)
{
	size_t i;

	for (i = 1; i + 1 < st->s_n; i += 2)
		if (st->s_len[i] == strlen(name) &&
		    memcmp(st->s_str[i], name, st->s_len[i]) == 0)
			return (long)(i + 1);
	return -1;
}

/* Tell whether the array s (CHAT_NAME_MAX + 1) holds a valid name. */
static int
name_ok(const char *s)
{
	size_t n = strnlen(s, CHAT_NAME_MAX + 1);

	return n <= CHAT_NAME_MAX && chatev_name_valid(s, n);
}

/* Tell whether the input's origin is the reader's instance. */
static int
own_origin(const struct strs *st, uint64_t instance)
{
	long o = field(st, "origin");
	char hex[17];

	snprintf(hex, sizeof(hex), "%016" PRIx64, instance);
	return o != -1 && st->s_len[o] >= 16 &&
	    memcmp(st->s_str[o], hex, 16) == 0;
}

/* The origin fields of out: the input's origin if own, else no one. */
static void
check_origin(const struct chat_out *out, const struct strs *st, int own,
    uint64_t instance)
{
	long o = field(st, "origin");
	char buf[96];
	int n;

	if (!own) {
		FUZZ_ASSERT(out->co_slot == 0 && out->co_pid == 0);
		FUZZ_ASSERT(out->co_conn == 0 && out->co_flags == 0);
		FUZZ_ASSERT(out->co_member == UINT32_MAX);
		return;
	}
	FUZZ_ASSERT(out->co_slot <= UINT16_MAX);
	FUZZ_ASSERT(out->co_flags <= CHATOUT_NICK_TAKEN);
	n = snprintf(buf, sizeof(buf),
	    "%016" PRIx64 ":%" PRIu32 ":%" PRIu32 ":%" PRIu64 ":%" PRIu32
	    ":%" PRIu32,
	    instance, out->co_slot, out->co_pid, out->co_conn, out->co_member,
	    out->co_flags);
	FUZZ_ASSERT(n > 0 && (size_t)n == st->s_len[o]);
	FUZZ_ASSERT(memcmp(buf, st->s_str[o], (size_t)n) == 0);
}

/* Assert that out, accepted from st by en's reader, is a valid event. */
static void
check_event(const struct chat_out *out, const struct strs *st,
    const struct chatredis_entry *en)
{
	const struct chat_event *ev = &out->co_ev;
	uint32_t state = UTF8_ACCEPT;
	long t = field(st, "text");

	FUZZ_ASSERT(out->co_kind == CHATOUT_EVENT);
	FUZZ_ASSERT(out->co_room == 0 && out->co_epoch == 0);
	FUZZ_ASSERT(out->co_error == 0);
	FUZZ_ASSERT(out->co_nicks == NULL && out->co_nnicks == 0);
	FUZZ_ASSERT(ev->ce_type >= CHAT_MESSAGE && ev->ce_type <= CHAT_NICK);
	FUZZ_ASSERT(name_ok(ev->ce_nick));
	FUZZ_ASSERT(ev->ce_type == CHAT_NICK ? name_ok(ev->ce_old)
					     : ev->ce_old[0] == '\0');
	if (ev->ce_type == CHAT_MESSAGE || ev->ce_type == CHAT_ME) {
		FUZZ_ASSERT(t != -1 && ev->ce_text == st->s_str[t]);
		FUZZ_ASSERT(ev->ce_text_len == st->s_len[t]);
		FUZZ_ASSERT(ev->ce_text_len <= en->re_max_text &&
		    ev->ce_text_len <= CHAT_TEXT_MAX);
		FUZZ_ASSERT(utf8_validate(&state, ev->ce_text,
				ev->ce_text_len) == ev->ce_text_len &&
		    utf8_complete(state));
	} else
		FUZZ_ASSERT(ev->ce_text == NULL && ev->ce_text_len == 0);
	FUZZ_ASSERT(ev->ce_seq == en->re_seq);
	FUZZ_ASSERT(strcmp(ev->ce_room, en->re_room) == 0);
	check_origin(out, st, own_origin(st, en->re_instance), en->re_instance);
}

/*
 * The encoding f of an event decoded from st: the same known fields as
 * the input, with the same values (the origin only if own).
 */
static void
check_canonical(
    const struct chatredis_fields *f, int n, const struct strs *st, int own)
{
	static const char *const known[] = {
	    "type", "nick", "old", "text", "time", "origin"};
	size_t i, k, found;
	long v;

	FUZZ_ASSERT(n == f->cf_n && n % 2 == 0 && n <= CHATREDIS_ARGS);
	for (found = 0, k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		found += field(st, known[k]) != -1;
	FUZZ_ASSERT(found == (size_t)n / 2);
	for (i = 0; i < (size_t)n; i += 2) {
		FUZZ_ASSERT(f->cf_len[i] == strlen(f->cf_argv[i]));
		v = field(st, f->cf_argv[i]);
		FUZZ_ASSERT(v != -1);
		if (strcmp(f->cf_argv[i], "origin") == 0 && !own)
			continue;
		FUZZ_ASSERT(f->cf_len[i + 1] == st->s_len[v]);
		FUZZ_ASSERT(
		    memcmp(f->cf_argv[i + 1], st->s_str[v], st->s_len[v]) == 0);
	}
}

/* Assert that a and b are the same event with the same addressing. */
static void
same_out(const struct chat_out *a, const struct chat_out *b)
{
	const struct chat_event *x = &a->co_ev, *y = &b->co_ev;

	FUZZ_ASSERT(a->co_kind == b->co_kind && a->co_flags == b->co_flags);
	FUZZ_ASSERT(a->co_slot == b->co_slot && a->co_pid == b->co_pid);
	FUZZ_ASSERT(a->co_conn == b->co_conn && a->co_member == b->co_member);
	FUZZ_ASSERT(x->ce_type == y->ce_type && x->ce_seq == y->ce_seq);
	FUZZ_ASSERT(x->ce_time_ms == y->ce_time_ms);
	FUZZ_ASSERT(strcmp(x->ce_room, y->ce_room) == 0);
	FUZZ_ASSERT(strcmp(x->ce_nick, y->ce_nick) == 0);
	FUZZ_ASSERT(strcmp(x->ce_old, y->ce_old) == 0);
	FUZZ_ASSERT((x->ce_text == NULL) == (y->ce_text == NULL));
	FUZZ_ASSERT(x->ce_text_len == y->ce_text_len);
	if (x->ce_text_len > 0)
		FUZZ_ASSERT(
		    memcmp(x->ce_text, y->ce_text, x->ce_text_len) == 0);
}

/* Decode n strings of st from index first (an exact-size array); 0/-1. */
static int
decode(const struct strs *st, size_t first, size_t n,
    const struct chatredis_entry *en, struct chat_out *out)
{
	const char **argv;
	int rc;
	size_t i;

	argv = malloc(n > 0 ? n * sizeof(*argv) : 1);
	FUZZ_ASSERT(argv != NULL);
	for (i = 0; i < n; i++)
		argv[i] = st->s_str[first + i];
	rc = chatredis_decode(argv, st->s_len + first, n, en, out);
	free(argv);
	return rc;
}

/* Encode out for en's reader, check it, and decode it back. */
static void
round_trip(const struct chat_out *out, const struct strs *in,
    const struct chatredis_entry *en)
{
	struct chatredis_fields f;
	struct chat_out again;
	struct strs st;
	int i, n;

	n = chatredis_encode(out, en->re_instance, &f);
	check_canonical(&f, n, in, own_origin(in, en->re_instance));
	st.s_str = malloc((size_t)n * sizeof(*st.s_str));
	st.s_len = malloc((size_t)n * sizeof(*st.s_len));
	FUZZ_ASSERT(st.s_str != NULL && st.s_len != NULL);
	for (st.s_n = 0, i = 0; i < n; i++) {
		st.s_str[i] = fuzz_copy(f.cf_argv[i], f.cf_len[i]);
		st.s_len[i] = f.cf_len[i];
		st.s_n++;
	}
	FUZZ_ASSERT(decode(&st, 0, st.s_n, en, &again) == 0);
	same_out(out, &again);
	strs_free(&st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t instances[4] = {
	    0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0, UINT64_MAX};
	static const size_t max_text[8] = {
	    0, 1, 3, 4, 16, 4096, CHAT_TEXT_MAX, SIZE_MAX};
	struct chatredis_entry en;
	struct chat_out out;
	struct strs st;
	uint64_t seq;

	if (size == 0)
		return 0;
	split(data + 1, size - 1, data[0] & SEP_NEWLINE ? '\n' : '\0', &st);
	en.re_instance = instances[data[0] & 3];
	en.re_max_text = max_text[(data[0] >> 2) & 7];
	en.re_room =
	    data[0] & 0x20 ? "abcdefghij_ABCDEFGHIJ-0123456789" : "lobby";
	en.re_seq = data[0] & 0x40 ? UINT64_MAX : 1;
	if (check_id(st.s_str[0], st.s_len[0], &seq) == 0)
		en.re_seq = seq;
	if (decode(&st, 1, st.s_n - 1, &en, &out) == 0) {
		check_event(&out, &st, &en);
		round_trip(&out, &st, &en);
	}
	strs_free(&st);
	return 0;
}
