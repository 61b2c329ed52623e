/*
 * htpasswd files: the users of HTTP Basic authentication, one "user:hash"
 * a line, blank lines and '#' comments allowed. Only bcrypt ($2a$, $2b$,
 * $2y$) and SHA-512-crypt ($6$) hashes are accepted: the others (plain
 * text, DES, MD5, $apr1$, $5$, {SHA}) are too weak or too fast to guess.
 * A user name is 1 to HTPASSWD_USER_MAX printable ASCII characters, no
 * space or ':' (an e-mail address is one); the chat takes only those that
 * are nicks (wschat.c). Pure code:
 * parsing a file's text and finding a user, unit-tested and fuzzed.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"

#define HTPASSWD_LINE_MAX 1024 /* bytes of a line, its newline not counted */

/* Tell whether c is a byte of a user name: printable ASCII but ':'. */
static int
htpasswd_user_byte(char c)
{
	return c > ' ' && c < 0x7f && c != ':';
}

/* Tell whether s[0..n) are all of crypt's base64 alphabet, "./0-9A-Za-z". */
static int
htpasswd_b64(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!(s[i] == '.' || s[i] == '/' ||
			(s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= 'a' && s[i] <= 'z')))
			return 0;
	return 1;
}

/* Check a bcrypt hash, "$2?$CC$" and 53 characters. NULL, or why not. */
static const char *
htpasswd_check_bcrypt(const char *h, size_t n)
{
	if (n != 60 || h[6] != '$' || h[4] < '0' || h[4] > '9' || h[5] < '0' ||
	    h[5] > '9' || !htpasswd_b64(h + 7, 53))
		return "a malformed bcrypt hash (expected $2y$CC$ and 53 "
		       "characters)";
	if ((h[4] - '0') * 10 + (h[5] - '0') < 4 ||
	    (h[4] - '0') * 10 + (h[5] - '0') > 31)
		return "a bcrypt cost out of range (04..31)";
	return NULL;
}

/*
 * Check a SHA-512-crypt hash, "$6$", an optional "rounds=N$" (N as crypt
 * writes it: 1000 to 999999999, no leading zero, so at most 9 digits), a
 * salt of 1 to 16 characters, '$' and 86 characters: at most 123 bytes.
 * NULL, or why not.
 */
static const char *
htpasswd_check_sha512(const char *h, size_t n)
{
	static const char bad[] = "a malformed SHA-512-crypt hash (expected "
				  "$6$SALT$ and 86 characters)";
	const char *p = h + 3, *end = h + n, *salt;
	unsigned long long rounds = 0;

	if (n > 10 && memcmp(p, "rounds=", 7) == 0) {
		if (p[7] == '0')
			return "SHA-512-crypt rounds with a leading zero";
		for (p += 7; p < end && *p >= '0' && *p <= '9'; p++)
			if ((rounds = rounds * 10 + (unsigned)(*p - '0')) >
			    999999999)
				return "SHA-512-crypt rounds out of range "
				       "(1000..999999999)";
		if (p == end || *p != '$' || rounds < 1000)
			return "SHA-512-crypt rounds out of range "
			       "(1000..999999999)";
		p++;
	}
	for (salt = p; p < end && *p != '$'; p++)
		continue;
	if (p == salt || p - salt > 16 ||
	    !htpasswd_b64(salt, (size_t)(p - salt)))
		return bad;
	if (end - p != 87 || !htpasswd_b64(p + 1, 86))
		return bad;
	return NULL;
}

