/*
 * fuzz_range: the Range header parser (range.c). The input is a Range
 * field value; it is matched against many file sizes: fixed edge cases
 * (0, 1, 2, 100, 2^31, 2^32, 2^62, the largest off_t), sizes drawn from a
 * hash of the input, and every number written in the input, minus one,
 * itself and plus one (where off-by-one bugs live).
 *
 * It asserts, for every size:
 *
 * - A negative size is RANGE_NONE.
 * - RANGE_SATISFIABLE gives 0 <= first <= last < size; RANGE_NONE and
 *   RANGE_UNSATISFIABLE leave first and last untouched.
 * - The result (and range) equals that of a reference parser written here
 *   from RFC 9110 14.1.2 as the contract in range.c narrows it: unit
 *   "bytes" in any case, '=', a list whose empty elements and OWS around
 *   commas are skipped; exactly one range-spec, else RANGE_NONE; numbers
 *   saturate; "a-b" with b < a is RANGE_NONE; a first position at or past
 *   the end, a zero suffix or an empty file with a suffix is
 *   RANGE_UNSATISFIABLE; the last position is clamped to the file.
 * - The parser never reads past the value (an exact-size copy).
 */

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "fuzz.h"

#define FUZZ_OFF_MAX INT64_MAX /* off_t is 64 bits on Linux with LFS */
#define FUZZ_SIZES   256       /* sizes tried per input at most */

/* Tell whether c is OWS. */
static int
ref_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Parse digits s[a..b) saturating; -1 if there are none or others. */
static int
ref_number(const char *s, size_t a, size_t b, unsigned long long *v)
{
	size_t i;

	if (a == b)
		return -1;
	*v = 0;
	for (i = a; i < b; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (*v > (ULLONG_MAX - (unsigned)(s[i] - '0')) / 10)
			*v = ULLONG_MAX;
		else
			*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

/* The reference: see the comment at the top. */
static enum range_result
ref_range(const char *v, size_t len, long long size, long long *first,
    long long *last)
{
	static const char unit[] = "bytes";
	unsigned long long a = 0, b = 0, usize;
	size_t i, start, end, dash;
	int n = 0, suffix = 0, has_last = 0;
	char c;

	if (size < 0 || len < 6)
		return RANGE_NONE;
	for (i = 0; i < 5; i++) {
		c = v[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != unit[i])
			return RANGE_NONE;
	}
	if (v[5] != '=')
		return RANGE_NONE;
	usize = (unsigned long long)size;

	for (start = 6; start <= len; start = end + 1) {
		for (end = start; end < len && v[end] != ','; end++)
			;
		i = start;
		while (i < end && ref_ows(v[i]))
			i++;
		dash = end;
		while (dash > i && ref_ows(v[dash - 1]))
			dash--;
		if (i == dash)
			continue; /* an empty element */
		if (++n > 1)
			return RANGE_NONE;
		/* v[i..dash) is one range-spec. */
		start = i;
		for (; i < dash && v[i] != '-'; i++)
			;
		if (i == dash)
			return RANGE_NONE;
		if (i == start) {
			suffix = 1;
			if (ref_number(v, i + 1, dash, &a) == -1)
				return RANGE_NONE;
		} else {
			if (ref_number(v, start, i, &a) == -1)
				return RANGE_NONE;
			if (i + 1 < dash) {
				has_last = 1;
				if (ref_number(v, i + 1, dash, &b) == -1)
					return RANGE_NONE;
			}
		}
	}
	if (n == 0)
		return RANGE_NONE;
	if (suffix) {
		if (a == 0 || usize == 0)
			return RANGE_UNSATISFIABLE;
		*first = a >= usize ? 0 : (long long)(usize - a);
		*last = (long long)(usize - 1);
		return RANGE_SATISFIABLE;
	}
	if (has_last && a > b)
		return RANGE_NONE;
	if (a >= usize)
		return RANGE_UNSATISFIABLE;
	*first = (long long)a;
	*last = has_last && b < usize ? (long long)b : (long long)(usize - 1);
	return RANGE_SATISFIABLE;
}

/* Add size to the list unless full. */
static void
add_size(long long *sizes, size_t *n, long long size)
{
	if (*n < FUZZ_SIZES)
		sizes[(*n)++] = size;
}

/* Check range_parse() for one size. */
static void
check_size(const char *v, size_t len, long long size)
{
	static const off_t untouched = -12345;
	enum range_result r, rr;
	off_t first = untouched, last = untouched;
	long long rfirst = 0, rlast = 0;

	r = range_parse(v, len, (off_t)size, &first, &last);
	rr = ref_range(v, len, size, &rfirst, &rlast);
	FUZZ_ASSERT(r == RANGE_NONE || r == RANGE_SATISFIABLE ||
	    r == RANGE_UNSATISFIABLE);
	FUZZ_ASSERT(r == rr);
	if (size < 0)
		FUZZ_ASSERT(r == RANGE_NONE);
	if (r == RANGE_SATISFIABLE) {
		FUZZ_ASSERT(0 <= first);
		FUZZ_ASSERT(first <= last);
		FUZZ_ASSERT(last < (off_t)size);
		FUZZ_ASSERT(first == rfirst && last == rlast);
	} else {
		FUZZ_ASSERT(first == untouched && last == untouched);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long long fixed[] = {-1, 0, 1, 2, 3, 100, 1000,
	    (long long)1 << 31, (long long)1 << 32, (long long)1 << 62,
	    FUZZ_OFF_MAX - 1, FUZZ_OFF_MAX, LLONG_MIN};
	long long sizes[FUZZ_SIZES];
	unsigned long long v;
	uint64_t rng;
	size_t n = 0, i, j;
	char *copy;

	copy = fuzz_copy(data, size);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		add_size(sizes, &n, fixed[i]);
	rng = fuzz_hash(data, size);
	for (i = 0; i < 8; i++)
		add_size(
		    sizes, &n, (long long)(fuzz_next(&rng) >> (1 + i * 7)));

	/* Each number in the input, saturated like the parser's. */
	for (i = 0; i < size;) {
		if (copy[i] < '0' || copy[i] > '9') {
			i++;
			continue;
		}
		for (j = i; j < size && copy[j] >= '0' && copy[j] <= '9'; j++)
			;
		ref_number(copy, i, j, &v);
		if (v > (unsigned long long)FUZZ_OFF_MAX)
			v = (unsigned long long)FUZZ_OFF_MAX;
		add_size(sizes, &n, (long long)v);
		if (v > 0)
			add_size(sizes, &n, (long long)v - 1);
		if (v < (unsigned long long)FUZZ_OFF_MAX)
			add_size(sizes, &n, (long long)v + 1);
		i = j;
	}

	for (i = 0; i < n; i++)
		check_size(copy, size, sizes[i]);
	free(copy);
	return 0;
}
