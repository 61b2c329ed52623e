/*
 * fuzz_utf8: the incremental UTF-8 validator of utf8.c (WebSocket text).
 *
 * The reference decoder here is written differently from utf8.c: it reads
 * a sequence's length from the lead byte's bit pattern (0xxxxxxx,
 * 110xxxxx, 1110xxxx, 11110xxx), requires 10xxxxxx continuation bytes,
 * and after each byte asks whether the code points that could still
 * complete the sequence (the bits so far, the rest all 0s to all 1s)
 * include a valid one: at least 0x80, 0x800 or 0x10000 for 2, 3 or 4
 * bytes (no overlong form), at most U+10FFFF, not a surrogate
 * (U+D800..DFFF). The first byte after which none can is the first
 * invalid byte: this is strict UTF-8 that fails as early as possible.
 *
 * It asserts, for any input:
 *
 * - utf8_validate() from UTF8_ACCEPT over the whole input returns the
 *   input's length if the reference finds no invalid byte (and then
 *   utf8_complete() tells whether the text ends between sequences), or
 *   the offset of the first invalid byte with the state UTF8_REJECT.
 * - Split into pieces (at every offset into two pieces for short inputs,
 *   at random offsets into several), with the state carried from one call
 *   to the next and each piece in an exact-size copy (so the 8-byte ASCII
 *   fast path cannot read past it), the verdict, the offset of the first
 *   invalid byte and the final state are the same; a rejected state stays
 *   rejected and consumes nothing.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "fuzz.h"

#define FUZZ_ALL_SPLITS 512 /* every split offset up to this size */

/*
 * The reference: return the offset of the first invalid byte of p[0..n),
 * or n if there is none; *complete tells whether the text ends between
 * sequences.
 */
static size_t
ref_validate(const unsigned char *p, size_t n, int *complete)
{
	static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
	uint32_t cp = 0, lo, hi, rest_bits;
	size_t i;
	int need = 0, have = 0;

	for (i = 0; i < n; i++) {
		if (need == 0) {
			if (p[i] < 0x80)
				continue;
			if ((p[i] & 0xe0) == 0xc0) {
				need = 2;
				cp = p[i] & 0x1f;
			} else if ((p[i] & 0xf0) == 0xe0) {
				need = 3;
				cp = p[i] & 0x0f;
			} else if ((p[i] & 0xf8) == 0xf0) {
				need = 4;
				cp = p[i] & 0x07;
			} else
				return i; /* a continuation or F8..FF */
			have = 1;
		} else {
			if ((p[i] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (p[i] & 0x3f);
			have++;
		}
		/* The code points this prefix can still become. */
		rest_bits = 6 * (uint32_t)(need - have);
		lo = cp << rest_bits;
		hi = lo | ((1u << rest_bits) - 1);
		if (lo < min_cp[need])
			lo = min_cp[need];
		if (hi > 0x10ffff)
			hi = 0x10ffff;
		if (lo > hi || (lo >= 0xd800 && hi <= 0xdfff))
			return i;
		if (have == need)
			need = 0;
	}
	*complete = need == 0;
	return n;
}

/*
 * Validate p[0..n) in pieces cut at the offsets cuts[0..ncuts) (sorted),
 * each piece in an exact-size copy. Return the offset of the first invalid
 * byte, or n; *state is the final state.
 */
static size_t
validate_pieces(const unsigned char *p, size_t n, const size_t *cuts,
    size_t ncuts, uint32_t *state)
{
	size_t start = 0, end, r, i, bad = n;
	char *c;

	*state = UTF8_ACCEPT;
	for (i = 0; i <= ncuts; i++) {
		end = i < ncuts ? cuts[i] : n;
		if (end < start)
			end = start;
		c = fuzz_copy(p + start, end - start);
		r = utf8_validate(state, c, end - start);
		free(c);
		if (bad == n) {
			FUZZ_ASSERT(r <= end - start);
			if (r < end - start) {
				FUZZ_ASSERT(*state == UTF8_REJECT);
				bad = start + r;
			} else
				FUZZ_ASSERT(*state != UTF8_REJECT);
		} else {
			/* Rejected: stays so, consumes nothing. */
			FUZZ_ASSERT(r == 0);
			FUZZ_ASSERT(*state == UTF8_REJECT);
		}
		start = end;
	}
	return bad;
}

/* Compare a sort of size_t, for qsort. */
static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t want, got, k, i, ncuts, cuts[16];
	uint32_t state, st;
	uint64_t rng;
	int complete = 0;

	want = ref_validate(data, size, &complete);

	/* Whole. */
	state = UTF8_ACCEPT;
	got = utf8_validate(&state, data, size);
	FUZZ_ASSERT(got == want);
	if (want < size)
		FUZZ_ASSERT(state == UTF8_REJECT);
	else {
		FUZZ_ASSERT(state != UTF8_REJECT);
		FUZZ_ASSERT(utf8_complete(state) == complete);
	}
	FUZZ_ASSERT(utf8_complete(UTF8_REJECT) == 0);
	st = UTF8_REJECT;
	FUZZ_ASSERT(utf8_validate(&st, data, size) == 0 && st == UTF8_REJECT);

	/* Two pieces at every offset. */
	if (size <= FUZZ_ALL_SPLITS) {
		for (k = 0; k <= size; k++) {
			got = validate_pieces(data, size, &k, 1, &st);
			FUZZ_ASSERT(got == want);
			FUZZ_ASSERT(st == state);
		}
	}

	/* Several pieces at random offsets, a few times. */
	rng = fuzz_hash(data, size);
	for (i = 0; i < 8; i++) {
		ncuts = (size_t)(fuzz_next(&rng) %
		    (sizeof(cuts) / sizeof(cuts[0]) + 1));
		for (k = 0; k < ncuts; k++)
			cuts[k] = (size_t)(fuzz_next(&rng) % (size + 1));
		qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);
		got = validate_pieces(data, size, cuts, ncuts, &st);
		FUZZ_ASSERT(got == want);
		FUZZ_ASSERT(st == state);
	}

	/* One byte at a time. */
	st = UTF8_ACCEPT;
	for (k = 0; k < size && st != UTF8_REJECT; k++)
		got = utf8_validate(&st, data + k, 1);
	if (want < size) {
		FUZZ_ASSERT(st == UTF8_REJECT && k == want + 1 && got == 0);
	} else
		FUZZ_ASSERT(st == state);
	return 0;
}