/* Check a hash (n bytes): bcrypt or SHA-512-crypt. NULL, or why not. */
static const char *
htpasswd_check_hash(const char *h, size_t n)
{
	if (n >= 4 && h[0] == '$' && h[1] == '2' && h[3] == '$' &&
	    (h[2] == 'a' || h[2] == 'b' || h[2] == 'y'))
		return htpasswd_check_bcrypt(h, n);
	if (n >= 3 && memcmp(h, "$6$", 3) == 0)
		return htpasswd_check_sha512(h, n);
	if (n >= 3 && memcmp(h, "$2", 2) == 0)
		return "an unsupported bcrypt variant: only $2y$, $2b$ and "
		       "$2a$ are accepted (htpasswd -B)";
	if (n >= 6 && memcmp(h, "$apr1$", 6) == 0)
		return "an Apache MD5 ($apr1$) hash: only bcrypt and "
		       "SHA-512-crypt are accepted (htpasswd -B)";
	if (n >= 3 && memcmp(h, "$1$", 3) == 0)
		return "an MD5-crypt ($1$) hash: only bcrypt and "
		       "SHA-512-crypt are accepted (htpasswd -B)";
	if (n >= 3 && memcmp(h, "$5$", 3) == 0)
		return "a SHA-256-crypt ($5$) hash: only bcrypt and "
		       "SHA-512-crypt are accepted (htpasswd -B)";
	if (n >= 5 && memcmp(h, "{SHA}", 5) == 0)
		return "a {SHA} hash: only bcrypt and SHA-512-crypt are "
		       "accepted (htpasswd -B)";
	if (n == 0)
		return "an empty password hash";
	return "plain text or a DES hash: only bcrypt and SHA-512-crypt "
	       "are accepted (htpasswd -B)";
}

/* Tell whether line (n bytes) is blank or a '#' comment. */
static int
htpasswd_skip(const char *line, size_t n)
{
	size_t i;

	if (n > 0 && line[0] == '#')
		return 1;
	for (i = 0; i < n; i++)
		if (line[i] != ' ' && line[i] != '\t')
			return 0;
	return 1;
}

/*
 * Add the user of line (n bytes, "user:hash") to hp. 0, or -1 with why
 * (the caller adds the line number).
 */
static int
htpasswd_add(
    struct htpasswd *hp, const char *line, size_t n, char *why, size_t len)
{
	const char *colon = memchr(line, ':', n), *bad;
	struct htpasswd_user *hu;
	size_t ulen, hlen, i;

	if (colon == NULL) {
		snprintf(why, len, "expected user:hash");
		return -1;
	}
	ulen = (size_t)(colon - line);
	hlen = n - ulen - 1;
	if (ulen == 0 || ulen > HTPASSWD_USER_MAX) {
		snprintf(why, len, "a user name is 1 to %d characters",
		    HTPASSWD_USER_MAX);
		return -1;
	}
	for (i = 0; i < ulen; i++)
		if (!htpasswd_user_byte(line[i])) {
			snprintf(why, len,
			    "user '%.*s': a user name is made of printable "
			    "ASCII characters, no space",
			    (int)ulen, line);
			return -1;
		}
	if (hlen > HTPASSWD_HASH_MAX) {
		snprintf(why, len,
		    "user '%.*s': a hash of more than %d "
		    "characters",
		    (int)ulen, line, HTPASSWD_HASH_MAX);
		return -1;
	}
	if ((bad = htpasswd_check_hash(colon + 1, hlen)) != NULL) {
		snprintf(why, len, "user '%.*s': %s", (int)ulen, line, bad);
		return -1;
	}
	if (hp->hp_n == hp->hp_cap) {
		hp->hp_cap = hp->hp_cap == 0 ? 16 : hp->hp_cap * 2;
		hu = reallocarray(hp->hp_users, hp->hp_cap, sizeof(*hu));
		if (hu == NULL) {
			snprintf(why, len, "out of memory");
			return -1;
		}
		hp->hp_users = hu;
	}
	hu = &hp->hp_users[hp->hp_n++];
	memcpy(hu->hu_name, line, ulen);
	hu->hu_name[ulen] = '\0';
	memcpy(hu->hu_hash, colon + 1, hlen);
	hu->hu_hash[hlen] = '\0';
	return 0;
}

/* Order users by name, then line (qsort). */
static int
htpasswd_cmp(const void *a, const void *b)
{
	const struct htpasswd_user *ua = a, *ub = b;
	int d = strcmp(ua->hu_name, ub->hu_name);

	if (d != 0)
		return d;
	return (ua->hu_line > ub->hu_line) - (ua->hu_line < ub->hu_line);
}

