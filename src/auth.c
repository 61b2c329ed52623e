/*
 * HTTP Basic authentication, its settings and its credentials: the [http]
 * auth rules ("PREFIX FILE" or "PREFIX off"; the first rule whose prefix
 * starts the request's normalised path decides, as cache rules match),
 * auth_realm, and the Authorization field's "Basic" credentials decoded.
 * The htpasswd files are read when a rule is added: by the master, at
 * start and at each reload. Checking a request is authcheck.c's.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pfhttpd.h"

/*
 * Read the whole file at path into a new NUL-terminated buffer (its size
 * in *len). NULL with errno: EINVAL if it is not a regular file, EFBIG if
 * it is over AUTH_FILE_MAX. Opened without blocking, so that a FIFO is
 * refused at fstat() rather than waiting for a writer (O_NONBLOCK changes
 * nothing for a regular file's reads).
 */
static char *
auth_read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t got = 0;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size > AUTH_FILE_MAX) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

/*
 * Read the htpasswd file at path (relative to dir) into ar's users. 0, or
 * -1 with why and, for a fault in a line of the file, that line in *fline
 * and the absolute path in *file (the caller frees it).
 */
static int
auth_load_users(struct auth_rule *ar, const char *path, const char *dir,
    char *why, size_t len, char **file, int *fline)
{
	char *abs, *text;
	size_t n;
	int rv;

	if (asprintf(&abs, "%s%s%s", path[0] == '/' ? "" : dir,
		path[0] == '/' ? "" : "/", path) == -1) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	if ((text = auth_read_file(abs, &n)) == NULL) {
		snprintf(why, len, "%s: %s", abs,
		    errno == EINVAL ? "not a regular file" : strerror(errno));
		free(abs);
		return -1;
	}
	rv = htpasswd_parse(&ar->ar_users, text, n, fline, why, len);
	free(text);
	if (rv == -1 && *fline > 0)
		*file = abs;
	else
		free(abs);
	return rv;
}

/*
 * Check the path prefix p (n bytes) of a rule. It is compared with the
 * request's path once decoded and normalised (path.c), so one with a
 * %-escape, '?', '#', "//" or a "." or ".." segment could never match
 * and would leave its path open. Bytes past ASCII are allowed as UTF-8,
 * as a name on disk is written. NULL, or why not.
 */
static const char *
auth_prefix_check(const char *p, size_t n)
{
	uint32_t state = UTF8_ACCEPT;
	size_t i, seg = 1;

	if (p[0] != '/')
		return "a path prefix starts with '/'";
	for (i = 0; i < n; i++) {
		if ((unsigned char)p[i] < ' ' || p[i] == 0x7f)
			return "a path prefix has no control characters";
		if (p[i] == '%' || p[i] == '?' || p[i] == '#')
			return "a path prefix has no '%', '?' or '#': it is "
			       "compared with the request's decoded path, so "
			       "write a name as it is on disk";
	}
	if (utf8_validate(&state, p, n) != n || !utf8_complete(state))
		return "a path prefix is ASCII or UTF-8";
	for (i = 1; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		if ((i - seg == 0 && i < n) ||
		    (i - seg == 1 && p[seg] == '.') ||
		    (i - seg == 2 && p[seg] == '.' && p[seg + 1] == '.'))
			return "a path prefix has no \"//\", \".\" or \"..\" "
			       "segment: it is compared with the request's "
			       "normalised path, which has none";
		seg = i + 1;
	}
	return NULL;
}

/*
 * Add the rule in value, "PREFIX FILE" or "PREFIX off", after those in
 * au. FILE is relative to dir; it is read only with load (a reader of the
 * settings alone leaves the rule without users). 0, or -1 with why (len
 * bytes), and for a fault inside the file its path in *file (to free)
 * and its line in *fline.
 */
int
auth_add(struct auth *au, const char *value, const char *dir, int load,
    char *why, size_t len, char **file, int *fline)
{
	size_t plen = strcspn(value, " \t");
	const char *arg = value + plen + strspn(value + plen, " \t"), *bad;
	struct auth_rule *ar;

	*file = NULL;
	*fline = 0;
	if (plen == 0 || *arg == '\0' || arg[strcspn(arg, " \t")] != '\0') {
		snprintf(why, len,
		    "expected a path prefix, then an htpasswd "
		    "file or off");
		return -1;
	}
	if ((bad = auth_prefix_check(value, plen)) != NULL) {
		snprintf(why, len, "'%.*s': %s", (int)plen, value, bad);
		return -1;
	}
	if (au->au_n == AUTH_RULES_MAX) {
		snprintf(why, len, "more than %d rules", AUTH_RULES_MAX);
		return -1;
	}
	ar = &au->au_rules[au->au_n];
	memset(ar, 0, sizeof(*ar));
	ar->ar_off = strcmp(arg, "off") == 0;
	if (!ar->ar_off && load &&
	    auth_load_users(ar, arg, dir, why, len, file, fline) == -1)
		return -1;
	if ((ar->ar_prefix = strndup(value, plen)) == NULL) {
		htpasswd_free(&ar->ar_users);
		snprintf(why, len, "out of memory");
		return -1;
	}
	ar->ar_prefix_len = plen;
	au->au_n++;
	return 0;
}

