/*
 * Unit tests for utf8.c: incremental UTF-8 validation, whole and split
 * across calls, checked against a reference decoder written here.
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
#define LIT(s) (const unsigned char *)(s), (sizeof(s) - 1)

#define T_VALID	      ((size_t)-1) /* want: no invalid byte */
#define T_MAX	      64	   /* longest text the helpers split */
#define T_RANDOM_RUNS 200000

/* Run state of the validator over a text fed in pieces. */
struct t_run {
	size_t tr_off;	   /* offset of the first invalid byte, or T_VALID */
	int tr_complete;   /* the text ended between sequences */
	uint32_t tr_state; /* state after the last piece */
};

/*
 * Reference: tell whether some code point of [lo, hi] may be encoded in
 * len bytes (the shortest form only, no surrogate, none above U+10FFFF).
 */
static int
t_ref_possible(uint32_t lo, uint32_t hi, int len)
{
	static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
	static const uint32_t max_cp[] = {0, 0x7f, 0x7ff, 0xffff, 0x10ffff};
	uint32_t a, b;

	a = lo > min_cp[len] ? lo : min_cp[len];
	b = hi < max_cp[len] ? hi : max_cp[len];
	if (a > b)
		return 0;
	return !(a >= 0xd800 && b <= 0xdfff);
}

/*
 * Reference decoder, written from the definition rather than from byte
 * tables: a prefix of a sequence is valid while the code points it may
 * still become include a valid one. Return the offset of the first byte
 * after which no valid text can follow, or T_VALID; set *complete when
 * the text is valid and ends between sequences.
 */
static size_t
t_ref_validate(const unsigned char *p, size_t n, int *complete)
{
	size_t i = 0;
	uint32_t cp, lo, hi;
	int len, k, free_bits;

	*complete = 0;
	while (i < n) {
		if (p[i] < 0x80) {
			len = 1;
			cp = p[i];
		} else if ((p[i] & 0xe0) == 0xc0) {
			len = 2;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			len = 3;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			len = 4;
			cp = p[i] & 0x07;
		} else {
			return i; /* a continuation byte, or F8..FF */
		}
		for (k = 1;; k++) {
			/* cp holds the bits of the first k bytes. */
			free_bits = 6 * (len - k);
			lo = cp << free_bits;
			hi = lo | ((1U << free_bits) - 1);
			if (!t_ref_possible(lo, hi, len))
				return i + (size_t)k - 1;
			if (k == len)
				break;
			if (i + (size_t)k == n)
				return T_VALID; /* ends mid-sequence */
			if ((p[i + (size_t)k] & 0xc0) != 0x80)
				return i + (size_t)k;
			cp = cp << 6 | (p[i + (size_t)k] & 0x3f);
		}
		i += (size_t)len;
	}
	*complete = 1;
	return T_VALID;
}

/*
 * Validate p[0..n) in the pieces that end at cuts[0..ncuts) (increasing,
 * each at most n) and then at n. Each piece is copied to a buffer of its
 * own exact size, so a read past a piece is a read past an allocation.
 */
static struct t_run
t_run_pieces(const unsigned char *p, size_t n, const size_t *cuts, int ncuts)
{
	struct t_run r = {T_VALID, 0, UTF8_ACCEPT};
	size_t start = 0, end, got;
	unsigned char *piece;
	int c;

	for (c = 0; c <= ncuts; c++) {
		end = c < ncuts ? cuts[c] : n;
		piece = malloc(end > start ? end - start : 1);
		assert_non_null(piece);
		if (end > start)
			memcpy(piece, p + start, end - start);
		got = utf8_validate(&r.tr_state, piece, end - start);
		free(piece);
		if (r.tr_off == T_VALID && got != end - start) {
			assert_true(got < end - start);
			assert_true(r.tr_state == UTF8_REJECT);
			r.tr_off = start + got;
		} else if (r.tr_off != T_VALID) {
			/* Once rejected, every later piece is rejected at 0. */
			assert_int_equal(got, 0);
			assert_true(r.tr_state == UTF8_REJECT);
		} else {
			assert_true(r.tr_state != UTF8_REJECT);
		}
		start = end;
	}
	r.tr_complete = r.tr_off == T_VALID && utf8_complete(r.tr_state);
	return r;
}

/* Validate p[0..n) in one call. */
static struct t_run
t_run_whole(const unsigned char *p, size_t n)
{
	return t_run_pieces(p, n, NULL, 0);
}

/* Validate p[0..n) one byte per call. */
static struct t_run
t_run_bytes(const unsigned char *p, size_t n)
{
	size_t cuts[T_MAX];
	size_t i;

	assert_true(n <= T_MAX);
	for (i = 0; i < n; i++)
		cuts[i] = i;
	return t_run_pieces(p, n, cuts, (int)n);
}