/*
 * Estimate the time crypt takes on hash (well-formed), in SHA-512-crypt
 * rounds (5000 if not given): bcrypt at cost C is 2^C iterations, each
 * about as long as 200 rounds (libxcrypt on x86-64: cost 10 ~50 ms,
 * 100000 rounds ~25 ms). At most 200 << 31, which fits 64 bits.
 */
static unsigned long long
htpasswd_cost(const char *hash)
{
	if (hash[1] == '2')
		return 200ULL << strtoul(hash + 4, NULL, 10);
	if (strncmp(hash, "$6$rounds=", 10) == 0)
		return strtoull(hash + 10, NULL, 10);
	return 5000;
}

/*
 * Sort hp's users for htpasswd_find() and find the costliest to hash; a
 * name twice is an error.
 */
static int
htpasswd_sort(struct htpasswd *hp, int *line, char *why, size_t len)
{
	size_t i;

	if (hp->hp_n > 1)
		qsort(hp->hp_users, hp->hp_n, sizeof(hp->hp_users[0]),
		    htpasswd_cmp);
	for (i = 1; i < hp->hp_n; i++)
		if (strcmp(hp->hp_users[i - 1].hu_name,
			hp->hp_users[i].hu_name) == 0) {
			*line = hp->hp_users[i].hu_line;
			snprintf(why, len, "user '%s': already at line %d",
			    hp->hp_users[i].hu_name,
			    hp->hp_users[i - 1].hu_line);
			return -1;
		}
	for (i = 1; i < hp->hp_n; i++)
		if (htpasswd_cost(hp->hp_users[i].hu_hash) >
		    htpasswd_cost(hp->hp_users[hp->hp_costliest].hu_hash))
			hp->hp_costliest = i;
	return 0;
}

/*
 * Parse the text of an htpasswd file (len bytes) into hp, which must be
 * empty (zeroed). 0, or -1 with the line at fault in *line (0 if none)
 * and why (len bytes); hp is then empty again.
 */
int
htpasswd_parse(struct htpasswd *hp, const char *text, size_t len, int *line,
    char *why, size_t whylen)
{
	const char *p = text, *end = text + len, *nl;
	size_t n;

	*line = 0;
	while (p < end) {
		(*line)++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > HTPASSWD_LINE_MAX) {
			snprintf(why, whylen,
			    "line too long (more than %d "
			    "characters)",
			    HTPASSWD_LINE_MAX);
			goto fail;
		}
		if (!htpasswd_skip(p, n)) {
			if (memchr(p, '\0', n) != NULL) {
				snprintf(why, whylen, "a NUL byte");
				goto fail;
			}
			if (htpasswd_add(hp, p, n, why, whylen) == -1)
				goto fail;
			hp->hp_users[hp->hp_n - 1].hu_line = *line;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (htpasswd_sort(hp, line, why, whylen) == 0)
		return 0;
fail:
	htpasswd_free(hp);
	return -1;
}

/* Return the user called name (len bytes) in hp, or NULL. */
const struct htpasswd_user *
htpasswd_find(const struct htpasswd *hp, const char *name, size_t len)
{
	size_t lo = 0, hi = hp->hp_n, mid;
	int d;

	if (len == 0 || len > HTPASSWD_USER_MAX || memchr(name, '\0', len))
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		d = strncmp(hp->hp_users[mid].hu_name, name, len);
		if (d == 0 && hp->hp_users[mid].hu_name[len] != '\0')
			d = 1;
		if (d == 0)
			return &hp->hp_users[mid];
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Copy src into dst (deep). 0, or -1 (out of memory; dst is empty). */
int
htpasswd_copy(struct htpasswd *dst, const struct htpasswd *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->hp_n == 0)
		return 0;
	if ((dst->hp_users = calloc(src->hp_n, sizeof(*dst->hp_users))) == NULL)
		return -1;
	memcpy(
	    dst->hp_users, src->hp_users, src->hp_n * sizeof(*dst->hp_users));
	dst->hp_n = dst->hp_cap = src->hp_n;
	dst->hp_costliest = src->hp_costliest;
	return 0;
}

/* Free the users of hp, leaving it empty. */
void
htpasswd_free(struct htpasswd *hp)
{
	free(hp->hp_users);
	memset(hp, 0, sizeof(*hp));
}
