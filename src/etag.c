/*
 * Entity tags (RFC 9110 8.8.3): making ours and matching them against
 * If-Match, If-None-Match and If-Range.
 */

#include <stdio.h>
#include <string.h>

#include "pfhttpd.h"

/*
 * Make the strong ETag of a file, quotes included, into buf:
 * "<sec>.<nsec>-<size>", each field in lowercase hex without leading
 * zeros, e.g. "6543a1b2.1dcd6500-1f4" for mtime 0x6543a1b2 s 500000000 ns
 * and 500 bytes. It changes when the modification time or the size does.
 * The longest possible tag is 52 bytes, well within ETAG_LEN.
 */
void
etag_make(const struct timespec *mtime, off_t size, char buf[ETAG_LEN])
{
	(void)snprintf(buf, ETAG_LEN, "\"%llx.%lx-%llx\"",
	    (unsigned long long)mtime->tv_sec, (unsigned long)mtime->tv_nsec,
	    (unsigned long long)size);
}

/*
 * Make the strong ETag of a precompressed sibling: etag_make()'s with
 * "-" and its coding before the closing quote ("6543a1b2.0-1f4-br"), so
 * that it never equals the original's, even for the same time and size.
 */
void
etag_make_coded(const struct timespec *mtime, off_t size, const char *coding,
    char buf[ETAG_LEN])
{
	(void)snprintf(buf, ETAG_LEN, "\"%llx.%lx-%llx-%s\"",
	    (unsigned long long)mtime->tv_sec, (unsigned long)mtime->tv_nsec,
	    (unsigned long long)size, coding);
}

/* Return 1 if c is optional whitespace (SP or HTAB), else 0. */
static int
etag_ows(int c)
{
	return c == ' ' || c == '\t';
}

/* Return 1 if byte c may appear inside an opaque-tag (etagc), else 0. */
static int
etag_char(int c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80;
}

/*
 * Parse one entity-tag, [W/]"etagc*", at s[*i..len) and advance *i past
 * it, or to where it stopped being one. Set *weak, and *tag and *tag_len
 * to the opaque-tag including its quotes. Return 0 or -1.
 */
static int
etag_parse(const char *s, size_t len, size_t *i, int *weak, const char **tag,
    size_t *tag_len)
{
	size_t start;

	*weak = 0;
	if (len - *i >= 2 && s[*i] == 'W' && s[*i + 1] == '/') {
		*weak = 1;
		*i += 2;
	}
	if (*i == len || s[*i] != '"')
		return -1;
	start = (*i)++;
	while (*i < len && etag_char((unsigned char)s[*i]))
		(*i)++;
	if (*i == len || s[*i] != '"')
		return -1;
	(*i)++;
	*tag = s + start;
	*tag_len = *i - start;
	return 0;
}

/*
 * Match our entity-tag etag (NUL-terminated, quotes included) against
 * the If-Match, If-None-Match or If-Range value list[0..len). "*" matches
 * anything. Otherwise list is a comma list of entity-tags; with weak set
 * the weak comparison applies (W/ ignored), else the strong one (neither
 * side may be weak). A malformed element matches nothing, and parsing
 * resumes after the next comma. Return 1 on a match, else 0.
 */
int
etag_list_match(const char *list, size_t len, const char *etag, int weak)
{
	const char *own, *tag;
	size_t b, e, i, etag_len, own_len, tag_len;
	int own_weak, tag_weak;

	for (b = 0; b < len && etag_ows(list[b]); b++)
		;
	for (e = len; e > b && etag_ows(list[e - 1]); e--)
		;
	if (e - b == 1 && list[b] == '*')
		return 1;

	i = 0;
	etag_len = strlen(etag);
	if (etag_parse(etag, etag_len, &i, &own_weak, &own, &own_len) == -1 ||
	    i != etag_len)
		return 0;
	if (own_weak && !weak)
		return 0;

	i = 0;
	while (i < len) {
		if (etag_ows(list[i]) || list[i] == ',') {
			i++;
			continue;
		}
		if (etag_parse(list, len, &i, &tag_weak, &tag, &tag_len) == 0) {
			while (i < len && etag_ows(list[i]))
				i++;
			if (i == len || list[i] == ',') {
				if ((weak || !tag_weak) && tag_len == own_len &&
				    memcmp(tag, own, tag_len) == 0)
					return 1;
				continue;
			}
		}
		/* Malformed: skip to the next element. */
		while (i < len && list[i] != ',')
			i++;
	}
	return 0;
}
