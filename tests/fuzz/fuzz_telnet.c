/*
 * fuzz_telnet: the chat line reader of telnet.c (telnet and nc clients).
 *
 * The first input byte picks the longest line (0, 1, 8, 64 or more); the
 * rest is what the client sent. A reference reader written here from the
 * rules in telnet.c's comment, in two passes (the telnet commands taken
 * out of the whole input first, then the data split into lines), gives
 * the lines the input holds. It asserts, for any input:
 *
 * - telnet_scan() fed the input whole, split at random points (several
 *   times), and byte by byte, each piece an exact-size copy, gives the
 *   reference's lines, in order, with the same flags and text.
 * - Every call consumes at most what it was given, all of it unless a
 *   line ended, and at least one byte when one did; a line is either text
 *   (at most max_line bytes, valid UTF-8, no CR, LF or NUL, a NUL after
 *   it) or flagged too long or bad UTF-8 (one flag, no text).
 * - The reader never holds more than max_line bytes of a line.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "fuzz.h"

#define IAC  0xff
#define SB   0xfa
#define SE   0xf0
#define WILL 0xfb
#define DONT 0xfe

/* The lines found, serialised: a tag, the length, the text. */
struct lines {
	unsigned char *l_buf;
	size_t l_len;
	size_t l_cap;
};

/* Append a line (tag 'T' with text, 'L' too long, 'U' bad UTF-8). */
static void
lines_add(struct lines *ls, char tag, const void *text, size_t len)
{
	FUZZ_ASSERT(ls->l_len + 1 + sizeof(len) + len <= ls->l_cap);
	ls->l_buf[ls->l_len++] = (unsigned char)tag;
	memcpy(ls->l_buf + ls->l_len, &len, sizeof(len));
	ls->l_len += sizeof(len);
	if (len > 0)
		memcpy(ls->l_buf + ls->l_len, text, len);
	ls->l_len += len;
}

/* Make ls room for the lines of an input of n bytes. */
static void
lines_init(struct lines *ls, size_t n)
{
	ls->l_len = 0;
	ls->l_cap = (n + 2) * (1 + sizeof(size_t)) + n;
	ls->l_buf = malloc(ls->l_cap);
	if (ls->l_buf == NULL)
		abort();
}

/*
 * The reference: skip the bytes of a subnegotiation from in[i] on (just
 * after IAC SB); return where what follows it starts: the data after IAC
 * SE or after TELNET_SB_MAX bytes, or an IAC and command that ended it.
 */
static size_t
ref_sub(const unsigned char *in, size_t n, size_t i)
{
	size_t count = 0;

	while (i < n && count < TELNET_SB_MAX) {
		count++;
		if (in[i++] != IAC)
			continue;
		if (i == n)
			return n;
		if (in[i] == SE)
			return i + 1;
		if (in[i] != IAC)
			return i - 1;
		i++; /* IAC IAC: an escaped 0xFF, not counted */
	}
	return i;
}

/*
 * The reference, pass 1: the data bytes of in[0..n) (telnet commands
 * taken out) into out; return their number.
 */
static size_t
ref_data(const unsigned char *in, size_t n, unsigned char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		if (in[i] != IAC) {
			out[o++] = in[i++];
		} else if (i + 1 == n) {
			break;
		} else if (in[i + 1] == IAC) {
			out[o++] = IAC;
			i += 2;
		} else if (in[i + 1] >= WILL && in[i + 1] <= DONT) {
			i += 3;
		} else if (in[i + 1] == SB) {
			i = ref_sub(in, n, i + 2);
		} else {
			i += 2;
		}
	}
	return o;
}

/* A line of len bytes (kept: buf[0..min(len, max)]) ended: record it. */
static void
ref_line(struct lines *ls, const unsigned char *buf, size_t len, size_t max)
{
	uint32_t st = UTF8_ACCEPT;

	if (len > max) {
		lines_add(ls, 'L', NULL, 0);
		return;
	}
	utf8_validate(&st, buf, len);
	if (utf8_complete(st))
		lines_add(ls, 'T', buf, len);
	else
		lines_add(ls, 'U', NULL, 0);
}

/* The reference, pass 2: the lines of data[0..n) into ls. */
static void
ref_lines(const unsigned char *data, size_t n, size_t max, struct lines *ls)
{
	unsigned char *cur;
	size_t i, len = 0;
	int cr = 0;

	cur = malloc(max + 1);
	if (cur == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (data[i] == '\0')
			continue;
		if (data[i] == '\n' && cr) {
			cr = 0;
		} else if (data[i] == '\n' || data[i] == '\r') {
			ref_line(ls, cur, len, max);
			len = 0;
			cr = data[i] == '\r';
		} else {
			if (len < max)
				cur[len] = data[i];
			if (len <= max)
				len++;
			cr = 0;
		}
	}
	free(cur);
}

