/*
 * The Range request header field (RFC 9110 14.2), for one byte range.
 */

#include <limits.h>
#include <stddef.h>

#include "pfhttpd.h"

/* One parsed byte-range-spec or suffix-range. */
struct range_spec {
	int rs_suffix;		     /* "-n": rs_first holds n */
	int rs_has_last;	     /* "a-b" rather than "a-" */
	unsigned long long rs_first; /* a, or n for a suffix */
	unsigned long long rs_last;  /* b if rs_has_last */
};

/* Return 1 if c is optional whitespace (SP or HTAB), else 0. */
static int
range_ows(int c)
{
	return c == ' ' || c == '\t';
}

/*
 * Parse the DIGITs at s[*i..len) into *v, saturating at ULLONG_MAX, and
 * advance *i past them. Return 0, or -1 if there is no digit.
 */
static int
range_number(const char *s, size_t len, size_t *i, unsigned long long *v)
{
	size_t start;
	unsigned int d;

	*v = 0;
	for (start = *i; *i < len && s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
		d = (unsigned int)(s[*i] - '0');
		if (*v > (ULLONG_MAX - d) / 10)
			*v = ULLONG_MAX;
		else
			*v = *v * 10 + d;
	}
	return *i == start ? -1 : 0;
}

/* Parse one range-spec at s[*i..len) into rs, advancing *i; 0 or -1. */
static int
range_spec_parse(const char *s, size_t len, size_t *i, struct range_spec *rs)
{
	rs->rs_suffix = 0;
	rs->rs_has_last = 0;
	rs->rs_last = 0;
	if (s[*i] == '-') {
		(*i)++;
		rs->rs_suffix = 1;
		return range_number(s, len, i, &rs->rs_first);
	}
	if (range_number(s, len, i, &rs->rs_first) == -1)
		return -1;
	if (*i == len || s[*i] != '-')
		return -1;
	(*i)++;
	if (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		rs->rs_has_last = 1;
		return range_number(s, len, i, &rs->rs_last);
	}
	return 0;
}

/*
 * Match the Range field value value[0..len) against a file of size bytes.
 * Only a single range in unit "bytes" (case-insensitive) is honoured; a
 * set of several ranges, another unit or anything unparseable gives
 * RANGE_NONE, and the whole file is sent. Empty list elements are skipped
 * (RFC 9110 5.6.1.2). Numbers saturate, so a huge first position is
 * unsatisfiable and a huge last position is clamped. *first and *last are
 * set only for RANGE_SATISFIABLE.
 */
enum range_result
range_parse(
    const char *value, size_t len, off_t size, off_t *first, off_t *last)
{
	static const char unit[] = "bytes";
	struct range_spec rs = {0, 0, 0, 0}, cur;
	unsigned long long usize;
	size_t i;
	int n;

	if (size < 0)
		return RANGE_NONE;
	usize = (unsigned long long)size;

	for (i = 0; i < sizeof(unit) - 1; i++) {
		/* Locale-independent: only ASCII letters are folded. */
		if (i == len ||
		    (value[i] != unit[i] && value[i] != unit[i] - 'a' + 'A'))
			return RANGE_NONE;
	}
	if (i == len || value[i] != '=')
		return RANGE_NONE;
	i++;

	n = 0;
	while (i < len) {
		if (range_ows(value[i]) || value[i] == ',') {
			i++;
			continue;
		}
		if (range_spec_parse(value, len, &i, &cur) == -1)
			return RANGE_NONE;
		while (i < len && range_ows(value[i]))
			i++;
		if (i < len && value[i] != ',')
			return RANGE_NONE;
		if (++n > 1)
			return RANGE_NONE;
		rs = cur;
	}
	if (n == 0)
		return RANGE_NONE;

	if (rs.rs_suffix) {
		if (rs.rs_first == 0 || usize == 0)
			return RANGE_UNSATISFIABLE;
		*first =
		    rs.rs_first >= usize ? 0 : (off_t)(usize - rs.rs_first);
		*last = (off_t)(usize - 1);
		return RANGE_SATISFIABLE;
	}
	if (rs.rs_has_last && rs.rs_first > rs.rs_last)
		return RANGE_NONE;
	if (rs.rs_first >= usize)
		return RANGE_UNSATISFIABLE;
	*first = (off_t)rs.rs_first;
	if (rs.rs_has_last && rs.rs_last < usize)
		*last = (off_t)rs.rs_last;
	else
		*last = (off_t)(usize - 1);
	return RANGE_SATISFIABLE;
}
