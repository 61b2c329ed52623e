/*
 * Cache headers by path: the cache rules of a site, each a path prefix
 * ("/assets/") or a file name extension (".html") and the Cache-Control
 * value that the files it matches are served with. Rules are tried in
 * the order of the file; the first that matches wins. Pure code: parsing
 * a rule and matching a path, unit-tested.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pfhttpd.h"

/* Tell whether s (n bytes) is printable ASCII, spaces allowed. */
static int
cachectl_printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * Check a rule's match (n bytes): '/' and a prefix, or '.' and an
 * extension without '/'; printable ASCII, no spaces. NULL, or why not.
 */
static const char *
cachectl_check_match(const char *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (m[i] <= ' ' || m[i] > 0x7e)
			return "the path prefix or extension must be printable "
			       "ASCII without spaces";
	if (m[0] == '/')
		return NULL;
	if (m[0] != '.')
		return "expected a path prefix starting with '/' or an "
		       "extension starting with '.'";
	if (n < 2 || memchr(m, '/', n) != NULL)
		return "an extension is '.' and a name without '/'";
	return NULL;
}

/*
 * Add the rule in value, "MATCH VALUE" ("/assets/ public, max-age=60" or
 * ".html no-cache"), after those already in cc. Return 0, or -1 with the
 * reason in why (len bytes).
 */
int
cachectl_add(struct cachectl *cc, const char *value, char *why, size_t len)
{
	struct cachectl_rule *cr;
	size_t mlen = strcspn(value, " \t");
	const char *cache = value + mlen + strspn(value + mlen, " \t");
	const char *bad;
	size_t clen = strlen(cache);

	if (mlen == 0 || *cache == '\0') {
		snprintf(why, len,
		    "expected a path prefix or an extension, then a "
		    "Cache-Control value");
		return -1;
	}
	if ((bad = cachectl_check_match(value, mlen)) != NULL) {
		snprintf(why, len, "'%.*s': %s", (int)mlen, value, bad);
		return -1;
	}
	if (!cachectl_printable(cache, clen) || clen >= CACHECTL_VALUE_MAX) {
		snprintf(why, len,
		    "the Cache-Control value must be printable ASCII, at "
		    "most %d characters",
		    CACHECTL_VALUE_MAX - 1);
		return -1;
	}
	if (cc->cc_n == CACHECTL_MAX) {
		snprintf(why, len, "more than %d rules", CACHECTL_MAX);
		return -1;
	}
	cr = &cc->cc_rules[cc->cc_n];
	if ((cr->cr_match = malloc(mlen + 1 + clen + 1)) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	memcpy(cr->cr_match, value, mlen);
	cr->cr_match[mlen] = '\0';
	memcpy(cr->cr_match + mlen + 1, cache, clen + 1);
	cr->cr_match_len = mlen;
	cr->cr_value = cr->cr_match + mlen + 1;
	cc->cc_n++;
	return 0;
}

/* Tell whether rule cr matches path (len bytes). */
static int
cachectl_rule_matches(
    const struct cachectl_rule *cr, const char *path, size_t len)
{
	const char *base;

	if (cr->cr_match_len > len)
		return 0;
	if (cr->cr_match[0] == '/')
		return memcmp(path, cr->cr_match, cr->cr_match_len) == 0;
	/* An extension: the end of the last segment, in any case. */
	base = memrchr(path, '/', len);
	base = base != NULL ? base + 1 : path;
	return (size_t)(path + len - base) >= cr->cr_match_len &&
	    strncasecmp(path + len - cr->cr_match_len, cr->cr_match,
		cr->cr_match_len) == 0;
}

/*
 * Return the Cache-Control value of the first rule of cc that matches
 * path (len bytes, the normalised path of the file served), or NULL.
 */
const char *
cachectl_match(const struct cachectl *cc, const char *path, size_t len)
{
	int i;

	for (i = 0; i < cc->cc_n; i++)
		if (cachectl_rule_matches(&cc->cc_rules[i], path, len))
			return cc->cc_rules[i].cr_value;
	return NULL;
}

/*
 * Make dst, empty, a copy of src that owns its own memory (a host's copy
 * of the [http] rules). Return 0, or -1 with dst empty if memory ran out.
 */
int
cachectl_copy(struct cachectl *dst, const struct cachectl *src)
{
	const struct cachectl_rule *from;
	size_t size;
	int i;

	for (i = 0; i < src->cc_n; i++) {
		from = &src->cc_rules[i];
		size = from->cr_match_len + 1 + strlen(from->cr_value) + 1;
		if ((dst->cc_rules[i].cr_match = malloc(size)) == NULL) {
			dst->cc_n = i;
			cachectl_free(dst);
			return -1;
		}
		memcpy(dst->cc_rules[i].cr_match, from->cr_match, size);
		dst->cc_rules[i].cr_match_len = from->cr_match_len;
		dst->cc_rules[i].cr_value =
		    dst->cc_rules[i].cr_match + from->cr_match_len + 1;
	}
	dst->cc_n = src->cc_n;
	return 0;
}

/* Free the rules of cc, leaving it empty. */
void
cachectl_free(struct cachectl *cc)
{
	int i;

	for (i = 0; i < cc->cc_n; i++)
		free(cc->cc_rules[i].cr_match);
	cc->cc_n = 0;
}