/* Check one line telnet_scan() gave and record it. */
static void
check_line(const struct telnet_line *line, size_t max, struct lines *ls)
{
	uint32_t st = UTF8_ACCEPT;

	if (line->tl_too_long || line->tl_bad_utf8) {
		FUZZ_ASSERT(!(line->tl_too_long && line->tl_bad_utf8));
		FUZZ_ASSERT(line->tl_text == NULL && line->tl_len == 0);
		lines_add(ls, line->tl_too_long ? 'L' : 'U', NULL, 0);
		return;
	}
	FUZZ_ASSERT(line->tl_text != NULL);
	FUZZ_ASSERT(line->tl_len <= max);
	FUZZ_ASSERT(line->tl_text[line->tl_len] == '\0');
	FUZZ_ASSERT(strlen(line->tl_text) == line->tl_len);
	FUZZ_ASSERT(memchr(line->tl_text, '\r', line->tl_len) == NULL);
	FUZZ_ASSERT(memchr(line->tl_text, '\n', line->tl_len) == NULL);
	FUZZ_ASSERT(
	    utf8_validate(&st, line->tl_text, line->tl_len) == line->tl_len);
	FUZZ_ASSERT(utf8_complete(st));
	lines_add(ls, 'T', line->tl_text, line->tl_len);
}

/* Feed p[0..n) to t as one piece (an exact-size copy); lines into ls. */
static void
feed(struct telnet *t, const unsigned char *p, size_t n, struct lines *ls)
{
	struct telnet_line line;
	size_t off = 0, used;
	char *c;

	c = fuzz_copy(p, n);
	for (;;) {
		used = telnet_scan(t, c + off, n - off, &line);
		FUZZ_ASSERT(used <= n - off);
		FUZZ_ASSERT(t->tn_len <= t->tn_max);
		off += used;
		if (!line.tl_complete) {
			FUZZ_ASSERT(off == n);
			FUZZ_ASSERT(line.tl_text == NULL && line.tl_len == 0);
			FUZZ_ASSERT(!line.tl_too_long && !line.tl_bad_utf8);
			break;
		}
		FUZZ_ASSERT(used > 0);
		check_line(&line, t->tn_max, ls);
	}
	free(c);
}

/* Compare a sort of size_t, for qsort. */
static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Read in[0..n) with a fresh reader of max bytes, in pieces cut at
 * cuts[0..ncuts) (sorted; ncuts == n + 1: byte by byte), and check that
 * the lines are want's.
 */
static void
run(const unsigned char *in, size_t n, size_t max, const size_t *cuts,
    size_t ncuts, const struct lines *want)
{
	struct telnet t;
	struct lines got;
	size_t start = 0, end, i;

	lines_init(&got, n);
	FUZZ_ASSERT(telnet_init(&t, max) == 0);
	for (i = 0; i <= ncuts; i++) {
		end = i < ncuts ? cuts[i] : n;
		feed(&t, in + start, end - start, &got);
		start = end;
	}
	telnet_free(&t);
	FUZZ_ASSERT(got.l_len == want->l_len);
	FUZZ_ASSERT(memcmp(got.l_buf, want->l_buf, got.l_len) == 0);
	free(got.l_buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = {0, 1, 8, 64, CHAT_TEXT_MAX};
	struct lines want;
	unsigned char *stream;
	size_t max, n, ndata, k, i, ncuts, cuts[16], *every;
	uint64_t rng;

	if (size == 0)
		return 0;
	max = maxes[data[0] % (sizeof(maxes) / sizeof(maxes[0]))];
	data++;
	n = size - 1;

	stream = malloc(n + 1);
	if (stream == NULL)
		abort();
	ndata = ref_data(data, n, stream);
	lines_init(&want, n);
	ref_lines(stream, ndata, max, &want);
	free(stream);

	run(data, n, max, NULL, 0, &want);

	rng = fuzz_hash(data, n);
	for (i = 0; i < 8; i++) {
		ncuts = (size_t)(fuzz_next(&rng) %
		    (sizeof(cuts) / sizeof(cuts[0]) + 1));
		for (k = 0; k < ncuts; k++)
			cuts[k] = (size_t)(fuzz_next(&rng) % (n + 1));
		qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);
		run(data, n, max, cuts, ncuts, &want);
	}

	every = malloc((n + 1) * sizeof(*every));
	if (every == NULL)
		abort();
	for (k = 0; k < n; k++)
		every[k] = k + 1;
	run(data, n, max, every, n, &want);
	free(every);
	free(want.l_buf);
	return 0;
}
