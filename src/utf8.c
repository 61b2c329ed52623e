/*
 * Incremental UTF-8 validation (RFC 3629), for WebSocket text messages
 * that arrive in pieces: the state carries a sequence split across calls,
 * every byte is looked at once (no re-scanning), and the first byte that
 * cannot continue a valid sequence is reported at once (fail fast).
 *
 * Invalid: overlong forms (C0, C1, E0 80..9F, F0 80..8F), UTF-16
 * surrogates (ED A0..BF), code points above U+10FFFF (F4 90..BF, F5..FF)
 * and any continuation byte without a lead byte.
 *
 * State encoding: the low byte is the number of continuation bytes still
 * expected; the next byte is the allowed range of the first of them, as
 * an index into utf8_first_range[] (0: the general 80..BF).
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pfhttpd.h"

/* Allowed ranges for the byte after a lead byte, by utf8_lead() class. */
static const unsigned char utf8_first_range[][2] = {
    {0x80, 0xbf}, /* 0: any continuation byte */
    {0xa0, 0xbf}, /* 1: after E0, no overlong 3-byte forms */
    {0x80, 0x9f}, /* 2: after ED, no surrogates */
    {0x90, 0xbf}, /* 3: after F0, no overlong 4-byte forms */
    {0x80, 0x8f}, /* 4: after F4, nothing above U+10FFFF */
};

/*
 * Classify lead byte b: return the state that expects its continuation
 * bytes, or -1 if b cannot start a sequence.
 */
static int32_t
utf8_lead(unsigned char b)
{
	if (b >= 0xc2 && b <= 0xdf)
		return 1;
	if (b == 0xe0)
		return 2 | 1 << 8;
	if (b == 0xed)
		return 2 | 2 << 8;
	if (b >= 0xe1 && b <= 0xef)
		return 2;
	if (b == 0xf0)
		return 3 | 3 << 8;
	if (b == 0xf4)
		return 3 | 4 << 8;
	if (b >= 0xf1 && b <= 0xf3)
		return 3;
	return -1; /* 80..C1 or F5..FF */
}

/* Tell whether the 8 bytes at p are all ASCII. */
static int
utf8_ascii8(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return (v & 0x8080808080808080ULL) == 0;
}

/*
 * Validate p[0..n) as the continuation of the text whose state is *state
 * (UTF8_ACCEPT at the start of a text). Return n if every byte is valid so
 * far (the text may still end mid-sequence: see utf8_complete()), or the
 * offset of the first invalid byte; *state is then UTF8_REJECT.
 */
size_t
utf8_validate(uint32_t *state, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint32_t st = *state;
	unsigned char lo, hi;
	int32_t lead;
	size_t i = 0;

	if (st == UTF8_REJECT)
		return 0;
	while (i < n) {
		if (st == UTF8_ACCEPT) {
			/* Fast path: text is mostly ASCII. */
			while (i + 8 <= n && utf8_ascii8(p + i))
				i += 8;
			if (i == n)
				break;
			if (p[i] < 0x80) {
				i++;
				continue;
			}
			if ((lead = utf8_lead(p[i])) == -1)
				goto bad;
			st = (uint32_t)lead;
			i++;
			continue;
		}
		lo = utf8_first_range[st >> 8][0];
		hi = utf8_first_range[st >> 8][1];
		if (p[i] < lo || p[i] > hi)
			goto bad;
		st = (st & 0xff) - 1; /* later bytes: the general range */
		i++;
	}
	*state = st;
	return n;
bad:
	*state = UTF8_REJECT;
	return i;
}

/* Tell whether a text whose validation state is state ends complete. */
int
utf8_complete(uint32_t state)
{
	return state == UTF8_ACCEPT;
}