/* Assert that a run found want_off and want_complete; say which run. */
static void
t_assert_run(struct t_run r, size_t want_off, int want_complete,
    const char *how, size_t a, size_t b)
{
	if (r.tr_off != want_off || r.tr_complete != want_complete)
		fail_msg("%s (%zu, %zu): offset %zd complete %d, want "
			 "offset %zd complete %d",
		    how, a, b, (ssize_t)r.tr_off, r.tr_complete,
		    (ssize_t)want_off, want_complete);
}

/*
 * Assert that p[0..n) has its first invalid byte at want_off (T_VALID for
 * none) and, if valid, ends complete or not: validated whole, byte by
 * byte, cut once at every position and cut twice at every pair.
 */
static void
t_check(const unsigned char *p, size_t n, size_t want_off, int want_complete)
{
	size_t cuts[2];

	if (want_off != T_VALID)
		want_complete = 0;
	t_assert_run(t_run_whole(p, n), want_off, want_complete, "whole", 0, 0);
	t_assert_run(t_run_bytes(p, n), want_off, want_complete, "bytes", 0, 0);
	for (cuts[0] = 0; cuts[0] <= n; cuts[0]++) {
		t_assert_run(t_run_pieces(p, n, cuts, 1), want_off,
		    want_complete, "cut", cuts[0], 0);
		for (cuts[1] = cuts[0]; cuts[1] <= n; cuts[1]++)
			t_assert_run(t_run_pieces(p, n, cuts, 2), want_off,
			    want_complete, "cuts", cuts[0], cuts[1]);
	}
}

/* Assert that p[0..n) is valid and complete. */
static void
t_valid(const unsigned char *p, size_t n)
{
	t_check(p, n, T_VALID, 1);
}

/* Assert that p[0..n) is valid so far but ends mid-sequence. */
static void
t_incomplete(const unsigned char *p, size_t n)
{
	t_check(p, n, T_VALID, 0);
}

/* Assert that the first invalid byte of p[0..n) is at off. */
static void
t_invalid_at(const unsigned char *p, size_t n, size_t off)
{
	t_check(p, n, off, 0);
}

/*
 * Assert that the validator agrees with the reference on p[0..n), whole
 * and byte by byte, with no allocation per call (for the long loops).
 */
static void
t_agree(const unsigned char *p, size_t n)
{
	size_t want, got, i;
	uint32_t st;
	int complete;

	want = t_ref_validate(p, n, &complete);

	st = UTF8_ACCEPT;
	got = utf8_validate(&st, p, n);
	if (got == n && st != UTF8_REJECT)
		got = T_VALID;
	if (got != want || (want == T_VALID && utf8_complete(st) != complete))
		goto mismatch;

	st = UTF8_ACCEPT;
	got = T_VALID;
	for (i = 0; i < n && got == T_VALID; i++)
		if (utf8_validate(&st, p + i, 1) != 1)
			got = i;
	if (got != want || (want == T_VALID && utf8_complete(st) != complete))
		goto mismatch;
	if (got != T_VALID && st != UTF8_REJECT)
		goto mismatch;
	return;
mismatch:
	fail_msg("disagree on %02x %02x %02x %02x (%zu bytes): "
		 "validator %zd, reference %zd",
	    p[0], n > 1 ? p[1] : 0, n > 2 ? p[2] : 0, n > 3 ? p[3] : 0, n,
	    (ssize_t)got, (ssize_t)want);
}

/* Encode code point cp (any value below 2^21) in len bytes at p. */
static size_t
t_encode(unsigned char *p, uint32_t cp, int len)
{
	static const unsigned char lead[] = {0, 0x00, 0xc0, 0xe0, 0xf0};
	int k;

	p[0] = (unsigned char)(lead[len] | cp >> (6 * (len - 1)));
	for (k = 1; k < len; k++)
		p[k] = (unsigned char)(0x80 |
		    ((cp >> (6 * (len - 1 - k))) & 0x3f));
	return (size_t)len;
}

/* Return the length of the shortest encoding of code point cp. */
static int
t_shortest_len(uint32_t cp)
{
	if (cp < 0x80)
		return 1;
	if (cp < 0x800)
		return 2;
	if (cp < 0x10000)
		return 3;
	return 4;
}

/* Tell whether cp encoded in len bytes is valid UTF-8, by definition. */
static int
t_encoding_valid(uint32_t cp, int len)
{
	return len == t_shortest_len(cp) && cp <= 0x10ffff &&
	    (cp < 0xd800 || cp > 0xdfff);
}

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t
t_rand(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*seed >> 33);
}

/* ---- valid text ---- */