/*
 * Set the realm from value: printable ASCII without '"' or '\', which a
 * quoted string would need to escape. 0, or -1 with why.
 */
int
auth_realm_set(struct auth *au, const char *value, char *why, size_t len)
{
	size_t n = strlen(value), i;

	for (i = 0; i < n; i++)
		if (value[i] < 0x20 || value[i] > 0x7e || value[i] == '"' ||
		    value[i] == '\\')
			break;
	if (n == 0 || n > AUTH_REALM_MAX || i < n) {
		snprintf(why, len,
		    "expected 1 to %d characters of printable "
		    "ASCII other than '\"' and '\\'",
		    AUTH_REALM_MAX);
		return -1;
	}
	memcpy(au->au_realm, value, n + 1);
	return 0;
}

/*
 * Return the rule that protects path (len bytes, normalised): the first
 * whose prefix starts it, unless that one is "off". NULL: none.
 */
const struct auth_rule *
auth_match(const struct auth *au, const char *path, size_t len)
{
	const struct auth_rule *ar;
	int i;

	for (i = 0; i < au->au_n; i++) {
		ar = &au->au_rules[i];
		if (ar->ar_prefix_len <= len &&
		    memcmp(path, ar->ar_prefix, ar->ar_prefix_len) == 0)
			return ar->ar_off ? NULL : ar;
	}
	return NULL;
}

/* The value of base64 digit c, or -1. */
static int
auth_b64_digit(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode base64 s (n bytes, padding optional) into out (max bytes). The
 * decoded length, or -1 if s is not base64 or does not fit.
 */
static ssize_t
auth_b64_decode(const char *s, size_t n, char *out, size_t max)
{
	unsigned acc = 0;
	size_t i, o = 0;
	int bits = 0, d;

	while (n > 0 && s[n - 1] == '=' && n % 4 != 1)
		n--;
	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((d = auth_b64_digit(s[i])) == -1)
			return -1;
		acc = (acc << 6) | (unsigned)d;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o == max)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return (ssize_t)o;
}

/*
 * Parse an Authorization field's value (len bytes): "Basic" (any case),
 * spaces, base64 of "user:password" (RFC 7617). 0 with ab filled, or -1:
 * another scheme, bad base64, no ':', a NUL byte, too long.
 */
int
auth_basic_parse(const char *value, size_t len, struct auth_basic *ab)
{
	const char *p = value, *end = value + len, *colon;
	ssize_t n;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end - p < 6 || strncasecmp(p, "Basic", 5) != 0 ||
	    (p[5] != ' ' && p[5] != '\t'))
		return -1;
	for (p += 6; p < end && (*p == ' ' || *p == '\t'); p++)
		continue;
	n = auth_b64_decode(p, (size_t)(end - p), ab->ab_buf, AUTH_CRED_MAX);
	if (n <= 0 || memchr(ab->ab_buf, '\0', (size_t)n) != NULL ||
	    (colon = memchr(ab->ab_buf, ':', (size_t)n)) == NULL)
		return -1;
	ab->ab_buf[n] = '\0';
	ab->ab_user_len = (size_t)(colon - ab->ab_buf);
	ab->ab_buf[ab->ab_user_len] = '\0';
	ab->ab_pass = ab->ab_buf + ab->ab_user_len + 1;
	return 0;
}

/*
 * Copy the rules of src into dst, which has none (deep: a host's copy of
 * the [http] rules). dst keeps its realm and TLS flag, which a host
 * inherits key by key. 0, or -1 (out of memory; dst has no rules).
 */
int
auth_copy(struct auth *dst, const struct auth *src)
{
	struct auth_rule *ar;
	int i;

	for (i = 0; i < src->au_n; i++) {
		ar = &dst->au_rules[i];
		*ar = src->au_rules[i];
		if ((ar->ar_prefix = strdup(src->au_rules[i].ar_prefix)) ==
			NULL ||
		    htpasswd_copy(&ar->ar_users, &src->au_rules[i].ar_users) ==
			-1) {
			free(ar->ar_prefix);
			dst->au_n = i;
			auth_free(dst);
			return -1;
		}
	}
	dst->au_n = src->au_n;
	return 0;
}

/* Free the rules of au, leaving it with none. */
void
auth_free(struct auth *au)
{
	int i;

	for (i = 0; i < au->au_n; i++) {
		free(au->au_rules[i].ar_prefix);
		htpasswd_free(&au->au_rules[i].ar_users);
	}
	au->au_n = 0;
}
