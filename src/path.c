/*
 * Request paths: percent-decoding and dot-segment removal, the dotfile
 * check, and percent-encoding for a Location header.
 */

#include <stddef.h>

#include "pfhttpd.h"

/*
 * State of path_normalize(). out[0..pn_len) holds the segments kept so far,
 * each written as "/name". A segment that does not fit is not written:
 * pn_over counts such segments, and every later one, until ".." pops them.
 */
struct path_norm {
	char *pn_out;	     /* caller's buffer */
	size_t pn_cap;	     /* bytes of pn_out usable before the NUL */
	size_t pn_len;	     /* bytes of pn_out used */
	size_t pn_depth;     /* segments on the stack, written or not */
	size_t pn_over;	     /* top segments that did not fit */
	size_t pn_seg_start; /* pn_len when the current segment began */
	size_t pn_seg_len;   /* decoded bytes in the current segment */
	int pn_seg_dots;     /* the current segment is all dots so far */
	int pn_seg_over;     /* the current segment did not fit */
};

static const char path_hex[] = "0123456789ABCDEF";

/* Start a new, empty segment. */
static void
path_norm_begin(struct path_norm *pn)
{
	pn->pn_seg_start = pn->pn_len;
	pn->pn_seg_len = 0;
	pn->pn_seg_dots = 1;
	pn->pn_seg_over = 0;
}

/* Append one decoded byte, never '/', to the current segment. */
static void
path_norm_byte(struct path_norm *pn, int c)
{
	size_t need;

	if (c != '.')
		pn->pn_seg_dots = 0;
	need = pn->pn_seg_len == 0 ? 2 : 1; /* the first byte brings a '/' */
	pn->pn_seg_len++;
	if (pn->pn_over > 0 || pn->pn_seg_over)
		return;
	if (pn->pn_cap - pn->pn_len < need) {
		pn->pn_seg_over = 1;
		return;
	}
	if (need == 2)
		pn->pn_out[pn->pn_len++] = '/';
	pn->pn_out[pn->pn_len++] = (char)c;
}

/* Finish the current segment: drop it, pop one, or keep it; 0 or 400. */
static int
path_norm_end(struct path_norm *pn)
{
	if (pn->pn_seg_len == 0 || (pn->pn_seg_dots && pn->pn_seg_len == 1)) {
		/* Empty (a repeated slash) or ".": drop it. */
		pn->pn_len = pn->pn_seg_start;
		return 0;
	}
	if (pn->pn_seg_dots && pn->pn_seg_len == 2) {
		/* "..": drop it and pop the segment before it. */
		pn->pn_len = pn->pn_seg_start;
		if (pn->pn_depth == 0)
			return 400; /* would climb above the root */
		pn->pn_depth--;
		if (pn->pn_over > 0) {
			pn->pn_over--;
			return 0;
		}
		do
			pn->pn_len--;
		while (pn->pn_out[pn->pn_len] != '/');
		return 0;
	}
	pn->pn_depth++;
	if (pn->pn_over > 0)
		pn->pn_over++;
	else if (pn->pn_seg_over) {
		pn->pn_len = pn->pn_seg_start;
		pn->pn_over = 1;
	}
	return 0;
}

/*
 * Decode the %-encoded request path path[0..len) and remove its dot
 * segments and repeated slashes into out, NUL-terminated. Decoding comes
 * first, so "%2e%2e" is a ".." and "%2f" a separator like '/'. Return 0,
 * 400 for a path that is not absolute, has a bad or NUL escape, a NUL byte
 * or climbs above the root, or 414 if the result does not fit outlen. Bad
 * input wins over 414: the whole path is always read.
 */
int
path_normalize(const char *path, size_t len, char *out, size_t outlen)
{
	struct path_norm pn;
	size_t i;
	int c, hi, lo, trailing;

	if (len == 0 || path[0] != '/')
		return 400;

	pn.pn_out = out;
	pn.pn_cap = outlen > 0 ? outlen - 1 : 0;
	pn.pn_len = 0;
	pn.pn_depth = 0;
	pn.pn_over = 0;
	path_norm_begin(&pn);

	for (i = 1; i < len;) {
		c = (unsigned char)path[i++];
		if (c == '%') {
			if (len - i < 2)
				return 400;
			hi = http_hex_value((unsigned char)path[i]);
			lo = http_hex_value((unsigned char)path[i + 1]);
			if (hi == -1 || lo == -1)
				return 400;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c == '\0')
			return 400;
		if (c == '/') {
			if (path_norm_end(&pn) != 0)
				return 400;
			path_norm_begin(&pn);
		} else
			path_norm_byte(&pn, c);
	}

	/* An empty, "." or ".." last segment leaves a trailing slash. */
	trailing = pn.pn_seg_len == 0 || (pn.pn_seg_dots && pn.pn_seg_len <= 2);
	if (path_norm_end(&pn) != 0)
		return 400;
	if (pn.pn_over > 0)
		return 414;
	if (pn.pn_len == 0 || trailing) {
		if (pn.pn_cap - pn.pn_len < 1)
			return 414;
		out[pn.pn_len++] = '/';
	}
	out[pn.pn_len] = '\0';
	return 0;
}

/* Return 1 if a segment of the normalized path begins with '.', else 0. */
int
path_has_dotfile(const char *path)
{
	const char *p;

	for (p = path; *p != '\0'; p++)
		if (*p == '.' && (p == path || p[-1] == '/'))
			return 1;
	return 0;
}

/* Return 1 if byte c is unreserved (RFC 3986: ALPHA DIGIT - . _ ~). */
int
path_unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* Return 1 if byte c may appear unencoded in an encoded path, else 0. */
static int
path_encode_keep(int c)
{
	if (path_unreserved(c))
		return 1;
	switch (c) {
	case '/':
	case '!':
	case '$':
	case '&':
	case '\'':
	case '(':
	case ')':
	case '*':
	case '+':
	case ',':
	case ';':
	case '=':
	case ':':
	case '@':
		return 1;
	default:
		return 0;
	}
}

/*
 * Percent-encode s into out, NUL-terminated: the bytes keep() says stay,
 * every other byte becomes %XX (uppercase). Return 0, or -1 if the result
 * does not fit outlen (out is then empty if outlen > 0).
 */
int
path_percent_encode(const char *s, int (*keep)(int), char *out, size_t outlen)
{
	const unsigned char *p;
	size_t o = 0;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (keep(*p)) {
			if (outlen - o < 2)
				goto toolong;
			out[o++] = (char)*p;
		} else {
			if (outlen - o < 4)
				goto toolong;
			out[o++] = '%';
			out[o++] = path_hex[*p >> 4];
			out[o++] = path_hex[*p & 0xf];
		}
	}
	if (outlen - o < 1)
		goto toolong;
	out[o] = '\0';
	return 0;

toolong:
	if (outlen > 0)
		out[0] = '\0';
	return -1;
}

/*
 * Percent-encode the normalized path into out, NUL-terminated, for a
 * Location header: unreserved characters, sub-delims, ':', '@' and '/' stay,
 * every other byte becomes %XX (uppercase). Because a normalized path has
 * no "//", the result never begins with "//" and cannot be read as a
 * network-path reference to another host (no open redirect); '\', which
 * browsers treat like '/', is encoded as %5C. Return 0, or -1 if the result
 * does not fit outlen (out is then empty if outlen > 0).
 */
int
path_encode(const char *path, char *out, size_t outlen)
{
	return path_percent_encode(path, path_encode_keep, out, outlen);
}