/* Plain ASCII, every byte 00..7F, is valid. */
static void
test_ascii_is_valid(void **state)
{
	unsigned char all[128];
	int i;

	(void)state;
	for (i = 0; i < 128; i++)
		all[i] = (unsigned char)i;
	t_valid(LIT("Hello, world!"));
	t_valid(all, T_MAX);
	t_valid(all + T_MAX, T_MAX);
	assert_int_equal(t_run_whole(all, sizeof(all)).tr_off, T_VALID);
}

/* The empty text is valid and complete, and leaves the state alone. */
static void
test_empty_text_is_valid(void **state)
{
	uint32_t st = UTF8_ACCEPT;

	(void)state;
	assert_int_equal(utf8_validate(&st, "", 0), 0);
	assert_true(st == UTF8_ACCEPT);
	assert_true(utf8_complete(st));
	t_valid(LIT(""));
}

/* Two-, three- and four-byte sequences are valid. */
static void
test_multibyte_sequences_are_valid(void **state)
{
	(void)state;
	t_valid(LIT("\xc2\xa9"));	  /* U+00A9 */
	t_valid(LIT("\xd0\x96"));	  /* U+0416 */
	t_valid(LIT("\xe2\x82\xac"));	  /* U+20AC */
	t_valid(LIT("\xe6\x97\xa5"));	  /* U+65E5 */
	t_valid(LIT("\xf0\x9f\x98\x80")); /* U+1F600 */
	t_valid(LIT("\xf3\xa0\x80\x81")); /* U+E0001 */
	t_valid(LIT("a\xc2\xa9z\xe2\x82\xac\xf0\x9f\x98\x80."));
}

