/*
 * fuzz_accenc: the Accept-Encoding chooser and the [http] precompressed
 * list (accenc.c). The input is an Accept-Encoding value; the codings
 * configured (none, one or both, either order) and the siblings present
 * are drawn from a hash of it.
 *
 * It asserts:
 *
 * - accenc_qvalues() gives each coding and "*" -1 or 0..1000.
 * - accenc_choose() returns identity, or a coding both configured and
 *   present whose qvalue (its own, else that of "*") is above 0, not below
 *   that of any other configured and present coding nor below identity's,
 *   and not equal to that of one configured before it.
 * - The result is the same with the value in upper case (names and "q"
 *   are case-insensitive) and with an empty element before it.
 * - accenc_list_parse() on the input as a config value either refuses it
 *   or gives at most two distinct codings, gzip or br.
 * - Nothing reads past the value (exact-size copies).
 */

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "fuzz.h"

/* The weight accenc.c gives coding from q[]: see accenc_weight(). */
static int
ref_weight(const int *q, int coding)
{
	if (q[coding] != -1)
		return q[coding];
	if (q[ACCENC_ANY] != -1)
		return q[ACCENC_ANY];
	return coding == ACCENC_IDENTITY ? 1 : 0;
}

/* Check accenc_choose() on v[0..len) against the properties above. */
static enum accenc_coding
check_choose(
    const char *v, size_t len, const struct accenc_list *al, unsigned avail)
{
	int q[ACCENC_NCODINGS + 1], i, wc;
	enum accenc_coding c;

	accenc_qvalues(v, len, q);
	for (i = 0; i <= ACCENC_NCODINGS; i++)
		FUZZ_ASSERT(q[i] >= -1 && q[i] <= ACCENC_Q_MAX);
	c = accenc_choose(v, len, al, avail);
	FUZZ_ASSERT(c == ACCENC_IDENTITY || c == ACCENC_GZIP || c == ACCENC_BR);
	if (c == ACCENC_IDENTITY)
		return c;
	FUZZ_ASSERT(avail & (1u << c));
	wc = ref_weight(q, c);
	FUZZ_ASSERT(wc > 0 && wc >= ref_weight(q, ACCENC_IDENTITY));
	for (i = 0; i < al->al_n && al->al_coding[i] != c; i++)
		if (avail & (1u << al->al_coding[i]))
			FUZZ_ASSERT(ref_weight(q, al->al_coding[i]) < wc);
	FUZZ_ASSERT(i < al->al_n); /* configured */
	for (; i < al->al_n; i++)
		if (avail & (1u << al->al_coding[i]))
			FUZZ_ASSERT(ref_weight(q, al->al_coding[i]) <= wc);
	return c;
}

/* Check accenc_list_parse() on the input as a NUL-terminated value. */
static void
check_list(const uint8_t *data, size_t size)
{
	struct accenc_list al;
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (accenc_list_parse(s, &al) == 0) {
		FUZZ_ASSERT(al.al_n >= 0 && al.al_n <= 2);
		if (al.al_n == 2)
			FUZZ_ASSERT(al.al_coding[0] != al.al_coding[1]);
		while (al.al_n-- > 0)
			FUZZ_ASSERT(al.al_coding[al.al_n] == ACCENC_GZIP ||
			    al.al_coding[al.al_n] == ACCENC_BR);
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const lists[] = {
	    "", "gzip", "br", "br gzip", "gzip br"};
	struct accenc_list al;
	enum accenc_coding c;
	char *copy, *upper, *prefixed;
	uint64_t rng = fuzz_hash(data, size);
	unsigned avail;
	size_t i;

	FUZZ_ASSERT(accenc_list_parse(lists[fuzz_next(&rng) % 5], &al) == 0);
	avail = (unsigned)(fuzz_next(&rng) % 4) << 1; /* bits gzip, br */

	copy = fuzz_copy(data, size);
	c = check_choose(copy, size, &al, avail);

	upper = fuzz_copy(data, size);
	for (i = 0; i < size; i++)
		upper[i] = (char)toupper((unsigned char)upper[i]);
	FUZZ_ASSERT(check_choose(upper, size, &al, avail) == c);

	if ((prefixed = malloc(2 + size)) == NULL)
		abort();
	memcpy(prefixed, " ,", 2);
	memcpy(prefixed + 2, data, size);
	FUZZ_ASSERT(check_choose(prefixed, 2 + size, &al, avail) == c);

	check_list(data, size);
	free(prefixed);
	free(upper);
	free(copy);
	return 0;
}
