/*
 * Shared by the fuzz harnesses: the libFuzzer entry point's prototype, an
 * assertion that works with and without libFuzzer, and helpers for exact
 * heap copies (so that AddressSanitizer sees a read one byte past the
 * length a function was given).
 */

#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The harness's entry point, called by libFuzzer or by replay_main.c. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Fail the run: print where and why, then abort(), which libFuzzer reports
 * as a crash (saving the input) and the replay driver as a failed test.
 */
#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: %s: assertion failed: %s\n",   \
			    __FILE__, __LINE__, __func__, #cond);              \
			abort();                                               \
		}                                                              \
	} while (0)

/*
 * Return a new heap copy of p[0..n), exactly n bytes long (one NUL byte
 * for n == 0), so that reading past n is caught. Abort on ENOMEM.
 */
static inline char *
fuzz_copy(const void *p, size_t n)
{
	char *c;

	c = malloc(n > 0 ? n : 1);
	if (c == NULL)
		abort();
	if (n > 0)
		memcpy(c, p, n);
	else
		c[0] = '\0';
	return c;
}

/* A 64-bit FNV-1a hash of p[0..n): a deterministic source of choices. */
static inline uint64_t
fuzz_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Advance the xorshift64 generator *x (never 0) and return its value. */
static inline uint64_t
fuzz_next(uint64_t *x)
{
	if (*x == 0)
		*x = 0x9e3779b97f4a7c15ULL;
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Tell whether [p, p + n) lies inside [base, base + len). */
static inline int
fuzz_inside(const void *p, size_t n, const void *base, size_t len)
{
	const char *b = base, *q = p;

	return q >= b && q <= b + len && n <= (size_t)(b + len - q);
}

#endif /* FUZZ_H */