/* The first and last code point of each length are valid. */
static void
test_length_boundaries_are_valid(void **state)
{
	(void)state;
	t_valid(LIT("\x00"));		  /* U+0000 */
	t_valid(LIT("\x7f"));		  /* U+007F */
	t_valid(LIT("\xc2\x80"));	  /* U+0080 */
	t_valid(LIT("\xdf\xbf"));	  /* U+07FF */
	t_valid(LIT("\xe0\xa0\x80"));	  /* U+0800 */
	t_valid(LIT("\xef\xbf\xbf"));	  /* U+FFFF */
	t_valid(LIT("\xf0\x90\x80\x80")); /* U+10000 */
	t_valid(LIT("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
}

/* The code points next to the surrogates, and in E1..EC, EE..EF, are valid. */
static void
test_code_points_around_surrogates_are_valid(void **state)
{
	(void)state;
	t_valid(LIT("\xed\x9f\xbf"));	  /* U+D7FF */
	t_valid(LIT("\xee\x80\x80"));	  /* U+E000 */
	t_valid(LIT("\xe1\x80\x80"));	  /* U+1000 */
	t_valid(LIT("\xec\xbf\xbf"));	  /* U+CFFF */
	t_valid(LIT("\xed\x80\x80"));	  /* U+D000 */
	t_valid(LIT("\xef\xbf\xbd"));	  /* U+FFFD */
	t_valid(LIT("\xf1\x80\x80\x80")); /* U+40000 */
	t_valid(LIT("\xf3\xbf\xbf\xbf")); /* U+FFFFF */
	t_valid(LIT("\xf4\x80\x80\x80")); /* U+100000 */
}

/* Noncharacters are valid UTF-8 (Autobahn 6.22). */
static void
test_noncharacters_are_valid(void **state)
{
	(void)state;
	t_valid(LIT("\xef\xbf\xbe"));	  /* U+FFFE */
	t_valid(LIT("\xef\xb7\x90"));	  /* U+FDD0 */
	t_valid(LIT("\xf0\x9f\xbf\xbe")); /* U+1FFFE */
	t_valid(LIT("\xf4\x8f\xbf\xbe")); /* U+10FFFE */
}

/* Autobahn 6.2 and 6.5: mixed text is valid whole and split anywhere. */
static void
test_autobahn_valid_texts(void **state)
{
	(void)state;
	t_valid(LIT("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0"
		    "\xc3\xa1-UTF-8!!"));
	t_valid(LIT("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));
}

/* ---- invalid text ---- */

/* Overlong two-byte forms (C0, C1) fail at the lead byte. */
static void
test_overlong_two_byte_forms_fail_at_lead(void **state)
{
	(void)state;
	t_invalid_at(LIT("\xc0\x80"), 0); /* NUL */
	t_invalid_at(LIT("\xc0\xaf"), 0); /* '/' */
	t_invalid_at(LIT("\xc1\xbf"), 0); /* U+007F */
	t_invalid_at(LIT("ab\xc0\x80"), 2);
	t_invalid_at(LIT("\xc0"), 0);
	t_invalid_at(LIT("\xc1"), 0);
}

/* Overlong three-byte forms (E0 80..9F) fail at the second byte. */
static void
test_overlong_three_byte_forms_fail_at_second_byte(void **state)
{
	(void)state;
	t_invalid_at(LIT("\xe0\x80\x80"), 1);
	t_invalid_at(LIT("\xe0\x80\xaf"), 1);
	t_invalid_at(LIT("\xe0\x9f\xbf"), 1); /* U+07FF, overlong */
	t_invalid_at(LIT("x\xe0\x9f"), 2);
}

/* Overlong four-byte forms (F0 80..8F) fail at the second byte. */
static void
test_overlong_four_byte_forms_fail_at_second_byte(void **state)
{
	(void)state;
	t_invalid_at(LIT("\xf0\x80\x80\x80"), 1);
	t_invalid_at(LIT("\xf0\x80\x80\xaf"), 1);
	t_invalid_at(LIT("\xf0\x8f\xbf\xbf"), 1); /* U+FFFF, overlong */
	t_invalid_at(LIT("x\xf0\x8f"), 2);
}

/* UTF-16 surrogates (ED A0..BF) fail at the second byte. */
static void
test_surrogates_fail_at_second_byte(void **state)
{
	(void)state;
	t_invalid_at(LIT("\xed\xa0\x80"), 1); /* U+D800 */
	t_invalid_at(LIT("\xed\xad\xbf"), 1); /* U+DB7F */
	t_invalid_at(LIT("\xed\xae\x80"), 1); /* U+DB80 */
	t_invalid_at(LIT("\xed\xaf\xbf"), 1); /* U+DBFF */
	t_invalid_at(LIT("\xed\xb0\x80"), 1); /* U+DC00 */
	t_invalid_at(LIT("\xed\xbe\x80"), 1); /* U+DF80 */
	t_invalid_at(LIT("\xed\xbf\xbf"), 1); /* U+DFFF */
	/* A surrogate pair is no better (Autobahn 6.21). */
	t_invalid_at(LIT("\xed\xa0\x80\xed\xb0\x80"), 1);
	t_invalid_at(LIT("\xed\xaf\xbf\xed\xbf\xbf"), 1);
}

/* Code points above U+10FFFF (F4 90..BF) fail at the second byte. */
static void
test_above_max_code_point_fails_at_second_byte(void **state)
{
	(void)state;
	t_invalid_at(LIT("\xf4\x90\x80\x80"), 1); /* U+110000 */
	t_invalid_at(LIT("\xf4\xbf\xbf\xbf"), 1);
	t_invalid_at(LIT("abc\xf4\x90"), 4);
}

/* Lead bytes F5..FF can never start a sequence and fail at once. */
static void
test_bytes_f5_to_ff_fail_at_once(void **state)
{
	unsigned char buf[5] = {'a', 0, 0x80, 0x80, 0x80};
	int b;

	(void)state;
	for (b = 0xf5; b <= 0xff; b++) {
		buf[1] = (unsigned char)b;
		t_invalid_at(buf, sizeof(buf), 1);
		t_invalid_at(buf + 1, 1, 0);
	}
	/* Five- and six-byte forms of old (Autobahn 6.8, 6.10). */
	t_invalid_at(LIT("\xf8\x88\x80\x80\x80"), 0);
	t_invalid_at(LIT("\xfc\x84\x80\x80\x80\x80"), 0);
	t_invalid_at(LIT("\xf7\xbf\xbf\xbf"), 0);
	t_invalid_at(LIT("\xfb\xbf\xbf\xbf\xbf"), 0);
	t_invalid_at(LIT("\xfd\xbf\xbf\xbf\xbf\xbf"), 0);
	t_invalid_at(LIT("\xfe\xfe\xff\xff"), 0);
}

/* A continuation byte without a lead byte fails where it stands. */
static void
test_lone_continuation_bytes_fail(void **state)
{
	unsigned char buf[2] = {'a', 0};
	int b;

	(void)state;
	for (b = 0x80; b <= 0xbf; b++) {
		buf[1] = (unsigned char)b;
		t_invalid_at(buf, 2, 1);
		t_invalid_at(buf + 1, 1, 0);
	}
	/* One too many after a complete sequence. */
	t_invalid_at(LIT("\xc2\xa9\xa9"), 2);
	t_invalid_at(LIT("\xe2\x82\xac\x80"), 3);
	t_invalid_at(LIT("\xf0\x9f\x98\x80\x80"), 4);
	t_invalid_at(LIT("\x80\xbf\x80\xbf"), 0);
}

/* A sequence cut short by an ASCII byte fails at that byte. */
static void
test_truncated_sequence_then_ascii_fails_at_ascii(void **state)
{
	(void)state;
	t_invalid_at(LIT("\xc2"
			 "a"),
	    1);
	t_invalid_at(LIT("\xe2\x82"
			 "a"),
	    2);
	t_invalid_at(LIT("\xe2"
			 "a"),
	    1);
	t_invalid_at(LIT("\xf0\x9f\x98"
			 "a"),
	    3);
	t_invalid_at(LIT("\xf0\x9f"
			 "a"),
	    2);
	t_invalid_at(LIT("\xf0"
			 "a"),
	    1);
	/* Autobahn 6.13: every lonely start character, then a space. */
	t_invalid_at(LIT("\xdf \xe0 "), 1);
	t_invalid_at(LIT("\xef \xf4 "), 1);
}

/* A sequence cut short by another lead byte fails at that byte. */
static void
test_truncated_sequence_then_lead_fails_at_lead(void **state)
{
	(void)state;
	t_invalid_at(LIT("\xc2\xc2\xa9"), 1);
	t_invalid_at(LIT("\xe2\x82\xe2\x82\xac"), 2);
	t_invalid_at(LIT("\xf0\x9f\x98\xf0\x9f\x98\x80"), 3);
}

/* Autobahn 6.3, 6.4: "κόσμε" and a bad tail fail at the first bad byte. */
static void
test_autobahn_invalid_texts_fail_fast(void **state)
{
	(void)state;
	/* 6.3.1: a surrogate, then "edited". */
	t_invalid_at(LIT("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed"
			 "\xa0\x80\x65\x64\x69\x74\x65\x64"),
	    12);
	/* 6.4.1 and 6.4.2: above U+10FFFF, then "edited". */
	t_invalid_at(LIT("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4"
			 "\x90\x80\x80\x65\x64\x69\x74\x65\x64"),
	    12);
	/* 6.4.3: a lone continuation byte after the text. */
	t_invalid_at(LIT("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
			 "\x80\x65\x64\x69\x74\x65\x64"),
	    11);
}

/* ---- incomplete text ---- */

/* A text that ends mid-sequence is valid so far but not complete. */
static void
test_text_ending_mid_sequence_is_incomplete(void **state)
{
	(void)state;
	t_incomplete(LIT("\xc2"));
	t_incomplete(LIT("\xdf"));
	t_incomplete(LIT("\xe0\xa0"));
	t_incomplete(LIT("\xef\xbf"));
	t_incomplete(LIT("\xed\x9f"));
	t_incomplete(LIT("\xf0\x90\x80"));
	t_incomplete(LIT("\xf4\x8f\xbf"));
	t_incomplete(LIT("abc\xe2\x82"));
	/* Autobahn 6.6: every prefix of "κόσμε" that cuts a sequence. */
	t_incomplete(LIT("\xce"));
	t_incomplete(LIT("\xce\xba\xe1"));
	t_incomplete(LIT("\xce\xba\xe1\xbd"));
	t_incomplete(LIT("\xce\xba\xe1\xbd\xb9\xcf"));
}

/* The rest of a sequence, in a later call, completes the text. */
static void
test_later_call_completes_sequence(void **state)
{
	uint32_t st = UTF8_ACCEPT;

	(void)state;
	assert_int_equal(utf8_validate(&st, "ab\xf0\x9f", 4), 4);
	assert_false(utf8_complete(st));
	assert_int_equal(utf8_validate(&st, "\x98", 1), 1);
	assert_false(utf8_complete(st));
	assert_int_equal(utf8_validate(&st, "\x80z", 2), 2);
	assert_true(utf8_complete(st));
}

/* utf8_complete() holds for ACCEPT only, not for REJECT. */
static void
test_complete_only_in_accept_state(void **state)
{
	uint32_t st = UTF8_ACCEPT;

	(void)state;
	assert_true(utf8_complete(UTF8_ACCEPT));
	assert_false(utf8_complete(UTF8_REJECT));
	assert_int_equal(utf8_validate(&st, "\xff", 1), 0);
	assert_false(utf8_complete(st));
}

/* ---- state across calls ---- */

/* Every sequence split at every byte position validates as a whole does. */
static void
test_split_at_every_position_matches_whole(void **state)
{
	static const uint32_t cps[] = {0x41, 0x7f, 0x80, 0xe9, 0x7ff, 0x800,
	    0x20ac, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff};
	unsigned char buf[3 * 4 + 2];
	size_t i, n;
	int len;

	(void)state;
	for (i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
		len = t_shortest_len(cps[i]);
		/* The same sequence three times, between ASCII bytes. */
		n = 0;
		buf[n++] = 'x';
		n += t_encode(buf + n, cps[i], len);
		n += t_encode(buf + n, cps[i], len);
		n += t_encode(buf + n, cps[i], len);
		buf[n++] = 'y';
		t_valid(buf, n);
		/* Without 'y' and the last byte: ends mid-sequence. */
		if (len > 1)
			t_incomplete(buf, n - 2);
	}
}

/* An invalid byte is reported at its offset however the text is split. */
static void
test_split_invalid_text_reports_same_offset(void **state)
{
	(void)state;
	t_invalid_at(LIT("\xe2\x82\xac\xed\xa0\x80xyz"), 4);
	t_invalid_at(LIT("ab\xf0\x9f\x98\x80\xf4\x90\x80\x80"), 7);
	t_invalid_at(LIT("\xc3\xa9\xe0\x80\x80"), 3);
}

/* A split sequence is checked against its lead's first-byte range. */
static void
test_split_keeps_first_byte_range(void **state)
{
	uint32_t st;

	(void)state;
	/* E0 then 80 in another call: still overlong. */
	st = UTF8_ACCEPT;
	assert_int_equal(utf8_validate(&st, "\xe0", 1), 1);
	assert_int_equal(utf8_validate(&st, "\x80\x80", 2), 0);
	assert_true(st == UTF8_REJECT);
	/* ED then A0: a surrogate. */
	st = UTF8_ACCEPT;
	assert_int_equal(utf8_validate(&st, "\xed", 1), 1);
	assert_int_equal(utf8_validate(&st, "\xa0\x80", 2), 0);
	/* F4 then 90: above U+10FFFF. */
	st = UTF8_ACCEPT;
	assert_int_equal(utf8_validate(&st, "\xf4", 1), 1);
	assert_int_equal(utf8_validate(&st, "\x90", 1), 0);
	/* F0 then 8F: overlong. */
	st = UTF8_ACCEPT;
	assert_int_equal(utf8_validate(&st, "\xf0", 1), 1);
	assert_int_equal(utf8_validate(&st, "\x8f", 1), 0);
	/* Only the first continuation byte is restricted: ED 9F then BF. */
	st = UTF8_ACCEPT;
	assert_int_equal(utf8_validate(&st, "\xed\x9f", 2), 2);
	assert_int_equal(utf8_validate(&st, "\xbf", 1), 1);
	assert_true(utf8_complete(st));
	/* F4 8F then BF BF. */
	st = UTF8_ACCEPT;
	assert_int_equal(utf8_validate(&st, "\xf4\x8f", 2), 2);
	assert_int_equal(utf8_validate(&st, "\xbf\xbf", 2), 2);
	assert_true(utf8_complete(st));
}

/* Once rejected, the state stays rejected and every call returns 0. */
static void
test_reject_is_sticky(void **state)
{
	uint32_t st = UTF8_ACCEPT;

	(void)state;
	assert_int_equal(utf8_validate(&st, "ok\xc0", 3), 2);
	assert_true(st == UTF8_REJECT);
	assert_int_equal(utf8_validate(&st, "plain ASCII", 11), 0);
	assert_true(st == UTF8_REJECT);
	assert_int_equal(utf8_validate(&st, "\xc2\xa9", 2), 0);
	assert_true(st == UTF8_REJECT);
	assert_int_equal(utf8_validate(&st, "0123456789abcdef", 16), 0);
	assert_true(st == UTF8_REJECT);
	assert_false(utf8_complete(st));
}

/* ---- the ASCII fast path ---- */

/* An invalid byte at any position 0..17 of ASCII is found at its offset. */
static void
test_fast_path_finds_invalid_byte_at_each_position(void **state)
{
	static const unsigned char bad[] = {0x80, 0xbf, 0xc0, 0xf5, 0xff};
	unsigned char buf[40 + 8];
	size_t pos, b, align, i;
	uint32_t st;

	(void)state;
	for (align = 0; align < 8; align++) {
		for (pos = 0; pos < 18; pos++) {
			for (b = 0; b < sizeof(bad); b++) {
				memset(buf, 'a', sizeof(buf));
				buf[align + pos] = bad[b];
				st = UTF8_ACCEPT;
				assert_int_equal(
				    utf8_validate(&st, buf + align, 40), pos);
				assert_true(st == UTF8_REJECT);
			}
			/* Also after a valid prefix that is not ASCII. */
			memset(buf, 'a', sizeof(buf));
			buf[align] = 0xc3;
			buf[align + 1] = 0xa9;
			buf[align + 2 + pos] = 0xff;
			st = UTF8_ACCEPT;
			assert_int_equal(
			    utf8_validate(&st, buf + align, 40), 2 + pos);
			for (i = 0; i < 40; i++)
				buf[align + i] = (unsigned char)('a' + i % 26);
			st = UTF8_ACCEPT;
			assert_int_equal(
			    utf8_validate(&st, buf + align, 40), 40);
			assert_true(utf8_complete(st));
		}
	}
}

/* A valid sequence at any position 0..17 of ASCII passes the fast path. */
static void
test_fast_path_passes_sequence_at_each_position(void **state)
{
	unsigned char buf[40];
	size_t pos;

	(void)state;
	for (pos = 0; pos < 18; pos++) {
		memset(buf, 'a', sizeof(buf));
		memcpy(buf + pos, "\xf0\x9f\x98\x80", 4);
		assert_int_equal(t_run_whole(buf, sizeof(buf)).tr_off, T_VALID);
		assert_true(t_run_whole(buf, sizeof(buf)).tr_complete);
		assert_false(t_run_whole(buf, pos + 3).tr_complete);
	}
}

/* After a lead byte, ASCII ends the sequence even where 8 bytes follow. */
static void
test_fast_path_not_taken_mid_sequence(void **state)
{
	unsigned char buf[40];
	size_t pos;

	(void)state;
	for (pos = 0; pos < 18; pos++) {
		memset(buf, 'a', sizeof(buf));
		buf[pos] = 0xe2;
		t_invalid_at(buf, 20, pos + 1);
		buf[pos + 1] = 0x82;
		t_invalid_at(buf, 20, pos + 2);
	}
}

/* An invalid byte after a long ASCII run, in any piece, is found. */
static void
test_fast_path_long_run_then_invalid_byte(void **state)
{
	unsigned char buf[4096];
	size_t pos;
	uint32_t st;

	(void)state;
	for (pos = sizeof(buf) - 24; pos < sizeof(buf); pos++) {
		memset(buf, ' ', sizeof(buf));
		buf[pos] = 0x80;
		st = UTF8_ACCEPT;
		assert_int_equal(utf8_validate(&st, buf, sizeof(buf)), pos);
		st = UTF8_ACCEPT;
		assert_int_equal(utf8_validate(&st, buf, 1001), 1001);
		assert_int_equal(
		    utf8_validate(&st, buf + 1001, sizeof(buf) - 1001),
		    pos - 1001);
	}
}

/* ---- against the reference decoder ---- */

/* The reference agrees with the known cases it stands for. */
static void
test_reference_decoder_sanity(void **state)
{
	int complete;

	(void)state;
	assert_int_equal(t_ref_validate(LIT("\xc0\x80"), &complete), 0);
	assert_int_equal(t_ref_validate(LIT("\xe0\x9f\xbf"), &complete), 1);
	assert_int_equal(t_ref_validate(LIT("\xed\xa0\x80"), &complete), 1);
	assert_int_equal(t_ref_validate(LIT("\xf4\x90\x80\x80"), &complete), 1);
	assert_int_equal(t_ref_validate(LIT("\xf5"), &complete), 0);
	assert_int_equal(t_ref_validate(LIT("\xe2\x82"
					    "a"),
			     &complete),
	    2);
	assert_int_equal(
	    t_ref_validate(LIT("\xf4\x8f\xbf\xbf"), &complete), T_VALID);
	assert_true(complete);
	assert_int_equal(
	    t_ref_validate(LIT("\xf4\x8f\xbf"), &complete), T_VALID);
	assert_false(complete);
}

/* Every one- and two-byte text: validator and reference agree. */
static void
test_all_one_and_two_byte_texts_agree(void **state)
{
	unsigned char buf[2];
	int a, b;

	(void)state;
	for (a = 0; a < 256; a++) {
		buf[0] = (unsigned char)a;
		t_agree(buf, 1);
		for (b = 0; b < 256; b++) {
			buf[1] = (unsigned char)b;
			t_agree(buf, 2);
		}
	}
}

/* Every three-byte text, and each followed by ASCII: they agree. */
static void
test_all_three_byte_texts_agree(void **state)
{
	unsigned char buf[4];
	uint32_t v;

	(void)state;
	buf[3] = 'z';
	for (v = 0; v < 1U << 24; v++) {
		buf[0] = (unsigned char)(v >> 16);
		buf[1] = (unsigned char)(v >> 8);
		buf[2] = (unsigned char)v;
		t_agree(buf, 3);
		if (buf[0] >= 0xe0)
			t_agree(buf, 4);
	}
}

/* Four-byte texts, all first two bytes and edge later ones: they agree. */
static void
test_sampled_four_byte_texts_agree(void **state)
{
	static const unsigned char edge[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
	    0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xff};
	unsigned char buf[5];
	size_t c, d;
	int a, b;

	(void)state;
	buf[4] = 'z';
	for (a = 0; a < 256; a++) {
		buf[0] = (unsigned char)a;
		for (b = 0; b < 256; b++) {
			buf[1] = (unsigned char)b;
			for (c = 0; c < sizeof(edge); c++) {
				buf[2] = edge[c];
				for (d = 0; d < sizeof(edge); d++) {
					buf[3] = edge[d];
					t_agree(buf, 4);
					t_agree(buf, 5);
				}
			}
		}
	}
}

/* Every code point encoded in 1 to 4 bytes, in the shortest form or not. */
static void
test_every_code_point_encoding_agrees(void **state)
{
	unsigned char buf[4];
	uint32_t cp;
	size_t want;
	int len, complete;

	(void)state;
	for (cp = 0; cp < 1U << 21; cp++) {
		for (len = 1; len <= 4; len++) {
			if (cp >> (len == 1 ? 7 : 5 * len + 1) != 0)
				continue; /* does not fit in len bytes */
			t_encode(buf, cp, len);
			t_agree(buf, (size_t)len);
			/* Spot-check the reference against the definition. */
			want = t_ref_validate(buf, (size_t)len, &complete);
			if ((want == T_VALID) != t_encoding_valid(cp, len))
				fail_msg(
				    "reference wrong on U+%04X in %d bytes",
				    (unsigned)cp, len);
		}
	}
}

/*
 * Random texts, mostly valid sequences with some random bytes, cut at
 * random points: validator and reference agree.
 */
static void
test_random_texts_split_randomly_agree(void **state)
{
	unsigned char buf[T_MAX];
	size_t n, want, at, cuts[4];
	struct t_run r;
	uint64_t seed = 42;
	uint32_t x;
	int i, c, complete, len;

	(void)state;
	for (i = 0; i < T_RANDOM_RUNS; i++) {
		n = 0;
		while (n + 4 <= sizeof(buf) && t_rand(&seed) % 16 != 0) {
			x = t_rand(&seed);
			if (x % 8 == 0) {
				buf[n++] = (unsigned char)(x >> 8);
				continue;
			}
			len = 1 + (int)(x >> 3) % 4;
			x = t_rand(&seed);
			switch (len) {
			case 1:
				x %= 0x80;
				break;
			case 2:
				x = 0x80 + x % (0x800 - 0x80);
				break;
			case 3:
				x = 0x800 + x % (0x10000 - 0x800);
				break;
			default:
				x = 0x10000 + x % (0x110000 - 0x10000);
				break;
			}
			if (len == 3 && x >= 0xd800 && x <= 0xdfff)
				x = 0xfffd;
			n += t_encode(buf + n, x, len);
		}
		want = t_ref_validate(buf, n, &complete);
		for (c = 0, at = 0; c < 4; c++)
			cuts[c] = at += t_rand(&seed) % (n - at + 1);
		r = t_run_pieces(buf, n, cuts, 4);
		if (r.tr_off != want ||
		    (want == T_VALID && r.tr_complete != complete))
			fail_msg("run %d: offset %zd, reference %zd", i,
			    (ssize_t)r.tr_off, (ssize_t)want);
		t_agree(buf, n);
	}
}

/* Run every utf8.c test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ascii_is_valid),
	    cmocka_unit_test(test_empty_text_is_valid),
	    cmocka_unit_test(test_multibyte_sequences_are_valid),
	    cmocka_unit_test(test_length_boundaries_are_valid),
	    cmocka_unit_test(test_code_points_around_surrogates_are_valid),
	    cmocka_unit_test(test_noncharacters_are_valid),
	    cmocka_unit_test(test_autobahn_valid_texts),
	    cmocka_unit_test(test_overlong_two_byte_forms_fail_at_lead),
	    cmocka_unit_test(
		test_overlong_three_byte_forms_fail_at_second_byte),
	    cmocka_unit_test(test_overlong_four_byte_forms_fail_at_second_byte),
	    cmocka_unit_test(test_surrogates_fail_at_second_byte),
	    cmocka_unit_test(test_above_max_code_point_fails_at_second_byte),
	    cmocka_unit_test(test_bytes_f5_to_ff_fail_at_once),
	    cmocka_unit_test(test_lone_continuation_bytes_fail),
	    cmocka_unit_test(test_truncated_sequence_then_ascii_fails_at_ascii),
	    cmocka_unit_test(test_truncated_sequence_then_lead_fails_at_lead),
	    cmocka_unit_test(test_autobahn_invalid_texts_fail_fast),
	    cmocka_unit_test(test_text_ending_mid_sequence_is_incomplete),
	    cmocka_unit_test(test_later_call_completes_sequence),
	    cmocka_unit_test(test_complete_only_in_accept_state),
	    cmocka_unit_test(test_split_at_every_position_matches_whole),
	    cmocka_unit_test(test_split_invalid_text_reports_same_offset),
	    cmocka_unit_test(test_split_keeps_first_byte_range),
	    cmocka_unit_test(test_reject_is_sticky),
	    cmocka_unit_test(
		test_fast_path_finds_invalid_byte_at_each_position),
	    cmocka_unit_test(test_fast_path_passes_sequence_at_each_position),
	    cmocka_unit_test(test_fast_path_not_taken_mid_sequence),
	    cmocka_unit_test(test_fast_path_long_run_then_invalid_byte),
	    cmocka_unit_test(test_reference_decoder_sanity),
	    cmocka_unit_test(test_all_one_and_two_byte_texts_agree),
	    cmocka_unit_test(test_all_three_byte_texts_agree),
	    cmocka_unit_test(test_sampled_four_byte_texts_agree),
	    cmocka_unit_test(test_every_code_point_encoding_agrees),
	    cmocka_unit_test(test_random_texts_split_randomly_agree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
