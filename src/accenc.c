/*
 * Content codings for precompressed files: the precompressed list
 * (the codings to look for, in the operator's order of preference) and the
 * request's Accept-Encoding field (RFC 9110 12.5.3), which together choose
 * the file to send: the original, or its .br or .gz sibling. Pure code: no
 * I/O, no allocation.
 */

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "pfhttpd.h"

/* The codings' names in Accept-Encoding and Content-Encoding. */
static const char *const accenc_names[ACCENC_NCODINGS] = {
    "identity", "gzip", "br"};

/* The suffixes of their files beside the original. */
static const char *const accenc_suffixes[ACCENC_NCODINGS] = {"", ".gz", ".br"};

/* Return the name of coding, as Content-Encoding gives it. */
const char *
accenc_name(enum accenc_coding coding)
{
	return accenc_names[coding];
}

/* Return the suffix of coding's file beside the original ("" for identity). */
const char *
accenc_suffix(enum accenc_coding coding)
{
	return accenc_suffixes[coding];
}

/* Return 1 if c is optional whitespace (SP or HTAB), else 0. */
static int
accenc_ows(int c)
{
	return c == ' ' || c == '\t';
}

/* Return 1 if c is a tchar (RFC 9110 5.6.2), else 0. */
static int
accenc_tchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * Return the coding named s[0..len) (case-insensitive; "x-gzip" is gzip),
 * ACCENC_ANY for "*", or -1 for a coding we have no files for.
 */
static int
accenc_lookup(const char *s, size_t len)
{
	int i;

	if (len == 1 && s[0] == '*')
		return ACCENC_ANY;
	if (len == 6 && strncasecmp(s, "x-gzip", 6) == 0)
		return ACCENC_GZIP;
	for (i = 0; i < ACCENC_NCODINGS; i++)
		if (strlen(accenc_names[i]) == len &&
		    strncasecmp(s, accenc_names[i], len) == 0)
			return i;
	return -1;
}

/*
 * Parse a qvalue, "0[.ddd]" or "1[.000]", at s[0..len) (all of it) into
 * thousandths. Return 0 or -1.
 */
static int
accenc_qvalue(const char *s, size_t len, int *q)
{
	size_t i;
	int v, scale;

	if (len == 0 || (s[0] != '0' && s[0] != '1') || len > 5 ||
	    (len > 1 && s[1] != '.'))
		return -1;
	v = (s[0] - '0') * ACCENC_Q_MAX;
	scale = ACCENC_Q_MAX / 10;
	for (i = 2; i < len; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v += (s[i] - '0') * scale;
	}
	if (v > ACCENC_Q_MAX)
		return -1;
	*q = v;
	return 0;
}

/*
 * Parse one element of the list, s[0..len) without its comma: OWS coding
 * [OWS ";" OWS "q=" qvalue] OWS. Set *coding (accenc_lookup()) and *q.
 * Return 0, or -1 for an empty or malformed element.
 */
static int
accenc_element(const char *s, size_t len, int *coding, int *q)
{
	size_t i = 0, start;

	while (i < len && accenc_ows(s[i]))
		i++;
	while (len > i && accenc_ows(s[len - 1]))
		len--;
	for (start = i; i < len && accenc_tchar((unsigned char)s[i]); i++)
		;
	if (i == start)
		return -1;
	*coding = accenc_lookup(s + start, i - start);
	*q = ACCENC_Q_MAX;
	while (i < len && accenc_ows(s[i]))
		i++;
	if (i == len)
		return 0;
	if (s[i++] != ';')
		return -1;
	while (i < len && accenc_ows(s[i]))
		i++;
	if (len - i < 2 || (s[i] != 'q' && s[i] != 'Q') || s[i + 1] != '=')
		return -1;
	return accenc_qvalue(s + i + 2, len - i - 2, q);
}

/*
 * Read the Accept-Encoding value s[0..len) into q[]: the qvalue, in
 * thousandths, that each coding and "*" (q[ACCENC_ANY]) is given, or -1
 * where the field does not name it. The first element naming a coding
 * counts; malformed elements and unknown codings are skipped.
 */
void
accenc_qvalues(const char *s, size_t len, int q[ACCENC_NCODINGS + 1])
{
	size_t start, end;
	int coding, v, i;

	for (i = 0; i <= ACCENC_NCODINGS; i++)
		q[i] = -1;
	for (start = 0; start <= len; start = end + 1) {
		end = start;
		while (end < len && s[end] != ',')
			end++;
		if (accenc_element(s + start, end - start, &coding, &v) == 0 &&
		    coding != -1 && q[coding] == -1)
			q[coding] = v;
	}
}

/*
 * Return the qvalue the field's q[] (accenc_qvalues()) gives coding: its
 * own, else that of "*", else 0, but for identity, which stays acceptable
 * unless refused: it then gets the lowest qvalue above 0, so that any
 * coding the field accepts is preferred to it.
 */
static int
accenc_weight(const int q[ACCENC_NCODINGS + 1], enum accenc_coding coding)
{
	if (q[coding] != -1)
		return q[coding];
	if (q[ACCENC_ANY] != -1)
		return q[ACCENC_ANY];
	return coding == ACCENC_IDENTITY ? 1 : 0;
}

/*
 * Choose the coding to send, given the Accept-Encoding value s[0..len),
 * the codings looked for in order of preference (al) and those whose file
 * exists (the bits 1 << coding of avail). The coding with the highest
 * qvalue above 0 wins, the earlier in al on a tie, and a coding wins a tie
 * with identity. When nothing is acceptable, not even identity, the
 * original is sent all the same: ACCENC_IDENTITY.
 */
enum accenc_coding
accenc_choose(
    const char *s, size_t len, const struct accenc_list *al, unsigned avail)
{
	int q[ACCENC_NCODINGS + 1], best_q = 0, w, i;
	enum accenc_coding best = ACCENC_IDENTITY;

	accenc_qvalues(s, len, q);
	for (i = 0; i < al->al_n; i++) {
		if ((avail & (1u << al->al_coding[i])) == 0)
			continue;
		if ((w = accenc_weight(q, al->al_coding[i])) > best_q) {
			best_q = w;
			best = al->al_coding[i];
		}
	}
	if (accenc_weight(q, ACCENC_IDENTITY) > best_q)
		return ACCENC_IDENTITY;
	return best;
}

/*
 * Parse a precompressed value: codings "br" and "gzip" (case-insensitive),
 * each at most once, separated by spaces or tabs; empty means none.
 * Return 0, or -1 (al unchanged).
 */
int
accenc_list_parse(const char *value, struct accenc_list *al)
{
	struct accenc_list l;
	size_t n;
	int coding, i;

	memset(&l, 0, sizeof(l));
	for (;;) {
		value += strspn(value, " \t");
		if (*value == '\0')
			break;
		n = strcspn(value, " \t");
		coding = accenc_lookup(value, n);
		if (coding != ACCENC_GZIP && coding != ACCENC_BR)
			return -1;
		if (n == 6)
			return -1; /* x-gzip: a name in requests only */
		for (i = 0; i < l.al_n; i++)
			if (l.al_coding[i] == (enum accenc_coding)coding)
				return -1;
		l.al_coding[l.al_n++] = coding;
		value += n;
	}
	*al = l;
	return 0;
}
